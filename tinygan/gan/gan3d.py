"""3D-GAN (Wu, Zhang, Xue, Freeman & Tenenbaum 2016, arXiv 1610.07584), small: volumetric
(3-D) convolutional networks for 16^3 occupancy grids and the paper's adaptive training rule.

G maps z ~ U(0, 1)^z_dim (the paper's prior, with 200 dimensions there) through transposed 3-D
convolutions of kernel 4 with batch norm and ReLU between them to (N, 1, 16, 16, 16) occupancy
probabilities (a sigmoid at the end, as the paper). D mirrors it: 3-D convolutions of kernel 4
with leaky ReLU (slope 0.2), batch norm after every convolution but the first (DCGAN's
convention: normalizing the input layer would remove the data's own scale), one logit.

The one ingredient of the paper besides the volumetric convolutions: "the discriminator only
gets updated if its accuracy in the last batch is not higher than 80 %". D easily wins at
telling voxel grids apart (a generated grid of soft probabilities is unlike a binary one), and
once it does, G's gradient vanishes and G collapses. AdaptiveTrainer measures D's accuracy on
each D batch (real logits > 0 and fake logits < 0, over the 2m samples) before its step and
skips the step when it is above the threshold; it counts the updates it made.
"""
from __future__ import annotations

import numpy as np

from .. import backend, init
from .. import functional as F
from .. import nn
from ..nn import utils as nn_utils
from ..ops import concatenate
from ..optim import Adam
from ..tensor import Tensor, no_grad
from .models import Standardize, _check_batch
from .trainer import Trainer, uniform_noise

SIZE = 16
VOXEL_SHAPE = (1, SIZE, SIZE, SIZE)
Z_DIM = 64


class Generator3D(nn.Module):
    """z (N, z_dim) in [0, 1] -> occupancy probabilities (N, 1, 16, 16, 16): a kernel-4
    transposed convolution from 1^3 to 4^3, then two that double the size, batch norm and ReLU
    between, a sigmoid at the end (the paper's five layers reach 64^3; three reach 16^3).

    center: the first layer sees 2z - 1 in [-1, 1] instead of z. The prior stays U(0, 1) and the
    family of generators is the same (the affine map folds into the first layer's weights and
    bias), but a U(0, 1) input has a large common part, mean 0.5 in every coordinate: at
    initialization only 40 % of the first layer's spread across the batch comes from z (67 %
    once centered), and the first layer's updates then mostly grow the z-independent part, so
    G stops depending on z within ~100 iterations whatever the learning rates (measured in
    tinygan.experiments.gan3d)."""

    def __init__(self, z_dim: int = Z_DIM, width: int = 16, center: bool = True):
        self.z_dim, self.center, w = z_dim, center, width
        self.body = nn.Sequential(
            Standardize(0.5, 0.5) if center else nn.Identity(),          # (N, z) in [-1, 1]
            nn.Unflatten(1, (z_dim, 1, 1, 1)),                           # (N, z, 1, 1, 1)
            nn.ConvTranspose3d(z_dim, 4 * w, 4), nn.BatchNorm3d(4 * w), nn.ReLU(),  # (N, 4w, 4^3)
            nn.ConvTranspose3d(4 * w, 2 * w, 4, 2, 1), nn.BatchNorm3d(2 * w), nn.ReLU(),  # 8^3
            nn.ConvTranspose3d(2 * w, 1, 4, 2, 1), nn.Sigmoid())        # (N, 1, 16, 16, 16)

    def forward(self, z):
        _check_batch(type(self).__name__, z, (self.z_dim,), "z")
        return self.body(z)


class Discriminator3D(nn.Module):
    """voxels (N, 1, 16, 16, 16) -> logit (N, 1): two strided kernel-4 convolutions (16^3 ->
    8^3 -> 4^3) with leaky ReLU 0.2, batch norm after the second, then a kernel-4 convolution
    over the whole 4^3 map. `features(x)` is the (N, 2w * 64) activation before that last
    layer: what a linear probe reads (the paper's representation experiment)."""

    def __init__(self, width: int = 16, batch_norm: bool = True, minibatch_std: bool = False):
        w = width
        self.feature_dim = 2 * w * 4 ** 3
        self.body = nn.Sequential(
            nn.Conv3d(1, w, 4, 2, 1), nn.LeakyReLU(0.2),                       # (N, w, 8^3)
            nn.Conv3d(w, 2 * w, 4, 2, 1),                                      # (N, 2w, 4^3)
            nn.BatchNorm3d(2 * w) if batch_norm else nn.Identity(), nn.LeakyReLU(0.2))
        # minibatch_std: one more 4^3 plane, the batch's spread, so D can see a collapse
        self.head = nn.Sequential(
            nn.MinibatchStd() if minibatch_std else nn.Identity(),             # (N, 2w [+1], 4^3)
            nn.Conv3d(2 * w + int(minibatch_std), 1, 4), nn.Flatten())         # (N, 1) logits

    def features(self, x):
        """D's penultimate activations, flattened: (N, 2w * 4^3)."""
        _check_batch(type(self).__name__, x, VOXEL_SHAPE, "voxels")
        return self.body(x).reshape(x.shape[0], self.feature_dim)

    def probe_features(self, x):
        """The paper's representation for its linear probe (several layers' responses,
        max-pooled) at this size: each convolution block's activations, max- and mean-pooled
        over all positions, side by side: (N, 6w). Pooled over the whole grid, they do not
        depend on where in it a shape sits, which the flattened `features` do."""
        _check_batch(type(self).__name__, x, VOXEL_SHAPE, "voxels")
        first = self.body[:2](x)                                    # (N, w, 8^3)
        second = self.body[2:](first)                               # (N, 2w, 4^3)
        space = (2, 3, 4)
        return concatenate([first.max(axis=space), first.mean(axis=space),
                            second.max(axis=space), second.mean(axis=space)], axis=1)

    def forward(self, x):
        _check_batch(type(self).__name__, x, VOXEL_SHAPE, "voxels")
        return self.head(self.body(x))


def gan3d(z_dim: int = Z_DIM, g_width: int = 16, d_width: int = 16, d_batch_norm: bool = True,
          minibatch_std: bool = False, center_z: bool = True, rng=None):
    """(G, D) with weights from N(0, 0.02^2), batch-norm scales N(1, 0.02^2), biases 0 (rng: a
    Generator, default the shared one); d_batch_norm=False leaves D without batch norm,
    minibatch_std gives D's last layer the batch's spread, center_z feeds G 2z - 1."""
    for name, value in (("z_dim", z_dim), ("g_width", g_width), ("d_width", d_width)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"gan3d: {name} must be an int >= 1, got {value!r}")
    G = Generator3D(int(z_dim), int(g_width), center_z)
    D = Discriminator3D(int(d_width), d_batch_norm, minibatch_std)
    for model in (G, D):
        model.apply(lambda m: init.dcgan_init_(m, rng))
    return G, D


def batch_accuracy(real_logits, fake_logits):
    """D's accuracy on one batch, a raw 0-d array on the logits' device: the fraction of the
    real samples with logit > 0 (called real) and fake samples with logit < 0 (called fake),
    over all of them together."""
    right = (real_logits > 0).sum() + (fake_logits < 0).sum()
    return right / (real_logits.size + fake_logits.size)


class AdaptiveTrainer(Trainer):
    """Algorithm 1 with 3D-GAN's adaptive rule: D's optimizer steps only when its accuracy on
    the current D batch (batch_accuracy, measured from the logits that the loss is computed
    from, before the step) is at most `d_threshold`; above it, the step (and its backward
    pass) is skipped. d_threshold None (or 1.0, an accuracy never exceeded) turns the rule off.

    d_updates counts D's optimizer steps, d_checks the D steps taken (updated or not); both
    are in the state_dict, so a resumed run keeps them. history adds, per log window, the mean
    d_accuracy and d_updated (the fraction of D steps that stepped)."""

    HISTORY_KEYS = Trainer.HISTORY_KEYS + ("d_accuracy", "d_updated")

    def __init__(self, *args, d_threshold: float | None = 0.8, **kwargs):
        if d_threshold is not None and not 0 <= d_threshold <= 1:
            raise ValueError(f"AdaptiveTrainer: d_threshold must lie in [0, 1] (an accuracy; "
                             f"None for no rule), got {d_threshold!r}")
        super().__init__(*args, **kwargs)
        self.d_threshold = d_threshold
        self.d_updates = self.d_checks = 0

    @property
    def d_update_fraction(self) -> float:
        """The fraction of all D steps so far in which D's optimizer stepped (NaN before any)."""
        return self.d_updates / self.d_checks if self.d_checks else float("nan")

    def d_update(self, loss, real_source, fake_source) -> None:
        accuracy = batch_accuracy(real_source.data, fake_source.data)
        # the decision needs the number on the host: one small read-back per D step
        update = self.d_threshold is None or float(accuracy) <= self.d_threshold
        if update:
            super().d_update(loss, real_source, fake_source)
            self.d_updates += 1
        self.d_checks += 1
        self._add("d_accuracy", accuracy, self.k)
        self._add("d_updated", np.float64(update), self.k)

    def state_dict(self) -> dict:
        return {**super().state_dict(),
                "adaptive": {"d_updates": self.d_updates, "d_checks": self.d_checks}}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.d_updates = int(state["adaptive"]["d_updates"])
        self.d_checks = int(state["adaptive"]["d_checks"])


def generate(G: Generator3D, n: int | None = None, seed=1234, z=None, batch_size: int = 500):
    """Occupancy probabilities (n, 1, 16, 16, 16) float32 host array in (0, 1), drawn in eval
    mode (batch norm's running statistics) from z ~ U(0, 1)^z_dim seeded by `seed`, or from the
    given z (n, z_dim)."""
    if z is None:
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"generate: n must be a positive int, got {n!r}")
        z = uniform_noise(G.z_dim, 0.0, 1.0)(int(n), np.random.default_rng(seed)).data
    z = np.asarray(backend.to_numpy(z.data if isinstance(z, Tensor) else z), dtype=np.float32)
    if z.ndim != 2 or z.shape[1] != G.z_dim or (n is not None and len(z) != n):
        raise ValueError(f"generate: z has shape {z.shape}, expected (n, {G.z_dim})")
    return nn_utils.predict(G, z, batch_size)


def interpolate(G: Generator3D, steps: int = 8, seed=1234, ends=None) -> dict:
    """Samples along a straight line in z (the paper's Figure 6): z_t = (1 - t) z_0 + t z_1 for
    `steps` values of t from 0 to 1; z_0, z_1 drawn from U(0, 1)^z_dim with `seed`, or `ends`
    (2, z_dim). The line stays inside the cube [0, 1]^z_dim, so every z_t is a draw G could
    have seen. Returns {"voxels": (steps, 1, 16, 16, 16), "z": (steps, z_dim), "t": (steps,)}."""
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 2:
        raise ValueError(f"interpolate: steps must be an int >= 2 (both ends), got {steps!r}")
    if ends is None:
        ends = np.random.default_rng(seed).random((2, G.z_dim), dtype=np.float32)
    ends = np.asarray(ends, dtype=np.float32)
    if ends.shape != (2, G.z_dim):
        raise ValueError(f"interpolate: ends has shape {ends.shape}, expected (2, {G.z_dim})")
    t = np.linspace(0, 1, int(steps), dtype=np.float32)
    z = (1 - t)[:, None] * ends[0] + t[:, None] * ends[1]
    return {"voxels": generate(G, z=z), "z": z, "t": t}


def features(D: Discriminator3D, voxels, batch_size: int = 500,
             probe: bool = False) -> np.ndarray:
    """D's penultimate features (N, D.feature_dim) float64 of voxels (N, 1, 16, 16, 16), or
    with probe=True its pooled probe_features (N, 6w); in eval mode and without a graph, D's
    training flag restored afterwards."""
    return nn_utils.predict(D, voxels, batch_size,
                            call=D.probe_features if probe else D.features).astype(np.float64)


def linear_probe(train_features, train_labels, test_features, test_labels, steps: int = 1000,
                 lr: float = 0.01, weight_decay: float = 1e-3) -> dict:
    """Multinomial logistic regression, trained with tinygan (full-batch Adam on cross-entropy
    + weight_decay |W|^2, from zero weights: the loss is convex, so no seed is involved) on
    features standardized with the training split's mean and spread; scored on the test
    split. Returns {"train_accuracy", "test_accuracy"}."""
    xs = [np.asarray(a, dtype=np.float64) for a in (train_features, test_features)]
    ys = [np.asarray(a) for a in (train_labels, test_labels)]
    for x, y, what in zip(xs, ys, ("train", "test")):
        if x.ndim != 2 or y.shape != (len(x),) or len(x) == 0 or y.dtype.kind not in "iu":
            raise ValueError(f"linear_probe: {what} features must be (N, F) with N >= 1 and "
                             f"labels (N,) integers, got {x.shape} and {y.dtype} {y.shape}")
    if xs[0].shape[1] != xs[1].shape[1]:
        raise ValueError(f"linear_probe: train and test features differ in width: "
                         f"{xs[0].shape[1]} and {xs[1].shape[1]}")
    mean, std = xs[0].mean(axis=0), xs[0].std(axis=0) + 1e-6
    train, test = (Tensor(((x - mean) / std).astype(np.float32)) for x in xs)
    classes = int(max(ys[0].max(), ys[1].max())) + 1
    probe = nn.Linear(xs[0].shape[1], classes)
    for p in probe.parameters():
        init.zeros_(p)
    opt = Adam(probe.parameters(), lr=lr)
    for _ in range(steps):
        loss = F.cross_entropy(probe(train), ys[0]) + weight_decay * (probe.weight ** 2).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
    with no_grad():
        right = [float(np.mean(probe(x).numpy().argmax(axis=1) == y))
                 for x, y in zip((train, test), ys)]
    return {"train_accuracy": right[0], "test_accuracy": right[1]}
