"""``torch.nn.utils`` gradient clipping as pure functions.

Gradients are passed as a list of arrays (``None`` for a parameter without a gradient, which is
skipped, as torch skips ``p.grad is None``) and the clipped copies come back; nothing is mutated.
Semantics: torch.nn.utils.clip_grad_norm_ / clip_grad_value_ / get_total_norm /
clip_grads_with_norm_ docs and torch/nn/utils/clip_grad.py.
"""

from __future__ import annotations

import numpy as np

__all__ = ["get_total_norm", "clip_grads_with_norm_", "clip_grad_norm_", "clip_grad_value_"]


def _vector_norm(x: np.ndarray, p: float) -> float:
    """torch.linalg.vector_norm of a flattened array (p = inf, -inf, 0 or any other real)."""
    a = np.abs(np.asarray(x, dtype=np.float64).ravel())
    if p == np.inf:
        return float(a.max()) if a.size else 0.0
    if p == -np.inf:
        return float(a.min()) if a.size else np.inf
    if p == 0:
        return float(np.count_nonzero(a))
    if p == 1:
        return float(a.sum())
    if p == 2:
        return float(np.sqrt(np.sum(a * a)))
    return float(np.sum(a ** p) ** (1.0 / p))


def get_total_norm(tensors, norm_type: float = 2.0, error_if_nonfinite: bool = False,
                   foreach=None) -> float:
    """total = || ( ||g_1||_p, ..., ||g_k||_p ) ||_p  — the norm of the per-tensor norms, which
    for p in (0, inf] equals the p-norm of all entries concatenated (for p = 0 it counts the
    tensors with a nonzero entry, a quirk of this two-level form). 0.0 for an empty list.
    Raises RuntimeError if the total is nan/inf and ``error_if_nonfinite``."""
    tensors = [t for t in tensors if t is not None]
    norm_type = float(norm_type)
    if len(tensors) == 0:
        return 0.0
    total = _vector_norm(np.array([_vector_norm(t, norm_type) for t in tensors]), norm_type)
    if error_if_nonfinite and (np.isnan(total) or np.isinf(total)):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is "
            "non-finite, so it cannot be clipped. To disable this error and scale the gradients "
            "by the non-finite norm anyway, set `error_if_nonfinite=False`")
    return total


def clip_grads_with_norm_(grads, max_norm: float, total_norm: float, foreach=None):
    """g <- g * min(1, max_norm / (total_norm + 1e-6)) (always multiplied, even by 1; a nan or
    inf total gives nan or 0 coefficients, as in torch)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        coef = float(max_norm) / (total_norm + 1e-6)
    coef = min(coef, 1.0) if not np.isnan(coef) else coef
    with np.errstate(invalid="ignore"):  # inf * 0 is nan, as in torch
        return [None if g is None else np.asarray(g, dtype=np.float64) * coef for g in grads]


def clip_grad_norm_(grads, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False, foreach=None):
    """Returns ``(total_norm, new_grads)``: ``get_total_norm`` then ``clip_grads_with_norm_``.

    Example: grads [3, 4] and [12] with norm_type 2 have total norm 13; max_norm 6.5 scales
    every gradient by 6.5 / (13 + 1e-6)."""
    total = get_total_norm(grads, norm_type, error_if_nonfinite, foreach)
    return total, clip_grads_with_norm_(grads, max_norm, total, foreach)


def clip_grad_value_(grads, clip_value: float, foreach=None):
    """g <- clamp(g, -clip_value, clip_value) elementwise; returns the new list."""
    c = float(clip_value)
    return [None if g is None else np.clip(np.asarray(g, dtype=np.float64), -c, c) for g in grads]
