"""Documented deviations of a backend (its expectations file).

A TOML file, or a folder of them, of ``[[deviation]]`` tables, each with ``case`` (an fnmatch
pattern over case ids), ``reason``, ``source`` (doc page, issue or code where the semantic
difference is settled) and optionally ``backends`` (the backend names it applies to).
A failing case that matches is reported ``deviation``; a passing case that matches is reported
``pass`` with ``stale_expectation`` set, so the file stays true.
"""

from __future__ import annotations

import fnmatch
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path


@dataclass(frozen=True)
class Deviation:
    case: str
    reason: str
    source: str
    backends: tuple[str, ...] = ()

    def matches(self, case_id: str, backend: str) -> bool:
        return ((not self.backends or backend in self.backends)
                and fnmatch.fnmatchcase(case_id, self.case))


def _load_file(path: Path) -> list[Deviation]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise ValueError(f"malformed expectations file {path}: {e}") from e
    out = []
    for i, entry in enumerate(data.get("deviation", [])):
        missing = [k for k in ("case", "reason", "source") if not entry.get(k)]
        if missing:
            raise ValueError(f"expectations file {path}: deviation #{i + 1} lacks "
                             f"{', '.join(missing)}")
        out.append(Deviation(entry["case"], entry["reason"], entry["source"],
                             tuple(entry.get("backends", ()))))
    return out


@lru_cache(maxsize=None)
def load(path: str | Path | None) -> tuple[Deviation, ...]:
    """Every deviation in a TOML file, or in the *.toml files of a folder (sorted by name)."""
    if path is None or not Path(path).exists():
        return ()
    path = Path(path)
    files = sorted(path.glob("*.toml")) if path.is_dir() else [path]
    return tuple(d for f in files for d in _load_file(f))


def find(path: str | Path | None, case_id: str, backend: str = "") -> Deviation | None:
    return next((d for d in load(path) if d.matches(case_id, backend)), None)
