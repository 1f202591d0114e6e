"""Trainer hooks that are not remedies for collapse: the generator EMA and a learning-rate
schedule. Each is a tinygan.gan.trainer.Hook with its own state_dict (the remedies that are
hooks live in tinygan.gan.remedies)."""
from __future__ import annotations

import copy

import numpy as np

from .. import backend
from ..tensor import Tensor, no_grad
from .trainer import Hook


class EMA(Hook):
    """An exponential moving average of a model's weights, updated after every iteration:
    avg = d_t avg + (1 - d_t) theta with d_t = min(decay, (1 + t) / (10 + t)), so the first,
    random weights are forgotten quickly; buffers are copied. `module` is the averaged copy
    (eval mode, frozen); sampling from it smooths out the oscillation of GAN training
    (Yazıcı et al. 2019; Karras et al. 2018 use it for every result).

    Batch-norm running statistics belong to the weights that produced them: `averaged(inputs)`
    re-estimates them for the averaged weights on fresh inputs before returning the copy."""

    def __init__(self, model, decay: float = 0.999):
        if not 0 < decay < 1:
            raise ValueError(f"EMA: decay must lie in (0, 1), got {decay}")
        self.model, self.decay, self.updates = model, decay, 0
        self.module = copy.deepcopy(model).eval().requires_grad_(False)
        self._calibrated_at = None

    def current_decay(self) -> float:
        return min(self.decay, (1 + self.updates) / (10 + self.updates))

    def update(self) -> None:
        d = self.current_decay()
        for avg, p in zip(self.module.parameters(), self.model.parameters()):
            avg.data *= d  # in place on the raw arrays: no graph, no allocation
            avg.data += (1 - d) * p.data
        for avg, b in zip(self.module.buffers(), self.model.buffers()):
            avg.data[...] = b.data
        self.updates += 1

    def after_step(self, trainer) -> None:
        self.update()

    def averaged(self, inputs=None, batches: int = 8, seed: int = 0):
        """The averaged model in eval mode. With `inputs(rng)` (the model's arguments for one
        batch, from a NumPy Generator) and batch norm in the model, its running statistics
        are first re-estimated as the cumulative average over `batches` such batches (once per
        change of the weights)."""
        norms = [m for m in self.module.modules() if hasattr(m, "reset_running_stats")]
        if inputs is None or not norms or self._calibrated_at == self.updates:
            return self.module.eval()
        saved = [m.momentum for m in norms]
        for m in norms:
            m.reset_running_stats()
            m.momentum = None
        rng = np.random.default_rng(seed)
        self.module.train()
        with no_grad():
            for _ in range(batches):
                self.module(*inputs(rng))
        for m, momentum in zip(norms, saved):
            m.momentum = momentum
        self._calibrated_at = self.updates
        return self.module.eval()

    def state_dict(self) -> dict:
        return {"updates": self.updates, "module": self.module.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.updates = int(state["updates"])
        self.module.load_state_dict(state["module"])
        self._calibrated_at = None


def noise_inputs(z_dim: int, batch_size: int, device: str, num_classes: int = 0):
    """inputs(rng) for EMA.averaged: z ~ N(0, I) (batch_size, z_dim) on `device` and, for a
    conditional generator (num_classes > 0), labels drawn uniformly after z."""
    def inputs(rng):
        z = Tensor(backend.to_device(rng.standard_normal((batch_size, z_dim))
                                     .astype(np.float32), device))
        return (z, rng.integers(0, num_classes, batch_size)) if num_classes else (z,)
    return inputs


class LinearDecay(Hook):
    """Both learning rates scaled by 1 - (1 - final) min(t / total, 1) before iteration t:
    from the optimizers' initial rates down to `final` times them at t = total (as torch's
    LambdaLR with that lambda)."""

    def __init__(self, total: int, final: float):
        if total < 1 or not 0 <= final <= 1:
            raise ValueError(f"LinearDecay: total must be >= 1 and final in [0, 1], got "
                             f"{total} and {final}")
        self.total, self.final = total, final

    def factor(self, iteration: int) -> float:
        return 1.0 - (1.0 - self.final) * min(iteration / self.total, 1.0)

    def before_step(self, trainer) -> None:
        scale = self.factor(trainer.iteration)
        trainer.g_opt.lr, trainer.d_opt.lr = (lr * scale for lr in trainer.base_lrs)
