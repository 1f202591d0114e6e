"""Building a digit in stages, lesson 13, on the digit GAN protocol of
tinygan.experiments.digits (same data, judge, EMA and scoring):

- "lapgan": LAPGAN (Denton et al. 2015, arXiv 1506.05751; tinygan.gan.lapgan): a 7x7 GAN and
  a conditional detail GAN at 14x14 and at 28x28, each trained on real Laplacian pyramids, on
  `shares` of the budget (tinygan.gan.stages.StagedTrainer), a weight average per level;
- "progressive": progressive growing (Karras et al. 2018, arXiv 1710.10196;
  tinygan.gan.progressive) 7 -> 14 -> 28 with equalized learning rate, pixel norm, minibatch
  standard deviation and WGAN-GP (lambda 10, drift 0.001), Adam 1e-3 with betas (0, 0.99) as
  the paper; the fade schedule spans each fit's budget (or `exp.trainer.plan(...)`).
"""
from __future__ import annotations

import copy
import sys
from dataclasses import dataclass

import numpy as np

from .. import backend, nn
from ..creation import manual_seed
from ..data import pyramid
from ..data.digits import sampler
from ..gan import lapgan as L
from ..gan import penalties, progressive as PG
from ..gan.hooks import EMA
from ..gan.stages import StagedTrainer
from ..gan.trainer import Trainer, normal_noise
from ..optim import Adam
from ..tensor import Tensor
from . import digits as base
from .base import Experiment, ExperimentConfig, param
from .digits import DigitsConfig

evaluate, draw, sample = base.evaluate, base.draw, base.sample
steps_for_epochs = base.steps_for_epochs


@dataclass(frozen=True)
class LAPGANConfig(DigitsConfig):
    """LAPGAN on MNIST: a 7x7 GAN, then a detail GAN per finer level (Denton et al. 2015)"""
    model: str = param("lapgan", "which digit GAN", ("lapgan",), cli=False)
    steps: int = param(3000, "training iterations, over all levels", minimum=3)
    shares: tuple[float, float, float] = param((0.1, 0.3, 0.6), "the 7x7, 14x14 and 28x28 "
                                               "levels' shares of the budget")
    detail_width: int = param(32, "channels of the detail GANs' convolutions", minimum=1)

    def __post_init__(self):
        ExperimentConfig.__post_init__(self)  # the digit GANs' model checks are not ours
        if any(not s > 0 for s in self.shares) or abs(sum(self.shares) - 1) > 1e-6:
            raise ValueError(f"LAPGANConfig: shares must be three positive numbers summing to "
                             f"1, got {self.shares}")


@dataclass(frozen=True)
class ProgressiveConfig(DigitsConfig):
    """progressive growing on MNIST: 7 -> 14 -> 28 with fade-in, equalized lr, pixel norm,
    minibatch std and WGAN-GP (Karras et al. 2018)"""
    model: str = param("progressive", "which digit GAN", ("progressive",), cli=False)
    steps: int = param(1500, "training iterations (the fade schedule spans them)", minimum=1)
    lr: float = param(1e-3, "Adam learning rate of both networks", minimum=0)
    betas: tuple[float, float] = param((0.0, 0.99), "Adam's betas for both networks")
    objective: str = param("wasserstein", "the losses of D and G (tinygan.gan.losses)",
                           ("nonsaturating", "hinge", "wasserstein"))
    gp_weight: float = param(10.0, "WGAN-GP's gradient penalty weight lambda (0: none)",
                             minimum=0)
    drift: float = param(1e-3, "progressive: eps_drift, weight of mean D(real)^2", minimum=0)
    width: int = param(64, "channels of the 7x7 and 14x14 blocks (half at 28x28)", minimum=2)

    def __post_init__(self):
        ExperimentConfig.__post_init__(self)


def _level_noise(coarse_up: np.ndarray, device: str):
    """noise(m, rng) for a detail GAN: [u(real coarser image) | N(0, 1) plane] (m, 2, S, S)."""
    draw = sampler(coarse_up, device)

    def sample(m: int, rng) -> Tensor:
        l = draw(m, rng).data
        xp = backend.get_array_module(l)
        return Tensor(xp.concatenate([l, rng.standard_normal(l.shape, dtype=np.float32)], 1))
    return sample


def build_lapgan(config: LAPGANConfig, device=None, digits=None) -> Experiment:
    device = backend.resolve_device(device)
    digits = base.load_digits(config.data_dir or None) if digits is None else digits
    manual_seed(config.seed)
    G, (D7, D14, D28) = L.lapgan(config.detail_width)
    G.to(device)
    for D in (D7, D14, D28):
        D.to(device)
    images = np.asarray(digits.images, dtype=np.float32)
    h28, h14, low7 = pyramid.laplacian_pyramid(images, 3)
    up14, up28 = pyramid.upsample(low7), pyramid.upsample(pyramid.downsample(images))
    levels = [(G.coarse, D7, sampler(low7, device), normal_noise(G.coarse.z_dim)),
              (G.details[0], D14, sampler(np.concatenate([up14, h14], 1), device),
               _level_noise(up14, device)),
              (G.details[1], D28, sampler(np.concatenate([up28, h28], 1), device),
               _level_noise(up28, device))]
    trainers, emas = {}, []
    for k, (g, d, data, noise) in enumerate(levels):
        # an average per level: one shared average would keep averaging a level's untrained
        # weights while the levels before it train, and lag far behind once its turn comes
        ema = EMA(g, config.ema_decay) if config.ema_decay is not None else None
        emas.append(ema)
        trainers[f"{L.SIZES[k]}x{L.SIZES[k]}"] = Trainer(
            g, d, Adam(g.parameters(), config.lr, config.betas),
            Adam(d.parameters(), config.lr, config.betas), data, noise,
            batch_size=config.batch_size, objective=config.objective,
            seed=[config.seed, k], device=device, hooks=[ema] if ema else [],
            log_every=config.log_every)
    average = None if config.ema_decay is None else \
        LevelAverage(G, emas, [noise for *_, noise in levels])
    return Experiment(config.model, config, device, StagedTrainer(trainers, config.shares), G,
                      sys.modules[__name__], average,
                      {"digits": digits, "discriminators": [D7, D14, D28]})


class LevelAverage:
    """The LAPGAN sampler with each level's weight average in place of its trained weights:
    what digits.averaged_generator asks an experiment's `ema` for. Batch-norm statistics are
    re-estimated per level on that level's own training inputs."""

    def __init__(self, G, emas, inputs):
        self.G, self.emas, self.inputs = G, emas, inputs

    def averaged(self, inputs=None, batches: int = 8, seed: int = 0):
        out = copy.deepcopy(self.G)
        modules = [ema.averaged(lambda rng, f=f: (f(256, rng),), batches, seed)
                   for ema, f in zip(self.emas, self.inputs)]
        out.coarse = modules[0]
        out.details = nn.Sequential(*modules[1:])
        return out.eval().requires_grad_(False)


def build_progressive(config: ProgressiveConfig, device=None, digits=None) -> Experiment:
    device = backend.resolve_device(device)
    digits = base.load_digits(config.data_dir or None) if digits is None else digits
    manual_seed(config.seed)
    G, D, growth = PG.progressive_gan(config.width)
    G.to(device)
    D.to(device)
    hooks = [PG.GrowthSchedule(growth)]    # first: the others see this step's level and alpha
    if config.gp_weight:
        hooks.append(penalties.GradientPenalty("wgan-gp", config.gp_weight))
    if config.drift:
        hooks.append(PG.DriftPenalty(config.drift))
    ema = EMA(G, config.ema_decay) if config.ema_decay is not None else None
    if ema is not None:
        ema.module.growth = growth         # the copy must grow with G, not keep a frozen state
        hooks.append(ema)
    trainer = PG.GrowingTrainer(
        G, D, Adam(G.parameters(), config.lr, config.betas),
        Adam(D.parameters(), config.lr, config.betas),
        PG.real_sampler(digits.images, growth, device), normal_noise(G.z_dim),
        batch_size=config.batch_size, d_steps=config.d_steps, objective=config.objective,
        seed=config.seed, device=device, hooks=hooks, log_every=config.log_every,
        steps=config.steps)
    return Experiment(config.model, config, device, trainer, G, sys.modules[__name__], ema,
                      {"digits": digits, "discriminator": D, "growth": growth})


def build(config, device=None, digits=None) -> Experiment:
    if isinstance(config, LAPGANConfig):
        return build_lapgan(config, device, digits)
    if isinstance(config, ProgressiveConfig):
        return build_progressive(config, device, digits)
    raise TypeError(f"coarse.build takes a LAPGANConfig or a ProgressiveConfig, got "
                    f"{type(config).__name__}")
