"""Harness cost per case beyond a bare pytest item.

Runs, in subprocesses, (1) N bare parametrized pytest items that do nothing and (2) the curated
conformance cases on a backend, both serial and with the nnconform plugin loaded, timing every
item's whole run protocol (setup, call, teardown, reporting) with a small timing plugin. The
harness cost of a case is its item time minus the time spent inside the backend (recorded in
its row) minus the time of a bare item. It covers input generation, the reference computation,
comparison, expectations, row building and writing. One-off costs (the first import of scipy
by the first initializer case, say) are visible as the gap between the mean and the median.

    python benchmarks/harness_cost.py [--backend reference] [--items 2000]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

TIMING_PLUGIN = '''
import json, os, time
import pytest
_times = {}

@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    t0 = time.perf_counter()
    yield
    _times[item.nodeid] = time.perf_counter() - t0

def pytest_sessionfinish(session):
    with open(os.environ["NNCONFORM_ITEM_TIMES"], "w") as fh:
        json.dump(_times, fh)
'''


def _items(tmp: Path, args: list[str], name: str) -> dict[str, float]:
    out = tmp / f"{name}.json"
    env = {**os.environ, "NNCONFORM_ITEM_TIMES": str(out),
           "PYTHONPATH": os.pathsep.join([str(tmp), str(ROOT)])}
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "-p", "nnconform_item_timing", *args], cwd=ROOT, capture_output=True,
                          text=True, env=env)
    if proc.returncode not in (0, 1):
        sys.exit(f"pytest failed ({proc.returncode}):\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    return json.loads(out.read_text())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backend", default="reference")
    ap.add_argument("--items", type=int, default=2000)
    ns = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        (tmp / "nnconform_item_timing.py").write_text(TIMING_PLUGIN)
        bare = tmp / "test_bare.py"
        bare.write_text("import pytest\n\n@pytest.mark.parametrize('i', range("
                        f"{ns.items}))\ndef test_bare(i):\n    pass\n")
        bare_times = list(_items(tmp, [str(bare), f"--rootdir={ROOT}"], "bare").values())
        results = tmp / "r.jsonl"
        case_times = _items(tmp, [f"--backend={ns.backend}", f"--results={results}", "-k",
                                  "not generated"], "suite")
        rows = [json.loads(line) for line in results.read_text().splitlines()]
    backend = {r["nodeid"]: (r["time_backend_s"] or 0.0) for r in rows if r["record"] == "case"}
    bare_item = statistics.median(bare_times)
    harness = [t - backend.get(node, 0.0) - bare_item for node, t in case_times.items()]
    print(f"bare pytest item (median of {len(bare_times)}): {bare_item * 1e3:.3f} ms")
    print(f"{len(harness)} curated cases on {ns.backend}, harness cost beyond a bare item "
          f"(backend time excluded): median {statistics.median(harness) * 1e3:.3f} ms, "
          f"mean {statistics.mean(harness) * 1e3:.3f} ms, "
          f"90th percentile {statistics.quantiles(harness, n=10)[-1] * 1e3:.3f} ms")


if __name__ == "__main__":
    main()
