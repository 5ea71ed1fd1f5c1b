"""The suite run as users run it: pytest in a subprocess, judged by its results file."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.results import validate_row

ROOT = Path(__file__).resolve().parent.parent
SUBSET = ["suites/test_linear.py", "suites/test_normalization.py", "suites/test_loss.py"]


def run_suite(tmp_path: Path, *args: str, name: str = "r") -> tuple[subprocess.CompletedProcess,
                                                                   list[dict]]:
    results = tmp_path / f"{name}.jsonl"
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           f"--results={results}", *args], cwd=ROOT, capture_output=True,
                          text=True, env=env, timeout=600)
    records = ([json.loads(line) for line in results.read_text().splitlines()]
               if results.exists() else [])
    return proc, records


def rows_of(records: list[dict]) -> list[dict]:
    return [r for r in records if r["record"] == "case"]


def test_torch_cpu_serial_and_xdist_give_the_same_rows(tmp_path):
    serial, a = run_suite(tmp_path, *SUBSET, "--backend=torch-cpu", name="serial")
    parallel, b = run_suite(tmp_path, *SUBSET, "--backend=torch-cpu", "-n", "2", name="xdist")
    assert serial.returncode == 0, serial.stdout[-3000:]
    assert parallel.returncode == 0, parallel.stdout[-3000:]
    for records in (a, b):
        assert records[0]["record"] == "run" and records[-1]["record"] == "end"
        assert records[0]["backends"][0]["settings"]["intra_op_threads"] == 1
        assert records[-1]["rows"] == len(rows_of(records)) > 100
        assert all(validate_row(r) == [] for r in rows_of(records))
    key = lambda rows: {(r["case_id"], r["backend"], r["outcome"]) for r in rows}
    only_serial, only_xdist = key(rows_of(a)) - key(rows_of(b)), key(rows_of(b)) - key(rows_of(a))
    assert not only_serial and not only_xdist, (sorted(only_serial)[:20], sorted(only_xdist)[:20])
    assert len({r["case_id"] for r in rows_of(a)}) == len(rows_of(a))  # one row per case
    assert all(r["repro"].startswith("pytest '") for r in rows_of(a))


def test_generated_case_ids_do_not_depend_on_which_modules_are_loaded(tmp_path):
    """Hypothesis draws constants from the local modules in sys.modules; under -n 2 a worker's
    modules depend on the tests it ran before, so without the plugin's pin the generated
    examples (and their content-hashed ids) changed from run to run."""
    target = ["suites/test_loss.py", "-k", "generated", "--backend=reference",
              "--dtype=float32"]
    _, plain = run_suite(tmp_path, *target, name="plain")
    _, loaded = run_suite(tmp_path, *target, "-p", "tools.mutation_audit", "-p",
                          "reports.compare", name="loaded")
    ids = lambda records: sorted(r["case_id"] for r in rows_of(records))
    assert len(ids(plain)) > 20 and ids(plain) == ids(loaded)


def test_reference_backend_passes_everything_in_float64(tmp_path):
    proc, records = run_suite(tmp_path, "--backend=reference", "--dtype=float64")
    assert proc.returncode == 0, proc.stdout[-3000:]
    rows = rows_of(records)
    assert rows and {r["outcome"] for r in rows} == {"pass"}
    assert {r["family"] for r in rows} >= {"module", "activation", "loss", "init", "optim",
                                           "lr_scheduler", "scenario"}


def test_torch_cuda_without_cuda_skips_everything_with_one_reason(tmp_path):
    import torch
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    proc, records = run_suite(tmp_path, "--backend=torch-cuda", "suites/test_linear.py")
    assert proc.returncode == 0, proc.stdout[-3000:]
    rows = rows_of(records)
    assert rows and {r["outcome"] for r in rows} == {"skipped"}
    reasons = {r["message"] for r in rows}
    assert len(reasons) == 1 and reasons.pop().startswith("CUDA not available: ")


@pytest.mark.parametrize("option, message", [
    ("--backend=tensorflow", "unknown backend 'tensorflow'; available: "),
    ("--backend=no.such.module:Adapter", "cannot import backend 'no.such.module:Adapter'"),
    ("--dtype=float8", "unknown dtype 'float8'; valid dtypes: float64, float32"),
])
@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_usage_errors_name_the_valid_choices(tmp_path, option, message, workers):
    proc, _ = run_suite(tmp_path, option, *workers, "suites/test_linear.py")
    assert proc.returncode == 4
    assert message in proc.stderr and "Traceback" not in proc.stderr + proc.stdout


def test_xdist_controller_starts_the_workers_before_importing_torch(tmp_path):
    """The controller's adapters are built after xdist has started the workers (their torch
    import used to wait for the controller's); the header and the run record still have them."""
    (tmp_path / "probe.py").write_text(
        "import sys\n"
        "def pytest_xdist_setupnodes(config, specs):\n"
        f"    open({str(tmp_path / 'probe.txt')!r}, 'w').write(str('torch' in sys.modules))\n")
    results, report = tmp_path / "r.jsonl", tmp_path / "r.html"
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "probe", "-n", "2",
                           f"--results={results}", f"--report={report}",
                           "suites/test_linear.py::test_module"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}"})
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert (tmp_path / "probe.txt").read_text() == "False"
    assert "nnconform backend torch-cpu: torch " in proc.stdout
    records = [json.loads(line) for line in results.read_text().splitlines()]
    assert records[0]["record"] == "run"
    assert records[0]["backends"][0]["framework_version"].startswith("torch ")
    assert all(r["record"] == "case" for r in records[1:-1]) and records[-1]["record"] == "end"
    # the report's date is the run's: from its start, not from when the report was written
    assert records[0]["start_time"] < records[-1]["end_time"]
    assert f"{records[0]['start_time']} to {records[-1]['end_time']}" in report.read_text()


def test_misbehaving_adapters_are_recorded_and_the_run_completes(tmp_path):
    backends = ",".join(f"tests.adapters.misbehaving:{c}" for c in ("Raising", "NaNs",
                                                                     "WrongShape"))
    report = tmp_path / "out" / "report.html"
    proc, records = run_suite(tmp_path, f"--backend={backends}", "--dtype=float32",
                              f"--report={report}", "suites/test_linear.py::test_module", "-k",
                              "not wrong_in")
    assert proc.returncode == 1
    rows = rows_of(records)
    by_backend = {}
    for r in rows:
        by_backend.setdefault(r["backend"], set()).add((r["outcome"], r["message"].split(":")[0]))
    assert by_backend["raising"] == {("error", "backend raised ZeroDivisionError")}
    assert {o for o, _ in by_backend["nans"]} == {"fail"}
    assert all("NaN where the reference is finite" in r["message"] for r in rows
               if r["backend"] == "nans")
    assert all("wrong shape" in r["message"] for r in rows if r["backend"] == "wrong-shape")
    assert records[-1]["record"] == "end" and records[-1]["rows"] == len(rows) == 18
    html = report.read_text()
    assert "nnconform compliance report" in html and "ZeroDivisionError" in html


def test_html_report_escapes_run_strings(tmp_path):
    from reports.html import render
    page = render({"backends": [{"name": "<script>x</script>"}]},
                  [{"case_id": "<b>c</b>", "outcome": "fail", "message": "a<b", "repro": "&"}])
    assert "<script>x" not in page and "&lt;script&gt;" in page and "&lt;b&gt;c" in page


def test_a_hanging_adapter_times_out_and_the_run_goes_on(tmp_path):
    proc, records = run_suite(tmp_path, "--backend=tests.adapters.misbehaving:Hanging",
                              "--dtype=float32", "--case-timeout=1",
                              "suites/test_linear.py::test_module", "-k", "in3_out4 or nobias")
    rows = rows_of(records)
    assert proc.returncode == 1 and len(rows) == 2
    assert all(r["outcome"] == "error" and "no answer within 1 s" in r["message"] for r in rows)
    assert records[-1]["record"] == "end"


def test_a_crashing_worker_is_recorded_and_the_run_completes(tmp_path):
    proc, records = run_suite(tmp_path, "--backend=tests.adapters.misbehaving:Crashing",
                              "--dtype=float32", "-n", "2", "suites/test_linear.py::test_module")
    rows = rows_of(records)
    crashed = [r for r in rows if "crashed" in r["message"]]
    assert proc.returncode == 1 and records[-1]["record"] == "end"
    assert [r["case_id"] for r in crashed] == ["nn.Linear-float32-nobias"]
    assert crashed[0]["outcome"] == "error"
    assert {r["case_id"] for r in rows if r["outcome"] == "pass"} >= {
        "nn.Linear-float32-in3_out4", "nn.Linear-float32-in64_out32"}


def test_a_wrong_dtype_answer_fails_with_a_reason(tmp_path):
    proc, records = run_suite(tmp_path, "--backend=tests.adapters.misbehaving:WrongDtype",
                              "--dtype=float32", "suites/test_linear.py::test_module", "-k",
                              "in3_out4")
    (row,) = rows_of(records)
    assert row["outcome"] == "fail" and "malformed backend result" in row["message"]


def test_hypothesis_profiles_are_selectable_and_recorded(tmp_path):
    _, default = run_suite(tmp_path, "--backend=reference", "suites/test_linear.py",
                           name="default")
    _, thorough = run_suite(tmp_path, "--backend=reference", "suites/test_linear.py",
                            "--hypothesis-profile=thorough", name="thorough")
    assert default[0]["hypothesis_profile"] == "ci"
    assert thorough[0]["hypothesis_profile"] == "thorough"
    assert len(rows_of(thorough)) > 5 * len(rows_of(default))
