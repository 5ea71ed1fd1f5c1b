"""The upgrade gate: compare two runs case by case.

A side (OLD or NEW) is a results file, or a folder holding ``results.jsonl`` and optionally
``benchmark.json`` (pytest-benchmark's JSON). Cases are matched by (case id, backend name).

Regressions (exit 1):
- new failures: a case that passed (or was a documented deviation) now fails or errors;
- newly unsupported: a case that ran now reports unsupported;
- accuracy drift: a case passing on both sides whose error grew by more than ``drift_factor``
  (default 4x, against max(old error, 1 eps), so a change from exact to half an ulp is not
  drift);
- speed regressions: a benchmark whose median grew by more than max(10%, 3 IQR) (the larger
  IQR of the two sides: the run-to-run noise measured by pytest-benchmark).
Reported without failing: fixed cases, cases that appeared or disappeared, speed-ups.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .loading import Run, load_benchmarks, load_results

BAD = ("fail", "error")
GOOD = ("pass", "deviation")


@dataclass
class Side:
    run: Run
    benchmarks: list[dict] = field(default_factory=list)


def load_side(path: str | Path) -> Side:
    path = Path(path)
    if path.is_dir():
        side = Side(load_results(path / "results.jsonl"))
        if (path / "benchmark.json").exists():
            side.benchmarks = load_benchmarks(path / "benchmark.json")
        return side
    return Side(load_results(path))


@dataclass
class Diff:
    new_failures: list[tuple[dict | None, dict]] = field(default_factory=list)
    newly_unsupported: list[tuple[dict, dict]] = field(default_factory=list)
    drift: list[tuple[dict, dict, float]] = field(default_factory=list)
    speed: list[tuple[dict, dict, float]] = field(default_factory=list)
    fixed: list[tuple[dict, dict]] = field(default_factory=list)
    appeared: list[dict] = field(default_factory=list)
    disappeared: list[dict] = field(default_factory=list)
    faster: list[tuple[dict, dict, float]] = field(default_factory=list)

    @property
    def regressed(self) -> bool:
        return bool(self.new_failures or self.newly_unsupported or self.drift or self.speed)


def _key(row: dict) -> tuple[str, str]:
    return row["case_id"], row["backend"]


def _stats(b: dict) -> tuple[float, float]:
    s = b.get("stats", {})
    return float(s.get("median", 0.0)), float(s.get("iqr", 0.0))


def compare_runs(old: Side, new: Side, drift_factor: float = 4.0,
                 speed_rel: float = 0.10, speed_iqr: float = 3.0) -> Diff:
    diff = Diff()
    old_rows = {_key(r): r for r in old.run.rows}
    new_rows = {_key(r): r for r in new.run.rows}
    for key, n in new_rows.items():
        o = old_rows.get(key)
        if o is None:
            diff.appeared.append(n)
            if n["outcome"] in BAD:
                diff.new_failures.append((None, n))
            continue
        if n["outcome"] in BAD and o["outcome"] not in BAD:
            diff.new_failures.append((o, n))
        elif n["outcome"] == "unsupported" and o["outcome"] in GOOD:
            diff.newly_unsupported.append((o, n))
        elif o["outcome"] in BAD and n["outcome"] in GOOD:
            diff.fixed.append((o, n))
        elif o["outcome"] == "pass" and n["outcome"] == "pass":
            oe, ne = o.get("err_eps"), n.get("err_eps")
            if oe is not None and ne is not None and ne > drift_factor * max(oe, 1.0):
                diff.drift.append((o, n, ne / max(oe, 1.0)))
    diff.disappeared = [o for k, o in old_rows.items() if k not in new_rows]
    old_b = {b.get("fullname", b.get("name")): b for b in old.benchmarks}
    for b in new.benchmarks:
        ob = old_b.get(b.get("fullname", b.get("name")))
        if ob is None:
            continue
        (om, oi), (nm, ni) = _stats(ob), _stats(b)
        if om <= 0:
            continue
        threshold = max(speed_rel * om, speed_iqr * max(oi, ni))
        if nm - om > threshold:
            diff.speed.append((ob, b, nm / om))
        elif om - nm > threshold:
            diff.faster.append((ob, b, nm / om))
    return diff


def summary(diff: Diff, old: Side, new: Side) -> str:
    def ver(side: Side) -> str:
        return ", ".join(f"{b.get('name')} {b.get('framework_version')}"
                         for b in side.run.meta.get("backends", []))
    lines = [f"old: {old.run.path} ({ver(old)}, {len(old.run.rows)} cases)",
             f"new: {new.run.path} ({ver(new)}, {len(new.run.rows)} cases)"]

    def section(title: str, items: list, fmt) -> None:
        lines.append(f"{title}: {len(items)}")
        lines.extend("  " + fmt(x) for x in items[:50])
        if len(items) > 50:
            lines.append(f"  ... and {len(items) - 50} more")

    section("new failures", diff.new_failures,
            lambda p: f"{p[1]['case_id']} [{p[1]['backend']}] "
                      f"{p[0]['outcome'] if p[0] else 'new case'} -> {p[1]['outcome']}: "
                      f"{p[1].get('message', '')}")
    section("newly unsupported", diff.newly_unsupported,
            lambda p: f"{p[1]['case_id']} [{p[1]['backend']}]: {p[1].get('message', '')}")
    section("accuracy drift", diff.drift,
            lambda t: f"{t[1]['case_id']} [{t[1]['backend']}] {t[0]['err_eps']:.3g} -> "
                      f"{t[1]['err_eps']:.3g} eps (x{t[2]:.1f})")
    section("speed regressions", diff.speed,
            lambda t: f"{t[1].get('fullname', t[1].get('name'))}: median x{t[2]:.2f}")
    section("fixed", diff.fixed, lambda p: f"{p[1]['case_id']} [{p[1]['backend']}]")
    section("appeared", diff.appeared, lambda r: f"{r['case_id']} [{r['backend']}]")
    section("disappeared", diff.disappeared, lambda r: f"{r['case_id']} [{r['backend']}]")
    section("faster", diff.faster,
            lambda t: f"{t[1].get('fullname', t[1].get('name'))}: median x{t[2]:.2f}")
    lines.append("verdict: " + ("REGRESSION" if diff.regressed else "clean"))
    return "\n".join(lines)
