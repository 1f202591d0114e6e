"""InfoGAN (Chen, Duan, Houthooft, Schulman, Sutskever & Abbeel 2016, arXiv 1606.03657): codes c
beside the noise z, and a network Q that reads them back from G's output.

G's input is [z | c]: z ~ N(0, I) (62 numbers, as the paper's MNIST model), c = [one-hot c1 |
c2, c3] with c1 ~ Cat(10) and c2, c3 ~ U(-1, 1). Q shares D's trunk: D's output is
[source logit | Q's 10 category logits | 2 means | 2 log standard deviations]. The mutual
information I(c; G(z, c)) has the variational lower bound (the paper's Lemma 5.1)

    L_I = E[log Q(c | x)] + H(c) <= I(c; G(z, c)),

which both G and Q raise: their losses gain lambda * (-E[log Q(c | x)]), a cross-entropy for
c1 and a Gaussian negative log-likelihood for c2 and c3. H(c1) = ln 10 is the bound's ceiling
for the categorical code (reached when Q recovers c1 from every image).

The trainer passes one tensor each way, so G's samples travel packed as [flattened image |
c] (N, 784 + 12) (PackedInfoGenerator) and D reads the image part (PackedInfoDiscriminator); real
rows carry zeros in the code columns, which nothing reads.
"""
from __future__ import annotations

import math

import numpy as np

from .. import backend
from .. import functional as F
from .. import nn
from ..ops import concatenate
from ..tensor import Tensor
from .models import IMAGE_SHAPE, IMAGE_SIZE, MLPGenerator, _check_batch
from .trainer import Hook

Z_DIM, CATEGORIES, CONTINUOUS = 62, 10, 2
PRIORS = ("uniform", "normal")


class InfoGenerator(nn.Module):
    """[z | one-hot c1 | c2..] (N, z_dim + K + C) -> image (N, 1, 28, 28): the MLP generator of
    lesson 7 on the longer input (the paper's MNIST G is convolutional)."""

    def __init__(self, z_dim: int = Z_DIM, categories: int = CATEGORIES,
                 continuous: int = CONTINUOUS, hidden: int = 500):
        self.z_dim, self.categories, self.continuous = z_dim, categories, continuous
        self.code_dim = categories + continuous
        self.body = MLPGenerator(z_dim, hidden, in_extra=self.code_dim)

    def forward(self, zc):
        _check_batch(type(self).__name__, zc, (self.z_dim + self.code_dim,), "[z | c]")
        return self.body(zc)


class InfoDiscriminator(nn.Module):
    """image (N, 1, 28, 28) -> [source logit | Q(c | x)] (N, 1 + K + 2C). The trunk is the MLP
    GAN's D (784 -> 500 -> 500, LeakyReLU(0.2), dropout); Q adds a hidden layer of 128 (as the
    paper's Q) and outputs K category logits, C means and C log standard deviations."""

    def __init__(self, categories: int = CATEGORIES, continuous: int = CONTINUOUS,
                 hidden: int = 500, dropout: float = 0.3):
        self.categories, self.continuous = categories, continuous
        self.trunk = nn.Sequential(
            nn.Flatten(),                                                  # (N, 784)
            nn.Linear(IMAGE_SIZE, hidden), nn.LeakyReLU(0.2), nn.Dropout(dropout),
            nn.Linear(hidden, hidden), nn.LeakyReLU(0.2), nn.Dropout(dropout))  # (N, 500)
        self.source = nn.Linear(hidden, 1)
        self.q = nn.Sequential(nn.Linear(hidden, 128), nn.LeakyReLU(0.2),
                               nn.Linear(128, categories + 2 * continuous))

    def forward(self, x):
        _check_batch(type(self).__name__, x, IMAGE_SHAPE, "images")
        h = self.trunk(x)
        return concatenate([self.source(h), self.q(h)], axis=1)            # (N, 1 + K + 2C)

    def infer(self, x):
        """Q's reading of images: (category logits (N, K), means (N, C), log stds (N, C))."""
        q = self.q(self.trunk(x))
        k, c = self.categories, self.continuous
        return q[:, :k], q[:, k:k + c], q[:, k + c:]


class PackedInfoGenerator(nn.Module):
    """[z | c] -> [flattened image | c] (N, 784 + K + C): the codes travel with the sample."""

    def __init__(self, generator: InfoGenerator):
        self.generator = generator

    def forward(self, zc):
        image = self.generator(zc).reshape(zc.shape[0], IMAGE_SIZE)        # (N, 784)
        return concatenate([image, zc[:, self.generator.z_dim:]], axis=1)


class PackedInfoDiscriminator(nn.Module):
    """[flattened image | c] -> D's output on the image part."""

    def __init__(self, discriminator: InfoDiscriminator):
        self.discriminator = discriminator

    def forward(self, xc):
        return self.discriminator(xc[:, :IMAGE_SIZE].reshape(xc.shape[0], *IMAGE_SHAPE))


def info_noise(z_dim: int = Z_DIM, categories: int = CATEGORIES,
               continuous: int = CONTINUOUS, prior: str = "uniform"):
    """noise(m, rng) -> [z | one-hot c1 | c2..] (m, z_dim + K + C): z ~ N(0, I), c1 uniform over
    the K categories, the continuous codes U(-1, 1) (prior "uniform", the paper's) or N(0, 1)."""
    if prior not in PRIORS:
        raise ValueError(f"info_noise: prior must be one of {PRIORS}, got {prior!r}")

    def sample(m: int, rng) -> Tensor:
        z = rng.standard_normal((m, z_dim), dtype=np.float32)
        xp = backend.get_array_module(z)
        c1 = xp.eye(categories, dtype=np.float32)[rng.integers(0, categories, m)]
        c2 = (2 * rng.random((m, continuous), dtype=np.float32) - 1 if prior == "uniform"
              else rng.standard_normal((m, continuous), dtype=np.float32))
        return Tensor(xp.concatenate([z, c1, c2], axis=1))
    return sample


def information_terms(q_out: Tensor, codes: Tensor, categories: int = CATEGORIES,
                      continuous: int = CONTINUOUS):
    """(-E log Q(c1 | x), -E log Q(c2.. | x)): the categorical code's cross-entropy and the
    continuous codes' Gaussian negative log-likelihood, sum over codes of
    (c - mu)^2 / (2 sigma^2) + log sigma + log(2 pi) / 2, both means over the batch. q_out: Q's
    [K logits | C means | C log stds] (N, K + 2C); codes: [one-hot c1 | c2..] (N, K + C)."""
    k, c = categories, continuous
    if q_out.ndim != 2 or q_out.shape[1] != k + 2 * c or codes.shape != (q_out.shape[0], k + c):
        raise ValueError(f"information_terms: need Q's output (N, {k + 2 * c}) and codes "
                         f"(N, {k + c}), got {q_out.shape} and {codes.shape}")
    cat = F.cross_entropy(q_out[:, :k], codes[:, :k])
    if c == 0:
        return cat, None
    mu, log_std = q_out[:, k:k + c], q_out[:, k + c:]
    err = (codes[:, k:] - mu) * (-log_std).exp()
    nll = (0.5 * err * err + log_std).sum(axis=1).mean() + 0.5 * c * math.log(2 * math.pi)
    return cat, nll


def mutual_information_bound(cat_loss: float, categories: int = CATEGORIES) -> float:
    """L_I for the categorical code: H(c1) - CE = ln K - CE (nats); ln K when Q is perfect."""
    return math.log(categories) - float(cat_loss)


class MutualInformation(Hook):
    """lambda_cat * CE(c1) + lambda_cont * NLL(c2..) on G's samples, added to D's loss (it
    trains Q and the trunk; the samples are constants there) and to G's (it trains G). D's
    output after its first column is Q's; the codes are the packed sample's last columns."""

    def __init__(self, categories: int = CATEGORIES, continuous: int = CONTINUOUS,
                 lambda_cat: float = 1.0, lambda_cont: float = 0.1):
        if lambda_cat < 0 or lambda_cont < 0:
            raise ValueError(f"MutualInformation: the weights must be >= 0, got {lambda_cat} "
                             f"and {lambda_cont}")
        self.k, self.c = categories, continuous
        self.lambda_cat, self.lambda_cont = float(lambda_cat), float(lambda_cont)
        self.last = None

    def _loss(self, fake, logits):
        cat, cont = information_terms(logits[:, 1:], fake[:, IMAGE_SIZE:], self.k, self.c)
        self.last = (cat.data, None if cont is None else cont.data)
        return self.lambda_cat * cat + (0 if cont is None else self.lambda_cont * cont)

    def d_loss(self, trainer, real, fake, real_logits, fake_logits):
        return self._loss(fake, fake_logits)

    def g_loss(self, trainer, fake, fake_logits):
        return self._loss(fake, fake_logits)


def infogan(categories: int = CATEGORIES, continuous: int = CONTINUOUS, z_dim: int = Z_DIM,
            hidden: int = 500, dropout: float = 0.3):
    """(G, D) of the MLP InfoGAN, PyTorch's default initialisation."""
    return (InfoGenerator(z_dim, categories, continuous, hidden),
            InfoDiscriminator(categories, continuous, hidden, dropout))
