"""The foundation ops' references: backward vs central differences, worked examples."""

import math

import numpy as np
import pytest

from reference import driver, functional as F, init, nn
from reference.optim import SGD
from reference.optim.lr_scheduler import StepLR
from tests.fd import assert_vjp_matches

rng = np.random.default_rng(0)


def test_linear_backward_matches_finite_differences():
    x, w, b = rng.normal(size=(2, 3, 4)), rng.normal(size=(5, 4)), rng.normal(size=5)
    g = rng.normal(size=(2, 3, 5))
    assert_vjp_matches(F.linear, [x, w, b], g, F.linear_backward(g, x, w, b))
    gx, gw, gb = F.linear_backward(g, x, w, None)
    assert gb is None
    assert_vjp_matches(lambda x, w: F.linear(x, w), [x, w], g, [gx, gw])


def test_relu_backward_and_kink_convention():
    x = rng.normal(size=(4, 5))
    g = rng.normal(size=x.shape)
    assert_vjp_matches(F.relu, [x], g, F.relu_backward(g, x))
    # torch's convention: no gradient at exactly 0
    assert F.relu_backward(np.ones(3), np.array([-1.0, 0.0, 1.0]))[0].tolist() == [0, 0, 1]


def test_mse_backward_every_reduction():
    x, y = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    for red in ("none", "mean", "sum"):
        g = rng.normal(size=x.shape) if red == "none" else np.asarray(rng.normal())
        assert_vjp_matches(lambda a, b: F.mse_loss(a, b, red), [x, y], g,
                           F.mse_loss_backward(g, x, y, red))


def test_mse_worked_example():
    ones, threes = np.ones((2, 2)), np.full((2, 2), 3.0)
    assert float(F.mse_loss(ones, threes)) == 4.0
    assert F.mse_loss(ones, threes, "none").tolist() == [[4, 4], [4, 4]]


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 2)])
def test_batch_norm_backward(training, shape):
    m = nn.BatchNorm1d(3)
    params = {"weight": rng.normal(size=3), "bias": rng.normal(size=3)}
    buffers = {"running_mean": rng.normal(size=3), "running_var": rng.uniform(0.5, 2, 3),
               "num_batches_tracked": np.array(0)}
    x = rng.normal(size=shape)
    g = rng.normal(size=shape)

    def f(x, w, b):
        return m.forward({"weight": w, "bias": b}, buffers, (x,), training)[0][0]

    outs, _, ctx = m.forward(params, buffers, (x,), training)
    (gx,), pg = m.backward(ctx, (g,))
    assert_vjp_matches(f, [x, params["weight"], params["bias"]], g, [gx, pg["weight"], pg["bias"]])


def test_batch_norm_training_statistics():
    m = nn.BatchNorm1d(3)
    x = rng.normal(size=(50, 3)) * 3 + 1
    (y,), _, _ = m.forward({"weight": np.ones(3), "bias": np.zeros(3)},
                           m.initial_buffers(), (x,), True)
    np.testing.assert_allclose(y.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=0), 1, rtol=1e-4)  # eps=1e-5 shrinks it slightly


def test_batch_norm_worked_example_running_stats():
    """BatchNorm1d(5, momentum=0.3), twice on a (3,5,1) batch whose feature i is i+1."""
    x = np.broadcast_to(np.arange(1.0, 6.0)[None, :, None], (3, 5, 1)).copy()
    steps = driver.run_module("nn.BatchNorm1d", {"num_features": 5, "momentum": 0.3},
                              {"weight": np.ones(5), "bias": np.zeros(5)},
                              nn.BatchNorm1d(5).initial_buffers(), [((x,), False)] * 2, True)
    i1 = np.arange(1.0, 6.0)
    np.testing.assert_allclose(steps[0]["buffers"]["running_mean"], 0.3 * i1, rtol=1e-15)
    np.testing.assert_allclose(steps[1]["buffers"]["running_mean"], 0.51 * i1, rtol=1e-15)
    np.testing.assert_allclose(steps[0]["buffers"]["running_var"], 0.7, rtol=1e-15)
    np.testing.assert_allclose(steps[1]["buffers"]["running_var"], 0.49, rtol=1e-15)
    assert int(steps[1]["buffers"]["num_batches_tracked"]) == 2


def test_batch_norm_one_value_per_channel_raises():
    m = nn.BatchNorm1d(3)
    with pytest.raises(ValueError, match="Expected more than 1 value per channel"):
        m.forward({"weight": np.ones(3), "bias": np.zeros(3)}, m.initial_buffers(),
                  (np.ones((1, 3)),), True)


def test_batch_norm_cumulative_average_when_momentum_none():
    m = nn.BatchNorm1d(2, momentum=None)
    buffers = m.initial_buffers()
    batches = [rng.normal(size=(4, 2)) for _ in range(3)]
    for x in batches:
        _, buffers, _ = m.forward({"weight": np.ones(2), "bias": np.zeros(2)}, buffers, (x,), True)
    np.testing.assert_allclose(buffers["running_mean"],
                               np.mean([x.mean(axis=0) for x in batches], axis=0), rtol=1e-14)


def test_kaiming_normal_fans_and_gain():
    assert init._calculate_fan_in_and_fan_out((64, 32, 3, 3)) == (288, 576)
    d = init.kaiming_normal_distribution((64, 32, 3, 3), mode="fan_out", nonlinearity="relu")
    assert d.std == pytest.approx(math.sqrt(2) / math.sqrt(576), rel=1e-15)
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.kaiming_normal_(np.zeros(5))


def test_sgd_worked_example_momentum_buffer():
    """lr 0.1, momentum 0.9, gradient all ones: the buffer is sum_k 0.9^k = 6.5132 after 10."""
    opt, p, state = SGD(lr=0.1, momentum=0.9), np.zeros(3), {}
    for _ in range(10):
        p, state = opt.step(p, np.ones(3), state)
    np.testing.assert_allclose(state["momentum_buffer"], (1 - 0.9 ** 10) / 0.1, rtol=1e-14)
    assert round(float(state["momentum_buffer"][0]), 4) == 6.5132


def test_sgd_plain_step_subtracts_lr():
    p, _ = SGD(lr=0.1).step(np.array([[1.0, 2.0], [3.0, 4.0]]), np.ones((2, 2)), {})
    np.testing.assert_allclose(p, [[0.9, 1.9], [2.9, 3.9]], rtol=1e-15)


def test_step_lr_closed_form():
    lrs = StepLR(step_size=3, gamma=0.5).run([{"lr": 1.0}, {"lr": 0.1}], 7)["lr"]
    np.testing.assert_allclose(lrs[:, 0], [1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25])
    np.testing.assert_allclose(lrs[:, 1], lrs[:, 0] * 0.1)
