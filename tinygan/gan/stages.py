"""Training a GAN made of stages, one Trainer each, on shares of one budget: LAPGAN's levels
(each its own conditional GAN on real pyramids) and StackGAN's two stages.

    staged = StagedTrainer({"7x7": t0, "14x14": t1, "28x28": t2}, shares=(0.2, 0.3, 0.5))
    staged.fit(seconds=600, clock="cpu")   # 120 s for the first stage, then 180 s, then 300 s
    staged.step()                          # one step of the stage furthest behind its share

It offers what the protocol's callers read of a Trainer (fit, step, iteration, clock, history,
last losses, state_dict), so sweeps, the CLI and checkpoints treat it as one.
"""
from __future__ import annotations

import math

from .. import nn
from .trainer import Trainer


class StagedTrainer:
    """Trainers run in order, stage i getting shares[i] of every budget given to fit."""

    def __init__(self, stages: dict, shares, planned: int | None = None):
        if not stages or not all(isinstance(t, Trainer) for t in stages.values()):
            raise TypeError("StagedTrainer needs a dict {name: Trainer} with at least one "
                            "stage")
        shares = tuple(float(s) for s in shares)
        if len(shares) != len(stages) or any(not s > 0 for s in shares) or \
                not math.isclose(sum(shares), 1.0, abs_tol=1e-6):
            raise ValueError(f"StagedTrainer: {len(stages)} stages need as many positive shares "
                             f"summing to 1, got {shares}")
        self.stages, self.shares = dict(stages), shares
        self.names = list(stages)
        self.last = self.trainers[0]
        # planned: the run's total steps; step() then trains the stages in order (each its
        # share of them: StackGAN's and SRGAN's later stages build on the earlier ones)
        self.planned = None if planned is None else int(planned)

    @property
    def trainers(self) -> list:
        return list(self.stages.values())

    def fit(self, steps: int | None = None, seconds: float | None = None, clock: str = "wall",
            threads: int = 1, callback=None, every: int = 100) -> dict:
        """Each stage in turn: Trainer.fit on its share of `steps` and of `seconds` (a stage
        gets at least one step when steps are given). Returns the totals."""
        if steps is None and seconds is None:
            raise ValueError("fit needs a budget: steps=..., seconds=..., or both")
        done = {"steps": 0, "wall_seconds": 0.0, "cpu_seconds": 0.0}
        given = 0
        for i, (trainer, share) in enumerate(zip(self.trainers, self.shares)):
            mine = None
            if steps is not None:  # the last stage takes what rounding left
                mine = steps - given if i == len(self.shares) - 1 else \
                    max(1, round(steps * share))
                given += mine
            out = trainer.fit(mine, None if seconds is None else seconds * share, clock,
                              threads, callback, every)
            self.last = trainer
            for k in done:
                done[k] += out[k]
        return done

    def step(self) -> None:
        """One iteration: with `planned`, of the first stage short of its share of the planned
        steps (the stages in order); else of the stage furthest behind its share (a weighted
        round robin, for stages that do not depend on each other: LAPGAN's levels)."""
        if self.planned is None:
            lag = [t.iteration / s for t, s in zip(self.trainers, self.shares)]
            self.last = self.trainers[lag.index(min(lag))]
        else:
            goals = [max(1, round(self.planned * s)) for s in self.shares[:-1]]
            self.last = next((t for t, g in zip(self.trainers, goals) if t.iteration < g),
                             self.trainers[-1])
        self.last.step()

    @property
    def G(self):
        """The stages' generators in one container (for counting and checking parameters)."""
        return nn.Sequential(*[t.G for t in self.trainers])

    @property
    def D(self):
        """The stages' discriminators in one container."""
        return nn.Sequential(*[t.D for t in self.trainers])

    @property
    def iteration(self) -> int:
        return sum(t.iteration for t in self.trainers)

    @property
    def clock(self) -> dict:
        return {k: sum(t.clock[k] for t in self.trainers) for k in ("wall_seconds",
                                                                     "cpu_seconds")}

    @property
    def history(self) -> dict:
        """The stages' histories one after another, iterations counted across the stages."""
        out = {k: [] for k in Trainer.HISTORY_KEYS}
        offset = 0
        for t in self.trainers:
            for k in out:
                out[k] += [v + offset for v in t.history[k]] if k == "iteration" else \
                    list(t.history[k])
            offset += t.iteration
        return out

    @property
    def last_d_loss(self):
        return self.last.last_d_loss

    @property
    def last_g_loss(self):
        return self.last.last_g_loss

    def state_dict(self) -> dict:
        return {"stages": {name: t.state_dict() for name, t in self.stages.items()}}

    def load_state_dict(self, state: dict) -> None:
        saved = state.get("stages", {})
        if sorted(saved) != sorted(self.names):
            raise ValueError(f"the state holds stages {sorted(saved)}, this trainer has "
                             f"{sorted(self.names)}: it was saved from another recipe")
        for name, t in self.stages.items():
            t.load_state_dict(saved[name])
