"""Small building blocks to build, train and evaluate the three digit GANs (MLP GAN, DCGAN,
conditional GAN); lessons 07-09, benchmarks/reproduce_mnist.py and the CLI share them.

    digits = load_digits()                        # MNIST (8,500 training digits) or synthetic
    exp = make_experiment("dcgan", digits, seed=0)
    run = train_for(exp, seconds=600)             # Algorithm 1 for a wall-clock budget
    scores = evaluate(exp, Evaluator.for_mnist())

Training uses tinygan.gan.trainer.Trainer unchanged. It hands G one noise tensor and D one sample
tensor, so the conditional GAN travels packed: noise [z | one-hot y] (N, 110) and samples
[flattened image | one-hot y] (N, 794), unpacked by models.PackedGenerator/PackedDiscriminator.

Hyperparameters follow Radford et al. 2015: Adam with betas (0.5, 0.999), batch 64, the
non-saturating generator loss, z ~ N(0, I) of 100 dimensions, learning rate 2e-4 -- except the
DCGAN's learning rate, 1e-3 (HYPERPARAMETERS). Its budget is a few thousand iterations, and
single-seed trials of 10 CPU-minutes (seed 0, one thread, ~3,000 iterations) scored 7.37 at
5e-4 (5e-4 itself had beaten 2e-4: 6.0 against 5.0 after 800 iterations), 7.61 at 1e-3, 7.61
at 2e-3, 7.62 with 2e-3 for G and 1e-3 for D, 7.67 at 1e-3 with batch 32. What did not help:
decaying the learning rate linearly to 0 over the budget (6.77), one-sided label smoothing
0.9 (7.33), the least-squares loss (7.03).
"""
from __future__ import annotations

import copy
import logging
import math
import time
from dataclasses import dataclass, field

import numpy as np

from .. import backend
from ..creation import manual_seed
from ..optim import Adam
from ..tensor import Tensor, no_grad
from . import models
from .trainer import Trainer, normal_noise

log = logging.getLogger(__name__)

MODELS = ("mlp", "dcgan", "cgan")
LR, BETAS, BATCH = 2e-4, (0.5, 0.999), 64
#: per-model defaults of make_experiment
HYPERPARAMETERS = {"mlp": {"batch_size": BATCH, "lr": LR},
                   "dcgan": {"batch_size": BATCH, "lr": 1e-3},
                   "cgan": {"batch_size": BATCH, "lr": LR}}


# ---------------------------------------------------------------------------------------------
# Data: MNIST when it can be found, else a synthetic stand-in
# ---------------------------------------------------------------------------------------------

@dataclass
class Digits:
    """Training digits float32 (N, 1, 28, 28) in [-1, 1] with labels (N,); `synthetic` tells
    whether they are the seven-segment stand-in rather than MNIST."""
    images: np.ndarray
    labels: np.ndarray
    source: str
    synthetic: bool = False


def load_digits(data_dir=None, allow_synthetic: bool = True, synthetic_size: int = 3000
                ) -> Digits:
    """The 8,500 training digits of evaluator.mnist_split (MNIST's test split minus the 1,500
    held out for evaluation). When MNIST is not found (see tinygan.data.mnist for where it is
    looked for) and allow_synthetic, seven-segment digits from synthetic_digits instead."""
    from ..data import mnist
    from .evaluator import mnist_split

    try:
        split = mnist_split(data_dir)
    except mnist.MNISTNotFoundError:
        if not allow_synthetic:
            raise
        images, labels = synthetic_digits(synthetic_size, seed=0)
        return Digits(images, labels, f"synthetic seven-segment digits ({synthetic_size}): "
                      "MNIST not found (set TINYGAN_DATA_DIR to its folder)", synthetic=True)
    return Digits(split.train_images, split.train_labels, split.source)


# segments of a seven-segment display as (x0, y0, x1, y1) in a box 1 wide and 2 high
_SEGMENTS = {"a": (0, 0, 1, 0), "b": (1, 0, 1, 1), "c": (1, 1, 1, 2), "d": (0, 2, 1, 2),
             "e": (0, 1, 0, 2), "f": (0, 0, 0, 1), "g": (0, 1, 1, 1)}
_DIGIT_SEGMENTS = ["abcdef", "bc", "abged", "abgcd", "fgbc", "afgcd", "afgecd", "abc",
                   "abcdefg", "abcdfg"]


def synthetic_digits(n: int, seed: int = 0):
    """n digit-like images (float32 (n, 1, 28, 28) in [-1, 1]) and their labels (n,): seven-
    segment strokes with random size, position, slant and thickness, anti-aliased. A stand-in
    that lets the lessons run without MNIST; metrics from the MNIST classifier mean little on
    them."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n).astype(np.uint8)
    yy, xx = np.mgrid[0:28, 0:28].astype(np.float32) + 0.5
    images = np.empty((n, 1, 28, 28), dtype=np.float32)
    for i, digit in enumerate(labels):
        w, h = rng.uniform(7, 11), rng.uniform(15, 19)
        cx, cy = 14 + rng.uniform(-2, 2), 14 + rng.uniform(-1.5, 1.5)
        slant, radius = rng.uniform(-0.25, 0.25), rng.uniform(1.0, 2.0)
        ink = np.zeros((28, 28), dtype=np.float32)
        for s in _DIGIT_SEGMENTS[digit]:
            x0, y0, x1, y1 = _SEGMENTS[s]
            if digit == 1:  # a one is a single centred stroke, not the right-hand segments
                x0 = x1 = 0.5
            p0 = np.array([cx + (x0 - 0.5) * w - slant * (y0 - 1) * h / 2, cy + (y0 - 1) * h / 2])
            p1 = np.array([cx + (x1 - 0.5) * w - slant * (y1 - 1) * h / 2, cy + (y1 - 1) * h / 2])
            d = p1 - p0
            t = np.clip(((xx - p0[0]) * d[0] + (yy - p0[1]) * d[1]) / max(d @ d, 1e-6), 0, 1)
            dist = np.hypot(xx - p0[0] - t * d[0], yy - p0[1] - t * d[1])
            ink = np.maximum(ink, np.clip(radius + 0.5 - dist, 0, 1))  # 1 inside, soft edge
        images[i, 0] = 2 * ink - 1
    return images, labels


# ---------------------------------------------------------------------------------------------
# Samplers for the trainer: data(m, rng) and noise(m, rng) -> Tensor on rng's device
# ---------------------------------------------------------------------------------------------

def image_sampler(images: np.ndarray, device: str = "cpu"):
    """data(m, rng): m digits drawn uniformly with replacement (indices from the trainer's
    generator, so a seeded run is repeatable; the array lives on the device once)."""
    stored = backend.to_device(np.ascontiguousarray(images, dtype=np.float32), device)
    n = len(stored)

    def sample(m: int, rng) -> Tensor:
        return Tensor(stored[rng.integers(0, n, m)])
    return sample


def packed_sampler(images: np.ndarray, labels: np.ndarray, device: str = "cpu"):
    """data(m, rng) for the conditional GAN: rows [flattened image | one-hot label] (m, 794)."""
    flat = np.asarray(images, dtype=np.float32).reshape(len(images), models.IMAGE_SIZE)
    onehot = models.one_hot(labels).numpy()
    return image_sampler(np.concatenate([flat, onehot], axis=1), device)


def packed_noise(z_dim: int = models.Z_DIM):
    """noise(m, rng) for the conditional GAN: [z | one-hot y] (m, z_dim + 10), z ~ N(0, I) and
    y uniform over the ten digits."""
    def sample(m: int, rng) -> Tensor:
        z = rng.standard_normal((m, z_dim), dtype=np.float32)
        xp = backend.get_array_module(z)  # numpy or cupy, as the generator's device
        y = xp.eye(models.NUM_CLASSES, dtype=np.float32)[rng.integers(0, models.NUM_CLASSES, m)]
        return Tensor(xp.concatenate([z, y], axis=1))
    return sample


# ---------------------------------------------------------------------------------------------
# Building and training
# ---------------------------------------------------------------------------------------------

class WeightAverage:
    """An exponential moving average of a generator's weights, updated after every iteration:
    w_avg <- d w_avg + (1 - d) w, with d = min(decay, (1 + t) / (10 + t)) so that the first
    iterations do not keep the random initial weights for long. Sampling from the averaged
    generator smooths out the oscillation of GAN training (Yazıcı et al. 2019; Karras et al.
    2018 use it for every result); the trained generator itself is not changed.

    Batch-norm running statistics belong to the weights that produced them, so before sampling
    the averaged copy gets its own: `generator()` re-estimates them on fresh noise."""

    def __init__(self, generator, decay: float = 0.999):
        if not 0 < decay < 1:
            raise ValueError(f"decay must lie in (0, 1), got {decay}")
        self.source, self.decay, self.updates = generator, decay, 0
        self.copy = copy.deepcopy(generator)
        self.copy.requires_grad_(False)
        self._pairs = list(zip(self.copy.parameters(), generator.parameters()))
        self._calibrated_at = None

    def update(self) -> None:
        d = min(self.decay, (1 + self.updates) / (10 + self.updates))
        for avg, live in self._pairs:  # in place on the raw arrays: no graph, no allocation
            avg.data *= d
            avg.data += (1 - d) * live.data
        self.updates += 1

    def generator(self, batches: int = 8, batch_size: int = 256, seed: int = 0):
        """The averaged generator in eval mode, its batch-norm statistics re-estimated (as a
        cumulative average over `batches` batches of fresh noise) when the weights moved."""
        if self._calibrated_at != self.updates:
            G = self.copy
            norms = [m for m in G.modules() if isinstance(m, models.nn.BatchNorm1d)
                     or isinstance(m, models.nn.BatchNorm2d)]
            saved = [m.momentum for m in norms]
            for m in norms:
                m.reset_running_stats()
                m.momentum = None
            rng = np.random.default_rng(seed)
            device = G.parameters()[0].device
            G.train()
            with no_grad():
                for _ in range(batches if norms else 0):
                    z = Tensor(backend.to_device(
                        rng.standard_normal((batch_size, G.z_dim)).astype(np.float32), device))
                    if isinstance(G, models.ConditionalGenerator):
                        G(z, rng.integers(0, models.NUM_CLASSES, batch_size))
                    else:
                        G(z)
            for m, momentum in zip(norms, saved):
                m.momentum = momentum
            self._calibrated_at = self.updates
        return self.copy.eval()


@dataclass
class Experiment:
    """One model being trained: `generator` is the user-facing G (G(z) or, for "cgan",
    G(z, labels)); `trainer.G`/`trainer.D` are what Algorithm 1 steps (packed for "cgan")."""
    name: str
    generator: models.nn.Module
    discriminator: models.nn.Module
    trainer: Trainer
    digits: Digits
    seed: int
    device: str = "cpu"
    average: WeightAverage | None = None
    clock: dict = field(default_factory=lambda: {"steps": 0, "wall_seconds": 0.0,
                                                 "cpu_seconds": 0.0})

    @property
    def conditional(self) -> bool:
        return self.name == "cgan"

    @property
    def steps(self) -> int:
        return self.trainer.iteration


def build_models(name: str, seed: int = 0):
    """(G, D) for "mlp", "dcgan" or "cgan", initialised from `seed`."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}: expected one of {MODELS}")
    manual_seed(seed)
    if name == "mlp":
        return models.mlp_gan()
    if name == "dcgan":
        return models.dcgan()
    return models.conditional_gan()


def make_experiment(name: str, digits: Digits, seed: int = 0, batch_size: int | None = None,
                    lr: float | None = None, betas=BETAS, device: str | None = None,
                    log_every: int = 25, average: float | None = None) -> Experiment:
    """Models, Adam optimizers and an Algorithm-1 trainer (one D step per G step) for one run.
    batch_size and lr default to HYPERPARAMETERS[name]. average: keep an exponential moving
    average of G's weights with this decay (e.g. 0.999); sample(..., averaged=True) then draws
    from it."""
    device = backend.default_device() if device is None else backend.check_device(device)
    G, D = build_models(name, seed)
    defaults = HYPERPARAMETERS[name]
    batch_size = defaults["batch_size"] if batch_size is None else batch_size
    lr = defaults["lr"] if lr is None else lr
    G.to(device)
    D.to(device)
    if name == "cgan":
        g_step, d_step = models.PackedGenerator(G), models.PackedDiscriminator(D)
        data = packed_sampler(digits.images, digits.labels, device)
        noise = packed_noise(G.z_dim)
    else:
        g_step, d_step = G, D
        data, noise = image_sampler(digits.images, device), normal_noise(G.z_dim)
    trainer = Trainer(g_step, d_step, Adam(G.parameters(), lr, betas),
                      Adam(D.parameters(), lr, betas), data, noise, batch_size=batch_size,
                      objective="nonsaturating", seed=seed, device=device, log_every=log_every)
    return Experiment(name, G, D, trainer, digits, seed, device,
                      None if average is None else WeightAverage(G, average))


def _cpu_time() -> float:
    return time.process_time()


def train_for(exp: Experiment, seconds: float | None = None, steps: int | None = None,
              clock: str = "wall", threads: int = 1, callback=None, every: int = 100) -> dict:
    """Run Algorithm-1 iterations until `steps` more are done or `seconds` have passed on the
    chosen clock: "wall" (elapsed time) or "cpu" (this process's CPU time divided by `threads`,
    i.e. the time the run would take on `threads` cores of its own; use it on a shared machine).
    callback(exp) runs every `every` iterations, its time off the clock. Returns (and adds to
    exp.clock) the steps done, wall and CPU seconds."""
    if seconds is None and steps is None:
        raise ValueError("train_for needs a budget: seconds=..., steps=..., or both")
    if clock not in ("wall", "cpu"):
        raise ValueError(f"clock must be 'wall' or 'cpu', got {clock!r}")
    exp.generator.train()
    exp.discriminator.train()
    start_steps = exp.steps
    wall = cpu = 0.0
    while (steps is None or exp.steps - start_steps < steps) and \
            (seconds is None or (wall if clock == "wall" else cpu / threads) < seconds):
        w0, c0 = time.perf_counter(), _cpu_time()
        exp.trainer.step()
        if exp.average is not None:
            exp.average.update()
        if exp.device == "cuda" and exp.steps % 25 == 0:
            backend.synchronize("cuda")  # let the clock see the queued GPU work now and then
        wall += time.perf_counter() - w0
        cpu += _cpu_time() - c0
        if callback is not None and exp.steps % every == 0:
            callback(exp)
            exp.generator.train()
            exp.discriminator.train()
    done = {"steps": exp.steps - start_steps, "wall_seconds": wall, "cpu_seconds": cpu}
    for key, value in done.items():
        exp.clock[key] += value
    return done


# ---------------------------------------------------------------------------------------------
# Sampling and evaluation
# ---------------------------------------------------------------------------------------------

def sample(exp_or_generator, n: int, seed: int = 1234, labels=None, z=None,
           batch_size: int = 500, averaged: bool = False) -> np.ndarray:
    """n generated digits, float32 host array (n, 1, 28, 28) in [-1, 1], drawn in eval mode
    (batch norm uses its running statistics, so each digit depends on its own z alone).
    labels: requested digits (n,) for a conditional generator. z: the noise to use (n, 100);
    by default drawn from N(0, I) with `seed`. averaged: draw from the experiment's weight
    average instead of the trained generator."""
    if isinstance(exp_or_generator, Experiment):
        if averaged and exp_or_generator.average is None:
            raise ValueError("this experiment keeps no weight average: make it with "
                             "make_experiment(..., average=0.999)")
        G = exp_or_generator.average.generator() if averaged else exp_or_generator.generator
    else:
        G = exp_or_generator
    conditional = isinstance(G, models.ConditionalGenerator)
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


def evaluate(exp: Experiment, evaluator, n: int = 5000, seed: int = 1234,
             averaged: bool = False):
    """evaluator.evaluate on n samples (a conditional model asked for each digit n/10 times,
    its conditional accuracy included). Returns evaluator.Scores."""
    labels = balanced_labels(n) if exp.conditional else None
    images = sample(exp, n, seed, labels=labels, averaged=averaged)
    return evaluator.evaluate(images, requested=labels)


def describe(exp: Experiment) -> str:
    """One line: model, parameter counts, data and steps so far."""
    return (f"{exp.name}: G {models.count_parameters(exp.generator):,} parameters, "
            f"D {models.count_parameters(exp.discriminator):,}; data: {exp.digits.source}; "
            f"{exp.steps} iterations")


def steps_per_second(exp: Experiment) -> float:
    c = exp.clock
    return c["steps"] / c["wall_seconds"] if c["wall_seconds"] > 0 else math.nan


def make_evaluator(digits: Digits, data_dir=None):
    """The MNIST evaluator (committed classifier, held-out digits as the reference). For
    synthetic digits, the same classifier with 1,500 fresh synthetic digits as the reference:
    the pipeline runs, but an MNIST classifier's verdict on seven-segment digits means little."""
    from .evaluator import Evaluator, load_classifier

    if not digits.synthetic:
        return Evaluator.for_mnist(data_dir)
    images, labels = synthetic_digits(1500, seed=1)
    return Evaluator(load_classifier(), images, labels)


def tile(images, cols: int, pad: int = 1) -> np.ndarray:
    """Images (N, 1, H, W) in [-1, 1] laid out `cols` per row with `pad` pixels between them:
    one 2-D array in [0, 1] for plt.imshow(..., cmap="gray"). Missing cells stay black."""
    x = np.asarray(images, dtype=np.float32)
    if x.ndim != 4 or x.shape[1] != 1:
        raise ValueError(f"tile expects images of shape (N, 1, H, W), got {x.shape}")
    n, _, h, w = x.shape
    rows = -(-n // cols)
    out = np.zeros((rows * (h + pad) + pad, cols * (w + pad) + pad), dtype=np.float32)
    for i, img in enumerate((x[:, 0] + 1) / 2):
        r, c = divmod(i, cols)
        out[pad + r * (h + pad): pad + r * (h + pad) + h,
            pad + c * (w + pad): pad + c * (w + pad) + w] = np.clip(img, 0, 1)
    return out
