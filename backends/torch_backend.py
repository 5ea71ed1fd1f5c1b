"""The PyTorch adapter, for the CPU (``torch-cpu``) and CUDA (``torch-cuda``).

Modules are built generically from their public name (``nn.BatchNorm1d`` ->
``torch.nn.BatchNorm1d(**kwargs)``), given the request's parameters and buffers through
``load_state_dict(strict=True)`` (so a naming mismatch is loud), and run step by step on one
instance. Settings that change numerics are pinned unless ``framework_defaults`` is set:
one intra-op thread on the CPU (reduction order then does not depend on the machine), no TF32
for CUDA matmul and cuDNN, deterministic cuDNN without autotuning, highest float32 matmul
precision. ``settings()`` records what is in force.
"""

from __future__ import annotations

import contextlib
import importlib
import os
from typing import Any

import numpy as np

from .contract import (Adapter, AdapterOptions, InitRequest, IsolatedError, ModuleRequest,
                       ModuleResult, OptimizerRequest, OptimizerResult, ScenarioRequest,
                       ScenarioResult, SchedulerRequest, StepResult, Support, Unsupported)

from . import torch_init, torch_optim, torch_scenario
from .torch_calls import CALLS, EXTRA_STATE

try:
    import torch
except ImportError as _e:  # reported through available()
    torch = None
    _IMPORT_ERROR = str(_e)

_EXPECTATIONS = os.path.join(os.path.dirname(__file__), "expectations")

#: CPU kernels lacking half-precision support raise RuntimeErrors saying so; that is coverage,
#: not a failure.
_UNSUPPORTED_MARKERS = ("not implemented for 'Half'", "not implemented for 'BFloat16'",
                        "\"slow_conv2d_cpu\" not implemented",
                        # cuDNN cannot differentiate an RNN in eval mode (torch documents it)
                        "cudnn RNN backward can only be called in training mode",
                        # fused optimizer kernels exist only for some devices and dtypes
                        "`fused=True` requires all the params")


def _torch_dtype(name: str):
    return {"float64": torch.float64, "float32": torch.float32, "float16": torch.float16,
            "bfloat16": torch.bfloat16}[name]


def _resolve(op: str) -> Any:
    """torch object for a public name: nn.X, nn.functional.x, nn.init.x, optim.X, ...;
    ``torchvision.*`` names resolve in torchvision where it imports beside this torch."""
    obj: Any = torch
    if op.startswith("torchvision."):
        try:
            import torchvision  # noqa: F401
            obj = importlib.import_module("torchvision")
        except Exception as e:  # torchvision's registry wheel fails to load its ops on 2.13
            raise Unsupported(f"torchvision is not importable beside torch {torch.__version__}: "
                              f"{type(e).__name__}: {str(e).splitlines()[0]}") from None
        op = op.removeprefix("torchvision.")
    for part in op.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            raise Unsupported(f"torch {torch.__version__} has no torch.{op}")
    return obj


def _flat_outputs(out: Any) -> list:
    """Flatten nested tuples/lists of tensors in order (LSTM: output, (h_n, c_n))."""
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _flat_outputs(o)]
    return [out]


def _to_numpy(t: Any) -> np.ndarray | None:
    if t is None:
        return None
    if not isinstance(t, torch.Tensor):
        return np.asarray(t)
    t = t.detach().to("cpu")
    if t.is_floating_point():
        t = t.to(torch.float64)
    return t.numpy().copy()  # never alias a tensor that a later step updates in place


class _Torch(Adapter):
    device_type = "cpu"

    def __init__(self, options: AdapterOptions | None = None):
        super().__init__(options)
        self._settings: dict[str, Any] = {}
        if torch is not None and self.available()[0]:
            self._pin()

    # -- identity -----------------------------------------------------------------------
    @property
    def framework_version(self) -> str:
        return f"torch {torch.__version__}" if torch is not None else "torch (not installed)"

    def available(self) -> tuple[bool, str]:
        if torch is None:
            return False, f"torch is not importable: {_IMPORT_ERROR}"
        return True, ""

    def settings(self) -> dict[str, Any]:
        return dict(self._settings)

    def _pin(self) -> None:
        s = self._settings
        if not self.options.framework_defaults:
            torch.set_num_threads(1)
        s["framework_defaults"] = self.options.framework_defaults
        s["intra_op_threads"] = torch.get_num_threads()
        s["float32_matmul_precision"] = torch.get_float32_matmul_precision()

    #: shared by torch-cpu and torch-cuda; an entry may restrict itself with ``backends = [...]``
    expectations_path = os.path.join(_EXPECTATIONS, "torch")

    def supports(self, op: str, dtype: str) -> Support:
        if op.startswith("scenario."):  # composite training loops: every layer is checked then
            return Support(True)
        try:
            _resolve(op)
        except Unsupported as e:
            return Support(False, str(e))
        return Support(True)

    # -- helpers ------------------------------------------------------------------------
    def _tensor(self, x: Any, dtype: str, requires_grad: bool = False):
        if not isinstance(x, np.ndarray):
            return x
        if x.dtype.kind == "f":
            t = torch.tensor(x, dtype=_torch_dtype(dtype), device=self.device_type)
            return t.requires_grad_(requires_grad)
        return torch.tensor(x, device=self.device_type)

    def _kwargs(self, kwargs: dict, dtype: str) -> dict:
        return {k: self._tensor(v, dtype) for k, v in kwargs.items()}

    def _build_module(self, request: ModuleRequest):
        cls = _resolve(request.op)
        if request.op.startswith("nn.functional."):
            kwargs = self._kwargs(dict(request.kwargs), request.dtype)
            return lambda *inputs: cls(*inputs, **kwargs)
        try:
            module = cls(**self._kwargs(dict(request.kwargs), request.dtype))
        except TypeError as e:  # an option this torch version does not have is coverage
            if "unexpected keyword argument" in str(e):
                raise Unsupported(f"torch {torch.__version__}: torch.{request.op} "
                                  f"{str(e).split(': ', 1)[-1]}") from e
            raise
        if not isinstance(module, torch.nn.Module):  # e.g. torchvision's ToTensor
            return module
        module = module.to(device=self.device_type, dtype=_torch_dtype(request.dtype))
        if isinstance(module, torch.nn.modules.lazy.LazyModuleMixin):
            module.eval()  # materialise parameters; the values are overwritten below
            with torch.no_grad():
                module(*[self._tensor(x, request.dtype) for x in request.steps[0].inputs])
        state = {k: self._tensor(np.asarray(v), request.dtype)
                 for k, v in {**request.params, **request.buffers}.items()}
        module.load_state_dict(state, strict=True)
        module.train(request.training)
        return module

    # -- modules ------------------------------------------------------------------------
    def run_module(self, request: ModuleRequest) -> ModuleResult:
        try:
            return self._run_module(request)
        except RuntimeError as e:
            if any(m in str(e) for m in _UNSUPPORTED_MARKERS):
                raise Unsupported(f"torch {self.device_type}: {str(e).splitlines()[0]}") from e
            raise

    def _call(self, request: ModuleRequest, module: Any, inputs: list) -> list:
        if request.method:
            return _flat_outputs(getattr(module, request.method)(*inputs))
        call = CALLS.get(request.op)
        return _flat_outputs(call(module, inputs) if call else module(*inputs))

    def _run_module(self, request: ModuleRequest) -> ModuleResult:
        module = self._build_module(request)
        is_module = isinstance(module, torch.nn.Module)
        params = dict(module.named_parameters()) if is_module else {}
        results = []
        for step in request.steps:
            forward_only = step.grad_outputs is None
            req = step.requires_grad or (False,) * len(step.inputs)
            inputs = [self._tensor(x, request.dtype, r and not forward_only)
                      for x, r in zip(step.inputs, req)]
            for p in params.values():
                p.grad = None
            # forward-only steps run without autograd: torch's inference fast paths (the eval
            # path of MultiheadAttention and the Transformer layers) are then the ones tested
            with torch.no_grad() if forward_only else contextlib.nullcontext():
                outputs = self._call(request, module, inputs)
            input_grads: tuple = ()
            param_grads: dict = {}
            if step.grad_outputs is not None:
                pairs = [(o, self._tensor(g, request.dtype))
                         for o, g in zip(outputs, step.grad_outputs)
                         if g is not None and isinstance(o, torch.Tensor) and o.requires_grad]
                if pairs:
                    torch.autograd.backward([o for o, _ in pairs], [g for _, g in pairs])
                input_grads = tuple(_to_numpy(x.grad) if r else None
                                    for x, r in zip(inputs, req))
                param_grads = {k: _to_numpy(p.grad) for k, p in params.items()}
            buffers = dict(module.named_buffers()) if is_module else {}
            if request.op in EXTRA_STATE:
                buffers.update(EXTRA_STATE[request.op](module))
            results.append(StepResult(
                outputs=tuple(_to_numpy(o) for o in outputs), input_grads=input_grads,
                param_grads=param_grads, buffers={k: _to_numpy(b) for k, b in buffers.items()}))
        return ModuleResult(results)

    def prepare_module(self, request: ModuleRequest):
        module = self._build_module(request)
        step = request.steps[0]
        req = step.requires_grad or (False,) * len(step.inputs)
        inputs = [self._tensor(x, request.dtype, r) for x, r in zip(step.inputs, req)]
        grads = [self._tensor(g, request.dtype) for g in (step.grad_outputs or ())]


        def run() -> None:
            outs = self._call(request, module, inputs)
            if grads:
                torch.autograd.backward(
                    [o for o, g in zip(outs, grads) if g is not None and o.requires_grad],
                    [g for o, g in zip(outs, grads) if g is not None and o.requires_grad])
        return run

    def prepare_optimizer(self, request: OptimizerRequest):
        dt = request.dtype
        tensors = {n: torch.nn.Parameter(self._tensor(v, dt)) for n, v in request.params.items()}
        for n, t in tensors.items():
            t.grad = self._tensor(request.grads[0][n], dt)
        groups = [{**{k: v for k, v in g.items() if k != "params"},
                   "params": [tensors[n] for n in g["params"]]} for g in request.param_groups]
        return _resolve(request.op)(groups, **dict(request.kwargs)).step

    def synchronize(self) -> None:
        if self.device_type == "cuda":
            torch.cuda.synchronize()

    # -- initializers, optimizers, schedulers (backends/torch_init.py, torch_optim.py) ----
    def sample_init(self, request: InitRequest) -> np.ndarray:
        return torch_init.sample_init(self, request)

    def run_optimizer(self, request: OptimizerRequest) -> OptimizerResult:
        try:
            return torch_optim.run_optimizer(self, request)
        except RuntimeError as e:
            if any(m in str(e) for m in _UNSUPPORTED_MARKERS):
                raise Unsupported(f"torch {self.device_type}: {str(e).splitlines()[0]}") from e
            raise

    def run_scheduler(self, request: SchedulerRequest) -> dict[str, np.ndarray]:
        return torch_optim.run_scheduler(self, request)

    def run_scenario(self, request: ScenarioRequest) -> ScenarioResult:
        return torch_scenario.run_scenario(self, request)


class TorchCPU(_Torch):
    name = "torch-cpu"
    device_type = "cpu"

    @property
    def device(self) -> str:
        from platform import machine
        threads = torch.get_num_threads() if torch is not None else 0
        return f"cpu ({machine()}, {threads} thread{'s' if threads != 1 else ''})"


def _run_in_child(cls_path: str, options: AdapterOptions, call: Any, request: Any):
    """In a sacrificial process: build the adapter, run ``call(adapter, request)``, report
    whether the CUDA context survived (a device-side assert poisons it for good)."""
    module_name, _, attr = cls_path.partition(":")
    adapter = getattr(importlib.import_module(module_name), attr)(options)
    try:
        result, error = call(adapter, request), None
    except Exception as e:  # re-raised in the parent with its type name and message
        result, error = None, (type(e).__name__, str(e).splitlines()[0] if str(e) else "")
    healthy = True
    if torch.cuda.is_initialized():
        try:
            torch.cuda.synchronize()
        except Exception:
            healthy = False
    return result, error, healthy


class TorchCUDA(_Torch):
    name = "torch-cuda"
    device_type = "cuda"
    #: CUDA reports invalid indices with device-side asserts that poison the process's CUDA
    #: context for good: cases that must raise run in a sacrificial child process
    isolates_expected_errors = True
    _child: Any = None

    def run_isolated(self, call: Any, request: Any) -> Any:
        """Run ``call(self, request)`` in a child process (reused until its context is
        poisoned); exceptions come back as ``IsolatedError('<type>: <message>')``."""
        import concurrent.futures
        import multiprocessing
        if getattr(self, "_child", None) is None:
            self._child = concurrent.futures.ProcessPoolExecutor(
                max_workers=1, mp_context=multiprocessing.get_context("spawn"))
        cls_path = f"{type(self).__module__}:{type(self).__qualname__}"
        result, error, healthy = self._child.submit(_run_in_child, cls_path, self.options,
                                                    call, request).result()
        if not healthy:
            self._child.shutdown(wait=True)
            self._child = None
        if error is not None:
            raise IsolatedError(f"{error[0]}: {error[1]}")
        return result

    def available(self) -> tuple[bool, str]:
        ok, reason = super().available()
        if not ok:
            return ok, reason
        if not torch.cuda.is_available():
            built = torch.version.cuda or "no CUDA (a CPU-only build)"
            return False, (f"CUDA not available: torch {torch.__version__} reports "
                           f"torch.cuda.is_available() == False (built with {built})")
        return True, ""

    @property
    def device(self) -> str:
        if torch is None or not torch.cuda.is_available():
            return "cuda (not available)"
        return f"cuda ({torch.cuda.get_device_name(0)})"

    def _pin(self) -> None:
        super()._pin()
        s = self._settings
        if not self.options.framework_defaults:
            torch.backends.cuda.matmul.allow_tf32 = False
            torch.backends.cudnn.allow_tf32 = False
            torch.backends.cudnn.benchmark = False
            torch.backends.cudnn.deterministic = True
            torch.set_float32_matmul_precision("highest")
        s["cuda_matmul_allow_tf32"] = torch.backends.cuda.matmul.allow_tf32
        s["cudnn_allow_tf32"] = torch.backends.cudnn.allow_tf32
        s["cudnn_benchmark"] = torch.backends.cudnn.benchmark
        s["cudnn_deterministic"] = torch.backends.cudnn.deterministic
        s["float32_matmul_precision"] = torch.get_float32_matmul_precision()
        s["cuda_version"] = torch.version.cuda
