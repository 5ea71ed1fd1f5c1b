"""Pooling, written once for N spatial dims. Semantics: torch.nn.functional docs, the pooling
module docs (torch/nn/modules/pooling.py) and, where the docs are silent, torch's CPU kernels'
documented behaviour (noted per function).

Input ``(N, C, *S)`` or unbatched ``(C, *S)``. Window geometry per spatial dim (torch
``pooling_output_shape``)::

    out = floor_or_ceil((S + 2p - d*(k-1) - 1) / s) + 1
    ceil_mode: if (out-1)*s >= S + p: out -= 1   # the last window must START inside input+left pad

so ceil-mode windows may hang over the right edge; the overhang reads nothing (-inf for max,
and it is excluded from the avg divisor). torch requires ``p <= k_eff/2``.

Max selection (max_pool, adaptive_max_pool, fractional_max_pool): the scan is row-major over
the window (torch's nested loops) and keeps ``val > best or isnan(val)``: ties go to the FIRST
maximum in scan order, a NaN wins (the LAST NaN in scan order). Padding never wins; an all -inf
window returns its first in-input element. Indices are flat offsets within the input's spatial
plane (``h*W + w``, ``(t*H + h)*W + w``), as ``return_indices`` / ``max_unpool`` use them. The
backward sends each cotangent to its argmax (summing where windows overlap).
"""

from __future__ import annotations

import math
from math import prod

import numpy as np

from .conv import _batched, _col2im, _im2col, _ntuple

__all__ = []
for _n in (1, 2, 3):
    __all__ += [f"{name}{_n}d{suffix}" for name in ("max_pool", "avg_pool", "adaptive_avg_pool",
                                                    "adaptive_max_pool", "lp_pool", "max_unpool")
                for suffix in ("", "_backward")]
__all__ += [f"fractional_max_pool{_n}d{suffix}" for _n in (2, 3) for suffix in ("", "_backward")]
del _n


# ----------------------------------------------------------------------------- geometry

def _pool_out(size, k, s, p, d, ceil_mode) -> int:
    num = size + 2 * p - d * (k - 1) - 1
    out = (-(-num // s) if ceil_mode else num // s) + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


def _geometry(x, n, kernel_size, stride, padding, dilation, ceil_mode, name, effective=True):
    k = _ntuple(kernel_size, n, "kernel_size")
    s = k if stride is None or (isinstance(stride, (list, tuple)) and len(stride) == 0) \
        else _ntuple(stride, n, "stride")
    p = _ntuple(padding, n, "padding")
    d = _ntuple(dilation, n, "dilation")
    if any(v <= 0 for v in k):
        raise RuntimeError(f"{name}: kernel_size must be greater than zero")
    if any(v <= 0 for v in s):
        raise RuntimeError(f"{name}: stride must be greater than zero")
    if any(v <= 0 for v in d):
        raise RuntimeError(f"{name}: dilation must be greater than zero")
    half = [(dd * (kk - 1) + 1) // 2 if effective else kk // 2 for kk, dd in zip(k, d)]
    if any(pp < 0 or pp > h for pp, h in zip(p, half)):
        raise RuntimeError(f"{name}: pad should be at most half of effective kernel size, but "
                           f"got pad={list(p)}, kernel_size={list(k)} and dilation={list(d)}")
    S = x.shape[2:]
    out = tuple(_pool_out(L, kk, ss, pp, dd, ceil_mode) for L, kk, ss, pp, dd in zip(S, k, s, p, d))
    if any(o <= 0 for o in out):
        raise RuntimeError(f"Given input size: {tuple(x.shape[1:])}. Calculated output size: "
                           f"{(x.shape[1],) + out}. Output size is too small")
    # Right padding that covers ceil-mode overhang as well as the explicit padding.
    right = tuple(max(pp, (o - 1) * ss + dd * (kk - 1) + 1 - L - pp)
                  for L, kk, ss, pp, dd, o in zip(S, k, s, p, d, out))
    return k, s, p, d, out, right


def _pad_fill(x, left, right, fill):
    return np.pad(x, [(0, 0)] * (x.ndim - len(left)) + list(zip(left, right)),
                  constant_values=fill)


def _select_max(vals: np.ndarray, valid: np.ndarray, axis: int) -> np.ndarray:
    """Position along ``axis`` torch's scan keeps (first max; last NaN; never an invalid one)."""
    masked = np.where(valid, vals, -np.inf)
    m = np.max(masked, axis=axis, keepdims=True)
    nan = np.isnan(masked)
    is_max = valid & ((masked == m) | (np.isnan(m) & nan))
    first = np.argmax(is_max, axis=axis)
    kk = vals.shape[axis]
    last = kk - 1 - np.argmax(np.flip(is_max, axis=axis), axis=axis)
    return np.where(np.isnan(np.squeeze(m, axis=axis)), last, first)


def _scatter_plane(values: np.ndarray, indices: np.ndarray, plane: int) -> np.ndarray:
    """Sum ``values[n, c, ...]`` into flat plane position ``indices[n, c, ...]``: (N, C, plane)."""
    N, C = values.shape[:2]
    offs = (np.arange(N * C) * plane).reshape(N, C, *([1] * (indices.ndim - 2))) + indices
    out = np.bincount(offs.ravel(), weights=values.ravel().astype(np.float64),
                      minlength=N * C * plane)
    return out.reshape(N, C, plane)


def _gather_plane(x: np.ndarray, indices: np.ndarray) -> np.ndarray:
    N, C = x.shape[:2]
    flat = x.reshape(N, C, -1)
    return np.take_along_axis(flat, indices.reshape(N, C, -1), axis=2).reshape(indices.shape)


# ----------------------------------------------------------------------------- max pool

def _max_pool_indices(x, n, kernel_size, stride, padding, dilation, ceil_mode, name):
    k, s, p, d, out, right = _geometry(x, n, kernel_size, stride, padding, dilation, ceil_mode,
                                       name)
    S = x.shape[2:]
    xp = _pad_fill(x, p, right, -np.inf)
    plane_idx = _pad_fill(np.arange(prod(S)).reshape((1, 1) + S), p, right, -1)
    cols = _im2col(xp, k, s, d, out).reshape(x.shape[:2] + (prod(k),) + out)
    icols = _im2col(plane_idx, k, s, d, out).reshape((1, 1, prod(k)) + out)
    pos = _select_max(cols, icols >= 0, axis=2)
    idx = np.take_along_axis(np.broadcast_to(icols, cols.shape), pos[:, :, None], axis=2)[:, :, 0]
    return idx


def _max_pool(n, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    x, unbatched = _batched(input, n, f"max_pool{n}d")
    idx = _max_pool_indices(x, n, kernel_size, stride, padding, dilation, ceil_mode,
                            f"max_pool{n}d")
    y = _gather_plane(x, idx)
    if unbatched:
        y, idx = y[0], idx[0]
    return (y, idx.astype(np.int64)) if return_indices else y


def _max_pool_backward(n, grad_output, input, kernel_size, stride, padding, dilation, ceil_mode):
    x, unbatched = _batched(input, n, f"max_pool{n}d")
    idx = _max_pool_indices(x, n, kernel_size, stride, padding, dilation, ceil_mode,
                            f"max_pool{n}d")
    g = grad_output[None] if unbatched else grad_output
    gx = _scatter_plane(g, idx, prod(x.shape[2:])).reshape(x.shape)
    return gx[0] if unbatched else gx


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """y = max over the (dilated, -inf padded) window; see module docstring for ties/indices."""
    return _max_pool(1, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """y = max over the (dilated, -inf padded) window; indices are h*W + w."""
    return _max_pool(2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """y = max over the (dilated, -inf padded) window; indices are (t*H + h)*W + w."""
    return _max_pool(3, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool1d_backward(grad_output, input, kernel_size, stride=None, padding=0, dilation=1,
                        ceil_mode=False):
    """VJP of max_pool1d: each g goes to its window's argmax (summed over overlapping windows)."""
    return _max_pool_backward(1, grad_output, input, kernel_size, stride, padding, dilation,
                              ceil_mode)


def max_pool2d_backward(grad_output, input, kernel_size, stride=None, padding=0, dilation=1,
                        ceil_mode=False):
    """VJP of max_pool2d: each g goes to its window's argmax (summed over overlapping windows)."""
    return _max_pool_backward(2, grad_output, input, kernel_size, stride, padding, dilation,
                              ceil_mode)


def max_pool3d_backward(grad_output, input, kernel_size, stride=None, padding=0, dilation=1,
                        ceil_mode=False):
    """VJP of max_pool3d: each g goes to its window's argmax (summed over overlapping windows)."""
    return _max_pool_backward(3, grad_output, input, kernel_size, stride, padding, dilation,
                              ceil_mode)


# ----------------------------------------------------------------------------- avg pool

def _avg_divisor(S, k, s, p, out, count_include_pad, divisor_override):
    """Per-output divisor: the window clipped to [-p, S+p) (count_include_pad) or to [0, S).

    Both are products of per-dim counts (the window is a box). torch avg_pool kernels:
    ``pool_size = (min(start+k, S+p) - start) * ...`` then clip to the input for the
    count_include_pad=False count; the ceil-mode overhang beyond S+p is never counted.
    """
    if divisor_override is not None:
        return float(divisor_override)
    div = np.ones(out)
    for dim, (L, kk, ss, pp, o) in enumerate(zip(S, k, s, p, out)):
        start = np.arange(o) * ss - pp
        end = np.minimum(start + kk, L + pp)
        cnt = end - start if count_include_pad else np.minimum(end, L) - np.maximum(start, 0)
        shape = [1] * len(out)
        shape[dim] = o
        div = div * cnt.reshape(shape)
    return div


def _avg_setup(n, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
               divisor_override):
    x, unbatched = _batched(input, n, f"avg_pool{n}d")
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("divisor must be not zero")
    k, s, p, d, out, right = _geometry(x, n, kernel_size, stride, padding, 1, ceil_mode,
                                       f"avg_pool{n}d", effective=False)
    div = _avg_divisor(x.shape[2:], k, s, p, out, count_include_pad, divisor_override)
    return x, unbatched, k, s, p, d, out, right, div


def _avg_pool(n, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
              divisor_override):
    x, unbatched, k, s, p, d, out, right, div = _avg_setup(
        n, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)
    cols = _im2col(_pad_fill(x, p, right, 0.0), k, s, d, out)
    y = cols.reshape(x.shape[:2] + (prod(k),) + out).sum(axis=2) / div
    return y[0] if unbatched else y


def _avg_pool_backward(n, grad_output, input, kernel_size, stride, padding, ceil_mode,
                       count_include_pad, divisor_override):
    x, unbatched, k, s, p, d, out, right, div = _avg_setup(
        n, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)
    g = (grad_output[None] if unbatched else grad_output) / div
    cols = np.broadcast_to(g.reshape(x.shape[:2] + (1,) * n + out), x.shape[:2] + k + out)
    padded = tuple(L + pp + r for L, pp, r in zip(x.shape[2:], p, right))
    gxp = _col2im(np.ascontiguousarray(cols), padded, k, s, d)
    gx = gxp[(slice(None), slice(None)) + tuple(slice(pp, pp + L) for pp, L in zip(p, x.shape[2:]))]
    return gx[0] if unbatched else gx


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True):
    """y = (sum of the zero-padded window) / divisor (see ``_avg_divisor``)."""
    return _avg_pool(1, input, kernel_size, stride, padding, ceil_mode, count_include_pad, None)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """y = (sum of the zero-padded window) / divisor (see ``_avg_divisor``)."""
    return _avg_pool(2, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override)


def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """y = (sum of the zero-padded window) / divisor (see ``_avg_divisor``)."""
    return _avg_pool(3, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override)


def avg_pool1d_backward(grad_output, input, kernel_size, stride=None, padding=0, ceil_mode=False,
                        count_include_pad=True):
    """VJP of avg_pool1d: g/divisor spread over each window (col2im), padding dropped."""
    return _avg_pool_backward(1, grad_output, input, kernel_size, stride, padding, ceil_mode,
                              count_include_pad, None)


def avg_pool2d_backward(grad_output, input, kernel_size, stride=None, padding=0, ceil_mode=False,
                        count_include_pad=True, divisor_override=None):
    """VJP of avg_pool2d: g/divisor spread over each window (col2im), padding dropped."""
    return _avg_pool_backward(2, grad_output, input, kernel_size, stride, padding, ceil_mode,
                              count_include_pad, divisor_override)


def avg_pool3d_backward(grad_output, input, kernel_size, stride=None, padding=0, ceil_mode=False,
                        count_include_pad=True, divisor_override=None):
    """VJP of avg_pool3d: g/divisor spread over each window (col2im), padding dropped."""
    return _avg_pool_backward(3, grad_output, input, kernel_size, stride, padding, ceil_mode,
                              count_include_pad, divisor_override)


# ----------------------------------------------------------------------------- adaptive

def _adaptive_sizes(x, n, output_size, name):
    sizes = _ntuple(0, n) if output_size is None else output_size
    if not isinstance(sizes, (tuple, list)):
        sizes = (sizes,) * n
    if len(sizes) != n:
        raise ValueError(f"{name}: output_size must have {n} elements")
    out = tuple(int(L) if o is None else int(o) for o, L in zip(sizes, x.shape[2:]))
    if any(o < 0 for o in out) or any(L == 0 for L in x.shape[2:]):
        raise RuntimeError(f"{name}: elements of output_size must be non-negative and the input's "
                           f"spatial dims non-empty")
    return out


def _adaptive_bounds(L: int, O: int):
    """Window i covers [floor(i*L/O), ceil((i+1)*L/O)) (torch adaptive pooling docs/kernels)."""
    i = np.arange(O)
    return (i * L) // O, -(-((i + 1) * L) // O)


def _adaptive_avg_matrix(L: int, O: int) -> np.ndarray:
    start, end = _adaptive_bounds(L, O)
    cols = np.arange(L)
    inside = (cols[None, :] >= start[:, None]) & (cols[None, :] < end[:, None])
    return inside / (end - start)[:, None]


def _apply_per_dim(x, mats, transpose=False):
    for dim, A in enumerate(mats):
        A = A.T if transpose else A
        x = np.moveaxis(np.tensordot(x, A, axes=([2 + dim], [1])), -1, 2 + dim)
    return x


def _adaptive_avg(n, input, output_size, grad_output=None):
    x, unbatched = _batched(input, n, f"adaptive_avg_pool{n}d")
    out = _adaptive_sizes(x, n, output_size, f"adaptive_avg_pool{n}d")
    mats = [_adaptive_avg_matrix(L, O) for L, O in zip(x.shape[2:], out)]
    if grad_output is None:
        y = _apply_per_dim(x, mats)
    else:
        y = _apply_per_dim(grad_output[None] if unbatched else grad_output, mats, transpose=True)
    return y[0] if unbatched else y


def adaptive_avg_pool1d(input, output_size):
    """y[i] = mean of x over [floor(i*L/O), ceil((i+1)*L/O)) per dim (separable box mean)."""
    return _adaptive_avg(1, input, output_size)


def adaptive_avg_pool2d(input, output_size):
    """y[i, j] = mean of x over the box of per-dim adaptive windows (``None`` keeps a dim)."""
    return _adaptive_avg(2, input, output_size)


def adaptive_avg_pool3d(input, output_size):
    """y[i, j, l] = mean of x over the box of per-dim adaptive windows."""
    return _adaptive_avg(3, input, output_size)


def adaptive_avg_pool1d_backward(grad_output, input, output_size):
    """VJP: g spread uniformly (1/window size) over each window (A^T g per dim)."""
    return _adaptive_avg(1, input, output_size, grad_output)


def adaptive_avg_pool2d_backward(grad_output, input, output_size):
    """VJP: g spread uniformly (1/window size) over each window (A^T g per dim)."""
    return _adaptive_avg(2, input, output_size, grad_output)


def adaptive_avg_pool3d_backward(grad_output, input, output_size):
    """VJP: g spread uniformly (1/window size) over each window (A^T g per dim)."""
    return _adaptive_avg(3, input, output_size, grad_output)


def _adaptive_max_indices(x, n, output_size):
    out = _adaptive_sizes(x, n, output_size, f"adaptive_max_pool{n}d")
    S = x.shape[2:]
    bounds = [_adaptive_bounds(L, O) for L, O in zip(S, out)]
    plane = np.arange(prod(S)).reshape(S)
    idx = np.zeros(x.shape[:2] + out, dtype=np.int64)
    for o in np.ndindex(*out):
        box = tuple(slice(b[0][i], b[1][i]) for b, i in zip(bounds, o))
        vals = x[(slice(None), slice(None)) + box].reshape(x.shape[:2] + (-1,))
        local = plane[box].reshape(-1)
        pos = _select_max(vals, np.ones(vals.shape, dtype=bool), axis=2)
        idx[(slice(None), slice(None)) + o] = local[pos]
    return idx


def _adaptive_max(n, input, output_size, return_indices):
    x, unbatched = _batched(input, n, f"adaptive_max_pool{n}d")
    idx = _adaptive_max_indices(x, n, output_size)
    y = _gather_plane(x, idx)
    if unbatched:
        y, idx = y[0], idx[0]
    return (y, idx) if return_indices else y


def _adaptive_max_backward(n, grad_output, input, output_size):
    x, unbatched = _batched(input, n, f"adaptive_max_pool{n}d")
    idx = _adaptive_max_indices(x, n, output_size)
    g = grad_output[None] if unbatched else grad_output
    gx = _scatter_plane(g, idx, prod(x.shape[2:])).reshape(x.shape)
    return gx[0] if unbatched else gx


def adaptive_max_pool1d(input, output_size, return_indices=False):
    """y[i] = max of x over [floor(i*L/O), ceil((i+1)*L/O)); ties/indices as max_pool."""
    return _adaptive_max(1, input, output_size, return_indices)


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """y = max over the box of per-dim adaptive windows; ties/indices as max_pool."""
    return _adaptive_max(2, input, output_size, return_indices)


def adaptive_max_pool3d(input, output_size, return_indices=False):
    """y = max over the box of per-dim adaptive windows; ties/indices as max_pool."""
    return _adaptive_max(3, input, output_size, return_indices)


def adaptive_max_pool1d_backward(grad_output, input, output_size):
    """VJP: each g goes to its window's argmax."""
    return _adaptive_max_backward(1, grad_output, input, output_size)


def adaptive_max_pool2d_backward(grad_output, input, output_size):
    """VJP: each g goes to its window's argmax."""
    return _adaptive_max_backward(2, grad_output, input, output_size)


def adaptive_max_pool3d_backward(grad_output, input, output_size):
    """VJP: each g goes to its window's argmax."""
    return _adaptive_max_backward(3, grad_output, input, output_size)


# ----------------------------------------------------------------------------- LP pool

def _lp_pool(n, input, norm_type, kernel_size, stride, ceil_mode, grad_output=None):
    """torch/nn/functional.py lp_pool{n}d, step by step:

        a = avg_pool(x**p, k, stride, padding=0, ceil_mode)     # divisor: window clipped to x
        y = (sign(a) * relu(|a|) * prod(k)) ** (1/p)

    so a ceil-mode overhang window is rescaled by prod(k)/count (a torch quirk: not the plain
    p-norm of the window). sign*relu(|.|) is the identity on values, but its derivative is 0 at
    a == 0 (relu'(0) = 0), which is how "the gradient is set to zero" for an all-zero window.
    Negative ``a`` (odd p, negative inputs) gives NaN for non-integer 1/p, as torch.pow does.
    ``norm_type = +inf``: max_pool(|x|); ``-inf``: -max_pool(-|x|).
    """
    k = _ntuple(kernel_size, n, "kernel_size")
    fn = f"avg_pool{n}d"
    if norm_type in (math.inf, -math.inf):
        sgn = 1.0 if norm_type > 0 else -1.0
        mp = globals()[f"max_pool{n}d"]
        if grad_output is None:
            return sgn * mp(sgn * np.abs(input), k, stride, 0, 1, ceil_mode)
        gu = globals()[f"max_pool{n}d_backward"](grad_output, sgn * np.abs(input), k, stride, 0,
                                                 1, ceil_mode)
        return gu * np.sign(input)
    p = float(norm_type)
    K = prod(k)
    u = np.power(input, p)
    a = globals()[fn](u, k, stride, 0, ceil_mode)
    z = np.sign(a) * np.maximum(np.abs(a), 0.0)
    if grad_output is None:
        return np.power(z * K, 1.0 / p)
    with np.errstate(divide="ignore", invalid="ignore"):
        dz = grad_output * K * (1.0 / p) * np.power(z * K, 1.0 / p - 1.0)
    da = np.where(a != 0, dz, 0.0)
    du = globals()[fn + "_backward"](da, u, k, stride, 0, ceil_mode)
    return du * p * np.power(input, p - 1.0)


def lp_pool1d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """y = (prod(k) * avg_pool(x**p))**(1/p) (see ``_lp_pool``)."""
    return _lp_pool(1, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """y = (prod(k) * avg_pool(x**p))**(1/p) (see ``_lp_pool``)."""
    return _lp_pool(2, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool3d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """y = (prod(k) * avg_pool(x**p))**(1/p) (see ``_lp_pool``)."""
    return _lp_pool(3, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool1d_backward(grad_output, input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """VJP of lp_pool1d by the chain rule through ``_lp_pool``'s steps."""
    return _lp_pool(1, input, norm_type, kernel_size, stride, ceil_mode, grad_output)


def lp_pool2d_backward(grad_output, input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """VJP of lp_pool2d by the chain rule through ``_lp_pool``'s steps."""
    return _lp_pool(2, input, norm_type, kernel_size, stride, ceil_mode, grad_output)


def lp_pool3d_backward(grad_output, input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """VJP of lp_pool3d by the chain rule through ``_lp_pool``'s steps."""
    return _lp_pool(3, input, norm_type, kernel_size, stride, ceil_mode, grad_output)


# ----------------------------------------------------------------------------- max unpool

def _unpool_size(n, x, kernel_size, stride, padding, output_size):
    k = _ntuple(kernel_size, n, "kernel_size")
    s = k if stride is None else _ntuple(stride, n, "stride")
    p = _ntuple(padding, n, "padding")
    default = tuple((L - 1) * ss - 2 * pp + kk
                    for L, kk, ss, pp in zip(x.shape[2:], k, s, p))
    if output_size is None:
        return default
    size = tuple(int(v) for v in output_size)
    if len(size) == n + 2:
        size = size[2:]
    if len(size) != n:
        raise ValueError(f"output_size should be a sequence containing {n} or {n + 2} elements, "
                         f"but it has a length of '{len(size)}'")
    for dim, (o, dflt, ss) in enumerate(zip(size, default, s)):
        if not (dflt - ss < o < dflt + ss):
            raise ValueError(f'invalid output_size "{list(size)}" (dim {dim} must be between '
                             f'{dflt - ss} and {dflt + ss})')
    return size


def _max_unpool(n, input, indices, kernel_size, stride, padding, output_size, grad_output=None):
    x, unbatched = _batched(input, n, f"max_unpool{n}d")
    idx = indices[None] if unbatched else indices
    if idx.shape != x.shape:
        raise RuntimeError("Expected shape of indices to be same as that of the input tensor")
    out = _unpool_size(n, x, kernel_size, stride, padding, output_size)
    plane = prod(out)
    if idx.size and (idx.min() < 0 or idx.max() >= plane):
        raise RuntimeError(f"Found an invalid max index: {int(idx.max())} (output volumes are "
                           f"of size {'x'.join(map(str, out))}")
    if grad_output is not None:
        g = grad_output[None] if unbatched else grad_output
        gx = _gather_plane(g, idx.astype(np.int64))
        return gx[0] if unbatched else gx
    N, C = x.shape[:2]
    y = np.zeros((N * C, plane), dtype=x.dtype)
    rows = np.repeat(np.arange(N * C), prod(x.shape[2:]))
    # Assignment, not accumulation: duplicate indices keep the last write (torch's CPU loop).
    y[rows, idx.reshape(-1)] = x.reshape(-1)
    y = y.reshape((N, C) + out)
    return y[0] if unbatched else y


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """y = zeros(output_size); y[n, c, indices[n, c, i]] = x[n, c, i] (partial inverse of
    max_pool1d). Default size (L-1)*s - 2p + k."""
    return _max_unpool(1, input, indices, kernel_size, stride, padding, output_size)


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """y = zeros; y.plane[indices] = x (flat h*W + w indices, as max_pool2d returns them)."""
    return _max_unpool(2, input, indices, kernel_size, stride, padding, output_size)


def max_unpool3d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """y = zeros; y.plane[indices] = x (flat (t*H + h)*W + w indices)."""
    return _max_unpool(3, input, indices, kernel_size, stride, padding, output_size)


def max_unpool1d_backward(grad_output, input, indices, kernel_size, stride=None, padding=0,
                          output_size=None):
    """VJP w.r.t. the values: dx = g.plane[indices] (indices get no gradient)."""
    return _max_unpool(1, input, indices, kernel_size, stride, padding, output_size, grad_output)


def max_unpool2d_backward(grad_output, input, indices, kernel_size, stride=None, padding=0,
                          output_size=None):
    """VJP w.r.t. the values: dx = g.plane[indices] (indices get no gradient)."""
    return _max_unpool(2, input, indices, kernel_size, stride, padding, output_size, grad_output)


def max_unpool3d_backward(grad_output, input, indices, kernel_size, stride=None, padding=0,
                          output_size=None):
    """VJP w.r.t. the values: dx = g.plane[indices] (indices get no gradient)."""
    return _max_unpool(3, input, indices, kernel_size, stride, padding, output_size, grad_output)


# ----------------------------------------------------------------------------- fractional

# Which entry of _random_samples[n, c, :] drives which spatial dim (torch's CPU kernels:
# 2-D uses sample 0 for W and 1 for H; 3-D uses 0 for T, 1 for H, 2 for W). Checked against torch.
_FRACTIONAL_SAMPLE_FOR_DIM = {2: (1, 0), 3: (0, 1, 2)}


def _fractional_starts(u: np.ndarray, L: int, O: int, k: int) -> np.ndarray:
    """Window starts from a uniform sample u (Graham 2014, torch ``generate_intervals``)::

        alpha = (L - k) / (O - 1);  start_i = floor((i + u) * alpha) - floor(u * alpha),
        start_{O-1} = L - k.
    """
    starts = np.zeros(u.shape + (O,), dtype=np.int64)
    if O > 1:
        alpha = (L - k) / (O - 1)
        i = np.arange(O - 1)
        starts[..., :O - 1] = (np.floor((i + u[..., None]) * alpha)
                               - np.floor(u[..., None] * alpha)).astype(np.int64)
    starts[..., O - 1] = L - k
    return starts


def _fractional_indices(n, x, kernel_size, output_size, output_ratio, samples):
    k = _ntuple(kernel_size, n, "kernel_size")
    S = x.shape[2:]
    if output_size is None:
        if output_ratio is None:
            raise ValueError(f"fractional_max_pool{n}d requires specifying either an output_size "
                             f"or an output_ratio")
        ratio = output_ratio if isinstance(output_ratio, (tuple, list)) else (output_ratio,) * n
        out = tuple(int(L * r) for L, r in zip(S, ratio))
    else:
        out = _ntuple(output_size, n, "output_size")
    # torch's size check is o + k - 1 <= L in 2-D but strict (o + k - 1 < L) in 3-D.
    for L, kk, o in zip(S, k, out):
        if o + kk - 1 > L or (n == 3 and o + kk - 1 == L):
            raise RuntimeError(f"fractional_max_pool{n}d(): pool size {kk} too large relative "
                               f"to input size {L} for output size {o}")
    if samples is None:
        raise ValueError("the reference needs _random_samples (shape (N, C, dims), in [0, 1))")
    samples = np.asarray(samples, dtype=np.float64)
    if samples.shape != x.shape[:2] + (n,):
        raise RuntimeError(f"Expected _random_samples of shape {x.shape[:2] + (n,)}, got "
                           f"{samples.shape}")
    N, C = x.shape[:2]
    flat = np.zeros((N, C) + (1,) * (2 * n), dtype=np.int64)
    plane_stride = np.cumprod((1,) + S[::-1])[:-1][::-1]
    for dim, (L, kk, o) in enumerate(zip(S, k, out)):
        st = _fractional_starts(samples[:, :, _FRACTIONAL_SAMPLE_FOR_DIM[n][dim]], L, o, kk)
        pos = st[..., :, None] + np.arange(kk)  # (N, C, o, k)
        flat = flat + (pos * plane_stride[dim]).reshape(
            [N, C] + [o if i == dim else 1 for i in range(n)] + [kk if i == dim else 1
                                                                 for i in range(n)])
    flat = np.broadcast_to(flat, (N, C) + out + k).reshape((N, C) + out + (prod(k),))
    vals = _gather_plane(x, flat)
    pos = _select_max(vals, np.ones(vals.shape, dtype=bool), axis=-1)
    return np.take_along_axis(flat, pos[..., None], axis=-1)[..., 0]


def _fractional(n, input, kernel_size, output_size, output_ratio, return_indices, samples,
                grad_output=None):
    x, unbatched = _batched(input, n, f"fractional_max_pool{n}d")
    if unbatched and samples is not None and np.ndim(samples) == 2:
        samples = np.asarray(samples)[None]
    idx = _fractional_indices(n, x, kernel_size, output_size, output_ratio, samples)
    if grad_output is not None:
        g = grad_output[None] if unbatched else grad_output
        gx = _scatter_plane(g, idx, prod(x.shape[2:])).reshape(x.shape)
        return gx[0] if unbatched else gx
    y = _gather_plane(x, idx)
    if unbatched:
        y, idx = y[0], idx[0]
    return (y, idx) if return_indices else y


def fractional_max_pool2d(input, kernel_size, output_size=None, output_ratio=None,
                          return_indices=False, _random_samples=None):
    """Max over k-windows starting at Graham's pseudorandom sequence (``_fractional_starts``),
    one sample per (n, c, dim) given explicitly as ``_random_samples`` (N, C, 2)."""
    return _fractional(2, input, kernel_size, output_size, output_ratio, return_indices,
                       _random_samples)


def fractional_max_pool3d(input, kernel_size, output_size=None, output_ratio=None,
                          return_indices=False, _random_samples=None):
    """3-D fractional max pooling, ``_random_samples`` of shape (N, C, 3)."""
    return _fractional(3, input, kernel_size, output_size, output_ratio, return_indices,
                       _random_samples)


def fractional_max_pool2d_backward(grad_output, input, kernel_size, output_size=None,
                                   output_ratio=None, _random_samples=None):
    """VJP: each g goes to its window's argmax."""
    return _fractional(2, input, kernel_size, output_size, output_ratio, False, _random_samples,
                       grad_output)


def fractional_max_pool3d_backward(grad_output, input, kernel_size, output_size=None,
                                   output_ratio=None, _random_samples=None):
    """VJP: each g goes to its window's argmax."""
    return _fractional(3, input, kernel_size, output_size, output_ratio, False, _random_samples,
                       grad_output)
