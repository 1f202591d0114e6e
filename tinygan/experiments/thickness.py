"""Identity-preserving re-conditioning on digits (Antipov, Baccouche & Dugelay 2017, Age-cGAN,
arXiv 1702.01983), lesson 12, with age replaced by stroke thickness: three ink-mass buckets
(thin, medium, thick) cut within each digit class (tinygan.data.attributes).

1. "thickness": a conditional GAN whose condition is the bucket alone (lesson 9's MLPs with 3
   classes); which digit it draws is left to z, as Age-cGAN leaves the identity to z.
2. train_encoder: E(x) -> z fitted on the generator's own (z, bucket) samples.
3. reconstruct: the paper's three ways to find z for a real digit: the encoder alone; then z
   optimized (G frozen) for the pixels; or for the judge's features of the digit (the paper's
   identity-preserving step, a face-recognition network there).
4. recondition: the digit regenerated from that z in the other buckets; the judge says whether
   it is still the same digit, the ink mass whether it moved to the asked bucket.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass

import numpy as np

from .. import backend, nn
from ..creation import manual_seed
from ..data import attributes
from ..gan import models
from ..gan.latent import optimize_input
from ..gan.trainer import frozen
from ..optim import Adam
from ..tensor import Tensor, no_grad
from . import digits as base
from .base import Experiment, param
from .digits import DigitsConfig

BUCKETS = 3  # thin, medium, thick (ink-mass terciles within each digit class)
steps_for_epochs = base.steps_for_epochs


@dataclass(frozen=True)
class ThicknessConfig(DigitsConfig):
    """conditional GAN on stroke thickness (3 ink-mass buckets per class), the generator of
    lesson 12's identity-preserving re-conditioning (Age-cGAN, Antipov et al. 2017)"""
    model: str = param("thickness", "which digit GAN", ("thickness",), cli=False)


def thickness_edges(digits) -> np.ndarray:
    """The bucket edges (10, 2) of the training digits (data.attributes.bucket_edges)."""
    return attributes.bucket_edges(digits.images, digits.labels, BUCKETS)


def build(config: ThicknessConfig, device=None, digits=None) -> Experiment:
    """G(z, bucket), D([x | bucket]): the conditional GAN of lesson 9 with the three thickness
    buckets as its classes."""
    device = backend.resolve_device(device)
    digits = base.load_digits(config.data_dir or None) if digits is None else digits
    manual_seed(config.seed)
    G, D = models.conditional_gan(num_classes=BUCKETS)
    edges = thickness_edges(digits)
    buckets = attributes.thickness_buckets(digits.images, digits.labels, edges)

    def packed(device):
        return (models.PackedGenerator(G), models.PackedDiscriminator(D),
                base.packed_data(digits, device, buckets, BUCKETS),
                base.packed_noise(G.z_dim, BUCKETS))

    return base.assemble(config, device, digits, G, D, module=sys.modules[__name__],
                         packed=packed, parts={"edges": edges})


def bucket_accuracy(G, evaluator, edges, n: int = 3000, seed: int = 1234):
    """(fraction of G(z, b) whose measured bucket is b, the judge's labels, the images): the
    bucket is measured by the ink mass against the edges of the class the judge sees."""
    requested = np.arange(n) % BUCKETS
    images = base.generate(G, n, seed, labels=requested)
    judged = evaluator.classify(images)[0].argmax(axis=1)
    measured = attributes.thickness_buckets(images, judged, edges)
    return float(np.mean(measured == requested)), judged, images


def evaluate(exp) -> dict:
    digits, c = exp.parts["digits"], exp.config
    if c.eval_samples <= 0:
        return {"data": digits.source, "scored": False}
    evaluator = base.make_evaluator(digits, c.data_dir or None)
    out = {"data": digits.source}
    for key, averaged in (("trained", False), ("averaged", True)):
        if averaged and exp.ema is None:
            continue
        G = base.averaged_generator(exp) if averaged else exp.generator
        acc, _, images = bucket_accuracy(G, evaluator, exp.parts["edges"], c.eval_samples)
        s = evaluator.evaluate(images)
        out[key] = {"bucket_accuracy": acc, "classifier_score": s.classifier_score,
                    "frechet_distance": s.frechet_distance}
    return out


def sample(exp, n, seed=1234, labels=None) -> dict:
    """{"images", "labels"}: labels are buckets 0..2 (default: thin, medium, thick in turn)."""
    labels = np.arange(n) % BUCKETS if labels is None else np.asarray(labels, dtype=np.int64)
    if labels.shape != (n,):
        raise ValueError(f"{exp.name}: got {labels.size} buckets for {n} samples; give one "
                         "per sample")
    return {"images": base.generate(exp, n, seed, labels=labels), "labels": labels}


def draw(exp, n=None, seed=1234, labels=None):
    from ..viz.images import grid_figure
    n = 30 if n is None else n
    out = sample(exp, n, seed, labels)
    return grid_figure(out["images"], BUCKETS, f"{exp.name}: columns thin, medium, thick")


class Encoder(nn.Module):
    """E(x) -> z: image (N, 1, 28, 28) -> (N, z_dim), an MLP (784 -> 500 -> 500 -> z_dim)
    trained on the generator's own samples (Age-cGAN's encoder, trained after G)."""

    def __init__(self, z_dim: int = models.Z_DIM, hidden: int = 500):
        self.z_dim = z_dim
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(models.IMAGE_SIZE, hidden),
                                 nn.LeakyReLU(0.2), nn.Linear(hidden, hidden),
                                 nn.LeakyReLU(0.2), nn.Linear(hidden, z_dim))

    def forward(self, x):
        return self.net(x)


def train_encoder(G, steps: int = 2000, batch_size: int = 128, lr: float = 1e-3,
                  seed: int = 0, seconds: float | None = None):
    """An Encoder fitted by ||E(G(z, b)) - z||^2 on fresh (z, b) ~ (N(0, I), uniform) with G
    frozen in eval mode (Age-cGAN's "latent vector approximation"); stops after `steps` or
    `seconds` of CPU time. Returns (E, the loss every 50 steps)."""
    device = G.parameters()[0].device
    manual_seed(seed)
    E = Encoder(G.z_dim).to(device)
    opt = Adam(E.parameters(), lr)
    rng = np.random.default_rng(seed)
    curve, start = [], time.process_time()
    G.eval()
    with frozen(G):
        for step in range(steps):
            z = rng.standard_normal((batch_size, G.z_dim)).astype(np.float32)
            b = rng.integers(0, G.num_classes, batch_size)
            zt = Tensor(backend.to_device(z, device))
            with no_grad():
                x = G(zt, b)
            loss = ((E(x) - zt) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            if step % 50 == 0:
                curve.append(float(loss.item()))
            if seconds is not None and time.process_time() - start > seconds:
                break
    return E.eval(), curve


RECONSTRUCTIONS = ("encoder", "pixelwise", "identity")


def reconstruct(G, E, judge, images, buckets, method: str = "identity", steps: int = 150,
                lr: float = 0.05):
    """z for each image (N, z_dim) so that G(z, its bucket) reproduces it, by Age-cGAN's three
    methods: "encoder" (z0 = E(x)), "pixelwise" (z0, then z optimized for ||G(z, b) - x||^2)
    and "identity" (z0, then z optimized for ||FR(G(z, b)) - FR(x)||^2 with FR the judge's
    penultimate features, the paper's face-recognition network). Only z moves: G and the
    judge are frozen (gan.latent.optimize_input)."""
    if method not in RECONSTRUCTIONS:
        raise ValueError(f"reconstruct: method must be one of {RECONSTRUCTIONS}, got {method!r}")
    device = G.parameters()[0].device
    x = Tensor(backend.to_device(np.asarray(images, dtype=np.float32), device))
    with no_grad():
        E.eval()
        z0 = E(x).data
    if method == "encoder":
        return backend.to_numpy(z0)
    buckets = np.asarray(buckets)
    if method == "pixelwise":
        def loss(z):
            return ((G(z, buckets) - x) ** 2).sum(axis=(1, 2, 3)).mean()
    else:
        with no_grad():
            target = judge.features(x).data

        def loss(z):
            d = judge.features(G(z, buckets)) - Tensor(target)
            return (d * d).sum(axis=1).mean()
    z, _ = optimize_input(loss, Tensor(z0), modules=(G, judge), steps=steps, lr=lr)
    return z


def recondition(G, E, evaluator, images, labels, edges, method: str = "identity",
                steps: int = 150):
    """Age-cGAN's edit on real digits: reconstruct each in its own bucket, then regenerate it in
    every other bucket. Returns a dict: feature distance and pixel MSE of the reconstructions,
    the fraction of edits the judge labels as the input's class (label kept), and of those
    whose measured bucket is the target (bucket hit)."""
    judge = evaluator.classifier
    own = attributes.thickness_buckets(images, labels, edges)
    z = reconstruct(G, E, judge, images, own, method, steps)
    rec = base.generate(G, len(images), z=z, labels=own)
    f_in, f_rec = evaluator.classify(images)[1], evaluator.classify(rec)[1]
    kept, hit = [], []
    for shift in range(1, BUCKETS):
        target = (own + shift) % BUCKETS
        edited = base.generate(G, len(images), z=z, labels=target)
        judged = evaluator.classify(edited)[0].argmax(axis=1)
        kept.append(judged == labels)
        hit.append(attributes.thickness_buckets(edited, labels, edges) == target)
    return {"method": method,
            "feature_distance": float(np.mean(np.linalg.norm(f_in - f_rec, axis=1))),
            "pixel_mse": float(np.mean((rec - np.asarray(images)) ** 2)),
            "label_kept": float(np.mean(kept)), "bucket_hit": float(np.mean(hit)),
            "z": z, "reconstructed": rec}
