"""SparseAdam. Semantics: torch.optim.SparseAdam docs and torch/optim/_functional.py
(``sparse_adam``)."""

from __future__ import annotations

import math

import numpy as np

from ._common import as_f64


def sparse_to_dense(indices, values, shape):
    """COO ``(indices, values)`` -> ``(dense_grad, mask)``, the representation ``step`` takes.

    ``indices`` is an int array of shape (sparse_dim, nnz), ``values`` has shape
    (nnz, *shape[sparse_dim:]) (torch's hybrid COO layout, e.g. ``nn.Embedding(sparse=True)``
    gives sparse_dim 1 and one row of values per looked-up index). Duplicate indices are summed,
    as ``coalesce()`` does. ``mask`` is True on every entry covered by a present index (a whole
    row for hybrid tensors), including entries whose value happens to be 0.
    """
    indices = np.asarray(indices, dtype=np.int64).reshape(-1, np.shape(values)[0])
    values = as_f64(values)
    dense = np.zeros(shape, dtype=np.float64)
    mask = np.zeros(shape, dtype=bool)
    idx = tuple(indices)
    np.add.at(dense, idx, values)
    mask[idx] = True
    return dense, mask


class SparseAdam:
    """Masked Adam for sparse gradients. Representation: ``step(param, grad, state, mask=None)``
    with ``grad`` a dense array and ``mask`` a boolean array of the same shape marking the entries
    present in torch's sparse gradient (``mask=None`` means every entry is present). Build the pair
    from COO data with ``sparse_to_dense``. On present entries (elsewhere nothing changes):

        g = -grad if maximize else grad;  t = step + 1
        m = m + (1 - beta1) * (g - m);  v = v + (1 - beta2) * (g^2 - v)
        p = p - lr * sqrt(1 - beta2^t) / (1 - beta1^t) * m / (sqrt(v) + eps)

    Note eps is added to the *uncorrected* sqrt(v) (Adam adds it after bias correction). ``step``
    counts every call, also one whose gradient has no present entry (then nothing else changes);
    torch keeps it as a Python int, and so does this reference.

    State: ``step`` (int), ``exp_avg``, ``exp_avg_sq``.
    """

    def __init__(self, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 maximize: bool = False):
        if not 0.0 < lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 < eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        self.lr, self.betas, self.eps, self.maximize = lr, tuple(betas), eps, maximize

    def step(self, param: np.ndarray, grad: np.ndarray, state: dict, mask=None):
        p, g = as_f64(param), as_f64(grad)
        mask = np.ones(p.shape, dtype=bool) if mask is None else np.broadcast_to(mask, p.shape)
        g = -g if self.maximize else g
        beta1, beta2 = self.betas
        step = int(state.get("step", 0)) + 1
        m = state.get("exp_avg", np.zeros_like(p))
        v = state.get("exp_avg_sq", np.zeros_like(p))
        new_state = dict(state, step=step, exp_avg=m, exp_avg_sq=v)
        if not mask.any():
            return p, new_state
        gm, m_old, v_old = g[mask], m[mask], v[mask]
        m_upd = (gm - m_old) * (1 - beta1)
        v_upd = (gm ** 2 - v_old) * (1 - beta2)
        numer = m_upd + m_old
        denom = np.sqrt(v_upd + v_old) + self.eps
        step_size = self.lr * math.sqrt(1 - beta2 ** step) / (1 - beta1 ** step)
        m, v, p = m.copy(), v.copy(), p.copy()
        m[mask] = m_old + m_upd
        v[mask] = v_old + v_upd
        p[mask] = p[mask] + (-step_size * (numer / denom))
        new_state.update(exp_avg=m, exp_avg_sq=v)
        return p, new_state
