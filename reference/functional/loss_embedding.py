"""Ranking and embedding losses: margin ranking, hinge embedding, cosine embedding, triplet.

Semantics: torch.nn.MarginRankingLoss / HingeEmbeddingLoss / CosineEmbeddingLoss /
TripletMarginLoss / TripletMarginWithDistanceLoss docs and torch 2.13 ``torch/nn/functional.py``;
the composite aten definitions (Loss.cpp) are restated in each docstring. Where a hinge is exactly
at 0, torch's clamp_min passes the gradient (mask ``z >= 0``); this reference does the same.
"""

from __future__ import annotations

import numpy as np

from .loss_common import (ATEN_LOSS_EPSILON, _check_reduction, _reduce, _reduce_backward,
                          _unbroadcast)

__all__ = [
    "margin_ranking_loss", "margin_ranking_loss_backward",
    "hinge_embedding_loss", "hinge_embedding_loss_backward",
    "cosine_embedding_loss", "cosine_embedding_loss_backward",
    "triplet_margin_loss", "triplet_margin_loss_backward",
    "triplet_margin_with_distance_loss", "triplet_margin_with_distance_loss_backward",
]

COSINE_EPS = ATEN_LOSS_EPSILON   # aten Loss.cpp EPSILON (a float) added to each squared magnitude


def margin_ranking_loss(input1, input2, target, margin=0.0, reduction="mean"):
    """l = max(0, -y (x1 - x2) + margin). All three arguments must have the same ndim."""
    if not input1.ndim == input2.ndim == target.ndim:
        raise RuntimeError("margin_ranking_loss : All input tensors should have same dimension but "
                           f"got sizes: input1: {input1.shape}, input2: {input2.shape}, "
                           f"target: {target.shape} ")
    _check_reduction(reduction)
    return _reduce(np.maximum(-target * (input1 - input2) + margin, 0.0), reduction)


def margin_ranking_loss_backward(grad_output, input1, input2, target, margin=0.0, reduction="mean"):
    """Active where z = -y (x1 - x2) + margin >= 0: dx1 = -y g, dx2 = y g, dy = -(x1 - x2) g."""
    shape = np.broadcast_shapes(input1.shape, input2.shape, target.shape)
    d = input1 - input2
    g = _reduce_backward(grad_output, shape, reduction) * (-target * d + margin >= 0)
    return (_unbroadcast(-target * g, input1.shape), _unbroadcast(target * g, input2.shape),
            _unbroadcast(-d * g, target.shape))


def hinge_embedding_loss(input, target, margin=1.0, reduction="mean"):
    """l = [y != 1] max(0, margin - x) + [y != -1] x.

    For y in {1, -1} this is the documented x (y = 1) / max(0, margin - x) (y = -1); other target
    values get both terms, as in aten's composite hinge_embedding_loss.
    """
    _check_reduction(reduction)
    loss = np.where(target != 1, np.maximum(margin - input, 0.0), 0.0) + np.where(target != -1,
                                                                                input, 0.0)
    return _reduce(loss, reduction)


def hinge_embedding_loss_backward(grad_output, input, target, margin=1.0, reduction="mean"):
    """dl/dx = [y != -1] - [y != 1][margin - x >= 0]; the target only selects (no gradient)."""
    shape = np.broadcast_shapes(input.shape, target.shape)
    g = _reduce_backward(grad_output, shape, reduction)
    gx = ((target != -1) * 1.0 - (target != 1) * (margin - input >= 0)) * g
    return _unbroadcast(gx, input.shape), None


def _cos_check(input1, input2, target):
    if target.ndim == 1:
        if input1.ndim != 2 or input2.ndim != 2:
            raise RuntimeError("1D target tensor expects 2D input tensors, but found inputs with "
                               f"sizes {list(input1.shape)} and {list(input2.shape)}.")
    elif target.ndim == 0:
        if input1.ndim != 1 or input2.ndim != 1:
            raise RuntimeError("0D target tensor expects 1D input tensors, but found inputs with "
                               f"sizes {list(input1.shape)} and {list(input2.shape)}.")
    else:
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")


def _cos(input1, input2):
    s = np.sum(input1 * input2, axis=-1)
    m1 = np.sum(input1 * input1, axis=-1) + COSINE_EPS
    m2 = np.sum(input2 * input2, axis=-1) + COSINE_EPS
    den = np.sqrt(m1 * m2)
    return s / den, m1, m2, den


def cosine_embedding_loss(input1, input2, target, margin=0.0, reduction="mean"):
    """l = 1 - cos(x1, x2) if y = 1; max(0, cos(x1, x2) - margin) if y = -1; 0 for other y.

    cos = <x1, x2> / sqrt((|x1|^2 + e)(|x2|^2 + e)), e = float(1e-12), over the last dim
    (aten Loss.cpp).
    """
    _cos_check(input1, input2, target)
    _check_reduction(reduction)
    c = _cos(input1, input2)[0]
    loss = np.where(target == 1, 1 - c, 0.0) + np.where(target == -1, np.maximum(c - margin, 0), 0.)
    return _reduce(loss, reduction)


def cosine_embedding_loss_backward(grad_output, input1, input2, target, margin=0.0,
                                   reduction="mean"):
    """dcos/dx1 = x2 / den - cos x1 / m1 (and symmetrically), den = sqrt(m1 m2)."""
    _cos_check(input1, input2, target)
    c, m1, m2, den = _cos(input1, input2)
    g = _reduce_backward(grad_output, c.shape, reduction)
    gc = (np.where(target == 1, -1.0, 0.0) + np.where(target == -1, 1.0, 0.0) * (c - margin >= 0))
    gc = (gc * g)[..., None]
    g1 = gc * (input2 / den[..., None] - (c / m1)[..., None] * input1)
    g2 = gc * (input1 / den[..., None] - (c / m2)[..., None] * input2)
    return g1, g2, None


# --------------------------------------------------------------------------- triplet

def pairwise_distance_ref(x1, x2, p=2.0, eps=1e-6):
    """||x1 - x2 + eps||_p over the last dim (aten pairwise_distance; issue #61538 on the eps)."""
    v = x1 - x2 + eps
    a = np.abs(v)
    if p == np.inf:
        return a.max(axis=-1)
    if p == 0:
        return (a != 0).sum(axis=-1).astype(np.float64)
    return np.sum(a ** p, axis=-1) ** (1.0 / p)


def pairwise_distance_ref_backward(g, x1, x2, p=2.0, eps=1e-6):
    """d||v||_p/dv = sign(v) |v|^(p-1) / ||v||^(p-1) (0 where ||v|| = 0); p = inf splits the
    gradient evenly among the maxima (torch's norm backward); p = 0 has zero gradient."""
    v = x1 - x2 + eps
    n = pairwise_distance_ref(x1, x2, p, eps)[..., None]
    a = np.abs(v)
    if p == np.inf:
        mask = a == n
        dv = np.sign(v) * mask / mask.sum(axis=-1, keepdims=True)
    elif p == 0:
        dv = np.zeros_like(v)
    elif p == 1:
        dv = np.sign(v)
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            dv = np.where(n > 0, np.sign(v) * a ** (p - 1) / n ** (p - 1), 0.0)
    dv = dv * np.asarray(g)[..., None]
    return _unbroadcast(dv, x1.shape), _unbroadcast(-dv, x2.shape)


def _triplet_check(anchor, positive, negative, margin):
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    if not anchor.ndim == positive.ndim == negative.ndim:
        raise RuntimeError("The anchor, positive, and negative tensors are expected to have the "
                           f"same number of dimensions, but got: anchor {anchor.ndim}D, positive "
                           f"{positive.ndim}D, and negative {negative.ndim}D inputs")


def _default_distance(p=2.0, eps=1e-6):
    def fwd(x1, x2):
        return pairwise_distance_ref(x1, x2, p, eps)

    def bwd(g, x1, x2):
        return pairwise_distance_ref_backward(g, x1, x2, p, eps)
    return fwd, bwd


def _triplet(anchor, positive, negative, dist, margin, swap):
    dp, dn = dist(anchor, positive), dist(anchor, negative)
    ds = dist(positive, negative) if swap else None
    dneg = np.minimum(dn, ds) if swap else dn
    return dp, dn, ds, margin + dp - dneg


def _triplet_backward(grad_output, anchor, positive, negative, dist, dist_bwd, margin, swap,
                      reduction):
    dp, dn, ds, z = _triplet(anchor, positive, negative, dist, margin, swap)
    g = _reduce_backward(grad_output, z.shape, reduction) * (z >= 0)
    ga, gp = dist_bwd(g, anchor, positive)
    ga, gp, gn = ga.copy(), gp.copy(), np.zeros_like(negative)
    if swap:   # torch.minimum's backward splits ties evenly
        wn = np.where(dn < ds, 1.0, np.where(dn == ds, 0.5, 0.0))
        g2a, g2n = dist_bwd(-g * wn, anchor, negative)
        g3p, g3n = dist_bwd(-g * (1 - wn), positive, negative)
        ga, gp, gn = ga + g2a, gp + g3p, gn + g2n + g3n
    else:
        g2a, g2n = dist_bwd(-g, anchor, negative)
        ga, gn = ga + g2a, gn + g2n
    return ga, gp, gn


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2.0, eps=1e-6, swap=False,
                        reduction="mean"):
    """l = max(0, margin + d(a, p) - d(a, n)), d(x1, x2) = ||x1 - x2 + eps||_p (last dim).

    With ``swap``, d(a, n) is replaced by min(d(a, n), d(p, n)) (Balntas et al. 2016).
    Source: torch.nn.TripletMarginLoss docs; margin <= 0 raises (functional.py).
    """
    _triplet_check(anchor, positive, negative, margin)
    _check_reduction(reduction)
    return _reduce(np.maximum(_triplet(anchor, positive, negative, _default_distance(p, eps)[0],
                                       margin, swap)[3], 0.0), reduction)


def triplet_margin_loss_backward(grad_output, anchor, positive, negative, margin=1.0, p=2.0,
                                 eps=1e-6, swap=False, reduction="mean"):
    """Gradients for (anchor, positive, negative) through the active hinge (z >= 0)."""
    fwd, bwd = _default_distance(p, eps)
    return _triplet_backward(grad_output, anchor, positive, negative, fwd, bwd, margin, swap,
                             reduction)


def triplet_margin_with_distance_loss(anchor, positive, negative, distance_function=None,
                                      margin=1.0, swap=False, reduction="mean"):
    """l = max(0, margin + D(a, p) - D(a, n)); D = ``distance_function`` or pairwise_distance
    (p = 2, eps = 1e-6). ``distance_function`` is a NumPy callable ``D(x1, x2) -> distances``.

    Source: torch 2.13 functional.py ``triplet_margin_with_distance_loss``.
    """
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    _triplet_check(anchor, positive, negative, margin)
    dist = distance_function or _default_distance()[0]
    return _reduce(np.maximum(_triplet(anchor, positive, negative, dist, margin, swap)[3], 0.0),
                   reduction)


def triplet_margin_with_distance_loss_backward(grad_output, anchor, positive, negative,
                                               distance_function=None, margin=1.0, swap=False,
                                               reduction="mean", distance_function_backward=None):
    """VJP for (anchor, positive, negative).

    A custom ``distance_function`` needs its VJP: either pass ``distance_function_backward`` or
    give the callable a ``backward`` attribute; both have the signature
    ``backward(grad_distances, x1, x2) -> (grad_x1, grad_x2)``.
    """
    if distance_function is None:
        fwd, bwd = _default_distance()
    else:
        fwd = distance_function
        bwd = distance_function_backward or getattr(distance_function, "backward", None)
        if bwd is None:
            raise ValueError("a custom distance_function needs distance_function_backward "
                             "(or a .backward attribute) to be differentiated")
    return _triplet_backward(grad_output, anchor, positive, negative, fwd, bwd, margin, swap,
                             reduction)
