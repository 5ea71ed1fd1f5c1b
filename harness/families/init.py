"""Initializers, on two levels (docs/statistics.md):

- exact: the values of the pure helpers (``calculate_gain``, fans), the values of the
  deterministic initializers (constant_, ones_, zeros_, eye_, dirac_), the structural facts of
  orthogonal_ and sparse_, the shape and names of every parameter, the same seed twice giving
  identical tensors;
- statistical: each random tensor (>= ``statistics.MIN_SAMPLE_SIZE`` elements) against the
  reference's exact target distribution.

Four kinds of case, told apart by the case:

``sample``   ``nn.init.<name>_`` (an ``InitRequest``): one sample, judged against
             ``reference.init.<name>_distribution``.
``value``    ``nn.init.calculate_gain`` / ``nn.init._calculate_fan_in_and_fan_out`` (an
             ``InitRequest`` answered by a value): compared with the reference's value under
             the case's rule.
``default``  a module name (``nn.Linear``; a ``DefaultInitRequest``): every parameter of a
             freshly constructed module, judged against ``reference.init.default_init``. A
             parameter smaller than MIN_SAMPLE_SIZE is pooled over independent constructions
             (seeds derived from the case's) until it has that many elements.
``depth``    ``extra["depth"]`` (a ``ScenarioRequest`` with ``record_activation_std``): a
             stack of bias-free Linear layers with weights drawn by the harness from the
             initializer ``op`` (identical on both sides); the per-layer activation std
             profile is judged under ``tolerance.depth_profile``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from backends.contract import (VALUE_INIT_OPS, Adapter, DefaultInitRequest, InitRequest,
                               ScenarioRequest, ScenarioResult, ScenarioStep)
from reference import driver
from reference import init as ref_init

from ..cases import Case
from ..compare import compare
from ..dtypes import EPS, round_to
from ..problem import REFERENCE_ERRORS, Problem, expect

FAMILIES = ("init",)

#: the largest finite value of each dtype (overflow in depth scenarios)
_MAX = {"float64": float(np.finfo(np.float64).max), "float32": float(np.finfo(np.float32).max),
        "float16": 65504.0, "bfloat16": 3.3895313892515355e38}


def kind_of(case: Case) -> str:
    if "depth" in case.extra:
        return "depth"
    if case.op in VALUE_INIT_OPS:
        return "value"
    if case.op.startswith("nn.init."):
        return "sample"
    return "default"


def _seed(case: Case, seed: int, replica: int = 0) -> int:
    material = case.rng_seed(seed) + ([replica] if replica else [])
    return int(np.random.SeedSequence(material).generate_state(1)[0]) & 0x7FFFFFFF


# ----------------------------------------------------------------------------- build
def build(case: Case, seed: int) -> Problem:
    return {"sample": _build_sample, "value": _build_value, "default": _build_default,
            "depth": _build_depth}[kind_of(case)](case, seed)


def _build_sample(case: Case, seed: int) -> Problem:
    shape = tuple(case.extra["shape"])
    problem = Problem(request=InitRequest(op=case.op, shape=shape, kwargs=case.kwargs,
                                          seed=int(case.rng_seed(seed)[1] ^ seed) & 0x7FFFFFFF,
                                          dtype=case.dtype))
    try:
        problem.distribution = driver.init_distribution(case.op, shape, case.ref_kwargs)
    except REFERENCE_ERRORS as e:
        expect(case, e, problem)
    return problem


def _build_value(case: Case, seed: int) -> Problem:
    shape = tuple(case.extra.get("shape", ()))
    problem = Problem(request=InitRequest(op=case.op, shape=shape, kwargs=case.kwargs,
                                          seed=_seed(case, seed), dtype=case.dtype))
    fn = driver.resolve(case.op)
    try:
        value = fn(**case.ref_kwargs) if case.op == "nn.init.calculate_gain" else fn(shape)
    except REFERENCE_ERRORS as e:
        expect(case, e, problem)
        return problem
    problem.expected = {"value": np.asarray(value, dtype=np.float64)}
    return problem


def _build_default(case: Case, seed: int) -> Problem:
    name = case.op.removeprefix("nn.")
    problem = Problem(request=DefaultInitRequest(op=case.op, kwargs=case.kwargs,
                                                 seed=_seed(case, seed), dtype=case.dtype))
    try:
        dists = ref_init.default_init(name, dict(case.ref_kwargs))
        shapes = ref_init.default_init_shapes(name, dict(case.ref_kwargs))
    except REFERENCE_ERRORS + (AssertionError,) as e:
        expect(case, e, problem)
        return problem
    problem.distribution = {k: (shapes[k], d) for k, d in dists.items()}
    return problem


def _depth_weights(case: Case, rng: np.random.Generator) -> list[np.ndarray]:
    width, layers = case.extra["width"], case.extra["depth"]
    fn = driver.resolve(case.op)
    return [round_to(fn(np.empty((width, width)), **case.ref_kwargs, generator=rng), case.dtype)
            for _ in range(layers)]


def _build_depth(case: Case, seed: int) -> Problem:
    from .. import tolerance
    ex, dt = case.extra, case.dtype
    rng = np.random.default_rng(case.rng_seed(seed))
    x0 = round_to(rng.standard_normal((ex["batch"], ex["width"])), dt)
    weights = _depth_weights(case, rng)
    act = ex.get("activation")
    layers, params = [], {}
    for i, w in enumerate(weights):
        params[f"{len(layers)}.weight"] = w
        layers.append({"op": "nn.Linear", "kwargs": {"in_features": ex["width"],
                                                     "out_features": ex["width"],
                                                     "bias": False}})
        if act is not None:
            layers.append({"op": act, "kwargs": {}})
    request = ScenarioRequest(layers=layers, params=params, buffers={},
                              loss={"op": "nn.MSELoss", "kwargs": {}},
                              optimizer={"op": "optim.SGD", "kwargs": {"lr": 0.0}},
                              steps=[ScenarioStep(kind="eval", inputs=x0)], dtype=dt,
                              record_activation_std=True)
    per_layer = tolerance.matmul(ex["width"]).limit + tolerance.elementwise().limit
    profile = ref_init.depth_profile(x0, weights, act, rel_noise=per_layer * EPS[dt], twins=3,
                                     generator=np.random.default_rng(case.rng_seed(seed) + [1]))
    return Problem(request=request, expected=profile)


# ----------------------------------------------------------------------------- call
def call(adapter: Adapter, request: Any) -> Any:
    if isinstance(request, ScenarioRequest):
        return adapter.run_scenario(request)
    if isinstance(request, DefaultInitRequest):
        return adapter.sample_default_init(request)
    return adapter.sample_init(request)


# ----------------------------------------------------------------------------- judge
def judge(case: Case, problem: Problem, adapter: Adapter, result: Any, row: dict) -> None:
    {"sample": _judge_sample, "value": _judge_value, "default": _judge_default,
     "depth": _judge_depth}[kind_of(case)](case, problem, adapter, result, row)


def _verdict(row: dict, tests: list, what: str) -> None:
    """Record a battery of ``statistics.StatResult``s (exact checks have p = 0 or 1)."""
    from .. import statistics
    worst = min(tests, key=lambda t: t.p_value) if tests else None
    row.update(p_value=worst.p_value if worst else None,
               alpha=worst.alpha if worst else None,
               tolerance_rule=f"statistical(alpha={statistics.ALPHA:g} per test)")
    summary = ", ".join(f"{t.test} p={t.p_value:.3g}" for t in tests)
    rejected = [t for t in tests if t.rejected]
    if rejected:
        row.update(outcome="fail", message=f"{what} rejected: {summary}")
    else:
        row.update(outcome="pass", message=summary)


def _same(a: Any, b: Any) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=True))


def _judge_sample(case: Case, problem: Problem, adapter: Adapter, sample: Any,
                  row: dict) -> None:
    """Exact checks (shape, finite, same seed -> same sample), then the distribution tests."""
    from .. import statistics  # scipy.stats costs ~1 s to import: only runs that judge samples
    sample = np.asarray(sample)
    shape = problem.request.shape
    if sample.shape != shape:
        row.update(outcome="fail", message=f"wrong shape {sample.shape}, expected {shape}")
        return
    if case.extra.get("check_same_seed", True) and \
            not _same(adapter.sample_init(problem.request), sample):
        row.update(outcome="fail", message="the same seed gave two different samples")
        return
    if not np.all(np.isfinite(sample.astype(np.float64))):
        row.update(outcome="fail", message="the sample has non-finite values")
        return
    if sample.size == 0:  # torch: initializing a zero-element tensor is a no-op
        row.update(outcome="pass", message="zero-element tensor left as it is")
        return
    d = problem.distribution
    tests = statistics.distribution_tests(sample.astype(np.float64), d)
    _verdict(row, tests, f"sample of {d.kind}(mean={d.mean:g}, std={d.std:g})")


def _judge_value(case: Case, problem: Problem, adapter: Adapter, value: Any,
                 row: dict) -> None:
    actual = {"value": np.asarray(value, dtype=np.float64)}
    cmp = compare(actual, problem.expected, {}, "float64", case.rule)
    row.update(outcome="pass" if cmp.ok else "fail", max_abs_err=cmp.max_abs_err,
               max_rel_err=cmp.max_rel_err, err_eps=cmp.err_eps, headroom=cmp.headroom,
               worst=cmp.worst,
               message="; ".join(cmp.problems[:5]) or
               f"{actual['value'].tolist()} (reference {problem.expected['value'].tolist()}; "
               f"compared in float64 eps: the helpers return Python floats/ints)")


def replicas_needed(shape: tuple[int, ...], dist: Any) -> int:
    """Independent constructions needed to pool >= MIN_SAMPLE_SIZE elements of a random
    parameter (1 for constant/exact parameters, whose check is exact)."""
    from ..statistics import MIN_SAMPLE_SIZE
    n = math.prod(shape) - len(dist.zero_rows) * (math.prod(shape[1:]) if shape else 1)
    if dist.kind in ("constant", "exact") or n <= 0:
        return 1
    return math.ceil(MIN_SAMPLE_SIZE / n)


def _judge_default(case: Case, problem: Problem, adapter: Adapter, params: Any,
                   row: dict) -> None:
    """Names and shapes exactly, same seed -> same parameters, then every parameter's battery
    (pooled over independent constructions where it is small)."""
    from .. import statistics
    expected = problem.distribution
    params = {k: np.asarray(v) for k, v in dict(params).items()}
    if set(params) != set(expected):
        row.update(outcome="fail", message=f"parameters {sorted(params)}, expected "
                                           f"{sorted(expected)}")
        return
    wrong = [f"{k}: {params[k].shape} != {s}" for k, (s, _) in expected.items()
             if params[k].shape != tuple(s)]
    if wrong:
        row.update(outcome="fail", message="wrong shapes: " + "; ".join(wrong))
        return
    again = adapter.sample_default_init(problem.request)
    if set(again) != set(params) or not all(_same(again[k], params[k]) for k in params):
        row.update(outcome="fail", message="the same seed gave two different modules")
        return
    bad = [k for k, v in params.items() if not np.all(np.isfinite(v.astype(np.float64)))]
    if bad:
        row.update(outcome="fail", message=f"non-finite values in {bad}")
        return
    need = {k: replicas_needed(s, d) for k, (s, d) in expected.items()}
    pooled = {k: [v.astype(np.float64)] for k, v in params.items()}
    for r in range(1, max(need.values(), default=1)):
        req = DefaultInitRequest(problem.request.op, problem.request.kwargs,
                                 _seed(case, row["seed"], r), problem.request.dtype)
        more = adapter.sample_default_init(req)
        for k in params:
            if r < need[k]:
                pooled[k].append(np.asarray(more[k], dtype=np.float64))
    tests = []
    for k, (shape, d) in expected.items():
        parts = pooled[k]
        if d.zero_rows:  # the padding rows of every construction exactly 0, the rest pooled
            rows = list(d.zero_rows)
            worst = max(float(np.max(np.abs(p[rows]))) for p in parts)
            rest = np.concatenate([np.delete(p, rows, axis=0).ravel() for p in parts])
            battery = [statistics.StatResult("zero_rows", worst, 1.0 if worst == 0 else 0.0,
                                             statistics.ALPHA)]
            battery += statistics.distribution_tests(
                rest, ref_init.Distribution(d.kind, d.mean, d.std, d.low, d.high))
        else:
            sample = np.concatenate([p.ravel() for p in parts]) if len(parts) > 1 else parts[0]
            battery = statistics.distribution_tests(sample, d)
        tests += [type(t)(f"{k}:{t.test}", t.statistic, t.p_value, t.alpha) for t in battery]
    _verdict(row, tests, "module parameters")
    reps = max(need.values(), default=1)
    if reps > 1:
        row["message"] += f" (pooled over up to {reps} constructions)"


def _judge_depth(case: Case, problem: Problem, adapter: Adapter, result: Any,
                 row: dict) -> None:
    """Per module output: the finite/non-finite pattern by the overflow rule, then the stds of
    the layers both sides compute in range (tolerance.depth_profile)."""
    if not isinstance(result, ScenarioResult) or not result.activation_std:
        row.update(outcome="fail", message="run_scenario returned no activation_std")
        return
    ref = problem.expected
    got = np.asarray(result.activation_std[0], dtype=np.float64)
    n = ref["std"].size
    if got.shape != (n,):
        row.update(outcome="fail", message=f"{got.size} activation stds, expected {n}")
        return
    dt, rule = case.dtype, case.rule
    eps, big = EPS[dt], _MAX[dt]
    per = 2 if case.extra.get("activation") else 1
    keeps_inf = ref_init.DEPTH_ACTIVATIONS[case.extra.get("activation")][1] and per == 1
    from .. import tolerance
    per_layer = tolerance.matmul(case.extra["width"]).limit + tolerance.elementwise().limit
    delta = np.array([(j // per + 1) * per_layer * eps for j in range(n)])
    in_range = np.logical_and.accumulate(ref["scale"] * (1 + delta) < big)
    exceeds = ref["amax"] * (1 - delta) > big
    overflow_at = int(np.argmax(exceeds)) if exceeds.any() else None
    finite = np.isfinite(got)
    first_nonfinite = int(np.argmin(finite)) if not finite.all() else None
    problems = []
    if first_nonfinite is not None and in_range[first_nonfinite]:
        problems.append(f"module output {first_nonfinite} is non-finite where the reference "
                        f"stays below the {dt} range (std {ref['std'][first_nonfinite]:.4g})")
    if overflow_at is not None and (first_nonfinite is None or first_nonfinite > overflow_at):
        problems.append(f"module output {overflow_at} is finite where its exact values exceed "
                        f"the {dt} range (max |x| {ref['amax'][overflow_at]:.4g})")
    if keeps_inf and first_nonfinite is not None and finite[first_nonfinite:].any():
        problems.append("finite values after an overflow in a stack that keeps infinities")
    stop = n if first_nonfinite is None else first_nonfinite
    sel = slice(0, stop)
    scale = 4 * ref["twin_dev"][sel] / (eps * rule.limit)
    cmp = compare({"activation_std": got[sel]}, {"activation_std": ref["std"][sel]},
                  {"activation_std": scale}, dt, rule)
    problems += cmp.problems
    where = "all finite" if first_nonfinite is None else \
        f"non-finite from module output {first_nonfinite}"
    expected_overflow = "none" if overflow_at is None else \
        f"band {int(np.argmin(in_range)) if not in_range.all() else n}..{overflow_at}"
    row.update(outcome="fail" if problems else "pass", max_abs_err=cmp.max_abs_err,
               max_rel_err=cmp.max_rel_err, err_eps=cmp.err_eps, headroom=cmp.headroom,
               worst=cmp.worst,
               message="; ".join(problems[:5]) or
               f"{stop} stds compared ({where}; reference overflow {expected_overflow}); "
               f"std first/last compared {got[0]:.4g}/{got[stop - 1]:.4g}")
