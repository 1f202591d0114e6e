"""3D-GAN on synthetic voxel shapes (Wu, Zhang, Xue, Freeman & Tenenbaum 2016, arXiv
1610.07584): the volumetric networks of tinygan.gan.gan3d trained on n_train shapes of
tinygan.data.voxels (spheres, boxes, cylinders, tori at 16^3, a quarter of each), with the
paper's adaptive rule (D steps only while its batch accuracy is at most d_threshold = 80 %).

The paper's recipe is Adam with beta1 0.5, learning rates 0.0025 (G) and 1e-5 (D), batch 100,
z ~ U(0, 1)^200; here z has 64 dimensions (a 16^3 grid holds 64 times fewer voxels than 64^3).
The defaults below and why they differ from the paper's are in GAN3DConfig's help lines.

evaluate scores eval_samples generated shapes, thresholded at 0.5, with the voxel judge
(tinygan.gan.voxel_judge): the class mix (and its largest deviation from uniform, in points)
and the judge's mean confidence; it measures how D's penultimate features separate the real
classes (a linear probe, logistic regression, trained on probe_shapes real shapes and scored
on as many others: the paper's representation experiment); the fraction of D steps that were
taken; and the filled fraction and the mean pairwise IoU of samples and data (a collapse to
one blob shows as an IoU near 1).
"""
from __future__ import annotations

import math
import sys
from dataclasses import dataclass

import numpy as np

from .. import backend
from ..data.digits import sampler
from ..data.voxels import occupancy, shapes
from ..gan import gan3d, voxel_judge
from ..gan.hooks import EMA, LinearDecay
from ..gan.trainer import uniform_noise
from ..optim import Adam
from ..tensor import Tensor
from .base import Experiment, ExperimentConfig, param

SIZE = gan3d.SIZE


@dataclass(frozen=True)
class GAN3DConfig(ExperimentConfig):
    """3D-GAN on 16^3 voxel shapes (spheres, boxes, cylinders, tori): volumetric convolutions,
    D stepped only while its batch accuracy is at most 80 % (metrics: judge's class mix and
    confidence, linear probe on D's features)"""
    steps: int = param(2000, "training iterations (one D check, one G step each)", minimum=1)
    batch_size: int = param(100, "m: shapes per D and G step (the paper's 100)", minimum=1)
    z_dim: int = param(64, "z ~ U(0, 1)^z_dim (the paper's 200, for 64^3)", minimum=1)
    center_z: bool = param(True, "G's first layer sees 2z - 1 (the same prior and family of G; "
                                 "false: z itself, and G soon ignores z)")
    g_width: int = param(16, "G's channels at 8^3 are 2x this, at 4^3 4x", minimum=1)
    d_width: int = param(16, "D's channels at 8^3 (2x at 4^3)", minimum=1)
    d_batch_norm: bool = param(True, "batch norm after D's second convolution (the paper's)")
    minibatch_std: bool = param(False, "D's last layer also sees the batch's spread (Karras et "
                                       "al. 2018; not in the paper)")
    lr_g: float = param(2.5e-3, "G's Adam learning rate (the paper's 0.0025)", minimum=0)
    lr_d: float = param(1e-5, "D's Adam learning rate (the paper's 1e-5)", minimum=0)
    betas: tuple[float, float] = param((0.5, 0.999), "Adam's betas for both (beta1 0.5, the "
                                                     "paper's)")
    d_threshold: float | None = param(0.8, "D steps only when its accuracy on the batch is at "
                                           "most this (none or 1: always, the rule off)")
    lr_decay: bool = param(False, "decay both learning rates linearly to lr_final_frac")
    lr_final_frac: float = param(0.1, "the learning rates' final fraction", minimum=0)
    ema_decay: float | None = param(None, "also keep (and score) an EMA of G's weights "
                                          "(none: do not)")
    n_train: int = param(2000, "training shapes (a quarter per class)", minimum=1)
    data_seed: int = param(0, "seed of the training shapes and the probe's (0-999: the voxel "
                              "judge's are drawn from 1000 up); the run's seed leaves them alone",
                           minimum=0)
    eval_samples: int = param(1000, "generated shapes scored by the voxel judge", minimum=1)
    probe_shapes: int = param(1000, "real shapes to train the linear probe on, and as many "
                                    "others to score it on", minimum=4)
    log_every: int = param(25, "iterations between history records", minimum=1)

    def __post_init__(self):
        super().__post_init__()
        if self.d_threshold is not None and not 0 <= self.d_threshold <= 1:
            raise ValueError(f"GAN3DConfig: d_threshold is an accuracy, in [0, 1] (none: no "
                             f"rule), got {self.d_threshold!r}")
        if self.data_seed >= voxel_judge.TRAIN_SEED:
            raise ValueError(f"GAN3DConfig: data_seed must lie in 0..{voxel_judge.TRAIN_SEED - 1}:"
                             f" seeds from {voxel_judge.TRAIN_SEED} up draw the voxel judge's "
                             f"training shapes, got {self.data_seed}")


def build(config: GAN3DConfig, device=None) -> Experiment:
    """G and D of tinygan.gan.gan3d, Adam for both, the training shapes (config.data_seed),
    z ~ U(0, 1)^z_dim and an AdaptiveTrainer with the config's threshold."""
    device = backend.resolve_device(device)
    voxels, labels = shapes(config.n_train, SIZE, seed=config.data_seed)
    G, D = gan3d.gan3d(config.z_dim, config.g_width, config.d_width, config.d_batch_norm,
                       config.minibatch_std, config.center_z,
                       rng=backend.rng([config.seed, 2], "cpu"))
    G.to(device)
    D.to(device)
    hooks = [LinearDecay(config.steps, config.lr_final_frac)] if config.lr_decay else []
    ema = EMA(G, config.ema_decay) if config.ema_decay is not None else None
    hooks += [ema] if ema is not None else []
    trainer = gan3d.AdaptiveTrainer(
        G, D, Adam(G.parameters(), config.lr_g, config.betas),
        Adam(D.parameters(), config.lr_d, config.betas), sampler(voxels, device),
        uniform_noise(config.z_dim, 0.0, 1.0), batch_size=config.batch_size,
        seed=config.seed, device=device, hooks=hooks, log_every=config.log_every,
        d_threshold=config.d_threshold)
    return Experiment("3dgan", config, device, trainer, G, sys.modules[__name__], ema,
                      {"voxels": voxels, "labels": labels})


def evaluated_generator(exp: Experiment):
    """The generator scored and sampled: the EMA copy (its batch-norm statistics re-estimated
    for the averaged weights) when the recipe keeps one, else G."""
    if exp.ema is None:
        return exp.generator
    z_dim = exp.config.z_dim

    def inputs(rng):   # z ~ U(0, 1) from EMA.averaged's host generator, on the run's device
        z = rng.random((256, z_dim), dtype=np.float32)
        return (Tensor(backend.to_device(z, exp.device)),)
    return exp.ema.averaged(inputs)


def mean_pairwise_iou(voxels) -> float:
    """Mean intersection over union of consecutive pairs (0 and 1, 1 and 2, ...) of voxels
    (N >= 2) thresholded at 0.5: near 1 when every sample is the same shape (collapse)."""
    v = voxel_judge.binarize(voxels).reshape(len(voxels), -1) > 0
    if len(v) < 2:
        return math.nan
    a, b = v[:-1], v[1:]
    union = (a | b).sum(axis=1)
    return float(np.mean(np.where(union > 0, (a & b).sum(axis=1) / np.maximum(union, 1), 1.0)))


def probe_accuracy(D, probe_shapes: int, seed: int) -> dict:
    """The linear probe: logistic regression trained on D's features of probe_shapes real
    shapes (seed [seed, 1]) and scored on probe_shapes others ([seed, 2]); neither set is the
    GAN's training set. Two feature sets: D's pooled probe_features (the paper's
    representation; "pooled") and its flattened penultimate features ("penultimate").
    Returns {name: {"train_accuracy", "test_accuracy"}}."""
    (x_train, y_train), (x_test, y_test) = (shapes(probe_shapes, SIZE, seed=[seed, k])
                                            for k in (1, 2))
    return {name: gan3d.linear_probe(gan3d.features(D, x_train, probe=pooled), y_train,
                                     gan3d.features(D, x_test, probe=pooled), y_test)
            for name, pooled in (("pooled", True), ("penultimate", False))}


def _json_number(v):
    v = float(v)
    return v if math.isfinite(v) else str(v)


def _judge_scores(G, c: GAN3DConfig, judge):
    """(samples, the judge's scores of them): c.eval_samples from G, z seeded by the run."""
    samples = gan3d.generate(G, c.eval_samples, seed=[c.seed, 4])
    return samples, {k: v if isinstance(v, dict) else _json_number(v)
                     for k, v in voxel_judge.scores(judge, samples).items()}


def evaluate(exp: Experiment) -> dict:
    c, trainer = exp.config, exp.trainer
    data = exp.parts["voxels"][:c.eval_samples]
    judge = voxel_judge.load_judge()
    samples, scores = _judge_scores(evaluated_generator(exp), c, judge)
    probe = probe_accuracy(exp.trainer.D, c.probe_shapes, c.data_seed)
    history = trainer.history
    return {**scores,
            "probe_accuracy": probe["pooled"]["test_accuracy"],
            "probe_train_accuracy": probe["pooled"]["train_accuracy"],
            "probe_accuracy_penultimate": probe["penultimate"]["test_accuracy"],
            "d_update_fraction": _json_number(trainer.d_update_fraction),
            "d_updates": trainer.d_updates, "d_checks": trainer.d_checks,
            "d_accuracy_last": _json_number(history["d_accuracy"][-1]
                                            if history["d_accuracy"] else math.nan),
            "occupancy": {"samples": float(occupancy(samples).mean()),
                          "data": float(occupancy(data).mean())},
            "pairwise_iou": {"samples": _json_number(mean_pairwise_iou(samples)),
                             "data": _json_number(mean_pairwise_iou(data))},
            "evaluated": "EMA of G" if exp.ema is not None else "G",
            # with an EMA, the raw G's scores beside the average's
            **({"raw_generator": _judge_scores(exp.generator, c, judge)[1]}
               if exp.ema is not None else {}),
            "iteration": trainer.iteration}



def sample(exp: Experiment, n: int, seed=1234, labels=None) -> dict:
    """{"voxels": (n, 1, 16, 16, 16) float32 occupancy probabilities in (0, 1)} from the
    evaluated generator, z drawn with `seed` (threshold at 0.5 for shapes)."""
    exp.not_conditional(labels)
    return {"voxels": gan3d.generate(evaluated_generator(exp), n, seed=seed)}


def interpolate(exp: Experiment, steps: int = 8, seed=1234) -> dict:
    """Shapes along a line in z between two draws (tinygan.gan.gan3d.interpolate) from the
    evaluated generator: {"voxels", "z", "t"}."""
    return gan3d.interpolate(evaluated_generator(exp), steps, seed)


def projections(voxels) -> np.ndarray:
    """Each shape (N, 1, 16, 16, 16), thresholded at 0.5, seen along x, y and z side by side:
    images (N, 1, 16, 50) in [-1, 1], each pixel the fraction of its ray that is filled (so a
    torus seen along its axis shows its hole), scaled to each shape's own deepest ray."""
    v = voxel_judge.binarize(voxels)[:, 0]                     # (N, 16, 16, 16)
    n = len(v)
    out = -np.ones((n, 1, SIZE, 3 * SIZE + 2), np.float32)
    for k in range(3):
        depth = v.sum(axis=k + 1)                               # (N, 16, 16)
        top = np.maximum(depth.reshape(n, -1).max(axis=1), 1)[:, None, None]
        out[:, 0, :, k * (SIZE + 1): k * (SIZE + 1) + SIZE] = 2 * depth / top - 1
    return out


def draw(exp: Experiment, n=None, seed=1234, labels=None):
    """A grid of samples, each seen along the three axes (projections), 4 shapes per row."""
    from ..viz.images import grid_figure
    out = sample(exp, 16 if n is None else n, seed, labels)
    return grid_figure(projections(out["voxels"]), 4,
                       f"3dgan, iteration {exp.trainer.iteration} (views along x, y, z)")


def real_shapes_figure(n: int = 16, seed: int = 0):
    """The same grid for n real shapes drawn with `seed` (the classes in turn, as CLASSES)."""
    from ..viz.images import grid_figure
    voxels, _ = shapes(n, SIZE, seed=seed)
    return grid_figure(projections(voxels), 4, "real shapes (views along x, y, z)")
