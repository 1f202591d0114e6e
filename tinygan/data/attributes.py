"""Attributes of digit images anyone can compute from the pixels, for steering a generator and
measuring what an edit changed (lesson 12). Images are (N, 1, H, W) in [-1, 1] (background -1,
ink +1); the ink weight of a pixel is (x + 1) / 2, in [0, 1].

- ink_mass: the total ink, in pixels (a thick stroke holds more);
- slant: the shear of the ink, -cov(column, row) / var(row) from the image moments, in columns
  per row: 0 for an upright digit, positive when the top leans to the right;
- width: the ink's spread across columns, sqrt(var(column)), in pixels;
- sharpness: the mean |finite difference| of the pixels along rows and columns, one number for
  a whole set (blur lowers it; lesson 11 compares it with the real digits');
- thickness_buckets: ink mass cut into buckets at quantiles computed per digit class (a 1 holds
  less ink than an 8, so "thick" must be relative to the class).
"""
from __future__ import annotations

import numpy as np

from .. import backend
from ..tensor import Tensor

ATTRIBUTES = ("ink_mass", "slant", "width")


def _ink(images) -> np.ndarray:
    """Ink weights (N, H, W) in [0, 1], float64, on the host."""
    x = backend.to_numpy(images.data if isinstance(images, Tensor) else images)
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 4 and x.shape[1] == 1:
        x = x[:, 0]
    if x.ndim != 3:
        raise ValueError(f"digit attributes need images (N, 1, H, W) or (N, H, W), got {x.shape}")
    return np.clip((x + 1) / 2, 0, 1)


def _moments(images):
    """(ink (N,), row mean, column mean, var(row), var(column), cov(column, row)), ink-weighted."""
    w = _ink(images)
    h, wd = w.shape[1:]
    rows, cols = np.arange(h)[None, :, None], np.arange(wd)[None, None, :]
    mass = w.sum(axis=(1, 2))
    safe = np.maximum(mass, 1e-12)
    r0 = (w * rows).sum(axis=(1, 2)) / safe
    c0 = (w * cols).sum(axis=(1, 2)) / safe
    dr, dc = rows - r0[:, None, None], cols - c0[:, None, None]
    var_r = (w * dr * dr).sum(axis=(1, 2)) / safe
    var_c = (w * dc * dc).sum(axis=(1, 2)) / safe
    cov = (w * dr * dc).sum(axis=(1, 2)) / safe
    return mass, r0, c0, var_r, var_c, cov


def ink_mass(images) -> np.ndarray:
    """Total ink per image (N,), in pixels."""
    return _ink(images).sum(axis=(1, 2))


def slant(images) -> np.ndarray:
    """-cov(column, row) / var(row) per image (N,): columns of lean per row, > 0 leaning right
    (rows count downwards, so a top to the right pairs small rows with large columns)."""
    _, _, _, var_r, _, cov = _moments(images)
    return -cov / np.maximum(var_r, 1e-12)


def width(images) -> np.ndarray:
    """sqrt(var(column)) of the ink per image (N,), in pixels."""
    return np.sqrt(_moments(images)[4])


def sharpness(images) -> float:
    """mean |x[..., j+1] - x[..., j]| + mean |x[..., i+1, :] - x[..., i, :]|: edge strength."""
    x = backend.to_numpy(images.data if isinstance(images, Tensor) else images)
    x = np.asarray(x, dtype=np.float64)
    if x.ndim < 2 or min(x.shape[-2:]) < 2:
        raise ValueError(f"sharpness needs images at least 2x2 in their last two axes, got {x.shape}")
    return float(np.abs(np.diff(x, axis=-1)).mean() + np.abs(np.diff(x, axis=-2)).mean())


def measure(images, which=ATTRIBUTES) -> dict:
    """{name: values (N,)} for the attributes named."""
    fns = {"ink_mass": ink_mass, "slant": slant, "width": width}
    unknown = [w for w in which if w not in fns]
    if unknown:
        raise ValueError(f"unknown attribute(s) {unknown}; known: {list(fns)}")
    return {w: fns[w](images) for w in which}


def bucket_edges(images, labels, buckets: int = 3, num_classes: int = 10) -> np.ndarray:
    """Per-class ink-mass quantiles (num_classes, buckets - 1) that cut each class's digits
    into `buckets` equal parts (thin ... thick)."""
    if buckets < 2:
        raise ValueError(f"bucket_edges: need at least 2 buckets, got {buckets}")
    ink, labels = ink_mass(images), np.asarray(labels).astype(np.int64)
    qs = np.arange(1, buckets) / buckets
    edges = np.zeros((num_classes, buckets - 1))
    for c in range(num_classes):
        mine = ink[labels == c]
        if mine.size == 0:
            raise ValueError(f"bucket_edges: no digit of class {c} to set its edges from")
        edges[c] = np.quantile(mine, qs)
    return edges


def thickness_buckets(images, labels, edges: np.ndarray) -> np.ndarray:
    """Each image's thickness bucket (N,) in 0..B-1 by its class's edges (bucket_edges)."""
    ink, labels = ink_mass(images), np.asarray(labels).astype(np.int64)
    if labels.shape != ink.shape:
        raise ValueError(f"thickness_buckets: {ink.size} images but {labels.size} labels")
    return np.array([np.searchsorted(edges[c], v) for c, v in zip(labels, ink)], dtype=np.int64)
