"""Finding an adapter by name: built-in names, the ``nnconform.backends`` entry-point group, or
an import path ``package.module:Class``."""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points

from .contract import Adapter

ENTRY_POINT_GROUP = "nnconform.backends"

#: Built-in adapters, imported lazily so that naming one never imports another framework.
BUILTIN = {
    "reference": "backends.reference_backend:ReferenceBackend",
    "torch-cpu": "backends.torch_backend:TorchCPU",
    "torch-cuda": "backends.torch_backend:TorchCUDA",
    "jax": "backends.jax_backend:JaxBackend",
}


class UnknownBackend(LookupError):
    pass


def _entry_points() -> dict[str, object]:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def available_names() -> list[str]:
    return sorted(set(BUILTIN) | set(_entry_points()))


def _load_path(path: str) -> type:
    module_name, _, attr = path.partition(":")
    module = importlib.import_module(module_name)
    try:
        return getattr(module, attr)
    except AttributeError:
        raise UnknownBackend(f"module {module_name!r} has no attribute {attr!r}") from None


def resolve(spec: str) -> type[Adapter]:
    """The adapter class for ``spec``; UnknownBackend with the valid names if there is none."""
    spec = spec.strip()
    try:
        if spec in BUILTIN:
            cls = _load_path(BUILTIN[spec])
        elif spec in (eps := _entry_points()):
            cls = eps[spec].load()
        elif ":" in spec:
            cls = _load_path(spec)
        else:
            raise UnknownBackend(f"unknown backend {spec!r}; available: "
                                 f"{', '.join(available_names())}, or an import path "
                                 f"package.module:Class")
    except ImportError as e:
        raise UnknownBackend(f"cannot import backend {spec!r}: {e}") from None
    if not (isinstance(cls, type) and issubclass(cls, Adapter)):
        raise UnknownBackend(f"backend {spec!r} is {cls!r}, not a subclass of "
                             f"backends.contract.Adapter")
    return cls
