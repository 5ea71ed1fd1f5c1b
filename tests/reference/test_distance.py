"""Distance references: backward vs central differences, worked examples, identities."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from reference import nn as R
from reference.functional import distance as D
from tests.fd import assert_vjp_matches

RNG = np.random.default_rng(99)

COS_SHAPES = [((2, 3), (2, 3), 1), ((2, 3, 4), (3, 1), 1), ((2, 3, 4), (2, 3, 4), -1),
              ((3,), (3,), 0), ((2, 1, 4), (5, 1), 0)]


@pytest.mark.parametrize("shapes,eps,scale", list(itertools.product(COS_SHAPES, [1e-8, 0.5],
                                                                    [1.0, 0.1])))
def test_cosine_similarity_backward(shapes, eps, scale):
    """eps=0.5 with scale 0.1 puts norms in the clamped regime (the true derivative)."""
    s1, s2, dim = shapes
    x1, x2 = RNG.normal(size=s1) * scale, RNG.normal(size=s2)
    out = D.cosine_similarity(x1, x2, dim, eps)
    g = RNG.normal(size=out.shape)
    analytic = D.cosine_similarity_backward(g, x1, x2, dim, eps)
    assert_vjp_matches(lambda a, b: D.cosine_similarity(a, b, dim, eps), [x1, x2], g, analytic)


def test_cosine_similarity_values():
    x = RNG.normal(size=(3, 5))
    np.testing.assert_allclose(D.cosine_similarity(x, x), 1.0, rtol=1e-15)
    np.testing.assert_allclose(D.cosine_similarity(x, -2.5 * x), -1.0, rtol=1e-15)
    np.testing.assert_allclose(D.cosine_similarity(np.array([[1.0, 0.0]]),
                                                   np.array([[1.0, 1.0]])), [2 ** -0.5])
    # each norm is clamped separately: 6e-9 / (max(5e-9, 1e-8) * 2) = 0.3, where clamping the
    # product, max(5e-9 * 2, 1e-8), would give 0.6
    np.testing.assert_allclose(D.cosine_similarity(np.array([[3e-9, 4e-9]]),
                                                   np.array([[2.0, 0.0]])), [0.3], rtol=1e-14)
    assert D.cosine_similarity(np.zeros((2, 3)), x[:2, :3]).tolist() == [0.0, 0.0]
    assert D.cosine_similarity(np.zeros((2, 3, 4)), np.ones((2, 3, 4)), dim=1).shape == (2, 4)


def test_cosine_zero_vector_gradient():
    """||x1|| = 0 is clamped: d x1 = g x2 / (eps ||x2||), d x2 = 0."""
    x2 = RNG.normal(size=(2, 3))
    g = RNG.normal(size=2)
    g1, g2 = D.cosine_similarity_backward(g, np.zeros((2, 3)), x2, 1, 1e-8)
    np.testing.assert_allclose(g1, g[:, None] * x2 / np.linalg.norm(x2, axis=1,
                                                                    keepdims=True) / 1e-8)
    assert np.all(g2 == 0)


PAIR_CASES = list(itertools.product([((2, 4), (2, 4)), ((4,), (4,)), ((2, 4), (4,)),
                                     ((3, 2, 4), (2, 1))],
                                    [2, 1, 3, 1.5, 0.5, np.inf, -np.inf, -1], [1e-6, 0.3],
                                    [False, True]))


@pytest.mark.parametrize("shapes,p,eps,keepdim", PAIR_CASES)
def test_pairwise_distance_backward(shapes, p, eps, keepdim):
    x1, x2 = RNG.normal(size=shapes[0]), RNG.normal(size=shapes[1])
    out = D.pairwise_distance(x1, x2, p, eps, keepdim)
    g = RNG.normal(size=out.shape)
    analytic = D.pairwise_distance_backward(g, x1, x2, p, eps, keepdim)
    assert_vjp_matches(lambda a, b: D.pairwise_distance(a, b, p, eps, keepdim), [x1, x2], g,
                       analytic, rtol=1e-6, atol=1e-6)


def test_pairwise_distance_values():
    a, b = np.array([[1.0, 2.0]]), np.array([[4.0, 6.0]])
    for p, want in [(2, 5.0), (1, 7.0), (np.inf, 4.0), (-np.inf, 3.0), (0, 2.0),
                    (-1, 12.0 / 7.0)]:
        np.testing.assert_allclose(D.pairwise_distance(a, b, p, eps=0.0), [want], rtol=1e-15)
    # eps is added to the difference, not to the norm (semantic-differences item 22)
    x = RNG.normal(size=(3, 4))
    np.testing.assert_allclose(D.pairwise_distance(x, x, 2, eps=1e-3), 1e-3 * 2.0, rtol=1e-12)
    np.testing.assert_allclose(D.pairwise_distance(x, x, 1, eps=1e-3), 4e-3, rtol=1e-12)
    assert D.pairwise_distance(np.ones(4), np.zeros(4)).shape == ()
    assert D.pairwise_distance(np.ones(4), np.zeros(4), keepdim=True).shape == (1,)
    assert D.pairwise_distance(np.ones((2, 4)), np.zeros(4), keepdim=True).shape == (2, 1)


def test_pairwise_distance_ties_and_zeros():
    """torch's norm VJP: +-inf splits the gradient among ties; zero norm gives zero gradient."""
    x = np.array([[1.0, -1.0, 0.5], [0.0, 0.0, 0.0]])
    g1, g2 = D.pairwise_distance_backward(np.ones(2), x, np.zeros((2, 3)), np.inf, 0.0)
    np.testing.assert_array_equal(g1, [[0.5, -0.5, 0.0], [0.0, 0.0, 0.0]])
    np.testing.assert_array_equal(g2, -g1)
    for p in (2, 3, 1.5):
        g1, _ = D.pairwise_distance_backward(np.ones(2), x, np.zeros((2, 3)), p, 0.0)
        assert np.all(g1[1] == 0)
    g1, _ = D.pairwise_distance_backward(np.ones(2), x, np.zeros((2, 3)), 0, 0.0)
    assert np.all(g1 == 0)


def test_modules_match_functionals():
    x1, x2 = RNG.normal(size=(3, 4)), RNG.normal(size=(3, 4))
    cos = R.CosineSimilarity(dim=1, eps=1e-6)
    (y,), _, ctx = cos.forward({}, {}, (x1, x2), True)
    np.testing.assert_array_equal(y, D.cosine_similarity(x1, x2, 1, 1e-6))
    g = RNG.normal(size=y.shape)
    (ga, gb), _ = cos.backward(ctx, (g,))
    np.testing.assert_array_equal(ga, D.cosine_similarity_backward(g, x1, x2, 1, 1e-6)[0])
    pd = R.PairwiseDistance(p=3, eps=1e-4, keepdim=True)
    (y,), _, ctx = pd.forward({}, {}, (x1, x2), True)
    np.testing.assert_array_equal(y, D.pairwise_distance(x1, x2, 3, 1e-4, True))
    (ga, gb), _ = pd.backward(ctx, (np.ones_like(y),))
    np.testing.assert_array_equal(gb, -ga)


def test_shape_errors():
    with pytest.raises((ValueError, RuntimeError)):
        D.cosine_similarity(np.ones((2, 3)), np.ones((2, 4)))
    with pytest.raises((ValueError, RuntimeError)):
        D.pairwise_distance(np.ones((2, 3)), np.ones((2, 4)))
