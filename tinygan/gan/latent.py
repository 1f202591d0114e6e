"""Working in a trained generator's latent space (lesson 12): optimizing an input through frozen
networks, linear attribute boundaries in z (InterFaceGAN: Shen, Gu, Tang & Zhou 2020, arXiv
1907.10786) and the edits along them.

- optimize_input: the pattern both the boundary edits and Age-cGAN's identity-preserving
  reconstruction need. The input is a leaf Tensor with requires_grad=True; the networks are
  frozen (their parameters stop requiring grad, so the gradient flows *through* them to the
  input and nothing is accumulated in them) and put in eval mode; an optimizer steps the input
  alone. No no_grad: the graph through the networks is exactly what is wanted.
- fit_direction: a logistic-regression boundary w . z + b = 0 between the samples with the
  highest and the lowest values of an attribute, its unit normal n the edit direction.
- conditional_direction: n1 with its components along other normals removed, so that moving
  along it leaves their attributes unchanged to first order (InterFaceGAN's conditional edit).
"""
from __future__ import annotations

import contextlib

import numpy as np

from .. import backend
from ..optim import Adam
from ..tensor import Tensor
from .trainer import frozen


def optimize_input(loss_fn, x0, modules=(), steps: int = 200, lr: float = 0.05):
    """x minimizing loss_fn(x) (a scalar Tensor) from x0 (an array, float32, or a Tensor, its
    dtype and device kept) by Adam, every module in `modules` frozen and in eval mode meanwhile
    (restored after). Returns (x as a host array, the loss at every step)."""
    if steps < 1 or not lr > 0:
        raise ValueError(f"optimize_input: steps must be >= 1 and lr > 0, got {steps}, {lr}")
    data = x0.data if isinstance(x0, Tensor) else np.asarray(x0, dtype=np.float32)
    if data.dtype.kind != "f":
        raise ValueError(f"optimize_input: x0 must hold floats, got dtype {data.dtype}")
    x = Tensor(data.copy(), requires_grad=True)  # a fresh leaf on x0's device, x0's dtype
    opt = Adam([x], lr)
    losses = []
    modes = [m.training for m in modules]
    with contextlib.ExitStack() as stack:
        for m in modules:
            stack.enter_context(frozen(m))
            m.eval()
        try:
            for _ in range(steps):
                loss = loss_fn(x)
                if loss.ndim != 0:
                    raise ValueError(f"optimize_input: loss_fn must return a scalar, got shape "
                                     f"{loss.shape}")
                opt.zero_grad()
                loss.backward()
                opt.step()
                losses.append(float(loss.item()))
        finally:
            for m, mode in zip(modules, modes):
                m.train(mode)
    return backend.to_numpy(x.data), np.asarray(losses)


class Direction:
    """A linear boundary in z: unit normal (D,), offset b (w . z + b = 0 in units of |w|), and
    its accuracy on the held-out extremes."""

    def __init__(self, normal, offset: float, train_accuracy: float, test_accuracy: float):
        self.normal, self.offset = np.asarray(normal, dtype=np.float64), float(offset)
        self.train_accuracy, self.test_accuracy = float(train_accuracy), float(test_accuracy)

    def side(self, z) -> np.ndarray:
        """Signed distance of each z (N, D) from the boundary."""
        return np.asarray(z, dtype=np.float64) @ self.normal + self.offset

    def __repr__(self):
        return (f"Direction(dim={self.normal.size}, train accuracy {self.train_accuracy:.1%}, "
                f"held-out {self.test_accuracy:.1%})")


def fit_direction(z, values, fraction: float = 0.2, test_fraction: float = 0.25,
                  steps: int = 300, lr: float = 0.05, l2: float = 1e-3, seed: int = 0
                  ) -> Direction:
    """The boundary between the `fraction` of samples with the highest attribute values and the
    `fraction` with the lowest (InterFaceGAN labels the extremes, as here), by L2-regularized
    logistic regression on the engine (full batch, Adam); test_fraction of the extremes is held
    out to measure the boundary's accuracy."""
    z, values = np.asarray(z, dtype=np.float64), np.asarray(values, dtype=np.float64)
    if z.ndim != 2 or values.shape != (len(z),):
        raise ValueError(f"fit_direction: need z (N, D) and one value per row, got {z.shape} "
                         f"and {values.shape}")
    if not 0 < fraction <= 0.5:
        raise ValueError(f"fit_direction: fraction must lie in (0, 0.5], got {fraction}")
    k = int(len(z) * fraction)
    if k < 4:
        raise ValueError(f"fit_direction: {len(z)} samples leave {k} per side; need >= 4")
    order = np.argsort(values)
    pick = np.concatenate([order[:k], order[-k:]])
    y = np.concatenate([np.zeros(k), np.ones(k)])
    rng = np.random.default_rng(seed)
    perm = rng.permutation(2 * k)
    n_test = int(2 * k * test_fraction)
    test, train = perm[:n_test], perm[n_test:]
    mu, sd = z[pick[train]].mean(0), z[pick[train]].std(0) + 1e-12

    def loss_of(params, rows):
        w, b = params[:-1], params[-1]
        logits = Tensor((z[pick[rows]] - mu) / sd) @ w + b
        target = Tensor(y[rows])
        return (logits.softplus() - logits * target).mean() + l2 * (w * w).sum()

    params, _ = optimize_input(lambda p: loss_of(p, train),
                               Tensor(np.zeros(z.shape[1] + 1)), steps=steps, lr=lr)
    w, b = params[:-1] / sd, params[-1] - (params[:-1] * mu / sd).sum()
    norm = np.linalg.norm(w)
    if norm == 0:
        raise ValueError("fit_direction: the attribute's extremes are not separable at all")
    accuracy = [float(np.mean(((z[pick[rows]] @ w + b) > 0) == (y[rows] == 1)))
                for rows in (train, test)]
    return Direction(w / norm, b / norm, *accuracy)


def conditional_direction(n1, *others) -> np.ndarray:
    """n1 with its components along the other normals removed (their span projected out, by
    QR), renormalized: moving along it changes the attribute of n1 and, to first order, none
    of the others (InterFaceGAN's conditional edit, several conditions at once)."""
    n1 = np.asarray(n1, dtype=np.float64)
    if not others:
        raise ValueError("conditional_direction: give at least one normal to project out")
    basis = np.stack([np.asarray(n, dtype=np.float64) for n in others], axis=1)   # (D, k)
    q, _ = np.linalg.qr(basis)
    out = n1 - q @ (q.T @ n1)
    norm = np.linalg.norm(out)
    if norm < 1e-8 * np.linalg.norm(n1):
        raise ValueError("conditional_direction: n1 lies in the span of the others; nothing is "
                         "left of it once they are projected out")
    return out / norm


def edit(z, direction, amounts) -> np.ndarray:
    """z + a n for each amount a: (len(amounts), N, D), float32."""
    z = np.asarray(z, dtype=np.float64)
    n = np.asarray(direction.normal if isinstance(direction, Direction) else direction)
    return np.stack([z + a * n for a in np.asarray(amounts, dtype=np.float64)]).astype(np.float32)
