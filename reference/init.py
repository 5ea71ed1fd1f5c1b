"""``torch.nn.init`` as pure samplers plus the exact distribution each one targets.

Semantics: torch/nn/init.py (source and docs). Each initializer ``name_`` takes an array (only its
shape is used), returns a new array drawn with a NumPy ``Generator`` and never mutates its
argument. Its companion ``name_distribution(shape, ...)`` gives the exact target distribution,
which is what backends are judged against (their random streams are not NumPy's). Deterministic
initializers (``constant_``, ``ones_``, ``zeros_``, ``eye_``, ``dirac_``) return the exact values;
structured random ones (``orthogonal_``, ``sparse_``) come with the exact structural facts a
checker needs (``orthogonal_gram``, ``sparse_zeros_per_column``).

``default_init(module_name, kwargs)`` gives the distribution each parameter of a torch.nn module
is drawn from by its ``reset_parameters`` (torch/nn/modules/*.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Distribution", "calculate_gain", "_calculate_fan_in_and_fan_out",
           "_calculate_correct_fan",
           "uniform_", "uniform_distribution", "normal_", "normal_distribution",
           "trunc_normal_", "trunc_normal_distribution",
           "constant_", "constant_distribution", "ones_", "ones_distribution",
           "zeros_", "zeros_distribution", "eye_", "eye_distribution", "dirac_",
           "dirac_distribution",
           "xavier_uniform_", "xavier_uniform_distribution", "xavier_normal_",
           "xavier_normal_distribution", "kaiming_uniform_", "kaiming_uniform_distribution",
           "kaiming_normal_", "kaiming_normal_distribution",
           "orthogonal_", "orthogonal_distribution", "orthogonal_flat_shape", "orthogonal_gram",
           "sparse_", "sparse_distribution", "sparse_zeros_per_column",
           "target_distribution", "default_init", "default_init_shapes", "DEFAULT_INIT_MODULES",
           "sample", "sample_default_init", "depth_profile", "DEPTH_ACTIVATIONS"]

_LINEAR_FNS = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
               "conv_transpose3d")


@dataclass(frozen=True)
class Distribution:
    """A target distribution.

    ``kind``:
    - 'normal' (mean, std);
    - 'uniform' (low, high; mean and std are filled in as (low+high)/2 and (high-low)/sqrt(12));
    - 'truncated_normal' (mean, std: the parameters *before* truncation; low, high: absolute
      bounds, as torch's ``trunc_normal_``);
    - 'constant' (every element equals ``mean``);
    - 'exact' (the sample equals ``values``: eye_, dirac_);
    - 'orthogonal' (the flattened sample Q satisfies QᵀQ = gain²·I on its short side, Q Haar);
    - 'sparse' (exactly ``zeros_per_column`` zeros per column, the rest N(0, std²)).

    ``zero_rows``: indices along axis 0 that are exactly zero (Embedding's padding_idx); the
    other rows follow the distribution.
    """

    kind: str
    mean: float = 0.0
    std: float = 0.0
    low: float = -math.inf
    high: float = math.inf
    gain: float = 1.0
    sparsity: float = 0.0
    zeros_per_column: int = 0
    zero_rows: tuple[int, ...] = ()
    values: np.ndarray | None = field(default=None, compare=False, repr=False)


def _uniform(low: float, high: float) -> Distribution:
    if low == high:
        return Distribution("constant", low)
    return Distribution("uniform", (low + high) / 2, (high - low) / math.sqrt(12.0), low, high)


def _rng(generator: np.random.Generator | None) -> np.random.Generator:
    return generator if generator is not None else np.random.default_rng()


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """Recommended gain: 1 for linear/conv/sigmoid, 5/3 for tanh, sqrt(2) for relu,
    sqrt(2 / (1 + slope^2)) for leaky_relu (slope 0.01 unless given), 3/4 for selu."""
    if nonlinearity in _LINEAR_FNS or nonlinearity == "sigmoid":
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _calculate_fan_in_and_fan_out(shape: tuple[int, ...]) -> tuple[int, int]:
    """fan_in = shape[1] * receptive field, fan_out = shape[0] * receptive field, where the
    receptive field is the product of shape[2:] (1 for a 2-D weight)."""
    if len(shape) < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer than "
                         "2 dimensions")
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def _calculate_correct_fan(shape: tuple[int, ...], mode: str) -> int:
    mode = mode.lower()
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported, please use one of ['fan_in', 'fan_out']")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(shape)
    return fan_in if mode == "fan_in" else fan_out


# --- plain distributions ------------------------------------------------------------------------

def uniform_distribution(shape: tuple[int, ...], a: float = 0.0, b: float = 1.0) -> Distribution:
    """U(a, b). torch's ``Tensor.uniform_`` raises when a > b."""
    if a > b:
        raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found "
                           f"from={a} > to={b}")
    return _uniform(float(a), float(b))


def uniform_(tensor: np.ndarray, a: float = 0.0, b: float = 1.0,
             generator: np.random.Generator | None = None) -> np.ndarray:
    """A new array of ``tensor``'s shape with entries i.i.d. U(a, b)."""
    uniform_distribution(tensor.shape, a, b)
    return _rng(generator).uniform(a, b, size=tensor.shape)


def normal_distribution(shape: tuple[int, ...], mean: float = 0.0,
                        std: float = 1.0) -> Distribution:
    """N(mean, std²). torch's ``Tensor.normal_`` raises for std < 0."""
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
    if std == 0:
        return Distribution("constant", float(mean))
    return Distribution("normal", float(mean), float(std))


def normal_(tensor: np.ndarray, mean: float = 0.0, std: float = 1.0,
            generator: np.random.Generator | None = None) -> np.ndarray:
    """A new array of ``tensor``'s shape with entries i.i.d. N(mean, std²)."""
    normal_distribution(tensor.shape, mean, std)
    return _rng(generator).normal(mean, std, size=tensor.shape)


def trunc_normal_distribution(shape: tuple[int, ...], mean: float = 0.0, std: float = 1.0,
                              a: float = -2.0, b: float = 2.0) -> Distribution:
    """N(mean, std²) conditioned on [a, b]. ``a`` and ``b`` are ABSOLUTE bounds, not multiples
    of std, and ``std`` is the pre-truncation std (the result's std is smaller); torch/nn/init.py
    ``_no_grad_trunc_normal_`` (torch only warns when mean is more than 2 std outside [a, b])."""
    if a > b:
        raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found "
                           f"from={a} > to={b}")
    if std <= 0:
        raise RuntimeError(f"normal expects std > 0.0, but found std {std}")
    return Distribution("truncated_normal", float(mean), float(std), float(a), float(b))


def trunc_normal_(tensor: np.ndarray, mean: float = 0.0, std: float = 1.0, a: float = -2.0,
                  b: float = 2.0, generator: np.random.Generator | None = None) -> np.ndarray:
    """A new array drawn from ``trunc_normal_distribution`` by rejection: normal proposals
    redrawn outside [a, b] when the mass inside exceeds 0.3, otherwise uniform proposals on
    [a, b] accepted with probability exp(-(x-mean)²/2std²) / peak (torch's two regimes)."""
    trunc_normal_distribution(tensor.shape, mean, std, a, b)
    rng = _rng(generator)
    cdf = lambda x: (1.0 + math.erf(x / math.sqrt(2.0))) / 2.0  # noqa: E731
    mass = cdf((b - mean) / std) - cdf((a - mean) / std)
    n = math.prod(tensor.shape)
    out = np.empty(n)
    pending = np.arange(n)
    mode = max(a, min(mean, b))
    log_peak = -0.5 * ((mode - mean) / std) ** 2
    while pending.size:
        if mass > 0.3:
            x = rng.normal(mean, std, size=pending.size)
            ok = (x >= a) & (x <= b)
        else:
            x = rng.uniform(a, b, size=pending.size)
            log_pdf = -0.5 * ((x - mean) / std) ** 2 - log_peak
            ok = np.log(rng.uniform(size=pending.size)) <= log_pdf
        out[pending[ok]] = x[ok]
        pending = pending[~ok]
    return out.reshape(tensor.shape)


def constant_distribution(shape: tuple[int, ...], val: float) -> Distribution:
    """Every element equals ``val``."""
    return Distribution("constant", float(val))


def constant_(tensor: np.ndarray, val: float) -> np.ndarray:
    """A new array of ``tensor``'s shape filled with ``val``."""
    return np.full(tensor.shape, float(val))


def ones_distribution(shape: tuple[int, ...]) -> Distribution:
    return Distribution("constant", 1.0)


def ones_(tensor: np.ndarray) -> np.ndarray:
    """A new array of ``tensor``'s shape filled with 1."""
    return np.ones(tensor.shape)


def zeros_distribution(shape: tuple[int, ...]) -> Distribution:
    return Distribution("constant", 0.0)


def zeros_(tensor: np.ndarray) -> np.ndarray:
    """A new array of ``tensor``'s shape filled with 0."""
    return np.zeros(tensor.shape)


def eye_(tensor: np.ndarray) -> np.ndarray:
    """The (rows, cols) identity: ones on the main diagonal, zeros elsewhere (torch.eye).
    Only 2-D tensors (torch/nn/init.py ``eye_``)."""
    if tensor.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    return np.eye(*tensor.shape)


def eye_distribution(shape: tuple[int, ...]) -> Distribution:
    return Distribution("exact", values=eye_(np.empty(shape)))


def dirac_(tensor: np.ndarray, groups: int = 1) -> np.ndarray:
    """Dirac delta for a (out, in, *k) conv weight with 1 <= len(k) <= 3: zeros, except
    w[g*out_per_group + d, d, k0//2, k1//2, ...] = 1 for every group g and
    d < min(out // groups, in) (torch/nn/init.py ``dirac_``)."""
    shape = tensor.shape
    if tensor.ndim not in (3, 4, 5):
        raise ValueError("Only tensors with 3, 4, or 5 dimensions are supported")
    if shape[0] % groups != 0:
        raise ValueError("dim 0 must be divisible by groups")
    out = np.zeros(shape)
    per_group = shape[0] // groups
    centre = tuple(k // 2 for k in shape[2:])
    for g in range(groups):
        for d in range(min(per_group, shape[1])):
            out[(g * per_group + d, d) + centre] = 1.0
    return out


def dirac_distribution(shape: tuple[int, ...], groups: int = 1) -> Distribution:
    return Distribution("exact", values=dirac_(np.empty(shape), groups))


# --- fan-based ----------------------------------------------------------------------------------

def xavier_uniform_distribution(shape: tuple[int, ...], gain: float = 1.0) -> Distribution:
    """U(-bound, bound), bound = gain * sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tuple(shape))
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    bound = math.sqrt(3.0) * std
    return _uniform(-bound, bound)


def xavier_uniform_(tensor: np.ndarray, gain: float = 1.0,
                    generator: np.random.Generator | None = None) -> np.ndarray:
    """A new array drawn from ``xavier_uniform_distribution`` (Glorot & Bengio 2010)."""
    d = xavier_uniform_distribution(tensor.shape, gain)
    return _rng(generator).uniform(d.low, d.high, size=tensor.shape)


def xavier_normal_distribution(shape: tuple[int, ...], gain: float = 1.0) -> Distribution:
    """N(0, std²), std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tuple(shape))
    return Distribution("normal", 0.0, gain * math.sqrt(2.0 / float(fan_in + fan_out)))


def xavier_normal_(tensor: np.ndarray, gain: float = 1.0,
                   generator: np.random.Generator | None = None) -> np.ndarray:
    """A new array drawn from ``xavier_normal_distribution``."""
    d = xavier_normal_distribution(tensor.shape, gain)
    return _rng(generator).normal(d.mean, d.std, size=tensor.shape)


def kaiming_uniform_distribution(shape: tuple[int, ...], a: float = 0, mode: str = "fan_in",
                                 nonlinearity: str = "leaky_relu") -> Distribution:
    """U(-bound, bound), bound = sqrt(3) * calculate_gain(nonlinearity, a) / sqrt(fan(mode)).
    With a = sqrt(5) (torch's Linear/Conv default) this is U(±1/sqrt(fan_in)). A zero-element
    shape is left as it is, before any fan check (torch warns and returns): 'constant' 0."""
    if 0 in tuple(shape):
        return Distribution("constant", 0.0)
    fan = _calculate_correct_fan(tuple(shape), mode)
    bound = math.sqrt(3.0) * calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return _uniform(-bound, bound)


def kaiming_uniform_(tensor: np.ndarray, a: float = 0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu",
                     generator: np.random.Generator | None = None) -> np.ndarray:
    """A new array drawn from ``kaiming_uniform_distribution`` (He et al. 2015).
    A zero-element tensor is returned unchanged (torch warns and does nothing)."""
    if 0 in tensor.shape:
        return tensor.copy()
    d = kaiming_uniform_distribution(tensor.shape, a, mode, nonlinearity)
    return _rng(generator).uniform(d.low, d.high, size=tensor.shape)


def kaiming_normal_distribution(shape: tuple[int, ...], a: float = 0, mode: str = "fan_in",
                                nonlinearity: str = "leaky_relu") -> Distribution:
    """N(0, std^2) with std = calculate_gain(nonlinearity, a) / sqrt(fan(mode)). A zero-element
    shape is left as it is, before any fan check (torch warns and returns): 'constant' 0."""
    if 0 in tuple(shape):
        return Distribution("constant", 0.0)
    fan = _calculate_correct_fan(tuple(shape), mode)
    return Distribution("normal", 0.0, calculate_gain(nonlinearity, a) / math.sqrt(fan))


def kaiming_normal_(tensor: np.ndarray, a: float = 0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu",
                    generator: np.random.Generator | None = None) -> np.ndarray:
    """A new array of ``tensor``'s shape drawn from ``kaiming_normal_distribution``.
    A zero-element tensor is returned unchanged (torch warns and does nothing)."""
    if 0 in tensor.shape:
        return tensor.copy()
    d = kaiming_normal_distribution(tensor.shape, a, mode, nonlinearity)
    rng = generator if generator is not None else np.random.default_rng()
    return rng.normal(d.mean, d.std, size=tensor.shape)


# --- structured random --------------------------------------------------------------------------

def orthogonal_flat_shape(shape: tuple[int, ...]) -> tuple[int, int]:
    """(rows, cols) = (shape[0], prod(shape[1:])): trailing dimensions are flattened."""
    if len(shape) < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    rows = shape[0]
    return rows, (math.prod(shape) // rows if rows else math.prod(shape[1:]))


def orthogonal_gram(shape: tuple[int, ...], gain: float = 1.0) -> np.ndarray:
    """The exact Gram matrix of the flattened sample Q on its short side: QᵀQ (rows >= cols) or
    QQᵀ (rows < cols) equals gain²·I of size min(rows, cols)."""
    rows, cols = orthogonal_flat_shape(tuple(shape))
    return gain ** 2 * np.eye(min(rows, cols))


def orthogonal_distribution(shape: tuple[int, ...], gain: float = 1.0) -> Distribution:
    """Q·gain with Q Haar-distributed on the (semi-)orthogonal matrices of the flattened shape
    (Saxe et al. 2013; the sign fix of Mezzadri 2007 makes Q Haar)."""
    orthogonal_flat_shape(tuple(shape))
    return Distribution("orthogonal", gain=float(gain))


def orthogonal_(tensor: np.ndarray, gain: float = 1.0,
                generator: np.random.Generator | None = None) -> np.ndarray:
    """QR of a (rows, cols) N(0,1) matrix (transposed first when rows < cols), Q's columns
    multiplied by sign(diag(R)), transposed back, reshaped to ``tensor``'s shape, times gain
    (torch/nn/init.py ``orthogonal_``)."""
    rows, cols = orthogonal_flat_shape(tensor.shape)
    if tensor.size == 0:
        return tensor.copy()
    flat = _rng(generator).normal(0.0, 1.0, size=(rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return gain * q.reshape(tensor.shape)


def sparse_zeros_per_column(shape: tuple[int, ...], sparsity: float) -> int:
    """The exact number of zeros in every column: ceil(sparsity * rows), computed in float64
    as torch does (so sparsity=0.07, rows=100 gives ceil(7.000000000000001) = 8). Zeros are per
    COLUMN (MLX zeros per row; semantic-differences item 17)."""
    if len(shape) != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    return math.ceil(sparsity * shape[0])


def sparse_distribution(shape: tuple[int, ...], sparsity: float,
                        std: float = 0.01) -> Distribution:
    """Each column: exactly ``sparse_zeros_per_column`` zeros at uniformly random rows, the other
    entries i.i.d. N(0, std²) (Martens 2010; torch/nn/init.py ``sparse_``)."""
    k = sparse_zeros_per_column(tuple(shape), sparsity)
    return Distribution("sparse", 0.0, float(std), gain=1.0, sparsity=float(sparsity),
                        zeros_per_column=min(k, shape[0]))


def sparse_(tensor: np.ndarray, sparsity: float, std: float = 0.01,
            generator: np.random.Generator | None = None) -> np.ndarray:
    """N(0, std²) entries, then in each column the first ceil(sparsity*rows) rows of a random
    permutation set to zero."""
    d = sparse_distribution(tensor.shape, sparsity, std)
    rng = _rng(generator)
    rows, cols = tensor.shape
    out = rng.normal(0.0, std, size=(rows, cols))
    zero_rows = np.argsort(rng.random((rows, cols)), axis=0)[:d.zeros_per_column]
    out[zero_rows, np.arange(cols)[None, :]] = 0.0
    return out


def target_distribution(name: str, shape: tuple[int, ...], **kwargs) -> Distribution:
    """The distribution initializer ``name`` (a torch.nn.init name) targets for ``shape``."""
    fn = globals().get(name.removesuffix("_") + "_distribution")
    if fn is None:
        raise KeyError(f"no reference distribution for nn.init.{name}")
    return fn(tuple(shape), **kwargs)


# --- default initialization of torch.nn modules --------------------------------------------------

def _tuple(v, n: int) -> tuple[int, ...]:
    return tuple(v) if isinstance(v, (tuple, list)) else (v,) * n


def _linear_like(weight_shape: tuple[int, ...], bias_shape: tuple[int, ...] | None) -> dict:
    """torch/nn/modules/linear.py Linear.reset_parameters (conv.py _ConvNd is identical):
    weight kaiming_uniform_(a=sqrt(5)) = U(±1/sqrt(fan_in)); bias U(±1/sqrt(fan_in)), with
    fan_in from the WEIGHT's shape[1] * receptive field (bound 0 when fan_in is 0)."""
    fan_in, _ = _calculate_fan_in_and_fan_out(weight_shape)
    out = {"weight": (weight_shape, kaiming_uniform_distribution(weight_shape, a=math.sqrt(5))
                      if fan_in > 0 else Distribution("constant", 0.0))}
    if bias_shape is not None:
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        out["bias"] = (bias_shape, _uniform(-bound, bound))
    return out


def _linear(in_features, out_features, bias=True, **_):
    return _linear_like((out_features, in_features), (out_features,) if bias else None)


def _bilinear(in1_features, in2_features, out_features, bias=True, **_):
    """linear.py Bilinear.reset_parameters: bound = 1/sqrt(weight.size(1)) = 1/sqrt(in1_features)
    for weight (out, in1, in2) and bias (out,)."""
    if in1_features <= 0:
        raise ValueError(f"in1_features must be > 0, but got (in1_features={in1_features})")
    bound = 1 / math.sqrt(in1_features)
    out = {"weight": ((out_features, in1_features, in2_features), _uniform(-bound, bound))}
    if bias:
        out["bias"] = ((out_features,), _uniform(-bound, bound))
    return out


def _conv(n: int, transposed: bool):
    def params(in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
               groups=1, bias=True, **_):
        """conv.py _ConvNd: weight (out, in/groups, *k), or (in, out/groups, *k) when
        transposed, so a transposed conv's fan_in is out/groups * prod(k)."""
        if groups <= 0:
            raise ValueError("groups must be a positive integer")
        if in_channels % groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups != 0:
            raise ValueError("out_channels must be divisible by groups")
        k = _tuple(kernel_size, n)
        shape = ((in_channels, out_channels // groups) if transposed
                 else (out_channels, in_channels // groups)) + k
        return _linear_like(shape, (out_channels,) if bias else None)
    return params


def _affine(shape, weight: bool, bias: bool) -> dict:
    """batchnorm.py / normalization.py reset_parameters: init.ones_(weight), init.zeros_(bias)."""
    out = {}
    if weight:
        out["weight"] = (shape, Distribution("constant", 1.0))
        if bias:
            out["bias"] = (shape, Distribution("constant", 0.0))
    return out


def _batchnorm(num_features, affine=True, **_):
    return _affine((num_features,), affine, True)


def _instancenorm(num_features, affine=False, **_):
    return _affine((num_features,), affine, True)


def _layernorm(normalized_shape, elementwise_affine=True, bias=True, **_):
    return _affine(_tuple(normalized_shape, 1), elementwise_affine, bias)


def _groupnorm(num_groups, num_channels, affine=True, **_):
    if num_channels % num_groups != 0:
        raise ValueError("num_channels must be divisible by num_groups")
    return _affine((num_channels,), affine, True)


def _rmsnorm(normalized_shape, elementwise_affine=True, **_):
    return _affine(_tuple(normalized_shape, 1), elementwise_affine, False)


def _embedding(num_embeddings, embedding_dim, padding_idx=None, **_):
    """sparse.py Embedding.reset_parameters: init.normal_(weight) = N(0, 1), then the
    padding_idx row (negative counts from the end) filled with 0."""
    rows: tuple[int, ...] = ()
    if padding_idx is not None:
        if not -num_embeddings <= padding_idx < num_embeddings:
            raise AssertionError("Padding_idx must be within num_embeddings")
        rows = (padding_idx % num_embeddings,)
    return {"weight": ((num_embeddings, embedding_dim),
                       Distribution("normal", 0.0, 1.0, zero_rows=rows))}


def _rnn(gates: int, lstm: bool):
    def params(input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
               dropout=0.0, bidirectional=False, proj_size=0, **_):
        """rnn.py RNNBase: weight_ih_l{k}{suffix} (gates*hidden, layer_input),
        weight_hh (gates*hidden, real_hidden), bias_ih/bias_hh (gates*hidden,),
        weight_hr (proj, hidden); reset_parameters draws EVERY parameter from
        U(±1/sqrt(hidden_size)) (hidden_size, not proj_size)."""
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable "
                             "projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if proj_size and not lstm:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        stdv = 1.0 / math.sqrt(hidden_size) if hidden_size > 0 else 0
        d = _uniform(-stdv, stdv)
        dirs = 2 if bidirectional else 1
        real_hidden = proj_size if proj_size > 0 else hidden_size
        out = {}
        for layer in range(num_layers):
            for direction in range(dirs):
                s = f"_l{layer}" + ("_reverse" if direction else "")
                layer_in = input_size if layer == 0 else real_hidden * dirs
                out["weight_ih" + s] = ((gates * hidden_size, layer_in), d)
                out["weight_hh" + s] = ((gates * hidden_size, real_hidden), d)
                if bias:
                    out["bias_ih" + s] = ((gates * hidden_size,), d)
                    out["bias_hh" + s] = ((gates * hidden_size,), d)
                if proj_size > 0:
                    out["weight_hr" + s] = ((proj_size, hidden_size), d)
        return out
    return params


def _rnn_cell(gates: int):
    def params(input_size, hidden_size, bias=True, **_):
        """rnn.py RNNCellBase: weight_ih (gates*hidden, input), weight_hh (gates*hidden, hidden),
        bias_ih, bias_hh; all U(±1/sqrt(hidden_size))."""
        stdv = 1.0 / math.sqrt(hidden_size) if hidden_size > 0 else 0
        d = _uniform(-stdv, stdv)
        out = {"weight_ih": ((gates * hidden_size, input_size), d),
               "weight_hh": ((gates * hidden_size, hidden_size), d)}
        if bias:
            out["bias_ih"] = ((gates * hidden_size,), d)
            out["bias_hh"] = ((gates * hidden_size,), d)
        return out
    return params


def _mha(embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False, add_zero_attn=False,
         kdim=None, vdim=None, **_):
    """activation.py MultiheadAttention._reset_parameters: in_proj_weight (3E, E) — or
    q/k/v_proj_weight (E, E), (E, kdim), (E, vdim) when kdim/vdim differ — xavier_uniform_;
    in_proj_bias and out_proj.bias constant 0; bias_k/bias_v (1, 1, E) xavier_normal_
    (fan_in = fan_out = E, so N(0, 1/E)); out_proj.weight keeps Linear's default
    U(±1/sqrt(E)) drawn when out_proj was constructed."""
    if embed_dim <= 0 or num_heads <= 0:
        raise ValueError(f"embed_dim and num_heads must be greater than 0, got "
                         f"embed_dim={embed_dim} and num_heads={num_heads} instead")
    if embed_dim % num_heads:
        raise AssertionError("embed_dim must be divisible by num_heads")
    kdim = embed_dim if kdim is None else kdim
    vdim = embed_dim if vdim is None else vdim
    e = embed_dim
    out = {}
    if kdim == e and vdim == e:
        out["in_proj_weight"] = ((3 * e, e), xavier_uniform_distribution((3 * e, e)))
    else:
        for name, dim in (("q", e), ("k", kdim), ("v", vdim)):
            out[f"{name}_proj_weight"] = ((e, dim), xavier_uniform_distribution((e, dim)))
    if bias:
        out["in_proj_bias"] = ((3 * e,), Distribution("constant", 0.0))
    if add_bias_kv:
        d = xavier_normal_distribution((1, 1, e))
        out["bias_k"] = ((1, 1, e), d)
        out["bias_v"] = ((1, 1, e), d)
    out["out_proj.weight"] = ((e, e), kaiming_uniform_distribution((e, e), a=math.sqrt(5)))
    if bias:
        out["out_proj.bias"] = ((e,), Distribution("constant", 0.0))
    return out


def _prelu(num_parameters=1, init=0.25, **_):
    """activation.py PReLU.reset_parameters: init.constant_(weight, init)."""
    return {"weight": ((num_parameters,), Distribution("constant", float(init)))}


_DEFAULT_INIT = {
    "Linear": _linear, "Bilinear": _bilinear,
    "Conv1d": _conv(1, False), "Conv2d": _conv(2, False), "Conv3d": _conv(3, False),
    "ConvTranspose1d": _conv(1, True), "ConvTranspose2d": _conv(2, True),
    "ConvTranspose3d": _conv(3, True),
    "BatchNorm1d": _batchnorm, "BatchNorm2d": _batchnorm, "BatchNorm3d": _batchnorm,
    "InstanceNorm1d": _instancenorm, "InstanceNorm2d": _instancenorm,
    "InstanceNorm3d": _instancenorm,
    "LayerNorm": _layernorm, "GroupNorm": _groupnorm, "RMSNorm": _rmsnorm,
    "Embedding": _embedding, "EmbeddingBag": _embedding,
    "RNN": _rnn(1, False), "LSTM": _rnn(4, True), "GRU": _rnn(3, False),
    "RNNCell": _rnn_cell(1), "LSTMCell": _rnn_cell(4), "GRUCell": _rnn_cell(3),
    "MultiheadAttention": _mha, "PReLU": _prelu,
}

#: The torch.nn module names ``default_init`` knows.
DEFAULT_INIT_MODULES = tuple(_DEFAULT_INIT)


def _default_params(module_name: str, kwargs: dict) -> dict:
    fn = _DEFAULT_INIT.get(module_name.removeprefix("nn."))
    if fn is None:
        raise KeyError(f"no reference default initialization for nn.{module_name}")
    return fn(**kwargs)


def default_init(module_name: str, kwargs: dict) -> dict[str, Distribution]:
    """The distribution torch's ``reset_parameters`` draws each parameter of
    ``torch.nn.<module_name>(**kwargs)`` from, keyed by state_dict name (see the per-module
    helpers above for the source file of each rule). Parameters are independent of each other
    and elements are i.i.d. within a parameter."""
    return {k: d for k, (_, d) in _default_params(module_name, kwargs).items()}


def default_init_shapes(module_name: str, kwargs: dict) -> dict[str, tuple[int, ...]]:
    """The shape of each parameter ``default_init`` describes (torch's layout)."""
    return {k: s for k, (s, _) in _default_params(module_name, kwargs).items()}


# --- sampling a target distribution ---------------------------------------------------------------

def sample(dist: Distribution, shape: tuple[int, ...],
           generator: np.random.Generator | None = None) -> np.ndarray:
    """A draw of ``shape`` from ``dist`` (i.i.d. elements; ``zero_rows`` set to 0): what the
    reference backend answers for a module's default initialization."""
    rng = _rng(generator)
    shape = tuple(shape)
    kind = dist.kind
    if kind == "normal":
        out = rng.normal(dist.mean, dist.std, size=shape)
    elif kind == "uniform":
        out = rng.uniform(dist.low, dist.high, size=shape)
    elif kind == "truncated_normal":
        out = trunc_normal_(np.empty(shape), dist.mean, dist.std, dist.low, dist.high,
                            generator=rng)
    elif kind == "constant":
        out = np.full(shape, dist.mean)
    elif kind == "exact":
        out = np.array(dist.values, dtype=np.float64).reshape(shape)
    elif kind == "orthogonal":
        out = orthogonal_(np.empty(shape), dist.gain, generator=rng)
    elif kind == "sparse":
        out = sparse_(np.empty(shape), dist.sparsity, dist.std, generator=rng)
    else:
        raise ValueError(f"cannot sample distribution kind {kind!r}")
    if dist.zero_rows:
        out[list(dist.zero_rows)] = 0.0
    return out


def sample_default_init(module_name: str, kwargs: dict,
                        generator: np.random.Generator | None = None) -> dict[str, np.ndarray]:
    """Every parameter of ``torch.nn.<module_name>(**kwargs)`` drawn from its ``default_init``
    distribution, by state_dict name (parameters in ``default_init_shapes`` order)."""
    rng = _rng(generator)
    return {name: sample(d, shape, rng)
            for name, (shape, d) in _default_params(module_name, dict(kwargs)).items()}


# --- depth scenarios: the activation std through a deep stack of linear layers --------------------

#: Activations of ``depth_profile``: name -> (function, does it map +-inf to +-inf).
DEPTH_ACTIVATIONS = {
    None: (lambda z: z, True),
    "nn.Tanh": (np.tanh, False),
    "nn.ReLU": (lambda z: np.maximum(z, 0.0), True),
}


def depth_profile(x0: np.ndarray, weights: list[np.ndarray], activation: str | None = None,
                  *, rel_noise: float = 0.0, twins: int = 0,
                  generator: np.random.Generator | None = None) -> dict[str, np.ndarray]:
    """Run ``x <- act(x @ W_l.T)`` through the bias-free linear layers ``weights`` in float64 and
    return, for every module output in order (the Linear, then its activation when there is one,
    as in an ``nn.Sequential``):

    - ``std``: the standard deviation (ddof=0) over all elements of that output;
    - ``amax``: its largest magnitude; ``scale``: for a Linear output, the largest element of
      ``|x| @ |W|.T``, which bounds every partial sum of every summation order (equal to
      ``amax`` for an activation output);
    - ``twin_dev`` (when ``twins`` > 0): the largest |std(twin) - std| over ``twins`` perturbed
      copies of the run in which every Linear output element gets an independent
      U(-1, 1) * ``rel_noise`` * (|x| @ |W|.T) error (|x| of the nominal run) -- a rounding
      error as large as a tolerance rule allows, pushed through the network's own dynamics. It measures how ill-conditioned
      each std is (large where the network amplifies perturbations, e.g. tanh with gain 5/3,
      which is in the chaotic phase).

    Values past the float64 range are not expected (the scenarios stay below 1e300)."""
    fn, _ = DEPTH_ACTIVATIONS[activation]
    rng = _rng(generator)
    x = np.asarray(x0, dtype=np.float64)
    tw = [x.copy() for _ in range(twins)]
    std, amax, scale, dev = [], [], [], []
    with np.errstate(over="ignore", invalid="ignore"):
        for w in weights:
            w = np.asarray(w, dtype=np.float64)
            b = x.shape[0]
            # one product for the run and its twins (few, larger BLAS calls); the twins'
            # perturbation is scaled by the nominal run's |x| @ |W|.T (a twin's own magnitudes
            # differ from it by the perturbation, a second-order change)
            zs = np.concatenate([x] + tw) @ w.T
            z = zs[:b]
            sc = np.abs(x) @ np.abs(w).T
            zt = [zs[b * (i + 1):b * (i + 2)] + rng.uniform(-1.0, 1.0, z.shape) * rel_noise * sc
                  for i in range(len(tw))]
            outs = [(z, zt, float(np.max(sc)))]
            if activation is not None:
                outs.append((fn(z), [fn(v) for v in zt], None))
            for y, yt, s in outs:
                std.append(float(np.std(y)))
                amax.append(float(np.max(np.abs(y))))
                scale.append(s if s is not None else amax[-1])
                dev.append(max((abs(float(np.std(v)) - std[-1]) for v in yt), default=0.0))
            x, tw = outs[-1][0], outs[-1][1]
    return {"std": np.array(std), "amax": np.array(amax), "scale": np.array(scale),
            "twin_dev": np.array(dev)}
