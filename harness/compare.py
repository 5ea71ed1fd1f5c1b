"""Comparison of a backend's named arrays against the reference's."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .dtypes import EPS, TINY
from .tolerance import Rule


@dataclass
class Comparison:
    ok: bool
    max_abs_err: float | None = None
    max_rel_err: float | None = None
    err_eps: float | None = None
    limit_eps: float = 0.0
    atol: float | None = None
    rtol: float | None = None
    worst: str = ""
    problems: list[str] = field(default_factory=list)

    @property
    def headroom(self) -> float | None:
        """limit / error; None when the error is exactly zero (infinite headroom)."""
        if self.err_eps is None or self.err_eps == 0:
            return None
        return self.limit_eps / self.err_eps


def _as_float(a) -> np.ndarray:
    arr = np.asarray(a)
    return arr.astype(np.float64) if arr.dtype.kind in "fiub" else arr


def compare(actual: dict[str, np.ndarray], expected: dict[str, np.ndarray],
            scales: dict[str, np.ndarray | float], dtype: str, rule: Rule) -> Comparison:
    """Check keys, shapes, non-finite values and error against ``rule`` for every named array.

    Error is measured relative to max(|ref|, scale, tiny/eps) where tiny is the dtype's smallest
    normal number: subnormal results may be flushed to zero (the CPU and GPU kernels of
    frameworks do), which costs at most one eps unit. NaN policy: where the reference is NaN the backend must be NaN; where the reference is
    finite a NaN is a failure. Infinities must match exactly (same sign).
    """
    eps = EPS[dtype]
    result = Comparison(ok=True, limit_eps=rule.limit, rtol=rule.limit * eps)
    worst_eps, worst_abs, worst_rel, max_scale = 0.0, 0.0, 0.0, 0.0
    for name, ref in expected.items():
        if name not in actual or actual[name] is None:
            result.problems.append(f"{name}: missing from the backend's result")
            continue
        ref = _as_float(ref)
        act = _as_float(actual[name])
        if act.shape != ref.shape:
            result.problems.append(f"{name}: wrong shape {act.shape}, expected {ref.shape}")
            continue
        ref_nan, act_nan = np.isnan(ref), np.isnan(act)
        if np.any(act_nan & ~ref_nan):
            result.problems.append(f"{name}: NaN where the reference is finite "
                                   f"({int(np.sum(act_nan & ~ref_nan))} elements)")
            continue
        if np.any(ref_nan & ~act_nan):
            result.problems.append(f"{name}: finite where the reference is NaN "
                                   f"({int(np.sum(ref_nan & ~act_nan))} elements)")
            continue
        ref_inf, act_inf = np.isinf(ref), np.isinf(act)
        if np.any(ref_inf != act_inf) or np.any(ref[ref_inf] != act[ref_inf]):
            result.problems.append(f"{name}: infinities differ from the reference")
            continue
        finite = ~(ref_nan | ref_inf)
        if not np.any(finite):
            continue
        r, a = ref[finite], act[finite]
        scale = np.broadcast_to(np.abs(_as_float(scales.get(name, 0.0))), ref.shape)[finite]
        err = np.abs(a - r)
        # absolute floor: results in the dtype's subnormal range may be flushed to zero, so an
        # error up to the smallest normal number counts as one eps unit, never more. Where the
        # reference and its scale are exactly 0 nothing is rounded or flushed: any non-zero
        # answer there (uninitialised memory, say) is an unbounded error.
        denom = np.maximum(np.abs(r), scale)
        denom = np.where(denom > 0, np.maximum(denom, TINY[dtype] / eps), 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            rel = np.where(err == 0, 0.0, err / np.where(denom == 0, np.finfo(float).tiny, denom))
            rel_pure = np.where(err == 0, 0.0,
                                err / np.where(r == 0, np.finfo(float).tiny, np.abs(r)))
        e = float(rel.max()) / eps
        if e >= worst_eps:
            worst_eps, result.worst = e, name
        worst_abs = max(worst_abs, float(err.max()))
        worst_rel = max(worst_rel, float(rel_pure.max()))
        max_scale = max(max_scale, float(scale.max()) if scale.size else 0.0)
    result.max_abs_err, result.max_rel_err, result.err_eps = worst_abs, worst_rel, worst_eps
    result.atol = rule.limit * eps * max_scale
    if result.problems:
        result.ok = False
    elif worst_eps > rule.limit:
        result.ok = False
        result.problems.append(f"{result.worst}: error {worst_eps:.3g} eps exceeds the "
                               f"{rule.name} limit of {rule.limit:.3g} eps")
    return result
