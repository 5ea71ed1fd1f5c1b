"""Sensitivity audit: run the suite against deliberately broken torch backends (tools/mutants.py),
one bug at a time, and print the kill matrix. See docs/audit.md.

    python -m tools.mutation_audit [--jobs 2] [--only NAME[,NAME...]] [--list] [--markdown PATH]

For each mutant, pytest runs in a subprocess on the suite files that exercise the op it breaks,
restricted by its ``-k`` expression (``--backend=tools.mutants:<Class> --results=...``). A
mutant is *killed* when at least one case ends ``fail`` or ``error`` under it while the same
case does not under the baseline: ``mutant-control``, the unmutated torch backend under a
mutant's name, run once per suite file on the union of the selections (so documented
deviations that name the ``torch-cpu`` backend, and anything else already failing, never
count). A mutant whose source edit no longer matches torch is reported ``BROKEN``, not killed.
Controls (``control-*``: reimplementations without the bug) must survive.

Exit status: 0 when every mutant is killed and every control survives, 1 otherwise.
Results files, logs and ``summary.json`` go to ``--out`` (default reports/out/audit/mutation).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BAD = ("fail", "error")


@dataclass
class Outcome:
    name: str
    family: str
    control: bool
    models: str
    history: str
    selection: str
    cases: int = 0
    killers: list[str] = field(default_factory=list)
    killer_details: list[str] = field(default_factory=list)
    broken: str = ""
    seconds: float = 0.0
    complete: bool = True

    @property
    def killed(self) -> bool:
        return bool(self.killers)

    @property
    def verdict(self) -> str:
        if self.broken:
            return "BROKEN"
        if self.control:
            return "ok (survived)" if not self.killed else "CONTROL KILLED"
        return "killed" if self.killed else "SURVIVED"


def read_rows(path: Path) -> tuple[list[dict], bool]:
    rows, complete = [], False
    if path.exists():
        for line in path.read_text().splitlines():
            if line.strip():
                rec = json.loads(line)
                if rec.get("record") == "case":
                    rows.append(rec)
                elif rec.get("record") == "end":
                    complete = True
    return rows, complete


def _pytest(backend: str, files: list[str], select: str | None, results: Path, log: Path,
            xdist: int, seed: int) -> float:
    cmd = [sys.executable, "-m", "pytest", *[f"suites/{f}" for f in files], "-p", "no:warnings",
           "-q", f"--backend={backend}", f"--results={results}", f"--seed={seed}",
           "--case-timeout=120"]
    if select:
        cmd += ["-k", select]
    if xdist > 1:
        cmd += ["-n", str(xdist)]
    t0 = time.perf_counter()
    with open(log, "w") as fh:
        subprocess.run(cmd, cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT,
                       env={**os.environ, "PYTHONHASHSEED": "0", "OMP_NUM_THREADS": "1"})
    return time.perf_counter() - t0


def _union(selects: list[str | None]) -> str | None:
    if any(s is None for s in selects):
        return None
    uniq = list(dict.fromkeys(selects))
    return " or ".join(f"({s})" for s in uniq) if len(uniq) > 1 else uniq[0]


def run_audit(names: list[str] | None = None, *, jobs: int = 1, xdist: int = 0, seed: int = 0,
              out: str | os.PathLike = "reports/out/audit/mutation",
              log=print) -> tuple[list[Outcome], dict]:
    """Run the audit for ``names`` (short names; None: every mutant) and return the outcomes
    and timing info."""
    from tools.mutants import Control, mutants

    every = mutants()
    if names:
        wanted = [n.strip().removeprefix("mutant-") for n in names if n.strip()]
        unknown = [n for n in wanted if n not in every]
        if unknown:
            raise SystemExit(f"unknown mutant(s): {', '.join(unknown)}; see --list")
        chosen = {n: every[n] for n in wanted}
    else:
        chosen = every
    out = Path(out) if os.path.isabs(out) else ROOT / out
    out.mkdir(parents=True, exist_ok=True)
    runs = dict(chosen)
    per_file: dict[str, list[str | None]] = {}
    for c in runs.values():
        for f in c.suites:
            per_file.setdefault(f, []).append(c.select)
    control_cls = f"tools.mutants:{Control.__name__}"
    t_all = time.perf_counter()

    def baseline(f: str) -> tuple[str, float]:
        sel = _union(per_file[f])
        stem = f.removesuffix(".py")
        dt = _pytest(control_cls, [f], sel, out / f"baseline-{stem}.jsonl",
                     out / f"baseline-{stem}.log", xdist, seed)
        return f, dt

    log(f"baseline (mutant-control) on {len(per_file)} suite file(s) ...")
    with ThreadPoolExecutor(max_workers=max(jobs, 1)) as pool:
        base_times = dict(pool.map(baseline, sorted(per_file)))
    base: dict[str, str] = {}
    for f in per_file:
        rows, complete = read_rows(out / f"baseline-{f.removesuffix('.py')}.jsonl")
        if not complete:
            log(f"  warning: the baseline on {f} did not complete (see its log)")
        for r in rows:
            base[r["case_id"]] = r["outcome"]
    t_base = time.perf_counter() - t_all
    log(f"baseline: {len(base)} cases, "
        f"{sum(o in BAD for o in base.values())} already failing, {t_base:.0f} s")

    def one(item) -> Outcome:
        name, cls = item
        o = Outcome(name, cls.family, cls.control, cls.models, cls.history,
                    f"{' '.join(cls.suites)}" + (f" -k '{cls.select}'" if cls.select else ""))
        if cls is Control:
            # a second, independent run of the unmutated backend on the baseline's selection:
            # a nondeterministic case would "kill" it
            rows, o.complete = [], True
            o.selection = "the baseline's selection"
            for f in sorted(per_file):
                path = out / f"{name}-{f.removesuffix('.py')}.jsonl"
                o.seconds += _pytest(control_cls, [f], _union(per_file[f]), path,
                                     out / f"{name}-{f.removesuffix('.py')}.log", xdist, seed)
                more, complete = read_rows(path)
                rows += more
                o.complete = o.complete and complete
        else:
            path = out / f"{name}.jsonl"
            o.seconds = _pytest(f"tools.mutants:{cls.__name__}", list(cls.suites), cls.select,
                                path, out / f"{name}.log", xdist, seed)
            rows, o.complete = read_rows(path)
        o.cases = len(rows)
        for r in rows:
            msg = r.get("message") or ""
            if r["outcome"] == "error" and "MutantOutdated" in msg:
                o.broken = msg.splitlines()[0][:200]
            if r["outcome"] in BAD and base.get(r["case_id"]) not in BAD:
                o.killers.append(r["case_id"])
                err = (f"err {r['err_eps']:.3g} eps > {r['limit_eps']:.3g}"
                       if r.get("err_eps") is not None and r.get("limit_eps") is not None
                       else (f"p={r['p_value']:.2g}" if r.get("p_value") is not None
                             else msg.splitlines()[0][:90] if msg else r["outcome"]))
                o.killer_details.append(f"{r['case_id']}: {err}")
        if o.broken:
            o.killers, o.killer_details = [], []
        if not rows:
            o.broken = o.broken or f"no result rows (see {out / (name + '.log')})"
        log(f"  {o.verdict:15s} {name:42s} {len(o.killers):4d}/{o.cases:<5d} {o.seconds:6.1f} s"
            + (f"  e.g. {o.killers[0]}" if o.killers else ""))
        return o

    with ThreadPoolExecutor(max_workers=max(jobs, 1)) as pool:
        outcomes = list(pool.map(one, runs.items()))
    timing = {"baseline_s": round(t_base, 1), "baseline_per_file_s":
              {k: round(v, 1) for k, v in base_times.items()},
              "total_s": round(time.perf_counter() - t_all, 1), "jobs": jobs, "xdist": xdist}
    summary = {"timing": timing, "mutants": [
        {**asdict(o), "killed": o.killed, "verdict": o.verdict} for o in outcomes]}
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    return outcomes, timing


def matrix(outcomes: list[Outcome], timing: dict) -> str:
    lines = [f"{'mutant':44s} {'family':13s} {'verdict':15s} {'kills':>11s} {'time':>7s}  "
             f"killing cases (a few)", "-" * 140]
    for o in outcomes:
        few = ", ".join(o.killers[:3]) + (" ..." if len(o.killers) > 3 else "")
        lines.append(f"{o.name:44s} {o.family:13s} {o.verdict:15s} "
                     f"{len(o.killers):5d}/{o.cases:<5d} {o.seconds:6.1f}s  {few or o.broken}")
    real = [o for o in outcomes if not o.control]
    killed = sum(o.killed for o in real)
    lines.append("-" * 140)
    lines.append(f"{killed}/{len(real)} mutants killed "
                 f"({100 * killed / max(len(real), 1):.0f}%); "
                 f"survivors: {', '.join(o.name for o in real if not o.killed) or 'none'}; "
                 f"controls killed: "
                 f"{', '.join(o.name for o in outcomes if o.control and o.killed) or 'none'}; "
                 f"broken: {', '.join(o.name for o in outcomes if o.broken) or 'none'}")
    lines.append(f"baseline {timing['baseline_s']} s, total {timing['total_s']} s "
                 f"(jobs {timing['jobs']})")
    return "\n".join(lines)


def markdown(outcomes: list[Outcome]) -> str:
    rows = ["| mutant | family | models | history | verdict | kills / cases | time | "
            "a killing case |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for o in outcomes:
        rows.append(f"| `{o.name}` | {o.family} | {o.models} | {o.history or '-'} | {o.verdict} "
                    f"| {len(o.killers)}/{o.cases} | {o.seconds:.0f} s | "
                    f"{('`' + o.killer_details[0] + '`') if o.killer_details else '-'} |")
    return "\n".join(rows) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.mutation_audit", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", action="append", metavar="NAME",
                    help="mutant(s) to run, comma-separated or repeated (default: all)")
    ap.add_argument("--jobs", type=int, default=1, help="mutants run in parallel (default 1)")
    ap.add_argument("--xdist", type=int, default=0, help="pytest -n inside each run (default 0)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="reports/out/audit/mutation")
    ap.add_argument("--markdown", metavar="PATH", help="also write the matrix as a Markdown table")
    ap.add_argument("--list", action="store_true", help="list the mutants and exit")
    args = ap.parse_args(argv)
    if args.list:
        from tools.mutants import mutants
        for n, c in mutants().items():
            print(f"{n:42s} {c.family:13s} {c.models}")
        return 0
    names = [n for v in args.only or [] for n in v.split(",")] or None
    outcomes, timing = run_audit(names, jobs=args.jobs, xdist=args.xdist, seed=args.seed,
                                 out=args.out)
    print()
    print(matrix(outcomes, timing))
    if args.markdown:
        Path(args.markdown).write_text(markdown(outcomes))
    ok = all((o.control and not o.killed and not o.broken) or
             (not o.control and o.killed) for o in outcomes)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
