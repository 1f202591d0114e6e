# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lesson 2 — Divergences: what a GAN is secretly minimizing
#
# **Running it.** Fast mode: set `TINYGAN_FAST=1` before starting Jupyter (fewer steps and
# samples). Full mode, the default, takes about 15 seconds on a 2-core CPU.
#
# **Goals.** By the end you will be able to
# 1. compute the Kullback–Leibler (KL) and Jensen–Shannon (JS) divergences, and say why KL is
#    not symmetric and can be infinite while JS is symmetric and bounded by $\log 2$;
# 2. see, by fitting one Gaussian to a two-peaked distribution, that *forward* KL covers every
#    mode while *reverse* KL picks one — and why that is only part of the story of mode
#    collapse;
# 3. derive the optimal discriminator $D^*(x) = p_\text{data}(x) / (p_\text{data}(x) + p_g(x))$
#    and the identity $V(G, D^*) = -\log 4 + 2\,\mathrm{JS}(p_\text{data} \,\|\, p_g)$, then watch a
#    real tinygan discriminator converge to both;
# 4. explain why JS goes flat when two distributions stop overlapping, and why the Wasserstein
#    distance does not (the motivation for WGAN);
# 5. write *property-based tests* with hypothesis: state a mathematical law and let the computer
#    hunt for a counterexample.
#
# **Prerequisites.** Lesson 1 (autograd). Probability densities, expectations, logarithms.
#
# **Reading along.** `tinygan/divergences.py` holds everything measured here;
# `tests/test_divergences.py` states each claim of this lesson as a property test.

# %%
import math

import matplotlib.pyplot as plt
import numpy as np
from hypothesis import find, given, settings
from hypothesis import strategies as st

import tinygan as tg
import tinygan.functional as F
import tinygan.nn as nn
from tinygan import divergences as D
from tinygan.gan.losses import d_minimax
from tinygan.optim import Adam
from tinygan.viz import is_fast, save_figure

FAST = is_fast()
print("fast mode" if FAST else "full mode")
tg.manual_seed(0)
rng = np.random.default_rng(0)

# %% [markdown]
# ## 1. KL and JS on a die
#
# For two distributions $p, q$ over the same outcomes,
#
# $$\mathrm{KL}(p \,\|\, q) = \sum_i p_i \log \frac{p_i}{q_i}, \qquad
#   \mathrm{JS}(p \,\|\, q) = \tfrac12 \mathrm{KL}(p \,\|\, m) + \tfrac12 \mathrm{KL}(q \,\|\, m),
#   \quad m = \tfrac12 (p + q).$$
#
# KL is the extra cost (in nats, or bits with $\log_2$) of coding samples from $p$ with a code
# built for $q$. Two conventions make it total: $0 \log 0 = 0$ (outcomes $p$ never produces cost
# nothing), and $p_i \log(p_i/0) = +\infty$ (a code for $q$ has no word for an outcome it
# thinks impossible). JS compares both to their average $m$, which is positive wherever either
# is, so it is always finite.
#
# Let us compute these by hand for a fair die and a loaded one, and check the library agrees.

# %%
fair = np.full(6, 1 / 6)
loaded = np.array([0.05, 0.05, 0.1, 0.1, 0.2, 0.5])

kl_by_hand = np.sum(fair * np.log(fair / loaded))
m = (fair + loaded) / 2
js_by_hand = 0.5 * np.sum(fair * np.log(fair / m)) + 0.5 * np.sum(loaded * np.log(loaded / m))
assert np.isclose(kl_by_hand, D.kl_divergence(fair, loaded))
assert np.isclose(js_by_hand, D.js_divergence(fair, loaded))

print(f"KL(fair || loaded) = {D.kl_divergence(fair, loaded):.4f} nats")
print(f"KL(loaded || fair) = {D.kl_divergence(loaded, fair):.4f} nats   <- not the same")
print(f"JS(fair || loaded) = {D.js_divergence(fair, loaded):.4f} nats "
      f"= {D.js_divergence(fair, loaded, base=2):.4f} bits (log 2 = {math.log(2):.4f})")

never_six = np.array([0.2, 0.2, 0.2, 0.2, 0.2, 0.0])
print(f"KL(fair || never-six) = {D.kl_divergence(fair, never_six)}   "
      f"KL(never-six || fair) = {D.kl_divergence(never_six, fair):.4f}")
print(f"JS(fair || never-six) = {D.js_divergence(fair, never_six):.4f}   (always finite)")

# %% [markdown]
# ### Property-based tests: laws, not examples
#
# One example checks one point. A *property* is a law that must hold for every input — for
# instance KL is never negative, and (Pinsker's inequality) it is at least
# $\tfrac12 \lVert p - q\rVert_1^2$, which also says KL is zero only when $p = q$.
# [hypothesis](https://hypothesis.readthedocs.io) generates many inputs, including awkward ones
# (zeros, near-duplicates, tiny masses), and when a law fails it *shrinks* the input to a small
# counterexample. While writing `tinygan.divergences`, such a test found a real bug: halving a
# subnormal probability rounded $m$ to zero and made JS infinite. The fix is in the library and
# the shrunk counterexample is a regression test.
#
# Below: a strategy for pairs of distributions, and three laws checked on each draw.

# %%
@st.composite
def two_distributions(draw, max_n=6):
    n = draw(st.integers(2, max_n))
    mass = st.one_of(st.just(0.0), st.floats(1e-3, 1.0))  # exact zeros on purpose
    p = np.array(draw(st.lists(mass, min_size=n, max_size=n)))
    q = np.array(draw(st.lists(mass, min_size=n, max_size=n)))
    p[0] += 1e-3  # keep at least one outcome possible
    q[0] += 1e-3
    return p / p.sum(), q / q.sum()


@settings(max_examples=100 if FAST else 500, deadline=None, database=None)
@given(two_distributions())
def laws_of_kl_and_js(pq):
    p, q = pq
    assert D.kl_divergence(p, q) >= 0.5 * np.abs(p - q).sum() ** 2 - 1e-12  # Pinsker
    assert 0 <= D.js_divergence(p, q) <= math.log(2) + 1e-12
    assert D.js_divergence(p, q) == D.js_divergence(q, p)


laws_of_kl_and_js()  # silent unless hypothesis finds a counterexample
print("all drawn examples obey the laws")

# hypothesis can also *search*: find a pair where KL(p||q) and KL(q||p) are both finite but
# differ by more than 0.5 nats (it then shrinks the pair to a simple one)
def asymmetric(pq):
    forward, reverse = D.kl_divergence(*pq), D.kl_divergence(pq[1], pq[0])
    return np.isfinite(forward) and np.isfinite(reverse) and abs(forward - reverse) > 0.5


p, q = find(two_distributions(max_n=3), asymmetric,
            settings=settings(max_examples=5000, database=None))
print("witness of asymmetry: p =", np.round(p, 3), " q =", np.round(q, 3))
print(f"KL(p||q) = {D.kl_divergence(p, q):.3f},  KL(q||p) = {D.kl_divergence(q, p):.3f}")

# %% [markdown]
# ## 2. Forward vs reverse KL: covering modes or seeking one
#
# Fit a single Gaussian $q_\theta = \mathcal N(\mu, \sigma^2)$ to a target $p$ with two
# well-separated peaks. Which $\theta$ is "closest" depends on which KL we minimize:
#
# * **forward** $\mathrm{KL}(p \,\|\, q_\theta) = \mathbb E_p[\log p - \log q_\theta]$ is infinite
#   if $q_\theta$ ever misses mass that $p$ has, so $q_\theta$ spreads to **cover both modes**
#   (for a Gaussian family the optimum matches $p$'s mean and variance exactly). This is what
#   maximum likelihood minimizes.
# * **reverse** $\mathrm{KL}(q_\theta \,\|\, p) = \mathbb E_{q_\theta}[\log q_\theta - \log p]$ only
#   looks where $q_\theta$ puts mass, and is punished for putting mass where $p$ is small, so
#   $q_\theta$ **locks onto one mode** and ignores the other.
#
# A model fitted by the reverse KL produces good samples from one mode and never visits the
# other, which looks like mode collapse. It is tempting to stop there, because against an
# optimal discriminator the non-saturating generator loss follows the gradient of
# $\mathrm{KL}(p_g \,\|\, p_\text{data}) - 2\,\mathrm{JS}$, a *reverse* KL (Arjovsky & Bottou 2017,
# arXiv 1701.04862, Theorem 2.5). But Goodfellow's NIPS 2016 tutorial (arXiv 1701.00160,
# sections 3.2.5 and 5.1.1) argues that the divergence is not the main cause. GANs trained with
# a maximum-likelihood cost (forward KL; lesson 3 builds it) still collapse; a reverse-KL fit
# picks as many modes as its family can hold, while GANs often produce fewer modes than their
# networks could; and the training procedure itself can collapse: if $G$ is updated against a
# fixed $D$, its best move is to send every $z$ to the single point $D$ likes most (the
# max-min game, not the min-max one). Lesson 5 measures collapse and remedies for it. Keep the
# picture below as what the *divergence* prefers, not as the mechanism of collapse.
#
# Both objectives are integrals over $x$; on a fine grid they become sums that tinygan can
# differentiate with respect to $\mu$ and $\log\sigma$ (the log keeps $\sigma > 0$).

# %%
x_grid, dx = np.linspace(-9, 9, 1801, retstep=True)
modes, mode_std = (-2.5, 2.5), 0.6
log_p = np.logaddexp(*[D.normal_logpdf(x_grid, m, mode_std) for m in modes]) - math.log(2)
p_mix = np.exp(log_p)

X = tg.tensor(x_grid, dtype=tg.float64)
LOG_P = tg.tensor(log_p, dtype=tg.float64)
P_DX = tg.tensor(p_mix * dx, dtype=tg.float64)


def log_q(mu, log_sigma):
    """log N(x; mu, sigma^2) on the grid, as a tinygan Tensor."""
    return -0.5 * ((X - mu) / log_sigma.exp()) ** 2 - log_sigma - 0.5 * math.log(2 * math.pi)


def forward_kl(mu, log_sigma):   # sum p (log p - log q) dx
    return (P_DX * (LOG_P - log_q(mu, log_sigma))).sum()


def reverse_kl(mu, log_sigma):   # sum q (log q - log p) dx
    lq = log_q(mu, log_sigma)
    return (lq.exp() * (lq - LOG_P)).sum() * dx


def fit(objective, mu0, sigma0, steps):
    mu = tg.tensor(mu0, requires_grad=True, dtype=tg.float64)
    log_sigma = tg.tensor(math.log(sigma0), requires_grad=True, dtype=tg.float64)
    opt = Adam([mu, log_sigma], lr=0.05)
    path = []
    for _ in range(steps):
        loss = objective(mu, log_sigma)
        opt.zero_grad()
        loss.backward()
        opt.step()
        path.append((mu.item(), math.exp(log_sigma.item()), loss.item()))
    return np.array(path)


fit_steps = 300 if FAST else 800
fwd = fit(forward_kl, mu0=0.8, sigma0=1.0, steps=fit_steps)
rev = fit(reverse_kl, mu0=0.8, sigma0=1.0, steps=fit_steps)
mix_std = math.sqrt(mode_std ** 2 + 2.5 ** 2)  # variance of the mixture: within + between
print(f"forward KL fit: mu = {fwd[-1, 0]:+.3f}, sigma = {fwd[-1, 1]:.3f}  "
      f"(moment matching predicts 0 and {mix_std:.3f});  KL = {fwd[-1, 2]:.3f}")
print(f"reverse KL fit: mu = {rev[-1, 0]:+.3f}, sigma = {rev[-1, 1]:.3f}  "
      f"(one mode is at +2.5 with std 0.6);  KL = {rev[-1, 2]:.3f}")
assert abs(fwd[-1, 0]) < 0.05 and abs(fwd[-1, 1] - mix_std) < 0.05
assert abs(rev[-1, 0] - 2.5) < 0.05 and abs(rev[-1, 1] - mode_std) < 0.05

# the library's discrete KL on the same grid agrees with the autograd objective
q_fit = np.exp(D.normal_logpdf(x_grid, fwd[-1, 0], fwd[-1, 1]))
assert np.isclose(D.kl_divergence(p_mix, q_fit, normalize=True), fwd[-1, 2], atol=1e-3)

# %% [markdown]
# To see the whole picture, evaluate both objectives on a grid of $(\mu, \sigma)$ — a brute-force
# search that needs no gradients — and overlay the paths that Adam took. The reverse-KL landscape
# has **two** valleys, one per mode: where you start decides which mode you collapse to.

# %%
mus = np.linspace(-4.5, 4.5, 91)
sigmas = np.linspace(0.3, 4.0, 75)
M, S = np.meshgrid(mus, sigmas)
lq_grid = D.normal_logpdf(x_grid[None, None, :], M[..., None], S[..., None])  # (75, 91, 1801)
fwd_map = np.sum(p_mix * (log_p - lq_grid), axis=-1) * dx
rev_map = np.sum(np.exp(lq_grid) * (lq_grid - log_p), axis=-1) * dx
i, j = np.unravel_index(np.argmin(rev_map), rev_map.shape)
print(f"grid search, reverse KL: best mu = {M[i, j]:+.2f}, sigma = {S[i, j]:.2f} "
      f"(its mirror at mu = {-M[i, j]:+.2f} is just as good)")

fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
ax = axes[0]
ax.fill_between(x_grid, p_mix, color="0.8", label="target p (two modes)")
ax.plot(x_grid, np.exp(D.normal_logpdf(x_grid, *fwd[-1, :2])), lw=2.5,
        label="argmin KL(p||q): mode covering")
ax.plot(x_grid, np.exp(D.normal_logpdf(x_grid, *rev[-1, :2])), lw=2.5,
        label="argmin KL(q||p): mode seeking")
ax.set(xlabel="x", ylabel="density", title="Fitting one Gaussian to two modes", xlim=(-7, 7))
ax.legend(fontsize=8, loc="upper left")
for ax, grid_map, path, name in ((axes[1], fwd_map, fwd, "forward KL(p||q)"),
                                 (axes[2], rev_map, rev, "reverse KL(q||p)")):
    cs = ax.contourf(M, S, np.log1p(grid_map), levels=30, cmap="viridis")
    ax.plot(path[:, 0], path[:, 1], color="w", lw=2)
    ax.plot(*path[-1, :2], "r*", ms=14)
    ax.set(xlabel="mu", ylabel="sigma", title=f"log(1 + {name}); Adam path in white")
    fig.colorbar(cs, ax=ax)
fig.tight_layout()
save_figure(fig, "02_forward_reverse_kl.png")
plt.show()

# %% [markdown]
# ## 3. The optimal discriminator and the value of the game
#
# The GAN value function (Goodfellow et al. 2014, Eq. 1) is
#
# $$V(G, D) = \mathbb E_{x \sim p_\text{data}}[\log D(x)] + \mathbb E_{x \sim p_g}[\log(1 - D(x))]
#           = \int p_\text{data}(x) \log D(x) + p_g(x) \log(1 - D(x))\, dx .$$
#
# For a fixed generator, the discriminator can choose $D(x)$ separately at every $x$. The function
# $y \mapsto a \log y + b \log(1 - y)$ on $(0, 1)$ is concave with its maximum where its derivative
# $a/y - b/(1-y)$ vanishes, at $y = a/(a+b)$. Hence (their Proposition 1)
#
# $$D^*(x) = \frac{p_\text{data}(x)}{p_\text{data}(x) + p_g(x)} .$$
#
# Substituting and writing $m = \tfrac12(p_\text{data} + p_g)$:
#
# $$V(G, D^*) = \int p_\text{data} \log \frac{p_\text{data}}{2m} + p_g \log \frac{p_g}{2m}
#   = -\log 4 + \mathrm{KL}(p_\text{data} \,\|\, m) + \mathrm{KL}(p_g \,\|\, m)
#   = -\log 4 + 2\,\mathrm{JS}(p_\text{data} \,\|\, p_g),$$
#
# which is their Theorem 1: against a perfect discriminator the generator minimizes the JS
# divergence, and the game's value reaches its minimum $-\log 4$ exactly when $p_g = p_\text{data}$.
# A discriminator trained with `d_minimax` minimizes $-V$, so its loss should approach
# $\log 4 - 2\,\mathrm{JS}$.
#
# First the numbers, for a two-peaked "data" distribution and a single Gaussian "generator".

# %%
x_d, dx_d = np.linspace(-5, 5, 2001, retstep=True)
data_modes, data_std = (-1.5, 1.5), 0.4
log_p_data = np.logaddexp(*[D.normal_logpdf(x_d, m, data_std) for m in data_modes]) - math.log(2)
log_p_g = D.normal_logpdf(x_d, 0.0, 1.0)
p_data, p_g = np.exp(log_p_data), np.exp(log_p_g)

d_star = D.optimal_discriminator(p_data, p_g)
js = D.js_divergence(p_data, p_g, normalize=True)
v_star = D.optimal_value(p_data, p_g, dx=dx_d, normalize=True)
print(f"JS(p_data || p_g)   = {js:.5f} nats")
print(f"V(G, D*)            = {v_star:.5f}")
print(f"-log 4 + 2 JS       = {-math.log(4) + 2 * js:.5f}")
assert np.isclose(v_star, -math.log(4) + 2 * js, atol=1e-9)

# any other discriminator does worse: try a few perturbations of D*
for eps in (0.2, 0.05, 0.01):
    bumped = np.clip(d_star + eps * np.sin(3 * x_d), 1e-12, 1 - 1e-12)
    value = D.gan_value(bumped, p_data, p_g, dx=dx_d, normalize=True)
    print(f"D* + {eps:4} sin(3x):  V = {value:.5f}")

# %% [markdown]
# ## 4. A trained discriminator finds D*
#
# Now no formulas: a small tinygan MLP sees only samples — fresh minibatches from $p_\text{data}$
# and from the fixed $p_g$ — and is trained with Adam on `d_minimax`, the discriminator's minimax
# loss computed from logits. Every so often we evaluate the *exact* value $V(G, D)$ of the current
# network by integrating on the grid (`gan_value(..., logits=True)`), which removes the minibatch
# noise. Theory says $V(G, D)$ climbs towards $-\log 4 + 2\,\mathrm{JS}$ from below, and the
# gap is $\int (p_\text{data} + p_g)\, \mathrm{KL}_\text{Bernoulli}(D^* \,\|\, D)\, dx \ge 0$.

# %%
def sample_data(n):
    return rng.choice(data_modes, n) + data_std * rng.standard_normal(n)


def sample_g(n):
    return rng.standard_normal(n)


disc = nn.Sequential(nn.Linear(1, 32), nn.Tanh(),    # (N, 32)
                     nn.Linear(32, 32), nn.Tanh(),   # (N, 32)
                     nn.Linear(32, 1))               # (N, 1): a logit
opt = Adam(disc.parameters(), lr=2e-3, betas=(0.5, 0.999))
X_D = tg.tensor(x_d[:, None])


def exact_value():
    with tg.no_grad():
        logits = disc(X_D).numpy()[:, 0]
    return D.gan_value(logits, p_data, p_g, dx=dx_d, logits=True, normalize=True), logits


d_steps = 500 if FAST else 4000
batch = 256
history = {"step": [], "exact": [], "batch": []}
for step in range(d_steps + 1):
    if step == int(0.75 * d_steps):
        opt.lr = 5e-4  # a smaller step at the end averages out minibatch noise
    real = tg.tensor(sample_data(batch)[:, None])
    fake = tg.tensor(sample_g(batch)[:, None])
    loss = d_minimax(disc(real), disc(fake))
    opt.zero_grad()
    loss.backward()
    opt.step()
    if step % 25 == 0:
        history["step"].append(step)
        history["batch"].append(-loss.item())
        history["exact"].append(exact_value()[0])

v_trained, logits = exact_value()
print(f"after {d_steps} steps: V(G, D_trained) = {v_trained:.4f}")
print(f"                  -log 4 + 2 JS      = {-math.log(4) + 2 * js:.4f}  (= V(G, D*))")
d_trained = F.sigmoid(tg.tensor(logits)).numpy()
mean_error = np.sum(0.5 * (p_data + p_g) * np.abs(d_trained - d_star)) * dx_d
print(f"gap = {v_star - v_trained:.4f} nats; "
      f"mean |D - D*| under (p_data + p_g)/2 = {mean_error:.3f}")
assert v_trained <= v_star + 1e-9          # nobody beats D*
assert v_star - v_trained < (0.05 if FAST else 0.01)

# %%
fig, axes = plt.subplots(1, 2, figsize=(13, 4.3))
ax = axes[0]
ax.fill_between(x_d, p_data, color="tab:blue", alpha=0.25, label="p_data")
ax.fill_between(x_d, p_g, color="tab:orange", alpha=0.25, label="p_g")
ax.plot(x_d, d_star, "k--", lw=2, label="D*(x) = p_data / (p_data + p_g)")
ax.plot(x_d, d_trained, color="tab:red", lw=2, label="trained D(x)")
ax.set(xlabel="x", ylabel="density / probability", xlim=(-4, 4), ylim=(0, 1.05),
       title="A tinygan discriminator converges to D*")
ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2)
ax = axes[1]
ax.plot(history["step"], history["batch"], color="0.75", lw=1, label="-loss on the minibatch")
ax.plot(history["step"], history["exact"], color="tab:red", lw=2, label="V(G, D), integrated")
ax.axhline(-math.log(4) + 2 * js, color="k", ls="--", label=f"-log 4 + 2 JS = {v_star:.3f}")
ax.axhline(-math.log(4), color="0.5", ls=":", label="-log 4 (p_g = p_data)")
ax.set(xlabel="discriminator step", ylabel="value", title="Its value approaches -log 4 + 2 JS",
       ylim=(-1.45, -0.8))
ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2)
fig.tight_layout()
save_figure(fig, "02_optimal_discriminator.png")
plt.show()

# %% [markdown]
# Where the two distributions have mass, the trained $D$ lies on top of $D^*$. Far out in the
# tails it does not — and it need not: $V$ weighs $D(x)$ by $p_\text{data}(x)$ and $p_g(x)$, so
# where both are negligible no choice of $D$ changes the value and no minibatch ever asks. The
# remaining gap in value is a few thousandths of a nat in the full run; a longer run with a
# decaying learning rate shrinks it further.

# %% [markdown]
# ## 5. When JS goes flat: sliding two narrow Gaussians apart
#
# The generator's job is to follow the gradient of $\mathrm{JS}(p_\text{data} \,\|\, p_g)$.
# Take $p = \mathcal N(0, 0.1^2)$ and $q_d = \mathcal N(d, 0.1^2)$ and slide $q$ away. Once the two
# barely overlap, $D^*$ is 1 on one and 0 on the other and JS is pinned at its ceiling
# $\log 2$ — whatever the distance. A flat loss has zero gradient: the generator gets no signal
# about which way to move.
#
# KL does *not* have this problem here: for two Gaussians of equal width,
# $\mathrm{KL} = d^2 / (2 \cdot 0.1^2) = d^2/0.02$, finite for every $d$, with a gradient $d/0.01$
# that *grows* as they separate. KL breaks in a different case: when the supports are truly
# disjoint (as for distributions on low-dimensional manifolds in a high-dimensional space,
# Arjovsky & Bottou 2017) it is $+\infty$ and has no useful gradient at all; and a GAN never
# sees it directly, only through a discriminator.
#
# The Wasserstein-1 distance — the least average distance mass must travel to turn $q$ into
# $p$ — is simply $|d|$ here: it keeps growing, and its gradient never vanishes. That is the
# argument of Arjovsky et al. 2017 for the WGAN. We compute $\mathrm{JS}(d)$ with tinygan ops so
# that autograd gives $\partial\,\mathrm{JS} / \partial d$, working in log space
# ($\log m = \operatorname{logsumexp}(\log p, \log q) - \log 2$) so tails do not underflow.

# %%
x_s, dx_s = np.linspace(-1.5, 5.5, 14001, retstep=True)
narrow = 0.1
log_p0 = D.normal_logpdf(x_s, 0.0, narrow)
LP0, XS = tg.tensor(log_p0, dtype=tg.float64), tg.tensor(x_s, dtype=tg.float64)


def js_of_shift(d):
    """JS(N(0, s^2) || N(d, s^2)) on the grid, differentiable in the shift d."""
    lq = -0.5 * ((XS - d) / narrow) ** 2 - math.log(narrow) - 0.5 * math.log(2 * math.pi)
    lm = F.logsumexp(tg.stack([LP0, lq]), axis=0) - math.log(2)
    return 0.5 * dx_s * ((LP0.exp() * (LP0 - lm)).sum() + (lq.exp() * (lq - lm)).sum())


shifts = np.linspace(0.0, 4.0, 41 if FAST else 161)
js_curve, js_grad = [], []
for s in shifts:
    d = tg.tensor(s, requires_grad=True, dtype=tg.float64)
    value = js_of_shift(d)
    (g,) = tg.grad(value, [d])
    js_curve.append(value.item())
    js_grad.append(g.item())
js_curve, js_grad = np.array(js_curve), np.array(js_grad)

# cross-check against the library on one shift
p0, q1 = np.exp(log_p0), np.exp(D.normal_logpdf(x_s, 1.0, narrow))
assert np.isclose(js_of_shift(tg.tensor(1.0, dtype=tg.float64)).item(),
                  D.js_divergence(p0, q1, normalize=True), atol=1e-9)

# and from samples: the binned JS (as the 1D GAN trainer measures it) and W1 between samples
n_samples = 2000 if FAST else 20000
sample_shifts = np.linspace(0.0, 4.0, 9)
base = rng.normal(0.0, narrow, n_samples)
js_samples = [D.js_from_samples(base, rng.normal(s, narrow, n_samples), bins=200)
              for s in sample_shifts]
w1_samples = [D.wasserstein1(base, rng.normal(s, narrow, n_samples)) for s in sample_shifts]

for s in (0.1, 0.3, 0.5, 1.0, 2.0):
    k = np.argmin(np.abs(shifts - s))
    print(f"d = {s:3.1f}:  JS = {js_curve[k]:.6f} nats  dJS/dd = {js_grad[k]:.2e}   W1 = {s:.1f}  "
          f"dW1/dd = 1")

fig, axes = plt.subplots(1, 2, figsize=(13, 4.3))
ax = axes[0]
ax.plot(shifts, js_curve, lw=2.5, label="JS(p || q_d)")
ax.plot(sample_shifts, js_samples, "o", color="tab:blue", mfc="none",
        label="JS from samples (binned)")
ax.axhline(math.log(2), color="tab:blue", ls=":", label="log 2")
ax.set(xlabel="shift d between N(0, 0.1^2) and N(d, 0.1^2)", ylim=(0, 0.75),
       title="JS saturates at log 2; Wasserstein keeps growing")
ax.set_ylabel("JS (nats)", color="tab:blue")
ax_w = ax.twinx()  # W1 is a distance in units of x, not nats: its own axis
ax_w.plot(shifts, np.abs(shifts), lw=2.5, color="tab:green", label="W1(p, q_d) = |d|")
ax_w.plot(sample_shifts, w1_samples, "s", color="tab:green", mfc="none", label="W1 from samples")
ax_w.set_ylim(0, 4.2)
ax_w.set_ylabel("W1 (units of x)", color="tab:green")
lines = ax.get_legend_handles_labels()
lines_w = ax_w.get_legend_handles_labels()
ax.legend(lines[0] + lines_w[0], lines[1] + lines_w[1], fontsize=8, loc="center right")
ax = axes[1]
ax.semilogy(shifts[1:], np.abs(js_grad[1:]) + 1e-300, lw=2.5,
            label="|dJS/dd| (tinygan autograd), nats per unit of x")
ax.axhspan(1e-20, 1e-15, color="0.9", label="float64 round-off")
ax.semilogy(shifts, np.ones_like(shifts), lw=2.5, color="tab:green", label="|dW1/dd| = 1")
ax.semilogy(shifts[1:], shifts[1:] / narrow ** 2, lw=1.5, ls="--", color="tab:purple",
            label="|dKL/dd| = d / 0.01 (for contrast)")
ax.set(xlabel="shift d", ylabel="gradient magnitude", ylim=(1e-20, 1e4),
       title="The generator's learning signal")
ax.legend(fontsize=8)
fig.tight_layout()
save_figure(fig, "02_js_vs_wasserstein.png")
plt.show()

# %% [markdown]
# ## Summary
#
# * $\mathrm{KL}(p\,\|\,q) \ge 0$, zero only when $p = q$, **not symmetric**, and infinite when $q$
#   misses mass that $p$ has. $\mathrm{JS}$ is symmetric, finite, between $0$ and $\log 2$, and
#   $\sqrt{\mathrm{JS}}$ is a metric.
# * Forward KL is mode covering, reverse KL is mode seeking: a model that minimizes something
#   like the reverse KL can be content with one mode. That is what the divergence prefers; the
#   NIPS 2016 tutorial argues that GANs collapse mainly for other reasons (their training
#   procedure), since they collapse even with a maximum-likelihood cost.
# * For a fixed generator the best discriminator is $D^* = p_\text{data} / (p_\text{data} + p_g)$,
#   and at that discriminator the GAN value is $-\log 4 + 2\,\mathrm{JS}(p_\text{data}\,\|\,p_g)$.
#   A tinygan MLP trained on samples only got within a few thousandths of a nat of it.
# * When data and generator do not overlap, JS is stuck at $\log 2$ and its gradient vanishes;
#   the Wasserstein distance still measures how far apart they are — hence WGAN. (For these
#   overlapping Gaussians KL keeps a growing gradient; it fails only on truly disjoint supports.)
# * Property-based tests turn each of these claims into a law that hypothesis attacks with many
#   generated inputs; `tests/test_divergences.py` holds the full set.
#
# ## Exercises
#
# 1. Start the reverse-KL fit at $\mu_0 = -0.8$. Which mode does it find? Where is the boundary
#    between the two basins of attraction? Then make the mixture unequal (weights 0.7/0.3): does
#    reverse KL still pick either mode?
# 2. Move the modes closer (±1 with std 0.6). At what separation does the reverse-KL fit stop
#    picking one mode and sit in the middle?
# 3. Write a hypothesis test for the *chain rule* of KL:
#    $\mathrm{KL}(p_1 p_2 \,\|\, q_1 q_2) = \mathrm{KL}(p_1\,\|\,q_1) + \mathrm{KL}(p_2\,\|\,q_2)$
#    for product distributions (`np.outer`). What tolerance do you need, and why?
# 4. Train the discriminator of section 4 with `LeakyReLU` instead of `Tanh`, or with a smaller
#    width (8). How close does $V(G, D)$ get to $-\log 4 + 2\,\mathrm{JS}$ now? Where on the
#    $x$ axis does the trained $D$ differ most from $D^*$, and why there?
# 5. In section 5, replace the narrow Gaussians by std 1. Does JS still saturate? How does the
#    size of the gradient at $d = 2$ change — and what does that suggest about adding noise to
#    both data and samples ("instance noise")?
# 6. `js_from_samples` is biased upward: two samples from the *same* distribution give JS > 0.
#    Measure the bias as a function of the number of bins and of samples.
