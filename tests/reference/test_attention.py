"""Attention / Transformer references: backward vs central differences, identities, errors."""

from __future__ import annotations

import itertools
from types import SimpleNamespace

import numpy as np
import pytest

from reference import nn as R
from reference.functional import attention as A
from tests.fd import assert_vjp_matches

RNG = np.random.default_rng(1234)


def _module_vjp_check(module, params, inputs, training, diff_inputs, rtol=1e-6, atol=1e-7):
    """FD check of every differentiable input and every parameter of a reference module."""
    names = sorted(params)
    outs, _, ctx = module.forward(params, {}, inputs, training)
    cot = [RNG.normal(size=o.shape) if o is not None else None for o in outs]
    g_in, g_par = module.backward(ctx, tuple(cot))
    flat_cot = np.concatenate([c.ravel() for c in cot if c is not None])

    def f(*args):
        xs = list(inputs)
        for i, a in zip(diff_inputs, args[:len(diff_inputs)]):
            xs[i] = a
        p = dict(zip(names, args[len(diff_inputs):]))
        o, _, _ = module.forward(p, {}, tuple(xs), training)
        return np.concatenate([x.ravel() for x, c in zip(o, cot) if c is not None])

    args = [inputs[i] for i in diff_inputs] + [params[k] for k in names]
    analytic = [g_in[i] for i in diff_inputs] + [g_par[k] for k in names]
    assert set(g_par) == set(params)
    assert_vjp_matches(f, args, flat_cot, analytic, rtol=rtol, atol=atol)


def _params(module, scale=0.5):
    return {k: RNG.normal(size=s) * scale for k, s in module.parameter_shapes().items()}


# ----------------------------------------------------------------- scaled_dot_product_attention

SDPA_CASES = list(itertools.product(
    [(2, 3, 2, 2, 2, 2, False), (3, 3, 2, 3, 4, 2, True), (3, 2, 3, 2, 1, 1, False)],
    ["none", "bool", "float", "float_bcast", "causal"], [None, 0.8]))


@pytest.mark.parametrize("dims,mask,scale", SDPA_CASES)
def test_sdpa_backward(dims, mask, scale):
    L, S, E, Ev, hq, hk, gqa = dims
    q, k, v = (RNG.normal(size=(1, hq, L, E)), RNG.normal(size=(1, hk, S, E)),
               RNG.normal(size=(1, hk, S, Ev)))
    m, causal = None, mask == "causal"
    if mask == "bool":
        m = RNG.random((L, S)) > 0.4
        m[:, 0] = True
    elif mask == "float":
        m = RNG.normal(size=(L, S))
    elif mask == "float_bcast":
        m = RNG.normal(size=(1, 1, L, S))
    g = RNG.normal(size=(1, hq, L, Ev))
    dq, dk, dv, dm = A.scaled_dot_product_attention_backward(g, q, k, v, m, 0.0, causal, scale,
                                                              gqa)
    args = [q, k, v] + ([m] if dm is not None else [])

    def f(q_, k_, v_, m_=m):
        return A.scaled_dot_product_attention(q_, k_, v_, m_, 0.0, causal, scale, gqa)
    assert_vjp_matches(f, args, g, [dq, dk, dv] + ([dm] if dm is not None else []))


def test_sdpa_rows_sum_to_one_and_uniform_keys():
    # with value = identity the output is the probability matrix itself
    q, k = RNG.normal(size=(2, 3, 4)), RNG.normal(size=(2, 5, 4))
    m = RNG.random((3, 5)) > 0.3
    m[:, 1] = True
    p = A.scaled_dot_product_attention(q, k, np.broadcast_to(np.eye(5), (2, 5, 5)), m)
    np.testing.assert_allclose(p.sum(-1), 1.0, rtol=1e-14)
    assert np.all(p[:, ~m] == 0)
    # identical keys: uniform attention, output = mean of the values
    v = RNG.normal(size=(2, 5, 3))
    out = A.scaled_dot_product_attention(q, np.ones((2, 5, 4)), v)
    np.testing.assert_allclose(out, np.broadcast_to(v.mean(1, keepdims=True), out.shape),
                               rtol=1e-13)


def test_sdpa_causal_ignores_later_positions():
    q, k, v = (RNG.normal(size=(1, 2, 4, 3)) for _ in range(3))
    out = A.scaled_dot_product_attention(q, k, v, is_causal=True)
    for i in range(3):
        q2, k2, v2 = q.copy(), k.copy(), v.copy()
        for t in (q2, k2, v2):
            t[..., i + 1:, :] = RNG.normal(size=t[..., i + 1:, :].shape)
        out2 = A.scaled_dot_product_attention(q2, k2, v2, is_causal=True)
        np.testing.assert_array_equal(out[..., :i + 1, :], out2[..., :i + 1, :])
    # the causal flag equals the lower-triangular boolean mask (upper-left aligned, L != S too)
    k5, v5 = RNG.normal(size=(1, 2, 5, 3)), RNG.normal(size=(1, 2, 5, 3))
    np.testing.assert_allclose(A.scaled_dot_product_attention(q, k5, v5, is_causal=True),
                               A.scaled_dot_product_attention(q, k5, v5,
                                                              np.tril(np.ones((4, 5), bool))))


def test_sdpa_fully_masked_row_is_zero():
    q, k, v = (RNG.normal(size=(1, 3, 2)) for _ in range(3))
    m = np.ones((3, 3), bool)
    m[1] = False
    out = A.scaled_dot_product_attention(q, k, v, m)
    assert np.all(out[:, 1] == 0) and np.all(np.isfinite(out))
    dq, dk, dv, _ = A.scaled_dot_product_attention_backward(np.ones_like(out), q, k, v, m)
    assert np.all(dq[:, 1] == 0) and np.all(np.isfinite(dk)) and np.all(np.isfinite(dv))


def test_sdpa_gqa_equals_repeated_heads_and_scale():
    q, k, v = RNG.normal(size=(1, 4, 3, 2)), RNG.normal(size=(1, 2, 3, 2)), RNG.normal(
        size=(1, 2, 3, 2))
    np.testing.assert_allclose(
        A.scaled_dot_product_attention(q, k, v, enable_gqa=True),
        A.scaled_dot_product_attention(q, np.repeat(k, 2, 1), np.repeat(v, 2, 1)), rtol=1e-14)
    np.testing.assert_allclose(A.scaled_dot_product_attention(q, k, v, scale=0.3,
                                                              enable_gqa=True),
                               A.scaled_dot_product_attention(q * 0.3 * np.sqrt(2), k, v,
                                                              enable_gqa=True), rtol=1e-13)


def test_sdpa_errors():
    q = RNG.normal(size=(1, 2, 3, 2))
    with pytest.raises(RuntimeError):
        A.scaled_dot_product_attention(q, q, q, np.ones((3, 3), bool), is_causal=True)
    with pytest.raises(ValueError):
        A.scaled_dot_product_attention(q, q, q, dropout_p=0.1)
    with pytest.raises(RuntimeError):
        A.scaled_dot_product_attention(RNG.normal(size=(1, 3, 3, 2)), q, q, enable_gqa=True)


# ----------------------------------------------------------------- MultiheadAttention

def _mha_inputs(E, kdim, vdim, batched, bf, selfatt, L=2, S=3, N=2):
    def sh(T, d):
        return ((N, T, d) if bf else (T, N, d)) if batched else (T, d)
    q = RNG.normal(size=sh(L, E))
    if selfatt:
        return q, q, q
    return q, RNG.normal(size=sh(S, kdim)), RNG.normal(size=sh(S, vdim))


MHA_CASES = [
    # E, H, kdim, vdim, bias, add_bias_kv, add_zero_attn, batch_first, batched, need_weights,
    # average, kpm, attn_mask
    (4, 2, None, None, True, False, False, False, True, True, True, None, None),
    (4, 2, None, None, True, False, False, True, True, True, False, "bool", "bool2"),
    (4, 1, None, None, False, True, False, False, True, False, True, "float", "float2"),
    (4, 2, 3, 5, True, True, True, False, True, True, True, "bool", "bool3"),
    (6, 3, 2, 2, False, False, True, True, True, False, True, None, "float3"),
    (4, 2, None, None, True, True, True, False, False, True, False, "bool", "float2"),
    (4, 2, 3, 2, True, False, False, True, False, False, True, "float", "bool2"),
]


@pytest.mark.parametrize("case", MHA_CASES)
def test_mha_backward(case):
    E, H, kd, vd, bias, bkv, za, bf, batched, nw, avg, kpmk, amk = case
    mha = R.MultiheadAttention(E, H, bias=bias, add_bias_kv=bkv, add_zero_attn=za, kdim=kd,
                               vdim=vd, batch_first=bf)
    L, S, N = 2, 3, 2
    q, k, v = _mha_inputs(E, mha.kdim, mha.vdim, batched, bf, False, L, S, N)
    kpm = am = None
    if kpmk == "bool":
        kpm = np.zeros((N, S) if batched else (S,), bool)
        kpm[..., -1] = True
    elif kpmk == "float":
        kpm = RNG.normal(size=(N, S) if batched else (S,))
    if amk == "bool2":
        am = np.triu(np.ones((L, S), bool), 2)
    elif amk == "float2":
        am = RNG.normal(size=(L, S))
    elif amk == "bool3":
        am = RNG.random(((N if batched else 1) * H, L, S)) < 0.3
        am[..., 0] = False
    elif amk == "float3":
        am = RNG.normal(size=((N if batched else 1) * H, L, S))
    inputs = (q, k, v, kpm, nw, am, avg, False)
    _module_vjp_check(mha, _params(mha), inputs, True, [0, 1, 2])


@pytest.mark.parametrize("need_weights", [True, False])
def test_mha_causal_and_self_attention(need_weights):
    mha = R.MultiheadAttention(4, 2)
    q = RNG.normal(size=(3, 2, 4))
    causal = np.triu(np.ones((3, 3), bool), 1)
    params = _params(mha)
    _module_vjp_check(mha, params, (q, q, q, None, need_weights, causal, True, True), False,
                      [0, 1, 2])
    (out, *_), _, _ = mha.forward(params, {}, (q, q, q, None, need_weights, causal, True, True),
                                  False)
    q2 = q.copy()
    q2[2] += 1.0
    (out2, *_), _, _ = mha.forward(params, {}, (q2, q2, q2, None, need_weights, causal, True,
                                                True), False)
    np.testing.assert_allclose(out[:2], out2[:2], rtol=1e-13)


def test_mha_weights_rows_sum_to_one():
    mha = R.MultiheadAttention(4, 2, add_bias_kv=True, add_zero_attn=True)
    q, k, v = _mha_inputs(4, 4, 4, True, False, False)
    kpm = np.array([[False, True, False], [False, False, True]])
    for avg in (True, False):
        (_, w), _, _ = mha.forward(_params(mha), {}, (q, k, v, kpm, True, None, avg), False)
        assert w.shape == ((2, 2, 5) if avg else (2, 2, 2, 5))  # S + bias_kv + zero_attn
        np.testing.assert_allclose(w.sum(-1), 1.0, rtol=1e-14)
        assert np.all(w[0, ..., 1] == 0) and np.all(w[1, ..., 2] == 0)


def test_mha_fully_masked_rows():
    """torch: NaN through plain softmax when need_weights=True, 0 via SDPA otherwise."""
    mha = R.MultiheadAttention(4, 2)
    q = RNG.normal(size=(2, 1, 4))
    kpm = np.ones((1, 2), bool)
    params = _params(mha)
    (out, w), _, _ = mha.forward(params, {}, (q, q, q, kpm, True), False)
    assert np.all(np.isnan(out)) and np.all(np.isnan(w))
    outs, _, _ = mha.forward(params, {}, (q, q, q, kpm, False), False)
    assert len(outs) == 1  # torch's (out, None): the None is not an output
    out = outs[0]
    np.testing.assert_allclose(out, np.broadcast_to(params["out_proj.bias"], out.shape))


def test_mha_errors():
    with pytest.raises(ValueError, match="divisible"):
        R.MultiheadAttention(5, 2)
    mha = R.MultiheadAttention(4, 2)
    q = RNG.normal(size=(2, 1, 4))
    with pytest.raises(RuntimeError, match="Need attn_mask"):
        mha.forward(_params(mha), {}, (q, q, q, None, True, None, True, True), False)
    with pytest.raises(RuntimeError, match="2D attn_mask"):
        mha.forward(_params(mha), {}, (q, q, q, None, True, np.zeros((3, 3))), False)
    with pytest.raises(ValueError):
        R.MultiheadAttention(4, 2, dropout=0.1).forward(_params(mha), {}, (q, q, q), True)
    with pytest.raises(AssertionError, match="divisible"):
        A.multi_head_attention_forward(q[..., :3], q[..., :3], q[..., :3], 3, 2,
                                       RNG.normal(size=(9, 3)), None, None, None, False, 0.0,
                                       RNG.normal(size=(3, 3)), None)


def test_mha_functional_matches_module():
    mha = R.MultiheadAttention(4, 2)
    p = _params(mha)
    q, k, v = _mha_inputs(4, 4, 4, True, False, False)
    (out, w), _, ctx = mha.forward(p, {}, (q, k, v), True)
    out_f, w_f = A.multi_head_attention_forward(q, k, v, 4, 2, p["in_proj_weight"],
                                                p["in_proj_bias"], None, None, False, 0.0,
                                                p["out_proj.weight"], p["out_proj.bias"])
    np.testing.assert_array_equal(out, out_f)
    np.testing.assert_array_equal(w, w_f)
    g, gw = RNG.normal(size=out.shape), RNG.normal(size=w.shape)
    (gq, _, _), gp = mha.backward(ctx, (g, gw))
    gf = A.multi_head_attention_forward_backward(g, gw, q, k, v, 4, 2, p["in_proj_weight"],
                                                 p["in_proj_bias"], None, None, False, 0.0,
                                                 p["out_proj.weight"], p["out_proj.bias"])
    np.testing.assert_array_equal(gq, gf["query"])
    np.testing.assert_array_equal(gp["in_proj_weight"], gf["in_proj_weight"])


# ----------------------------------------------------------------- Transformer layers / stacks

LAYER_CASES = [("relu", False, False, True, True, "none"), ("gelu", True, True, False, True,
                                                            "bool"),
               ("relu", True, False, True, False, "float"), ("gelu", False, True, True, True,
                                                             "causal")]


def _layer_masks(kind, L, T, N, batched):
    m = dict(src=None, tgt=None, mem=None, skpm=None, tkpm=None, mkpm=None, sc=False, tc=False)
    if kind == "bool":
        m.update(src=np.triu(np.ones((L, L), bool), 2), mem=np.zeros((T, L), bool),
                 skpm=np.array([[False] * (L - 1) + [True]] * N) if batched else None,
                 mkpm=np.array([[True] + [False] * (L - 1)] * N) if batched else None)
    elif kind == "float":
        m.update(src=RNG.normal(size=(L, L)), tgt=RNG.normal(size=(T, T)),
                 tkpm=RNG.normal(size=(N, T) if batched else (T,)))
    elif kind == "causal":
        def causal(n):
            return np.where(np.triu(np.ones((n, n), bool), 1), -np.inf, 0.0)
        m.update(src=causal(L), tgt=causal(T), sc=True, tc=True)
    return m


@pytest.mark.parametrize("act,norm_first,batch_first,bias,batched,masks", LAYER_CASES)
def test_transformer_layers_backward(act, norm_first, batch_first, bias, batched, masks):
    E, H, F, L, T, N = 4, 2, 3, 3, 2, 2
    kw = dict(dim_feedforward=F, dropout=0.0, activation=act, batch_first=batch_first,
              norm_first=norm_first, bias=bias)

    def sh(n):
        return ((N, n, E) if batch_first else (n, N, E)) if batched else (n, E)
    src, tgt = RNG.normal(size=sh(L)), RNG.normal(size=sh(T))
    m = _layer_masks(masks, L, T, N, batched)
    enc = R.TransformerEncoderLayer(E, H, **kw)
    _module_vjp_check(enc, _params(enc), (src, m["src"], m["skpm"], m["sc"]), True, [0])
    dec = R.TransformerDecoderLayer(E, H, **kw)
    _module_vjp_check(dec, _params(dec), (tgt, src, m["tgt"], m["mem"], m["tkpm"], m["mkpm"],
                                          m["tc"], False), True, [0, 1])


def test_transformer_stacks_backward():
    E, H, F, L, T, N = 4, 2, 3, 3, 2, 1
    kw = dict(dim_feedforward=F, dropout=0.0)
    src, tgt = RNG.normal(size=(L, N, E)), RNG.normal(size=(T, N, E))
    enc = R.TransformerEncoder(R.TransformerEncoderLayer(E, H, **kw), 2,
                               norm=SimpleNamespace(eps=1e-5, bias=True))
    assert "layers.1.self_attn.in_proj_weight" in enc.parameter_shapes()
    assert "norm.weight" in enc.parameter_shapes()
    _module_vjp_check(enc, _params(enc), (src, None, np.array([[False, False, True]])), True,
                      [0])
    dec = R.TransformerDecoder(R.TransformerDecoderLayer(E, H, norm_first=True, **kw), 2)
    _module_vjp_check(dec, _params(dec), (tgt, src, np.triu(np.ones((T, T), bool), 1)), True,
                      [0, 1])
    tr = R.Transformer(E, H, 1, 1, activation="gelu", **kw)
    names = tr.parameter_shapes()
    assert {"encoder.norm.weight", "decoder.norm.bias",
            "decoder.layers.0.multihead_attn.out_proj.weight"} <= set(names)
    _module_vjp_check(tr, _params(tr), (src, tgt), True, [0, 1])


def test_transformer_layer_eval_ignores_dropout_and_training_raises():
    layer = R.TransformerEncoderLayer(4, 2, dim_feedforward=3)  # torch's default dropout=0.1
    x = RNG.normal(size=(3, 1, 4))
    p = _params(layer)
    (y,), _, _ = layer.forward(p, {}, (x,), False)
    (y0,), _, _ = R.TransformerEncoderLayer(4, 2, dim_feedforward=3, dropout=0.0).forward(
        p, {}, (x,), True)
    np.testing.assert_array_equal(y, y0)
    with pytest.raises(ValueError):
        layer.forward(p, {}, (x,), True)
    with pytest.raises(RuntimeError):
        R.TransformerEncoderLayer(4, 2, activation="tanh")
    with pytest.raises(RuntimeError, match="batch number"):
        tr = R.Transformer(4, 2, 1, 1, 3, dropout=0.0)
        tr.forward(_params(tr), {}, (x, RNG.normal(size=(2, 2, 4))), False)


def test_post_norm_layer_output_is_normalised():
    layer = R.TransformerEncoderLayer(4, 2, dim_feedforward=3, dropout=0.0)
    p = _params(layer)
    p["norm2.weight"], p["norm2.bias"] = np.ones(4), np.zeros(4)
    (y,), _, _ = layer.forward(p, {}, (RNG.normal(size=(3, 2, 4)),), True)
    np.testing.assert_allclose(y.mean(-1), 0.0, atol=1e-14)
    np.testing.assert_allclose(y.var(-1), 1.0, rtol=1e-3)  # var / (var + eps)


def test_error_scales_bound_the_values():
    """Error scales are magnitudes: at least |value| for every output and gradient."""
    q, k, v = RNG.normal(size=(2, 3, 4)), RNG.normal(size=(2, 5, 4)), RNG.normal(size=(2, 5, 3))
    g = RNG.normal(size=(2, 3, 3))
    out = A.scaled_dot_product_attention(q, k, v, is_causal=False)
    grads = A.scaled_dot_product_attention_backward(g, q, k, v)
    (so,), sg = A.scaled_dot_product_attention_error_scales(g, q, k, v)
    assert np.all(so >= np.abs(out))
    for a, s in zip(grads[:3], sg[:3]):
        assert np.all(s >= np.abs(a))
    mha = R.MultiheadAttention(6, 2, kdim=4, vdim=5, add_bias_kv=True)
    p = _params(mha)
    x, kk, vv = RNG.normal(size=(3, 2, 6)), RNG.normal(size=(4, 2, 4)), RNG.normal(size=(4, 2, 5))
    outs, _, ctx = mha.forward(p, {}, (x, kk, vv), True)
    cot = tuple(RNG.normal(size=o.shape) for o in outs)
    g_in, g_par = mha.backward(ctx, cot)
    sc = mha.error_scales(ctx, cot)
    for a, s in list(zip(outs, sc.outputs)) + list(zip(g_in, sc.input_grads)):
        assert np.all(s >= np.abs(a) * (1 - 1e-12))
    for name, a in g_par.items():
        assert np.all(sc.param_grads[name] >= np.abs(a) * (1 - 1e-12)), name
