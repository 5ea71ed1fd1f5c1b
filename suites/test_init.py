"""Initializers: every torch.nn.init function and the pure helpers, judged on two levels.

Exact: ``calculate_gain`` for every nonlinearity it accepts and its errors, the fans of 2-D and
conv 3/4/5-D tensors and the error below 2 dimensions (``_calculate_fan_in_and_fan_out``, a
value op), the values of constant_/ones_/zeros_/eye_/dirac_, orthogonality, the zeros per
column of sparse_, the same seed twice giving identical tensors. Statistical: every random
tensor has >= 16384 elements, so that a 10% error in the standard deviation (a wrong gain or
fan) or a missing sqrt(3) in a uniform bound is rejected with near certainty at the 1e-6
per-test false-alarm rate (tests/test_statistics.py, docs/statistics.md).

Module default initializations are in suites/test_default_init.py, the 100-layer depth
scenarios in suites/test_init_scenarios.py.
"""

import math

from hypothesis import given, strategies as st

from harness.cases import Case, cases_from, generated, content_label
from harness.tolerance import Rule, elementwise, exact

STAT = Rule("statistical", 0.0)


def init(name: str, label: str, shape: tuple[int, ...], **kwargs) -> Case:
    expect_error = kwargs.pop("expect_error", "")
    extra = {"shape": shape}
    if "check_same_seed" in kwargs:
        extra["check_same_seed"] = kwargs.pop("check_same_seed")
    return Case(op=f"nn.init.{name}", family="init", label=label, rule=STAT, kwargs=kwargs,
                extra=extra, expect_error=expect_error)


def kaiming(label: str, shape: tuple[int, ...], **kwargs) -> Case:
    return init("kaiming_normal_", label, shape, **kwargs)


def gain(label: str, nonlinearity, param=None, expect_error: str = "") -> Case:
    """calculate_gain returns a Python number, whatever the dtype: float64 cases only, within
    the elementwise rule of float64 (a correctly rounded sqrt/division)."""
    kwargs = {"nonlinearity": nonlinearity} if param is None else \
        {"nonlinearity": nonlinearity, "param": param}
    return Case(op="nn.init.calculate_gain", family="init", label=label, rule=elementwise(),
                kwargs=kwargs, dtypes=("float64",), expect_error=expect_error)


def fans(label: str, shape: tuple[int, ...], expect_error: str = "") -> Case:
    """(fan_in, fan_out) are integers: exact, float64 cases only."""
    return Case(op="nn.init._calculate_fan_in_and_fan_out", family="init", label=label,
                rule=exact(), extra={"shape": shape}, dtypes=("float64",),
                expect_error=expect_error)


FAN_ERROR = "fewer than 2 dimensions"


def kaiming_normal_cases() -> list[Case]:
    return [  # the original labels, unchanged
        kaiming("fan_in_256x128", (256, 128)),
        kaiming("fan_out_256x128", (256, 128), mode="fan_out"),
        kaiming("relu_fan_in", (128, 256), nonlinearity="relu"),
        kaiming("leaky_a0.2_fan_out", (128, 256), a=0.2, mode="fan_out"),
        kaiming("conv2d_fan_in", (64, 32, 3, 3)),
        kaiming("conv2d_fan_out", (64, 32, 3, 3), mode="fan_out"),
        kaiming("conv3d_tanh", (16, 8, 3, 3, 3), nonlinearity="tanh", mode="fan_out"),
        kaiming("conv1d_linear", (128, 64, 3), nonlinearity="linear"),
        kaiming("one_dim", (10,), expect_error="fewer than 2 dimensions"),
        kaiming("bad_mode", (4, 4), mode="fan_avg", expect_error="not supported"),
        kaiming("bad_nonlinearity", (4, 4), nonlinearity="swish",
                expect_error="Unsupported nonlinearity"),
        # added
        kaiming("selu_fan_in", (256, 128), nonlinearity="selu"),
        kaiming("conv5d_fan_out_relu", (8, 4, 3, 5, 7), nonlinearity="relu", mode="fan_out"),
        kaiming("mode_upper_case", (128, 256), mode="FAN_OUT"),
        kaiming("zero_element", (0, 16)),
    ]


def gain_cases() -> list[Case]:
    names = ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
             "conv_transpose3d", "sigmoid", "tanh", "relu", "leaky_relu", "selu"]
    return [gain(n, n) for n in names] + [
        gain("leaky_relu_param0.2", "leaky_relu", 0.2),
        gain("leaky_relu_param_int0", "leaky_relu", 0),
        gain("leaky_relu_param_int3", "leaky_relu", 3),
        gain("leaky_relu_param_neg0.5", "leaky_relu", -0.5),
        gain("tanh_param_ignored", "tanh", 0.3),
        gain("unknown_swish", "swish", expect_error="Unsupported nonlinearity"),
        gain("unknown_gelu", "gelu", expect_error="Unsupported nonlinearity"),
        gain("bad_param_str", "leaky_relu", "0.2", expect_error="not a valid number"),
        gain("bad_param_bool", "leaky_relu", True, expect_error="not a valid number"),
    ]


def fan_cases() -> list[Case]:
    return [
        fans("linear_64x32", (64, 32)),
        fans("conv1d_16x8x5", (16, 8, 5)),
        fans("conv2d_64x32x3x3", (64, 32, 3, 3)),
        fans("conv3d_8x4x3x5x7", (8, 4, 3, 5, 7)),
        fans("zero_rows", (0, 7)),
        fans("one_dim", (10,), expect_error=FAN_ERROR),
        fans("scalar", (), expect_error=FAN_ERROR),
    ]


def plain_cases() -> list[Case]:
    big = (128, 128)
    return [
        init("uniform_", "default_01", big),
        init("uniform_", "a_neg0.3_b0.7", (256, 128), a=-0.3, b=0.7),
        init("uniform_", "wide_pm100", big, a=-100.0, b=100.0),
        init("uniform_", "equal_bounds", (8, 8), a=0.5, b=0.5),
        init("uniform_", "reversed", (4, 4), a=1.0, b=0.0, expect_error="[from, to) range"),
        init("normal_", "default", big),
        init("normal_", "mean0.5_std2", (256, 128), mean=0.5, std=2.0),
        init("normal_", "std0", (8, 8), mean=0.25, std=0.0),
        init("normal_", "negative_std", (4, 4), std=-1.0, expect_error="std >= 0.0"),
        init("trunc_normal_", "default_pm2", big),
        init("trunc_normal_", "vit_std0.02", (256, 128), std=0.02),
        init("trunc_normal_", "mean1_std0.5_window", big, mean=1.0, std=0.5, a=-0.2, b=0.3),
        init("trunc_normal_", "half_normal", big, a=0.0, b=3.0),
        init("trunc_normal_", "tail_2_3", big, a=2.0, b=3.0),
        init("trunc_normal_", "asymmetric_std3", big, mean=-1.0, std=3.0, a=-2.0, b=5.0),
        init("trunc_normal_", "reversed", (4, 4), a=1.0, b=0.0, expect_error="[from, to) range"),
        init("trunc_normal_", "std0", (4, 4), std=0.0, expect_error="std"),
        init("constant_", "val0.3", (128,), val=0.3),
        init("constant_", "val_neg2_2d", (4, 5), val=-2.0),
        init("constant_", "int_val3", (3, 2, 2), val=3),
        init("ones_", "3d", (3, 4, 5)),
        init("zeros_", "1d", (7,)),
        init("eye_", "square", (5, 5)),
        init("eye_", "tall", (6, 3)),
        init("eye_", "wide", (3, 6)),
        init("eye_", "three_dim", (3, 3, 3), expect_error="Only tensors with 2 dimensions"),
        init("eye_", "one_dim", (4,), expect_error="Only tensors with 2 dimensions"),
        init("dirac_", "conv1d", (4, 4, 3)),
        init("dirac_", "conv2d_out_gt_in", (6, 4, 3, 3)),
        init("dirac_", "conv2d_in_gt_out", (3, 6, 3, 3)),
        init("dirac_", "conv2d_even_kernel", (4, 4, 4, 2)),
        init("dirac_", "conv3d", (4, 4, 3, 3, 3)),
        init("dirac_", "groups2", (8, 4, 3, 3), groups=2),
        init("dirac_", "groups3_out_gt_in", (6, 1, 5), groups=3),
        init("dirac_", "groups2_conv3d", (4, 3, 3, 1, 3), groups=2),
        init("dirac_", "two_dim", (4, 4), expect_error="Only tensors with 3, 4, or 5 dimensions"),
        init("dirac_", "groups_not_dividing", (6, 4, 3), groups=4,
             expect_error="dim 0 must be divisible by groups"),
    ]


def fan_based_cases() -> list[Case]:
    tanh = 5.0 / 3
    return [
        init("xavier_uniform_", "256x128", (256, 128)),
        init("xavier_uniform_", "tanh_gain_128x256", (128, 256), gain=tanh),
        init("xavier_uniform_", "conv1d", (128, 64, 3)),
        init("xavier_uniform_", "conv2d", (64, 32, 3, 3)),
        init("xavier_uniform_", "conv3d", (32, 24, 3, 3, 3)),
        init("xavier_uniform_", "one_dim", (10,), expect_error=FAN_ERROR),
        init("xavier_normal_", "256x128", (256, 128)),
        init("xavier_normal_", "relu_gain_128x256", (128, 256), gain=math.sqrt(2.0)),
        init("xavier_normal_", "conv2d", (64, 32, 3, 3)),
        init("xavier_normal_", "conv3d_gain0.5", (32, 24, 3, 3, 3), gain=0.5),
        init("xavier_normal_", "scalar", (), expect_error=FAN_ERROR),
        init("kaiming_uniform_", "default_256x128", (256, 128)),
        init("kaiming_uniform_", "a_sqrt5_linear_default", (128, 256), a=math.sqrt(5)),
        init("kaiming_uniform_", "fan_out_256x128", (256, 128), mode="fan_out"),
        init("kaiming_uniform_", "relu_conv2d_fan_out", (64, 32, 3, 3), mode="fan_out",
             nonlinearity="relu"),
        init("kaiming_uniform_", "conv1d_leaky0.2", (128, 64, 3), a=0.2),
        init("kaiming_uniform_", "conv3d_selu", (32, 24, 3, 3, 3), nonlinearity="selu"),
        init("kaiming_uniform_", "sigmoid_fan_in", (128, 256), nonlinearity="sigmoid"),
        init("kaiming_uniform_", "one_dim", (10,), expect_error=FAN_ERROR),
        init("kaiming_uniform_", "bad_mode", (4, 4), mode="fan_avg",
             expect_error="not supported"),
        init("kaiming_uniform_", "bad_nonlinearity", (4, 4), nonlinearity="gelu",
             expect_error="Unsupported nonlinearity"),
        init("kaiming_uniform_", "zero_element", (16, 0)),
    ]


def structured_cases() -> list[Case]:
    """sparse_ draws its zero positions from the global generator whatever ``generator`` says
    in torch 2.13 (documented deviation): its reproducibility is judged by its own case
    ``same_seed`` only, so that its structural and statistical checks stay live."""
    def sparse(label, shape, **kw):
        kw.setdefault("check_same_seed", False)
        return init("sparse_", label, shape, **kw)
    return [
        init("orthogonal_", "square_128", (128, 128)),
        init("orthogonal_", "tall_512x64", (512, 64)),
        init("orthogonal_", "wide_64x512", (64, 512)),
        init("orthogonal_", "gain2_256x64", (256, 64), gain=2.0),
        init("orthogonal_", "conv2d_flattened_wide", (64, 32, 3, 3)),
        init("orthogonal_", "three_dim_tall", (512, 8, 4), gain=0.5),
        init("orthogonal_", "one_dim", (10,), expect_error="2 or more dimensions"),
        sparse("sparsity0.1_256x128", (256, 128), sparsity=0.1),
        sparse("sparsity0.5_std0.2", (256, 128), sparsity=0.5, std=0.2),
        sparse("rows100_sparsity0.07_ceil8", (100, 192), sparsity=0.07),
        sparse("sparsity0", (128, 128), sparsity=0.0),
        sparse("sparsity1_all_zero", (16, 8), sparsity=1.0),
        sparse("same_seed", (128, 256), sparsity=0.25, check_same_seed=True),
        sparse("three_dim", (4, 4, 4), sparsity=0.1,
               expect_error="Only tensors with 2 dimensions"),
    ]


def curated() -> list[Case]:
    return (kaiming_normal_cases() + gain_cases() + fan_cases() + plain_cases()
            + fan_based_cases() + structured_cases())


@cases_from(curated)
def test_init(case, backend, conform):
    conform(case, backend)


@st.composite
def kaiming_cases(draw, dtype: str) -> Case:
    out_f = draw(st.sampled_from([64, 128, 256]))
    in_f = draw(st.sampled_from([64, 128, 256]))
    kw = dict(mode=draw(st.sampled_from(["fan_in", "fan_out"])),
              nonlinearity=draw(st.sampled_from(["relu", "leaky_relu", "tanh", "linear"])))
    shape = (out_f, in_f)
    return kaiming(content_label("h", shape=shape, **kw), shape, **kw).with_dtype(dtype)


@generated()
@given(data=st.data())
def test_init_generated(data, dtype, backend, conform):
    conform(data.draw(kaiming_cases(dtype)), backend, generated=True)


@st.composite
def initializer_cases(draw, dtype: str) -> Case:
    """Any random initializer on a 2-D to 5-D shape of >= 16384 elements, with its options."""
    name = draw(st.sampled_from(["uniform_", "normal_", "trunc_normal_", "xavier_uniform_",
                                 "xavier_normal_", "kaiming_uniform_", "orthogonal_"]))
    ndim = draw(st.integers(2, 5))
    out_c = draw(st.sampled_from([16, 32, 64, 128]))
    in_c = draw(st.sampled_from([8, 16, 32, 64]))
    kernel = tuple(draw(st.sampled_from([1, 2, 3, 5])) for _ in range(ndim - 2))
    shape = (out_c, in_c) + kernel
    while math.prod(shape) < 16384:
        shape = (shape[0] * 2,) + shape[1:]
    kw: dict = {}
    if name == "uniform_":
        a = draw(st.sampled_from([-2.0, -0.5, 0.0]))
        kw = dict(a=a, b=a + draw(st.sampled_from([0.1, 1.0, 3.0])))
    elif name == "normal_":
        kw = dict(mean=draw(st.sampled_from([0.0, -1.0, 2.5])),
                  std=draw(st.sampled_from([0.02, 1.0, 3.0])))
    elif name == "trunc_normal_":
        # absolute bounds, drawn within 2 std of the mean: torch warns that the distribution
        # "may be incorrect" further out (_no_grad_trunc_normal_), so that is not its contract
        mean = draw(st.sampled_from([0.0, 0.5, -1.0]))
        std = draw(st.sampled_from([0.02, 0.5, 1.0, 2.0]))
        a = mean + std * draw(st.sampled_from([-2.0, -1.0, 0.0, 1.5]))
        kw = dict(mean=mean, std=std, a=a, b=a + std * draw(st.sampled_from([0.5, 2.0, 4.0])))
    elif name in ("xavier_uniform_", "xavier_normal_", "orthogonal_"):
        kw = dict(gain=draw(st.sampled_from([1.0, 5.0 / 3, math.sqrt(2.0), 0.75])))
    else:
        kw = dict(a=draw(st.sampled_from([0.0, 0.01, math.sqrt(5)])),
                  mode=draw(st.sampled_from(["fan_in", "fan_out"])),
                  nonlinearity=draw(st.sampled_from(["leaky_relu", "relu", "tanh", "selu"])))
    label = content_label("g", name=name, shape=shape, **kw)
    return init(name, label, shape, **kw).with_dtype(dtype)


@generated()
@given(data=st.data())
def test_initializers_generated(data, dtype, backend, conform):
    conform(data.draw(initializer_cases(dtype)), backend, generated=True)
