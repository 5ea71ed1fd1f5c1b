"""torch optimizers and learning-rate schedulers for the torch adapter."""

from __future__ import annotations

from typing import Any

import numpy as np

from .contract import (NAMED_FUNCTIONS, OptimizerRequest, OptimizerResult, SchedulerRequest,
                       Unsupported)


def _objective(request: OptimizerRequest, tensors: dict, adapter: Any):
    """The named objective of the request as a torch closure (zero_grad, loss, backward)."""
    import torch
    spec, dt = request.objective, request.dtype
    if spec["name"] != "quadratic_quartic":
        raise Unsupported(f"objective {spec['name']!r} is not implemented by the torch adapter")
    a, b = adapter._tensor(np.asarray(spec["A"]), dt), adapter._tensor(np.asarray(spec["b"]), dt)
    c = float(spec["c"])
    order = list(request.params)

    def closure():
        for t in tensors.values():
            t.grad = None
        x = torch.cat([tensors[n].reshape(-1) for n in order])
        loss = 0.5 * (x @ (a @ x)) + b @ x + c / 4 * (x ** 4).sum()
        loss.backward()
        return loss
    return closure


def _state_arrays(st: dict, to_numpy) -> dict:
    """Tensors and numbers of one parameter's state (lists such as LBFGS history left out)."""
    import torch
    return {k: to_numpy(v) for k, v in st.items()
            if isinstance(v, torch.Tensor) or (isinstance(v, (int, float))
                                                and not isinstance(v, bool))}


def _averaging_fn(spec):
    import torch
    if spec is None:
        return None
    return getattr(torch.optim.swa_utils, spec["fn"])(**dict(spec.get("kwargs", {})))


def run_optimizer(adapter: Any, request: OptimizerRequest) -> OptimizerResult:
    """Parameters as ``nn.Parameter``s in the request's groups; per step set each ``.grad`` (None
    where the request has no gradient; sparse COO with ``grad_masks``; or zero_grad then
    accumulate), clip, ``step()`` (``step(closure)`` with an objective), and record parameters,
    ``optimizer.state`` and the optional records of ``OptimizerResult``."""
    import torch

    from .torch_backend import _resolve, _to_numpy
    dt = request.dtype
    cls = _resolve(request.op)
    tensors = {n: torch.nn.Parameter(adapter._tensor(v, dt)) for n, v in request.params.items()}
    late = request.add_group_at is not None

    def groups_of(ts, which):
        return [{**{k: v for k, v in g.items() if k != "params"},
                 "params": [ts[n] for n in g["params"]]} for g in which]

    base_groups = request.param_groups[:-1] if late else request.param_groups
    opt = cls(groups_of(tensors, base_groups), **dict(request.kwargs))
    clip_fn = _resolve(request.clip["op"]) if request.clip else None
    closure = _objective(request, tensors, adapter) if request.objective else None
    averaged_model = None
    if request.average is not None:
        av = request.average
        model = torch.nn.Module()
        for n, t in tensors.items():
            model.register_parameter(n, t)
        for n, v in av.get("initial_buffers", {}).items():
            model.register_buffer(n, adapter._tensor(np.asarray(v), dt))
        akw = dict(av.get("kwargs", {}))
        for key in ("avg_fn", "multi_avg_fn"):
            if key in akw:
                akw[key] = _averaging_fn(akw[key])
        averaged_model = torch.optim.swa_utils.AveragedModel(model, **akw)
    names = {id(t): n for n, t in tensors.items()}
    out = OptimizerResult([], [])
    if clip_fn is not None:
        out.grads, out.total_norms = [], []
    if averaged_model is not None:
        out.averaged = []
    if closure is not None:
        out.losses = []
    for t, step_grads in enumerate(request.grads):
        if late and t == request.add_group_at:
            opt.add_param_group(groups_of(tensors, request.param_groups[-1:])[0])
        if request.resume_at is not None and t == request.resume_at:
            saved = opt.state_dict()
            fresh = {n: torch.nn.Parameter(v.detach().clone()) for n, v in tensors.items()}
            for n, v in tensors.items():
                fresh[n].grad = None if v.grad is None else v.grad.detach().clone()
            in_opt = {n for g in opt.param_groups for p in g["params"] for n in [names[id(p)]]}
            which = [g for g in request.param_groups
                     if set(g["params"]) <= in_opt]
            opt = cls(groups_of(fresh, which), **dict(request.kwargs))
            opt.load_state_dict(saved)
            if averaged_model is not None:  # the averaged model tracks the live parameters
                for n, p in fresh.items():
                    setattr(model, n, p)
            tensors = fresh
            names = {id(p): n for n, p in tensors.items()}
            if closure is not None:
                closure = _objective(request, tensors, adapter)
        if closure is None:
            if request.zero_grad is not None:
                opt.zero_grad(set_to_none=request.zero_grad)
            for n, p in tensors.items():
                g = step_grads.get(n)
                if g is not None:
                    g = adapter._tensor(g, dt)
                    if request.grad_masks is not None:
                        mask = np.asarray(request.grad_masks[t][n], dtype=bool)
                        idx = torch.tensor(np.stack(np.nonzero(mask)), dtype=torch.int64,
                                           device=g.device)
                        g = torch.sparse_coo_tensor(idx, g[torch.from_numpy(mask).to(g.device)],
                                                    g.shape, check_invariants=True)
                if request.zero_grad is None:
                    p.grad = g
                elif g is not None:
                    p.grad = g if p.grad is None else p.grad.add_(g)
        if clip_fn is not None:
            total = clip_fn(list(tensors.values()), **dict(request.clip.get("kwargs", {})))
            out.grads.append({n: _to_numpy(p.grad) for n, p in tensors.items()
                              if p.grad is not None})
            out.total_norms.append(None if total is None else float(total))
        try:
            if closure is not None:
                out.losses.append(float(opt.step(closure).detach()))
            else:
                opt.step()
        except (RuntimeError, AssertionError) as e:
            if "capturable=True" in str(e) and "supported devices" in str(e):
                # torch implements capturable only on accelerators (CUDA, XPU, ...)
                raise Unsupported(f"{request.op}(capturable=True) on "
                                  f"{adapter.device_type}: {e}") from None
            raise
        if averaged_model is not None:
            if t >= request.average.get("start", 0):
                for n, v in (request.average.get("buffers") or [{}] * (t + 1))[t].items():
                    getattr(model, n).copy_(adapter._tensor(np.asarray(v), dt))
                averaged_model.update_parameters(model)
            m = averaged_model.module
            out.averaged.append({
                **{f"param.{n}": _to_numpy(p) for n, p in m.named_parameters()},
                **{f"buffer.{n}": _to_numpy(b) for n, b in m.named_buffers()},
                "n_averaged": _to_numpy(averaged_model.n_averaged)})
        out.params.append({n: _to_numpy(p) for n, p in tensors.items()})
        out.state.append({names[id(p)]: _state_arrays(st, _to_numpy)
                          for p, st in opt.state.items()})
    return out


def _build_value(v: Any) -> Any:
    """Named-function specs -> the callables of ``NAMED_FUNCTIONS`` (lists element-wise)."""
    if isinstance(v, dict) and "fn" in v:
        return NAMED_FUNCTIONS[v["fn"]](**dict(v.get("kwargs", {})))
    if isinstance(v, (list, tuple)) and v and all(isinstance(x, dict) and "fn" in x for x in v):
        return [_build_value(x) for x in v]
    return v


def _build_scheduler(op: str, kwargs: dict, opt: Any) -> Any:
    from .torch_backend import _resolve
    built = {k: _build_value(v) for k, v in kwargs.items()}
    if built.get("schedulers") and isinstance(built["schedulers"][0], dict):
        built["schedulers"] = [_build_scheduler(c["op"], dict(c.get("kwargs", {})), opt)
                               for c in built["schedulers"]]
    cls = _resolve(op)
    if op.endswith("ChainedScheduler"):
        return cls(built.pop("schedulers"), optimizer=opt, **built)
    return cls(opt, **built)


def run_scheduler(adapter: Any, request: SchedulerRequest) -> dict[str, np.ndarray]:
    """A one-parameter-per-group optimizer (Adam when a group has betas, else SGD) driven by the
    scheduler; lr (and momentum / beta1) recorded after construction and after every step."""
    import torch

    adam = any("betas" in g for g in request.groups)

    def make():
        groups = [{**g, "params": [torch.zeros(1, requires_grad=True)]} for g in request.groups]
        opt = (torch.optim.Adam if adam else torch.optim.SGD)(groups)
        return opt, _build_scheduler(request.op, dict(request.kwargs), opt)

    opt, sched = make()

    def snapshot() -> dict[str, list[float]]:
        snap = {"lr": [float(g["lr"]) for g in opt.param_groups]}
        if all("momentum" in g for g in opt.param_groups):
            snap["momentum"] = [float(g["momentum"]) for g in opt.param_groups]
        if all("betas" in g for g in opt.param_groups):
            snap["beta1"] = [float(g["betas"][0]) for g in opt.param_groups]
        return snap

    rows = [snapshot()]
    for t in range(request.num_steps):
        if request.resume_at is not None and t == request.resume_at:
            opt_state, sched_state = opt.state_dict(), sched.state_dict()
            opt, sched = make()
            opt.load_state_dict(opt_state)
            sched.load_state_dict(sched_state)
        opt.step()
        if request.metrics is not None:
            sched.step(request.metrics[t])
        else:
            sched.step()
        rows.append(snapshot())
    return {k: np.array([r[k] for r in rows], dtype=np.float64) for k in rows[0]}
