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
# **Running it.** Fast mode: set `TINYGAN_FAST=1` before starting Jupyter (short runs; the
# pictures are drawn but training has not converged). Full mode, the default, takes about
# 2 minutes on a 2-core CPU.
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
# 5. write Algorithm 1 yourself in a dozen lines and get the library's numbers bit for bit;
# 6. see the vanishing gradient of the original ("saturating") generator loss, why the paper
#    recommends the non-saturating one, and what a third, maximum-likelihood cost changes.
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
from statistics import NormalDist

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
# each sample, so $D$ judges a point *and* the spread of the batch it came in.
#
# Neither is part of the 2014 recipe. Scaling inputs is ordinary practice; judging a whole
# minibatch is a later idea (minibatch discrimination, Salimans et al. 2016, arXiv 1606.03498;
# the minibatch standard deviation used here, Karras et al. 2018, arXiv 1710.10196). We add
# them because with a discriminator this small the plain 2014 recipe often fails in a way that
# looks like success; section 4 runs the plain recipe and shows the failure. For sections 2
# and 3 read them as part of $D$.
#
# ## 2. Algorithm 1, line by line
#
# One iteration of the paper's Algorithm 1: $k$ discriminator steps, each on $m$ noise samples
# and $m$ data samples, then one generator step on $m$ fresh noise samples. Here is the real
# code that runs below.

# %%
print(inspect.getsource(Trainer.step))
print(inspect.getsource(Trainer._d_step))  # d_step runs this (with the stream dropout draws from)
print(inspect.getsource(Trainer.generator_loss))
print(inspect.getsource(Trainer._g_step))  # and g_step runs this

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
# ### Build it yourself: Algorithm 1 in a dozen lines
#
# Write the two steps with nothing but the engine, the loss functions and the optimizers, then
# run them on a second copy of the same experiment. Both copies start from the same weights and
# the same random stream (same seed), and each draws its minibatches in the same order, so the
# two must agree **exactly** — every weight, bit for bit. We switch off the learning-rate decay
# for this check (it is a small schedule the trainer applies as a hook; exercise 6 adds it).

# %%
def my_d_step(G, D, d_opt, data, noise, m, rng):
    real = data(m, rng)                          # m samples of the data
    with tg.no_grad():                           # G's samples are constants for D's step
        fake = G(noise(m, rng))                  # m noise samples through G
    loss = losses.d_minimax(D(real), D(fake))    # -mean log D(x) - mean log(1 - D(G(z)))
    d_opt.zero_grad()
    loss.backward()
    d_opt.step()


def my_g_step(G, D, g_opt, noise, m, rng):
    for p in D.parameters():                     # D is differentiated through, not trained
        p.requires_grad = False
    loss = losses.g_nonsaturating(D(G(noise(m, rng))))   # -mean log D(G(z))
    g_opt.zero_grad()
    loss.backward()
    g_opt.step()
    for p in D.parameters():
        p.requires_grad = True


check = config.replace(lr_decay=False, steps=20 if FAST else 100)
library = toy1d.build(check).trainer
mine = toy1d.build(check).trainer                # same seed: same weights, same random stream
for _ in range(check.steps):
    for _ in range(check.d_steps):               # k discriminator steps ...
        my_d_step(mine.G, mine.D, mine.d_opt, mine.data, mine.noise, check.batch_size, mine.rng)
    my_g_step(mine.G, mine.D, mine.g_opt, mine.noise, check.batch_size, mine.rng)  # ... one G step
library.fit(check.steps)

theirs = library.G.parameters() + library.D.parameters()
ours = mine.G.parameters() + mine.D.parameters()
assert all(np.array_equal(a.numpy(), b.numpy()) for a, b in zip(theirs, ours))
print(f"after {check.steps} iterations all {sum(p.numpy().size for p in ours)} weights agree "
      "bit for bit")

# %% [markdown]
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
# $D$ beats the optimum. Early on it even dips below $-\log 4$. That breaks nothing:
# $-\log 4$ is the smallest value $C(G)$ can take (Theorem 1), a bound on the *optimal* $D$'s
# value, not on every $D$'s. A discriminator that is confidently wrong scores worse than the
# constant guess $D = 1/2$, whose value is exactly $-\log 4$ whatever $G$ is.
#
# Two notes on the drawing. The green $p_g$ and the light-blue $D^*$ are smoothed by a Gaussian
# kernel of width 0.05 (`toy1d.SMOOTHING`); the JS numbers use the 60-bin histograms. And $D^*$
# climbs to 1 at the edges of $p_g$: $z$ is bounded, so $G$ puts no mass at all beyond $G(-1)$
# and $G(1)$, and wherever the data still have some, $D^* = p_\text{data}/(p_\text{data} + 0) = 1$
# is right to say "real".
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
# At the optimum of the game $D = 1/2$ everywhere. That takes two results of the paper:
# Proposition 1 says that for a fixed $G$ the best $D$ is $D^* = p_\text{data}/(p_\text{data} + p_g)$,
# and Theorem 1 says that the game's optimum has $p_g = p_\text{data}$; put together,
# $D^* = 1/2$. The converse is false: $D$ can say $1/2$ because it *cannot tell* the two apart, not because
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
draw1d.plain_log_ticks(axes[0])
axes[0].set(xlabel="iteration", ylabel="JS (nats)")
axes[0].set_title(r"JS$(p_{data}\|p_g)$ per seed (dotted: the 0.05 target)", fontsize=10)
axes[0].legend(frameon=False, fontsize=8)
draw1d.draw_panel(axes[1], plain, snap,
                 f"plain, seed {run.config.seed}, iteration {snap.iteration}: "
                 f"D(x) = {snap.measurement.d_real:.2f}, D(G(z)) = {snap.measurement.d_fake:.2f}")
axes[1].text(0.98, 0.97, f"JS = {snap.measurement.js:.3f}", transform=axes[1].transAxes,
             ha="right", va="top", fontsize=8)
axes[1].set_ylabel("density; D(x)")
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
axes[2].set(xlabel="x = -b / w (in data units)", ylabel="first-layer units")
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
#   generator's gradient is nearer the one the theory assumes. Careful with what that gradient
#   is: with an optimal $D$, the non-saturating loss used here does *not* follow the gradient of
#   JS but that of $\mathrm{KL}(p_g \,\|\, p_\text{data}) - 2\,\mathrm{JS}$ (Arjovsky & Bottou 2017,
#   arXiv 1701.04862, Theorem 2.5); only the saturating loss follows JS.
# * **Learning-rate decay** (linear, to 5 % of the start). Each minibatch kicks the weights at
#   random, and a smaller step makes the kicks smaller, so the end of training settles. That is
#   all decay does. It does not damp a rotation: lesson 4 shows that in the bilinear $xy$ game
#   smaller steps leave alternating updates circling at about the same distance (and
#   simultaneous ones still spiralling out, only more slowly). This game settles because near
#   its equilibrium it has some damping of its own, which the bilinear game lacks (for why, see
#   Nagarajan & Kolter 2017, arXiv 1706.04156, on when gradient descent GANs are locally
#   stable).
#
# With the defaults, in full mode, every seed ends below 0.05 nats with both mean outputs of
# $D$ within $0.5 \pm 0.1$, and no snapshot of the second half comes near the plain runs'
# worst. The five-seed table is in `benchmarks/results/toy1d.md`, made by
# `benchmarks/reproduce_toy1d.py`.
#
# ## 5. Vanishing gradients, and three generator costs
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
# have the same fixed points.
#
# ### A third cost: maximum likelihood
#
# Goodfellow's NIPS 2016 tutorial (arXiv 1701.00160, section 3.2.4 and its third exercise)
# asks for a generator cost of the form $J(G) = \mathbb E_{x \sim p_g}[f(x)]$ whose expected
# gradient is that of maximum likelihood, $\nabla_\theta \mathrm{KL}(p_\text{data}\,\|\,p_g)$. The
# answer, in three lines: treat $f$ as fixed (it comes from $D$, which $G$ does not train), so
# $\nabla_\theta J = \int f\, \nabla_\theta p_g\, dx$; and
# $\nabla_\theta \mathrm{KL}(p_\text{data}\,\|\,p_g) = -\int p_\text{data}\,\nabla_\theta \log p_g\,dx$,
# which is $-\int (p_\text{data}/p_g)\,\nabla_\theta p_g\, dx$. They agree for
# $f = -p_\text{data}/p_g$. An optimal discriminator knows that ratio: $D^*/(1 - D^*) =
# p_\text{data}/p_g$, which is $e^{a}$ for its logit $a$. Hence
#
# $$J_\text{ML}(G) = -\mathbb E_z\big[e^{\,\sigma^{-1}(D(G(z)))}\big]
#   = -\mathbb E_z\Big[\frac{D(G(z))}{1 - D(G(z))}\Big],
#   \qquad \frac{\partial}{\partial a}\big(-e^{a}\big) = -e^{a} = -\frac{D}{1 - D}$$
#
# (the tutorial writes every cost with a factor $\tfrac12$; the shapes do not change). It is
# `losses.g_maximum_likelihood`. Check all three gradients with autograd, and the claim itself
# on a generator whose KL we know: $G(z) = \mu + s z$ with Gaussian $z$, so $p_g = \mathcal N(\mu,
# s^2)$, against the data $\mathcal N(2, 0.5^2)$, with $D$ held at $D^*$.

# %%
d = np.linspace(0.001, 0.999, 400)
logits = tg.tensor(np.log(d / (1 - d)).reshape(-1, 1), requires_grad=True, dtype=np.float64)
n = len(d)  # the losses are means over the batch: multiply by n for per-sample gradients
g_sat, = tg.grad(losses.g_saturating(logits), [logits])
g_ns, = tg.grad(losses.g_nonsaturating(logits), [logits])
g_ml, = tg.grad(losses.g_maximum_likelihood(logits), [logits])
assert np.allclose(n * g_sat.numpy().ravel(), -d)
assert np.allclose(n * g_ns.numpy().ravel(), -(1 - d))
assert np.allclose(n * g_ml.numpy().ravel(), -d / (1 - d))

# the maximum-likelihood cost at D = D* follows the gradient of KL(p_data || p_g)
mu0, s0, m_data, s_data = 1.2, 0.8, config.data_mean, config.data_std
u = (np.arange(100_000) + 0.5) / 100_000
z_gauss = np.array([NormalDist().inv_cdf(v) for v in u])  # Gaussian quantiles: no sampling noise
mu = tg.tensor(mu0, requires_grad=True, dtype=tg.float64)
s = tg.tensor(s0, requires_grad=True, dtype=tg.float64)
x_g = mu + s * tg.tensor(z_gauss)


def log_normal(v, mean, std):
    return -0.5 * ((v - mean) / std) ** 2 - math.log(std) - 0.5 * math.log(2 * math.pi)


a_star = log_normal(x_g, m_data, s_data) - log_normal(x_g, mu0, s0)  # D*'s logit, held fixed
grad_mu, grad_s = tg.grad(losses.g_maximum_likelihood(a_star), [mu, s])
# KL(N(m, sd^2) || N(mu, s^2)) = log(s/sd) + (sd^2 + (m - mu)^2) / (2 s^2) - 1/2
kl_mu = (mu0 - m_data) / s0 ** 2
kl_s = 1 / s0 - (s_data ** 2 + (mu0 - m_data) ** 2) / s0 ** 3
print(f"d/dmu: J_ML {grad_mu.item():+.4f}, KL {kl_mu:+.4f};   "
      f"d/ds: J_ML {grad_s.item():+.4f}, KL {kl_s:+.4f}")
assert np.allclose([grad_mu.item(), grad_s.item()], [kl_mu, kl_s], rtol=1e-3)

fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
costs = {"minimax (saturating)": (np.log(1 - d), d, "r"),
         "non-saturating": (-np.log(d), 1 - d, "g"),
         "maximum likelihood": (-d / (1 - d), d / (1 - d), "tab:blue")}
for name, (cost, slope, colour) in costs.items():
    axes[0].plot(d, cost, color=colour, label=name)
    axes[1].semilogy(d, slope, color=colour, label=name)
axes[0].set(xlabel="D(G(z))", ylabel="cost of one sample", ylim=(-20, 5),
            title="the generator's cost (Goodfellow 2016, Fig. 16)")
axes[1].set(xlabel="D(G(z))", ylabel="|d cost / d logit|",
            title="how hard each cost pushes, per sample")
axes[0].legend(fontsize=8, frameon=False)
axes[1].legend(fontsize=8, frameon=False)
fig.tight_layout()
save_figure(fig, "03_generator_costs.png")
plt.show()

# %% [markdown]
# Read the right-hand panel from the left, where a poor generator starts: the minimax and the
# maximum-likelihood costs both push with a force of about $D(G(z))$ — nearly nothing — and only
# the non-saturating cost pushes with full force. Near $D = 1$ the maximum-likelihood cost's
# push explodes as $1/(1 - D)$: its gradient on a minibatch comes almost entirely from the one
# or two samples $D$ finds most real, a high-variance estimate (the tutorial's reason it is not
# used in practice). Note the claim above holds only at $D = D^*$; with a real, imperfect $D$
# none of the three costs follows its divergence exactly.
#
# Now watch the start of training. The discriminator gets a head start of 200 steps, so that,
# as early in real training, it rejects the generator's samples with confidence. Then the
# generator trains with each cost. We give $G$ plain SGD: Adam divides each step by a running
# size of the gradient and so partly hides how small a gradient is — with SGD what you see is
# what the loss gives.

# %%
early = config.replace(steps=100 if FAST else 400, snapshot_every=10 if FAST else 25)


def early_run(objective):
    """(history, trace, the iteration where G's outputs stopped being finite, or None)."""
    trainer = toy1d.build(early.replace(objective=objective)).trainer
    trainer.g_opt = SGD(trainer.G.parameters(), lr=0.05)
    trainer.base_lrs = (0.05, trainer.d_opt.lr)
    for _ in range(200):
        trainer.d_step()
    trace = []
    for it in range(early.steps + 1):
        if it % early.snapshot_every == 0:
            if not np.isfinite(toy1d.generate(trainer.G, config.line_grid())).all():
                return trainer.history, np.array(trace), it   # diverged: stop here
            m = toy1d.measure(trainer.G, trainer.D, early)
            trace.append((it, m.d_fake, m.g_mean, m.js))
        if it < early.steps:
            trainer.step()
    return trainer.history, np.array(trace), None


OBJECTIVES = ("saturating", "nonsaturating", "maximum_likelihood")
with np.errstate(over="ignore", invalid="ignore"):  # the maximum-likelihood run overflows:
    early_runs = {obj: early_run(obj) for obj in OBJECTIVES}   # early_run detects it

fig, axes = plt.subplots(1, 2, figsize=(11, 3.4))
colours = dict(zip(OBJECTIVES, ("r", "g", "tab:blue")))
for obj, (history, trace, diverged) in early_runs.items():
    label = obj if diverged is None else f"{obj} (G's outputs overflow by iteration {diverged})"
    norms = np.array(history["g_grad_norm"])
    finite = np.isfinite(norms)
    axes[0].semilogy(np.array(history["iteration"])[finite], norms[finite], color=colours[obj],
                     label=label)
    axes[1].plot(trace[:, 0], trace[:, 3], color=colours[obj], label=label)
axes[0].set(title="norm of G's gradient", xlabel="iteration", ylabel="norm (log scale)")
axes[1].set(title=r"JS$(p_{data}\|p_g)$", xlabel="iteration", ylabel="nats", ylim=(0, 0.75))
axes[1].axhline(math.log(2), color="0.5", ls=":", lw=1, label="log 2 (no overlap)")
for ax in axes:
    ax.legend(fontsize=8, frameon=False)
fig.tight_layout()
save_figure(fig, "03_toy1d_vanishing.png")
plt.show()
for obj, (history, trace, diverged) in early_runs.items():
    end = "at the end" if diverged is None else f"at iteration {int(trace[-1, 0])}, the last finite"
    print(f"{obj:18s}: G's gradient norm over the first {history['iteration'][0]} iterations "
          f"{history['g_grad_norm'][0]:.4f}; {end}: mean D(G(z)) = {trace[-1, 1]:.4f}, "
          f"mean G(z) = {trace[-1, 2]:.2f} (data {config.data_mean}), JS = {trace[-1, 3]:.3f}")
    if diverged is not None:
        print(f"{'':18s}  G's outputs overflowed by iteration {diverged}; the largest gradient "
              f"norm before that was {np.nanmax(np.array(history['g_grad_norm'])):.3g}")

# %% [markdown]
# In full mode the saturating generator starts with a gradient about forty times smaller than
# the non-saturating one (0.065 against 2.7 over the first ten iterations) and barely moves. It
# learns only in the short window when $D$ is unsure; there, a large step throws it past the
# data, where $D$ again rejects it with confidence, and the gradient vanishes once more, leaving
# $G$ stranded far out with JS near $\log 2$. The non-saturating generator walks straight to the
# data, with the same plain SGD and the same step size.
#
# The maximum-likelihood generator starts exactly as weakly as the saturating one (0.065): the
# two costs have the same slope $\approx D$ where $D$ rejects. Then the other end of its curve
# takes over. As soon as some samples reach a place $D$ calls real, their $D/(1 - D)$ dominates
# the minibatch: within 50 iterations $G$ has jumped past the data to where $D$, extrapolating,
# says "real" with $D(G(z)) = 1.000$, and by iteration 75 $G$'s outputs overflow float32. That
# is the variance problem in its starkest form; the tutorial's proof holds at $D = D^*$, and a
# head-started discriminator on a line is nowhere near $D^*$ far from the data.
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
#   $D$ wins. The non-saturating loss $-\log D(G(z))$ has gradient $1 - D$. The
#   maximum-likelihood cost $-D/(1 - D)$ follows $\nabla\,\mathrm{KL}(p_\text{data}\,\|\,p_g)$ at
#   $D = D^*$, but vanishes like the saturating one where $D$ rejects and explodes where $D$
#   accepts.
# * Writing Algorithm 1 by hand takes a dozen lines and reproduces the library's trainer bit
#   for bit.
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
# 6. Add the learning-rate decay to your hand-written loop: before each iteration $t$ of $T$,
#    set both optimizers' `lr` to $\text{base} \cdot (1 - 0.95\, t / T)$. Does it still match
#    `toy1d.build(config).trainer` bit for bit? (Read `LinearDecay` in `tinygan/gan/hooks.py`
#    for the exact formula.)
# 7. Train the maximum-likelihood generator of section 5 with Adam, or with SGD at a step of
#    0.005. Does it survive? Log how much of each minibatch's gradient comes from its single
#    largest $D/(1 - D)$ term.
