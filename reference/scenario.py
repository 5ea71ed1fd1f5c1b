"""Training scenarios: a sequential network, a loss, an optimizer and a schedule, composed from
the reference's own modules, optimizers and schedulers (no new formulas: forward in order,
each module's hand-derived backward in reverse order, the optimizer's pure step per parameter).

Semantics follow ``torch.nn.Sequential`` training loops: ``model.train()`` / ``model.eval()``,
``loss.backward()``, ``optimizer.step()``, then ``scheduler.step()``. Parameter and buffer
names are ``"<layer index>.<name>"`` as in a Sequential's ``state_dict``. Dropout layers take
their keep-mask from the step (``masks[index]``), so both sides drop the same units.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from . import driver


def _split(named: Mapping[str, np.ndarray], i: int) -> dict[str, np.ndarray]:
    prefix = f"{i}."
    return {k[len(prefix):]: v for k, v in named.items() if k.startswith(prefix)}


def run_scenario(layers: Sequence[Mapping[str, Any]], params: Mapping[str, np.ndarray],
                 buffers: Mapping[str, np.ndarray], loss: Mapping[str, Any],
                 optimizer: Mapping[str, Any], steps: Sequence[Mapping[str, Any]],
                 scheduler: Mapping[str, Any] | None = None,
                 record_activation_std: bool = False,
                 storage: Callable[[np.ndarray], np.ndarray] | None = None) -> dict[str, Any]:
    """Run ``steps`` (dicts with kind, inputs, target, masks) and return losses, eval outputs,
    per-layer activation stds, and the final parameters and buffers (see
    backends.contract.ScenarioRequest for the meaning of each field).

    ``storage`` (optional) is applied to every layer output, parameter and buffer as it is
    stored, e.g. rounding to float32: the harness runs the loop twice, with and without it, to
    measure how much the training dynamics amplify storage rounding."""
    modules = [driver.build_module(spec["op"], dict(spec.get("kwargs", {}))) for spec in layers]
    loss_module = driver.build_module(loss["op"], dict(loss.get("kwargs", {})))
    loss_buffers = loss_module.initial_buffers()
    opt_cls = driver.resolve(optimizer["op"])
    opt_kwargs = dict(optimizer.get("kwargs", {}))
    params = {k: np.asarray(v, dtype=np.float64) for k, v in params.items()}
    buffers = {k: np.asarray(v) for k, v in buffers.items()}
    state: dict[str, dict] = {k: {} for k in params}
    n_train = sum(1 for s in steps if s["kind"] == "train")
    lrs = np.full(n_train + 1, opt_kwargs.get("lr", 1e-3))
    if scheduler is not None:
        sched = driver.resolve(scheduler["op"])(**dict(scheduler.get("kwargs", {})))
        lrs = sched.run([{"lr": opt_kwargs.get("lr", 1e-3)}], n_train)["lr"][:, 0]
    out: dict[str, Any] = {"losses": [], "outputs": [], "activation_std": []}
    t_train = 0
    for step in steps:
        training = step["kind"] == "train"
        x, ctxs, stds = step["inputs"], [], []
        for i, (spec, module) in enumerate(zip(layers, modules)):
            inputs = (x,)
            if spec["op"] == "nn.Dropout" and training:
                inputs = (x, step["masks"][i])
            outs, new_b, ctx = module.forward(_split(params, i), _split(buffers, i), inputs,
                                              training)
            if storage is not None:
                new_b = {k: storage(v) for k, v in new_b.items()}
            buffers.update({f"{i}.{k}": v for k, v in new_b.items()})
            x = outs[0] if storage is None else storage(outs[0])
            ctxs.append(ctx)
            stds.append(float(np.std(x)))
        out["activation_std"].append(np.array(stds))
        value = None
        if step.get("target") is not None:
            (value,), _, lctx = loss_module.forward({}, loss_buffers, (x, step["target"]),
                                                    training)
        out["losses"].append(None if value is None else float(value))
        out["outputs"].append(None if training else x)
        if not training:
            continue
        g = loss_module.backward(lctx, (np.ones(()),))[0][0]
        grads: dict[str, np.ndarray] = {}
        for i in reversed(range(len(modules))):
            input_grads, param_grads = modules[i].backward(ctxs[i], (g,))
            grads.update({f"{i}.{k}": v for k, v in param_grads.items()})
            g = input_grads[0]
        opt = opt_cls(**{**opt_kwargs, "lr": float(lrs[t_train])})
        for name in params:
            params[name], state[name] = opt.step(params[name], grads[name], state[name])
            if storage is not None:
                params[name] = storage(params[name])
        t_train += 1
    out["params"], out["buffers"] = params, buffers
    if not record_activation_std:
        out["activation_std"] = None
    return out
