"""Activations: every torch.nn activation layer, its constructor options, kinks, large inputs,
NaN/Inf propagation and invalid arguments.

Pointwise ops (ELU ... Threshold) use the ``elementwise`` rule; GLU too (one sigmoid and one
product per output). The softmax family (Softmax, Softmin, LogSoftmax, Softmax2d) sums n terms
along its dim: ``reduction(n)``. PReLU's weight gradient sums its terms over every axis but the
channel: ``reduction(n)`` with n the number of terms per weight.

Edge data, per op:
- kinks: the exact points where the derivative jumps (ReLU at 0, Hardtanh at its bounds, the
  shrink thresholds, Hardsigmoid/Hardswish at +-3, Softplus at beta x == threshold), written as
  dyadic values so they are exact in every dtype; the gradient there is the one documented in
  ``reference.functional.activation`` (torch's comparison structure);
- large magnitudes: ``large`` N(0, 1e3^2) data (saturation, overflow of exp-based formulas),
  ``tails`` fixed magnitudes up to 30720, ``wide_uniform`` U(-12, 12); for the softmax family
  rows holding +-1e4 and +-3e4 (naive exp overflows in float32 and float16; the maximum must be
  subtracted), rows with gaps of 8..64 (the rounding of the exp argument x - max is what limits
  any implementation: the reference's error scales account for it) and, in float32/64 only,
  +-1e30;
- NaN/Inf policy (checked on every op): the output is the documented formula in IEEE
  arithmetic, so NaN propagates through every forward; the values at +-inf are listed in each
  reference docstring (``-inf * 0 = nan`` for GELU/SiLU/Mish/Hardswish at -inf, ``inf/inf =
  nan`` for Softsign at +-inf; a softmax row holding nan or +inf, or only -inf, is all nan).
  ``nan_inf`` is a 6-element tensor (torch's scalar loop); ``nan_inf_vec`` is 72 elements with
  the non-finite values at varied positions (torch's vectorised loop body), since torch's CPU
  kernels have a scalar and a vector path that may disagree. The gradient at NaN inputs is
  checked for every op except those in ``reference.functional.NAN_GRADIENT_UNSPECIFIED``: for
  them torch's vectorised kernel and its scalar tail give different gradients at a NaN input
  (size- and position-dependent), so their NaN cases check the forward only, and a separate
  ``inf_vec`` case checks the gradient at +-inf.
- ``inplace=True`` cases are forward-only: torch refuses an in-place op on a leaf tensor that
  requires grad, and the adapter passes the inputs as leaves (the in-place forward itself is
  what is checked).

RReLU in training is random: the harness reads the slopes back (``extra={"sampler":
"rrelu"}``), checks output and gradient exactly against the reference run with them, and tests
the slopes against U(lower, upper) with Kolmogorov-Smirnov at alpha = 1e-6 per case
(harness/random_ops.py). The ``stat`` cases have 8192 elements, about 4096 negative ones, so the
KS critical distance at alpha = 1e-6 is about sqrt(ln(2/alpha) / (2 * 4096)) = 0.042: a slope
distribution with a bound wrong by 15% of the interval (e.g. U(1/8, 0.3) instead of U(1/8, 1/3),
D = 0.16) or a fixed slope is rejected with certainty, and any slope outside the bounds fails
directly. Training cases use inputs with no exact zeros (the slope is unobservable at 0).

Documented torch deviations (backends/expectations/torch/activation.toml): Hardsigmoid's float64
gradient uses a float32-rounded 1/6; GELU('none') gives nan at +inf in float32/bfloat16 tensors
of more than one element.
"""

import math

from hypothesis import given, strategies as st

from harness.cases import Case, cases_from, generated, Input, content_label
from harness.tolerance import elementwise, reduction

NAN, INF = math.nan, math.inf

#: ops of reference.functional.NAN_GRADIENT_UNSPECIFIED, by module name
NAN_GRAD_UNSPECIFIED = {"nn.Hardtanh", "nn.ReLU6", "nn.Hardshrink", "nn.Softshrink", "nn.ELU",
                        "nn.SELU", "nn.CELU", "nn.Hardswish"}

SMALL_NONFINITE = [NAN, INF, -INF, 0.0, -1.5, 2.5]


def _vec_nonfinite() -> list[float]:
    """72 values: dyadic finite values with nan, +inf, -inf at scattered positions, so they fall
    in the vectorised body of torch's CPU loops (and some in the tail)."""
    finite = [-2.5, -0.75, 0.5, 1.25, -4.0, 3.5, 0.125, -0.375, 7.0, -6.5, 0.0, 2.0]
    vals = [finite[i % len(finite)] * (1 + (i // len(finite)) / 8) for i in range(72)]
    for i in (3, 17, 40, 65):
        vals[i] = NAN
    for i in (9, 50, 71):
        vals[i] = INF
    for i in (22, 33, 70):
        vals[i] = -INF
    return vals


VEC_NONFINITE = _vec_nonfinite()
VEC_INF = [v if not math.isnan(v) else 1.5 for v in VEC_NONFINITE]

#: Saturation and exponential tails at fixed magnitudes: up to 60 the tails (exp(-60) ~ 1e-26)
#: are normal float32 numbers, from 800 on they are exactly 0 even in float64. The ``large``
#: cases add random N(0, 1e6) data, whose tails also land in the subnormal ranges (judged with
#: the comparison's underflow floor).
LARGE_TAILS = [-30720.0, -8192.0, -2048.0, -1000.0, -800.0, -60.0, -40.0, -20.0, -7.5, 7.5, 20.0,
               40.0, 60.0, 800.0, 1000.0, 2048.0, 8192.0, 30720.0]


def relu(label: str, shape=(4, 5), kind: str = "normal", value=None) -> Case:
    return Case(op="nn.ReLU", family="activation", label=label, rule=elementwise(),
                inputs=(Input(shape, kind=kind, value=value),))


def act(op: str, label: str, shape=(4, 5), kind: str = "normal", data=None, *, rule=None,
        mode: str = "", backward: bool = True, expect_error: str = "", dtypes=None,
        extra=None, params=None, low: float = 0, high: float = 1, **kwargs) -> Case:
    """One activation case; ``data`` is explicit input data (its shape overrides ``shape``);
    ``kwargs`` are the constructor's (Threshold has one called ``value``)."""
    if data is not None:
        shape = _shape_of(data)
    return Case(op=op, family="activation", label=label, rule=rule or elementwise(), mode=mode,
                kwargs=kwargs, inputs=(Input(shape, kind=kind, value=data, low=low, high=high),),
                backward=backward and not expect_error, expect_error=expect_error,
                dtypes=dtypes, extra=extra or {}, params=params or {})


def _shape_of(value) -> tuple[int, ...]:
    shape = []
    while isinstance(value, (list, tuple)):
        shape.append(len(value))
        value = value[0] if value else None
    return tuple(shape)


# ------------------------------------------------------------------ pointwise ops

#: op -> (option sets, each {label: kwargs}; kink values for the default options or per option)
#: Every constructor option appears in at least one option set.
POINTWISE: dict[str, dict[str, dict]] = {
    "nn.ELU": {"default": {}, "alpha0.5": {"alpha": 0.5}, "alpha2": {"alpha": 2.0}},
    "nn.CELU": {"default": {}, "alpha0.5": {"alpha": 0.5}, "alpha2": {"alpha": 2.0}},
    "nn.SELU": {"default": {}},
    "nn.GELU": {"none": {"approximate": "none"}, "tanh": {"approximate": "tanh"}},
    "nn.Hardshrink": {"default": {}, "lambd1": {"lambd": 1.0}, "lambd0": {"lambd": 0.0},
                      "lambd_neg": {"lambd": -0.5}},
    "nn.Hardsigmoid": {"default": {}},
    "nn.Hardswish": {"default": {}},
    "nn.Hardtanh": {"default": {}, "min_m2_max0.5": {"min_val": -2.0, "max_val": 0.5},
                    "deprecated_names": {"min_value": -0.5, "max_value": 0.25}},
    "nn.LeakyReLU": {"default": {}, "slope0.2": {"negative_slope": 0.2},
                     "slope0": {"negative_slope": 0.0}, "slope_neg": {"negative_slope": -0.5},
                     "slope2": {"negative_slope": 2.0}},
    "nn.LogSigmoid": {"default": {}},
    "nn.Mish": {"default": {}},
    "nn.ReLU6": {"default": {}},
    "nn.Sigmoid": {"default": {}},
    "nn.SiLU": {"default": {}},
    "nn.Softplus": {"default": {}, "beta2": {"beta": 2.0}, "beta0.5_thr5": {"beta": 0.5,
                                                                          "threshold": 5.0},
                    "thr1": {"threshold": 1.0}, "beta_neg": {"beta": -1.0}},
    "nn.Softshrink": {"default": {}, "lambd1": {"lambd": 1.0}, "lambd0": {"lambd": 0.0}},
    "nn.Softsign": {"default": {}},
    "nn.Tanh": {"default": {}},
    "nn.Tanhshrink": {"default": {}},
    "nn.Threshold": {"thr0.25_val20": {"threshold": 0.25, "value": 20.0},
                     "thr_m1_val_m3": {"threshold": -1.0, "value": -3.0}},
}

#: ops with an ``inplace`` constructor option
INPLACE = ("nn.ELU", "nn.CELU", "nn.SELU", "nn.Hardsigmoid", "nn.Hardswish", "nn.Hardtanh",
           "nn.LeakyReLU", "nn.Mish", "nn.ReLU6", "nn.SiLU", "nn.Threshold")


def _kinks(op: str, kw: dict) -> list[float] | None:
    """The input values where op (with kwargs kw) has a kink, with neighbours on both sides."""
    if op in ("nn.ELU", "nn.CELU", "nn.SELU", "nn.LeakyReLU"):
        return [0.0, -0.0, 0.5, -0.5, 1.0, -1.0]
    if op == "nn.Hardtanh":
        lo = kw.get("min_val", kw.get("min_value", -1.0))
        hi = kw.get("max_val", kw.get("max_value", 1.0))
        return [lo, hi, lo - 0.25, hi + 0.25, (lo + hi) / 2, 0.0]
    if op == "nn.ReLU6":
        return [0.0, -0.0, 6.0, 5.5, 6.5, -1.0, 3.0]
    if op in ("nn.Hardsigmoid", "nn.Hardswish"):
        return [-3.0, 3.0, -3.5, 3.5, -2.5, 2.5, 0.0]
    if op in ("nn.Hardshrink", "nn.Softshrink"):
        lam = kw.get("lambd", 0.5)
        return [lam, -lam, lam + 0.25, -lam - 0.25, lam / 2, 0.0, -0.0]
    if op == "nn.Softplus":
        beta, thr = kw.get("beta", 1.0), kw.get("threshold", 20.0)
        at = thr / beta  # beta * x == threshold exactly (dyadic options)
        return [at, at + 0.5 / abs(beta), at - 0.5 / abs(beta), 0.0, -at]
    if op == "nn.Threshold":
        t = kw["threshold"]
        return [t, t + 0.25, t - 0.25, 0.0, -0.0]
    if op == "nn.GELU":
        return [0.0, -0.0, 1.0, -1.0]
    return None


def pointwise_cases(op: str) -> list[Case]:
    cases = []
    options = POINTWISE[op]
    default_label, default_kw = next(iter(options.items()))
    for lab, kw in options.items():
        cases += [
            act(op, f"{lab}_normal", (8, 33), **kw),  # 264 elements: vector body and tail
            act(op, f"{lab}_scalar", (), **kw),
            act(op, f"{lab}_large", (6, 7), kind="large", **kw),
        ]
        kinks = _kinks(op, kw)
        if kinks is not None:
            cases.append(act(op, f"{lab}_kinks", data=kinks, **kw))
    kw = default_kw
    cases += [
        act(op, "rank4", (2, 3, 2, 2), **kw),
        act(op, "with_zeros", (6, 7), kind="with_zeros", **kw),
        act(op, "wide_uniform", (4, 50), kind="uniform", low=-12.0, high=12.0, **kw),
        act(op, "tails", data=LARGE_TAILS, **kw),
    ]
    # NaN/Inf policy: forward for every op; the gradient at nan only where torch specifies it
    nan_grad = op not in NAN_GRAD_UNSPECIFIED
    cases += [act(op, "nan_inf", data=SMALL_NONFINITE, backward=nan_grad, **kw),
              act(op, "nan_inf_vec", data=VEC_NONFINITE, backward=nan_grad, **kw)]
    if not nan_grad:  # the gradient at +-inf is still specified: checked without nan
        cases.append(act(op, "inf_vec", data=VEC_INF, **kw))
    if op in INPLACE:
        cases.append(act(op, "inplace", (8, 33), backward=False, inplace=True, **kw))
    return cases


def error_cases() -> list[Case]:
    return [
        act("nn.Hardtanh", "min_equals_max", min_val=1.0, max_val=1.0,
            expect_error="must be greater than min_val"),
        act("nn.Hardtanh", "min_above_max", min_val=2.0, max_val=-2.0,
            expect_error="must be greater than min_val"),
        act("nn.CELU", "alpha0", alpha=0.0, expect_error="alpha cannot be 0"),
        act("nn.GELU", "bad_approximate", approximate="sigmoid",
            expect_error="approximate argument must be either none or tanh"),
        act("nn.Softshrink", "negative_lambd", lambd=-0.5, expect_error="lambda must be in range"),
    ]


# ------------------------------------------------------------------ PReLU

def prelu(label: str, shape, num_parameters: int = 1, n_terms: int | None = None, **kw) -> Case:
    """n_terms: how many terms each weight's gradient sums (default: all elements per weight)."""
    if n_terms is None:
        n_terms = max(math.prod(shape) // num_parameters, 1)
    return act("nn.PReLU", label, shape, rule=reduction(n_terms), num_parameters=num_parameters,
               **kw)


def prelu_cases() -> list[Case]:
    nan_x = [[NAN, INF, -INF], [0.0, -1.5, 2.5]]
    return [
        prelu("one_2d", (4, 3)),
        prelu("one_1d", (7,)),
        prelu("one_scalar", ()),
        prelu("one_rank4", (2, 3, 2, 2)),
        prelu("c3_2d", (4, 3), 3),
        prelu("c3_3d", (2, 3, 5), 3),
        prelu("c4_4d", (2, 4, 3, 3), 4),
        prelu("c3_5d", (2, 3, 2, 2, 2), 3),
        prelu("c8_long", (16, 8, 40), 8),  # 640 terms per weight
        prelu("init0.1", (4, 3), 3, init=0.1),
        prelu("with_zeros", (6, 3, 4), 3, kind="with_zeros"),
        prelu("large", (4, 3, 5), 3, kind="large"),
        prelu("worked_init_weight", (2, 3), 3,
              data=[[-2.0, 0.0, 4.0], [1.5, -0.5, -1.0]],
              params={"weight": [0.25, -1.0, 2.0]}),
        prelu("nan_inf", (2, 3), 3, data=nan_x),
        prelu("nan_inf_one", (2, 3), 1, data=nan_x),
        prelu("channel_mismatch", (2, 4), 3,
              expect_error="Mismatch of parameter numbers and input channel size"),
        prelu("scalar_input_c3", (), 3, expect_error="Not allow zero-dim input tensor"),
    ]


# ------------------------------------------------------------------ RReLU

def rrelu(label: str, mode: str, shape=(4, 5), kind: str = "normal", data=None, **kw) -> Case:
    # an invalid-argument case raises before any draw: judged as an ordinary module case
    extra = {"sampler": "rrelu"} if mode == "train" and "expect_error" not in kw else {}
    return act("nn.RReLU", label, shape, kind, data, mode=mode, extra=extra, **kw)


def rrelu_cases() -> list[Case]:
    cases = []
    for lab, kw in {"default": {}, "l0.1_u0.3": {"lower": 0.1, "upper": 0.3},
                    "l0_u1": {"lower": 0.0, "upper": 1.0}}.items():
        cases += [rrelu(f"{lab}_stat", "train", (64, 128), **kw),  # 8192 elements, ~4096 slopes
                  rrelu(f"{lab}_normal", "eval", (8, 33), **kw)]
    cases += [
        # lower == upper: a fixed slope in training too (the KS test has nothing to test)
        rrelu("equal_bounds", "train", (16, 16), lower=0.25, upper=0.25),
        rrelu("equal_bounds", "eval", (16, 16), lower=0.25, upper=0.25),
        rrelu("scalar", "eval", ()),
        rrelu("rank4", "train", (2, 3, 2, 2)),
        rrelu("kink_zeros", "eval", (6, 7), kind="with_zeros"),
        rrelu("large", "train", (32, 32), kind="large"),
        rrelu("large", "eval", (6, 7), kind="large"),
        rrelu("nan_inf", "eval", data=SMALL_NONFINITE),
        rrelu("nan_inf_vec", "eval", data=VEC_NONFINITE),
        # training: the slope at -inf cannot be read back (y / x = inf / inf), so the gradient
        # there is unknown to the checker: forward only
        rrelu("nan_inf_vec", "train", data=VEC_NONFINITE, backward=False),
        rrelu("inplace", "train", (16, 16), backward=False, inplace=True),
        rrelu("inplace", "eval", (8, 33), backward=False, inplace=True),
        rrelu("lower_above_upper", "train", lower=0.5, upper=0.1,
              expect_error="Lower bound should be less than or equal to the upper bound"),
        rrelu("lower_above_upper", "eval", lower=0.5, upper=0.1,
              expect_error="Lower bound should be less than or equal to the upper bound"),
    ]
    return cases


# ------------------------------------------------------------------ GLU

def glu_cases() -> list[Case]:
    return [
        act("nn.GLU", "default_2d", (4, 6)),
        act("nn.GLU", "dim0", (4, 3), dim=0),
        act("nn.GLU", "dim1_3d", (2, 4, 3), dim=1),
        act("nn.GLU", "dim_neg2", (3, 2, 5), dim=-2),
        act("nn.GLU", "dim_last_1d", (8,)),
        act("nn.GLU", "long", (4, 130)),
        act("nn.GLU", "large", (4, 6), kind="large"),
        # a the first half, b the reversed data: sigmoid(b) saturates and has exponential tails
        act("nn.GLU", "tails", data=[LARGE_TAILS, LARGE_TAILS[::-1]], dim=0),
        act("nn.GLU", "wide_uniform", (4, 60), kind="uniform", low=-20.0, high=20.0),
        act("nn.GLU", "nan_inf", data=[[NAN, 1.0, INF, -INF, 0.5, -0.5],
                                        [1.0, NAN, 2.0, 0.5, INF, -INF]]),
        act("nn.GLU", "odd_size", (4, 5), expect_error="Halving dimension must be even"),
        act("nn.GLU", "scalar", (), expect_error="glu does not support scalars"),
        act("nn.GLU", "dim_out_of_range", (4, 6), dim=2, expect_error="Dimension out of range"),
    ]


# ------------------------------------------------------------------ softmax family

SOFTMAX_OPS = ("nn.Softmax", "nn.Softmin", "nn.LogSoftmax")

#: rows: finite with -inf entries (probability 0, log-probability -inf), with +inf, with nan,
#: only -inf (the last three rows are all nan)
NONFINITE_ROWS = [[0.0, -INF, 1.0, 2.0], [-INF, 0.5, -INF, -1.0], [INF, 0.0, 1.0, 2.0],
                  [NAN, 0.0, 1.0, 2.0], [-INF, -INF, -INF, -INF]]
#: huge logits: exp overflows unless the maximum is subtracted (float16 max is 65504)
BIG_ROWS = [[1e4, -1e4, 0.0, 9999.0], [-1e4, -1e4, -9998.0, -1e4], [3e4, 3e4, 3e4, 3e4]]
#: large logits with gaps <= 64 (the probability is a normal float32: the exp-argument rounding
#: is what is tested) or >= 1024 (exactly 0 in float64 too), and ties at the maximum
LARGE_ROWS = [[1024.0, 1000.0, 960.0, -1024.0, -30720.0], [-2048.0, -2056.0, -2080.0, -4096.0,
                                                            -8192.0],
              [30720.0, -30720.0, 30720.0, 28672.0, 0.0], [-1000.0, -1000.0, -1000.0, -1000.0,
                                                            -1000.0]]
HUGE_ROWS = [[1e30, -1e30, 0.0, 1e30], [-1e30, -1e30, -1e30, -2e30]]


def smax(op: str, label: str, shape, dim=None, **kw) -> Case:
    data = kw.get("data")
    if data is not None:
        shape = _shape_of(data)
    if len(shape) == 0:
        n = 1
    elif dim is None:
        n = shape[0 if len(shape) in (0, 1, 3) else 1]
    else:
        n = shape[dim] if -len(shape) <= dim < len(shape) else 1
    kw.setdefault("rule", reduction(n))
    return act(op, label, shape, dim=dim, **kw)


def softmax_cases(op: str) -> list[Case]:
    cases = []
    # every dim choice of a 3-D input, and the implicit (dim=None) choice for every rank
    for d in (0, 1, 2, -1, -2, -3):
        cases.append(smax(op, f"dim{d}_3d".replace("-", "m"), (3, 4, 5), d))
    for shape in ((), (7,), (4, 6), (3, 4, 5), (2, 3, 4, 2)):
        cases.append(smax(op, f"dimNone_rank{len(shape)}", shape, None))
    cases += [
        smax(op, "scalar_dim0", (), 0),
        smax(op, "scalar_dim_m1", (), -1),
        smax(op, "long_last", (3, 150), -1),        # vectorised along the reduced dim
        smax(op, "long_first", (150, 3), 0),        # reduced dim is strided
        smax(op, "dim1_4d", (2, 5, 3, 4), 1),
        smax(op, "single_element_dim", (4, 1), 1),  # softmax of one value is 1
        smax(op, "large", (4, 20), 1, kind="large"),
        smax(op, "large_rows", None, 1, data=LARGE_ROWS),
        smax(op, "large_rows_dim0", None, 0, data=[list(r) for r in zip(*LARGE_ROWS)]),
        smax(op, "big_rows", None, 1, data=BIG_ROWS),
        smax(op, "big_rows_dim0", None, 0, data=[list(r) for r in zip(*BIG_ROWS)]),
        smax(op, "huge_rows", None, 1, data=HUGE_ROWS, dtypes=("float32", "float64")),
        smax(op, "nan_inf_rows", None, 1, data=NONFINITE_ROWS),
        smax(op, "nan_inf_rows_dim0", None, 0, data=[list(r) for r in zip(*NONFINITE_ROWS)]),
        smax(op, "ties", None, 1, data=[[2.0, 2.0, 2.0], [0.0, 0.0, -1.0]]),
        smax(op, "dim_out_of_range", (2, 3, 4), 3, expect_error="Dimension out of range"),
        smax(op, "dim_out_of_range_neg", (2, 3), -3, expect_error="Dimension out of range"),
    ]
    return cases


def softmax2d(label: str, shape=(2, 3, 4, 5), **kw) -> Case:
    data = kw.get("data")
    if data is not None:
        shape = _shape_of(data)
    n = shape[-3] if len(shape) >= 3 else 1
    return act("nn.Softmax2d", label, shape, rule=reduction(n), **kw)


def softmax2d_cases() -> list[Case]:
    return [
        softmax2d("batched"),
        softmax2d("unbatched", (3, 4, 5)),
        softmax2d("many_channels", (2, 40, 3, 3)),
        softmax2d("large", (2, 5, 3, 3), kind="large"),
        softmax2d("large_rows", data=[[[[v] for v in r] for r in zip(*LARGE_ROWS)]]),
        softmax2d("big_values", data=[[[[1e4, -1e4]], [[-1e4, 1e4]], [[0.0, 9999.0]]]]),
        softmax2d("nan_inf", data=[[[[0.0, NAN, INF]], [[-INF, 1.0, 0.0]],
                                     [[1.0, 2.0, 3.0]]]]),
        softmax2d("rank2", (3, 4), expect_error="expected input to be 3D or 4D"),
        softmax2d("rank5", (2, 3, 4, 5, 2), expect_error="expected input to be 3D or 4D"),
    ]


# ------------------------------------------------------------------ catalog

def curated() -> list[Case]:
    cases = [
        relu("normal"),
        relu("kink_zeros", (6, 7), kind="with_zeros"),  # gradient at exactly 0 must be 0
        relu("large", (3, 8), kind="large"),
        relu("scalar", ()),
        relu("rank4", (2, 3, 2, 2)),
        relu("nan_inf", (6,), value=[NAN, INF, -INF, 0.0, -1.5, 2.5]),
        relu("nan_inf_vec", (72,), value=VEC_NONFINITE),
        relu("vec", (8, 33)),
        act("nn.ReLU", "inplace", (8, 33), backward=False, inplace=True),
    ]
    for op in POINTWISE:
        cases += pointwise_cases(op)
    cases += error_cases() + prelu_cases() + rrelu_cases() + glu_cases()
    for op in SOFTMAX_OPS:
        cases += softmax_cases(op)
    cases += softmax2d_cases()
    return cases


@cases_from(curated)
def test_activation(case, backend, conform):
    conform(case, backend)


@st.composite
def relu_cases(draw, dtype: str) -> Case:
    shape = tuple(draw(st.lists(st.integers(1, 7), min_size=0, max_size=4)))
    kind = draw(st.sampled_from(["normal", "with_zeros", "large"]))
    return relu(content_label("h", shape=shape, kind=kind), shape, kind).with_dtype(dtype)


@generated()
@given(data=st.data())
def test_activation_generated(data, dtype, backend, conform):
    conform(data.draw(relu_cases(dtype)), backend, generated=True)


@st.composite
def pointwise_generated(draw, dtype: str) -> Case:
    """Any pointwise op with any of its option sets, over shapes and data kinds.

    Not Hardsigmoid in float64: its gradient there is a documented deviation (the curated cases
    carry it), and a generated draw with no input inside (-3, 3) would pass and flag the entry
    stale."""
    ops = sorted(op for op in POINTWISE if not (dtype == "float64" and op == "nn.Hardsigmoid"))
    op = draw(st.sampled_from(ops))
    kw = draw(st.sampled_from(list(POINTWISE[op].values())))
    shape = tuple(draw(st.lists(st.integers(1, 9), min_size=0, max_size=4)))
    kind = draw(st.sampled_from(["normal", "with_zeros", "large", "wide"]))
    label = content_label("h", op=op, shape=shape, kind=kind, **kw)
    bounds = {"kind": "uniform", "low": -30.0, "high": 30.0} if kind == "wide" else {"kind": kind}
    return act(op, label, shape, **bounds, **kw).with_dtype(dtype)


@generated()
@given(data=st.data())
def test_pointwise_generated(data, dtype, backend, conform):
    conform(data.draw(pointwise_generated(dtype)), backend, generated=True)


@st.composite
def structured_generated(draw, dtype: str) -> Case:
    """Softmax family over ranks and dims, GLU over dims, PReLU over shapes."""
    which = draw(st.sampled_from(SOFTMAX_OPS + ("nn.GLU", "nn.PReLU")))
    shape = tuple(draw(st.lists(st.integers(1, 6), min_size=1, max_size=4)))
    kind = draw(st.sampled_from(["normal", "large", "wide"]))  # wide: uniform +-30
    bounds = {"kind": "uniform", "low": -30.0, "high": 30.0} if kind == "wide" else {"kind": kind}
    if which in SOFTMAX_OPS:
        dim = draw(st.integers(-len(shape), len(shape) - 1))
        label = content_label("h", shape=shape, kind=kind, dim=dim)
        case = smax(which, label, shape, dim, **bounds)
    elif which == "nn.GLU":
        # no 'large' data: sigmoid(b) of |b| ~ 1e3 underflows inside torch's kernel before the
        # multiplication by a brings it back into the normal range (a flush-to-zero of an
        # intermediate, which the output's tolerance cannot see); the curated 'large' GLU
        # case keeps |b| where sigmoid stays normal
        if kind == "large":
            kind, bounds = "wide", {"kind": "uniform", "low": -30.0, "high": 30.0}
        dim = draw(st.integers(-len(shape), len(shape) - 1))
        shape = tuple(2 * s if i == dim % len(shape) else s for i, s in enumerate(shape))
        label = content_label("h", shape=shape, kind=kind, dim=dim)
        case = act(which, label, shape, dim=dim, **bounds)
    else:
        per_channel = len(shape) >= 2 and draw(st.booleans())
        c = shape[1] if per_channel else 1
        label = content_label("h", shape=shape, kind=kind, c=c)
        case = prelu(label, shape, c, **bounds)
    return case.with_dtype(dtype)


@generated()
@given(data=st.data())
def test_structured_generated(data, dtype, backend, conform):
    conform(data.draw(structured_generated(dtype)), backend, generated=True)
