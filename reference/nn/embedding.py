"""Embedding modules. Semantics: torch.nn.Embedding / EmbeddingBag docs and
torch/nn/modules/sparse.py (formulas in ``reference.functional.embedding``).

max_norm state. torch renormalises the looked-up rows of ``weight`` in place (under no_grad)
before every lookup, so the module's ``weight`` changes in the forward. The reference never
mutates ``params``; instead, when ``max_norm`` is set, forward returns the weight as it is after
the step as the buffer-like entry ``new_buffers["weight_after"]`` (torch: ``module.weight`` read
after the forward). A later step that receives ``buffers["weight_after"]`` looks up in it in
place of ``params["weight"]`` (that is the weight torch's module then holds), so multi-step runs
carry the renormalisation forward. Gradients (``param_grads["weight"]``) are those of a plain
lookup in the renormalised weight: torch does not differentiate through the renormalisation.
"""

from __future__ import annotations

import numpy as np

from .. import functional as F
from .base import Module, Scales

__all__ = ["Embedding", "EmbeddingBag"]


def _module_padding(padding_idx: int | None, num: int) -> int | None:
    """torch.nn.Embedding/EmbeddingBag __init__: negative padding_idx counts from the end."""
    if padding_idx is None:
        return None
    if not -num <= padding_idx < num:
        raise AssertionError("Padding_idx must be within num_embeddings")
    return padding_idx + num if padding_idx < 0 else padding_idx


class _EmbeddingBase(Module):
    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 max_norm: float | None = None, norm_type: float = 2.0,
                 scale_grad_by_freq: bool = False, sparse: bool = False):
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.padding_idx = _module_padding(padding_idx, num_embeddings)
        self.max_norm, self.norm_type = max_norm, norm_type
        self.scale_grad_by_freq, self.sparse = scale_grad_by_freq, sparse

    def parameter_shapes(self):
        return {"weight": (self.num_embeddings, self.embedding_dim)}

    def _weight(self, params, buffers):
        return buffers["weight_after"] if "weight_after" in buffers else params["weight"]

    def _new_buffers(self, weight, idx, buffers):
        new = dict(buffers)
        if self.max_norm is not None:
            new["weight_after"] = F.embedding_renorm(weight, idx, self.max_norm, self.norm_type)
        return new


class Embedding(_EmbeddingBase):
    """y = W[input] (input: int64 indices of any shape; y: input.shape + (embedding_dim,)).

    Inputs ``(input,)``; outputs ``(y,)``; input grads ``(None,)``; param grads ``{"weight"}``
    (row padding_idx stays zero; divided by index counts with scale_grad_by_freq). With
    max_norm, ``new_buffers["weight_after"]`` holds the renormalised weight (module docstring).
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 max_norm: float | None = None, norm_type: float = 2.0,
                 scale_grad_by_freq: bool = False, sparse: bool = False, _weight=None,
                 _freeze: bool = False):
        super().__init__(num_embeddings, embedding_dim, padding_idx, max_norm, norm_type,
                         scale_grad_by_freq, sparse)

    def forward(self, params, buffers, inputs, training):
        (idx,) = inputs
        w = self._weight(params, buffers)
        y = F.embedding(idx, w, self.padding_idx, self.max_norm, self.norm_type,
                        self.scale_grad_by_freq, self.sparse)
        new = self._new_buffers(w, idx, buffers)
        return (y,), new, (idx, new.get("weight_after", w))

    def backward(self, ctx, grad_outputs):
        idx, w = ctx
        _, gw = F.embedding_backward(grad_outputs[0], idx, w, self.padding_idx,
                                     scale_grad_by_freq=self.scale_grad_by_freq)
        return (None,), {"weight": gw}

    def error_scales(self, ctx, grad_outputs):
        """The lookup is exact; dW sums |g| over repeated indices."""
        idx, w = ctx
        _, gw = F.embedding_backward(np.abs(grad_outputs[0]), idx, w, self.padding_idx,
                                     scale_grad_by_freq=self.scale_grad_by_freq)
        return Scales(outputs=(None,), input_grads=(None,), param_grads={"weight": gw})


class EmbeddingBag(_EmbeddingBase):
    """Bags of embeddings reduced by sum / mean / max (see ``functional.embedding_bag``).

    Inputs ``(input,)``, ``(input, offsets)`` or ``(input, offsets, per_sample_weights)``
    (offsets None for 2-D input); outputs ``(out,)`` of shape (B, embedding_dim); input grads:
    one entry per input, ``None`` for the integer input and offsets, the gradient of
    per_sample_weights (mode 'sum' only) in third place; param grads ``{"weight"}``. max_norm
    state as for Embedding (``new_buffers["weight_after"]``).
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, max_norm: float | None = None,
                 norm_type: float = 2.0, scale_grad_by_freq: bool = False, mode: str = "mean",
                 sparse: bool = False, _weight=None, include_last_offset: bool = False,
                 padding_idx: int | None = None):
        super().__init__(num_embeddings, embedding_dim, padding_idx, max_norm, norm_type,
                         scale_grad_by_freq, sparse)
        self.mode, self.include_last_offset = mode, include_last_offset

    def _kw(self):
        return dict(norm_type=self.norm_type, scale_grad_by_freq=self.scale_grad_by_freq,
                    mode=self.mode, include_last_offset=self.include_last_offset,
                    padding_idx=self.padding_idx)

    def forward(self, params, buffers, inputs, training):
        idx, offsets, psw = (tuple(inputs) + (None, None))[:3]
        w = self._weight(params, buffers)
        out = F.embedding_bag(idx, w, offsets, max_norm=self.max_norm,
                              per_sample_weights=psw, **self._kw())
        new = self._new_buffers(w, idx, buffers)
        return (out,), new, (len(inputs), idx, offsets, psw, new.get("weight_after", w))

    def backward(self, ctx, grad_outputs, _abs=False):
        n, idx, offsets, psw, w = ctx
        g = grad_outputs[0]
        if _abs:  # magnitudes: every product and sum of the VJP on absolute values
            g, psw = np.abs(g), (None if psw is None else np.abs(psw))
            w = w if self.mode == "max" else np.abs(w)  # max keeps its argmax
        _, gw, _, gpsw = F.embedding_bag_backward(g, idx, w, offsets, per_sample_weights=psw,
                                                  **self._kw())
        return (None, None, gpsw)[:n], {"weight": gw}

    def error_scales(self, ctx, grad_outputs):
        """sum/mean: the bag sums on |W|, |w_j|; max: exact outputs. Gradients: the VJP on
        absolute values."""
        n, idx, offsets, psw, w = ctx
        out = None
        if self.mode != "max":
            out = F.embedding_bag(idx, np.abs(w), offsets,
                                  per_sample_weights=None if psw is None else np.abs(psw),
                                  **self._kw())
        gin, gpar = self.backward(ctx, grad_outputs, _abs=True)
        return Scales(outputs=(out,), input_grads=gin, param_grads=gpar)
