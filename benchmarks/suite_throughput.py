"""Suite throughput: the whole conformance run, in checked cases (result rows) per second.

Runs ``pytest --backend=B -n W`` over the suites ``--runs`` times in subprocesses, each with
a timeline plugin, and reports per run: the wall clock of the pytest process, the results
file's own ``duration_s`` and rate (what the HTML report's header shows), when the first case
reported (start-up: imports, the workers' collection), how far apart the workers finished
(load balance at the end), and the CPU the run took; then the median, and where the time inside
the cases went by family (``time_backend_s`` / ``time_reference_s`` of the rows). This VM's
speed varies by about 15% from run to run (docs/performance.md), so compare variants with
several alternated runs, not one.

    python benchmarks/suite_throughput.py [--runs 3] [--workers 2] [--backend torch-cpu]
                                          [--cold] [--json OUT] [-- extra pytest arguments]

``--cold`` gives every run an empty reference cache (a fresh machine, CI); by default the
user's cache is used, warm after the first run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

TIMELINE_PLUGIN = '''
import json, os, time
_t0, _reports = time.time(), []

def pytest_runtest_logreport(report):
    node = getattr(report, "node", None)  # set on the xdist controller
    if report.when == "call":
        _reports.append((time.time() - _t0, node.gateway.id if node else "main"))

def pytest_sessionfinish(session):
    if not hasattr(session.config, "workerinput"):
        with open(os.environ["NNCONFORM_TIMELINE"], "w") as fh:
            json.dump(_reports, fh)
'''


def run_once(tmp: Path, index: int, ns: argparse.Namespace, extra: list[str]) -> dict:
    results, timeline = tmp / f"results{index}.jsonl", tmp / f"timeline{index}.json"
    env = {**os.environ, "NNCONFORM_TIMELINE": str(timeline),
           "PYTHONPATH": os.pathsep.join([str(tmp), str(ROOT)])}
    if ns.cold:
        env["NNCONFORM_CACHE_DIR"] = str(tmp / f"cache{index}")
    args = [sys.executable, "-m", "pytest", "-q", "-rN", "-p", "no:cacheprovider",
            "-p", "nnconform_timeline", f"--backend={ns.backend}", f"--results={results}"]
    if ns.workers:
        args += ["-n", str(ns.workers)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(args + extra, cwd=ROOT, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 1) or not results.exists():
        sys.exit(f"pytest failed ({proc.returncode}):\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    records = [json.loads(line) for line in results.read_text().splitlines()]
    end = records[-1] if records[-1].get("record") == "end" else {}
    rows = [r for r in records if r.get("record") == "case"]
    reports = json.loads(timeline.read_text()) if timeline.exists() else []
    last = defaultdict(float)
    for t, worker in reports:
        last[worker] = max(last[worker], t)
    by_family: dict[str, list[float]] = defaultdict(lambda: [0, 0.0, 0.0])
    for r in rows:
        fam = by_family[r["family"] or "?"]
        fam[0] += 1
        fam[1] += r.get("time_backend_s") or 0.0
        fam[2] += r.get("time_reference_s") or 0.0
    return {"wall_s": wall, "duration_s": end.get("duration_s"), "rows": len(rows),
            "cases_per_s": end.get("cases_per_s"), "counts": end.get("counts"),
            "first_report_s": reports[0][0] if reports else None,
            "end_spread_s": max(last.values()) - min(last.values()) if len(last) > 1 else 0.0,
            "cpu_s": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
            "families": {k: {"rows": v[0], "backend_s": v[1], "reference_s": v[2]}
                         for k, v in sorted(by_family.items())}}


def main() -> None:
    argv = sys.argv[1:]
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    argv = argv[:argv.index("--")] if "--" in argv else argv
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2, help="xdist workers (0: serial)")
    ap.add_argument("--backend", default="torch-cpu")
    ap.add_argument("--cold", action="store_true", help="an empty reference cache every run")
    ap.add_argument("--json", metavar="OUT", help="write the measurements as JSON")
    ns = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        (tmp / "nnconform_timeline.py").write_text(TIMELINE_PLUGIN)
        runs = []
        for i in range(ns.runs):
            runs.append(run_once(tmp, i, ns, extra))
            r = runs[-1]
            print(f"run {i + 1}: {r['rows']} cases, wall {r['wall_s']:.1f} s, duration "
                  f"{r['duration_s']:.1f} s, {r['cases_per_s']:.0f} cases/s, first case at "
                  f"{r['first_report_s']:.1f} s, workers ended {r['end_spread_s']:.1f} s apart, "
                  f"CPU {r['cpu_s']:.0f} s", flush=True)
    rates = [r["cases_per_s"] for r in runs]
    print(f"median {statistics.median(rates):.0f} cases/s (min {min(rates):.0f}, max "
          f"{max(rates):.0f}) over {len(runs)} runs, {ns.backend}, "
          f"{'-n ' + str(ns.workers) if ns.workers else 'serial'}, "
          f"{'cold' if ns.cold else 'user'} reference cache")
    print("inside the cases, last run (family: rows, backend s, reference s):")
    for fam, f in runs[-1]["families"].items():
        print(f"  {fam:13s} {f['rows']:5d} {f['backend_s']:7.1f} {f['reference_s']:7.1f}")
    if ns.json:
        Path(ns.json).write_text(json.dumps({"backend": ns.backend, "workers": ns.workers,
                                             "cold": ns.cold, "runs": runs}, indent=1))


if __name__ == "__main__":
    main()
