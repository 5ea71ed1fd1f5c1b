"""Padding. Semantics: torch.nn.functional.pad docs and torch/nn/modules/padding.py.

``pad`` lists (left, right) pairs starting from the LAST dimension:
``(w_left, w_right, h_left, h_right, ...)``. Every mode is an index map: output position ``j``
along a padded axis of size ``n`` reads source position ``p = j - left``, mapped into range by

- constant:  ``x[p]`` if ``0 <= p < n`` else ``value`` (default 0)
- reflect:   mirror without repeating the edge, ``-p`` / ``2(n-1) - p``
- replicate: clamp, ``min(max(p, 0), n-1)``
- circular:  wrap, ``p mod n``; with a negative pad on one side torch crops first and wraps
  around what is left: ``crop_l + (j - max(left, 0)) mod (n - crop_l - crop_r)``

A negative pad crops (fewer output positions, ``p`` starts inside). The backward scatter-adds the
cotangent through the same index map (constant-mode positions reading ``value`` get nothing).
"""

from __future__ import annotations

import numpy as np

__all__ = ["pad", "pad_backward"]

_MODES = ("constant", "reflect", "replicate", "circular")


def _source_index(n: int, left: int, right: int, mode: str):
    """Source index for each output position along one axis and a mask of in-range reads."""
    size = n + left + right
    if size < 0:
        raise RuntimeError(f"The input size {n}, plus negative padding {left} and {right} "
                           f"resulted in a negative output size, which is invalid.")
    p = np.arange(size) - left
    valid = (p >= 0) & (p < n)
    if mode == "constant":
        return np.clip(p, 0, max(n - 1, 0)), valid
    if mode == "reflect":
        if max(left, right) >= n:
            raise RuntimeError(f"Padding size should be less than the corresponding input "
                               f"dimension, but got: padding ({left}, {right}) of input size {n}")
        p = np.abs(p)
        p = np.where(p >= n, 2 * (n - 1) - p, p)
        return p, np.ones(size, dtype=bool)
    if mode == "replicate":
        if n == 0:
            raise RuntimeError("replication pad: input size must be positive")
        return np.clip(p, 0, n - 1), np.ones(size, dtype=bool)
    if mode == "circular":
        # torch crops the negative sides first, then wraps around what is left.
        crop_l, crop_r = max(-left, 0), max(-right, 0)
        kept = n - crop_l - crop_r
        if max(left, 0) > kept or max(right, 0) > kept:
            raise RuntimeError("Padding value causes wrapping around more than once.")
        p = np.mod(np.arange(size) - max(left, 0), kept) + crop_l
        return p, np.ones(size, dtype=bool)
    raise NotImplementedError(f"Unrecognised padding mode {mode}")


def _check(input: np.ndarray, pad, mode: str):
    pad = tuple(int(v) for v in pad)
    if len(pad) % 2 != 0:
        raise RuntimeError("Padding length must be divisible by 2")
    if len(pad) // 2 > input.ndim:
        raise RuntimeError("Padding length should be less than or equal to two times the "
                           "input dimension")
    if mode not in _MODES:
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    if mode != "constant":
        # torch: non-constant modes pad the trailing 1-3 dims of a (C, *S) or (N, C, *S) input.
        nd = len(pad) // 2
        if nd > 3 or input.ndim not in (nd + 1, nd + 2):
            raise NotImplementedError(f"Only 2D, 3D, 4D, 5D padding with non-constant padding "
                                      f"are supported for now (got {input.ndim}-D input, "
                                      f"pad of length {len(pad)})")
    return pad


def _check_not_empty(input: np.ndarray, pad) -> None:
    """torch's reflection/replication padding refuses an output whose padded dims are ALL
    empty (1-D: W < 1; 2-D: W < 1 and H < 1; 3-D: all three), but accepts one empty dim among
    several (torch ReflectionPad.cpp / ReplicationPadding.cpp meta functions:
    ``TORCH_CHECK(output_w >= 1 || output_h >= 1 ..., "input (...) is too small")``)."""
    nd = len(pad) // 2
    names = "WHD"[:nd]
    sizes = [input.shape[input.ndim - 1 - i] for i in range(nd)]
    outs = [n + pad[2 * i] + pad[2 * i + 1] for i, n in enumerate(sizes)]
    if all(o < 1 for o in outs):
        src = ", ".join(f"{c}: {n}" for c, n in reversed(list(zip(names, sizes))))
        dst = " ".join(f"{c}: {o}" for c, o in reversed(list(zip(names, outs))))
        raise RuntimeError(f"input ({src}) is too small. Calculated output {dst}")


def pad(input: np.ndarray, pad, mode: str = "constant", value: float | None = None) -> np.ndarray:
    """y = x read through the per-axis index map of ``mode`` (see module docstring)."""
    pad = _check(input, pad, mode)
    if mode in ("reflect", "replicate"):
        _check_not_empty(input, pad)
    if mode != "constant" and value not in (None, 0, 0.0):
        raise RuntimeError(f"Padding mode \"{mode}\" doesn't take in value argument.")
    fill = 0.0 if value is None else value
    y = input
    for i in range(len(pad) // 2):
        axis = input.ndim - 1 - i
        idx, valid = _source_index(input.shape[axis], pad[2 * i], pad[2 * i + 1], mode)
        if y.shape[axis] == 0:
            shape = list(y.shape)
            shape[axis] = idx.size
            y = np.full(shape, fill, dtype=y.dtype)
            continue
        y = np.take(y, idx, axis=axis)
        if mode == "constant" and not valid.all():
            y = np.moveaxis(y, axis, 0).copy()
            y[~valid] = fill
            y = np.moveaxis(y, 0, axis)
    return y


def pad_backward(grad_output: np.ndarray, input_shape, pad, mode: str = "constant") -> np.ndarray:
    """VJP of ``pad`` w.r.t. the input: scatter-add ``g`` through the index map, axis by axis."""
    pad = tuple(int(v) for v in pad)
    g = grad_output
    nd = len(input_shape)
    # Undo axes in the reverse order of the forward (the forward padded the last axis first).
    for i in reversed(range(len(pad) // 2)):
        axis = nd - 1 - i
        n = input_shape[axis]
        idx, valid = _source_index(n, pad[2 * i], pad[2 * i + 1], mode)
        gm = np.moveaxis(g, axis, 0)
        out = np.zeros((n,) + gm.shape[1:], dtype=np.result_type(g.dtype, np.float64))
        np.add.at(out, idx[valid], gm[valid])
        g = np.moveaxis(out, 0, axis)
    return g
