"""Shared helpers of the JAX adapter: dtypes, argument normalisation, reductions, checks."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..contract import Unsupported

import jax
import jax.numpy as jnp

DT = {"float64": jnp.float64, "float32": jnp.float32, "float16": jnp.float16,
      "bfloat16": jnp.bfloat16}


def to_jax(x: Any, dtype: str) -> Any:
    """NumPy float arrays -> jnp arrays of the request dtype; integer/bool arrays keep their
    kind; everything else (None, bools, tuples) passes through."""
    if isinstance(x, np.ndarray):
        if x.dtype.kind == "f":
            return jnp.asarray(x, dtype=DT[dtype])
        return jnp.asarray(x)
    return x


def to_numpy(x: Any) -> Any:
    if x is None:
        return None
    a = np.asarray(x)
    if a.dtype.kind == "f" or a.dtype == jnp.bfloat16:
        return a.astype(np.float64)
    return a.copy()


def is_float(x: Any) -> bool:
    return hasattr(x, "dtype") and jnp.issubdtype(x.dtype, jnp.floating)


def ntuple(v: Any, n: int) -> tuple:
    if isinstance(v, (tuple, list)):
        if len(v) == 1:
            return tuple(v) * n
        return tuple(v)
    return (v,) * n


def reduce(loss, reduction: str):
    if reduction == "none":
        return loss
    if reduction == "sum":
        return jnp.sum(loss)
    if reduction == "mean":
        return jnp.mean(loss)
    raise ValueError(f"{reduction} is not a valid value for reduction")


def check(cond: bool, msg: str, exc: type = ValueError) -> None:
    """torch validates arguments eagerly where jax computes silently: the adapter implements
    torch's documented contract, so it raises the same way (the harness only needs a raise)."""
    if not cond:
        raise exc(msg)


def nodiff(x):
    return jax.lax.stop_gradient(x)


def scaled_grad(x, s):
    """Value x, gradient scaled by s (torch's hand-written backward rules that are not the VJP
    of the forward expression, e.g. scale_grad_by_freq)."""
    return x * s + nodiff(x * (1 - s))


def canon_dim(dim: int, ndim: int) -> int:
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], "
                         f"but got {dim})")
    return dim % n


__all__ = ["Unsupported", "jax", "jnp", "np"]
