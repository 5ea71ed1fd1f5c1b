"""Recurrent layers. Semantics: torch.nn.RNN / LSTM / GRU / RNNCell / LSTMCell / GRUCell docs and
torch/nn/modules/rnn.py; cell formulas in ``reference.functional.recurrent``.

Flattened inputs and outputs (torch's nested tuples, in order):

    RNN, GRU   inputs (input,) or (input, h_0)          outputs (output, h_n)
    LSTM       inputs (input,) or (input, h_0, c_0)     outputs (output, h_n, c_n)
    RNNCell, GRUCell  inputs (input,) or (input, hx)    outputs (h',)
    LSTMCell   inputs (input,) or (input, h, c)         outputs (h', c')

An omitted (or None) initial state means zeros, as in torch. ``input_grads`` has one entry per
input given: the gradient of input, then of each initial state. Shapes are torch's: input
(L, N, H_in) ((N, L, H_in) with batch_first; (L, H_in) unbatched), h_0/h_n
(D * num_layers, N, H_out) ((D * num_layers, H_out) unbatched; batch_first does not apply),
c_0/c_n with hidden_size in place of H_out, H_out = proj_size or hidden_size, D = 2 if
bidirectional. Row k * D + d of h_n is layer k, direction d (1 = reverse).

Parameters use torch's state_dict names: weight_ih_l{k}, weight_hh_l{k}, bias_ih_l{k},
bias_hh_l{k}, weight_hr_l{k} (LSTM with proj_size), with suffix _reverse for the reverse
direction; cells: weight_ih, weight_hh, bias_ih, bias_hh. Only dropout=0 is supported in
training (dropout between layers is random); in eval dropout has no effect.
"""

from __future__ import annotations

import numpy as np

from ..functional import recurrent as R
from .base import Module, Scales

__all__ = ["RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}
_KEYS = (("w_ih", "weight_ih"), ("w_hh", "weight_hh"), ("b_ih", "bias_ih"), ("b_hh", "bias_hh"),
         ("w_hr", "weight_hr"))


def _given(inputs):
    """The initial states actually given (trailing Nones count as omitted)."""
    states = list(inputs[1:])
    if all(s is None for s in states):
        return ()
    return tuple(states)


class RNNBase(Module):
    """Multi-layer, optionally bidirectional recurrence over a sequence (see module docstring)."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device=None, dtype=None):
        if not 0 <= dropout <= 1:
            raise ValueError("dropout should be a number in range [0, 1] representing the "
                             "probability of an element being zeroed")
        if input_size <= 0:
            raise ValueError("input_size must be greater than zero")
        if hidden_size <= 0:
            raise ValueError("hidden_size must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable "
                             "projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if proj_size and mode != "LSTM":
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        self.mode, self.input_size, self.hidden_size = mode, input_size, hidden_size
        self.num_layers, self.bias, self.batch_first = num_layers, bias, batch_first
        self.dropout, self.bidirectional, self.proj_size = dropout, bidirectional, proj_size
        self.D = 2 if bidirectional else 1
        self.h_out = proj_size if proj_size > 0 else hidden_size
        self.name = {"RNN_TANH": "RNN", "RNN_RELU": "RNN"}.get(mode, mode)

    def _names(self, k, d):
        sfx = f"_l{k}" + ("_reverse" if d == 1 else "")
        return {short: long + sfx for short, long in _KEYS}

    def parameter_shapes(self):
        g = _GATES[self.mode] * self.hidden_size
        shapes = {}
        for k in range(self.num_layers):
            in_k = self.input_size if k == 0 else self.h_out * self.D
            for d in range(self.D):
                n = self._names(k, d)
                shapes[n["w_ih"]] = (g, in_k)
                shapes[n["w_hh"]] = (g, self.h_out)
                if self.bias:
                    shapes[n["b_ih"]] = (g,)
                    shapes[n["b_hh"]] = (g,)
                if self.proj_size > 0:
                    shapes[n["w_hr"]] = (self.proj_size, self.hidden_size)
        return shapes

    def _p(self, params, k, d):
        return {short: params.get(name) for short, name in self._names(k, d).items()}

    # -- input handling -------------------------------------------------------------------
    def _prepare(self, inputs):
        x = np.asarray(inputs[0])
        states = _given(inputs)
        lstm = self.mode == "LSTM"
        if x.ndim not in (2, 3):
            tail = " tensor instead" if self.name == "RNN" else " instead"
            raise ValueError(f"{self.name}: Expected input to be 2D or 3D, got {x.ndim}D{tail}")
        batched = x.ndim == 3
        if lstm and len(states) not in (0, 2):
            raise RuntimeError("LSTM expects the initial state as the pair (h_0, c_0)")
        if not lstm and len(states) not in (0, 1):
            raise RuntimeError(f"{self.name} expects one initial state h_0")
        want = 3 if batched else 2
        if states and any(s.ndim != want for s in states):
            kind = "batched 3-D" if batched else "unbatched 2-D"
            if lstm:
                raise RuntimeError(f"For {kind} input, hx and cx should also be {want}-D but got "
                                   f"({states[0].ndim}-D, {states[1].ndim}-D) tensors")
            raise RuntimeError(f"For {kind} input, hx should also be {want}-D but got "
                               f"{states[0].ndim}-D tensor")
        if not batched:
            x = x[:, None]
            states = tuple(s[:, None] for s in states)
        elif self.batch_first:
            x = x.transpose(1, 0, 2)
        if x.shape[-1] != self.input_size:
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {x.shape[-1]}")
        n = x.shape[1]
        expect = [(self.num_layers * self.D, n, self.h_out)]
        if lstm:
            expect.append((self.num_layers * self.D, n, self.hidden_size))
        if states:
            for j, (s, e) in enumerate(zip(states, expect)):
                if s.shape != e:
                    which = f"hidden[{j}] size" if lstm else "hidden size"
                    raise RuntimeError(f"Expected {which} {e}, got {list(s.shape)}")
        else:
            states = tuple(np.zeros(e) for e in expect)
        return x, states, batched

    def _to_user(self, out, states, batched):
        if not batched:
            return (out[:, 0],) + tuple(s[:, 0] for s in states)
        if self.batch_first:
            out = out.transpose(1, 0, 2)
        return (out,) + tuple(states)

    def _from_user(self, g_out, g_states, batched, shape_out, shapes_states):
        g_out = np.zeros(shape_out) if g_out is None else np.asarray(g_out, dtype=np.float64)
        g_states = [np.zeros(s) if g is None else np.asarray(g, dtype=np.float64)
                    for g, s in zip(g_states, shapes_states)]
        if not batched:
            return g_out[:, None], [g[:, None] for g in g_states]
        if self.batch_first:
            g_out = g_out.transpose(1, 0, 2)
        return g_out, g_states

    # -- protocol -------------------------------------------------------------------------
    def forward(self, params, buffers, inputs, training):
        if training and self.dropout > 0 and self.num_layers > 1:
            raise NotImplementedError("the reference supports dropout=0 only (dropout between "
                                      "layers is random in training)")
        x, states, batched = self._prepare(inputs)
        layer_in, finals, caches, in_shapes = x, [[] for _ in states], [], []
        for k in range(self.num_layers):
            ys = []
            in_shapes.append(layer_in.shape)
            for d in range(self.D):
                row = k * self.D + d
                y, st, cache = R.run_direction(self.mode, layer_in,
                                               tuple(s[row] for s in states),
                                               self._p(params, k, d), reverse=d == 1)
                ys.append(y)
                caches.append(cache)
                for f, s in zip(finals, st):
                    f.append(s)
            layer_in = np.concatenate(ys, axis=-1)
        finals = [np.stack(f) for f in finals]
        outputs = self._to_user(layer_in, finals, batched)
        ctx = {"inputs": inputs, "states0": states, "x": x, "batched": batched,
               "caches": caches, "in_shapes": in_shapes,
               "out_shapes": [o.shape for o in outputs]}
        return outputs, dict(buffers), ctx

    def backward(self, ctx, grad_outputs, absolute=False, mags=None):
        """BPTT per layer from the top: each direction's output cotangent is its half of the
        layer output's, plus its final state's; the layer input's cotangent is the sum over
        directions and feeds the layer below."""
        shapes = ctx["out_shapes"]
        g_out, g_fin = self._from_user(grad_outputs[0], list(grad_outputs[1:]) +
                                       [None] * (len(shapes) - len(grad_outputs)),
                                       ctx["batched"], shapes[0], shapes[1:])
        g_states0 = [np.zeros(s.shape) for s in ctx["states0"]]
        grads, H = {}, self.h_out
        for k in reversed(range(self.num_layers)):
            g_in, g_in_mag = np.zeros(ctx["in_shapes"][k]), np.zeros(ctx["in_shapes"][k])
            for d in range(self.D):
                row = k * self.D + d
                args = (self.mode, g_out[..., d * H:(d + 1) * H], tuple(g[row] for g in g_fin),
                        ctx["caches"][row], ctx["in_shapes"][k])
                gx, gst, dp = R.run_direction_backward(*args)
                g_in += gx
                if absolute:  # magnitudes of this layer's terms, driven by the true cotangents
                    gx, gst, dp = R.run_direction_backward(
                        *args, absolute=True, mags=None if mags is None else mags[row])
                    g_in_mag += gx
                for g0, g in zip(g_states0, gst):
                    g0[row] = g
                names = self._names(k, d)
                grads.update({names[s]: v for s, v in dp.items()})
            g_out = g_in if not absolute or k > 0 else g_in_mag
        if ctx["batched"]:
            gx = g_out.transpose(1, 0, 2) if self.batch_first else g_out
            g_states0 = list(g_states0)
        else:
            gx, g_states0 = g_out[:, 0], [g[:, 0] for g in g_states0]
        n_given = len(_given(ctx["inputs"]))
        input_grads = (gx,) + tuple(g_states0[:n_given])
        input_grads += (None,) * (len(ctx["inputs"]) - len(input_grads))
        return input_grads, grads

    def error_scales(self, ctx, grad_outputs):
        """Outputs: forward magnitudes (|W_ih| M(x) + |W_hh| |h| + |b| per gate pre-activation,
        through the nonlinearities, products and sums; see functional.recurrent). Gradients:
        each step's VJP on absolute values, driven by the true cotangents (parameter gradients
        sum these over time steps), with every saved forward value entering by its forward
        magnitude; see functional.recurrent.run_direction_backward."""
        layer_mag = np.abs(ctx["x"])
        states = [np.abs(s) for s in ctx["states0"]]
        finals = [np.zeros(s.shape) for s in states]
        mags = {}  # row -> forward magnitudes of each step's saved values
        for k in range(self.num_layers):
            ys = []
            for d in range(self.D):
                row = k * self.D + d
                y, st, mags[row] = R.run_direction_magnitude(self.mode, layer_mag,
                                                             tuple(s[row] for s in states),
                                                             ctx["caches"][row])
                ys.append(y)
                for f, s in zip(finals, st):
                    f[row] = s
            layer_mag = np.concatenate(ys, axis=-1)
        outs = self._to_user(layer_mag, finals, ctx["batched"])
        g_in, g_par = self.backward(ctx, grad_outputs, absolute=True, mags=mags)
        return Scales(outputs=outs, input_grads=g_in, param_grads=g_par)


def _no_proj(kwargs):
    """torch.nn.RNN / GRU take **kwargs only to reject proj_size with this message."""
    if "proj_size" in kwargs:
        raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
    if kwargs:
        raise TypeError(f"unexpected keyword argument {next(iter(kwargs))!r}")


class RNN(RNNBase):
    """Elman RNN, h_t = tanh or relu(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, device=None, dtype=None,
                 **kwargs):
        _no_proj(kwargs)
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or "
                             "'relu'.")
        self.nonlinearity = nonlinearity
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size,
                         hidden_size, num_layers, bias, batch_first, dropout, bidirectional)


class LSTM(RNNBase):
    """LSTM with gates (i, f, g, o) and optional projection h_t = W_hr (o_t tanh(c_t))."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device=None, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, proj_size)


class GRU(RNNBase):
    """GRU with gates (r, z, n), n = tanh(W_in x + b_in + r (W_hn h + b_hn))."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, device=None, dtype=None, **kwargs):
        _no_proj(kwargs)
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional)


class _CellBase(Module):
    """One step of the recurrence (see module docstring for inputs and outputs)."""

    name = ""
    mode = ""
    gates = 1

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True):
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias

    def parameter_shapes(self):
        # gates per cell class, not per mode: an RNNCell with an unknown nonlinearity is built
        # (with its parameters) and raises only in the forward, as torch's does
        g = self.gates * self.hidden_size
        shapes = {"weight_ih": (g, self.input_size), "weight_hh": (g, self.hidden_size)}
        if self.bias:
            shapes.update(bias_ih=(g,), bias_hh=(g,))
        return shapes

    def forward(self, params, buffers, inputs, training):
        x = np.asarray(inputs[0])
        states = _given(inputs)
        n_states = 2 if self.mode == "LSTM" else 1
        if x.ndim not in (1, 2):
            raise ValueError(f"{self.name}: Expected input to be 1D or 2D, got {x.ndim}D "
                             "instead")
        if states and len(states) != n_states:
            raise RuntimeError(f"{self.name} expects {n_states} state(s), got {len(states)}")
        for j, s in enumerate(states):
            if s.ndim not in (1, 2):
                what = f"hx[{j}]" if n_states == 2 else "hidden"
                raise ValueError(f"{self.name}: Expected {what} to be 1D or 2D, got {s.ndim}D "
                                 "instead")
        batched = x.ndim == 2
        if not batched:
            x, states = x[None], tuple(s[None] for s in states)
        if not states:
            states = tuple(np.zeros((x.shape[0], self.hidden_size)) for _ in range(n_states))
        if x.shape[1] != self.input_size:
            raise RuntimeError(f"input has inconsistent input_size: got {x.shape[1]} expected "
                               f"{self.input_size}")
        for j, s in enumerate(states):
            if s.shape[0] != x.shape[0]:
                raise RuntimeError(f"Input batch size {x.shape[0]} doesn't match hidden{j} "
                                   f"batch size {s.shape[0]}")
            if s.shape[-1] != self.hidden_size:
                raise RuntimeError(f"hidden{j} has inconsistent hidden_size: got "
                                   f"{s.shape[-1]}, expected {self.hidden_size}")
        p = {"w_ih": params["weight_ih"], "w_hh": params["weight_hh"],
             "b_ih": params.get("bias_ih"), "b_hh": params.get("bias_hh"), "w_hr": None}
        new, cache = R.CELLS[self.mode][0](x, states, p)
        outs = new if batched else tuple(s[0] for s in new)
        ctx = {"cache": cache, "batched": batched, "inputs": inputs, "x": x, "states": states}
        return outs, dict(buffers), ctx

    def backward(self, ctx, grad_outputs, absolute=False, mags=None):
        batched = ctx["batched"]
        shape = ctx["states"][0].shape
        g = [np.zeros(shape) if gi is None else np.asarray(gi, dtype=np.float64)
             for gi in grad_outputs]
        g += [np.zeros(shape)] * (len(ctx["states"]) - len(g))
        if not batched:
            g = [gi[None] for gi in g]
        dx, dst, dp = R.CELLS[self.mode][1](tuple(g), ctx["cache"], absolute, mags)
        if not batched:
            dx, dst = dx[0], tuple(s[0] for s in dst)
        grads = {"weight_ih": dp["w_ih"], "weight_hh": dp["w_hh"]}
        if self.bias:
            grads.update(bias_ih=dp["b_ih"], bias_hh=dp["b_hh"])
        n_given = len(_given(ctx["inputs"]))
        input_grads = (dx,) + tuple(dst[:n_given])
        input_grads += (None,) * (len(ctx["inputs"]) - len(input_grads))
        return input_grads, grads

    def error_scales(self, ctx, grad_outputs):
        """As for the sequence modules: forward magnitudes and the VJP on absolute values."""
        mags, saved = R.CELLS[self.mode][2](np.abs(ctx["x"]),
                                            tuple(np.abs(s) for s in ctx["states"]),
                                            ctx["cache"])
        outs = mags if ctx["batched"] else tuple(m[0] for m in mags)
        g_in, g_par = self.backward(ctx, grad_outputs, absolute=True, mags=saved)
        return Scales(outputs=outs, input_grads=g_in, param_grads=g_par)


class RNNCell(_CellBase):
    """h' = tanh or relu(W_ih x + b_ih + W_hh h + b_hh)."""

    name = "RNNCell"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias)
        self.nonlinearity = nonlinearity

    @property
    def mode(self):
        if self.nonlinearity not in ("tanh", "relu"):
            raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")
        return "RNN_TANH" if self.nonlinearity == "tanh" else "RNN_RELU"


class LSTMCell(_CellBase):
    """c' = f c + i g, h' = o tanh(c') with gates (i, f, g, o)."""

    name, mode, gates = "LSTMCell", "LSTM", 4

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None):
        super().__init__(input_size, hidden_size, bias)


class GRUCell(_CellBase):
    """h' = (1 - z) n + z h with gates (r, z, n)."""

    name, mode, gates = "GRUCell", "GRU", 3

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None):
        super().__init__(input_size, hidden_size, bias)
