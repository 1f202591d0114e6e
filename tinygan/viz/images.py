"""Grids of images: digits laid out in rows (tile), the figure of a grid of samples, and a
figure of labelled rows (one batch per row, its name on the left)."""
from __future__ import annotations

import math

import numpy as np


def tile(images, cols: int, pad: int = 1) -> np.ndarray:
    """Images (N, 1, H, W) in [-1, 1] laid out `cols` per row with `pad` pixels between them:
    one 2-D array in [0, 1] for plt.imshow(..., cmap="gray"). Missing cells stay black."""
    x = np.asarray(images, dtype=np.float32)
    if x.ndim != 4 or x.shape[1] != 1:
        raise ValueError(f"tile expects images of shape (N, 1, H, W), got {x.shape}")
    n, _, h, w = x.shape
    rows = -(-n // cols)
    out = np.zeros((rows * (h + pad) + pad, cols * (w + pad) + pad), dtype=np.float32)
    for i, img in enumerate((x[:, 0] + 1) / 2):
        r, c = divmod(i, cols)
        out[pad + r * (h + pad): pad + r * (h + pad) + h,
            pad + c * (w + pad): pad + c * (w + pad) + w] = np.clip(img, 0, 1)
    return out


def grid_figure(images, cols: int | None = None, title: str = ""):
    """A figure of images (N, 1, H, W) in [-1, 1], `cols` per row (default: a square)."""
    import matplotlib.pyplot as plt

    n = len(images)
    cols = int(math.ceil(math.sqrt(n))) if cols is None else cols
    fig, ax = plt.subplots(figsize=(cols * 0.5 + 0.4, math.ceil(n / cols) * 0.5 + 0.5))
    ax.imshow(tile(images, cols), cmap="gray", vmin=0, vmax=1)
    ax.set_axis_off()
    ax.set_title(title, fontsize=9)
    return fig


def rows_figure(rows, cols: int, title: str = "", width: float = 6.5, row_height: float = 0.85,
                fontsize: int = 8):
    """A figure of labelled rows: rows is [(images (N, 1, H, W) in [-1, 1], name), ...], each
    tiled `cols` per row beside its name (inputs, outputs and the truth, one above the other)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(rows), 1, figsize=(width, row_height * len(rows)),
                             squeeze=False)
    for ax, (imgs, name) in zip(axes[:, 0], rows):
        ax.imshow(tile(imgs, cols), cmap="gray", vmin=0, vmax=1)
        ax.set_ylabel(name, rotation=0, ha="right", va="center", fontsize=fontsize)
        ax.set_xticks([]), ax.set_yticks([])
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig
