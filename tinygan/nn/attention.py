"""Self-attention for feature maps, as in SAGAN (Zhang, Goodfellow, Metaxas & Odena 2019,
arXiv 1805.08318, section 3): every position of a feature map looks at every other position,
so a generator can tie together details that are far apart (a digit and its mirror image).

    attn = nn.SelfAttention2d(64)
    y = attn(x)                          # (N, 64, H, W) -> (N, 64, H, W); y = x while gamma = 0
    y, a = attn(x, return_attention=True)   # a: (N, HW, HW), rows: queries, columns: keys
    nn.SelfAttention2d(64, pool=2)      # keys and values max-pooled 2x2: a is (N, HW, HW/4)

pool=2 is what the paper's official code does (keys and values pooled, queries not): a
quarter of the cost, which on a CPU is the difference between usable and not.

Composed from 1x1 convolutions, reshapes, matmul and softmax; no gradient of its own.
"""
from __future__ import annotations

import functools

import numpy as np

from .. import functional as F
from ..creation import zeros
from ..ops import maximum
from ..tensor import Tensor
from .conv import Conv2d
from .module import Module, Parameter


class SelfAttention2d(Module):
    """y = gamma * v(o) + x, o_i = sum_j softmax_j(f(x_i) . g(x_j)) h(x_j); f, g: 1x1 convs to
    C/8 channels (query, key), h to C/2 (value), v back to C (the official code's sizes);
    gamma starts at 0, so the block starts as the identity and learns how much to attend.

    pool=p: g(x) and h(x) max-pooled p x p first, so there are HW/p^2 keys (p=1: the paper's
    formula). store_attention=True keeps the last map (N, HW, HW/p^2) as a raw array in
    `last_attention` (off by default: at 14x28, batch 64 and p=1 it is 39 MB)."""

    def __init__(self, channels: int, pool: int = 1, store_attention: bool = False):
        if isinstance(channels, bool) or not isinstance(channels, (int, np.integer)) or \
                channels < 8:
            raise ValueError(f"SelfAttention2d: channels must be an int >= 8 (the query and key "
                             f"have channels // 8 of them), got {channels!r}")
        if isinstance(pool, bool) or not isinstance(pool, (int, np.integer)) or pool < 1:
            raise ValueError(f"SelfAttention2d: pool must be an int >= 1 (1: no pooling), got "
                             f"{pool!r}")
        self.channels, self.pool = int(channels), int(pool)
        c8, c2 = self.channels // 8, self.channels // 2
        self.f = Conv2d(channels, c8, 1)                 # query
        self.g = Conv2d(channels, c8, 1)                 # key
        self.h = Conv2d(channels, c2, 1)                 # value
        self.v = Conv2d(c2, channels, 1)                 # back to C channels
        self.gamma = Parameter(zeros(1))
        self.store_attention = store_attention
        self.last_attention = None  # a raw array, not a Tensor: not a buffer, not saved

    def forward(self, x, return_attention: bool = False):
        self._check(x)
        n, c, height, width = x.shape
        p = height * width
        query = self.f(x).reshape(n, -1, p).transpose(0, 2, 1)      # (N, HW, C/8)
        key = self._pooled(self.g(x)).reshape(n, c // 8, -1)         # (N, C/8, K), K = HW/p^2
        attention = F.softmax(query @ key, axis=-1)                  # (N, HW, K), over keys
        value = self._pooled(self.h(x)).reshape(n, c // 2, -1)       # (N, C/2, K)
        # o_i = sum_j attention_ij value_j; the transposes move the small arrays, not the map
        o = (attention @ value.transpose(0, 2, 1)).transpose(0, 2, 1)  # (N, C/2, HW)
        o = o.reshape(n, c // 2, height, width)                     # (N, C/2, H, W)
        y = self.gamma * self.v(o) + x                               # (N, C, H, W)
        if self.store_attention:
            self.last_attention = attention.data
        return (y, attention) if return_attention else y

    def _pooled(self, x):
        """p x p max pooling (N, C, H, W) -> (N, C, H/p, W/p), as the elementwise maximum of
        the p^2 strided slices (NumPy's max over the axes of a 6-D reshape is 40x slower)."""
        k = self.pool
        if k == 1:
            return x
        slices = [x[:, :, i::k, j::k] for i in range(k) for j in range(k)]
        return functools.reduce(maximum, slices)

    def _check(self, x) -> None:
        name = f"SelfAttention2d({self.channels})"
        if not isinstance(x, Tensor):
            raise TypeError(f"{name}: input must be a tinygan Tensor, got {type(x).__name__}")
        if x.ndim != 4 or x.shape[1] != self.channels:
            raise ValueError(f"{name}: input has shape {x.shape}, expected (N, {self.channels}, "
                             "H, W)")
        if x.shape[2] % self.pool or x.shape[3] % self.pool:
            raise ValueError(f"{name}: pool={self.pool} needs H and W divisible by "
                             f"{self.pool}, got H, W = {x.shape[2]}, {x.shape[3]}")
