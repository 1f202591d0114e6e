"""The synthetic voxel shapes of tinygan.data.voxels (3D-GAN, arXiv 1610.07584): determinism,
shapes and values, balanced classes, every shape off the grid's border, each class's geometry
re-derived from its parameters, occupancy that cannot tell the classes apart, and the errors."""
from __future__ import annotations

import numpy as np
import pytest

from tinygan.data import voxels as V


@pytest.fixture(scope="module")
def thousand():
    """1,000 shapes at 16^3 (250 per class) and the parameters they were drawn from."""
    params = V.shape_parameters(1000, 16, seed=0)
    return V.rasterize(params), params


def _centres(size: int) -> np.ndarray:
    """The voxel centres (size, size, size, 3) in [-1, 1], as the module places them."""
    c = (np.arange(size) + 0.5) * 2 / size - 1
    return np.stack(np.meshgrid(c, c, c, indexing="ij"), -1)


def test_same_seed_same_shapes_other_seed_other_shapes():
    v, labels = V.shapes(12, seed=3)
    again, labels_again = V.shapes(12, seed=3)
    np.testing.assert_array_equal(v, again)
    np.testing.assert_array_equal(labels, labels_again)
    assert not np.array_equal(V.shapes(12, seed=4)[0], v)
    np.testing.assert_array_equal(V.shapes(12, seed=3, classes=V.CLASSES)[0], v)


def test_shapes_dtypes_values_and_balanced_labels(thousand):
    v, params = thousand
    assert v.shape == (1000, 1, 16, 16, 16) and v.dtype == np.float32
    assert set(np.unique(v)) == {0.0, 1.0}
    assert params["labels"].dtype == np.int64
    assert np.bincount(params["labels"]).tolist() == [250] * 4
    _, labels = V.shapes(10)                          # 10 = 4 * 2 + 2: the first two get one more
    assert np.bincount(labels).tolist() == [3, 3, 2, 2]
    v0, l0 = V.shapes(0)
    assert v0.shape == (0, 1, 16, 16, 16) and l0.shape == (0,)
    assert (V.occupancy(v) > 0).all()                 # no empty shape


def test_border_voxels_are_empty_and_reach_fits_the_grid(thousand):
    v, params = thousand
    limit = 1 - 2 / 16
    for axis in (2, 3, 4):
        assert not np.take(v, [0, -1], axis=axis).any()
    reach = np.concatenate([V.extents(name, params["dims"][params["labels"] == k],
                                      params["rotation"][params["labels"] == k])
                            for k, name in enumerate(V.CLASSES)])
    centre = np.concatenate([params["centre"][params["labels"] == k] for k in range(4)])
    assert (np.abs(centre) + reach <= limit + 1e-9).all()


def test_extents_are_the_support_function(thousand):
    """Points sampled on each shape's surface, rotated into the grid, reach exactly as far
    along x, y, z as extents says (never further, and within 2 % of it)."""
    _, params = thousand
    rng = np.random.default_rng(0)
    u = rng.standard_normal((4000, 3))
    u /= np.linalg.norm(u, axis=1, keepdims=True)                   # directions on a sphere
    angle = rng.uniform(0, 2 * np.pi, 4000)
    ring = np.stack([np.cos(angle), np.sin(angle), np.zeros_like(angle)], 1)
    for k, name in enumerate(V.CLASSES):
        rows = np.flatnonzero(params["labels"] == k)[:20]
        for i in rows:
            d = params["dims"][i]
            if name == "sphere":
                local = d[0] * u
            elif name == "box":                                     # the 8 corners hold the max
                local = np.array(np.meshgrid(*[[-h, h] for h in d])).reshape(3, -1).T
            elif name == "cylinder":                                # the two rims
                local = np.concatenate([d[0] * ring + [0, 0, d[1]], d[0] * ring - [0, 0, d[1]]])
            else:                                                   # ring circle + tube sphere
                local = d[0] * ring + d[1] * u
            world = local @ params["rotation"][i].T
            got = V.extents(name, d[None], params["rotation"][i][None])[0]
            assert (np.abs(world).max(axis=0) <= got + 1e-9).all()
            np.testing.assert_allclose(np.abs(world).max(axis=0), got, rtol=0.02)


def test_rotations_are_proper_and_spheres_unrotated(thousand):
    _, params = thousand
    r = params["rotation"]
    np.testing.assert_allclose(r @ r.transpose(0, 2, 1), np.broadcast_to(np.eye(3), r.shape),
                               atol=1e-12)
    np.testing.assert_allclose(np.linalg.det(r), 1, atol=1e-12)
    spheres = params["labels"] == 0
    np.testing.assert_array_equal(r[spheres], np.broadcast_to(np.eye(3), r[spheres].shape))
    assert np.abs(r[~spheres] - np.eye(3)).max() > 0.5              # the others really turn
    z = r[params["labels"] == 3][:, :, 2]                           # torus axes: all around
    assert np.abs(z.mean(axis=0)).max() < 0.15


@pytest.mark.parametrize("name", V.CLASSES)
def test_each_class_is_its_own_inside_test(name):
    """Rebuilt from its parameters in float64: a voxel is filled exactly when its centre is
    inside, solving R q = p - c for the shape's own coordinates q (not using R^T), and
    g(q) <= 0 with g a signed distance-like margin; centres within 1e-4 of the surface are
    left out, where float32 rounding may go either way."""
    params = V.shape_parameters(12, 16, seed=5, classes=(name,))
    v = V.rasterize(params)
    p = _centres(16).reshape(-1, 3)
    for i in range(12):
        q = np.linalg.solve(params["rotation"][i], (p - params["centre"][i]).T).T
        d = params["dims"][i]
        radial = np.hypot(q[:, 0], q[:, 1])
        g = {
            "sphere": np.linalg.norm(q, axis=1) - d[0],
            "box": (np.abs(q) - d).max(axis=1),
            "cylinder": np.maximum(radial - d[0], np.abs(q[:, 2]) - d[1]),
            "torus": np.hypot(radial - d[0], q[:, 2]) - d[1],
        }[name]
        clear = np.abs(g) > 1e-4
        filled = v[i, 0].reshape(-1) == 1
        np.testing.assert_array_equal(filled[clear], g[clear] <= 0)
        assert filled.sum() > 50


def test_spheres_lie_within_their_radius_and_tori_have_a_hole():
    for size in (16, 32):
        params = V.shape_parameters(200, size, seed=1)
        v = V.rasterize(params)
        labels, centre = params["labels"], params["centre"]
        nearest = np.clip(np.floor((centre + 1) * size / 2).astype(int), 0, size - 1)
        middle = v[np.arange(200), 0, nearest[:, 0], nearest[:, 1], nearest[:, 2]]
        assert (middle[labels == 3] == 0).all()                     # the hole of every torus
        assert (middle[labels != 3] == 1).all()                     # the others are solid there
        p = _centres(size)
        for i in np.flatnonzero(labels == 0)[:10]:
            r = np.linalg.norm(p - centre[i], axis=-1)[v[i, 0] == 1]
            assert r.max() <= params["dims"][i, 0] + 1e-6
            # and reach the rim: some voxel centre lies within half a diagonal of any point
            assert r.max() >= params["dims"][i, 0] - 2 * np.sqrt(3) / size
        torus = np.flatnonzero(labels == 3)
        hole = (params["dims"][torus, 0] - params["dims"][torus, 1]) * size / 2   # in voxels
        assert hole.min() > np.sqrt(3) / 2                          # over half a voxel diagonal


def test_occupancy_ranges_overlap_so_occupancy_cannot_tell_the_class(thousand):
    v, params = thousand
    occ, labels = V.occupancy(v), params["labels"]
    assert occ.min() > 0.025 and occ.max() < 0.16
    np.testing.assert_allclose(occ, params["fill"], atol=0.012)     # f, give or take the surface
    for k in range(4):
        assert occ[labels == k].min() < 0.04 and occ[labels == k].max() > 0.14, V.CLASSES[k]
    # the best guess of the class from the occupancy's decile, scored on the shapes it was
    # fitted to, is hardly better than chance (25 %)
    decile = np.digitize(occ, np.quantile(occ, np.linspace(0.1, 0.9, 9)))
    right = sum(np.bincount(labels[decile == b], minlength=4).max() for b in range(10))
    assert right / len(occ) < 0.35
    assert V.occupancy(np.ones((2, 1, 8, 8, 8))).tolist() == [1.0, 1.0]


def test_size_32_and_a_choice_of_classes():
    v, labels = V.shapes(8, size=32, seed=2, classes=("torus", "sphere"))
    assert v.shape == (8, 1, 32, 32, 32) and labels.tolist() == [0, 1] * 4
    assert not v[:, :, [0, -1]].any() and not v[..., [0, -1]].any()
    occ = V.occupancy(v)
    assert ((occ > 0.025) & (occ < 0.16)).all()
    assert V.shapes(3, size=8)[0].shape == (3, 1, 8, 8, 8)


@pytest.mark.parametrize("call, message", [
    (lambda: V.shapes(-1), r"n must be an int >= 0"),
    (lambda: V.shapes(2.5), r"n must be an int >= 0"),
    (lambda: V.shapes(4, size=7), r"size must be an int >= 8"),
    (lambda: V.shapes(4, size=16.0), r"size must be an int >= 8"),
    (lambda: V.shapes(4, classes=("sphere", "cone")), r"unknown class\(es\) \['cone'\]"),
    (lambda: V.shapes(4, classes=()), r"no classes"),
    (lambda: V.shapes(4, classes=("box", "box")), r"repeated classes"),
    (lambda: V.occupancy(np.zeros(5)), r"shape \(N, \.\.\.\)"),
])
def test_bad_inputs(call, message):
    with pytest.raises(ValueError, match=message):
        call()
