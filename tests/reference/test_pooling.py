"""Pooling: worked examples of the window rules, identities, FD backward over the options."""

from __future__ import annotations

import math
import zlib

import numpy as np
import pytest

from reference import functional as F
from reference import nn
from tests.fd import assert_vjp_matches

SPATIAL = {1: (7,), 2: (5, 4), 3: (4, 3, 3)}


def _rng(*key):
    return np.random.default_rng(zlib.crc32(repr(key).encode()))


def _distinct(shape, rng):
    """Values with gaps >> FD step, so no argmax flips under perturbation."""
    return rng.permutation(np.prod(shape)).reshape(shape) * 0.1 + rng.uniform(-0.01, 0.01, shape)


# ----------------------------------------------------------------------------- max pool

def test_max_pool_ceil_mode_last_window_must_start_inside():
    x = np.array([[[1.0, 2.0, 3.0]]])
    # windows start at -1 and 1; a third would start at 3, in the right padding: dropped.
    y, idx = F.max_pool1d(x, 2, 2, padding=1, ceil_mode=True, return_indices=True)
    np.testing.assert_array_equal(y, [[[1.0, 3.0]]])
    np.testing.assert_array_equal(idx, [[[0, 2]]])
    # without padding the overhanging window starting at 2 (inside the input) is kept
    np.testing.assert_array_equal(F.max_pool1d(x, 2, 2, ceil_mode=True), [[[2.0, 3.0]]])
    np.testing.assert_array_equal(F.max_pool1d(x, 2, 2), [[[2.0]]])


def test_max_pool_indices_are_flat_per_plane():
    x = np.zeros((1, 2, 4, 4))
    x[0, 0, 1, 3] = 5.0
    x[0, 1, 2, 0] = 7.0
    y, idx = F.max_pool2d(x, 2, return_indices=True)
    assert idx[0, 0, 0, 1] == 1 * 4 + 3 and y[0, 0, 0, 1] == 5.0
    assert idx[0, 1, 1, 0] == 2 * 4 + 0 and y[0, 1, 1, 0] == 7.0
    x3 = np.zeros((1, 1, 2, 3, 4))
    x3[0, 0, 1, 2, 3] = 1.0
    _, i3 = F.max_pool3d(x3, (2, 3, 4), return_indices=True)
    assert i3.ravel()[0] == (1 * 3 + 2) * 4 + 3


def test_max_pool_ties_go_to_first_in_scan_order():
    """torch's CPU loop keeps ``val > best``: the first maximum in row-major window order
    (checked against torch 2.x); a NaN always wins."""
    _, idx = F.max_pool2d(np.ones((1, 1, 3, 3)), 2, 1, return_indices=True)
    np.testing.assert_array_equal(idx[0, 0], [[0, 1], [3, 4]])
    g = F.max_pool2d_backward(np.ones((1, 1, 2, 2)), np.ones((1, 1, 3, 3)), 2, 1)
    np.testing.assert_array_equal(g[0, 0], [[1, 1, 0], [1, 1, 0], [0, 0, 0]])
    y, idx = F.max_pool1d(np.array([[[1.0, np.nan, 2.0]]]), 3, return_indices=True)
    assert np.isnan(y).all() and idx.ravel()[0] == 1
    # padding never wins, even over -inf
    y, idx = F.max_pool1d(np.full((1, 1, 3), -np.inf), 2, 1, 1, return_indices=True)
    np.testing.assert_array_equal(idx[0, 0], [0, 0, 1, 2])


MAX_CASES = [  # kernel, stride, padding, dilation, ceil_mode
    (2, None, 0, 1, False), (3, 2, 1, 1, True), (2, 1, 1, 2, False), (3, 2, 0, 1, True),
    (2, 3, 1, 1, True)]


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("k,s,p,d,ceil", MAX_CASES)
def test_max_pool_backward_fd(n, k, s, p, d, ceil):
    rng = _rng("max", n, k, s, p, d, ceil)
    x = _distinct((1, 2) + SPATIAL[n], rng)
    y = getattr(F, f"max_pool{n}d")(x, k, s, p, d, ceil)
    g = rng.standard_normal(y.shape)
    gx = getattr(F, f"max_pool{n}d_backward")(g, x, k, s, p, d, ceil)
    assert_vjp_matches(lambda a: getattr(F, f"max_pool{n}d")(a, k, s, p, d, ceil), [x], g, [gx])


def test_max_pool_module_return_indices_and_unbatched():
    m = nn.MaxPool2d(2, return_indices=True)
    x = _distinct((2, 4, 4), _rng("mod"))
    (y, idx), _, ctx = m.forward({}, {}, (x,), False)
    assert y.shape == idx.shape == (2, 2, 2)
    (gx,), _ = m.backward(ctx, (np.ones_like(y), None))
    assert gx.sum() == 8 and set(np.unique(gx)) == {0.0, 1.0}


# ----------------------------------------------------------------------------- avg pool

def test_avg_pool_divisor_counts_padding_not_ceil_overhang():
    x = np.array([[[1.0, 2.0, 3.0, 4.0]]])
    # k=3, s=2, p=1, ceil: windows [-1..1], [1..3], [3..5) -> divisors 3, 3, 2
    np.testing.assert_allclose(F.avg_pool1d(x, 3, 2, 1, ceil_mode=True), [[[1.0, 3.0, 2.0]]])
    np.testing.assert_allclose(
        F.avg_pool1d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False), [[[1.5, 3.0, 4.0]]])
    np.testing.assert_allclose(F.avg_pool1d(x, 3, 2, 0, ceil_mode=True), [[[2.0, 3.5]]])
    np.testing.assert_allclose(F.avg_pool2d(x[None], (1, 3), (1, 2), (0, 1), True,
                                            divisor_override=5)[0], [[[0.6, 1.8, 0.8]]])


@pytest.mark.parametrize("n", [1, 2, 3])
def test_avg_pool_of_constant_is_constant_without_pad_count(n):
    x = np.full((1, 2) + SPATIAL[n], 3.25)
    y = getattr(F, f"avg_pool{n}d")(x, 3, 2, 1, ceil_mode=True, count_include_pad=False)
    np.testing.assert_allclose(y, 3.25, rtol=1e-15)
    y = getattr(F, f"avg_pool{n}d")(x, 3, 2, 1, ceil_mode=True, count_include_pad=True)
    assert np.any(y < 3.25)


AVG_CASES = [  # kernel, stride, padding, ceil_mode, count_include_pad, divisor_override
    (2, None, 0, False, True, None), (3, 2, 1, True, True, None), (3, 2, 1, True, False, None),
    (2, 1, 1, False, False, 3), ((3, 2, 1), 2, 0, True, True, None)]


@pytest.mark.parametrize("n,k,s,p,ceil,cip,dov", [(n,) + c for n in (1, 2, 3) for c in AVG_CASES
                                                    if n > 1 or c[-1] is None])
def test_avg_pool_backward_fd(n, k, s, p, ceil, cip, dov):
    if isinstance(k, tuple):
        k = k[:n]
    extra = () if n == 1 else (dov,)  # avg_pool1d has no divisor_override (torch)
    rng = _rng("avg", n, str(k), s, p, ceil, cip, dov)
    x = rng.standard_normal((1, 2) + SPATIAL[n])
    fn = getattr(F, f"avg_pool{n}d")
    y = fn(x, k, s, p, ceil, cip, *extra)
    g = rng.standard_normal(y.shape)
    gx = getattr(F, f"avg_pool{n}d_backward")(g, x, k, s, p, ceil, cip, *extra)
    assert_vjp_matches(lambda a: fn(a, k, s, p, ceil, cip, *extra), [x], g, [gx])


# ----------------------------------------------------------------------------- adaptive

def test_adaptive_windows():
    x = np.arange(1.0, 6.0)[None, None]
    # L=5 -> 3: windows [0,2), [1,4), [3,5)
    np.testing.assert_allclose(F.adaptive_avg_pool1d(x, 3), [[[1.5, 3.0, 4.5]]])
    y, idx = F.adaptive_max_pool1d(x, 3, return_indices=True)
    np.testing.assert_array_equal(y, [[[2.0, 4.0, 5.0]]])
    np.testing.assert_array_equal(idx, [[[1, 3, 4]]])
    x2 = np.arange(12.0).reshape(1, 1, 3, 4)
    np.testing.assert_array_equal(F.adaptive_avg_pool2d(x2, (None, 1))[0, 0, :, 0],
                                  x2[0, 0].mean(axis=1))
    np.testing.assert_array_equal(F.adaptive_avg_pool2d(x2, (3, 4)), x2)


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("out", [1, 2, 3])
def test_adaptive_backward_fd(n, out):
    rng = _rng("adaptive", n, out)
    x = _distinct((1, 2) + SPATIAL[n], rng)
    osz = (out,) * n
    for name in ("adaptive_avg_pool", "adaptive_max_pool"):
        fn = getattr(F, f"{name}{n}d")
        y = fn(x, osz)
        g = rng.standard_normal(y.shape)
        gx = getattr(F, f"{name}{n}d_backward")(g, x, osz)
        assert_vjp_matches(lambda a: fn(a, osz), [x], g, [gx])


def test_adaptive_modules():
    x = _distinct((1, 2, 5, 4), _rng("amod"))
    (y, idx), _, ctx = nn.AdaptiveMaxPool2d((2, None), return_indices=True).forward(
        {}, {}, (x,), False)
    assert y.shape == (1, 2, 2, 4)
    (y,), _, ctx = nn.AdaptiveAvgPool2d(1).forward({}, {}, (x,), False)
    np.testing.assert_allclose(y[..., 0, 0], x.mean(axis=(2, 3)))
    (gx,), _ = nn.AdaptiveAvgPool2d(1).backward(ctx, (np.ones_like(y),))
    np.testing.assert_allclose(gx, 1 / 20)


# ----------------------------------------------------------------------------- LP pool

def test_lp_pool_forward():
    x = np.array([[[3.0, -4.0, 1.0, 2.0, 2.0]]])
    np.testing.assert_allclose(F.lp_pool1d(x, 2, 2), [[[5.0, math.sqrt(5.0)]]])
    np.testing.assert_allclose(F.lp_pool1d(np.abs(x), 1, 2), [[[7.0, 3.0]]])
    np.testing.assert_allclose(F.lp_pool1d(x, math.inf, 2), [[[4.0, 2.0]]])
    # ceil-mode overhang: torch rescales by prod(k)/count -> sqrt(2 * 2**2), not |2|
    np.testing.assert_allclose(F.lp_pool1d(x, 2, 2, ceil_mode=True),
                               [[[5.0, math.sqrt(5.0), math.sqrt(8.0)]]])


LP_CASES = [(2, 2, None, False), (3, 2, 1, True), (1.5, 3, 2, True), (1, 2, 1, False),
            (math.inf, 2, 1, True)]


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("p,k,s,ceil", LP_CASES)
def test_lp_pool_backward_fd(n, p, k, s, ceil):
    rng = _rng("lp", n, p, k, s, ceil)
    x = _distinct((1, 1) + SPATIAL[n], rng) + 0.5  # positive: x**1.5 defined
    if p == math.inf:
        x = x * np.where(rng.random(x.shape) < 0.5, -1, 1)
    fn = getattr(F, f"lp_pool{n}d")
    y = fn(x, p, k, s, ceil)
    g = rng.standard_normal(y.shape)
    gx = getattr(F, f"lp_pool{n}d_backward")(g, x, p, k, s, ceil)
    assert_vjp_matches(lambda a: fn(a, p, k, s, ceil), [x], g, [gx], rtol=1e-5)


def test_lp_pool_zero_window_has_zero_gradient():
    x = np.array([[[0.0, 0.0, 1.0, 2.0]]])
    gx = F.lp_pool1d_backward(np.ones((1, 1, 2)), x, 2, 2)
    np.testing.assert_array_equal(gx[0, 0, :2], [0.0, 0.0])
    (y,), _, ctx = nn.LPPool1d(2, 2).forward({}, {}, (x,), False)
    np.testing.assert_allclose(nn.LPPool1d(2, 2).backward(ctx, (np.ones_like(y),))[0][0], gx)


# ----------------------------------------------------------------------------- unpool

@pytest.mark.parametrize("n", [1, 2, 3])
def test_max_unpool_inverts_max_pool_at_maxima_and_fd(n):
    rng = _rng("unpool", n)
    x = _distinct((1, 2) + SPATIAL[n], rng)
    y, idx = getattr(F, f"max_pool{n}d")(x, 2, return_indices=True)
    size = x.shape[2:]
    u = getattr(F, f"max_unpool{n}d")(y, idx, 2, output_size=size)
    assert u.shape == x.shape
    np.testing.assert_array_equal(u[u != 0], x[u != 0])
    np.testing.assert_array_equal(getattr(F, f"max_pool{n}d")(u, 2), y)
    g = rng.standard_normal(u.shape)
    gy = getattr(F, f"max_unpool{n}d_backward")(g, y, idx, 2, output_size=size)
    assert_vjp_matches(lambda a: getattr(F, f"max_unpool{n}d")(a, idx, 2, output_size=size),
                       [y], g, [gy])
    m = getattr(nn, f"MaxUnpool{n}d")(2)
    (u2,), _, ctx = m.forward({}, {}, (y, idx, x.shape), False)
    np.testing.assert_array_equal(u2, u)
    gin, _ = m.backward(ctx, (g,))
    np.testing.assert_array_equal(gin[0], gy)
    assert gin[1] is None


def test_max_unpool_default_size_and_errors():
    y = np.array([[[5.0, 7.0]]])
    np.testing.assert_array_equal(F.max_unpool1d(y, np.array([[[1, 2]]]), 2),
                                  [[[0, 5, 7, 0]]])
    with pytest.raises(ValueError, match="invalid output_size"):
        F.max_unpool1d(y, np.array([[[1, 2]]]), 2, output_size=(7,))
    with pytest.raises(RuntimeError, match="invalid max index"):
        F.max_unpool1d(y, np.array([[[1, 4]]]), 2)


# ----------------------------------------------------------------------------- fractional

def test_fractional_interval_sequence():
    """Graham's sequence, alpha = (L-k)/(O-1) = 7/3 and u = 0.5: starts 0, 2, 4, then L-k = 7.
    _random_samples[..., 0] drives W and [..., 1] drives H (checked against torch)."""
    x = np.arange(90.0).reshape(1, 1, 9, 10)  # max of a window = its bottom-right corner
    smp = np.array([[[0.0, 0.5]]])  # W: u=0 -> alpha=8/3: floor(i*8/3) = 0, 2, 5, then 8
    y, idx = F.fractional_max_pool2d(x, 2, (4, 4), return_indices=True, _random_samples=smp)
    rows, cols = np.array([0, 2, 4, 7]) + 1, np.array([0, 2, 5, 8]) + 1
    np.testing.assert_array_equal(y[0, 0], rows[:, None] * 10 + cols[None, :])
    np.testing.assert_array_equal(idx[0, 0], y[0, 0])
    x3 = np.arange(5 * 6 * 7.0).reshape(1, 1, 5, 6, 7)
    y3 = F.fractional_max_pool3d(x3, 1, (2, 2, 2), _random_samples=np.array([[[0.0, 0.0, 0.0]]]))
    np.testing.assert_array_equal(y3.ravel(), [x3[0, 0, t, h, w] for t in (0, 4)
                                               for h in (0, 5) for w in (0, 6)])


@pytest.mark.parametrize("n,k,out,ratio", [(2, 2, (3, 2), None), (2, 3, None, 0.5),
                                           (3, 2, 2, None)])
def test_fractional_backward_fd(n, k, out, ratio):
    rng = _rng("frac", n, k)
    x = _distinct((1, 2) + ((6, 5) if n == 2 else (4, 4, 4)), rng)
    smp = rng.random((1, 2, n))
    fn = getattr(F, f"fractional_max_pool{n}d")
    y = fn(x, k, out, ratio, _random_samples=smp)
    g = rng.standard_normal(y.shape)
    gx = getattr(F, f"fractional_max_pool{n}d_backward")(g, x, k, out, ratio, smp)
    assert_vjp_matches(lambda a: fn(a, k, out, ratio, _random_samples=smp), [x], g, [gx])
    m = getattr(nn, f"FractionalMaxPool{n}d")(k, out, ratio, _random_samples=smp)
    (ym,), _, ctx = m.forward({}, m.initial_buffers(), (x,), False)
    np.testing.assert_array_equal(ym, y)
    np.testing.assert_array_equal(m.backward(ctx, (g,))[0][0], gx)


# ----------------------------------------------------------------------------- errors

def test_pooling_errors():
    x = np.zeros((1, 1, 6, 6))
    with pytest.raises(RuntimeError, match="at most half"):
        F.max_pool2d(x, 2, padding=2)
    with pytest.raises(RuntimeError, match="at most half"):
        F.avg_pool2d(x, 3, padding=2)
    with pytest.raises(RuntimeError, match="too small"):
        F.max_pool1d(np.zeros((1, 1, 2)), 3)
    with pytest.raises(ValueError, match="_random_samples"):
        F.fractional_max_pool2d(x, 2, 3)
    with pytest.raises(RuntimeError, match="too large"):
        F.fractional_max_pool2d(x, 3, 5, _random_samples=np.zeros((1, 1, 2)))
    with pytest.raises(RuntimeError, match="divisor must be not zero"):
        F.avg_pool2d(x, 2, divisor_override=0)


def test_error_scales():
    """Max family: the scatter of |g| to the argmaxes; average family and LPPool: the op on
    magnitudes (equal to |y| where nothing cancels)."""
    rng = _rng("scales")
    x = _distinct((1, 2, 5, 4), rng)
    g = rng.standard_normal((1, 2, 4, 3))
    m = nn.MaxPool2d(2, 1)
    (y,), _, ctx = m.forward({}, {}, (x,), False)
    sc = m.error_scales(ctx, (g,))
    np.testing.assert_array_equal(sc.input_grads[0], F.max_pool2d_backward(np.abs(g), x, 2, 1))
    a = nn.AvgPool2d(2, 1)
    (ya,), _, ctx = a.forward({}, {}, (x,), False)
    sc = a.error_scales(ctx, (g,))
    np.testing.assert_allclose(sc.outputs[0], F.avg_pool2d(np.abs(x), 2, 1))
    np.testing.assert_allclose(sc.input_grads[0], F.avg_pool2d_backward(np.abs(g), x, 2, 1))
    lp = nn.LPPool2d(2, 2, 1)
    xp = np.abs(x) + 0.1
    (yl,), _, ctx = lp.forward({}, {}, (xp,), False)
    sc = lp.error_scales(ctx, (g,))
    np.testing.assert_allclose(sc.outputs[0], yl)
    np.testing.assert_allclose(sc.input_grads[0],
                               np.abs(F.lp_pool2d_backward(np.abs(g), xp, 2, 2, 1)))
