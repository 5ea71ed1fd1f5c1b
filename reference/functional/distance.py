"""Distances. Semantics: torch.nn.functional.cosine_similarity / pairwise_distance docs and the
torch.nn.PairwiseDistance docs (torch 2.13), verified against torch's outputs.
"""

from __future__ import annotations

import numpy as np

__all__ = ["cosine_similarity", "cosine_similarity_backward", "pairwise_distance",
           "pairwise_distance_backward"]


def _unbroadcast(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    while g.ndim > len(shape):
        g = g.sum(axis=0)
    for ax, n in enumerate(shape):
        if n == 1 and g.shape[ax] != 1:
            g = g.sum(axis=ax, keepdims=True)
    return g


def _cos_parts(x1, x2, dim, eps):
    a, b = np.broadcast_arrays(np.asarray(x1, dtype=np.float64), np.asarray(x2, dtype=np.float64))
    n1 = np.sqrt(np.sum(a * a, axis=dim, keepdims=True))
    n2 = np.sqrt(np.sum(b * b, axis=dim, keepdims=True))
    return a, b, np.maximum(n1, eps), np.maximum(n2, eps), n1, n2


def cosine_similarity(x1: np.ndarray, x2: np.ndarray, dim: int = 1,
                      eps: float = 1e-8) -> np.ndarray:
    """sum_dim(x1 x2) / (max(||x1||_2, eps) * max(||x2||_2, eps)), x1 and x2 broadcast together,
    ``dim`` of the broadcast shape reduced (squeezed).

    Each norm is clamped separately: this is the formula of the F.cosine_similarity docs and what
    torch 2.13 computes (aten cosine_similarity: ``(x1 / max(||x1||, eps)) . (x2 /
    max(||x2||, eps))``); the nn.CosineSimilarity docs' ``max(||x1|| ||x2||, eps)`` is outdated
    (for ||x1|| = 5e-9, ||x2|| ~ 1.1, eps = 1e-8 torch returns the per-norm value).
    """
    a, b, c1, c2, _, _ = _cos_parts(x1, x2, dim, eps)
    return np.sum((a / c1) * (b / c2), axis=dim)


def cosine_similarity_backward(grad_output: np.ndarray, x1: np.ndarray, x2: np.ndarray,
                               dim: int = 1, eps: float = 1e-8):
    """VJP of cosine_similarity: (d x1, d x2), each summed back to its own (broadcast) shape.

    With u = x1 / c1, w = x2 / c2, c = max(||x||, eps):
      d x1 = g / c1 * (w - [||x1|| > eps] (x1 . w) x1 / ||x1||^2)
    and symmetrically for x2 (a clamped norm is the constant eps, so its term drops).

    Torch quirk: aten clamps the norms in place under NoGradGuard, so autograd differentiates
    through the unclamped norm: where 0 < ||x1|| < eps torch's d x1 keeps the term,
    d x1 = g (w / eps - (x1 . w) x1 / (eps^2 ||x1||)), which is not the derivative of its own
    forward. The reference gives the true derivative; it agrees with torch wherever each norm is
    0 or >= eps.
    """
    a, b, c1, c2, n1, n2 = _cos_parts(x1, x2, dim, eps)
    g = np.expand_dims(grad_output, dim)
    u, w = a / c1, b / c2
    with np.errstate(invalid="ignore", divide="ignore"):
        k1 = np.where(n1 > eps, np.sum(a * w, axis=dim, keepdims=True) / (n1 * n1), 0.0)
        k2 = np.where(n2 > eps, np.sum(b * u, axis=dim, keepdims=True) / (n2 * n2), 0.0)
    gx1 = g / c1 * (w - k1 * a)
    gx2 = g / c2 * (u - k2 * b)
    return _unbroadcast(gx1, np.shape(x1)), _unbroadcast(gx2, np.shape(x2))


def _vector_norm(x: np.ndarray, p: float, axis: int, keepdims: bool) -> np.ndarray:
    ax = np.abs(x)
    if p == np.inf:
        return ax.max(axis=axis, keepdims=keepdims)
    if p == -np.inf:
        return ax.min(axis=axis, keepdims=keepdims)
    if p == 0:
        return (x != 0).sum(axis=axis, keepdims=keepdims).astype(np.float64)
    if p == 1:
        return ax.sum(axis=axis, keepdims=keepdims)
    if p == 2:
        return np.sqrt((ax * ax).sum(axis=axis, keepdims=keepdims))
    with np.errstate(divide="ignore"):
        return ((ax ** p).sum(axis=axis, keepdims=keepdims)) ** (1.0 / p)


def _vector_norm_backward(g: np.ndarray, x: np.ndarray, norm: np.ndarray, p: float) -> np.ndarray:
    """torch's norm_backward (g and norm with the reduced axis kept):
    p=0: 0; p=1: sign(x) g; p=+-inf: g sign(x) [|x| == norm] / (number of ties);
    p<1: sign(x) |x|^(p-1) norm^(1-p) g with 0 where x == 0;
    otherwise sign(x) |x|^(p-1) / norm^(p-1) g with 0 where norm == 0."""
    ax = np.abs(x)
    if p == 0:
        return np.zeros_like(x)
    if p == 1:
        return np.sign(x) * g
    if p in (np.inf, -np.inf):
        hit = (ax == norm)
        return g * np.sign(x) * hit / hit.sum(axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        if p < 1:
            scaled = np.where(x == 0, 0.0, np.sign(x) * ax ** (p - 1))
            return scaled * g * norm ** (1 - p)
        scale = np.where(norm == 0, 0.0, g / norm ** (p - 1))
        return np.sign(x) * ax ** (p - 1) * scale


def pairwise_distance(x1: np.ndarray, x2: np.ndarray, p: float = 2.0, eps: float = 1e-6,
                      keepdim: bool = False) -> np.ndarray:
    """||x1 - x2 + eps||_p over the last axis of the broadcast shape (aten pairwise_distance:
    ``norm(x1 - x2 + eps, p, output_dim - 1, keepdim)``).

    eps is added to every component of the difference, not to the norm (docs of
    nn.PairwiseDistance; pytorch/pytorch #61538). p may be any real, +-inf or 0 (the count of
    non-zero components); negative p gives (sum |d|^p)^(1/p).
    """
    d = np.asarray(x1, dtype=np.float64) - np.asarray(x2, dtype=np.float64) + eps
    return _vector_norm(d, p, -1, keepdim)


def pairwise_distance_backward(grad_output: np.ndarray, x1: np.ndarray, x2: np.ndarray,
                               p: float = 2.0, eps: float = 1e-6, keepdim: bool = False):
    """VJP: d x1 = dN(d), d x2 = -dN(d) (summed to each input's shape) with d = x1 - x2 + eps and
    dN the p-norm VJP of ``_vector_norm_backward`` (torch's conventions at zeros and ties)."""
    d = np.asarray(x1, dtype=np.float64) - np.asarray(x2, dtype=np.float64) + eps
    norm = _vector_norm(d, p, -1, True)
    g = grad_output if keepdim else np.expand_dims(grad_output, -1)
    gd = _vector_norm_backward(g, d, norm, p)
    return _unbroadcast(gd, np.shape(x1)), _unbroadcast(-gd, np.shape(x2))
