"""Normalization: BatchNorm1d/2d/3d, InstanceNorm1d/2d/3d, their Lazy variants, LayerNorm,
GroupNorm, RMSNorm, LocalResponseNorm and CrossMapLRN2d, in train and eval: outputs, gradients
and (for the running-statistics layers) running_mean, running_var and num_batches_tracked after
every step.

Rules. Mean/variance normalizations use ``normalization(n)`` with n the longest reduction any
output or gradient performs: the statistics' size (N * spatial for BatchNorm, spatial for
InstanceNorm, C/G * spatial for GroupNorm, prod(normalized_shape) for LayerNorm/RMSNorm) or the
parameter gradients' sums (over every axis but the channel, or over the leading axes). The
window norms (LocalResponseNorm, CrossMapLRN2d) sum ``size`` squares per output and per input
gradient, then apply a power and a division: ``reduction(size)``.

BatchNorm semantics checked (torch.nn.BatchNorm1d docs, torch/nn/modules/batchnorm.py):
the output is normalised with the biased batch variance while running_var is updated with the
unbiased one; momentum=None is a cumulative moving average (factor 1 / num_batches_tracked);
eval uses the running statistics; track_running_stats=False uses batch statistics in eval too.
Eval cases start from random running statistics (``random_buffers``) so that using the wrong
statistics cannot pass.

Running statistics are judged without an error scale (the module protocol's ``Scales`` has no
entry for buffers), i.e. purely relative, and a batch mean of zero-mean data is formed by
cancellation: its relative error is unbounded. So training cases of layers that update running
statistics draw ``positive`` data (U(0.1, 2), channel means away from zero) unless the case says
otherwise; outputs and gradients have their scales and are judged as everywhere else.

The Lazy variants infer num_features from dim 1 of the first input (parameter, gradient and
buffer shapes are compared), then must give the numbers of their eager twins; the lazy
InstanceNorms default to affine=True, track_running_stats=True (torch's _LazyNormBase), and an
unbatched lazy InstanceNorm input reads dim 1 too (an error with affine when C != L).

CrossMapLRN2d: torch's hand-written backward (torch/nn/modules/_functions.py,
CrossMapLRN2d.backward) sums over a channel window shifted by one from the forward's, so its
input gradient is not the VJP of its forward (the reference's backward is checked against
finite differences); the ``*_bwd`` cases are a documented deviation
(backends/expectations/torch/normalization.toml), the forward-only cases must pass.

SyncBatchNorm needs a process group: out of scope (docs/coverage.md).
"""

import math

from hypothesis import given, strategies as st

from harness.cases import DTYPE, Case, cases_from, generated, Input, content_label
from harness.tolerance import normalization, reduction


def bn1d(label: str, c: int, shape: tuple[int, ...], mode: str = "train", steps: int = 1,
         **kwargs) -> Case:
    extra = kwargs.pop("extra", {})
    tracked = mode == "train" and kwargs.get("track_running_stats", True)
    inputs = kwargs.pop("inputs", (Input(shape, kind="positive" if tracked else "normal"),))
    expect_error = kwargs.pop("expect_error", "")
    n = math.prod(shape) // c
    return Case(op="nn.BatchNorm1d", family="module", label=label, mode=mode, steps=steps,
                rule=normalization(n), kwargs={"num_features": c, **kwargs}, inputs=inputs,
                extra=extra, expect_error=expect_error, backward=not expect_error)


#: The worked example: feature i is the constant i + 1 in a (3, 5, 1) batch.
CONSTANT_FEATURES = [[[i + 1.0] for i in range(5)] for _ in range(3)]


def curated() -> list[Case]:
    cases = []
    for mode in ("train", "eval"):
        extra = {"random_buffers": True} if mode == "eval" else {}
        cases += [
            bn1d("c3", 3, (8, 3), mode, extra=extra),
            bn1d("c4_len5", 4, (4, 4, 5), mode, extra=extra),
            bn1d("eps1e_3", 3, (6, 3), mode, eps=1e-3, extra=extra),
            bn1d("noaffine", 3, (6, 3), mode, affine=False, extra=extra),
            bn1d("notrack", 3, (6, 3), mode, track_running_stats=False),
            bn1d("notrack_noaffine", 2, (5, 2, 3), mode, track_running_stats=False,
                 affine=False),
        ]
    cases += [
        bn1d("momentum0.3_steps3", 3, (8, 3), momentum=0.3, steps=3),
        bn1d("momentumNone_steps3", 3, (4, 3, 2), momentum=None, steps=3),
        bn1d("worked_constant_features", 5, (3, 5, 1), momentum=0.3, steps=2,
             inputs=(Input((3, 5, 1), value=CONSTANT_FEATURES),)),
        bn1d("one_value_per_channel", 3, (1, 3),
             expect_error="Expected more than 1 value per channel when training"),
        bn1d("one_value_per_channel", 3, (1, 3), "eval", extra={"random_buffers": True}),
        bn1d("rank4_input", 3, (2, 3, 2, 2), expect_error="expected 2D or 3D input"),
    ]
    return cases


@cases_from(curated)
def test_module(case, backend, conform):
    conform(case, backend)


# ============================================================================ the other layers

BN_OPS = {"nn.BatchNorm1d": (2, 3), "nn.BatchNorm2d": (4,), "nn.BatchNorm3d": (5,)}
IN_OPS = {"nn.InstanceNorm1d": 3, "nn.InstanceNorm2d": 4, "nn.InstanceNorm3d": 5}
LAZY_TWIN = {"nn.LazyBatchNorm1d": "nn.BatchNorm1d", "nn.LazyBatchNorm2d": "nn.BatchNorm2d",
             "nn.LazyBatchNorm3d": "nn.BatchNorm3d", "nn.LazyInstanceNorm1d": "nn.InstanceNorm1d",
             "nn.LazyInstanceNorm2d": "nn.InstanceNorm2d",
             "nn.LazyInstanceNorm3d": "nn.InstanceNorm3d"}


def ONES(c: int) -> list[float]:
    return [1.0] * c


def ZEROS(c: int) -> list[float]:
    return [0.0] * c


def _norm_n(op: str, shape: tuple[int, ...], kwargs: dict) -> int:
    """The longest reduction of the op's statistics and gradients (see the module docstring)."""
    base = LAZY_TWIN.get(op, op)
    if base.startswith("nn.BatchNorm"):
        return math.prod(shape) // shape[1]
    if base.startswith("nn.InstanceNorm"):
        batched = len(shape) == IN_OPS[base]
        spatial = math.prod(shape[2:] if batched else shape[1:])
        return max(spatial * (shape[0] if batched else 1), shape[0] if batched else 1)
    if base == "nn.GroupNorm":
        g = kwargs["num_groups"]
        return max(math.prod(shape[1:]) // g, math.prod(shape) // shape[1])
    if base in ("nn.LayerNorm", "nn.RMSNorm"):
        ns = kwargs["normalized_shape"]
        d = len(ns) if isinstance(ns, (tuple, list)) else 1
        inner = math.prod(shape[len(shape) - d:])
        return max(inner, math.prod(shape[:len(shape) - d]))
    raise KeyError(op)


def _updates_running_stats(op: str, kwargs: dict) -> bool:
    """Training updates running statistics: BatchNorm (tracking by default), InstanceNorm with
    track_running_stats, and the lazy variants (tracking by default)."""
    default = LAZY_TWIN.get(op, op).startswith("nn.BatchNorm") or op in LAZY_TWIN
    return (op.startswith(("nn.BatchNorm", "nn.InstanceNorm", "nn.Lazy"))
            and kwargs.get("track_running_stats", default))


def norm(op: str, label: str, shape: tuple[int, ...], mode: str = "train", *, steps: int = 1,
         inputs=None, expect_error: str = "", params=None, random_buffers: bool | None = None,
         backward: bool = True, reference_kwargs=None, dtypes=None, **kwargs) -> Case:
    """A mean/variance (or RMS) normalization case; ``kwargs`` are the constructor's."""
    if random_buffers is None:
        random_buffers = mode == "eval"
    if inputs is None and mode == "train" and _updates_running_stats(op, kwargs):
        inputs = (Input(shape, kind="positive"),)
    rule = normalization(_norm_n(op, shape, kwargs)) if not expect_error else normalization(1)
    return Case(op=op, family="module", label=label, mode=mode, steps=steps, rule=rule,
                kwargs=kwargs, inputs=inputs or (Input(shape),), expect_error=expect_error,
                backward=backward and not expect_error, params=params or {},
                extra={"random_buffers": True} if random_buffers else {},
                reference_kwargs=reference_kwargs or {}, dtypes=dtypes)


#: BatchNorm2d(3) in training on arange(54).view(2, 3, 3, 3) (weight 1, bias 0): sample 0,
#: channel 0 is [[-1.2732, -1.2005, -1.1277], [-1.0550, -0.9822, -0.9094],
#: [-0.8367, -0.7639, -0.6912]] (checked to 4 decimals in tests/reference).
ARANGE54 = [[[[float(((n * 3 + c) * 3 + h) * 3 + w) for w in range(3)] for h in range(3)]
             for c in range(3)] for n in range(2)]


def batch_norm_cases() -> list[Case]:
    cases = []
    shapes = {"nn.BatchNorm1d": [(6, 3), (4, 3, 5)], "nn.BatchNorm2d": [(3, 3, 4, 2)],
              "nn.BatchNorm3d": [(2, 3, 2, 3, 2)]}
    for op, op_shapes in shapes.items():
        for mode in ("train", "eval"):
            for shape in op_shapes if op != "nn.BatchNorm1d" else []:
                # BatchNorm1d's basic option cases are the curated ones above
                c = shape[1]
                s = "x".join(map(str, shape))
                cases += [
                    norm(op, f"c3_{s}", shape, mode, num_features=c),
                    norm(op, "eps0.1", shape, mode, num_features=c, eps=0.1),
                    norm(op, "noaffine", shape, mode, num_features=c, affine=False),
                    norm(op, "nobias", shape, mode, num_features=c, bias=False),
                    norm(op, "notrack", shape, mode, num_features=c, track_running_stats=False,
                         random_buffers=False),
                    norm(op, "notrack_noaffine", shape, mode, num_features=c,
                         track_running_stats=False, affine=False, random_buffers=False),
                ]
            if op == "nn.BatchNorm1d":
                cases += [norm(op, "nobias", (6, 3), mode, num_features=3, bias=False),
                          norm(op, "momentum0", (6, 3), mode, num_features=3, momentum=0.0),
                          norm(op, "momentum1", (6, 3), mode, num_features=3, momentum=1.0)]
        shape = op_shapes[-1]
        c = shape[1]
        cases += [
            norm(op, f"momentum0.3_steps3_rank{len(shape)}", shape, num_features=c, momentum=0.3,
                 steps=3),
            norm(op, "momentumNone_steps4", shape, num_features=c, momentum=None, steps=4),
            norm(op, "momentumNone_noaffine_steps2", shape, num_features=c, momentum=None,
                 affine=False, steps=2),
            norm(op, "notrack_steps2", shape, num_features=c, track_running_stats=False,
                 steps=2),
            # eval after random running statistics: buffers must not move, 2 steps
            norm(op, "eval_steps2", shape, "eval", num_features=c, steps=2),
            norm(op, "momentumNone_eval", shape, "eval", num_features=c, momentum=None),
            norm(op, "large_offset", shape, num_features=c,
                 inputs=(Input(shape, kind="uniform", low=100.0, high=101.0),)),
            norm(op, "with_zeros_notrack", shape, num_features=c, track_running_stats=False,
                 inputs=(Input(shape, kind="with_zeros"),)),
            norm(op, "channels_mismatch", tuple(shape[:1]) + (c + 1,) + tuple(shape[2:]),
                 num_features=c, expect_error="running_mean should contain"),
            norm(op, "eps0_train", shape, num_features=c, eps=0.0,
                 expect_error="eps must be positive"),
        ]
        for rank in (1, 2, 3, 4, 5, 6):
            if rank not in BN_OPS[op] and not (op == "nn.BatchNorm1d" and rank == 4):
                # (BatchNorm1d's rank-4 error case is the foundation's rank4_input)
                bad = (2, 3, 2, 2, 2, 2)[:rank] if rank > 1 else (3,)
                cases.append(norm(op, f"rank{rank}_input", bad, num_features=3,
                                  expect_error="input (got"))
    cases += [
        norm("nn.BatchNorm2d", "worked_arange54", (2, 3, 3, 3), num_features=3,
             inputs=(Input((2, 3, 3, 3), value=ARANGE54),),
             params={"weight": ONES(3), "bias": ZEROS(3)}),
        norm("nn.BatchNorm1d", "worked_2x3", (2, 3), num_features=3,
             inputs=(Input((2, 3), value=[[0.0, 1, 2], [3, 4, 5]]),),
             params={"weight": ONES(3), "bias": ZEROS(3)}),
        norm("nn.BatchNorm1d", "worked_constant_features_unit", (3, 5, 1), num_features=5,
             momentum=0.3, steps=2, inputs=(Input((3, 5, 1), value=CONSTANT_FEATURES),),
             params={"weight": ONES(5), "bias": ZEROS(5)}),
        norm("nn.BatchNorm2d", "one_value_per_channel", (1, 3, 1, 1), num_features=3,
             expect_error="Expected more than 1 value per channel when training"),
        norm("nn.BatchNorm2d", "one_value_per_channel", (1, 3, 1, 1), "eval", num_features=3),
        norm("nn.BatchNorm1d", "one_value_per_channel_notrack_eval", (1, 3), "eval",
             num_features=3, track_running_stats=False,
             expect_error="Expected more than 1 value per channel"),
        norm("nn.BatchNorm1d", "two_values_per_channel", (2, 3), num_features=3),
        norm("nn.BatchNorm3d", "n1_spatial", (1, 2, 2, 1, 3), num_features=2),
    ]
    return cases


def instance_norm_cases() -> list[Case]:
    cases = []
    shapes = {"nn.InstanceNorm1d": (3, 4, 5), "nn.InstanceNorm2d": (2, 3, 3, 4),
              "nn.InstanceNorm3d": (2, 2, 2, 3, 2)}
    for op, shape in shapes.items():
        c = shape[1]
        for mode in ("train", "eval"):
            cases += [
                norm(op, "default", shape, mode, num_features=c),
                norm(op, "affine", shape, mode, num_features=c, affine=True),
                norm(op, "affine_nobias", shape, mode, num_features=c, affine=True, bias=False),
                norm(op, "track", shape, mode, num_features=c, track_running_stats=True),
                norm(op, "affine_track_eps0.1", shape, mode, num_features=c, affine=True,
                     track_running_stats=True, eps=0.1),
                norm(op, "unbatched", shape[1:], mode, num_features=c, affine=True),
                norm(op, "unbatched_track", shape[1:], mode, num_features=c,
                     track_running_stats=True),
            ]
        cases += [
            norm(op, "track_momentum0.3_steps3", shape, num_features=c,
                 track_running_stats=True, momentum=0.3, steps=3),
            # torch passes momentum=None to instance_norm as 0.0: the statistics never move
            norm(op, "track_momentumNone_steps2", shape, num_features=c,
                 track_running_stats=True, momentum=None, steps=2),
            norm(op, "large_offset", shape, num_features=c, affine=True,
                 inputs=(Input(shape, kind="uniform", low=100.0, high=101.0),)),
            norm(op, "channels_mismatch_affine", (shape[0], c + 1) + shape[2:], num_features=c,
                 affine=True, expect_error="to match num_features"),
            norm(op, "channels_mismatch_track", (shape[0], c + 1) + shape[2:], num_features=c,
                 track_running_stats=True, expect_error="running_mean should contain"),
            norm(op, "one_spatial_element", shape[:2] + (1,) * (len(shape) - 2),
                 num_features=c, expect_error="Expected more than 1 spatial element"),
            norm(op, "one_spatial_element_track", shape[:2] + (1,) * (len(shape) - 2), "eval",
                 num_features=c, track_running_stats=True),
            norm(op, "rank_too_high", (1,) + shape, num_features=c,
                 expect_error="input (got"),
            norm(op, "rank_too_low", shape[2:], num_features=c, expect_error="input (got"),
        ]
    return cases


def lazy_cases() -> list[Case]:
    cases = []
    shapes = {"nn.LazyBatchNorm1d": (5, 3, 4), "nn.LazyBatchNorm2d": (3, 4, 2, 3),
              "nn.LazyBatchNorm3d": (2, 3, 2, 2, 3), "nn.LazyInstanceNorm1d": (2, 3, 5),
              "nn.LazyInstanceNorm2d": (2, 4, 3, 3), "nn.LazyInstanceNorm3d": (2, 3, 2, 3, 2)}
    for op, shape in shapes.items():
        for mode in ("train", "eval"):
            cases += [
                norm(op, "default", shape, mode),
                norm(op, "noaffine_notrack", shape, mode, affine=False,
                     track_running_stats=False, random_buffers=False),
                norm(op, "eps0.1_nobias", shape, mode, eps=0.1, bias=False),
            ]
        cases += [
            norm(op, "momentum0.3_steps2", shape, momentum=0.3, steps=2),
            norm(op, "momentumNone_steps3", shape, momentum=None, steps=3),
        ]
    cases += [
        norm("nn.LazyBatchNorm1d", "rank2", (6, 4)),
        # an unbatched (C, L) input: torch infers num_features from dim 1 (L) and then, with
        # the lazy default affine=True, rejects the C channels
        norm("nn.LazyInstanceNorm1d", "unbatched_infers_dim1", (3, 5),
             expect_error="to match num_features"),
        norm("nn.LazyInstanceNorm1d", "unbatched_square", (4, 4)),
        norm("nn.LazyBatchNorm2d", "rank3_input", (2, 3, 4), expect_error="input (got"),
    ]
    return cases


def layer_group_rms_cases() -> list[Case]:
    cases = []
    for mode in ("train", "eval"):  # no mode dependence: eval must equal train
        cases += [
            norm("nn.LayerNorm", "last4", (3, 4), mode, normalized_shape=4),
            norm("nn.LayerNorm", "last2x3", (2, 5, 2, 3), mode, normalized_shape=(2, 3)),
            norm("nn.GroupNorm", "g2_c4", (3, 4, 5), mode, num_groups=2, num_channels=4),
            norm("nn.RMSNorm", "last4_epsNone", (3, 4), mode, normalized_shape=4, eps=None,
                 reference_kwargs={"input_dtype": DTYPE}),
        ]
    cases += [
        norm("nn.LayerNorm", "list_shape", (4, 3, 2), normalized_shape=[3, 2]),
        norm("nn.LayerNorm", "no_affine", (3, 6), normalized_shape=6, elementwise_affine=False),
        norm("nn.LayerNorm", "nobias", (3, 6), normalized_shape=6, bias=False),
        norm("nn.LayerNorm", "no_affine_nobias", (3, 6), normalized_shape=6,
             elementwise_affine=False, bias=False),
        norm("nn.LayerNorm", "eps0.1", (3, 6), normalized_shape=6, eps=0.1),
        norm("nn.LayerNorm", "whole_input", (2, 3, 4), normalized_shape=(2, 3, 4)),
        norm("nn.LayerNorm", "unbatched_1d", (7,), normalized_shape=7),
        norm("nn.LayerNorm", "len1", (5, 1), normalized_shape=1),
        norm("nn.LayerNorm", "wide256", (4, 256), normalized_shape=256),
        norm("nn.LayerNorm", "large_offset", (4, 16), normalized_shape=16,
             inputs=(Input((4, 16), kind="uniform", low=100.0, high=101.0),)),
        norm("nn.LayerNorm", "wrong_trailing", (3, 5), normalized_shape=4,
             expect_error="Given normalized_shape"),
        norm("nn.LayerNorm", "input_too_small", (3,), normalized_shape=(2, 3),
             expect_error="Given normalized_shape"),
        # GroupNorm
        norm("nn.GroupNorm", "g1_layer_like", (2, 4, 3, 2), num_groups=1, num_channels=4),
        norm("nn.GroupNorm", "gC_instance_like", (2, 4, 6), num_groups=4, num_channels=4),
        norm("nn.GroupNorm", "g3_c6_4d", (2, 6, 2, 3), num_groups=3, num_channels=6),
        norm("nn.GroupNorm", "g2_5d", (2, 4, 2, 2, 2), num_groups=2, num_channels=4),
        norm("nn.GroupNorm", "rank2", (3, 6), num_groups=3, num_channels=6),
        norm("nn.GroupNorm", "noaffine", (2, 4, 5), num_groups=2, num_channels=4,
             affine=False),
        norm("nn.GroupNorm", "nobias", (2, 4, 5), num_groups=2, num_channels=4, bias=False),
        norm("nn.GroupNorm", "eps0.1", (2, 4, 5), num_groups=2, num_channels=4, eps=0.1),
        norm("nn.GroupNorm", "large_offset", (2, 4, 8), num_groups=2, num_channels=4,
             inputs=(Input((2, 4, 8), kind="uniform", low=100.0, high=101.0),)),
        # without an affine, num_channels is not checked against the input
        norm("nn.GroupNorm", "channels_mismatch_noaffine", (2, 6, 3), num_groups=2,
             num_channels=4, affine=False),
        norm("nn.GroupNorm", "channels_not_divisible", (2, 6, 3), num_groups=4,
             num_channels=6, expect_error="must be divisible by num_groups"),
        norm("nn.GroupNorm", "input_channels_not_divisible", (2, 3, 4), num_groups=2,
             num_channels=4, affine=False, expect_error="divisible by num_groups"),
        norm("nn.GroupNorm", "channels_mismatch_affine", (2, 6, 3), num_groups=2,
             num_channels=4, expect_error="Expected weight to be a vector"),
        norm("nn.GroupNorm", "rank1_input", (4,), num_groups=2, num_channels=4,
             expect_error="Expected at least 2 dimensions"),
        # RMSNorm: eps None is the epsilon of the dtype torch computes in
        norm("nn.RMSNorm", "last2x3_epsNone", (4, 2, 3), normalized_shape=(2, 3),
             reference_kwargs={"input_dtype": DTYPE}),
        norm("nn.RMSNorm", "eps0.1", (3, 5), normalized_shape=5, eps=0.1),
        norm("nn.RMSNorm", "eps1e_6", (3, 5), normalized_shape=5, eps=1e-6),
        norm("nn.RMSNorm", "no_affine_epsNone", (3, 5), normalized_shape=5,
             elementwise_affine=False, reference_kwargs={"input_dtype": DTYPE}),
        norm("nn.RMSNorm", "no_affine_eps0.5", (3, 5), normalized_shape=[5], eps=0.5,
             elementwise_affine=False),
        norm("nn.RMSNorm", "unbatched_1d", (6,), normalized_shape=6, eps=1e-5),
        norm("nn.RMSNorm", "wide256", (4, 256), normalized_shape=256,
             reference_kwargs={"input_dtype": DTYPE}),
        # tiny inputs: mean(x^2) is near the default eps, so the eps actually used shows
        norm("nn.RMSNorm", "tiny_epsNone", (3, 4), normalized_shape=4,
             inputs=(Input((3, 4), kind="uniform", low=1e-4, high=3e-4),),
             reference_kwargs={"input_dtype": DTYPE}, dtypes=("float32", "float64")),
        norm("nn.RMSNorm", "wrong_trailing", (3, 5), normalized_shape=4,
             expect_error="Given normalized_shape"),
    ]
    return cases


def window(op: str, label: str, shape: tuple[int, ...], *, mode: str = "train",
           backward: bool = True, expect_error: str = "", kind: str = "normal", inputs=None,
           dtypes=None, **kwargs) -> Case:
    return Case(op=op, family="module", label=label, mode=mode,
                rule=reduction(kwargs.get("size", 1)), kwargs=kwargs,
                inputs=inputs or (Input(shape, kind=kind),), expect_error=expect_error,
                backward=backward and not expect_error, dtypes=dtypes)


#: Channel 1 is 1e9 (its square 1e18 swallows 1.0 in float32 and in float64), the others 1 or 2.
HUGE_CHANNEL = [[[[1.0, 2.0]], [[1e9, -1e9]], [[1.0, -1.0]], [[2.0, 1.0]], [[-1.0, 2.0]],
                 [[1.0, 1.0]]]]


def window_cases() -> list[Case]:
    lrn, cm = "nn.LocalResponseNorm", "nn.CrossMapLRN2d"
    cases = [
        window(lrn, "size1", (2, 4, 3), size=1),
        window(lrn, "size2_even", (2, 5, 3), size=2),
        window(lrn, "size3", (2, 6, 3, 2), size=3),
        window(lrn, "size5_4d", (2, 7, 2, 3), size=5),
        window(lrn, "size4_5d", (2, 6, 2, 2, 2), size=4),
        window(lrn, "size_gt_channels", (2, 3, 4), size=7),
        window(lrn, "alpha1_beta0.5_k2", (2, 6, 4), size=3, alpha=1.0, beta=0.5, k=2.0),
        window(lrn, "alpha0.5_beta2_k1", (2, 6, 4), size=3, alpha=0.5, beta=2.0, k=1.0),
        window(lrn, "large", (2, 6, 4), size=3, alpha=1e-3, kind="large"),
        window(lrn, "size3", (2, 5, 4), mode="eval", size=3, alpha=0.1),
        window(lrn, "rank2_input", (4, 5), size=3, expect_error="Expected 3D or higher"),
    ]
    for size, shape, extra in [(1, (2, 5, 3, 2), {}), (2, (2, 6, 2, 2), {}),
                               (3, (2, 6, 3, 3), {}), (5, (2, 8, 2, 3), {}),
                               (4, (2, 7, 2, 2), {}),
                               (3, (2, 6, 2, 3), {"alpha": 0.5, "beta": 1.5, "k": 2.0}),
                               (7, (1, 4, 3, 2), {"alpha": 1.0})]:
        def tag(kw):
            return f"size{size}" + "".join(f"_{k}{v}" for k, v in kw.items())
        # forward only: must pass; with backward: torch's backward window is shifted (an alpha
        # of at least 0.5 makes the window term of the gradient visible in every dtype)
        cases.append(window(cm, f"{tag(extra)}_fwd", shape, backward=False, size=size,
                            **extra))
        bwd = {"alpha": 1.0, **extra}
        cases.append(window(cm, f"{tag(bwd)}_bwd", shape, size=size, **bwd))
    cases += [
        # one huge channel passing through the window: torch's forward keeps a running sum
        # (adds the channel entering the window, subtracts the one leaving it), so after the
        # huge square leaves, the small squares it swallowed are lost (a documented deviation)
        window(cm, "running_sum_cancellation_fwd", (1, 6, 1, 2), backward=False, size=3,
               alpha=1.0, inputs=(Input((1, 6, 1, 2), value=HUGE_CHANNEL),),
               dtypes=("float32", "float64")),
        window(lrn, "huge_channel", (1, 6, 1, 2), size=3, alpha=1.0,
               inputs=(Input((1, 6, 1, 2), value=HUGE_CHANNEL),), dtypes=("float32", "float64")),
        window(cm, "rank3_input", (2, 6, 4), size=3, expect_error="Expected input to be 4D"),
    ]
    return cases


def more_cases() -> list[Case]:
    return (batch_norm_cases() + instance_norm_cases() + lazy_cases()
            + layer_group_rms_cases() + window_cases())


@cases_from(more_cases)
def test_layers(case, backend, conform):
    conform(case, backend)


# ============================================================================ generated

@st.composite
def bn1d_cases(draw, dtype: str) -> Case:
    c = draw(st.integers(1, 6))
    n = draw(st.integers(2, 8))
    length = draw(st.sampled_from([None, 1, 3]))
    shape = (n, c) if length is None else (n, c, length)
    mode = draw(st.sampled_from(["train", "eval"]))
    kw = dict(eps=draw(st.sampled_from([1e-5, 1e-3, 0.1])),
              momentum=draw(st.sampled_from([0.1, 0.5, None])),
              affine=draw(st.booleans()), track_running_stats=draw(st.booleans()))
    steps = draw(st.integers(1, 3))
    label = content_label("h", shape=shape, mode=mode, steps=steps, **kw)
    extra = {"random_buffers": True} if mode == "eval" else {}
    return bn1d(label, c, shape, mode, steps=steps, extra=extra, **kw).with_dtype(dtype)


@generated()
@given(data=st.data())
def test_module_generated(data, dtype, backend, conform):
    conform(data.draw(bn1d_cases(dtype)), backend, generated=True)


_ANY_BN = ["nn.BatchNorm2d", "nn.BatchNorm3d", "nn.LazyBatchNorm1d", "nn.LazyBatchNorm2d",
           "nn.LazyBatchNorm3d"]
_ANY_IN = ["nn.InstanceNorm1d", "nn.InstanceNorm2d", "nn.InstanceNorm3d",
           "nn.LazyInstanceNorm1d", "nn.LazyInstanceNorm2d", "nn.LazyInstanceNorm3d"]


@st.composite
def running_stats_cases(draw, dtype: str) -> Case:
    """BatchNorm2d/3d, InstanceNorm1d/2d/3d and every Lazy variant, over all their options."""
    op = draw(st.sampled_from(_ANY_BN + _ANY_IN))
    base = LAZY_TWIN.get(op, op)
    rank = BN_OPS[base][-1] if base in BN_OPS else IN_OPS[base]
    c = draw(st.integers(1, 4))
    n = draw(st.integers(1, 4))
    spatial = tuple(draw(st.lists(st.integers(1, 4), min_size=rank - 2, max_size=rank - 2)))
    shape = (n, c) + spatial
    is_bn = base in BN_OPS
    if (is_bn and math.prod(shape) // c < 2) or (not is_bn and math.prod(spatial) < 2):
        shape = (n + 1, c) + tuple(s + 1 for s in spatial)  # more than one value per statistic
    mode = draw(st.sampled_from(["train", "eval"]))
    kw = dict(eps=draw(st.sampled_from([1e-5, 1e-3, 0.1])),
              momentum=draw(st.sampled_from([0.1, 0.5, None])),
              affine=draw(st.booleans()), track_running_stats=draw(st.booleans()))
    if kw["affine"]:
        kw["bias"] = draw(st.booleans())
    if op not in LAZY_TWIN:
        kw["num_features"] = c
    steps = draw(st.integers(1, 3))
    label = content_label("h", op=op, shape=shape, mode=mode, steps=steps, **kw)
    return norm(op, label, shape, mode, steps=steps, **kw).with_dtype(dtype)


@generated()
@given(data=st.data())
def test_running_stats_generated(data, dtype, backend, conform):
    conform(data.draw(running_stats_cases(dtype)), backend, generated=True)


@st.composite
def stateless_norm_cases(draw, dtype: str) -> Case:
    """LayerNorm, GroupNorm, RMSNorm, LocalResponseNorm and CrossMapLRN2d (forward only)."""
    op = draw(st.sampled_from(["nn.LayerNorm", "nn.GroupNorm", "nn.RMSNorm",
                               "nn.LocalResponseNorm", "nn.CrossMapLRN2d"]))
    mode = draw(st.sampled_from(["train", "eval"]))
    if op in ("nn.LayerNorm", "nn.RMSNorm"):
        shape = tuple(draw(st.lists(st.integers(1, 6), min_size=1, max_size=4)))
        d = draw(st.integers(1, len(shape)))
        ns = shape[len(shape) - d:]
        kw = {"normalized_shape": ns if draw(st.booleans()) or d > 1 else ns[0],
              "elementwise_affine": draw(st.booleans())}
        if op == "nn.LayerNorm":
            kw["eps"] = draw(st.sampled_from([1e-5, 1e-3, 0.1]))
            kw["bias"] = draw(st.booleans())
            if math.prod(ns) == 1 and not kw["elementwise_affine"]:
                kw["elementwise_affine"] = True  # a constant output: nothing to compare
        else:
            kw["eps"] = draw(st.sampled_from([None, 1e-6, 0.1]))
        label = content_label("h", op=op, shape=shape, mode=mode, **kw)
        rk = {"input_dtype": DTYPE} if op == "nn.RMSNorm" and kw["eps"] is None else {}
        return norm(op, label, shape, mode, reference_kwargs=rk, **kw).with_dtype(dtype)
    if op == "nn.GroupNorm":
        g = draw(st.integers(1, 4))
        c = g * draw(st.integers(1, 3))
        spatial = tuple(draw(st.lists(st.integers(1, 4), min_size=0, max_size=3)))
        shape = (draw(st.integers(1, 4)), c) + spatial
        if math.prod(shape[1:]) // g < 2:
            shape = shape[:1] + (2 * c,) + spatial
            c = 2 * c
        kw = {"num_groups": g, "num_channels": c, "affine": draw(st.booleans()),
              "eps": draw(st.sampled_from([1e-5, 1e-3, 0.1]))}
        if kw["affine"]:
            kw["bias"] = draw(st.booleans())
        label = content_label("h", op=op, shape=shape, mode=mode, **kw)
        return norm(op, label, shape, mode, **kw).with_dtype(dtype)
    size = draw(st.integers(1, 6))
    kw = {"size": size, "alpha": draw(st.sampled_from([1e-4, 0.1, 1.0])),
          "beta": draw(st.sampled_from([0.5, 0.75, 1.0])),
          "k": draw(st.sampled_from([1.0, 2.0]))}
    rank = 4 if op == "nn.CrossMapLRN2d" else draw(st.integers(3, 5))
    shape = (draw(st.integers(1, 3)), draw(st.integers(1, 8))) + \
        tuple(draw(st.lists(st.integers(1, 3), min_size=rank - 2, max_size=rank - 2)))
    label = content_label("h", op=op, shape=shape, mode=mode, **kw)
    return window(op, label, shape, mode=mode, backward=op != "nn.CrossMapLRN2d",
                  **kw).with_dtype(dtype)


@generated()
@given(data=st.data())
def test_stateless_generated(data, dtype, backend, conform):
    conform(data.draw(stateless_norm_cases(dtype)), backend, generated=True)
