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
# # Lesson 8 — DCGAN: convolutions that draw, and a latent space you can walk
#
# **Running it.** Fast mode: set `TINYGAN_FAST=1` before starting Jupyter (24 iterations: the
# pictures are noise). Full mode, the default, trains for 10 minutes of CPU time and takes
# about 8 minutes on a 2-core CPU in all.
#
# **Goals.** By the end you will be able to
# 1. list the architecture guidelines of Radford, Metz & Chintala (2015) and read them off a
#    working DCGAN for 28×28 digits, following the tensor shapes layer by layer;
# 2. assemble the generator yourself from lesson 6's blocks and check it against the library's;
# 3. train it with the same Algorithm-1 trainer as the MLP GAN and watch the samples of fixed
#    noise vectors sharpen epoch after epoch, next to the losses and discriminator outputs;
# 4. average the generator's weights over training, a cheap way to better samples;
# 5. walk the latent space: interpolate between two noise vectors (linearly and along the
#    sphere) and do vector arithmetic on $z$ to change one property of a digit.
#
# **Prerequisites.** Lesson 7 (the MLP GAN and the metrics); the convolution lesson
# (`F.conv2d` as im2col + matrix product, the transposed convolution as its adjoint).
#
# **Reading along.** `tinygan/gan/models.py` (`DCGANGenerator`, `DCGANDiscriminator`, `dcgan`),
# `tinygan/init.py` (`dcgan_init_`), `tinygan/experiments/digits.py`.

# %%
import time

import numpy as np
import matplotlib.pyplot as plt
from matplotlib.animation import FuncAnimation

import tinygan as tg
import tinygan.nn as nn
from tinygan import experiments
from tinygan.data.digits import load_digits
from tinygan.experiments import digits as X
from tinygan.gan import models
from tinygan.viz import is_fast, save_animation, save_figure
from tinygan.viz.images import tile

FAST = is_fast()
DPI = 60 if FAST else 110
BUDGET = None if FAST else 600   # CPU seconds of training in full mode (10 minutes)
FAST_STEPS, FAST_BATCH = 24, 32
print("fast mode" if FAST else "full mode")

# %% [markdown]
# ## 1. Radford et al.'s guidelines
#
# Early attempts to make GAN generators convolutional were unstable. DCGAN settled on a recipe:
#
# 1. no pooling: **strided convolutions** let D learn its own downsampling, and
#    **fractionally-strided (transposed) convolutions** let G learn its upsampling;
# 2. **batch normalisation** in both networks, except at G's output and D's input;
# 3. no fully connected hidden layers (here only G's projection of $z$ and D's final read-out);
# 4. **ReLU** in G with **tanh** at its output; **LeakyReLU(0.2)** in D;
# 5. Adam with learning rate $2\cdot10^{-4}$ and $\beta_1 = 0.5$; every weight initialised from
#    $\mathcal N(0, 0.02^2)$.
#
# We keep all of it but one number: our budget is ten CPU minutes, a few thousand iterations,
# and with a learning rate of $10^{-3}$ this network got further in that budget than at
# $2\cdot10^{-4}$ or $5\cdot10^{-4}$ while staying stable (`DCGANConfig` in `tinygan/experiments/digits.py`
# records the choice and the trials behind it).
#
# For 28×28 digits the generator projects $z$ to 128 maps of 7×7 and doubles the size twice;
# the discriminator halves it twice. Let us follow the shapes:

# %%
digits = load_digits()
print(digits.source)
G, D = models.dcgan()
x = tg.randn(2, 100)
print(f"{'z':>40s} {x.shape}")
for layer in G.net:
    x = layer(x)
    print(f"{type(layer).__name__:>40s} {x.shape}")
for layer in D.net:
    x = layer(x)
    print(f"{type(layer).__name__:>40s} {x.shape}")
print(f"G: {models.count_parameters(G):,} parameters, D: {models.count_parameters(D):,}")

# %% [markdown]
# Most of G's parameters sit in the projection (100 × 6,272 weights); most of D's *work* sits in
# its second convolution, 64 → 128 channels on 14×14 inputs. A transposed convolution with
# kernel 4, stride 2 and padding 1 maps $H$ to $(H-1)\cdot 2 - 2 + 4 = 2H$, exactly doubling;
# the matching convolution halves.
#
# The initialisation is guideline 5, done by `init.dcgan_init_` on every module:

# %%
w = G.net[0].weight.numpy()
print(f"projection weights: mean {w.mean():+.5f}, std {w.std():.5f} (target 0.02)")
print(f"batch-norm scales:  mean {G.net[2].weight.numpy().mean():.4f} (target 1)")

# %% [markdown]
# ### Build it yourself: the generator from lesson 6's blocks
#
# Lesson 6 sized the two transposed convolutions that take 7×7 to 28×28. Put them together with
# the projection of $z$ and the guidelines above — batch norm and ReLU after every layer but
# the last, `tanh` at the end — as a `Module` of your own. Then load the library generator's
# weights into it and check that both draw exactly the same digits.

# %%
class MyDCGANGenerator(nn.Module):
    """z (N, 100) -> image (N, 1, 28, 28)."""

    def __init__(self, z_dim=100):
        self.net = nn.Sequential(
            nn.Linear(z_dim, 128 * 7 * 7), nn.Unflatten(1, (128, 7, 7)),    # (N, 128, 7, 7)
            nn.BatchNorm2d(128), nn.ReLU(),
            nn.ConvTranspose2d(128, 64, 4, 2, 1), nn.BatchNorm2d(64),       # (N, 64, 14, 14)
            nn.ReLU(),
            nn.ConvTranspose2d(64, 1, 4, 2, 1), nn.Tanh())                  # (N, 1, 28, 28)

    def forward(self, z):
        return self.net(z)


mine = MyDCGANGenerator()
mine.load_state_dict(G.state_dict())   # same layers in the same order: the same names
mine.eval()                            # batch norm with its running statistics, in both
G.eval()
z = tg.randn(4, 100)
assert np.array_equal(mine(z).numpy(), G(z).numpy())
print("my generator and the library's draw the same digits from the same z;",
      f"{models.count_parameters(mine):,} parameters each")
G.train()

# %% [markdown]
# ## 2. Training, one epoch at a time
#
# One *epoch* here is 8,500 / 64 ≈ 133 iterations (each a D step and a G step). After each we
# draw the same 16 noise vectors, so the pictures show how one and the same $z$ is rendered as
# training goes on.

# %%
exp = experiments.build("dcgan", seed=0, batch_size=FAST_BATCH if FAST else 64)
epoch = 6 if FAST else len(digits.images) // 64
fixed_z = np.random.default_rng(7).standard_normal((16, 100)).astype(np.float32)
snapshots = []  # (iteration, images): at the start, after every epoch and at the end


def snapshot(trainer):
    snapshots.append((trainer.iteration, X.generate(exp, 16, z=fixed_z)))


start = time.perf_counter()
if FAST:
    run = exp.trainer.fit(steps=FAST_STEPS, callback=snapshot, every=epoch)
else:
    run = exp.trainer.fit(seconds=BUDGET, clock="cpu", callback=snapshot, every=epoch)
print(f"{run['steps']} iterations ({run['steps'] / epoch:.1f} epochs) in "
      f"{run['cpu_seconds']:.0f} s of CPU time, {time.perf_counter() - start:.0f} s wall")

# %%
show = [snapshots[i] for i in np.unique(np.linspace(0, len(snapshots) - 1, 8).round().astype(int))]
fig, axes = plt.subplots(1, len(show), figsize=(2.0 * len(show), 2.4))
for ax, (it, imgs) in zip(np.atleast_1d(axes), show):
    ax.imshow(tile(imgs, 4), cmap="gray")
    ax.set_title(f"epoch {it / epoch:.0f}" if it else "start", fontsize=9)
    ax.axis("off")
fig.suptitle("DCGAN: the same 16 noise vectors, epoch by epoch")
save_figure(fig, "08_dcgan_progress.png", dpi=DPI)
plt.show()

fig, ax = plt.subplots(figsize=(3, 3))
frame = ax.imshow(tile(snapshots[0][1], 4), cmap="gray", vmin=0, vmax=1)
ax.axis("off")


def draw(i):
    frame.set_data(tile(snapshots[i][1], 4))
    ax.set_title(f"iteration {snapshots[i][0]}", fontsize=9)
    return (frame,)


anim = FuncAnimation(fig, draw, frames=len(snapshots), blit=False)
save_animation(anim, "08_dcgan_progress.gif", fps=4, dpi=60)
plt.close(fig)

# %% [markdown]
# ## 3. Losses and discriminator outputs
#
# As in lesson 7, $2\log 2$ marks the discriminator loss of a D that cannot tell real from fake,
# $\log 2$ the generator loss against it, and $\tfrac12$ the output it would give. The DCGAN
# discriminator is stronger than the MLP one, so expect $D(x)$ and $D(G(z))$ further apart, and a generator loss above the
# discriminator's. The norm of G's gradient is a third view: it grows when D becomes sure of
# itself and the generator is pushed hard.

# %%
h = exp.trainer.history
fig, axes = plt.subplots(1, 3, figsize=(14, 3.4))
axes[0].plot(h["iteration"], h["d_loss"], label="D loss")
axes[0].plot(h["iteration"], h["g_loss"], label="G loss")
axes[0].axhline(2 * np.log(2), color="tab:blue", ls=":", label="$2\\log 2$: D loss at $D = 1/2$")
axes[0].axhline(np.log(2), color="tab:orange", ls=":", label="$\\log 2$: G loss at $D = 1/2$")
axes[0].set_ylabel("loss (nats, mean per sample)")
axes[0].legend(fontsize=8)
axes[1].plot(h["iteration"], h["d_real"], label="mean $D(x)$")
axes[1].plot(h["iteration"], h["d_fake"], label="mean $D(G(z))$")
axes[1].axhline(0.5, color="gray", ls=":", label="1/2: D cannot tell")
axes[1].set(ylim=(0, 1), ylabel="probability of 'real'")
axes[1].legend(fontsize=8)
axes[2].plot(h["iteration"], h["g_grad_norm"], color="C2")
axes[2].set(title="norm of G's gradient", ylabel="L2 norm over all of G's weights")
axes[2].title.set_fontsize(9)
for ax in axes:
    ax.set_xlabel("iteration")
fig.suptitle("DCGAN training curves")
fig.tight_layout()
save_figure(fig, "08_dcgan_curves.png", dpi=DPI)
plt.show()

# %% [markdown]
# ## 4. How good are the digits?
#
# The same judge as in lesson 7. In full mode this run is trained like the DCGAN rows of
# `benchmarks/results/mnist.md` (seed 0, the same 10-minute CPU budget), so its numbers should
# land near theirs.

# %%
evaluator = X.make_evaluator(digits)
if digits.synthetic:
    print("NOTE: synthetic digits — the MNIST classifier's numbers below are not meaningful")
n_eval = 1000 if FAST else 5000
scores = X.score(exp, evaluator, n=n_eval)
reference = evaluator.reference_scores()
print(f"classifier score {scores.classifier_score:.3f} (held-out real digits: "
      f"{reference.classifier_score:.3f}); Fréchet distance {scores.frechet_distance:.2f}; "
      f"label KL {scores.label_kl:.4f}; smallest class {scores.min_class_fraction:.1%}")

samples = X.generate(exp, 100, seed=2024)
fig, ax = plt.subplots(figsize=(5, 5))
ax.imshow(tile(samples, 10), cmap="gray")
ax.set_title(f"DCGAN after {exp.trainer.iteration} iterations")
ax.axis("off")
save_figure(fig, "08_dcgan_samples.png", dpi=DPI)
plt.show()

# %% [markdown]
# ## 5. Averaging the generator's weights
#
# With a constant learning rate nothing makes the two players settle, and G's weights keep
# moving to the end of training. If they move around a good solution, as the players of
# lesson 4's xy game circle their equilibrium, then an average over the last stretch lands
# nearer its centre than any single iterate. That is the motivation, not a measurement: we
# have not shown here that the weights circle. What we can measure is whether the average
# draws better digits. The run's EMA hook (its config's
# `ema_decay=0.999`) kept an exponential moving average after every iteration,
#
# $$\bar w \leftarrow d\,\bar w + (1 - d)\, w, \qquad d = \min\big(0.999, \tfrac{1+t}{10+t}\big),$$
#
# (the second term stops the random initial weights from lingering early on). Batch-norm
# statistics belong to particular weights, so the averaged copy re-estimates its own on fresh
# noise before it draws. Training itself is untouched; this is a second generator we can
# sample from (Yazıcı et al. 2019 study why it works; Karras et al. 2018 report every result
# with it).

# %%
averaged = X.score(exp, evaluator, n=n_eval, averaged=True)
print(f"trained generator:  score {scores.classifier_score:.3f}, Fréchet distance "
      f"{scores.frechet_distance:.2f}, label KL {scores.label_kl:.4f}")
print(f"weight average:     score {averaged.classifier_score:.3f}, Fréchet distance "
      f"{averaged.frechet_distance:.2f}, label KL {averaged.label_kl:.4f}")

fig, axes = plt.subplots(1, 2, figsize=(8, 4.2))
for ax, avg, title in ((axes[0], False, "trained G"), (axes[1], True, "weight average")):
    ax.imshow(tile(X.generate(exp, 36, seed=2024, averaged=avg), 6), cmap="gray")
    ax.set_title(title)
    ax.axis("off")
save_figure(fig, "08_dcgan_averaged.png", dpi=DPI)
plt.show()

# %% [markdown]
# The rest of the lesson draws from the averaged generator.
#
# ## 6. Walking from one $z$ to another
#
# If G had merely memorised training digits, the images between two noise vectors would jump
# from one memorised digit to another. Radford et al. used smooth transitions as evidence that
# the generator has learned a continuous space of digits instead.
#
# The straight line $z_t = (1-t) z_0 + t z_1$ has a flaw in 100 dimensions: a Gaussian vector's
# length concentrates near $\sqrt{100} = 10$, but the midpoint of two independent ones has
# length about $10/\sqrt 2 \approx 7.1$, four standard deviations short of the typical length:
# a region G hardly ever saw in training. Spherical interpolation (slerp; White 2016, arXiv
# 1609.04468) follows the great circle instead and keeps the length:
#
# $$\operatorname{slerp}(z_0, z_1; t) = \frac{\sin((1-t)\theta)}{\sin\theta} z_0
#   + \frac{\sin(t\theta)}{\sin\theta} z_1, \qquad
#   \cos\theta = \frac{z_0\cdot z_1}{\|z_0\|\|z_1\|}.$$

# %%
def slerp(z0, z1, t):
    cos = np.dot(z0, z1) / (np.linalg.norm(z0) * np.linalg.norm(z1))
    theta = np.arccos(np.clip(cos, -1, 1))
    return (np.sin((1 - t) * theta) * z0 + np.sin(t * theta) * z1) / np.sin(theta)


rng = np.random.default_rng(11)
steps = np.linspace(0, 1, 11)


def path(z0, z1, kind):
    return np.stack([(1 - t) * z0 + t * z1 if kind == "linear" else slerp(z0, z1, t)
                     for t in steps]).astype(np.float32)


# many pairs, to measure the difference; the first one is drawn
n_pairs = 10 if FAST else 200
confidence = {"linear": [], "slerp": []}
pixel_gap, lengths, first = [], {"linear": [], "slerp": []}, {}
for k in range(n_pairs):
    z0, z1 = rng.standard_normal((2, 100)).astype(np.float32)
    drawn = {}
    for kind in ("linear", "slerp"):
        zs = path(z0, z1, kind)
        drawn[kind] = X.generate(exp, len(steps), z=zs, averaged=True)
        confidence[kind].append(evaluator.classify(drawn[kind])[0].max(axis=1))
        lengths[kind].append(np.linalg.norm(zs, axis=1))
    pixel_gap.append(np.abs(drawn["linear"] - drawn["slerp"]).mean(axis=(1, 2, 3)) / 2)
    if k == 0:
        first = drawn
gap = np.mean(pixel_gap, axis=0)      # mean |linear - slerp| per pixel, as a share of the range
mid = len(steps) // 2
print(f"|z| at t = 0.5: linear {np.mean(lengths['linear'], 0)[mid]:.1f}, "
      f"slerp {np.mean(lengths['slerp'], 0)[mid]:.1f}")
print(f"pixels differ by {gap[mid]:.1%} of the range at t = 0.5 (mean over {n_pairs} pairs)")
for kind in confidence:
    print(f"{kind:>6s}: the classifier's confidence along the path "
          f"{np.round(np.mean(confidence[kind], axis=0), 3)}")

fig = plt.figure(figsize=(13, 5.2))
grid_spec = fig.add_gridspec(2, 2, width_ratios=[1.6, 1], hspace=0.35)
ax = fig.add_subplot(grid_spec[:, 0])
difference = np.abs(first["linear"] - first["slerp"]) * 2.5 - 1   # x5 on the [0, 1] scale
ax.imshow(tile(np.concatenate([first["linear"], first["slerp"], difference]), len(steps)),
          cmap="gray")
ax.set_yticks([15, 44, 73], ["linear", "slerp", "|difference| x5"])
ax.set_xticks([29 * i + 15 for i in range(0, len(steps), 2)], [f"{t:.1f}" for t in steps[::2]])
ax.set_xlabel("t")
ax.set_title("one pair of noise vectors, two paths between them")
ax = fig.add_subplot(grid_spec[0, 1])
for kind, colour in (("linear", "C0"), ("slerp", "C1")):
    ax.plot(steps, np.mean(lengths[kind], axis=0), color=colour, label=kind)
ax.set(ylabel="|z|", title=f"mean over {n_pairs} pairs")
ax.legend(fontsize=8)
ax = fig.add_subplot(grid_spec[1, 1])
for kind, colour in (("linear", "C0"), ("slerp", "C1")):
    ax.plot(steps, np.mean(confidence[kind], axis=0), color=colour, label=kind)
ax.set(xlabel="t", ylabel="classifier's max p(y|x)")
ax.legend(fontsize=8)
save_figure(fig, "08_dcgan_interpolation.png", dpi=DPI)
plt.show()

# %% [markdown]
# The argument for slerp is sound: the linear path's midpoint is shorter than any $z$ the
# generator was trained on. But it predicts a difference this generator barely shows. In full
# mode (10 minutes of training, seed 0) the two paths draw nearly the same digits — their pixels
# differ by about 2 % of the range at the midpoint, which the enlarged difference row makes
# visible — and the classifier is about as confident along either path. A generator whose first
# layer is linear in $z$, followed by batch normalisation, is not very sensitive to $|z|$; a
# larger or longer-trained generator may be (White 2016 makes the case on larger models). The
# honest conclusion is "slerp costs nothing and cannot hurt", not "linear paths leave the data".

# %% [markdown]
# ## 7. Arithmetic on $z$
#
# Radford et al. found that averaged noise vectors support arithmetic ("smiling woman − neutral
# woman + neutral man = smiling man"): a property of the images corresponds to a *direction* in
# $z$. Digits have properties of their own; stroke weight is easy to measure, as the ink in an
# image: the mean of its pixels mapped to $[0, 1]$.
#
# To find the direction, draw many $z$, generate, and let the classifier say which digit each
# one is. Ink depends on the digit (a 1 needs less than an 8), so compare digits only with their
# own class: subtract each class's mean $z$ and mean ink, then fit ink by least squares,
# $\text{ink} \approx z \cdot v$. The unit vector $\hat v = v / \|v\|$ is the **bold
# direction**, and $R^2$ says how much of the within-class ink variation it explains. Then we
# add multiples of $\hat v$ to fresh noise vectors (whose length is about 10).

# %%
n_pool = 400 if FAST else 4000
pool_z = np.random.default_rng(5).standard_normal((n_pool, 100)).astype(np.float32)
pool = X.generate(exp, n_pool, z=pool_z, averaged=True)
pool_class = evaluator.classify(pool)[0].argmax(axis=1)
ink = ((pool + 1) / 2).mean(axis=(1, 2, 3))
zc, inkc = pool_z.copy(), ink.copy()
for c in np.unique(pool_class):  # centre within each class
    members = pool_class == c
    zc[members] -= zc[members].mean(axis=0)
    inkc[members] -= inkc[members].mean()
v, *_ = np.linalg.lstsq(zc, inkc, rcond=None)
bold = v / np.linalg.norm(v)
r2 = 1 - np.mean((inkc - zc @ v) ** 2) / np.var(inkc)
print(f"within-class ink: std {inkc.std():.4f}; R^2 of the linear fit {r2:.2f}")

# the directions along which the classes differ: each class's mean z minus the overall mean.
# Removing them from the bold direction keeps its effect on ink but not on identity.
class_means = np.stack([pool_z[pool_class == c].mean(axis=0) for c in np.unique(pool_class)])
u, sv, _ = np.linalg.svd((class_means - pool_z.mean(axis=0)).T, full_matrices=False)
basis = u[:, sv > 1e-6 * sv.max()]     # (100, classes - 1 or so): an orthonormal basis of them
bold_only = bold - basis @ (basis.T @ bold)
bold_only /= np.linalg.norm(bold_only)
print(f"cosine between the two directions: {bold @ bold_only:.2f}")

alphas = np.array([-2.0, -1.0, 0.0, 1.0, 2.0])
n_base = 30 if FAST else 300
base = np.random.default_rng(9).standard_normal((n_base, 100)).astype(np.float32)
start_class = evaluator.classify(X.generate(exp, n_base, z=base, averaged=True))[0].argmax(axis=1)
fig, axes = plt.subplots(1, 2, figsize=(9, 5.6))
for ax, direction, title in ((axes[0], bold, "z + α · (bold direction)"),
                             (axes[1], bold_only, "... with the class directions removed")):
    grid = np.stack([X.generate(exp, n_base, z=(base + a * direction).astype(np.float32),
                                averaged=True) for a in alphas], axis=1)   # (n_base, 5, 1, 28, 28)
    ax.imshow(tile(grid[:6].reshape(-1, 1, 28, 28), len(alphas)), cmap="gray")
    ax.set_xticks([29 * i + 15 for i in range(len(alphas))], [f"{a:+g}" for a in alphas])
    ax.set_xlabel("α")
    ax.set_yticks([])
    kept = [np.mean(evaluator.classify(grid[:, j])[0].argmax(axis=1) == start_class)
            for j in range(len(alphas))]
    ink_at = [((grid[:, j] + 1) / 2).mean() for j in range(len(alphas))]
    ax.set_title(f"{title}\nsame digit at α = ±2: {kept[0]:.0%} / {kept[-1]:.0%}", fontsize=9)
    print(title)
    for a, i, k in zip(alphas, ink_at, kept):
        print(f"  α = {a:+.0f}: mean ink {i:.3f}, same digit as at α = 0 for {k:.0%} of {n_base}")
fig.tight_layout()
save_figure(fig, "08_dcgan_arithmetic.png", dpi=DPI)
plt.show()

# %% [markdown]
# Read the printout. Along the raw bold direction the ink grows steadily with α: the direction
# is real. But it also changes the digit: in full mode only about a third of the digits keep
# their class at α = ±2, because in a generator trained for a few CPU minutes stroke weight and
# identity are **entangled** — the fitted direction is partly a direction *between classes* (in
# the left panel, bolder strokes close a 1 into a 9 and a 7 into an 8). Removing from it the
# directions along which the classes' mean $z$ differ (a projection, in the spirit of Shen et
# al.'s conditional manipulation, arXiv 1907.10786) keeps about half of the change in ink and
# most digits' identity: about seven in ten keep their class at α = ±2, against a third along
# the raw direction. It is not perfect disentanglement, only less entanglement; models built
# for it (InfoGAN, StyleGAN) come later. (In fast mode, after a few dozen iterations, there is
# no structure yet to find.)
#
# ## Summary
#
# * DCGAN is the MLP GAN with convolutions in the right places: strided convolutions in D,
#   transposed convolutions in G, batch norm in between, ReLU/tanh in G and LeakyReLU in D,
#   weights from $\mathcal N(0, 0.02^2)$ and Adam with $\beta_1 = 0.5$.
# * Nothing in the trainer changed: Algorithm 1 does not care what G and D are.
# * Averaging G's weights over training costs one multiply-add per weight per iteration and
#   gives a second, steadier generator to sample from.
# * The generator's input space is smooth: straight or spherical paths between two $z$ give
#   gradual changes (for this generator nearly the same ones), and a direction fitted to a
#   measured property (here stroke weight) changes that property steadily; projecting out the
#   directions between classes keeps the digit's identity far more often.
#
# ## Exercises
#
# 1. Remove the batch norm layers from G. Does training still start? Compare the progress
#    figure after the same number of iterations.
# 2. Initialise with PyTorch's default uniform scheme instead of $\mathcal N(0, 0.02^2)$ (build
#    `models.DCGANGenerator()` and `DCGANDiscriminator()` without `dcgan`). What changes in the
#    first epoch?
# 3. Watch the weights move: every 100 iterations of a run, record the distance between G's
#    weights and the averaged weights, and between G's weights now and 100 iterations ago. Do
#    the weights settle, drift away, or go round? (Plot the first two principal components of
#    the recorded weight vectors.)
# 4. Build a "slant" direction the way the bold direction was built, measuring slant from each
#    image's second moments, and show it.
# 5. Try class arithmetic: $\bar z(7) - \bar z(1)$ averaged over generated sevens and ones, added
#    to noise vectors that G draws as ones. How often does the classifier then see a seven?
