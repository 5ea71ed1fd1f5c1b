"""Adagrad. Semantics: torch.optim.Adagrad docs and torch/optim/adagrad.py
(``_single_tensor_adagrad``)."""

from __future__ import annotations

import numpy as np

from ._common import as_f64, check_eps, check_lr, check_wd, next_step


class Adagrad:
    """One Adagrad step:

        g = -grad if maximize else grad;  g = g + wd * p  (if wd != 0);  t = step + 1
        clr = lr / (1 + (t - 1) * lr_decay)
        s = s + g^2                                     (s starts at initial_accumulator_value)
        p = p - clr * g / (sqrt(s) + eps)

    State: ``step``, ``sum``. Unlike the other optimizers torch creates this state in the
    constructor, so an empty state means ``sum = initial_accumulator_value``, ``step = 0``.
    Dense gradients only. torch's sparse-gradient path adds g^2 to ``sum`` and updates ``p`` only
    at the present entries; a dense gradient with zeros at the absent entries gives the same
    result (``sum`` gains 0 there and the update is 0 / (sqrt(s) + eps) = 0), except when
    ``eps == 0`` and ``sum`` is 0 there (0/0).
    """

    def __init__(self, lr: float = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10,
                 foreach: bool | None = None, *, maximize: bool = False,
                 differentiable: bool = False, fused: bool | None = None):
        check_lr(lr)
        if not 0.0 <= lr_decay:
            raise ValueError(f"Invalid lr_decay value: {lr_decay}")
        check_wd(weight_decay)
        if not 0.0 <= initial_accumulator_value:
            raise ValueError(
                f"Invalid initial_accumulator_value value: {initial_accumulator_value}")
        check_eps(eps)
        if fused and foreach:
            raise RuntimeError("`fused` and `foreach` cannot be `True` together.")
        self.lr, self.lr_decay, self.weight_decay = lr, lr_decay, weight_decay
        self.initial_accumulator_value, self.eps, self.maximize = (
            initial_accumulator_value, eps, maximize)

    def step(self, param: np.ndarray, grad: np.ndarray, state: dict):
        p, g = as_f64(param), as_f64(grad)
        t = next_step(state)
        g = -g if self.maximize else g
        if self.weight_decay != 0:
            g = g + self.weight_decay * p
        clr = self.lr / (1 + (float(t) - 1) * self.lr_decay)
        s = state.get("sum", np.full_like(p, self.initial_accumulator_value)) + g * g
        return p + (-clr) * (g / (np.sqrt(s) + self.eps)), dict(state, step=t, sum=s)
