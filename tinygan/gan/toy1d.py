"""The 1D experiment behind Figure 1 of Goodfellow et al. 2014, run for real: a small MLP maps
uniform noise z to x = G(z) and learns to match a Gaussian while an MLP discriminator learns to
tell the two apart. Holds the default settings, the models, the run (with snapshots for the
figure and the animation), the measurements (JS divergence between histograms, C(G), D*) and the
drawing of the four-panel figure and the GIF.

Every random number comes from generators seeded by `Toy1DConfig.seed`, so a run is repeatable.
"""
from __future__ import annotations

import copy
import math
from dataclasses import asdict, dataclass, field

import numpy as np

from .. import backend, divergences, init, nn
from ..ops import concatenate
from ..data import toy
from ..optim import Adam
from ..tensor import Tensor, no_grad
from .trainer import Trainer, uniform_noise

LOG4 = math.log(4.0)


@dataclass
class Toy1DConfig:
    """Everything a run depends on. The defaults meet the targets in benchmarks/results/toy1d.md
    (JS < 0.05 nats and mean D within 0.5 +- 0.1 for every seed). The "plain" settings of the
    lesson, d_steps=1, lr_decay=False, minibatch_std=False, standardize=False, do not."""
    seed: int = 0
    data_mean: float = 2.0
    data_std: float = 0.5
    noise_low: float = -1.0            # z ~ U(noise_low, noise_high), as in Figure 1
    noise_high: float = 1.0
    hidden: int = 32                   # width of both MLPs
    g_act: str = "leaky_relu"          # G's hidden activation ("tanh" or "leaky_relu")
    minibatch_std: bool = True         # D also sees the minibatch's standard deviation
    standardize: bool = True           # D sees (x - data_mean) / data_std
    iterations: int = 2000
    batch_size: int = 128              # m in Algorithm 1
    d_steps: int = 2                   # k in Algorithm 1
    objective: str = "nonsaturating"
    lr_g: float = 1e-3
    lr_d: float = 1e-3
    betas: tuple = (0.5, 0.999)
    lr_decay: bool = True              # linear decay of both learning rates to lr_final_frac
    lr_final_frac: float = 0.05
    snapshot_every: int = 40           # one animation frame per snapshot
    x_range: tuple = (-1.5, 4.5)       # where D and p_g are drawn and histogrammed
    bins: int = 60

    def replace(self, **changes) -> "Toy1DConfig":
        return Toy1DConfig(**{**asdict(self), **changes})


class MinibatchStd(nn.Module):
    """Appends the spread of the whole minibatch to every sample (Karras et al. 2018): x (m, d)
    -> [x, s] (m, d + 1), s = the batch's standard deviation averaged over features. A per-sample
    D can miss a generator that is too narrow; with s it sees a batch's spread directly.
    `fixed_std`, when set, replaces the batch's own s (to draw D(x) as it judges one batch)."""

    def __init__(self):
        self.fixed_std = None

    def forward(self, x):
        if self.fixed_std is None:
            s = (x.var(axis=0, keepdims=True) + 1e-8).sqrt().mean(axis=1, keepdims=True)  # (1, 1)
        else:
            s = Tensor(backend.get_array_module(x.data).full((1, 1), self.fixed_std, x.dtype))
        return concatenate([x, s.broadcast_to((x.shape[0], 1))], axis=1)        # (m, d + 1)


class Standardize(nn.Module):
    """x -> (x - mean) / std with fixed numbers: the data's own scale, so that D's first-layer
    units, each bending D's curve once at x = -b/w, start out bending where the data are."""

    def __init__(self, mean: float, std: float):
        self.mean, self.std = mean, std

    def forward(self, x):
        return (x - self.mean) / self.std

    def extra_repr(self):
        return f"mean={self.mean}, std={self.std}"


_ACTIVATIONS = {"tanh": nn.Tanh, "leaky_relu": lambda: nn.LeakyReLU(0.2)}


def build_models(config: Toy1DConfig, rng, device="cpu"):
    """G: z (m, 1) -> x (m, 1); D: x (m, 1) -> logit (m, 1), seeing the minibatch's spread when
    config.minibatch_std. Weights drawn from `rng` with PyTorch's default uniform init, so a run
    depends on nothing but the seed."""
    if config.g_act not in _ACTIVATIONS:
        raise ValueError(f"g_act must be one of {sorted(_ACTIVATIONS)}, got {config.g_act!r}")
    h, act = config.hidden, _ACTIVATIONS[config.g_act]
    G = nn.Sequential(nn.Linear(1, h), act(), nn.Linear(h, h), act(), nn.Linear(h, 1))
    first = [MinibatchStd(), nn.Linear(2, h)] if config.minibatch_std else [nn.Linear(1, h)]
    if config.standardize:
        first = [Standardize(config.data_mean, config.data_std)] + first
    D = nn.Sequential(*first, nn.LeakyReLU(0.2), nn.Linear(h, h), nn.LeakyReLU(0.2),
                      nn.Linear(h, 1))
    for model in (G, D):
        init.default_init_(model, rng).to(device)
    return G, D


def first_layer_bends(D, batch_std: float) -> np.ndarray:
    """Where each unit of D's first Linear layer bends D's curve: the x with w x + b = 0 (in data
    units, undoing Standardize; a minibatch-std input is held at batch_std). Between two bends
    the logit is a straight line in x."""
    std_layer = next((m for m in D if isinstance(m, Standardize)), None)
    mean, scale = (std_layer.mean, std_layer.std) if std_layer is not None else (0.0, 1.0)
    linear = next(m for m in D if isinstance(m, nn.Linear))
    w, b = linear.weight.numpy().astype(np.float64), linear.bias.numpy().astype(np.float64)
    if w.shape[1] == 2:  # [x, s] with the minibatch std s
        b = b + w[:, 1] * batch_std / scale
    with np.errstate(divide="ignore"):
        return mean + scale * (-b / w[:, 0])


def data_distribution(config: Toy1DConfig) -> toy.GaussianMixture:
    return toy.gaussian_1d(config.data_mean, config.data_std)


def _linear_decay(config: Toy1DConfig):
    if not config.lr_decay:
        return None
    total, floor = config.iterations, config.lr_final_frac
    return lambda it: 1.0 - (1.0 - floor) * min(it / total, 1.0)


def make_trainer(config: Toy1DConfig, device=None) -> Trainer:
    """Models, optimizers and the Algorithm-1 trainer for a config, all seeded by config.seed."""
    device = backend.default_device() if device is None else backend.check_device(device)
    G, D = build_models(config, backend.rng([config.seed, 1], device), device)
    data = data_distribution(config)
    return Trainer(G, D, Adam(G.parameters(), config.lr_g, config.betas),
                   Adam(D.parameters(), config.lr_d, config.betas),
                   data=lambda m, rng: data.sample(m, rng=rng, device=device),
                   noise=uniform_noise(1, config.noise_low, config.noise_high),
                   batch_size=config.batch_size, d_steps=config.d_steps,
                   objective=config.objective, seed=config.seed, device=device,
                   lr_lambda=_linear_decay(config))


# ---------------------------------------------------------------- measurements


def bin_edges(config: Toy1DConfig) -> np.ndarray:
    """The histogram bins over x_range, plus one overflow bin on each side (to +-inf) so that no
    generator mass is lost when it strays outside the plot."""
    inner = np.linspace(*config.x_range, config.bins + 1)
    return np.concatenate([[-np.inf], inner, [np.inf]])


def data_histogram(config: Toy1DConfig, edges=None) -> np.ndarray:
    """Exact probability of each bin under p_data (differences of the CDF)."""
    edges = bin_edges(config) if edges is None else edges
    return np.diff(data_distribution(config).cdf(edges))


def noise_grid(config: Toy1DConfig, n: int = 20000) -> np.ndarray:
    """n evenly spaced quantiles of the uniform noise prior: pushing them through G gives the
    generator's histogram without sampling noise."""
    u = (np.arange(n) + 0.5) / n
    return config.noise_low + (config.noise_high - config.noise_low) * u


def generate(G, z: np.ndarray) -> np.ndarray:
    """x = G(z) for a host array of noise values, as a host array."""
    device = G.parameters()[0].device
    with no_grad():
        x = G(Tensor(backend.to_device(z.reshape(-1, 1).astype(np.float32), device)))
    return x.numpy().ravel().astype(np.float64)


def discriminate(D, x: np.ndarray, batch_std: float | None = None) -> np.ndarray:
    """D(x) = sigmoid(logit) on a host array of points, as a host array. With a minibatch-std
    D, `batch_std` is the spread D is told the points' batch has (default: the points' own)."""
    device = D.parameters()[0].device
    layer = next((m for m in D if isinstance(m, MinibatchStd)), None)
    if layer is not None and batch_std is not None:
        scale = next((m.std for m in D if isinstance(m, Standardize)), 1.0)
        layer.fixed_std = batch_std / scale  # in the units the layer sees
    try:
        with no_grad():
            x = Tensor(backend.to_device(x.reshape(-1, 1).astype(np.float32), device))
            out = D(x).sigmoid()
    finally:
        if layer is not None:
            layer.fixed_std = None
    return out.numpy().ravel().astype(np.float64)


@dataclass
class Measurement:
    """How close G is to the data and what D thinks, at one iteration."""
    iteration: int
    js: float            # JS(p_data || p_g) between histograms on the same bins, nats
    c_of_g: float        # C(G) = -log 4 + 2 JS: the value of the game when D is optimal
    value: float         # V(G, D) with the current D (a lower bound on C(G))
    d_real: float        # mean D(x) over data
    d_fake: float        # mean D(G(z)) over the noise prior
    g_mean: float
    g_std: float


def measure(G, D, config: Toy1DConfig, iteration: int = 0) -> Measurement:
    """Quadrature, not sampling: data terms come from the exact density on a fine grid, generator
    terms from G on evenly spaced noise quantiles. Deterministic for given weights."""
    z = noise_grid(config)
    fake = generate(G, z)
    edges = bin_edges(config)
    p_g = np.histogram(fake, edges)[0] / len(fake)
    js = divergences.js_divergence(data_histogram(config, edges), p_g, normalize=True)
    dist = data_distribution(config)
    xs = config.data_mean + config.data_std * np.linspace(-6, 6, 4001)
    w = dist.density(xs)
    w /= w.sum()
    # a minibatch-std D judges real points in a batch with the data's spread, fakes in G's
    d_x = np.clip(discriminate(D, xs, batch_std=config.data_std), 1e-12, 1 - 1e-12)
    d_g = np.clip(discriminate(D, fake), 1e-12, 1 - 1e-12)
    value = float(w @ np.log(d_x) + np.mean(np.log1p(-d_g)))
    return Measurement(iteration, js, -LOG4 + 2 * js, value, float(w @ d_x), float(d_g.mean()),
                       float(fake.mean()), float(fake.std()))


# ---------------------------------------------------------------- a run with snapshots


@dataclass
class Snapshot:
    """What one frame of the figure or animation shows."""
    iteration: int
    d_curve: np.ndarray      # D(x) on the plot grid
    p_g: np.ndarray          # generator density per bin (histogram / bin width)
    lines: np.ndarray        # G(z) for the z values whose mapping lines are drawn
    measurement: Measurement


@dataclass
class Toy1DResult:
    config: Toy1DConfig
    trainer: Trainer
    snapshots: list = field(default_factory=list)
    history: dict = field(default_factory=dict)

    @property
    def final(self) -> Measurement:
        return self.snapshots[-1].measurement


def plot_grid(config: Toy1DConfig, n: int = 300) -> np.ndarray:
    return np.linspace(*config.x_range, n)


def line_grid(config: Toy1DConfig, n: int = 21) -> np.ndarray:
    """Evenly spaced z values whose mapping lines z -> G(z) are drawn."""
    return np.linspace(config.noise_low, config.noise_high, n)


def snapshot(G, D, config: Toy1DConfig, iteration: int) -> Snapshot:
    """The frame at one moment. D(x) is drawn as D judges a batch of G's samples (with G's
    spread, for a minibatch-std D): what the generator's gradient comes from."""
    edges = bin_edges(config)[1:-1]
    fake = generate(G, noise_grid(config))
    p_g = np.histogram(fake, edges)[0] / len(fake) / np.diff(edges)
    m = measure(G, D, config, iteration)
    return Snapshot(iteration, discriminate(D, plot_grid(config), batch_std=m.g_std), p_g,
                    generate(G, line_grid(config)), m)


def run(config: Toy1DConfig | None = None, device=None, progress=None) -> Toy1DResult:
    """Train G and D by Algorithm 1 with `config` (the defaults when None), taking a snapshot
    every config.snapshot_every iterations. progress(result) is called after each snapshot."""
    config = Toy1DConfig() if config is None else config
    trainer = make_trainer(config, device)
    result = Toy1DResult(config, trainer)

    def take(t: Trainer):
        result.snapshots.append(snapshot(t.G, t.D, config, t.iteration))
        if progress is not None:
            progress(result)

    result.history = trainer.fit(config.iterations, callback=take, every=config.snapshot_every)
    return result


# ---------------------------------------------------------------- Figure 1, for real


def optimal_discriminator(config: Toy1DConfig, p_g: np.ndarray, floor: float = 0.0):
    """D*(x) = p_data(x) / (p_data(x) + p_g(x)) at the bin centres (Goodfellow et al. 2014,
    Proposition 1), p_g a density per bin. NaN where p_data + p_g <= floor: plots pass a small
    floor so that D* is not drawn where neither distribution has visible mass."""
    edges = bin_edges(config)[1:-1]
    p_data = data_distribution(config).density(0.5 * (edges[1:] + edges[:-1]))
    d_star = divergences.optimal_discriminator(p_data, p_g)
    return np.where(p_data + p_g > floor, d_star, np.nan)


def branch(trainer: Trainer, d_steps: int, g_steps: int):
    """A copy of the trainer (models, optimizer states, random stream) stepped `d_steps` times
    on D alone and then `g_steps` times on G alone; the original is untouched."""
    other = copy.deepcopy(trainer)
    for _ in range(d_steps):
        other.d_step()
    for _ in range(g_steps):
        other.g_step()
    return other


@dataclass
class Figure1Panels:
    """The four moments of Figure 1, taken from a real run."""
    a: Snapshot          # mid-training: p_g close to p_data, D partly accurate
    b: Snapshot          # same G, D trained alone to (near) D*
    c: Snapshot          # after some G steps against that D: G(z) flows towards the data
    d: Snapshot          # the end of training: p_g ~ p_data, D ~ 1/2


def figure1_panels(config: Toy1DConfig | None = None, device=None, at: int | None = None,
                   d_only_steps: int = 1000, g_only_steps: int = 3, progress=None):
    """Run training and collect the four panels. `at` is the iteration of panel (a) (by default
    the first snapshot a tenth of the way in). Returns (result, panels)."""
    config = Toy1DConfig() if config is None else config
    at = max(config.snapshot_every, config.iterations // 10) if at is None else at
    captured = {}

    def watch(result):
        t = result.trainer
        if "b" not in captured and t.iteration >= at:
            captured["a"] = result.snapshots[-1]
            after_d = branch(t, d_only_steps, 0)
            captured["b"] = snapshot(after_d.G, after_d.D, config, t.iteration)
            after_g = branch(after_d, 0, g_only_steps)
            captured["c"] = snapshot(after_g.G, after_g.D, config, t.iteration)
        if progress is not None:
            progress(result)

    result = run(config, device, progress=watch)
    return result, Figure1Panels(captured["a"], captured["b"], captured["c"], result.snapshots[-1])


Z_LEVEL = -0.55  # height of the z line below the x axis in the Figure-1 panels


def _segments(config: Toy1DConfig, xs, z_level: float, x_level: float):
    """The mapping lines: from (z, z_level) to (G(z), x_level) for the line_grid z values."""
    return [[(z, z_level), (x, x_level)] for z, x in zip(line_grid(config), xs)]


def draw_panel(ax, config: Toy1DConfig, snap: Snapshot, title: str = "", show_star=True):
    """One panel in the style of Figure 1: p_data black dotted, p_g green, D blue dashed, D*
    light blue; below, lines from evenly spaced z (bottom line) to x = G(z) (the x axis)."""
    edges = bin_edges(config)[1:-1]
    centres = 0.5 * (edges[1:] + edges[:-1])
    xs = plot_grid(config)
    z_level, x_level = Z_LEVEL, 0.0
    artists = {}
    artists["data"], = ax.plot(xs, data_distribution(config).density(xs), "k:", lw=2,
                               label=r"$p_{data}$")
    artists["p_g"], = ax.plot(centres, snap.p_g, "g-", lw=1.8, label=r"$p_g$")
    artists["d"], = ax.plot(xs, snap.d_curve, "b--", lw=1.8, label="$D(x)$")
    if show_star:
        artists["d_star"], = ax.plot(centres, optimal_discriminator(config, snap.p_g, 0.02), "-",
                                     color="#6baed6", lw=1.0, alpha=0.9, label="$D^*(x)$")
    ax.axhline(x_level, color="k", lw=0.8)
    ax.plot([config.noise_low, config.noise_high], [z_level, z_level], "k-", lw=0.8)
    from matplotlib.collections import LineCollection

    artists["lines"] = ax.add_collection(LineCollection(
        _segments(config, snap.lines, z_level, x_level), colors="0.45", linewidths=0.7))
    ax.text(config.x_range[0] + 0.05, x_level + 0.03, "x", fontsize=9)
    ax.text(config.noise_low - 0.35, z_level - 0.02, "z", fontsize=9)
    ax.set_xlim(*config.x_range)
    ax.set_ylim(z_level - 0.1, 1.25)
    ax.set_yticks([0, 0.5, 1.0])
    ax.set_title(title, fontsize=10)
    return artists


def draw_figure1(result: Toy1DResult, panels: Figure1Panels):
    """Top row: Figure 1's panels (a)-(d) from the run; bottom row: JS(p_data||p_g) and the
    value of the game (C(G) from the histograms, V(G, D) with the trained D) over training."""
    import matplotlib.pyplot as plt

    config = result.config
    fig = plt.figure(figsize=(14, 6.4))
    grid = fig.add_gridspec(2, 4, height_ratios=[1.25, 1], hspace=0.38, wspace=0.22)
    titles = [f"(a) iteration {panels.a.iteration}\nD partly accurate",
              "(b) the same G, D trained alone\nD close to D*",
              "(c) then G trained alone\nG(z) flows to where D says 'real'",
              f"(d) iteration {panels.d.iteration}\np_g close to p_data, D close to 1/2"]
    for i, (snap, title) in enumerate(zip((panels.a, panels.b, panels.c, panels.d), titles)):
        ax = fig.add_subplot(grid[0, i])
        draw_panel(ax, config, snap, title)
        ax.text(0.98, 0.97, f"JS = {snap.measurement.js:.3f}", transform=ax.transAxes,
                ha="right", va="top", fontsize=8)
        if i == 0:
            ax.legend(loc="upper left", fontsize=7, frameon=False)
    it = [s.iteration for s in result.snapshots]
    ms = [s.measurement for s in result.snapshots]
    ax = fig.add_subplot(grid[1, :2])
    ax.semilogy(it, [max(m.js, 1e-5) for m in ms], "g-", label=r"JS$(p_{data}\|p_g)$")
    ax.axhline(0.05, color="0.5", ls=":", lw=1, label="target 0.05")
    ax.set_xlabel("iteration")
    ax.set_ylabel("nats")
    ax.set_title("Jensen-Shannon divergence between the histograms", fontsize=10)
    ax.legend(fontsize=8, frameon=False)
    ax = fig.add_subplot(grid[1, 2:])
    ax.plot(it, [m.c_of_g for m in ms], "g-", label=r"$C(G) = -\log 4 + 2\,$JS")
    ax.plot(it, [m.value for m in ms], "b--", lw=1, label="$V(G, D)$ with the trained D")
    ax.axhline(-LOG4, color="k", ls=":", lw=1, label=r"$-\log 4$")
    ax.set_ylim(min(-LOG4 - 0.15, min(m.value for m in ms) - 0.05),
                min(0.2, max(m.c_of_g for m in ms) + 0.05))
    ax.set_xlabel("iteration")
    ax.set_title("value of the game", fontsize=10)
    ax.legend(fontsize=8, frameon=False)
    return fig


def animate(result: Toy1DResult, every: int = 1):
    """A matplotlib animation of the whole run, one frame per `every` snapshots (and the last):
    the Figure-1 panel on the left, the JS divergence so far on the right."""
    import matplotlib.pyplot as plt
    from matplotlib.animation import FuncAnimation
    from matplotlib.ticker import FormatStrFormatter, NullFormatter

    config, snaps = result.config, result.snapshots
    frames = list(range(0, len(snaps), every))
    frames += [len(snaps) - 1] if frames[-1] != len(snaps) - 1 else []
    fig, (ax, ax_js) = plt.subplots(1, 2, figsize=(9, 3.6), gridspec_kw={"width_ratios": [3, 2]})
    artists = draw_panel(ax, config, snaps[0])
    ax.legend(loc="upper left", fontsize=7, frameon=False)
    title = ax.set_title("", fontsize=10)
    it = [s.iteration for s in snaps]
    js = [max(s.measurement.js, 1e-5) for s in snaps]
    ax_js.set_xlim(0, it[-1])
    ax_js.set_ylim(min(js) / 2, 1.0)
    ax_js.set_yscale("log")
    # plain tick labels: mathtext ones (10^-1) cost a lot when every frame is drawn
    ax_js.yaxis.set_major_formatter(FormatStrFormatter("%g"))
    ax_js.yaxis.set_minor_formatter(NullFormatter())
    ax_js.axhline(0.05, color="0.5", ls=":", lw=1)
    ax_js.set_xlabel("iteration")
    ax_js.set_title(r"JS$(p_{data}\|p_g)$, nats", fontsize=10)
    curve, = ax_js.plot([], [], "g-")
    fig.tight_layout()

    def update(i):
        s = snaps[i]
        artists["p_g"].set_ydata(s.p_g)
        artists["d"].set_ydata(s.d_curve)
        artists["d_star"].set_ydata(optimal_discriminator(config, s.p_g, 0.02))
        artists["lines"].set_segments(_segments(config, s.lines, Z_LEVEL, 0.0))
        title.set_text(f"iteration {s.iteration}: mean D(x) = {s.measurement.d_real:.2f}, "
                       f"mean D(G(z)) = {s.measurement.d_fake:.2f}")
        curve.set_data(it[:i + 1], js[:i + 1])
        return []

    return FuncAnimation(fig, update, frames=frames, blit=False)
