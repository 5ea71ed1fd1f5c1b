"""reference.optim, reference.optim.swa_utils (averaging) and reference.nn.utils (clipping):
worked examples and identities derived by hand (no framework output anywhere)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from reference import optim
from reference.nn import utils as nn_utils
from reference.optim import swa_utils
from reference.optim.muon import adjust_lr, zeropower_via_newtonschulz
from reference.optim.sparse_adam import sparse_to_dense

P0 = np.array([[0.5, -1.0, 2.0], [-0.25, 0.0, 1.5]])
G0 = np.array([[1.0, -2.0, 0.5], [-0.1, 3.0, -4.0]])


def run(opt, p, grads, state=None):
    state = {} if state is None else state
    for g in grads:
        p, state = opt.step(p, g, state)
    return p, state


# ---------------------------------------------------------------------------------------------
# SGD

def test_sgd_plain_subtracts_lr_times_grad_exactly():
    p, st = optim.SGD(lr=0.1).step(np.ones((2, 2)), np.ones((2, 2)), {})
    np.testing.assert_array_equal(p, np.full((2, 2), 0.9))
    assert st == {}


def test_sgd_momentum_buffer_is_geometric_series():
    opt = optim.SGD(lr=0.1, momentum=0.9)
    p, st = run(opt, np.zeros(3), [np.ones(3)] * 10)
    # b_t = sum_{k<t} 0.9^k = (1 - 0.9^t) / 0.1; p = -lr * sum_t b_t
    assert st["momentum_buffer"][0] == pytest.approx(6.5132, abs=5e-5)
    np.testing.assert_allclose(st["momentum_buffer"], (1 - 0.9 ** 10) / 0.1, rtol=1e-14)
    expected_p = -0.1 * sum((1 - 0.9 ** t) / 0.1 for t in range(1, 11))
    np.testing.assert_allclose(p, expected_p, rtol=1e-14)


def test_sgd_dampening_not_applied_on_first_step_and_nesterov():
    opt = optim.SGD(lr=1.0, momentum=0.5, dampening=0.5)
    p, st = run(opt, np.zeros(1), [np.ones(1), np.ones(1)])
    np.testing.assert_allclose(st["momentum_buffer"], 0.5 * 1 + 0.5 * 1)  # b1 = g, b2 = .5b1 + .5g
    p, _ = optim.SGD(lr=1.0, momentum=0.9, nesterov=True).step(np.zeros(1), np.ones(1), {})
    np.testing.assert_allclose(p, -1.9)  # g + mu * b with b = g


def test_sgd_weight_decay_and_maximize():
    p, _ = optim.SGD(lr=0.1, weight_decay=0.5).step(np.array([2.0]), np.array([1.0]), {})
    np.testing.assert_allclose(p, 2.0 - 0.1 * (1.0 + 0.5 * 2.0))
    a, _ = optim.SGD(lr=0.1, maximize=True).step(P0, G0, {})
    np.testing.assert_allclose(a, P0 + 0.1 * G0)


# ---------------------------------------------------------------------------------------------
# Adam family

def test_adam_first_step_moves_lr_times_sign():
    lr = 0.01
    p, st = optim.Adam(lr=lr).step(P0, G0, {})
    # m_hat = g, v_hat = g^2 => step lr * g / (|g| + eps)
    np.testing.assert_allclose(p, P0 - lr * G0 / (np.abs(G0) + 1e-8), rtol=1e-13)
    np.testing.assert_allclose(p, P0 - lr * np.sign(G0), atol=lr * 1e-7)
    assert float(st["step"]) == 1.0 and st["step"].dtype == np.float64 and st["step"].shape == ()
    np.testing.assert_allclose(st["exp_avg"], 0.1 * G0, rtol=1e-15)
    np.testing.assert_allclose(st["exp_avg_sq"], 0.001 * G0 ** 2, rtol=1e-12)


def test_adam_constant_gradient_bias_correction_is_exact():
    # with g constant, m_hat_t = g and v_hat_t = g^2 for every t, so every step is the same
    opt = optim.Adam(lr=0.1, betas=(0.8, 0.9), eps=0.0)
    p, st = run(opt, np.zeros(3), [np.array([2.0, -3.0, 0.5])] * 7)
    np.testing.assert_allclose(p, -0.7 * np.sign([2.0, -3.0, 0.5]), rtol=1e-12)
    assert float(st["step"]) == 7.0


def test_adamw_decays_by_one_minus_lr_wd():
    lr, wd = 0.1, 0.2
    p, _ = run(optim.AdamW(lr=lr, weight_decay=wd), P0, [np.zeros_like(P0)] * 3)
    np.testing.assert_allclose(p, P0 * (1 - lr * wd) ** 3, rtol=1e-15)
    assert optim.AdamW().weight_decay == 1e-2
    same = optim.Adam(lr=lr, weight_decay=wd, decoupled_weight_decay=True)
    np.testing.assert_allclose(run(same, P0, [G0])[0], run(optim.AdamW(lr=lr, weight_decay=wd),
                                                            P0, [G0])[0], rtol=0)


def test_adam_l2_weight_decay_goes_through_the_moments():
    # zero gradient but wd: g' = wd * p, so the first step is lr * sign(p)
    p, _ = optim.Adam(lr=0.01, weight_decay=0.1, eps=0.0).step(np.array([2.0, -3.0]),
                                                                np.zeros(2), {})
    np.testing.assert_allclose(p, [2.0 - 0.01, -3.0 + 0.01], rtol=1e-14)


def test_adam_amsgrad_keeps_running_max_before_bias_correction():
    opt = optim.Adam(lr=0.1, betas=(0.9, 0.5), amsgrad=True)
    _, st = run(opt, np.zeros(1), [np.array([2.0]), np.array([0.0]), np.array([0.0])])
    np.testing.assert_allclose(st["max_exp_avg_sq"], 0.5 * 4.0)  # v1 = 2, then v halves
    np.testing.assert_allclose(st["exp_avg_sq"], 0.5 * 4.0 * 0.25)


def test_maximize_equals_negated_gradient():
    for opt in [optim.Adam(lr=0.01, weight_decay=0.1, maximize=True),
                optim.RMSprop(lr=0.01, momentum=0.5, maximize=True),
                optim.Adagrad(maximize=True), optim.NAdam(maximize=True),
                optim.Adamax(maximize=True), optim.RAdam(maximize=True),
                optim.Adadelta(maximize=True), optim.ASGD(maximize=True),
                optim.Rprop(maximize=True), optim.Adafactor(maximize=True)]:
        plain = type(opt)(**{k: v for k, v in vars(opt).items() if k in _kwargs(type(opt))
                             and k != "maximize"})
        a, _ = run(opt, P0, [G0, 0.5 * G0])
        b, _ = run(plain, P0, [-G0, -0.5 * G0])
        np.testing.assert_allclose(a, b, rtol=1e-15, err_msg=type(opt).__name__)


def _kwargs(cls):
    import inspect
    return set(inspect.signature(cls.__init__).parameters) - {"self"}


def test_adamax_first_step():
    p, st = optim.Adamax(lr=0.002, eps=1e-8).step(P0, G0, {})
    np.testing.assert_allclose(p, P0 - 0.002 * G0 / (np.abs(G0) + 1e-8), rtol=1e-13)
    np.testing.assert_allclose(st["exp_inf"], np.abs(G0) + 1e-8)


def test_nadam_first_step_by_hand():
    lr, b1, b2, psi = 0.002, 0.9, 0.999, 0.004
    mu1 = b1 * (1 - 0.5 * 0.96 ** psi)
    mu2 = b1 * (1 - 0.5 * 0.96 ** (2 * psi))
    g = np.array([1.0, -2.0])
    p, st = optim.NAdam(lr=lr, eps=0.0).step(np.zeros(2), g, {})
    denom = np.abs(g)  # sqrt(v / (1 - b2)) = |g|
    expected = -lr * (1 - mu1) / (1 - mu1) * g / denom - lr * mu2 / (1 - mu1 * mu2) * (1 - b1) * g / denom
    np.testing.assert_allclose(p, expected, rtol=1e-13)
    np.testing.assert_allclose(st["mu_product"], mu1, rtol=1e-15)


def test_radam_sgd_phase_then_rectified():
    lr, b2 = 0.1, 0.999
    rho_inf = 2 / (1 - b2) - 1
    rho = [rho_inf - 2 * t * b2 ** t / (1 - b2 ** t) for t in range(1, 8)]
    first_rect = next(t for t, r in enumerate(rho, start=1) if r > 5)
    g = np.array([1.0, -2.0])
    opt = optim.RAdam(lr=lr, betas=(0.0, b2), eps=0.0)  # beta1 = 0: m_hat = g
    p, st = np.zeros(2), {}
    for t in range(1, first_rect):
        q, st = opt.step(p, g, st)
        np.testing.assert_allclose(q, p - lr * g, rtol=1e-15)  # un-rectified: plain SGD
        p = q
    q, st = opt.step(p, g, st)
    r = rho[first_rect - 1]
    rect = math.sqrt((r - 4) * (r - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * r))
    # constant g => v_t = (1 - b2^t) g^2, so the adaptive factor is 1 / |g|
    np.testing.assert_allclose(q, p - lr * rect * np.sign(g), rtol=1e-12)


def test_rmsprop_first_step_and_centered():
    g = np.array([1.0, -2.0])
    p, st = optim.RMSprop(lr=0.01, alpha=0.99, eps=0.0).step(np.zeros(2), g, {})
    np.testing.assert_allclose(p, -0.01 * np.sign(g) / math.sqrt(0.01), rtol=1e-12)
    p, st = optim.RMSprop(lr=0.01, alpha=0.99, eps=0.0, centered=True).step(np.zeros(2), g, {})
    # v - gbar^2 = 0.01 g^2 - 0.0001 g^2 = 0.99 * 0.01 g^2
    np.testing.assert_allclose(p, -0.01 * np.sign(g) / math.sqrt(0.99 * 0.01), rtol=1e-12)
    assert set(st) == {"step", "square_avg", "grad_avg"}
    _, st = optim.RMSprop(momentum=0.9).step(np.zeros(2), g, {})
    assert set(st) == {"step", "square_avg", "momentum_buffer"}


def test_adagrad_first_steps_and_lr_decay():
    g = np.array([3.0, -4.0])
    p, st = optim.Adagrad(lr=0.1, eps=0.0).step(np.zeros(2), g, {})
    np.testing.assert_allclose(p, -0.1 * np.sign(g), rtol=1e-15)
    p, st = optim.Adagrad(lr=0.1, eps=0.0, initial_accumulator_value=16.0).step(np.zeros(2), g, {})
    np.testing.assert_allclose(p, -0.1 * g / np.sqrt(16.0 + g ** 2), rtol=1e-15)
    opt = optim.Adagrad(lr=0.1, lr_decay=0.5, eps=0.0)
    p, st = run(opt, np.zeros(2), [g, g])
    # step 2: clr = 0.1 / 1.5, sum = 2 g^2
    np.testing.assert_allclose(p, -0.1 * np.sign(g) - 0.1 / 1.5 * g / np.sqrt(2 * g ** 2),
                               rtol=1e-14)


def test_adadelta_first_step():
    g, rho, eps = np.array([1.0, -2.0]), 0.9, 1e-6
    p, st = optim.Adadelta(lr=1.0, rho=rho, eps=eps).step(np.zeros(2), g, {})
    delta = math.sqrt(eps) / np.sqrt((1 - rho) * g ** 2 + eps) * g
    np.testing.assert_allclose(p, -delta, rtol=1e-14)
    np.testing.assert_allclose(st["acc_delta"], (1 - rho) * delta ** 2, rtol=1e-14)


def test_asgd_first_steps():
    lr, lambd, alpha, t0 = 0.1, 0.5, 0.75, 1.0
    opt = optim.ASGD(lr=lr, lambd=lambd, alpha=alpha, t0=t0)
    g = np.array([1.0, -1.0])
    p1, st = opt.step(np.array([1.0, 1.0]), g, {})
    np.testing.assert_allclose(p1, np.array([1.0, 1.0]) * (1 - lambd * lr) - lr * g)
    np.testing.assert_allclose(st["ax"], p1)  # mu == 1: ax copies p
    eta1 = lr / (1 + lambd * lr * 1) ** alpha
    np.testing.assert_allclose(st["eta"], eta1)
    assert float(st["mu"]) == 1.0  # 1 / max(1, 1 - t0)
    p2, st = opt.step(p1, g, st)
    np.testing.assert_allclose(p2, p1 * (1 - lambd * eta1) - eta1 * g, rtol=1e-15)
    np.testing.assert_allclose(st["ax"], p2)  # mu was still 1
    assert float(st["mu"]) == 1.0  # 1 / max(1, 2 - 1)
    p3, st = opt.step(p2, g, st)
    np.testing.assert_allclose(st["mu"], 1 / 2)
    p4, st4 = opt.step(p3, g, st)
    np.testing.assert_allclose(st4["ax"], st["ax"] + 0.5 * (p4 - st["ax"]), rtol=1e-15)


def test_rprop_sign_logic():
    opt = optim.Rprop(lr=0.01, etas=(0.5, 1.2), step_sizes=(1e-6, 0.0125))
    p, st = np.zeros(1), {}
    trace = []
    for g in [1.0, 2.0, 2.0, -1.0, -1.0]:
        p, st = opt.step(p, np.array([g]), st)
        trace.append((p[0], st["step_size"][0], st["prev"][0]))
    expected = [
        (-0.01, 0.01, 1.0),            # prev 0: factor 1
        (-0.022, 0.012, 2.0),          # same sign: x1.2
        (-0.0345, 0.0125, 2.0),        # x1.2 = 0.0144 clipped to step_size_max
        (-0.0345, 0.00625, 0.0),       # flip: x0.5, no move, prev := 0
        (-0.0345 + 0.00625, 0.00625, -1.0),  # after a flip: factor 1, move
    ]
    np.testing.assert_allclose(np.array(trace), np.array(expected), rtol=1e-14)


def test_sparse_adam_updates_only_present_entries():
    shape = (4, 2)
    dense, mask = sparse_to_dense([[1, 3, 1]], [[1.0, 2.0], [3.0, 4.0], [1.0, -4.0]], shape)
    np.testing.assert_array_equal(dense, [[0, 0], [2.0, -2.0], [0, 0], [3.0, 4.0]])
    assert mask.tolist() == [[False] * 2, [True] * 2, [False] * 2, [True] * 2]
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-8
    p0 = np.arange(8.0).reshape(shape)
    p, st = optim.SparseAdam(lr=lr, betas=(b1, b2), eps=eps).step(p0, dense, {}, mask)
    np.testing.assert_array_equal(p[~mask], p0[~mask])
    np.testing.assert_array_equal(st["exp_avg"][~mask], 0.0)
    # first step on present entries: lr g / (|g| + eps / sqrt(1 - b2))
    g = dense[mask]
    np.testing.assert_allclose(p[mask], p0[mask] - lr * g / (np.abs(g) + eps / math.sqrt(1 - b2)),
                               rtol=1e-13)
    assert st["step"] == 1
    p2, st2 = optim.SparseAdam().step(p, np.zeros(shape), st, np.zeros(shape, bool))
    np.testing.assert_array_equal(p2, p)
    assert st2["step"] == 2  # counted although nothing was present


def test_adafactor_vector_first_step_is_sign_times_rms():
    lr = 0.01
    p0, g = np.array([3.0, -4.0, 0.0, 0.0]), np.array([1.0, -2.0, 0.5, -0.25])
    p, st = optim.Adafactor(lr=lr).step(p0, g, {})
    rms_p = math.sqrt(25.0 / 4)
    np.testing.assert_allclose(p, p0 - rms_p * lr * np.sign(g), rtol=1e-14)
    np.testing.assert_allclose(st["variance"], g ** 2)  # lerp weight 1^-0.8 = 1


def test_adafactor_rank_one_factorisation_is_exact():
    a, b = np.array([1.0, -2.0, 3.0]), np.array([0.5, 1.0, -1.5, 2.0])
    g = np.outer(a, b)
    p0 = np.full(g.shape, 2.0)
    p, st = optim.Adafactor(lr=0.01, d=1.0).step(p0, g, {})
    assert st["row_var"].shape == (3, 1) and st["col_var"].shape == (1, 4)
    # R C / mean(R) = a^2 mean(b^2) * b^2 mean(a^2) / (mean(a^2) mean(b^2)) = g^2
    np.testing.assert_allclose(p, p0 - 2.0 * 0.01 * np.sign(g), rtol=1e-14)


def test_adafactor_relative_step_is_capped_by_one_over_sqrt_t():
    opt = optim.Adafactor(lr=0.9, eps=(None, 1.0))
    p, st = run(opt, np.zeros(2), [np.array([1.0, 1.0])] * 4)
    # alpha_t = max(1, RMS(p)) * min(0.9, 1/sqrt(t)), |u| = 1: steps 0.9, 1/sqrt2, 1/sqrt3, 1/2
    steps = [0.9, 1 / math.sqrt(2), max(1.0, 0.9 + 1 / math.sqrt(2)) / math.sqrt(3)]
    total = steps[0] + steps[1] + steps[2]
    total += max(1.0, total) / 2
    np.testing.assert_allclose(p, -total, rtol=1e-14)


def test_muon_newton_schulz_scalar_recursion_and_lr_adjust():
    coeffs = (3.4445, -4.7750, 2.0315)
    s = 1 / math.sqrt(2)  # 3 * I_2 normalised by its Frobenius norm
    for _ in range(5):
        s = coeffs[0] * s + coeffs[1] * s ** 3 + coeffs[2] * s ** 5
    np.testing.assert_allclose(zeropower_via_newtonschulz(3 * np.eye(2), coeffs, 5), s * np.eye(2),
                               rtol=1e-14)
    assert adjust_lr(0.1, None, (8, 2)) == pytest.approx(0.2)
    assert adjust_lr(0.1, "match_rms_adamw", (8, 2)) == pytest.approx(0.1 * 0.2 * math.sqrt(8))
    g = 3 * np.eye(2)
    p, st = optim.Muon(lr=0.1, weight_decay=0.5, momentum=0.5, nesterov=False).step(np.ones((2, 2)), g, {})
    np.testing.assert_allclose(st["momentum_buffer"], 0.5 * g)  # EMA buffer: (1 - mu) g
    np.testing.assert_allclose(p, np.ones((2, 2)) * (1 - 0.05) - 0.1 * s * np.eye(2), rtol=1e-14)
    with pytest.raises(ValueError):
        optim.Muon().step(np.ones(3), np.ones(3), {})


# ---------------------------------------------------------------------------------------------
# LBFGS

def _quadratic(A, b):
    return lambda ps: (0.5 * ps[0] @ A @ ps[0] - b @ ps[0], [A @ ps[0] - b])


def test_lbfgs_first_iteration_is_scaled_gradient_step():
    A, b = np.diag([1.0, 2.0]), np.array([1.0, 1.0])
    opt = optim.LBFGS(lr=1.0, max_iter=1)
    x0 = np.array([3.0, -1.0])
    g = A @ x0 - b  # [2, -3]
    (x1,), st, loss = opt.step([x0], _quadratic(A, b), {})
    np.testing.assert_allclose(x1, x0 - min(1.0, 1.0 / np.abs(g).sum()) * g)
    assert loss == pytest.approx(0.5 * x0 @ A @ x0 - b @ x0)
    assert st["n_iter"] == 1 and st["func_evals"] == 1


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_lbfgs_isotropic_quadratic_solved_in_two_iterations(line_search_fn):
    # after one gradient step, y = a s, so H_diag = 1/a and the second direction is Newton's
    a = 2.5
    A, b = a * np.eye(3), np.array([1.0, -2.0, 0.5])
    opt = optim.LBFGS(max_iter=2, max_eval=10, line_search_fn=line_search_fn)
    (x,), st, _ = opt.step([np.array([1.0, 1.0, 1.0])], _quadratic(A, b), {})
    np.testing.assert_allclose(x, b / a, rtol=1e-12)


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_lbfgs_converges_on_spd_quadratic(line_search_fn):
    M = np.array([[2.0, 0.3, 0.0], [0.3, 1.0, -0.2], [0.0, -0.2, 3.0]])
    b = np.array([1.0, 2.0, -1.0])
    opt = optim.LBFGS(max_iter=30, line_search_fn=line_search_fn, tolerance_grad=1e-12,
                      tolerance_change=1e-15, history_size=3)
    x = [np.zeros(3)]
    (x,), st, _ = opt.step(x, _quadratic(M, b), {})
    np.testing.assert_allclose(x, np.linalg.solve(M, b), atol=1e-8)
    # already optimal: returns immediately without iterating
    (x2,), st2, _ = optim.LBFGS().step([np.linalg.solve(M, b)], _quadratic(M, b), {})
    assert st2["n_iter"] == 0 and st2["func_evals"] == 1


def test_optimizer_trajectory_storage_sees_every_objective_evaluation():
    """``storage`` (the harness's sensitivity runs) is applied to each iterate the objective is
    evaluated at and to the loss and gradient it returns; the identity changes nothing."""
    from reference import driver
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.standard_normal((3, 3)))
    objective = {"name": "quadratic_quartic", "A": (q * [0.5, 1.0, 2.0]) @ q.T,
                 "b": np.array([1.0, -1.0, 0.5]), "c": 0.1}
    args = ("optim.LBFGS", {"lr": 0.2, "max_iter": 3}, {"x": np.array([0.3, -0.2, 0.1])},
            [{"params": ["x"]}], [{}, {}])
    plain = driver.optimizer_trajectory(*args, objective=objective)
    seen = []

    def identity(v):
        seen.append(np.shape(v))
        return v
    same = driver.optimizer_trajectory(*args, objective=objective, storage=identity)
    np.testing.assert_array_equal(same["params"][-1]["x"], plain["params"][-1]["x"])
    evals = int(same["state"][-1]["x"]["func_evals"])
    assert seen.count((3,)) == 2 * evals and seen.count(()) == evals  # x and grad; loss
    rounded = driver.optimizer_trajectory(*args, objective=objective,
                                          storage=lambda v: np.asarray(v, np.float32) * 1.0)
    assert not np.array_equal(rounded["params"][-1]["x"], plain["params"][-1]["x"])
    np.testing.assert_allclose(rounded["params"][-1]["x"], plain["params"][-1]["x"], rtol=1e-5)


def test_lbfgs_two_parameters_and_state_carries_over():
    A = np.diag([1.0, 4.0, 9.0])
    b = np.array([1.0, 1.0, 1.0])

    def f(ps):
        x = np.concatenate([ps[0].ravel(), ps[1]])
        g = A @ x - b
        return 0.5 * x @ A @ x - b @ x, [g[:2].reshape(1, 2), g[2:]]

    opt = optim.LBFGS(max_iter=4, line_search_fn="strong_wolfe", tolerance_grad=1e-12,
                      tolerance_change=1e-14)
    ps, st = [np.zeros((1, 2)), np.zeros(1)], {}
    for _ in range(5):
        ps, st, _ = opt.step(ps, f, st)
    np.testing.assert_allclose(np.concatenate([ps[0].ravel(), ps[1]]), b / np.diag(A), atol=1e-9)
    assert ps[0].shape == (1, 2)
    with pytest.raises(RuntimeError):
        optim.LBFGS(line_search_fn="backtracking").step([np.ones(2)], _quadratic(np.eye(2), np.zeros(2)), {})


# ---------------------------------------------------------------------------------------------
# purity, errors

@pytest.mark.parametrize("opt", [
    optim.SGD(lr=0.1, momentum=0.9), optim.Adam(amsgrad=True), optim.AdamW(), optim.Adamax(),
    optim.NAdam(), optim.RAdam(), optim.RMSprop(momentum=0.5, centered=True), optim.Adagrad(),
    optim.Adadelta(), optim.ASGD(), optim.Rprop(), optim.Adafactor(), optim.Muon()])
def test_step_is_pure(opt):
    p, g = P0.copy(), G0.copy()
    _, st = opt.step(p, g, {})
    st_copy = {k: np.array(v, copy=True) for k, v in st.items()}
    opt.step(p, g, st)
    np.testing.assert_array_equal(p, P0)
    np.testing.assert_array_equal(g, G0)
    for k in st:
        np.testing.assert_array_equal(st[k], st_copy[k])


@pytest.mark.parametrize("ctor", [
    lambda: optim.SGD(lr=-1), lambda: optim.SGD(momentum=-0.1),
    lambda: optim.SGD(lr=0.1, nesterov=True), lambda: optim.Adam(betas=(1.0, 0.9)),
    lambda: optim.Adam(eps=-1), lambda: optim.AdamW(weight_decay=-1),
    lambda: optim.Adamax(betas=(0.9, 1.0)), lambda: optim.NAdam(momentum_decay=-1),
    lambda: optim.RAdam(lr=-1), lambda: optim.RMSprop(alpha=-1),
    lambda: optim.Adagrad(lr_decay=-1), lambda: optim.Adagrad(initial_accumulator_value=-1),
    lambda: optim.Adadelta(rho=1.5), lambda: optim.ASGD(weight_decay=-1),
    lambda: optim.Rprop(etas=(1.5, 1.2)), lambda: optim.SparseAdam(lr=0.0),
    lambda: optim.SparseAdam(eps=0.0), lambda: optim.Adafactor(beta2_decay=0.5),
    lambda: optim.Adafactor(d=0.5), lambda: optim.Muon(adjust_lr_fn="x"),
    lambda: optim.LBFGS(lr=-1)])
def test_invalid_hyperparameters_raise(ctor):
    with pytest.raises(ValueError):
        ctor()


# ---------------------------------------------------------------------------------------------
# AveragedModel

def test_averaged_model_swa_is_running_mean_and_buffers_copied():
    avg = swa_utils.AveragedModel()
    seq = [np.array([1.0, 2.0]), np.array([3.0, 0.0]), np.array([8.0, 1.0])]
    st = avg.init_state({"w": np.zeros(2)}, {"running_mean": np.zeros(1)})
    for k, w in enumerate(seq):
        st = avg.update_parameters(st, {"w": w}, {"running_mean": np.array([float(k)])})
    np.testing.assert_allclose(st["params"]["w"], np.mean(seq, axis=0), rtol=1e-15)
    np.testing.assert_array_equal(st["buffers"]["running_mean"], [2.0])
    assert st["n_averaged"] == 3


def test_averaged_model_ema_and_use_buffers():
    d = 0.9
    avg = swa_utils.AveragedModel(multi_avg_fn=swa_utils.get_ema_multi_avg_fn(d), use_buffers=True)
    st = avg.init_state({"w": np.zeros(1)}, {"m": np.zeros(1), "n": np.array(0)})
    for k, w in enumerate([1.0, 2.0, 4.0]):
        st = avg.update_parameters(st, {"w": np.array([w])}, {"m": np.array([w]),
                                                              "n": np.array(k + 1)})
    expected = (1.0 * d + 2.0 * (1 - d)) * d + 4.0 * (1 - d)  # first update copies
    np.testing.assert_allclose(st["params"]["w"], expected, rtol=1e-14)
    np.testing.assert_allclose(st["buffers"]["m"], expected, rtol=1e-14)
    assert st["buffers"]["n"].dtype.kind == "i"
    with pytest.raises(ValueError):
        swa_utils.get_ema_avg_fn(1.5)


# ---------------------------------------------------------------------------------------------
# gradient clipping

def test_clip_grad_norm_by_hand():
    grads = [np.array([3.0, 4.0]), None, np.array([[12.0]])]
    total, new = nn_utils.clip_grad_norm_(grads, max_norm=6.5)
    assert total == pytest.approx(13.0, rel=1e-15)
    coef = 6.5 / (13.0 + 1e-6)
    np.testing.assert_allclose(new[0], [3.0 * coef, 4.0 * coef], rtol=1e-15)
    assert new[1] is None
    total, new = nn_utils.clip_grad_norm_(grads, max_norm=100.0, norm_type=1)
    assert total == 19.0
    np.testing.assert_array_equal(new[2], [[12.0]])  # coefficient clamped to 1
    total, new = nn_utils.clip_grad_norm_(grads, max_norm=6.0, norm_type=float("inf"))
    assert total == 12.0
    np.testing.assert_allclose(new[2], [[12.0 * 6.0 / (12.0 + 1e-6)]], rtol=1e-15)
    assert nn_utils.clip_grad_norm_([], 1.0)[0] == 0.0
    np.testing.assert_array_equal(grads[0], [3.0, 4.0])  # not mutated


def test_clip_grad_norm_nonfinite_and_value():
    grads = [np.array([1.0, np.nan])]
    with pytest.raises(RuntimeError):
        nn_utils.clip_grad_norm_(grads, 1.0, error_if_nonfinite=True)
    total, new = nn_utils.clip_grad_norm_(grads, 1.0)
    assert np.isnan(total) and np.isnan(new[0]).all()
    new = nn_utils.clip_grad_value_([np.array([-3.0, 0.2, 5.0]), None], 1.0)
    np.testing.assert_array_equal(new[0], [-1.0, 0.2, 1.0])
    assert new[1] is None
