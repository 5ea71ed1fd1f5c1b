"""Linear, normalization, distance and reshaping layers in jax.numpy.

BatchNorm/InstanceNorm implement torch's buffer semantics (running = (1 - m) running + m batch,
unbiased running variance, cumulative average for momentum=None), the conformance target;
flax.linen.BatchNorm's convention (running = m running + (1 - m) batch, m=0.99) is not used."""

from __future__ import annotations

import math

from ._common import canon_dim, check, jnp, nodiff, np
from .activations import op

# -- linear --------------------------------------------------------------------------------


@op("nn.Identity")
def identity(kw, p, b, xs, tr, ctx):
    return (xs[0],)


def _linear(x, w, bias):
    check(x.ndim >= 1 and x.shape[-1] == w.shape[1],
          f"mat1 and mat2 shapes cannot be multiplied ({x.shape} and {w.shape[::-1]})")
    y = jnp.matmul(x, w.T, precision="highest")
    return y if bias is None else y + bias


@op("nn.Linear")
@op("nn.LazyLinear")
def linear(kw, p, b, xs, tr, ctx):
    return (_linear(xs[0], p["weight"], p.get("bias")),)


@op("nn.Bilinear")
def bilinear(kw, p, b, xs, tr, ctx):
    x1, x2 = xs[0], xs[1]
    w = p["weight"]
    check(x1.shape[-1] == w.shape[1], "input1 size mismatch")
    check(x2.shape[-1] == w.shape[2], "input2 size mismatch")
    check(x1.shape[:-1] == x2.shape[:-1], "input1 and input2 must have the same batch size")
    y = jnp.einsum("...i,kij,...j->...k", x1, w, x2, precision="highest")
    return (y if "bias" not in p else y + p["bias"],)


@op("nn.Flatten")
def flatten(kw, p, b, xs, tr, ctx):
    x = xs[0]
    nd = max(x.ndim, 1)
    s = canon_dim(kw.get("start_dim", 1), nd)
    e = canon_dim(kw.get("end_dim", -1), nd)
    check(s <= e, "flatten() has invalid args: start_dim cannot come after end_dim")
    if x.ndim == 0:
        return (x.reshape(1),)
    return (x.reshape(x.shape[:s] + (-1,) + x.shape[e + 1:]),)


@op("nn.Unflatten")
def unflatten(kw, p, b, xs, tr, ctx):
    x = xs[0]
    d = canon_dim(kw["dim"], x.ndim)
    size = tuple(kw["unflattened_size"])
    known = [s for s in size if s != -1]
    check(size.count(-1) <= 1, "only one dimension can be inferred")
    if -1 not in size:
        check(math.prod(size) == x.shape[d], "unflatten: Provided sizes don't multiply up to "
                                             "the size of dim")
    return (x.reshape(x.shape[:d] + size + x.shape[d + 1:]),) if known or size else (x,)


# -- normalization -------------------------------------------------------------------------

def _bn_dims(op_name):
    return {"nn.BatchNorm1d": (2, 3), "nn.BatchNorm2d": (4,), "nn.BatchNorm3d": (5,),
            "nn.LazyBatchNorm1d": (2, 3), "nn.LazyBatchNorm2d": (4,),
            "nn.LazyBatchNorm3d": (5,)}[op_name]


def _running_update(kw, b, mean, var_unbiased):
    """torch's update: factor = momentum, or 1 / num_batches_tracked for momentum=None."""
    nbt = b["num_batches_tracked"] + 1
    m = kw.get("momentum", 0.1)
    factor = (1.0 / nbt) if m is None else m
    rm, rv = b["running_mean"], b["running_var"]
    new = dict(b)
    new["running_mean"] = nodiff((1 - factor) * rm + factor * mean.astype(rm.dtype))
    new["running_var"] = nodiff((1 - factor) * rv + factor * var_unbiased.astype(rv.dtype))
    new["num_batches_tracked"] = nbt
    return new


def _batch_norm(kw, p, b, x, tr, ctx, ranks):
    name = ctx.op
    check(x.ndim in ranks, f"expected {' or '.join(f'{r}D' for r in ranks)} input "
                           f"(got {x.ndim}D input)")
    c = x.shape[1]
    nf = kw.get("num_features", c)
    track = kw.get("track_running_stats", True) and "running_mean" in b
    if track:
        check(b["running_mean"].shape[0] == c,
              f"running_mean should contain {c} elements not {b['running_mean'].shape[0]}")
    if "weight" in p:
        check(p["weight"].shape[0] == c, f"weight should contain {c} elements not {nf}")
    eps = kw.get("eps", 1e-5)
    use_batch = tr or not track
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, c) + (1,) * (x.ndim - 2)
    newb = b
    if use_batch:
        n = x.size // c
        check(n > 1, f"Expected more than 1 value per channel when training, got input size "
                     f"{x.shape}")
        check(eps > 0, "batch_norm: eps must be positive")
        mean = jnp.mean(x, axis=axes)
        var = jnp.mean(jnp.square(x - mean.reshape(shape)), axis=axes)
        if tr and track:
            newb = _running_update(kw, b, mean, var * (n / (n - 1)))
    else:
        mean, var = b["running_mean"].astype(x.dtype), b["running_var"].astype(x.dtype)
    y = (x - mean.reshape(shape)) / jnp.sqrt(var.reshape(shape) + eps)
    if "weight" in p:
        y = y * p["weight"].reshape(shape)
    if "bias" in p:
        y = y + p["bias"].reshape(shape)
    del name
    return (y,), newb


for _n in ("nn.BatchNorm1d", "nn.BatchNorm2d", "nn.BatchNorm3d", "nn.LazyBatchNorm1d",
           "nn.LazyBatchNorm2d", "nn.LazyBatchNorm3d"):
    op(_n)(lambda kw, p, b, xs, tr, ctx: _batch_norm(kw, p, b, xs[0], tr, ctx,
                                                      _bn_dims(ctx.op)))


def _instance_norm(kw, p, b, x, tr, ctx, nsp):
    check(x.ndim in (nsp + 1, nsp + 2), f"expected {nsp + 1}D or {nsp + 2}D input "
                                         f"(got {x.ndim}D input)")
    unbatched = x.ndim == nsp + 1
    if unbatched:
        x = x[None]
    c = x.shape[1]
    affine = "weight" in p
    if affine:
        check(p["weight"].shape[0] == c, f"expected input's size at dim=1 to match num_features "
                                         f"({p['weight'].shape[0]}), but got: {c}.")
    track = "running_mean" in b
    if track:
        check(b["running_mean"].shape[0] == c,
              f"running_mean should contain {c} elements not {b['running_mean'].shape[0]}")
    eps = kw.get("eps", 1e-5)
    use_input = tr or not track
    axes = tuple(range(2, x.ndim))
    newb = b
    if use_input:
        n = math.prod(x.shape[2:])
        check(n > 1, f"Expected more than 1 spatial element when training, got input size "
                     f"{x.shape}")
        mean = jnp.mean(x, axis=axes, keepdims=True)
        var = jnp.mean(jnp.square(x - mean), axis=axes, keepdims=True)
        if tr and track:  # F.instance_norm: momentum None -> 0.0, num_batches_tracked unused
            m2 = mean.reshape(x.shape[:2]).mean(axis=0)
            v2 = (var.reshape(x.shape[:2]) * (n / (n - 1))).mean(axis=0)
            f = kw.get("momentum", 0.1) or 0.0
            newb = dict(b)
            newb["running_mean"] = nodiff((1 - f) * b["running_mean"] + f * m2)
            newb["running_var"] = nodiff((1 - f) * b["running_var"] + f * v2)
    else:
        shape = (1, c) + (1,) * nsp
        mean = b["running_mean"].astype(x.dtype).reshape(shape)
        var = b["running_var"].astype(x.dtype).reshape(shape)
    y = (x - mean) / jnp.sqrt(var + eps)
    shape = (1, c) + (1,) * nsp
    if affine:
        y = y * p["weight"].reshape(shape)
    if "bias" in p:
        y = y + p["bias"].reshape(shape)
    return ((y[0] if unbatched else y),), newb


for _n, _k in (("nn.InstanceNorm1d", 1), ("nn.InstanceNorm2d", 2), ("nn.InstanceNorm3d", 3),
               ("nn.LazyInstanceNorm1d", 1), ("nn.LazyInstanceNorm2d", 2),
               ("nn.LazyInstanceNorm3d", 3)):
    op(_n)((lambda k: lambda kw, p, b, xs, tr, ctx: _instance_norm(kw, p, b, xs[0], tr, ctx,
                                                                   k))(_k))


@op("nn.LayerNorm")
def layer_norm(kw, p, b, xs, tr, ctx):
    x = xs[0]
    ns = kw["normalized_shape"]
    ns = (ns,) if isinstance(ns, int) else tuple(ns)
    k = len(ns)
    check(x.ndim >= k and tuple(x.shape[x.ndim - k:]) == ns,
          f"Given normalized_shape={list(ns)}, expected input with shape [*, "
          f"{', '.join(map(str, ns))}], but got input of size{list(x.shape)}")
    axes = tuple(range(x.ndim - k, x.ndim))
    mean = jnp.mean(x, axis=axes, keepdims=True)
    var = jnp.mean(jnp.square(x - mean), axis=axes, keepdims=True)
    y = (x - mean) / jnp.sqrt(var + kw.get("eps", 1e-5))
    if "weight" in p:
        y = y * p["weight"]
    if "bias" in p:
        y = y + p["bias"]
    return (y,)


@op("nn.GroupNorm")
def group_norm(kw, p, b, xs, tr, ctx):
    x = xs[0]
    g = kw["num_groups"]
    check(kw["num_channels"] % g == 0, "num_channels must be divisible by num_groups")
    check(x.ndim >= 2, f"Expected at least 2 dimensions for input tensor but received {x.ndim}")
    n, c = x.shape[:2]
    check(c % g == 0, f"Expected number of channels in input to be divisible by num_groups, "
                      f"but got input of shape {x.shape} and num_groups={g}")
    if "weight" in p:
        check(p["weight"].shape[0] == c, f"Expected weight to be a vector of size equal to the "
                                         f"number of channels in input, but got weight of shape "
                                         f"{p['weight'].shape} and input of shape {x.shape}")
    xg = x.reshape((n, g, -1))
    mean = jnp.mean(xg, axis=2, keepdims=True)
    var = jnp.mean(jnp.square(xg - mean), axis=2, keepdims=True)
    y = ((xg - mean) / jnp.sqrt(var + kw.get("eps", 1e-5))).reshape(x.shape)
    shape = (1, c) + (1,) * (x.ndim - 2)
    if "weight" in p:
        y = y * p["weight"].reshape(shape)
    if "bias" in p:
        y = y + p["bias"].reshape(shape)
    return (y,)


@op("nn.RMSNorm")
def rms_norm(kw, p, b, xs, tr, ctx):
    x = xs[0]
    ns = kw["normalized_shape"]
    ns = (ns,) if isinstance(ns, int) else tuple(ns)
    k = len(ns)
    check(x.ndim >= k and tuple(x.shape[x.ndim - k:]) == ns,
          f"Given normalized_shape={list(ns)}, expected input with shape [*, "
          f"{', '.join(map(str, ns))}], but got input of size{list(x.shape)}")
    eps = kw.get("eps")
    if eps is None:
        eps = float(jnp.finfo(x.dtype).eps)
    axes = tuple(range(x.ndim - k, x.ndim))
    y = x * jax_rsqrt(jnp.mean(jnp.square(x), axis=axes, keepdims=True) + eps)
    if "weight" in p:
        y = y * p["weight"]
    return (y,)


def jax_rsqrt(v):
    import jax
    return jax.lax.rsqrt(v)


@op("nn.LocalResponseNorm")
def local_response_norm(kw, p, b, xs, tr, ctx):
    """torch.nn.functional.local_response_norm: the mean of squares over a channel window of
    ``size`` (zero padded, size//2 before and (size-1)//2 after), (k + alpha * mean)^beta."""
    x = xs[0]
    check(x.ndim >= 3, f"Expected 3D or higher dimensionality input (got {x.ndim} dimensions)")
    size = kw["size"]
    alpha, beta, k = kw.get("alpha", 1e-4), kw.get("beta", 0.75), kw.get("k", 1.0)
    c = x.shape[1]
    sq = jnp.square(x)
    pad = [(0, 0)] * x.ndim
    pad[1] = (size // 2, (size - 1) // 2)
    sq = jnp.pad(sq, pad)
    win = sum(sq[:, i:i + c] for i in range(size)) / size
    return (x / (win * alpha + k) ** beta,)


# -- distances -----------------------------------------------------------------------------

def safe_norm(d, p, axis, keepdims=False):
    """||d||_p with torch's zero-gradient convention at d == 0 (jnp.linalg.norm's gradient
    there is NaN)."""
    if p == float("inf"):
        return jnp.max(jnp.abs(d), axis=axis, keepdims=keepdims)
    if p == float("-inf"):
        return jnp.min(jnp.abs(d), axis=axis, keepdims=keepdims)
    if p == 0:
        return jnp.sum((d != 0).astype(d.dtype), axis=axis, keepdims=keepdims)
    s = jnp.sum(jnp.abs(d) ** p if p != 2 else jnp.square(d), axis=axis, keepdims=keepdims)
    zero = s == 0
    s1 = jnp.where(zero, jnp.ones_like(s), s)
    return jnp.where(zero, jnp.zeros_like(s), s1 ** (1.0 / p) if p != 2 else jnp.sqrt(s1))


@op("nn.PairwiseDistance")
def pairwise_distance(kw, p, b, xs, tr, ctx):
    x1, x2 = xs[0], xs[1]
    pn, eps = kw.get("p", 2.0), kw.get("eps", 1e-6)
    nd = max(x1.ndim, x2.ndim)
    d = x1 - x2 + eps
    if nd == 0:
        d = d.reshape(1)
    out = safe_norm(d, pn, axis=-1, keepdims=kw.get("keepdim", False))
    return (out,)


@op("nn.CosineSimilarity")
def cosine_similarity(kw, p, b, xs, tr, ctx):
    x1, x2 = xs[0], xs[1]
    dim, eps = kw.get("dim", 1), kw.get("eps", 1e-8)
    x1, x2 = jnp.broadcast_arrays(x1, x2)
    d = canon_dim(dim, x1.ndim)
    n1 = jnp.maximum(safe_norm(x1, 2, axis=d, keepdims=True), eps)
    n2 = jnp.maximum(safe_norm(x2, 2, axis=d, keepdims=True), eps)
    return (jnp.sum((x1 / n1) * (x2 / n2), axis=d),)


# -- reshaping -----------------------------------------------------------------------------

@op("nn.PixelShuffle")
def pixel_shuffle(kw, p, b, xs, tr, ctx):
    x, r = xs[0], kw["upscale_factor"]
    check(x.ndim >= 3, "pixel_shuffle expects input to have at least 3 dimensions")
    c, h, w = x.shape[-3:]
    check(c % (r * r) == 0, "pixel_shuffle expects its input's 'channel' dimension to be "
                            "divisible by the square of upscale_factor")
    lead = x.shape[:-3]
    y = x.reshape(lead + (c // (r * r), r, r, h, w))
    n = len(lead)
    y = jnp.transpose(y, tuple(range(n)) + (n, n + 3, n + 1, n + 4, n + 2))
    return (y.reshape(lead + (c // (r * r), h * r, w * r)),)


@op("nn.PixelUnshuffle")
def pixel_unshuffle(kw, p, b, xs, tr, ctx):
    x, r = xs[0], kw["downscale_factor"]
    check(x.ndim >= 3, "pixel_unshuffle expects input to have at least 3 dimensions")
    c, h, w = x.shape[-3:]
    check(h % r == 0 and w % r == 0, "pixel_unshuffle expects height and width to be divisible "
                                     "by downscale_factor")
    lead = x.shape[:-3]
    n = len(lead)
    y = x.reshape(lead + (c, h // r, r, w // r, r))
    y = jnp.transpose(y, tuple(range(n)) + (n, n + 2, n + 4, n + 1, n + 3))
    return (y.reshape(lead + (c * r * r, h // r, w // r)),)


@op("nn.ChannelShuffle")
def channel_shuffle(kw, p, b, xs, tr, ctx):
    x, g = xs[0], kw["groups"]
    c = x.shape[1]
    check(c % g == 0, f"Number of channels must be divisible by groups. Got {c} channels and "
                      f"{g} groups.")
    y = x.reshape((x.shape[0], g, c // g) + x.shape[2:])
    y = jnp.swapaxes(y, 1, 2)
    return (y.reshape(x.shape),)


_ = np
