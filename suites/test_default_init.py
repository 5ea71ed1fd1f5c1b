"""Default initialization of every parametrised layer: which distribution each parameter of a
freshly constructed module is drawn from (reference.init.default_init, from torch's
``reset_parameters``). A framework upgrade that changes a default initialization changes every
model trained with it; these cases notice.

Each case constructs the module once per seed (``DefaultInitRequest``; torch seeds its global
generator with ``torch.manual_seed`` first) and checks exactly: the parameter names and shapes,
the same seed giving the same module, the constant parameters (normalization affine 1/0,
attention biases 0, PReLU's init). Every random parameter is then judged against its target
distribution with >= 16384 elements, pooled over independent constructions where the
parameter is small (a bias), so the power statements of docs/statistics.md hold for each.
"""

import pytest
from hypothesis import given, strategies as st

from harness.cases import Case, cases_from, generated, content_label
from harness.tolerance import Rule

pytestmark = pytest.mark.nnconform_slow  # harness/plugin.py run_slow_first

STAT = Rule("statistical", 0.0)


def module(op: str, label: str, **kwargs) -> Case:
    expect_error = kwargs.pop("expect_error", "")
    return Case(op=f"nn.{op}", family="init", label=f"default_{label}", rule=STAT,
                kwargs=kwargs, expect_error=expect_error)


def linear_cases() -> list[Case]:
    return [
        module("Linear", "in256_out128", in_features=256, out_features=128),
        module("Linear", "in64_out512_no_bias", in_features=64, out_features=512, bias=False),
        module("Linear", "in1_out16384", in_features=1, out_features=16384),
        module("Linear", "in0_out8", in_features=0, out_features=8),
        module("Bilinear", "in16_in32_out64", in1_features=16, in2_features=32,
               out_features=64),
        module("Bilinear", "in40_in8_out64_no_bias", in1_features=40, in2_features=8,
               out_features=64, bias=False),
        module("Bilinear", "in0", in1_features=0, in2_features=4, out_features=4,
               expect_error="in1_features must be > 0"),
    ]


def conv_cases() -> list[Case]:
    return [
        module("Conv1d", "c16_c64_k5", in_channels=16, out_channels=64, kernel_size=5),
        module("Conv2d", "c32_c64_k3_groups4", in_channels=32, out_channels=64, kernel_size=3,
               groups=4),
        module("Conv2d", "c16_c128_k3x5_no_bias", in_channels=16, out_channels=128,
               kernel_size=(3, 5), bias=False),
        module("Conv3d", "c8_c16_k3", in_channels=8, out_channels=16, kernel_size=3),
        module("ConvTranspose1d", "c32_c16_k4", in_channels=32, out_channels=16,
               kernel_size=4),
        module("ConvTranspose2d", "c64_c32_k3_groups2", in_channels=64, out_channels=32,
               kernel_size=3, groups=2),
        module("ConvTranspose2d", "c16_c96_k2x3", in_channels=16, out_channels=96,
               kernel_size=(2, 3)),
        module("ConvTranspose3d", "c8_c16_k3", in_channels=8, out_channels=16, kernel_size=3),
        module("Conv2d", "groups_not_dividing", in_channels=6, out_channels=8, kernel_size=3,
               groups=4, expect_error="in_channels must be divisible by groups"),
    ]


def norm_cases() -> list[Case]:
    return [
        module("BatchNorm1d", "f64", num_features=64),
        module("BatchNorm2d", "f32_no_affine", num_features=32, affine=False),
        module("BatchNorm3d", "f16", num_features=16),
        module("InstanceNorm3d", "f4_affine_no_stats", num_features=4, affine=True,
               track_running_stats=False),
        module("InstanceNorm1d", "f8_default_no_affine", num_features=8),
        module("InstanceNorm2d", "f8_affine", num_features=8, affine=True),
        module("LayerNorm", "shape4x8", normalized_shape=(4, 8)),
        module("LayerNorm", "f16_no_bias", normalized_shape=16, bias=False),
        module("LayerNorm", "f16_no_affine", normalized_shape=16, elementwise_affine=False),
        module("GroupNorm", "g4_c16", num_groups=4, num_channels=16),
        module("GroupNorm", "not_dividing", num_groups=4, num_channels=10,
               expect_error="num_channels must be divisible by num_groups"),
        module("RMSNorm", "f32", normalized_shape=32),
    ]


def embedding_cases() -> list[Case]:
    return [
        module("Embedding", "n1024_d32", num_embeddings=1024, embedding_dim=32),
        module("Embedding", "padding_idx3", num_embeddings=512, embedding_dim=64,
               padding_idx=3),
        module("Embedding", "padding_idx_neg1", num_embeddings=512, embedding_dim=64,
               padding_idx=-1),
        module("Embedding", "padding_idx_out_of_range", num_embeddings=8, embedding_dim=4,
               padding_idx=8, expect_error="Padding_idx must be within num_embeddings"),
        module("EmbeddingBag", "n512_d64", num_embeddings=512, embedding_dim=64),
    ]


def rnn_cases() -> list[Case]:
    return [
        module("RNN", "in64_h256_2layers", input_size=64, hidden_size=256, num_layers=2),
        module("RNN", "relu_no_bias", input_size=64, hidden_size=128, nonlinearity="relu",
               bias=False),
        module("LSTM", "in64_h128", input_size=64, hidden_size=128),
        module("LSTM", "proj16_bidirectional", input_size=32, hidden_size=128, proj_size=16,
               bidirectional=True),
        module("GRU", "in32_h64_2layers_bidirectional", input_size=32, hidden_size=64,
               num_layers=2, bidirectional=True),
        module("RNNCell", "in64_h256", input_size=64, hidden_size=256),
        module("LSTMCell", "in64_h128", input_size=64, hidden_size=128),
        module("GRUCell", "in64_h128_no_bias", input_size=64, hidden_size=128, bias=False),
        module("LSTM", "proj_too_large", input_size=8, hidden_size=8, proj_size=8,
               expect_error="proj_size has to be smaller than hidden_size"),
        module("GRU", "proj_not_lstm", input_size=8, hidden_size=8, proj_size=4,
               expect_error="only supported for LSTM"),
    ]


def attention_cases() -> list[Case]:
    return [
        module("MultiheadAttention", "e256_h8", embed_dim=256, num_heads=8),
        module("MultiheadAttention", "e128_h4_bias_kv", embed_dim=128, num_heads=4,
               add_bias_kv=True),
        module("MultiheadAttention", "e64_kdim32_vdim48", embed_dim=64, num_heads=4, kdim=32,
               vdim=48),
        module("MultiheadAttention", "e128_no_bias", embed_dim=128, num_heads=2, bias=False),
        module("MultiheadAttention", "heads_not_dividing", embed_dim=10, num_heads=3,
               expect_error="embed_dim must be divisible by num_heads"),
        module("PReLU", "default"),
        module("PReLU", "n64_init0.1", num_parameters=64, init=0.1),
    ]


def curated() -> list[Case]:
    return (linear_cases() + conv_cases() + norm_cases() + embedding_cases() + rnn_cases()
            + attention_cases())


@cases_from(curated)
def test_default_init(case, backend, conform):
    conform(case, backend)


@st.composite
def layer_cases(draw, dtype: str) -> Case:
    """Linear and Conv/ConvTranspose layers over sizes, groups and kernels: the fan (and so
    the bound) of the weight and the bias depends on all of them. Output sizes are >= 128 so
    that a bias pools to 16384 elements in at most 128 constructions."""
    kind = draw(st.sampled_from(["Linear", "Conv1d", "Conv2d", "ConvTranspose1d",
                                 "ConvTranspose2d"]))
    bias = draw(st.booleans())
    if kind == "Linear":
        kw = dict(in_features=draw(st.sampled_from([1, 7, 64, 300])),
                  out_features=draw(st.sampled_from([128, 512, 1024])), bias=bias)
    else:
        groups = draw(st.sampled_from([1, 2, 4]))
        n = 1 if kind.endswith("1d") else 2
        kw = dict(in_channels=groups * draw(st.sampled_from([1, 4, 16])),
                  out_channels=groups * draw(st.sampled_from([64, 128, 256])),
                  kernel_size=tuple(draw(st.sampled_from([1, 2, 3, 5])) for _ in range(n)),
                  groups=groups, bias=bias)
    return module(kind, content_label("h", kind=kind, **kw), **kw).with_dtype(dtype)


@generated()
@given(data=st.data())
def test_default_init_generated(data, dtype, backend, conform):
    conform(data.draw(layer_cases(dtype)), backend, generated=True)


def test_every_module_of_the_reference_is_covered():
    """Every module reference.init.default_init knows has a curated case."""
    from reference.init import DEFAULT_INIT_MODULES
    covered = {c.op.removeprefix("nn.") for c in curated()}
    assert set(DEFAULT_INIT_MODULES) <= covered, set(DEFAULT_INIT_MODULES) - covered
