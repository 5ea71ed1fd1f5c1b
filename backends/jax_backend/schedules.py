"""Learning-rate schedulers as functions of the step count: optax.schedules where one exists
(StepLR/ExponentialLR: exponential_decay, MultiStepLR: piecewise_constant_schedule,
LinearLR/ConstantLR: linear/piecewise schedules, PolynomialLR: polynomial_schedule,
CosineAnnealingLR: cosine_decay_schedule, CosineAnnealingWarmRestarts: sgdr_schedule,
SequentialLR: join_schedules); LambdaLR is the named function itself. Schedulers that are
recursive in torch and have no optax schedule (MultiplicativeLR, ChainedScheduler) are wired
by hand; ReduceLROnPlateau/CyclicLR/OneCycleLR/SWALR are declared unsupported (see UNSUPPORTED).

A scheduler here is ``factory(base_lr, group_index) -> (t -> lr)``; optax schedules are pure
functions of the count, so a state_dict round trip (``resume_at``) changes nothing."""

from __future__ import annotations

import numpy as np

from ..contract import NAMED_FUNCTIONS, SchedulerRequest, Unsupported
from ._common import check

import optax

UNSUPPORTED = {
    "optim.lr_scheduler.ReduceLROnPlateau": "optax.contrib.reduce_on_plateau scales updates "
    "(a multiplicative factor on the update, accumulated over accumulation_size steps), not a "
    "param group's lr with torch's threshold/cooldown/min_lr/eps rules; not mapped yet",
    "optim.lr_scheduler.CyclicLR": "optax has no cyclic (triangular/exp_range) schedule with "
    "momentum cycling; not implemented yet",
    "optim.lr_scheduler.OneCycleLR": "optax.cosine_onecycle_schedule cycles the lr only (no "
    "momentum/beta1 cycling, no three_phase); not mapped yet",
    "optim.swa_utils.SWALR": "optax has no SWA learning-rate schedule; not implemented yet",
}

P = "optim.lr_scheduler."


def supported(op: str) -> bool:
    return op.startswith(P) and op not in UNSUPPORTED


def _named(spec, gi):
    if isinstance(spec, (list, tuple)):
        spec = spec[gi]
    return NAMED_FUNCTIONS[spec["fn"]](**dict(spec.get("kwargs", {})))


def _factory(op, kw, ngroups):
    """(base_lr, group index) -> schedule; raises torch's argument errors."""
    name = op[len(P):]
    if name == "StepLR":
        return lambda lr, gi: optax.exponential_decay(lr, kw["step_size"], kw.get("gamma", 0.1),
                                                      staircase=True)
    if name == "ExponentialLR":
        return lambda lr, gi: optax.exponential_decay(lr, 1, kw["gamma"])
    if name == "MultiStepLR":
        ms = sorted(kw["milestones"])
        g = kw.get("gamma", 0.1)

        def multistep(lr, gi):
            bounds = {}
            for m in ms:  # a repeated milestone multiplies twice (torch's Counter)
                bounds[m] = bounds.get(m, 1.0) * g
            return optax.piecewise_constant_schedule(lr, bounds)
        return multistep
    if name == "ConstantLR":
        f, n = kw.get("factor", 1 / 3), kw.get("total_iters", 5)
        check(0 <= f <= 1, "Constant multiplicative factor expected to be between 0 and 1.")
        return lambda lr, gi: optax.piecewise_constant_schedule(lr * f, {n: 1 / f})
    if name == "LinearLR":
        s, e = kw.get("start_factor", 1 / 3), kw.get("end_factor", 1.0)
        n = kw.get("total_iters", 5)
        check(0 < s <= 1, "Starting multiplicative factor expected to be greater than 0 and "
                          "less or equal to 1.")
        check(0 <= e <= 1, "Ending multiplicative factor expected to be between 0 and 1.")
        return lambda lr, gi: optax.linear_schedule(lr * s, lr * e, n)
    if name == "PolynomialLR":
        n, pw = kw.get("total_iters", 5), kw.get("power", 1.0)
        return lambda lr, gi: optax.polynomial_schedule(lr, 0.0, pw, n)
    if name == "CosineAnnealingLR":
        tm, em = kw["T_max"], kw.get("eta_min", 0.0)
        return lambda lr, gi: optax.cosine_decay_schedule(lr, tm, alpha=em / lr)
    if name == "CosineAnnealingWarmRestarts":
        t0, tmul, em = kw["T_0"], kw.get("T_mult", 1), kw.get("eta_min", 0.0)
        check(isinstance(t0, int) and t0 > 0, f"Expected positive integer T_0, but got {t0}")
        check(isinstance(tmul, int) and tmul >= 1, f"Expected integer T_mult >= 1, but got "
                                                   f"{tmul}")

        def sgdr(lr, gi):
            periods, t, T = [], 0, t0
            while t < 100000 and len(periods) < 200:
                periods.append(dict(init_value=lr, peak_value=lr, warmup_steps=0,
                                    decay_steps=T, end_value=em))
                t += T
                T *= tmul
            return optax.sgdr_schedule(periods)
        return sgdr
    if name == "LambdaLR":
        lam = kw["lr_lambda"]
        if isinstance(lam, (list, tuple)):
            check(len(lam) == ngroups, f"Expected {ngroups} lr_lambdas, but got {len(lam)}")
        return lambda lr, gi: (lambda t, f=_named(lam, gi): lr * f(int(t)))
    if name == "MultiplicativeLR":
        lam = kw["lr_lambda"]
        if isinstance(lam, (list, tuple)):
            check(len(lam) == ngroups, f"Expected {ngroups} lr_lambdas, but got {len(lam)}")

        def mult(lr, gi):
            """Hand-wired (recursive in torch, no optax schedule): lr_t = lr_{t-1} * f(t)."""
            f = _named(lam, gi)

            def sched(t):
                v = lr
                for e in range(1, int(t) + 1):
                    v = v * f(e)
                return v
            return sched
        return mult
    if name == "SequentialLR":
        kids = [_factory(c["op"], dict(c.get("kwargs", {})), ngroups) for c in kw["schedulers"]]
        ms = list(kw["milestones"])
        check(len(ms) == len(kids) - 1, "Sequential Schedulers expects number of schedulers "
                                        "provided to be one more than the number of milestone "
                                        "points")
        return lambda lr, gi: optax.join_schedules([k(lr, gi) for k in kids], ms)
    if name == "ChainedScheduler":
        kids = [_factory(c["op"], dict(c.get("kwargs", {})), ngroups) for c in kw["schedulers"]]

        def chained(lr, gi):
            """Hand-wired: torch steps every child on the same lr; for these multiplicative
            children that is the product of their factors."""
            fs = [k(lr, gi) for k in kids]
            return lambda t: lr * np.prod([float(f(t)) / lr for f in fs])
        return chained
    raise Unsupported(f"the jax adapter does not implement {op}")


def run_scheduler(request: SchedulerRequest) -> dict[str, np.ndarray]:
    if request.op in UNSUPPORTED:
        raise Unsupported(UNSUPPORTED[request.op])
    fac = _factory(request.op, dict(request.kwargs), len(request.groups))
    scheds = [fac(float(g["lr"]), gi) for gi, g in enumerate(request.groups)]
    import jax
    import jax.numpy as jnp
    n = request.num_steps + 1
    cols = []
    for s in scheds:
        try:  # vectorised over the steps, eagerly: under jax.jit XLA folds the schedule's
            # division by a constant into a multiplication by its reciprocal (inexact)
            cols.append(np.asarray(jax.vmap(s)(jnp.arange(n)), dtype=np.float64))
        except (TypeError, jax.errors.ConcretizationTypeError):  # hand-wired Python schedules
            cols.append(np.array([float(s(t)) for t in range(n)]))
    return {"lr": np.stack(cols, axis=1)}
