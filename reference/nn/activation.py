"""Activation modules. Semantics: torch.nn activation docs (torch/nn/modules/activation.py).

Each class takes torch's constructor arguments (``inplace`` is accepted and ignored: the
reference never mutates) and delegates to ``reference.functional``, whose docstrings state the
formula, the gradient at kinks and the NaN/Inf policy.

Randomness: ``RReLU`` in training takes the sampled slopes as a second positional input,
``inputs = (x, noise)`` (see ``functional.rrelu``); in eval ``inputs = (x,)`` (a given noise is
ignored). ``input_grads`` then has a ``None`` entry for the noise.
"""

from __future__ import annotations

import zlib

import numpy as np

from .. import functional as F
from .base import Module, Scales

__all__ = [
    "Threshold", "ReLU", "RReLU", "Hardtanh", "ReLU6", "Sigmoid", "Hardsigmoid", "Tanh", "SiLU",
    "Mish", "Hardswish", "ELU", "CELU", "SELU", "GLU", "GELU", "Hardshrink", "LeakyReLU",
    "LogSigmoid", "Softplus", "Softshrink", "PReLU", "Softsign", "Tanhshrink", "Softmin",
    "Softmax", "Softmax2d", "LogSoftmax",
]


class _Pointwise(Module):
    """One input, one output, no parameters: y = fn(x, **kwargs()), dx = bwd(g, x, **kwargs())."""

    fn = staticmethod(F.relu)
    bwd = staticmethod(F.relu_backward)

    def kwargs(self) -> dict:
        return {}

    def forward(self, params, buffers, inputs, training):
        (x,) = inputs
        return (self.fn(x, **self.kwargs()),), dict(buffers), x

    def backward(self, ctx, grad_outputs):
        return self.bwd(grad_outputs[0], ctx, **self.kwargs()), {}


class ReLU(_Pointwise):
    """max(x, 0); the gradient at exactly 0 is 0 (see ``functional.relu_backward``)."""

    fn, bwd = staticmethod(F.relu), staticmethod(F.relu_backward)

    def __init__(self, inplace: bool = False):
        self.inplace = inplace  # numerically irrelevant: the reference never mutates


class Threshold(_Pointwise):
    """x if x > threshold else value; gradient 0 at exactly x == threshold."""

    fn, bwd = staticmethod(F.threshold), staticmethod(F.threshold_backward)

    def __init__(self, threshold: float, value: float, inplace: bool = False):
        self.threshold, self.value, self.inplace = threshold, value, inplace

    def kwargs(self):
        return {"threshold": self.threshold, "value": self.value}


class Hardtanh(_Pointwise):
    """clamp(x, min_val, max_val); gradient 0 at both kinks.

    The module (unlike ``F.hardtanh``) requires max_val > min_val (torch raises AssertionError;
    the reference raises ValueError with torch's message). ``min_value``/``max_value`` are torch's
    deprecated aliases.
    """

    fn, bwd = staticmethod(F.hardtanh), staticmethod(F.hardtanh_backward)

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False,
                 min_value: float | None = None, max_value: float | None = None):
        if min_value is not None:
            min_val = min_value
        if max_value is not None:
            max_val = max_value
        if max_val <= min_val:
            raise ValueError(f"max_val ({max_val}) must be greater than min_val ({min_val})")
        self.min_val, self.max_val, self.inplace = min_val, max_val, inplace

    def kwargs(self):
        return {"min_val": self.min_val, "max_val": self.max_val}


class ReLU6(Hardtanh):
    """Hardtanh(0, 6) (torch's ReLU6 subclasses Hardtanh): gradient 0 at x == 0 and x == 6."""

    def __init__(self, inplace: bool = False):
        super().__init__(0.0, 6.0, inplace)


class Sigmoid(_Pointwise):
    """1/(1+exp(-x)). Error scale of the gradient: |g| y (torch's g(1-y)y cancels in 1-y)."""

    fn, bwd = staticmethod(F.sigmoid), staticmethod(F.sigmoid_backward)

    def error_scales(self, ctx, grad_outputs):
        return Scales(outputs=(None,), input_grads=(np.abs(grad_outputs[0]) * F.sigmoid(ctx),))


class Tanh(_Pointwise):
    """tanh(x). Error scale of the gradient: |g| (torch's 1 - y^2 cancels)."""

    fn, bwd = staticmethod(F.tanh), staticmethod(F.tanh_backward)

    def error_scales(self, ctx, grad_outputs):
        return Scales(outputs=(None,), input_grads=(np.abs(grad_outputs[0]),))


class Hardsigmoid(_Pointwise):
    """clip(x+3, 0, 6)/6; gradient 0 at x == +-3."""

    fn, bwd = staticmethod(F.hardsigmoid), staticmethod(F.hardsigmoid_backward)

    def __init__(self, inplace: bool = False):
        self.inplace = inplace


class Hardswish(_Pointwise):
    """x clip(x+3, 0, 6)/6; gradient 0 at x == -3 and g at x == 3.

    Gradient error scale: |g| (|x|/3 + 1/2) on -3 < x < 3, where torch's g (x/3 + 1/2) cancels
    near x = -3/2 (the rounding of x/3 is relative to |x|/3, not to the small sum).
    """

    fn, bwd = staticmethod(F.hardswish), staticmethod(F.hardswish_backward)

    def __init__(self, inplace: bool = False):
        self.inplace = inplace

    def error_scales(self, ctx, grad_outputs):
        x = np.asarray(ctx, dtype=np.float64)
        with np.errstate(invalid="ignore"):
            mid = np.abs(grad_outputs[0]) * (np.abs(x) / 3.0 + 0.5)
        return Scales(outputs=(None,), input_grads=(np.where((x > -3) & (x < 3), mid, 0.0),))


class SiLU(_Pointwise):
    """x sigmoid(x). Gradient error scale |g| s (1 + |x|) (torch's 1 - s cancels)."""

    fn, bwd = staticmethod(F.silu), staticmethod(F.silu_backward)

    def __init__(self, inplace: bool = False):
        self.inplace = inplace

    def error_scales(self, ctx, grad_outputs):
        """Output: |y| (1 + |x|/4), i.e. an allowance of (4 + |x|) eps: vectorised exp kernels
        reduce the argument x log2(e) in working precision, an absolute error of about
        |x| eps that the exponential turns into a relative error of |x| eps (far tails)."""
        x = np.asarray(ctx, dtype=np.float64)
        s = F.sigmoid(x)
        out = np.abs(x * s) * (1 + np.abs(x) / 4)
        if grad_outputs is None:
            return Scales(outputs=(out,))
        return Scales(outputs=(out,),
                      input_grads=(np.abs(grad_outputs[0]) * s * (1 + np.abs(x)),))


class Mish(_Pointwise):
    """x tanh(softplus(x)). Gradient error scale |g| (1 + |x| sigmoid(x)) (1 - tanh^2 cancels)."""

    fn, bwd = staticmethod(F.mish), staticmethod(F.mish_backward)

    def __init__(self, inplace: bool = False):
        self.inplace = inplace

    def error_scales(self, ctx, grad_outputs):
        return Scales(outputs=(None,), input_grads=(
            np.abs(grad_outputs[0]) * (1 + np.abs(ctx) * F.sigmoid(ctx)),))


class ELU(_Pointwise):
    """x if x > 0 else alpha (exp(x) - 1); gradient alpha*g at exactly 0."""

    fn, bwd = staticmethod(F.elu), staticmethod(F.elu_backward)

    def __init__(self, alpha: float = 1.0, inplace: bool = False):
        self.alpha, self.inplace = alpha, inplace

    def kwargs(self):
        return {"alpha": self.alpha}


class CELU(ELU):
    """max(0,x) + min(0, alpha (exp(x/alpha) - 1)); gradient g at exactly 0.

    alpha == 0 is accepted by the constructor and raises at forward, as in torch.
    """

    fn, bwd = staticmethod(F.celu), staticmethod(F.celu_backward)


class SELU(_Pointwise):
    """scale * ELU(x, alpha) with the SELU constants; gradient alpha*scale*g at exactly 0."""

    fn, bwd = staticmethod(F.selu), staticmethod(F.selu_backward)

    def __init__(self, inplace: bool = False):
        self.inplace = inplace


class GELU(_Pointwise):
    """x Phi(x) ('none', exact erf) or the tanh approximation ('tanh').

    An invalid ``approximate`` is accepted by the constructor and raises at forward, as in torch.
    Error scales: torch's 0.5 x (1 + erf) cancels for x << 0; the outputs' scale is |x| and the
    gradient's |g| (1 + |x| phi(x)).
    """

    fn, bwd = staticmethod(F.gelu), staticmethod(F.gelu_backward)

    def __init__(self, approximate: str = "none"):
        self.approximate = approximate

    def kwargs(self):
        return {"approximate": self.approximate}

    def error_scales(self, ctx, grad_outputs):
        x = np.asarray(ctx, dtype=np.float64)
        pdf = np.exp(-0.5 * x * x) / np.sqrt(2 * np.pi)
        return Scales(outputs=(np.abs(x),),
                      input_grads=(np.abs(grad_outputs[0]) * (1 + 2 * np.abs(x) * pdf),))


class Hardshrink(_Pointwise):
    """0 where |x| <= lambd else x; gradient 0 at x == +-lambd."""

    fn, bwd = staticmethod(F.hardshrink), staticmethod(F.hardshrink_backward)

    def __init__(self, lambd: float = 0.5):
        self.lambd = lambd

    def kwargs(self):
        return {"lambd": self.lambd}


class Softshrink(Hardshrink):
    """x -+ lambd outside [-lambd, lambd], 0 inside; gradient 0 at x == +-lambd."""

    fn, bwd = staticmethod(F.softshrink), staticmethod(F.softshrink_backward)


class LeakyReLU(_Pointwise):
    """x if x > 0 else negative_slope x; gradient negative_slope*g at exactly 0."""

    fn, bwd = staticmethod(F.leaky_relu), staticmethod(F.leaky_relu_backward)

    def __init__(self, negative_slope: float = 1e-2, inplace: bool = False):
        self.negative_slope, self.inplace = negative_slope, inplace

    def kwargs(self):
        return {"negative_slope": self.negative_slope}


class LogSigmoid(_Pointwise):
    """log(sigmoid(x)), stable form."""

    fn, bwd = staticmethod(F.logsigmoid), staticmethod(F.logsigmoid_backward)


class Softplus(_Pointwise):
    """log(1 + exp(beta x))/beta, linear where beta*x > threshold (threshold on beta*x)."""

    fn, bwd = staticmethod(F.softplus), staticmethod(F.softplus_backward)

    def __init__(self, beta: float = 1.0, threshold: float = 20.0):
        self.beta, self.threshold = beta, threshold

    def kwargs(self):
        return {"beta": self.beta, "threshold": self.threshold}


class Softsign(_Pointwise):
    """x / (1 + |x|). Gradient error scale 2|g|/(1 + |x|): torch's autograd of the composite
    computes 1/(1+|x|) - |x|/(1+|x|)^2, which cancels for large |x|."""

    fn, bwd = staticmethod(F.softsign), staticmethod(F.softsign_backward)

    def error_scales(self, ctx, grad_outputs):
        return Scales(outputs=(None,), input_grads=(
            2 * np.abs(grad_outputs[0]) / (1 + np.abs(np.asarray(ctx, dtype=np.float64))),))


class Tanhshrink(_Pointwise):
    """x - tanh(x). Error scales: |x| + |tanh x| for the output (the subtraction cancels near 0),
    |g| (1 + sech^2 x) for the gradient (torch computes g - g sech^2)."""

    fn, bwd = staticmethod(F.tanhshrink), staticmethod(F.tanhshrink_backward)

    def error_scales(self, ctx, grad_outputs):
        x = np.asarray(ctx, dtype=np.float64)
        return Scales(outputs=(np.abs(x) + np.abs(np.tanh(x)),),
                      input_grads=(np.abs(grad_outputs[0]) * (1 + 1 / np.cosh(np.minimum(
                          np.abs(x), 700.0)) ** 2),))


class RReLU(Module):
    """Randomized leaky ReLU. ``inputs = (x, noise)`` in training (noise: the sampled slopes, see
    ``functional.rrelu``), ``(x,)`` or ``(x, noise)`` in eval (slope (lower+upper)/2).

    In training without ``noise`` the module draws the slopes itself, U(lower, upper) where
    x <= 0 (1 elsewhere, as torch stores), from ``generator`` (a ``numpy.random.Generator``,
    reference-only keyword; by default seeded from the input's bytes, so the draw is a
    deterministic function of the input): it then stands alone as a random module, as the
    ``reference`` control backend runs it. Gradient at exactly 0: the sampled slope in training,
    (lower+upper)/2 in eval.
    """

    def __init__(self, lower: float = 1.0 / 8, upper: float = 1.0 / 3, inplace: bool = False, *,
                 generator: np.random.Generator | None = None):
        self.lower, self.upper, self.inplace = lower, upper, inplace
        self.generator = generator

    def forward(self, params, buffers, inputs, training):
        x = inputs[0]
        noise = inputs[1] if len(inputs) > 1 else None
        if noise is None and training and self.lower <= self.upper:
            xa = np.asarray(x, dtype=np.float64)
            rng = self.generator or np.random.default_rng(
                zlib.crc32(np.ascontiguousarray(xa).tobytes()))
            noise = np.where(xa <= 0, rng.uniform(self.lower, self.upper, xa.shape), 1.0)
        y = F.rrelu(x, self.lower, self.upper, training, noise)
        return (y,), dict(buffers), (x, noise, training, len(inputs))

    def backward(self, ctx, grad_outputs):
        x, noise, training, n_inputs = ctx
        (gx,) = F.rrelu_backward(grad_outputs[0], x, self.lower, self.upper, training, noise)
        return (gx,) + (None,) * (n_inputs - 1), {}


class PReLU(Module):
    """x if x > 0 else a x with a learnable ``weight`` of shape (num_parameters,), init 0.25.

    num_parameters must be 1 or the channel count (dim 1 of the input). Gradient a*g at exactly
    0; the weight gradient sums [x <= 0] x g over all axes but the channel axis.
    """

    def __init__(self, num_parameters: int = 1, init: float = 0.25, device=None, dtype=None):
        self.num_parameters, self.init = num_parameters, init

    def parameter_shapes(self):
        return {"weight": (self.num_parameters,)}

    def initial_parameters(self):
        """torch's initial value: ``nn.init.constant_(weight, init)``."""
        return {"weight": np.full((self.num_parameters,), float(self.init))}

    def forward(self, params, buffers, inputs, training):
        (x,) = inputs
        w = params["weight"]
        return (F.prelu(x, w),), dict(buffers), (x, w)

    def backward(self, ctx, grad_outputs):
        x, w = ctx
        gx, gw = F.prelu_backward(grad_outputs[0], x, w)
        return (gx,), {"weight": gw}

    def error_scales(self, ctx, grad_outputs):
        x, w = ctx
        x = np.asarray(x, dtype=np.float64)
        terms = np.where(x > 0, 0.0, np.abs(x * grad_outputs[0]))
        axes = tuple(i for i in range(x.ndim) if i != 1 or np.size(w) == 1)
        gw = np.sum(terms, axis=axes).reshape(np.shape(w))
        return Scales(outputs=(None,), input_grads=(None,), param_grads={"weight": gw})


class GLU(_Pointwise):
    """a sigmoid(b) with (a, b) the halves of the input along ``dim``."""

    fn, bwd = staticmethod(F.glu), staticmethod(F.glu_backward)

    def __init__(self, dim: int = -1):
        self.dim = dim

    def kwargs(self):
        return {"dim": self.dim}

    def error_scales(self, ctx, grad_outputs):
        """|g| s(b) for the a half and |g a| s(b) for the b half (torch's s(1-s) cancels)."""
        x = np.asarray(ctx, dtype=np.float64)
        d = self.dim % x.ndim
        a, b = np.split(x, 2, axis=d)
        s = F.sigmoid(b)
        tail = 1 + np.abs(b) / 4  # exp's argument reduction in the far tails (see SiLU)
        out = np.abs(a) * s * tail
        if grad_outputs is None:
            return Scales(outputs=(out,))
        g = np.abs(grad_outputs[0])
        return Scales(outputs=(out,),
                      input_grads=(np.concatenate([g * s * tail, g * np.abs(a) * s * tail],
                                                  axis=d),))


class Softmax(_Pointwise):
    """softmax along ``dim``; ``dim=None`` is torch's legacy implicit choice (dim 0 for 0-, 1- and
    3-D input, else 1; see ``functional.softmax_dim``).

    Error scales. Every implementation evaluates exp(d_i), d_i = x_i - max, with d_i rounded in
    the working precision: its absolute error eps |d_i| / 2 becomes a relative error of exp(d_i)
    and so of y_i, and the sum S carries the weighted mean of those. Output: y (|d| + sum y |d|)
    (the rounding of y itself is relative to |y|, which the comparison always allows).
    Gradient: y (|g| + sum |g| y) (torch's g - sum(g y) cancels) plus the propagation of the
    output's errors w = |d| + sum y |d|: y (w (|g| + sum |g| y) + sum |g| y w).
    """

    fn, bwd = staticmethod(F.softmax), staticmethod(F.softmax_backward)

    def __init__(self, dim: int | None = None):
        self.dim = dim

    def kwargs(self):
        return {"dim": self.dim}

    def _axis(self, x):
        return F.softmax_dim(np.ndim(x), self.dim) if np.ndim(x) else -1

    def error_scales(self, ctx, grad_outputs):
        x = np.asarray(ctx, dtype=np.float64)
        if x.ndim == 0:
            return None
        axis = self._axis(x)
        z = self._sign * x
        with np.errstate(invalid="ignore"):
            d = np.abs(z - np.max(z, axis=axis, keepdims=True))
            y = F.softmax(z, axis)
            w = d + np.nansum(y * d, axis=axis, keepdims=True)
            g = np.abs(grad_outputs[0])
            gy = np.sum(g * y, axis=axis, keepdims=True)
            grad = y * (g + gy) + y * (w * (g + gy) + np.nansum(g * y * w, axis=axis,
                                                                 keepdims=True))
        return Scales(outputs=(y * w,), input_grads=(grad,))

    _sign = 1.0


class Softmin(Softmax):
    """softmax(-x) along ``dim`` (same dim=None rule)."""

    fn, bwd = staticmethod(F.softmin), staticmethod(F.softmin_backward)
    _sign = -1.0


class Softmax2d(Softmax):
    """softmax over the channel axis -3 of a (N, C, H, W) or (C, H, W) input; other ranks raise
    ValueError ("Softmax2d: expected input to be 3D or 4D, got {n}D instead")."""

    def __init__(self):
        super().__init__(-3)

    def forward(self, params, buffers, inputs, training):
        (x,) = inputs
        if np.ndim(x) not in (3, 4):
            raise ValueError(f"Softmax2d: expected input to be 3D or 4D, got {np.ndim(x)}D instead")
        return super().forward(params, buffers, inputs, training)


class LogSoftmax(Softmax):
    """log(softmax(x)) along ``dim``, stable (max subtracted); same dim=None rule as Softmax.

    Error scales. Output: |x - m| + |lse| + 1, lse = log sum exp(x - m): the subtraction x - m -
    lse rounds relative to its operands, and lse = log(S) has an absolute error of the relative
    error of the sum S >= 1, i.e. of order eps whatever lse is (so a log-probability near 0, like
    -4e-11 for a dominant logit, is only accurate to a few eps absolute in any implementation
    that forms S). Gradient: |g| + p sum|g| (1 + |x - m| + |lse|) (torch's g - exp(y) sum(g)
    cancels, and exp(y) inherits y's absolute error as a relative one).
    """

    fn, bwd = staticmethod(F.log_softmax), staticmethod(F.log_softmax_backward)

    def error_scales(self, ctx, grad_outputs):
        x = np.asarray(ctx, dtype=np.float64)
        if x.ndim == 0:
            return None
        axis = self._axis(x)
        with np.errstate(invalid="ignore"):
            y = F.log_softmax(x, axis)
            lse = np.log(np.sum(np.exp(x - np.max(x, axis=axis, keepdims=True)), axis=axis,
                                keepdims=True))
            out = np.abs(y + lse) + np.abs(lse) + 1.0
            g = np.abs(grad_outputs[0])
            grad = g + np.exp(y) * np.sum(g, axis=axis, keepdims=True) * out
        return Scales(outputs=(out,), input_grads=(grad,))
