"""The dtypes the suite tests in and their machine epsilon (rounding lives in backends.dtypes)."""

from __future__ import annotations

from backends.dtypes import DTYPES, round_to  # noqa: F401  (re-exported for the harness)

#: Machine epsilon (spacing of 1.0): 2^-52, 2^-23, 2^-10, 2^-7.
EPS = {"float64": 2.0 ** -52, "float32": 2.0 ** -23, "float16": 2.0 ** -10, "bfloat16": 2.0 ** -7}

#: Smallest normal number: float32 and bfloat16 share an exponent range.
TINY = {"float64": 2.0 ** -1022, "float32": 2.0 ** -126, "float16": 2.0 ** -14,
        "bfloat16": 2.0 ** -126}

DEFAULT_DTYPES = ("float32", "float64")


def check_dtype(name: str) -> str:
    if name not in DTYPES:
        raise ValueError(f"unknown dtype {name!r}; valid dtypes: {', '.join(DTYPES)}")
    return name
