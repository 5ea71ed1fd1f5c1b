"""Convolution modules. Semantics: torch/nn/modules/conv.py (Conv*, ConvTranspose*, LazyConv*).

Parameters as torch's ``state_dict``: ``weight`` of shape ``(out, in/groups, *k)`` for Conv and
``(in, out/groups, *k)`` for ConvTranspose, ``bias`` of shape ``(out,)`` when ``bias=True``.

``padding_mode`` other than 'zeros' is, as in torch's ``_ConvNd._conv_forward``, an explicit
``F.pad(x, _reversed_padding_repeated_twice, mode)`` followed by an unpadded convolution (for
'same', the asymmetric split with the odd extra on the right).

Lazy variants (``LazyConv*``, ``LazyConvTranspose*``) take the eager constructor's arguments
minus ``in_channels``. ``infer(input_shapes)`` takes the tuple of input shapes (one per
positional input, as ``forward``'s ``inputs``) and returns the eager twin with ``in_channels``
read from the channel axis: ``shape[1]`` for a batched ``(N, C, *S)`` input, ``shape[0]`` for an
unbatched ``(C, *S)`` one (torch ``_LazyConvXdMixin._get_in_channels``). Their ``forward`` infers
from the actual inputs and delegates; ``parameter_shapes`` raises until shapes are known.
"""

from __future__ import annotations

from .. import functional as F
from ..functional.conv import _ntuple
from .base import Module, abs_scales

__all__ = [f"{p}{n}d" for p in ("Conv", "ConvTranspose", "LazyConv", "LazyConvTranspose")
           for n in (1, 2, 3)] + ["Fold", "Unfold"]

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class _ConvNd(Module):
    nd = 1
    transposed = False

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                 bias, padding_mode, output_padding=0):
        n = self.nd
        if groups <= 0:
            raise ValueError("groups must be a positive integer")
        if in_channels % groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups != 0:
            raise ValueError("out_channels must be divisible by groups")
        self.kernel_size = _ntuple(kernel_size, n, "kernel_size")
        self.stride = _ntuple(stride, n, "stride")
        self.dilation = _ntuple(dilation, n, "dilation")
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"Invalid padding string {padding!r}, should be one of "
                                 f"{{'valid', 'same'}}")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError("padding='same' is not supported for strided convolutions")
            self.padding = padding
        else:
            self.padding = _ntuple(padding, n, "padding")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"padding_mode must be one of {set(_PADDING_MODES)}, but got "
                             f"padding_mode='{padding_mode}'")
        if self.transposed and padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for '
                             f'{type(self).__name__}')
        self.in_channels, self.out_channels = in_channels, out_channels
        self.groups, self.bias, self.padding_mode = groups, bool(bias), padding_mode
        self.output_padding = _ntuple(output_padding, n, "output_padding")

    def parameter_shapes(self):
        if self.transposed:
            w = (self.in_channels, self.out_channels // self.groups) + self.kernel_size
        else:
            w = (self.out_channels, self.in_channels // self.groups) + self.kernel_size
        shapes = {"weight": w}
        if self.bias:
            shapes["bias"] = (self.out_channels,)
        return shapes

    def error_scales(self, ctx, grad_outputs):
        params, buffers, inputs, training = ctx[:4]
        return abs_scales(self, params, buffers, inputs, training, grad_outputs)


class _Conv(_ConvNd):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros"):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode)

    def _explicit_pad(self):
        """torch's ``_reversed_padding_repeated_twice``: (left, right) pairs, last dim first."""
        if self.padding == "valid":
            pairs = [(0, 0)] * self.nd
        elif self.padding == "same":
            pairs = [(d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2)
                     for k, d in zip(self.kernel_size, self.dilation)]
        else:
            pairs = [(p, p) for p in self.padding]
        return tuple(v for pair in reversed(pairs) for v in pair)

    def _args(self):
        if self.padding_mode == "zeros":
            return self.padding
        return 0

    def forward(self, params, buffers, inputs, training):
        (x,) = inputs
        conv = getattr(F, f"conv{self.nd}d")
        xin = x if self.padding_mode == "zeros" else F.pad(x, self._explicit_pad(),
                                                           self.padding_mode)
        y = conv(xin, params["weight"], params.get("bias"), self.stride, self._args(),
                 self.dilation, self.groups)
        return (y,), dict(buffers), (params, buffers, inputs, training, xin)

    def backward(self, ctx, grad_outputs):
        params, _, (x,), _, xin = ctx
        back = getattr(F, f"conv{self.nd}d_backward")
        gx, gw, gb = back(grad_outputs[0], xin, params["weight"], params.get("bias"),
                          self.stride, self._args(), self.dilation, self.groups)
        if self.padding_mode != "zeros":
            gx = F.pad_backward(gx, x.shape, self._explicit_pad(), self.padding_mode)
        grads = {"weight": gw}
        if self.bias:
            grads["bias"] = gb
        return (gx,), grads


class _ConvTranspose(_ConvNd):
    transposed = True

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1, padding_mode="zeros"):
        if isinstance(padding, str):
            raise ValueError(f"{type(self).__name__}: padding must be an int or a tuple")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, output_padding)

    def _output_padding(self, x, output_size):
        """torch ``_ConvTransposeNd._output_padding``: output_size picks output_padding."""
        if output_size is None:
            return self.output_padding
        n = self.nd
        lead = 2 if x.ndim == n + 2 else 1
        output_size = tuple(int(v) for v in output_size)
        if len(output_size) == lead + n:
            output_size = output_size[lead:]
        if len(output_size) != n:
            raise ValueError(f"ConvTranspose{n}D: for {x.ndim}D input, output_size must have "
                             f"{n} or {lead + n} elements (got {len(output_size)})")
        mins = [(x.shape[lead + d] - 1) * self.stride[d] - 2 * self.padding[d]
                + self.dilation[d] * (self.kernel_size[d] - 1) + 1 for d in range(n)]
        maxs = [m + s - 1 for m, s in zip(mins, self.stride)]
        if any(o < lo or o > hi for o, lo, hi in zip(output_size, mins, maxs)):
            raise ValueError(f"requested an output size of {list(output_size)}, but valid sizes "
                             f"range from {mins} to {maxs} (for an input of "
                             f"{list(x.shape[lead:])})")
        return tuple(o - m for o, m in zip(output_size, mins))

    def forward(self, params, buffers, inputs, training):
        """inputs: ``(x,)`` or ``(x, output_size)`` as torch's ``forward(input, output_size)``."""
        x = inputs[0]
        op = self._output_padding(x, inputs[1] if len(inputs) > 1 else None)
        y = getattr(F, f"conv_transpose{self.nd}d")(
            x, params["weight"], params.get("bias"), self.stride, self.padding, op, self.groups,
            self.dilation)
        return (y,), dict(buffers), (params, buffers, inputs, training, op)

    def backward(self, ctx, grad_outputs):
        params, _, inputs, _, op = ctx
        gx, gw, gb = getattr(F, f"conv_transpose{self.nd}d_backward")(
            grad_outputs[0], inputs[0], params["weight"], params.get("bias"), self.stride,
            self.padding, op, self.groups, self.dilation)
        grads = {"weight": gw}
        if self.bias:
            grads["bias"] = gb
        return (gx,) + (None,) * (len(inputs) - 1), grads


class _LazyMixin(Module):
    """Holds the eager constructor's keyword arguments minus in_channels (see module doc)."""

    eager: type = _Conv

    def __init__(self, out_channels, kernel_size, **kwargs):
        self.out_channels, self.kernel_size, self.kwargs = out_channels, kernel_size, kwargs
        # Validate the hyperparameters now (torch does it in the eager constructor it calls).
        groups = kwargs.get("groups", 1)
        self.eager(groups, out_channels, kernel_size, **kwargs)

    def infer(self, input_shapes: tuple) -> Module:
        """Eager twin with in_channels = channel axis of ``input_shapes[0]``."""
        shape = tuple(input_shapes[0])
        n = self.eager.nd
        if len(shape) not in (n + 1, n + 2):
            raise RuntimeError(f"Expected {n + 1}D (unbatched) or {n + 2}D (batched) input to "
                               f"{type(self).__name__}, but got input of size: {list(shape)}")
        in_channels = shape[1] if len(shape) == n + 2 else shape[0]
        return self.eager(in_channels, self.out_channels, self.kernel_size, **self.kwargs)

    def parameter_shapes(self):
        raise RuntimeError(f"{type(self).__name__}: parameter shapes are unknown until the "
                           f"input shape is; call infer(input_shapes) first")

    def forward(self, params, buffers, inputs, training):
        module = self.infer(tuple(x.shape for x in inputs[:1]))
        outs, new_buffers, ctx = module.forward(params, buffers, inputs, training)
        return outs, new_buffers, (module, ctx)

    def backward(self, ctx, grad_outputs):
        module, inner = ctx
        return module.backward(inner, grad_outputs)

    def error_scales(self, ctx, grad_outputs):
        module, inner = ctx
        return module.error_scales(inner, grad_outputs)


def _lazy_conv_init(self, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                    bias=True, padding_mode="zeros"):
    _LazyMixin.__init__(self, out_channels, kernel_size, stride=stride, padding=padding,
                        dilation=dilation, groups=groups, bias=bias, padding_mode=padding_mode)


def _lazy_tconv_init(self, out_channels, kernel_size, stride=1, padding=0, output_padding=0,
                     groups=1, bias=True, dilation=1, padding_mode="zeros"):
    _LazyMixin.__init__(self, out_channels, kernel_size, stride=stride, padding=padding,
                        output_padding=output_padding, groups=groups, bias=bias,
                        dilation=dilation, padding_mode=padding_mode)


for _n in (1, 2, 3):
    _c = type(f"Conv{_n}d", (_Conv,), {"nd": _n, "__doc__": (
        f"torch.nn.Conv{_n}d: y = conv{_n}d(pad(x), W, b) (see reference.functional.conv).")})
    _t = type(f"ConvTranspose{_n}d", (_ConvTranspose,), {"nd": _n, "__doc__": (
        f"torch.nn.ConvTranspose{_n}d: the adjoint of Conv{_n}d w.r.t. its input, plus bias.")})
    globals()[f"Conv{_n}d"], globals()[f"ConvTranspose{_n}d"] = _c, _t
    globals()[f"LazyConv{_n}d"] = type(f"LazyConv{_n}d", (_LazyMixin,), {
        "eager": _c, "__init__": _lazy_conv_init,
        "__doc__": f"torch.nn.LazyConv{_n}d: Conv{_n}d with in_channels from infer()."})
    globals()[f"LazyConvTranspose{_n}d"] = type(f"LazyConvTranspose{_n}d", (_LazyMixin,), {
        "eager": _t, "__init__": _lazy_tconv_init,
        "__doc__": f"torch.nn.LazyConvTranspose{_n}d: ConvTranspose{_n}d with in_channels from "
                   f"infer()."})
del _n, _c, _t


class Unfold(Module):
    """torch.nn.Unfold: im2col, (N, C, H, W) -> (N, C*prod(k), L) (reference.functional.unfold)."""

    def __init__(self, kernel_size, dilation=1, padding=0, stride=1):
        self.kernel_size, self.dilation = kernel_size, dilation
        self.padding, self.stride = padding, stride

    def forward(self, params, buffers, inputs, training):
        (x,) = inputs
        y = F.unfold(x, self.kernel_size, self.dilation, self.padding, self.stride)
        return (y,), dict(buffers), x

    def backward(self, ctx, grad_outputs):
        return (F.unfold_backward(grad_outputs[0], ctx, self.kernel_size, self.dilation,
                                  self.padding, self.stride),), {}

    def error_scales(self, ctx, grad_outputs):
        """Linear: the backward (fold) sums overlapping blocks; scale = fold of |g|."""
        return abs_scales(self, {}, {}, (ctx,), False, grad_outputs)


class Fold(Module):
    """torch.nn.Fold: col2im, (N, C*prod(k), L) -> (N, C, *output_size), overlaps summed."""

    def __init__(self, output_size, kernel_size, dilation=1, padding=0, stride=1):
        self.output_size, self.kernel_size, self.dilation = output_size, kernel_size, dilation
        self.padding, self.stride = padding, stride

    def forward(self, params, buffers, inputs, training):
        (x,) = inputs
        y = F.fold(x, self.output_size, self.kernel_size, self.dilation, self.padding,
                   self.stride)
        return (y,), dict(buffers), x

    def backward(self, ctx, grad_outputs):
        return (F.fold_backward(grad_outputs[0], ctx, self.output_size, self.kernel_size,
                                self.dilation, self.padding, self.stride),), {}

    def error_scales(self, ctx, grad_outputs):
        """Linear: the forward sums overlapping blocks; scale = fold of |x|."""
        return abs_scales(self, {}, {}, (ctx,), False, grad_outputs)
