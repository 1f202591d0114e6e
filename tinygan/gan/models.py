"""The networks of tinygan's experiments: the three classic image GANs for 28x28 digits as
generator/discriminator Module pairs, and the small MLPs of the 1D and 2D toys.

- MLP GAN (Goodfellow et al. 2014's fully connected nets): G 100 -> 500 -> 500 -> 784 -> 28x28,
  D 784 -> 500 -> 500 -> 1.
- DCGAN (Radford, Metz & Chintala 2015): strided convolutions in D, transposed convolutions in G,
  batch norm in both (not on G's output or D's input), ReLU/tanh in G, LeakyReLU(0.2) in D, and
  every weight drawn from N(0, 0.02^2).
- Conditional GAN (Mirza & Osindero 2014): the one-hot label y is joined to z at G's input and to
  the image at D's input, so G learns p(x | y) and can be asked for a chosen digit.

- Toy MLPs: `mlp(sizes)`, `ToyDiscriminator` (an MLP with a `features` view for feature
  matching and an optional minibatch-discrimination layer), and the fixed-scale input layers
  `Scale` and `Standardize` (the toy D's `MinibatchStd` is tinygan.nn's, re-exported here).

Every discriminator returns logits (N, 1); D(x) = sigmoid(logit), as tinygan.gan.losses expects.
Images are (N, 1, 28, 28) in [-1, 1] (tanh's range, see tinygan.data.mnist.to_gan_range).

The Algorithm-1 trainer hands G one noise tensor and D one sample tensor. For the conditional
pair, PackedGenerator / PackedDiscriminator carry the label inside those tensors: noise is
[z | one-hot y] (N, 110) and a sample is [flattened image | one-hot y] (N, 794).
"""
from __future__ import annotations

import numpy as np

from .. import backend, init
from .. import nn
from ..ops import concatenate
from ..tensor import Tensor
from ..nn.equalized import MinibatchStd  # noqa: F401 (re-exported: the toy D's layer)
from .remedies import MinibatchDiscrimination

Z_DIM = 100
NUM_CLASSES = 10
IMAGE_SHAPE = (1, 28, 28)
IMAGE_SIZE = 784


def _check_batch(model: str, x: Tensor, shape: tuple, what: str) -> None:
    """x must be (N,) + shape; the error names the model, what it got and what it needs."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{model}: {what} must be a tinygan Tensor, got {type(x).__name__}")
    if x.ndim != 1 + len(shape) or tuple(x.shape[1:]) != tuple(shape):
        want = ", ".join(["N", *map(str, shape)])
        raise ValueError(f"{model}: {what} has shape {x.shape}, expected ({want})")


# ---------------------------------------------------------------------------------------------
# MLP GAN
# ---------------------------------------------------------------------------------------------

class MLPGenerator(nn.Module):
    """z (N, 100) -> image (N, 1, 28, 28). Hidden layers ReLU (with batch norm by default, which
    steadies the fully connected generator on CPU budgets), output tanh."""

    def __init__(self, z_dim: int = Z_DIM, hidden: int = 500, batch_norm: bool = True,
                 in_extra: int = 0):
        self.z_dim, self.in_extra = z_dim, in_extra
        norm = (lambda n: nn.BatchNorm1d(n)) if batch_norm else (lambda n: nn.Identity())
        self.net = nn.Sequential(
            nn.Linear(z_dim + in_extra, hidden), norm(hidden), nn.ReLU(),   # (N, 500)
            nn.Linear(hidden, hidden), norm(hidden), nn.ReLU(),             # (N, 500)
            nn.Linear(hidden, IMAGE_SIZE), nn.Tanh(),                       # (N, 784)
            nn.Unflatten(1, IMAGE_SHAPE))                                   # (N, 1, 28, 28)

    def forward(self, z):
        _check_batch(type(self).__name__, z, (self.z_dim + self.in_extra,), "z")
        return self.net(z)


class MLPDiscriminator(nn.Module):
    """image (N, 1, 28, 28) -> logit (N, 1). Hidden layers LeakyReLU(0.2), as in DCGAN's D,
    each followed by Dropout(dropout) when dropout > 0 (Goodfellow et al. 2014 trained their D
    with dropout). With in_extra > 0 it takes a flat (N, 784 + in_extra) input instead (the
    conditional D)."""

    def __init__(self, hidden: int = 500, in_extra: int = 0, dropout: float = 0.0):
        self.in_extra = in_extra
        def drop():  # none at 0: the state_dict keys stay those of the plain MLP
            return [nn.Dropout(dropout)] if dropout > 0 else []
        self.net = nn.Sequential(
            nn.Linear(IMAGE_SIZE + in_extra, hidden), nn.LeakyReLU(0.2), *drop(),  # (N, 500)
            nn.Linear(hidden, hidden), nn.LeakyReLU(0.2), *drop(),                 # (N, 500)
            nn.Linear(hidden, 1))                                                # (N, 1) logits

    def forward(self, x):
        if self.in_extra == 0:
            _check_batch(type(self).__name__, x, IMAGE_SHAPE, "images")
            x = x.reshape(x.shape[0], IMAGE_SIZE)                          # (N, 784)
        else:  # a conditional body: the caller has joined the flattened image and the extras
            _check_batch(type(self).__name__, x, (IMAGE_SIZE + self.in_extra,),
                         "joined input [image | extra]")
        return self.net(x)


def mlp_gan(z_dim: int = Z_DIM, hidden: int = 500, batch_norm: bool = True,
            dropout: float = 0.3):
    """(G, D) of the MLP GAN with PyTorch's default initialisation. D's dropout keeps it from
    memorising the 8,500-digit training set, which a 10-minute run sees ~190 times (with and
    without it: benchmarks/results/mnist.md)."""
    return MLPGenerator(z_dim, hidden, batch_norm), MLPDiscriminator(hidden, dropout=dropout)


# ---------------------------------------------------------------------------------------------
# DCGAN
# ---------------------------------------------------------------------------------------------

class DCGANGenerator(nn.Module):
    """z (N, 100) -> image (N, 1, 28, 28): project to 2w x 7 x 7 (w = width, 64), then two
    fractionally-strided (transposed) convolutions double the size each time."""

    def __init__(self, z_dim: int = Z_DIM, width: int = 64):
        self.z_dim, w = z_dim, width
        self.net = nn.Sequential(
            nn.Linear(z_dim, 2 * w * 7 * 7), nn.Unflatten(1, (2 * w, 7, 7)),  # (N, 2w, 7, 7)
            nn.BatchNorm2d(2 * w), nn.ReLU(),
            nn.ConvTranspose2d(2 * w, w, 4, 2, 1), nn.BatchNorm2d(w),       # (N, w, 14, 14)
            nn.ReLU(),
            nn.ConvTranspose2d(w, 1, 4, 2, 1), nn.Tanh())                   # (N, 1, 28, 28)

    def forward(self, z):
        _check_batch(type(self).__name__, z, (self.z_dim,), "z")
        return self.net(z)


#: what may follow D's second convolution: batch norm (Radford et al.), or nothing (a critic
#: with a gradient penalty or spectral norm must judge each image alone)
D_NORMS = ("batch", "none")


class DCGANDiscriminator(nn.Module):
    """image (N, 1, 28, 28) -> logit (N, 1): two strided convolutions instead of pooling; no
    normalization on the input layer (Radford et al.'s guideline). width w (64): channels w
    then 2w; norm: one of D_NORMS after the second convolution."""

    def __init__(self, width: int = 64, norm: str = "batch"):
        if norm not in D_NORMS:
            raise ValueError(f"DCGANDiscriminator: norm must be one of {D_NORMS}, got {norm!r}")
        w = width
        after = [nn.BatchNorm2d(2 * w)] if norm == "batch" else []
        self.net = nn.Sequential(
            nn.Conv2d(1, w, 4, 2, 1), nn.LeakyReLU(0.2),                    # (N, w, 14, 14)
            nn.Conv2d(w, 2 * w, 4, 2, 1), *after,                           # (N, 2w, 7, 7)
            nn.LeakyReLU(0.2),
            nn.Flatten(), nn.Linear(2 * w * 7 * 7, 1))                      # (N, 1) logits

    def forward(self, x):
        _check_batch(type(self).__name__, x, IMAGE_SHAPE, "images")
        return self.net(x)


def dcgan(z_dim: int = Z_DIM, rng=None, width: int = 64, d_norm: str = "batch"):
    """(G, D) of the DCGAN, initialised as Radford et al.: weights N(0, 0.02^2), batch-norm
    scales N(1, 0.02^2), biases 0. rng: a Generator (default: the shared, seeded one). width
    and d_norm: see DCGANGenerator and DCGANDiscriminator (the defaults are the paper's)."""
    G, D = DCGANGenerator(z_dim, width), DCGANDiscriminator(width, d_norm)
    for model in (G, D):
        model.apply(lambda m: init.dcgan_init_(m, rng))
    return G, D


# ---------------------------------------------------------------------------------------------
# Conditional GAN
# ---------------------------------------------------------------------------------------------

def one_hot(labels, num_classes: int = NUM_CLASSES, like: Tensor | None = None,
            mixtures: bool = False) -> Tensor:
    """Integer labels (N,) -> float one-hot Tensor (N, num_classes) on `like`'s device and dtype
    (float32 on the CPU when like is None). A float (N, num_classes) Tensor or array that is
    already one-hot passes through after a check; with mixtures=True any rows of class weights
    (non-negative, summing to 1: 0.5 one_hot(3) + 0.5 one_hot(8), say) pass too. Bad labels
    raise a ValueError saying why."""
    dtype = np.float32 if like is None else like.dtype
    device = "cpu" if like is None else like.device
    raw = labels.data if isinstance(labels, Tensor) else labels
    host = backend.to_numpy(raw) if hasattr(raw, "dtype") else np.asarray(raw)
    if host.ndim == 2:
        if host.shape[1] != num_classes:
            raise ValueError(f"one-hot labels have {host.shape[1]} columns, expected "
                             f"{num_classes} (one per class)")
        if mixtures:
            if not (np.all(host >= 0) and np.allclose(host.sum(axis=1), 1, atol=1e-5)):
                raise ValueError("label rows must be class weights: non-negative, each row "
                                 "summing to 1 (a one-hot row, or a mixture such as 0.5 / 0.5)")
        elif not (np.all((host == 0) | (host == 1)) and np.all(host.sum(axis=1) == 1)):
            raise ValueError("one-hot labels must hold exactly one 1 per row and 0 elsewhere")
        onehot = host.astype(dtype)
    elif host.ndim == 1:
        if host.size and host.dtype.kind not in "iub":
            if host.dtype.kind != "f" or not np.all(host == np.round(host)):
                raise ValueError(f"labels must be whole numbers 0..{num_classes - 1}, got "
                                 f"dtype {host.dtype}")
        ints = host.astype(np.int64)
        if ints.size and (ints.min() < 0 or ints.max() >= num_classes):
            raise ValueError(f"labels must lie in 0..{num_classes - 1}, got values "
                             f"{ints.min()}..{ints.max()}")
        onehot = np.eye(num_classes, dtype=dtype)[ints]
    else:
        raise ValueError(f"labels must be integers of shape (N,) or one-hot of shape (N, "
                         f"{num_classes}), got shape {host.shape}")
    return Tensor(backend.to_device(onehot, device))


def _labels_for(model: str, labels, batch: int, like: Tensor, mixtures: bool = False,
                num_classes: int = NUM_CLASSES) -> Tensor:
    try:
        y = one_hot(labels, num_classes, like, mixtures)
    except ValueError as e:
        raise ValueError(f"{model}: {e}") from None
    if y.shape[0] != batch:
        raise ValueError(f"{model}: got {y.shape[0]} labels for a batch of {batch}; give one "
                         "label per sample")
    return y


class ClassConditionalGenerator(nn.Module):
    """Base of the generators asked for a class: forward(z, labels) checks z (N, z_dim) and the
    labels (ints (N,), one-hot rows, or mixtures of classes as rows of class weights) and calls
    conditioned(z, y) with y the (N, num_classes) class weights, which subclasses define
    (unchecked: PackedGenerator calls it inside the training step)."""
    z_dim, num_classes = Z_DIM, NUM_CLASSES

    def forward(self, z, labels):
        _check_batch(type(self).__name__, z, (self.z_dim,), "z")
        y = _labels_for(type(self).__name__, labels, z.shape[0], z, mixtures=True,
                        num_classes=self.num_classes)
        return self.conditioned(z, y)                                      # (N, 1, 28, 28)

    def conditioned(self, z, y):
        raise NotImplementedError(f"{type(self).__name__} must define conditioned(z, y)")


class ConditionalGenerator(ClassConditionalGenerator):
    """G(z, y): z (N, 100) and labels y (N,) ints or (N, 10) one-hot -> image (N, 1, 28, 28).
    The one-hot label is joined to z, [z | y] (N, 110), and the MLP generator takes it from
    there. (Mirza & Osindero 2014 join z and y too, but each after a hidden layer of its own.)
    num_classes: how many classes y can name (10 digits by default)."""

    def __init__(self, z_dim: int = Z_DIM, hidden: int = 500, batch_norm: bool = True,
                 num_classes: int = NUM_CLASSES):
        self.z_dim, self.num_classes = z_dim, num_classes
        self.body = MLPGenerator(z_dim, hidden, batch_norm, in_extra=num_classes)

    def conditioned(self, z, y):
        return self.body(concatenate([z, y], axis=1))                      # (N, 1, 28, 28)


class ConditionalDiscriminator(nn.Module):
    """D(x, y): image (N, 1, 28, 28) and labels (N,) or (N, 10) -> logit (N, 1) of "x is a
    real digit of class y". The one-hot label is joined to the flattened image: (N, 794)."""

    def __init__(self, hidden: int = 500, num_classes: int = NUM_CLASSES):
        self.num_classes = num_classes
        self.body = MLPDiscriminator(hidden, in_extra=num_classes)

    def forward(self, x, labels):
        _check_batch(type(self).__name__, x, IMAGE_SHAPE, "images")
        y = _labels_for(type(self).__name__, labels, x.shape[0], x,
                        num_classes=self.num_classes)
        flat = x.reshape(x.shape[0], IMAGE_SIZE)                           # (N, 784)
        return self.body(concatenate([flat, y], axis=1))                   # (N, 1) logits


class PackedGenerator(nn.Module):
    """Adapts a ClassConditionalGenerator to one-tensor calls (the trainer's): [z | y] (N, 110)
    -> [flattened image | y] (N, 794), so the label travels with the sample into D."""

    def __init__(self, generator: ClassConditionalGenerator):
        self.generator = generator

    def forward(self, zy):
        k = self.generator.z_dim
        _check_batch(type(self).__name__, zy, (k + self.generator.num_classes,),
                     "packed noise [z | y]")
        y = zy[:, k:]                                                      # (N, 10)
        if isinstance(self.generator, ConditionalGenerator):
            # [z | y] is already what its body takes; skipping the label check here keeps the
            # training step free of host round trips
            image = self.generator.body(zy)                                # (N, 1, 28, 28)
        else:
            image = self.generator.conditioned(zy[:, :k], y)
        flat = image.reshape(zy.shape[0], IMAGE_SIZE)                      # (N, 784)
        return concatenate([flat, y], axis=1)                              # (N, 794)


def unpack(xy: Tensor):
    """[flattened image | y] (N, 794) -> (images (N, 1, 28, 28), class weights y (N, 10))."""
    return xy[:, :IMAGE_SIZE].reshape(xy.shape[0], *IMAGE_SHAPE), xy[:, IMAGE_SIZE:]


class PackedDiscriminator(nn.Module):
    """Adapts a conditional discriminator to one-tensor calls: [flattened image | y] (N, 794)
    -> D's output. A ConditionalDiscriminator takes the row as it is; a discriminator with
    `takes_labels` (projection) gets conditioned(images, y); any other (AC-GAN's, which infers
    the class, or ControlGAN's unconditional one) gets the images alone."""

    def __init__(self, discriminator):
        self.discriminator = discriminator

    def forward(self, xy):
        _check_batch(type(self).__name__, xy,
                     (IMAGE_SIZE + getattr(self.discriminator, "num_classes", NUM_CLASSES),),
                     "packed sample [image | y]")
        D = self.discriminator
        if isinstance(D, ConditionalDiscriminator):
            return D.body(xy)                                              # (N, 1) logits
        images, y = unpack(xy)
        if getattr(D, "takes_labels", False):
            return D.conditioned(images, y)
        return D(images)


def conditional_gan(z_dim: int = Z_DIM, hidden: int = 500, batch_norm: bool = True,
                    num_classes: int = NUM_CLASSES):
    """(G, D) of the conditional MLP GAN; wrap them in PackedGenerator/PackedDiscriminator to
    train with tinygan.gan.trainer.Trainer."""
    return (ConditionalGenerator(z_dim, hidden, batch_norm, num_classes),
            ConditionalDiscriminator(hidden, num_classes))


def count_parameters(module: nn.Module) -> int:
    """Number of trainable numbers in a module."""
    return sum(p.numel() for p in module.parameters())


# ---------------------------------------------------------------------------------------------
# The toys' MLPs
# ---------------------------------------------------------------------------------------------

def mlp(sizes, act=nn.ReLU) -> nn.Sequential:
    """Linear layers of the given sizes with act() between them (none after the last)."""
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(act())
    return nn.Sequential(*layers)


class Scale(nn.Module):
    """y = factor * x with a fixed factor (no parameter): puts a model's inputs or outputs in
    the data's units."""

    def __init__(self, factor: float):
        self.factor = float(factor)

    def forward(self, x: Tensor) -> Tensor:
        return x if self.factor == 1.0 else x * self.factor

    def extra_repr(self):
        return f"factor={self.factor}"


class Standardize(nn.Module):
    """x -> (x - mean) / std with fixed numbers: the data's own scale, so that D's first-layer
    units, each bending D's curve once at x = -b/w, start out bending where the data are."""

    def __init__(self, mean: float, std: float):
        self.mean, self.std = mean, std

    def forward(self, x):
        return (x - self.mean) / self.std

    def extra_repr(self):
        return f"mean={self.mean}, std={self.std}"


class ToyDiscriminator(nn.Module):
    """x (N, in_dim) -> x * input_scale -> body (N, hidden) [-> minibatch discrimination
    (N, hidden + B)] -> logit (N, 1). `features(x)` is the body's output (what feature
    matching matches)."""

    def __init__(self, in_dim: int, hidden: int, depth: int, minibatch: tuple | None = None,
                 rng=None, input_scale: float = 1.0, device=None):
        self.input_scale = Scale(input_scale)
        self.body = mlp([in_dim] + [hidden] * depth, act=lambda: nn.LeakyReLU(0.2))
        self.body_act = nn.LeakyReLU(0.2)
        self.minibatch = None
        width = hidden
        if minibatch is not None:
            self.minibatch = MinibatchDiscrimination(hidden, *minibatch, rng=rng, device=device)
            width = self.minibatch.out_features
        self.head = nn.Linear(width, 1)

    def features(self, x: Tensor) -> Tensor:
        return self.body_act(self.body(self.input_scale(x)))         # (N, hidden)

    def forward(self, x: Tensor) -> Tensor:
        h = self.features(x)
        if self.minibatch is not None:
            h = self.minibatch(h)                                    # (N, hidden + B)
        return self.head(h)                                          # (N, 1)
