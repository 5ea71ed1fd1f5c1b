"""Central finite differences in float64: the independent check of every hand-derived backward."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np


def numeric_vjp(f: Callable[..., np.ndarray], args: Sequence[np.ndarray], cotangent: np.ndarray,
                wrt: int, h: float = 1e-6) -> np.ndarray:
    """d<cotangent, f(args)>/d args[wrt] by central differences (O(h^2) truncation error)."""
    args = [np.array(a, dtype=np.float64) if isinstance(a, np.ndarray) else a for a in args]
    x = args[wrt]
    grad = np.zeros_like(x)
    flat = x.reshape(-1)
    g = grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + h
        plus = np.sum(cotangent * f(*args))
        flat[i] = old - h
        minus = np.sum(cotangent * f(*args))
        flat[i] = old
        g[i] = (plus - minus) / (2 * h)
    return grad


def assert_vjp_matches(f: Callable[..., np.ndarray], args: Sequence[np.ndarray],
                       cotangent: np.ndarray, analytic: Sequence[np.ndarray | None],
                       rtol: float = 1e-6, atol: float = 1e-7, h: float = 1e-6) -> None:
    """Compare each non-None analytic gradient with central differences."""
    for i, a in enumerate(analytic):
        if a is None:
            continue
        n = numeric_vjp(f, args, cotangent, i, h)
        np.testing.assert_allclose(a, n, rtol=rtol, atol=atol,
                                   err_msg=f"backward w.r.t. argument {i} disagrees with "
                                           f"central finite differences")
