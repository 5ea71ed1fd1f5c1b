"""Learning-rate schedulers: the lr (and cycled momentum/beta1) sequence per param group.

Also ``optim.swa_utils.SWALR``. Case ``extra``: ``groups`` (param-group hyperparameters),
``num_steps``, ``metrics`` (ReduceLROnPlateau), ``resume_at`` (state_dict round trip after that
many steps). Named functions and child schedulers in kwargs are data (see
``backends.contract.SchedulerRequest``).
"""

from __future__ import annotations

import time

import numpy as np

from backends.contract import NAMED_FUNCTIONS, Adapter, SchedulerRequest
from reference import driver

from ..cases import Case
from ..problem import REFERENCE_ERRORS, Problem, expect

FAMILIES = ("lr_scheduler",)


def build(case: Case, seed: int) -> Problem:
    extra = case.extra
    req = SchedulerRequest(op=case.op, kwargs=case.kwargs, groups=extra["groups"],
                           num_steps=extra["num_steps"], metrics=extra.get("metrics"),
                           dtype=case.dtype, resume_at=extra.get("resume_at"))
    problem = Problem(request=req)
    t0 = time.perf_counter()
    try:
        problem.expected = driver.run_scheduler(case.op, case.ref_kwargs, req.groups, req.num_steps,
                                                req.metrics, functions=NAMED_FUNCTIONS)
    except REFERENCE_ERRORS as e:
        expect(case, e, problem)
    problem.time_reference_s = time.perf_counter() - t0
    return problem


def call(adapter: Adapter, request: SchedulerRequest) -> dict[str, np.ndarray]:
    return adapter.run_scheduler(request)


def flatten(case: Case, result: dict) -> dict[str, np.ndarray]:
    if not isinstance(result, dict):
        raise TypeError(f"run_scheduler must return a dict of arrays, got {type(result).__name__}")
    return result
