"""Data transforms of the training input pipeline, as reference modules: torchvision's
transforms.ToTensor and transforms.Normalize (``torchvision.transforms.X`` resolves here).

Semantics: the torchvision docs of ToTensor and Normalize, and torchvision/transforms/
functional.py (``to_tensor``) and _functional_tensor.py (``normalize``). Both follow the
``reference.nn.base.Module`` protocol; neither has parameters or buffers.
"""

from __future__ import annotations

import numpy as np

from .nn.base import Module, Scales

__all__ = ["ToTensor", "Normalize", "underflows_to_zero"]


class ToTensor(Module):
    """torchvision.transforms.ToTensor: an HWC picture becomes a CHW array.

    ``inputs``: ``(pic,)`` or ``(pic, container)``, ``container`` naming what the picture
    arrives as: ``"ndarray"`` (default) or ``"pil"`` (a PIL image made from the array with
    ``PIL.Image.fromarray``).

    ndarray (torchvision ``to_tensor``): a 2-D (H, W) array gets a channel axis (H, W, 1); the
      (H, W, C) array is transposed to (C, H, W); a uint8 array is then converted to the
      default float dtype (float32) and divided by 255, so 0..255 maps onto [0, 1]; any other
      dtype (bool, float, int) is returned transposed, unconverted and unscaled.
      ValueError unless the array is 2- or 3-dimensional ("pic should be 2/3 dimensional").
    pil: the image's mode comes from the array (Pillow's fromarray): uint8 (H, W) 'L',
      (H, W, 2) 'LA', (H, W, 3) 'RGB', (H, W, 4) 'RGBA' -> float, divided by 255; bool (H, W)
      mode '1' -> float 0.0 / 1.0 (to_tensor scales the 0/1 bytes by 255, then divides by
      255); float (H, W) mode 'F' -> float32, unscaled. Pillow has no mode for other arrays
      (an (H, W, 1) uint8 array included): TypeError "Cannot handle this data type".

    Not differentiable (the picture goes through NumPy/PIL): ``backward`` returns no
    gradients.
    """

    def __init__(self):
        pass

    @staticmethod
    def _check_ndarray(pic: np.ndarray) -> None:
        if pic.ndim not in (2, 3):
            raise ValueError(f"pic should be 2/3 dimensional. Got {pic.ndim} dimensions.")

    @staticmethod
    def _pil(pic: np.ndarray) -> np.ndarray:
        kind = pic.dtype
        if kind == np.uint8 and (pic.ndim == 2 or (pic.ndim == 3 and pic.shape[2] in (2, 3, 4))):
            return pic.astype(np.float64) / 255.0
        if kind == np.bool_ and pic.ndim == 2:
            return pic.astype(np.float64)
        if kind.kind == "f" and pic.ndim == 2:
            return pic.astype(np.float64)
        raise TypeError(f"Cannot handle this data type: {(1, 1) + pic.shape[2:]}, {kind.str}")

    def forward(self, params, buffers, inputs, training):
        pic = np.asarray(inputs[0])
        container = inputs[1] if len(inputs) > 1 else "ndarray"
        if container == "pil":
            img = self._pil(pic)
        elif container == "ndarray":
            self._check_ndarray(pic)
            img = pic.astype(np.float64) / 255.0 if pic.dtype == np.uint8 else pic
        else:
            raise TypeError(f"pic should be PIL Image or ndarray. Got {container!r}")
        if img.ndim == 2:
            img = img[:, :, None]
        return (np.ascontiguousarray(img.transpose(2, 0, 1)),), dict(buffers), len(inputs)

    def backward(self, ctx, grad_outputs):
        return (None,) * ctx, {}


#: The largest magnitude that rounds to zero when a float64 value is converted to each dtype
#: (half the smallest subnormal; the tie rounds to the even value 0).
_UNDERFLOW = {"float64": 0.0, "float32": 2.0 ** -150, "float16": 2.0 ** -25,
              "bfloat16": 2.0 ** -134}


def underflows_to_zero(values, dtype: str) -> np.ndarray:
    """Which of the float64 ``values`` become 0 when converted to ``dtype`` (round to nearest
    even): |v| <= half the dtype's smallest subnormal (exactly 0 for float64)."""
    try:
        limit = _UNDERFLOW[dtype]
    except KeyError:
        raise ValueError(f"unknown dtype {dtype!r}; expected one of {sorted(_UNDERFLOW)}") \
            from None
    return np.abs(np.asarray(values, dtype=np.float64)) <= limit


class Normalize(Module):
    """torchvision.transforms.Normalize(mean, std, inplace=False):
    output[..., c, :, :] = (input[..., c, :, :] - mean[c]) / std[c].

    ``mean``/``std``: sequences of one value per channel (or of one value, or a number; they
    broadcast against the channel axis -3). Torchvision converts them to the input's dtype
    first and raises ValueError when a std is then zero ("std evaluated to zero after
    conversion to ..."); the reference computes in float64, so it is told that dtype:
    ``input_dtype`` (a dtype name, default 'float64'; a std of 1e-46 is zero in float32 and
    fine in float64). ``inplace`` changes where the result is written (the input tensor),
    not its value. Errors like torchvision's: TypeError for a non-float input
    ("Input tensor should be a float tensor"), ValueError for fewer than 3 dimensions
    ("Expected tensor to be a tensor image of size (..., C, H, W)"), RuntimeError when the
    channel count and the number of means/stds do not broadcast.

    Backward: d input = g / std.
    """

    def __init__(self, mean, std, inplace: bool = False, *, input_dtype: str = "float64"):
        self.mean = np.asarray(mean, dtype=np.float64)
        self.std = np.asarray(std, dtype=np.float64)
        self.inplace, self.input_dtype = inplace, input_dtype

    def _stats(self, x: np.ndarray):
        if not isinstance(x, np.ndarray) or x.dtype.kind != "f":
            kind = x.dtype if isinstance(x, np.ndarray) else type(x).__name__
            raise TypeError(f"Input tensor should be a float tensor. Got {kind}.")
        if x.ndim < 3:
            raise ValueError("Expected tensor to be a tensor image of size (..., C, H, W). Got "
                             f"tensor.size() = {list(x.shape)}")
        if np.any(underflows_to_zero(self.std, self.input_dtype)):
            raise ValueError(f"std evaluated to zero after conversion to {self.input_dtype}, "
                             "leading to division by zero.")
        mean = self.mean.reshape(-1, 1, 1) if self.mean.ndim == 1 else self.mean
        std = self.std.reshape(-1, 1, 1) if self.std.ndim == 1 else self.std
        for v in (mean, std):
            if v.ndim == 3 and v.shape[0] not in (1, x.shape[-3]):
                raise RuntimeError(f"The size of tensor a ({x.shape[-3]}) must match the size "
                                   f"of tensor b ({v.shape[0]}) at non-singleton dimension "
                                   f"{x.ndim - 3}")
        return mean, std

    def forward(self, params, buffers, inputs, training):
        (x,) = inputs
        mean, std = self._stats(x)
        return ((x - mean) / std,), dict(buffers), x

    def backward(self, ctx, grad_outputs):
        _, std = self._stats(ctx)
        return (grad_outputs[0] / std,), {}

    def error_scales(self, ctx, grad_outputs):
        """x - mean cancels (and torchvision rounds the mean to the input's dtype first):
        output scale (|x| + |mean|) / |std|; the gradient g / std is one division
        (purely relative)."""
        mean, std = self._stats(ctx)
        return Scales(outputs=((np.abs(ctx) + np.abs(mean)) / np.abs(std),),
                      input_grads=(None,))
