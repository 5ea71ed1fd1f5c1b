"""One module per family of cases: ``build(case, seed) -> Problem``, ``call(adapter, request)``
and either ``flatten(case, result)`` (judged by comparison with the reference) or
``judge(case, problem, adapter, result, row)`` (judged otherwise, e.g. statistically)."""

from __future__ import annotations

from types import ModuleType

from . import init, lr_scheduler, module, optim, scenario

BY_FAMILY: dict[str, ModuleType] = {f: m for m in (module, optim, lr_scheduler, init, scenario)
                                    for f in m.FAMILIES}
