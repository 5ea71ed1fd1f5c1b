"""SGD. Semantics: torch.optim.SGD docs (the algorithm box) and torch/optim/sgd.py."""

from __future__ import annotations

import numpy as np


class SGD:
    """One step of SGD with momentum (torch's formulation, lr multiplies the buffer):

        g = -grad if maximize else grad
        g = g + weight_decay * p                      (if weight_decay != 0)
        b = g                      on the first step  (dampening is not applied)
        b = momentum * b + (1 - dampening) * g        afterwards
        g = g + momentum * b if nesterov else b       (if momentum != 0)
        p = p - lr * g

    State: ``momentum_buffer`` (only when momentum != 0).
    """

    def __init__(self, lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, *, maximize: bool = False,
                 foreach: bool | None = None, differentiable: bool = False,
                 fused: bool | None = None):
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        self.lr, self.momentum, self.dampening = lr, momentum, dampening
        self.weight_decay, self.nesterov, self.maximize = weight_decay, nesterov, maximize

    def step(self, param: np.ndarray, grad: np.ndarray, state: dict):
        g = -grad if self.maximize else grad
        if self.weight_decay != 0:
            g = g + self.weight_decay * param
        new_state = dict(state)
        if self.momentum != 0:
            buf = state.get("momentum_buffer")
            buf = g.copy() if buf is None else self.momentum * buf + (1 - self.dampening) * g
            new_state["momentum_buffer"] = buf
            g = g + self.momentum * buf if self.nesterov else buf
        return param - self.lr * g, new_state
