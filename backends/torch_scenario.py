"""Training scenarios for the torch adapter: an ``nn.Sequential`` trained by a torch optimizer
and scheduler, the way user code does it."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from .contract import ScenarioRequest, ScenarioResult


def _masked_dropout_class():
    import torch

    class MaskedDropout(torch.nn.Module):
        """Dropout whose keep-mask is set from outside before each training forward, so the
        backend and the reference drop the same units (scaled by 1/(1-p) as nn.Dropout)."""

        def __init__(self, p: float = 0.5):
            super().__init__()
            self.p, self.mask = p, None

        def forward(self, x):
            if not self.training:
                return x
            return x * self.mask * (1.0 / (1.0 - self.p))

    return MaskedDropout


def run_scenario(adapter: Any, request: ScenarioRequest) -> ScenarioResult:
    import torch

    from .torch_backend import _resolve, _to_numpy, _torch_dtype
    dt, dev = _torch_dtype(request.dtype), adapter.device_type
    masked = _masked_dropout_class()

    def build():
        layers = [masked(**dict(s.get("kwargs", {}))) if s["op"] == "nn.Dropout"
                  else _resolve(s["op"])(**dict(s.get("kwargs", {}))) for s in request.layers]
        model = torch.nn.Sequential(*layers).to(device=dev, dtype=dt)
        opt = _resolve(request.optimizer["op"])(model.parameters(),
                                                **dict(request.optimizer.get("kwargs", {})))
        sched = (_resolve(request.scheduler["op"])(opt, **dict(request.scheduler.get("kwargs",
                                                                                   {})))
                 if request.scheduler else None)
        return model, opt, sched

    model, opt, sched = build()
    state = {k: adapter._tensor(np.asarray(v), request.dtype)
             for k, v in {**request.params, **request.buffers}.items()}
    model.load_state_dict(state, strict=True)
    loss_fn = _resolve(request.loss["op"])(**dict(request.loss.get("kwargs", {})))
    stds: list[list[float]] = []
    hooks = []
    if request.record_activation_std:
        for layer in model:
            hooks.append(layer.register_forward_hook(
                lambda m, i, o: stds[-1].append(float(o.detach().double().std(unbiased=False)))))
    losses, outputs, std_rows = [], [], []
    for t, step in enumerate(request.steps):
        if request.resume_at is not None and t == request.resume_at:
            saved = copy.deepcopy((model.state_dict(), opt.state_dict(),
                                   sched.state_dict() if sched else None))
            for h in hooks:
                h.remove()
            model, opt, sched = build()
            model.load_state_dict(saved[0])
            opt.load_state_dict(saved[1])
            if sched:
                sched.load_state_dict(saved[2])
            hooks = [layer.register_forward_hook(
                lambda m, i, o: stds[-1].append(float(o.detach().double().std(unbiased=False))))
                for layer in model] if request.record_activation_std else []
        training = step.kind == "train"
        model.train(training)
        for i, mask in step.masks.items():
            model[i].mask = torch.tensor(np.asarray(mask), dtype=dt, device=dev)
        x = adapter._tensor(step.inputs, request.dtype)
        y = adapter._tensor(step.target, request.dtype) if step.target is not None else None
        stds.append([])
        if training:
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
            if sched:
                sched.step()
            losses.append(float(loss.detach().double()))
            outputs.append(None)
        else:
            with torch.no_grad():
                out = model(x)
            losses.append(float(loss_fn(out, y).double()) if y is not None else None)
            outputs.append(_to_numpy(out))
        std_rows.append(np.array(stds[-1]))
    named = dict(model.named_parameters())
    return ScenarioResult(
        losses=losses, outputs=outputs,
        params={k: _to_numpy(v) for k, v in named.items()},
        buffers={k: _to_numpy(v) for k, v in model.named_buffers()},
        activation_std=std_rows if request.record_activation_std else None)
