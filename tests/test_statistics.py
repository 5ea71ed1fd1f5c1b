"""False-alarm and power evidence for harness.statistics.

Sample size: the suite judges init samples of >= 16384 elements (``S.MIN_SAMPLE_SIZE``), e.g. a
(128, 128) or (64, 32, 3, 3) weight; every power figure below is computed at N = 16384 with the
per-test alpha = 1e-6 (``S.ALPHA``).

(1) False alarms: the p-values are calibrated (uniform under the null, checked by KS over many
    small repetitions) and the reference samplers pass at production size for several seeds.
(2) Power: derived analytically where the null and alternative laws are known (chi-square for
    the normal variance test, the CLT for the uniform/truncated variance test, exact extreme-value
    probabilities for the bounds tests) and asserted to be >= 1 - 1e-6; then demonstrated on
    deliberately wrong samplers with fixed seeds.
"""

import math

import numpy as np
import pytest
from scipy import stats

from harness import statistics as S
from reference import init

N = S.MIN_SAMPLE_SIZE
ALPHA = S.ALPHA
POWER = 1 - 1e-6
SHAPE = (128, 128)                 # N elements
assert math.prod(SHAPE) == N == 16384


def rejected(sample, dist):
    return [r.test for r in S.distribution_tests(sample, dist) if r.rejected]


# --- (1) false alarms -------------------------------------------------------------------------

CALIBRATION = [
    ("ks_normal", lambda g: g.normal(1, 2, 500), lambda x: S.ks_normal(x, 1, 2)),
    ("variance_chi2", lambda g: g.normal(1, 2, 500), lambda x: S.variance_chi2(x, 1, 2)),
    ("mean_z", lambda g: g.normal(1, 2, 500), lambda x: S.mean_z(x, 1, 2)),
    ("ks_uniform", lambda g: g.uniform(-1, 3, 500), lambda x: S.ks_uniform(x, -1, 3)),
    ("uniform_bounds", lambda g: g.uniform(-1, 3, 500), lambda x: S.uniform_bounds(x, -1, 3)),
    ("uniform_variance", lambda g: g.uniform(-1, 3, 2000),
     lambda x: S.uniform_variance(x, -1, 3)),
    ("ks_truncated_normal",
     lambda g: init.trunc_normal_(np.empty(500), 0.5, 1.0, -1.0, 1.5, generator=g),
     lambda x: S.ks_truncated_normal(x, 0.5, 1.0, -1.0, 1.5)),
    ("truncated_variance",
     lambda g: init.trunc_normal_(np.empty(2000), 0.5, 1.0, -1.0, 1.5, generator=g),
     lambda x: S.truncated_normal_tests(x, 0.5, 1.0, -1.0, 1.5)[2]),
    ("orthogonal_diagonal_z", lambda g: init.orthogonal_(np.empty((24, 24)), generator=g),
     lambda x: S.orthogonal_diagonal_z(x, 1.0)),
]


@pytest.mark.parametrize("name, draw, test", CALIBRATION, ids=[c[0] for c in CALIBRATION])
def test_p_values_are_uniform_under_the_null(name, draw, test):
    """P(p < alpha) = alpha for every alpha iff p ~ U(0, 1): 300 null repetitions, KS of the
    p-values against U(0, 1) (fixed seed, so deterministic), and the 5% rejection count inside its
    binomial 1e-6 band."""
    g = np.random.default_rng(2024)
    p = np.array([test(draw(g)).p_value for _ in range(300)])
    assert stats.kstest(p, "uniform").pvalue > 1e-3, name
    k = int(np.sum(p < 0.05))
    lo, hi = stats.binom.ppf(5e-7, 300, 0.05), stats.binom.isf(5e-7, 300, 0.05)
    assert lo <= k <= hi, (name, k)


def test_uniform_bounds_p_value_is_exact():
    # ((max-low)/w)^n ~ U(0,1) under the null: its 1% quantile over 2000 repetitions is ~0.01
    g = np.random.default_rng(5)
    p = np.array([S.uniform_bounds(g.uniform(0, 1, 50), 0, 1).p_value for _ in range(2000)])
    assert 0.005 < np.mean(p < 0.01) < 0.02


CORRECT = [
    ("normal_", dict(mean=0.5, std=2.0)),
    ("uniform_", dict(a=-0.3, b=0.7)),
    ("kaiming_normal_", {}), ("kaiming_uniform_", dict(a=math.sqrt(5))),
    ("xavier_uniform_", {}), ("xavier_normal_", dict(gain=5 / 3)),
    ("trunc_normal_", {}), ("trunc_normal_", dict(std=0.02)),
    ("trunc_normal_", dict(mean=1.0, std=0.5, a=-0.2, b=0.3)),
    ("orthogonal_", dict(gain=2.0)), ("sparse_", dict(sparsity=0.1)),
]


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("name, kwargs", CORRECT)
def test_correct_samplers_pass_at_production_size(name, kwargs, seed):
    x = getattr(init, name)(np.empty(SHAPE), **kwargs, generator=np.random.default_rng(seed))
    assert not rejected(x, init.target_distribution(name, SHAPE, **kwargs))


def test_float32_storage_does_not_cause_false_alarms():
    g = np.random.default_rng(3)
    d = init.kaiming_uniform_distribution(SHAPE)
    x = g.uniform(d.low, d.high, SHAPE).astype(np.float32)
    x.flat[:2] = [np.float32(d.low), np.float32(d.high)]       # bounds rounded outward
    assert not rejected(x.astype(np.float64), d)
    assert not rejected(np.full(10, np.float32(0.1)).astype(np.float64),
                        init.constant_distribution((10,), 0.1))
    bf16_tenth = np.float32(0.10009765625)                      # bfloat16(0.1)
    assert not rejected(np.full(10, bf16_tenth, np.float64), init.constant_distribution((10,), 0.1))


# --- (2a) analytic power ----------------------------------------------------------------------

def chi2_power(c, n=N, alpha=ALPHA):
    """Exact power of variance_chi2 when the true std is c times the target: S ~ c² chi2(n)."""
    lo, hi = stats.chi2.ppf(alpha / 2, n), stats.chi2.isf(alpha / 2, n)
    return stats.chi2.cdf(lo / c ** 2, n) + stats.chi2.sf(hi / c ** 2, n)


def clt_power(v0, s0, v1, s1, n=N, alpha=ALPHA):
    """Power of variance_z (null E[Y] = v0, sd(Y) = s0) when Y truly has mean v1 and sd s1:
    mean(Y) ~ N(v1, s1²/n) by the CLT."""
    z = stats.norm.isf(alpha / 2)
    lo, hi = v0 - z * s0 / math.sqrt(n), v0 + z * s0 / math.sqrt(n)
    se = s1 / math.sqrt(n)
    return stats.norm.cdf((lo - v1) / se) + stats.norm.sf((hi - v1) / se)


@pytest.mark.parametrize("c", [1.1, 1 / 1.1, 0.9])
def test_power_normal_std_off_by_ten_percent(c):
    """Gain or fan error of 10% in std on a normal target: power of the chi-square variance test
    at N = 16384 is 1 - 3.8e-34 for c = 1.1 and 1 - (below 1e-300) for c = 1/1.1 and 0.9."""
    assert chi2_power(c) >= POWER
    assert chi2_power(1.0) == pytest.approx(ALPHA, rel=1e-6)   # and the size is alpha


def test_power_normal_needs_the_stated_size():
    # the figure is a property of N: far smaller samples would not reach it
    assert chi2_power(1.1, n=1024) < POWER <= chi2_power(1.1, n=N)


@pytest.mark.parametrize("c", [1.1, 1 / 1.1, 0.9])
def test_power_uniform_std_off_by_ten_percent(c):
    """U(±c·b) judged as U(±b): the variance test alone (CLT; a 30, -25, -27 sigma shift for
    c = 1.1, 1/1.1, 0.9) and the bounds test alone (miss probability (1/1.1)^N = 1e-678 when too
    wide, p <= 1e-364 when 10% too narrow) each have power >= 1 - 1e-6 at N = 16384."""
    w = 2.0
    v0, s0 = w * w / 12, math.sqrt(w ** 4 / 180)
    assert clt_power(v0, s0, c * c * v0, c * c * s0) >= POWER
    if c > 1:   # a sample falls outside unless all N land in the inner 1/c of the range
        assert 1 - (1 / c) ** N >= POWER
    else:       # the extremes stay inside c*b: p <= 2 ((1 + c)/2)^N deterministically
        assert 2 * ((1 + c) / 2) ** N < ALPHA


def test_power_uniform_bound_missing_sqrt3():
    """bound = gain/sqrt(fan) instead of sqrt(3)*gain/sqrt(fan): the largest |sample| is at most
    b/sqrt(3), so uniform_bounds' p-value is at most 2((1 + 1/sqrt 3)/2)^N ~ 1e-1690: rejected
    with certainty. The variance is 1/3 of the target's: the CLT test is ~95 sigma off."""
    r = 1 / math.sqrt(3)
    assert N * math.log((1 + r) / 2) + math.log(2) < math.log(ALPHA)
    v0, s0 = 1 / 3, math.sqrt(16 / 180)        # w = 2
    assert clt_power(v0, s0, r * r * v0, r * r * s0) >= POWER


@pytest.mark.parametrize("shape", [(256, 64), (64, 256), (64, 32, 3, 3)])
def test_power_fan_swap(shape):
    """fan_out used where fan_in is meant: std ratio sqrt(fan_in/fan_out) = 2, 1/2 or 1/sqrt 2."""
    fan_in, fan_out = init._calculate_fan_in_and_fan_out(shape)
    c = math.sqrt(fan_in / fan_out)
    assert chi2_power(c) >= POWER
    assert math.prod(shape) >= N


def test_power_trunc_normal_relative_bounds():
    """torch's a, b are absolute. (i) std=0.02, a=-2, b=2 (the ViT idiom) is effectively
    N(0, 0.02²); a backend reading the bounds as ±2 std truncates at ±0.04, shrinking the variance
    to 0.774 of the target: the CLT variance test is ~20 sigma off. (ii) std=2, a=-1, b=1 read as
    ±2 std = ±4: a sample lands outside [-1, 1] unless all N fall inside, P = 1e-6499."""
    sd = 0.02
    null = stats.truncnorm(-100, 100, scale=sd)
    alt = stats.truncnorm(-2, 2, scale=sd)

    def v_s(d):
        v = d.var()
        return v, math.sqrt(d.expect(lambda x: x ** 4) - v * v)

    (v0, s0), (v1, s1) = v_s(null), v_s(alt)
    assert v1 / v0 == pytest.approx(0.774, abs=1e-3)
    assert clt_power(v0, s0, v1, s1) >= POWER
    inside = stats.truncnorm(-2, 2, scale=2.0)
    p_all_inside = inside.cdf(1) - inside.cdf(-1)
    assert 1 - p_all_inside ** N >= POWER


# --- (2b) wrong samplers are rejected (fixed seeds) ---------------------------------------------

def _kaiming_normal_std(c, shape=SHAPE):
    def draw(g):
        d = init.kaiming_normal_distribution(shape)
        return g.normal(0, c * d.std, shape)
    return draw


def _kaiming_uniform_bound(c, shape=SHAPE):
    def draw(g):
        d = init.kaiming_uniform_distribution(shape)
        return g.uniform(-c * d.high, c * d.high, shape)
    return draw


def _trunc_relative(mean, std, a, b):
    def draw(g):
        return init.trunc_normal_(np.empty(SHAPE), mean, std, mean + a * std, mean + b * std,
                                  generator=g)
    return draw


def _orthogonal_without_sign_fix(g):
    q, _ = np.linalg.qr(g.normal(size=(256, 256)))
    return q


def _sparse_per_row(g):
    w = g.normal(0, 0.01, (64, 256))
    k = math.ceil(0.25 * 256)                 # MLX: zeros per row, ceil(sparsity * cols)
    for r in range(64):
        w[r, g.permutation(256)[:k]] = 0
    return w


WRONG = [
    ("normal std x1.1 (gain)", _kaiming_normal_std(1.1), init.kaiming_normal_distribution(SHAPE)),
    ("normal std x0.9 (gain)", _kaiming_normal_std(0.9), init.kaiming_normal_distribution(SHAPE)),
    ("uniform bound x1.1", _kaiming_uniform_bound(1.1), init.kaiming_uniform_distribution(SHAPE)),
    ("uniform bound x0.9", _kaiming_uniform_bound(0.9), init.kaiming_uniform_distribution(SHAPE)),
    ("uniform bound missing sqrt(3)", _kaiming_uniform_bound(1 / math.sqrt(3)),
     init.kaiming_uniform_distribution(SHAPE)),
    ("normal where uniform is meant (same std)",
     lambda g: g.normal(0, init.xavier_uniform_distribution(SHAPE).std, SHAPE),
     init.xavier_uniform_distribution(SHAPE)),
    ("kaiming_normal fan_out for fan_in (256, 64)",
     lambda g: init.kaiming_normal_(np.empty((256, 64)), mode="fan_out", generator=g),
     init.kaiming_normal_distribution((256, 64))),
    ("kaiming_uniform fan_out for fan_in (64, 32, 3, 3)",
     lambda g: init.kaiming_uniform_(np.empty((64, 32, 3, 3)), mode="fan_out", generator=g),
     init.kaiming_uniform_distribution((64, 32, 3, 3))),
    ("conv transpose fan from the wrong axis",
     lambda g: init.kaiming_uniform_(np.empty((32, 64, 3, 3)), a=math.sqrt(5), generator=g),
     init.default_init("ConvTranspose2d", dict(in_channels=64, out_channels=32,
                                               kernel_size=3))["weight"]),
    ("trunc_normal bounds relative to std (std=0.02, ±2)", _trunc_relative(0, 0.02, -2, 2),
     init.trunc_normal_distribution(SHAPE, 0, 0.02, -2, 2)),
    ("trunc_normal bounds relative to std (std=2, ±1)", _trunc_relative(0, 2, -1, 1),
     init.trunc_normal_distribution(SHAPE, 0, 2, -1, 1)),
    ("trunc_normal rescaled to the target std (Keras)",
     lambda g: init.trunc_normal_(np.empty(SHAPE), 0, 1 / 0.87962566, -2 / 0.87962566,
                                  2 / 0.87962566, generator=g),
     init.trunc_normal_distribution(SHAPE, 0, 1, -2, 2)),
    ("orthogonal gain x1.1",
     lambda g: 1.1 * init.orthogonal_(np.empty((256, 64)), generator=g),
     init.orthogonal_distribution((256, 64))),
    ("orthogonal without the sign(diag R) fix", _orthogonal_without_sign_fix,
     init.orthogonal_distribution((256, 256))),
    ("sparse zeros per row (MLX)", _sparse_per_row, init.sparse_distribution((64, 256), 0.25)),
    ("sparse std x1.1",
     lambda g: init.sparse_(np.empty((128, 160)), 0.2, std=0.011, generator=g),
     init.sparse_distribution((128, 160), 0.2)),
    ("embedding padding row drawn", lambda g: g.normal(size=(256, 64)),
     init.default_init("Embedding", dict(num_embeddings=256, embedding_dim=64,
                                         padding_idx=0))["weight"]),
    ("dirac ignoring groups", lambda g: init.dirac_(np.empty((8, 4, 3, 3))),
     init.dirac_distribution((8, 4, 3, 3), groups=2)),
    ("PReLU init 0.25 for 0.1", lambda g: np.full(3, 0.25), init.default_init(
        "PReLU", dict(num_parameters=3, init=0.1))["weight"]),
]


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("label, draw, dist", WRONG, ids=[w[0] for w in WRONG])
def test_wrong_sampler_is_rejected(label, draw, dist, seed):
    x = draw(np.random.default_rng(seed))
    assert x.size >= N or dist.kind in ("exact", "constant")
    assert rejected(x, dist), label


def test_rejections_come_from_the_intended_tests():
    g = np.random.default_rng(11)
    assert "variance_chi2" in rejected(_kaiming_normal_std(1.1)(g),
                                       init.kaiming_normal_distribution(SHAPE))
    r = rejected(_kaiming_uniform_bound(1 / math.sqrt(3))(g),
                 init.kaiming_uniform_distribution(SHAPE))
    assert {"uniform_bounds", "uniform_variance", "ks_uniform"} <= set(r)
    assert "within_bounds" in rejected(_trunc_relative(0, 2, -1, 1)(g),
                                       init.trunc_normal_distribution(SHAPE, 0, 2, -1, 1))
    assert "truncated_variance" in rejected(_trunc_relative(0, 0.02, -2, 2)(g),
                                            init.trunc_normal_distribution(SHAPE, 0, 0.02, -2, 2))
    assert rejected(_sparse_per_row(g), init.sparse_distribution((64, 256), 0.25))[0] == \
        "sparse_zero_counts"
    assert rejected(_orthogonal_without_sign_fix(g), init.orthogonal_distribution((256, 256))) \
        == ["orthogonal_diagonal_z"]


def test_unknown_kind_raises():
    with pytest.raises(ValueError, match="no statistical tests"):
        S.distribution_tests(np.zeros(3), init.Distribution("cauchy"))


def test_ks_is_not_fooled_by_half_precision_storage():
    """16384 correct N(0, 0.05^2) draws stored in float16 pass; a 10% wrong std still fails."""
    import numpy as np
    from harness import statistics as S
    rng = np.random.default_rng(3)
    good = rng.normal(0, 0.05, 16384).astype(np.float16).astype(np.float64)
    assert not S.ks_normal(good, 0.0, 0.05).rejected
    bad = rng.normal(0, 0.055, 16384).astype(np.float16).astype(np.float64)
    assert any(t.rejected for t in S.normal_tests(bad, 0.0, 0.05))
