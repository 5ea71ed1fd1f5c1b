"""Linear-family references: Bilinear backward vs central differences, worked examples, shape
semantics of Identity/Flatten/Unflatten/LazyLinear and torch's error inputs."""

import numpy as np
import pytest

from reference import functional as F, nn
from tests.fd import assert_vjp_matches

rng = np.random.default_rng(2)


@pytest.mark.parametrize("s1,s2", [((4, 3), (4, 2)), ((3,), (2,)), ((2, 3, 3), (2, 3, 2))])
@pytest.mark.parametrize("bias", [True, False])
def test_bilinear_backward(s1, s2, bias):
    m = nn.Bilinear(3, 2, 4, bias=bias)
    assert m.parameter_shapes() == ({"weight": (4, 3, 2), "bias": (4,)} if bias
                                    else {"weight": (4, 3, 2)})
    p = {k: rng.normal(size=s) for k, s in m.parameter_shapes().items()}
    x1, x2 = rng.normal(size=s1), rng.normal(size=s2)
    (y,), _, ctx = m.forward(p, {}, (x1, x2), True)
    assert y.shape == s1[:-1] + (4,)
    g = rng.normal(size=y.shape)
    (g1, g2), pg = m.backward(ctx, (g,))
    names = list(p)

    def f(a, b, *vals):
        return m.forward(dict(zip(names, vals)), {}, (a, b), True)[0][0]

    assert_vjp_matches(f, [x1, x2] + [p[k] for k in names], g, [g1, g2] + [pg[k] for k in names])
    s = m.error_scales(ctx, (g,))
    assert s.outputs[0].shape == y.shape and np.all(s.outputs[0] >= np.abs(y) - 1e-12)
    assert s.input_grads[0].shape == x1.shape and s.input_grads[1].shape == x2.shape
    assert set(s.param_grads) == set(pg)


def test_bilinear_worked_example():
    w = np.zeros((2, 2, 3))
    w[0, 0, 0] = w[0, 1, 1] = 1.0  # y0 = x1[0] x2[0] + x1[1] x2[1]
    w[1] = 1.0  # y1 = sum(x1) sum(x2)
    y = F.bilinear(np.array([1.0, 2.0]), np.array([3.0, 4.0, 5.0]), w, np.array([0.5, -1.0]))
    np.testing.assert_array_equal(y, [11.5, 35.0])
    # abs_scales: with non-negative data the scale is the output itself
    m = nn.Bilinear(2, 3, 2)
    p = {"weight": w, "bias": np.array([0.5, 1.0])}
    (y,), _, ctx = m.forward(p, {}, (np.array([1.0, 2.0]), np.array([3.0, 4.0, 5.0])), True)
    np.testing.assert_array_equal(m.error_scales(ctx, (np.ones(2),)).outputs[0], y)


def test_bilinear_errors():
    w = np.ones((4, 2, 3))
    with pytest.raises(RuntimeError, match="input batch dimensions do not match at dim 0"):
        F.bilinear(np.ones((5, 2)), np.ones((1, 3)), w)
    with pytest.raises(RuntimeError, match="input dimensions do not match: got 2 and 1"):
        F.bilinear(np.ones((5, 2)), np.ones(3), w)
    with pytest.raises(RuntimeError, match="input1 size does not match weight size"):
        F.bilinear(np.ones((5, 3)), np.ones((5, 3)), w)
    with pytest.raises(RuntimeError, match="input2 size does not match weight size"):
        F.bilinear(np.ones((5, 2)), np.ones((5, 4)), w)
    with pytest.raises(ValueError, match="in1_features must be > 0"):
        nn.Bilinear(0, 3, 4)


def test_identity_ignores_arguments():
    m = nn.Identity(3, 4, foo="bar")
    x = rng.normal(size=(2, 3))
    (y,), b, ctx = m.forward({}, {}, (x,), True)
    np.testing.assert_array_equal(y, x)
    assert m.parameter_shapes() == {} and b == {}
    g = rng.normal(size=(2, 3))
    (gx,), pg = m.backward(ctx, (g,))
    np.testing.assert_array_equal(gx, g)
    assert pg == {}


@pytest.mark.parametrize("start,end,shape,out", [
    (1, -1, (2, 3, 4), (2, 12)), (0, -1, (2, 3, 4), (24,)), (1, 1, (2, 3, 4), (2, 3, 4)),
    (-2, -1, (2, 3, 4, 5), (2, 3, 20)), (0, 1, (2, 3), (6,)), (0, 0, (), (1,)),
    (-1, -1, (), (1,)), (1, 2, (2, 3, 4, 5), (2, 12, 5))])
def test_flatten_shapes_and_backward(start, end, shape, out):
    m = nn.Flatten(start, end)
    x = rng.normal(size=shape)
    (y,), _, ctx = m.forward({}, {}, (x,), True)
    assert y.shape == out
    np.testing.assert_array_equal(y.ravel(), x.ravel())  # row-major order is kept
    g = rng.normal(size=out)
    (gx,), _ = m.backward(ctx, (g,))
    assert_vjp_matches(lambda a: m.forward({}, {}, (a,), True)[0][0], [x], g, [gx])


def test_flatten_errors():
    with pytest.raises(RuntimeError, match="start_dim cannot come after end_dim"):
        nn.Flatten(2, 1).forward({}, {}, (np.ones((2, 3, 4)),), True)
    with pytest.raises(IndexError, match=r"Dimension out of range \(expected to be in range of "
                                         r"\[-1, 0\], but got 1\)"):
        nn.Flatten().forward({}, {}, (np.ones(2),), True)
    with pytest.raises(IndexError, match="Dimension out of range"):
        nn.Flatten().forward({}, {}, (np.array(2.0),), True)
    with pytest.raises(IndexError, match=r"\[-2, 1\], but got 3"):
        nn.Flatten(3).forward({}, {}, (np.ones((2, 3)),), True)


@pytest.mark.parametrize("dim,sizes,shape,out", [
    (1, (2, 3), (2, 6), (2, 2, 3)), (1, (2, -1), (2, 6), (2, 2, 3)),
    (-1, [3, 1, 2], (2, 6), (2, 3, 1, 2)), (0, (1, 2), (2, 6), (1, 2, 6)),
    (1, (6,), (2, 6, 2), (2, 6, 2)), (-2, (-1, 3), (2, 6, 2), (2, 2, 3, 2))])
def test_unflatten_shapes_and_backward(dim, sizes, shape, out):
    m = nn.Unflatten(dim, sizes)
    x = rng.normal(size=shape)
    (y,), _, ctx = m.forward({}, {}, (x,), True)
    assert y.shape == out
    np.testing.assert_array_equal(y.ravel(), x.ravel())
    g = rng.normal(size=out)
    (gx,), _ = m.backward(ctx, (g,))
    assert_vjp_matches(lambda a: m.forward({}, {}, (a,), True)[0][0], [x], g, [gx])


def test_unflatten_errors():
    x = (np.ones((2, 6)),)
    with pytest.raises(RuntimeError, match=r"Provided sizes \[2, 2\] don't multiply up to the "
                                           r"size of dim 1 \(6\)"):
        nn.Unflatten(1, (2, 2)).forward({}, {}, x, True)
    with pytest.raises(RuntimeError, match="don't multiply up"):
        nn.Unflatten(1, (4, -1)).forward({}, {}, x, True)
    with pytest.raises(RuntimeError, match="only one dimension can be inferred"):
        nn.Unflatten(1, (-1, -1)).forward({}, {}, x, True)
    with pytest.raises(RuntimeError, match="sizes must be non-empty"):
        nn.Unflatten(1, ()).forward({}, {}, x, True)
    with pytest.raises(IndexError, match="Dimension out of range"):
        nn.Unflatten(2, (2, 3)).forward({}, {}, x, True)
    with pytest.raises(TypeError, match="unflattened_size must be a tuple of ints, but found "
                                        "type int"):
        nn.Unflatten(1, 2)
    with pytest.raises(TypeError, match="found element of type float at pos 0"):
        nn.Unflatten(1, (2.0, 3))


def test_lazy_linear_infers_in_features_from_last_dim():
    m = nn.LazyLinear(4, bias=False)
    with pytest.raises(RuntimeError, match="infer"):
        m.parameter_shapes()
    e = m.infer(((2, 3, 5),))
    assert type(e) is nn.Linear and (e.in_features, e.out_features, e.bias) == (5, 4, False)
    assert m.infer((7, 5)).in_features == 5  # a bare shape works too
    p = {"weight": rng.normal(size=(4, 5))}
    x = rng.normal(size=(2, 3, 5))
    (y,), _, ctx = m.forward(p, {}, (x,), True)
    np.testing.assert_allclose(y, x @ p["weight"].T, rtol=1e-15)
    g = rng.normal(size=y.shape)
    (gx,), pg = m.backward(ctx, (g,))
    assert set(pg) == {"weight"}
    assert_vjp_matches(lambda a, w: m.forward({"weight": w}, {}, (a,), True)[0][0],
                       [x, p["weight"]], g, [gx, pg["weight"]])
    assert m.error_scales(ctx, (g,)) is not None
    assert nn.LazyLinear(4).infer(((3, 5),)).parameter_shapes() == {"weight": (4, 5),
                                                                    "bias": (4,)}
