"""The class-conditional digit GANs of lesson 11, judged like the conditional GAN of lesson 9
(tinygan.experiments.digits: the same data, packed rows, trainer, EMA and scoring):

- "acgan": AC-GAN (Odena, Olah & Shlens 2017, arXiv 1610.09585), D names the class;
- "projection": the projection discriminator (Miyato & Koyama 2018, arXiv 1802.05637);
- "controlgan": ControlGAN (Lee & Seok 2017, arXiv 1708.00598), a separate classifier;
- "biggan": a small BigGAN (Brock, Donahue & Simonyan 2019, arXiv 1809.11096): conditional
  batch norm fed a shared embedding and chunks of z, a projection critic with spectral norm
  and the hinge loss, Adam with beta1 = 0, the generator EMA; orthogonal regularization with
  `ortho_beta` (BigGAN's 1e-4) or without (0). Truncation is a sampling-time choice:
  `digits.generate(exp, n, labels=..., z=truncated_z(n, G.z_dim, t))`.

The first three share the conditional GAN's MLP generator and its hyperparameters (Adam 2e-4,
betas (0.5, 0.999), batch 64), so each row of the results table changes only how the label
reaches the game.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np

from .. import backend
from ..creation import manual_seed, truncated_normal
from ..gan import conditional, conditioning
from ..optim import Adam
from . import digits as base
from .base import Experiment, param
from .digits import DigitsConfig

# the protocol's functions are the digit GANs' (they serve every class-conditional generator)
evaluate, draw, sample = base.evaluate, base.draw, base.sample
steps_for_epochs = base.steps_for_epochs
MODELS = base.CONDITIONING


@dataclass(frozen=True)
class ACGANConfig(DigitsConfig):
    """AC-GAN on MNIST: D is not told the digit, it names it (Odena et al. 2017)"""
    model: str = param("acgan", "which digit GAN", MODELS, cli=False)
    aux_weight: float = param(1.0, "acgan: weight of the class cross-entropy in both losses",
                              minimum=0)


@dataclass(frozen=True)
class ProjectionConfig(DigitsConfig):
    """projection discriminator on MNIST: logit psi(phi(x)) + embed(y).phi(x) (Miyato &
    Koyama 2018)"""
    model: str = param("projection", "which digit GAN", MODELS, cli=False)


@dataclass(frozen=True)
class ControlGANConfig(DigitsConfig):
    """ControlGAN on MNIST: an unconditional D and a separate classifier on augmented real
    digits (Lee & Seok 2017)"""
    model: str = param("controlgan", "which digit GAN", MODELS, cli=False)
    control_gamma: float = param(0.0, "controlgan: gamma at the start (weight of C's loss in "
                                      "G's)", minimum=0)
    control_r: float = param(0.01, "controlgan: r, gamma's step size", minimum=0)
    control_rho: float = param(1.5, "controlgan: rho, the equilibrium CE(fake) / CE(real)",
                               minimum=0)
    classifier_lr: float = param(2e-4, "controlgan: the classifier's Adam learning rate",
                                 minimum=0)


@dataclass(frozen=True)
class BigGANConfig(DigitsConfig):
    """small BigGAN on MNIST: conditional batch norm, shared embedding, hierarchical z,
    projection critic with SN and hinge loss, EMA (Brock et al. 2019)"""
    model: str = param("biggan", "which digit GAN", MODELS, cli=False)
    steps: int = param(500, "training iterations (one D step, one G step each)", minimum=1)
    objective: str = param("hinge", "the losses of D and G (tinygan.gan.losses)",
                           ("nonsaturating", "hinge", "wasserstein"))
    spectral_norm: bool = param(True, "spectral normalization of every D layer (Miyato et "
                                      "al. 2018, arXiv 1802.05957)")
    betas: tuple[float, float] = param((0.0, 0.999), "Adam's betas for both networks")
    width: int = param(32, "dcgan, biggan: channels of the narrow conv layers (2x in the "
                           "wide)", minimum=1)
    ortho_beta: float = param(1e-4, "biggan: orthogonal regularization beta on G's weights "
                                    "(0: none)", minimum=0)


def build_models(config: DigitsConfig):
    """The networks of config.model, initialised from config.seed: (G, D) or, for ControlGAN,
    (G, D, C)."""
    manual_seed(config.seed)
    if config.model == "acgan":
        return conditional.acgan()
    if config.model == "projection":
        return conditional.projection_gan()
    if config.model == "controlgan":
        return conditional.controlgan()
    if config.model == "biggan":
        return conditional.biggan(config.width)
    raise ValueError(f"unknown model {config.model!r}: expected one of {MODELS}")


def build(config: DigitsConfig, device=None, digits=None) -> Experiment:
    device = backend.resolve_device(device)
    # through the digits module, so whatever loads digits there (a test's stand-in) serves here
    digits = base.load_digits(config.data_dir or None) if digits is None else digits
    nets = build_models(config)
    G, D = nets[:2]
    hooks, parts = [], {}
    if config.model == "acgan":
        hooks.append(conditioning.AuxiliaryClassifier(config.aux_weight))
    elif config.model == "controlgan":
        C = nets[2].to(device)
        hooks.append(conditioning.ControlGANClassifier(
            C, Adam(C.parameters(), config.classifier_lr, config.betas),
            base.packed_data(digits, device), config.control_gamma, config.control_r,
            config.control_rho, seed=[config.seed, 8], device=device))
        parts["classifier"] = C
    elif config.model == "biggan" and config.ortho_beta > 0:
        hooks.append(conditioning.OrthogonalRegularization(
            G, config.ortho_beta, skip=G.shared.parameters()))
    return base.assemble(config, device, digits, G, D, hooks, module=sys.modules[__name__],
                         parts=parts)


def truncated_z(n: int, z_dim: int, threshold: float | None, seed: int = 1234) -> np.ndarray:
    """z (n, z_dim) from N(0, I), or with threshold t from N(0, I) truncated to [-t, t] by
    redrawing (tinygan.creation.truncated_normal), on the host, from `seed`."""
    rng = np.random.default_rng(seed)
    if threshold is None:
        return rng.standard_normal((n, z_dim)).astype(np.float32)
    return truncated_normal(n, z_dim, threshold=threshold, rng=rng).numpy()
