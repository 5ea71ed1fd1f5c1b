"""Padding modules. Semantics: torch/nn/modules/padding.py (each is ``F.pad`` with a fixed mode).

``padding`` is an int (same on every side) or a 2/4/6-tuple ``(left, right, top, bottom, front,
back)``, last dimension first, exactly as ``F.pad``. Inputs are ``(C, *S)`` or ``(N, C, *S)``.
"""

from __future__ import annotations

from .. import functional as F
import numpy as np

from .base import Module, Scales

__all__ = [f"{kind}Pad{n}d" for kind in ("Zero", "Constant", "Reflection", "Replication",
                                          "Circular") for n in (1, 2, 3)]


class _PadNd(Module):
    mode = "constant"
    nd = 1

    def __init__(self, padding, value: float = 0.0):
        self.padding = (tuple(int(p) for p in padding) if isinstance(padding, (tuple, list))
                        else (int(padding),) * (2 * self.nd))
        if len(self.padding) != 2 * self.nd:
            raise ValueError(f"padding must be an int or a {2 * self.nd}-tuple")
        self.value = value

    def forward(self, params, buffers, inputs, training):
        (x,) = inputs
        if x.ndim not in (self.nd + 1, self.nd + 2):
            raise ValueError(f"expected {self.nd + 1}D or {self.nd + 2}D input "
                             f"(got {x.ndim}D input)")
        value = self.value if self.mode == "constant" else None
        return (F.pad(x, self.padding, self.mode, value),), dict(buffers), x.shape

    def backward(self, ctx, grad_outputs):
        return (F.pad_backward(grad_outputs[0], ctx, self.padding, self.mode),), {}

    def error_scales(self, ctx, grad_outputs):
        """The forward copies (no scale); the input gradient sums the cotangents of every
        position reading an input (replicated edges, reflections): scale = the same sum of |g|."""
        return Scales(outputs=(None,), input_grads=(
            F.pad_backward(np.abs(grad_outputs[0]), ctx, self.padding, self.mode),))


def _make(kind: str, mode: str, nd: int, with_value: bool):
    if with_value:
        def __init__(self, padding, value: float):
            _PadNd.__init__(self, padding, value)
    else:
        def __init__(self, padding):
            _PadNd.__init__(self, padding, 0.0)
    doc = (f"torch.nn.{kind}Pad{nd}d: ``F.pad(x, padding, mode='{mode}'"
           + (", value=value" if with_value else "") + f")`` over the last {nd} dim(s).")
    return type(f"{kind}Pad{nd}d", (_PadNd,), {"mode": mode, "nd": nd, "__init__": __init__,
                                               "__doc__": doc})


for _nd in (1, 2, 3):
    for _kind, _mode, _val in (("Zero", "constant", False), ("Constant", "constant", True),
                               ("Reflection", "reflect", False),
                               ("Replication", "replicate", False),
                               ("Circular", "circular", False)):
        globals()[f"{_kind}Pad{_nd}d"] = _make(_kind, _mode, _nd, _val)
del _nd, _kind, _mode, _val
