# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lesson 3 — Training a GAN: Algorithm 1 and Figure 1, for real
#
# **Goals.** By the end you will be able to
# 1. read the GAN training loop (Algorithm 1 of Goodfellow et al. 2014) line by line in
#    `tinygan/gan/trainer.py`, and say why the discriminator's step never touches the
#    generator and the other way round;
# 2. redraw the paper's Figure 1 — the data density, the generator's density, the
#    discriminator, and the map $x = G(z)$ that squeezes and stretches uniform noise — from a
#    *real* training run, with the optimal discriminator $D^*$ drawn on top of the trained one;
# 3. watch $\mathrm{JS}(p_\text{data}\,\|\,p_g)$ fall and the value of the game $C(G)$ approach
#    $-\log 4$;
# 4. explain why "the discriminator outputs 1/2" is **not** proof that training worked, and
#    what repairs the failure;
# 5. see the vanishing gradient of the original ("saturating") generator loss and why the
#    paper recommends the non-saturating one.
#
# **Prerequisites.** Lesson 1 (autograd) and Lesson 2 (divergences, $D^*$ and
# $C(G) = -\log 4 + 2\,\mathrm{JS}$). The command `python -m tinygan demo` runs the same
# experiment as section 3 and writes the same figure and animation.
#
# **Reading along.** `tinygan/gan/trainer.py` (the loop), `tinygan/experiments/toy1d.py` (the
# config, the models and the measurements), `tinygan/viz/toy1d.py` (the drawing),
# `tinygan/data/toy.py` (the data).

# %%
import inspect
import math

import matplotlib.pyplot as plt
import numpy as np

import tinygan as tg
from tinygan import backend, experiments
from tinygan.experiments import toy1d
from tinygan.gan import losses
from tinygan.gan.trainer import Trainer
from tinygan.optim import SGD
from tinygan.viz import is_fast, save_animation, save_figure
from tinygan.viz import toy1d as draw1d

FAST = is_fast()
print("fast mode" if FAST else "full mode")
config = experiments.get("toy1d").make_config()  # the registry's defaults
if FAST:  # a short run: the pictures are drawn, but training has not converged
    config = config.replace(steps=300, snapshot_every=30)
SEEDS = [0, 1] if FAST else [0, 1, 2, 3, 4]

# %% [markdown]
# ## 1. The data, the noise and the two players
#
# The data are one-dimensional: $x \sim \mathcal{N}(2, 0.5^2)$. The noise is uniform,
# $z \sim U(-1, 1)$, as in the paper's Figure 1. The generator $G$ and the discriminator $D$
# are small multilayer perceptrons; $D$ returns a *logit* $a$, and $D(x) = \sigma(a)$ is the
# probability it gives to "$x$ is real". Every random number of a run comes from generators
# seeded by `config.seed`.

# %%
data = config.data()
x = data.sample(5000, rng=backend.rng(0)).numpy().ravel()
grid = config.plot_grid()
fig, ax = plt.subplots(figsize=(6, 2.6))
ax.hist(x, bins=60, density=True, color="0.8", label="5000 samples")
ax.plot(grid, data.density(grid), "k:", lw=2, label=r"$p_{data}$ (exact)")
ax.legend(frameon=False)
ax.set_xlabel("x")
plt.show()

G, D = toy1d.build_models(config, backend.rng([config.seed, 1]))
print("G =", G)
print("D =", D)

# %% [markdown]
# $D$ starts with two layers without weights. `Standardize` maps $x$ to $(x - 2)/0.5$, the
# data's own scale. `MinibatchStd` appends the standard deviation of the whole minibatch to
# each sample, so $D$ judges a point *and* the spread of the batch it came in. Section 4 shows
# why both matter; for now read them as part of $D$.
#
# ## 2. Algorithm 1, line by line
#
# One iteration of the paper's Algorithm 1: $k$ discriminator steps, each on $m$ noise samples
# and $m$ data samples, then one generator step on $m$ fresh noise samples. Here is the real
# code that runs below.

# %%
print(inspect.getsource(Trainer.step))
print(inspect.getsource(Trainer.d_step))
print(inspect.getsource(Trainer.g_step))

# %% [markdown]
# Three details keep each player's step its own:
#
# * In `d_step` the fakes are made under `no_grad()`: they are constants for $D$'s loss, so no
#   graph reaches $G$ and its parameters get no gradient.
# * In `g_step` the loss *does* flow through $D$ (that is how $G$ learns where $D$ would call
#   its samples real), but $D$ is `frozen`: its weights stop requiring a gradient for the
#   duration, so nothing is computed or accumulated for them. The gradient still passes
#   through $D$ to its input, $G(z)$.
# * Each optimizer holds only its own player's parameters.
#
# The tests in `tests/test_trainer.py` check all three: a D step leaves $G$'s weights bit for
# bit unchanged, a G step leaves $D$'s, and the optimizers step exactly $k$ times for $D$ per
# step of $G$.
#
# ## 3. Figure 1 from a real run
#
# Figure 1 of the paper is a sketch of four moments: (a) a generator close to the data and a
# partly accurate $D$; (b) $D$ trained to convergence against that fixed $G$, where it equals
# $D^*(x) = p_\text{data}(x) / (p_\text{data}(x) + p_g(x))$; (c) $G$ after some steps against
# that $D$, its samples flowing towards where $D$ says "real"; (d) the end, $p_g = p_\text{data}$
# and $D = 1/2$ everywhere.
#
# We take these moments from a real run. Panel (a) is the run at a tenth of its iterations;
# (b) and (c) come from a *copy* of the run at that moment (`toy1d.branch`): the copy trains
# only $D$ for 1000 steps, then only $G$ for 3 steps, while the original run continues
# untouched to (d). The generator's density is the histogram of $G$ applied to 20,000 evenly
# spaced noise values — a quadrature of the noise prior, so it has no sampling noise. The grey
# lines join evenly spaced $z$ on the lower line to $G(z)$ on the $x$ axis: where they crowd,
# $G$ squeezes the noise and $p_g$ is high; where they fan out, $G$ stretches it.

# %%
result, panels = toy1d.figure1_panels(config, d_only_steps=200 if FAST else 1000)
fig = draw1d.draw_figure1(result, panels)
save_figure(fig, "03_toy1d_figure1.png")
plt.show()
final = result.final
print(f"final JS = {final.js:.4f} nats, mean D(x) = {final.d_real:.3f}, "
      f"mean D(G(z)) = {final.d_fake:.3f}, G mean {final.g_mean:.3f}, std {final.g_std:.3f}")

# %% [markdown]
# In full mode the run ends with JS below 0.02 nats, both mean outputs of $D$ at 0.50, and
# $C(G)$ a hair above $-\log 4 \approx -1.386$. The blue dashed $V(G, D)$ (the value of the game
# with the *trained* $D$) sits below $C(G)$ all along: $C(G) = \max_D V(G, D)$, and no trained
# $D$ beats the optimum.
#
# Panel (c) deserves a second look. Three generator steps against a fixed, sharp $D$ already
# pile $G$'s samples where $D$ is highest; in this run JS goes *up*. That is the caption of the paper's
# panel (c), "G(z) flows to regions more likely to be classified as data", taken literally,
# and it is the seed of mode collapse: a generator that chases a fixed discriminator
# overshoots. Algorithm 1 keeps both players moving in small alternating steps for this
# reason.
#
# The animation below is the whole run, one frame every two snapshots (80 iterations).

# %%
anim = draw1d.animate(config, result.snapshots, every=2)
save_animation(anim, "03_toy1d_training.gif", fps=8, dpi=70)
plt.close("all")

# %% [markdown]
# ![training](../figures/03_toy1d_training.gif)
#
# ### The measurements, from scratch
#
# The library measures JS between two histograms on the same bins: the data's from differences
# of its exact CDF, the generator's from the noise quadrature. Recompute both at the end of the
# run from *samples* instead, with plain NumPy, and compare. Sampling noise makes the two
# differ a little; with 200,000 samples the difference is a few thousandths of a nat.

# %%
edges = config.bin_edges()
rng = np.random.default_rng(1)
real = rng.normal(config.data_mean, config.data_std, 200_000)
z = rng.uniform(config.noise_low, config.noise_high, 200_000)
fake = toy1d.generate(result.trainer.G, z)
p = np.histogram(real, edges)[0] / len(real)
q = np.histogram(fake, edges)[0] / len(fake)
mix = (p + q) / 2
js_by_hand = 0.5 * np.sum(p[p > 0] * np.log(p[p > 0] / mix[p > 0])) + \
    0.5 * np.sum(q[q > 0] * np.log(q[q > 0] / mix[q > 0]))
print(f"JS from samples: {js_by_hand:.4f}   JS by the library: {final.js:.4f}")
assert abs(js_by_hand - final.js) < 0.01

# D* from its definition, at the bin centres, against the library's
inner = edges[1:-1]
centres = (inner[1:] + inner[:-1]) / 2
p_g = q[1:-1] / np.diff(inner)  # a density per bin
p_data = np.exp(-0.5 * ((centres - config.data_mean) / config.data_std) ** 2) / (
    config.data_std * math.sqrt(2 * math.pi))
d_star = p_data / (p_data + p_g)
close = np.abs(d_star - config.optimal_discriminator(panels.d.p_g))
print(f"largest gap between the two D* where p_data > 0.05: {close[p_data > 0.05].max():.3f}")

# %% [markdown]
# ## 4. "D ≈ 1/2" is not success
#
# Proposition 1 of the paper says that at the optimum of the game $D = 1/2$ everywhere. The
# converse is false: $D$ can say $1/2$ because it *cannot tell* the two apart, not because
# there is nothing to tell. Train with the plainest settings — one $D$ step per $G$ step
# ($k = 1$), a constant learning rate, and a discriminator that looks at each raw $x$ on its
# own — and follow JS through each run. At every snapshot we also record where $D$'s
# first-layer units bend (more on that below).

# %%
plain = config.replace(d_steps=1, lr_decay=False, minibatch_std=False, standardize=False)


def run_and_watch(cfg):
    bends = []
    run = toy1d.run(cfg, progress=lambda r: bends.append(
        toy1d.first_layer_bends(r.trainer.D, cfg.data_std)))
    return run, bends


def table(cfg, title):
    print(title)
    print("seed | final JS | worst JS in 2nd half, and at that moment: mean D(x), mean D(G(z)), "
          "G std (data 0.5)")
    runs = []
    for seed in SEEDS:
        run, bends = run_and_watch(cfg.replace(seed=seed))
        late = [i for i, s in enumerate(run.snapshots) if s.iteration >= cfg.steps // 2]
        worst = max(late, key=lambda i: run.snapshots[i].measurement.js)
        m = run.snapshots[worst].measurement
        runs.append((run, bends, worst))
        print(f"{seed:4d} |  {run.final.js:.3f}   | {m.js:.3f} at iteration {m.iteration:4d}:  "
              f"{m.d_real:.3f}, {m.d_fake:.3f}, {m.g_std:.3f}")
    return runs


plain_runs = table(plain, "plain: k = 1, constant learning rate, per-sample D on raw x")

# %% [markdown]
# In full mode the plain runs wander. At some snapshots the generator has shrunk to a spike —
# a standard deviation well below the data's 0.5 and JS several times the 0.05 target — while
# the discriminator reads $D(x) \approx D(G(z)) \approx 0.50$: perfectly confused, and wrong.
# Where a run happens to *end* is luck. Draw the worst moment, and the defaults for contrast.

# %%
default_runs = table(config, "defaults: k = 2, learning-rate decay, standardized minibatch-std D")

run, bends, worst = max(plain_runs, key=lambda r: r[0].snapshots[r[2]].measurement.js)
snap = run.snapshots[worst]
fig, axes = plt.subplots(1, 3, figsize=(15, 3.5))
for r, _, _ in plain_runs:
    axes[0].semilogy([s.iteration for s in r.snapshots], [s.measurement.js for s in r.snapshots],
                     "r-", lw=0.8, alpha=0.7)
for r, _, _ in default_runs:
    axes[0].semilogy([s.iteration for s in r.snapshots], [s.measurement.js for s in r.snapshots],
                     "g-", lw=0.8, alpha=0.7)
axes[0].plot([], [], "r-", label="plain")
axes[0].plot([], [], "g-", label="defaults")
axes[0].axhline(0.05, color="0.5", ls=":", lw=1)
axes[0].set_xlabel("iteration")
axes[0].set_title(r"JS$(p_{data}\|p_g)$ per seed, nats", fontsize=10)
axes[0].legend(frameon=False, fontsize=8)
draw1d.draw_panel(axes[1], plain, snap,
                 f"plain, seed {run.config.seed}, iteration {snap.iteration}: "
                 f"D(x) = {snap.measurement.d_real:.2f}, D(G(z)) = {snap.measurement.d_fake:.2f}")
axes[1].text(0.98, 0.97, f"JS = {snap.measurement.js:.3f}", transform=axes[1].transAxes,
             ha="right", va="top", fontsize=8)
axes[1].legend(loc="upper left", fontsize=7, frameon=False)
lo, hi = config.data_mean - 2 * config.data_std, config.data_mean + 2 * config.data_std
good_run, good_bends, _ = default_runs[0]
for b, colour, label in ((bends[worst], "tab:red", "plain D at that moment"),
                         (good_bends[-1], "tab:green", "default D at the end")):
    inside = np.sum((b > lo) & (b < hi))
    axes[2].hist(np.clip(b, -6, 8), bins=56, range=(-6, 8), color=colour, alpha=0.6,
                 label=f"{label}: {inside} of {len(b)} inside")
axes[2].axvspan(lo, hi, color="0.9", zorder=0)
axes[2].set_title("where D's first-layer units bend (grey: data mean +- 2 std)", fontsize=10)
axes[2].set_xlabel("x = -b / w (in data units)")
axes[2].legend(frameon=False, fontsize=8)
fig.tight_layout()
save_figure(fig, "03_toy1d_collapse.png")
plt.show()

# %% [markdown]
# The right-hand picture explains the number. Each first-layer unit $w x + b$ of a LeakyReLU
# network bends $D$'s curve once, at $x = -b/w$; between bends the logit is a straight line.
# To call a *too narrow* generator fake, $D$ must be low in the middle and high on both sides,
# so its logit must bend inside the data's range. With few bends there, the logit across the
# data is (nearly) a straight line, and the best straight line against a narrow, centred $p_g$
# is a flat one: $D = 1/2$. The generator then feels no force towards the tails, and the pair
# sits at $D \approx 1/2$ with JS far from 0. Compare $D^*$ (light blue): the optimal
# discriminator is nowhere near 1/2. Proposition 1 assumes a $D$ that can be *any* function;
# ours is a small network.
#
# The defaults repair this in four ways (exercise 1 asks which matters most):
#
# * **Standardized input.** $D$ first maps $x \mapsto (x - 2)/0.5$, so at initialization its
#   units bend where the data are, as the green histogram shows, and not around $x = 0$.
# * **A minibatch statistic.** `MinibatchStd` (Karras et al. 2018) hands $D$ the standard
#   deviation of the batch it is judging. A narrow generator's batches have a small spread,
#   which even a "straight-line" $D$ reads at once, and the generator is pushed to widen.
# * **$k = 2$ discriminator steps per generator step**, so $D$ stays nearer its optimum and the
#   generator follows a more faithful gradient of JS.
# * **Learning-rate decay** (linear, to 5 % of the start), so the end of training settles
#   instead of circling: the oscillations of lesson 4's game shrink with the step size.
#
# With the defaults, in full mode, every seed ends below 0.05 nats with both mean outputs of
# $D$ within $0.5 \pm 0.1$, and no snapshot of the second half comes near the plain runs'
# worst. The five-seed table is in `benchmarks/results/toy1d.md`, made by
# `benchmarks/reproduce_toy1d.py`.
#
# ## 5. Vanishing gradients
#
# The generator of the minimax game minimizes $\log(1 - D(G(z)))$. Write $D = \sigma(a)$ with
# $a$ the logit. Then
#
# $$\frac{\partial}{\partial a}\log(1 - \sigma(a)) = -\sigma(a) = -D, \qquad
#   \frac{\partial}{\partial a}\bigl(-\log \sigma(a)\bigr) = -(1 - \sigma(a)) = -(1 - D).$$
#
# Early in training $G$ is poor and $D$ rejects its samples confidently, $D(G(z)) \to 0$: the
# saturating loss's gradient goes to 0 exactly when $G$ most needs a push, while the
# non-saturating loss $-\log D(G(z))$ (the paper's recommendation) pushes hardest there. Both
# have the same fixed points. Check the two formulas with autograd first.

# %%
d = np.linspace(0.001, 0.999, 400)
logits = tg.tensor(np.log(d / (1 - d)).reshape(-1, 1), requires_grad=True, dtype=np.float64)
n = len(d)  # the losses are means over the batch: multiply by n for per-sample gradients
g_sat, = tg.grad(losses.g_saturating(logits), [logits])
g_ns, = tg.grad(losses.g_nonsaturating(logits), [logits])
assert np.allclose(n * g_sat.numpy().ravel(), -d)
assert np.allclose(n * g_ns.numpy().ravel(), -(1 - d))

# %% [markdown]
# Now watch the start of training. The discriminator gets a head start of 200 steps, so that,
# as early in real training, it rejects the generator's samples with confidence. Then the
# generator trains with each loss. We give $G$ plain SGD: Adam divides each step by a running
# size of the gradient and so partly hides how small a gradient is — with SGD what you see is
# what the loss gives.

# %%
early = config.replace(steps=100 if FAST else 400, snapshot_every=10 if FAST else 25)


def early_run(objective):
    trainer = toy1d.build(early.replace(objective=objective)).trainer
    trainer.g_opt = SGD(trainer.G.parameters(), lr=0.05)
    trainer.base_lrs = (0.05, trainer.d_opt.lr)
    for _ in range(200):
        trainer.d_step()
    trace = []

    def record(t):
        m = toy1d.measure(t.G, t.D, early)
        trace.append((t.iteration, m.d_fake, m.g_mean, m.js))

    trainer.fit(early.steps, callback=record, every=early.snapshot_every)
    return trainer.history, np.array(trace)


early_runs = {obj: early_run(obj) for obj in ("saturating", "nonsaturating")}

fig, axes = plt.subplots(1, 3, figsize=(13, 3.3))
axes[0].plot(d, d, "r-", label=r"saturating $\log(1-D)$: D")
axes[0].plot(d, 1 - d, "g-", label=r"non-saturating $-\log D$: 1 - D")
axes[0].set_xlabel("D(G(z))")
axes[0].set_title("size of the loss's gradient at the logit", fontsize=10)
axes[0].legend(fontsize=8, frameon=False)
colours = {"saturating": "r", "nonsaturating": "g"}
for obj, (history, trace) in early_runs.items():
    axes[1].semilogy(history["iteration"], history["g_grad_norm"], colours[obj], label=obj)
    axes[2].plot(trace[:, 0], trace[:, 3], colours[obj], label=obj)
axes[1].set_title("norm of G's gradient", fontsize=10)
axes[1].set_xlabel("iteration")
axes[1].legend(fontsize=8, frameon=False)
axes[2].set_title(r"JS$(p_{data}\|p_g)$, nats", fontsize=10)
axes[2].set_xlabel("iteration")
axes[2].set_ylim(0, 0.72)
axes[2].legend(fontsize=8, frameon=False)
fig.tight_layout()
save_figure(fig, "03_toy1d_vanishing.png")
plt.show()
for obj, (history, trace) in early_runs.items():
    print(f"{obj:14s}: G's gradient norm over the first {history['iteration'][0]} iterations "
          f"{history['g_grad_norm'][0]:.3f}; at the end: mean D(G(z)) = {trace[-1, 1]:.4f}, "
          f"mean G(z) = {trace[-1, 2]:.2f} (data {config.data_mean}), JS = {trace[-1, 3]:.3f}")

# %% [markdown]
# In full mode the saturating generator starts with a gradient tens of times smaller than the
# non-saturating one and barely moves. It learns only in the short window when $D$ is unsure;
# there, a large step can throw it past the data, where $D$ again rejects it with confidence —
# and the gradient vanishes once more, leaving $G$ stranded with JS near $\log 2$. The
# non-saturating generator walks straight to the data, with the same plain SGD and the same
# step size.
#
# ## Summary
#
# * Algorithm 1 alternates $k$ steps of $D$ with one step of $G$. Each step touches only its
#   own player: $G$'s samples are constants for $D$'s step; $D$ is frozen (but differentiated
#   through) for $G$'s step.
# * A real run redraws Figure 1: $G$ learns to squeeze and stretch the uniform noise into the
#   data's shape, $D$ tracks $D^*$, JS falls and $C(G)$ approaches $-\log 4$.
# * $D \approx 1/2$ says that $D$ cannot tell the two apart, not that they are equal. A
#   discriminator whose logit is a straight line over the data cannot see a generator that is
#   too narrow. A standardized input, a minibatch statistic, $k > 1$ and learning-rate decay
#   fix it here.
# * The saturating loss $\log(1 - D(G(z)))$ has gradient $D$ at the logit: it vanishes when
#   $D$ wins. The non-saturating loss $-\log D(G(z))$ has gradient $1 - D$.
#
# ## Exercises
#
# 1. Starting from the plain settings, switch on one fix at a time (`standardize=True`,
#    `minibatch_std=True`, `d_steps=2`, `lr_decay=True`) and run three seeds each. Which fix
#    matters most against the collapse? Which for the final JS?
# 2. Replace the data by a mixture, `toy.mixture_1d([0.5, 3.0], [0.3, 0.3])` (you will need to
#    change `Toy1DConfig.data` or pass your own sampler to a `Trainer`). Does $G$ cover
#    both modes? What do the lines from $z$ to $x$ do between the modes?
# 3. Give $G$ Adam instead of SGD in section 5. How much of the saturating loss's problem does
#    Adam hide, and why (look at how Adam scales a step)?
# 4. Use `z ~ N(0, 1)` (`tinygan.gan.trainer.normal_noise`) instead of uniform noise. Why
#    might a Gaussian target now be easier for $G$?
# 5. Estimate the sampling noise of the JS measurement: compute JS from samples (as in
#    section 3) with 2,000, 20,000 and 200,000 samples and compare with the library's value.
