"""Losses: regression, probabilistic and binary losses, plus re-exports of the other loss families.

Semantics: the torch.nn loss docs (https://pytorch.org/docs/stable/nn.html#loss-functions) and
torch's Python source, ``torch/nn/functional.py`` and ``torch/nn/modules/loss.py`` (torch 2.13).
'mean' divides by the number of elements unless a docstring says otherwise (the denominators that
differ: weighted NLL/CE, KLDiv 'batchmean', CTC, weighted L1/MSE; see each docstring).

Backward convention: ``<name>_backward(grad_output, <same args>)`` returns a tuple with one entry
per positional array argument of the forward (``input, target[, var]``), the gradient where torch
differentiates that argument and ``None`` where it does not (integer targets, ``pos_weight``...).
Keyword tensors such as ``weight`` are treated as constants (no gradient is returned for them).
"""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from .loss_common import (ATEN_LOSS_EPSILON, REDUCTIONS, _broadcast_check,  # noqa: F401
                          _check_reduction, _log_sigmoid, _reduce, _reduce_backward, _sigmoid,
                          _unbroadcast)
from .loss_classification import *  # noqa: F401,F403
from .loss_classification import __all__ as _cls_all
from .loss_embedding import *  # noqa: F401,F403
from .loss_embedding import __all__ as _emb_all
from .loss_ctc import *  # noqa: F401,F403
from .loss_ctc import __all__ as _ctc_all

__all__ = [
    "l1_loss", "l1_loss_backward", "mse_loss", "mse_loss_backward",
    "smooth_l1_loss", "smooth_l1_loss_backward", "huber_loss", "huber_loss_backward",
    "poisson_nll_loss", "poisson_nll_loss_backward",
    "gaussian_nll_loss", "gaussian_nll_loss_backward",
    "kl_div", "kl_div_backward",
    "binary_cross_entropy", "binary_cross_entropy_backward",
    "binary_cross_entropy_with_logits", "binary_cross_entropy_with_logits_backward",
] + list(_cls_all) + list(_emb_all) + list(_ctc_all)


# --------------------------------------------------------------------------- pointwise regression

def _broadcast_pair(input, target):
    """torch broadcasts input against target with a UserWarning (functional.py l1/mse/...)."""
    if input.shape != target.shape:
        warnings.warn(f"Using a target size ({target.shape}) that is different to the input size "
                      f"({input.shape}). This will likely lead to incorrect results due to "
                      "broadcasting. Please ensure they have the same size.", stacklevel=3)
    try:
        return np.broadcast_shapes(input.shape, target.shape)
    except ValueError as e:
        raise RuntimeError(f"The size of tensor a {input.shape} must match the size of tensor b "
                           f"{target.shape}") from e


def _check_elementwise_weight(weight, input, reduction):
    if weight is not None:
        if weight.shape != input.shape:
            raise ValueError("Weights and input must have the same size.")
        if reduction not in REDUCTIONS:
            raise ValueError(f"Invalid reduction mode: {reduction}. "
                             "Expected one of 'none', 'mean', 'sum'.")
    else:
        _check_reduction(reduction)


def _weighted_reduce(loss, weight, reduction, mean_by_weight_sum):
    if weight is not None:
        loss = loss * weight
    if reduction == "mean" and weight is not None and mean_by_weight_sum:
        return np.asarray(loss.sum() / weight.sum())
    return _reduce(loss, reduction)


def _weighted_reduce_backward(grad_output, shape, weight, reduction, mean_by_weight_sum):
    """Cotangent of each unreduced (unweighted) element, weight included."""
    if reduction == "mean" and weight is not None and mean_by_weight_sum:
        g = np.broadcast_to(grad_output, shape) / weight.sum()
    else:
        g = _reduce_backward(grad_output, shape, reduction)
    return g * weight if weight is not None else g


def l1_loss(input, target, reduction="mean", weight=None):
    """l = w * |x - y| (broadcast, with a warning when shapes differ).

    'mean' is mean(l) without weight and sum(w * |x - y|) / sum(w) with it (torch 2.13
    functional.py ``l1_loss``; ``weight`` must have the input's shape).
    """
    _check_elementwise_weight(weight, input, reduction)
    _broadcast_pair(input, target)
    return _weighted_reduce(np.abs(input - target), weight, reduction, True)


def l1_loss_backward(grad_output, input, target, reduction="mean", weight=None):
    """dl/dx = sign(x - y) * g (sign(0) = 0, as torch's sgn), dl/dy = -dl/dx."""
    shape = _broadcast_pair(input, target)
    g = _weighted_reduce_backward(grad_output, shape, weight, reduction, True)
    gd = np.sign(input - target) * g
    return _unbroadcast(gd, input.shape), _unbroadcast(-gd, target.shape)


def mse_loss(input, target, reduction="mean", weight=None):
    """l = w * (x - y)^2; 'mean' as ``l1_loss`` (sum(w l) / sum(w) when weighted).

    Source: torch 2.13 functional.py ``mse_loss``; input and target broadcast with a warning.
    """
    _check_elementwise_weight(weight, input, reduction)
    _broadcast_pair(input, target)
    return _weighted_reduce((input - target) ** 2, weight, reduction, True)


def mse_loss_backward(grad_output, input, target, reduction="mean", weight=None):
    """dl/dx = 2 (x - y) * g_elem, dl/dy = -dl/dx (g_elem: see ``_reduce_backward``)."""
    shape = _broadcast_pair(input, target)
    g = _weighted_reduce_backward(grad_output, shape, weight, reduction, True)
    gd = 2.0 * (input - target) * g
    return _unbroadcast(gd, input.shape), _unbroadcast(-gd, target.shape)


def smooth_l1_loss(input, target, reduction="mean", beta=1.0):
    """l = 0.5 d^2 / beta if |d| < beta else |d| - 0.5 beta, d = x - y; beta = 0 is L1.

    Source: torch.nn.SmoothL1Loss docs; functional.py routes beta == 0 to l1_loss; a negative beta
    raises. Relation to Huber: Huber_delta = delta * SmoothL1_{beta=delta} (PR #44433).
    """
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    _check_reduction(reduction)
    _broadcast_pair(input, target)
    if beta == 0.0:
        return l1_loss(input, target, reduction)
    d = np.abs(input - target)
    return _reduce(np.where(d < beta, 0.5 * d * d / beta, d - 0.5 * beta), reduction)


def smooth_l1_loss_backward(grad_output, input, target, reduction="mean", beta=1.0):
    """dl/dd = d / beta inside |d| < beta, sign(d) outside (continuous at |d| = beta)."""
    if beta == 0.0:
        return l1_loss_backward(grad_output, input, target, reduction)
    shape = _broadcast_pair(input, target)
    g = _reduce_backward(grad_output, shape, reduction)
    d = input - target
    gd = np.where(np.abs(d) < beta, d / beta, np.sign(d)) * g
    return _unbroadcast(gd, input.shape), _unbroadcast(-gd, target.shape)


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    """l = w * (0.5 d^2 if |d| <= delta else delta (|d| - 0.5 delta)), d = x - y.

    'mean' is mean(w l) over all elements even with a weight -- unlike l1/mse, which divide by
    sum(w) (torch 2.13 functional.py ``huber_loss``). delta <= 0 raises.
    """
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    _check_elementwise_weight(weight, input, reduction)
    _broadcast_pair(input, target)
    d = np.abs(input - target)
    loss = np.where(d <= delta, 0.5 * d * d, delta * (d - 0.5 * delta))
    return _weighted_reduce(loss, weight, reduction, False)


def huber_loss_backward(grad_output, input, target, reduction="mean", delta=1.0, weight=None):
    """dl/dd = clip(d, -delta, delta) * w * g."""
    shape = _broadcast_pair(input, target)
    g = _weighted_reduce_backward(grad_output, shape, weight, reduction, False)
    gd = np.clip(input - target, -delta, delta) * g
    return _unbroadcast(gd, input.shape), _unbroadcast(-gd, target.shape)


# --------------------------------------------------------------------------- likelihood losses

def _stirling(target):
    """y log y - y + 0.5 log(2 pi y) where y > 1, else 0 (torch's masked Stirling term)."""
    safe = np.where(target > 1, target, 2.0)
    s = safe * np.log(safe) - safe + 0.5 * np.log(2 * math.pi * safe)
    return np.where(target > 1, s, 0.0)


def poisson_nll_loss(input, target, log_input=True, full=False, eps=1e-8, reduction="mean"):
    """l = exp(x) - y x (log_input) or x - y log(x + eps); full adds the Stirling term.

    Stirling term: y log y - y + 0.5 log(2 pi y), applied only where y > 1 (torch.nn.PoissonNLLLoss
    docs and the composite aten poisson_nll_loss, which masks target <= 1 to 0).
    """
    _check_reduction(reduction)
    _broadcast_check(input, target)
    if log_input:
        loss = np.exp(input) - target * input
    else:
        loss = input - target * np.log(input + eps)
    if full:
        loss = loss + _stirling(target)
    return _reduce(loss, reduction)


def poisson_nll_loss_backward(grad_output, input, target, log_input=True, full=False, eps=1e-8,
                              reduction="mean"):
    """dl/dx = exp(x) - y or 1 - y / (x + eps); dl/dy = -x or -log(x + eps),
    plus log(y) + 1 / (2y) where y > 1 when ``full``."""
    shape = np.broadcast_shapes(input.shape, target.shape)
    g = _reduce_backward(grad_output, shape, reduction)
    if log_input:
        gx, gy = np.exp(input) - target, -input + 0 * target
    else:
        gx, gy = 1.0 - target / (input + eps), -np.log(input + eps) + 0 * target
    if full:
        safe = np.where(target > 1, target, 2.0)
        gy = gy + np.where(target > 1, np.log(safe) + 0.5 / safe, 0.0)
    return _unbroadcast(gx * g, input.shape), _unbroadcast(gy * g, target.shape)


def _gaussian_var(input, var):
    """Validate ``var`` and return it shaped to broadcast with input (functional.py rules)."""
    if isinstance(var, numbers.Real):
        if var < 0:
            raise ValueError("var has negative entry/entries")
        return np.full(input.shape, float(var))
    if np.any(var < 0):
        raise ValueError("var has negative entry/entries")
    if var.shape != input.shape:
        if input.shape[:-1] == var.shape:
            return var[..., None]
        mismatched = [v for i, v in zip(input.shape, var.shape) if i != v]
        if not (input.ndim == var.ndim and sum(mismatched) == 1):
            raise ValueError("var is of incorrect size")
    return var


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    """l = 0.5 (log(max(var, eps)) + (x - y)^2 / max(var, eps)) [+ 0.5 log(2 pi) if full].

    ``var`` is a float, the input's shape, the input's shape without its last dimension
    (homoscedastic; unsqueezed) or the input's shape with exactly one dimension of size 1.
    Negative entries raise. Source: torch 2.13 functional.py ``gaussian_nll_loss``.
    """
    v = _gaussian_var(input, var)
    if reduction not in REDUCTIONS:
        raise ValueError(reduction + " is not valid")
    v = np.maximum(v, eps)
    loss = 0.5 * (np.log(v) + (input - target) ** 2 / v)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


def gaussian_nll_loss_backward(grad_output, input, target, var, full=False, eps=1e-6,
                               reduction="mean"):
    """dl/dx = (x - y) / v, dl/dy = -dl/dx, dl/dvar = 0.5 (1 / v - (x - y)^2 / v^2),
    v = max(var, eps).

    Torch quirk, mirrored: the clamp runs in-place under ``torch.no_grad()`` on a clone, so autograd
    does not see it and the var gradient passes straight through the clamp (it is NOT zeroed where
    var < eps, unlike the derivative of the clamped forward). ``None`` for a float ``var``.
    """
    v0 = _gaussian_var(input, var)
    v = np.maximum(v0, eps)
    shape = np.broadcast_shapes(input.shape, target.shape, v.shape)
    g = _reduce_backward(grad_output, shape, reduction)
    d = input - target
    gx = d / v * g
    gv = 0.5 * (1.0 / v - d * d / (v * v)) * g
    grad_var = None
    if not isinstance(var, numbers.Real):
        grad_var = _unbroadcast(gv, v0.shape).reshape(var.shape)
    return _unbroadcast(gx, input.shape), _unbroadcast(-gx, target.shape), grad_var


def kl_div(input, target, reduction="mean", log_target=False):
    """l = y (log y - x) with 0 log 0 = 0 (xlogy), or exp(y) (y - x) when ``log_target``.

    ``input`` holds log-probabilities. Reductions: 'mean' divides by numel, 'batchmean' by
    input.shape[0] (by 1 for a 0-d input), 'sum', 'none' (functional.py ``kl_div``, PR #14457).
    """
    if reduction not in REDUCTIONS + ("batchmean",):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    _broadcast_check(input, target)
    if log_target:
        loss = np.exp(target) * (target - input)
    else:
        safe = np.where(target > 0, target, 1.0)
        loss = np.where(target == 0, 0.0, target * np.log(safe)) - target * input
    if reduction == "batchmean":
        return np.asarray(loss.sum() / (input.shape[0] if input.ndim else 1))
    return _reduce(loss, reduction)


def kl_div_backward(grad_output, input, target, reduction="mean", log_target=False):
    """dl/dx = -y (or -exp(y)); dl/dy = log y + 1 - x (or exp(y) (y - x + 1))."""
    shape = np.broadcast_shapes(input.shape, target.shape)
    if reduction == "batchmean":
        g = np.broadcast_to(grad_output, shape) / (input.shape[0] if input.ndim else 1)
    else:
        g = _reduce_backward(grad_output, shape, reduction)
    if log_target:
        e = np.exp(target)
        gx, gy = -e + 0 * input, e * (target - input + 1.0)
    else:
        gx, gy = -target + 0 * input, np.log(target) + 1.0 - input
    return _unbroadcast(gx * g, input.shape), _unbroadcast(gy * g, target.shape)


# --------------------------------------------------------------------------- binary losses

def _bce_checks(input, target, weight, need_range):
    if target.shape != input.shape:
        raise ValueError(f"Using a target size ({target.shape}) that is different to the input "
                         f"size ({input.shape}) is deprecated. Please ensure they have the same "
                         "size.")
    if need_range and (np.any(input < 0) or np.any(input > 1)):
        raise RuntimeError("all elements of input should be between 0 and 1")
    if need_range and (np.any(target < 0) or np.any(target > 1)):
        raise RuntimeError("all elements of target should be between 0 and 1")
    return None if weight is None else np.broadcast_to(weight, target.shape)


def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    """l = -w (y max(log x, -100) + (1 - y) max(log(1 - x), -100)).

    The log clamp at -100 keeps l finite at x in {0, 1} (torch.nn.BCELoss docs). ``weight``
    broadcasts to the target's shape; 'mean' divides by numel, not by sum(w) (issue #54843).
    """
    w = _bce_checks(input, target, weight, True)
    _check_reduction(reduction)
    with np.errstate(divide="ignore"):
        lx = np.maximum(np.log(input), -100.0)
        l1x = np.maximum(np.log1p(-input), -100.0)
    loss = -(target * lx + (1 - target) * l1x)
    return _reduce(loss if w is None else w * loss, reduction)


def binary_cross_entropy_backward(grad_output, input, target, weight=None, reduction="mean"):
    """dl/dx = w (x - y) / max(x (1 - x), 1e-12); dl/dy = w (log(1 - x) - log x) = -w logit(x).

    These are torch's formulas (aten binary_cross_entropy_backward, EPSILON = 1e-12 as a float,
    ``ATEN_LOSS_EPSILON``, and
    FunctionsManual binary_cross_entropy_target_backward = -logit(x)). They equal the exact
    derivative wherever x (1 - x) > 1e-12; at the clamp they are torch's convention, not the
    derivative of the clamped forward.
    """
    w = _bce_checks(input, target, weight, False)
    g = _reduce_backward(grad_output, input.shape, reduction)
    if w is not None:
        g = g * w
    gx = (input - target) / np.maximum(input * (1 - input), ATEN_LOSS_EPSILON) * g
    with np.errstate(divide="ignore"):
        gy = (np.log1p(-input) - np.log(input)) * g
    return gx, gy


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean", pos_weight=None):
    """l = -w (p y log sigmoid(x) + (1 - y) log sigmoid(-x)), p = pos_weight (default 1).

    ``weight`` and ``pos_weight`` broadcast against the target (pos_weight typically (C,) over the
    last dimension). Source: torch.nn.BCEWithLogitsLoss docs; log sigmoid computed stably.
    """
    _bce_checks(input, target, None, False)
    _check_reduction(reduction)
    p = 1.0 if pos_weight is None else pos_weight
    loss = -(p * target * _log_sigmoid(input) + (1 - target) * _log_sigmoid(-input))
    if weight is not None:
        loss = weight * loss
    return _reduce(np.broadcast_to(loss, np.broadcast_shapes(loss.shape, input.shape)), reduction)


def binary_cross_entropy_with_logits_backward(grad_output, input, target, weight=None,
                                              reduction="mean", pos_weight=None):
    """dl/dx = w ((1 - y) sigmoid(x) - p y sigmoid(-x));
    dl/dy = -w (p log sigmoid(x) - log sigmoid(-x)).

    torch does not differentiate ``pos_weight`` (or, here, ``weight``); the target is
    differentiable.
    """
    p = 1.0 if pos_weight is None else pos_weight
    shape = np.broadcast_shapes(input.shape, np.shape(p), () if weight is None else weight.shape)
    g = _reduce_backward(grad_output, shape, reduction)
    if weight is not None:
        g = g * weight
    gx = ((1 - target) * _sigmoid(input) - p * target * _sigmoid(-input)) * g
    gy = -(p * _log_sigmoid(input) - _log_sigmoid(-input)) * g
    return _unbroadcast(gx, input.shape), _unbroadcast(gy, target.shape)
