"""SRGAN (Ledig, Theis, Huszár, Caballero, Cunningham, Acosta, Aitken, Tejani, Totz, Wang & Shi
2017, arXiv 1609.04802) for 7x7 -> 28x28 digits:

- SRResNet, the generator (their Figure 4, narrowed): a conv + PReLU stem, B residual blocks
  (conv-BN-PReLU-conv-BN plus the input), a conv-BN added to the stem's output (the long
  skip), one upsampling block per factor 2 (conv to 4C channels, pixel shuffle x2, PReLU:
  sub-pixel convolution, Shi et al. 2016, arXiv 1609.05158) and a conv to 1 channel, tanh;
- the discriminator: conv-LeakyReLU(0.2), then conv-BN-LeakyReLU blocks alternating stride 1
  and 2 with the channels doubling, a dense layer, LeakyReLU, a dense layer to one logit;
- the perceptual loss (their Eq. 3-5): a content loss, the MSE between a frozen network's
  feature maps of G(x) and of the truth (their VGG's phi_5,4: here the deepest convolution,
  after its ReLU and before its pooling, of tinygan's evaluation LeNet), plus 1e-3 times the
  non-saturating adversarial loss -log D(G(x)). The pixel MSE is the content loss of the
  SRResNet (MSE) pretraining that SRGAN starts from.

Gradients flow through the frozen feature network into G (tinygan.gan.trainer.frozen: its
weights get none). SRTrainer is Algorithm 1's Trainer on (low, high) pairs; SRStages runs the
MSE pretraining, then SRGAN from its weights.
"""
from __future__ import annotations

import math

import numpy as np

from .. import backend
from .. import functional as F
from .. import nn
from ..tensor import Tensor, no_grad
from .models import _check_batch
from .stages import StagedTrainer
from .trainer import Hook, Trainer, frozen, source_logits

ADVERSARIAL_WEIGHT = 1e-3  # the paper's weight on the adversarial term (Eq. 3)
LEAK = 0.2                 # the discriminator's LeakyReLU slope (paper: alpha = 0.2)
#: where the content loss reads the judge (tinygan.gan.evaluator.LeNet.body): "conv2" after
#: the second convolution's ReLU (N, 48, 10, 10), the deepest map before pooling, as phi_5,4;
#: "conv1" after the first (N, 32, 28, 28), as the paper's phi_2,2; "pixel": plain MSE
CONTENT_LAYERS = {"conv2": 5, "conv1": 2, "pixel": 0}


# ---------------------------------------------------------------- the networks


class ResidualBlock(nn.Module):
    """x + BN(conv(PReLU(BN(conv(x))))), 3x3 convolutions keeping C channels and the size."""

    def __init__(self, channels: int):
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1), nn.BatchNorm2d(channels),
            nn.PReLU(channels),
            nn.Conv2d(channels, channels, 3, padding=1), nn.BatchNorm2d(channels))

    def forward(self, x):
        return x + self.body(x)


def upsample_block(channels: int) -> nn.Sequential:
    """(N, C, H, W) -> conv (N, 4C, H, W) -> pixel shuffle (N, C, 2H, 2W) -> PReLU."""
    return nn.Sequential(nn.Conv2d(channels, 4 * channels, 3, padding=1), nn.PixelShuffle(2),
                         nn.PReLU(channels))


class SRResNet(nn.Module):
    """(N, 1, s, s) in [-1, 1] -> (N, 1, s * scale, s * scale) in [-1, 1]; scale a power of 2.
    kernel: of the stem and the output convolution (the paper's 9 on 24x24 inputs; 7x7 ones
    need less)."""

    def __init__(self, channels: int = 32, blocks: int = 4, kernel: int = 5, scale: int = 4,
                 in_size: int = 7):
        if scale < 2 or scale & (scale - 1):
            raise ValueError(f"SRResNet: scale must be a power of 2 (>= 2), got {scale}")
        if kernel < 1 or kernel % 2 == 0 or channels < 1 or blocks < 0:
            raise ValueError(f"SRResNet: kernel must be odd, channels >= 1 and blocks >= 0, got "
                             f"kernel {kernel}, channels {channels}, blocks {blocks}")
        self.in_size, self.scale = in_size, scale
        c, pad = channels, kernel // 2
        self.stem = nn.Sequential(nn.Conv2d(1, c, kernel, padding=pad), nn.PReLU(c))
        self.blocks = nn.Sequential(*[ResidualBlock(c) for _ in range(blocks)])
        self.fuse = nn.Sequential(nn.Conv2d(c, c, 3, padding=1), nn.BatchNorm2d(c))
        self.upsample = nn.Sequential(*[upsample_block(c)
                                        for _ in range(int(math.log2(scale)))])
        self.out = nn.Conv2d(c, 1, kernel, padding=pad)

    @property
    def out_size(self) -> int:
        return self.in_size * self.scale

    def forward(self, x):
        _check_batch("SRResNet", x, (1, self.in_size, self.in_size), "the low-resolution input")
        h = self.stem(x)                                    # (N, C, 7, 7)
        h = h + self.fuse(self.blocks(h))                   # (N, C, 7, 7), the long skip
        h = self.upsample(h)                                # (N, C, 14, 14) -> (N, C, 28, 28)
        return F.tanh(self.out(h))                          # (N, 1, 28, 28)


class SRDiscriminator(nn.Module):
    """(N, 1, 28, 28) -> logit (N, 1): the paper's pattern (k3n64s1, then k3s2 / k3s1 pairs
    doubling the channels, dense 1024, dense 1) at width w: w, w/2, 2w, 2w/2, dense 8w."""

    def __init__(self, width: int = 16, size: int = 28):
        if width < 1 or size % 4:
            raise ValueError(f"SRDiscriminator: width must be >= 1 and size a multiple of 4, "
                             f"got {width} and {size}")
        w, self.size = width, size

        def block(cin, cout, stride):
            return [nn.Conv2d(cin, cout, 3, stride, 1), nn.BatchNorm2d(cout), nn.LeakyReLU(LEAK)]
        self.body = nn.Sequential(
            nn.Conv2d(1, w, 3, padding=1), nn.LeakyReLU(LEAK),          # (N, w, 28, 28)
            *block(w, w, 2),                                            # (N, w, 14, 14)
            *block(w, 2 * w, 1),                                        # (N, 2w, 14, 14)
            *block(2 * w, 2 * w, 2),                                    # (N, 2w, 7, 7)
            nn.Flatten(),                                               # (N, 2w * 49)
            nn.Linear(2 * w * (size // 4) ** 2, 8 * w), nn.LeakyReLU(LEAK),  # (N, 8w)
            nn.Linear(8 * w, 1))                                        # (N, 1)

    def forward(self, x):
        _check_batch("SRDiscriminator", x, (1, self.size, self.size), "the image")
        return self.body(x)


# ---------------------------------------------------------------- the losses


def judge_features(judge, layer: str = "conv2") -> nn.Sequential | None:
    """The first layers of an evaluation LeNet's body, up to `layer` of CONTENT_LAYERS (None
    for "pixel"): a Module sharing the judge's weights."""
    if layer not in CONTENT_LAYERS:
        raise ValueError(f"unknown content layer {layer!r}; choose one of "
                         f"{list(CONTENT_LAYERS)}")
    return judge.body[:CONTENT_LAYERS[layer]] if CONTENT_LAYERS[layer] else None


class ContentLoss:
    """loss(fake, real): the MSE between scale * phi(fake) and scale * phi(real), phi a frozen
    feature network (its weights get no gradient; G's do), or the pixel MSE when phi is None.
    scale plays the part of the paper's 1/12.75 on VGG's maps: it sets the content term's size
    against the 1e-3-weighted adversarial one."""

    def __init__(self, features=None, scale: float = 1.0):
        if not (math.isfinite(scale) and scale > 0):
            raise ValueError(f"ContentLoss: scale must be a positive number, got {scale!r}")
        self.features, self.scale = features, float(scale)

    def __call__(self, fake: Tensor, real: Tensor) -> Tensor:
        if tuple(fake.shape) != tuple(real.shape):
            raise ValueError(f"ContentLoss: fake {tuple(fake.shape)} and real "
                             f"{tuple(real.shape)} images differ in shape")
        if self.features is None:
            return F.mse(fake, real)
        with no_grad():                 # the truth's features are a constant target
            target = self.features(real.detach())
        with frozen(self.features):     # the graph reaches fake, not the judge's weights
            mine = self.features(fake)
        return F.mse(mine * self.scale, target * self.scale)


# ---------------------------------------------------------------- training


def pair_sampler(low, high, device: str = "cpu"):
    """pairs(m, rng) -> (low (m, ...), high (m, ...)) Tensors of the same m random indices,
    drawn with replacement from the trainer's generator; copied to the device once."""
    low = backend.to_device(np.ascontiguousarray(low, dtype=np.float32), device)
    high = backend.to_device(np.ascontiguousarray(high, dtype=np.float32), device)
    if len(low) != len(high) or len(low) == 0:
        raise ValueError(f"pair_sampler: need as many inputs as targets (at least one), got "
                         f"{len(low)} and {len(high)}")

    def pairs(m: int, rng):
        i = rng.integers(0, len(low), m)
        return Tensor(low[i]), Tensor(high[i])
    return pairs


class SRTrainer(Trainer):
    """Algorithm 1 on (low, high) pairs: D tells high from G(low); G lowers content(G(low),
    high) + adversarial_weight * (the objective's G loss on D(G(low))). One G forward per
    iteration: the D step's G(low) keeps its graph and the G step reuses it with that batch's
    truth (as SRGAN implementations do; D has moved one step in between). adversarial_weight 0
    is the MSE pretraining: no D step at all, G's loss is the content loss alone.

    pairs(m, rng) -> (low, high) Tensors (pair_sampler); content(fake, real) -> a scalar
    Tensor (ContentLoss); the rest as Trainer's. history also holds the content and the
    (unweighted) adversarial parts of G's loss."""

    HISTORY_KEYS = Trainer.HISTORY_KEYS + ("content", "adversarial")

    def __init__(self, generator, discriminator, g_optimizer, d_optimizer, pairs, content, *,
                 adversarial_weight: float = ADVERSARIAL_WEIGHT, **kwargs):
        if not (math.isfinite(adversarial_weight) and adversarial_weight >= 0):
            raise ValueError(f"SRTrainer: adversarial_weight must be a number >= 0, got "
                             f"{adversarial_weight!r}")
        super().__init__(generator, discriminator, g_optimizer, d_optimizer, None, None,
                         **kwargs)
        self.pairs, self.content = pairs, content
        self.adversarial_weight = float(adversarial_weight)
        self._batch = None   # (low, high, G(low)) from the D step, for the G step after it

    @property
    def adversarial(self) -> bool:
        return self.adversarial_weight > 0

    def _d_step(self):
        return super()._d_step() if self.adversarial else None   # pretraining: no D

    def d_batch(self):
        """(truth, G(low)) — G's output kept, with its graph, for the G step that follows."""
        low, high = self.pairs(self.m, self.rng)
        fake = self.G(low)
        self._batch = (low, high, fake)
        return high, fake.detach()

    def generator_loss(self):
        batch, self._batch = self._batch, None
        if batch is None:   # pretraining (or a G step on its own): a fresh batch
            low, high = self.pairs(self.m, self.rng)
            batch = (low, high, self.G(low))
        _, high, fake = batch
        content = self.content(fake, high)
        self._add("content", content.data, 1)
        if not self.adversarial:
            return content, fake, None
        fake_logits = self.D(fake)
        adversarial = self.g_loss_fn(source_logits(fake_logits))
        self._add("adversarial", adversarial.data, 1)
        return content + self.adversarial_weight * adversarial, fake, fake_logits

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        # the pretraining's D columns are NaN; restore them as math.nan, the object _flush
        # writes, so that a resumed history compares equal to the original (list equality
        # tests identity before ==, and NaN != NaN)
        self.history = {k: [math.nan if v != v else v for v in values]
                        for k, values in self.history.items()}


class StartFrom(Hook):
    """Before a trainer's first iteration, G takes the weights (and batch-norm statistics) of
    `source`: SRGAN starts from the pretrained SRResNet (a copy, so the SRResNet stays)."""

    def __init__(self, source: nn.Module):
        self.source = source

    def before_step(self, trainer) -> None:
        if trainer.iteration == 0:
            trainer.G.load_state_dict(self.source.state_dict())


class SRStages(StagedTrainer):
    """The MSE pretraining ("srresnet"), then SRGAN ("srgan") started from its G: fit(steps or
    seconds) gives each its share in turn; step() (one iteration at a time, as the CLI steps)
    runs the pretraining until it has its share of `planned` steps, SRGAN after."""

    def __init__(self, pretrain: SRTrainer, srgan: SRTrainer, pretrain_fraction: float,
                 planned: int):
        if pretrain.adversarial or not srgan.adversarial:
            raise ValueError("SRStages: the first trainer is the MSE pretraining "
                             "(adversarial_weight 0), the second SRGAN (> 0)")
        super().__init__({"srresnet": pretrain, "srgan": srgan},
                         (pretrain_fraction, 1 - pretrain_fraction), planned=planned)

