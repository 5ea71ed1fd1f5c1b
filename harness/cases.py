"""The case: one reproducible check, with a short stable id.

A case names the op (its framework-surface name), the family, the dtype, the mode, the
hyperparameters, the inputs and a label. Its id, ``op-mode-dtype-label`` (mode omitted where it
does not apply), names it in test ids, results, reports, the baseline diff and the repro command.
Ids are stable: they depend only on what the catalog says, never on collection order.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from dataclasses import dataclass, field, replace
from typing import Any

from .tolerance import Rule, elementwise

#: In ``Case.reference_kwargs``, stands for the case's dtype name (e.g. RMSNorm's eps=None
#: means the eps of the input's dtype, which the reference must be told).
DTYPE = "<case dtype>"

FAMILIES = ("module", "activation", "loss", "init", "optim", "lr_scheduler", "scenario")


@dataclass(frozen=True)
class Input:
    """One positional input: shape plus how to fill it.

    ``kind`` names a generator in ``harness.inputs`` ('normal', 'uniform', 'with_zeros',
    'int', 'uint8', 'bool', ...); ``value`` (nested lists) gives explicit data instead (with the
    kind's dtype for integer and boolean kinds); ``kind='none'`` passes ``None``;
    ``kind='python'`` passes ``value`` unchanged (a bool flag, a size tuple). Integer kinds
    never require gradients.
    """

    shape: tuple[int, ...] = ()
    kind: str = "normal"
    value: Any = None
    low: float = 0
    high: float = 1
    requires_grad: bool = True

    @property
    def is_integer(self) -> bool:
        """Integer and boolean inputs: never rounded, never differentiated."""
        return self.kind in ("int", "uint8", "bool", "none", "python")


@dataclass(frozen=True)
class Case:
    op: str
    family: str
    label: str
    rule: Rule = field(default_factory=elementwise)
    dtype: str = "float32"
    mode: str = ""
    kwargs: dict = field(default_factory=dict)
    inputs: tuple[Input, ...] = ()
    steps: int = 1
    backward: bool = True
    params: dict = field(default_factory=dict)
    expect_error: str = ""
    dtypes: tuple[str, ...] | None = None
    extra: dict = field(default_factory=dict)
    #: constructor arguments for the reference only (merged over ``kwargs``); a value ``DTYPE``
    #: is replaced by the case's dtype name
    reference_kwargs: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ValueError(f"unknown family {self.family!r}; known: {', '.join(FAMILIES)}")
        if "-" in self.label or not self.label:
            raise ValueError(f"case label {self.label!r} must be non-empty and contain no '-'")

    @property
    def id(self) -> str:
        return "-".join(p for p in (self.op, self.mode, self.dtype, self.label) if p)

    @property
    def data_key(self) -> str:
        """The id without the dtype: float32 and float64 twins draw the same float64 data."""
        return "-".join(p for p in (self.op, self.mode, self.label) if p)

    def rng_seed(self, seed: int) -> list[int]:
        """Seed material for ``np.random.default_rng``: the run seed and a hash of the data key
        (zlib.crc32 is stable across processes, unlike ``hash``)."""
        return [int(seed), zlib.crc32(self.data_key.encode())]

    @property
    def ref_kwargs(self) -> dict:
        """What the reference's constructor gets: ``kwargs`` plus ``reference_kwargs``."""
        extra = {k: (self.dtype if v == DTYPE else v) for k, v in self.reference_kwargs.items()}
        return {**self.kwargs, **extra}

    def with_dtype(self, dtype: str) -> Case:
        return replace(self, dtype=dtype)

    def allows(self, dtype: str) -> bool:
        return self.dtypes is None or dtype in self.dtypes


def content_label(prefix: str, **content: Any) -> str:
    """A short stable label from a case's content (for generated cases): ``prefix`` + 8 hex."""
    blob = json.dumps(content, sort_keys=True, default=repr).encode()
    return prefix + hashlib.sha1(blob).hexdigest()[:8]


def cases_from(generator):
    """Decorator: parametrize a conformance test (taking ``case`` and ``backend``) with the
    cases ``generator()`` returns, crossed with the selected dtypes and backends."""
    import pytest
    return pytest.mark.nnconform_cases.with_args(generator)


def generated(dtypes: tuple[str, ...] | None = None):
    """Decorator for a hypothesis test of generated cases (taking ``dtype`` and ``backend``):
    parametrize it with the selected dtypes (those in ``dtypes`` if given) and backends."""
    import pytest
    return pytest.mark.nnconform_generated(dtypes=dtypes)
