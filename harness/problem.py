"""The problem of a case: what the backend is asked and what the reference says.

Each family (harness/families/) turns a case into a Problem (``build``), asks the backend
(``call``) and judges the answer (``judge``); harness/runner.py holds the flow they share.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .cases import Case


@dataclass
class Problem:
    """What the backend is asked, and what the reference says."""

    request: Any
    expected: dict[str, np.ndarray] = field(default_factory=dict)
    scales: dict[str, Any] = field(default_factory=dict)
    reference_error: str = ""  # the reference raised this (the case checks that backends do)
    distribution: Any = None  # init cases: the exact target distribution
    time_reference_s: float = 0.0
    #: random modules: the expected values depend on the backend's draw, read from its answer
    complete: Any = None


class CaseError(Exception):
    """The case itself is inconsistent with the reference (a catalog bug, reported as error)."""


#: What a reference raises for invalid input (the case then checks the backend raises too).
#: AssertionError too: torch rejects some arguments with asserts (Embedding's padding_idx,
#: MultiheadAttention's head count), and the reference mirrors the framework's contract.
REFERENCE_ERRORS = (ValueError, RuntimeError, IndexError, TypeError, NotImplementedError,
                    AssertionError)


def expect(case: Case, error: Exception, problem: Problem) -> None:
    """Record the reference's error; it must be the one the catalog says the case provokes."""
    if not case.expect_error:
        raise CaseError(f"the reference raised {type(error).__name__}: {error}") from error
    if case.expect_error.lower() not in str(error).lower():
        raise CaseError(f"the reference raised {type(error).__name__}: {error}, not the "
                        f"expected {case.expect_error!r}") from error
    problem.reference_error = f"{type(error).__name__}: {error}"


def step_prefix(t: int, steps: int) -> str:
    return f"step{t}." if steps > 1 else ""
