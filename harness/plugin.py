"""The nnconform pytest plugin: options, parametrization, result rows, results file, report.

Rows are made where the case runs (a worker under pytest-xdist), attached to the test report's
``user_properties`` and written by the controller, so ``-n 2`` and a serial run give the same
file. See docs/results-schema.md.
"""

from __future__ import annotations

import gc
import os
import shlex
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from threadpoolctl import threadpool_limits

from backends.contract import Adapter, AdapterOptions
from backends.registry import BUILTIN, UnknownBackend, available_names, resolve

from . import runner
from .cases import Case
from .dtypes import DEFAULT_DTYPES, DTYPES
from .problem_cache import ProblemCache, default_dir
from .results import OUTCOMES, ResultsWriter, new_row, now, run_record

ROW_KEY = "nnconform_row"

# Hypothesis profiles, selected with hypothesis' own --hypothesis-profile. The default is 'ci':
# derandomized and without the example database, so a serial run and a -n 2 run generate the
# same cases (and the same rows), and no run replays examples an earlier failing run saved
# (the mutation audit's, say). The random profiles keep the database: it replays a failure.
_COMMON = dict(deadline=None, print_blob=True,
               suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                      HealthCheck.differing_executors])
settings.register_profile("ci", derandomize=True, database=None, max_examples=15, **_COMMON)
settings.register_profile("dev", max_examples=10, **_COMMON)
settings.register_profile("thorough", max_examples=300, **_COMMON)
settings.load_profile("ci")


def _freeze_hypothesis_constant_pool() -> None:
    """Keep generated cases independent of which project modules happen to be imported.

    Hypothesis (6.131 and later) mixes constants scraped from every *local* module in
    ``sys.modules`` into its draws, re-scanning whenever a module is imported. Which of
    nnconform's modules are loaded when a hypothesis test runs depends on the tests that ran
    before it in that process, so a serial run and a ``-n 2`` run (or two runs whose workers
    were scheduled differently) drew different examples -- different case ids, breaking the
    upgrade gate's matching by id. We pin the local pool to its initial, empty value. This
    touches a private hypothesis name: where it is absent (older versions, which do not scrape)
    there is nothing to pin, and tests/test_end_to_end.py guards the behaviour.
    """
    try:
        from hypothesis.internal.conjecture import providers
    except ImportError:  # pragma: no cover - a hypothesis without the provider module
        return
    if hasattr(providers, "_get_local_constants") and hasattr(providers, "_local_constants"):
        empty_pool = providers._local_constants
        providers._get_local_constants = lambda: empty_pool


_freeze_hypothesis_constant_pool()


@dataclass
class BackendEntry:
    spec: str
    adapter: Adapter
    available: bool
    reason: str


def build_entries(specs: list[str], options: AdapterOptions) -> list[BackendEntry]:
    """Resolve and instantiate the named adapters (UnknownBackend for a name that is none)."""
    entries = []
    for spec in specs:
        adapter = resolve(spec)(options)
        ok, reason = adapter.available()
        entries.append(BackendEntry(spec, adapter, ok, reason))
    return entries


@dataclass
class RunState:
    specs: list[str]
    options: AdapterOptions
    dtypes: list[str]
    seed: int
    is_controller: bool
    reference_cache: ProblemCache | None = None
    writer: ResultsWriter | None = None
    rows: list[dict] = field(default_factory=list)
    t0: float = field(default_factory=time.perf_counter)
    started: str = field(default_factory=now)  # the run record's start_time, in every copy
    deferred: bool = False           # adapters built after the session starts
    header_pending: bool = False     # their lines of the report header are still to be written
    _backends: list[BackendEntry] | None = None

    @property
    def backends(self) -> list[BackendEntry]:
        """The adapters, built on first use (see ``_defer_adapters``)."""
        if self._backends is None:
            self._backends = build_entries(self.specs, self.options)
        return self._backends


STATE = pytest.StashKey[RunState]()
ITEM_ROWS = pytest.StashKey[dict]()
VERDICT = pytest.StashKey[tuple]()


def _split(values: list[str] | None, default: tuple[str, ...]) -> list[str]:
    out = [v.strip() for value in (values or []) for v in value.split(",") if v.strip()]
    return list(dict.fromkeys(out)) or list(default)


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("nnconform", "nnconform conformance suite")
    g.addoption("--backend", action="append", metavar="NAME",
                help="backend(s) to test, repeatable or comma-separated (default torch-cpu): a "
                     "registered name (reference, torch-cpu, torch-cuda), an entry point of the "
                     "group 'nnconform.backends', or an import path package.module:Class")
    g.addoption("--dtype", action="append", metavar="DTYPE",
                help=f"dtype(s) to test, repeatable or comma-separated, from {', '.join(DTYPES)} "
                     f"(default {','.join(DEFAULT_DTYPES)})")
    g.addoption("--seed", type=int, default=0, help="seed of all generated data (default 0)")
    g.addoption("--results", metavar="PATH", help="write result rows as JSON lines to PATH")
    g.addoption("--report", metavar="PATH", help="write the HTML report to PATH")
    g.addoption("--case-timeout", type=float, default=300.0, metavar="SECONDS",
                help="per-case limit on the backend's answer (default 300; 0 disables); a "
                     "case that exceeds it is an error and the run goes on")
    g.addoption("--reference-cache", metavar="DIR", default=None,
                help="keep the reference's problems (inputs, expected values, error scales) "
                     "across runs in DIR, keyed by the code that builds them (default "
                     "$NNCONFORM_CACHE_DIR, else ~/.cache/nnconform)")
    g.addoption("--no-reference-cache", action="store_true",
                help="build every reference problem afresh, keep nothing on disk")
    g.addoption("--framework-defaults", action="store_true",
                help="leave numerics settings (threads, TF32, determinism) at the framework's "
                     "defaults instead of pinning them")


#: environment variables by which a user sets the BLAS thread count himself; we then keep out
_BLAS_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
#: the worker's BLAS limit, held for the process's life
_BLAS_LIMIT = pytest.StashKey[threadpool_limits]()


def reference_blas_threads(workers: Any) -> int | None:
    """The BLAS threads each process's NumPy reference gets, or None to leave the library alone.

    OpenBLAS starts one thread per core in every process. Under ``-n N`` that is N x cores
    spinning threads on cores threads: on this project's 2-core machine the 100-layer MLP
    scenarios ran 3-4x slower with -n 2 than serially and the whole run 45% slower. So each
    xdist worker gets its share of the cores (the torch backend already runs one intra-op thread
    per process); a serial run keeps every core, and a thread count the user set is respected.
    ``workers`` is xdist's count: an int in a worker, and in the controller whatever ``-n`` was
    given ('auto' gives None here, though the workers still get their share).
    """
    if not isinstance(workers, int) or workers < 1:
        return None
    if any(v in os.environ for v in _BLAS_THREAD_VARS):
        return None
    return max(1, (os.cpu_count() or 1) // workers)


def _share_cores(config: pytest.Config) -> None:
    workerinput = getattr(config, "workerinput", None)
    threads = reference_blas_threads(workerinput and workerinput.get("workercount"))
    if threads is not None:  # the BLAS libraries loaded now (NumPy's); torch pins its own
        config.stash[_BLAS_LIMIT] = threadpool_limits(limits=threads, user_api="blas")


def pytest_configure(config: pytest.Config) -> None:
    _share_cores(config)
    specs = _split(config.getoption("--backend"), ("torch-cpu",))
    dtypes = _split(config.getoption("--dtype"), DEFAULT_DTYPES)
    bad = [d for d in dtypes if d not in DTYPES]
    if bad:
        raise pytest.UsageError(f"unknown dtype {', '.join(map(repr, bad))}; valid dtypes: "
                                f"{', '.join(DTYPES)}")
    options = AdapterOptions(framework_defaults=config.getoption("--framework-defaults"))
    cache = (None if config.getoption("--no-reference-cache") else
             ProblemCache(config.getoption("--reference-cache") or default_dir()))
    runner.use_disk_cache(cache)
    state = RunState(specs, options, dtypes, config.getoption("--seed"),
                     is_controller=not hasattr(config, "workerinput"), reference_cache=cache)
    config.stash[STATE] = state
    try:
        state.deferred = _defer_adapters(config, state)
        if state.deferred:
            for spec in specs:
                if spec not in BUILTIN:
                    resolve(spec)
        else:
            state.backends  # noqa: B018 - built now, so that a bad name is a usage error here
    except UnknownBackend as e:
        raise pytest.UsageError(str(e)) from None
    results = config.getoption("--results")
    report = config.getoption("--report")
    if state.is_controller and report:
        try:  # fail now rather than after the run
            os.makedirs(os.path.dirname(os.path.abspath(report)), exist_ok=True)
        except OSError as e:
            raise pytest.UsageError(f"cannot write the report to {report}: {e}") from None
    if state.is_controller and results:
        try:
            state.writer = ResultsWriter(results)
        except OSError as e:
            raise pytest.UsageError(str(e)) from None


def _defer_adapters(config: pytest.Config, state: RunState) -> bool:
    """Whether this process builds its adapters only after the session has started.

    The xdist controller runs no case; it needs its adapters only for the report header and the
    run record. Built in ``pytest_configure`` they made the workers wait for the controller's
    own torch import (2-3 s on this project's machine) before xdist started them; built
    lazily, that import overlaps the workers' start-up. Built-in names need no import to be
    known; any other name is still imported, and refused, here."""
    return state.is_controller and bool(getattr(config.option, "numprocesses", None))


#: the run's state for hooks that get no config (pytest_runtest_logreport)
_CONFIG_STATE: dict[str, RunState] = {}


@pytest.hookimpl(hookwrapper=True)
def pytest_sessionstart(session: pytest.Session):
    """The run record, once every plugin's session start (xdist's start of the workers among
    them) is done: it is the results file's first line, before any row."""
    state: RunState = session.config.stash[STATE]
    _CONFIG_STATE["state"] = state
    yield
    terminal = session.config.pluginmanager.get_plugin("terminalreporter")
    if state.header_pending and terminal is not None:
        for line in _backend_lines(state):
            terminal.write_line(line)
    if state.writer:
        state.writer.write(_run_metadata(session.config, state))


def _hypothesis_profile(config: pytest.Config) -> str:
    """The profile hypothesis will use: its own option, else our default ('ci')."""
    return config.getoption("hypothesis_profile", default=None) or "ci"


def _run_metadata(config: pytest.Config, state: RunState) -> dict[str, Any]:
    return run_record(
        start_time=state.started,
        command=shlex.join([os.path.basename(sys.argv[0])] + sys.argv[1:]),
        cwd=os.getcwd(), seed=state.seed, dtypes=state.dtypes,
        hypothesis_profile=_hypothesis_profile(config),
        xdist_workers=getattr(config.option, "numprocesses", None),
        reference_blas_threads=reference_blas_threads(getattr(config.option, "numprocesses", None)),
        reference_cache=None if state.reference_cache is None else str(state.reference_cache.dir),
        backends=[{"spec": b.spec, "name": b.adapter.name,
                   "framework_version": b.adapter.framework_version,
                   "device": b.adapter.device, "available": b.available, "reason": b.reason,
                   "settings": b.adapter.settings()} for b in state.backends])


# ----------------------------------------------------------------------------- collection
def _case_id(case: Case, spec: str, many: bool) -> str:
    return f"{case.id}@{spec}" if many else case.id


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    state: RunState = metafunc.config.stash[STATE]
    specs = [b.spec for b in state.backends]
    many = len(specs) > 1
    cases_marker = metafunc.definition.get_closest_marker("nnconform_cases")
    generated_marker = metafunc.definition.get_closest_marker("nnconform_generated")
    if cases_marker is not None:
        cases = [c.with_dtype(d) for c in cases_marker.args[0]() for d in state.dtypes
                 if c.allows(d)]
        params = [(c, s) for c in cases for s in specs]
        metafunc.parametrize(["case", "backend"], params,
                             ids=[_case_id(c, s, many) for c, s in params])
    elif metafunc.definition.get_closest_marker("nnconform_backends") is not None:
        metafunc.parametrize("backend", specs, ids=specs)
    elif generated_marker is not None:
        allowed = generated_marker.kwargs.get("dtypes")
        dtypes = [d for d in state.dtypes if allowed is None or d in allowed]
        params = [(d, s) for d in dtypes for s in specs]
        metafunc.parametrize(["dtype", "backend"], params,
                             ids=[f"{d}@{s}" if many else d for d, s in params])


def _check_unique_ids(items: list[pytest.Item]) -> None:
    """A case id names one case forever (results, baselines, repro): two different tests may
    not produce the same id for the same backend."""
    seen: dict[tuple[str, str], str] = {}
    clashes = []
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        case = params.get("case")
        if isinstance(case, Case):
            key = (case.id, params.get("backend", ""))
            if key in seen:
                clashes.append(f"{case.id} ({seen[key]} and {item.nodeid})")
            seen[key] = item.nodeid
    if clashes:
        raise pytest.UsageError("duplicate case ids: " + "; ".join(clashes[:10]))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Case ids are unique; benchmarks run only with --benchmark-only (the default
    conformance run stays fast); slow suites run first."""
    _check_unique_ids(items)
    if not config.getoption("--benchmark-only", default=False):
        bench = [i for i in items if "benchmark" in getattr(i, "fixturenames", ())]
        if bench:
            config.hook.pytest_deselected(items=bench)
            items[:] = [i for i in items if "benchmark" not in getattr(i, "fixturenames", ())]
    run_slow_first(items)


def run_slow_first(items: list[pytest.Item]) -> None:
    """Move the items of suites marked ``nnconform_slow`` to the front, keeping every other
    order. Under ``-n 2`` xdist hands out the collection front to back and each worker keeps a
    few items queued, so a 3 s training scenario near the end ran while the other worker sat
    idle (4 s of a 58 s run, 2026-12-03); at the front its cost spreads over the whole run."""
    items.sort(key=lambda item: item.get_closest_marker("nnconform_slow") is None)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Move what collection built (thousands of items and cases, which live for the whole run)
    out of the garbage collector's sight: every full collection during the run would traverse
    them again. Measured on conv, loss and optim serially (1973 items, ~12 s): time in the
    collector during the run 1.0 s -> 0.5 s."""
    gc.collect()
    gc.freeze()


# ----------------------------------------------------------------------------- running
class Conform:
    """The ``conform`` fixture: run a case on a backend, record its row, set the test outcome."""

    def __init__(self, item: pytest.Item, state: RunState):
        self.item, self.state = item, state
        self.rows: dict[str, dict] = item.stash.setdefault(ITEM_ROWS, {})

    def __call__(self, case: Case, backend: str, generated: bool = False) -> dict:
        entry = next(b for b in self.state.backends if b.spec == backend)
        if not entry.available:
            row = new_row(case_id=case.id, op=case.op, family=case.family,
                          backend=entry.adapter.name,
                          framework_version=entry.adapter.framework_version,
                          device=entry.adapter.device, dtype=case.dtype, mode=case.mode or None,
                          label=case.label, seed=self.state.seed, nodeid=self.item.nodeid,
                          outcome="skipped", message=entry.reason)
            self.rows[f"{case.id}@{backend}"] = row
            pytest.skip(entry.reason)
        row = runner.run_case(case, entry.adapter, self.state.seed, backend_spec=backend,
                              nodeid=self.item.nodeid,
                              timeout_s=self.item.config.getoption("--case-timeout"))
        if generated:  # the repro of a generated case reruns its hypothesis test
            row["repro"] = (row["repro"] or "") + "  # hypothesis replays this example"
        self.rows[f"{case.id}@{backend}"] = row
        outcome, message = row["outcome"], row["message"]
        if outcome in ("fail", "error"):
            text = f"{outcome}: {case.id} on {entry.adapter.name}: {message}"
            if generated:
                raise AssertionError(text)
            pytest.fail(text + f"\nrepro: {row['repro']}", pytrace=False)
        if generated:
            return row
        # Deviations and unsupported cases end the test normally; pytest_runtest_makereport
        # turns the report into xfailed / skipped. Raising pytest.xfail would make pytest parse
        # the suite's source for a traceback, about 15 ms a case.
        if outcome == "deviation":
            self.item.stash[VERDICT] = ("xfail", f"documented deviation: "
                                                 f"{row['deviation_reason']} "
                                                 f"({row['deviation_source']})")
        elif outcome == "unsupported":
            self.item.stash[VERDICT] = ("skip", f"unsupported: {message}")
        return row


@pytest.fixture
def conform(request: pytest.FixtureRequest) -> Conform:
    return Conform(request.node, request.config.stash[STATE])


@pytest.fixture
def nnconform_state(request: pytest.FixtureRequest) -> RunState:
    return request.config.stash[STATE]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    report = outcome.get_result()
    verdict = item.stash.get(VERDICT, None)
    if verdict is not None and report.when == "call" and report.passed:
        kind, reason = verdict
        report.outcome = "skipped"
        if kind == "xfail":
            report.wasxfail = reason
        else:
            report.longrepr = (str(item.path), (item.location[1] or 0) + 1, f"Skipped: {reason}")
    params = getattr(getattr(item, "callspec", None), "params", {})
    if "backend" not in params:
        return
    if not (report.when == "call" or (report.when == "setup" and not report.passed)):
        return
    rows = item.stash.get(ITEM_ROWS, {})
    if not rows and isinstance(params.get("case"), Case):
        rows = {"_": _row_without_run(item, params["case"], params["backend"], report)}
    for row in rows.values():
        report.user_properties.append((ROW_KEY, row))


def _row_without_run(item: pytest.Item, case: Case, spec: str, report) -> dict:
    """A row for a case whose test ended before the harness made one (setup error, skip)."""
    state: RunState = item.config.stash[STATE]
    entry = next(b for b in state.backends if b.spec == spec)
    outcome = "skipped" if report.skipped else "error"
    message = (report.longrepr[2] if report.skipped and isinstance(report.longrepr, tuple)
               else str(report.longrepr).splitlines()[-1] if report.longrepr else "")
    return new_row(case_id=case.id, op=case.op, family=case.family, backend=entry.adapter.name,
                   framework_version=entry.adapter.framework_version, device=entry.adapter.device,
                   dtype=case.dtype, mode=case.mode or None, label=case.label, seed=state.seed,
                   nodeid=item.nodeid, outcome=outcome, message=message)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    state = _CONFIG_STATE.get("state")
    if state is None or not state.is_controller:
        return
    rows = [v for k, v in report.user_properties if k == ROW_KEY]
    if not rows and report.failed and "[" in report.nodeid and _is_crash(report):
        rows = [_crash_row(report, state)]
    for row in rows:
        state.rows.append(row)
        if state.writer:
            state.writer.write(row)


def _is_crash(report) -> bool:
    return "worker" in str(report.longrepr).lower() and "crashed" in str(report.longrepr).lower()


def _crash_row(report, state: RunState) -> dict:
    """A worker process died while running this case (seen by the xdist controller only)."""
    param = report.nodeid.rsplit("[", 1)[1].rstrip("]")
    case_id, _, spec = param.partition("@")
    spec = spec or state.backends[0].spec
    entry = next((b for b in state.backends if b.spec == spec), state.backends[0])
    return new_row(case_id=case_id, op=case_id.split("-")[0], backend=entry.adapter.name,
                   framework_version=entry.adapter.framework_version, device=entry.adapter.device,
                   seed=state.seed, nodeid=report.nodeid, outcome="error",
                   message=f"the worker process crashed while running this case: "
                           f"{str(report.longrepr).splitlines()[0]}")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    state: RunState = session.config.stash[STATE]
    if not state.is_controller:
        return
    counts = Counter(r["outcome"] for r in state.rows)
    elapsed = time.perf_counter() - state.t0
    end = {"schema": new_row()["schema"], "record": "end", "end_time": now(),
           "duration_s": elapsed, "rows": len(state.rows),
           "cases_per_s": len(state.rows) / elapsed if elapsed > 0 else None,
           "counts": {o: counts.get(o, 0) for o in OUTCOMES}, "exitstatus": int(exitstatus)}
    if state.writer:
        state.writer.write(end)
        state.writer.close()
    report = session.config.getoption("--report")
    if report:
        from reports.html import write_report
        meta = _run_metadata(session.config, state)
        write_report(report, meta, state.rows, end)
        session.config.pluginmanager.get_plugin("terminalreporter").write_line(
            f"nnconform: HTML report written to {report}")


def pytest_report_header(config: pytest.Config) -> list[str]:
    state: RunState = config.stash[STATE]
    lines = [f"nnconform: dtypes {','.join(state.dtypes)}, seed {state.seed}, "
             f"hypothesis profile {_hypothesis_profile(config)}"]
    if state.deferred:  # pytest_sessionstart writes them once xdist has started the workers
        state.header_pending = True
        return lines
    return lines + _backend_lines(state)


def _backend_lines(state: RunState) -> list[str]:
    lines = []
    for b in state.backends:
        status = "" if b.available else f" -- UNAVAILABLE: {b.reason}"
        lines.append(f"nnconform backend {b.spec}: {b.adapter.framework_version} on "
                     f"{b.adapter.device} {b.adapter.settings()}{status}")
    return lines


__all__ = ["Conform", "available_names"]
