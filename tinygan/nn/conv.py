"""Convolutional layers with PyTorch's weight layouts, initialisation and state_dict keys:
Conv2d (weight (out, in, KH, KW)), ConvTranspose2d (weight (in, out, KH, KW)), and two
parameter-free resamplers, Upsample (nearest) and AvgPool2d. The math is in tinygan.conv."""
from __future__ import annotations

from .. import conv as C
from .layers import _check_size, weight_and_bias
from .module import Module


class _ConvNd(Module):
    """Shared by Conv2d and ConvTranspose2d: sizes and parameters. The input's checks are
    tinygan.conv's; the layers add their own name to its errors."""
    _transposed = False

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, bias=True, device=None, dtype=None):
        name = type(self).__name__
        _check_size(name, in_channels=in_channels, out_channels=out_channels)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = C.as_pair(kernel_size, "kernel_size", name, 1)
        self.stride = C.as_pair(stride, "stride", name, 1)
        self.padding = C.as_pair(padding, "padding", name, 0)
        self.output_padding = C.as_pair(output_padding, "output_padding", name, 0)
        kh, kw = self.kernel_size
        shape = (in_channels, out_channels) if self._transposed else (out_channels, in_channels)
        # PyTorch's default: U(+-1/sqrt(fan_in)) with fan_in = weight.shape[1] * KH * KW, which
        # for the transposed layer is out_channels * KH * KW (PyTorch reads axis 1 either way)
        self.weight, self.bias = weight_and_bias((*shape, kh, kw), out_channels,
                                                 shape[1] * kh * kw, bias, device, dtype)


    def extra_repr(self):
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        if self.padding != (0, 0):
            text += f", padding={self.padding}"
        if self.output_padding != (0, 0):
            text += f", output_padding={self.output_padding}"
        return text + ("" if self.bias is not None else ", bias=False")


class Conv2d(_ConvNd):
    """(N, in, H, W) -> (N, out, (H + 2p - KH) // s + 1, (W + 2p - KW) // s + 1), as
    torch.nn.Conv2d (no dilation or groups)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 bias: bool = True, device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, 0, bias,
                         device, dtype)

    def forward(self, x):  # the checks are conv2d's; an error also names the layer
        try:
            return C.conv2d(x, self.weight, self.bias, self.stride, self.padding)
        except ValueError as e:
            raise ValueError(f"{self!r}: {e}") from None


class ConvTranspose2d(_ConvNd):
    """(N, in, H, W) -> (N, out, (H-1)s - 2p + KH + output_padding, ...), as
    torch.nn.ConvTranspose2d: the adjoint of a Conv2d that maps out -> in channels."""
    _transposed = True

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 output_padding=0, bias: bool = True, device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, output_padding,
                         bias, device, dtype)
        if any(op >= s for op, s in zip(self.output_padding, self.stride)):
            raise ValueError(f"ConvTranspose2d: output_padding {self.output_padding} must be "
                             f"smaller than stride {self.stride}")

    def forward(self, x):
        try:
            return C.conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding,
                                      self.output_padding)
        except ValueError as e:
            raise ValueError(f"{self!r}: {e}") from None


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
