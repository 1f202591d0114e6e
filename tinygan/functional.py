"""Activations and losses composed from the engine's primitives (no backward of their own):
each is differentiable to any order because its parts are. Every one is stable at |x| = 1000."""
from __future__ import annotations

from .ops import exp, leaky_relu, log, relu, sigmoid, softplus, tanh  # noqa: F401 (re-exported)
from .tensor import Tensor, as_tensor

__all__ = ["relu", "leaky_relu", "sigmoid", "tanh", "softplus", "log_sigmoid", "logsumexp",
           "log_softmax", "softmax", "bce_with_logits", "mse"]


def log_sigmoid(x) -> Tensor:
    """log sigmoid(x) = -softplus(-x); d/dx = sigmoid(-x) = 1 - sigmoid(x)"""
    return -softplus(-as_tensor(x))


def logsumexp(x, axis=-1, keepdims=False) -> Tensor:
    """log sum exp(x) = m + log sum exp(x - m), m = max(x) held constant (its effect cancels)"""
    x = as_tensor(x)
    m = x.max(axis=axis, keepdims=True).detach()
    out = m + (x - m).exp().sum(axis=axis, keepdims=True).log()
    return out if keepdims else out.sum(axis=axis)  # summing a size-1 axis drops it


def log_softmax(x, axis=-1) -> Tensor:
    """log softmax(x)_i = x_i - logsumexp(x); d/dx = I - softmax(x)"""
    x = as_tensor(x)
    return x - logsumexp(x, axis=axis, keepdims=True)


def softmax(x, axis=-1) -> Tensor:
    """softmax(x)_i = exp(x_i) / sum_j exp(x_j), computed as exp(log_softmax)"""
    return log_softmax(x, axis).exp()


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def bce_with_logits(logits, targets, reduction: str = "mean") -> Tensor:
    """Binary cross-entropy of sigmoid(logits) against targets in [0, 1]:
    softplus(x) - x*y; d/dx = sigmoid(x) - y"""
    logits = as_tensor(logits)
    targets = as_tensor(targets, logits)
    if targets.shape != logits.shape:
        targets = targets.broadcast_to(logits.shape)
    return _reduce(softplus(logits) - logits * targets, reduction)


def mse(prediction, target, reduction: str = "mean") -> Tensor:
    """Mean squared error (prediction - target)^2; d/dprediction = 2(prediction - target)/n"""
    prediction = as_tensor(prediction)
    d = prediction - as_tensor(target, prediction)
    return _reduce(d * d, reduction)
