"""The runner's verdicts on hand-made adapters: outcomes, messages, deviations, expectations."""

from pathlib import Path

import numpy as np
import pytest

from backends.contract import ModuleResult, StepResult, Support, Unsupported
from backends.reference_backend import ReferenceBackend
from harness.cases import Case, Input
from harness.runner import run_case
from harness.tolerance import elementwise, matmul

RELU = Case(op="nn.ReLU", family="activation", label="t", rule=elementwise(),
            inputs=(Input((3, 4)),))
LINEAR = Case(op="nn.Linear", family="module", label="t", rule=matmul(4),
              kwargs={"in_features": 4, "out_features": 2}, inputs=(Input((3, 4)),))
#: an input of the wrong width: the reference raises, so must the backend
LINEAR_MISMATCH = Case(op="nn.Linear", family="module", label="e",
                       kwargs={"in_features": 4, "out_features": 2}, inputs=(Input((3, 5)),),
                       backward=False, expect_error="cannot be multiplied")


class Scaled(ReferenceBackend):
    """The reference with its outputs scaled: a wrong answer of the right shape."""

    name = "scaled"
    factor = 1.0

    def run_module(self, request):
        res = super().run_module(request)
        for st in res.steps:
            st.outputs = tuple(o * self.factor for o in st.outputs)
        return res


def test_reference_passes_with_zero_error():
    row = run_case(RELU.with_dtype("float64"), ReferenceBackend(), 0)
    assert row["outcome"] == "pass" and row["err_eps"] == 0 and row["headroom"] is None


def test_a_wrong_answer_fails_and_names_the_array():
    bad = Scaled()
    bad.factor = 1.001
    row = run_case(LINEAR, bad, 0)
    assert row["outcome"] == "fail" and row["worst"] == "output0"
    assert "exceeds the matmul(k=4) limit" in row["message"]


def test_unsupported_by_declaration_and_by_raising():
    class Declares(ReferenceBackend):
        name = "declares"

        def supports(self, op, dtype):
            return Support(False, "no ReLU here")

    class Raises(ReferenceBackend):
        name = "raises"

        def run_module(self, request):
            raise Unsupported("not today")

    assert run_case(RELU, Declares(), 0)["message"] == "no ReLU here"
    row = run_case(RELU, Raises(), 0)
    assert row["outcome"] == "unsupported" and row["message"] == "not today"


def test_expected_error_passes_only_if_the_backend_raises():
    class Silent(ReferenceBackend):
        name = "silent"

        def run_module(self, request):
            return ModuleResult([StepResult(outputs=(np.zeros((3, 2)),))])

    assert run_case(LINEAR_MISMATCH, ReferenceBackend(), 0)["outcome"] == "pass"
    row = run_case(LINEAR_MISMATCH, Silent(), 0)
    assert row["outcome"] == "fail" and "did not raise" in row["message"]


def test_a_native_backtrace_stays_out_of_the_message():
    """torch appends its C++ frames, with this process's addresses, to some errors: a row's
    message keeps the error and drops them, so it reads the same in every run."""
    class Native(ReferenceBackend):
        name = "native"

        def run_module(self, request):
            raise RuntimeError("shapes cannot be multiplied\nonly (3x5) and (4x2)\n"
                               "Exception raised from mm at aten/Blas.cpp:7 (most recent "
                               "call first):\nframe #0: c10::Error::Error() + 0x9d "
                               "(0x7fc7ec38eb8d in libc10.so)")

    row = run_case(LINEAR_MISMATCH, Native(), 0)
    assert row["outcome"] == "pass"
    assert row["message"] == ("raised as expected: RuntimeError: shapes cannot be multiplied\n"
                              "only (3x5) and (4x2)")


def test_a_case_the_reference_contradicts_is_an_error():
    case = Case(op="nn.Linear", family="module", label="c", kwargs={"in_features": 4,
                "out_features": 2}, inputs=(Input((3, 4)),), expect_error="boom")
    row = run_case(case, ReferenceBackend(), 0)
    assert row["outcome"] == "error" and "did not raise" in row["message"]


def test_deviation_and_stale_expectation(tmp_path):
    (tmp_path / "x.toml").write_text('[[deviation]]\ncase = "nn.Linear-*"\nreason = "known"\n'
                                     'source = "somewhere"\n')

    class Documented(Scaled):
        name = "documented"
        expectations_path = tmp_path

    bad = Documented()
    bad.factor = 1.1
    row = run_case(LINEAR, bad, 0)
    assert row["outcome"] == "deviation" and row["deviation_reason"] == "known"
    good = Documented()
    row = run_case(LINEAR, good, 0)
    assert row["outcome"] == "pass" and row["stale_expectation"]
    assert "no longer occurs" in row["message"]


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
def test_a_correctly_rounded_answer_passes_every_dtype(dtype):
    """The reference backend rounds its float64 answer to the dtype: the rules must admit it."""
    for case in (RELU, LINEAR):
        assert run_case(case.with_dtype(dtype), ReferenceBackend(), 0)["outcome"] == "pass"


def test_cases_that_must_raise_can_run_in_a_sacrificial_process():
    """torch-cuda runs them so (a device-side assert poisons the CUDA context for good)."""
    from tests.adapters.misbehaving import IsolatingCPU
    case = Case(op="nn.Linear", family="module", label="e", kwargs={"in_features": 4,
                "out_features": 2}, inputs=(Input((3, 5)),), backward=False,
                expect_error="cannot be multiplied")
    adapter = IsolatingCPU()
    row = run_case(case, adapter, 0)
    assert row["outcome"] == "pass" and "raised as expected: RuntimeError" in row["message"]
    assert run_case(LINEAR, adapter, 0)["outcome"] == "pass"  # ordinary cases run in-process
