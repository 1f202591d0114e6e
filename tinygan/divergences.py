"""Divergences between distributions and the theory of the original GAN objective, as analysis
tools: KL and Jensen-Shannon for discrete distributions and histograms, closed-form KL between
Gaussians, Monte-Carlo and binned estimates from samples, a kernel density estimate, the optimal discriminator D*, the value
V(G, D) with V(G, D*) = -log 4 + 2 JS(p_data || p_g), and the 1D Wasserstein-1 distance.

These run in float64 NumPy on the host: Tensors and CuPy arrays are accepted and copied over.
Conventions: 0 log 0 = 0; KL(p || q) = inf where q = 0 < p (p is not absolutely continuous with
respect to q); results are in nats unless `base=` asks otherwise (base=2 gives bits).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import backend
from .tensor import Tensor

__all__ = ["Histogram", "histogram", "histogram_pair", "kl_divergence", "js_divergence",
           "kl_normal", "kl_mvn", "normal_logpdf", "mvn_logpdf", "kl_monte_carlo",
           "js_monte_carlo", "kl_from_samples", "js_from_samples", "kernel_density",
           "optimal_discriminator",
           "optimal_logit", "gan_value", "optimal_value", "wasserstein1", "LOG2", "LOG4"]

LOG2 = math.log(2.0)  # the ceiling of JS in nats
LOG4 = math.log(4.0)  # V(G, D*) = -log 4 exactly when p_g = p_data
_ATOL = 1e-6          # how far from 1 a "normalized" total may be (float32 round-off fits)


# ---------------------------------------------------------------- input checks and conversions

def _host(a, name: str = "input") -> np.ndarray:
    """A float64 NumPy copy of a Tensor, CuPy array, NumPy array or nested list."""
    if isinstance(a, Tensor):
        a = a.detach().data
    a = backend.to_numpy(a)
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {a.dtype}")
    return a.astype(np.float64)


def _scalar(x):
    """Python float for 0-d results, the array otherwise."""
    x = np.asarray(x)
    return float(x) if x.ndim == 0 else x


def _log_base(base) -> float:
    """ln(base): divide a result in nats by it to express it in that base (None means e)."""
    if base is None:
        return 1.0
    b = float(base)
    if not (math.isfinite(b) and b > 0 and b != 1):
        raise ValueError(f"base must be a positive number other than 1 (2 for bits, None or "
                         f"math.e for nats), got {base!r}")
    return math.log(b)


def _check_finite_nonnegative(p: np.ndarray, name: str) -> None:
    if p.size == 0:
        raise ValueError(f"{name} is empty: a distribution needs at least one outcome")
    if not np.isfinite(p).all():
        raise ValueError(f"{name} has NaN or infinite entries; probabilities and densities "
                         "must be finite")
    if (p < 0).any():
        where = tuple(int(i) for i in np.argwhere(p < 0)[0])
        raise ValueError(f"{name} has negative mass {p[where]:g} at index {where}: "
                         "probabilities, counts and densities must be >= 0")


def _distribution(p, name: str, normalize: bool, axis, weight=1.0) -> np.ndarray:
    """Check p (times `weight`, e.g. a grid spacing) is a probability vector along `axis`;
    with normalize=True divide by the total instead."""
    p = _host(p, name)
    _check_finite_nonnegative(p, name)
    total = (p * weight).sum(axis=axis, keepdims=True)
    if normalize:
        if (total <= 0).any():
            raise ValueError(f"{name} has zero total mass: there is nothing to normalize")
        return p / total
    if not np.allclose(total, 1.0, rtol=0.0, atol=_ATOL):
        shown = np.round(total, 8).squeeze()
        raise ValueError(f"{name} sums to {shown} (times dx where given), not 1: pass "
                         "normalize=True to divide by the total (e.g. for counts)")
    return p


def _same_shape(p: np.ndarray, q: np.ndarray, names=("p", "q")) -> None:
    if p.shape != q.shape:
        raise ValueError(f"{names[0]} has shape {p.shape} and {names[1]} has shape {q.shape}: "
                         "both must give the mass of the same outcomes (same shape)")


# ------------------------------------------------------------------------------- histograms

@dataclass(frozen=True)
class Histogram:
    """Counts over bins [edges[i], edges[i+1]); histograms compare only on equal edges."""
    counts: np.ndarray
    edges: np.ndarray

    def __post_init__(self):
        if self.counts.ndim != 1 or self.edges.shape != (self.counts.size + 1,):
            raise ValueError(f"a Histogram needs 1D counts (n,) and edges (n+1,), got "
                             f"{self.counts.shape} and {self.edges.shape}")

    @property
    def probs(self) -> np.ndarray:
        """Mass per bin (counts / total)."""
        return self.counts / self.counts.sum()

    @property
    def widths(self) -> np.ndarray:
        return np.diff(self.edges)

    @property
    def centers(self) -> np.ndarray:
        return 0.5 * (self.edges[:-1] + self.edges[1:])

    @property
    def density(self) -> np.ndarray:
        """Mass per unit length, as plt.hist(density=True)."""
        return self.probs / self.widths


def _samples_1d(x, name: str) -> np.ndarray:
    x = _host(x, name)
    if x.ndim == 2 and x.shape[1] == 1:  # (N, 1), as a 1D generator outputs
        x = x[:, 0]
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"{name} must be a non-empty 1D sample array (N,) or (N, 1), "
                         f"got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError(f"{name} has NaN or infinite samples")
    return x


def histogram(samples, bins=50, range=None) -> Histogram:
    """Bin 1D samples (N,) or (N, 1); `bins` an int or explicit edges, as numpy.histogram."""
    x = _samples_1d(samples, "samples")
    counts, edges = np.histogram(x, bins=bins, range=range)
    return Histogram(counts.astype(np.float64), edges)


def histogram_pair(x, y, bins=50, range=None) -> tuple[Histogram, Histogram]:
    """Bin two sample sets on the same edges (spanning both, unless `range` or edges are given),
    so their divergence compares like with like."""
    x, y = _samples_1d(x, "x"), _samples_1d(y, "y")
    if np.ndim(bins) == 0 and range is None:
        lo, hi = min(x.min(), y.min()), max(x.max(), y.max())
        range = (lo, hi) if hi > lo else (lo - 0.5, hi + 0.5)
    hx = histogram(x, bins, range)
    return hx, histogram(y, hx.edges)


def _check_histograms(p, q) -> bool:
    """True when p and q are Histograms on the same bins; False when neither is; else raise."""
    if not (isinstance(p, Histogram) or isinstance(q, Histogram)):
        return False
    if not (isinstance(p, Histogram) and isinstance(q, Histogram)):
        raise TypeError("compare a Histogram with another Histogram (built on the same bins, "
                        "e.g. by histogram_pair), not with a plain array")
    if p.edges.shape != q.edges.shape or not np.array_equal(p.edges, q.edges):
        raise ValueError("mismatched supports: the two histograms have different bin edges; "
                         "bin both sample sets together with histogram_pair")
    return True


def _two_distributions(p, q, normalize: bool, axis):
    """Two probability arrays on the same outcomes (Histograms must share their edges)."""
    if _check_histograms(p, q):
        p, q, normalize, axis = p.counts, q.counts, True, None
    p, q = _host(p, "p"), _host(q, "q")
    _same_shape(p, q)
    return _distribution(p, "p", normalize, axis), _distribution(q, "q", normalize, axis)


# -------------------------------------------------------------------------------- KL and JS

def _kl_terms(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """p log(p/q) elementwise with 0 log(0/q) = 0 and p log(p/0) = inf for p > 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(p > 0, p * (np.log(p) - np.log(q)), 0.0)


def kl_divergence(p, q, *, base=None, normalize: bool = False, axis=None):
    """KL(p || q) = sum p log(p / q) >= 0; inf where q = 0 < p. p, q: probability arrays of one
    shape (the whole array is one distribution, or each slice along `axis`), or two Histograms."""
    p, q = _two_distributions(p, q, normalize, axis)
    return _scalar(_kl_terms(p, q).sum(axis=axis) / _log_base(base))


def js_divergence(p, q, *, base=None, normalize: bool = False, axis=None):
    """JS(p || q) = 1/2 KL(p || m) + 1/2 KL(q || m), m = (p + q)/2; symmetric, in [0, log 2]."""
    p, q = _two_distributions(p, q, normalize, axis)
    # KL(p || m) with m = (p + q)/2 written as p log(2p / (p + q)): halving a subnormal p
    # would round m to 0 and the KL to inf
    s = p + q
    js = 0.5 * (_kl_terms(2 * p, s).sum(axis=axis) + _kl_terms(2 * q, s).sum(axis=axis)) / 2
    return _scalar(js / _log_base(base))


# -------------------------------------------------------------------------------- Gaussians

def normal_logpdf(x, mean=0.0, std=1.0):
    """log N(x; mean, std^2) = -(x - mean)^2 / (2 std^2) - log std - log(2 pi)/2 (broadcasts)."""
    x, mean, std = _host(x, "x"), _host(mean, "mean"), _host(std, "std")
    if (std <= 0).any():
        raise ValueError("std must be > 0 (a standard deviation, not a variance)")
    return -0.5 * ((x - mean) / std) ** 2 - np.log(std) - 0.5 * math.log(2 * math.pi)


def kl_normal(mean_p, std_p, mean_q, std_q, *, base=None):
    """KL(N(mu_p, s_p^2) || N(mu_q, s_q^2)) = log(s_q/s_p) + (s_p^2 + (mu_p - mu_q)^2)/(2 s_q^2)
    - 1/2, broadcasting over arrays of parameters."""
    mp, sp, mq, sq = (_host(a, n) for a, n in
                      ((mean_p, "mean_p"), (std_p, "std_p"), (mean_q, "mean_q"), (std_q, "std_q")))
    if (sp <= 0).any() or (sq <= 0).any():
        raise ValueError("std_p and std_q must be > 0 (standard deviations, not variances)")
    kl = np.log(sq / sp) + (sp ** 2 + (mp - mq) ** 2) / (2 * sq ** 2) - 0.5
    return _scalar(kl / _log_base(base))


def _gaussian(mean, cov, name: str):
    """(mean (k,), Cholesky factor of cov (k, k)), after checking shapes and definiteness."""
    mean, cov = _host(mean, f"mean_{name}"), _host(cov, f"cov_{name}")
    k = mean.shape[0] if mean.ndim == 1 else -1
    if mean.ndim != 1 or cov.shape != (k, k):
        raise ValueError(f"Gaussian {name} needs mean (k,) and covariance (k, k), got "
                         f"{mean.shape} and {cov.shape}")
    if not np.allclose(cov, cov.T, rtol=1e-10, atol=1e-12):
        raise ValueError(f"cov_{name} is not symmetric")
    try:
        chol = np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        raise ValueError(f"cov_{name} is not positive definite: a Gaussian covariance needs "
                         "positive eigenvalues") from None
    return mean, chol


def kl_mvn(mean_p, cov_p, mean_q, cov_q, *, base=None):
    """KL(N(mu_p, S_p) || N(mu_q, S_q)) = 1/2 [tr(S_q^-1 S_p) + (mu_q - mu_p)^T S_q^-1 (mu_q - mu_p)
    - k + log det S_q - log det S_p], through Cholesky factors (no explicit inverse)."""
    mp, lp = _gaussian(mean_p, cov_p, "p")
    mq, lq = _gaussian(mean_q, cov_q, "q")
    if mp.shape != mq.shape:
        raise ValueError(f"the Gaussians live in different dimensions: {mp.shape[0]} and "
                         f"{mq.shape[0]}")
    a = np.linalg.solve(lq, lp)           # L_q^-1 L_p: tr(S_q^-1 S_p) = ||a||_F^2
    b = np.linalg.solve(lq, mq - mp)      # Mahalanobis term = ||b||^2
    logdet = 2 * (np.log(np.diag(lq)).sum() - np.log(np.diag(lp)).sum())
    kl = 0.5 * ((a ** 2).sum() + (b ** 2).sum() - mp.shape[0] + logdet)
    return float(kl / _log_base(base))


def mvn_logpdf(x, mean, cov):
    """log N(x; mean, cov) for points x of shape (..., k)."""
    mean, chol = _gaussian(mean, cov, "x")
    x = _host(x, "x")
    if x.shape[-1:] != mean.shape:
        raise ValueError(f"points of shape {x.shape} do not end in the dimension {mean.shape[0]}")
    z = np.linalg.solve(chol, (x - mean).reshape(-1, mean.shape[0]).T)  # (k, n)
    logp = (-0.5 * (z ** 2).sum(axis=0) - np.log(np.diag(chol)).sum()
            - 0.5 * mean.shape[0] * math.log(2 * math.pi))
    return logp.reshape(x.shape[:-1])


# --------------------------------------------------------------------- estimates from samples

def _log_density_at(f, x, name: str) -> np.ndarray:
    if not callable(f):
        raise TypeError(f"{name} must be a function from samples to log-densities, got {type(f)}")
    out = _host(f(x), name)
    if out.shape != (len(x),):
        raise ValueError(f"{name} must return one log-density per sample, shape ({len(x)},), "
                         f"got {out.shape}")
    return out


def _mean_and_stderr(v: np.ndarray):
    return v.mean(), (v.std(ddof=1) / math.sqrt(v.size) if v.size > 1 else math.inf)


def kl_monte_carlo(samples_p, log_p, log_q, *, base=None, return_stderr: bool = False):
    """KL(p || q) ~ mean_i [log p(x_i) - log q(x_i)], x_i ~ p: unbiased, with standard error
    std/sqrt(n) (returned as a second value when asked)."""
    x = _host(samples_p, "samples_p")
    ratio = _log_density_at(log_p, x, "log_p") - _log_density_at(log_q, x, "log_q")
    est, se = _mean_and_stderr(ratio)
    c = _log_base(base)
    return (float(est / c), float(se / c)) if return_stderr else float(est / c)


def js_monte_carlo(samples_p, samples_q, log_p, log_q, *, base=None,
                   return_stderr: bool = False):
    """JS(p || q) ~ 1/2 mean_{x~p} log(p/m) + 1/2 mean_{y~q} log(q/m), m = (p + q)/2, with
    log m = logaddexp(log p, log q) - log 2 so tails never underflow."""
    x, y = _host(samples_p, "samples_p"), _host(samples_q, "samples_q")
    lpx, lqx = _log_density_at(log_p, x, "log_p"), _log_density_at(log_q, x, "log_q")
    lpy, lqy = _log_density_at(log_p, y, "log_p"), _log_density_at(log_q, y, "log_q")
    mean_x, se_x = _mean_and_stderr(lpx - (np.logaddexp(lpx, lqx) - LOG2))
    mean_y, se_y = _mean_and_stderr(lqy - (np.logaddexp(lpy, lqy) - LOG2))
    c = _log_base(base)
    est, se = 0.5 * (mean_x + mean_y) / c, 0.5 * math.hypot(se_x, se_y) / c
    return (float(est), float(se)) if return_stderr else float(est)


def kernel_density(samples, points, bandwidth: float):
    """p(x) ~ mean_i N(x; x_i, bandwidth^2): a Gaussian kernel density estimate of 1D samples
    at `points` (a smooth picture of a density; it widens the variance by bandwidth^2)."""
    x, at = _samples_1d(samples, "samples"), _host(points, "points")
    if not (isinstance(bandwidth, (int, float)) and math.isfinite(bandwidth) and bandwidth > 0):
        raise ValueError(f"kernel_density: bandwidth must be a positive number, got {bandwidth!r}")
    u = (at[..., None] - x) / bandwidth                     # (..., N)
    return np.exp(-0.5 * u * u).mean(axis=-1) / (bandwidth * math.sqrt(2 * math.pi))


def kl_from_samples(x, y, bins=50, range=None, *, base=None, pseudocount: float = 0.0):
    """Binned KL(p_x || p_y) of 1D samples on shared bins; inf when a bin has x but no y (add a
    pseudocount to every bin to smooth that away). Biased for finite samples."""
    hx, hy = histogram_pair(x, y, bins, range)
    if pseudocount:
        hx, hy = (Histogram(h.counts + pseudocount, h.edges) for h in (hx, hy))
    return kl_divergence(hx, hy, base=base)


def js_from_samples(x, y, bins=50, range=None, *, base=None):
    """Binned JS between the distributions of two 1D sample sets (data vs generator) on shared
    bins; always finite. Biased upward for finite samples (two draws of one law give JS > 0)."""
    return js_divergence(*histogram_pair(x, y, bins, range), base=base)


# ------------------------------------------------------- the optimal discriminator and V(G, D)

def optimal_discriminator(p_data, p_g):
    """D*(x) = p_data(x) / (p_data(x) + p_g(x)) (Goodfellow et al. 2014, Proposition 1), from
    densities or probabilities at the same points; 1/2 where both vanish (any D is optimal
    there)."""
    p, q = _host(p_data, "p_data"), _host(p_g, "p_g")
    _same_shape(p, q, ("p_data", "p_g"))
    _check_finite_nonnegative(p, "p_data")
    _check_finite_nonnegative(q, "p_g")
    total = p + q
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total > 0, p / total, 0.5)


def optimal_logit(log_p_data, log_p_g):
    """The logit of D*: log D*/(1 - D*) = log p_data(x) - log p_g(x); what a discriminator
    trained with a logistic loss should output before its sigmoid."""
    lp, lq = _host(log_p_data, "log_p_data"), _host(log_p_g, "log_p_g")
    _same_shape(lp, lq, ("log_p_data", "log_p_g"))
    return lp - lq


def _log_d(d, logits: bool):
    """(log D, log(1 - D)) from probabilities in [0, 1] or, stably, from logits."""
    d = _host(d, "d")
    if logits:
        return -np.logaddexp(0.0, -d), -np.logaddexp(0.0, d)
    if not ((d >= 0) & (d <= 1)).all():
        raise ValueError("discriminator outputs must be probabilities in [0, 1]; pass "
                         "logits=True for raw logits")
    with np.errstate(divide="ignore"):
        return np.log(d), np.log1p(-d)


def gan_value(d, p_data, p_g, *, dx=1.0, logits: bool = False, normalize: bool = False,
              base=None) -> float:
    """V(G, D) = sum [p_data log D + p_g log(1 - D)] dx (Goodfellow et al. 2014, Eq. 1) for a
    discriminator evaluated at the same points: probability vectors with dx = 1, or densities on a
    grid with spacing (or bin widths) dx. The minimax discriminator loss is -V."""
    p = _distribution(p_data, "p_data", normalize, None, dx)
    q = _distribution(p_g, "p_g", normalize, None, dx)
    _same_shape(p, q, ("p_data", "p_g"))
    log_d, log_1md = _log_d(d, logits)
    if log_d.shape != p.shape:
        raise ValueError(f"d has shape {log_d.shape}, the distributions {p.shape}: evaluate the "
                         "discriminator at the points where the densities are given")
    with np.errstate(invalid="ignore"):  # 0 * log 0 = 0: mass-free points cost nothing
        terms = np.where(p > 0, p * log_d, 0.0) + np.where(q > 0, q * log_1md, 0.0)
    return float((terms * dx).sum() / _log_base(base))


def optimal_value(p_data, p_g, *, dx=1.0, normalize: bool = False, base=None) -> float:
    """max_D V(G, D) = V(G, D*) = -log 4 + 2 JS(p_data || p_g) (Goodfellow et al. 2014, Theorem 1);
    computed here from D* directly, so the identity is something the tests can check."""
    p = _distribution(p_data, "p_data", normalize, None, dx)
    q = _distribution(p_g, "p_g", normalize, None, dx)
    _same_shape(p, q, ("p_data", "p_g"))
    # D* as a logit, log p - log q: as a probability it rounds to 1 where p_g << p_data and
    # log(1 - D*) becomes -inf, though p_g log(1 - D*) -> 0 there
    with np.errstate(divide="ignore", invalid="ignore"):
        logit = np.where((p > 0) | (q > 0), np.log(p) - np.log(q), 0.0)
    return gan_value(logit, p, q, dx=dx, logits=True, base=base)


# ---------------------------------------------------------------------------- Wasserstein-1

def wasserstein1(x, y, x_weights=None, y_weights=None) -> float:
    """W1 between two 1D distributions = integral of |F_x(t) - F_y(t)| dt, from samples
    (optionally weighted) or from two Histograms on the same bins (mass at the bin centres).
    Unlike JS it keeps growing with the distance between disjoint distributions."""
    if _check_histograms(x, y):
        if x_weights is not None or y_weights is not None:
            raise ValueError("Histograms carry their own weights; do not pass x_weights/y_weights")
        return wasserstein1(x.centers, y.centers, x.counts, y.counts)
    x, y = _samples_1d(x, "x"), _samples_1d(y, "y")
    wx = np.ones_like(x) if x_weights is None else _host(x_weights, "x_weights")
    wy = np.ones_like(y) if y_weights is None else _host(y_weights, "y_weights")
    for w, v, name in ((wx, x, "x_weights"), (wy, y, "y_weights")):
        if w.shape != v.shape:
            raise ValueError(f"{name} has shape {w.shape}, its samples {v.shape}")
        _check_finite_nonnegative(w, name)
        if w.sum() <= 0:
            raise ValueError(f"{name} has zero total mass")
    ix, iy = np.argsort(x), np.argsort(y)
    x, wx, y, wy = x[ix], wx[ix], y[iy], wy[iy]
    points = np.sort(np.concatenate([x, y]))
    # both CDFs are steps that change only at the pooled points: integrate |F_x - F_y| between them
    cx = np.concatenate([[0.0], np.cumsum(wx)]) / wx.sum()
    cy = np.concatenate([[0.0], np.cumsum(wy)]) / wy.sum()
    fx = cx[np.searchsorted(x, points[:-1], side="right")]
    fy = cy[np.searchsorted(y, points[:-1], side="right")]
    return float(np.sum(np.abs(fx - fy) * np.diff(points)))
