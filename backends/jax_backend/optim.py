"""Optimizers through optax, one GradientTransformation per parameter (torch skips a parameter
whose gradient is None, state and all; optax updates a whole pytree, so each parameter gets its
own chain and its own state). Hyperparameters are torch's, mapped onto optax's transforms;
optax state is reported under torch's state names. Update rules that optax lacks are wired by
hand and say so in their docstring."""

from __future__ import annotations

import math

import numpy as np

from ..contract import OptimizerRequest, OptimizerResult, Unsupported
from ._common import DT, check, jnp, to_numpy

import optax

DEFAULTS = {
    "optim.SGD": dict(lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False,
                      maximize=False),
    "optim.Adam": dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False,
                       maximize=False, decoupled_weight_decay=False),
    "optim.AdamW": dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                        amsgrad=False, maximize=False),
    "optim.RMSprop": dict(lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                          centered=False, maximize=False),
    "optim.Adagrad": dict(lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0,
                          eps=1e-10, maximize=False),
    "optim.Adamax": dict(lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                         maximize=False),
    "optim.Adadelta": dict(lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0, maximize=False),
    "optim.NAdam": dict(lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                        momentum_decay=4e-3, decoupled_weight_decay=False, maximize=False),
    "optim.RAdam": dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                        decoupled_weight_decay=False, maximize=False),
    "optim.ASGD": dict(lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0.0,
                       maximize=False),
    "optim.Rprop": dict(lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50.0), maximize=False),
}

UNSUPPORTED = {
    "optim.LBFGS": "optax.lbfgs is a different algorithm (zoom line search, no torch-style "
                   "max_iter/tolerance_change inner loop, no closure); not mapped",
    "optim.SparseAdam": "JAX has no sparse gradients (a gradient is a dense array); optax has "
                        "no lazy/sparse Adam",
    "optim.Adafactor": "torch's Adafactor (beta2 = 1 - t^-0.8, lr-relative update, no update "
                       "clipping, row_var/col_var state) is not optax.adafactor's variant; "
                       "not mapped yet",
    "optim.Muon": "optax.contrib.muon's Newton-Schulz coefficients, scaling and "
                  "non-2-D fallback differ from torch's; not mapped yet",
    "optim.swa_utils.AveragedModel": "optax has no AveragedModel (parameter/buffer averaging "
                                     "around an optimizer); not implemented yet",
}


def supported(op: str) -> bool:
    return op in DEFAULTS or op in ("nn.utils.clip_grad_norm_", "nn.utils.clip_grad_value_")


def _validate(op, h):
    check(h.get("lr", 0) >= 0, f"Invalid learning rate: {h.get('lr')}")
    if "eps" in h:
        check(h["eps"] >= 0, f"Invalid epsilon value: {h['eps']}")
    if "betas" in h:
        for i, bt in enumerate(h["betas"]):
            check(0.0 <= bt < 1.0, f"Invalid beta parameter at index {i}: {bt}")
    if "weight_decay" in h:
        check(h["weight_decay"] >= 0, f"Invalid weight_decay value: {h['weight_decay']}")
    if "momentum" in h:
        check(h["momentum"] >= 0, f"Invalid momentum value: {h['momentum']}")
    if "alpha" in h and op == "optim.RMSprop":
        check(h["alpha"] >= 0, f"Invalid alpha value: {h['alpha']}")
    if "rho" in h:
        check(0 <= h["rho"] <= 1, f"Invalid rho value: {h['rho']}")
    if h.get("fused") and h.get("foreach"):
        raise RuntimeError("`fused` and `foreach` cannot be `True` together.")
    if op == "optim.SGD" and h.get("nesterov"):
        check(h["momentum"] > 0 and h["dampening"] == 0,
              "Nesterov momentum requires a momentum and zero dampening")
    if "lr_decay" in h:
        check(h["lr_decay"] >= 0, f"Invalid lr_decay value: {h['lr_decay']}")
    if "initial_accumulator_value" in h:
        check(h["initial_accumulator_value"] >= 0, "Invalid initial_accumulator_value value")
    if "etas" in h:
        check(0.0 < h["etas"][0] < 1.0 < h["etas"][1], f"Invalid eta values: {h['etas']}")


def _pre(h, decay=True):
    """maximize (negate the gradient) and coupled L2 weight decay (g + wd p), as in torch."""
    out = []
    if h.get("maximize"):
        out.append(optax.scale(-1.0))
    if decay and h.get("weight_decay", 0):
        out.append(optax.add_decayed_weights(h["weight_decay"]))
    return out


def _sgd(h):
    if h["dampening"]:
        return _sgd_dampened(h)
    parts = _pre(h)
    if h["momentum"]:
        parts.append(optax.trace(decay=h["momentum"], nesterov=h["nesterov"]))
    parts.append(optax.scale(-h["lr"]))
    return optax.chain(*parts)


def _sgd_dampened(h):
    """Hand-wired (optax.trace has no dampening): buf = g at the first step, then
    buf = momentum * buf + (1 - dampening) * g; the update is -lr * buf."""
    mu, damp = h["momentum"], h["dampening"]

    def init(p):
        return {"momentum_buffer": jnp.zeros_like(p), "first": True}

    def update(g, st, p=None):
        buf = g if st["first"] else mu * st["momentum_buffer"] + (1 - damp) * g
        return -h["lr"] * buf, {"momentum_buffer": buf, "first": False}
    return optax.chain(*_pre(h), optax.GradientTransformation(init, update))


def _adam(h, decoupled):
    b1, b2 = h["betas"]
    parts = _pre(h, decay=not decoupled)
    if h.get("amsgrad"):
        parts.append(optax.scale_by_amsgrad(b1=b1, b2=b2, eps=h["eps"]))
    else:
        parts.append(optax.scale_by_adam(b1=b1, b2=b2, eps=h["eps"]))
    if decoupled and h["weight_decay"]:
        # optax.adamw's order: the decay joins the update before the learning rate, so
        # p <- p - lr * (adam + wd * p) = p * (1 - lr * wd) - lr * adam, torch's AdamW step
        parts.append(optax.add_decayed_weights(h["weight_decay"]))
    parts.append(optax.scale(-h["lr"]))
    return optax.chain(*parts)


def _rmsprop(h):
    parts = _pre(h)
    tx = (optax.scale_by_stddev if h["centered"] else optax.scale_by_rms)(
        decay=h["alpha"], eps=h["eps"], initial_scale=0.0, eps_in_sqrt=False)
    parts.append(tx)
    if h["momentum"]:
        parts.append(optax.trace(decay=h["momentum"]))
    parts.append(optax.scale(-h["lr"]))
    return optax.chain(*parts)


def _adagrad(h):
    """optax.scale_by_rss with torch's initial accumulator; lr_decay through an optax
    schedule of the step count (torch: lr / (1 + (t - 1) lr_decay))."""
    parts = _pre(h)
    parts.append(optax.scale_by_rss(initial_accumulator_value=h["initial_accumulator_value"],
                                    eps=h["eps"]))
    lr, dec = h["lr"], h["lr_decay"]
    parts.append(optax.scale_by_schedule(lambda t: -lr / (1 + t * dec)))
    return optax.chain(*parts)


def _adamax(h):
    b1, b2 = h["betas"]
    return optax.chain(*_pre(h), optax.scale_by_adamax(b1=b1, b2=b2, eps=h["eps"]),
                       optax.scale(-h["lr"]))


def _adadelta(h):
    return optax.chain(*_pre(h), optax.scale_by_adadelta(rho=h["rho"], eps=h["eps"]),
                       optax.scale(-h["lr"]))


def _nadam(h):
    b1, b2 = h["betas"]
    decoupled = h.get("decoupled_weight_decay")
    parts = _pre(h, decay=not decoupled)
    parts.append(optax.scale_by_adam(b1=b1, b2=b2, eps=h["eps"], nesterov=True))
    if decoupled and h["weight_decay"]:
        parts.append(optax.add_decayed_weights(h["weight_decay"]))
    parts.append(optax.scale(-h["lr"]))
    return optax.chain(*parts)


def _radam(h):
    b1, b2 = h["betas"]
    decoupled = h.get("decoupled_weight_decay")
    parts = _pre(h, decay=not decoupled)
    parts.append(optax.scale_by_radam(b1=b1, b2=b2, eps=h["eps"], threshold=5.0))
    if decoupled and h["weight_decay"]:
        parts.append(optax.add_decayed_weights(h["weight_decay"]))
    parts.append(optax.scale(-h["lr"]))
    return optax.chain(*parts)


def _asgd(h):
    """Hand-wired (optax has no averaged SGD): torch's ASGD step, state eta, mu, ax, step."""
    lr, lambd, alpha, t0 = h["lr"], h["lambd"], h["alpha"], h["t0"]

    def init(p):
        return {"step": 0, "eta": lr, "mu": 1.0, "ax": jnp.zeros_like(p)}

    def update(g, st, p):
        t = st["step"] + 1
        eta, mu = st["eta"], st["mu"]
        newp = p * (1 - lambd * eta) - eta * g
        ax = st["ax"] + (newp - st["ax"]) * mu if mu != 1 else newp
        new = {"step": t, "eta": lr / ((1 + lambd * lr * t) ** alpha),
               "mu": 1 / max(1, t - t0), "ax": ax}
        return newp - p, new
    return optax.chain(*_pre(h), optax.GradientTransformation(init, update))


def _rprop(h):
    eminus, eplus = h["etas"]
    smin, smax = h["step_sizes"]
    parts = [optax.scale(-1.0)] if h.get("maximize") else []
    parts.append(optax.rprop(learning_rate=h["lr"], eta_minus=eminus, eta_plus=eplus,
                             min_step_size=smin, max_step_size=smax))
    return optax.chain(*parts)


BUILD = {"optim.SGD": _sgd, "optim.Adam": lambda h: _adam(h, h["decoupled_weight_decay"]),
         "optim.AdamW": lambda h: _adam(h, True), "optim.RMSprop": _rmsprop,
         "optim.Adagrad": _adagrad, "optim.Adamax": _adamax, "optim.Adadelta": _adadelta,
         "optim.NAdam": _nadam, "optim.RAdam": _radam, "optim.ASGD": _asgd,
         "optim.Rprop": _rprop}


def _leaves(state):
    """The states of a (nested) chain, flattened in order."""
    if isinstance(state, tuple) and not hasattr(state, "_fields"):
        return [x for s in state for x in _leaves(s)]
    return [state]


def torch_state(op: str, state, t: int, h: dict) -> dict:
    """optax state -> torch's state names for this optimizer."""
    out = {}
    for s in _leaves(state):
        name = type(s).__name__
        if name == "ScaleByAdamState" and op == "optim.Adamax":
            out.update(exp_avg=s.mu, exp_inf=s.nu)
        elif name == "ScaleByAdamState":
            out.update(exp_avg=s.mu, exp_avg_sq=s.nu)
        elif name == "ScaleByAmsgradState":
            out.update(exp_avg=s.mu, exp_avg_sq=s.nu, max_exp_avg_sq=s.nu_max)
        elif name == "ScaleByRmsState":
            out["square_avg"] = s.nu
        elif name == "ScaleByRStdDevState":
            out.update(square_avg=s.nu, grad_avg=s.mu)
        elif name == "TraceState":
            out["momentum_buffer"] = s.trace
        elif name == "ScaleByRssState":
            out["sum"] = s.sum_of_squares
        elif name == "ScaleByAdaDeltaState":
            out.update(square_avg=s.e_g, acc_delta=s.e_x)
        elif name == "ScaleByRAdamState" or name == "ScaleByRadamState":
            out.update(exp_avg=s.mu, exp_avg_sq=s.nu)
        elif name == "ScaleByAdamaxState" or (hasattr(s, "nu") and op == "optim.Adamax"):
            out.update(exp_avg=s.mu, exp_inf=s.nu)
        elif name == "ScaleByRpropState":
            out.update(step_size=s.step_sizes, prev=s.prev_updates)
        elif isinstance(s, dict):
            out.update({k: v for k, v in s.items() if k != "first" and k != "step"})
    out["step"] = np.asarray(float(t))
    if op == "optim.SGD" and not h["momentum"]:
        out.pop("step")
    if op == "optim.SGD":
        out.pop("step", None)
    return out


def _clip(spec, grads: dict, order: list):
    """clip_grad_value_ -> optax.clip; clip_grad_norm_ (2-norm) -> optax.clip_by_global_norm;
    other norm types are hand-wired (optax has only the global 2-norm)."""
    kw = dict(spec.get("kwargs", {}))
    present = [n for n in order if n in grads]
    if spec["op"] == "nn.utils.clip_grad_value_":
        tx = optax.clip(kw["clip_value"])
        new, _ = tx.update({n: grads[n] for n in present}, tx.init(None))
        return dict(new), None
    max_norm, nt = kw["max_norm"], float(kw.get("norm_type", 2.0))
    if not present:
        return grads, 0.0
    if nt == math.inf:
        total = jnp.max(jnp.stack([jnp.max(jnp.abs(grads[n])) for n in present]))
    else:
        total = jnp.sum(jnp.stack([jnp.sum(jnp.abs(grads[n]) ** nt) for n in present])) \
            ** (1.0 / nt)
    if kw.get("error_if_nonfinite") and not bool(jnp.isfinite(total)):
        raise RuntimeError(f"The total norm of order {nt} for gradients from `parameters` is "
                           f"non-finite, so it cannot be clipped.")
    if nt == 2.0:
        tx = optax.clip_by_global_norm(max_norm)
        new, _ = tx.update({n: grads[n] for n in present}, tx.init(None))
        return dict(new), float(total)
    coef = jnp.minimum(max_norm / (total + 1e-6), 1.0)
    return {n: grads[n] * coef for n in present}, float(total)


def run_optimizer(request: OptimizerRequest) -> OptimizerResult:
    op = request.op
    if op in UNSUPPORTED:
        raise Unsupported(UNSUPPORTED[op])
    if op not in BUILD:
        raise Unsupported(f"the jax adapter does not implement {op}")
    if request.objective is not None or request.grad_masks is not None or request.average:
        raise Unsupported("closure objectives, sparse gradients and averaged models are not "
                          "implemented by the jax adapter")
    dt = DT[request.dtype]
    params = {n: jnp.asarray(v, dt) for n, v in request.params.items()}
    order = list(request.params)
    groups = list(request.param_groups)
    late = request.add_group_at is not None
    hyper = {}
    txs = {}
    for gi, g in enumerate(groups):
        h = {**DEFAULTS[op], **dict(request.kwargs),
             **{k: v for k, v in g.items() if k != "params"}}
        _validate(op, h)
        for n in g["params"]:
            hyper[n] = (gi, h)
            txs[n] = BUILD[op](h)
    states: dict = {}
    steps: dict = {}
    grads_now: dict = {}
    out = OptimizerResult([], [])
    if request.clip is not None:
        out.grads, out.total_norms = [], []
    for t, step_grads in enumerate(request.grads):
        active = {n for n in order if not late or t >= request.add_group_at
                  or hyper[n][0] < len(groups) - 1}
        sg = {n: jnp.asarray(v, dt) for n, v in step_grads.items()}
        if request.zero_grad is None:
            grads_now = dict(sg)
        else:
            if request.zero_grad:
                grads_now = {}
            else:
                grads_now = {n: jnp.zeros_like(v) for n, v in grads_now.items()}
            for n, v in sg.items():
                grads_now[n] = grads_now[n] + v if n in grads_now else v
        if request.clip is not None:
            clipped, total = _clip(request.clip, grads_now, order)
            grads_now = {**grads_now, **clipped}
            out.grads.append({n: to_numpy(v) for n, v in grads_now.items()})
            out.total_norms.append(total)
        for n in order:
            if n not in active or n not in grads_now:
                continue
            tx = txs[n]
            if n not in states:
                states[n] = tx.init(params[n])
                steps[n] = 0
            upd, states[n] = tx.update(grads_now[n], states[n], params[n])
            params[n] = optax.apply_updates(params[n], upd)
            steps[n] += 1
        out.params.append({n: to_numpy(v) for n, v in params.items()})
        out.state.append({n: {k: to_numpy(v) for k, v in
                              torch_state(op, states[n], steps[n], hyper[n][1]).items()}
                          for n in order if n in states})
    return out
