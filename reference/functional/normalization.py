"""Normalization. Semantics: the torch.nn docs of BatchNorm1d/2d/3d, InstanceNorm1d/2d/3d,
LayerNorm, GroupNorm, LocalResponseNorm and RMSNorm; torch/nn/functional.py; aten
native_batch_norm / instance_norm; torch/nn/modules/_functions.py (CrossMapLRN2d)."""

from __future__ import annotations

import numpy as np

__all__ = ["batch_norm", "batch_norm_backward", "layer_norm", "layer_norm_backward", "group_norm",
           "group_norm_backward", "instance_norm", "instance_norm_backward",
           "local_response_norm", "local_response_norm_backward", "cross_map_lrn2d",
           "cross_map_lrn2d_backward", "cross_map_lrn2d_backward_as_torch", "rms_norm",
           "rms_norm_backward", "rms_norm_default_eps", "RMS_NORM_DEFAULT_EPS"]


def _reduce_axes(x: np.ndarray) -> tuple[int, ...]:
    return (0,) + tuple(range(2, x.ndim))


def _per_channel(v: np.ndarray, ndim: int) -> np.ndarray:
    return v.reshape((1, -1) + (1,) * (ndim - 2))


def batch_norm(input: np.ndarray, running_mean: np.ndarray | None, running_var: np.ndarray | None,
               weight: np.ndarray | None = None, bias: np.ndarray | None = None,
               training: bool = False, momentum: float = 0.1, eps: float = 1e-5):
    """Batch normalization over every axis but the channel axis 1.

    Training:  mu = mean(x), var = mean((x - mu)^2) (biased), y = (x - mu) / sqrt(var + eps)
               then the running statistics become
               running_mean' = (1 - m) running_mean + m mu
               running_var'  = (1 - m) running_var  + m var * n / (n - 1)   (unbiased)
    Eval:      y = (x - running_mean) / sqrt(running_var + eps)
    Affine:    y * weight + bias.

    Returns ``(y, new_running_mean, new_running_var)`` (the inputs are not mutated; the new
    statistics are ``None`` when none were given). ``momentum`` here is the factor actually used
    (the module turns ``momentum=None`` into 1/num_batches_tracked).
    Raises ValueError, like torch, when training sees one value per channel, and for eps <= 0 in
    training or eps < 0 in eval (torch.nn.functional.batch_norm).
    """
    if training and eps <= 0.0:
        raise ValueError(f"batch_norm eps must be positive during training, but got {eps}")
    if eps < 0.0:
        raise ValueError(f"batch_norm eps must be non-negative, but got {eps}")
    axes = _reduce_axes(input)
    n = input.size // input.shape[1]
    new_mean, new_var = running_mean, running_var
    if training:
        if n <= 1:
            raise ValueError("Expected more than 1 value per channel when training, "
                             f"got input size {tuple(input.shape)}")
        mu = input.mean(axis=axes)
        var = ((input - _per_channel(mu, input.ndim)) ** 2).mean(axis=axes)
        if running_mean is not None:
            new_mean = (1 - momentum) * running_mean + momentum * mu
            new_var = (1 - momentum) * running_var + momentum * var * n / (n - 1)
    else:
        mu, var = running_mean, running_var
    invstd = 1.0 / np.sqrt(var + eps)
    y = (input - _per_channel(mu, input.ndim)) * _per_channel(invstd, input.ndim)
    if weight is not None:
        y = y * _per_channel(weight, input.ndim)
    if bias is not None:
        y = y + _per_channel(bias, input.ndim)
    return y, new_mean, new_var


def batch_norm_backward(grad_output: np.ndarray, input: np.ndarray, mean: np.ndarray,
                        invstd: np.ndarray, weight: np.ndarray | None, uses_batch_stats: bool):
    """VJP of batch_norm w.r.t. (input, weight, bias).

    With x^ = (x - mu) * invstd and g^ = g * weight:
      batch statistics (mu and var depend on x):
        dx = invstd / n * (n g^ - sum(g^) - x^ sum(g^ x^))
      fixed (running) statistics: dx = g^ * invstd
      dweight = sum(g x^), dbias = sum(g)   (sums over every axis but 1).
    ``mean``/``invstd`` are the statistics the forward normalised with.
    """
    axes = _reduce_axes(input)
    nd = input.ndim
    n = input.size // input.shape[1]
    xhat = (input - _per_channel(mean, nd)) * _per_channel(invstd, nd)
    gamma = weight if weight is not None else np.ones(input.shape[1])
    ghat = grad_output * _per_channel(gamma, nd)
    if uses_batch_stats:
        grad_input = _per_channel(invstd / n, nd) * (
            n * ghat - _per_channel(ghat.sum(axis=axes), nd)
            - xhat * _per_channel((ghat * xhat).sum(axis=axes), nd))
    else:
        grad_input = ghat * _per_channel(invstd, nd)
    grad_weight = (grad_output * xhat).sum(axis=axes) if weight is not None else None
    grad_bias = grad_output.sum(axis=axes) if weight is not None else None
    return grad_input, grad_weight, grad_bias


# ---------------------------------------------------------------------------------------------
# Shared pieces of the mean/variance normalizations (layer, group, instance norm).

def _stats(x: np.ndarray, axes: tuple[int, ...]):
    """Mean and biased variance over ``axes`` (kept as size-1 axes, for broadcasting)."""
    mu = x.mean(axis=axes, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=axes, keepdims=True)
    return mu, var


def _normalized_backward(ghat: np.ndarray, xhat: np.ndarray, invstd: np.ndarray,
                         axes: tuple[int, ...]) -> np.ndarray:
    """VJP of xhat = (x - mean_A x) / sqrt(var_A x + eps) over the axes A (n elements each).

    dx = invstd (ghat - mean_A(ghat) - xhat mean_A(ghat xhat)), the ``batch_norm_backward``
    formula with the statistics' axes made explicit.
    """
    return invstd * (ghat - ghat.mean(axis=axes, keepdims=True)
                     - xhat * (ghat * xhat).mean(axis=axes, keepdims=True))


def _as_shape(normalized_shape) -> tuple[int, ...]:
    if isinstance(normalized_shape, (int, np.integer)):
        return (int(normalized_shape),)
    return tuple(int(s) for s in normalized_shape)


def _check_trailing_shape(input: np.ndarray, normalized_shape) -> tuple[int, ...]:
    """torch's check (aten layer_norm / rms_norm): input ends with ``normalized_shape``."""
    ns = _as_shape(normalized_shape)
    if len(ns) == 0:
        raise RuntimeError("Expected normalized_shape to be at least 1-dimensional, i.e., "
                           "containing at least one element, but got normalized_shape = []")
    if input.ndim < len(ns) or tuple(input.shape[input.ndim - len(ns):]) != ns:
        raise RuntimeError(f"Given normalized_shape={list(ns)}, expected input with shape "
                           f"[*, {', '.join(map(str, ns))}], but got input of size"
                           f"{list(input.shape)}")
    return ns


# ---------------------------------------------------------------------------------------------
# layer_norm

def layer_norm(input: np.ndarray, normalized_shape, weight: np.ndarray | None = None,
               bias: np.ndarray | None = None, eps: float = 1e-5) -> np.ndarray:
    """Layer normalization over the trailing ``normalized_shape`` axes (torch.nn.LayerNorm docs).

    y = (x - E[x]) / sqrt(Var[x] + eps) * weight + bias, E and Var (biased) over the last
    D = len(normalized_shape) axes; weight/bias have shape ``normalized_shape`` (elementwise).
    Raises RuntimeError when the input does not end with ``normalized_shape``.
    """
    ns = _check_trailing_shape(input, normalized_shape)
    axes = tuple(range(input.ndim - len(ns), input.ndim))
    mu, var = _stats(input, axes)
    y = (input - mu) / np.sqrt(var + eps)
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y


def layer_norm_backward(grad_output: np.ndarray, input: np.ndarray, normalized_shape,
                        weight: np.ndarray | None = None, bias: np.ndarray | None = None,
                        eps: float = 1e-5):
    """VJP of ``layer_norm`` w.r.t. (input, weight, bias).

    With x^ the normalized input, g^ = g * weight, sums/means over the normalized axes A:
      dx = invstd (g^ - mean_A g^ - x^ mean_A(g^ x^))
      dweight = sum over the leading (batch) axes of g x^, dbias = sum of g.
    ``None`` for the gradient of an absent weight/bias.
    """
    ns = _check_trailing_shape(input, normalized_shape)
    axes = tuple(range(input.ndim - len(ns), input.ndim))
    lead = tuple(range(input.ndim - len(ns)))
    mu, var = _stats(input, axes)
    invstd = 1.0 / np.sqrt(var + eps)
    xhat = (input - mu) * invstd
    ghat = grad_output * weight if weight is not None else grad_output
    grad_input = _normalized_backward(ghat, xhat, invstd, axes)
    grad_weight = (grad_output * xhat).sum(axis=lead) if weight is not None else None
    grad_bias = grad_output.sum(axis=lead) if bias is not None else None
    return grad_input, grad_weight, grad_bias


# ---------------------------------------------------------------------------------------------
# group_norm

def _group_view(input: np.ndarray, num_groups: int, weight: np.ndarray | None):
    """torch's checks (aten group_norm) and the (N, G, C/G * spatial) view of the input."""
    if input.ndim < 2:
        raise RuntimeError(f"Expected at least 2 dimensions for input tensor but received "
                           f"{input.ndim}")
    n, c = input.shape[0], input.shape[1]
    if c % num_groups != 0:
        raise RuntimeError(f"Expected number of channels in input to be divisible by "
                           f"num_groups, but got input of shape {list(input.shape)} and "
                           f"num_groups={num_groups}")
    if weight is not None and weight.shape != (c,):
        raise RuntimeError(f"Expected weight to be a vector of size equal to the number of "
                           f"channels in input, but got weight of shape {list(weight.shape)} "
                           f"and input of shape {list(input.shape)}")
    return input.reshape(n, num_groups, -1)


def group_norm(input: np.ndarray, num_groups: int, weight: np.ndarray | None = None,
               bias: np.ndarray | None = None, eps: float = 1e-5) -> np.ndarray:
    """Group normalization (torch.nn.GroupNorm docs; input (N, C, *)).

    The C channels split into ``num_groups`` consecutive groups; each (sample, group) is
    normalized with its own mean and biased variance over its C/G channels and all spatial
    positions; then the per-channel affine y * weight[c] + bias[c].
    """
    xg = _group_view(input, num_groups, weight)
    mu, var = _stats(xg, (2,))
    y = ((xg - mu) / np.sqrt(var + eps)).reshape(input.shape)
    if weight is not None:
        y = y * _per_channel(weight, input.ndim)
    if bias is not None:
        y = y + _per_channel(bias, input.ndim)
    return y


def group_norm_backward(grad_output: np.ndarray, input: np.ndarray, num_groups: int,
                        weight: np.ndarray | None = None, bias: np.ndarray | None = None,
                        eps: float = 1e-5):
    """VJP of ``group_norm`` w.r.t. (input, weight, bias).

    g^ = g * weight[c]; within each (sample, group), with A its C/G * spatial elements:
      dx = invstd (g^ - mean_A g^ - x^ mean_A(g^ x^));
      dweight[c] = sum_{n, spatial} g x^, dbias[c] = sum_{n, spatial} g.
    """
    xg = _group_view(input, num_groups, weight)
    mu, var = _stats(xg, (2,))
    invstd = 1.0 / np.sqrt(var + eps)
    xhat = (xg - mu) * invstd
    ghat = grad_output * _per_channel(weight, input.ndim) if weight is not None else grad_output
    grad_input = _normalized_backward(ghat.reshape(xg.shape), xhat, invstd, (2,))
    axes = _reduce_axes(input)
    grad_weight = ((grad_output * xhat.reshape(input.shape)).sum(axis=axes)
                   if weight is not None else None)
    grad_bias = grad_output.sum(axis=axes) if bias is not None else None
    return grad_input.reshape(input.shape), grad_weight, grad_bias


# ---------------------------------------------------------------------------------------------
# instance_norm

def _instance_stats(input: np.ndarray, running_mean, running_var, use_input_stats: bool):
    axes = tuple(range(2, input.ndim))
    if use_input_stats:
        return _stats(input, axes)
    shape = (1, -1) + (1,) * (input.ndim - 2)
    return running_mean.reshape(shape), running_var.reshape(shape)


def instance_norm(input: np.ndarray, running_mean: np.ndarray | None = None,
                  running_var: np.ndarray | None = None, weight: np.ndarray | None = None,
                  bias: np.ndarray | None = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5):
    """Instance normalization of a batched (N, C, *) input (torch.nn.InstanceNorm1d docs;
    aten instance_norm, which runs batch_norm on the (1, N*C, *) view).

    use_input_stats: every (n, c) plane is normalized by its own mean and biased variance over
      the spatial axes; given running statistics then become (m = momentum, L = spatial size)
        running_mean' = (1 - m) running_mean + m mean_n(mu[n, c])
        running_var'  = (1 - m) running_var  + m mean_n(var[n, c] * L / (L - 1))
      (aten averages the N per-instance updates of the repeated running statistics).
    otherwise: y = (x - running_mean[c]) / sqrt(running_var[c] + eps).
    Affine: y * weight[c] + bias[c]. Returns ``(y, new_running_mean, new_running_var)``.
    Raises ValueError, like torch.nn.functional.instance_norm, when input statistics are used
    and there is a single spatial element.
    """
    if use_input_stats:
        spatial = int(np.prod(input.shape[2:], dtype=np.int64))
        if spatial == 1:
            raise ValueError("Expected more than 1 spatial element when training, got input "
                             f"size {tuple(input.shape)}")
    mu, var = _instance_stats(input, running_mean, running_var, use_input_stats)
    y = (input - mu) / np.sqrt(var + eps)
    if weight is not None:
        y = y * _per_channel(weight, input.ndim)
    if bias is not None:
        y = y + _per_channel(bias, input.ndim)
    new_mean, new_var = running_mean, running_var
    if use_input_stats and running_mean is not None:
        m = input.size // (input.shape[0] * input.shape[1])
        mu2 = mu.reshape(input.shape[:2])
        var2 = var.reshape(input.shape[:2]) * m / (m - 1)
        new_mean = (1 - momentum) * running_mean + momentum * mu2.mean(axis=0)
        new_var = (1 - momentum) * running_var + momentum * var2.mean(axis=0)
    return y, new_mean, new_var


def instance_norm_backward(grad_output: np.ndarray, input: np.ndarray,
                           running_mean: np.ndarray | None = None,
                           running_var: np.ndarray | None = None,
                           weight: np.ndarray | None = None, bias: np.ndarray | None = None,
                           use_input_stats: bool = True, eps: float = 1e-5):
    """VJP of ``instance_norm``'s output w.r.t. (input, weight, bias).

    Input statistics, A the spatial axes of one (n, c) plane, g^ = g * weight[c]:
      dx = invstd (g^ - mean_A g^ - x^ mean_A(g^ x^))
    running statistics (constants): dx = g^ invstd.
    dweight[c] = sum_{n, spatial} g x^, dbias[c] = sum_{n, spatial} g.
    """
    axes = tuple(range(2, input.ndim))
    mu, var = _instance_stats(input, running_mean, running_var, use_input_stats)
    invstd = 1.0 / np.sqrt(var + eps)
    xhat = (input - mu) * invstd
    ghat = grad_output * _per_channel(weight, input.ndim) if weight is not None else grad_output
    if use_input_stats:
        grad_input = _normalized_backward(ghat, xhat, invstd, axes)
    else:
        grad_input = ghat * invstd
    red = _reduce_axes(input)
    grad_weight = (grad_output * xhat).sum(axis=red) if weight is not None else None
    grad_bias = grad_output.sum(axis=red) if bias is not None else None
    return grad_input, grad_weight, grad_bias


# ---------------------------------------------------------------------------------------------
# local_response_norm and CrossMapLRN2d: a weighted sum of squares over a window of channels.

def _channel_sum(window: np.ndarray, v: np.ndarray) -> np.ndarray:
    """out[:, c, ...] = sum_j window[c, j] v[:, j, ...]."""
    return np.moveaxis(np.tensordot(window, v, axes=([1], [1])), 0, 1)


def _lrn_window(channels: int, size: int) -> np.ndarray:
    """torch.nn.functional.local_response_norm pads the squared input with size // 2 zero
    channels in front and (size - 1) // 2 behind, then average-pools ``size`` channels with
    stride 1: channel c sums channels c - size // 2 .. c + (size - 1) // 2 (clipped)."""
    c = np.arange(channels)
    d = c[None, :] - c[:, None]
    return ((d >= -(size // 2)) & (d <= (size - 1) // 2)).astype(np.float64)


def _lrn_check(input: np.ndarray) -> None:
    if input.ndim < 3:
        raise ValueError(f"Expected 3D or higher dimensionality input (got {input.ndim} "
                         "dimensions)")


def local_response_norm(input: np.ndarray, size: int, alpha: float = 1e-4, beta: float = 0.75,
                        k: float = 1.0) -> np.ndarray:
    """Local response normalization across channels (torch.nn.functional.local_response_norm).

    b_c = a_c / (k + alpha / size * sum_{c' = c - size//2}^{c + (size-1)//2} a_{c'}^2)^beta,
    the window clipped at the channel ends but the divisor always ``size`` (avg_pool of a
    zero-padded input, so for an even size the window reaches one channel further back than
    forward). Input (N, C, *) with at least 3 dimensions (ValueError otherwise, like torch).
    """
    _lrn_check(input)
    if input.size == 0:
        return input.copy()
    d = k + alpha / size * _channel_sum(_lrn_window(input.shape[1], size), input * input)
    return input / d ** beta


def _window_backward(grad_output, input, window, size, alpha, beta, k):
    """VJP of y = x d^-beta with d = k + alpha/size * window @ x^2 over channels:
    dx_c = g_c d_c^-beta - 2 alpha beta / size * x_c * sum_j window[j, c] g_j y_j / d_j."""
    d = k + alpha / size * _channel_sum(window, input * input)
    y = input * d ** -beta
    return (grad_output * d ** -beta
            - 2 * alpha * beta / size * input * _channel_sum(window.T, grad_output * y / d))


def local_response_norm_backward(grad_output: np.ndarray, input: np.ndarray, size: int,
                                 alpha: float = 1e-4, beta: float = 0.75,
                                 k: float = 1.0) -> np.ndarray:
    """VJP of ``local_response_norm``: with d_c = k + alpha/size sum_{c' in W(c)} x_{c'}^2 and
    y = x d^-beta,  dx_c = g_c d_c^-beta - (2 alpha beta / size) x_c sum_{j: c in W(j)}
    g_j y_j / d_j."""
    _lrn_check(input)
    if input.size == 0:
        return grad_output.copy()
    return _window_backward(grad_output, input, _lrn_window(input.shape[1], size), size, alpha,
                            beta, k)


def _cross_map_window(channels: int, size: int) -> np.ndarray:
    """The channel window torch.nn.modules._functions.CrossMapLRN2d.forward sums, found by
    replaying its running-sum loop on indicator rows.

    pre_pad = int((size - 1) / 2 + 1); channel 0 sums channels 0 .. pre_pad - 1; channel c adds
    channel c + pre_pad - 1 (while it exists) and, when c > pre_pad, drops channel c - pre_pad.
    So the window is [c - pre_pad + 1, c + pre_pad - 1] (2 pre_pad - 1 channels: ``size`` for
    odd sizes, size - 1 for even ones), clipped, and channel 0 is never dropped (the loop is a
    1-based Lua port; it drops channels 1, 2, ... only), so for c > pre_pad - 1 channel 0 is
    also in the window.
    """
    pre_pad = int((size - 1) / 2 + 1)
    w = np.zeros((channels, channels))
    w[0, :min(pre_pad, channels)] = 1.0
    for c in range(1, channels):
        w[c] = w[c - 1]
        if c < channels - pre_pad + 1:
            w[c, c + pre_pad - 1] += 1.0
        if c > pre_pad:
            w[c, c - pre_pad] -= 1.0
    return w


def _cross_map_check(input: np.ndarray) -> None:
    if input.ndim != 4:
        raise ValueError(f"CrossMapLRN2d: Expected input to be 4D, got {input.ndim}D instead.")


def cross_map_lrn2d(input: np.ndarray, size: int, alpha: float = 1e-4, beta: float = 0.75,
                    k: float = 1.0) -> np.ndarray:
    """torch.nn.CrossMapLRN2d (torch/nn/modules/_functions.py CrossMapLRN2d.forward), 4-D only.

    y_c = x_c (k + alpha / size * sum_{j in W(c)} x_j^2)^-beta with the window W(c) of
    ``_cross_map_window``. Differences from ``local_response_norm``: the window is centred
    (half-width int((size - 1) / 2)), so an even ``size`` sums size - 1 channels while still
    dividing alpha by ``size``; channel 0 stays in every window from channel pre_pad on; and the
    input must be 4-D (ValueError).
    """
    _cross_map_check(input)
    d = k + alpha / size * _channel_sum(_cross_map_window(input.shape[1], size), input * input)
    return input * d ** -beta


def cross_map_lrn2d_backward(grad_output: np.ndarray, input: np.ndarray, size: int,
                             alpha: float = 1e-4, beta: float = 0.75,
                             k: float = 1.0) -> np.ndarray:
    """The true VJP of ``cross_map_lrn2d`` (checked by finite differences):
    dx_c = g_c d_c^-beta - (2 alpha beta / size) x_c sum_{j: c in W(j)} g_j y_j / d_j.

    torch's hand-written CrossMapLRN2d.backward is NOT this: it sums g_j y_j / d_j over
    j in [c - ipp, c + size - 1 - ipp], ipp = int(size - (size - 1) / 2), a window shifted by
    one channel from the forward's (and it raises for size=1); see
    ``cross_map_lrn2d_backward_as_torch``. Torch therefore disagrees with this reference
    whenever the input has more than a couple of channels.
    """
    _cross_map_check(input)
    return _window_backward(grad_output, input, _cross_map_window(input.shape[1], size), size,
                            alpha, beta, k)


def cross_map_lrn2d_backward_as_torch(grad_output: np.ndarray, input: np.ndarray, size: int,
                                      alpha: float = 1e-4, beta: float = 0.75,
                                      k: float = 1.0) -> np.ndarray:
    """What torch's CrossMapLRN2d.backward computes (not a VJP of the forward; documentation of
    the torch behaviour only): the formula of ``cross_map_lrn2d_backward`` with
    ``window.T`` replaced by B[c, j] = [c - ipp <= j <= c + size - 1 - ipp],
    ipp = int(size - (size - 1) / 2). RuntimeError for size=1, like torch (its padded buffer
    is one channel too short)."""
    _cross_map_check(input)
    ipp = int(size - (size - 1) / 2)
    if ipp > size - 1:
        raise RuntimeError(f"start ({ipp}) + length ({input.shape[1]}) exceeds dimension size "
                           f"({input.shape[1] + size - 1}).")
    c = np.arange(input.shape[1])
    d_ = c[None, :] - c[:, None]
    back = ((d_ >= -ipp) & (d_ <= size - 1 - ipp)).astype(np.float64)
    d = k + alpha / size * _channel_sum(_cross_map_window(input.shape[1], size), input * input)
    y = input * d ** -beta
    return (grad_output * d ** -beta
            - 2 * alpha * beta / size * input * _channel_sum(back, grad_output * y / d))


# ---------------------------------------------------------------------------------------------
# rms_norm

#: torch.finfo(opmath dtype).eps, the epsilon torch.rms_norm uses for ``eps=None`` (the
#: torch.nn.RMSNorm docs: fp16/bf16 compute in fp32, so they use fp32's epsilon).
RMS_NORM_DEFAULT_EPS = {"float64": 2.0 ** -52, "float32": 2.0 ** -23, "float16": 2.0 ** -23,
                        "bfloat16": 2.0 ** -23}


def rms_norm_default_eps(input_dtype: str = "float64") -> float:
    """The epsilon torch uses when ``eps=None``, for an input of dtype ``input_dtype``."""
    try:
        return RMS_NORM_DEFAULT_EPS[input_dtype]
    except KeyError:
        raise ValueError(f"unknown dtype {input_dtype!r}; expected one of "
                         f"{sorted(RMS_NORM_DEFAULT_EPS)}") from None


def rms_norm(input: np.ndarray, normalized_shape, weight: np.ndarray | None = None,
             eps: float | None = None, *, input_dtype: str = "float64") -> np.ndarray:
    """RMS normalization over the trailing ``normalized_shape`` axes (torch.nn.RMSNorm docs).

    y = x / sqrt(mean(x^2) + eps) * weight. ``eps=None`` means torch.finfo(opmath(dtype)).eps
    for the dtype the framework runs in; the reference computes in float64, so that dtype is
    passed explicitly as ``input_dtype`` ('float64', 'float32', 'float16', 'bfloat16').
    """
    ns = _check_trailing_shape(input, normalized_shape)
    e = rms_norm_default_eps(input_dtype) if eps is None else eps
    axes = tuple(range(input.ndim - len(ns), input.ndim))
    y = input / np.sqrt((input * input).mean(axis=axes, keepdims=True) + e)
    return y * weight if weight is not None else y


def rms_norm_backward(grad_output: np.ndarray, input: np.ndarray, normalized_shape,
                      weight: np.ndarray | None = None, eps: float | None = None, *,
                      input_dtype: str = "float64"):
    """VJP of ``rms_norm`` w.r.t. (input, weight).

    r = (mean_A x^2 + eps)^-1/2, x^ = x r, g^ = g * weight:
      dx = r (g^ - x^ mean_A(g^ x^)),  dweight = sum over the leading axes of g x^.
    """
    ns = _check_trailing_shape(input, normalized_shape)
    e = rms_norm_default_eps(input_dtype) if eps is None else eps
    axes = tuple(range(input.ndim - len(ns), input.ndim))
    lead = tuple(range(input.ndim - len(ns)))
    r = 1.0 / np.sqrt((input * input).mean(axis=axes, keepdims=True) + e)
    xhat = input * r
    ghat = grad_output * weight if weight is not None else grad_output
    grad_input = r * (ghat - xhat * (ghat * xhat).mean(axis=axes, keepdims=True))
    grad_weight = (grad_output * xhat).sum(axis=lead) if weight is not None else None
    return grad_input, grad_weight
