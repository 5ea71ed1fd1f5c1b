"""Dropout references with explicit masks: backward vs central differences, exact scaling,
channel structure, alpha-dropout constants, mask recovery, p = 0 / p = 1 / eval, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

import reference.functional as F
import reference.nn as nn
from tests.fd import assert_vjp_matches

# (kind, forward, backward, input shape, expected mask shape)
VARIANTS = [
    ("dropout", F.dropout, F.dropout_backward, (3, 4), (3, 4)),
    ("dropout", F.dropout, F.dropout_backward, (2, 3, 2), (2, 3, 2)),
    ("dropout1d", F.dropout1d, F.dropout1d_backward, (2, 3, 4), (2, 3)),
    ("dropout1d", F.dropout1d, F.dropout1d_backward, (3, 4), (3,)),          # unbatched (C, L)
    ("dropout2d", F.dropout2d, F.dropout2d_backward, (2, 3, 2, 2), (2, 3)),
    ("dropout2d", F.dropout2d, F.dropout2d_backward, (2, 3, 4), (2, 3)),     # 3-D is (N, C, L)
    ("dropout3d", F.dropout3d, F.dropout3d_backward, (2, 3, 2, 1, 2), (2, 3)),
    ("dropout3d", F.dropout3d, F.dropout3d_backward, (3, 2, 1, 2), (3,)),    # unbatched
    ("alpha_dropout", F.alpha_dropout, F.alpha_dropout_backward, (3, 4), (3, 4)),
    ("feature_alpha_dropout", F.feature_alpha_dropout, F.feature_alpha_dropout_backward,
     (2, 3, 2), (2, 3)),
    ("feature_alpha_dropout", F.feature_alpha_dropout, F.feature_alpha_dropout_backward,
     (3, 4, 2, 2), (3, 4)),                                                  # dim 0 is batch
]
IDS = [f"{v[0]}{v[3]}" for v in VARIANTS]


def _data(shape, mshape, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=shape) + np.where(rng.random(shape) < 0.5, 0.1, -0.1)  # no exact zeros
    mask = rng.random(mshape) < 0.6
    mask.flat[0], mask.flat[-1] = True, False  # both outcomes present
    return x, mask, rng.normal(size=shape)


def _expand(mask, kind, ndim):
    """The mask broadcast to the input (test-side, written independently of the reference)."""
    if kind in ("dropout", "alpha_dropout"):
        return mask
    return mask.reshape(mask.shape + (1,) * (ndim - mask.ndim))


@pytest.mark.parametrize("kind,f,b,shape,mshape", VARIANTS, ids=IDS)
@pytest.mark.parametrize("p", [0.2, 0.5, 0.9])
def test_backward_matches_fd(kind, f, b, shape, mshape, p):
    assert F.dropout_mask_shape(kind, shape) == mshape
    x, mask, g = _data(shape, mshape)
    gx = b(g, x, p, True, mask=mask)
    assert_vjp_matches(lambda x: f(x, p, True, mask=mask), [x], g, gx)


@pytest.mark.parametrize("kind,f,b,shape,mshape", VARIANTS, ids=IDS)
def test_forward_structure(kind, f, b, shape, mshape):
    p = 0.3
    x, mask, g = _data(shape, mshape, seed=1)
    y = f(x, p, True, mask=mask)
    keep = np.broadcast_to(_expand(mask, kind, x.ndim), x.shape)
    if "alpha" in kind:
        alpha = F.SELU_ALPHA * F.SELU_SCALE
        a = 1 / math.sqrt((alpha ** 2 * p + 1) * (1 - p))
        np.testing.assert_allclose(y[keep], a * x[keep] + alpha * a * p, rtol=1e-15)
        np.testing.assert_allclose(y[~keep], -alpha * a * (1 - p), rtol=1e-15)
        np.testing.assert_allclose(b(g, x, p, True, mask=mask)[0], g * keep * a, rtol=1e-15)
    else:
        # survivors scaled by exactly 1/(1-p) (as x * fl(1/(1-p))), the rest exactly 0
        np.testing.assert_array_equal(y[keep], x[keep] * (1.0 / (1.0 - p)))
        np.testing.assert_array_equal(y[~keep], 0.0)
        np.testing.assert_array_equal(b(g, x, p, True, mask=mask)[0],
                                      np.where(keep, g * (1.0 / (1.0 - p)), 0.0))
    # recovering the mask from the output gives it back exactly
    np.testing.assert_array_equal(F.infer_dropout_mask(x, y, p, kind), mask)
    # a channel mask with torch's trailing singleton axes is accepted too
    if kind not in ("dropout", "alpha_dropout"):
        full = mask.reshape(mask.shape + (1,) * (x.ndim - mask.ndim))
        np.testing.assert_array_equal(f(x, p, True, mask=full), y)


@pytest.mark.parametrize("kind,f,b,shape,mshape", VARIANTS, ids=IDS)
def test_eval_p0_p1(kind, f, b, shape, mshape):
    x, mask, g = _data(shape, mshape, seed=2)
    for training, p in [(False, 0.5), (True, 0.0), (False, 1.0)]:  # identity; mask not needed
        np.testing.assert_array_equal(f(x, p, training), x)
        np.testing.assert_array_equal(b(g, x, p, training)[0], g)
    y1 = f(x, 1.0, True)  # p == 1: input * 0 for every variant, gradient 0
    np.testing.assert_array_equal(y1, 0.0)
    np.testing.assert_array_equal(b(g, x, 1.0, True)[0], 0.0)
    assert np.all(np.isnan(f(np.array([[np.nan, np.inf]]), 1.0, True)))
    assert np.all(F.infer_dropout_mask(x, x, 0.0, kind))
    assert not np.any(F.infer_dropout_mask(x, y1, 1.0, kind))


def test_alpha_dropout_constants_preserve_moments():
    """For input mean 0 / variance 1 and keep-probability 1-p, the output has mean 0 and
    variance 1 exactly (the defining property of a, b; Klambauer et al. 2017)."""
    alpha_prime = -F.SELU_SCALE * F.SELU_ALPHA
    assert -alpha_prime == F.ALPHA_DROPOUT_ALPHA == 1.7580993408473766
    for p in (0.05, 0.2, 0.5, 0.9):
        a, kept_shift, dropped = F.alpha_dropout_constants(p)
        b = -a * alpha_prime * p
        assert kept_shift == pytest.approx(b, rel=1e-15)
        assert dropped == pytest.approx(a * alpha_prime + b, rel=1e-15)
        assert dropped == pytest.approx(a * alpha_prime * (1 - p), rel=1e-15)
        mean = (1 - p) * kept_shift + p * dropped
        second = (1 - p) * (a * a + kept_shift ** 2) + p * dropped ** 2
        assert abs(mean) < 1e-15
        assert second == pytest.approx(1.0, rel=1e-14)


def test_non_finite_inputs():
    x = np.array([np.nan, np.inf, -np.inf, 1.0])
    kept = np.array([True, True, True, True])
    dropped = ~kept
    np.testing.assert_array_equal(F.dropout(x, 0.5, mask=kept), [np.nan, np.inf, -np.inf, 2.0])
    # a dropped element is x * 0: nan for non-finite x (torch multiplies by the 0/1 noise)
    np.testing.assert_array_equal(F.dropout(x, 0.5, mask=dropped), [np.nan, np.nan, np.nan, 0.0])
    np.testing.assert_array_equal(F.dropout_backward(np.ones(4), x, 0.5, mask=dropped)[0], 0.0)
    y = F.dropout(x, 0.5, mask=np.array([True, False, True, False]))
    np.testing.assert_array_equal(F.infer_dropout_mask(x, y, 0.5)[1:], [False, True, False])


def test_mask_shapes_and_errors():
    assert F.dropout_mask_shape("dropout2d", (5, 6, 7)) == (5, 6)      # (N, C, L)
    assert F.dropout_mask_shape("dropout2d", (5, 6)) == (5, 6)         # warned in torch, runs
    assert F.dropout_mask_shape("dropout3d", (4, 5, 6)) == (4,)        # unbatched: dim 0
    assert F.dropout_mask_shape("feature_alpha_dropout", (2, 3, 4, 5)) == (2, 3)
    x = np.ones((2, 3))
    for bad_p in (-0.1, 1.1):
        with pytest.raises(ValueError):
            F.dropout(x, bad_p)
        with pytest.raises(ValueError):
            nn.Dropout2d(bad_p)
    with pytest.raises(ValueError):
        F.dropout(x, 0.5)                       # training with 0 < p < 1 needs a mask
    with pytest.raises(ValueError):
        F.dropout(x, 0.5, mask=np.ones((3, 2), bool))
    with pytest.raises(ValueError):
        F.dropout2d(x, 0.5, mask=np.ones((2,), bool))
    with pytest.raises(RuntimeError):
        F.dropout1d(np.ones((2, 3, 4, 5)), 0.5, training=False)  # rank checked even in eval
    with pytest.raises(RuntimeError):
        F.dropout2d(np.ones(4), 0.5, mask=np.ones(4, bool))
    with pytest.raises(RuntimeError):
        F.feature_alpha_dropout(np.ones(4), 0.5, True, mask=np.ones(4, bool))
    F.dropout2d(np.ones(4), 0.5, training=False)  # eval: returned before any rank check
    with pytest.raises(ValueError):
        F.dropout_mask_shape("spatial_dropout", (2, 3))


MODULES = [(nn.Dropout, "dropout", (3, 4)), (nn.Dropout1d, "dropout1d", (2, 3, 4)),
           (nn.Dropout2d, "dropout2d", (2, 3, 4)), (nn.Dropout3d, "dropout3d", (2, 2, 1, 2, 2)),
           (nn.AlphaDropout, "alpha_dropout", (3, 4)),
           (nn.FeatureAlphaDropout, "feature_alpha_dropout", (2, 3, 2))]


@pytest.mark.parametrize("cls,kind,shape", MODULES, ids=[m[1] for m in MODULES])
def test_modules(cls, kind, shape):
    m = cls(p=0.4, inplace=False)
    assert m.kind == kind
    x, mask, g = _data(shape, F.dropout_mask_shape(kind, shape), seed=3)
    (y,), buffers, ctx = m.forward({}, {}, (x, mask), True)
    assert buffers == {}
    fn = getattr(F, kind)
    np.testing.assert_array_equal(y, fn(x, 0.4, True, mask=mask))
    (gx, gmask), pg = m.backward(ctx, (g,))
    assert gmask is None and pg == {}
    assert_vjp_matches(lambda x: m.forward({}, {}, (x, mask), True)[0][0], [x], g, [gx])
    (y_eval,), _, ctx = m.forward({}, {}, (x,), False)
    np.testing.assert_array_equal(y_eval, x)
    (g_eval,), _ = m.backward(ctx, (g,))
    np.testing.assert_array_equal(g_eval, g)
    # training without a mask: the module draws one (deterministic for a given input), and the
    # backward reuses it; the drawn mask is what infer_dropout_mask reads back
    (y1,), _, ctx1 = m.forward({}, {}, (x,), True)
    (y2,), _, _ = m.forward({}, {}, (x,), True)
    np.testing.assert_array_equal(y1, y2)
    drawn = F.infer_dropout_mask(x, y1, 0.4, kind)
    np.testing.assert_array_equal(y1, fn(x, 0.4, True, mask=drawn))
    (g1,), _ = m.backward(ctx1, (g,))
    np.testing.assert_array_equal(g1, getattr(F, kind + "_backward")(g, x, 0.4, True,
                                                                     mask=drawn)[0])
    with pytest.raises(ValueError):
        fn(x, 0.4, True)  # the functional form always needs the mask


def test_module_draws_bernoulli_masks():
    """The module's own draw keeps each element (channel) with probability 1 - p."""
    from scipy import stats
    for p, cls, kind, shape in [(0.2, nn.Dropout, "dropout", (100, 100)),
                                (0.7, nn.Dropout2d, "dropout2d", (100, 50, 2, 2)),
                                (0.5, nn.FeatureAlphaDropout, "feature_alpha_dropout", (80, 80, 3))]:
        x = np.random.default_rng(0).normal(size=shape)
        m = cls(p, generator=np.random.default_rng(1))
        (y,), _, _ = m.forward({}, {}, (x,), True)
        mask = F.infer_dropout_mask(x, y, p, kind)
        assert mask.shape == F.dropout_mask_shape(kind, shape)
        assert stats.binomtest(int(mask.sum()), mask.size, 1 - p).pvalue > 1e-6
    with pytest.raises(RuntimeError):  # the rank check happens before the draw
        nn.Dropout2d(0.5).forward({}, {}, (np.ones(4),), True)


def test_alpha_dropout_unobservable_point_and_scales():
    """At x = alpha' (-1.758...) kept and dropped alpha-dropout values coincide: the draw is
    unobservable there (checkers keep inputs away from it). The output's error scale is
    |a x| + |shift|, the gradient a pure scaling."""
    for p in (0.2, 0.5, 0.9):
        a, shift, dropped = F.alpha_dropout_constants(p)
        assert a * -F.ALPHA_DROPOUT_ALPHA + shift == pytest.approx(dropped, abs=1e-15)
        x = np.array([[-F.ALPHA_DROPOUT_ALPHA, -shift / a, 1.0]])
        m = nn.AlphaDropout(p)
        (y,), _, ctx = m.forward({}, {}, (x, np.array([[True, True, False]])), True)
        sc = m.error_scales(ctx, (np.ones_like(x),))
        np.testing.assert_allclose(sc.outputs[0], np.abs(a * x) + abs(shift))
        assert abs(y[0, 1]) < 1e-15 < sc.outputs[0][0, 1]  # the cancellation point
        assert sc.input_grads == (None,)
        (_,), _, ctx = m.forward({}, {}, (x,), False)
        assert m.error_scales(ctx, (np.ones_like(x),)) is None  # eval: identity
