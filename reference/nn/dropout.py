"""Dropout modules (torch/nn/modules/dropout.py) with the randomness as an explicit input.

API choice: the keep-mask is an extra positional input, ``inputs = (x, mask)`` (True = kept,
shape ``functional.dropout_mask_shape(kind, x.shape)``, see ``reference.functional.dropout``).
In eval, or at p == 0 or p == 1, ``inputs = (x,)`` suffices and a given mask is ignored. In
training with 0 < p < 1 and no mask, the module draws one itself, kept ~ Bernoulli(1 - p), from
``generator`` (a ``numpy.random.Generator``; by default one seeded from the input's bytes, so the
draw is a deterministic function of the input): the module then stands alone as a random
module, as the ``reference`` control backend runs it. ``input_grads`` has a ``None`` entry for a
given mask; the backward reuses the forward's mask (given or drawn). To check a backend's
random sample, recover its mask with ``functional.infer_dropout_mask(x, observed_output, p,
kind)`` and feed it back in. (The functional forms always require the mask.)

The constructors mirror torch: ``(p=0.5, inplace=False)``, p outside [0, 1] raises ValueError;
``generator`` is the reference's own (keyword only).
The module's ``training`` flag is the ``training`` argument of ``forward`` (torch's
``self.training``), also for AlphaDropout/FeatureAlphaDropout whose functional forms default to
training=False.
"""

from __future__ import annotations

import zlib

import numpy as np

from .. import functional as F
from .base import Module, Scales

__all__ = ["Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout",
           "FeatureAlphaDropout"]


def _rng(generator: np.random.Generator | None, x) -> np.random.Generator:
    """The given generator, or one seeded from the input's bytes (deterministic, pure)."""
    if generator is not None:
        return generator
    return np.random.default_rng(zlib.crc32(np.ascontiguousarray(x, dtype=np.float64).tobytes()))


class _DropoutNd(Module):
    kind = "dropout"
    fn = staticmethod(F.dropout)
    bwd = staticmethod(F.dropout_backward)

    def __init__(self, p: float = 0.5, inplace: bool = False, *,
                 generator: np.random.Generator | None = None):
        if p < 0 or p > 1:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p, self.inplace, self.generator = p, inplace, generator

    def forward(self, params, buffers, inputs, training):
        x = inputs[0]
        mask = inputs[1] if len(inputs) > 1 else None
        if mask is None and training and 0 < self.p < 1 and np.size(x) > 0:
            shape = F.dropout_mask_shape(self.kind, np.shape(x))  # raises for a wrong rank
            mask = _rng(self.generator, x).random(shape) < 1.0 - self.p
        y = self.fn(x, self.p, training, mask=mask)
        return (y,), dict(buffers), (x, mask, training, len(inputs))

    def backward(self, ctx, grad_outputs):
        x, mask, training, n_inputs = ctx
        (gx,) = self.bwd(grad_outputs[0], x, self.p, training, mask=mask)
        return (gx,) + (None,) * (n_inputs - 1), {}


class Dropout(_DropoutNd):
    """Elementwise: survivors x / (1-p) (as x * fl(1/(1-p))), mask of the input's shape."""


class Dropout1d(_DropoutNd):
    """Whole channels of (N, C, L) (mask (N, C)) or unbatched (C, L) (mask (C,)) input."""

    kind = "dropout1d"
    fn, bwd = staticmethod(F.dropout1d), staticmethod(F.dropout1d_backward)


class Dropout2d(_DropoutNd):
    """Whole channels, mask input.shape[:2]; a 3-D input is (N, C, L), as torch >= 1.12."""

    kind = "dropout2d"
    fn, bwd = staticmethod(F.dropout2d), staticmethod(F.dropout2d_backward)


class Dropout3d(_DropoutNd):
    """Whole channels of (N, C, D, H, W) (mask (N, C)) or unbatched (C, D, H, W) (mask (C,))."""

    kind = "dropout3d"
    fn, bwd = staticmethod(F.dropout3d), staticmethod(F.dropout3d_backward)


class _AlphaScales(_DropoutNd):
    def error_scales(self, ctx, grad_outputs):
        """Output: |a x| + |shift| (torch's x (m a) + b cancels near x = -shift/a, and a dropped
        entry adds the shift to the larger -alpha' a); the gradient g m a is a pure scaling
        (relative error). None where the op is the identity or zero (eval, p == 0 or 1)."""
        x, mask, training, _ = ctx
        x = np.asarray(x, dtype=np.float64)
        if not training or self.p in (0, 1) or x.size == 0:
            return None
        a, shift, _ = F.alpha_dropout_constants(self.p)
        with np.errstate(invalid="ignore", over="ignore"):
            return Scales(outputs=(np.abs(a * x) + abs(shift),), input_grads=(None,))


class AlphaDropout(_AlphaScales):
    """Alpha dropout, elementwise mask; identity in eval. Error scales: see ``_AlphaScales``."""

    kind = "alpha_dropout"
    fn, bwd = staticmethod(F.alpha_dropout), staticmethod(F.alpha_dropout_backward)


class FeatureAlphaDropout(_AlphaScales):
    """Alpha dropout of whole channels, mask input.shape[:2] (dim 0 is always the batch)."""

    kind = "feature_alpha_dropout"
    fn, bwd = staticmethod(F.feature_alpha_dropout), staticmethod(F.feature_alpha_dropout_backward)
