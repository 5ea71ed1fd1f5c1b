"""Scales raised by the reference's own drift (harness.families.scenario.drift_scales), for the
two computations whose map can amplify rounding: L-BFGS trajectories (harness.families.optim)
and the normwise Transformer modules (harness.families.module). Each was a false alarm of the
torch-cpu backend in the false-alarm audit (docs/audit.md); the tests pin the diagnosis (the
perturbed reference itself drifts beyond the rule's limit) and that the raised scales still
fail a wrong answer."""

import dataclasses
import warnings

import numpy as np
import pytest

from backends.reference_backend import ReferenceBackend
from harness.dtypes import EPS
from harness.families import module as module_family
from harness.families import optim as optim_family
from harness.families.scenario import DRIFT_FACTOR, drift_scales
from harness.runner import run_case
from suites.test_attention import transformer_curated
from suites.test_optim import lbfgs_cases


def _lbfgs(label: str, dtype: str = "float64", **kwargs):
    case = next(c for c in lbfgs_cases() if c.label == label).with_dtype(dtype)
    return dataclasses.replace(case, kwargs={**case.kwargs, **kwargs}) if kwargs else case


def _transformer(label: str, dtype: str = "float64"):
    return next(c for c in transformer_curated()
                if c.label == label and c.mode == "train").with_dtype(dtype)


class Scaled(ReferenceBackend):
    """The reference with every result scaled by ``factor``: a wrong answer of the right shape."""

    name = "scaled"
    factor = 1.0

    def run_optimizer(self, request):
        res = super().run_optimizer(request)
        return dataclasses.replace(res, params=[{k: v * self.factor for k, v in p.items()}
                                                for p in res.params])

    def run_module(self, request):
        res = super().run_module(request)
        for st in res.steps:
            st.param_grads = {k: g * self.factor for k, g in st.param_grads.items()}
        return res


def test_drift_scales_raise_only_where_the_perturbed_run_moves_further():
    expected = {"a": np.array([1.0, -2.0]), "b": np.array([3.0, np.inf]), "n": np.array([4])}
    scales = {"a": 2.0, "b": 3.0}
    perturbed = [{"a": np.array([1.0, -2.0 + 1e-9]), "b": np.array([3.0 + 1e-15, 5.0]),
                  "n": np.array([5])},
                 {"a": np.array([1.0 + 1e-10, -2.0])}]
    out = drift_scales(scales, expected, perturbed, unit=1e-12)
    assert out["a"] == pytest.approx(DRIFT_FACTOR * 1e-9 / 1e-12)  # the larger drift wins
    assert out["b"] == 3.0                 # a drift below the allowance leaves the scale; inf skipped
    assert "n" not in out                  # integers are exact: no scale
    assert scales == {"a": 2.0, "b": 3.0}  # not mutated


def test_lbfgs_history_as_long_as_the_dimension_amplifies_rounding():
    """Seed 18 of max_iter20_default (16 parameters, history 100): a one-eps perturbation of
    what the objective sees moves the reference's last direction by far more than the iterated
    limit after 20 iterations, not after 2; the built scale covers it."""
    eps = EPS["float64"]
    key = "step0.state.weight.d"
    drift = {}
    for max_iter in (2, 20):
        case = _lbfgs("max_iter20_default", max_iter=max_iter)
        problem = optim_family.build(case, 18)
        req = problem.request
        runs = optim_family._sensitivity(case, case.op, case.ref_kwargs, req.params,
                                         req.param_groups, req.grads,
                                         dict(objective=req.objective, zero_grad=req.zero_grad,
                                              add_group_at=req.add_group_at,
                                              resume_at=req.resume_at, grad_masks=req.grad_masks))
        peak = optim_family.trajectory_scales(problem.expected, problem.request.params)[key]
        drift[max_iter] = max(float(np.max(np.abs(r["state"][0]["weight"]["d"]
                                                  - problem.expected[key]))) for r in runs)
        drift[max_iter] /= eps * peak
        assert problem.scales[key] >= DRIFT_FACTOR * drift[max_iter] * peak / case.rule.limit
    assert drift[2] < 10
    assert drift[20] > 10 * _lbfgs("max_iter20_default").rule.limit


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_lbfgs_raised_scales_still_fail_a_wrong_answer(dtype):
    case = _lbfgs("max_iter20_default", dtype)
    assert run_case(case, ReferenceBackend(), 18)["outcome"] == "pass"
    bad = Scaled()
    bad.factor = 1 + {"float32": 1e-3, "float64": 1e-9}[dtype]
    row = run_case(case, bad, 18)
    assert row["outcome"] == "fail" and row["worst"].startswith("step0.param.")


def test_transformer_first_encoder_layer_gradient_is_ill_conditioned():
    """Seed 19 of nn.Transformer gelu_norm_first: the reference's first-encoder-layer gradients
    drift by more than the attention limit under one-eps perturbations of the data, its last
    layers' by a few eps; only the scales of the former are raised much."""
    warnings.filterwarnings("ignore", message="enable_nested_tensor")
    case = _transformer("gelu_norm_first")
    problem = module_family.build(case, 19)
    deep = "grad.encoder.layers.0.self_attn.in_proj_weight"
    shallow = "grad.decoder.layers.0.self_attn.in_proj_weight"
    raised = {k: float(problem.scales[k]) / float(np.max(np.abs(problem.expected[k])))
              for k in (deep, shallow)}
    # the raise is DRIFT_FACTOR x drift / (limit x eps x max|ref|): a raise above DRIFT_FACTOR
    # means the reference itself drifted by more than the limit
    assert raised[deep] > DRIFT_FACTOR
    assert raised[shallow] < 2


def test_transformer_raised_scales_still_fail_a_wrong_gradient():
    warnings.filterwarnings("ignore", message="enable_nested_tensor")
    case = _transformer("gelu_norm_first")
    assert run_case(case, ReferenceBackend(), 19)["outcome"] == "pass"
    bad = Scaled()
    bad.factor = 1 + 1e-9
    row = run_case(case, bad, 19)
    assert row["outcome"] == "fail" and row["worst"].startswith("grad.")


def test_componentwise_modules_get_no_drift_runs():
    """MultiheadAttention has first-order componentwise scales: no sensitivity runs."""
    from reference import driver
    assert not getattr(driver.build_module("nn.MultiheadAttention",
                                           {"embed_dim": 8, "num_heads": 2}),
                       "normwise_scales", False)
    assert driver.build_module("nn.Transformer", {"d_model": 8, "nhead": 2,
                                                  "dim_feedforward": 12,
                                                  "dropout": 0.0}).normwise_scales
