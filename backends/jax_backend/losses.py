"""Losses in jax.numpy / jax.nn (optax.losses computes several of them too, but without
torch's reduction, weight and ignore_index conventions, which are the conformance target)."""

from __future__ import annotations

import math

from ._common import check, jax, jnp, nodiff, np, reduce
from .activations import op
from .layers import _linear, safe_norm


def _clamp0(z):
    """torch's clamp_min(z, 0): its gradient passes at z == 0 (self >= min); jax.nn.relu's
    and jnp.maximum's do not (0 and 1/2)."""
    return jnp.where(z >= 0, z, jnp.zeros_like(z))


def _red(kw):
    r = kw.get("reduction", "mean")
    check(r in ("none", "mean", "sum"), f"{r} is not a valid value for reduction")
    return r


def _w(kw, b, x, name="weight"):
    w = b.get(name) if name in b else kw.get(name)
    if w is None:
        return None
    return jnp.asarray(w, dtype=x.dtype)


@op("nn.L1Loss")
def l1_loss(kw, p, b, xs, tr, ctx):
    x, y = xs[0], xs[1]
    return (reduce(jnp.abs(x - y), _red(kw)),)


@op("nn.MSELoss")
def mse_loss(kw, p, b, xs, tr, ctx):
    x, y = xs[0], xs[1]
    return (reduce(jnp.square(x - y), _red(kw)),)


@op("nn.SmoothL1Loss")
def smooth_l1_loss(kw, p, b, xs, tr, ctx):
    x, y = xs[0], xs[1]
    beta = kw.get("beta", 1.0)
    check(beta >= 0, "smooth_l1_loss does not support negative values for beta.")
    d = jnp.abs(x - y)
    if beta == 0:
        return (reduce(d, _red(kw)),)
    return (reduce(jnp.where(d < beta, 0.5 * d * d / beta, d - 0.5 * beta), _red(kw)),)


@op("nn.HuberLoss")
def huber_loss(kw, p, b, xs, tr, ctx):
    x, y = xs[0], xs[1]
    delta = kw.get("delta", 1.0)
    check(delta > 0, "huber_loss does not support non-positive values for delta.")
    d = jnp.abs(x - y)
    return (reduce(jnp.where(d < delta, 0.5 * d * d, delta * (d - 0.5 * delta)), _red(kw)),)


#: aten/src/ATen/native/Loss.cpp ``constexpr float EPSILON = 1e-12``: the float nearest 1e-12,
#: in every dtype (BCELoss's gradient clamp, CosineEmbeddingLoss's squared-magnitude offset).
_ATEN_EPSILON = float(np.float32(1e-12))


@jax.custom_vjp
def _bce(x, y):
    """torch.nn.BCELoss docs: -(y max(log x, -100) + (1 - y) max(log(1 - x), -100)).

    custom_vjp because torch defines BCE's gradients by hand, not as the derivative of the
    clamped forward (derivatives.yaml binary_cross_entropy): the input gradient is
    (x - y) / max(x (1 - x), EPSILON) (aten binary_cross_entropy_backward) and the target
    gradient -logit(x) (FunctionsManual binary_cross_entropy_target_backward), +-inf at x in
    {0, 1} where autodiff of the clamp gives nan (0 * inf) and +-100."""
    lx = jnp.maximum(jnp.log(x), -100.0)
    l1x = jnp.maximum(jnp.log1p(-x), -100.0)
    return -(y * lx + (1 - y) * l1x)


def _bce_fwd(x, y):
    return _bce(x, y), (x, y)


def _bce_bwd(res, g):
    x, y = res
    gx = g * (x - y) / jnp.maximum((1 - x) * x, jnp.asarray(_ATEN_EPSILON, x.dtype))
    gy = g * -jnp.log(x / (1 - x))  # at::logit without eps
    return gx, gy


_bce.defvjp(_bce_fwd, _bce_bwd)


@op("nn.BCELoss")
def bce_loss(kw, p, b, xs, tr, ctx):
    x, y = xs[0], xs[1]
    check(x.shape == y.shape, f"Using a target size ({y.shape}) that is different to the input "
                              f"size ({x.shape}) is deprecated. Please ensure they have the same "
                              f"size.")
    for v, what in ((x, "input"), (y, "target")):
        if not isinstance(v, jax.core.Tracer):
            a = np.asarray(v, dtype=np.float64)
            check(bool(np.all((a >= 0) & (a <= 1) | np.isnan(a))),
                  f"all elements of {what} should be between 0 and 1")
    loss = _bce(x, y)
    w = _w(kw, b, x)
    if w is not None:
        loss = loss * w
    return (reduce(loss, _red(kw)),)


@op("nn.BCEWithLogitsLoss")
def bce_with_logits(kw, p, b, xs, tr, ctx):
    x, y = xs[0], xs[1]
    check(x.shape == y.shape, f"Target size ({y.shape}) must be the same as input size "
                              f"({x.shape})")
    pw = _w(kw, b, x, "pos_weight")
    p_ = 1.0 if pw is None else pw
    # torch.nn.BCEWithLogitsLoss docs: -w [p y log sigmoid(x) + (1 - y) log sigmoid(-x)]. Both
    # terms are >= 0, and its derivative (1 - y) sigmoid(x) - p y sigmoid(-x) has no more
    # cancellation than torch's (p y + 1 - y) sigmoid(x) - p y; the kernel's rewriting
    # (1 - y) x + l softplus(-x), l = 1 + (p - 1) y, differentiates to (1 - y) - l sigmoid(-x),
    # which cancels where l sigmoid(-x) is close to 1 - y (6-11 eps on normal data).
    loss = -(p_ * y * jax.nn.log_sigmoid(x) + (1 - y) * jax.nn.log_sigmoid(-x))
    w = _w(kw, b, x)
    if w is not None:
        loss = loss * w
    return (reduce(loss, _red(kw)),)


def _class_axis_move(x):
    """(N, C, d1, ...) -> (N * d1 * ..., C); (C,) -> (1, C)."""
    if x.ndim == 1:
        return x[None]
    return jnp.moveaxis(x, 1, -1).reshape((-1, x.shape[1]))


def _nll_core(logp, y, w, ignore_index, reduction, smoothing=0.0, logp_full=None):
    """logp (N, C) log-probabilities, y (N,) class indices."""
    n, c = logp.shape
    yv = np.asarray(y)
    ok = yv != ignore_index
    check(bool(np.all((yv[ok] >= 0) & (yv[ok] < c))), f"Target {yv[ok].max() if ok.any() else 0} "
                                                      f"is out of bounds.")
    ys = jnp.asarray(np.where(ok, yv, 0))
    okj = jnp.asarray(ok)
    wv = jnp.ones((c,), logp.dtype) if w is None else w
    wy = jnp.where(okj, wv[ys], 0.0)
    picked = jnp.take_along_axis(logp, ys[:, None], axis=1)[:, 0]
    nll = -picked * wy
    if smoothing:
        smooth = -jnp.sum(logp * wv[None, :], axis=1)
        smooth = jnp.where(okj, smooth, 0.0)
    if reduction == "none":
        loss = nll if not smoothing else (1 - smoothing) * nll + smoothing / c * smooth
        return loss
    if reduction == "sum":
        tot = jnp.sum(nll)
        return tot if not smoothing else (1 - smoothing) * tot + smoothing / c * jnp.sum(smooth)
    den = jnp.sum(wy)
    zero = den == 0
    safe = jnp.where(zero, jnp.ones_like(den), den)
    tot = jnp.sum(nll) / safe
    if smoothing:
        tot = (1 - smoothing) * tot + smoothing / c * jnp.sum(smooth) / safe
    # every target ignored: the mean is 0/0 = nan, and torch's backward gives zeros
    return jnp.where(zero, nodiff(tot) * jnp.nan, tot)


def _cross_entropy(x, y, w, ignore_index, reduction, smoothing):
    check(x.ndim >= 1, "cross_entropy: input must have at least one dimension")
    check(0.0 <= smoothing <= 1.0, f"label_smoothing must be between 0.0 and 1.0. Got: "
                                   f"{smoothing}")
    cax = 0 if x.ndim == 1 else 1
    c = x.shape[cax]
    if w is not None:
        check(w.shape == (c,), f"weight tensor should be defined either for all {c} classes or "
                               f"no classes but got weight tensor of shape: {list(w.shape)}")
    logp = jax.nn.log_softmax(x, axis=cax)
    if jnp.issubdtype(y.dtype, jnp.floating):  # class probabilities
        check(ignore_index == -100, "ignore_index cannot be specified when target contains "
                                    "probabilities")
        check(y.shape == x.shape, f"Expected target size {list(x.shape)}, got {list(y.shape)}")
        t = y * (1 - smoothing) + smoothing / c if smoothing else y
        wb = 1.0 if w is None else w.reshape((c,) + (1,) * (x.ndim - cax - 1))
        loss = -jnp.sum(logp * t * wb, axis=cax)
        if reduction == "mean":
            return jnp.sum(loss) / (x.size / c) if x.size else jnp.sum(loss) / 0.0
        return reduce(loss, reduction)
    exp_t = (x.shape[0],) + x.shape[2:] if x.ndim >= 2 else ()
    check(tuple(y.shape) == exp_t, f"Expected target size {list(exp_t)}, got {list(y.shape)}")
    out = _nll_core(_class_axis_move(logp), y.reshape(-1), w, ignore_index, reduction,
                    smoothing)
    return out.reshape(y.shape) if reduction == "none" else out


@op("nn.CrossEntropyLoss")
def cross_entropy(kw, p, b, xs, tr, ctx):
    x, y = xs[0], xs[1]
    return (_cross_entropy(x, y, _w(kw, b, x), kw.get("ignore_index", -100), _red(kw),
                           kw.get("label_smoothing", 0.0)),)


@op("nn.NLLLoss")
def nll_loss(kw, p, b, xs, tr, ctx):
    x, y = xs[0], xs[1]
    check(x.ndim >= 1, "input tensor should be 1D or more")
    c = x.shape[0 if x.ndim == 1 else 1]
    exp_t = (x.shape[0],) + x.shape[2:] if x.ndim >= 2 else ()
    check(tuple(y.shape) == exp_t, f"Expected input batch_size ({x.shape[0]}) to match target "
                                   f"batch_size ({y.shape[0] if y.ndim else 0}).")
    w = _w(kw, b, x)
    if w is not None:
        check(w.shape == (c,), f"weight tensor should be defined either for all {c} classes or "
                               f"no classes but got weight tensor of shape: {list(w.shape)}")
    red = _red(kw)
    out = _nll_core(_class_axis_move(x), y.reshape(-1), w, kw.get("ignore_index", -100), red)
    return (out.reshape(y.shape) if red == "none" else out,)


@op("nn.LinearCrossEntropyLoss")
def linear_cross_entropy(kw, p, b, xs, tr, ctx):
    x, y = xs[0], xs[1]
    c = kw["num_classes"]
    of = tuple(kw.get("out_features", ()))
    W = p["linear.weight"].reshape((c,) + of + (kw["in_features"],))
    check(x.shape[-1] == kw["in_features"], "input feature size mismatch")
    logits = jnp.einsum("ni,c...i->nc...", x.reshape((-1, x.shape[-1])), W,
                        precision="highest")
    if "linear.bias" in p:
        logits = logits + p["linear.bias"].reshape((c,) + of)[None]
    if x.ndim == 1:
        logits = logits[0]
    ii = kw.get("ignore_index")
    return (_cross_entropy(logits, y, _w(kw, b, x), -100 if ii is None else ii, _red(kw),
                           kw.get("label_smoothing", 0.0)),)


@op("nn.KLDivLoss")
def kl_div(kw, p, b, xs, tr, ctx):
    x, y = xs[0], xs[1]
    if kw.get("log_target", False):
        loss = jnp.exp(y) * (y - x)
    else:
        loss = jax.scipy.special.xlogy(y, y) - y * x
    r = kw.get("reduction", "mean")
    check(r in ("none", "mean", "sum", "batchmean"), f"{r} is not a valid value for reduction")
    if r == "batchmean":
        return (jnp.sum(loss) / (x.shape[0] if x.ndim else 1),)
    return (reduce(loss, r),)


@op("nn.PoissonNLLLoss")
def poisson_nll(kw, p, b, xs, tr, ctx):
    x, y = xs[0], xs[1]
    if kw.get("log_input", True):
        loss = jnp.exp(x) - y * x
    else:
        loss = x - y * jnp.log(x + kw.get("eps", 1e-8))
    if kw.get("full", False):
        ysafe = jnp.where(y > 1, y, jnp.ones_like(y))
        st = ysafe * jnp.log(ysafe) - ysafe + 0.5 * jnp.log(2 * math.pi * ysafe)
        loss = loss + jnp.where(y > 1, st, jnp.zeros_like(st))
    return (reduce(loss, _red(kw)),)


@op("nn.GaussianNLLLoss")
def gaussian_nll(kw, p, b, xs, tr, ctx):
    x, y, var = xs[0], xs[1], xs[2]
    if not hasattr(var, "shape"):
        var = jnp.full(x.shape, var, x.dtype)
    if var.shape != x.shape:
        if x.shape[:-1] == var.shape:
            var = var[..., None]
        else:  # the input's shape with exactly one dimension of size 1 (broadcast)
            mism = [v for i, v in zip(x.shape, var.shape) if i != v]
            if not (x.ndim == var.ndim and len(mism) == 1 and mism[0] == 1):
                raise ValueError("var is of incorrect size")
    if not isinstance(var, jax.core.Tracer):
        check(bool(np.all(np.asarray(var, dtype=np.float64) >= 0)),
              "var has negative entry/entries")
    eps = kw.get("eps", 1e-6)
    v = var + nodiff(jnp.maximum(var, eps) - var)  # torch clamps under no_grad
    loss = 0.5 * (jnp.log(v) + jnp.square(x - y) / v)
    if kw.get("full", False):
        loss = loss + 0.5 * math.log(2 * math.pi)
    return (reduce(loss, _red(kw)),)


@op("nn.MarginRankingLoss")
def margin_ranking(kw, p, b, xs, tr, ctx):
    x1, x2, y = xs[0], xs[1], xs[2]
    check(x1.ndim == x2.ndim == y.ndim, "margin_ranking_loss : All input tensors should have "
                                        "same dimension")
    return (reduce(_clamp0(-y * (x1 - x2) + kw.get("margin", 0.0)), _red(kw)),)


@op("nn.HingeEmbeddingLoss")
def hinge_embedding(kw, p, b, xs, tr, ctx):
    x, y = xs[0], xs[1]
    m = kw.get("margin", 1.0)
    zero = jnp.zeros_like(x)
    loss = (jnp.where(y != 1, _clamp0(m - x), zero)
            + jnp.where(y != -1, x, zero))
    return (reduce(loss, _red(kw)),)


@op("nn.SoftMarginLoss")
def soft_margin(kw, p, b, xs, tr, ctx):
    x, y = xs[0], xs[1]
    return (reduce(jax.nn.softplus(-y * x), _red(kw)),)


@op("nn.MultiLabelSoftMarginLoss")
def multilabel_soft_margin(kw, p, b, xs, tr, ctx):
    x, y = xs[0], xs[1]
    loss = -(y * jax.nn.log_sigmoid(x) + (1 - y) * jax.nn.log_sigmoid(-x))
    w = _w(kw, b, x)
    if w is not None:
        loss = loss * w
    loss = jnp.mean(loss, axis=-1) if x.ndim else loss
    return (reduce(loss, _red(kw)),)


@op("nn.CosineEmbeddingLoss")
def cosine_embedding(kw, p, b, xs, tr, ctx):
    x1, x2, y = xs[0], xs[1], xs[2]
    check(x1.shape == x2.shape, "cosine_embedding_loss: input1 and input2 must be the same "
                                "shape")
    check(x1.ndim in (1, 2), "1D or 2D input")
    check(y.ndim == x1.ndim - 1, f"{x1.ndim - 1}D target tensor expected, multi-target not "
                                 f"supported")
    prod = jnp.sum(x1 * x2, axis=-1)
    m1 = jnp.sum(x1 * x1, axis=-1) + _ATEN_EPSILON
    m2 = jnp.sum(x2 * x2, axis=-1) + _ATEN_EPSILON
    cos = prod / jnp.sqrt(m1 * m2)
    zero = jnp.zeros_like(cos)
    loss = (jnp.where(y == 1, 1 - cos, zero)
            + jnp.where(y == -1, _clamp0(cos - kw.get("margin", 0.0)), zero))
    return (reduce(loss, _red(kw)),)


@op("nn.MultiMarginLoss")
def multi_margin(kw, p, b, xs, tr, ctx):
    x, y = xs[0], xs[1]
    pn, m = kw.get("p", 1), kw.get("margin", 1.0)
    check(pn in (1, 2), "only p == 1 and p == 2 supported")
    check(x.ndim in (1, 2) and x.size > 0 or (x.ndim == 2 and x.shape[0] == 0),
          f"Expected non-empty vector or matrix with optional 0-dim batch size, but got: "
          f"{list(x.shape)}")
    unb = x.ndim == 1
    x2 = x[None] if unb else x
    yv = np.asarray(y).reshape(-1)
    n, c = x2.shape
    check(yv.shape[0] == n, f"inconsistent target size, expected {n} but got {list(y.shape)}")
    check(bool(np.all((yv >= 0) & (yv < c))), "target out of range")
    w = _w(kw, b, x)
    xy = x2[np.arange(n), yv][:, None]
    z = jax.nn.relu(m - xy + x2)
    if pn == 2:
        z = z * z
    if w is not None:
        z = z * w[yv][:, None]
    mask = jnp.asarray(np.arange(c)[None, :] != yv[:, None])
    loss = jnp.sum(jnp.where(mask, z, 0.0), axis=1) / c
    red = _red(kw)
    if unb and red == "none":
        loss = loss[0]
    return (reduce(loss, red),)


@op("nn.MultiLabelMarginLoss")
def multilabel_margin(kw, p, b, xs, tr, ctx):
    x, y = xs[0], xs[1]
    check(x.ndim in (1, 2), f"Expected non-empty vector or matrix with optional 0-dim batch "
                            f"size, but got: {list(x.shape)}")
    check(y.shape == x.shape, f"inconsistent target size: {list(y.shape)} for input of size: "
                              f"{list(x.shape)}")
    unb = x.ndim == 1
    x2 = x[None] if unb else x
    yv = np.asarray(y).reshape(x2.shape)
    n, c = x2.shape
    check(bool(np.all((yv >= -1) & (yv < c))), "index out of range")
    is_t = np.zeros((n, c), dtype=bool)
    tgt = np.zeros((n, c), dtype=bool)  # positions j of target classes (before the first -1)
    for i in range(n):
        for j in range(c):
            if yv[i, j] < 0:
                break
            tgt[i, yv[i, j]] = True
        is_t[i] = tgt[i]
    # sum over target classes j and non-target classes k of max(0, 1 - (x_j - x_k)) / C
    diff = 1 - (x2[:, :, None] - x2[:, None, :])
    mask = jnp.asarray(tgt[:, :, None] & ~is_t[:, None, :])
    loss = jnp.sum(jnp.where(mask, jax.nn.relu(diff), 0.0), axis=(1, 2)) / c
    red = _red(kw)
    if unb and red == "none":
        loss = loss[0]
    return (reduce(loss, red),)


def _pdist(a, b_, pn=2.0, eps=1e-6):
    d = a - b_ + eps
    return safe_norm(d, pn, axis=-1)


@op("nn.TripletMarginLoss")
def triplet_margin(kw, p, b, xs, tr, ctx):
    a, pos, neg = xs[0], xs[1], xs[2]
    check(a.ndim == pos.ndim == neg.ndim, "The anchor, positive, and negative tensors are "
                                          "expected to have the same number of dimensions")
    m, pn, eps = kw.get("margin", 1.0), kw.get("p", 2.0), kw.get("eps", 1e-6)
    check(m > 0, f"TripletMarginLoss: expected margin to be greater than 0, got {m} instead")
    dap = _pdist(a, pos, pn, eps)
    dan = _pdist(a, neg, pn, eps)
    if kw.get("swap", False):
        dan = jnp.minimum(dan, _pdist(pos, neg, pn, eps))
    return (reduce(_clamp0(m + dap - dan), _red(kw)),)


@op("nn.TripletMarginWithDistanceLoss")
def triplet_margin_distance(kw, p, b, xs, tr, ctx):
    a, pos, neg = xs[0], xs[1], xs[2]
    m = kw.get("margin", 1.0)
    check(m > 0, f"TripletMarginWithDistanceLoss: expected margin to be greater than 0, got {m}")
    fn = kw.get("distance_function") or _pdist
    dap, dan = fn(a, pos), fn(a, neg)
    if kw.get("swap", False):
        dan = jnp.minimum(dan, fn(pos, neg))
    return (reduce(_clamp0(m + dap - dan), _red(kw)),)


_ = _linear
