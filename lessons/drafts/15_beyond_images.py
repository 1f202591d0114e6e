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
# # Lesson 15 — Beyond flat images: 3-D shapes and melodies
#
# **Running it.** Fast mode: set `TINYGAN_FAST=1` before starting Jupyter (a few steps per
# model). Full mode, the default, trains four small models for 60 to 120 seconds of CPU time
# each and takes about 10 minutes on a 2-core CPU.
#
# **Goals.** By the end you will be able to
# 1. see that a convolution does not care how many axes it slides along: `conv1d`, `conv2d`
#    and `conv3d` are one im2col and one matrix product;
# 2. train a 3D-GAN on voxel shapes, judge its samples with a classifier of its own, and say
#    what the paper's rule "update D only when it is at most 80 % right" is for;
# 3. turn melodies into piano rolls whose musical properties are numbers (chord tones, the
#    scale, repeated motifs), and write them as MIDI files you can listen to;
# 4. train MidiNet, whose conditioner CNN lets each bar read the bar before it, and measure
#    what the conditioner adds.
#
# **Prerequisites.** Lesson 6 (convolution as im2col), lesson 8 (the DCGAN), lesson 9
# (conditioning).
#
# **Reading along.** `tinygan/conv.py`, `tinygan/data/voxels.py`, `tinygan/gan/gan3d.py`,
# `tinygan/gan/voxel_judge.py`, `tinygan/data/melodies.py`, `tinygan/data/midi.py`,
# `tinygan/gan/midinet.py`, `tinygan/experiments/gan3d.py`, `midinet.py`.

# %%
import itertools
import tempfile
import time
from pathlib import Path

import numpy as np
import matplotlib.pyplot as plt

import tinygan as tg
import tinygan.functional as F
from tinygan import experiments
from tinygan.data import melodies as M
from tinygan.data import midi
from tinygan.data import voxels as V
from tinygan.viz import is_fast, save_figure

FAST = is_fast()
DPI = 60 if FAST else 110
FAST_STEPS = 6
T0 = time.perf_counter()
rng = np.random.default_rng(0)
print("fast mode" if FAST else "full mode")


def train(name, seconds, **settings):
    """Build an experiment with `settings`, train it for `seconds` of CPU time (fast mode: a
    few steps) and return it with its evaluate() scores."""
    exp = experiments.build(name, **{"seed": 0, **settings})
    run = (exp.trainer.fit(steps=FAST_STEPS) if FAST
           else exp.trainer.fit(seconds=seconds, clock="cpu"))
    print(f"{name} {settings or ''}: {run['steps']} iterations in {run['cpu_seconds']:.0f} s "
          "of CPU time")
    return exp, exp.evaluate()


# %% [markdown]
# ## 1. One convolution for any number of axes
#
# Lesson 6 built `conv2d` as *unfold every patch into a row (im2col), then one matrix
# product*. Nothing in that recipe is about two axes. A patch of a melody is a few steps of
# time; a patch of a voxel grid is a small cube. Unfold those into rows and the same matrix
# product convolves them: `tinygan/conv.py` is written once, for `d` spatial axes, and
# `conv1d`, `conv2d`, `conv3d` (and the transposed versions, their adjoints) are that one code
# with `d = 1, 2, 3`.
#
# The im2col matrix of a batch of 16³ grids and a 4×4×4 kernel with stride 2 has one row per
# output position (8³ of them per grid) and one column per weight (4·4·4 per input channel).
# We check `conv3d` against the definition written as a loop over output positions.

# %%
x = rng.standard_normal((2, 3, 6, 6, 6))
w = rng.standard_normal((4, 3, 3, 3, 3))


def conv3d_loops(x, w, stride=1):
    """y[n, o, i, j, k] = sum over c, p, q, r of w[o, c, p, q, r] x[n, c, i*s + p, ...]."""
    k = w.shape[2]
    out = (x.shape[2] - k) // stride + 1
    y = np.zeros((x.shape[0], w.shape[0], out, out, out))
    for i, j, l in itertools.product(range(out), repeat=3):
        patch = x[:, :, i * stride:i * stride + k, j * stride:j * stride + k,
                  l * stride:l * stride + k]
        y[:, :, i, j, l] = np.einsum("ncpqr,ocpqr->no", patch, w)
    return y


ours = F.conv3d(tg.tensor(x), tg.tensor(w), stride=1).numpy()
print("conv3d == the loop:", np.abs(ours - conv3d_loops(x, w)).max())
print("stride 2:", np.abs(F.conv3d(tg.tensor(x), tg.tensor(w), stride=2).numpy()
                          - conv3d_loops(x, w, 2)).max())
cols = 8 ** 3, 4 ** 3 * 1
print(f"im2col of one 16³ grid, kernel 4, stride 2: {cols[0]} rows × {cols[1]} columns")

# %% [markdown]
# And the gradients come for free, because the three Functions (`ConvNd`, `ConvTransposeNd`,
# `ConvNdWeightGrad`) are each other's derivatives in every dimension, exactly as in 2-D:
# `gradcheck` compares them with finite differences.

# %%
from tinygan.testing import gradcheck  # noqa: E402

small = [tg.tensor(rng.standard_normal(s), dtype=np.float64) for s in ((1, 2, 4, 4, 4),
                                                                      (2, 2, 2, 2, 2))]
print("conv3d gradcheck:", gradcheck(lambda a, b: F.conv3d(a, b, stride=2), *small))
seq = [tg.tensor(rng.standard_normal(s), dtype=np.float64) for s in ((2, 3, 9), (3, 2, 4))]
print("conv_transpose1d gradcheck:",
      gradcheck(lambda a, b: F.conv_transpose1d(a, b, stride=2, padding=1), *seq))

# %% [markdown]
# ## 2. Shapes made of voxels
#
# 3D-GAN (Wu, Zhang, Xue, Freeman & Tenenbaum 2016, arXiv 1610.07584) generated chairs, cars
# and sofas as 64³ occupancy grids, trained on ShapeNet. We have no ShapeNet and no time for
# 64³; `tinygan.data.voxels` makes **spheres, boxes, cylinders and tori** in a 16³ grid instead,
# of random size, position and rotation, each with its class — so a classifier can judge what
# a generator draws. Every shape first draws how much of the grid it fills (3–15 %), whatever
# its class, so the classes cannot be told apart by their amount of material, only by form.

# %%
shapes, labels = V.shapes(8, size=16, seed=1)
fig = plt.figure(figsize=(10, 5))
for i in range(8):
    ax = fig.add_subplot(2, 4, i + 1, projection="3d")
    ax.voxels(shapes[i, 0] > 0.5, facecolors="#4c78a8", edgecolor="#1b2a3a", linewidth=0.2)
    ax.set_title(V.CLASSES[labels[i]], fontsize=9)
    ax.set_axis_off()
fig.suptitle("Synthetic voxel shapes, 16³ (two of each class)", fontsize=10)
save_figure(fig, "15_voxel_shapes.png", dpi=DPI)
plt.show()

many, many_labels = V.shapes(400 if FAST else 2000, seed=2)
fill = V.occupancy(many)
fig, ax = plt.subplots(figsize=(5, 2.8))
for c, name in enumerate(V.CLASSES):
    ax.hist(100 * fill[many_labels == c], bins=20, histtype="step", label=name)
ax.set_xlabel("filled voxels (%)"), ax.set_ylabel("shapes"), ax.legend(fontsize=8)
ax.set_title("Occupancy does not give the class away", fontsize=10)
save_figure(fig, "15_voxel_occupancy.png", dpi=DPI)
plt.show()

# %% [markdown]
# ## 4. Melodies as piano rolls
#
# A bar of a melody is a **piano roll**: a grid of 16 sixteenth-note steps × 24 pitches (C4 to
# B5), one pitch per step (monophonic; a held note is its pitch repeated). It is a small
# image, and a GAN can draw it. `tinygan.data.melodies` writes songs over the progression
# C–G–Am–F (I–V–vi–IV) whose properties are *numbers*: each note is a tone of its bar's chord
# with probability 0.85 and otherwise another tone of C major; and with probability 0.5 a bar
# repeats the bar before it, moved along the scale to fit the new chord (a **motif**). The
# three measures — chord-tone ratio, in-scale ratio and repeat rate — read any roll,
# generated ones too.

# %%
song = M.songs(1, bars=8, seed=4)
fig, axes = plt.subplots(1, 8, figsize=(12, 2.6), sharey=True)
for b, ax in enumerate(axes):
    ax.imshow(song.rolls[0, b].T, origin="lower", aspect="auto", cmap="Greys",
              extent=(0, 16, M.LOWEST - 0.5, M.LOWEST + M.PITCHES - 0.5))
    ax.set_title(song.chord_names[b] + (" (repeat)" if song.repeated[0, b] else ""),
                 fontsize=8)
    ax.set_xticks([0, 8, 16])
axes[0].set_ylabel("MIDI note")
fig.suptitle("One synthetic song: a bar per chord, C–G–Am–F twice", fontsize=10)
save_figure(fig, "15_piano_roll.png", dpi=DPI)
plt.show()

prev, bars, chords = M.dataset(200, seed=5)
noise = np.eye(M.PITCHES, dtype=np.float32)[rng.integers(0, M.PITCHES, (len(bars), M.STEPS))]
print(f"{'':>14} | chord tones | in C major | repeats the bar before")
for name, rolls in (("data", bars), ("random rolls", noise)):
    print(f"{name:>14} | {M.chord_tone_ratio(rolls, chords):>11.1%} | "
          f"{M.in_scale_ratio(rolls):>10.1%} | {M.repeat_rate(prev, rolls):>10.1%}")

# %% [markdown]
# A roll can be heard: `tinygan.data.midi` writes a Standard MIDI File (a header chunk, one
# track of note-on/note-off events with variable-length delta times) in about a hundred lines,
# and any music player or DAW opens it.

# %%
out_dir = Path(tempfile.gettempdir()) / "tinygan-lesson15"
out_dir.mkdir(exist_ok=True)
path = out_dir / "data_song.mid"
midi.write_midi(path, song.rolls[0])  # (8 bars, 16 steps, 24 pitches)
print(f"wrote {path} ({path.stat().st_size} bytes): open it in any MIDI player")
