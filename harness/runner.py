"""Runs one case on one backend and returns its result row.

The flow is the same for every family (harness/families/): build the problem from the case and
the seed (inputs, the reference's expected values and error scales; cached, since they do not
depend on the backend), ask the backend, judge the answer, apply documented deviations.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
import traceback
from collections.abc import Iterator
from typing import Any

from backends.contract import Adapter, IsolatedError, Unsupported

from . import expectations
from .cases import Case
from .compare import compare
from .families import BY_FAMILY
from .problem import CaseError, Problem
from .problem_cache import ProblemCache
from .results import new_row

_CACHE: dict[tuple[int, str], Problem] = {}
_DISK: ProblemCache | None = None


class CaseTimeout(Exception):
    """The backend gave no answer within the per-case time limit."""


@contextlib.contextmanager
def deadline(seconds: float | None) -> Iterator[None]:
    """Raise CaseTimeout in the running adapter after ``seconds`` (SIGALRM; main thread only).

    This interrupts adapters that hang in Python code. A hang inside native code cannot be
    interrupted from within the process: under pytest-xdist (-n 2) run the suite with
    pytest-timeout's thread method, which kills the worker; the controller then records the
    case as an error and the run goes on (see harness.plugin).
    """
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_alarm(signum, frame):
        raise CaseTimeout(f"no answer within {seconds:g} s (--case-timeout)")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def use_disk_cache(cache: ProblemCache | None) -> None:
    """Keep problems across runs in ``cache`` (harness/problem_cache.py); None turns it off."""
    global _DISK
    _DISK = cache


def problem_for(case: Case, seed: int) -> Problem:
    """The problem of a case, built once per process (it does not depend on the backend), and
    once per code version where the disk cache is on.

    Keyed by the case's full content, not its id: two cases that share an id by mistake never
    share a problem."""
    key = (seed, repr(case))
    if key not in _CACHE:
        disk = _DISK if _DISK is not None and ProblemCache.cacheable(key[1]) else None
        problem = disk.get(key[1], seed) if disk else None
        if problem is None:
            problem = BY_FAMILY[case.family].build(case, seed)
            if disk:
                disk.put(key[1], seed, problem)
        _CACHE[key] = problem
    return _CACHE[key]


def _judge_by_comparison(case: Case, problem: Problem, result: Any, row: dict) -> None:
    actual = BY_FAMILY[case.family].flatten(case, result)
    expected, scales, sample_tests = problem.expected, problem.scales, []
    if problem.complete is not None:
        expected, scales, sample_tests = problem.complete(actual)
    cmp = compare(actual, expected, scales, case.dtype, case.rule)
    row.update(outcome="pass" if cmp.ok else "fail", max_abs_err=cmp.max_abs_err,
               max_rel_err=cmp.max_rel_err, err_eps=cmp.err_eps, atol=cmp.atol,
               rtol=cmp.rtol, headroom=cmp.headroom, worst=cmp.worst,
               message="; ".join(cmp.problems[:5]))
    if sample_tests:
        _record_sample_tests(row, sample_tests)


def run_case(case: Case, adapter: Adapter, seed: int, *, backend_spec: str = "",
             nodeid: str = "", timeout_s: float | None = None) -> dict[str, Any]:
    """Run one case on one backend; never raises for backend misbehaviour (it is in the row)."""
    row = new_row(case_id=case.id, op=case.op, family=case.family, backend=adapter.name,
                  framework_version=adapter.framework_version, device=adapter.device,
                  dtype=case.dtype, mode=case.mode or None, label=case.label, seed=seed,
                  nodeid=nodeid, tolerance_rule=case.rule.name, limit_eps=case.rule.limit)
    if nodeid:
        row["repro"] = (f"pytest '{nodeid}' --backend={backend_spec or adapter.name} "
                        f"--dtype={case.dtype} --seed={seed}")
    support = adapter.supports(case.op, case.dtype)
    if not support.ok:
        row.update(outcome="unsupported", message=support.reason)
        return row
    try:
        problem = problem_for(case, seed)
    except CaseError as e:
        row.update(outcome="error", message=f"case error: {e}")
        return row
    row["time_reference_s"] = problem.time_reference_s
    t0 = time.perf_counter()
    family = BY_FAMILY[case.family]
    try:
        with deadline(timeout_s):
            if problem.reference_error and adapter.isolates_expected_errors:
                result = adapter.run_isolated(family.call, problem.request)
            else:
                result = family.call(adapter, problem.request)
    except Unsupported as e:
        row.update(outcome="unsupported", message=str(e) or "unsupported")
        return row
    except Exception as e:  # the adapter or framework raised
        row["time_backend_s"] = time.perf_counter() - t0
        raised = _exception_text(e)
        if problem.reference_error:
            same = case.expect_error.lower() in str(e).lower()
            row.update(outcome="pass", message=f"raised as expected: {raised}"
                       + ("" if same else f" (the reference says: {problem.reference_error})"))
        else:
            where = traceback.extract_tb(e.__traceback__)[-1]
            row.update(outcome="error",
                       message=f"backend raised {raised} "
                               f"(at {where.filename.rsplit('/', 1)[-1]}:{where.lineno})")
        return _apply_expectations(row, adapter)
    row["time_backend_s"] = time.perf_counter() - t0
    if problem.reference_error:
        row.update(outcome="fail", message=f"backend did not raise; the reference raised "
                                           f"{problem.reference_error}")
        return _apply_expectations(row, adapter)
    try:
        if hasattr(family, "judge"):
            family.judge(case, problem, adapter, result, row)
        else:
            _judge_by_comparison(case, problem, result, row)
    except Exception as e:  # malformed result (wrong type, unreadable arrays)
        row.update(outcome="fail", message=f"malformed backend result: {type(e).__name__}: {e}")
    return _apply_expectations(row, adapter)


#: where a framework's error text turns into its native backtrace (torch's C++ frames, with
#: this process's addresses): kept out of rows, whose messages should say the same every run
_NATIVE_BACKTRACE = "\nException raised from "


def _exception_text(e: BaseException) -> str:
    """``Type: message`` of what the backend raised, without a native backtrace."""
    text = str(e) if isinstance(e, IsolatedError) else f"{type(e).__name__}: {e}"
    return text.split(_NATIVE_BACKTRACE, 1)[0].rstrip()


def _record_sample_tests(row: dict, tests: list) -> None:
    """Statistical checks of a random module's draw join the exact comparison's verdict."""
    from .random_ops import ALPHA
    worst = min(tests, key=lambda t: t.p_value)
    row.update(p_value=worst.p_value, alpha=ALPHA)
    summary = ", ".join(f"{t.test} p={t.p_value:.3g} ({t.detail})" for t in tests)
    rejected = [t for t in tests if t.rejected]
    if rejected:
        row["outcome"] = "fail"
        row["message"] = "; ".join(filter(None, [row["message"], "sample rejected: " + summary]))
    else:
        row["message"] = "; ".join(filter(None, [row["message"], summary]))


def _apply_expectations(row: dict, adapter: Adapter) -> dict:
    dev = expectations.find(adapter.expectations_path, row["case_id"], adapter.name)
    if dev is None:
        return row
    row.update(deviation_reason=dev.reason, deviation_source=dev.source)
    if row["outcome"] in ("fail", "error"):
        row["outcome"] = "deviation"
    elif row["outcome"] == "pass":
        row["stale_expectation"] = True
        row["message"] = (row["message"] + "; " if row["message"] else "") + \
            f"documented deviation no longer occurs (pattern {dev.case!r})"
    return row
