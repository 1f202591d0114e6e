"""tinygan.metrics on synthetic sets whose answer is known in closed form."""
import math

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import tinygan as tg
from tinygan import metrics

# The two protocols of VEEGAN/PacGAN, built here so these tests need no other module.
RING = np.stack([np.cos(2 * np.pi * np.arange(8) / 8), np.sin(2 * np.pi * np.arange(8) / 8)], 1)
RING_SIGMA = 0.01
GRID = np.array([(x, y) for x in (-4, -2, 0, 2, 4) for y in (-4, -2, 0, 2, 4)], dtype=float)
GRID_SIGMA = 0.05
PROTOCOLS = st.sampled_from([(RING, RING_SIGMA), (GRID, GRID_SIGMA)])


def _offsets(draw, n, low, high):
    """n 2-D offsets with lengths in [low, high] (in units of sigma) and any direction."""
    angles = draw(st.lists(st.floats(0, 2 * np.pi), min_size=n, max_size=n))
    lengths = draw(st.lists(st.floats(low, high), min_size=n, max_size=n))
    return np.array(lengths)[:, None] * np.stack([np.cos(angles), np.sin(angles)], 1)


# ---------------------------------------------------------------------------------------------
# Mode coverage
# ---------------------------------------------------------------------------------------------

@given(PROTOCOLS, st.data())
def test_samples_near_chosen_modes_capture_exactly_those(protocol, data):
    means, sigma = protocol
    picks = data.draw(st.lists(st.integers(0, len(means) - 1), min_size=1, max_size=80))
    samples = means[picks] + sigma * _offsets(data.draw, len(picks), 0.0, 2.99)
    result = metrics.mode_coverage(samples, means, sigma)
    expected_counts = np.bincount(picks, minlength=len(means))
    np.testing.assert_array_equal(result.counts, expected_counts)
    assert result.modes_captured == len(set(picks))
    np.testing.assert_array_equal(np.flatnonzero(result.captured), sorted(set(picks)))
    assert result.high_quality_fraction == 1.0 and result.num_samples == len(picks)
    q = expected_counts[expected_counts > 0] / len(picks)
    assert result.reverse_kl == pytest.approx(float(np.sum(q * np.log(len(means) * q))), abs=1e-12)


@given(PROTOCOLS, st.data())
def test_samples_off_every_mode_are_not_high_quality(protocol, data):
    means, sigma = protocol
    picks = data.draw(st.lists(st.integers(0, len(means) - 1), min_size=1, max_size=50))
    # between 3.01 sigma and 10 sigma from a mean: far from that one, farther from all others
    samples = means[picks] + sigma * _offsets(data.draw, len(picks), 3.01, 10.0)
    result = metrics.mode_coverage(samples, means, sigma)
    assert result.modes_captured == 0 and result.high_quality_fraction == 0.0
    assert not result.counts.any() and result.reverse_kl == math.inf
    everything = metrics.mode_coverage(samples, means, sigma, kl_over="all")
    q = np.bincount(picks, minlength=len(means)) / len(picks)
    q = q[q > 0]
    assert everything.reverse_kl == pytest.approx(float(np.sum(q * np.log(len(means) * q))))
    assert everything.modes_captured == 0  # kl_over changes the KL only


@given(st.integers(0, 25), st.integers(1, 25), st.integers(0, 2**32 - 1))
def test_high_quality_fraction_mixes(n_good, n_bad, seed):
    rng = np.random.default_rng(seed)
    good = GRID[rng.integers(0, 25, n_good)]
    bad = GRID[rng.integers(0, 25, n_bad)] + np.array([1.0, 1.0])  # centre of a grid cell
    samples = rng.permutation(np.concatenate([good, bad]))
    result = metrics.mode_coverage(samples, GRID, GRID_SIGMA)
    assert result.high_quality_fraction == pytest.approx(n_good / (n_good + n_bad))
    assert result.counts.sum() == n_good


def test_uniform_and_collapsed_reverse_kl():
    balanced = metrics.mode_coverage(np.repeat(RING, 3, axis=0), RING, RING_SIGMA)
    assert balanced.modes_captured == 8 and balanced.reverse_kl == pytest.approx(0.0, abs=1e-15)
    collapsed = metrics.mode_coverage(np.repeat(GRID[:1], 40, axis=0), GRID, GRID_SIGMA)
    assert collapsed.modes_captured == 1 and collapsed.reverse_kl == pytest.approx(np.log(25))
    d = collapsed.as_dict()
    assert d["modes_captured"] == 1 and d["counts"][0] == 40 and sum(d["counts"]) == 40


@given(PROTOCOLS, st.data())
def test_invariant_to_sample_order_and_translation(protocol, data):
    means, sigma = protocol
    n = data.draw(st.integers(1, 40))
    picks = data.draw(st.lists(st.integers(0, len(means) - 1), min_size=n, max_size=n))
    # keep clear of the 3-sigma boundary so rounding cannot flip a sample
    near = data.draw(st.lists(st.booleans(), min_size=n, max_size=n))
    inner = _offsets(data.draw, n, 0.0, 2.9)
    outer = _offsets(data.draw, n, 3.1, 8.0)
    samples = means[picks] + sigma * np.where(np.array(near)[:, None], inner, outer)
    shift = np.array(data.draw(st.tuples(st.floats(-5, 5), st.floats(-5, 5))))
    order = np.random.default_rng(n).permutation(n)
    a = metrics.mode_coverage(samples, means, sigma)
    b = metrics.mode_coverage(samples[order] + shift, means + shift, sigma)
    np.testing.assert_array_equal(a.counts, b.counts)
    assert a.high_quality_fraction == b.high_quality_fraction == np.mean(near)
    assert a.reverse_kl == pytest.approx(b.reverse_kl)


def test_linspace_ring_is_refused():
    angles = np.linspace(0, 2 * np.pi, 8)  # endpoint included: the 8th mode repeats the 1st
    bad_ring = np.stack([np.cos(angles), np.sin(angles)], 1)
    assert len(np.unique(np.round(bad_ring, 9), axis=0)) == 7
    with pytest.raises(ValueError, match="means 0 and 7 .*endpoint=False"):
        metrics.mode_coverage(bad_ring, bad_ring, RING_SIGMA)


def test_mode_coverage_accepts_tensors_and_device_arrays(xp):
    samples = xp.asarray(RING[[0, 0, 5]])
    for s in (samples, tg.tensor(RING[[0, 0, 5]])):
        result = metrics.mode_coverage(s, xp.asarray(RING), RING_SIGMA)
        assert result.modes_captured == 2 and result.counts.tolist() == [2, 0, 0, 0, 0, 1, 0, 0]


@pytest.mark.parametrize("kwargs, message", [
    ({"samples": np.zeros((3, 3))}, "same D"),
    ({"means": np.zeros((0, 2))}, "at least one mode"),
    ({"sigma": 0.0}, "sigma must be a positive"),
    ({"kl_over": "some"}, "kl_over"),
])
def test_mode_coverage_errors(kwargs, message):
    args = {"samples": RING, "means": RING, "sigma": RING_SIGMA, **kwargs}
    with pytest.raises(ValueError, match=message):
        metrics.mode_coverage(**args)


def test_mode_coverage_of_no_samples():
    result = metrics.mode_coverage(np.zeros((0, 2)), RING, RING_SIGMA)
    assert result.modes_captured == 0 and result.num_samples == 0 and result.reverse_kl == math.inf


# ---------------------------------------------------------------------------------------------
# Classifier score
# ---------------------------------------------------------------------------------------------

def _dirichlet(seed, n, c, alpha=0.5):
    return np.random.default_rng(seed).dirichlet(np.full(c, alpha), size=n)


@given(st.integers(1, 50), st.integers(1, 12))
def test_uniform_predictions_score_one(n, c):
    assert metrics.classifier_score(np.full((n, c), 1.0 / c)) == pytest.approx(1.0, abs=1e-12)


@given(st.integers(1, 50), st.integers(1, 12), st.integers(0, 2**32 - 1))
def test_identical_predictions_score_one(n, c, seed):
    row = _dirichlet(seed, 1, c)
    assert metrics.classifier_score(np.repeat(row, n, axis=0)) == pytest.approx(1.0, abs=1e-9)


@given(st.integers(1, 12), st.integers(0, 11), st.integers(1, 30))
def test_one_class_set_scores_one(c, k, n):
    assume(k < c)
    probs = np.zeros((n, c))
    probs[:, k] = 1.0
    assert metrics.classifier_score(probs) == 1.0


@given(st.integers(1, 12), st.integers(1, 6), st.integers(0, 2**32 - 1))
def test_confident_balanced_predictions_score_num_classes(c, per_class, seed):
    labels = np.random.default_rng(seed).permutation(np.repeat(np.arange(c), per_class))
    probs = np.eye(c)[labels]
    assert metrics.classifier_score(probs) == pytest.approx(c, rel=1e-12)
    # splits made of whole repetitions of every class each score c as well
    ordered = np.eye(c)[np.tile(np.arange(c), per_class)]
    np.testing.assert_allclose(metrics.classifier_score_splits(ordered, per_class), c, rtol=1e-12)


@given(st.floats(0.0, 1.0))
def test_two_class_closed_form(a):
    # half the samples predict (1-a, a), half (a, 1-a): p(y) is uniform, so
    # KL = log 2 - H(a) for every sample and the score is 2 exp(-H(a))
    probs = np.array([[1 - a, a], [a, 1 - a]] * 3)
    entropy = -sum(p * math.log(p) for p in (a, 1 - a) if p > 0)
    assert metrics.classifier_score(probs) == pytest.approx(2 * math.exp(-entropy), rel=1e-9)


@given(st.integers(2, 40), st.integers(2, 10), st.integers(0, 2**32 - 1))
def test_score_bounds_and_symmetries(n, c, seed):
    probs = _dirichlet(seed, n, c)
    score = metrics.classifier_score(probs)
    assert 1.0 - 1e-9 <= score <= c + 1e-9
    rng = np.random.default_rng(seed + 1)
    assert metrics.classifier_score(probs[rng.permutation(n)]) == pytest.approx(score)
    assert metrics.classifier_score(probs[:, rng.permutation(c)]) == pytest.approx(score)
    logits = np.log(probs + 1e-300) + rng.normal(size=(n, 1))  # a per-row shift changes nothing
    assert metrics.classifier_score(logits, from_logits=True) == pytest.approx(score, rel=1e-6)
    assert metrics.classifier_score(tg.tensor(probs)) == pytest.approx(score)


def test_splits_average_per_chunk_scores():
    probs = _dirichlet(0, 30, 10)
    per_split = metrics.classifier_score_splits(probs, splits=3)
    expected = [metrics.classifier_score(chunk) for chunk in np.array_split(probs, 3)]
    np.testing.assert_allclose(per_split, expected)
    assert metrics.classifier_score(probs, splits=3) == pytest.approx(np.mean(expected))


@pytest.mark.parametrize("probs, kwargs, message", [
    (np.full((3, 4), 0.3), {}, "sum to 1"),
    (np.array([[1.5, -0.5]]), {}, "non-negative"),
    (np.ones(4) / 4, {}, r"\(N, C\)"),
    (np.full((3, 2), 0.5), {"splits": 4}, "splits must be"),
    (np.full((3, 2), 0.5), {"splits": 0}, "splits must be"),
])
def test_classifier_score_errors(probs, kwargs, message):
    with pytest.raises(ValueError, match=message):
        metrics.classifier_score(probs, **kwargs)


# ---------------------------------------------------------------------------------------------
# Fréchet distance
# ---------------------------------------------------------------------------------------------

def _random_covariance(rng, d, rank=None):
    a = rng.normal(size=(d, rank or d))
    return a @ a.T / (rank or d) + (0 if rank else 0.1 * np.eye(d))


@given(st.integers(3, 60), st.integers(1, 8), st.integers(0, 2**32 - 1))
def test_identical_sets_give_zero(n, d, seed):
    features = np.random.default_rng(seed).normal(size=(n, d)) * 3.0 + 1.0
    assert metrics.frechet_distance(features, features.copy()) == pytest.approx(0.0, abs=1e-8)


@given(st.integers(3, 40), st.integers(1, 6), st.integers(0, 2**32 - 1),
       st.lists(st.floats(-5, 5), min_size=6, max_size=6))
def test_shifted_set_gives_squared_shift(n, d, seed, shift):
    features = np.random.default_rng(seed).normal(size=(n, d))
    delta = np.array(shift[:d])
    got = metrics.frechet_distance(features, features + delta)
    assert got == pytest.approx(float(delta @ delta), abs=1e-7)


def test_shifted_gaussians_sampled():
    rng = np.random.default_rng(0)
    shift = np.array([0.6, -0.8, 0.0])
    a = rng.normal(size=(50000, 3))
    b = rng.normal(size=(50000, 3)) + shift
    # the estimate's noise is dominated by 2 shift.(mean errors): standard deviation
    # 2 |shift| sqrt(2 / N) ~ 0.013 (the covariance term is O(d / N)); allow 4 of those
    assert metrics.frechet_distance(a, b) == pytest.approx(shift @ shift, abs=0.05)


@given(st.integers(1, 6), st.integers(0, 2**32 - 1))
def test_commuting_covariances_closed_form(d, seed):
    # same eigenvectors Q: the distance is |mu1 - mu2|^2 + sum (sqrt(a_i) - sqrt(b_i))^2
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    a, b = rng.uniform(0, 4, d), rng.uniform(0, 4, d)
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
    got = metrics.frechet_distance_from_stats(mu1, q @ np.diag(a) @ q.T, mu2, q @ np.diag(b) @ q.T)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    assert got == pytest.approx(expected, rel=1e-7, abs=1e-9)


@given(st.integers(2, 30), st.integers(2, 30), st.integers(1, 10), st.integers(0, 2**32 - 1))
def test_symmetric_and_non_negative(n1, n2, d, seed):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(n1, d))
    b = rng.normal(size=(n2, d)) * rng.uniform(0.1, 3) + rng.normal()
    ab, ba = metrics.frechet_distance(a, b), metrics.frechet_distance(b, a)
    assert ab >= 0.0 and ab == pytest.approx(ba, rel=1e-7, abs=1e-9)


def test_rank_deficient_covariances():
    # fewer samples than features: singular covariances are fine for the eigh route
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(5, 20)), rng.normal(size=(6, 20))
    assert metrics.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-9)
    assert np.isfinite(metrics.frechet_distance(a, b)) and metrics.frechet_distance(a, b) > 0


@given(st.integers(1, 12), st.integers(0, 2**32 - 1), st.booleans())
def test_sqrtm_psd_matches_scipy(d, seed, singular):
    linalg = pytest.importorskip("scipy.linalg")
    rng = np.random.default_rng(seed)
    c = _random_covariance(rng, d, rank=max(1, d // 2) if singular else None)
    root = metrics.sqrtm_psd(c)
    np.testing.assert_allclose(root @ root, c, atol=1e-10)
    np.testing.assert_allclose(root, root.T, atol=1e-12)
    assert np.linalg.eigvalsh(root).min() > -1e-10
    if not singular:  # scipy's Schur route is accurate on well-conditioned matrices
        np.testing.assert_allclose(root, np.real(linalg.sqrtm(c)), atol=1e-8)


@given(st.integers(1, 10), st.integers(0, 2**32 - 1))
def test_frechet_matches_scipy_formula(d, seed):
    linalg = pytest.importorskip("scipy.linalg")
    rng = np.random.default_rng(seed)
    c1, c2 = _random_covariance(rng, d), _random_covariance(rng, d)
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
    # the usual FID code: tr sqrtm(C1 C2) of a non-symmetric product
    reference = (np.sum((mu1 - mu2) ** 2) + np.trace(c1) + np.trace(c2)
                 - 2 * np.trace(np.real(linalg.sqrtm(c1 @ c2))))
    got = metrics.frechet_distance_from_stats(mu1, c1, mu2, c2)
    assert got == pytest.approx(reference, rel=1e-7, abs=1e-8)


@given(st.integers(1, 8), st.integers(0, 2**32 - 1), st.integers(0, 40))
def test_feature_route_matches_covariance_route(d, seed, extra):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(d + 5 + extra, d)) @ rng.normal(size=(d, d))
    b = rng.normal(size=(d + 3, d)) * 2.0 + 1.0
    by_stats = metrics.frechet_distance_from_stats(a.mean(0), np.cov(a, rowvar=False), b.mean(0),
                                                   np.cov(b, rowvar=False))
    assert metrics.frechet_distance(a, b) == pytest.approx(by_stats, rel=1e-6, abs=1e-9)
    c = np.atleast_2d(np.cov(a, rowvar=False))
    assert metrics.frechet_distance_from_stats(a.mean(0), c, a.mean(0), c) == pytest.approx(
        0.0, abs=1e-7 * np.trace(c))


def test_frechet_errors():
    with pytest.raises(ValueError, match="different widths"):
        metrics.frechet_distance(np.zeros((4, 3)), np.zeros((4, 2)))
    with pytest.raises(ValueError, match="N >= 2"):
        metrics.frechet_distance(np.zeros((1, 3)), np.zeros((4, 3)))
    with pytest.raises(ValueError, match="square"):
        metrics.sqrtm_psd(np.zeros((2, 3)))


# ---------------------------------------------------------------------------------------------
# Label histogram and conditional accuracy
# ---------------------------------------------------------------------------------------------

@given(st.sets(st.integers(0, 9), max_size=9), st.integers(1, 20), st.integers(0, 2**32 - 1))
def test_dropped_classes_are_found(dropped, per_class, seed):
    kept = [c for c in range(10) if c not in dropped]
    labels = np.random.default_rng(seed).permutation(np.repeat(kept, per_class))
    hist = metrics.label_histogram(labels)
    assert hist.classes_below == tuple(sorted(dropped)) and hist.num_below == len(dropped)
    np.testing.assert_allclose(hist.fractions[kept], 1 / len(kept))
    assert hist.counts.sum() == len(labels)
    # fractions 1/m on m classes: KL to uniform over 10 is log(10 / m)
    assert hist.kl_to_uniform == pytest.approx(math.log(10 / len(kept)), abs=1e-12)


def test_threshold_boundary_and_probabilities():
    labels = np.array([0] * 5 + [1] * 95)  # class 0 exactly at 5 %: not below
    hist = metrics.label_histogram(labels, num_classes=2, threshold=0.05)
    assert hist.classes_below == ()
    assert metrics.label_histogram(labels, num_classes=2, threshold=0.06).classes_below == (0,)
    probs = np.eye(10)[np.arange(100) % 10] * 0.9 + 0.01
    same = metrics.label_histogram(probs)
    assert same.kl_to_uniform == pytest.approx(0.0, abs=1e-15) and same.num_below == 0
    assert same.as_dict()["counts"] == [10] * 10


@pytest.mark.parametrize("labels, message", [
    (np.array([0, 10]), r"0\.\.9"),
    (np.array([-1, 3]), r"0\.\.9"),
    (np.array([0.5, 1.0]), "whole numbers"),
    (np.zeros((3, 4)), "columns"),
    (np.array([], dtype=int), "no labels"),
])
def test_label_histogram_errors(labels, message):
    with pytest.raises(ValueError, match=message):
        metrics.label_histogram(labels)


@given(st.lists(st.integers(0, 9), min_size=1, max_size=50), st.integers(0, 50))
def test_conditional_accuracy(requested, wrong):
    requested = np.array(requested)
    predicted = requested.copy()
    wrong = min(wrong, len(requested))
    predicted[:wrong] = (predicted[:wrong] + 1) % 10
    assert metrics.conditional_accuracy(predicted, requested) == pytest.approx(
        1 - wrong / len(requested))
    assert metrics.conditional_accuracy(np.eye(10)[requested], tg.tensor(requested)) == 1.0
