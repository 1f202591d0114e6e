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
# # Lesson 14 — Image to image
#
# **Running it.** Fast mode: set `TINYGAN_FAST=1` before starting Jupyter (a few steps per
# model). Full mode, the default, trains eleven small models for 30 to 100 seconds of CPU
# time each and takes about 20 minutes on a 2-core CPU.
#
# **Goals.** By the end you will be able to
# 1. build image-to-image tasks from digits where the right answer is known, so that a
#    translation can be *measured* (the judge's label, L1 to the truth) and not only admired;
# 2. say what each term of pix2pix does — the L1 term, the GAN term, conditioning D on the
#    input — by training the paper's ablation and reading its table;
# 3. compute a PatchGAN's receptive field and see what patch size does to the outputs;
# 4. train CycleGAN on *unpaired* thin and thick digits and measure what the cycle loss
#    protects (which digit it is);
# 5. see why PSNR prefers a blurry super-resolution to a sharp one (SRGAN).
#
# **Prerequisites.** Lesson 8 (convolutional GANs), lesson 9 (conditioning on an input),
# lesson 7 (the judge).
#
# **Reading along.** `tinygan/data/tasks.py`, `tinygan/gan/pix2pix.py`,
# `tinygan/gan/cyclegan.py`, `tinygan/gan/srgan.py`, `tinygan/data/resize.py`,
# `tinygan/metrics.py` (`psnr`, `ssim`), `tinygan/experiments/pix2pix.py`, `cyclegan.py`,
# `srgan.py`.

# %%
import time

import numpy as np
import matplotlib.pyplot as plt

from tinygan import experiments, metrics
from tinygan.data import attributes as A
from tinygan.data import tasks as T
from tinygan.data.digits import load_digits
from tinygan.experiments import cyclegan as XC
from tinygan.experiments import digits as X
from tinygan.experiments import pix2pix as XP
from tinygan.experiments import srgan as XS
from tinygan.gan import pix2pix as P
from tinygan.viz import is_fast, save_figure
from tinygan.viz.images import rows_figure

FAST = is_fast()
DPI = 60 if FAST else 110
FAST_STEPS = 6
N_SCORE = 200 if FAST else 1500      # held-out digits each model is scored on
T0 = time.perf_counter()
print("fast mode" if FAST else "full mode")


def train(name, seconds, **settings):
    """Build an experiment with `settings`, train it for `seconds` of CPU time (fast mode: a
    few steps) and return it with its evaluate() scores."""
    exp = experiments.build(name, **{"seed": 0, "eval_samples": N_SCORE, **settings})
    run = (exp.trainer.fit(steps=FAST_STEPS) if FAST
           else exp.trainer.fit(seconds=seconds, clock="cpu"))
    print(f"{name} {settings or ''}: {run['steps']} iterations in {run['cpu_seconds']:.0f} s "
          "of CPU time")
    return exp, exp.evaluate()


digits = load_digits()
evaluator = X.make_evaluator(digits)
held, held_labels = evaluator.reference_images[:N_SCORE], \
    np.asarray(evaluator.reference_labels)[:N_SCORE]
print(digits.source)

# %% [markdown]
# ## 1. Tasks with a known answer
#
# Photos-to-maps and sketches-to-shoes are what image-to-image papers show, but nobody can
# score them without a person. Digits give tasks where the truth exists and a judge can read
# the result (`tinygan.data.tasks`): the **outline** of a digit (dilation minus erosion of
# its ink) → the digit; **thin** (an erosion) ↔ **thick** (a dilation); and **7×7** (the
# mean of every 4×4 block) → 28×28. The judge's accuracy on the inputs themselves says how
# much each task has to recover.

# %%
sample = held[:8]
rows = [(T.crop28(T.pad32(T.edges(sample))), "outline"), (sample, "digit"),
        (T.erode(sample), "thin"), (T.dilate(sample), "thick"),
        (np.repeat(np.repeat(T.low_resolution(sample, 7), 4, 2), 4, 3), "7×7")]
fig = rows_figure(rows, 8, "The digit tasks: each input beside the answer it should give",
                  width=6, row_height=1.1, fontsize=9)
save_figure(fig, "14_tasks.png", dpi=DPI)
plt.show()
for name, imgs in (("outlines", T.edges(held)), ("thin", T.erode(held)),
                   ("thick", T.dilate(held)), ("digits", held)):
    acc = np.mean(evaluator.classify(imgs)[0].argmax(1) == held_labels)
    print(f"the judge reads {acc:.1%} of the {name} as the right digit")

# %% [markdown]
# ## 2. pix2pix: a conditional GAN plus L1
#
# pix2pix (Isola, Zhu, Zhou & Efros 2017, arXiv 1611.07004) translates $x$ into $y$ with a
# **U-Net** (an encoder-decoder whose skip connections carry fine detail straight across)
# and trains it on
#
# $$G^* = \arg\min_G \max_D\ \mathcal L_{cGAN}(G, D) + \lambda\, \mathbb E\,\|y - G(x)\|_1,
# \qquad \lambda = 100,$$
#
# where D sees the input beside the output, $[x \mid y]$ or $[x \mid G(x)]$ — a
# *conditional* D, which can tell that an output, however realistic, does not fit its input.
# Its noise is dropout, kept on at test time. The paper's ablation trains each part alone
# and together; we do the same on outline → digit and score the outputs with the judge:
# accuracy against the source digit's label, Fréchet distance, L1 to the truth.

# %%
ablation = {}
for loss in P.LOSSES:
    ablation[loss] = train("pix2pix", 45, loss=loss)
print(f"{'loss':>9} | judge accuracy | Fréchet distance | L1 to the truth")
for loss, (_, s) in ablation.items():
    o = s["output"]
    print(f"{loss:>9} | {o['accuracy']:>14.1%} | {o['frechet_distance']:>16.1f} | "
          f"{o['l1']:.3f}")

# %%
inputs = T.pad32(T.edges(held[:10]))
panel = [(T.crop28(inputs), "outline")]
panel += [(T.crop28(XP.translate(exp, inputs, seed=3)), loss) for loss, (exp, _) in
          ablation.items()]
panel += [(held[:10], "truth")]
fig = rows_figure(panel, 10, "pix2pix's ablation on the same outlines (the paper's Figure 4, "
                  "on digits)")
save_figure(fig, "14_pix2pix_ablation.png", dpi=DPI)
plt.show()

# %% [markdown]
# What a full-mode run of this cell showed (45 s each, AMD EPYC): L1 alone 94.3 % accuracy,
# Fréchet distance 5.5; GAN alone 44.3 %, 478 — it draws digits, but not *these* digits,
# since nothing ties its output to the outline; cGAN 87.4 %, 50; L1 + GAN 91.0 %, 80;
# L1 + cGAN 90.1 %, 101. GAN alone is worst, as in the paper, but L1 alone is best, not
# L1 + cGAN: in the same CPU time it takes 1,270 steps to the others' ~400 (no D to train),
# and on digits, where the answer is nearly one image per outline, L1's average is already
# sharp. The paper's photos have many plausible answers per input, where L1's average blurs.
# The 10-minute table below gives every loss the same budget with two seeds.
#
# ## 3. The PatchGAN's receptive field
#
# pix2pix's D does not say "real" or "fake" once per image but once per *patch*: a grid of
# logits, each seeing only part of the input. How much is set by its stride-2 layers. Work
# the receptive field backwards from one output, $r \leftarrow r\,s + (k - s)$ for each
# layer's kernel $k$ and stride $s$, and check it against `pix2pix.receptive_field`.

# %%
def my_receptive_field(layout):
    """Input pixels per side one output sees, for (kernel, stride) layers in order."""
    r = 1
    for k, s in reversed(layout):
        r = r * s + (k - s)
    return r


for layers in range(4):
    layout = P.patch_layout(layers)
    print(f"{layers} stride-2 layers: receptive field {my_receptive_field(layout)} px "
          f"(library {P.receptive_field(layout)}), logits {P.patch_grid(layers)}²")

sweep = {1: ablation["l1+cgan"]}
for layers in (0, 2, 3):
    sweep[layers] = train("pix2pix", 30, loss="l1+cgan", patch_layers=layers)
fields = sorted(sweep)
fig, ax = plt.subplots(figsize=(5, 3))
ax.plot([sweep[k][1]["receptive_field"] for k in fields],
        [sweep[k][1]["output"]["frechet_distance"] for k in fields], "o-")
ax.set_xscale("log")
ax.set_xlabel("receptive field of one logit (pixels per side)")
ax.set_ylabel("Fréchet distance of outputs")
ax.set_title("pix2pix L1 + cGAN: the patch size of D", fontsize=10)
fig.tight_layout()
save_figure(fig, "14_patchgan.png", dpi=DPI)
plt.show()

# %% [markdown]
# ## 4. CycleGAN: without pairs
#
# Often there are no pairs. CycleGAN (Zhu, Park, Isola & Efros 2017, arXiv 1703.10593) has
# two generators, $G: A \to B$ and $F: B \to A$, a least-squares GAN loss on each side, and a
# **cycle** that must come back:
#
# $$\mathcal L_{cyc} = \mathbb E_a \|F(G(a)) - a\|_1 + \mathbb E_b \|G(F(b)) - b\|_1,
# \qquad \lambda = 10,$$
#
# plus an identity term ($G(b) \approx b$) and a pool of 50 past fakes for D. Our domains are
# thin digits from one half of the training set and thick digits from the *other* half: no
# digit appears in both, so nothing tells the networks which thick digit belongs to which
# thin one. The GAN loss alone only asks $G(a)$ to look thick; any thick digit will do — the
# cycle is what keeps it *the same* digit. Train both and measure it.

# %%
cycle, cyc_scores = train("cyclegan", 90)
alone, alone_scores = train("cyclegan", 90, cycle=False, identity=False)
for name, s in (("with the cycle", cyc_scores), ("GAN loss alone", alone_scores)):
    for way, label in (("a_to_b", "thin → thick"), ("b_to_a", "thick → thin")):
        d = s[way]
        print(f"{name}, {label}: judge label kept {d['label_preserved']:.1%}, L1 to the true "
              f"counterpart {d['l1']:.3f} (doing nothing: {d['l1_source']:.3f}), ink × "
              f"{d['ink_ratio']:.2f} (truth × {d['ink_ratio_truth']:.2f}); commonest changes "
              f"{d['top_substitutions']}")

# %% [markdown]
# In a full-mode run (90 s each): with the cycle, 94.0 % of thin → thick translations and
# 90.9 % of thick → thin keep their judged digit, and the ink changes by × 2.87 (truth
# × 3.21) and × 0.36 (× 0.31). With the GAN loss alone only 8.7 % and 9.9 % do: it did not
# permute the labels but collapsed, drawing one thick "5" for every input (the figure shows
# it) — another way of not being the same digit, which the cycle rules out.

# %%
from tinygan.gan import cyclegan as C

thin = T.erode(held[:10])
rows = [(thin, "thin (A)"), (C.translate(cycle.generator, thin), "G(A)"),
        (C.translate(cycle.parts["G_BA"], C.translate(cycle.generator, thin)), "F(G(A))"),
        (C.translate(alone.generator, thin), "G(A), no cycle"), (T.dilate(held[:10]), "truth")]
fig = rows_figure(rows, 10, "CycleGAN thin → thick and back; without the cycle loss")
save_figure(fig, "14_cyclegan.png", dpi=DPI)
plt.show()

# %% [markdown]
# ## 5. SRGAN: why PSNR prefers the blurry one
#
# From a 7×7 digit, many 28×28 digits are possible. A network trained on the mean squared
# error (SRResNet) learns their *average* — the one answer that is never exactly right but
# never far wrong — which is blurry, and which PSNR, $10\log_{10}(L^2/\mathrm{MSE})$, rewards.
# SRGAN (Ledig et al. 2017, arXiv 1609.04802) starts from that network and trains it further
# on a **content loss** in a classifier's feature space (VGG there; our judge's convolutional
# features here) plus $10^{-3}$ × an adversarial loss, which pushes each output toward *one*
# sharp, plausible digit. Sharp but slightly misplaced strokes cost more PSNR than a blur.

# %%
sr, sr_scores = train("srgan", 100)
print(f"{'':>9} | PSNR (dB) | SSIM  | judge accuracy | Fréchet distance")
for name in ("bicubic", "srresnet", "srgan", "truth"):
    r = sr_scores[name]
    print(f"{name:>9} | {r.get('psnr', float('nan')):>9.2f} | {r.get('ssim', float('nan')):.3f} "
          f"| {r['accuracy']:>14.1%} | {r['frechet_distance']:.1f}")

low = T.low_resolution(held[:10], 7)
rows = [(np.repeat(np.repeat(low, 4, 2), 4, 3), "7×7 input"), (XS.upscale(low), "bicubic"),
        (XS.super_resolve(sr.parts["srresnet"], low), "SRResNet (MSE)"),
        (XS.super_resolve(sr.generator, low), "SRGAN"), (held[:10], "truth")]
fig = rows_figure(rows, 10, "Super-resolution 7×7 → 28×28")
save_figure(fig, "14_srgan.png", dpi=DPI)
plt.show()

# %% [markdown]
# In a full-mode run (100 s, 452 iterations): bicubic 14.6 dB, SRResNet 17.4 dB, SRGAN 17.6 dB,
# judge accuracy 83.8 %, 92.1 %, 93.5 %, Fréchet distance 418, 81, 28. Here SRGAN's PSNR is
# *not* below SRResNet's: SRGAN is SRResNet trained further, and at this short budget the
# extra training helps both measures; the paper's gap (SRGAN lower in PSNR than SRResNet,
# higher in opinion score) belongs to long training, where the adversarial term has time to
# trade pixel accuracy for texture. The Fréchet distance already shows which output looks
# like real digits.
#
# A caution in reading this table: SRGAN's content loss is computed on the *judge's own*
# features, so the judge is not an independent referee of SRGAN (lesson 11 kept its
# ControlGAN classifier apart from the judge for exactly this reason). PSNR and SSIM are
# independent of it.
#
# ## 6. The 10-minute results
#
# `benchmarks/reproduce_image_to_image.py` trains each of these models for 10 minutes of CPU
# time with two seeds — every pix2pix loss on the same budget, CycleGAN with and without the
# cycle, SRGAN — and writes `benchmarks/results/image_to_image.md`. Means of the two seeds:
#
# | pix2pix loss | L1 | GAN | cGAN | L1 + GAN | L1 + cGAN |
# |---|---|---|---|---|---|
# | judge accuracy | 98.1 % | 85.3 % | 97.7 % | 97.4 % | 97.8 % |
# | Fréchet distance | 0.3 | 39.2 | 1.0 | 0.7 | 0.5 |
#
# GAN alone is worst and conditioning D helps, as in the paper; but with ten minutes L1 alone
# is as good as L1 + cGAN: an outline fixes its digit almost uniquely, so the average answer
# is already sharp, and L1 alone takes three times the steps (no D to train).
# CycleGAN keeps the judged digit in 96.7 % (thin → thick) and 91.7 % (thick → thin) of
# translations; without the cycle loss (identity loss kept) 95.8 % and 88.9 %, with L1 to the
# truth 0.12 instead of 0.09 — a smaller loss than our short run's, where the identity loss
# alone had not yet learned to keep the digit. SRGAN: PSNR SRResNet 20.4 dB > SRGAN 19.6 >
# bicubic 14.6, Fréchet distance the other way round (2.6 < 12.2 < 418), judge accuracy on
# SRGAN's outputs 97.3 %.
#
# ## 7. Exercises
#
# 1. pix2pix with $\lambda = 10$ and $\lambda = 1000$: which way does the balance between
#    sharpness (Fréchet distance) and faithfulness (L1) move?
# 2. Turn the dropout noise off at test time (`dropout_layers=0`) and compare the spread of
#    outputs for one outline with `dropout_spread` in the scores.
# 3. CycleGAN with the cycle loss but without the identity loss: which direction suffers?
# 4. Score SRGAN with the ControlGAN classifier of lesson 11 instead of the judge: does its
#    lead over SRResNet survive an independent referee?
# 5. Make a colour-inversion task (ink ↔ background) and train CycleGAN on it: the CycleGAN
#    authors report that an early inversion never recovers. Do you see it?

# %%
print(f"lesson ran in {time.perf_counter() - T0:.0f} s")
