"""nn.init.* through jax.nn.initializers (variance_scaling with torch's fan axes: weights are
(out, in, *kernel), so in_axis=1, out_axis=0), jax.random where jax has no equivalent
(uniform_, normal_, trunc_normal_ with absolute bounds, sparse_), and the deterministic ones
(eye_, dirac_, constant_) in jax.numpy. Keys come from ``jax.random.key(seed)``: samples are
judged statistically, never against torch's generator."""

from __future__ import annotations

import math

import numpy as np

from ..contract import DefaultInitRequest, InitRequest, Unsupported
from ._common import DT, check, jax, jnp, to_numpy

OPS = ("nn.init.calculate_gain", "nn.init._calculate_fan_in_and_fan_out", "nn.init.constant_",
       "nn.init.ones_", "nn.init.zeros_", "nn.init.eye_", "nn.init.dirac_", "nn.init.uniform_",
       "nn.init.normal_", "nn.init.xavier_uniform_", "nn.init.xavier_normal_",
       "nn.init.kaiming_uniform_", "nn.init.kaiming_normal_", "nn.init.trunc_normal_",
       "nn.init.orthogonal_", "nn.init.sparse_")


def supported(op: str) -> bool:
    return op in OPS


def calculate_gain(nonlinearity, param=None):
    linear = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
              "conv_transpose3d", "sigmoid")
    if nonlinearity in linear:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif not isinstance(param, bool) and isinstance(param, (int, float)):
            slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def fans(shape):
    check(len(shape) >= 2, "Fan in and fan out can not be computed for tensor with fewer than "
                           "2 dimensions")
    rf = math.prod(shape[2:])
    return shape[1] * rf, shape[0] * rf


def _vs(scale, mode, dist):
    return jax.nn.initializers.variance_scaling(scale, mode, dist, in_axis=1, out_axis=0,
                                                batch_axis=())


def _sample(op, shape, kw, key, dt):
    if math.prod(shape) == 0:  # torch: "Initializing zero-element tensors is a no-op"
        return jnp.zeros(shape, dt)
    if op == "nn.init.uniform_":
        a, b = kw.get("a", 0.0), kw.get("b", 1.0)
        check(a <= b, f"uniform_ expects to return a [from, to) range, but found from={a} > "
                      f"to={b}")
        return jax.random.uniform(key, shape, dt, minval=a, maxval=b)
    if op == "nn.init.normal_":
        check(kw.get("std", 1.0) >= 0, f"normal expects std >= 0.0, but found std "
                                       f"{kw.get('std')}")
        return kw.get("mean", 0.0) + kw.get("std", 1.0) * jax.random.normal(key, shape, dt)
    if op == "nn.init.trunc_normal_":
        m, s = kw.get("mean", 0.0), kw.get("std", 1.0)
        a, b = kw.get("a", -2.0), kw.get("b", 2.0)
        check(a <= b, f"uniform_ expects to return a [from, to) range, but found from={a} > "
                      f"to={b}")
        return m + s * jax.random.truncated_normal(key, (a - m) / s, (b - m) / s, shape, dt)
    if op in ("nn.init.xavier_uniform_", "nn.init.xavier_normal_"):
        fans(shape)
        g = kw.get("gain", 1.0)
        dist = "uniform" if op.endswith("uniform_") else "normal"
        return _vs(g * g, "fan_avg", dist)(key, shape, dt)
    if op in ("nn.init.kaiming_uniform_", "nn.init.kaiming_normal_"):
        mode = kw.get("mode", "fan_in").lower()
        check(mode in ("fan_in", "fan_out"), f"Mode {mode} not supported, please use one of "
                                             f"fan_in, fan_out")
        fi, fo = fans(shape)
        g = calculate_gain(kw.get("nonlinearity", "leaky_relu"), kw.get("a", 0))
        if (fi if mode == "fan_in" else fo) == 0:
            return jnp.zeros(shape, dt)
        dist = "uniform" if op.endswith("uniform_") else "normal"
        return _vs(g * g, mode, dist)(key, shape, dt)
    if op == "nn.init.orthogonal_":
        check(len(shape) >= 2, "Only tensors with 2 or more dimensions are supported")
        rows, cols = shape[0], math.prod(shape[1:])
        init = jax.nn.initializers.orthogonal(scale=kw.get("gain", 1.0), column_axis=0)
        return init(key, (cols, rows), dt).T.reshape(shape)
    if op == "nn.init.sparse_":
        check(len(shape) == 2, "Only tensors with 2 dimensions are supported")
        rows, cols = shape
        nz = int(math.ceil(kw["sparsity"] * rows))
        k1, k2 = jax.random.split(key)
        w = kw.get("std", 0.01) * jax.random.normal(k1, shape, dt)
        perm = jax.vmap(lambda k: jax.random.permutation(k, rows))(jax.random.split(k2, cols))
        zero = jnp.zeros(shape, bool).at[perm[:, :nz].T, jnp.arange(cols)[None, :]].set(True)
        return jnp.where(zero, jnp.zeros((), dt), w)
    raise Unsupported(f"the jax adapter does not implement {op}")


def _dirac(shape, groups, dt):
    check(len(shape) in (3, 4, 5), "Only tensors with 3, 4, or 5 dimensions are supported")
    check(shape[0] % groups == 0, "dim 0 must be divisible by groups")
    out_g = shape[0] // groups
    w = np.zeros(shape)
    for g in range(groups):
        for d in range(min(out_g, shape[1])):
            w[(g * out_g + d, d) + tuple(s // 2 for s in shape[2:])] = 1
    return jnp.asarray(w, dt)


def sample_init(request: InitRequest) -> np.ndarray:
    if isinstance(request, DefaultInitRequest):
        return sample_default_init(request)
    op, kw, shape = request.op, dict(request.kwargs), tuple(request.shape)
    dt = DT[request.dtype]
    if op == "nn.init.calculate_gain":
        return np.asarray(calculate_gain(**kw), dtype=np.float64)
    if op == "nn.init._calculate_fan_in_and_fan_out":
        return np.asarray(fans(shape), dtype=np.float64)
    if op == "nn.init.constant_":
        return to_numpy(jnp.full(shape, kw["val"], dt))
    if op == "nn.init.ones_":
        return to_numpy(jnp.ones(shape, dt))
    if op == "nn.init.zeros_":
        return to_numpy(jnp.zeros(shape, dt))
    if op == "nn.init.eye_":
        check(len(shape) == 2, "Only tensors with 2 dimensions are supported")
        return to_numpy(jnp.eye(*shape, dtype=dt))
    if op == "nn.init.dirac_":
        return to_numpy(_dirac(shape, kw.get("groups", 1), dt))
    return to_numpy(_sample(op, shape, kw, jax.random.key(request.seed), dt))


def sample_default_init(request: DefaultInitRequest):
    raise Unsupported("default module initialization is torch's reset_parameters convention "
                      "(kaiming_uniform_(a=sqrt(5)) and friends); JAX has no module library "
                      "in its core (flax/equinox define their own defaults), so the adapter "
                      "has none to report")
