"""Helpers shared by the optimizer references (not part of the public surface)."""

from __future__ import annotations

import numpy as np


def as_f64(x) -> np.ndarray:
    return np.asarray(x, dtype=np.float64)


def next_step(state: dict) -> np.ndarray:
    """torch keeps ``step`` as a 0-d float tensor incremented before the update; so do we."""
    return np.asarray(float(state.get("step", 0.0)) + 1.0, dtype=np.float64)


def lerp(a: np.ndarray, b: np.ndarray, w: float) -> np.ndarray:
    """``a + w * (b - a)``, evaluated the way torch.lerp does (from the nearer end), so that
    running averages written ``beta * a + (1 - beta) * b`` in the docs agree to the last bit."""
    diff = b - a
    if abs(w) < 0.5:
        return a + w * diff
    return b - diff * (1.0 - w)


def check_lr(lr: float) -> None:
    if not 0.0 <= lr:
        raise ValueError(f"Invalid learning rate: {lr}")


def check_betas(betas) -> None:
    if not 0.0 <= betas[0] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
    if not 0.0 <= betas[1] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")


def check_eps(eps: float) -> None:
    if not 0.0 <= eps:
        raise ValueError(f"Invalid epsilon value: {eps}")


def check_wd(weight_decay: float) -> None:
    if not 0.0 <= weight_decay:
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")
