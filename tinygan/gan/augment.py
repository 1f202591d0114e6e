"""Differentiable augmentation for small data (DiffAugment: Zhao, Liu, Lin, Zhu & Han 2020,
arXiv 2006.10738): every image the discriminator sees, real or generated, in D's steps and in
G's, is randomly translated and cut out inside the graph, so G's gradient flows back through
the augmentation. D then cannot memorize the few thousand training images, and G is not
taught to draw the augmentations (both distributions are augmented alike).

    translate(x, ratio, rng)   each image shifted by up to ratio * size pixels in each
                               direction, zeros shifted in (Zhao et al.: 1/8)
    cutout(x, ratio, rng)      a square of ratio * size pixels set to 0 at a random place
                               (Zhao et al.: 1/2; DeVries & Taylor 2017, arXiv 1708.04552)
    DiffAugment(D, policy)     D(augment(x)) in train mode, D(x) in eval mode
"""
from __future__ import annotations

from .. import backend
from ..nn import Module
from ..ops import pad
from ..tensor import Tensor
from .trainer import Hook

__all__ = ["POLICIES", "translate", "cutout", "DiffAugment", "AugmentState"]

POLICIES = ("translation", "cutout")


def _images(x: Tensor, what: str) -> None:
    if x.ndim != 4:
        raise ValueError(f"{what} takes images (N, C, H, W), got shape {x.shape}")


def translate(x: Tensor, ratio: float, rng) -> Tensor:
    """x (N, C, H, W) with image n moved by (dy_n, dx_n), |d| <= round(ratio * size), zeros
    filling in; df/dx moves the gradient back (an integer-array gather)."""
    _images(x, "translate")
    n, c, h, w = x.shape
    sy, sx = int(h * ratio + 0.5), int(w * ratio + 0.5)
    xp = backend.get_array_module(x.data)
    dy = rng.integers(-sy, sy + 1, (n, 1, 1, 1))
    dx = rng.integers(-sx, sx + 1, (n, 1, 1, 1))
    padded = pad(x, ((0, 0), (0, 0), (sy, sy), (sx, sx)))          # (N, C, H + 2sy, W + 2sx)
    rows = xp.arange(h).reshape(1, 1, h, 1) + sy - dy                # (N, 1, H, 1)
    cols = xp.arange(w).reshape(1, 1, 1, w) + sx - dx                # (N, 1, 1, W)
    return padded[xp.arange(n).reshape(n, 1, 1, 1), xp.arange(c).reshape(1, c, 1, 1), rows, cols]


def cutout(x: Tensor, ratio: float, rng) -> Tensor:
    """x (N, C, H, W) times a mask that is 0 on a (ratio*H, ratio*W) square centred anywhere in
    the image (clipped at the border) and 1 elsewhere; df/dx is the mask."""
    _images(x, "cutout")
    n, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    xp = backend.get_array_module(x.data)
    cy = rng.integers(0, h + (1 - ch % 2), (n, 1, 1))
    cx = rng.integers(0, w + (1 - cw % 2), (n, 1, 1))
    ys, xs = xp.arange(h).reshape(1, h, 1), xp.arange(w).reshape(1, 1, w)
    inside = ((ys >= cy - ch // 2) & (ys < cy - ch // 2 + ch)
              & (xs >= cx - cw // 2) & (xs < cx - cw // 2 + cw))      # (N, H, W)
    return x * Tensor((~inside[:, None]).astype(x.dtype))


class DiffAugment(Module):
    """D(augment(x)) for every input in train mode (the same policy for real and fake), plain
    D(x) in eval mode. policy: names from POLICIES, applied in that order; random numbers from
    its own generator (seeded; AugmentState checkpoints it)."""

    def __init__(self, discriminator: Module, policy=POLICIES, translation: float = 0.125,
                 cutout: float = 0.5, seed=None, device=None):
        policy = tuple(policy)
        unknown = [p for p in policy if p not in POLICIES]
        if unknown:
            raise ValueError(f"DiffAugment: unknown policy {unknown}; valid: {POLICIES}")
        for name, r in (("translation", translation), ("cutout", cutout)):
            if not 0 <= r <= 1:
                raise ValueError(f"DiffAugment: the {name} ratio must lie in [0, 1], got {r}")
        self.discriminator, self.policy = discriminator, policy
        self.ratios = {"translation": translation, "cutout": cutout}
        self.rng = backend.rng(seed, backend.resolve_device(device))

    def augment(self, x: Tensor) -> Tensor:
        for p in self.policy:
            x = (translate if p == "translation" else cutout)(x, self.ratios[p], self.rng)
        return x

    def forward(self, x: Tensor) -> Tensor:
        return self.discriminator(self.augment(x) if self.training else x)

    def extra_repr(self):
        return f"policy={self.policy}, ratios={self.ratios}"


class AugmentState(Hook):
    """Checkpoints a DiffAugment's random stream, so a resumed run draws the same shifts."""

    def __init__(self, augment: DiffAugment):
        self.augment = augment

    def state_dict(self) -> dict:
        return {"rng": self.augment.rng.bit_generator.state}

    def load_state_dict(self, state: dict) -> None:
        self.augment.rng.bit_generator.state = state["rng"]
