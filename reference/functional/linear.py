"""Linear maps. Semantics: torch.nn.functional.linear (docs: y = x A^T + b) and
torch.nn.functional.bilinear (docs: y = x1^T A x2 + b; aten bilinear for the shape checks)."""

from __future__ import annotations

import numpy as np

__all__ = ["linear", "linear_backward", "bilinear", "bilinear_backward"]


def linear(input: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None) -> np.ndarray:
    """y[..., o] = sum_i x[..., i] W[o, i] + b[o]."""
    y = input @ weight.T
    return y + bias if bias is not None else y


def linear_backward(grad_output: np.ndarray, input: np.ndarray, weight: np.ndarray,
                    bias: np.ndarray | None = None):
    """VJP of ``linear``: dx = g W, dW = sum_batch g^T x, db = sum_batch g."""
    g2 = grad_output.reshape(-1, weight.shape[0])
    x2 = input.reshape(-1, weight.shape[1])
    grad_input = grad_output @ weight
    grad_weight = g2.T @ x2
    grad_bias = g2.sum(axis=0) if bias is not None else None
    return grad_input, grad_weight, grad_bias


def _bilinear_check(input1: np.ndarray, input2: np.ndarray, weight: np.ndarray,
                    bias: np.ndarray | None) -> None:
    """aten bilinear's checks, with its messages."""
    if input1.ndim != input2.ndim:
        raise RuntimeError(f"bilinear(): input dimensions do not match: got {input1.ndim} and "
                           f"{input2.ndim}")
    for i in range(input1.ndim - 1):
        if input1.shape[i] != input2.shape[i]:
            raise RuntimeError(f"bilinear(): input batch dimensions do not match at dim {i}: "
                               f"got {input1.shape[i]} and {input2.shape[i]}")
    if input1.shape[-1] != weight.shape[1]:
        raise RuntimeError(f"bilinear(): input1 size does not match weight size: got "
                           f"{input1.shape[-1]} but expected {weight.shape[1]}")
    if input2.shape[-1] != weight.shape[2]:
        raise RuntimeError(f"bilinear(): input2 size does not match weight size: got "
                           f"{input2.shape[-1]} but expected {weight.shape[2]}")
    if bias is not None and bias.shape[-1] != weight.shape[0]:
        raise RuntimeError(f"bilinear(): bias size does not match weight size: got "
                           f"{bias.shape[-1]} but expected {weight.shape[0]}")


def bilinear(input1: np.ndarray, input2: np.ndarray, weight: np.ndarray,
             bias: np.ndarray | None = None) -> np.ndarray:
    """y[..., o] = sum_{i,j} x1[..., i] W[o, i, j] x2[..., j] + b[o].

    W has shape (out, in1, in2); x1 (*, in1) and x2 (*, in2) share the leading axes exactly
    (no broadcasting; RuntimeError otherwise, like aten bilinear).
    """
    _bilinear_check(input1, input2, weight, bias)
    y = np.einsum("...i,oij,...j->...o", input1, weight, input2)
    return y + bias if bias is not None else y


def bilinear_backward(grad_output: np.ndarray, input1: np.ndarray, input2: np.ndarray,
                      weight: np.ndarray, bias: np.ndarray | None = None):
    """VJP of ``bilinear`` w.r.t. (input1, input2, weight, bias):
    dx1[..., i] = sum_{o,j} g[..., o] W[o, i, j] x2[..., j],
    dx2[..., j] = sum_{o,i} g[..., o] W[o, i, j] x1[..., i],
    dW[o, i, j] = sum_batch g[..., o] x1[..., i] x2[..., j],  db = sum_batch g."""
    _bilinear_check(input1, input2, weight, bias)
    g = grad_output
    grad_input1 = np.einsum("...o,oij,...j->...i", g, weight, input2)
    grad_input2 = np.einsum("...o,oij,...i->...j", g, weight, input1)
    grad_weight = np.einsum("no,ni,nj->oij", g.reshape(-1, weight.shape[0]),
                            input1.reshape(-1, weight.shape[1]),
                            input2.reshape(-1, weight.shape[2]))
    grad_bias = g.reshape(-1, weight.shape[0]).sum(axis=0) if bias is not None else None
    return grad_input1, grad_input2, grad_weight, grad_bias
