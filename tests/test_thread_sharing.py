"""Each xdist worker's NumPy reference gets its share of the cores (harness/plugin.py)."""
import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from harness import plugin

BLAS_VARS = plugin._BLAS_THREAD_VARS


@pytest.fixture
def no_thread_vars(monkeypatch):
    for v in BLAS_VARS:
        monkeypatch.delenv(v, raising=False)


def test_workers_share_the_cores(no_thread_vars, monkeypatch):
    monkeypatch.setattr(plugin.os, "cpu_count", lambda: 8)
    assert plugin.reference_blas_threads(2) == 4
    assert plugin.reference_blas_threads(8) == 1
    assert plugin.reference_blas_threads(16) == 1  # never zero


@pytest.mark.parametrize("workers", [None, 0, "auto", "logical"])
def test_serial_and_unresolved_counts_leave_blas_alone(no_thread_vars, workers):
    assert plugin.reference_blas_threads(workers) is None


@pytest.mark.parametrize("var", BLAS_VARS)
def test_a_thread_count_the_user_set_is_respected(no_thread_vars, monkeypatch, var):
    monkeypatch.setenv(var, "3")
    assert plugin.reference_blas_threads(2) is None


class _WorkerConfig:
    def __init__(self, workercount):
        self.workerinput = {"workercount": workercount}
        self.stash = pytest.Stash()


def _blas_threads():
    return {p["filepath"]: p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"}


def test_a_worker_limits_numpys_blas(no_thread_vars, monkeypatch):
    np.dot(np.ones((2, 2)), np.ones((2, 2)))  # NumPy's BLAS is loaded
    assert _blas_threads(), "NumPy's BLAS is not visible to threadpoolctl"
    monkeypatch.setattr(plugin.os, "cpu_count", lambda: 4)
    with threadpool_limits(limits=2, user_api="blas"):  # so that the limit shows, on any machine
        before = _blas_threads()
        assert set(before.values()) == {2}
        config = _WorkerConfig(workercount=4)
        plugin._share_cores(config)
        try:
            assert set(_blas_threads().values()) == {1}
        finally:
            config.stash[plugin._BLAS_LIMIT].restore_original_limits()
        assert _blas_threads() == before
