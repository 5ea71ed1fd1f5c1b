"""reference.optim.lr_scheduler and swa_utils.SWALR: closed forms, endpoints and hand traces
(no framework output anywhere)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from reference.optim import lr_scheduler as S
from reference.optim.swa_utils import SWALR

G2 = [{"lr": 0.1}, {"lr": 0.02}]
BASE = np.array([0.1, 0.02])
T = np.arange(101)[:, None]


def lrs(sched, n=100, groups=G2, metrics=None):
    out = sched.run(groups, n, metrics)
    assert out["lr"].shape == (n + 1, len(groups))
    return out


def test_run_protocol_and_purity():
    groups = [{"lr": 0.1, "momentum": 0.9}]
    out = S.CyclicLR(0.01, 0.1, 4).run(groups, 8)
    assert set(out) == {"lr", "momentum"} and out["momentum"].shape == (9, 1)
    assert groups == [{"lr": 0.1, "momentum": 0.9}]
    assert set(S.StepLR(3).run(groups, 4)) == {"lr"}
    out = S.OneCycleLR(1.0, total_steps=10).run([{"lr": 0.1, "betas": (0.9, 0.99)}], 10)
    assert set(out) == {"lr", "beta1"}


def test_steplr_closed_form():
    out = lrs(S.StepLR(step_size=7, gamma=0.5))["lr"]
    np.testing.assert_allclose(out, BASE * 0.5 ** (T // 7), rtol=1e-14)


def test_multisteplr_closed_form_with_repeated_milestone():
    out = lrs(S.MultiStepLR([5, 30, 30, 80], gamma=0.3))["lr"]
    count = (T >= 5).astype(int) + 2 * (T >= 30) + (T >= 80)
    np.testing.assert_allclose(out, BASE * 0.3 ** count, rtol=1e-14)


def test_exponentiallr_closed_form():
    np.testing.assert_allclose(lrs(S.ExponentialLR(0.97))["lr"], BASE * 0.97 ** T, rtol=1e-13)


def test_lambda_and_multiplicative():
    np.testing.assert_allclose(lrs(S.LambdaLR(lambda e: 1 / (1 + e)))["lr"], BASE / (1 + T),
                               rtol=1e-15)
    out = lrs(S.LambdaLR([lambda e: 2.0, lambda e: e]), n=3)["lr"]
    np.testing.assert_allclose(out, [[0.2, 0.0], [0.2, 0.02], [0.2, 0.04], [0.2, 0.06]])
    out = lrs(S.MultiplicativeLR(lambda e: 0.9))["lr"]
    np.testing.assert_allclose(out, BASE * 0.9 ** T, rtol=1e-13)  # no factor on the initial step
    with pytest.raises(ValueError):
        S.LambdaLR([lambda e: 1.0]).run(G2, 1)


def test_constant_and_linear_warmup_closed_forms():
    out = lrs(S.ConstantLR(factor=0.25, total_iters=10))["lr"]
    np.testing.assert_allclose(out, BASE * np.where(T < 10, 0.25, 1.0), rtol=1e-15)
    s, e, n = 0.1, 0.9, 30
    out = lrs(S.LinearLR(s, e, n))["lr"]
    np.testing.assert_allclose(out, BASE * (s + (e - s) * np.minimum(T, n) / n), rtol=1e-13)


def test_polynomial_closed_form_and_zero_end():
    out = lrs(S.PolynomialLR(total_iters=40, power=2.0))["lr"]
    np.testing.assert_allclose(out[:40], BASE * (1 - T[:40] / 40) ** 2, rtol=1e-12)
    np.testing.assert_array_equal(out[40:], 0.0)
    out = lrs(S.PolynomialLR(total_iters=4, power=1.0), n=4)["lr"]
    np.testing.assert_allclose(out[:, 0], [0.1, 0.075, 0.05, 0.025, 0.0], atol=1e-17)


def test_cosine_annealing_endpoints_and_closed_form():
    Tm, eta = 25, 0.001
    out = lrs(S.CosineAnnealingLR(Tm, eta))["lr"]
    np.testing.assert_allclose(out[0], BASE)
    np.testing.assert_allclose(out[Tm], eta, rtol=1e-12)
    np.testing.assert_allclose(out[:Tm + 1], eta + (BASE - eta) * (1 + np.cos(np.pi * T[:Tm + 1] / Tm)) / 2,
                               rtol=1e-12)
    # past T_max torch's recurrence climbs back along the periodic cosine (no restart)
    np.testing.assert_allclose(out[2 * Tm], BASE, rtol=1e-10)
    np.testing.assert_allclose(out, eta + (BASE - eta) * (1 + np.cos(np.pi * T / Tm)) / 2,
                               rtol=1e-9)


def test_cosine_warm_restarts_periods():
    out = lrs(S.CosineAnnealingWarmRestarts(T_0=5, T_mult=2, eta_min=0.0), n=40)["lr"][:, 0]
    # periods 5, 10, 20, 40: restarts (lr = base) at t = 0, 5, 15, 35
    for t0, Ti in [(0, 5), (5, 10), (15, 20), (35, 40)]:
        for k in range(min(Ti, 41 - t0)):
            assert out[t0 + k] == pytest.approx(0.05 * (1 + math.cos(math.pi * k / Ti)), rel=1e-13)
    out = lrs(S.CosineAnnealingWarmRestarts(T_0=10), n=30)["lr"]
    np.testing.assert_allclose(out[10], BASE)
    np.testing.assert_allclose(out[0:10], out[10:20], rtol=1e-15)


def test_onecycle_endpoints():
    max_lr, N, pct, div, fdiv = 0.5, 100, 0.3, 25.0, 1e4
    out = S.OneCycleLR(max_lr, total_steps=N, pct_start=pct, div_factor=div,
                       final_div_factor=fdiv).run([{"lr": 1.0, "momentum": 0.9}], N - 1)
    lr, mom = out["lr"][:, 0], out["momentum"][:, 0]
    assert lr[0] == pytest.approx(max_lr / div, rel=1e-15)
    assert lr[int(pct * N) - 1] == pytest.approx(max_lr, rel=1e-15)  # peak at step pct*N - 1
    assert lr[N - 1] == pytest.approx(max_lr / div / fdiv, rel=1e-12)
    assert lr.argmax() == int(pct * N) - 1
    assert mom[0] == pytest.approx(0.95) and mom[int(pct * N) - 1] == pytest.approx(0.85)
    assert mom[N - 1] == pytest.approx(0.95)
    with pytest.raises(ValueError):  # stepping past total_steps
        S.OneCycleLR(max_lr, total_steps=5).run([{"lr": 1.0, "momentum": 0.9}], 6)


def test_onecycle_linear_three_phase():
    N = 20
    out = S.OneCycleLR(1.0, total_steps=N, pct_start=0.25, anneal_strategy="linear",
                       three_phase=True, div_factor=10.0, final_div_factor=100.0,
                       cycle_momentum=False).run([{"lr": 0.3}], N - 1)["lr"][:, 0]
    # phases end at steps 4, 8, 19: 0.1 -> 1.0 -> 0.1 -> 0.001, linear in between
    expected = np.concatenate([np.linspace(0.1, 1.0, 5), np.linspace(1.0, 0.1, 5)[1:],
                               np.linspace(0.1, 0.001, 12)[1:]])
    np.testing.assert_allclose(out, expected, rtol=1e-12)


def test_cyclic_triangle():
    out = S.CyclicLR(0.01, 0.1, step_size_up=4, step_size_down=6).run(
        [{"lr": 5.0, "momentum": 0.0}], 20)
    lr, mom = out["lr"][:, 0], out["momentum"][:, 0]
    up = [0.01 + 0.09 * k / 4 for k in range(4)]
    down = [0.1 - 0.09 * k / 6 for k in range(6)]
    np.testing.assert_allclose(lr, up + down + up + down + [0.01], rtol=1e-13)
    assert lr[4] == pytest.approx(0.1) and mom[4] == pytest.approx(0.8)  # peak: base_momentum
    assert mom[0] == pytest.approx(0.9)


def test_cyclic_triangular2_and_exp_range():
    lr = S.CyclicLR(0.0, 1.0, 2, mode="triangular2", cycle_momentum=False).run(G2[:1], 12)["lr"]
    np.testing.assert_allclose(lr[[2, 6, 10], 0], [1.0, 0.5, 0.25])
    lr = S.CyclicLR(0.0, 1.0, 2, mode="exp_range", gamma=0.9, cycle_momentum=False).run(G2[:1], 6)["lr"]
    np.testing.assert_allclose(lr[[2, 6], 0], [0.9 ** 2, 0.9 ** 6], rtol=1e-14)
    with pytest.raises(ValueError):
        S.CyclicLR(0.01, 0.1).run([{"lr": 0.1}], 1)  # cycle_momentum without momentum/betas


def test_reduce_on_plateau_patience_and_cooldown_trace():
    sched = S.ReduceLROnPlateau(mode="min", factor=0.5, patience=2, cooldown=1)
    metrics = [1.0, 1.0, 1.0, 1.0, 0.5, 1.0, 1.0, 1.0, 1.0, 1.0]
    out = sched.run([{"lr": 1.0}], len(metrics), metrics)["lr"][:, 0]
    # step: 1 best=1 | 2,3,4 bad 1,2,3>2 -> 0.5, cooldown 1 | 5 better (best .5), cooldown->0
    # 6,7,8 bad 1,2,3 -> 0.25, cooldown 1 | 9 cooldown: bad reset | 10 bad 1
    np.testing.assert_array_equal(out, [1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25])


def test_reduce_on_plateau_threshold_modes_min_lr_eps():
    # max/abs: improvement must exceed best + 0.1
    out = S.ReduceLROnPlateau(mode="max", threshold=0.1, threshold_mode="abs", patience=0,
                              factor=0.1).run([{"lr": 1.0}], 3, [1.0, 1.05, 1.2])["lr"][:, 0]
    np.testing.assert_allclose(out, [1.0, 1.0, 0.1, 0.1])
    # min/rel: 0.95 is not below 1 * (1 - 0.1)
    out = S.ReduceLROnPlateau(threshold=0.1, patience=0, factor=0.5,
                              min_lr=[0.3, 0.0]).run([{"lr": 1.0}, {"lr": 1.0}], 3,
                                                     [1.0, 0.95, 0.95])["lr"]
    np.testing.assert_allclose(out, [[1, 1], [1, 1], [0.5, 0.5], [0.3, 0.25]])
    # a reduction smaller than eps is skipped
    out = S.ReduceLROnPlateau(patience=0, factor=0.5, eps=0.3).run([{"lr": 1.0}], 3,
                                                                  [1.0, 2.0, 2.0])["lr"][:, 0]
    np.testing.assert_allclose(out, [1.0, 1.0, 0.5, 0.5])


def test_chained_scheduler_multiplies_factors():
    out = lrs(S.ChainedScheduler([S.ConstantLR(0.5, 10), S.ExponentialLR(0.98)]))["lr"]
    np.testing.assert_allclose(out, BASE * np.where(T < 10, 0.5, 1.0) * 0.98 ** T, rtol=1e-13)


def test_sequential_warmup_then_decay():
    m = 10
    out = lrs(S.SequentialLR([S.LinearLR(0.1, 1.0, m), S.ExponentialLR(0.9)], milestones=[m]))["lr"]
    np.testing.assert_allclose(out[:m], BASE * (0.1 + 0.9 * T[:m] / m), rtol=1e-13)
    # at the milestone the second scheduler starts from its closed form at epoch 0 = base lr
    np.testing.assert_allclose(out[m:], BASE * 0.9 ** (T[m:] - m), rtol=1e-13)


def test_sequential_cosine_after_constant():
    out = lrs(S.SequentialLR([S.ConstantLR(0.1, 100), S.CosineAnnealingLR(20)], [5]), n=25)["lr"]
    np.testing.assert_allclose(out[:5], np.tile(BASE * 0.1, (5, 1)), rtol=1e-15)
    k = T[5:26] - 5
    np.testing.assert_allclose(out[5:], BASE * (1 + np.cos(np.pi * k / 20)) / 2, rtol=1e-12,
                               atol=1e-18)


def test_swalr_linear_and_cos():
    A, swa, L = 8, 0.01, 0.1
    out = SWALR(swa, anneal_epochs=A, anneal_strategy="linear").run([{"lr": L}], 12)["lr"][:, 0]
    k = np.arange(13)
    a = np.minimum(k / A, 1)
    np.testing.assert_allclose(out, swa * a + L * (1 - a), rtol=1e-13)
    out = SWALR(swa, anneal_epochs=A).run([{"lr": L}], 12)["lr"][:, 0]
    a = (1 - np.cos(np.pi * np.minimum(k / A, 1))) / 2
    np.testing.assert_allclose(out, swa * a + L * (1 - a), rtol=1e-12)
    out = SWALR(swa, anneal_epochs=0).run([{"lr": L}], 3)["lr"][:, 0]
    np.testing.assert_allclose(out, swa)


@pytest.mark.parametrize("ctor", [
    lambda: S.ConstantLR(factor=1.5), lambda: S.LinearLR(start_factor=0.0),
    lambda: S.LinearLR(end_factor=1.5), lambda: S.ReduceLROnPlateau(factor=1.0),
    lambda: S.ReduceLROnPlateau(mode="up"), lambda: S.ReduceLROnPlateau(threshold_mode="x"),
    lambda: S.CyclicLR(0.1, 1.0, mode="sine"), lambda: S.CosineAnnealingWarmRestarts(0),
    lambda: S.CosineAnnealingWarmRestarts(5, T_mult=0), lambda: S.OneCycleLR(1.0),
    lambda: S.OneCycleLR(1.0, total_steps=10, pct_start=2.0),
    lambda: S.OneCycleLR(1.0, total_steps=10, anneal_strategy="exp"),
    lambda: S.SequentialLR([S.StepLR(2)], milestones=[3]),
    lambda: S.ChainedScheduler([S.ReduceLROnPlateau()]), lambda: S.ChainedScheduler([]),
    lambda: SWALR(0.1, anneal_epochs=-1), lambda: SWALR(0.1, anneal_strategy="exp")])
def test_invalid_arguments_raise(ctor):
    with pytest.raises(ValueError):
        ctor()


def test_resume_requires_initial_lr():
    with pytest.raises(KeyError):
        S.StepLR(3, last_epoch=4).run([{"lr": 0.1}], 2)
    out = S.StepLR(3, gamma=0.5, last_epoch=4).run([{"lr": 0.05, "initial_lr": 0.1}], 4)["lr"]
    # resumes at epoch 5..9 from the current lr: x0.5 at epochs 6 and 9
    np.testing.assert_allclose(out[:, 0], [0.05, 0.025, 0.025, 0.025, 0.0125])
