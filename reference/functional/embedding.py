"""Embedding lookups. Semantics: torch.nn.functional.embedding / embedding_bag docs and
torch/nn/functional.py, aten/src/ATen/native/Embedding.cpp and EmbeddingBag.cpp.

``max_norm`` renormalises weight rows in place in torch (under no_grad) before the lookup. The
reference is pure: ``embedding_renorm`` returns the renormalised weight (the new state), and
``embedding``/``embedding_bag`` look up in that renormalised weight without returning it. The
backward functions take the weight the lookup actually used (the renormalised one), because
torch does not differentiate through the renormalisation: the gradient is the one of a plain
lookup in the weight as it is after the forward.
"""

from __future__ import annotations

import numpy as np

__all__ = ["embedding", "embedding_backward", "embedding_renorm", "embedding_bag",
           "embedding_bag_backward"]


class EmbeddingIndexError(IndexError, RuntimeError):
    """torch raises IndexError ('index out of range in self'); also a RuntimeError so callers
    following the reference convention (ValueError/RuntimeError) catch it."""


def _check_indices(input: np.ndarray, num: int, msg: str | None = None) -> np.ndarray:
    idx = np.asarray(input)
    if idx.dtype.kind not in "iu":
        raise RuntimeError("Expected tensor for argument #1 'indices' to have one of the "
                           f"following scalar types: Long, Int; but got {idx.dtype} instead")
    if idx.size and (idx.min() < 0 or idx.max() >= num):
        bad = idx[(idx < 0) | (idx >= num)].reshape(-1)[0]
        raise EmbeddingIndexError(msg.format(int(bad)) if msg else "index out of range in self")
    return idx.astype(np.int64)


def _padding(padding_idx: int | None, num: int) -> int | None:
    """torch.nn.functional.embedding: a negative padding_idx counts from the end."""
    if padding_idx is None:
        return None
    if not -num <= padding_idx < num:
        raise AssertionError("Padding_idx must be within num_embeddings")
    return padding_idx + num if padding_idx < 0 else padding_idx


def _norm(rows: np.ndarray, p: float) -> np.ndarray:
    """torch.norm(row, p) per row: p = inf -> max|x|, -inf -> min|x|, 0 -> count of nonzeros."""
    a = np.abs(rows)
    if p == np.inf:
        return a.max(axis=-1)
    if p == -np.inf:
        return a.min(axis=-1)
    if p == 0:
        return (a != 0).sum(axis=-1).astype(np.float64)
    return (a ** p).sum(axis=-1) ** (1.0 / p)


def embedding_renorm(weight: np.ndarray, input: np.ndarray, max_norm: float,
                     norm_type: float = 2.0) -> np.ndarray:
    """The weight after torch's ``embedding_renorm_``: each row looked up (once per distinct
    index, padding_idx included) whose ``norm_type``-norm exceeds ``max_norm`` is scaled by
    ``max_norm / (norm + 1e-7)`` (aten Embedding.cpp, embedding_renorm_cpu_). Returns a copy."""
    idx = _check_indices(input, weight.shape[0])
    w = np.array(weight, dtype=np.float64, copy=True)
    rows = np.unique(idx)
    if rows.size:
        norms = _norm(w[rows], float(norm_type))
        scale = np.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0)
        w[rows] *= scale[:, None]
    return w


def embedding(input: np.ndarray, weight: np.ndarray, padding_idx: int | None = None,
              max_norm: float | None = None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> np.ndarray:
    """y[..., :] = W'[input[...], :] with W' = embedding_renorm(W, input) when max_norm is set,
    else W. padding_idx does not change the forward (only the gradient)."""
    if weight.ndim != 2:
        raise RuntimeError("'weight' must be 2-D")
    _padding(padding_idx, weight.shape[0])
    idx = _check_indices(input, weight.shape[0])
    if max_norm is not None:
        weight = embedding_renorm(weight, idx, max_norm, norm_type)
    return weight[idx]


def _counts(idx: np.ndarray, num: int) -> np.ndarray:
    return np.bincount(idx.reshape(-1), minlength=num).astype(np.float64)


def embedding_backward(grad_output: np.ndarray, input: np.ndarray, weight: np.ndarray,
                       padding_idx: int | None = None, max_norm: float | None = None,
                       norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                       sparse: bool = False):
    """VJP of ``embedding``: (None, dW) with dW[k] = sum_{j: input[j] = k} g[j] / c_k,
    c_k = count of k in input if scale_grad_by_freq else 1; dW[padding_idx] = 0.
    aten derivatives.yaml: embedding -> embedding_backward (embedding_dense_backward)."""
    num, dim = weight.shape
    pad = _padding(padding_idx, num)
    idx = _check_indices(input, num).reshape(-1)
    g = grad_output.reshape(-1, dim)
    if scale_grad_by_freq:
        g = g / _counts(idx, num)[idx][:, None]
    gw = np.zeros((num, dim))
    np.add.at(gw, idx, g)
    if pad is not None:
        gw[pad] = 0.0
    return None, gw


def _bags(input, offsets, include_last_offset, per_sample_weights):
    """Flatten to (indices, per-sample weights or None, [(start, end) per bag])."""
    idx = np.asarray(input)
    psw = None if per_sample_weights is None else np.asarray(per_sample_weights)
    if psw is not None and psw.shape != idx.shape:
        raise ValueError(f"embedding_bag: If per_sample_weights ({psw.shape}) is not None, "
                         f"then it must have the same shape as the input ({idx.shape})")
    if idx.ndim == 2:
        if offsets is not None:
            raise ValueError("if input is 2D, then offsets has to be None, as input is treated "
                             "is a mini-batch of fixed length sequences.")
        b, n = idx.shape
        bounds = [(i * n, (i + 1) * n) for i in range(b)]
        return idx.reshape(-1), None if psw is None else psw.reshape(-1), bounds
    if idx.ndim != 1:
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension "
                         f"{idx.ndim}")
    if offsets is None:
        raise ValueError("offsets has to be a 1D Tensor but got None")
    off = np.asarray(offsets)
    if off.ndim != 1:
        raise ValueError("offsets has to be a 1D Tensor")
    n = idx.shape[0]
    if off.size and off[0] != 0:
        raise RuntimeError("offsets[0] has to be 0, i.e., the first sequence in the mini-batch "
                           f"has to start from position 0. However, got {int(off[0])}")
    if off.size and off[-1] > n:
        raise RuntimeError(f"offsets[-1] can not be greater than input's length {n} but got "
                           f"offsets[-1] of {int(off[-1])}")
    if np.any(np.diff(off) < 0):  # torch does not check; its result is then undefined
        raise ValueError("offsets must be non-decreasing")
    # include_last_offset: CSR offsets, the last bag ends at offsets[-1] (documented contract:
    # offsets[-1] == len(input)). With offsets[-1] < len(input) the trailing indices belong to
    # no bag here; torch CPU is inconsistent across modes there (pytorch/pytorch#191965).
    starts = off[:-1] if include_last_offset else off
    ends = list(off[1:]) if include_last_offset else list(off[1:]) + [n]
    bounds = [(int(s), int(e)) for s, e in zip(starts, ends)]
    return idx, psw, bounds


def _bag_padding(padding_idx: int | None, num: int) -> int | None:
    """aten embedding_bag: -num <= padding_idx < num, negative counts from the end."""
    if padding_idx is None:
        return None
    if not -num <= padding_idx < num:
        raise RuntimeError(f"padding_idx must be within the number of embeddings, {-num} "
                           f"through {num - 1}, but got {padding_idx}")
    return padding_idx + num if padding_idx < 0 else padding_idx


def _bag_setup(input, weight, offsets, max_norm, norm_type, scale_grad_by_freq, mode,
               per_sample_weights, include_last_offset, padding_idx):
    if weight.ndim != 2:
        raise ValueError(f"weight has to be a 2D Tensor, but got Tensor of dimension "
                         f"{weight.ndim}")
    idx, psw, bounds = _bags(input, offsets, include_last_offset, per_sample_weights)
    if mode not in ("sum", "mean", "max"):
        raise ValueError("mode has to be one of sum, mean or max")
    if mode == "max" and scale_grad_by_freq:
        raise ValueError("max mode does not support scaling the gradient by the frequency")
    num = weight.shape[0]
    idx = _check_indices(idx, num, "embedding_bag: Expected idx >= 0 && idx < num_embeddings "
                                   "but found idx to be {}")
    if max_norm is not None:
        weight = embedding_renorm(weight, idx, max_norm, norm_type)
    if psw is not None and mode != "sum":
        raise NotImplementedError(
            "embedding_bag: per_sample_weights was not None. per_sample_weights is only "
            f"supported for mode='sum' (got mode='{mode}'). Please open a feature request on "
            "GitHub.")
    pad = _bag_padding(padding_idx, num)
    # members[b]: positions j in the flattened input that belong to bag b (padding excluded)
    members = [[j for j in range(s, e) if pad is None or idx[j] != pad] for s, e in bounds]
    return idx, psw, weight, members, bounds


def embedding_bag(input: np.ndarray, weight: np.ndarray, offsets: np.ndarray | None = None,
                  max_norm: float | None = None, norm_type: float = 2,
                  scale_grad_by_freq: bool = False, mode: str = "mean", sparse: bool = False,
                  per_sample_weights: np.ndarray | None = None,
                  include_last_offset: bool = False,
                  padding_idx: int | None = None) -> np.ndarray:
    """out[b] = reduce_{j in bag b, input[j] != padding_idx} w_j W'[input[j]].

    Bags: rows of a 2-D input, or input[offsets[b]:offsets[b+1]] of a 1-D input (the last bag
    runs to the end of input). reduce: sum (w_j = per_sample_weights[j] or 1), mean (divides by
    the number of non-padding members), max (elementwise; first maximum wins ties). Empty bags
    (or bags of padding only) give zeros. W' = embedding_renorm(W, input) if max_norm is set.
    """
    idx, psw, w, members, bounds = _bag_setup(input, weight, offsets, max_norm, norm_type,
                                      scale_grad_by_freq, mode, per_sample_weights,
                                      include_last_offset, padding_idx)
    out = np.zeros((len(members), w.shape[1]))
    for b, js in enumerate(members):
        if not js:
            continue
        rows = w[idx[js]]
        if mode == "sum":
            out[b] = (rows * (psw[js][:, None] if psw is not None else 1.0)).sum(axis=0)
        elif mode == "mean":
            out[b] = rows.sum(axis=0) / len(js)
        else:
            out[b] = rows.max(axis=0)
    return out


def embedding_bag_backward(grad_output: np.ndarray, input: np.ndarray, weight: np.ndarray,
                           offsets: np.ndarray | None = None, max_norm: float | None = None,
                           norm_type: float = 2, scale_grad_by_freq: bool = False,
                           mode: str = "mean", sparse: bool = False,
                           per_sample_weights: np.ndarray | None = None,
                           include_last_offset: bool = False, padding_idx: int | None = None):
    """VJP of ``embedding_bag`` for (input, weight, offsets, per_sample_weights):
    (None, dW, None, dpsw).

    ``weight`` is the weight as passed to the forward (the lookup uses its renormalised rows
    when max_norm is set; the renormalisation itself is not differentiated, as in torch).
    sum: dW[input[j]] += w_j g[b]; mean: dW[input[j]] += g[b] / |bag b|; max: dW[argmax] +=
    g[b] per column. With scale_grad_by_freq each contribution to row k is divided by the count
    of k in the whole input. dpsw[j] = <g[b], W'[input[j]]> (0 for padding entries).
    """
    idx, psw, w, members, bounds = _bag_setup(input, weight, offsets, max_norm, norm_type,
                                      scale_grad_by_freq, mode, per_sample_weights,
                                      include_last_offset, padding_idx)
    num, dim = w.shape
    # Frequencies over the indices in bags (the mini-batch). torch CPU divides some rows by
    # another index's count (pytorch/pytorch#190063); this is the documented semantics, which
    # nn.Embedding and the CUDA kernels follow.
    counts = np.ones(num)
    if scale_grad_by_freq:
        counts = np.maximum(_counts(idx[[j for s, e in bounds for j in range(s, e)]], num), 1)
    gw = np.zeros((num, dim))
    gpsw = np.zeros(idx.shape[0]) if psw is not None else None
    for b, js in enumerate(members):
        if not js:
            continue
        g = grad_output[b]
        if mode == "max":
            rows = w[idx[js]]
            arg = rows.argmax(axis=0)  # first maximum, as aten's strict '>' update
            for d in range(dim):
                gw[idx[js[arg[d]]], d] += g[d]
            continue
        for j in js:
            k = idx[j]
            scale = (psw[j] if psw is not None else 1.0) / counts[k]
            gw[k] += g * (scale / len(js) if mode == "mean" else scale)
            if psw is not None:
                gpsw[j] = g @ w[k]
    if gpsw is not None and np.asarray(input).ndim == 2:
        gpsw = gpsw.reshape(np.asarray(input).shape)
    return None, gw, None, gpsw
