"""The classic fully connected GAN on 28x28 images: one full training step in tinygan, the same
step in PyTorch, and the floor (the step's matrix products alone, in NumPy).

G: 100 -> 500 -> 500 -> 784 (ReLU, ReLU, Tanh), reshaped to (N, 1, 28, 28).
D: 784 -> 500 -> 500 -> 1 (LeakyReLU(0.2)), giving one logit per image.
One step (float32, Adam(lr=2e-4, betas=(0.5, 0.999)) for both nets, as in DCGAN):
  1. fake = G(z); D step on the minimax loss of D(real) and D(fake.detach()).
  2. G step on the non-saturating loss -log D(G(z)) of D(fake) (Goodfellow et al. 2014).
Both frameworks run exactly this, written as a user would; D's parameters are left trainable
during the G step, so both also compute D's (unused) weight gradients there, and so does the
floor.
"""
from __future__ import annotations

import numpy as np

import tinygan as tg
import tinygan.nn as nn
from tinygan.gan.losses import d_minimax, g_nonsaturating
from tinygan.optim import Adam

NZ, HIDDEN, NX = 100, 500, 784


def layers(hidden: int = HIDDEN) -> tuple:
    """(in, out) of each Linear of G and of D, for a hidden width (benchmarks/scaling.py
    varies it; the benchmark's networks have 500)."""
    return ([(NZ, hidden), (hidden, hidden), (hidden, NX)],
            [(NX, hidden), (hidden, hidden), (hidden, 1)])

LR, BETAS = 2e-4, (0.5, 0.999)


def _real_batch(batch: int) -> np.ndarray:
    """A fixed stand-in for a batch of MNIST digits scaled to [-1, 1] (data loading is not
    what is timed)."""
    return np.random.default_rng(1).uniform(-1, 1, (batch, 1, 28, 28)).astype(np.float32)


# ---------------------------------------------------------------- tinygan


def tinygan_models(hidden: int = HIDDEN):
    G = nn.Sequential(
        nn.Linear(NZ, hidden), nn.ReLU(),          # (N, 500)
        nn.Linear(hidden, hidden), nn.ReLU(),      # (N, 500)
        nn.Linear(hidden, NX), nn.Tanh(),          # (N, 784)
        nn.Unflatten(1, (1, 28, 28)))              # (N, 1, 28, 28)
    D = nn.Sequential(
        nn.Flatten(),                              # (N, 784)
        nn.Linear(NX, hidden), nn.LeakyReLU(0.2),  # (N, 500)
        nn.Linear(hidden, hidden), nn.LeakyReLU(0.2),
        nn.Linear(hidden, 1))                      # (N, 1) logits
    return G, D


def tinygan_gan_step(G, D, opt_g, opt_d, real, z):
    """One D step on real + G(z), then one non-saturating G step; returns both losses."""
    fake = G(z)                                           # (N, 1, 28, 28)
    opt_d.zero_grad()
    d_loss = d_minimax(D(real), D(fake.detach()))
    d_loss.backward()
    opt_d.step()
    opt_g.zero_grad()
    g_loss = g_nonsaturating(D(fake))
    g_loss.backward()
    opt_g.step()
    return d_loss, g_loss


def make_tinygan_step(batch: int, hidden: int = HIDDEN):
    tg.manual_seed(0)
    G, D = tinygan_models(hidden)
    opt_g = Adam(G.parameters(), lr=LR, betas=BETAS)
    opt_d = Adam(D.parameters(), lr=LR, betas=BETAS)
    real = tg.tensor(_real_batch(batch))
    return lambda: tinygan_gan_step(G, D, opt_g, opt_d, real, tg.randn(batch, NZ))


# ---------------------------------------------------------------- PyTorch


def torch_models(hidden: int = HIDDEN):
    from torch import nn as tnn
    G = tnn.Sequential(
        tnn.Linear(NZ, hidden), tnn.ReLU(),
        tnn.Linear(hidden, hidden), tnn.ReLU(),
        tnn.Linear(hidden, NX), tnn.Tanh(),
        tnn.Unflatten(1, (1, 28, 28)))
    D = tnn.Sequential(
        tnn.Flatten(),
        tnn.Linear(NX, hidden), tnn.LeakyReLU(0.2),
        tnn.Linear(hidden, hidden), tnn.LeakyReLU(0.2),
        tnn.Linear(hidden, 1))
    return G, D


def torch_gan_step(G, D, opt_g, opt_d, real, z):
    """The same step in PyTorch, as a PyTorch user writes it."""
    import torch.nn.functional as F
    fake = G(z)
    opt_d.zero_grad()
    # = BCEWithLogits(D(real), 1) + BCEWithLogits(D(fake), 0), written as tinygan's d_minimax
    d_loss = F.softplus(-D(real)).mean() + F.softplus(D(fake.detach())).mean()
    d_loss.backward()
    opt_d.step()
    opt_g.zero_grad()
    g_loss = F.softplus(-D(fake)).mean()  # -log D(G(z))
    g_loss.backward()
    opt_g.step()
    return d_loss, g_loss


def make_torch_step(batch: int, hidden: int = HIDDEN):
    import torch
    torch.manual_seed(0)
    G, D = torch_models(hidden)
    opt_g = torch.optim.Adam(G.parameters(), lr=LR, betas=BETAS)
    opt_d = torch.optim.Adam(D.parameters(), lr=LR, betas=BETAS)
    real = torch.from_numpy(_real_batch(batch))
    return lambda: torch_gan_step(G, D, opt_g, opt_d, real, torch.randn(batch, NZ))


# ---------------------------------------------------------------- the floor


def floor_products(batch: int, hidden: int = HIDDEN):
    """(A, B) for every matrix product of one step, in the order the step does them; a Linear
    y = x W^T has forward W @ x^T (the same product as x @ W^T, and the faster form in
    OpenBLAS, which tinygan's Linear uses) and backward gW = gy^T @ x and (where needed)
    gx = gy @ W."""
    rng = np.random.default_rng(2)

    def arr(*shape):
        return rng.standard_normal(shape).astype(np.float32)

    def forward(layers):
        return [(arr(o, i), arr(batch, i).T) for i, o in layers]

    def backward(layers, input_grad):
        pairs = []
        for k, (i, o) in reversed(list(enumerate(layers))):
            pairs.append((arr(batch, o).T, arr(batch, i)))      # weight gradient (o, i)
            if k > 0 or input_grad:
                pairs.append((arr(batch, o), arr(o, i)))        # input gradient (N, i)
        return pairs

    G_LAYERS, D_LAYERS = layers(hidden)
    return (forward(G_LAYERS)                                    # fake = G(z)
            + forward(D_LAYERS) + forward(D_LAYERS)              # D(real), D(fake.detach())
            + backward(D_LAYERS, False) + backward(D_LAYERS, False)
            + forward(D_LAYERS)                                  # D(fake) for the G step
            + backward(D_LAYERS, True) + backward(G_LAYERS, False))


def make_floor_step(batch: int, hidden: int = HIDDEN):
    pairs = floor_products(batch, hidden)

    def step():
        for a, b in pairs:
            a @ b

    return step


CASES = [{"name": "MLP GAN step", "batch": 64, "tinygan": make_tinygan_step,
          "torch": make_torch_step, "floor": make_floor_step}]
