"""Loss modules. Semantics: torch.nn loss docs and torch 2.13 ``torch/nn/modules/loss.py`` and
``torch/nn/modules/adaptive.py``; the formulas live in the ``reference.functional`` docstrings.

Constructor keyword arguments mirror torch (minus the deprecated ``size_average``/``reduce``).
Class-weight tensors (``weight``, ``pos_weight``) are constructor arguments holding ndarrays; torch
registers them as buffers, so ``initial_buffers()`` reports them under the same ``state_dict``
names, but the forward uses the constructor's value. ``forward`` returns a 1-tuple holding the loss
(AdaptiveLogSoftmaxWithLoss: ``(output, loss)``); ``backward`` returns one gradient per positional
input (``None`` for integer targets and lengths) and the parameter gradients.
"""

from __future__ import annotations

import numpy as np

from .. import functional as F
from ..functional import loss_scales as S
from ..functional.loss_classification import _lce_logits
from ..functional.loss_common import _check_reduction, _log_softmax, _log_softmax_backward
from .base import Module, Scales

__all__ = [
    "L1Loss", "MSELoss", "SmoothL1Loss", "HuberLoss", "CrossEntropyLoss", "NLLLoss",
    "PoissonNLLLoss", "GaussianNLLLoss", "KLDivLoss", "BCELoss", "BCEWithLogitsLoss",
    "MarginRankingLoss", "HingeEmbeddingLoss", "MultiLabelMarginLoss", "SoftMarginLoss",
    "MultiLabelSoftMarginLoss", "CosineEmbeddingLoss", "MultiMarginLoss", "TripletMarginLoss",
    "TripletMarginWithDistanceLoss", "CTCLoss", "LinearCrossEntropyLoss",
    "AdaptiveLogSoftmaxWithLoss",
]


class _Loss(Module):
    """A parameter-free loss: ``fn(*inputs, **kw)`` and ``fn_backward(g, *inputs, **kw)``."""

    fn = None
    buffer_names: tuple[str, ...] = ()

    def __init__(self, **kwargs):
        self.kwargs = kwargs

    def initial_buffers(self):
        return {k: np.array(self.kwargs[k]) for k in self.buffer_names
                if self.kwargs.get(k) is not None}

    def forward(self, params, buffers, inputs, training):
        return (type(self).fn(*inputs, **self.kwargs),), dict(buffers), inputs

    def backward(self, ctx, grad_outputs):
        bwd = getattr(F, type(self).fn.__name__ + "_backward")
        return tuple(bwd(grad_outputs[0], *ctx, **self.kwargs)), {}

    def error_scales(self, ctx, grad_outputs):
        """``functional.loss_scales.<fn>_scales`` where the loss or a gradient cancels; purely
        relative otherwise."""
        fn = getattr(S, type(self).fn.__name__ + "_scales", None)
        if fn is None:
            return None
        out, grads = fn(grad_outputs[0], *ctx, **self.kwargs)
        return Scales(outputs=(out,), input_grads=tuple(grads) + (None,) * (len(ctx) - len(grads)))


class L1Loss(_Loss):
    """Mean absolute error; see ``functional.l1_loss`` (torch.nn.L1Loss)."""
    fn = staticmethod(F.l1_loss)

    def __init__(self, reduction="mean"):
        _check_reduction(reduction)
        super().__init__(reduction=reduction)


class MSELoss(_Loss):
    """Mean squared error; see ``functional.mse_loss`` (torch.nn.MSELoss)."""
    fn = staticmethod(F.mse_loss)

    def __init__(self, reduction="mean"):
        _check_reduction(reduction)
        super().__init__(reduction=reduction)


class SmoothL1Loss(_Loss):
    """See ``functional.smooth_l1_loss`` (torch.nn.SmoothL1Loss)."""
    fn = staticmethod(F.smooth_l1_loss)

    def __init__(self, reduction="mean", beta=1.0):
        _check_reduction(reduction)
        super().__init__(reduction=reduction, beta=beta)


class HuberLoss(_Loss):
    """See ``functional.huber_loss`` (torch.nn.HuberLoss)."""
    fn = staticmethod(F.huber_loss)

    def __init__(self, reduction="mean", delta=1.0):
        _check_reduction(reduction)
        super().__init__(reduction=reduction, delta=delta)


class CrossEntropyLoss(_Loss):
    """See ``functional.cross_entropy`` (torch.nn.CrossEntropyLoss); ``weight`` is a buffer."""
    fn = staticmethod(F.cross_entropy)
    buffer_names = ("weight",)

    def __init__(self, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
        _check_reduction(reduction)
        super().__init__(weight=weight, ignore_index=ignore_index, reduction=reduction,
                         label_smoothing=label_smoothing)


class NLLLoss(_Loss):
    """See ``functional.nll_loss`` (torch.nn.NLLLoss); ``weight`` is a buffer."""
    fn = staticmethod(F.nll_loss)
    buffer_names = ("weight",)

    def __init__(self, weight=None, ignore_index=-100, reduction="mean"):
        _check_reduction(reduction)
        super().__init__(weight=weight, ignore_index=ignore_index, reduction=reduction)


class PoissonNLLLoss(_Loss):
    """See ``functional.poisson_nll_loss`` (torch.nn.PoissonNLLLoss)."""
    fn = staticmethod(F.poisson_nll_loss)

    def __init__(self, log_input=True, full=False, eps=1e-8, reduction="mean"):
        _check_reduction(reduction)
        super().__init__(log_input=log_input, full=full, eps=eps, reduction=reduction)


class GaussianNLLLoss(_Loss):
    """See ``functional.gaussian_nll_loss`` (torch.nn.GaussianNLLLoss); inputs (x, target, var)."""
    fn = staticmethod(F.gaussian_nll_loss)

    def __init__(self, *, full=False, eps=1e-6, reduction="mean"):
        super().__init__(full=full, eps=eps, reduction=reduction)


class KLDivLoss(_Loss):
    """See ``functional.kl_div`` (torch.nn.KLDivLoss); reduction may also be 'batchmean'."""
    fn = staticmethod(F.kl_div)

    def __init__(self, reduction="mean", log_target=False):
        super().__init__(reduction=reduction, log_target=log_target)


class BCELoss(_Loss):
    """See ``functional.binary_cross_entropy`` (torch.nn.BCELoss); ``weight`` is a buffer."""
    fn = staticmethod(F.binary_cross_entropy)
    buffer_names = ("weight",)

    def __init__(self, weight=None, reduction="mean"):
        _check_reduction(reduction)
        super().__init__(weight=weight, reduction=reduction)


class BCEWithLogitsLoss(_Loss):
    """See ``functional.binary_cross_entropy_with_logits`` (torch.nn.BCEWithLogitsLoss);
    ``weight`` and ``pos_weight`` are buffers."""
    fn = staticmethod(F.binary_cross_entropy_with_logits)
    buffer_names = ("weight", "pos_weight")

    def __init__(self, weight=None, reduction="mean", pos_weight=None):
        _check_reduction(reduction)
        super().__init__(weight=weight, reduction=reduction, pos_weight=pos_weight)


class MarginRankingLoss(_Loss):
    """See ``functional.margin_ranking_loss``; inputs (input1, input2, target)."""
    fn = staticmethod(F.margin_ranking_loss)

    def __init__(self, margin=0.0, reduction="mean"):
        _check_reduction(reduction)
        super().__init__(margin=margin, reduction=reduction)


class HingeEmbeddingLoss(_Loss):
    """See ``functional.hinge_embedding_loss`` (torch.nn.HingeEmbeddingLoss)."""
    fn = staticmethod(F.hinge_embedding_loss)

    def __init__(self, margin=1.0, reduction="mean"):
        _check_reduction(reduction)
        super().__init__(margin=margin, reduction=reduction)


class MultiLabelMarginLoss(_Loss):
    """See ``functional.multilabel_margin_loss`` (torch.nn.MultiLabelMarginLoss)."""
    fn = staticmethod(F.multilabel_margin_loss)

    def __init__(self, reduction="mean"):
        _check_reduction(reduction)
        super().__init__(reduction=reduction)


class SoftMarginLoss(_Loss):
    """See ``functional.soft_margin_loss`` (torch.nn.SoftMarginLoss)."""
    fn = staticmethod(F.soft_margin_loss)

    def __init__(self, reduction="mean"):
        _check_reduction(reduction)
        super().__init__(reduction=reduction)


class MultiLabelSoftMarginLoss(_Loss):
    """See ``functional.multilabel_soft_margin_loss``; ``weight`` is a buffer."""
    fn = staticmethod(F.multilabel_soft_margin_loss)
    buffer_names = ("weight",)

    def __init__(self, weight=None, reduction="mean"):
        super().__init__(weight=weight, reduction=reduction)


class CosineEmbeddingLoss(_Loss):
    """See ``functional.cosine_embedding_loss``; inputs (input1, input2, target)."""
    fn = staticmethod(F.cosine_embedding_loss)

    def __init__(self, margin=0.0, reduction="mean"):
        _check_reduction(reduction)
        super().__init__(margin=margin, reduction=reduction)


class MultiMarginLoss(_Loss):
    """See ``functional.multi_margin_loss`` (torch.nn.MultiMarginLoss); ``weight`` is a buffer."""
    fn = staticmethod(F.multi_margin_loss)
    buffer_names = ("weight",)

    def __init__(self, p=1, margin=1.0, weight=None, reduction="mean"):
        if p not in (1, 2):
            raise ValueError("only p == 1 and p == 2 supported")
        if weight is not None and np.ndim(weight) != 1:
            raise ValueError("MultiMarginLoss: expected weight to be None or 1D tensor, got "
                             f"{np.ndim(weight)}D instead")
        _check_reduction(reduction)
        super().__init__(p=p, margin=margin, weight=weight, reduction=reduction)


class TripletMarginLoss(_Loss):
    """See ``functional.triplet_margin_loss``; inputs (anchor, positive, negative)."""
    fn = staticmethod(F.triplet_margin_loss)

    def __init__(self, margin=1.0, p=2.0, eps=1e-6, swap=False, reduction="mean"):
        if margin <= 0:
            raise ValueError(f"TripletMarginLoss: expected margin to be greater than 0, got "
                             f"{margin} instead")
        _check_reduction(reduction)
        super().__init__(margin=margin, p=p, eps=eps, swap=swap, reduction=reduction)


class TripletMarginWithDistanceLoss(Module):
    """See ``functional.triplet_margin_with_distance_loss``; inputs (anchor, positive, negative).

    ``distance_function``: None (pairwise distance, p = 2, eps = 1e-6) or a NumPy callable
    ``D(x1, x2) -> distances`` over the last dimension. Its VJP is ``distance_function_backward``
    (a reference-only keyword) or, failing that, a ``backward`` attribute of the callable, with
    signature ``backward(grad_distances, x1, x2) -> (grad_x1, grad_x2)``.
    """

    def __init__(self, *, distance_function=None, margin=1.0, swap=False, reduction="mean",
                 distance_function_backward=None):
        if margin <= 0:
            raise ValueError(f"TripletMarginWithDistanceLoss: expected margin to be greater than "
                             f"0, got {margin} instead")
        _check_reduction(reduction)
        self.kwargs = dict(distance_function=distance_function, margin=margin, swap=swap,
                           reduction=reduction)
        self.distance_function_backward = distance_function_backward

    def forward(self, params, buffers, inputs, training):
        return (F.triplet_margin_with_distance_loss(*inputs, **self.kwargs),), dict(buffers), inputs

    def backward(self, ctx, grad_outputs):
        return F.triplet_margin_with_distance_loss_backward(
            grad_outputs[0], *ctx, distance_function_backward=self.distance_function_backward,
            **self.kwargs), {}

    def error_scales(self, ctx, grad_outputs):
        out, grads = S.triplet_margin_with_distance_loss_scales(
            grad_outputs[0], *ctx, distance_function_backward=self.distance_function_backward,
            **self.kwargs)
        return Scales(outputs=(out,), input_grads=grads)


class CTCLoss(_Loss):
    """See ``functional.ctc_loss``; inputs (log_probs, targets, input_lengths, target_lengths).

    ``backward`` gives the exact gradient with respect to log_probs; torch's native values differ
    by exp(log_probs) g_n per sample (see ``functional.ctc_loss_backward`` and
    ``ctc_loss_backward_torch``).
    """
    fn = staticmethod(F.ctc_loss)

    def __init__(self, blank=0, reduction="mean", zero_infinity=False):
        _check_reduction(reduction)
        super().__init__(blank=blank, reduction=reduction, zero_infinity=zero_infinity)


class LinearCrossEntropyLoss(Module):
    """cross_entropy(linear(input), target): see ``functional.linear_cross_entropy``.

    Parameters ``linear.weight`` (C * prod(out_features), in_features) and ``linear.bias``
    (C * prod(out_features),) if ``bias``; torch reshapes them to (C, *out_features, in_features)
    and (C, *out_features) in forward (torch 2.13 nn/modules/loss.py). ``weight`` (C,) is a buffer.
    The chunking ``options`` of torch change memory use, not the function, and are not modelled.
    """

    def __init__(self, in_features, num_classes, *, out_features=(), bias=False,
                 reduction="mean", weight=None, ignore_index=None, label_smoothing=0.0):
        if weight is not None and np.shape(weight) != (num_classes,):
            raise RuntimeError(f"expected weight shape to be {(num_classes,)}, got "
                               f"{tuple(np.shape(weight))}")
        if label_smoothing < 0 or label_smoothing > 1.0:
            raise RuntimeError("expected label_smoothing to be in range [0, 1], got "
                               f"{label_smoothing}")
        _check_reduction(reduction)
        self.in_features, self.num_classes = in_features, num_classes
        self.out_features, self.bias = tuple(out_features), bias
        self.kwargs = dict(weight=weight, reduction=reduction, ignore_index=ignore_index,
                           label_smoothing=label_smoothing)

    def parameter_shapes(self):
        rows = int(np.prod(self.out_features, dtype=np.int64)) * self.num_classes
        shapes = {"linear.weight": (rows, self.in_features)}
        if self.bias:
            shapes["linear.bias"] = (rows,)
        return shapes

    def initial_buffers(self):
        w = self.kwargs["weight"]
        return {} if w is None else {"weight": np.array(w)}

    def _wb(self, params):
        W = params["linear.weight"].reshape((self.num_classes, *self.out_features,
                                             self.in_features))
        b = params.get("linear.bias")
        return W, (None if b is None else b.reshape((self.num_classes, *self.out_features)))

    def forward(self, params, buffers, inputs, training):
        x, target = inputs
        W, b = self._wb(params)
        loss = F.linear_cross_entropy(x, W, target, linear_bias=b, **self.kwargs)
        return (loss,), dict(buffers), (params, x, target)

    def backward(self, ctx, grad_outputs):
        params, x, target = ctx
        W, b = self._wb(params)
        gx, gW, gt, gb = F.linear_cross_entropy_backward(grad_outputs[0], x, W, target,
                                                         linear_bias=b, **self.kwargs)
        grads = {"linear.weight": gW.reshape(params["linear.weight"].shape)}
        if gb is not None:
            grads["linear.bias"] = gb.reshape(-1)
        return (gx, gt), grads

    def error_scales(self, ctx, grad_outputs):
        """The cross-entropy scales of the logits z = x W^T + b, with the logits' own error
        scale |x| |W|^T + |b| added (``loss_scales.cross_entropy_scales``), carried through the
        products like ``abs_scales``: dx ~ |dz| |W|, dW ~ |dz|^T |x|, db ~ sum |dz|."""
        params, x, target = ctx
        W, b = self._wb(params)
        z, W2 = _lce_logits(x, W, b)
        zs = _lce_logits(np.abs(x), np.abs(W),
                                                None if b is None else np.abs(b))[0]
        kw = dict(self.kwargs)
        kw["ignore_index"] = -100 if kw["ignore_index"] is None else kw["ignore_index"]
        out, (gzs, gys) = S.cross_entropy_scales(grad_outputs[0], z, target, logit_scale=zs, **kw)
        gz2 = gzs.reshape(x.shape[:-1] + (W2.shape[0],))
        ax = np.abs(x)
        gx = gz2 @ np.abs(W2)
        gW = np.outer(gz2, ax) if x.ndim == 1 else gz2.T @ ax
        grads = {"linear.weight": gW.reshape(params["linear.weight"].shape)}
        if b is not None:
            grads["linear.bias"] = (gz2 if x.ndim == 1 else gz2.sum(axis=0)).reshape(-1)
        return Scales(outputs=(out,), input_grads=(gx, gys), param_grads=grads)


class AdaptiveLogSoftmaxWithLoss(Module):
    """Efficient softmax approximation (Grave et al. 2016), torch 2.13 nn/modules/adaptive.py.

    Classes [0, cutoffs[0]) are the head's shortlist; cluster i covers [cutoffs[i], cutoffs[i+1])
    (with n_classes appended). head = Linear(in, shortlist + n_clusters, bias=head_bias);
    tail i = Linear(in, in // div_value^(i+1), no bias) then Linear(that, cluster size, no bias).
    log p(c | x) = log_softmax(head(x))[c] for shortlist c, else
    log_softmax(head(x))[shortlist + i] + log_softmax(tail_i(x))[c - cutoffs[i]].
    forward(input, target) -> (output = log p(target | x) per row, loss = mean(-output)).
    Parameters: head.weight, head.bias (if head_bias), tail.{i}.0.weight, tail.{i}.1.weight.
    """

    def __init__(self, in_features, n_classes, cutoffs, div_value=4.0, head_bias=False):
        cutoffs = list(cutoffs)
        if len(cutoffs) == 0:
            raise ValueError("cutoffs should be a sequence of length larger than 0")
        if (cutoffs != sorted(cutoffs) or min(cutoffs) <= 0 or max(cutoffs) > n_classes - 1
                or len(set(cutoffs)) != len(cutoffs) or any(int(c) != c for c in cutoffs)):
            raise ValueError("cutoffs should be a sequence of unique, positive integers sorted in "
                             "an increasing order, where each value is between 1 and n_classes-1")
        self.in_features, self.n_classes = in_features, n_classes
        self.cutoffs = cutoffs + [n_classes]
        self.div_value, self.head_bias = div_value, head_bias
        self.shortlist_size = self.cutoffs[0]
        self.n_clusters = len(self.cutoffs) - 1
        self.head_size = self.shortlist_size + self.n_clusters

    def parameter_shapes(self):
        shapes = {"head.weight": (self.head_size, self.in_features)}
        if self.head_bias:
            shapes["head.bias"] = (self.head_size,)
        for i in range(self.n_clusters):
            hsz = int(self.in_features // (self.div_value ** (i + 1)))
            osz = self.cutoffs[i + 1] - self.cutoffs[i]
            shapes[f"tail.{i}.0.weight"] = (hsz, self.in_features)
            shapes[f"tail.{i}.1.weight"] = (osz, hsz)
        return shapes

    def _head(self, params, x):
        z = x @ params["head.weight"].T
        return z + params["head.bias"] if self.head_bias else z

    def _tail(self, params, i, x):
        h = x @ params[f"tail.{i}.0.weight"].T
        return h, h @ params[f"tail.{i}.1.weight"].T

    def forward(self, params, buffers, inputs, training):
        input_, target_ = inputs
        if target_.ndim == 1:
            if input_.shape[0] != target_.shape[0]:
                raise RuntimeError("Input and target should have the same size in the batch "
                                   "dimension.")
            if input_.ndim != 2:
                raise RuntimeError("1D target tensor expects 2D input tensors, but found inputs "
                                   f"with size {input_.shape}")
        elif target_.ndim == 0:
            if input_.ndim != 1:
                raise RuntimeError("0D target tensor expects 1D input tensors, but found inputs "
                                   f"with size {input_.shape}")
        else:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        x = input_.reshape(-1, input_.shape[-1])
        t = target_.reshape(-1).astype(np.int64)
        if np.any((t < 0) | (t >= self.n_classes)):
            raise RuntimeError(f"Target values should be in [0, {self.n_classes - 1}], but values "
                               f"in range [{t.min()}, {t.max()}] were found. ")
        head_lp = _log_softmax(self._head(params, x))
        gather = t.copy()
        output = np.zeros(len(t))
        clusters = []
        for i in range(self.n_clusters):
            rows = np.nonzero((t >= self.cutoffs[i]) & (t < self.cutoffs[i + 1]))[0]
            if len(rows) == 0:
                continue
            h, z = self._tail(params, i, x[rows])
            lp = _log_softmax(z)
            rel = t[rows] - self.cutoffs[i]
            output[rows] += lp[np.arange(len(rows)), rel]
            gather[rows] = self.shortlist_size + i
            clusters.append((i, rows, rel, h, lp))
        output += head_lp[np.arange(len(t)), gather]
        loss = np.asarray(np.mean(-output))
        out = output if target_.ndim == 1 else output.reshape(())
        return (out, loss), dict(buffers), (params, x, gather, head_lp, clusters, input_.shape)

    def backward(self, ctx, grad_outputs):
        """d output_n flows into head log_softmax at gather_n and the cluster's log_softmax at the
        relative target; d loss adds -g / B to each row's output cotangent.

        A tail cluster that no target falls in takes no part in the computation: torch leaves its
        parameters' ``.grad`` None (they are not in the autograd graph), and the reference gives
        no gradient for them either (rather than zeros)."""
        params, x, gather, head_lp, clusters, in_shape = ctx
        g_out, g_loss = grad_outputs
        B = x.shape[0]
        go = np.zeros(B) if g_out is None else np.asarray(g_out, dtype=np.float64).reshape(B)
        go = go - (0.0 if g_loss is None else float(g_loss)) / B
        d_head_lp = np.zeros_like(head_lp)
        d_head_lp[np.arange(B), gather] = go
        dz = _log_softmax_backward(d_head_lp, head_lp)
        grads = {"head.weight": dz.T @ x}
        if self.head_bias:
            grads["head.bias"] = dz.sum(axis=0)
        gx = dz @ params["head.weight"]
        for i, rows, rel, h, lp in clusters:
            d_lp = np.zeros_like(lp)
            d_lp[np.arange(len(rows)), rel] = go[rows]
            dzc = _log_softmax_backward(d_lp, lp)
            W1 = params[f"tail.{i}.1.weight"]
            grads[f"tail.{i}.1.weight"] = dzc.T @ h
            dh = dzc @ W1
            grads[f"tail.{i}.0.weight"] = dh.T @ x[rows]
            gx[rows] += dh @ params[f"tail.{i}.0.weight"]
        return (gx.reshape(in_shape), None), grads

    @staticmethod
    def _lsm_scale(lp, zs):
        """Error scale of log_softmax(z) where z has error scale ``zs`` (rows): the terms
        |z - max| + lse + 1 of each log-probability (as ``loss_scales.cross_entropy_scales``:
        the log of a computed sum carries an absolute error of order eps), plus the logits'
        errors, which move log p_c by up to zs_c + sum_j p_j zs_j."""
        p = np.exp(lp)
        z = lp - lp.max(axis=1, keepdims=True)          # = x - max
        lse = -lp.max(axis=1, keepdims=True)            # log sum exp(x - max)
        return p, np.abs(z) + lse + 1 + zs + (p * zs).sum(axis=1, keepdims=True)

    def error_scales(self, ctx, grad_outputs):
        """Scales of the log-softmaxes over the products' absolute values (|x| |W|^T chained
        through the tail's two products), carried through the backward like ``abs_scales``;
        softmax probabilities carry the relative error d of their log."""
        params, x, gather, head_lp, clusters, in_shape = ctx
        g_out, g_loss = grad_outputs
        B = x.shape[0]
        ax = np.abs(x)
        Wh = np.abs(params["head.weight"])
        zs_h = ax @ Wh.T + (np.abs(params["head.bias"]) if self.head_bias else 0.0)
        p_h, d_h = self._lsm_scale(head_lp, zs_h)
        out = d_h[np.arange(B), gather].copy()
        G = (np.zeros(B) if g_out is None else np.abs(np.asarray(g_out, dtype=np.float64))
             .reshape(B)) + (0.0 if g_loss is None else abs(float(g_loss))) / B
        onehot = np.zeros_like(head_lp)
        onehot[np.arange(B), gather] = 1.0
        dzs = G[:, None] * (p_h * d_h + onehot)
        grads = {"head.weight": dzs.T @ ax}
        if self.head_bias:
            grads["head.bias"] = dzs.sum(axis=0)
        gx = dzs @ Wh
        for i, rows, rel, h, lp in clusters:
            W0, W1 = np.abs(params[f"tail.{i}.0.weight"]), np.abs(params[f"tail.{i}.1.weight"])
            hs = ax[rows] @ W0.T
            p_t, d_t = self._lsm_scale(lp, hs @ W1.T)
            out[rows] += d_t[np.arange(len(rows)), rel]
            oh = np.zeros_like(lp)
            oh[np.arange(len(rows)), rel] = 1.0
            dzc = G[rows, None] * (p_t * d_t + oh)
            grads[f"tail.{i}.1.weight"] = dzc.T @ hs
            dh = dzc @ W1
            grads[f"tail.{i}.0.weight"] = dh.T @ ax[rows]
            gx[rows] += dh @ W0
        outs = (out if len(in_shape) == 2 else out.reshape(()), np.asarray(out.mean()))
        return Scales(outputs=outs, input_grads=(gx.reshape(in_shape), None), param_grads=grads)

    def log_prob(self, params, input):
        """Log-probabilities of all n_classes, (N, n_classes) (torch ``log_prob``; the input
        must be a 2-D minibatch, as in torch, whose log_prob indexes dimension 1)."""
        self._check_minibatch(input)
        x = input
        head_lp = _log_softmax(self._head(params, x))
        out = np.empty((x.shape[0], self.n_classes))
        out[:, :self.shortlist_size] = head_lp[:, :self.shortlist_size]
        for i in range(self.n_clusters):
            lp = _log_softmax(self._tail(params, i, x)[1])
            out[:, self.cutoffs[i]:self.cutoffs[i + 1]] = (lp + head_lp[:, self.shortlist_size + i,
                                                                        None])
        return out

    def predict(self, params, input):
        """argmax of ``log_prob`` (torch ``predict``: the head argmax when it is a shortlist class,
        which is then the overall argmax; otherwise the argmax of the full distribution).
        The input must be a 2-D minibatch, as for ``log_prob``."""
        self._check_minibatch(input)
        head = self._head(params, input)
        out = np.argmax(head, axis=1)
        tail = out >= self.shortlist_size
        if np.any(tail):
            out[tail] = np.argmax(self.log_prob(params, input[tail]), axis=1)
        return out

    @staticmethod
    def _check_minibatch(input):
        if np.ndim(input) != 2:
            raise IndexError("Dimension out of range (expected to be in range of [-1, 0], but "
                             "got 1)" if np.ndim(input) == 1 else
                             f"expected a 2-D minibatch input, got {np.ndim(input)}-D")

