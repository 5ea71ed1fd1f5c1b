"""Speed: pytest-benchmark timings of the backend on device-resident data, with the bytes and
FLOPs the shapes imply, the NumPy reference's time, and peak probes measured in the same run.

Run with ``pytest --backend=torch-cpu --benchmark-only --benchmark-json=bench.json`` (the
default conformance run deselects these). Each benchmark times ``fn(); synchronize()`` where
``fn`` comes from the adapter's ``prepare_module`` / ``prepare_optimizer`` (inputs converted and
placed once, outside the timed region). Sizes: small (fits in L1/L2), medium (a few MB, L3),
large (hundreds of MB, out of cache).

Peak probes (group "peak"): the bandwidth ceiling is the best GB/s of a large ReLU (one read,
one write per element: STREAM's "copy" traffic), the compute ceiling the GFLOP/s of a large
square matmul. The report shows every benchmark against them.
"""

from __future__ import annotations

import math
import statistics
import time

import numpy as np
import pytest

from backends.contract import OptimizerRequest, Unsupported
from harness.cases import Case, Input
from harness.plugin import STATE
from harness.runner import problem_for
from harness.tolerance import elementwise
from reference import driver

pytestmark = pytest.mark.nnconform_backends

ITEMSIZE = {"float64": 8, "float32": 4, "float16": 2, "bfloat16": 2}


def _linear(m, k, n):
    return dict(op="nn.Linear", kwargs={"in_features": k, "out_features": n},
                inputs=(Input((m, k)),), flops=2 * m * k * n, elems=m * k + k * n + m * n)


def _relu(n):
    return dict(op="nn.ReLU", kwargs={}, inputs=(Input((n,)),), flops=n, elems=2 * n)


def _mse(n):
    return dict(op="nn.MSELoss", kwargs={}, inputs=(Input((n,)), Input((n,))), flops=3 * n,
                elems=2 * n)


def _bn2d(n, c, hw):
    numel = n * c * hw * hw
    return dict(op="nn.BatchNorm1d", kwargs={"num_features": c}, inputs=(Input((n, c, hw * hw)),),
                flops=8 * numel, elems=3 * numel)


#: (label, spec); forward+backward FLOPs and bytes are taken as 3x the forward's (the backward of
#: these ops does about twice the forward's work and traffic).
MODULE_BENCHES = [
    ("linear-small", _linear(8, 32, 32)), ("linear-medium", _linear(256, 512, 512)),
    ("linear-large", _linear(4096, 2048, 2048)),
    ("relu-small", _relu(1024)), ("relu-medium", _relu(1 << 20)), ("relu-large", _relu(1 << 26)),
    ("mse-small", _mse(1024)), ("mse-medium", _mse(1 << 20)), ("mse-large", _mse(1 << 25)),
    ("batchnorm-small", _bn2d(4, 8, 4)), ("batchnorm-medium", _bn2d(16, 32, 32)),
    ("batchnorm-large", _bn2d(64, 64, 96)),
]
OPTIM_BENCHES = [("sgd-momentum", "optim.SGD", {"lr": 0.1, "momentum": 0.9}, 4, 5),
                 ("adam", "optim.Adam", {"lr": 1e-3}, 12, 7)]
OPTIM_SIZES = [("small", 1024), ("medium", 1 << 20), ("large", 1 << 25)]
#: the reference is timed only where it takes well under a second per call
REFERENCE_LIMIT = 1 << 22


def _state(request):
    return request.config.stash[STATE]


def _adapter(request, backend):
    entry = next(b for b in _state(request).backends if b.spec == backend)
    if not entry.available:
        pytest.skip(entry.reason)
    return entry.adapter


def _time_reference(fn, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _run(benchmark, adapter, fn, info: dict) -> None:
    def timed():
        fn()
        adapter.synchronize()
    benchmark.extra_info.update(info)
    benchmark.pedantic(timed, rounds=5 if info.get("large") else 20, warmup_rounds=1,
                       iterations=1)


@pytest.fixture(params=["float32"])
def bench_dtype(request):
    return request.param


@pytest.mark.parametrize("label, spec", MODULE_BENCHES, ids=[b[0] for b in MODULE_BENCHES])
@pytest.mark.parametrize("backward", [False, True], ids=["forward", "forward_backward"])
def test_module_speed(benchmark, request, backend, label, spec, backward, bench_dtype):
    adapter = _adapter(request, backend)
    case = Case(op=spec["op"], family="module",
                label=label.replace("-", "_") + ("_fwd_bwd" if backward else "_fwd"),
                rule=elementwise(), dtype=bench_dtype, kwargs=spec["kwargs"],
                inputs=spec["inputs"], backward=backward)
    problem = problem_for(case, _state(request).seed)
    try:
        fn = adapter.prepare_module(problem.request)
    except Unsupported as e:
        pytest.skip(f"unsupported: {e}")
    factor = 3 if backward else 1
    info = {"op": spec["op"], "size": label.split("-")[1], "dtype": bench_dtype,
            "pass": "forward_backward" if backward else "forward",
            "flops": factor * spec["flops"],
            "bytes": factor * spec["elems"] * ITEMSIZE[bench_dtype],
            "large": label.endswith("large")}
    numel = sum(math.prod(i.shape) for i in spec["inputs"])
    if numel <= REFERENCE_LIMIT:
        req = problem.request
        step = req.steps[0]
        info["reference_median_s"] = _time_reference(lambda: driver.run_module(
            req.op, dict(req.kwargs), dict(req.params), dict(req.buffers),
            [(step.inputs, backward)], req.training,
            (lambda outs: step.grad_outputs) if backward else None))
    if label in ("relu-large",) and not backward:
        info["probe"] = "bandwidth"
    if label == "linear-large" and not backward:
        info["probe"] = "compute"
    _run(benchmark, adapter, fn, info)


@pytest.mark.parametrize("size, n", OPTIM_SIZES, ids=[s for s, _ in OPTIM_SIZES])
@pytest.mark.parametrize("label, op, kwargs, flops_per, streams",
                         OPTIM_BENCHES, ids=[b[0] for b in OPTIM_BENCHES])
def test_optimizer_step_speed(benchmark, request, backend, size, n, label, op, kwargs,
                              flops_per, streams, bench_dtype):
    adapter = _adapter(request, backend)
    rng = np.random.default_rng(0)
    req = OptimizerRequest(op=op, kwargs=kwargs, params={"w": rng.standard_normal(n)},
                           param_groups=[{"params": ["w"]}],
                           grads=[{"w": rng.standard_normal(n)}], dtype=bench_dtype)
    try:
        fn = adapter.prepare_optimizer(req)
    except Unsupported as e:
        pytest.skip(f"unsupported: {e}")
    info = {"op": op, "size": size, "dtype": bench_dtype, "pass": "step",
            "flops": flops_per * n, "bytes": streams * n * ITEMSIZE[bench_dtype],
            "large": size == "large"}
    if n <= REFERENCE_LIMIT:
        opt = driver.resolve(op)(**kwargs)
        p, g = req.params["w"], req.grads[0]["w"]
        info["reference_median_s"] = _time_reference(lambda: opt.step(p, g, {}))
    _run(benchmark, adapter, fn, info)
