"""The evaluation classifier for generated digits and the metrics computed with it.

No Inception network can be downloaded here, and none is needed: a small LeNet-style network
(LeCun et al. 1998), trained with tinygan itself, judges the samples. Its weights ship as
tinygan/assets/mnist_lenet.npz (a tg.save checkpoint, about 470 KB) whose SHA-256 is recorded
below; loading refuses a file whose checksum differs. `train_classifier` (or
`tinygan classifier --train`) retrains it from scratch with a fixed seed, on the 8,500
training digits of tinygan.data.digits.mnist_split; the 1,500 held-out digits measure its
accuracy and are the real reference for the metrics.

Metrics (tinygan.metrics does the arithmetic), for images (N, 1, 28, 28) in [-1, 1]:
- classifier score: the Inception-score formula with this classifier (1 to 10; the held-out
  digits' own score, 9.77, is a reference, not a ceiling: the training digits, which the
  classifier has seen, score 9.83, and a generator can score above the held-out digits);
- Fréchet distance between the classifier's penultimate-layer features of the held-out digits
  and of the samples (FID's formula, Heusel et al. 2017, on this classifier);
- label histogram of the predicted classes against uniform: KL in nats, the smallest class
  fraction and the classes under 5 % (a dropped class is mode collapse on real data);
- for a conditional generator, the fraction classified as the requested label.
"""
from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import backend, metrics
from .. import functional as F
from .. import nn
from ..creation import manual_seed
from ..data.digits import Split, mnist_split, shift_augment
from ..io import load as load_checkpoint
from ..io import save as save_checkpoint
from ..io import sha256_of, verify_sha256  # noqa: F401 (sha256_of: also for callers)
from ..optim import Adam
from ..tensor import Tensor, no_grad

log = logging.getLogger(__name__)

ASSET = Path(__file__).resolve().parents[1] / "assets" / "mnist_lenet.npz"
#: SHA-256 of the committed weights; retraining writes a new file with a new checksum
CLASSIFIER_SHA256 = "eb6d9b1dcc1923c94c8fa4d6414b5b18057e910f243b51dbcb77d37cd043df1e"
NUM_CLASSES = 10


class ClassifierChecksumError(ValueError):
    """The classifier weights on disk are not the ones whose checksum is recorded."""


# ---------------------------------------------------------------------------------------------
# The classifier
# ---------------------------------------------------------------------------------------------

class LeNet(nn.Module):
    """A LeNet-5-style digit classifier (LeCun et al. 1998: convolution, average pooling,
    convolution, average pooling, fully connected), a little wider than the original.
    image (N, 1, 28, 28) in [-1, 1] -> logits (N, 10); `features` gives the (N, 64)
    penultimate activations used for the Fréchet distance."""

    feature_dim = 64

    def __init__(self, dropout: float = 0.25):
        self.body = nn.Sequential(
            nn.Conv2d(1, 32, 5, padding=2), nn.ReLU(),                      # (N, 32, 28, 28)
            nn.AvgPool2d(2),                                                # (N, 32, 14, 14)
            nn.Conv2d(32, 48, 5), nn.ReLU(),                                # (N, 48, 10, 10)
            nn.AvgPool2d(2),                                                # (N, 48, 5, 5)
            nn.Flatten(),                                                   # (N, 1200)
            nn.Linear(48 * 5 * 5, self.feature_dim), nn.ReLU())             # (N, 64)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(self.feature_dim, NUM_CLASSES)               # (N, 10)

    def features(self, x):
        if x.ndim != 4 or tuple(x.shape[1:]) != (1, 28, 28):
            raise ValueError(f"LeNet takes images of shape (N, 1, 28, 28), got {x.shape}")
        return self.body(x)

    def forward(self, x):
        return self.head(self.dropout(self.features(x)))


def _batches(n: int, size: int):
    for start in range(0, n, size):
        yield slice(start, min(start + size, n))


def predict(model: LeNet, images, batch_size: int = 500):
    """(probabilities (N, 10), features (N, 64)) as float64 host arrays, in eval mode and
    without recording a graph; the model's training flag is restored afterwards."""
    x = _as_images(images)
    was_training = model.training
    model.eval()
    probs, feats = [], []
    device = model.head.weight.device
    try:
        with no_grad():
            for part in _batches(len(x), batch_size):
                f = model.features(Tensor(backend.to_device(x[part], device)))
                probs.append(F.softmax(model.head(f), axis=1).numpy())
                feats.append(f.numpy())
    finally:
        model.train(was_training)
    return (np.concatenate(probs).astype(np.float64), np.concatenate(feats).astype(np.float64))


def accuracy(model: LeNet, images, labels, batch_size: int = 500) -> float:
    probs, _ = predict(model, images, batch_size)
    return float(np.mean(probs.argmax(axis=1) == np.asarray(labels)))


def train_classifier(split: Split | None = None, epochs: int = 30, batch_size: int = 64,
                     lr: float = 1e-3, seed: int = 0, max_shift: int = 2, dropout: float = 0.1,
                     progress=None) -> tuple[LeNet, dict]:
    """Train a LeNet on split.train_* (default: mnist_split()) with Adam, random shifts of up
    to `max_shift` pixels and a cosine learning-rate decay to lr/20. Returns (model, info) with
    info["heldout_accuracy"] measured once, after the last epoch (no selection on held-out
    data). progress(epoch, info) is called after every epoch, if given."""
    split = mnist_split() if split is None else split
    manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = LeNet(dropout)
    opt = Adam(model.parameters(), lr=lr)
    x, y = split.train_images, split.train_labels
    steps_per_epoch = math.ceil(len(x) / batch_size)
    total, step, start = epochs * steps_per_epoch, 0, time.perf_counter()
    info = {"epochs": epochs, "batch_size": batch_size, "lr": lr, "seed": seed,
            "max_shift": max_shift, "dropout": dropout, "split": split.source, "train_size": len(x),
            "heldout_size": len(split.heldout_images), "epoch_loss": []}
    for epoch in range(epochs):
        model.train()
        order = rng.permutation(len(x))
        xs = shift_augment(x[order], rng, max_shift) if max_shift else x[order]
        running = None
        for part in _batches(len(x), batch_size):
            opt.lr = lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * step / total)))
            loss = F.cross_entropy(model(Tensor(xs[part])), y[order][part])
            opt.zero_grad()
            loss.backward()
            opt.step()
            running = loss.data if running is None else running + loss.data
            step += 1
        info["epoch_loss"].append(float(running) / steps_per_epoch)
        if progress is not None:
            progress(epoch, info)
    model.eval()
    info["heldout_accuracy"] = accuracy(model, split.heldout_images, split.heldout_labels)
    info["train_seconds"] = round(time.perf_counter() - start, 1)
    return model, info


def save_classifier(model: LeNet, path=ASSET, info: dict | None = None) -> str:
    """Write the weights (a tg.save checkpoint with `info` as metadata); returns the SHA-256
    to record as CLASSIFIER_SHA256."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_checkpoint(path, model, meta=info or {})
    return sha256_of(path)


def load_classifier(path=None, sha256: str | None = None, device: str = "cpu") -> LeNet:
    """The evaluation classifier in eval mode. The file (default: the committed asset) must have
    the SHA-256 `sha256` (default: CLASSIFIER_SHA256); pass sha256=False to skip the check for a
    file you trained yourself."""
    path = ASSET if path is None else Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"evaluation classifier weights not found at {path}; train them "
                                "with `tinygan classifier --train` (10-15 minutes of "
                                "CPU; needs the MNIST test split)")
    verify_sha256(path, CLASSIFIER_SHA256 if sha256 is None else sha256, ClassifierChecksumError,
                  "retrain with `tinygan classifier --train` and record the checksum it prints")
    model = LeNet()
    model.load_state_dict(load_checkpoint(path))
    return model.to(device).eval()


# ---------------------------------------------------------------------------------------------
# The metrics wrapper
# ---------------------------------------------------------------------------------------------

def _as_images(images) -> np.ndarray:
    """Tensor / array (N, 1, 28, 28) or (N, 784) -> float32 host array (N, 1, 28, 28)."""
    a = backend.to_numpy(images.data if isinstance(images, Tensor) else images)
    if a.ndim == 2 and a.shape[1] == 784:
        a = a.reshape(-1, 1, 28, 28)
    if a.ndim != 4 or tuple(a.shape[1:]) != (1, 28, 28) or len(a) == 0:
        raise ValueError(f"expected images of shape (N, 1, 28, 28) or (N, 784) with N >= 1, "
                         f"got {a.shape}")
    return a.astype(np.float32, copy=False)


@dataclass
class Scores:
    """What Evaluator.evaluate measures on one set of images."""
    classifier_score: float
    frechet_distance: float
    label_kl: float
    min_class_fraction: float
    classes_below: tuple
    fractions: list
    num_samples: int
    conditional_accuracy: float | None = None
    extra: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        d = {k: getattr(self, k) for k in ("classifier_score", "frechet_distance", "label_kl",
                                           "min_class_fraction", "num_samples",
                                           "conditional_accuracy")}
        d["classes_below_5pct"] = list(self.classes_below)
        d["fractions"] = [round(float(f), 4) for f in self.fractions]
        d.update(self.extra)
        return d


def _mean(values) -> float:
    """Mean of the finite values (NaN if none is)."""
    finite = [v for v in values if math.isfinite(v)]
    return float(np.mean(finite)) if finite else math.nan


class Evaluator:
    """Scores generated digits against a real reference set with one classifier.

        ev = Evaluator.for_mnist()                    # committed classifier, held-out digits
        ev.evaluate(images).classifier_score
        ev.evaluate(images, requested=labels).conditional_accuracy
        ev.reference_scores()                         # the held-out digits scored as samples
    """

    def __init__(self, classifier: LeNet, reference_images, reference_labels=None,
                 batch_size: int = 500, threshold: float = 0.05):
        self.classifier, self.batch_size, self.threshold = classifier, batch_size, threshold
        self.reference_images = _as_images(reference_images)
        self.reference_labels = reference_labels
        self.reference_probs, self.reference_features = self.classify(self.reference_images)

    @classmethod
    def for_mnist(cls, data_dir=None, classifier: LeNet | None = None) -> "Evaluator":
        split = mnist_split(data_dir)
        ev = cls(load_classifier() if classifier is None else classifier,
                 split.heldout_images, split.heldout_labels)
        ev.split = split
        return ev

    def classify(self, images):
        """(probabilities (N, 10), penultimate features (N, 64)), float64 host arrays."""
        return predict(self.classifier, images, self.batch_size)

    def evaluate(self, images, requested=None) -> Scores:
        probs, feats = self.classify(images)
        return self._scores(probs, feats, requested)

    def _scores(self, probs, feats, requested=None) -> Scores:
        hist = metrics.label_histogram(probs, NUM_CLASSES, self.threshold)
        cond = None if requested is None else metrics.conditional_accuracy(probs, requested)
        extra = {}
        if requested is not None and self.reference_labels is not None:
            extra = self.per_class(feats, requested)
        return Scores(classifier_score=metrics.classifier_score(probs),
                      frechet_distance=metrics.frechet_distance(self.reference_features, feats),
                      label_kl=hist.kl_to_uniform,
                      min_class_fraction=float(hist.fractions.min()),
                      classes_below=hist.classes_below, fractions=hist.fractions.tolist(),
                      num_samples=len(probs), conditional_accuracy=cond, extra=extra)

    def per_class(self, feats, requested) -> dict:
        """For samples asked to be digit c (requested (N,)), per class c: the Fréchet distance
        of their features to the held-out digits of class c (class_frechet; low when the class
        looks right *and* varies as the real class does), and the spread sqrt(tr Cov) of their
        features (class_spread: within-class diversity, the real digits' own in
        reference_spread); the means over the classes too. A class with < 2 samples: NaN."""
        requested = np.asarray(requested)
        ref_labels = np.asarray(self.reference_labels)
        fd, spread, ref_spread = [], [], []
        for c in range(NUM_CLASSES):
            mine, real = feats[requested == c], self.reference_features[ref_labels == c]
            if len(mine) < 2 or len(real) < 2:
                fd.append(math.nan), spread.append(math.nan), ref_spread.append(math.nan)
                continue
            fd.append(metrics.frechet_distance(real, mine))
            spread.append(float(np.sqrt(np.trace(np.cov(mine, rowvar=False)))))
            ref_spread.append(float(np.sqrt(np.trace(np.cov(real, rowvar=False)))))
        return {"class_frechet": [round(v, 3) for v in fd], "class_frechet_mean": _mean(fd),
                "class_spread": [round(v, 4) for v in spread],
                "class_spread_mean": _mean(spread), "reference_spread_mean": _mean(ref_spread)}

    def reference_scores(self) -> Scores:
        """The reference digits scored as if generated: the yardstick for a generator's numbers
        (Fréchet distance to themselves is 0; their classifier score is not an upper bound),
        and with reference labels, conditional_accuracy is the classifier's accuracy on them."""
        return self._scores(self.reference_probs, self.reference_features,
                            self.reference_labels)

    def accuracy(self) -> float | None:
        if self.reference_labels is None:
            return None
        return float(np.mean(self.reference_probs.argmax(axis=1) ==
                             np.asarray(self.reference_labels)))
