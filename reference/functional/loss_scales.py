"""Error scales of the losses: the magnitude of what each output and gradient sums.

Comparison measures error relative to ``max(|ref|, scale)`` (docs/tolerances.md). A loss or a
gradient that is a difference of larger terms (``exp(x) - y``, ``softmax - onehot``,
``margin + d(a, p) - d(a, n)``, ``sigmoid(x) - y``) loses digits to cancellation in every
implementation: its rounding error is proportional to the terms, not to the result. Each
``<loss>_scales(grad_output, *args, **kw)`` returns ``(output_scale, input_grad_scales)``: the same
formulas with every term replaced by its magnitude, reduced like the loss (sums of magnitudes,
divided by the same 'mean' denominator), ``None`` where the result is purely relative.

Where a term is an ``exp`` of a computed argument (softmax probabilities ``exp(z - lse)``), its
relative error is the argument's absolute error, ``eps (1 + |z| + lse)``; that factor is part of
the term's magnitude (as for SiLU's and Mish's gradients in ``reference.nn.activation``).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from .loss_classification import _batch_shape, _ce_terms, _rows, _unrows
from .loss_common import (ATEN_LOSS_EPSILON, _log_sigmoid, _reduce_backward, _sigmoid,
                          _unbroadcast)

__all__: list[str] = []


def _out(terms, reduction, denom=None):
    """The output scale: the terms' magnitudes reduced like the loss."""
    terms = np.abs(terms)
    if reduction == "none":
        return terms
    s = terms.sum()
    if reduction == "sum":
        return np.asarray(s)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(s / (terms.size if denom is None else denom))


def _g(grad_output, shape, reduction):
    """|cotangent| of each unreduced element."""
    return np.abs(_reduce_backward(np.asarray(grad_output, dtype=np.float64), shape, reduction))


# --------------------------------------------------------------------------- regression losses

def _broadcast_pair_scales(name, grad_output, input, target, reduction="mean", **kw):
    """A target (or input) broadcast against the other: its gradient sums the signed
    per-element gradients over the broadcast axes -- their magnitudes are the scale. Without
    broadcasting every result is a single rounded product (purely relative)."""
    from . import loss as L
    shape = np.broadcast_shapes(input.shape, target.shape)
    if input.shape == target.shape:
        return None, (None, None)
    g = _g(grad_output, shape, reduction)
    gx, gy = getattr(L, name + "_backward")(g, np.broadcast_to(input, shape),
                                            np.broadcast_to(target, shape), reduction="none",
                                            **kw)
    return None, (_unbroadcast(np.abs(gx), input.shape), _unbroadcast(np.abs(gy), target.shape))


def l1_loss_scales(grad_output, input, target, reduction="mean"):
    return _broadcast_pair_scales("l1_loss", grad_output, input, target, reduction)


def mse_loss_scales(grad_output, input, target, reduction="mean"):
    return _broadcast_pair_scales("mse_loss", grad_output, input, target, reduction)


def smooth_l1_loss_scales(grad_output, input, target, reduction="mean", beta=1.0):
    return _broadcast_pair_scales("smooth_l1_loss", grad_output, input, target, reduction,
                                  beta=beta)


def huber_loss_scales(grad_output, input, target, reduction="mean", delta=1.0):
    return _broadcast_pair_scales("huber_loss", grad_output, input, target, reduction,
                                  delta=delta)


# --------------------------------------------------------------------------- likelihood losses

def poisson_nll_loss_scales(grad_output, input, target, log_input=True, full=False, eps=1e-8,
                            reduction="mean"):
    """exp(x) - y x and its gradient exp(x) - y (log_input); x - y log(x + eps) and
    1 - y / (x + eps) otherwise, where log(x + eps), the log of a rounded sum, counts as
    |log(x + eps)| + 1; the Stirling term adds |y log y| + y + |0.5 log(2 pi y)|."""
    x, y = input, target
    with np.errstate(divide="ignore", invalid="ignore"):
        if log_input:
            t, gx, gy = np.exp(x) + np.abs(y * x), np.exp(x) + np.abs(y), np.abs(x) + 0 * y
        else:
            # log of a computed sum x + eps: absolute error of order eps even where it is near 0
            lx = np.abs(np.log(x + eps)) + 1
            t, gx, gy = np.abs(x) + np.abs(y) * lx, 1 + np.abs(y / (x + eps)), lx + 0 * y
        if full:
            safe = np.where(y > 1, y, 2.0)
            t = t + np.where(y > 1, np.abs(safe * np.log(safe)) + safe
                             + np.abs(0.5 * np.log(2 * math.pi * safe)), 0.0)
            # d/dy (y log y - y) = log y + 1 - 1: the product rule's +1 and -1 are terms too
            gy = gy + np.where(y > 1, np.abs(np.log(safe)) + 2 + 0.5 / safe, 0.0)
    shape = np.broadcast_shapes(x.shape, y.shape)
    g = _g(grad_output, shape, reduction)
    return _out(np.broadcast_to(t, shape), reduction), (_unbroadcast(gx * g, x.shape),
                                                        _unbroadcast(gy * g, y.shape))


def gaussian_nll_loss_scales(grad_output, input, target, var, full=False, eps=1e-6,
                             reduction="mean"):
    """0.5 (|log v| + d^2 / v) (+ 0.5 log 2 pi); the var gradient 0.5 (1 / v - d^2 / v^2)
    cancels: 0.5 (1 / v + d^2 / v^2)."""
    from .loss import _gaussian_var
    v0 = _gaussian_var(input, var)
    v = np.maximum(v0, eps)
    d2 = (input - target) ** 2
    t = 0.5 * (np.abs(np.log(v)) + d2 / v) + (0.5 * math.log(2 * math.pi) if full else 0.0)
    shape = np.broadcast_shapes(input.shape, target.shape, v.shape)
    g = _g(grad_output, shape, reduction)
    gv = None
    if not isinstance(var, numbers.Real):
        gv = _unbroadcast(0.5 * (1 / v + d2 / (v * v)) * g, v0.shape).reshape(np.shape(var))
    return _out(np.broadcast_to(t, shape), reduction), (None, None, gv)


def kl_div_scales(grad_output, input, target, reduction="mean", log_target=False):
    """|y log y| + |y x| (or exp(y) (|y| + |x|)); the target gradient log y + 1 - x (or
    exp(y) (y - x + 1)) sums |log y| + 1 + |x|."""
    x, y = input, target
    with np.errstate(divide="ignore", invalid="ignore"):
        if log_target:
            e = np.exp(y)
            t, gy = e * (np.abs(y) + np.abs(x)), e * (np.abs(y) + np.abs(x) + 1)
        else:
            safe = np.where(y > 0, y, 1.0)
            t = np.abs(np.where(y == 0, 0.0, y * np.log(safe))) + np.abs(y * x)
            gy = np.abs(np.log(y)) + 1 + np.abs(x)
    shape = np.broadcast_shapes(x.shape, y.shape)
    if reduction == "batchmean":
        n = x.shape[0] if x.ndim else 1
        g = np.abs(np.broadcast_to(grad_output, shape)) / n
        out = _out(np.broadcast_to(t, shape), "mean", n)
    else:
        g = _g(grad_output, shape, reduction)
        out = _out(np.broadcast_to(t, shape), reduction)
    return out, (None, _unbroadcast(gy * g, y.shape))


# --------------------------------------------------------------------------- binary losses

def binary_cross_entropy_scales(grad_output, input, target, weight=None, reduction="mean"):
    """Gradients (x - y) / max(x (1 - x), 1e-12) and log(1 - x) - log(x) are differences: their
    terms are (|x| + |y|) / max(x (1 - x), 1e-12) and |log(1 - x)| + |log x| (times |w|)."""
    x, y = input, target
    w = 1.0 if weight is None else np.abs(np.broadcast_to(weight, y.shape))
    g = _g(grad_output, x.shape, reduction) * w
    with np.errstate(divide="ignore"):
        gx = (np.abs(x) + np.abs(y)) / np.maximum(x * (1 - x), ATEN_LOSS_EPSILON) * g
        gy = (np.abs(np.log1p(-x)) + np.abs(np.log(x))) * g
    return None, (gx, gy)


def binary_cross_entropy_with_logits_scales(grad_output, input, target, weight=None,
                                            reduction="mean", pos_weight=None):
    """The stable formulation every framework uses, (1 - y) x + l (max(-x, 0) + log1p(exp(-|x|)))
    with l = 1 + (p - 1) y, adds terms of size |x| (it cancels where the loss is small); the
    input gradient sigmoid(x) (1 + (p - 1) y) - p y and the target gradient
    log sigmoid(-x) - p log sigmoid(x) are differences too."""
    x, y = input, target
    p = 1.0 if pos_weight is None else np.abs(pos_weight)
    lw = np.abs(1 + (p - 1) * y)
    t = np.abs((1 - y) * x) + lw * (np.maximum(-x, 0) + np.log1p(np.exp(-np.abs(x))))
    shape = np.broadcast_shapes(x.shape, np.shape(p), () if weight is None else weight.shape)
    if weight is not None:
        t = np.abs(weight) * t
    g = _g(grad_output, shape, reduction)
    if weight is not None:
        g = g * np.abs(weight)
    gx = (_sigmoid(x) * lw + np.abs(p * y)) * g
    gy = (p * np.abs(_log_sigmoid(x)) + np.abs(_log_sigmoid(-x))) * g
    return _out(np.broadcast_to(t, shape), reduction), (_unbroadcast(gx, x.shape),
                                                        _unbroadcast(gy, y.shape))


def multilabel_soft_margin_loss_scales(grad_output, input, target, weight=None,
                                       reduction="mean"):
    """Gradients w (sigmoid(x) - y) / C and, through the two log-sigmoids of the definition,
    -w (log sigmoid(x) - log sigmoid(-x)) / C."""
    shape = np.broadcast_shapes(input.shape, target.shape)
    C = input.shape[-1]
    g = _g(grad_output, shape[:-1], reduction)[..., None] / C
    if weight is not None:
        g = g * np.abs(weight)
    gx = (_sigmoid(input) + np.abs(target)) * g
    gy = (np.abs(_log_sigmoid(input)) + np.abs(_log_sigmoid(-input))) * g
    return None, (_unbroadcast(gx, input.shape), _unbroadcast(gy, target.shape))


# --------------------------------------------------------------------------- classification

def _lse_parts(rows):
    """z = x - max and log(sum exp z) per row."""
    z = rows - rows.max(axis=-1, keepdims=True)
    return z, np.log(np.exp(z).sum(axis=-1, keepdims=True))


def nll_loss_scales(grad_output, input, target, weight=None, ignore_index=-100,
                    reduction="mean"):
    """The reduced loss sums the signed terms -w[y_n] x[n, y_n]: their magnitudes |w x| (divided
    by sum w[y_n] for 'mean'); 'none' and the gradient (-w g) are purely relative."""
    if reduction == "none":
        return None, (None, None)
    from .loss_classification import _check_index_target
    t = _check_index_target(input, target, weight, ignore_index)
    x = _rows(input)
    valid = t != ignore_index
    ts = np.where(valid, t, 0)
    wy = (np.ones(x.shape[1]) if weight is None else np.abs(weight))[ts] * valid
    terms = wy * np.abs(x[np.arange(len(ts)), ts])
    return _out(terms, reduction, wy.sum()), (None, None)


def cross_entropy_scales(grad_output, input, target, weight=None, ignore_index=-100,
                         reduction="mean", label_smoothing=0.0, logit_scale=None):
    """l_n = -sum_c a_nc (z_nc - lse_n), lse_n = log(s_n), s_n = sum_c exp(z_nc) >= 1: each
    log-probability is a difference of |z_nc| and lse_n, and lse_n, the log of a computed sum,
    carries an absolute error of order eps (the sum's relative error) even where lse_n is near 0
    -- so a log-probability's magnitude is d_nc = |z_nc| + lse_n + 1 and the loss sums
    |a_nc| d_nc. The input gradient g_n (p_nc sum_c a_nc - a_nc) cancels for the target class;
    p = exp(z - lse) carries the relative error eps d_nc of its argument. A probability target's
    gradient -g_n (1 - e) w_c logp_nc sums d_nc.

    ``logit_scale`` (same shape as ``input``): the error scale of the logits themselves (a
    matrix product upstream, LinearCrossEntropyLoss); its errors move every log-probability by
    up to ``logit_scale_c + sum_j p_j logit_scale_j`` and are added to each term.
    Returns (output, (input, target)) scales.
    """
    a, denom, probs, valid = _ce_terms(input, target, weight, ignore_index, label_smoothing)
    z, ls = _lse_parts(_rows(input))
    p = np.exp(z - ls)
    A = np.abs(a).sum(axis=-1, keepdims=True)
    dz = np.abs(z) + ls + 1
    if logit_scale is not None:
        s = _rows(logit_scale)
        dz = dz + s + (p * s).sum(axis=-1, keepdims=True)
    row_t = (np.abs(a) * dz).sum(axis=-1)
    if reduction == "none":
        out = row_t.reshape(_batch_shape(input.shape))
    elif reduction == "sum":
        out = np.asarray(row_t.sum())
    else:
        with np.errstate(invalid="ignore", divide="ignore"):
            out = np.asarray(row_t.sum() / denom)
    if reduction == "none":
        gn = np.abs(np.asarray(grad_output, dtype=np.float64)).reshape(-1)
    else:
        with np.errstate(invalid="ignore", divide="ignore"):
            gn = np.full(a.shape[0], abs(float(grad_output)) / np.float64(
                denom if reduction == "mean" else 1.0))
    gn = np.where(valid, gn, 0.0)[:, None]
    gx = gn * (p * A * dz + np.abs(a))
    gy = None
    if probs:
        w = np.ones(a.shape[1]) if weight is None else np.abs(weight)
        gy = _unrows(gn * (1 - label_smoothing) * w * dz, target.shape)
    return out, (_unrows(gx, input.shape), gy)


def multi_margin_loss_scales(grad_output, input, target, p=1, margin=1.0, weight=None,
                             reduction="mean"):
    """z_i = margin - x_y + x_i carries an error of eps (|margin| + |x_y| + |x_i|) = eps Z_i:
    the loss sums |z_i|^(p-1) Z_i-sized terms, the p = 2 gradient 2 z_i sums Z_i-sized ones."""
    x = input.reshape(1, -1) if input.ndim <= 1 else input
    t = target.reshape(-1).astype(np.int64)
    n, C = x.shape
    wy = np.ones(n) if weight is None else np.abs(weight[t])
    xy = x[np.arange(n), t][:, None]
    z = margin - xy + x
    Z = abs(margin) + np.abs(xy) + np.abs(x)
    active = z > 0
    active[np.arange(n), t] = False
    term = (Z if p == 1 else np.abs(z) * (np.abs(z) + 2 * Z)) * active
    out = _out((wy * term.sum(axis=1) / C).reshape(target.shape), reduction)
    if p == 1:
        return out, (None, None)
    g = _g(grad_output, (n,), reduction).reshape(n)
    gx = 2 * Z * active * (wy * g / C)[:, None]
    gx[np.arange(n), t] = gx.sum(axis=1)
    return out, (gx.reshape(input.shape), None)


# --------------------------------------------------------------------------- embedding losses

def hinge_embedding_loss_scales(grad_output, input, target, margin=1.0, reduction="mean"):
    """The terms [y != 1] max(0, margin - x) + [y != -1] x are signed (x for y = 1): the reduced
    loss sums their magnitudes; the gradient (+-1, 0) is exact."""
    t = (np.where(target != 1, np.maximum(margin - input, 0.0), 0.0)
         + np.where(target != -1, np.abs(input), 0.0))
    return _out(t, reduction) if reduction != "none" else None, (None, None)


def cosine_embedding_loss_scales(grad_output, input1, input2, target, margin=0.0,
                                 reduction="mean"):
    """cos = <x1, x2> / den sums |x1 x2| / den =: S; the loss 1 - cos or cos - margin adds 1 or
    |margin|; the gradient x2 / den - cos x1 / m1 cancels: |x2| / den + (|cos| + S) |x1| / m1."""
    from .loss_embedding import _cos
    c, m1, m2, den = _cos(input1, input2)
    S = np.sum(np.abs(input1 * input2), axis=-1) / den
    t = np.where(target == 1, 1 + S, 0.0) + np.where(target == -1, abs(margin) + S, 0.0)
    out = _out(t, reduction)
    g = _g(grad_output, c.shape, reduction)
    gc = (g * ((target == 1) | (target == -1)))[..., None]
    k = (np.abs(c) + S)[..., None]
    g1 = gc * (np.abs(input2) / den[..., None] + k * np.abs(input1) / m1[..., None])
    g2 = gc * (np.abs(input1) / den[..., None] + k * np.abs(input2) / m2[..., None])
    return out, (g1, g2, None)


def _pdist_scales(p, eps):
    """Scales of pairwise_distance(x1, x2, p, eps) = ||v||_p, v = x1 - x2 + eps: v_i carries an
    error of eps V_i, V_i = |x1_i| + |x2_i| + |eps| (it cancels where x1_i - x2_i ~ -eps), which
    moves the distance by sum |v_i|^(p-1) V_i / ||v||^(p-1) and the gradient component
    sign(v_i) |v_i|^(p-1) / ||v||^(p-1) by (p-1) |v_i|^(p-2) V_i / ||v||^(p-1) (p = 1: an exact
    sign). Returns f(x1, x2) -> (distance scale, gradient-component scale per unit cotangent)."""
    def f(x1, x2):
        v = x1 - x2 + eps
        a, V = np.abs(v), np.abs(x1) + np.abs(x2) + abs(eps)
        n = np.sum(a ** p, axis=-1, keepdims=True) ** (1.0 / p)
        if p == 1:
            return n[..., 0] + V.sum(axis=-1), np.ones_like(v)
        with np.errstate(divide="ignore", invalid="ignore"):
            d = np.where(n > 0, a ** (p - 1) * V / n ** (p - 1), V).sum(axis=-1)
            comp = np.where(n > 0, a ** (p - 2) * (a + (p - 1) * V) / n ** (p - 1), 0.0)
        return n[..., 0] + d, comp
    return f


def _generic_scales(dist, dist_bwd):
    """A custom distance: its value and the magnitudes of its gradient components."""
    def f(x1, x2):
        d = dist(x1, x2)
        return np.abs(d), np.abs(dist_bwd(np.ones(np.shape(d)), x1, x2)[0])
    return f


def _triplet_scales(grad_output, anchor, positive, negative, dist, dist_sc, margin, swap,
                    reduction):
    """margin + d(a, p) - d(a, n) sums |margin| + d(a, p) + d(a, n) (plus the distances' own
    error scales); each embedding's gradient is a difference of the two distances' gradients:
    the magnitudes of both are added."""
    from .loss_embedding import _triplet
    dp, dn, ds, z = _triplet(anchor, positive, negative, dist, margin, swap)
    sp, cp = dist_sc(anchor, positive)
    sn, cn = dist_sc(anchor, negative)
    if swap:
        ss, cs = dist_sc(positive, negative)
        wn = np.where(dn < ds, 1.0, np.where(dn == ds, 0.5, 0.0))
        sneg = wn * sn + (1 - wn) * ss
    else:
        wn, sneg = 1.0, sn
    out = _out(abs(margin) + sp + sneg, reduction)
    g = (_g(grad_output, z.shape, reduction) * (z >= 0))[..., None]
    wn = np.broadcast_to(wn, z.shape)[..., None]
    ga = g * (cp + wn * cn)
    gp = g * cp
    gn = g * wn * cn
    if swap:
        gp = gp + g * (1 - wn) * cs
        gn = gn + g * (1 - wn) * cs
    return out, (ga, gp, gn)


def triplet_margin_loss_scales(grad_output, anchor, positive, negative, margin=1.0, p=2.0,
                               eps=1e-6, swap=False, reduction="mean"):
    from .loss_embedding import _default_distance
    fwd, _ = _default_distance(p, eps)
    return _triplet_scales(grad_output, anchor, positive, negative, fwd, _pdist_scales(p, eps),
                           margin, swap, reduction)


def triplet_margin_with_distance_loss_scales(grad_output, anchor, positive, negative,
                                             distance_function=None, margin=1.0, swap=False,
                                             reduction="mean", distance_function_backward=None):
    from .loss_embedding import _default_distance
    if distance_function is None:
        fwd, sc = _default_distance()[0], _pdist_scales(2.0, 1e-6)
    else:
        fwd = distance_function
        sc = _generic_scales(fwd, distance_function_backward
                             or getattr(distance_function, "backward"))
    return _triplet_scales(grad_output, anchor, positive, negative, fwd, sc, margin, swap,
                           reduction)
