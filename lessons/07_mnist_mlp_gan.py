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
# **Running it.** Fast mode: set `TINYGAN_FAST=1` before starting Jupyter (120 iterations: the
# digits are still noise). Full mode, the default, trains for 5 minutes of CPU time and takes
# about 4 minutes on a 2-core CPU in all.
#
# **Goals.** By the end you will be able to
# 1. train a fully connected GAN on MNIST digits, in the spirit of the first GAN paper
#    (Goodfellow et al. 2014), with the Algorithm-1 trainer, and read its loss and
#    discriminator-output curves;
# 2. explain why judging a GAN needs more than its losses, and compute three judgments with a
#    digit classifier that tinygan trained itself: the **classifier score** (the Inception-score
#    formula), the **Fréchet distance** between classifier features, and the **label histogram**
#    (a dropped digit class is mode collapse on real data);
# 3. say what the real digits themselves score, so that a generator's number means something,
#    and what these scores cannot show.
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
# These are not the networks of Goodfellow et al. (2014). Theirs had a generator with a mixture
# of rectifier and sigmoid units and a discriminator of *maxout* units with dropout, trained
# with plain SGD and momentum. Ours keeps the fully connected shape and the dropout in $D$, but
# uses the later, easier-to-train choices of the DCGAN paper (Radford et al. 2015): batch
# normalisation and ReLU in $G$, LeakyReLU in $D$, a `tanh` output and Adam. On a budget of a
# few CPU minutes those choices matter more than faithfulness to the first recipe.
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
# et al. used in theirs: ten minutes of training show $D$ each of the 8,500 digits about 190
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
# fake at all, it would output $D = \tfrac12$ everywhere: its loss
# $-\log D(x) - \log(1 - D(G(z)))$ would be $2\log 2 \approx 1.386$ and the generator's
# $-\log D(G(z))$ would be $\log 2 \approx 0.693$; that is where the theoretical optimum of the
# game sits. In practice the discriminator stays ahead: $D(x)$ above one half, $D(G(z))$ below,
# and the two curves wobble as the players chase each other rather than settle.

# %%
h = exp.trainer.history
fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
axes[0].plot(h["iteration"], h["d_loss"], label="D loss")
axes[0].plot(h["iteration"], h["g_loss"], label="G loss  $-\\log D(G(z))$")
axes[0].axhline(2 * np.log(2), color="tab:blue", ls=":", label="$2\\log 2$: D loss at $D = 1/2$")
axes[0].axhline(np.log(2), color="tab:orange", ls=":", label="$\\log 2$: G loss at $D = 1/2$")
axes[0].set(xlabel="iteration", ylabel="loss (nats, mean per sample)")
axes[0].legend(fontsize=8)
axes[1].plot(h["iteration"], h["d_real"], label="mean $D(x)$, real")
axes[1].plot(h["iteration"], h["d_fake"], label="mean $D(G(z))$, fake")
axes[1].axhline(0.5, color="gray", ls=":", label="1/2: D cannot tell")
axes[1].set(xlabel="iteration", ylabel="probability of 'real'", ylim=(0, 1))
axes[1].legend(fontsize=8)
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
# First the yardsticks: the 1,500 held-out real digits scored as if they were samples (their
# Fréchet distance to themselves is 0), and 5,000 of the training digits the GAN learns from.

# %%
evaluator = X.make_evaluator(digits)
reference = evaluator.reference_scores()
if digits.synthetic:
    print("NOTE: synthetic digits — the MNIST classifier's numbers below are not meaningful")
print(f"classifier accuracy on the held-out digits: {evaluator.accuracy():.4f}")
print(f"held-out real digits: classifier score {reference.classifier_score:.3f}")
training = evaluator.evaluate(digits.images[:5000])
print(f"training digits:      classifier score {training.classifier_score:.3f}, "
      f"Fréchet distance to the held-out digits {training.frechet_distance:.2f}")

# %% [markdown]
# The held-out digits' score is a *reference*, not a ceiling. The training digits score higher
# (in full mode with MNIST, 9.83 against 9.77): the classifier was trained on them and is more
# confident there. This GAN learns from those same 8,500 digits, so a generator that copied
# them would score above the held-out reference; the weight-averaged conditional GAN of lesson 9
# does score above it (9.78 and 9.81 for two seeds, `benchmarks/results/mnist.md`). Nor is
# 10 reachable by real digits: some are ambiguous, and an honest classifier hedges on them.
#
# Now the GAN's samples, 5,000 of them as in every score of this project (section 7 says why
# the number matters):

# %%
n_eval = 1000 if FAST else 5000
scores = X.score(exp, evaluator, n=n_eval)
print(f"MLP GAN, {n_eval} samples: classifier score {scores.classifier_score:.3f}, "
      f"Fréchet distance {scores.frechet_distance:.2f}, label KL {scores.label_kl:.4f}, "
      f"smallest class {scores.min_class_fraction:.1%}, classes below 5 %: "
      f"{list(scores.classes_below) or 'none'}")

# %%
fig, ax = plt.subplots(figsize=(6, 3))
ax.bar(np.arange(10) - 0.2, reference.fractions, width=0.4, label="held-out real digits")
ax.bar(np.arange(10) + 0.2, scores.fractions, width=0.4, label="MLP GAN samples")
ax.axhline(0.1, color="gray", ls=":", label="uniform")
ax.axhline(0.05, color="red", ls="--", lw=0.8, label="5 % threshold")
ax.set_xticks(range(10))
ax.set_xlabel("digit predicted by the classifier")
ax.set_ylabel("fraction of samples")
ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
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
# **Build it yourself.** The classifier score is one line of NumPy once the classifier's
# probabilities are in hand (`evaluator.classify` returns them with the features): the mean over
# samples of $\mathrm{KL}(p(y\mid x)\,\|\,p(y))$, with $p(y)$ the average of the rows, then
# the exponential. Write it and check it against the library on the GAN's samples.

# %%
images = X.generate(exp, 1000, seed=7)
probs, _ = evaluator.classify(images)                           # (1000, 10), rows sum to 1
p_y = probs.mean(axis=0)                                        # the marginal p(y)
eps = 1e-12                                                     # 0 log 0 = 0
mine = np.exp(np.mean(np.sum(probs * (np.log(probs + eps) - np.log(p_y + eps)), axis=1)))
print(f"my classifier score {mine:.4f}, the library's {evaluator.evaluate(images).classifier_score:.4f}")
assert np.isclose(mine, evaluator.evaluate(images).classifier_score, rtol=1e-6)

# %% [markdown]
# ## 7. What these numbers can and cannot show
#
# They are useful because they are cheap and repeatable, but each has known blind spots, and
# the papers that introduced or studied them say so.
#
# * **The judge decides.** The classifier score depends on one particular classifier; the same
#   images score differently under another (Barratt & Sharma 2018, *A Note on the Inception
#   Score*, arXiv 1801.01973, show this for Inception networks). Numbers from this classifier
#   compare only with numbers from this classifier, and none of them compare with published
#   Inception scores or FIDs on other data.
# * **Diversity within a class is invisible to the score.** It asks only that each sample be
#   confidently *some* digit and that the digits be balanced. Ten perfect images, one per class,
#   repeated, would score almost 10 (exercise 3). The Fréchet distance and the label histogram
#   catch some of that, not all.
# * **Copies look perfect.** Nothing here notices a generator that memorised its training set;
#   the training digits themselves score better than the held-out reference, and their Fréchet
#   distance to it (3.8 in full mode) is lower than any GAN's here. Detecting memorisation needs
#   other tests (nearest training neighbours, for instance).
# * **The Fréchet distance has a bias that depends on the sample size** (it is larger for fewer
#   samples; Chong & Forsyth 2020, arXiv 1911.07023), so compare distances computed on equally
#   many samples — 5,000 everywhere in this project — and it fits a single Gaussian to features
#   that are not Gaussian.
# * **Quality is not human judgement.** A confident classifier can be fooled by images no person
#   would call a digit; look at the samples too.
#
# ## Summary
#
# * A GAN of two small MLPs, trained by Algorithm 1 on 8,500 digits for a few CPU minutes,
#   draws recognisable digits; the curves show a discriminator that stays a little ahead.
# * The losses cannot rank generators. A fixed classifier can: the classifier score rewards
#   confident *and* balanced predictions, the Fréchet distance compares feature statistics
#   with held-out real digits, and the label histogram shows dropped classes directly.
# * Every number needs its yardstick: the real held-out digits' own score is the reference (not
#   a ceiling: the training digits score higher), and identical sets give Fréchet distance 0.
#   None of the numbers sees diversity within a class or memorisation.
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
# 4. Train without dropout in $D$ and compare the label histograms: which digits does the
#    unregularised discriminator lose? Build the experiment as usual, then swap in the new $D$
#    and its optimizer before training:
#    `_, D0 = models.mlp_gan(dropout=0.0)`, `exp.trainer.D = D0`,
#    `exp.trainer.d_opt = tinygan.optim.Adam(D0.parameters(), lr=2e-4, betas=(0.5, 0.999))`
#    (the trainer only ever uses `trainer.D` and `trainer.d_opt`; lesson 3 wrote the loop).
# 5. The run also keeps an average of G's weights (its `ema_decay`, see lesson 8): score
#    `X.score(exp, evaluator, averaged=True)` next to the trained G.
# 6. Find, for each of 16 generated digits, its nearest training digit (in pixels, or in the
#    classifier's features: `evaluator.classify(images)[1]`). Does the GAN copy? How close is
#    the nearest training digit to a *held-out* digit, for comparison?
