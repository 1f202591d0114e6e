"""StackGAN (Zhang, Xu, Li, Zhang, Wang, Huang & Metaxas 2017, arXiv 1612.03242) for digits: a
caption embedding e (tinygan.data.captions) drawn as a rough 14x14 digit by Stage I, then
refined to 28x28 by Stage II, which reads the Stage I image and the caption again.

- Conditioning Augmentation (CA, the paper's section 3.1): a linear layer maps e to mu and
  log sigma^2; the generator gets c = mu + sigma * eps, eps ~ N(0, I), and its loss gains
  KL(N(mu, diag sigma^2) || N(0, I)) = 1/2 sum_j (mu_j^2 + sigma_j^2 - log sigma_j^2 - 1).
  Off (the ablation), c is a plain linear map of e and there is no KL. Unlike the official
  code there is no ReLU on [mu | log sigma^2] (it would force sigma >= 1).
- The matching-aware discriminator (GAN-INT-CLS, Reed et al. 2016, arXiv 1605.05396): D sees
  (real image, right caption) -> real, (fake image, right caption) -> fake and (real image,
  wrong caption) -> fake, weighted 1, 1/2 and 1/2 as the official code's
  `errD_real + (errD_fake + errD_wrong) * 0.5`.

The trainer passes one tensor each way, so the samples travel packed: rows [flattened image |
e | KL] (the KL column is the CA's per-sample divergence, 0 for real rows; only the KL hook
reads it), and the noise is [z | e] for Stage I and [Stage I image | e] for Stage II.
"""
from __future__ import annotations

import math

import numpy as np

from .. import backend, creation
from .. import functional as F
from .. import init, nn
from ..ops import concatenate
from ..tensor import Tensor, no_grad
from . import losses
from .models import _check_batch
from .stages import StagedTrainer
from .trainer import Hook

Z_DIM, COND_DIM, LOW, HIGH = 64, 16, 14, 28


def kl_divergence(mu: Tensor, logvar: Tensor) -> Tensor:
    """KL(N(mu, diag e^logvar) || N(0, I)) per row (N, 1): 1/2 sum_j (mu^2 + e^logvar -
    logvar - 1); 0 exactly at mu = 0, logvar = 0."""
    return 0.5 * (mu * mu + logvar.exp() - logvar - 1).sum(axis=1, keepdims=True)


def caption_gain(embed_dim: int) -> float:
    """sqrt(E): a bag of unit word vectors has components of about 1/sqrt(E); the layers that
    read a caption scale it by this so its components are of order one."""
    return math.sqrt(embed_dim)


class ConditioningAugmentation(nn.Module):
    """e (N, E) -> (c (N, C), KL (N, 1)). With enabled: [mu | log sigma^2] = W g e + b (g =
    caption_gain) and c = mu + sigma * eps, eps ~ N(0, I) from the device's shared generator
    (or `eps` given); disabled: c = W g e + b and a zero KL. It samples in eval mode too: the
    paper's test-time diversity comes from it."""

    def __init__(self, embed_dim: int = 32, cond_dim: int = COND_DIM, enabled: bool = True):
        self.embed_dim, self.cond_dim, self.enabled = embed_dim, cond_dim, bool(enabled)
        self.gain = caption_gain(embed_dim)
        self.fc = nn.Linear(embed_dim, 2 * cond_dim if enabled else cond_dim)

    def forward(self, e, eps=None):
        _check_batch(type(self).__name__, e, (self.embed_dim,), "caption embeddings")
        h = self.fc(e * self.gain)
        if not self.enabled:
            xp = backend.get_array_module(h.data)
            return h, Tensor(xp.zeros((h.shape[0], 1), dtype=h.dtype))
        d = self.cond_dim
        mu, logvar = h[:, :d], h[:, d:]                                    # (N, C) each
        if eps is None:
            eps = creation.randn(h.shape[0], d, dtype=h.dtype, device=h.device)
        _check_batch(type(self).__name__, eps, (d,), "eps")
        return mu + (0.5 * logvar).exp() * eps, kl_divergence(mu, logvar)

    def extra_repr(self):
        return f"{self.embed_dim} -> {self.cond_dim}, enabled={self.enabled}"


def up_block(c_in: int, c_out: int) -> nn.Sequential:
    """x2 by a 4x4 transposed convolution (stride 2), batch norm, ReLU. The official code's
    upBlock is nearest upsampling and a 3x3 convolution; this is DCGAN's, and on one CPU
    thread 1.6x (at 14 -> 28) to 2.7x (at 7 -> 14) faster for the same channels."""
    return nn.Sequential(nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False),
                         nn.BatchNorm2d(c_out), nn.ReLU())


class ResBlock(nn.Module):
    """relu(x + BN(conv(relu(BN(conv(x)))))), 3x3 convolutions keeping (N, C, H, W)."""

    def __init__(self, channels: int):
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, 1, 1, bias=False), nn.BatchNorm2d(channels),
            nn.ReLU(),
            nn.Conv2d(channels, channels, 3, 1, 1, bias=False), nn.BatchNorm2d(channels))

    def forward(self, x):
        return (x + self.body(x)).relu()


def _replicate(c: Tensor, size: int) -> Tensor:
    """(N, C) -> (N, C, size, size): the vector at every pixel (to join a feature map)."""
    n, d = c.shape
    return c.reshape(n, d, 1, 1).broadcast_to((n, d, size, size))


class StageIGenerator(nn.Module):
    """(z (N, z_dim), e (N, E)) -> image (N, 1, 14, 14): [c | z] -> 2w x 7 x 7 -> up_block to
    w x 14 x 14 -> 3x3 convolution, tanh. with_kl also returns the CA's KL (N, 1)."""

    def __init__(self, z_dim: int = Z_DIM, embed_dim: int = 32, cond_dim: int = COND_DIM,
                 width: int = 32, ca: bool = True):
        self.z_dim, self.embed_dim, w = z_dim, embed_dim, width
        self.ca = ConditioningAugmentation(embed_dim, cond_dim, ca)
        self.fc = nn.Sequential(nn.Linear(cond_dim + z_dim, 2 * w * 7 * 7, bias=False),
                                nn.BatchNorm1d(2 * w * 7 * 7), nn.ReLU(),
                                nn.Unflatten(1, (2 * w, 7, 7)))            # (N, 2w, 7, 7)
        self.up = up_block(2 * w, w)                                       # (N, w, 14, 14)
        self.img = nn.Conv2d(w, 1, 3, 1, 1)                                # (N, 1, 14, 14)

    def with_kl(self, z, e, eps=None):
        _check_batch(type(self).__name__, z, (self.z_dim,), "z")
        c, kl = self.ca(e, eps)
        return self.img(self.up(self.fc(concatenate([c, z], axis=1)))).tanh(), kl

    def forward(self, z, e, eps=None):
        return self.with_kl(z, e, eps)[0]


class StageIIGenerator(nn.Module):
    """(Stage I image (N, 1, 14, 14), e (N, E)) -> image (N, 1, 28, 28): an encoder down to
    2w x 7 x 7, the caption's own CA joined at every pixel, a 3x3 convolution, residual
    blocks, two up_blocks (to w/2 x 28 x 28 after 14x14) and a 3x3 convolution, tanh. No z:
    its randomness is the Stage I image's and its CA's (as the paper)."""

    def __init__(self, embed_dim: int = 32, cond_dim: int = COND_DIM, width: int = 32,
                 res_blocks: int = 2, ca: bool = True):
        self.embed_dim, w = embed_dim, width
        self.ca = ConditioningAugmentation(embed_dim, cond_dim, ca)
        self.encoder = nn.Sequential(
            nn.Conv2d(1, w, 3, 1, 1), nn.ReLU(),                           # (N, w, 14, 14)
            nn.Conv2d(w, 2 * w, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * w),
            nn.ReLU())                                                     # (N, 2w, 7, 7)
        self.joint = nn.Sequential(
            nn.Conv2d(2 * w + cond_dim, 2 * w, 3, 1, 1, bias=False), nn.BatchNorm2d(2 * w),
            nn.ReLU())                                                     # (N, 2w, 7, 7)
        self.residual = nn.Sequential(*[ResBlock(2 * w) for _ in range(res_blocks)])
        self.up = nn.Sequential(up_block(2 * w, w), up_block(w, max(1, w // 2)))
        self.img = nn.Conv2d(max(1, w // 2), 1, 3, 1, 1)                   # (N, 1, 28, 28)

    def with_kl(self, low, e, eps=None):
        _check_batch(type(self).__name__, low, (1, LOW, LOW), "Stage I images")
        c, kl = self.ca(e, eps)
        h = self.encoder(low)                                              # (N, 2w, 7, 7)
        h = self.joint(concatenate([h, _replicate(c, 7)], axis=1))
        return self.img(self.up(self.residual(h))).tanh(), kl

    def forward(self, low, e, eps=None):
        return self.with_kl(low, e, eps)[0]


class CaptionDiscriminator(nn.Module):
    """(image (N, 1, S, S), e (N, E)) -> logit (N, 1), S = 14 or 28: strided convolutions down
    to k x 4 x 4, the caption compressed by a linear layer (to `compress`) joined at every
    pixel, a 3x3 convolution and a 4x4 one to the logit (the paper's D, as its code)."""

    def __init__(self, size: int = HIGH, embed_dim: int = 32, width: int = 32,
                 compress: int = COND_DIM):
        if size not in (LOW, HIGH):
            raise ValueError(f"CaptionDiscriminator: size must be {LOW} or {HIGH}, got {size}")
        self.size, self.embed_dim, w = size, embed_dim, width
        layers = [nn.Conv2d(1, w, 4, 2, 1), nn.LeakyReLU(0.2)]            # (N, w, S/2, S/2)
        if size == HIGH:
            layers += [nn.Conv2d(w, 2 * w, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * w),
                       nn.LeakyReLU(0.2)]                                  # (N, 2w, 7, 7)
            w *= 2
        layers += [nn.Conv2d(w, 2 * w, 3, 2, 1, bias=False), nn.BatchNorm2d(2 * w),
                   nn.LeakyReLU(0.2)]                                      # (N, k, 4, 4)
        self.channels = k = 2 * w
        self.encode = nn.Sequential(*layers)
        self.gain = caption_gain(embed_dim)
        self.text = nn.Linear(embed_dim, compress)
        self.logits = nn.Sequential(
            nn.Conv2d(k + compress, k, 3, 1, 1, bias=False), nn.BatchNorm2d(k),
            nn.LeakyReLU(0.2), nn.Conv2d(k, 1, 4, 4), nn.Flatten())        # (N, 1)

    def forward(self, x, e):
        _check_batch(type(self).__name__, x, (1, self.size, self.size), "images")
        _check_batch(type(self).__name__, e, (self.embed_dim,), "caption embeddings")
        h = self.encode(x)                                                 # (N, k, 4, 4)
        t = F.leaky_relu(self.text(e * self.gain), 0.2)                   # (N, compress)
        return self.logits(concatenate([h, _replicate(t, 4)], axis=1))


def init_weights(*modules) -> None:
    """Radford et al.'s N(0, 0.02^2) for every convolution, linear layer and batch norm (the
    official code's weights_init), except the layers that read a caption (the CA's and D's
    compression), which keep PyTorch's U(+-1/sqrt(E)): at 0.02 the CA's mu starts near 0.01
    against sigma = 1, and the caption is lost in the CA's noise for the first thousand
    iterations (all a short run has)."""
    for m in modules:
        m.apply(init.dcgan_init_)
        for sub in m.modules():
            if isinstance(sub, ConditioningAugmentation):
                init.default_init_(sub.fc)
            elif isinstance(sub, CaptionDiscriminator):
                init.default_init_(sub.text)


class StackGANGenerator(nn.Module):
    """Both stages as one generator: (z, e) -> Stage II's image (N, 1, 28, 28); `both` gives
    (Stage I image (N, 1, 14, 14), Stage II image)."""

    def __init__(self, stage1: StageIGenerator, stage2: StageIIGenerator):
        self.stage1, self.stage2 = stage1, stage2
        self.z_dim, self.embed_dim = stage1.z_dim, stage1.embed_dim

    def both(self, z, e):
        low = self.stage1(z, e)
        return low, self.stage2(low, e)

    def forward(self, z, e):
        return self.both(z, e)[1]


# ---------------------------------------------------------------- packed rows for the Trainer


class PackedStageI(nn.Module):
    """[z | e] (N, z_dim + E) -> [flattened image | e | KL] (N, 196 + E + 1)."""

    def __init__(self, generator: StageIGenerator):
        self.generator = generator

    def forward(self, ze):
        z_dim = self.generator.z_dim
        image, kl = self.generator.with_kl(ze[:, :z_dim], ze[:, z_dim:])
        return concatenate([image.reshape(ze.shape[0], LOW * LOW), ze[:, z_dim:], kl], axis=1)


class PackedStageII(nn.Module):
    """[flattened Stage I image | e] (N, 196 + E) -> [flattened image | e | KL] (N, 784 + E + 1)."""

    def __init__(self, generator: StageIIGenerator):
        self.generator = generator

    def forward(self, le):
        n, k = le.shape[0], LOW * LOW
        image, kl = self.generator.with_kl(le[:, :k].reshape(n, 1, LOW, LOW), le[:, k:])
        return concatenate([image.reshape(n, HIGH * HIGH), le[:, k:], kl], axis=1)


class PackedCaptionDiscriminator(nn.Module):
    """[flattened image | e | anything] -> D(image, e): the columns after e go unread."""

    def __init__(self, discriminator: CaptionDiscriminator):
        self.discriminator = discriminator

    def forward(self, rows):
        s, e = self.discriminator.size, self.discriminator.embed_dim
        return self.discriminator(rows[:, :s * s].reshape(rows.shape[0], 1, s, s),
                                  rows[:, s * s:s * s + e])


def packed_rows(images: np.ndarray, embeddings: np.ndarray) -> np.ndarray:
    """Real rows [flattened image | e | 0] (N, S*S + E + 1) float32."""
    images, embeddings = np.asarray(images, np.float32), np.asarray(embeddings, np.float32)
    if images.ndim != 4 or embeddings.ndim != 2 or len(images) != len(embeddings):
        raise ValueError(f"packed_rows: need images (N, 1, S, S) and embeddings (N, E), got "
                         f"{images.shape} and {embeddings.shape}")
    flat = images.reshape(len(images), -1)
    return np.concatenate([flat, embeddings, np.zeros((len(flat), 1), np.float32)], axis=1)


# ---------------------------------------------------------------- the losses


def mismatched(embeddings) -> np.ndarray:
    """For each row i the index j of a caption that differs from row i's: the first differing
    row after i (cyclically), so rolling the batch by one except where that would repeat the
    same facts; a row whose caption every row shares keeps i + 1. embeddings: raw (N, E)
    array (numpy or cupy); the indices come back on its device."""
    xp = backend.get_array_module(embeddings)
    n = embeddings.shape[0]
    if embeddings.ndim != 2 or n < 2:
        raise ValueError(f"mismatched: need at least 2 captions (N, E), got {embeddings.shape}")
    shifts = xp.arange(1, n)
    order = (xp.arange(n)[:, None] + shifts[None, :]) % n                 # (N, N-1)
    differ = xp.abs(embeddings[order] - embeddings[:, None, :]).max(axis=2) > 1e-6
    first = xp.where(differ.any(axis=1), differ.argmax(axis=1), 0)
    return order[xp.arange(n), first]


def matching_objective(fake_weight: float = 0.5):
    """(d_loss, g_loss) for the Trainer: D's E[softplus(-real)] + fake_weight E[softplus(fake)]
    (the wrong-caption term is MatchingAware's), G's non-saturating loss."""
    if not fake_weight >= 0:
        raise ValueError(f"matching_objective: fake_weight must be >= 0, got {fake_weight}")

    def d_loss(real_logits, fake_logits):
        return F.softplus(-real_logits).mean() + fake_weight * F.softplus(fake_logits).mean()
    return d_loss, losses.g_nonsaturating


class MatchingAware(Hook):
    """D's third term: weight * E[softplus(D(real image, wrong caption))], the wrong caption
    another row's (mismatched) whose facts differ. image_size: S*S columns before e in the
    packed rows. last: mean D on the wrong pairs (probability) at the latest D step."""

    def __init__(self, image_size: int, embed_dim: int, weight: float = 0.5):
        if not weight >= 0:
            raise ValueError(f"MatchingAware: weight must be >= 0, got {weight}")
        self.k, self.e, self.weight, self.last = image_size, embed_dim, float(weight), None

    def wrong_rows(self, real: Tensor) -> Tensor:
        """The real rows with each caption replaced by a mismatched one (constants)."""
        x = real.data
        xp = backend.get_array_module(x)
        caps = x[:, self.k:self.k + self.e]
        return Tensor(xp.concatenate([x[:, :self.k], caps[mismatched(caps)],
                                      x[:, self.k + self.e:]], axis=1))

    def d_loss(self, trainer, real, fake, real_logits, fake_logits):
        if self.weight == 0:
            return None
        logits = trainer.D(self.wrong_rows(real))
        self.last = 0.5 * (1 + backend.get_array_module(logits.data).tanh(0.5 * logits.data)
                           ).mean()
        return self.weight * F.softplus(logits).mean()


class KLPenalty(Hook):
    """G's loss gains weight * mean over the batch of KL / cond_dim, the KL read from the packed
    samples' last column: the official code's COEFF.KL (2.0) on its KL averaged over the batch
    and c's dimensions (= weight / cond_dim on the paper's summed KL)."""

    def __init__(self, weight: float = 2.0, cond_dim: int = COND_DIM):
        if not weight >= 0:
            raise ValueError(f"KLPenalty: weight must be >= 0, got {weight}")
        self.weight, self.cond_dim, self.last = float(weight), cond_dim, None

    def g_loss(self, trainer, fake, fake_logits):
        kl = fake[:, -1:].mean()
        self.last = kl.data
        return None if self.weight == 0 else (self.weight / self.cond_dim) * kl


# ---------------------------------------------------------------- the two stages


def stage2_noise(stage1: StageIGenerator, embeddings: np.ndarray, device: str):
    """noise(m, rng) for Stage II: [G1(z, e) flattened | e] (m, 196 + E), z ~ N(0, I), e the
    caption of a random training digit, the frozen Stage I drawn in eval mode (its batch norm's
    running statistics, as it draws after training) with no graph."""
    table = backend.to_device(np.ascontiguousarray(embeddings, np.float32), device)

    def sample(m: int, rng) -> Tensor:
        e = Tensor(table[rng.integers(0, len(table), m)])
        z = Tensor(rng.standard_normal((m, stage1.z_dim), dtype=np.float32))
        was = stage1.training
        stage1.eval()
        try:
            with no_grad():
                low = stage1(z, e).reshape(m, LOW * LOW)
        finally:
            stage1.train(was)
        return Tensor(backend.get_array_module(e.data).concatenate([low.data, e.data], 1))
    return sample


def caption_noise(z_dim: int, embeddings: np.ndarray, device: str):
    """noise(m, rng) for Stage I: [z | e] (m, z_dim + E), e a random training digit's caption."""
    table = backend.to_device(np.ascontiguousarray(embeddings, np.float32), device)

    def sample(m: int, rng) -> Tensor:
        z = rng.standard_normal((m, z_dim), dtype=np.float32)
        e = table[rng.integers(0, len(table), m)]
        return Tensor(backend.get_array_module(z).concatenate([z, e], 1))
    return sample


class StackTrainer(StagedTrainer):
    """Stage I, then Stage II (Stage I frozen: its weights are in no optimizer of Stage II).
    fit(steps / seconds) gives each stage its share in turn (StagedTrainer); step() runs Stage I
    until it has its share of `planned` steps and Stage II after, so a run stepped one
    iteration at a time (the CLI's) trains the stages in order too."""

    def __init__(self, stage1, stage2, stage1_fraction: float, planned: int):
        super().__init__({"stage1": stage1, "stage2": stage2},
                         (stage1_fraction, 1 - stage1_fraction), planned=planned)

