"""RNN / LSTM / GRU and cell references: BPTT against central differences, identities, errors."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from reference import nn
from tests.fd import assert_vjp_matches

L, N, I, H = 3, 2, 3, 3  # sequence, batch, input, hidden


def _params(module, rng, scale=0.7):
    return {k: rng.normal(size=s) * scale for k, s in module.parameter_shapes().items()}


def _fd(module, params, inputs, rng):
    """BPTT w.r.t. every input, initial state and parameter against central differences."""
    outs, _, ctx = module.forward(params, {}, inputs, True)
    gs = tuple(rng.normal(size=o.shape) for o in outs)
    gin, gpar = module.backward(ctx, gs)
    assert len(gin) == len(inputs) and set(gpar) == set(params)
    names, n_in = list(params), len(inputs)

    def f(*args):
        o, _, _ = module.forward(dict(zip(names, args[n_in:])), {}, tuple(args[:n_in]), True)
        return np.concatenate([a.ravel() for a in o])

    cot = np.concatenate([g.ravel() for g in gs])
    assert_vjp_matches(f, list(inputs) + [params[k] for k in names], cot,
                       list(gin) + [gpar[k] for k in names])
    scales = module.error_scales(ctx, gs)  # magnitudes bound the values they describe
    for s, v in list(zip(scales.outputs, outs)) + list(zip(scales.input_grads, gin)) + \
            [(scales.param_grads[k], gpar[k]) for k in names]:
        assert s.shape == v.shape and np.all(s >= np.abs(v) * (1 - 1e-12))
    return outs, gin, gpar


def _inputs(name, module, rng, init, batched=True, batch_first=False):
    x = rng.normal(size=((N, L, I) if batch_first else (L, N, I)) if batched else (L, I))
    if not init:
        return (x,)
    rows = module.num_layers * module.D
    h0 = rng.normal(size=(rows, N, module.h_out) if batched else (rows, module.h_out))
    if name != "LSTM":
        return x, h0
    return x, h0, rng.normal(size=(rows, N, H) if batched else (rows, H))


SEQ_CASES = [  # (name, kwargs, initial states given, batched)
    ("RNN", {}, False, True),
    ("RNN", {"nonlinearity": "relu", "num_layers": 2}, True, True),
    ("RNN", {"bidirectional": True, "bias": False}, True, True),
    ("RNN", {"nonlinearity": "relu", "batch_first": True, "bidirectional": True}, False, True),
    ("RNN", {"num_layers": 2, "bidirectional": True}, True, False),
    ("LSTM", {}, True, True),
    ("LSTM", {"num_layers": 2, "bidirectional": True}, True, True),
    ("LSTM", {"proj_size": 2}, True, True),
    ("LSTM", {"proj_size": 2, "num_layers": 2, "bidirectional": True, "batch_first": True},
     False, True),
    ("LSTM", {"bias": False, "proj_size": 1}, True, False),
    ("LSTM", {"num_layers": 2}, False, False),
    ("GRU", {}, True, True),
    ("GRU", {"num_layers": 2, "bidirectional": True}, True, True),
    ("GRU", {"bias": False, "batch_first": True}, False, True),
    ("GRU", {"bidirectional": True}, True, False),
]


@pytest.mark.parametrize("name,kwargs,init,batched", SEQ_CASES)
def test_sequence_module_fd(name, kwargs, init, batched):
    rng = np.random.default_rng(zlib.crc32(repr((name, kwargs, init, batched)).encode()))
    m = getattr(nn, name)(I, H, **kwargs)
    inputs = _inputs(name, m, rng, init, batched, kwargs.get("batch_first", False))
    outs, gin, _ = _fd(m, _params(m, rng), inputs, rng)
    D, layers = m.D, m.num_layers
    lead = (() if not batched else (N,))
    seq = (N, L) if kwargs.get("batch_first") and batched else (L,) + lead
    assert outs[0].shape == seq + (D * m.h_out,)
    assert outs[1].shape == (D * layers,) + lead + (m.h_out,)
    if name == "LSTM":
        assert outs[2].shape == (D * layers,) + lead + (H,)
    assert len(gin) == len(inputs)


@pytest.mark.parametrize("name,kwargs", [("RNNCell", {}), ("RNNCell", {"nonlinearity": "relu"}),
                                         ("RNNCell", {"bias": False}), ("LSTMCell", {}),
                                         ("LSTMCell", {"bias": False}), ("GRUCell", {}),
                                         ("GRUCell", {"bias": False})])
@pytest.mark.parametrize("init,batched", [(True, True), (False, True), (True, False)])
def test_cell_fd(name, kwargs, init, batched):
    rng = np.random.default_rng(11)
    m = getattr(nn, name)(I, H, **kwargs)
    x = rng.normal(size=(N, I) if batched else (I,))
    hshape = (N, H) if batched else (H,)
    inputs = (x,)
    if init:
        inputs += tuple(rng.normal(size=hshape) for _ in range(2 if name == "LSTMCell" else 1))
    outs, _, _ = _fd(m, _params(m, rng), inputs, rng)
    assert [o.shape for o in outs] == [hshape] * (2 if name == "LSTMCell" else 1)


# -- identities ------------------------------------------------------------------------------

def test_worked_example_rnn_tanh():
    """1-d Elman RNN by hand: h1 = tanh(0.5*1 + 0.1 + 0.2), h2 = tanh(0.5*2 + 0.1 - h1 + 0.2)."""
    m = nn.RNN(1, 1)
    p = {"weight_ih_l0": np.array([[0.5]]), "weight_hh_l0": np.array([[-1.0]]),
         "bias_ih_l0": np.array([0.1]), "bias_hh_l0": np.array([0.2])}
    (out, hn), _, _ = m.forward(p, {}, (np.array([[[1.0]], [[2.0]]]),), False)
    h1 = np.tanh(0.8)
    h2 = np.tanh(1.3 - h1)
    np.testing.assert_allclose(out.ravel(), [h1, h2], rtol=1e-15)
    np.testing.assert_allclose(hn.ravel(), [h2], rtol=1e-15)


def test_zero_weights_lstm_gru_decay():
    """All weights zero: LSTM gates are 1/2 and g = 0, so c_t = c_0 / 2^t, h_t = tanh(c_t) / 2;
    GRU has r = z = 1/2 and n = 0, so h_t = h_0 / 2^t."""
    rng = np.random.default_rng(12)
    lstm = nn.LSTM(I, H)
    p = {k: np.zeros(s) for k, s in lstm.parameter_shapes().items()}
    x, h0, c0 = rng.normal(size=(L, N, I)), rng.normal(size=(1, N, H)), rng.normal(size=(1, N, H))
    (out, hn, cn), _, _ = lstm.forward(p, {}, (x, h0, c0), False)
    np.testing.assert_allclose(cn, c0 / 2 ** L, rtol=1e-15)
    np.testing.assert_allclose(out[1], np.tanh(c0[0] / 4) / 2, rtol=1e-15)
    gru = nn.GRU(I, H)
    p = {k: np.zeros(s) for k, s in gru.parameter_shapes().items()}
    (out, hn), _, _ = gru.forward(p, {}, (x, h0), False)
    np.testing.assert_allclose(out[:, 0], h0[0, 0] / 2.0 ** np.arange(1, L + 1)[:, None],
                               rtol=1e-15)


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_one_step_equals_cell(name):
    rng = np.random.default_rng(13)
    seq, cell = getattr(nn, name)(I, H), getattr(nn, name + "Cell")(I, H)
    p = _params(seq, rng)
    pc = {k.removesuffix("_l0"): v for k, v in p.items()}
    x = rng.normal(size=(1, N, I))
    states = tuple(rng.normal(size=(1, N, H)) for _ in range(2 if name == "LSTM" else 1))
    outs, _, ctx = seq.forward(p, {}, (x,) + states, False)
    couts, _, cctx = cell.forward(pc, {}, (x[0],) + tuple(s[0] for s in states), False)
    np.testing.assert_allclose(outs[0][0], couts[0], rtol=1e-15)
    for a, b in zip(outs[1:], couts):
        np.testing.assert_allclose(a[0], b, rtol=1e-15)
    # and the same gradients: the sequence's h_n and output cotangents add up
    g = tuple(rng.normal(size=o.shape) for o in outs)
    gin, gpar = seq.backward(ctx, g)
    cg = (g[0][0] + g[1][0],) + tuple(gi[0] for gi in g[2:])
    cgin, cgpar = cell.backward(cctx, cg)
    np.testing.assert_allclose(gin[0][0], cgin[0], rtol=1e-13)
    for k, v in cgpar.items():
        np.testing.assert_allclose(gpar[k + "_l0"], v, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_bidirectional_reverse_half_is_flipped_sequence(name):
    rng = np.random.default_rng(14)
    kw = {"proj_size": 2} if name == "LSTM" else {}
    bi, uni = getattr(nn, name)(I, H, bidirectional=True, **kw), getattr(nn, name)(I, H, **kw)
    p = _params(bi, rng)
    x = rng.normal(size=(L, N, I))
    (out, hn, *rest), _, _ = bi.forward(p, {}, (x,), False)
    fwd = {k: v for k, v in p.items() if not k.endswith("_reverse")}
    rev = {k.removesuffix("_reverse"): v for k, v in p.items() if k.endswith("_reverse")}
    (of, hf, *_), _, _ = uni.forward(fwd, {}, (x,), False)
    (orv, hr, *restr), _, _ = uni.forward(rev, {}, (x[::-1],), False)
    ho = uni.h_out
    np.testing.assert_allclose(out[..., :ho], of, rtol=1e-15)
    np.testing.assert_allclose(out[..., ho:], orv[::-1], rtol=1e-15)
    np.testing.assert_allclose(hn, np.concatenate([hf, hr]), rtol=1e-15)
    if rest:
        np.testing.assert_allclose(rest[0][1], restr[0][0], rtol=1e-15)


def test_two_layers_equal_stacked_single_layers_and_layouts():
    rng = np.random.default_rng(15)
    two, one = nn.GRU(I, H, num_layers=2), nn.GRU(I, H)
    p = _params(two, rng)
    x = rng.normal(size=(L, N, I))
    (out, hn), _, _ = two.forward(p, {}, (x,), False)
    l0 = {k: v for k, v in p.items() if k.endswith("_l0")}
    (o1, h1), _, _ = one.forward(l0, {}, (x,), False)
    one2 = nn.GRU(H, H)
    l1 = {k.replace("_l1", "_l0"): v for k, v in p.items() if k.endswith("_l1")}
    (o2, h2), _, _ = one2.forward(l1, {}, (o1,), False)
    np.testing.assert_array_equal(out, o2)
    np.testing.assert_array_equal(hn, np.concatenate([h1, h2]))
    # batch_first is a transpose; unbatched is batch 1 without the batch axis
    (obf, hbf), _, _ = nn.GRU(I, H, num_layers=2, batch_first=True).forward(
        p, {}, (x.transpose(1, 0, 2),), False)
    np.testing.assert_array_equal(obf, out.transpose(1, 0, 2))
    np.testing.assert_array_equal(hbf, hn)
    (ou, hu), _, _ = two.forward(p, {}, (x[:, 0],), False)
    (o1b, h1b), _, _ = two.forward(p, {}, (x[:, :1],), False)
    np.testing.assert_array_equal(ou, o1b[:, 0])
    np.testing.assert_array_equal(hu, h1b[:, 0])
    # omitted initial state = zeros
    (oz, hz), _, _ = two.forward(p, {}, (x, np.zeros((2, N, H))), False)
    np.testing.assert_array_equal(oz, out)


def test_parameter_names_and_shapes():
    shapes = nn.LSTM(3, 4, num_layers=2, bidirectional=True, proj_size=2).parameter_shapes()
    assert list(shapes)[:5] == ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
                                "weight_hr_l0"]
    assert shapes["weight_ih_l0"] == (16, 3) and shapes["weight_hh_l0"] == (16, 2)
    assert shapes["weight_ih_l1_reverse"] == (16, 4) and shapes["weight_hr_l1_reverse"] == (2, 4)
    assert nn.GRU(3, 4, bias=False).parameter_shapes() == {"weight_ih_l0": (12, 3),
                                                           "weight_hh_l0": (12, 4)}
    assert nn.RNNCell(3, 4).parameter_shapes() == {"weight_ih": (4, 3), "weight_hh": (4, 4),
                                                   "bias_ih": (4,), "bias_hh": (4,)}


# -- errors ----------------------------------------------------------------------------------

def test_errors():
    rng = np.random.default_rng(16)
    m = nn.LSTM(I, H, num_layers=2)
    p = _params(m, rng)
    with pytest.raises(RuntimeError, match="input.size\\(-1\\) must be equal to input_size"):
        m.forward(p, {}, (np.zeros((L, N, I + 1)),), False)
    with pytest.raises(ValueError, match="Expected input to be 2D or 3D"):
        m.forward(p, {}, (np.zeros((1, L, N, I)),), False)
    with pytest.raises(RuntimeError, match=r"Expected hidden\[0\] size \(2, 2, 3\)"):
        m.forward(p, {}, (np.zeros((L, N, I)), np.zeros((2, N, 4)), np.zeros((2, N, H))), False)
    with pytest.raises(RuntimeError, match="should also be 3-D"):
        m.forward(p, {}, (np.zeros((L, N, I)), np.zeros((2, H)), np.zeros((2, H))), False)
    g = nn.GRU(I, H)
    with pytest.raises(RuntimeError, match=r"Expected hidden size \(1, 2, 3\), got \[1, 3, 3\]"):
        g.forward(_params(g, rng), {}, (np.zeros((L, N, I)), np.zeros((1, 3, H))), False)
    with pytest.raises(ValueError, match="proj_size argument is only supported for LSTM"):
        nn.GRU(I, H, proj_size=1)
    with pytest.raises(ValueError, match="proj_size has to be smaller"):
        nn.LSTM(I, H, proj_size=H)
    with pytest.raises(ValueError, match="Unknown nonlinearity"):
        nn.RNN(I, H, nonlinearity="gelu")
    with pytest.raises(NotImplementedError, match="dropout"):
        d = nn.RNN(I, H, num_layers=2, dropout=0.5)
        d.forward(_params(d, rng), {}, (np.zeros((L, N, I)),), True)
    c = nn.GRUCell(I, H)
    pc = _params(c, rng)
    with pytest.raises(RuntimeError, match="input has inconsistent input_size: got 4 expected 3"):
        c.forward(pc, {}, (np.zeros((N, 4)),), False)
    with pytest.raises(RuntimeError, match="hidden0 has inconsistent hidden_size"):
        c.forward(pc, {}, (np.zeros((N, I)), np.zeros((N, H + 1))), False)
    with pytest.raises(RuntimeError, match="Input batch size 2 doesn't match hidden0"):
        c.forward(pc, {}, (np.zeros((N, I)), np.zeros((N + 1, H))), False)
    with pytest.raises(ValueError, match="GRUCell: Expected input to be 1D or 2D"):
        c.forward(pc, {}, (np.zeros((1, N, I)),), False)


def test_cell_unknown_nonlinearity_raises_in_forward():
    """torch builds an RNNCell with any nonlinearity string (and its parameters) and raises in
    the forward; the parameter shapes do not depend on it."""
    c = nn.RNNCell(I, H, nonlinearity="sigmoid")
    assert c.parameter_shapes() == {"weight_ih": (H, I), "weight_hh": (H, H), "bias_ih": (H,),
                                    "bias_hh": (H,)}
    assert nn.LSTMCell(I, H).parameter_shapes()["weight_ih"] == (4 * H, I)
    assert nn.GRUCell(I, H, bias=False).parameter_shapes() == {"weight_ih": (3 * H, I),
                                                               "weight_hh": (3 * H, H)}
    p = {k: np.zeros(s) for k, s in c.parameter_shapes().items()}
    with pytest.raises(RuntimeError, match="Unknown nonlinearity: sigmoid"):
        c.forward(p, {}, (np.zeros((N, I)),), False)


@pytest.mark.parametrize("mode", ["RNN_TANH", "RNN_RELU", "LSTM", "GRU"])
@pytest.mark.parametrize("with_mags", [False, True])
def test_gradient_scales_cover_errors_of_saved_values(mode, with_mags):
    """The backward multiplies by saved forward values (states, gates, tanh c) and evaluates
    the derivative factors (1 - y, 1 - y^2) from rounded gate outputs. The gradients' error
    scales must bound the effect of errors in them: a relative perturbation d of every saved
    value (without magnitudes), or one of size d x its forward magnitude M (with them; a value
    obtained with cancellation is known only to eps M), moves the gradients by about d x scale
    at most. Weights x3 saturate the gates, where 1 - y cancels."""
    from reference.functional import recurrent as R
    rng = np.random.default_rng(7)
    fwd, bwd, mag, gates = R.CELLS[mode]
    n, i, h = 4, 3, 3
    p = {"w_ih": rng.normal(size=(gates * h, i)) * 3, "w_hh": rng.normal(size=(gates * h, h)) * 3,
         "b_ih": rng.normal(size=gates * h), "b_hh": rng.normal(size=gates * h), "w_hr": None}
    x, h0, c0 = rng.normal(size=(n, i)), rng.normal(size=(n, h)), rng.normal(size=(n, h)) * 2
    state = (h0, c0) if mode == "LSTM" else (h0,)
    _, cache = fwd(x, state, p)
    _, saved = mag(np.abs(x), tuple(np.abs(s) for s in state), cache)
    g = tuple(rng.normal(size=s.shape) for s in state)
    dx, dst, dp = bwd(g, cache)
    sx, sst, sp = bwd(g, cache, True, saved if with_mags else None)
    d = 1e-9
    worst = 0.0
    for _ in range(20):
        pert = dict(cache)
        for key in ("y", "i", "f", "g", "o", "tc", "r", "z", "n", "hn", "hr", "h", "c", "x"):
            if key in cache and not (mode == "RNN_RELU" and key == "y"):  # the kink: not here
                size = saved[key] if with_mags and key in saved else np.abs(cache[key])
                pert[key] = cache[key] + d * size * rng.choice([-1.0, 1.0], size=size.shape)
        px, pst, pp = bwd(g, pert)
        pairs = [(px, dx, sx)] + list(zip(pst, dst, sst)) + \
            [(pp[k], dp[k], sp[k]) for k in ("w_ih", "w_hh")]
        for a, b, sc in pairs:
            assert np.all((sc > 0) | (a == b))
            worst = max(worst, np.max(np.abs(a - b)[sc > 0] / sc[sc > 0], initial=0.0) / d)
    assert worst <= 4.0, worst


def test_saved_magnitudes_bound_the_values():
    from reference.functional import recurrent as R
    rng = np.random.default_rng(3)
    for mode, (fwd, _, mag, gates) in R.CELLS.items():
        p = {"w_ih": rng.normal(size=(gates * H, I)), "w_hh": rng.normal(size=(gates * H, H)),
             "b_ih": rng.normal(size=gates * H), "b_hh": rng.normal(size=gates * H),
             "w_hr": None}
        state = tuple(rng.normal(size=(N, H)) for _ in range(2 if mode == "LSTM" else 1))
        x = rng.normal(size=(N, I))
        _, cache = fwd(x, state, p)
        _, saved = mag(np.abs(x), tuple(np.abs(s) for s in state), cache)
        for key, m in saved.items():
            assert np.all(m >= np.abs(cache[key]) * (1 - 1e-12)), (mode, key)
