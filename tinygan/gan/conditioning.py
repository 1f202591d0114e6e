"""The losses and regularizers of lesson 11, as Trainer hooks, for a conditional pair trained
on packed rows ([flattened image | one-hot y], tinygan.gan.models.PackedDiscriminator):

- AuxiliaryClassifier (AC-GAN, Odena et al. 2017, arXiv 1610.09585): D's class logits (the
  columns after its source logit) pay CE(real, y) + CE(fake, y) in D's loss; G pays CE(fake, y).
- ControlGANClassifier (ControlGAN, Lee & Seok 2017, arXiv 1708.00598): a separate classifier C
  steps once per iteration on augmented real digits only; G's loss gains gamma * CE(C(G(z, y)),
  y), gamma moved each step toward the equilibrium CE(fake) = rho * CE(real).
- orthogonal_penalty / OrthogonalRegularization (BigGAN, Brock et al. 2019, arXiv 1809.11096):
  beta * sum_W ||W W^T * (1 - I)||_F^2 over G's weight matrices, a loss term on G.
"""
from __future__ import annotations

import numpy as np

from .. import backend, creation
from .. import functional as F
from ..tensor import Tensor
from .augment import translate
from .models import IMAGE_SHAPE, IMAGE_SIZE, unpack
from .trainer import Hook, frozen

__all__ = ["AuxiliaryClassifier", "ControlGANClassifier", "orthogonal_penalty",
           "OrthogonalRegularization"]


def _labels(packed: Tensor) -> Tensor:
    return packed[:, IMAGE_SIZE:]                                          # (N, 10) one-hot


class AuxiliaryClassifier(Hook):
    """AC-GAN's class loss, weight * CE(class logits, y) (Odena et al.'s L_C), on the columns
    1.. of D's output: D lowers it on real and fake digits, G on its fakes. The cross-entropy
    takes D's raw class logits (a softmax before it would be applied twice)."""

    def __init__(self, weight: float = 1.0):
        if not weight > 0:
            raise ValueError(f"AuxiliaryClassifier: weight must be positive, got {weight}")
        self.weight = float(weight)

    def _class_loss(self, packed, logits) -> Tensor:
        if logits.ndim != 2 or logits.shape[1] < 3:
            raise ValueError(f"AuxiliaryClassifier: D's output has shape {logits.shape}; an "
                             "AC-GAN discriminator returns (N, 1 + K): the source logit, then "
                             "K class logits (tinygan.gan.conditional.ACGANDiscriminator)")
        return F.cross_entropy(logits[:, 1:], _labels(packed))

    def d_loss(self, trainer, real, fake, real_logits, fake_logits):
        return self.weight * (self._class_loss(real, real_logits)
                              + self._class_loss(fake, fake_logits))

    def g_loss(self, trainer, fake, fake_logits):
        return self.weight * self._class_loss(fake, fake_logits)


class ControlGANClassifier(Hook):
    """ControlGAN's classifier: C (images -> class logits) with its own Adam optimizer, one step
    per iteration (before D's) on a batch of real digits, each shifted by up to `shift` pixels
    (never on G's digits); G's loss gains gamma * CE(C(fake), y). After each iteration
    gamma <- max(0, gamma + r (CE(fake) - rho * CE(real))): gamma grows while C recognizes G's
    digits less well than rho times the real ones, and shrinks once G's are the easier ones
    (the equilibrium idea of BEGAN's k_t, which ControlGAN borrows). gamma stays on the device:
    the update reads nothing back to the host. C and the evaluation classifier never meet."""

    def __init__(self, classifier, optimizer, data, gamma: float = 0.0, r: float = 0.01,
                 rho: float = 1.5, shift: int = 2, seed=None, device=None):
        if gamma < 0 or r < 0 or rho <= 0 or shift < 0:
            raise ValueError(f"ControlGANClassifier: need gamma >= 0, r >= 0, rho > 0, "
                             f"shift >= 0; got {gamma}, {r}, {rho}, {shift}")
        self.C, self.optimizer, self.data = classifier, optimizer, data
        self.r, self.rho, self.shift = float(r), float(rho), int(shift)
        self.device = backend.resolve_device(device)
        xp = backend.xp_for(self.device)
        self.gamma = xp.asarray(gamma, dtype=np.float32)
        self.rng = backend.rng(seed, self.device)
        self._real = self._fake = None

    def real_batch(self, m: int):
        """(shifted real images (m, 1, 28, 28), one-hot labels (m, 10)) from C's own stream."""
        images, y = unpack(self.data(m, self.rng))
        if self.shift:  # background is -1: shift x + 1 (zeros fill in), then move back
            ratio = self.shift / IMAGE_SHAPE[-1]
            images = translate(images + 1.0, ratio, self.rng) - 1.0
        return images, y

    def before_step(self, trainer) -> None:
        with creation.using_generator(trainer.shared_rng, trainer.device):  # C's dropout
            images, y = self.real_batch(trainer.m)
            self.C.train()
            loss = F.cross_entropy(self.C(images), y)
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
        self._real = loss.data

    def g_loss(self, trainer, fake, fake_logits):
        images, y = unpack(fake)
        with frozen(self.C):
            loss = F.cross_entropy(self.C(images), y)
        self._fake = loss.data
        return Tensor(self.gamma) * loss

    def after_step(self, trainer) -> None:
        if self._real is None or self._fake is None:
            return
        xp = backend.get_array_module(self.gamma)
        step = self.r * (self._fake - self.rho * self._real)
        self.gamma = xp.maximum(0, self.gamma + step).astype(np.float32)

    def state_dict(self) -> dict:
        return {"C": self.C.state_dict(), "optimizer": self.optimizer.state_dict(),
                "gamma": backend.to_numpy(self.gamma).copy(),
                "rng": self.rng.bit_generator.state}

    def load_state_dict(self, state: dict) -> None:
        self.C.load_state_dict(state["C"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.gamma = backend.to_device(np.asarray(state["gamma"], dtype=np.float32), self.device)
        self.rng.bit_generator.state = state["rng"]


def orthogonal_penalty(weights) -> Tensor:
    """sum over W of ||W W^T * (1 - I)||_F^2, W each weight reshaped to (rows, -1) as BigGAN:
    the rows' pairwise inner products, squared. Computed as ||W^T W||_F^2 - sum_i ||w_i||^4
    (the two Gram matrices share their squared Frobenius norm, and W W^T's diagonal holds the
    rows' squared norms), so the Gram matrix is the smaller of the two."""
    total = None
    for w in weights:
        if w.ndim < 2:
            raise ValueError(f"orthogonal_penalty: weights need 2+ axes, got shape {w.shape} "
                             "(leave biases and gains out)")
        m = w.reshape(w.shape[0], -1)                                      # (r, c)
        gram = m @ m.transpose() if m.shape[0] <= m.shape[1] else m.transpose() @ m
        row_sq = (m * m).sum(axis=1)                                       # (r,)
        term = (gram * gram).sum() - (row_sq * row_sq).sum()
        total = term if total is None else total + term
    if total is None:
        raise ValueError("orthogonal_penalty: no weights given")
    return total


class OrthogonalRegularization(Hook):
    """beta * orthogonal_penalty(module's weights with 2+ axes, those in `skip` left out) added
    to G's loss (BigGAN: beta = 1e-4 on G, its shared class embedding left out)."""

    def __init__(self, module, beta: float = 1e-4, skip=()):
        if not beta > 0:
            raise ValueError(f"OrthogonalRegularization: beta must be positive, got {beta}")
        skipped = {id(p) for p in skip}
        self.weights = [p for p in module.parameters() if p.ndim >= 2 and id(p) not in skipped]
        if not self.weights:
            raise ValueError("OrthogonalRegularization: the module has no weight matrices")
        self.beta = float(beta)

    def g_loss(self, trainer, fake, fake_logits):
        return self.beta * orthogonal_penalty(self.weights)
