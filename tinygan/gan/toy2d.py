"""The 2D mode-collapse experiment of VEEGAN (Srivastava et al. 2017) and PacGAN (Lin et al.
2018): a ring of 8 Gaussians (sigma = 0.01) and a 5x5 grid of 25 (sigma = 0.05), MLP generator
and discriminator, scored on 2,500 samples by tinygan.metrics.mode_coverage (modes captured,
high-quality fraction within 3 sigma, reverse KL over modes).

`run(Toy2DConfig(dataset=..., method=..., seed=...))` trains one method on one dataset with one
seed and returns the metrics, the wall time and scatter snapshots of the generator along the way.
Methods are vanilla Algorithm 1 and the remedies of tinygan.gan.remedies; every method shares
the same base recipe (models, Adam, learning-rate decay, an EMA generator for evaluation), so a
difference in the table is the remedy's.

Every random number comes from generators seeded by `Toy2DConfig.seed`.
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field

import numpy as np

from .. import backend, init, nn
from ..data import toy
from ..metrics import mode_coverage
from ..optim import Adam
from ..tensor import Tensor, no_grad
from . import remedies
from .trainer import normal_noise

DATASETS = ("ring", "grid")
METHODS = ("vanilla", "minibatch_discrimination", "feature_matching", "packing", "unrolled",
           "label_smoothing", "historical_averaging", "instance_noise")


@dataclass
class Toy2DConfig:
    """Everything one run depends on. The defaults are the FAST protocol of
    benchmarks/reproduce_mode_collapse.py."""
    dataset: str = "ring"
    method: str = "vanilla"
    seed: int = 0
    iterations: int = 3000
    batch_size: int = 256              # m in Algorithm 1 (samples per D and per G step)
    d_steps: int = 1                   # k in Algorithm 1
    hidden: int = 128                  # width of both MLPs
    g_depth: int = 2                   # hidden layers in G
    d_depth: int = 2                   # hidden layers in D
    noise_dim: int = 2                 # z ~ N(0, I)
    normalize: bool = True             # models work in units of data_scale (grid: x / 4)
    lr_g: float = 1e-3
    lr_d: float = 1e-3
    betas: tuple = (0.5, 0.999)
    lr_decay: bool = True              # linear decay of both learning rates to lr_final_frac
    lr_final_frac: float = 0.1
    ema_decay: float | None = 0.999    # evaluate an EMA of G's weights (None: the raw G)
    eval_samples: int = 2500
    snapshot_every: int = 0            # 0: no snapshots
    snapshot_samples: int = 1000
    # --- remedy settings (each read only by its method)
    pack: int = 2                      # packing: PacGAN2 ...
    pack_batch: bool = True            # ... drawing pack x batch_size samples, so D sees
                                       # batch_size packs per step (PacGAN's convention)
    unroll_steps: int = 5              # unrolled: K simulated D steps ...
    unroll_update: str = "adam"        # ... continuing D's Adam ("adam") or plain SGD ("sgd")
    unroll_lr: float | None = None     # ... of this size (None: D's current learning rate)
    mbd_kernels: int = 5               # minibatch discrimination: B kernels of dimension C
    mbd_kernel_dim: int = 3
    mbd_group: int | None = 64         # ... comparing each sample with 63 others (cost O(N 64))
    fm_weight: float = 1.0             # feature matching replaces G's loss
    smooth_target: float = 0.9         # one-sided label smoothing
    hist_weight: float = 1e-3          # historical averaging, on both players
    noise_std: float = 0.1             # instance noise, in units of the data's spread
    noise_anneal_frac: float = 0.5     # ... annealed to 0 over this fraction of the run

    def __post_init__(self):
        if self.dataset not in DATASETS:
            raise ValueError(f"dataset must be one of {DATASETS}, got {self.dataset!r}")
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {self.method!r}")
        if self.method == "packing" and not self.pack_batch and self.batch_size % self.pack:
            raise ValueError(f"packing needs batch_size ({self.batch_size}) to be a multiple of "
                             f"pack ({self.pack})")
        self.betas = tuple(self.betas)

    def replace(self, **changes) -> "Toy2DConfig":
        return Toy2DConfig(**{**asdict(self), **changes})


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


# ---------------------------------------------------------------- models


def mlp(sizes, act=lambda: nn.ReLU()) -> nn.Sequential:
    """Linear layers of the given sizes with `act` between them (none after the last)."""
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(act())
    return nn.Sequential(*layers)


class Scale(nn.Module):
    """y = factor * x with a fixed factor (no parameter): puts a model's inputs or outputs in
    the data's units."""

    def __init__(self, factor: float):
        self.factor = float(factor)

    def forward(self, x: Tensor) -> Tensor:
        return x if self.factor == 1.0 else x * self.factor

    def extra_repr(self):
        return f"factor={self.factor}"


class MLPDiscriminator(nn.Module):
    """x (N, in_dim) -> x * input_scale -> body (N, hidden) [-> minibatch discrimination
    (N, hidden + B)] -> logit (N, 1). `features(x)` is the body's output (what feature
    matching matches)."""

    def __init__(self, in_dim: int, hidden: int, depth: int, minibatch: tuple | None = None,
                 rng=None, input_scale: float = 1.0):
        self.input_scale = Scale(input_scale)
        self.body = mlp([in_dim] + [hidden] * depth, act=lambda: nn.LeakyReLU(0.2))
        self.body_act = nn.LeakyReLU(0.2)
        self.minibatch = None
        width = hidden
        if minibatch is not None:
            self.minibatch = remedies.MinibatchDiscrimination(hidden, *minibatch, rng=rng)
            width = self.minibatch.out_features
        self.head = nn.Linear(width, 1)

    def features(self, x: Tensor) -> Tensor:
        return self.body_act(self.body(self.input_scale(x)))         # (N, hidden)

    def forward(self, x: Tensor) -> Tensor:
        h = self.features(x)
        if self.minibatch is not None:
            h = self.minibatch(h)                                    # (N, hidden + B)
        return self.head(h)                                          # (N, 1)


def _init_linear(module: nn.Module, rng) -> None:
    for m in module.modules():
        if isinstance(m, nn.Linear):
            init.default_uniform_(m.weight, m.in_features, rng=rng)
            init.default_uniform_(m.bias, m.in_features, rng=rng)


def build_models(config: Toy2DConfig, device="cpu"):
    """G: z (N, noise_dim) -> x (N, 2), a ReLU MLP then a fixed scale; D: MLPDiscriminator
    (input scaled by 1/scale), its input widened to
    2*pack for packing and with a minibatch-discrimination layer for that method. Weights come
    from generators seeded by config.seed (PyTorch's default uniform init)."""
    rng = backend.rng([config.seed, 2], device)
    scale = data_scale(config.dataset) if config.normalize else 1.0
    G = nn.Sequential(mlp([config.noise_dim] + [config.hidden] * config.g_depth + [2]),
                      Scale(scale))
    in_dim = 2 * config.pack if config.method == "packing" else 2
    mb = ((config.mbd_kernels, config.mbd_kernel_dim, 0.1, config.mbd_group)
          if config.method == "minibatch_discrimination" else None)
    D = MLPDiscriminator(in_dim, config.hidden, config.d_depth, minibatch=mb, rng=rng,
                         input_scale=1.0 / scale)
    _init_linear(G, rng)
    _init_linear(D, rng)
    return G.to(device), D.to(device)


# ---------------------------------------------------------------- the run


def _lr_lambda(config: Toy2DConfig):
    if not config.lr_decay:
        return None
    total, floor = config.iterations, config.lr_final_frac
    return lambda it: 1.0 - (1.0 - floor) * min(it / total, 1.0)


def make_trainer(config: Toy2DConfig, device=None):
    """(trainer, ema): the RemedyTrainer for the config's method, and the EMA of G (or None)."""
    device = backend.default_device() if device is None else backend.check_device(device)
    G, D_core = build_models(config, device)
    data = distribution(config.dataset)
    D = D_core
    objective = "nonsaturating"
    d_extra = g_extra = None
    before, after, unroll = [], [], 0
    method = config.method
    if method == "packing":
        D = remedies.Packed(D_core, config.pack)
    elif method == "feature_matching":
        g_extra = remedies.FeatureMatching(D_core.features, config.fm_weight)
        objective = remedies.FeatureMatching.objective()
    elif method == "unrolled":
        unroll = config.unroll_steps
    elif method == "label_smoothing":
        objective = remedies.one_sided_label_smoothing(config.smooth_target)
    elif method == "historical_averaging":
        d_extra = remedies.HistoricalAverage(D_core.parameters(), config.hist_weight)
        hist_g = remedies.HistoricalAverage(G.parameters(), config.hist_weight)
        g_extra = lambda trainer, fake, logits: hist_g()                   # noqa: E731
    elif method == "instance_noise":
        anneal = max(1, int(config.noise_anneal_frac * config.iterations))
        D = remedies.InstanceNoise(D_core, config.noise_std * data_scale(config.dataset),
                                   anneal, seed=[config.seed, 3], device=device)
        before.append(lambda trainer: D.set_iteration(trainer.iteration))
    batch_size = config.batch_size
    if method == "packing" and config.pack_batch:
        batch_size *= config.pack
    ema = remedies.EMA(G, config.ema_decay) if config.ema_decay is not None else None
    if ema is not None:
        after.append(ema.update)
    trainer = remedies.RemedyTrainer(
        G, D, Adam(G.parameters(), config.lr_g, config.betas),
        Adam(D.parameters(), config.lr_d, config.betas),
        data=lambda m, rng: data.sample(m, rng=rng, device=device),
        noise=normal_noise(config.noise_dim), batch_size=batch_size,
        d_steps=config.d_steps, objective=objective, seed=config.seed, device=device,
        lr_lambda=_lr_lambda(config), d_extra=d_extra, g_extra=g_extra, unroll_steps=unroll,
        unroll_update=config.unroll_update, unroll_lr=config.unroll_lr,
        before_step=before, after_step=after, log_every=50)
    return trainer, ema


def sample(G: nn.Module, n: int, noise_dim: int, seed, device="cpu") -> np.ndarray:
    """n generated points (n, 2) as a host array, from noise seeded by `seed`."""
    rng = backend.rng(seed, device)
    with no_grad():
        return G(normal_noise(noise_dim)(n, rng)).numpy()


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
    generator: nn.Module | None = None                # the evaluated generator (EMA or raw)
    cpu_time: float = math.nan                        # CPU seconds of this process in training

    def summary(self) -> dict:
        """A JSON-ready dict (no snapshots)."""
        return {"dataset": self.config.dataset, "method": self.config.method,
                "seed": self.config.seed, "iterations": self.config.iterations,
                "wall_time_s": self.wall_time, "cpu_time_s": self.cpu_time, **self.metrics,
                "raw": {k: self.raw_metrics[k] for k in
                        ("modes_captured", "high_quality_fraction", "reverse_kl")}}


def evaluate(G: nn.Module, config: Toy2DConfig, device="cpu", return_samples=False):
    """The protocol: config.eval_samples samples, 3-sigma high-quality rule, modes captured,
    reverse KL over modes (of the high-quality samples). Returns the metrics dict, and the
    samples too with return_samples=True."""
    dist = distribution(config.dataset)
    x = sample(G, config.eval_samples, config.noise_dim, [config.seed, 4], device)
    scores = mode_coverage(x, dist.means, float(dist.stds[0]), radius=3.0).as_dict()
    return (scores, x) if return_samples else scores


def run(config: Toy2DConfig | None = None, device=None, progress=None) -> Toy2DResult:
    """Train one method on one dataset with one seed; evaluate on 2,500 samples.

    Snapshots (every config.snapshot_every iterations, from a fixed noise batch) record the raw
    generator, so they show the hopping between modes that the EMA would smooth out.
    progress(iteration, trainer) is called at each snapshot."""
    config = Toy2DConfig() if config is None else config
    device = backend.default_device() if device is None else backend.check_device(device)
    trainer, ema = make_trainer(config, device)
    snapshots = []
    z_fixed = normal_noise(config.noise_dim)(config.snapshot_samples,
                                             backend.rng([config.seed, 5], device))

    def take(t):
        with no_grad():
            snapshots.append((t.iteration, t.G(z_fixed).numpy()))
        if progress is not None:
            progress(t.iteration, t)

    start, cpu_start = time.perf_counter(), time.process_time()
    if config.snapshot_every:
        trainer.fit(config.iterations, callback=take, every=config.snapshot_every)
    else:
        trainer.fit(config.iterations)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    G_eval = ema.module if ema is not None else trainer.G
    metrics, x = evaluate(G_eval, config, device, return_samples=True)
    raw = evaluate(trainer.G, config, device) if ema is not None else metrics
    return Toy2DResult(config, metrics, raw, wall, x, snapshots, trainer.history, G_eval, cpu)


# ---------------------------------------------------------------- tables over seeds


def mean_se(values):
    """(mean, standard error of the mean); s.e. is 0 for a single value."""
    values = [float(v) for v in values]
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return mean, 0.0
    var = sum((v - mean) ** 2 for v in values) / (n - 1)
    return mean, math.sqrt(var / n)


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


# ---------------------------------------------------------------- drawing


def scatter(ax, samples: np.ndarray, dataset: str, title: str = "", s: float = 2.0):
    """Generated points (blue) over the mixture's means (red crosses), with the 3-sigma discs."""
    dist = distribution(dataset)
    sigma = float(dist.stds[0])
    ax.scatter(samples[:, 0], samples[:, 1], s=s, alpha=0.5, color="tab:blue", linewidths=0)
    ax.scatter(dist.means[:, 0], dist.means[:, 1], s=30, marker="x", color="tab:red")
    for mu in dist.means:
        ax.add_patch(_circle(mu, 3 * sigma))
    lim = 1.6 if dataset == "ring" else 5.5
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=9)


def _circle(center, radius):
    from matplotlib.patches import Circle
    return Circle(center, radius, fill=False, color="tab:red", linewidth=0.6)


def plot_table(rows):
    """Bar charts (modes captured, high-quality %) with standard-error bars for the rows of
    `aggregate`, one column per dataset; vanilla in grey. Returns the matplotlib figure."""
    import matplotlib.pyplot as plt

    datasets = [d for d in DATASETS if any(r["dataset"] == d for r in rows)]
    fig, axes = plt.subplots(2, len(datasets), figsize=(5.5 * len(datasets), 6.5),
                             squeeze=False)
    for col, name in enumerate(datasets):
        sub = [r for r in rows if r["dataset"] == name]
        pos = np.arange(len(sub))
        colors = ["0.55" if r["method"] == "vanilla" else "tab:blue" for r in sub]
        for ax, key, label in ((axes[0, col], "modes", "modes captured"),
                               (axes[1, col], "high_quality", "high-quality samples (%)")):
            ax.bar(pos, [r[key][0] for r in sub], yerr=[r[key][1] for r in sub], capsize=3,
                   color=colors)
            ax.set_ylabel(label)
            ax.set_title(f"{name}: {label}", fontsize=10)
        axes[0, col].axhline(sub[0]["num_modes"], color="k", lw=0.8, ls="--")
        axes[1, col].axhline(90, color="k", lw=0.8, ls=":")
        for ax in axes[:, col]:
            ax.set_xticks(pos)
            ax.set_xticklabels([f"{r['method'].replace('_', chr(10))}\n(n={r['seeds']})"
                                for r in sub], fontsize=7)
    fig.tight_layout()
    return fig
