"""reference.init: exact facts (fans, gains, errors, eye/dirac values, orthogonality, sparse zero
counts, determinism) derived by hand from torch/nn/init.py's documented formulas, and each
sampler passing the statistical battery of its own target distribution."""

import math

import numpy as np
import pytest

from harness import statistics as S
from reference import init

SEED = 1234
# >= S.MIN_SAMPLE_SIZE elements each
BIG_2D = (128, 128)
BIG_4D = (64, 32, 3, 3)


def rng(seed=SEED):
    return np.random.default_rng(seed)


# --- fans and gains -----------------------------------------------------------------------------

@pytest.mark.parametrize("shape, fans", [
    ((3, 4), (4, 3)),                       # Linear weight (out, in)
    ((8, 4, 5), (20, 40)),                  # Conv1d (out, in, k)
    ((64, 32, 3, 3), (288, 576)),           # Conv2d
    ((8, 4, 2, 3, 3), (72, 144)),           # Conv3d
    ((16, 4, 3, 3), (36, 144)),             # ConvTranspose2d(16, 8, 3, groups=2): (in, out/g, k)
    ((1, 1, 7), (7, 7)),                    # MHA bias_k
])
def test_fan_in_and_fan_out(shape, fans):
    assert init._calculate_fan_in_and_fan_out(shape) == fans
    assert init._calculate_correct_fan(shape, "fan_in") == fans[0]
    assert init._calculate_correct_fan(shape, "FAN_OUT") == fans[1]


@pytest.mark.parametrize("shape", [(), (5,)])
@pytest.mark.parametrize("name", ["xavier_uniform_", "xavier_normal_", "kaiming_uniform_",
                                  "kaiming_normal_"])
def test_fan_based_initializers_reject_fewer_than_two_dims(name, shape):
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        getattr(init, name)(np.zeros(shape), generator=rng())


def test_unknown_mode_raises():
    with pytest.raises(ValueError, match="Mode fan_avg not supported"):
        init.kaiming_uniform_(np.zeros((3, 4)), mode="fan_avg")
    with pytest.raises(ValueError, match="Mode"):
        init.kaiming_normal_distribution((3, 4), mode="avg")


def test_gains():
    assert init.calculate_gain("tanh") == 5 / 3
    assert init.calculate_gain("relu") == math.sqrt(2)
    assert init.calculate_gain("selu") == 3 / 4
    for name in ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                 "conv_transpose3d", "sigmoid"):
        assert init.calculate_gain(name) == 1
    # leaky_relu: sqrt(2 / (1 + slope^2)), slope 0.01 when not given
    assert init.calculate_gain("leaky_relu") == pytest.approx(math.sqrt(2 / 1.0001), rel=1e-15)
    assert init.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04), rel=1e-15)
    assert init.calculate_gain("leaky_relu", 0) == math.sqrt(2)
    assert init.calculate_gain("leaky_relu", 1) == 1
    # a = sqrt(5): gain sqrt(1/3), so kaiming_uniform_'s bound is exactly 1/sqrt(fan_in)
    d = init.kaiming_uniform_distribution((10, 30), a=math.sqrt(5))
    assert d.high == pytest.approx(1 / math.sqrt(30), rel=1e-14) and d.low == -d.high


@pytest.mark.parametrize("nonlinearity, param, match", [
    ("gelu", None, "Unsupported nonlinearity gelu"),
    ("Relu", None, "Unsupported nonlinearity"),
    ("leaky_relu", "0.1", "not a valid number"),
    ("leaky_relu", True, "not a valid number"),
    ("leaky_relu", [0.1], "not a valid number"),
])
def test_gain_errors(nonlinearity, param, match):
    with pytest.raises(ValueError, match=match):
        init.calculate_gain(nonlinearity, param)


def test_target_distribution_formulas():
    # xavier: gain * sqrt(6 / (fan_in + fan_out)) for the uniform bound, sqrt(2/..) for std
    d = init.target_distribution("xavier_uniform_", (256, 64), gain=2.0)
    assert d.kind == "uniform" and d.high == pytest.approx(2 * math.sqrt(6 / 320), rel=1e-14)
    assert d.std == pytest.approx(2 * math.sqrt(2 / 320), rel=1e-14)
    d = init.target_distribution("xavier_normal_", (64, 32, 3, 3))
    assert d.std == pytest.approx(math.sqrt(2 / (288 + 576)), rel=1e-14)
    d = init.target_distribution("kaiming_uniform_", (64, 32, 3, 3), mode="fan_out",
                                 nonlinearity="relu")
    assert d.high == pytest.approx(math.sqrt(2) * math.sqrt(3 / 576), rel=1e-14)
    d = init.target_distribution("kaiming_normal_", (256, 64), a=0.2)
    assert d.std == pytest.approx(math.sqrt(2 / 1.04) / 8, rel=1e-14)
    d = init.target_distribution("trunc_normal_", (4, 4), mean=1.0, std=0.5, a=-0.2, b=0.3)
    assert (d.kind, d.mean, d.std, d.low, d.high) == ("truncated_normal", 1.0, 0.5, -0.2, 0.3)
    assert init.target_distribution("uniform_", (3,), a=-1, b=3).std == pytest.approx(
        4 / math.sqrt(12))
    assert init.target_distribution("constant_", (3,), val=0.5).mean == 0.5
    with pytest.raises(KeyError):
        init.target_distribution("nonexistent_", (3, 3))


def test_uniform_and_normal_parameter_errors():
    with pytest.raises(RuntimeError, match="from=2 > to=1"):
        init.uniform_(np.zeros(3), 2, 1)
    with pytest.raises(RuntimeError, match="std >= 0.0"):
        init.normal_(np.zeros(3), 0, -1)
    with pytest.raises(RuntimeError):
        init.trunc_normal_(np.zeros(3), a=1.0, b=-1.0)


# --- deterministic initializers -----------------------------------------------------------------

def test_constant_ones_zeros():
    x = np.full((2, 3), 7.0)
    assert np.array_equal(init.constant_(x, 0.25), np.full((2, 3), 0.25))
    assert np.array_equal(init.ones_(x), np.ones((2, 3)))
    assert np.array_equal(init.zeros_(x), np.zeros((2, 3)))
    assert np.array_equal(x, np.full((2, 3), 7.0))  # not mutated


@pytest.mark.parametrize("shape", [(3, 5), (5, 3), (4, 4), (1, 1)])
def test_eye(shape):
    e = init.eye_(np.empty(shape))
    for i in range(shape[0]):
        for j in range(shape[1]):
            assert e[i, j] == (1.0 if i == j else 0.0)


@pytest.mark.parametrize("shape", [(3,), (2, 3, 4)])
def test_eye_needs_2d(shape):
    with pytest.raises(ValueError, match="Only tensors with 2 dimensions"):
        init.eye_(np.empty(shape))


@pytest.mark.parametrize("shape, groups", [
    ((4, 4, 3), 1), ((6, 2, 5), 1), ((2, 6, 3), 1), ((6, 3, 3, 3), 2), ((8, 2, 4, 4), 4),
    ((4, 2, 3, 4, 5), 1), ((6, 4, 1, 3, 3), 3),
])
def test_dirac_values(shape, groups):
    w = init.dirac_(np.empty(shape), groups=groups)
    per_group = shape[0] // groups
    centre = tuple(k // 2 for k in shape[2:])
    expected = np.zeros(shape)
    ones = 0
    for g in range(groups):
        for d in range(min(per_group, shape[1])):
            expected[(g * per_group + d, d) + centre] = 1
            ones += 1
    assert np.array_equal(w, expected)
    assert w.sum() == ones == groups * min(per_group, shape[1])


def test_dirac_preserves_channels_under_convolution():
    # identity: a 'same'-padded cross-correlation with a dirac kernel returns the input channels
    x = rng().normal(size=(3, 10))                   # (in_channels, length)
    w = init.dirac_(np.empty((3, 3, 5)))
    xp = np.pad(x, ((0, 0), (2, 2)))
    y = np.stack([sum(np.correlate(xp[i], w[o, i], "valid") for i in range(3)) for o in range(3)])
    assert np.array_equal(y, x)


@pytest.mark.parametrize("shape, groups, match", [
    ((3, 3), 1, "3, 4, or 5 dimensions"), ((2, 2, 2, 2, 2, 2), 1, "3, 4, or 5 dimensions"),
    ((3, 3, 3), 2, "divisible by groups"),
])
def test_dirac_errors(shape, groups, match):
    with pytest.raises(ValueError, match=match):
        init.dirac_(np.empty(shape), groups=groups)


# --- structured random --------------------------------------------------------------------------

@pytest.mark.parametrize("shape, gain", [((256, 64), 1.0), ((64, 256), 2.0), ((128, 128), 1.0),
                                         ((32, 4, 3, 3), 0.5), ((8, 2, 3, 3, 3), 1.5)])
def test_orthogonality(shape, gain):
    q = init.orthogonal_(np.empty(shape), gain=gain, generator=rng())
    assert q.shape == shape
    rows, cols = init.orthogonal_flat_shape(shape)
    flat = q.reshape(rows, cols)
    gram = flat.T @ flat if rows >= cols else flat @ flat.T
    np.testing.assert_allclose(gram, init.orthogonal_gram(shape, gain), atol=1e-12 * gain ** 2)
    assert init.orthogonal_gram(shape, gain).shape == (min(rows, cols),) * 2


def test_orthogonal_errors_and_empty():
    with pytest.raises(ValueError, match="2 or more dimensions"):
        init.orthogonal_(np.empty(4))
    assert init.orthogonal_(np.empty((0, 3))).shape == (0, 3)


@pytest.mark.parametrize("shape, sparsity, zeros", [
    ((10, 5), 0.1, 1), ((10, 5), 0.25, 3), ((100, 7), 0.5, 50), ((7, 3), 0.0, 0),
    ((7, 3), 1.0, 7), ((9, 4), 0.34, 4),
    # ceil is taken of the float64 product, as in torch: 0.07 * 100 = 7.000000000000001
    ((100, 5), 0.07, 8), ((10, 5), 0.3, 3),
])
def test_sparse_zero_counts_per_column(shape, sparsity, zeros):
    assert init.sparse_zeros_per_column(shape, sparsity) == zeros
    w = init.sparse_(np.empty(shape), sparsity, generator=rng())
    assert np.array_equal(np.sum(w == 0, axis=0), np.full(shape[1], zeros))
    assert init.sparse_distribution(shape, sparsity).zeros_per_column == zeros


@pytest.mark.parametrize("shape", [(5,), (2, 3, 4)])
def test_sparse_needs_2d(shape):
    with pytest.raises(ValueError, match="Only tensors with 2 dimensions"):
        init.sparse_(np.empty(shape), 0.1)


def test_sparse_zero_positions_are_spread_over_rows():
    # each row is zeroed in each column with probability zeros/rows; over 2000 columns the
    # count per row is Binomial(2000, 0.3): 600 +- 20.5, so [450, 750] is a > 7-sigma band
    w = init.sparse_(np.empty((10, 2000)), 0.25, generator=rng())
    per_row = np.sum(w == 0, axis=1)
    assert per_row.sum() == 3 * 2000 and np.all((per_row > 450) & (per_row < 750))


# --- determinism and purity ---------------------------------------------------------------------

RANDOM = [
    ("uniform_", BIG_2D, dict(a=-0.5, b=2.0)),
    ("normal_", BIG_2D, dict(mean=1.0, std=3.0)),
    ("trunc_normal_", BIG_2D, {}),
    ("trunc_normal_", BIG_2D, dict(mean=0.0, std=0.02, a=-2.0, b=2.0)),
    ("trunc_normal_", BIG_2D, dict(mean=0.0, std=2.0, a=-1.0, b=1.0)),
    ("trunc_normal_", BIG_2D, dict(mean=0.0, std=1.0, a=1.5, b=4.0)),   # low-mass regime
    ("xavier_uniform_", BIG_4D, dict(gain=2.0)),
    ("xavier_normal_", (256, 64), {}),
    ("kaiming_uniform_", (256, 64), dict(a=math.sqrt(5))),
    ("kaiming_uniform_", BIG_4D, dict(mode="fan_out", nonlinearity="relu")),
    ("kaiming_normal_", BIG_4D, dict(a=0.2, mode="fan_out")),
    ("kaiming_normal_", (16, 16, 4, 4, 4), dict(nonlinearity="tanh")),
    ("orthogonal_", (256, 64), dict(gain=2.0)),
    ("orthogonal_", (64, 256), {}),
    ("orthogonal_", (32, 4, 3, 3), {}),
    ("sparse_", (200, 100), dict(sparsity=0.1)),
    ("sparse_", (10, 2400), dict(sparsity=0.3, std=0.5)),
]


@pytest.mark.parametrize("name, shape, kwargs", RANDOM)
def test_same_seed_same_sample_and_input_untouched(name, shape, kwargs):
    x = np.zeros(shape)
    a = getattr(init, name)(x, **kwargs, generator=rng(7))
    b = getattr(init, name)(x, **kwargs, generator=rng(7))
    c = getattr(init, name)(x, **kwargs, generator=rng(8))
    assert a.shape == shape and np.array_equal(a, b) and not np.array_equal(a, c)
    assert not np.any(x)


@pytest.mark.parametrize("name, shape, kwargs", RANDOM)
def test_sampler_passes_battery_for_its_distribution(name, shape, kwargs):
    sample = getattr(init, name)(np.empty(shape), **kwargs, generator=rng())
    dist = init.target_distribution(name, shape, **kwargs)
    results = S.distribution_tests(sample, dist)
    assert results and not [r for r in results if r.rejected], results


@pytest.mark.parametrize("name, shape, kwargs", [
    ("constant_", (4, 5), dict(val=0.3)), ("ones_", (4, 5), {}), ("zeros_", (4, 5), {}),
    ("eye_", (4, 5), {}), ("dirac_", (6, 3, 3, 3), dict(groups=2))])
def test_deterministic_initializers_pass_their_checks(name, shape, kwargs):
    value = getattr(init, name)(np.empty(shape), **kwargs)
    dist = init.target_distribution(name, shape, **kwargs)
    assert not [r for r in S.distribution_tests(value, dist) if r.rejected]
    assert [r for r in S.distribution_tests(value + 1e-3, dist) if r.rejected]


def test_zero_element_kaiming_is_a_no_op():
    assert init.kaiming_uniform_(np.empty((0, 4))).shape == (0, 4)
    assert init.kaiming_normal_(np.empty((3, 0, 2))).shape == (3, 0, 2)


# --- default module initialization ---------------------------------------------------------------

def _bounds(d):
    assert d.kind == "uniform"
    return d.low, d.high


def test_default_init_linear_and_bilinear():
    d = init.default_init("Linear", dict(in_features=300, out_features=20))
    for k in ("weight", "bias"):
        lo, hi = _bounds(d[k])
        assert hi == pytest.approx(1 / math.sqrt(300), rel=1e-14) and lo == -hi
    assert init.default_init_shapes("Linear", dict(in_features=3, out_features=2)) == {
        "weight": (2, 3), "bias": (2,)}
    assert list(init.default_init("Linear", dict(in_features=3, out_features=2, bias=False))) \
        == ["weight"]
    d = init.default_init("Bilinear", dict(in1_features=20, in2_features=30, out_features=4))
    assert _bounds(d["weight"])[1] == pytest.approx(1 / math.sqrt(20)) == _bounds(d["bias"])[1]
    assert init.default_init_shapes("Bilinear", dict(in1_features=20, in2_features=30,
                                                     out_features=4))["weight"] == (4, 20, 30)
    with pytest.raises(ValueError, match="in1_features must be > 0"):
        init.default_init("Bilinear", dict(in1_features=0, in2_features=3, out_features=4))


@pytest.mark.parametrize("name, kwargs, weight_shape, fan_in", [
    ("Conv1d", dict(in_channels=32, out_channels=128, kernel_size=5), (128, 32, 5), 160),
    ("Conv2d", dict(in_channels=32, out_channels=64, kernel_size=3, groups=4),
     (64, 8, 3, 3), 72),
    ("Conv3d", dict(in_channels=8, out_channels=16, kernel_size=(3, 2, 3), groups=2),
     (16, 4, 3, 2, 3), 72),
    # transposed: weight (in, out/groups, *k), so fan_in = out/groups * prod(k)
    ("ConvTranspose1d", dict(in_channels=128, out_channels=32, kernel_size=5), (128, 32, 5), 160),
    ("ConvTranspose2d", dict(in_channels=64, out_channels=32, kernel_size=3, groups=4),
     (64, 8, 3, 3), 72),
    ("ConvTranspose3d", dict(in_channels=16, out_channels=8, kernel_size=3, groups=2),
     (16, 4, 3, 3, 3), 108),
])
def test_default_init_conv(name, kwargs, weight_shape, fan_in):
    shapes = init.default_init_shapes(name, kwargs)
    assert shapes == {"weight": weight_shape, "bias": (kwargs["out_channels"],)}
    d = init.default_init(name, kwargs)
    for k in ("weight", "bias"):
        lo, hi = _bounds(d[k])
        assert hi == pytest.approx(1 / math.sqrt(fan_in), rel=1e-14) and lo == -hi


def test_default_init_conv_errors():
    with pytest.raises(ValueError, match="in_channels must be divisible by groups"):
        init.default_init("Conv2d", dict(in_channels=3, out_channels=4, kernel_size=3, groups=2))
    with pytest.raises(ValueError, match="out_channels must be divisible by groups"):
        init.default_init("ConvTranspose2d", dict(in_channels=4, out_channels=3, kernel_size=3,
                                                  groups=2))


@pytest.mark.parametrize("name, kwargs, expected", [
    ("BatchNorm1d", dict(num_features=5), {"weight": 1.0, "bias": 0.0}),
    ("BatchNorm2d", dict(num_features=5, affine=False), {}),
    ("BatchNorm3d", dict(num_features=5), {"weight": 1.0, "bias": 0.0}),
    ("InstanceNorm2d", dict(num_features=5), {}),
    ("InstanceNorm1d", dict(num_features=5, affine=True), {"weight": 1.0, "bias": 0.0}),
    ("LayerNorm", dict(normalized_shape=[4, 5]), {"weight": 1.0, "bias": 0.0}),
    ("LayerNorm", dict(normalized_shape=6, bias=False), {"weight": 1.0}),
    ("LayerNorm", dict(normalized_shape=6, elementwise_affine=False), {}),
    ("GroupNorm", dict(num_groups=2, num_channels=6), {"weight": 1.0, "bias": 0.0}),
    ("RMSNorm", dict(normalized_shape=7), {"weight": 1.0}),
    ("PReLU", dict(num_parameters=3, init=0.1), {"weight": 0.1}),
    ("PReLU", dict(), {"weight": 0.25}),
])
def test_default_init_constants(name, kwargs, expected):
    d = init.default_init(name, kwargs)
    assert {k: (v.kind, v.mean) for k, v in d.items()} == {
        k: ("constant", v) for k, v in expected.items()}


def test_default_init_norm_shapes():
    assert init.default_init_shapes("LayerNorm", dict(normalized_shape=[4, 5]))["weight"] == (4, 5)
    assert init.default_init_shapes("PReLU", {})["weight"] == (1,)


def test_default_init_embedding():
    d = init.default_init("Embedding", dict(num_embeddings=10, embedding_dim=3, padding_idx=-3))
    assert (d["weight"].kind, d["weight"].mean, d["weight"].std) == ("normal", 0.0, 1.0)
    assert d["weight"].zero_rows == (7,)
    assert init.default_init("Embedding", dict(num_embeddings=10, embedding_dim=3))[
        "weight"].zero_rows == ()
    with pytest.raises(AssertionError, match="Padding_idx"):
        init.default_init("Embedding", dict(num_embeddings=10, embedding_dim=3, padding_idx=10))
    w = np.random.default_rng(0).normal(size=(64, 300))
    w[5] = 0
    dist = init.default_init("EmbeddingBag", dict(num_embeddings=64, embedding_dim=300,
                                                  padding_idx=5))["weight"]
    assert not [r for r in S.distribution_tests(w, dist) if r.rejected]
    w[5, 0] = 1e-9
    assert [r for r in S.distribution_tests(w, dist) if r.rejected]


def test_default_init_rnn_names_shapes_and_bounds():
    kw = dict(input_size=5, hidden_size=16, num_layers=2, bidirectional=True, proj_size=4)
    shapes = init.default_init_shapes("LSTM", kw)
    assert shapes["weight_ih_l0"] == (64, 5) and shapes["weight_hh_l0"] == (64, 4)
    assert shapes["weight_hr_l0_reverse"] == (4, 16) and shapes["weight_ih_l1"] == (64, 8)
    assert shapes["bias_hh_l1_reverse"] == (64,)
    assert len(shapes) == 2 * 2 * 5
    assert list(shapes)[:5] == ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
                                "weight_hr_l0"]
    for d in init.default_init("LSTM", kw).values():    # 1/sqrt(hidden), not proj
        assert _bounds(d) == (-0.25, 0.25)
    gru = init.default_init_shapes("GRU", dict(input_size=5, hidden_size=9, bias=False))
    assert gru == {"weight_ih_l0": (27, 5), "weight_hh_l0": (27, 9)}
    rnn = init.default_init("RNN", dict(input_size=5, hidden_size=4))
    assert {k: _bounds(v) for k, v in rnn.items()} == dict.fromkeys(
        ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"], (-0.5, 0.5))
    with pytest.raises(ValueError, match="only supported for LSTM"):
        init.default_init("GRU", dict(input_size=5, hidden_size=9, proj_size=2))
    with pytest.raises(ValueError, match="smaller than hidden_size"):
        init.default_init("LSTM", dict(input_size=5, hidden_size=9, proj_size=9))


@pytest.mark.parametrize("name, gates", [("RNNCell", 1), ("LSTMCell", 4), ("GRUCell", 3)])
def test_default_init_rnn_cells(name, gates):
    kw = dict(input_size=7, hidden_size=25)
    assert init.default_init_shapes(name, kw) == {
        "weight_ih": (25 * gates, 7), "weight_hh": (25 * gates, 25), "bias_ih": (25 * gates,),
        "bias_hh": (25 * gates,)}
    assert all(_bounds(d) == (-0.2, 0.2) for d in init.default_init(name, kw).values())


def test_default_init_multihead_attention():
    e = 24
    d = init.default_init("MultiheadAttention", dict(embed_dim=e, num_heads=4))
    assert list(d) == ["in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"]
    assert _bounds(d["in_proj_weight"])[1] == pytest.approx(math.sqrt(6 / (4 * e)))
    assert _bounds(d["out_proj.weight"])[1] == pytest.approx(1 / math.sqrt(e))
    assert (d["in_proj_bias"].kind, d["in_proj_bias"].mean) == ("constant", 0.0)
    assert (d["out_proj.bias"].kind, d["out_proj.bias"].mean) == ("constant", 0.0)
    kw = dict(embed_dim=e, num_heads=4, kdim=8, vdim=12, add_bias_kv=True, bias=False)
    d, shapes = init.default_init("MultiheadAttention", kw), init.default_init_shapes(
        "MultiheadAttention", kw)
    assert shapes == {"q_proj_weight": (e, e), "k_proj_weight": (e, 8), "v_proj_weight": (e, 12),
                      "bias_k": (1, 1, e), "bias_v": (1, 1, e), "out_proj.weight": (e, e)}
    assert _bounds(d["k_proj_weight"])[1] == pytest.approx(math.sqrt(6 / (e + 8)))
    assert d["bias_k"].kind == "normal" and d["bias_k"].std == pytest.approx(1 / math.sqrt(e))
    with pytest.raises(AssertionError, match="divisible by num_heads"):
        init.default_init("MultiheadAttention", dict(embed_dim=10, num_heads=3))


def test_default_init_unknown_module():
    with pytest.raises(KeyError):
        init.default_init("Transformer", {})
    assert list(init.default_init("nn.Linear", dict(in_features=2, out_features=2))) == [
        "weight", "bias"]


def test_default_init_distributions_sampled_pass_battery():
    # the module rules compose the initializers: sample each through the reference samplers
    g = rng()
    kw = dict(in_channels=64, out_channels=32, kernel_size=3)
    shapes = init.default_init_shapes("ConvTranspose2d", kw)
    d = init.default_init("ConvTranspose2d", kw)["weight"]
    w = init.kaiming_uniform_(np.empty(shapes["weight"]), a=math.sqrt(5), generator=g)
    assert not [r for r in S.distribution_tests(w, d) if r.rejected]
    # the non-transposed fan (in * k = 576 instead of out * k = 288) is rejected
    wrong = init.kaiming_uniform_(np.empty((32, 64, 3, 3)), a=math.sqrt(5), generator=g)
    assert [r for r in S.distribution_tests(wrong, d) if r.rejected]


def test_zero_element_kaiming_distribution_needs_no_fan():
    # torch returns before computing the fan: (16, 0) has fan_in 0, (0,) has one dimension
    for shape in ((16, 0), (0,)):
        assert init.kaiming_uniform_distribution(shape).kind == "constant"
        assert init.kaiming_normal_distribution(shape, mode="fan_out").kind == "constant"


# --- sampling a distribution, module default initialization sampled ------------------------------

@pytest.mark.parametrize("dist", [
    init.Distribution("normal", 0.5, 2.0),
    init.uniform_distribution(BIG_2D, -0.3, 0.7),
    init.trunc_normal_distribution(BIG_2D, 0.0, 0.02),
    init.constant_distribution(BIG_2D, 0.25),
    init.eye_distribution(BIG_2D),
    init.orthogonal_distribution(BIG_2D, 2.0),
    init.sparse_distribution(BIG_2D, 0.2, 0.05),
], ids=lambda d: d.kind)
def test_sample_passes_the_battery_of_its_distribution(dist):
    x = init.sample(dist, BIG_2D, rng())
    assert x.shape == BIG_2D
    assert not [r.test for r in S.distribution_tests(x, dist) if r.rejected]


def test_sample_zero_rows():
    d = init.default_init("Embedding", dict(num_embeddings=300, embedding_dim=64,
                                            padding_idx=-2))["weight"]
    x = init.sample(d, (300, 64), rng())
    assert np.all(x[298] == 0) and np.all(x[299] != 0)
    assert not [r.test for r in S.distribution_tests(x, d) if r.rejected]


@pytest.mark.parametrize("name, kwargs", [
    ("Linear", dict(in_features=8, out_features=4)),
    ("LSTM", dict(input_size=6, hidden_size=5, num_layers=2, bidirectional=True, proj_size=2)),
    ("MultiheadAttention", dict(embed_dim=8, num_heads=2, add_bias_kv=True, kdim=3)),
    ("BatchNorm2d", dict(num_features=3, affine=False)),
])
def test_sample_default_init_names_shapes_and_seed(name, kwargs):
    shapes = init.default_init_shapes(name, kwargs)
    a = init.sample_default_init(name, kwargs, rng(7))
    b = init.sample_default_init(name, kwargs, rng(7))
    assert list(a) == list(shapes) and all(a[k].shape == shapes[k] for k in a)
    assert all(np.array_equal(a[k], b[k]) for k in a)


# --- depth scenarios: the worked examples of the initializer issue -------------------------------

F32_MAX = float(np.finfo(np.float32).max)


def _stack(draw, seed=0, depth=100, width=256, batch=16, dtype=np.float64):
    g = rng(seed)
    x0 = g.standard_normal((batch, width)).astype(dtype).astype(np.float64)
    ws = [draw(g).astype(dtype).astype(np.float64) for _ in range(depth)]
    return x0, ws


def test_depth_normal_std1_overflows_float32_within_35_layers_but_not_float64():
    x0, ws = _stack(lambda g: init.normal_(np.empty((256, 256)), generator=g), dtype=np.float32)
    p = init.depth_profile(x0, ws)
    first = int(np.argmax(p["amax"] > F32_MAX))
    assert 25 <= first < 35                          # 16^l = 2^(4l) reaches 2^128 near l = 32
    assert np.all(np.isfinite(p["std"])) and p["std"][-1] > 1e110   # float64: ~16^100
    ratio = p["std"][1:] / p["std"][:-1]
    assert 14 < np.exp(np.mean(np.log(ratio))) < 18  # sqrt(256) per layer


def test_depth_std_preserved_with_std_one_over_sqrt_width():
    x0, ws = _stack(lambda g: init.normal_(np.empty((256, 256)), std=1 / 16, generator=g))
    std = init.depth_profile(x0, ws)["std"]
    assert np.all((std > 0.5) & (std < 2.0))


def test_depth_tanh_xavier_gain_settles_near_0_65():
    x0, ws = _stack(lambda g: init.xavier_uniform_(np.empty((256, 256)), gain=5 / 3,
                                                   generator=g))
    std = init.depth_profile(x0, ws, "nn.Tanh")["std"][1::2]   # the Tanh outputs
    assert 0.6 < np.mean(std[50:]) < 0.7 and np.all(np.abs(std[50:] - 0.65) < 0.05)


def test_depth_relu_kaiming_stays_of_order_one():
    x0, ws = _stack(lambda g: init.kaiming_normal_(np.empty((256, 256)), nonlinearity="relu",
                                                   generator=g))
    std = init.depth_profile(x0, ws, "nn.ReLU")["std"][1::2]
    assert np.all((std > 0.1) & (std < 10))


def test_depth_twins_measure_chaos():
    """tanh at gain 5/3 is chaotic: a perturbation of 1e-6 grows to a visible std change; the
    norm-preserving linear stack keeps it at the size of the perturbation."""
    kw = dict(rel_noise=1e-6, twins=2, generator=rng(3))
    x0, ws = _stack(lambda g: init.xavier_uniform_(np.empty((256, 256)), gain=5 / 3,
                                                   generator=g))
    chaotic = init.depth_profile(x0, ws, "nn.Tanh", **kw)
    x0, ws = _stack(lambda g: init.normal_(np.empty((256, 256)), std=1 / 16, generator=g))
    linear = init.depth_profile(x0, ws, **kw)
    assert chaotic["twin_dev"][-1] / chaotic["std"][-1] > 1e-3
    assert linear["twin_dev"][-1] / linear["std"][-1] < 1e-5
    assert np.all(linear["scale"] >= linear["amax"])
