"""ASGD (averaged SGD). Semantics: torch.optim.ASGD docs and torch/optim/asgd.py
(``_single_tensor_asgd``)."""

from __future__ import annotations

import numpy as np

from ._common import as_f64, check_lr, check_wd, next_step


class ASGD:
    """One ASGD step (eta and mu are those computed at the end of the previous step):

        g = -grad if maximize else grad;  g = g + wd * p  (if wd != 0);  t = step + 1
        p = p * (1 - lambd * eta) - eta * g
        ax = p                  if mu == 1
        ax = ax + mu * (p - ax) otherwise
        eta = lr / (1 + lambd * lr * t)^alpha
        mu  = 1 / max(1, t - t0)

    State: ``step``, ``eta`` (starts at lr), ``mu`` (starts at 1), ``ax`` (float64 0-d scalars
    except ``ax``).
    """

    def __init__(self, lr: float = 1e-2, lambd: float = 1e-4, alpha: float = 0.75,
                 t0: float = 1e6, weight_decay: float = 0, foreach: bool | None = None,
                 maximize: bool = False, differentiable: bool = False, capturable: bool = False):
        check_lr(lr)
        check_wd(weight_decay)
        self.lr, self.lambd, self.alpha, self.t0 = lr, lambd, alpha, t0
        self.weight_decay, self.maximize = weight_decay, maximize

    def step(self, param: np.ndarray, grad: np.ndarray, state: dict):
        p, g = as_f64(param), as_f64(grad)
        g = -g if self.maximize else g
        eta = float(state.get("eta", self.lr))
        mu = float(state.get("mu", 1.0))
        ax = state.get("ax", np.zeros_like(p))
        t = next_step(state)
        if self.weight_decay != 0:
            g = g + self.weight_decay * p
        p = p * (1 - self.lambd * eta)
        p = p - eta * g
        ax = ax + (p - ax) * mu if mu != 1 else p.copy()
        step = float(t)
        new_eta = self.lr / ((1 + self.lambd * self.lr * step) ** self.alpha)
        new_mu = 1 / max(1, step - self.t0)
        return p, dict(state, step=t, eta=np.asarray(new_eta, dtype=np.float64),
                       mu=np.asarray(new_mu, dtype=np.float64), ax=ax)
