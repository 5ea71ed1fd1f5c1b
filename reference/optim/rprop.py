"""Rprop (resilient backpropagation, the iRprop- variant). Semantics: torch.optim.Rprop docs and
torch/optim/rprop.py (``_single_tensor_rprop``)."""

from __future__ import annotations

import numpy as np

from ._common import as_f64, check_lr, next_step


class Rprop:
    """One Rprop step, elementwise:

        g = -grad if maximize else grad
        s = sign(g * prev)
        step_size = clip(step_size * (etaplus if s > 0, etaminus if s < 0, 1 if s == 0),
                         step_size_min, step_size_max)
        g = 0 where s < 0                       (the sign flipped: skip this step, forget g)
        p = p - sign(g) * step_size
        prev = g

    State: ``step``, ``prev`` (starts at 0), ``step_size`` (starts at lr).
    """

    def __init__(self, lr: float = 1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), *,
                 capturable: bool = False, foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False):
        check_lr(lr)
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        self.lr, self.etas, self.step_sizes, self.maximize = lr, tuple(etas), tuple(step_sizes), maximize

    def step(self, param: np.ndarray, grad: np.ndarray, state: dict):
        p, g = as_f64(param), as_f64(grad)
        g = -g if self.maximize else g
        etaminus, etaplus = self.etas
        t = next_step(state)
        prev = state.get("prev", np.zeros_like(p))
        step_size = state.get("step_size", np.full_like(p, self.lr))
        s = np.sign(g * prev)
        factor = np.where(s > 0, etaplus, np.where(s < 0, etaminus, 1.0))
        step_size = np.clip(step_size * factor, self.step_sizes[0], self.step_sizes[1])
        g = np.where(s < 0, 0.0, g)
        p = p - np.sign(g) * step_size
        return p, dict(state, step=t, prev=g, step_size=step_size)
