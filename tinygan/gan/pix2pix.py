"""pix2pix (Isola, Zhu, Zhou & Efros 2017, arXiv 1611.07004) at 32x32: a U-Net generator
G(x) -> y, a PatchGAN discriminator D([x | y]) -> a grid of logits, one per patch, and the
objective G* = arg min_G max_D L_cGAN(G, D) + lambda L_L1(G) with lambda = 100.

- U-Net (the paper's section 3.2.1 and appendix 6.1.1): stride-2 4x4 convolutions down to 1x1
  (LeakyReLU 0.2 before each but the first, batch norm after each but the first and the
  innermost, as the official PyTorch code), stride-2 4x4 transposed convolutions back up (ReLU
  before each, batch norm after), each decoder output joined to the encoder output of its size
  by channel concatenation, tanh at the end. Dropout 0.5 follows the innermost decoder layers
  and stays on in eval mode (DropoutNoise): the paper's only noise, "applied on several layers
  of our generator at both training and test time". (The paper also normalizes with the test
  batch's statistics at test time; here eval mode uses batch norm's running statistics, so each
  translation depends on its own input and dropout masks alone.)
- PatchGAN (section 3.2.2, the official NLayerDiscriminator): `layers` stride-2 4x4
  convolutions, then two stride-1 4x4 ones, to one logit per patch; its receptive field is
  receptive_field(patch_layout(layers)): 16, 34, 70 pixels for 1, 2, 3 layers (1, 16, 70, 286
  in the paper at 256x256 for 0, 1, 3, 5). layers = 0 is the PixelGAN (1x1 convolutions); at
  32x32, 2 layers already see the whole image (the ImageGAN).
- The losses (section 3.3): D's objective halved, G's non-saturating, both as the mean over
  the patch grid; the "l1", "gan" (D sees only y), "cgan" (no L1), "l1+gan" and "l1+cgan"
  variants of the paper's Table 1.

The Trainer hands G one tensor and D another, so the pair travels packed: G's "noise" is
[x | y] (N, 2, S, S) and PackedTranslator returns [x | G(x) | y] (N, 3, S, S) -- it reads only
x; y rides along for the L1 term (L1Term). Real rows are [x | y | y]. PackedPatchGAN shows
D [x | y] (conditional) or y (unconditional). D's real and fake minibatches are two independent
draws of pairs (the paper uses one batch for both); in expectation it is the same objective.
"""
from __future__ import annotations

import numpy as np

from .. import backend
from .. import functional as F
from .. import init, nn
from ..ops import concatenate
from ..tensor import Tensor
from . import losses
from .models import _check_batch
from .trainer import Hook, Trainer

LOSSES = ("l1", "gan", "cgan", "l1+gan", "l1+cgan")
SIZE = 32             # edges -> digit pairs are 32x32: five halvings to the U-Net's 1x1
L1_WEIGHT = 100.0     # the paper's lambda


def check_loss(loss: str) -> str:
    if loss not in LOSSES:
        raise ValueError(f"unknown pix2pix loss {loss!r}; losses: {LOSSES}")
    return loss


def uses_l1(loss: str) -> bool:
    return check_loss(loss).startswith("l1")


def adversarial(loss: str) -> bool:
    return check_loss(loss) != "l1"


def conditional(loss: str) -> bool:
    return check_loss(loss).endswith("cgan")


# ---------------------------------------------------------------- the generator


class DropoutNoise(nn.Module):
    """Inverted dropout that stays on in eval mode (pix2pix's noise z, at test time too); the
    masks come from the device's shared generator, so a seeded generator repeats them."""

    def __init__(self, p: float = 0.5):
        if not 0 <= p < 1:
            raise ValueError(f"DropoutNoise: p must lie in [0, 1), got {p}")
        self.p = p

    def forward(self, x):
        return F.dropout(x, self.p, training=True)

    def extra_repr(self):
        return f"p={self.p}, also in eval mode"


class UNetGenerator(nn.Module):
    """x (N, in_channels, S, S) -> y (N, out_channels, S, S) in [-1, 1], S divisible by
    2^depth. Encoder i halves the size to S / 2^(i+1) with channels min(width 2^i, max_width);
    decoder j doubles it and its output is concatenated with the encoder output of that size;
    the first `dropout_layers` decoder layers (the innermost) end in DropoutNoise(dropout)."""

    def __init__(self, in_channels: int = 1, out_channels: int = 1, width: int = 16,
                 max_width: int = 32, depth: int = 5, dropout: float = 0.5,
                 dropout_layers: int = 2):
        if depth < 1 or width < 1 or max_width < 1:
            raise ValueError(f"UNetGenerator: depth, width and max_width must be >= 1, got "
                             f"{depth}, {width} and {max_width}")
        if not 0 <= dropout_layers <= depth - 1:
            raise ValueError(f"UNetGenerator: dropout_layers must lie in 0..{depth - 1} (the "
                             f"decoder layers before the output one), got {dropout_layers}")
        self.in_channels, self.out_channels, self.depth = in_channels, out_channels, depth
        c = [min(width * 2 ** i, max_width) for i in range(depth)]
        self.channels = c
        # no batch norm on the first layer (the paper) nor the innermost (the official code:
        # at 1x1 it would only see the batch)
        self.down = [nn.Sequential(nn.Conv2d(in_channels, c[0], 4, 2, 1))]  # (N, c0, S/2, S/2)
        for i in range(1, depth):
            inner = i == depth - 1
            layers = [nn.LeakyReLU(0.2), nn.Conv2d(c[i - 1], c[i], 4, 2, 1, bias=inner)]
            self.down.append(nn.Sequential(*layers, *([] if inner else
                                                      [nn.BatchNorm2d(c[i])])))
        # decoder j: (N, c_in, S/2^(depth-j), ...) -> (N, c[depth-2-j], S/2^(depth-1-j), ...),
        # its input the innermost code (j = 0) or the previous output joined to its skip
        self.up = []
        for j in range(depth - 1):
            c_in = c[-1] if j == 0 else 2 * c[depth - 1 - j]
            layers = [nn.ReLU(), nn.ConvTranspose2d(c_in, c[depth - 2 - j], 4, 2, 1, bias=False),
                      nn.BatchNorm2d(c[depth - 2 - j])]
            if j < dropout_layers:
                layers.append(DropoutNoise(dropout))
            self.up.append(nn.Sequential(*layers))
        c_last = c[0] if depth == 1 else 2 * c[0]
        self.up.append(nn.Sequential(nn.ReLU(), nn.ConvTranspose2d(c_last, out_channels, 4, 2, 1),
                                     nn.Tanh()))                            # (N, out, S, S)

    def forward(self, x):
        if not isinstance(x, Tensor) or x.ndim != 4 or x.shape[1] != self.in_channels or \
                x.shape[2] % 2 ** self.depth or x.shape[3] % 2 ** self.depth or x.shape[2] == 0:
            shape = getattr(x, "shape", type(x).__name__)
            raise ValueError(f"UNetGenerator: input must be (N, {self.in_channels}, H, W) with "
                             f"H and W divisible by 2^{self.depth}, got {shape}")
        skips = []
        h = x
        for layer in self.down:
            h = layer(h)
            skips.append(h)
        skips.pop()                                                      # the innermost code
        for layer in self.up:
            h = layer(h)
            if skips:                                                    # a skip connection
                h = concatenate([h, skips.pop()], axis=1)
        return h


# ---------------------------------------------------------------- the discriminator


def patch_layout(layers: int) -> list:
    """(kernel, stride) of each convolution of a PatchGAN with `layers` stride-2 layers."""
    if not isinstance(layers, (int, np.integer)) or isinstance(layers, bool) or layers < 0:
        raise ValueError(f"patch layers must be an int >= 0, got {layers!r}")
    if layers == 0:
        return [(1, 1)] * 3
    return [(4, 2)] * layers + [(4, 1), (4, 1)]


def receptive_field(layout) -> int:
    """The input pixels (per side) one output of a stack of convolutions sees, from the output
    back: r <- r s + (k - s) for each (kernel k, stride s), starting from r = 1."""
    r = 1
    for k, s in reversed(list(layout)):
        r = r * s + (k - s)
    return r


def patch_grid(layers: int, size: int = SIZE) -> int:
    """The logits per side a PatchGAN gives for a size x size image (padding 1, kernel 4:
    stride 2 halves an even size, stride 1 takes one off)."""
    h = size
    for k, s in patch_layout(layers):
        h = (h + 2 * (1 if k > 1 else 0) - k) // s + 1
    return h


class PatchGAN(nn.Module):
    """[x | y] (N, in_channels, S, S) -> logits (N, 1, h, h), h = patch_grid(layers, S), each
    logit judging a receptive_field(patch_layout(layers))-pixel patch. Channels width,
    2 width, ... up to max_width; LeakyReLU 0.2; batch norm after all but the first and last."""

    def __init__(self, in_channels: int = 2, layers: int = 1, width: int = 16,
                 max_width: int = 32, size: int = SIZE):
        layout = patch_layout(layers)
        if patch_grid(layers, size) < 1:
            most = max(n for n in range(8) if patch_grid(n, size) >= 1)
            raise ValueError(f"PatchGAN: {layers} stride-2 layers leave no logits "
                             f"for a {size}x{size} image (at most {most})")
        self.in_channels, self.layers, self.size = in_channels, layers, size
        self.receptive_field = receptive_field(layout)
        c = [min(width * 2 ** i, max_width) for i in range(len(layout) - 1)]
        blocks = []
        for i, (k, s) in enumerate(layout[:-1]):
            c_in = in_channels if i == 0 else c[i - 1]
            pad = 1 if k > 1 else 0
            blocks.append(nn.Conv2d(c_in, c[i], k, s, pad, bias=i == 0))
            if i > 0:
                blocks.append(nn.BatchNorm2d(c[i]))
            blocks.append(nn.LeakyReLU(0.2))
        k, s = layout[-1]
        blocks.append(nn.Conv2d(c[-1], 1, k, s, 1 if k > 1 else 0))        # (N, 1, h, h)
        self.net = nn.Sequential(*blocks)

    def forward(self, xy):
        _check_batch(type(self).__name__, xy, (self.in_channels, self.size, self.size),
                     "images")
        return self.net(xy)

    def extra_repr(self):
        return f"layers={self.layers}, receptive_field={self.receptive_field}"


def init_weights(*modules) -> None:
    """The official code's init_type 'normal': N(0, 0.02^2) for convolutions, N(1, 0.02^2)
    for batch norm scales, zero biases (DCGAN's scheme)."""
    for m in modules:
        m.apply(init.dcgan_init_)


# ---------------------------------------------------------------- packed pairs for the Trainer


class PackedTranslator(nn.Module):
    """[x | y] (N, 2C, S, S) -> [x | G(x) | y] (N, 3C, S, S): G reads only x."""

    def __init__(self, generator: UNetGenerator):
        self.generator = generator

    def forward(self, xy):
        c = self.generator.in_channels
        x, y = xy[:, :c], xy[:, c:]
        return concatenate([x, self.generator(x), y], axis=1)


class PackedPatchGAN(nn.Module):
    """[x | y | anything] (N, 3C, S, S) -> D([x | y]) when conditional, else D(y)."""

    def __init__(self, discriminator: PatchGAN, conditional: bool = True,
                 channels: int = 1):
        want = 2 * channels if conditional else channels
        if discriminator.in_channels != want:
            raise ValueError(f"PackedPatchGAN: a {'' if conditional else 'un'}conditional "
                             f"D reads {want} channels, this one has "
                             f"{discriminator.in_channels}")
        self.discriminator, self.conditional, self.channels = discriminator, conditional, channels

    def forward(self, rows):
        c = self.channels
        return self.discriminator(rows[:, :2 * c] if self.conditional else rows[:, c:2 * c])


def pairs(inputs, targets) -> np.ndarray:
    """[x | y] (N, 2C, S, S) float32 from inputs and targets (N, C, S, S)."""
    x, y = np.asarray(inputs, np.float32), np.asarray(targets, np.float32)
    if x.ndim != 4 or x.shape != y.shape or len(x) == 0:
        raise ValueError(f"pairs: inputs and targets must be (N, C, S, S) of one shape, got "
                         f"{x.shape} and {y.shape}")
    return np.concatenate([x, y], axis=1)


def pair_samplers(rows: np.ndarray, device: str = "cpu"):
    """(data, noise) for the Trainer from [x | y] rows (N, 2C, S, S), copied to the device once:
    data(m, rng) gives real rows [x | y | y], noise(m, rng) pairs [x | y] for PackedTranslator;
    uniform with replacement, the indices from the trainer's generator."""
    stored = backend.to_device(np.ascontiguousarray(rows, dtype=np.float32), device)
    n, c = len(stored), stored.shape[1] // 2
    xp = backend.get_array_module(stored)

    def data(m: int, rng) -> Tensor:
        p = stored[rng.integers(0, n, m)]
        return Tensor(xp.concatenate([p, p[:, c:]], axis=1))

    def noise(m: int, rng) -> Tensor:
        return Tensor(stored[rng.integers(0, n, m)])
    return data, noise


# ---------------------------------------------------------------- the losses


def d_halved(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """The paper's D objective divided by 2 ("to slow down the rate at which D learns
    relative to G"): (E[softplus(-real)] + E[softplus(fake)]) / 2 over every patch's logit."""
    return 0.5 * losses.d_minimax(real_logits, fake_logits)


#: (D's loss, G's non-saturating loss -E log D(x, G(x))), the means over the patch grid
OBJECTIVE = (d_halved, losses.g_nonsaturating)


class L1Term(Hook):
    """G's weight * E|y - G(x)| (the mean over pixels, as the official code's L1Loss) on the
    packed rows [x | G(x) | y]. last: the unweighted L1 of the latest G step (raw array)."""

    def __init__(self, weight: float = L1_WEIGHT, channels: int = 1):
        if not weight >= 0:
            raise ValueError(f"L1Term: weight must be >= 0, got {weight}")
        self.weight, self.channels, self.last = float(weight), channels, None

    def g_loss(self, trainer, fake, fake_logits):
        c = self.channels
        l1 = F.l1_loss(fake[:, c:2 * c], fake[:, 2 * c:3 * c])
        self.last = l1.data
        return self.weight * l1


class Pix2PixTrainer(Trainer):
    """The Algorithm-1 Trainer, where `adversarial=False` (the "l1" loss) leaves D out: no D
    steps, no adversarial term in G's loss, D never run, so G's loss is its hooks' terms alone
    (the L1) and D stays as built. History's D columns are then NaN."""

    def __init__(self, *args, adversarial: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.adversarial = bool(adversarial)

    def d_step(self):
        return super().d_step() if self.adversarial else None

    def generator_loss(self):
        if self.adversarial:
            return super().generator_loss()
        fake = self.G(self.noise(self.m, self.rng))
        xp = backend.get_array_module(fake.data)
        return Tensor(xp.zeros((), dtype=fake.dtype)), fake, None
