"""Convolution, transposed convolution, Fold/Unfold: worked examples, identities, FD backward."""

from __future__ import annotations

import itertools
import zlib

import numpy as np
import pytest

from reference import functional as F
from reference import nn
from tests.fd import assert_vjp_matches

SPATIAL = {1: (5,), 2: (4, 4), 3: (3, 3, 3)}


def _rng(*key):
    return np.random.default_rng(zlib.crc32(repr(key).encode()))


def _naive_conv1d(x, w, b, stride, pad, dil, groups):
    """Textbook loops, independent of the im2col implementation."""
    N, C, L = x.shape
    O, Cg, K = w.shape
    xp = np.zeros((N, C, L + 2 * pad))
    xp[:, :, pad:pad + L] = x
    Lo = (L + 2 * pad - dil * (K - 1) - 1) // stride + 1
    y = np.zeros((N, O, Lo))
    Og = O // groups
    for n, o, i in itertools.product(range(N), range(O), range(Lo)):
        g = o // Og
        for c, j in itertools.product(range(Cg), range(K)):
            y[n, o, i] += xp[n, g * Cg + c, stride * i + dil * j] * w[o, c, j]
        y[n, o, i] += 0.0 if b is None else b[o]
    return y


# ----------------------------------------------------------------------------- forward

def test_conv1d_worked_example():
    x = np.array([[[1.0, 2.0, 3.0, 4.0]]])
    w = np.array([[[1.0, 0.0, -1.0]]])
    np.testing.assert_array_equal(F.conv1d(x, w), [[[-2.0, -2.0]]])  # no kernel flip
    np.testing.assert_array_equal(F.conv1d(x, w, np.array([1.0]), padding=1),
                                  [[[-1.0, -1.0, -1.0, 4.0]]])


@pytest.mark.parametrize("stride,pad,dil,groups", [(1, 0, 1, 1), (2, 1, 1, 2), (1, 2, 2, 1),
                                                   (3, 1, 2, 2)])
def test_conv1d_matches_naive_loops(stride, pad, dil, groups):
    rng = _rng("naive", stride, pad, dil, groups)
    x = rng.standard_normal((2, 4, 9))
    w = rng.standard_normal((6, 4 // groups, 3))
    b = rng.standard_normal(6)
    np.testing.assert_allclose(F.conv1d(x, w, b, stride, pad, dil, groups),
                               _naive_conv1d(x, w, b, stride, pad, dil, groups), rtol=1e-12)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_delta_kernel_is_identity(n):
    rng = _rng("delta", n)
    x = rng.standard_normal((2, 3) + SPATIAL[n])
    w = np.zeros((3, 3) + (3,) * n)
    for c in range(3):
        w[(c, c) + (1,) * n] = 1.0
    np.testing.assert_array_equal(F.__dict__[f"conv{n}d"](x, w, padding=1), x)
    np.testing.assert_array_equal(F.__dict__[f"conv{n}d"](x, w, padding="same"), x)


@pytest.mark.parametrize("n,stride,pad,dil,groups,opad", [
    (1, 2, 1, 1, 1, 1), (1, 3, 0, 2, 2, 2), (2, 2, 1, 1, 2, 1), (2, 1, 0, 2, 1, 0),
    (3, 2, 1, 1, 1, 1), (3, 1, 1, 2, 2, 0)])
def test_conv_transpose_is_adjoint_of_conv(n, stride, pad, dil, groups, opad):
    """<conv(x), y> = <x, conv_transpose(y)> with the same weight (torch's definition)."""
    rng = _rng("adjoint", n, stride)
    w = rng.standard_normal((4, 4 // groups) + (3,) * n)  # conv: (out, in/g, k); convT: (in, out/g)
    y = rng.standard_normal((2, 4) + (3,) * n)
    xt = getattr(F, f"conv_transpose{n}d")(y, w, None, stride, pad, opad, groups, dil)
    x = rng.standard_normal(xt.shape)
    cx = getattr(F, f"conv{n}d")(x, w, None, stride, pad, dil, groups)
    assert cx.shape == y.shape
    np.testing.assert_allclose(np.sum(cx * y), np.sum(x * xt), rtol=1e-12)


def test_same_padding_even_kernel_puts_extra_on_the_right():
    x = np.arange(1.0, 6.0)[None, None]
    w = np.array([[[1.0, 10.0]]])  # y[i] = x[i-0] + 10 x[i+1] with pad (0, 1)
    np.testing.assert_array_equal(F.conv1d(x, w, padding="same"), [[[21, 32, 43, 54, 5]]])
    m = nn.Conv1d(1, 1, 2, padding="same", padding_mode="replicate", bias=False)
    (y,), _, _ = m.forward({"weight": w}, {}, (x,), False)
    np.testing.assert_array_equal(y, [[[21, 32, 43, 54, 55]]])


def test_padding_modes_forward():
    x = np.array([[[1.0, 2.0, 3.0]]])
    w = np.ones((1, 1, 3))
    expect = {"zeros": [3, 6, 5], "reflect": [5, 6, 7], "replicate": [4, 6, 8],
              "circular": [6, 6, 6]}
    for mode, e in expect.items():
        (y,), _, _ = nn.Conv1d(1, 1, 3, padding=1, padding_mode=mode, bias=False).forward(
            {"weight": w}, {}, (x,), False)
        np.testing.assert_array_equal(y[0, 0], e, err_msg=mode)


def test_conv_unbatched_and_fast():
    import time
    rng = _rng("speed")
    x = rng.standard_normal((2, 4, 8, 8))
    w = rng.standard_normal((5, 4, 3, 3))
    t = time.perf_counter()
    y = F.conv2d(x, w, padding=1)
    assert time.perf_counter() - t < 0.5
    np.testing.assert_allclose(F.conv2d(x[1], w, padding=1), y[1], rtol=1e-13)


# ----------------------------------------------------------------------------- backward (FD)

CONV_CASES = [  # stride, padding, dilation, groups, bias
    (1, 0, 1, 1, True), (2, 1, 1, 2, False), (1, "same", 2, 1, True), (2, "valid", 1, 2, True),
    (1, (1, 0, 2), 1, 1, False), (2, 1, 2, 1, True)]


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("stride,padding,dil,groups,bias", CONV_CASES)
def test_conv_backward_matches_fd(n, stride, padding, dil, groups, bias):
    if isinstance(padding, tuple):
        padding = padding[:n]
    rng = _rng("conv", n, stride, str(padding), dil, groups, bias)
    x = rng.standard_normal((1, 2) + SPATIAL[n])
    k = (2,) + (2,) * (n - 1) if padding == "same" else (2,) * n  # even kernel for 'same'
    w = rng.standard_normal((2, 2 // groups) + k)
    b = rng.standard_normal(2) if bias else None
    conv = getattr(F, f"conv{n}d")
    y = conv(x, w, b, stride, padding, dil, groups)
    g = rng.standard_normal(y.shape)
    gx, gw, gb = getattr(F, f"conv{n}d_backward")(g, x, w, b, stride, padding, dil, groups)
    assert_vjp_matches(lambda a, ww, bb: conv(a, ww, bb, stride, padding, dil, groups),
                       [x, w, b if bias else np.zeros(2)], g, [gx, gw, gb])


TCONV_CASES = [  # stride, padding, output_padding, dilation, groups, bias
    (1, 0, 0, 1, 1, True), (2, 1, 1, 1, 2, True), (2, 0, 1, 2, 1, False), (3, 1, 2, 1, 2, True),
    (1, 1, 1, 2, 1, True)]  # output_padding < dilation with stride 1


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("stride,padding,opad,dil,groups,bias", TCONV_CASES)
def test_conv_transpose_backward_matches_fd(n, stride, padding, opad, dil, groups, bias):
    rng = _rng("tconv", n, stride, padding, opad, dil, groups)
    x = rng.standard_normal((1, 2) + (2,) * n)
    w = rng.standard_normal((2, 4 // groups) + (2,) * n)
    b = rng.standard_normal(4) if bias else None
    tconv = getattr(F, f"conv_transpose{n}d")
    y = tconv(x, w, b, stride, padding, opad, groups, dil)
    g = rng.standard_normal(y.shape)
    gx, gw, gb = getattr(F, f"conv_transpose{n}d_backward")(g, x, w, b, stride, padding, opad,
                                                            groups, dil)
    assert_vjp_matches(lambda a, ww, bb: tconv(a, ww, bb, stride, padding, opad, groups, dil),
                       [x, w, b if bias else np.zeros(4)], g, [gx, gw, gb])


def _module_fd(m, params, x, extra=()):
    (y,), _, ctx = m.forward(params, {}, (x,) + extra, True)
    g = _rng("g", y.shape).standard_normal(y.shape)
    gin, gp = m.backward(ctx, (g,))
    names = sorted(params)

    def f(a, *ps):
        return m.forward(dict(zip(names, ps)), {}, (a,) + extra, True)[0][0]

    assert_vjp_matches(f, [x] + [params[k] for k in names], g, [gin[0]] + [gp[k] for k in names])
    scales = m.error_scales(ctx, (g,))
    assert np.all(scales.outputs[0] >= np.abs(y) - 1e-12)
    assert np.all(scales.input_grads[0] >= np.abs(gin[0]) - 1e-12)
    return y


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("n,padding", [(1, 2), (2, "same"), (3, 1)])
def test_conv_module_padding_modes_fd(mode, n, padding):
    m = getattr(nn, f"Conv{n}d")(2, 2, 3 if n != 2 else (2, 3), padding=padding,
                                 padding_mode=mode, groups=2)
    rng = _rng("mod", mode, n)
    params = {k: rng.standard_normal(s) for k, s in m.parameter_shapes().items()}
    assert params["weight"].shape == (2, 1) + ((3,) * n if n != 2 else (2, 3))
    x = rng.standard_normal((2,) + SPATIAL[n])  # unbatched
    _module_fd(m, params, x)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_conv_transpose_module_with_output_size_fd(n):
    m = getattr(nn, f"ConvTranspose{n}d")(2, 4, 2, stride=2, padding=0, groups=2)
    rng = _rng("tmod", n)
    params = {k: rng.standard_normal(s) for k, s in m.parameter_shapes().items()}
    assert params["weight"].shape == (2, 2) + (2,) * n
    x = rng.standard_normal((1, 2) + (2,) * n)
    y = _module_fd(m, params, x, extra=((5,) * n,))  # output_size -> output_padding 1
    assert y.shape == (1, 4) + (5,) * n
    with pytest.raises(ValueError, match="valid sizes"):
        m.forward(params, {}, (x, (6,) * n), True)


@pytest.mark.parametrize("lazy,eager", [("LazyConv2d", "Conv2d"),
                                        ("LazyConvTranspose1d", "ConvTranspose1d")])
def test_lazy_infer(lazy, eager):
    m = getattr(nn, lazy)(4, 3, stride=1, padding=1, groups=2, bias=False)
    nd = int(eager[-2])
    batched = m.infer(((5, 6) + (7,) * nd,))
    unbatched = m.infer(((6,) + (7,) * nd,))
    assert type(batched) is getattr(nn, eager) and batched.in_channels == 6
    assert unbatched.in_channels == 6
    assert batched.parameter_shapes() == getattr(nn, eager)(
        6, 4, 3, padding=1, groups=2, bias=False).parameter_shapes()
    with pytest.raises(RuntimeError):
        m.parameter_shapes()
    with pytest.raises(RuntimeError):
        m.infer(((7,),))


# ----------------------------------------------------------------------------- fold / unfold

@pytest.mark.parametrize("k,d,p,s", [(2, 1, 0, 1), ((2, 3), 2, 1, 2), (2, 1, 1, 2)])
def test_fold_unfold_fd_and_adjoint(k, d, p, s):
    rng = _rng("fold", str(k), d, p, s)
    x = rng.standard_normal((1, 2, 5, 4))
    u = F.unfold(x, k, d, p, s)
    g = rng.standard_normal(u.shape)
    assert_vjp_matches(lambda a: F.unfold(a, k, d, p, s), [x], g,
                       [F.unfold_backward(g, x, k, d, p, s)])
    c = rng.standard_normal(u.shape)
    f = F.fold(c, (5, 4), k, d, p, s)
    gf = rng.standard_normal(f.shape)
    assert_vjp_matches(lambda a: F.fold(a, (5, 4), k, d, p, s), [c], gf,
                       [F.fold_backward(gf, c, (5, 4), k, d, p, s)])
    np.testing.assert_allclose(np.sum(u * c), np.sum(x * f), rtol=1e-12)  # fold = unfold^T


def test_fold_unfold_layout_and_counts():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    u = F.unfold(x, 2, stride=2)
    np.testing.assert_array_equal(u[0, :, 0], [0, 1, 4, 5])  # first block, row-major
    np.testing.assert_array_equal(u[0, 0], [0, 2, 8, 10])     # top-left entry of each block
    np.testing.assert_array_equal(F.fold(u, (4, 4), 2, stride=2), x)  # non-overlapping: inverse
    ones = F.fold(F.unfold(np.ones((1, 1, 3, 3)), 2), (3, 3), 2)
    np.testing.assert_array_equal(ones[0, 0], [[1, 2, 1], [2, 4, 2], [1, 2, 1]])
    (y,), _, ctx = nn.Unfold(2, stride=2).forward({}, {}, (x,), False)
    (z,), _, _ = nn.Fold((4, 4), 2, stride=2).forward({}, {}, (y,), False)
    np.testing.assert_array_equal(z, x)
    (gx,), _ = nn.Unfold(2, stride=2).backward(ctx, (y,))
    np.testing.assert_array_equal(gx, x)


# ----------------------------------------------------------------------------- errors

def test_conv_errors():
    with pytest.raises(ValueError, match="in_channels must be divisible by groups"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="out_channels must be divisible by groups"):
        nn.Conv2d(4, 3, 3, groups=2)
    with pytest.raises(ValueError, match="not supported for strided convolutions"):
        nn.Conv2d(2, 2, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="not supported for strided convolutions"):
        F.conv1d(np.zeros((1, 1, 5)), np.zeros((1, 1, 3)), stride=2, padding="same")
    with pytest.raises(ValueError, match="padding_mode"):
        nn.Conv1d(1, 1, 3, padding_mode="mirror")
    with pytest.raises(ValueError, match="zeros"):
        nn.ConvTranspose1d(1, 1, 3, padding_mode="reflect")
    with pytest.raises(RuntimeError, match="expected input.* to have 4 channels"):
        F.conv2d(np.zeros((1, 3, 5, 5)), np.zeros((2, 2, 3, 3)), groups=2)
    with pytest.raises(RuntimeError, match="Kernel size can't be greater"):
        F.conv1d(np.zeros((1, 1, 2)), np.zeros((1, 1, 3)))
    with pytest.raises(RuntimeError, match="output padding must be smaller"):
        F.conv_transpose1d(np.zeros((1, 1, 3)), np.zeros((1, 1, 3)), stride=2, output_padding=2)
    with pytest.raises(RuntimeError, match="divisible by the product of kernel_size"):
        F.fold(np.zeros((1, 5, 4)), (3, 3), 2)
