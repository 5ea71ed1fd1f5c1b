"""Where a torch module's calling convention or state differs from the generic one.

The generic adapter calls ``module(*inputs)`` and reports ``named_buffers()`` after each step.
Ops listed here regroup their inputs (LSTM takes its states as a tuple) or expose extra state the
reference tracks (Embedding's in-place max_norm renormalisation of its weight).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def _lstm(module: Any, inputs: list) -> Any:
    """(x, h0, c0) -> module(x, (h0, c0))."""
    if len(inputs) == 3:
        return module(inputs[0], (inputs[1], inputs[2]))
    return module(*inputs)


def _weight_after(module: Any) -> dict:
    """The weight after the forward: max_norm renormalises looked-up rows in place."""
    return {"weight_after": module.weight} if module.max_norm is not None else {}


#: op -> how to call the module with the request's positional inputs
CALLS: dict[str, Callable[[Any, list], Any]] = {"nn.LSTM": _lstm, "nn.LSTMCell": _lstm}

#: op -> extra named state reported with the buffers after each step
EXTRA_STATE: dict[str, Callable[[Any], dict]] = {"nn.Embedding": _weight_after,
                                                 "nn.EmbeddingBag": _weight_after}


def _mha(module: Any, inputs: list) -> Any:
    """(query, None, None, ...) -> module(query, query, query, ...): self-attention on the very
    same tensor, the condition (``query is key is value``) of MultiheadAttention's fast path."""
    if len(inputs) >= 3 and inputs[1] is None and inputs[2] is None:
        return module(inputs[0], inputs[0], inputs[0], *inputs[3:])
    return module(*inputs)


CALLS["nn.MultiheadAttention"] = _mha


def _to_tensor(module: Any, inputs: list) -> Any:
    """torchvision's ToTensor takes a NumPy array or a PIL image, not a tensor:
    (picture,) -> module(picture.numpy()); (picture, "pil") -> module(PIL.Image.fromarray(
    picture.numpy())) (Pillow picks the mode from the array: L, LA, RGB, RGBA, 1, F)."""
    pic = inputs[0].detach().cpu().numpy()
    if len(inputs) > 1 and inputs[1] == "pil":
        from PIL import Image
        pic = Image.fromarray(pic)
    return module(pic)


CALLS["torchvision.transforms.ToTensor"] = _to_tensor
