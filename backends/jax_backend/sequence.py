"""Embedding and attention in jax.numpy. (Recurrent layers, MultiheadAttention, the
Transformer layers, EmbeddingBag, CTC and AdaptiveLogSoftmaxWithLoss are declared unsupported
in jax_backend/__init__.py with their reasons.)"""

from __future__ import annotations

import math

from ._common import check, jax, jnp, nodiff, np, scaled_grad
from .activations import op
from .layers import safe_norm


@op("nn.Embedding")
def embedding(kw, p, b, xs, tr, ctx):
    """Lookup ``weight[idx]``: padding_idx rows get no gradient, scale_grad_by_freq divides a
    row's gradient by its count in the batch, max_norm renormalises the looked-up rows of the
    weight in place (under no_grad in torch: the gradient is the plain scatter); the weight
    after the forward is reported as ``weight_after``."""
    n = kw["num_embeddings"]
    pad = kw.get("padding_idx")
    if pad is not None:
        check(-n <= pad < n, "Padding_idx must be within num_embeddings")
        pad = pad % n
    w = p["weight"]
    idx = np.asarray(xs[0])
    check(bool(np.all((idx >= 0) & (idx < n))), "index out of range in self")
    newb = dict(b)
    src = w
    if kw.get("max_norm") is not None:
        # the weight as the previous steps left it (torch renormalises the parameter itself)
        cur = nodiff(b["weight_after"]) if "weight_after" in b else nodiff(w)
        rows = np.unique(idx)
        norms = safe_norm(cur[rows], kw.get("norm_type", 2.0), axis=-1)
        mx = kw["max_norm"]
        scale = jnp.where(norms > mx, mx / (norms + 1e-7), 1.0)
        w_new = cur.at[rows].multiply(scale[:, None].astype(w.dtype), unique_indices=True)
        src = w + nodiff(w_new - w)
        newb["weight_after"] = w_new
    out = jnp.take(src, jnp.asarray(idx), axis=0)
    if kw.get("scale_grad_by_freq"):
        counts = np.bincount(idx.reshape(-1), minlength=n)
        s = (1.0 / counts[idx])[..., None]
        out = scaled_grad(out, jnp.asarray(s, out.dtype))
    if pad is not None:
        out = jnp.where(jnp.asarray(idx == pad)[..., None], nodiff(out), out)
    return (out,), newb


@op("nn.functional.scaled_dot_product_attention")
def sdpa(kw, p, b, xs, tr, ctx):
    """softmax(q k^T * scale + bias) v with torch's mask conventions (boolean: True takes
    part; float: added; is_causal: tril), a fully masked row giving 0, enable_gqa repeating
    key/value heads."""
    q, k, v = xs[0], xs[1], xs[2]
    mask = xs[3] if len(xs) > 3 else kw.get("attn_mask")
    check(kw.get("dropout_p", 0.0) == 0.0 or not tr, "dropout_p must be 0")
    causal = kw.get("is_causal", False)
    check(not (causal and mask is not None), "_scaled_dot_product_attention: Explicit "
                                             "attn_mask should not be set when is_causal=True")
    scale = kw.get("scale")
    if scale is None:
        scale = 1.0 / math.sqrt(q.shape[-1])
    if kw.get("enable_gqa") and k.ndim >= 3 and q.shape[-3] != k.shape[-3]:
        g = q.shape[-3] // k.shape[-3]
        k = jnp.repeat(k, g, axis=-3)
        v = jnp.repeat(v, g, axis=-3)
    s = jnp.matmul(q, jnp.swapaxes(k, -1, -2), precision="highest") * scale
    L, S = q.shape[-2], k.shape[-2]
    allowed = None
    if causal:
        allowed = jnp.asarray(np.tril(np.ones((L, S), dtype=bool)))
    if mask is not None:
        if mask.dtype == jnp.bool_:
            allowed = mask if allowed is None else allowed & mask
        else:
            s = s + mask
    if allowed is not None:
        allowed = jnp.broadcast_to(allowed, s.shape)
        s = jnp.where(allowed, s, -jnp.inf)
        any_ok = jnp.any(allowed, axis=-1, keepdims=True)
        s = jnp.where(any_ok, s, 0.0)
        pr = jax.nn.softmax(s, axis=-1)
        pr = jnp.where(allowed & any_ok, pr, 0.0)
    else:
        pr = jax.nn.softmax(s, axis=-1)
    return (jnp.matmul(pr, v, precision="highest"),)
