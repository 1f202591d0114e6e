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
# # Lesson 7 — An MLP GAN draws digits, and a classifier judges them
#
# **Goals.** By the end you will be able to
# 1. train the fully connected GAN of Goodfellow et al. (2014) on MNIST digits with the
#    Algorithm-1 trainer, and read its loss and discriminator-output curves;
# 2. explain why judging a GAN needs more than its losses, and compute three judgments with a
#    digit classifier that tinygan trained itself: the **classifier score** (the Inception-score
#    formula), the **Fréchet distance** between classifier features, and the **label histogram**
#    (a dropped digit class is mode collapse on real data);
# 3. say what the real digits themselves score, so that a generator's number means something.
#
# **Prerequisites.** Lesson 1 (autograd); the GAN objective and Algorithm 1 (the trainer in
# `tinygan/gan/trainer.py`); what a softmax classifier outputs.
#
# **Reading along.** `tinygan/gan/models.py` (the networks), `tinygan/experiments/digits.py`
# (data, training budget, sampling), `tinygan/gan/evaluator.py` (the classifier and the metrics
# wrapper), `tinygan/metrics.py` (the formulas).
#
# **Data.** MNIST is read from `$TINYGAN_DATA_DIR` (or the other places `tinygan.data.mnist`
# searches). Only its 10,000-digit test split is assumed: 8,500 digits train the GAN (and trained
# the classifier), 1,500 are held out as the real reference. Without MNIST the lesson falls back
# to synthetic seven-segment digits and says so; everything still runs, but the scores then mean
# little.

# %%
import time

import numpy as np
import matplotlib.pyplot as plt

from tinygan import experiments
from tinygan.data.digits import load_digits
from tinygan.experiments import digits as X
from tinygan.gan import models
from tinygan.viz import is_fast, save_figure
from tinygan.viz.images import tile

FAST = is_fast()
DPI = 60 if FAST else 110
# Training budget: CPU seconds of this process (the "cpu" clock counts only the time the
# process itself ran, so a busy shared machine does not shorten the training)
BUDGET = None if FAST else 300
FAST_STEPS = 120
print("fast mode" if FAST else "full mode")

# %% [markdown]
# ## 1. The digits
#
# Each digit is a 28×28 grey image. We scale pixels from 0..255 to $[-1, 1]$, the range of the
# generator's final `tanh`, so real and generated images live on the same scale.

# %%
digits = load_digits()
print(digits.source)
print("images", digits.images.shape, digits.images.dtype, "range",
      digits.images.min(), digits.images.max())

fig, ax = plt.subplots(figsize=(4, 4))
ax.imshow(tile(digits.images[:64], 8), cmap="gray")
ax.set_title("real training digits")
ax.axis("off")
plt.show()

# %% [markdown]
# ## 2. Two multilayer perceptrons
#
# The generator maps noise $z \sim \mathcal N(0, I_{100})$ through two hidden layers of 500 units
# to 784 pixels, reshaped to 28×28:
#
# $$G:\ 100 \to 500 \to 500 \to 784 \to 28{\times}28,$$
#
# with ReLU in the hidden layers and `tanh` at the end. Batch normalisation after each hidden
# layer keeps the layer inputs at a steady scale while the discriminator keeps moving the
# target; without it the same network learns more slowly on a small budget (try it:
# `models.MLPGenerator(batch_norm=False)`). The discriminator mirrors it,
#
# $$D:\ 784 \to 500 \to 500 \to 1,$$
#
# with LeakyReLU(0.2) so that gradients still flow for negative pre-activations, and it returns
# a **logit**: $D(x) = \sigma(\text{logit})$, and the losses work from logits for stability.
# Each hidden layer of $D$ ends in dropout (30 % of units zeroed while training), as Goodfellow
# et al. trained theirs: ten minutes of training show $D$ each of the 8,500 digits about 190
# times, and dropout keeps it from memorising them. In the reproduction without dropout the
# classifier score stalled near 7.5 and the digits 0 and 6 fell under 5 % of the samples; with
# it the score passed 8 and no digit fell under 7 %.

# %%
G, D = models.mlp_gan()
print(G)
print(D)
print(f"G has {models.count_parameters(G):,} parameters, D has {models.count_parameters(D):,}")

# %% [markdown]
# ## 3. Algorithm 1 on images
#
# `experiments.build("mnist-mlp")` wires the models to `tinygan.gan.trainer.Trainer`, which runs Algorithm 1 of
# Goodfellow et al. (2014): a discriminator step on a minibatch of 64 real digits and 64 fakes,
# then a generator step on fresh noise, with the non-saturating generator loss
# $-\log D(G(z))$ and Adam (learning rate $2\cdot10^{-4}$, $\beta_1 = 0.5$, the DCGAN settings of
# Radford et al. 2015). Real digits are drawn at random from the 8,500; the trainer's own seeded
# generator draws them, so a run is repeatable.
#
# To watch learning, a callback draws 16 digits from **the same 16 noise vectors** every few
# hundred iterations.

# %%
exp = experiments.build("mnist-mlp", seed=0)  # the registry's MLP GAN, its recipe's defaults
fixed_z = np.random.default_rng(7).standard_normal((16, 100)).astype(np.float32)
snapshots = []  # (iteration, images): at the start, every `every` iterations and at the end


def snapshot(trainer):
    snapshots.append((trainer.iteration, X.generate(exp, 16, z=fixed_z)))


every = 30 if FAST else 1500
start = time.perf_counter()
if FAST:
    run = exp.trainer.fit(steps=FAST_STEPS, callback=snapshot, every=every)
else:
    run = exp.trainer.fit(seconds=BUDGET, clock="cpu", callback=snapshot, every=every)
print(f"{run['steps']} iterations in {run['cpu_seconds']:.0f} s of CPU time "
      f"({time.perf_counter() - start:.0f} s on the wall clock)")

# %% [markdown]
# ## 4. What the players saw
#
# The trainer averages its statistics over every `log_every` iterations on the device and reads
# them back only then. Two landmarks help reading the curves. If D could not tell real from
# fake at all, it would output $D = \tfrac12$ everywhere and its loss
# $-\log D(x) - \log(1 - D(G(z)))$ would be $2\log 2 \approx 1.386$; that is where the
# theoretical optimum of the game sits. In practice the discriminator stays ahead: $D(x)$ above
# one half, $D(G(z))$ below, and the two curves wobble as the players chase each other rather
# than settle.

# %%
h = exp.trainer.history
fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
axes[0].plot(h["iteration"], h["d_loss"], label="D loss")
axes[0].plot(h["iteration"], h["g_loss"], label="G loss  $-\\log D(G(z))$")
axes[0].axhline(2 * np.log(2), color="gray", ls=":", label="$2\\log 2$")
axes[0].set_xlabel("iteration")
axes[0].legend()
axes[1].plot(h["iteration"], h["d_real"], label="mean $D(x)$, real")
axes[1].plot(h["iteration"], h["d_fake"], label="mean $D(G(z))$, fake")
axes[1].axhline(0.5, color="gray", ls=":")
axes[1].set_xlabel("iteration")
axes[1].set_ylim(0, 1)
axes[1].legend()
fig.suptitle("MLP GAN: losses and discriminator outputs")
fig.tight_layout()
save_figure(fig, "07_mlp_gan_curves.png", dpi=DPI)
plt.show()

# %%
cols = len(snapshots)
fig, axes = plt.subplots(1, cols, figsize=(2.0 * cols, 2.3))
for ax, (it, imgs) in zip(np.atleast_1d(axes), snapshots):
    ax.imshow(tile(imgs, 4), cmap="gray")
    ax.set_title(f"iteration {it}", fontsize=9)
    ax.axis("off")
fig.suptitle("the same 16 noise vectors during training")
save_figure(fig, "07_mlp_gan_progress.png", dpi=DPI)
plt.show()

samples = X.generate(exp, 100, seed=2024)
fig, ax = plt.subplots(figsize=(5, 5))
ax.imshow(tile(samples, 10), cmap="gray")
ax.set_title(f"MLP GAN after {exp.trainer.iteration} iterations")
ax.axis("off")
save_figure(fig, "07_mlp_gan_samples.png", dpi=DPI)
plt.show()

# %% [markdown]
# ## 5. Judging digits with a classifier tinygan trained itself
#
# Losses do not say whether the digits are good: they measure one player against the other,
# and both keep changing. A fixed judge is needed. `tinygan/gan/evaluator.py` holds a
# LeNet-style classifier, trained with tinygan on the 8,500 training digits (random shifts of up
# to 2 pixels as augmentation); its weights ship with the library, their SHA-256 checked when
# loaded. With its class probabilities $p(y\mid x)$ and its 64 penultimate-layer features:
#
# * **classifier score** $= \exp\big(\mathbb E_x\, \mathrm{KL}(p(y\mid x)\,\|\,p(y))\big)$, the
#   Inception-score formula of Salimans et al. (2016) with our classifier. It is high when each
#   digit is classified confidently (peaked $p(y\mid x)$) *and* the classes are balanced (flat
#   $p(y)$): at most 10, and exactly 1 when every sample gets the same prediction.
# * **Fréchet distance** between Gaussians fitted to the features of real and generated digits,
#   $\|\mu_r - \mu_g\|^2 + \operatorname{tr}\big(C_r + C_g - 2 (C_r^{1/2} C_g C_r^{1/2})^{1/2}\big)$
#   (FID's formula, Heusel et al. 2017). Lower is better; it also sees *style*, which the score
#   ignores.
# * **label histogram**: the share of each predicted digit. A class under 5 % means the
#   generator is dropping it — mode collapse, measured on real data. We report its KL from the
#   uniform distribution (0 when balanced, $\log 10 \approx 2.30$ when one digit takes all).
#
# First the yardstick: the 1,500 held-out real digits scored as if they were samples. Their
# score is the ceiling a perfect generator could hope for (a classifier that is unsure about a
# real digit lowers it); their Fréchet distance to themselves is 0.

# %%
evaluator = X.make_evaluator(digits)
ceiling = evaluator.ceiling()
if digits.synthetic:
    print("NOTE: synthetic digits — the MNIST classifier's numbers below are not meaningful")
print(f"classifier accuracy on the held-out digits: {evaluator.accuracy():.4f}")
print(f"ceiling: held-out digits' classifier score = {ceiling.classifier_score:.3f}")

n_eval = 1000 if FAST else 5000
scores = X.score(exp, evaluator, n=n_eval)
print(f"MLP GAN, {n_eval} samples: classifier score {scores.classifier_score:.3f}, "
      f"Fréchet distance {scores.frechet_distance:.2f}, label KL {scores.label_kl:.4f}, "
      f"smallest class {scores.min_class_fraction:.1%}, classes below 5 %: "
      f"{list(scores.classes_below) or 'none'}")

# %%
fig, ax = plt.subplots(figsize=(6, 3))
ax.bar(np.arange(10) - 0.2, ceiling.fractions, width=0.4, label="held-out real digits")
ax.bar(np.arange(10) + 0.2, scores.fractions, width=0.4, label="MLP GAN samples")
ax.axhline(0.1, color="gray", ls=":", label="uniform")
ax.axhline(0.05, color="red", ls="--", lw=0.8, label="5 % threshold")
ax.set_xticks(range(10))
ax.set_xlabel("digit predicted by the classifier")
ax.set_ylabel("fraction")
ax.legend(fontsize=8)
save_figure(fig, "07_mlp_gan_labels.png", dpi=DPI)
plt.show()

# %% [markdown]
# ## 6. Checking the judge against known answers
#
# A metric deserves trust when it gives the answers we can work out by hand. A set of *one
# repeated image* makes every $p(y\mid x)$ equal to the marginal $p(y)$, so every KL term is 0
# and the score is exactly 1; a set compared with itself has Fréchet distance 0.

# %%
one = np.repeat(digits.images[:1], 50, axis=0)
same = evaluator.evaluate(one)
print(f"one image repeated: score {same.classifier_score:.6f}")
assert abs(same.classifier_score - 1) < 1e-9
real = evaluator.evaluate(evaluator.reference_images)
print(f"held-out digits against themselves: Fréchet distance {real.frechet_distance:.2e}")
assert real.frechet_distance < 1e-6

# %% [markdown]
# ## Summary
#
# * A GAN of two small MLPs, trained by Algorithm 1 on 8,500 digits for a few CPU minutes,
#   draws recognisable digits; the curves show a discriminator that stays a little ahead.
# * The losses cannot rank generators. A fixed classifier can: the classifier score rewards
#   confident *and* balanced predictions, the Fréchet distance compares feature statistics
#   with held-out real digits, and the label histogram shows dropped classes directly.
# * Every number needs its yardstick: the real held-out digits' own score is the ceiling, and
#   identical sets give Fréchet distance 0.
# * `benchmarks/reproduce_mnist.py` trains this model (and the next two lessons') for a fixed
#   CPU budget with several seeds and records all of these numbers.
#
# ## Exercises
#
# 1. Train `models.MLPGenerator(batch_norm=False)` for the same budget. How do the classifier
#    score and the label histogram compare?
# 2. Replace the non-saturating generator loss by the saturating one
#    (`objective="saturating"` in the Trainer). What happens to the G loss curve early on, and
#    why (look at the gradient of $\log(1 - \sigma(\ell))$ for very negative logits $\ell$)?
# 3. The classifier score ignores style: a generator that draws one perfect example per class
#    would score near 10. Which of the three metrics would expose it? Test your answer by
#    scoring ten real digits repeated 100 times each.
# 4. Train with `models.mlp_gan(dropout=0.0)` (rebuild the trainer around the new D) and
#    compare the label histograms: which digits does the unregularised discriminator lose?
# 5. The run also keeps an average of G's weights (its `ema_decay`, see lesson 8): score
#    `X.score(exp, evaluator, averaged=True)` next to the trained G.
# 5. Score 5,000 *training* digits with the evaluator. Their Fréchet distance to the held-out
#    digits is a floor for a generator that simply memorised its training set: how far is the
#    GAN from it?
