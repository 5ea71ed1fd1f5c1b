"""Connectionist Temporal Classification loss (Graves et al. 2006), forward-backward in log space.

Semantics: torch.nn.CTCLoss docs and torch 2.13 ``functional.py`` ``ctc_loss``.
"""

from __future__ import annotations

import numpy as np

from .loss_common import _check_reduction

__all__ = ["ctc_loss", "ctc_loss_backward", "ctc_loss_backward_torch"]

NEG_INF = -np.inf


def _lse(*xs):
    m = np.max(xs, axis=0)
    with np.errstate(invalid="ignore"):
        out = m + np.log(np.sum([np.exp(x - m) for x in xs], axis=0))
    return np.where(np.isneginf(m), NEG_INF, out)


def _split(log_probs, targets, input_lengths, target_lengths, blank):
    """Normalise to batched form: (T, N, C) log-probs and a list of (T_b, label list)."""
    batched = log_probs.ndim == 3
    lp = log_probs if batched else log_probs[:, None, :]
    T, N, C = lp.shape
    il = np.atleast_1d(np.asarray(input_lengths)).astype(np.int64)
    tl = np.atleast_1d(np.asarray(target_lengths)).astype(np.int64)
    if not 0 <= blank < C:
        raise RuntimeError("blank must be in label range")
    if il.shape != (N,) or tl.shape != (N,):
        raise RuntimeError(f"input_lengths and target_lengths must have size {N}")
    tg = np.asarray(targets).astype(np.int64)
    if not batched:
        tg = tg[None, :] if tg.ndim == 1 else tg
    concatenated = tg.ndim == 1
    offsets = np.concatenate([[0], np.cumsum(tl)])
    items = []
    for b in range(N):
        if il[b] > T or il[b] < 0:
            raise RuntimeError(f"Expected input_lengths to have value at most {T}, but got value "
                               f"{il[b]}")
        if concatenated:
            if offsets[-1] > tg.shape[0]:
                raise RuntimeError("Expected tensor to have size at least "
                                   f"{offsets[-1]} at dimension 0 for argument #2 'targets'")
            lab = tg[offsets[b]:offsets[b + 1]]
        else:
            if tl[b] > tg.shape[1]:
                raise RuntimeError(f"Expected tensor to have size at least {tl[b]} at dimension 1, "
                                   f"but got size {tg.shape[1]} for argument #2 'targets'")
            lab = tg[b, :tl[b]]
        items.append((int(il[b]), [int(v) for v in lab]))
    return lp, items, batched, tl


def _alpha_beta(lp, T, labels, blank):
    """log alpha and log beta over the extended label l' = (blank, l1, blank, ..., lL, blank).

    Both include the emission at t, so alpha_t(s) + beta_t(s) - lp[t, l'_s] is the log-probability
    of all paths through (t, s).
    """
    ext = [blank]
    for c in labels:
        ext += [c, blank]
    S = len(ext)
    skip = np.array([s >= 2 and ext[s] != blank and ext[s] != ext[s - 2] for s in range(S)])
    e = lp[:T][:, ext]                                    # (T, S) emissions
    a = np.full((T, S), NEG_INF)
    b = np.full((T, S), NEG_INF)
    if T == 0:
        return a, b, ext, (0.0 if not labels else NEG_INF)
    a[0, 0] = e[0, 0]
    if S > 1:
        a[0, 1] = e[0, 1]
    for t in range(1, T):
        prev = a[t - 1]
        s1 = np.concatenate([[NEG_INF], prev])[:S]
        s2 = np.where(skip, np.concatenate([[NEG_INF, NEG_INF], prev])[:S], NEG_INF)
        a[t] = e[t] + _lse(prev, s1, s2)
    b[T - 1, S - 1] = e[T - 1, S - 1]
    if S > 1:
        b[T - 1, S - 2] = e[T - 1, S - 2]
    skip_next = np.concatenate([skip, [False, False]])[2:]   # may s jump to s + 2?
    for t in range(T - 2, -1, -1):
        nxt = b[t + 1]
        n1 = np.concatenate([nxt, [NEG_INF]])[1:]
        n2 = np.where(skip_next, np.concatenate([nxt, [NEG_INF, NEG_INF]])[2:], NEG_INF)
        b[t] = e[t] + _lse(nxt, n1, n2)
    logp = _lse(a[T - 1, S - 1], a[T - 1, S - 2]) if S > 1 else a[T - 1, S - 1]
    return a, b, ext, float(logp)


def _per_sample(log_probs, targets, input_lengths, target_lengths, blank):
    lp, items, batched, tl = _split(log_probs, targets, input_lengths, target_lengths, blank)
    res = [_alpha_beta(lp[:, n], T, labels, blank) for n, (T, labels) in enumerate(items)]
    return lp, items, batched, tl, res


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction="mean",
             zero_infinity=False):
    """loss_n = -log sum_{paths pi collapsing to target_n} prod_t exp(log_probs[t, n, pi_t]).

    Summed over t < input_lengths[n] by the alpha recursion (blank-separated extended labels; a
    label may be skipped to the next one unless both are equal). Impossible alignments give inf;
    ``zero_infinity`` turns them (and their gradients) into 0. Reductions: 'none' (N,), 'sum',
    'mean' = mean_n(loss_n / max(target_length_n, 1)) (issue #19838). Shapes: log_probs (T, N, C)
    or (T, C); targets padded (N, S) or concatenated (sum(target_lengths),).
    """
    _check_reduction(reduction)
    *_, tl, res = _per_sample(log_probs, targets, input_lengths, target_lengths, blank)
    nll = np.array([-r[3] for r in res])
    if zero_infinity:
        nll = np.where(np.isinf(nll), 0.0, nll)
    if reduction == "none":
        return nll if log_probs.ndim == 3 else nll.reshape(())
    if reduction == "sum":
        return np.asarray(nll.sum())
    return np.asarray(np.mean(nll / np.maximum(tl, 1)))


def ctc_loss_backward(grad_output, log_probs, targets, input_lengths, target_lengths, blank=0,
                      reduction="mean", zero_infinity=False):
    """d loss_n / d log_probs[t, n, c] = -sum_{s: l'_s = c} exp(alpha_t(s) + beta_t(s) - lp[t, c]
    + loss_n) for t < input_lengths[n], 0 after; returns (grad_log_probs, None, None, None).

    This is the exact derivative with respect to ``log_probs`` (checked by finite differences).
    Torch's native CTC backward returns something else: this gradient plus exp(lp[t, n, c]) g_n
    (aten/src/ATen/native/LossCTC.cpp ``ctc_loss_backward_cpu_template``: ``res = (exp(lp) -
    exp(res + nll - lp)) * gr``), i.e. the gradient with respect to the logits that log_probs came
    from through log_softmax. The extra term vanishes in the log_softmax backward (softmax rows sum
    to 1), so both agree on d loss / d logits when log_probs = log_softmax(logits).
    ``ctc_loss_backward_torch`` returns torch's raw values.
    """
    return _ctc_backward(grad_output, log_probs, targets, input_lengths, target_lengths, blank,
                         reduction, zero_infinity, False)


def ctc_loss_backward_torch(grad_output, log_probs, targets, input_lengths, target_lengths,
                            blank=0, reduction="mean", zero_infinity=False):
    """torch's native CTC gradient: ``ctc_loss_backward`` plus exp(lp[t, n, c]) g_n for
    t < input_lengths[n] (see ``ctc_loss_backward``)."""
    return _ctc_backward(grad_output, log_probs, targets, input_lengths, target_lengths, blank,
                         reduction, zero_infinity, True)


def _ctc_backward(grad_output, log_probs, targets, input_lengths, target_lengths, blank,
                  reduction, zero_infinity, torch_convention):
    lp, items, batched, tl, res = _per_sample(log_probs, targets, input_lengths, target_lengths,
                                              blank)
    N = len(items)
    if reduction == "none":
        g = np.asarray(grad_output, dtype=np.float64).reshape(N)
    elif reduction == "sum":
        g = np.full(N, float(grad_output))
    else:
        g = float(grad_output) / N / np.maximum(tl, 1)
    grad = np.zeros_like(lp)
    for n, ((T, _), (a, b, ext, logp)) in enumerate(zip(items, res)):
        if np.isinf(logp) and zero_infinity:
            continue
        if T == 0:
            continue
        occ = a + b - lp[:T, n][:, ext] - logp          # log posterior of (t, s)
        post = np.zeros((T, lp.shape[2]))
        for s, c in enumerate(ext):
            post[:, c] += np.exp(occ[:, s])
        grad[:T, n] = -post * g[n]
        if torch_convention:
            grad[:T, n] += np.exp(lp[:T, n]) * g[n]
    return (grad if batched else grad[:, 0]), None, None, None
