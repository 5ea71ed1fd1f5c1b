"""python -m reports build RESULTS... [--benchmark-json FILE] --html OUT
python -m reports compare OLD NEW [--html DIFF] [--drift-factor F]

Exit codes: 0 clean, 1 regression (compare), 2 input that cannot be read or output that cannot
be written (the message names the file, the line and the problem).
"""

from __future__ import annotations

import argparse
import sys
import warnings

from .compare import compare_runs, load_side, summary
from .html import write_report
from .loading import ResultsError, load_benchmarks, load_results


def _build(ns: argparse.Namespace) -> int:
    notes: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        runs = [load_results(p) for p in ns.results]
    notes += [str(w.message) for w in caught]
    benchmarks = [b for f in ns.benchmark_json for b in load_benchmarks(f)]
    rows = [r for run in runs for r in run.rows]
    meta = dict(runs[0].meta)
    meta["backends"] = [b for run in runs for b in run.meta.get("backends", [])]
    write_report(ns.html, meta, rows, runs[0].end if len(runs) == 1 else None, benchmarks,
                 notes)
    for n in notes:
        print(f"warning: {n}", file=sys.stderr)
    print(f"report written to {ns.html} ({len(rows)} cases, {len(benchmarks)} benchmarks)")
    return 0


def _compare(ns: argparse.Namespace) -> int:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        old, new = load_side(ns.old), load_side(ns.new)
    for w in caught:
        print(f"warning: {w.message}", file=sys.stderr)
    diff = compare_runs(old, new, drift_factor=ns.drift_factor)
    print(summary(diff, old, new))
    if ns.html:
        from .diff_html import write_diff
        write_diff(ns.html, diff, old, new)
        print(f"diff report written to {ns.html}")
    return 1 if diff.regressed else 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m reports", description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="results JSON lines (+ benchmark JSON) -> HTML report")
    b.add_argument("results", nargs="+", help="results files (JSON lines)")
    b.add_argument("--benchmark-json", action="append", default=[],
                   help="pytest-benchmark JSON (repeatable)")
    b.add_argument("--html", required=True, help="where to write the report")
    c = sub.add_parser("compare", help="the upgrade gate: OLD run vs NEW run")
    c.add_argument("old", help="results file, or a folder with results.jsonl [+ benchmark.json]")
    c.add_argument("new", help="results file, or a folder with results.jsonl [+ benchmark.json]")
    c.add_argument("--html", help="also write an HTML diff report")
    c.add_argument("--drift-factor", type=float, default=4.0,
                   help="error growth that counts as accuracy drift (default 4)")
    ns = ap.parse_args(argv)
    try:
        return _build(ns) if ns.cmd == "build" else _compare(ns)
    except ResultsError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
