"""SRGAN on digits (Ledig et al. 2017, arXiv 1609.04802; tinygan.gan.srgan): 7x7 digits (each
the mean of a 4x4 block of a 28x28 one, tinygan.data.tasks) brought back to 28x28.

As in the paper, one run trains SRResNet on the pixel MSE first, then SRGAN started from its
weights on the perceptual loss: the MSE between the judge's feature maps of G(x) and of the
truth (its second convolution's, standing in for VGG's phi_5,4), plus 1e-3 times the
adversarial loss. One budget drives both: `exp.trainer.fit(steps=...)` or `fit(seconds=...,
clock="cpu")` gives the pretraining `pretrain_fraction` of it and SRGAN the rest
(gan.srgan.SRStages). The pretrained SRResNet is kept as its own network, so the SRResNet row
of the results is the generator as the pretraining left it.

evaluate(exp) super-resolves the first `eval_samples` held-out digits (the evaluator's
reference digits, which training never sees) with bicubic interpolation (tinygan.data.resize,
clipped to [-1, 1]), SRResNet and SRGAN, and reports for each: PSNR and SSIM against the truth
(tinygan.metrics; data range 2), the judge's accuracy against the true labels, and the judge's
Fréchet distance to all the held-out digits (the truth's own row: the floor a sample of
eval_samples digits reaches). The judge's numbers are not independent of SRGAN's training, whose
content loss reads the same network's features; PSNR and SSIM are.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np

from .. import backend, metrics
from ..creation import manual_seed
from ..data import tasks
from ..data.resize import bicubic
from ..gan import srgan as S
from ..gan.evaluator import load_classifier
from ..nn.utils import predict
from ..optim import Adam
from . import digits as base
from .base import Experiment, ExperimentConfig, param

steps_for_epochs = base.steps_for_epochs
LOW = 7                     # the inputs' size: 28 averaged over 4x4 blocks
#: the content loss's feature scale per layer (our 1/12.75, the paper's factor on VGG's maps):
#: set so that bicubic's feature loss equals its pixel MSE on the training digits (0.142;
#: unscaled, conv2's is 1.58 and conv1's 0.102)
FEATURE_SCALES = {"conv2": 0.3, "conv1": 1.2, "pixel": 1.0}
ROWS = ("bicubic", "srresnet", "srgan")


@dataclass(frozen=True)
class SRGANConfig(ExperimentConfig):
    """SRGAN on MNIST: 7x7 -> 28x28 super-resolution, SRResNet on the pixel MSE first, then
    content + adversarial loss (Ledig et al. 2017)"""
    steps: int = param(2000, "training iterations over both phases", minimum=2)
    pretrain_fraction: float = param(0.5, "the MSE pretraining's (SRResNet's) share of every "
                                          "budget (steps or seconds); SRGAN gets the rest")
    batch_size: int = param(64, "m: pairs per minibatch (the paper's 16)", minimum=1)
    lr: float = param(1e-4, "Adam learning rate of both networks and phases (the paper's)",
                      minimum=0)
    betas: tuple[float, float] = param((0.9, 0.999), "Adam's betas (the paper's beta1 0.9)")
    channels: int = param(24, "G's channels (the paper's 64)", minimum=1)
    blocks: int = param(4, "G's residual blocks (the paper's 16)", minimum=0)
    kernel: int = param(3, "G's stem and output kernel (the paper's 9 on 24x24 inputs; a 5x5 "
                           "output costs 2.5 times a 3x3 on the CPU)", minimum=1)
    d_width: int = param(12, "D's first channels (the paper's 64)", minimum=1)
    content_layer: str = param("conv2", "where the content loss reads the judge: conv2 (the "
                                        "deepest map, as phi_5,4), conv1 (as phi_2,2), pixel "
                                        "(SRGAN-MSE)", tuple(S.CONTENT_LAYERS))
    feature_scale: float | None = param(None, "features scaled by this in the content loss "
                                              "(none: the layer's value in FEATURE_SCALES)")
    adversarial_weight: float = param(S.ADVERSARIAL_WEIGHT, "weight of the adversarial loss "
                                                            "in SRGAN's", minimum=0)
    log_every: int = param(25, "iterations between history records", minimum=1)
    eval_samples: int = param(1500, "held-out digits super-resolved and scored (0: skip)",
                              minimum=0)
    data_dir: str = param("", "folder with MNIST's t10k files (default: $TINYGAN_DATA_DIR or "
                              "the cache; synthetic digits when absent)")

    def __post_init__(self):
        super().__post_init__()
        if not 0 < self.pretrain_fraction < 1:
            raise ValueError(f"SRGANConfig: pretrain_fraction must lie in (0, 1), got "
                             f"{self.pretrain_fraction}")
        if self.kernel % 2 == 0:
            raise ValueError(f"SRGANConfig: kernel must be odd (same-size convolutions), got "
                             f"{self.kernel}")
        if self.feature_scale is not None and not self.feature_scale > 0:
            raise ValueError(f"SRGANConfig: feature_scale must be > 0, got "
                             f"{self.feature_scale}")
        if self.adversarial_weight == 0:
            raise ValueError("SRGANConfig: adversarial_weight 0 leaves no SRGAN phase (the "
                             "pretraining alone is SRResNet)")

    @property
    def scale(self) -> float:
        return FEATURE_SCALES[self.content_layer] if self.feature_scale is None \
            else self.feature_scale


def build(config: SRGANConfig, device=None, digits=None) -> Experiment:
    """Both generators (SRGAN's is overwritten by the pretrained one when its phase starts),
    D, the frozen judge as the content network, one SRTrainer per phase."""
    device = backend.resolve_device(device)
    digits = base.load_digits(config.data_dir or None) if digits is None else digits
    pairs = tasks.paired("resolution", digits, size=LOW)
    judge = load_classifier(device=device)
    manual_seed(config.seed)
    c = config
    srresnet = S.SRResNet(c.channels, c.blocks, c.kernel, in_size=LOW)
    G = S.SRResNet(c.channels, c.blocks, c.kernel, in_size=LOW)
    D = S.SRDiscriminator(c.d_width)
    for m in (srresnet, G, D):
        m.to(device)
    data = S.pair_sampler(pairs.inputs, pairs.targets, device)

    def trainer(G, content, weight, k, hooks=()):
        # the pretraining holds D too (a Trainer has one) but never steps it
        return S.SRTrainer(G, D, Adam(G.parameters(), c.lr, c.betas),
                           Adam(D.parameters(), c.lr, c.betas), data, content,
                           adversarial_weight=weight, batch_size=c.batch_size,
                           seed=None if c.seed is None else [c.seed, k], device=device,
                           hooks=hooks, log_every=c.log_every)

    content = S.ContentLoss(S.judge_features(judge, c.content_layer), c.scale)
    stages = S.SRStages(trainer(srresnet, S.ContentLoss(), 0.0, 1),
                        trainer(G, content, c.adversarial_weight, 2, [S.StartFrom(srresnet)]),
                        c.pretrain_fraction, c.steps)
    return Experiment("srgan", config, device, stages, G, sys.modules[__name__], None,
                      {"digits": digits, "srresnet": srresnet, "discriminator": D,
                       "judge": judge})


# ---------------------------------------------------------------- super-resolving


def super_resolve(G, low, batch_size: int = 500) -> np.ndarray:
    """G's 28x28 images (n, 1, 28, 28) float32 for 7x7 inputs (n, 1, 7, 7), in eval mode (batch
    norm's running statistics: each output depends on its own input alone)."""
    return predict(G, low, batch_size)


def upscale(low) -> np.ndarray:
    """The bicubic baseline: 7x7 -> 28x28, clipped to the images' range [-1, 1]."""
    return np.clip(bicubic(low, 4 * np.shape(low)[-1]), -1, 1)


heldout = base.heldout   # the held-out digits (experiments.digits)


def sample(exp: Experiment, n: int, seed=1234, labels=None) -> dict:
    """For n random held-out digits: {"images": SRGAN's (n, 1, 28, 28), "inputs": their 7x7
    versions (n, 1, 7, 7), "srresnet": the pretrained SRResNet's (n, 1, 28, 28), "truth": the
    digits themselves}."""
    exp.not_conditional(labels)
    images, _ = heldout(exp)
    truth = images[np.random.default_rng(seed).integers(0, len(images), n)]
    low = tasks.low_resolution(truth, LOW)
    return {"images": super_resolve(exp.generator, low), "inputs": low,
            "srresnet": super_resolve(exp.parts["srresnet"], low),
            "truth": truth.astype(np.float32)}


def draw(exp: Experiment, n=None, seed=1234, labels=None):
    """Rows: bicubic, SRResNet, SRGAN, the truth, for n (default 10) held-out digits."""
    from ..viz.images import grid_figure
    n = 10 if n is None else n
    out = sample(exp, n, seed, labels)
    grid = np.concatenate([upscale(out["inputs"]), out["srresnet"], out["images"],
                           out["truth"]])
    return grid_figure(grid, n, f"{exp.name}, iteration {exp.trainer.iteration}: bicubic, "
                                "SRResNet, SRGAN, truth")


# ---------------------------------------------------------------- scoring


def evaluate(exp: Experiment) -> dict:
    digits, c = exp.parts["digits"], exp.config
    out = {"data": digits.source, "content_layer": c.content_layer,
           "iterations": {name: t.iteration for name, t in exp.trainer.stages.items()}}
    if c.eval_samples <= 0:
        return out
    evaluator = base.make_evaluator(digits, c.data_dir or None)
    n = min(c.eval_samples, len(evaluator.reference_images))
    truth = evaluator.reference_images[:n]
    labels = np.asarray(evaluator.reference_labels)[:n]
    low = tasks.low_resolution(truth, LOW)
    rows = {"bicubic": upscale(low), "srresnet": super_resolve(exp.parts["srresnet"], low),
            "srgan": super_resolve(exp.generator, low), "truth": truth}
    for name, images in rows.items():
        probs, feats = evaluator.classify(images)
        row = {} if name == "truth" else {"psnr": metrics.psnr(images, truth),
                                          "ssim": metrics.ssim(images, truth)}
        row["accuracy"] = float(np.mean(probs.argmax(axis=1) == labels))
        row["frechet_distance"] = base._json_number(
            metrics.frechet_distance(evaluator.reference_features, feats)) if n >= 2 else None
        out[name] = row
    out["samples"] = n
    return out
