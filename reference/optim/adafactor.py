"""Adafactor. Semantics: torch.optim.Adafactor docs and torch/optim/_adafactor.py
(``_single_tensor_adafactor``)."""

from __future__ import annotations

import numpy as np

from ._common import as_f64, lerp, next_step


class Adafactor:
    """One Adafactor step (torch's variant: no first moment, relative step size, update clipping):

        g = -grad if maximize else grad;  t = step + 1
        beta2_hat = 1 - t^beta2_decay                      (the lerp weight is t^beta2_decay)
        rho = min(lr, 1 / sqrt(t));  alpha = max(eps2, RMS(p)) * rho      (RMS of p before decay)
        p = p * (1 - lr * weight_decay)                    (if weight_decay != 0)
        ndim >= 2 (factored over the last two dims):
            R = lerp(R, mean(g^2, axis=-1), t^beta2_decay);  C = lerp(C, mean(g^2, axis=-2), ...)
            vhat = (R @ C) / max(mean(R, axis=-2), eps1)
        ndim < 2:  vhat = V = lerp(V, g^2, t^beta2_decay)
        u = g / sqrt(max(vhat, eps1^2))
        p = p - alpha / max(1, RMS(u) / d) * u

    ``eps=(eps1, eps2)``; eps1 ``None`` means the machine epsilon of the parameter dtype (float64
    here: 2.22e-16; torch float32 would use 1.19e-7). RMS(x) = ||x||_2 / sqrt(numel).
    State: ``step``, ``row_var`` (shape (..., R, 1)) and ``col_var`` (shape (..., 1, C)) for
    ndim >= 2, ``variance`` otherwise.
    """

    def __init__(self, lr: float = 1e-2, beta2_decay: float = -0.8, eps=(None, 1e-3),
                 d: float = 1.0, weight_decay: float = 0.0, *, foreach: bool | None = None,
                 maximize: bool = False):
        if not 0.0 <= lr:
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 >= beta2_decay:
            raise ValueError(f"beta2_decay should be <= 0 but is: {beta2_decay}")
        if eps[0] is not None and not 0.0 <= eps[0]:
            raise ValueError(f"epsilon1 should be >= 0 but is: {eps[0]}")
        if not 0.0 <= eps[1]:
            raise ValueError(f"epsilon2 should be >= 0 but is: {eps[1]}")
        if not 1.0 <= d:
            raise ValueError(f"Clipping threshold d should be >= 1 but is: {d}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight_decay should be >= 0 but is: {weight_decay}")
        self.lr, self.beta2_decay, self.eps, self.d = lr, beta2_decay, tuple(eps), d
        self.weight_decay, self.maximize = weight_decay, maximize

    def step(self, param: np.ndarray, grad: np.ndarray, state: dict):
        p, g = as_f64(param), as_f64(grad)
        g = -g if self.maximize else g
        eps1 = np.finfo(np.float64).eps if self.eps[0] is None else self.eps[0]
        eps2 = self.eps[1]
        t = next_step(state)
        step = float(t)
        w = step ** self.beta2_decay
        rho = min(self.lr, 1 / (step ** 0.5))
        alpha = max(eps2, float(np.linalg.norm(p.ravel())) / (p.size ** 0.5)) * rho
        if self.weight_decay != 0:
            p = p * (1 - self.lr * self.weight_decay)
        new_state = dict(state, step=t)
        if g.ndim > 1:
            row_shape = g.shape[:-1] + (1,)
            col_shape = g.shape[:-2] + (1, g.shape[-1])
            row_mean = np.sum(g * g, axis=-1, keepdims=True) / g.shape[-1]
            col_mean = np.sum(g * g, axis=-2, keepdims=True) / g.shape[-2]
            row_var = lerp(state.get("row_var", np.zeros(row_shape)), row_mean, w)
            col_var = lerp(state.get("col_var", np.zeros(col_shape)), col_mean, w)
            new_state.update(row_var=row_var, col_var=col_var)
            var_estimate = (row_var @ col_var) / np.maximum(
                row_var.mean(axis=-2, keepdims=True), eps1)
        else:
            variance = lerp(state.get("variance", np.zeros_like(g)), g * g, w)
            new_state["variance"] = variance
            var_estimate = variance
        update = g / np.sqrt(np.maximum(var_estimate, eps1 * eps1))
        denom = max(1.0, float(np.linalg.norm(update.ravel())) / ((update.size ** 0.5) * self.d))
        return p + (-alpha / denom) * update, new_state
