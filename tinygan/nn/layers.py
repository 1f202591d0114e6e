"""Basic layers: Linear (weight (out, in), as PyTorch), activations (PReLU learns its slope),
PixelShuffle, Dropout, Flatten and Unflatten."""
from __future__ import annotations

import math

import numpy as np

from .. import functional as F
from .. import init
from ..creation import zeros
from .module import Module, Parameter


def _check_size(layer: str, **sizes):
    """Layer sizes must be non-negative ints (a float or a shape here is a common slip)."""
    for name, n in sizes.items():
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise ValueError(f"{layer}: {name} must be a non-negative int, got {n!r}")


def weight_and_bias(weight_shape, bias_size: int, fan_in: int, bias: bool = True, device=None,
                    dtype=None):
    """(weight, bias) Parameters drawn from PyTorch's default U(+-1/sqrt(fan_in)); bias is None
    when not wanted. Linear and the convolutions share it."""
    weight = Parameter(zeros(*weight_shape, device=device, dtype=dtype))
    init.default_uniform_(weight, fan_in)
    if not bias:
        return weight, None
    b = Parameter(zeros(bias_size, device=device, dtype=dtype))
    init.default_uniform_(b, fan_in)
    return weight, b


class Linear(Module):
    """y = x W^T + b with W of shape (out, in), as torch.nn.Linear."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, device=None,
                 dtype=None):
        _check_size("Linear", in_features=in_features, out_features=out_features)
        self.in_features, self.out_features = in_features, out_features
        self.weight, self.bias = weight_and_bias((out_features, in_features), out_features,
                                                 in_features, bias, device, dtype)

    def forward(self, x):
        try:
            return F.linear(x, self.weight, self.bias)
        except ValueError as e:  # the check is the functional layer's; name the layer too
            raise ValueError(f"Linear({self.in_features}, {self.out_features}): {e}") from None

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class ReLU(Module):
    def forward(self, x): return F.relu(x)


class LeakyReLU(Module):
    def __init__(self, slope: float = 0.01):
        self.slope = slope

    def forward(self, x): return F.leaky_relu(x, self.slope)
    def extra_repr(self): return f"negative_slope={self.slope}"


class PReLU(Module):
    """max(0, x) + a min(0, x) with a learned a, one (num_parameters=1) or one per channel;
    starts at `init` (PyTorch's 0.25); state_dict key "weight", as torch.nn.PReLU."""

    def __init__(self, num_parameters: int = 1, init: float = 0.25, device=None, dtype=None):
        _check_size("PReLU", num_parameters=num_parameters)
        self.weight = Parameter(zeros(num_parameters, device=device, dtype=dtype) + init)

    def forward(self, x): return F.prelu(x, self.weight)
    def extra_repr(self): return f"num_parameters={self.weight.shape[0]}"


class PixelShuffle(Module):
    """F.pixel_shuffle: (N, C r^2, H, W) -> (N, C, H r, W r), as torch.nn.PixelShuffle."""

    def __init__(self, upscale_factor: int):
        self.upscale_factor = upscale_factor

    def forward(self, x): return F.pixel_shuffle(x, self.upscale_factor)
    def extra_repr(self): return f"upscale_factor={self.upscale_factor}"


class Tanh(Module):
    def forward(self, x): return F.tanh(x)


class Sigmoid(Module):
    def forward(self, x): return F.sigmoid(x)


class Dropout(Module):
    """Inverted dropout (zero with probability p, scale the rest by 1/(1-p)) while training;
    the identity in eval mode. Masks come from the device's shared generator."""

    def __init__(self, p: float = 0.5):
        if not 0 <= p <= 1:
            raise ValueError(f"Dropout probability must lie in [0, 1], got p={p}")
        self.p = p

    def forward(self, x): return F.dropout(x, self.p, self.training)
    def extra_repr(self): return f"p={self.p}"


class Identity(Module):
    def forward(self, x): return x


class Flatten(Module):
    """(N, ...) -> (N, prod(...)): axes from start_axis on are joined."""

    def __init__(self, start_axis: int = 1):
        self.start_axis = start_axis

    def forward(self, x): return x.flatten(self.start_axis)
    def extra_repr(self): return f"start_axis={self.start_axis}"


class Unflatten(Module):
    """Split one axis into `shape`, e.g. Unflatten(1, (128, 7, 7)): (N, 6272) -> (N, 128, 7, 7)."""

    def __init__(self, axis: int, shape):
        self.axis, self.shape = axis, tuple(shape)

    def forward(self, x):
        axis = self.axis % x.ndim
        if x.shape[axis] != math.prod(self.shape):
            raise ValueError(f"Unflatten({self.axis}, {self.shape}) got shape {x.shape}: axis "
                             f"{self.axis} has {x.shape[axis]} entries, not "
                             f"{math.prod(self.shape)}")
        return x.reshape(x.shape[:axis] + self.shape + x.shape[axis + 1:])

    def extra_repr(self): return f"axis={self.axis}, shape={self.shape}"
