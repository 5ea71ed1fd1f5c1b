"""RMSprop. Semantics: torch.optim.RMSprop docs and torch/optim/rmsprop.py
(``_single_tensor_rmsprop``)."""

from __future__ import annotations

import numpy as np

from ._common import as_f64, check_eps, check_lr, check_wd, lerp, next_step


class RMSprop:
    """One RMSprop step (torch: eps is added *outside* the sqrt, unlike TF/Keras):

        g = -grad if maximize else grad;  g = g + wd * p  (if wd != 0)
        v = alpha * v + (1 - alpha) * g^2
        centered:  gbar = alpha * gbar + (1 - alpha) * g;  avg = sqrt(v - gbar^2) + eps
        otherwise: avg = sqrt(v) + eps
        momentum > 0: b = momentum * b + g / avg;  p = p - lr * b
        otherwise:    p = p - lr * g / avg

    State: ``step``, ``square_avg``, ``momentum_buffer`` (momentum > 0), ``grad_avg`` (centered).
    """

    def __init__(self, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False,
                 capturable: bool = False, foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False):
        check_lr(lr)
        check_eps(eps)
        if not 0.0 <= momentum:
            raise ValueError(f"Invalid momentum value: {momentum}")
        check_wd(weight_decay)
        if not 0.0 <= alpha:
            raise ValueError(f"Invalid alpha value: {alpha}")
        self.lr, self.alpha, self.eps, self.weight_decay = lr, alpha, eps, weight_decay
        self.momentum, self.centered, self.maximize = momentum, centered, maximize

    def step(self, param: np.ndarray, grad: np.ndarray, state: dict):
        p, g = as_f64(param), as_f64(grad)
        g = -g if self.maximize else g
        a = self.alpha
        t = next_step(state)
        if self.weight_decay != 0:
            g = g + self.weight_decay * p
        v = state.get("square_avg", np.zeros_like(p)) * a + (1 - a) * g * g
        new_state = dict(state, step=t, square_avg=v)
        if self.centered:
            gbar = lerp(state.get("grad_avg", np.zeros_like(p)), g, 1 - a)
            new_state["grad_avg"] = gbar
            avg = np.sqrt(v + (-1) * gbar * gbar) + self.eps
        else:
            avg = np.sqrt(v) + self.eps
        if self.momentum > 0:
            buf = state.get("momentum_buffer", np.zeros_like(p)) * self.momentum + g / avg
            new_state["momentum_buffer"] = buf
            return p - self.lr * buf, new_state
        return p + (-self.lr) * (g / avg), new_state
