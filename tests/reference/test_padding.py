"""reference.functional.pad and the padding modules: docs examples, identities, FD backward."""

from __future__ import annotations

import numpy as np
import pytest

from reference import functional as F
from reference import nn
from tests.fd import assert_vjp_matches

MODES = ("constant", "reflect", "replicate", "circular")


def _input():
    return np.arange(8, dtype=np.float64).reshape(1, 2, 4)


# ----------------------------------------------------------------------------- docs examples
# torch/nn/modules/padding.py docstrings (input = arange(8).reshape(1, 2, 4)).

def test_reflection_pad1d_docs_example():
    (y,), _, _ = nn.ReflectionPad1d(2).forward({}, {}, (_input(),), False)
    np.testing.assert_array_equal(y, [[[2, 1, 0, 1, 2, 3, 2, 1], [6, 5, 4, 5, 6, 7, 6, 5]]])
    (y,), _, _ = nn.ReflectionPad1d((3, 1)).forward({}, {}, (_input(),), False)
    np.testing.assert_array_equal(y, [[[3, 2, 1, 0, 1, 2, 3, 2], [7, 6, 5, 4, 5, 6, 7, 6]]])


def test_replication_pad1d_docs_example():
    (y,), _, _ = nn.ReplicationPad1d((3, 1)).forward({}, {}, (_input(),), False)
    np.testing.assert_array_equal(y, [[[0, 0, 0, 0, 1, 2, 3, 3], [4, 4, 4, 4, 5, 6, 7, 7]]])


def test_circular_pad1d_docs_example():
    (y,), _, _ = nn.CircularPad1d(2).forward({}, {}, (_input(),), False)
    np.testing.assert_array_equal(y, [[[2, 3, 0, 1, 2, 3, 0, 1], [6, 7, 4, 5, 6, 7, 4, 5]]])


def test_constant_and_zero_pad():
    x = _input()
    (y,), _, _ = nn.ConstantPad1d((3, 1), 3.5).forward({}, {}, (x,), False)
    np.testing.assert_array_equal(y[0, 0], [3.5, 3.5, 3.5, 0, 1, 2, 3, 3.5])
    (y,), _, _ = nn.ZeroPad2d((1, 0, 0, 1)).forward({}, {}, (x,), False)
    np.testing.assert_array_equal(y[0], [[0, 0, 1, 2, 3], [0, 4, 5, 6, 7], [0, 0, 0, 0, 0]])


# ----------------------------------------------------------------------------- identities

def test_reflection_of_symmetric_signal_is_symmetric():
    x = np.array([[1.0, 3.0, 5.0, 3.0, 1.0]])
    y = F.pad(x, (3, 3), "reflect")
    np.testing.assert_array_equal(y, y[:, ::-1])
    # mirrored without repeating the edge
    np.testing.assert_array_equal(y[0, :3], [3.0, 5.0, 3.0])


def test_circular_is_periodic_and_replicate_is_constant_outside():
    x = np.arange(5.0)[None, None]
    y = F.pad(x, (5, 5), "circular")
    np.testing.assert_array_equal(y[..., :5], x)
    np.testing.assert_array_equal(y[..., 10:], x)
    r = F.pad(x, (3, 2), "replicate")
    np.testing.assert_array_equal(r[0, 0], [0, 0, 0, 0, 1, 2, 3, 4, 4, 4])


@pytest.mark.parametrize("mode", MODES)
def test_negative_padding_crops(mode):
    x = np.arange(12.0).reshape(1, 2, 6)
    np.testing.assert_array_equal(F.pad(x, (-1, -2), mode), x[..., 1:4])


def test_circular_negative_side_crops_first_then_wraps():
    # torch: F.pad(arange(5), (-1, 2), 'circular') == [1, 2, 3, 4, 1, 2]
    x = np.arange(5.0)[None, None]
    np.testing.assert_array_equal(F.pad(x, (-1, 2), "circular")[0, 0], [1, 2, 3, 4, 1, 2])


def test_constant_pad_any_number_of_dims():
    x = np.ones((2, 3, 4))
    y = F.pad(x, (1, 0, 0, 2, 1, 1), value=-1.0)
    assert y.shape == (4, 5, 5)
    assert y.sum() == x.size - (y.size - x.size)


# ----------------------------------------------------------------------------- backward

CASES = [
    ("constant", (2, 1)), ("constant", (-1, 2, 1, 0)), ("constant", (1, 0, 2, -1, 1, 1)),
    ("reflect", (2, 1)), ("reflect", (1, 2, -1, 1)), ("reflect", (1, 0, 2, 1, 1, 2)),
    ("replicate", (3, 1)), ("replicate", (2, -1, 1, 3)), ("replicate", (1, 2, 0, 1, 2, 1)),
    ("circular", (2, 3)), ("circular", (-1, 2, 2, 1)), ("circular", (1, 2, 2, 0, 1, 1)),
]


@pytest.mark.parametrize("mode,pad", CASES)
def test_pad_backward_matches_fd(mode, pad):
    nd = len(pad) // 2
    shape = (1, 2) + (3, 4, 3)[:nd]
    rng = np.random.default_rng(len(pad) + MODES.index(mode))
    x = rng.standard_normal(shape)
    value = 0.5 if mode == "constant" else None
    y = F.pad(x, pad, mode, value)
    g = rng.standard_normal(y.shape)
    gx = F.pad_backward(g, x.shape, pad, mode)
    assert_vjp_matches(lambda a: F.pad(a, pad, mode, value), [x], g, [gx])


@pytest.mark.parametrize("kind", ["Zero", "Constant", "Reflection", "Replication", "Circular"])
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_padding_modules_backward_unbatched(kind, nd):
    args = (1, 0.25) if kind == "Constant" else (1,)
    m = getattr(nn, f"{kind}Pad{nd}d")(*args)
    rng = np.random.default_rng(nd)
    x = rng.standard_normal((2,) + (2, 3, 2)[:nd])  # unbatched (C, *S)
    (y,), _, ctx = m.forward({}, {}, (x,), False)
    assert y.shape == (2,) + tuple(s + 2 for s in x.shape[1:])
    g = rng.standard_normal(y.shape)
    (gx,), _ = m.backward(ctx, (g,))
    assert_vjp_matches(lambda a: m.forward({}, {}, (a,), False)[0][0], [x], g, [gx])


# ----------------------------------------------------------------------------- errors

def test_errors():
    x = np.zeros((1, 1, 3))
    with pytest.raises(RuntimeError, match="Padding size should be less than"):
        F.pad(x, (3, 0), "reflect")
    with pytest.raises(RuntimeError, match="divisible by 2"):
        F.pad(x, (1, 2, 3))
    with pytest.raises(RuntimeError, match="wrapping around more than once"):
        F.pad(x, (4, 0), "circular")
    with pytest.raises(RuntimeError, match="doesn't take in value"):
        F.pad(x, (1, 1), "reflect", 2.0)
    with pytest.raises(RuntimeError, match="negative output size"):
        F.pad(x, (-2, -2))


def test_reflect_replicate_refuse_all_empty_output():
    """torch (ReflectionPad.cpp / ReplicationPadding.cpp): the padded dims may not ALL be empty;
    one empty dim among several is accepted (and its gradient is zero)."""
    for mode in ("reflect", "replicate"):
        with pytest.raises(RuntimeError, match="is too small"):
            F.pad(np.zeros((1, 2, 4)), (-2, -2), mode)
        with pytest.raises(RuntimeError, match="is too small"):
            F.pad(np.zeros((1, 2, 4, 4)), (-2, -2, -3, -1), mode)
        with pytest.raises(RuntimeError, match="is too small"):
            F.pad(np.zeros((2, 4, 4, 4)), (-2, -2, -2, -2, -3, -1), mode)
        y = F.pad(np.ones((1, 2, 4, 4)), (1, 1, -2, -2), mode)
        assert y.shape == (1, 2, 0, 6)
        g = F.pad_backward(np.zeros(y.shape), (1, 2, 4, 4), (1, 1, -2, -2), mode)
        np.testing.assert_array_equal(g, np.zeros((1, 2, 4, 4)))
    assert F.pad(np.ones((1, 2, 4)), (-2, -2), "constant").shape == (1, 2, 0)
