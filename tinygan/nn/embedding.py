"""Embedding (PyTorch's layout: weight (num_embeddings, embedding_dim), drawn from N(0, 1)) and
ConditionalBatchNorm2d, batch norm whose gain and bias depend on a condition: a class (de Vries
et al. 2017; Miyato & Koyama 2018, arXiv 1802.05637) or, in BigGAN's variant (Brock, Donahue &
Simonyan 2019, arXiv 1809.11096), a vector made of a shared class embedding and a chunk of z."""
from __future__ import annotations

from .. import functional as F
from .. import init
from ..creation import zeros
from .layers import Linear, _check_size
from .module import Module, Parameter
from .norm import BatchNorm2d


class Embedding(Module):
    """y = weight[indices]: a learned vector per class, as torch.nn.Embedding. Float inputs
    (..., num_embeddings) are class weights and give the weighted mix of the rows
    (tinygan.functional.embedding), so a one-hot row or a mixture of labels works too."""

    def __init__(self, num_embeddings: int, embedding_dim: int, device=None, dtype=None,
                 rng=None):
        _check_size("Embedding", num_embeddings=num_embeddings, embedding_dim=embedding_dim)
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.weight = Parameter(zeros(num_embeddings, embedding_dim, device=device, dtype=dtype))
        init.normal_(self.weight, 0.0, 1.0, rng)

    def forward(self, indices):
        try:
            return F.embedding(indices, self.weight)
        except ValueError as e:
            raise ValueError(f"Embedding({self.num_embeddings}, {self.embedding_dim}): {e}") \
                from None

    def extra_repr(self):
        return f"{self.num_embeddings}, {self.embedding_dim}"


class ConditionalBatchNorm2d(Module):
    """y = gain(c) * BN(x) + bias(c): batch norm without its own affine, then a per-sample
    gain and bias (N, C) broadcast over H and W. With num_classes, c is a class (ints (N,) or
    class weights (N, K)) and gain and bias are Embeddings (gain's rows start at 1, bias's at 0).
    With cond_dim, c is a vector (N, cond_dim) and gain = 1 + Linear(c), bias = Linear(c), no
    Linear biases (BigGAN's layer, fed [shared embedding | z chunk]). Keys: bn.* (running
    statistics), gain.weight, bias.weight."""

    def __init__(self, num_features: int, num_classes: int | None = None,
                 cond_dim: int | None = None, eps: float = 1e-5, momentum: float | None = 0.1,
                 device=None, dtype=None):
        if (num_classes is None) == (cond_dim is None):
            raise ValueError("ConditionalBatchNorm2d: give exactly one of num_classes (a gain "
                             "and bias per class) or cond_dim (both computed from a vector)")
        _check_size("ConditionalBatchNorm2d", num_features=num_features)
        self.num_features, self.num_classes, self.cond_dim = num_features, num_classes, cond_dim
        self.bn = BatchNorm2d(num_features, eps, momentum, affine=False, device=device,
                              dtype=dtype)
        if num_classes is not None:
            self.gain = Embedding(num_classes, num_features, device, dtype)
            self.bias = Embedding(num_classes, num_features, device, dtype)
            init.ones_(self.gain.weight)
            init.zeros_(self.bias.weight)
        else:
            self.gain = Linear(cond_dim, num_features, bias=False, device=device, dtype=dtype)
            self.bias = Linear(cond_dim, num_features, bias=False, device=device, dtype=dtype)

    def forward(self, x, c):
        name = f"{type(self).__name__}({self.num_features})"
        if x.ndim != 4 or x.shape[1] != self.num_features:
            raise ValueError(f"{name} got input of shape {x.shape}: expected 4-D input (N, "
                             f"{self.num_features}, H, W)")
        if self.cond_dim is not None:
            if c.ndim != 2 or c.shape != (x.shape[0], self.cond_dim):
                raise ValueError(f"{name}: the condition has shape {c.shape}, expected "
                                 f"({x.shape[0]}, {self.cond_dim}): one vector per sample")
            gain, bias = 1 + self.gain(c), self.bias(c)                    # (N, C) each
        else:
            gain, bias = self.gain(c), self.bias(c)                        # (N, C) each
            if gain.shape != (x.shape[0], self.num_features):
                raise ValueError(f"{name}: got {gain.shape[0]} labels for a batch of "
                                 f"{x.shape[0]}; give one per sample")
        n, ch = gain.shape
        return self.bn(x) * gain.reshape(n, ch, 1, 1) + bias.reshape(n, ch, 1, 1)

    def extra_repr(self):
        which = (f"num_classes={self.num_classes}" if self.num_classes is not None
                 else f"cond_dim={self.cond_dim}")
        return f"{self.num_features}, {which}"
