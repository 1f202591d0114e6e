"""The 1D experiment behind Figure 1 of Goodfellow et al. 2014 (arXiv 1406.2661), run for real:
a small MLP maps uniform noise z to x = G(z) and learns to match a Gaussian while an MLP
discriminator learns to tell the two apart. Holds the config, the models, the measurements
(JS divergence between histograms, C(G), D*), a run with snapshots for the figure and the
animation, and the four moments of Figure 1 (the drawing is in tinygan.viz.toy1d).

Every random number comes from generators seeded by the config's seed, so a run is repeatable.
"""
from __future__ import annotations

import copy
import math
import sys
from dataclasses import dataclass, field

import numpy as np

from .. import backend, divergences, init, nn
from ..data import toy
from ..gan import penalties
from ..gan.hooks import LinearDecay
from ..gan.models import MinibatchStd, Standardize
from ..gan.trainer import Trainer, uniform_noise
from ..optim import Adam
from ..tensor import Tensor, no_grad
from .base import Experiment, ExperimentConfig, param

LOG4 = math.log(4.0)


@dataclass(frozen=True)
class Toy1DConfig(ExperimentConfig):
    """1D Gaussian, Figure 1 of Goodfellow et al. 2014 (metric: JS divergence). The defaults
    meet the targets in benchmarks/results/toy1d.md (JS < 0.05 nats and mean D within 0.5 +- 0.1
    for every seed); the "plain" settings of lesson 3 (d_steps=1, lr_decay=False,
    minibatch_std=False, standardize=False) do not."""
    steps: int = param(2000, "training iterations (Algorithm 1)", minimum=1)
    data_mean: float = param(2.0, "mean of the data Gaussian")
    data_std: float = param(0.5, "standard deviation of the data Gaussian", minimum=1e-6)
    noise_low: float = param(-1.0, "z ~ U(noise_low, noise_high), as in Figure 1")
    noise_high: float = param(1.0, "upper end of the noise interval")
    hidden: int = param(32, "width of both MLPs", minimum=1)
    g_act: str = param("leaky_relu", "G's hidden activation", ("leaky_relu", "tanh"))
    minibatch_std: bool = param(True, "D also sees the minibatch's standard deviation")
    standardize: bool = param(True, "D sees (x - data_mean) / data_std")
    batch_size: int = param(128, "m: samples per discriminator and generator step", minimum=1)
    d_steps: int = param(2, "k: discriminator steps per generator step", minimum=1)
    objective: str = param("nonsaturating", "the generator's loss",
                           ("nonsaturating", "saturating", "maximum_likelihood"))
    critic: str = param("none", "make D a critic (lesson 10): wgan clips its weights, wgan_gp "
                        "penalizes its slope, sn_gan normalizes its layers (hinge loss); "
                        "none: the objective above", ("none",) + penalties.CRITICS)
    clip_value: float = param(0.01, "wgan: the critic's weights are clamped to +-clip_value",
                              minimum=1e-12)
    gp_weight: float = param(10.0, "wgan_gp: lambda of the gradient penalty", minimum=0)
    gp_one_sided: bool = param(False, "wgan_gp: penalize only slopes above 1 (no barrier at "
                                      "slope 0, see lesson 10)")
    lr_g: float = param(1e-3, "generator Adam learning rate", minimum=0)
    lr_d: float = param(1e-3, "discriminator Adam learning rate", minimum=0)
    betas: tuple[float, float] = param((0.5, 0.999), "Adam's betas for both networks")
    lr_decay: bool = param(True, "decay both learning rates linearly to lr_final_frac")
    lr_final_frac: float = param(0.05, "the learning rates' final fraction", minimum=0)
    log_every: int = param(10, "iterations between history records", minimum=1)
    snapshot_every: int = param(40, "iterations between animation frames", minimum=1)
    x_range: tuple[float, float] = param((-1.5, 4.5), "where D and p_g are drawn and binned")
    bins: int = param(60, "histogram bins over x_range", minimum=1)

    def __post_init__(self):
        super().__post_init__()
        if not self.noise_low < self.noise_high or not self.x_range[0] < self.x_range[1]:
            raise ValueError(f"Toy1DConfig: need noise_low < noise_high and x_range[0] < "
                             f"x_range[1], got {self.noise_low}, {self.noise_high} and "
                             f"{self.x_range}")

    # --- the grids every measurement and picture of the run shares
    def data(self) -> toy.GaussianMixture:
        return toy.gaussian_1d(self.data_mean, self.data_std)

    def bin_edges(self) -> np.ndarray:
        """The histogram bins over x_range, plus one overflow bin on each side (to +-inf) so
        that no generator mass is lost when it strays outside the plot."""
        inner = np.linspace(*self.x_range, self.bins + 1)
        return np.concatenate([[-np.inf], inner, [np.inf]])

    def bin_centres(self) -> np.ndarray:
        edges = self.bin_edges()[1:-1]
        return 0.5 * (edges[1:] + edges[:-1])

    def plot_grid(self, n: int = 300) -> np.ndarray:
        return np.linspace(*self.x_range, n)

    def line_grid(self, n: int = 21) -> np.ndarray:
        """Evenly spaced z values whose mapping lines z -> G(z) are drawn."""
        return np.linspace(self.noise_low, self.noise_high, n)

    def noise_grid(self, n: int = 20000) -> np.ndarray:
        """n evenly spaced quantiles of the uniform noise prior: pushing them through G gives
        the generator's histogram without sampling noise."""
        u = (np.arange(n) + 0.5) / n
        return self.noise_low + (self.noise_high - self.noise_low) * u

    def optimal_discriminator(self, p_g: np.ndarray, floor: float = 0.0,
                              at: np.ndarray | None = None) -> np.ndarray:
        """D*(x) = p_data(x) / (p_data(x) + p_g(x)) (Goodfellow et al. 2014, Proposition 1), p_g
        a density at the points `at` (default: per bin, at the bin centres). NaN where
        p_data + p_g <= floor: plots pass a small floor so that D* is not drawn where neither
        distribution has visible mass."""
        p_data = self.data().density(self.bin_centres() if at is None else at)
        d_star = divergences.optimal_discriminator(p_data, p_g)
        return np.where(p_data + p_g > floor, d_star, np.nan)


# ---------------------------------------------------------------- models and the trainer


def build_models(config: Toy1DConfig, rng, device="cpu"):
    """G: z (m, 1) -> x (m, 1); D: x (m, 1) -> logit (m, 1), seeing the minibatch's spread when
    config.minibatch_std. Weights drawn from `rng` with PyTorch's default uniform init, so a run
    depends on nothing but the seed."""
    h = config.hidden
    act = nn.Tanh if config.g_act == "tanh" else (lambda: nn.LeakyReLU(0.2))
    G = nn.Sequential(nn.Linear(1, h), act(), nn.Linear(h, h), act(), nn.Linear(h, 1))
    first = [MinibatchStd(), nn.Linear(2, h)] if config.minibatch_std else [nn.Linear(1, h)]
    if config.standardize:
        first = [Standardize(config.data_mean, config.data_std)] + first
    D = nn.Sequential(*first, nn.LeakyReLU(0.2), nn.Linear(h, h), nn.LeakyReLU(0.2),
                      nn.Linear(h, 1))
    for model in (G, D):  # on the device first: a device generator cannot fill host arrays
        init.default_init_(model.to(device), rng)
    return G, D


def build(config: Toy1DConfig, device=None) -> Experiment:
    """Models, optimizers and the Algorithm-1 trainer for a config, all seeded by config.seed."""
    device = backend.resolve_device(device)
    G, D = build_models(config, backend.rng([config.seed, 1], device), device)
    data = config.data()
    hooks = [LinearDecay(config.steps, config.lr_final_frac)] if config.lr_decay else []
    objective = config.objective
    if config.critic != "none":
        if config.minibatch_std:
            raise ValueError("a critic judges each sample alone (its Lipschitz bound and the "
                             "gradient penalty are per sample), but minibatch_std lets D see "
                             "the whole batch's spread: set minibatch_std=False with critic="
                             f"{config.critic!r}")
        objective, extra = penalties.critic_method(config.critic, D, config.clip_value,
                                                   config.gp_weight, [config.seed, 6], device,
                                                   config.gp_one_sided)
        hooks += extra
    trainer = Trainer(G, D, Adam(G.parameters(), config.lr_g, config.betas),
                      Adam(D.parameters(), config.lr_d, config.betas),
                      data=lambda m, rng: data.sample(m, rng=rng, device=device),
                      noise=uniform_noise(1, config.noise_low, config.noise_high),
                      batch_size=config.batch_size, d_steps=config.d_steps,
                      objective=objective, seed=config.seed, device=device,
                      hooks=hooks, log_every=config.log_every)
    return Experiment("toy1d", config, device, trainer, G, sys.modules[__name__])


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


# ---------------------------------------------------------------- measurements


def data_histogram(config: Toy1DConfig) -> np.ndarray:
    """Exact probability of each bin under p_data (differences of the CDF)."""
    return np.diff(config.data().cdf(config.bin_edges()))


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
    fake = generate(G, config.noise_grid())
    p_g = np.histogram(fake, config.bin_edges())[0] / len(fake)
    js = divergences.js_divergence(data_histogram(config), p_g, normalize=True)
    xs = config.data_mean + config.data_std * np.linspace(-6, 6, 4001)
    w = config.data().density(xs)
    w /= w.sum()
    # a minibatch-std D judges real points in a batch with the data's spread, fakes in G's
    d_x = np.clip(discriminate(D, xs, batch_std=config.data_std), 1e-12, 1 - 1e-12)
    d_g = np.clip(discriminate(D, fake), 1e-12, 1 - 1e-12)
    value = float(w @ np.log(d_x) + np.mean(np.log1p(-d_g)))
    return Measurement(iteration, js, -LOG4 + 2 * js, value, float(w @ d_x), float(d_g.mean()),
                       float(fake.mean()), float(fake.std()))


def evaluate(exp: Experiment) -> dict:
    t, c = exp.trainer, exp.config
    m = measure(t.G, t.D, c, t.iteration)
    return {"js_divergence_nats": m.js, "c_of_g": m.c_of_g, "value": m.value,
            "mean_d_real": m.d_real, "mean_d_fake": m.d_fake, "g_mean": m.g_mean,
            "g_std": m.g_std, "data_mean": c.data_mean, "data_std": c.data_std}


# ---------------------------------------------------------------- snapshots and a run


#: width (in units of x) of the Gaussian kernel that smooths p_g for the pictures; a fifth of
#: the data's standard deviation. The measurements use the histograms, never this curve.
SMOOTHING = 0.05


@dataclass
class Snapshot:
    """What one frame of the figure or animation shows."""
    iteration: int
    d_curve: np.ndarray      # D(x) on the plot grid
    p_g: np.ndarray          # generator density per bin (histogram / bin width)
    lines: np.ndarray        # G(z) for the z values whose mapping lines are drawn
    measurement: Measurement
    p_g_curve: np.ndarray | None = None  # p_g on the plot grid, smoothed (kernel SMOOTHING)


def smoothed_density(G, config: Toy1DConfig) -> np.ndarray:
    """p_g on the plot grid: a Gaussian kernel density estimate (width SMOOTHING) of G applied
    to 2000 evenly spaced noise quantiles. A histogram of the same points jumps from bin to bin
    (and a piecewise-linear G's exact density is piecewise constant); the pictures of p_g and
    D* read better smooth."""
    return divergences.kernel_density(generate(G, config.noise_grid(2000)), config.plot_grid(),
                                      SMOOTHING)


def snapshot(G, D, config: Toy1DConfig, iteration: int) -> Snapshot:
    """The frame at one moment. D(x) is drawn as D judges a batch of G's samples (with G's
    spread, for a minibatch-std D): what the generator's gradient comes from."""
    edges = config.bin_edges()[1:-1]
    fake = generate(G, config.noise_grid())
    p_g = np.histogram(fake, edges)[0] / len(fake) / np.diff(edges)
    m = measure(G, D, config, iteration)
    return Snapshot(iteration, discriminate(D, config.plot_grid(), batch_std=m.g_std), p_g,
                    generate(G, config.line_grid()), m, smoothed_density(G, config))


@dataclass
class Toy1DResult:
    """A finished run: the experiment and its snapshots (one every config.snapshot_every)."""
    experiment: Experiment
    snapshots: list = field(default_factory=list)

    config = property(lambda self: self.experiment.config)
    trainer = property(lambda self: self.experiment.trainer)
    history = property(lambda self: self.experiment.trainer.history)
    final = property(lambda self: self.snapshots[-1].measurement)


def run(config: Toy1DConfig | None = None, device=None, progress=None) -> Toy1DResult:
    """Train G and D by Algorithm 1 with `config` (the defaults when None), taking a snapshot
    every config.snapshot_every iterations. progress(result) is called after each snapshot."""
    config = Toy1DConfig() if config is None else config
    result = Toy1DResult(build(config, device))

    def take(t: Trainer):
        result.snapshots.append(snapshot(t.G, t.D, config, t.iteration))
        if progress is not None:
            progress(result)

    result.trainer.fit(config.steps, callback=take, every=config.snapshot_every)
    return result


def frame(exp: Experiment) -> dict:
    t = exp.trainer
    s = snapshot(t.G, t.D, exp.config, t.iteration)
    m = s.measurement
    return {"iteration": s.iteration, "d_curve": s.d_curve, "p_g": s.p_g, "lines": s.lines,
            "measurement": np.array([m.js, m.c_of_g, m.value, m.d_real, m.d_fake, m.g_mean,
                                     m.g_std]), "p_g_curve": s.p_g_curve}


def animate(exp: Experiment, frames: list):
    from ..viz import toy1d as draw1d
    snaps = [Snapshot(int(f["iteration"]), np.asarray(f["d_curve"]), np.asarray(f["p_g"]),
                      np.asarray(f["lines"]),
                      Measurement(int(f["iteration"]), *map(float, f["measurement"])),
                      None if f.get("p_g_curve") is None else np.asarray(f["p_g_curve"]))
             for f in frames]  # runs saved before p_g_curve existed draw the histogram
    return draw1d.animate(exp.config, snaps)


def draw(exp: Experiment, n=None, seed=1234, labels=None):
    from ..viz import toy1d as draw1d
    exp.not_conditional(labels)
    t = exp.trainer
    snap = snapshot(t.G, t.D, exp.config, t.iteration)
    return draw1d.panel_figure(exp.config, snap, f"iteration {snap.iteration}: "
                               f"JS = {snap.measurement.js:.4f} nats")


def sample(exp: Experiment, n: int, seed=1234, labels=None) -> dict:
    """{"points": (n, 1)}: x = G(z), z ~ U(noise_low, noise_high) drawn with `seed`."""
    exp.not_conditional(labels)
    c = exp.config
    z = np.random.default_rng(seed).uniform(c.noise_low, c.noise_high, n)
    return {"points": generate(exp.generator, z).astype(np.float32).reshape(n, 1)}


# ---------------------------------------------------------------- Figure 1, for real


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
    at = max(config.snapshot_every, config.steps // 10) if at is None else at
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
