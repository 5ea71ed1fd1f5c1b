"""Input generation: float64 from the case's seed, then rounded to the test dtype.

Reference and backend consume exactly the same rounded values, so the measured error is the
op's own error, not input quantisation.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .cases import Input
from .dtypes import round_to

Generator = Callable[[np.random.Generator, tuple[int, ...], Input], np.ndarray]


def _normal(rng, shape, spec):
    return rng.standard_normal(shape)


def _uniform(rng, shape, spec):
    return rng.uniform(spec.low, spec.high, shape)


def _with_zeros(rng, shape, spec):
    """Normal data with about a quarter of the entries exactly 0 (kinks, subgradients)."""
    x = rng.standard_normal(shape)
    x[rng.random(shape) < 0.25] = 0.0
    return x


def _positive(rng, shape, spec):
    return rng.uniform(0.1, 2.0, shape)


def _large(rng, shape, spec):
    """Large magnitudes (stability of exp/log based ops)."""
    return rng.standard_normal(shape) * 1e3


def _int(rng, shape, spec):
    return rng.integers(int(spec.low), int(spec.high), size=shape, dtype=np.int64)


def _uint8(rng, shape, spec):
    """Image-like bytes, 0..255."""
    return rng.integers(0, 256, size=shape, dtype=np.uint8)


def _bool(rng, shape, spec):
    """Boolean masks, True with probability ``spec.high`` (default 1 -> use 0.5)."""
    p = spec.high if 0 < spec.high < 1 else 0.5
    return rng.random(shape) < p


GENERATORS: dict[str, Generator] = {
    "normal": _normal, "uniform": _uniform, "with_zeros": _with_zeros, "positive": _positive,
    "large": _large, "int": _int, "uint8": _uint8, "bool": _bool,
}

_VALUE_DTYPES = {"int": np.int64, "uint8": np.uint8, "bool": np.bool_}


def generate(rng: np.random.Generator, spec: Input, dtype: str):
    """One input array: explicit value or generated, float kinds rounded to ``dtype``."""
    if spec.kind == "none":
        return None
    if spec.kind == "python":
        return spec.value
    if spec.value is not None:
        arr = np.asarray(spec.value, dtype=_VALUE_DTYPES.get(spec.kind, np.float64))
    else:
        try:
            gen = GENERATORS[spec.kind]
        except KeyError:
            raise ValueError(f"unknown input kind {spec.kind!r}; known: "
                             f"{', '.join(GENERATORS)}") from None
        arr = gen(rng, tuple(spec.shape), spec)
    return arr if spec.is_integer else round_to(arr, dtype)


def normal_like(rng: np.random.Generator, shape: tuple[int, ...], dtype: str,
                scale: float = 1.0) -> np.ndarray:
    """Random parameters and cotangents."""
    return round_to(rng.standard_normal(shape) * scale, dtype)
