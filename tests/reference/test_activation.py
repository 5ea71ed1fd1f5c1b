"""Activation references: backward vs central differences, kink conventions, known values,
identities, NaN/Inf policy, errors. No framework output is used anywhere."""

from __future__ import annotations

import math

import numpy as np
import pytest

import reference.functional as F
import reference.nn as nn
from reference.nn.base import Scales
from tests.fd import assert_vjp_matches

SHAPE = (3, 4)


def _away_from(x: np.ndarray, kinks, gap: float = 1e-2) -> np.ndarray:
    """Move every entry at least ``gap`` away from each kink (FD needs a smooth neighbourhood)."""
    x = x.copy()
    for k in kinks:
        near = np.abs(x - k) < gap
        x[near] = k + np.where(x[near] >= k, gap, -gap) * 2
    return x


# (name, forward, backward, kwargs, kinks, input scale)
ELEMENTWISE = [
    ("relu", F.relu, F.relu_backward, {}, [0.0], 2.0),
    ("relu6", F.relu6, F.relu6_backward, {}, [0.0, 6.0], 5.0),
    ("threshold", F.threshold, F.threshold_backward, {"threshold": 0.5, "value": -2.0}, [0.5], 2.0),
    ("threshold_neg", F.threshold, F.threshold_backward, {"threshold": -1.0, "value": 3.0}, [-1.0],
     2.0),
    ("hardtanh", F.hardtanh, F.hardtanh_backward, {}, [-1.0, 1.0], 2.0),
    ("hardtanh_opts", F.hardtanh, F.hardtanh_backward, {"min_val": -0.5, "max_val": 2.0},
     [-0.5, 2.0], 2.0),
    ("elu", F.elu, F.elu_backward, {}, [0.0], 2.0),
    ("elu_alpha", F.elu, F.elu_backward, {"alpha": 0.3}, [0.0], 2.0),
    ("selu", F.selu, F.selu_backward, {}, [0.0], 2.0),
    ("celu", F.celu, F.celu_backward, {}, [0.0], 2.0),
    ("celu_alpha", F.celu, F.celu_backward, {"alpha": 2.5}, [0.0], 3.0),
    ("leaky_relu", F.leaky_relu, F.leaky_relu_backward, {}, [0.0], 2.0),
    ("leaky_relu_slope", F.leaky_relu, F.leaky_relu_backward, {"negative_slope": 0.3}, [0.0], 2.0),
    ("rrelu_eval", F.rrelu, F.rrelu_backward, {"lower": 0.1, "upper": 0.3}, [0.0], 2.0),
    ("gelu", F.gelu, F.gelu_backward, {}, [], 3.0),
    ("gelu_tanh", F.gelu, F.gelu_backward, {"approximate": "tanh"}, [], 3.0),
    ("sigmoid", F.sigmoid, F.sigmoid_backward, {}, [], 4.0),
    ("tanh", F.tanh, F.tanh_backward, {}, [], 2.0),
    ("silu", F.silu, F.silu_backward, {}, [], 4.0),
    ("mish", F.mish, F.mish_backward, {}, [], 4.0),
    ("logsigmoid", F.logsigmoid, F.logsigmoid_backward, {}, [], 4.0),
    ("softplus", F.softplus, F.softplus_backward, {}, [], 4.0),
    ("softplus_beta_threshold", F.softplus, F.softplus_backward, {"beta": 2.0, "threshold": 3.0},
     [1.5], 3.0),
    ("softplus_small_beta", F.softplus, F.softplus_backward, {"beta": 0.5, "threshold": 1.0},
     [2.0], 4.0),
    ("softsign", F.softsign, F.softsign_backward, {}, [], 3.0),
    ("tanhshrink", F.tanhshrink, F.tanhshrink_backward, {}, [], 2.0),
    ("hardshrink", F.hardshrink, F.hardshrink_backward, {}, [-0.5, 0.5], 2.0),
    ("hardshrink_lambd", F.hardshrink, F.hardshrink_backward, {"lambd": 1.2}, [-1.2, 1.2], 2.0),
    ("softshrink", F.softshrink, F.softshrink_backward, {}, [-0.5, 0.5], 2.0),
    ("softshrink_lambd", F.softshrink, F.softshrink_backward, {"lambd": 1.2}, [-1.2, 1.2], 2.0),
    ("hardsigmoid", F.hardsigmoid, F.hardsigmoid_backward, {}, [-3.0, 3.0], 4.0),
    ("hardswish", F.hardswish, F.hardswish_backward, {}, [-3.0, 3.0], 4.0),
]


@pytest.mark.parametrize("name,f,b,kw,kinks,scale", ELEMENTWISE, ids=[e[0] for e in ELEMENTWISE])
def test_elementwise_backward_matches_fd(name, f, b, kw, kinks, scale):
    rng = np.random.default_rng(abs(hash(name)) % 2**32)
    x = _away_from(rng.normal(size=SHAPE) * scale, kinks)
    g = rng.normal(size=SHAPE)
    assert_vjp_matches(lambda x: f(x, **kw), [x], g, b(g, x, **kw))


def test_rrelu_training_backward_matches_fd():
    rng = np.random.default_rng(1)
    x = _away_from(rng.normal(size=SHAPE), [0.0])
    noise = rng.uniform(0.125, 1 / 3, size=SHAPE)
    g = rng.normal(size=SHAPE)
    kw = dict(lower=0.125, upper=1 / 3, training=True, noise=noise)
    assert_vjp_matches(lambda x: F.rrelu(x, **kw), [x], g, F.rrelu_backward(g, x, **kw))
    y = F.rrelu(x, **kw)
    np.testing.assert_array_equal(y, np.where(x <= 0, x * noise, x))
    recovered = F.infer_rrelu_noise(x, y)
    np.testing.assert_allclose(recovered[x < 0], noise[x < 0], rtol=1e-15)
    assert np.all(recovered[x > 0] == 1.0)


@pytest.mark.parametrize("shape,c", [((5,), 1), ((2, 3), 3), ((2, 3, 4), 3), ((2, 3, 2, 2), 1)])
def test_prelu_backward_matches_fd(shape, c):
    rng = np.random.default_rng(2)
    x = _away_from(rng.normal(size=shape), [0.0])
    w = rng.normal(size=(c,))
    g = rng.normal(size=shape)
    gx, gw = F.prelu_backward(g, x, w)
    assert gw.shape == (c,)
    assert_vjp_matches(F.prelu, [x, w], g, [gx, gw])


@pytest.mark.parametrize("shape,dim", [((2, 6), -1), ((4, 3), 0), ((2, 4, 3), 1), ((6,), 0)])
def test_glu_backward_matches_fd(shape, dim):
    rng = np.random.default_rng(3)
    x = rng.normal(size=shape) * 2
    y = F.glu(x, dim)
    g = rng.normal(size=y.shape)
    assert_vjp_matches(lambda x: F.glu(x, dim), [x], g, F.glu_backward(g, x, dim))
    a, b = np.split(x, 2, axis=dim)
    np.testing.assert_allclose(y, a / (1 + np.exp(-b)), rtol=1e-15)


SOFTMAXES = [(F.softmax, F.softmax_backward), (F.softmin, F.softmin_backward),
             (F.log_softmax, F.log_softmax_backward)]


@pytest.mark.parametrize("fb", SOFTMAXES, ids=["softmax", "softmin", "log_softmax"])
@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 3, 2), (2, 2, 2, 2)])
def test_softmax_family_backward_every_dim(fb, shape):
    f, b = fb
    rng = np.random.default_rng(4)
    x = rng.normal(size=shape) * 3
    g = rng.normal(size=shape)
    for dim in [None] + list(range(-len(shape), len(shape))):
        assert_vjp_matches(lambda x: f(x, dim), [x], g, b(g, x, dim))


# ------------------------------------------------------------------ kink conventions

def _grad_at(b, x, **kw):
    return b(np.array([1.0]), np.array([x]), **kw)[0][0]


def test_kink_conventions():
    assert _grad_at(F.relu_backward, 0.0) == 0.0
    assert _grad_at(F.relu_backward, -0.0) == 0.0
    assert _grad_at(F.relu6_backward, 0.0) == 0.0
    assert _grad_at(F.relu6_backward, 6.0) == 0.0
    assert _grad_at(F.hardtanh_backward, -1.0) == 0.0
    assert _grad_at(F.hardtanh_backward, 1.0) == 0.0
    assert _grad_at(F.hardtanh_backward, 2.0, min_val=-1.0, max_val=2.0) == 0.0
    assert _grad_at(F.threshold_backward, 0.5, threshold=0.5, value=9.0) == 0.0
    assert _grad_at(F.leaky_relu_backward, 0.0, negative_slope=0.2) == 0.2
    assert _grad_at(F.elu_backward, 0.0, alpha=0.7) == 0.7  # negative branch: torch tests x <= 0
    assert _grad_at(F.selu_backward, 0.0) == pytest.approx(F.SELU_ALPHA * F.SELU_SCALE, rel=1e-15)
    assert _grad_at(F.celu_backward, 0.0, alpha=2.0) == pytest.approx(1.0, rel=1e-15)
    for lam in (0.5, 1.5):
        for k in (lam, -lam):
            assert _grad_at(F.hardshrink_backward, k, lambd=lam) == 0.0
            assert _grad_at(F.softshrink_backward, k, lambd=lam) == 0.0
    assert _grad_at(F.hardsigmoid_backward, -3.0) == 0.0
    assert _grad_at(F.hardsigmoid_backward, 3.0) == 0.0
    assert _grad_at(F.hardswish_backward, -3.0) == 0.0   # left one-sided value
    assert _grad_at(F.hardswish_backward, 3.0) == 1.0    # right one-sided value
    # softplus: at beta*x == threshold the smooth branch is used
    assert _grad_at(F.softplus_backward, 1.5, beta=2.0, threshold=3.0) == pytest.approx(
        1 / (1 + math.exp(-3.0)), rel=1e-15)
    assert _grad_at(F.softplus_backward, 1.5 + 1e-12, beta=2.0, threshold=3.0) == 1.0
    # prelu / rrelu: the negative slope at exactly 0
    gx, gw = F.prelu_backward(np.ones(2), np.array([0.0, -0.0]), np.array([0.3]))
    np.testing.assert_array_equal(gx, [0.3, 0.3])
    np.testing.assert_array_equal(gw, [0.0])
    assert _grad_at(F.rrelu_backward, 0.0, lower=0.1, upper=0.3) == pytest.approx(0.2)
    assert _grad_at(F.rrelu_backward, 0.0, lower=0.1, upper=0.3, training=True,
                    noise=np.array([0.17])) == 0.17


def test_kink_values_are_one_sided_derivatives():
    """Each kink value equals the FD derivative from the side torch's kernel selects."""
    h = 1e-7
    cases = [(F.elu, F.elu_backward, 0.0, -1, {}), (F.selu, F.selu_backward, 0.0, -1, {}),
             (F.leaky_relu, F.leaky_relu_backward, 0.0, -1, {}),
             (F.hardswish, F.hardswish_backward, -3.0, -1, {}),
             (F.hardswish, F.hardswish_backward, 3.0, +1, {}),
             (F.relu, F.relu_backward, 0.0, -1, {}), (F.hardtanh, F.hardtanh_backward, 1.0, +1, {}),
             (F.hardsigmoid, F.hardsigmoid_backward, 3.0, +1, {})]
    for f, b, k, side, kw in cases:
        x0 = np.array([k])
        one_sided = (f(x0 + side * h, **kw) - f(x0, **kw))[0] / (side * h)
        assert _grad_at(b, k, **kw) == pytest.approx(one_sided, rel=1e-6, abs=1e-6), f.__name__


# ------------------------------------------------------------------ known values, identities

def test_selu_constants_and_values():
    assert F.SELU_ALPHA == 1.6732632423543772848170429916717
    assert F.SELU_SCALE == 1.0507009873554804934193349852946
    x = np.array([1.0, -1.0, -800.0, 0.0])
    y = F.selu(x)
    assert y[0] == F.SELU_SCALE
    assert y[1] == pytest.approx(F.SELU_SCALE * F.SELU_ALPHA * (math.exp(-1) - 1), rel=1e-15)
    assert y[2] == -F.SELU_SCALE * F.SELU_ALPHA == -1.7580993408473766
    assert y[3] == 0.0


def test_gelu_known_values_and_erf_accuracy():
    x = np.array([1.0, -1.0, 2.0, 0.0, -10.0])
    y = F.gelu(x)
    # Phi(1) = 0.841344746068542948585..., Phi(2) = 0.977249868051820792799...
    np.testing.assert_allclose(y[:3], [0.8413447460685429, -0.15865525393145705,
                                       1.9544997361036416], rtol=2e-16)
    assert y[3] == 0.0
    # Phi(-10) = 7.61985302416052606597e-24: full relative accuracy deep in the tail
    np.testing.assert_allclose(y[4], -10 * 7.619853024160526e-24, rtol=1e-14)
    # Phi(x) + Phi(-x) = 1
    z = np.linspace(-6, 6, 41)
    phi = F.gelu(z[z != 0]) / z[z != 0]
    np.testing.assert_allclose(phi + phi[::-1], 1.0, rtol=1e-15)


def test_gelu_tanh_close_to_exact():
    x = np.linspace(-6, 6, 2001)
    g = np.ones_like(x)
    assert np.max(np.abs(F.gelu(x, "tanh") - F.gelu(x))) < 5e-4
    assert np.max(np.abs(F.gelu_backward(g, x, "tanh")[0] - F.gelu_backward(g, x)[0])) < 1e-3
    assert F.gelu(np.array([0.0]), "tanh")[0] == 0.0
    assert F.gelu_backward(np.ones(1), np.zeros(1), "tanh")[0][0] == 0.5


def test_smooth_known_values():
    assert F.sigmoid(np.array([0.0]))[0] == 0.5
    assert F.logsigmoid(np.array([0.0]))[0] == -math.log(2)
    assert F.softplus(np.array([0.0]), beta=2.0)[0] == math.log(2) / 2
    assert F.softplus(np.array([4.0]), beta=2.0, threshold=7.9)[0] == 4.0   # 8 > 7.9: linear
    assert F.softplus(np.array([4.0]), beta=2.0, threshold=8.0)[0] == pytest.approx(
        math.log1p(math.exp(8.0)) / 2, rel=1e-15)                           # 8 > 8 false
    assert F.silu(np.array([1.0]))[0] == pytest.approx(1 / (1 + math.exp(-1)), rel=1e-15)
    assert F.mish(np.array([1.0]))[0] == pytest.approx(math.tanh(math.log1p(math.e)), rel=1e-15)
    assert F.hardswish(np.array([1.0]))[0] == pytest.approx(4 / 6, rel=1e-15)
    assert F.hardsigmoid(np.array([1.0]))[0] == pytest.approx(4 / 6, rel=1e-15)
    assert F.softsign(np.array([3.0]))[0] == 0.75
    assert F.tanhshrink(np.array([1.0]))[0] == pytest.approx(1 - math.tanh(1), rel=1e-15)
    assert F.celu(np.array([-2.0]), alpha=2.0)[0] == pytest.approx(2 * (math.exp(-1) - 1),
                                                                    rel=1e-15)
    np.testing.assert_array_equal(F.softshrink(np.array([-1.0, 0.2, 1.0])), [-0.5, 0.0, 0.5])
    np.testing.assert_array_equal(F.hardshrink(np.array([-1.0, 0.5, 0.2, 1.0])),
                                  [-1.0, 0.0, 0.0, 1.0])
    # large-magnitude stability: no overflow, exact saturation
    big = np.array([-1000.0, 1000.0])
    np.testing.assert_array_equal(F.sigmoid(big), [0.0, 1.0])
    np.testing.assert_array_equal(F.logsigmoid(big), [-1000.0, 0.0])
    np.testing.assert_array_equal(F.softplus(big, threshold=1e9), [0.0, 1000.0])
    np.testing.assert_array_equal(F.softplus_backward(np.ones(2), big, threshold=1e9)[0], [0, 1])


def test_softmax_rows_sum_to_one_and_dim_none():
    rng = np.random.default_rng(5)
    for shape in [(5,), (3, 4), (2, 3, 4), (2, 3, 2, 2)]:
        x = rng.normal(size=shape) * 10
        for dim in range(len(shape)):
            np.testing.assert_allclose(np.sum(F.softmax(x, dim), axis=dim), 1.0, rtol=1e-15)
            np.testing.assert_allclose(np.sum(F.softmin(x, dim), axis=dim), 1.0, rtol=1e-15)
            np.testing.assert_allclose(np.exp(F.log_softmax(x, dim)), F.softmax(x, dim),
                                       rtol=1e-14)
            np.testing.assert_allclose(F.softmin(x, dim), F.softmax(-x, dim), rtol=0)
        legacy = 0 if len(shape) in (1, 3) else 1
        for f in (F.softmax, F.softmin, F.log_softmax):
            np.testing.assert_array_equal(f(x, None), f(x, legacy))
    assert F.softmax_dim(0, None) == 0
    assert F.softmax(np.array(3.0), 0) == 1.0
    assert F.log_softmax(np.array(3.0), -1) == 0.0


def test_log_softmax_stable_at_large_magnitude():
    for s in (1e4, -1e4, 1e300):
        x = np.array([s, 0.0, -s]) if s > 0 else np.array([-s, 0.0, s])
        y = F.log_softmax(x, 0)
        assert np.all(np.isfinite(y[:2]))
        assert y[0] == 0.0 and y[1] == -abs(s)
    x = np.array([1e4, 1e4, 1e4 - math.log(2)])
    np.testing.assert_allclose(F.log_softmax(x, 0), np.log([0.4, 0.4, 0.2]), rtol=1e-12)
    np.testing.assert_allclose(F.softmax(np.array([1e4, 1e4]), 0), [0.5, 0.5], rtol=0)
    np.testing.assert_allclose(F.softmax(np.array([-1e4, -1e4 + math.log(3)]), 0), [0.25, 0.75],
                               rtol=1e-12)
    g = np.array([1.0, -2.0, 0.5])
    gx = F.log_softmax_backward(g, np.array([1e4, 0.0, -1e4]), 0)[0]
    np.testing.assert_allclose(gx, [1.0 - (-0.5), -2.0, 0.5], rtol=1e-15)


def test_nan_inf_policy():
    nan, inf = np.nan, np.inf
    x = np.array([nan, inf, -inf])
    np.testing.assert_array_equal(F.relu(x), [nan, inf, 0.0])
    np.testing.assert_array_equal(F.relu_backward(np.ones(3), x)[0], [1.0, 1.0, 0.0])
    np.testing.assert_array_equal(F.gelu(x), [nan, inf, nan])
    np.testing.assert_array_equal(F.gelu_backward(np.ones(3), x)[0], [nan, nan, nan])
    np.testing.assert_array_equal(F.silu(x), [nan, inf, nan])
    np.testing.assert_array_equal(F.mish(x), [nan, inf, nan])
    np.testing.assert_array_equal(F.softsign(x), [nan, nan, nan])
    np.testing.assert_array_equal(F.hardswish(x), [nan, inf, nan])
    np.testing.assert_array_equal(F.hardtanh(x), [nan, 1.0, -1.0])
    np.testing.assert_array_equal(F.elu(x), [nan, inf, -1.0])
    np.testing.assert_array_equal(F.elu_backward(np.ones(3), x)[0], [1.0, 1.0, 0.0])
    np.testing.assert_array_equal(F.leaky_relu_backward(np.ones(3), x, 0.1)[0], [0.1, 1.0, 0.1])
    np.testing.assert_array_equal(F.threshold(x, 0.0, 5.0), [nan, inf, 5.0])
    np.testing.assert_array_equal(F.softshrink(x), [nan, inf, -inf])
    np.testing.assert_array_equal(F.logsigmoid(x), [nan, 0.0, -inf])
    np.testing.assert_array_equal(F.tanhshrink(x), [nan, inf, -inf])
    np.testing.assert_array_equal(F.tanhshrink_backward(np.ones(3), x)[0], [nan, 1.0, 1.0])
    np.testing.assert_array_equal(F.sigmoid_backward(np.ones(3), x)[0], [nan, 0.0, 0.0])
    np.testing.assert_array_equal(F.softplus(x), [nan, inf, 0.0])
    # softmax: -inf entries get 0; a slice with +inf or nan, or only -inf, is all nan
    np.testing.assert_array_equal(F.softmax(np.array([1.0, -inf]), 0), [1.0, 0.0])
    np.testing.assert_array_equal(F.log_softmax(np.array([1.0, -inf]), 0), [0.0, -inf])
    for row in ([1.0, inf], [nan, 1.0], [-inf, -inf]):
        assert np.all(np.isnan(F.softmax(np.array(row), 0)))
        assert np.all(np.isnan(F.log_softmax(np.array(row), 0)))
    assert "hardtanh" in F.NAN_GRADIENT_UNSPECIFIED and "relu" not in F.NAN_GRADIENT_UNSPECIFIED


def test_errors():
    x = np.ones((2, 3))
    with pytest.raises(ValueError):
        F.hardtanh(x, 2.0, 1.0)
    with pytest.raises(ValueError):
        nn.Hardtanh(1.0, 1.0)
    with pytest.raises(RuntimeError):
        F.celu(x, 0.0)
    with pytest.raises(RuntimeError):
        F.softshrink(x, -0.1)
    F.hardshrink(x, -0.1)  # accepted, as torch
    with pytest.raises(RuntimeError):
        F.rrelu(x, 0.5, 0.1)
    with pytest.raises(ValueError):
        F.rrelu(x, 0.1, 0.5, training=True)
    with pytest.raises(RuntimeError):
        F.glu(x, 1)
    with pytest.raises(RuntimeError):
        F.glu(np.array(1.0))
    with pytest.raises(IndexError):
        F.glu(x, 2)
    with pytest.raises(RuntimeError):
        F.prelu(x, np.ones(2))
    with pytest.raises(RuntimeError):
        F.prelu(np.ones(3), np.ones(3))
    with pytest.raises(RuntimeError):
        F.gelu(x, "foo")
    with pytest.raises(IndexError):
        F.softmax(x, 2)
    with pytest.raises(ValueError):
        nn.Softmax2d().forward({}, {}, (x,), False)


# ------------------------------------------------------------------ modules

MODULES = [
    (nn.Threshold(0.1, 20.0), F.threshold, {"threshold": 0.1, "value": 20.0}),
    (nn.ReLU(), F.relu, {}), (nn.ReLU6(inplace=True), F.relu6, {}),
    (nn.Hardtanh(-2.0, 0.5), F.hardtanh, {"min_val": -2.0, "max_val": 0.5}),
    (nn.Hardtanh(min_value=-0.3), F.hardtanh, {"min_val": -0.3}),
    (nn.Sigmoid(), F.sigmoid, {}), (nn.Tanh(), F.tanh, {}), (nn.Hardsigmoid(), F.hardsigmoid, {}),
    (nn.Hardswish(), F.hardswish, {}), (nn.SiLU(), F.silu, {}), (nn.Mish(), F.mish, {}),
    (nn.ELU(alpha=0.5), F.elu, {"alpha": 0.5}), (nn.CELU(2.0), F.celu, {"alpha": 2.0}),
    (nn.SELU(), F.selu, {}), (nn.GELU("tanh"), F.gelu, {"approximate": "tanh"}),
    (nn.GELU(), F.gelu, {}), (nn.Hardshrink(0.3), F.hardshrink, {"lambd": 0.3}),
    (nn.Softshrink(0.3), F.softshrink, {"lambd": 0.3}),
    (nn.LeakyReLU(0.2), F.leaky_relu, {"negative_slope": 0.2}), (nn.LogSigmoid(), F.logsigmoid, {}),
    (nn.Softplus(beta=2.0, threshold=3.0), F.softplus, {"beta": 2.0, "threshold": 3.0}),
    (nn.Softsign(), F.softsign, {}), (nn.Tanhshrink(), F.tanhshrink, {}),
    (nn.GLU(dim=1), F.glu, {"dim": 1}), (nn.Softmax(dim=-1), F.softmax, {"dim": -1}),
    (nn.Softmin(dim=0), F.softmin, {"dim": 0}), (nn.LogSoftmax(), F.log_softmax, {"dim": 0}),  # 3-D input: legacy dim 0
    (nn.Softmax(), F.softmax, {"dim": 0}), (nn.Softmax2d(), F.softmax, {"dim": -3}),
    (nn.RReLU(0.1, 0.3), F.rrelu, {"lower": 0.1, "upper": 0.3}),
]


@pytest.mark.parametrize("module,f,kw", MODULES, ids=[type(m[0]).__name__ for m in MODULES])
def test_modules_follow_protocol(module, f, kw):
    rng = np.random.default_rng(6)
    x = _away_from(rng.normal(size=(2, 4, 3)) * 2, [0.0, 0.1, -0.3, 0.3, -2.0, 0.5, 1.5])
    outs, new_buffers, ctx = module.forward({}, {}, (x,), False)
    np.testing.assert_array_equal(outs[0], f(x, **kw))
    assert new_buffers == {}
    g = rng.normal(size=outs[0].shape)
    grads, pgrads = module.backward(ctx, (g,))
    assert pgrads == {}
    assert_vjp_matches(lambda x: module.forward({}, {}, (x,), False)[0][0], [x], g, grads)
    scales = module.error_scales(ctx, (g,))
    assert scales is None or isinstance(scales, Scales)


def test_rrelu_module_training_takes_noise():
    rng = np.random.default_rng(7)
    x = _away_from(rng.normal(size=(3, 4)), [0.0])
    noise = rng.uniform(0.1, 0.3, size=x.shape)
    m = nn.RReLU(0.1, 0.3)
    (y,), _, ctx = m.forward({}, {}, (x, noise), True)
    np.testing.assert_array_equal(y, np.where(x <= 0, x * noise, x))
    g = rng.normal(size=x.shape)
    (gx, gnoise), _ = m.backward(ctx, (g,))
    assert gnoise is None
    np.testing.assert_array_equal(gx, np.where(x <= 0, g * noise, g))
    # training without noise: the module draws U(lower, upper) slopes (deterministic for a given
    # input) and the backward reuses them
    (y1,), _, ctx1 = m.forward({}, {}, (x,), True)
    np.testing.assert_array_equal(y1, m.forward({}, {}, (x,), True)[0][0])
    slopes = F.infer_rrelu_noise(x, y1)[x < 0]
    assert np.all((slopes >= 0.1) & (slopes <= 0.3))
    (g1,), _ = m.backward(ctx1, (g,))
    np.testing.assert_allclose(g1, np.where(x <= 0, g * F.infer_rrelu_noise(x, y1), g),
                               rtol=1e-15)
    with pytest.raises(ValueError):
        F.rrelu(x, 0.1, 0.3, training=True)  # the functional form always needs the noise


@pytest.mark.parametrize("c,shape", [(1, (2, 3, 4)), (3, (2, 3, 4)), (3, (2, 3))])
def test_prelu_module(c, shape):
    m = nn.PReLU(c, init=0.1)
    assert m.parameter_shapes() == {"weight": (c,)}
    params = m.initial_parameters()
    np.testing.assert_array_equal(params["weight"], np.full(c, 0.1))
    rng = np.random.default_rng(8)
    x = _away_from(rng.normal(size=shape), [0.0])
    w = rng.normal(size=(c,))
    g = rng.normal(size=shape)
    (y,), _, ctx = m.forward({"weight": w}, {}, (x,), True)
    (gx,), pg = m.backward(ctx, (g,))
    assert_vjp_matches(lambda x, w: m.forward({"weight": w}, {}, (x,), True)[0][0], [x, w], g,
                       [gx, pg["weight"]])
    assert m.error_scales(ctx, (g,)).param_grads["weight"].shape == (c,)


def test_mish_accurate_far_left():
    """For x << 0, softplus(x) = log1p(e^x) ~ e^x is tiny and tanh(sp) = sp (1 - sp^2/3 ...), so
    mish(x) = x log1p(e^x) to full precision; a (1 - e^{-2 sp}) / (1 + e^{-2 sp}) form cancels."""
    for x in (-12.0, -40.0, -449.40419587532716):
        sp = math.log1p(math.exp(x))
        assert F.mish(np.array([x]))[0] == pytest.approx(x * sp, rel=1e-14)
        expected_grad = math.tanh(sp) + x * math.exp(x) / (1 + math.exp(x)) / math.cosh(sp) ** 2
        assert F.mish_backward(np.ones(1), np.array([x]))[0][0] == pytest.approx(
            expected_grad, rel=1e-14)
    assert F.mish(np.array([-449.40419587532716]))[0] < 0  # not flushed to zero


def test_error_scales_cover_cancellation():
    """Scales are at least the magnitude of the terms the torch formulas combine."""
    x = np.array([-1.5, -1.4, 0.3, 2.9, -3.0, 3.5])
    g = np.array([1.0, -2.0, 0.5, 1.0, 1.0, 1.0])
    hs = nn.Hardswish()
    (_,), _, ctx = hs.forward({}, {}, (x,), True)
    sc = hs.error_scales(ctx, (g,)).input_grads[0]
    np.testing.assert_allclose(sc[:4], np.abs(g[:4]) * (np.abs(x[:4]) / 3 + 0.5))
    np.testing.assert_array_equal(sc[4:], 0.0)  # outside (-3, 3) the gradient is 0 or g: exact
    assert sc[0] > 1e15 * abs(F.hardswish_backward(g, x)[0][0])  # the gradient is 0 at -1.5
    # softmax: the exp argument d = x - max is rounded; output scale y (|d| + sum y |d|)
    xs = np.array([[0.0, -20.0, 3.0], [1.0, 1.0, 1.0]])
    sm = nn.Softmax(dim=1)
    (y,), _, ctx = sm.forward({}, {}, (xs,), True)
    out = sm.error_scales(ctx, (np.ones_like(xs),)).outputs[0]
    d = np.abs(xs - xs.max(axis=1, keepdims=True))
    np.testing.assert_allclose(out, y * (d + np.sum(y * d, axis=1, keepdims=True)))
    np.testing.assert_array_equal(out[1], 0.0)  # ties: exp(0) is exact
    # log-softmax of a dominant logit: |y| ~ 4e-11 but the scale is >= 1 (log of a rounded S)
    ls = nn.LogSoftmax(dim=-1)
    xl = np.array([1024.0, 1000.0, 960.0])
    (yl,), _, ctx = ls.forward({}, {}, (xl,), True)
    sl = ls.error_scales(ctx, (np.ones(3),)).outputs[0]
    assert abs(yl[0]) < 1e-10 and sl[0] >= 1.0
