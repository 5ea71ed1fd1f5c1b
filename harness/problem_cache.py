"""A persistent cache of problems: a case's inputs and the reference's answers, across runs.

A problem (harness/problem.py) depends only on the case, the seed and the code that builds it,
never on the backend, so a second run -- the other torch version of an upgrade gate, a rerun
after an adapter fix -- need not recompute it. Training scenarios are the extreme: four NumPy
training loops per case (the exact one and three rounding-sensitivity runs) that cost a second
or more, against a few milliseconds for the backend.

Trust: an entry is found only under a digest of everything that could change its content --
the source of ``reference/`` and ``harness/`` (and ``backends/dtypes.py``, which rounds the
inputs), the NumPy and Python versions and the machine architecture -- plus the case's full
content (its ``repr``) and the seed. Editing any reference function starts a new cache. A file
that cannot be read is rebuilt; problems that cannot be pickled (random modules carry a closure
that reads the backend's draw), problems over ``MAX_ENTRY_BYTES`` and cases whose content is
not printable stably (a function argument prints its address) are simply not cached; an empty
``<case key>.skip`` file remembers the first two kinds, so later runs do not pickle them again.

Location: ``--reference-cache DIR`` (default ``$NNCONFORM_CACHE_DIR``, else
``$XDG_CACHE_HOME/nnconform``, else ``~/.cache/nnconform``); ``--no-reference-cache`` turns it
off. Only the newest few code versions are kept, each within ``MAX_CACHE_BYTES`` (least
recently used entries go first).
"""

from __future__ import annotations

import functools
import hashlib
import os
import pickle
import platform
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

from .problem import Problem

ROOT = Path(__file__).resolve().parent.parent
#: the code a problem's content depends on (the cases themselves are keyed by their content)
SOURCES = ("reference", "harness", "backends/dtypes.py")
#: digests (code versions) kept side by side; older ones are deleted
KEEP_DIGESTS = 3
#: larger problems (the 100-layer MLP scenarios carry ~100 MB of weights) are rebuilt instead:
#: the whole cache stays in the tens of MB
MAX_ENTRY_BYTES = 16 * 2**20
#: the whole cache of one code version: beyond it, the least recently used entries go (a run
#: of every case and both default dtypes writes ~70 MB; each other seed writes as much again)
MAX_CACHE_BYTES = 512 * 2**20
FORMAT = 1


def default_dir() -> Path:
    if os.environ.get("NNCONFORM_CACHE_DIR"):
        return Path(os.environ["NNCONFORM_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "nnconform"


@functools.lru_cache(maxsize=None)
def code_digest() -> str:
    """A digest of the problem-building code and the numeric environment it runs in."""
    h = hashlib.sha256(f"{FORMAT} {np.__version__} {sys.version_info[:2]} "
                       f"{platform.machine()}".encode())
    for source in SOURCES:
        path = ROOT / source
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
        for f in files:
            h.update(str(f.relative_to(ROOT)).encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:20]


class ProblemCache:
    """Problems on disk under ``root/<code digest>/<case key>.pkl``."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self.dir = self.root / code_digest()
        self._ready = False

    def _key(self, case_repr: str, seed: int) -> str:
        return hashlib.sha256(f"{seed}\n{case_repr}".encode()).hexdigest()[:32]

    @staticmethod
    def cacheable(case_repr: str) -> bool:
        return " at 0x" not in case_repr  # a function or object printed by address

    def get(self, case_repr: str, seed: int) -> Problem | None:
        path = self.dir / f"{self._key(case_repr, seed)}.pkl"
        try:
            with path.open("rb") as fh:
                problem = pickle.load(fh)
        except FileNotFoundError:
            return None
        except Exception:  # truncated or foreign file: rebuild it
            path.unlink(missing_ok=True)
            return None
        if not isinstance(problem, Problem):
            return None
        try:
            os.utime(path)  # recently used: pruned last
        except OSError:
            pass
        return problem

    def put(self, case_repr: str, seed: int, problem: Problem) -> None:
        key = self._key(case_repr, seed)
        skip = self.dir / f"{key}.skip"
        if skip.exists():  # known from an earlier run not to fit: spare the pickling
            return
        try:
            blob = pickle.dumps(problem, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # closures (random modules): not cacheable, built every run
            blob = None
        try:
            self._prepare()
            if blob is None or len(blob) > MAX_ENTRY_BYTES:
                skip.touch()
                return
            fd, tmp = tempfile.mkstemp(dir=self.dir, suffix=".tmp")
            with os.fdopen(fd, "wb") as fh:
                fh.write(blob)
            os.replace(tmp, self.dir / f"{key}.pkl")
        except OSError:  # a read-only or full disk costs speed, never a result
            pass

    def _prepare(self) -> None:
        if self._ready:
            return
        self.dir.mkdir(parents=True, exist_ok=True)
        others = sorted((d for d in self.root.iterdir() if d.is_dir() and d != self.dir),
                        key=lambda d: d.stat().st_mtime, reverse=True)
        for old in others[KEEP_DIGESTS - 1:]:
            shutil.rmtree(old, ignore_errors=True)
        self._prune(MAX_CACHE_BYTES)
        self._ready = True

    def _prune(self, budget: int) -> None:
        """Delete the least recently used entries until the cache is within 3/4 of budget."""
        entries = []
        for e in os.scandir(self.dir):
            try:
                st = e.stat()
            except OSError:
                continue
            entries.append((st.st_mtime, st.st_size, e.path))
        total = sum(size for _, size, _ in entries)
        if total <= budget:
            return
        for _, size, path in sorted(entries):
            if total <= budget * 3 // 4:
                break
            try:
                os.unlink(path)
            except OSError:
                pass
            total -= size
