"""Recurrent cells and their time loop (helpers of ``reference.nn.rnn``; not torch.nn.functional
names, so not exported from ``reference.functional``).

Semantics: torch.nn.RNN / LSTM / GRU / *Cell docs and aten/src/ATen/native/RNN.cpp.
Gate order in the stacked weights: LSTM (i, f, g, o), GRU (r, z, n).

    RNN : h' = phi(W_ih x + b_ih + W_hh h + b_hh),  phi = tanh or relu
    LSTM: [i f g o] = [sig sig tanh sig](W_ih x + b_ih + W_hh h + b_hh)
          c' = f c + i g,  h' = o tanh(c')  (proj_size > 0: h' = W_hr (o tanh(c')))
    GRU : [r z] = sig(W_i{r,z} x + b_i{r,z} + W_h{r,z} h + b_h{r,z})
          n = tanh(W_in x + b_in + r (W_hn h + b_hn)),  h' = (1 - z) n + z h

A cell is ``fwd(x, state, p) -> (state', cache)`` with ``state`` a tuple ((h,) or (h, c)) and
``p`` a dict with ``w_ih, w_hh, b_ih, b_hh`` (biases may be None) and ``w_hr`` (LSTM, may be
None); ``bwd(g_state, cache, absolute, mags) -> (dx, d_state, dp)`` is its VJP. ``absolute=True``
evaluates the same VJP on absolute values (every factor |.|, differences such as h - n replaced
by |h| + |n|): the sum of the magnitudes of the terms, i.e. the error scale of the gradient. The
derivative factors are differences too: sigma' = y (1 - y) and tanh' = 1 - y^2 are computed from
the rounded outputs y (torch's sigmoid_backward / tanh_backward), so near saturation they cancel
(an error of 4 eps in y = 0.99 is a 400 eps error of 1 - y); in absolute mode they become
|y| (1 + |y|) and 1 + y^2, the magnitudes of their terms. And every saved forward value the VJP
multiplies by (states, gates, tanh c, the layer input) enters with its forward magnitude M (given
as ``mags``, from ``mag``) rather than its value: the VJP is multilinear in them, so an error of
eps M in a saved value moves the gradient by at most eps times the VJP evaluated on M (a value
obtained with cancellation, e.g. a small GRU candidate n or a small relu output, is known only to
eps M, not to eps |value|).
``mag(x_mag, state_mag, cache) -> (state_mags, mags)`` gives forward magnitudes M (the computed value's error is of
order eps * M; M >= |value|): for each gate pre-activation M(a) = |W_ih| M(x) + |b_ih| +
|W_hh| |h| + |b_hh| (the recurrent term uses the value |h|: carrying M(h) through |W_hh| would
grow geometrically in time, while the true error propagation contracts), then M(phi(a)) =
|phi(a)| + |phi'(a)| M(a) (relu: slope 1), M(u v) = M(u) |v| + |u| M(v), M(u + v) = M(u) +
M(v); the elementwise paths with factors below one (LSTM f c, GRU z h) carry M of the state.
"""

from __future__ import annotations

import numpy as np

__all__ = ["CELLS", "run_direction", "run_direction_backward", "run_direction_magnitude"]


def _sigmoid(a):
    e = np.exp(-np.abs(a))  # no overflow, no cancellation for large |a|
    return np.where(a >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _lin(x, w, b):
    y = x @ w.T
    return y + b if b is not None else y


def _abs_p(p):
    return {k: (None if v is None else np.abs(v)) for k, v in p.items()}


def _factors(cache, names, absolute, mags):
    """The saved forward values a VJP multiplies by: values, or in absolute mode their forward
    magnitudes (``mags``, where given) or absolute values."""
    if not absolute:
        return {n: cache[n] for n in names}
    mags = mags or {}
    return {n: mags[n] if n in mags else np.abs(cache[n]) for n in names}


def _param_grads(dgi, dgh, x, h, p):
    """Gradients of the two affine maps W_ih x + b_ih (cotangent dgi), W_hh h + b_hh (dgh)."""
    return {"w_ih": dgi.T @ x, "w_hh": dgh.T @ h,
            "b_ih": dgi.sum(axis=0) if p["b_ih"] is not None else None,
            "b_hh": dgh.sum(axis=0) if p["b_hh"] is not None else None}


# -- RNN (tanh / relu) ------------------------------------------------------------------------

def _rnn_fwd(nonlinearity):
    def fwd(x, state, p):
        (h,) = state
        a = _lin(x, p["w_ih"], p["b_ih"]) + _lin(h, p["w_hh"], p["b_hh"])
        y = np.tanh(a) if nonlinearity == "tanh" else np.maximum(a, 0.0)
        return (y,), {"x": x, "h": h, "a": a, "y": y, "p": p}
    return fwd


def _one_minus(v, absolute):
    """1 - v, or the magnitude of its terms 1 + |v| (module docstring: derivative factors)."""
    return 1.0 + np.abs(v) if absolute else 1.0 - v


def _rnn_dphi(nonlinearity, cache, absolute=False, y=None):
    # relu: threshold_backward(grad, result, 0) -> gradient only where the output is > 0
    if nonlinearity == "tanh":
        return _one_minus((cache["y"] if y is None else y) ** 2, absolute)
    return (cache["y"] > 0).astype(float)


def _rnn_bwd(nonlinearity):
    def bwd(g_state, cache, absolute=False, mags=None):
        (gh,) = g_state
        k = _factors(cache, ("x", "h", "y"), absolute, mags)
        p = _abs_p(cache["p"]) if absolute else cache["p"]
        gh = np.abs(gh) if absolute else gh
        da = gh * _rnn_dphi(nonlinearity, cache, absolute, k["y"])
        return da @ p["w_ih"], (da @ p["w_hh"],), _param_grads(da, da, k["x"], k["h"], p)
    return bwd


def _rnn_mag(nonlinearity):
    def mag(xm, state_m, cache):
        p = _abs_p(cache["p"])
        am = _lin(xm, p["w_ih"], p["b_ih"]) + _lin(np.abs(cache["h"]), p["w_hh"], p["b_hh"])
        # relu: slope 1 also where the output is 0, since a ~ 0 may round to either side
        dphi = 1.0 if nonlinearity == "relu" else _rnn_dphi(nonlinearity, cache)
        my = np.abs(cache["y"]) + dphi * am
        return (my,), {"x": xm, "h": state_m[0], "y": my}
    return mag


# -- LSTM -------------------------------------------------------------------------------------

def _lstm_fwd(x, state, p):
    h, c = state
    a = _lin(x, p["w_ih"], p["b_ih"]) + _lin(h, p["w_hh"], p["b_hh"])
    ai, af, ag, ao = np.split(a, 4, axis=-1)
    i, f, g, o = _sigmoid(ai), _sigmoid(af), np.tanh(ag), _sigmoid(ao)
    c2 = f * c + i * g
    tc = np.tanh(c2)
    hr = o * tc
    h2 = hr @ p["w_hr"].T if p.get("w_hr") is not None else hr
    return (h2, c2), {"x": x, "h": h, "c": c, "i": i, "f": f, "g": g, "o": o, "c2": c2,
                      "tc": tc, "hr": hr, "p": p}


def _lstm_bwd(g_state, cache, absolute=False, mags=None):
    gh, gc = g_state
    p = cache["p"]
    k = _factors(cache, ("x", "h", "c", "i", "f", "g", "o", "tc", "hr"), absolute, mags)
    if absolute:
        p, gh, gc = _abs_p(p), np.abs(gh), np.abs(gc)
    w_hr = p.get("w_hr")
    d_hr = gh @ w_hr if w_hr is not None else gh
    a = absolute
    dc2 = gc + d_hr * k["o"] * _one_minus(k["tc"] ** 2, a)
    dai = dc2 * k["g"] * k["i"] * _one_minus(k["i"], a)
    daf = dc2 * k["c"] * k["f"] * _one_minus(k["f"], a)
    dag = dc2 * k["i"] * _one_minus(k["g"] ** 2, a)
    dao = d_hr * k["tc"] * k["o"] * _one_minus(k["o"], a)
    da = np.concatenate([dai, daf, dag, dao], axis=-1)
    dp = _param_grads(da, da, k["x"], k["h"], p)
    dp["w_hr"] = gh.T @ k["hr"] if w_hr is not None else None
    return da @ p["w_ih"], (da @ p["w_hh"], dc2 * k["f"]), dp


def _lstm_mag(xm, state_m, cache):
    _, cm = state_m
    p = _abs_p(cache["p"])
    am = _lin(xm, p["w_ih"], p["b_ih"]) + _lin(np.abs(cache["h"]), p["w_hh"], p["b_hh"])
    mi, mf, mg, mo = np.split(am, 4, axis=-1)
    i, f, g, o, tc = (np.abs(cache[n]) for n in ("i", "f", "g", "o", "tc"))
    mi, mf, mo = (v + v * (1.0 - v) * m for v, m in ((i, mi), (f, mf), (o, mo)))
    mg = g + (1.0 - g ** 2) * mg
    mc = mf * np.abs(cache["c"]) + f * cm + mi * g + i * mg
    mt = tc + (1.0 - tc ** 2) * mc
    mhr = mo * tc + o * mt
    mh = mhr @ p["w_hr"].T if p.get("w_hr") is not None else mhr
    mags = {"x": xm, "h": state_m[0], "c": cm, "i": mi, "f": mf, "g": mg, "o": mo, "tc": mt,
            "hr": mhr}
    return (mh, mc), mags


# -- GRU --------------------------------------------------------------------------------------

def _gru_fwd(x, state, p):
    (h,) = state
    gi = _lin(x, p["w_ih"], p["b_ih"])
    gh = _lin(h, p["w_hh"], p["b_hh"])
    ir, iz, in_ = np.split(gi, 3, axis=-1)
    hr, hz, hn = np.split(gh, 3, axis=-1)
    r, z = _sigmoid(ir + hr), _sigmoid(iz + hz)
    n = np.tanh(in_ + r * hn)
    h2 = (1.0 - z) * n + z * h
    return (h2,), {"x": x, "h": h, "r": r, "z": z, "n": n, "hn": hn, "p": p}


def _gru_bwd(g_state, cache, absolute=False, mags=None):
    (g,) = g_state
    k = _factors(cache, ("x", "h", "r", "z", "n", "hn"), absolute, mags)
    p, x, h, r, z, n, hn = (cache["p"],) + tuple(k[n] for n in ("x", "h", "r", "z", "n", "hn"))
    if absolute:
        p, g = _abs_p(p), np.abs(g)
        h_minus_n = h + n
        if not mags:  # the magnitude of W_hn h + b_hn
            hn = _lin(h, np.split(p["w_hh"], 3)[2],
                      None if p["b_hh"] is None else np.split(p["b_hh"], 3)[2])
    else:
        h_minus_n = h - n
    a = absolute
    dan = g * _one_minus(z, a) * _one_minus(n ** 2, a)
    daz = g * h_minus_n * z * _one_minus(z, a)
    dar = dan * hn * r * _one_minus(r, a)
    dgi = np.concatenate([dar, daz, dan], axis=-1)
    dgh = np.concatenate([dar, daz, dan * r], axis=-1)
    dh = dgh @ p["w_hh"] + g * z
    return dgi @ p["w_ih"], (dh,), _param_grads(dgi, dgh, x, h, p)


def _gru_mag(xm, state_m, cache):
    (hm,) = state_m
    p = _abs_p(cache["p"])
    mi = _lin(xm, p["w_ih"], p["b_ih"])
    mh = _lin(np.abs(cache["h"]), p["w_hh"], p["b_hh"])
    mir, miz, min_ = np.split(mi, 3, axis=-1)
    mhr, mhz, mhn = np.split(mh, 3, axis=-1)
    r, z, n, hn, h = (np.abs(cache[k]) for k in ("r", "z", "n", "hn", "h"))
    mr = r + r * (1.0 - r) * (mir + mhr)
    mz = z + z * (1.0 - z) * (miz + mhz)
    mn = n + (1.0 - n ** 2) * (min_ + mr * hn + r * mhn)
    mh2 = np.abs(1.0 - cache["z"]) * mn + n * mz + z * hm + h * mz
    return (mh2,), {"x": xm, "h": hm, "r": mr, "z": mz, "n": mn, "hn": mhn}


#: mode -> (forward, backward, magnitude, number of gates)
CELLS = {
    "RNN_TANH": (_rnn_fwd("tanh"), _rnn_bwd("tanh"), _rnn_mag("tanh"), 1),
    "RNN_RELU": (_rnn_fwd("relu"), _rnn_bwd("relu"), _rnn_mag("relu"), 1),
    "LSTM": (_lstm_fwd, _lstm_bwd, _lstm_mag, 4),
    "GRU": (_gru_fwd, _gru_bwd, _gru_mag, 3),
}


# -- one direction of one layer over time ------------------------------------------------------

def run_direction(mode, xs, state0, p, reverse=False):
    """Run the cell over xs (L, N, in) from state0; returns (ys (L, N, H_out), state_T, caches).

    reverse=True processes t = L-1 .. 0 (the '_reverse' direction), writing ys[t] in place, so
    ys is aligned with xs as in torch's bidirectional output."""
    fwd = CELLS[mode][0]
    steps = range(xs.shape[0] - 1, -1, -1) if reverse else range(xs.shape[0])
    state, ys, caches = state0, [None] * xs.shape[0], []
    for t in steps:
        state, cache = fwd(xs[t], state, p)
        ys[t] = state[0]
        caches.append((t, cache))
    return np.stack(ys), state, caches


def run_direction_backward(mode, g_ys, g_state_T, caches, xs_shape, absolute=False,
                           mags=None):
    """Backpropagation through time: (g_xs, g_state0, g_params) for cotangents of ys, state_T.

    absolute=True returns error scales instead: the true cotangents are propagated, and each
    step's VJP is also evaluated on absolute values (|incoming cotangent|, |W|, |gates|). So
    g_xs[t] and g_state0 get the magnitudes of the terms of their own step and g_params the sum
    over steps of its terms' magnitudes. (Carrying the absolute values through time instead
    would grow like |W_hh|^T and describe no actual rounding error.) ``mags``: the forward
    magnitudes of each step's saved values, aligned with ``caches`` (from
    ``run_direction_magnitude``); without them the absolute values are used.
    """
    bwd = CELLS[mode][1]
    g_xs = np.zeros(xs_shape)
    g_state = tuple(g_state_T)
    total, mag = {}, tuple(np.abs(g) for g in g_state_T)
    for j in reversed(range(len(caches))):
        t, cache = caches[j]
        g_in = (g_state[0] + g_ys[t],) + tuple(g_state[1:])
        dx, g_state, dp = bwd(g_in, cache)
        if absolute:
            dx, mag, dp = bwd(g_in, cache, True, None if mags is None else mags[j])
        g_xs[t] = dx
        for k, v in dp.items():
            if v is not None:
                total[k] = total[k] + v if k in total else v
    return g_xs, (mag if absolute else g_state), total


def run_direction_magnitude(mode, xs_mag, state0_mag, caches):
    """Forward magnitudes (see module docstring) of ys and state_T, from those of xs, state0,
    and of each step's saved values (a list aligned with ``caches``, for
    ``run_direction_backward``)."""
    mag = CELLS[mode][2]
    state, ys, mags = state0_mag, [None] * len(caches), []
    for t, cache in caches:
        state, m = mag(xs_mag[t], state, cache)
        ys[t] = state[0]
        mags.append(m)
    return np.stack(ys), state, mags
