"""Embedding / EmbeddingBag references: central differences, identities, error inputs."""

from __future__ import annotations

import numpy as np
import pytest

from reference import functional as F
from reference import nn
from tests.fd import assert_vjp_matches, numeric_vjp


def _fd_module(module, params, inputs, rng, buffers=None, zero_rows=(), plain=None):
    """Check every float input gradient and the weight gradient against central differences.

    Integer inputs (indices, offsets) stay fixed. ``zero_rows``: weight rows whose gradient torch
    defines as zero (padding_idx) although the output depends on them. With max_norm, ``plain``
    is the same module without max_norm: torch's gradient is that of the lookup at the
    renormalised weight (the renormalisation is not differentiated).
    """
    outs, new, ctx = module.forward(params, buffers or {}, inputs, True)
    gs = tuple(rng.normal(size=o.shape) for o in outs)
    gin, gpar = module.backward(ctx, gs)
    free = [i for i, g in enumerate(gin) if g is not None]
    fd = plain or module

    def f(w, *floats):
        ins = list(inputs)
        for i, a in zip(free, floats):
            ins[i] = a
        o, _, _ = fd.forward({"weight": w}, {}, tuple(ins), True)
        return np.concatenate([a.ravel() for a in o])

    cot = np.concatenate([g.ravel() for g in gs])
    args = [new.get("weight_after", params["weight"])] + [inputs[i] for i in free]
    num_w = numeric_vjp(f, args, cot, 0)
    num_w[list(zero_rows)] = 0.0
    np.testing.assert_allclose(gpar["weight"], num_w, rtol=1e-6, atol=1e-7)
    assert_vjp_matches(f, args, cot, [None] + [gin[i] for i in free])
    return outs, gin, gpar


# -- Embedding -----------------------------------------------------------------------------

@pytest.mark.parametrize("padding_idx", [None, 0, 2, -1])
@pytest.mark.parametrize("shape", [(4,), (2, 3)])
def test_embedding_forward_and_fd(padding_idx, shape):
    rng = np.random.default_rng(0)
    w = rng.normal(size=(5, 3))
    idx = rng.integers(0, 5, size=shape)
    idx.reshape(-1)[:2] = [2, 4]
    m = nn.Embedding(5, 3, padding_idx=padding_idx)
    pad = None if padding_idx is None else padding_idx % 5
    (y,), _, _ = m.forward({"weight": w}, {}, (idx,), True)
    np.testing.assert_array_equal(y, w[idx])  # forward: a lookup, padding rows included
    _, gin, gpar = _fd_module(m, {"weight": w}, (idx,), rng,
                              zero_rows=() if pad is None else (pad,))
    assert gin == (None,)
    if pad is not None:
        assert np.all(gpar["weight"][pad] == 0)


def test_embedding_negative_padding_idx_equals_positive():
    rng = np.random.default_rng(1)
    w, idx, g = rng.normal(size=(4, 2)), np.array([3, 1, 3, 0]), rng.normal(size=(4, 2))
    grads = []
    for p in (-1, 3):
        m = nn.Embedding(4, 2, padding_idx=p)
        _, _, ctx = m.forward({"weight": w}, {}, (idx,), True)
        grads.append(m.backward(ctx, (g,))[1]["weight"])
    np.testing.assert_array_equal(grads[0], grads[1])
    assert np.all(grads[0][3] == 0)


def test_embedding_scale_grad_by_freq_divides_by_counts():
    rng = np.random.default_rng(2)
    w, idx = rng.normal(size=(5, 3)), np.array([[1, 1, 4], [1, 0, 4]])
    g = rng.normal(size=(2, 3, 3))
    plain = F.embedding_backward(g, idx, w)[1]
    scaled = F.embedding_backward(g, idx, w, scale_grad_by_freq=True)[1]
    counts = np.array([1, 3, 1, 1, 2])  # rows never looked up have zero gradient anyway
    np.testing.assert_allclose(scaled * counts[:, None], plain, rtol=1e-15)
    np.testing.assert_allclose(plain[1], g[0, 0] + g[0, 1] + g[1, 0], rtol=1e-15)


@pytest.mark.parametrize("norm_type", [2.0, 1.0, np.inf])
def test_embedding_max_norm_renormalises_looked_up_rows(norm_type):
    rng = np.random.default_rng(3)
    w = rng.normal(size=(5, 4)) * 2
    idx = np.array([0, 2, 2])
    w0 = w.copy()
    m = nn.Embedding(5, 4, max_norm=1.0, norm_type=norm_type)
    (y,), new, _ = m.forward({"weight": w}, {}, (idx,), True)
    after = new["weight_after"]
    ord_ = {2.0: 2, 1.0: 1, np.inf: np.inf}[norm_type]
    for r in range(5):
        n = np.linalg.norm(w[r], ord_)
        if r in idx and n > 1.0:  # scaled by max_norm / (norm + 1e-7): direction kept
            np.testing.assert_allclose(after[r], w[r] * (1.0 / (n + 1e-7)), rtol=1e-15)
            assert np.linalg.norm(after[r], ord_) < 1.0
        else:
            np.testing.assert_array_equal(after[r], w[r])
    np.testing.assert_array_equal(y, after[idx])
    np.testing.assert_array_equal(w, w0)  # params not mutated
    # gradient: the lookup at the renormalised weight (torch does not differentiate the renorm)
    _fd_module(m, {"weight": w}, (idx,), rng, plain=nn.Embedding(5, 4))


def test_embedding_max_norm_state_carries_to_next_step():
    rng = np.random.default_rng(4)
    w = rng.normal(size=(4, 3)) * 3
    m = nn.Embedding(4, 3, max_norm=0.5)
    _, b1, _ = m.forward({"weight": w}, {}, (np.array([0]),), True)
    (y2,), b2, _ = m.forward({"weight": w}, b1, (np.array([0, 1]),), True)
    np.testing.assert_array_equal(y2[0], b1["weight_after"][0])  # already renormalised
    np.testing.assert_allclose(np.linalg.norm(b2["weight_after"][:2], axis=1), 0.5, rtol=1e-6)
    np.testing.assert_array_equal(b2["weight_after"][2:], w[2:])
    assert "weight_after" not in nn.Embedding(4, 3).forward({"weight": w}, {}, (np.array([0]),),
                                                            True)[1]


def test_embedding_errors():
    w = np.zeros((3, 2))
    m = nn.Embedding(3, 2)
    for bad in (np.array([3]), np.array([-1])):
        with pytest.raises(IndexError, match="index out of range"):
            m.forward({"weight": w}, {}, (bad,), True)
    with pytest.raises(RuntimeError):  # also a RuntimeError, per the reference convention
        F.embedding(np.array([0, 5]), w)
    with pytest.raises(AssertionError, match="Padding_idx"):
        nn.Embedding(3, 2, padding_idx=3)
    with pytest.raises(AssertionError, match="Padding_idx"):
        nn.Embedding(3, 2, padding_idx=-4)


# -- EmbeddingBag --------------------------------------------------------------------------

def _bag_case(kind, rng):
    if kind == "2d":
        return rng.integers(0, 6, size=(3, 4)), None, False
    idx = rng.integers(0, 6, size=(7,))
    if kind == "offsets":  # bags [0,0) (empty), [0,3), [3,3) (empty), [3,7)
        return idx, np.array([0, 0, 3, 3]), False
    return idx, np.array([0, 2, 2, 7]), True  # include_last_offset: bags [0,2), [2,2), [2,7)


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
@pytest.mark.parametrize("kind", ["2d", "offsets", "last_offset"])
@pytest.mark.parametrize("padding_idx", [None, 1, -1])
def test_embedding_bag_fd(mode, kind, padding_idx):
    rng = np.random.default_rng(5)
    w = rng.normal(size=(6, 3))
    idx, off, ilo = _bag_case(kind, rng)
    idx.reshape(-1)[:3] = [1, 5, 1]
    m = nn.EmbeddingBag(6, 3, mode=mode, include_last_offset=ilo, padding_idx=padding_idx)
    pad = None if padding_idx is None else padding_idx % 6
    inputs = (idx,) if off is None else (idx, off)
    outs, gin, gpar = _fd_module(m, {"weight": w}, inputs, rng,
                                 zero_rows=() if pad is None else (pad,))
    assert all(g is None for g in gin)
    if pad is not None:
        assert np.all(gpar["weight"][pad] == 0)


@pytest.mark.parametrize("kind", ["2d", "offsets", "last_offset"])
@pytest.mark.parametrize("padding_idx", [None, 2])
def test_embedding_bag_per_sample_weights_fd(kind, padding_idx):
    rng = np.random.default_rng(6)
    w = rng.normal(size=(6, 3))
    idx, off, ilo = _bag_case(kind, rng)
    idx.reshape(-1)[:2] = [2, 2]
    psw = rng.normal(size=idx.shape)
    m = nn.EmbeddingBag(6, 3, mode="sum", include_last_offset=ilo, padding_idx=padding_idx)
    _, gin, _ = _fd_module(m, {"weight": w}, (idx, off, psw), rng,
                           zero_rows=() if padding_idx is None else (padding_idx,))
    assert gin[0] is None and gin[1] is None and gin[2].shape == psw.shape


def test_embedding_bag_identities():
    rng = np.random.default_rng(7)
    w = rng.normal(size=(6, 3))
    idx = np.array([0, 4, 4, 2, 5, 1, 3])
    off = np.array([0, 3, 3, 5])
    bags = [idx[0:3], idx[3:3], idx[3:5], idx[5:]]
    s = F.embedding_bag(idx, w, off, mode="sum")
    mean = F.embedding_bag(idx, w, off, mode="mean")
    mx = F.embedding_bag(idx, w, off, mode="max")
    for b, ids in enumerate(bags):  # sum = summed embedding rows; empty bag -> zeros
        rows = F.embedding(ids, w)
        np.testing.assert_allclose(s[b], rows.sum(axis=0), rtol=1e-15)
        np.testing.assert_allclose(mean[b], rows.mean(axis=0) if len(ids) else 0, rtol=1e-15)
        np.testing.assert_array_equal(mx[b], rows.max(axis=0) if len(ids) else 0)
    # include_last_offset with offsets[-1] == len(input) is the same bagging
    np.testing.assert_array_equal(
        F.embedding_bag(idx, w, np.append(off, len(idx)), mode="sum", include_last_offset=True), s)
    # 2-D input = fixed-length bags
    two = idx[:6].reshape(2, 3)
    np.testing.assert_array_equal(F.embedding_bag(two, w, mode="mean"),
                                  F.embedding_bag(idx[:6], w, np.array([0, 3]), mode="mean"))
    # padding_idx: excluded from sums and from the mean's count; a bag of padding only -> 0
    p = F.embedding_bag(np.array([4, 1, 4, 4]), w, np.array([0, 2]), mode="mean", padding_idx=4)
    np.testing.assert_array_equal(p, [w[1], np.zeros(3)])
    # per_sample_weights of ones = plain sum
    np.testing.assert_allclose(F.embedding_bag(idx, w, off, mode="sum",
                                               per_sample_weights=np.ones(7)), s, rtol=1e-15)


def test_embedding_bag_scale_grad_by_freq_and_max_norm():
    rng = np.random.default_rng(8)
    w = rng.normal(size=(5, 3)) * 2
    idx, off = np.array([1, 1, 3, 1, 0]), np.array([0, 2])
    g = rng.normal(size=(2, 3))
    plain = F.embedding_bag_backward(g, idx, w, off, mode="mean")[1]
    scaled = F.embedding_bag_backward(g, idx, w, off, mode="mean", scale_grad_by_freq=True)[1]
    np.testing.assert_allclose(scaled * np.array([1, 3, 1, 1, 1])[:, None], plain, rtol=1e-15)
    m = nn.EmbeddingBag(5, 3, mode="sum", max_norm=1.0)
    (y,), new, _ = m.forward({"weight": w}, {}, (idx, off), True)
    after = new["weight_after"]
    np.testing.assert_allclose(y, [after[[1, 1]].sum(0), after[[3, 1, 0]].sum(0)], rtol=1e-15)
    assert np.all(np.linalg.norm(after[[0, 1, 3]], axis=1) <= 1.0)
    np.testing.assert_array_equal(after[[2, 4]], w[[2, 4]])
    _fd_module(m, {"weight": w}, (idx, off), rng, plain=nn.EmbeddingBag(5, 3, mode="sum"))


def test_embedding_bag_errors():
    w = np.zeros((4, 2))
    with pytest.raises(RuntimeError, match="idx"):
        F.embedding_bag(np.array([0, 4]), w, np.array([0]))
    with pytest.raises(NotImplementedError, match="per_sample_weights"):
        F.embedding_bag(np.array([0, 1]), w, np.array([0]), mode="mean",
                        per_sample_weights=np.ones(2))
    with pytest.raises(ValueError, match="offsets has to be None"):
        F.embedding_bag(np.array([[0, 1]]), w, np.array([0]))
    with pytest.raises(ValueError, match="offsets has to be a 1D"):
        F.embedding_bag(np.array([0, 1]), w)
    with pytest.raises(RuntimeError, match=r"offsets\[0\]"):
        F.embedding_bag(np.array([0, 1]), w, np.array([1]))
    with pytest.raises(RuntimeError, match=r"offsets\[-1\]"):
        F.embedding_bag(np.array([0, 1]), w, np.array([0, 3]))
    with pytest.raises(ValueError, match="max mode"):
        F.embedding_bag(np.array([0, 1]), w, np.array([0]), mode="max", scale_grad_by_freq=True)
    with pytest.raises(ValueError, match="mode has to be"):
        F.embedding_bag(np.array([0, 1]), w, np.array([0]), mode="median")
    with pytest.raises(ValueError, match="same shape"):
        F.embedding_bag(np.array([0, 1]), w, np.array([0]), mode="sum",
                        per_sample_weights=np.ones(3))
    with pytest.raises(RuntimeError, match="padding_idx"):
        F.embedding_bag(np.array([0, 1]), w, np.array([0]), padding_idx=4)
