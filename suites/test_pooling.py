"""Pooling: MaxPool, AvgPool, AdaptiveAvgPool, AdaptiveMaxPool, LPPool, MaxUnpool (1d/2d/3d),
FractionalMaxPool2d/3d.

Tolerances, by op class (k = window size, m = the most windows one input element belongs to):
- the max family (MaxPool, AdaptiveMaxPool, FractionalMaxPool) copies in the forward and sums,
  per input element, the cotangents of the windows it is the argmax of: ``reduction(m)``,
  relative to the sum of their magnitudes (the reference's error scales);
- the average family sums k values then divides: ``reduction(k)`` (linear: ``abs_scales``);
- LPPool: ``lp_pool(k)`` (harness/tolerance.py: the window sum of x**p through the root and
  the two pow kernels of forward and backward);
- MaxUnpool scatters and gathers: ``exact``.
The int64 index outputs (``return_indices``) are compared exactly and get no cotangent.

Edge data: exact ties (torch's CPU scan keeps the first maximum in row-major window order; the
gradient goes there), all-equal windows, -inf entries, windows overlapping the padding and the
ceil-mode overhang. FractionalMaxPool's randomness is explicit: ``_random_samples`` (N, C, dims)
given to the constructor (a buffer in torch), chosen as multiples of 1/16 (exact in every dtype)
with window starts ``floor((i + u) alpha)`` far from integer boundaries, so float32/float16
evaluation of the same formula picks the same windows.
"""

import math

import numpy as np
from hypothesis import assume, given, strategies as st

from harness.cases import Case, cases_from, generated, Input, content_label
from harness.tolerance import exact, lp_pool, reduction

SPATIAL = {1: (7,), 2: (5, 6), 3: (4, 5, 4)}


def _t(v, nd):
    return tuple(v) if isinstance(v, (tuple, list)) else (v,) * nd


def _overlap(k, s, d, nd) -> int:
    """The most windows one element belongs to: min(k, ceil(span / s)) per dim."""
    k, s, d = _t(k, nd), _t(s if s is not None else k, nd), _t(d, nd)
    return math.prod(min(kk, -(-(dd * (kk - 1) + 1) // ss)) for kk, ss, dd in zip(k, s, d))


def _case(op, label, rule, kwargs, shape=None, inputs=None, **kw) -> Case:
    if kw.get("expect_error"):
        kw.setdefault("backward", False)
    return Case(op=op, family="module", label=label, rule=rule, kwargs=kwargs,
                inputs=inputs if inputs is not None else (Input(tuple(shape)),), **kw)


# ----------------------------------------------------------------------------- max pool

def maxpool(label, nd, shape, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
            return_indices=False, **kw) -> Case:
    kwargs = {"kernel_size": kernel_size, "stride": stride, "padding": padding,
              "dilation": dilation, "ceil_mode": ceil_mode, "return_indices": return_indices}
    return _case(f"nn.MaxPool{nd}d", label, reduction(_overlap(kernel_size, stride, dilation, nd)),
                 kwargs, shape, **kw)


def _tie_data(shape):
    """Integers 0..3 (exact in every dtype): many exact ties inside and across windows."""
    return (np.arange(math.prod(shape)).reshape(shape) * 7 % 4).astype(float).tolist()


def maxpool_cases() -> list[Case]:
    cases = []
    for nd in (1, 2, 3):
        S = SPATIAL[nd]
        b = (2, 3) + S
        cases += [
            maxpool("k2", nd, b, 2),
            maxpool("k3_s1", nd, b, 3, 1),
            maxpool("k3_s2_p1", nd, b, 3, 2, 1),
            maxpool("k2_d2", nd, b, 2, 1, dilation=2),
            maxpool("k3_s2_ceil", nd, b, 3, 2, ceil_mode=True),
            maxpool("k2_s2_p1_ceil", nd, b, 2, 2, 1, ceil_mode=True),
            maxpool("indices", nd, b, 2, 1, return_indices=True),
            maxpool("indices_p1_d2_ceil", nd, b, 3, 2, 1, 2, ceil_mode=True,
                    return_indices=True),
            maxpool("unbatched", nd, (3,) + S, 2, 1, return_indices=True),
            maxpool("ties", nd, b, 2, 1, return_indices=True,
                    inputs=(Input(b, value=_tie_data(b)),)),
            maxpool("all_equal", nd, (1, 2) + S, 3, 2, 1, return_indices=True,
                    inputs=(Input((1, 2) + S, value=np.full((1, 2) + S, 1.5).tolist()),)),
        ]
    cases += [
        maxpool("tuple_args", 2, (1, 2, 7, 6), (3, 2), (2, 1), (1, 0), (1, 2),
                return_indices=True),
        maxpool("tuple_args", 3, (1, 2, 5, 4, 6), (2, 1, 3), (1, 1, 2), (1, 0, 1), (2, 1, 1),
                return_indices=True),
        maxpool("neg_inf", 1, (1, 1, 6), 2, 1, return_indices=True,
                inputs=(Input((1, 1, 6), value=[[[-math.inf, -math.inf, 1.0, -math.inf,
                                                  -math.inf, -2.0]]]),)),
        maxpool("nan", 1, (1, 2, 6), 3, 1, return_indices=True,
                inputs=(Input((1, 2, 6), value=[[[1.0, math.nan, 2.0, math.nan, 0.5, -1.0],
                                                  [3.0, 2.0, 1.0, 0.0, -1.0, math.nan]]]),)),
        maxpool("nan", 2, (1, 1, 4, 4), 2, 1, return_indices=True,
                inputs=(Input((1, 1, 4, 4), value=[[[[1.0, math.nan, 2.0, 0.0],
                                                     [math.nan, 3.0, -1.0, 0.5],
                                                     [0.0, 1.0, 2.0, math.nan],
                                                     [4.0, -2.0, 1.5, 1.0]]]]),)),
        maxpool("pad_gt_half", 2, (1, 1, 5, 5), 2, padding=2,
                expect_error="pad should be at most half"),
        maxpool("too_small", 1, (1, 1, 2), 3, expect_error="Output size is too small"),
        maxpool("wrong_rank", 2, (5, 5), 2, expect_error="Expected 3D (unbatched) or 4D"),
    ]
    return cases


# ----------------------------------------------------------------------------- avg pool

def avgpool(label, nd, shape, kernel_size, stride=None, padding=0, ceil_mode=False,
            count_include_pad=True, divisor_override=None, **kw) -> Case:
    kwargs = {"kernel_size": kernel_size, "stride": stride, "padding": padding,
              "ceil_mode": ceil_mode, "count_include_pad": count_include_pad}
    if nd > 1:
        kwargs["divisor_override"] = divisor_override
    return _case(f"nn.AvgPool{nd}d", label, reduction(math.prod(_t(kernel_size, nd))), kwargs,
                 shape, **kw)


def avgpool_cases() -> list[Case]:
    cases = []
    for nd in (1, 2, 3):
        S = SPATIAL[nd]
        b = (2, 3) + S
        cases += [
            avgpool("k2", nd, b, 2),
            avgpool("k3_s1", nd, b, 3, 1),
            avgpool("k3_s2_p1", nd, b, 3, 2, 1),
            avgpool("k3_s2_p1_nopadcount", nd, b, 3, 2, 1, count_include_pad=False),
            avgpool("k3_s2_ceil", nd, b, 3, 2, ceil_mode=True),
            avgpool("k2_s2_p1_ceil", nd, b, 2, 2, 1, ceil_mode=True),
            avgpool("k2_s2_p1_ceil_nopadcount", nd, b, 2, 2, 1, ceil_mode=True,
                    count_include_pad=False),
            avgpool("unbatched", nd, (3,) + S, 2, 1),
        ]
        if nd > 1:
            cases += [
                avgpool("divisor3", nd, b, 2, 1, divisor_override=3),
                avgpool("divisor5_p1_ceil", nd, b, 3, 2, 1, ceil_mode=True, divisor_override=5),
            ]
    cases += [
        avgpool("tuple_args", 2, (1, 2, 7, 6), (3, 2), (2, 1), (1, 0),
                count_include_pad=False),
        avgpool("tuple_args", 3, (1, 2, 5, 4, 6), (2, 1, 3), (1, 1, 2), (1, 0, 1)),
        avgpool("pad_gt_half", 1, (1, 1, 6), 2, padding=2,
                expect_error="pad should be at most half"),
        avgpool("divisor0", 2, (1, 1, 4, 4), 2, divisor_override=0,
                expect_error="divisor must be not zero"),
    ]
    return cases


# ----------------------------------------------------------------------------- adaptive

def _adaptive_terms(S, out, nd, avg: bool) -> int:
    """avg: the largest window (elements summed); max: the most windows sharing an element."""
    n = 1
    for L, O in zip(S, _t(out, nd)):
        O = L if O is None else O
        i = np.arange(O)
        start, end = (i * L) // O, -(-((i + 1) * L) // O)
        if avg:
            n *= int((end - start).max())
        else:
            n *= int(max(((start <= j) & (j < end)).sum() for j in range(L)))
    return n


def adaptive(label, kind, nd, shape, output_size, return_indices=False, **kw) -> Case:
    avg = kind == "Avg"
    kwargs = {"output_size": output_size}
    if not avg:
        kwargs["return_indices"] = return_indices
    S = shape[-nd:]
    return _case(f"nn.Adaptive{kind}Pool{nd}d", label,
                 reduction(_adaptive_terms(S, output_size, nd, avg)), kwargs, shape, **kw)


def adaptive_cases() -> list[Case]:
    cases = []
    for kind in ("Avg", "Max"):
        ri = {"return_indices": True} if kind == "Max" else {}
        for nd in (1, 2, 3):
            S = SPATIAL[nd]
            b = (2, 3) + S
            cases += [
                adaptive("out1", kind, nd, b, 1),
                adaptive("out3", kind, nd, b, 3, **ri),
                adaptive("same_size", kind, nd, b, S),
                adaptive("upsample", kind, nd, (1, 2) + S, tuple(L + 2 for L in S)),
                adaptive("unbatched", kind, nd, (3,) + S, 2, **ri),
            ]
            if nd > 1:
                cases.append(adaptive("none_keeps_dim", kind, nd, b, (None,) + (2,) * (nd - 1)))
        cases.append(adaptive("ties", kind, 2, (1, 2, 5, 6), (3, 4), **ri,
                              inputs=(Input((1, 2, 5, 6), value=_tie_data((1, 2, 5, 6))),)))
        if kind == "Max":
            cases.append(adaptive("nan", kind, 1, (1, 1, 7), 3, **ri, inputs=(Input(
                (1, 1, 7), value=[[[1.0, math.nan, 2.0, math.nan, 0.5, -1.0, 3.0]]]),)))
    return cases


# ----------------------------------------------------------------------------- LP pool

def lppool(label, nd, shape, norm_type, kernel_size, stride=None, ceil_mode=False, kind="normal",
           **kw) -> Case:
    kwargs = {"norm_type": norm_type, "kernel_size": kernel_size, "stride": stride,
              "ceil_mode": ceil_mode}
    kw.setdefault("inputs", (Input(tuple(shape), kind=kind),))
    return _case(f"nn.LPPool{nd}d", label, lp_pool(math.prod(_t(kernel_size, nd))), kwargs,
                 **kw)


def lppool_cases() -> list[Case]:
    cases = []
    for nd in (1, 2, 3):
        S = SPATIAL[nd]
        b = (2, 3) + S
        cases += [
            lppool("p2_k2", nd, b, 2, 2),
            lppool("p1_k2_s1", nd, b, 1, 2, 1),
            lppool("p3_k2_positive", nd, b, 3, 2, kind="positive"),
            lppool("p1.5_k3_s2_positive", nd, b, 1.5, 3, 2, kind="positive"),
            lppool("p2_k3_s2_ceil", nd, b, 2, 3, 2, ceil_mode=True),
            lppool("pinf_k2_s1", nd, b, math.inf, 2, 1),
            lppool("unbatched", nd, (3,) + S, 2, 2, 1),
        ]
    cases += [
        lppool("tuple_args", 2, (1, 2, 7, 6), 2, (3, 2), (2, 1)),
        lppool("zero_window", 2, (1, 1, 4, 4), 2, 2,
               inputs=(Input((1, 1, 4, 4), value=[[[[0, 0, 1, 2], [0, 0, -1, 0.5],
                                                     [3, 0, 0, 0], [0, 0, 0, 0]]]]),)),
        lppool("p3_negative_sum_nan", 1, (1, 1, 4), 3, 2,
               inputs=(Input((1, 1, 4), value=[[[-2.0, 1.0, 0.5, 0.25]]]),)),
    ]
    return cases


# ----------------------------------------------------------------------------- max unpool

def _unpool_indices(N, C, xS, plane, seed):
    """Distinct valid flat indices into the output plane (no duplicate writes: torch keeps an
    unspecified one of them), a random choice of positions per (n, c)."""
    rng = np.random.default_rng(seed)
    idx = [[rng.permutation(math.prod(plane))[:math.prod(xS)].reshape(xS).tolist()
            for _ in range(C)] for _ in range(N)]
    return idx


def unpool(label, nd, N, C, xS, kernel_size, stride=None, padding=0, output_size=None, seed=0,
           batched=True, **kw) -> Case:
    """MaxUnpool of an (N, C, *xS) input; the output plane is output_size or torch's default
    (L - 1) s - 2p + k per dim."""
    k, s = _t(kernel_size, nd), _t(stride if stride is not None else kernel_size, nd)
    p = _t(padding, nd)
    plane = output_size or tuple((L - 1) * ss - 2 * pp + kk for L, kk, ss, pp in zip(xS, k, s, p))
    idx = _unpool_indices(N, C, xS, plane, seed)
    xshape = (N, C) + tuple(xS)
    if not batched:
        xshape, idx = xshape[1:], idx[0]
    inputs = [Input(xshape), Input(xshape, kind="int", value=idx)]
    if output_size is not None:
        inputs.append(Input(kind="python", value=output_size))
    kwargs = {"kernel_size": kernel_size, "stride": stride, "padding": padding}
    return _case(f"nn.MaxUnpool{nd}d", label, exact(), kwargs,
                 inputs=kw.pop("inputs", tuple(inputs)), **kw)


def unpool_cases() -> list[Case]:
    cases = []
    for nd in (1, 2, 3):
        X = {1: (4,), 2: (3, 2), 3: (2, 2, 3)}[nd]
        cases += [
            unpool("k2", nd, 2, 3, X, 2),
            unpool("k2_s2_unbatched", nd, 1, 2, X, 2, 2, batched=False, seed=1),
            unpool("k3_s2_output_size", nd, 1, 2, X, 3, 2,
                   output_size=tuple(2 * L + 1 for L in X), seed=2),
            unpool("k3_s2_p1", nd, 1, 2, X, 3, 2, padding=1, seed=3),
            unpool("k2_s1_dense", nd, 1, 2, X, 2, 1, seed=4),
        ]
    cases += [
        unpool("bad_output_size", 1, 1, 1, (4,), 2, output_size=(11,),
               inputs=(Input((1, 1, 4)), Input((1, 1, 4), kind="int", value=[[[0, 3, 5, 6]]]),
                       Input(kind="python", value=(11,))),
               expect_error="invalid output_size"),
        unpool("index_out_of_range", 1, 1, 1, (2,), 2, inputs=(
            Input((1, 1, 2)), Input((1, 1, 2), kind="int", value=[[[1, 4]]])),
            expect_error="invalid max index"),
    ]
    return cases


# ----------------------------------------------------------------------------- fractional

def _starts(u, L, O, k):
    if O == 1:
        return [L - k]
    alpha = (L - k) / (O - 1)
    return [math.floor((i + u) * alpha) - math.floor(u * alpha) for i in range(O - 1)] + [L - k]


def _robust(u, L, O, k) -> bool:
    """torch evaluates ``floor((i + u) * alpha)`` in the accumulation type of the dtype (float
    for float32/16): the same windows as the float64 reference when alpha = (L-k)/(O-1) is a
    short dyadic number (every product exact), else when every product stays 1e-2 away from an
    integer."""
    if O == 1:
        return True
    alpha = (L - k) / (O - 1)
    if (alpha * 64).is_integer():
        return True
    return all(abs(v - round(v)) > 1e-2 for v in ((i + u) * alpha for i in range(O)))


def fractional(label, nd, shape, kernel_size, samples, output_size=None, output_ratio=None,
               return_indices=False, **kw) -> Case:
    kwargs = {"kernel_size": kernel_size, "output_size": output_size,
              "output_ratio": output_ratio, "return_indices": return_indices,
              "_random_samples": np.asarray(samples, dtype=np.float64)}
    return _case(f"nn.FractionalMaxPool{nd}d", label,
                 reduction(math.prod(_t(kernel_size, nd))), kwargs, shape, **kw)


def _samples(N, C, nd, seed):
    """Multiples of 1/16 in [0, 1): exact in bfloat16 too."""
    rng = np.random.default_rng(seed)
    return (rng.integers(0, 16, size=(N, C, nd)) / 16).tolist()


def fractional_cases() -> list[Case]:
    c = [
        fractional("k2_out3", 2, (2, 2, 7, 6), 2, _samples(2, 2, 2, 0), output_size=3),
        fractional("k3_out_tuple_indices", 2, (1, 3, 9, 8), 3, _samples(1, 3, 2, 1),
                   output_size=(4, 3), return_indices=True),
        fractional("k2_ratio_half", 2, (2, 2, 8, 8), 2, _samples(2, 2, 2, 2), output_ratio=0.5,
                   return_indices=True),
        fractional("k_tuple_ratio_tuple", 2, (1, 2, 9, 8), (2, 3), _samples(1, 2, 2, 3),
                   output_ratio=(0.5, 0.75)),
        fractional("unbatched", 2, (2, 7, 7), 2, _samples(1, 2, 2, 4), output_size=3,
                   return_indices=True),
        fractional("ties", 2, (1, 2, 8, 6), 2, _samples(1, 2, 2, 5), output_size=3,
                   return_indices=True,
                   inputs=(Input((1, 2, 8, 6), value=_tie_data((1, 2, 8, 6))),)),
        fractional("zero_samples", 2, (1, 2, 7, 7), 2, np.zeros((1, 2, 2)).tolist(),
                   output_size=(3, 6)),
        fractional("k2_out2", 3, (1, 2, 5, 6, 5), 2, _samples(1, 2, 3, 6), output_size=2,
                   return_indices=True),
        fractional("k2_out_tuple", 3, (2, 1, 6, 5, 7), 2, _samples(2, 1, 3, 7),
                   output_size=(3, 2, 4)),
        fractional("k_tuple_ratio", 3, (1, 2, 6, 6, 7), (2, 1, 3), _samples(1, 2, 3, 8),
                   output_ratio=0.5, return_indices=True),
        fractional("unbatched", 3, (2, 5, 5, 5), 2, _samples(1, 2, 3, 9), output_size=2),
        fractional("pool_too_large", 2, (1, 1, 5, 5), 3, _samples(1, 1, 2, 0), output_size=4,
                   expect_error="too large relative to input size"),
    ]
    return c


def _check_fractional_robust(case: Case) -> bool:
    kw = case.kwargs
    nd = 2 if case.op.endswith("2d") else 3
    shape = case.inputs[0].shape
    S = shape[-nd:]
    k = _t(kw["kernel_size"], nd)
    if kw["output_size"] is not None:
        out = _t(kw["output_size"], nd)
    else:
        out = tuple(int(L * r) for L, r in zip(S, _t(kw["output_ratio"], nd)))
    smp = np.asarray(kw["_random_samples"]).reshape(-1, nd)
    which = {2: (1, 0), 3: (0, 1, 2)}[nd]  # which sample drives which dim (reference)
    return all(_robust(float(u[which[d]]), S[d], out[d], k[d]) for u in smp for d in range(nd))


def curated() -> list[Case]:
    cases = (maxpool_cases() + avgpool_cases() + adaptive_cases() + lppool_cases()
             + unpool_cases() + fractional_cases())
    bad = [c.id for c in cases if "Fractional" in c.op and not c.expect_error
           and not _check_fractional_robust(c)]
    assert not bad, f"fractional cases with window starts near a rounding boundary: {bad}"
    return cases


@cases_from(curated)
def test_module(case, backend, conform):
    conform(case, backend)


# ----------------------------------------------------------------------------- generated

def _window_args(draw, nd, S, dilated: bool):
    k = tuple(draw(st.integers(1, min(3, L))) for L in S)
    s = tuple(draw(st.integers(1, 3)) for _ in S)
    d = tuple(draw(st.integers(1, 2)) for _ in S) if dilated else (1,) * nd
    p = tuple(draw(st.integers(0, ((dd * (kk - 1) + 1) // 2) if dilated else kk // 2))
              for kk, dd in zip(k, d))
    assume(all(dd * (kk - 1) + 1 <= L + 2 * pp for kk, dd, pp, L in zip(k, d, p, S)))
    return k, s, p, d


@st.composite
def pooling_cases(draw, dtype: str) -> Case:
    op = draw(st.sampled_from(["MaxPool", "AvgPool", "AdaptiveAvgPool", "AdaptiveMaxPool",
                               "LPPool", "FractionalMaxPool"]))
    nd = draw(st.integers(2, 3)) if op == "FractionalMaxPool" else draw(st.integers(1, 3))
    S = tuple(draw(st.lists(st.integers(2, 6), min_size=nd, max_size=nd)))
    batched = draw(st.booleans())
    lead = (draw(st.integers(1, 2)), draw(st.integers(1, 3))) if batched else \
        (draw(st.integers(1, 3)),)
    shape = lead + S
    ceil = draw(st.booleans())
    if op == "MaxPool":
        k, s, p, d = _window_args(draw, nd, S, True)
        ri = draw(st.booleans())
        label = content_label("h", nd=nd, shape=shape, k=k, s=s, p=p, d=d, c=ceil, ri=ri)
        case = maxpool(label, nd, shape, k, s, p, d, ceil, ri)
    elif op == "AvgPool":
        k, s, p, _ = _window_args(draw, nd, S, False)
        cip = draw(st.booleans())
        dov = draw(st.sampled_from([None, None, 1, 3])) if nd > 1 else None
        label = content_label("h", nd=nd, shape=shape, k=k, s=s, p=p, c=ceil, cip=cip, dov=dov)
        case = avgpool(label, nd, shape, k, s, p, ceil, cip, dov)
    elif op in ("AdaptiveAvgPool", "AdaptiveMaxPool"):
        out = tuple(draw(st.integers(1, L + 1)) for L in S)
        ri = draw(st.booleans()) if op == "AdaptiveMaxPool" else False
        label = content_label("h", nd=nd, shape=shape, out=out, ri=ri)
        case = adaptive(label, op[8:11], nd, shape, out, ri)
    elif op == "LPPool":
        k, s, _, _ = _window_args(draw, nd, S, False)
        p = draw(st.sampled_from([1, 2, 3, 1.5, math.inf]))
        kind = "normal" if p in (1, 2, math.inf) else "positive"
        label = content_label("h", nd=nd, shape=shape, k=k, s=s, c=ceil, p=p)
        case = lppool(label, nd, shape, p, k, s, ceil, kind)
    else:
        k = tuple(draw(st.integers(1, 3)) for _ in S)
        limit = [L - kk + 1 - (nd == 3) for L, kk in zip(S, k)]
        assume(all(v >= 1 for v in limit))
        out = tuple(draw(st.integers(1, v)) for v in limit)
        n = lead[0] if batched else 1
        smp = (np.asarray(draw(st.lists(st.integers(0, 15), min_size=n * lead[-1] * nd,
                                        max_size=n * lead[-1] * nd))) / 16)
        smp = smp.reshape((n, lead[-1], nd))  # torch: (1, C, dims) for an unbatched input
        ri = draw(st.booleans())
        label = content_label("h", nd=nd, shape=shape, k=k, out=out, smp=smp.tolist(), ri=ri)
        case = fractional(label, nd, shape, k, smp.tolist(), output_size=out, return_indices=ri)
        assume(_check_fractional_robust(case))
    return case.with_dtype(dtype)


@generated()
@given(data=st.data())
def test_module_generated(data, dtype, backend, conform):
    conform(data.draw(pooling_cases(dtype)), backend, generated=True)
