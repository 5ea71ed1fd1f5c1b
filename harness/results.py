"""Result rows and run records: the versioned schema (docs/results-schema.md) and the writer.

A results file is JSON lines. The first line is the ``run`` record (metadata), then one ``case``
record per case and backend, as each finishes (flushed, so nothing recorded is lost if the run
dies), then an ``end`` record. A file without its ``end`` record is from an interrupted run.
"""

from __future__ import annotations

import json
import math
import os
import platform
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

SCHEMA = "nnconform.results/1"
OUTCOMES = ("pass", "fail", "deviation", "unsupported", "error", "skipped")

#: Every case row carries these keys (values may be null where they do not apply).
ROW_FIELDS = (
    "schema", "record", "case_id", "op", "family", "backend", "framework_version", "device",
    "dtype", "mode", "label", "outcome", "max_abs_err", "max_rel_err", "err_eps", "limit_eps",
    "tolerance_rule", "atol", "rtol", "headroom", "worst", "message", "repro",
    "time_backend_s", "time_reference_s", "seed", "nodeid", "p_value", "alpha",
    "deviation_reason", "deviation_source", "stale_expectation",
)


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def _clean(v: Any) -> Any:
    """JSON-safe: numpy scalars to Python, non-finite floats to None."""
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def sanitize(v: Any) -> Any:
    """Recursively JSON-safe (see ``_clean``)."""
    if isinstance(v, dict):
        return {str(k): sanitize(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [sanitize(x) for x in v]
    if isinstance(v, np.ndarray):
        return sanitize(v.tolist())
    return _clean(v)


def new_row(**fields: Any) -> dict[str, Any]:
    row = dict.fromkeys(ROW_FIELDS)
    row.update(schema=SCHEMA, record="case", stale_expectation=False, message="")
    for k, v in fields.items():
        if k not in row:
            raise KeyError(f"{k!r} is not a field of {SCHEMA} rows")
        row[k] = _clean(v)
    return row


def validate_row(row: dict[str, Any]) -> list[str]:
    """Problems with a case row ([] when it conforms to the schema)."""
    problems = [f"missing field {k!r}" for k in ROW_FIELDS if k not in row]
    if row.get("schema") != SCHEMA:
        problems.append(f"schema {row.get('schema')!r} is not {SCHEMA!r}")
    if row.get("outcome") not in OUTCOMES:
        problems.append(f"outcome {row.get('outcome')!r} is not one of {', '.join(OUTCOMES)}")
    return problems


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def run_record(**fields: Any) -> dict[str, Any]:
    return {"schema": SCHEMA, "record": "run", "start_time": now(),
            "python_version": sys.version.split()[0], "numpy_version": np.__version__,
            "platform": platform.platform(), "cpu_model": cpu_model(),
            "cpu_count": os.cpu_count(), **fields}


class ResultsWriter:
    """Appends records to a JSON-lines file, one flushed line each."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = self.path.open("w", encoding="utf-8")
        except OSError as e:
            raise OSError(f"cannot write results file {self.path}: {e.strerror or e}") from e

    def write(self, record: dict[str, Any]) -> None:
        self._fh.write(json.dumps(sanitize(record), default=str, allow_nan=False) + "\n")
        self._fh.flush()

    def close(self) -> None:
        self._fh.close()
