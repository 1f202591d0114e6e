"""The 2D mode-collapse experiment of VEEGAN (Srivastava et al. 2017, arXiv 1705.07761) and
PacGAN (Lin et al. 2018, arXiv 1712.04086): a ring of 8 Gaussians (sigma = 0.01) and a 5x5 grid
of 25 (sigma = 0.05), MLP generator and discriminator, scored on 2,500 samples by
tinygan.metrics.mode_coverage (modes captured, high-quality fraction within 3 sigma, reverse KL
over modes).

Methods are vanilla Algorithm 1 and the remedies of tinygan.gan.remedies; every method shares
the same base recipe (models, Adam, learning-rate decay, an EMA generator for evaluation), so a
difference in the table is the remedy's. `run(config)` trains one method on one dataset with
one seed and returns the metrics, the time taken and scatter snapshots along the way; `aggregate`
makes the table over seeds. Every random number comes from generators seeded by the config.
"""
from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field

import numpy as np

from .. import backend, init, nn
from ..data import toy
from ..gan import penalties, remedies
from ..gan.hooks import EMA, LinearDecay
from ..gan.models import Scale, ToyDiscriminator, mlp
from ..gan.trainer import Trainer, normal_noise
from ..metrics import mean_se, mode_coverage
from ..optim import Adam
from ..tensor import Tensor, grad, no_grad
from .base import Experiment, ExperimentConfig, param

DATASETS = ("ring", "grid")
METHODS = ("vanilla", "minibatch_discrimination", "feature_matching", "packing", "unrolled",
           "label_smoothing", "historical_averaging", "instance_noise")
#: the critics of lesson 10: D becomes a Lipschitz critic, each method its one ingredient:
#: WGAN clips the critic's weights to +-clip_value (Arjovsky et al. 2017, arXiv 1701.07875),
#: WGAN-GP adds gp_weight * (|grad D(x_hat)| - 1)^2 (Gulrajani et al. 2017, arXiv 1704.00028),
#: SN-GAN normalizes every critic layer by its spectral norm and uses the hinge loss (Miyato et
#: al. 2018, arXiv 1802.05957). On the remedies' shared recipe none of them trains; the
#: recipe they need (5 critic steps, Adam betas (0.5, 0.9), data units, more iterations) is
#: the "critics" protocol of benchmarks/reproduce_mode_collapse.py: settings d_steps, betas,
#: normalize, steps.
CRITICS = penalties.CRITICS


@dataclass(frozen=True)
class Toy2DConfig(ExperimentConfig):
    """Ring of 8 Gaussians, mode collapse (metrics: modes, high-quality fraction). The defaults
    are the short protocol of benchmarks/reproduce_mode_collapse.py."""
    dataset: str = param("ring", "which mixture", DATASETS, cli=False)
    steps: int = param(3000, "training iterations (Algorithm 1)", minimum=1)
    method: str = param("vanilla", "plain Algorithm 1, a mode-collapse remedy or a critic",
                        METHODS + CRITICS)
    batch_size: int = param(256, "m: samples per discriminator and generator step", minimum=1)
    d_steps: int = param(1, "k: discriminator steps per generator step", minimum=1)
    hidden: int = param(128, "width of both MLPs", minimum=1)
    g_depth: int = param(2, "hidden layers in G", minimum=1)
    d_depth: int = param(2, "hidden layers in D", minimum=1)
    noise_dim: int = param(2, "z ~ N(0, I) of this many dimensions", minimum=1)
    normalize: bool = param(True, "models work in units of the data's scale (grid: x / 4)")
    lr_g: float = param(1e-3, "generator Adam learning rate", minimum=0)
    lr_d: float = param(1e-3, "discriminator Adam learning rate", minimum=0)
    betas: tuple[float, float] = param((0.5, 0.999), "Adam's betas for both networks")
    lr_decay: bool = param(True, "decay both learning rates linearly to lr_final_frac")
    lr_final_frac: float = param(0.1, "the learning rates' final fraction", minimum=0)
    ema_decay: float | None = param(0.999, "evaluate an EMA of G's weights (none: the raw G)")
    eval_samples: int = param(2500, "samples scored for the final metrics", minimum=1)
    log_every: int = param(50, "iterations between history records", minimum=1)
    snapshot_every: int = param(100, "iterations between animation frames (0: none)",
                                minimum=0)
    snapshot_samples: int = param(1000, "samples in each animation frame", minimum=1)
    # --- remedy settings (each read only by its method)
    pack: int = param(2, "packing: PacGAN's m, samples per pack", minimum=1)
    pack_batch: bool = param(True, "packing: draw pack x batch_size samples, so D sees "
                                   "batch_size packs per step (PacGAN's convention)")
    unroll_steps: int = param(5, "unrolled: K simulated D steps", minimum=0)
    unroll_update: str = param("adam", "unrolled: continue D's Adam, or plain SGD",
                               ("adam", "sgd"))
    unroll_lr: float | None = param(None, "unrolled: step size (none: D's learning rate)")
    mbd_kernels: int = param(5, "minibatch discrimination: B kernels ...", minimum=1)
    mbd_kernel_dim: int = param(3, "... of dimension C", minimum=1)
    mbd_group: int | None = param(64, "... comparing each sample with 63 others (cost O(N 64))")
    fm_weight: float = param(1.0, "feature matching: weight of the term replacing G's loss")
    smooth_target: float = param(0.9, "one-sided label smoothing: the real target")
    hist_weight: float = param(1e-3, "historical averaging: weight, on both players", minimum=0)
    noise_std: float = param(0.1, "instance noise, in units of the data's spread", minimum=0)
    noise_anneal_frac: float = param(0.5, "instance noise: annealed to 0 over this fraction "
                                          "of the run", minimum=0)
    clip_value: float = param(0.01, "wgan: the critic's weights are clamped to +-clip_value",
                              minimum=1e-12)
    gp_weight: float = param(10.0, "wgan_gp: lambda of the gradient penalty", minimum=0)

    def __post_init__(self):
        super().__post_init__()
        if self.method == "packing" and not self.pack_batch and self.batch_size % self.pack:
            raise ValueError(f"packing needs batch_size ({self.batch_size}) to be a multiple of "
                             f"pack ({self.pack})")


@dataclass(frozen=True)
class GridConfig(Toy2DConfig):
    """5x5 grid of 25 Gaussians, mode collapse (metrics: modes, high-quality fraction)."""
    dataset: str = param("grid", "which mixture", DATASETS, cli=False)


def distribution(dataset: str) -> toy.GaussianMixture:
    """The ring of 8 (sigma 0.01) or the grid of 25 (sigma 0.05), as in the papers."""
    if dataset == "ring":
        return toy.ring_2d(8, radius=1.0, std=0.01)
    if dataset == "grid":
        return toy.grid_2d(5, spacing=2.0, std=0.05)
    raise ValueError(f"dataset must be one of {DATASETS}, got {dataset!r}")


def data_scale(dataset: str) -> float:
    """The spread of the means (ring radius 1, grid half-width 4): the unit of the normalized
    models and of the instance noise."""
    return float(np.abs(distribution(dataset).means).max())


# ---------------------------------------------------------------- models and the trainer


def build_models(config: Toy2DConfig, device="cpu"):
    """G: z (N, noise_dim) -> x (N, 2), a ReLU MLP then a fixed scale; D: ToyDiscriminator
    (input scaled by 1/scale), its input widened to 2*pack for packing and with a
    minibatch-discrimination layer for that method. Weights come from generators seeded by
    config.seed (PyTorch's default uniform init)."""
    rng = backend.rng([config.seed, 2], device)
    scale = data_scale(config.dataset) if config.normalize else 1.0
    G = nn.Sequential(mlp([config.noise_dim] + [config.hidden] * config.g_depth + [2]),
                      Scale(scale))
    in_dim = 2 * config.pack if config.method == "packing" else 2
    mb = ((config.mbd_kernels, config.mbd_kernel_dim, 0.1, config.mbd_group)
          if config.method == "minibatch_discrimination" else None)
    D = ToyDiscriminator(in_dim, config.hidden, config.d_depth, minibatch=mb, rng=rng,
                         input_scale=1.0 / scale, device=device)
    # on the device before the draws: a device generator's numbers cannot fill host arrays
    init.default_init_(G.to(device), rng)
    init.default_init_(D.to(device), rng)
    return G, D


def build(config: Toy2DConfig, device=None) -> Experiment:
    """The config's method: its D (packed, noisy), objective, hooks and trainer; the EMA of G."""
    device = backend.resolve_device(device)
    G, D_core = build_models(config, device)
    data = distribution(config.dataset)
    D, objective, hooks, method = D_core, "nonsaturating", [], config.method
    if method == "packing":
        D = remedies.Packed(D_core, config.pack)
    elif method == "feature_matching":
        hooks.append(remedies.FeatureMatching(D_core.features, config.fm_weight))
        objective = remedies.FeatureMatching.objective()
    elif method == "label_smoothing":
        objective = remedies.one_sided_label_smoothing(config.smooth_target)
    elif method == "historical_averaging":
        hooks += [remedies.HistoricalAverage(D_core.parameters(), config.hist_weight),
                  remedies.HistoricalAverage(G.parameters(), config.hist_weight, "generator")]
    elif method in CRITICS:
        objective, extra = penalties.critic_method(method, D_core, config.clip_value,
                                                   config.gp_weight, [config.seed, 6], device)
        hooks += extra
    elif method == "instance_noise":
        anneal = max(1, int(config.noise_anneal_frac * config.steps))
        D = remedies.InstanceNoise(D_core, config.noise_std * data_scale(config.dataset),
                                   anneal, seed=[config.seed, 3], device=device)
        hooks.append(remedies.AnnealNoise(D))
    if config.lr_decay:
        hooks.append(LinearDecay(config.steps, config.lr_final_frac))
    ema = EMA(G, config.ema_decay) if config.ema_decay is not None else None
    hooks += [ema] if ema is not None else []
    batch_size = config.batch_size * (config.pack if method == "packing" and config.pack_batch
                                      else 1)
    kwargs = dict(batch_size=batch_size, d_steps=config.d_steps, objective=objective,
                  seed=config.seed, device=device, hooks=hooks, log_every=config.log_every)
    if method == "unrolled":
        cls, kwargs = remedies.UnrolledTrainer, dict(
            kwargs, unroll_steps=config.unroll_steps, unroll_update=config.unroll_update,
            unroll_lr=config.unroll_lr)
    else:
        cls = Trainer
    trainer = cls(G, D, Adam(G.parameters(), config.lr_g, config.betas),
                  Adam(D.parameters(), config.lr_d, config.betas),
                  data=lambda m, rng: data.sample(m, rng=rng, device=device),
                  noise=normal_noise(config.noise_dim), **kwargs)
    z_fixed = normal_noise(config.noise_dim)(config.snapshot_samples,
                                             backend.rng([config.seed, 5], device))
    return Experiment(config.dataset, config, device, trainer, G, sys.modules[__name__], ema,
                      {"distribution": data, "z_fixed": z_fixed})


def evaluated_generator(exp: Experiment):
    """The generator the protocol scores: the EMA copy when the recipe keeps one."""
    return exp.ema.module if exp.ema is not None else exp.generator


# ---------------------------------------------------------------- the protocol


def generate(G, n: int, noise_dim: int, seed, device="cpu") -> np.ndarray:
    """n generated points (n, 2) as a host array, from noise seeded by `seed`."""
    rng = backend.rng(seed, device)
    with no_grad():
        return G(normal_noise(noise_dim)(n, rng)).numpy()


def protocol_scores(G, config: Toy2DConfig, device="cpu", return_samples=False):
    """The protocol: config.eval_samples samples, 3-sigma high-quality rule, modes captured,
    reverse KL over modes (of the high-quality samples). Returns the metrics dict, and the
    samples too with return_samples=True."""
    dist = distribution(config.dataset)
    x = generate(G, config.eval_samples, config.noise_dim, [config.seed, 4], device)
    scores = mode_coverage(x, dist.means, float(dist.stds[0]), radius=3.0).as_dict()
    return (scores, x) if return_samples else scores


def evaluate(exp: Experiment) -> dict:
    scores = protocol_scores(evaluated_generator(exp), exp.config, exp.device)
    raw = protocol_scores(exp.generator, exp.config, exp.device)
    return {**{k: _json_number(v) for k, v in scores.items()},
            "raw_generator": {k: _json_number(raw[k]) for k in
                              ("modes_captured", "high_quality_fraction", "reverse_kl")},
            "evaluated": "EMA of G" if exp.ema is not None else "G"}


def _json_number(v):
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return float(v) if math.isfinite(v) else str(float(v))
    return v


def sample(exp: Experiment, n: int, seed=1234, labels=None) -> dict:
    """{"points": (n, 2)} from the evaluated generator, noise drawn with `seed`."""
    exp.not_conditional(labels)
    return {"points": generate(evaluated_generator(exp), n, exp.config.noise_dim, seed,
                               exp.device).astype(np.float32)}


def draw(exp: Experiment, n=None, seed=1234, labels=None):
    from ..viz import toy2d as draw2d
    x = sample(exp, exp.config.eval_samples if n is None else n, seed, labels)["points"]
    return draw2d.scatter_figure(x, exp.parts["distribution"],
                                 f"{exp.config.dataset}, {exp.config.method}, "
                                 f"iteration {exp.trainer.iteration}")


def frame(exp: Experiment) -> dict:
    """The raw G's samples on a fixed noise batch (they show the hopping the EMA smooths)."""
    with no_grad():
        x = exp.trainer.G(exp.parts["z_fixed"]).numpy()
    return {"iteration": exp.trainer.iteration, "samples": x}


def animate(exp: Experiment, frames: list):
    from ..viz import toy2d as draw2d
    return draw2d.animate(frames, exp.parts["distribution"], exp.config.dataset)


@dataclass
class DiscriminatorView:
    """What GAN Lab (Kahng et al. 2018, arXiv 1809.01587) draws at one moment of a run: D's
    probability of "real" over the plane, a batch of G's samples, and for each sample the
    direction G's loss pushes it (minus the gradient of the generator loss with respect to
    that sample, times the batch size: the per-sample push)."""
    iteration: int
    xs: np.ndarray           # (n,) grid coordinates along x, and along y
    d_real: np.ndarray       # (n, n): D(x) = sigmoid(logit) at (xs[j], xs[i])
    samples: np.ndarray      # (m, 2): G(z) for the view's fixed noise
    push: np.ndarray         # (m, 2): -m * d(generator loss) / d(sample)


def discriminator_view(exp: Experiment, n: int = 101, samples: int = 300,
                       seed=0) -> DiscriminatorView:
    """The current D over a square around the data and the push on `samples` fakes (noise
    drawn with `seed`, the same at every call). Only for a D that judges one point at a time:
    a packed D or one with minibatch discrimination has no value at a single point."""
    config = exp.config
    if config.method in ("packing", "minibatch_discrimination"):
        raise ValueError(f"discriminator_view: method {config.method!r} judges points in "
                         "packs or batches, so D has no value at a single point of the plane; "
                         "use a method whose D sees one point (e.g. 'vanilla')")
    D = exp.trainer.D
    D = D.discriminator if isinstance(D, remedies.InstanceNoise) else D  # the clean D
    from ..viz.toy2d import plane_limit  # D is drawn over the square the scatters show

    lim = plane_limit(exp.parts["distribution"])
    xs = np.linspace(-lim, lim, n)
    gx, gy = np.meshgrid(xs, xs)
    plane = np.stack([gx.ravel(), gy.ravel()], 1).astype(np.float32)
    with no_grad():
        d_real = D(Tensor(backend.to_device(plane, exp.device))).sigmoid().numpy()
    fake = Tensor(backend.to_device(
        generate(exp.trainer.G, samples, config.noise_dim, seed, exp.device), exp.device),
        requires_grad=True)
    loss = exp.trainer.g_loss_fn(D(fake))
    push, = grad(loss, [fake])
    return DiscriminatorView(exp.trainer.iteration, xs, d_real.reshape(n, n).astype(np.float64),
                             fake.numpy().astype(np.float64),
                             -samples * push.numpy().astype(np.float64))


# ---------------------------------------------------------------- one run, and the table


@dataclass
class Toy2DResult:
    """One run: metrics of the evaluated generator (EMA when enabled) and of the raw one."""
    config: Toy2DConfig
    metrics: dict
    raw_metrics: dict
    wall_time: float
    samples: np.ndarray | None = None                 # the evaluated samples (eval_samples, 2)
    snapshots: list = field(default_factory=list)     # [(iteration, samples (n, 2))]
    history: dict = field(default_factory=dict)
    generator: object = None                          # the evaluated generator (EMA or raw)
    cpu_time: float = math.nan                        # CPU seconds of this process in training

    def summary(self) -> dict:
        """A JSON-ready dict (no snapshots)."""
        return {"dataset": self.config.dataset, "method": self.config.method,
                "seed": self.config.seed, "iterations": self.config.steps,
                "wall_time_s": self.wall_time, "cpu_time_s": self.cpu_time, **self.metrics,
                "raw": {k: self.raw_metrics[k] for k in
                        ("modes_captured", "high_quality_fraction", "reverse_kl")}}


def run(config: Toy2DConfig | None = None, device=None, progress=None) -> Toy2DResult:
    """Train one method on one dataset with one seed; evaluate on config.eval_samples samples.

    Snapshots (every config.snapshot_every iterations, 0 for none, from a fixed noise batch)
    record the raw generator, so they show the hopping between modes that the EMA would
    smooth out. progress(iteration, trainer) is called at each snapshot."""
    config = Toy2DConfig() if config is None else config
    exp = build(config, device)
    trainer, snapshots = exp.trainer, []

    def take(t):
        snapshots.append((t.iteration, frame(exp)["samples"]))
        if progress is not None:
            progress(t.iteration, t)

    start, cpu_start = time.perf_counter(), time.process_time()
    if config.snapshot_every:
        trainer.fit(config.steps, callback=take, every=config.snapshot_every)
    else:
        trainer.fit(config.steps)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    G_eval = evaluated_generator(exp)
    metrics, x = protocol_scores(G_eval, config, exp.device, return_samples=True)
    raw = protocol_scores(exp.generator, config, exp.device) if exp.ema is not None else metrics
    return Toy2DResult(config, metrics, raw, wall, x, snapshots, trainer.history, G_eval, cpu)


def sweep_summary(row: dict) -> dict:
    """A row of tinygan.sweep (a ring or grid run) in the form aggregate reads, the same as
    Toy2DResult.summary(): dataset, method, seed, iterations, times, the protocol's metrics of
    the evaluated generator, and the raw generator's under "raw"."""
    # JSON has no inf: evaluate() writes it as the string "inf" (a run with no high-quality
    # sample has an infinite reverse KL)
    def numbers(d):
        return {k: float(v) if v in ("inf", "nan") else v for k, v in d.items()}

    metrics = numbers(row["metrics"])
    raw = numbers(metrics.pop("raw_generator"))
    metrics.pop("evaluated", None)
    return {"dataset": row["experiment"], "method": row["settings"]["method"],
            "seed": row["seed"], "iterations": row["steps"], "wall_time_s": row["wall_time_s"],
            "cpu_time_s": row["cpu_time_s"], **metrics, "raw": raw}


def aggregate(runs) -> list:
    """One row per (method, dataset): mean +- s.e. of the protocol's numbers over seeds."""
    groups: dict = {}
    for r in runs:
        groups.setdefault((r["method"], r["dataset"]), []).append(r)
    rows = []
    order = {m: i for i, m in enumerate(METHODS)}
    places = {d: i for i, d in enumerate(DATASETS)}
    for (method, dataset), rs in sorted(groups.items(), key=lambda kv: (
            places.get(kv[0][1], 99), order.get(kv[0][0], 99))):
        k = rs[0]["num_modes"]
        kl = [r["reverse_kl"] for r in rs]
        row = {"method": method, "dataset": dataset, "seeds": len(rs), "num_modes": k,
               "iterations": rs[0]["iterations"],
               "modes": mean_se(r["modes_captured"] for r in rs),
               "high_quality": mean_se(100 * r["high_quality_fraction"] for r in rs),
               "reverse_kl": mean_se(kl) if all(math.isfinite(v) for v in kl) else (math.inf, 0),
               "wall_time_s": mean_se(r["wall_time_s"] for r in rs),
               "cpu_time_s": mean_se(r.get("cpu_time_s", math.nan) for r in rs),
               "all_modes": sum(r["modes_captured"] == k for r in rs),
               "dropped_or_scattered": sum(r["modes_captured"] < k
                                           or r["high_quality_fraction"] < 0.5 for r in rs)}
        rows.append(row)
    return rows
