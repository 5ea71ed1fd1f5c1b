"""Resampling references: backward (adjoint) vs central differences, docs' worked examples,
identities, errors."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from reference import nn as R
from reference.functional import resampling as Rs
from tests.fd import assert_vjp_matches

RNG = np.random.default_rng(7)

MODES = [("nearest", 3), ("nearest", 4), ("nearest", 5), ("nearest-exact", 3),
         ("nearest-exact", 4), ("linear", 3), ("bilinear", 4), ("bicubic", 4),
         ("trilinear", 5), ("area", 3), ("area", 4), ("area", 5)]
SIZING = [dict(size=None, scale_factor=2.0), dict(size=None, scale_factor=1.5),
          dict(size=None, scale_factor=0.6), dict(size=None, scale_factor=1.5,
                                                    recompute_scale_factor=True),
          dict(size=None, scale_factor=2.2), dict(size="up"), dict(size="down")]


def _case_kwargs(mode, nd, sizing, align):
    insz = (3, 4, 2)[:nd - 2] if nd > 3 else (5,)
    kw = dict(sizing)
    if kw["size"] == "up":
        kw["size"] = tuple(s + 2 for s in insz)
    elif kw["size"] == "down":
        kw["size"] = tuple(max(1, s - 1) for s in insz)
    if mode in ("linear", "bilinear", "bicubic", "trilinear"):
        kw["align_corners"] = align
    return insz, kw


INTERP_CASES = [(m, nd, s, a) for (m, nd), s, a in itertools.product(MODES, SIZING,
                                                                       [False, True])
                if a is False or m in ("linear", "bilinear", "bicubic", "trilinear")]


@pytest.mark.parametrize("mode,nd,sizing,align", INTERP_CASES)
def test_interpolate_backward(mode, nd, sizing, align):
    insz, kw = _case_kwargs(mode, nd, sizing, align)
    x = RNG.normal(size=(1, 2) + insz)
    y = Rs.interpolate(x, mode=mode, **kw)
    g = RNG.normal(size=y.shape)
    (gx,) = Rs.interpolate_backward(g, x, mode=mode, **kw)
    assert_vjp_matches(lambda a: Rs.interpolate(a, mode=mode, **kw), [x], g, [gx])


@pytest.mark.parametrize("mode,nd", MODES)
def test_constant_is_preserved(mode, nd):
    x = np.full((1, 2) + (3,) * (nd - 2), 2.5)
    for kw in (dict(scale_factor=2.0), dict(size=(5,) * (nd - 2)), dict(size=(2,) * (nd - 2))):
        np.testing.assert_allclose(Rs.interpolate(x, mode=mode, **kw), 2.5, rtol=1e-14)


def test_docs_worked_examples():
    """The examples of the torch.nn.Upsample docstring."""
    x = np.arange(1.0, 5.0).reshape(1, 1, 2, 2)
    np.testing.assert_array_equal(
        Rs.interpolate(x, scale_factor=2, mode="nearest")[0, 0],
        [[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]])
    np.testing.assert_allclose(
        Rs.interpolate(x, scale_factor=2, mode="bilinear")[0, 0],
        [[1.0, 1.25, 1.75, 2.0], [1.5, 1.75, 2.25, 2.5], [2.5, 2.75, 3.25, 3.5],
         [3.0, 3.25, 3.75, 4.0]], rtol=1e-15)
    np.testing.assert_allclose(
        Rs.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True)[0, 0],
        np.array([[3, 4, 5, 6], [5, 6, 7, 8], [7, 8, 9, 10], [9, 10, 11, 12]]) / 3, rtol=1e-15)
    x3 = np.zeros((1, 1, 3, 3))
    x3[0, 0, :2, :2] = x[0, 0]
    np.testing.assert_allclose(
        Rs.interpolate(x3, scale_factor=2, mode="bilinear")[0, 0],
        [[1.0, 1.25, 1.75, 1.5, 0.5, 0.0], [1.5, 1.75, 2.25, 1.875, 0.625, 0.0],
         [2.5, 2.75, 3.25, 2.625, 0.875, 0.0], [2.25, 2.4375, 2.8125, 2.25, 0.75, 0.0],
         [0.75, 0.8125, 0.9375, 0.75, 0.25, 0.0], [0.0] * 6], rtol=1e-15)
    np.testing.assert_allclose(
        Rs.interpolate(x3, scale_factor=2, mode="bilinear", align_corners=True)[0, 0],
        [[1.0, 1.4, 1.8, 1.6, 0.8, 0.0], [1.8, 2.2, 2.6, 2.24, 1.12, 0.0],
         [2.6, 3.0, 3.4, 2.88, 1.44, 0.0], [2.4, 2.72, 3.04, 2.56, 1.28, 0.0],
         [1.2, 1.36, 1.52, 1.28, 0.64, 0.0], [0.0] * 6], rtol=1e-14)


@pytest.mark.parametrize("mode,nd", [("linear", 3), ("bilinear", 4), ("bicubic", 4),
                                     ("trilinear", 5)])
def test_align_corners_hits_corners(mode, nd):
    x = RNG.normal(size=(1, 1) + (3, 4, 2)[:nd - 2])
    y = Rs.interpolate(x, size=(5, 7, 4)[:nd - 2], mode=mode, align_corners=True)
    for corner in itertools.product(*[(0, -1)] * (nd - 2)):
        np.testing.assert_allclose(y[(0, 0) + corner], x[(0, 0) + corner], rtol=1e-14)


def test_mode_specific_values():
    x = np.arange(4.0).reshape(1, 1, 4)
    np.testing.assert_array_equal(Rs.interpolate(x, size=2, mode="area"), [[[0.5, 2.5]]])
    np.testing.assert_allclose(Rs.interpolate(x, size=3, mode="area"),
                               [[[0.5, 1.5, 2.5]]])  # windows [0,2), [1,3), [2,4)
    # nearest picks floor(o * 4/3), nearest-exact floor((o + 0.5) * 4/3)
    np.testing.assert_array_equal(Rs.interpolate(x, size=3, mode="nearest"), [[[0, 1, 2]]])
    np.testing.assert_array_equal(Rs.interpolate(x, size=3, mode="nearest-exact"),
                                  [[[0, 2, 3]]])
    # a given scale factor sets the coordinate ratio 1/s (not n_in/n_out) unless recomputed
    x5 = np.arange(5.0).reshape(1, 1, 5)
    # (x5 is a ramp, so the output is the clamped source coordinate itself)
    np.testing.assert_allclose(Rs.interpolate(x5, scale_factor=1.5, mode="linear"),
                               [[[max(2 / 3 * (o + 0.5) - 0.5, 0) for o in range(7)]]],
                               rtol=1e-14)
    np.testing.assert_allclose(Rs.interpolate(x5, scale_factor=1.5, mode="linear",
                                              recompute_scale_factor=True),
                               [[[min(max(5 / 7 * (o + 0.5) - 0.5, 0), 4) for o in range(7)]]],
                               rtol=1e-14)
    # bicubic of a linear ramp reproduces the ramp away from the border (Keys kernel is exact
    # on linear functions)
    ramp = np.tile(np.arange(6.0), (6, 1))[None, None]
    y = Rs.interpolate(ramp, size=(6, 11), mode="bicubic", align_corners=True)
    np.testing.assert_allclose(y[0, 0, 2, 2:-2], np.arange(2, 9) * 0.5, rtol=1e-14)


def test_upsample_modules():
    x = RNG.normal(size=(1, 2, 3, 3))
    (y,), _, ctx = R.UpsamplingBilinear2d(scale_factor=2).forward({}, {}, (x,), True)
    np.testing.assert_array_equal(y, Rs.interpolate(x, scale_factor=2.0, mode="bilinear",
                                                    align_corners=True))
    g = RNG.normal(size=y.shape)
    (gx,), _ = R.UpsamplingBilinear2d(scale_factor=2).backward(ctx, (g,))
    assert_vjp_matches(lambda a: Rs.upsample_bilinear(a, scale_factor=2), [x], g, [gx])
    (y,), _, _ = R.UpsamplingNearest2d(size=(6, 6)).forward({}, {}, (x,), True)
    np.testing.assert_array_equal(y, x.repeat(2, axis=2).repeat(2, axis=3))
    m = R.Upsample(scale_factor=(2, 1.5), mode="bicubic", align_corners=False)
    (y,), _, ctx = m.forward({}, {}, (x,), False)
    assert y.shape == (1, 2, 6, 4)
    (gx,), _ = m.backward(ctx, (np.ones_like(y),))
    assert gx.shape == x.shape


def test_interpolate_errors():
    x = np.ones((1, 1, 4, 4))
    with pytest.raises(ValueError, match="only one"):
        Rs.interpolate(x, size=2, scale_factor=2)
    with pytest.raises(ValueError, match="either"):
        Rs.interpolate(x)
    with pytest.raises(ValueError, match="align_corners"):
        Rs.interpolate(x, scale_factor=2, mode="nearest", align_corners=True)
    with pytest.raises(ValueError, match="recompute_scale_factor"):
        Rs.interpolate(x, size=2, mode="bilinear", recompute_scale_factor=True)
    with pytest.raises(NotImplementedError):
        Rs.interpolate(x, scale_factor=2, mode="linear")
    with pytest.raises(NotImplementedError):
        Rs.interpolate(np.ones((1, 1, 4)), scale_factor=2, mode="bicubic")
    with pytest.raises(ValueError):
        Rs.interpolate(x, size=(2, 2, 2))
    with pytest.raises(RuntimeError):
        Rs.interpolate(x, scale_factor=0.1)


# ----------------------------------------------------------------- shuffles

@pytest.mark.parametrize("r,shape", [(2, (1, 8, 2, 3)), (3, (2, 9, 1, 2)), (1, (3, 2, 2)),
                                     (2, (2, 3, 4, 2, 2))])
def test_pixel_shuffle(r, shape):
    x = RNG.normal(size=shape)
    y = Rs.pixel_shuffle(x, r)
    assert y.shape == shape[:-3] + (shape[-3] // r ** 2, shape[-2] * r, shape[-1] * r)
    np.testing.assert_array_equal(Rs.pixel_unshuffle(y, r), x)
    np.testing.assert_array_equal(Rs.pixel_shuffle(Rs.pixel_unshuffle(y, r), r), y)
    # out[..., c, h r + i, w r + j] = in[..., c r^2 + i r + j, h, w]
    c, h, w, i, j = 0, shape[-2] - 1, shape[-1] - 1, r - 1, 0
    assert y[(0,) * (len(shape) - 3) + (c, h * r + i, w * r + j)] == \
        x[(0,) * (len(shape) - 3) + (c * r * r + i * r + j, h, w)]
    g = RNG.normal(size=y.shape)
    assert_vjp_matches(lambda a: Rs.pixel_shuffle(a, r), [x], g,
                       list(Rs.pixel_shuffle_backward(g, r)))
    gy = RNG.normal(size=x.shape)
    assert_vjp_matches(lambda a: Rs.pixel_unshuffle(a, r), [y], gy,
                       list(Rs.pixel_unshuffle_backward(gy, r)))
    (ym,), _, ctx = R.PixelShuffle(r).forward({}, {}, (x,), True)
    np.testing.assert_array_equal(ym, y)
    np.testing.assert_array_equal(R.PixelShuffle(r).backward(ctx, (g,))[0][0],
                                  Rs.pixel_unshuffle(g, r))
    (xm,), _, ctx = R.PixelUnshuffle(r).forward({}, {}, (y,), True)
    np.testing.assert_array_equal(xm, x)


@pytest.mark.parametrize("g,shape", [(2, (2, 4, 3)), (3, (1, 6, 2, 2)), (1, (2, 3, 2)),
                                     (4, (1, 8, 1, 2, 2))])
def test_channel_shuffle(g, shape):
    x = RNG.normal(size=shape)
    y = Rs.channel_shuffle(x, g)
    c = shape[1]
    np.testing.assert_array_equal(Rs.channel_shuffle(y, c // g), x)
    # out channel k g + j comes from in channel j (C/g) + k
    for k, j in itertools.product(range(c // g), range(g)):
        np.testing.assert_array_equal(y[:, k * g + j], x[:, j * (c // g) + k])
    gy = RNG.normal(size=y.shape)
    assert_vjp_matches(lambda a: Rs.channel_shuffle(a, g), [x], gy,
                       list(Rs.channel_shuffle_backward(gy, g)))
    (ym,), _, ctx = R.ChannelShuffle(g).forward({}, {}, (x,), True)
    np.testing.assert_array_equal(ym, y)
    np.testing.assert_array_equal(R.ChannelShuffle(g).backward(ctx, (gy,))[0][0],
                                  Rs.channel_shuffle_backward(gy, g)[0])


def test_shuffle_errors():
    with pytest.raises(RuntimeError):
        Rs.pixel_shuffle(np.ones((1, 3, 2, 2)), 2)
    with pytest.raises(RuntimeError):
        Rs.pixel_unshuffle(np.ones((1, 1, 3, 4)), 2)
    with pytest.raises(RuntimeError):
        Rs.pixel_shuffle(np.ones((4, 2)), 2)
    with pytest.raises(RuntimeError):
        Rs.channel_shuffle(np.ones((1, 5, 2)), 2)
    with pytest.raises(RuntimeError):
        Rs.channel_shuffle(np.ones((1, 4, 2)), 0)


def test_interpolate_error_scales_bound_the_values():
    from reference.functional import resampling as F
    rng = np.random.default_rng(7)
    for mode, shape in (("bicubic", (1, 2, 3, 4)), ("linear", (2, 1, 5)), ("area", (1, 1, 7))):
        x = rng.normal(size=shape)
        kw = dict(size=(5, 6) if mode == "bicubic" else 4, mode=mode)
        y = F.interpolate(x, **kw)
        g = rng.normal(size=y.shape)
        (gx,) = F.interpolate_backward(g, x, **kw)
        (so,), (sg,) = F.interpolate_error_scales(g, x, **kw)
        assert np.all(so >= np.abs(y)) and np.all(sg >= np.abs(gx))
