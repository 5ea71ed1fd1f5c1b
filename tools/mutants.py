"""Deliberately broken variants of the torch-cpu backend, one bug each, for the sensitivity audit
(tools/mutation_audit.py, docs/audit.md).

A mutant is a subclass of ``backends.torch_backend.TorchCPU`` named ``mutant-<name>``. Around each
of its ``run_*`` / ``sample_*`` calls it monkeypatches the one torch function or class it breaks
and restores it afterwards, so the harness and the reference never see the bug, only the answers
do. Two ways to break torch:

- a reimplementation in torch ops containing the bug, for kernels written in C++
  (``F.batch_norm``, ``F.dropout``, ``torch.tanh``'s backward through a custom
  ``torch.autograd.Function``, ...); a reimplementation falls back to the original function for
  the options it does not model, so a kill is the bug's doing and not the reimplementation's;
- a *source mutation* of a Python function of torch (the optimizers' ``_single_tensor_*``
  kernels, ``torch.nn.init``, scheduler methods): its source text with one edit, compiled in the
  function's own module globals. Every edit must match the installed torch's source; if torch
  changes, the mutant raises ``MutantOutdated`` (an ``error`` of every case, reported by the
  audit as a broken mutant rather than a kill).

Each mutant states what it models (``models``) and, where there is one, the historical bug or
framework difference it comes from (``history``; numbers are pytorch/pytorch unless another
repository is named, see /work/shared/research/semantic-differences.md), and which suite files
(``suites``) and pytest ``-k`` expression (``select``) exercise the op it breaks.

Use one directly: ``pytest suites/test_normalization.py --backend=tools.mutants:BnBiasedRunningVar``.
"""

from __future__ import annotations

import contextlib
import inspect
import math
import textwrap
from typing import Any, ClassVar

import numpy as np

from backends.torch_backend import TorchCPU

try:
    import torch
    import torch.nn.functional as F
except ImportError:  # the audit reports torch's absence through available()
    torch = None
    F = None


class MutantOutdated(RuntimeError):
    """A source mutation no longer matches the installed torch."""


# --- helpers ----------------------------------------------------------------------------------

def mutate_source(func: Any, *edits: tuple[str, str]) -> Any:
    """``func`` recompiled from its source with each ``(old, new)`` replacement applied (every
    ``old`` must occur), in ``func``'s module globals; decorators are dropped."""
    func = inspect.unwrap(func)
    src = textwrap.dedent(inspect.getsource(func))
    lines = src.splitlines(keepends=True)
    while lines and lines[0].lstrip().startswith("@"):
        lines.pop(0)
    src = "".join(lines)
    for old, new in edits:
        if old not in src:
            raise MutantOutdated(f"{func.__module__}.{func.__qualname__}: {old!r} is not in the "
                                 f"source of torch {torch.__version__}")
        src = src.replace(old, new)
    ns = dict(func.__globals__)
    exec(compile(src, f"<mutant of {func.__module__}.{func.__qualname__}>", "exec"), ns)
    return ns[func.__name__]


def _reduce(loss, reduction: str):
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    return loss.mean()


def _legacy(size_average, reduce) -> bool:
    return size_average is not None or reduce is not None


class _ScaleGrad(torch.autograd.Function if torch is not None else object):
    """Identity forward; the backward multiplies the gradient by ``scale``."""

    @staticmethod
    def forward(ctx, x, scale):
        ctx.scale = scale
        return x.view_as(x)

    @staticmethod
    def backward(ctx, g):
        return g * ctx.scale, None


# --- the base class -----------------------------------------------------------------------------

MUTANTS: dict[str, type["Mutant"]] = {}


class Mutant(TorchCPU):
    """torch-cpu with one bug. Subclasses set ``name`` (``mutant-<short>``), ``family``,
    ``models``, ``history``, ``suites``, ``select`` and implement ``patches``."""

    name: ClassVar[str] = "mutant-base"
    family: ClassVar[str] = ""
    models: ClassVar[str] = ""
    history: ClassVar[str] = ""
    #: suite files (under suites/) whose cases exercise the broken op
    suites: ClassVar[tuple[str, ...]] = ()
    #: pytest -k expression restricting those files to the relevant cases (None: all)
    select: ClassVar[str | None] = None
    #: a control: no bug at all (it must never be "killed")
    control: ClassVar[bool] = False

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        if cls.name != "mutant-base":
            MUTANTS[cls.name.removeprefix("mutant-")] = cls

    def __init__(self, options=None):
        super().__init__(options)
        self._depth = 0
        self._patch_list: list | None = None

    def patches(self) -> list[tuple[Any, str, Any]]:
        """(object, attribute, replacement) triples applied for the duration of a call."""
        return []

    @contextlib.contextmanager
    def _mutated(self):
        if self._depth:
            yield
            return
        if self._patch_list is None:
            self._patch_list = self.patches()
        saved = []
        for obj, attr, value in self._patch_list:
            saved.append((obj, attr, attr in vars(obj), vars(obj).get(attr)))
            setattr(obj, attr, value)
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1
            for obj, attr, had, old in reversed(saved):
                if had:
                    setattr(obj, attr, old)
                else:
                    delattr(obj, attr)

    def run_module(self, request):
        with self._mutated():
            return super().run_module(request)

    def sample_init(self, request):
        with self._mutated():
            return super().sample_init(request)

    def sample_default_init(self, request):
        with self._mutated():
            return super().sample_default_init(request)

    def run_optimizer(self, request):
        with self._mutated():
            return super().run_optimizer(request)

    def run_scheduler(self, request):
        with self._mutated():
            return super().run_scheduler(request)

    def run_scenario(self, request):
        with self._mutated():
            return super().run_scenario(request)


class Control(Mutant):
    name = "mutant-control"
    family = "control"
    models = "no bug: the unmutated torch backend under a mutant's name (the audit's baseline)"
    control = True


# === normalization =============================================================================

def _batch_norm(bug: str):
    orig = F.batch_norm

    class _NoProjection(torch.autograd.Function):
        """x_hat = (x - mean) / sqrt(var + eps) with a backward missing the
        ``- x_hat * mean(g * x_hat)`` term (the gradient through the variance)."""

        @staticmethod
        def forward(ctx, x, dims, eps):
            mean = x.mean(dims, keepdim=True)
            invstd = torch.rsqrt(x.var(dims, unbiased=False, keepdim=True) + eps)
            ctx.save_for_backward(invstd)
            ctx.dims = dims
            return (x - mean) * invstd

        @staticmethod
        def backward(ctx, g):
            (invstd,) = ctx.saved_tensors
            return invstd * (g - g.mean(ctx.dims, keepdim=True)), None, None

    def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
                   momentum=0.1, eps=1e-5):
        if training:
            F._verify_batch_size(input.size())
        if (training and eps <= 0.0) or eps < 0.0 or input.dim() < 2:
            return orig(input, running_mean, running_var, weight, bias, training, momentum, eps)
        dims = [0] + list(range(2, input.dim()))
        shape = [1, -1] + [1] * (input.dim() - 2)
        use_batch = training or running_mean is None or running_var is None or bug == "eval"
        dtype = input.dtype
        # torch's CPU kernel accumulates the statistics of float32 input in float64
        input = input.to(torch.float64)
        if use_batch:
            mean = input.mean(dims, keepdim=True)
            var = input.var(dims, unbiased=False, keepdim=True)
            if training and running_mean is not None and running_var is not None:
                n = input.numel() // input.size(1)
                with torch.no_grad():
                    upd = var if bug == "biased" else var * n / max(n - 1, 1)
                    m = momentum
                    if bug == "momentum":
                        running_mean.mul_(m).add_((mean.reshape(-1) * (1 - m)).to(dtype))
                        running_var.mul_(m).add_((upd.reshape(-1) * (1 - m)).to(dtype))
                    else:
                        running_mean.mul_(1 - m).add_((mean.reshape(-1) * m).to(dtype))
                        running_var.mul_(1 - m).add_((upd.reshape(-1) * m).to(dtype))
        else:
            mean = running_mean.view(shape).to(torch.float64)
            var = running_var.view(shape).to(torch.float64)
        if bug == "eps_outside":
            xhat = (input - mean) / (var.sqrt() + eps)
        elif bug == "backward" and use_batch:
            xhat = _NoProjection.apply(input, dims, eps)
        else:
            xhat = (input - mean) * torch.rsqrt(var + eps)
        xhat = xhat.to(dtype)
        if weight is not None:
            xhat = xhat * weight.view(shape)
        if bias is not None:
            xhat = xhat + bias.view(shape)
        return xhat

    return batch_norm


_BN_SELECT = "BatchNorm"


class BnReimplemented(Mutant):
    name = "mutant-control-batch_norm"
    family = "control"
    models = ("no bug: F.batch_norm reimplemented in torch ops exactly as torch defines it "
              "(shows that the batch-norm mutants' kills are their bugs', not the "
              "reimplementation's)")
    control = True
    suites = ("test_normalization.py",)
    select = _BN_SELECT

    def patches(self):
        return [(F, "batch_norm", _batch_norm(""))]


class BnBiasedRunningVar(Mutant):
    name = "mutant-bn_biased_running_var"
    family = "normalization"
    models = "BatchNorm stores the biased batch variance in running_var instead of the unbiased"
    history = ("semantic-differences #3: Keras before PR keras-team/keras#9028, TF fused vs "
               "non-fused (tensorflow/tensorflow#55545), RETURNN (rwth-i6/returnn#1539)")
    suites = ("test_normalization.py",)
    select = _BN_SELECT

    def patches(self):
        return [(F, "batch_norm", _batch_norm("biased"))]


class BnMomentumFlipped(Mutant):
    name = "mutant-bn_momentum_flipped"
    family = "normalization"
    models = "BatchNorm running = m*running + (1-m)*batch (the Keras/TF momentum convention)"
    history = "semantic-differences #1: pytorch/examples#289, keras-team/keras#6839"
    suites = ("test_normalization.py",)
    select = _BN_SELECT

    def patches(self):
        return [(F, "batch_norm", _batch_norm("momentum"))]


class BnEpsOutsideSqrt(Mutant):
    name = "mutant-bn_eps_outside_sqrt"
    family = "normalization"
    models = "BatchNorm normalises by sqrt(var) + eps instead of sqrt(var + eps)"
    history = "the classic eps-placement confusion (semantic-differences #4 for the optimizers)"
    suites = ("test_normalization.py",)
    select = _BN_SELECT

    def patches(self):
        return [(F, "batch_norm", _batch_norm("eps_outside"))]


class BnBackwardNoVarianceTerm(Mutant):
    name = "mutant-bn_backward_no_variance_term"
    family = "normalization"
    models = ("BatchNorm (training) backward drops the -x_hat*mean(g*x_hat) term: the gradient "
              "that flows through the batch variance")
    history = "hand-written batch-norm backward errors (one term of the VJP wrong)"
    suites = ("test_normalization.py",)
    select = _BN_SELECT

    def patches(self):
        return [(F, "batch_norm", _batch_norm("backward"))]


class BnEvalUsesBatchStats(Mutant):
    name = "mutant-bn_eval_uses_batch_stats"
    family = "normalization"
    models = "BatchNorm in eval mode normalises with the batch statistics, not the running ones"
    history = ("train/eval confusion (e.g. pytorch/pytorch#4741-style 'model.eval() has no "
               "effect' reports); semantic-differences #19")
    suites = ("test_normalization.py",)
    select = _BN_SELECT

    def patches(self):
        return [(F, "batch_norm", _batch_norm("eval"))]


class GroupNormInterleaved(Mutant):
    name = "mutant-group_norm_interleaved"
    family = "normalization"
    models = ("GroupNorm groups channels c % G (interleaved) instead of contiguous blocks "
              "c // (C/G)")
    history = "NHWC/NCHW reshape confusion in group-norm ports"
    suites = ("test_normalization.py",)
    select = "GroupNorm"

    def patches(self):
        def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
            n, c = input.shape[:2]
            x = input.reshape(n, c // num_groups, num_groups, -1)
            mean = x.mean((1, 3), keepdim=True)
            var = x.var((1, 3), unbiased=False, keepdim=True)
            y = ((x - mean) * torch.rsqrt(var + eps)).reshape(input.shape)
            shape = [1, -1] + [1] * (input.dim() - 2)
            if weight is not None:
                y = y * weight.view(shape)
            if bias is not None:
                y = y + bias.view(shape)
            return y
        return [(F, "group_norm", group_norm)]


class LayerNormUnbiased(Mutant):
    name = "mutant-layer_norm_unbiased_var"
    family = "normalization"
    models = "LayerNorm normalises with the unbiased (n-1) variance instead of the biased one"
    history = "estimator confusion, as semantic-differences #3 for BatchNorm"
    suites = ("test_normalization.py",)
    select = "LayerNorm"

    def patches(self):
        orig = F.layer_norm

        def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
            k = len(tuple(normalized_shape))
            dims = tuple(range(input.dim() - k, input.dim()))
            if math.prod(input.shape[input.dim() - k:]) < 2:
                return orig(input, normalized_shape, weight, bias, eps)
            mean = input.mean(dims, keepdim=True)
            var = input.var(dims, unbiased=True, keepdim=True)
            y = (input - mean) * torch.rsqrt(var + eps)
            if weight is not None:
                y = y * weight
            if bias is not None:
                y = y + bias
            return y
        return [(F, "layer_norm", layer_norm)]


class RmsNormEpsOutside(Mutant):
    name = "mutant-rms_norm_eps_outside_sqrt"
    family = "normalization"
    models = "RMSNorm divides by sqrt(mean(x^2)) + eps instead of sqrt(mean(x^2) + eps)"
    history = "eps placement (semantic-differences #4)"
    suites = ("test_normalization.py",)
    select = "RMSNorm"

    def patches(self):
        def rms_norm(input, normalized_shape, weight=None, eps=None):
            if eps is None:
                eps = torch.finfo(input.dtype).eps
            k = len(tuple(normalized_shape))
            dims = tuple(range(input.dim() - k, input.dim()))
            y = input / (input.pow(2).mean(dims, keepdim=True).sqrt() + eps)
            return y * weight if weight is not None else y
        return [(F, "rms_norm", rms_norm)]


# === activations ===============================================================================

def _unary_with_backward(forward, backward):
    class _Op(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            y = forward(x)
            ctx.save_for_backward(x, y)
            return y

        @staticmethod
        def backward(ctx, g):
            x, y = ctx.saved_tensors
            return backward(g, x, y)
    return _Op.apply


class TanhBackward(Mutant):
    name = "mutant-tanh_backward"
    family = "activation"
    models = "tanh backward uses g*(1 - y) instead of g*(1 - y^2)"
    history = "a backward formula wrong in one term"
    suites = ("test_activation.py",)
    select = "nn.Tanh- or Tanhshrink"

    def patches(self):
        orig = torch.tanh
        return [(torch, "tanh", _unary_with_backward(orig, lambda g, x, y: g * (1 - y)))]


class SigmoidBackward(Mutant):
    name = "mutant-sigmoid_backward"
    family = "activation"
    models = "sigmoid backward uses g*y instead of g*y*(1 - y)"
    history = "a backward formula wrong in one term"
    suites = ("test_activation.py",)
    select = "nn.Sigmoid-"

    def patches(self):
        orig = torch.sigmoid
        return [(torch, "sigmoid", _unary_with_backward(orig, lambda g, x, y: g * y))]


class SoftmaxBackward(Mutant):
    name = "mutant-softmax_backward"
    family = "activation"
    models = "softmax backward is g*y, missing the -y*sum(g*y) term (the Jacobian's diagonal only)"
    history = "a backward formula wrong in one term"
    suites = ("test_activation.py",)
    select = "nn.Softmax-"

    def patches(self):
        class _Softmax(torch.autograd.Function):
            @staticmethod
            def forward(ctx, x, dim):
                y = torch.softmax(x, dim)
                ctx.save_for_backward(y)
                return y

            @staticmethod
            def backward(ctx, g):
                (y,) = ctx.saved_tensors
                return g * y, None

        def softmax(input, dim=None, _stacklevel=3, dtype=None):
            if dim is None:
                dim = F._get_softmax_dim("softmax", input.dim(), _stacklevel)
            if dtype is not None:
                input = input.to(dtype)
            return _Softmax.apply(input, dim)
        return [(F, "softmax", softmax)]


class LogSoftmaxNaive(Mutant):
    name = "mutant-log_softmax_naive"
    family = "activation"
    models = "log_softmax computed as log(exp(x) / sum(exp(x))) without the max shift"
    history = "numerically naive log-sum-exp (overflow to inf/NaN for large logits)"
    suites = ("test_activation.py",)
    select = "LogSoftmax"

    def patches(self):
        def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
            if dim is None:
                dim = F._get_softmax_dim("log_softmax", input.dim(), _stacklevel)
            if dtype is not None:
                input = input.to(dtype)
            e = torch.exp(input)
            return torch.log(e / e.sum(dim, keepdim=True))
        return [(F, "log_softmax", log_softmax)]


class GeluTanhDefault(Mutant):
    name = "mutant-gelu_tanh_default"
    family = "activation"
    models = "GELU(approximate='none') computed with the tanh approximation"
    history = ("semantic-differences #14: jax.nn.gelu defaults to the tanh approximation "
               "(jax-ml/jax#4428, PR #4438)")
    suites = ("test_activation.py",)
    select = "GELU"

    def patches(self):
        orig = F.gelu

        def gelu(input, approximate="none"):
            return orig(input, approximate="tanh")
        return [(F, "gelu", gelu)]


class LeakyReluDefaultSlope(Mutant):
    name = "mutant-leaky_relu_default_slope"
    family = "activation"
    models = "LeakyReLU's default negative_slope taken as 0.2 (tf.nn.leaky_relu) not 0.01"
    history = "default-hyperparameter mix-up between frameworks (TF alpha=0.2, torch 0.01)"
    suites = ("test_activation.py",)
    select = "LeakyReLU"

    def patches(self):
        orig = F.leaky_relu

        def leaky_relu(input, negative_slope=0.01, inplace=False):
            return orig(input, 0.2 if negative_slope == 0.01 else negative_slope, inplace)
        return [(F, "leaky_relu", leaky_relu)]


class HardsigmoidKeras(Mutant):
    name = "mutant-hardsigmoid_keras"
    family = "activation"
    models = "Hardsigmoid as clip(0.2x + 0.5, 0, 1) (Keras 2 hard_sigmoid) not relu6(x+3)/6"
    history = "Keras' hard_sigmoid slope 0.2 vs torch's 1/6"
    suites = ("test_activation.py",)
    select = "Hardsigmoid"

    def patches(self):
        def hardsigmoid(input, inplace=False):
            return torch.clamp(0.2 * input + 0.5, 0, 1)
        return [(F, "hardsigmoid", hardsigmoid)]


class ReluGradAtZero(Mutant):
    name = "mutant-relu_grad_at_zero"
    family = "activation"
    models = "ReLU's gradient at exactly 0 is 1 (x >= 0) instead of torch's 0"
    history = "subgradient convention at the kink (semantic-differences #27 for ELU)"
    suites = ("test_activation.py",)
    select = "nn.ReLU-"

    def patches(self):
        orig = F.relu
        op = _unary_with_backward(lambda x: x.clamp_min(0),
                                  lambda g, x, y: g * (x >= 0).to(g.dtype))

        def relu(input, inplace=False):
            return orig(input, inplace) if inplace else op(input)
        return [(F, "relu", relu)]


class SoftplusThresholdOnX(Mutant):
    name = "mutant-softplus_threshold_on_x"
    family = "activation"
    models = "Softplus switches to the identity when x > threshold instead of beta*x > threshold"
    history = "pytorch/pytorch#31110 (semantic-differences #13)"
    suites = ("test_activation.py",)
    select = "Softplus"

    def patches(self):
        def softplus(input, beta=1.0, threshold=20.0):
            soft = torch.logaddexp(input * beta, torch.zeros_like(input)) / beta
            return torch.where(input > threshold, input, soft)
        return [(F, "softplus", softplus)]


class SeluTruncatedConstants(Mutant):
    name = "mutant-selu_truncated_constants"
    family = "activation"
    models = "SELU with alpha and scale truncated to 4 decimals (1.6733, 1.0507)"
    history = "constants copied with too few digits"
    suites = ("test_activation.py",)
    select = "SELU"

    def patches(self):
        def selu(input, inplace=False):
            return 1.0507 * torch.where(input > 0, input, 1.6733 * torch.expm1(input))
        return [(F, "selu", selu)]


class RreluEvalLower(Mutant):
    name = "mutant-rrelu_eval_lower"
    family = "activation"
    models = "RReLU in eval uses the slope `lower` instead of (lower + upper) / 2"
    history = "eval-mode convention of randomized leaky ReLU"
    suites = ("test_activation.py",)
    select = "RReLU"

    def patches(self):
        orig = F.rrelu

        def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, inplace=False):
            if training:
                return orig(input, lower, upper, training, inplace)
            return F.leaky_relu(input, lower)
        return [(F, "rrelu", rrelu)]


class GluHalvesSwapped(Mutant):
    name = "mutant-glu_halves_swapped"
    family = "activation"
    models = "GLU gates the first half with the second (b * sigmoid(a)) instead of a * sigmoid(b)"
    history = "which half is the gate: a classic port confusion"
    suites = ("test_activation.py",)
    select = "GLU"

    def patches(self):
        def glu(input, dim=-1):
            a, b = input.chunk(2, dim)
            return b * torch.sigmoid(a)
        return [(F, "glu", glu)]


# === dropout ===================================================================================

class DropoutNoRescale(Mutant):
    name = "mutant-dropout_no_rescale"
    family = "dropout"
    models = "Dropout keeps survivors as they are instead of scaling them by 1/(1-p)"
    history = "non-inverted dropout (the original paper scales at test time instead)"
    suites = ("test_dropout.py",)
    select = "nn.Dropout-"

    def patches(self):
        orig = F.dropout

        def dropout(input, p=0.5, training=True, inplace=False):
            if not training or p in (0, 1):
                return orig(input, p, training, inplace)
            mask = torch.empty_like(input).bernoulli_(1 - p)
            return input * mask
        return [(F, "dropout", dropout)]


class DropoutEvalActive(Mutant):
    name = "mutant-dropout_eval_active"
    family = "dropout"
    models = "Dropout still drops in eval mode (training flag ignored)"
    history = "functional dropout called without training=self.training (a frequent user/port bug)"
    suites = ("test_dropout.py",)
    select = "nn.Dropout-"

    def patches(self):
        orig = F.dropout

        def dropout(input, p=0.5, training=True, inplace=False):
            return orig(input, p, True, inplace)
        return [(F, "dropout", dropout)]


class DropoutKeepProb(Mutant):
    name = "mutant-dropout_keep_prob"
    family = "dropout"
    models = ("Dropout draws its keep-mask with probability p (p read as TF1's keep_prob) while "
              "still scaling survivors by 1/(1-p): only the distribution test can see it")
    history = "tf.nn.dropout keep_prob vs rate (TF 1.x -> 2.x API change)"
    suites = ("test_dropout.py",)
    select = "nn.Dropout-"

    def patches(self):
        orig = F.dropout

        def dropout(input, p=0.5, training=True, inplace=False):
            if not training or p in (0, 1):
                return orig(input, p, training, inplace)
            mask = torch.empty_like(input).bernoulli_(p)
            return input * mask / (1 - p)
        return [(F, "dropout", dropout)]


class Dropout2dElementwise(Mutant):
    name = "mutant-dropout2d_elementwise"
    family = "dropout"
    models = "Dropout2d drops single elements instead of whole channels"
    history = "pytorch/pytorch#77081 / PR #79549 (Dropout2d semantics on 3-D input)"
    suites = ("test_dropout.py",)
    select = "Dropout2d"

    def patches(self):
        orig = F.dropout

        def dropout2d(input, p=0.5, training=True, inplace=False):
            return orig(input, p, training, inplace)
        return [(F, "dropout2d", dropout2d)]


# === losses ====================================================================================

class CeSmoothingCMinus1(Mutant):
    name = "mutant-ce_label_smoothing_c_minus_1"
    family = "loss"
    models = ("CrossEntropy label smoothing puts eps/(C-1) on the other classes and 1-eps on the "
              "target instead of (1-eps)*onehot + eps/C")
    history = ("semantic-differences #10: awslabs/sockeye#200, OpenNMT#570, "
               "pytorch/pytorch#7455 thread")
    suites = ("test_loss.py",)
    select = "CrossEntropyLoss"

    def patches(self):
        orig = F.cross_entropy

        def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100,
                          reduce=None, reduction="mean", label_smoothing=0.0):
            if (label_smoothing == 0 or target.is_floating_point() or weight is not None
                    or _legacy(size_average, reduce)):
                return orig(input, target, weight, size_average, ignore_index, reduce,
                            reduction, label_smoothing)
            unbatched = input.dim() == 1
            if unbatched:
                input, target = input[None], target[None]
            c = input.size(1)
            logp = torch.log_softmax(input, 1)
            valid = target != ignore_index
            t = torch.where(valid, target, torch.zeros_like(target))
            nll = -logp.gather(1, t.unsqueeze(1)).squeeze(1)
            others = (-logp.sum(1) - nll) / (c - 1)
            loss = ((1 - label_smoothing) * nll + label_smoothing * others) * valid
            if unbatched:
                loss = loss[0]
            if reduction == "mean":
                return loss.sum() / valid.sum()
            return _reduce(loss, reduction)
        return [(F, "cross_entropy", cross_entropy)]


class CeWeightedMeanOverN(Mutant):
    name = "mutant-ce_weighted_mean_over_n"
    family = "loss"
    models = "CrossEntropy(weight, reduction='mean') divides by N instead of sum of w[y_i]"
    history = "semantic-differences #11: pytorch/pytorch#54843"
    suites = ("test_loss.py",)
    select = "CrossEntropyLoss"

    def patches(self):
        orig = F.cross_entropy

        def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100,
                          reduce=None, reduction="mean", label_smoothing=0.0):
            if (weight is None or reduction != "mean" or target.is_floating_point()
                    or _legacy(size_average, reduce)):
                return orig(input, target, weight, size_average, ignore_index, reduce,
                            reduction, label_smoothing)
            s = orig(input, target, weight, None, ignore_index, None, "sum", label_smoothing)
            return s / (target != ignore_index).sum()
        return [(F, "cross_entropy", cross_entropy)]


class CeIgnoreIndexCounted(Mutant):
    name = "mutant-ce_ignore_index_counted"
    family = "loss"
    models = "CrossEntropy's mean counts the ignore_index targets in its denominator"
    history = "mean over all targets instead of the non-ignored ones (semantic-differences #11)"
    suites = ("test_loss.py",)
    select = "CrossEntropyLoss"

    def patches(self):
        orig = F.cross_entropy

        def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100,
                          reduce=None, reduction="mean", label_smoothing=0.0):
            if (weight is not None or reduction != "mean" or target.is_floating_point()
                    or _legacy(size_average, reduce)):
                return orig(input, target, weight, size_average, ignore_index, reduce,
                            reduction, label_smoothing)
            s = orig(input, target, None, None, ignore_index, None, "sum", label_smoothing)
            return s / target.numel()
        return [(F, "cross_entropy", cross_entropy)]


class BcePosWeightOnNegative(Mutant):
    name = "mutant-bce_pos_weight_on_negative"
    family = "loss"
    models = "BCEWithLogits applies pos_weight to the negative (1 - y) term"
    history = "pos_weight placement (tf.nn.weighted_cross_entropy_with_logits pos_weight semantics)"
    suites = ("test_loss.py",)
    select = "BCEWithLogitsLoss"

    def patches(self):
        orig = F.binary_cross_entropy_with_logits

        def bce_logits(input, target, weight=None, size_average=None, reduce=None,
                       reduction="mean", pos_weight=None):
            if pos_weight is None or _legacy(size_average, reduce) or \
                    target.shape != input.shape:
                return orig(input, target, weight, size_average, reduce, reduction, pos_weight)
            loss = -(target * F.logsigmoid(input)
                     + pos_weight * (1 - target) * F.logsigmoid(-input))
            if weight is not None:
                loss = loss * weight
            return _reduce(loss, reduction)
        return [(F, "binary_cross_entropy_with_logits", bce_logits)]


class SmoothL1BetaIgnored(Mutant):
    name = "mutant-smooth_l1_beta_ignored"
    family = "loss"
    models = "SmoothL1Loss ignores beta (always 1)"
    history = "beta added in PR #44433 (semantic-differences #12)"
    suites = ("test_loss.py",)
    select = "SmoothL1Loss"

    def patches(self):
        orig = F.smooth_l1_loss

        def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean",
                           beta=1.0):
            return orig(input, target, size_average, reduce, reduction, 1.0)
        return [(F, "smooth_l1_loss", smooth_l1_loss)]


class HuberAsSmoothL1(Mutant):
    name = "mutant-huber_as_smooth_l1"
    family = "loss"
    models = "HuberLoss(delta) computed as SmoothL1Loss(beta=delta), missing the factor delta"
    history = "pytorch/pytorch#48595, PR #44433 (semantic-differences #12)"
    suites = ("test_loss.py",)
    select = "HuberLoss"

    def patches(self):
        orig = F.huber_loss

        def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
            if weight is not None:
                return orig(input, target, reduction, delta, weight)
            return F.smooth_l1_loss(input, target, reduction=reduction, beta=delta)
        return [(F, "huber_loss", huber_loss)]


class KlDivBatchmeanNumel(Mutant):
    name = "mutant-kl_div_batchmean_numel"
    family = "loss"
    models = "KLDivLoss(reduction='batchmean') divides by numel instead of the batch size"
    history = "PR #14457 (semantic-differences #11)"
    suites = ("test_loss.py",)
    select = "KLDivLoss"

    def patches(self):
        orig = F.kl_div

        def kl_div(input, target, size_average=None, reduce=None, reduction="mean",
                   log_target=False):
            if reduction == "batchmean":
                reduction = "mean"
            return orig(input, target, size_average, reduce, reduction, log_target)
        return [(F, "kl_div", kl_div)]


class MseSumNotMean(Mutant):
    name = "mutant-mse_sum_not_mean"
    family = "loss"
    models = "MSELoss(reduction='mean') sums instead of averaging"
    history = "a reduction summing instead of averaging (pytorch/pytorch#3924)"
    suites = ("test_loss.py",)
    select = "MSELoss"

    def patches(self):
        orig = F.mse_loss

        def mse_loss(input, target, size_average=None, reduce=None, reduction="mean",
                     weight=None):
            if reduction == "mean" and not _legacy(size_average, reduce):
                reduction = "sum"
            return orig(input, target, size_average, reduce, reduction, weight)
        return [(F, "mse_loss", mse_loss)]


class BceNoLogClamp(Mutant):
    name = "mutant-bce_no_log_clamp"
    family = "loss"
    models = "BCELoss without torch's clamp of log(p) at -100 (inf/NaN at p in {0, 1})"
    history = "semantic-differences #23: ml-explore/mlx PR #1280, keras #377"
    suites = ("test_loss.py",)
    select = "nn.BCELoss"

    def patches(self):
        orig = F.binary_cross_entropy

        def bce(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
            if _legacy(size_average, reduce) or target.shape != input.shape:
                return orig(input, target, weight, size_average, reduce, reduction)
            loss = -(target * torch.log(input) + (1 - target) * torch.log(1 - input))
            if weight is not None:
                loss = loss * weight
            return _reduce(loss, reduction)
        return [(F, "binary_cross_entropy", bce)]


class GaussianNllEpsAdded(Mutant):
    name = "mutant-gaussian_nll_eps_added"
    family = "loss"
    models = "GaussianNLLLoss adds eps to the variance instead of clamping it at eps"
    history = "semantic-differences #23 (var clamp)"
    suites = ("test_loss.py",)
    select = "GaussianNLLLoss"

    def patches(self):
        orig = F.gaussian_nll_loss

        def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
            return orig(input, target, var + eps, full, 0.0, reduction)
        return [(F, "gaussian_nll_loss", gaussian_nll_loss)]


class PoissonStirlingUnmasked(Mutant):
    name = "mutant-poisson_nll_stirling_unmasked"
    family = "loss"
    models = ("PoissonNLLLoss(full=True) adds the Stirling term for 0 < target <= 1 too "
              "(torch adds it only where target > 1)")
    history = "Stirling approximation domain in poisson_nll_loss"
    suites = ("test_loss.py",)
    select = "PoissonNLLLoss"

    def patches(self):
        orig = F.poisson_nll_loss

        def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None,
                             eps=1e-8, reduce=None, reduction="mean"):
            if not full or _legacy(size_average, reduce):
                return orig(input, target, log_input, full, size_average, eps, reduce, reduction)
            loss = orig(input, target, log_input, False, None, eps, None, "none")
            safe = torch.where(target > 0, target, torch.ones_like(target))
            st = safe * torch.log(safe) - safe + 0.5 * torch.log(2 * math.pi * safe)
            loss = loss + torch.where(target > 0, st, torch.zeros_like(st))
            return _reduce(loss, reduction)
        return [(F, "poisson_nll_loss", poisson_nll_loss)]


class TripletSwapIgnored(Mutant):
    name = "mutant-triplet_swap_ignored"
    family = "loss"
    models = "TripletMarginLoss ignores swap=True (no distance swap)"
    history = "an option silently dropped"
    suites = ("test_loss.py",)
    select = "nn.TripletMarginLoss"

    def patches(self):
        orig = F.triplet_margin_loss

        def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-6,
                                swap=False, size_average=None, reduce=None, reduction="mean"):
            return orig(anchor, positive, negative, margin, p, eps, False, size_average, reduce,
                        reduction)
        return [(F, "triplet_margin_loss", triplet_margin_loss)]


# === initializers ==============================================================================

def _init():
    return torch.nn.init


class KaimingFanModeIgnored(Mutant):
    name = "mutant-kaiming_fan_mode_ignored"
    family = "init"
    models = "kaiming_normal_/kaiming_uniform_ always use fan_in (mode='fan_out' ignored)"
    history = "fan-axis confusion (semantic-differences #16: weight layouts differ)"
    suites = ("test_init.py",)
    select = "kaiming"

    def patches(self):
        init = _init()
        edit = ("fan = _calculate_correct_fan(tensor, mode)",
                'fan = _calculate_correct_fan(tensor, "fan_in")')
        return [(init, "kaiming_normal_", mutate_source(init.kaiming_normal_, edit)),
                (init, "kaiming_uniform_", mutate_source(init.kaiming_uniform_, edit))]


class KaimingGainFixed(Mutant):
    name = "mutant-kaiming_gain_fixed_sqrt2"
    family = "init"
    models = "kaiming_* use gain sqrt(2) whatever nonlinearity and a (the ReLU gain hard-coded)"
    history = "pytorch/pytorch#15314 (Linear's kaiming_uniform_(a=sqrt(5)) gain discussion)"
    suites = ("test_init.py", "test_default_init.py")
    select = "kaiming or Linear or Conv"

    def patches(self):
        init = _init()
        edit = ("gain = calculate_gain(nonlinearity, a)", "gain = math.sqrt(2.0)")
        return [(init, "kaiming_normal_", mutate_source(init.kaiming_normal_, edit)),
                (init, "kaiming_uniform_", mutate_source(init.kaiming_uniform_, edit))]


class XavierUniformNoSqrt3(Mutant):
    name = "mutant-xavier_uniform_no_sqrt3"
    family = "init"
    models = "xavier_uniform_ bound = gain*sqrt(2/(fan_in+fan_out)), missing the sqrt(3)"
    history = "uniform bound from std without sqrt(3) (docs/statistics.md power target)"
    suites = ("test_init.py", "test_init_scenarios.py")
    select = "xavier_uniform"

    def patches(self):
        init = _init()
        return [(init, "xavier_uniform_", mutate_source(
            init.xavier_uniform_, ("a = math.sqrt(3.0) * std", "a = std")))]


class TruncNormalRelativeBounds(Mutant):
    name = "mutant-trunc_normal_relative_bounds"
    family = "init"
    models = "trunc_normal_ reads a, b as multiples of std around the mean (TF convention)"
    history = "semantic-differences #15: keras#8048, tensorflow#16344"
    suites = ("test_init.py",)
    select = "trunc_normal"

    def patches(self):
        init = _init()
        return [(init, "trunc_normal_", mutate_source(
            init.trunc_normal_,
            ("_no_grad_trunc_normal_(tensor, mean, std, a, b, generator=generator)",
             "_no_grad_trunc_normal_(tensor, mean, std, mean + a * std, mean + b * std, "
             "generator=generator)")))]


class NormalStdAsVariance(Mutant):
    name = "mutant-normal_std_as_variance"
    family = "init"
    models = "normal_(mean, std) samples with standard deviation std**2 (std read as variance)"
    history = "std/variance confusion"
    suites = ("test_init.py", "test_init_scenarios.py")
    select = "normal_"

    def patches(self):
        init = _init()
        return [(init, "normal_", mutate_source(
            init.normal_, ("_no_grad_normal_(tensor, mean, std, generator)",
                           "_no_grad_normal_(tensor, mean, std ** 2, generator)")))]


class OrthogonalNoSignFix(Mutant):
    name = "mutant-orthogonal_no_sign_fix"
    family = "init"
    models = ("orthogonal_ without the sign correction Q*sign(diag(R)): still orthogonal, but "
              "not Haar-distributed")
    history = "Mezzadri, arXiv math-ph/0609050 (the correction torch applies)"
    suites = ("test_init.py",)
    select = "orthogonal"

    def patches(self):
        init = _init()
        return [(init, "orthogonal_", mutate_source(init.orthogonal_,
                                                    ("q *= ph", "pass")))]


class SparsePerRow(Mutant):
    name = "mutant-sparse_per_row"
    family = "init"
    models = "sparse_ zeros ceil(s*cols) entries per row instead of ceil(s*rows) per column"
    history = "semantic-differences #17: ml-explore/mlx PR #3725/#3752"
    suites = ("test_init.py",)
    select = "sparse"

    def patches(self):
        init = _init()
        return [(init, "sparse_", mutate_source(
            init.sparse_,
            ("for col_idx in range(cols):\n            row_indices = torch.randperm(rows)\n"
             "            zero_indices = row_indices[:num_zeros]\n"
             "            tensor[zero_indices, col_idx] = 0",
             "for row_idx in range(rows):\n            col_indices = torch.randperm(cols)\n"
             "            zero_indices = col_indices[:math.ceil(sparsity * cols)]\n"
             "            tensor[row_idx, zero_indices] = 0")))]


class CalculateGainSelu(Mutant):
    name = "mutant-calculate_gain_selu"
    family = "init"
    models = "calculate_gain('selu') returns 1 instead of 3/4"
    history = "PR #50664 (the empirically found 3/4)"
    suites = ("test_init.py",)
    select = "gain or kaiming"

    def patches(self):
        init = _init()
        return [(init, "calculate_gain", mutate_source(
            init.calculate_gain, ("return (\n            3.0 / 4\n        )",
                                  "return (\n            1.0\n        )")))]


class LinearBiasBoundFanOut(Mutant):
    name = "mutant-linear_default_bias_fan_out"
    family = "init"
    models = "nn.Linear's default bias bound uses 1/sqrt(fan_out) instead of 1/sqrt(fan_in)"
    history = "pytorch/pytorch#57109, #129302 (Linear default init)"
    suites = ("test_default_init.py",)
    select = "Linear"

    def patches(self):
        lin = torch.nn.Linear
        return [(lin, "reset_parameters", mutate_source(
            lin.reset_parameters,
            ("fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)",
             "_, fan_in = init._calculate_fan_in_and_fan_out(self.weight)")))]


# === optimizers ================================================================================

def _kernel(module: str, fn: str, *edits):
    import importlib
    mod = importlib.import_module(f"torch.optim.{module}")
    return [(mod, fn, mutate_source(getattr(mod, fn), *edits))]


class SgdNesterovIgnored(Mutant):
    name = "mutant-sgd_nesterov_ignored"
    family = "optim"
    models = "SGD(nesterov=True) takes the plain momentum step"
    history = "semantic-differences #7: PR #5920, #14465 (Nesterov formulation)"
    suites = ("test_optim.py",)
    select = "SGD"

    def patches(self):
        return _kernel("sgd", "_single_tensor_sgd",
                       ("grad = grad.add(buf, alpha=momentum)", "grad = buf"))


class SgdDampeningFirstStep(Mutant):
    name = "mutant-sgd_dampening_first_step"
    family = "optim"
    models = "SGD applies dampening on the first step (buf = (1 - dampening) * g, torch: buf = g)"
    history = "semantic-differences #7 (first step skips dampening)"
    suites = ("test_optim.py",)
    select = "SGD"

    def patches(self):
        return _kernel("sgd", "_single_tensor_sgd",
                       ("buf = grad.detach().clone()",
                        "buf = grad.detach().clone().mul_(1 - dampening)"))


class SgdMaximizeIgnored(Mutant):
    name = "mutant-sgd_maximize_ignored"
    family = "optim"
    models = "SGD(maximize=True) still descends"
    history = "an option silently dropped"
    suites = ("test_optim.py",)
    select = "SGD"

    def patches(self):
        return _kernel("sgd", "_single_tensor_sgd",
                       ("grad = grads[i] if not maximize else -grads[i]", "grad = grads[i]"))


class AdamNoBiasCorrection(Mutant):
    name = "mutant-adam_no_bias_correction"
    family = "optim"
    models = "Adam without bias correction (m / (sqrt(v) + eps), step size lr)"
    history = "semantic-differences #5: PR #22628, tensorflow#9047"
    suites = ("test_optim.py",)
    select = "Adam"

    def patches(self):
        return _kernel("adam", "_single_tensor_adam",
                       ("bias_correction2_sqrt = bias_correction2**0.5",
                        "bias_correction2_sqrt = 1.0; step_size = lr"))


class AdamEpsInsideSqrt(Mutant):
    name = "mutant-adam_eps_inside_sqrt"
    family = "optim"
    models = "Adam denominator sqrt(v_hat + eps) instead of sqrt(v_hat) + eps"
    history = "semantic-differences #4/#5: pytorch/pytorch#23796, PR #23807"
    suites = ("test_optim.py",)
    select = "Adam"

    def patches(self):
        return _kernel("adam", "_single_tensor_adam",
                       ("denom = (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(eps)",
                        "denom = (exp_avg_sq / bias_correction2 + eps).sqrt()"))


class AdamAmsgradOrder(Mutant):
    name = "mutant-adam_amsgrad_max_after_correction"
    family = "optim"
    models = "AMSGrad takes the max of the bias-corrected v_hat (optax order), not of v"
    history = "semantic-differences #6: google-deepmind/optax#1389, pytorch/pytorch#142323"
    suites = ("test_optim.py",)
    select = "Adam"

    def patches(self):
        return _kernel("adam", "_single_tensor_adam",
                       ("torch.maximum(max_exp_avg_sqs[i], exp_avg_sq, out=max_exp_avg_sqs[i])",
                        "torch.maximum(max_exp_avg_sqs[i], exp_avg_sq / bias_correction2, "
                        "out=max_exp_avg_sqs[i])"),
                       ("denom = (max_exp_avg_sqs[i].sqrt() / bias_correction2_sqrt).add_(eps)",
                        "denom = max_exp_avg_sqs[i].sqrt().add_(eps)"))


class AdamwCoupled(Mutant):
    name = "mutant-adamw_coupled_decay"
    family = "optim"
    models = "AdamW adds weight_decay*p to the gradient (L2, Adam's coupling) instead of decaying p"
    history = "Loshchilov & Hutter's decoupling; Adam(weight_decay) vs AdamW confusion"
    suites = ("test_optim.py",)
    select = "AdamW"

    def patches(self):
        return _kernel("adam", "_single_tensor_adam",
                       ("if decoupled_weight_decay:", "if False:"))


class AdamwDecayWithoutLr(Mutant):
    name = "mutant-adamw_decay_without_lr"
    family = "optim"
    models = "AdamW decays p by (1 - wd) instead of (1 - lr*wd)"
    history = "semantic-differences #8: google-deepmind/optax PR #1291, neural-fortran#152"
    suites = ("test_optim.py",)
    select = "AdamW"

    def patches(self):
        return _kernel("adam", "_single_tensor_adam",
                       ("param.mul_(1 - lr * weight_decay)", "param.mul_(1 - weight_decay)"))


class RmspropCenteredIgnored(Mutant):
    name = "mutant-rmsprop_centered_ignored"
    family = "optim"
    models = "RMSprop(centered=True) runs the uncentered update"
    history = "an option silently dropped"
    suites = ("test_optim.py",)
    select = "RMSprop"

    def patches(self):
        return _kernel("rmsprop", "_single_tensor_rmsprop",
                       ("        if centered:\n            grad_avg = grad_avgs[i]",
                        "        if False:\n            grad_avg = grad_avgs[i]"))


class RmspropEpsInsideSqrt(Mutant):
    name = "mutant-rmsprop_eps_inside_sqrt"
    family = "optim"
    models = "RMSprop divides by sqrt(v + eps) (TF/Keras) instead of sqrt(v) + eps"
    history = "semantic-differences #4: pytorch/pytorch#23796, PR #23807, jax PR #1427"
    suites = ("test_optim.py",)
    select = "RMSprop"

    def patches(self):
        return _kernel("rmsprop", "_single_tensor_rmsprop",
                       ("avg = square_avg.addcmul(grad_avg, grad_avg, value=-1).sqrt_()",
                        "avg = square_avg.addcmul(grad_avg, grad_avg, value=-1).add_(eps)"
                        ".sqrt_().sub_(eps)"),
                       ("avg = square_avg.sqrt()", "avg = square_avg.add(eps).sqrt_().sub_(eps)"))


class AdagradLrDecayIgnored(Mutant):
    name = "mutant-adagrad_lr_decay_ignored"
    family = "optim"
    models = "Adagrad ignores lr_decay"
    history = "an option silently dropped"
    suites = ("test_optim.py",)
    select = "Adagrad"

    def patches(self):
        return _kernel("adagrad", "_single_tensor_adagrad",
                       ("clr = lr / (1 + (step - 1) * lr_decay)", "clr = lr"))


class AdadeltaLrIgnored(Mutant):
    name = "mutant-adadelta_lr_ignored"
    family = "optim"
    models = "Adadelta ignores lr (the paper has none; torch multiplies the update by lr)"
    history = "semantic-differences #26: tensorflow/tensorflow#8528"
    suites = ("test_optim.py",)
    select = "Adadelta"

    def patches(self):
        return _kernel("adadelta", "_single_tensor_adadelta",
                       ("param.add_(delta, alpha=-lr)", "param.add_(delta, alpha=-1.0)"))


class RadamThreshold4(Mutant):
    name = "mutant-radam_threshold_4"
    family = "optim"
    models = "RAdam rectifies when rho_t > 4 (the paper) instead of > 5 (torch, the authors' code)"
    history = "semantic-differences #9: pytorch/pytorch PR #58968"
    suites = ("test_optim.py",)
    select = "RAdam"

    def patches(self):
        return _kernel("radam", "_single_tensor_radam", ("rho_t > 5.0", "rho_t > 4.0"))


class ClipGradNormUnclamped(Mutant):
    name = "mutant-clip_grad_norm_unclamped"
    family = "optim"
    models = "clip_grad_norm_ scales by max_norm/norm even when that is > 1 (inflates small grads)"
    history = "clip coefficient not clamped at 1"
    suites = ("test_optim.py",)
    select = "clip_grad_norm"

    def patches(self):
        import torch.nn.utils.clip_grad as cg
        return [(cg, "_clip_grads_with_norm_", mutate_source(
            cg._clip_grads_with_norm_,
            ("clip_coef_clamped = torch.clamp(clip_coef, max=1.0)",
             "clip_coef_clamped = clip_coef")))]


# === learning-rate schedulers ==================================================================

def _sched():
    return torch.optim.lr_scheduler


class StepLrOneLate(Mutant):
    name = "mutant-steplr_one_epoch_late"
    family = "lr_scheduler"
    models = "StepLR decays one epoch late (at step_size + 1, 2*step_size + 1, ...)"
    history = "epoch-counting off by one (scheduler.step() before/after optimizer.step() change, 1.1)"
    suites = ("test_lr_scheduler.py",)
    select = "StepLR and not MultiStepLR"

    def patches(self):
        s = _sched().StepLR
        return [(s, "get_lr", mutate_source(
            s.get_lr, ("(self.last_epoch == 0) or (self.last_epoch % self.step_size != 0)",
                       "(self.last_epoch <= 1) or ((self.last_epoch - 1) % self.step_size != 0)"))),
                (s, "_get_closed_form_lr", mutate_source(
                    s._get_closed_form_lr, ("self.gamma ** (self.last_epoch // self.step_size)",
                                            "self.gamma ** (max(self.last_epoch - 1, 0) "
                                            "// self.step_size)")))]


class MultiStepDedup(Mutant):
    name = "mutant-multisteplr_dedup_milestones"
    family = "lr_scheduler"
    models = "MultiStepLR treats a repeated milestone once (a set) instead of decaying twice"
    history = "MultiStepLR's milestones are a multiset (collections.Counter) in torch"
    suites = ("test_lr_scheduler.py",)
    select = "MultiStepLR"

    def patches(self):
        orig = _sched().MultiStepLR

        class MultiStepLR(orig):
            def __init__(self, optimizer, milestones, gamma=0.1, last_epoch=-1):
                super().__init__(optimizer, list(dict.fromkeys(milestones)), gamma, last_epoch)
        return [(_sched(), "MultiStepLR", MultiStepLR)]


class OneCyclePhaseOffByOne(Mutant):
    name = "mutant-onecycle_phase_off_by_one"
    family = "lr_scheduler"
    models = "OneCycleLR's phase boundaries at pct_start*total_steps (not ... - 1): peak one late"
    history = "OneCycleLR phase end_step convention (semantic-differences #25)"
    suites = ("test_lr_scheduler.py",)
    select = "OneCycleLR"

    def patches(self):
        orig = _sched().OneCycleLR

        class OneCycleLR(orig):
            def __init__(self, *a, **kw):
                super().__init__(*a, **kw)
                for ph in self._schedule_phases[:-1]:
                    ph["end_step"] += 1
        return [(_sched(), "OneCycleLR", OneCycleLR)]


class OneCycleLinear(Mutant):
    name = "mutant-onecycle_linear_anneal"
    family = "lr_scheduler"
    models = "OneCycleLR anneals linearly whatever anneal_strategy says (default 'cos')"
    history = "fastai/Smith's linear one-cycle vs torch's cosine default (semantic-differences #25)"
    suites = ("test_lr_scheduler.py",)
    select = "OneCycleLR"

    def patches(self):
        orig = _sched().OneCycleLR

        class OneCycleLR(orig):
            def __init__(self, *a, **kw):
                kw["anneal_strategy"] = "linear"
                super().__init__(*a, **kw)
        return [(_sched(), "OneCycleLR", OneCycleLR)]


class PlateauPatienceOffByOne(Mutant):
    name = "mutant-plateau_patience_off_by_one"
    family = "lr_scheduler"
    models = "ReduceLROnPlateau reduces after `patience` bad epochs (>=) instead of patience + 1"
    history = "patience semantics ('number of epochs with no improvement after which ...')"
    suites = ("test_lr_scheduler.py",)
    select = "ReduceLROnPlateau"

    def patches(self):
        s = _sched().ReduceLROnPlateau
        return [(s, "step", mutate_source(
            s.step, ("if self.num_bad_epochs > self.patience:",
                     "if self.num_bad_epochs >= self.patience:")))]


class PlateauThresholdModeIgnored(Mutant):
    name = "mutant-plateau_threshold_mode_ignored"
    family = "lr_scheduler"
    models = "ReduceLROnPlateau always uses threshold_mode='rel' (the default)"
    history = "an option silently dropped"
    suites = ("test_lr_scheduler.py",)
    select = "ReduceLROnPlateau"

    def patches(self):
        orig = _sched().ReduceLROnPlateau

        class ReduceLROnPlateau(orig):
            def __init__(self, *a, **kw):
                kw["threshold_mode"] = "rel"
                super().__init__(*a, **kw)
        return [(_sched(), "ReduceLROnPlateau", ReduceLROnPlateau)]


class CosineEtaMinIgnored(Mutant):
    name = "mutant-cosine_eta_min_ignored"
    family = "lr_scheduler"
    models = "CosineAnnealingLR anneals to 0 whatever eta_min says"
    history = "an option silently dropped (pytorch/pytorch#152081 for the recursive form)"
    suites = ("test_lr_scheduler.py",)
    select = "CosineAnnealingLR"

    def patches(self):
        orig = _sched().CosineAnnealingLR

        class CosineAnnealingLR(orig):
            def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1):
                super().__init__(optimizer, T_max, 0.0, last_epoch)
        return [(_sched(), "CosineAnnealingLR", CosineAnnealingLR)]


class WarmRestartsTmultIgnored(Mutant):
    name = "mutant-warm_restarts_t_mult_ignored"
    family = "lr_scheduler"
    models = "CosineAnnealingWarmRestarts keeps every period T_0 (T_mult ignored)"
    history = "an option silently dropped"
    suites = ("test_lr_scheduler.py",)
    select = "CosineAnnealingWarmRestarts"

    def patches(self):
        orig = _sched().CosineAnnealingWarmRestarts

        class CosineAnnealingWarmRestarts(orig):
            def __init__(self, optimizer, T_0, T_mult=1, eta_min=0.0, last_epoch=-1):
                super().__init__(optimizer, T_0, 1, eta_min, last_epoch)
        return [(_sched(), "CosineAnnealingWarmRestarts", CosineAnnealingWarmRestarts)]


class CyclicTriangular2Halved(Mutant):
    name = "mutant-cyclic_triangular2_off_by_one"
    family = "lr_scheduler"
    models = "CyclicLR 'triangular2' halves the amplitude from the first cycle (1/2^c, not 1/2^(c-1))"
    history = "cycle counted from 0 vs 1"
    suites = ("test_lr_scheduler.py",)
    select = "CyclicLR or cyclic"

    def patches(self):
        return [(_sched().CyclicLR, "_triangular2_scale_fn",
                 staticmethod(lambda x: 1 / (2.0 ** x)))]


# === training scenarios ========================================================================

class ZeroGradNoop(Mutant):
    name = "mutant-zero_grad_noop"
    family = "scenario"
    models = "optimizer.zero_grad() does nothing: gradients accumulate across steps"
    history = "the most common training-loop bug; set_to_none default change (PR #92731)"
    suites = ("test_scenarios.py",)

    def patches(self):
        def zero_grad(self, set_to_none=True):
            return None
        return [(torch.optim.Optimizer, "zero_grad", zero_grad)]


class TrainNotRecursive(Mutant):
    name = "mutant-train_mode_not_recursive"
    family = "scenario"
    models = "Module.train(mode) sets only the container's flag, not its children's"
    history = "eval() not propagating to submodules (custom containers)"
    suites = ("test_scenarios.py",)

    def patches(self):
        def train(self, mode=True):
            self.training = mode
            return self
        return [(torch.nn.Module, "train", train)]


class OptimizerResumeDropsState(Mutant):
    name = "mutant-optimizer_resume_drops_state"
    family = "scenario"
    models = "Optimizer.load_state_dict restores the hyperparameters but drops the state "
    "(momentum buffers, Adam moments, step)"
    history = "checkpoint-resume bugs (optimizer state not restored)"
    suites = ("test_scenarios.py",)

    def patches(self):
        orig = torch.optim.Optimizer.load_state_dict

        def load_state_dict(self, state_dict):
            return orig(self, {**state_dict, "state": {}})
        return [(torch.optim.Optimizer, "load_state_dict", load_state_dict)]


class SchedulerResumeIgnored(Mutant):
    name = "mutant-scheduler_resume_ignored"
    family = "scenario"
    models = "LRScheduler.load_state_dict does nothing: a resumed run restarts the schedule"
    history = "checkpoint-resume bugs (scheduler state not restored)"
    suites = ("test_scenarios.py",)

    def patches(self):
        def load_state_dict(self, state_dict):
            return None
        return [(_sched().LRScheduler, "load_state_dict", load_state_dict)]


# === layers (linear, conv, pooling, embedding, resampling, attention, RNN, padding) ============

class LinearBiasGradMean(Mutant):
    name = "mutant-linear_bias_grad_mean"
    family = "layers"
    models = "Linear's bias gradient averaged over the batch instead of summed"
    history = "a reduction averaging instead of summing"
    suites = ("test_linear.py",)
    select = "nn.Linear- or LazyLinear"

    def patches(self):
        orig = F.linear

        def linear(input, weight, bias=None):
            out = orig(input, weight, None)
            if bias is None:
                return out
            m = max(out.numel() // max(out.shape[-1], 1), 1) if out.dim() > 1 else 1
            return out + _ScaleGrad.apply(bias, 1.0 / m)
        return [(F, "linear", linear)]


class ConvSamePadLeft(Mutant):
    name = "mutant-conv_same_pad_extra_left"
    family = "layers"
    models = "padding='same' with an even kernel puts the extra padding on the left/top"
    history = "semantic-differences #21: PR #45667, tensorflow#7969"
    suites = ("test_conv.py",)
    select = "same"

    def patches(self):
        out = []
        for nd in (1, 2, 3):
            orig = getattr(F, f"conv{nd}d")

            def conv(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1,
                     _orig=orig, _nd=nd):
                if padding != "same":
                    return _orig(input, weight, bias, stride, padding, dilation, groups)
                dil = (dilation,) * _nd if isinstance(dilation, int) else tuple(dilation)
                pads = []
                for d in reversed(range(_nd)):
                    total = dil[d] * (weight.shape[2 + d] - 1)
                    pads += [total - total // 2, total // 2]
                return _orig(F.pad(input, pads), weight, bias, stride, 0, dilation, groups)
            out.append((F, f"conv{nd}d", conv))
        return out


class AvgPoolExcludePad(Mutant):
    name = "mutant-avg_pool_exclude_pad"
    family = "layers"
    models = "AvgPool ignores count_include_pad=True (the default): padding never counted"
    history = "semantic-differences #20: TF/Caffe2 exclude padding (apache/tvm#1144)"
    suites = ("test_pooling.py",)
    select = "nn.AvgPool"

    def patches(self):
        out = []
        for nd in (1, 2, 3):
            orig = getattr(F, f"avg_pool{nd}d")

            def pool(input, kernel_size, stride=None, padding=0, ceil_mode=False,
                     count_include_pad=True, *rest, _orig=orig, **kw):
                return _orig(input, kernel_size, stride, padding, ceil_mode, False, *rest, **kw)
            out.append((F, f"avg_pool{nd}d", pool))
        return out


class MaxPoolCeilIgnored(Mutant):
    name = "mutant-max_pool_ceil_mode_ignored"
    family = "layers"
    models = "MaxPool ignores ceil_mode=True (floor output size)"
    history = "semantic-differences #20: pytorch/pytorch#46929, #57178, onnx PR #5741"
    suites = ("test_pooling.py",)
    select = "nn.MaxPool"

    def patches(self):
        out = []
        for nd in (1, 2, 3):
            orig = getattr(F, f"max_pool{nd}d")

            def pool(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                     return_indices=False, _orig=orig):
                return _orig(input, kernel_size, stride, padding, dilation, ceil_mode=False,
                             return_indices=return_indices)
            out.append((F, f"max_pool{nd}d", pool))
        return out


class EmbeddingPaddingIdxGrad(Mutant):
    name = "mutant-embedding_padding_idx_grad"
    family = "layers"
    models = "Embedding's padding_idx row receives gradient (padding_idx dropped in the backward)"
    history = "padding_idx gradient masking (embedding_backward's padding_idx argument)"
    suites = ("test_embedding.py",)
    select = "nn.Embedding-"

    def patches(self):
        orig = F.embedding

        def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
                      scale_grad_by_freq=False, sparse=False):
            return orig(input, weight, None, max_norm, norm_type, scale_grad_by_freq, sparse)
        return [(F, "embedding", embedding)]


class InterpolateAlignCornersFlipped(Mutant):
    name = "mutant-interpolate_align_corners_flipped"
    family = "layers"
    models = "linear/bilinear/bicubic/trilinear interpolation with align_corners inverted"
    history = "align_corners default changed in torch 0.4.0 (PR #5927); TF1 resize_bilinear"
    suites = ("test_resampling.py",)
    select = "linear or cubic or Bilinear"

    def patches(self):
        orig = F.interpolate

        def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                        recompute_scale_factor=None, antialias=False):
            if mode in ("linear", "bilinear", "bicubic", "trilinear") and not antialias:
                align_corners = not bool(align_corners)
            return orig(input, size, scale_factor, mode, align_corners, recompute_scale_factor,
                        antialias)
        return [(F, "interpolate", interpolate)]


class NearestIsExact(Mutant):
    name = "mutant-nearest_is_nearest_exact"
    family = "layers"
    models = "mode='nearest' samples pixel centres (nearest-exact) instead of torch's floor rule"
    history = "torch's legacy 'nearest' (pytorch/pytorch#34808), 'nearest-exact' added in PR #64501"
    suites = ("test_resampling.py",)
    select = "nearest or Nearest or Upsample"

    def patches(self):
        orig = F.interpolate

        def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                        recompute_scale_factor=None, antialias=False):
            if mode == "nearest":
                mode = "nearest-exact"
            return orig(input, size, scale_factor, mode, align_corners, recompute_scale_factor,
                        antialias)
        return [(F, "interpolate", interpolate)]


class SdpaScaleOverD(Mutant):
    name = "mutant-sdpa_scale_1_over_d"
    family = "layers"
    models = "scaled_dot_product_attention scales scores by 1/d instead of 1/sqrt(d)"
    history = "attention temperature (muP's 1/d vs the standard 1/sqrt(d))"
    suites = ("test_attention.py",)
    select = "scaled_dot_product_attention"

    def patches(self):
        orig = F.scaled_dot_product_attention

        def sdpa(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
                 enable_gqa=False):
            if scale is None:
                scale = 1.0 / query.size(-1)
            return orig(query, key, value, attn_mask=attn_mask, dropout_p=dropout_p,
                        is_causal=is_causal, scale=scale, enable_gqa=enable_gqa)
        return [(F, "scaled_dot_product_attention", sdpa)]


class SdpaCausalBottomRight(Mutant):
    name = "mutant-sdpa_causal_bottom_right"
    family = "layers"
    models = ("is_causal with L != S aligns the causal mask bottom-right (FlashAttention >= 2.1) "
              "instead of torch's top-left")
    history = "Dao-AILab/flash-attention 2.1 changelog; torch.nn.attention.bias.causal_lower_right"
    suites = ("test_attention.py",)
    select = "scaled_dot_product_attention"

    def patches(self):
        orig = F.scaled_dot_product_attention

        def sdpa(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
                 enable_gqa=False):
            L, S = query.size(-2), key.size(-2)
            if is_causal and attn_mask is None and L != S:
                attn_mask = torch.ones(L, S, dtype=torch.bool).tril(diagonal=S - L)
                is_causal = False
            return orig(query, key, value, attn_mask=attn_mask, dropout_p=dropout_p,
                        is_causal=is_causal, scale=scale, enable_gqa=enable_gqa)
        return [(F, "scaled_dot_product_attention", sdpa)]


class LstmCellGateOrder(Mutant):
    name = "mutant-lstm_cell_gate_order"
    family = "layers"
    models = "LSTMCell reads its gates in i, g, f, o order instead of torch's i, f, g, o"
    history = "gate layout differences between frameworks (TF LSTMBlockCell's i, c, f, o)"
    suites = ("test_rnn.py",)
    select = "LSTMCell"

    def patches(self):
        def lstm_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
            gates = F.linear(input, w_ih, b_ih) + F.linear(hx[0], w_hh, b_hh)
            i, g, f, o = gates.chunk(4, -1)
            c = torch.sigmoid(f) * hx[1] + torch.sigmoid(i) * torch.tanh(g)
            return torch.sigmoid(o) * torch.tanh(c), c
        return [(torch._VF, "lstm_cell", lstm_cell)]


class GruCellResetBefore(Mutant):
    name = "mutant-gru_cell_reset_before_matmul"
    family = "layers"
    models = ("GRUCell applies the reset gate before the hidden matmul, W_hn (r*h) + b_hn "
              "(Cho et al., Keras reset_after=False), instead of r*(W_hn h + b_hn)")
    history = "Keras GRU reset_after (default True since TF2 for cuDNN compatibility)"
    suites = ("test_rnn.py",)
    select = "GRUCell"

    def patches(self):
        def gru_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
            ir, iz, inn = F.linear(input, w_ih, b_ih).chunk(3, -1)
            whr, whz, whn = w_hh.chunk(3, 0)
            bhr, bhz, bhn = b_hh.chunk(3, 0) if b_hh is not None else (None, None, None)
            r = torch.sigmoid(ir + F.linear(hx, whr, bhr))
            z = torch.sigmoid(iz + F.linear(hx, whz, bhz))
            n = torch.tanh(inn + F.linear(r * hx, whn, bhn))
            return (1 - z) * n + z * hx
        return [(torch._VF, "gru_cell", gru_cell)]


class PixelShuffleDcr(Mutant):
    name = "mutant-pixel_shuffle_dcr"
    family = "layers"
    models = "PixelShuffle in depth-column-row order (TF depth_to_space, ONNX DCR) not torch's CRD"
    history = "ONNX DepthToSpace mode DCR vs CRD (onnx/onnx PR #1553)"
    suites = ("test_resampling.py",)
    select = "PixelShuffle"

    def patches(self):
        orig = F.pixel_shuffle

        def pixel_shuffle(input, upscale_factor):
            r = upscale_factor
            if input.dim() < 3 or r == 1:
                return orig(input, r)
            *b, c, h, w = input.shape
            x = input.reshape(*b, r, r, c // (r * r), h, w)
            k = len(b)
            x = x.permute(*range(k), k + 2, k + 3, k, k + 4, k + 1)
            return x.reshape(*b, c // (r * r), h * r, w * r)
        return [(F, "pixel_shuffle", pixel_shuffle)]


class PairwiseDistanceEpsOutside(Mutant):
    name = "mutant-pairwise_distance_eps_outside"
    family = "layers"
    models = "PairwiseDistance computes ||x1 - x2|| + eps instead of ||x1 - x2 + eps||"
    history = "semantic-differences #22: pytorch/pytorch#61538, PR #1165"
    suites = ("test_distance.py",)
    select = "PairwiseDistance"

    def patches(self):
        def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
            return torch.linalg.vector_norm(x1 - x2, p, dim=-1, keepdim=keepdim) + eps
        return [(F, "pairwise_distance", pairwise_distance)]


class ReflectPadSymmetric(Mutant):
    name = "mutant-reflect_pad_symmetric"
    family = "layers"
    models = "ReflectionPad repeats the edge (numpy 'symmetric') instead of mirroring past it"
    history = "numpy.pad 'reflect' vs 'symmetric' (tf.pad's REFLECT vs SYMMETRIC)"
    suites = ("test_padding.py",)
    select = "Reflection"

    def patches(self):
        orig = F.pad

        def pad(input, pad, mode="constant", value=None):
            if mode != "reflect":
                return orig(input, pad, mode, value)
            out = input
            for i in range(len(pad) // 2):
                dim = input.dim() - 1 - i
                left, right, n = pad[2 * i], pad[2 * i + 1], input.size(dim)
                if left < 0 or right < 0 or left >= n or right >= n:
                    return orig(input, pad, mode, value)
                idx = np.pad(np.arange(n), (left, right), mode="symmetric")
                out = out.index_select(dim, torch.as_tensor(idx, device=input.device))
            return out
        return [(F, "pad", pad)]


def mutants(include_controls: bool = True) -> dict[str, type[Mutant]]:
    """Every mutant by short name (controls first)."""
    items = sorted(MUTANTS.items(), key=lambda kv: (not kv[1].control, kv[1].family, kv[0]))
    return {k: v for k, v in items if include_controls or not v.control}
