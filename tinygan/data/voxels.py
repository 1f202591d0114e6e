"""Synthetic voxel shapes for a 3D-GAN (Wu, Zhang, Xue, Freeman & Tenenbaum 2016, arXiv
1610.07584): spheres, boxes, cylinders and tori in a size^3 occupancy grid, (N, 1, D, H, W)
float32 in {0, 1}, with no download.

The grid is the cube [-1, 1]^3; voxel (i, j, k) is filled when its centre
((2i + 1) / size - 1, ...) passes the shape's inside-test, written in the shape's own frame
(centre at 0, axis along z) after the inverse of a uniformly random rotation:

- sphere:   x^2 + y^2 + z^2 <= r^2
- box:      |x| <= a, |y| <= b, |z| <= c              (half-extents)
- cylinder: x^2 + y^2 <= r^2 and |z| <= h             (h: half the height)
- torus:    (sqrt(x^2 + y^2) - R)^2 + z^2 <= r^2      (R: ring radius, r: tube radius)

Every shape, whatever its class, first draws the fraction f of the cube it will fill,
uniformly in [FILL_LOW, FILL_HIGH] = [3 %, 15 %], and only then its proportions and rotation,
so occupancy alone cannot tell the classes apart (the best guess of the class from the
occupancy's decile, fitted on the very shapes it is scored on, is right for 31 % of 1,000
shapes at 16^3, against a chance of 25 %). Measured on 4,000 shapes (1,000 per class, seed 0),
the filled fraction spans, at 16^3: sphere 3.0-15.0 %, box 2.9-15.3 %, cylinder 2.9-15.3 %,
torus 3.0-15.3 %; at 32^3 every class 3.0-15.1 %: f give or take the voxels cut at the
surface. The top of the range is set by the torus, the shape that fills least of the box
around it: a torus of much more than 15 % does not fit the grid in any rotation.

Each shape stays off the outermost layer of voxels: its reach from its centre along every
axis (the support function of the rotated shape, `extents`) is at most 1 - 2/size, so the
border voxels are always empty and no shape is cut off by the grid. Proportions and rotation
(never f) are redrawn until the shape fits; a shape that still does not fit after MAX_TRIES
draws is shrunk until it does. That happened to none at 16^3 or 32^3, but at 8^3 (where the
border is a quarter of the cube) to 371 of 1,000 tori, which there span only 2.7-12.7 %.
A torus's hole is at least 1.2 voxels in radius at size 16 (twice that at 32), so the voxel
nearest its centre is always empty there, while every other class fills it.
"""
from __future__ import annotations

import logging

import numpy as np

log = logging.getLogger(__name__)

CLASSES = ("sphere", "box", "cylinder", "torus")
FILL_LOW, FILL_HIGH = 0.03, 0.15   # the volume fraction f each shape is drawn to fill
# box half-extents: the cube's times log-uniform factors in [1/1.5, 1.5], rescaled to the
# volume (so no side is more than 2.25 times another)
BOX_ASPECT = 1.5
CYLINDER_HEIGHT = (0.5, 1.5)   # height / diameter: from a disc-like can to a tall one
TORUS_TUBE = (0.3, 0.55)  # tube radius / ring radius; at most 0.55 keeps a hole of 1.2 voxels
MAX_TRIES = 100
MIN_SIZE = 8
_POINTS_PER_CHUNK = 1 << 21   # voxel centres tested at once: about 25 MB of float32 coordinates


def _check(n, size: int, classes) -> tuple:
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 0:
        raise ValueError(f"voxels: n must be an int >= 0 (how many shapes), got {n!r}")
    if not isinstance(size, (int, np.integer)) or isinstance(size, bool) or size < MIN_SIZE:
        raise ValueError(f"voxels: size must be an int >= {MIN_SIZE} (voxels along each "
                         f"axis, e.g. 16 or 32), got {size!r}")
    if isinstance(classes, str):
        classes = (classes,)
    classes = tuple(classes)
    unknown = [c for c in classes if c not in CLASSES]
    if unknown or not classes or len(set(classes)) != len(classes):
        why = (f"unknown class(es) {unknown}" if unknown else
               "no classes" if not classes else f"repeated classes in {list(classes)}")
        raise ValueError(f"voxels: {why}; choose distinct names from {list(CLASSES)}")
    return int(n), int(size), classes


def random_rotations(rng, n: int) -> np.ndarray:
    """n rotation matrices (n, 3, 3), uniform on SO(3): unit quaternions from N(0, I_4)."""
    q = rng.standard_normal((n, 4))
    w, x, y, z = (q / np.linalg.norm(q, axis=1, keepdims=True)).T
    return np.stack([
        np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], -1),
        np.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], -1),
        np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], -1),
    ], axis=1)


def _proportions(name: str, volume: np.ndarray, rng) -> np.ndarray:
    """dims (m, 3) of shapes of the given volumes: sphere (r, 0, 0), box (a, b, c), cylinder
    (r, h, 0), torus (R, r, 0)."""
    m = len(volume)
    dims = np.zeros((m, 3))
    if name == "sphere":
        dims[:, 0] = np.cbrt(3 * volume / (4 * np.pi))
    elif name == "box":                                   # volume = 8abc
        u = rng.uniform(-np.log(BOX_ASPECT), np.log(BOX_ASPECT), (m, 3))
        dims[:] = np.cbrt(volume / 8)[:, None] * np.exp(u - u.mean(axis=1, keepdims=True))
    elif name == "cylinder":                              # volume = 2 pi r^2 h, h = q r
        q = rng.uniform(*CYLINDER_HEIGHT, m)
        dims[:, 0] = np.cbrt(volume / (2 * np.pi * q))
        dims[:, 1] = q * dims[:, 0]
    else:                                                 # torus: 2 pi^2 R r^2, r = t R
        t = rng.uniform(*TORUS_TUBE, m)
        dims[:, 0] = np.cbrt(volume / (2 * np.pi ** 2 * t ** 2))
        dims[:, 1] = t * dims[:, 0]
    return dims


def extents(name: str, dims: np.ndarray, rotation: np.ndarray) -> np.ndarray:
    """How far each shape (m,) reaches from its centre along x, y, z (m, 3): the support
    function of the rotated shape, h(e_j) = max over its points p of |p_j|."""
    dims, rotation = np.asarray(dims, float), np.asarray(rotation, float)
    axis = rotation[:, :, 2]                              # the shape's z axis, in the grid
    across = np.sqrt(np.clip(1 - axis ** 2, 0, None))     # e_j's length in the shape's x-y plane
    if name == "sphere":
        return np.repeat(dims[:, :1], 3, axis=1)
    if name == "box":                                     # sum_k |R_jk| half-extent_k
        return np.einsum("mjk,mk->mj", np.abs(rotation), dims)
    if name == "cylinder":                                # h |a_j| + r sqrt(1 - a_j^2)
        return dims[:, 1:2] * np.abs(axis) + dims[:, :1] * across
    return dims[:, :1] * across + dims[:, 1:2]           # torus: R sqrt(1 - a_j^2) + r


def shape_parameters(n: int, size: int = 16, seed: int = 0, classes=CLASSES) -> dict:
    """What shapes(n, size, seed, classes) draws, as a dict: labels (n,) int64 (indices into
    classes), fill (n,) the drawn f, dims (n, 3) (sphere (r, 0, 0), box half-extents (a, b, c),
    cylinder (r, h, 0), torus (R, r, 0)), rotation (n, 3, 3) (its columns: the shape's axes in
    the grid; the identity for spheres), centre (n, 3), and the classes and size."""
    n, size, classes = _check(n, size, classes)
    rng = np.random.default_rng(seed)
    # arange % k: n // k of each class, the first n % k classes one more, and any prefix of
    # the set (a batch) is as balanced as it can be
    labels = np.arange(n, dtype=np.int64) % len(classes)
    fill = rng.uniform(FILL_LOW, FILL_HIGH, n)
    dims, rotation = np.zeros((n, 3)), np.tile(np.eye(3), (n, 1, 1))
    reach = np.zeros((n, 3))
    limit = 1 - 2 / size                                  # keeps the border voxels empty
    for k, name in enumerate(classes):
        rows = np.flatnonzero(labels == k)
        for _ in range(MAX_TRIES):                        # redraw proportions and rotation,
            if not len(rows):                             # never the size f
                break
            dims[rows] = _proportions(name, 8 * fill[rows], rng)
            if name != "sphere":
                rotation[rows] = random_rotations(rng, len(rows))
            reach[rows] = extents(name, dims[rows], rotation[rows])
            rows = rows[reach[rows].max(axis=1) > limit]
        if len(rows):
            log.debug("voxels: %d shapes of class %r shrunk to fit a %d^3 grid", len(rows),
                      name, size)
            shrink = limit / reach[rows].max(axis=1, keepdims=True)
            dims[rows] *= shrink
            reach[rows] *= shrink
    centre = rng.uniform(-1, 1, (n, 3)) * (limit - reach)
    return {"labels": labels, "fill": fill, "dims": dims, "rotation": rotation,
            "centre": centre, "classes": classes, "size": size}


def _inside(name: str, x: np.ndarray, y: np.ndarray, z: np.ndarray, dims: np.ndarray):
    """The inside-test at points (x, y, z), each (P, m), in the m shapes' own frames."""
    d = [dims[:, j].astype(x.dtype) for j in range(3)]   # each (m,), broadcast over points
    if name == "sphere":
        return x * x + y * y + z * z <= d[0] ** 2
    if name == "box":
        return (np.abs(x) <= d[0]) & (np.abs(y) <= d[1]) & (np.abs(z) <= d[2])
    if name == "cylinder":
        return (x * x + y * y <= d[0] ** 2) & (np.abs(z) <= d[1])
    return (np.sqrt(x * x + y * y) - d[0]) ** 2 + z * z <= d[1] ** 2


def rasterize(params: dict) -> np.ndarray:
    """Voxels (n, 1, size, size, size) float32 of shape_parameters' shapes: 1 where a voxel's
    centre passes its shape's inside-test; the last three axes are x, y, z."""
    size, labels = params["size"], params["labels"]
    c = ((2 * np.arange(size) + 1) / size - 1).astype(np.float32)
    grid = np.stack(np.meshgrid(c, c, c, indexing="ij"), -1).reshape(-1, 3)   # (P, 3)
    out = np.zeros((len(labels), size ** 3), np.float32)
    chunk = max(1, _POINTS_PER_CHUNK // size ** 3)
    for k, name in enumerate(params["classes"]):
        rows = np.flatnonzero(labels == k)
        for start in range(0, len(rows), chunk):
            r = rows[start:start + chunk]
            rot = params["rotation"][r].astype(np.float32)                    # (m, 3, 3)
            shift = np.einsum("mj,mjk->mk", params["centre"][r], rot)         # (m, 3)
            # the shape's own coordinates of every voxel centre p: R^T (p - c), one matrix
            # product (P, 3) x (3, m) per local axis, for all m shapes at once
            x, y, z = (grid @ rot[:, :, j].T - shift[:, j] for j in range(3))  # each (P, m)
            out[r] = _inside(name, x, y, z, params["dims"][r]).T
    return out.reshape(len(labels), 1, size, size, size)


def shapes(n: int, size: int = 16, seed: int = 0, classes=CLASSES):
    """(voxels (n, 1, size, size, size) float32 in {0, 1}, labels (n,) int64 indexing classes):
    n shapes, n // k of each of the k classes (the first n % k classes one more), each of a
    random size, position and rotation, the same for the same seed."""
    params = shape_parameters(n, size, seed, classes)
    return rasterize(params), params["labels"]


def occupancy(voxels) -> np.ndarray:
    """The filled fraction of each sample (N,) float64: mean over its voxels of v > 0.5."""
    v = np.asarray(voxels)
    if v.ndim < 2 or v.dtype.kind not in "biuf":
        raise ValueError(f"occupancy: voxels must be numbers of shape (N, ...), e.g. (N, 1, D, "
                         f"H, W), got {v.dtype} {v.shape}")
    return (v.reshape(len(v), -1) > 0.5).mean(axis=1)
