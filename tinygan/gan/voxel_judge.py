"""The judge of generated voxel shapes (3D-GAN, Wu et al. 2016, arXiv 1610.07584): a small 3-D
convolutional classifier of tinygan.data.voxels' four classes (sphere, box, cylinder, torus)
at 16^3, and the scores computed with it.

Like the digit judge (tinygan.gan.evaluator) it is trained with tinygan itself; its weights ship
as tinygan/assets/voxel_judge.npz (a tg.save checkpoint) whose SHA-256 is recorded below, and
loading refuses a file whose checksum differs. `train_judge()` retrains it from scratch with a
fixed seed on fresh shapes drawn with the seeds TRAIN_SEED, TRAIN_SEED + 1, ... (one per epoch,
from 1000 up: disjoint from the seeds a GAN trains on, 0-999) and measures its accuracy once,
after the last epoch, on HELDOUT shapes drawn with HELDOUT_SEED. The committed judge (60 epochs
of 2,000 shapes, 200 CPU-s on one thread; about 700 KB) is right on 98.65 % of those 2,000
(97.95 % from the grid alone, without the mirror average of `predict`); its only mistakes are
small boxes and cylinders (3-7 % fill, a box near a cube), which at 16^3 are a few voxels
across. Retraining with the same settings gives the same weights (checked, on one thread).

Scores of samples (N, 1, 16, 16, 16): occupancy probabilities are first thresholded at 0.5
(as the paper's figures show its samples), then
- class mix: the fraction of samples the judge puts in each class, and its largest distance
  from uniform, max_c |fraction_c - 1/4|, in percentage points (0 for a perfect mix);
- confidence: the mean over samples of the judge's largest softmax probability (a shape that
  is clearly one thing scores near 1, a blob between classes lower).
"""
from __future__ import annotations

import logging
import math
import time
from pathlib import Path

import numpy as np

from .. import backend
from .. import functional as F
from .. import nn
from ..nn import utils as nn_utils
from ..creation import manual_seed
from ..data.voxels import CLASSES, shapes
from ..io import load as load_checkpoint
from ..io import save as save_checkpoint
from ..io import sha256_of, verify_sha256  # noqa: F401 (sha256_of: also for callers)
from ..optim import Adam
from ..tensor import Tensor

log = logging.getLogger(__name__)

ASSET = Path(__file__).resolve().parents[1] / "assets" / "voxel_judge.npz"
#: SHA-256 of the committed weights; retraining writes a new file with a new checksum
JUDGE_SHA256 = "74f3265c002e426af71c5e0c21106c817ab8974a3d3ff28b9bc4666181ca2937"
SIZE = 16
NUM_CLASSES = len(CLASSES)
TRAIN_SEED = 1000     # epoch e trains on shapes(..., seed=TRAIN_SEED + e)
HELDOUT_SEED = 5000   # the judge's own held-out shapes: measured once, never trained on
HELDOUT = 2000


class JudgeChecksumError(ValueError):
    """The judge's weights on disk are not the ones whose checksum is recorded."""


class VoxelJudge(nn.Module):
    """voxels (N, 1, 16, 16, 16) in {0, 1} -> logits (N, 4) over CLASSES; `features` gives the
    (N, 64) penultimate activations. A 3x3x3 convolution at full resolution first: a box's
    edges and corners and a cylinder's rim are a voxel or two wide, so the first layer sees
    them before any stride throws resolution away."""

    feature_dim = 64

    def __init__(self, width: int = 8):
        w = width
        self.body = nn.Sequential(
            nn.Conv3d(1, w, 3, 1, 1), nn.ReLU(),                  # (N, w, 16, 16, 16)
            nn.Conv3d(w, 2 * w, 4, 2, 1), nn.ReLU(),              # (N, 2w, 8, 8, 8)
            nn.Conv3d(2 * w, 4 * w, 4, 2, 1), nn.ReLU(),          # (N, 4w, 4, 4, 4)
            nn.Flatten(),                                         # (N, 256 w)
            nn.Linear(4 * w * 4 ** 3, self.feature_dim), nn.ReLU())   # (N, 64)
        self.head = nn.Linear(self.feature_dim, NUM_CLASSES)     # (N, 4)

    def features(self, x):
        if x.ndim != 5 or tuple(x.shape[1:]) != (1, SIZE, SIZE, SIZE):
            raise ValueError(f"VoxelJudge takes voxels of shape (N, 1, {SIZE}, {SIZE}, {SIZE}), "
                             f"got {x.shape}")
        return self.body(x)

    def forward(self, x):
        return self.head(self.features(x))


def binarize(voxels) -> np.ndarray:
    """Voxels (N, 1, 16, 16, 16) (a Tensor or an array of occupancies or probabilities) as a
    float32 host array in {0, 1}: v > 0.5. Real shapes pass unchanged."""
    v = backend.to_numpy(voxels.data if isinstance(voxels, Tensor) else voxels)
    v = np.asarray(v)
    if v.ndim != 5 or tuple(v.shape[1:]) != (1, SIZE, SIZE, SIZE) or len(v) == 0 or \
            v.dtype.kind not in "biuf":
        raise ValueError(f"voxel judge: expected voxels of shape (N, 1, {SIZE}, {SIZE}, {SIZE}) "
                         f"with N >= 1 (numbers: occupancies or probabilities), got "
                         f"{v.dtype} {v.shape}")
    return (v > 0.5).astype(np.float32)


def mirrors(voxels: np.ndarray):
    """The 8 mirror images of voxels (N, 1, D, H, W): every subset of the three axes flipped
    (the first is the grid itself)."""
    for k in range(8):
        axes = tuple(2 + i for i in range(3) if k >> i & 1)
        yield np.ascontiguousarray(np.flip(voxels, axes)) if axes else voxels


def predict(judge: VoxelJudge, voxels, batch_size: int = 500,
            mirrored: bool = True) -> np.ndarray:
    """The judge's class probabilities (N, 4) float64 for voxels thresholded at 0.5, in eval
    mode, without a graph. mirrored: the mean of its softmax over the grid's 8 mirror images
    (every class is mirror-symmetric, so a shape's mirror image is a shape of its class;
    averaging takes out how the shape happened to fall on the voxel lattice, which is what
    decides the small boxes and cylinders it confuses: 97.95 % -> 98.65 % held out)."""
    x = binarize(voxels)
    total = 0.0
    for view in (mirrors(x) if mirrored else [x]):
        logits = nn_utils.predict(judge, view, batch_size)
        z = logits - logits.max(axis=1, keepdims=True)      # softmax on the host, stably
        p = np.exp(z.astype(np.float64))
        total = total + p / p.sum(axis=1, keepdims=True)
    return total / (8 if mirrored else 1)


def accuracy(judge: VoxelJudge, voxels, labels, mirrored: bool = True) -> float:
    probs = predict(judge, voxels, mirrored=mirrored)
    return float(np.mean(probs.argmax(axis=1) == np.asarray(labels)))


def class_mix(probs) -> dict:
    """From class probabilities (N, 4): the fraction of samples whose most probable class is
    each class ({name: fraction}), max_c |fraction_c - 1/4| in percentage points, and the mean
    confidence (mean max probability)."""
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != NUM_CLASSES or len(p) == 0:
        raise ValueError(f"class_mix: expected probabilities of shape (N, {NUM_CLASSES}) with "
                         f"N >= 1, got {p.shape}")
    fractions = np.bincount(p.argmax(axis=1), minlength=NUM_CLASSES) / len(p)
    return {"class_mix": {name: round(float(f), 4) for name, f in zip(CLASSES, fractions)},
            "class_mix_max_deviation": float(100 * np.abs(fractions - 1 / NUM_CLASSES).max()),
            "judge_confidence": float(p.max(axis=1).mean())}


def scores(judge: VoxelJudge, voxels) -> dict:
    """class_mix(predict(judge, voxels)): the class mix, its largest deviation from uniform in
    points and the mean confidence of the samples, thresholded at 0.5 first."""
    return class_mix(predict(judge, voxels))


def train_judge(epochs: int = 60, shapes_per_epoch: int = 2000, batch_size: int = 50,
                lr: float = 2e-3, width: int = 8, seed: int = 0,
                progress=None) -> tuple[VoxelJudge, dict]:
    """Train a VoxelJudge with Adam (cosine decay to lr/20) on `shapes_per_epoch` fresh shapes
    per epoch, epoch e's from shapes(..., seed=TRAIN_SEED + e): no shape is seen twice, so no
    augmentation is needed. Returns (judge in eval mode, info) with info["heldout_accuracy"]
    measured once, after the last epoch, on HELDOUT shapes of HELDOUT_SEED (no selection on
    them). progress(epoch, info) is called after every epoch, if given."""
    if epochs < 1 or shapes_per_epoch < 1 or batch_size < 1:
        raise ValueError(f"train_judge: epochs, shapes_per_epoch and batch_size must be >= 1, "
                         f"got {epochs}, {shapes_per_epoch} and {batch_size}")
    if TRAIN_SEED + epochs > HELDOUT_SEED:
        raise ValueError(f"train_judge: {epochs} epochs would draw training shapes with the "
                         f"held-out seed {HELDOUT_SEED}; use at most {HELDOUT_SEED - TRAIN_SEED}")
    manual_seed(seed)
    rng = np.random.default_rng(seed)
    judge = VoxelJudge(width)
    opt = Adam(judge.parameters(), lr=lr)
    steps_per_epoch = math.ceil(shapes_per_epoch / batch_size)
    total, step, start = epochs * steps_per_epoch, 0, time.process_time()
    info = {"epochs": epochs, "shapes_per_epoch": shapes_per_epoch, "batch_size": batch_size,
            "lr": lr, "width": width, "seed": seed, "train_seeds": [TRAIN_SEED,
                                                                    TRAIN_SEED + epochs - 1],
            "heldout_seed": HELDOUT_SEED, "heldout_size": HELDOUT, "epoch_loss": []}
    for epoch in range(epochs):
        x, y = shapes(shapes_per_epoch, SIZE, seed=TRAIN_SEED + epoch)
        order = rng.permutation(len(x))
        x, y = x[order], y[order]
        judge.train()
        running = 0.0
        for start_row in range(0, len(x), batch_size):
            part = slice(start_row, start_row + batch_size)
            opt.lr = lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * step / total)))
            loss = F.cross_entropy(judge(Tensor(x[part])), y[part])
            opt.zero_grad()
            loss.backward()
            opt.step()
            running += float(loss.data)
            step += 1
        info["epoch_loss"].append(round(running / steps_per_epoch, 5))
        log.info("voxel judge: epoch %d/%d, loss %.4f", epoch + 1, epochs,
                 info["epoch_loss"][-1])
        if progress is not None:
            progress(epoch, info)
    judge.eval()
    x, y = shapes(HELDOUT, SIZE, seed=HELDOUT_SEED)
    info["heldout_accuracy"] = accuracy(judge, x, y)               # as the scores judge
    info["heldout_accuracy_one_view"] = accuracy(judge, x, y, mirrored=False)
    # kept out of the checkpoint's metadata, so a retrain writes the same bytes
    cpu_seconds = round(time.process_time() - start, 1)
    log.info("voxel judge: held-out accuracy %.4f after %.0f CPU-s", info["heldout_accuracy"],
             cpu_seconds)
    return judge, {**info, "cpu_seconds": cpu_seconds}


def save_judge(judge: VoxelJudge, path=ASSET, info: dict | None = None) -> str:
    """Write the weights (a tg.save checkpoint with `info` as metadata, less its timing);
    returns the SHA-256 to record as JUDGE_SHA256."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {k: v for k, v in (info or {}).items() if k != "cpu_seconds"}
    save_checkpoint(path, judge, meta=meta)
    return sha256_of(path)


def load_judge(path=None, sha256: str | bool | None = None, device: str = "cpu") -> VoxelJudge:
    """The voxel judge in eval mode. The file (default: the committed asset) must have the
    SHA-256 `sha256` (default: JUDGE_SHA256); sha256=False skips the check, for a file you
    trained yourself."""
    path = ASSET if path is None else Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"voxel judge weights not found at {path}; retrain them with "
                                "tinygan.gan.voxel_judge.train_judge() and save_judge()")
    verify_sha256(path, JUDGE_SHA256 if sha256 is None else sha256, JudgeChecksumError,
                  "retrain with train_judge() + save_judge() and record the checksum save_judge "
                  "returns")
    state = load_checkpoint(path)
    width = int(state.meta.get("width", 8)) if getattr(state, "meta", None) else 8
    judge = VoxelJudge(width)
    judge.load_state_dict(state)
    return judge.to(device).eval()
