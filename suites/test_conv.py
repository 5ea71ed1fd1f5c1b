"""Convolution: Conv1d/2d/3d, ConvTranspose1d/2d/3d, their Lazy variants, Fold and Unfold.

Tolerance: ``matmul(k)`` with k the longest contraction of any output or gradient (``conv_k``):
``in_channels/groups * prod(kernel)`` for a convolution's output and a transposed
convolution's output, ``out_channels/groups * prod(kernel)`` for the input gradient (times the
images a non-zero ``padding_mode`` folds back onto an input element), ``N * prod(spatial)`` of
the cotangent for the weight gradient (the output for Conv, the input for ConvTranspose). The
reference modules give ``abs_scales`` (the same op on absolute values). Fold sums overlapping
blocks and Unfold's backward is a fold: ``reduction(m)`` with m the most blocks sharing a
position (error scales: the same fold of absolute values).

Options covered: stride, padding (ints, tuples, 'same' with odd/even and dilated kernels,
'valid'), dilation, groups (including depthwise), bias, padding_mode (zeros, reflect, replicate,
circular), output_padding and ``output_size`` for the transposed convolutions, unbatched
inputs. The Lazy variants infer in_channels on the first call (the harness materialises the
torch module with a dry forward and loads the reference's parameters with ``strict=True``, so an
inferred weight shape that differs is an error) and must then give the eager twin's numbers.
Error inputs: channels not divisible by groups, strided 'same', a kernel larger than the padded
input, an input with the wrong channel count, output_padding not smaller than stride or
dilation, a non-zero padding_mode on a transposed convolution, invalid padding strings/modes,
Fold inputs whose sizes do not match the blocks.
"""

import math

from hypothesis import assume, given, strategies as st

from harness.cases import Case, cases_from, generated, Input, content_label
from harness.tolerance import matmul, reduction


def _t(v, nd):
    return tuple(v) if isinstance(v, (tuple, list)) else (v,) * nd


def _pad_images(padding, padding_mode, kernel, dilation, nd) -> int:
    """How many padded positions (plus itself) one input element can be copied to."""
    if padding_mode == "zeros":
        return 1
    if padding == "same":
        pads = [(d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2)
                for k, d in zip(_t(kernel, nd), _t(dilation, nd))]
    elif padding == "valid":
        return 1
    else:
        pads = [(p, p) for p in _t(padding, nd)]
    n = 1
    for left, right in pads:
        n *= 1 + max(left, right) if padding_mode == "replicate" else 1 + (left > 0) + (right > 0)
    return n


def conv_k(transposed, nd, shape, cin, cout, kernel, stride=1, padding=0, dilation=1, groups=1,
           padding_mode="zeros", output_padding=0) -> int:
    """The longest contraction of output, input gradient and weight gradient (module doc)."""
    kprod = math.prod(_t(kernel, nd))
    S = shape[-nd:]
    N = shape[0] if len(shape) == nd + 2 else 1
    k, s, d = _t(kernel, nd), _t(stride, nd), _t(dilation, nd)
    if transposed:
        p, op = _t(padding, nd), _t(output_padding, nd)
        out = [(L - 1) * ss - 2 * pp + dd * (kk - 1) + oo + 1
               for L, ss, pp, dd, kk, oo in zip(S, s, p, d, k, op)]
        return max(cin // groups * kprod, cout // groups * kprod, N * math.prod(S),
                   N * math.prod(out))
    if padding == "valid":
        pads = [0] * nd
    elif padding == "same":
        pads = [dd * (kk - 1) / 2 for dd, kk in zip(d, k)]
    else:
        pads = _t(padding, nd)
    out = [int((L + 2 * pp - dd * (kk - 1) - 1) // ss + 1) for L, pp, dd, kk, ss in
           zip(S, pads, d, k, s)]
    images = _pad_images(padding, padding_mode, kernel, dilation, nd)
    return max(cin // groups * kprod, cout // groups * kprod * images,
               N * max(math.prod(out), 1))


def conv(label, nd, shape, cin, cout, kernel_size, lazy=False, **kw) -> Case:
    """Conv{nd}d (or LazyConv{nd}d) on an input of ``shape``; ``kw``: constructor options and
    Case fields."""
    opts = {k: kw.pop(k) for k in ("stride", "padding", "dilation", "groups", "bias",
                                   "padding_mode") if k in kw}
    kwargs = {"out_channels": cout, "kernel_size": kernel_size, **opts}
    if not lazy:
        kwargs = {"in_channels": cin, **kwargs}
    if kw.get("expect_error"):
        kw.setdefault("backward", False)
        rule = matmul(1)
    else:
        rule = matmul(conv_k(False, nd, shape, cin, cout, kernel_size,
                             **{k: v for k, v in opts.items() if k != "bias"}))
    return Case(op=f"nn.{'Lazy' if lazy else ''}Conv{nd}d", family="module", label=label,
                rule=rule, kwargs=kwargs, inputs=kw.pop("inputs", (Input(tuple(shape)),)), **kw)


def tconv(label, nd, shape, cin, cout, kernel_size, lazy=False, output_size=None, **kw) -> Case:
    opts = {k: kw.pop(k) for k in ("stride", "padding", "output_padding", "dilation", "groups",
                                   "bias", "padding_mode") if k in kw}
    kwargs = {"out_channels": cout, "kernel_size": kernel_size, **opts}
    if not lazy:
        kwargs = {"in_channels": cin, **kwargs}
    inputs = [Input(tuple(shape))]
    if output_size is not None:
        inputs.append(Input(kind="python", value=output_size))
    if kw.get("expect_error"):
        kw.setdefault("backward", False)
        rule = matmul(1)
    else:
        o = {k: v for k, v in opts.items() if k not in ("bias", "padding_mode")}
        if output_size is not None:  # the output_padding that output_size implies
            S, k_ = shape[-nd:], _t(kernel_size, nd)
            s, p, d = (_t(o.get(a, dv), nd) for a, dv in (("stride", 1), ("padding", 0),
                                                           ("dilation", 1)))
            o["output_padding"] = tuple(
                oo - ((L - 1) * ss - 2 * pp + dd * (kk - 1) + 1)
                for oo, L, ss, pp, dd, kk in zip(output_size[-nd:], S, s, p, d, k_))
        rule = matmul(conv_k(True, nd, shape, cin, cout, kernel_size, **o))
    return Case(op=f"nn.{'Lazy' if lazy else ''}ConvTranspose{nd}d", family="module",
                label=label, rule=rule, kwargs=kwargs, inputs=kw.pop("inputs", tuple(inputs)),
                **kw)


SPATIAL = {1: (9,), 2: (6, 7), 3: (4, 5, 4)}


def conv_cases() -> list[Case]:
    cases = []
    for nd in (1, 2, 3):
        S = SPATIAL[nd]
        b = (2, 4) + S
        cases += [
            conv("k3", nd, b, 4, 3, 3),
            conv("k1", nd, b, 4, 5, 1),
            conv("k2_stride2", nd, b, 4, 3, 2, stride=2),
            conv("k3_s2_pad1", nd, b, 4, 3, 3, stride=2, padding=1),
            conv("k3_pad2_dil2", nd, b, 4, 2, 3, padding=2, dilation=2),
            conv("same_k3", nd, b, 4, 3, 3, padding="same"),
            conv("same_k2_even", nd, b, 4, 3, 2, padding="same"),
            conv("same_k2_dil3", nd, b, 4, 2, 2, padding="same", dilation=3),
            conv("valid", nd, b, 4, 3, 2, padding="valid"),
            conv("groups2", nd, b, 4, 6, 3, groups=2, padding=1),
            conv("depthwise", nd, b, 4, 8, 3, groups=4),
            conv("nobias", nd, b, 4, 3, 3, bias=False, stride=2),
            conv("unbatched", nd, (4,) + S, 4, 3, 3, padding=1),
            conv("kernel_full_input", nd, (1, 2) + S, 2, 3, S),
        ]
        for mode in ("reflect", "replicate", "circular"):
            cases += [
                conv(f"{mode}_pad1", nd, b, 4, 3, 3, padding=1, padding_mode=mode),
                conv(f"{mode}_same_k4_s1", nd, b, 4, 2, 4, padding="same", padding_mode=mode),
                conv(f"{mode}_pad2_s2_groups2", nd, b, 4, 2, 3, padding=2, stride=2, groups=2,
                     padding_mode=mode),
            ]
    cases += [
        conv("tuple_args", 2, (2, 3, 7, 8), 3, 4, (3, 2), stride=(2, 1), padding=(1, 0),
             dilation=(1, 2)),
        conv("tuple_args", 3, (1, 2, 5, 6, 4), 2, 4, (1, 3, 2), stride=(1, 2, 1),
             padding=(0, 1, 1), dilation=(2, 1, 2), groups=2),
        conv("reflect_tuple_pad", 2, (1, 2, 5, 6), 2, 2, 3, padding=(2, 1),
             padding_mode="reflect"),
        conv("circular_dil2_pad3", 1, (2, 2, 8), 2, 2, 3, padding=3, dilation=2,
             padding_mode="circular"),
        conv("wide_in_channels", 2, (1, 32, 5, 5), 32, 4, 3),
        conv("batch8", 1, (8, 3, 20), 3, 4, 5, stride=2),
        # errors
        conv("groups_not_dividing_in", 2, (1, 3, 5, 5), 3, 4, 3, groups=2,
             expect_error="in_channels must be divisible by groups"),
        conv("groups_not_dividing_out", 1, (1, 4, 5), 4, 3, 3, groups=2,
             expect_error="out_channels must be divisible by groups"),
        conv("same_strided", 2, (1, 2, 5, 5), 2, 2, 3, stride=2, padding="same",
             expect_error="not supported for strided convolutions"),
        conv("bad_padding_string", 1, (1, 2, 5), 2, 2, 3, padding="full",
             expect_error="Invalid padding string"),
        conv("bad_padding_mode", 1, (1, 2, 5), 2, 2, 3, padding_mode="mirror",
             expect_error="padding_mode must be one of"),
        conv("kernel_too_large", 2, (1, 2, 3, 3), 2, 2, 4,
             expect_error="Kernel size can't be greater than actual input size"),
        conv("wrong_channels", 2, (1, 3, 5, 5), 4, 2, 3,
             expect_error="to have 4 channels, but got 3 channels"),
        conv("wrong_rank", 2, (1, 1, 2, 5, 5), 1, 2, 3,
             expect_error="Expected 3D (unbatched) or 4D (batched) input"),
        conv("reflect_pad_too_wide", 1, (1, 2, 3), 2, 2, 3, padding=3, padding_mode="reflect",
             expect_error="Padding size should be less than"),
    ]
    return cases


def tconv_cases() -> list[Case]:
    cases = []
    for nd in (1, 2, 3):
        S = {1: (6,), 2: (4, 5), 3: (3, 4, 3)}[nd]
        b = (2, 4) + S
        cases += [
            tconv("k3", nd, b, 4, 3, 3),
            tconv("k2_stride2", nd, b, 4, 3, 2, stride=2),
            tconv("k3_s2_pad1", nd, b, 4, 3, 3, stride=2, padding=1),
            tconv("k3_s2_pad1_outpad1", nd, b, 4, 2, 3, stride=2, padding=1,
                  output_padding=1),
            tconv("k3_s3_outpad2", nd, b, 4, 2, 3, stride=3, output_padding=2),
            tconv("k2_dil2_outpad1", nd, b, 4, 2, 2, stride=1, dilation=2, output_padding=1),
            tconv("k3_dil2_pad2", nd, b, 4, 3, 3, padding=2, dilation=2),
            tconv("groups2", nd, b, 4, 6, 3, stride=2, groups=2),
            tconv("depthwise", nd, b, 4, 4, 3, groups=4),
            tconv("nobias", nd, b, 4, 3, 3, bias=False, stride=2, padding=1),
            tconv("unbatched", nd, (4,) + S, 4, 3, 3, stride=2),
            tconv("output_size", nd, b, 4, 2, 3, stride=2, padding=1,
                  output_size=tuple(2 * L for L in S)),
            tconv("output_size_full", nd, b, 4, 2, 3, stride=2, padding=1,
                  output_size=(2, 2) + tuple(2 * L for L in S)),
        ]
    cases += [
        tconv("tuple_args", 2, (2, 3, 4, 5), 3, 4, (3, 2), stride=(2, 3), padding=(1, 0),
              output_padding=(1, 2), dilation=(1, 2)),
        tconv("tuple_args", 3, (1, 2, 3, 4, 3), 2, 4, (2, 3, 1), stride=(1, 2, 2),
              padding=(0, 1, 0), output_padding=(0, 1, 1), groups=2),
        tconv("wide_in_channels", 2, (1, 32, 4, 4), 32, 4, 3),
        # errors
        tconv("outpad_not_smaller", 1, (1, 2, 4), 2, 2, 3, stride=2, output_padding=2,
              expect_error="output padding must be smaller than either stride or dilation"),
        tconv("padding_mode_reflect", 2, (1, 2, 4, 4), 2, 2, 3, padding_mode="reflect",
              expect_error='Only "zeros" padding mode is supported'),
        tconv("groups_not_dividing_in", 1, (1, 3, 4), 3, 2, 3, groups=2,
              expect_error="in_channels must be divisible by groups"),
        tconv("wrong_channels", 1, (1, 3, 4), 4, 2, 3,
              expect_error="to have 4 channels, but got 3 channels"),
        tconv("bad_output_size", 1, (1, 2, 4), 2, 2, 3, stride=2, output_size=(12,),
              expect_error="requested an output size of"),
    ]
    return cases


def lazy_cases() -> list[Case]:
    """Eager cases' hyperparameters under the Lazy constructor (without in_channels): the
    inferred parameter shapes must load, and the numbers must be the eager reference's."""
    cases = []
    for nd in (1, 2, 3):
        S = SPATIAL[nd]
        b = (2, 4) + S
        cases += [
            conv("k3", nd, b, 4, 3, 3, lazy=True),
            conv("groups2", nd, b, 4, 6, 3, groups=2, padding=1, lazy=True),
            conv("reflect_pad1", nd, b, 4, 3, 3, padding=1, padding_mode="reflect", lazy=True),
            conv("same_k2_dil3", nd, b, 4, 2, 2, padding="same", dilation=3, lazy=True),
            conv("unbatched", nd, (4,) + S, 4, 3, 3, padding=1, lazy=True),
        ]
        T = {1: (6,), 2: (4, 5), 3: (3, 4, 3)}[nd]
        tb = (2, 4) + T
        cases += [
            tconv("k3", nd, tb, 4, 3, 3, lazy=True),
            tconv("k3_s2_pad1_outpad1", nd, tb, 4, 2, 3, stride=2, padding=1,
                  output_padding=1, lazy=True),
            tconv("groups2", nd, tb, 4, 6, 3, stride=2, groups=2, lazy=True),
            tconv("unbatched", nd, (4,) + T, 4, 3, 3, stride=2, lazy=True),
            tconv("output_size", nd, tb, 4, 2, 3, stride=2, padding=1,
                  output_size=tuple(2 * L for L in T), lazy=True),
        ]
    cases += [
        conv("in_channels_not_divisible", 2, (1, 3, 5, 5), 3, 4, 3, groups=2, lazy=True,
             expect_error="in_channels must be divisible by groups"),
    ]
    return cases


# ----------------------------------------------------------------------------- fold / unfold

def _blocks(k, d, s) -> int:
    k, d, s = _t(k, 2), _t(d, 2), _t(s, 2)
    return math.prod(min(kk, -(-(dd * (kk - 1) + 1) // ss)) for kk, dd, ss in zip(k, d, s))


def _nblocks(size, k, d, p, s):
    return tuple((L + 2 * pp - dd * (kk - 1) - 1) // ss + 1
                 for L, kk, dd, pp, ss in zip(_t(size, 2), _t(k, 2), _t(d, 2), _t(p, 2),
                                              _t(s, 2)))


def unfold(label, shape, kernel_size, dilation=1, padding=0, stride=1, **kw) -> Case:
    if kw.get("expect_error"):
        kw.setdefault("backward", False)
    return Case(op="nn.Unfold", family="module", label=label,
                rule=reduction(_blocks(kernel_size, dilation, stride)),
                kwargs={"kernel_size": kernel_size, "dilation": dilation, "padding": padding,
                        "stride": stride}, inputs=(Input(tuple(shape)),), **kw)


def fold(label, lead, C, output_size, kernel_size, dilation=1, padding=0, stride=1, L=None,
         **kw) -> Case:
    """Fold of an input (*lead, C * prod(k), L) with L the number of blocks (unless given)."""
    if L is None:
        L = math.prod(_nblocks(output_size, kernel_size, dilation, padding, stride))
    shape = tuple(lead) + (C * math.prod(_t(kernel_size, 2)), L)
    if kw.get("expect_error"):
        kw.setdefault("backward", False)
    return Case(op="nn.Fold", family="module", label=label,
                rule=reduction(_blocks(kernel_size, dilation, stride)),
                kwargs={"output_size": output_size, "kernel_size": kernel_size,
                        "dilation": dilation, "padding": padding, "stride": stride},
                inputs=kw.pop("inputs", (Input(shape),)), **kw)


def fold_cases() -> list[Case]:
    return [
        unfold("k2", (2, 3, 5, 4), 2),
        unfold("k3_s2_p1", (2, 2, 6, 7), 3, 1, 1, 2),
        unfold("k2_d2_p1", (1, 3, 5, 5), 2, 2, 1, 1),
        unfold("tuple_args", (2, 2, 6, 5), (2, 3), (1, 2), (1, 0), (2, 1)),
        unfold("non_overlapping", (1, 2, 6, 4), 2, stride=2),
        unfold("unbatched", (3, 4, 5), 2, stride=1),
        unfold("kernel_too_large", (1, 1, 3, 3), 4,
               expect_error="its components must be at least one"),
        fold("k2", (2,), 3, (5, 4), 2),
        fold("k3_s2_p1", (2,), 2, (6, 7), 3, 1, 1, 2),
        fold("k2_d2_p1", (1,), 3, (5, 5), 2, 2, 1, 1),
        fold("tuple_args", (2,), 2, (6, 5), (2, 3), (1, 2), (1, 0), (2, 1)),
        fold("non_overlapping", (1,), 2, (6, 4), 2, stride=2),
        fold("unbatched", (), 3, (4, 5), 2),
        fold("int_output_size", (1,), 2, 5, 3, stride=1),
        fold("wrong_block_count", (1,), 2, (5, 4), 2, L=11,
             expect_error="match the calculated number of sliding blocks"),
        fold("channels_not_divisible", (1,), 1, (5, 4), 2, inputs=(Input((1, 5, 12)),),
             expect_error="divisible by the product of kernel_size"),
    ]


def curated() -> list[Case]:
    return conv_cases() + tconv_cases() + lazy_cases() + fold_cases()


@cases_from(curated)
def test_module(case, backend, conform):
    conform(case, backend)


# ----------------------------------------------------------------------------- generated

@st.composite
def conv_gen(draw, dtype: str) -> Case:
    nd = draw(st.integers(1, 3))
    transposed = draw(st.booleans())
    lazy = draw(st.integers(0, 4)) == 0
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    cin = groups * draw(st.integers(1, 3))
    cout = groups * draw(st.integers(1, 3))
    S = tuple(draw(st.lists(st.integers(2, 6), min_size=nd, max_size=nd)))
    batched = draw(st.booleans())
    shape = ((draw(st.integers(1, 3)), cin) if batched else (cin,)) + S
    k = tuple(draw(st.integers(1, 3)) for _ in S)
    s = tuple(draw(st.integers(1, 3)) for _ in S)
    d = tuple(draw(st.integers(1, 2)) for _ in S)
    bias = draw(st.booleans())
    common = dict(stride=s, dilation=d, groups=groups, bias=bias)
    if transposed:
        p = tuple(draw(st.integers(0, 2)) for _ in S)
        op = tuple(draw(st.integers(0, max(ss, dd) - 1)) for ss, dd in zip(s, d))
        out = [(L - 1) * ss - 2 * pp + dd * (kk - 1) + oo + 1
               for L, ss, pp, dd, kk, oo in zip(S, s, p, d, k, op)]
        assume(all(o >= 1 for o in out))
        label = content_label("h", t=True, lazy=lazy, shape=shape, cin=cin, cout=cout, k=k,
                              p=p, op=op, **common)
        case = tconv(label, nd, shape, cin, cout, k, lazy=lazy, padding=p, output_padding=op,
                     **common)
    else:
        mode = draw(st.sampled_from(["zeros", "zeros", "reflect", "replicate", "circular"]))
        padding = draw(st.sampled_from(["int", "int", "same", "valid"]))
        if padding == "same":
            common["stride"] = s = (1,) * nd
            p = "same"
            half = [dd * (kk - 1) - dd * (kk - 1) // 2 for kk, dd in zip(k, d)]
        elif padding == "valid":
            p, half = "valid", [0] * nd
        else:
            p = tuple(draw(st.integers(0, 2)) for _ in S)
            half = list(p)
        if mode == "reflect":
            assume(all(h < L for h, L in zip(half, S)))
        if mode == "circular":
            assume(all(h <= L for h, L in zip(half, S)))
        padded = [L + (2 * h if p != "same" else dd * (kk - 1))
                  for L, h, kk, dd in zip(S, half, k, d)]
        assume(all(P >= dd * (kk - 1) + 1 for P, kk, dd in zip(padded, k, d)))
        label = content_label("h", t=False, lazy=lazy, shape=shape, cin=cin, cout=cout, k=k,
                              p=p, mode=mode, **common)
        case = conv(label, nd, shape, cin, cout, k, lazy=lazy, padding=p, padding_mode=mode,
                    **common)
    return case.with_dtype(dtype)


@generated()
@given(data=st.data())
def test_module_generated(data, dtype, backend, conform):
    conform(data.draw(conv_gen(dtype)), backend, generated=True)


@st.composite
def fold_gen(draw, dtype: str) -> Case:
    size = tuple(draw(st.lists(st.integers(2, 7), min_size=2, max_size=2)))
    k = tuple(draw(st.integers(1, 3)) for _ in size)
    d = tuple(draw(st.integers(1, 2)) for _ in size)
    p = tuple(draw(st.integers(0, 1)) for _ in size)
    s = tuple(draw(st.integers(1, 3)) for _ in size)
    assume(all(b >= 1 for b in _nblocks(size, k, d, p, s)))
    C = draw(st.integers(1, 3))
    batched = draw(st.booleans())
    lead = (draw(st.integers(1, 2)),) if batched else ()
    label = content_label("h", size=size, k=k, d=d, p=p, s=s, C=C, lead=lead)
    if draw(st.booleans()):
        case = fold(label, lead, C, size, k, d, p, s)
    else:
        case = unfold(label, lead + (C,) + size, k, d, p, s)
    return case.with_dtype(dtype)


@generated()
@given(data=st.data())
def test_fold_generated(data, dtype, backend, conform):
    conform(data.draw(fold_gen(dtype)), backend, generated=True)
