"""Activations, losses and normalization composed from the engine's primitives (no backward of
their own), so each is differentiable to any order because its parts are, and stable at
|x| = 1000; `linear` and training-mode `batch_norm` call the fused Functions of fused.py. The
argument checks of the layers live here too (tinygan.nn delegates to them)."""
from __future__ import annotations

import numpy as np

from . import backend, fused
from .creation import generator
from .ops import Maximum, as_tensors, concatenate, where
from .tensor import Tensor, as_tensor
from .tensor import exp, leaky_relu, log, relu, sigmoid, softplus, tanh  # noqa: F401 (re-exported)
from .conv import (avg_pool2d, conv1d, conv2d, conv3d, conv_transpose1d,  # noqa: F401
                   conv_transpose2d, conv_transpose3d, interpolate)  # (re-exported)

__all__ = ["relu", "leaky_relu", "sigmoid", "tanh", "softplus", "log_sigmoid", "logsumexp",
           "log_softmax", "softmax", "bce_with_logits", "cross_entropy", "mse", "embedding"]
__all__ += ["dropout", "batch_norm", "layer_norm", "instance_norm", "pixel_norm",
            "minibatch_std"]
__all__ += ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
            "conv_transpose3d", "avg_pool2d", "interpolate"]
__all__ += ["linear", "stack", "minimum", "clip", "l1_loss", "prelu", "pixel_shuffle"]


# ---------------------------------------------------------------- compositions of the primitives


def stack(tensors, axis=0) -> Tensor:
    """Join along a new axis (every tensor must have the same shape)."""
    tensors = as_tensors(tensors)
    if not tensors:
        raise ValueError("stack needs at least one tensor")
    shapes = {t.shape for t in tensors}
    if len(shapes) != 1:
        raise ValueError(f"stack needs tensors of one shape, got {sorted(shapes)}")
    axis = axis % (tensors[0].ndim + 1)
    return concatenate([t.reshape(t.shape[:axis] + (1,) + t.shape[axis:]) for t in tensors], axis)


def minimum(a, b) -> Tensor:
    """min(a, b) = -max(-a, -b) elementwise; df/da = 1 where a < b, 1/2 at ties"""
    a, b = as_tensors([a, b])
    return -Maximum()(-a, -b)


def clip(x, lo=None, hi=None) -> Tensor:
    """min(max(x, lo), hi) = where(lo <= x <= hi, x, the clipped constant); df/dx = 1 inside
    the bounds (the bounds included, as PyTorch's clamp) and 0 outside"""
    if lo is not None and hi is not None and lo > hi:
        raise ValueError(f"clip: lower bound {lo} is above upper bound {hi}")
    x = as_tensor(x)
    xp = backend.get_array_module(x.data)
    inside = (x.data >= (-xp.inf if lo is None else lo)) & (x.data <= (xp.inf if hi is None else hi))
    return where(inside, x, Tensor(xp.clip(x.data, lo, hi)))


def linear(x, weight, bias=None) -> Tensor:
    """x W^T + b with W of shape (out, in), as torch.nn.functional.linear, for x (..., in):
    one fused Function (tinygan/fused.py) whose dW comes out laid out like W."""
    x = as_tensor(x)
    weight = as_tensor(weight, x)
    if weight.ndim != 2:
        raise ValueError(f"linear: the weight must be 2-D (out, in), got shape {weight.shape}")
    if x.ndim == 0 or x.shape[-1] != weight.shape[1]:
        raise ValueError(f"linear: input of shape {x.shape} does not fit a weight of shape "
                         f"{weight.shape} (out, in): its last axis must be {weight.shape[1]}")
    if x.ndim != 2:  # a single sample (in,) or leading axes (..., in): via (N, in)
        lead = x.shape[:-1]
        return linear(x.reshape(-1, x.shape[-1]), weight, bias).reshape(lead + (-1,))
    if bias is None:
        return fused.Linear()(x, weight)
    return fused.Linear()(x, weight, as_tensor(bias, x))


def log_sigmoid(x) -> Tensor:
    """log sigmoid(x) = -softplus(-x); d/dx = sigmoid(-x) = 1 - sigmoid(x)"""
    return -softplus(-as_tensor(x))


def logsumexp(x, axis=-1, keepdims=False) -> Tensor:
    """log sum exp(x) = m + log sum exp(x - m), m = max(x) held constant (its effect cancels)"""
    x = as_tensor(x)
    m = x.max(axis=axis, keepdims=True).detach()
    out = m + (x - m).exp().sum(axis=axis, keepdims=True).log()
    return out if keepdims else out.sum(axis=axis)  # summing a size-1 axis drops it


def log_softmax(x, axis=-1) -> Tensor:
    """log softmax(x)_i = x_i - logsumexp(x); d/dx = I - softmax(x)"""
    x = as_tensor(x)
    return x - logsumexp(x, axis=axis, keepdims=True)


def softmax(x, axis=-1) -> Tensor:
    """softmax(x)_i = exp(x_i) / sum_j exp(x_j), computed as exp(log_softmax)"""
    return log_softmax(x, axis).exp()


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def bce_with_logits(logits, targets, reduction: str = "mean") -> Tensor:
    """Binary cross-entropy of sigmoid(logits) against targets in [0, 1]:
    softplus(x) - x*y; d/dx = sigmoid(x) - y"""
    logits = as_tensor(logits)
    targets = as_tensor(targets, logits)
    if targets.dtype != logits.dtype:  # float64 NumPy targets must not promote float32 logits
        targets = targets.detach().astype(logits.dtype)
    if targets.shape != logits.shape:
        targets = targets.broadcast_to(logits.shape)
    return _reduce(softplus(logits) - logits * targets, reduction)


def cross_entropy(logits, targets, reduction: str = "mean") -> Tensor:
    """-sum_c t_c log softmax(logits)_c for logits (N, C), as torch.nn.functional.cross_entropy:
    targets are integer classes (N,) (t one-hot: -log softmax(logits)[target]) or class
    probabilities (N, C) (a soft label, e.g. a one-hot row or a mixture);
    d/dlogits = softmax(logits) - t. It takes logits: a softmax before it is the classic bug"""
    logits = as_tensor(logits)
    if logits.ndim != 2:
        raise ValueError(f"cross_entropy takes logits of shape (N, C), got {logits.shape}")
    n, c = logits.shape
    xp = backend.get_array_module(logits.data)
    if isinstance(targets, Tensor) and targets.dtype.kind == "f":
        if targets.shape != (n, c):
            raise ValueError(f"cross_entropy: probability targets must have the logits' shape "
                             f"({n}, {c}), got {targets.shape}")
        weights = targets if targets.dtype == logits.dtype else targets.astype(logits.dtype)
    else:  # integer classes: picked by a one-hot product (no scatter in the backward pass)
        targets = xp.asarray(targets.data if isinstance(targets, Tensor) else targets)
        if targets.shape != (n,) or targets.dtype.kind not in "iu":
            raise ValueError(f"cross_entropy: targets must be {n} integer class indices "
                             f"(shape ({n},)) or a float Tensor of class probabilities "
                             f"({n}, {c}), got shape {targets.shape} and dtype {targets.dtype}")
        if n and (int(targets.min()) < 0 or int(targets.max()) >= c):
            raise ValueError(f"cross_entropy: targets must lie in 0..{c - 1}, got "
                             f"{int(targets.min())}..{int(targets.max())}")
        weights = Tensor(xp.eye(c, dtype=logits.dtype)[targets.astype(np.int64)])
    return _reduce(-(log_softmax(logits, axis=1) * weights).sum(axis=1), reduction)


def embedding(indices, weight) -> Tensor:
    """Rows of weight (num_embeddings, dim) picked by integer indices (any shape) -> (*shape,
    dim), as torch.nn.functional.embedding; d/dweight adds each output's gradient into its row.
    Float indices (..., num_embeddings) are class weights instead: a weighted mix of the rows,
    indices @ weight (a one-hot row gives that row; 0.5 e_3 + 0.5 e_8 the mean of two)"""
    weight = as_tensor(weight)
    if weight.ndim != 2:
        raise ValueError(f"embedding: weight must be (num_embeddings, dim), got {weight.shape}")
    k = weight.shape[0]
    if isinstance(indices, Tensor) and indices.dtype.kind == "f":
        if indices.ndim < 1 or indices.shape[-1] != k:
            raise ValueError(f"embedding: float class weights must end in {k} (one per "
                             f"embedding), got shape {indices.shape}")
        return indices @ weight
    raw = indices.data if isinstance(indices, Tensor) else indices
    xp = backend.get_array_module(weight.data)
    idx = xp.asarray(backend.to_device(np.asarray(raw) if not hasattr(raw, "dtype") else raw,
                                       weight.device))
    if idx.dtype.kind not in "iu":
        raise ValueError(f"embedding: indices must be integers 0..{k - 1} (or a float Tensor "
                         f"of class weights), got dtype {idx.dtype}")
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= k):
        raise ValueError(f"embedding: indices must lie in 0..{k - 1}, got "
                         f"{int(idx.min())}..{int(idx.max())}")
    return weight[idx.astype(np.int64)]


def mse(prediction, target, reduction: str = "mean") -> Tensor:
    """Mean squared error (prediction - target)^2; d/dprediction = 2(prediction - target)/n"""
    prediction = as_tensor(prediction)
    d = prediction - as_tensor(target, prediction)
    return _reduce(d * d, reduction)


def l1_loss(prediction, target, reduction: str = "mean") -> Tensor:
    """Mean absolute error |prediction - target|; d/dprediction = sign(prediction - target)/n
    (pix2pix's and CycleGAN's reconstruction term: less blurring than the squared error)"""
    prediction = as_tensor(prediction)
    return _reduce((prediction - as_tensor(target, prediction)).abs(), reduction)


def prelu(x, weight) -> Tensor:
    """PReLU(x) = max(0, x) + a min(0, x), a learned: one per channel (axis 1) or one for all"""
    x, weight = as_tensor(x), as_tensor(weight)
    if weight.ndim != 1 or (weight.shape[0] != 1 and (x.ndim < 2 or weight.shape[0] != x.shape[1])):
        raise ValueError(f"prelu: weight must have shape (1,) or (C,) with C = the input's axis 1"
                         f", got weight {tuple(weight.shape)} for input {tuple(x.shape)}")
    a = weight if weight.shape[0] == 1 else weight.reshape((1, -1) + (1,) * (x.ndim - 2))
    return relu(x) - a * relu(-x)


def pixel_shuffle(x, upscale_factor: int) -> Tensor:
    """(N, C r^2, H, W) -> (N, C, H r, W r): channel c r^2 + i r + j becomes the pixel at
    offset (i, j) of each r x r block (as torch.nn.functional.pixel_shuffle)"""
    x, r = as_tensor(x), upscale_factor
    if not isinstance(r, (int, np.integer)) or isinstance(r, bool) or r < 1:
        raise ValueError(f"pixel_shuffle: upscale_factor must be an int >= 1, got {r!r}")
    if x.ndim != 4 or x.shape[1] % (r * r):
        raise ValueError(f"pixel_shuffle: input must be (N, C * {r * r}, H, W), got shape "
                         f"{tuple(x.shape)}")
    n, c, h, w = x.shape
    c //= r * r
    return x.reshape(n, c, r, r, h, w).transpose(0, 1, 4, 2, 5, 3).reshape(n, c, h * r, w * r)


# ---------------------------------------------------------------- dropout and normalization


def dropout(x, p: float = 0.5, training: bool = True, rng=None) -> Tensor:
    """Inverted dropout: y = x * keep / (1 - p), keep ~ Bernoulli(1 - p), so E[y] = x;
    dy/dx = keep / (1 - p). The identity when not training. `rng` is a Generator of x's device
    (default: its shared one, seeded by tg.manual_seed)."""
    x = as_tensor(x)
    if not 0 <= p <= 1:
        raise ValueError(f"dropout probability must lie in [0, 1], got p={p}")
    if not training or p == 0:
        return x
    if p == 1:  # every entry dropped; 1/(1-p) would divide by zero
        return x * 0
    g = rng if rng is not None else generator(x.device)
    draw_dtype = x.dtype if x.dtype.name in ("float32", "float64") else "float64"
    mask = (g.random(x.shape, dtype=draw_dtype) >= p).astype(x.dtype)
    mask *= 1 / (1 - p)
    return x * Tensor(mask)


def _normalize(x: Tensor, axes, eps: float):
    """(x - mean) / sqrt(var + eps) over `axes` with the biased variance; also returns the
    batch mean and variance (keepdims) for running statistics."""
    mean = x.mean(axes, keepdims=True)
    d = x - mean
    var = (d * d).mean(axes, keepdims=True)
    return d / (var + eps).sqrt(), mean, var


def _affine(y: Tensor, weight, bias, shape) -> Tensor:
    if weight is not None:
        y = y * as_tensor(weight, y).reshape(shape)
    if bias is not None:
        y = y + as_tensor(bias, y).reshape(shape)
    return y


def batch_norm(x, running_mean=None, running_var=None, weight=None, bias=None,
               training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Per channel (axis 1), over the batch and every axis after 1:
    y = (x - mean) / sqrt(var + eps) * weight + bias.
    Training normalises with the batch's biased variance and, when running buffers (Tensors of
    shape (C,)) are given, updates them in place: r = (1 - momentum) r + momentum * batch stat,
    using the *unbiased* variance for running_var, as PyTorch does. Not training, it uses the
    running statistics."""
    x = as_tensor(x)
    if x.ndim < 2:
        raise ValueError(f"batch_norm needs input of shape (N, C, ...), got shape {x.shape}")
    c = x.shape[1]
    _check_per_channel("batch_norm", x, running_mean=running_mean, running_var=running_var,
                       weight=weight, bias=bias)
    shape = (1, c) + (1,) * (x.ndim - 2)
    if not training:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm with training=False needs running_mean and running_var")
        d = x - as_tensor(running_mean, x).reshape(shape)
        return _affine(d / (as_tensor(running_var, x).reshape(shape) + eps).sqrt(),
                       weight, bias, shape)
    n = x.numel() // max(c, 1)
    if n <= 1:
        raise ValueError(f"batch_norm in training needs more than 1 value per channel, got input"
                         f" of shape {x.shape}; use a batch of 2 or more, or eval mode")
    axes = (0,) + tuple(range(2, x.ndim))
    # one fused Function (tinygan/fused.py) instead of the composition: same values, same
    # derivatives of every order, a fraction of the memory held for backward
    xp = backend.get_array_module(x.data)
    w = as_tensor(weight, x) if weight is not None else Tensor(xp.ones(c, x.dtype))
    b = as_tensor(bias, x) if bias is not None else Tensor(xp.zeros(c, x.dtype))
    fn = fused.BatchNormTrain(axes, eps)
    y = fn(x, w, b)
    if running_mean is not None and running_var is not None:
        # the buffers are state, not part of the graph: update their arrays in place
        running_mean.data *= 1 - momentum
        running_mean.data += momentum * fn.mean.reshape(c)
        running_var.data *= 1 - momentum
        running_var.data += (momentum * n / (n - 1)) * fn.var.reshape(c)
    return y


def _check_per_channel(fn: str, x: Tensor, **tensors) -> None:
    """Per-channel tensors (weight, bias, running statistics) must have shape (C,), C = axis 1."""
    c = x.shape[1]
    for name, t in tensors.items():
        if t is not None and tuple(t.shape) != (c,):
            raise ValueError(f"{fn}: input of shape {x.shape} has {c} channels on axis 1, but "
                             f"{name} has shape {tuple(t.shape)}: one entry per channel, "
                             f"({c},), is needed")


def layer_norm(x, normalized_shape, weight=None, bias=None, eps: float = 1e-5) -> Tensor:
    """Over the trailing axes given by normalized_shape, for each sample:
    y = (x - mean) / sqrt(var + eps) * weight + bias (biased variance, as PyTorch)."""
    x = as_tensor(x)
    normalized_shape = (normalized_shape,) if isinstance(normalized_shape, int) \
        else tuple(normalized_shape)
    k = len(normalized_shape)
    if k == 0 or x.shape[x.ndim - k:] != normalized_shape:
        raise ValueError(f"layer_norm over trailing shape {normalized_shape} got input of shape "
                         f"{x.shape}: its last {k} axes must be {normalized_shape}")
    y, _, _ = _normalize(x, tuple(range(x.ndim - k, x.ndim)), eps)
    return _affine(y, weight, bias, normalized_shape)


def instance_norm(x, weight=None, bias=None, eps: float = 1e-5) -> Tensor:
    """For each sample and channel, over the spatial axes (2, 3, ...):
    y = (x - mean) / sqrt(var + eps) * weight + bias, weight and bias of shape (C,)."""
    x = as_tensor(x)
    if x.ndim < 3:
        raise ValueError(f"instance_norm needs input of shape (N, C, H, ...), got shape {x.shape}")
    _check_per_channel("instance_norm", x, weight=weight, bias=bias)
    y, _, _ = _normalize(x, tuple(range(2, x.ndim)), eps)
    return _affine(y, weight, bias, (1, x.shape[1]) + (1,) * (x.ndim - 2))


def pixel_norm(x, eps: float = 1e-8) -> Tensor:
    """y = x / sqrt(mean over channels of x^2 + eps) at every pixel: each feature vector put
    on the sphere of radius sqrt(C) (Karras et al. 2018, arXiv 1710.10196, section 4.2)."""
    x = as_tensor(x)
    if x.ndim < 2:
        raise ValueError(f"pixel_norm needs input of shape (N, C, ...), got shape {x.shape}")
    if not eps > 0:
        raise ValueError(f"pixel_norm: eps must be > 0 (it keeps 0/0 away), got {eps}")
    return x / ((x * x).mean(axis=1, keepdims=True) + eps).sqrt()


def minibatch_std(x, eps: float = 1e-8, fixed_std: float | None = None) -> Tensor:
    """[x | s] along axis 1, s = mean over the other axes of sqrt(Var over the batch + eps):
    one more column of (N, d), or one more constant plane of (N, C, H, W), so that D sees how
    varied a batch is (Karras et al. 2018, arXiv 1710.10196, section 3). fixed_std replaces the
    batch's own s (to show D one sample as it judged a batch). It mixes the samples of a batch
    (a per-sample penalty sees the others through it, as in the paper's own WGAN-GP training)."""
    x = as_tensor(x)
    if x.ndim < 2:
        raise ValueError(f"minibatch_std needs input of shape (N, d) or (N, C, H, W), got "
                         f"shape {x.shape}")
    if fixed_std is None:
        if x.shape[0] < 2:
            raise ValueError(f"minibatch_std needs a batch of at least 2 samples, got shape "
                             f"{x.shape}: a standard deviation over one sample is 0")
        s = (x.var(axis=0) + eps).sqrt().mean()
    else:
        s = Tensor(backend.get_array_module(x.data).full((), fixed_std, x.dtype))
    shape = (x.shape[0], 1) + tuple(x.shape[2:])
    return concatenate([x, s.reshape((1,) * x.ndim).broadcast_to(shape)], axis=1)
