"""Convolutions (jax.lax.conv_general_dilated with NCH/NCHW/NCDHW dimension numbers: torch's
layout is kept at the adapter boundary), pooling, padding, fold/unfold and resampling.

Pooling gathers every window with static NumPy index arrays and reduces over the window axis
in jax.numpy: max-pooling takes the first maximum (or the last NaN) like torch, so the gradient
of a tie goes to one element (jax.lax.reduce_window_max's VJP would split it differently)."""

from __future__ import annotations

import math

from ._common import check, jax, jnp, np, ntuple
from .activations import op

_DN = {1: ("NCH", "OIH", "NCH"), 2: ("NCHW", "OIHW", "NCHW"), 3: ("NCDHW", "OIDHW", "NCDHW")}
_HI = jax.lax.Precision.HIGHEST


def _batch(x, nsp, what):
    check(x.ndim in (nsp + 1, nsp + 2), f"Expected {nsp + 1}D (unbatched) or {nsp + 2}D "
                                         f"(batched) input to {what}, but got input of size: "
                                         f"{list(x.shape)}")
    return (x[None], True) if x.ndim == nsp + 1 else (x, False)


_PAD_MODE = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def _conv(kw, p, xs, nsp, ctx):
    x, unb = _batch(xs[0], nsp, f"conv{nsp}d")
    w = p["weight"]
    g = kw.get("groups", 1)
    cin = kw.get("in_channels", w.shape[1] * g)
    check(cin % g == 0, "in_channels must be divisible by groups")
    check(w.shape[0] % g == 0, "out_channels must be divisible by groups")
    check(x.shape[1] == w.shape[1] * g,
          f"Given groups={g}, weight of size {list(w.shape)}, expected input{list(x.shape)} to "
          f"have {w.shape[1] * g} channels, but got {x.shape[1]} channels instead")
    k = w.shape[2:]
    s = ntuple(kw.get("stride", 1), nsp)
    d = ntuple(kw.get("dilation", 1), nsp)
    pad = kw.get("padding", 0)
    if pad == "same":
        check(all(v == 1 for v in s), "padding='same' is not supported for strided convolutions")
        pads = [((di * (ki - 1)) // 2, di * (ki - 1) - (di * (ki - 1)) // 2)
                for di, ki in zip(d, k)]
    elif pad == "valid":
        pads = [(0, 0)] * nsp
    else:
        pads = [(v, v) for v in ntuple(pad, nsp)]
    mode = kw.get("padding_mode", "zeros")
    check(mode in ("zeros", "reflect", "replicate", "circular"),
          f"padding_mode must be one of ['zeros', 'reflect', 'replicate', 'circular'], "
          f"but got padding_mode='{mode}'")
    for i in range(nsp):
        L = x.shape[2 + i] + pads[i][0] + pads[i][1]
        check(L >= d[i] * (k[i] - 1) + 1, f"Calculated padded input size per channel: {L}. "
                                          f"Kernel size: {k}. Kernel size can't be greater "
                                          f"than actual input size")
        if mode == "reflect":
            check(max(pads[i]) < x.shape[2 + i], "Padding size should be less than the "
                                                 "corresponding input dimension")
    if mode != "zeros":
        x = jnp.pad(x, [(0, 0), (0, 0)] + pads, mode=_PAD_MODE[mode])
        pads = [(0, 0)] * nsp
    y = jax.lax.conv_general_dilated(x, w, window_strides=s, padding=pads, rhs_dilation=d,
                                     dimension_numbers=_DN[nsp], feature_group_count=g,
                                     precision=_HI)
    if "bias" in p:
        y = y + p["bias"].reshape((1, -1) + (1,) * nsp)
    return (y[0] if unb else y,)


def _conv_transpose(kw, p, xs, nsp, ctx):
    x, unb = _batch(xs[0], nsp, f"conv_transpose{nsp}d")
    check(kw.get("padding_mode", "zeros") == "zeros",
          f'Only "zeros" padding mode is supported for ConvTranspose{nsp}d')
    w = p["weight"]  # (Cin, Cout / g, *k)
    g = kw.get("groups", 1)
    cin = w.shape[0]
    check(cin % g == 0, "in_channels must be divisible by groups")
    check(x.shape[1] == cin, f"Given transposed=1, weight of size {list(w.shape)}, expected "
                             f"input{list(x.shape)} to have {cin} channels, but got "
                             f"{x.shape[1]} channels instead")
    k = w.shape[2:]
    s = ntuple(kw.get("stride", 1), nsp)
    d = ntuple(kw.get("dilation", 1), nsp)
    pd = ntuple(kw.get("padding", 0), nsp)
    op_ = list(ntuple(kw.get("output_padding", 0), nsp))
    out_size = xs[1] if len(xs) > 1 else None
    if out_size is not None:
        out_size = list(out_size)[-nsp:]
        for i in range(nsp):
            lo = (x.shape[2 + i] - 1) * s[i] - 2 * pd[i] + d[i] * (k[i] - 1) + 1
            check(lo <= out_size[i] < lo + s[i],
                  f"requested an output size of {out_size}, but valid sizes range from {lo} to "
                  f"{lo + s[i] - 1}")
            op_[i] = out_size[i] - lo
    for i in range(nsp):
        check(op_[i] < s[i] or op_[i] < d[i], "output padding must be smaller than either "
                                              "stride or dilation")
    cout_g = w.shape[1]
    wt = w.reshape((g, cin // g, cout_g) + k)
    wt = jnp.swapaxes(wt, 1, 2).reshape((g * cout_g, cin // g) + k)
    wt = jnp.flip(wt, axis=tuple(range(2, 2 + nsp)))
    pads = [(d[i] * (k[i] - 1) - pd[i], d[i] * (k[i] - 1) - pd[i] + op_[i]) for i in range(nsp)]
    y = jax.lax.conv_general_dilated(x, wt, window_strides=(1,) * nsp, padding=pads,
                                     lhs_dilation=s, rhs_dilation=d,
                                     dimension_numbers=_DN[nsp], feature_group_count=g,
                                     precision=_HI)
    if "bias" in p:
        y = y + p["bias"].reshape((1, -1) + (1,) * nsp)
    return (y[0] if unb else y,)


for _k in (1, 2, 3):
    for _pre in ("nn.", "nn.Lazy"):
        op(f"{_pre}Conv{_k}d")((lambda n: lambda kw, p, b, xs, tr, ctx:
                                _conv(kw, p, xs, n, ctx))(_k))
        op(f"{_pre}ConvTranspose{_k}d")((lambda n: lambda kw, p, b, xs, tr, ctx:
                                         _conv_transpose(kw, p, xs, n, ctx))(_k))


# -- windows -------------------------------------------------------------------------------

def _out_len(L, k, s, p, d, ceil):
    num = L + 2 * p - d * (k - 1) - 1
    out = (-(-num // s) if ceil else num // s) + 1
    if ceil and (out - 1) * s >= L + p:
        out -= 1
    return out


def _combine(per_dim, sizes):
    """Per-dimension (positions (O_d, K_d), valid (O_d, K_d)) -> flat index (O, K), valid."""
    n = len(per_dim)
    idx = np.zeros((1,) * (2 * n), dtype=np.int64)
    val = np.ones((1,) * (2 * n), dtype=bool)
    stride = 1
    for dd in reversed(range(n)):
        pos, ok = per_dim[dd]
        shape = [1] * (2 * n)
        shape[dd], shape[n + dd] = pos.shape
        idx = idx + pos.reshape(shape) * stride
        val = val & ok.reshape(shape)
        stride *= sizes[dd]
    O = tuple(per_dim[dd][0].shape[0] for dd in range(n))
    K = tuple(per_dim[dd][0].shape[1] for dd in range(n))
    idx = np.broadcast_to(idx, O + K).reshape(math.prod(O), math.prod(K))
    val = np.broadcast_to(val, O + K).reshape(math.prod(O), math.prod(K))
    return np.where(val, idx, 0), val, O


def _gather(x, idx, val, fill):
    """x (N, C, *L) -> windows (N, C, O, K), ``fill`` outside the input."""
    xf = x.reshape(x.shape[:2] + (-1,))
    g = xf[:, :, idx]
    return jnp.where(val, g, jnp.asarray(fill, x.dtype))


def _pool_windows(x, nsp, kw, ceil_key="ceil_mode", dilation=True):
    k = ntuple(kw["kernel_size"], nsp)
    st = kw.get("stride")
    s = ntuple(st if st not in (None, (), []) else k, nsp)
    p = ntuple(kw.get("padding", 0), nsp)
    d = ntuple(kw.get("dilation", 1), nsp) if dilation else (1,) * nsp
    ceil = kw.get(ceil_key, False)
    for i in range(nsp):
        check(p[i] <= (d[i] * (k[i] - 1) + 1) // 2 and p[i] <= k[i] // 2,
              "pad should be at most half of effective kernel size")
    per = []
    for i in range(nsp):
        L = x.shape[2 + i]
        o = _out_len(L, k[i], s[i], p[i], d[i], ceil)
        check(o > 0, f"Given input size {x.shape}, calculated output size is too small")
        pos = np.arange(o)[:, None] * s[i] - p[i] + np.arange(k[i])[None, :] * d[i]
        per.append((pos, (pos >= 0) & (pos < L), (pos < L + p[i])))
    idx, val, O = _combine([(a, v) for a, v, _ in per], x.shape[2:])
    _, inpad, _ = _combine([(a, w) for a, _, w in per], x.shape[2:])
    return idx, val, inpad, O, k


def _window_argmax(g):
    """The window position torch's max-pool scan keeps (``val > maxval || isnan(val)``, aten
    max_pool and adaptive_max_pool kernels): the first maximum, or the last NaN where the
    window holds one (jnp.argmax takes the first NaN)."""
    nan = jnp.isnan(g)
    last_nan = g.shape[-1] - 1 - jnp.argmax(nan[..., ::-1], axis=-1)
    return jnp.where(jnp.any(nan, axis=-1), last_nan, jnp.argmax(g, axis=-1))


def _max_pool(kw, xs, nsp):
    x, unb = _batch(xs[0], nsp, f"max_pool{nsp}d")
    idx, val, _, O, _ = _pool_windows(x, nsp, kw)
    g = _gather(x, idx, val, -jnp.inf)
    am = _window_argmax(g)
    y = jnp.take_along_axis(g, am[..., None], axis=-1)[..., 0]
    y = y.reshape(x.shape[:2] + O)
    flat = jnp.asarray(idx)[jnp.arange(idx.shape[0])[None, None, :], am].reshape(y.shape)
    if unb:
        y, flat = y[0], flat[0]
    return (y, flat.astype(jnp.int64)) if kw.get("return_indices") else (y,)


def _avg_pool(kw, xs, nsp):
    x, unb = _batch(xs[0], nsp, f"avg_pool{nsp}d")
    idx, val, inpad, O, k = _pool_windows(x, nsp, kw, dilation=False)
    dv = kw.get("divisor_override")
    check(dv != 0, "divisor must be not zero")
    g = _gather(x, idx, val, 0.0)
    total = jnp.sum(g, axis=-1)
    if dv:
        div = np.full(idx.shape[0], float(dv))
    elif kw.get("count_include_pad", True):
        div = inpad.sum(axis=1).astype(np.float64)
    else:
        div = val.sum(axis=1).astype(np.float64)
    y = (total / jnp.asarray(div, x.dtype)).reshape(x.shape[:2] + O)
    return (y[0] if unb else y,)


def _lp_pool(kw, xs, nsp):
    """torch's lp_pool: avg_pool of x^p, sign(out) * relu(|out|), times the window size, to
    the power 1/p; norm_type +-inf is +-max_pool(+-|x|) (torch/nn/functional.py lp_pool*d)."""
    pn = kw["norm_type"]
    x = xs[0]
    if pn in (math.inf, -math.inf):
        s = 1.0 if pn > 0 else -1.0
        mkw = dict(kernel_size=kw["kernel_size"], stride=kw.get("stride"), padding=0,
                   dilation=1, ceil_mode=kw.get("ceil_mode", False))
        (out,) = _max_pool(mkw, (s * jnp.abs(x),), nsp)
        return (s * out,)
    kk = ntuple(kw["kernel_size"], nsp)
    akw = dict(kernel_size=kw["kernel_size"], stride=kw.get("stride"), padding=0,
               ceil_mode=kw.get("ceil_mode", False))
    (out,) = _avg_pool(akw, (x ** pn,), nsp)
    out = jnp.sign(out) * jax.nn.relu(jnp.abs(out))
    return ((out * math.prod(kk)) ** (1.0 / pn),)


for _k in (1, 2, 3):
    op(f"nn.MaxPool{_k}d")((lambda n: lambda kw, p, b, xs, tr, ctx: _max_pool(kw, xs, n))(_k))
    op(f"nn.AvgPool{_k}d")((lambda n: lambda kw, p, b, xs, tr, ctx: _avg_pool(kw, xs, n))(_k))
    op(f"nn.LPPool{_k}d")((lambda n: lambda kw, p, b, xs, tr, ctx: _lp_pool(kw, xs, n))(_k))


def _adaptive_windows(x, nsp, out_size):
    out = ntuple(out_size, nsp)
    per = []
    for i in range(nsp):
        L = x.shape[2 + i]
        o = L if out[i] is None else out[i]
        st = np.array([(j * L) // o for j in range(o)])
        en = np.array([-(-((j + 1) * L) // o) for j in range(o)])
        K = int((en - st).max())
        pos = st[:, None] + np.arange(K)[None, :]
        per.append((np.minimum(pos, L - 1), pos < en[:, None]))
    idx, val, O = _combine(per, x.shape[2:])
    return idx, val, O


def _adaptive_max(kw, xs, nsp):
    x, unb = _batch(xs[0], nsp, f"adaptive_max_pool{nsp}d")
    idx, val, O = _adaptive_windows(x, nsp, kw["output_size"])
    g = _gather(x, idx, val, -jnp.inf)
    am = _window_argmax(g)
    y = jnp.take_along_axis(g, am[..., None], axis=-1)[..., 0].reshape(x.shape[:2] + O)
    flat = jnp.asarray(idx)[jnp.arange(idx.shape[0])[None, None, :], am].reshape(y.shape)
    if unb:
        y, flat = y[0], flat[0]
    return (y, flat.astype(jnp.int64)) if kw.get("return_indices") else (y,)


def _adaptive_avg(kw, xs, nsp):
    x, unb = _batch(xs[0], nsp, f"adaptive_avg_pool{nsp}d")
    idx, val, O = _adaptive_windows(x, nsp, kw["output_size"])
    g = _gather(x, idx, val, 0.0)
    y = (jnp.sum(g, axis=-1) / jnp.asarray(val.sum(axis=1), x.dtype)).reshape(x.shape[:2] + O)
    return (y[0] if unb else y,)


for _k in (1, 2, 3):
    op(f"nn.AdaptiveMaxPool{_k}d")((lambda n: lambda kw, p, b, xs, tr, ctx:
                                    _adaptive_max(kw, xs, n))(_k))
    op(f"nn.AdaptiveAvgPool{_k}d")((lambda n: lambda kw, p, b, xs, tr, ctx:
                                    _adaptive_avg(kw, xs, n))(_k))


def _max_unpool(kw, xs, nsp):
    x, unb = _batch(xs[0], nsp, f"max_unpool{nsp}d")
    ind = xs[1][None] if unb else xs[1]
    check(ind.shape == x.shape, "Expected shape of indices to be same as that of the input "
                                "tensor")
    k = ntuple(kw["kernel_size"], nsp)
    st = kw.get("stride")
    s = ntuple(st if st is not None else k, nsp)
    p = ntuple(kw.get("padding", 0), nsp)
    default = [(x.shape[2 + i] - 1) * s[i] - 2 * p[i] + k[i] for i in range(nsp)]
    out = xs[2] if len(xs) > 2 and xs[2] is not None else None
    if out is not None:
        out = list(out)[-nsp:]
        for i in range(nsp):
            check(default[i] - s[i] < out[i] < default[i] + s[i],
                  f"invalid output_size {out} (dim {i} must be between "
                  f"{default[i] - s[i]} and {default[i] + s[i]})")
    else:
        out = default
    P = math.prod(out)
    fi = np.asarray(ind).reshape(x.shape[:2] + (-1,))
    check(bool(np.all((fi >= 0) & (fi < P))), f"Found an invalid max index: out of bounds "
                                              f"for output size {out}")
    nn_, cc = np.meshgrid(np.arange(x.shape[0]), np.arange(x.shape[1]), indexing="ij")
    y = jnp.zeros(x.shape[:2] + (P,), x.dtype)
    y = y.at[nn_[..., None], cc[..., None], fi].set(x.reshape(x.shape[:2] + (-1,)))
    y = y.reshape(x.shape[:2] + tuple(out))
    return (y[0] if unb else y,)


for _k in (1, 2, 3):
    op(f"nn.MaxUnpool{_k}d")((lambda n: lambda kw, p, b, xs, tr, ctx:
                              _max_unpool(kw, xs, n))(_k))


# -- padding -------------------------------------------------------------------------------

def _pad(kw, xs, nsp, mode):
    x = xs[0]
    check(x.ndim in (nsp + 1, nsp + 2), f"Expected {nsp + 1}D or {nsp + 2}D (batch mode) tensor "
                                         f"for padding, got {x.ndim}D")
    pad = kw["padding"]
    pad = (pad,) * (2 * nsp) if isinstance(pad, int) else tuple(pad)
    lead = x.ndim - nsp
    crop = [slice(None)] * x.ndim
    widths = [(0, 0)] * x.ndim
    for i in range(nsp):
        a = x.ndim - 1 - i
        lft, rgt = pad[2 * i], pad[2 * i + 1]
        L = x.shape[a]
        crop[a] = slice(max(-lft, 0), L - max(-rgt, 0))
        widths[a] = (max(lft, 0), max(rgt, 0))
        if mode == "reflect":
            check(lft < L and rgt < L, f"Argument #4: Padding size should be less than the "
                                       f"corresponding input dimension, but got: padding "
                                       f"({lft}, {rgt}) at dimension {a} of input {x.shape}")
        if mode == "wrap":
            check(lft <= L and rgt <= L, "Padding value causes wrapping around more than once.")
    del lead
    y = x[tuple(crop)]
    if mode == "constant":
        return (jnp.pad(y, widths, mode="constant", constant_values=kw.get("value", 0.0)),)
    if mode in ("reflect", "edge"):
        outs = [y.shape[a] + widths[a][0] + widths[a][1] for a in range(x.ndim - nsp, x.ndim)]
        check(any(o > 0 for o in outs), f"input {x.shape} is too small. Calculated output "
                                        f"{outs}")
    return (jnp.pad(y, widths, mode=mode),)


for _k in (1, 2, 3):
    for _name, _mode in (("ConstantPad", "constant"), ("ZeroPad", "constant"),
                         ("ReflectionPad", "reflect"), ("ReplicationPad", "edge"),
                         ("CircularPad", "wrap")):
        op(f"nn.{_name}{_k}d")((lambda n, m: lambda kw, p, b, xs, tr, ctx:
                                _pad(kw, xs, n, m))(_k, _mode))


# -- fold / unfold -------------------------------------------------------------------------

def _unfold_index(sizes, kw):
    k = ntuple(kw["kernel_size"], 2)
    d = ntuple(kw.get("dilation", 1), 2)
    p = ntuple(kw.get("padding", 0), 2)
    s = ntuple(kw.get("stride", 1), 2)
    per = []
    for i in range(2):
        o = (sizes[i] + 2 * p[i] - d[i] * (k[i] - 1) - 1) // s[i] + 1
        check(o > 0, f"Given input with spatial size {tuple(sizes)}, kernel_size={k}, "
                     f"dilation={d}, padding={p}, calculated shape of the array of sliding "
                     f"blocks is non-positive; it is too small")
        pos = np.arange(o)[:, None] * s[i] - p[i] + np.arange(k[i])[None, :] * d[i]
        per.append((pos, (pos >= 0) & (pos < sizes[i])))
    idx, val, O = _combine(per, sizes)
    return idx, val, O, k


@op("nn.Unfold")
def unfold(kw, p, b, xs, tr, ctx):
    x = xs[0]
    check(x.ndim in (3, 4), f"Input Error: Only 3D or 4D input Tensors are supported (got "
                            f"{x.ndim}D)")
    unb = x.ndim == 3
    if unb:
        x = x[None]
    idx, val, O, k = _unfold_index(x.shape[2:], kw)
    g = _gather(x, idx, val, 0.0)  # (N, C, L, K)
    y = jnp.swapaxes(g, 2, 3).reshape((x.shape[0], x.shape[1] * idx.shape[1], idx.shape[0]))
    return (y[0] if unb else y,)


@op("nn.Fold")
def fold(kw, p, b, xs, tr, ctx):
    x = xs[0]
    check(x.ndim in (2, 3), f"Expected 2D or 3D (batch mode) tensor for input with possibly 0 "
                            f"batch size and non-zero dimensions for input, but got: {x.shape}")
    unb = x.ndim == 2
    if unb:
        x = x[None]
    size = ntuple(kw["output_size"], 2)
    idx, val, O, k = _unfold_index(size, kw)
    K = idx.shape[1]
    check(x.shape[1] % K == 0, f"Expected size of input's dimension 1 to be divisible by the "
                               f"product of kernel_size, but got input.size(1)={x.shape[1]} and "
                               f"kernel_size={k}")
    check(x.shape[2] == idx.shape[0], f"Given output_size={size}, kernel_size={k}, expected "
                                      f"size of input's dimension 2 to match the calculated "
                                      f"number of sliding blocks {idx.shape[0]}, but got "
                                      f"input.size(2)={x.shape[2]}.")
    c = x.shape[1] // K
    v = jnp.swapaxes(x.reshape((x.shape[0], c, K, -1)), 2, 3)  # (N, C, L, K)
    v = jnp.where(val, v, jnp.zeros((), x.dtype))
    y = jnp.zeros((x.shape[0], c, math.prod(size)), x.dtype).at[:, :, idx].add(v)
    y = y.reshape((x.shape[0], c) + size)
    return (y[0] if unb else y,)


# -- resampling ----------------------------------------------------------------------------

def _src_scale(L, O, align, scale):
    if align:
        return (L - 1) / (O - 1) if O > 1 else 0.0
    return 1.0 / scale if scale is not None and scale > 0 else L / O


def _cubic_w(t, a=-0.75):
    def c1(x):
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def c2(x):
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    return [c2(t + 1), c1(t), c1(1 - t), c2(2 - t)]


def _aa_taps(L, O, sc, kind):
    """torch's antialiased (PIL-style) separable filter for downsampling."""
    interp = 2 if kind == "linear" else 4
    support = (interp / 2) * sc if sc >= 1 else interp / 2
    inv = 1 / sc if sc >= 1 else 1.0

    def filt(x):
        x = abs(x)
        if kind == "linear":
            return max(0.0, 1 - x)
        a = -0.5
        if x < 1:
            return ((a + 2) * x - (a + 3)) * x * x + 1
        if x < 2:
            return (((x - 5) * x + 8) * x - 4) * a
        return 0.0
    rows = []
    for i in range(O):
        center = sc * (i + 0.5)
        xmin = max(int(center - support + 0.5), 0)
        xmax = min(int(center + support + 0.5), L)
        w = [filt((j + xmin - center + 0.5) * inv) for j in range(xmax - xmin)]
        tot = sum(w)
        rows.append([(xmin + j, wj / tot if tot else 0.0) for j, wj in enumerate(w)])
    T = max(len(r) for r in rows)
    idx = np.zeros((O, T), dtype=np.int64)
    wts = np.zeros((O, T))
    for i, r in enumerate(rows):
        for t, (j, wj) in enumerate(r):
            idx[i, t], wts[i, t] = j, wj
    return idx, wts


def _taps(L, O, mode, align, scale, antialias):
    """(index (O, T), weight (O, T)) of one axis, with torch's source-index arithmetic."""
    sc = _src_scale(L, O, align, scale)
    dst = np.arange(O, dtype=np.float64)
    if mode == "nearest" and O in (L, 2 * L):  # torch's adjoint shortcuts (UpSample.h)
        return (np.arange(O) // (O // L))[:, None], np.ones((O, 1))
    if mode == "nearest":
        src = np.minimum(np.floor(dst * sc).astype(np.int64), L - 1)
        return src[:, None], np.ones((O, 1))
    if mode == "nearest-exact":
        src = np.minimum(np.floor((dst + 0.5) * sc).astype(np.int64), L - 1)
        return src[:, None], np.ones((O, 1))
    if mode == "area":
        st = np.array([(j * L) // O for j in range(O)])
        en = np.array([-(-((j + 1) * L) // O) for j in range(O)])
        K = int((en - st).max())
        pos = st[:, None] + np.arange(K)[None, :]
        ok = pos < en[:, None]
        return np.minimum(pos, L - 1), ok / (en - st)[:, None]
    kind = "cubic" if mode == "bicubic" else "linear"
    if antialias and sc > 1:
        return _aa_taps(L, O, sc, kind)
    src = dst * sc if align else (dst + 0.5) * sc - 0.5
    if kind == "linear":
        if not align:
            src = np.maximum(src, 0.0)
        i0 = np.floor(src).astype(np.int64)
        i0 = np.minimum(i0, L - 1)
        i1 = np.minimum(i0 + 1, L - 1)
        lam = src - i0
        return np.stack([i0, i1], 1), np.stack([1 - lam, lam], 1)
    i0 = np.floor(src).astype(np.int64)
    t = src - i0
    idx = np.stack([np.clip(i0 + o, 0, L - 1) for o in (-1, 0, 1, 2)], 1)
    return idx, np.stack(_cubic_w(t), 1)


_MODE_RANK = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}


def interpolate_fn(x, size=None, scale_factor=None, mode="nearest", align_corners=None,
                   recompute_scale_factor=None, antialias=False):
    nsp = x.ndim - 2
    check(nsp >= 1, f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {x.ndim}D)")
    check(mode in ("nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear",
                   "area"), f"Input Error: mode {mode} is not supported")
    if mode in _MODE_RANK:
        check(_MODE_RANK[mode] == nsp, f"Got {x.ndim}D input, but {mode} mode needs "
                                       f"{_MODE_RANK[mode] + 2}D input")
    else:
        check(align_corners is None, "align_corners option can only be set with the "
                                     "interpolating modes: linear | bilinear | bicubic | "
                                     "trilinear")
        check(nsp <= 3, "Input Error: Only 3D, 4D and 5D input Tensors supported")
    check((size is None) != (scale_factor is None), "only one of size or scale_factor should "
                                                    "be defined")
    check(not antialias or mode in ("bilinear", "bicubic"), "Anti-alias option is restricted "
                                                            "to bilinear and bicubic modes")
    if size is not None:
        out = list(ntuple(size, nsp))
        check(len(out) == nsp, f"Input and output must have the same number of spatial "
                               f"dimensions, but got input with spatial dimensions of "
                               f"{list(x.shape[2:])} and output size of {size}.")
        scales = [None] * nsp
    else:
        sf = list(ntuple(scale_factor, nsp))
        check(len(sf) == nsp, f"Input and scale_factor must have the same number of spatial "
                              f"dimensions, but got input with spatial dimensions of "
                              f"{list(x.shape[2:])} and scale_factor of shape {scale_factor}.")
        out = [int(math.floor(float(x.shape[2 + i]) * sf[i])) for i in range(nsp)]
        scales = [None] * nsp if recompute_scale_factor else sf
    align = bool(align_corners) if mode in _MODE_RANK else False
    y = x
    for i in range(nsp):
        L = x.shape[2 + i]
        check(out[i] > 0 and L > 0, f"Input and output sizes should be greater than 0, but got "
                                    f"input ({L}) and output ({out[i]})")
        idx, w = _taps(L, out[i], mode, align, scales[i], antialias)
        a = 2 + i
        g = jnp.take(y, jnp.asarray(idx.reshape(-1)), axis=a)
        g = g.reshape(y.shape[:a] + idx.shape + y.shape[a + 1:])
        wj = jnp.asarray(w, y.dtype).reshape((1,) * a + w.shape + (1,) * (y.ndim - a - 1))
        y = jnp.sum(g * wj, axis=a + 1) if idx.shape[1] > 1 else (g * wj)[(slice(None),) * (a + 1) + (0,)]
    return y


@op("nn.functional.interpolate")
def interpolate(kw, p, b, xs, tr, ctx):
    return (interpolate_fn(xs[0], **kw),)


@op("nn.Upsample")
def upsample(kw, p, b, xs, tr, ctx):
    return (interpolate_fn(xs[0], size=kw.get("size"), scale_factor=kw.get("scale_factor"),
                           mode=kw.get("mode", "nearest"),
                           align_corners=kw.get("align_corners"),
                           recompute_scale_factor=kw.get("recompute_scale_factor")),)


@op("nn.UpsamplingNearest2d")
def upsampling_nearest2d(kw, p, b, xs, tr, ctx):
    return (interpolate_fn(xs[0], size=kw.get("size"), scale_factor=kw.get("scale_factor"),
                           mode="nearest"),)


@op("nn.UpsamplingBilinear2d")
def upsampling_bilinear2d(kw, p, b, xs, tr, ctx):
    return (interpolate_fn(xs[0], size=kw.get("size"), scale_factor=kw.get("scale_factor"),
                           mode="bilinear", align_corners=True),)
