"""reports: loading (bad input named precisely), the HTML report, and the upgrade gate."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from reports.__main__ import main
from reports.compare import compare_runs, load_side
from reports.loading import ResultsError, load_results

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = "nnconform.results/1"


def row(case_id, outcome="pass", err=1.0, **kw):
    base = {"schema": SCHEMA, "record": "case", "case_id": case_id, "op": case_id.split("-")[0],
            "family": "module", "backend": "torch-cpu", "dtype": "float32", "outcome": outcome,
            "err_eps": err, "limit_eps": 10.0, "headroom": 10.0 / err if err else None,
            "tolerance_rule": "elementwise", "message": "", "repro": "pytest x"}
    return {**base, **kw}


def write(path: Path, rows, end=True, version="2.13.0"):
    lines = [{"schema": SCHEMA, "record": "run", "seed": 0, "command": "pytest",
              "backends": [{"name": "torch-cpu", "framework_version": f"torch {version}"}]}]
    lines += rows
    if end:
        lines.append({"schema": SCHEMA, "record": "end", "end_time": "t", "duration_s": 1.0,
                      "rows": len(rows), "cases_per_s": float(len(rows))})
    path.write_text("".join(json.dumps(l) + "\n" for l in lines))
    return path


def bench(name, median, iqr):
    return {"fullname": name, "stats": {"median": median, "iqr": iqr},
            "extra_info": {"bytes": 1e6, "flops": 1e6}}


def test_gate_clean_and_regressions(tmp_path):
    old = write(tmp_path / "old.jsonl", [row("nn.A-float32-a"), row("nn.B-float32-b", err=1.0),
                                         row("nn.C-float32-c", "fail"), row("nn.D-float32-d")])
    new = write(tmp_path / "new.jsonl", [row("nn.A-float32-a", "fail"),
                                         row("nn.B-float32-b", err=9.0),
                                         row("nn.C-float32-c"), row("nn.E-float32-e")],
                version="2.14.1")
    diff = compare_runs(load_side(old), load_side(new))
    assert [n["case_id"] for _, n in diff.new_failures] == ["nn.A-float32-a"]
    assert [n["case_id"] for _, n, _ in diff.drift] == ["nn.B-float32-b"]
    assert [n["case_id"] for _, n in diff.fixed] == ["nn.C-float32-c"]
    assert [r["case_id"] for r in diff.appeared] == ["nn.E-float32-e"]
    assert [r["case_id"] for r in diff.disappeared] == ["nn.D-float32-d"]
    assert main(["compare", str(old), str(new), "--html", str(tmp_path / "d.html")]) == 1
    assert "nn.A-float32-a" in (tmp_path / "d.html").read_text()
    assert main(["compare", str(old), str(old)]) == 0


def test_small_error_growth_is_not_drift(tmp_path):
    old = write(tmp_path / "o.jsonl", [row("nn.A-float32-a", err=0.0)])
    new = write(tmp_path / "n.jsonl", [row("nn.A-float32-a", err=0.5)])
    assert not compare_runs(load_side(old), load_side(new)).regressed


def test_speed_regression_needs_to_beat_noise(tmp_path):
    for side, median, iqr in (("old", 1.0, 0.01), ("new", 1.3, 0.01)):
        d = tmp_path / side
        d.mkdir()
        write(d / "results.jsonl", [row("nn.A-float32-a")])
        (d / "benchmark.json").write_text(json.dumps({"benchmarks": [bench("b", median, iqr)]}))
    diff = compare_runs(load_side(tmp_path / "old"), load_side(tmp_path / "new"))
    assert len(diff.speed) == 1
    # the same slowdown within measured noise (IQR 0.2 -> threshold 0.6) is not a regression
    (tmp_path / "new" / "benchmark.json").write_text(
        json.dumps({"benchmarks": [bench("b", 1.3, 0.2)]}))
    assert not compare_runs(load_side(tmp_path / "old"), load_side(tmp_path / "new")).speed


@pytest.mark.parametrize("content, message", [
    ('{"schema": "nnconform.results/1", "record": "run"}\n{"schema": "nnconform.results/1", "rec',
     ":2: not a JSON record"),
    ('{"schema": "nnconform.results/0", "record": "run"}\n', ":1: schema 'nnconform.results/0'"),
    ('{"schema": "nnconform.results/1", "record": "run"}\n'
     '{"schema": "nnconform.results/1", "record": "case", "case_id": "x"}\n',
     ":2: case record lacks op"),
    ("garbage\n", ":1: not a JSON record"),
])
def test_bad_results_files_are_named_with_line_and_problem(tmp_path, content, message):
    f = tmp_path / "bad.jsonl"
    f.write_text(content)
    with pytest.raises(ResultsError, match="bad.jsonl" + message.replace("(", r"\(")):
        load_results(f)
    assert main(["build", str(f), "--html", str(tmp_path / "r.html")]) == 2


def test_missing_file_and_unwritable_output_exit_2(tmp_path, capsys):
    assert main(["compare", str(tmp_path / "nope.jsonl"), str(tmp_path / "nope.jsonl")]) == 2
    assert "no such results file" in capsys.readouterr().err
    good = write(tmp_path / "g.jsonl", [row("nn.A-float32-a")])
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["build", str(good), "--html", str(blocker / "r.html")]) == 2
    assert "cannot write the report" in capsys.readouterr().err


def test_partial_file_is_used_with_a_warning(tmp_path, capsys):
    partial = write(tmp_path / "p.jsonl", [row("nn.A-float32-a")], end=False)
    with pytest.warns(UserWarning, match="no end record"):
        assert len(load_results(partial).rows) == 1
    assert main(["build", str(partial), "--html", str(tmp_path / "r.html")]) == 0
    assert "interrupted" in (tmp_path / "r.html").read_text()


def test_report_sections_and_escaping(tmp_path):
    rows = [row("nn.A-float32-a"), row("nn.B-float32-<script>b</script>", "fail",
                                      message="<img src=x onerror=alert(1)>"),
            row("nn.C-float32-c", "deviation", deviation_reason="r&d", deviation_source="s"),
            row("nn.D-float32-d", "unsupported", err=None)]
    results = write(tmp_path / "r.jsonl", rows)
    benchmarks = tmp_path / "b.json"
    benchmarks.write_text(json.dumps({"benchmarks": [bench("linear <large>", 0.01, 0.001)]}))
    out = tmp_path / "report.html"
    assert main(["build", str(results), "--benchmark-json", str(benchmarks), "--html",
                 str(out)]) == 0
    html = out.read_text()
    for section in ("Compliance per family and dtype", "Coverage", "Error against tolerance",
                    "Speed", "Failures (1)", "Documented deviations (1)"):
        assert section in html
    assert "<script>b" not in html and "<img src=x" not in html and "&lt;img" in html
    assert "linear &lt;large&gt;" in html and "r&amp;d" in html
    assert "http://" not in html and "https://" not in html  # offline: nothing to fetch


def test_cli_runs_as_a_module(tmp_path):
    results = write(tmp_path / "r.jsonl", [row("nn.A-float32-a")])
    proc = subprocess.run([sys.executable, "-m", "reports", "compare", str(results),
                           str(results)], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0 and "verdict: clean" in proc.stdout


def test_report_renders_in_headless_chromium_without_console_errors(tmp_path):
    """Debian's chromium, where installed (apt-get install chromium); skipped elsewhere."""
    import shutil
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    results = write(tmp_path / "r.jsonl", [row("nn.A-float32-a"), row("nn.B-float32-b", "fail")])
    out = tmp_path / "report.html"
    assert main(["build", str(results), "--html", str(out)]) == 0
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0"]
    shot = tmp_path / "shot.png"
    proc = subprocess.run([chromium, *flags, "--window-size=1200,1600", f"--screenshot={shot}",
                           out.as_uri()], capture_output=True, text=True, timeout=120)
    assert shot.exists() and shot.stat().st_size > 10_000, proc.stderr[-2000:]
    console = [l for l in proc.stderr.splitlines() if "CONSOLE" in l and "ERROR" in l.upper()]
    assert not console, console
    dom = subprocess.run([chromium, *flags, "--dump-dom", out.as_uri()], capture_output=True,
                         text=True, timeout=120).stdout
    assert "nnconform compliance report" in dom and "Failures (1)" in dom


def test_every_op_run_shows_its_time_per_case_without_benchmarks(tmp_path):
    from reports.html import render
    rows = [row("nn.A-float32-a", time_backend_s=0.002, time_reference_s=0.004),
            row("nn.A-float64-a", time_backend_s=0.004, time_reference_s=0.004),
            row("nn.B-float32-b", time_backend_s=0.001, time_reference_s=None)]
    html = render({"backends": []}, rows)
    section = html.split("Time per conformance case, per op", 1)[1]
    assert "<td class=l>nn.A</td><td class=l>torch-cpu</td><td>2</td><td>3</td><td>4</td>" \
           "<td>1.3x</td>" in section
    assert "<td class=l>nn.B</td><td class=l>torch-cpu</td><td>1</td><td>1</td><td></td>" \
           in section
