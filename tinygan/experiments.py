"""The experiments the `tinygan` command can train, by name: toy1d, ring, grid, mnist-mlp,
dcgan, cgan.

Each registry entry is an `Experiment` subclass holding its hyperparameters (name, type, default,
help: argparse options are built from them), how to build the models and the Algorithm-1
trainer from a config, its final metrics, its samples picture and (where it helps) the frames of
an animation. The step loop, checkpoints and the run directory live in tinygan/runs.py; this
module knows nothing about files except the pictures it is asked to draw.

    exp = experiments.create("ring", {"steps": 500, "seed": 1}, device="cpu")
    for _ in range(exp.config["steps"]): exp.trainer.step()
    exp.metrics()                      # {"modes_captured": ..., "high_quality_fraction": ...}
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np

from . import backend, creation
from .gan.mnist_experiments import HYPERPARAMETERS

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Param:
    """One hyperparameter: its name (config key; the option is --name with - for _), type,
    default and a help line; `choices` when only some values make sense."""
    name: str
    type: type
    default: object
    help: str
    choices: tuple | None = None


COMMON = (Param("seed", int, 0, "random seed: every random number of the run comes from it"),)


class Experiment:
    """Base class. Subclasses set `name`, `summary`, `params` and implement build()."""
    name = ""
    summary = ""
    params: tuple = ()
    animated = False          # whether frames() is worth an animation

    def __init__(self, config: dict, device: str = "cpu"):
        self.config = self.full_config(config)
        self.device = backend.check_device(device)
        self.trainer = None
        self.build()

    # --- configuration
    @classmethod
    def all_params(cls) -> tuple:
        return COMMON + cls.params

    @classmethod
    def defaults(cls) -> dict:
        return {p.name: p.default for p in cls.all_params()}

    @classmethod
    def full_config(cls, config: dict) -> dict:
        """The defaults overridden by `config`; unknown keys are an error listing the known."""
        known = cls.defaults()
        unknown = sorted(set(config) - set(known))
        if unknown:
            raise ValueError(f"{cls.name}: unknown hyperparameter(s) {unknown}; valid: "
                             f"{sorted(known)}")
        out = {**known, **{k: v for k, v in config.items() if v is not None}}
        for p in cls.all_params():
            if p.choices is not None and out[p.name] not in p.choices:
                raise ValueError(f"{cls.name}: {p.name} must be one of {p.choices}, got "
                                 f"{out[p.name]!r}")
        if out.get("steps", 1) < 1:
            raise ValueError(f"{cls.name}: steps must be >= 1, got {out['steps']}")
        return out

    @classmethod
    def steps_for_epochs(cls, epochs: float, config: dict) -> int:
        raise ValueError(f"{cls.name} has no fixed data set: give --steps, not --epochs")

    # --- what subclasses provide
    def build(self) -> None:
        """Set self.trainer (and anything else the run needs) from self.config."""
        raise NotImplementedError

    def stateful(self) -> dict:
        """name -> object with state_dict()/load_state_dict(): what a checkpoint holds besides
        the trainer's counters and random stream."""
        t = self.trainer
        return {"G": t.G, "D": t.D, "g_opt": t.g_opt, "d_opt": t.d_opt}

    def extra_state(self) -> dict:
        """JSON-ready state outside the modules (e.g. a hook's counter); {} by default."""
        return {}

    def load_extra_state(self, state: dict) -> None:
        pass

    def extra_arrays(self) -> dict:
        return {}

    def load_extra_arrays(self, arrays: dict) -> None:
        pass

    def metrics(self) -> dict:
        raise NotImplementedError

    def draw_samples(self, n: int | None = None, seed: int = 1234, labels=None):
        """A matplotlib Figure of samples from the trained generator."""
        raise NotImplementedError

    def _no_labels(self, labels) -> None:
        if labels is not None:
            raise ValueError(f"{self.name} is not conditional: --labels only applies to cgan")

    def frame(self) -> dict | None:
        """One animation frame (a dict of host arrays and numbers) for the current state."""
        return None

    def animate(self, frames: list):
        """A matplotlib animation of the frames, or None."""
        return None

    def generator(self):
        """The generator to sample from (an EMA copy where the experiment keeps one)."""
        return self.trainer.G


# ---------------------------------------------------------------- toy1d


class Toy1D(Experiment):
    name = "toy1d"
    summary = "1D Gaussian, Figure 1 of Goodfellow et al. 2014 (metric: JS divergence)"
    animated = True
    params = (
        Param("steps", int, 2000, "training iterations (Algorithm 1)"),
        Param("batch_size", int, 128, "m: samples per discriminator and generator step"),
        Param("d_steps", int, 2, "k: discriminator steps per generator step"),
        Param("lr_g", float, 1e-3, "generator Adam learning rate"),
        Param("lr_d", float, 1e-3, "discriminator Adam learning rate"),
        Param("hidden", int, 32, "width of both MLPs"),
        Param("objective", str, "nonsaturating", "the generator's loss",
              ("nonsaturating", "saturating")),
        Param("snapshot_every", int, 40, "iterations between animation frames"),
    )

    def _toy_config(self):
        from .gan import toy1d
        c = self.config
        return toy1d.Toy1DConfig(seed=c["seed"], iterations=c["steps"],
                                 batch_size=c["batch_size"], d_steps=c["d_steps"],
                                 lr_g=c["lr_g"], lr_d=c["lr_d"], hidden=c["hidden"],
                                 objective=c["objective"], snapshot_every=c["snapshot_every"])

    def build(self):
        from .gan import toy1d
        self.toy = self._toy_config()
        self.trainer = toy1d.make_trainer(self.toy, self.device)

    def metrics(self) -> dict:
        from .gan import toy1d
        m = toy1d.measure(self.trainer.G, self.trainer.D, self.toy, self.trainer.iteration)
        return {"js_divergence_nats": m.js, "c_of_g": m.c_of_g, "value": m.value,
                "mean_d_real": m.d_real, "mean_d_fake": m.d_fake, "g_mean": m.g_mean,
                "g_std": m.g_std, "data_mean": self.toy.data_mean,
                "data_std": self.toy.data_std}

    def _snapshot(self):
        from .gan import toy1d
        return toy1d.snapshot(self.trainer.G, self.trainer.D, self.toy, self.trainer.iteration)

    def draw_samples(self, n=None, seed=1234, labels=None):
        import matplotlib.pyplot as plt
        from .gan import toy1d
        self._no_labels(labels)
        snap = self._snapshot()
        fig, ax = plt.subplots(figsize=(6, 3.6))
        toy1d.draw_panel(ax, self.toy, snap, f"iteration {snap.iteration}: "
                         f"JS = {snap.measurement.js:.4f} nats")
        ax.legend(loc="upper left", fontsize=7, frameon=False)
        return fig

    def frame(self):
        s = self._snapshot()
        m = s.measurement
        return {"iteration": s.iteration, "d_curve": s.d_curve, "p_g": s.p_g, "lines": s.lines,
                "measurement": np.array([m.js, m.c_of_g, m.value, m.d_real, m.d_fake, m.g_mean,
                                         m.g_std])}

    def animate(self, frames):
        from .gan import toy1d
        if not frames:
            return None
        snaps = [toy1d.Snapshot(int(f["iteration"]), np.asarray(f["d_curve"]),
                                np.asarray(f["p_g"]), np.asarray(f["lines"]),
                                toy1d.Measurement(int(f["iteration"]),
                                                  *map(float, f["measurement"])))
                 for f in frames]
        return toy1d.animate(toy1d.Toy1DResult(self.toy, self.trainer, snaps))


# ---------------------------------------------------------------- ring / grid


class Toy2D(Experiment):
    summary = ""
    animated = True
    dataset = "ring"
    params = (
        Param("steps", int, 3000, "training iterations (Algorithm 1)"),
        Param("method", str, "vanilla", "plain Algorithm 1 or a mode-collapse remedy",
              ("vanilla", "minibatch_discrimination", "feature_matching", "packing", "unrolled",
               "label_smoothing", "historical_averaging", "instance_noise")),
        Param("batch_size", int, 256, "m: samples per discriminator and generator step"),
        Param("d_steps", int, 1, "k: discriminator steps per generator step"),
        Param("lr_g", float, 1e-3, "generator Adam learning rate"),
        Param("lr_d", float, 1e-3, "discriminator Adam learning rate"),
        Param("hidden", int, 128, "width of both MLPs"),
        Param("eval_samples", int, 2500, "samples scored for the final metrics"),
        Param("snapshot_every", int, 100, "iterations between animation frames"),
    )

    def build(self):
        from .gan import toy2d
        c = self.config
        self.toy = toy2d.Toy2DConfig(dataset=self.dataset, method=c["method"], seed=c["seed"],
                                     iterations=c["steps"], batch_size=c["batch_size"],
                                     d_steps=c["d_steps"], lr_g=c["lr_g"], lr_d=c["lr_d"],
                                     hidden=c["hidden"], eval_samples=c["eval_samples"])
        self.trainer, self.ema = toy2d.make_trainer(self.toy, self.device)
        from .gan.trainer import normal_noise
        self.z_fixed = normal_noise(self.toy.noise_dim)(
            1000, backend.rng([self.toy.seed, 5], self.device))

    def stateful(self):
        out = super().stateful()
        if self.ema is not None:
            out["G_ema"] = self.ema.module
        return out

    def _hooks(self):
        """The stateful remedy objects: instance noise (its own random stream) and historical
        averages (a count and running means), found on D, d_extra and g_extra's closure."""
        from .gan import remedies
        t = self.trainer
        noise = t.D if isinstance(t.D, remedies.InstanceNoise) else None
        cells = [c.cell_contents for c in (getattr(t.g_extra, "__closure__", None) or ())]
        hist = [h for h in [t.d_extra, t.g_extra, *cells]
                if isinstance(h, remedies.HistoricalAverage)]
        return noise, hist

    def extra_state(self):
        noise, hist = self._hooks()
        return {"ema_updates": self.ema.updates if self.ema is not None else 0,
                "noise_rng": noise.rng.bit_generator.state if noise is not None else None,
                "noise_iteration": noise.iteration if noise is not None else 0,
                "hist_counts": [h.count for h in hist]}

    def load_extra_state(self, state):
        noise, hist = self._hooks()
        if self.ema is not None:
            self.ema.updates = int(state["ema_updates"])
        if noise is not None:
            noise.rng.bit_generator.state = state["noise_rng"]
            noise.iteration = int(state["noise_iteration"])
        for h, count in zip(hist, state["hist_counts"]):
            h.count = int(count)

    def extra_arrays(self):
        _, hist = self._hooks()
        return {f"hist{i}": [backend.to_numpy(a).copy() for a in h.average]
                for i, h in enumerate(hist)}

    def load_extra_arrays(self, arrays):
        _, hist = self._hooks()
        for i, h in enumerate(hist):
            h.average = [backend.to_device(np.array(a), self.device)
                         for a in arrays[f"hist{i}"]]

    def generator(self):
        return self.ema.module if self.ema is not None else self.trainer.G

    def metrics(self):
        from .gan import toy2d
        scores = toy2d.evaluate(self.generator(), self.toy, self.device)
        raw = toy2d.evaluate(self.trainer.G, self.toy, self.device)
        return {**{k: _json_number(v) for k, v in scores.items()},
                "raw_generator": {k: _json_number(raw[k]) for k in
                                  ("modes_captured", "high_quality_fraction", "reverse_kl")},
                "evaluated": "EMA of G" if self.ema is not None else "G"}

    def draw_samples(self, n=None, seed=1234, labels=None):
        import matplotlib.pyplot as plt
        from .gan import toy2d
        self._no_labels(labels)
        n = self.toy.eval_samples if n is None else n
        x = toy2d.sample(self.generator(), n, self.toy.noise_dim, seed, self.device)
        fig, ax = plt.subplots(figsize=(4.2, 4.2))
        toy2d.scatter(ax, x, self.dataset, f"{self.dataset}, {self.toy.method}, "
                      f"iteration {self.trainer.iteration}")
        return fig

    def frame(self):
        from .tensor import no_grad
        with no_grad():
            x = self.trainer.G(self.z_fixed).numpy()
        return {"iteration": self.trainer.iteration, "samples": x}

    def animate(self, frames):
        if not frames:
            return None
        import matplotlib.pyplot as plt
        from matplotlib.animation import FuncAnimation
        from .gan import toy2d
        fig, ax = plt.subplots(figsize=(4, 4))

        def draw(i):
            ax.clear()
            f = frames[i]
            toy2d.scatter(ax, np.asarray(f["samples"]), self.dataset,
                          f"iteration {int(f['iteration'])} (raw G)")
            return []
        return FuncAnimation(fig, draw, frames=len(frames), blit=False)


class Ring(Toy2D):
    name = "ring"
    dataset = "ring"
    summary = "ring of 8 Gaussians, mode collapse (metrics: modes, high-quality fraction)"


class Grid(Toy2D):
    name = "grid"
    dataset = "grid"
    summary = "5x5 grid of 25 Gaussians, mode collapse (metrics: modes, high-quality fraction)"


def _json_number(v):
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return float(v) if math.isfinite(v) else str(float(v))
    return v


# ---------------------------------------------------------------- MNIST


def _digit_params(model: str, steps: int) -> tuple:
    """A digit GAN's hyperparameters; batch and learning rate default to the model's own recipe
    (mnist_experiments.HYPERPARAMETERS, the one the results table uses)."""
    recipe = HYPERPARAMETERS[model]
    return (
        Param("steps", int, steps, "training iterations (one D step, one G step each)"),
        Param("batch_size", int, recipe["batch_size"], "m: digits per step"),
        Param("lr", float, recipe["lr"], "Adam learning rate of both networks"),
        Param("eval_samples", int, 2000, "generated digits scored by the LeNet evaluator "
              "(0: skip the scoring)"),
        Param("data_dir", str, "", "folder with MNIST's t10k files (default: "
              "$TINYGAN_DATA_DIR or the cache; synthetic digits when absent)"),
    )


class MNISTExperiment(Experiment):
    model = "mlp"
    params = _digit_params("mlp", 2000)

    def build(self):
        from .gan import mnist_experiments as mx
        c = self.config
        self.digits = mx.load_digits(c["data_dir"] or None)
        if self.digits.synthetic:
            log.warning("%s", self.digits.source)
        self.exp = mx.make_experiment(self.model, self.digits, seed=c["seed"],
                                      batch_size=c["batch_size"], lr=c["lr"], device=self.device)
        self.trainer = self.exp.trainer

    @classmethod
    def steps_for_epochs(cls, epochs, config):
        from .gan import mnist_experiments as mx
        digits = mx.load_digits(config.get("data_dir") or None)
        batch = config.get("batch_size") or cls.defaults()["batch_size"]
        return max(1, math.ceil(epochs * len(digits.images) / batch))

    def stateful(self):
        return {"G": self.exp.generator, "D": self.exp.discriminator,
                "g_opt": self.trainer.g_opt, "d_opt": self.trainer.d_opt}

    def generator(self):
        return self.exp.generator

    def metrics(self):
        from .gan import mnist_experiments as mx
        if self.config["eval_samples"] <= 0:
            return {"data": self.digits.source, "scored": False}
        evaluator = mx.make_evaluator(self.digits, self.config["data_dir"] or None)
        scores = mx.evaluate(self.exp, evaluator, n=self.config["eval_samples"])
        out = {k: _json_number(v) for k, v in scores.as_dict().items()}
        out["data"] = self.digits.source
        return out

    def draw_samples(self, n=None, seed=1234, labels=None):
        import matplotlib.pyplot as plt
        from .gan import mnist_experiments as mx
        n = 64 if n is None else n
        if self.exp.conditional:
            labels = mx.balanced_labels(n) if labels is None else np.asarray(labels)
            n = len(labels)
        elif labels is not None:
            raise ValueError(f"{self.name} is not conditional: --labels only applies to cgan")
        images = mx.sample(self.exp, n, seed, labels=labels)
        cols = 10 if self.exp.conditional else int(math.ceil(math.sqrt(n)))
        fig, ax = plt.subplots(figsize=(cols * 0.5 + 0.4, math.ceil(n / cols) * 0.5 + 0.5))
        ax.imshow(mx.tile(images, cols), cmap="gray", vmin=0, vmax=1)
        ax.set_axis_off()
        title = f"{self.name}, iteration {self.trainer.iteration}"
        if self.exp.conditional and n <= 20:
            title += f"; labels {' '.join(str(int(v)) for v in labels)}"
        ax.set_title(title, fontsize=9)
        return fig


class MNISTMLP(MNISTExperiment):
    name = "mnist-mlp"
    model = "mlp"
    summary = "MLP GAN on MNIST (metrics: LeNet classifier score, FID-like distance)"


class DCGAN(MNISTExperiment):
    name = "dcgan"
    model = "dcgan"
    summary = "DCGAN on MNIST (convolutions; slow on a CPU)"
    params = _digit_params("dcgan", 500)


class CGAN(MNISTExperiment):
    name = "cgan"
    model = "cgan"
    summary = "conditional GAN on MNIST: ask for a digit (metrics include label accuracy)"
    params = _digit_params("cgan", 2000)


REGISTRY = {cls.name: cls for cls in (Toy1D, Ring, Grid, MNISTMLP, DCGAN, CGAN)}


def get(name: str) -> type:
    """The Experiment class registered under `name` (error listing the valid names)."""
    if name not in REGISTRY:
        raise ValueError(f"unknown experiment {name!r}; valid: {', '.join(REGISTRY)}")
    return REGISTRY[name]


def create(name: str, config: dict | None = None, device: str = "cpu") -> Experiment:
    config = config or {}
    # every random number of a run comes from its seed: the shared generators too (Dropout
    # draws from them), so that a resumed run can restore them exactly
    seed = config.get("seed")
    creation.manual_seed(COMMON[0].default if seed is None else int(seed))
    return get(name)(config, device)
