"""``torch.optim.lr_scheduler`` names as pure schedules.

Protocol. Each class holds the scheduler's constructor arguments (torch's, minus ``optimizer``;
composites take reference scheduler objects in place of torch schedulers) and exposes

    run(groups, num_steps, metrics=None) -> dict[str, np.ndarray]

``groups`` is the list of the optimizer's param-group hyperparameters at construction (at least
``lr``; ``momentum`` for SGD-like optimizers or ``betas`` for Adam-like ones where a schedule
cycles them; ``initial_lr`` when resuming with ``last_epoch >= 0``). The result maps ``lr`` (and
``momentum`` or ``beta1`` where the schedule cycles momentum: CyclicLR/OneCycleLR with
``cycle_momentum=True``, or a composite holding one) to an array of shape
(num_steps + 1, len(groups)): row 0 is the value after construction, row t the value after the
t-th ``scheduler.step()`` (``step(metrics[t-1])`` for ReduceLROnPlateau). ``groups`` is not
mutated.

Recurrence vs closed form. torch's ``step()`` computes most schedules *recursively* from the
current ``group['lr']`` (the "chainable form": StepLR multiplies by gamma at multiples of
step_size, CosineAnnealingLR multiplies the distance to eta_min by a ratio of cosines, ...), and
uses the closed form (``_get_closed_form_lr``) only when an epoch is passed explicitly, which
here happens only at SequentialLR milestones. The reference reproduces that recurrence, because
it is what users get and because the forms differ beyond rounding whenever another scheduler
touches the same lr (ChainedScheduler composes multiplicatively only through the recurrence),
when ConstantLR/LinearLR/PolynomialLR run past their end, and for CosineAnnealingLR past T_max
(pytorch/pytorch #152081). Each docstring gives the closed form the recurrence equals when the
scheduler runs alone from ``last_epoch=-1`` (equal up to rounding of repeated products; the
tests check this identity). Internally each ``run`` builds a private "live" copy of the scheduler
bound to a private copy of the groups and steps it exactly as torch's ``LRScheduler`` does
(``last_epoch``, ``_step_count``, ``base_lrs`` from ``initial_lr``, the initial step in the
constructor).

Semantics: torch.optim.lr_scheduler docs and torch/optim/lr_scheduler.py.
"""

from __future__ import annotations

import copy
import math
from bisect import bisect_right
from collections import Counter

import numpy as np

__all__ = [
    "LRScheduler", "LambdaLR", "MultiplicativeLR", "StepLR", "MultiStepLR", "ConstantLR",
    "LinearLR", "ExponentialLR", "PolynomialLR", "CosineAnnealingLR", "ChainedScheduler",
    "SequentialLR", "ReduceLROnPlateau", "CyclicLR", "OneCycleLR", "CosineAnnealingWarmRestarts",
]


class _Optimizer:
    """The slice of an optimizer a scheduler sees: param groups and the defaults' keys."""

    def __init__(self, groups):
        if len(groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        self.param_groups = [dict(g) for g in groups]
        for g in self.param_groups:
            if "betas" in g:
                g["betas"] = tuple(g["betas"])
        self.defaults = set(self.param_groups[0])


def _format_param(name, optimizer, param):
    if isinstance(param, (list, tuple)):
        if len(param) != len(optimizer.param_groups):
            raise ValueError(
                f"{name} must have the same length as optimizer.param_groups. "
                f"{name} has {len(param)} values, param_groups has "
                f"{len(optimizer.param_groups)}.")
        return list(param)
    return [param] * len(optimizer.param_groups)


def _lrs(optimizer):
    return [g["lr"] for g in optimizer.param_groups]


class LRScheduler:
    """Base class: torch's ``LRScheduler`` bookkeeping and the ``run`` protocol.

    Construction (``last_epoch=-1``): ``initial_lr`` defaults to the group's lr, ``base_lrs``
    are the ``initial_lr`` values, then one initial step (``last_epoch`` -1 -> 0) in "initial
    mode". ``step()``: ``last_epoch += 1`` and lr <- ``get_lr()``.
    """

    last_epoch = -1
    _momentum_key = None  # "momentum" / "beta1" when the live schedule cycles it

    # -- the public protocol -------------------------------------------------------------------
    def run(self, groups: list[dict], num_steps: int, metrics=None) -> dict[str, np.ndarray]:
        opt = _Optimizer(groups)
        live = self._attach(opt)
        keys = ["lr"] + ([live._momentum_key] if live._momentum_key else [])
        rows = {k: [self._read(opt, k)] for k in keys}
        for i in range(num_steps):
            if isinstance(live, ReduceLROnPlateau):
                if metrics is None or len(metrics) < num_steps:
                    raise ValueError("ReduceLROnPlateau.run needs one metric per step")
                live.step(metrics[i])
            else:
                live.step()
            for k in keys:
                rows[k].append(self._read(opt, k))
        return {k: np.asarray(v, dtype=np.float64) for k, v in rows.items()}

    @staticmethod
    def _read(opt, key):
        if key == "beta1":
            return [float(g["betas"][0]) for g in opt.param_groups]
        return [float(g[key]) for g in opt.param_groups]

    def _attach(self, optimizer):
        live = copy.copy(self)
        live.optimizer = optimizer
        live._construct()
        return live

    # -- torch's LRScheduler, on the live copy -------------------------------------------------
    def _construct(self):
        self._base_init()

    def _base_init(self):
        groups = self.optimizer.param_groups
        if self.last_epoch == -1:
            for g in groups:
                g.setdefault("initial_lr", g["lr"])
        else:
            for i, g in enumerate(groups):
                if "initial_lr" not in g:
                    raise KeyError(
                        f"param 'initial_lr' is not specified in param_groups[{i}] when "
                        "resuming scheduler with last_epoch >= 0.")
        self.base_lrs = [g["initial_lr"] for g in groups]
        self._initial_step()

    def _initial_step(self):
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def step(self):
        self._step_count += 1
        self._update_lr(None)

    def _update_lr(self, epoch):
        if epoch is None:
            self.last_epoch += 1
            values = self.get_lr()
        else:
            self.last_epoch = epoch
            closed = getattr(self, "_get_closed_form_lr", None)
            values = closed() if closed is not None else self.get_lr()
        for g, lr in zip(self.optimizer.param_groups, values):
            g["lr"] = lr

    def get_lr(self):
        raise NotImplementedError


class LambdaLR(LRScheduler):
    """lr_t = base_lr * lr_lambda(t) (one lambda, or one per group). Not recursive."""

    def __init__(self, lr_lambda, last_epoch: int = -1):
        self.lr_lambda, self.last_epoch = lr_lambda, last_epoch

    def _construct(self):
        n = len(self.optimizer.param_groups)
        if isinstance(self.lr_lambda, (list, tuple)):
            if len(self.lr_lambda) != n:
                raise ValueError(f"Expected {n} lr_lambdas, but got {len(self.lr_lambda)}")
            self.lr_lambdas = list(self.lr_lambda)
        else:
            self.lr_lambdas = [self.lr_lambda] * n
        self._base_init()

    def get_lr(self):
        return [b * f(self.last_epoch) for f, b in zip(self.lr_lambdas, self.base_lrs)]


class MultiplicativeLR(LRScheduler):
    """lr_t = lr_{t-1} * lr_lambda(t) for t >= 1; lr_0 = the group's lr (no multiplication on the
    initial step). Closed form when alone: base_lr * prod_{k=1..t} lr_lambda(k)."""

    def __init__(self, lr_lambda, last_epoch: int = -1):
        self.lr_lambda, self.last_epoch = lr_lambda, last_epoch

    def _construct(self):
        n = len(self.optimizer.param_groups)
        if isinstance(self.lr_lambda, (list, tuple)):
            if len(self.lr_lambda) != n:
                raise ValueError(f"Expected {n} lr_lambdas, but got {len(self.lr_lambda)}")
            self.lr_lambdas = list(self.lr_lambda)
        else:
            self.lr_lambdas = [self.lr_lambda] * n
        for f in self.lr_lambdas:
            if not callable(f):
                raise TypeError(f"lr_lambda should be a function, but got {type(f).__name__}")
        self._base_init()

    def get_lr(self):
        if self._is_initial:
            return _lrs(self.optimizer)
        return [g["lr"] * f(self.last_epoch)
                for f, g in zip(self.lr_lambdas, self.optimizer.param_groups)]


class StepLR(LRScheduler):
    """Recurrence: lr_t = lr_{t-1} * gamma when t > 0 and t % step_size == 0, else lr_{t-1}.
    Closed form when alone: lr_t = base_lr * gamma ** floor(t / step_size)."""

    def __init__(self, step_size: int, gamma: float = 0.1, last_epoch: int = -1):
        self.step_size, self.gamma, self.last_epoch = step_size, gamma, last_epoch

    def get_lr(self):
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return _lrs(self.optimizer)
        return [g["lr"] * self.gamma for g in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        return [b * self.gamma ** (self.last_epoch // self.step_size) for b in self.base_lrs]


class MultiStepLR(LRScheduler):
    """Recurrence: lr_t = lr_{t-1} * gamma ** (multiplicity of t in milestones).
    Closed form when alone: base_lr * gamma ** #{milestones m <= t} (repeats counted)."""

    def __init__(self, milestones, gamma: float = 0.1, last_epoch: int = -1):
        self.milestones, self.gamma, self.last_epoch = Counter(milestones), gamma, last_epoch

    def get_lr(self):
        if self.last_epoch not in self.milestones:
            return _lrs(self.optimizer)
        return [g["lr"] * self.gamma ** self.milestones[self.last_epoch]
                for g in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        ms = sorted(self.milestones.elements())
        return [b * self.gamma ** bisect_right(ms, self.last_epoch) for b in self.base_lrs]


class ConstantLR(LRScheduler):
    """Recurrence: lr_0 = lr * factor; lr_t = lr_{t-1} / factor at t == total_iters (as
    ``lr * (1 / factor)``); unchanged otherwise. Closed form when alone:
    base_lr * (factor if t < total_iters else 1)."""

    def __init__(self, factor: float = 1.0 / 3, total_iters: int = 5, last_epoch: int = -1):
        if factor > 1.0 or factor < 0:
            raise ValueError("Constant multiplicative factor expected to be between 0 and 1.")
        self.factor, self.total_iters, self.last_epoch = factor, total_iters, last_epoch

    def get_lr(self):
        if self.last_epoch == 0:
            return [g["lr"] * self.factor for g in self.optimizer.param_groups]
        if self.last_epoch != self.total_iters:
            return _lrs(self.optimizer)
        return [g["lr"] * (1.0 / self.factor) for g in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        return [b * (self.factor + (self.last_epoch >= self.total_iters) * (1 - self.factor))
                for b in self.base_lrs]


class LinearLR(LRScheduler):
    """Recurrence (s = start_factor, e = end_factor, T = total_iters): lr_0 = lr * s;
    for 1 <= t <= T: lr_t = lr_{t-1} * (1 + (e - s) / (T s + (t - 1)(e - s))); unchanged after.
    Closed form when alone: base_lr * (s + (e - s) * min(t, T) / T)."""

    def __init__(self, start_factor: float = 1.0 / 3, end_factor: float = 1.0,
                 total_iters: int = 5, last_epoch: int = -1):
        if start_factor > 1.0 or start_factor <= 0:
            raise ValueError("Starting multiplicative factor expected to be greater than 0 and "
                             "less or equal to 1.")
        if end_factor > 1.0 or end_factor < 0:
            raise ValueError("Ending multiplicative factor expected to be between 0 and 1.")
        self.start_factor, self.end_factor = start_factor, end_factor
        self.total_iters, self.last_epoch = total_iters, last_epoch

    def get_lr(self):
        s, e, T = self.start_factor, self.end_factor, self.total_iters
        if self.last_epoch == 0:
            return [g["lr"] * s for g in self.optimizer.param_groups]
        if self._is_initial or self.last_epoch > T:
            return _lrs(self.optimizer)
        return [g["lr"] * (1.0 + (e - s) / (T * s + (self.last_epoch - 1) * (e - s)))
                for g in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        s, e, T = self.start_factor, self.end_factor, self.total_iters
        return [b * (s + (e - s) * min(T, self.last_epoch) / T) for b in self.base_lrs]


class ExponentialLR(LRScheduler):
    """Recurrence: lr_t = lr_{t-1} * gamma (t >= 1). Closed form: base_lr * gamma ** t."""

    def __init__(self, gamma: float, last_epoch: int = -1):
        self.gamma, self.last_epoch = gamma, last_epoch

    def get_lr(self):
        if self._is_initial:
            return _lrs(self.optimizer)
        return [g["lr"] * self.gamma for g in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        return [b * self.gamma ** self.last_epoch for b in self.base_lrs]


class PolynomialLR(LRScheduler):
    """Recurrence: for 1 <= t <= T: lr_t = lr_{t-1} * ((1 - t/T) / (1 - (t-1)/T)) ** power;
    unchanged after T. Closed form when alone: base_lr * (1 - min(t, T) / T) ** power."""

    def __init__(self, total_iters: int = 5, power: float = 1.0, last_epoch: int = -1):
        self.total_iters, self.power, self.last_epoch = total_iters, power, last_epoch

    def get_lr(self):
        if self._is_initial or self.last_epoch > self.total_iters:
            return _lrs(self.optimizer)
        T, t = self.total_iters, self.last_epoch
        factor = ((1.0 - t / T) / (1.0 - (t - 1) / T)) ** self.power
        return [g["lr"] * factor for g in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        T = self.total_iters
        return [b * (1.0 - min(T, self.last_epoch) / T) ** self.power for b in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """SGDR's cosine without restarts, torch's chainable recurrence (eta = eta_min, T = T_max):

        lr_t = eta + (lr_{t-1} - eta) * (1 + cos(pi t / T)) / (1 + cos(pi (t - 1) / T))
        lr_t = lr_{t-1} + (base_lr - eta) * (1 - cos(pi / T)) / 2   when (t - 1 - T) % 2T == 0
                                                                (the step leaving the minimum)
    Closed form when alone for 0 <= t <= T: eta + (base_lr - eta) * (1 + cos(pi t / T)) / 2;
    past T the recurrence keeps following the periodic cosine up to rounding (the closed form
    is periodic too), but it is not the SGDR restart (see CosineAnnealingWarmRestarts).
    """

    def __init__(self, T_max: int, eta_min: float = 0.0, last_epoch: int = -1):
        self.T_max, self.eta_min, self.last_epoch = T_max, eta_min, last_epoch

    def get_lr(self):
        T, eta, t = self.T_max, self.eta_min, self.last_epoch
        if self._is_initial:
            return _lrs(self.optimizer)
        if self._step_count == 1 and t > 0:
            return [eta + (b - eta) * (1 + math.cos(t * math.pi / T)) / 2 for b in self.base_lrs]
        if (t - 1 - T) % (2 * T) == 0:
            return [g["lr"] + (b - eta) * (1 - math.cos(math.pi / T)) / 2
                    for b, g in zip(self.base_lrs, self.optimizer.param_groups)]
        return [(1 + math.cos(math.pi * t / T)) / (1 + math.cos(math.pi * (t - 1) / T))
                * (g["lr"] - eta) + eta for g in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        T, eta = self.T_max, self.eta_min
        return [eta + (b - eta) * (1 + math.cos(math.pi * self.last_epoch / T)) / 2
                for b in self.base_lrs]


def _check_children(name, schedulers):
    if len(schedulers) < 1:
        raise ValueError(f"{name} expects at least one scheduler, but got no scheduler.")
    for i, s in enumerate(schedulers):
        if not isinstance(s, LRScheduler):
            raise TypeError(f"{name} at index {i} should be a reference LRScheduler.")
        if isinstance(s, ReduceLROnPlateau):
            raise ValueError(
                f"{name} does not support `ReduceLROnPlateau` scheduler as it requires "
                "additional kwargs to be specified when calling `step`, but got one at index "
                f"{i} in the given schedulers sequence.")


class ChainedScheduler(LRScheduler):
    """Steps every child in order at each step; since the children's recurrences multiply the
    current lr, their factors compose. The children are constructed in order on the shared
    groups (each constructor's initial step acts on the lr the previous one left)."""

    def __init__(self, schedulers, optimizer=None):
        _check_children(self.__class__.__name__, schedulers)
        self.schedulers = list(schedulers)

    def _construct(self):
        self._schedulers = [s._attach(self.optimizer) for s in self.schedulers]
        self._momentum_key = next((s._momentum_key for s in self._schedulers
                                   if s._momentum_key), None)

    def step(self):
        for s in self._schedulers:
            s.step()


class SequentialLR(LRScheduler):
    """Runs ``schedulers[i]`` between milestones[i-1] and milestones[i].

    Construction, as torch does it: the children are constructed in order (each initial step
    acting on the shared lr), then every group's lr is reset to ``initial_lr``, every child's
    ``last_epoch`` is decremented (recursively into nested composites), and only the child
    active at epoch 0 repeats its initial step. ``step()``: ``last_epoch += 1``; at a milestone
    the child taking over is set to epoch 0 through its *closed form* when it has one
    (``_update_lr(0)``, which for most schedulers gives base_lr-based values), otherwise the active
    child steps its recurrence.
    """

    def __init__(self, schedulers, milestones, last_epoch: int = -1):
        name = self.__class__.__name__
        _check_children(name, schedulers)
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(
                "Sequential Schedulers expects number of schedulers provided to be one more "
                f"than the number of milestone points, but got number of schedulers "
                f"{len(schedulers)} and the number of milestones to be equal to "
                f"{len(milestones)}")
        self.schedulers, self.milestones = list(schedulers), list(milestones)
        self.last_epoch = last_epoch

    def _construct(self):
        self._schedulers = [s._attach(self.optimizer) for s in self.schedulers]
        self._milestones = self.milestones
        self._momentum_key = next((s._momentum_key for s in self._schedulers
                                   if s._momentum_key), None)
        self.last_epoch = self.last_epoch + 1
        for g in self.optimizer.param_groups:
            g["lr"] = g["initial_lr"]
        self._recursive_undo(self)
        self._schedulers[bisect_right(self._milestones, 0)]._initial_step()

    def _recursive_undo(self, sched):
        if hasattr(sched, "_schedulers"):
            for s in sched._schedulers:
                self._recursive_undo(s)
        else:
            sched.last_epoch -= 1

    def step(self):
        self.last_epoch += 1
        idx = bisect_right(self._milestones, self.last_epoch)
        sched = self._schedulers[idx]
        if idx > 0 and self._milestones[idx - 1] == self.last_epoch:
            sched._update_lr(0)
        else:
            sched.step()


class ReduceLROnPlateau(LRScheduler):
    """Multiply lr by ``factor`` after more than ``patience`` consecutive bad epochs.

    Per ``step(metric)``: better = metric < best*(1-threshold) (min/rel), < best - threshold
    (min/abs), > best*(1+threshold) (max/rel), > best + threshold (max/abs); best starts at +inf
    (min) or -inf (max). Better: best = metric, bad = 0; else bad += 1. In cooldown
    (counter > 0): counter -= 1 and bad = 0. If bad > patience: lr = max(lr * factor, min_lr)
    for each group where that lowers lr by more than ``eps``; counter = cooldown; bad = 0.
    Row 0 of ``run`` is the unchanged lr (no initial step).
    """

    def __init__(self, mode: str = "min", factor: float = 0.1, patience: int = 10,
                 threshold: float = 1e-4, threshold_mode: str = "rel", cooldown: int = 0,
                 min_lr=0, eps: float = 1e-8):
        if factor >= 1.0:
            raise ValueError("Factor should be < 1.0.")
        if mode not in {"min", "max"}:
            raise ValueError("mode " + mode + " is unknown!")
        if threshold_mode not in {"rel", "abs"}:
            raise ValueError("threshold mode " + threshold_mode + " is unknown!")
        self.mode, self.factor, self.patience, self.threshold = mode, factor, patience, threshold
        self.threshold_mode, self.cooldown, self.min_lr, self.eps = (
            threshold_mode, cooldown, min_lr, eps)

    def _construct(self):
        n = len(self.optimizer.param_groups)
        if isinstance(self.min_lr, (list, tuple)):
            if len(self.min_lr) != n:
                raise ValueError(f"expected {n} min_lrs, got {len(self.min_lr)}")
            self.min_lrs = list(self.min_lr)
        else:
            self.min_lrs = [self.min_lr] * n
        self.last_epoch = 0
        self.best = math.inf if self.mode == "min" else -math.inf
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    def _is_better(self, a, best):
        if self.mode == "min" and self.threshold_mode == "rel":
            return a < best * (1.0 - self.threshold)
        if self.mode == "min":
            return a < best - self.threshold
        if self.threshold_mode == "rel":
            return a > best * (self.threshold + 1.0)
        return a > best + self.threshold

    def step(self, metrics):
        current = float(metrics)
        self.last_epoch += 1
        if self._is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            for g, min_lr in zip(self.optimizer.param_groups, self.min_lrs):
                old_lr = float(g["lr"])
                new_lr = max(old_lr * self.factor, min_lr)
                if old_lr - new_lr > self.eps:
                    g["lr"] = new_lr
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0


class CyclicLR(LRScheduler):
    """Cyclical learning rate (Smith 2017), not recursive; lr of every group is first set to
    base_lr. With up = step_size_up, down = step_size_down (default up), total = up + down:

        cycle = floor(1 + t / total);  x = 1 + t / total - cycle;  r = up / total
        s = x / r if x <= r else (x - 1) / (r - 1)            (0 -> 1 -> 0 over a cycle)
        lr_t = base_lr + (max_lr - base_lr) * s * scale
        scale = 1 (triangular), 1 / 2**(cycle - 1) (triangular2), gamma**t (exp_range), or
                scale_fn(cycle if scale_mode == 'cycle' else t)
    With ``cycle_momentum`` the group's momentum (or beta1 when the groups have ``betas``) is
    set to max_momentum at construction and then cycled inversely:
    m_t = max_momentum - (max_momentum - base_momentum) * s * scale.
    """

    def __init__(self, base_lr, max_lr, step_size_up: int = 2000, step_size_down=None,
                 mode: str = "triangular", gamma: float = 1.0, scale_fn=None,
                 scale_mode: str = "cycle", cycle_momentum: bool = True,
                 base_momentum=0.8, max_momentum=0.9, last_epoch: int = -1):
        if mode not in ["triangular", "triangular2", "exp_range"] and scale_fn is None:
            raise ValueError("mode is invalid and scale_fn is None")
        self.base_lr, self.max_lr = base_lr, max_lr
        up = float(step_size_up)
        down = float(step_size_down) if step_size_down is not None else up
        self.total_size = up + down
        self.step_ratio = up / self.total_size
        self.mode, self.gamma, self.scale_fn_custom, self.scale_mode = mode, gamma, scale_fn, scale_mode
        if scale_fn is None:
            self.scale_mode = "iterations" if mode == "exp_range" else "cycle"
        self.cycle_momentum, self.base_momentum, self.max_momentum = (
            cycle_momentum, base_momentum, max_momentum)
        self.last_epoch = last_epoch

    def scale_fn(self, x):
        if self.scale_fn_custom is not None:
            return self.scale_fn_custom(x)
        if self.mode == "triangular":
            return 1.0
        if self.mode == "triangular2":
            return 1 / (2.0 ** (x - 1))
        return self.gamma ** x

    def _construct(self):
        opt = self.optimizer
        base_lrs = _format_param("base_lr", opt, self.base_lr)
        if self.last_epoch == -1:
            for lr, g in zip(base_lrs, opt.param_groups):
                g["lr"] = lr
        self.max_lrs = _format_param("max_lr", opt, self.max_lr)
        if self.cycle_momentum:
            if "momentum" not in opt.defaults and "betas" not in opt.defaults:
                raise ValueError("optimizer must support momentum or beta1 with "
                                 "`cycle_momentum` option enabled")
            self.use_beta1 = "betas" in opt.defaults
            self._momentum_key = "beta1" if self.use_beta1 else "momentum"
            self.base_momentums = _format_param("base_momentum", opt, self.base_momentum)
            self.max_momentums = _format_param("max_momentum", opt, self.max_momentum)
            if self.last_epoch == -1:
                for m, b, g in zip(self.max_momentums, self.base_momentums, opt.param_groups):
                    if self.use_beta1:
                        g["betas"] = (m, *g["betas"][1:])
                    else:
                        g["momentum"] = m
                    g["max_momentum"], g["base_momentum"] = m, b
        self._base_init()
        self.base_lrs = base_lrs

    def get_lr(self):
        t = self.last_epoch
        cycle = math.floor(1 + t / self.total_size)
        x = 1.0 + t / self.total_size - cycle
        if x <= self.step_ratio:
            s = x / self.step_ratio
        else:
            s = (x - 1) / (self.step_ratio - 1)
        arg = cycle if self.scale_mode == "cycle" else t
        lrs = [b + (m - b) * s * self.scale_fn(arg) for b, m in zip(self.base_lrs, self.max_lrs)]
        if self.cycle_momentum:
            for g, b, m in zip(self.optimizer.param_groups, self.base_momentums,
                               self.max_momentums):
                mom = m - (m - b) * s * self.scale_fn(arg)
                if self.use_beta1:
                    g["betas"] = (mom, *g["betas"][1:])
                else:
                    g["momentum"] = mom
        return lrs


class CosineAnnealingWarmRestarts(LRScheduler):
    """SGDR: lr = eta_min + (base_lr - eta_min) * (1 + cos(pi T_cur / T_i)) / 2, where each
    step does T_cur += 1 and, when T_cur >= T_i, T_cur -= T_i (as ``T_cur % T_i``) and
    T_i *= T_mult. Starts at T_cur = 0, T_i = T_0. Not recursive in lr."""

    def __init__(self, T_0: int, T_mult: int = 1, eta_min: float = 0.0, last_epoch: int = -1):
        if T_0 <= 0 or not isinstance(T_0, int):
            raise ValueError(f"Expected positive integer T_0, but got {T_0}")
        if T_mult < 1 or not isinstance(T_mult, int):
            raise ValueError(f"Expected integer T_mult >= 1, but got {T_mult}")
        if not isinstance(eta_min, (float, int)):
            raise ValueError(
                f"Expected float or int eta_min, but got {eta_min} of type {type(eta_min)}")
        self.T_0, self.T_mult, self.eta_min, self.last_epoch = T_0, T_mult, eta_min, last_epoch

    def _construct(self):
        self.T_i = self.T_0
        self.T_cur = self.last_epoch
        self._base_init()

    def get_lr(self):
        return [self.eta_min + (b - self.eta_min) * (1 + math.cos(math.pi * self.T_cur / self.T_i))
                / 2 for b in self.base_lrs]

    def step(self):
        if self.last_epoch < 0:
            epoch = 0
            self.T_i, self.T_cur = self.T_0, 0
        else:
            epoch = self.last_epoch + 1
            self.T_cur = self.T_cur + 1
            if self.T_cur >= self.T_i:
                self.T_cur = self.T_cur % self.T_i
                self.T_i = self.T_i * self.T_mult
        self.last_epoch = math.floor(epoch)
        for g, lr in zip(self.optimizer.param_groups, self.get_lr()):
            g["lr"] = lr


class OneCycleLR(LRScheduler):
    """1cycle policy (Smith & Topin), not recursive. Per group: initial_lr = max_lr /
    div_factor, min_lr = initial_lr / final_div_factor (both written into the group). With
    N = total_steps (or epochs * steps_per_epoch) and p = pct_start the phases are
    (end steps are floats):

        two-phase:   [0, pN - 1]: initial_lr -> max_lr;  [pN - 1, N - 1]: max_lr -> min_lr
        three_phase: [0, pN - 1]: initial -> max;  [pN - 1, 2pN - 2]: max -> initial;
                     [2pN - 2, N - 1]: initial -> min_lr
    Within a phase [a, b]: pct = (t - a) / (b - a) and lr = anneal(start, end, pct) with
    cos: end + (start - end) (1 + cos(pi pct)) / 2, linear: start + (end - start) pct.
    Momentum (or beta1) runs max_momentum -> base_momentum -> max_momentum over the same phases
    (the three-phase schedule holds max_momentum in the last phase). Stepping beyond N raises
    ValueError, as torch does.
    """

    def __init__(self, max_lr, total_steps=None, epochs=None, steps_per_epoch=None,
                 pct_start: float = 0.3, anneal_strategy: str = "cos",
                 cycle_momentum: bool = True, base_momentum=0.85, max_momentum=0.95,
                 div_factor: float = 25.0, final_div_factor: float = 1e4,
                 three_phase: bool = False, last_epoch: int = -1):
        if total_steps is not None:
            if total_steps <= 0 or not isinstance(total_steps, int):
                raise ValueError(f"Expected positive integer total_steps, but got {total_steps}")
            self.total_steps = total_steps
        elif epochs is not None and steps_per_epoch is not None:
            if not isinstance(epochs, int) or epochs <= 0:
                raise ValueError(f"Expected positive integer epochs, but got {epochs}")
            if not isinstance(steps_per_epoch, int) or steps_per_epoch <= 0:
                raise ValueError(
                    f"Expected positive integer steps_per_epoch, but got {steps_per_epoch}")
            self.total_steps = epochs * steps_per_epoch
        else:
            raise ValueError("You must define either total_steps OR (epochs AND steps_per_epoch)")
        N = self.total_steps
        if three_phase:
            self._phases = [
                (float(pct_start * N) - 1, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                (float(2 * pct_start * N) - 2, "max_lr", "initial_lr", "base_momentum",
                 "max_momentum"),
                (N - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum"),
            ]
        else:
            self._phases = [
                (float(pct_start * N) - 1, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                (N - 1, "max_lr", "min_lr", "base_momentum", "max_momentum"),
            ]
        if pct_start < 0 or pct_start > 1 or not isinstance(pct_start, float):
            raise ValueError(f"Expected float between 0 and 1 pct_start, but got {pct_start}")
        if anneal_strategy not in ["cos", "linear"]:
            raise ValueError("anneal_strategy must be one of 'cos' or 'linear', instead got "
                             f"{anneal_strategy}")
        self.max_lr, self.anneal_strategy, self.cycle_momentum = max_lr, anneal_strategy, cycle_momentum
        self.base_momentum, self.max_momentum = base_momentum, max_momentum
        self.div_factor, self.final_div_factor = div_factor, final_div_factor
        self.last_epoch = last_epoch

    def _anneal(self, start, end, pct):
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def _construct(self):
        opt = self.optimizer
        max_lrs = _format_param("max_lr", opt, self.max_lr)
        if self.last_epoch == -1:
            for m, g in zip(max_lrs, opt.param_groups):
                g["initial_lr"] = m / self.div_factor
                g["max_lr"] = m
                g["min_lr"] = g["initial_lr"] / self.final_div_factor
        if self.cycle_momentum:
            if "momentum" not in opt.defaults and "betas" not in opt.defaults:
                raise ValueError("optimizer must support momentum or beta1 with "
                                 "`cycle_momentum` option enabled")
            self.use_beta1 = "betas" in opt.defaults
            self._momentum_key = "beta1" if self.use_beta1 else "momentum"
            maxs = _format_param("max_momentum", opt, self.max_momentum)
            bases = _format_param("base_momentum", opt, self.base_momentum)
            if self.last_epoch == -1:
                for m, b, g in zip(maxs, bases, opt.param_groups):
                    if self.use_beta1:
                        g["betas"] = (m, *g["betas"][1:])
                    else:
                        g["momentum"] = m
                    g["max_momentum"], g["base_momentum"] = m, b
        self._base_init()

    def get_lr(self):
        t = self.last_epoch
        if t > self.total_steps:
            raise ValueError(f"Tried to step {t} times. The specified number of total steps is "
                             f"{self.total_steps}")
        lrs = []
        for g in self.optimizer.param_groups:
            start = 0.0
            for i, (end, lr0, lr1, m0, m1) in enumerate(self._phases):
                if t <= end or i == len(self._phases) - 1:
                    pct = (t - start) / (end - start)
                    lr = self._anneal(g[lr0], g[lr1], pct)
                    if self.cycle_momentum:
                        mom = self._anneal(g[m0], g[m1], pct)
                    break
                start = end
            lrs.append(lr)
            if self.cycle_momentum:
                if self.use_beta1:
                    g["betas"] = (mom, *g["betas"][1:])
                else:
                    g["momentum"] = mom
        return lrs
