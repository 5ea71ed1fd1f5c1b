"""Activations through jax.nn and jax.numpy: ``f(kw, p, b, xs, training, ctx) -> outputs``.

Each function takes the constructor kwargs ``kw``, parameters ``p`` (torch state_dict names),
buffers ``b``, positional inputs ``xs`` (jnp arrays) and returns a tuple of outputs (and, for
stateful ops, the new buffers as ``(outputs, buffers)``; see modules.run)."""

from __future__ import annotations

from ._common import canon_dim, check, jax, jnp

OPS: dict = {}


def op(name):
    def deco(fn):
        OPS[name] = fn
        return fn
    return deco


def _x(xs):
    return xs[0]


@op("nn.ReLU")
def relu(kw, p, b, xs, tr, ctx):
    return (jax.nn.relu(_x(xs)),)


@op("nn.ReLU6")
def relu6(kw, p, b, xs, tr, ctx):
    return (jax.nn.relu6(_x(xs)),)


@op("nn.ELU")
def elu(kw, p, b, xs, tr, ctx):
    return (jax.nn.elu(_x(xs), alpha=kw.get("alpha", 1.0)),)


@op("nn.CELU")
def celu(kw, p, b, xs, tr, ctx):
    alpha = kw.get("alpha", 1.0)
    check(alpha != 0, "ZeroDivisionError: alpha cannot be 0 for CELU")
    return (jax.nn.celu(_x(xs), alpha=alpha),)


@op("nn.SELU")
def selu(kw, p, b, xs, tr, ctx):
    return (jax.nn.selu(_x(xs)),)


@op("nn.GELU")
def gelu(kw, p, b, xs, tr, ctx):
    """jax.nn.gelu defaults to the tanh approximation: approximate='none' must pass
    approximate=False explicitly."""
    a = kw.get("approximate", "none")
    check(a in ("none", "tanh"), "approximate argument must be either none or tanh.")
    return (jax.nn.gelu(_x(xs), approximate=(a == "tanh")),)


@op("nn.SiLU")
def silu(kw, p, b, xs, tr, ctx):
    return (jax.nn.silu(_x(xs)),)


@op("nn.Mish")
def mish(kw, p, b, xs, tr, ctx):
    x = _x(xs)
    return (x * jnp.tanh(jax.nn.softplus(x)),)


@op("nn.Sigmoid")
def sigmoid(kw, p, b, xs, tr, ctx):
    return (jax.nn.sigmoid(_x(xs)),)


@op("nn.Tanh")
def tanh(kw, p, b, xs, tr, ctx):
    return (jnp.tanh(_x(xs)),)


@op("nn.Hardtanh")
def hardtanh(kw, p, b, xs, tr, ctx):
    lo = kw.get("min_val", kw.get("min_value", -1.0))
    hi = kw.get("max_val", kw.get("max_value", 1.0))
    check(hi > lo, "max_val must be greater than min_val")
    x = _x(xs)
    # torch's hardtanh_backward passes the gradient only strictly inside (min_val, max_val)
    return (jnp.where(x <= lo, jnp.asarray(lo, x.dtype),
                      jnp.where(x >= hi, jnp.asarray(hi, x.dtype), x)),)


@op("nn.Hardsigmoid")
def hardsigmoid(kw, p, b, xs, tr, ctx):
    return (jax.nn.hard_sigmoid(_x(xs)),)


@op("nn.Hardswish")
def hardswish(kw, p, b, xs, tr, ctx):
    return (jax.nn.hard_swish(_x(xs)),)


@op("nn.LeakyReLU")
def leaky_relu(kw, p, b, xs, tr, ctx):
    return (jax.nn.leaky_relu(_x(xs), negative_slope=kw.get("negative_slope", 0.01)),)


@op("nn.LogSigmoid")
def log_sigmoid(kw, p, b, xs, tr, ctx):
    return (jax.nn.log_sigmoid(_x(xs)),)


def _softmax_dim(kw, x):
    dim = kw.get("dim")
    if dim is None:  # torch's legacy implicit dim (_get_softmax_dim)
        dim = 0 if x.ndim in (0, 1, 3) else 1
    return canon_dim(dim, x.ndim)


@op("nn.Softmax")
def softmax(kw, p, b, xs, tr, ctx):
    x = _x(xs)
    if x.ndim == 0:
        _softmax_dim(kw, x)
        return (jax.nn.softmax(x.reshape(1))[0],)
    return (jax.nn.softmax(x, axis=_softmax_dim(kw, x)),)


@op("nn.Softmin")
def softmin(kw, p, b, xs, tr, ctx):
    x = _x(xs)
    if x.ndim == 0:
        _softmax_dim(kw, x)
        return (jax.nn.softmax(-x.reshape(1))[0],)
    return (jax.nn.softmax(-x, axis=_softmax_dim(kw, x)),)


@op("nn.LogSoftmax")
def log_softmax(kw, p, b, xs, tr, ctx):
    x = _x(xs)
    if x.ndim == 0:
        _softmax_dim(kw, x)
        return (jax.nn.log_softmax(x.reshape(1))[0],)
    return (jax.nn.log_softmax(x, axis=_softmax_dim(kw, x)),)


@op("nn.Softmax2d")
def softmax2d(kw, p, b, xs, tr, ctx):
    x = _x(xs)
    check(x.ndim in (3, 4), f"Softmax2d: expected input to be 3D or 4D, got {x.ndim}D instead")
    return (jax.nn.softmax(x, axis=x.ndim - 3),)


@op("nn.Softplus")
def softplus(kw, p, b, xs, tr, ctx):
    """torch: x where beta * x > threshold, else log1p(exp(beta x)) / beta."""
    x = _x(xs)
    beta, thr = kw.get("beta", 1.0), kw.get("threshold", 20.0)
    bx = x * beta
    safe = jnp.where(bx > thr, jnp.zeros_like(bx), bx)
    return (jnp.where(bx > thr, x, jax.nn.softplus(safe) / beta),)


@op("nn.Softshrink")
def softshrink(kw, p, b, xs, tr, ctx):
    lam = kw.get("lambd", 0.5)
    check(lam >= 0, f"lambda must be greater or equal to 0, but found to be {lam}.")
    x = _x(xs)
    return (jnp.where(jnp.abs(x) <= lam, jnp.zeros_like(x), x - jnp.sign(x) * lam),)


@op("nn.Hardshrink")
def hardshrink(kw, p, b, xs, tr, ctx):
    lam = kw.get("lambd", 0.5)
    x = _x(xs)
    return (jnp.where((x >= -lam) & (x <= lam), jnp.zeros_like(x), x),)


@op("nn.Softsign")
def softsign(kw, p, b, xs, tr, ctx):
    return (jax.nn.soft_sign(_x(xs)),)


@op("nn.Tanhshrink")
def tanhshrink(kw, p, b, xs, tr, ctx):
    x = _x(xs)
    return (x - jnp.tanh(x),)


@op("nn.Threshold")
def threshold(kw, p, b, xs, tr, ctx):
    x = _x(xs)
    return (jnp.where(x <= kw["threshold"], jnp.asarray(kw["value"], x.dtype), x),)


@op("nn.GLU")
def glu(kw, p, b, xs, tr, ctx):
    x = _x(xs)
    check(x.ndim > 0, "glu does not support scalars because halving size must be even")
    d = canon_dim(kw.get("dim", -1), x.ndim)
    check(x.shape[d] % 2 == 0, f"Halving dimension must be even, but dimension {d} is size "
                               f"{x.shape[d]}")
    return (jax.nn.glu(x, axis=d),)


@op("nn.PReLU")
def prelu(kw, p, b, xs, tr, ctx):
    x, w = _x(xs), p["weight"]
    if w.size > 1:
        check(x.ndim >= 1, "Not allow zero-dim input tensor.")
        ch = 1 if x.ndim >= 2 else 0
        check(x.shape[ch] == w.size, "Mismatch of parameter numbers and input channel size.")
        w = w.reshape((-1,) + (1,) * (x.ndim - ch - 1))
    else:
        w = w.reshape(())
    # torch's _prelu_kernel_backward: weight term x > 0 ? 0 : x * g. The inner where keeps
    # x > 0 out of w * x, whose weight cotangent would be 0 * x (nan at x = +inf).
    neg = jnp.where(x > 0, jnp.zeros_like(x), x)
    return (jnp.where(x > 0, x, w * neg),)


@op("nn.RReLU")
def rrelu(kw, p, b, xs, tr, ctx):
    """Training: slopes ~ U(lower, upper) from jax.random (judged statistically); eval: the
    mean slope (lower + upper) / 2."""
    x = _x(xs)
    lo, hi = kw.get("lower", 1 / 8), kw.get("upper", 1 / 3)
    check(lo <= hi, "Lower bound should be less than or equal to the upper bound")
    if not tr:
        return (jnp.where(x > 0, x, x * ((lo + hi) / 2)),)
    a = jax.random.uniform(ctx.key(), x.shape, dtype=jnp.float64, minval=lo, maxval=hi)
    return (jnp.where(x > 0, x, x * a.astype(x.dtype)),)


# -- dropout family: masks from jax.random.bernoulli (judged statistically) ----------------

def _check_p(p):
    check(0 <= p <= 1, f"dropout probability has to be between 0 and 1, but got {p}")


def _feature_mask_shape(x, op_name):
    need = {"nn.Dropout1d": (2, 3), "nn.Dropout2d": (3, 4), "nn.Dropout3d": (4, 5)}.get(op_name)
    if need is not None:
        check(x.ndim in need, f"{op_name[3:]}: Expected {need[0]}D or {need[1]}D input, but "
                              f"received a {x.ndim}D input.")
        unb = x.ndim == need[0]
        return ((x.shape[0],) if unb else x.shape[:2]) + (1,) * (x.ndim - (1 if unb else 2))
    check(x.ndim >= 2, "Feature dropout requires at least 2 dimensions in the input")
    return x.shape[:2] + (1,) * (x.ndim - 2)


@op("nn.Dropout")
@op("nn.Dropout1d")
@op("nn.Dropout2d")
@op("nn.Dropout3d")
def dropout(kw, p, b, xs, tr, ctx):
    x, pr = _x(xs), kw.get("p", 0.5)
    _check_p(pr)
    shape = x.shape if ctx.op == "nn.Dropout" else _feature_mask_shape(x, ctx.op)
    if not tr or pr == 0:
        return (x,)
    if pr == 1:
        return (x * 0,)
    keep = jax.random.bernoulli(ctx.key(), 1 - pr, shape).astype(x.dtype)
    return (x * (keep * (1 / (1 - pr))),)  # as torch: a dropped inf gives nan


@op("nn.AlphaDropout")
@op("nn.FeatureAlphaDropout")
def alpha_dropout(kw, p, b, xs, tr, ctx):
    """torch's alpha dropout: dropped units set to alpha' = -selu_lambda * selu_alpha, then the
    affine a * (.) + b that keeps mean and variance."""
    x, pr = _x(xs), kw.get("p", 0.5)
    _check_p(pr)
    shape = x.shape if ctx.op == "nn.AlphaDropout" else _feature_mask_shape(x, ctx.op)
    if not tr or pr == 0:
        return (x,)
    if pr == 1:
        return (x * 0,)
    alpha_p = -1.7580993408473766
    a = ((1 - pr) * (1 + pr * alpha_p ** 2)) ** -0.5
    bb = -a * alpha_p * pr
    keep = jax.random.bernoulli(ctx.key(), 1 - pr, shape).astype(x.dtype)
    return (x * (keep * a) + (alpha_p * a * (1 - keep) + bb),)
