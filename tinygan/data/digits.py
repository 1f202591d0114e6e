"""Digits for the GANs: the fixed split of MNIST's test digits (8,500 to train on, 1,500 held
out), a synthetic seven-segment stand-in when MNIST is absent, random shifts (augmentation),
and the sampler that hands the trainer a minibatch.

Only MNIST's 10,000-digit test split is assumed to be present, so `mnist_split` divides it,
with a fixed seed, into 8,500 digits to train on (the GANs, and the evaluation classifier of
tinygan.gan.evaluator) and 1,500 held-out digits that neither ever sees. The held-out digits
measure the classifier's accuracy and are the real reference for the metrics.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from .. import backend
from ..tensor import Tensor
from . import mnist

log = logging.getLogger(__name__)

SPLIT_SEED = 20140610  # the day Goodfellow et al. posted the GAN paper; any fixed number works
HELDOUT = 1500


@dataclass(frozen=True)
class Split:
    """The digits, float32 (N, 1, 28, 28) in [-1, 1], with uint8 labels (N,)."""
    train_images: np.ndarray
    train_labels: np.ndarray
    heldout_images: np.ndarray
    heldout_labels: np.ndarray
    source: str


def split_digits(images: np.ndarray, labels: np.ndarray, heldout: int = HELDOUT,
                 seed: int = SPLIT_SEED, source: str = "given digits") -> Split:
    """Shuffle with `seed` and keep the last `heldout` digits apart."""
    if len(images) != len(labels) or not 0 < heldout < len(images):
        raise ValueError(f"cannot hold out {heldout} of {len(images)} images ({len(labels)} "
                         "labels): need as many labels as images and 0 < heldout < N")
    order = np.random.default_rng(seed).permutation(len(images))
    train, held = order[:-heldout], order[-heldout:]
    return Split(images[train], labels[train], images[held], labels[held], source)


def mnist_split(data_dir=None, heldout: int = HELDOUT, seed: int = SPLIT_SEED) -> Split:
    """MNIST's 10,000 test digits split into 8,500 to train on and 1,500 held out (fixed seed).
    The held-out part is the same whatever else is installed; the train split (60,000), when
    present, is not used here."""
    images, labels = mnist.load("test", data_dir)
    split = split_digits(mnist.to_gan_range(images), labels, heldout, seed,
                         source=f"MNIST test split: {len(images) - heldout} train / {heldout} "
                                f"held out (seed {seed})")
    log.info("%s", split.source)
    return split


@dataclass
class Digits:
    """Training digits float32 (N, 1, 28, 28) in [-1, 1] with labels (N,); `synthetic` tells
    whether they are the seven-segment stand-in rather than MNIST."""
    images: np.ndarray
    labels: np.ndarray
    source: str
    synthetic: bool = False

    @classmethod
    def synthetic_set(cls, n: int, seed: int = 0, source: str = "synthetic (test)") -> "Digits":
        """n seven-segment stand-in digits (synthetic_digits), e.g. for tests and fast runs."""
        images, labels = synthetic_digits(n, seed)
        return cls(images, labels, source, synthetic=True)


def load_digits(data_dir=None, allow_synthetic: bool = True, synthetic_size: int = 3000
                ) -> Digits:
    """The 8,500 training digits of mnist_split. When MNIST is not found (see
    tinygan.data.mnist for where it is looked for) and allow_synthetic, seven-segment digits
    from synthetic_digits instead."""
    try:
        split = mnist_split(data_dir)
    except mnist.MNISTNotFoundError:
        if not allow_synthetic:
            raise
        return Digits.synthetic_set(synthetic_size, 0, f"synthetic seven-segment digits "
                                    f"({synthetic_size}): MNIST not found (set "
                                    "TINYGAN_DATA_DIR to its folder)")
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


def shift_augment(images: np.ndarray, rng, max_shift: int = 2) -> np.ndarray:
    """Each image moved by its own random (dy, dx) in [-max_shift, max_shift]^2, the uncovered
    border filled with the background value -1 (small translations: the cheapest augmentation
    that helps a digit classifier generalise)."""
    n, c, h, w = images.shape
    s = max_shift
    padded = np.full((n, c, h + 2 * s, w + 2 * s), -1.0, dtype=images.dtype)
    padded[:, :, s:s + h, s:s + w] = images
    dy, dx = rng.integers(0, 2 * s + 1, n), rng.integers(0, 2 * s + 1, n)
    out = np.empty_like(images)
    for oy in range(2 * s + 1):  # one slice per offset pair: 25 copies instead of N
        for ox in range(2 * s + 1):
            pick = np.flatnonzero((dy == oy) & (dx == ox))
            if pick.size:
                out[pick] = padded[pick, :, oy:oy + h, ox:ox + w]
    return out


def sampler(rows: np.ndarray, device: str = "cpu"):
    """data(m, rng) for the trainer: m rows (digits, or any array) drawn uniformly with
    replacement, the indices from the trainer's generator (so a seeded run is repeatable); the
    array is copied to the device once."""
    stored = backend.to_device(np.ascontiguousarray(rows, dtype=np.float32), device)
    n = len(stored)

    def sample(m: int, rng) -> Tensor:
        return Tensor(stored[rng.integers(0, n, m)])
    return sample
