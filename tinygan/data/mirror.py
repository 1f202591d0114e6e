"""Mirror digits, the long-range task of the SAGAN lesson (Zhang, Goodfellow, Metaxas & Odena
2019, arXiv 1805.08318): each 28x28 digit beside its own left-right mirror image, a 28x56
image whose column 55 - j equals column j. A convolution sees only a few neighbouring columns,
so keeping the two halves consistent needs something that links far-apart positions.

mirror_asymmetry measures how far an image is from such a mirror: mean |x - flip(x)| over its
28 x 56 pixels, 0 for a perfect mirror digit (in [-1, 1] pixels it is at most 2).
"""
from __future__ import annotations

import numpy as np

from .. import backend
from ..tensor import Tensor

DIGIT_SHAPE = (1, 28, 28)
MIRROR_SHAPE = (1, 28, 56)


def _host_images(images, shape: tuple, fn: str) -> np.ndarray:
    """A float host array (N,) + shape, or a clear error naming what was given."""
    a = backend.to_numpy(images.data if isinstance(images, Tensor) else images)
    a = np.asarray(a)
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{fn}: images must be numbers, got dtype {a.dtype}")
    if a.ndim != 1 + len(shape) or tuple(a.shape[1:]) != shape or len(a) == 0:
        want = ", ".join(["N", *map(str, shape)])
        raise ValueError(f"{fn}: images have shape {a.shape}, expected ({want}) with N >= 1")
    return a


def mirror_digits(images) -> np.ndarray:
    """Digits (N, 1, 28, 28) -> float32 (N, 1, 28, 56): [digit | digit flipped left-right]."""
    a = _host_images(images, DIGIT_SHAPE, "mirror_digits").astype(np.float32, copy=False)
    return np.concatenate([a, np.flip(a, axis=3)], axis=3)


def left_halves(images) -> np.ndarray:
    """Mirror images (N, 1, 28, 56) -> their left halves (N, 1, 28, 28), float32: the digit
    that an MNIST judge can score."""
    a = _host_images(images, MIRROR_SHAPE, "left_halves")
    return np.ascontiguousarray(a[..., :28], dtype=np.float32)


def mirror_asymmetry(images, reduce: bool = True):
    """mean |x - flip_width(x)| over each image's 28 x 56 pixels (float64): the mean over the
    images (reduce=True) or one value per image (N,). Each differing pair counts twice, once
    in each half, so this equals the mean |left - flip(right)| over a half."""
    a = _host_images(images, MIRROR_SHAPE, "mirror_asymmetry").astype(np.float64)
    per_image = np.abs(a - np.flip(a, axis=3)).mean(axis=(1, 2, 3))
    return float(per_image.mean()) if reduce else per_image
