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
# # Lesson 4 — The xy game: why gradient play circles, and what fixes it
#
# **Running it.** Fast mode: set `TINYGAN_FAST=1` before starting Jupyter (coarser scans and
# a smaller animation). Full mode, the default, takes about 40 seconds on a 2-core CPU.
#
# **Goals.** By the end you will be able to
# 1. explain why a GAN looks for a *Nash equilibrium* (a saddle point), not a minimum, and why
#    plain gradient descent–ascent circles around it instead of converging;
# 2. run six update rules on any differentiable game with `tinygan.games` and read their
#    trajectories;
# 3. predict each rule's fate from the eigenvalues of the Jacobian of **one update step**, which
#    the engine computes by differentiating the update itself (`create_graph=True`);
# 4. reproduce the *Dirac-GAN* of Mescheder, Geiger & Nowozin (2018) and see why an R1 gradient
#    penalty or instance noise makes it converge.
#
# **Prerequisites.** Lesson 1 (gradients of gradients with `create_graph=True`); eigenvalues of a
# 2×2 matrix; complex numbers in polar form.
#
# **Reading along.** `tinygan/games.py` holds the update rules, `step_jacobian`,
# `field_jacobian` and `dirac_gan`. Every gradient in it is taken by `tg.grad`; nothing is
# derived by hand.

# %%
import numpy as np
import matplotlib.pyplot as plt
from matplotlib.animation import FuncAnimation

import tinygan as tg
from tinygan import games
from tinygan.viz import is_fast, save_animation, save_figure

FAST = is_fast()
DPI = 60 if FAST else 110
print("fast mode" if FAST else "full mode")

# %% [markdown]
# ## 1. A game, not a loss
#
# A GAN has two players. The discriminator wants to *raise* a value $V$, the generator wants to
# *lower* it. The smallest game with that shape is
#
# $$\min_x \max_y\; V(x, y) = x\,y .$$
#
# The point $(0, 0)$ is an equilibrium: if $x = 0$ then $V = 0$ whatever $y$ does, and vice versa,
# so neither player can gain by moving alone. But it is a *saddle* of $V$, not a minimum, and
# there is no single loss that both players are descending.
#
# Each player follows its own gradient: $x$ moves along $-\partial V/\partial x = -y$, $y$ moves
# along $+\partial V/\partial y = x$. The field $v(x, y) = (-y,\, x)$ is a pure rotation: it
# is perpendicular to the position everywhere, so even with infinitely small steps
# ($\dot x = -y,\ \dot y = x$) the players circle at a constant distance
# ($\tfrac{d}{dt}(x^2 + y^2) = -2xy + 2yx = 0$). Whatever happens with finite steps is then
# decided by the small errors of the discretisation — which is the whole story of this lesson.
#
# `tinygan.games.partials` asks the engine for both partial derivatives:

# %%
x, y = tg.tensor(1.5, dtype=tg.float64), tg.tensor(-0.5, dtype=tg.float64)
gx, gy = games.partials(games.xy, x, y)
print(f"dV/dx = {gx.item():+.2f} (= y)    dV/dy = {gy.item():+.2f} (= x)")
assert gx.item() == y.item() and gy.item() == x.item()

# %% [markdown]
# ## 2. Six update rules
#
# With step size $\eta$ and $z = (x, y)$ (the first player descends, the second ascends):
#
# | rule | update | gradients per step |
# |---|---|---|
# | simultaneous | $x' = x - \eta\,\partial_x V(x,y)$, $\;y' = y + \eta\,\partial_y V(x,y)$ | 1 |
# | alternating | $x' = x - \eta\,\partial_x V(x,y)$, then $y' = y + \eta\,\partial_y V(x',y)$ | 1 (two halves) |
# | extragradient | look ahead with a simultaneous step to $z_{1/2}$, then step from $z$ with the gradient at $z_{1/2}$ | 2 |
# | optimistic | $z' = z - 2\eta F(z) + \eta F(z_{\text{prev}})$, $F = (\partial_x V, -\partial_y V)$ (Daskalakis et al., 2018) | 1 (+ the last one) |
# | negative momentum | alternating steps plus $\beta\,(z - z_{\text{prev}})$ with $\beta < 0$ (Gidel et al., 2019) | 1 |
# | consensus | descend $V + \gamma L$ / ascend $V - \gamma L$ with $L = \tfrac12\lVert\nabla V\rVert^2$ (Mescheder et al., 2017) | gradient of a gradient |
#
# Optimistic and negative momentum remember the previous iterate, so their *state* is four
# numbers $(x, y, x_{\text{prev}}, y_{\text{prev}})$; they start with $z_{\text{prev}} = z_0$.
# Consensus optimisation needs $\nabla L$, the gradient of a squared gradient norm: the engine
# gets it with `create_graph=True` on the inner gradient.
#
# Run each rule for 1,000 steps from $(1, 1)$ with $\eta = 0.1$ (the defaults are $\beta = -0.5$
# and $\gamma = 1$) and measure the distance to the equilibrium:

# %%
ETA, STEPS = 0.1, 1000
runs = {m: games.play(games.xy, 1.0, 1.0, m, lr=ETA, steps=STEPS) for m in games.METHODS}
final = {m: games.distance(traj)[-1] for m, traj in runs.items()}

print(f"distance to (0, 0) after {STEPS} steps from (1, 1), eta = {ETA}")
print(f"{'method':<20}{'distance':>14}")
for m, d in final.items():
    print(f"{m:<20}{d:>14.6g}")

assert final["simultaneous"] > 100
assert abs(final["alternating"] - 1.4) < 0.1
assert final["extragradient"] < 0.02 and final["optimistic"] < 0.02

# %% [markdown]
# Simultaneous play ends more than a hundred times further away than it started; alternating
# play is still at about $\sqrt 2$; extragradient and optimistic have nearly arrived; negative
# momentum is on its way (slowly, at this step size) and consensus is there to machine precision.
#
# The coordinates over time show *how*: every method oscillates — the game rotates — and
# the methods differ only in what happens to the amplitude. $x\cdot y$ is the value of the game
# along the way; under simultaneous play it swings between ever larger gains and losses.

# %%
COLORS = dict(zip(games.METHODS, plt.cm.tab10.colors))
fig, axes = plt.subplots(2, 3, figsize=(13, 6.5), sharex=True)
t = np.arange(STEPS + 1)
for ax, (m, traj) in zip(axes.flat, runs.items()):
    ax.plot(t, traj[:, 0], lw=1, label="x(t)")
    ax.plot(t, traj[:, 1], lw=1, label="y(t)")
    ax.plot(t, traj[:, 0] * traj[:, 1], lw=1, color="k", alpha=0.6, label="x·y(t)")
    ax.set_title(f"{m}: |z| = {final[m]:.3g} at t = {STEPS}", fontsize=10)
    ax.axhline(0, color="gray", lw=0.5)
for ax in axes[1]:
    ax.set_xlabel("step t")
axes[0, 0].legend(loc="upper left", fontsize=8)
fig.suptitle(f"V = xy, η = {ETA}, start (1, 1)")
fig.tight_layout()
save_figure(fig, "04_xy_curves.png", dpi=DPI)

# %% [markdown]
# In the plane, the same runs are paths through the rotating field $v = (-y, x)$. A larger step
# ($\eta = 0.2$, 150 steps) makes the spirals easier to see. The arrows are the field computed
# by the engine: `partials` of $\sum x_i y_i$ on a whole grid at once.

# %%
def xy_field(lim, n=21):
    gxs, gys = np.meshgrid(np.linspace(-lim, lim, n), np.linspace(-lim, lim, n))
    dx, dy = games.partials(games.xy, tg.tensor(gxs, dtype=tg.float64),
                            tg.tensor(gys, dtype=tg.float64))
    return gxs, gys, -dx.numpy(), dy.numpy()      # x descends, y ascends

PH_ETA, PH_STEPS, LIM = 0.2, 150, 3.0
phase = {m: games.play(games.xy, 1.0, 1.0, m, lr=PH_ETA, steps=PH_STEPS) for m in games.METHODS}
fig, axes = plt.subplots(2, 3, figsize=(12, 8))
for ax, (m, traj) in zip(axes.flat, phase.items()):
    ax.streamplot(*xy_field(LIM), color="0.8", density=0.8, linewidth=0.7)
    ax.plot(traj[:, 0], traj[:, 1], color=COLORS[m], lw=1.2)
    ax.plot(*traj[0], "ko", ms=4)
    ax.plot(0, 0, "r*", ms=10)
    ax.set(xlim=(-LIM, LIM), ylim=(-LIM, LIM), aspect="equal", title=m, xlabel="x", ylabel="y")
fig.suptitle(f"Trajectories over the vector field (η = {PH_ETA}, {PH_STEPS} steps from (1, 1))")
fig.tight_layout()
save_figure(fig, "04_xy_phase.png", dpi=DPI)

# %% [markdown]
# ## 3. Linear analysis: the Jacobian of one step
#
# Every rule maps a state $s$ to the next one, $s' = T(s)$. Near an equilibrium $s^*$ the
# error obeys $s' - s^* \approx J\,(s - s^*)$ with $J = \partial T/\partial s$, so after $t$
# steps it behaves like $J^t$: it grows if the **spectral radius** $\rho(J)$ (the largest
# eigenvalue modulus) exceeds 1, shrinks if $\rho < 1$, and neither if $\rho = 1$ with
# well-behaved eigenvalues.
#
# `games.step_jacobian` builds one update with `create_graph=True` — so each new coordinate is a
# differentiable function of the old state — and asks the engine for its derivative row by row.
# For $V = xy$ the rules are linear, so $J$ is the same everywhere, and we can derive it by hand
# to check the engine:
#
# * **simultaneous**: $x' = x - \eta y$, $y' = y + \eta x$, so $J = \begin{pmatrix}1 & -\eta\\ \eta & 1\end{pmatrix}$,
#   eigenvalues $1 \pm i\eta$, $\rho = \sqrt{1 + \eta^2} > 1$ for *every* $\eta > 0$. Each step
#   rotates and stretches by exactly that factor: $\sqrt 2 \cdot 1.01^{500} \approx 205$ after
#   1,000 steps.
# * **alternating**: $y' = y + \eta x' = y + \eta x - \eta^2 y$, so
#   $J = \begin{pmatrix}1 & -\eta\\ \eta & 1-\eta^2\end{pmatrix}$: determinant 1, trace $2 - \eta^2$.
#   For $\eta < 2$ the eigenvalues are a complex pair with product 1, hence both of modulus
#   exactly 1. Better still, $Q = x^2 + y^2 - \eta xy$ is conserved ($x'x + y^2$ equals both $Q$ and
#   $Q'$), so the iterates stay on an ellipse forever.
# * **extragradient**: $z' = z - \eta A(z - \eta A z)$ with $A = \begin{pmatrix}0 & 1\\ -1 & 0\end{pmatrix}$
#   and $A^2 = -I$, so $J = (1 - \eta^2) I - \eta A$: eigenvalues $1 - \eta^2 \pm i\eta$,
#   $\rho = \sqrt{1 - \eta^2 + \eta^4} < 1$ for $0 < \eta < 1$.
# * **consensus**: $L = \tfrac12(x^2 + y^2)$, so $J = (1 - \eta\gamma) I - \eta A$ and
#   $\rho = \sqrt{(1 - \eta\gamma)^2 + \eta^2}$: the extra term is a pull towards the origin.

# %%
def J(method, eta, **options):
    return games.step_jacobian(games.xy, 0.0, 0.0, method, lr=eta, **options)

eta = 0.3
checks = {
    "simultaneous": np.array([[1, -eta], [eta, 1]]),
    "alternating": np.array([[1, -eta], [eta, 1 - eta ** 2]]),
    "extragradient": np.array([[1 - eta ** 2, -eta], [eta, 1 - eta ** 2]]),
    "consensus": np.array([[1 - eta, -eta], [eta, 1 - eta]]),
}
for m, by_hand in checks.items():
    assert np.allclose(J(m, eta), by_hand), m
print("the engine's step Jacobians equal the hand-derived matrices at eta =", eta)
print(f"simultaneous  rho = {games.spectral_radius(J('simultaneous', eta)):.6f}"
      f"   sqrt(1+eta^2)         = {np.sqrt(1 + eta**2):.6f}")
print(f"alternating   rho = {games.spectral_radius(J('alternating', eta)):.6f}")
print(f"extragradient rho = {games.spectral_radius(J('extragradient', eta)):.6f}"
      f"   sqrt(1-eta^2+eta^4)   = {np.sqrt(1 - eta**2 + eta**4):.6f}")

# %% [markdown]
# **Optimistic** play needs the previous gradient, so its state is
# $s = (z, z_{\text{prev}})$ and its step is $z' = (I - 2\eta A) z + \eta A z_{\text{prev}}$,
# $z_{\text{prev}}' = z$ — a 4×4 Jacobian. For an eigenvector of $A$ with eigenvalue $a$
# ($a = \pm i$) look for $z_t = \lambda^t u$: this gives the characteristic polynomial
#
# $$\lambda^2 - (1 - 2\eta a)\lambda - \eta a = 0, \qquad
#   \lambda = \tfrac12\left(1 - 2\eta a \pm \sqrt{1 - 4\eta^2}\right)$$
#
# (the discriminant simplifies because $a^2 = -1$). For $\eta < \tfrac12$ the larger root has
# $|\lambda|^2 = \tfrac12\bigl(1 + \sqrt{1 - 4\eta^2}\bigr) < 1$: optimistic play converges, at
# about the same rate as extragradient, with half the gradient evaluations. For $\eta > \tfrac12$
# the root is $\tfrac12(1 - i(2\eta + \sqrt{4\eta^2 - 1}))$ and its modulus reaches 1 at
# $\eta = 1/\sqrt 3 \approx 0.577$; beyond that optimistic play diverges too.
#
# **Negative momentum** (alternating updates with heavy-ball momentum $\beta$) is also a 4×4
# step. Its eigenvalues have no tidy closed form, so we let the engine and `numpy.linalg.eigvals`
# speak: $\beta = 0$ is plain alternating play ($\rho = 1$), a positive $\beta$ pushes $\rho$ above
# 1, and a negative one below. Scanning $\eta$ numerically, with $\beta = -0.5$ it converges for
# $\eta$ up to about $1 = 2(1 + \beta)$.

# %%
J_opt = J("optimistic", eta)
print("optimistic step Jacobian (state x, y, x_prev, y_prev):\n", J_opt.round(3) + 0.0)
rho_opt = games.spectral_radius(J_opt)
print(f"optimistic rho = {rho_opt:.6f}   sqrt((1+sqrt(1-4eta^2))/2) = "
      f"{np.sqrt((1 + np.sqrt(1 - 4 * eta**2)) / 2):.6f}")
assert np.isclose(rho_opt, np.sqrt((1 + np.sqrt(1 - 4 * eta ** 2)) / 2))
for beta in (0.3, 0.0, -0.5):
    print(f"alternating + momentum {beta:+.1f}: rho = "
          f"{games.spectral_radius(J('negative_momentum', eta, momentum=beta)):.6f}")

# %% [markdown]
# The picture: each method's eigenvalues on the complex plane against the unit circle (left,
# at $\eta = 0.3$ so that they separate; the middle panel enlarges the crowded corner where
# four methods' eigenvalues lie close together), and the spectral radius as a function of
# $\eta$ (right: the engine's numbers as dots, the closed forms as lines).

# %%
etas = np.linspace(0.02, 1.2, 12 if FAST else 60)
closed = {
    "simultaneous": np.sqrt(1 + etas ** 2),
    "alternating": np.where(etas < 2, 1.0, np.nan),
    "extragradient": np.sqrt(1 - etas ** 2 + etas ** 4),
    "consensus": np.sqrt((1 - etas) ** 2 + etas ** 2),
}
fig, (ax1, ax_zoom, ax2) = plt.subplots(1, 3, figsize=(17, 5.2),
                                        gridspec_kw={"width_ratios": [1.15, 0.85, 1.2]})
circle = np.linspace(0, 2 * np.pi, 400)
ZOOM = (0.86, 1.03, 0.17, 0.33)   # the corner where four methods' eigenvalues crowd
for ax in (ax1, ax_zoom):
    ax.plot(np.cos(circle), np.sin(circle), color="gray", lw=1, label="unit circle")
    for k, m in enumerate(games.METHODS):
        ev = np.linalg.eigvals(J(m, eta))
        # hollow markers of decreasing size: one drawn over another still shows both
        marker = "os^Dvx"[k]
        face = ({"color": COLORS[m]} if marker == "x"   # "x" has no face to leave hollow
                else {"facecolors": "none", "edgecolors": COLORS[m]})
        ax.scatter(ev.real, ev.imag, s=150 - 20 * k, linewidths=1.8, marker=marker, label=m,
                   zorder=3, **face)
ax1.add_patch(plt.Rectangle(ZOOM[::2], ZOOM[1] - ZOOM[0], ZOOM[3] - ZOOM[2], fill=False,
                            ls="--", lw=0.8, color="k"))
ax1.set(aspect="equal", xlabel="Re λ", ylabel="Im λ", xlim=(-0.75, 1.35), ylim=(-0.75, 0.75),
        title=f"Eigenvalues of one step's Jacobian, η = {eta}")
ax1.legend(fontsize=8, loc="lower left")
ax_zoom.set(aspect="equal", xlim=ZOOM[:2], ylim=ZOOM[2:], xlabel="Re λ",
            title="the dashed box, enlarged")
for m in games.METHODS:
    rhos = [games.spectral_radius(J(m, float(e))) for e in etas]
    ax2.plot(etas, rhos, "o", ms=3, color=COLORS[m], label=m)
    if m in closed:
        ax2.plot(etas, closed[m], "-", lw=1, color=COLORS[m])
opt_closed = [max(abs(r) for a in (1j, -1j) for r in np.roots([1, -(1 - 2 * e * a), -e * a]))
              for e in etas]
ax2.plot(etas, opt_closed, "-", lw=1, color=COLORS["optimistic"])
ax2.plot([], [], "ko", ms=3, label="dots: the engine")
ax2.plot([], [], "k-", lw=1, label="lines: closed form")
ax2.axhline(1, color="k", lw=0.8, ls="--")
ax2.axvline(1 / np.sqrt(3), color=COLORS["optimistic"], lw=0.6, ls=":")
ax2.set(xlabel="step size η", ylabel="spectral radius ρ", ylim=(0.4, 1.6),
        title="ρ > 1 grows, ρ = 1 orbits, ρ < 1 converges")
ax2.legend(fontsize=7, ncol=2, loc="lower left")
fig.tight_layout()
save_figure(fig, "04_xy_eigenvalues.png", dpi=DPI)

# %% [markdown]
# ## 4. An animation
#
# All six rules from the same start, $\eta = 0.2$: watch the blue point spiral away, the orange
# one go round and round on its ellipse, and the others wind in. (In fast mode the GIF is tiny.)

# %%
frames = range(0, PH_STEPS + 1, 15 if FAST else 2)
fig, ax = plt.subplots(figsize=(6, 6))
ax.streamplot(*xy_field(LIM), color="0.85", density=0.7, linewidth=0.6)
ax.plot(0, 0, "r*", ms=10)
trails, heads = {}, {}
for m in games.METHODS:
    trails[m], = ax.plot([], [], color=COLORS[m], lw=1, alpha=0.7)
    heads[m], = ax.plot([], [], "o", color=COLORS[m], ms=6, label=m)
ax.set(xlim=(-LIM, LIM), ylim=(-LIM, LIM), aspect="equal", xlabel="x", ylabel="y")
ax.legend(fontsize=7, loc="upper left")
title = ax.set_title("")

def draw(k):
    for m, traj in phase.items():
        trails[m].set_data(traj[:k + 1, 0], traj[:k + 1, 1])
        heads[m].set_data([traj[k, 0]], [traj[k, 1]])
    title.set_text(f"step {k}  (η = {PH_ETA})")
    return [*trails.values(), *heads.values(), title]

anim = FuncAnimation(fig, draw, frames=frames, blit=False)
save_animation(anim, "04_xy_animation.gif", fps=15, dpi=40 if FAST else 85)
plt.close(fig)

# %% [markdown]
# ## 5. The Dirac-GAN
#
# Mescheder, Geiger & Nowozin (2018, *Which Training Methods for GANs do actually Converge?*)
# boiled a GAN down to two numbers. The data is a single point at 0; the generator produces the
# single point $\theta$; the discriminator is linear, $D_\psi(x) = \psi x$. With their training
# objective and $f(t) = -\log(1 + e^{-t})$ (the original GAN),
#
# $$V(\theta, \psi) = f(\psi\theta) + f(0),$$
#
# which the generator ($\theta$) lowers and the discriminator ($\psi$) raises. The equilibrium is
# $(\theta, \psi) = (0, 0)$. The gradient vector field is
# $v = (-\psi f'(\psi\theta),\ \theta f'(\psi\theta))$ and its Jacobian at the equilibrium is
# $\begin{pmatrix}0 & -f'(0)\\ f'(0) & 0\end{pmatrix}$ with eigenvalues $\pm f'(0)\,i$ — purely
# imaginary, exactly the xy game again. For this $f$, $f'(t) = 1/(1 + e^{t})$, so $f'(0) = \tfrac12$
# and the eigenvalues are $\pm i/2$. `games.field_jacobian` gets them with two engine gradients:

# %%
t0 = tg.tensor(0.0, dtype=tg.float64, requires_grad=True)
f_prime_0, = tg.grad(tg.functional.log_sigmoid(t0), [t0])   # f(t) = -log(1+e^-t) = log σ(t)
print("f'(0) =", f_prime_0.item())
Jv = games.field_jacobian(games.dirac_gan(), 0.0, 0.0)
print("Jacobian of the vector field at (0, 0):\n", Jv)
print("eigenvalues:", np.linalg.eigvals(Jv))
assert np.allclose(np.sort_complex(np.linalg.eigvals(Jv)), [-0.5j, 0.5j])

# %% [markdown]
# **R1 penalty.** Mescheder et al. penalise the discriminator's gradient on real data,
# $R_1(\psi) = \tfrac{\gamma}{2}\,\mathbb E_{x\sim p_D}\lVert\nabla_x D_\psi(x)\rVert^2 = \tfrac\gamma2\psi^2$.
# `dirac_gan(gamma=...)` computes $\nabla_x D_\psi$ with `tg.grad(..., create_graph=True)` and
# subtracts the penalty from the discriminator's objective, so the vector field's Jacobian picks
# up a $-\gamma$ in the corner: $\begin{pmatrix}0 & -\tfrac12\\ \tfrac12 & -\gamma\end{pmatrix}$,
# with eigenvalues $-\tfrac\gamma2 \pm \sqrt{\gamma^2/4 - 1/4}$. Their real parts are negative for
# any $\gamma > 0$: the rotation has become a damped one (critically damped at $\gamma = 1$).
#
# **Instance noise.** Adding $\mathcal N(0, \sigma^2)$ noise to real and fake samples gives, by
# the same computation (now with $f''(0) = -\tfrac14$), eigenvalues
# $\sigma^2 f''(0) \pm \sqrt{\sigma^4 f''(0)^2 - f'(0)^2}$ (Mescheder et al., 2018). `dirac_gan`
# takes the expectation over the noise with Gauss–Hermite quadrature, so $V$ stays
# deterministic and the engine can differentiate it exactly.

# %%
for gamma in (0.3, 1.0, 2.0):
    Jg = games.field_jacobian(games.dirac_gan(gamma=gamma), 0.0, 0.0)
    ev = np.sort_complex(np.linalg.eigvals(Jg))
    root = np.sqrt(complex(gamma ** 2 / 4 - 1 / 4))
    expected = np.sort_complex(np.array([-gamma / 2 + root, -gamma / 2 - root]))
    print(f"R1 gamma = {gamma}: engine {np.round(ev, 6)}   formula {np.round(expected, 6)}")
    assert np.allclose(ev, expected)
for sigma in (0.5, 1.0):
    Js = games.field_jacobian(games.dirac_gan(noise_std=sigma), 0.0, 0.0)
    ev = np.sort_complex(np.linalg.eigvals(Js))
    root = np.sqrt(complex(sigma ** 4 / 16 - 1 / 4))
    expected = np.sort_complex(np.array([-sigma ** 2 / 4 + root, -sigma ** 2 / 4 - root]))
    print(f"noise sigma = {sigma}: engine {np.round(ev, 6)}   formula {np.round(expected, 6)}")
    assert np.allclose(ev, expected)

# %% [markdown]
# Now train it. Without regularisation, simultaneous steps spiral slowly outwards (one step's
# Jacobian $I + \eta v'$ has eigenvalues $1 \pm i\eta/2$, modulus $\sqrt{1 + \eta^2/4} > 1$) and
# alternating steps keep circling; with R1 ($\gamma = 1$) or instance noise ($\sigma = 1$) both
# converge to the equilibrium.

# %%
D_ETA, D_STEPS = 0.1, (300 if FAST else 1000)
dirac_runs = {
    "simultaneous": (games.dirac_gan(), "simultaneous"),
    "alternating": (games.dirac_gan(), "alternating"),
    "simultaneous + R1 (γ = 1)": (games.dirac_gan(gamma=1.0), "simultaneous"),
    "simultaneous + noise (σ = 1)": (games.dirac_gan(noise_std=1.0), "simultaneous"),
}
dirac_traj = {name: games.play(V, 1.0, 1.0, m, lr=D_ETA, steps=D_STEPS)
              for name, (V, m) in dirac_runs.items()}
for name, traj in dirac_traj.items():
    print(f"{name:<30} distance after {D_STEPS} steps: {games.distance(traj)[-1]:.3g}")


def field_grid(V, lim, n=17):
    th, ps = np.meshgrid(np.linspace(-lim, lim, n), np.linspace(-lim, lim, n))
    u, w = np.zeros_like(th), np.zeros_like(ps)
    for idx in np.ndindex(th.shape):
        gth, gps = games.partials(V, tg.tensor(th[idx], dtype=tg.float64),
                                  tg.tensor(ps[idx], dtype=tg.float64))
        u[idx], w[idx] = -gth.item(), gps.item()
    return th, ps, u, w


D_LIM = 3.0
fig = plt.figure(figsize=(14, 7))
grid = fig.add_gridspec(2, 4, height_ratios=[1.2, 1])
for k, (name, traj) in enumerate(dirac_traj.items()):
    ax = fig.add_subplot(grid[0, k])
    ax.streamplot(*field_grid(dirac_runs[name][0], D_LIM, 9 if FAST else 17), color="0.8",
                  density=0.7, linewidth=0.6)
    ax.plot(traj[:, 0], traj[:, 1], color=f"C{k}", lw=1)
    ax.plot(*traj[0], "ko", ms=4)
    ax.plot(0, 0, "r*", ms=10)
    ax.set(xlim=(-D_LIM, D_LIM), ylim=(-D_LIM, D_LIM), aspect="equal", title=name,
           xlabel="generator θ", ylabel="discriminator ψ")
    ax.title.set_fontsize(9)
ax = fig.add_subplot(grid[1, :])
for k, (name, traj) in enumerate(dirac_traj.items()):
    ax.semilogy(games.distance(traj), color=f"C{k}", label=name)
ax.set(xlabel="step", ylabel="distance to (0, 0)", title=f"Dirac-GAN, η = {D_ETA}")
ax.legend(fontsize=8)
fig.tight_layout()
save_figure(fig, "04_dirac_gan.png", dpi=DPI)

# %% [markdown]
# ## Summary
#
# - A GAN looks for a saddle point of a game. Near it, the gradient field of a zero-sum game can
#   be a pure rotation (the xy game, the Dirac-GAN): there is nothing to descend.
# - What finite steps do to that rotation is read off one step's Jacobian, which the engine
#   computes by differentiating the update (`create_graph=True`): $\rho > 1$ spirals out
#   (simultaneous, $\sqrt{1+\eta^2}$), $\rho = 1$ orbits (alternating, for $\eta < 2$),
#   $\rho < 1$ converges (extragradient $\sqrt{1-\eta^2+\eta^4}$; optimistic for
#   $\eta < 1/\sqrt3$; negative momentum; consensus).
# - Methods with memory (optimistic, momentum) have a larger state, $(z, z_{\text{prev}})$, and
#   their Jacobian is 4×4.
# - The Dirac-GAN's field has eigenvalues $\pm i/2$ at equilibrium; an R1 penalty adds damping
#   ($-\gamma/2 \pm \sqrt{\gamma^2/4 - 1/4}$), and so does instance noise.
#
# ## Exercises
#
# 1. Show that simultaneous steps on $V = xy$ multiply $x^2 + y^2$ by exactly $1 + \eta^2$. How
#    many steps does it take to double the distance at $\eta = 0.1$?
# 2. Prove that alternating play conserves $x^2 + y^2 - \eta xy$, and check it on
#    `runs["alternating"]`.
# 3. Find, with `step_jacobian` and a scan, the largest $\eta$ for which negative momentum with
#    $\beta = -0.3$ converges on $V = xy$. Does $2(1 + \beta)$ fit? What happens with
#    *simultaneous* steps plus negative momentum (write it as a new rule)?
# 4. Play $V(x, y) = x^\top A y$ with a random $3\times3$ matrix $A$ and vectors $x, y$. The
#    field is $v = (-Ay,\ A^\top x)$; its Jacobian $\begin{pmatrix}0 & -A\\ A^\top & 0\end{pmatrix}$
#    has eigenvalues $\pm i\sigma_k$, where $\sigma_k$ are the *singular values* of $A$ (not its
#    eigenvalues). Show this, check it with `field_jacobian`, and predict from the $\sigma_k$ the
#    rate at which simultaneous steps spiral out ($\sqrt{1 + \eta^2\sigma_k^2}$ per step).
# 5. Simultaneous steps on the Dirac-GAN with R1 converge when $|1 + \eta\lambda| < 1$ for both
#    eigenvalues $\lambda$ of the field's Jacobian. Find the largest such $\eta$ for $\gamma = 0.3$,
#    confirm it with `step_jacobian`, and run `play` just below and just above it.
