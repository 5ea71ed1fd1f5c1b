"""dtype names and exact rounding in NumPy (shared by the harness and adapters that need it)."""

from __future__ import annotations

import numpy as np

#: dtype names the suite knows, in the spelling used on the command line and in results.
DTYPES = ("float64", "float32", "float16", "bfloat16")


def _round_bfloat16(x: np.ndarray) -> np.ndarray:
    """Round to nearest-even on the upper 16 bits of the float32 pattern (what bfloat16 keeps)."""
    f = np.asarray(x, dtype=np.float32)
    bits = f.view(np.uint32).astype(np.uint64)
    rounded = ((bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000).astype(np.uint32)
    out = rounded.view(np.float32).astype(np.float64)
    return np.where(np.isnan(f), np.nan, out)


def round_to(x, dtype: str) -> np.ndarray:
    """float64 values exactly representable in ``dtype`` (nearest, ties to even); integer arrays
    pass through unchanged."""
    x = np.asarray(x)
    if x.dtype.kind != "f":
        return x
    x = x.astype(np.float64)
    if dtype == "float64":
        return x
    if dtype == "bfloat16":
        return _round_bfloat16(x)
    with np.errstate(over="ignore"):  # beyond the dtype's range rounds to +-inf, as it should
        return x.astype(dtype).astype(np.float64)
