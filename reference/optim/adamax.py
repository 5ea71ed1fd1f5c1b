"""Adamax. Semantics: torch.optim.Adamax docs and torch/optim/adamax.py (``_single_tensor_adamax``)."""

from __future__ import annotations

import numpy as np

from ._common import as_f64, check_betas, check_eps, check_lr, check_wd, lerp, next_step


class Adamax:
    """One Adamax step (infinity-norm Adam):

        g = -grad if maximize else grad;  g = g + wd * p  (if wd != 0)
        t = step + 1
        m = beta1 * m + (1 - beta1) * g
        u = max(beta2 * u, |g| + eps)          (eps inside the max, as torch does)
        p = p - lr / (1 - beta1^t) * m / u

    State: ``step``, ``exp_avg``, ``exp_inf``.
    """

    def __init__(self, lr: float = 2e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, foreach: bool | None = None, *, maximize: bool = False,
                 differentiable: bool = False, capturable: bool = False):
        check_lr(lr)
        check_eps(eps)
        check_betas(betas)
        check_wd(weight_decay)
        self.lr, self.betas, self.eps, self.weight_decay = lr, tuple(betas), eps, weight_decay
        self.maximize = maximize

    def step(self, param: np.ndarray, grad: np.ndarray, state: dict):
        p, g = as_f64(param), as_f64(grad)
        g = -g if self.maximize else g
        beta1, beta2 = self.betas
        t = next_step(state)
        if self.weight_decay != 0:
            g = g + self.weight_decay * p
        m = lerp(state.get("exp_avg", np.zeros_like(p)), g, 1 - beta1)
        u = np.maximum(state.get("exp_inf", np.zeros_like(p)) * beta2, np.abs(g) + self.eps)
        clr = self.lr / (1 - beta1 ** float(t))
        return p - clr * (m / u), dict(state, step=t, exp_avg=m, exp_inf=u)
