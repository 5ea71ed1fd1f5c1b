"""Attention. Semantics: torch.nn.functional.scaled_dot_product_attention docs (the 'equivalent
to' code block) and torch/nn/functional.py ``multi_head_attention_forward`` (torch 2.13).

Notation: S = scores = scale * q k^T + bias, P = softmax(S) over the key axis, O = P v.
The VJP through the softmax is dS = P * (dP - sum_k(dP * P)), with dP = dO v^T; then
dq = scale * dS k, dk = scale * dS^T q, dv = P^T dO.

Fully masked rows (every score -inf):
- scaled_dot_product_attention (CPU math / flash kernels of torch 2.13) uses a "safe" softmax: the
  row of probabilities is all zeros, so the output row is 0 and its gradients are 0.
- multi_head_attention_forward with ``need_weights=True`` calls plain ``softmax`` (0/0): the row,
  the returned weights and every gradient that touches it are NaN. With ``need_weights=False`` it
  goes through scaled_dot_product_attention and the row is 0.
"""

from __future__ import annotations

import math

import numpy as np

from .linear import linear, linear_backward

__all__ = ["scaled_dot_product_attention", "scaled_dot_product_attention_backward",
           "scaled_dot_product_attention_error_scales",
           "multi_head_attention_forward", "multi_head_attention_forward_backward"]


def _softmax(s: np.ndarray, safe: bool) -> np.ndarray:
    """Softmax over the last axis; a row of all -inf gives 0 (safe) or NaN (torch.softmax)."""
    m = np.max(s, axis=-1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    e = np.exp(s - m)
    tot = e.sum(axis=-1, keepdims=True)
    if safe:
        dead = np.all(s == -np.inf, axis=-1, keepdims=True)
        return np.where(dead, 0.0, e / np.where(dead, 1.0, tot))
    with np.errstate(invalid="ignore", divide="ignore"):
        return e / tot


def _softmax_backward(dp: np.ndarray, p: np.ndarray) -> np.ndarray:
    return p * (dp - np.sum(dp * p, axis=-1, keepdims=True))


def _unbroadcast(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum ``g`` down to ``shape`` (the adjoint of NumPy broadcasting)."""
    while g.ndim > len(shape):
        g = g.sum(axis=0)
    for ax, n in enumerate(shape):
        if n == 1 and g.shape[ax] != 1:
            g = g.sum(axis=ax, keepdims=True)
    return g


def _sdpa_bias(attn_mask, is_causal: bool, L: int, S: int) -> np.ndarray:
    bias = np.zeros((L, S))
    if is_causal:
        # Upper-left aligned: query i sees keys 0..i (torch.ones(L, S).tril(0)).
        bias = np.where(np.tril(np.ones((L, S), dtype=bool)), 0.0, -np.inf)
    if attn_mask is not None:
        attn_mask = np.asarray(attn_mask)
        if attn_mask.dtype == np.bool_:
            bias = np.where(attn_mask, bias, -np.inf)
        else:
            bias = attn_mask + bias
    return bias


def _gqa_groups(query, key, value, enable_gqa: bool) -> int:
    if not enable_gqa or query.ndim < 3:  # 2-D (L, E) inputs have no head axis
        return 1
    hq, hk, hv = query.shape[-3], key.shape[-3], value.shape[-3]
    if hq == hk:
        return 1
    if hk != hv or hq % hk != 0:
        raise RuntimeError(f"enable_gqa: number of query heads ({hq}) must be a multiple of the "
                           f"number of key/value heads ({hk}, {hv}), and key/value heads equal")
    return hq // hk


def _sdpa_check(query, key, value, attn_mask, dropout_p, is_causal, scale, enable_gqa):
    if dropout_p != 0.0:
        raise ValueError("the reference is deterministic: dropout_p must be 0.0")
    if is_causal and attn_mask is not None:
        raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not be set "
                           "when is_causal=True")
    if query.shape[-1] != key.shape[-1]:
        raise RuntimeError(f"query and key must have the same embedding dimension, got "
                           f"{query.shape[-1]} and {key.shape[-1]}")
    if key.shape[-2] != value.shape[-2]:
        raise RuntimeError("key and value must have the same sequence length")
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    return scale, _gqa_groups(query, key, value, enable_gqa)


def _sdpa_forward(query, key, value, attn_mask, dropout_p, is_causal, scale, enable_gqa):
    scale, groups = _sdpa_check(query, key, value, attn_mask, dropout_p, is_causal, scale,
                                 enable_gqa)
    k = np.repeat(key, groups, axis=-3) if groups > 1 else key
    v = np.repeat(value, groups, axis=-3) if groups > 1 else value
    bias = _sdpa_bias(attn_mask, is_causal, query.shape[-2], key.shape[-2])
    s = (query @ np.swapaxes(k, -1, -2)) * scale + bias
    p = _softmax(s, safe=True)
    return p @ v, (k, v, p, scale, groups)


def scaled_dot_product_attention(query: np.ndarray, key: np.ndarray, value: np.ndarray,
                                 attn_mask: np.ndarray | None = None, dropout_p: float = 0.0,
                                 is_causal: bool = False, scale: float | None = None,
                                 enable_gqa: bool = False) -> np.ndarray:
    """softmax(q k^T * scale + bias) v over query (..., Hq, L, E), key (..., H, S, E), value
    (..., H, S, Ev).

    scale defaults to 1/sqrt(E). bias is 0, then -inf above the diagonal of the (L, S) matrix when
    ``is_causal`` (upper-left aligned, ``tril(diagonal=0)``), then a boolean ``attn_mask`` sets -inf
    where it is False (True = take part) and a float ``attn_mask`` is added; both broadcast to
    (..., Hq, L, S). ``attn_mask`` together with ``is_causal`` raises RuntimeError, as the docs'
    code asserts and torch's math path does (torch 2.13's CPU flash kernel, taken without
    autograd, silently applies both). ``enable_gqa`` repeats each key/value
    head Hq/H times (``repeat_interleave`` on dim -3). A row with every key masked gives 0 (safe
    softmax). dropout_p must be 0.
    """
    return _sdpa_forward(query, key, value, attn_mask, dropout_p, is_causal, scale,
                         enable_gqa)[0]


def scaled_dot_product_attention_backward(grad_output: np.ndarray, query: np.ndarray,
                                          key: np.ndarray, value: np.ndarray,
                                          attn_mask: np.ndarray | None = None,
                                          dropout_p: float = 0.0, is_causal: bool = False,
                                          scale: float | None = None, enable_gqa: bool = False):
    """VJP: returns (d query, d key, d value, d attn_mask) (the last is None unless the mask is
    a float tensor; it is dS summed to the mask's broadcast shape).

    dP = dO v^T; dS = P (dP - rowsum(dP P)); dq = scale dS k; dk = scale dS^T q; dv = P^T dO;
    with GQA the repeated heads' dk, dv are summed back per key/value head.
    """
    _, (k, v, p, scale, groups) = _sdpa_forward(query, key, value, attn_mask, dropout_p,
                                                is_causal, scale, enable_gqa)
    dp = grad_output @ np.swapaxes(v, -1, -2)
    ds = _softmax_backward(dp, p)
    dq = (ds @ k) * scale
    dk = (np.swapaxes(ds, -1, -2) @ query) * scale
    dv = np.swapaxes(p, -1, -2) @ grad_output
    if groups > 1:
        def fold(g):
            sh = g.shape
            return g.reshape(sh[:-3] + (sh[-3] // groups, groups) + sh[-2:]).sum(axis=-3)
        dk, dv = fold(dk), fold(dv)
    dq, dk, dv = (_unbroadcast(g, x.shape) for g, x in ((dq, query), (dk, key), (dv, value)))
    dmask = None
    if attn_mask is not None and np.asarray(attn_mask).dtype != np.bool_:
        dmask = _unbroadcast(ds, np.shape(attn_mask))
    return dq, dk, dv, dmask


# --------------------------------------------------------------------------- multi-head attention

def _canonical_mask(mask):
    """torch F._canonical_mask: bool -> 0 / -inf (True = masked out), float kept as is."""
    if mask is None:
        return None
    mask = np.asarray(mask)
    if mask.dtype == np.bool_:
        return np.where(mask, -np.inf, 0.0)
    if mask.dtype.kind != "f":
        raise AssertionError("only bool and floating types of masks are supported")
    return mask


def _mha_forward(query, key, value, embed_dim_to_check, num_heads, in_proj_weight, in_proj_bias,
                 bias_k, bias_v, add_zero_attn, dropout_p, out_proj_weight, out_proj_bias,
                 training=True, key_padding_mask=None, need_weights=True, attn_mask=None,
                 use_separate_proj_weight=False, q_proj_weight=None, k_proj_weight=None,
                 v_proj_weight=None, static_k=None, static_v=None, average_attn_weights=True,
                 is_causal=False):
    """Forward of multi_head_attention_forward, returning the cache its backward needs."""
    if static_k is not None or static_v is not None:
        raise NotImplementedError("static_k / static_v are not supported by the reference")
    if training and dropout_p != 0.0:
        raise ValueError("the reference is deterministic: dropout_p must be 0.0 in training")
    if query.ndim == 3:
        batched = True
        if key.ndim != 3 or value.ndim != 3:
            raise AssertionError("For batched (3-D) `query`, expected `key` and `value` to be 3-D")
        if key_padding_mask is not None and np.ndim(key_padding_mask) != 2:
            raise AssertionError("For batched (3-D) `query`, expected `key_padding_mask` to be "
                                 "`None` or 2-D")
    elif query.ndim == 2:
        batched = False
        if key.ndim != 2 or value.ndim != 2:
            raise AssertionError("For unbatched (2-D) `query`, expected `key` and `value` to be "
                                 "2-D")
        if key_padding_mask is not None and np.ndim(key_padding_mask) != 1:
            raise AssertionError("For unbatched (2-D) `query`, expected `key_padding_mask` to be "
                                 "`None` or 1-D")
    else:
        raise AssertionError(f"query should be unbatched 2D or batched 3D tensor but received "
                             f"{query.ndim}-D query tensor")
    if attn_mask is not None and np.ndim(attn_mask) not in (2, 3):
        raise AssertionError("expected `attn_mask` to be `None`, 2-D or 3-D")
    if not batched:
        query, key, value = query[:, None], key[:, None], value[:, None]
        if key_padding_mask is not None:
            key_padding_mask = np.asarray(key_padding_mask)[None]
    L, N, E = query.shape
    S = key.shape[0]
    kpm = _canonical_mask(key_padding_mask)
    if is_causal and attn_mask is None:
        raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use the "
                           "Transformer module method `generate_square_subsequent_mask` to "
                           "create this mask.")
    # torch drops attn_mask and relies on the causal flag only on the SDPA path without kpm.
    causal_only = bool(is_causal and kpm is None and not need_weights)
    amask = None if causal_only else _canonical_mask(attn_mask)
    if E != embed_dim_to_check:
        raise AssertionError(f"was expecting embedding dimension of {embed_dim_to_check}, but "
                             f"got {E}")
    hd = E // num_heads
    if hd * num_heads != E:
        raise AssertionError(f"embed_dim {E} not divisible by num_heads {num_heads}")
    if use_separate_proj_weight:
        if key.shape[:2] != value.shape[:2]:
            raise AssertionError(f"key's sequence and batch dims {key.shape[:2]} do not match "
                                 f"value's {value.shape[:2]}")
        wq, wk, wv = q_proj_weight, k_proj_weight, v_proj_weight
    else:
        if key.shape != value.shape:
            raise AssertionError(f"key shape {key.shape} does not match value shape "
                                 f"{value.shape}")
        wq, wk, wv = in_proj_weight[:E], in_proj_weight[E:2 * E], in_proj_weight[2 * E:]
    bq = bk = bv = None
    if in_proj_bias is not None:
        bq, bk, bv = in_proj_bias[:E], in_proj_bias[E:2 * E], in_proj_bias[2 * E:]
    q, k, v = linear(query, wq, bq), linear(key, wk, bk), linear(value, wv, bv)

    if amask is not None:
        if amask.ndim == 2:
            if amask.shape != (L, S):
                raise RuntimeError(f"The shape of the 2D attn_mask is {amask.shape}, but should "
                                   f"be {(L, S)}.")
            amask = amask[None]
        elif amask.shape != (N * num_heads, L, S):
            raise RuntimeError(f"The shape of the 3D attn_mask is {amask.shape}, but should be "
                               f"{(N * num_heads, L, S)}.")
    if (bias_k is None) != (bias_v is None):
        raise AssertionError("bias_k and bias_v must both be set or both be None")
    if bias_k is not None:
        k = np.concatenate([k, np.broadcast_to(bias_k.reshape(1, 1, E), (1, N, E))], axis=0)
        v = np.concatenate([v, np.broadcast_to(bias_v.reshape(1, 1, E), (1, N, E))], axis=0)
        if amask is not None:
            amask = np.pad(amask, [(0, 0), (0, 0), (0, 1)])
        if kpm is not None:
            kpm = np.pad(kpm, [(0, 0), (0, 1)])
    # heads: torch's view(L, N * H, hd) orders the batch*head index as n * H + h.
    Sk = k.shape[0]
    qh = q.reshape(L, N, num_heads, hd).transpose(1, 2, 0, 3)
    kh = k.reshape(Sk, N, num_heads, hd).transpose(1, 2, 0, 3)
    vh = v.reshape(Sk, N, num_heads, hd).transpose(1, 2, 0, 3)
    if add_zero_attn:
        kh = np.concatenate([kh, np.zeros((N, num_heads, 1, hd))], axis=2)
        vh = np.concatenate([vh, np.zeros((N, num_heads, 1, hd))], axis=2)
        if amask is not None:
            amask = np.pad(amask, [(0, 0), (0, 0), (0, 1)])
        if kpm is not None:
            kpm = np.pad(kpm, [(0, 0), (0, 1)])
    Sf = kh.shape[2]
    bias = np.zeros((1, 1, L, Sf))
    if amask is not None:
        bias = bias + (amask.reshape(N, num_heads, L, Sf) if amask.shape[0] != 1
                       else amask[None])
    if kpm is not None:
        if kpm.shape != (N, Sf):
            raise AssertionError(f"Expected key_padded_mask.shape to be {(N, Sf)}, but got "
                                 f"{kpm.shape}")
        bias = bias + kpm[:, None, None, :]
    if causal_only:
        bias = bias + np.where(np.tril(np.ones((L, Sf), dtype=bool)), 0.0, -np.inf)
    scale = 1.0 / math.sqrt(hd)
    s = (qh @ np.swapaxes(kh, -1, -2)) * scale + bias
    p = _softmax(s, safe=not need_weights)
    oh = p @ vh
    o = oh.transpose(2, 0, 1, 3).reshape(L, N, E)
    out = linear(o, out_proj_weight, out_proj_bias)
    weights = None
    if need_weights:
        weights = p.mean(axis=1) if average_attn_weights else p
        if not batched:
            weights = weights[0]
    if not batched:
        out = out[:, 0]
    cache = dict(batched=batched, query=query, key=key, value=value, wq=wq, wk=wk, wv=wv,
                 has_in_bias=in_proj_bias is not None, qh=qh, kh=kh, vh=vh, p=p, o=o,
                 scale=scale, H=num_heads, hd=hd, S=S, separate=use_separate_proj_weight,
                 out_w=out_proj_weight, out_b=out_proj_bias, bias_kv=bias_k is not None,
                 zero_attn=add_zero_attn, need_weights=need_weights,
                 average=average_attn_weights, in_b=in_proj_bias, bias_k=bias_k, bias_v=bias_v)
    return out, weights, cache


def _mha_backward(c, grad_output, grad_weights=None):
    """VJP of ``_mha_forward``; returns a dict of gradients keyed by argument name."""
    g = grad_output if c["batched"] else grad_output[:, None]
    L, N, E = c["query"].shape
    H, hd, S = c["H"], c["hd"], c["S"]
    go, gw_out, gb_out = linear_backward(g, c["o"], c["out_w"], c["out_b"])
    goh = go.reshape(L, N, H, hd).transpose(1, 2, 0, 3)
    p, qh, kh, vh = c["p"], c["qh"], c["kh"], c["vh"]
    dp = goh @ np.swapaxes(vh, -1, -2)
    if grad_weights is not None and c["need_weights"]:
        gw = grad_weights if c["batched"] else grad_weights[None]
        dp = dp + (gw[:, None] / H if c["average"] else gw)
    ds = _softmax_backward(dp, p)
    dqh = (ds @ kh) * c["scale"]
    dkh = (np.swapaxes(ds, -1, -2) @ qh) * c["scale"]
    dvh = np.swapaxes(p, -1, -2) @ goh
    if c["zero_attn"]:
        dkh, dvh = dkh[:, :, :-1], dvh[:, :, :-1]
    Sk = dkh.shape[2]
    dq = dqh.transpose(2, 0, 1, 3).reshape(L, N, E)
    dk = dkh.transpose(2, 0, 1, 3).reshape(Sk, N, E)
    dv = dvh.transpose(2, 0, 1, 3).reshape(Sk, N, E)
    grads = {"out_proj_weight": gw_out, "out_proj_bias": gb_out}
    if c["bias_kv"]:
        grads["bias_k"] = dk[S:].sum(axis=(0, 1)).reshape(1, 1, E)
        grads["bias_v"] = dv[S:].sum(axis=(0, 1)).reshape(1, 1, E)
        dk, dv = dk[:S], dv[:S]
    b = np.zeros(E) if c["has_in_bias"] else None  # linear_backward only tests for None
    gq, gwq, gbq = linear_backward(dq, c["query"], c["wq"], b)
    gk, gwk, gbk = linear_backward(dk, c["key"], c["wk"], b)
    gv, gwv, gbv = linear_backward(dv, c["value"], c["wv"], b)
    if c["separate"]:
        grads.update(q_proj_weight=gwq, k_proj_weight=gwk, v_proj_weight=gwv)
    else:
        grads["in_proj_weight"] = np.concatenate([gwq, gwk, gwv], axis=0)
    if c["has_in_bias"]:
        grads["in_proj_bias"] = np.concatenate([gbq, gbk, gbv])
    if not c["batched"]:
        gq, gk, gv = gq[:, 0], gk[:, 0], gv[:, 0]
    grads.update(query=gq, key=gk, value=gv)
    return grads


def multi_head_attention_forward(query, key, value, embed_dim_to_check, num_heads,
                                 in_proj_weight, in_proj_bias, bias_k, bias_v, add_zero_attn,
                                 dropout_p, out_proj_weight, out_proj_bias, training=True,
                                 key_padding_mask=None, need_weights=True, attn_mask=None,
                                 use_separate_proj_weight=False, q_proj_weight=None,
                                 k_proj_weight=None, v_proj_weight=None, static_k=None,
                                 static_v=None, average_attn_weights=True, is_causal=False):
    """torch.nn.functional.multi_head_attention_forward (sequence-first (L, N, E) or unbatched).

    q = query Wq^T + bq, k = key Wk^T + bk, v = value Wv^T + bv (W's from the packed
    ``in_proj_weight`` rows [0:E], [E:2E], [2E:3E] or the separate q/k/v weights);
    ``bias_k``/``bias_v`` append one key/value position; heads split E into H chunks of E/H
    (batch*head index n*H + h); ``add_zero_attn`` appends a zero key/value per head; masks
    (bool: True = masked out -> -inf; float: added) are a 2-D (L, S) or 3-D (N*H, L, S)
    ``attn_mask`` plus ``key_padding_mask`` (N, S), padded with 0 for the appended positions;
    per head P = softmax(q k^T / sqrt(E/H) + mask), O = P v; out = concat_heads(O) Wo^T + bo.
    Weights returned (need_weights) are P averaged over heads (average_attn_weights) or (N,H,L,S).

    is_causal requires attn_mask; when there is no key_padding_mask and need_weights is False
    torch ignores attn_mask and applies the upper-left causal mask instead, otherwise it uses
    attn_mask as given. Fully masked rows: NaN with need_weights=True, 0 otherwise (module doc).
    Dropout must be 0 (or training False); static_k/static_v are not supported.
    """
    out, weights, _ = _mha_forward(query, key, value, embed_dim_to_check, num_heads,
                                   in_proj_weight, in_proj_bias, bias_k, bias_v, add_zero_attn,
                                   dropout_p, out_proj_weight, out_proj_bias, training,
                                   key_padding_mask, need_weights, attn_mask,
                                   use_separate_proj_weight, q_proj_weight, k_proj_weight,
                                   v_proj_weight, static_k, static_v, average_attn_weights,
                                   is_causal)
    return out, weights


def multi_head_attention_forward_backward(grad_output, grad_weights, query, key, value,
                                          embed_dim_to_check, num_heads, in_proj_weight,
                                          in_proj_bias, bias_k, bias_v, add_zero_attn, dropout_p,
                                          out_proj_weight, out_proj_bias, training=True,
                                          key_padding_mask=None, need_weights=True,
                                          attn_mask=None, use_separate_proj_weight=False,
                                          q_proj_weight=None, k_proj_weight=None,
                                          v_proj_weight=None, static_k=None, static_v=None,
                                          average_attn_weights=True, is_causal=False):
    """VJP of multi_head_attention_forward for cotangents of (attn_output, attn_weights)
    (``grad_weights`` may be None). Returns a dict keyed by argument name: query, key, value,
    in_proj_weight or q/k/v_proj_weight, in_proj_bias, bias_k, bias_v, out_proj_weight,
    out_proj_bias (only those that exist). Masks are treated as constants.

    Backward order: out projection (linear VJP), heads merge, softmax-attention VJP per head
    (module docstring), dropping the zero-attention column, bias_k/bias_v get the gradient of the
    appended key/value position summed over the batch, then the q/k/v projection VJPs.
    """
    _, _, cache = _mha_forward(query, key, value, embed_dim_to_check, num_heads, in_proj_weight,
                               in_proj_bias, bias_k, bias_v, add_zero_attn, dropout_p,
                               out_proj_weight, out_proj_bias, training, key_padding_mask,
                               need_weights, attn_mask, use_separate_proj_weight, q_proj_weight,
                               k_proj_weight, v_proj_weight, static_k, static_v,
                               average_attn_weights, is_causal)
    return _mha_backward(cache, grad_output, grad_weights)


# --------------------------------------------------------------------------- error scales
#
# First-order magnitudes of the rounding errors of the attention chain, used as the comparison
# scale (docs/tolerances.md, rule ``attention``). Each quantity x gets a magnitude xa >= |x| that
# bounds, in units of eps times the rule's per-stage limit, both its own rounding and the error
# propagated into it from earlier stages:
#   scores   s = scale q.k      sa = |scale| (qa . ka)        (a length-E dot product)
#   softmax  p = exp(s - m)/sum: an absolute score error d_j changes p_j by
#            p_j (d_j - sum_k p_k d_k),
#            so pa = p (2 + sa + sum_k p_k sa_k): exp and the normaliser (2), the score errors;
#   output   O = p v            Oa = pa . va
# and in the backward, with goa the magnitude of dO:
#   dP = dO v^T: dpa = goa . va;  dS = p (dP - sum p dP): dsa = pa (dpa + sum p dpa)
#            + p (dpa + sum (pa + p) dpa);  dq = scale dS k: |scale| dsa . ka;
#   dk = scale dS^T q: |scale| dsa^T . qa;  dv = p^T dO: pa^T . goa.
# A fully masked row has p = 0 (safe softmax) and magnitudes 0; NaN rows (torch.softmax over
# all -inf) give NaN references, which the comparison checks for NaN only.

def _t(x):
    return np.swapaxes(x, -1, -2)


def _nan0(x):
    return None if x is None else np.nan_to_num(np.asarray(x, dtype=np.float64), nan=0.0,
                                                posinf=0.0, neginf=0.0)


def _attention_forward_magnitudes(qa, ka, va, p, scale):
    """(pa, Oa) from the magnitudes of q, k, v (after any head repetition) and the
    probabilities p."""
    p = np.nan_to_num(p, nan=0.0)
    sa = abs(scale) * (qa @ _t(ka))
    sbar = np.sum(p * sa, axis=-1, keepdims=True)
    pa = p * (2.0 + sa + sbar)
    return pa, pa @ va


def _attention_backward_magnitudes(goa, qa, ka, va, p, pa, scale, dpa_extra=None):
    """(dqa, dka, dva): magnitudes of the gradients w.r.t. q, k, v (repeated-head layout)."""
    p = np.nan_to_num(p, nan=0.0)
    dpa = goa @ _t(va)
    if dpa_extra is not None:
        dpa = dpa + dpa_extra
    dsa = (pa * (dpa + np.sum(p * dpa, axis=-1, keepdims=True))
           + p * (dpa + np.sum((pa + p) * dpa, axis=-1, keepdims=True)))
    return (abs(scale) * (dsa @ ka), abs(scale) * (_t(dsa) @ qa), _t(pa) @ goa), dsa


def scaled_dot_product_attention_error_scales(grad_output, query, key, value, attn_mask=None,
                                              dropout_p=0.0, is_causal=False, scale=None,
                                              enable_gqa=False):
    """Error scales of scaled_dot_product_attention and its VJP: ``(output_scales,
    input_grad_scales)`` in the order of the outputs and of the positional arguments (see the
    magnitude chain above; a float ``attn_mask`` gets the magnitude of dS summed to its
    shape). ``grad_output`` may be None (forward only)."""
    _, (k, v, p, sc, groups) = _sdpa_forward(query, key, value, attn_mask, dropout_p, is_causal,
                                             scale, enable_gqa)
    qa, ka, va = np.abs(query), np.abs(k), np.abs(v)
    pa, oa = _attention_forward_magnitudes(qa, ka, va, p, sc)
    if grad_output is None:
        return (_nan0(oa),), ()
    (dqa, dka, dva), dsa = _attention_backward_magnitudes(np.abs(grad_output), qa, ka, va, p, pa,
                                                          sc)
    if groups > 1:
        def fold(g):
            sh = g.shape
            return g.reshape(sh[:-3] + (sh[-3] // groups, groups) + sh[-2:]).sum(axis=-3)
        dka, dva = fold(dka), fold(dva)
    dqa, dka, dva = (_unbroadcast(g, x.shape) for g, x in ((dqa, query), (dka, key), (dva, value)))
    dmask = None
    if attn_mask is not None and np.asarray(attn_mask).dtype != np.bool_:
        dmask = _unbroadcast(dsa, np.shape(attn_mask))
    return (_nan0(oa),), tuple(_nan0(g) for g in (dqa, dka, dva, dmask))


def _abs_linear(xa, w, b):
    return xa @ np.abs(w).T + (np.abs(b) if b is not None else 0.0)


def _mha_error_scales(c, grad_output=None, grad_weights=None):
    """Error scales of ``_mha_forward`` / ``_mha_backward`` from its cache: a dict with
    ``out``, ``weights`` and, when ``grad_output`` is given, the keys of ``_mha_backward``.
    Projections are linear (their magnitudes are the same maps on absolute values); the
    attention core follows the chain above."""
    L, N, E = c["query"].shape
    H, hd, S = c["H"], c["hd"], c["S"]
    b = c["in_b"]
    bq = bk = bv = None
    if b is not None:
        bq, bk, bv = b[:E], b[E:2 * E], b[2 * E:]
    qa = _abs_linear(np.abs(c["query"]), c["wq"], bq)
    ka = _abs_linear(np.abs(c["key"]), c["wk"], bk)
    va = _abs_linear(np.abs(c["value"]), c["wv"], bv)
    if c["bias_kv"]:
        ka = np.concatenate([ka, np.broadcast_to(np.abs(c["bias_k"]).reshape(1, 1, E),
                                                 (1, N, E))], axis=0)
        va = np.concatenate([va, np.broadcast_to(np.abs(c["bias_v"]).reshape(1, 1, E),
                                                 (1, N, E))], axis=0)
    Sk = ka.shape[0]
    qh = qa.reshape(L, N, H, hd).transpose(1, 2, 0, 3)
    kh = ka.reshape(Sk, N, H, hd).transpose(1, 2, 0, 3)
    vh = va.reshape(Sk, N, H, hd).transpose(1, 2, 0, 3)
    if c["zero_attn"]:
        kh = np.concatenate([kh, np.zeros((N, H, 1, hd))], axis=2)
        vh = np.concatenate([vh, np.zeros((N, H, 1, hd))], axis=2)
    p = c["p"]
    pa, oha = _attention_forward_magnitudes(qh, kh, vh, p, c["scale"])
    oa = oha.transpose(2, 0, 1, 3).reshape(L, N, E)
    out = {"out": _abs_linear(oa, c["out_w"], c["out_b"])}
    wa = pa.mean(axis=1) if c["average"] else pa
    out["weights"] = wa if c["batched"] else wa[0]
    if not c["batched"]:
        out["out"] = out["out"][:, 0]
    if grad_output is None:
        return out
    g = np.abs(grad_output if c["batched"] else grad_output[:, None])
    goa, gwo, gbo = linear_backward(g, oa, np.abs(c["out_w"]), c["out_b"])
    goh = goa.reshape(L, N, H, hd).transpose(1, 2, 0, 3)
    extra = None
    if grad_weights is not None and c["need_weights"]:
        gw = np.abs(grad_weights if c["batched"] else grad_weights[None])
        extra = gw[:, None] / H if c["average"] else gw
    (dqh, dkh, dvh), _ = _attention_backward_magnitudes(goh, qh, kh, vh, p, pa, c["scale"],
                                                        extra)
    if c["zero_attn"]:
        dkh, dvh = dkh[:, :, :-1], dvh[:, :, :-1]
    dq = dqh.transpose(2, 0, 1, 3).reshape(L, N, E)
    dk = dkh.transpose(2, 0, 1, 3).reshape(Sk, N, E)
    dv = dvh.transpose(2, 0, 1, 3).reshape(Sk, N, E)
    out.update(out_proj_weight=gwo, out_proj_bias=gbo)
    if c["bias_kv"]:
        out["bias_k"] = dk[S:].sum(axis=(0, 1)).reshape(1, 1, E)
        out["bias_v"] = dv[S:].sum(axis=(0, 1)).reshape(1, 1, E)
        dk, dv = dk[:S], dv[:S]
    zb = np.zeros(E) if b is not None else None
    gq, gwq, gbq = linear_backward(dq, np.abs(c["query"]), np.abs(c["wq"]), zb)
    gk, gwk, gbk = linear_backward(dk, np.abs(c["key"]), np.abs(c["wk"]), zb)
    gv, gwv, gbv = linear_backward(dv, np.abs(c["value"]), np.abs(c["wv"]), zb)
    if c["separate"]:
        out.update(q_proj_weight=gwq, k_proj_weight=gwk, v_proj_weight=gwv)
    else:
        out["in_proj_weight"] = np.concatenate([gwq, gwk, gwv], axis=0)
    if b is not None:
        out["in_proj_bias"] = np.concatenate([gbq, gbk, gbv])
    if not c["batched"]:
        gq, gk, gv = gq[:, 0], gk[:, 0], gv[:, 0]
    out.update(query=gq, key=gk, value=gv)
    return {k: _nan0(v) for k, v in out.items()}
