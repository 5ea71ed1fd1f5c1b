"""Helpers shared by the loss modules (reductions, broadcasting, stable log-sigmoid/softmax)."""

from __future__ import annotations

import numpy as np

__all__: list[str] = []

REDUCTIONS = ("none", "mean", "sum")

#: aten/src/ATen/native/Loss.cpp ``constexpr float EPSILON = 1e-12``: the float nearest 1e-12
#: (9.99999996e-13), in every dtype -- BCELoss's gradient clamp and CosineEmbeddingLoss's
#: squared-magnitude offset.
ATEN_LOSS_EPSILON = float(np.float32(1e-12))


def _check_reduction(reduction: str) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")


def _reduce(loss: np.ndarray, reduction: str) -> np.ndarray:
    _check_reduction(reduction)
    if reduction == "mean":
        return np.asarray(loss.mean())
    if reduction == "sum":
        return np.asarray(loss.sum())
    return loss


def _reduce_backward(grad_output: np.ndarray, shape: tuple[int, ...], reduction: str) -> np.ndarray:
    """The cotangent of each unreduced element: g, g (sum) or g / numel (mean)."""
    if reduction == "none":
        return np.broadcast_to(grad_output, shape)
    g = np.broadcast_to(grad_output, shape)
    return g / int(np.prod(shape)) if reduction == "mean" else g


def _broadcast_check(*arrays) -> tuple[int, ...]:
    """The broadcast shape of ``arrays``; torch's RuntimeError when they do not broadcast."""
    shapes = [np.shape(a) for a in arrays]
    try:
        return np.broadcast_shapes(*shapes)
    except ValueError:
        raise RuntimeError(f"The size of tensor a {shapes[0]} must match the size of tensor b "
                           f"{shapes[1]}") from None


def _unbroadcast(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum a broadcast gradient back down to ``shape`` (the VJP of np.broadcast_to)."""
    g = np.asarray(g)
    while g.ndim > len(shape):
        g = g.sum(axis=0)
    for axis, n in enumerate(shape):
        if n == 1 and g.shape[axis] != 1:
            g = g.sum(axis=axis, keepdims=True)
    return np.array(np.broadcast_to(g, shape))   # a copy; ascontiguousarray would make 0-d 1-d


def _log_sigmoid(x):
    """log(1 / (1 + exp(-x))) = -log(1 + exp(-x)) without overflow."""
    return -np.logaddexp(0.0, -x)


def _sigmoid(x):
    return np.exp(_log_sigmoid(x))


def _log_softmax(x, axis=-1):
    m = np.max(x, axis=axis, keepdims=True)
    z = x - m
    return z - np.log(np.sum(np.exp(z), axis=axis, keepdims=True))


def _log_softmax_backward(g, logp, axis=-1):
    """VJP of log_softmax: g - softmax * sum(g)."""
    return g - np.exp(logp) * np.sum(g, axis=axis, keepdims=True)
