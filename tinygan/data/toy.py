"""Toy distributions for GAN experiments, all mixtures of isotropic Gaussians: a 1D Gaussian and
1D mixtures (with exact densities and CDFs), the 2D ring of 8 Gaussians and the 5x5 grid of 25
(the mode-collapse benchmarks of Metz et al. 2017 and Srivastava et al. 2017).

Sampling is seeded and device-aware: `dist.sample(n, rng=..., device=...)` draws from a passed
generator (tinygan.backend.rng(seed, device)), or else from the device's shared generator
(tg.manual_seed), and returns a Tensor of shape (n, dim) on that device."""
from __future__ import annotations

import math

import numpy as np

from .. import backend
from ..creation import generator
from ..tensor import Tensor


class GaussianMixture:
    """sum_k w_k N(mean_k, std_k^2 I): means (K, dim), stds (K,), weights (K,) summing to 1."""

    def __init__(self, means, stds, weights=None):
        self.means = np.atleast_2d(np.asarray(means, dtype=np.float64))
        if self.means.ndim != 2:
            raise ValueError(f"means must have shape (K, dim), got {np.shape(means)}")
        k = len(self.means)
        self.stds = np.broadcast_to(np.asarray(stds, dtype=np.float64), (k,)).copy()
        if np.any(self.stds <= 0):
            raise ValueError(f"every std must be positive, got {self.stds.tolist()}")
        weights = np.full(k, 1.0 / k) if weights is None else np.asarray(weights, np.float64)
        if weights.shape != (k,) or np.any(weights < 0) or not np.isclose(weights.sum(), 1):
            raise ValueError(f"weights must be {k} non-negative numbers summing to 1, "
                             f"got {np.asarray(weights).tolist()}")
        self.weights = weights

    dim = property(lambda self: self.means.shape[1])
    n_modes = property(lambda self: len(self.means))

    def mean(self) -> np.ndarray:
        return self.weights @ self.means

    def sample(self, n: int, rng=None, device=None, dtype=np.float32) -> Tensor:
        """n samples as a (n, dim) Tensor. Component k is picked by inverse CDF on a uniform
        draw (CuPy's Generator has no choice()), then mean_k + std_k * normal noise."""
        device = backend.resolve_device(device)
        rng = generator(device) if rng is None else rng
        noise = rng.standard_normal((n, self.dim), dtype=np.float64)
        xp = backend.get_array_module(noise)
        if self.n_modes == 1:
            k = xp.zeros(n, dtype=np.int64)
        else:
            cum = xp.asarray(np.cumsum(self.weights))
            u = rng.random(n, dtype=np.float64)
            k = xp.minimum(xp.searchsorted(cum, u, side="right"), self.n_modes - 1)
        x = xp.asarray(self.means)[k] + xp.asarray(self.stds)[k, None] * noise
        return Tensor(backend.to_device(x.astype(dtype), device))

    def density(self, x) -> np.ndarray:
        """The exact density at points x ((n, dim), or (n,) when dim is 1), as a host array."""
        x = np.asarray(x.numpy() if isinstance(x, Tensor) else x, dtype=np.float64)
        x = x.reshape(-1, self.dim)
        sq = ((x[:, None, :] - self.means[None]) ** 2).sum(-1)            # (n, K)
        norm = (2 * np.pi * self.stds ** 2) ** (self.dim / 2)
        return (self.weights * np.exp(-0.5 * sq / self.stds ** 2) / norm).sum(-1)

    def cdf(self, x) -> np.ndarray:
        """P(X <= x) for a 1D mixture: sum_k w_k Phi((x - mean_k) / std_k)."""
        if self.dim != 1:
            raise ValueError(f"cdf is defined for 1D distributions, this one has dim={self.dim}")
        x = np.asarray(x.numpy() if isinstance(x, Tensor) else x, dtype=np.float64)
        t = (x.reshape(-1, 1) - self.means[:, 0]) / (self.stds * math.sqrt(2))
        phi = 0.5 * (1 + erf(t))
        return (phi @ self.weights).reshape(x.shape)

    def __repr__(self):
        return (f"{type(self).__name__}(modes={self.n_modes}, dim={self.dim}, "
                f"stds={np.unique(self.stds).tolist()})")


def erf(t) -> np.ndarray:
    """The error function elementwise on a host array (math.erf; NumPy has none)."""
    t = np.asarray(t, dtype=np.float64)
    return np.frompyfunc(math.erf, 1, 1)(t).astype(np.float64).reshape(t.shape)


def gaussian_1d(mean: float = 0.0, std: float = 1.0) -> GaussianMixture:
    """N(mean, std^2) on the line."""
    return GaussianMixture([[mean]], [std])


def mixture_1d(means, stds, weights=None) -> GaussianMixture:
    """sum_k w_k N(mean_k, std_k^2) on the line (equal weights unless given)."""
    return GaussianMixture(np.asarray(means, dtype=np.float64).reshape(-1, 1), stds, weights)


def _count_of(fn: str, name: str, n) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"{fn}: {name} must be a positive int, got {n!r}")
    return int(n)


def ring_2d(n_modes: int = 8, radius: float = 1.0, std: float = 0.01) -> GaussianMixture:
    """n_modes Gaussians at (r cos 2 pi i/n, r sin 2 pi i/n), i = 0..n-1. The angles stop short
    of 2 pi: linspace(0, 2 pi, n) would put the last mode on top of the first."""
    n_modes = _count_of("ring_2d", "n_modes", n_modes)
    angles = 2 * np.pi * np.arange(n_modes) / n_modes
    return GaussianMixture(radius * np.stack([np.cos(angles), np.sin(angles)], axis=1), std)


def grid_2d(side: int = 5, spacing: float = 2.0, std: float = 0.05) -> GaussianMixture:
    """side x side Gaussians on a grid centred at 0; the default means are {-4,-2,0,2,4}^2."""
    side = _count_of("grid_2d", "side", side)
    ticks = spacing * (np.arange(side) - (side - 1) / 2)
    xs, ys = np.meshgrid(ticks, ticks, indexing="ij")
    return GaussianMixture(np.stack([xs.ravel(), ys.ravel()], axis=1), std)
