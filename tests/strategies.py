"""Hypothesis strategies shared by the op tests: small shapes (every side at most 4), shapes that
broadcast together, reduction axes, and float64 arrays drawn from an input domain that keeps away
from kinks (relu at 0, clip at its bounds) and out of invalid regions (log of a negative).

A domain is either a hypothesis float strategy for the elements or DISTINCT, which draws all the
inputs of one case together so that any two of their elements differ by at least DISTINCT_GAP
(max, min, maximum and minimum then never see a tie, even after broadcasting)."""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

MAX_SIDE = 4
MAX_DIMS = 3
MARGIN = 0.1  # distance kept from every kink; far larger than gradcheck's eps = 1e-6
DISTINCT_GAP = 0.25


def floats(lo: float, hi: float) -> st.SearchStrategy:
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False, allow_subnormal=False)


def avoiding(points, margin: float = MARGIN, lo: float = -2.0, hi: float = 2.0):
    """Floats in [lo, hi] at least `margin` away from every one of `points` (the kinks)."""
    edges = [lo]
    for p in sorted(points):
        edges += [p - margin, p + margin]
    edges.append(hi)
    pieces = [floats(a, b) for a, b in zip(edges[::2], edges[1::2]) if b > a]
    return st.one_of(*pieces)


REAL = floats(-2.0, 2.0)
WIDE = floats(-4.0, 4.0)
POSITIVE = floats(0.5, 2.0)
NONZERO = avoiding([0.0])
UNIT = floats(0.0, 1.0)
DISTINCT = "distinct"


def shapes(min_dims: int = 0, max_dims: int = MAX_DIMS, min_side: int = 1):
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                            max_side=MAX_SIDE)


def broadcast_shapes(n: int, min_dims: int = 0, max_dims: int = MAX_DIMS):
    """n shapes that broadcast together (size-1 axes and missing leading axes included)."""
    return hnp.mutually_broadcastable_shapes(num_shapes=n, min_dims=min_dims, max_dims=max_dims,
                                             min_side=1, max_side=MAX_SIDE
                                             ).map(lambda r: tuple(r.input_shapes))


def matmul_shapes():
    """Operand shapes for NumPy's matmul: 1-D vectors, 2-D matrices and broadcast batches."""
    return hnp.mutually_broadcastable_shapes(signature=np.matmul.signature, max_dims=2,
                                             min_side=1, max_side=MAX_SIDE
                                             ).map(lambda r: tuple(r.input_shapes))


@st.composite
def axes(draw, ndim: int, allow_none: bool = True, allow_tuple: bool = True, min_size: int = 0):
    """None, one axis (maybe negative) or a tuple of distinct axes (empty when min_size is 0)."""
    choices = ["int"] if ndim else []
    if allow_none:
        choices.append("none")
    if allow_tuple and ndim >= min_size:
        choices.append("tuple")
    kind = draw(st.sampled_from(choices))
    if kind == "none":
        return None
    if kind == "int":
        return draw(st.integers(-ndim, ndim - 1))
    return draw(hnp.valid_tuple_axes(ndim, min_size=min_size))


def array(shape, elements) -> st.SearchStrategy:
    return hnp.arrays(np.float64, shape, elements=elements)


@st.composite
def distinct_arrays(draw, shapes_):
    """Arrays of the given shapes whose elements are pairwise DISTINCT_GAP apart or more."""
    sizes = [int(np.prod(s)) for s in shapes_]
    order = np.array(draw(st.permutations(range(sum(sizes)))), dtype=np.float64)
    offset = draw(floats(-1.0, 1.0))
    values = (order - sum(sizes) / 2) * DISTINCT_GAP + offset
    out, start = [], 0
    for s, n in zip(shapes_, sizes):
        out.append(values[start:start + n].reshape(s))
        start += n
    return tuple(out)


@st.composite
def arrays_for(draw, shapes_, domains):
    """One float64 array per shape, with elements from the matching domain."""
    if any(d is DISTINCT for d in domains):
        return draw(distinct_arrays(shapes_))
    return tuple(draw(array(s, d)) for s, d in zip(shapes_, domains))
