"""Toy distributions: the ring and grid have the modes the papers use, samples are seeded and
land on the asked device, and the 1D densities and CDFs are exact."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinygan as tg
from tinygan import backend
from tinygan.data import toy


def test_ring_has_eight_distinct_modes_on_the_unit_circle():
    ring = toy.ring_2d()
    modes = ring.means
    assert modes.shape == (8, 2)
    np.testing.assert_allclose(np.hypot(modes[:, 0], modes[:, 1]), 1.0)
    # linspace(0, 2 pi, 8) would repeat the first mode as the last: every pair must be apart
    gaps = np.linalg.norm(modes[:, None] - modes[None], axis=-1) + np.eye(8)
    assert gaps.min() == pytest.approx(2 * np.sin(np.pi / 8))
    angles = np.sort(np.mod(np.arctan2(modes[:, 1], modes[:, 0]), 2 * np.pi))
    np.testing.assert_allclose(angles, 2 * np.pi * np.arange(8) / 8, atol=1e-12)
    assert np.allclose(ring.stds, 0.01)


def test_grid_has_25_modes_at_even_coordinates():
    grid = toy.grid_2d()
    assert grid.means.shape == (25, 2)
    expected = {(a, b) for a in (-4, -2, 0, 2, 4) for b in (-4, -2, 0, 2, 4)}
    assert {tuple(m) for m in grid.means.tolist()} == expected
    assert np.allclose(grid.stds, 0.05)


@pytest.mark.parametrize("dist", [toy.ring_2d(), toy.grid_2d(),
                                  toy.mixture_1d([-2.0, 3.0], [0.5, 0.25], [0.3, 0.7])],
                         ids=["ring", "grid", "mixture"])
def test_samples_cover_every_mode_in_proportion(dist, device):
    x = dist.sample(20000, rng=backend.rng(3, device), device=device)
    assert x.device == device and x.shape == (20000, dist.dim) and x.dtype == np.float32
    x = x.numpy().astype(np.float64)
    nearest = np.argmin(((x[:, None] - dist.means[None]) ** 2).sum(-1), axis=1)
    share = np.bincount(nearest, minlength=dist.n_modes) / len(x)
    # binomial standard error of a share p with n = 20000 is at most 0.0036; allow 5 of them
    np.testing.assert_allclose(share, dist.weights, atol=0.018)
    # every sample stays within 6 std of its mode
    assert np.all(np.linalg.norm(x - dist.means[nearest], axis=1) < 6 * dist.stds[nearest]
                  * np.sqrt(dist.dim) + 1e-6)


def test_sampling_is_seeded(device):
    dist = toy.ring_2d()
    a = dist.sample(64, rng=backend.rng(7, device), device=device).numpy()
    b = dist.sample(64, rng=backend.rng(7, device), device=device).numpy()
    c = dist.sample(64, rng=backend.rng(8, device), device=device).numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    tg.manual_seed(5)
    d = dist.sample(64, device=device).numpy()
    tg.manual_seed(5)
    np.testing.assert_array_equal(d, dist.sample(64, device=device).numpy())


def test_gaussian_moments():
    dist = toy.gaussian_1d(1.5, 0.25)
    x = dist.sample(50000, rng=backend.rng(0)).numpy().ravel()
    assert abs(x.mean() - 1.5) < 4 * 0.25 / np.sqrt(50000)
    assert abs(x.std() - 0.25) < 0.005


@given(st.floats(-3, 3), st.floats(0.1, 2.0), st.floats(-6, 6))
def test_1d_density_and_cdf_match_scipy(mean, std, x):
    stats = pytest.importorskip("scipy.stats")
    mix = toy.mixture_1d([mean, mean + 1.0], [std, 2 * std], [0.4, 0.6])
    want_pdf = 0.4 * stats.norm.pdf(x, mean, std) + 0.6 * stats.norm.pdf(x, mean + 1, 2 * std)
    want_cdf = 0.4 * stats.norm.cdf(x, mean, std) + 0.6 * stats.norm.cdf(x, mean + 1, 2 * std)
    assert mix.density(np.array([x]))[0] == pytest.approx(want_pdf, rel=1e-9, abs=1e-300)
    assert mix.cdf(np.array([x]))[0] == pytest.approx(want_cdf, rel=1e-9, abs=1e-15)


def test_density_integrates_to_one_and_cdf_is_its_integral():
    mix = toy.mixture_1d([-1.0, 2.0, 2.5], [0.3, 0.2, 0.6])
    xs = np.linspace(-6, 8, 200001)
    pdf = mix.density(xs)
    assert np.trapezoid(pdf, xs) == pytest.approx(1.0, abs=1e-9)
    running = np.concatenate([[0], np.cumsum((pdf[1:] + pdf[:-1]) / 2 * np.diff(xs))])
    np.testing.assert_allclose(mix.cdf(xs), running + mix.cdf(xs[:1]), atol=1e-8)


def test_2d_density_is_a_normalized_mixture():
    grid = toy.grid_2d(side=2, spacing=1.0, std=0.3)
    ticks = np.linspace(-3, 3, 401)
    xs, ys = np.meshgrid(ticks, ticks)
    pdf = grid.density(np.stack([xs.ravel(), ys.ravel()], axis=1))
    assert pdf.sum() * (ticks[1] - ticks[0]) ** 2 == pytest.approx(1.0, abs=1e-6)


def test_bad_parameters_are_named():
    with pytest.raises(ValueError, match="std"):
        toy.gaussian_1d(0.0, 0.0)
    with pytest.raises(ValueError, match="weights"):
        toy.mixture_1d([0.0, 1.0], 1.0, [0.5, 0.6])
    with pytest.raises(ValueError, match="1D"):
        toy.ring_2d().cdf(np.zeros((3, 2)))
