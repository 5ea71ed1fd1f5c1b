"""Linear layers. Semantics: the torch.nn docs of Linear, Bilinear, Identity, LazyLinear,
Flatten and Unflatten; torch/nn/modules/linear.py and flatten.py."""

from __future__ import annotations

import numpy as np

from .. import functional as F
from .base import Module, abs_scales

__all__ = ["Identity", "Linear", "Bilinear", "LazyLinear", "Flatten", "Unflatten"]


class Identity(Module):
    """y = x. Like torch.nn.Identity, any constructor arguments are accepted and ignored."""

    def __init__(self, *args, **kwargs):
        pass

    def forward(self, params, buffers, inputs, training):
        (x,) = inputs
        return (x,), dict(buffers), None

    def backward(self, ctx, grad_outputs):
        return (grad_outputs[0],), {}


class Linear(Module):
    """y = x W^T + b with W of shape (out_features, in_features)."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True):
        self.in_features, self.out_features, self.bias = in_features, out_features, bias

    def parameter_shapes(self):
        shapes = {"weight": (self.out_features, self.in_features)}
        if self.bias:
            shapes["bias"] = (self.out_features,)
        return shapes

    def forward(self, params, buffers, inputs, training):
        (x,) = inputs
        if x.shape[-1] != self.in_features:
            raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied (last dimension "
                               f"{x.shape[-1]} != in_features {self.in_features})")
        ctx = (params, buffers, inputs, training)
        return (F.linear(x, params["weight"], params.get("bias")),), dict(buffers), ctx

    def backward(self, ctx, grad_outputs):
        params, _, (x,), _ = ctx
        gx, gw, gb = F.linear_backward(grad_outputs[0], x, params["weight"], params.get("bias"))
        grads = {"weight": gw}
        if self.bias:
            grads["bias"] = gb
        return (gx,), grads

    def error_scales(self, ctx, grad_outputs):
        params, buffers, inputs, training = ctx
        return abs_scales(self, params, buffers, inputs, training, grad_outputs)


class LazyLinear(Module):
    """torch.nn.LazyLinear(out_features, bias=True): in_features is inferred from
    ``input.shape[-1]`` on the first call, and the module becomes a Linear (``infer``).

    Before ``infer`` the parameters have no shape, so ``parameter_shapes`` raises; ``forward``
    infers from its input and runs the eager Linear.
    """

    def __init__(self, out_features: int, bias: bool = True):
        self.out_features, self.bias = out_features, bias

    def infer(self, input_shapes: tuple) -> Linear:
        """``input_shapes``: the shapes of the positional inputs, ``((..., in_features),)``
        (a bare shape is accepted too)."""
        shapes = tuple(input_shapes)
        shape = tuple(shapes[0]) if shapes and isinstance(shapes[0], (tuple, list)) else shapes
        if len(shape) == 0:
            raise ValueError("cannot infer in_features from a 0-d input")
        return Linear(shape[-1], self.out_features, self.bias)

    def parameter_shapes(self):
        raise RuntimeError("LazyLinear has uninitialized parameters; call infer(input_shapes) "
                           "first")

    def forward(self, params, buffers, inputs, training):
        module = self.infer((inputs[0].shape,))
        outs, new, ctx = module.forward(params, buffers, inputs, training)
        return outs, new, (module, ctx)

    def backward(self, ctx, grad_outputs):
        module, inner = ctx
        return module.backward(inner, grad_outputs)

    def error_scales(self, ctx, grad_outputs):
        module, inner = ctx
        return module.error_scales(inner, grad_outputs)


class Bilinear(Module):
    """y = x1^T W x2 + b with W of shape (out_features, in1_features, in2_features); see
    ``functional.bilinear``. Inputs ``(x1, x2)`` with identical leading axes."""

    def __init__(self, in1_features: int, in2_features: int, out_features: int,
                 bias: bool = True):
        if in1_features <= 0:
            raise ValueError(f"in1_features must be > 0, but got (in1_features={in1_features})")
        self.in1_features, self.in2_features = in1_features, in2_features
        self.out_features, self.bias = out_features, bias

    def parameter_shapes(self):
        shapes = {"weight": (self.out_features, self.in1_features, self.in2_features)}
        if self.bias:
            shapes["bias"] = (self.out_features,)
        return shapes

    def forward(self, params, buffers, inputs, training):
        x1, x2 = inputs
        y = F.bilinear(x1, x2, params["weight"], params.get("bias"))
        return (y,), dict(buffers), (params, buffers, inputs, training)

    def backward(self, ctx, grad_outputs):
        params, _, (x1, x2), _ = ctx
        g1, g2, gw, gb = F.bilinear_backward(grad_outputs[0], x1, x2, params["weight"],
                                             params.get("bias"))
        grads = {"weight": gw}
        if self.bias:
            grads["bias"] = gb
        return (g1, g2), grads

    def error_scales(self, ctx, grad_outputs):
        """Trilinear in (x1, W, x2): the op on absolute values sums |terms| exactly."""
        params, buffers, inputs, training = ctx
        return abs_scales(self, params, buffers, inputs, training, grad_outputs)


def _wrap_dim(dim: int, ndim: int) -> int:
    """torch's dimension wrapping; a 0-d tensor accepts dims -1 and 0."""
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], "
                         f"but got {dim})")
    return dim % n


class Flatten(Module):
    """torch.flatten(x, start_dim, end_dim): axes start_dim..end_dim (inclusive, negative dims
    wrap) merge into one. A 0-d input becomes shape (1,). RuntimeError when start_dim comes
    after end_dim; IndexError for a dim out of range (like torch). Backward: reshape back."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, params, buffers, inputs, training):
        (x,) = inputs
        s, e = _wrap_dim(self.start_dim, x.ndim), _wrap_dim(self.end_dim, x.ndim)
        if s > e:
            raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
        if x.ndim == 0:
            shape = (1,)
        else:
            shape = x.shape[:s] + (int(np.prod(x.shape[s:e + 1], dtype=np.int64)),) + \
                x.shape[e + 1:]
        return (x.reshape(shape),), dict(buffers), x.shape

    def backward(self, ctx, grad_outputs):
        return (grad_outputs[0].reshape(ctx),), {}


class Unflatten(Module):
    """x.unflatten(dim, unflattened_size): axis ``dim`` splits into ``unflattened_size`` (a
    tuple or list of ints; at most one -1, inferred). TypeError for other sizes, RuntimeError
    when the sizes do not multiply up (like torch). Backward: reshape back."""

    def __init__(self, dim: int, unflattened_size):
        if not isinstance(unflattened_size, (tuple, list)):
            raise TypeError("unflattened_size must be a tuple of ints, but found type "
                            f"{type(unflattened_size).__name__}")
        for i, s in enumerate(unflattened_size):
            if not isinstance(s, int):
                raise TypeError("unflattened_size must be tuple of ints, but found element of "
                                f"type {type(s).__name__} at pos {i}")
        self.dim, self.unflattened_size = dim, tuple(unflattened_size)

    def forward(self, params, buffers, inputs, training):
        (x,) = inputs
        d = _wrap_dim(self.dim, x.ndim)
        sizes = self.unflattened_size
        if len(sizes) == 0:
            raise RuntimeError("unflatten: sizes must be non-empty")
        if sizes.count(-1) > 1:
            raise RuntimeError("only one dimension can be inferred")
        known = int(np.prod([s for s in sizes if s != -1], dtype=np.int64))
        n = x.shape[d]
        if (-1 not in sizes and known != n) or (-1 in sizes and (known == 0 or n % known)):
            raise RuntimeError(f"unflatten: Provided sizes {list(sizes)} don't multiply up to "
                               f"the size of dim {self.dim} ({n}) in the input tensor")
        shape = x.shape[:d] + tuple(n // known if s == -1 else s for s in sizes) + x.shape[d + 1:]
        return (x.reshape(shape),), dict(buffers), x.shape

    def backward(self, ctx, grad_outputs):
        return (grad_outputs[0].reshape(ctx),), {}
