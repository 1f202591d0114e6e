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
# # Lesson 6 — Convolution as one matrix product, and the transposed convolution as its adjoint
#
# **Running it.** Fast mode: set `TINYGAN_FAST=1` before starting Jupyter (fewer timing
# repeats). Nothing here trains, so full mode, the default, is quick too: about 5 seconds on a
# 2-core CPU.
#
# **Goals.** By the end you will be able to
# 1. compute a 2-D convolution three ways — loops, unfolded patches (*im2col*) times one matrix,
#    and `tinygan.functional.conv2d` — and see why the second is the fast one;
# 2. unfold patches with a strided *view* (no copying) and say what the strides mean;
# 3. explain the transposed convolution as the **adjoint** (the matrix transpose) of a
#    convolution, check $\langle \mathrm{conv}(x), y\rangle = \langle x, \mathrm{conv}^T(y)\rangle$
#    numerically, and see why it is the convolution's backward pass;
# 4. see how a stride-2 transposed convolution upsamples, and where checkerboard patterns come
#    from;
# 5. size a network's layers yourself with the output-size formulas, and check them against the
#    layers;
# 6. differentiate *through a gradient* of a small convolutional network, as a gradient penalty
#    does.
#
# **Prerequisites.** Lesson 1 (autograd, `gradcheck`, `create_graph=True`); matrix products;
# NumPy indexing.
#
# **Reading along.** `tinygan/conv.py` holds the whole thing in about 450 lines: `im2col`,
# `col2im` and three `Function`s that are each other's derivatives — written once for any
# number of spatial axes, so that `conv1d` (sequences, lesson 15's melodies) and `conv3d`
# (voxels, lesson 15's shapes) are the same code as the `conv2d` of this lesson.

# %%
import time

import matplotlib.pyplot as plt
import numpy as np

import tinygan as tg
import tinygan.functional as F
import tinygan.nn as nn
from tinygan import conv
from tinygan.testing import gradcheck, gradgradcheck
from tinygan.viz import is_fast, save_figure

FAST = is_fast()
print("fast mode" if FAST else "full mode")

# %% [markdown]
# ## 1. An image to work on
#
# We draw a digit-like "4" from three pen strokes: each pixel's ink falls off with its distance
# to the nearest stroke. 16×16 pixels is small enough to print and big enough to see.

# %%
def draw_strokes(strokes, size=16, width=0.9):
    """Ink in [0, 1]: exp(-(distance to the nearest segment / width)^2) at every pixel centre."""
    yy, xx = np.mgrid[0:size, 0:size] + 0.5
    dist = np.full((size, size), np.inf)
    for (y0, x0), (y1, x1) in strokes:
        d = np.array([y1 - y0, x1 - x0])
        t = np.clip(((yy - y0) * d[0] + (xx - x0) * d[1]) / (d @ d), 0, 1)
        dist = np.minimum(dist, np.hypot(yy - (y0 + t * d[0]), xx - (x0 + t * d[1])))
    return np.exp(-(dist / width) ** 2)


four = draw_strokes([((2.5, 9.5), (10.0, 3.0)), ((10.0, 3.0), (10.0, 13.0)),
                     ((2.5, 9.5), (14.0, 9.5))])
print(four.shape, four.dtype, f"ink from {four.min():.2f} to {four.max():.2f}")

# %% [markdown]
# ## 2. The definition, with loops
#
# A convolution layer (strictly, a *cross-correlation*: the kernel is not flipped) slides a
# kernel $w$ of size $K_h \times K_w$ over the zero-padded input, `stride` pixels at a time,
# and at every position takes the dot product of the kernel with the patch beneath it:
#
# $$y[n, o, i, j] = b[o] + \sum_{c,p,q} w[o, c, p, q]\;
#   x_{\text{pad}}[n, c,\; i s + p,\; j s + q].$$
#
# Along one axis a kernel of size $k$ fits $\lfloor (H + 2p - k)/s \rfloor + 1$ times.

# %%
def conv2d_loops(x, w, stride=1, padding=0):
    """The definition: one dot product per output pixel, for (N, C, H, W) and (O, C, KH, KW)."""
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    oh, ow = (h + 2 * padding - kh) // stride + 1, (wd + 2 * padding - kw) // stride + 1
    y = np.zeros((n, o, oh, ow))
    for i in range(oh):
        for j in range(ow):
            patch = xp[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
            y[:, :, i, j] = np.einsum("ncpq,ocpq->no", patch, w)
    return y


# four edge detectors: a vertical and a horizontal Sobel kernel and the two diagonals
sobel = np.array([[-1.0, 0, 1], [-2, 0, 2], [-1, 0, 1]])
kernels = np.stack([sobel, sobel.T, np.array([[0.0, 1, 2], [-1, 0, 1], [-2, -1, 0]]),
                    np.array([[-2.0, -1, 0], [-1, 0, 1], [0, 1, 2]])])[:, None]   # (4, 1, 3, 3)
x = four[None, None]                                                              # (1, 1, 16, 16)
edges = conv2d_loops(x, kernels, stride=1, padding=1)
print("output shape", edges.shape)

# %% [markdown]
# ## 3. im2col: unfold every patch, then multiply once
#
# Loops do a few multiplications per Python step, which is slow. The trick behind almost every
# CPU and GPU convolution library is to **copy every patch into a row of one matrix** (im2col,
# "image to columns"), after which the whole convolution is *one* matrix product:
#
# $$\underbrace{Y}_{(N\,OH\,OW) \times O} = \underbrace{\mathrm{cols}(x)}_{(N\,OH\,OW)\times
#   (C\,K_h K_w)} \; \underbrace{W^\top}_{(C\,K_h K_w) \times O}.$$
#
# The patches need not be copied one by one: a NumPy array is a block of memory plus *strides*
# (how many bytes to step along each axis). Patch $(i, j)$, pixel $(p, q)$ sits at row
# $i s + p$, column $j s + q$, so a 4-D view with strides
# $(s \cdot \text{row}, s \cdot \text{col}, \text{row}, \text{col})$ shows every patch without
# copying anything. Only the final reshape into a matrix copies.

# %%
def im2col_scratch(img, k, stride):
    """(H, W) -> (OH*OW, k*k): every k x k patch as a row, through a strided view."""
    h, w = img.shape
    oh, ow = (h - k) // stride + 1, (w - k) // stride + 1
    row, col = img.strides
    patches = np.lib.stride_tricks.as_strided(img, shape=(oh, ow, k, k),
                                              strides=(stride * row, stride * col, row, col),
                                              writeable=False)   # a view: no copy yet
    return patches.reshape(oh * ow, k * k)                      # the one copy


def conv2d_im2col(img, w, stride=1, padding=0):
    """One-channel image, (O, 1, k, k) kernels: im2col, then one matrix product."""
    padded = np.pad(img, padding)
    k = w.shape[-1]
    cols = im2col_scratch(padded, k, stride)
    oh = (padded.shape[0] - k) // stride + 1
    return (cols @ w.reshape(len(w), -1).T).T.reshape(len(w), oh, -1)


by_matmul = conv2d_im2col(four, kernels, stride=1, padding=1)
by_library = F.conv2d(tg.tensor(x, dtype=tg.float64), tg.tensor(kernels, dtype=tg.float64),
                      stride=1, padding=1).numpy()
assert np.allclose(by_matmul, edges[0]) and np.allclose(by_library, edges)
print("loops, im2col @ W^T and tinygan's conv2d agree:", np.abs(by_library - edges).max())

# %% [markdown]
# Here is what the unfolded matrix looks like for a 4×4 kernel with stride 2 and padding 1 — the
# first layer of the DCGAN discriminator in lesson 8. Each of the 64 output positions becomes a
# row of 16 numbers; shown as little pictures, the rows are the patches, overlapping by two
# pixels because the stride is half the kernel.

# %%
padded = np.pad(four, 1)
cols = im2col_scratch(padded, 4, 2)
print("cols shape", cols.shape, "(8x8 positions, 4x4 pixels each)")

fig = plt.figure(figsize=(12, 4.6))
ax = fig.add_subplot(1, 3, 1)
ax.imshow(padded, cmap="gray_r")
for (i, j), color in zip([(0, 0), (2, 3), (5, 4)], ["tab:red", "tab:blue", "tab:green"]):
    ax.add_patch(plt.Rectangle((2 * j - 0.5, 2 * i - 0.5), 4, 4, fill=False, lw=2, color=color))
ax.set_title("padded input (18x18) and three 4x4 patches")
ax.axis("off")
grid = fig.add_subplot(1, 3, 2)
tiles = np.ones((8 * 5 - 1, 8 * 5 - 1))
for r in range(64):
    i, j = divmod(r, 8)
    tiles[i * 5:i * 5 + 4, j * 5:j * 5 + 4] = 1 - cols[r].reshape(4, 4)
grid.imshow(tiles, cmap="gray", vmin=0, vmax=1)
grid.set_title("the 64 patches, in output order")
grid.axis("off")
mat = fig.add_subplot(1, 3, 3)
mat.imshow(cols, cmap="gray_r", aspect=0.25)
mat.set_title("im2col matrix: 64 rows x 16 columns")
mat.set_xlabel("pixel in patch (p*4 + q)")
mat.set_ylabel("output position (i*8 + j)")
fig.tight_layout()
save_figure(fig, "06_im2col_patches.png")

# %% [markdown]
# The four edge detectors from section 2, computed by that one product: each answers "how much
# does this patch look like my kernel?" at every position.

# %%
fig, axes = plt.subplots(1, 5, figsize=(13, 2.9))
image = axes[0].imshow(four, cmap="gray_r", vmin=0, vmax=1)
axes[0].set_title("input")
fig.colorbar(image, ax=axes[0], shrink=0.8, label="ink")
lim = np.abs(by_library[0]).max()  # one scale for all four maps, so they compare
for ax, fmap, name in zip(axes[1:], by_library[0], ["vertical", "horizontal", "up-right",
                                                    "down-right"]):
    response = ax.imshow(fmap, cmap="RdBu_r", vmin=-lim, vmax=lim)
    ax.set_title(f"{name} edges")
for ax in axes:
    ax.axis("off")
fig.colorbar(response, ax=axes[1:], shrink=0.8,
             label="response: red = patch matches the kernel, blue = its negative")
save_figure(fig, "06_feature_maps.png")

# %% [markdown]
# ### How tinygan lays it out
#
# With many channels the *order* of the numbers in memory decides the speed of the copy.
# NumPy's images are NCHW (channels before rows), so one patch row $(C, K_h, K_w)$ would be
# gathered from $C \cdot K_h$ scraps of $K_w = 4$ numbers each. tinygan first copies the padded
# input into channel-last order $(N, H, W, C)$, where a patch row $(K_h, K_w, C)$ is just $K_h$
# contiguous runs of $K_w C$ numbers — and reorders the *weights* to match (they are small).
# The result is returned as an NCHW view of that channel-last memory, so the next layer finds
# its input already in the fast order. Finally, the batch goes through in chunks of a few
# megabytes (`conv.CHUNK_BYTES`), so the unfolded matrix — 13 MB for one DCGAN layer — never
# exists for the whole batch at once; each chunk's product is still large enough for BLAS.
# The check below is on a batch with several channels, stride 2 and padding, against the loops.

# %%
rng = np.random.default_rng(0)
xb = rng.standard_normal((3, 5, 9, 8))
wb = rng.standard_normal((4, 5, 3, 3))
ours = F.conv2d(tg.tensor(xb, dtype=tg.float64), tg.tensor(wb, dtype=tg.float64), stride=2,
                padding=1)
assert np.allclose(ours.numpy(), conv2d_loops(xb, wb, stride=2, padding=1))
print("output", ours.shape, "is an NCHW view with strides", ours.data.strides,
      "(bytes per step along N, C, H, W: channels are adjacent in memory)")

# %% [markdown]
# Where does the time go? For the DCGAN discriminator's second layer (64 → 128 channels,
# 4×4 kernel, stride 2, batch 64) the unfolded matrix is 3136 × 1024, and the matrix product
# does 411 million multiply-adds. The copy is cheap next to the product:

# %%
x_big = rng.standard_normal((64, 64, 14, 14)).astype(np.float32)
w_big = rng.standard_normal((128, 64, 4, 4)).astype(np.float32)
xh = conv._channel_last_padded(x_big, (1, 1))
reps = 2 if FAST else 10


def best_ms(fn):
    fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * min(times)


cols_big = conv.im2col(xh, (4, 4), (2, 2)).reshape(3136, -1)
w_mat = w_big.transpose(0, 2, 3, 1).reshape(128, -1)
print(f"pad + to channel-last {best_ms(lambda: conv._channel_last_padded(x_big, (1, 1))):6.2f} ms")
print(f"im2col copy           {best_ms(lambda: conv.im2col(xh, (4, 4), (2, 2))):6.2f} ms")
print(f"one matrix product    {best_ms(lambda: cols_big @ w_mat.T):6.2f} ms")

# %% [markdown]
# ## 4. The transposed convolution is the adjoint
#
# A convolution is linear in $x$, so it *is* a matrix $A$: $\mathrm{conv}(x) = A x$ with $x$
# flattened. We can build $A$ column by column by convolving unit images. For a 6×6 input, a
# 3×3 kernel, stride 2 and padding 1, $A$ is 9 × 36 — mostly zeros, with the kernel's nine
# numbers repeated along shifted diagonals.
#
# The backward pass of $y = Ax$ is $\partial L/\partial x = A^\top\, \partial L/\partial y$. The
# **transposed convolution** is exactly multiplication by $A^\top$: every output pixel sends its
# value back, weighted by the kernel, to the patch it came from. That is what
# `conv_transpose2d` computes — with the same weight array — and why tinygan writes conv2d's
# backward as conv_transpose2d, and conv_transpose2d's backward as conv2d.

# %%
k3 = rng.standard_normal((1, 1, 3, 3))
size, stride, pad = 6, 2, 1
A = np.stack([F.conv2d(tg.tensor(e.reshape(1, 1, size, size), dtype=tg.float64),
                       tg.tensor(k3, dtype=tg.float64), stride=stride, padding=pad
                       ).numpy().ravel() for e in np.eye(size * size)], axis=1)
out = A.shape[0]
side = int(np.sqrt(out))
# the adjoint, column by column: conv_transpose2d of unit output images (output_padding 1
# gives back the 6x6 size that the stride-2 convolution rounded away)
AT = np.stack([F.conv_transpose2d(tg.tensor(e.reshape(1, 1, side, side), dtype=tg.float64),
                                  tg.tensor(k3, dtype=tg.float64), stride=stride, padding=pad,
                                  output_padding=1).numpy().ravel() for e in np.eye(out)], axis=1)
assert np.allclose(AT, A.T)
print("conv as a matrix:", A.shape, "  conv_transpose2d as a matrix:", AT.shape, "= A^T")

fig, axes = plt.subplots(1, 2, figsize=(11, 3.4), gridspec_kw={"width_ratios": [4, 1.3]})
lim = np.abs(A).max()
axes[0].imshow(A, cmap="RdBu_r", vmin=-lim, vmax=lim)
axes[0].set(title="conv2d as a 9 x 36 matrix A (6x6 in, 3x3 out)",
            xlabel="input pixel (row-major index, 0..35)", ylabel="output pixel (0..8)")
weight = axes[1].imshow(AT, cmap="RdBu_r", vmin=-lim, vmax=lim)
axes[1].set(title="conv_transpose2d = A^T", xlabel="its input: a 3x3 pixel",
            ylabel="its output: a 6x6 pixel")
for ax in axes:
    ax.set_xticks([])
    ax.set_yticks([])
fig.colorbar(weight, ax=axes, shrink=0.8, label="entry = a kernel weight (white: 0)")
save_figure(fig, "06_conv_matrix.png")

# %% [markdown]
# Building $A$ is only possible for toy sizes. For real sizes we check the defining identity
# of the adjoint, $\langle A x, y\rangle = \langle x, A^\top y\rangle$, for random $x$, $y$:

# %%
xs = rng.standard_normal((2, 3, 11, 10))
ws = rng.standard_normal((5, 3, 4, 4))
cx = F.conv2d(tg.tensor(xs, dtype=tg.float64), tg.tensor(ws, dtype=tg.float64), stride=2,
              padding=1)
ys = rng.standard_normal(cx.shape)
extra = tuple(xs.shape[2 + a] - conv.conv_transpose_output_size(cx.shape[2 + a], 4, 2, 1)
              for a in (0, 1))
ty = F.conv_transpose2d(tg.tensor(ys, dtype=tg.float64), tg.tensor(ws, dtype=tg.float64),
                        stride=2, padding=1, output_padding=extra)
lhs, rhs = (cx.numpy() * ys).sum(), (xs * ty.numpy()).sum()
print(f"<conv(x), y> = {lhs:.10f}\n<x, convT(y)> = {rhs:.10f}")
assert np.isclose(lhs, rhs, rtol=1e-12)

# %% [markdown]
# Note the `output_padding`: a stride-2 convolution maps both 11 and 10 rows to 5, so its
# transpose needs to be told which size to give back. It may only pick among sizes one stride
# can produce, which is why it must be smaller than the stride.
#
# ## 5. Upsampling with a stride-2 transposed convolution, and checkerboards
#
# In the generator we use the transpose the other way round: as a layer that makes images
# *larger*. Each input pixel stamps a copy of the kernel, scaled by its value, onto the output
# at a spacing of `stride` pixels; where stamps overlap, they add. Feed it an image of ones
# and a kernel of ones, and the output counts how many stamps cover each pixel. With a 3×3
# kernel at stride 2 the count alternates 1, 2, 1, 2 … in each direction — a checkerboard the
# network must learn to cancel. With 4×4 (the kernel DCGAN uses) every interior pixel is covered
# by exactly 2×2 stamps.
#
# Even coverage is not a cure, though. The four stamps that cover a pixel use four *different*
# kernel taps, one from each of the kernel's four "phases" (even or odd row, even or odd
# column). A constant input gives an even output only if the four phases of the kernel have
# equal sums, which a trained kernel has no reason to keep: the last panel below feeds the same
# constant image through a random 4×4 kernel, and the checkerboard is back. Odena, Dumoulin and
# Olah (*Deconvolution and Checkerboard Artifacts*, Distill 2016) show trained generators doing
# this with even overlap, and recommend resizing first (nearest or bilinear) and then applying
# an ordinary convolution.

# %%
ones_in = tg.ones(1, 1, 6, 6, dtype=tg.float64)
counts = {k: F.conv_transpose2d(ones_in, tg.ones(1, 1, k, k, dtype=tg.float64), stride=2,
                                padding=1, output_padding=1 if k == 3 else 0).numpy()[0, 0]
          for k in (3, 4)}
print("3x3 kernel, stride 2, overlap counts (top-left corner):\n", counts[3][:6, :6])
print("4x4 kernel, stride 2, overlap counts (top-left corner):\n", counts[4][:6, :6])
assert set(np.unique(counts[3][1:-1, 1:-1])) == {1.0, 2.0, 4.0}
assert np.all(counts[4][1:-1, 1:-1] == 4.0)

# a "downsample then upsample" round trip of the digit: A^T A x is not x (the adjoint is no
# inverse) but it spreads each stride-2 sample back over its 4x4 footprint
blur = tg.tensor(np.full((1, 1, 4, 4), 1 / 16))
small = F.conv2d(tg.tensor(x), blur, stride=2, padding=1)                    # (1, 1, 8, 8)
back = F.conv_transpose2d(small, blur, stride=2, padding=1)                  # (1, 1, 16, 16)

# a random 4x4 kernel on a constant image: even coverage, uneven output
k_random = tg.tensor(rng.uniform(0.0, 1.0, (1, 1, 4, 4)))
uneven = F.conv_transpose2d(ones_in, k_random, stride=2, padding=1).numpy()[0, 0]
phase_sums = [k_random.numpy()[0, 0, p::2, q::2].sum() for p in (0, 1) for q in (0, 1)]
print("phase sums of the random kernel:", np.round(phase_sums, 3))
assert np.allclose(sorted(np.unique(uneven[1:-1, 1:-1].round(9))), sorted(np.round(phase_sums, 9)))

fig, axes = plt.subplots(1, 6, figsize=(16, 3.1))
panels = [(counts[3], "overlaps, 3x3 kernel", "viridis", "stamps covering the pixel"),
          (counts[4], "overlaps, 4x4 kernel", "viridis", "stamps covering the pixel"),
          (four, "input 16x16", "gray_r", "ink"),
          (small.numpy()[0, 0], "conv, stride 2\n8x8", "gray_r", "ink"),
          (back.numpy()[0, 0], "conv_transpose2d\nback to 16x16", "gray_r", "ink"),
          (uneven, "random 4x4 kernel,\nconstant input", "viridis", "output value")]
for ax, (img, title, cmap, label) in zip(axes, panels):
    shown = ax.imshow(img, cmap=cmap)
    fig.colorbar(shown, ax=ax, shrink=0.75, label=label)
    ax.set_title(title)
    ax.axis("off")
fig.tight_layout()
save_figure(fig, "06_checkerboard.png")

# %% [markdown]
# ## 6. Build it yourself: sizing a discriminator and a generator
#
# Before writing a convolutional GAN you must know what size comes out of each layer. Along one
# axis, a convolution with kernel $k$, stride $s$ and padding $p$ fits its window
#
# $$\text{out} = \left\lfloor \frac{\text{in} + 2p - k}{s} \right\rfloor + 1$$
#
# times (section 2). A transposed convolution runs that map of sizes backwards: its input pixels
# are $s$ apart on the output, the kernel adds $k - 1$ at the end and the padding trims $p$
# from each side, so
#
# $$\text{out} = (\text{in} - 1)\,s - 2p + k + \text{output\_padding}.$$
#
# Write both, use them to plan the two networks of lesson 8 — a discriminator that takes a
# 28×28 digit down to 7×7 in two stride-2 steps, and a generator that takes 7×7 back up to
# 28×28 — and check every predicted shape against the layers themselves.

# %%
def conv_out(size, k, s, p):
    return (size + 2 * p - k) // s + 1


def conv_transpose_out(size, k, s, p, output_padding=0):
    return (size - 1) * s - 2 * p + k + output_padding


# (in channels, out channels, kernel, stride, padding) per block
d_plan = [(1, 64, 4, 2, 1), (64, 128, 4, 2, 1)]      # 28 -> 14 -> 7
g_plan = [(128, 64, 4, 2, 1), (64, 1, 4, 2, 1)]      # 7 -> 14 -> 28

for name, plan, layer_type, size_of, start in (
        ("discriminator", d_plan, nn.Conv2d, conv_out, 28),
        ("generator", g_plan, nn.ConvTranspose2d, conv_transpose_out, 7)):
    h = tg.zeros(2, plan[0][0], start, start)       # a batch of 2
    size = start
    for c_in, c_out, k, s, p in plan:
        size = size_of(size, k, s, p)
        h = layer_type(c_in, c_out, k, s, p)(h)
        assert h.shape == (2, c_out, size, size), (name, h.shape, size)
        print(f"{name}: {layer_type.__name__}({c_in}, {c_out}, k={k}, s={s}, p={p}) "
              f"-> {h.shape}")
    assert conv.conv_output_size(28, 4, 2, 1) == conv_out(28, 4, 2, 1)
    assert conv.conv_transpose_output_size(7, 4, 2, 1) == conv_transpose_out(7, 4, 2, 1)

# a size the floor loses: a third stride-2 convolution would map 7 to 3 (the floor drops the
# last half window), and the transpose brings 3 back to 6, not 7; output_padding = 1 is what
# says "the 7 that rounded down to 3"
print("7 ->", conv_out(7, 4, 2, 1), "->", conv_transpose_out(3, 4, 2, 1), "or, with "
      "output_padding=1,", conv_transpose_out(3, 4, 2, 1, output_padding=1))
assert conv_transpose_out(conv_out(7, 4, 2, 1), 4, 2, 1, output_padding=1) == 7

# %% [markdown]
# Lesson 8 assembles exactly these blocks, with batch normalization and activations between
# them, into the DCGAN; its shape comments (`# (N, 64, 14, 14)`) are the numbers printed above.
#
# ## 7. Derivatives of derivatives through a convolutional network
#
# Because the three Functions in `tinygan/conv.py` differentiate into one another —
#
# | Function | d/d(input) | d/d(weight) |
# |---|---|---|
# | `ConvNd(x, w)` | `ConvTransposeNd(gy, w)` | `ConvNdWeightGrad(x, gy)` |
# | `ConvTransposeNd(y, w)` | `ConvNd(gz, w)` | `ConvNdWeightGrad(gz, y)` |
# | `ConvNdWeightGrad(x, gy)` | `ConvTransposeNd(gy, G)` | (for gy:) `ConvNd(x, G)` |
#
# — every backward pass is itself made of differentiable operations. A gradient penalty
# (WGAN-GP, R1) needs exactly that: it penalises $\lVert \nabla_x D(x) \rVert^2$ and then
# differentiates that with respect to D's weights. We check it to second order with
# `gradgradcheck` on a tiny discriminator, then compute a penalty and its gradient.

# %%
x_small = rng.standard_normal((2, 1, 6, 6))
w1 = rng.standard_normal((3, 1, 3, 3)) * 0.5
w2 = rng.standard_normal((2, 3, 4, 4)) * 0.5


def tiny_d(img, a, b):
    """conv(stride 2) -> tanh -> conv -> mean: a discriminator in miniature."""
    return F.conv2d(F.conv2d(img, a, stride=2, padding=1).tanh(), b, padding=1).mean()


print("gradcheck:", gradcheck(tiny_d, x_small, w1, w2))
print("gradgradcheck:", gradgradcheck(tiny_d, x_small, w1, w2))

img = tg.tensor(x_small, dtype=tg.float64, requires_grad=True)
a, b = (tg.tensor(v, dtype=tg.float64, requires_grad=True) for v in (w1, w2))
gx, = tg.grad(tiny_d(img, a, b), [img], create_graph=True)
penalty = (gx * gx).sum()
penalty.backward()
print(f"penalty {penalty.item():.5f}; "
      f"d penalty / d w1 has norm {np.linalg.norm(a.grad.numpy()):.5f}")

# %% [markdown]
# ## Summary
#
# - A convolution is a dot product of the kernel with every patch. Unfolding the patches into
#   a matrix (im2col) turns the whole layer into **one matrix product**; a strided view finds
#   the patches without copying, and one copy makes the matrix.
# - Memory order matters: gathering channel-last patches moves long contiguous runs, and the
#   matrix product dominates the time.
# - A convolution is a linear map $A$; the **transposed convolution is $A^\top$**, checked by
#   $\langle Ax, y\rangle = \langle x, A^\top y\rangle$. So each is the other's backward pass, and
#   their weight gradient is a third, bilinear Function — all three differentiable again.
# - A stride-2 transposed convolution upsamples by stamping the kernel; kernel sizes that are
#   not a multiple of the stride overlap unevenly (checkerboards).
#
# ## Exercises
#
# 1. Write `col2im_scratch(cols, h, w, k, stride)` that adds each row of an im2col matrix back
#    into its patch of an (h, w) image, and check that it is the adjoint of `im2col_scratch`
#    with the inner-product identity.
# 2. The DCGAN generator's last layer is `ConvTranspose2d(64, 1, 4, 2, 1)` from 14×14 to
#    28×28, batch 64. Its forward pass is a matrix product followed by `col2im`: what are the
#    shapes of the two matrices multiplied, and how many multiply-adds is that? How many times is
#    each output pixel written by `col2im`? Check the count with an input of ones, as in
#    section 5.
# 3. Show that nearest-neighbour upsampling by 2 (`F.interpolate`) is a transposed convolution
#    with a 2×2 kernel of ones and stride 2, and average pooling a convolution with a constant
#    kernel (that is how `F.avg_pool2d` is written).
# 4. Find the overlap counts of a 5×5 kernel at stride 2, and of a 4×4 kernel at stride 3. Which
#    kernel sizes give even coverage for stride $s$?
# 5. Time `F.conv2d` on the layer of exercise 2 against `torch.nn.functional.conv2d`, if you have
#    PyTorch. What fraction of tinygan's time is the matrix product?
