"""Algorithm 1 of Goodfellow et al. 2014 (minibatch stochastic gradient training of GANs):

    for each iteration:
        repeat k times:                                  # the discriminator's steps
            draw m noise samples z and m data samples x
            step D to lower  -mean log D(x) - mean log(1 - D(G(z)))
        draw m noise samples z
        step G to lower the generator loss on D(G(z))     # one generator step

D returns logits (D(x) = sigmoid(logit)), (N, 1), or (N, 1 + K) with the real-vs-fake logit
first and K more outputs that only hooks read (AC-GAN's class logits); the losses come from
tinygan.gan.losses. Every random
number comes from the trainer's own generator (`seed`), so two runs with one seed are identical.
Statistics are summed on the device and read back every `log_every` iterations, so a GPU run
does not wait for the host at every step.

What changes the recipe without changing the loop is a Hook (an EMA of G, a learning-rate
schedule, a penalty or regularizer added to a loss, instance noise): a small object with its
own state_dict, so that `Trainer.state_dict()` holds the whole state of a run and a resumed run
continues bit-identically.
"""
from __future__ import annotations

import contextlib
import math
import time

import numpy as np

from .. import backend, creation
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


def source_logits(logits: Tensor) -> Tensor:
    """The real-vs-fake logit (N, 1) of D's output: all of it, or its first column when D
    returns more (AC-GAN's D: (N, 1 + K), the K class logits after it, for hooks to read)."""
    return logits[:, :1] if logits.ndim == 2 and logits.shape[1] > 1 else logits


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


class Hook:
    """A change to the recipe that the trainer calls at fixed points of every iteration. Each
    method does nothing by default; a hook overrides what it needs:

    before_step(trainer) / after_step(trainer): before the k D steps / after the G step.
    after_d_step(trainer): after each D step's optimizer step (WGAN's weight clipping).
    d_loss(trainer, real, fake, real_logits, fake_logits) and g_loss(trainer, fake,
    fake_logits): a term added to that player's loss (None for none).
    state_dict() / load_state_dict(state): what a checkpoint must hold to resume exactly
    (numbers, strings, arrays, nested dicts of those)."""

    def before_step(self, trainer) -> None: pass
    def after_step(self, trainer) -> None: pass
    def after_d_step(self, trainer) -> None: pass
    def d_loss(self, trainer, real, fake, real_logits, fake_logits): return None
    def g_loss(self, trainer, fake, fake_logits): return None
    def state_dict(self) -> dict: return {}
    def load_state_dict(self, state: dict) -> None: pass


class Trainer:
    """Trains generator G against discriminator D by Algorithm 1.

    data(m, rng) and noise(m, rng) return Tensors of m samples (e.g. a toy distribution's
    `sample` and `uniform_noise(dim)`). objective is a name from tinygan.gan.losses.OBJECTIVES
    ("nonsaturating", "saturating", ...) or a (d_loss, g_loss) pair of functions of logits.
    hooks: Hook objects, called in order (see Hook).

    history holds, every log_every iterations, the means over that window of d_loss, g_loss,
    d_real = mean D(x) and d_fake = mean D(G(z)) (on D's minibatches, as probabilities:
    sigmoid of the logits), d_gap = mean D(x) - mean D(G(z)) on D's raw outputs (for a
    critic, its estimate of W1), and g_grad_norm (the norm of G's whole gradient).
    last_d_loss / last_g_loss are the latest steps' losses.
    """

    HISTORY_KEYS = ("iteration", "d_loss", "g_loss", "d_real", "d_fake", "d_gap", "g_grad_norm")

    def __init__(self, generator, discriminator, g_optimizer, d_optimizer, data, noise, *,
                 batch_size: int = 64, d_steps: int = 1, objective="nonsaturating",
                 seed: int | None = 0, device=None, hooks=(), log_every: int = 10):
        if d_steps < 1 or batch_size < 1 or log_every < 1:
            raise ValueError(f"d_steps, batch_size and log_every must be >= 1, got {d_steps}, "
                             f"{batch_size} and {log_every}")
        self.G, self.D = generator, discriminator
        self.g_opt, self.d_opt = g_optimizer, d_optimizer
        self.data, self.noise = data, noise
        self.m, self.k = batch_size, d_steps
        self.d_loss_fn, self.g_loss_fn = (losses.objective(objective)
                                          if isinstance(objective, str) else objective)
        self.device = backend.resolve_device(device)
        self.rng = backend.rng(seed, self.device)
        # the shared generator as the models were built from it: Dropout (and anything else
        # drawing from tg's shared stream) continues it inside this trainer's steps
        self.shared_rng = creation.generator(self.device)
        self.hooks = list(hooks)
        for i, hook in enumerate(self.hooks):
            if not isinstance(hook, Hook):
                raise TypeError(f"Trainer: hooks[{i}] is a {type(hook).__name__}, not a "
                                "tinygan.gan.trainer.Hook")
        self.base_lrs = (g_optimizer.lr, d_optimizer.lr)
        self.log_every = log_every
        self.iteration = 0
        self.history = {key: [] for key in self.HISTORY_KEYS}
        self.clock = {"wall_seconds": 0.0, "cpu_seconds": 0.0}
        self.last_d_loss = self.last_g_loss = None
        self._sums: dict = {}

    # --- Algorithm 1
    def d_step(self) -> Tensor:
        """One discriminator step on m data and m generated samples; G is not touched."""
        with creation.using_generator(self.shared_rng, self.device):
            return self._d_step()

    def d_batch(self):
        """(real, fake) for one D step: m data and m generated samples, the fakes constants.
        Subclasses change where the pair comes from (SRGAN's paired images)."""
        real = self.data(self.m, self.rng)
        with no_grad():  # G's samples are constants here: no graph, no gradient into G
            fake = self.G(self.noise(self.m, self.rng))
        return real, fake

    def _d_step(self) -> Tensor:
        real, fake = self.d_batch()
        real_logits, fake_logits = self.D(real), self.D(fake)
        real_source, fake_source = source_logits(real_logits), source_logits(fake_logits)
        loss = self.d_loss_fn(real_source, fake_source)
        for hook in self.hooks:
            term = hook.d_loss(self, real, fake, real_logits, fake_logits)
            loss = loss if term is None else loss + term
        self.d_update(loss, real_source, fake_source)
        self._add("d_loss", loss.data, self.k)
        self._add("d_real", _mean_probability(real_source.data), self.k)
        self._add("d_fake", _mean_probability(fake_source.data), self.k)
        self._add("d_gap", real_source.data.mean() - fake_source.data.mean(), self.k)
        self.last_d_loss = loss
        return loss

    def d_update(self, loss: Tensor, real_source: Tensor, fake_source: Tensor) -> None:
        """D's optimizer step on its loss, then the hooks' after_d_step. Subclasses decide
        here whether D steps at all, from its real-vs-fake logits on this batch (3D-GAN's
        adaptive rule, tinygan.gan.gan3d)."""
        self.d_opt.zero_grad()
        loss.backward()
        self.d_opt.step()
        for hook in self.hooks:
            hook.after_d_step(self)

    def generator_loss(self):
        """(loss, fake, fake_logits) for one generator step: g_loss(D(G(z))) on m fresh z.
        Subclasses change how G's loss is formed here (tinygan.gan.remedies.UnrolledTrainer)."""
        fake = self.G(self.noise(self.m, self.rng))
        fake_logits = self.D(fake)
        return self.g_loss_fn(source_logits(fake_logits)), fake, fake_logits

    def g_step(self) -> Tensor:
        """One generator step; D's weights are frozen, so they get no grad."""
        with creation.using_generator(self.shared_rng, self.device):
            return self._g_step()

    def _g_step(self) -> Tensor:
        with frozen(self.D):
            loss, fake, fake_logits = self.generator_loss()
            for hook in self.hooks:
                term = hook.g_loss(self, fake, fake_logits)
                loss = loss if term is None else loss + term
            self.g_opt.zero_grad()
            loss.backward()
        self.g_opt.step()
        self._add("g_loss", loss.data, 1)
        self._add("g_grad_norm", _norm([p.grad.data for p in self.g_opt.params
                                        if p.grad is not None]), 1)
        self.last_g_loss = loss
        return loss

    def step(self) -> None:
        """One iteration of Algorithm 1: k discriminator steps, then one generator step."""
        for hook in self.hooks:
            hook.before_step(self)
        for _ in range(self.k):
            self.d_step()
        self.g_step()
        self.iteration += 1
        if self.iteration % self.log_every == 0:
            self._flush()
        for hook in self.hooks:
            hook.after_step(self)

    def fit(self, steps: int | None = None, seconds: float | None = None, clock: str = "wall",
            threads: int = 1, callback=None, every: int = 100) -> dict:
        """Run iterations until `steps` more are done or `seconds` have passed on the chosen
        clock: "wall" (elapsed) or "cpu" (this process's CPU time divided by `threads`: the time
        the run would take on that many cores of its own, for a shared machine). callback(self)
        runs before the first iteration, every `every` iterations and after the last, off the
        clock. G and D are put in training mode (and back into it after each callback).
        Returns the iterations done and the wall and CPU seconds they took (also added to
        self.clock)."""
        if steps is None and seconds is None:
            raise ValueError("fit needs a budget: steps=..., seconds=..., or both")
        if clock not in ("wall", "cpu"):
            raise ValueError(f"clock must be 'wall' or 'cpu', got {clock!r}")
        start, wall, cpu = self.iteration, 0.0, 0.0

        def call_back():
            if callback is not None:
                callback(self)
            self.G.train()
            self.D.train()

        call_back()
        while (steps is None or self.iteration - start < steps) and \
                (seconds is None or (wall if clock == "wall" else cpu / threads) < seconds):
            w0, c0 = time.perf_counter(), time.process_time()
            self.step()
            if self.device != "cpu" and self.iteration % 25 == 0:
                backend.synchronize(self.device)  # let the clock see the queued GPU work
            wall += time.perf_counter() - w0
            cpu += time.process_time() - c0
            if (self.iteration - start) % every == 0:
                call_back()
        if callback is not None and (self.iteration - start) % every:
            call_back()
        self.clock["wall_seconds"] += wall
        self.clock["cpu_seconds"] += cpu
        return {"steps": self.iteration - start, "wall_seconds": wall, "cpu_seconds": cpu}

    # --- the whole state, for checkpoints
    def state_dict(self) -> dict:
        """Everything a resumed run needs to continue exactly: both networks, both optimizers,
        the trainer's random stream and its shared one (Dropout draws from it), the counters,
        the history, the statistics summed since the last log point, every hook."""
        return {"G": self.G.state_dict(), "D": self.D.state_dict(),
                "g_opt": self.g_opt.state_dict(), "d_opt": self.d_opt.state_dict(),
                "iteration": self.iteration, "rng": _rng_state(self.rng),
                "shared_rng": _rng_state(self.shared_rng),
                "clock": dict(self.clock),
                "history": {k: np.asarray(v, dtype=np.int64 if k == "iteration" else np.float64)
                            for k, v in self.history.items()},
                "sums": {k: backend.to_numpy(v).copy() for k, v in self._sums.items()},
                "hooks": [hook.state_dict() for hook in self.hooks]}

    def load_state_dict(self, state: dict) -> None:
        """Restore what state_dict() returned (on this trainer's device)."""
        if len(state["hooks"]) != len(self.hooks):
            raise ValueError(f"the state holds {len(state['hooks'])} hooks, this trainer has "
                             f"{len(self.hooks)}: it was saved from another recipe")
        self.G.load_state_dict(state["G"])
        self.D.load_state_dict(state["D"])
        self.g_opt.load_state_dict(state["g_opt"])
        self.d_opt.load_state_dict(state["d_opt"])
        self.iteration = int(state["iteration"])
        self.rng.bit_generator.state = state["rng"]
        self.shared_rng.bit_generator.state = state["shared_rng"]
        self.clock = {k: float(v) for k, v in state["clock"].items()}
        saved = state["history"]
        # a checkpoint from before d_gap was recorded: that column is unknown (NaN) so far
        self.history = {k: [int(v) if k == "iteration" else float(v) for v in
                            saved.get(k, [math.nan] * len(saved["iteration"]))]
                        for k in self.HISTORY_KEYS}
        self._sums = {k: backend.to_device(np.asarray(v), self.device)
                      for k, v in state["sums"].items()}
        for hook, hook_state in zip(self.hooks, state["hooks"]):
            hook.load_state_dict(hook_state)

    # --- statistics: raw device arrays (bookkeeping, never differentiated), summed on the
    # device and read back to the host only every log_every iterations
    def _add(self, key: str, value, per_iteration: int) -> None:
        total = self._sums.get(key)
        self._sums[key] = value / per_iteration if total is None else total + value / per_iteration

    def _flush(self) -> None:
        count = self.log_every
        self.history["iteration"].append(self.iteration)
        for key in self.history:
            if key != "iteration":
                total = self._sums.get(key)
                value = math.nan if total is None else float(backend.to_numpy(total)) / count
                self.history[key].append(value)
        self._sums = {}


def _rng_state(rng) -> dict:
    try:
        return rng.bit_generator.state
    except AttributeError as e:  # pragma: no cover - a generator without a readable state
        raise TypeError(f"cannot checkpoint a {type(rng).__name__}: its state is not readable, "
                        "so the run could not resume exactly") from e


def _mean_probability(logits):
    """mean sigmoid(logits) on the raw array, as 0.5 (1 + tanh(a/2)) (no overflow)."""
    xp = backend.get_array_module(logits)
    return (0.5 * (1 + xp.tanh(0.5 * logits))).mean()


def _norm(arrays):
    """sqrt(sum of squares) over a list of raw arrays, left on their device."""
    xp = backend.get_array_module(*arrays)
    return xp.sqrt(sum((a * a).sum() for a in arrays))
