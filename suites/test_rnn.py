"""Recurrent family: nn.RNN (tanh, relu), nn.LSTM (with proj_size), nn.GRU and nn.RNNCell,
nn.LSTMCell, nn.GRUCell. Outputs and final states; gradients w.r.t. the input, the initial
states and every weight (backpropagation through time).

Inputs and outputs are flattened (reference/nn/rnn.py): RNN/GRU (x[, h0]) -> (output, h_n);
LSTM (x[, h0, c0]) -> (output, h_n, c_n) (the torch adapter calls module(x, (h0, c0)), see
backends/torch_calls.py); cells (x[, h]) -> (h',), LSTMCell (x[, h, c]) -> (h', c'). An omitted
initial state is the input tuple (x,).

Parameters are drawn as torch initialises them, U(-1/sqrt(hidden), 1/sqrt(hidden)), not the
harness's N(0, 1): the ``recurrence`` rule (harness/tolerance.py, docs/tolerances.md) assumes a
step map that does not amplify perturbations, which these weights give (a random recurrent
block with entries U(-1/sqrt(H), 1/sqrt(H)) has a spectral radius near 1/sqrt(3), and the gate
derivatives are below 1), while N(0, 1) weights have one near sqrt(hidden) (about 2.8 at hidden
8), where perturbations, rounding errors included, can grow geometrically with the sequence
length and no per-step rule bounds them. Values are multiples of 2^-8 below 1, exact in every
dtype down to bfloat16.

relu (nn.RNN, nn.RNNCell) is tested with gradients in float32 and float64 only: its gradient is
discontinuous at a pre-activation of 0, and in float16/bfloat16 a pre-activation within rounding
of 0 (probability ~ eps per unit: a few percent of cases) lands on the other side than the
float64 reference's, which changes the gradient by a whole term, not by rounding.
"""

import math
import zlib

import numpy as np
from hypothesis import given, strategies as st

from harness.cases import Case, cases_from, generated, Input, content_label
from harness.tolerance import recurrence

#: relu cases with gradients (module docstring)
RELU_DTYPES = ("float32", "float64")

GATES = {"nn.RNN": 1, "nn.LSTM": 4, "nn.GRU": 3, "nn.RNNCell": 1, "nn.LSTMCell": 4,
         "nn.GRUCell": 3}


def init_params(op: str, kwargs: dict, label: str) -> dict:
    """Weights and biases ~ U(-1/sqrt(hidden), 1/sqrt(hidden)) on the 2^-8 grid."""
    from reference import nn as R  # parameter names and shapes only
    module = getattr(R, op.removeprefix("nn."))(**kwargs)
    rng = np.random.default_rng(zlib.crc32(f"{op}-{label}".encode()))
    bound = 1.0 / math.sqrt(kwargs["hidden_size"])
    return {name: np.round(rng.uniform(-bound, bound, shape) * 256) / 256
            for name, shape in module.parameter_shapes().items()}


def _rule(op: str, kw: dict, seq: int, batch: int):
    h, i = kw["hidden_size"], kw["input_size"]
    h_out = kw.get("proj_size") or h
    d = 2 if kw.get("bidirectional") else 1
    layers = kw.get("num_layers", 1)
    k = max(i + h_out, (d * h_out + h_out) if layers > 1 else 0, GATES[op] * h, h)
    return recurrence(seq + layers - 1, k, seq * batch)


def seq_case(op: str, label: str, input_size: int, hidden_size: int, seq: int = 4,
             batch: int | None = 2, init: bool = True, mode: str = "train",
             backward: bool = True, inputs=None, expect_error: str = "", **kw) -> Case:
    """nn.RNN / LSTM / GRU over ``seq`` steps; batch None = unbatched input."""
    kwargs = {"input_size": input_size, "hidden_size": hidden_size, **kw}
    h_out = kw.get("proj_size") or hidden_size
    rows = (2 if kw.get("bidirectional") else 1) * kw.get("num_layers", 1)
    if inputs is None:
        if batch is None:
            x, lead = (seq, input_size), (rows,)
        else:
            x = (batch, seq, input_size) if kw.get("batch_first") else (seq, batch, input_size)
            lead = (rows, batch)
        inputs = [Input(x)]
        if init:
            inputs.append(Input(lead + (h_out,)))
            if op == "nn.LSTM":
                inputs.append(Input(lead + (hidden_size,)))
    params = {} if expect_error else init_params(op, kwargs, label)
    relu = kw.get("nonlinearity") == "relu" and backward and not expect_error
    return Case(op=op, family="module", label=label, mode=mode, kwargs=kwargs,
                rule=_rule(op, kwargs, seq, batch or 1), inputs=tuple(inputs), params=params,
                backward=backward and not expect_error, expect_error=expect_error,
                dtypes=RELU_DTYPES if relu else None)


def cell_case(op: str, label: str, input_size: int, hidden_size: int, batch: int | None = 3,
              init: bool = True, inputs=None, expect_error: str = "", **kw) -> Case:
    kwargs = {"input_size": input_size, "hidden_size": hidden_size, **kw}
    if inputs is None:
        lead = () if batch is None else (batch,)
        inputs = [Input(lead + (input_size,))]
        if init:
            inputs += [Input(lead + (hidden_size,))] * (2 if op == "nn.LSTMCell" else 1)
    params = {} if expect_error else init_params(op, kwargs, label)
    relu = kw.get("nonlinearity") == "relu" and not expect_error
    return Case(op=op, family="module", label=label, kwargs=kwargs,
                rule=_rule(op, kwargs, 1, batch or 1), inputs=tuple(inputs), params=params,
                backward=not expect_error, expect_error=expect_error,
                dtypes=RELU_DTYPES if relu else None)


# -- curated ---------------------------------------------------------------------------------

def sequence_cases() -> list[Case]:
    cases = []
    for op in ("nn.RNN", "nn.LSTM", "nn.GRU"):
        c = lambda label, *a, **k: seq_case(op, label, *a, **k)  # noqa: E731
        cases += [
            c("i3_h4", 3, 4),
            c("no_init", 3, 4, init=False),
            c("nobias", 3, 4, bias=False),
            c("batch_first", 3, 4, batch_first=True),
            c("bidirectional", 3, 4, bidirectional=True),
            c("layers2", 3, 4, num_layers=2),
            c("layers2_bidir_batch_first", 2, 3, seq=5, num_layers=2, bidirectional=True,
              batch_first=True),
            c("layers3_no_init", 2, 3, seq=3, num_layers=3, init=False),
            c("unbatched", 3, 4, batch=None),
            c("unbatched_bidir_layers2", 2, 3, batch=None, num_layers=2, bidirectional=True),
            c("unbatched_no_init", 3, 4, batch=None, init=False),
            c("seq1", 3, 4, seq=1),
            c("batch1", 3, 4, batch=1),
            c("in1_h1", 1, 1, seq=6, batch=3),
            c("seq6_h8", 4, 8, seq=6, batch=3),
            c("eval_dropout_layers2", 3, 4, mode="eval", num_layers=2, dropout=0.5),
            c("dropout_one_layer", 3, 4, dropout=0.5),  # no dropout after the last layer
            # error inputs
            c("wrong_input_size", 3, 4, inputs=(Input((4, 2, 5)),),
              expect_error="input.size(-1) must be equal to input_size"),
            c("wrong_h0_shape", 3, 4, inputs=(Input((4, 2, 3)), Input((1, 3, 4)))
              + ((Input((1, 2, 4)),) if op == "nn.LSTM" else ()),
              expect_error="Expected hidden"),
            c("input4d", 3, 4, inputs=(Input((2, 4, 2, 3)),), expect_error="2D or 3D"),
            c("h0_2d_for_batched", 3, 4, inputs=(Input((4, 2, 3)), Input((2, 4)))
              + ((Input((2, 4)),) if op == "nn.LSTM" else ()),
              expect_error="should also be 3-D"),
        ]
    cases += [
        seq_case("nn.RNN", "relu", 3, 4, nonlinearity="relu"),
        seq_case("nn.RNN", "relu_no_init", 3, 4, nonlinearity="relu", init=False),
        seq_case("nn.RNN", "relu_layers2_bidir", 3, 4, nonlinearity="relu", num_layers=2,
                 bidirectional=True),
        seq_case("nn.RNN", "relu_unbatched_batch_first", 2, 5, seq=6, batch=None,
                 nonlinearity="relu", batch_first=True),  # batch_first has no effect
        seq_case("nn.RNN", "relu_seq6_h8_nobias", 4, 8, seq=6, batch=3, nonlinearity="relu",
                 bias=False),
        seq_case("nn.LSTM", "proj2", 3, 4, proj_size=2),
        seq_case("nn.LSTM", "proj1_no_init", 3, 4, proj_size=1, init=False),
        seq_case("nn.LSTM", "proj3_h8_layers2_bidir", 3, 8, seq=5, batch=3, proj_size=3,
                 num_layers=2, bidirectional=True),
        seq_case("nn.LSTM", "proj2_unbatched_batch_first_nobias", 3, 5, batch=None,
                 proj_size=2, batch_first=True, bias=False),
        seq_case("nn.LSTM", "proj2_layers2_batch_first", 2, 4, proj_size=2, num_layers=2,
                 batch_first=True),
        # constructor errors
        seq_case("nn.LSTM", "proj_not_smaller", 3, 4, proj_size=4,
                 inputs=(Input((2, 1, 3)),), expect_error="proj_size has to be smaller"),
        seq_case("nn.GRU", "proj_size", 3, 4, proj_size=2, inputs=(Input((2, 1, 3)),),
                 expect_error="proj_size argument is only supported for LSTM"),
        seq_case("nn.RNN", "nonlinearity_sigmoid", 3, 4, nonlinearity="sigmoid",
                 inputs=(Input((2, 1, 3)),), expect_error="Unknown nonlinearity"),
    ]
    return cases


@cases_from(sequence_cases)
def test_sequence(case, backend, conform):
    conform(case, backend)


def cell_cases() -> list[Case]:
    cases = []
    for op in ("nn.RNNCell", "nn.LSTMCell", "nn.GRUCell"):
        c = lambda label, *a, **k: cell_case(op, label, *a, **k)  # noqa: E731
        n_states = 2 if op == "nn.LSTMCell" else 1
        cases += [
            c("i3_h4", 3, 4),
            c("no_init", 3, 4, init=False),
            c("nobias", 3, 4, bias=False),
            c("unbatched", 3, 4, batch=None),
            c("unbatched_no_init", 3, 4, batch=None, init=False),
            c("in1_h1", 1, 1, batch=5),
            c("i6_h8", 6, 8),
            c("wrong_input_size", 3, 4, inputs=(Input((2, 5)),) + (Input((2, 4)),) * n_states,
              expect_error="input has inconsistent input_size"),
            c("wrong_batch", 3, 4, inputs=(Input((2, 3)),) + (Input((3, 4)),) * n_states,
              expect_error="batch size"),
            c("wrong_hidden_size", 3, 4, inputs=(Input((2, 3)),) + (Input((2, 5)),) * n_states,
              expect_error="hidden_size"),
            c("input3d", 3, 4, inputs=(Input((1, 2, 3)),), expect_error="1D or 2D"),
        ]
    cases += [
        cell_case("nn.RNNCell", "relu", 3, 4, nonlinearity="relu"),
        cell_case("nn.RNNCell", "relu_unbatched_nobias", 3, 4, batch=None, bias=False,
                  nonlinearity="relu"),
        cell_case("nn.RNNCell", "nonlinearity_sigmoid", 3, 4, nonlinearity="sigmoid",
                  inputs=(Input((2, 3)),), expect_error="Unknown nonlinearity"),
    ]
    return cases


@cases_from(cell_cases)
def test_cell(case, backend, conform):
    conform(case, backend)


# -- generated -------------------------------------------------------------------------------

@st.composite
def sequence_cases_h(draw, dtype: str) -> Case:
    op = draw(st.sampled_from(["nn.RNN", "nn.LSTM", "nn.GRU"]))
    i, h = draw(st.integers(1, 5)), draw(st.integers(1, 8))
    seq = draw(st.integers(1, 6))
    batch = draw(st.sampled_from([None, 1, 2, 3]))
    kw = dict(num_layers=draw(st.integers(1, 2)), bias=draw(st.booleans()),
              batch_first=draw(st.booleans()), bidirectional=draw(st.booleans()))
    if op == "nn.RNN":
        kw["nonlinearity"] = draw(st.sampled_from(["tanh", "relu"] if dtype in RELU_DTYPES
                                                  else ["tanh"]))
    if op == "nn.LSTM" and h > 1:
        kw["proj_size"] = draw(st.integers(0, h - 1))
    init = draw(st.booleans())
    label = content_label("h", i=i, h=h, seq=seq, batch=batch, init=init, **kw)
    return seq_case(op, label, i, h, seq=seq, batch=batch, init=init, **kw).with_dtype(dtype)


@generated()
@given(data=st.data())
def test_sequence_generated(data, dtype, backend, conform):
    conform(data.draw(sequence_cases_h(dtype)), backend, generated=True)


@st.composite
def cell_cases_h(draw, dtype: str) -> Case:
    op = draw(st.sampled_from(["nn.RNNCell", "nn.LSTMCell", "nn.GRUCell"]))
    i, h = draw(st.integers(1, 8)), draw(st.integers(1, 8))
    batch = draw(st.sampled_from([None, 1, 2, 3]))
    kw = dict(bias=draw(st.booleans()))
    if op == "nn.RNNCell":
        kw["nonlinearity"] = draw(st.sampled_from(["tanh", "relu"] if dtype in RELU_DTYPES
                                                  else ["tanh"]))
    init = draw(st.booleans())
    label = content_label("h", i=i, h=h, batch=batch, init=init, **kw)
    return cell_case(op, label, i, h, batch=batch, init=init, **kw).with_dtype(dtype)


@generated()
@given(data=st.data())
def test_cell_generated(data, dtype, backend, conform):
    conform(data.draw(cell_cases_h(dtype)), backend, generated=True)
