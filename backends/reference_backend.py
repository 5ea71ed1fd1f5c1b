"""The ``reference`` backend: the NumPy reference itself, as a control.

It must pass everything in float64. In lower precisions it returns the float64 results rounded
to the test dtype, so it also proves every tolerance rule admits a correctly rounded answer.
This is the only module of ``backends`` allowed to import ``reference``.
"""

from __future__ import annotations

import inspect

import numpy as np

from reference import driver

from .dtypes import round_to
from .contract import (Adapter, InitRequest, ModuleRequest, ModuleResult, OptimizerRequest,
                       OptimizerResult, SchedulerRequest, StepResult, Support, Unsupported,
                       NAMED_FUNCTIONS, ScenarioRequest, ScenarioResult)


def _round(x, dtype: str):
    return None if x is None else round_to(x, dtype)


class ReferenceBackend(Adapter):
    name = "reference"

    @property
    def framework_version(self) -> str:
        return f"numpy {np.__version__}"

    @property
    def device(self) -> str:
        return "cpu (numpy float64)"

    def supports(self, op: str, dtype: str) -> Support:
        if op.startswith("scenario.") or driver.has(op):
            return Support(True)
        return Support(False, f"no reference for {op}")

    def _kwargs(self, request: ModuleRequest) -> dict:
        """The request's kwargs, plus the dtype for references that must be told it (RMSNorm's
        eps=None means the eps of the input's dtype; torchvision's Normalize checks its std
        after conversion to the input's dtype): the harness passes those as reference-only
        arguments, the control backend derives them from the request."""
        kwargs = dict(request.kwargs)
        try:
            cls = driver.resolve(request.op)
            if "input_dtype" in inspect.signature(cls).parameters:
                kwargs.setdefault("input_dtype", request.dtype)
        except (KeyError, TypeError, ValueError):
            pass
        return kwargs

    def run_module(self, request: ModuleRequest) -> ModuleResult:
        steps = [(s.inputs, s.grad_outputs is not None) for s in request.steps]
        it = iter(s.grad_outputs for s in request.steps if s.grad_outputs is not None)
        res = driver.run_module(request.op, self._kwargs(request), dict(request.params),
                                dict(request.buffers), steps, request.training,
                                lambda outputs: next(it), method=request.method)
        dt = request.dtype
        return ModuleResult([StepResult(
            outputs=tuple(_round(o, dt) for o in r["outputs"]),
            input_grads=tuple(_round(g, dt) if req else None
                              for g, req in zip(r["input_grads"], s.requires_grad)),
            param_grads={k: _round(v, dt) for k, v in r["param_grads"].items()},
            buffers={k: _round(v, dt) for k, v in r["buffers"].items()})
            for r, s in zip(res, request.steps)])

    def sample_init(self, request: InitRequest) -> np.ndarray:
        import inspect

        from .contract import VALUE_INIT_OPS, DefaultInitRequest
        if isinstance(request, DefaultInitRequest):
            return self.sample_default_init(request)
        kwargs = dict(request.kwargs)
        if request.op in VALUE_INIT_OPS:  # pure helpers: their value, exactly
            fn = driver.resolve(request.op)
            value = fn(**kwargs) if request.op == "nn.init.calculate_gain" else \
                fn(tuple(request.shape))
            return np.asarray(value, dtype=np.float64)
        fn = driver.resolve(request.op)
        if "generator" not in inspect.signature(fn).parameters:  # constant_, eye_, dirac_, ...
            return _round(fn(np.zeros(request.shape), **kwargs), request.dtype)
        return _round(driver.sample_init(request.op, request.shape, kwargs, request.seed),
                      request.dtype)

    def sample_default_init(self, request) -> dict[str, np.ndarray]:
        """reference.init.sample_default_init: every parameter drawn from the distribution the
        reference says torch's reset_parameters uses, seeded by ``request.seed``."""
        from reference import init
        drawn = init.sample_default_init(request.op.removeprefix("nn."), dict(request.kwargs),
                                         np.random.default_rng(request.seed))
        return {k: _round(v, request.dtype) for k, v in drawn.items()}

    def run_optimizer(self, request: OptimizerRequest) -> OptimizerResult:
        out = driver.optimizer_trajectory(
            request.op, dict(request.kwargs), dict(request.params), request.param_groups,
            request.grads, zero_grad=request.zero_grad, add_group_at=request.add_group_at,
            resume_at=request.resume_at, grad_masks=request.grad_masks,
            objective=request.objective, clip=request.clip, average=request.average)
        dt = request.dtype

        def rnd(d):
            return {k: _round(v, dt) if np.asarray(v).dtype.kind == "f" else v
                    for k, v in d.items()}
        return OptimizerResult(
            params=[rnd(p) for p in out["params"]],
            state=[{n: rnd(s) for n, s in st.items()} for st in out["state"]],
            grads=[rnd(g) for g in out["grads"]] if "grads" in out else None,
            total_norms=[None if v is None else float(_round(np.asarray(v), dt))
                         for v in out["total_norms"]] if "total_norms" in out else None,
            averaged=[rnd(a) for a in out["averaged"]] if "averaged" in out else None,
            losses=[float(_round(np.asarray(v), dt)) for v in out["losses"]]
            if "losses" in out else None)

    def run_scheduler(self, request: SchedulerRequest) -> dict[str, np.ndarray]:
        return driver.run_scheduler(request.op, dict(request.kwargs), request.groups,
                                    request.num_steps, request.metrics,
                                    functions=NAMED_FUNCTIONS)

    def run_scenario(self, request: ScenarioRequest) -> ScenarioResult:
        from reference.scenario import run_scenario
        steps = [{"kind": s.kind, "inputs": s.inputs, "target": s.target, "masks": s.masks}
                 for s in request.steps]
        out = run_scenario(request.layers, request.params, request.buffers, request.loss,
                           request.optimizer, steps, request.scheduler,
                           request.record_activation_std)
        dt = request.dtype
        return ScenarioResult(
            losses=out["losses"], outputs=[_round(o, dt) for o in out["outputs"]],
            params={k: _round(v, dt) for k, v in out["params"].items()},
            buffers={k: _round(v, dt) for k, v in out["buffers"].items()},
            activation_std=out["activation_std"])

    def prepare_module(self, request: ModuleRequest):
        def run() -> None:
            self.run_module(ModuleRequest(request.op, request.kwargs, request.params,
                                          request.buffers, request.steps[:1], request.training,
                                          request.dtype, request.method))
        return run


__all__ = ["ReferenceBackend", "Unsupported"]
