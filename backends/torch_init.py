"""torch initializers for the torch adapter: ``nn.init.*`` samples, the pure helpers
(``calculate_gain``, ``_calculate_fan_in_and_fan_out``) and the default initialization of
``torch.nn`` modules (their constructors' ``reset_parameters``)."""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from .contract import VALUE_INIT_OPS, DefaultInitRequest, InitRequest


def _accepts_generator(fn: Any) -> bool:
    """constant_, ones_, zeros_, eye_ and dirac_ draw nothing and take no ``generator``."""
    try:
        return "generator" in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


def sample_init(adapter: Any, request: InitRequest | DefaultInitRequest) -> Any:
    """Fill a fresh tensor with ``torch.<op>(tensor, **kwargs[, generator=...])``; value ops
    answer their value; a ``DefaultInitRequest`` answers a module's constructed parameters."""
    import torch

    from .torch_backend import _resolve, _to_numpy, _torch_dtype
    if isinstance(request, DefaultInitRequest):
        return sample_default_init(adapter, request)
    fn = _resolve(request.op)
    kwargs = dict(request.kwargs)
    if request.op in VALUE_INIT_OPS:
        if request.op == "nn.init.calculate_gain":
            value = fn(**kwargs)
        else:
            value = fn(torch.empty(request.shape, dtype=_torch_dtype(request.dtype)))
        return np.asarray(value, dtype=np.float64)
    t = torch.empty(request.shape, dtype=_torch_dtype(request.dtype), device=adapter.device_type)
    if _accepts_generator(fn):
        kwargs["generator"] = torch.Generator(device=adapter.device_type).manual_seed(
            request.seed)
    with torch.no_grad():
        fn(t, **kwargs)
    return _to_numpy(t)


def sample_default_init(adapter: Any, request: DefaultInitRequest) -> dict[str, np.ndarray]:
    """Seed the global generator of the adapter's device (what ``torch.manual_seed(seed)`` does
    for it: ``torch.default_generator`` on the CPU -- called directly, since
    ``torch.manual_seed`` also formats a stack trace for lazy CUDA seeding, ~1 ms a call), then
    ``torch.nn.<op>(**kwargs, device=..., dtype=...)``: the parameters as the constructor drew
    them, by state_dict name. The generator state is restored afterwards
    (``torch.random.fork_rng``), so other cases are not affected."""
    import torch

    from .torch_backend import _resolve, _to_numpy, _torch_dtype
    cls = _resolve(request.op)
    devices = [] if adapter.device_type == "cpu" else [torch.cuda.current_device()]
    with torch.random.fork_rng(devices=devices):
        if adapter.device_type == "cpu":
            torch.default_generator.manual_seed(request.seed)
        else:
            torch.manual_seed(request.seed)
        module = cls(**dict(request.kwargs), device=adapter.device_type,
                     dtype=_torch_dtype(request.dtype))
    return {name: _to_numpy(p) for name, p in module.named_parameters()}
