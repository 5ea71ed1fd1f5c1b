"""RAdam. Semantics: torch.optim.RAdam docs and torch/optim/radam.py (``_single_tensor_radam``)."""

from __future__ import annotations

import numpy as np

from ._common import as_f64, check_betas, check_eps, check_lr, check_wd, lerp, next_step


class RAdam:
    """One RAdam step (rectification threshold rho_t > 5, as torch and the authors' code; the
    paper says 4):

        g = -grad if maximize else grad;  t = step + 1
        p = p * (1 - lr * wd)   if decoupled_weight_decay, else g = g + wd * p  (if wd != 0)
        m = beta1 m + (1 - beta1) g;  v = beta2 v + (1 - beta2) g^2;  m_hat = m / (1 - beta1^t)
        rho_inf = 2 / (1 - beta2) - 1;  rho_t = rho_inf - 2 t beta2^t / (1 - beta2^t)
        if rho_t > 5:
            r = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
            p = p - lr * m_hat * r * sqrt(1 - beta2^t) / (sqrt(v) + eps)
        else:
            p = p - lr * m_hat                           (un-adapted SGD with momentum)

    State: ``step``, ``exp_avg``, ``exp_avg_sq``.
    """

    def __init__(self, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, decoupled_weight_decay: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False):
        check_lr(lr)
        check_eps(eps)
        check_betas(betas)
        check_wd(weight_decay)
        self.lr, self.betas, self.eps, self.weight_decay = lr, tuple(betas), eps, weight_decay
        self.decoupled_weight_decay, self.maximize = decoupled_weight_decay, maximize

    def step(self, param: np.ndarray, grad: np.ndarray, state: dict):
        p, g = as_f64(param), as_f64(grad)
        g = -g if self.maximize else g
        beta1, beta2 = self.betas
        lr, wd = self.lr, self.weight_decay
        t = next_step(state)
        step = float(t)
        if wd != 0:
            if self.decoupled_weight_decay:
                p = p * (1 - lr * wd)
            else:
                g = g + wd * p
        m = lerp(state.get("exp_avg", np.zeros_like(p)), g, 1 - beta1)
        v = state.get("exp_avg_sq", np.zeros_like(p)) * beta2 + (1 - beta2) * g * g
        bias_correction1 = 1 - beta1 ** step
        bias_correction2 = 1 - beta2 ** step
        m_hat = m / bias_correction1
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * step * (beta2 ** step) / bias_correction2
        if rho_t > 5.0:
            rect = ((rho_t - 4) * (rho_t - 2) * rho_inf
                    / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
            adaptive = (bias_correction2 ** 0.5) / (np.sqrt(v) + self.eps)
            p = p - m_hat * lr * adaptive * rect
        else:
            p = p - m_hat * lr
        return p, dict(state, step=t, exp_avg=m, exp_avg_sq=v)
