"""``torch.optim.swa_utils`` as pure functions: SWALR (a schedule following the
``reference.optim.lr_scheduler`` ``run`` protocol) and AveragedModel's averaging (SWA running mean
and EMA over parameters and, optionally, buffers).

Semantics: torch.optim.swa_utils docs and torch/optim/swa_utils.py. ``update_bn`` (a forward pass
over a data loader to recompute BatchNorm statistics) needs a model and is not covered here.
"""

from __future__ import annotations

import math

import numpy as np

from .lr_scheduler import LRScheduler, _format_param

__all__ = ["SWALR", "AveragedModel", "get_swa_avg_fn", "get_ema_avg_fn",
           "get_swa_multi_avg_fn", "get_ema_multi_avg_fn"]


def get_swa_avg_fn():
    """SWA running mean: avg + (cur - avg) / (n_averaged + 1)."""
    def swa_update(averaged, current, num_averaged):
        return averaged + (current - averaged) / (num_averaged + 1)
    return swa_update


def get_ema_avg_fn(decay: float = 0.999):
    """EMA: decay * avg + (1 - decay) * cur. ``decay`` must lie in [0, 1]."""
    if decay < 0.0 or decay > 1.0:
        raise ValueError(
            f"Invalid decay value {decay} provided. Please provide a value in [0,1] range.")

    def ema_update(ema, current, num_averaged):
        return decay * ema + (1 - decay) * current
    return ema_update


def _lerp(a, b, w):
    diff = b - a
    return a + w * diff if abs(w) < 0.5 else b - diff * (1.0 - w)


def get_swa_multi_avg_fn():
    """torch's foreach form of the SWA mean: lerp(avg, cur, 1 / (n + 1)) over a list (torch
    raises RuntimeError for integer tensors; so does this)."""
    def swa_update(averaged_list, current_list, num_averaged):
        if not np.issubdtype(np.asarray(averaged_list[0]).dtype, np.floating):
            # torch takes the addcdiv path for integer tensors, which refuses integer division
            raise RuntimeError("Integer division with addcdiv is no longer supported")
        return [_lerp(a, c, 1 / (num_averaged + 1)) for a, c in zip(averaged_list, current_list)]
    return swa_update


def get_ema_multi_avg_fn(decay: float = 0.999):
    """torch's foreach form of the EMA: lerp(ema, cur, 1 - decay) over a list
    (``ema * decay + cur * (1 - decay)`` for integer tensors)."""
    if decay < 0.0 or decay > 1.0:
        raise ValueError(
            f"Invalid decay value {decay} provided. Please provide a value in [0,1] range.")

    def ema_update(ema_list, current_list, num_averaged):
        if not np.issubdtype(np.asarray(ema_list[0]).dtype, np.floating):
            return [a * decay + c * (1 - decay) for a, c in zip(ema_list, current_list)]
        return [_lerp(a, c, 1 - decay) for a, c in zip(ema_list, current_list)]
    return ema_update


class AveragedModel:
    """``AveragedModel.update_parameters`` as a pure function of an averaging state.

        state = AveragedModel(...).init_state(params, buffers)
        state = averaged.update_parameters(state, params, buffers)

    ``params``/``buffers`` are dicts keyed by ``state_dict`` names (as in ``reference.nn``);
    ``state`` is ``{"params": ..., "buffers": ..., "n_averaged": int}``. Per update:
    - if n_averaged == 0: copy the model's values;
    - else: averaged = avg_fn(averaged, current, n_averaged) for every parameter (and every
      buffer when ``use_buffers``), default avg_fn the SWA mean (``get_swa_avg_fn``; on CUDA torch
      uses the lerp form ``get_swa_multi_avg_fn``, equal up to rounding); ``multi_avg_fn`` gets
      the lists and returns the new list, called once per dtype group as torch does;
    - without ``use_buffers`` the buffers are copied from the model every update (not averaged);
    - n_averaged += 1.
    Integer buffers averaged with ``use_buffers`` (e.g. ``num_batches_tracked``) are written back
    into their integer dtype, truncating toward zero as torch's ``copy_`` does.
    """

    def __init__(self, avg_fn=None, multi_avg_fn=None, use_buffers: bool = False):
        if avg_fn is not None and multi_avg_fn is not None:
            raise AssertionError("Only one of avg_fn and multi_avg_fn should be provided")
        self.avg_fn, self.multi_avg_fn, self.use_buffers = avg_fn, multi_avg_fn, use_buffers

    @staticmethod
    def init_state(params: dict, buffers: dict | None = None) -> dict:
        """The state right after construction: a copy of the model, n_averaged = 0."""
        return {"params": {k: np.array(v, copy=True) for k, v in params.items()},
                "buffers": {k: np.array(v, copy=True) for k, v in (buffers or {}).items()},
                "n_averaged": 0}

    def update_parameters(self, state: dict, params: dict, buffers: dict | None = None) -> dict:
        buffers = buffers or {}
        n = state["n_averaged"]
        avg = {("p", k): v for k, v in state["params"].items()}
        cur = {("p", k): np.asarray(params[k]) for k in state["params"]}
        if self.use_buffers:
            avg.update({("b", k): v for k, v in state["buffers"].items()})
            cur.update({("b", k): np.asarray(buffers[k]) for k in state["buffers"]})
        keys = list(avg)
        if n == 0:
            new = {k: np.array(cur[k], dtype=avg[k].dtype, copy=True) for k in keys}
        elif self.multi_avg_fn is not None:
            new = {}
            for dt in dict.fromkeys(np.asarray(avg[k]).dtype for k in keys):
                # torch calls multi_avg_fn once per (device, dtype) group
                ks = [k for k in keys if np.asarray(avg[k]).dtype == dt]
                out = self.multi_avg_fn([avg[k] for k in ks], [cur[k] for k in ks], n)
                new.update({k: _cast_like(v, avg[k]) for k, v in zip(ks, out)})
        else:
            fn = self.avg_fn or get_swa_avg_fn()
            new = {k: _cast_like(fn(avg[k], cur[k], n), avg[k]) for k in keys}
        out_params = {k[1]: v for k, v in new.items() if k[0] == "p"}
        if self.use_buffers:
            out_buffers = {k[1]: v for k, v in new.items() if k[0] == "b"}
        else:
            out_buffers = {k: np.array(buffers[k], dtype=np.asarray(v).dtype, copy=True)
                           for k, v in state["buffers"].items()}
        return {"params": out_params, "buffers": out_buffers, "n_averaged": n + 1}


def _cast_like(value, like):
    like = np.asarray(like)
    value = np.asarray(value)
    if np.issubdtype(like.dtype, np.integer):
        return np.trunc(value).astype(like.dtype)
    return value.astype(like.dtype, copy=False)


class SWALR(LRScheduler):
    """Anneal each group's lr towards ``swa_lr`` over ``anneal_epochs`` steps, then hold it.

    With step k = _step_count - 1 (k = max(1, k) when anneal_epochs == 0), A = max(1,
    anneal_epochs), a(u) = u (linear) or (1 - cos(pi u)) / 2 (cos):
        alpha_prev = a(clip((k - 1) / A, 0, 1));  alpha = a(clip(k / A, 0, 1))
        lr0 = swa_lr if alpha_prev == 1 else (lr - alpha_prev * swa_lr) / (1 - alpha_prev)
        lr  = swa_lr * alpha + lr0 * (1 - alpha)
    i.e. it recovers the lr at the start of annealing from the current one and re-interpolates;
    when alone from an initial lr L: lr_k = swa_lr * a(k / A) + L * (1 - a(k / A)) for k <= A.
    """

    def __init__(self, swa_lr, anneal_epochs: int = 10, anneal_strategy: str = "cos",
                 last_epoch: int = -1):
        if anneal_strategy not in ["cos", "linear"]:
            raise ValueError("anneal_strategy must be one of 'cos' or 'linear', "
                             f"instead got {anneal_strategy}")
        if not isinstance(anneal_epochs, int) or anneal_epochs < 0:
            raise ValueError(f"anneal_epochs must be equal or greater than 0, got {anneal_epochs}")
        self.swa_lr, self.anneal_epochs, self.anneal_strategy = swa_lr, anneal_epochs, anneal_strategy
        self.last_epoch = last_epoch

    def _construct(self):
        for s, g in zip(_format_param("swa_lr", self.optimizer, self.swa_lr),
                        self.optimizer.param_groups):
            g["swa_lr"] = s
        self._base_init()

    def _anneal(self, u):
        return u if self.anneal_strategy == "linear" else (1 - math.cos(math.pi * u)) / 2

    def get_lr(self):
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        prev_alpha = self._anneal(max(0, min(1, (step - 1) / max(1, self.anneal_epochs))))
        prev_lrs = [g["swa_lr"] if prev_alpha == 1
                    else (g["lr"] - prev_alpha * g["swa_lr"]) / (1 - prev_alpha)
                    for g in self.optimizer.param_groups]
        alpha = self._anneal(max(0, min(1, step / max(1, self.anneal_epochs))))
        return [g["swa_lr"] * alpha + lr * (1 - alpha)
                for g, lr in zip(self.optimizer.param_groups, prev_lrs)]
