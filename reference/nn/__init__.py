"""``torch.nn`` module names as pure reference classes (see ``reference.nn.base``)."""

from .base import Module, Scales  # noqa: F401
from .activation import *  # noqa: F401,F403
from .attention import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .distance import *  # noqa: F401,F403
from .dropout import *  # noqa: F401,F403
from .embedding import *  # noqa: F401,F403
from .linear import *  # noqa: F401,F403
from .loss import *  # noqa: F401,F403
from .normalization import *  # noqa: F401,F403
from .padding import *  # noqa: F401,F403
from .pooling import *  # noqa: F401,F403
from .resampling import *  # noqa: F401,F403
from .rnn import *  # noqa: F401,F403
from . import utils  # noqa: F401  (torch.nn.utils: clip_grad_norm_, ...)
