"""A critic's estimate of the Wasserstein-1 distance, where the exact value is known: two 1D
Gaussians of equal spread slid apart, W1(N(0, s²), N(d, s²)) = |d|. The critic is trained alone
(no generator) to maximize E[D(x)] - E[D(y)] under one of the Lipschitz constraints, and its gap
on fresh samples is the estimate (Arjovsky et al. 2017, arXiv 1701.07875, section 3: the
Kantorovich-Rubinstein dual). Lesson 10 draws it next to JS, which saturates at log 2.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import backend, creation, init, nn
from ..gan import penalties
from ..gan.losses import d_wasserstein
from ..gan.models import mlp
from ..nn import utils as nn_utils
from ..optim import Adam, RMSprop
from ..tensor import Tensor

CONSTRAINTS = ("clip", "gp", "sn")


@dataclass
class W1Estimate:
    separation: float        # d: the exact W1
    gap: float               # E[D(x)] - E[D(y)] on fresh samples, after training
    history: list            # the gap on each training batch


def make_critic(constraint: str, hidden: int = 64, seed: int = 0, in_dim: int = 1,
                depth: int = 2):
    """An in_dim -> hidden (x depth) -> 1 LeakyReLU MLP, spectrally normalized for "sn"."""
    _check_constraint(constraint, "make_critic")
    creation.manual_seed(seed)
    D = mlp([in_dim] + [hidden] * depth + [1], act=lambda: nn.LeakyReLU(0.2))
    init.default_init_(D, backend.rng([seed, 1]))
    if constraint == "sn":
        nn_utils.spectral_norm_layers(D, lambda: backend.rng([seed, 2]))
    return D


def _check_constraint(constraint: str, where: str) -> None:
    if constraint not in CONSTRAINTS:
        raise ValueError(f"{where}: constraint must be one of {CONSTRAINTS}, got "
                         f"{constraint!r}")


def train_critic(D, real, fake, constraint: str = "gp", steps: int = 1000, batch: int = 256,
                 seed: int = 0, clip: float = 0.01, gp_weight: float = 10.0,
                 one_sided: bool = False, lr: float | None = None) -> list:
    """Train D alone to maximize E[D(real)] - E[D(fake)], real(m, rng) and fake(m, rng)
    drawing (m, ...) float32 arrays. "gp": Adam(1e-4, betas (0, 0.9)) with lambda =
    gp_weight, Gulrajani et al.'s Algorithm 1 (one_sided: the penalty on slopes above 1
    only); "clip": RMSprop(5e-5) and every weight clipped to +-clip after each step, Arjovsky
    et al.'s Algorithm 1; "sn" (D from make_critic("sn")): Adam(1e-4, betas (0, 0.9)). lr
    replaces the learning rate. Returns the gap on each training batch."""
    _check_constraint(constraint, "train_critic")
    opt = RMSprop(D.parameters(), lr=lr or 5e-5) if constraint == "clip" else \
        Adam(D.parameters(), lr=lr or 1e-4, betas=(0.0, 0.9))
    rng = np.random.default_rng([seed, 3])
    history = []
    for _ in range(steps):
        x, y = Tensor(real(batch, rng)), Tensor(fake(batch, rng))
        out_real, out_fake = D(x), D(y)
        loss = d_wasserstein(out_real, out_fake)
        if constraint == "gp":
            loss = loss + penalties.gradient_penalty(D, x, y, gp_weight, rng=rng,
                                                     one_sided=one_sided)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if constraint == "clip":
            nn_utils.clip_weights_(D.parameters(), clip)
        history.append(out_real.data.mean() - out_fake.data.mean())  # on the device: no sync
    if not history:
        return []
    return [float(g) for g in backend.to_numpy(backend.get_array_module(history[0])
                                                .stack(history))]


def estimate_w1(separation: float, constraint: str = "gp", steps: int = 1000, batch: int = 256,
                std: float = 0.5, seed: int = 0, clip: float = 0.01, gp_weight: float = 10.0,
                one_sided: bool = False, lr: float | None = None) -> W1Estimate:
    """Train a critic (make_critic, train_critic) between N(separation, std²) and N(0, std²)
    and return its gap on 4,096 fresh samples of each.

    What to expect in 1D, where the best critic is a line of slope s: the loss -s·d + λ(|s| -
    1)² is least at s = 1 + d/(2λ), so the two-sided penalty's gap overestimates W1 = d by
    d/(2λ) (5 % at d = 1, λ = 10); and it has a second, worse minimum at s = -1 + d/(2λ),
    behind a barrier of λ at s = 0, where a critic whose first slope was negative stays (gap
    near -d). The one-sided penalty has no barrier."""
    _check_constraint(constraint, "estimate_w1")
    D = make_critic(constraint, seed=seed)

    def gaussian(shift):
        return lambda m, rng: (shift + std * rng.standard_normal((m, 1))).astype(np.float32)

    history = train_critic(D, gaussian(separation), gaussian(0.0), constraint, steps, batch,
                           seed, clip, gp_weight, one_sided, lr)
    rng = np.random.default_rng([seed, 4])
    fresh = [Tensor(gaussian(s)(4096, rng)) for s in (separation, 0.0)]
    return W1Estimate(separation, penalties.critic_gap(D, *fresh), history)
