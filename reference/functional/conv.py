"""Convolution, transposed convolution, fold/unfold, written once for N spatial dims.

Semantics: torch.nn.functional.conv{1,2,3}d, conv_transpose{1,2,3}d, fold, unfold docs and
torch/nn/modules/conv.py, torch/nn/modules/fold.py.

Layouts (torch): input ``(N, C_in, *S)`` (or unbatched ``(C_in, *S)``), conv weight
``(C_out, C_in/groups, *k)``, transposed-conv weight ``(C_in, C_out/groups, *k)``.

Convolution (cross-correlation, no kernel flip), per spatial dim with padded input ``xp``::

    y[n, o, i] = b[o] + sum_{c in group(o), j} xp[n, c, s*i + d*j] * w[o, c - g0, j]
    out = floor((S + pad_l + pad_r - d*(k-1) - 1) / s) + 1

It is computed im2col-style: ``cols[n, c, j, i] = xp[n, c, s*i + d*j]`` (one strided slice per
kernel offset ``j``), then one batched matmul per group. The VJP w.r.t. the input is the adjoint:
``w^T g`` scattered back by col2im (one strided slice-add per kernel offset).

Transposed convolution is *defined* as that adjoint (torch docs: "the gradient of Conv w.r.t. its
input"), with output size ``(S-1)*s - 2p + d*(k-1) + output_padding + 1``; its input-VJP is the
plain convolution of the cotangent.

``padding`` may be an int, a tuple, ``'valid'`` (0) or ``'same'`` (total ``d*(k-1)``, the odd
extra on the right, as torch/TF; strided 'same' raises).
"""

from __future__ import annotations

from math import prod

import numpy as np

__all__ = [f"{name}{n}d{suffix}" for name in ("conv", "conv_transpose") for n in (1, 2, 3)
           for suffix in ("", "_backward")]
__all__ += ["unfold", "unfold_backward", "fold", "fold_backward"]


# ----------------------------------------------------------------------------- helpers

def _ntuple(v, n: int, name: str = "argument") -> tuple[int, ...]:
    if isinstance(v, (tuple, list)):
        if len(v) == 1:
            v = tuple(v) * n
        if len(v) != n:
            raise RuntimeError(f"expected {name} to be a single integer value or a list of {n} "
                               f"values to match the convolution dimensions, but got "
                               f"{name}={list(v)}")
        return tuple(int(a) for a in v)
    return (int(v),) * n


def _resolve_padding(padding, n, kernel, dilation, stride) -> list[tuple[int, int]]:
    """(left, right) per spatial dim. 'same' puts the odd extra on the right (torch, TF)."""
    if isinstance(padding, str):
        if padding == "valid":
            return [(0, 0)] * n
        if padding == "same":
            if any(s != 1 for s in stride):
                raise ValueError("padding='same' is not supported for strided convolutions")
            out = []
            for k, d in zip(kernel, dilation):
                total = d * (k - 1)
                out.append((total // 2, total - total // 2))
            return out
        raise ValueError(f"Invalid padding string {padding!r}, should be one of "
                         f"{{'valid', 'same'}}")
    p = _ntuple(padding, n, "padding")
    if any(v < 0 for v in p):
        raise RuntimeError("negative padding is not supported")
    return [(v, v) for v in p]


def _zero_pad(x: np.ndarray, pads) -> np.ndarray:
    return np.pad(x, [(0, 0), (0, 0)] + [tuple(p) for p in pads])


def _out_size(size, k, s, d, pl, pr) -> int:
    return (size + pl + pr - d * (k - 1) - 1) // s + 1


def _offset_slices(off, stride, dilation, out):
    """Slices picking xp[s*i + d*j] for i in range(out), for kernel offset j (per dim)."""
    return (slice(None), slice(None)) + tuple(
        slice(j * d, j * d + s * (m - 1) + 1, s) for j, d, s, m in zip(off, dilation, stride, out))


def _im2col(xp: np.ndarray, kernel, stride, dilation, out) -> np.ndarray:
    """cols[n, c, *j, *i] = xp[n, c, *(s*i + d*j)], shape (N, C, *kernel, *out)."""
    cols = np.zeros(xp.shape[:2] + tuple(kernel) + tuple(out), dtype=xp.dtype)
    for off in np.ndindex(*kernel):
        cols[(slice(None), slice(None)) + off] = xp[_offset_slices(off, stride, dilation, out)]
    return cols


def _col2im(cols: np.ndarray, padded_spatial, kernel, stride, dilation) -> np.ndarray:
    """Adjoint of ``_im2col``: sum every column entry back onto the position it was read from."""
    n = len(kernel)
    out = cols.shape[2 + n:]
    xp = np.zeros(cols.shape[:2] + tuple(padded_spatial), dtype=cols.dtype)
    for off in np.ndindex(*kernel):
        xp[_offset_slices(off, stride, dilation, out)] += cols[(slice(None), slice(None)) + off]
    return xp


def _batched(x: np.ndarray, n: int, name: str):
    if x.ndim == n + 2:
        return x, False
    if x.ndim == n + 1:
        return x[None], True
    raise RuntimeError(f"Expected {n + 1}D (unbatched) or {n + 2}D (batched) input to {name}, "
                       f"but got input of size: {list(x.shape)}")


def _grouped_cols(xp, kernel, stride, dilation, out, groups):
    """im2col reshaped for a per-group matmul: (N, G, C/G * prod(k), prod(out))."""
    cols = _im2col(xp, kernel, stride, dilation, out)
    N, C = xp.shape[:2]
    return cols.reshape(N, groups, (C // groups) * prod(kernel), prod(out))


def _check_weight(x, weight, groups, n, transposed, name):
    if weight.ndim != n + 2:
        raise RuntimeError(f"Expected {n + 2}-dimensional weight for {name}, but got "
                           f"{weight.ndim}-dimensional weight of size {list(weight.shape)}")
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    C = x.shape[1]
    if not transposed:
        if weight.shape[0] % groups != 0:
            raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by "
                               f"{groups} at dimension 0, but got weight of size "
                               f"{list(weight.shape)} instead")
        if C != weight.shape[1] * groups:
            raise RuntimeError(f"Given groups={groups}, weight of size {list(weight.shape)}, "
                               f"expected input{list(x.shape)} to have {weight.shape[1] * groups} "
                               f"channels, but got {C} channels instead")
    else:
        if C != weight.shape[0]:
            raise RuntimeError(f"Given transposed=1, weight of size {list(weight.shape)}, "
                               f"expected input{list(x.shape)} to have {weight.shape[0]} "
                               f"channels, but got {C} channels instead")
        if C % groups != 0:
            raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by "
                               f"{groups} at dimension 0, but got weight of size "
                               f"{list(weight.shape)} instead")


def _conv_setup(input, weight, stride, padding, dilation, groups, n, name):
    x, unbatched = _batched(input, n, name)
    _check_weight(x, weight, groups, n, False, name)
    kernel = tuple(weight.shape[2:])
    stride = _ntuple(stride, n, "stride")
    dilation = _ntuple(dilation, n, "dilation")
    if any(s <= 0 for s in stride):
        raise RuntimeError("non-positive stride is not supported")
    if any(d <= 0 for d in dilation):
        raise RuntimeError("dilation should be greater than zero")
    pads = _resolve_padding(padding, n, kernel, dilation, stride)
    padded = [S + pl + pr for S, (pl, pr) in zip(x.shape[2:], pads)]
    eff = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]
    if any(p < e for p, e in zip(padded, eff)):
        raise RuntimeError(f"Calculated padded input size per channel: "
                           f"({' x '.join(map(str, padded))}). Kernel size: "
                           f"({' x '.join(map(str, eff))}). Kernel size can't be greater than "
                           f"actual input size")
    out = tuple(_out_size(S, k, s, d, pl, pr)
                for S, k, s, d, (pl, pr) in zip(x.shape[2:], kernel, stride, dilation, pads))
    return x, unbatched, kernel, stride, dilation, pads, out


def _convnd(n, input, weight, bias, stride, padding, dilation, groups):
    x, unbatched, kernel, stride, dilation, pads, out = _conv_setup(
        input, weight, stride, padding, dilation, groups, n, f"conv{n}d")
    N, O = x.shape[0], weight.shape[0]
    cols = _grouped_cols(_zero_pad(x, pads), kernel, stride, dilation, out, groups)
    wg = weight.reshape(groups, O // groups, -1)
    y = np.matmul(wg, cols).reshape((N, O) + out)
    if bias is not None:
        y = y + bias.reshape((1, O) + (1,) * n)
    return y[0] if unbatched else y


def _convnd_backward(n, grad_output, input, weight, bias, stride, padding, dilation, groups):
    x, unbatched, kernel, stride, dilation, pads, out = _conv_setup(
        input, weight, stride, padding, dilation, groups, n, f"conv{n}d")
    g = grad_output[None] if unbatched else grad_output
    N, C = x.shape[:2]
    O = weight.shape[0]
    xp = _zero_pad(x, pads)
    cols = _grouped_cols(xp, kernel, stride, dilation, out, groups)
    gg = g.reshape(N, groups, O // groups, prod(out))
    wg = weight.reshape(groups, O // groups, -1)
    grad_weight = np.matmul(gg, np.swapaxes(cols, -1, -2)).sum(axis=0).reshape(weight.shape)
    gcols = np.matmul(np.swapaxes(wg, -1, -2), gg).reshape((N, C) + kernel + out)
    gxp = _col2im(gcols, xp.shape[2:], kernel, stride, dilation)
    grad_input = gxp[(slice(None), slice(None)) + tuple(
        slice(pl, pl + S) for (pl, _), S in zip(pads, x.shape[2:]))]
    grad_bias = g.sum(axis=(0,) + tuple(range(2, n + 2))) if bias is not None else None
    return (grad_input[0] if unbatched else grad_input), grad_weight, grad_bias


def _tconv_setup(input, weight, stride, padding, output_padding, groups, dilation, n, name):
    x, unbatched = _batched(input, n, name)
    _check_weight(x, weight, groups, n, True, name)
    kernel = tuple(weight.shape[2:])
    stride = _ntuple(stride, n, "stride")
    dilation = _ntuple(dilation, n, "dilation")
    if isinstance(padding, str):
        raise RuntimeError(f"{name}: padding must be an int or a tuple of ints, not a string")
    pad = _ntuple(padding, n, "padding")
    opad = _ntuple(output_padding, n, "output_padding")
    if any(s <= 0 for s in stride):
        raise RuntimeError("non-positive stride is not supported")
    if any(d <= 0 for d in dilation):
        raise RuntimeError("dilation should be greater than zero")
    if any(p < 0 for p in pad) or any(p < 0 for p in opad):
        raise RuntimeError("negative padding is not supported")
    if any(op >= s and op >= d for op, s, d in zip(opad, stride, dilation)):
        raise RuntimeError(f"output padding must be smaller than either stride or dilation, but "
                           f"got output_padding={list(opad)}, stride={list(stride)}, "
                           f"dilation={list(dilation)}")
    out = tuple((S - 1) * s - 2 * p + d * (k - 1) + op + 1
                for S, s, p, d, k, op in zip(x.shape[2:], stride, pad, dilation, kernel, opad))
    if any(o <= 0 for o in out):
        raise RuntimeError(f"Given input size per channel: {list(x.shape[2:])}. Calculated output "
                           f"size per channel: {list(out)}. Output size is too small")
    return x, unbatched, kernel, stride, dilation, pad, out


def _conv_transposend(n, input, weight, bias, stride, padding, output_padding, groups, dilation):
    x, unbatched, kernel, stride, dilation, pad, out = _tconv_setup(
        input, weight, stride, padding, output_padding, groups, dilation, n,
        f"conv_transpose{n}d")
    N, Cin = x.shape[:2]
    Cout = weight.shape[1] * groups
    xg = x.reshape(N, groups, Cin // groups, prod(x.shape[2:]))
    wg = weight.reshape(groups, Cin // groups, -1)
    cols = np.matmul(np.swapaxes(wg, -1, -2), xg).reshape((N, Cout) + kernel + x.shape[2:])
    padded = tuple(o + 2 * p for o, p in zip(out, pad))
    yp = _col2im(cols, padded, kernel, stride, dilation)
    y = yp[(slice(None), slice(None)) + tuple(slice(p, p + o) for p, o in zip(pad, out))]
    if bias is not None:
        y = y + bias.reshape((1, Cout) + (1,) * n)
    return y[0] if unbatched else y


def _conv_transposend_backward(n, grad_output, input, weight, bias, stride, padding,
                               output_padding, groups, dilation):
    x, unbatched, kernel, stride, dilation, pad, out = _tconv_setup(
        input, weight, stride, padding, output_padding, groups, dilation, n,
        f"conv_transpose{n}d")
    g = grad_output[None] if unbatched else grad_output
    N, Cin = x.shape[:2]
    insz = x.shape[2:]
    # The input-VJP is the plain convolution of g (same stride, padding, dilation), read at the
    # input's size (when output_padding >= stride the convolution would give extra positions).
    cols = _grouped_cols(_zero_pad(g, [(p, p) for p in pad]), kernel, stride, dilation, insz,
                         groups)
    wg = weight.reshape(groups, Cin // groups, -1)
    grad_input = np.matmul(wg, cols).reshape(x.shape)
    xg = x.reshape(N, groups, Cin // groups, prod(insz))
    grad_weight = np.matmul(xg, np.swapaxes(cols, -1, -2)).sum(axis=0).reshape(weight.shape)
    grad_bias = g.sum(axis=(0,) + tuple(range(2, n + 2))) if bias is not None else None
    return (grad_input[0] if unbatched else grad_input), grad_weight, grad_bias


# ----------------------------------------------------------------------------- public API

def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D cross-correlation (see module docstring): y = b + sum_{c,j} xp[c, s*i + d*j] w[o,c,j]."""
    return _convnd(1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D cross-correlation (see module docstring)."""
    return _convnd(2, input, weight, bias, stride, padding, dilation, groups)


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """3-D cross-correlation (see module docstring)."""
    return _convnd(3, input, weight, bias, stride, padding, dilation, groups)


def conv1d_backward(grad_output, input, weight, bias=None, stride=1, padding=0, dilation=1,
                    groups=1):
    """VJP of conv1d: (dx = col2im(W^T g), dW = sum_n g cols^T, db = sum g)."""
    return _convnd_backward(1, grad_output, input, weight, bias, stride, padding, dilation,
                            groups)


def conv2d_backward(grad_output, input, weight, bias=None, stride=1, padding=0, dilation=1,
                    groups=1):
    """VJP of conv2d: (dx = col2im(W^T g), dW = sum_n g cols^T, db = sum g)."""
    return _convnd_backward(2, grad_output, input, weight, bias, stride, padding, dilation,
                            groups)


def conv3d_backward(grad_output, input, weight, bias=None, stride=1, padding=0, dilation=1,
                    groups=1):
    """VJP of conv3d: (dx = col2im(W^T g), dW = sum_n g cols^T, db = sum g)."""
    return _convnd_backward(3, grad_output, input, weight, bias, stride, padding, dilation,
                            groups)


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """Adjoint of conv1d w.r.t. its input, plus bias; out = (S-1)s - 2p + d(k-1) + op + 1."""
    return _conv_transposend(1, input, weight, bias, stride, padding, output_padding, groups,
                             dilation)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """Adjoint of conv2d w.r.t. its input, plus bias (see module docstring)."""
    return _conv_transposend(2, input, weight, bias, stride, padding, output_padding, groups,
                             dilation)


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """Adjoint of conv3d w.r.t. its input, plus bias (see module docstring)."""
    return _conv_transposend(3, input, weight, bias, stride, padding, output_padding, groups,
                             dilation)


def conv_transpose1d_backward(grad_output, input, weight, bias=None, stride=1, padding=0,
                              output_padding=0, groups=1, dilation=1):
    """VJP of conv_transpose1d: dx = conv1d(g, W), dW = sum_n x cols(g)^T, db = sum g."""
    return _conv_transposend_backward(1, grad_output, input, weight, bias, stride, padding,
                                      output_padding, groups, dilation)


def conv_transpose2d_backward(grad_output, input, weight, bias=None, stride=1, padding=0,
                              output_padding=0, groups=1, dilation=1):
    """VJP of conv_transpose2d: dx = conv2d(g, W), dW = sum_n x cols(g)^T, db = sum g."""
    return _conv_transposend_backward(2, grad_output, input, weight, bias, stride, padding,
                                      output_padding, groups, dilation)


def conv_transpose3d_backward(grad_output, input, weight, bias=None, stride=1, padding=0,
                              output_padding=0, groups=1, dilation=1):
    """VJP of conv_transpose3d: dx = conv3d(g, W), dW = sum_n x cols(g)^T, db = sum g."""
    return _conv_transposend_backward(3, grad_output, input, weight, bias, stride, padding,
                                      output_padding, groups, dilation)


# ----------------------------------------------------------------------------- fold / unfold

def _fold_geometry(spatial, kernel_size, dilation, padding, stride):
    k = _ntuple(kernel_size, 2, "kernel_size")
    d = _ntuple(dilation, 2, "dilation")
    p = _ntuple(padding, 2, "padding")
    s = _ntuple(stride, 2, "stride")
    if any(v <= 0 for v in k + d + s) or any(v < 0 for v in p):
        raise RuntimeError("fold/unfold: kernel_size, dilation and stride must be positive and "
                           "padding non-negative")
    out = tuple(_out_size(S, kk, ss, dd, pp, pp) for S, kk, ss, dd, pp in zip(spatial, k, s, d, p))
    if any(o < 1 for o in out):
        raise RuntimeError(f"Given input with spatial size {tuple(spatial)}, kernel_size={k}, "
                           f"dilation={d}, padding={p}, calculated shape of the array of sliding "
                           f"blocks as {out}, but its components must be at least one.")
    return k, d, p, s, out


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """im2col: (N, C, H, W) -> (N, C*kh*kw, L), column l holds the block at output position l
    (row-major), channel-major then kernel row-major within a column (torch.nn.Unfold docs)."""
    x, unbatched = _batched(input, 2, "unfold")
    k, d, p, s, out = _fold_geometry(x.shape[2:], kernel_size, dilation, padding, stride)
    cols = _im2col(_zero_pad(x, [(v, v) for v in p]), k, s, d, out)
    y = cols.reshape(x.shape[0], x.shape[1] * prod(k), prod(out))
    return y[0] if unbatched else y


def unfold_backward(grad_output, input, kernel_size, dilation=1, padding=0, stride=1):
    """VJP of unfold = fold of the cotangent to the input's spatial size."""
    return fold(grad_output, tuple(input.shape[-2:]), kernel_size, dilation, padding, stride)


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """col2im: (N, C*kh*kw, L) -> (N, C, *output_size), overlapping entries are summed (the
    adjoint of unfold, torch.nn.Fold docs)."""
    if input.ndim not in (2, 3):
        raise RuntimeError(f"Expected 2D (unbatched) or 3D (batched) input to fold, but got "
                           f"input of size: {list(input.shape)}")
    unbatched = input.ndim == 2
    x = input[None] if unbatched else input
    size = _ntuple(output_size, 2, "output_size")
    k, d, p, s, out = _fold_geometry(size, kernel_size, dilation, padding, stride)
    if x.shape[1] % prod(k) != 0:
        raise RuntimeError(f"Expected size of input's dimension 1 to be divisible by the product "
                           f"of kernel_size, but got input.size(1)={x.shape[1]} and "
                           f"kernel_size={k}")
    if x.shape[2] != prod(out):
        raise RuntimeError(f"Given output_size={size}, kernel_size={k}, dilation={d}, "
                           f"padding={p}, stride={s}, expected size of input's dimension 2 to "
                           f"match the calculated number of sliding blocks {out[0]} * {out[1]} "
                           f"= {prod(out)}, but got input.size(2)={x.shape[2]}.")
    C = x.shape[1] // prod(k)
    cols = x.reshape((x.shape[0], C) + k + out)
    yp = _col2im(cols, tuple(S + 2 * pp for S, pp in zip(size, p)), k, s, d)
    y = yp[:, :, p[0]:p[0] + size[0], p[1]:p[1] + size[1]]
    return y[0] if unbatched else y


def fold_backward(grad_output, input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """VJP of fold = unfold of the cotangent."""
    return unfold(grad_output, kernel_size, dilation, padding, stride)
