"""Attention and Transformer modules. Semantics: torch/nn/modules/activation.py
(MultiheadAttention) and torch/nn/modules/transformer.py (torch 2.13), taking the general
(non-fast) path those modules take in training mode or whenever autograd is recording.

Torch quirks the reference does not reproduce (all only in eval mode under ``torch.no_grad``):
- the MultiheadAttention / TransformerEncoderLayer "fast path" (``_native_multi_head_attention``,
  ``_transformer_encoder_layer_fwd``) computes the same function up to rounding, except that a
  query row whose keys are all masked gives NaN there even with ``need_weights=False`` (the
  general path gives 0 through scaled_dot_product_attention; NaN with ``need_weights=True``);
- TransformerEncoder with ``enable_nested_tensor=True`` and a boolean ``src_key_padding_mask``
  converts the input to a nested tensor, so padded positions come out as exactly 0 before the
  final norm (the general path computes them like any other position).

Dropout: the reference is deterministic; a module with ``dropout > 0`` raises in training mode
(construct it with ``dropout=0.0``); in eval mode dropout is the identity, as in torch.
"""

from __future__ import annotations

import math

import numpy as np

from ..functional.attention import _mha_backward, _mha_error_scales, _mha_forward
from .base import Module, Scales
from .linear import Linear

__all__ = ["MultiheadAttention", "TransformerEncoderLayer", "TransformerDecoderLayer",
           "TransformerEncoder", "TransformerDecoder", "Transformer"]


def _sub(params: dict, prefix: str) -> dict:
    return {k[len(prefix):]: v for k, v in params.items() if k.startswith(prefix)}


def _add_prefixed(into: dict, grads: dict, prefix: str) -> None:
    for k, v in grads.items():
        if v is not None:
            into[prefix + k] = into[prefix + k] + v if prefix + k in into else v


def _check_dropout(p: float, training: bool) -> None:
    if training and p > 0.0:
        raise ValueError("the reference is deterministic: construct the module with dropout=0.0 "
                         "to run it in training mode")


def _pad_inputs(inputs: tuple, defaults: tuple) -> tuple:
    if len(inputs) > len(defaults):
        raise TypeError(f"forward takes at most {len(defaults)} inputs, got {len(inputs)}")
    return tuple(inputs) + defaults[len(inputs):]


class MultiheadAttention(Module):
    """torch.nn.MultiheadAttention; forward inputs are ``(query, key, value, key_padding_mask=None,
    need_weights=True, attn_mask=None, average_attn_weights=True, is_causal=False)`` and outputs
    ``(attn_output, attn_weights)``; without need_weights torch returns ``(attn_output, None)``
    and the reference ``(attn_output,)`` (nothing to compare in the None). ``key`` and ``value``
    both None mean self-attention on ``query`` itself (the gradient of query then sums all
    three uses): torch's fast path needs ``query is key is value``, and the harness asks for
    it this way (backends/torch_calls.py).

    Parameters (torch state_dict names): ``in_proj_weight`` (3E, E) when kdim == vdim == E, else
    ``q_proj_weight`` (E, E), ``k_proj_weight`` (E, kdim), ``v_proj_weight`` (E, vdim);
    ``in_proj_bias`` (3E) and ``out_proj.bias`` (E) when bias; ``out_proj.weight`` (E, E);
    ``bias_k``, ``bias_v`` (1, 1, E) when add_bias_kv. batch_first transposes (N, L, E) inputs
    to (L, N, E) and the output back; it is ignored for unbatched inputs. The math is
    ``reference.functional.multi_head_attention_forward``.
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False, kdim: int | None = None,
                 vdim: int | None = None, batch_first: bool = False):
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"embed_dim and num_heads must be greater than 0, got "
                             f"embed_dim={embed_dim} and num_heads={num_heads} instead")
        if (embed_dim // num_heads) * num_heads != embed_dim:
            # torch raises AssertionError here; ValueError is the reference's invalid-input error
            raise ValueError("embed_dim must be divisible by num_heads")
        self.embed_dim, self.num_heads, self.dropout = embed_dim, num_heads, dropout
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.bias, self.add_bias_kv, self.add_zero_attn = bias, add_bias_kv, add_zero_attn
        self.batch_first = batch_first
        self.head_dim = embed_dim // num_heads

    def parameter_shapes(self):
        E = self.embed_dim
        if self._qkv_same_embed_dim:
            shapes = {"in_proj_weight": (3 * E, E)}
        else:
            shapes = {"q_proj_weight": (E, E), "k_proj_weight": (E, self.kdim),
                      "v_proj_weight": (E, self.vdim)}
        if self.bias:
            shapes["in_proj_bias"] = (3 * E,)
        shapes["out_proj.weight"] = (E, E)
        if self.bias:
            shapes["out_proj.bias"] = (E,)
        if self.add_bias_kv:
            shapes["bias_k"] = (1, 1, E)
            shapes["bias_v"] = (1, 1, E)
        return shapes

    def forward(self, params, buffers, inputs, training):
        _check_dropout(self.dropout, training)
        (query, key, value, kpm, need_weights, attn_mask, average,
         is_causal) = _pad_inputs(inputs, (None, None, None, None, True, None, True, False))
        # key/value None: self-attention on the very tensor query (the harness's way to ask for
        # torch's ``query is key is value`` fast path); their gradients go to query.
        self_attn = key is None and value is None
        if self_attn:
            key = value = query
        swap = self.batch_first and query.ndim == 3
        if swap:
            query, key, value = (np.swapaxes(x, 0, 1) for x in (query, key, value))
        out, weights, cache = _mha_forward(
            query, key, value, self.embed_dim, self.num_heads, params.get("in_proj_weight"),
            params.get("in_proj_bias"), params.get("bias_k"), params.get("bias_v"),
            self.add_zero_attn, self.dropout, params["out_proj.weight"],
            params.get("out_proj.bias"), training=training, key_padding_mask=kpm,
            need_weights=need_weights, attn_mask=attn_mask,
            use_separate_proj_weight=not self._qkv_same_embed_dim,
            q_proj_weight=params.get("q_proj_weight"), k_proj_weight=params.get("k_proj_weight"),
            v_proj_weight=params.get("v_proj_weight"), average_attn_weights=average,
            is_causal=is_causal)
        if swap:
            out = np.swapaxes(out, 0, 1)
        # torch returns (attn_output, None) without weights; the None is not an output to compare
        outs = (out, weights) if weights is not None else (out,)
        return outs, dict(buffers), (cache, swap, len(inputs), self_attn)

    _NAMES = {"in_proj_weight": "in_proj_weight", "q_proj_weight": "q_proj_weight",
              "k_proj_weight": "k_proj_weight", "v_proj_weight": "v_proj_weight",
              "in_proj_bias": "in_proj_bias", "out_proj_weight": "out_proj.weight",
              "out_proj_bias": "out_proj.bias", "bias_k": "bias_k", "bias_v": "bias_v"}

    def _input_grads(self, g, swap, n_inputs, self_attn):
        gq, gk, gv = g["query"], g["key"], g["value"]
        if swap:
            gq, gk, gv = (np.swapaxes(x, 0, 1) for x in (gq, gk, gv))
        if self_attn:
            return (gq + gk + gv, None, None) + (None,) * (n_inputs - 3)
        return (gq, gk, gv) + (None,) * (n_inputs - 3)

    def error_scales(self, ctx, grad_outputs):
        """First-order error magnitudes of the outputs and gradients (rule ``attention``; see
        reference.functional.attention)."""
        cache, swap, n_inputs, self_attn = ctx
        g_out = grad_outputs[0] if grad_outputs else None
        g_w = grad_outputs[1] if grad_outputs and len(grad_outputs) > 1 else None
        if swap and g_out is not None:
            g_out = np.swapaxes(g_out, 0, 1)
        m = _mha_error_scales(cache, g_out, g_w)
        out = np.swapaxes(m["out"], 0, 1) if swap else m["out"]
        outs = (out, m["weights"]) if cache["need_weights"] else (out,)
        if g_out is None:
            return Scales(outputs=outs)
        pg = {self._NAMES[k]: v for k, v in m.items() if k in self._NAMES and v is not None}
        return Scales(outputs=outs,
                      input_grads=self._input_grads(m, swap, n_inputs, self_attn),
                      param_grads=pg)

    def backward(self, ctx, grad_outputs):
        cache, swap, n_inputs, self_attn = ctx
        g_out = grad_outputs[0]
        g_w = grad_outputs[1] if len(grad_outputs) > 1 else None
        if swap:
            g_out = np.swapaxes(g_out, 0, 1)
        g = _mha_backward(cache, g_out, g_w)
        pg = {self._NAMES[k]: v for k, v in g.items() if k in self._NAMES and v is not None}
        return self._input_grads(g, swap, n_inputs, self_attn), pg


class _LayerNorm(Module):
    """Private layer norm over the last axis (torch.nn.LayerNorm(d, eps, bias=...)):
    y = (x - mean) / sqrt(var_biased + eps) * weight + bias."""

    def __init__(self, d: int, eps: float = 1e-5, bias: bool = True):
        self.d, self.eps, self.bias = d, eps, bias

    def parameter_shapes(self):
        return {"weight": (self.d,), **({"bias": (self.d,)} if self.bias else {})}

    def forward(self, params, buffers, inputs, training):
        (x,) = inputs
        mu = x.mean(axis=-1, keepdims=True)
        invstd = 1.0 / np.sqrt(((x - mu) ** 2).mean(axis=-1, keepdims=True) + self.eps)
        xhat = (x - mu) * invstd
        y = xhat * params["weight"]
        if self.bias:
            y = y + params["bias"]
        return (y,), dict(buffers), (xhat, invstd, params["weight"])

    def backward(self, ctx, grad_outputs):
        """dx = invstd (gh - mean(gh) - xhat mean(gh xhat)) with gh = g * weight."""
        xhat, invstd, w = ctx
        g = grad_outputs[0]
        gh = g * w
        gx = invstd * (gh - gh.mean(axis=-1, keepdims=True)
                       - xhat * (gh * xhat).mean(axis=-1, keepdims=True))
        axes = tuple(range(g.ndim - 1))
        grads = {"weight": (g * xhat).sum(axis=axes)}
        if self.bias:
            grads["bias"] = g.sum(axis=axes)
        return (gx,), grads


def _erf(x: np.ndarray) -> np.ndarray:
    return np.vectorize(math.erf, otypes=[float])(x)


def _activation(name: str, x: np.ndarray) -> np.ndarray:
    if name == "relu":
        return np.maximum(x, 0.0)
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))  # exact gelu (approximate='none')


def _activation_backward(name: str, g: np.ndarray, x: np.ndarray) -> np.ndarray:
    if name == "relu":
        return np.where(x > 0, g, 0.0)
    cdf = 0.5 * (1.0 + _erf(x / math.sqrt(2.0)))
    pdf = np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)
    return g * (cdf + x * pdf)


def _check_activation(activation) -> str:
    if activation not in ("relu", "gelu"):
        raise RuntimeError(f"activation should be relu/gelu, not {activation}")
    return activation


class _FeedForward:
    """linear2(activation(linear1(x))) with parameters linear1.*, linear2.*."""

    def __init__(self, d_model, dim_feedforward, activation, bias):
        self.l1, self.l2 = Linear(d_model, dim_feedforward, bias), Linear(dim_feedforward,
                                                                           d_model, bias)
        self.activation = activation

    def shapes(self):
        return {**{"linear1." + k: v for k, v in self.l1.parameter_shapes().items()},
                **{"linear2." + k: v for k, v in self.l2.parameter_shapes().items()}}

    def forward(self, params, x):
        (h,), _, c1 = self.l1.forward(_sub(params, "linear1."), {}, (x,), False)
        a = _activation(self.activation, h)
        (y,), _, c2 = self.l2.forward(_sub(params, "linear2."), {}, (a,), False)
        return y, (c1, h, c2)

    def backward(self, ctx, g, grads):
        c1, h, c2 = ctx
        (ga,), g2 = self.l2.backward(c2, (g,))
        (gx,), g1 = self.l1.backward(c1, (_activation_backward(self.activation, ga, h),))
        _add_prefixed(grads, g1, "linear1.")
        _add_prefixed(grads, g2, "linear2.")
        return gx


def _residual_norm_forward(norm, params, name, x, block, norm_first):
    """norm_first: x + block(norm(x)); else norm(x + block(x)). ``block(z) -> (y, back)``."""
    if norm_first:
        (z,), _, cn = norm.forward(_sub(params, name + "."), {}, (x,), False)
        y, back = block(z)
        return x + y, ("pre", cn, back)
    y, back = block(x)
    (out,), _, cn = norm.forward(_sub(params, name + "."), {}, (x + y,), False)
    return out, ("post", cn, back)


def _residual_norm_backward(norm, name, ctx, g, grads):
    """Returns the gradient w.r.t. x; block's back(gy) returns the gradient w.r.t. its input."""
    kind, cn, back = ctx
    if kind == "pre":
        gz = back(g)
        (gx,), gn = norm.backward(cn, (gz,))
        _add_prefixed(grads, gn, name + ".")
        return g + gx
    (gs,), gn = norm.backward(cn, (g,))
    _add_prefixed(grads, gn, name + ".")
    return gs + back(gs)


def _mha_block(mha, params, prefix, q, kv, mask, kpm, is_causal, training, grads, extra):
    """Self or cross attention (need_weights=False, as torch's _sa_block/_mha_block call it).
    ``extra`` collects the gradient w.r.t. ``kv`` when it is not ``q`` (cross attention)."""
    p = _sub(params, prefix + ".")
    (y,), _, c = mha.forward(p, {}, (q, kv, kv, kpm, False, mask, True, is_causal), training)

    def back(gy):
        (gq, gk, gv, *_), gp = mha.backward(c, (gy, None))
        _add_prefixed(grads, gp, prefix + ".")
        if kv is q:
            return gq + gk + gv
        extra.append(gk + gv)
        return gq
    return y, back


class _Normwise(Module):
    """Composite Transformer modules: ``_forward`` / ``_backward`` do the work; the context
    keeps the outputs so that ``error_scales`` can give normwise scales.

    Error scales are normwise: each output and gradient array is measured relative to its
    largest magnitude (as optimizer trajectories are). Layer norms, residual sums and the
    feed-forward block chained around the attention make a componentwise first-order bound
    unwieldy, and a gradient that is exactly zero by symmetry (the key bias: softmax ignores a
    constant added to every score of a row) must not turn rounding into an unbounded relative
    error. MultiheadAttention alone has componentwise scales.

    ``normwise_scales``: these magnitudes are not first-order error bounds, so the harness also
    measures how far the reference itself moves when its data move by one eps (a gradient deep
    in the chain can be ill-conditioned) and raises a scale to cover that drift
    (harness.families.module._sensitivity).
    """

    normwise_scales = True

    def forward(self, params, buffers, inputs, training):
        outs, new_buffers, ctx = self._forward(params, buffers, inputs, training)
        return outs, new_buffers, (ctx, outs)

    def backward(self, ctx, grad_outputs):
        return self._backward(ctx[0], grad_outputs)

    def error_scales(self, ctx, grad_outputs):
        def norm(a):
            return None if a is None else float(np.max(np.abs(a), initial=0.0))
        outs = tuple(norm(o) for o in ctx[1])
        if grad_outputs is None:
            return Scales(outputs=outs)
        g_in, g_par = self._backward(ctx[0], grad_outputs)
        return Scales(outputs=outs, input_grads=tuple(norm(g) for g in g_in),
                      param_grads={k: norm(v) for k, v in g_par.items()})


class TransformerEncoderLayer(_Normwise):
    """torch.nn.TransformerEncoderLayer; inputs ``(src, src_mask=None, src_key_padding_mask=None,
    is_causal=False)``.

    post-norm: x = norm1(x + SA(x)); x = norm2(x + FF(x))
    pre-norm (norm_first): x = x + SA(norm1(x)); x = x + FF(norm2(x))
    SA(x) = self_attn(x, x, x, attn_mask=src_mask, key_padding_mask=src_key_padding_mask,
    need_weights=False, is_causal)[0]; FF(x) = linear2(activation(linear1(x))); activation is
    'relu' or 'gelu' (exact erf form). LayerNorms have eps=layer_norm_eps and a bias iff ``bias``.
    Parameter names: self_attn.*, linear1.*, linear2.*, norm1.*, norm2.*.
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048,
                 dropout: float = 0.1, activation: str = "relu", layer_norm_eps: float = 1e-5,
                 batch_first: bool = False, norm_first: bool = False, bias: bool = True):
        self.d_model, self.nhead, self.dim_feedforward = d_model, nhead, dim_feedforward
        self.dropout, self.activation = dropout, _check_activation(activation)
        self.layer_norm_eps, self.batch_first, self.norm_first = (layer_norm_eps, batch_first,
                                                                  norm_first)
        self.bias = bias
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                            batch_first=batch_first)
        self.ff = _FeedForward(d_model, dim_feedforward, activation, bias)
        self.norm = _LayerNorm(d_model, layer_norm_eps, bias)

    def parameter_shapes(self):
        shapes = {"self_attn." + k: v for k, v in self.self_attn.parameter_shapes().items()}
        shapes.update(self.ff.shapes())
        for n in ("norm1", "norm2"):
            shapes.update({n + "." + k: v for k, v in self.norm.parameter_shapes().items()})
        return shapes

    def _forward(self, params, buffers, inputs, training):
        _check_dropout(self.dropout, training)
        src, mask, kpm, is_causal = _pad_inputs(inputs, (None, None, None, False))
        grads_box: dict = {}
        x, c1 = _residual_norm_forward(
            self.norm, params, "norm1", src,
            lambda z: _mha_block(self.self_attn, params, "self_attn", z, z, mask, kpm,
                                 bool(is_causal), training, grads_box, []),
            self.norm_first)
        x, c2 = _residual_norm_forward(self.norm, params, "norm2", x,
                                       lambda z: self._ff(params, z, grads_box), self.norm_first)
        return (x,), dict(buffers), (c1, c2, grads_box, len(inputs))

    def _ff(self, params, z, grads):
        y, c = self.ff.forward(params, z)
        return y, lambda g: self.ff.backward(c, g, grads)

    def _backward(self, ctx, grad_outputs):
        c1, c2, grads, n = ctx
        grads.clear()
        g = _residual_norm_backward(self.norm, "norm2", c2, grad_outputs[0], grads)
        g = _residual_norm_backward(self.norm, "norm1", c1, g, grads)
        return (g,) + (None,) * (n - 1), dict(grads)


class TransformerDecoderLayer(_Normwise):
    """torch.nn.TransformerDecoderLayer; inputs ``(tgt, memory, tgt_mask=None, memory_mask=None,
    tgt_key_padding_mask=None, memory_key_padding_mask=None, tgt_is_causal=False,
    memory_is_causal=False)``.

    post-norm: x = norm1(x + SA(x)); x = norm2(x + CA(x, mem)); x = norm3(x + FF(x))
    pre-norm:  x = x + SA(norm1(x)); x = x + CA(norm2(x), mem); x = x + FF(norm3(x))
    SA uses self_attn with tgt_mask / tgt_key_padding_mask / tgt_is_causal; CA uses
    multihead_attn(x, mem, mem) with memory_mask / memory_key_padding_mask / memory_is_causal
    (need_weights=False in both). Parameter names: self_attn.*, multihead_attn.*, linear1.*,
    linear2.*, norm1.*, norm2.*, norm3.*.
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048,
                 dropout: float = 0.1, activation: str = "relu", layer_norm_eps: float = 1e-5,
                 batch_first: bool = False, norm_first: bool = False, bias: bool = True):
        self.d_model, self.nhead, self.dim_feedforward = d_model, nhead, dim_feedforward
        self.dropout, self.activation = dropout, _check_activation(activation)
        self.layer_norm_eps, self.batch_first, self.norm_first = (layer_norm_eps, batch_first,
                                                                  norm_first)
        self.bias = bias
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                            batch_first=batch_first)
        self.multihead_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                                 batch_first=batch_first)
        self.ff = _FeedForward(d_model, dim_feedforward, activation, bias)
        self.norm = _LayerNorm(d_model, layer_norm_eps, bias)

    def parameter_shapes(self):
        shapes = {"self_attn." + k: v for k, v in self.self_attn.parameter_shapes().items()}
        shapes.update({"multihead_attn." + k: v
                       for k, v in self.multihead_attn.parameter_shapes().items()})
        shapes.update(self.ff.shapes())
        for n in ("norm1", "norm2", "norm3"):
            shapes.update({n + "." + k: v for k, v in self.norm.parameter_shapes().items()})
        return shapes

    def _forward(self, params, buffers, inputs, training):
        _check_dropout(self.dropout, training)
        (tgt, memory, tgt_mask, memory_mask, tgt_kpm, memory_kpm, tgt_is_causal,
         memory_is_causal) = _pad_inputs(inputs, (None, None, None, None, None, None, False,
                                                  False))
        grads: dict = {}
        mem_grads: list = []
        x, c1 = _residual_norm_forward(
            self.norm, params, "norm1", tgt,
            lambda z: _mha_block(self.self_attn, params, "self_attn", z, z, tgt_mask, tgt_kpm,
                                 bool(tgt_is_causal), training, grads, []), self.norm_first)
        x, c2 = _residual_norm_forward(
            self.norm, params, "norm2", x,
            lambda z: _mha_block(self.multihead_attn, params, "multihead_attn", z, memory,
                                 memory_mask, memory_kpm, bool(memory_is_causal), training,
                                 grads, mem_grads), self.norm_first)
        x, c3 = _residual_norm_forward(self.norm, params, "norm3", x,
                                       lambda z: self._ff(params, z, grads), self.norm_first)
        return (x,), dict(buffers), (c1, c2, c3, grads, mem_grads, len(inputs))

    _ff = TransformerEncoderLayer._ff

    def _backward(self, ctx, grad_outputs):
        c1, c2, c3, grads, mem_grads, n = ctx
        grads.clear()
        mem_grads.clear()
        g = _residual_norm_backward(self.norm, "norm3", c3, grad_outputs[0], grads)
        g = _residual_norm_backward(self.norm, "norm2", c2, g, grads)
        g = _residual_norm_backward(self.norm, "norm1", c1, g, grads)
        return (g, sum(mem_grads)) + (None,) * (n - 2), dict(grads)


def _final_norm(norm, d_model):
    """The optional final norm of a stack: None, or a LayerNorm-like object (its ``eps`` and
    ``bias`` attributes are read, defaults 1e-5 and True; ``bias`` may be a bool or a parameter /
    None) over the last axis of size d_model."""
    if norm is None:
        return None
    b = getattr(norm, "bias", True)
    return _LayerNorm(d_model, float(getattr(norm, "eps", 1e-5)),
                      b if isinstance(b, bool) else b is not None)


class TransformerEncoder(_Normwise):
    """torch.nn.TransformerEncoder(encoder_layer, num_layers, norm=None); inputs ``(src,
    mask=None, src_key_padding_mask=None, is_causal=None)``.

    num_layers copies of ``encoder_layer`` (parameters ``layers.{i}.*``, each its own) applied in
    turn with the same masks, then the optional final LayerNorm (``norm.weight``, ``norm.bias``).
    ``is_causal=None`` makes torch test whether ``mask`` equals the square causal mask; that only
    selects between two equal computations, so the reference treats None as False.
    """

    def __init__(self, encoder_layer: TransformerEncoderLayer, num_layers: int, norm=None,
                 enable_nested_tensor: bool = True, mask_check: bool = True):
        self.layer, self.num_layers = encoder_layer, num_layers
        self.norm = _final_norm(norm, encoder_layer.d_model)

    def parameter_shapes(self):
        shapes = {}
        for i in range(self.num_layers):
            shapes.update({f"layers.{i}.{k}": v
                           for k, v in self.layer.parameter_shapes().items()})
        if self.norm is not None:
            shapes.update({"norm." + k: v for k, v in self.norm.parameter_shapes().items()})
        return shapes

    def _forward(self, params, buffers, inputs, training):
        src, mask, kpm, is_causal = _pad_inputs(inputs, (None, None, None, None))
        x, ctxs = src, []
        for i in range(self.num_layers):
            (x,), _, c = self.layer.forward(_sub(params, f"layers.{i}."), {},
                                            (x, mask, kpm, bool(is_causal)), training)
            ctxs.append(c)
        cn = None
        if self.norm is not None:
            (x,), _, cn = self.norm.forward(_sub(params, "norm."), {}, (x,), training)
        return (x,), dict(buffers), (ctxs, cn, len(inputs))

    def _backward(self, ctx, grad_outputs):
        ctxs, cn, n = ctx
        g, grads = grad_outputs[0], {}
        if cn is not None:
            (g,), gn = self.norm.backward(cn, (g,))
            _add_prefixed(grads, gn, "norm.")
        for i in reversed(range(self.num_layers)):
            (g, *_), gl = self.layer.backward(ctxs[i], (g,))
            _add_prefixed(grads, gl, f"layers.{i}.")
        return (g,) + (None,) * (n - 1), grads


class TransformerDecoder(_Normwise):
    """torch.nn.TransformerDecoder(decoder_layer, num_layers, norm=None); inputs ``(tgt, memory,
    tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None, memory_key_padding_mask=None,
    tgt_is_causal=None, memory_is_causal=False)``; layers ``layers.{i}.*`` then the optional
    final ``norm.*``. The memory gradient sums over the layers. tgt_is_causal=None as in
    TransformerEncoder."""

    def __init__(self, decoder_layer: TransformerDecoderLayer, num_layers: int, norm=None):
        self.layer, self.num_layers = decoder_layer, num_layers
        self.norm = _final_norm(norm, decoder_layer.d_model)

    parameter_shapes = TransformerEncoder.parameter_shapes

    def _forward(self, params, buffers, inputs, training):
        (tgt, memory, tgt_mask, memory_mask, tgt_kpm, memory_kpm, tgt_is_causal,
         memory_is_causal) = _pad_inputs(inputs, (None, None, None, None, None, None, None,
                                                  False))
        x, ctxs = tgt, []
        for i in range(self.num_layers):
            (x,), _, c = self.layer.forward(
                _sub(params, f"layers.{i}."), {},
                (x, memory, tgt_mask, memory_mask, tgt_kpm, memory_kpm, bool(tgt_is_causal),
                 bool(memory_is_causal)), training)
            ctxs.append(c)
        cn = None
        if self.norm is not None:
            (x,), _, cn = self.norm.forward(_sub(params, "norm."), {}, (x,), training)
        return (x,), dict(buffers), (ctxs, cn, len(inputs))

    def _backward(self, ctx, grad_outputs):
        ctxs, cn, n = ctx
        g, grads, gmem = grad_outputs[0], {}, 0.0
        if cn is not None:
            (g,), gn = self.norm.backward(cn, (g,))
            _add_prefixed(grads, gn, "norm.")
        for i in reversed(range(self.num_layers)):
            (g, gm, *_), gl = self.layer.backward(ctxs[i], (g,))
            gmem = gmem + gm
            _add_prefixed(grads, gl, f"layers.{i}.")
        return (g, gmem) + (None,) * (n - 2), grads


class Transformer(_Normwise):
    """torch.nn.Transformer without custom encoder/decoder; inputs ``(src, tgt, src_mask=None,
    tgt_mask=None, memory_mask=None, src_key_padding_mask=None, tgt_key_padding_mask=None,
    memory_key_padding_mask=None, src_is_causal=None, tgt_is_causal=None,
    memory_is_causal=False)``.

    memory = encoder(src) (num_encoder_layers layers + final LayerNorm ``encoder.norm``), output
    = decoder(tgt, memory) (num_decoder_layers layers + final LayerNorm ``decoder.norm``);
    parameter names ``encoder.layers.{i}.*``, ``encoder.norm.*``, ``decoder.layers.{i}.*``,
    ``decoder.norm.*``. Raises like torch when the batch sizes or feature sizes disagree.
    """

    def __init__(self, d_model: int = 512, nhead: int = 8, num_encoder_layers: int = 6,
                 num_decoder_layers: int = 6, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation: str = "relu", custom_encoder=None, custom_decoder=None,
                 layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True):
        if custom_encoder is not None or custom_decoder is not None:
            raise NotImplementedError("custom_encoder / custom_decoder are not supported")
        self.d_model, self.nhead, self.batch_first = d_model, nhead, batch_first
        enc_layer = TransformerEncoderLayer(d_model, nhead, dim_feedforward, dropout, activation,
                                            layer_norm_eps, batch_first, norm_first, bias)
        dec_layer = TransformerDecoderLayer(d_model, nhead, dim_feedforward, dropout, activation,
                                            layer_norm_eps, batch_first, norm_first, bias)
        norm = _LayerNorm(d_model, layer_norm_eps, bias)
        self.encoder = TransformerEncoder(enc_layer, num_encoder_layers, norm)
        self.decoder = TransformerDecoder(dec_layer, num_decoder_layers, norm)

    def parameter_shapes(self):
        return {**{"encoder." + k: v for k, v in self.encoder.parameter_shapes().items()},
                **{"decoder." + k: v for k, v in self.decoder.parameter_shapes().items()}}

    def _forward(self, params, buffers, inputs, training):
        (src, tgt, src_mask, tgt_mask, memory_mask, src_kpm, tgt_kpm, memory_kpm, src_is_causal,
         tgt_is_causal, memory_is_causal) = _pad_inputs(
            inputs, (None,) * 8 + (None, None, False))
        batched = src.ndim == 3
        bdim = 0 if self.batch_first else 1
        if batched and src.shape[bdim] != tgt.shape[bdim]:
            raise RuntimeError("the batch number of src and tgt must be equal")
        if src.shape[-1] != self.d_model or tgt.shape[-1] != self.d_model:
            raise RuntimeError("the feature number of src and tgt must be equal to d_model")
        (memory,), _, ce = self.encoder.forward(_sub(params, "encoder."), {},
                                                (src, src_mask, src_kpm, src_is_causal),
                                                training)
        (out,), _, cd = self.decoder.forward(
            _sub(params, "decoder."), {},
            (tgt, memory, tgt_mask, memory_mask, tgt_kpm, memory_kpm, tgt_is_causal,
             memory_is_causal), training)
        return (out,), dict(buffers), (ce, cd, len(inputs))

    def _backward(self, ctx, grad_outputs):
        ce, cd, n = ctx
        grads: dict = {}
        (gtgt, gmem, *_), gd = self.decoder.backward(cd, grad_outputs)
        (gsrc, *_), ge = self.encoder.backward(ce, (gmem,))
        _add_prefixed(grads, ge, "encoder.")
        _add_prefixed(grads, gd, "decoder.")
        return (gsrc, gtgt) + (None,) * (n - 2), grads
