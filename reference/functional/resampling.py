"""Resampling. Semantics: torch.nn.functional.interpolate (torch/nn/functional.py, torch 2.13)
and the index rules of aten's upsample kernels (aten/src/ATen/native/UpSample.h), plus
pixel_shuffle / pixel_unshuffle / channel_shuffle docs.

Every interpolate mode is separable and linear: the output is the input multiplied along each
spatial axis d by a matrix W_d (out_d x in_d). The backward is the adjoint: the gradient
multiplied along each axis by W_d^T. Per axis, with in/out sizes n_in, n_out and the
user's scale factor s (only when given and recompute_scale_factor is not True):

  ratio = 1/s if s is given (and > 0) else n_in/n_out        (area_pixel_compute_scale)
  align_corners=True (linear modes): ratio = (n_in-1)/(n_out-1), or 0 when n_out == 1

- nearest:        src(o) = min(floor(o * ratio), n_in - 1), with ratio and the product in
                  float32 as aten computes them; o itself when n_out == n_in and o // 2 when
                  n_out == 2 n_in (aten's shortcuts).
- nearest-exact:  src(o) = min(floor((o + 0.5) * ratio), n_in - 1) (float32 ratio, product in
                  float64 rounded to float32 before the floor, as aten's floorf does).
- linear (also per axis of bilinear / trilinear):
                  x = ratio * o (align_corners) or max(ratio * (o + 0.5) - 0.5, 0);
                  i0 = min(floor(x), n_in - 1), i1 = i0 + 1 (i0 at the border), l = x - i0;
                  out = (1 - l) in[i0] + l in[i1]. When n_out == n_in aten copies (identity),
                  even if a scale factor other than 1 was given.
- bicubic:        x = ratio * o or ratio * (o + 0.5) - 0.5 (no clamp at 0), i = floor(x),
                  t = x - i, weights for in[i-1..i+2] (indices clamped to [0, n_in-1], so the
                  border sample repeats) are Keys' cubic convolution with A = -0.75:
                  W1(t) = ((A+2) t - (A+3)) t^2 + 1 for |t| <= 1,
                  W2(t) = ((A t - 5A) t + 8A) t - 4A for 1 < |t| < 2:
                  [W2(t+1), W1(t), W1(1-t), W2(2-t)].
- area:           adaptive average pooling: out[o] = mean(in[floor(o n_in/n_out) :
                  ceil((o+1) n_in/n_out)]). With a scale factor the size is recomputed.

Output size: ``size``, or floor(n_in * s) for a scale factor.

Torch quirks (torch 2.13 CPU, float64; only when a scale factor s != 1 is given, not recomputed,
and floor(n_in s) equals n_in or 2 n_in on some axis): torch's forward and backward are then
not adjoint. nearest 1-D/3-D forward skips the two shortcuts above (it uses floor(o / s)) while
its backward and the whole 2-D kernel take them; bicubic forward uses ratio 1/s while its
backward treats an axis with n_out == n_in as the identity. The reference keeps forward and
backward adjoint: nearest with the shortcuts (torch's 2-D behaviour), bicubic with 1/s (torch's
forward). Everything else matches torch's forward and gradient to rounding.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["interpolate", "interpolate_backward", "interpolate_error_scales", "upsample",
           "upsample_backward",
           "upsample_nearest", "upsample_bilinear",
           "pixel_shuffle", "pixel_shuffle_backward", "pixel_unshuffle",
           "pixel_unshuffle_backward", "channel_shuffle", "channel_shuffle_backward"]

_MODES = ("nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear", "area")
_NDIM = {"linear": 3, "bilinear": 4, "bicubic": 4, "trilinear": 5}
_A = -0.75


def _cubic1(t: float) -> float:
    return ((_A + 2) * t - (_A + 3)) * t * t + 1


def _cubic2(t: float) -> float:
    return ((_A * t - 5 * _A) * t + 8 * _A) * t - 4 * _A


def _ratio(n_in: int, n_out: int, align_corners: bool, scale: float | None) -> float:
    if align_corners:
        return (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
    return 1.0 / scale if scale is not None and scale > 0 else n_in / n_out


def _axis_matrix(mode: str, n_in: int, n_out: int, align_corners: bool,
                 scale: float | None) -> np.ndarray:
    """The (n_out, n_in) matrix of one spatial axis (see the module docstring)."""
    W = np.zeros((n_out, n_in))
    if mode in ("nearest", "nearest-exact"):
        r32 = np.float32(1.0 / scale if scale is not None and scale > 0 else
                         np.float32(n_in) / np.float32(n_out))
        for o in range(n_out):
            if mode == "nearest":
                if n_out == n_in:
                    i = o
                elif n_out == 2 * n_in:
                    i = o >> 1
                else:
                    i = min(int(np.floor(np.float32(o) * r32)), n_in - 1)
            else:
                i = min(int(np.floor(np.float32((o + 0.5) * float(r32)))), n_in - 1)
            W[o, i] = 1.0
        return W
    if mode == "area":
        for o in range(n_out):
            lo, hi = (o * n_in) // n_out, -((-(o + 1) * n_in) // n_out)
            W[o, lo:hi] = 1.0 / (hi - lo)
        return W
    ratio = _ratio(n_in, n_out, align_corners, scale)
    if mode == "bicubic":
        for o in range(n_out):
            x = ratio * o if align_corners else ratio * (o + 0.5) - 0.5
            i = min(math.floor(x), n_in - 1)
            t = min(max(x - i, 0.0), 1.0)
            for j, c in enumerate((_cubic2(t + 1), _cubic1(t), _cubic1(1 - t), _cubic2(2 - t))):
                W[o, min(max(i - 1 + j, 0), n_in - 1)] += c
        return W
    # linear
    if n_out == n_in:
        return np.eye(n_in)
    for o in range(n_out):
        x = ratio * o if align_corners else max(ratio * (o + 0.5) - 0.5, 0.0)
        i0 = min(math.floor(x), n_in - 1)
        lam = min(max(x - i0, 0.0), 1.0)
        i1 = i0 + (1 if i0 < n_in - 1 else 0)
        W[o, i0] += 1.0 - lam
        W[o, i1] += lam
    return W


def _plan(input_shape, size, scale_factor, mode, align_corners, recompute_scale_factor,
          antialias):
    """Validate like torch's interpolate and return the per-axis matrices."""
    if mode not in _MODES:
        raise NotImplementedError(f"the reference supports the modes {_MODES}, got {mode!r}")
    if antialias:
        raise NotImplementedError("antialias=True is not supported by the reference")
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError("align_corners option can only be set with the interpolating "
                             "modes: linear | bilinear | bicubic | trilinear")
        align_corners = False
    elif align_corners is None:
        align_corners = False
    ndim = len(input_shape)
    dim = ndim - 2
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is not None:
        if isinstance(size, (list, tuple)):
            if len(size) != dim:
                raise ValueError("Input and output must have the same number of spatial "
                                 f"dimensions, but got input with spatial dimensions of "
                                 f"{list(input_shape[2:])} and output size of {size}.")
            out_size = [int(s) for s in size]
        else:
            out_size = [int(size)] * dim
        scales = [None] * dim
    elif scale_factor is not None:
        if isinstance(scale_factor, (list, tuple)):
            if len(scale_factor) != dim:
                raise ValueError("Input and scale_factor must have the same number of spatial "
                                 f"dimensions, but got input with spatial dimensions of "
                                 f"{list(input_shape[2:])} and scale_factor of shape "
                                 f"{scale_factor}.")
            scales = [float(s) for s in scale_factor]
        else:
            scales = [float(scale_factor)] * dim
        out_size = [int(math.floor(n * s)) for n, s in zip(input_shape[2:], scales)]
    else:
        raise ValueError("either size or scale_factor should be defined")
    if recompute_scale_factor and size is not None:
        raise ValueError("recompute_scale_factor is not meaningful with an explicit size.")
    if recompute_scale_factor or mode == "area":
        scales = [None] * dim  # the kernels see only the integer output size
    if ndim not in (3, 4, 5) or (mode in _NDIM and ndim != _NDIM[mode]):
        raise NotImplementedError(f"Got {ndim}D input, but {mode} mode needs "
                                  f"{_NDIM.get(mode, '3D, 4D or 5D')}"
                                  f"{'D' if mode in _NDIM else ''} input")
    if any(n <= 0 for n in input_shape[2:]) or any(n <= 0 for n in out_size):
        raise RuntimeError(f"Input and output sizes should be greater than 0, but got input "
                           f"{tuple(input_shape[2:])} and output {tuple(out_size)}")
    return [_axis_matrix(mode, n, m, align_corners, s)
            for n, m, s in zip(input_shape[2:], out_size, scales)]


def _apply(x: np.ndarray, mats) -> np.ndarray:
    for d, W in enumerate(mats):
        x = np.moveaxis(np.tensordot(W, x, axes=([1], [2 + d])), 0, 2 + d)
    return x


def interpolate(input: np.ndarray, size=None, scale_factor=None, mode: str = "nearest",
                align_corners: bool | None = None, recompute_scale_factor: bool | None = None,
                antialias: bool = False) -> np.ndarray:
    """torch.nn.functional.interpolate on (N, C, *spatial) input; see the module docstring for
    each mode's per-axis rule. Exactly one of size / scale_factor (int/float or one per spatial
    axis). align_corners only for linear modes (None means False). recompute_scale_factor=True
    makes the kernels use n_in/n_out instead of 1/scale_factor; 'area' always does.
    Raises ValueError / NotImplementedError where torch does; antialias is not supported."""
    mats = _plan(np.shape(input), size, scale_factor, mode, align_corners,
                 recompute_scale_factor, antialias)
    return _apply(np.asarray(input, dtype=np.float64), mats)


def interpolate_backward(grad_output: np.ndarray, input: np.ndarray, size=None,
                         scale_factor=None, mode: str = "nearest",
                         align_corners: bool | None = None,
                         recompute_scale_factor: bool | None = None, antialias: bool = False):
    """VJP: grad_input = grad_output multiplied along each spatial axis by W_d^T (the adjoint of
    the linear resampling: each input sample receives the weighted sum of the output gradients
    it contributed to). Returns ``(grad_input,)``."""
    mats = _plan(np.shape(input), size, scale_factor, mode, align_corners,
                 recompute_scale_factor, antialias)
    return (_apply(grad_output, [W.T for W in mats]),)


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """Deprecated torch alias: interpolate(input, size, scale_factor, mode, align_corners)."""
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_backward(grad_output, input, size=None, scale_factor=None, mode="nearest",
                      align_corners=None):
    """VJP of ``upsample``."""
    return interpolate_backward(grad_output, input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):
    """Deprecated torch alias: interpolate(..., mode='nearest') (backward: interpolate_backward)."""
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    """Deprecated torch alias: interpolate(..., mode='bilinear', align_corners=True)."""
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


# --------------------------------------------------------------------------- shuffles

def pixel_shuffle(input: np.ndarray, upscale_factor: int) -> np.ndarray:
    """(*, C r^2, H, W) -> (*, C, H r, W r): out[..., c, h r + i, w r + j] =
    in[..., c r^2 + i r + j, h, w] (torch.nn.PixelShuffle docs)."""
    x = np.asarray(input)
    r = int(upscale_factor)
    if x.ndim < 3:
        raise RuntimeError(f"pixel_shuffle expects input to have at least 3 dimensions, but got "
                           f"input with {x.ndim} dimension(s)")
    if r <= 0:
        raise RuntimeError(f"pixel_shuffle expects a positive upscale_factor, but got {r}")
    *b, c, h, w = x.shape
    if c % (r * r) != 0:
        raise RuntimeError(f"pixel_shuffle expects its input's 'channel' dimension to be "
                           f"divisible by the square of upscale_factor, but input.size(-3)={c} "
                           f"is not divisible by {r * r}")
    nb = len(b)
    y = x.reshape(*b, c // (r * r), r, r, h, w)
    y = y.transpose(*range(nb), nb, nb + 3, nb + 1, nb + 4, nb + 2)
    return y.reshape(*b, c // (r * r), h * r, w * r)


def pixel_unshuffle(input: np.ndarray, downscale_factor: int) -> np.ndarray:
    """(*, C, H r, W r) -> (*, C r^2, H, W), the inverse of pixel_shuffle:
    out[..., c r^2 + i r + j, h, w] = in[..., c, h r + i, w r + j]."""
    x = np.asarray(input)
    r = int(downscale_factor)
    if x.ndim < 3:
        raise RuntimeError(f"pixel_unshuffle expects input to have at least 3 dimensions, but "
                           f"got input with {x.ndim} dimension(s)")
    if r <= 0:
        raise RuntimeError(f"pixel_unshuffle expects a positive downscale_factor, but got {r}")
    *b, c, h, w = x.shape
    if h % r != 0 or w % r != 0:
        raise RuntimeError(f"pixel_unshuffle expects height and width to be divisible by "
                           f"downscale_factor, but got input.size(-2)={h}, input.size(-1)={w}, "
                           f"downscale_factor={r}")
    nb = len(b)
    y = x.reshape(*b, c, h // r, r, w // r, r)
    y = y.transpose(*range(nb), nb, nb + 2, nb + 4, nb + 1, nb + 3)
    return y.reshape(*b, c * r * r, h // r, w // r)


def pixel_shuffle_backward(grad_output: np.ndarray, upscale_factor: int):
    """VJP of a permutation is the inverse permutation: (pixel_unshuffle(g, r),)."""
    return (pixel_unshuffle(grad_output, upscale_factor),)


def pixel_unshuffle_backward(grad_output: np.ndarray, downscale_factor: int):
    """VJP: (pixel_shuffle(g, r),)."""
    return (pixel_shuffle(grad_output, downscale_factor),)


def channel_shuffle(input: np.ndarray, groups: int) -> np.ndarray:
    """(N, C, *) viewed as (N, g, C/g, *), the two group axes swapped, flattened back:
    out[:, k (g) + j] = in[:, j (C/g) + k] (torch.nn.ChannelShuffle docs)."""
    x = np.asarray(input)
    g = int(groups)
    if g <= 0:
        raise RuntimeError(f"Number of groups to divide channels in must be positive. Value of "
                           f"groups:{g}")
    if x.ndim < 3:
        raise RuntimeError(f"channel_shuffle expects input to have at least 3 dimensions, but "
                           f"got input with {x.ndim} dimension(s)")
    n, c = x.shape[:2]
    if c % g != 0:
        raise RuntimeError(f"Number of channels must be divisible by groups. Got {c} channels "
                           f"and {g} groups.")
    rest = x.shape[2:]
    return x.reshape(n, g, c // g, *rest).swapaxes(1, 2).reshape(n, c, *rest)


def channel_shuffle_backward(grad_output: np.ndarray, groups: int):
    """VJP: the inverse permutation is channel_shuffle with C/g groups."""
    return (channel_shuffle(grad_output, grad_output.shape[1] // int(groups)),)


def _scales_seen(shape, size, scale_factor, mode, recompute_scale_factor):
    dim = len(shape) - 2
    if size is not None or recompute_scale_factor or mode == "area" or scale_factor is None:
        return [None] * dim
    if isinstance(scale_factor, (list, tuple)):
        return [float(f) for f in scale_factor]
    return [float(scale_factor)] * dim


def _coefficient_magnitudes(W, mode, n_in, align_corners, scale):
    """Magnitudes of the rounding of the interpolation coefficients themselves, per tap.

    Linear modes compute the source coordinate x = ratio (o + 1/2) - 1/2 (or ratio o) and the
    weight l = x - floor(x) in the working precision: l's absolute error is about
    eps (1 + |x|), so each tap gets (1 + |x|). Bicubic evaluates Keys' polynomials in Horner
    form; for the outer taps (W2, 1 < t < 2) the intermediate values reach about 8 while the
    result is below 0.1, so each tap gets 8 (1 + |x|). Nearest and area weights are exact
    (area: a correctly rounded 1/count)."""
    if mode not in ("linear", "bilinear", "trilinear", "bicubic"):
        return np.zeros_like(W)
    n_out = W.shape[0]
    ac = bool(align_corners)
    ratio = _ratio(n_in, n_out, ac, scale)
    o = np.arange(n_out, dtype=np.float64)
    x = np.abs(ratio * o if ac else ratio * (o + 0.5) - 0.5)
    c = 8.0 if mode == "bicubic" else 1.0
    return (W != 0) * (c * (1.0 + x))[:, None]


def interpolate_error_scales(grad_output, input, size=None, scale_factor=None, mode="nearest",
                             align_corners=None, recompute_scale_factor=None, antialias=False):
    """Error scales of interpolate and its VJP: the same separable maps with |W_d| applied to
    |input| and |W_d|^T to |grad_output| (the sums of the magnitudes of the terms; bicubic
    weights are negative at the ends, and mixed-sign data cancels in every mode). Returns
    ``((output_scale,), (grad_input_scale,))``; ``grad_output`` None gives no gradient scale."""
    mats = [np.abs(W) + _coefficient_magnitudes(W, mode, n_in, align_corners, scale)
            for W, n_in, scale in zip(
                _plan(np.shape(input), size, scale_factor, mode, align_corners,
                      recompute_scale_factor, antialias),
                np.shape(input)[2:], _scales_seen(np.shape(input), size, scale_factor, mode,
                                                  recompute_scale_factor))]
    out = _apply(np.abs(np.asarray(input, dtype=np.float64)), mats)
    if grad_output is None:
        return (out,), ()
    return (out,), (_apply(np.abs(grad_output), [W.T for W in mats]),)
