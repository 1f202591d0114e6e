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
# # Lesson 9 — A conditional GAN: asking for a chosen digit
#
# **Running it.** Fast mode: set `TINYGAN_FAST=1` before starting Jupyter (120 iterations).
# Full mode, the default, trains for 5 minutes of CPU time and takes about 3.5 minutes on a
# 2-core CPU in all.
#
# **Goals.** By the end you will be able to
# 1. explain how Mirza & Osindero (2014) turn a GAN into a model of $p(x \mid y)$ by joining a
#    one-hot label $y$ to the generator's noise *and* to the discriminator's input;
# 2. train one with the unchanged Algorithm-1 trainer, by letting the label travel inside the
#    tensors the trainer passes around;
# 3. write a conditional discriminator yourself as a `Module`, and check it against the
#    library's;
# 4. draw a 10×10 grid, one row per requested digit, and measure how often the classifier
#    sees the digit that was asked for.
#
# **Prerequisites.** Lesson 7 (the MLP GAN, the trainer and the metrics).
#
# **Reading along.** `tinygan/gan/models.py` (`ConditionalGenerator`,
# `ConditionalDiscriminator`, `PackedGenerator`, `PackedDiscriminator`, `one_hot`),
# `tinygan/experiments/digits.py` (`build`, `packed_noise`).

# %%
import time

import numpy as np
import matplotlib.pyplot as plt
from matplotlib.colors import LogNorm

import tinygan as tg
import tinygan.nn as nn
from tinygan import experiments
from tinygan.data.digits import load_digits
from tinygan.experiments import digits as X
from tinygan.gan import models
from tinygan.viz import is_fast, save_figure
from tinygan.viz.images import tile

FAST = is_fast()
DPI = 60 if FAST else 110
BUDGET = None if FAST else 300   # CPU seconds of training in full mode
FAST_STEPS = 120
print("fast mode" if FAST else "full mode")

# %% [markdown]
# ## 1. Conditioning by concatenation
#
# An unconditional GAN learns $p(x)$: we cannot choose which digit comes out. Mirza & Osindero
# give both players the label. The generator gets $[z \mid y]$, noise and one-hot label side by
# side, and must produce a digit of class $y$; the discriminator gets $[x \mid y]$ and judges
# whether $x$ is a *real digit of class $y$*. A generator that ignores $y$ is now caught: its
# seven labelled "3" does not look like the real threes D has seen with that label. The value
# function is Goodfellow et al.'s with every term conditioned on $y$:
#
# $$\min_G \max_D\; \mathbb E_{x, y}\big[\log D(x \mid y)\big]
#   + \mathbb E_{z, y}\big[\log\big(1 - D(G(z \mid y) \mid y)\big)\big].$$
#
# **What is used here, and what the paper used.** We take the MLP of lesson 7 with ten extra
# inputs on each side: the one-hot label is concatenated to $z$ at G's input and to the
# flattened image at D's input, and the networks are lesson 7's from there on. Mirza &
# Osindero's MNIST model (arXiv 1411.1784, section 4.1) joins later: their generator maps $z$
# and $y$ through *separate* hidden layers (200 and 1,000 ReLU units) and joins those into a
# layer of 1,200; their discriminator passes $x$ and $y$ through separate maxout layers (240 and
# 50 units) before a joint maxout layer, with dropout. Joining at the input is the simplest form
# of the same idea, and it needs no reshaping into feature maps. We keep an MLP because on a
# CPU an MLP iteration costs about a tenth of a DCGAN iteration, so a fixed budget buys many
# more updates. (Joining the label to a convolutional D means broadcasting it to ten constant
# 28×28 channels; exercise 3 tries it, with the module-building step of section 2.)

# %%
G, D = models.conditional_gan()
print(G)
print(f"G: {models.count_parameters(G):,} parameters (the MLP generator's first layer takes "
      f"110 inputs instead of 100), D: {models.count_parameters(D):,}")

z = tg.randn(3, 100)
print("one_hot([3, 0, 9]) =\n", models.one_hot([3, 0, 9]).numpy().astype(int))
x = G(z, [3, 0, 9])
print("G(z, [3, 0, 9]) ->", x.shape, "  D(x, [3, 0, 9]) ->", D(x, [3, 0, 9]).shape)

# %% [markdown]
# Labels are checked: a label outside 0..9, a wrong count, or a row that is not one-hot is an
# error that says what is wrong.

# %%
for bad in ([3, 10, 1], [1, 2]):
    try:
        G(z, bad)
    except ValueError as e:
        print("ValueError:", e)

# %% [markdown]
# ### Build it yourself: a conditional discriminator as a Module
#
# A tinygan `Module` is a class with the layers as attributes, set in `__init__`, and a
# `forward`. Every `Parameter` it holds, however deep, is found by `parameters()` and named in
# `state_dict()`, so an optimizer and a checkpoint need nothing else. Write $D(x \mid y)$ from
# plain layers, give it the library's weights (the same shapes in the same order), and check
# that the two agree exactly on a batch.

# %%
class MyConditionalD(nn.Module):
    """D(x, y): [flattened image | one-hot label] (N, 794) -> 500 -> 500 -> logit (N, 1)."""

    def __init__(self, hidden=500):
        self.net = nn.Sequential(
            nn.Linear(784 + 10, hidden), nn.LeakyReLU(0.2),                 # (N, 500)
            nn.Linear(hidden, hidden), nn.LeakyReLU(0.2),                   # (N, 500)
            nn.Linear(hidden, 1))                                           # (N, 1) logits

    def forward(self, x, labels):
        y = models.one_hot(labels, like=x)                                  # (N, 10)
        flat = x.reshape(x.shape[0], 784)                                   # (N, 784)
        return self.net(tg.concatenate([flat, y], axis=1))


mine = MyConditionalD()
print([name for name, _ in mine.named_parameters()])
theirs = D.state_dict()  # the library's ConditionalDiscriminator from above
mine.load_state_dict(dict(zip(mine.state_dict(), theirs.values())))
images = G(tg.randn(6, 100), [0, 1, 2, 3, 4, 5])
assert np.array_equal(mine(images, [0, 1, 2, 3, 4, 5]).numpy(),
                      D(images, [0, 1, 2, 3, 4, 5]).numpy())
print("same weights, same logits: my D is the library's D")

# %% [markdown]
# ## 2. Letting the label travel with the sample
#
# The trainer calls `G(noise)` and `D(sample)` with one tensor each, and that is all it should
# know. So the label rides along: the noise prior draws $[z \mid y]$ (110 numbers, $y$ uniform
# over the ten digits), the data sampler returns real $[x \mid y]$ rows (784 + 10 numbers), and
# `PackedGenerator` returns its digit with the label it was given attached, so that D sees fake
# and real samples in the same form.

# %%
digits = load_digits()
print(digits.source)
exp = experiments.build("cgan", seed=0)  # keeps an EMA of G's weights (ema_decay 0.999)
print("trainer's G:", type(exp.trainer.G).__name__, " trainer's D:", type(exp.trainer.D).__name__)
packed = exp.trainer.data(4, np.random.default_rng(0))
print("a packed real batch:", packed.shape, " labels:", packed.numpy()[:, 784:].argmax(axis=1))

start = time.perf_counter()
if FAST:
    run = exp.trainer.fit(steps=FAST_STEPS)
else:
    run = exp.trainer.fit(seconds=BUDGET, clock="cpu")
print(f"{run['steps']} iterations in {run['cpu_seconds']:.0f} s of CPU time "
      f"({time.perf_counter() - start:.0f} s wall)")

# %%
h = exp.trainer.history
fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
axes[0].plot(h["iteration"], h["d_loss"], label="D loss")
axes[0].plot(h["iteration"], h["g_loss"], label="G loss")
axes[0].axhline(2 * np.log(2), color="tab:blue", ls=":", label="$2\\log 2$: D loss at $D = 1/2$")
axes[0].axhline(np.log(2), color="tab:orange", ls=":", label="$\\log 2$: G loss at $D = 1/2$")
axes[0].set_ylabel("loss (nats, mean per sample)")
axes[0].legend(fontsize=8)
axes[1].plot(h["iteration"], h["d_real"], label="mean $D(x \\mid y)$")
axes[1].plot(h["iteration"], h["d_fake"], label="mean $D(G(z \\mid y) \\mid y)$")
axes[1].axhline(0.5, color="gray", ls=":", label="1/2: D cannot tell")
axes[1].set(ylim=(0, 1), ylabel="probability of 'real'")
axes[1].legend(fontsize=8)
for ax in axes:
    ax.set_xlabel("iteration")
fig.suptitle("conditional GAN training curves")
fig.tight_layout()
save_figure(fig, "09_cgan_curves.png", dpi=DPI)
plt.show()

# %% [markdown]
# ## 3. One row per requested digit
#
# Row $r$ asks for digit $r$. Each *column* uses one noise vector for all ten rows, so reading
# down a column shows the same $z$ rendered as ten different digits: if the model has separated
# *what* (the label) from *how* (the noise), a column keeps one handwriting style.

# %%
col_z = np.random.default_rng(3).standard_normal((10, 100)).astype(np.float32)
requested = np.repeat(np.arange(10), 10)                         # 0 0 ... 0 1 1 ... 9
grid = X.generate(exp, 100, z=np.tile(col_z, (10, 1)), labels=requested)
fig, ax = plt.subplots(figsize=(5.5, 5.5))
ax.imshow(tile(grid, 10), cmap="gray")
ax.set_yticks([29 * i + 15 for i in range(10)], [f"asked {d}" for d in range(10)])
ax.set_xticks([])
ax.set_title(f"conditional GAN after {exp.trainer.iteration} iterations")
save_figure(fig, "09_cgan_grid.png", dpi=DPI)
plt.show()

# %% [markdown]
# ## 4. Does it draw what was asked for?
#
# The evaluation classifier reads every generated digit; the **conditional accuracy** is the
# fraction it classifies as the requested label. For calibration, the same number on real
# held-out digits with their true labels is simply the classifier's accuracy. The confusion
# matrix shows which requests go wrong and what they turn into.

# %%
evaluator = X.make_evaluator(digits)
if digits.synthetic:
    print("NOTE: synthetic digits — the MNIST classifier's numbers below are not meaningful")
n_eval = 1000 if FAST else 5000
labels = X.balanced_labels(n_eval)
images = X.generate(exp, n_eval, seed=99, labels=labels)
probs, _ = evaluator.classify(images)
scores = evaluator.evaluate(images, requested=labels)
print(f"conditional accuracy {scores.conditional_accuracy:.1%} "
      f"(classifier on real held-out digits: {evaluator.accuracy():.1%})")
print(f"classifier score {scores.classifier_score:.3f}, Fréchet distance "
      f"{scores.frechet_distance:.2f}, smallest class {scores.min_class_fraction:.1%}")
averaged = X.score(exp, evaluator, n=n_eval, averaged=True)
print(f"the weight-averaged generator (lesson 8): conditional accuracy "
      f"{averaged.conditional_accuracy:.1%}, classifier score {averaged.classifier_score:.3f}")

confusion = np.zeros((10, 10))
np.add.at(confusion, (labels, probs.argmax(axis=1)), 1)
confusion /= confusion.sum(axis=1, keepdims=True)
# a log scale: the diagonal is near 1 and the errors the text is about are near 0.01, which a
# linear scale would paint the same white as 0
floor = 0.5 / (n_eval // 10)   # half of one sample per requested digit: where 0 is drawn
fig, ax = plt.subplots(figsize=(5, 4.2))
im = ax.imshow(np.maximum(confusion, floor), cmap="Blues", norm=LogNorm(vmin=floor, vmax=1))
for (r, c), share in np.ndenumerate(confusion):
    if r != c and share >= 0.01:  # label the largest confusions
        ax.text(c, r, f"{share:.0%}", ha="center", va="center", fontsize=6, color="tab:red")
ax.set_xlabel("digit the classifier sees")
ax.set_ylabel("digit requested")
ax.set_xticks(range(10))
ax.set_yticks(range(10))
fig.colorbar(im, ax=ax, fraction=0.046, label="share of the requests (log scale)")
ax.set_title("requested vs classified (red: errors of 1 % or more)", fontsize=9)
save_figure(fig, "09_cgan_confusion.png", dpi=DPI)
plt.show()

# %% [markdown]
# Reading the matrix (full mode, seed 0): 78 % of the requests come out as the digit asked for
# (81 % from the weight average), against the classifier's 98.9 % on real digits. The errors are
# not spread evenly. A requested 4 is read as a 9 about a fifth of the time; 7s and 5s come out
# as 3s (16 % and 14 %), 8s too (12 %). These are pairs whose strokes overlap: the generator has
# the rough shape of each class and not yet the detail that tells them apart. On the log scale
# the palest cells (at $10^{-3}$, half a sample) are confusions that did not occur once in the
# 500 requests of that digit.

# %% [markdown]
# ## Summary
#
# * A conditional GAN is an ordinary GAN whose two players both see the label: $[z \mid y]$
#   into G, $[x \mid y]$ into D. D's job becomes "is this a real digit *of this class*", which
#   forces G to obey the label.
# * The trainer did not change: the label travels inside the noise and sample tensors.
# * Conditioning takes care of one kind of mode collapse, across classes: every class is
#   requested equally often, so the label histogram mirrors the request, and the conditional
#   accuracy becomes the number to watch. It does nothing against collapse *within* a class: a
#   generator that drew one single "3" whenever asked for a 3 would score perfectly on both.
#   The grid's columns (one noise vector each) are the place to look for that, and exercise 4
#   measures it.
# * A `Module` is layers as attributes and a `forward`; the parameters and the `state_dict`
#   follow from the attributes.
#
# ## Exercises
#
# 1. Train with labels drawn from the *training digits'* class frequencies instead of uniformly.
#    Does anything measurable change?
# 2. Give the discriminator no label while G still gets one: write a module like
#    `MyConditionalD` whose first layer takes only the 784 pixels, and a `body` that drops the
#    last ten columns of the packed `[image | y]` rows (`PackedDiscriminator` calls `.body`);
#    put it in the experiment with `exp.trainer.D = models.PackedDiscriminator(yours)` and a new
#    `exp.trainer.d_opt`. What happens to the conditional accuracy, and why?
# 3. Make a convolutional conditional GAN: broadcast the one-hot label to ten constant 28×28
#    channels joined to D's input (Conv2d(11, 64, 4, 2, 1)), and join it to $z$ in the DCGAN
#    generator. Compare accuracy and samples at equal CPU time.
# 4. Hold $y$ fixed and interpolate $z$ (lesson 8): does the style change while the digit stays?
#    Then measure collapse within a class: for 200 samples of one requested digit, the mean
#    pixel distance between pairs, against the same for 200 real digits of that class.
