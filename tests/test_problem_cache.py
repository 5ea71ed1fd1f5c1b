"""The persistent problem cache (harness/problem_cache.py): what it keeps, what it refuses, and
that a cached run judges exactly as a fresh one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from harness import problem_cache, runner
from harness.problem import Problem
from harness.problem_cache import ProblemCache

ROOT = Path(__file__).resolve().parent.parent


def _problem(**kw) -> Problem:
    return Problem(request={"x": np.arange(3.0)}, expected={"output0": np.ones(3)}, **kw)


def test_a_problem_comes_back_equal(tmp_path):
    cache = ProblemCache(tmp_path)
    assert cache.get("case-a", 0) is None
    cache.put("case-a", 0, _problem(time_reference_s=0.25))
    again = ProblemCache(tmp_path).get("case-a", 0)
    assert isinstance(again, Problem) and again.time_reference_s == 0.25
    np.testing.assert_array_equal(again.expected["output0"], np.ones(3))
    assert cache.get("case-a", 1) is None and cache.get("case-b", 0) is None  # seed, content


def test_entries_live_under_the_code_digest(tmp_path):
    cache = ProblemCache(tmp_path)
    cache.put("case-a", 0, _problem())
    assert [p.name for p in tmp_path.iterdir()] == [problem_cache.code_digest()]


def test_a_corrupt_entry_is_rebuilt_not_trusted(tmp_path):
    cache = ProblemCache(tmp_path)
    cache.put("case-a", 0, _problem())
    (entry,) = cache.dir.glob("*.pkl")
    entry.write_bytes(b"\x80\x05 truncated")
    assert cache.get("case-a", 0) is None and not entry.exists()


def test_what_is_not_cached(tmp_path, monkeypatch):
    cache = ProblemCache(tmp_path)
    cache.put("random-module", 0, _problem(complete=lambda actual: actual))  # a closure
    monkeypatch.setattr(problem_cache, "MAX_ENTRY_BYTES", 100)
    cache.put("too-big", 0, _problem())
    assert not list(tmp_path.rglob("*.pkl"))
    assert not ProblemCache.cacheable("Case(fn=<function f at 0x7f00>)")


def test_what_did_not_fit_is_not_pickled_again(tmp_path, monkeypatch):
    ProblemCache(tmp_path).put("random-module", 0, _problem(complete=lambda actual: actual))
    monkeypatch.setattr(problem_cache, "MAX_ENTRY_BYTES", 100)
    ProblemCache(tmp_path).put("too-big", 0, _problem())
    pickled = []
    real_dumps = problem_cache.pickle.dumps
    monkeypatch.setattr(problem_cache.pickle, "dumps",
                        lambda *a, **k: pickled.append(1) or real_dumps(*a, **k))
    later_run = ProblemCache(tmp_path)
    later_run.put("random-module", 0, _problem(complete=lambda actual: actual))
    later_run.put("too-big", 0, _problem())
    assert pickled == [] and later_run.get("too-big", 0) is None
    later_run.put("too-big", 1, _problem())  # another seed is another entry: it is tried
    assert pickled == [1]


def test_old_code_versions_and_the_least_recently_used_entries_are_pruned(tmp_path):
    for i in range(5):
        (tmp_path / f"old{i}").mkdir()
        os.utime(tmp_path / f"old{i}", (i, i))
    cache = ProblemCache(tmp_path)
    cache.put("case-0", 0, _problem())
    kept = {p.name for p in tmp_path.iterdir()}
    assert kept == {problem_cache.code_digest(), "old4", "old3"}  # KEEP_DIGESTS = 3
    for i in range(1, 4):
        cache.put(f"case-{i}", 0, _problem())
    entries = sorted(cache.dir.glob("*.pkl"))
    for n, path in enumerate(entries):
        os.utime(path, (n, n))
    size = entries[0].stat().st_size
    cache._prune(budget=2 * size)  # keep 3/4 of two entries: the newest one
    assert sorted(cache.dir.glob("*.pkl")) == entries[-1:]


def test_the_runner_builds_once_then_reads_the_disk(tmp_path, monkeypatch):
    from suites.test_linear import curated
    case = curated()[0].with_dtype("float64")
    calls = []
    family = runner.BY_FAMILY[case.family]
    real_build = family.build
    monkeypatch.setattr(family, "build", lambda c, s: calls.append(c) or real_build(c, s))
    monkeypatch.setattr(runner, "_CACHE", {})
    runner.use_disk_cache(ProblemCache(tmp_path))
    try:
        first = runner.problem_for(case, 0)
        runner._CACHE.clear()  # a new process
        second = runner.problem_for(case, 0)
    finally:
        runner.use_disk_cache(None)
    assert len(calls) == 1 and second is not first
    assert first.expected.keys() == second.expected.keys()
    for k in first.expected:
        np.testing.assert_array_equal(first.expected[k], second.expected[k])


def _rows(path: Path) -> dict[str, dict]:
    return {r["case_id"]: r for r in map(json.loads, path.read_text().splitlines())
            if r["record"] == "case"}


def test_a_cached_run_judges_exactly_as_a_fresh_one(tmp_path):
    def run(name: str, *extra: str) -> dict[str, dict]:
        out = tmp_path / f"{name}.jsonl"
        subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                        "suites/test_loss.py", "suites/test_optim.py", "-k", "MSELoss or SGD",
                        f"--reference-cache={tmp_path / 'cache'}", f"--results={out}", *extra],
                       cwd=ROOT, capture_output=True, timeout=600, check=False)
        return _rows(out)
    fresh, filled, cached = run("fresh", "--no-reference-cache"), run("filled"), run("cached")
    assert list((tmp_path / "cache").rglob("*.pkl"))
    assert len(fresh) > 50 and fresh.keys() == filled.keys() == cached.keys()
    judged = ("outcome", "err_eps", "max_abs_err", "worst", "message", "atol")
    for rows in (filled, cached):
        assert all(rows[k][f] == fresh[k][f] for k in fresh for f in judged)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__]))
