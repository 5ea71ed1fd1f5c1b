"""Dropout family: nn.Dropout, Dropout1d, Dropout2d, Dropout3d, AlphaDropout, FeatureAlphaDropout.

How a random module is judged (harness/random_ops.py): the backend draws its own mask; the
harness reads it back from the output (``reference.functional.infer_dropout_mask``), reruns the
reference with that mask and compares output and gradient under the usual rule, then tests the
keep count against Binomial(n, 1 - p) (exact two-sided binomial test at alpha = 1e-6 per case).

Exact checks (every training case): survivors are x / (1 - p) (with p = 0.5 and p = 0.75 the
scale is exactly 2 or 4, and those cases use the ``exact`` rule: not one ulp of slack), dropped
entries are exactly 0; the Nd variants and FeatureAlphaDropout zero whole channels (a mask drawn
per element cannot be explained by any channel mask, so the output mismatches); the gradient is
g times the forward's mask and scale; AlphaDropout maps kept entries to a x - alpha' a p and
dropped ones to a alpha' (1 - p). Eval mode and p = 0 are the identity, p = 1 gives x * 0 and a
zero gradient, in train and eval, for every variant.

Statistical power (alpha = 1e-6 per case, so a false alarm among the 67 random training cases
per dtype has probability < 1e-4). ``stat`` cases have 8192 elements (element dropout) or
2048 channels (N * C, channel dropout):
- elementwise, p = 0.2: sd of the keep count sqrt(8192 * 0.16) = 36; the test rejects beyond
  4.89 sd = 177 elements, so a keep rate wrong by 0.05 (p = 0.25 used for 0.2: 410 elements
  off) is detected with probability > 1 - 1e-9, and keeping with probability p instead of 1 - p
  with certainty;
- channel-wise, p = 0.2: sd sqrt(2048 * 0.16) = 18, threshold 89 channels: a keep rate off by
  0.1 (205 channels) is detected with probability > 1 - 1e-9 (0.05 off: about 0.77); swapped p
  with certainty;
- an unscaled survivor (x instead of x / (1 - p)), a mask not reused by the backward, or
  element masks in a channel variant fail the exact check whatever the draw.
Inputs are N(0, 1) (no exact zeros, where kept and dropped look alike); NaN inputs make the
draw unobservable (both candidates are NaN), so cases with NaN check the forward only.
"""

import math

from hypothesis import given, strategies as st

from harness.cases import Case, cases_from, generated, Input, content_label
from harness.tolerance import elementwise, exact

NAN, INF = math.nan, math.inf

STANDARD = ("nn.Dropout", "nn.Dropout1d", "nn.Dropout2d", "nn.Dropout3d")
ALPHA = ("nn.AlphaDropout", "nn.FeatureAlphaDropout")

#: statistical sample shapes: 8192 elements, or 2048 channels (N * C)
STAT_SHAPES = {"nn.Dropout": (64, 128), "nn.AlphaDropout": (64, 128),
               "nn.Dropout1d": (64, 32, 3), "nn.Dropout2d": (64, 32, 2, 2),
               "nn.Dropout3d": (32, 64, 1, 2, 2), "nn.FeatureAlphaDropout": (64, 32, 4)}
#: small shapes for the structural cases
SMALL_SHAPES = {"nn.Dropout": (4, 5), "nn.AlphaDropout": (4, 5), "nn.Dropout1d": (3, 4, 5),
                "nn.Dropout2d": (2, 4, 3, 3), "nn.Dropout3d": (2, 3, 2, 2, 2),
                "nn.FeatureAlphaDropout": (3, 4, 5)}
#: other accepted input ranks: unbatched forms and torch's historical interpretations
OTHER_SHAPES = {
    "nn.Dropout": {"scalar": (), "rank1": (64,), "rank5": (2, 3, 2, 2, 4)},
    "nn.AlphaDropout": {"rank1": (64,), "rank4": (2, 3, 4, 4)},
    "nn.Dropout1d": {"unbatched": (256, 3)},                 # (C, L): mask (C,)
    "nn.Dropout2d": {"unbatched_chw_as_ncl": (16, 8, 5)},    # 3-D is (N, C, L), torch warns
    "nn.Dropout3d": {"unbatched": (64, 2, 2, 2)},            # (C, D, H, W): mask (C,)
    "nn.FeatureAlphaDropout": {"rank4_dim0_batch": (8, 16, 2, 2), "rank2": (32, 16)},
}


def _rule(op: str, p: float):
    # p = 0.5 and 0.75: 1/(1-p) = 2, 4 exactly, so x * (m / (1-p)) is exact in every dtype
    if op in STANDARD and p in (0.5, 0.75):
        return exact()
    return elementwise()


def drop(op: str, label: str, shape, mode: str = "train", p: float | None = None, *,
         kind: str = "normal", data=None, backward: bool = True, sampler: bool = True,
         expect_error: str = "", low: float = 0.0, high: float = 1.0, **kwargs) -> Case:
    kw = dict(kwargs)
    if p is not None:
        kw["p"] = p
    if data is not None:
        shape = _shape_of(data)
    p_eff = 0.5 if p is None else p
    extra = {"sampler": "dropout"} if sampler and not expect_error else {}
    if op in ALPHA and kind == "normal" and data is None:
        # Alpha dropout's input is a SELU output, > -alpha' = -1.758. At x = -alpha' a kept and
        # a dropped entry have the same value (by construction), so the draw is unobservable
        # there, in low precision over a band around it: the data keeps a margin. Forward-only
        # cases also stay clear of the cancellation of a x + shift near x = -alpha' p (the
        # harness computes error scales only for steps with a backward).
        kind, low, high = "uniform", (-1.5 if backward else -0.25), 4.0
    return Case(op=op, family="module", label=label, mode=mode, rule=_rule(op, p_eff),
                kwargs=kw, inputs=(Input(shape, kind=kind, value=data, low=low, high=high),),
                backward=backward and not expect_error, expect_error=expect_error, extra=extra)


def _shape_of(value) -> tuple[int, ...]:
    shape = []
    while isinstance(value, (list, tuple)):
        shape.append(len(value))
        value = value[0] if value else None
    return tuple(shape)


def _nonfinite(op: str, with_nan: bool) -> list:
    """Finite values with +-inf (and nan) in an input of the op's small rank; for the channel
    variants one channel is entirely non-finite so its draw is observed through them alone.
    Alpha variants get finite values away from -1.758 and from the cancellation of a x + shift
    (see ``drop``)."""
    if op in ALPHA:
        base = [[[-0.125, 0.75, INF, 2.0, 0.25], [-INF, 1.25, 0.5, 3.0, 0.5],
                 [INF, INF, -INF, INF, -INF], [0.5, 2.5, 1.0, NAN if with_nan else 1.5, 1.75]]]
    else:
        base = [[[-1.5, 0.75, INF, 2.0, -0.25], [-INF, 1.25, -0.5, 3.0, 0.5],
                 [INF, INF, -INF, INF, -INF], [0.5, -2.0, 1.0, NAN if with_nan else 1.5, -1.0]]]
    base = base * 3
    if op in ("nn.Dropout", "nn.AlphaDropout"):
        return [row for block in base for row in block]          # (12, 5)
    if op == "nn.Dropout2d":
        return [[[row] for row in block] for block in base]      # (3, 4, 1, 5)
    if op == "nn.Dropout3d":
        return [[[[row]] for row in block] for block in base]    # (3, 4, 1, 1, 5)
    return base                                                  # (3, 4, 5)


def op_cases(op: str) -> list[Case]:
    stat, small = STAT_SHAPES[op], SMALL_SHAPES[op]
    cases = [
        # statistics + exact checks: default p (0.5) and p = 0.2; element dropout also p = 0.9
        drop(op, "stat_default", stat),
        drop(op, "stat_p0.2", stat, p=0.2),
        drop(op, "p0.75", stat, p=0.75),
        drop(op, "small", small),
        drop(op, "small_p0.3", small, p=0.3),
        drop(op, "inplace", small, p=0.3, backward=False, inplace=True),
        drop(op, "inplace", small, "eval", p=0.3, backward=False, inplace=True),
        # the identity and the all-dropped extremes
        drop(op, "p0", small, p=0.0),
        drop(op, "p1", small, p=1.0),
        drop(op, "p1_nan_inf", None, p=1.0, data=_nonfinite(op, True)),
        drop(op, "default", small, "eval"),
        drop(op, "p0.3", small, "eval", p=0.3),
        drop(op, "p1", small, "eval", p=1.0),
        drop(op, "nan_inf", None, "eval", p=0.5, data=_nonfinite(op, True)),
        drop(op, "large", small, "eval", kind="large"),
        # training with +-inf: a dropped inf gives nan (x * 0), so every draw is observable
        drop(op, "inf", None, p=0.5, data=_nonfinite(op, False)),
        # nan makes the draw at that element unobservable (both candidates are nan), so the
        # gradient there is unknown to the checker: forward only
        drop(op, "nan_inf", None, p=0.5, data=_nonfinite(op, True), backward=False),
        drop(op, "large", stat, p=0.2, kind="large") if op in STANDARD else
        drop(op, "large", stat, p=0.2, kind="uniform", low=-1.5, high=3000.0),
        # empty input: returned unchanged before any draw (no sample to read back)
        drop(op, "empty", (0,) + small[1:], p=0.5, sampler=False),
        # invalid p: the constructor raises
        drop(op, "p_negative", small, p=-0.1, expect_error="dropout probability has to be"),
        drop(op, "p_above_one", small, p=1.5, expect_error="dropout probability has to be"),
    ]
    if op == "nn.Dropout":
        cases.append(drop(op, "stat_p0.9", stat, p=0.9))
    if op in ALPHA:  # large negative inputs, beyond the SELU range (see drop)
        cases.append(drop(op, "large_negative", stat, p=0.2, kind="uniform", low=-3000.0,
                          high=-2.0))
    for lab, shape in OTHER_SHAPES[op].items():
        cases.append(drop(op, lab, shape, p=0.3))
        cases.append(drop(op, lab, shape, "eval", p=0.3))
    return cases


def error_cases() -> list[Case]:
    return [
        drop("nn.Dropout1d", "rank4", (2, 3, 4, 5), expect_error="Expected 2D or 3D input"),
        # the rank check of dropout1d happens before the training check
        drop("nn.Dropout1d", "rank4", (2, 3, 4, 5), "eval", expect_error="Expected 2D or 3D input"),
        drop("nn.Dropout1d", "rank1", (6,), expect_error="Expected 2D or 3D input"),
        drop("nn.Dropout2d", "rank1", (6,),
             expect_error="Feature dropout requires at least 2 dimensions"),
        drop("nn.FeatureAlphaDropout", "rank1", (6,),
             expect_error="Feature dropout requires at least 2 dimensions"),
    ]


def curated() -> list[Case]:
    cases = []
    for op in STANDARD + ALPHA:
        cases += op_cases(op)
    return cases + error_cases()


@cases_from(curated)
def test_dropout(case, backend, conform):
    conform(case, backend)


@st.composite
def dropout_cases(draw, dtype: str) -> Case:
    op = draw(st.sampled_from(STANDARD + ALPHA))
    ranks = {"nn.Dropout": [0, 1, 2, 3, 4], "nn.AlphaDropout": [1, 2, 3, 4],
             "nn.Dropout1d": [2, 3], "nn.Dropout2d": [3, 4], "nn.Dropout3d": [4, 5],
             "nn.FeatureAlphaDropout": [2, 3, 4]}[op]
    rank = draw(st.sampled_from(ranks))
    shape = tuple(draw(st.lists(st.integers(1, 8), min_size=rank, max_size=rank)))
    mode = draw(st.sampled_from(["train", "eval"]))
    p = draw(st.sampled_from([0.0, 0.1, 0.5, 0.8, 1.0]))
    label = content_label("h", shape=shape, p=p)  # op and mode are in the id already
    return drop(op, label, shape, mode, p=p).with_dtype(dtype)


@generated()
@given(data=st.data())
def test_dropout_generated(data, dtype, backend, conform):
    conform(data.draw(dropout_cases(dtype)), backend, generated=True)
