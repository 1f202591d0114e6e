"""Bicubic resizing, the baseline every super-resolution paper starts from (SRGAN, Ledig et
al. 2017, arXiv 1609.04802, reports it as its first row).

Keys' cubic convolution kernel (Keys 1981, IEEE TASSP 29(6)) with a = -0.5, the value PIL's
BICUBIC and MATLAB's imresize use (OpenCV and PyTorch use -0.75):

    k(t) = (a + 2)|t|^3 - (a + 3)|t|^2 + 1          for |t| <= 1
           a|t|^3 - 5a|t|^2 + 8a|t| - 4a             for 1 < |t| < 2,   0 beyond,

sampled at half-pixel centres (output pixel i sits at input coordinate (i + 1/2) s - 1/2 with
s = in / out, as PIL, MATLAB and torch's align_corners=False). Pixels beyond the edge repeat
the edge pixel (PIL instead drops them and renormalises the weights left, so the two agree
everywhere except within two input pixels of the border). No antialiasing: the kernel is not
widened when shrinking, so this is for upsampling. Host NumPy, float64 inside, float32 out.
"""
from __future__ import annotations

import numpy as np

KEYS_A = -0.5


def keys_kernel(t, a: float = KEYS_A) -> np.ndarray:
    """Keys' cubic convolution kernel k(t) (see the module docstring); k(0) = 1, k(+-1) =
    k(+-2) = 0, and the weights at any offset sum to 1."""
    t = np.abs(np.asarray(t, dtype=np.float64))
    near = ((a + 2) * t - (a + 3)) * t * t + 1
    far = ((a * t - 5 * a) * t + 8 * a) * t - 4 * a
    return np.where(t <= 1, near, np.where(t < 2, far, 0.0))


def cubic_matrix(in_size: int, out_size: int, a: float = KEYS_A) -> np.ndarray:
    """The (out_size, in_size) matrix of 1-D bicubic resizing with edge replication: its rows
    sum to 1, so a constant signal stays constant."""
    for name, v in (("in_size", in_size), ("out_size", out_size)):
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
            raise ValueError(f"cubic_matrix: {name} must be a positive int, got {v!r}")
    centre = (np.arange(out_size) + 0.5) * (in_size / out_size) - 0.5
    taps = np.floor(centre)[:, None] + np.arange(-1, 3)            # (out, 4): the 4 neighbours
    weights = keys_kernel(centre[:, None] - taps, a)
    m = np.zeros((out_size, in_size))
    rows = np.repeat(np.arange(out_size), 4)
    # a tap beyond the edge reads the edge pixel, so its weight is added to that pixel's
    np.add.at(m, (rows, np.clip(taps, 0, in_size - 1).astype(np.int64).ravel()),
              weights.ravel())
    return m


def bicubic(images, size, a: float = KEYS_A) -> np.ndarray:
    """Images (N, C, H, W) resized to size (an int for size x size, or (height, width)) by
    separable bicubic interpolation; float32 (N, C, *size). Values may overshoot the input's
    range a little near edges (the kernel has negative lobes): clip them if that matters."""
    x = np.asarray(images.numpy() if hasattr(images, "numpy") else images)
    if x.ndim != 4 or x.dtype.kind not in "biuf" or 0 in x.shape:
        raise ValueError(f"bicubic: images must be a non-empty numeric (N, C, H, W) array, got "
                         f"{x.dtype} {x.shape}")
    out_h, out_w = (size, size) if isinstance(size, (int, np.integer)) else tuple(size)
    mh, mw = cubic_matrix(x.shape[2], out_h, a), cubic_matrix(x.shape[3], out_w, a)
    return np.einsum("oh,nchw,pw->ncop", mh, x.astype(np.float64), mw,
                     optimize=True).astype(np.float32)
