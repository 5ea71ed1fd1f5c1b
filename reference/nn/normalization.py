"""Normalization modules. Semantics: the torch.nn docs of each class and torch/nn/modules/
batchnorm.py, instancenorm.py, normalization.py, lazy.py, _functions.py (CrossMapLRN2d)."""

from __future__ import annotations

import warnings

import numpy as np

from .. import functional as F
from ..functional import normalization as _fn
from .base import Module, Scales

__all__ = ["BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "LazyBatchNorm1d", "LazyBatchNorm2d",
           "LazyBatchNorm3d", "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d",
           "LazyInstanceNorm1d", "LazyInstanceNorm2d", "LazyInstanceNorm3d", "LayerNorm",
           "GroupNorm", "LocalResponseNorm", "CrossMapLRN2d", "RMSNorm"]


def _norm_scales(x, mean, invstd, weight, bias, g, stat_mean, param_axes, has_w, has_b):
    """Error scales shared by the mean/variance normalizations (the BatchNorm1d pattern).

    x - mu is formed by cancellation, so the error of y scales with mag = (|x| + |mu|) invstd:
    output |w| mag + |b|; input gradient stat_mean(|g| |w| invstd) (1 + mag) 3 + |g| |w| invstd
    (the three terms of dx are each of that order); weight gradient sum |g| mag, bias sum |g|.
    ``weight``/``bias``/``mean``/``invstd`` come already broadcastable against ``x``;
    ``stat_mean`` averages over the elements that share one set of statistics.
    """
    w = np.abs(weight) if weight is not None else 1.0
    b = np.abs(bias) if bias is not None else 0.0
    mag = (np.abs(x) + np.abs(mean)) * invstd
    g = np.abs(g)
    out = w * mag + b
    gin = stat_mean(g * w * invstd) * (1 + mag) * 3 + g * w * invstd
    pg = {}
    if has_w:
        pg["weight"] = (g * mag).sum(axis=param_axes)
    if has_b:
        pg["bias"] = g.sum(axis=param_axes)
    return Scales(outputs=(out,), input_grads=(gin,), param_grads=pg)


def _first_shape(input_shapes) -> tuple[int, ...]:
    """``infer`` takes the shapes of the positional inputs, ``((N, C, ...),)``; a bare shape
    ``(N, C, ...)`` is accepted too."""
    shapes = tuple(input_shapes)
    if shapes and isinstance(shapes[0], (tuple, list)):
        return tuple(shapes[0])
    return shapes


# ---------------------------------------------------------------------------------------------
# BatchNorm

class _BatchNorm(Module):
    """Shared by BatchNorm1d/2d/3d; subclasses fix the accepted input ranks."""

    input_ranks: tuple[int, ...] = ()

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, *, bias: bool = True):
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        self.bias = bias

    def parameter_shapes(self):
        if not self.affine:
            return {}
        shapes = {"weight": (self.num_features,)}
        if self.bias:
            shapes["bias"] = (self.num_features,)
        return shapes

    def initial_buffers(self):
        if not self.track_running_stats:
            return {}
        return {"running_mean": np.zeros(self.num_features),
                "running_var": np.ones(self.num_features),
                "num_batches_tracked": np.array(0, dtype=np.int64)}

    def _check_input(self, x: np.ndarray) -> None:
        if x.ndim not in self.input_ranks:
            ranks = " or ".join(f"{r}D" for r in self.input_ranks)
            raise ValueError(f"expected {ranks} input (got {x.ndim}D input)")
        # Without parameters or running statistics nothing has num_features entries.
        if x.shape[1] != self.num_features and (self.affine or self.track_running_stats):
            raise RuntimeError(f"running_mean should contain {x.shape[1]} elements not "
                               f"{self.num_features}")

    def forward(self, params, buffers, inputs, training):
        """Batch statistics in training, or in eval when no running statistics are tracked.

        num_batches_tracked += 1 on every training step that tracks statistics; momentum=None
        means a cumulative moving average, factor 1 / num_batches_tracked (after the increment).
        """
        (x,) = inputs
        self._check_input(x)
        new = dict(buffers)
        uses_batch_stats = training or not self.track_running_stats
        factor = 0.0
        if training and self.track_running_stats:
            new["num_batches_tracked"] = np.asarray(buffers["num_batches_tracked"] + 1,
                                                    dtype=np.int64)
            factor = (1.0 / float(new["num_batches_tracked"]) if self.momentum is None
                      else self.momentum)
        rm = buffers.get("running_mean") if not uses_batch_stats or training else None
        rv = buffers.get("running_var") if not uses_batch_stats or training else None
        y, new_rm, new_rv = F.batch_norm(x, rm, rv, params.get("weight"), params.get("bias"),
                                         training=uses_batch_stats, momentum=factor, eps=self.eps)
        if training and self.track_running_stats:
            new["running_mean"], new["running_var"] = new_rm, new_rv
        axes = (0,) + tuple(range(2, x.ndim))
        if uses_batch_stats:
            mean = x.mean(axis=axes)
            var = x.var(axis=axes)
        else:
            mean, var = buffers["running_mean"], buffers["running_var"]
        ctx = (x, mean, 1.0 / np.sqrt(var + self.eps), params.get("weight"), params.get("bias"),
               uses_batch_stats)
        return (y,), new, ctx

    def backward(self, ctx, grad_outputs):
        x, mean, invstd, weight, _, batch = ctx
        gx, gw, gb = F.batch_norm_backward(grad_outputs[0], x, mean, invstd, weight, batch)
        grads = {}
        if self.affine:
            grads["weight"] = gw
            if self.bias:
                grads["bias"] = gb
        return (gx,), grads

    def error_scales(self, ctx, grad_outputs):
        """|x - mu| is formed by cancellation, so the error of y scales with (|x| + |mu|) invstd.

        Output: |weight| (|x| + |mu|) invstd + |bias|; input gradient: the same factor applied
        to |g| |weight| invstd (the three terms of dx are each of that order); parameter
        gradients: sums of |g| (|x| + |mu|) invstd and of |g|.
        """
        x, mean, invstd, weight, bias, _ = ctx
        nd, axes = x.ndim, (0,) + tuple(range(2, x.ndim))
        shape = (1, -1) + (1,) * (nd - 2)
        return _norm_scales(
            x, mean.reshape(shape), invstd.reshape(shape),
            weight.reshape(shape) if weight is not None else None,
            bias.reshape(shape) if bias is not None else None, grad_outputs[0],
            lambda v: v.mean(axis=axes, keepdims=True), axes, self.affine,
            self.affine and self.bias)


class BatchNorm1d(_BatchNorm):
    """BatchNorm over (N, C) or (N, C, L) input; see ``functional.batch_norm`` for the formula."""

    input_ranks = (2, 3)


class BatchNorm2d(_BatchNorm):
    """BatchNorm over (N, C, H, W) input; see ``functional.batch_norm`` for the formula."""

    input_ranks = (4,)


class BatchNorm3d(_BatchNorm):
    """BatchNorm over (N, C, D, H, W) input; see ``functional.batch_norm`` for the formula."""

    input_ranks = (5,)


# ---------------------------------------------------------------------------------------------
# Lazy variants (torch/nn/modules/lazy.py, batchnorm.py _LazyNormBase)

class _LazyNorm(Module):
    """num_features is inferred from ``input.shape[1]`` on the first call; ``infer`` returns the
    eager module torch becomes (``cls_to_become``).

    The defaults are _LazyNormBase's: affine=True, track_running_stats=True, also for the lazy
    InstanceNorms (whose eager twins default to False/False). torch reads dim 1 even for an
    unbatched InstanceNorm input (C, L), so that case infers L, as here.
    Before ``infer`` nothing has a shape, so parameter_shapes/initial_buffers raise;
    ``forward`` infers from its input and runs the eager module.
    """

    eager: type = Module

    def __init__(self, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, *, bias: bool = True):
        self.eps, self.momentum, self.affine = eps, momentum, affine
        self.track_running_stats, self.bias = track_running_stats, bias

    def infer(self, input_shapes: tuple) -> Module:
        shape = _first_shape(input_shapes)
        if len(shape) < 2:
            raise ValueError(f"cannot infer num_features from input shape {shape}")
        return self.eager(shape[1], eps=self.eps, momentum=self.momentum, affine=self.affine,
                          track_running_stats=self.track_running_stats, bias=self.bias)

    def parameter_shapes(self):
        raise RuntimeError(f"{type(self).__name__} has uninitialized parameters; call "
                           "infer(input_shapes) first")

    def initial_buffers(self):
        raise RuntimeError(f"{type(self).__name__} has uninitialized buffers; call "
                           "infer(input_shapes) first")

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


class LazyBatchNorm1d(_LazyNorm):
    """torch.nn.LazyBatchNorm1d: becomes BatchNorm1d(input.shape[1], ...)."""

    eager = BatchNorm1d


class LazyBatchNorm2d(_LazyNorm):
    """torch.nn.LazyBatchNorm2d: becomes BatchNorm2d(input.shape[1], ...)."""

    eager = BatchNorm2d


class LazyBatchNorm3d(_LazyNorm):
    """torch.nn.LazyBatchNorm3d: becomes BatchNorm3d(input.shape[1], ...)."""

    eager = BatchNorm3d


# ---------------------------------------------------------------------------------------------
# InstanceNorm (torch/nn/modules/instancenorm.py)

class _InstanceNorm(Module):
    """Per-sample, per-channel normalization over the spatial axes; see
    ``functional.instance_norm`` for the formula.

    - defaults affine=False, track_running_stats=False (unlike BatchNorm);
    - input statistics in training, and in eval unless running statistics are tracked (then
      eval normalizes with the running statistics, like BatchNorm);
    - running statistics change only in training with track_running_stats; momentum=None is
      passed to torch.instance_norm as 0.0, so the running statistics then never change (no
      cumulative average), and num_batches_tracked exists but is never incremented;
    - an unbatched input (one rank less) is normalized as a batch of one;
    - a channel count other than num_features: ValueError with affine, RuntimeError (from
      batch_norm's running_mean size check) with tracked statistics, else a warning only.
    """

    no_batch_dim: int = 0

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = False, track_running_stats: bool = False, *, bias: bool = True):
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats, self.bias = affine, track_running_stats, bias

    parameter_shapes = _BatchNorm.parameter_shapes
    initial_buffers = _BatchNorm.initial_buffers

    def _check_input(self, x: np.ndarray) -> None:
        ranks = (self.no_batch_dim, self.no_batch_dim + 1)
        if x.ndim not in ranks:
            raise ValueError(f"expected {ranks[0]}D or {ranks[1]}D input (got {x.ndim}D input)")
        fdim = x.ndim - self.no_batch_dim
        if x.shape[fdim] != self.num_features:
            if self.affine:
                raise ValueError(f"expected input's size at dim={fdim} to match num_features "
                                 f"({self.num_features}), but got: {x.shape[fdim]}.")
            if self.track_running_stats:
                n = 1 if x.ndim == self.no_batch_dim else x.shape[0]
                raise RuntimeError(f"running_mean should contain {n * x.shape[fdim]} elements "
                                   f"not {n * self.num_features}")
            warnings.warn(f"input's size at dim={fdim} does not match num_features. You can "
                          "silence this warning by not passing in num_features, which is not "
                          "used because affine=False", stacklevel=2)

    def forward(self, params, buffers, inputs, training):
        (x,) = inputs
        self._check_input(x)
        unbatched = x.ndim == self.no_batch_dim
        xb = x[None] if unbatched else x
        use_input = training or not self.track_running_stats
        rm = buffers.get("running_mean") if self.track_running_stats else None
        rv = buffers.get("running_var") if self.track_running_stats else None
        momentum = self.momentum if self.momentum is not None else 0.0
        w, b = params.get("weight"), params.get("bias")
        y, new_rm, new_rv = F.instance_norm(xb, rm, rv, w, b, use_input, momentum, self.eps)
        new = dict(buffers)
        if use_input and rm is not None:
            new["running_mean"], new["running_var"] = new_rm, new_rv
        ctx = (xb, rm, rv, w, b, use_input, unbatched)
        return ((y[0] if unbatched else y),), new, ctx

    def backward(self, ctx, grad_outputs):
        xb, rm, rv, w, b, use_input, unbatched = ctx
        g = grad_outputs[0][None] if unbatched else grad_outputs[0]
        gx, gw, gb = F.instance_norm_backward(g, xb, rm, rv, w, b, use_input, self.eps)
        grads = {}
        if self.affine:
            grads["weight"] = gw
            if self.bias:
                grads["bias"] = gb
        return ((gx[0] if unbatched else gx),), grads

    def error_scales(self, ctx, grad_outputs):
        """The BatchNorm pattern with per-(sample, channel) statistics."""
        xb, rm, rv, w, b, use_input, unbatched = ctx
        nd = xb.ndim
        shape = (1, -1) + (1,) * (nd - 2)
        spatial = tuple(range(2, nd))
        if use_input:
            mean = xb.mean(axis=spatial, keepdims=True)
            var = xb.var(axis=spatial, keepdims=True)
        else:
            mean, var = rm.reshape(shape), rv.reshape(shape)
        g = grad_outputs[0][None] if unbatched else grad_outputs[0]
        s = _norm_scales(xb, mean, 1.0 / np.sqrt(var + self.eps),
                         w.reshape(shape) if w is not None else None,
                         b.reshape(shape) if b is not None else None, g,
                         lambda v: v.mean(axis=spatial, keepdims=True), (0,) + spatial,
                         self.affine, self.affine and self.bias)
        if unbatched:
            s.outputs, s.input_grads = (s.outputs[0][0],), (s.input_grads[0][0],)
        return s


class InstanceNorm1d(_InstanceNorm):
    """InstanceNorm over (N, C, L) or unbatched (C, L) input."""

    no_batch_dim = 2


class InstanceNorm2d(_InstanceNorm):
    """InstanceNorm over (N, C, H, W) or unbatched (C, H, W) input."""

    no_batch_dim = 3


class InstanceNorm3d(_InstanceNorm):
    """InstanceNorm over (N, C, D, H, W) or unbatched (C, D, H, W) input."""

    no_batch_dim = 4


class LazyInstanceNorm1d(_LazyNorm):
    """torch.nn.LazyInstanceNorm1d: becomes InstanceNorm1d(input.shape[1], ...); note the lazy
    defaults affine=True, track_running_stats=True (see ``_LazyNorm``)."""

    eager = InstanceNorm1d


class LazyInstanceNorm2d(_LazyNorm):
    """torch.nn.LazyInstanceNorm2d: becomes InstanceNorm2d(input.shape[1], ...)."""

    eager = InstanceNorm2d


class LazyInstanceNorm3d(_LazyNorm):
    """torch.nn.LazyInstanceNorm3d: becomes InstanceNorm3d(input.shape[1], ...)."""

    eager = InstanceNorm3d


# ---------------------------------------------------------------------------------------------
# LayerNorm, GroupNorm, RMSNorm (torch/nn/modules/normalization.py)

class LayerNorm(Module):
    """torch.nn.LayerNorm; see ``functional.layer_norm``. Same computation in train and eval."""

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True):
        self.normalized_shape = _fn._as_shape(normalized_shape)
        self.eps, self.elementwise_affine, self.bias = eps, elementwise_affine, bias

    def parameter_shapes(self):
        if not self.elementwise_affine:
            return {}
        shapes = {"weight": self.normalized_shape}
        if self.bias:
            shapes["bias"] = self.normalized_shape
        return shapes

    def forward(self, params, buffers, inputs, training):
        (x,) = inputs
        w, b = params.get("weight"), params.get("bias")
        y = F.layer_norm(x, self.normalized_shape, w, b, self.eps)
        return (y,), dict(buffers), (x, w, b)

    def backward(self, ctx, grad_outputs):
        x, w, b = ctx
        gx, gw, gb = F.layer_norm_backward(grad_outputs[0], x, self.normalized_shape, w, b,
                                           self.eps)
        grads = {}
        if self.elementwise_affine:
            grads["weight"] = gw
            if self.bias:
                grads["bias"] = gb
        return (gx,), grads

    def error_scales(self, ctx, grad_outputs):
        """The BatchNorm pattern with statistics over the normalized (trailing) axes."""
        x, w, b = ctx
        axes = tuple(range(x.ndim - len(self.normalized_shape), x.ndim))
        mean = x.mean(axis=axes, keepdims=True)
        var = x.var(axis=axes, keepdims=True)
        return _norm_scales(x, mean, 1.0 / np.sqrt(var + self.eps), w, b, grad_outputs[0],
                            lambda v: v.mean(axis=axes, keepdims=True),
                            tuple(range(x.ndim - len(self.normalized_shape))),
                            self.elementwise_affine, self.elementwise_affine and self.bias)


class GroupNorm(Module):
    """torch.nn.GroupNorm; see ``functional.group_norm``. ValueError at construction when
    num_channels is not divisible by num_groups (like torch)."""

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5,
                 affine: bool = True, *, bias: bool = True):
        if num_channels % num_groups != 0:
            raise ValueError(f"num_channels ({num_channels}) must be divisible by num_groups "
                             f"({num_groups})")
        self.num_groups, self.num_channels, self.eps = num_groups, num_channels, eps
        self.affine, self.bias = affine, bias

    def parameter_shapes(self):
        if not self.affine:
            return {}
        shapes = {"weight": (self.num_channels,)}
        if self.bias:
            shapes["bias"] = (self.num_channels,)
        return shapes

    def forward(self, params, buffers, inputs, training):
        (x,) = inputs
        w, b = params.get("weight"), params.get("bias")
        y = F.group_norm(x, self.num_groups, w, b, self.eps)
        return (y,), dict(buffers), (x, w, b)

    def backward(self, ctx, grad_outputs):
        x, w, b = ctx
        gx, gw, gb = F.group_norm_backward(grad_outputs[0], x, self.num_groups, w, b, self.eps)
        grads = {}
        if self.affine:
            grads["weight"] = gw
            if self.bias:
                grads["bias"] = gb
        return (gx,), grads

    def error_scales(self, ctx, grad_outputs):
        """The BatchNorm pattern with per-(sample, group) statistics."""
        x, w, b = ctx
        n, shape = x.shape[0], (1, -1) + (1,) * (x.ndim - 2)
        xg = x.reshape(n, self.num_groups, -1)

        def per_group(v):
            vg = v.reshape(n, self.num_groups, -1)
            return np.broadcast_to(vg.mean(axis=2, keepdims=True), vg.shape).reshape(x.shape)

        mean = per_group(x)
        var = np.broadcast_to(xg.var(axis=2, keepdims=True), xg.shape).reshape(x.shape)
        return _norm_scales(x, mean, 1.0 / np.sqrt(var + self.eps),
                            w.reshape(shape) if w is not None else None,
                            b.reshape(shape) if b is not None else None, grad_outputs[0],
                            per_group, (0,) + tuple(range(2, x.ndim)), self.affine,
                            self.affine and self.bias)


class RMSNorm(Module):
    """torch.nn.RMSNorm; see ``functional.rms_norm``.

    eps=None means torch.finfo(opmath dtype).eps of the dtype the framework runs in (2^-52 for
    float64; 2^-23 for float32, float16 and bfloat16, which torch computes in float32). The
    reference computes in float64 and so is told that dtype: ``input_dtype`` (a dtype name,
    default 'float64'), or the epsilon itself as ``input_dtype_eps`` (which wins). Both only
    matter when eps is None.
    """

    def __init__(self, normalized_shape, eps: float | None = None,
                 elementwise_affine: bool = True, *, input_dtype: str = "float64",
                 input_dtype_eps: float | None = None):
        self.normalized_shape = _fn._as_shape(normalized_shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        self.input_dtype, self.input_dtype_eps = input_dtype, input_dtype_eps

    def effective_eps(self) -> float:
        if self.eps is not None:
            return self.eps
        if self.input_dtype_eps is not None:
            return self.input_dtype_eps
        return F.rms_norm_default_eps(self.input_dtype)

    def parameter_shapes(self):
        return {"weight": self.normalized_shape} if self.elementwise_affine else {}

    def forward(self, params, buffers, inputs, training):
        (x,) = inputs
        w = params.get("weight")
        y = F.rms_norm(x, self.normalized_shape, w, self.effective_eps())
        return (y,), dict(buffers), (x, w)

    def backward(self, ctx, grad_outputs):
        x, w = ctx
        gx, gw = F.rms_norm_backward(grad_outputs[0], x, self.normalized_shape, w,
                                     self.effective_eps())
        return (gx,), ({"weight": gw} if self.elementwise_affine else {})

    def error_scales(self, ctx, grad_outputs):
        """The output is a product (purely relative). dx = r (g^ - x^ mean(g^ x^)) cancels:
        scale r (|g^| + |x^| mean(|g^ x^|)); dweight = sum g x^: scale sum |g x^|."""
        x, w = ctx
        axes = tuple(range(x.ndim - len(self.normalized_shape), x.ndim))
        lead = tuple(range(x.ndim - len(self.normalized_shape)))
        r = 1.0 / np.sqrt((x * x).mean(axis=axes, keepdims=True) + self.effective_eps())
        xhat = np.abs(x) * r
        g = np.abs(grad_outputs[0])
        ghat = g * np.abs(w) if w is not None else g
        gin = r * (ghat + xhat * (ghat * xhat).mean(axis=axes, keepdims=True))
        pg = {"weight": (g * xhat).sum(axis=lead)} if self.elementwise_affine else {}
        return Scales(outputs=(None,), input_grads=(gin,), param_grads=pg)


# ---------------------------------------------------------------------------------------------
# LocalResponseNorm, CrossMapLRN2d

class _WindowNorm(Module):
    """y = x (k + alpha/size * window-sum of x^2)^-beta over channels; no parameters."""

    _forward = staticmethod(F.local_response_norm)
    _backward = staticmethod(F.local_response_norm_backward)
    _window = staticmethod(_fn._lrn_window)

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0):
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, params, buffers, inputs, training):
        (x,) = inputs
        y = self._forward(x, self.size, self.alpha, self.beta, self.k)
        return (y,), dict(buffers), x

    def backward(self, ctx, grad_outputs):
        gx = self._backward(grad_outputs[0], ctx, self.size, self.alpha, self.beta, self.k)
        return (gx,), {}

    def error_scales(self, ctx, grad_outputs):
        """The output is a product (purely relative); the two terms of dx can cancel:
        scale |g| d^-beta + 2 alpha beta / size |x| sum_j window[j, c] |g_j y_j| / d_j."""
        x = ctx
        if x.size == 0:
            return Scales(outputs=(None,), input_grads=(None,))
        win = self._window(x.shape[1], self.size)
        d = self.k + self.alpha / self.size * _fn._channel_sum(win, x * x)
        y = x * d ** -self.beta
        g = np.abs(grad_outputs[0])
        gin = g * d ** -self.beta + 2 * self.alpha * self.beta / self.size * np.abs(x) * \
            _fn._channel_sum(win.T, np.abs(g * y) / d)
        return Scales(outputs=(None,), input_grads=(gin,))


class LocalResponseNorm(_WindowNorm):
    """torch.nn.LocalResponseNorm(size, alpha=1e-4, beta=0.75, k=1.0); see
    ``functional.local_response_norm`` (alpha divided by size, asymmetric window for even
    sizes)."""


class CrossMapLRN2d(_WindowNorm):
    """torch.nn.CrossMapLRN2d(size, alpha=1e-4, beta=0.75, k=1); 4-D input only; see
    ``functional.cross_map_lrn2d`` for how its window differs from LocalResponseNorm's.

    ``backward`` is the true VJP of the forward; torch's hand-written backward is not (see
    ``functional.cross_map_lrn2d_backward``), so torch is expected to disagree on gradients.
    """

    _forward = staticmethod(F.cross_map_lrn2d)
    _backward = staticmethod(F.cross_map_lrn2d_backward)
    _window = staticmethod(_fn._cross_map_window)

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1):
        super().__init__(size, alpha, beta, k)
