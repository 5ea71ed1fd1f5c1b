"""Distribution tests for random ops, each at a stated false-alarm rate.

A sample passes when no test rejects at ``alpha`` (default 1e-6 per test). Each test's docstring
states its false-alarm rate under the null (the sample really is i.i.d. from the target); a
battery of k tests has a family-wise false-alarm rate <= k * alpha (Bonferroni). Exact checks
(constants, eye/dirac values, sparse zero counts, orthogonality) have no false alarms.

Sample sizes: the suite draws >= 16384 elements per judged tensor (``MIN_SAMPLE_SIZE``). Power
against the realistic bugs (a gain or fan off by 10% in std, a missing sqrt(3) in a uniform bound,
a fan_in/fan_out swap, truncation bounds taken relative to std) is derived and demonstrated in
tests/test_statistics.py.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import stats

#: Default per-test false-alarm rate.
ALPHA = 1e-6

#: The smallest number of elements the suite judges statistically; the power figures in
#: tests/test_statistics.py are computed at this size.
MIN_SAMPLE_SIZE = 16384


@dataclass(frozen=True)
class StatResult:
    test: str
    statistic: float
    p_value: float
    alpha: float

    @property
    def rejected(self) -> bool:
        return self.p_value < self.alpha


def _exact(test: str, ok: bool, statistic: float, alpha: float) -> StatResult:
    """An exact check reported as a StatResult: p = 1 when it holds, 0 when it does not."""
    return StatResult(test, float(statistic), 1.0 if ok else 0.0, alpha)


def _flat(sample: np.ndarray) -> np.ndarray:
    return np.ravel(np.asarray(sample, dtype=np.float64))


def _bound_tol(low: float, high: float) -> float:
    """Slack for samples stored in float32: a bound computed in float64 and rounded to float32
    can exceed it by half an ulp (2^-24 relative); allow 4 ulps."""
    return 4 * 2.0 ** -24 * max(abs(low), abs(high))


# --- normal -----------------------------------------------------------------------------------

def _continuous(sample: np.ndarray) -> np.ndarray:
    """Kolmogorov-Smirnov assumes a continuous sample. Values stored in float16 or bfloat16 sit
    on a grid coarse enough (2^-10, 2^-7 relative) for 16384 draws to reveal it, a false alarm
    about the storage, not the sampler. Such samples are dequantised: each value moves by a
    uniform draw across its own rounding interval (fixed seed), which restores the continuous
    distribution up to the curvature of the density within one interval."""
    x = np.asarray(sample, dtype=np.float64).ravel()
    bits = _half_mantissa_bits(x)
    if bits is None:
        return x
    jitter = np.random.default_rng(0).uniform(-0.5, 0.5, x.size)
    return x + jitter * np.where(x == 0, 0.0, _ulp(x, bits))


def _half_mantissa_bits(x: np.ndarray) -> int | None:
    """10 for float16-valued samples, 7 for bfloat16-valued ones, else None."""
    if not x.size:
        return None
    if np.array_equal(x.astype(np.float16).astype(np.float64), x):
        return 10
    if np.array_equal(x, _bf16(x)):
        return 7
    return None


def _ulp(x, bits: int):
    with np.errstate(divide="ignore"):
        exponent = np.floor(np.log2(np.abs(np.where(np.asarray(x) == 0, 1.0, x))))
    return np.exp2(exponent - bits)


def _bf16(v: np.ndarray) -> np.ndarray:
    bits = v.astype(np.float32).view(np.uint32)
    return (bits & 0xFFFF0000).view(np.float32).astype(np.float64)


def ks_normal(sample: np.ndarray, mean: float, std: float, alpha: float = ALPHA) -> StatResult:
    """Kolmogorov-Smirnov against N(mean, std^2). False-alarm rate alpha (exact KS null
    distribution for continuous targets)."""
    res = stats.kstest(_continuous(sample), stats.norm(mean, std).cdf)  # frozen: portable
    return StatResult("ks_normal", float(res.statistic), float(res.pvalue), alpha)


def variance_chi2(sample: np.ndarray, mean: float, std: float, alpha: float = ALPHA) -> StatResult:
    """Two-sided test of the variance about a known mean: sum((x-mean)^2)/std^2 ~ chi2(n).

    False-alarm rate alpha exactly (equal tails of chi2(n)) for a normal target. Far more
    powerful than KS against a wrong scale: with n = 16384 a 10% error in std is a ~13-sigma
    event (power >= 1 - 1e-6, computed in tests/test_statistics.py).
    """
    x = _flat(sample)
    n = x.size
    s = float(np.sum((x - mean) ** 2) / std ** 2)
    p = 2 * min(stats.chi2.cdf(s, n), stats.chi2.sf(s, n))
    return StatResult("variance_chi2", s / n, float(min(p, 1.0)), alpha)


def mean_z(sample: np.ndarray, mean: float, std: float, alpha: float = ALPHA) -> StatResult:
    """Two-sided z-test of the sample mean against ``mean`` with known ``std``. False-alarm rate
    alpha exactly for a normal target; by the CLT (Berry-Esseen) within a few percent of alpha
    for the bounded targets (uniform, truncated normal) at n >= 16384."""
    x = _flat(sample)
    z = (x.mean() - mean) / (std / math.sqrt(x.size))
    return StatResult("mean_z", float(z), float(2 * stats.norm.sf(abs(z))), alpha)


def normal_tests(sample: np.ndarray, mean: float, std: float,
                 alpha: float = ALPHA) -> list[StatResult]:
    """The battery for a normal target: KS, variance and mean (family-wise rate <= 3 alpha)."""
    return [ks_normal(sample, mean, std, alpha), variance_chi2(sample, mean, std, alpha),
            mean_z(sample, mean, std, alpha)]


# --- uniform ----------------------------------------------------------------------------------

def ks_uniform(sample: np.ndarray, low: float, high: float, alpha: float = ALPHA) -> StatResult:
    """Kolmogorov-Smirnov against U(low, high). False-alarm rate alpha."""
    res = stats.kstest(_continuous(sample), stats.uniform(low, high - low).cdf)
    return StatResult("ks_uniform", float(res.statistic), float(res.pvalue), alpha)


def uniform_bounds(sample: np.ndarray, low: float, high: float,
                   alpha: float = ALPHA) -> StatResult:
    """All samples inside [low, high] (up to float32 rounding of the bounds), and the extremes
    close to the bounds.

    Under U(low, high), P(max <= low + t*w) = t^n with w = high - low. With t the smaller of
    (max-low)/w and (high-min)/w, the p-value is the exact null probability of a smaller t:
    p = 2 t^n - max(2t - 1, 0)^n (inclusion-exclusion; P(max <= low + a*w, min >= high - c*w) =
    (a + c - 1)^n), which is U(0, 1) under the null, so the false-alarm rate is exactly alpha.
    Any sample outside the bounds gives p = 0. At n = 16384 the test rejects whenever an extreme
    is more than w*(-ln(alpha/2)/n) = 8.9e-4*w inside its bound; a bound missing sqrt(3) leaves
    the extremes 21% of w inside.
    """
    raw = _flat(sample)
    x, n, w = _continuous(raw), raw.size, high - low
    tol = _bound_tol(low, high)
    bits = _half_mantissa_bits(raw)
    if bits is not None:  # dequantised: a value may round (then move) half an ulp past a bound
        tol = max(tol, float(np.max(_ulp(np.array([low, high]), bits))))
    lo, hi = float(x.min()), float(x.max())
    if lo < low - tol or hi > high + tol:
        return StatResult("uniform_bounds", max(low - lo, hi - high) / w, 0.0, alpha)
    if bits is not None:
        # on a float16/bfloat16 grid (and generators that draw that grid's bits) the extremes
        # cannot come closer to the bounds than a few grid steps: only containment is tested;
        # a wrong bound is still caught by the variance test
        return StatResult("uniform_bounds", 0.0, 1.0, alpha)
    t = min(1.0, (hi - low) / w, (high - lo) / w)
    if t <= 0.0:
        p = 0.0
    else:
        # p = t^n (2 - ((2t-1)/t)^n), in logs so that t^n may underflow harmlessly
        p = math.exp(n * math.log(t)) * (2 - (max(2 * t - 1, 0.0) / t) ** n)
    return StatResult("uniform_bounds", 1 - t, float(min(max(p, 0.0), 1.0)), alpha)


def variance_z(sample: np.ndarray, mean: float, var: float, var_sq: float,
               alpha: float = ALPHA) -> StatResult:
    """Two-sided CLT test of the second moment about a known mean: with Y = (X - mean)^2,
    E[Y] = var and Var[Y] = var_sq = E[(X-mean)^4] - var^2, z = (mean(Y) - var) /
    sqrt(var_sq / n) is asymptotically N(0, 1).

    False-alarm rate alpha up to the CLT error: for the bounded targets here the Edgeworth
    correction at n = 16384 and |z| = 4.9 changes the rate by about 10% of alpha (skewness of
    Y over sqrt(n) is < 0.01), so the rate is within [0.9, 1.1] * alpha.
    """
    x = _flat(sample)
    y = (x - mean) ** 2
    z = (y.mean() - var) / math.sqrt(var_sq / x.size)
    return StatResult("variance_z", float(y.mean() / var), float(2 * stats.norm.sf(abs(z))),
                      alpha)


def uniform_variance(sample: np.ndarray, low: float, high: float,
                     alpha: float = ALPHA) -> StatResult:
    """``variance_z`` for U(low, high): about the midpoint, var = w^2/12 and Var[(X-m)^2] =
    w^4/80 - w^4/144 = w^4/180 (w = high - low). False-alarm rate alpha (CLT, see
    ``variance_z``). At n = 16384 a 10% error in the bound (std) is a ~30-sigma shift."""
    w = high - low
    r = variance_z(sample, (low + high) / 2, w * w / 12, w ** 4 / 180, alpha)
    return StatResult("uniform_variance", r.statistic, r.p_value, alpha)


def uniform_tests(sample: np.ndarray, low: float, high: float,
                  alpha: float = ALPHA) -> list[StatResult]:
    """The battery for a uniform target: KS, bounds, variance, mean (family-wise <= 4 alpha)."""
    return [ks_uniform(sample, low, high, alpha), uniform_bounds(sample, low, high, alpha),
            uniform_variance(sample, low, high, alpha),
            mean_z(sample, (low + high) / 2, (high - low) / math.sqrt(12), alpha)]


# --- truncated normal --------------------------------------------------------------------------

def _truncnorm(mean: float, std: float, low: float, high: float):
    return stats.truncnorm((low - mean) / std, (high - mean) / std, loc=mean, scale=std)


def ks_truncated_normal(sample: np.ndarray, mean: float, std: float, low: float, high: float,
                        alpha: float = ALPHA) -> StatResult:
    """Kolmogorov-Smirnov against N(mean, std^2) truncated to the ABSOLUTE bounds [low, high]
    (std is the pre-truncation std). False-alarm rate alpha."""
    res = stats.kstest(_continuous(sample), _truncnorm(mean, std, low, high).cdf)
    return StatResult("ks_truncated_normal", float(res.statistic), float(res.pvalue), alpha)


def within_bounds(sample: np.ndarray, low: float, high: float,
                  alpha: float = ALPHA) -> StatResult:
    """Exact: every sample in [low, high] (up to float32 rounding of the bounds). No false
    alarms."""
    x = _flat(sample)
    tol = _bound_tol(low, high)
    excess = max(low - float(x.min()), float(x.max()) - high, 0.0)
    return _exact("within_bounds", excess <= tol, excess, alpha)


@lru_cache(maxsize=256)
def _truncated_moments(mean: float, std: float, low: float, high: float):
    """Mean, variance and Var[(X - mean)^2] of the truncated normal."""
    d = _truncnorm(mean, std, low, high)
    m, v = float(d.mean()), float(d.var())
    m4 = float(d.expect(lambda x: (x - m) ** 4))
    return m, v, m4 - v * v


def truncated_normal_tests(sample: np.ndarray, mean: float, std: float, low: float, high: float,
                           alpha: float = ALPHA) -> list[StatResult]:
    """KS, bounds, variance (``variance_z`` with the truncated moments) and mean: family-wise
    rate <= 3 alpha."""
    m, v, var_sq = _truncated_moments(mean, std, low, high)
    r = variance_z(sample, m, v, var_sq, alpha)
    return [ks_truncated_normal(sample, mean, std, low, high, alpha),
            within_bounds(sample, low, high, alpha),
            StatResult("truncated_variance", r.statistic, r.p_value, alpha),
            mean_z(sample, m, math.sqrt(v), alpha)]


# --- structured -------------------------------------------------------------------------------

def _roundings(value: float) -> set[float]:
    """``value`` as stored in float64, float32, float16 and bfloat16 (round to nearest even)."""
    f32 = np.float32(value)
    bits = int(np.array(f32).view(np.uint32))
    bf16 = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16) << 16
    out = {float(value), float(f32), float(np.float16(value)),
           float(np.array(bf16, dtype=np.uint32).view(np.float32))}
    return {v for v in out if math.isfinite(v)} | ({float(value)} if not math.isfinite(value)
                                                     else set())


def constant_check(sample: np.ndarray, value: float, alpha: float = ALPHA) -> StatResult:
    """Exact: every element equals ``value`` as stored in one floating format (float64, float32,
    float16 or bfloat16 rounding of ``value``; the sample may already have been widened to
    float64). No false alarms."""
    x = _flat(sample)
    if not x.size:
        return _exact("constant", True, 0.0, alpha)
    ok = any(bool(np.all(x == v)) for v in _roundings(value))
    return _exact("constant", ok, float(np.max(np.abs(x - value))), alpha)


def exact_values(sample: np.ndarray, values: np.ndarray, alpha: float = ALPHA) -> StatResult:
    """Exact: the sample equals ``values`` element for element (eye_, dirac_)."""
    x, v = np.asarray(sample, dtype=np.float64), np.asarray(values, dtype=np.float64)
    if x.shape != v.shape:
        return _exact("exact_values", False, math.inf, alpha)
    err = float(np.max(np.abs(x - v))) if x.size else 0.0
    return _exact("exact_values", err == 0.0, err, alpha)


def sparse_zero_counts(sample: np.ndarray, zeros_per_column: int,
                       alpha: float = ALPHA) -> StatResult:
    """Exact: each column of the 2-D sample has exactly ``zeros_per_column`` zeros (torch zeros
    per column, not per row). A nonzero N(0, std²) draw is exactly 0 with probability ~0, so no
    false alarms in practice."""
    x = np.asarray(sample, dtype=np.float64)
    counts = np.sum(x == 0.0, axis=0)
    worst = int(np.max(np.abs(counts - zeros_per_column))) if counts.size else 0
    return _exact("sparse_zero_counts", worst == 0, worst, alpha)


def sparse_tests(sample: np.ndarray, zeros_per_column: int, std: float,
                 alpha: float = ALPHA) -> list[StatResult]:
    """Exact zero counts per column, then the normal battery on the nonzero entries (their count
    is rows*cols - cols*zeros; keep it >= 16384 for the stated power)."""
    x = np.asarray(sample, dtype=np.float64)
    out = [sparse_zero_counts(x, zeros_per_column, alpha)]
    nz = x[x != 0.0]
    if nz.size:
        out += normal_tests(nz, 0.0, std, alpha)
    return out


def _short_side(sample: np.ndarray) -> np.ndarray:
    x = np.asarray(sample, dtype=np.float64)
    q = x.reshape(x.shape[0], -1)
    return q if q.shape[0] >= q.shape[1] else q.T


def orthogonality_check(sample: np.ndarray, gain: float, rtol: float = 1e-4,
                        alpha: float = ALPHA) -> StatResult:
    """Exact up to rounding: for Q the sample flattened to (rows, prod(rest)) and taken on its
    long side (Q or Qᵀ so that it is tall), max |QᵀQ - gain²·I| <= rtol * gain². float32 QR
    leaves ~1e-6 * sqrt(n) error, far below the default rtol = 1e-4; a 10% gain error gives
    0.21. No false alarms."""
    q = _short_side(sample)
    err = float(np.max(np.abs(q.T @ q - gain ** 2 * np.eye(q.shape[1])))) if q.size else 0.0
    return _exact("orthogonality", err <= rtol * gain ** 2, err / gain ** 2, alpha)


def orthogonal_diagonal_z(sample: np.ndarray, gain: float, alpha: float = ALPHA) -> StatResult:
    """Haar check: for a tall (n, k) Q with Haar-distributed columns (torch multiplies Q by
    sign(diag(R)) to make it so), T = sum_i Q_ii / gain has E[T] = 0 and Var[T] = k/n exactly
    (flipping the sign of row i preserves the Haar law, so E[Q_ii Q_jj] = 0 and E[Q_ii²] = 1/n).
    z = T / sqrt(k/n), two-sided. For a square Q, T is the trace of a Haar orthogonal matrix,
    whose moments equal N(0, 1)'s up to order n (Diaconis & Shahshahani 1994), so the false-alarm
    rate is alpha to high accuracy for n >= 16; for k << n, T is a sum of k nearly independent
    terms and the rate is alpha up to the CLT error. Catches a QR without the sign fix: LAPACK's
    Householder Q has Q_11 = -|x_11|/||x_1|| <= 0 and a negatively biased diagonal; the shift
    grows like sqrt(k) (z ~ -7 for a 128x128 Q, ~ -5 for 256x64, so power is partial below
    k ~ 100)."""
    q = _short_side(sample) / gain
    n, k = q.shape
    t = float(np.trace(q[:k, :k]))
    z = t / math.sqrt(k / n)
    return StatResult("orthogonal_diagonal_z", z, float(2 * stats.norm.sf(abs(z))), alpha)


def orthogonal_tests(sample: np.ndarray, gain: float,
                     alpha: float = ALPHA) -> list[StatResult]:
    """Orthogonality (exact) and the Haar diagonal test (family-wise rate alpha)."""
    return [orthogonality_check(sample, gain, alpha=alpha),
            orthogonal_diagonal_z(sample, gain, alpha)]


# --- dispatch ---------------------------------------------------------------------------------

def distribution_tests(sample: np.ndarray, dist, alpha: float = ALPHA) -> list[StatResult]:
    """The battery of tests for a ``reference.init.Distribution`` (by ``dist.kind``).

    Rows listed in ``dist.zero_rows`` (Embedding's padding_idx) are checked to be exactly zero and
    the remaining rows are tested against the distribution. Family-wise false-alarm rate <= the
    number of statistical (non-exact) tests returned times alpha.
    """
    x = np.asarray(sample)
    out: list[StatResult] = []
    zero_rows = tuple(getattr(dist, "zero_rows", ()) or ())
    if zero_rows:
        rows = x[list(zero_rows)]
        out.append(_exact("zero_rows", bool(np.all(rows == 0)), float(np.max(np.abs(rows))),
                          alpha))
        x = np.delete(x, list(zero_rows), axis=0)
    kind = dist.kind
    if kind == "normal":
        return out + normal_tests(x, dist.mean, dist.std, alpha)
    if kind == "uniform":
        return out + uniform_tests(x, dist.low, dist.high, alpha)
    if kind == "truncated_normal":
        return out + truncated_normal_tests(x, dist.mean, dist.std, dist.low, dist.high, alpha)
    if kind == "constant":
        return out + [constant_check(x, dist.mean, alpha)]
    if kind == "exact":
        return out + [exact_values(x, dist.values, alpha)]
    if kind == "sparse":
        return out + sparse_tests(x, dist.zeros_per_column, dist.std, alpha)
    if kind == "orthogonal":
        return out + orthogonal_tests(x, dist.gain, alpha)
    raise ValueError(f"no statistical tests for distribution kind {kind!r}")
