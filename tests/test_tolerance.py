"""Tolerance rules and the comparison that applies them."""

import math

import numpy as np
import pytest

from harness import tolerance as tol
from harness.compare import compare
from harness.dtypes import EPS


def test_rules_grow_with_size_and_steps():
    assert tol.reduction(100).limit > tol.reduction(10).limit > tol.elementwise().limit
    assert tol.matmul(64).limit == tol.reduction(64).limit
    assert tol.iterated(10, tol.elementwise()).limit == 10 * tol.elementwise().limit
    assert tol.normalization(8).limit > tol.reduction(8).limit
    assert tol.exact().limit == 0


def test_every_rule_has_a_row_in_the_docs_table():
    from pathlib import Path
    table = (Path(__file__).resolve().parent.parent / "docs" / "tolerances.md").read_text()
    missing = [name for name in tol.RULES if f"| `{name}` |" not in table]
    assert not missing, f"rules without a row in docs/tolerances.md: {missing}"
    assert {tol.elementwise, tol.reduction, tol.matmul, tol.normalization, tol.iterated,
            tol.exact} <= {fn for fn, _ in tol.RULES.values()}


def test_rule_names_carry_their_parameters():
    assert tol.matmul(12).name == "matmul(k=12)"
    assert tol.iterated(3, tol.reduction(4)).name == "iterated(steps=3, reduction(n=4))"


def test_half_ulp_rounding_passes_everything():
    """A correctly rounded float32 answer must pass even the strictest non-exact rule."""
    ref = np.random.default_rng(1).normal(size=1000)
    act = ref.astype(np.float32).astype(np.float64)
    c = compare({"out": act}, {"out": ref}, {}, "float32", tol.elementwise())
    assert c.ok and c.err_eps <= 0.5 + 1e-9
    assert c.headroom == pytest.approx(tol.elementwise().limit / c.err_eps)


def test_error_beyond_the_rule_fails_with_the_worst_array_named():
    ref = np.ones(4)
    act = ref.copy()
    act[2] += 10 * EPS["float32"]
    c = compare({"a": ref, "b": act}, {"a": ref, "b": ref}, {}, "float32", tol.elementwise())
    assert not c.ok and c.worst == "b" and c.err_eps == pytest.approx(10)
    assert "exceeds the elementwise limit" in c.problems[0]


def test_scale_makes_cancellation_measurable():
    ref = np.array([1e-9, 1.0])
    act = ref + np.array([1e-7, 0.0])
    strict = compare({"o": act}, {"o": ref}, {}, "float32", tol.elementwise())
    scaled = compare({"o": act}, {"o": ref}, {"o": 1.0}, "float32", tol.elementwise())
    assert not strict.ok and scaled.ok


@pytest.mark.parametrize("actual, message", [
    (np.array([np.nan, 1.0]), "NaN where the reference is finite"),
    (np.ones(3), "wrong shape"),
    (np.array([np.inf, 1.0]), "infinities differ"),
])
def test_malformed_answers_fail_with_a_reason(actual, message):
    c = compare({"o": actual}, {"o": np.ones(2)}, {}, "float64", tol.elementwise())
    assert not c.ok and message in c.problems[0]


def test_missing_output_fails():
    c = compare({}, {"o": np.ones(2)}, {}, "float64", tol.elementwise())
    assert not c.ok and "missing" in c.problems[0]


def test_nan_where_reference_is_nan_passes():
    ref = np.array([math.nan, 2.0, -math.inf])
    c = compare({"o": ref.copy()}, {"o": ref}, {}, "float64", tol.elementwise())
    assert c.ok and c.err_eps == 0 and c.headroom is None


def test_flushing_a_subnormal_to_zero_costs_at_most_one_eps_unit():
    ref = np.array([3.7e-44, 1.0])  # e^-100: subnormal in float32
    act = np.array([0.0, 1.0])
    c = compare({"o": act}, {"o": ref}, {}, "float32", tol.elementwise())
    assert c.ok and c.err_eps <= 1.0
    # but a wrong value of normal size is still caught
    bad = compare({"o": np.array([1e-30, 1.0])}, {"o": ref}, {}, "float32", tol.elementwise())
    assert not bad.ok


def test_nonzero_where_the_reference_is_exactly_zero_fails():
    """Uninitialised memory (tiny garbage) where the answer is exactly 0 is not flush-to-zero."""
    c = compare({"o": np.array([1e-310, 1.0])}, {"o": np.array([0.0, 1.0])}, {}, "float64",
                tol.elementwise())
    assert not c.ok


def test_many_arrays_each_judged_on_its_own():
    """One vectorised pass over a trajectory's arrays: a bad array is reported in the order of
    the expected arrays and left out of the error figures; the others still count."""
    e = EPS["float64"]
    expected = {f"step{t}.p": np.full(3, 2.0 ** t) for t in range(6)}  # exact ties
    actual = {k: v.copy() for k, v in expected.items()}
    actual["step1.p"] = np.array([np.nan, 2.0, 2.0])  # NaN: reported, not measured
    actual["step2.p"] = np.ones(4)                       # wrong shape
    actual["step4.p"] = expected["step4.p"] * (1 + 3 * e)
    actual["step5.p"] = expected["step5.p"] * (1 + 3 * e)  # a tie: the later array is named
    del actual["step3.p"]
    c = compare(actual, expected, {}, "float64", tol.elementwise())
    assert [p.split(":")[0] for p in c.problems] == ["step1.p", "step2.p", "step3.p"]
    assert "NaN where" in c.problems[0] and "wrong shape" in c.problems[1]
    assert c.worst == "step5.p" and c.err_eps == pytest.approx(3, rel=1e-3)
    assert c.max_abs_err == pytest.approx(32 * 3 * e, rel=1e-3)


def test_a_nan_scale_is_no_scale():
    c = compare({"o": np.ones(2)}, {"o": np.ones(2)}, {"o": np.array([np.nan, 2.0])}, "float64",
                tol.elementwise())
    assert c.ok and c.atol == pytest.approx(tol.elementwise().limit * EPS["float64"] * 2.0)


def test_all_finite_arrays_get_the_figures_of_the_masked_pass():
    """All-finite answers skip the NaN/Inf masks; an extra NaN array, reported and left out,
    changes none of the other arrays' figures (empty arrays and mixed scales included)."""
    e = EPS["float64"]
    expected = {"a": np.ones(3), "empty": np.zeros((0, 2)), "b": np.full(2, 4.0),
                "c": np.full(4, 8.0)}
    actual = {"a": expected["a"] * (1 + e), "empty": np.zeros((0, 2)),
              "b": expected["b"] * (1 + 3 * e), "c": expected["c"].copy()}
    scales = {"a": 0.0, "b": np.array([8.0, 4.0]), "c": 2.0}
    fast = compare(actual, expected, scales, "float64", tol.elementwise())
    masked = compare({**actual, "z": np.array([np.nan])}, {**expected, "z": np.array([1.0])},
                     scales, "float64", tol.elementwise())
    assert fast.ok and fast.problems == []
    assert not masked.ok and masked.problems == ["z: NaN where the reference is finite (1 elements)"]
    assert fast.worst == "b" and fast.err_eps == pytest.approx(3, rel=1e-3)
    assert fast.atol == pytest.approx(tol.elementwise().limit * e * 8.0)
    for figure in ("worst", "err_eps", "max_abs_err", "max_rel_err", "atol"):
        assert getattr(masked, figure) == getattr(fast, figure), figure
