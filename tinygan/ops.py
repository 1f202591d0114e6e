"""The primitive Functions that Tensor's operators do not need (joining, padding, selecting,
clipping) and lowercase function-style wrappers for every op: `tg.exp(x)`, `tg.concatenate(...)`.
"""
from __future__ import annotations

from . import backend
from .tensor import (Function, Tensor, as_tensor, broadcast_to, grad, matmul, no_grad, sum_to,
                     Abs, Exp, LeakyReLU, Log, Max, Sigmoid, Softplus, Sqrt, Sum, Tanh)

__all__ = ["concatenate", "stack", "pad", "where", "maximum", "minimum", "clip", "exp", "log",
           "sqrt", "abs", "tanh", "sigmoid", "softplus", "relu", "leaky_relu", "sum", "mean",
           "max", "min", "reshape", "transpose", "matmul", "broadcast_to", "sum_to", "grad",
           "no_grad"]


def _tensors(xs, like=None):
    xs = list(xs)
    like = like or next((x for x in xs if isinstance(x, Tensor)), None)
    return [as_tensor(x, like) for x in xs]


class Concatenate(Function):
    """f(x1..xn) = the xi joined along axis; each df/dxi is its slice of the gradient"""
    def __init__(self, axis):
        self.axis = axis

    def forward(self, *xs):
        return backend.get_array_module(*xs).concatenate(xs, axis=self.axis)

    def backward(self, gy):
        axis = self.axis % gy.ndim
        grads, start = [], 0
        for x in self.inputs:
            stop = start + x.shape[axis]
            grads.append(gy[(slice(None),) * axis + (slice(start, stop),)])
            start = stop
        return grads


class Pad(Function):
    """f(x) = x surrounded by zeros (pad_width as NumPy's); df/dx is the gradient's centre"""
    def __init__(self, pad_width):
        self.pad_width = pad_width

    def forward(self, x):
        return backend.get_array_module(x).pad(x, self.pad_width)

    def backward(self, gy):
        return (gy[tuple(slice(lo, n - hi) for (lo, hi), n in zip(self.pad_width, gy.shape))],)


class Where(Function):
    """f(a,b) = a where cond else b; df/da = cond, df/db = not cond"""
    def __init__(self, cond):
        self.cond = cond

    def forward(self, a, b):
        return backend.get_array_module(a, b).where(self.cond, a, b)

    def backward(self, gy):
        a, b = self.inputs
        keep = Tensor(self.cond.astype(gy.dtype))
        return sum_to(gy * keep, a.shape), sum_to(gy * (1 - keep), b.shape)


class Maximum(Function):
    """f(a,b) = max(a,b) elementwise; df/da = 1 where a > b, 1/2 at ties (as PyTorch)"""
    def forward(self, a, b):
        return backend.get_array_module(a, b).maximum(a, b)

    def backward(self, gy):
        a, b = self.inputs
        share = ((a.data > b.data) + 0.5 * (a.data == b.data)).astype(gy.dtype)
        return sum_to(gy * Tensor(share), a.shape), sum_to(gy * Tensor(1 - share), b.shape)


class Clip(Function):
    """f(x) = min(max(x, lo), hi); df/dx = 1 for lo <= x <= hi, else 0 (as PyTorch's clamp)"""
    def __init__(self, lo, hi):
        self.lo, self.hi = lo, hi

    def forward(self, x):
        return backend.get_array_module(x).clip(x, self.lo, self.hi)

    def backward(self, gy):
        x = self.inputs[0].data
        inside = (x >= (-float("inf") if self.lo is None else self.lo)) & \
                 (x <= (float("inf") if self.hi is None else self.hi))
        return (gy * Tensor(inside.astype(gy.dtype)),)


def concatenate(tensors, axis=0) -> Tensor:
    tensors = _tensors(tensors)
    if not tensors:
        raise ValueError("concatenate needs at least one tensor")
    return Concatenate(axis)(*tensors)


def stack(tensors, axis=0) -> Tensor:
    """Join along a new axis (every tensor must have the same shape)."""
    tensors = _tensors(tensors)
    shapes = {t.shape for t in tensors}
    if len(shapes) != 1:
        raise ValueError(f"stack needs tensors of one shape, got {sorted(shapes)}")
    axis = axis % (tensors[0].ndim + 1)
    return concatenate([t.reshape(t.shape[:axis] + (1,) + t.shape[axis:]) for t in tensors], axis)


def pad(x: Tensor, pad_width) -> Tensor:
    """Zero padding; pad_width as NumPy's: an int, a (before, after) pair, or one pair per axis."""
    x = as_tensor(x)
    if isinstance(pad_width, int):
        pad_width = ((pad_width, pad_width),) * x.ndim
    elif len(pad_width) == 2 and all(isinstance(p, int) for p in pad_width):
        pad_width = (tuple(pad_width),) * x.ndim
    pad_width = tuple(tuple(int(v) for v in p) for p in pad_width)
    if len(pad_width) != x.ndim or any(lo < 0 or hi < 0 for lo, hi in pad_width):
        raise ValueError(f"pad: pad_width {pad_width} must give one non-negative (before, after) "
                         f"pair per axis of a tensor of shape {x.shape}")
    return Pad(pad_width)(x)


def where(cond, a, b) -> Tensor:
    """a where cond is true, else b (cond is not differentiated)."""
    a, b = _tensors([a, b])
    cond = cond.data if isinstance(cond, Tensor) else cond
    return Where(backend.get_array_module(a.data).asarray(cond, dtype=bool))(a, b)


def maximum(a, b) -> Tensor:
    return Maximum()(*_tensors([a, b]))


def minimum(a, b) -> Tensor:
    a, b = _tensors([a, b])
    return -Maximum()(-a, -b)


def clip(x, lo=None, hi=None) -> Tensor:
    if lo is not None and hi is not None and lo > hi:
        raise ValueError(f"clip: lower bound {lo} is above upper bound {hi}")
    return Clip(lo, hi)(as_tensor(x))


def exp(x): return Exp()(as_tensor(x))
def log(x): return Log()(as_tensor(x))
def sqrt(x): return Sqrt()(as_tensor(x))
def abs(x): return Abs()(as_tensor(x))  # noqa: A001 (mirrors numpy.abs)
def tanh(x): return Tanh()(as_tensor(x))
def sigmoid(x): return Sigmoid()(as_tensor(x))
def softplus(x): return Softplus()(as_tensor(x))
def relu(x): return LeakyReLU(0.0)(as_tensor(x))
def leaky_relu(x, slope=0.01): return LeakyReLU(slope)(as_tensor(x))
def sum(x, axis=None, keepdims=False): return Sum(axis, keepdims)(as_tensor(x))  # noqa: A001
def mean(x, axis=None, keepdims=False): return as_tensor(x).mean(axis, keepdims)
def max(x, axis=None, keepdims=False): return Max(axis, keepdims)(as_tensor(x))  # noqa: A001
def min(x, axis=None, keepdims=False): return as_tensor(x).min(axis, keepdims)  # noqa: A001
def reshape(x, shape): return as_tensor(x).reshape(shape)
def transpose(x, axes=None): return as_tensor(x).transpose(axes or ())
