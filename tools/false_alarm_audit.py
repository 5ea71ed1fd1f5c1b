"""False-alarm audit: the full suite on the unmutated torch-cpu backend, float32 and float64,
under many seeds; any ``fail`` or ``error`` row is a false alarm (or a real torch bug) to
investigate. See docs/audit.md.

    python -m tools.false_alarm_audit --seeds 20 [--first 0] [--jobs 2] [--out reports/out/audit/false-alarm]

Each seed is one pytest run (``--backend=torch-cpu --dtype=float32,float64 --seed N -n JOBS``)
writing ``<out>/seed-N.jsonl``; a summary (per seed: counts, failing cases with their error and
limit, wall time) is printed and written to ``<out>/summary.json``. ``--summarize`` only reads
the results files already there.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def read_rows(path: Path) -> tuple[list[dict], dict | None]:
    rows, end = [], None
    if not path.exists():
        return rows, end
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        rec = json.loads(line)
        if rec.get("record") == "case":
            rows.append(rec)
        elif rec.get("record") == "end":
            end = rec
    return rows, end


#: battery entries that are exact checks (p is 0 or 1, no false alarms); every other test in a
#: row's battery is a distribution test at its alpha (harness/statistics.py, random_ops.py)
EXACT_CHECKS = ("constant", "exact_values", "orthogonality", "within_bounds", "sparse_zero_counts",
                "zero_rows", "slopes_in_bounds")


def statistical_budget(rows: list[dict]) -> dict:
    """The distribution tests one run performs (read from the batteries in the rows' messages,
    ``name p=...``) and the union bound on the run's false-alarm probability."""
    import re
    from collections import Counter
    tests: Counter = Counter()
    alphas = set()
    stat_rows = [r for r in rows if r.get("p_value") is not None]
    for r in stat_rows:
        alphas.add(r.get("alpha"))
        for m in re.finditer(r"([\w.:\-]+) p=", r.get("message") or ""):
            name = m.group(1).split(":")[-1]
            if name not in EXACT_CHECKS:
                tests[name] += 1
    n = sum(tests.values())
    alpha = max((a for a in alphas if a is not None), default=1e-6)
    return {"rows_with_p_value": len(stat_rows), "distribution_tests": n,
            "by_test": dict(tests.most_common()), "alpha_per_test": alpha,
            "union_bound_per_run": n * alpha}


def run_seed(seed: int, out: Path, jobs: int, extra: list[str]) -> float:
    results = out / f"seed-{seed}.jsonl"
    cmd = [sys.executable, "-m", "pytest", "suites", "-p", "no:warnings", "-q",
           "--backend=torch-cpu", "--dtype=float32,float64", f"--seed={seed}",
           f"--results={results}"]
    if jobs > 1:
        cmd += ["-n", str(jobs)]
    cmd += extra
    t0 = time.perf_counter()
    with open(out / f"seed-{seed}.log", "w") as log:
        subprocess.run(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                       env={**os.environ, "PYTHONHASHSEED": "0"})
    return time.perf_counter() - t0


def summarize_seed(seed: int, out: Path, wall: float | None) -> dict:
    rows, end = read_rows(out / f"seed-{seed}.jsonl")
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["outcome"]] = counts.get(r["outcome"], 0) + 1
    bad = [{"case_id": r["case_id"], "outcome": r["outcome"], "err_eps": r.get("err_eps"),
            "limit_eps": r.get("limit_eps"), "p_value": r.get("p_value"),
            "alpha": r.get("alpha"), "message": (r.get("message") or "")[:300]}
           for r in rows if r["outcome"] in ("fail", "error")]
    budget = statistical_budget(rows)
    return {"seed": seed, "complete": end is not None, "cases": len(rows), "counts": counts,
            "false_alarms": bad,
            "statistical_rows": budget["rows_with_p_value"],
            "distribution_tests": budget["distribution_tests"],
            "wall_s": round(wall, 1) if wall is not None else None}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.false_alarm_audit", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=20, help="number of seeds (default 20)")
    ap.add_argument("--first", type=int, default=0, help="first seed (default 0)")
    ap.add_argument("--jobs", type=int, default=2, help="pytest-xdist workers (default 2)")
    ap.add_argument("--out", default="reports/out/audit/false-alarm", help="output folder")
    ap.add_argument("--summarize", action="store_true",
                    help="do not run; summarize the results files already in --out")
    ap.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    args = ap.parse_args(argv)
    out = (ROOT / args.out) if not os.path.isabs(args.out) else Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    seeds = range(args.first, args.first + args.seeds)
    summary_path = out / "summary.json"
    previous = {}
    if summary_path.exists():
        previous = {s["seed"]: s for s in json.loads(summary_path.read_text())["seeds"]}
    summaries = []
    t_all = time.perf_counter()
    for seed in seeds:
        wall = None
        if not args.summarize:
            wall = run_seed(seed, out, args.jobs, args.pytest_args)
        elif seed in previous:
            wall = previous[seed].get("wall_s")
        s = summarize_seed(seed, out, wall)
        summaries.append(s)
        status = "incomplete" if not s["complete"] else f"{len(s['false_alarms'])} false alarms"
        print(f"seed {seed:3d}: {s['cases']} cases, {status}, "
              f"{s['counts']}, {s['wall_s']} s", flush=True)
        for b in s["false_alarms"]:
            print(f"    {b['outcome']}: {b['case_id']} err {b['err_eps']} eps / limit "
                  f"{b['limit_eps']} p={b['p_value']} {b['message'][:160]}", flush=True)
        summary_path.write_text(json.dumps({"seeds": summaries}, indent=1))
    total = sum(len(s["false_alarms"]) for s in summaries)
    done = sum(s["complete"] for s in summaries)
    if summaries:
        b = statistical_budget(read_rows(out / f"seed-{summaries[0]['seed']}.jsonl")[0])
        print(f"statistical tests per run (seed {summaries[0]['seed']}): "
              f"{b['rows_with_p_value']} rows with a p-value, {b['distribution_tests']} "
              f"distribution tests at alpha {b['alpha_per_test']:g}: union bound "
              f"{b['union_bound_per_run']:.2e} per run; {b['by_test']}")
    print(f"\n{done}/{len(summaries)} seeds complete, {total} false alarms in all, "
          f"{time.perf_counter() - t_all:.0f} s", flush=True)
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main())
