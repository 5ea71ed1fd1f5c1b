"""The self-contained HTML report: one file, no network, every string from a run escaped
(jinja2 autoescape), built with pandas from result rows and pytest-benchmark JSON."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd

from .loading import OUTCOMES

_ENV = jinja2.Environment(loader=jinja2.PackageLoader("reports", "templates"),
                          autoescape=True)  # optional row fields may be absent: render empty


def _num(v: Any, fmt: str = "{:.3g}") -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return ""
    return fmt.format(v)


def _header(meta: dict, rows: list[dict], end: dict | None) -> list[tuple[str, str]]:
    backends = meta.get("backends", [])
    rate = (end or {}).get("cases_per_s")
    return [
        ("backends", "; ".join(f"{b.get('name')} ({b.get('framework_version')}) on "
                               f"{b.get('device')}" for b in backends)),
        ("numerics settings", "; ".join(f"{b.get('name')}: {b.get('settings')}"
                                        for b in backends)),
        ("date", f"{meta.get('start_time', '')} to {(end or {}).get('end_time', 'interrupted')}"),
        ("command", meta.get("command", "")),
        ("seed", str(meta.get("seed", ""))),
        ("machine", f"{meta.get('cpu_model', '')}, {meta.get('cpu_count', '')} cores, "
                    f"Python {meta.get('python_version', '')}, NumPy "
                    f"{meta.get('numpy_version', '')}"),
        ("cases", str(len(rows))),
        ("suite throughput", f"{rate:.0f} cases/s over {end.get('duration_s', 0):.1f} s"
         if rate else ""),
    ]


def _compliance(df: pd.DataFrame) -> list[dict]:
    out = []
    for (backend, family, dtype), g in df.groupby(["backend", "family", "dtype"], dropna=False):
        counts = g["outcome"].value_counts()
        row = {"backend": backend, "family": family, "dtype": dtype}
        row.update({o: int(counts.get(o, 0)) for o in OUTCOMES})
        judged = row["pass"] + row["deviation"] + row["fail"] + row["error"]
        row["pct"] = f"{100 * (row['pass'] + row['deviation']) / judged:.1f}" if judged else ""
        out.append(row)
    return out


def _coverage(df: pd.DataFrame) -> tuple[list[str], list[tuple[str, list[dict]]]]:
    cols = sorted({(b, d) for b, d in zip(df["backend"], df["dtype"])})
    rows = []
    for op, g in df.groupby("op"):
        cells = []
        for b, d in cols:
            sub = g[(g["backend"] == b) & (g["dtype"] == d)]["outcome"]
            if sub.empty:
                cells.append({"state": "", "text": "", "title": "no cases"})
                continue
            c = sub.value_counts()
            state = next((o for o in ("fail", "error", "deviation", "pass", "unsupported",
                                      "skipped") if c.get(o, 0)), "")
            state = "fail" if state == "error" else state
            text = f"{int(c.get('pass', 0))}/{len(sub)}" if state in ("pass", "fail",
                                                                     "deviation") else state
            cells.append({"state": state, "text": text,
                          "title": ", ".join(f"{k}: {v}" for k, v in c.items())})
        rows.append((op, cells))
    return [f"{b} {d}" for b, d in cols], rows


def _errors(df: pd.DataFrame) -> list[dict]:
    judged = df[df["outcome"].isin(["pass", "fail"]) & df["err_eps"].notna()
                & df["limit_eps"].notna() & (df["limit_eps"] > 0)]
    out = []
    for (op, backend, dtype), g in judged.groupby(["op", "backend", "dtype"]):
        frac = g["err_eps"] / g["limit_eps"]
        worst = g.loc[frac.idxmax()]
        f = float(frac.max())
        head = g["headroom"].dropna()
        out.append({"op": op, "backend": backend, "dtype": dtype, "n": len(g),
                    "err": _num(float(worst["err_eps"])), "limit": _num(float(worst["limit_eps"])),
                    "frac": f, "frac_text": _num(f, "{:.2f}"), "width": int(120 * min(f, 1.0)),
                    "headroom": _num(float(head.min())) if not head.empty else "exact",
                    "rule": worst["tolerance_rule"]})
    return sorted(out, key=lambda r: -r["frac"])


def _case_times(df: pd.DataFrame) -> list[dict]:
    """Per op and backend, from the conformance rows themselves: the median wall time of the
    backend's answer to one case (conversion included) and of the reference's computation,
    so every report -- with or without benchmarks -- shows speed for every op it ran."""
    if "time_backend_s" not in df:
        return []
    timed = df[df["time_backend_s"].notna()]
    out = []
    for (op, backend), g in timed.groupby(["op", "backend"]):
        backend_ms = float(g["time_backend_s"].median()) * 1e3
        ref = g["time_reference_s"].dropna() if "time_reference_s" in g else g.iloc[:0]
        ref = ref[ref > 0]
        ref_ms = float(ref.median()) * 1e3 if not ref.empty else None
        out.append({"op": op, "backend": backend, "n": len(g),
                    "backend_ms": _num(backend_ms, "{:.3g}"),
                    "reference_ms": _num(ref_ms, "{:.3g}"),
                    "ratio": _num(ref_ms / backend_ms if ref_ms and backend_ms else None,
                                  "{:.2g}x"),
                    "total_s": _num(float(g["time_backend_s"].sum()), "{:.3g}")})
    return sorted(out, key=lambda r: (r["op"], r["backend"]))


def _speed(benchmarks: list[dict]) -> list[dict]:
    """pytest-benchmark rows. extra_info carries ``bytes``, ``flops``, ``reference_median_s`` and,
    for the peak probes, ``probe`` = 'bandwidth' or 'compute' (suites/test_benchmarks.py); the
    share of peak is the larger of achieved/peak bandwidth and achieved/peak FLOP/s (the
    resource that binds the op)."""
    def rates(b: dict) -> tuple[float | None, float | None]:
        med, info = b.get("stats", {}).get("median"), b.get("extra_info", {}) or {}
        gbs = info["bytes"] / med / 1e9 if med and info.get("bytes") else None
        gflops = info["flops"] / med / 1e9 if med and info.get("flops") else None
        return gbs, gflops

    peak_gbs = max((rates(b)[0] or 0 for b in benchmarks
                    if (b.get("extra_info") or {}).get("probe") == "bandwidth"), default=0)
    peak_gflops = max((rates(b)[1] or 0 for b in benchmarks
                       if (b.get("extra_info") or {}).get("probe") == "compute"), default=0)
    out = []
    for b in benchmarks:
        stats, info = b.get("stats", {}), b.get("extra_info", {}) or {}
        med, iqr = stats.get("median"), stats.get("iqr")
        gbs, gflops = rates(b)
        shares = [x / p for x, p in ((gbs, peak_gbs), (gflops, peak_gflops)) if x and p]
        peak = 100 * max(shares) if shares else None
        ref = info.get("reference_median_s")
        out.append({"name": b.get("fullname", b.get("name")) + (
                        f" [peak probe: {info['probe']}]" if info.get("probe") else ""),
                    "median": _num(med * 1e3 if med else None),
                    "iqr": _num(iqr * 1e3 if iqr is not None else None),
                    "gbs": _num(gbs), "gflops": _num(gflops), "peak": _num(peak, "{:.1f}"),
                    "speedup": _num(ref / med if ref and med else None, "{:.1f}x"),
                    "width": int(1.2 * min(peak, 100)) if peak else 0})
    return out


def render(meta: dict, rows: list[dict], end: dict | None = None,
           benchmarks: list[dict] | None = None, warnings: list[str] | None = None) -> str:
    df = pd.DataFrame(rows, columns=sorted({k for r in rows for k in r} | {
        "case_id", "op", "family", "backend", "dtype", "outcome", "err_eps", "limit_eps",
        "headroom", "tolerance_rule", "p_value"}))
    cov_cols, coverage = _coverage(df) if rows else ([], [])
    stats = [{"case_id": r["case_id"], "backend": r["backend"], "outcome": r["outcome"],
              "p": _num(r.get("p_value")), "alpha": _num(r.get("alpha")),
              "message": r.get("message", "")} for r in rows if r.get("p_value") is not None]
    template = _ENV.get_template("report.html.j2")
    return template.render(
        header=_header(meta, rows, end), warnings=warnings or [], outcomes=OUTCOMES,
        compliance=_compliance(df) if rows else [],
        failures=[r for r in rows if r["outcome"] in ("fail", "error")],
        deviations=[r for r in rows if r.get("deviation_reason")],
        coverage_cols=cov_cols, coverage=coverage, errors=_errors(df) if rows else [],
        speed=_speed(benchmarks or []), case_times=_case_times(df) if rows else [],
        stats=stats,
        rows=[{**r, "err": _num(r.get("err_eps")), "limit": _num(r.get("limit_eps")),
               "headroom": _num(r.get("headroom")),
               "ms": _num((r.get("time_backend_s") or 0) * 1e3, "{:.2f}"),
               "worst": r.get("worst") or "", "message": r.get("message") or ""}
              for r in rows])


def write_report(path: str | Path, meta: dict, rows: list[dict], end: dict | None = None,
                 benchmarks: list[dict] | None = None, warnings: list[str] | None = None) -> None:
    path = Path(path)
    html = render(meta, rows, end, benchmarks, warnings)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(html, encoding="utf-8")
    except OSError as e:
        raise OSError(f"cannot write the report to {path}: {e.strerror or e}") from e
