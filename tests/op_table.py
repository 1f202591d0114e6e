"""The one table of every op tinygan differentiates. Each row gives the op's tinygan callable, a
NumPy/SciPy reference written independently of the engine, a hypothesis strategy for the
number and shapes of its inputs (with broadcasting and size-1 axes) plus any non-tensor
parameters, and the input domain of each tensor input (kept off kinks and out of invalid regions).
test_ops.py drives forward, gradcheck and gradgradcheck tests from it; test_torch_compare.py
chains its `chain` rows and compares them with PyTorch through the `torch` column.

Signatures: fn(*tensors, **params) and ref(*arrays, **params); torch(*torch_tensors, **params).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import special

import tinygan as tg
import tinygan.functional as F
from tinygan import backend
from strategies import (DISTINCT, NONZERO, POSITIVE, REAL, UNIT, WIDE, arrays_for, avoiding, axes,
                        broadcast_shapes, matmul_shapes, shapes)


@dataclass(frozen=True)
class Op:
    name: str
    fn: Callable
    ref: Callable
    inputs: st.SearchStrategy  # -> (tuple of input shapes, dict of params)
    domains: tuple | Callable  # one element strategy per input, or params -> that tuple
    torch: Callable | None = None
    chain: str | None = None  # how test_torch_compare may chain it: "unary", "binary", ...

    def __repr__(self):  # short, so hypothesis's failure reports stay readable
        return f"Op({self.name!r})"

    def domains_for(self, params) -> tuple:
        return self.domains(params) if callable(self.domains) else self.domains


def _torch():
    import torch
    return torch


# ---------------------------------------------------------------- input patterns


def _no_params(shapes_strategy):
    return shapes_strategy.map(lambda s: (tuple(s), {}))


def unary(min_dims=0, **params):
    return st.tuples(shapes(min_dims).map(lambda s: (s,)), st.fixed_dictionaries(params))


def nary(n, **params):
    return st.tuples(broadcast_shapes(n), st.fixed_dictionaries(params))


@st.composite
def two_matrices(draw, pattern):
    """Shapes for x @ w.T ("nk,mk": Linear's layout) or a.T @ b ("kn,km"), where the engine
    sees a transposed (column-major) view."""
    n, k, m = (draw(st.integers(1, 4)) for _ in range(3))
    sizes = {"n": n, "k": k, "m": m}
    return tuple(tuple(sizes[c] for c in part) for part in pattern.split(",")), {}


@st.composite
def reduction(draw, min_size=0, ddof=False, allow_none=True, allow_tuple=True, min_dims=0):
    shape = draw(shapes(min_dims))
    ax = draw(axes(len(shape), allow_none=allow_none, allow_tuple=allow_tuple, min_size=min_size))
    params = {"axis": ax, "keepdims": draw(st.booleans())}
    if ddof:
        kept = np.empty(shape).sum(axis=ax, keepdims=True).size
        count = int(np.prod(shape)) // max(kept, 1)
        params["ddof"] = draw(st.sampled_from([0, 1])) if count > 1 else 0
    return (shape,), params


@st.composite
def softmax_axis(draw):
    shape = draw(shapes(min_dims=1))
    return (shape,), {"axis": draw(st.integers(-len(shape), len(shape) - 1))}


@st.composite
def broadcastable_to(draw, target):
    """A shape that broadcasts to exactly `target`: a tail of it with some sides set to 1."""
    k = draw(st.integers(0, len(target)))
    tail = target[len(target) - k:]
    ones = draw(st.lists(st.booleans(), min_size=k, max_size=k))
    return tuple(1 if o else n for n, o in zip(tail, ones))


@st.composite
def broadcast_to_case(draw):
    target = draw(shapes())
    return (draw(broadcastable_to(target)),), {"shape": target}


@st.composite
def reshape_case(draw):
    shape = draw(shapes())
    size = int(np.prod(shape))
    rev = shape[::-1]
    target = draw(st.sampled_from([(-1,), rev, (size,), shape + (1,), (1,) + shape,
                                   (rev[:-1] + (-1,)) if rev else (1, -1)]))
    return (shape,), {"shape": target}


@st.composite
def transpose_case(draw):
    shape = draw(shapes())
    nd = len(shape)
    if draw(st.booleans()):
        return (shape,), {"axes": None}
    perm = draw(st.permutations(range(nd)))
    negative = draw(st.lists(st.booleans(), min_size=nd, max_size=nd))
    return (shape,), {"axes": tuple(a - nd if n else a for a, n in zip(perm, negative))}


@st.composite
def swapaxes_case(draw):
    shape = draw(shapes(min_dims=1))
    ax = st.integers(-len(shape), len(shape) - 1)
    return (shape,), {"a": draw(ax), "b": draw(ax)}


@st.composite
def basic_index_case(draw):
    shape = draw(shapes(min_dims=1))
    return (shape,), {"index": draw(hnp.basic_indices(shape, allow_newaxis=True,
                                                      allow_ellipsis=True))}


@st.composite
def int_index_case(draw):
    """x[idx] with one integer array along axis 0; indices repeat (the scatter-add path)."""
    shape = draw(shapes(min_dims=1))
    n = shape[0]
    idx = draw(st.lists(st.integers(-n, n - 1), min_size=1, max_size=6))
    return (shape,), {"index": np.array(idx)}


@st.composite
def int_tuple_index_case(draw):
    """x[i, j, ...] with one integer array per axis, broadcast together (repeats likely)."""
    shape = draw(shapes(min_dims=1))
    index = draw(hnp.integer_array_indices(shape, result_shape=shapes(max_dims=2)))
    return (shape,), {"index": index}


@st.composite
def mixed_index_case(draw):
    """Slices and an integer array together: x[:, idx] or x[idx, 1:]."""
    shape = draw(shapes(min_dims=2))
    if draw(st.booleans()):
        idx = draw(st.lists(st.integers(0, shape[1] - 1), min_size=1, max_size=5))
        return (shape,), {"index": (slice(None), np.array(idx))}
    idx = draw(st.lists(st.integers(0, shape[0] - 1), min_size=1, max_size=5))
    return (shape,), {"index": (np.array(idx), slice(1, None))}


@st.composite
def mask_index_case(draw):
    shape = draw(shapes(min_dims=1))
    mask_shape = shape if draw(st.booleans()) else shape[:1]
    return (shape,), {"index": draw(hnp.arrays(bool, mask_shape))}


@st.composite
def concatenate_case(draw):
    base = draw(shapes(min_dims=1))
    axis = draw(st.integers(-len(base), len(base) - 1))
    sides = draw(st.lists(st.integers(1, 4), min_size=1, max_size=3))
    in_shapes = tuple(base[:axis % len(base)] + (n,) + base[axis % len(base) + 1:] for n in sides)
    return in_shapes, {"axis": axis}


@st.composite
def stack_case(draw):
    shape = draw(shapes())
    n = draw(st.integers(1, 3))
    return (shape,) * n, {"axis": draw(st.integers(-len(shape) - 1, len(shape)))}


@st.composite
def pad_case(draw):
    shape = draw(shapes(min_dims=1))
    width = st.integers(0, 2)
    kind = draw(st.sampled_from(["int", "pair", "per_axis"]))
    if kind == "int":
        pad_width = draw(width)
    elif kind == "pair":
        pad_width = (draw(width), draw(width))
    else:
        pad_width = tuple((draw(width), draw(width)) for _ in shape)
    return (shape,), {"pad_width": pad_width}


@st.composite
def where_case(draw):
    cond_shape, a_shape, b_shape = draw(broadcast_shapes(3))
    return (a_shape, b_shape), {"cond": draw(hnp.arrays(bool, cond_shape))}


CLIP_BOUNDS = [(-0.5, 0.5), (None, 0.3), (-0.3, None), (0.0, 1.0)]


@st.composite
def bce_case(draw):
    shape = draw(shapes())
    return (shape, draw(broadcastable_to(shape))), {
        "reduction": draw(st.sampled_from(["mean", "sum", "none"]))}


# ---------------------------------------------------------------- references


def _index_on(x, index):
    """Move integer/boolean index arrays to the tensor's device (CuPy wants CuPy indices)."""
    xp = backend.get_array_module(x.data)
    if xp is np:
        return index
    conv = (lambda i: xp.asarray(i) if isinstance(i, np.ndarray) else i)
    return tuple(conv(i) for i in index) if isinstance(index, tuple) else conv(index)


def _np_reduce(x, reduction):
    return {"mean": np.mean, "sum": np.sum, "none": lambda v: v}[reduction](x)


def _bce_ref(x, y, reduction):
    p = special.expit(x)
    return _np_reduce(-(y * np.log(p) + (1 - y) * np.log(1 - p)), reduction)


def _np_pad(x, pad_width):
    return np.pad(x, pad_width)


def _np_clip(x, lo, hi):
    return np.clip(x, -np.inf if lo is None else lo, np.inf if hi is None else hi)


def _t_transpose(x, axes):
    return x if x.ndim == 0 else x.permute(*(reversed(range(x.ndim)) if axes is None else axes))


def _t_extreme(name):
    """torch.amax/amin (ties share the gradient evenly, as tinygan's max), NumPy's axis rules."""
    def fn(x, axis, keepdims):
        return getattr(_torch(), name)(x, dim=_t_dims(x, axis), keepdim=keepdims)
    return fn


def _t_getitem(x, index):
    """NumPy indexing in torch; torch has no negative slice steps, so a basic index (slices,
    ints, None, Ellipsis) is applied one axis at a time, a reversed slice as index_select."""
    torch = _torch()
    items = index if isinstance(index, tuple) else (index,)
    if any(isinstance(i, (np.ndarray, list)) or getattr(i, "dtype", None) is not None
           for i in items):
        return x[tuple(torch.from_numpy(np.asarray(i)) if isinstance(i, (np.ndarray, list))
                       else i for i in items)]
    if Ellipsis in items:
        at = items.index(Ellipsis)
        fill = x.ndim - sum(i is not None for i in items if i is not Ellipsis)
        items = items[:at] + (slice(None),) * fill + items[at + 1:]
    axis = 0
    for i in items:
        if i is None:
            x, axis = x.unsqueeze(axis), axis + 1
        elif isinstance(i, slice):
            picks = range(*i.indices(x.shape[axis]))
            x = x.index_select(axis, torch.tensor(list(picks), dtype=torch.long))
            axis += 1
        else:
            x = x.select(axis, int(i))
    return x


def _t_pad(x, pad_width):
    if isinstance(pad_width, int):
        pairs = [(pad_width, pad_width)] * x.ndim
    elif len(pad_width) == 2 and all(isinstance(p, int) for p in pad_width):
        pairs = [tuple(pad_width)] * x.ndim
    else:
        pairs = list(pad_width)
    flat = [v for pair in reversed(pairs) for v in pair]  # torch pads the last axis first
    return _torch().nn.functional.pad(x, flat)


def _np_reduce_t(x, reduction):
    return {"mean": lambda v: v.mean(), "sum": lambda v: v.sum(), "none": lambda v: v}[reduction](x)


def _t_dims(x, axis):
    """NumPy's axis (None: every axis) as torch's dim."""
    return tuple(range(x.ndim)) if axis is None else axis


def _t_reduce(name):
    return lambda x, axis, keepdims: getattr(x, name)(dim=_t_dims(x, axis), keepdim=keepdims)


# ---------------------------------------------------------------- the table


OPS = [
    # arithmetic with broadcasting
    Op("add", lambda a, b: a + b, np.add, nary(2), (REAL, REAL),
       torch=lambda a, b: a + b, chain="binary"),
    Op("sub", lambda a, b: a - b, np.subtract, nary(2), (REAL, REAL),
       torch=lambda a, b: a - b, chain="binary"),
    Op("mul", lambda a, b: a * b, np.multiply, nary(2), (REAL, REAL),
       torch=lambda a, b: a * b, chain="binary"),
    Op("div", lambda a, b: a / b, np.divide, nary(2), (REAL, NONZERO),
       torch=lambda a, b: a / b, chain="binary"),
    Op("neg", lambda a: -a, np.negative, unary(), (REAL,), torch=lambda a: -a, chain="unary"),
    Op("pow", lambda a, b: a ** b, np.power, nary(2), (POSITIVE, REAL),
       torch=lambda a, b: a ** b, chain="binary"),
    Op("pow_scalar", lambda a, c: a ** c, lambda a, c: np.power(a, c),
       unary(c=st.sampled_from([-1.5, -1.0, 0.5, 2.0, 3.0])), (POSITIVE,),
       torch=lambda a, c: a ** c, chain="unary"),
    Op("pow_int", lambda a, c: a ** c, lambda a, c: np.power(a, c),
       unary(c=st.sampled_from([2, 3])), (REAL,), torch=lambda a, c: a ** c, chain="unary"),
    Op("rpow", lambda a, c: c ** a, lambda a, c: np.power(c, a),
       unary(c=st.sampled_from([0.5, 2.0, 3.0])), (REAL,), torch=lambda a, c: c ** a,
       chain="unary"),
    Op("matmul", lambda a, b: a @ b, np.matmul, _no_params(matmul_shapes()), (REAL, REAL),
       torch=lambda a, b: a @ b, chain="matmul"),
    Op("tg.matmul", tg.matmul, np.matmul, _no_params(matmul_shapes()), (REAL, REAL),
       torch=lambda a, b: a @ b, chain="matmul"),
    Op("matmul_wT", lambda x, w: x @ w.T, lambda x, w: x @ w.T, two_matrices("nk,mk"),
       (REAL, REAL), torch=lambda x, w: x @ w.T, chain="matmul_wT"),
    Op("matmul_aT", lambda a, b: a.T @ b, lambda a, b: a.T @ b, two_matrices("kn,km"),
       (REAL, REAL), torch=lambda a, b: a.T @ b, chain="matmul_aT"),

    # reductions (axis None / int / tuple, keepdims)
    Op("sum", lambda x, axis, keepdims: tg.sum(x, axis=axis, keepdims=keepdims),
       lambda x, axis, keepdims: np.sum(x, axis=axis, keepdims=keepdims), reduction(), (REAL,),
       torch=_t_reduce("sum"), chain="reduce"),
    Op("mean", lambda x, axis, keepdims: x.mean(axis=axis, keepdims=keepdims),
       lambda x, axis, keepdims: np.mean(x, axis=axis, keepdims=keepdims),
       reduction(), (REAL,), torch=_t_reduce("mean"), chain="reduce"),
    Op("max", lambda x, axis, keepdims: tg.max(x, axis=axis, keepdims=keepdims),
       lambda x, axis, keepdims: np.max(x, axis=axis, keepdims=keepdims), reduction(),
       (DISTINCT,), torch=_t_extreme("amax"), chain="reduce"),
    Op("min", lambda x, axis, keepdims: x.min(axis=axis, keepdims=keepdims),
       lambda x, axis, keepdims: np.min(x, axis=axis, keepdims=keepdims), reduction(),
       (DISTINCT,), torch=_t_extreme("amin"), chain="reduce"),
    Op("var", lambda x, axis, keepdims, ddof: x.var(axis=axis, keepdims=keepdims, ddof=ddof),
       lambda x, axis, keepdims, ddof: np.var(x, axis=axis, keepdims=keepdims, ddof=ddof),
       reduction(min_size=1, ddof=True), (REAL,),
       torch=lambda x, axis, keepdims, ddof: x.var(dim=_t_dims(x, axis), keepdim=keepdims,
                                                   correction=ddof),
       chain="reduce"),

    # movement
    Op("reshape", lambda x, shape: x.reshape(shape), lambda x, shape: x.reshape(shape),
       reshape_case(), (REAL,), torch=lambda x, shape: x.reshape(shape), chain="reshape"),
    Op("transpose", lambda x, axes: tg.transpose(x, axes), lambda x, axes: np.transpose(x, axes),
       transpose_case(), (REAL,), torch=_t_transpose, chain="transpose"),
    Op("swapaxes", lambda x, a, b: x.swapaxes(a, b), lambda x, a, b: np.swapaxes(x, a, b),
       swapaxes_case(), (REAL,), torch=lambda x, a, b: x.swapaxes(a, b), chain="swapaxes"),
    Op("broadcast_to", lambda x, shape: x.broadcast_to(shape),
       lambda x, shape: np.broadcast_to(x, shape), broadcast_to_case(), (REAL,),
       torch=lambda x, shape: x.broadcast_to(shape), chain="broadcast_to"),
    Op("getitem_basic", lambda x, index: x[_index_on(x, index)], lambda x, index: x[index],
       basic_index_case(), (REAL,), torch=_t_getitem, chain="index"),
    Op("getitem_int", lambda x, index: x[_index_on(x, index)], lambda x, index: x[index],
       int_index_case(), (REAL,), torch=_t_getitem, chain="index"),
    Op("getitem_int_tuple", lambda x, index: x[_index_on(x, index)], lambda x, index: x[index],
       int_tuple_index_case(), (REAL,), torch=_t_getitem, chain="index"),
    Op("getitem_mixed", lambda x, index: x[_index_on(x, index)], lambda x, index: x[index],
       mixed_index_case(), (REAL,), torch=_t_getitem, chain="index"),
    Op("getitem_mask", lambda x, index: x[_index_on(x, index)], lambda x, index: x[index],
       mask_index_case(), (REAL,), torch=_t_getitem, chain="index"),
    Op("concatenate", lambda *xs, axis: tg.concatenate(xs, axis=axis),
       lambda *xs, axis: np.concatenate(xs, axis=axis), concatenate_case(),
       (REAL, REAL, REAL), torch=lambda *xs, axis: _torch().cat(xs, dim=axis), chain="join"),
    Op("stack", lambda *xs, axis: tg.stack(xs, axis=axis),
       lambda *xs, axis: np.stack(xs, axis=axis), stack_case(), (REAL, REAL, REAL),
       torch=lambda *xs, axis: _torch().stack(xs, dim=axis), chain="join"),
    Op("pad", lambda x, pad_width: tg.pad(x, pad_width), _np_pad, pad_case(), (REAL,),
       torch=_t_pad, chain="pad"),

    # elementwise functions
    Op("exp", tg.exp, np.exp, unary(), (REAL,), torch=lambda x: x.exp(), chain="unary"),
    Op("log", tg.log, np.log, unary(), (POSITIVE,), torch=lambda x: x.log(), chain="unary"),
    Op("sqrt", lambda x: x.sqrt(), np.sqrt, unary(), (POSITIVE,), torch=lambda x: x.sqrt(),
       chain="unary"),
    Op("abs", tg.abs, np.abs, unary(), (NONZERO,), torch=lambda x: x.abs(), chain="unary"),
    Op("tanh", F.tanh, np.tanh, unary(), (WIDE,), torch=lambda x: x.tanh(), chain="unary"),
    Op("sigmoid", F.sigmoid, special.expit, unary(), (WIDE,),
       torch=lambda x: x.sigmoid(), chain="unary"),
    Op("relu", F.relu, lambda x: np.where(x > 0, x, 0.0), unary(), (NONZERO,),
       torch=lambda x: x.relu(), chain="unary"),
    Op("leaky_relu", lambda x, slope: F.leaky_relu(x, slope),
       lambda x, slope: np.where(x > 0, x, slope * x),
       unary(slope=st.sampled_from([0.01, 0.2, 0.5, 1.5, -0.1])), (NONZERO,),
       torch=lambda x, slope: _torch().nn.functional.leaky_relu(x, slope), chain="unary"),
    Op("softplus", F.softplus, lambda x: np.logaddexp(0.0, x), unary(), (WIDE,),
       torch=lambda x: _torch().logaddexp(x, _torch().zeros_like(x)), chain="unary"),
    Op("log_sigmoid", F.log_sigmoid, lambda x: np.log(special.expit(x)), unary(), (WIDE,),
       torch=lambda x: _torch().nn.functional.logsigmoid(x), chain="unary"),
    Op("logsumexp", lambda x, axis, keepdims: F.logsumexp(x, axis=axis, keepdims=keepdims),
       lambda x, axis, keepdims: np.log(np.sum(np.exp(x), axis=axis, keepdims=keepdims)),
       reduction(min_size=1), (WIDE,),
       torch=lambda x, axis, keepdims: _torch().logsumexp(x, dim=_t_dims(x, axis),
                                                          keepdim=keepdims),
       chain="reduce"),
    Op("log_softmax", lambda x, axis: F.log_softmax(x, axis=axis),
       lambda x, axis: special.log_softmax(x, axis=axis), softmax_axis(), (WIDE,),
       torch=lambda x, axis: _torch().log_softmax(x, dim=axis), chain="axis"),
    Op("softmax", lambda x, axis: F.softmax(x, axis=axis),
       lambda x, axis: special.softmax(x, axis=axis), softmax_axis(), (WIDE,),
       torch=lambda x, axis: _torch().softmax(x, dim=axis), chain="axis"),

    # selection
    Op("where", lambda a, b, cond: tg.where(cond, a, b), lambda a, b, cond: np.where(cond, a, b),
       where_case(), (REAL, REAL), chain="where",
       torch=lambda a, b, cond: _torch().where(_torch().from_numpy(np.asarray(cond)), a, b)),
    Op("clip", lambda x, lo, hi: tg.clip(x, lo, hi), _np_clip,
       st.sampled_from(CLIP_BOUNDS).flatmap(
           lambda b: unary(lo=st.just(b[0]), hi=st.just(b[1]))),
       lambda p: (avoiding([v for v in (p["lo"], p["hi"]) if v is not None]),),
       torch=lambda x, lo, hi: _torch().clamp(x, lo, hi), chain="unary"),
    Op("maximum", tg.maximum, np.maximum, nary(2), (DISTINCT, DISTINCT),
       torch=lambda a, b: _torch().maximum(a, b), chain="binary"),
    Op("minimum", tg.minimum, np.minimum, nary(2), (DISTINCT, DISTINCT),
       torch=lambda a, b: _torch().minimum(a, b), chain="binary"),

    # losses
    Op("bce_with_logits", lambda x, y, reduction: F.bce_with_logits(x, y, reduction=reduction),
       _bce_ref, bce_case(), (WIDE, UNIT), chain="binary",
       torch=lambda x, y, reduction: _torch().nn.functional.binary_cross_entropy_with_logits(
           x, y.broadcast_to(x.shape), reduction=reduction)),
    Op("mse", lambda p, t, reduction: F.mse(p, t, reduction=reduction),
       lambda p, t, reduction: _np_reduce((p - t) ** 2, reduction),
       nary(2, reduction=st.sampled_from(["mean", "sum", "none"])), (REAL, REAL),
       torch=lambda p, t, reduction: _np_reduce_t((p - t) ** 2, reduction), chain="binary"),
]

BY_NAME = {op.name: op for op in OPS}
assert len(BY_NAME) == len(OPS), "op names must be unique"


@st.composite
def cases(draw, op: Op):
    """(float64 input arrays, params) for one op, inputs drawn from its domains."""
    in_shapes, params = draw(op.inputs)
    domains = op.domains_for(params)
    domains = tuple(domains) + (domains[-1],) * (len(in_shapes) - len(domains))
    return draw(arrays_for(in_shapes, domains[:len(in_shapes)])), params


__all__ = ["OPS", "BY_NAME", "Op", "cases", "broadcastable_to"]
