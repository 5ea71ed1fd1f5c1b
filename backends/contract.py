"""The adapter contract: what nnconform asks of a framework, in NumPy arrays.

An adapter is a subclass of :class:`Adapter`. The harness gives it requests built from NumPy
arrays and plain Python values and expects NumPy arrays back; conversion to the framework's
tensors, device placement and memory layout happen inside the adapter.

Arrays in a request
    Floating arrays are float64 arrays whose values are exactly representable in
    ``request.dtype`` (the harness rounded them), so casting them is exact. Integer arrays
    (class targets, indices) are int64 and stay integer. Results may come back in any NumPy
    floating dtype; the harness reads them as float64.

Families and their requests
    module     :class:`ModuleRequest` -> :class:`ModuleResult` (layers, activations, losses:
               forward, backward for inputs and parameters, buffers after every step)
    init       :class:`InitRequest` -> ``np.ndarray`` (one sample, or the value of a pure
               helper such as ``nn.init.calculate_gain``); :class:`DefaultInitRequest`
               -> ``dict[str, np.ndarray]`` (a module's parameters as constructed)
    optim      :class:`OptimizerRequest` -> :class:`OptimizerResult` (a trajectory)
    lr_scheduler :class:`SchedulerRequest` -> ``dict[str, np.ndarray]``
    scenario   :class:`ScenarioRequest` -> :class:`ScenarioResult` (a training loop: layers,
               loss, optimizer, scheduler and modes together)

Outcomes an adapter can cause
    raise :class:`Unsupported` (or answer ``supports`` with ``Support(False, reason)``) for an op
    or dtype it does not implement: the case is ``unsupported``, counted in coverage, never a
    failure. Any other exception is an ``error`` of that case (unless the case expects the
    framework to raise, as for invalid input). A wrong shape, a missing output or NaN where the
    reference is finite is a ``fail``.

Timing
    ``prepare_module(request)`` returns a zero-argument callable that runs forward and backward
    on data already on the device (no conversion inside); ``synchronize()`` waits for
    asynchronous devices. The benchmarks time ``fn(); synchronize()``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from .dtypes import DTYPES  # noqa: F401  (part of the contract)


class Unsupported(Exception):
    """Raised by an adapter for an op, option or dtype it does not implement."""


class IsolatedError(Exception):
    """An exception raised in an adapter's isolated child process, re-raised in the parent as
    ``'<type>: <message>'``."""


@dataclass(frozen=True)
class Support:
    ok: bool
    reason: str = ""


@dataclass(frozen=True)
class AdapterOptions:
    """Run-wide options given to every adapter.

    framework_defaults: leave numerics-relevant settings (TF32, deterministic algorithms,
    thread count) at the framework's own defaults instead of pinning them.
    """

    framework_defaults: bool = False


@dataclass
class ModuleStep:
    """One call of the module: positional inputs and the cotangents of its outputs.

    ``grad_outputs`` is ``None`` for a forward-only step; otherwise one array per output.
    ``requires_grad`` says which inputs gradients are asked for (integer inputs never).
    """

    inputs: tuple[Any, ...]
    grad_outputs: tuple[np.ndarray, ...] | None = None
    requires_grad: tuple[bool, ...] = ()


@dataclass
class ModuleRequest:
    """Build ``op`` (e.g. ``nn.BatchNorm1d``) with ``kwargs``, load ``params`` and ``buffers``
    (torch ``state_dict`` names), set train/eval mode, then run ``steps`` in order on the same
    module instance, so buffers carry from one step to the next.

    A functional op (``nn.functional.scaled_dot_product_attention``) has no parameters or
    buffers: each step calls it with the step's inputs and ``kwargs`` as keyword arguments.
    Non-array positional inputs (bools, ints, None) are passed through as they are."""

    op: str
    kwargs: Mapping[str, Any]
    params: Mapping[str, np.ndarray]
    buffers: Mapping[str, np.ndarray]
    steps: Sequence[ModuleStep]
    training: bool
    dtype: str
    #: call this method of the module instead of its forward (forward only), e.g. ``log_prob``
    method: str | None = None


@dataclass
class StepResult:
    outputs: tuple[np.ndarray, ...]
    input_grads: tuple[np.ndarray | None, ...] = ()
    param_grads: Mapping[str, np.ndarray] = field(default_factory=dict)
    buffers: Mapping[str, np.ndarray] = field(default_factory=dict)


@dataclass
class ModuleResult:
    steps: list[StepResult]


@dataclass
class InitRequest:
    """Fill a fresh tensor of ``shape`` with ``op`` (e.g. ``nn.init.kaiming_normal_``) and
    ``kwargs``, seeding the framework's generator with ``seed`` (initializers without
    randomness -- constant_, ones_, zeros_, eye_, dirac_ -- take no generator).

    Value ops: for the pure helpers in ``VALUE_INIT_OPS`` the answer is the helper's value as
    a float64 array instead of a sample: ``nn.init.calculate_gain`` is called with ``kwargs``
    alone (``shape`` is ``()``), ``nn.init._calculate_fan_in_and_fan_out`` with a tensor of
    ``shape`` and answers ``[fan_in, fan_out]``."""

    op: str
    shape: tuple[int, ...]
    kwargs: Mapping[str, Any]
    seed: int
    dtype: str


#: ``InitRequest`` ops answered by a value rather than a sample (see ``InitRequest``).
VALUE_INIT_OPS = ("nn.init.calculate_gain", "nn.init._calculate_fan_in_and_fan_out")


@dataclass
class DefaultInitRequest:
    """Construct the module ``op`` (e.g. ``nn.Linear``) with ``kwargs`` in ``dtype`` right after
    seeding the framework's global generator with ``seed`` (torch: ``torch.manual_seed``; the
    module draws its parameters in its constructor) and answer every parameter by its
    ``state_dict`` name (``out_proj.weight``), as constructed: ``dict[str, np.ndarray]``."""

    op: str
    kwargs: Mapping[str, Any]
    seed: int
    dtype: str


@dataclass
class OptimizerRequest:
    """Run ``op`` (e.g. ``optim.SGD``) for ``len(grads)`` steps.

    ``params``: initial values by name. ``param_groups``: dicts with ``params`` (a list of names)
    and that group's hyperparameters; ``kwargs``: the constructor's defaults. ``grads[t][name]``
    is the gradient of ``name`` at step t (a missing name means grad None at that step).
    """

    op: str
    kwargs: Mapping[str, Any]
    params: Mapping[str, np.ndarray]
    param_groups: Sequence[Mapping[str, Any]]
    grads: Sequence[Mapping[str, np.ndarray]]
    dtype: str
    #: ``None``: each step sets ``.grad`` directly (None for a missing name). ``True``/``False``:
    #: each step first calls ``optimizer.zero_grad(set_to_none=zero_grad)`` and then
    #: *accumulates* the step's gradients into ``.grad`` (a missing name keeps what zero_grad
    #: left: None, or zeros for a parameter that had a gradient)
    zero_grad: bool | None = None
    #: the last entry of ``param_groups`` is not given to the constructor but added with
    #: ``add_param_group`` just before step ``add_group_at`` (0-based)
    add_group_at: int | None = None
    #: after this many steps: ``state_dict()``, a fresh optimizer over fresh parameters holding
    #: the current values, ``load_state_dict``, and the remaining steps on the fresh objects
    resume_at: int | None = None
    #: sparse gradients (SparseAdam): ``grad_masks[t][name]`` is a boolean array marking the
    #: entries present in the sparse gradient (values from ``grads[t][name]``; a present entry
    #: may hold an explicit 0); absent entries are not stored
    grad_masks: Sequence[Mapping[str, np.ndarray]] | None = None
    #: closure-driven optimizers (LBFGS): each of the ``len(grads)`` steps is
    #: ``step(closure)`` where the closure evaluates this named objective natively and
    #: backpropagates; ``grads`` entries are then empty. See ``OBJECTIVES``.
    objective: Mapping[str, Any] | None = None
    #: ``{"op": "nn.utils.clip_grad_norm_" | "nn.utils.clip_grad_value_", "kwargs": {...}}``:
    #: applied to all parameters (in ``params`` order) after the gradients are set and before
    #: each ``step()``; the result then carries ``grads`` (and ``total_norms``)
    clip: Mapping[str, Any] | None = None
    #: ``{"kwargs": {...}, "start": k, "initial_buffers": {...}, "buffers": [...]}``: an
    #: ``optim.swa_utils.AveragedModel`` (with ``kwargs``; ``avg_fn``/``multi_avg_fn`` given as
    #: ``{"fn": name, "kwargs": {...}}`` naming a factory of the framework's swa_utils, e.g.
    #: ``get_ema_multi_avg_fn``) of a model holding the parameters and the buffers
    #: ``initial_buffers``; after each step t >= k the model's buffers are set to
    #: ``buffers[t]`` and ``update_parameters(model)`` is called. The result carries
    #: ``averaged``.
    average: Mapping[str, Any] | None = None


#: Named objectives of ``OptimizerRequest.objective`` (``{"name": ..., **data}``), with x the
#: concatenation of the ravelled parameters in ``params`` order:
#:   ``quadratic_quartic``: f(x) = 0.5 x.A x + b.x + (c / 4) sum_i x_i^4 (``A`` symmetric
#:   (n, n), ``b`` (n,), ``c`` a float), gradient A x + b + c x^3.
OBJECTIVES = ("quadratic_quartic",)


@dataclass
class OptimizerResult:
    """After each step t: ``params[t][name]`` and ``state[t][name][key]`` (torch state names;
    tensors and numbers only, lists such as LBFGS's history are left out). Optional records:
    ``grads[t][name]`` the gradients ``step()`` saw (after ``clip``), ``total_norms[t]`` what
    the clipping function returned (None for clip_grad_value_), ``averaged[t]`` the averaged
    model after step t (``param.<name>``, ``buffer.<name>``, ``n_averaged``), ``losses[t]``
    what a closure-driven ``step`` returned."""

    params: list[dict[str, np.ndarray]]
    state: list[dict[str, dict[str, np.ndarray]]]
    grads: list[dict[str, np.ndarray]] | None = None
    total_norms: list[float | None] | None = None
    averaged: list[dict[str, np.ndarray]] | None = None
    losses: list[float] | None = None


@dataclass
class SchedulerRequest:
    """Attach ``op`` (e.g. ``optim.lr_scheduler.StepLR``) with ``kwargs`` to an optimizer whose
    param groups carry ``groups`` (hyperparameters such as ``lr``), then call ``step()``
    ``num_steps`` times (passing ``metrics[t]`` where the scheduler takes a metric).

    Functions and children in ``kwargs`` are data: ``lr_lambda`` (LambdaLR, MultiplicativeLR)
    and ``scale_fn`` (CyclicLR) are ``{"fn": name, "kwargs": {...}}`` naming a factory of
    ``NAMED_FUNCTIONS`` (or a list of them, one per group); ``schedulers`` (ChainedScheduler,
    SequentialLR) is a list of ``{"op": ..., "kwargs": {...}}`` specs of child schedulers,
    built in order on the same optimizer before the composite.
    """

    op: str
    kwargs: Mapping[str, Any]
    groups: Sequence[Mapping[str, Any]]
    num_steps: int
    metrics: Sequence[float] | None = None
    dtype: str = "float64"
    #: after this many steps: optimizer and scheduler ``state_dict()``, a fresh optimizer and
    #: scheduler (same constructor arguments), ``load_state_dict`` on both (optimizer first),
    #: and the remaining steps on the fresh objects
    resume_at: int | None = None


def _linear_warmup(steps: int):
    return lambda e: min(1.0, (e + 1) / steps)


def _exponential(gamma: float):
    return lambda e: gamma ** e


def _constant(value: float):
    return lambda e: value


def _periodic(period: int, factor: float):
    return lambda e: factor if e % period == 0 else 1.0


def _inverse():
    return lambda x: 1.0 / x


#: The named functions scheduler kwargs may use (``{"fn": name, "kwargs": {...}}``), defined
#: once here so that every side builds exactly the same Python callables:
#:   linear_warmup(steps): e -> min(1, (e + 1) / steps)     exponential(gamma): e -> gamma ** e
#:   constant(value): e -> value      periodic(period, factor): e -> factor if e % period == 0
#:   else 1      inverse(): x -> 1 / x (e.g. a CyclicLR scale_fn over cycles)
NAMED_FUNCTIONS: dict[str, Callable[..., Callable[[float], float]]] = {
    "linear_warmup": _linear_warmup, "exponential": _exponential, "constant": _constant,
    "periodic": _periodic, "inverse": _inverse,
}


@dataclass
class ScenarioStep:
    """One step of a training scenario.

    ``kind``: 'train' (train mode, forward, loss, backward, optimizer step, then scheduler step)
    or 'eval' (eval mode, forward without gradients). ``masks`` maps the index of a Dropout
    layer to its keep-mask for this step (True = kept; survivors scaled by 1/(1-p)), so both
    sides drop the same units."""

    kind: str
    inputs: np.ndarray
    target: np.ndarray | None = None
    masks: Mapping[int, np.ndarray] = field(default_factory=dict)


@dataclass
class ScenarioRequest:
    """A small deterministic training loop on a sequential network.

    ``layers``: ``[{"op": "nn.Linear", "kwargs": {...}}, ...]`` run in order, like an
    ``nn.Sequential``: parameter and buffer names are ``"<index>.<name>"``. ``loss``,
    ``optimizer`` and ``scheduler`` (or None): ``{"op": ..., "kwargs": {...}}``; the optimizer
    gets every parameter in one group. ``resume_at``: after that many steps, save the state
    dicts of model, optimizer and scheduler, build fresh objects, load them, and go on (the
    answer must equal an uninterrupted run). ``record_activation_std``: also return, for each
    step, the standard deviation (ddof=0) of every layer's output."""

    layers: Sequence[Mapping[str, Any]]
    params: Mapping[str, np.ndarray]
    buffers: Mapping[str, np.ndarray]
    loss: Mapping[str, Any]
    optimizer: Mapping[str, Any]
    steps: Sequence[ScenarioStep]
    dtype: str
    scheduler: Mapping[str, Any] | None = None
    resume_at: int | None = None
    record_activation_std: bool = False


@dataclass
class ScenarioResult:
    """Per step: ``losses[t]`` (None for an eval step without target), ``outputs[t]`` (eval
    steps: the network's output; None for train steps), ``activation_std[t]`` (one value per
    layer, when asked); after the last step: ``params`` and ``buffers``."""

    losses: list[float | None]
    outputs: list[np.ndarray | None]
    params: dict[str, np.ndarray]
    buffers: dict[str, np.ndarray]
    activation_std: list[np.ndarray] | None = None


class Adapter:
    """Base class of every backend adapter.

    Subclasses set ``name`` and implement ``available`` plus the ``run_*`` methods of the
    families they support; a family left unimplemented is reported ``unsupported``.
    ``expectations_path`` may name a TOML file of documented deviations (see
    docs/adapters.md).
    """

    name: ClassVar[str] = "unnamed"
    expectations_path: ClassVar[Path | None] = None
    #: True for backends whose failures can poison the process (CUDA's device-side asserts):
    #: the harness then runs the cases that must raise through ``run_isolated``
    isolates_expected_errors: ClassVar[bool] = False

    def run_isolated(self, call: Callable[[Any, Any], Any], request: Any) -> Any:
        """Run ``call(self, request)`` where a failure cannot harm later cases (default: here)."""
        return call(self, request)

    def __init__(self, options: AdapterOptions | None = None):
        self.options = options or AdapterOptions()

    # -- identity -----------------------------------------------------------------------
    def available(self) -> tuple[bool, str]:
        """(True, "") when the framework and device can run; else (False, one-line reason)."""
        return True, ""

    @property
    def framework_version(self) -> str:
        return "unknown"

    @property
    def device(self) -> str:
        return "unknown"

    def settings(self) -> dict[str, Any]:
        """Numerics-relevant settings in force (thread count, TF32, determinism, ...)."""
        return {}

    def supports(self, op: str, dtype: str) -> Support:
        """Static declaration of support; the default claims everything and relies on
        ``Unsupported`` being raised at run time."""
        return Support(True)

    # -- families -----------------------------------------------------------------------
    def run_module(self, request: ModuleRequest) -> ModuleResult:
        raise Unsupported(f"{self.name} does not implement modules")

    def sample_init(self, request: InitRequest) -> np.ndarray:
        raise Unsupported(f"{self.name} does not implement initializers")

    def sample_default_init(self, request: DefaultInitRequest) -> dict[str, np.ndarray]:
        """The parameters of a freshly constructed module. The default hands the request to
        ``sample_init``, so an adapter may serve both init request kinds from one entry point
        (the torch adapter does, in backends/torch_init.py); an adapter whose ``sample_init``
        does not know ``DefaultInitRequest`` must override this (or raise ``Unsupported``)."""
        return self.sample_init(request)  # type: ignore[arg-type]

    def run_optimizer(self, request: OptimizerRequest) -> OptimizerResult:
        raise Unsupported(f"{self.name} does not implement optimizers")

    def run_scheduler(self, request: SchedulerRequest) -> dict[str, np.ndarray]:
        raise Unsupported(f"{self.name} does not implement learning-rate schedulers")

    def run_scenario(self, request: ScenarioRequest) -> ScenarioResult:
        raise Unsupported(f"{self.name} does not implement training scenarios")

    # -- timing -------------------------------------------------------------------------
    def prepare_module(self, request: ModuleRequest) -> Callable[[], None]:
        """A callable running the request's first step (forward + backward) on device-resident
        data, for benchmarks."""
        raise Unsupported(f"{self.name} does not implement timing")

    def prepare_optimizer(self, request: OptimizerRequest) -> Callable[[], None]:
        """A callable running one optimizer step (gradients already set, on device), for
        benchmarks."""
        raise Unsupported(f"{self.name} does not implement optimizer timing")

    def synchronize(self) -> None:
        """Wait for queued device work (no-op for synchronous backends)."""
