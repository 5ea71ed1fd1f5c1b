"""Muon. Semantics: torch.optim.Muon docs and torch/optim/_muon.py (``_single_tensor_muon``,
``_zeropower_via_newtonschulz``, ``_adjust_lr``)."""

from __future__ import annotations

import math

import numpy as np

from ._common import as_f64, lerp


def zeropower_via_newtonschulz(g: np.ndarray, ns_coefficients=(3.4445, -4.7750, 2.0315),
                               ns_steps: int = 5, eps: float = 1e-7) -> np.ndarray:
    """Quintic Newton-Schulz orthogonalisation of a 2-D matrix, in float64:

        X = G^T if rows > cols else G;  X = X / max(||X||_F, eps)
        repeat ns_steps:  A = X X^T;  X = a X + (b A + c A A) X
        return X^T if rows > cols else X

    torch runs this iteration in bfloat16 (``grad.bfloat16()``), so torch's result differs from
    this float64 reference by bfloat16 rounding (relative ~1e-2), by design of torch's kernel.
    """
    if ns_steps >= 100:
        raise ValueError("Number of steps must be less than 100 for computational efficiency")
    if g.ndim != 2:
        raise ValueError("Input tensor gradient must be a 2D matrix")
    if len(ns_coefficients) != 3:
        raise ValueError("Coefficients must be a tuple of exactly 3 values")
    a, b, c = ns_coefficients
    tall = g.shape[0] > g.shape[1]
    x = g.T if tall else g
    x = x / max(float(np.linalg.norm(x)), eps)
    for _ in range(ns_steps):
        gram = x @ x.T
        x = a * x + (b * gram + c * (gram @ gram)) @ x
    return x.T if tall else x


def adjust_lr(lr: float, adjust_lr_fn: str | None, shape) -> float:
    """'original' (default): lr * sqrt(max(1, A/B)); 'match_rms_adamw': lr * 0.2 * sqrt(max(A, B))."""
    A, B = shape[:2]
    if adjust_lr_fn is None or adjust_lr_fn == "original":
        return lr * math.sqrt(max(1, A / B))
    if adjust_lr_fn == "match_rms_adamw":
        return lr * 0.2 * math.sqrt(max(A, B))
    return lr


class Muon:
    """One Muon step for a 2-D parameter (torch's code, which differs from its doc box: the
    buffer is an EMA, ``B = mu B + (1 - mu) g``, not ``mu B + g``):

        B = lerp(B, g, 1 - momentum)
        U = lerp(g, B, momentum) = (1 - momentum) g + momentum B   if nesterov else B
        O = NS(U)                                            (``zeropower_via_newtonschulz``)
        p = p * (1 - lr * weight_decay)
        p = p - adjust_lr(lr) * O

    No ``maximize`` flag in torch. State: ``momentum_buffer``.
    """

    def __init__(self, lr: float = 1e-3, weight_decay: float = 0.1, momentum: float = 0.95,
                 nesterov: bool = True, ns_coefficients=(3.4445, -4.7750, 2.0315),
                 eps: float = 1e-7, ns_steps: int = 5, adjust_lr_fn: str | None = None):
        if not 0.0 <= lr:
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 <= momentum:
            raise ValueError(f"momentum should be >= 0 but is: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight decay should be >= 0 but is: {weight_decay}")
        if adjust_lr_fn is not None and adjust_lr_fn not in ["original", "match_rms_adamw"]:
            raise ValueError(f"Adjust learning rate function {adjust_lr_fn} is not supported")
        self.lr, self.weight_decay, self.momentum, self.nesterov = lr, weight_decay, momentum, nesterov
        self.ns_coefficients, self.eps, self.ns_steps = tuple(ns_coefficients), eps, ns_steps
        self.adjust_lr_fn = adjust_lr_fn

    def step(self, param: np.ndarray, grad: np.ndarray, state: dict):
        p, g = as_f64(param), as_f64(grad)
        if p.ndim != 2:
            raise ValueError(
                f"Muon only supports 2D parameters whereas we found a parameter with size: {p.shape}")
        if g.ndim != 2:
            raise ValueError("Param gradient must be a 2D matrix")
        buf = lerp(state.get("momentum_buffer", np.zeros_like(g)), g, 1 - self.momentum)
        update = lerp(g, buf, self.momentum) if self.nesterov else buf
        o = zeropower_via_newtonschulz(update, self.ns_coefficients, self.ns_steps, self.eps)
        lr_adj = adjust_lr(self.lr, self.adjust_lr_fn, p.shape)
        p = p * (1 - self.lr * self.weight_decay)
        return p - lr_adj * o, dict(state, momentum_buffer=buf)
