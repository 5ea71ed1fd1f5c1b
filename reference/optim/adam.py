"""Adam and AdamW. Semantics: torch.optim.Adam / torch.optim.AdamW docs (algorithm boxes) and
torch/optim/adam.py (``_single_tensor_adam``); AdamW is Adam with ``decoupled_weight_decay=True``
and ``weight_decay=1e-2`` by default (torch/optim/adamw.py)."""

from __future__ import annotations

import numpy as np

from ._common import as_f64, check_betas, check_eps, check_lr, check_wd, lerp, next_step


class Adam:
    """One Adam step (torch's formulation: eps is added outside the bias-corrected sqrt):

        g = -grad if maximize else grad
        t = step + 1
        p = p * (1 - lr * wd)              if decoupled_weight_decay (AdamW)
        g = g + wd * p                     otherwise, if wd != 0 (L2 in the gradient)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g^2
        vmax = max(vmax, v); use vmax for v  (amsgrad: the max is taken *before* bias correction)
        p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

    State: ``step`` (float64 0-d), ``exp_avg``, ``exp_avg_sq``, ``max_exp_avg_sq`` (amsgrad only;
    torch creates it at zero on the first step).
    """

    def __init__(self, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False, fused: bool | None = None,
                 decoupled_weight_decay: bool = False):
        check_lr(lr)
        check_eps(eps)
        check_betas(betas)
        check_wd(weight_decay)
        if fused and differentiable:
            raise RuntimeError("`fused` does not support `differentiable`")
        if fused and foreach:
            raise RuntimeError("`fused` and `foreach` cannot be `True` together.")
        self.lr, self.betas, self.eps, self.weight_decay = lr, tuple(betas), eps, weight_decay
        self.amsgrad, self.maximize = amsgrad, maximize
        self.decoupled_weight_decay = decoupled_weight_decay

    def step(self, param: np.ndarray, grad: np.ndarray, state: dict):
        p, g = as_f64(param), as_f64(grad)
        g = -g if self.maximize else g
        beta1, beta2 = self.betas
        lr, wd = self.lr, self.weight_decay
        t = next_step(state)
        m = state.get("exp_avg", np.zeros_like(p))
        v = state.get("exp_avg_sq", np.zeros_like(p))
        if wd != 0:
            if self.decoupled_weight_decay:
                p = p * (1 - lr * wd)
            else:
                g = g + wd * p
        m = lerp(m, g, 1 - beta1)
        v = v * beta2 + (1 - beta2) * g * g
        new_state = dict(state, step=t, exp_avg=m, exp_avg_sq=v)
        bias_correction1 = 1 - beta1 ** float(t)
        bias_correction2_sqrt = (1 - beta2 ** float(t)) ** 0.5
        if self.amsgrad:
            vmax = np.maximum(state.get("max_exp_avg_sq", np.zeros_like(p)), v)
            new_state["max_exp_avg_sq"] = vmax
            denom = np.sqrt(vmax) / bias_correction2_sqrt + self.eps
        else:
            denom = np.sqrt(v) / bias_correction2_sqrt + self.eps
        return p - (lr / bias_correction1) * (m / denom), new_state


class AdamW(Adam):
    """Adam with decoupled weight decay, ``p = p * (1 - lr * weight_decay)`` before the Adam update
    (the decay is multiplied by lr, unlike the paper's schedule-multiplier-only form).
    Default ``weight_decay=1e-2``. Source: torch/optim/adamw.py."""

    def __init__(self, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False, foreach: bool | None = None, capturable: bool = False,
                 differentiable: bool = False, fused: bool | None = None):
        super().__init__(lr, betas, eps, weight_decay, amsgrad, foreach=foreach,
                         maximize=maximize, capturable=capturable, differentiable=differentiable,
                         fused=fused, decoupled_weight_decay=True)
