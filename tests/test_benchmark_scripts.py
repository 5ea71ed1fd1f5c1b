"""The benchmark scripts run and report what they say (benchmarks/)."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_suite_throughput_reports_the_rate_of_each_run(tmp_path):
    out = tmp_path / "t.json"
    proc = subprocess.run([sys.executable, "benchmarks/suite_throughput.py", "--runs", "1",
                           "--workers", "2", "--cold", "--json", str(out), "--",
                           "suites/test_padding.py"], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    run = json.loads(out.read_text())["runs"][0]
    assert run["rows"] == sum(run["counts"].values()) > 100
    assert run["cases_per_s"] == pytest.approx(run["rows"] / run["duration_s"])
    assert 0 < run["first_report_s"] < run["wall_s"] and run["cpu_s"] > 0
    assert set(run["families"]) == {"module"}
    assert "median" in proc.stdout and "cases/s" in proc.stdout
