"""The Laplacian pyramid of LAPGAN (Denton, Chintala, Szlam & Fergus 2015, arXiv 1506.05751,
section 3.1), for digits 28 -> 14 -> 7:

    d(I) = the mean of every 2x2 block (avg_pool2d)     u(I) = every pixel as a 2x2 block
    I_0 = I, I_{k+1} = d(I_k);   h_k = I_k - u(I_{k+1})  (the detail that d threw away)
    pyramid = [h_0, ..., h_{K-1}, I_K]                 (finest detail first, low-pass last)
    I_k = u(I_{k+1}) + h_k                              (so reconstruction is exact)

Works on Tensors (differentiable: LAPGAN's generators build images with it) and on arrays
(returned as arrays: float64 stays float64, the rest becomes float32). u is nearest-neighbour, so d(u(I)) = I and every h_k has zero
mean over each 2x2 block.
"""
from __future__ import annotations

import numpy as np

from .. import conv
from ..tensor import Tensor


def _checked(images, fn: str, multiple: int = 2) -> tuple[Tensor, bool]:
    is_tensor = isinstance(images, Tensor)
    x = images if is_tensor else Tensor(_floats(images))
    if x.ndim != 4:
        raise ValueError(f"{fn}: images must be (N, C, H, W), got shape {tuple(x.shape)}")
    if x.shape[2] % multiple or x.shape[3] % multiple:
        raise ValueError(f"{fn}: height and width must be multiples of {multiple}, got "
                         f"{tuple(x.shape[2:])} (28 -> 14 -> 7 halves cleanly)")
    return x, is_tensor


def _floats(images) -> np.ndarray:
    """float64 arrays stay float64 (exact reconstruction is tested there); others: float32."""
    a = np.asarray(images)
    return a if a.dtype == np.float64 else a.astype(np.float32)


def _out(x: Tensor, is_tensor: bool):
    return x if is_tensor else x.numpy()


def downsample(images):
    """d(I): (N, C, H, W) -> (N, C, H/2, W/2), the mean of each 2x2 block."""
    x, t = _checked(images, "downsample")
    return _out(conv.avg_pool2d(x, 2), t)


def upsample(images):
    """u(I): (N, C, H, W) -> (N, C, 2H, 2W), every pixel repeated as a 2x2 block."""
    x, t = _checked(images, "upsample", 1)
    return _out(conv.interpolate(x, 2), t)


def laplacian_pyramid(images, levels: int = 3) -> list:
    """[h_0, ..., h_{levels-2}, I_{levels-1}]: levels - 1 detail images, then the low-pass."""
    if not isinstance(levels, (int, np.integer)) or levels < 1:
        raise ValueError(f"laplacian_pyramid: levels must be an int >= 1, got {levels!r}")
    x, t = _checked(images, "laplacian_pyramid", 2 ** (levels - 1))
    out = []
    for _ in range(levels - 1):
        coarse = conv.avg_pool2d(x, 2)
        out.append(x - conv.interpolate(coarse, 2))
        x = coarse
    return [_out(h, t) for h in out + [x]]


def reconstruct(pyramid) -> Tensor | np.ndarray:
    """I_0 from [h_0, ..., I_K]: I_k = u(I_{k+1}) + h_k from the coarsest up."""
    if not pyramid:
        raise ValueError("reconstruct: the pyramid is empty (it needs at least its low-pass "
                         "image)")
    is_tensor = isinstance(pyramid[-1], Tensor)
    level = [p if isinstance(p, Tensor) else Tensor(_floats(p)) for p in pyramid]
    x = level[-1]
    for h in reversed(level[:-1]):
        if tuple(h.shape[2:]) != (2 * x.shape[2], 2 * x.shape[3]):
            raise ValueError(f"reconstruct: a detail image of shape {tuple(h.shape)} cannot "
                             f"follow a level of shape {tuple(x.shape)}: each level must be "
                             "twice the size of the next")
        x = conv.interpolate(x, 2) + h
    return _out(x, is_tensor)
