"""Property tests of tinygan.divergences: the theory behind the GAN objective, each claim an
executable check. KL >= 0 (via Pinsker's inequality) and asymmetric; 0 <= JS <= log 2, symmetric,
sqrt(JS) a metric; closed-form Gaussian KL equals numerical integration; D* maximizes V and
V(G, D*) = -log 4 + 2 JS (Goodfellow et al. 2014, Theorem 1); JS of disjoint supports is log 2
at any distance while W1 grows with it; bits = nats / ln 2; and clear errors for bad input."""
import math

import numpy as np
import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st

import tinygan as tg
from tinygan import divergences as D

LOG2 = math.log(2.0)


# ------------------------------------------------------------------------------- strategies

def _prob_vector(n, zeros=True):
    mass = st.floats(1e-3, 1.0)
    elem = st.one_of(st.just(0.0), mass) if zeros else mass
    return (st.lists(elem, min_size=n, max_size=n).filter(lambda v: sum(v) > 0)
            .map(lambda v: np.array(v) / np.sum(v)))


@st.composite
def distributions(draw, k=2, zeros=True, min_n=2, max_n=8):
    """k probability vectors over the same n outcomes (some entries exactly 0 when zeros)."""
    n = draw(st.integers(min_n, max_n))
    return tuple(draw(_prob_vector(n, zeros)) for _ in range(k))


means = st.floats(-3.0, 3.0)
stds = st.floats(0.3, 3.0)


def _integrate(f, lo, hi):
    """Integral of a scalar function: scipy's adaptive quadrature where installed, else a fine
    trapezoid grid."""
    try:
        from scipy import integrate
    except ImportError:
        x = np.linspace(lo, hi, 400001)
        y = f(x)
        return float(np.sum((y[1:] + y[:-1]) * np.diff(x)) / 2)
    return integrate.quad(f, lo, hi, epsabs=1e-13, epsrel=1e-11, limit=400)[0]


def _log_normal(x, m, s):
    return -0.5 * ((x - m) / s) ** 2 - np.log(s) - 0.5 * np.log(2 * np.pi)


# ----------------------------------------------------------------------------------------- KL

@given(distributions())
def test_kl_nonnegative_and_zero_only_for_equal(pq):
    p, q = pq
    # Pinsker: KL >= 1/2 ||p - q||_1^2, so KL = 0 forces p = q, and KL(p || p) is exactly 0
    assert D.kl_divergence(p, q) >= 0.5 * np.abs(p - q).sum() ** 2 - 1e-12
    assert D.kl_divergence(p, p) == 0.0


def test_kl_is_not_symmetric_hypothesis_finds_a_witness():
    p, q = find(distributions(zeros=False, max_n=3),
                lambda pq: abs(D.kl_divergence(*pq) - D.kl_divergence(pq[1], pq[0])) > 0.05,
                settings=settings(max_examples=2000, database=None))
    forward, reverse = D.kl_divergence(p, q), D.kl_divergence(q, p)
    assert abs(forward - reverse) > 0.05
    assert np.isfinite(forward) and np.isfinite(reverse)


def test_kl_textbook_values_and_conventions():
    p, q = np.array([0.5, 0.5, 0.0]), np.array([0.25, 0.25, 0.5])
    assert D.kl_divergence(p, q) == pytest.approx(LOG2, abs=1e-15)   # 0 log 0 = 0
    assert D.kl_divergence(q, p) == math.inf                          # q puts mass where p has none
    assert D.kl_divergence(p, q, base=2) == pytest.approx(1.0, abs=1e-15)


def test_kl_along_an_axis_is_rowwise():
    rng = np.random.default_rng(1)
    p, q = rng.random((4, 6)), rng.random((4, 6))
    p, q = p / p.sum(1, keepdims=True), q / q.sum(1, keepdims=True)
    rows = D.kl_divergence(p, q, axis=1)
    assert rows.shape == (4,)
    np.testing.assert_allclose(rows, [D.kl_divergence(a, b) for a, b in zip(p, q)], rtol=1e-14)
    # and normalize=True turns unnormalized counts into the same thing
    assert D.kl_divergence(7 * p[0], 3 * q[0], normalize=True) == pytest.approx(rows[0], rel=1e-13)


# ----------------------------------------------------------------------------------------- JS

@given(distributions())
def test_js_bounded_and_symmetric(pq):
    p, q = pq
    js = D.js_divergence(p, q)
    assert -1e-15 <= js <= LOG2 + 1e-12
    assert js == D.js_divergence(q, p)
    assert D.js_divergence(p, p) == pytest.approx(0.0, abs=1e-15)
    # JS is a (halved) sum of two KLs to the mixture, so Pinsker bounds it below as well
    assert js >= 0.125 * np.abs(p - q).sum() ** 2 - 1e-12


@given(distributions(k=3))
def test_sqrt_js_obeys_the_triangle_inequality(pqr):
    p, q, r = pqr
    d = lambda a, b: math.sqrt(max(D.js_divergence(a, b), 0.0))  # noqa: E731
    assert d(p, r) <= d(p, q) + d(q, r) + 1e-9


@given(st.integers(1, 6), st.integers(1, 6), st.integers(0, 10_000), st.data())
def test_js_of_disjoint_supports_is_log2_at_any_distance(n_p, n_q, gap, data):
    mass = st.lists(st.floats(1e-3, 1.0), min_size=1, max_size=1)
    a = np.array([data.draw(mass)[0] for _ in range(n_p)])
    b = np.array([data.draw(mass)[0] for _ in range(n_q)])
    p = np.concatenate([a / a.sum(), np.zeros(gap + n_q)])
    q = np.concatenate([np.zeros(n_p + gap), b / b.sum()])
    assert D.js_divergence(p, q) == pytest.approx(LOG2, abs=1e-12)
    assert D.js_divergence(p, q, base=2) == pytest.approx(1.0, abs=1e-12)
    assert D.kl_divergence(p, q) == math.inf


@given(st.floats(0.05, 1e4))
def test_disjoint_samples_js_flat_while_w1_grows(distance):
    rng = np.random.default_rng(0)
    x = rng.uniform(0.0, 0.01, 500)
    y = x + distance
    # each bin holds samples of one set only when the bins are narrower than the gap
    assert D.js_from_samples(x, y, bins=400) == pytest.approx(LOG2, abs=1e-12)
    assert D.wasserstein1(x, y) == pytest.approx(distance, rel=1e-9)


# ----------------------------------------------------------------------------------- Gaussians

@given(means, stds, means, stds)
def test_gaussian_kl_matches_numerical_integration(mp, sp, mq, sq):
    lo = min(mp, mq) - 14 * max(sp, sq)
    hi = max(mp, mq) + 14 * max(sp, sq)
    integrand = lambda x: np.exp(_log_normal(x, mp, sp)) * (  # noqa: E731
        _log_normal(x, mp, sp) - _log_normal(x, mq, sq))
    numeric = _integrate(integrand, lo, hi)
    assert D.kl_normal(mp, sp, mq, sq) == pytest.approx(numeric, rel=1e-7, abs=1e-10)


@st.composite
def gaussians_2d(draw):
    entry = st.floats(-1.5, 1.5)
    a = np.array([[draw(entry) for _ in range(2)] for _ in range(2)])
    mean = np.array([draw(means), draw(means)])
    return mean, a @ a.T + 0.3 * np.eye(2)


@given(gaussians_2d(), gaussians_2d())
def test_mvn_kl_matches_numerical_integration(gp, gq):
    (mp, cp), (mq, cq) = gp, gq
    # integrate over p's whitened coordinates x = mp + L z, so p(x) dx = N(z; 0, I) dz
    z = np.linspace(-9, 9, 181)  # Riemann sums of Gaussian integrands converge spectrally
    zz = np.stack(np.meshgrid(z, z, indexing="ij"), -1).reshape(-1, 2)
    x = mp + zz @ np.linalg.cholesky(cp).T

    def log_n(x, m, c):
        d = x - m
        return (-0.5 * np.einsum("ni,ij,nj->n", d, np.linalg.inv(c), d)
                - 0.5 * np.log(np.linalg.det(c)) - np.log(2 * np.pi))

    weight = np.exp(-0.5 * (zz ** 2).sum(1)) / (2 * np.pi) * (z[1] - z[0]) ** 2
    numeric = np.sum(weight * (log_n(x, mp, cp) - log_n(x, mq, cq)))
    assert D.kl_mvn(mp, cp, mq, cq) == pytest.approx(numeric, rel=1e-7, abs=1e-9)


@given(means, stds, means, stds, means, stds, means, stds)
def test_mvn_kl_reduces_to_univariate(m1, s1, m2, s2, m3, s3, m4, s4):
    one_d = D.kl_mvn([m1], [[s1 ** 2]], [m2], [[s2 ** 2]])
    assert one_d == pytest.approx(D.kl_normal(m1, s1, m2, s2), rel=1e-10, abs=1e-12)
    # independent coordinates add their KLs
    diag = D.kl_mvn([m1, m3], np.diag([s1 ** 2, s3 ** 2]), [m2, m4], np.diag([s2 ** 2, s4 ** 2]))
    parts = D.kl_normal(m1, s1, m2, s2) + D.kl_normal(m3, s3, m4, s4)
    assert diag == pytest.approx(parts, rel=1e-10, abs=1e-12)


@given(gaussians_2d(), gaussians_2d(), gaussians_2d())
def test_mvn_kl_invariant_under_a_shared_affine_map(gp, gq, gmap):
    (mp, cp), (mq, cq), (shift, a) = gp, gq, gmap  # a is symmetric positive definite: invertible
    mapped = D.kl_mvn(a @ mp + shift, a @ cp @ a.T, a @ mq + shift, a @ cq @ a.T)
    assert mapped == pytest.approx(D.kl_mvn(mp, cp, mq, cq), rel=1e-8, abs=1e-9)


def test_normal_and_mvn_logpdf_agree_with_the_formula():
    x = np.linspace(-4, 4, 9)
    np.testing.assert_allclose(D.normal_logpdf(x, 0.5, 1.5), _log_normal(x, 0.5, 1.5), rtol=1e-14)
    pts = np.stack([x, -x], 1)
    np.testing.assert_allclose(D.mvn_logpdf(pts, [0.5, 0.0], np.diag([1.5 ** 2, 1.0])),
                               _log_normal(x, 0.5, 1.5) + _log_normal(-x, 0.0, 1.0), rtol=1e-13)


# ------------------------------------------------------------------------ Monte-Carlo estimates

def test_kl_monte_carlo_agrees_with_closed_form_within_its_standard_error():
    rng = np.random.default_rng(3)
    x = rng.normal(0.5, 0.8, 200_000)
    est, se = D.kl_monte_carlo(x, lambda v: D.normal_logpdf(v, 0.5, 0.8),
                               lambda v: D.normal_logpdf(v, -1.0, 1.7), return_stderr=True)
    exact = D.kl_normal(0.5, 0.8, -1.0, 1.7)
    assert se < 0.01 * exact
    assert abs(est - exact) < 5 * se


def test_js_monte_carlo_agrees_with_integration():
    rng = np.random.default_rng(4)
    lp = lambda v: D.normal_logpdf(v, 0.0, 1.0)  # noqa: E731
    lq = lambda v: D.normal_logpdf(v, 1.5, 0.6)  # noqa: E731
    est, se = D.js_monte_carlo(rng.normal(0, 1, 100_000), rng.normal(1.5, 0.6, 100_000), lp, lq,
                               return_stderr=True)
    grid = np.linspace(-12, 12, 200_001)
    exact = D.js_divergence(np.exp(lp(grid)), np.exp(lq(grid)), normalize=True)
    assert se < 0.01 * exact
    assert abs(est - exact) < 5 * se


def test_monte_carlo_checks_the_log_density_shape():
    with pytest.raises(ValueError, match="one log-density per sample"):
        D.kl_monte_carlo(np.zeros(5), lambda v: np.zeros(4), lambda v: np.zeros(5))
    with pytest.raises(TypeError, match="function"):
        D.kl_monte_carlo(np.zeros(5), np.zeros(5), lambda v: np.zeros(5))


# ---------------------------------------------------------------- histograms from sample sets

def test_histogram_pair_shares_edges_and_counts_everything():
    rng = np.random.default_rng(5)
    x, y = rng.normal(0, 1, 1000), rng.normal(3, 0.5, (700, 1))  # (N, 1) as a generator outputs
    hx, hy = D.histogram_pair(x, y, bins=40)
    assert np.array_equal(hx.edges, hy.edges) and hx.counts.shape == (40,)
    assert hx.counts.sum() == 1000 and hy.counts.sum() == 700
    assert hx.edges[0] <= min(x.min(), y.min()) and hx.edges[-1] >= max(x.max(), y.max())
    np.testing.assert_allclose((hx.density * hx.widths).sum(), 1.0, rtol=1e-14)


def test_binned_estimates_from_samples():
    rng = np.random.default_rng(6)
    same = D.js_from_samples(rng.normal(0, 1, 20_000), rng.normal(0, 1, 20_000), bins=30)
    apart = D.js_from_samples(rng.normal(0, 1, 20_000), rng.normal(2, 1, 20_000), bins=30)
    grid = np.linspace(-10, 12, 100_001)
    exact = D.js_divergence(np.exp(_log_normal(grid, 0, 1)), np.exp(_log_normal(grid, 2, 1)),
                            normalize=True)
    assert 0 < same < 0.01 < apart
    assert apart == pytest.approx(exact, abs=0.02)
    x, y = rng.uniform(0, 1, 100), rng.uniform(2, 3, 100)
    assert D.kl_from_samples(x, y, bins=10) == math.inf
    assert np.isfinite(D.kl_from_samples(x, y, bins=10, pseudocount=1.0))


def test_histograms_with_different_edges_are_rejected():
    a = D.histogram([0.1, 0.2, 0.7], bins=3, range=(0, 1))
    b = D.histogram([0.1, 0.2, 0.7], bins=4, range=(0, 1))
    c = D.histogram([0.1, 0.2, 0.7], bins=3, range=(0, 2))
    for other in (b, c):
        with pytest.raises(ValueError, match="mismatched supports"):
            D.js_divergence(a, other)
    with pytest.raises(TypeError, match="Histogram"):
        D.kl_divergence(a, a.probs)
    assert D.js_divergence(a, a) == 0.0


# ------------------------------------------------------ optimal discriminator and the value V

@given(distributions(), st.data())
def test_optimal_discriminator_maximizes_the_value(pq, data):
    p, q = pq
    d_star = D.optimal_discriminator(p, q)
    best = D.gan_value(d_star, p, q)
    delta = np.array(data.draw(st.lists(st.floats(-1, 1), min_size=p.size, max_size=p.size)))
    d = np.clip(d_star + delta, 0.0, 1.0)
    # p log D + q log(1 - D) has second derivative <= -(p + q) on (0, 1): any change costs
    # at least 1/2 (p + q) (D - D*)^2
    margin = 0.5 * np.sum((p + q) * (d - d_star) ** 2)
    assert D.gan_value(d, p, q) <= best - margin + 1e-12


@given(distributions())
def test_value_at_optimum_is_minus_log4_plus_twice_js(pq):
    p, q = pq
    js = D.js_divergence(p, q)
    assert D.optimal_value(p, q) == pytest.approx(-math.log(4) + 2 * js, abs=1e-12)
    assert D.optimal_value(p, q, base=2) == pytest.approx(-2 + 2 * js / LOG2, abs=1e-12)
    assert D.optimal_value(p, q) >= -math.log(4) - 1e-12  # equality only when p_g = p_data
    assert D.optimal_value(p, p) == pytest.approx(-math.log(4), abs=1e-12)


@given(means, stds, means, stds)
def test_value_identity_for_densities_on_a_grid(mp, sp, mq, sq):
    x, dx = np.linspace(-20, 20, 20_001, retstep=True)
    p = np.exp(_log_normal(x, mp, sp))
    q = np.exp(_log_normal(x, mq, sq))
    p, q = p / (p.sum() * dx), q / (q.sum() * dx)
    value = D.optimal_value(p, q, dx=dx)
    assert value == pytest.approx(-math.log(4) + 2 * D.js_divergence(p * dx, q * dx), abs=1e-10)
    # the value is the negative minimax loss: logits give the same number as probabilities
    logit = D.optimal_logit(_log_normal(x, mp, sp), _log_normal(x, mq, sq))
    assert D.gan_value(logit, p, q, dx=dx, logits=True) == pytest.approx(value, abs=1e-8)


def test_tiny_masses_neither_underflow_nor_blow_up():
    # found by the grid test above: halving a subnormal mass rounds the mixture to 0, and
    # D* = p/(p + q) rounds to 1 where q << p, so log(1 - D*) = -inf
    tiny = 5e-324
    p, q = np.array([0.5, 0.5 - tiny, tiny]), np.array([0.5, 0.5, 0.0])
    assert D.js_divergence(p, q) == pytest.approx(0.0, abs=1e-300)
    assert D.js_divergence(q, p) == D.js_divergence(p, q)
    p, q = np.array([1e-20, 1.0 - 1e-20]), np.array([1.0 - 1e-300, 1e-300])
    assert D.optimal_value(p, q) == pytest.approx(-math.log(4) + 2 * D.js_divergence(p, q),
                                                  abs=1e-15)


def test_optimal_discriminator_on_points_without_mass():
    d = D.optimal_discriminator([0.5, 0.5, 0.0, 0.0], [0.0, 0.25, 0.0, 0.75])
    np.testing.assert_array_equal(d, [1.0, 2 / 3, 0.5, 0.0])


# ---------------------------------------------------------------------------- Wasserstein-1

@given(st.lists(st.floats(-100, 100), min_size=1, max_size=40),
       st.lists(st.floats(-100, 100), min_size=1, max_size=40))
def test_w1_matches_scipy_or_sorted_samples(xs, ys):
    x, y = np.array(xs), np.array(ys)
    if x.size == y.size:  # equal sizes: W1 is the mean distance between sorted samples
        assert D.wasserstein1(x, y) == pytest.approx(np.abs(np.sort(x) - np.sort(y)).mean(),
                                                     rel=1e-9, abs=1e-9)
    stats = pytest.importorskip("scipy.stats")
    w = np.linspace(0.1, 1, x.size)
    assert D.wasserstein1(x, y, w) == pytest.approx(stats.wasserstein_distance(x, y, w),
                                                    rel=1e-9, abs=1e-9)


@given(st.lists(st.floats(-10, 10), min_size=1, max_size=30), st.floats(-50, 50))
def test_w1_of_a_shift_is_the_shift(xs, c):
    x = np.array(xs)
    assert D.wasserstein1(x, x + c) == pytest.approx(abs(c), rel=1e-9, abs=1e-9)
    assert D.wasserstein1(x, x + c) == pytest.approx(D.wasserstein1(x + c, x), abs=1e-12)


def test_w1_between_histograms_puts_mass_at_bin_centres():
    h1 = D.Histogram(np.array([1.0, 0, 0, 0]), np.arange(5.0))
    h2 = D.Histogram(np.array([0, 0, 0, 3.0]), np.arange(5.0))
    assert D.wasserstein1(h1, h2) == pytest.approx(3.0)
    hx, hy = D.histogram_pair([0.1, 0.2], [5.1, 5.2], bins=[0, 1, 5, 6])
    assert D.wasserstein1(hx, hy) == pytest.approx(5.0)


# ------------------------------------------------------------------------- bases and inputs

@given(distributions(zeros=False), means, stds, means, stds, st.sampled_from([2, 10, 0.5]))
def test_other_bases_divide_by_ln_base(pq, mp, sp, mq, sq, base):
    p, q = pq
    c = math.log(base)
    assert D.kl_divergence(p, q, base=base) == pytest.approx(D.kl_divergence(p, q) / c, rel=1e-13)
    assert D.js_divergence(p, q, base=base) == pytest.approx(D.js_divergence(p, q) / c, rel=1e-13)
    assert D.optimal_value(p, q, base=base) == pytest.approx(D.optimal_value(p, q) / c, rel=1e-13)
    assert D.kl_normal(mp, sp, mq, sq, base=base) == pytest.approx(
        D.kl_normal(mp, sp, mq, sq) / c, rel=1e-13, abs=1e-15)
    assert D.kl_mvn([mp], [[sp ** 2]], [mq], [[sq ** 2]], base=base) == pytest.approx(
        D.kl_mvn([mp], [[sp ** 2]], [mq], [[sq ** 2]]) / c, rel=1e-10, abs=1e-14)


def test_bits_are_nats_over_ln2_for_sample_estimates():
    x = np.random.default_rng(7).normal(size=1000)
    lp, lq = (lambda v: D.normal_logpdf(v, 0, 1)), (lambda v: D.normal_logpdf(v, 1, 1))
    assert D.kl_monte_carlo(x, lp, lq, base=2) == pytest.approx(
        D.kl_monte_carlo(x, lp, lq) / LOG2, rel=1e-13)
    assert D.js_monte_carlo(x, x + 1, lp, lq, base=2) == pytest.approx(
        D.js_monte_carlo(x, x + 1, lp, lq) / LOG2, rel=1e-13)


def test_tensors_are_accepted(device):
    p, q = np.array([0.2, 0.3, 0.5]), np.array([0.6, 0.3, 0.1])
    tp, tq = tg.tensor(p, device=device, dtype=tg.float64), tg.tensor(q, device=device)
    assert D.kl_divergence(tp, tq) == pytest.approx(D.kl_divergence(p, q), rel=1e-6)
    assert D.js_divergence(tp, tq) == pytest.approx(D.js_divergence(p, q), rel=1e-6)
    assert D.wasserstein1(tp, tq) == pytest.approx(D.wasserstein1(p, q), rel=1e-6)


@pytest.mark.parametrize("call, error, words", [
    (lambda: D.kl_divergence([0.5, 0.6], [0.5, 0.5]), ValueError, "sums to 1.1"),
    (lambda: D.kl_divergence([1.2, -0.2], [0.5, 0.5]), ValueError, "negative mass"),
    (lambda: D.js_divergence([0.5, 0.5], [0.2, 0.3, 0.5]), ValueError, "same shape"),
    (lambda: D.js_divergence([np.nan, 1.0], [0.5, 0.5]), ValueError, "NaN"),
    (lambda: D.js_divergence([], []), ValueError, "empty"),
    (lambda: D.kl_divergence([0, 0], [0.5, 0.5], normalize=True), ValueError, "zero total"),
    (lambda: D.kl_divergence([1.0], [1.0], base=1), ValueError, "base"),
    (lambda: D.kl_divergence([1.0], [1.0], base=-2), ValueError, "base"),
    (lambda: D.kl_normal(0, 0, 0, 1), ValueError, "std"),
    (lambda: D.kl_mvn([0, 0], [[1, 2], [2, 1]], [0, 0], np.eye(2)), ValueError,
     "positive definite"),
    (lambda: D.kl_mvn([0, 0], [[1, 0.5], [0, 1]], [0, 0], np.eye(2)), ValueError, "symmetric"),
    (lambda: D.kl_mvn([0, 0], np.eye(2), [0], np.eye(1)), ValueError, "dimensions"),
    (lambda: D.kl_mvn([0, 0], np.eye(3), [0, 0], np.eye(2)), ValueError, r"\(k, k\)"),
    (lambda: D.gan_value([1.5, 0.5], [0.5, 0.5], [0.5, 0.5]), ValueError, r"\[0, 1\]"),
    (lambda: D.gan_value([0.5, 0.5], [0.5, 0.5], [0.5, 0.5], dx=0.5), ValueError, "sums to"),
    (lambda: D.gan_value([0.5], [0.5, 0.5], [0.5, 0.5]), ValueError, "d has shape"),
    (lambda: D.optimal_discriminator([0.5, 0.5], [-1.0, 2.0]), ValueError, "negative"),
    (lambda: D.wasserstein1(np.zeros((3, 2)), np.zeros(3)), ValueError, r"\(N,\)"),
    (lambda: D.wasserstein1([0.0, 1.0], [0.0], x_weights=[1.0]), ValueError, "x_weights"),
    (lambda: D.kl_divergence(["a"], ["b"]), TypeError, "real numbers"),
])
def test_bad_input_gets_a_clear_error(call, error, words):
    with pytest.raises(error, match=words):
        call()


@given(st.integers(0, 10_000), st.floats(0.05, 2.0))
def test_kernel_density_integrates_to_one_and_is_a_mixture_of_normals(seed, bandwidth):
    x = np.random.default_rng(seed).normal(0, 1, 50)
    grid, dx = np.linspace(-12, 12, 4001, retstep=True)
    p = D.kernel_density(x, grid, bandwidth)
    assert abs(p.sum() * dx - 1) < 1e-6
    one = D.kernel_density(x[:1], grid, bandwidth)
    np.testing.assert_allclose(one, np.exp(D.normal_logpdf(grid, x[0], bandwidth)), rtol=1e-9,
                               atol=1e-300)


@pytest.mark.parametrize("bandwidth", [0, -1.0, float("nan"), "0.1"])
def test_kernel_density_rejects_bad_bandwidths(bandwidth):
    with pytest.raises(ValueError, match="bandwidth"):
        D.kernel_density([0.0, 1.0], [0.5], bandwidth)
