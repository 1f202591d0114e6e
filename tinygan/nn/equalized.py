"""The layers of progressive growing (Karras, Aila, Laine & Lehtinen 2018, arXiv 1710.10196):

- EqualizedLinear / EqualizedConv2d: weights drawn from N(0, 1) and scaled at every call by
  c = gain / sqrt(fan_in) (He's constant), so Adam's per-weight step sizes act on every layer
  at the same speed (section 4.1). The stored weight has PyTorch's layout and keys; the
  effective weight is c * weight.
- PixelNorm: F.pixel_norm after every convolution of G (section 4.2).
- MinibatchStd: F.minibatch_std, the extra plane of the critic's last block (section 3);
  lesson 3's toy D uses it on (N, d) features.
"""
from __future__ import annotations

import math

from .. import functional as F
from .. import init
from .conv import Conv2d
from .layers import Linear
from .module import Module


class _Equalized:
    """Shared by the two equalized layers: N(0, 1) weights, zero bias, the runtime scale."""

    def _equalize(self, gain: float, fan_in: int):
        if not gain > 0:
            raise ValueError(f"{type(self).__name__}: gain must be > 0, got {gain}")
        self.gain, self.scale = gain, gain / math.sqrt(fan_in)
        init.normal_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)


class EqualizedLinear(_Equalized, Linear):
    """y = x (c W)^T + b, c = gain / sqrt(in_features), W ~ N(0, 1) (PyTorch's (out, in))."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 gain: float = math.sqrt(2), device=None, dtype=None):
        super().__init__(in_features, out_features, bias, device, dtype)
        self._equalize(gain, max(in_features, 1))

    def forward(self, x):
        try:
            return F.linear(x, self.weight * self.scale, self.bias)
        except ValueError as e:
            raise ValueError(f"EqualizedLinear({self.in_features}, {self.out_features}): "
                             f"{e}") from None

    def extra_repr(self):
        return super().extra_repr() + f", gain={self.gain:.3g}"


class EqualizedConv2d(_Equalized, Conv2d):
    """conv2d(x, c W) + b, c = gain / sqrt(in * KH * KW), W ~ N(0, 1) (out, in, KH, KW)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 bias: bool = True, gain: float = math.sqrt(2), device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, bias,
                         device, dtype)
        kh, kw = self.kernel_size
        self._equalize(gain, max(in_channels * kh * kw, 1))

    def forward(self, x):
        try:
            return F.conv2d(x, self.weight * self.scale, self.bias, self.stride, self.padding)
        except ValueError as e:
            raise ValueError(f"{self!r}: {e}") from None

    def extra_repr(self):
        return super().extra_repr() + f", gain={self.gain:.3g}"


class PixelNorm(Module):
    """F.pixel_norm: every pixel's feature vector divided by its root mean square."""

    def __init__(self, eps: float = 1e-8):
        self.eps = eps

    def forward(self, x):
        return F.pixel_norm(x, self.eps)


class MinibatchStd(Module):
    """F.minibatch_std: one more feature (or plane), the batch's mean standard deviation (the
    toy D of lesson 3 and progressive growing's critic). `fixed_std`, when set, replaces the
    batch's own value (to draw D(x) as it judges one batch)."""

    def __init__(self):
        self.fixed_std = None

    def forward(self, x):
        return F.minibatch_std(x, fixed_std=self.fixed_std)
