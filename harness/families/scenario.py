"""Training scenarios: layers, losses, optimizers, schedulers and modes together.

A scenario case's ``extra`` holds the network (``layers``), ``loss``, ``optimizer``,
``scheduler``, the data (``data``: 'regression_1d', 'gaussian_regression',
'gaussian_classes', 'images'), the ``schedule`` (a list of (kind, count) runs of 'train' and
'eval' steps), ``batch``, and optionally ``resume_at`` and ``record_activation_std``. The
harness draws the initial weights (the same values go to both sides), the data and the dropout
masks from the case's seed; the reference (reference.scenario) and the backend run the loop;
losses, eval outputs, activation stds, final parameters and buffers are compared normwise.
"""

from __future__ import annotations

import math
import time

import numpy as np

from backends.contract import (Adapter, ScenarioRequest, ScenarioResult, ScenarioStep)
from reference import driver
from reference.scenario import run_scenario

from ..cases import Case
from ..dtypes import round_to
from ..problem import REFERENCE_ERRORS, Problem, expect

FAMILIES = ("scenario",)


def _initial_params(module, i: int, rng: np.random.Generator, dt: str) -> dict:
    """torch's default initialization of Linear and Conv (weights and biases
    U(+-1/sqrt(fan_in)), fan_in = prod(weight.shape[1:])), normalization affine parameters at
    torch's 1 and 0."""
    shapes = module.parameter_shapes()
    weight = shapes.get("weight", ())
    fan_in = math.prod(weight[1:]) if len(weight) >= 2 else 1
    out = {}
    for name, shape in shapes.items():
        if len(shape) >= 2:
            v = rng.uniform(-1, 1, shape) / math.sqrt(fan_in)
        elif len(weight) < 2:  # normalization layers: weight 1, bias 0
            v = np.ones(shape) if name == "weight" else np.zeros(shape)
        else:
            v = rng.uniform(-1, 1, shape) / math.sqrt(fan_in)
        out[f"{i}.{name}"] = round_to(v, dt)
    return out


def _data(kind: str, batch: int, rng: np.random.Generator, dt: str, classes: int = 10,
          features: int = 1):
    """(train inputs, train targets, eval inputs, eval targets)."""
    if kind == "regression_1d":  # y = 1.5 x + noise on [-1, 1], predictions on a wider grid
        x = np.linspace(-1, 1, batch)[:, None]
        y = 1.5 * x + 0.1 * rng.standard_normal(x.shape)
        grid = np.linspace(-1.5, 1.5, 25)[:, None]
        return (round_to(x, dt), round_to(y, dt), round_to(grid, dt), round_to(1.5 * grid, dt))
    if kind == "gaussian_regression":  # as many targets as features
        x, y = rng.standard_normal((batch, features)), rng.standard_normal((batch, features))
        return round_to(x, dt), round_to(y, dt), round_to(x, dt), round_to(y, dt)
    if kind == "gaussian_classes":
        x = rng.standard_normal((batch, features))
        y = rng.integers(0, classes, batch)
        return round_to(x, dt), y, round_to(x, dt), y
    if kind == "images":  # synthetic 3x32x32 images, 10 classes
        x = rng.standard_normal((batch, 3, 32, 32))
        y = rng.integers(0, classes, batch)
        return round_to(x, dt), y, round_to(x, dt), y
    raise ValueError(f"unknown scenario data {kind!r}")


def _dropout_widths(layers: list[dict]) -> dict[int, int]:
    """Mask width of each Dropout layer: the out_features of the nearest Linear before it."""
    widths, width = {}, None
    for i, spec in enumerate(layers):
        width = spec.get("kwargs", {}).get("out_features", width)
        if spec["op"] == "nn.Dropout":
            widths[i] = width
    return widths


def build(case: Case, seed: int) -> Problem:
    ex, dt = case.extra, case.dtype
    rng = np.random.default_rng(case.rng_seed(seed))
    layers = ex["layers"]
    modules = [driver.build_module(s["op"], dict(s.get("kwargs", {}))) for s in layers]
    params, buffers = {}, {}
    for i, m in enumerate(modules):
        params.update(_initial_params(m, i, rng, dt))
        buffers.update({f"{i}.{k}": v for k, v in m.initial_buffers().items()})
    x, y, x_eval, y_eval = _data(ex["data"], ex["batch"], rng, dt, ex.get("classes", 10),
                                 ex.get("features", 1))
    widths = _dropout_widths(layers)
    steps = []
    for kind, count in ex["schedule"]:
        for _ in range(count):
            masks = ({i: rng.random((x.shape[0], w)) >= layers[i]["kwargs"].get("p", 0.5)
                      for i, w in widths.items()} if kind == "train" else {})
            steps.append(ScenarioStep(kind=kind, inputs=x if kind == "train" else x_eval,
                                      target=y if kind == "train" else y_eval, masks=masks))
    request = ScenarioRequest(layers=layers, params=params, buffers=buffers, loss=ex["loss"],
                              optimizer=ex["optimizer"], scheduler=ex.get("scheduler"),
                              steps=steps, dtype=dt, resume_at=ex.get("resume_at"),
                              record_activation_std=ex.get("record_activation_std", False))
    problem = Problem(request=request)
    t0 = time.perf_counter()
    try:
        out = run_scenario(layers, params, buffers, ex["loss"], ex["optimizer"],
                           [{"kind": s.kind, "inputs": s.inputs, "target": s.target,
                             "masks": s.masks} for s in steps], ex.get("scheduler"),
                           request.record_activation_std)
    except REFERENCE_ERRORS as e:
        expect(case, e, problem)
        return problem
    problem.time_reference_s = time.perf_counter() - t0
    problem.expected = _flatten_out(out["losses"], out["outputs"], out["params"],
                                    out["buffers"], out["activation_std"])
    problem.scales = _scales(problem.expected, _sensitivity(case, layers, params, buffers,
                                                            steps, request), case)
    return problem


def _sensitivity(case: Case, layers, params, buffers, steps, request) -> dict:
    """The same loop with every stored value rounded to the test dtype: how far a correct
    low-precision run can legitimately drift (ReLU kinks flipped by rounding, Adam normalising
    near-zero gradients, momentum; a 100-layer batch-norm net at initialisation is chaotic).
    Three runs: rounding to the dtype (the identity for float64), and two with an extra random
    relative perturbation of one eps."""
    from ..dtypes import EPS
    ex, eps = case.extra, EPS[case.dtype]
    noise = np.random.default_rng(case.rng_seed(0))

    def jitter(v):
        """Rounding to the dtype plus a random relative perturbation of one eps: another
        realisation of the rounding a correct backend does in its own order."""
        v = np.asarray(v)
        if v.dtype.kind != "f":
            return v
        return round_to(v * (1 + eps * noise.standard_normal(v.shape)), case.dtype)

    runs = []
    for storage in (lambda v: round_to(v, case.dtype), jitter, jitter):
        out = run_scenario(layers, params, buffers, ex["loss"], ex["optimizer"],
                           [{"kind": s.kind, "inputs": s.inputs, "target": s.target,
                             "masks": s.masks} for s in steps], ex.get("scheduler"),
                           request.record_activation_std, storage=storage)
        runs.append(_flatten_out(out["losses"], out["outputs"], out["params"],
                                 out["buffers"], out["activation_std"]))
    return runs


#: how many times the measured drift of the rounded reference a backend may show
DRIFT_FACTOR = 10.0


def drift_scales(scales: dict, expected: dict, perturbed: list[dict], unit: float) -> dict:
    """``scales`` raised where a perturbed run of the reference drifts: a backend may differ
    from the reference by DRIFT_FACTOR times the largest drift of any perturbed run, so a
    key's scale becomes at least DRIFT_FACTOR x drift / ``unit`` (``unit`` = the rule's limit
    x eps). Used where the reference's map itself can amplify rounding (L-BFGS trajectories,
    the normwise Transformer modules); a scale moves only where a run drifts by more than
    limit / DRIFT_FACTOR of it. Keys absent from a run, of another shape or not floating point are skipped;
    non-finite values are left out of the drift."""
    out = dict(scales)
    for k, v in expected.items():
        ref = np.asarray(v)
        if ref.dtype.kind != "f":
            continue
        for run in perturbed:
            if k not in run:
                continue
            other = np.asarray(run[k])
            if other.shape != ref.shape or other.dtype.kind != "f":
                continue
            both = np.isfinite(ref) & np.isfinite(other)
            if np.any(both):
                drift = float(np.max(np.abs(other[both] - ref[both])))
                out[k] = np.maximum(out.get(k, 0.0), DRIFT_FACTOR * drift / unit)
    return out


def _scales(expected: dict, perturbed: list[dict], case: Case) -> dict:
    """Normwise scales (the largest magnitude of each array, as for optimizer trajectories),
    raised where a perturbed reference drifted further: a backend may differ from the exact
    reference by DRIFT_FACTOR times the largest drift that rounding alone produces in the
    perturbed runs (training dynamics amplify rounding: ReLU kinks flip, Adam normalises
    near-zero gradients)."""
    from ..dtypes import EPS
    unit = case.rule.limit * EPS[case.dtype]
    scales = {}
    for k, v in expected.items():
        finite = np.isfinite(v)
        scale = float(np.max(np.abs(v[finite]))) if np.any(finite) else 0.0
        for run in perturbed:
            if k in run and np.shape(run[k]) == np.shape(v) and unit > 0:
                both = finite & np.isfinite(run[k])
                if np.any(both):
                    drift = float(np.max(np.abs(run[k][both] - v[both])))
                    scale = max(scale, DRIFT_FACTOR * drift / unit)
        if k.endswith(".running_mean"):
            # a batch mean of centred activations cancels: its error is relative to their
            # spread, which the layer's running variance holds
            var = expected.get(k[: -len("running_mean")] + "running_var")
            if var is not None and np.any(np.isfinite(var)):
                scale = max(scale, float(np.sqrt(np.max(np.abs(var[np.isfinite(var)])))))
        scales[k] = scale
    return scales


def _flatten_out(losses, outputs, params, buffers, stds) -> dict[str, np.ndarray]:
    flat = {"losses": np.array([np.nan if v is None else v for v in losses], dtype=np.float64)}
    flat.update({f"step{t}.output": o for t, o in enumerate(outputs) if o is not None})
    flat.update({f"param.{k}": v for k, v in params.items()})
    flat.update({f"buffer.{k}": v for k, v in buffers.items()})
    if stds is not None:
        flat["activation_std"] = np.array([np.asarray(s, dtype=np.float64) for s in stds])
    return flat


def call(adapter: Adapter, request: ScenarioRequest) -> ScenarioResult:
    return adapter.run_scenario(request)


def flatten(case: Case, result: ScenarioResult) -> dict[str, np.ndarray]:
    if not isinstance(result, ScenarioResult):
        raise TypeError(f"run_scenario must return a ScenarioResult, got "
                        f"{type(result).__name__}")
    return _flatten_out(result.losses, result.outputs, result.params, result.buffers,
                        result.activation_std)
