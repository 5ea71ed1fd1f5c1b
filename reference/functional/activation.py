"""Elementwise activations, GLU and the softmax family. Semantics: torch.nn.functional docs and aten.

Every ``f`` has ``f_backward(grad_output, input, ...)`` beside it returning a tuple of gradients
(one per differentiable tensor argument). Sources: the torch docs of each function, torch's
``nn/functional.py`` and ``nn/modules/activation.py``, and aten's ``derivatives.yaml`` with the
CPU kernels it names (``Activation.cpp``, ``SoftMax.cpp``).

Conventions shared by this module
- Kinks: the backward returns exactly what torch's backward formula returns at the kink point
  (stated per function; checked against torch float64 autograd during development).
- NaN/Inf policy: the output is the documented formula evaluated in IEEE float64 with torch's
  comparison structure, so ``nan`` propagates through every forward, and in a backward a
  comparison with ``nan`` is false, which selects the branch torch's scalar kernel selects (for
  example ``relu_backward`` passes the gradient at ``nan`` because torch tests
  ``x <= 0 ? 0 : g``). Torch's vectorised kernels disagree for some ops; those are listed in
  ``NAN_GRADIENT_UNSPECIFIED``. Where the formula is
  ``inf * 0`` or ``inf / inf`` at an infinite input (GELU, SiLU, Mish at -inf; Softsign at +-inf),
  the result is ``nan``, as in torch. Each docstring lists the non-finite values explicitly.
- Accuracy: formulas are evaluated in a numerically stable form (``expm1``, ``erfc``, a
  sigmoid that never overflows, ``log1p(exp(-|x|))``), so the reference is accurate to a few ulp
  where torch's formula may cancel; ``reference.nn`` modules provide ``error_scales`` where
  torch's formula cancels (GELU, Tanhshrink, Sigmoid, Tanh, SiLU, Mish, Softsign, GLU, PReLU's
  weight gradient, the softmax family).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "threshold", "threshold_backward", "relu", "relu_backward", "relu6", "relu6_backward",
    "hardtanh", "hardtanh_backward", "elu", "elu_backward", "selu", "selu_backward",
    "celu", "celu_backward", "leaky_relu", "leaky_relu_backward", "prelu", "prelu_backward",
    "rrelu", "rrelu_backward", "infer_rrelu_noise", "glu", "glu_backward", "gelu", "gelu_backward",
    "logsigmoid", "logsigmoid_backward", "hardshrink", "hardshrink_backward",
    "tanhshrink", "tanhshrink_backward", "softsign", "softsign_backward",
    "softplus", "softplus_backward", "softshrink", "softshrink_backward",
    "sigmoid", "sigmoid_backward", "tanh", "tanh_backward", "silu", "silu_backward",
    "mish", "mish_backward", "hardsigmoid", "hardsigmoid_backward",
    "hardswish", "hardswish_backward",
    "softmax", "softmax_backward", "softmin", "softmin_backward",
    "log_softmax", "log_softmax_backward", "softmax_dim",
    "SELU_ALPHA", "SELU_SCALE", "NAN_GRADIENT_UNSPECIFIED",
]

#: SELU constants, as written in the torch docs of ``torch.nn.SELU`` (rounded to float64).
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946

#: Ops whose torch gradient at a nan INPUT depends on the tensor's size and the element's position
#: (torch 2.13 CPU: the vectorised kernel body gives 0 for the clamp/shrink family and nan for
#: the ELU family and hardswish, the scalar tail loop gives g). The reference returns the
#: scalar-loop value (the comparison with nan is false); a checker should not compare gradients
#: at nan inputs of these ops. Every other op here is consistent in torch.
NAN_GRADIENT_UNSPECIFIED = frozenset({"hardtanh", "relu6", "hardshrink", "softshrink", "elu",
                                      "selu", "celu", "hardswish"})

_SQRT1_2 = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_GELU_KAPPA = 0.044715

_erfc_scalar = np.frompyfunc(math.erfc, 1, 1)


def _f64(x) -> np.ndarray:
    return np.asarray(x, dtype=np.float64)


def _erfc(x: np.ndarray) -> np.ndarray:
    """Complementary error function to full float64 accuracy (``math.erfc``, libm), vectorised."""
    x = _f64(x)
    return np.asarray(_erfc_scalar(x), dtype=np.float64).reshape(x.shape)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    """1/(1+exp(-x)) without overflow: exp is only ever taken of -|x|."""
    x = _f64(x)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _softplus1(x: np.ndarray) -> np.ndarray:
    """log(1+exp(x)) without overflow or cancellation."""
    x = _f64(x)
    return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))


def _sech2(x: np.ndarray) -> np.ndarray:
    """1 - tanh(x)^2 = 4e/(1+e)^2 with e = exp(-2|x|): no overflow, no cancellation."""
    e = np.exp(-2.0 * np.abs(_f64(x)))
    return 4.0 * e / (1.0 + e) ** 2


# ------------------------------------------------------------------ threshold / ReLU family

def threshold(input: np.ndarray, threshold: float, value: float) -> np.ndarray:
    """y = x if x > threshold else value (torch: ``x <= threshold ? value : x``).

    NaN: ``nan <= threshold`` is false, so y = nan. Source: torch.nn.Threshold docs, aten threshold.
    """
    x = _f64(input)
    return np.where(x <= threshold, float(value), x)


def threshold_backward(grad_output, input, threshold: float, value: float) -> tuple[np.ndarray]:
    """g * [x > threshold]; at exactly x == threshold the gradient is 0; at nan it is g.

    Source: derivatives.yaml ``threshold: threshold_backward(grad, self, threshold)``, kernel
    ``x <= threshold ? 0 : g``.
    """
    return (np.where(_f64(input) <= threshold, 0.0, _f64(grad_output)),)


def relu(input: np.ndarray) -> np.ndarray:
    """max(x, 0); NaN propagates (torch's clamp_min semantics); relu(-inf) = 0."""
    return np.where(np.isnan(input), input, np.maximum(input, 0.0))


def relu_backward(grad_output: np.ndarray, input: np.ndarray) -> tuple[np.ndarray]:
    """g * [x > 0]. Subgradient convention at exactly 0 (and -0): the gradient is 0.

    Source: aten derivatives.yaml, ``relu: threshold_backward(grad, result, 0)``, kernel
    ``result <= 0 ? 0 : g``: the gradient passes only where the value is strictly greater than 0,
    and also where it is nan (the comparison is false), so relu_backward(g, nan) = g.
    """
    return (np.where(_f64(input) <= 0, 0.0, _f64(grad_output)),)


def hardtanh(input: np.ndarray, min_val: float = -1.0, max_val: float = 1.0) -> np.ndarray:
    """clamp(x, min_val, max_val); nan -> nan, +-inf -> max_val/min_val.

    Raises ValueError when min_val > max_val (torch.nn.functional.hardtanh; the module
    ``Hardtanh`` is stricter, see ``reference.nn.Hardtanh``).
    """
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    return np.clip(_f64(input), min_val, max_val)


def hardtanh_backward(grad_output, input, min_val: float = -1.0,
                      max_val: float = 1.0) -> tuple[np.ndarray]:
    """g * [min_val < x < max_val]: 0 at both kinks x == min_val and x == max_val; g at nan.

    Source: derivatives.yaml ``hardtanh: hardtanh_backward(grad, self, min_val, max_val)``,
    kernel ``(x <= min_val || x >= max_val) ? 0 : g``.
    """
    x = _f64(input)
    return (np.where((x <= min_val) | (x >= max_val), 0.0, _f64(grad_output)),)


def relu6(input: np.ndarray) -> np.ndarray:
    """min(max(0, x), 6) = hardtanh(x, 0, 6) (aten relu6 is hardtanh(0, 6))."""
    return hardtanh(input, 0.0, 6.0)


def relu6_backward(grad_output, input) -> tuple[np.ndarray]:
    """g * [0 < x < 6]: gradient 0 at x == 0 and at x == 6 (hardtanh_backward); g at nan."""
    return hardtanh_backward(grad_output, input, 0.0, 6.0)


def leaky_relu(input: np.ndarray, negative_slope: float = 0.01) -> np.ndarray:
    """x if x > 0 else negative_slope * x (aten: ``x > 0 ? x : x * slope``); nan -> nan."""
    x = _f64(input)
    return np.where(x > 0, x, x * negative_slope)


def leaky_relu_backward(grad_output, input, negative_slope: float = 0.01) -> tuple[np.ndarray]:
    """g if x > 0 else negative_slope * g: at exactly 0 (and at nan) the gradient is slope * g.

    Source: derivatives.yaml ``leaky_relu: leaky_relu_backward(grad, self, negative_slope,
    false)``, kernel ``x > 0 ? g : g * negval``.
    """
    x = _f64(input)
    g = _f64(grad_output)
    return (np.where(x > 0, g, g * negative_slope),)


def _prelu_weight(x: np.ndarray, weight: np.ndarray) -> np.ndarray:
    w = _f64(weight)
    if w.size == 1:
        return w.reshape(())
    if x.ndim == 0:
        raise RuntimeError("Not allow zero-dim input tensor.")
    channels = x.shape[1] if x.ndim > 1 else 1
    if channels != w.size:
        raise RuntimeError("Mismatch of parameter numbers and input channel size. Found parameter "
                           f"numbers = {w.size} and channel size = {channels}.")
    return w.reshape((1, w.size) + (1,) * (x.ndim - 2))


def prelu(input: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """x if x > 0 else a * x, a = weight (one value, or one per channel = dim 1 of the input).

    A weight with more than one element must have ``input.shape[1]`` elements (1-D input counts as
    one channel, so it needs a 1-element weight); otherwise RuntimeError as in aten ``prelu``.
    nan -> nan.
    """
    x = _f64(input)
    w = _prelu_weight(x, weight)
    return np.where(x > 0, x, w * x)


def prelu_backward(grad_output, input, weight) -> tuple[np.ndarray, np.ndarray]:
    """(dx, dweight): dx = g if x > 0 else a*g; dweight = sum over non-channel axes of [x <= 0] x g.

    At exactly x == 0 (and at nan) dx = a * g; the weight gradient term there is x * g (0 at 0,
    nan at nan). Source: derivatives.yaml ``_prelu_kernel: _prelu_kernel_backward``, kernel
    ``x > 0 ? g : w * g`` and ``x > 0 ? 0 : x * g`` (the weight gradient is then summed back to
    the weight's shape).
    """
    x = _f64(input)
    g = _f64(grad_output)
    w = _prelu_weight(x, weight)
    gx = np.where(x > 0, g, w * g)
    terms = np.where(x > 0, 0.0, x * g)
    wshape = np.shape(weight)
    if np.size(weight) == 1:
        gw = np.sum(terms).reshape(wshape)
    else:
        axes = tuple(i for i in range(x.ndim) if i != 1)
        gw = np.sum(terms, axis=axes).reshape(wshape)
    return gx, gw


def rrelu(input: np.ndarray, lower: float = 1.0 / 8, upper: float = 1.0 / 3,
          training: bool = False, noise: np.ndarray | None = None) -> np.ndarray:
    """Randomized leaky ReLU. Randomness is an input: ``noise`` holds the sampled slopes.

    Training: y = x * noise where x <= 0, else x. ``noise`` (required in training) is an array
    broadcastable to the input whose entries at x <= 0 are the slopes torch drew from
    U(lower, upper); entries where x > 0 are ignored (torch stores 1 there). Use
    ``infer_rrelu_noise`` to recover them from an observed output.
    Eval: leaky_relu with the fixed slope (lower + upper) / 2; ``noise`` is ignored.
    Raises RuntimeError when lower > upper (aten ``rrelu_with_noise``). nan -> nan.
    Source: torch.nn.RReLU docs; aten ``rrelu_with_noise_out_cpu`` (``x <= 0 ? x * r : x``).
    """
    if lower > upper:
        raise RuntimeError("Lower bound should be less than or equal to the upper bound")
    x = _f64(input)
    if not training:
        return leaky_relu(x, (lower + upper) / 2)
    if noise is None:
        raise ValueError("rrelu in training needs the sampled slopes: pass noise=")
    return np.where(x <= 0, x * _f64(noise), x)


def rrelu_backward(grad_output, input, lower: float = 1.0 / 8, upper: float = 1.0 / 3,
                   training: bool = False, noise: np.ndarray | None = None) -> tuple[np.ndarray]:
    """Training: g * noise where x <= 0, else g (torch's stored noise is 1 there), so at exactly
    0 the gradient is the sampled slope and at nan it is g. Eval: ``leaky_relu_backward`` with
    slope (lower + upper)/2, i.e. slope * g at exactly 0 and at nan.

    Source: derivatives.yaml ``rrelu_with_noise: rrelu_with_noise_backward(grad, self, noise,
    lower, upper, training, false)``; torch/_decomp/decompositions.py
    ``rrelu_with_noise_backward``: ``grad * noise`` if training else ``leaky_relu_backward``.
    (Old releases switched to leaky_relu_backward unless upper - lower > 1e-6; torch 2.13 does
    not: checked with lower == upper.)
    """
    if lower > upper:
        raise RuntimeError("Lower bound should be less than or equal to the upper bound")
    x = _f64(input)
    g = _f64(grad_output)
    if training:
        if noise is None:
            raise ValueError("rrelu in training needs the sampled slopes: pass noise=")
        return (np.where(x <= 0, g * _f64(noise), g),)
    return leaky_relu_backward(g, x, (lower + upper) / 2)


def infer_rrelu_noise(input: np.ndarray, output: np.ndarray) -> np.ndarray:
    """The slopes a backend used in training: y / x where x < 0, 1 where x > 0.

    Where x == 0 (or x is not finite) the slope cannot be recovered and is returned as nan; a
    checker should substitute any value in [lower, upper] there (it only affects the gradient).
    """
    x = _f64(input)
    y = _f64(output)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(x < 0, y / x, 1.0)
    return np.where((x == 0) | ~np.isfinite(x), np.nan, r)


# ------------------------------------------------------------------ ELU family

def _elu(x, alpha, scale, input_scale):
    # torch: x <= 0 ? (exp(x*input_scale) - 1) * alpha*scale : x*scale (aten elu kernel uses expm1)
    x = _f64(x)
    neg = (alpha * scale) * np.expm1(np.minimum(x, 0.0) * input_scale)
    return np.where(x <= 0, neg, x * scale)


def _elu_backward(g, x, alpha, scale, input_scale):
    x = _f64(x)
    g = _f64(g)
    neg = g * input_scale * (alpha * scale) * np.exp(np.minimum(x, 0.0) * input_scale)
    return (np.where(x <= 0, neg, g * scale),)


def elu(input: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """x if x > 0 else alpha * (exp(x) - 1); elu(-inf) = -alpha, nan -> nan.

    Source: torch.nn.ELU docs; aten elu(self, alpha, scale=1, input_scale=1).
    """
    return _elu(input, alpha, 1.0, 1.0)


def elu_backward(grad_output, input, alpha: float = 1.0) -> tuple[np.ndarray]:
    """g if x > 0 else g * alpha * exp(x). At exactly 0 the gradient is alpha * g (the negative
    branch, because torch tests ``x <= 0``; cf. semantic-differences item 27: Caffe differs);
    at nan it is g (the positive branch); at -inf 0.

    Source: derivatives.yaml ``elu: elu_backward(grad, alpha, scale, input_scale, false, self)``.
    """
    return _elu_backward(grad_output, input, alpha, 1.0, 1.0)


def selu(input: np.ndarray) -> np.ndarray:
    """scale * (x if x > 0 else alpha * (exp(x) - 1)), alpha = SELU_ALPHA, scale = SELU_SCALE.

    selu(-inf) = -alpha*scale = -1.7580993408473766 (the float64 product, equal to the literal
    that torch's alpha_dropout uses); nan -> nan. Source: torch.nn.SELU docs (the constants are
    quoted there); aten selu = elu(x, alpha, scale, 1).
    """
    return _elu(input, SELU_ALPHA, SELU_SCALE, 1.0)


def selu_backward(grad_output, input) -> tuple[np.ndarray]:
    """g*scale if x > 0 else g*alpha*scale*exp(x): at exactly 0 it is alpha*scale*g
    (1.7580993408473766 g), at nan scale*g."""
    return _elu_backward(grad_output, input, SELU_ALPHA, SELU_SCALE, 1.0)


def celu(input: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """max(0, x) + min(0, alpha * (exp(x / alpha) - 1)); celu(-inf) = -alpha, nan -> nan.

    alpha == 0 raises RuntimeError ("ZeroDivisionError: alpha cannot be 0 for CELU").
    Source: torch.nn.CELU docs; aten celu = elu(x, alpha, 1, 1/alpha).
    """
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError: alpha cannot be 0 for CELU")
    return _elu(input, alpha, 1.0, 1.0 / alpha)


def celu_backward(grad_output, input, alpha: float = 1.0) -> tuple[np.ndarray]:
    """g if x > 0 else g * exp(x / alpha): at exactly 0 the gradient is g (both one-sided
    derivatives are 1), at nan g. Torch evaluates (1/alpha)*alpha*exp(x/alpha), so its value at 0
    may differ from 1 by an ulp."""
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError: alpha cannot be 0 for CELU")
    return _elu_backward(grad_output, input, alpha, 1.0, 1.0 / alpha)


# ------------------------------------------------------------------ smooth gates

def gelu(input: np.ndarray, approximate: str = "none") -> np.ndarray:
    """'none': x * Phi(x), Phi(x) = erfc(-x/sqrt 2)/2 (the Gaussian CDF; erfc keeps full relative
    accuracy for x << 0 where torch's ``0.5*(1+erf(x/sqrt 2))`` underflows to 0).
    'tanh': 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), evaluated as x * sigmoid(2u).

    Non-finite: gelu(+inf) = +inf, gelu(-inf) = nan (-inf * 0, as torch), nan -> nan.
    Any other ``approximate`` raises RuntimeError. Source: torch.nn.GELU docs.
    """
    x = _f64(input)
    if approximate == "none":
        return x * (0.5 * _erfc(-x * _SQRT1_2))
    if approximate == "tanh":
        with np.errstate(over="ignore", invalid="ignore"):
            u = _SQRT_2_OVER_PI * (x + _GELU_KAPPA * x ** 3)
            return x * _sigmoid(2.0 * u)
    raise RuntimeError("approximate argument must be either none or tanh.")


def gelu_backward(grad_output, input, approximate: str = "none") -> tuple[np.ndarray]:
    """'none': g * (Phi(x) + x phi(x)), phi the standard normal density.
    'tanh': g * (s + 2 x s (1-s) sqrt(2/pi) (1 + 3*0.044715 x^2)), s = sigmoid(2u).

    Smooth everywhere (gelu'(0) = 0.5). At +-inf the gradient is nan (inf * 0 in the formula, as
    torch's gelu_backward); nan -> nan.
    """
    x = _f64(input)
    g = _f64(grad_output)
    if approximate == "none":
        pdf = _INV_SQRT_2PI * np.exp(-0.5 * x * x)
        return (g * (0.5 * _erfc(-x * _SQRT1_2) + x * pdf),)
    if approximate == "tanh":
        with np.errstate(over="ignore", invalid="ignore"):
            u = _SQRT_2_OVER_PI * (x + _GELU_KAPPA * x ** 3)
            s = _sigmoid(2.0 * u)
            du = _SQRT_2_OVER_PI * (1.0 + 3.0 * _GELU_KAPPA * x * x)
            return (g * (s + 2.0 * x * s * _sigmoid(-2.0 * u) * du),)
    raise RuntimeError("approximate argument must be either none or tanh.")


def sigmoid(input: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-x)), computed without overflow; sigmoid(+-inf) = 1, 0; nan -> nan."""
    return _sigmoid(input)


def sigmoid_backward(grad_output, input) -> tuple[np.ndarray]:
    """g * sigmoid(x) * sigmoid(-x) (= g y (1-y), torch's form, without cancellation); 0 at +-inf."""
    x = _f64(input)
    return (_f64(grad_output) * _sigmoid(x) * _sigmoid(-x),)


def tanh(input: np.ndarray) -> np.ndarray:
    """tanh(x); +-1 at +-inf, nan -> nan."""
    return np.tanh(_f64(input))


def tanh_backward(grad_output, input) -> tuple[np.ndarray]:
    """g * (1 - tanh(x)^2), evaluated as 4e/(1+e)^2, e = exp(-2|x|); 0 at +-inf."""
    return (_f64(grad_output) * _sech2(input),)


def silu(input: np.ndarray) -> np.ndarray:
    """x * sigmoid(x); silu(+inf) = inf, silu(-inf) = nan (-inf * 0, torch computes
    x / (1 + exp(-x)) = -inf/inf), nan -> nan. Source: torch.nn.SiLU docs."""
    x = _f64(input)
    return x * _sigmoid(x)


def silu_backward(grad_output, input) -> tuple[np.ndarray]:
    """g * s (1 + x (1 - s)), s = sigmoid(x) (1 - s taken as sigmoid(-x)); nan at +-inf (as torch)."""
    x = _f64(input)
    with np.errstate(invalid="ignore"):
        return (_f64(grad_output) * _sigmoid(x) * (1.0 + x * _sigmoid(-x)),)


def mish(input: np.ndarray) -> np.ndarray:
    """x * tanh(softplus(x)); mish(+inf) = inf, mish(-inf) = nan (-inf * 0, as torch), nan -> nan.

    Source: torch.nn.Mish docs.
    """
    x = _f64(input)
    # tanh directly (not (1 - e)/(1 + e), e = exp(-2 sp), which cancels for x << 0 where
    # sp ~ exp(x) is tiny: mish(-12) would lose 1e4 ulp and mish(-450) would be 0, not -3e-193)
    return x * np.tanh(_softplus1(x))


def mish_backward(grad_output, input) -> tuple[np.ndarray]:
    """g * (tanh(sp) + x sigmoid(x) sech^2(sp)), sp = softplus(x); nan at +-inf (as torch)."""
    x = _f64(input)
    sp = _softplus1(x)
    with np.errstate(invalid="ignore"):
        return (_f64(grad_output) * (np.tanh(sp) + x * _sigmoid(x) * _sech2(sp)),)


def logsigmoid(input: np.ndarray) -> np.ndarray:
    """log(sigmoid(x)) = min(x, 0) - log1p(exp(-|x|)) (aten's stable form); 0 at +inf, -inf at -inf."""
    x = _f64(input)
    return np.minimum(x, 0.0) - np.log1p(np.exp(-np.abs(x)))


def logsigmoid_backward(grad_output, input) -> tuple[np.ndarray]:
    """g * sigmoid(-x): 1 at -inf, 0 at +inf, 0.5 at 0, nan at nan."""
    return (_f64(grad_output) * _sigmoid(-_f64(input)),)


def softplus(input: np.ndarray, beta: float = 1.0, threshold: float = 20.0) -> np.ndarray:
    """log(1 + exp(beta x)) / beta, reverting to x where beta*x > threshold.

    The threshold is compared with beta*x, not x (semantic-differences item 13; aten kernel
    ``(x*beta) > threshold ? x : log1p(exp(x*beta))/beta``). The reference evaluates
    log(1+exp(z)) as max(z,0)+log1p(exp(-|z|)), so it stays finite for any threshold; torch
    overflows to inf when 709.78 < beta*x <= threshold (torch quirk, only with a large threshold).
    softplus(-inf) = 0 (beta > 0), nan -> nan.
    """
    x = _f64(input)
    z = x * beta
    return np.where(z > threshold, x, _softplus1(z) / beta)


def softplus_backward(grad_output, input, beta: float = 1.0,
                      threshold: float = 20.0) -> tuple[np.ndarray]:
    """g where beta*x > threshold, else g * sigmoid(beta x). At exactly beta*x == threshold the
    smooth branch is used (aten: ``z > threshold ? g : g*exp(z)/(exp(z)+1)``), so the gradient has
    a jump of 1 - sigmoid(threshold) there (2e-9 at the default 20). Torch gives nan (inf/inf)
    where 709.78 < beta*x <= threshold; the reference gives sigmoid = 1."""
    x = _f64(input)
    g = _f64(grad_output)
    z = x * beta
    return (np.where(z > threshold, g, g * _sigmoid(z)),)


def softsign(input: np.ndarray) -> np.ndarray:
    """x / (1 + |x|) (torch.nn.functional.softsign, a composite); +-inf -> nan (inf/inf, as
    torch), nan -> nan."""
    x = _f64(input)
    with np.errstate(invalid="ignore"):
        return x / (1.0 + np.abs(x))


def softsign_backward(grad_output, input) -> tuple[np.ndarray]:
    """g / (1 + |x|)^2: 1 at 0 (torch's autograd of the composite uses sgn(0) = 0, which gives 1
    too). At +-inf torch's autograd gives nan (0 - inf/inf); the reference follows (nan)."""
    x = _f64(input)
    d = 1.0 / (1.0 + np.abs(x)) ** 2
    return (np.where(np.isinf(x), np.nan, _f64(grad_output) * d),)


def tanhshrink(input: np.ndarray) -> np.ndarray:
    """x - tanh(x) (a composite in torch); +-inf -> +-inf, nan -> nan. For tiny |x| this cancels
    in every implementation (true value x^3/3); the module gives error_scales |x| + |tanh x|."""
    x = _f64(input)
    return x - np.tanh(x)


def tanhshrink_backward(grad_output, input) -> tuple[np.ndarray]:
    """g * tanh(x)^2 (torch's autograd computes g - g (1 - tanh^2)); 1 at +-inf, 0 at 0."""
    return (_f64(grad_output) * np.tanh(_f64(input)) ** 2,)


# ------------------------------------------------------------------ shrink / hard gates

def hardshrink(input: np.ndarray, lambd: float = 0.5) -> np.ndarray:
    """0 where -lambd <= x <= lambd, else x (aten kernel); so hardshrink(+-lambd) = 0, nan -> nan.

    A negative lambd is accepted, as in torch (then nothing is zeroed).
    """
    x = _f64(input)
    return np.where((x >= -lambd) & (x <= lambd), 0.0, x)


def hardshrink_backward(grad_output, input, lambd: float = 0.5) -> tuple[np.ndarray]:
    """g * [|x| > lambd]: 0 at exactly x == +-lambd, g at nan (aten hardshrink_backward,
    ``(x >= -lambd && x <= lambd) ? 0 : g``)."""
    x = _f64(input)
    return (np.where((x >= -lambd) & (x <= lambd), 0.0, _f64(grad_output)),)


def softshrink(input: np.ndarray, lambd: float = 0.5) -> np.ndarray:
    """x - lambd if x > lambd, x + lambd if x < -lambd, else 0 (aten: ``x * 0``, so nan -> nan).

    lambd < 0 raises RuntimeError, as aten softshrink.
    """
    if lambd < 0:
        raise RuntimeError(f"lambda must be in range [0, inf] for input dtype Double, but found "
                           f"{lambd}")
    x = _f64(input)
    return np.where(x > lambd, x - lambd, np.where(x < -lambd, x + lambd, x * 0.0))


def softshrink_backward(grad_output, input, lambd: float = 0.5) -> tuple[np.ndarray]:
    """g * [|x| > lambd]: 0 at exactly x == +-lambd, g at nan (aten softshrink_backward)."""
    if lambd < 0:
        raise RuntimeError(f"lambda must be in range [0, inf] for input dtype Double, but found "
                           f"{lambd}")
    x = _f64(input)
    return (np.where((x >= -lambd) & (x <= lambd), 0.0, _f64(grad_output)),)


def hardsigmoid(input: np.ndarray) -> np.ndarray:
    """min(max(x + 3, 0), 6) / 6: 0 for x <= -3, 1 for x >= 3; nan -> nan."""
    return np.clip(_f64(input) + 3.0, 0.0, 6.0) / 6.0


def hardsigmoid_backward(grad_output, input) -> tuple[np.ndarray]:
    """g / 6 where -3 < x < 3, else 0: 0 at both kinks x == +-3 and at nan.

    Source: aten hardsigmoid_backward ``(x > -3 && x < 3) ? g * one_sixth : 0``. Torch quirk:
    for float64 its one_sixth constant is float32-rounded (0.1666666716337204, relative error
    3e-8); the reference uses the exact 1/6.
    """
    x = _f64(input)
    return (np.where((x > -3.0) & (x < 3.0), _f64(grad_output) / 6.0, 0.0),)


def hardswish(input: np.ndarray) -> np.ndarray:
    """x * min(max(x + 3, 0), 6) / 6: 0 for x <= -3, x for x >= 3. hardswish(-inf) = nan
    (-inf * 0, as torch), +inf -> inf, nan -> nan."""
    x = _f64(input)
    with np.errstate(invalid="ignore"):
        return x * np.clip(x + 3.0, 0.0, 6.0) / 6.0


def hardswish_backward(grad_output, input) -> tuple[np.ndarray]:
    """0 for x <= -3, g (x/3 + 1/2) for -3 < x < 3, g for x >= 3 (and for nan).

    Kinks: at exactly x == -3 the gradient is 0 (one-sided values 0 and -1/2: torch picks the
    left one), at exactly x == 3 it is g (one-sided values 3/3 + 1/2 = 1.5 and 1: torch picks the
    right one).
    Source: aten hardswish_backward ``x <= -3 ? 0 : x < 3 ? g*(x/3 + 0.5) : g``.
    """
    x = _f64(input)
    g = _f64(grad_output)
    return (np.where(x <= -3.0, 0.0, np.where(x < 3.0, g * (x / 3.0 + 0.5), g)),)


# ------------------------------------------------------------------ GLU

def _glu_dim(x: np.ndarray, dim: int) -> int:
    if x.ndim == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    if not -x.ndim <= dim < x.ndim:
        raise IndexError(f"Dimension out of range (expected to be in range of "
                         f"[{-x.ndim}, {x.ndim - 1}], but got {dim})")
    d = dim % x.ndim
    if x.shape[d] % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {d} is size "
                           f"{x.shape[d]}")
    return d


def glu(input: np.ndarray, dim: int = -1) -> np.ndarray:
    """a * sigmoid(b), where (a, b) are the first and second halves of the input along ``dim``.

    The size along dim must be even (RuntimeError otherwise, and for 0-dim input).
    Source: torch.nn.GLU docs.
    """
    x = _f64(input)
    d = _glu_dim(x, dim)
    a, b = np.split(x, 2, axis=d)
    return a * _sigmoid(b)


def glu_backward(grad_output, input, dim: int = -1) -> tuple[np.ndarray]:
    """Concatenation along dim of (g sigmoid(b), g a sigmoid(b) sigmoid(-b))."""
    x = _f64(input)
    d = _glu_dim(x, dim)
    a, b = np.split(x, 2, axis=d)
    g = _f64(grad_output)
    return (np.concatenate([g * _sigmoid(b), g * a * _sigmoid(b) * _sigmoid(-b)], axis=d),)


# ------------------------------------------------------------------ softmax family

def softmax_dim(ndim: int, dim: int | None) -> int:
    """The (non-negative) axis torch uses; ``dim=None`` is the deprecated implicit choice.

    torch.nn.functional._get_softmax_dim: dim = 0 if ndim in (0, 1, 3) else 1 (with a
    DeprecationWarning-style UserWarning in torch). A 0-dim input accepts dim 0 or -1.
    """
    if dim is None:
        return 0 if ndim in (0, 1, 3) else 1
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], "
                         f"but got {dim})")
    return dim % n


def _shifted(x: np.ndarray, axis: int) -> np.ndarray:
    # Subtracting the max makes exp() at most 1: stable for any finite magnitude. A row holding
    # +inf or nan, or only -inf, becomes all-nan (inf - inf), exactly as torch's kernel.
    with np.errstate(invalid="ignore"):
        return x - np.max(x, axis=axis, keepdims=True)


def softmax(input: np.ndarray, dim: int | None = None) -> np.ndarray:
    """exp(x_i - m) / sum_j exp(x_j - m) along dim, m the max along dim.

    Non-finite: -inf entries get probability 0 as long as the slice has a finite maximum; a slice
    containing nan or +inf, or only -inf, is entirely nan (torch CPU). dim=None: see
    ``softmax_dim``. Source: torch.nn.Softmax docs; aten SoftMax.cpp.
    """
    x = _f64(input)
    if x.ndim == 0:
        softmax_dim(0, dim)
        return softmax(x.reshape(1), 0).reshape(())
    axis = softmax_dim(x.ndim, dim)
    e = np.exp(_shifted(x, axis))
    return e / np.sum(e, axis=axis, keepdims=True)


def softmax_backward(grad_output, input, dim: int | None = None) -> tuple[np.ndarray]:
    """y * (g - sum(g * y)) along dim, y = softmax(x) (aten _softmax_backward_data)."""
    x = _f64(input)
    g = _f64(grad_output)
    if x.ndim == 0:
        return (softmax_backward(g.reshape(1), x.reshape(1), softmax_dim(0, dim))[0].reshape(()),)
    axis = softmax_dim(x.ndim, dim)
    y = softmax(x, axis)
    return (y * (g - np.sum(g * y, axis=axis, keepdims=True)),)


def softmin(input: np.ndarray, dim: int | None = None) -> np.ndarray:
    """softmax(-x, dim) (torch.nn.functional.softmin; same dim=None rule as softmax)."""
    x = _f64(input)
    return softmax(-x, softmax_dim(x.ndim, dim) if x.ndim else dim)


def softmin_backward(grad_output, input, dim: int | None = None) -> tuple[np.ndarray]:
    """-softmax_backward(g, -x)."""
    x = _f64(input)
    return (-softmax_backward(grad_output, -x, softmax_dim(x.ndim, dim) if x.ndim else dim)[0],)


def log_softmax(input: np.ndarray, dim: int | None = None) -> np.ndarray:
    """x_i - m - log(sum_j exp(x_j - m)) along dim, m the max: stable for any finite magnitude
    (log_softmax([1e4, -1e4]) = [0, -2e4] exactly).

    Non-finite: -inf entries give -inf when the slice has a finite maximum; a slice containing nan
    or +inf, or only -inf, is entirely nan (torch CPU).
    """
    x = _f64(input)
    if x.ndim == 0:
        softmax_dim(0, dim)
        return log_softmax(x.reshape(1), 0).reshape(())
    axis = softmax_dim(x.ndim, dim)
    z = _shifted(x, axis)
    return z - np.log(np.sum(np.exp(z), axis=axis, keepdims=True))


def log_softmax_backward(grad_output, input, dim: int | None = None) -> tuple[np.ndarray]:
    """g - softmax(x) * sum(g) along dim (aten _log_softmax_backward_data)."""
    x = _f64(input)
    g = _f64(grad_output)
    if x.ndim == 0:
        r = log_softmax_backward(g.reshape(1), x.reshape(1), softmax_dim(0, dim))[0]
        return (r.reshape(()),)
    axis = softmax_dim(x.ndim, dim)
    return (g - softmax(x, axis) * np.sum(g, axis=axis, keepdims=True),)


def _ieee_quiet(fn):
    # Non-finite inputs give IEEE results (inf*0 = nan, ...) by design (see the module docstring);
    # numpy's floating-point warnings about them are noise, so every public op silences them.
    def wrapper(*args, **kwargs):
        with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
            return fn(*args, **kwargs)
    wrapper.__name__ = fn.__name__
    wrapper.__qualname__ = fn.__qualname__
    wrapper.__doc__ = fn.__doc__
    wrapper.__wrapped__ = fn
    return wrapper


for _name in __all__:
    if _name[0].islower() and _name != "softmax_dim":
        globals()[_name] = _ieee_quiet(globals()[_name])
del _name
