"""The module family: one jnp function per op (OPS), gradients through jax.vjp.

An op function is ``f(kw, p, b, xs, training, ctx)`` with the constructor kwargs ``kw``, the
parameters ``p`` and buffers ``b`` by torch state_dict name, the positional inputs ``xs`` (jnp
arrays; None, bools, tuples pass through) and ``ctx`` (op name, dtype, a jax.random key source).
It returns the outputs as a tuple, or ``(outputs, new_buffers)`` for stateful ops. ``run`` takes
the VJP of the floating outputs with respect to the float inputs that require a gradient and to
every parameter, with the request's cotangents."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..contract import ModuleRequest, ModuleResult, StepResult, Unsupported
from ._common import is_float, jax, jnp, to_jax, to_numpy
from .activations import OPS

# importing registers their ops in OPS
from . import layers, spatial, losses, sequence  # noqa: F401,E402


@dataclass
class Ctx:
    op: str
    dtype: str
    method: str | None
    seed: int
    calls: list = field(default_factory=lambda: [0])

    def key(self):
        """A fresh jax.random key per draw (JAX keys are explicit; torch's global generator
        has no equivalent). Random ops are judged statistically, never bit for bit."""
        self.calls[0] += 1
        return jax.random.fold_in(jax.random.key(self.seed), self.calls[0])


def _split(res):
    if isinstance(res, tuple) and len(res) == 2 and isinstance(res[1], dict):
        return tuple(res[0]), res[1]
    return tuple(res), None


def supported(op: str) -> bool:
    return op in OPS


def run(request: ModuleRequest, seed: int) -> ModuleResult:
    fn = OPS.get(request.op)
    if fn is None:
        raise Unsupported(f"the jax adapter does not implement {request.op}")
    dt = request.dtype
    kw = dict(request.kwargs)
    params = {k: to_jax(v, dt) for k, v in request.params.items()}
    buffers = {k: to_jax(v, dt) for k, v in request.buffers.items()}
    ctx = Ctx(request.op, dt, request.method, seed)
    results = []
    for step in request.steps:
        xs = [to_jax(x, dt) for x in step.inputs]
        req = step.requires_grad or (False,) * len(xs)
        backward = step.grad_outputs is not None
        diff_idx = [i for i, (x, r) in enumerate(zip(xs, req)) if r and backward and is_float(x)]

        def f(diff_inputs, ps, _xs=xs, _b=buffers):
            ys = list(_xs)
            for i, v in zip(diff_idx, diff_inputs):
                ys[i] = v
            outs, newb = _split(fn(kw, ps, _b, ys, request.training, ctx))
            fl = tuple(o for o in outs if is_float(o))
            return fl, (tuple(None if is_float(o) else o for o in outs), newb)

        cots = tuple(to_jax(g, dt) for g in (step.grad_outputs or ()) if g is not None)

        def step_fn(diff_inputs, ps, cts, _f=f, _back=backward):
            """Forward (and VJP) of one step, compiled as one XLA program: far cheaper than
            op-by-op dispatch, which compiles every primitive for every new shape."""
            if not _back:
                fl, aux = _f(diff_inputs, ps)
                return fl, aux, None
            fl, vjp_fn, aux = jax.vjp(_f, diff_inputs, ps, has_aux=True)
            cts = tuple(c.reshape(y.shape).astype(y.dtype) for c, y in zip(cts, fl))
            return fl, aux, vjp_fn(cts)

        args = ([xs[i] for i in diff_idx], params, cots)
        try:
            fl, (rest, newb), vj = jax.jit(step_fn)(*args)
        except (jax.errors.ConcretizationTypeError, jax.errors.TracerArrayConversionError,
                jax.errors.TracerBoolConversionError, jax.errors.TracerIntegerConversionError):
            # an op that reads concrete values (targets, indices, argument checks): eager
            fl, (rest, newb), vj = step_fn(*args)
        if backward:
            gin, gp = vj
            grads = dict(zip(diff_idx, gin))
            input_grads = tuple(to_numpy(grads[i]) if i in grads else None
                                for i in range(len(xs)))
            param_grads = {k: to_numpy(v) for k, v in gp.items()}
        else:
            input_grads, param_grads = (), {}
        it = iter(fl)
        outs = [next(it) if o is None else o for o in rest]
        if newb is not None:
            buffers = newb
        results.append(StepResult(outputs=tuple(to_numpy(o) for o in outs),
                                  input_grads=input_grads, param_grads=param_grads,
                                  buffers={k: to_numpy(v) for k, v in buffers.items()}))
    return ModuleResult(results)
