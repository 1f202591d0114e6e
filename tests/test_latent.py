"""Lesson 12's pieces: InfoGAN's information loss (gradients, known answers: a perfect Q gives
L_I = H(c)), the Hungarian matching (against SciPy), Spearman's rank correlation, the pixel
attributes on synthetic strokes, the direction fit, optimizing an input through frozen
networks, and the infogan and thickness experiments."""
import math

import numpy as np
import pytest

import tinygan as tg
from tinygan import metrics
from tinygan.data import attributes as A
from tinygan.data.digits import Digits, synthetic_digits
from tinygan.experiments import digits as X
from tinygan.experiments import latent as XL
from tinygan.experiments import thickness as XT
from tinygan.gan import infogan
from tinygan.gan import latent as L
from tinygan.gan.evaluator import Evaluator, load_classifier
from tinygan.testing import gradcheck, gradgradcheck


@pytest.fixture(scope="module")
def tiny_digits():
    return Digits.synthetic_set(90, seed=3)


@pytest.fixture(scope="module")
def evaluator():
    images, labels = synthetic_digits(300, seed=1)
    return Evaluator(load_classifier(), images, labels)


# ---------------------------------------------------------------- the information loss


def _codes(n=6, k=4, c=2, seed=0):
    rng = np.random.default_rng(seed)
    cats = rng.integers(0, k, n)
    return np.concatenate([np.eye(k)[cats], rng.uniform(-1, 1, (n, c))], axis=1), cats


def test_a_perfect_q_reaches_the_entropy_of_the_code():
    codes, cats = _codes(k=10, c=2)
    logits = np.where(np.eye(10)[cats] > 0, 50.0, -50.0)
    mu, log_std = codes[:, 10:], np.zeros((6, 2))
    q = tg.tensor(np.concatenate([logits, mu, log_std], 1), dtype=np.float64)
    cat, cont = infogan.information_terms(q, tg.tensor(codes, dtype=np.float64), 10, 2)
    assert infogan.mutual_information_bound(cat.item(), 10) == pytest.approx(math.log(10))
    # a Gaussian with the right mean and sigma 1: the NLL is log(2 pi) / 2 per code
    assert cont.item() == pytest.approx(math.log(2 * math.pi), rel=1e-12)
    uniform = tg.tensor(np.concatenate([np.zeros((6, 10)), mu, log_std], 1), dtype=np.float64)
    cat, _ = infogan.information_terms(uniform, tg.tensor(codes, dtype=np.float64), 10, 2)
    assert infogan.mutual_information_bound(cat.item(), 10) == pytest.approx(0.0, abs=1e-12)


def test_information_terms_match_their_formula_and_differentiate():
    codes, cats = _codes()
    q = np.random.default_rng(1).standard_normal((6, 4 + 4))
    cat, cont = infogan.information_terms(tg.tensor(q, dtype=np.float64),
                                          tg.tensor(codes, dtype=np.float64), 4, 2)
    logp = q[:, :4] - np.log(np.exp(q[:, :4]).sum(1, keepdims=True))
    assert cat.item() == pytest.approx(-logp[np.arange(6), cats].mean())
    mu, ls = q[:, 4:6], q[:, 6:]
    nll = (0.5 * ((codes[:, 4:] - mu) / np.exp(ls)) ** 2 + ls + 0.5 * np.log(2 * np.pi))
    assert cont.item() == pytest.approx(nll.sum(1).mean())
    c = tg.tensor(codes, dtype=np.float64)
    gradcheck(lambda q: sum(infogan.information_terms(q, c, 4, 2)), q, name="info loss")
    gradgradcheck(lambda q: sum(infogan.information_terms(q, c, 4, 2)), q, name="info loss")
    with pytest.raises(ValueError, match=r"need Q's output \(N, 8\)"):
        infogan.information_terms(tg.zeros(6, 7), c, 4, 2)


def test_the_information_hook_adds_to_both_players():
    G, D = infogan.infogan(hidden=16)
    hook = infogan.MutualInformation(lambda_cat=1.0, lambda_cont=0.5)
    zc = infogan.info_noise()(5, np.random.default_rng(0))
    fake = infogan.PackedInfoGenerator(G)(zc)
    assert fake.shape == (5, 784 + 12)
    out = infogan.PackedInfoDiscriminator(D)(fake)
    assert out.shape == (5, 1 + 10 + 4)
    cat, cont = infogan.information_terms(out[:, 1:], fake[:, 784:])
    want = cat.item() + 0.5 * cont.item()
    assert hook.g_loss(None, fake, out).item() == pytest.approx(want, rel=1e-5)
    assert hook.d_loss(None, None, fake, None, out).item() == pytest.approx(want, rel=1e-5)
    with pytest.raises(ValueError, match="weights must be >= 0"):
        infogan.MutualInformation(lambda_cat=-1)


def test_info_noise_draws_the_papers_codes():
    zc = infogan.info_noise()(4000, np.random.default_rng(0)).numpy()
    assert zc.shape == (4000, 74)
    onehot, cont = zc[:, 62:72], zc[:, 72:]
    assert np.all(onehot.sum(1) == 1) and 0.08 < onehot.mean(0).min()
    assert cont.min() >= -1 and cont.max() <= 1 and abs(cont.mean()) < 0.05
    normal = infogan.info_noise(prior="normal")(4000, np.random.default_rng(0)).numpy()[:, 72:]
    assert normal.std() == pytest.approx(1, abs=0.05) and np.abs(normal).max() > 2
    with pytest.raises(ValueError, match="prior must be one of"):
        infogan.info_noise(prior="laplace")


# ---------------------------------------------------------------- matching and ranks


def test_linear_assignment_matches_scipy():
    optimize = pytest.importorskip("scipy.optimize")
    rng = np.random.default_rng(0)
    for shape in [(10, 10), (3, 6), (6, 3), (1, 1)] * 25:
        cost = rng.integers(0, 4, shape).astype(float) if rng.random() < 0.5 \
            else rng.random(shape)
        r, c = metrics.linear_assignment(cost)
        rs, cs = optimize.linear_sum_assignment(cost)
        assert cost[r, c].sum() == pytest.approx(cost[rs, cs].sum())
        assert len(set(c.tolist())) == len(c) and np.array_equal(r, np.sort(r))


def test_match_clusters_recovers_a_permutation():
    rng = np.random.default_rng(2)
    labels = rng.integers(0, 10, 1000)
    perm = rng.permutation(10)
    clusters = np.argsort(perm)[labels]          # cluster ids are a relabelling
    noisy = clusters.copy()
    noisy[:50] = rng.integers(0, 10, 50)
    mapping, acc, counts = metrics.match_clusters(noisy, labels)
    np.testing.assert_array_equal(mapping[clusters], labels)
    assert 0.94 <= acc <= 1.0 and counts.sum() == 1000
    with pytest.raises(ValueError, match=r"labels must lie in 0\.\.9"):
        metrics.match_clusters(np.zeros(3), np.array([0, 1, 12]))


def test_spearman_matches_scipy_with_ties():
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(0)
    a = rng.integers(0, 5, 40)
    b = a + rng.normal(size=40)
    assert metrics.spearman(a, b) == pytest.approx(stats.spearmanr(a, b).statistic)
    assert metrics.spearman([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert math.isnan(metrics.spearman([1, 2, 3], [5, 5, 5]))


# ---------------------------------------------------------------- attributes


def _strokes():
    img = -np.ones((4, 1, 28, 28))
    for r in range(5, 23):
        img[0, 0, r, 14] = 1                     # upright line
        img[1, 0, r, 14 + (22 - r) // 3] = 1     # top to the right
        img[2, 0, r, 14 - (22 - r) // 3] = 1     # top to the left
        img[3, 0, r, 13:16] = 1                  # upright, three times the ink
    return img


def test_attributes_on_synthetic_strokes():
    img = _strokes()
    s = A.slant(img)
    assert s[0] == pytest.approx(0, abs=1e-12) and s[1] > 0.25 and s[2] < -0.25
    assert s[1] == pytest.approx(-s[2])
    np.testing.assert_allclose(A.ink_mass(img), [18, 18, 18, 54])
    w = A.width(img)
    assert w[0] == pytest.approx(0, abs=1e-12) and w[3] == pytest.approx(math.sqrt(2 / 3))
    with pytest.raises(ValueError, match="unknown attribute"):
        A.measure(img, ("boldness",))


def test_thickness_buckets_are_per_class():
    """Class 8 holds 5x the ink of class 1; each class splits into its own thirds."""
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(10), 30)
    img = -np.ones((300, 1, 28, 28))
    for i, c in enumerate(labels):
        k = (5 if c == 8 else 1) * (5 + i % 30)
        img[i, 0].flat[rng.choice(784, k, replace=False)] = 1
    edges = A.bucket_edges(img, labels, 3)
    assert edges.shape == (10, 2) and edges[8, 0] > 4 * edges[1, 0]
    b = A.thickness_buckets(img, labels, edges)
    for c in (1, 8):
        assert np.bincount(b[labels == c], minlength=3).tolist() == [10, 10, 10]
    with pytest.raises(ValueError, match="no digit of class 0"):
        A.bucket_edges(img[labels > 0], labels[labels > 0], 3)
    with pytest.raises(ValueError, match="at least 2 buckets"):
        A.bucket_edges(img, labels, 1)



def test_sharpness_counts_edges_and_blur_lowers_it():
    """A +-1 checkerboard jumps by 2 at every neighbour (2 + 2); a flat image has no edge."""
    board = np.where(np.add.outer(np.arange(6), np.arange(6)) % 2 == 0, 1.0, -1.0)
    assert A.sharpness(board[None, None]) == pytest.approx(4.0)
    assert A.sharpness(np.zeros((3, 1, 5, 5))) == 0.0
    stroke = -np.ones((1, 1, 9, 9))
    stroke[..., 4] = 1
    padded = np.pad(stroke, ((0, 0), (0, 0), (0, 0), (1, 1)), constant_values=-1)
    blurred = (padded[..., :-2] + padded[..., 1:-1] + padded[..., 2:]) / 3   # a 1x3 box blur
    assert A.sharpness(stroke) == pytest.approx(4 / 8)    # each row: two jumps of 2 in 8 pairs
    assert A.sharpness(blurred) == pytest.approx(A.sharpness(stroke) / 3)
    with pytest.raises(ValueError, match="at least 2x2"):
        A.sharpness(np.zeros(5))

# ---------------------------------------------------------------- directions and inputs


def test_fit_direction_recovers_a_planted_normal():
    rng = np.random.default_rng(0)
    z = rng.standard_normal((3000, 16))
    n = rng.standard_normal(16)
    n /= np.linalg.norm(n)
    d = L.fit_direction(z, z @ n + 0.2 * rng.standard_normal(3000))
    assert d.normal @ n > 0.98 and d.test_accuracy > 0.97
    assert np.linalg.norm(d.normal) == pytest.approx(1)
    with pytest.raises(ValueError, match="one value per row"):
        L.fit_direction(z, np.zeros(5))


def test_conditional_direction_is_orthogonal_to_what_it_leaves_alone():
    rng = np.random.default_rng(1)
    n1, n2, n3 = rng.standard_normal((3, 8))
    d = L.conditional_direction(n1, n2, n3)
    assert abs(d @ n2) < 1e-12 and abs(d @ n3) < 1e-12 and d @ n1 > 0
    with pytest.raises(ValueError, match="span of the others"):
        L.conditional_direction(n2 + n3, n2, n3)


def test_optimize_input_moves_only_the_input():
    net = tg.nn.Linear(3, 1)
    before = [p.numpy().copy() for p in net.parameters()]
    target = np.array([2.0], np.float32)
    x, losses = L.optimize_input(lambda x: ((net(x) - tg.tensor(target)) ** 2).sum(),
                                 np.zeros((1, 3)), modules=(net,), steps=300, lr=0.05)
    assert losses[-1] < 1e-6 < losses[0]
    assert all(np.array_equal(a, p.numpy()) for a, p in zip(before, net.parameters()))
    assert all(p.requires_grad for p in net.parameters()) and net.training
    assert all(p.grad is None for p in net.parameters())


# ---------------------------------------------------------------- experiments


def test_infogan_experiment_trains_and_reads_its_codes(tiny_digits, evaluator, device):
    exp = XL.build(XL.InfoGANConfig(batch_size=8, log_every=2, eval_samples=0), device,
                   digits=tiny_digits)
    g0 = [p.numpy().copy() for p in exp.generator.parameters()]
    exp.trainer.fit(steps=2)
    assert any(not np.array_equal(a, p.numpy()) for a, p in zip(g0, exp.generator.parameters()))
    acc, mapping, counts = XL.category_accuracy(exp.generator, evaluator, per_category=5)
    assert 0 <= acc <= 1 and sorted(mapping.tolist()) == list(range(10))
    assert XL.info_bound(exp, n=50) <= math.log(10) + 1e-6   # ln K - CE: at most ln K
    effects = XL.code_effects(exp.generator, n_z=3)
    assert [e["code"] for e in effects] == [0, 1]
    assert all(e["attribute"] in A.ATTRIBUTES for e in effects)


def test_thickness_experiment_and_the_three_reconstructions(tiny_digits, evaluator):
    exp = XT.build(XT.ThicknessConfig(batch_size=8, eval_samples=0), digits=tiny_digits)
    exp.trainer.fit(steps=3)
    G = X.averaged_generator(exp)
    assert G.num_classes == 3 and exp.parts["edges"].shape == (10, 2)
    E, curve = XT.train_encoder(G, steps=20, batch_size=16)
    images, labels = tiny_digits.images[:6], np.asarray(tiny_digits.labels[:6])
    results = {m: XT.recondition(G, E, evaluator, images, labels, exp.parts["edges"], m,
                                 steps=30) for m in XT.RECONSTRUCTIONS}
    for r in results.values():
        assert r["z"].shape == (6, 100) and 0 <= r["label_kept"] <= 1
    # each optimized reconstruction lowers what it optimizes, from the encoder's start
    assert results["identity"]["feature_distance"] < results["encoder"]["feature_distance"]
    assert results["pixelwise"]["pixel_mse"] < results["encoder"]["pixel_mse"]
    with pytest.raises(ValueError, match="method must be one of"):
        XT.reconstruct(G, E, evaluator.classifier, images, np.zeros(6), "latent")
