"""Property tests of the GAN objectives (tinygan/gan/losses.py) and bce_with_logits: values
against independent NumPy formulas, stability at |logit| = 1000, the gradients Goodfellow et al.
2014 argue about, which way each discriminator loss pushes, and the name lookup."""
from statistics import NormalDist

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygan as tg
import tinygan.functional as F
import tinygan.nn as nn
from tinygan.gan import losses as L
from tinygan.testing import gradcheck, gradgradcheck

D_LOSSES = [L.d_minimax, L.d_least_squares, L.d_hinge, L.d_wasserstein]
G_LOSSES = [L.g_saturating, L.g_nonsaturating, L.g_least_squares, L.g_hinge, L.g_wasserstein]
# g_maximum_likelihood (-E e^logit) overflows at logit 1000 by design, so it is tested apart
# from the stability checks over [-1000, 1000]


def softplus(x):  # an independent, stable reference: log(1 + e^x)
    return np.logaddexp(0.0, x)


def sigmoid(x):
    return np.exp(-softplus(-x))


def logits(dtype, min_size=1, max_size=6):
    """1-D logit arrays anywhere in [-1000, 1000], always including both extremes."""
    body = hnp.arrays(dtype, st.integers(min_size, max_size),
                      elements=st.floats(-1000, 1000, width=np.dtype(dtype).itemsize * 8))
    return body.map(lambda a: np.concatenate([a, np.array([-1000, 1000], dtype)]))


def grads_of(loss_fn, *arrays):
    """(loss value, gradient w.r.t. each argument) as NumPy."""
    ts = [tg.tensor(a, requires_grad=True) for a in arrays]
    loss = loss_fn(*ts)
    return loss.item(), [g.numpy() for g in tg.grad(loss, ts)]


# ---------------------------------------------------------------- values


@given(hnp.arrays(np.float64, 5, elements=st.floats(-30, 30)),
       hnp.arrays(np.float64, 5, elements=st.floats(-30, 30)))
def test_values_match_independent_formulas(real, fake):
    r, f = tg.tensor(real), tg.tensor(fake)
    close = dict(rtol=1e-10, atol=1e-12)
    # log D = -log(1 + e^-l) and log(1 - D) = -log(1 + e^l), by NumPy's own logaddexp
    log_d_real, log_1md_fake, log_d_fake = -softplus(-real), -softplus(fake), -softplus(-fake)
    np.testing.assert_allclose(L.d_minimax(r, f).item(),
                               -np.mean(log_d_real) - np.mean(log_1md_fake), **close)
    np.testing.assert_allclose(L.g_saturating(f).item(), np.mean(log_1md_fake), **close)
    np.testing.assert_allclose(L.g_nonsaturating(f).item(), -np.mean(log_d_fake), **close)
    np.testing.assert_allclose(L.d_least_squares(r, f).item(),
                               0.5 * np.mean((real - 1) ** 2) + 0.5 * np.mean(fake ** 2), **close)
    np.testing.assert_allclose(L.g_least_squares(f).item(), 0.5 * np.mean((fake - 1) ** 2),
                               **close)
    np.testing.assert_allclose(L.d_hinge(r, f).item(), np.mean(np.maximum(0, 1 - real))
                               + np.mean(np.maximum(0, 1 + fake)), **close)
    np.testing.assert_allclose(L.d_wasserstein(r, f).item(), fake.mean() - real.mean(), **close)
    for g in (L.g_hinge, L.g_wasserstein):
        np.testing.assert_allclose(g(f).item(), -fake.mean(), **close)


def test_minimax_d_loss_is_bce_with_logits_against_one_and_zero():
    real, fake = tg.randn(8, 1, dtype=np.float64), tg.randn(8, 1, dtype=np.float64)
    expected = F.bce_with_logits(real, 1.0) + F.bce_with_logits(fake, 0.0)
    np.testing.assert_allclose(L.d_minimax(real, fake).item(), expected.item(), rtol=1e-12)


# ---------------------------------------------------------------- stability at |logit| = 1000


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(data=st.data())
def test_every_loss_is_finite_with_finite_gradients_at_1000(dtype, data):
    real = data.draw(logits(dtype))
    fake = np.resize(data.draw(logits(dtype), label="fake"), real.shape)  # same batch size
    for fn, args in [(d, (real, fake)) for d in D_LOSSES] + [(g, (fake,)) for g in G_LOSSES]:
        value, grads = grads_of(fn, *args)
        assert np.isfinite(value), fn.__name__
        for g in grads:
            assert g.dtype == dtype, f"{fn.__name__} changed the dtype to {g.dtype}"
            assert np.all(np.isfinite(g)), fn.__name__


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_extreme_logits_give_the_limits(dtype):
    big = np.array([1000.0], dtype)
    assert L.d_minimax(tg.tensor(big), tg.tensor(-big)).item() == 0.0  # D perfectly right
    np.testing.assert_allclose(L.d_minimax(tg.tensor(-big), tg.tensor(big)).item(), 2000.0)
    np.testing.assert_allclose(L.g_nonsaturating(tg.tensor(-big)).item(), 1000.0)
    np.testing.assert_allclose(L.g_saturating(tg.tensor(big)).item(), -1000.0)
    assert L.g_saturating(tg.tensor(-big)).item() == 0.0


# ---------------------------------------------------------------- bce_with_logits


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(data=st.data())
def test_bce_with_logits_gradient_is_sigmoid_minus_target(dtype, data):
    x = data.draw(logits(dtype))
    y = data.draw(hnp.arrays(dtype, x.shape, elements=st.floats(0, 1, width=8 * x.itemsize)))
    value, (gx, gy) = grads_of(lambda a, b: F.bce_with_logits(a, b, reduction="sum"), x, y)
    assert np.isfinite(value) and np.all(np.isfinite(gx))
    x64, y64 = x.astype(np.float64), y.astype(np.float64)
    tol = 1e-6 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(gx, sigmoid(x64) - y64, atol=tol)
    np.testing.assert_allclose(gy, -x64, rtol=tol)  # d/dy (softplus(x) - x y) = -x
    np.testing.assert_allclose(value, np.sum(softplus(x64) - x64 * y64), rtol=10 * tol)


# ---------------------------------------------------------------- the two generator losses


@given(hnp.arrays(np.float64, st.integers(1, 8), elements=st.floats(-1000, 1000)))
def test_generator_loss_gradients_wrt_the_logit(x):
    """d/dl log(1 - D) = -sigmoid(l) and d/dl [-log D] = -sigmoid(-l), over the batch mean."""
    n = x.size
    _, (gs,) = grads_of(L.g_saturating, x)
    _, (gns,) = grads_of(L.g_nonsaturating, x)
    np.testing.assert_allclose(gs, -sigmoid(x) / n, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(gns, -sigmoid(-x) / n, rtol=1e-12, atol=1e-300)
    assert np.all(gs <= 0) and np.all(gns <= 0)  # both ask for larger D(G(z)) (0 by underflow)


def test_saturating_gradient_vanishes_as_d_rejects_fakes_and_nonsaturating_does_not():
    rejected = -np.array([5.0, 10.0, 20.0, 50.0, 100.0, 1000.0])  # D ever more sure: fake
    _, (gs,) = grads_of(L.g_saturating, rejected)
    _, (gns,) = grads_of(L.g_nonsaturating, rejected)
    n = rejected.size
    assert np.all(np.diff(np.abs(gs)) < 0)  # ever smaller
    assert abs(gs[-1]) < 1e-300 and abs(gs[2]) * n < 3e-9  # -> 0: no signal left for G
    np.testing.assert_allclose(gns * n, -1.0, atol=1e-2)  # -> -1: full signal
    np.testing.assert_allclose(gns[2:] * n, -1.0, atol=1e-8)


@given(hnp.arrays(np.float64, st.integers(1, 8), elements=st.floats(-700, 700)))
def test_maximum_likelihood_gradient_wrt_the_logit(x):
    """d/dl [-e^l] = -e^l = -D/(1 - D): tiny for rejected fakes, huge for accepted ones."""
    value, (g,) = grads_of(L.g_maximum_likelihood, x)
    np.testing.assert_allclose(value, -np.mean(np.exp(x)), rtol=1e-12)
    np.testing.assert_allclose(g, -np.exp(x) / x.size, rtol=1e-12, atol=1e-300)


def test_maximum_likelihood_cost_follows_the_kl_gradient_at_the_optimal_discriminator():
    """Goodfellow 2016, Sec. 3.2.4: with D = D* held fixed, the gradient of -E_z[e^logit] in
    G's parameters equals the gradient of KL(p_data || p_g). Here G(z) = mu + s z with
    z ~ N(0, 1) (quadrature), p_data = N(1, 0.8^2), so d KL / d mu = (mu - 1) / s^2 and
    d KL / d s = 1/s - (0.8^2 + (mu - 1)^2) / s^3."""
    mu0, s0 = 0.3, 1.3
    quantile = NormalDist().inv_cdf
    z = np.array([quantile(u) for u in (np.arange(100_000) + 0.5) / 100_000])
    mu = tg.tensor(mu0, requires_grad=True)
    s = tg.tensor(s0, requires_grad=True)
    x = mu + s * tg.tensor(z)

    def log_normal(v, m, sd):
        return -0.5 * ((v - m) / sd) ** 2 - np.log(sd) - 0.5 * np.log(2 * np.pi)

    logit = log_normal(x, 1.0, 0.8) - log_normal(x, mu0, s0)  # log D*/(1-D*), D* fixed
    g_mu, g_s = tg.grad(L.g_maximum_likelihood(logit), [mu, s])
    np.testing.assert_allclose(g_mu.item(), (mu0 - 1) / s0 ** 2, rtol=1e-3)
    np.testing.assert_allclose(g_s.item(), 1 / s0 - (0.8 ** 2 + (mu0 - 1) ** 2) / s0 ** 3,
                               rtol=1e-3)


def discriminator(seed=0):
    tg.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 16, dtype=np.float64), nn.Tanh(),
                         nn.Linear(16, 1, dtype=np.float64))


@given(st.integers(0, 10_000), hnp.arrays(np.float64, (6, 3), elements=st.floats(-3, 3)))
def test_generator_losses_push_fakes_the_same_way(seed, x):
    """Per sample, the two gradients w.r.t. the generator's output differ by the positive
    factor e^logit: the same direction, zero at the same points (the same fixed points)."""
    D = discriminator(seed)
    fake = tg.tensor(x, requires_grad=True)
    logit = D(fake)
    g_sat, = tg.grad(L.g_saturating(logit), [fake])
    g_ns, = tg.grad(L.g_nonsaturating(D(fake)), [fake])
    factor = np.exp(logit.numpy())  # (6, 1), broadcast over each sample's row
    np.testing.assert_allclose(g_sat.numpy(), factor * g_ns.numpy(), rtol=1e-9, atol=1e-15)
    cos = np.sum(g_sat.numpy() * g_ns.numpy(), axis=1) / (
        np.linalg.norm(g_sat.numpy(), axis=1) * np.linalg.norm(g_ns.numpy(), axis=1) + 1e-300)
    assert np.all(cos > 1 - 1e-9)


def test_generator_losses_share_a_fixed_point():
    """With a discriminator whose logit -(x - c)^2 peaks at c, both generator gradients vanish
    at c, and elsewhere both descent directions point towards c."""
    c = np.array([0.5, -1.0])

    def D(x):
        d = x - tg.tensor(c)
        return -(d * d).sum(axis=1, keepdims=True)

    at_c = tg.tensor(np.tile(c, (3, 1)), requires_grad=True)
    for g_loss in (L.g_saturating, L.g_nonsaturating):
        g, = tg.grad(g_loss(D(at_c)), [at_c])
        assert np.all(g.numpy() == 0)
    away = np.array([[2.0, 0.0], [-1.0, -3.0], [0.5, 1.0]])
    x = tg.tensor(away, requires_grad=True)
    for g_loss in (L.g_saturating, L.g_nonsaturating):
        g, = tg.grad(g_loss(D(x)), [x])
        descent = -g.numpy()
        toward_c = c - away
        cos = np.sum(descent * toward_c, axis=1) / (
            np.linalg.norm(descent, axis=1) * np.linalg.norm(toward_c, axis=1))
        np.testing.assert_allclose(cos, 1.0, rtol=1e-12)


def test_both_generator_losses_decrease_as_d_is_fooled():
    grid = np.linspace(-30, 30, 601)
    for g_loss in (L.g_saturating, L.g_nonsaturating):
        values = [g_loss(tg.tensor([v], dtype=np.float64)).item() for v in grid]
        assert np.all(np.diff(values) < 0), g_loss.__name__


# ---------------------------------------------------------------- the discriminator losses


@given(st.floats(0.01, 1000), st.floats(-1000, 1000), st.floats(-1000, 1000))
def test_monotone_d_losses_reward_the_right_sign(a, real, fake):
    """Minimax, hinge and Wasserstein: never worse for higher real logits or lower fake ones,
    and strictly better with the right signs (+a on reals, -a on fakes) than the wrong ones."""
    for d_loss in (L.d_minimax, L.d_hinge, L.d_wasserstein):
        _, (g_real, g_fake) = grads_of(d_loss, np.array([real]), np.array([fake]))
        assert g_real[0] <= 0 and g_fake[0] >= 0, d_loss.__name__
        right = d_loss(tg.tensor([a]), tg.tensor([-a])).item()
        undecided = d_loss(tg.tensor([0.0]), tg.tensor([0.0])).item()
        wrong = d_loss(tg.tensor([-a]), tg.tensor([a])).item()
        assert right < undecided < wrong, d_loss.__name__


@given(st.floats(1, 30))
def test_d_losses_minima(a):
    """Minimax reaches 0 only in the limit of sure logits; hinge is 0 once margins reach 1;
    least squares is minimized (0, zero gradient) exactly at the targets 1 (real), 0 (fake)."""
    at_target = (np.array([1.0, 1.0]), np.array([0.0, 0.0]))
    value, grads = grads_of(L.d_least_squares, *at_target)
    assert value == 0 and all(np.all(g == 0) for g in grads)
    t = lambda v: tg.tensor([v], dtype=np.float64)  # noqa: E731
    assert L.d_least_squares(t(a + 1), t(-a)).item() > 0  # overshooting the target costs
    assert L.d_hinge(t(a), t(-a)).item() == 0
    assert L.d_minimax(t(a), t(-a)).item() > L.d_minimax(t(a + 1), t(-a - 1)).item() > 0


@given(hnp.arrays(np.float64, 4, elements=st.floats(-1000, 1000)))
def test_g_losses_want_higher_d_outputs(fake):
    for g_loss in (L.g_saturating, L.g_nonsaturating, L.g_hinge, L.g_wasserstein):
        _, (g,) = grads_of(g_loss, fake)
        assert np.all(g <= 0), g_loss.__name__
    _, (g,) = grads_of(L.g_least_squares, fake)  # least squares: towards the target 1
    np.testing.assert_array_equal(np.sign(g), np.sign(fake - 1))


# ---------------------------------------------------------------- higher-order gradients


@pytest.mark.parametrize("fn", D_LOSSES + G_LOSSES + [L.g_maximum_likelihood],
                         ids=lambda f: f.__name__)
def test_gradcheck_and_gradgradcheck(fn):
    rng = np.random.default_rng(3)
    # off the hinge kinks at +-1: |x| in [1.2, 3] or below 0.8
    args = [rng.choice([-1, 1], 5) * rng.uniform(1.2, 3, 5) for _ in
            range(2 if fn in D_LOSSES else 1)]
    assert gradcheck(fn, *args)
    assert gradgradcheck(fn, *args)


# ---------------------------------------------------------------- lookup by name


def test_objective_lookup():
    assert L.objective("nonsaturating") == (L.d_minimax, L.g_nonsaturating)
    d_loss, g_loss = L.objective("minimax")
    assert (d_loss, g_loss) == (L.d_minimax, L.g_saturating)
    assert L.objective("Non-Saturating").g_loss is L.g_nonsaturating
    assert L.objective("lsgan") is L.OBJECTIVES["least_squares"]
    assert L.objective(" WGAN ").d_loss is L.d_wasserstein
    for name, pair in L.OBJECTIVES.items():
        assert L.objective(name) is pair


@pytest.mark.parametrize("name", ["nonsaturing", "", "bce", "least squares gan"])
def test_unknown_objective_names_list_the_choices(name):
    with pytest.raises(ValueError) as info:
        L.objective(name)
    message = str(info.value)
    assert repr(name) in message
    assert all(valid in message for valid in L.OBJECTIVES)


@pytest.mark.parametrize("name", [None, 3, L.d_minimax])
def test_objective_name_must_be_a_string(name):
    with pytest.raises(TypeError, match="must be a string"):
        L.objective(name)
