"""The three digit GANs on MNIST's test split (8,500 training digits): the MLP GAN
(Goodfellow et al. 2014, arXiv 1406.2661), the DCGAN (Radford, Metz & Chintala 2015, arXiv
1511.06434) and the conditional GAN (Mirza & Osindero 2014, arXiv 1411.1784), judged by the
evaluation classifier of tinygan.gan.evaluator. Lessons 07-09 and
benchmarks/reproduce_mnist.py build them through the registry.

Training uses tinygan.gan.trainer.Trainer unchanged. It hands G one noise tensor and D one sample
tensor, so the conditional GAN travels packed: noise [z | one-hot y] (N, 110) and samples
[flattened image | one-hot y] (N, 794), unpacked by models.PackedGenerator/PackedDiscriminator.

Hyperparameters follow Radford et al. 2015: Adam with betas (0.5, 0.999), batch 64, the
non-saturating generator loss, z ~ N(0, I) of 100 dimensions, learning rate 2e-4 -- except the
DCGAN's, 1e-3: its budget is a few thousand iterations, and the single-seed trials behind that
choice are in benchmarks/results/mnist_trials.md.
"""
from __future__ import annotations

import math
import sys
from dataclasses import dataclass

import numpy as np

from .. import backend
from ..creation import manual_seed
from ..data.digits import load_digits, mnist_split, sampler, synthetic_digits
from ..gan import models, penalties
from ..gan.augment import AugmentState, DiffAugment
from ..nn import utils as nn_utils
from ..gan.hooks import EMA, noise_inputs
from ..gan.trainer import Trainer, normal_noise
from ..optim import Adam
from ..tensor import Tensor, no_grad
from .base import Experiment, ExperimentConfig, param

MODELS = ("mlp", "dcgan", "cgan")
#: the class-conditional models of lesson 11 (tinygan.experiments.conditioning builds them)
CONDITIONING = ("acgan", "projection", "controlgan", "biggan")
WIDE_MODELS = ("dcgan", "biggan")  # the models with a `width`


@dataclass(frozen=True)
class DigitsConfig(ExperimentConfig):
    """MLP GAN on MNIST (metrics: classifier score, Fréchet distance of classifier features)"""
    model: str = param("mlp", "which digit GAN", MODELS, cli=False)
    steps: int = param(2000, "training iterations (one D step, one G step each)", minimum=1)
    batch_size: int = param(64, "m: digits per step", minimum=1)
    lr: float = param(2e-4, "Adam learning rate of both networks", minimum=0)
    betas: tuple[float, float] = param((0.5, 0.999), "Adam's betas for both networks")
    ema_decay: float | None = param(0.999, "also keep (and score) an EMA of G's weights "
                                           "with this decay (none: do not)")
    log_every: int = param(25, "iterations between history records", minimum=1)
    eval_samples: int = param(2000, "generated digits scored by the evaluation classifier "
                                    "(0: skip the scoring)", minimum=0)
    data_dir: str = param("", "folder with MNIST's t10k files (default: $TINYGAN_DATA_DIR or "
                              "the cache; synthetic digits when absent)")
    # --- the critics of lesson 10 (and what helps a small-data GAN), each off by default
    objective: str = param("nonsaturating", "the losses of D and G (tinygan.gan.losses)",
                           ("nonsaturating", "hinge", "wasserstein"))
    d_steps: int = param(1, "k: D (critic) steps per G step", minimum=1)
    lr_d: float | None = param(None, "D's learning rate (none: lr)")
    spectral_norm: bool = param(False, "spectral normalization of every D layer (Miyato et "
                                       "al. 2018, arXiv 1802.05957)")
    gp_weight: float = param(0.0, "WGAN-GP's gradient penalty weight lambda (0: none)",
                             minimum=0)
    diffaug: bool = param(False, "differentiable translation + cutout of every image D sees "
                                 "(Zhao et al. 2020, arXiv 2006.10738)")
    width: int = param(64, "dcgan, biggan: channels of the narrow conv layers (2x in the "
                           "wide)", minimum=1)
    d_norm: str = param("batch", "dcgan: what follows D's second convolution",
                        models.D_NORMS)

    def __post_init__(self):
        super().__post_init__()
        if (self.model not in WIDE_MODELS and self.width != 64) or \
                (self.model != "dcgan" and self.d_norm != "batch"):
            raise ValueError(f"width shapes the convolutional models {WIDE_MODELS} and d_norm "
                             f"the DCGAN only; the {self.model} model has its own fixed layers")
        if self.model not in ("mlp", "dcgan") and (self.diffaug or self.gp_weight):
            raise ValueError(f"the {self.model} model trains on [image | label] rows: diffaug "
                             "and the gradient penalty are for the unconditional models")


@dataclass(frozen=True)
class DCGANConfig(DigitsConfig):
    """DCGAN on MNIST (convolutions; slow on a CPU)"""
    model: str = param("dcgan", "which digit GAN", MODELS, cli=False)
    steps: int = param(500, "training iterations (one D step, one G step each)", minimum=1)
    lr: float = param(1e-3, "Adam learning rate of both networks", minimum=0)


@dataclass(frozen=True)
class DCGANSNConfig(DCGANConfig):
    """DCGAN with a spectrally normalized critic and the hinge loss (SN-GAN, Miyato et al.
    2018, arXiv 1802.05957; no batch norm in D)"""
    objective: str = param("hinge", "the losses of D and G (tinygan.gan.losses)",
                           ("nonsaturating", "hinge", "wasserstein"))
    spectral_norm: bool = param(True, "spectral normalization of every D layer (Miyato et "
                                      "al. 2018, arXiv 1802.05957)")
    d_norm: str = param("none", "dcgan: what follows D's second convolution", models.D_NORMS)
    lr: float = param(2e-4, "Adam learning rate of both networks", minimum=0)


@dataclass(frozen=True)
class DCGANGPConfig(DCGANConfig):
    """DCGAN as a WGAN-GP critic (Gulrajani et al. 2017, arXiv 1704.00028, Algorithm 1:
    lambda 10, 5 critic steps, Adam 1e-4 with betas (0.5, 0.9) as their image models; no batch
    norm in D)"""
    objective: str = param("wasserstein", "the losses of D and G (tinygan.gan.losses)",
                           ("nonsaturating", "hinge", "wasserstein"))
    gp_weight: float = param(10.0, "WGAN-GP's gradient penalty weight lambda (0: none)",
                             minimum=0)
    d_steps: int = param(5, "k: D (critic) steps per G step", minimum=1)
    d_norm: str = param("none", "dcgan: what follows D's second convolution", models.D_NORMS)
    lr: float = param(1e-4, "Adam learning rate of both networks", minimum=0)
    betas: tuple[float, float] = param((0.5, 0.9), "Adam's betas for both networks")


@dataclass(frozen=True)
class CGANConfig(DigitsConfig):
    """conditional GAN on MNIST: ask for a digit (metrics include label accuracy)"""
    model: str = param("cgan", "which digit GAN", MODELS, cli=False)


# ---------------------------------------------------------------- building


def build_models(model: str, seed: int = 0, width: int = 64, d_norm: str = "batch"):
    """(G, D) for "mlp", "dcgan" or "cgan", initialised from `seed` (width, d_norm: the
    DCGAN's)."""
    manual_seed(seed)
    if model == "mlp":
        return models.mlp_gan()
    if model == "dcgan":
        return models.dcgan(width=width, d_norm=d_norm)
    if model == "cgan":
        return models.conditional_gan()
    raise ValueError(f"unknown model {model!r}: expected one of {MODELS}")


def packed_noise(z_dim: int = models.Z_DIM, num_classes: int = models.NUM_CLASSES):
    """noise(m, rng) for the conditional GAN: [z | one-hot y] (m, z_dim + K), z ~ N(0, I) and
    y uniform over the K classes (the ten digits)."""
    def sample(m: int, rng) -> Tensor:
        z = rng.standard_normal((m, z_dim), dtype=np.float32)
        xp = backend.get_array_module(z)  # numpy or cupy, as the generator's device
        y = xp.eye(num_classes, dtype=np.float32)[rng.integers(0, num_classes, m)]
        return Tensor(xp.concatenate([z, y], axis=1))
    return sample


def build(config: DigitsConfig, device=None, digits=None) -> Experiment:
    """Models, Adam optimizers, the EMA hook and an Algorithm-1 trainer (one D step per G step).
    digits: the training digits (default: load_digits(config.data_dir))."""
    device = backend.resolve_device(device)
    digits = load_digits(config.data_dir or None) if digits is None else digits
    G, D = build_models(config.model, config.seed, config.width, config.d_norm)
    return assemble(config, device, digits, G, D)


def packed_data(digits, device, labels=None, num_classes: int = models.NUM_CLASSES):
    """data(m, rng) of rows [flattened image | one-hot label] (m, 784 + K) of the training
    digits; labels: another label per digit than its class (in 0..num_classes-1)."""
    flat = np.asarray(digits.images, dtype=np.float32).reshape(len(digits.images), -1)
    y = models.one_hot(digits.labels if labels is None else labels, num_classes).numpy()
    return sampler(np.concatenate([flat, y], axis=1), device)


def assemble(config: DigitsConfig, device, digits, G, D, hooks=(), module=None,
             parts=None, packed=None) -> Experiment:
    """The experiment around built models: G and D moved to `device`, D spectrally normalized
    if asked, a class-conditional pair wrapped to train on packed rows, hooks (the config's
    and `hooks`, then the EMA), Adam for both, the trainer. module: whose evaluate/draw/sample
    the experiment uses (default: this one); parts: more entries for exp.parts; packed: a
    function (device) -> (g_step, d_step, data, noise) for a pair that travels in a packing
    of its own (InfoGAN's codes)."""
    G.to(device)
    D.to(device)
    if config.spectral_norm:
        nn_utils.spectral_norm_layers(D, backend.rng([config.seed, 6], device))
    hooks = list(hooks)
    if packed is not None:
        g_step, d_step, data, noise = packed(device)
    elif isinstance(G, models.ClassConditionalGenerator):
        g_step, d_step = models.PackedGenerator(G), models.PackedDiscriminator(D)
        data, noise = packed_data(digits, device), packed_noise(G.z_dim, G.num_classes)
    else:
        g_step, d_step = G, D
        data, noise = sampler(digits.images, device), normal_noise(G.z_dim)
        if config.diffaug:
            d_step = DiffAugment(D, seed=[config.seed, 7], device=device)
            hooks.append(AugmentState(d_step))
    if config.gp_weight:
        hooks.append(penalties.GradientPenalty("wgan-gp", config.gp_weight))
    ema = EMA(G, config.ema_decay) if config.ema_decay is not None else None
    hooks += [ema] if ema is not None else []
    lr_d = config.lr if config.lr_d is None else config.lr_d
    trainer = Trainer(g_step, d_step, Adam(G.parameters(), config.lr, config.betas),
                      Adam(D.parameters(), lr_d, config.betas), data, noise,
                      batch_size=config.batch_size, d_steps=config.d_steps,
                      objective=config.objective, seed=config.seed, device=device, hooks=hooks,
                      log_every=config.log_every)
    return Experiment(f"{config.model}", config, device, trainer, G,
                      module or sys.modules[__name__], ema,
                      {"digits": digits, "discriminator": D, **(parts or {})})


def steps_for_epochs(config: DigitsConfig, epochs: float) -> int:
    """Iterations that show the training digits `epochs` times (for `--epochs`)."""
    digits = load_digits(config.data_dir or None)
    return max(1, math.ceil(epochs * len(digits.images) / config.batch_size))


def is_conditional(exp: Experiment) -> bool:
    return isinstance(exp.generator, models.ClassConditionalGenerator)


def averaged_generator(exp: Experiment):
    """The EMA of G, its batch-norm statistics re-estimated for the averaged weights."""
    if exp.ema is None:
        raise ValueError(f"{exp.name}: this run keeps no weight average (ema_decay is none)")
    G = exp.generator
    inputs = noise_inputs(G.z_dim, 256, exp.device,
                          G.num_classes if is_conditional(exp) else 0)
    return exp.ema.averaged(inputs)


# ---------------------------------------------------------------- sampling and scoring


def generate(exp_or_generator, n: int, seed: int = 1234, labels=None, z=None,
             batch_size: int = 500, averaged: bool = False) -> np.ndarray:
    """n generated digits, float32 host array (n, 1, 28, 28) in [-1, 1], drawn in eval mode
    (batch norm uses its running statistics, so each digit depends on its own z alone).
    labels: requested digits (n,) for a conditional generator. z: the noise to use (n, 100);
    by default drawn from N(0, I) with `seed`. averaged: draw from the experiment's EMA."""
    if isinstance(exp_or_generator, Experiment):
        exp = exp_or_generator
        G = averaged_generator(exp) if averaged else exp.generator
    else:
        G = exp_or_generator
    conditional = isinstance(G, models.ClassConditionalGenerator)
    if conditional and labels is None:
        raise ValueError("a conditional generator needs labels: which digit to draw for each "
                         "sample (n integers 0..9)")
    if not conditional and labels is not None:
        raise ValueError(f"{type(G).__name__} is not conditional: it cannot take labels")
    device = G.parameters()[0].device
    if z is None:
        z = np.random.default_rng(seed).standard_normal((n, G.z_dim)).astype(np.float32)
    z = np.asarray(backend.to_numpy(z.data if isinstance(z, Tensor) else z), dtype=np.float32)
    if z.shape != (n, G.z_dim):
        raise ValueError(f"z has shape {z.shape}, expected ({n}, {G.z_dim})")
    labels = None if labels is None else np.asarray(labels)
    was_training = G.training
    G.eval()
    out = []
    try:
        with no_grad():
            for start in range(0, n, batch_size):
                part = slice(start, min(start + batch_size, n))
                zt = Tensor(backend.to_device(z[part], device))
                out.append((G(zt, labels[part]) if conditional else G(zt)).numpy())
    finally:
        G.train(was_training)
    return np.concatenate(out).astype(np.float32)


def balanced_labels(n: int, num_classes: int = 10) -> np.ndarray:
    """0, 1, ..., 9, 0, 1, ... (n of them): every digit requested equally often."""
    return (np.arange(n) % num_classes).astype(np.int64)


def score(exp: Experiment, evaluator, n: int = 5000, seed: int = 1234, averaged: bool = False):
    """evaluator.evaluate on n samples (a conditional model asked for each digit n/10 times,
    its conditional accuracy included). Returns evaluator.Scores."""
    labels = balanced_labels(n) if is_conditional(exp) else None
    images = generate(exp, n, seed, labels=labels, averaged=averaged)
    return evaluator.evaluate(images, requested=labels)


def heldout(exp: Experiment):
    """(digits (n, 1, 28, 28) float32, labels (n,)) never trained on: MNIST's held-out 1,500,
    or for synthetic digits the evaluator's synthetic reference (make_evaluator's); cached in
    exp.parts (the image-to-image experiments score translations of them)."""
    if "heldout" not in exp.parts:
        if exp.parts["digits"].synthetic:
            images, labels = synthetic_digits(1500, seed=1)
        else:
            split = mnist_split(exp.config.data_dir or None)
            images, labels = split.heldout_images, split.heldout_labels
        exp.parts["heldout"] = (np.asarray(images, np.float32), np.asarray(labels))
    return exp.parts["heldout"]


def make_evaluator(digits, data_dir=None):
    """The MNIST evaluator (committed classifier, held-out digits as the reference). For
    synthetic digits, the same classifier with 1,500 fresh synthetic digits as the reference:
    the pipeline runs, but an MNIST classifier's verdict on seven-segment digits means little."""
    from ..gan.evaluator import Evaluator, load_classifier

    if not digits.synthetic:
        return Evaluator.for_mnist(data_dir)
    images, labels = synthetic_digits(1500, seed=1)
    return Evaluator(load_classifier(), images, labels)


def evaluate(exp: Experiment) -> dict:
    digits, c = exp.parts["digits"], exp.config
    if c.eval_samples <= 0:
        return {"data": digits.source, "scored": False}
    evaluator = make_evaluator(digits, c.data_dir or None)
    out = {k: _json_number(v) for k, v in
           score(exp, evaluator, n=c.eval_samples).as_dict().items()}
    if exp.ema is not None:
        out["ema"] = {k: _json_number(v) for k, v in
                      score(exp, evaluator, n=c.eval_samples, averaged=True).as_dict().items()}
    out["data"] = digits.source
    return out


def _json_number(v):
    if isinstance(v, (float, np.floating)):
        return float(v) if math.isfinite(v) else str(float(v))
    return v


def sample(exp: Experiment, n: int, seed=1234, labels=None) -> dict:
    """{"images": (n, 1, 28, 28) float32 in [-1, 1]} from the trained G, plus "labels" (n,)
    for the conditional GAN (the digits asked for; default 0-9 in turn)."""
    if is_conditional(exp):
        labels = balanced_labels(n) if labels is None else np.asarray(labels, dtype=np.int64)
        if labels.shape != (n,):
            raise ValueError(f"{exp.name}: got {labels.size} labels for {n} samples; give one "
                             "per sample")
        return {"images": generate(exp, n, seed, labels=labels), "labels": labels}
    exp.not_conditional(labels)
    return {"images": generate(exp, n, seed)}


def draw(exp: Experiment, n=None, seed=1234, labels=None):
    from ..viz.images import grid_figure
    conditional = is_conditional(exp)
    n = (64 if labels is None else len(labels)) if n is None else n
    out = sample(exp, n, seed, labels)
    title = f"{exp.name}, iteration {exp.trainer.iteration}"
    if conditional and n <= 20:
        title += f"; labels {' '.join(str(int(v)) for v in out['labels'])}"
    return grid_figure(out["images"], 10 if conditional else None, title)
