"""The primitive Functions that Tensor's operators do not need (joining, padding, selecting),
each beside its lowercase wrapper. Compositions of them (stack, minimum, clip) are in
tinygan.functional.
"""
from __future__ import annotations

from . import backend
from .tensor import Function, Tensor, as_tensor, sum_to


def as_tensors(xs) -> list:
    """Tensors from a mix of Tensors, arrays and numbers, constants on the first Tensor's device."""
    xs = list(xs)
    like = next((x for x in xs if isinstance(x, Tensor)), None)
    return [as_tensor(x, like) for x in xs]


class Concatenate(Function):
    """f(x1..xn) = the xi joined along axis; each df/dxi is its slice of the gradient"""
    def __init__(self, axis): self.axis = axis
    def forward(self, *xs): return backend.get_array_module(*xs).concatenate(xs, axis=self.axis)
    def backward(self, gy):
        axis, ends = self.axis % gy.ndim, [0]
        for x in self.inputs:
            ends.append(ends[-1] + x.shape[axis])
        return [gy[(slice(None),) * axis + (slice(a, b),)] for a, b in zip(ends, ends[1:])]
def concatenate(tensors, axis=0) -> Tensor:
    tensors = as_tensors(tensors)
    if not tensors:
        raise ValueError("concatenate needs at least one tensor")
    return Concatenate(axis)(*tensors)


class Pad(Function):
    """f(x) = x surrounded by zeros (pad_width as NumPy's); df/dx is the gradient's centre"""
    def __init__(self, pad_width): self.pad_width = pad_width
    def forward(self, x): return backend.get_array_module(x).pad(x, self.pad_width)
    def backward(self, gy):
        return (gy[tuple(slice(lo, n - hi) for (lo, hi), n in zip(self.pad_width, gy.shape))],)


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


class Where(Function):
    """f(a,b) = a where cond else b; df/da = cond, df/db = not cond"""
    def __init__(self, cond): self.cond = cond
    def forward(self, a, b): return backend.get_array_module(a, b).where(self.cond, a, b)
    def backward(self, gy):
        a, b = self.inputs
        keep = Tensor(self.cond.astype(gy.dtype))
        return sum_to(gy * keep, a.shape), sum_to(gy * (1 - keep), b.shape)


def where(cond, a, b) -> Tensor:
    """a where cond is true, else b (cond is not differentiated)."""
    a, b = as_tensors([a, b])
    cond = cond.data if isinstance(cond, Tensor) else cond
    return Where(backend.get_array_module(a.data).asarray(cond, dtype=bool))(a, b)


class Maximum(Function):
    """f(a,b) = max(a,b) elementwise; df/da = 1 where a > b, 1/2 at ties (as PyTorch)"""
    def forward(self, a, b): return backend.get_array_module(a, b).maximum(a, b)
    def backward(self, gy):
        a, b = self.inputs
        share = ((a.data > b.data) + 0.5 * (a.data == b.data)).astype(gy.dtype)
        return sum_to(gy * Tensor(share), a.shape), sum_to(gy * Tensor(1 - share), b.shape)


def maximum(a, b) -> Tensor: return Maximum()(*as_tensors([a, b]))
