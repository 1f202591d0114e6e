"""Algorithm 1 of Goodfellow et al. 2014 (minibatch stochastic gradient training of GANs):

    for each iteration:
        repeat k times:                                  # the discriminator's steps
            draw m noise samples z and m data samples x
            step D to lower  -mean log D(x) - mean log(1 - D(G(z)))
        draw m noise samples z
        step G to lower the generator loss on D(G(z))     # one generator step

D returns logits (D(x) = sigmoid(logit)); the losses come from tinygan.gan.losses. Every random
number comes from the trainer's own generator (`seed`), so two runs with one seed are identical.
Statistics are summed on the device and read back every `log_every` iterations, so a GPU run
does not wait for the host at every step.
"""
from __future__ import annotations

import contextlib
import math

import numpy as np

from .. import backend
from ..tensor import Tensor, no_grad
from . import losses


def uniform_noise(dim: int, low: float = -1.0, high: float = 1.0):
    """A noise prior U(low, high)^dim: sample(m, rng) -> Tensor (m, dim) on rng's device."""
    def sample(m: int, rng) -> Tensor:
        return Tensor(low + (high - low) * rng.random((m, dim), dtype=np.float32))
    return sample


def normal_noise(dim: int, std: float = 1.0):
    """A noise prior N(0, std^2 I): sample(m, rng) -> Tensor (m, dim) on rng's device."""
    def sample(m: int, rng) -> Tensor:
        return Tensor(std * rng.standard_normal((m, dim), dtype=np.float32))
    return sample


@contextlib.contextmanager
def frozen(module):
    """Parameters of `module` stop requiring grad inside the block: gradients still flow through
    it to its inputs, but nothing is computed (or accumulated) for its weights."""
    params = module.parameters()
    flags = [p.requires_grad for p in params]
    for p in params:
        p.requires_grad = False
    try:
        yield module
    finally:
        for p, flag in zip(params, flags):
            p.requires_grad = flag


class Trainer:
    """Trains generator G against discriminator D by Algorithm 1.

    data(m, rng) and noise(m, rng) return Tensors of m samples (e.g. a toy distribution's
    `sample` and `uniform_noise(dim)`). objective is a name from tinygan.gan.losses.OBJECTIVES
    ("nonsaturating", "saturating", ...) or a (d_loss, g_loss) pair of functions of logits.
    Room for later work: d_extra(trainer, real, fake, real_logits, fake_logits) and
    g_extra(trainer, fake, fake_logits) return extra loss terms (penalties, regularizers);
    a custom objective pair changes the losses themselves (e.g. one-sided label smoothing);
    lr_lambda(iteration) scales both learning rates (as torch's LambdaLR).

    history holds, every log_every iterations, the means over that window of d_loss, g_loss,
    d_real = mean D(x) and d_fake = mean D(G(z)) (on D's minibatches), and g_grad_norm (the
    norm of G's whole gradient).
    """

    def __init__(self, generator, discriminator, g_optimizer, d_optimizer, data, noise, *,
                 batch_size: int = 64, d_steps: int = 1, objective="nonsaturating",
                 seed: int | None = 0, device=None, lr_lambda=None, d_extra=None, g_extra=None,
                 log_every: int = 10):
        if d_steps < 1 or batch_size < 1 or log_every < 1:
            raise ValueError(f"d_steps, batch_size and log_every must be >= 1, got {d_steps}, "
                             f"{batch_size} and {log_every}")
        self.G, self.D = generator, discriminator
        self.g_opt, self.d_opt = g_optimizer, d_optimizer
        self.data, self.noise = data, noise
        self.m, self.k = batch_size, d_steps
        self.d_loss_fn, self.g_loss_fn = (losses.objective(objective)
                                          if isinstance(objective, str) else objective)
        device = backend.default_device() if device is None else device
        self.device, self.rng = device, backend.rng(seed, device)
        self.lr_lambda, self.d_extra, self.g_extra = lr_lambda, d_extra, g_extra
        self.base_lrs = (g_optimizer.lr, d_optimizer.lr)
        self.log_every = log_every
        self.iteration = 0
        self.history = {key: [] for key in ("iteration", "d_loss", "g_loss", "d_real", "d_fake",
                                            "g_grad_norm")}
        self._sums: dict = {}

    def d_step(self) -> Tensor:
        """One discriminator step on m data and m generated samples; G is not touched."""
        real = self.data(self.m, self.rng)
        with no_grad():  # G's samples are constants here: no graph, no gradient into G
            fake = self.G(self.noise(self.m, self.rng))
        real_logits, fake_logits = self.D(real), self.D(fake)
        loss = self.d_loss_fn(real_logits, fake_logits)
        if self.d_extra is not None:
            loss = loss + self.d_extra(self, real, fake, real_logits, fake_logits)
        self.d_opt.zero_grad()
        loss.backward()
        self.d_opt.step()
        self._add("d_loss", loss.data, self.k)
        self._add("d_real", _mean_probability(real_logits.data), self.k)
        self._add("d_fake", _mean_probability(fake_logits.data), self.k)
        return loss

    def g_step(self) -> Tensor:
        """One generator step on m noise samples; D's weights are frozen, so they get no grad."""
        with frozen(self.D):
            fake = self.G(self.noise(self.m, self.rng))
            fake_logits = self.D(fake)
            loss = self.g_loss_fn(fake_logits)
            if self.g_extra is not None:
                loss = loss + self.g_extra(self, fake, fake_logits)
            self.g_opt.zero_grad()
            loss.backward()
        self.g_opt.step()
        self._add("g_loss", loss.data, 1)
        self._add("g_grad_norm", _norm([p.grad.data for p in self.g_opt.params
                                        if p.grad is not None]), 1)
        return loss

    def step(self) -> None:
        """One iteration of Algorithm 1: k discriminator steps, then one generator step."""
        if self.lr_lambda is not None:
            scale = self.lr_lambda(self.iteration)
            self.g_opt.lr, self.d_opt.lr = (lr * scale for lr in self.base_lrs)
        for _ in range(self.k):
            self.d_step()
        self.g_step()
        self.iteration += 1
        if self.iteration % self.log_every == 0:
            self._flush()

    def fit(self, iterations: int, callback=None, every: int = 100) -> dict:
        """Run `iterations` iterations; callback(trainer) runs before the first, every `every`
        iterations, and after the last. Returns the history."""
        if callback is not None:
            callback(self)
        for i in range(1, iterations + 1):
            self.step()
            if callback is not None and (i % every == 0 or i == iterations):
                callback(self)
        return self.history

    # --- statistics: raw device arrays (bookkeeping, never differentiated), summed on the
    # device and read back to the host only every log_every iterations
    def _add(self, key: str, value, per_iteration: int) -> None:
        value = value.data if isinstance(value, Tensor) else value
        total = self._sums.get(key)
        self._sums[key] = value / per_iteration if total is None else total + value / per_iteration

    def partial_sums(self) -> dict:
        """The statistics summed since the last log point, as host arrays: with iteration, rng
        and history, what a checkpoint taken between log points needs to resume exactly."""
        return {k: backend.to_numpy(v).copy() for k, v in self._sums.items()}

    def load_partial_sums(self, sums: dict) -> None:
        """Restore what partial_sums() returned, on this trainer's device."""
        self._sums = {k: backend.to_device(np.asarray(v), self.device) for k, v in sums.items()}

    def _flush(self) -> None:
        count = self.log_every
        self.history["iteration"].append(self.iteration)
        for key in self.history:
            if key != "iteration":
                total = self._sums.get(key)
                value = math.nan if total is None else float(backend.to_numpy(total)) / count
                self.history[key].append(value)
        self._sums = {}


def _mean_probability(logits):
    """mean sigmoid(logits) on the raw array, as 0.5 (1 + tanh(a/2)) (no overflow)."""
    xp = backend.get_array_module(logits)
    return (0.5 * (1 + xp.tanh(0.5 * logits))).mean()


def _norm(arrays):
    """sqrt(sum of squares) over a list of raw arrays, left on their device."""
    xp = backend.get_array_module(*arrays)
    return xp.sqrt(sum((a * a).sum() for a in arrays))
