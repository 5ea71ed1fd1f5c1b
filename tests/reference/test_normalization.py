"""Normalization references: every backward vs central differences, worked examples from the
torch docs and the brief, identities between the ops, and torch's error inputs."""

import numpy as np
import pytest

from reference import functional as F, nn
from reference.functional import normalization as fn
from tests.fd import assert_vjp_matches

rng = np.random.default_rng(1)


def _params(module):
    return {k: rng.normal(size=s) for k, s in module.parameter_shapes().items()}


def _random_buffers(module):
    b = module.initial_buffers()
    if "running_mean" in b:
        c = b["running_mean"].shape
        b = dict(b, running_mean=rng.normal(size=c), running_var=rng.uniform(0.5, 2.0, c))
    return b


def _check_module_vjp(module, params, buffers, x, training, offset=0.0):
    """FD check of the module's input and parameter gradients (through forward)."""
    x = x + offset
    names = list(params)
    outs, _, ctx = module.forward(params, buffers, (x,), training)
    g = rng.normal(size=outs[0].shape)
    (gx,), pg = module.backward(ctx, (g,))
    assert set(pg) == set(names)

    def f(x, *vals):
        return module.forward(dict(zip(names, vals)), buffers, (x,), training)[0][0]

    assert_vjp_matches(f, [x] + [params[k] for k in names], g, [gx] + [pg[k] for k in names])
    _check_scales(module, ctx, g, outs, (gx,), pg)


def _check_scales(module, ctx, g, outs, gin, pg):
    """error_scales: one finite, non-negative entry per output/gradient, of matching shape;
    output and parameter-gradient scales bound the values themselves."""
    s = module.error_scales(ctx, (g,))
    assert s is not None
    for val, sc in zip(outs + tuple(gin), s.outputs + s.input_grads):
        if sc is not None:
            assert np.shape(sc) == np.shape(val) and np.all(np.isfinite(sc)) and np.all(sc >= 0)
    for val, sc in zip(outs, s.outputs):
        if sc is not None:
            assert np.all(np.abs(val) <= sc * (1 + 1e-12) + 1e-300)
    assert set(s.param_grads) == set(pg)
    for k, sc in s.param_grads.items():
        assert np.shape(sc) == np.shape(pg[k])
        assert np.all(np.abs(pg[k]) <= sc * (1 + 1e-12) + 1e-12)


AFFINE = [(True, True), (True, False), (False, True)]  # (affine, bias); bias only with affine


# ---------------------------------------------------------------------------------------------
# BatchNorm


@pytest.mark.parametrize("cls,shape", [(nn.BatchNorm1d, (4, 3)), (nn.BatchNorm1d, (2, 3, 2)),
                                       (nn.BatchNorm2d, (2, 3, 2, 2)),
                                       (nn.BatchNorm3d, (2, 3, 2, 1, 2))])
@pytest.mark.parametrize("training,track", [(True, True), (False, True), (True, False),
                                            (False, False)])
@pytest.mark.parametrize("affine,bias", AFFINE)
def test_batch_norm_backward(cls, shape, training, track, affine, bias):
    m = cls(3, affine=affine, bias=bias, track_running_stats=track)
    _check_module_vjp(m, _params(m), _random_buffers(m), rng.normal(size=shape), training,
                      offset=2.0)


def test_batch_norm2d_worked_example():
    m = nn.BatchNorm2d(3)
    x = np.arange(54.0).reshape(2, 3, 3, 3)
    (y,), _, _ = m.forward({"weight": np.ones(3), "bias": np.zeros(3)}, m.initial_buffers(),
                           (x,), True)
    expected = [[-1.2732, -1.2005, -1.1277], [-1.0550, -0.9822, -0.9094],
                [-0.8367, -0.7639, -0.6912]]
    np.testing.assert_array_equal(np.round(y[0, 0], 4), expected)


def test_batch_norm1d_worked_example_eps():
    m = nn.BatchNorm1d(3)
    x = np.array([[0.0, 1, 2], [3, 4, 5]])
    (y,), _, _ = m.forward({"weight": np.ones(3), "bias": np.zeros(3)}, m.initial_buffers(),
                           (x,), True)
    np.testing.assert_array_equal(np.round(y, 4), [[-1, -1, -1], [1, 1, 1]])
    # eps=1e-5 inside the sqrt: 1.5 / sqrt(2.25 + 1e-5), not exactly 1
    np.testing.assert_allclose(y[1], 1.5 / np.sqrt(2.25 + 1e-5), rtol=1e-15)
    assert abs(y[1, 0] - 1) > 1e-6


def test_batch_norm_momentum_worked_example():
    """BatchNorm1d(5, momentum=0.3), twice on a (3, 5, 1) batch whose feature i is i + 1."""
    m = nn.BatchNorm1d(5, momentum=0.3)
    x = np.broadcast_to(np.arange(1.0, 6.0)[None, :, None], (3, 5, 1)).copy()
    p, b = {"weight": np.ones(5), "bias": np.zeros(5)}, m.initial_buffers()
    i1 = np.arange(1.0, 6.0)
    _, b, _ = m.forward(p, b, (x,), True)
    np.testing.assert_allclose(b["running_mean"], 0.3 * i1, rtol=1e-15)
    np.testing.assert_allclose(b["running_var"], 0.7, rtol=1e-15)
    _, b, _ = m.forward(p, b, (x,), True)
    np.testing.assert_allclose(b["running_mean"], 0.51 * i1, rtol=1e-15)
    np.testing.assert_allclose(b["running_var"], 0.49, rtol=1e-15)
    assert int(b["num_batches_tracked"]) == 2


def test_batch_norm_momentum_none_is_cumulative_average():
    m = nn.BatchNorm2d(2, momentum=None)
    p, b = _params(m), m.initial_buffers()
    batches = [rng.normal(size=(2, 2, 2, 3)) * (k + 1) + k for k in range(4)]
    for x in batches:
        _, b, _ = m.forward(p, b, (x,), True)
    mus = [x.mean(axis=(0, 2, 3)) for x in batches]
    uvars = [x.var(axis=(0, 2, 3), ddof=1) for x in batches]
    np.testing.assert_allclose(b["running_mean"], np.mean(mus, axis=0), rtol=1e-13)
    np.testing.assert_allclose(b["running_var"], np.mean(uvars, axis=0), rtol=1e-13)
    assert int(b["num_batches_tracked"]) == 4
    # eval leaves every buffer alone and normalizes with them
    (y,), b2, _ = m.forward(p, b, (batches[0],), False)
    assert all(np.array_equal(b2[k], b[k]) for k in b)
    ref = ((batches[0] - b["running_mean"][None, :, None, None])
           / np.sqrt(b["running_var"][None, :, None, None] + 1e-5)
           * p["weight"][None, :, None, None] + p["bias"][None, :, None, None])
    np.testing.assert_allclose(y, ref, rtol=1e-14)


def test_batch_norm_without_tracking_has_no_buffers_and_uses_batch_stats_in_eval():
    m = nn.BatchNorm3d(2, track_running_stats=False)
    assert m.initial_buffers() == {}
    x = rng.normal(size=(2, 2, 2, 2, 2))
    p = _params(m)
    (y_eval,), b, _ = m.forward(p, {}, (x,), False)
    (y_train,), _, _ = m.forward(p, {}, (x,), True)
    assert b == {}
    np.testing.assert_array_equal(y_eval, y_train)


@pytest.mark.parametrize("cls,shape", [(nn.BatchNorm1d, (50, 3)), (nn.BatchNorm2d, (4, 3, 5, 5)),
                                       (nn.BatchNorm3d, (2, 3, 3, 4, 5))])
def test_batch_norm_identity_zero_mean_unit_biased_variance(cls, shape):
    m = cls(3, affine=False, eps=1e-5)
    x = rng.normal(size=shape) * 3 + 1
    (y,), _, _ = m.forward({}, m.initial_buffers(), (x,), True)
    axes = (0,) + tuple(range(2, len(shape)))
    np.testing.assert_allclose(y.mean(axis=axes), 0, atol=1e-13)
    var = x.var(axis=axes)
    np.testing.assert_allclose(y.var(axis=axes), var / (var + 1e-5), rtol=1e-12)


def test_batch_norm_errors():
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        nn.BatchNorm1d(3).forward(_params(nn.BatchNorm1d(3)), nn.BatchNorm1d(3).initial_buffers(),
                                  (np.ones((1, 3)),), True)
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        nn.BatchNorm2d(3, affine=False, track_running_stats=False).forward(
            {}, {}, (np.ones((1, 3, 1, 1)),), True)
    # one value per channel is fine in eval
    nn.BatchNorm1d(3).forward(_params(nn.BatchNorm1d(3)), nn.BatchNorm1d(3).initial_buffers(),
                              (np.ones((1, 3)),), False)
    for cls, bad in [(nn.BatchNorm1d, (2, 3, 2, 2)), (nn.BatchNorm1d, (3,)),
                     (nn.BatchNorm2d, (2, 3, 2)), (nn.BatchNorm3d, (2, 3, 2, 2))]:
        with pytest.raises(ValueError, match=r"expected .*D input \(got \d+D input\)"):
            cls(3).forward({}, cls(3).initial_buffers(), (np.ones(bad),), True)
    with pytest.raises(RuntimeError, match="running_mean should contain 4 elements not 3"):
        nn.BatchNorm1d(3).forward({}, nn.BatchNorm1d(3).initial_buffers(), (np.ones((2, 4)),),
                                  True)
    with pytest.raises(ValueError, match="eps must be positive"):
        F.batch_norm(rng.normal(size=(2, 3)), None, None, training=True, eps=0.0)
    with pytest.raises(ValueError, match="eps must be non-negative"):
        F.batch_norm(rng.normal(size=(2, 3)), np.zeros(3), np.ones(3), training=False, eps=-1.0)


# ---------------------------------------------------------------------------------------------
# Lazy variants


@pytest.mark.parametrize("lazy,eager,shape", [
    (nn.LazyBatchNorm1d, nn.BatchNorm1d, (4, 3)),
    (nn.LazyBatchNorm2d, nn.BatchNorm2d, (2, 3, 2, 2)),
    (nn.LazyBatchNorm3d, nn.BatchNorm3d, (2, 3, 2, 1, 2)),
    (nn.LazyInstanceNorm1d, nn.InstanceNorm1d, (2, 3, 4)),
    (nn.LazyInstanceNorm2d, nn.InstanceNorm2d, (2, 3, 2, 2)),
    (nn.LazyInstanceNorm3d, nn.InstanceNorm3d, (2, 3, 2, 1, 2))])
def test_lazy_norm_infers_num_features_from_dim_1(lazy, eager, shape):
    m = lazy(eps=1e-3, momentum=0.2)
    with pytest.raises(RuntimeError, match="infer"):
        m.parameter_shapes()
    e = m.infer((shape,))
    assert type(e) is eager and e.num_features == 3
    # the lazy base's defaults, also for InstanceNorm (whose eager defaults are False/False)
    assert e.affine and e.track_running_stats and e.bias
    assert (e.eps, e.momentum) == (1e-3, 0.2)
    assert m.infer(shape).num_features == 3  # a bare shape works too
    assert set(e.parameter_shapes()) == {"weight", "bias"}
    p, b = _params(e), e.initial_buffers()
    x = rng.normal(size=shape)
    outs, nb, ctx = m.forward(p, b, (x,), True)
    outs_e, nb_e, ctx_e = e.forward(p, b, (x,), True)
    np.testing.assert_array_equal(outs[0], outs_e[0])
    assert all(np.array_equal(nb[k], nb_e[k]) for k in nb_e)
    g = rng.normal(size=shape)
    np.testing.assert_array_equal(m.backward(ctx, (g,))[0][0], e.backward(ctx_e, (g,))[0][0])
    assert m.error_scales(ctx, (g,)) is not None


def test_lazy_instance_norm_unbatched_infers_dim_1_like_torch():
    # torch reads input.shape[1] even for an unbatched (C, L) input
    e = nn.LazyInstanceNorm1d(affine=False, track_running_stats=False).infer(((3, 5),))
    assert e.num_features == 5
    with pytest.raises(ValueError, match="to match num_features"):
        nn.LazyInstanceNorm1d().infer(((3, 5),)).forward(
            {"weight": np.ones(5), "bias": np.zeros(5)}, {}, (np.ones((3, 5)),), True)


# ---------------------------------------------------------------------------------------------
# InstanceNorm


@pytest.mark.parametrize("cls,shape", [(nn.InstanceNorm1d, (2, 3, 4)), (nn.InstanceNorm1d, (3, 4)),
                                       (nn.InstanceNorm2d, (2, 3, 2, 2)),
                                       (nn.InstanceNorm2d, (3, 2, 3)),
                                       (nn.InstanceNorm3d, (2, 3, 1, 2, 2)),
                                       (nn.InstanceNorm3d, (3, 2, 1, 2))])
@pytest.mark.parametrize("training,track", [(True, False), (False, False), (True, True),
                                            (False, True)])
@pytest.mark.parametrize("affine,bias", AFFINE + [(False, False)])
def test_instance_norm_backward(cls, shape, training, track, affine, bias):
    if not affine and bias:
        return
    m = cls(3, affine=affine, bias=bias, track_running_stats=track)
    _check_module_vjp(m, _params(m), _random_buffers(m), rng.normal(size=shape), training,
                      offset=1.5)


def test_instance_norm_running_stats_and_eval():
    m = nn.InstanceNorm2d(3, track_running_stats=True, momentum=0.25)
    b0 = _random_buffers(m)
    x = rng.normal(size=(4, 3, 2, 3)) * 2 + 1
    (y,), b, _ = m.forward({}, b0, (x,), True)
    mu = x.mean(axis=(2, 3))
    uvar = x.var(axis=(2, 3), ddof=1)  # L / (L - 1) with L = 6 spatial elements
    np.testing.assert_allclose(b["running_mean"], 0.75 * b0["running_mean"] + 0.25 * mu.mean(0),
                               rtol=1e-14)
    np.testing.assert_allclose(b["running_var"], 0.75 * b0["running_var"] + 0.25 * uvar.mean(0),
                               rtol=1e-14)
    assert int(b["num_batches_tracked"]) == 0  # InstanceNorm never increments it
    # training output uses each instance's own statistics
    np.testing.assert_allclose(y, (x - mu[..., None, None])
                               / np.sqrt(x.var(axis=(2, 3))[..., None, None] + 1e-5), rtol=1e-13)
    # eval with tracked statistics normalizes like BatchNorm's eval, and changes nothing
    (ye,), be, _ = m.forward({}, b, (x,), False)
    assert all(np.array_equal(be[k], b[k]) for k in b)
    np.testing.assert_allclose(ye, (x - b["running_mean"][:, None, None])
                               / np.sqrt(b["running_var"][:, None, None] + 1e-5), rtol=1e-13)


def test_instance_norm_momentum_none_freezes_running_stats():
    # torch passes momentum=None to instance_norm as 0.0: no cumulative average
    m = nn.InstanceNorm1d(2, track_running_stats=True, momentum=None)
    b0 = _random_buffers(m)
    _, b, _ = m.forward({}, b0, (rng.normal(size=(3, 2, 5)),), True)
    np.testing.assert_array_equal(b["running_mean"], b0["running_mean"])
    np.testing.assert_array_equal(b["running_var"], b0["running_var"])


def test_instance_norm_defaults_and_eval_without_tracking():
    m = nn.InstanceNorm1d(3)
    assert (m.affine, m.track_running_stats) == (False, False)
    assert m.parameter_shapes() == {} and m.initial_buffers() == {}
    x = rng.normal(size=(2, 3, 5))
    np.testing.assert_array_equal(m.forward({}, {}, (x,), False)[0][0],
                                  m.forward({}, {}, (x,), True)[0][0])
    # unbatched = a batch of one
    np.testing.assert_array_equal(m.forward({}, {}, (x[0],), True)[0][0],
                                  m.forward({}, {}, (x[:1],), True)[0][0][0])


@pytest.mark.parametrize("shape", [(2, 4, 5), (3, 4, 2, 3)])
def test_identity_instance_norm_is_group_norm_with_c_groups(shape):
    cls = nn.InstanceNorm1d if len(shape) == 3 else nn.InstanceNorm2d
    x = rng.normal(size=shape) + 3
    y_in = cls(4, eps=1e-3).forward({}, {}, (x,), True)[0][0]
    y_gn = nn.GroupNorm(4, 4, eps=1e-3, affine=False).forward({}, {}, (x,), True)[0][0]
    np.testing.assert_allclose(y_in, y_gn, rtol=1e-13, atol=1e-14)


def test_instance_norm_errors():
    with pytest.raises(ValueError, match="Expected more than 1 spatial element when training"):
        nn.InstanceNorm1d(3).forward({}, {}, (np.ones((2, 3, 1)),), True)
    with pytest.raises(ValueError, match="Expected more than 1 spatial element"):
        nn.InstanceNorm1d(3).forward({}, {}, (np.ones((2, 3, 1)),), False)  # input stats in eval
    m = nn.InstanceNorm1d(3, track_running_stats=True)
    m.forward({}, m.initial_buffers(), (np.ones((2, 3, 1)),), False)  # running stats: fine
    for cls, bad in [(nn.InstanceNorm1d, (3,)), (nn.InstanceNorm2d, (3, 2)),
                     (nn.InstanceNorm3d, (1, 3, 2, 2, 2, 2))]:
        with pytest.raises(ValueError, match=r"expected \dD or \dD input"):
            cls(3).forward({}, {}, (np.ones(bad),), True)
    with pytest.raises(ValueError, match="to match num_features"):
        m = nn.InstanceNorm1d(3, affine=True)
        m.forward(_params(m), {}, (np.ones((2, 4, 5)),), True)
    with pytest.raises(RuntimeError, match="running_mean should contain 8 elements not 6"):
        m = nn.InstanceNorm1d(3, track_running_stats=True)
        m.forward({}, m.initial_buffers(), (np.ones((2, 4, 5)),), True)
    with pytest.warns(UserWarning, match="does not match num_features"):
        nn.InstanceNorm1d(3).forward({}, {}, (rng.normal(size=(2, 4, 5)),), True)


# ---------------------------------------------------------------------------------------------
# LayerNorm, GroupNorm


@pytest.mark.parametrize("ns,shape", [(4, (3, 4)), ((2, 3), (2, 2, 3)), ([3], (3,)),
                                      ((2, 3), (2, 3))])
@pytest.mark.parametrize("affine,bias", AFFINE)
def test_layer_norm_backward(ns, shape, affine, bias):
    m = nn.LayerNorm(ns, elementwise_affine=affine, bias=bias, eps=1e-4)
    _check_module_vjp(m, _params(m), {}, rng.normal(size=shape), True, offset=2.0)


def test_layer_norm_identity_rows_mean_zero():
    x = rng.normal(size=(5, 7)) * 4 + 3
    y = F.layer_norm(x, 7)
    np.testing.assert_allclose(y.mean(axis=1), 0, atol=1e-14)
    var = x.var(axis=1)
    np.testing.assert_allclose(y.var(axis=1), var / (var + 1e-5), rtol=1e-12)
    # the same computation in train and eval; the affine is elementwise
    m = nn.LayerNorm(7)
    p = _params(m)
    y_tr = m.forward(p, {}, (x,), True)[0][0]
    np.testing.assert_array_equal(y_tr, m.forward(p, {}, (x,), False)[0][0])
    np.testing.assert_allclose(y_tr, y * p["weight"] + p["bias"], rtol=1e-14)


def test_identity_group_norm_one_group_is_layer_norm_over_chw():
    x = rng.normal(size=(2, 4, 3, 2)) + 1
    gn = nn.GroupNorm(1, 4, affine=False).forward({}, {}, (x,), True)[0][0]
    ln = nn.LayerNorm((4, 3, 2), elementwise_affine=False).forward({}, {}, (x,), True)[0][0]
    np.testing.assert_allclose(gn, ln, rtol=1e-13, atol=1e-14)
    # and the gradients agree too
    g = rng.normal(size=x.shape)
    np.testing.assert_allclose(F.group_norm_backward(g, x, 1)[0],
                               F.layer_norm_backward(g, x, (4, 3, 2))[0], rtol=1e-12,
                               atol=1e-14)


@pytest.mark.parametrize("groups,shape", [(1, (2, 4, 3)), (2, (2, 4, 3)), (4, (2, 4, 2, 2)),
                                          (2, (3, 4)), (2, (1, 4, 2, 1, 2))])
@pytest.mark.parametrize("affine,bias", AFFINE)
def test_group_norm_backward(groups, shape, affine, bias):
    m = nn.GroupNorm(groups, 4, affine=affine, bias=bias, eps=1e-3)
    _check_module_vjp(m, _params(m), {}, rng.normal(size=shape), True, offset=1.5)


def test_group_norm_statistics_per_group():
    x = rng.normal(size=(2, 6, 5)) * 2 + 1
    y = F.group_norm(x, 3, eps=1e-5)
    yg = y.reshape(2, 3, 10)
    np.testing.assert_allclose(yg.mean(axis=2), 0, atol=1e-14)
    # group 1 holds channels 2 and 3
    blk = x[:, 2:4].reshape(2, -1)
    np.testing.assert_allclose(y[:, 2:4].reshape(2, -1),
                               (blk - blk.mean(1, keepdims=True))
                               / np.sqrt(blk.var(1, keepdims=True) + 1e-5), rtol=1e-13)


def test_layer_and_group_norm_errors():
    with pytest.raises(RuntimeError, match=r"Given normalized_shape=\[3\], expected input with "
                                           r"shape \[\*, 3\], but got input of size\[2, 4\]"):
        nn.LayerNorm(3).forward(_params(nn.LayerNorm(3)), {}, (np.ones((2, 4)),), True)
    with pytest.raises(RuntimeError, match="Given normalized_shape"):
        F.layer_norm(np.ones(3), (2, 3))
    with pytest.raises(ValueError, match=r"num_channels \(4\) must be divisible by num_groups"):
        nn.GroupNorm(3, 4)
    with pytest.raises(RuntimeError, match="divisible by num_groups"):
        nn.GroupNorm(2, 4, affine=False).forward({}, {}, (np.ones((2, 3)),), True)
    with pytest.raises(RuntimeError, match="Expected weight to be a vector of size equal"):
        m = nn.GroupNorm(2, 4)
        m.forward(_params(m), {}, (np.ones((2, 6)),), True)
    with pytest.raises(RuntimeError, match="Expected at least 2 dimensions"):
        nn.GroupNorm(2, 4, affine=False).forward({}, {}, (np.ones(4),), True)


# ---------------------------------------------------------------------------------------------
# RMSNorm


@pytest.mark.parametrize("ns,shape", [(4, (3, 4)), ((2, 3), (2, 2, 3)), ([3], (3,))])
@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("eps", [None, 0.3])
def test_rms_norm_backward(ns, shape, affine, eps):
    m = nn.RMSNorm(ns, eps=eps, elementwise_affine=affine)
    _check_module_vjp(m, _params(m), {}, rng.normal(size=shape), True)


def test_rms_norm_worked_example_and_default_eps():
    x = np.array([[3.0, 4.0]])
    y = nn.RMSNorm(2, elementwise_affine=False).forward({}, {}, (x,), True)[0][0]
    np.testing.assert_allclose(y, x / np.sqrt(12.5 + 2.0 ** -52), rtol=1e-15)
    np.testing.assert_array_equal(np.round(y, 4), [[0.8485, 1.1314]])
    # eps=None: the epsilon of the dtype torch computes in (fp16/bf16 compute in fp32)
    assert F.rms_norm_default_eps("float64") == np.finfo(np.float64).eps
    for dt in ("float32", "float16", "bfloat16"):
        assert F.rms_norm_default_eps(dt) == np.finfo(np.float32).eps
    with pytest.raises(ValueError, match="unknown dtype"):
        F.rms_norm_default_eps("int8")
    small = np.full((1, 4), 1e-3)
    for dt, e in [("float64", 2.0 ** -52), ("float16", 2.0 ** -23)]:
        m = nn.RMSNorm(4, input_dtype=dt)
        y = m.forward({"weight": np.ones(4)}, {}, (small,), True)[0][0]
        np.testing.assert_allclose(y, small / np.sqrt(1e-6 + e), rtol=1e-14)
    m = nn.RMSNorm(4, input_dtype="float16", input_dtype_eps=0.5)  # an explicit epsilon wins
    assert m.effective_eps() == 0.5
    assert nn.RMSNorm(4, eps=1e-2, input_dtype_eps=0.5).effective_eps() == 1e-2
    with pytest.raises(RuntimeError, match="Given normalized_shape"):
        F.rms_norm(np.ones((2, 4)), 3)


# ---------------------------------------------------------------------------------------------
# LocalResponseNorm, CrossMapLRN2d


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("shape", [(2, 5, 3), (1, 4, 2, 2), (1, 3, 2, 1, 2)])
def test_local_response_norm_backward(size, shape):
    m = nn.LocalResponseNorm(size, alpha=0.8, beta=0.75, k=1.2)
    _check_module_vjp(m, {}, {}, rng.normal(size=shape), True)


def test_local_response_norm_worked_example_asymmetric_window():
    # size=2: channel c sums channels c-1 and c (size//2 = 1 before, (size-1)//2 = 0 after);
    # alpha is divided by size.
    x = np.array([1.0, 2, 3, 4]).reshape(1, 4, 1)
    y = F.local_response_norm(x, 2, alpha=2.0, beta=1.0, k=0.0)
    np.testing.assert_allclose(y.ravel(), [1 / 1, 2 / 5, 3 / 13, 4 / 25], rtol=1e-15)
    # size=3: centred window; defaults alpha=1e-4, beta=0.75, k=1
    y = F.local_response_norm(x, 3)
    s = np.array([5.0, 14, 29, 25])
    np.testing.assert_allclose(y.ravel(), [1, 2, 3, 4] / (1 + 1e-4 / 3 * s) ** 0.75, rtol=1e-15)
    with pytest.raises(ValueError, match="Expected 3D or higher dimensionality"):
        F.local_response_norm(np.ones((2, 3)), 2)
    assert F.local_response_norm(np.ones((0, 3, 2)), 2).shape == (0, 3, 2)


def test_cross_map_window_keeps_channel_zero():
    # size=3 (pre_pad=2): window [c-1, c+1] but channel 0 is never dropped
    w = fn._cross_map_window(5, 3)
    expected = [[1, 1, 0, 0, 0], [1, 1, 1, 0, 0], [1, 1, 1, 1, 0], [1, 0, 1, 1, 1],
                [1, 0, 0, 1, 1]]
    np.testing.assert_array_equal(w, expected)
    # size=4 (pre_pad=2): an even size sums size-1 channels around c (plus channel 0)
    np.testing.assert_array_equal(fn._cross_map_window(5, 4), expected)
    # size=5 (pre_pad=3)
    np.testing.assert_array_equal(fn._cross_map_window(5, 5)[4], [1, 0, 1, 1, 1])
    x = np.arange(1.0, 6.0).reshape(1, 5, 1, 1)
    y = F.cross_map_lrn2d(x, 3, alpha=3.0, beta=1.0, k=0.0)  # alpha/size = 1
    s = np.array(expected) @ (np.arange(1.0, 6.0) ** 2)
    np.testing.assert_allclose(y.ravel(), np.arange(1.0, 6.0) / s, rtol=1e-15)


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("channels", [1, 3, 6])
def test_cross_map_lrn2d_backward(size, channels):
    m = nn.CrossMapLRN2d(size, alpha=0.9, beta=0.75, k=1.1)
    _check_module_vjp(m, {}, {}, rng.normal(size=(2, channels, 2, 2)), True)


def test_cross_map_lrn2d_torch_backward_is_not_the_vjp():
    x, g = rng.normal(size=(1, 5, 2, 2)), rng.normal(size=(1, 5, 2, 2))
    true = F.cross_map_lrn2d_backward(g, x, 3, 0.9, 0.75, 1.1)
    as_torch = F.cross_map_lrn2d_backward_as_torch(g, x, 3, 0.9, 0.75, 1.1)
    assert np.abs(true - as_torch).max() > 1e-3
    with pytest.raises(RuntimeError, match="exceeds dimension size"):
        F.cross_map_lrn2d_backward_as_torch(g, x, 1)
    with pytest.raises(ValueError, match="Expected input to be 4D, got 3D"):
        F.cross_map_lrn2d(np.ones((2, 3, 3)), 2)


def test_cross_map_equals_local_response_norm_for_odd_size_when_channel_zero_is_zero():
    # for an odd size both windows are [c - size//2, c + size//2]; cross-map adds channel 0
    x = rng.normal(size=(2, 6, 2, 2))
    x[:, 0] = 0.0
    np.testing.assert_allclose(F.cross_map_lrn2d(x, 3, 0.5, 0.75, 1.0),
                               F.local_response_norm(x, 3, 0.5, 0.75, 1.0), rtol=1e-15)


@pytest.mark.parametrize("m", [nn.BatchNorm2d(3), nn.InstanceNorm2d(3, affine=True,
                                                                   track_running_stats=True),
                               nn.GroupNorm(3, 3), nn.LayerNorm((2, 2)), nn.RMSNorm(2),
                               nn.LocalResponseNorm(2), nn.CrossMapLRN2d(2)])
def test_forward_and_backward_are_pure(m):
    p, b = _params(m), _random_buffers(m)
    x = rng.normal(size=(2, 3, 2, 2))
    snap = ({k: v.copy() for k, v in p.items()}, {k: np.copy(v) for k, v in b.items()},
            x.copy())
    outs, _, ctx = m.forward(p, b, (x,), True)
    g = rng.normal(size=outs[0].shape)
    g0 = g.copy()
    m.backward(ctx, (g,))
    assert all(np.array_equal(p[k], snap[0][k]) for k in p)
    assert all(np.array_equal(b[k], snap[1][k]) for k in b)
    np.testing.assert_array_equal(x, snap[2])
    np.testing.assert_array_equal(g, g0)
