"""The image-to-image tasks of tinygan.data.tasks: known answers on drawn strokes, shapes,
determinism, the disjoint halves of the unpaired set, and the errors."""
from __future__ import annotations

import numpy as np
import pytest

from tinygan.data import attributes as A
from tinygan.data import pyramid as P
from tinygan.data import tasks as T
from tinygan.data.digits import Digits, synthetic_digits


def _bar(width: int) -> np.ndarray:
    """A vertical bar `width` pixels wide in the middle of a blank 28x28 image."""
    x = -np.ones((1, 1, 28, 28), np.float32)
    x[..., 6:22, 14 - width // 2:14 - width // 2 + width] = 1
    return x


def test_erosion_and_dilation_on_a_bar():
    bar = _bar(4)
    thin, thick = T.erode(bar), T.dilate(bar)
    assert A.ink_mass(thin)[0] == (16 - 1) * (4 - 1)          # 2x2 blocks: one row, one column
    assert A.ink_mass(thick)[0] == 18 * 4 + 16 * 2             # a plus: one pixel on each side
    assert thin.min() >= -1 and thick.max() <= 1 and thin.dtype == np.float32
    assert A.ink_mass(T.erode(_bar(1)))[0] == 0                # a 1-pixel stroke vanishes


def test_edges_are_the_outline():
    bar = _bar(6)
    out = T.edges(bar)
    inside = (slice(None), slice(None), slice(8, 20), slice(13, 15))
    assert np.all(out[inside] == -1)                           # the bar's middle is not an edge
    assert out[0, 0, 6, 14] == 1 and out[0, 0, 14, 10] == 1    # its border is
    assert out[0, 0, 0, 0] == -1


def test_padding_cropping_and_low_resolution():
    x = np.random.default_rng(0).uniform(-1, 1, (3, 1, 28, 28)).astype(np.float32)
    big = T.pad32(x)
    assert big.shape == (3, 1, 32, 32) and np.all(big[..., :2, :] == -1)
    np.testing.assert_array_equal(T.crop28(big), x)
    np.testing.assert_array_equal(T.low_resolution(x, 14), P.downsample(x))
    np.testing.assert_allclose(T.low_resolution(x, 7), x.reshape(3, 1, 7, 4, 7, 4).mean((3, 5)),
                               rtol=1e-5, atol=1e-6)


def test_paired_and_unpaired_sets():
    digits = Digits.synthetic_set(40, seed=2)
    images, labels = digits.images, digits.labels
    p = T.paired("edges", digits)
    assert p.inputs.shape == p.targets.shape == (40, 1, 32, 32)
    assert T.paired("resolution", digits, 14).inputs.shape == (40, 1, 14, 14)
    u = T.unpaired(digits, seed=3)
    assert len(u.a) == len(u.b) == 20
    assert not set(u.a_index) & set(u.b_index)                 # disjoint halves
    assert sorted(np.concatenate([u.a_index, u.b_index])) == list(range(40))
    np.testing.assert_array_equal(u.a, T.erode(images[u.a_index]))
    np.testing.assert_array_equal(u.a_truth, T.dilate(images[u.a_index]))
    np.testing.assert_array_equal(u.b_truth, T.erode(images[u.b_index]))
    np.testing.assert_array_equal(u.b_labels, labels[u.b_index])
    again = T.unpaired(digits, seed=3)
    np.testing.assert_array_equal(again.a_index, u.a_index)    # deterministic from the seed
    assert not np.array_equal(T.unpaired(digits, seed=4).a_index, u.a_index)


def test_tasks_refuse_bad_input():
    with pytest.raises(ValueError, match=r"\(N, 1, H, W\)"):
        T.erode(np.zeros((28, 28)))
    with pytest.raises(ValueError, match="size must be 14 or 7"):
        T.low_resolution(np.zeros((1, 1, 28, 28)), 9)
    with pytest.raises(ValueError, match="unknown task 'colour'"):
        T.paired("colour", Digits(*synthetic_digits(4, seed=0), "s", synthetic=True))
    with pytest.raises(ValueError, match=r"\(N, C, 28, 28\)"):
        T.pad32(np.zeros((1, 1, 30, 30)))
