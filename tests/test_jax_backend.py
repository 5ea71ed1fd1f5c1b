"""Smoke test of the JAX adapter (backends/jax_backend): a layer with a gradient, a stateful
layer, an initializer, an optimizer and a schedule, against values computed here by hand; then
one op of every family through the real suites. Skips cleanly where jax/optax are not
installed (the project's test command installs them: the `jax` extra)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("jax")
pytest.importorskip("optax")

from backends.contract import (InitRequest, ModuleRequest, ModuleStep, OptimizerRequest,  # noqa: E402
                               SchedulerRequest)
from backends.registry import resolve  # noqa: E402


@pytest.fixture(scope="module")
def jax_backend():
    backend = resolve("jax")()
    assert backend.available() == (True, "")
    return backend


def test_registered_and_x64(jax_backend):
    s = jax_backend.settings()
    assert s["jax_enable_x64"] is True and s["platform"] == "cpu"
    assert jax_backend.supports("nn.Linear", "float64").ok
    assert not jax_backend.supports("optim.SparseAdam", "float32").ok


def test_linear_forward_and_vjp(jax_backend):
    x = np.array([[1.0, 2.0], [3.0, -1.0]])
    w = np.array([[0.5, -1.0], [2.0, 0.25], [1.0, 1.0]])
    b = np.array([0.1, 0.2, 0.3])
    g = np.ones((2, 3))
    res = jax_backend.run_module(ModuleRequest(
        "nn.Linear", {"in_features": 2, "out_features": 3}, {"weight": w, "bias": b}, {},
        [ModuleStep((x,), (g,), (True,))], True, "float64"))
    st = res.steps[0]
    np.testing.assert_allclose(st.outputs[0], x @ w.T + b, rtol=1e-15)
    np.testing.assert_allclose(st.input_grads[0], g @ w, rtol=1e-15)
    np.testing.assert_allclose(st.param_grads["weight"], g.T @ x, rtol=1e-15)
    np.testing.assert_allclose(st.param_grads["bias"], g.sum(0), rtol=1e-15)


def test_batchnorm_running_stats_follow_torch(jax_backend):
    x = np.array([[1.0], [3.0]])
    res = jax_backend.run_module(ModuleRequest(
        "nn.BatchNorm1d", {"num_features": 1}, {"weight": np.ones(1), "bias": np.zeros(1)},
        {"running_mean": np.zeros(1), "running_var": np.ones(1),
         "num_batches_tracked": np.array(0)}, [ModuleStep((x,))], True, "float64"))
    buf = res.steps[0].buffers
    np.testing.assert_allclose(buf["running_mean"], [0.2])          # 0.9 * 0 + 0.1 * 2
    np.testing.assert_allclose(buf["running_var"], [0.9 + 0.1 * 2])  # unbiased var = 2
    assert int(buf["num_batches_tracked"]) == 1


def test_init_and_value_ops(jax_backend):
    gain = jax_backend.sample_init(InitRequest("nn.init.calculate_gain", (),
                                               {"nonlinearity": "relu"}, 0, "float64"))
    assert float(gain) == pytest.approx(np.sqrt(2))
    w = jax_backend.sample_init(InitRequest("nn.init.kaiming_uniform_", (64, 32), {}, 3,
                                            "float32"))
    assert w.shape == (64, 32) and np.abs(w).max() <= np.sqrt(6 / 32) * np.sqrt(2 / 1.0001)


def test_sgd_momentum_and_steplr(jax_backend):
    p = {"w": np.array([1.0, -1.0])}
    grads = [{"w": np.array([1.0, 2.0])}, {"w": np.array([1.0, 2.0])}]
    out = jax_backend.run_optimizer(OptimizerRequest(
        "optim.SGD", {"lr": 0.1, "momentum": 0.9}, p, [{"params": ["w"]}], grads, "float64"))
    # torch: buf1 = g, p1 = p - 0.1 g; buf2 = 0.9 g + g, p2 = p1 - 0.1 * 1.9 g
    np.testing.assert_allclose(out.params[1]["w"], [1 - 0.29, -1 - 0.58])
    np.testing.assert_allclose(out.state[1]["w"]["momentum_buffer"], [1.9, 3.8])
    lr = jax_backend.run_scheduler(SchedulerRequest(
        "optim.lr_scheduler.StepLR", {"step_size": 2, "gamma": 0.5}, [{"lr": 1.0}], 4))
    np.testing.assert_allclose(lr["lr"][:, 0], [1, 1, 0.5, 0.5, 0.25])


#: one op of every family (the foundation's), run through the real suites on jax
SMOKE_FILES = ["suites/test_linear.py", "suites/test_normalization.py", "suites/test_activation.py",
               "suites/test_loss.py", "suites/test_init.py", "suites/test_optim.py",
               "suites/test_lr_scheduler.py"]
SMOKE_OPS = ("nn.Linear", "nn.BatchNorm1d", "nn.ReLU", "nn.MSELoss", "nn.init.kaiming_normal_",
             "optim.SGD", "optim.lr_scheduler.StepLR")


def test_suite_smoke_subset_on_jax(tmp_path):
    """CI's JAX run: the suites' cases of one op per family, float32 and float64, with no
    failure or error (documented deviations allowed); the full run is `tox -e jax`."""
    results = tmp_path / "jax.jsonl"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--backend=jax",
         f"--results={results}", *SMOKE_FILES, "-k", " or ".join(f"{op}-" for op in SMOKE_OPS)],
        cwd=Path(__file__).resolve().parent.parent, capture_output=True, text=True,
        env={**os.environ, "PYTHONHASHSEED": "0"}, timeout=900)
    rows = [r for r in map(json.loads, results.read_text().splitlines())
            if r["record"] == "case"]
    bad = [(r["case_id"], r["outcome"], r["message"][:200]) for r in rows
           if r["outcome"] in ("fail", "error")]
    assert proc.returncode == 0 and not bad, (bad, proc.stdout[-3000:])
    passed = {r["op"] for r in rows if r["outcome"] == "pass"}
    assert passed >= set(SMOKE_OPS)
    assert {r["family"] for r in rows} == {"module", "activation", "loss", "init", "optim",
                                           "lr_scheduler"}
    assert {r["dtype"] for r in rows} == {"float32", "float64"}
