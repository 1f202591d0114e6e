"""Normalization layers: BatchNorm1d/2d/3d (running statistics as PyTorch keeps them), LayerNorm and
InstanceNorm2d. The math lives in tinygan.functional: compositions of Tensor ops, except batch
norm in training, which is one fused Function (tinygan/fused.py) with a backward of its own;
every layer here is differentiable to any order."""
from __future__ import annotations

import numpy as np

from .. import functional as F
from ..creation import ones, zeros
from .layers import _check_size
from .module import Module, Parameter


def _check_eps(layer, eps):
    if not eps > 0:
        raise ValueError(f"{layer}: eps must be positive (it keeps 1/sqrt(var + eps) finite), "
                         f"got eps={eps}")


class _BatchNorm(Module):
    """Shared by BatchNorm1d, 2d and 3d: normalise each channel (axis 1) over the batch and
    spatial axes. Training uses the batch statistics and updates running_mean and running_var
    (the latter with the unbiased batch variance, as PyTorch); eval uses the running ones.
    momentum=None gives the cumulative average over all batches seen (as PyTorch)."""
    _input_ndims: tuple = ()

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, device=None, dtype=None):
        name = type(self).__name__
        _check_size(name, num_features=num_features)
        _check_eps(name, eps)
        if momentum is not None and not 0 <= momentum <= 1:
            raise ValueError(f"{name}: momentum must lie in [0, 1] (or be None for a cumulative "
                             f"average), got momentum={momentum}")
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        # attribute order gives PyTorch's key order: weight, bias, running_mean, running_var,
        # num_batches_tracked
        self.weight = Parameter(ones(num_features, device=device, dtype=dtype)) if affine else None
        self.bias = Parameter(zeros(num_features, device=device, dtype=dtype)) if affine else None
        if track_running_stats:
            self.running_mean = zeros(num_features, device=device, dtype=dtype)
            self.running_var = ones(num_features, device=device, dtype=dtype)
            self.num_batches_tracked = zeros((), device=device, dtype=np.int64)
        else:
            self.running_mean = self.running_var = self.num_batches_tracked = None

    def reset_running_stats(self):
        if self.track_running_stats:
            self.running_mean.data[...] = 0
            self.running_var.data[...] = 1
            self.num_batches_tracked.data[...] = 0

    def forward(self, x):
        if x.ndim not in self._input_ndims:  # which inputs a layer takes is the layer's own check
            want = " or ".join(f"{n}-D" for n in self._input_ndims)
            raise ValueError(f"{type(self).__name__}({self.num_features}) got input of shape "
                             f"{x.shape}: expected {want} input with {self.num_features} channels "
                             "on axis 1")
        counting = self.training and self.track_running_stats
        factor = self.momentum
        if counting and self.momentum is None:  # cumulative moving average
            factor = 1.0 / (float(self.num_batches_tracked.item()) + 1)
        # without running statistics, eval mode also normalises with the batch's (as PyTorch)
        use_batch_stats = self.training or not self.track_running_stats
        try:  # the checks are the functional layer's; an error also names the layer
            y = F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                             training=use_batch_stats, momentum=factor, eps=self.eps)
        except ValueError as e:
            raise ValueError(f"{type(self).__name__}({self.num_features}): {e}") from None
        if counting:
            self.num_batches_tracked.data += 1
        return y

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch norm for (N, C) or (N, C, L) input (Ioffe & Szegedy 2015)."""
    _input_ndims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch norm for (N, C, H, W) input: statistics per channel over (N, H, W)."""
    _input_ndims = (4,)


class BatchNorm3d(_BatchNorm):
    """Batch norm for (N, C, D, H, W) input (voxels): statistics per channel over (N, D, H, W)."""
    _input_ndims = (5,)


class LayerNorm(Module):
    """Normalise each sample over its trailing `normalized_shape` axes (Ba et al. 2016), with an
    elementwise weight and bias of that shape."""

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True, device=None, dtype=None):
        shape = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) \
            else tuple(normalized_shape)
        _check_size("LayerNorm", **{f"normalized_shape[{i}]": n for i, n in enumerate(shape)})
        if not shape:
            raise ValueError("LayerNorm: normalized_shape must name at least one axis, got ()")
        _check_eps("LayerNorm", eps)
        self.normalized_shape, self.eps = tuple(int(n) for n in shape), eps
        self.elementwise_affine = elementwise_affine
        self.weight = Parameter(ones(shape, device=device, dtype=dtype)) \
            if elementwise_affine else None
        self.bias = Parameter(zeros(shape, device=device, dtype=dtype)) \
            if elementwise_affine and bias else None

    def forward(self, x):
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")


class InstanceNorm2d(Module):
    """Normalise each sample's each channel over (H, W) (Ulyanov et al. 2016); no running
    statistics, so train and eval behave the same. affine=True adds a per-channel weight/bias."""

    def __init__(self, num_features: int, eps: float = 1e-5, affine: bool = False, device=None,
                 dtype=None):
        _check_size("InstanceNorm2d", num_features=num_features)
        _check_eps("InstanceNorm2d", eps)
        self.num_features, self.eps, self.affine = num_features, eps, affine
        self.weight = Parameter(ones(num_features, device=device, dtype=dtype)) if affine else None
        self.bias = Parameter(zeros(num_features, device=device, dtype=dtype)) if affine else None

    def forward(self, x):
        if x.ndim != 4 or x.shape[1] != self.num_features:
            raise ValueError(f"InstanceNorm2d({self.num_features}) got input of shape {x.shape}: "
                             f"expected (N, {self.num_features}, H, W)")
        return F.instance_norm(x, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return f"{self.num_features}, eps={self.eps}, affine={self.affine}"
