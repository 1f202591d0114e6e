"""LAPGAN (Denton, Chintala, Szlam & Fergus 2015, arXiv 1506.05751) on digits 7 -> 14 -> 28:
a GAN draws the 7x7 low-pass image, and at each finer level a conditional GAN draws the
missing Laplacian detail h given the upsampled coarser image l = u(I_{k+1}) and a plane of
noise, so the image is built coarse to fine (tinygan.data.pyramid has d, u and the pyramid).

Each level is trained on its own, on real pyramids (section 3.2): level k's D sees [l, l + h]
with h real (from the pyramid) or drawn by G_k(l, noise), both conditioned on the same real l.
Only sampling chains the levels: I_2 = G_0(z), I_1 = u(I_2) + G_1(u(I_2), n_1), I_0 = u(I_1) +
G_2(u(I_1), n_2).
"""
from __future__ import annotations

from .. import nn
from .. import functional as F
from ..data import pyramid
from ..ops import concatenate
from ..tensor import Tensor
from .models import _check_batch

SIZES = (7, 14, 28)   # the pyramid's images, coarsest first
COARSE_Z = 32         # z of the 7x7 GAN


class CoarseGenerator(nn.Module):
    """z (N, 32) -> the low-pass image (N, 1, 7, 7): an MLP, batch norm, tanh."""

    def __init__(self, z_dim: int = COARSE_Z, hidden: int = 256):
        self.z_dim = z_dim
        self.net = nn.Sequential(
            nn.Linear(z_dim, hidden), nn.BatchNorm1d(hidden), nn.ReLU(),   # (N, 256)
            nn.Linear(hidden, hidden), nn.BatchNorm1d(hidden), nn.ReLU(),  # (N, 256)
            nn.Linear(hidden, 49), nn.Tanh(), nn.Unflatten(1, (1, 7, 7)))  # (N, 1, 7, 7)

    def forward(self, z):
        _check_batch(type(self).__name__, z, (self.z_dim,), "z")
        return self.net(z)


class CoarseDiscriminator(nn.Module):
    """7x7 image (N, 1, 7, 7) -> logit (N, 1): an MLP with LeakyReLU and dropout."""

    def __init__(self, hidden: int = 256, dropout: float = 0.3):
        self.net = nn.Sequential(
            nn.Flatten(), nn.Linear(49, hidden), nn.LeakyReLU(0.2), nn.Dropout(dropout),
            nn.Linear(hidden, hidden), nn.LeakyReLU(0.2), nn.Dropout(dropout),
            nn.Linear(hidden, 1))                                          # (N, 1)

    def forward(self, x):
        _check_batch(type(self).__name__, x, (1, 7, 7), "7x7 images")
        return self.net(x)


class DetailGenerator(nn.Module):
    """[l | noise] (N, 2, S, S) -> [l | h] (N, 2, S, S): the detail h of one level drawn from
    the upsampled coarser image l and a noise plane, l passed on for D (the trainer's packing).
    Three 3x3 convolutions; h is linear (detail is signed and small)."""

    def __init__(self, size: int, width: int = 32):
        self.size = size
        self.net = nn.Sequential(
            nn.Conv2d(2, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(),     # (N, w, S, S)
            nn.Conv2d(width, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(),
            nn.Conv2d(width, 1, 3, padding=1))                                       # (N, 1, S, S)

    def forward(self, packed):
        _check_batch(type(self).__name__, packed, (2, self.size, self.size),
                     "packed input [upsampled coarse image | noise plane]")
        return concatenate([packed[:, :1], self.net(packed)], axis=1)              # (N, 2, S, S)

    def detail(self, coarse_up, noise) -> Tensor:
        """h (N, 1, S, S) for the upsampled coarser image and a noise plane."""
        return self.forward(concatenate([coarse_up, noise], axis=1))[:, 1:]


class DetailDiscriminator(nn.Module):
    """[l | h] (N, 2, S, S) -> logit (N, 1): judges the image l + h with l beside it (the paper
    adds the low-pass to the detail before the first convolution)."""

    def __init__(self, size: int, width: int = 32, dropout: float = 0.3):
        self.size = size
        out = (size + 1) // 2
        out = (out + 1) // 2                                   # two stride-2 convolutions
        self.net = nn.Sequential(
            nn.Conv2d(2, width, 4, 2, 1) if size % 4 == 0 else nn.Conv2d(2, width, 3, 2, 1),
            nn.LeakyReLU(0.2),                                                # (N, w, S/2, S/2)
            nn.Conv2d(width, 2 * width, 3, 2, 1), nn.LeakyReLU(0.2),           # (N, 2w, S/4, S/4)
            nn.Dropout(dropout), nn.Flatten(), nn.Linear(2 * width * out * out, 1))  # (N, 1)

    def forward(self, packed):
        _check_batch(type(self).__name__, packed, (2, self.size, self.size),
                     "packed sample [upsampled coarse image | detail]")
        l, h = packed[:, :1], packed[:, 1:]
        return self.net(concatenate([l, l + h], axis=1))


class LAPGAN(nn.Module):
    """The sampler: z (N, 32 + 14*14 + 28*28) -> digits (N, 1, 28, 28), coarse to fine, clipped
    to [-1, 1]. z holds all of a sample's randomness: the 7x7 GAN's 32 numbers, then the noise
    planes of the 14x14 and the 28x28 levels (so a seeded z gives the same digit every time).
    `levels(z)` returns every level's image [7x7, 14x14, 28x28] (for drawing the pyramid)."""

    def __init__(self, width: int = 32):
        self.coarse = CoarseGenerator()
        self.details = nn.Sequential(DetailGenerator(14, width), DetailGenerator(28, width))
        self.z_dim = self.coarse.z_dim + sum(s * s for s in SIZES[1:])

    def levels(self, z) -> list:
        _check_batch(type(self).__name__, z, (self.z_dim,), "z [z_7x7 | noise 14x14 | noise "
                     "28x28]")
        n, start = z.shape[0], self.coarse.z_dim
        images = [self.coarse(z[:, :start])]                               # (N, 1, 7, 7)
        for g, size in zip(self.details, SIZES[1:]):
            up = pyramid.upsample(images[-1])                              # (N, 1, S, S)
            noise = z[:, start:start + size * size].reshape(n, 1, size, size)
            start += size * size
            images.append(up + g.detail(up, noise))
        return images

    def forward(self, z):
        return F.clip(self.levels(z)[-1], -1.0, 1.0)                       # (N, 1, 28, 28)


def lapgan(width: int = 32):
    """(the LAPGAN sampler, [D_7, D_14, D_28]) with PyTorch's default initialisation."""
    return LAPGAN(width), [CoarseDiscriminator(), DetailDiscriminator(14, width),
                           DetailDiscriminator(28, width)]
