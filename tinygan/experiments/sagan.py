"""SAGAN on mirror digits (Zhang, Goodfellow, Metaxas & Odena 2019, arXiv 1805.08318): the
networks of tinygan.gan.sagan, with self-attention at 14x28 in G and D (attention=True) or the
same networks without it, trained on each MNIST digit beside its own mirror image
(tinygan.data.mirror), where the two halves must agree over 28-55 columns.

The paper's recipe: spectral norm in G and D, the hinge loss, Adam with betas (0, 0.9) and
the two time-scale learning rates 1e-4 (G) and 4e-4 (D), plus the generator EMA that the other
digit experiments keep. Training is digits.assemble's Trainer unchanged; a GammaRecord hook
logs each attention block's gamma, which starts at 0 (the block is then the identity) and
shows how much the networks came to use attention.

evaluate reports the mirror asymmetry of generated images (0 for a perfect mirror; the real
mirror digits' own is 0), the judge's classifier score and Fréchet distance of their left
halves (the committed LeNet, tinygan.experiments.digits.make_evaluator), and gamma's
trajectory. attention_maps shows where G's block looks from chosen pixels (the lesson's plot).

Cost on one CPU thread at batch 64 (one D step and one G step, width 16, CPU time on a
machine shared with another job): about 75 ms per iteration without attention, 190 ms with
the 2x2-pooled keys (the default, as the paper's official code) and 550 ms with the full
392 x 392 map (attention_pool 1).
"""
from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np

from .. import backend
from ..creation import manual_seed
from ..data.digits import Digits
from ..data.mirror import left_halves, mirror_asymmetry, mirror_digits
from ..gan import sagan
from . import digits as base
from .base import Experiment, ExperimentConfig, param
from .digits import DigitsConfig

# unconditional image GAN: the digit GANs' sampling and drawing serve unchanged
sample, draw = base.sample, base.draw
steps_for_epochs = base.steps_for_epochs
SCORES = ("classifier_score", "frechet_distance", "label_kl", "min_class_fraction")


@dataclass(frozen=True)
class SAGANConfig(DigitsConfig):
    """SAGAN on mirror digits (28x56: a digit beside its mirror image): self-attention in G
    and D, SN in both, hinge loss, TTUR (Zhang et al. 2019)"""
    model: str = param("sagan", "which digit GAN", ("sagan",), cli=False)
    steps: int = param(2000, "training iterations (one D step, one G step each)", minimum=1)
    attention: bool = param(True, "self-attention at the 14x28 feature map of G and D (false: "
                                  "the same networks without it)")
    attention_pool: int = param(2, "max-pool the attention's keys and values p x p (2: the "
                                   "official code's, a quarter of the cost; 1: the full map)",
                                (1, 2))
    width: int = param(16, "channels at 14x28 (2x at 7x14); the attention's query and key have "
                           "width / 8", minimum=8)
    objective: str = param("hinge", "the losses of D and G (tinygan.gan.losses)",
                           ("nonsaturating", "hinge", "wasserstein"))
    spectral_norm: bool = param(True, "spectral normalization of every layer of G and D "
                                      "(Miyato et al. 2018; SAGAN puts it in both)")
    lr: float = param(1e-4, "G's Adam learning rate (TTUR: D's is lr_d)", minimum=0)
    lr_d: float | None = param(4e-4, "D's learning rate (none: lr)")
    betas: tuple[float, float] = param((0.0, 0.9), "Adam's betas for both networks")

    def __post_init__(self):
        # DigitsConfig's check ties `width` to its own conv models; the rest of it applies
        ExperimentConfig.__post_init__(self)
        if self.d_norm != "batch":
            raise ValueError("d_norm shapes the DCGAN only; the sagan model's D has no batch "
                             "norm (spectral norm instead)")


def mirror_training_digits(digits: Digits) -> Digits:
    """The training digits as mirror digits (N, 1, 28, 56), labels and source kept."""
    return Digits(mirror_digits(digits.images), digits.labels,
                  f"mirror digits of {digits.source}", digits.synthetic)


def build(config: SAGANConfig, device=None, digits=None) -> Experiment:
    """G and D of tinygan.gan.sagan (G spectrally normalized here, D by assemble), the
    GammaRecord hook, then digits.assemble's EMA, Adam pair and trainer. digits: 28x28
    training digits (default: load_digits(config.data_dir)), made mirror digits here."""
    device = backend.resolve_device(device)
    digits = base.load_digits(config.data_dir or None) if digits is None else digits
    manual_seed(config.seed)
    G, D = sagan.sagan(config.width, config.attention, config.attention_pool)
    if config.spectral_norm:  # assemble normalizes D; G's transposed convolutions too here
        sagan.spectral_norm_all(G, backend.rng([config.seed, 5], "cpu"))  # G is on the host
    record = sagan.GammaRecord(G, D)
    return base.assemble(config, device, mirror_training_digits(digits), G, D, [record],
                         module=sys.modules[__name__], parts={"gamma": record})


def _scores(G, evaluator, n: int) -> dict:
    images = base.generate(G, n)
    scores = evaluator.evaluate(left_halves(images)).as_dict()
    return {"mirror_asymmetry": mirror_asymmetry(images),
            **{k: base._json_number(scores[k]) for k in SCORES}}


def evaluate(exp: Experiment) -> dict:
    digits, c = exp.parts["digits"], exp.config
    out = {"data": digits.source, "attention": c.attention,
           "real_mirror_asymmetry": mirror_asymmetry(digits.images[:max(c.eval_samples, 1)]),
           "gamma": exp.parts["gamma"].as_dict()}
    if c.eval_samples <= 0:
        return {**out, "scored": False}
    evaluator = base.make_evaluator(digits, c.data_dir or None)
    out["trained"] = _scores(exp.generator, evaluator, c.eval_samples)
    if exp.ema is not None:
        out["ema"] = _scores(base.averaged_generator(exp), evaluator, c.eval_samples)
    return out


def attention_maps(exp: Experiment, queries, n: int = 4, seed: int = 1234,
                   averaged: bool = False) -> dict:
    """Where G's attention looks from each query pixel: queries are (row, col) pixels of the
    28x56 image; each is read at its 14x28 feature position (row // 2, col // 2). Returns
    {"images": (n, 1, 28, 56), "maps": (n, Q, 14 / p, 28 / p) attention weights over the key
    grid (each map sums to 1), "queries": (Q, 2) image pixels, "feature_queries": (Q, 2)}."""
    G = base.averaged_generator(exp) if averaged else exp.generator
    return sagan.generator_attention(G, queries, n, seed)
