"""Pooling modules. Semantics: torch/nn/modules/pooling.py; the maths is in
reference.functional.pooling (window geometry, ceil_mode rule, tie-breaking, index convention).

Modules with ``return_indices=True`` return ``(y, indices)``; the indices output takes a ``None``
cotangent. ``MaxUnpool*`` takes ``inputs = (x, indices)`` or ``(x, indices, output_size)`` as
torch's ``forward(input, indices, output_size=None)``.

``FractionalMaxPool*``'s randomness is explicit: the samples (shape ``(N, C, dims)`` in [0, 1))
come from ``inputs[1]`` if given, else ``buffers['_random_samples']`` (torch registers the
constructor's ``_random_samples`` as a buffer of that name), else the constructor argument;
without any of them the reference raises rather than drawing.

Error scales: the max family copies in the forward (no scale) and sums, in the backward, the
cotangents of every window whose argmax an element is: scale = the same sum of ``|g|``. The
average family is linear (``abs_scales``). LPPool: ``lp_pool(|x|)`` for the output (the window
sum of ``|x|**p`` taken through the root: the sum of magnitudes whose rounding the output
carries) and ``|lp_pool_backward(|g|)|`` for the gradient (the windows' contributions summed by
magnitude).
"""

from __future__ import annotations

import numpy as np

from .. import functional as F
from .base import Module, Scales, abs_scales

__all__ = []
for _n in (1, 2, 3):
    __all__ += [f"{name}{_n}d" for name in ("MaxPool", "AvgPool", "AdaptiveAvgPool",
                                            "AdaptiveMaxPool", "LPPool", "MaxUnpool")]
__all__ += ["FractionalMaxPool2d", "FractionalMaxPool3d"]


class _Pool(Module):
    nd = 1

    def _fn(self, name):
        return getattr(F, f"{name}{self.nd}d")


class _ArgmaxScales:
    """Backward = scatter of g to each window's argmax: scale = the scatter of |g|."""

    def error_scales(self, ctx, grad_outputs):
        (gx,), _ = self.backward(ctx, (np.abs(grad_outputs[0]),) + tuple(grad_outputs[1:]))
        return Scales(outputs=(), input_grads=(gx,))


class _LinearScales:
    def error_scales(self, ctx, grad_outputs):
        return abs_scales(self, {}, {}, (ctx,), False, grad_outputs)


class _MaxPoolNd(_ArgmaxScales, _Pool):
    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False,
                 ceil_mode=False):
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.dilation, self.return_indices, self.ceil_mode = dilation, return_indices, ceil_mode

    def _args(self):
        return (self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode)

    def forward(self, params, buffers, inputs, training):
        (x,) = inputs
        k, s, p, d, c = self._args()
        y, idx = self._fn("max_pool")(x, k, s, p, d, c, True)
        return ((y, idx) if self.return_indices else (y,)), dict(buffers), x

    def backward(self, ctx, grad_outputs):
        return (getattr(F, f"max_pool{self.nd}d_backward")(grad_outputs[0], ctx,
                                                            *self._args()),), {}


class _AvgPoolNd(_LinearScales, _Pool):
    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True, divisor_override=None):
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad
        self.divisor_override = divisor_override

    def _args(self):
        args = (self.kernel_size, self.stride, self.padding, self.ceil_mode,
                self.count_include_pad)
        return args if self.nd == 1 else args + (self.divisor_override,)

    def forward(self, params, buffers, inputs, training):
        (x,) = inputs
        return (self._fn("avg_pool")(x, *self._args()),), dict(buffers), x

    def backward(self, ctx, grad_outputs):
        return (getattr(F, f"avg_pool{self.nd}d_backward")(grad_outputs[0], ctx,
                                                            *self._args()),), {}


class _AvgPool1d(_AvgPoolNd):
    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True):
        super().__init__(kernel_size, stride, padding, ceil_mode, count_include_pad)


class _AdaptiveAvgPoolNd(_LinearScales, _Pool):
    def __init__(self, output_size):
        self.output_size = output_size

    def forward(self, params, buffers, inputs, training):
        (x,) = inputs
        return (self._fn("adaptive_avg_pool")(x, self.output_size),), dict(buffers), x

    def backward(self, ctx, grad_outputs):
        return (getattr(F, f"adaptive_avg_pool{self.nd}d_backward")(
            grad_outputs[0], ctx, self.output_size),), {}


class _AdaptiveMaxPoolNd(_ArgmaxScales, _Pool):
    def __init__(self, output_size, return_indices=False):
        self.output_size, self.return_indices = output_size, return_indices

    def forward(self, params, buffers, inputs, training):
        (x,) = inputs
        y, idx = self._fn("adaptive_max_pool")(x, self.output_size, True)
        return ((y, idx) if self.return_indices else (y,)), dict(buffers), x

    def backward(self, ctx, grad_outputs):
        return (getattr(F, f"adaptive_max_pool{self.nd}d_backward")(
            grad_outputs[0], ctx, self.output_size),), {}


class _LPPoolNd(_Pool):
    def __init__(self, norm_type, kernel_size, stride=None, ceil_mode=False):
        self.norm_type, self.kernel_size = norm_type, kernel_size
        self.stride, self.ceil_mode = stride, ceil_mode

    def _args(self):
        return (self.norm_type, self.kernel_size, self.stride, self.ceil_mode)

    def forward(self, params, buffers, inputs, training):
        (x,) = inputs
        return (self._fn("lp_pool")(x, *self._args()),), dict(buffers), x

    def backward(self, ctx, grad_outputs):
        return (getattr(F, f"lp_pool{self.nd}d_backward")(grad_outputs[0], ctx,
                                                           *self._args()),), {}

    def error_scales(self, ctx, grad_outputs):
        x = ctx
        y = self._fn("lp_pool")(np.abs(x), *self._args())
        gx = getattr(F, f"lp_pool{self.nd}d_backward")(np.abs(grad_outputs[0]), x, *self._args())
        return Scales(outputs=(y,), input_grads=(np.abs(gx),))


class _MaxUnpoolNd(_Pool):
    def __init__(self, kernel_size, stride=None, padding=0):
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding

    def forward(self, params, buffers, inputs, training):
        x, idx = inputs[0], inputs[1]
        size = inputs[2] if len(inputs) > 2 else None
        y = self._fn("max_unpool")(x, idx, self.kernel_size, self.stride, self.padding, size)
        return (y,), dict(buffers), inputs

    def backward(self, ctx, grad_outputs):
        x, idx = ctx[0], ctx[1]
        size = ctx[2] if len(ctx) > 2 else None
        gx = getattr(F, f"max_unpool{self.nd}d_backward")(
            grad_outputs[0], x, idx, self.kernel_size, self.stride, self.padding, size)
        return (gx,) + (None,) * (len(ctx) - 1), {}


class _FractionalMaxPoolNd(_ArgmaxScales, _Pool):
    def __init__(self, kernel_size, output_size=None, output_ratio=None, return_indices=False,
                 _random_samples=None):
        if output_size is None and output_ratio is None:
            raise ValueError(f"FractionalMaxPool{self.nd}d requires specifying either an "
                             f"output size, or a pooling ratio")
        if output_size is not None and output_ratio is not None:
            raise ValueError("only one of output_size and output_ratio may be specified")
        if output_ratio is not None:
            ratios = output_ratio if isinstance(output_ratio, (tuple, list)) \
                else (output_ratio,) * self.nd
            if not all(0 < r < 1 for r in ratios):
                raise ValueError(f"output_ratio must be between 0 and 1 (got {output_ratio})")
        self.kernel_size, self.output_size, self.output_ratio = (kernel_size, output_size,
                                                                 output_ratio)
        self.return_indices, self._random_samples = return_indices, _random_samples

    def initial_buffers(self):
        return {} if self._random_samples is None else {"_random_samples": self._random_samples}

    def _samples(self, buffers, inputs):
        if len(inputs) > 1:
            return inputs[1]
        return buffers.get("_random_samples", self._random_samples)

    def forward(self, params, buffers, inputs, training):
        x = inputs[0]
        samples = self._samples(buffers, inputs)
        y, idx = self._fn("fractional_max_pool")(x, self.kernel_size, self.output_size,
                                                 self.output_ratio, True, samples)
        return ((y, idx) if self.return_indices else (y,)), dict(buffers), (x, samples,
                                                                            len(inputs))

    def backward(self, ctx, grad_outputs):
        x, samples, n_inputs = ctx
        gx = getattr(F, f"fractional_max_pool{self.nd}d_backward")(
            grad_outputs[0], x, self.kernel_size, self.output_size, self.output_ratio, samples)
        return (gx,) + (None,) * (n_inputs - 1), {}


def _make(name, base, nd, doc):
    return type(f"{name}{nd}d", (base,), {"nd": nd, "__doc__": f"torch.nn.{name}{nd}d: {doc}"})


for _n in (1, 2, 3):
    globals()[f"MaxPool{_n}d"] = _make("MaxPool", _MaxPoolNd, _n,
                                       "max over -inf padded, dilated windows.")
    globals()[f"AvgPool{_n}d"] = _make("AvgPool", _AvgPool1d if _n == 1 else _AvgPoolNd, _n,
                                       "window sum / divisor (count_include_pad, override).")
    globals()[f"AdaptiveAvgPool{_n}d"] = _make("AdaptiveAvgPool", _AdaptiveAvgPoolNd, _n,
                                               "mean over [floor(iL/O), ceil((i+1)L/O)).")
    globals()[f"AdaptiveMaxPool{_n}d"] = _make("AdaptiveMaxPool", _AdaptiveMaxPoolNd, _n,
                                               "max over [floor(iL/O), ceil((i+1)L/O)).")
    globals()[f"LPPool{_n}d"] = _make("LPPool", _LPPoolNd, _n,
                                      "(prod(k) * avg_pool(x**p))**(1/p), as torch computes it.")
    globals()[f"MaxUnpool{_n}d"] = _make("MaxUnpool", _MaxUnpoolNd, _n,
                                         "scatter x to its max_pool indices, zeros elsewhere.")
for _n in (2, 3):
    globals()[f"FractionalMaxPool{_n}d"] = _make(
        "FractionalMaxPool", _FractionalMaxPoolNd, _n,
        "max over windows at Graham's pseudorandom starts, samples given explicitly.")
del _n
