"""The pure-module protocol every ``reference.nn`` class follows.

A reference module holds hyperparameters only (the constructor arguments of the torch module of
the same name). Everything that changes lives outside it and is passed through:

    outputs, new_buffers, ctx = module.forward(params, buffers, inputs, training)
    input_grads, param_grads  = module.backward(ctx, grad_outputs)

- ``params`` and ``buffers`` are dicts keyed by the names torch uses in ``state_dict()``
  (``weight``, ``bias``, ``running_mean``, ``num_batches_tracked``, ...). They are never mutated.
- ``inputs`` is the tuple of positional arguments of the module's forward; ``outputs`` is always a
  tuple (a module returning one tensor returns a 1-tuple).
- ``backward`` is the hand-derived vector-Jacobian product: for each input, the gradient (``None``
  for non-differentiable inputs such as integer targets), and for each parameter its gradient.
- ``error_scales`` (optional) gives, per output and per gradient, the magnitude of what the op
  summed or multiplied (for example ``|x| @ |W|.T + |b|`` for a linear layer). Comparison measures
  error relative to ``max(|ref|, scale)``; without a scale the error is purely relative.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

Arrays = dict[str, np.ndarray]


@dataclass
class Scales:
    """Magnitudes for error measurement; ``None`` entries mean 'purely relative'."""

    outputs: tuple[Any, ...] = ()
    input_grads: tuple[Any, ...] = ()
    param_grads: dict[str, Any] = field(default_factory=dict)


class Module:
    """Base class: a module without parameters or buffers."""

    def parameter_shapes(self) -> dict[str, tuple[int, ...]]:
        """Shapes of the learnable parameters, by torch ``state_dict`` name."""
        return {}

    def initial_buffers(self) -> Arrays:
        """Buffers as torch initialises them (``running_var`` ones, ...), by ``state_dict`` name."""
        return {}

    def forward(self, params: Arrays, buffers: Arrays, inputs: tuple, training: bool):
        """Return ``(outputs: tuple, new_buffers: dict, ctx)``; ``ctx`` is whatever backward needs."""
        raise NotImplementedError

    def backward(self, ctx: Any, grad_outputs: tuple):
        """Return ``(input_grads: tuple, param_grads: dict)`` for the cotangents ``grad_outputs``."""
        raise NotImplementedError

    def error_scales(self, ctx: Any, grad_outputs: tuple) -> Scales | None:
        """Optional magnitudes of what each output and gradient summed (see module docstring)."""
        return None


def abs_scales(module: Module, params: Arrays, buffers: Arrays, inputs: tuple, training: bool,
               grad_outputs: tuple) -> Scales:
    """Scales of a multilinear op: the same op run on absolute values gives sum(|terms|) exactly.

    Valid for ops that are linear in each argument (linear, bilinear, conv, matmul): for them
    ``f(|a|, |b|)`` is the sum of the absolute values of the products the op adds up, which is the
    quantity rounding error is proportional to.
    """
    abs_params = {k: np.abs(v) for k, v in params.items()}
    abs_inputs = tuple(np.abs(x) if isinstance(x, np.ndarray) and x.dtype.kind == "f" else x
                       for x in inputs)
    outs, _, ctx = module.forward(abs_params, buffers, abs_inputs, training)
    if grad_outputs is None:  # forward only
        return Scales(outputs=outs)
    g_in, g_par = module.backward(ctx, tuple(np.abs(g) if g is not None else None
                                             for g in grad_outputs))
    return Scales(outputs=outs, input_grads=g_in, param_grads=g_par)
