"""Losses: every torch.nn loss module with every constructor option and reduction.

Each loss is checked forward and backward: w.r.t. the input and w.r.t. every other argument that
torch differentiates (float targets of the regression, probabilistic and binary losses, class
probabilities of CrossEntropyLoss, the var of GaussianNLLLoss, the three embeddings of the
triplet losses, the parameters of LinearCrossEntropyLoss and AdaptiveLogSoftmaxWithLoss). Inputs
torch does not differentiate are given ``requires_grad=False`` (the +-1 targets of
SoftMarginLoss, HingeEmbeddingLoss; SoftMarginLoss raises if its target requires grad), integer
targets never require grad.

Tolerance rules, by op class (docs/tolerances.md):
- pointwise losses with ``reduction='none'``: ``elementwise``;
- 'mean'/'sum' (and KLDivLoss 'batchmean') over n terms: ``reduction(n)``;
- losses that reduce over a class or feature dimension inside each element (the log-sum-exp of
  CrossEntropyLoss over C, MultiMargin/MultiLabelSoftMargin over C, MultiLabelMargin over its C
  label pairs, the cosine and pairwise distances over D): ``reduction(inner)`` for 'none' and
  ``reduction(n * inner)`` when the rows are reduced too -- n * inner is the number of terms the
  loss sums in all;
- CTCLoss: its alpha recursion is a log-sum-exp over the extended label of length 2 S + 1 at each
  of T frames, ``reduction(T * (2 S + 1))`` (times N when reduced);
- LinearCrossEntropyLoss and AdaptiveLogSoftmaxWithLoss contain matrix products: ``matmul(k)``
  with k the longest contraction any output or gradient performs (in_features, classes, batch
  rows, or classes times batch for the loss itself).

Weights (``weight``, ``pos_weight``) are dyadic values: exact in every dtype, so the backend's
rounded buffer is the reference's value.

Edge data: extreme logits (+-1e4 and N(0, 1e3^2)), probabilities at exactly 0 and 1, targets on
the kinks (|x - y| = beta or delta, hinge arguments exactly 0), every target ignored (the 'mean'
is 0/0 = nan in torch, and in the reference), empty batches (mean nan, sum 0) where torch allows
them, impossible CTC alignments (inf, or 0 with zero_infinity).

CTCLoss gradients: torch's native CTC backward does not return the derivative of its forward
w.r.t. ``log_probs`` but that derivative plus ``exp(log_probs) * grad`` (the gradient w.r.t. the
logits, assuming log_probs = log_softmax(logits); aten/src/ATen/native/LossCTC.cpp
``ctc_loss_backward_cpu_template``). The reference returns the exact derivative, so the CTC cases
come in pairs: forward-only cases (every option; they must pass) and ``grad_`` cases with a
backward, which are the documented deviation in backends/expectations/torch/loss.toml.

Worked examples (torch.nn.CrossEntropyLoss and L1Loss/MSELoss docs, pinned to 4 decimals in
tests/reference/test_loss.py): ``worked_*`` cases use the same explicit inputs.
"""

from __future__ import annotations

import math
import zlib

import numpy as np
from hypothesis import given, strategies as st

from harness.cases import Case, cases_from, generated, Input, content_label
from harness.tolerance import elementwise, exact, matmul, reduction

REDS = ("none", "mean", "sum")
F32_64 = ("float32", "float64")
#: results beyond float16's range (65504): large squares, exp(60), 1 / eps
NOT_F16 = ("float32", "float64", "bfloat16")


# ============================================================================ helpers

def _values(seed: int, shape: tuple[int, ...], choices) -> list:
    """Deterministic explicit data (the catalog is fixed; the case's seed draws the rest)."""
    r = np.random.default_rng(seed)
    return np.asarray(r.choice(np.asarray(choices), size=shape)).tolist()


def pm1(shape: tuple[int, ...], seed: int = 0) -> list:
    """+-1 targets (MarginRanking, HingeEmbedding, SoftMargin, CosineEmbedding)."""
    return _values(seed, shape, [-1.0, 1.0])


def dyadic(n: int, seed: int = 0) -> np.ndarray:
    """Class weights exact in every dtype (bfloat16 included)."""
    return np.asarray(_values(seed, (n,), [0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0]), dtype=float)


def red_rule(red: str, n: int, inner: int = 1):
    """'none': ``elementwise`` (or the inner reduction); else a reduction over all n * inner."""
    if red == "none":
        return elementwise() if inner <= 1 else reduction(inner)
    return reduction(max(n, 1) * max(inner, 1))


def loss(op: str, label: str, rule, inputs, kwargs=None, **kw) -> Case:
    return Case(op=f"nn.{op}", family="loss", label=label, rule=rule, kwargs=kwargs or {},
                inputs=tuple(inputs), **kw)


def err(op: str, label: str, inputs, message: str, kwargs=None, **kw) -> Case:
    """An invalid input: the reference raises ``message``; the backend must raise too."""
    return loss(op, label, elementwise(), inputs, kwargs, expect_error=message, backward=False,
                **kw)


# ============================================================================ MSELoss (original)

def mse(label: str, shape: tuple[int, ...], red: str = "mean", **kw) -> Case:
    rule = elementwise() if red == "none" else reduction(math.prod(shape))
    inputs = kw.pop("inputs", (Input(shape), Input(shape)))
    return Case(op="nn.MSELoss", family="loss", label=label, rule=rule,
                kwargs={"reduction": red}, inputs=inputs, **kw)


def mse_curated() -> list[Case]:
    cases = []
    for red in ("none", "mean", "sum"):
        cases += [mse(f"{red}_2d", (4, 5), red), mse(f"{red}_1d", (7,), red),
                  mse(f"{red}_3d", (2, 3, 4), red), mse(f"{red}_scalar", (), red)]
    cases += [
        mse("worked_ones_vs_threes", (2, 2), "mean",
            inputs=(Input((2, 2), value=[[1, 1], [1, 1]]), Input((2, 2), value=[[3, 3], [3, 3]]))),
        mse("large_n", (64, 64), "mean"),
        mse("bad_reduction", (3,), "average", expect_error="is not a valid value for reduction",
            backward=False),
    ]
    ones, threes = Input((2, 2), value=[[1, 1], [1, 1]]), Input((2, 2), value=[[3, 3], [3, 3]])
    cases += [mse(f"worked_ones_vs_threes_{red}", (2, 2), red, inputs=(ones, threes))
              for red in ("none", "sum")]
    cases += [
        mse("broadcast_target", (4, 5), "mean", inputs=(Input((4, 5)), Input((5,)))),
        mse("large", (4, 5), "sum", inputs=(Input((4, 5), kind="large"), Input((4, 5))),
            dtypes=NOT_F16),
        mse("empty_mean", (0, 3), "mean"), mse("empty_sum", (0, 3), "sum"),
        mse("empty_none", (0, 3), "none"),
        mse("shape_mismatch", (3, 4), "mean", inputs=(Input((3, 4)), Input((3, 2))),
            expect_error="must match the size", backward=False),
    ]
    return cases


# ============================================================================ regression

def pointwise(op: str, label: str, shape, red: str, kwargs=None, inputs=None, **kw) -> Case:
    inputs = inputs or (Input(shape), Input(shape))
    return loss(op, label, red_rule(red, math.prod(shape)), inputs,
                {"reduction": red, **(kwargs or {})}, **kw)


def regression_curated() -> list[Case]:
    cases = []
    ones, threes = Input((2, 2), value=[[1, 1], [1, 1]]), Input((2, 2), value=[[3, 3], [3, 3]])
    for red in REDS:
        cases += [pointwise("L1Loss", f"{red}_2d", (4, 5), red),
                  pointwise("L1Loss", f"{red}_3d", (2, 3, 4), red),
                  pointwise("L1Loss", f"{red}_scalar", (), red),
                  pointwise("L1Loss", f"worked_ones_vs_threes_{red}", (2, 2), red,
                            inputs=(ones, threes))]
    # x == y exactly: sign(0) = 0 (torch's sgn), for L1 and SmoothL1 with beta = 0
    equal = (Input((8,), value=[0.0, 1.5, -2.0, 0.25, 3.0, -0.5, 1.0, 0.0]),
             Input((8,), value=[0.0, 1.5, -1.0, 0.25, 2.0, -0.5, 1.5, 1.0]))
    cases += [
        pointwise("L1Loss", "equal_points", (8,), "sum", inputs=equal),
        pointwise("L1Loss", "broadcast_target", (3, 4), "mean",
                  inputs=(Input((3, 4)), Input((1, 4)))),
        pointwise("L1Loss", "large", (4, 5), "mean",
                  inputs=(Input((4, 5), kind="large"), Input((4, 5))), dtypes=NOT_F16),
        pointwise("L1Loss", "empty_mean", (0, 3), "mean"),
        pointwise("L1Loss", "empty_sum", (0, 3), "sum"),
        err("L1Loss", "shape_mismatch", (Input((3, 4)), Input((3, 2))), "must match the size"),
        err("L1Loss", "bad_reduction", (Input((3,)), Input((3,))), "is not a valid value",
            {"reduction": "avg"}),
    ]
    # SmoothL1Loss: beta default, small, large, 0 (L1); points exactly on the kink |d| = beta
    two = (Input((4, 5), kind="normal"), Input((4, 5), kind="normal"))
    for red in REDS:
        for beta in (1.0, 0.5, 2.0, 0.0):
            lab = f"{red}_beta{str(beta).replace('.', 'p')}"
            cases.append(pointwise("SmoothL1Loss", lab, (4, 5), red, {"beta": beta}, inputs=two))
        for delta in (1.0, 0.5, 2.5):
            lab = f"{red}_delta{str(delta).replace('.', 'p')}"
            cases.append(pointwise("HuberLoss", lab, (4, 5), red, {"delta": delta}, inputs=two))
    kink = (Input((8,), value=[0.5, -0.5, 1.0, -1.0, 2.5, 0.0, 3.0, 0.75]),
            Input((8,), value=[0.0, 0.0, 0.5, -0.5, 0.0, 0.0, 0.5, 0.75]))
    for op, key in (("SmoothL1Loss", "beta"), ("HuberLoss", "delta")):
        cases += [
            pointwise(op, "kink_0p5", (8,), "sum", {key: 0.5}, inputs=kink),
            pointwise(op, "kink_2p5", (8,), "none", {key: 2.5}, inputs=kink),
            pointwise(op, "scalar", (), "mean", {key: 1.0}),
            pointwise(op, "3d", (2, 3, 4), "mean", {key: 1.0}),
            pointwise(op, "large", (4, 5), "mean", {key: 1.0},
                      inputs=(Input((4, 5), kind="large"), Input((4, 5))), dtypes=NOT_F16),
            pointwise(op, "broadcast_target", (3, 4), "sum", {key: 1.0},
                      inputs=(Input((3, 4)), Input((4,)))),
            pointwise(op, "empty_mean", (0, 2), "mean", {key: 1.0}),
            err(op, "shape_mismatch", (Input((3, 4)), Input((2, 4))), "must match the size"),
        ]
    cases += [
        pointwise("SmoothL1Loss", "equal_points_beta0", (8,), "mean", {"beta": 0.0},
                  inputs=equal),
        err("SmoothL1Loss", "negative_beta", (Input((3,)), Input((3,))),
            "does not support negative values for beta", {"beta": -1.0}),
        err("HuberLoss", "zero_delta", (Input((3,)), Input((3,))),
            "does not support non-positive values for delta", {"delta": 0.0}),
        err("HuberLoss", "negative_delta", (Input((3,)), Input((3,))),
            "does not support non-positive values for delta", {"delta": -0.5}),
    ]
    return cases


# ============================================================================ probabilistic

def poisson(label: str, shape, red="mean", log_input=True, full=False, eps=None, inputs=None,
            **kw) -> Case:
    kwargs = {"reduction": red, "log_input": log_input, "full": full}
    if eps is not None:
        kwargs["eps"] = eps
    inputs = inputs or (Input(shape, kind="normal" if log_input else "positive"),
                        Input(shape, kind="uniform", low=0.0, high=4.0))
    return loss("PoissonNLLLoss", label, red_rule(red, math.prod(shape)), inputs, kwargs, **kw)


def gaussian(label: str, shape, var_shape, red="mean", full=False, eps=None, inputs=None,
             **kw) -> Case:
    kwargs = {"reduction": red, "full": full}
    if eps is not None:
        kwargs["eps"] = eps
    inputs = inputs or (Input(shape), Input(shape), Input(var_shape, kind="positive"))
    n = math.prod(shape)
    # the var gradient of a broadcast var sums over the broadcast axes
    inner = max(1, n // max(1, math.prod(var_shape))) if var_shape != shape else 1
    rule = (reduction(inner) if inner > 1 else elementwise()) if red == "none" else reduction(n)
    return loss("GaussianNLLLoss", label, rule, inputs, kwargs, **kw)


def kldiv(label: str, shape, red="mean", log_target=False, inputs=None, **kw) -> Case:
    tgt = (Input(shape, kind="normal") if log_target
           else Input(shape, kind="uniform", low=0.0, high=1.0))
    inputs = inputs or (Input(shape), tgt)
    n = math.prod(shape)
    rule = elementwise() if red == "none" else reduction(n)
    return loss("KLDivLoss", label, rule, inputs, {"reduction": red, "log_target": log_target},
                **kw)


def probabilistic_curated() -> list[Case]:
    cases = []
    for red in REDS:
        for log_input in (True, False):
            for full in (False, True):
                cases.append(poisson(f"{red}_log{int(log_input)}_full{int(full)}", (4, 5), red,
                                     log_input, full))
    # targets 0, <= 1 (no Stirling term) and > 1, counts and fractions
    counts = Input((2, 6), value=[[0.0, 0.5, 1.0, 1.5, 2.0, 7.0], [3.0, 0.25, 1.0, 12.0, 0.0, 4.0]])
    cases += [
        poisson("eps_0p5", (4, 5), "mean", log_input=False, eps=0.5),
        poisson("eps_near_zero_input", (6,), "sum", log_input=False, eps=1e-2,
                inputs=(Input((6,), value=[0.0, 1e-3, 0.5, 2.0, 0.0, 4.0]),
                        Input((6,), value=[0.0, 1.0, 2.0, 3.0, 1.5, 0.5]))),
        poisson("counts_full_log", (2, 6), "sum", True, True,
                inputs=(Input((2, 6)), Input((2, 6), value=counts.value, requires_grad=False))),
        poisson("counts_full_linear", (2, 6), "mean", False, True,
                inputs=(Input((2, 6), kind="positive"),
                        Input((2, 6), value=counts.value, requires_grad=False))),
        # the target gradient where the target is exactly 0 (documented deviation, see toml)
        poisson("grad_target_zero_full", (2, 6), "sum", True, True,
                inputs=(Input((2, 6)), counts)),
        poisson("large_input", (4, 5), "mean", inputs=(Input((4, 5), kind="uniform", low=-60,
                                                             high=60), Input((4, 5))),
                dtypes=NOT_F16),
        poisson("scalar", (), "mean", full=True),
        poisson("3d", (2, 3, 4), "sum", full=True),
        poisson("empty_mean", (0, 3), "mean"),
        err("PoissonNLLLoss", "shape_mismatch", (Input((3, 4)), Input((3, 2))),
            "must match the size"),
        err("PoissonNLLLoss", "bad_reduction", (Input((3,)), Input((3,))),
            "is not a valid value", {"reduction": "avg"}),
    ]
    # GaussianNLLLoss: full, eps, var shapes (same, homoscedastic, one dim of size 1, scalar)
    for red in REDS:
        for full in (False, True):
            cases += [gaussian(f"{red}_full{int(full)}_var_same", (4, 5), (4, 5), red, full),
                      gaussian(f"{red}_full{int(full)}_var_homo", (4, 5), (4,), red, full),
                      gaussian(f"{red}_full{int(full)}_var_n1", (4, 5), (4, 1), red, full)]
    cases += [
        gaussian("var_1d", (4, 5), (1, 5), "mean"),
        gaussian("var_3d_mid1", (2, 3, 4), (2, 1, 4), "sum"),
        gaussian("unbatched", (5,), (5,), "mean"),
        gaussian("unbatched_homo", (5,), (1,), "sum"),
        gaussian("var_python_float", (4, 5), (), "mean",
                 inputs=(Input((4, 5)), Input((4, 5)), Input(kind="python", value=0.75))),
        # var below eps: clamped in the forward; the gradient passes straight through the clamp
        gaussian("eps_clamp", (3, 4), (3, 4), "sum", eps=0.25,
                 inputs=(Input((3, 4)), Input((3, 4)),
                         Input((3, 4), kind="uniform", low=0.0, high=0.5))),
        gaussian("var_zero", (2, 3), (2, 3), "mean",
                 inputs=(Input((2, 3)), Input((2, 3)),
                         Input((2, 3), value=[[0.0, 1.0, 0.5], [2.0, 0.0, 0.25]])),
                 dtypes=NOT_F16),
        gaussian("eps_default_tiny_var", (2, 3), (2, 3), "none",
                 inputs=(Input((2, 3)), Input((2, 3)),
                         Input((2, 3), value=[[1e-7, 1.0, 0.5], [2.0, 1e-3, 0.25]])),
                 dtypes=F32_64),
        gaussian("empty_mean", (0, 3), (0, 3), "mean"),
        err("GaussianNLLLoss", "negative_var", (Input((2, 2)), Input((2, 2)),
                                                Input((2, 2), value=[[1.0, 0.5], [-0.25, 2.0]])),
            "var has negative entry"),
        err("GaussianNLLLoss", "var_wrong_size", (Input((3, 4)), Input((3, 4)),
                                                  Input((2, 4), kind="positive")),
            "var is of incorrect size"),
        err("GaussianNLLLoss", "bad_reduction", (Input((3, 4)), Input((3, 4)),
                                                 Input((3, 4), kind="positive")),
            "is not valid", {"reduction": "avg"}),
    ]
    # KLDivLoss: every reduction (batchmean included), log_target
    for red in REDS + ("batchmean",):
        for lt in (False, True):
            cases += [kldiv(f"{red}_logt{int(lt)}", (4, 5), red, lt),
                      kldiv(f"{red}_logt{int(lt)}_3d", (2, 3, 4), red, lt)]
    zeros_t = [[0.0, 0.25, 0.75, 0.0, 1.0], [0.5, 0.0, 0.5, 0.0, 0.0]]
    cases += [
        # target probabilities at exactly 0 (0 log 0 = 0) and 1: forward and the input gradient
        kldiv("target_zeros", (2, 5), "sum",
              inputs=(Input((2, 5)), Input((2, 5), value=zeros_t, requires_grad=False))),
        # the target gradient at a zero target: log(0) + 1 - x = -inf (documented deviation)
        kldiv("grad_target_zeros", (2, 5), "sum",
              inputs=(Input((2, 5)), Input((2, 5), value=zeros_t))),
        kldiv("scalar_batchmean", (), "batchmean"),
        kldiv("large_logt1", (4, 5), "mean", True,
              inputs=(Input((4, 5), kind="large"), Input((4, 5)))),
        kldiv("empty_batchmean", (0, 3), "batchmean"),
        err("KLDivLoss", "bad_reduction", (Input((3,)), Input((3,))), "is not a valid value",
            {"reduction": "avg"}),
    ]
    return cases


# ============================================================================ binary

def bce(label: str, shape, red="mean", weight=None, inputs=None, **kw) -> Case:
    kwargs = {"reduction": red}
    if weight is not None:
        kwargs["weight"] = weight
    inputs = inputs or (Input(shape, kind="uniform", low=0.02, high=0.98),
                        Input(shape, kind="uniform", low=0.0, high=1.0))
    return loss("BCELoss", label, red_rule(red, math.prod(shape)), inputs, kwargs, **kw)


def bcel(label: str, shape, red="mean", weight=None, pos_weight=None, inputs=None, **kw) -> Case:
    kwargs = {"reduction": red}
    if weight is not None:
        kwargs["weight"] = weight
    if pos_weight is not None:
        kwargs["pos_weight"] = pos_weight
    inputs = inputs or (Input(shape), Input(shape, kind="uniform", low=0.0, high=1.0))
    return loss("BCEWithLogitsLoss", label, red_rule(red, math.prod(shape)), inputs, kwargs, **kw)


def binary_curated() -> list[Case]:
    cases = []
    w5 = dyadic(5, 1)
    for red in REDS:
        cases += [bce(f"{red}", (4, 5), red), bce(f"{red}_weight", (4, 5), red, w5),
                  bce(f"{red}_weight_full", (4, 5), red, dyadic(20, 2).reshape(4, 5)),
                  bcel(f"{red}", (4, 5), red), bcel(f"{red}_weight", (4, 5), red, w5),
                  bcel(f"{red}_pos_weight", (4, 5), red, pos_weight=dyadic(5, 3)),
                  bcel(f"{red}_weight_pos_weight", (4, 5), red, w5, dyadic(5, 3))]
    # probabilities at exactly 0 and 1: the log is clamped at -100; the input gradient is
    # (x - y) / max(x (1 - x), 1e-12) (up to 1e12: beyond float16/bfloat16 range)
    p01 = Input((2, 4), value=[[0.0, 1.0, 0.0, 1.0], [0.5, 0.0, 1.0, 0.25]])
    y01 = Input((2, 4), value=[[0.0, 1.0, 1.0, 0.0], [1.0, 0.5, 0.25, 0.0]])
    cases += [
        bce("prob_0_1_forward", (2, 4), "none", inputs=(p01, y01), backward=False),
        bce("prob_0_1", (2, 4), "sum", inputs=(p01, y01), dtypes=F32_64),
        bce("hard_targets", (4, 5), "mean",
            inputs=(Input((4, 5), kind="uniform", low=0.02, high=0.98),
                    Input((4, 5), value=_values(5, (4, 5), [0.0, 1.0])))),
        bce("near_0_1", (6,), "none",
            inputs=(Input((6,), value=[2.0 ** -20, 1 - 2.0 ** -20, 2.0 ** -10, 1 - 2.0 ** -10,
                                       2.0 ** -14, 0.5]),
                    Input((6,), value=[1.0, 0.0, 0.5, 0.5, 0.0, 1.0])), dtypes=F32_64),
        bce("scalar", (), "mean"),
        bce("3d_weight_bcast", (2, 3, 4), "mean", dyadic(4, 4)),
        bce("empty_mean", (0, 3), "mean"),
        err("BCELoss", "input_out_of_range",
            (Input((2, 3), value=[[0.5, 1.25, 0.0], [-0.25, 1.0, 0.5]]),
             Input((2, 3), kind="uniform")),
            "input should be between 0 and 1"),
        err("BCELoss", "target_out_of_range",
            (Input((2, 3), kind="uniform"), Input((2, 3), value=[[0.5, 1.5, 0.0], [0.25, 1.0,
                                                                               -0.5]])),
            "target should be between 0 and 1"),
        err("BCELoss", "shape_mismatch", (Input((3, 4), kind="uniform"),
                                          Input((3, 2), kind="uniform")),
            "different to the input size"),
        # BCEWithLogitsLoss: pos_weight broadcast over the class dimension of (N, C, H, W)
        bcel("pos_weight_4d", (2, 3, 2, 2), "mean",
             pos_weight=dyadic(3, 6).reshape(3, 1, 1)),
        bcel("pos_weight_last_dim_3d", (2, 3, 4), "sum", pos_weight=dyadic(4, 7)),
        bcel("extreme_logits", (2, 4), "none",
             inputs=(Input((2, 4), value=[[1e4, -1e4, 80.0, -80.0], [1e4, -1e4, 0.0, 30.0]]),
                     Input((2, 4), value=[[1.0, 0.0, 0.0, 1.0], [0.0, 1.0, 0.5, 0.25]])),
             dtypes=F32_64),
        bcel("extreme_logits_pos_weight", (2, 4), "sum", pos_weight=np.array([2.0, 0.5, 1.0, 3.0]),
             inputs=(Input((2, 4), value=[[1e4, -1e4, 80.0, -80.0], [1e4, -1e4, 0.0, 30.0]]),
                     Input((2, 4), value=[[1.0, 0.0, 0.0, 1.0], [0.0, 1.0, 0.5, 0.25]])),
             dtypes=F32_64),
        bcel("large", (4, 5), "mean", inputs=(Input((4, 5), kind="large"),
                                              Input((4, 5), kind="uniform"))),
        bcel("scalar", (), "sum"),
        bcel("empty_mean", (0, 3), "mean"),
        err("BCEWithLogitsLoss", "shape_mismatch", (Input((3, 4)), Input((3, 2))),
            "different to the input size"),
    ]
    return cases


# ============================================================================ classification

def ce(label: str, shape, red="mean", target=None, weight=None, inner=None, **kw) -> Case:
    """CrossEntropyLoss/NLLLoss-style case: shape (N, C, d...) or (C,); index targets by
    default."""
    op = kw.pop("op", "CrossEntropyLoss")
    kwargs = {"reduction": red, **kw.pop("kwargs", {})}
    if weight is not None:
        kwargs["weight"] = weight
    C = shape[0] if len(shape) == 1 else shape[1]
    batch = () if len(shape) == 1 else (shape[0],) + tuple(shape[2:])
    target = target or Input(batch, kind="int", low=0, high=C)
    x = kw.pop("x", None) or Input(shape)
    inner = C if inner is None else inner
    return loss(op, label, red_rule(red, math.prod(batch), inner), (x, target), kwargs, **kw)


def classification_curated() -> list[Case]:
    cases = []
    X = Input((3, 2), value=[[1.0, 2.0], [1.0, 3.0], [1.0, 3.0]])
    T = Input((3,), kind="int", value=[0, 1, 1])
    for red in REDS:
        cases += [ce(f"worked_{red}", (3, 2), red, T, x=X),
                  ce(f"worked_weight_{red}", (3, 2), red, T, np.array([1.0, 2.0]), x=X)]
    w5 = dyadic(5, 11)
    prob = lambda shape: Input(shape, kind="uniform", low=0.0, high=1.0)  # noqa: E731
    # index targets with -100 (the default ignore_index) at some rows
    t_ign = Input((6,), kind="int", value=[0, -100, 3, 4, -100, 1])
    t_ign2 = Input((6,), kind="int", value=[0, 2, 3, 2, 4, 1])
    for red in REDS:
        cases += [
            ce(f"{red}", (6, 5), red),
            ce(f"{red}_weight", (6, 5), red, weight=w5),
            ce(f"{red}_ignore_default", (6, 5), red, t_ign),
            ce(f"{red}_ignore_2", (6, 5), red, t_ign2, kwargs={"ignore_index": 2}),
            ce(f"{red}_ignore_weight", (6, 5), red, t_ign2, w5, kwargs={"ignore_index": 2}),
            ce(f"{red}_smooth", (6, 5), red, kwargs={"label_smoothing": 0.1}),
            ce(f"{red}_smooth_weight", (6, 5), red, weight=w5, kwargs={"label_smoothing": 0.2}),
            ce(f"{red}_smooth_ignore", (6, 5), red, t_ign2, kwargs={"label_smoothing": 0.1,
                                                                     "ignore_index": 2}),
            ce(f"{red}_smooth_weight_ignore", (6, 5), red, t_ign, w5,
               kwargs={"label_smoothing": 0.3}),
            ce(f"{red}_kdim1", (3, 4, 5), red),
            ce(f"{red}_kdim2_weight_ignore", (2, 4, 3, 2), red,
               Input((2, 3, 2), kind="int", low=-1, high=4), dyadic(4, 12),
               kwargs={"ignore_index": -1}),
            ce(f"{red}_kdim2_smooth", (2, 4, 3, 2), red, kwargs={"label_smoothing": 0.15}),
            ce(f"{red}_unbatched", (5,), red),
            ce(f"{red}_unbatched_weight_smooth", (5,), red, weight=w5,
               kwargs={"label_smoothing": 0.1}),
            # class-probability targets (float, differentiable)
            ce(f"{red}_probs", (6, 5), red, prob((6, 5))),
            ce(f"{red}_probs_weight", (6, 5), red, prob((6, 5)), w5),
            ce(f"{red}_probs_smooth", (6, 5), red, prob((6, 5)), kwargs={"label_smoothing": 0.2}),
            ce(f"{red}_probs_weight_smooth", (6, 5), red, prob((6, 5)), w5,
               kwargs={"label_smoothing": 0.1}),
            ce(f"{red}_probs_kdim2", (2, 4, 3, 2), red, prob((2, 4, 3, 2)), dyadic(4, 13)),
            ce(f"{red}_probs_unbatched", (5,), red, prob((5,))),
        ]
    cases += [
        ce("smooth_1", (6, 5), "mean", kwargs={"label_smoothing": 1.0}),
        ce("ignore_all", (4, 5), "mean", Input((4,), kind="int", value=[-100] * 4)),
        ce("ignore_all_weight", (4, 5), "mean", Input((4,), kind="int", value=[3] * 4), w5,
           kwargs={"ignore_index": 3}),
        ce("ignore_all_smooth", (4, 5), "mean", Input((4,), kind="int", value=[-100] * 4),
           kwargs={"label_smoothing": 0.1}),
        ce("ignore_all_sum", (4, 5), "sum", Input((4,), kind="int", value=[-100] * 4)),
        ce("extreme_logits", (3, 4), "mean", Input((3,), kind="int", value=[0, 1, 3]),
           x=Input((3, 4), value=[[1e4, -1e4, 0.0, 5e3], [1e4, -1e4, 0.0, 5e3],
                                  [-1e4, -1e4, -1e4, -1e4]]), dtypes=F32_64),
        ce("extreme_logits_none_smooth", (3, 4), "none", Input((3,), kind="int", value=[0, 1, 3]),
           x=Input((3, 4), value=[[1e4, -1e4, 0.0, 5e3], [1e4, -1e4, 0.0, 5e3],
                                  [-1e4, -1e4, -1e4, -1e4]]), kwargs={"label_smoothing": 0.1},
           dtypes=F32_64),
        ce("large", (6, 5), "mean", x=Input((6, 5), kind="large")),
        ce("large_probs", (6, 5), "sum", prob((6, 5)), x=Input((6, 5), kind="large")),
        ce("many_classes", (8, 100), "mean"),
        ce("empty_mean", (0, 5), "mean"),
        ce("empty_sum", (0, 5), "sum"),
        ce("empty_none", (0, 5), "none"),
        ce("empty_probs_mean", (0, 5), "mean", prob((0, 5))),
        err("CrossEntropyLoss", "target_out_of_range",
            (Input((3, 4)), Input((3,), kind="int", value=[0, 4, 1])), "out of bounds"),
        err("CrossEntropyLoss", "target_negative",
            (Input((3, 4)), Input((3,), kind="int", value=[0, -3, 1])), "out of bounds"),
        err("CrossEntropyLoss", "batch_mismatch",
            (Input((3, 4)), Input((2,), kind="int", low=0, high=4)), "to match target batch"),
        err("CrossEntropyLoss", "kdim_target_mismatch",
            (Input((2, 4, 3)), Input((2, 2), kind="int", low=0, high=4)), "Expected target size"),
        err("CrossEntropyLoss", "probs_int_target",
            (Input((3, 4)), Input((3, 4), kind="int", low=0, high=2)),
            "Expected floating point type"),
        err("CrossEntropyLoss", "weight_shape", (Input((3, 4)), Input((3,), kind="int", high=4)),
            "weight tensor should be defined", {"weight": np.ones(3)}),
        err("CrossEntropyLoss", "smoothing_above_1",
            (Input((3, 4)), Input((3,), kind="int", high=4)), "label_smoothing must be between",
            {"label_smoothing": 1.5}),
        err("CrossEntropyLoss", "bad_reduction",
            (Input((3, 4)), Input((3,), kind="int", high=4)), "is not a valid value",
            {"reduction": "avg"}),
    ]
    # NLLLoss: input holds log-probabilities (any float); weight, ignore_index, K-dim, unbatched
    nll = lambda *a, **k: ce(*a, op="NLLLoss", inner=1, **k)  # noqa: E731
    for red in REDS:
        cases += [
            nll(f"{red}", (6, 5), red),
            nll(f"{red}_weight", (6, 5), red, weight=w5),
            nll(f"{red}_ignore_default", (6, 5), red, t_ign),
            nll(f"{red}_ignore_weight", (6, 5), red, t_ign2, w5, kwargs={"ignore_index": 2}),
            nll(f"{red}_kdim1", (3, 4, 5), red),
            nll(f"{red}_kdim2_weight_ignore", (2, 4, 3, 2), red,
                Input((2, 3, 2), kind="int", low=-1, high=4), dyadic(4, 14),
                kwargs={"ignore_index": -1}),
            nll(f"{red}_kdim3", (2, 3, 2, 2, 2), red),
            nll(f"{red}_unbatched", (5,), red),
            nll(f"{red}_unbatched_weight", (5,), red, weight=w5),
        ]
    cases += [
        nll("ignore_all", (4, 5), "mean", Input((4,), kind="int", value=[-100] * 4)),
        nll("ignore_all_weight", (4, 5), "mean", Input((4,), kind="int", value=[1] * 4), w5,
            kwargs={"ignore_index": 1}),
        nll("ignore_all_kdim", (2, 3, 2), "mean", Input((2, 2), kind="int", value=[[-100] * 2] * 2)),
        nll("unbatched_ignored", (5,), "mean", Input((), kind="int", value=-100)),
        nll("empty_mean", (0, 5), "mean"),
        nll("empty_sum", (0, 5), "sum"),
        err("NLLLoss", "target_out_of_range",
            (Input((3, 4)), Input((3,), kind="int", value=[0, 4, 1])), "out of bounds"),
        err("NLLLoss", "batch_mismatch",
            (Input((3, 4)), Input((2,), kind="int", high=4)), "to match target batch"),
        err("NLLLoss", "weight_shape", (Input((3, 4)), Input((3,), kind="int", high=4)),
            "weight tensor should be defined", {"weight": np.ones(5)}),
        err("NLLLoss", "float_target", (Input((3, 4)), Input((3,), kind="uniform")),
            "expected target dtype"),
        err("NLLLoss", "unbatched_1d_target", (Input((4,)), Input((2,), kind="int", high=4)),
            "target tensor expected"),
    ]
    return cases


# ============================================================================ margin losses

def margin_curated() -> list[Case]:
    cases = []
    sh = (6,)
    for red in REDS:
        for m in (0.0, 0.5):
            lab = f"{red}_margin{str(m).replace('.', 'p')}"
            cases.append(loss("MarginRankingLoss", lab, red_rule(red, 6),
                              (Input(sh), Input(sh), Input(sh, value=pm1(sh, 21))),
                              {"reduction": red, "margin": m}))
        for m in (1.0, 2.0):
            lab = f"{red}_margin{str(m).replace('.', 'p')}"
            cases.append(loss("HingeEmbeddingLoss", lab, red_rule(red, 20),
                              (Input((4, 5)), Input((4, 5), value=pm1((4, 5), 22),
                                                    requires_grad=False)),
                              {"reduction": red, "margin": m}))
        cases.append(loss("SoftMarginLoss", red, red_rule(red, 20),
                          (Input((4, 5)), Input((4, 5), value=pm1((4, 5), 23),
                                                requires_grad=False)), {"reduction": red}))
    # kinks: hinge arguments exactly 0 (torch's clamp_min passes the gradient there)
    cases += [
        loss("MarginRankingLoss", "kink", reduction(4),
             (Input((4,), value=[1.0, 0.5, -2.0, 3.0]), Input((4,), value=[1.0, 1.0, -1.5, 3.0]),
              Input((4,), value=[1.0, -1.0, 1.0, -1.0])), {"reduction": "sum", "margin": 0.5}),
        loss("MarginRankingLoss", "2d", reduction(12),
             (Input((3, 4)), Input((3, 4)), Input((3, 4), value=pm1((3, 4), 24))),
             {"margin": 0.25}),
        loss("MarginRankingLoss", "empty_mean", reduction(1),
             (Input((0,)), Input((0,)), Input((0,))), {}),
        err("MarginRankingLoss", "ndim_mismatch", (Input((3,)), Input((3,)), Input((3, 1))),
            "should have same dimension"),
        loss("HingeEmbeddingLoss", "kink", reduction(6),
             (Input((6,), value=[1.0, 0.5, 2.0, -1.0, 0.0, 1.0]),
              Input((6,), value=[-1.0, -1.0, -1.0, 1.0, 1.0, -1.0], requires_grad=False)),
             {"reduction": "sum", "margin": 1.0}),
        loss("HingeEmbeddingLoss", "scalar", reduction(1),
             (Input(()), Input((), value=-1.0, requires_grad=False)), {}),
        loss("HingeEmbeddingLoss", "empty_mean", reduction(1),
             (Input((0, 3)), Input((0, 3), requires_grad=False)), {}),
        # |y x| <= 30: no overflow except in float16 (exp overflows past 11.1 there: that is
        # the overflow deviation below, which runs in every dtype)
        loss("SoftMarginLoss", "moderate", reduction(20),
             (Input((4, 5), kind="uniform", low=-30, high=30),
              Input((4, 5), value=pm1((4, 5), 25), requires_grad=False)), {}, dtypes=NOT_F16),
        # exp(-y x) overflows in torch's log1p(exp(-y x)) (documented deviation)
        loss("SoftMarginLoss", "overflow_large", reduction(20),
             (Input((4, 5), kind="large"), Input((4, 5), value=pm1((4, 5), 25),
                                                 requires_grad=False)), {}),
        loss("SoftMarginLoss", "overflow_extreme", elementwise(),
             (Input((4,), value=[1e4, -1e4, 100.0, -100.0]),
              Input((4,), value=[1.0, 1.0, -1.0, -1.0], requires_grad=False)),
             {"reduction": "none"}, dtypes=F32_64),
        err("SoftMarginLoss", "shape_mismatch", (Input((3, 4)), Input((3, 2),
                                                                      requires_grad=False)),
            "must match the size"),
    ]
    # MultiLabelSoftMarginLoss: weight over the classes; soft and hard targets (differentiable)
    for red in REDS:
        for wname, w in (("", None), ("_weight", dyadic(5, 26))):
            kw = {"reduction": red} | ({"weight": w} if w is not None else {})
            cases += [
                loss("MultiLabelSoftMarginLoss", f"{red}{wname}", red_rule(red, 4, 5),
                     (Input((4, 5)), Input((4, 5), kind="uniform")), kw),
                loss("MultiLabelSoftMarginLoss", f"{red}{wname}_hard", red_rule(red, 4, 5),
                     (Input((4, 5)), Input((4, 5), value=_values(27, (4, 5), [0.0, 1.0]))), kw),
            ]
    cases += [
        loss("MultiLabelSoftMarginLoss", "extreme", reduction(4),
             (Input((1, 4), value=[[1e4, -1e4, 100.0, -100.0]]),
              Input((1, 4), value=[[1.0, 0.0, 0.0, 1.0]])), {"reduction": "none"},
             dtypes=F32_64),
        loss("MultiLabelSoftMarginLoss", "unbatched", reduction(5),
             (Input((5,)), Input((5,), kind="uniform")), {}),
        loss("MultiLabelSoftMarginLoss", "empty_mean", reduction(5),
             (Input((0, 5)), Input((0, 5), kind="uniform")), {}),
        err("MultiLabelSoftMarginLoss", "bad_reduction", (Input((3, 4)), Input((3, 4))),
            "is not valid", {"reduction": "avg"}),
    ]
    # MultiMarginLoss: p 1 and 2, margin, weight; unbatched (C,) with a 0-d target
    for red in REDS:
        for p in (1, 2):
            for m in (1.0, 0.5):
                for wname, w in (("", None), ("_weight", dyadic(5, 28))):
                    lab = f"{red}_p{p}_margin{str(m).replace('.', 'p')}{wname}"
                    kw = {"reduction": red, "p": p, "margin": m}
                    if w is not None:
                        kw["weight"] = w
                    cases.append(loss("MultiMarginLoss", lab, red_rule(red, 6, 5),
                                      (Input((6, 5)), Input((6,), kind="int", low=0, high=5)),
                                      kw))
    cases += [
        loss("MultiMarginLoss", "unbatched", reduction(5),
             (Input((5,)), Input((), kind="int", value=2)), {"p": 2}),
        loss("MultiMarginLoss", "kink", reduction(4),
             (Input((1, 4), value=[[1.0, 0.0, 0.5, 2.0]]), Input((1,), kind="int", value=[0])),
             {"reduction": "sum"}),
        # reduced empty batch: torch returns an uninitialised scalar (documented deviation)
        loss("MultiMarginLoss", "empty_mean", reduction(1),
             (Input((0, 5)), Input((0,), kind="int", high=5)), {}),
        loss("MultiMarginLoss", "empty_none", elementwise(),
             (Input((0, 5)), Input((0,), kind="int", high=5)), {"reduction": "none"}),
        err("MultiMarginLoss", "p3", (Input((3, 4)), Input((3,), kind="int", high=4)),
            "only p == 1 and p == 2 supported", {"p": 3}),
        err("MultiMarginLoss", "target_out_of_range",
            (Input((3, 4)), Input((3,), kind="int", value=[0, 4, 1])), "target out of range"),
        err("MultiMarginLoss", "target_size", (Input((3, 4)), Input((2,), kind="int", high=4)),
            "target tensor should be 1-D"),
        err("MultiMarginLoss", "weight_2d", (Input((3, 4)), Input((3,), kind="int", high=4)),
            "weight to be None or 1D", {"weight": np.ones((2, 2))}),
    ]
    # MultiLabelMarginLoss: target rows of class indices ending at the first -1
    mlm_t = [[3, 0, -1, 1, 2], [1, 4, 2, -1, 0], [0, 1, 2, 3, 4], [-1, 2, 1, 0, 3],
             [2, -1, -1, 0, 0]]
    for red in REDS:
        cases.append(loss("MultiLabelMarginLoss", red, red_rule(red, 5, 25),
                          (Input((5, 5)), Input((5, 5), kind="int", value=mlm_t)),
                          {"reduction": red}))
    cases += [
        loss("MultiLabelMarginLoss", "unbatched", reduction(16),
             (Input((4,)), Input((4,), kind="int", value=[1, 2, -1, 0])), {}),
        loss("MultiLabelMarginLoss", "kink", reduction(9),
             (Input((1, 3), value=[[1.0, 0.0, 0.5]]), Input((1, 3), kind="int", value=[[0, -1, 0]])),
             {"reduction": "sum"}),
        # reduced empty batch: torch returns an uninitialised scalar (documented deviation)
        loss("MultiLabelMarginLoss", "empty_mean", reduction(1),
             (Input((0, 4)), Input((0, 4), kind="int", high=4)), {}),
        loss("MultiLabelMarginLoss", "empty_none", elementwise(),
             (Input((0, 4)), Input((0, 4), kind="int", high=4)), {"reduction": "none"}),
        err("MultiLabelMarginLoss", "target_out_of_range",
            (Input((2, 4)), Input((2, 4), kind="int", value=[[1, 5, -1, 0], [0, -1, 0, 0]])),
            "out of range"),
        err("MultiLabelMarginLoss", "shape_mismatch",
            (Input((2, 4)), Input((2, 3), kind="int", value=[[1, -1, 0], [0, -1, 0]])),
            "inconsistent target size"),
    ]
    return cases


# ============================================================================ embedding losses

def sqdist(x1, x2):
    """A custom distance written once for NumPy and torch: the squared Euclidean distance."""
    return ((x1 - x2) ** 2).sum(-1)


def _sqdist_backward(g, x1, x2):
    d = 2.0 * (x1 - x2) * np.asarray(g)[..., None]
    return d, -d


sqdist.backward = _sqdist_backward


def l1dist(x1, x2):
    """The L1 distance, for NumPy and torch (abs and sum are common to both)."""
    return abs(x1 - x2).sum(-1)


def _l1dist_backward(g, x1, x2):
    d = np.sign(x1 - x2) * np.asarray(g)[..., None]
    return d, -d


l1dist.backward = _l1dist_backward


def embedding_curated() -> list[Case]:
    cases = []
    D = 6
    t = Input((5,), kind="int", value=[1, -1, 1, -1, -1])
    for red in REDS:
        for m in (0.0, 0.5, -0.5):
            lab = f"{red}_margin{str(m).replace('.', 'p').replace('-', 'm')}"
            cases.append(loss("CosineEmbeddingLoss", lab, red_rule(red, 5, D),
                              (Input((5, D)), Input((5, D)), t), {"reduction": red, "margin": m}))
    cases += [
        loss("CosineEmbeddingLoss", "unbatched", reduction(D),
             (Input((D,)), Input((D,)), Input((), kind="int", value=-1)), {}),
        loss("CosineEmbeddingLoss", "float_target", reduction(5 * D),
             (Input((5, D)), Input((5, D)), Input((5,), value=pm1((5,), 31), requires_grad=False)),
             {"reduction": "sum"}),
        loss("CosineEmbeddingLoss", "zero_vector", reduction(3 * 4),
             (Input((3, 4), value=[[0.0] * 4, [1.0, 2.0, 0.0, -1.0], [0.5, 0.5, 0.5, 0.5]]),
              Input((3, 4)), Input((3,), kind="int", value=[1, -1, -1])), {"reduction": "sum"}),
        loss("CosineEmbeddingLoss", "empty_sum", reduction(1),
             (Input((0, D)), Input((0, D)), Input((0,), kind="int", high=1)),
             {"reduction": "sum"}),
        err("CosineEmbeddingLoss", "target_2d",
            (Input((3, 4)), Input((3, 4)), Input((3, 1), kind="int", value=[[1], [1], [-1]])),
            "0D or 1D target tensor expected"),
        err("CosineEmbeddingLoss", "target_1d_inputs_1d",
            (Input((4,)), Input((4,)), Input((1,), kind="int", value=[1])),
            "1D target tensor expects 2D input"),
    ]
    a, p, n = Input((5, D)), Input((5, D)), Input((5, D))
    for red in REDS:
        for pn in (1.0, 2.0, 3.0):
            for swap in (False, True):
                lab = f"{red}_p{int(pn)}_swap{int(swap)}"
                cases.append(loss("TripletMarginLoss", lab, red_rule(red, 5, D), (a, p, n),
                                  {"reduction": red, "p": pn, "swap": swap}))
    cases += [
        loss("TripletMarginLoss", "margin_2p5", reduction(5 * D), (a, p, n), {"margin": 2.5}),
        loss("TripletMarginLoss", "margin_0p1_swap", reduction(5 * D), (a, p, n),
             {"margin": 0.1, "swap": True, "reduction": "sum"}),
        loss("TripletMarginLoss", "eps_0p5", reduction(5 * D), (a, p, n), {"eps": 0.5}),
        loss("TripletMarginLoss", "unbatched", reduction(D),
             (Input((D,)), Input((D,)), Input((D,))), {"margin": 3.0}),
        loss("TripletMarginLoss", "empty_sum", reduction(1),
             (Input((0, D)), Input((0, D)), Input((0, D))), {"reduction": "sum"}),
        err("TripletMarginLoss", "margin_zero", (a, p, n), "margin to be greater than 0",
            {"margin": 0.0}),
        err("TripletMarginLoss", "ndim_mismatch", (Input((5, D)), Input((5, D)), Input((D,))),
            "same number of dimensions"),
    ]
    for red in REDS:
        for swap in (False, True):
            cases.append(loss("TripletMarginWithDistanceLoss", f"{red}_default_swap{int(swap)}",
                              red_rule(red, 5, D), (a, p, n), {"reduction": red, "swap": swap}))
            for name, fn in (("sqdist", sqdist), ("l1dist", l1dist)):
                cases.append(loss("TripletMarginWithDistanceLoss", f"{red}_{name}_swap{int(swap)}",
                                  red_rule(red, 5, D), (a, p, n),
                                  {"reduction": red, "swap": swap, "distance_function": fn}))
    cases += [
        loss("TripletMarginWithDistanceLoss", "sqdist_margin_4", reduction(5 * D), (a, p, n),
             {"margin": 4.0, "distance_function": sqdist}),
        loss("TripletMarginWithDistanceLoss", "unbatched", reduction(D),
             (Input((D,)), Input((D,)), Input((D,))), {"margin": 2.0}),
        err("TripletMarginWithDistanceLoss", "margin_negative", (a, p, n),
            "margin to be greater than 0", {"margin": -1.0}),
    ]
    return cases


# ============================================================================ CTC

def ctc(label: str, T: int, N: int | None, C: int, targets: Input, il, tl, red="mean",
        blank=0, zero_infinity=False, backward=False, **kw) -> Case:
    """log_probs (T, N, C) (or (T, C) when N is None) from log_softmax of normal logits --
    written explicitly so they are normalised like torch's documented input."""
    shape = (T, C) if N is None else (T, N, C)
    z = np.random.default_rng(zlib.crc32(label.encode())).standard_normal(shape)
    lp = z - np.log(np.exp(z).sum(-1, keepdims=True))
    S = int(np.max(tl))   # the longest target: its extended label has 2 S + 1 states
    n = 1 if N is None else N
    inner = T * (2 * S + 1)
    rule = reduction(inner) if red == "none" else reduction(n * inner)
    lens = lambda v: Input(np.shape(v), kind="int", value=v)  # noqa: E731
    return loss("CTCLoss", label, rule,
                (Input(shape, value=lp.tolist()), targets, lens(il), lens(tl)),
                {"reduction": red, "blank": blank, "zero_infinity": zero_infinity},
                backward=backward, **kw)


def ctc_curated() -> list[Case]:
    cases = []
    T, N, C = 8, 3, 5
    padded = Input((N, 4), kind="int", value=[[1, 2, 2, 3], [4, 1, 0, 0], [3, 3, 1, 4]])
    concat = Input((9,), kind="int", value=[1, 2, 2, 3, 4, 1, 3, 3, 1])
    il, tl = [8, 6, 7], [4, 2, 3]
    padded_b4 = Input((N, 4), kind="int", value=[[1, 2, 2, 3], [0, 1, 4, 4], [3, 3, 1, 0]])
    # impossible alignment in sample 1: 3 labels with a repeat need 4 frames, it has 3
    imp_il = [8, 3, 7]
    imp_t = Input((N, 4), kind="int", value=[[1, 2, 2, 3], [2, 2, 1, 0], [3, 3, 1, 4]])
    for grad in (False, True):
        g = "grad_" if grad else ""
        for red in REDS:
            cases += [
                ctc(f"{g}{red}_padded", T, N, C, padded, il, tl, red, backward=grad),
                ctc(f"{g}{red}_concat", T, N, C, concat, il, tl, red, backward=grad),
                ctc(f"{g}{red}_blank4", T, N, C, padded_b4, il, tl, red, blank=4, backward=grad),
                ctc(f"{g}{red}_zero_infinity", T, N, C, imp_t, imp_il, [4, 3, 3], red,
                    zero_infinity=True, backward=grad),
            ]
        cases += [
            ctc(f"{g}unbatched", T, None, C, Input((4,), kind="int", value=[1, 2, 2, 3]),
                7, 4, "mean", backward=grad),
            ctc(f"{g}empty_target", T, N, C, padded, il, [0, 2, 0], "mean", backward=grad),
            ctc(f"{g}full_length_lp", T, N, C, padded, [8, 8, 8], tl, "sum", backward=grad),
        ]
    cases += [
        # an impossible alignment without zero_infinity: loss inf (forward only)
        ctc("impossible_inf", T, N, C, imp_t, imp_il, [4, 3, 3], "none"),
        ctc("impossible_inf_sum", T, N, C, imp_t, imp_il, [4, 3, 3], "sum"),
        err("CTCLoss", "blank_out_of_range",
            ctc("x", T, N, C, padded, il, tl).inputs, "blank must be in label range",
            {"blank": 5}),
        err("CTCLoss", "input_length_too_long",
            ctc("x", T, N, C, padded, [9, 6, 7], tl).inputs, "input_lengths"),
        err("CTCLoss", "target_length_too_long",
            ctc("x", T, N, C, padded, il, [5, 2, 3]).inputs, "targets"),
        err("CTCLoss", "lengths_size",
            ctc("x", T, N, C, padded, [8, 6], tl).inputs, "must have size"),
    ]
    return cases


# ============================================================================ LinearCrossEntropyLoss

def lce(label: str, in_f: int, C: int, batch: tuple[int, ...] = (6,), out=(), red="mean",
        bias=False, weight=None, target=None, **kw) -> Case:
    kwargs = {"in_features": in_f, "num_classes": C, "out_features": tuple(out), "bias": bias,
              "reduction": red, **kw.pop("kwargs", {})}
    if weight is not None:
        kwargs["weight"] = weight
    P = math.prod(out)
    rows = math.prod(batch) * P
    target = target or Input(batch + tuple(out), kind="int", low=0, high=C)
    # contractions: logits over in_f; input grad over C * P; weight grad over batch rows;
    # a reduced loss sums rows * C terms
    k = max(in_f, C * P, math.prod(batch), rows * C if red != "none" else C)
    return loss("LinearCrossEntropyLoss", label, matmul(k),
                (Input(batch + (in_f,)), target), kwargs, **kw)


def lce_curated() -> list[Case]:
    cases = []
    w5 = dyadic(5, 51)
    t_ign = Input((6,), kind="int", value=[0, 1, 3, 1, 4, 2])
    for red in REDS:
        for bias in (False, True):
            b = "_bias" if bias else ""
            cases += [
                lce(f"{red}{b}", 4, 5, red=red, bias=bias),
                lce(f"{red}{b}_weight", 4, 5, red=red, bias=bias, weight=w5),
                lce(f"{red}{b}_ignore", 4, 5, red=red, bias=bias, target=t_ign,
                    kwargs={"ignore_index": 1}),
                lce(f"{red}{b}_smooth_weight_ignore", 4, 5, red=red, bias=bias, weight=w5,
                    target=t_ign, kwargs={"ignore_index": 1, "label_smoothing": 0.2}),
                lce(f"{red}{b}_kdim1", 3, 4, out=(3,), red=red, bias=bias),
                lce(f"{red}{b}_kdim2_weight", 3, 4, (2,), out=(2, 3), red=red, bias=bias,
                    weight=dyadic(4, 52)),
                lce(f"{red}{b}_probs", 4, 5, red=red, bias=bias,
                    target=Input((6, 5), kind="uniform")),
            ]
    cases += [
        lce("smooth", 4, 5, kwargs={"label_smoothing": 0.1}),
        lce("probs_smooth_weight", 4, 5, weight=w5, target=Input((6, 5), kind="uniform"),
            kwargs={"label_smoothing": 0.1}),
        lce("probs_kdim1", 3, 4, out=(3,), target=Input((6, 4, 3), kind="uniform")),
        lce("unbatched", 4, 5, (), bias=True),
        lce("unbatched_probs", 4, 5, (), target=Input((5,), kind="uniform")),
        lce("big", 32, 50, (16,), bias=True),
        lce("ignore_all", 4, 5, target=Input((6,), kind="int", value=[-100] * 6)),
        lce("empty_sum", 4, 5, (0,), red="sum"),
        err("LinearCrossEntropyLoss", "target_out_of_range",
            (Input((3, 4)), Input((3,), kind="int", value=[0, 5, 1])), "out of bounds",
            {"in_features": 4, "num_classes": 5}),
        err("LinearCrossEntropyLoss", "in_features_mismatch",
            (Input((3, 5)), Input((3,), kind="int", high=5)), "in_features",
            {"in_features": 4, "num_classes": 5}),
        err("LinearCrossEntropyLoss", "kdim_unbatched",
            (Input((4,)), Input((3,), kind="int", high=5)), "requires batched input",
            {"in_features": 4, "num_classes": 5, "out_features": (3,)}),
        err("LinearCrossEntropyLoss", "probs_with_ignore_index",
            (Input((3, 4)), Input((3, 5), kind="uniform")),
            "ignore_index cannot be specified", {"in_features": 4, "num_classes": 5,
                                                 "ignore_index": 1}),
        err("LinearCrossEntropyLoss", "weight_shape",
            (Input((3, 4)), Input((3,), kind="int", high=5)), "expected weight shape",
            {"in_features": 4, "num_classes": 5, "weight": np.ones(4)}),
        err("LinearCrossEntropyLoss", "input_3d",
            (Input((2, 3, 4)), Input((2, 3), kind="int", high=5)),
            "dimensionality 1 or 2", {"in_features": 4, "num_classes": 5}),
    ]
    return cases


# ============================================================================ AdaptiveLogSoftmax

def asm_params(in_f: int, n_classes: int, cutoffs, div_value: float, head_bias: bool,
               seed: int) -> dict:
    """Parameters at torch's initial scale (Linear's U(-1/sqrt(fan_in), 1/sqrt(fan_in))),
    multiples of 1/32 so they are exact in every dtype. Used by the log_prob/predict cases: with
    N(0, 1) parameters one class dominates, log p is within rounding of 0, and the forward-only
    method path carries no error scale (see the module docstring)."""
    r = np.random.default_rng(seed)

    def lin(rows, fan_in):
        b = max(1, int(32 / math.sqrt(fan_in)))
        return r.integers(-b, b + 1, size=(rows, fan_in)) / 32.0

    cut = list(cutoffs) + [n_classes]
    params = {"head.weight": lin(cut[0] + len(cutoffs), in_f)}
    if head_bias:
        params["head.bias"] = r.integers(-8, 9, size=cut[0] + len(cutoffs)) / 32.0
    for i in range(len(cutoffs)):
        hsz = int(in_f // (div_value ** (i + 1)))
        params[f"tail.{i}.0.weight"] = lin(hsz, in_f)
        params[f"tail.{i}.1.weight"] = lin(cut[i + 1] - cut[i], hsz)
    return params


def asm(label: str, in_f: int, n_classes: int, cutoffs, batch=(8,), div_value=4.0,
        head_bias=False, target=None, method=None, **kw) -> Case:
    kwargs = {"in_features": in_f, "n_classes": n_classes, "cutoffs": list(cutoffs),
              "div_value": div_value, "head_bias": head_bias}
    B = math.prod(batch)
    k = max(in_f, n_classes, B)
    inputs = [Input(batch + (in_f,))]
    if method is None:
        inputs.append(target or Input(batch, kind="int", low=0, high=n_classes))
    extra = {"method": method} if method else {}
    if method:
        kw.setdefault("params", asm_params(in_f, n_classes, cutoffs, div_value, head_bias,
                                           zlib.crc32(label.encode())))
    rule = exact() if method == "predict" else matmul(k)
    return loss("AdaptiveLogSoftmaxWithLoss", label, rule, inputs, kwargs,
                backward=method is None, extra=extra, **kw)


def asm_curated() -> list[Case]:
    cases = []
    configs = [("c3_6", 16, 10, [3, 6], 4.0), ("c5", 8, 12, [5], 2.0),
               ("c2_5_8", 16, 12, [2, 5, 8], 2.0), ("c4_div1", 6, 9, [4], 1.0)]
    for name, in_f, nc, cut, div in configs:
        for hb in (False, True):
            lab = f"{name}{'_head_bias' if hb else ''}"
            cases += [asm(lab, in_f, nc, cut, div_value=div, head_bias=hb),
                      asm(f"log_prob_{lab}", in_f, nc, cut, div_value=div, head_bias=hb,
                          method="log_prob"),
                      asm(f"predict_{lab}", in_f, nc, cut, div_value=div, head_bias=hb,
                          method="predict")]
    cases += [
        # every target in the shortlist; every target in the last cluster
        asm("shortlist_only", 16, 10, [3, 6], target=Input((8,), kind="int", low=0, high=3)),
        asm("tail_only", 16, 10, [3, 6], target=Input((8,), kind="int", low=6, high=10)),
        asm("unbatched", 16, 10, [3, 6], (), head_bias=True),
        # torch's log_prob and predict take a 2-D minibatch only
        asm("log_prob_unbatched", 16, 10, [3, 6], (), method="log_prob",
            expect_error="Dimension out of range"),
        asm("predict_unbatched", 16, 10, [3, 6], (), method="predict",
            expect_error="Dimension out of range"),
        asm("big", 32, 40, [8, 20], (32,), head_bias=True),
        err("AdaptiveLogSoftmaxWithLoss", "target_out_of_range",
            (Input((3, 8)), Input((3,), kind="int", value=[0, 10, 1])),
            "Target values should be in", {"in_features": 8, "n_classes": 10, "cutoffs": [3, 6]}),
        err("AdaptiveLogSoftmaxWithLoss", "batch_mismatch",
            (Input((3, 8)), Input((2,), kind="int", high=10)),
            "same size in the batch dimension",
            {"in_features": 8, "n_classes": 10, "cutoffs": [3, 6]}),
        err("AdaptiveLogSoftmaxWithLoss", "target_2d",
            (Input((3, 8)), Input((3, 1), kind="int", high=10)),
            "multi-target not supported", {"in_features": 8, "n_classes": 10, "cutoffs": [3, 6]}),
        err("AdaptiveLogSoftmaxWithLoss", "cutoffs_unsorted",
            (Input((3, 8)), Input((3,), kind="int", high=10)), "cutoffs should be a sequence",
            {"in_features": 8, "n_classes": 10, "cutoffs": [6, 3]}),
        err("AdaptiveLogSoftmaxWithLoss", "cutoff_too_large",
            (Input((3, 8)), Input((3,), kind="int", high=10)), "cutoffs should be a sequence",
            {"in_features": 8, "n_classes": 10, "cutoffs": [3, 10]}),
    ]
    return cases


# ============================================================================ the catalog

def curated() -> list[Case]:
    return (mse_curated() + regression_curated() + probabilistic_curated() + binary_curated()
            + classification_curated() + margin_curated() + embedding_curated() + ctc_curated()
            + lce_curated() + asm_curated())


@cases_from(curated)
def test_loss(case, backend, conform):
    conform(case, backend)


# ============================================================================ generated

@st.composite
def mse_cases(draw, dtype: str) -> Case:
    shape = tuple(draw(st.lists(st.integers(1, 6), min_size=0, max_size=3)))
    red = draw(st.sampled_from(["none", "mean", "sum"]))
    return mse(content_label("h", shape=shape, red=red), shape, red).with_dtype(dtype)


@generated()
@given(data=st.data())
def test_loss_generated(data, dtype, backend, conform):
    conform(data.draw(mse_cases(dtype)), backend, generated=True)


_shape = st.lists(st.integers(1, 5), min_size=0, max_size=3).map(tuple)
_red = st.sampled_from(REDS)


@st.composite
def pointwise_cases(draw, dtype: str) -> Case:
    """L1, SmoothL1 (beta incl. 0), Huber, Poisson, Gaussian, KLDiv, BCE, BCEWithLogits,
    SoftMargin, HingeEmbedding, MarginRanking over shapes and options."""
    op = draw(st.sampled_from(["L1Loss", "SmoothL1Loss", "HuberLoss", "PoissonNLLLoss",
                               "GaussianNLLLoss", "KLDivLoss", "BCELoss", "BCEWithLogitsLoss",
                               "SoftMarginLoss", "HingeEmbeddingLoss", "MarginRankingLoss"]))
    shape, red = draw(_shape), draw(_red)
    n = math.prod(shape)
    seed = draw(st.integers(0, 2 ** 16))
    opts: dict = {}
    if op == "SmoothL1Loss":
        opts["beta"] = draw(st.sampled_from([0.0, 0.25, 1.0, 3.0]))
    elif op == "HuberLoss":
        opts["delta"] = draw(st.sampled_from([0.25, 1.0, 3.0]))
    elif op == "PoissonNLLLoss":
        opts = {"log_input": draw(st.booleans()), "full": draw(st.booleans())}
    elif op == "GaussianNLLLoss":
        opts = {"full": draw(st.booleans())}
    elif op == "KLDivLoss":
        opts = {"log_target": draw(st.booleans())}
        red = draw(st.sampled_from(REDS + ("batchmean",)))
    elif op in ("HingeEmbeddingLoss", "MarginRankingLoss"):
        opts = {"margin": draw(st.sampled_from([0.0, 0.5, 1.0] if op == "MarginRankingLoss"
                                               else [0.5, 1.0, 2.0]))}
    elif op == "BCEWithLogitsLoss" and shape and draw(st.booleans()):
        opts = {"pos_weight": dyadic(shape[-1], seed)}
    elif op == "BCELoss" and shape and draw(st.booleans()):
        opts = {"weight": dyadic(shape[-1], seed)}
    x = Input(shape)
    y = Input(shape)
    inputs: tuple = (x, y)
    if op == "PoissonNLLLoss":
        inputs = (Input(shape, kind="normal" if opts["log_input"] else "positive"),
                  Input(shape, kind="uniform", low=0.0, high=4.0))
    elif op == "GaussianNLLLoss":
        inputs = (x, y, Input(shape, kind="positive"))
    elif op == "KLDivLoss" and not opts["log_target"]:
        inputs = (x, Input(shape, kind="uniform"))
    elif op == "BCELoss":
        inputs = (Input(shape, kind="uniform", low=0.02, high=0.98), Input(shape, kind="uniform"))
    elif op == "BCEWithLogitsLoss":
        inputs = (x, Input(shape, kind="uniform"))
    elif op in ("SoftMarginLoss", "HingeEmbeddingLoss"):
        inputs = (x, Input(shape, value=pm1(shape, seed), requires_grad=False))
    elif op == "MarginRankingLoss":
        inputs = (x, Input(shape), Input(shape, value=pm1(shape, seed)))
    label = content_label("h", op=op, shape=shape, red=red, seed=seed,
                          opts={k: (v.tolist() if isinstance(v, np.ndarray) else v)
                                for k, v in opts.items()})
    rule = elementwise() if red == "none" else reduction(n)
    return loss(op, label, rule, inputs, {"reduction": red, **opts}).with_dtype(dtype)


@generated()
@given(data=st.data())
def test_pointwise_generated(data, dtype, backend, conform):
    conform(data.draw(pointwise_cases(dtype)), backend, generated=True)


@st.composite
def class_cases(draw, dtype: str) -> Case:
    """CrossEntropyLoss (index and probability targets) and NLLLoss over shapes and options."""
    op = draw(st.sampled_from(["CrossEntropyLoss", "NLLLoss"]))
    C = draw(st.integers(1, 8))
    kdims = tuple(draw(st.lists(st.integers(1, 3), min_size=0, max_size=2)))
    unbatched = draw(st.booleans()) and not kdims
    N = draw(st.integers(1, 6))
    shape = (C,) if unbatched else (N, C) + kdims
    red = draw(_red)
    seed = draw(st.integers(0, 2 ** 16))
    kwargs: dict = {}
    if draw(st.booleans()):
        kwargs["weight"] = dyadic(C, seed)
    probs = op == "CrossEntropyLoss" and draw(st.booleans())
    if op == "CrossEntropyLoss" and draw(st.booleans()):
        kwargs["label_smoothing"] = draw(st.sampled_from([0.05, 0.1, 0.5]))
    batch = () if unbatched else (N,) + kdims
    if probs:
        target = Input(shape, kind="uniform")
    else:
        ignore = draw(st.sampled_from([None, -1, 0]))
        if ignore is not None:
            kwargs["ignore_index"] = ignore
        target = Input(batch, kind="int", low=-1 if ignore == -1 else 0, high=C)
    label = content_label("h", op=op, shape=shape, red=red, seed=seed, probs=probs,
                          kw={k: (v.tolist() if isinstance(v, np.ndarray) else v)
                              for k, v in kwargs.items()})
    inner = C if op == "CrossEntropyLoss" else 1
    case = ce(label, shape, red, target, kwargs.pop("weight", None), op=op, inner=inner,
              kwargs=kwargs)
    return case.with_dtype(dtype)


@generated()
@given(data=st.data())
def test_classification_generated(data, dtype, backend, conform):
    conform(data.draw(class_cases(dtype)), backend, generated=True)


@st.composite
def row_cases(draw, dtype: str) -> Case:
    """Row losses over a class/feature dimension: MultiMargin, MultiLabelSoftMargin, Cosine,
    Triplet, TripletWithDistance."""
    op = draw(st.sampled_from(["MultiMarginLoss", "MultiLabelSoftMarginLoss",
                               "CosineEmbeddingLoss", "TripletMarginLoss",
                               "TripletMarginWithDistanceLoss"]))
    N, D = draw(st.integers(1, 6)), draw(st.integers(1, 8))
    red = draw(_red)
    seed = draw(st.integers(0, 2 ** 16))
    kw: dict = {"reduction": red}
    if op == "MultiMarginLoss":
        kw |= {"p": draw(st.sampled_from([1, 2])), "margin": draw(st.sampled_from([0.5, 1.0]))}
        if draw(st.booleans()):
            kw["weight"] = dyadic(D, seed)
        inputs = (Input((N, D)), Input((N,), kind="int", low=0, high=D))
    elif op == "MultiLabelSoftMarginLoss":
        if draw(st.booleans()):
            kw["weight"] = dyadic(D, seed)
        inputs = (Input((N, D)), Input((N, D), kind="uniform"))
    elif op == "CosineEmbeddingLoss":
        kw["margin"] = draw(st.sampled_from([-0.5, 0.0, 0.5]))
        inputs = (Input((N, D)), Input((N, D)),
                  Input((N,), kind="int", value=[int(v) for v in pm1((N,), seed)]))
    else:
        kw["swap"] = draw(st.booleans())
        kw["margin"] = draw(st.sampled_from([0.5, 1.0, 2.0]))
        if op == "TripletMarginLoss":
            kw["p"] = draw(st.sampled_from([1.0, 2.0, 3.0]))
        elif draw(st.booleans()):
            kw["distance_function"] = draw(st.sampled_from([sqdist, l1dist]))
        inputs = (Input((N, D)), Input((N, D)), Input((N, D)))
    label = content_label("h", op=op, N=N, D=D, seed=seed,
                          kw={k: (v.tolist() if isinstance(v, np.ndarray) else
                                  getattr(v, "__name__", v)) for k, v in kw.items()})
    return loss(op, label, red_rule(red, N, D), inputs, kw).with_dtype(dtype)


@generated()
@given(data=st.data())
def test_row_generated(data, dtype, backend, conform):
    conform(data.draw(row_cases(dtype)), backend, generated=True)


@st.composite
def model_cases(draw, dtype: str) -> Case:
    """LinearCrossEntropyLoss and AdaptiveLogSoftmaxWithLoss over sizes and options."""
    seed = draw(st.integers(0, 2 ** 16))
    if draw(st.booleans()):
        in_f, C = draw(st.integers(1, 8)), draw(st.integers(2, 8))
        out = tuple(draw(st.lists(st.integers(1, 3), min_size=0, max_size=2)))
        batch = (draw(st.integers(1, 6)),)
        red = draw(_red)
        kwargs: dict = {}
        if draw(st.booleans()):
            kwargs["label_smoothing"] = draw(st.sampled_from([0.1, 0.3]))
        bias = draw(st.booleans())
        weight = dyadic(C, seed) if draw(st.booleans()) else None
        label = content_label("hl", i=in_f, C=C, out=out, b=batch, red=red, bias=bias,
                              w=weight is not None, kw=kwargs, seed=seed)
        return lce(label, in_f, C, batch, out, red, bias, weight, kwargs=kwargs).with_dtype(dtype)
    in_f = draw(st.integers(8, 16))
    n_classes = draw(st.integers(3, 16))
    ncut = draw(st.integers(1, min(3, n_classes - 1)))
    cut = sorted(draw(st.lists(st.integers(1, n_classes - 1), min_size=ncut, max_size=ncut,
                               unique=True)))
    div = draw(st.sampled_from([1.0, 2.0]))
    hb = draw(st.booleans())
    B = draw(st.integers(1, 8))
    method = draw(st.sampled_from([None, None, "log_prob"]))
    label = content_label("ha", i=in_f, n=n_classes, cut=cut, div=div, hb=hb, B=B, m=method)
    return asm(label, in_f, n_classes, cut, (B,), div, hb, method=method).with_dtype(dtype)


@generated()
@given(data=st.data())
def test_model_generated(data, dtype, backend, conform):
    conform(data.draw(model_cases(dtype)), backend, generated=True)


@st.composite
def sequence_cases(draw, dtype: str) -> Case:
    """CTCLoss (forward; padded or concatenated targets, blank, zero_infinity, lengths) and
    MultiLabelMarginLoss (targets ending at a -1)."""
    seed = draw(st.integers(0, 2 ** 16))
    red = draw(_red)
    r = np.random.default_rng(seed)
    if draw(st.booleans()):
        N, C = draw(st.integers(1, 5)), draw(st.integers(2, 6))
        rows = []
        for _ in range(N):
            k = draw(st.integers(0, C))
            labels = list(r.permutation(C)[:k]) + [-1] + list(r.integers(0, C, C))
            rows.append([int(v) for v in labels[:C]])
        label = content_label("hm", N=N, C=C, red=red, t=rows)
        return loss("MultiLabelMarginLoss", label, red_rule(red, N, C * C),
                    (Input((N, C)), Input((N, C), kind="int", value=rows)),
                    {"reduction": red}).with_dtype(dtype)
    T, N, C = draw(st.integers(1, 10)), draw(st.integers(1, 4)), draw(st.integers(2, 6))
    blank = draw(st.integers(0, C - 1))
    S = draw(st.integers(1, 5))
    labels = [c for c in range(C) if c != blank]
    tl = [draw(st.integers(0, S)) for _ in range(N)]
    il = [draw(st.integers(0, T)) for _ in range(N)]
    padded = r.choice(labels, size=(N, S)).astype(int)
    if draw(st.booleans()):
        targets = Input((N, S), kind="int", value=padded.tolist())
    else:
        flat = [int(v) for n in range(N) for v in padded[n, :tl[n]]]
        targets = Input((len(flat),), kind="int", value=flat)
    zi = draw(st.booleans())
    label = content_label("hc", T=T, N=N, C=C, b=blank, il=il, tl=tl, red=red, zi=zi, seed=seed,
                          t=targets.value)
    case = ctc(label, T, N, C, targets, il, tl, red, blank=blank, zero_infinity=zi)
    return case.with_dtype(dtype)


@generated()
@given(data=st.data())
def test_sequence_generated(data, dtype, backend, conform):
    conform(data.draw(sequence_cases(dtype)), backend, generated=True)
