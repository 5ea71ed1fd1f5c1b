"""Distance modules. Semantics: torch.nn.CosineSimilarity / torch.nn.PairwiseDistance
(torch/nn/modules/distance.py), which call the functionals of the same name."""

from __future__ import annotations

import numpy as np

from ..functional import distance as F
from .base import Module, Scales

__all__ = ["CosineSimilarity", "PairwiseDistance"]


class CosineSimilarity(Module):
    """cosine_similarity(x1, x2, dim, eps): x1.x2 / (max(||x1||, eps) max(||x2||, eps)) along dim
    (each norm clamped separately; see reference.functional.cosine_similarity)."""

    def __init__(self, dim: int = 1, eps: float = 1e-8):
        self.dim, self.eps = dim, eps

    def forward(self, params, buffers, inputs, training):
        x1, x2 = inputs
        return (F.cosine_similarity(x1, x2, self.dim, self.eps),), dict(buffers), (x1, x2)

    def backward(self, ctx, grad_outputs):
        x1, x2 = ctx
        return F.cosine_similarity_backward(grad_outputs[0], x1, x2, self.dim, self.eps), {}

    def error_scales(self, ctx, grad_outputs):
        """The dot product cancels: output scale sum |x1 x2| / (c1 c2); gradient
        g / c1 (w - k1 x1) scaled by |g| / c1 (|w| + |x1| sum|x1 w| / ||x1||^2) (k1 = 0 where
        the norm is clamped), likewise for x2 (c = max(||x||, eps), w = x2 / c2)."""
        x1, x2 = ctx
        a, b = np.broadcast_arrays(np.asarray(x1, dtype=np.float64),
                                   np.asarray(x2, dtype=np.float64))
        d = self.dim
        n1 = np.sqrt(np.sum(a * a, axis=d, keepdims=True))
        n2 = np.sqrt(np.sum(b * b, axis=d, keepdims=True))
        c1, c2 = np.maximum(n1, self.eps), np.maximum(n2, self.eps)
        ua, wa = np.abs(a) / c1, np.abs(b) / c2
        out = np.sum(ua * wa, axis=d)
        if grad_outputs is None:
            return Scales(outputs=(out,))
        g = np.abs(np.expand_dims(grad_outputs[0], d))
        with np.errstate(invalid="ignore", divide="ignore"):
            k1 = np.where(n1 > self.eps, np.sum(np.abs(a) * wa, axis=d, keepdims=True)
                          / (n1 * n1), 0.0)
            k2 = np.where(n2 > self.eps, np.sum(np.abs(b) * ua, axis=d, keepdims=True)
                          / (n2 * n2), 0.0)
        g1 = F._unbroadcast(g / c1 * (wa + k1 * np.abs(a)), np.shape(x1))
        g2 = F._unbroadcast(g / c2 * (ua + k2 * np.abs(b)), np.shape(x2))
        return Scales(outputs=(out,), input_grads=(g1, g2))


class PairwiseDistance(Module):
    """pairwise_distance(x1, x2, p, eps, keepdim) = ||x1 - x2 + eps||_p over the last axis."""

    def __init__(self, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False):
        self.norm, self.eps, self.keepdim = p, eps, keepdim

    def forward(self, params, buffers, inputs, training):
        x1, x2 = inputs
        out = F.pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)
        return (out,), dict(buffers), (x1, x2)

    def backward(self, ctx, grad_outputs):
        x1, x2 = ctx
        return F.pairwise_distance_backward(grad_outputs[0], x1, x2, self.norm, self.eps,
                                            self.keepdim), {}

    def error_scales(self, ctx, grad_outputs):
        """x1 - x2 + eps cancels: each difference is accurate relative to M = |x1| + |x2| + eps.
        Output scale ||M||_p; input-gradient terms g sign(d) |d|^(p-1) / ||d||^(p-1) are scaled
        by |g| (M / ||d||)^(p-1), and a broadcast input sums them (the sum cancels), so its
        scale is the sum of their magnitudes. Finite p >= 1 only (else purely relative)."""
        x1, x2 = ctx
        p = self.norm
        a, b = np.broadcast_arrays(np.asarray(x1, dtype=np.float64),
                                   np.asarray(x2, dtype=np.float64))
        if not (np.isfinite(p) and p >= 1) or a.ndim == 0:
            return None
        m = np.abs(a) + np.abs(b) + abs(self.eps)
        out = np.sum(m ** p, axis=-1, keepdims=self.keepdim) ** (1.0 / p)
        if grad_outputs is None:
            return Scales(outputs=(out,))
        d = a - b + self.eps
        norm = np.sum(np.abs(d) ** p, axis=-1, keepdims=True) ** (1.0 / p)
        g = np.abs(np.asarray(grad_outputs[0], dtype=np.float64))
        if not self.keepdim:
            g = np.expand_dims(g, -1)
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = g * np.where(norm > 0, (m / norm) ** (p - 1), 0.0)
        return Scales(outputs=(out,), input_grads=(F._unbroadcast(terms, np.shape(x1)),
                                                   F._unbroadcast(terms, np.shape(x2))))
