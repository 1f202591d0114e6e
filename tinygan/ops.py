"""The primitive Functions that Tensor's operators do not need (joining, padding, selecting),
each beside its lowercase wrapper, and the compositions built from them (stack, minimum, clip).
"""
from __future__ import annotations

from . import backend
from .tensor import Function, Tensor, as_tensor, sum_to


def _tensors(xs):
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
    a, b = _tensors([a, b])
    cond = cond.data if isinstance(cond, Tensor) else cond
    return Where(backend.get_array_module(a.data).asarray(cond, dtype=bool))(a, b)


class Maximum(Function):
    """f(a,b) = max(a,b) elementwise; df/da = 1 where a > b, 1/2 at ties (as PyTorch)"""
    def forward(self, a, b): return backend.get_array_module(a, b).maximum(a, b)
    def backward(self, gy):
        a, b = self.inputs
        share = ((a.data > b.data) + 0.5 * (a.data == b.data)).astype(gy.dtype)
        return sum_to(gy * Tensor(share), a.shape), sum_to(gy * Tensor(1 - share), b.shape)


def maximum(a, b) -> Tensor: return Maximum()(*_tensors([a, b]))


def minimum(a, b) -> Tensor:
    a, b = _tensors([a, b])
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
