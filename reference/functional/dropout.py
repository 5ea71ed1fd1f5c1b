"""Dropout family with the randomness as an explicit input. Semantics: torch.nn.functional
(dropout, dropout1d/2d/3d, alpha_dropout, feature_alpha_dropout) and aten ``Dropout.cpp``
(``_dropout_impl``).

API. Each op takes torch's arguments plus a keyword-only ``mask``: a boolean array, True where
the element (or channel) is KEPT, i.e. torch's Bernoulli(1 - p) draw. Its shape is
``dropout_mask_shape(kind, input.shape)``:

==========================  =====================================================================
dropout, alpha_dropout      the input's shape (one draw per element)
dropout1d                   (N, C) for (N, C, L) input; (C,) for unbatched (C, L); other ranks
                            raise RuntimeError (torch checks the rank before anything else)
dropout2d                   (N, C) = input.shape[:2]. A 3-D input is (N, C, L), NOT unbatched
                            (C, H, W): torch >= 1.12 keeps the historical 1-D channel behaviour
                            and warns (pytorch #77081, PR #79549; semantic-differences item 18).
                            Ranks other than 3, 4 warn in torch and still use input.shape[:2].
dropout3d                   (N, C) for 5-D input; any other rank is treated as unbatched (torch
                            unsqueezes dim 0), so the mask is (C,) = input.shape[:1]
feature_alpha_dropout       input.shape[:2], always: dim 0 is the batch even for 4-D input,
                            although the FeatureAlphaDropout docs list an unbatched (C, D, H, W)
                            shape (torch quirk: no unsqueeze happens)
==========================  =====================================================================

A mask with trailing singleton axes (torch's internal noise shape (N, C, 1, ..., 1)) is accepted
too. Channel-wise variants need an input of at least 2 dims once a mask is used (RuntimeError
"Feature dropout requires at least 2 dimensions in the input").

Facts a checker needs (all from ``_dropout_impl``):
- Identity (the input itself, no rounding) when ``training`` is False, when p == 0, or when the
  input is empty; the mask is not used. p outside [0, 1] raises ValueError.
- p == 1: the output is ``input * 0`` for every variant (alpha ones included): zeros, with nan
  where the input is nan or +-inf; the mask is not used. The gradient is 0.
- Standard dropout, 0 < p < 1: y = x * (m * s) with s = 1/(1-p) computed once in float64 (torch
  divides the 0/1 noise by 1-p, then multiplies), so survivors are x * fl(1/(1-p)) and dropped
  entries are x * 0 (0, or nan for a non-finite x). Nd variants zero whole channels (dim 1 of the
  batched input). Backward: g * (m * s), the forward's mask.
- Alpha dropout, 0 < p < 1: with alpha' = -SELU_SCALE * SELU_ALPHA (torch's literal
  1.7580993408473766 for -alpha'), a = 1/sqrt((alpha'^2 p + 1)(1 - p)) and
  b = (m - 1) (-alpha' a) + (-alpha' a) p: y = x (m a) + b. So a kept entry is a x - alpha' a p
  and a dropped one is a alpha' (1 - p) (the SELU saturation value alpha', then the affine map
  a(. ) - a alpha' p that restores zero mean / unit variance). Backward: g * (m a).
- ``infer_dropout_mask`` recovers the mask from a backend's observed output.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "dropout", "dropout_backward", "dropout1d", "dropout1d_backward",
    "dropout2d", "dropout2d_backward", "dropout3d", "dropout3d_backward",
    "alpha_dropout", "alpha_dropout_backward",
    "feature_alpha_dropout", "feature_alpha_dropout_backward",
    "dropout_mask_shape", "infer_dropout_mask", "alpha_dropout_constants",
    "ALPHA_DROPOUT_ALPHA",
]

#: -alpha' = SELU scale * SELU alpha, the literal of aten ``_dropout_impl`` (equal to the float64
#: product of the SELU constants 1.0507009873554804934 * 1.6732632423543772848).
ALPHA_DROPOUT_ALPHA = 1.7580993408473766

_KINDS = ("dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout",
          "feature_alpha_dropout")


def _check_p(p: float) -> None:
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def alpha_dropout_constants(p: float) -> tuple[float, float, float]:
    """(a, kept_shift, dropped_value) for 0 < p < 1: kept y = a x + kept_shift, dropped y =
    dropped_value, evaluated in torch's operation order."""
    alpha = ALPHA_DROPOUT_ALPHA
    a = 1.0 / math.sqrt((alpha * alpha * p + 1) * (1 - p))
    return a, 0.0 * (alpha * a) + alpha * a * p, -1.0 * (alpha * a) + alpha * a * p


def dropout_mask_shape(kind: str, input_shape: tuple[int, ...]) -> tuple[int, ...]:
    """The shape of the keep-mask ``kind`` takes for an input of ``input_shape`` (table above)."""
    shape = tuple(input_shape)
    if kind in ("dropout", "alpha_dropout"):
        return shape
    if kind == "dropout1d":
        if len(shape) not in (2, 3):
            raise RuntimeError(f"dropout1d: Expected 2D or 3D input, but received a {len(shape)}D "
                               "input.")
        return shape[:2] if len(shape) == 3 else shape[:1]
    if kind == "dropout3d" and len(shape) != 5:
        shape = (1,) + shape  # torch unsqueezes every non-5-D input
        if len(shape) < 2:
            raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
        return shape[1:2]
    if kind in ("dropout2d", "dropout3d", "feature_alpha_dropout"):
        if len(shape) < 2:
            raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
        return shape[:2]
    raise ValueError(f"unknown dropout kind {kind!r}; one of {_KINDS}")


def _active(x: np.ndarray, p: float, training: bool) -> bool:
    """Whether the mask is used at all (torch's early returns in _dropout_impl)."""
    _check_p(p)
    return training and p != 0 and x.size > 0 and p != 1


def _broadcast_mask(kind: str, x: np.ndarray, mask) -> np.ndarray:
    """The mask as a float 0/1 array broadcastable against x."""
    if mask is None:
        raise ValueError(f"{kind} in training with 0 < p < 1 needs the keep-mask: pass mask= "
                         f"(bool, shape {dropout_mask_shape(kind, x.shape)})")
    want = dropout_mask_shape(kind, x.shape)
    m = np.asarray(mask)
    if m.shape != want:
        squeezed = m.shape[:len(want)] if m.ndim >= len(want) else None
        if squeezed != want or any(d != 1 for d in m.shape[len(want):]):
            raise ValueError(f"{kind}: mask shape {m.shape} does not match {want}")
        m = m.reshape(want)
    if m.dtype != bool and not np.all((m == 0) | (m == 1)):
        raise ValueError(f"{kind}: mask must be boolean (True = kept)")
    m = m.astype(np.float64)
    if kind == "dropout3d" and x.ndim != 5:
        return m.reshape(m.shape + (1,) * (x.ndim - 1))
    return m.reshape(m.shape + (1,) * (x.ndim - m.ndim))


def _standard(kind, input, p, training, mask):
    x = np.asarray(input, dtype=np.float64)
    if kind == "dropout1d":
        dropout_mask_shape(kind, x.shape)  # rank check happens even in eval in torch
    if not _active(x, p, training):
        return x.copy() if (not training or p == 0 or x.size == 0) else x * 0.0
    m = _broadcast_mask(kind, x, mask)
    return x * (m * (1.0 / (1.0 - p)))


def _standard_backward(kind, grad_output, input, p, training, mask):
    x = np.asarray(input, dtype=np.float64)
    g = np.asarray(grad_output, dtype=np.float64)
    if kind == "dropout1d":
        dropout_mask_shape(kind, x.shape)
    if not _active(x, p, training):
        return (g.copy() if (not training or p == 0 or x.size == 0) else g * 0.0,)
    m = _broadcast_mask(kind, x, mask)
    return (g * (m * (1.0 / (1.0 - p))),)


def _alpha(kind, input, p, training, mask):
    x = np.asarray(input, dtype=np.float64)
    if not _active(x, p, training):
        return x.copy() if (not training or p == 0 or x.size == 0) else x * 0.0
    m = _broadcast_mask(kind, x, mask)
    alpha = ALPHA_DROPOUT_ALPHA
    a = 1.0 / math.sqrt((alpha * alpha * p + 1) * (1 - p))
    b = (m - 1.0) * (alpha * a) + alpha * a * p
    return x * (m * a) + b


def _alpha_backward(kind, grad_output, input, p, training, mask):
    x = np.asarray(input, dtype=np.float64)
    g = np.asarray(grad_output, dtype=np.float64)
    if not _active(x, p, training):
        return (g.copy() if (not training or p == 0 or x.size == 0) else g * 0.0,)
    m = _broadcast_mask(kind, x, mask)
    a = alpha_dropout_constants(p)[0]
    return (g * (m * a),)


def _ieee_quiet(fn):
    # x * 0 = nan for non-finite x is torch's documented-by-source behaviour (see above); numpy's
    # warning about it is noise.
    def wrapper(*args, **kwargs):
        with np.errstate(invalid="ignore", over="ignore"):
            return fn(*args, **kwargs)
    wrapper.__name__, wrapper.__doc__ = fn.__name__, fn.__doc__
    return wrapper


_standard, _standard_backward = _ieee_quiet(_standard), _ieee_quiet(_standard_backward)
_alpha, _alpha_backward = _ieee_quiet(_alpha), _ieee_quiet(_alpha_backward)


def dropout(input, p: float = 0.5, training: bool = True, inplace: bool = False, *, mask=None):
    """Elementwise dropout: x * m / (1-p) in training (see the module docstring)."""
    return _standard("dropout", input, p, training, mask)


def dropout_backward(grad_output, input, p: float = 0.5, training: bool = True, *, mask=None):
    """g * m / (1-p) with the forward's mask; g in eval or at p == 0; 0 at p == 1."""
    return _standard_backward("dropout", grad_output, input, p, training, mask)


def dropout1d(input, p: float = 0.5, training: bool = True, inplace: bool = False, *, mask=None):
    """Channel dropout for (N, C, L) or unbatched (C, L) input; mask (N, C) or (C,)."""
    return _standard("dropout1d", input, p, training, mask)


def dropout1d_backward(grad_output, input, p: float = 0.5, training: bool = True, *, mask=None):
    """g * m / (1-p), the mask broadcast over the channel."""
    return _standard_backward("dropout1d", grad_output, input, p, training, mask)


def dropout2d(input, p: float = 0.5, training: bool = True, inplace: bool = False, *, mask=None):
    """Channel dropout, mask input.shape[:2]; 3-D input is (N, C, L) (torch >= 1.12)."""
    return _standard("dropout2d", input, p, training, mask)


def dropout2d_backward(grad_output, input, p: float = 0.5, training: bool = True, *, mask=None):
    """g * m / (1-p), the mask broadcast over the channel."""
    return _standard_backward("dropout2d", grad_output, input, p, training, mask)


def dropout3d(input, p: float = 0.5, training: bool = True, inplace: bool = False, *, mask=None):
    """Channel dropout for (N, C, D, H, W) (mask (N, C)) or unbatched input (mask (C,))."""
    return _standard("dropout3d", input, p, training, mask)


def dropout3d_backward(grad_output, input, p: float = 0.5, training: bool = True, *, mask=None):
    """g * m / (1-p), the mask broadcast over the channel."""
    return _standard_backward("dropout3d", grad_output, input, p, training, mask)


def alpha_dropout(input, p: float = 0.5, training: bool = False, inplace: bool = False, *,
                  mask=None):
    """Alpha dropout (note torch's functional default training=False): kept a x - alpha' a p,
    dropped a alpha' (1-p); see the module docstring."""
    return _alpha("alpha_dropout", input, p, training, mask)


def alpha_dropout_backward(grad_output, input, p: float = 0.5, training: bool = False, *,
                           mask=None):
    """g * m * a with the forward's mask."""
    return _alpha_backward("alpha_dropout", grad_output, input, p, training, mask)


def feature_alpha_dropout(input, p: float = 0.5, training: bool = False, inplace: bool = False,
                          *, mask=None):
    """Alpha dropout of whole channels, mask input.shape[:2] (default training=False)."""
    return _alpha("feature_alpha_dropout", input, p, training, mask)


def feature_alpha_dropout_backward(grad_output, input, p: float = 0.5, training: bool = False,
                                   *, mask=None):
    """g * m * a, the mask broadcast over the channel."""
    return _alpha_backward("feature_alpha_dropout", grad_output, input, p, training, mask)


def _distance(observed: np.ndarray, candidate: np.ndarray) -> np.ndarray:
    """|observed - candidate|, 0 where they are equal (inf == inf) or both nan, inf where exactly
    one is nan or they are infinities that differ."""
    with np.errstate(invalid="ignore", over="ignore"):
        d = np.abs(observed - candidate)
    d = np.where(observed == candidate, 0.0, d)
    d = np.where(np.isnan(observed) & np.isnan(candidate), 0.0, d)
    return np.where(np.isnan(d), np.inf, d)


def infer_dropout_mask(input, output, p: float, kind: str = "dropout") -> np.ndarray:
    """The keep-mask (shape ``dropout_mask_shape(kind, input.shape)``) that best explains an
    observed training-mode ``output`` of ``kind`` with probability p.

    Each element (or channel, summing over it) gets the candidate -- kept or dropped value from
    the formulas above -- with the smaller absolute distance to the observation (equal values,
    infinities included, and nan against nan are at distance 0; nan against a number is at
    infinite distance, so a dropped +-inf, which torch turns into nan, is identified). Ties,
    which carry no information (x == 0 in standard dropout: both candidates are
    0; x == nan in every variant: both are nan), resolve to kept; use finite inputs without exact
    zeros to identify every draw (the unidentified draws only affect the gradient). Alpha variants
    have one such point too: at x = alpha' = -1.7580993408473766 (the SELU saturation value) the
    kept value a x - alpha' a p equals the dropped value a alpha' (1 - p), and in a low-precision
    output the two round alike over a band of a few ulps around it; use inputs away from it
    (SELU outputs, the intended input, lie above it). p == 0 gives all True, p == 1 all False.
    A checker then runs the reference with this mask and compares with the usual tolerance:
    a wrong scale or shift shows up as a mismatch, not as a different mask.
    """
    _check_p(p)
    x = np.asarray(input, dtype=np.float64)
    y = np.asarray(output, dtype=np.float64)
    if x.shape != y.shape:
        raise ValueError(f"input shape {x.shape} and output shape {y.shape} differ")
    shape = dropout_mask_shape(kind, x.shape)
    if p == 0 or p == 1:
        return np.full(shape, p == 0)
    with np.errstate(invalid="ignore", over="ignore"):
        if kind in ("alpha_dropout", "feature_alpha_dropout"):
            a, shift, dropped = alpha_dropout_constants(p)
            kept_val, drop_val = x * a + shift, x * 0.0 + dropped
        else:
            kept_val, drop_val = x * (1.0 / (1.0 - p)), x * 0.0
    d_keep, d_drop = _distance(y, kept_val), _distance(y, drop_val)
    if kind in ("dropout", "alpha_dropout"):
        return ~(d_drop < d_keep)
    if len(shape) == 1:  # unbatched: the channel axis is axis 0
        d_keep, d_drop = d_keep[None], d_drop[None]
    axes = tuple(range(2, d_keep.ndim))
    keep = ~(np.sum(d_drop, axis=axes) < np.sum(d_keep, axis=axes))
    return keep.reshape(shape)
