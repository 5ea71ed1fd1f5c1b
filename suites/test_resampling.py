"""Resampling: nn.Upsample, nn.UpsamplingNearest2d, nn.UpsamplingBilinear2d,
nn.functional.interpolate (nearest, nearest-exact, linear, bilinear, bicubic, trilinear, area;
align_corners; size vs scale_factor; recompute_scale_factor), nn.PixelShuffle,
nn.PixelUnshuffle and nn.ChannelShuffle.

Rules: interpolation is a separable linear map, so ``matmul(k)`` with k the longest
contraction of the output (taps per output sample) or of the gradient (output samples feeding
one input sample), counted from the per-axis matrices; the reference supplies the scales |W| |x|
and |W|^T |g| (bicubic weights are negative, mixed-sign data cancels in every mode). The
shuffles are permutations: ``exact``.

Torch quirk (reference.functional.resampling docstring): with a scale factor s != 1 that is not
recomputed and floor(n s) equal to n or 2 n on an axis, torch's nearest (1-D, 3-D) and bicubic
forward and backward are not adjoint; the ``quirk_*`` cases hit it.
"""

import math

import numpy as np
from hypothesis import given, strategies as st

from harness.cases import Case, cases_from, generated, Input, content_label
from harness.tolerance import exact, matmul

INTERP = "nn.functional.interpolate"


def _taps(shape, kw) -> int:
    """The longest contraction: max over outputs of the taps, and over inputs of the outputs
    they feed (products of the per-axis counts), from the reference's per-axis matrices."""
    from reference.functional.resampling import _plan  # the op's structure only
    try:
        mats = _plan(shape, kw.get("size"), kw.get("scale_factor"), kw.get("mode", "nearest"),
                     kw.get("align_corners"), kw.get("recompute_scale_factor"), False)
    except Exception:  # error cases
        return 1
    fwd = math.prod(int(np.max(np.count_nonzero(W, axis=1))) for W in mats)
    bwd = math.prod(int(np.max(np.count_nonzero(W, axis=0))) for W in mats)
    return max(fwd, bwd, 1)


def interp(label: str, shape: tuple, op: str = INTERP, backward: bool = True,
           expect_error: str = "", **kw) -> Case:
    return Case(op=op, family="module", label=label, rule=matmul(_taps(shape, kw)), kwargs=kw,
                inputs=(Input(shape),), backward=backward and not expect_error,
                expect_error=expect_error)


def module(op: str, label: str, shape: tuple, **kw) -> Case:
    plan = dict(kw)
    if op == "nn.UpsamplingNearest2d":
        plan["mode"] = "nearest"
    elif op == "nn.UpsamplingBilinear2d":
        plan.update(mode="bilinear", align_corners=True)
    c = interp(label, shape, op=op, **kw)
    return Case(op=op, family="module", label=label, rule=matmul(_taps(shape, plan)), kwargs=kw,
                inputs=c.inputs)


def shuffle(op: str, label: str, shape: tuple, expect_error: str = "", **kw) -> Case:
    return Case(op=op, family="module", label=label, rule=exact(), kwargs=kw,
                inputs=(Input(shape),), backward=not expect_error, expect_error=expect_error)


def resampling_curated() -> list[Case]:
    s3, s4, s5 = (2, 3, 5), (2, 2, 4, 5), (1, 2, 3, 4, 3)
    cases = []
    for mode, shape in (("nearest", s4), ("nearest-exact", s4), ("area", s4), ("nearest", s3),
                        ("nearest", s5), ("area", s3), ("area", s5), ("nearest-exact", s3)):
        nd = len(shape) - 2
        tag = f"{mode.replace('-', '_')}_{nd}d"
        cases += [
            interp(f"{tag}_scale2", shape, mode=mode, scale_factor=2.0),
            interp(f"{tag}_size_up", shape, mode=mode, size=tuple(n + 3 for n in shape[2:])),
            interp(f"{tag}_size_down", shape, mode=mode, size=tuple(max(n - 2, 1)
                                                                    for n in shape[2:])),
            interp(f"{tag}_scale0.6", shape, mode=mode, scale_factor=0.6),
            interp(f"{tag}_scale1.7_recompute", shape, mode=mode, scale_factor=1.7,
                   recompute_scale_factor=True),
        ]
    for mode, shape in (("linear", s3), ("bilinear", s4), ("bicubic", s4), ("trilinear", s5)):
        for ac in (None, False, True):
            tag = f"{mode}_ac{ac}"
            kw = {} if ac is None else {"align_corners": ac}
            cases += [
                interp(f"{tag}_scale2", shape, mode=mode, scale_factor=2.0, **kw),
                interp(f"{tag}_size_up", shape, mode=mode,
                       size=tuple(n + 4 for n in shape[2:]), **kw),
                interp(f"{tag}_size_down", shape, mode=mode,
                       size=tuple(max(n - 2, 1) for n in shape[2:]), **kw),
                interp(f"{tag}_scale1.7", shape, mode=mode, scale_factor=1.7, **kw),
                interp(f"{tag}_scale1.7_recompute", shape, mode=mode, scale_factor=1.7,
                       recompute_scale_factor=True, **kw),
                interp(f"{tag}_scale0.4", shape, mode=mode, scale_factor=0.4, **kw),
            ]
    cases += [
        interp("bilinear_scale_tuple", s4, mode="bilinear", scale_factor=(1.5, 0.75)),
        interp("nearest_size_tuple", s4, mode="nearest", size=(7, 3)),
        interp("bilinear_size1", s4, mode="bilinear", size=(1, 1), align_corners=True),
        interp("bicubic_large_up", (1, 1, 3, 3), mode="bicubic", size=(17, 11)),
        interp("linear_long_down", (1, 2, 64), mode="linear", size=5),
        interp("area_long_down", (1, 2, 64), mode="area", size=5),
        interp("identity_size", s4, mode="bilinear", size=(4, 5)),
        # torch's forward/backward not adjoint (see module docstring)
        interp("quirk_nearest_1d_scale2.1", (1, 2, 3), mode="nearest", scale_factor=2.1),
        interp("quirk_bicubic_scale1.2", (1, 1, 3, 3), mode="bicubic", scale_factor=1.2),
        interp("both_size_and_scale", s4, mode="nearest", size=(4, 4), scale_factor=2.0,
               expect_error="only one of size or scale_factor"),
        interp("neither_size_nor_scale", s4, mode="nearest",
               expect_error="either size or scale_factor"),
        interp("align_corners_nearest", s4, mode="nearest", scale_factor=2.0,
               align_corners=True, expect_error="align_corners option"),
        interp("bilinear_on_3d", s3, mode="bilinear", scale_factor=2.0, expect_error="Got 3D"),
        interp("size_len_mismatch", s4, mode="nearest", size=(3, 3, 3),
               expect_error="same number of spatial dimensions"),
        # modules
        module("nn.Upsample", "nearest_scale2", s4, scale_factor=2),
        module("nn.Upsample", "bilinear_size", s4, size=(6, 7), mode="bilinear"),
        module("nn.Upsample", "bicubic_ac_scale1.5", s4, scale_factor=1.5, mode="bicubic",
               align_corners=True),
        module("nn.Upsample", "trilinear_scale_tuple", s5, scale_factor=(2.0, 1.5, 0.5),
               mode="trilinear"),
        module("nn.Upsample", "linear_recompute", s3, scale_factor=1.7, mode="linear",
               recompute_scale_factor=True),
        module("nn.Upsample", "area_size", s4, size=(3, 2), mode="area"),
        module("nn.Upsample", "nearest_exact_scale1.5", s4, scale_factor=1.5,
               mode="nearest-exact"),
        module("nn.UpsamplingNearest2d", "scale2", s4, scale_factor=2),
        module("nn.UpsamplingNearest2d", "size", s4, size=(5, 9)),
        module("nn.UpsamplingBilinear2d", "scale2", s4, scale_factor=2),
        module("nn.UpsamplingBilinear2d", "size", s4, size=(7, 3)),
        shuffle("nn.PixelShuffle", "r2", (2, 8, 3, 4), upscale_factor=2),
        shuffle("nn.PixelShuffle", "r3_batch_dims", (2, 1, 9, 2, 2), upscale_factor=3),
        shuffle("nn.PixelShuffle", "r1", (1, 3, 2, 2), upscale_factor=1),
        shuffle("nn.PixelShuffle", "channels_not_divisible", (1, 6, 2, 2), upscale_factor=2,
                expect_error="divisible by the square of upscale_factor"),
        shuffle("nn.PixelUnshuffle", "r2", (2, 2, 6, 4), downscale_factor=2),
        shuffle("nn.PixelUnshuffle", "r3_unbatched", (1, 6, 3), downscale_factor=3),
        shuffle("nn.PixelUnshuffle", "not_divisible", (1, 2, 5, 4), downscale_factor=2,
                expect_error="divisible by downscale_factor"),
        shuffle("nn.ChannelShuffle", "g2", (2, 6, 3, 3), groups=2),
        shuffle("nn.ChannelShuffle", "g3_rank3", (2, 6, 5), groups=3),
        shuffle("nn.ChannelShuffle", "g1", (1, 4, 2, 2), groups=1),
        shuffle("nn.ChannelShuffle", "channels_not_divisible", (1, 5, 2, 2), groups=2,
                expect_error="divisible by groups"),
    ]
    return cases


@cases_from(resampling_curated)
def test_resampling(case, backend, conform):
    conform(case, backend)


_NDIM = {"nearest": (1, 3), "nearest-exact": (1, 3), "area": (1, 3), "linear": (1, 1),
         "bilinear": (2, 2), "bicubic": (2, 2), "trilinear": (3, 3)}


@st.composite
def interp_cases(draw, dtype: str) -> Case:
    mode = draw(st.sampled_from(sorted(_NDIM)))
    lo, hi = _NDIM[mode]
    nd = draw(st.integers(lo, hi))
    spatial = tuple(draw(st.lists(st.integers(1, 6), min_size=nd, max_size=nd)))
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 3))) + spatial
    kw: dict = {"mode": mode}
    if draw(st.booleans()):
        kw["size"] = tuple(draw(st.lists(st.integers(1, 9), min_size=nd, max_size=nd)))
    else:
        # scales whose floor(n s) is neither n nor 2n on any axis (the quirk has its own cases)
        s = draw(st.sampled_from([0.5, 0.75, 1.5, 2.0, 2.5, 3.0]))
        if any(math.floor(n * s) in (n, 2 * n) for n in spatial) and s != 2.0:
            s = 3.0
        if s == 2.0 and mode in ("nearest", "bicubic"):
            s = 3.0
        if any(math.floor(n * s) < 1 for n in spatial):  # an empty output
            s = 3.0
        kw["scale_factor"] = s
        if draw(st.booleans()):
            kw["recompute_scale_factor"] = True
    if mode in ("linear", "bilinear", "bicubic", "trilinear") and draw(st.booleans()):
        kw["align_corners"] = draw(st.booleans())
    label = content_label("h", shape=shape, **kw)
    return interp(label, shape, **kw).with_dtype(dtype)


@generated()
@given(data=st.data())
def test_interpolate_generated(data, dtype, backend, conform):
    conform(data.draw(interp_cases(dtype)), backend, generated=True)
