"""Runs reference ops from their public names, on plain data.

Shared by the harness (expected values and error scales) and by the ``reference`` control
backend, so both see exactly the same computation. Names are the framework-surface names used
in results: ``nn.Linear``, ``nn.init.kaiming_normal_``, ``optim.SGD``,
``optim.lr_scheduler.StepLR``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

_PREFIXES = (  # longest first
    ("torchvision.transforms.", "reference.transforms"),
    ("optim.lr_scheduler.", "reference.optim.lr_scheduler"),
    ("optim.swa_utils.", "reference.optim.swa_utils"),
    ("nn.functional.", "reference.functional"),
    ("nn.utils.", "reference.nn.utils"),
    ("nn.init.", "reference.init"),
    ("optim.", "reference.optim"),
    ("nn.", "reference.nn"),
)


def resolve(op: str) -> Any:
    """The reference object for a public name; KeyError if the reference has none."""
    for prefix, module in _PREFIXES:
        if op.startswith(prefix):
            obj = getattr(importlib.import_module(module), op[len(prefix):], None)
            if obj is None:
                break
            return obj
    raise KeyError(f"the reference has no {op}")


def has(op: str) -> bool:
    try:
        resolve(op)
    except KeyError:
        return False
    return True


class FunctionalOp:
    """A ``reference.functional`` op under the module protocol: no parameters, no buffers;
    ``kwargs`` are its keyword arguments and the backward is ``<name>_backward``, which returns
    one gradient per positional argument (None where it has none)."""

    def __init__(self, name: str, **kwargs: Any):
        from . import functional
        self.fn = getattr(functional, name)
        self.fn_backward = getattr(functional, name + "_backward", None)
        self.kwargs = kwargs

    def parameter_shapes(self) -> dict:
        return {}

    def initial_buffers(self) -> dict:
        return {}

    def forward(self, params, buffers, inputs, training):
        out = self.fn(*inputs, **self.kwargs)
        return (out if isinstance(out, tuple) else (out,)), dict(buffers), inputs

    def backward(self, ctx, grad_outputs):
        if self.fn_backward is None:
            raise NotImplementedError(f"reference.functional has no {self.fn.__name__}_backward")
        grads = self.fn_backward(grad_outputs[0], *ctx, **self.kwargs)
        grads = tuple(grads) if isinstance(grads, (tuple, list)) else (grads,)
        return grads + (None,) * (len(ctx) - len(grads)), {}

    def error_scales(self, ctx, grad_outputs):
        """From ``reference.functional.<name>_error_scales(grad_output or None, *inputs,
        **kwargs) -> (output_scales, input_grad_scales)`` where the op defines one."""
        from . import functional
        from .nn.base import Scales
        fn = getattr(functional, self.fn.__name__ + "_error_scales", None)
        if fn is None:
            return None
        outs, grads = fn(grad_outputs[0] if grad_outputs else None, *ctx, **self.kwargs)
        return Scales(outputs=tuple(outs), input_grads=tuple(grads or ()))


def build_module(op: str, kwargs: dict) -> Any:
    """The reference module for ``op``; functional ops are wrapped in ``FunctionalOp``."""
    if op.startswith("nn.functional."):
        resolve(op)  # KeyError if the reference has none
        return FunctionalOp(op.removeprefix("nn.functional."), **kwargs)
    return resolve(op)(**kwargs)


def run_module(op: str, kwargs: dict, params: dict, buffers: dict,
               steps: Sequence[tuple[tuple, bool]], training: bool,
               cotangents: Callable[[tuple], tuple] | None = None,
               method: str | None = None) -> list[dict]:
    """Run ``steps`` (inputs, with_backward) through the module ``op``; buffers carry over.

    ``cotangents(outputs)`` supplies the output cotangents of a step with backward (the harness
    draws them from the case's seed). Each step's result is a dict with ``outputs``,
    ``grad_outputs``, ``input_grads``, ``param_grads``, ``buffers`` (after the step) and
    ``scales`` (a ``reference.nn.Scales`` or None). ``method`` names another method of the
    module to call instead of the forward, as ``method(params, *inputs)`` (forward only, e.g.
    AdaptiveLogSoftmaxWithLoss.log_prob).
    """
    module = build_module(op, kwargs)
    if hasattr(module, "infer"):  # lazy modules: materialise from the first step's inputs
        module = module.infer(tuple(np.shape(x) for x in steps[0][0]))
    results = []
    for inputs, with_backward in steps:
        if method is not None:
            out = getattr(module, method)(params, *inputs)
            results.append({"outputs": out if isinstance(out, tuple) else (out,),
                            "buffers": dict(buffers), "grad_outputs": None, "input_grads": (),
                            "param_grads": {}, "scales": None})
            continue
        outputs, buffers, ctx = module.forward(params, buffers, tuple(inputs), training)
        step = {"outputs": outputs, "buffers": dict(buffers), "grad_outputs": None,
                "input_grads": (), "param_grads": {}, "scales": None}
        if not with_backward:
            # forward-only scales: modules whose error_scales accept grad_outputs=None give
            # them; the others need cotangents and are judged relative to |ref| alone
            try:
                step["scales"] = module.error_scales(ctx, None)
            except (TypeError, IndexError):
                step["scales"] = None
        if with_backward:
            g = cotangents(outputs) if cotangents else tuple(np.ones_like(o) for o in outputs)
            step["grad_outputs"] = g
            step["input_grads"], step["param_grads"] = module.backward(ctx, g)
            step["scales"] = module.error_scales(ctx, g)
        results.append(step)
    return results


def run_optimizer(op: str, kwargs: dict, params: dict, param_groups: Sequence[dict],
                  grads: Sequence[dict], **options: Any) -> tuple[list[dict], list[dict]]:
    """Per-group optimizer instances stepping each parameter; returns (params, state) per step.
    ``options`` as for ``optimizer_trajectory``."""
    out = optimizer_trajectory(op, kwargs, params, param_groups, grads, **options)
    return out["params"], out["state"]


def effective_grads(grads: Sequence[dict], param_groups: Sequence[dict],
                    zero_grad: bool | None = None,
                    add_group_at: int | None = None) -> list[dict]:
    """The gradients ``step()`` sees at each step. A parameter of the last group, when that group
    is added with ``add_param_group`` before step ``add_group_at``, is outside the optimizer
    before (no gradient, untouched). With ``zero_grad=False`` (``zero_grad(set_to_none=False)``
    then accumulation) a parameter that had a gradient keeps a zero one at a step giving it none;
    with ``zero_grad`` None or True a missing name means grad None."""
    late = set(param_groups[-1]["params"]) if add_group_at is not None else set()
    shapes: dict = {}
    out = []
    for t, step_grads in enumerate(grads):
        outside = late if (add_group_at is not None and t < add_group_at) else set()
        g = {k: v for k, v in step_grads.items() if k not in outside}
        if zero_grad is False:
            g.update({k: np.zeros(s) for k, s in shapes.items() if k not in g and
                      k not in outside})
        shapes.update({k: np.shape(v) for k, v in g.items()})
        out.append(g)
    return out


def _spec_fn(spec: dict, table: Any) -> Callable:
    """``{"fn": name, "kwargs": {...}}`` -> the callable ``table[name](**kwargs)`` (``table`` a
    dict or a module)."""
    factory = table[spec["fn"]] if isinstance(table, dict) else getattr(table, spec["fn"])
    return factory(**dict(spec.get("kwargs", {})))


def _quadratic_quartic(spec: dict, shapes: list[tuple]) -> Callable:
    """f(x) = 0.5 x.A x + b.x + (c/4) sum x^4 on the concatenated ravelled parameters; gradient
    A x + b + c x^3 (A symmetric). Returns closure_fn(list_of_arrays) -> (loss, grads)."""
    A, b, c = (np.asarray(spec["A"], dtype=np.float64), np.asarray(spec["b"], dtype=np.float64),
               float(spec["c"]))
    sizes = [int(np.prod(s)) for s in shapes]

    def closure(arrays):
        x = np.concatenate([np.asarray(a, dtype=np.float64).ravel() for a in arrays])
        loss = 0.5 * float(x @ (A @ x)) + float(b @ x) + c / 4 * float(np.sum(x ** 4))
        g = A @ x + b + c * x ** 3
        return loss, list(np.split(g, np.cumsum(sizes)[:-1]))
    return closure


OBJECTIVES: dict[str, Callable] = {"quadratic_quartic": _quadratic_quartic}


def _scalars_and_arrays(state: dict) -> dict:
    """State entries that are numbers or arrays (LBFGS's history lists are left out)."""
    return {k: np.asarray(v, dtype=np.float64) for k, v in state.items()
            if isinstance(v, (int, float, np.ndarray, np.number)) and not isinstance(v, bool)}


def optimizer_trajectory(op: str, kwargs: dict, params: dict, param_groups: Sequence[dict],
                         grads: Sequence[dict], *, zero_grad: bool | None = None,
                         add_group_at: int | None = None, resume_at: int | None = None,
                         grad_masks: Sequence[dict] | None = None,
                         objective: dict | None = None, clip: dict | None = None,
                         average: dict | None = None,
                         storage: Callable[[np.ndarray], np.ndarray] | None = None
                         ) -> dict[str, list]:
    """The optimizer's trajectory under the options of ``backends.contract.OptimizerRequest``:
    ``params``/``state`` after each step, plus ``grads`` and ``total_norms`` (with ``clip``),
    ``averaged`` (with ``average``) and ``losses`` (with ``objective``). ``resume_at`` changes
    nothing here: a state_dict round trip must continue exactly as this uninterrupted run.

    ``storage`` (optional, with ``objective``) is applied to every iterate the objective is
    evaluated at and to the loss and gradient it returns, e.g. rounding to float32 or a
    one-eps perturbation: the harness runs the trajectory with and without it to measure how
    much the optimizer's own iteration amplifies rounding (see
    ``harness.families.optim._sensitivity``)."""
    cls = resolve(op)
    groups = []
    for group in param_groups:
        hyper = {**kwargs, **{k: v for k, v in group.items() if k != "params"}}
        groups.append((cls(**hyper), list(group["params"])))
    names = list(params)
    current = {k: np.array(v, dtype=np.float64) for k, v in params.items()}
    state: dict[str, dict] = {name: {} for name in current}
    out: dict[str, list] = {"params": [], "state": []}
    clip_fn = resolve(clip["op"]) if clip else None
    if clip:
        out["grads"], out["total_norms"] = [], []
    closure = None
    if objective is not None:
        closure = OBJECTIVES[objective["name"]](objective, [np.shape(current[n]) for n in names])
        out["losses"] = []
        if storage is not None:
            exact = closure

            def closure(arrays):
                loss, grads = exact([storage(a) for a in arrays])
                return (float(storage(np.asarray(loss, dtype=np.float64))),
                        [None if g is None else storage(g) for g in grads])
    if average is not None:
        from .optim import swa_utils
        akw = dict(average.get("kwargs", {}))
        for key in ("avg_fn", "multi_avg_fn"):
            if akw.get(key) is not None:
                akw[key] = _spec_fn(akw[key], swa_utils)
        averager = swa_utils.AveragedModel(**akw)
        avg_state = averager.init_state(current, average.get("initial_buffers", {}))
        out["averaged"] = []
    steps = effective_grads(grads, param_groups, zero_grad, add_group_at)
    for t, step_grads in enumerate(steps):
        if clip_fn is not None:
            res = clip_fn([step_grads.get(n) for n in names], **dict(clip.get("kwargs", {})))
            total, clipped = res if isinstance(res, tuple) else (None, res)
            step_grads = {n: g for n, g in zip(names, clipped) if g is not None}
            out["grads"].append(dict(step_grads))
            out["total_norms"].append(total)
        if closure is not None:
            (opt, group_names), = groups
            new, st, loss = opt.step([current[n] for n in group_names], closure,
                                     state[group_names[0]])
            current.update(zip(group_names, new))
            state[group_names[0]] = st
            out["losses"].append(loss)
        else:
            for opt, group_names in groups:
                for name in group_names:
                    if name not in step_grads:  # grad None: the parameter is left untouched
                        continue
                    extra = {}
                    if grad_masks is not None:
                        extra["mask"] = grad_masks[t].get(name, np.zeros(np.shape(current[name]),
                                                                         dtype=bool))
                    current[name], state[name] = opt.step(current[name], step_grads[name],
                                                          state[name], **extra)
        if average is not None:
            if t >= average.get("start", 0):
                avg_state = averager.update_parameters(avg_state, current,
                                                       average["buffers"][t]
                                                       if average.get("buffers") else {})
            out["averaged"].append(
                {**{f"param.{k}": v for k, v in avg_state["params"].items()},
                 **{f"buffer.{k}": v for k, v in avg_state["buffers"].items()},
                 "n_averaged": np.asarray(avg_state["n_averaged"])})
        out["params"].append(dict(current))
        out["state"].append({k: (_scalars_and_arrays(v) if closure is not None else dict(v))
                             for k, v in state.items()})
    return out


def build_scheduler(op: str, kwargs: dict, functions: dict | None = None) -> Any:
    """The reference scheduler for ``op``; in ``kwargs``, ``{"fn": name, "kwargs": ...}`` specs
    (or lists of them) become ``functions[name](**kwargs)`` and ``schedulers`` child specs
    ``{"op": ..., "kwargs": ...}`` become reference scheduler objects."""
    def value(v):
        if isinstance(v, dict) and "fn" in v:
            if functions is None:
                raise ValueError(f"named function {v['fn']!r} given without a function table")
            return _spec_fn(v, functions)
        if isinstance(v, (list, tuple)) and v and all(isinstance(x, dict) and "fn" in x
                                                      for x in v):
            return [value(x) for x in v]
        return v
    built = {k: value(v) for k, v in kwargs.items()}
    if "schedulers" in built and built["schedulers"] and isinstance(built["schedulers"][0], dict):
        built["schedulers"] = [build_scheduler(c["op"], dict(c.get("kwargs", {})), functions)
                               for c in built["schedulers"]]
    return resolve(op)(**built)


def run_scheduler(op: str, kwargs: dict, groups: Sequence[dict], num_steps: int,
                  metrics: Sequence[float] | None = None,
                  functions: dict | None = None) -> dict[str, np.ndarray]:
    """lr (and cycled momentum/beta1) after construction and each step (see
    ``reference.optim.lr_scheduler``); ``functions`` resolves named-function specs in kwargs."""
    return build_scheduler(op, kwargs, functions).run(list(groups), num_steps, metrics)


def sample_init(op: str, shape: tuple[int, ...], kwargs: dict, seed: int) -> np.ndarray:
    return resolve(op)(np.zeros(shape), **kwargs, generator=np.random.default_rng(seed))


def init_distribution(op: str, shape: tuple[int, ...], kwargs: dict):
    from . import init
    return init.target_distribution(op.removeprefix("nn.init."), shape, **kwargs)
