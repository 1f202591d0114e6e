"""pix2pix on edges -> digit (Isola, Zhu, Zhou & Efros 2017, arXiv 1611.07004;
tinygan.gan.pix2pix): each training digit's outline (tinygan.data.tasks, 32x32) translated
back into the digit by a U-Net, judged by a PatchGAN that sees [outline | digit].

`loss` picks a row of the paper's ablation (its Table 1 and Figure 4): "l1" (no D), "gan"
(D sees only the output, no L1), "cgan" (D sees the pair, no L1), "l1+gan", "l1+cgan" (the
paper's). `patch_layers` sets D's receptive field: 0 the PixelGAN (1 pixel), 1 a 16x16
PatchGAN, 2 the ImageGAN (34 pixels: every logit sees the whole 32x32 image), 3 (70).

evaluate(exp) translates the outlines of `eval_samples` held-out digits (the evaluator's
reference digits, never trained on), crops them to 28x28 and reports, for the translations
("output"), the outlines themselves ("identity", the do-nothing baseline) and the true digits
("reference"): the judge's accuracy against the source digit's label, the judge's Fréchet
distance to all the held-out digits, and the mean L1 to the true digit (pixels in [-1, 1]).
dropout_spread is the mean |G(x) - G'(x)| between two draws of the dropout noise: the paper
found that this noise changes the output only a little.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np

from .. import backend, creation
from ..creation import manual_seed
from ..data import tasks
from ..gan import pix2pix as P
from ..optim import Adam
from ..tensor import Tensor, no_grad
from . import digits as base
from .base import Experiment, ExperimentConfig, param

steps_for_epochs = base.steps_for_epochs


@dataclass(frozen=True)
class Pix2PixConfig(ExperimentConfig):
    """pix2pix on MNIST edges -> digit: U-Net G, PatchGAN D, L1 + cGAN (Isola et al. 2017)"""
    steps: int = param(2000, "training iterations (one D step, one G step each)", minimum=1)
    loss: str = param("l1+cgan", "the objective: the paper's Table 1 rows (l1: no D; gan: D "
                                 "sees only the output; cgan: D sees input and output)",
                      P.LOSSES)
    l1_weight: float = param(P.L1_WEIGHT, "lambda: the L1 term's weight", minimum=0)
    patch_layers: int = param(1, "D's stride-2 layers: 0 PixelGAN (1 px), 1 PatchGAN (16 px), "
                                 "2 ImageGAN (34 px), 3 (70 px)", (0, 1, 2, 3))
    batch_size: int = param(64, "pairs per step", minimum=1)
    lr: float = param(2e-4, "Adam learning rate of both networks", minimum=0)
    betas: tuple[float, float] = param((0.5, 0.999), "Adam's betas for both networks")
    width: int = param(16, "G's first encoder channels (doubling, up to max_width)", minimum=1)
    max_width: int = param(32, "G's widest layers", minimum=1)
    d_width: int = param(16, "D's first channels (doubling, up to d_max_width)", minimum=1)
    d_max_width: int = param(16, "D's widest layers (32, the official doubling: l1+cgan "
                                 "costs ~155 ms/it on one CPU thread instead of ~110)",
                             minimum=1)
    dropout: float = param(0.5, "dropout probability of G's innermost decoder layers (on at "
                                "test time too: pix2pix's noise)", minimum=0)
    dropout_layers: int = param(2, "decoder layers with dropout, innermost first (at 32x32 "
                                   "the paper's three of eight at the lowest resolutions "
                                   "become two of five)", minimum=0)
    log_every: int = param(25, "iterations between history records", minimum=1)
    eval_samples: int = param(1500, "held-out digits translated and scored (0: skip the "
                                    "scoring)", minimum=0)
    data_dir: str = param("", "folder with MNIST's t10k files (default: $TINYGAN_DATA_DIR or "
                              "the cache; synthetic digits when absent)")

    def __post_init__(self):
        super().__post_init__()
        if not self.dropout < 1:
            raise ValueError(f"Pix2PixConfig: dropout must be < 1, got {self.dropout}")
        if self.dropout_layers > 4:
            raise ValueError(f"Pix2PixConfig: dropout_layers must lie in 0..4 (the decoder "
                             f"layers before the output one), got {self.dropout_layers}")


def build(config: Pix2PixConfig, device=None, digits=None) -> Experiment:
    """U-Net G, PatchGAN D (reading [x | y], or y alone for "gan"; built but never run for
    "l1"), Adam for both, the L1 hook when the loss has one, Pix2PixTrainer on packed pairs."""
    device = backend.resolve_device(device)
    digits = base.load_digits(config.data_dir or None) if digits is None else digits
    pair = tasks.paired("edges", digits)
    manual_seed(config.seed)
    G = P.UNetGenerator(1, 1, config.width, config.max_width, 5, config.dropout,
                        config.dropout_layers)
    cond = P.conditional(config.loss) or not P.adversarial(config.loss)
    D = P.PatchGAN(2 if cond else 1, config.patch_layers, config.d_width,
                             config.d_max_width)
    P.init_weights(G, D)
    G.to(device)
    D.to(device)
    hooks = [P.L1Term(config.l1_weight)] if P.uses_l1(config.loss) else []
    data, noise = P.pair_samplers(P.pairs(pair.inputs, pair.targets), device)
    trainer = P.Pix2PixTrainer(
        P.PackedTranslator(G), P.PackedPatchGAN(D, cond),
        Adam(G.parameters(), config.lr, config.betas),
        Adam(D.parameters(), config.lr, config.betas), data, noise,
        batch_size=config.batch_size, objective=P.OBJECTIVE, seed=config.seed, device=device,
        hooks=hooks, log_every=config.log_every, adversarial=P.adversarial(config.loss))
    return Experiment("pix2pix", config, device, trainer, G, sys.modules[__name__], None,
                      {"digits": digits, "discriminator": D,
                       "l1": hooks[0] if hooks else None})


# ---------------------------------------------------------------- translating


def translate(exp_or_generator, inputs, seed: int = 1234, batch_size: int = 500) -> np.ndarray:
    """G(x) float32 host array (n, 1, 32, 32) for inputs (n, 1, 32, 32), in eval mode (batch
    norm's running statistics) with the dropout noise on, its masks drawn from `seed`: one
    seed, one set of outputs."""
    G = exp_or_generator.generator if isinstance(exp_or_generator, Experiment) \
        else exp_or_generator
    x = np.asarray(inputs, dtype=np.float32)
    if x.ndim != 4 or x.shape[1:] != (G.in_channels, tasks.PAD * 2 + 28, tasks.PAD * 2 + 28) \
            or len(x) == 0:
        raise ValueError(f"translate: inputs must be (n, {G.in_channels}, 32, 32) with n >= 1, "
                         f"got {x.shape}")
    device = G.parameters()[0].device
    was = G.training
    G.eval()
    out = []
    try:
        with no_grad(), creation.using_generator(backend.rng(seed, device), device):
            for i in range(0, len(x), batch_size):
                out.append(G(Tensor(backend.to_device(x[i:i + batch_size], device))).numpy())
    finally:
        G.train(was)
    return np.concatenate(out).astype(np.float32)


heldout = base.heldout   # the held-out digits (experiments.digits)


def sample(exp: Experiment, n: int, seed=1234, labels=None) -> dict:
    """{"images": G(x) (n, 1, 32, 32), "inputs": the outlines x (n, 1, 32, 32), "targets": the
    true digits (n, 1, 32, 32), "labels": their classes (n,)} for n held-out digits drawn by
    `seed` (the dropout noise from it too). Conditional on images, not on labels."""
    exp.not_conditional(labels)
    images, digit_labels = heldout(exp)
    pick = np.random.default_rng(seed).integers(0, len(images), n)
    inputs = tasks.pad32(tasks.edges(images[pick]))
    return {"images": translate(exp, inputs, seed), "inputs": inputs,
            "targets": tasks.pad32(images[pick]),
            "labels": digit_labels[pick].astype(np.int64)}


def draw(exp: Experiment, n=None, seed=1234, labels=None):
    """Three rows of n (default 10) held-out digits: outlines, translations, true digits."""
    from ..viz.images import grid_figure
    n = 10 if n is None else n
    out = sample(exp, n, seed, labels)
    grid = np.concatenate([out["inputs"], out["images"], out["targets"]])
    return grid_figure(grid, n, f"{exp.name} ({exp.config.loss}), iteration "
                                f"{exp.trainer.iteration}: outline / output / truth")


# ---------------------------------------------------------------- scoring


def scores(images, labels, truth, evaluator) -> dict:
    """Judge accuracy against labels, Fréchet distance to the evaluator's reference, mean L1 to
    the true digits, for 28x28 images."""
    probs, _ = evaluator.classify(images)
    return {"accuracy": float(np.mean(probs.argmax(axis=1) == np.asarray(labels))),
            "frechet_distance": base._json_number(evaluator.evaluate(images).frechet_distance),
            "l1": float(np.abs(np.asarray(images) - np.asarray(truth)).mean())}


def evaluate(exp: Experiment) -> dict:
    digits, c, D = exp.parts["digits"], exp.config, exp.parts["discriminator"]
    out = {"data": digits.source, "loss": c.loss, "patch_layers": c.patch_layers,
           "receptive_field": D.receptive_field}
    if c.eval_samples <= 0:
        return out
    evaluator = base.make_evaluator(digits, c.data_dir or None)
    n = min(c.eval_samples, len(evaluator.reference_images))
    truth = np.asarray(evaluator.reference_images[:n], np.float32)
    labels = np.asarray(evaluator.reference_labels)[:n]
    outlines = tasks.pad32(tasks.edges(truth))
    translated = translate(exp, outlines, seed=1234)
    again = translate(exp, outlines, seed=4321)
    out.update(samples=n,
               output=scores(tasks.crop28(translated), labels, truth, evaluator),
               identity=scores(tasks.crop28(outlines), labels, truth, evaluator),
               reference=scores(truth, labels, truth, evaluator),
               dropout_spread=float(np.abs(translated - again).mean()))
    return out
