"""HTML rendering of a gate diff (reports.compare.Diff)."""

from __future__ import annotations

from pathlib import Path

from .compare import Diff, Side
from .html import _ENV


def write_diff(path: str | Path, diff: Diff, old: Side, new: Side) -> None:
    html = _ENV.get_template("diff.html.j2").render(
        diff=diff, old=old.run, new=new.run,
        verdict="REGRESSION" if diff.regressed else "clean")
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(html, encoding="utf-8")
    except OSError as e:
        raise OSError(f"cannot write the diff report to {path}: {e.strerror or e}") from e
