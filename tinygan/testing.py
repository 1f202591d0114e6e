"""Gradient checks in float64 by central differences, used by the tests and the lessons.

gradcheck compares the engine's vector-Jacobian product against finite differences for a
random cotangent; gradgradcheck does the same for the gradient itself (second order)."""
from __future__ import annotations

import numpy as np

from . import backend
from .tensor import Tensor, grad

__all__ = ["gradcheck", "gradgradcheck", "numerical_grad"]


def _as_inputs(arrays):
    tensors = []
    for a in arrays:
        a = a.data if isinstance(a, Tensor) else a
        a = a if hasattr(a, "dtype") else np.asarray(a, dtype=np.float64)
        differentiable = a.dtype.kind == "f"
        if differentiable and a.dtype != np.float64:
            raise TypeError(f"gradcheck needs float64 inputs for accurate differences, got {a.dtype}")
        tensors.append(Tensor(a, requires_grad=differentiable))
    return tensors


def numerical_grad(scalar_fn, arrays, index, eps):
    """d scalar_fn / d arrays[index] by central differences, element by element."""
    base = arrays[index]
    out = np.zeros(base.shape, dtype=np.float64)
    for i in range(base.size):
        vals = []
        for step in (eps, -eps):
            shifted = base.copy()
            shifted.reshape(-1)[i] += step
            args = list(arrays)
            args[index] = shifted
            vals.append(float(scalar_fn(args)))
        out.reshape(-1)[i] = (vals[0] - vals[1]) / (2 * eps)
    return out


def _compare(name, analytic, numeric, shapes, index, atol, rtol, order):
    a, n = backend.to_numpy(analytic), backend.to_numpy(numeric)
    if a.shape != n.shape:
        raise AssertionError(f"{order} gradient of {name} for input {index} has shape {a.shape}, "
                             f"expected {n.shape} (input shapes {shapes})")
    err = np.abs(a - n) - (atol + rtol * np.abs(n))
    if err.size and err.max() > 0:
        worst = np.unravel_index(int(np.argmax(err)), err.shape)
        raise AssertionError(
            f"{order} gradient of {name} is wrong for input {index} (input shapes {shapes}): "
            f"at element {tuple(int(i) for i in worst)} the engine gives {float(a[worst])!r}, "
            f"finite differences give {float(n[worst])!r} "
            f"(|difference| {abs(a[worst] - n[worst]):.3g}, "
            f"allowed {atol + rtol * abs(n[worst]):.3g})")


def gradcheck(fn, *arrays, eps=1e-6, atol=1e-6, rtol=1e-4, seed=0, name=None, _order="first"):
    """Check the engine's gradient of fn(*tensors) against central differences. Inputs must be
    float64 (integer inputs are passed through undifferentiated). Returns True or raises
    AssertionError naming the op, the shapes and the worst entry."""
    name = name or getattr(fn, "__name__", repr(fn))
    inputs = _as_inputs(arrays)
    y = fn(*inputs)
    xp = backend.get_array_module(y.data)
    v = xp.asarray(np.random.default_rng(seed).standard_normal(y.shape))

    def scalar(args):
        tensors = [Tensor(a, requires_grad=a.dtype.kind == "f") for a in args]
        return backend.to_numpy((fn(*tensors).data * v).sum())

    wrt = [i for i, t in enumerate(inputs) if t.requires_grad]
    if not y.requires_grad:
        raise AssertionError(f"{name}: output does not depend on any float input")
    analytic = grad([y], [inputs[i] for i in wrt], [Tensor(v)], allow_unused=True)
    shapes = [t.shape for t in inputs]
    for i, g in zip(wrt, analytic):
        g = xp.zeros(inputs[i].shape) if g is None else g.data
        numeric = numerical_grad(scalar, [t.data for t in inputs], i, eps)
        _compare(name, g, numeric, shapes, i, atol, rtol, _order)
    return True


def gradgradcheck(fn, *arrays, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0, name=None):
    """Check second derivatives: gradcheck of (inputs, v) -> <d<fn(inputs), v>/d inputs, u> for
    random cotangents v and u, which needs every backward rule to be differentiable."""
    name = name or getattr(fn, "__name__", repr(fn))
    inputs = _as_inputs(arrays)
    y = fn(*inputs)
    rng = np.random.default_rng(seed + 1)
    xp = backend.get_array_module(y.data)
    v0 = xp.asarray(rng.standard_normal(y.shape))
    wrt = [i for i, t in enumerate(inputs) if t.requires_grad]
    us = [xp.asarray(rng.standard_normal(inputs[i].shape)) for i in wrt]

    def vjp_dot_u(*args):
        *xs, v = args
        out = fn(*xs)
        gs = grad([out], [xs[i] for i in wrt], [v], create_graph=True, allow_unused=True)
        total = None
        for g, u in zip(gs, us):
            if g is not None:
                term = (g * Tensor(u)).sum()
                total = term if total is None else total + term
        if total is None:  # a linear function: no second-order dependence at all
            total = (out * 0).sum()
        return total

    vjp_dot_u.__name__ = f"d/dx of the gradient of {name}"
    return gradcheck(vjp_dot_u, *[t.data for t in inputs], v0, eps=eps, atol=atol, rtol=rtol,
                     seed=seed, name=name, _order="second")
