"""Adadelta. Semantics: torch.optim.Adadelta docs and torch/optim/adadelta.py
(``_single_tensor_adadelta``)."""

from __future__ import annotations

import numpy as np

from ._common import as_f64, check_eps, check_lr, check_wd, next_step


class Adadelta:
    """One Adadelta step (torch adds an ``lr`` the paper does not have; default 1.0):

        g = -grad if maximize else grad;  g = g + wd * p  (if wd != 0)
        v = rho * v + (1 - rho) * g^2
        delta = sqrt(u + eps) / sqrt(v + eps) * g
        u = rho * u + (1 - rho) * delta^2
        p = p - lr * delta

    State: ``step``, ``square_avg`` (v), ``acc_delta`` (u).
    """

    def __init__(self, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0, foreach: bool | None = None, *,
                 capturable: bool = False, maximize: bool = False, differentiable: bool = False):
        check_lr(lr)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        check_eps(eps)
        check_wd(weight_decay)
        self.lr, self.rho, self.eps, self.weight_decay = lr, rho, eps, weight_decay
        self.maximize = maximize

    def step(self, param: np.ndarray, grad: np.ndarray, state: dict):
        p, g = as_f64(param), as_f64(grad)
        t = next_step(state)
        g = -g if self.maximize else g
        if self.weight_decay != 0:
            g = g + self.weight_decay * p
        rho = self.rho
        v = state.get("square_avg", np.zeros_like(p)) * rho + (1 - rho) * g * g
        u = state.get("acc_delta", np.zeros_like(p))
        delta = np.sqrt(u + self.eps) / np.sqrt(v + self.eps) * g
        u = u * rho + (1 - rho) * delta * delta
        return p - self.lr * delta, dict(state, step=t, square_avg=v, acc_delta=u)
