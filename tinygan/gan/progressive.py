"""Progressive growing (Karras, Aila, Laine & Lehtinen 2018, arXiv 1710.10196) on digits
7 -> 14 -> 28: G and D start at 7x7 and grow together, each new block faded in while the
old path fades out, with the paper's three stabilizers (tinygan.nn.equalized: equalized
learning rate, pixel normalization in G, the minibatch standard deviation in D) and the
WGAN-GP loss with its drift term.

The schedule (section 3 and appendix A.1): equal phases, stable 7x7, then for each new level
a fade (alpha rising linearly from 0 to 1) followed by a stable phase at alpha = 1. During a
fade at size S:

    G: x = alpha * toRGB_S(block_S(h)) + (1 - alpha) * u(toRGB_{S/2}(h))
    D: f = alpha * block_S(fromRGB_S(x)) + (1 - alpha) * fromRGB_{S/2}(d(x))
    real digits: alpha * x_S + (1 - alpha) * u(d(x_S))   (what G can draw at this alpha)

Shapes stay fixed for the trainer: G upsamples its S x S image to 28x28 (nearest) and D
average-pools its 28x28 input to S x S, which undoes that exactly.
"""
from __future__ import annotations

import math
import time

from .. import conv, nn
from .. import functional as F
from ..tensor import Tensor
from .models import _check_batch
from .trainer import Hook, Trainer

SIZES = (7, 14, 28)


def phases(levels: int = len(SIZES)) -> list:
    """[(level, "stable" | "fade")] in training order: 2 * levels - 1 equal phases."""
    if not isinstance(levels, int) or levels < 1:
        raise ValueError(f"phases: levels must be an int >= 1, got {levels!r}")
    out = [(0, "stable")]
    for level in range(1, levels):
        out += [(level, "fade"), (level, "stable")]
    return out


def fade_schedule(progress: float, levels: int = len(SIZES)) -> tuple[int, float]:
    """(level, alpha) at `progress` in [0, 1] of the budget: the level being trained (0 is
    7x7) and the weight of its new block (rising 0 -> 1 over its fade, 1 when stable)."""
    if not (isinstance(progress, (int, float)) and 0 <= progress <= 1):
        raise ValueError(f"fade_schedule: progress must be a number in [0, 1], got "
                         f"{progress!r}")
    plan = phases(levels)
    where = progress * len(plan)
    i = min(int(where), len(plan) - 1)
    level, kind = plan[i]
    return level, (min(where - i, 1.0) if kind == "fade" else 1.0)


class Growth:
    """The current level and alpha, shared by G, D and the real-digit sampler."""

    def __init__(self, levels: int = len(SIZES)):
        self.levels, self.level, self.alpha = levels, 0, 1.0

    def set(self, level: int, alpha: float) -> None:
        if not (0 <= level < self.levels and 0 <= alpha <= 1):
            raise ValueError(f"Growth: level must lie in 0..{self.levels - 1} and alpha in "
                             f"[0, 1], got {level} and {alpha}")
        self.level, self.alpha = int(level), float(alpha)

    @property
    def size(self) -> int:
        return SIZES[self.level]


def _act():
    return nn.LeakyReLU(0.2)


class PGGenerator(nn.Module):
    """z (N, 100) -> (N, 1, 28, 28) at the growth's level and alpha. Every convolution is
    equalized and followed by LeakyReLU(0.2) and pixel norm; toRGB is a 1x1 convolution
    (gain 1), linear; in eval mode the output is clipped to [-1, 1] (the judge's range)."""

    def __init__(self, growth: Growth, z_dim: int = 100, width: int = 64):
        self.growth, self.z_dim = growth, z_dim
        c7, c14, c28 = width, width, max(width // 4, 1)
        self.head = nn.EqualizedLinear(z_dim, c7 * 49)                       # (N, c * 49)
        self.block7 = nn.Sequential(_act(), nn.PixelNorm(),                  # (N, c, 7, 7)
                                    nn.EqualizedConv2d(c7, c7, 3, padding=1), _act(),
                                    nn.PixelNorm())
        self.block14 = self._up_block(c7, c14)                               # (N, c, 14, 14)
        self.block28 = self._up_block(c14, c28)                              # (N, c/2, 28, 28)
        self.to_rgb = nn.Sequential(*[nn.EqualizedConv2d(c, 1, 1, gain=1.0)
                                      for c in (c7, c14, c28)])
        self.c7 = c7

    @staticmethod
    def _up_block(cin, cout):
        return nn.Sequential(nn.Upsample(2),
                             nn.EqualizedConv2d(cin, cout, 3, padding=1), _act(), nn.PixelNorm(),
                             nn.EqualizedConv2d(cout, cout, 3, padding=1), _act(),
                             nn.PixelNorm())

    def forward(self, z):
        _check_batch(type(self).__name__, z, (self.z_dim,), "z")
        level, alpha = self.growth.level, self.growth.alpha
        h = self.head(F.pixel_norm(z)).reshape(z.shape[0], self.c7, 7, 7)
        h = self.block7(h)
        blocks = (self.block14, self.block28)
        for block in blocks[:max(level - 1, 0)]:
            h = block(h)
        if level == 0:
            x = self.to_rgb[0](h)                                            # (N, 1, 7, 7)
        else:
            x = self.to_rgb[level](blocks[level - 1](h))                     # (N, 1, S, S)
            if alpha < 1:
                x = alpha * x + (1 - alpha) * conv.interpolate(self.to_rgb[level - 1](h), 2)
        x = conv.interpolate(x, 28 // x.shape[2]) if x.shape[2] < 28 else x  # (N, 1, 28, 28)
        return x if self.training else F.clip(x, -1.0, 1.0)


class PGDiscriminator(nn.Module):
    """(N, 1, 28, 28) -> critic value (N, 1) at the growth's level and alpha: fromRGB (1x1),
    blocks of two equalized 3x3 convolutions and a 2x2 average pool, then the 7x7 block with
    the minibatch standard deviation plane."""

    def __init__(self, growth: Growth, width: int = 64):
        self.growth = growth
        c7, c14, c28 = width, width, max(width // 4, 1)
        self.from_rgb = nn.Sequential(*[nn.Sequential(nn.EqualizedConv2d(1, c, 1), _act())
                                        for c in (c7, c14, c28)])
        self.block14 = self._down_block(c14, c7)                             # (N, c, 7, 7)
        self.block28 = self._down_block(c28, c14)                            # (N, c, 14, 14)
        self.final = nn.Sequential(
            nn.MinibatchStd(),                                               # (N, c + 1, 7, 7)
            nn.EqualizedConv2d(c7 + 1, c7, 3, padding=1), _act(), nn.Flatten(),
            nn.EqualizedLinear(c7 * 49, c7), _act(),
            nn.EqualizedLinear(c7, 1, gain=1.0))                             # (N, 1)

    @staticmethod
    def _down_block(cin, cout):
        return nn.Sequential(nn.EqualizedConv2d(cin, cin, 3, padding=1), _act(),
                             nn.EqualizedConv2d(cin, cout, 3, padding=1), _act(),
                             nn.AvgPool2d(2))

    def forward(self, x):
        _check_batch(type(self).__name__, x, (1, 28, 28), "images")
        level, alpha = self.growth.level, self.growth.alpha
        size = SIZES[level]
        x = conv.avg_pool2d(x, 28 // size) if size < 28 else x               # (N, 1, S, S)
        blocks = (None, self.block14, self.block28)
        h = self.from_rgb[level](x)
        if level > 0:
            h = blocks[level](h)                                             # (N, c, S/2, S/2)
            if alpha < 1:
                h = alpha * h + (1 - alpha) * self.from_rgb[level - 1](conv.avg_pool2d(x, 2))
            for block in reversed(blocks[1:level]):
                h = block(h)
        return self.final(h)                                                 # (N, 1)


def progressive_gan(width: int = 64, z_dim: int = 100):
    """(G, D, growth): the two networks sharing one Growth state (start: 7x7)."""
    growth = Growth()
    return PGGenerator(growth, z_dim, width), PGDiscriminator(growth, width), growth


def real_sampler(images, growth: Growth, device: str = "cpu"):
    """data(m, rng): m training digits (N, 1, 28, 28) as G can draw them at the growth's
    level and alpha: averaged down to S x S, blended with u(d(.)) during a fade, upsampled
    back to 28x28 (nearest)."""
    from ..data.digits import sampler
    draw = sampler(images, device)

    def sample(m: int, rng) -> Tensor:
        x = draw(m, rng)
        size, alpha = growth.size, growth.alpha
        if size == 28 and alpha == 1:
            return x
        xs = conv.avg_pool2d(x, 28 // size)                                  # (m, 1, S, S)
        if alpha < 1:
            xs = alpha * xs + (1 - alpha) * conv.interpolate(conv.avg_pool2d(xs, 2), 2)
        return Tensor(conv.interpolate(xs, 28 // size).data) if size < 28 else Tensor(xs.data)
    return sample


class GrowthSchedule(Hook):
    """Before every iteration: growth.set(*fade_schedule(trainer.progress()))."""

    def __init__(self, growth: Growth):
        self.growth = growth

    def before_step(self, trainer) -> None:
        self.growth.set(*fade_schedule(trainer.progress(), self.growth.levels))


class DriftPenalty(Hook):
    """eps_drift * mean(D(x)^2) on real digits in the critic's loss: keeps the critic's values
    near 0 (appendix A.1, eps_drift = 0.001)."""

    def __init__(self, weight: float = 1e-3):
        if not weight >= 0:
            raise ValueError(f"DriftPenalty: weight must be >= 0, got {weight!r}")
        self.weight = float(weight)

    def d_loss(self, trainer, real, fake, real_logits, fake_logits):
        return self.weight * (real_logits * real_logits).mean() if self.weight else None


class GrowingTrainer(Trainer):
    """A Trainer that knows how far through its planned budget it is, for the fade schedule.
    plan(steps=..., seconds=..., clock=...) fixes the budget the schedule spans (default: each
    fit call's own budget, counted from where that fit starts); progress() is in [0, 1]."""

    def __init__(self, *args, steps: int = 1000, **kwargs):
        super().__init__(*args, **kwargs)
        self._plan, self._explicit = None, False
        self.plan(steps=steps)
        self._explicit = False

    def plan(self, steps: int | None = None, seconds: float | None = None,
             clock: str = "cpu", threads: int = 1) -> None:
        if steps is None and seconds is None:
            raise ValueError("plan needs a budget: steps=..., seconds=..., or both")
        self._plan = {"steps": steps, "seconds": seconds, "clock": clock,
                      "threads": max(int(threads), 1), "iteration": self.iteration,
                      "spent": self._spent(clock, threads)}
        self._explicit = True
        self._fit_start = None

    def _spent(self, clock: str, threads: int) -> float:
        key = "wall_seconds" if clock == "wall" else "cpu_seconds"
        done = self.clock[key] / (1 if clock == "wall" else max(int(threads), 1))
        if getattr(self, "_fit_start", None) is not None:  # the fit in progress
            wall, cpu = self._fit_start
            done += time.perf_counter() - wall if clock == "wall" else \
                (time.process_time() - cpu) / max(int(threads), 1)
        return done

    def progress(self) -> float:
        p, fractions = self._plan, []
        if p["steps"] is not None:
            fractions.append((self.iteration - p["iteration"]) / p["steps"])
        if p["seconds"] is not None:
            fractions.append((self._spent(p["clock"], p["threads"]) - p["spent"]) / p["seconds"])
        return min(max(max(fractions), 0.0), 1.0)

    def fit(self, steps=None, seconds=None, clock="wall", threads=1, callback=None,
            every=100):
        if not self._explicit and (steps is not None or seconds is not None):
            self.plan(steps, seconds, clock, threads)
            self._explicit = False
        self._fit_start = (time.perf_counter(), time.process_time())
        try:
            return super().fit(steps, seconds, clock, threads, callback, every)
        finally:
            self._fit_start = None
