"""NAdam. Semantics: torch.optim.NAdam docs and torch/optim/nadam.py (``_single_tensor_nadam``)."""

from __future__ import annotations

import numpy as np

from ._common import as_f64, check_betas, check_eps, check_lr, check_wd, lerp, next_step


class NAdam:
    """One NAdam step (Dozat's momentum schedule, without the paper's extra beta2 product):

        g = -grad if maximize else grad;  t = step + 1
        p = p * (1 - lr * wd)   if decoupled_weight_decay, else g = g + wd * p  (if wd != 0)
        mu_t     = beta1 * (1 - 0.5 * 0.96^(t * momentum_decay))
        mu_{t+1} = beta1 * (1 - 0.5 * 0.96^((t + 1) * momentum_decay))
        mu_product = mu_product * mu_t                     (state, starts at 1)
        m = beta1 * m + (1 - beta1) * g;  v = beta2 * v + (1 - beta2) * g^2
        denom = sqrt(v / (1 - beta2^t)) + eps
        p = p - lr (1 - mu_t) / (1 - mu_product) * g / denom
              - lr mu_{t+1} / (1 - mu_product * mu_{t+1}) * m / denom

    State: ``step``, ``mu_product`` (float64 0-d), ``exp_avg``, ``exp_avg_sq``.
    """

    def __init__(self, lr: float = 2e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False, differentiable: bool = False):
        check_lr(lr)
        check_eps(eps)
        check_betas(betas)
        check_wd(weight_decay)
        if not 0.0 <= momentum_decay:
            raise ValueError(f"Invalid momentum_decay value: {momentum_decay}")
        self.lr, self.betas, self.eps, self.weight_decay = lr, tuple(betas), eps, weight_decay
        self.momentum_decay, self.decoupled_weight_decay = momentum_decay, decoupled_weight_decay
        self.maximize = maximize

    def step(self, param: np.ndarray, grad: np.ndarray, state: dict):
        p, g = as_f64(param), as_f64(grad)
        g = -g if self.maximize else g
        beta1, beta2 = self.betas
        lr, wd = self.lr, self.weight_decay
        t = next_step(state)
        step = float(t)
        bias_correction2 = 1 - beta2 ** step
        if wd != 0:
            if self.decoupled_weight_decay:
                p = p * (1 - lr * wd)
            else:
                g = g + wd * p
        mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * self.momentum_decay)))
        mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * self.momentum_decay)))
        mu_product = float(state.get("mu_product", 1.0)) * mu
        m = lerp(state.get("exp_avg", np.zeros_like(p)), g, 1 - beta1)
        v = state.get("exp_avg_sq", np.zeros_like(p)) * beta2 + (1 - beta2) * g * g
        denom = np.sqrt(v / bias_correction2) + self.eps
        mu_product_next = mu_product * mu_next
        p = p + (-lr * (1.0 - mu) / (1.0 - mu_product)) * (g / denom)
        p = p + ((-lr * mu_next) / (1.0 - mu_product_next)) * (m / denom)
        return p, dict(state, step=t, mu_product=np.asarray(mu_product, dtype=np.float64),
                       exp_avg=m, exp_avg_sq=v)
