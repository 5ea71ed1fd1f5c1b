"""``torch.optim`` names as pure steps: (param, grad, state) -> (param, state).

Each optimizer class holds one param group's hyperparameters (validated like torch's
constructor, same keyword names and defaults; ``foreach``/``fused``/``capturable``/
``differentiable`` are accepted and ignored since they change nothing numerically) and exposes
``step(param, grad, state) -> (new_param, new_state)``; state is a dict keyed by torch's state
names (``momentum_buffer``, ``exp_avg``, ``step``, ...), empty before the first step, with
``step`` a float64 0-d array as torch keeps it. Nothing is mutated.

Exceptions to the per-parameter protocol: ``LBFGS.step(params, closure_fn, state)`` works on the
whole parameter list with a NumPy objective, and ``SparseAdam.step`` takes an extra ``mask`` of
the entries present in the sparse gradient. ``reference.optim.lr_scheduler`` and
``reference.optim.swa_utils`` mirror the torch modules of the same names.
"""

from .adadelta import Adadelta  # noqa: F401
from .adafactor import Adafactor  # noqa: F401
from .adagrad import Adagrad  # noqa: F401
from .adam import Adam, AdamW  # noqa: F401
from .adamax import Adamax  # noqa: F401
from .asgd import ASGD  # noqa: F401
from .lbfgs import LBFGS  # noqa: F401
from .muon import Muon  # noqa: F401
from .nadam import NAdam  # noqa: F401
from .radam import RAdam  # noqa: F401
from .rmsprop import RMSprop  # noqa: F401
from .rprop import Rprop  # noqa: F401
from .sgd import SGD  # noqa: F401
from .sparse_adam import SparseAdam  # noqa: F401
from . import lr_scheduler, swa_utils  # noqa: F401,E402

__all__ = [
    "Adadelta", "Adafactor", "Adagrad", "Adam", "AdamW", "Adamax", "ASGD", "LBFGS", "Muon",
    "NAdam", "RAdam", "RMSprop", "Rprop", "SGD", "SparseAdam", "lr_scheduler", "swa_utils",
]
