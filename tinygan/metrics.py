"""Sample-quality metrics, computed with NumPy on the host (Tensors and CuPy arrays are copied).

- mode_coverage: modes captured, high-quality fraction and reverse KL over modes, the protocol of
  VEEGAN (Srivastava et al. 2017) and PacGAN (Lin et al. 2018) for the 2D ring and grid.
- classifier_score: the Inception-score formula exp(E_x KL(p(y|x) || p(y))) (Salimans et al. 2016)
  with any classifier's probabilities.
- frechet_distance: ||mu1 - mu2||^2 + tr(C1 + C2 - 2 (C1^1/2 C2 C1^1/2)^1/2) between two feature
  sets (the FID formula of Heusel et al. 2017, here on a classifier tinygan trains itself).
- label_histogram: how generated digits spread over the classes, against uniform.
- conditional_accuracy: how often a conditional generator draws the class it was asked for.
- mean_se: the mean and its standard error over seeds, as every results table reports them.
- linear_assignment, match_clusters, spearman: matching learned categories to classes
  (Hungarian) and rank correlation (lesson 12).
- psnr, ssim: pixel fidelity of a reconstruction (lesson 14; SSIM of Wang et al. 2004 with
  an 11-tap Gaussian window, sigma 1.5).

KL divergences use natural logarithms (nats) and the convention 0 log 0 = 0.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import backend
from .tensor import Tensor


def _host(x, name: str, dtype=np.float64) -> np.ndarray:
    """A float64 NumPy copy of a Tensor, CuPy array or array-like."""
    if isinstance(x, Tensor):
        x = x.data
    arr = backend.to_numpy(x)
    if dtype is not None:
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"{name}: expected a numeric array, got dtype {arr.dtype}")
        arr = arr.astype(dtype, copy=False)
    return arr


def _kl_to_uniform(p: np.ndarray) -> float:
    """KL(p || uniform) = sum_k p_k log(K p_k), with 0 log 0 = 0; between 0 and log K."""
    k = p.shape[-1]
    nz = p > 0
    return float(np.sum(p[nz] * np.log(k * p[nz])))


# ---------------------------------------------------------------------------------------------
# Mode collapse on Gaussian mixtures
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ModeCoverage:
    """Result of mode_coverage. counts[k]: high-quality samples whose nearest mean is mode k."""
    modes_captured: int
    num_modes: int
    high_quality_fraction: float
    reverse_kl: float
    counts: np.ndarray
    num_samples: int

    @property
    def captured(self) -> np.ndarray:
        """Boolean (K,): which modes were captured."""
        return self.counts > 0

    def as_dict(self) -> dict:
        return {"modes_captured": self.modes_captured, "num_modes": self.num_modes,
                "high_quality_fraction": self.high_quality_fraction,
                "reverse_kl": self.reverse_kl, "counts": self.counts.tolist(),
                "num_samples": self.num_samples}


def mode_coverage(samples, means, sigma: float, radius: float = 3.0,
                  kl_over: str = "high_quality") -> ModeCoverage:
    """The VEEGAN/PacGAN mode-collapse protocol for samples (N, D) over mode means (K, D).

    Each sample is assigned to its nearest mean (ties go to the lower index). It is high
    quality when that distance is at most radius * sigma (3 sigma in the papers). A mode is
    captured when it is the nearest mean of at least one high-quality sample.

    reverse_kl = KL(q || uniform over the K modes), q the normalised histogram over modes of:
      kl_over="high_quality" (default) the high-quality samples only, so samples far from every
        mode do not count for any mode; when no sample is high quality, q does not exist and
        reverse_kl is inf;
      kl_over="all": every sample, each counted at its nearest mean however far it lies.
    It is 0 for a perfectly balanced generator and log K when everything lands in one mode."""
    x = _host(samples, "samples")
    mu = _host(means, "means")
    if x.ndim != 2 or mu.ndim != 2 or x.shape[1] != mu.shape[1]:
        raise ValueError(f"expected samples (N, D) and means (K, D) with the same D, got "
                         f"{x.shape} and {mu.shape}")
    if len(mu) == 0:
        raise ValueError("means is empty: need at least one mode")
    if not (np.isfinite(sigma) and sigma > 0):
        raise ValueError(f"sigma must be a positive number, got {sigma}")
    if kl_over not in ("high_quality", "all"):
        raise ValueError(f"kl_over must be 'high_quality' or 'all', got {kl_over!r}")
    if len(mu) > 1:
        gaps = np.sqrt(((mu[:, None, :] - mu[None, :, :]) ** 2).sum(-1))
        gaps[np.diag_indices(len(mu))] = np.inf
        i, j = np.unravel_index(np.argmin(gaps), gaps.shape)
        if gaps[i, j] < sigma:
            raise ValueError(
                f"means {i} and {j} are {gaps[i, j]:.3g} apart, closer than sigma={sigma}: the "
                "protocol cannot tell them apart (a ring built with linspace(0, 2*pi, K) repeats "
                "its first mode; use endpoint=False)")
    k = len(mu)
    if len(x) == 0:
        return ModeCoverage(0, k, 0.0, math.inf, np.zeros(k, dtype=np.int64), 0)
    # squared distances (N, K) via the expansion |x|^2 - 2 x.mu + |mu|^2 would lose precision
    # for samples sitting exactly on a mean; the direct difference is exact there
    d2 = ((x[:, None, :] - mu[None, :, :]) ** 2).sum(-1)
    nearest = np.argmin(d2, axis=1)
    dist2 = d2[np.arange(len(x)), nearest]
    high = dist2 <= (radius * sigma) ** 2
    counts = np.bincount(nearest[high], minlength=k).astype(np.int64)
    hist = counts if kl_over == "high_quality" else np.bincount(nearest, minlength=k)
    total = hist.sum()
    reverse_kl = _kl_to_uniform(hist / total) if total > 0 else math.inf
    return ModeCoverage(modes_captured=int((counts > 0).sum()), num_modes=k,
                        high_quality_fraction=float(high.mean()), reverse_kl=reverse_kl,
                        counts=counts, num_samples=len(x))


def _xlogy(x, y):
    """x * log(y), with 0 where x == 0 (whatever y is)."""
    positive = x > 0
    return np.where(positive, x * np.log(np.where(positive, y, 1.0)), 0.0)


# ---------------------------------------------------------------------------------------------
# Classifier score (the Inception-score formula)
# ---------------------------------------------------------------------------------------------

def _probabilities(probs, from_logits: bool) -> np.ndarray:
    p = _host(probs, "probs")
    if p.ndim != 2 or p.shape[0] == 0 or p.shape[1] == 0:
        raise ValueError(f"expected class probabilities of shape (N, C) with N, C >= 1, got "
                         f"{p.shape}")
    if from_logits:
        z = p - p.max(axis=1, keepdims=True)
        p = np.exp(z)
        return p / p.sum(axis=1, keepdims=True)
    if not np.all(np.isfinite(p)) or p.min() < 0:
        raise ValueError("probs must be finite and non-negative (pass from_logits=True for logits)")
    sums = p.sum(axis=1)
    if np.max(np.abs(sums - 1.0)) > 1e-3:
        raise ValueError(f"each row of probs must sum to 1; row sums range from {sums.min():.4g} "
                         f"to {sums.max():.4g} (pass from_logits=True for logits)")
    return p / sums[:, None]


def classifier_score_splits(probs, splits: int = 10, from_logits: bool = False) -> np.ndarray:
    """exp(E_x KL(p(y|x) || p(y))) on each of `splits` consecutive chunks of the rows, where p(y)
    is the mean prediction of that chunk. Returns the (splits,) scores."""
    p = _probabilities(probs, from_logits)
    if not (isinstance(splits, (int, np.integer)) and 1 <= splits <= len(p)):
        raise ValueError(f"splits must be an integer between 1 and N={len(p)}, got {splits!r}")
    scores = []
    for chunk in np.array_split(p, int(splits)):
        marginal = chunk.mean(axis=0)
        # KL(p(y|x) || p(y)) row by row; wherever p(y|x) > 0 the marginal is > 0 too
        kl = np.sum(_xlogy(chunk, chunk) - _xlogy(chunk, marginal[None, :]), axis=1)
        scores.append(math.exp(float(kl.mean())))
    return np.asarray(scores)


def classifier_score(probs, splits: int = 1, from_logits: bool = False) -> float:
    """Inception-score formula with a classifier's probabilities (N, C): between 1 (every sample
    gets the same prediction, e.g. a one-class set) and C (confident and balanced). With
    splits > 1, the mean of the per-split scores (see classifier_score_splits for their spread)."""
    return float(classifier_score_splits(probs, splits, from_logits).mean())


# ---------------------------------------------------------------------------------------------
# Fréchet distance between feature sets
# ---------------------------------------------------------------------------------------------

def sqrtm_psd(c) -> np.ndarray:
    """Square root of a symmetric positive semi-definite matrix by eigendecomposition:
    C = V diag(w) V^T -> V diag(sqrt(max(w, 0))) V^T (tiny negative eigenvalues from rounding
    are clipped)."""
    c = _host(c, "matrix")
    if c.ndim != 2 or c.shape[0] != c.shape[1]:
        raise ValueError(f"expected a square matrix, got shape {c.shape}")
    w, v = np.linalg.eigh((c + c.T) / 2)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def _centred(features, name):
    f = _host(features, name)
    if f.ndim != 2 or f.shape[0] < 2:
        raise ValueError(f"{name}: expected features of shape (N, D) with N >= 2, got {f.shape}")
    mu = f.mean(axis=0)
    return mu, f - mu


def frechet_distance_from_stats(mu1, cov1, mu2, cov2) -> float:
    """||mu1 - mu2||^2 + tr(C1) + tr(C2) - 2 tr((C1^1/2 C2 C1^1/2)^1/2).

    The last trace equals tr((C1 C2)^1/2) (same eigenvalues), but C1^1/2 C2 C1^1/2 is symmetric
    PSD, so its eigenvalues come from eigh and are real, unlike a general sqrtm of C1 C2. With
    singular covariances the result carries errors of order sqrt(machine epsilon) * trace (the
    square root is not smooth at 0); frechet_distance on the features themselves avoids that."""
    mu1, mu2 = _host(mu1, "mu1").ravel(), _host(mu2, "mu2").ravel()
    c1, c2 = np.atleast_2d(_host(cov1, "cov1")), np.atleast_2d(_host(cov2, "cov2"))
    d = mu1.shape[0]
    if mu2.shape != (d,) or c1.shape != (d, d) or c2.shape != (d, d):
        raise ValueError(f"inconsistent shapes: mu1 {mu1.shape}, mu2 {mu2.shape}, cov1 {c1.shape}, "
                         f"cov2 {c2.shape}; expected (D,), (D,), (D, D), (D, D)")
    s1 = sqrtm_psd(c1)
    middle = s1 @ c2 @ s1
    eig = np.linalg.eigvalsh((middle + middle.T) / 2)
    tr_sqrt = float(np.sqrt(np.clip(eig, 0, None)).sum())
    diff = mu1 - mu2
    value = float(diff @ diff) + float(np.trace(c1) + np.trace(c2)) - 2.0 * tr_sqrt
    return max(value, 0.0)  # rounding can leave a tiny negative number for identical inputs


def frechet_distance(features1, features2) -> float:
    """Fréchet distance between Gaussians fitted (mean, unbiased covariance) to two feature sets
    (N1, D) and (N2, D). Symmetric; 0 for identical sets up to rounding.

    Works on the centred data X1, X2 instead of their covariances: C1^1/2 C2 C1^1/2 has the
    eigenvalues of (X1 X2^T)(X1 X2^T)^T / ((N1-1)(N2-1)), so its trace square root is the sum of
    the singular values of X1 X2^T, that is of R1 R2^T with X = QR. No square root of a tiny,
    rounding-polluted eigenvalue is ever taken, so even singular covariances (N < D) come out
    accurate to rounding, where the covariance route can be off by sqrt(machine epsilon)."""
    mu1, x1 = _centred(features1, "features1")
    mu2, x2 = _centred(features2, "features2")
    if mu1.shape != mu2.shape:
        raise ValueError(f"frechet_distance: feature sets of shapes {np.shape(x1)} and "
                         f"{np.shape(x2)} have different widths ({mu1.shape[0]} and "
                         f"{mu2.shape[0]} features); both must be (N, D) with one D")
    n1, n2 = len(x1) - 1, len(x2) - 1
    r1, r2 = np.linalg.qr(x1, mode="r"), np.linalg.qr(x2, mode="r")  # X = Q R, R is (min(N, D), D)
    tr_sqrt = float(np.linalg.svd(r1 @ r2.T, compute_uv=False).sum()) / math.sqrt(n1 * n2)
    diff = mu1 - mu2
    value = float(diff @ diff) + float(np.sum(x1 * x1)) / n1 + float(np.sum(x2 * x2)) / n2 \
        - 2.0 * tr_sqrt
    return max(value, 0.0)


# ---------------------------------------------------------------------------------------------
# Label histograms (mode collapse on real data) and conditional accuracy
# ---------------------------------------------------------------------------------------------

def _labels(labels_or_probs, num_classes) -> np.ndarray:
    a = _host(labels_or_probs, "labels", dtype=None)
    if a.ndim == 2:
        if a.shape[1] != num_classes:
            raise ValueError(f"probabilities have {a.shape[1]} columns, expected num_classes="
                             f"{num_classes}")
        return np.argmax(a, axis=1)
    if a.ndim != 1:
        raise ValueError(f"expected labels (N,) or probabilities (N, C), got shape {a.shape}")
    if a.size and (a.dtype.kind not in "iub" and not np.all(a == np.round(a))):
        raise ValueError("labels must be whole numbers (pass probabilities as an (N, C) array)")
    a = a.astype(np.int64)
    if a.size and (a.min() < 0 or a.max() >= num_classes):
        raise ValueError(f"labels must lie in 0..{num_classes - 1}, got {a.min()}..{a.max()}")
    return a


@dataclass(frozen=True)
class LabelHistogram:
    """Result of label_histogram: per-class counts and fractions, KL(fractions || uniform), and the
    classes whose fraction is below the threshold (dropped or starved classes)."""
    counts: np.ndarray
    fractions: np.ndarray
    kl_to_uniform: float
    threshold: float
    classes_below: tuple

    @property
    def num_below(self) -> int:
        return len(self.classes_below)

    def as_dict(self) -> dict:
        return {"counts": self.counts.tolist(), "fractions": self.fractions.tolist(),
                "kl_to_uniform": self.kl_to_uniform, "threshold": self.threshold,
                "classes_below": list(self.classes_below), "num_below": self.num_below}


def label_histogram(labels_or_probs, num_classes: int = 10, threshold: float = 0.05
                    ) -> LabelHistogram:
    """Spread of predicted classes over num_classes: labels (N,) or probabilities (N, C), which
    are reduced to their argmax. kl_to_uniform = KL(fractions || uniform), 0 when balanced and
    log C when one class takes everything; classes_below lists classes with fraction < threshold."""
    y = _labels(labels_or_probs, num_classes)
    if y.size == 0:
        raise ValueError("no labels given")
    counts = np.bincount(y, minlength=num_classes).astype(np.int64)
    fractions = counts / counts.sum()
    below = tuple(int(c) for c in np.flatnonzero(fractions < threshold))
    return LabelHistogram(counts, fractions, _kl_to_uniform(fractions), float(threshold), below)


def conditional_accuracy(labels_or_probs, requested, num_classes: int = 10) -> float:
    """Fraction of generated samples classified as the label they were generated for."""
    y = _labels(labels_or_probs, num_classes)
    want = _labels(requested, num_classes)
    if y.shape != want.shape or y.size == 0:
        raise ValueError(f"need as many predictions as requested labels (at least one), got "
                         f"{y.shape} and {want.shape}")
    return float(np.mean(y == want))


def mean_se(values):
    """(mean, standard error of the mean); s.e. is 0 for a single value."""
    values = [float(v) for v in values]
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return mean, 0.0
    var = sum((v - mean) ** 2 for v in values) / (n - 1)
    return mean, math.sqrt(var / n)


def linear_assignment(cost):
    """The assignment of rows to columns with the least total cost (the Hungarian method, Kuhn
    1955, in its O(n^3) form with row and column potentials): (rows, cols), each row of a
    square or wide (n <= m) cost matrix matched to a different column, as
    scipy.optimize.linear_sum_assignment returns them (rows in order)."""
    c = _host(cost, "cost")
    if c.ndim != 2 or 0 in c.shape or not np.all(np.isfinite(c)):
        raise ValueError(f"linear_assignment needs a finite 2-D cost matrix, got shape {c.shape}")
    if c.shape[0] > c.shape[1]:  # tall: solve the transpose, then read it back
        cols, rows = linear_assignment(c.T)
        order = np.argsort(rows)
        return rows[order], cols[order]
    n, m = c.shape
    u, v = np.zeros(n + 1), np.zeros(m + 1)
    owner = np.zeros(m + 1, dtype=np.int64)      # owner[j]: the row (1-based) holding column j
    for i in range(1, n + 1):
        owner[0], j0 = i, 0
        best = np.full(m + 1, np.inf)            # least reduced cost to reach each column
        came = np.zeros(m + 1, dtype=np.int64)   # the column before it on that path
        used = np.zeros(m + 1, dtype=bool)
        while owner[j0] != 0:
            used[j0] = True
            i0 = owner[j0]
            reduced = c[i0 - 1] - u[i0] - v[1:]
            better = ~used[1:] & (reduced < best[1:])
            best[1:][better] = reduced[better]
            came[1:][better] = j0
            free = np.flatnonzero(~used[1:]) + 1
            j1 = free[np.argmin(best[free])]
            delta = best[j1]
            u[owner[used]] += delta
            v[used] -= delta
            best[~used] -= delta
            j0 = j1
        while j0:                                # flip the augmenting path
            owner[j0] = owner[came[j0]]
            j0 = came[j0]
    rows = owner[1:] - 1
    cols = np.flatnonzero(rows >= 0)
    order = np.argsort(rows[cols])
    return rows[cols][order], cols[order]


def match_clusters(clusters, labels, k: int = 10):
    """Map each cluster id 0..k-1 to a label 0..k-1, one to one, so that the most samples
    agree (a cluster's number is arbitrary: InfoGAN's category 3 may draw sevens). Returns
    (mapping (k,) with mapping[cluster] = label, accuracy after the mapping, the k x k
    contingency table counts[cluster, label])."""
    clusters, labels = np.asarray(clusters).astype(np.int64), np.asarray(labels).astype(np.int64)
    if clusters.shape != labels.shape or clusters.ndim != 1 or clusters.size == 0:
        raise ValueError(f"match_clusters needs two equal-length 1-D arrays, got "
                         f"{clusters.shape} and {labels.shape}")
    for name, a in (("clusters", clusters), ("labels", labels)):
        if a.min() < 0 or a.max() >= k:
            raise ValueError(f"match_clusters: {name} must lie in 0..{k - 1}, got "
                             f"{a.min()}..{a.max()}")
    counts = np.zeros((k, k), dtype=np.int64)
    np.add.at(counts, (clusters, labels), 1)
    rows, cols = linear_assignment(-counts)
    mapping = np.empty(k, dtype=np.int64)
    mapping[rows] = cols
    return mapping, float(counts[rows, cols].sum() / clusters.size), counts


def _ranks(x: np.ndarray) -> np.ndarray:
    """Ranks 0..n-1 of x, ties sharing their mean rank."""
    order = np.argsort(x, kind="mergesort")
    r = np.empty(len(x))
    r[order] = np.arange(len(x))
    _, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    return (np.bincount(inverse, r) / counts)[inverse]


def spearman(a, b) -> float:
    """Spearman's rank correlation of two equal-length 1-D samples: the Pearson correlation of
    their ranks (ties share their mean rank, as scipy.stats.spearmanr). NaN if one is constant."""
    a, b = _host(a, "a").ravel(), _host(b, "b").ravel()
    if a.shape != b.shape or a.size < 2:
        raise ValueError(f"spearman needs two samples of one length >= 2, got {a.shape} and "
                         f"{b.shape}")
    ra, rb = _ranks(a) - (a.size - 1) / 2, _ranks(b) - (b.size - 1) / 2
    denom = math.sqrt(float((ra * ra).sum() * (rb * rb).sum()))
    return float((ra * rb).sum() / denom) if denom > 0 else math.nan


# ---------------------------------------------------------------------------------------------
# Image fidelity against a known truth: PSNR and SSIM (super-resolution, image-to-image)
# ---------------------------------------------------------------------------------------------

def _image_pair(x, y, fn: str):
    a, b = _host(x, fn), _host(y, fn)
    if a.shape != b.shape or a.ndim != 4 or a.shape[0] == 0:
        raise ValueError(f"{fn}: need two image sets of one shape (N, C, H, W) with N >= 1, "
                         f"got {a.shape} and {b.shape}")
    return a, b


def _check_range(data_range, fn: str) -> float:
    if not (isinstance(data_range, (int, float, np.integer, np.floating))
            and math.isfinite(data_range) and data_range > 0):
        raise ValueError(f"{fn}: data_range must be a positive number (2 for images in "
                         f"[-1, 1]), got {data_range!r}")
    return float(data_range)


def psnr(x, y, data_range: float = 2.0, per_image: bool = False):
    """Peak signal-to-noise ratio 10 log10(data_range^2 / MSE) in dB, the MSE taken over each
    image (N, C, H, W) of x against y; data_range 2 for images in [-1, 1]. Returns the mean
    over the images (the per-image mean, as super-resolution papers report it), or the (N,)
    values with per_image=True; identical images give inf."""
    a, b = _image_pair(x, y, "psnr")
    peak = _check_range(data_range, "psnr")
    mse = ((a - b) ** 2).reshape(len(a), -1).mean(axis=1)
    with np.errstate(divide="ignore"):
        values = 10 * np.log10(peak ** 2 / mse)
    return values if per_image else float(values.mean())


def gaussian_window(size: int = 11, sigma: float = 1.5) -> np.ndarray:
    """The normalised 1-D Gaussian (size,) whose outer product is SSIM's 2-D window (MATLAB's
    fspecial('gaussian', size, sigma), the window of Wang et al. 2004)."""
    t = np.arange(size) - (size - 1) / 2
    g = np.exp(-t ** 2 / (2 * sigma ** 2))
    return g / g.sum()


def _filter_valid(a: np.ndarray, g: np.ndarray) -> np.ndarray:
    """The separable window g x g over the last two axes, where it fits entirely ('valid')."""
    k = len(g)
    h, w = a.shape[-2] - k + 1, a.shape[-1] - k + 1
    rows = sum(g[i] * a[..., i:i + h, :] for i in range(k))
    return sum(g[j] * rows[..., :, j:j + w] for j in range(k))


def ssim(x, y, data_range: float = 2.0, per_image: bool = False, win_size: int = 11,
         sigma: float = 1.5, k1: float = 0.01, k2: float = 0.03, low: float = -1.0):
    """Structural similarity of Wang et al. 2004 (IEEE TIP 13(4)): local means, variances and
    covariance under an 11x11 Gaussian window of sigma 1.5 (their choice; population moments,
    no N/(N-1)), C1 = (k1 L)^2, C2 = (k2 L)^2 with L = data_range,

        SSIM = (2 mu_x mu_y + C1)(2 s_xy + C2) / ((mu_x^2 + mu_y^2 + C1)(s_x^2 + s_y^2 + C2)),

    averaged over the positions where the window fits inside the image (18x18 of a 28x28 image)
    and over the channels. The luminance term assumes intensities from 0 (their 8-bit images):
    on [-1, 1] as they are, a window of mean 0.05 against one of -0.05 would score -0.85 there
    instead of 0.995, so the images are first shifted by -low to [0, L] (the default low -1:
    images in [-1, 1]). Then it is skimage.metrics.structural_similarity(gaussian_weights=True,
    sigma=1.5, use_sample_covariance=False, data_range=L) of the shifted images. Returns the
    mean over the images, or the (N,) values with per_image=True; identical images give 1."""
    a, b = _image_pair(x, y, "ssim")
    peak = _check_range(data_range, "ssim")
    if not (isinstance(win_size, (int, np.integer)) and win_size >= 1 and win_size % 2):
        raise ValueError(f"ssim: win_size must be an odd int >= 1, got {win_size!r}")
    if min(a.shape[2:]) < win_size:
        raise ValueError(f"ssim: images of {a.shape[2]}x{a.shape[3]} are smaller than the "
                         f"{win_size}x{win_size} window")
    a, b = a - low, b - low
    g = gaussian_window(win_size, sigma)
    mu_a, mu_b = _filter_valid(a, g), _filter_valid(b, g)
    var_a = _filter_valid(a * a, g) - mu_a ** 2
    var_b = _filter_valid(b * b, g) - mu_b ** 2
    cov = _filter_valid(a * b, g) - mu_a * mu_b
    c1, c2 = (k1 * peak) ** 2, (k2 * peak) ** 2
    s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / \
        ((mu_a ** 2 + mu_b ** 2 + c1) * (var_a + var_b + c2))
    values = s.reshape(len(a), -1).mean(axis=1)
    return values if per_image else float(values.mean())
