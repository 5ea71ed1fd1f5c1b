"""Classification losses: nll_loss, cross_entropy, linear_cross_entropy, multi-class margin losses.

Semantics: torch.nn.NLLLoss / CrossEntropyLoss / MultiMarginLoss / MultiLabelMarginLoss /
SoftMarginLoss / MultiLabelSoftMarginLoss docs, torch 2.13 ``torch/nn/functional.py``. Class
dimension: 0 for a 1-d input (C,), 1 otherwise ((N, C) or (N, C, d1, ..., dK)).
"""

from __future__ import annotations

import numpy as np

from .loss_common import (_broadcast_check, _check_reduction, _log_sigmoid, _log_softmax,
                          _log_softmax_backward, _reduce, _reduce_backward, _sigmoid,
                          _unbroadcast)

__all__ = [
    "nll_loss", "nll_loss_backward", "cross_entropy", "cross_entropy_backward",
    "linear_cross_entropy", "linear_cross_entropy_backward",
    "multi_margin_loss", "multi_margin_loss_backward",
    "multilabel_margin_loss", "multilabel_margin_loss_backward",
    "soft_margin_loss", "soft_margin_loss_backward",
    "multilabel_soft_margin_loss", "multilabel_soft_margin_loss_backward",
]


# --------------------------------------------------------------------------- layout helpers

def _rows(x):
    """(C,) or (N, C, d...) -> (M, C) rows with the class axis last."""
    if x.ndim == 1:
        return x[None, :]
    return np.moveaxis(x, 1, -1).reshape(-1, x.shape[1])


def _unrows(r, shape):
    """Inverse of ``_rows`` for an array of ``shape``."""
    if len(shape) == 1:
        return r.reshape(shape)
    moved = (shape[0],) + tuple(shape[2:]) + (shape[1],)
    return np.moveaxis(r.reshape(moved), -1, 1)


def _batch_shape(input_shape):
    return () if len(input_shape) == 1 else (input_shape[0],) + tuple(input_shape[2:])


def _check_index_target(input, target, weight, ignore_index):
    """Torch's nll_loss_nd shape/dtype/range checks; returns the flat target."""
    if input.ndim < 1:
        raise ValueError(f"Expected 1 or more dimensions (got {input.ndim})")
    if target.dtype.kind not in "iub":
        raise RuntimeError(f"expected target dtype to be Long or Byte, but got {target.dtype}")
    if input.ndim == 1 and target.ndim != 0:
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    if input.ndim > 1 and (target.ndim == 0 or input.shape[0] != target.shape[0]):
        raise ValueError(f"Expected input batch_size ({input.shape[0]}) to match target "
                         f"batch_size ({target.shape[0] if target.ndim else 0}).")
    if target.shape != _batch_shape(input.shape):
        raise RuntimeError(f"Expected target size {list(_batch_shape(input.shape))}, "
                           f"got {list(target.shape)}")
    C = input.shape[0] if input.ndim == 1 else input.shape[1]
    if weight is not None and weight.shape != (C,):
        raise RuntimeError(f"weight tensor should be defined either for all {C} classes or no "
                           f"classes but got weight tensor of shape: {list(weight.shape)}")
    t = target.reshape(-1).astype(np.int64)
    bad = (t != ignore_index) & ((t < 0) | (t >= C))
    if np.any(bad):
        raise IndexError(f"Target {t[bad][0]} is out of bounds.")
    return t


# --------------------------------------------------------------------------- nll / cross entropy

def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """l_n = -w[y_n] x[n, y_n] (0 where y_n == ignore_index).

    'mean' = sum_n l_n / sum_{n not ignored} w[y_n] (weighted mean; nan if every target is ignored);
    'none' has the target's shape. Source: torch.nn.NLLLoss docs. Out-of-range targets raise
    IndexError like torch.
    """
    _check_reduction(reduction)
    t = _check_index_target(input, target, weight, ignore_index)
    x = _rows(input)
    valid = t != ignore_index
    ts = np.where(valid, t, 0)
    wy = (np.ones(x.shape[1]) if weight is None else weight)[ts] * valid
    loss = -wy * x[np.arange(len(ts)), ts]
    if reduction == "mean":
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.asarray(loss.sum() / wy.sum())
    return _reduce(loss.reshape(target.shape), reduction)


def nll_loss_backward(grad_output, input, target, weight=None, ignore_index=-100, reduction="mean"):
    """dl/dx[n, y_n] = -w[y_n] g_n, zero elsewhere; g_n = g / sum w[y] for 'mean'.

    Ignored rows get exactly 0 even when every row is ignored and the 'mean' divisor is 0 (torch
    returns a zero gradient there, checked against torch 2.13).
    """
    t = _check_index_target(input, target, weight, ignore_index)
    x = _rows(input)
    valid = t != ignore_index
    ts = np.where(valid, t, 0)
    wy = (np.ones(x.shape[1]) if weight is None else weight)[ts] * valid
    with np.errstate(invalid="ignore", divide="ignore"):
        g = _row_cotangent(grad_output, len(ts), reduction, wy.sum())
    g = np.where(valid, g, 0.0)   # ignored rows get exactly 0, even when sum(w) is 0
    gx = np.zeros_like(x)
    gx[np.arange(len(ts)), ts] = -wy * g
    return _unrows(gx, input.shape), None


def _row_cotangent(grad_output, m, reduction, denom):
    if reduction == "none":
        return np.asarray(grad_output, dtype=np.float64).reshape(-1)
    g = np.full(m, float(grad_output))
    return g / denom if reduction == "mean" else g


def _ce_terms(input, target, weight, ignore_index, label_smoothing):
    """Per-row coefficients a[n, c] with l_n = -sum_c a[n, c] logp[n, c], plus the mean divisor."""
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    C = input.shape[0] if input.ndim == 1 else input.shape[1]
    w = np.ones(C) if weight is None else weight
    eps = label_smoothing
    if target.shape == input.shape:   # class probabilities (torch decides by shape equality)
        if target.dtype.kind != "f":
            raise RuntimeError("Expected floating point type for target with class "
                               f"probabilities, got {target.dtype}")
        if weight is not None and weight.shape != (C,):
            raise RuntimeError(f"weight tensor should be defined either for all {C} classes or "
                               f"no classes but got weight tensor of shape: {list(weight.shape)}")
        y = (1 - eps) * _rows(target) + eps / C
        return w * y, y.shape[0], True, np.ones(y.shape[0], bool)
    t = _check_index_target(input, target, weight, ignore_index)
    valid = t != ignore_index
    ts = np.where(valid, t, 0)
    a = np.zeros((len(t), C))
    a[np.arange(len(t)), ts] = (1 - eps) * w[ts]
    a = (a + eps / C * w) * valid[:, None]
    return a, np.sum(w[ts] * valid), False, valid


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean",
                  label_smoothing=0.0):
    """l_n = -sum_c a_nc log_softmax(x_n)_c; targets are class indices or probabilities.

    Class indices (target shape = input shape without the class dim):
      a_nc = w_c ((1 - e) [c = y_n] + e / C), zero for ignored rows; 'mean' divides by
      sum_{n not ignored} w[y_n] (the smoothing term too, aten cross_entropy_loss_label_smoothing);
      nan when all rows are ignored.
    Class probabilities (target shape = input shape, float): a_nc = w_c ((1 - e) y_nc + e / C);
      'mean' divides by the number of rows N*d1*...*dK (not by weights); ignore_index is unused.
    e = label_smoothing in [0, 1]. Source: torch.nn.CrossEntropyLoss docs.
    """
    _check_reduction(reduction)
    a, denom, _, _ = _ce_terms(input, target, weight, ignore_index, label_smoothing)
    loss = -np.sum(a * _log_softmax(_rows(input)), axis=-1)
    if reduction == "mean":
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.asarray(loss.sum() / denom)
    return _reduce(loss.reshape(_batch_shape(input.shape)), reduction)


def cross_entropy_backward(grad_output, input, target, weight=None, ignore_index=-100,
                           reduction="mean", label_smoothing=0.0):
    """dl/dx_n = g_n (softmax(x_n) sum_c a_nc - a_n); for probability targets also
    dl/dy_nc = -g_n (1 - e) w_c logp_nc (torch differentiates a float target)."""
    a, denom, probs, valid = _ce_terms(input, target, weight, ignore_index, label_smoothing)
    logp = _log_softmax(_rows(input))
    with np.errstate(invalid="ignore", divide="ignore"):
        g = _row_cotangent(grad_output, a.shape[0], reduction, denom)
    g = np.where(valid, g, 0.0)[:, None]   # ignored rows get exactly 0, even when denom is 0
    gx = _log_softmax_backward(-a * g, logp)
    gy = None
    if probs:
        w = np.ones(a.shape[1]) if weight is None else weight
        gy = _unrows(-(1 - label_smoothing) * w * logp * g, target.shape)
    return _unrows(gx, input.shape), gy


def _lce_logits(input, linear_weight, linear_bias):
    if input.ndim not in (1, 2):
        raise RuntimeError(f"expected input with dimensionality 1 or 2, got {input.ndim}")
    if linear_weight.ndim < 2:
        raise RuntimeError("expected linear_weight with dimensionality at least 2, "
                           f"got {linear_weight.ndim}")
    if input.shape[-1] != linear_weight.shape[-1]:
        raise RuntimeError("expected equal input and linear_weight last dimensions (in_features), "
                           f"got {input.shape[-1]} and {linear_weight.shape[-1]}, respectively")
    out = linear_weight.shape[:-1]
    if linear_bias is not None and linear_bias.shape != out:
        raise RuntimeError(f"expected linear_bias shape {out}, got {linear_bias.shape}")
    if len(out) > 1 and input.ndim == 1:
        raise RuntimeError(f"K-dimensional loss defined by linear_weight shape "
                           f"{linear_weight.shape} requires batched input")
    W2 = linear_weight.reshape(-1, linear_weight.shape[-1])
    z = input @ W2.T
    if linear_bias is not None:
        z = z + linear_bias.reshape(-1)
    return z.reshape(input.shape[:-1] + out), W2


def linear_cross_entropy(input, linear_weight, target, linear_bias=None, weight=None,
                         reduction="mean", ignore_index=None, label_smoothing=0.0):
    """cross_entropy(logits, target, ...), logits = input @ W.reshape(-1, in).T + b, reshaped to
    (*batch, C, d1..dK) for linear_weight of shape (C, d1..dK, in).

    Source: torch 2.13 functional.py ``linear_cross_entropy`` (the ``options=None`` reference path;
    the chunked path computes the same function). ``ignore_index=None`` maps to -100; passing it
    with probability targets raises.
    """
    z, _ = _lce_logits(input, linear_weight, linear_bias)
    if target.shape == z.shape and ignore_index is not None:
        raise RuntimeError("ignore_index cannot be specified when target contains probabilities")
    ii = -100 if ignore_index is None else ignore_index
    return cross_entropy(z, target, weight, ii, reduction, label_smoothing)


def linear_cross_entropy_backward(grad_output, input, linear_weight, target, linear_bias=None,
                                  weight=None, reduction="mean", ignore_index=None,
                                  label_smoothing=0.0):
    """Returns (d input, d linear_weight, d target, d linear_bias): the cross_entropy VJP dz
    chained through the linear map (dx = dz W, dW = dz^T x, db = sum dz)."""
    z, W2 = _lce_logits(input, linear_weight, linear_bias)
    ii = -100 if ignore_index is None else ignore_index
    gz, gy = cross_entropy_backward(grad_output, z, target, weight, ii, reduction, label_smoothing)
    gz2 = gz.reshape(input.shape[:-1] + (W2.shape[0],))
    gx = gz2 @ W2
    gW = (np.outer(gz2, input) if input.ndim == 1 else gz2.T @ input).reshape(linear_weight.shape)
    gb = None
    if linear_bias is not None:
        gb = (gz2 if input.ndim == 1 else gz2.sum(axis=0)).reshape(linear_bias.shape)
    return gx, gW, gy, gb


# --------------------------------------------------------------------------- margin losses

def _mm_check(input, target, p, weight):
    if p not in (1, 2):
        raise ValueError("only p == 1 and p == 2 supported")
    if weight is not None and weight.ndim != 1:
        raise ValueError("weight must be one-dimensional")
    x = input.reshape(1, -1) if input.ndim <= 1 else input
    n = 1 if input.ndim <= 1 else input.shape[0]
    if target.size != n or target.ndim > 1:
        raise RuntimeError("multi_margin_loss: target tensor should be 1-D with size equal to the "
                           f"number of input samples (batch size). Expected target size [{n}], "
                           f"but got {list(target.shape)}")
    t = target.reshape(-1).astype(np.int64)
    if np.any((t < 0) | (t >= x.shape[1])):
        raise RuntimeError("target out of range")
    return x, t


def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, reduction="mean"):
    """l_n = sum_{i != y_n} w[y_n] max(0, margin - x[y_n] + x[i])^p / C  (p in {1, 2}).

    'mean' averages over the N samples. Source: torch.nn.MultiMarginLoss docs.
    """
    x, t = _mm_check(input, target, p, weight)
    _check_reduction(reduction)
    n, C = x.shape
    wy = np.ones(n) if weight is None else weight[t]
    z = np.maximum(0.0, margin - x[np.arange(n), t][:, None] + x)
    z[np.arange(n), t] = 0.0
    loss = wy * np.sum(z ** p, axis=1) / C
    return _reduce(loss.reshape(target.shape), reduction)


def multi_margin_loss_backward(grad_output, input, target, p=1, margin=1.0, weight=None,
                               reduction="mean"):
    """dl/dx[i] = w[y] h_i / C for each active i != y (h = 1 for p = 1, 2 z for p = 2);
    dl/dx[y] = -sum_i of those."""
    x, t = _mm_check(input, target, p, weight)
    n, C = x.shape
    wy = np.ones(n) if weight is None else weight[t]
    g = _reduce_backward(grad_output, (n,), reduction).reshape(n)
    z = margin - x[np.arange(n), t][:, None] + x
    active = z > 0
    active[np.arange(n), t] = False
    h = active * (1.0 if p == 1 else 2.0 * z)
    gx = h * (wy * g / C)[:, None]
    gx[np.arange(n), t] -= gx.sum(axis=1)
    return gx.reshape(input.shape), None


def _mlm_targets(input, target):
    if target.shape != input.shape or input.ndim > 2:
        raise RuntimeError(f"inconsistent target size: {list(target.shape)} for input of size: "
                           f"{list(input.shape)}")
    x = input.reshape(1, -1) if input.ndim <= 1 else input
    t = target.reshape(x.shape).astype(np.int64)
    C = x.shape[1]
    sets = []
    for row in t:
        ys = []
        for v in row:   # a row's targets end at the first -1
            if v == -1:
                break
            if v < 0 or v >= C:
                raise RuntimeError("argument #2 'target' is out of range")
            ys.append(int(v))
        sets.append(ys)
    return x, sets


def multilabel_margin_loss(input, target, reduction="mean"):
    """l_n = sum_{j in Y_n} sum_{i not in Y_n} max(0, 1 - (x[y_j] - x[i])) / C.

    Y_n: the row's target indices up to the first -1 (torch.nn.MultiLabelMarginLoss docs);
    'mean' averages over the N samples.
    """
    _check_reduction(reduction)
    x, sets = _mlm_targets(input, target)
    C = x.shape[1]
    loss = np.zeros(x.shape[0])
    for n, ys in enumerate(sets):
        others = np.setdiff1d(np.arange(C), ys)
        for j in ys:
            loss[n] += np.sum(np.maximum(0.0, 1.0 - x[n, j] + x[n, others])) / C
    return _reduce(loss.reshape(input.shape[:-1]), reduction)


def multilabel_margin_loss_backward(grad_output, input, target, reduction="mean"):
    """Each active pair (j, i) adds g / C to dx[i] and -g / C to dx[y_j]."""
    x, sets = _mlm_targets(input, target)
    C = x.shape[1]
    g = _reduce_backward(grad_output, (x.shape[0],), reduction).reshape(-1)
    gx = np.zeros_like(x)
    for n, ys in enumerate(sets):
        others = np.setdiff1d(np.arange(C), ys)
        for j in ys:
            active = (1.0 - x[n, j] + x[n, others]) > 0
            gx[n, others] += active * g[n] / C
            gx[n, j] -= active.sum() * g[n] / C
    return gx.reshape(input.shape), None


def soft_margin_loss(input, target, reduction="mean"):
    """l = log(1 + exp(-y x)), 'mean' over all elements (torch.nn.SoftMarginLoss docs)."""
    _check_reduction(reduction)
    _broadcast_check(input, target)
    return _reduce(-_log_sigmoid(target * input), reduction)


def soft_margin_loss_backward(grad_output, input, target, reduction="mean"):
    """dl/dx = -y sigmoid(-y x) g. torch does not differentiate the target (raises if asked)."""
    shape = np.broadcast_shapes(input.shape, target.shape)
    g = _reduce_backward(grad_output, shape, reduction)
    return _unbroadcast(-target * _sigmoid(-target * input) * g, input.shape), None


def multilabel_soft_margin_loss(input, target, weight=None, reduction="mean"):
    """l_n = -(1/C) sum_c w_c (y_c log sigmoid(x_c) + (1 - y_c) log sigmoid(-x_c)).

    Reduced over the last (class) dimension first, then 'mean' over the remaining elements
    (functional.py ``multilabel_soft_margin_loss``; ``weight`` broadcasts).
    """
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")
    loss = -(target * _log_sigmoid(input) + (1 - target) * _log_sigmoid(-input))
    if weight is not None:
        loss = loss * weight
    return _reduce(loss.sum(axis=-1) / input.shape[-1], reduction)


def multilabel_soft_margin_loss_backward(grad_output, input, target, weight=None,
                                         reduction="mean"):
    """dl/dx = w (sigmoid(x) - y) g / C, dl/dy = -w x g / C
    (since log sigmoid(x) - log sigmoid(-x) = x)."""
    shape = np.broadcast_shapes(input.shape, target.shape)
    C = input.shape[-1]
    g = _reduce_backward(grad_output, shape[:-1], reduction)[..., None] / C
    if weight is not None:
        g = g * weight
    gx = (_sigmoid(input) - target) * g
    gy = -input * g
    return _unbroadcast(gx, input.shape), _unbroadcast(gy, target.shape)

