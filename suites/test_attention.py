"""Attention: nn.MultiheadAttention, nn.functional.scaled_dot_product_attention and the
Transformer layers, in train and eval mode.

Rule: ``attention(d, s, k)`` (harness/tolerance.py): d = head_dim, s = the number of keys a
query attends over (plus the bias_kv / zero-attention columns), k = the longest projection or
weight-gradient contraction (embed dims, kdim/vdim, dim_feedforward, the N*L rows of a weight
gradient). The reference supplies first-order error scales (reference.functional.attention).

Masks: MultiheadAttention's boolean masks mark positions to *exclude* (True = masked), SDPA's
boolean attn_mask marks positions to *include*. Curated masks are explicit and leave every query
at least one key, except the ``fully_masked`` cases, which document torch's NaN / 0 behaviour.

Fast paths: forward-only eval steps run under ``torch.no_grad()``, so torch takes
``_native_multi_head_attention`` (MultiheadAttention: eval, batch_first, even num_heads, bias,
packed in_proj, self-attention on the very same tensor -- the case passes ``None`` for key and
value, which the adapter and the reference read as ``query``), ``_transformer_encoder_layer_fwd``
(TransformerEncoderLayer: eval, batch_first, even nhead, bool or no masks) and SDPA's CPU
flash kernel. The ``fast_*`` cases below are those; ``slow_*`` twins differ only in what turns
the fast path off.
"""

import zlib
from dataclasses import replace

import numpy as np
from hypothesis import given, strategies as st

from harness.cases import Case, cases_from, generated, Input, content_label
from harness.tolerance import attention

NONE = Input(kind="none")


def py(value) -> Input:
    return Input(kind="python", value=value)


def bool_mask(rows) -> Input:
    return Input(kind="bool", value=rows)


def float_mask(shape) -> Input:
    return Input(shape, requires_grad=False)


# ----------------------------------------------------------------------- MultiheadAttention

def _trim(inputs: list) -> tuple:
    """Drop trailing unset optional positional inputs (they default in torch and the
    reference)."""
    while inputs and inputs[-1] is None:
        inputs.pop()
    return tuple(NONE if x is None else x for x in inputs)


def mha(label: str, E: int, H: int, L: int = 3, S: int = 4, N: int = 2, mode: str = "train",
        *, kdim: int | None = None, vdim: int | None = None, batch_first: bool = False,
        bias: bool = True, add_bias_kv: bool = False, add_zero_attn: bool = False,
        kpm: Input | None = None, need_weights: bool | None = None,
        attn_mask: Input | None = None, average: bool | None = None,
        is_causal: bool | None = None, self_attn: bool = False, unbatched: bool = False,
        backward: bool = True, expect_error: str = "", dtypes=None) -> Case:
    kw = {"embed_dim": E, "num_heads": H}
    for name, v, default in (("kdim", kdim, None), ("vdim", vdim, None),
                             ("batch_first", batch_first, False), ("bias", bias, True),
                             ("add_bias_kv", add_bias_kv, False),
                             ("add_zero_attn", add_zero_attn, False)):
        if v != default:
            kw[name] = v

    def seq(n, d):
        if unbatched:
            return (n, d)
        return (N, n, d) if batch_first else (n, N, d)
    if self_attn:
        first = [Input(seq(L, E)), NONE, NONE]
        S = L
    else:
        first = [Input(seq(L, E)), Input(seq(S, kdim or E)), Input(seq(S, vdim or E))]
    opt = [kpm, None if need_weights is None else py(need_weights), attn_mask,
           None if average is None else py(average), None if is_causal is None else py(is_causal)]
    s = S + add_bias_kv + add_zero_attn
    k = max(E, kdim or E, vdim or E, (1 if unbatched else N) * max(L, S))
    return Case(op="nn.MultiheadAttention", family="module", label=label, mode=mode,
                rule=attention(E // H if E % H == 0 else 1, s, k), kwargs=kw,
                inputs=_trim(first + opt), backward=backward and not expect_error,
                expect_error=expect_error, dtypes=dtypes)


#: key_padding_mask (N=2, S=4): True = padding (excluded); every row keeps a key
KPM = [[False, False, True, True], [False, False, False, True]]
#: attn_mask (L=3, S=4), True = excluded
AMASK = [[False, True, False, True], [False, False, True, True], [True, False, False, False]]
#: square causal mask (L=S=3) for is_causal, True above the diagonal
CAUSAL3 = [[False, True, True], [False, False, True], [False, False, False]]
CAUSAL4 = [[False, True, True, True], [False, False, True, True], [False, False, False, True],
           [False, False, False, False]]
#: a key_padding_mask masking every key of batch 1 (its rows are fully masked)
KPM_DEAD = [[False, False, True, True], [True, True, True, True]]


def mha_curated() -> list[Case]:
    cases = []
    for mode in ("train", "eval"):
        cases += [
            mha("e8_h2", 8, 2, mode=mode),
            mha("e8_h1", 8, 1, mode=mode),
            mha("e12_h3", 12, 3, L=5, S=2, N=3, mode=mode),
            mha("batch_first", 8, 2, batch_first=True, mode=mode),
            mha("kdim5_vdim3", 8, 2, kdim=5, vdim=3, mode=mode),
            mha("kdim_vdim_batch_first", 6, 3, kdim=4, vdim=7, batch_first=True, mode=mode),
            mha("nobias", 8, 2, bias=False, mode=mode),
            mha("add_bias_kv", 8, 2, add_bias_kv=True, mode=mode),
            mha("add_zero_attn", 8, 2, add_zero_attn=True, mode=mode),
            mha("bias_kv_zero_attn", 8, 4, add_bias_kv=True, add_zero_attn=True, mode=mode),
            mha("kpm_bool", 8, 2, kpm=bool_mask(KPM), mode=mode),
            mha("kpm_float", 8, 2, kpm=float_mask((2, 4)), mode=mode),
            mha("attn_mask_bool", 8, 2, need_weights=True, attn_mask=bool_mask(AMASK), mode=mode),
            mha("attn_mask_float", 8, 2, need_weights=True, attn_mask=float_mask((3, 4)),
                mode=mode),
            mha("attn_mask_3d", 8, 2, need_weights=True, attn_mask=float_mask((4, 3, 4)),
                mode=mode),
            mha("masks_both", 8, 2, kpm=bool_mask(KPM), need_weights=True,
                attn_mask=bool_mask(AMASK), mode=mode),
            mha("need_weights_false", 8, 2, need_weights=False, mode=mode),
            mha("average_false", 8, 2, need_weights=True, average=False, mode=mode),
            mha("no_weights_masks", 8, 2, kpm=bool_mask(KPM), need_weights=False,
                attn_mask=float_mask((3, 4)), mode=mode),
            mha("is_causal", 8, 2, L=3, S=3, need_weights=False, attn_mask=bool_mask(CAUSAL3),
                average=True, is_causal=True, mode=mode),
            mha("is_causal_weights", 8, 2, L=3, S=3, need_weights=True,
                attn_mask=bool_mask(CAUSAL3), average=True, is_causal=True, mode=mode),
            mha("unbatched", 8, 2, unbatched=True, mode=mode),
            mha("unbatched_kpm", 8, 2, unbatched=True, kpm=bool_mask(KPM[0]), mode=mode),
            mha("self_attn", 8, 2, self_attn=True, mode=mode),
            # a batch whose keys are all padding: NaN through plain softmax with weights, 0 via
            # SDPA's safe softmax without (reference.functional.attention docstring)
            mha("fully_masked_weights", 8, 2, kpm=bool_mask(KPM_DEAD), need_weights=True,
                mode=mode, backward=False),
            mha("fully_masked_no_weights", 8, 2, kpm=bool_mask(KPM_DEAD), need_weights=False,
                mode=mode, backward=False),
        ]
    # eval fast path (_native_multi_head_attention): forward only, no grad, self-attention on
    # one tensor, batch_first, even heads, bias, bool masks
    for need in (True, False):
        tag = "weights" if need else "noweights"
        cases += [
            mha(f"fast_{tag}", 8, 2, L=4, batch_first=True, self_attn=True, mode="eval",
                need_weights=need, backward=False),
            mha(f"fast_kpm_{tag}", 8, 2, L=4, batch_first=True, self_attn=True, mode="eval",
                kpm=bool_mask(KPM), need_weights=need, backward=False),
            mha(f"fast_attn_mask_{tag}", 8, 2, L=4, batch_first=True, self_attn=True,
                mode="eval", need_weights=need, attn_mask=bool_mask(CAUSAL4), backward=False),
            mha(f"fast_h4_{tag}", 16, 4, L=5, N=3, batch_first=True, self_attn=True,
                mode="eval", need_weights=need, backward=False),
            # torch's fast path: NaN rows even without weights (reference.nn.attention docstring)
            mha(f"fast_fully_masked_{tag}", 8, 2, L=4, batch_first=True, self_attn=True,
                mode="eval", kpm=bool_mask(KPM_DEAD), need_weights=need, backward=False),
            # the same with an odd head count: the general path
            mha(f"slow_h1_{tag}", 8, 1, L=4, batch_first=True, self_attn=True, mode="eval",
                need_weights=need, backward=False),
        ]
    cases += [
        mha("fast_average_false", 8, 2, L=4, batch_first=True, self_attn=True, mode="eval",
            need_weights=True, average=False, backward=False),
        mha("embed_not_divisible", 10, 3, expect_error="divisible by num_heads"),
        mha("embed_not_divisible", 10, 4, mode="eval", expect_error="divisible by num_heads"),
        mha("is_causal_without_mask", 8, 2, L=3, S=3, need_weights=False, average=True,
            is_causal=True, expect_error="Need attn_mask"),
        mha("attn_mask_wrong_shape", 8, 2, need_weights=True, attn_mask=float_mask((4, 4)),
            expect_error="2D attn_mask"),
    ]
    return cases


@cases_from(mha_curated)
def test_multihead_attention(case, backend, conform):
    conform(case, backend)


@st.composite
def mha_cases(draw, dtype: str) -> Case:
    H = draw(st.integers(1, 4))
    hd = draw(st.integers(1, 6))
    E = H * hd
    L, S, N = draw(st.integers(1, 6)), draw(st.integers(1, 6)), draw(st.integers(1, 3))
    mode = draw(st.sampled_from(["train", "eval"]))
    batch_first = draw(st.booleans())
    cross = draw(st.booleans())
    kdim = draw(st.integers(1, 8)) if cross else None
    vdim = draw(st.integers(1, 8)) if cross else None
    bias = draw(st.booleans())
    bias_kv, zero_attn = draw(st.booleans()), draw(st.booleans())
    need = draw(st.booleans())
    average = draw(st.booleans())
    # masks that leave every query a key: key 0 is never masked
    use_kpm = draw(st.booleans())
    kpm = None
    if use_kpm:
        rows = [[False] + draw(st.lists(st.booleans(), min_size=S - 1, max_size=S - 1))
                for _ in range(N)]
        kpm = bool_mask(rows)
    mask_kind = draw(st.sampled_from(["none", "bool", "float"]))
    amask = None
    if mask_kind == "bool":
        amask = bool_mask([[False] + draw(st.lists(st.booleans(), min_size=S - 1,
                                                   max_size=S - 1)) for _ in range(L)])
    elif mask_kind == "float":
        amask = float_mask((L, S))
    label = content_label("h", E=E, H=H, L=L, S=S, N=N, mode=mode, bf=batch_first, kdim=kdim,
                          vdim=vdim, bias=bias, bkv=bias_kv, za=zero_attn, need=need,
                          avg=average, kpm=None if kpm is None else kpm.value, mask=mask_kind,
                          amask=None if amask is None or amask.kind != "bool" else amask.value)
    return mha(label, E, H, L, S, N, mode, kdim=kdim, vdim=vdim, batch_first=batch_first,
               bias=bias, add_bias_kv=bias_kv, add_zero_attn=zero_attn, kpm=kpm,
               need_weights=need, attn_mask=amask, average=average).with_dtype(dtype)


@generated()
@given(data=st.data())
def test_multihead_attention_generated(data, dtype, backend, conform):
    conform(data.draw(mha_cases(dtype)), backend, generated=True)


# ------------------------------------------------------------ scaled_dot_product_attention

SDPA = "nn.functional.scaled_dot_product_attention"


def sdpa(label: str, q: tuple, k: tuple, v: tuple, mask: Input | None = None,
         backward: bool = True, expect_error: str = "", **kwargs) -> Case:
    inputs = (Input(q), Input(k), Input(v)) + ((mask,) if mask is not None else ())
    return Case(op=SDPA, family="module", label=label, rule=attention(q[-1], k[-2], q[-2]),
                kwargs=kwargs, inputs=inputs, backward=backward and not expect_error,
                expect_error=expect_error)


#: SDPA boolean mask (L=3, S=4): True = take part; every query keeps a key
SDPA_MASK = [[True, False, True, False], [True, True, False, False], [False, True, True, True]]


def sdpa_curated() -> list[Case]:
    b = (2, 2)
    cases = []
    for fwd in (True, False):
        # forward-only twins run under no_grad: torch's CPU flash kernel instead of the math path
        sfx = "_fwd" if not fwd else ""
        cases += [
            sdpa("basic" + sfx, b + (3, 4), b + (4, 4), b + (4, 4), backward=fwd),
            sdpa("ev5" + sfx, b + (3, 4), b + (5, 4), b + (5, 5), backward=fwd),
            sdpa("causal" + sfx, b + (4, 3), b + (4, 3), b + (4, 3), is_causal=True,
                 backward=fwd),
            sdpa("causal_l3_s5" + sfx, b + (3, 4), b + (5, 4), b + (5, 4), is_causal=True,
                 backward=fwd),
            sdpa("causal_l5_s3" + sfx, b + (5, 4), b + (3, 4), b + (3, 4), is_causal=True,
                 backward=fwd),
            sdpa("mask_bool" + sfx, b + (3, 4), b + (4, 4), b + (4, 4), bool_mask(SDPA_MASK),
                 backward=fwd),
            sdpa("mask_float" + sfx, b + (3, 4), b + (4, 4), b + (4, 4), Input(b + (3, 4)),
                 backward=fwd),
            sdpa("mask_float_bcast" + sfx, b + (3, 4), b + (4, 4), b + (4, 4), Input((3, 4)),
                 backward=fwd),
            sdpa("scale0.3" + sfx, b + (3, 4), b + (4, 4), b + (4, 4), scale=0.3, backward=fwd),
            sdpa("scale2_causal" + sfx, b + (4, 4), b + (4, 4), b + (4, 4), scale=2.0,
                 is_causal=True, backward=fwd),
            sdpa("rank3" + sfx, (3, 5, 8), (3, 6, 8), (3, 6, 2), backward=fwd),
            sdpa("gqa" + sfx, (1, 4, 3, 4), (1, 2, 5, 4), (1, 2, 5, 4), enable_gqa=True,
                 backward=fwd),
            sdpa("long_s64" + sfx, (1, 2, 4, 8), (1, 2, 64, 8), (1, 2, 64, 8), backward=fwd),
            # a query whose keys are all masked: safe softmax, the row is 0
            sdpa("fully_masked_row" + sfx, b + (3, 4), b + (4, 4), b + (4, 4),
                 bool_mask([[True, True, False, False], [False] * 4, [True] * 4]),
                 backward=fwd),
        ]
    cases += [
        sdpa("causal_and_mask", b + (3, 4), b + (3, 4), b + (3, 4), bool_mask(SDPA_MASK[:3]),
             is_causal=True, expect_error="attn_mask"),
        sdpa("qk_dim_mismatch", b + (3, 4), b + (4, 5), b + (4, 4),
             expect_error="embedding dimension"),
    ]
    return cases


@cases_from(sdpa_curated)
def test_sdpa(case, backend, conform):
    conform(case, backend)


@st.composite
def sdpa_cases(draw, dtype: str) -> Case:
    batch = tuple(draw(st.lists(st.integers(1, 3), min_size=0, max_size=2)))
    L, S = draw(st.integers(1, 8)), draw(st.integers(1, 8))
    E, Ev = draw(st.integers(1, 8)), draw(st.integers(1, 8))
    causal = draw(st.booleans())
    scale = draw(st.sampled_from([None, 0.25, 1.5]))
    mask_kind = "none" if causal else draw(st.sampled_from(["none", "bool", "float"]))
    mask = None
    if mask_kind == "bool":
        mask = bool_mask([[True] + draw(st.lists(st.booleans(), min_size=S - 1,
                                                  max_size=S - 1)) for _ in range(L)])
    elif mask_kind == "float":
        mask = Input((L, S))
    fwd = draw(st.booleans())
    kw = {k: v for k, v in (("is_causal", causal), ("scale", scale)) if v}
    label = content_label("h", b=batch, L=L, S=S, E=E, Ev=Ev, mask=mask_kind, fwd=fwd,
                          m=None if mask is None else mask.value, **kw)
    return sdpa(label, batch + (L, E), batch + (S, E), batch + (S, Ev), mask, backward=not fwd,
                **kw).with_dtype(dtype)


@generated()
@given(data=st.data())
def test_sdpa_generated(data, dtype, backend, conform):
    conform(data.draw(sdpa_cases(dtype)), backend, generated=True)


# ------------------------------------------------------------------------ Transformer layers
#
# Parameters are drawn like torch's initialisation (weights ~ N(0, 1/fan_in), layer-norm
# weights near 1, small biases) rather than the harness's N(0, 1): with N(0, 1) weights a
# d_model = 8 layer has scores of size ~10 (one-hot softmax) and pre-norm activations whose
# layer norms divide by small deviations, so the problem is ill-conditioned far beyond what a
# normwise scale (reference.nn.attention._Normwise) measures. Values are multiples of 2^-6
# below 4, exact in every dtype down to bfloat16.

def init_params(op: str, kwargs: dict, label: str) -> dict:
    from reference import nn as R  # parameter names and shapes only
    module = getattr(R, op.removeprefix("nn."))(**kwargs)
    rng = np.random.default_rng(zlib.crc32(f"{op}-{label}".encode()))
    out = {}
    for name, shape in module.parameter_shapes().items():
        if "norm" in name.split(".")[-2 if "." in name else 0]:
            v = (1.0 if name.endswith("weight") else 0.0) + 0.25 * rng.standard_normal(shape)
        elif name.endswith("bias") or name in ("bias_k", "bias_v"):
            v = 0.1 * rng.standard_normal(shape)
        else:
            v = rng.standard_normal(shape) / np.sqrt(shape[-1])
        out[name] = np.clip(np.round(v * 64) / 64, -3.9, 3.9)
    return out


def _layer_kwargs(d, h, dff, activation, norm_first, batch_first):
    kw = {"d_model": d, "nhead": h, "dim_feedforward": dff, "dropout": 0.0}
    if activation != "relu":
        kw["activation"] = activation
    if norm_first:
        kw["norm_first"] = True
    if batch_first:
        kw["batch_first"] = True
    return kw


def encoder_layer(label: str, d: int = 8, h: int = 2, dff: int = 12, L: int = 4, N: int = 2,
                  mode: str = "train", *, activation: str = "relu", norm_first: bool = False,
                  batch_first: bool = False, mask: Input | None = None,
                  kpm: Input | None = None, is_causal: bool | None = None,
                  backward: bool = True, expect_error: str = "") -> Case:
    shape = (N, L, d) if batch_first else (L, N, d)
    inputs = _trim([Input(shape), mask, kpm, None if is_causal is None else py(is_causal)])
    kw = _layer_kwargs(d, h, dff, activation, norm_first, batch_first)
    params = {} if expect_error else init_params("nn.TransformerEncoderLayer", kw, label)
    return Case(op="nn.TransformerEncoderLayer", family="module", label=label, mode=mode,
                rule=attention(d // h, L, max(d, dff, N * L)), kwargs=kw, params=params,
                inputs=inputs, backward=backward and not expect_error, expect_error=expect_error)


def decoder_layer(label: str, d: int = 8, h: int = 2, dff: int = 12, T: int = 3, S: int = 4,
                  N: int = 2, mode: str = "train", *, activation: str = "relu",
                  norm_first: bool = False, batch_first: bool = False,
                  tgt_mask: Input | None = None, memory_mask: Input | None = None,
                  tgt_kpm: Input | None = None, memory_kpm: Input | None = None,
                  tgt_is_causal: bool | None = None, backward: bool = True) -> Case:
    def seq(n):
        return (N, n, d) if batch_first else (n, N, d)
    inputs = _trim([Input(seq(T)), Input(seq(S)), tgt_mask, memory_mask, tgt_kpm, memory_kpm,
                    None if tgt_is_causal is None else py(tgt_is_causal)])
    kw = _layer_kwargs(d, h, dff, activation, norm_first, batch_first)
    return Case(op="nn.TransformerDecoderLayer", family="module", label=label, mode=mode,
                rule=attention(d // h, max(T, S), max(d, dff, N * max(T, S))), kwargs=kw,
                params=init_params("nn.TransformerDecoderLayer", kw, label), inputs=inputs,
                backward=backward)


#: src_key_padding_mask (N=2, L=4), True = padding; left-aligned (nested-tensor friendly)
SRC_KPM = [[False, False, False, True], [False, False, True, True]]
MEM_KPM = [[False, False, True, True], [False, False, False, True]]
TGT_KPM = [[False, False, True], [False, False, False]]


def transformer_layer_curated() -> list[Case]:
    cases = []
    for mode in ("train", "eval"):
        for act in ("relu", "gelu"):
            for nf in (False, True):
                tag = f"{act}{'_norm_first' if nf else ''}"
                cases += [
                    encoder_layer(f"enc_{tag}", mode=mode, activation=act, norm_first=nf),
                    decoder_layer(f"dec_{tag}", mode=mode, activation=act, norm_first=nf),
                ]
        cases += [
            encoder_layer("enc_batch_first", mode=mode, batch_first=True),
            encoder_layer("enc_h1", h=1, mode=mode),
            encoder_layer("enc_mask_bool", mode=mode, mask=bool_mask(CAUSAL4)),
            encoder_layer("enc_mask_float", mode=mode, mask=float_mask((4, 4))),
            encoder_layer("enc_kpm", mode=mode, kpm=bool_mask(SRC_KPM)),
            encoder_layer("enc_mask_kpm", mode=mode, mask=bool_mask(CAUSAL4),
                          kpm=bool_mask(SRC_KPM)),
            encoder_layer("enc_is_causal", mode=mode, mask=bool_mask(CAUSAL4), is_causal=True),
            replace(encoder_layer("enc_unbatched", mode=mode, L=3, N=1),
                    inputs=(Input((3, 8)),)),
            decoder_layer("dec_batch_first", mode=mode, batch_first=True),
            decoder_layer("dec_masks", mode=mode, tgt_mask=bool_mask(CAUSAL3),
                          memory_mask=float_mask((3, 4)), tgt_kpm=bool_mask(TGT_KPM),
                          memory_kpm=bool_mask(MEM_KPM)),
            decoder_layer("dec_tgt_is_causal", T=3, mode=mode, tgt_mask=bool_mask(CAUSAL3),
                          tgt_is_causal=True),
        ]
    # eval fast path (_transformer_encoder_layer_fwd): forward only, batch_first, even heads
    for act in ("relu", "gelu"):
        for nf in (False, True):
            tag = f"{act}{'_norm_first' if nf else ''}"
            cases += [
                encoder_layer(f"fast_{tag}", mode="eval", activation=act, norm_first=nf,
                              batch_first=True, backward=False),
                encoder_layer(f"fast_kpm_{tag}", mode="eval", activation=act, norm_first=nf,
                              batch_first=True, kpm=bool_mask(SRC_KPM), backward=False),
            ]
    cases += [
        encoder_layer("fast_mask", mode="eval", batch_first=True, mask=bool_mask(CAUSAL4),
                      backward=False),
        encoder_layer("fast_h4", d=16, h=4, dff=20, L=5, N=3, mode="eval", batch_first=True,
                      backward=False),
        encoder_layer("slow_h1", h=1, mode="eval", batch_first=True, backward=False),
        decoder_layer("fwd_batch_first", mode="eval", batch_first=True, backward=False),
        encoder_layer("bad_activation", activation="tanh",
                      expect_error="activation should be relu/gelu"),
        encoder_layer("embed_not_divisible", d=10, h=4,
                      expect_error="divisible by num_heads"),
    ]
    return cases


@cases_from(transformer_layer_curated)
def test_transformer_layers(case, backend, conform):
    conform(case, backend)


def transformer(label: str, d: int = 8, h: int = 2, dff: int = 12, S: int = 4, T: int = 3,
                N: int = 2, mode: str = "train", *, enc: int = 2, dec: int = 1,
                activation: str = "relu", norm_first: bool = False, batch_first: bool = False,
                masks: tuple = (), backward: bool = True) -> Case:
    """nn.Transformer (encoder stack + final norm, decoder stack + final norm); ``masks`` are the
    optional inputs after (src, tgt): src_mask, tgt_mask, memory_mask, src_key_padding_mask,
    tgt_key_padding_mask, memory_key_padding_mask, src_is_causal, tgt_is_causal."""
    def seq(n):
        return (N, n, d) if batch_first else (n, N, d)
    kw = _layer_kwargs(d, h, dff, activation, norm_first, batch_first)
    kw.update(num_encoder_layers=enc, num_decoder_layers=dec)
    # chained layers: enc + dec blocks, each with the attention chain
    return Case(op="nn.Transformer", family="module", label=label, mode=mode,
                rule=attention(d // h, max(S, T), max(d, dff, N * max(S, T))), kwargs=kw,
                params=init_params("nn.Transformer", kw, label),
                inputs=_trim([Input(seq(S)), Input(seq(T)), *masks]), backward=backward)


def transformer_curated() -> list[Case]:
    cases = []
    for mode in ("train", "eval"):
        cases += [
            transformer("basic", mode=mode),
            transformer("gelu_norm_first", mode=mode, activation="gelu", norm_first=True),
            transformer("batch_first", mode=mode, batch_first=True),
            transformer("masks", mode=mode,
                        masks=(None, bool_mask(CAUSAL3), None, bool_mask(SRC_KPM),
                               bool_mask(TGT_KPM), bool_mask(SRC_KPM))),
            transformer("tgt_is_causal", mode=mode,
                        masks=(None, bool_mask(CAUSAL3), None, None, None, None, None,
                               py(True))),
        ]
    # eval, forward only: the encoder's layers take _transformer_encoder_layer_fwd; with a
    # src_key_padding_mask (batch_first, enable_nested_tensor defaults to True in
    # nn.Transformer's encoder) torch runs them on a nested tensor
    cases += [
        transformer("fast", mode="eval", batch_first=True, backward=False),
        transformer("fast_src_kpm", mode="eval", batch_first=True, backward=False,
                    masks=(None, None, None, bool_mask(SRC_KPM))),
        transformer("fast_masks", mode="eval", batch_first=True, backward=False,
                    masks=(None, bool_mask(CAUSAL3), None, bool_mask(SRC_KPM),
                           bool_mask(TGT_KPM), bool_mask(SRC_KPM))),
        transformer("fast_norm_first_kpm", mode="eval", batch_first=True, norm_first=True,
                    backward=False, masks=(None, None, None, bool_mask(SRC_KPM))),
    ]
    return cases


@cases_from(transformer_curated)
def test_transformer(case, backend, conform):
    conform(case, backend)
