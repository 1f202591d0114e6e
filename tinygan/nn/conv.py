"""Convolutional layers with PyTorch's weight layouts, initialisation and state_dict keys:
Conv1d/Conv2d/Conv3d (weight (out, in, *K)), ConvTranspose1d/2d/3d (weight (in, out, *K)),
and two parameter-free resamplers, Upsample (nearest) and AvgPool2d. The math is in
tinygan.conv (one N-dimensional implementation)."""
from __future__ import annotations

import math

from .. import conv as C
from .layers import _check_size, weight_and_bias
from .module import Module


class _ConvNd(Module):
    """Shared by the convolution layers: sizes and parameters, for `_dims` spatial axes. The
    input's checks are tinygan.conv's; the layers add their own name to its errors."""
    _transposed = False
    _dims = 2

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, bias=True, device=None, dtype=None):
        name, d = type(self).__name__, self._dims
        _check_size(name, in_channels=in_channels, out_channels=out_channels)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = C.as_tuple(kernel_size, d, "kernel_size", name, 1)
        self.stride = C.as_tuple(stride, d, "stride", name, 1)
        self.padding = C.as_tuple(padding, d, "padding", name, 0)
        self.output_padding = C.as_tuple(output_padding, d, "output_padding", name, 0)
        if self._transposed and any(op >= s for op, s in zip(self.output_padding, self.stride)):
            raise ValueError(f"{name}: output_padding {self.output_padding} must be smaller "
                             f"than stride {self.stride}")
        shape = (in_channels, out_channels) if self._transposed else (out_channels, in_channels)
        # PyTorch's default: U(+-1/sqrt(fan_in)) with fan_in = weight.shape[1] * prod(K), which
        # for the transposed layer is out_channels * prod(K) (PyTorch reads axis 1 either way)
        self.weight, self.bias = weight_and_bias(
            (*shape, *self.kernel_size), out_channels,
            shape[1] * math.prod(self.kernel_size), bias, device, dtype)

    def forward(self, x):  # the checks are tinygan.conv's; an error also names the layer
        try:
            if self._transposed:
                return C._conv_transpose(self._dims, x, self.weight, self.bias, self.stride,
                                         self.padding, self.output_padding)
            return C._conv(self._dims, x, self.weight, self.bias, self.stride, self.padding)
        except ValueError as e:
            raise ValueError(f"{self!r}: {e}") from None

    def extra_repr(self):
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        if any(self.padding):
            text += f", padding={self.padding}"
        if any(self.output_padding):
            text += f", output_padding={self.output_padding}"
        return text + ("" if self.bias is not None else ", bias=False")


class _Conv(_ConvNd):
    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 bias: bool = True, device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, 0, bias,
                         device, dtype)


class _ConvTranspose(_ConvNd):
    _transposed = True

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 output_padding=0, bias: bool = True, device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, output_padding,
                         bias, device, dtype)


class Conv1d(_Conv):
    """(N, in, L) -> (N, out, (L + 2p - K) // s + 1), as torch.nn.Conv1d (no dilation or
    groups)."""
    _dims = 1


class Conv2d(_Conv):
    """(N, in, H, W) -> (N, out, (H + 2p - KH) // s + 1, (W + 2p - KW) // s + 1), as
    torch.nn.Conv2d (no dilation or groups)."""
    _dims = 2


class Conv3d(_Conv):
    """(N, in, D, H, W) -> (N, out, (D + 2p - KD) // s + 1, ...), as torch.nn.Conv3d (no
    dilation or groups)."""
    _dims = 3


class ConvTranspose1d(_ConvTranspose):
    """(N, in, L) -> (N, out, (L-1)s - 2p + K + output_padding), as torch.nn.ConvTranspose1d:
    the adjoint of a Conv1d that maps out -> in channels."""
    _dims = 1


class ConvTranspose2d(_ConvTranspose):
    """(N, in, H, W) -> (N, out, (H-1)s - 2p + KH + output_padding, ...), as
    torch.nn.ConvTranspose2d: the adjoint of a Conv2d that maps out -> in channels."""
    _dims = 2


class ConvTranspose3d(_ConvTranspose):
    """(N, in, D, H, W) -> (N, out, (D-1)s - 2p + KD + output_padding, ...), as
    torch.nn.ConvTranspose3d: the adjoint of a Conv3d that maps out -> in channels."""
    _dims = 3


class Upsample(Module):
    """Nearest-neighbour upsampling by an integer factor (per axis), as
    torch.nn.Upsample(scale_factor=s, mode='nearest')."""

    def __init__(self, scale_factor=2, mode: str = "nearest"):
        if mode != "nearest":
            raise ValueError(f"Upsample: only mode='nearest' is implemented, got {mode!r}")
        self.scale_factor = C.as_pair(scale_factor, "scale_factor", "Upsample", 1)
        self.mode = mode

    def forward(self, x):
        try:
            return C.interpolate(x, self.scale_factor, self.mode)
        except ValueError as e:
            raise ValueError(f"{self!r}: {e}") from None

    def extra_repr(self):
        return f"scale_factor={self.scale_factor}, mode={self.mode!r}"


class AvgPool2d(Module):
    """Mean over KxK windows, stride = kernel by default, zero padding counted in the mean
    (torch.nn.AvgPool2d's defaults: ceil_mode=False, count_include_pad=True)."""

    def __init__(self, kernel_size, stride=None, padding=0):
        self.kernel_size = C.as_pair(kernel_size, "kernel_size", "AvgPool2d", 1)
        self.stride = self.kernel_size if stride is None else \
            C.as_pair(stride, "stride", "AvgPool2d", 1)
        self.padding = C.as_pair(padding, "padding", "AvgPool2d", 0)
        if any(2 * p > k for p, k in zip(self.padding, self.kernel_size)):
            raise ValueError(f"AvgPool2d: padding {self.padding} must be at most half the kernel"
                             f" {self.kernel_size}")

    def forward(self, x):
        try:
            return C.avg_pool2d(x, self.kernel_size, self.stride, self.padding)
        except ValueError as e:
            raise ValueError(f"{self!r}: {e}") from None

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"
