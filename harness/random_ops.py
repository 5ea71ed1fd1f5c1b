"""Random modules (the dropout family, RReLU in training): the backend draws, the harness reads
the draw back from its output, and the reference recomputes everything with that draw.

Two levels, as docs/statistics.md describes:
- exact: with the recovered sample, the backend's output and gradients must match the reference
  under the usual tolerance rule (survivors scaled by exactly 1/(1-p), whole channels for the
  Nd variants, the backward reusing the forward's mask, identity in eval);
- statistical: the sample's distribution (keep count ~ Binomial(n, 1-p); RReLU slopes ~
  U(lower, upper)) at the per-test false-alarm rate ``ALPHA``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from reference import functional as F

ALPHA = 1e-6

#: Dropout ops and the ``kind`` the reference's mask helpers use.
DROPOUT_KINDS = {"nn.Dropout": "dropout", "nn.Dropout1d": "dropout1d",
                 "nn.Dropout2d": "dropout2d", "nn.Dropout3d": "dropout3d",
                 "nn.AlphaDropout": "alpha_dropout",
                 "nn.FeatureAlphaDropout": "feature_alpha_dropout"}


@dataclass(frozen=True)
class SampleTest:
    test: str
    p_value: float
    detail: str

    @property
    def rejected(self) -> bool:
        return self.p_value < ALPHA


def _dropout_sample(op: str, kwargs: dict, x: np.ndarray, y: np.ndarray,
                    training: bool) -> np.ndarray | None:
    p = kwargs.get("p", 0.5)
    if not training or p in (0, 1):
        return None
    return F.infer_dropout_mask(x, y, p, DROPOUT_KINDS[op])


def _dropout_tests(op: str, kwargs: dict, x: np.ndarray, sample: np.ndarray) -> list[SampleTest]:
    """Keep count ~ Binomial(n, 1 - p): an exact two-sided binomial test."""
    from scipy import stats
    p = kwargs.get("p", 0.5)
    n, kept = sample.size, int(np.sum(sample))
    res = stats.binomtest(kept, n, 1 - p)
    return [SampleTest("binomial_keep_rate", float(res.pvalue),
                       f"kept {kept}/{n} (expected rate {1 - p:g})")]


def _rrelu_sample(op: str, kwargs: dict, x: np.ndarray, y: np.ndarray,
                  training: bool) -> np.ndarray | None:
    if not training:
        return None
    lower, upper = kwargs.get("lower", 1 / 8), kwargs.get("upper", 1 / 3)
    noise = F.infer_rrelu_noise(x, y)
    return np.where(np.isnan(noise), (lower + upper) / 2, noise)  # unobservable where x == 0


def _rrelu_tests(op: str, kwargs: dict, x: np.ndarray, sample: np.ndarray) -> list[SampleTest]:
    """Slopes at x < 0 ~ U(lower, upper): Kolmogorov-Smirnov. The slopes are read back as y / x
    from a rounded y, so they carry a relative error of the dtype's eps; the bounds are widened
    by that much before the test (a 10% wrong bound is still rejected with near certainty)."""
    from scipy import stats
    lower, upper = kwargs.get("lower", 1 / 8), kwargs.get("upper", 1 / 3)
    slopes = sample[x < 0]
    if slopes.size < 100 or upper == lower:
        return []
    res = stats.kstest(slopes, stats.uniform(lower, upper - lower).cdf)
    outside = int(np.sum((slopes < lower * (1 - 1e-2)) | (slopes > upper * (1 + 1e-2))))
    tests = [SampleTest("ks_uniform_slopes", float(res.pvalue), f"{slopes.size} slopes")]
    if outside:
        tests.append(SampleTest("slopes_in_bounds", 0.0, f"{outside} slopes outside "
                                                         f"[{lower:g}, {upper:g}]"))
    return tests


@dataclass(frozen=True)
class Sampler:
    """How to read a backend's draw back (``infer``) and judge its distribution (``tests``)."""

    infer: Callable[..., np.ndarray | None]
    tests: Callable[..., list[SampleTest]]


SAMPLERS = {"dropout": Sampler(_dropout_sample, _dropout_tests),
            "rrelu": Sampler(_rrelu_sample, _rrelu_tests)}
