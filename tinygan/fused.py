"""Fused Functions that a benchmark justified, kept out of the engine so that it stays a
composition of small primitives. Each has a backward written in Tensor ops, so it stays
differentiable to any order (gradgradcheck in the tests).

- Linear: y = x W^T + b in one matrix product with the bias added into its output (as
  PyTorch's addmm). Composed, x @ W.T would make dW come out as a transposed view (column
  major) of W's shape, and every later elementwise op on it (accumulation, Adam) ~4x slower;
  here dW = G^T x is computed in W's own layout.
- BatchNormTrain: training-mode batch norm. Composed from Tensor ops (mean, x - mean, square,
  mean, sqrt, divide, scale, shift) it keeps about four full-size arrays per layer alive for
  backward; this keeps none beyond its input: forward remembers only the per-channel mean and
  inv = 1/sqrt(var + eps), and backward recomputes x̂ = (x - mean)·inv. When the gradient's own
  graph is wanted (create_graph=True) it rebuilds mean and inv from x with the composition, so
  gradients of gradients are exact.
"""
from __future__ import annotations

import numpy as np

from . import backend
from .tensor import Function, Tensor, is_grad_enabled, matmul, sum_to


class Linear(Function):
    """y = x W^T + b, x (N, in), W (out, in), b (out,) or absent;
    dx = G W, dW = G^T x (laid out like W), db = sum of G over the batch"""

    def forward(self, x, w, b=None):
        xp = backend.get_array_module(x, w)
        if x.ndim != 2 or xp is not np:
            y = x @ w.T  # BLAS reads W^T in place: no copy
            if b is None:
                return y
            if y.dtype == b.dtype:
                y += b  # y is a fresh buffer we own: add in place, no second array
                return y
            return y + b
        # (W x^T)^T, not x W^T: the same numbers, but OpenBLAS runs W @ x^T up to ~2x faster
        # for a batch of 64 (benchmarks/README.md). Its (out, N) result is turned row-major in
        # the pass that adds the bias (a copy of the batch's outputs, small next to the product)
        # so that every later elementwise op sees one layout.
        yt = w @ x.T
        y = xp.empty(yt.shape[::-1], dtype=xp.result_type(yt, b) if b is not None else yt.dtype)
        if b is None:
            xp.copyto(y, yt.T)
        else:
            xp.add(yt.T, b, out=y)
        return y

    def backward(self, gy):
        x, w = self.inputs[:2]
        gx = matmul(gy, w) if self.needs[0] else None
        gw = matmul(gy.T, x) if self.needs[1] else None
        gb = sum_to(gy, self.inputs[2].shape) if len(self.inputs) == 3 and self.needs[2] else None
        return gx, gw, gb


class BatchNormTrain(Function):
    """y = x̂·w + b with x̂ = (x - mean)/sqrt(var + eps), statistics per channel (axis 1) over
    `axes` (biased variance); with g = gy·w:
    dx = inv·(g - mean(g) - x̂·mean(g·x̂)), dw = Σ gy·x̂, db = Σ gy."""

    def __init__(self, axes: tuple, eps: float):
        self.axes, self.eps = axes, eps

    def forward(self, x, w, b):
        xp = backend.get_array_module(x)
        mean = x.mean(axis=self.axes, keepdims=True)
        y = x - mean
        var = xp.square(y).mean(axis=self.axes, keepdims=True)
        inv = 1 / xp.sqrt(var + self.eps)
        self.mean, self.var, self.inv = mean, var, inv  # per channel: (1, C, 1, ...)
        y *= inv  # y is a fresh array, so x̂, then x̂·w + b, are built in place
        y *= w.reshape(mean.shape)
        y += b.reshape(mean.shape)
        return y

    def backward(self, gy):
        x, w, b = self.inputs
        if not is_grad_enabled():
            return self._backward_arrays(gy)
        # create_graph: x̂ and inv as functions of x, so that the gradient differentiates again
        shape, axes = self.mean.shape, self.axes
        d = x - x.mean(axes, keepdims=True)
        inv = 1 / ((d * d).mean(axes, keepdims=True) + self.eps).sqrt()
        xhat = d * inv
        w4 = w.reshape(shape)
        gy_xhat = (gy * xhat).sum(axes, keepdims=True)  # Σ gy·x̂, per channel
        gx = gw = gb = None
        if self.needs[0]:
            n = x.data.size // shape[1]
            g = gy * w4
            # mean(g·x̂) = w·Σ(gy·x̂)/n: one pass over the data fewer
            gx = inv * (g - g.mean(axes, keepdims=True) - xhat * (w4 * gy_xhat / n))
        if self.needs[1]:
            gw = gy_xhat.reshape(w.shape)
        if self.needs[2]:
            gb = gy.sum(axes).reshape(b.shape)
        return gx, gw, gb

    def _backward_arrays(self, gy):
        """The same formulas on raw arrays, in place where the array is ours: five full-size
        passes fewer than the Tensor-op form (no graph is wanted, so none is built)."""
        x, w, b = (t.data for t in self.inputs)
        gy, shape, axes, inv = gy.data, self.mean.shape, self.axes, self.inv
        xp = backend.get_array_module(x)
        xhat = x - self.mean
        xhat *= inv
        t = gy * xhat
        gy_xhat = t.sum(axes, keepdims=True)       # Σ gy·x̂, per channel
        sum_gy = gy.sum(axes, keepdims=True)
        gx = None
        if self.needs[0]:
            n = x.size // shape[1]
            a = inv * w.reshape(shape)  # per channel
            # a·(gy - Σgy/n - x̂·Σ(gy·x̂)/n), built in the buffers of x̂ and gy·x̂
            xhat *= -(a * gy_xhat / n)
            xhat += xp.multiply(gy, a, out=t)
            xhat -= a * sum_gy / n
            gx = Tensor(xhat)
        gw = Tensor(gy_xhat.reshape(w.shape)) if self.needs[1] else None
        gb = Tensor(sum_gy.reshape(b.shape)) if self.needs[2] else None
        return gx, gw, gb
