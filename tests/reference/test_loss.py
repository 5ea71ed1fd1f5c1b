"""Reference losses: finite-difference checks of every backward, worked examples, identities and
errors.

Expected values come from the torch docs' worked examples, hand computation and identities -- never
from a framework.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import reference.functional as F
import reference.nn as N
from tests.fd import assert_vjp_matches

RED = ["none", "mean", "sum"]


def rng(seed=0):
    return np.random.default_rng(seed)


def check_vjp(fn, bwd, args, kwargs=None, diff=None, seed=1, **tol):
    """FD-check ``bwd`` against ``fn`` for the float positional args listed in ``diff``.

    Non-differentiated args (integer targets, lengths) are bound in a closure so the FD helper
    never casts them to float.
    """
    kwargs = kwargs or {}
    diff = [i for i, a in enumerate(args) if isinstance(a, np.ndarray) and a.dtype.kind == "f"] \
        if diff is None else diff
    out = fn(*args, **kwargs)
    cot = rng(seed).standard_normal(np.shape(out))
    grads = bwd(cot, *args, **kwargs)

    def f(*d):
        full = list(args)
        for i, v in zip(diff, d):
            full[i] = v
        return fn(*full, **kwargs)
    assert_vjp_matches(f, [args[i] for i in diff], cot, [grads[i] for i in diff], **tol)
    return grads


def check_module(module, inputs, params=None, diff=(0,), seed=2, **tol):
    """FD-check a reference module's backward for its float inputs ``diff`` and its params."""
    params = params or {}
    outs, _, ctx = module.forward(params, module.initial_buffers(), tuple(inputs), True)
    cots = tuple(rng(seed).standard_normal(np.shape(o)) for o in outs)
    g_in, g_par = module.backward(ctx, cots)

    def total(ins, pars):
        o = module.forward(pars, module.initial_buffers(), tuple(ins), True)[0]
        return sum(np.sum(c * v) for c, v in zip(cots, o))
    for i in diff:
        def f(x, i=i):
            ins = list(inputs)
            ins[i] = x
            return np.asarray(total(ins, params))
        assert_vjp_matches(f, [inputs[i]], np.array(1.0), [g_in[i]], **tol)
    for k in params:
        def fp(p, k=k):
            return np.asarray(total(inputs, {**params, k: p}))
        # a parameter the forward did not use has no gradient (torch: .grad None); FD gives 0
        g = g_par[k] if k in g_par else np.zeros_like(params[k])
        assert_vjp_matches(fp, [params[k]], np.array(1.0), [g], **tol)
    return outs


# ============================================================================ worked examples

X_DOC = np.array([[1.0, 2.0], [1.0, 3.0], [1.0, 3.0]])
T_DOC = np.array([0, 1, 1])


@pytest.mark.parametrize("weight, expected", [
    (None, {"none": [1.3133, 0.1269, 0.1269], "sum": 1.5671, "mean": 0.5224}),
    (np.array([1.0, 2.0]), {"none": [1.3133, 0.2539, 0.2539], "sum": 1.8210, "mean": 0.3642}),
])
def test_cross_entropy_worked_example(weight, expected):
    for red, val in expected.items():
        np.testing.assert_allclose(F.cross_entropy(X_DOC, T_DOC, weight=weight, reduction=red),
                                   val, atol=5e-5)


def test_l1_mse_worked_example():
    a, b = np.ones((2, 2)), 3 * np.ones((2, 2))
    np.testing.assert_array_equal(F.l1_loss(a, b, reduction="none"), 2 * np.ones((2, 2)))
    assert F.l1_loss(a, b) == 2 and F.mse_loss(a, b) == 4
    assert F.mse_loss(a, b, reduction="sum") == 16


# ============================================================================ regression losses

@pytest.mark.parametrize("reduction", RED)
@pytest.mark.parametrize("name", ["l1_loss", "mse_loss"])
@pytest.mark.parametrize("weighted", [False, True])
def test_l1_mse_backward(name, reduction, weighted):
    r = rng(3)
    x, y = r.standard_normal((2, 3)), r.standard_normal((2, 3))
    kw = dict(reduction=reduction, weight=r.random((2, 3)) + 0.1 if weighted else None)
    check_vjp(getattr(F, name), getattr(F, name + "_backward"), [x, y], kw)


@pytest.mark.parametrize("name", ["l1_loss", "mse_loss", "smooth_l1_loss", "huber_loss"])
def test_pointwise_broadcast_warns_and_backward_sums(name):
    r = rng(4)
    x, y = r.standard_normal((2, 3)), r.standard_normal((1, 3))
    with pytest.warns(UserWarning):
        getattr(F, name)(x, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_vjp(getattr(F, name), getattr(F, name + "_backward"), [x, y], dict(reduction="sum"))


@pytest.mark.parametrize("name", ["l1_loss", "mse_loss", "smooth_l1_loss", "huber_loss",
                                  "poisson_nll_loss", "soft_margin_loss",
                                  "binary_cross_entropy_with_logits"])
def test_zero_dim_inputs_keep_zero_dim_gradients(name):
    x, y = np.array(0.3), np.array(1.0)
    grads = getattr(F, name + "_backward")(np.array(0.7), x, y, reduction="none")
    assert all(g is None or np.shape(g) == () for g in grads)


def test_weighted_mean_denominators():
    x, y, w = np.array([1.0, 2.0]), np.zeros(2), np.array([1.0, 3.0])
    assert F.l1_loss(x, y, weight=w) == pytest.approx((1 + 6) / 4)        # sum(w l) / sum(w)
    assert F.mse_loss(x, y, weight=w) == pytest.approx((1 + 12) / 4)
    assert F.huber_loss(x, y, weight=w, delta=5.0) == pytest.approx((0.5 + 6) / 2)  # mean(w l)


@pytest.mark.parametrize("reduction", RED)
@pytest.mark.parametrize("beta", [0.0, 0.5, 2.0])
def test_smooth_l1_backward(reduction, beta):
    r = rng(5)
    x, y = r.standard_normal((3, 3)) * 2, r.standard_normal((3, 3))
    check_vjp(F.smooth_l1_loss, F.smooth_l1_loss_backward, [x, y], dict(reduction=reduction,
                                                                         beta=beta))


@pytest.mark.parametrize("reduction", RED)
@pytest.mark.parametrize("delta", [0.5, 1.0, 2.0])
@pytest.mark.parametrize("weighted", [False, True])
def test_huber_backward(reduction, delta, weighted):
    r = rng(6)
    x, y = r.standard_normal((3, 3)) * 2, r.standard_normal((3, 3))
    kw = dict(reduction=reduction, delta=delta, weight=r.random((3, 3)) if weighted else None)
    check_vjp(F.huber_loss, F.huber_loss_backward, [x, y], kw)


@pytest.mark.parametrize("delta", [0.3, 1.0, 2.5])
def test_huber_is_delta_times_smooth_l1(delta):
    r = rng(7)
    x, y = r.standard_normal((4, 3)) * 3, r.standard_normal((4, 3))
    np.testing.assert_allclose(F.huber_loss(x, y, "none", delta),
                               delta * F.smooth_l1_loss(x, y, "none", beta=delta), rtol=1e-13)


def test_smooth_l1_beta_zero_is_l1():
    r = rng(8)
    x, y = r.standard_normal((3, 3)), r.standard_normal((3, 3))
    np.testing.assert_array_equal(F.smooth_l1_loss(x, y, "none", 0.0), np.abs(x - y))
    # hand values: |d| = 0.5 < beta = 1 -> 0.125; |d| = 3 -> 2.5
    np.testing.assert_allclose(F.smooth_l1_loss(np.array([0.5, 3.0]), np.zeros(2), "none"),
                               [0.125, 2.5])


# ============================================================================ likelihood losses

@pytest.mark.parametrize("reduction", RED)
@pytest.mark.parametrize("log_input", [True, False])
@pytest.mark.parametrize("full", [False, True])
def test_poisson_nll_backward(reduction, log_input, full):
    r = rng(9)
    x = r.standard_normal((2, 3)) if log_input else r.random((2, 3)) + 0.2
    y = np.array([[0.0, 0.5, 1.5], [2.0, 3.5, 0.9]])
    check_vjp(F.poisson_nll_loss, F.poisson_nll_loss_backward, [x, y],
              dict(log_input=log_input, full=full, reduction=reduction))


def test_poisson_stirling_term_only_above_one():
    x = np.zeros(3)
    y = np.array([0.5, 1.0, 3.0])
    diff = F.poisson_nll_loss(x, y, full=True, reduction="none") - F.poisson_nll_loss(
        x, y, reduction="none")
    np.testing.assert_allclose(diff, [0, 0, 3 * math.log(3) - 3 + 0.5 * math.log(6 * math.pi)])
    assert F.poisson_nll_loss(np.array([0.0]), np.array([1.0])) == pytest.approx(1.0)  # e^0 - 0


@pytest.mark.parametrize("reduction", RED)
@pytest.mark.parametrize("var_shape", [(3, 2), (3,), (3, 1), (1, 2), "float"])
@pytest.mark.parametrize("full", [False, True])
def test_gaussian_nll_backward(reduction, var_shape, full):
    r = rng(10)
    x, y = r.standard_normal((3, 2)), r.standard_normal((3, 2))
    var = 0.7 if var_shape == "float" else r.random(var_shape) + 0.2
    args = [x, y] if var_shape == "float" else [x, y, var]
    fn = (lambda a, b, **k: F.gaussian_nll_loss(a, b, var, **k)) if var_shape == "float" \
        else F.gaussian_nll_loss
    bwd = (lambda g, a, b, **k: F.gaussian_nll_loss_backward(g, a, b, var, **k)) \
        if var_shape == "float" else F.gaussian_nll_loss_backward
    grads = check_vjp(fn, bwd, args, dict(full=full, reduction=reduction))
    if var_shape != "float":
        assert grads[2].shape == var.shape


def test_gaussian_nll_values_and_homoscedastic_identity():
    x, y = np.array([[1.0, 2.0]]), np.array([[0.0, 0.0]])
    # 0.5 (log 2 + 1/2) and 0.5 (log 2 + 4/2), plus 0.5 log(2 pi) when full
    np.testing.assert_allclose(F.gaussian_nll_loss(x, y, np.array([[2.0, 2.0]]), reduction="none"),
                               [[0.5 * (math.log(2) + 0.5), 0.5 * (math.log(2) + 2)]])
    np.testing.assert_allclose(F.gaussian_nll_loss(x, y, np.array([2.0]), full=True),
                               0.5 * (math.log(2) + 1.25) + 0.5 * math.log(2 * math.pi))
    assert F.gaussian_nll_loss(x, y, 2.0) == F.gaussian_nll_loss(x, y, np.array([2.0]))


def test_gaussian_nll_eps_clamp_forward_and_straight_through_grad():
    x, y, var = np.array([1.0]), np.array([0.0]), np.array([1e-9])
    assert F.gaussian_nll_loss(x, y, var, eps=1e-3) == pytest.approx(0.5 * (math.log(1e-3) + 1e3))
    gv = F.gaussian_nll_loss_backward(np.array(1.0), x, y, var, eps=1e-3)[2]
    np.testing.assert_allclose(gv, 0.5 * (1e3 - 1e6))   # torch's clamp is invisible to autograd


@pytest.mark.parametrize("reduction", RED + ["batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_backward(reduction, log_target):
    r = rng(11)
    x = np.log(r.random((2, 3)) + 0.1)
    y = np.log(r.random((2, 3)) + 0.1) if log_target else r.random((2, 3)) + 0.1
    check_vjp(F.kl_div, F.kl_div_backward, [x, y], dict(reduction=reduction, log_target=log_target))


def test_kl_div_identities():
    r = rng(12)
    p = r.random((3, 4))
    p /= p.sum(1, keepdims=True)
    q = r.random((3, 4))
    q /= q.sum(1, keepdims=True)
    assert F.kl_div(np.log(p), p, reduction="sum") == pytest.approx(0, abs=1e-14)
    kl = np.sum(p * np.log(p / q))
    assert F.kl_div(np.log(q), p, reduction="batchmean") == pytest.approx(kl / 3)
    assert F.kl_div(np.log(q), p, reduction="mean") == pytest.approx(kl / 12)
    assert F.kl_div(np.log(q), np.log(p), "sum", log_target=True) == pytest.approx(kl)
    assert F.kl_div(np.array([0.3]), np.array([0.0]), "sum") == 0.0   # 0 log 0 = 0


# ============================================================================ binary losses

@pytest.mark.parametrize("reduction", RED)
@pytest.mark.parametrize("weighted", [False, True])
def test_bce_backward(reduction, weighted):
    r = rng(13)
    p, y = r.random((2, 3)) * 0.8 + 0.1, r.random((2, 3))
    check_vjp(F.binary_cross_entropy, F.binary_cross_entropy_backward, [p, y],
              dict(reduction=reduction, weight=r.random(3) if weighted else None))


def test_bce_log_clamped_at_minus_100():
    loss = F.binary_cross_entropy(np.array([0.0, 1.0, 0.0]), np.array([1.0, 0.0, 0.0]),
                                  reduction="none")
    np.testing.assert_array_equal(loss, [100.0, 100.0, 0.0])
    assert F.binary_cross_entropy(np.array([0.5]), np.array([1.0])) == pytest.approx(math.log(2))


@pytest.mark.parametrize("reduction", RED)
@pytest.mark.parametrize("pos_weight", [None, "classes", "column"])
@pytest.mark.parametrize("weighted", [False, True])
def test_bce_with_logits_backward(reduction, pos_weight, weighted):
    r = rng(14)
    x, y = r.standard_normal((2, 3)) * 3, r.random((2, 3))
    pw = {None: None, "classes": r.random(3) * 3, "column": r.random((2, 1)) + 0.5}[pos_weight]
    grads = check_vjp(F.binary_cross_entropy_with_logits,
                      F.binary_cross_entropy_with_logits_backward, [x, y],
                      dict(reduction=reduction, pos_weight=pw,
                           weight=r.random(3) if weighted else None))
    assert grads[0].shape == x.shape


def test_bce_with_logits_identities():
    r = rng(15)
    x, y = r.standard_normal((3, 4)), r.random((3, 4))
    sig = 1 / (1 + np.exp(-x))
    np.testing.assert_allclose(F.binary_cross_entropy_with_logits(x, y, reduction="none"),
                               F.binary_cross_entropy(sig, y, reduction="none"), rtol=1e-12)
    np.testing.assert_allclose(F.binary_cross_entropy_with_logits(x, y, pos_weight=np.ones(4)),
                               F.binary_cross_entropy_with_logits(x, y), rtol=1e-14)
    # pos_weight p scales only the positive term: y = 1 -> p log(1 + e^-x)
    assert F.binary_cross_entropy_with_logits(np.array([0.0]), np.array([1.0]),
                                              pos_weight=np.array([3.0])) == pytest.approx(
        3 * math.log(2))
    assert np.isfinite(F.binary_cross_entropy_with_logits(np.array([-800.0]), np.array([1.0])))


# ============================================================================ NLL / cross entropy

C = 3
SHAPES = {"batched": ((4, C), (4,)), "unbatched": ((C,), ()), "kdim": ((2, C, 2), (2, 2))}


def _index_case(shape_key, ignore_index, seed=16):
    r = rng(seed)
    xs, ts = SHAPES[shape_key]
    x = r.standard_normal(xs)
    t = r.integers(0, C, ts)
    if ignore_index is not None:
        t.reshape(-1)[0] = ignore_index
        t.reshape(-1)[-1] = 0          # keep at least one counted target (nan mean otherwise)
    return x, t


@pytest.mark.parametrize("reduction", RED)
@pytest.mark.parametrize("shape_key", list(SHAPES))
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ignore_index", [None, 1, 5])
def test_nll_loss_backward(reduction, shape_key, weighted, ignore_index):
    x, t = _index_case(shape_key, ignore_index)
    if shape_key == "unbatched" and ignore_index is not None:
        t = np.array(0)
    kw = dict(reduction=reduction, weight=np.array([0.5, 2.0, 1.5]) if weighted else None,
              ignore_index=-100 if ignore_index is None else ignore_index)
    grads = check_vjp(F.nll_loss, F.nll_loss_backward, [x, t], kw, diff=[0])
    assert grads[1] is None


@pytest.mark.parametrize("reduction", RED)
@pytest.mark.parametrize("shape_key", list(SHAPES))
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.25])
@pytest.mark.parametrize("ignore_index", [None, 2])
def test_cross_entropy_index_backward(reduction, shape_key, weighted, label_smoothing,
                                      ignore_index):
    x, t = _index_case(shape_key, ignore_index, seed=17)
    if shape_key == "unbatched" and ignore_index is not None:
        t = np.array(1)
    kw = dict(reduction=reduction, weight=np.array([0.5, 2.0, 1.5]) if weighted else None,
              ignore_index=-100 if ignore_index is None else ignore_index,
              label_smoothing=label_smoothing)
    check_vjp(F.cross_entropy, F.cross_entropy_backward, [x, t], kw, diff=[0])


@pytest.mark.parametrize("reduction", RED)
@pytest.mark.parametrize("shape_key", list(SHAPES))
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.25])
def test_cross_entropy_probability_backward(reduction, shape_key, weighted, label_smoothing):
    r = rng(18)
    xs = SHAPES[shape_key][0]
    x, y = r.standard_normal(xs), r.random(xs)
    y /= y.sum(axis=0 if len(xs) == 1 else 1, keepdims=True)
    kw = dict(reduction=reduction, weight=np.array([0.5, 2.0, 1.5]) if weighted else None,
              label_smoothing=label_smoothing)
    check_vjp(F.cross_entropy, F.cross_entropy_backward, [x, y], kw)


def test_cross_entropy_identities():
    r = rng(19)
    x, t = r.standard_normal((5, C)), r.integers(0, C, 5)
    logp = x - np.log(np.exp(x).sum(1, keepdims=True))
    w = np.array([0.5, 2.0, 1.5])
    for red in RED:
        np.testing.assert_allclose(F.cross_entropy(x, t, weight=w, reduction=red),
                                   F.nll_loss(logp, t, weight=w, reduction=red), rtol=1e-13)
        # one-hot probabilities == indices (unweighted; the weighted 'mean' denominators differ)
        np.testing.assert_allclose(F.cross_entropy(x, np.eye(C)[t], reduction=red),
                                   F.cross_entropy(x, t, reduction=red), rtol=1e-13)
    eps = 0.3
    smoothed = (1 - eps) * F.cross_entropy(x, t, reduction="none") + eps * (-logp.mean(1))
    np.testing.assert_allclose(F.cross_entropy(x, t, reduction="none", label_smoothing=eps),
                               smoothed, rtol=1e-13)
    # weighted mean = sum(w_y l) / sum(w_y), also for the smoothing term
    lw = F.cross_entropy(x, t, weight=w, reduction="none", label_smoothing=eps)
    assert F.cross_entropy(x, t, weight=w, label_smoothing=eps) == pytest.approx(
        lw.sum() / w[t].sum())
    # probability targets: 'mean' divides by the number of rows, not by weights
    y = np.eye(C)[t]
    assert F.cross_entropy(x, y, weight=w) == pytest.approx(
        F.cross_entropy(x, y, weight=w, reduction="sum") / 5)


@pytest.mark.parametrize("fn", ["nll_loss", "cross_entropy"])
def test_all_targets_ignored(fn):
    x, t = rng(20).standard_normal((3, C)), np.array([1, 1, 1])
    assert np.isnan(getattr(F, fn)(x, t, ignore_index=1))
    assert getattr(F, fn)(x, t, ignore_index=1, reduction="sum") == 0.0
    np.testing.assert_array_equal(getattr(F, fn)(x, t, ignore_index=1, reduction="none"), 0.0)
    g = getattr(F, fn + "_backward")(np.array(1.0), x, t, ignore_index=1)[0]
    np.testing.assert_array_equal(g, 0.0)   # ignored rows get exactly zero, not nan


@pytest.mark.parametrize("reduction", RED)
@pytest.mark.parametrize("out_features", [(), (2,)])
@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("target_kind", ["index", "prob"])
def test_linear_cross_entropy_backward(reduction, out_features, bias, target_kind):
    r = rng(21)
    x, W = r.standard_normal((3, 4)), r.standard_normal((C, *out_features, 4))
    b = r.standard_normal((C, *out_features)) if bias else None
    if target_kind == "index":
        t = r.integers(0, C, (3, *out_features))
    else:
        t = r.random((3, C, *out_features))
        t /= t.sum(1, keepdims=True)
    kw = dict(reduction=reduction, weight=np.array([0.5, 2.0, 1.5]), label_smoothing=0.1)

    def fn(x_, W_, t_, b_=None, **k):
        return F.linear_cross_entropy(x_, W_, t_, linear_bias=b_, **k)

    def bwd(g, x_, W_, t_, b_=None, **k):
        return F.linear_cross_entropy_backward(g, x_, W_, t_, linear_bias=b_, **k)
    args = [x, W, t] + ([b] if bias else [])
    diff = [0, 1] + ([2] if target_kind == "prob" else []) + ([3] if bias else [])
    check_vjp(fn, bwd, args, kw, diff=diff)
    logits = np.moveaxis(np.tensordot(x, W, axes=([1], [-1])), -1, -1)
    if bias:
        logits = logits + b
    np.testing.assert_allclose(fn(*args, **kw), F.cross_entropy(logits, t, **kw), rtol=1e-13)


# ============================================================================ margin losses

@pytest.mark.parametrize("reduction", RED)
@pytest.mark.parametrize("p", [1, 2])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("unbatched", [False, True])
def test_multi_margin_backward(reduction, p, weighted, unbatched):
    r = rng(22)
    x, t = (r.standard_normal(4), np.array(2)) if unbatched else (r.standard_normal((3, 4)),
                                                                  np.array([0, 3, 1]))
    kw = dict(p=p, margin=0.7, reduction=reduction, weight=r.random(4) if weighted else None)
    check_vjp(F.multi_margin_loss, F.multi_margin_loss_backward, [x, t], kw, diff=[0])


def test_multi_margin_value():
    # x = [0.1, 0.2, 0.4, 0.8], y = 3: (max(0, 1 - 0.8 + 0.1) + ... ) / 4 (torch docs example)
    assert F.multi_margin_loss(np.array([[0.1, 0.2, 0.4, 0.8]]), np.array([3])) == pytest.approx(
        (0.3 + 0.4 + 0.6) / 4)


@pytest.mark.parametrize("reduction", RED)
def test_multilabel_margin_backward_and_doc_value(reduction):
    r = rng(23)
    x, t = r.standard_normal((2, 4)), np.array([[3, 0, -1, 1], [1, 2, 3, 0]])
    check_vjp(F.multilabel_margin_loss, F.multilabel_margin_loss_backward, [x, t],
              dict(reduction=reduction), diff=[0])
    # torch docs example: 0.85
    doc = F.multilabel_margin_loss(np.array([[0.1, 0.2, 0.4, 0.8]]), np.array([[3, 0, -1, 1]]))
    assert doc == pytest.approx(0.85)


@pytest.mark.parametrize("reduction", RED)
def test_soft_margin_backward(reduction):
    r = rng(24)
    x, y = r.standard_normal((2, 3)), np.sign(r.standard_normal((2, 3)))
    grads = check_vjp(F.soft_margin_loss, F.soft_margin_loss_backward, [x, y],
                      dict(reduction=reduction), diff=[0])
    assert grads[1] is None
    assert F.soft_margin_loss(np.zeros(2), np.ones(2)) == pytest.approx(math.log(2))


@pytest.mark.parametrize("reduction", RED)
@pytest.mark.parametrize("weighted", [False, True])
def test_multilabel_soft_margin_backward(reduction, weighted):
    r = rng(25)
    x, y = r.standard_normal((2, 3)), r.random((2, 3))
    w = r.random(3) if weighted else None
    check_vjp(F.multilabel_soft_margin_loss, F.multilabel_soft_margin_loss_backward, [x, y],
              dict(reduction=reduction, weight=w))
    bce = F.binary_cross_entropy_with_logits(x, y, weight=w, reduction="none").mean(1)
    np.testing.assert_allclose(F.multilabel_soft_margin_loss(x, y, w, "none"), bce, rtol=1e-13)


# ============================================================================ embedding losses

@pytest.mark.parametrize("reduction", RED)
@pytest.mark.parametrize("margin", [0.0, 0.5])
def test_margin_ranking_backward(reduction, margin):
    r = rng(26)
    args = [r.standard_normal(5), r.standard_normal(5), np.sign(r.standard_normal(5))]
    check_vjp(F.margin_ranking_loss, F.margin_ranking_loss_backward, args,
              dict(margin=margin, reduction=reduction))
    assert F.margin_ranking_loss(np.array([1.0]), np.array([3.0]), np.array([1.0]), 0.5) == 2.5


@pytest.mark.parametrize("reduction", RED)
@pytest.mark.parametrize("margin", [1.0, 0.3])
def test_hinge_embedding_backward(reduction, margin):
    r = rng(27)
    x, y = r.standard_normal((3, 3)), np.sign(r.standard_normal((3, 3)))
    check_vjp(F.hinge_embedding_loss, F.hinge_embedding_loss_backward, [x, y],
              dict(margin=margin, reduction=reduction), diff=[0])
    np.testing.assert_allclose(F.hinge_embedding_loss(np.array([0.2, 0.2, 2.0]),
                                                      np.array([1.0, -1.0, -1.0]), 1.0, "none"),
                               [0.2, 0.8, 0.0])


@pytest.mark.parametrize("reduction", RED)
@pytest.mark.parametrize("margin", [0.0, 0.4, -0.3])
@pytest.mark.parametrize("unbatched", [False, True])
def test_cosine_embedding_backward(reduction, margin, unbatched):
    r = rng(28)
    if unbatched:
        args = [r.standard_normal(3), r.standard_normal(3), np.array(-1.0)]
    else:
        args = [r.standard_normal((4, 3)), r.standard_normal((4, 3)), np.array([1.0, -1, 1, -1])]
    check_vjp(F.cosine_embedding_loss, F.cosine_embedding_loss_backward, args,
              dict(margin=margin, reduction=reduction), diff=[0, 1])


def test_cosine_embedding_values():
    a = np.array([[1.0, 0.0], [1.0, 1.0]])
    b = np.array([[2.0, 0.0], [-1.0, 1.0]])
    np.testing.assert_allclose(F.cosine_embedding_loss(a, b, np.array([1.0, 1.0]),
                                                       reduction="none"), [0.0, 1.0], atol=1e-12)
    np.testing.assert_allclose(F.cosine_embedding_loss(a, a, np.array([-1.0, -1.0]), 0.5,
                                                       reduction="none"), [0.5, 0.5], atol=1e-12)


@pytest.mark.parametrize("reduction", RED)
@pytest.mark.parametrize("p", [1.0, 2.0, 3.0, np.inf])
@pytest.mark.parametrize("swap", [False, True])
def test_triplet_margin_backward(reduction, p, swap):
    r = rng(29)
    a, pos, neg = r.standard_normal((4, 3)), r.standard_normal((4, 3)), r.standard_normal((4, 3))
    check_vjp(F.triplet_margin_loss, F.triplet_margin_loss_backward, [a, pos, neg],
              dict(margin=2.0, p=p, swap=swap, reduction=reduction))


def test_triplet_values_and_swap():
    a, pos, neg = np.array([[0.0, 0.0]]), np.array([[3.0, 4.0]]), np.array([[3.0, 5.0]])
    d = lambda u, v: np.linalg.norm(u - v + 1e-6)   # noqa: E731  eps added to the difference
    expected = 1.0 + d(a, pos) - d(a, neg)
    assert F.triplet_margin_loss(a, pos, neg) == pytest.approx(max(expected, 0))
    # swap: d(p, n) = 1 < d(a, n), so the hinge uses 1
    assert F.triplet_margin_loss(a, pos, neg, margin=0.5, swap=True) == pytest.approx(
        0.5 + d(a, pos) - d(pos, neg))


def _cos_dist(x1, x2):
    return 1 - (x1 * x2).sum(-1) / np.sqrt((x1 ** 2).sum(-1) * (x2 ** 2).sum(-1))


def _cos_dist_backward(g, x1, x2):
    n1 = np.sqrt((x1 ** 2).sum(-1, keepdims=True))
    n2 = np.sqrt((x2 ** 2).sum(-1, keepdims=True))
    c = (x1 * x2).sum(-1, keepdims=True) / (n1 * n2)
    g = np.asarray(g)[..., None]
    return -g * (x2 / (n1 * n2) - c * x1 / n1 ** 2), -g * (x1 / (n1 * n2) - c * x2 / n2 ** 2)


@pytest.mark.parametrize("reduction", RED)
@pytest.mark.parametrize("swap", [False, True])
@pytest.mark.parametrize("custom", [False, True])
def test_triplet_with_distance_backward(reduction, swap, custom):
    r = rng(30)
    args = [r.standard_normal((4, 3)) for _ in range(3)]
    kw = dict(margin=1.0, swap=swap, reduction=reduction,
              distance_function=_cos_dist if custom else None)
    check_vjp(F.triplet_margin_with_distance_loss,
              lambda g, *a, **k: F.triplet_margin_with_distance_loss_backward(
                  g, *a, distance_function_backward=_cos_dist_backward if custom else None, **k),
              args, kw)
    if not custom:
        np.testing.assert_allclose(F.triplet_margin_with_distance_loss(*args, **kw),
                                   F.triplet_margin_loss(*args, margin=1.0, swap=swap,
                                                         reduction=reduction), rtol=1e-14)


# ============================================================================ CTC

def _log_softmax(z):
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


@pytest.mark.parametrize("reduction", RED)
@pytest.mark.parametrize("blank", [0, 3])
@pytest.mark.parametrize("layout", ["padded", "concatenated"])
@pytest.mark.parametrize("zero_infinity", [False, True])
def test_ctc_backward(reduction, blank, layout, zero_infinity):
    r = rng(31)
    T, Nb, Cc = 5, 3, 4
    lp = _log_softmax(r.standard_normal((T, Nb, Cc)))
    labels = [c for c in range(Cc) if c != blank]
    tg = r.choice(labels, (Nb, 3))
    tg[0, 1] = tg[0, 0]                      # a repeated label needs a blank between
    tl = np.array([2, 3, 0])
    il = np.array([5, 2, 4]) if zero_infinity else np.array([5, 4, 4])   # 3 labels in 2 frames
    targets = tg if layout == "padded" else np.concatenate([tg[n, :tl[n]] for n in range(Nb)])
    kw = dict(blank=blank, reduction=reduction, zero_infinity=zero_infinity)
    loss = F.ctc_loss(lp, targets, il, tl, **kw)
    assert np.all(np.isfinite(loss))
    check_vjp(F.ctc_loss, F.ctc_loss_backward, [lp, targets, il, tl], kw, diff=[0], rtol=1e-5,
              atol=1e-7)


def test_ctc_single_path_and_reductions():
    r = rng(32)
    lp = _log_softmax(r.standard_normal((3, 1, 3)))
    # target [1, 1] in 3 frames: the only alignment is (1, blank, 1)
    only = -(lp[0, 0, 1] + lp[1, 0, 0] + lp[2, 0, 1])
    assert F.ctc_loss(lp, np.array([[1, 1]]), np.array([3]), np.array([2]),
                      reduction="sum") == pytest.approx(only)
    # 'mean' divides by the target length first
    assert F.ctc_loss(lp, np.array([[1, 1]]), np.array([3]), np.array([2])) == pytest.approx(
        only / 2)
    # an empty target: all blanks
    assert F.ctc_loss(lp, np.array([[1, 1]]), np.array([3]), np.array([0]),
                      reduction="sum") == pytest.approx(-lp[:, 0, 0].sum())
    # [1, 2] in 2 frames: the single path (1, 2); unbatched (T, C) form
    lp2 = _log_softmax(r.standard_normal((2, 3)))
    assert F.ctc_loss(lp2, np.array([1, 2]), np.array(2), np.array(2), reduction="none") == \
        pytest.approx(-(lp2[0, 1] + lp2[1, 2]))
    # impossible: [1, 1] in 2 frames -> inf, or 0 with zero_infinity
    assert np.isinf(F.ctc_loss(lp, np.array([[1, 1]]), np.array([2]), np.array([2])))
    assert F.ctc_loss(lp, np.array([[1, 1]]), np.array([2]), np.array([2]),
                      zero_infinity=True) == 0.0


def test_ctc_torch_convention_gradient_agrees_through_log_softmax():
    r = rng(33)
    z = r.standard_normal((4, 2, 3))
    lp = _log_softmax(z)
    args = (lp, np.array([[1, 2], [2, 0]]), np.array([4, 3]), np.array([2, 1]))
    g = F.ctc_loss_backward(np.array(1.0), *args)[0]
    gt = F.ctc_loss_backward_torch(np.array(1.0), *args)[0]
    assert not np.allclose(g, gt)
    to_logits = lambda d: d - np.exp(lp) * d.sum(-1, keepdims=True)   # noqa: E731
    np.testing.assert_allclose(to_logits(g), to_logits(gt), atol=1e-14)


# ============================================================================ modules

SIMPLE_MODULES = [
    (N.L1Loss(), "reg"), (N.MSELoss(reduction="sum"), "reg"), (N.SmoothL1Loss(beta=0.5), "reg"),
    (N.HuberLoss(delta=0.7), "reg"), (N.SoftMarginLoss(), "sign"),
    (N.PoissonNLLLoss(log_input=True, full=True), "poisson"),
    (N.KLDivLoss(reduction="batchmean", log_target=True), "reg"),
    (N.BCELoss(weight=np.array([1.0, 2.0, 0.5])), "prob"),
    (N.BCEWithLogitsLoss(pos_weight=np.array([1.0, 2.0, 0.5])), "logit"),
    (N.MultiLabelSoftMarginLoss(weight=np.array([1.0, 2.0, 0.5])), "logit"),
    (N.HingeEmbeddingLoss(margin=0.5), "sign"),
    (N.CrossEntropyLoss(weight=np.array([1.0, 2.0, 0.5]), label_smoothing=0.1), "index"),
    (N.NLLLoss(ignore_index=1), "index"), (N.MultiMarginLoss(p=2), "index"),
    (N.MultiLabelMarginLoss(), "multilabel"),
]


@pytest.mark.parametrize("module, kind", SIMPLE_MODULES, ids=lambda m: type(m).__name__)
def test_simple_modules(module, kind):
    r = rng(34)
    x = r.standard_normal((2, 3))
    target = {"reg": r.standard_normal((2, 3)), "sign": np.sign(r.standard_normal((2, 3))),
              "poisson": r.random((2, 3)) * 3, "prob": r.random((2, 3)),
              "logit": r.random((2, 3)), "index": np.array([0, 2]),
              "multilabel": np.array([[2, 0, -1], [1, -1, 0]])}[kind]
    if kind == "prob":
        x = r.random((2, 3)) * 0.8 + 0.1
    diff = (0, 1) if target.dtype.kind == "f" and kind not in ("sign",) else (0,)
    check_module(module, [x, target], diff=diff)


def test_module_buffers_and_three_input_modules():
    assert set(N.BCEWithLogitsLoss(weight=np.ones(3), pos_weight=np.ones(3)).initial_buffers()) \
        == {"weight", "pos_weight"}
    assert N.CrossEntropyLoss().initial_buffers() == {}
    r = rng(35)
    x3 = [r.standard_normal((3, 2)) for _ in range(3)]
    check_module(N.TripletMarginLoss(swap=True), x3, diff=(0, 1, 2))
    check_module(N.TripletMarginWithDistanceLoss(distance_function=_cos_dist,
                                                 distance_function_backward=_cos_dist_backward),
                 x3, diff=(0, 1, 2))
    check_module(N.MarginRankingLoss(margin=0.2), [r.standard_normal(3), r.standard_normal(3),
                                                   np.array([1.0, -1.0, 1.0])], diff=(0, 1, 2))
    check_module(N.CosineEmbeddingLoss(margin=0.1), [x3[0], x3[1], np.array([1.0, -1.0, 1.0])],
                 diff=(0, 1))
    check_module(N.GaussianNLLLoss(full=True), [x3[0], x3[1], r.random(3) + 0.3], diff=(0, 1, 2))
    lp = _log_softmax(r.standard_normal((4, 2, 3)))
    check_module(N.CTCLoss(blank=2), [lp, np.array([[0, 1], [1, 1]]), np.array([4, 4]),
                                      np.array([2, 1])], rtol=1e-5)


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("out_features", [(), (2,)])
def test_linear_cross_entropy_module(bias, out_features):
    m = N.LinearCrossEntropyLoss(4, C, out_features=out_features, bias=bias,
                                 weight=np.array([1.0, 2.0, 0.5]), ignore_index=1,
                                 label_smoothing=0.1)
    r = rng(36)
    params = {k: r.standard_normal(s) for k, s in m.parameter_shapes().items()}
    assert params["linear.weight"].shape == (C * int(np.prod(out_features)), 4)
    check_module(m, [r.standard_normal((3, 4)), r.integers(0, C, (3, *out_features))], params)
    if not out_features:
        check_module(m, [r.standard_normal(4), np.array(2)], params)


@pytest.mark.parametrize("cutoffs, n_classes, div_value, head_bias", [
    ([2, 4], 6, 2.0, False), ([3], 5, 4.0, True), ([1, 2, 4], 7, 1.5, True)])
def test_adaptive_log_softmax(cutoffs, n_classes, div_value, head_bias):
    m = N.AdaptiveLogSoftmaxWithLoss(8, n_classes, cutoffs, div_value, head_bias)
    r = rng(37)
    params = {k: r.standard_normal(s) * 0.5 for k, s in m.parameter_shapes().items()}
    x = r.standard_normal((5, 8))
    t = np.array([0, n_classes - 1, cutoffs[0], 1, n_classes - 2])
    out, loss = check_module(m, [x, t], params)
    lp = m.log_prob(params, x)
    np.testing.assert_allclose(np.log(np.exp(lp).sum(1)), 0.0, atol=1e-12)   # a distribution
    np.testing.assert_allclose(out, lp[np.arange(5), t], rtol=1e-12)
    assert loss == pytest.approx(-out.mean())
    xs = r.standard_normal((12, 8)) * 3
    np.testing.assert_array_equal(m.predict(params, xs), m.log_prob(params, xs).argmax(1))
    out1, _ = check_module(m, [x[0], np.array(n_classes - 1)], params)
    assert out1.shape == ()
    # torch's log_prob and predict take a 2-D minibatch only (they index dimension 1)
    for method in (m.log_prob, m.predict):
        with pytest.raises(IndexError):
            method(params, x[0])


def test_adaptive_log_softmax_unused_cluster_has_no_gradient():
    m = N.AdaptiveLogSoftmaxWithLoss(8, 10, [3, 6])
    r = rng(38)
    params = {k: r.standard_normal(s) * 0.5 for k, s in m.parameter_shapes().items()}
    x, t = r.standard_normal((4, 8)), np.array([0, 7, 1, 9])      # nothing in [3, 6)
    outs, _, ctx = m.forward(params, {}, (x, t), True)
    _, grads = m.backward(ctx, (np.ones(4), np.array(1.0)))
    assert "tail.0.0.weight" not in grads and "tail.0.1.weight" not in grads
    assert "tail.1.0.weight" in grads


# ============================================================================ errors

@pytest.mark.parametrize("call, exc", [
    (lambda: F.cross_entropy(X_DOC, np.array([0, 2, 1])), IndexError),
    (lambda: F.nll_loss(X_DOC, np.array([0, -1, 1])), IndexError),
    (lambda: F.cross_entropy(X_DOC, np.array([0, 1])), ValueError),
    (lambda: F.cross_entropy(np.zeros((2, 2, 3)), np.zeros((2, 4), int)), RuntimeError),
    (lambda: F.cross_entropy(X_DOC, T_DOC, label_smoothing=1.5), RuntimeError),
    (lambda: F.cross_entropy(X_DOC, T_DOC, weight=np.ones(3)), RuntimeError),
    (lambda: F.cross_entropy(X_DOC, T_DOC.astype(float)), RuntimeError),
    (lambda: F.cross_entropy(X_DOC, np.zeros((3, 2), int)), RuntimeError),
    (lambda: F.cross_entropy(X_DOC, T_DOC, reduction="avg"), ValueError),
    (lambda: F.mse_loss(np.zeros((2, 3)), np.zeros((2, 4))), RuntimeError),
    (lambda: F.l1_loss(np.zeros(3), np.zeros(3), weight=np.ones(2)), ValueError),
    (lambda: F.binary_cross_entropy(np.full(3, 0.5), np.zeros(4)), ValueError),
    (lambda: F.binary_cross_entropy(np.array([1.5]), np.zeros(1)), RuntimeError),
    (lambda: F.binary_cross_entropy_with_logits(np.zeros(3), np.zeros(4)), ValueError),
    (lambda: F.gaussian_nll_loss(np.zeros(3), np.zeros(3), np.array([1.0, -1.0, 1.0])),
     ValueError),
    (lambda: F.gaussian_nll_loss(np.zeros(3), np.zeros(3), -1.0), ValueError),
    (lambda: F.gaussian_nll_loss(np.zeros((3, 2)), np.zeros((3, 2)), np.ones((2, 2))),
     ValueError),
    (lambda: F.smooth_l1_loss(np.zeros(2), np.zeros(2), beta=-1.0), RuntimeError),
    (lambda: F.huber_loss(np.zeros(2), np.zeros(2), delta=0.0), RuntimeError),
    (lambda: F.kl_div(np.zeros(2), np.ones(2), reduction="batch"), ValueError),
    (lambda: F.multi_margin_loss(X_DOC, T_DOC, p=3), ValueError),
    (lambda: F.multi_margin_loss(X_DOC, np.array([0, 2, 1])), RuntimeError),
    (lambda: F.multi_margin_loss(X_DOC, np.array([0, 1])), RuntimeError),
    (lambda: F.multilabel_margin_loss(X_DOC, np.array([[0, 2]] * 3)), RuntimeError),
    (lambda: F.multilabel_margin_loss(X_DOC, np.array([[0, 1]] * 2)), RuntimeError),
    (lambda: F.margin_ranking_loss(np.zeros((2, 1)), np.zeros(2), np.ones(2)), RuntimeError),
    (lambda: F.cosine_embedding_loss(np.zeros((2, 3)), np.zeros((2, 3)), np.ones((2, 1))),
     RuntimeError),
    (lambda: F.cosine_embedding_loss(np.zeros((2, 3)), np.zeros((2, 3)), np.array(1.0)),
     RuntimeError),
    (lambda: F.triplet_margin_loss(np.zeros((2, 3)), np.zeros((2, 3)), np.zeros(3)),
     RuntimeError),
    (lambda: F.triplet_margin_loss(*[np.zeros((2, 3))] * 3, margin=0.0), ValueError),
    (lambda: F.ctc_loss(np.zeros((3, 1, 3)), np.array([[1]]), np.array([4]), np.array([1])),
     RuntimeError),
    (lambda: F.ctc_loss(np.zeros((3, 1, 3)), np.array([[1]]), np.array([3]), np.array([1]),
                        blank=3), RuntimeError),
    (lambda: F.ctc_loss(np.zeros((3, 1, 3)), np.array([[1]]), np.array([3]), np.array([2])),
     RuntimeError),
    (lambda: F.linear_cross_entropy(np.zeros((2, 4)), np.zeros((3, 4)), np.zeros((2, 3)),
                                    ignore_index=0), RuntimeError),
    (lambda: F.linear_cross_entropy(np.zeros((2, 4)), np.zeros((3, 5)), np.zeros(2, int)),
     RuntimeError),
    (lambda: N.LinearCrossEntropyLoss(4, 3, weight=np.ones(2)), RuntimeError),
    (lambda: N.AdaptiveLogSoftmaxWithLoss(4, 5, [3, 2]), ValueError),
    (lambda: N.AdaptiveLogSoftmaxWithLoss(4, 5, [5]), ValueError),
    (lambda: N.AdaptiveLogSoftmaxWithLoss(4, 5, [2]).forward(
        {"head.weight": np.zeros((3, 4)), "tail.0.0.weight": np.zeros((1, 4)),
         "tail.0.1.weight": np.zeros((3, 1))}, {}, (np.zeros((1, 4)), np.array([5])), True),
     RuntimeError),
    (lambda: N.TripletMarginLoss(margin=-1.0), ValueError),
    (lambda: N.MSELoss(reduction="avg"), ValueError),
])
def test_invalid_inputs_raise(call, exc):
    with warnings.catch_warnings(), pytest.raises(exc):
        warnings.simplefilter("ignore")      # the broadcast warning before the mse error
        call()


# ============================================================================ error scales

def _scale_cases():
    r = rng(41)
    x, y = r.standard_normal((4, 5)), r.standard_normal((4, 5))
    u = r.uniform(0.05, 0.95, (4, 5))
    t = r.integers(0, 5, 4)
    yield N.PoissonNLLLoss(log_input=False, full=True), (u + 0.5, 3 * u)
    yield N.PoissonNLLLoss(full=True, reduction="none"), (x, 3 * u)
    yield N.GaussianNLLLoss(full=True), (x, y, u)
    yield N.KLDivLoss(reduction="batchmean"), (x, u)
    yield N.KLDivLoss(reduction="none", log_target=True), (x, y)
    yield N.BCELoss(weight=np.full(5, 0.5)), (u, u[::-1])
    yield N.BCEWithLogitsLoss(pos_weight=np.full(5, 2.0), reduction="sum"), (x, u)
    yield N.MultiLabelSoftMarginLoss(), (x, u)
    yield N.NLLLoss(ignore_index=1), (x, t)
    yield N.HingeEmbeddingLoss(), (x, np.sign(y))
    yield N.MSELoss(), (x, y[:1])
    yield N.CrossEntropyLoss(weight=np.full(5, 1.5), label_smoothing=0.1), (x, t)
    yield N.CrossEntropyLoss(reduction="none"), (x, u)
    yield N.MultiMarginLoss(p=2, reduction="sum"), (x, t)
    yield N.CosineEmbeddingLoss(margin=0.25), (x, y, np.array([1, -1, 1, -1]))
    yield N.TripletMarginLoss(p=3.0, swap=True, eps=0.5), (x, y, u)
    yield N.TripletMarginWithDistanceLoss(swap=True, reduction="none"), (x, y, u)


@pytest.mark.parametrize("module, inputs", list(_scale_cases()),
                         ids=lambda v: type(v).__name__ if isinstance(v, N.Module) else "")
def test_error_scales_bound_the_values(module, inputs):
    """A scale is a sum of magnitudes: never below the magnitude of the value it measures."""
    outs, _, ctx = module.forward({}, module.initial_buffers(), inputs, True)
    cots = tuple(rng(3).standard_normal(np.shape(o)) for o in outs)
    grads, _ = module.backward(ctx, cots)
    sc = module.error_scales(ctx, cots)
    for vals, scs in ((outs, sc.outputs), (grads, sc.input_grads)):
        for v, s in zip(vals, scs):
            if v is not None and s is not None:
                assert np.shape(s) == np.shape(v)
                assert np.all(np.asarray(s) >= np.abs(v) * (1 - 1e-12))


def test_linear_cross_entropy_and_adaptive_scales_bound_the_values():
    r = rng(42)
    for m, ins in ((N.LinearCrossEntropyLoss(4, 5, bias=True, label_smoothing=0.1),
                    (r.standard_normal((6, 4)), r.integers(0, 5, 6))),
                   (N.AdaptiveLogSoftmaxWithLoss(8, 10, [3, 6], head_bias=True),
                    (r.standard_normal((6, 8)), np.array([0, 4, 9, 2, 7, 5])))):
        params = {k: r.standard_normal(s) for k, s in m.parameter_shapes().items()}
        outs, _, ctx = m.forward(params, m.initial_buffers(), ins, True)
        cots = tuple(r.standard_normal(np.shape(o)) for o in outs)
        g_in, g_par = m.backward(ctx, cots)
        sc = m.error_scales(ctx, cots)
        for v, s in list(zip(outs, sc.outputs)) + [(g_in[0], sc.input_grads[0])] + \
                [(g_par[k], sc.param_grads[k]) for k in g_par]:
            assert np.all(np.asarray(s) >= np.abs(v) * (1 - 1e-12))
