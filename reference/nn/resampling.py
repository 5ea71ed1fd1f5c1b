"""Resampling modules. Semantics: torch/nn/modules/upsampling.py, pixelshuffle.py and
channelshuffle.py (torch 2.13); the math is in reference.functional.resampling."""

from __future__ import annotations

from ..functional import resampling as F
from .base import Module, Scales

__all__ = ["Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d", "PixelShuffle",
           "PixelUnshuffle", "ChannelShuffle"]


class Upsample(Module):
    """F.interpolate(x, size, scale_factor, mode, align_corners, recompute_scale_factor);
    scale_factor is stored as float (or a tuple of floats) and a falsy one as None, as torch
    does."""

    def __init__(self, size=None, scale_factor=None, mode: str = "nearest",
                 align_corners: bool | None = None, recompute_scale_factor: bool | None = None):
        self.size = size
        if isinstance(scale_factor, tuple):
            self.scale_factor = tuple(float(f) for f in scale_factor)
        else:
            self.scale_factor = float(scale_factor) if scale_factor else None
        self.mode, self.align_corners = mode, align_corners
        self.recompute_scale_factor = recompute_scale_factor

    def _kw(self):
        return dict(size=self.size, scale_factor=self.scale_factor, mode=self.mode,
                    align_corners=self.align_corners,
                    recompute_scale_factor=self.recompute_scale_factor)

    def forward(self, params, buffers, inputs, training):
        (x,) = inputs
        return (F.interpolate(x, **self._kw()),), dict(buffers), x

    def backward(self, ctx, grad_outputs):
        return F.interpolate_backward(grad_outputs[0], ctx, **self._kw()), {}

    def error_scales(self, ctx, grad_outputs):
        """|W| applied to |x| and |W|^T to |g| (F.interpolate_error_scales)."""
        outs, grads = F.interpolate_error_scales(
            None if grad_outputs is None else grad_outputs[0], ctx, **self._kw())
        return Scales(outputs=outs, input_grads=grads)


class UpsamplingNearest2d(Upsample):
    """Upsample(size, scale_factor, mode='nearest')."""

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    """Upsample(size, scale_factor, mode='bilinear', align_corners=True)."""

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)


class PixelShuffle(Module):
    """pixel_shuffle(x, upscale_factor)."""

    def __init__(self, upscale_factor: int):
        self.upscale_factor = upscale_factor

    def forward(self, params, buffers, inputs, training):
        (x,) = inputs
        return (F.pixel_shuffle(x, self.upscale_factor),), dict(buffers), None

    def backward(self, ctx, grad_outputs):
        return F.pixel_shuffle_backward(grad_outputs[0], self.upscale_factor), {}


class PixelUnshuffle(Module):
    """pixel_unshuffle(x, downscale_factor)."""

    def __init__(self, downscale_factor: int):
        self.downscale_factor = downscale_factor

    def forward(self, params, buffers, inputs, training):
        (x,) = inputs
        return (F.pixel_unshuffle(x, self.downscale_factor),), dict(buffers), None

    def backward(self, ctx, grad_outputs):
        return F.pixel_unshuffle_backward(grad_outputs[0], self.downscale_factor), {}


class ChannelShuffle(Module):
    """channel_shuffle(x, groups)."""

    def __init__(self, groups: int):
        self.groups = groups

    def forward(self, params, buffers, inputs, training):
        (x,) = inputs
        return (F.channel_shuffle(x, self.groups),), dict(buffers), None

    def backward(self, ctx, grad_outputs):
        return F.channel_shuffle_backward(grad_outputs[0], self.groups), {}
