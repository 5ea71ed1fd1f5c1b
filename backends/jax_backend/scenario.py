"""Training scenarios: a sequential network trained the way JAX code does it.

The network is the adapter's own op functions (modules.OPS: nn.Linear, nn.Conv2d,
nn.BatchNorm1d/2d, nn.MaxPool2d, ...) composed in order; the loss gradient is ``jax.grad`` of
the whole network, never a hand-written backward. The optimizer is optim.py's per-parameter
optax chain (torch's SGD/Adam semantics: coupled weight decay, state per parameter), built with
lr = 1 so that the learning rate becomes a factor applied to the update; that factor comes from
schedules.py (optax.schedules) indexed by the scheduler's epoch, which goes up after every train
step and only then (torch: ``optimizer.step(); scheduler.step()``).

The whole training state is one pytree: parameters, buffers (BatchNorm running statistics,
``num_batches_tracked``), the optax states and the scheduler's epoch. A train step is one
``jax.jit`` program (forward, ``jax.value_and_grad``, optimizer update), an eval step another,
each compiled once per scenario. ``resume_at`` serialises that state to NumPy (``np.savez``),
builds a fresh state from the request and loads the saved arrays into it, as torch's
``state_dict`` / ``load_state_dict`` round trip does.

Dropout layers (``nn.Dropout``) use the keep-mask the step gives (survivors scaled by
1/(1-p), as torch_scenario.MaskedDropout); other random layers have no mask in the contract
and are unsupported here.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ..contract import ScenarioRequest, ScenarioResult, SchedulerRequest, Unsupported
from ._common import DT, check, jax, jnp, to_jax, to_numpy
from . import modules, optim, schedules

import optax

#: random layers whose draw the scenario contract does not supply (only nn.Dropout gets masks)
RANDOM_LAYERS = ("nn.Dropout1d", "nn.Dropout2d", "nn.Dropout3d", "nn.AlphaDropout",
                 "nn.FeatureAlphaDropout", "nn.RReLU")

#: optimizers whose torch update is ``p - lr * u`` with u independent of lr: the mapped optax
#: chain is built with lr = 1 and the scheduled lr multiplies its update. ASGD (lr inside
#: its eta state) and Rprop (lr is the initial step size) keep their own lr and take no
#: scheduler here.
LR_FACTOR_OPTIMIZERS = ("optim.SGD", "optim.Adam", "optim.AdamW", "optim.RMSprop",
                        "optim.Adagrad", "optim.Adamax", "optim.Adadelta", "optim.NAdam",
                        "optim.RAdam")

_TRACE_ERRORS = (jax.errors.ConcretizationTypeError, jax.errors.TracerArrayConversionError,
                 jax.errors.TracerBoolConversionError, jax.errors.TracerIntegerConversionError)


def supported(op: str) -> bool:
    """Every ``scenario.*`` network is claimed; a layer, loss, optimizer or scheduler that the
    adapter lacks is reported by ``run_scenario`` raising Unsupported with its reason."""
    return op.startswith("scenario.")


def _split(named: Mapping[str, Any], i: int) -> dict[str, Any]:
    prefix = f"{i}."
    return {k[len(prefix):]: v for k, v in named.items() if k.startswith(prefix)}


def _masked_dropout(kw, x, mask, training: bool):
    """torch_scenario.MaskedDropout: x * mask * (1 / (1 - p)) in training, identity in eval."""
    if not training:
        return x
    check(mask is not None, "a training step of a Dropout layer needs its keep-mask")
    return x * mask.astype(x.dtype) * (1.0 / (1.0 - kw.get("p", 0.5)))


class _Network:
    """The request's layers as one pure function of (params, buffers, inputs)."""

    def __init__(self, request: ScenarioRequest):
        self.layers = [(s["op"], dict(s.get("kwargs", {}))) for s in request.layers]
        for name, _ in self.layers:
            if name in RANDOM_LAYERS:
                raise Unsupported(f"scenario layer {name}: a random layer without a mask in the "
                                  f"scenario contract (only nn.Dropout gets keep-masks)")
            if name != "nn.Dropout" and not modules.supported(name):
                raise Unsupported(f"scenario layer {name}: the jax adapter does not implement "
                                  f"{name}")
        self.ctxs = [modules.Ctx(name, request.dtype, None, 0) for name, _ in self.layers]
        loss_op = request.loss["op"]
        if not modules.supported(loss_op):
            raise Unsupported(f"scenario loss {loss_op}: the jax adapter does not implement it")
        self.loss_fn = modules.OPS[loss_op]
        self.loss_kw = dict(request.loss.get("kwargs", {}))
        self.loss_ctx = modules.Ctx(loss_op, request.dtype, None, 0)

    def forward(self, params, buffers, x, masks, training: bool, record: bool):
        """(output, buffers after the pass, per-layer output stds (ddof=0) or None)."""
        new_buffers = dict(buffers)
        stds = []
        for i, ((name, kw), ctx) in enumerate(zip(self.layers, self.ctxs)):
            if name == "nn.Dropout":
                x = _masked_dropout(kw, x, masks.get(i), training)
            else:
                outs, nb = modules._split(modules.OPS[name](kw, _split(params, i),
                                                            _split(buffers, i), [x],
                                                            training, ctx))
                x = outs[0]
                if nb is not None:
                    new_buffers.update({f"{i}.{k}": v for k, v in nb.items()})
            if record:
                stds.append(jnp.std(x.astype(jnp.float64)))
        return x, new_buffers, (jnp.stack(stds) if record else None)

    def loss(self, out, target):
        return self.loss_fn(self.loss_kw, {}, {}, [out, target], True, self.loss_ctx)[0]


class _Optimizer:
    """optim.py's mapping (one optax chain per parameter, torch's hyperparameters) plus the
    scheduler's lr table (schedules.py) indexed by the epoch."""

    def __init__(self, request: ScenarioRequest, names: list[str], n_train: int):
        op = request.optimizer["op"]
        if op in optim.UNSUPPORTED:
            raise Unsupported(f"scenario optimizer {op}: {optim.UNSUPPORTED[op]}")
        if op not in optim.BUILD:
            raise Unsupported(f"scenario optimizer {op}: the jax adapter does not implement it")
        h = {**optim.DEFAULTS[op], **dict(request.optimizer.get("kwargs", {}))}
        optim._validate(op, h)
        self.lr_factor = op in LR_FACTOR_OPTIMIZERS
        sched = request.scheduler
        if sched is not None and not self.lr_factor:
            raise Unsupported(f"scenario optimizer {op} with a scheduler: its lr is not a "
                              f"factor of the update (see scenario.LR_FACTOR_OPTIMIZERS)")
        self.txs = {n: optim.BUILD[op]({**h, "lr": 1.0} if self.lr_factor else h)
                    for n in names}
        lr = float(h["lr"])
        if sched is None:
            self.lrs = np.full(n_train + 1, lr)
        else:
            if sched["op"] in schedules.UNSUPPORTED:
                raise Unsupported(f"scenario scheduler {sched['op']}: "
                                  f"{schedules.UNSUPPORTED[sched['op']]}")
            if not schedules.supported(sched["op"]):
                raise Unsupported(f"scenario scheduler {sched['op']}: the jax adapter does not "
                                  f"implement it")
            table = schedules.run_scheduler(SchedulerRequest(
                op=sched["op"], kwargs=dict(sched.get("kwargs", {})), groups=[{"lr": lr}],
                num_steps=n_train, dtype=request.dtype))
            self.lrs = np.asarray(table["lr"][:, 0], dtype=np.float64)

    def init(self, params) -> dict:
        return {n: tx.init(params[n]) for n, tx in self.txs.items()}

    def update(self, grads, state, params, lr):
        new_params, new_state = {}, {}
        for n, tx in self.txs.items():
            upd, new_state[n] = tx.update(grads[n], state[n], params[n])
            if self.lr_factor:
                upd = upd * jnp.asarray(lr, upd.dtype)
            new_params[n] = optax.apply_updates(params[n], upd)
        return new_params, new_state


# -- state: one pytree, serialised to NumPy for resume_at ---------------------------------

def _fresh_state(request: ScenarioRequest, opt: _Optimizer) -> dict:
    dt = request.dtype
    params = {k: to_jax(np.asarray(v), dt) for k, v in request.params.items()}
    buffers = {k: to_jax(np.asarray(v), dt) for k, v in request.buffers.items()}
    return {"params": params, "buffers": buffers, "optimizer": opt.init(params), "epoch": 0}


def save_state(state: dict) -> bytes:
    """The model, optimizer and scheduler state dicts as one ``.npz``: model entries by their
    state_dict names, each parameter's optax state as its leaves in order, the epoch."""
    arrays = {f"model.param.{k}": np.asarray(v) for k, v in state["params"].items()}
    arrays.update({f"model.buffer.{k}": np.asarray(v) for k, v in state["buffers"].items()})
    for n, st in state["optimizer"].items():
        for j, leaf in enumerate(jax.tree_util.tree_leaves(st)):
            arrays[f"optimizer.{n}.{j}"] = np.asarray(leaf)
    arrays["scheduler.last_epoch"] = np.asarray(state["epoch"], dtype=np.int64)
    out = io.BytesIO()
    np.savez(out, **arrays)
    return out.getvalue()


def load_state(fresh: dict, blob: bytes) -> dict:
    """``load_state_dict`` into a freshly built state: every entry must exist with the fresh
    entry's shape and dtype (a strict load); the optax states are rebuilt on the fresh
    states' tree structure."""
    with np.load(io.BytesIO(blob)) as f:
        saved = {k: f[k] for k in f.files}

    def take(key, like):
        check(key in saved, f"missing key in state_dict: {key}", KeyError)
        v = saved.pop(key)
        like = np.asarray(like)
        check(v.shape == like.shape and v.dtype == like.dtype,
              f"{key}: saved {v.dtype}{v.shape}, expected {like.dtype}{like.shape}")
        return jnp.asarray(v)

    params = {k: take(f"model.param.{k}", v) for k, v in fresh["params"].items()}
    buffers = {k: take(f"model.buffer.{k}", v) for k, v in fresh["buffers"].items()}
    opt_state = {}
    for n, st in fresh["optimizer"].items():
        leaves, tree = jax.tree_util.tree_flatten(st)
        opt_state[n] = jax.tree_util.tree_unflatten(
            tree, [take(f"optimizer.{n}.{j}", leaf) for j, leaf in enumerate(leaves)])
    epoch = int(saved.pop("scheduler.last_epoch"))
    check(not saved, f"unexpected keys in state_dict: {sorted(saved)}", KeyError)
    return {"params": params, "buffers": buffers, "optimizer": opt_state, "epoch": epoch}


# -- the loop -------------------------------------------------------------------------------

class _Compiled:
    """A step function ``fn(*args, target)`` compiled once with jax.jit.

    The adapter's class-index losses check the target's range on concrete values (torch's
    "Target is out of bounds", losses._nll_core), which a traced target cannot give: such a
    target is then compiled in as a constant, one program per distinct target (the suite's
    scenarios have one per step kind). Eager if an op still reads a concrete value."""

    def __init__(self, fn: Callable):
        self.fn, self.traced, self.by_target = fn, jax.jit(fn), {}
        self.mode = "traced"

    def __call__(self, *args, target):
        if self.mode == "traced":
            try:
                return self.traced(*args, target)
            except _TRACE_ERRORS:
                self.mode = "constant_target"
        if self.mode == "constant_target":
            key = None if target is None else (target.shape, str(target.dtype),
                                               np.asarray(target).tobytes())
            if key not in self.by_target:
                self.by_target[key] = jax.jit(lambda *a, _y=target: self.fn(*a, _y))
            try:
                return self.by_target[key](*args)
            except _TRACE_ERRORS:
                self.mode = "eager"
        return self.fn(*args, target)


def run_scenario(request: ScenarioRequest) -> ScenarioResult:
    check(request.dtype in DT, f"unknown dtype {request.dtype}")
    net = _Network(request)
    names = list(request.params)
    n_train = sum(1 for s in request.steps if s.kind == "train")
    opt = _Optimizer(request, names, n_train)
    record = bool(request.record_activation_std)

    def train_step(params, buffers, opt_state, x, masks, lr, y):
        def objective(ps):
            out, nb, stds = net.forward(ps, buffers, x, masks, True, record)
            return net.loss(out, y), (nb, stds)
        (loss, (nb, stds)), grads = jax.value_and_grad(objective, has_aux=True)(params)
        new_params, new_opt = opt.update(grads, opt_state, params, lr)
        return new_params, nb, new_opt, loss, stds

    def eval_step(params, buffers, x, y):
        out, _, stds = net.forward(params, buffers, x, {}, False, record)
        return out, (None if y is None else net.loss(out, y)), stds

    train, evaluate = _Compiled(train_step), _Compiled(eval_step)
    dt = request.dtype
    state = _fresh_state(request, opt)
    losses: list[float | None] = []
    outputs: list[np.ndarray | None] = []
    std_rows: list[np.ndarray] = []
    for t, step in enumerate(request.steps):
        if request.resume_at is not None and t == request.resume_at:
            state = load_state(_fresh_state(request, opt), save_state(state))
        check(step.kind in ("train", "eval"), f"unknown scenario step kind {step.kind!r}")
        x = to_jax(np.asarray(step.inputs), dt)
        y = None if step.target is None else to_jax(np.asarray(step.target), dt)
        if step.kind == "train":
            check(y is not None, "a train step needs a target")
            masks = {int(i): jnp.asarray(np.asarray(m)) for i, m in step.masks.items()}
            lr = jnp.asarray(opt.lrs[state["epoch"]], jnp.float64)
            params, buffers, opt_state, loss, stds = train(
                state["params"], state["buffers"], state["optimizer"], x, masks, lr, target=y)
            state = {"params": params, "buffers": buffers, "optimizer": opt_state,
                     "epoch": state["epoch"] + 1}
            losses.append(float(loss))
            outputs.append(None)
        else:
            out, loss, stds = evaluate(state["params"], state["buffers"], x, target=y)
            losses.append(None if loss is None else float(loss))
            outputs.append(to_numpy(out))
        if record:
            std_rows.append(np.asarray(stds, dtype=np.float64))
    return ScenarioResult(
        losses=losses, outputs=outputs,
        params={k: to_numpy(v) for k, v in state["params"].items()},
        buffers={k: to_numpy(v) for k, v in state["buffers"].items()},
        activation_std=std_rows if record else None)
