"""A small SAGAN for mirror digits (Zhang, Goodfellow, Metaxas & Odena 2019, arXiv 1805.08318):
DCGAN-shaped convolutions with a self-attention block (tinygan.nn.SelfAttention2d) at the
14x28 feature map of both G and D, spectral norm in both (the paper's choice; the experiment
applies it), batch norm in G only.

A mirror digit (tinygan.data.mirror) is a 28x56 image whose right half is its left half
flipped: matching pixels 2x(27 - j) + 1 columns apart, farther than a 4x4 convolution sees
at 14x28 but one attention step away. `attention=False` gives the same networks without the
block, the paper's baseline. The block's keys and values are max-pooled 2x2 by default, as in
the paper's official code: the full 392 x 392 map makes an iteration about 3x as slow on one
CPU thread (the timings are in the experiment's notes, tinygan.experiments.sagan).
"""
from __future__ import annotations

import numpy as np

from .. import backend, init
from .. import nn
from ..nn import utils as nn_utils
from ..tensor import Tensor, no_grad
from .models import Z_DIM, _check_batch
from .trainer import Hook

MIRROR_SHAPE = (1, 28, 56)


class SAGANGenerator(nn.Module):
    """z (N, 100) -> image (N, 1, 28, 56): project to 2w x 7 x 14, two transposed
    convolutions double the size; self-attention between them, at 14 x 28."""

    def __init__(self, z_dim: int = Z_DIM, width: int = 16, attention: bool = True,
                 pool: int = 2):
        self.z_dim, self.attention, w = z_dim, attention, width
        self.project = nn.Sequential(
            nn.Linear(z_dim, 2 * w * 7 * 14), nn.Unflatten(1, (2 * w, 7, 14)),  # (N, 2w, 7, 14)
            nn.BatchNorm2d(2 * w), nn.ReLU(),
            nn.ConvTranspose2d(2 * w, w, 4, 2, 1), nn.BatchNorm2d(w), nn.ReLU())  # (N, w, 14, 28)
        # (N, w, 14, 28) -> (N, w, 14, 28)
        self.attend = nn.SelfAttention2d(w, pool) if attention else nn.Identity()
        self.out = nn.Sequential(nn.ConvTranspose2d(w, 1, 4, 2, 1), nn.Tanh())  # (N, 1, 28, 56)

    def forward(self, z):
        _check_batch(type(self).__name__, z, (self.z_dim,), "z")
        return self.out(self.attend(self.project(z)))


class SAGANDiscriminator(nn.Module):
    """image (N, 1, 28, 56) -> logit (N, 1): two strided convolutions, self-attention between
    them (at 14 x 28), no normalization but spectral norm (applied by the experiment)."""

    def __init__(self, width: int = 16, attention: bool = True, pool: int = 2):
        self.attention, w = attention, width
        self.stem = nn.Sequential(nn.Conv2d(1, w, 4, 2, 1), nn.LeakyReLU(0.1))  # (N, w, 14, 28)
        # (N, w, 14, 28) -> (N, w, 14, 28)
        self.attend = nn.SelfAttention2d(w, pool) if attention else nn.Identity()
        self.head = nn.Sequential(
            nn.Conv2d(w, 2 * w, 4, 2, 1), nn.LeakyReLU(0.1),                   # (N, 2w, 7, 14)
            nn.Flatten(), nn.Linear(2 * w * 7 * 14, 1))                        # (N, 1) logits

    def forward(self, x):
        _check_batch(type(self).__name__, x, MIRROR_SHAPE, "images")
        return self.head(self.attend(self.stem(x)))


def sagan(width: int = 16, attention: bool = True, pool: int = 2, z_dim: int = Z_DIM,
          rng=None):
    """(G, D) with attention (pool: its key pooling, see SelfAttention2d) or without, weights
    from N(0, 0.02^2) as Radford et al. (batch-norm scales N(1, 0.02^2), biases 0; rng: a
    Generator, default the shared one). gamma keeps its 0: dcgan_init_ only touches modules
    with a `weight`."""
    if isinstance(width, bool) or not isinstance(width, int) or width < 8:
        raise ValueError(f"sagan: width must be an int >= 8 (the attention's query has "
                         f"width // 8 channels), got {width!r}")
    G = SAGANGenerator(z_dim, width, attention, pool)
    D = SAGANDiscriminator(width, attention, pool)
    for model in (G, D):
        model.apply(lambda m: init.dcgan_init_(m, rng))
    return G, D


def spectral_norm_all(module: nn.Module, rng=None) -> nn.Module:
    """spectral_norm on every Linear, Conv2d and ConvTranspose2d of `module`, in place (
    nn.utils.spectral_norm_layers leaves transposed convolutions out; a generator has them).
    The attention's gamma is a bare Parameter, not a layer: it is never normalized."""
    for layer in [m for m in module.modules()
                  if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d))]:
        nn_utils.spectral_norm(layer, rng=rng() if callable(rng) else rng)
    return module


def attention_blocks(module: nn.Module) -> list:
    """The SelfAttention2d blocks inside `module` (empty without attention)."""
    return [m for m in module.modules() if isinstance(m, nn.SelfAttention2d)]


def gammas(module: nn.Module) -> list:
    """gamma of each attention block of `module`, as floats (empty without attention)."""
    return [float(backend.to_numpy(m.gamma.data)[0]) for m in attention_blocks(module)]


class GammaRecord(Hook):
    """Records gamma of G's and D's attention blocks at every log point of the trainer (when
    trainer.iteration is a multiple of log_every), and once before training: how far the
    networks moved from the identity they started as."""

    def __init__(self, G: nn.Module, D: nn.Module):
        self.G, self.D = G, D
        self.history = {"iteration": [0], "generator": [gammas(G)], "discriminator": [gammas(D)]}

    def after_step(self, trainer) -> None:
        if trainer.iteration % trainer.log_every == 0:
            self.history["iteration"].append(trainer.iteration)
            self.history["generator"].append(gammas(self.G))
            self.history["discriminator"].append(gammas(self.D))

    def as_dict(self) -> dict:
        """The trajectory, JSON-ready: iterations and, per network, one list per block."""
        return {"iteration": list(self.history["iteration"]),
                **{k: [list(col) for col in zip(*self.history[k])]
                   for k in ("generator", "discriminator")}}

    def state_dict(self) -> dict:
        return {"iteration": np.asarray(self.history["iteration"], dtype=np.int64),
                "generator": np.asarray(self.history["generator"], dtype=np.float64),
                "discriminator": np.asarray(self.history["discriminator"], dtype=np.float64)}

    def load_state_dict(self, state: dict) -> None:
        self.history = {"iteration": [int(i) for i in state["iteration"]],
                        **{k: [[float(g) for g in row] for row in np.asarray(state[k])]
                           for k in ("generator", "discriminator")}}


def generator_attention(G: SAGANGenerator, queries, n: int = 4, seed: int = 1234) -> dict:
    """G's attention from query pixels (row, col) of its 28x56 output, read at the 14x28
    feature position (row // 2, col // 2), for n samples z ~ N(0, I) drawn with `seed`, in eval
    mode. Returns {"images": (n, 1, 28, 56), "maps": (n, Q, Hk, Wk) weights over the key grid
    (14 x 28 pooled by the block's pool; each map sums to 1), "queries", "feature_queries"
    (Q, 2)}."""
    blocks = attention_blocks(G)
    if not blocks:
        raise ValueError(f"{type(G).__name__} has no attention (built with attention=False): "
                         "there is no map to show")
    q = np.asarray(queries)
    if q.ndim == 1:
        q = q.reshape(1, -1)
    _, height, width = MIRROR_SHAPE
    if q.ndim != 2 or q.shape[1] != 2 or q.dtype.kind not in "iu" or (q < 0).any() or \
            (q[:, 0] >= height).any() or (q[:, 1] >= width).any():
        raise ValueError(f"queries must be integer (row, col) pixels with 0 <= row < 28 and "
                         f"0 <= col < 56, shape (Q, 2); got {np.asarray(queries).tolist()!r}")
    block = blocks[0]
    z = np.random.default_rng(seed).standard_normal((n, G.z_dim)).astype(np.float32)
    was_training, was_storing = G.training, block.store_attention
    G.eval()
    block.store_attention = True
    try:
        with no_grad():
            images = G(Tensor(backend.to_device(z, G.parameters()[0].device))).numpy()
        attention = backend.to_numpy(block.last_attention)           # (n, 14 * 28, K)
    finally:
        G.train(was_training)
        block.store_attention, block.last_attention = was_storing, None
    fq = q // 2                                                      # (Q, 2) at 14 x 28
    grid = (14 // block.pool, 28 // block.pool)
    maps = attention[:, fq[:, 0] * 28 + fq[:, 1]].reshape(n, len(q), *grid)  # (n, Q, Hk, Wk)
    return {"images": images, "maps": maps, "queries": q, "feature_queries": fq}
