"""Reading results files: strict about what it cannot trust, clear about where.

Policy for a partial file (no ``end`` record: the run was interrupted): it is used, with a
warning naming the file, because every line in it was flushed by a finished case. A line that
is not JSON, a record of another schema version, or a case record missing fields is refused:
``ResultsError`` names the file, the line and the problem.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path

SCHEMA = "nnconform.results/1"  # reports reads files only: the version is restated, not imported
REQUIRED = ("case_id", "op", "family", "backend", "dtype", "outcome")
OUTCOMES = ("pass", "fail", "deviation", "unsupported", "error", "skipped")


class ResultsError(ValueError):
    """An unreadable results or benchmark file; the message names file, line and problem."""


@dataclass
class Run:
    path: Path
    meta: dict = field(default_factory=dict)
    rows: list[dict] = field(default_factory=list)
    end: dict | None = None

    @property
    def complete(self) -> bool:
        return self.end is not None


def load_results(path: str | Path) -> Run:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ResultsError(f"{path}: no such results file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ResultsError(f"{path}: cannot read: {e}") from None
    run = Run(path)
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as e:
            raise ResultsError(f"{path}:{n}: not a JSON record ({e.msg}); the file is truncated "
                               f"or not an nnconform results file") from None
        if not isinstance(rec, dict):
            raise ResultsError(f"{path}:{n}: expected a JSON object, got {type(rec).__name__}")
        if rec.get("schema") != SCHEMA:
            raise ResultsError(f"{path}:{n}: schema {rec.get('schema')!r}, this tool reads "
                               f"{SCHEMA!r}")
        kind = rec.get("record")
        if kind == "run":
            run.meta = rec
        elif kind == "end":
            run.end = rec
        elif kind == "case":
            missing = [k for k in REQUIRED if k not in rec]
            if missing:
                raise ResultsError(f"{path}:{n}: case record lacks {', '.join(missing)}")
            if rec["outcome"] not in OUTCOMES:
                raise ResultsError(f"{path}:{n}: unknown outcome {rec['outcome']!r}")
            run.rows.append(rec)
        else:
            raise ResultsError(f"{path}:{n}: unknown record kind {kind!r}")
    if not run.meta:
        raise ResultsError(f"{path}: no run record (the first line of a results file)")
    if run.end is None:
        warnings.warn(f"{path}: no end record -- the run was interrupted; using the "
                      f"{len(run.rows)} cases it recorded", stacklevel=2)
    return run


def load_benchmarks(path: str | Path) -> list[dict]:
    """pytest-benchmark's JSON (``--benchmark-json``): one dict per benchmark."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ResultsError(f"{path}: no such benchmark file") from None
    except json.JSONDecodeError as e:
        raise ResultsError(f"{path}:{e.lineno}: not pytest-benchmark JSON ({e.msg})") from None
    if not isinstance(data, dict) or not isinstance(data.get("benchmarks"), list):
        raise ResultsError(f"{path}: not pytest-benchmark JSON (no 'benchmarks' list)")
    return data["benchmarks"]
