"""Basic layers: Linear (weight (out, in), as PyTorch), activations, Flatten and Unflatten."""
from __future__ import annotations

import math

from .. import functional as F
from .. import init
from ..creation import zeros
from .module import Module, Parameter


class Linear(Module):
    """y = x W^T + b with W of shape (out, in), as torch.nn.Linear."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, device=None,
                 dtype=None):
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(zeros(out_features, in_features, device=device, dtype=dtype))
        init.default_uniform_(self.weight, in_features)
        self.bias = None
        if bias:
            self.bias = Parameter(zeros(out_features, device=device, dtype=dtype))
            init.default_uniform_(self.bias, in_features)

    def forward(self, x):
        if x.shape[-1] != self.in_features:
            raise ValueError(f"Linear({self.in_features}, {self.out_features}) got input of shape "
                             f"{x.shape}: its last axis must be {self.in_features}")
        y = x @ self.weight.T
        return y if self.bias is None else y + self.bias

    def extra_repr(self):
        return f"{self.in_features}, {self.out_features}, bias={self.bias is not None}"


class ReLU(Module):
    def forward(self, x): return F.relu(x)


class LeakyReLU(Module):
    def __init__(self, slope: float = 0.01):
        self.slope = slope

    def forward(self, x): return F.leaky_relu(x, self.slope)
    def extra_repr(self): return f"{self.slope}"


class Tanh(Module):
    def forward(self, x): return F.tanh(x)


class Sigmoid(Module):
    def forward(self, x): return F.sigmoid(x)


class Identity(Module):
    def forward(self, x): return x


class Flatten(Module):
    """(N, ...) -> (N, prod(...)): axes from start_axis on are joined."""

    def __init__(self, start_axis: int = 1):
        self.start_axis = start_axis

    def forward(self, x): return x.flatten(self.start_axis)


class Unflatten(Module):
    """Split one axis into `shape`, e.g. Unflatten(1, (128, 7, 7)): (N, 6272) -> (N, 128, 7, 7)."""

    def __init__(self, axis: int, shape):
        self.axis, self.shape = axis, tuple(shape)

    def forward(self, x):
        axis = self.axis % x.ndim
        if x.shape[axis] != math.prod(self.shape):
            raise ValueError(f"Unflatten({self.axis}, {self.shape}) got shape {x.shape}: axis "
                             f"{self.axis} has {x.shape[axis]} entries, not {math.prod(self.shape)}")
        return x.reshape(x.shape[:axis] + self.shape + x.shape[axis + 1:])
