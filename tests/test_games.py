"""tinygan.games: update rules on the xy game and the Dirac-GAN, step Jacobians taken by the engine
against closed forms, simulated trajectories against the linear analysis, and bad input."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygan as tg
from tinygan import games as G


def rotation_like(a, b):
    """[[a, -b], [b, a]]: the step matrix of a method that scales and rotates the plane."""
    return np.array([[a, -b], [b, a]])


def optimistic_radius(eta):
    """Spectral radius of optimistic GDA on xy, from its characteristic polynomial
    λ² - (1 - 2ηa) λ - ηa = 0 for each eigenvalue a = ±i of the game's Jacobian A."""
    return max(abs(r) for a in (1j, -1j) for r in np.roots([1, -(1 - 2 * eta * a), -eta * a]))


def momentum_matrix(eta, beta):
    """Alternating heavy-ball steps on xy, derived by hand, state (x, y, x_prev, y_prev)."""
    return np.array([[1 + beta, -eta, -beta, 0],
                     [eta * (1 + beta), 1 + beta - eta ** 2, -eta * beta, -beta],
                     [1, 0, 0, 0],
                     [0, 1, 0, 0]])


etas = st.floats(0.01, 0.99)


# ---------------------------------------------------------------- the 1,000-step table


def test_distances_after_1000_steps_from_1_1():
    """The issue's numbers: η = 0.1, 1,000 steps from (1, 1)."""
    d = {m: G.distance(G.play(G.xy, 1.0, 1.0, m, lr=0.1, steps=1000))[-1] for m in G.METHODS}
    assert d["simultaneous"] > 100
    assert abs(d["alternating"] - 1.4) < 0.1
    assert d["extragradient"] < 0.02
    assert d["optimistic"] < 0.02
    assert d["negative_momentum"] < 0.5 and d["consensus"] < 1e-6
    # the simultaneous norm grows by exactly √(1+η²) per step
    assert d["simultaneous"] == pytest.approx(math.sqrt(2) * 1.01 ** 500, rel=1e-9)


# ---------------------------------------------------------------- step Jacobians on xy


@given(etas)
def test_step_jacobians_match_hand_derived_matrices(eta):
    J = lambda m, **o: G.step_jacobian(G.xy, 0.0, 0.0, m, lr=eta, **o)  # noqa: E731
    np.testing.assert_allclose(J("simultaneous"), rotation_like(1, eta), atol=1e-12)
    np.testing.assert_allclose(J("alternating"), [[1, -eta], [eta, 1 - eta ** 2]], atol=1e-12)
    np.testing.assert_allclose(J("extragradient"), rotation_like(1 - eta ** 2, eta), atol=1e-12)
    np.testing.assert_allclose(J("consensus", gamma=0.7), rotation_like(1 - 0.7 * eta, eta),
                               atol=1e-12)
    np.testing.assert_allclose(J("optimistic"), [[1, -2 * eta, 0, eta], [2 * eta, 1, -eta, 0],
                                                 [1, 0, 0, 0], [0, 1, 0, 0]], atol=1e-12)
    np.testing.assert_allclose(J("negative_momentum", momentum=-0.3), momentum_matrix(eta, -0.3),
                               atol=1e-12)


@given(st.floats(0.01, 3.0))
def test_simultaneous_radius_is_sqrt_1_plus_eta2(eta):
    rho = G.spectral_radius(G.step_jacobian(G.xy, 0.3, -0.2, "simultaneous", lr=eta))
    assert rho == pytest.approx(math.sqrt(1 + eta ** 2), rel=1e-12)
    assert rho > 1


@given(st.floats(0.01, 1.99))
def test_alternating_radius_is_exactly_one_below_2(eta):
    J = G.step_jacobian(G.xy, 0.0, 0.0, "alternating", lr=eta)
    assert np.linalg.det(J) == pytest.approx(1, abs=1e-12)   # area preserving ...
    assert G.spectral_radius(J) == pytest.approx(1, abs=1e-12)   # ... with complex eigenvalues


@given(st.floats(2.01, 4.0))
def test_alternating_radius_exceeds_one_above_2(eta):
    J = G.step_jacobian(G.xy, 0.0, 0.0, "alternating", lr=eta)
    t = 2 - eta ** 2    # the trace; real eigenvalues t/2 ± √(t²/4 - 1) once |t| > 2
    assert G.spectral_radius(J) == pytest.approx(abs(t) / 2 + math.sqrt(t * t / 4 - 1), rel=1e-10)


@given(etas)
def test_extragradient_radius(eta):
    rho = G.spectral_radius(G.step_jacobian(G.xy, 0.0, 0.0, "extragradient", lr=eta))
    assert rho == pytest.approx(math.sqrt(1 - eta ** 2 + eta ** 4), rel=1e-12)
    assert rho < 1


@given(st.floats(0.01, 0.49))
def test_optimistic_radius_closed_form_below_one_half(eta):
    rho = G.spectral_radius(G.step_jacobian(G.xy, 0.0, 0.0, "optimistic", lr=eta))
    assert rho == pytest.approx(math.sqrt((1 + math.sqrt(1 - 4 * eta ** 2)) / 2), rel=1e-9)
    assert rho < 1


@given(st.floats(0.01, 1.5))
def test_optimistic_radius_matches_characteristic_polynomial(eta):
    rho = G.spectral_radius(G.step_jacobian(G.xy, 0.0, 0.0, "optimistic", lr=eta))
    assert rho == pytest.approx(optimistic_radius(eta), rel=1e-7)
    # it converges exactly for η < 1/√3 (where (2η + √(4η²-1))² = 3)
    if abs(eta - 1 / math.sqrt(3)) > 1e-3:
        assert (rho < 1) == (eta < 1 / math.sqrt(3))


@given(st.floats(0.01, 0.9), st.floats(0.0, 3.0))
def test_consensus_radius(eta, gamma):
    rho = G.spectral_radius(G.step_jacobian(G.xy, 0.0, 0.0, "consensus", lr=eta, gamma=gamma))
    assert rho == pytest.approx(math.sqrt((1 - eta * gamma) ** 2 + eta ** 2), rel=1e-12)


@given(st.floats(-0.9, -0.05), st.floats(0.0, 1.0))
def test_negative_momentum_converges_where_positive_does_not(beta, frac):
    eta = 0.02 + frac * (1.5 * (1 + beta) - 0.02)   # a region found by scanning (η < 2(1+β))
    J = G.step_jacobian(G.xy, 0.0, 0.0, "negative_momentum", lr=eta, momentum=beta)
    np.testing.assert_allclose(J, momentum_matrix(eta, beta), atol=1e-12)
    assert G.spectral_radius(J) < 1
    positive = G.step_jacobian(G.xy, 0.0, 0.0, "negative_momentum", lr=eta, momentum=-beta)
    assert G.spectral_radius(positive) > 1


# ---------------------------------------------------------------- trajectories on xy


@given(st.floats(0.05, 1.0))
@settings(max_examples=10)
def test_simultaneous_spirals_out_at_the_predicted_rate(eta):
    d = G.distance(G.play(G.xy, 1.0, 1.0, "simultaneous", lr=eta, steps=50))
    np.testing.assert_allclose(d[1:] / d[:-1], math.sqrt(1 + eta ** 2), rtol=1e-10)


@given(st.floats(0.05, 1.9))
@settings(max_examples=10)
def test_alternating_stays_on_an_ellipse(eta):
    """Alternating play conserves Q = x² + y² - ηxy (x'x + y² = Q by the update), so the state
    stays on an ellipse between radii √(Q/(1 + η/2)) and √(Q/(1 - η/2))."""
    x, y = G.play(G.xy, 1.0, 0.5, "alternating", lr=eta, steps=400).T
    q = x * x + y * y - eta * x * y
    np.testing.assert_allclose(q, q[0], rtol=1e-10)
    d = np.hypot(x, y)
    # neither shrinking nor growing: every state, the last included, stays between the radii
    # (a fixed factor such as d[-1] > d[0] / 2 would be wrong: the ellipse flattens as η -> 2)
    assert d.min() >= math.sqrt(q[0] / (1 + eta / 2)) - 1e-9
    assert d.max() <= math.sqrt(q[0] / (1 - eta / 2)) + 1e-9


def _kappa(J):
    _, vectors = np.linalg.eig(J)
    return np.linalg.cond(vectors)


@pytest.mark.parametrize("method, options, low, high", [
    ("extragradient", {}, 0.2, 0.9), ("optimistic", {}, 0.2, 0.5),
    ("consensus", {"gamma": 0.5}, 0.1, 0.6), ("negative_momentum", {"momentum": -0.5}, 0.3, 0.9)])
@given(frac=st.floats(0.0, 1.0))
@settings(max_examples=6)
def test_convergent_methods_shrink_at_their_spectral_radius(method, options, low, high, frac):
    """The game is bilinear, so play is s_t = J^t s_0 exactly (J: the engine's step Jacobian,
    J = P Λ P⁻¹, ρ its spectral radius). Every state obeys ‖s_t‖ <= κ(P) ρ^t ‖s_0‖, the
    trajectory shrinks, and no faster than ρ^t: with c = P⁻¹ s_0, ‖s_T‖ >= ρ^T ‖c_slow‖ / ‖P⁻¹‖
    (c_slow: the parts of c on the eigenvalues of modulus ρ)."""
    eta = low + frac * (high - low)
    J = G.step_jacobian(G.xy, 0.0, 0.0, method, lr=eta, **options)
    rho, kappa, T = G.spectral_radius(J), _kappa(J), 400
    d = G.distance(G.play(G.xy, 1.0, 1.0, method, lr=eta, steps=T, **options))
    memory = J.shape[0] == 4  # the state is (z_t, z_{t-1}), starting from (z0, z0)
    s0 = np.ones(J.shape[0])
    state = np.hypot(d[1:], d[:-1]) if memory else d[1:]  # ‖s_t‖ for t = 1..T
    assert rho < 1
    assert np.all(state <= kappa * rho ** np.arange(1, T + 1) * np.linalg.norm(s0) * (1 + 1e-9))
    assert d[-1] < d[0] * 0.1
    values, P = np.linalg.eig(J)
    c = np.linalg.solve(P, s0)
    slow = np.isclose(abs(values), rho, rtol=1e-9)
    assert state[-1] >= rho ** T * np.linalg.norm(c[slow]) / np.linalg.norm(np.linalg.inv(P), 2) \
        * (1 - 1e-6)


# ---------------------------------------------------------------- general games, engine checks


def _nonlinear(x, y):
    """A game with vector x (2,) and scalar y and no closed form."""
    return (x.tanh() * y).sum() + 0.3 * (x * x).sum() * y.sigmoid() - 0.2 * (y * y).sum()


def _fd_step_jacobian(method, state, lr, eps=1e-6, **options):
    """Central differences of one `step` (memory = (x_prev, y_prev)) over the flat state."""
    def run(s):
        x, y = tg.tensor(s[:2], dtype=tg.float64), tg.tensor(s[2], dtype=tg.float64)
        mem = None
        if len(s) > 3:
            mem = (tg.tensor(s[3:5], dtype=tg.float64), tg.tensor(s[5], dtype=tg.float64),
                   None, None)
        x1, y1, mem = G.step(_nonlinear, x, y, method, lr=lr, memory=mem, **options)
        out = [x1.numpy().ravel(), y1.numpy().ravel()]
        if mem is not None:
            out += [mem[0].numpy().ravel(), mem[1].numpy().ravel()]
        return np.concatenate(out)

    cols = []
    for i in range(len(state)):
        e = np.zeros(len(state))
        e[i] = eps
        cols.append((run(state + e) - run(state - e)) / (2 * eps))
    return np.stack(cols, axis=1)


@pytest.mark.parametrize("method", list(G.METHODS))
def test_step_jacobian_matches_finite_differences_on_a_nonlinear_game(method):
    x, y = np.array([0.4, -0.7]), np.array(0.3)
    extra = {}
    if method in ("optimistic", "negative_momentum"):
        extra = {"x_prev": np.array([0.1, -0.5]), "y_prev": np.array(0.6)}
        state = np.array([0.4, -0.7, 0.3, 0.1, -0.5, 0.6])
    else:
        state = np.array([0.4, -0.7, 0.3])
    J = G.step_jacobian(_nonlinear, x, y, method, lr=0.3, **extra)
    np.testing.assert_allclose(J, _fd_step_jacobian(method, state, 0.3), atol=1e-7)


def test_field_jacobian_matches_finite_differences_and_simultaneous_step():
    x, y = np.array([0.4, -0.7]), np.array(0.3)

    def field(s):
        gx, gy = G.partials(_nonlinear, tg.tensor(s[:2], dtype=tg.float64),
                            tg.tensor(s[2], dtype=tg.float64))
        return np.concatenate([-gx.numpy().ravel(), gy.numpy().ravel()])

    s, eps = np.array([0.4, -0.7, 0.3]), 1e-6
    fd = np.stack([(field(s + e) - field(s - e)) / (2 * eps) for e in np.eye(3) * eps], axis=1)
    J = G.field_jacobian(_nonlinear, x, y)
    np.testing.assert_allclose(J, fd, atol=1e-7)
    # one simultaneous step is z + η v(z), so its Jacobian is I + η v'(z)
    np.testing.assert_allclose(G.step_jacobian(_nonlinear, x, y, "simultaneous", lr=0.2),
                               np.eye(3) + 0.2 * J, atol=1e-12)


def test_partials_are_partial_not_total_derivatives():
    """y's gradient at (x', y) with x' computed from y must not include the path through x'."""
    y = tg.tensor(2.0, dtype=tg.float64, requires_grad=True)
    x1 = 3 * y
    gx, gy = G.partials(G.xy, x1, y, create_graph=True)
    assert gy.item() == pytest.approx(6.0)        # ∂(xy)/∂y = x' = 6, not d(3y·y)/dy = 12
    assert gx.item() == pytest.approx(2.0)
    dgy, = tg.grad(gy, [y])                       # and it stays differentiable in y through x'
    assert dgy.item() == pytest.approx(3.0)


def test_vector_bilinear_game_and_play_equals_repeated_step():
    A = tg.tensor([[1.0, 2.0], [0.0, 1.0]], dtype=tg.float64)
    V = lambda x, y: x @ A @ y  # noqa: E731
    x0, y0 = np.array([1.0, -1.0]), np.array([0.5, 0.2])
    traj = G.play(V, x0, y0, "optimistic", lr=0.05, steps=20)
    assert traj.shape == (21, 4)
    x, y, mem = tg.tensor(x0, dtype=tg.float64), tg.tensor(y0, dtype=tg.float64), None
    for t in range(1, 21):
        x, y, mem = G.step(V, x, y, "optimistic", lr=0.05, memory=mem)
        np.testing.assert_allclose(traj[t], np.concatenate([x.numpy(), y.numpy()]), rtol=1e-12)
    # the Jacobian of the vector field is [[0, -A], [Aᵀ, 0]]
    a = A.numpy()
    J = G.field_jacobian(V, x0, y0)
    np.testing.assert_allclose(J, np.block([[np.zeros((2, 2)), -a], [a.T, np.zeros((2, 2))]]),
                               atol=1e-12)


def test_play_on_device_matches_cpu(device):
    x0 = tg.tensor([1.0], dtype=tg.float64, device=device)
    y0 = tg.tensor([1.0], dtype=tg.float64, device=device)
    traj = G.play(G.xy, x0, y0, "extragradient", lr=0.2, steps=30)
    ref = G.play(G.xy, 1.0, 1.0, "extragradient", lr=0.2, steps=30)
    assert isinstance(traj, np.ndarray)
    np.testing.assert_allclose(traj, ref, rtol=1e-12)


# ---------------------------------------------------------------- the Dirac-GAN


def test_dirac_gan_value_and_f_prime_at_zero():
    V = G.dirac_gan()
    f = lambda t: -math.log1p(math.exp(-t))  # noqa: E731
    theta = tg.tensor(0.8, dtype=tg.float64)
    psi = tg.tensor(-0.6, dtype=tg.float64)
    assert V(theta, psi).item() == pytest.approx(f(-0.48) + f(0.0), rel=1e-12)
    # f'(0) = 1/2: the engine's derivative of f at 0 (Mescheder et al. 2018 use f'(0) ≠ 0)
    t = tg.tensor(0.0, dtype=tg.float64, requires_grad=True)
    g, = tg.grad(tg.functional.log_sigmoid(t), [t])
    assert g.item() == pytest.approx(0.5)


def test_dirac_gan_field_jacobian_has_eigenvalues_pm_i_over_2():
    J = G.field_jacobian(G.dirac_gan(), 0.0, 0.0)
    np.testing.assert_allclose(J, [[0, -0.5], [0.5, 0]], atol=1e-12)
    ev = np.sort_complex(np.linalg.eigvals(J))
    np.testing.assert_allclose(ev, [-0.5j, 0.5j], atol=1e-12)


@given(st.floats(0.0, 3.0).filter(lambda g: abs(g - 1) > 1e-3))
@settings(max_examples=15)
def test_dirac_gan_r1_eigenvalues(gamma):
    ev = np.sort_complex(np.linalg.eigvals(G.field_jacobian(G.dirac_gan(gamma=gamma), 0.0, 0.0)))
    root = np.sqrt(complex(gamma ** 2 / 4 - 1 / 4))
    np.testing.assert_allclose(ev, np.sort_complex(np.array([-gamma / 2 + root,
                                                             -gamma / 2 - root])), atol=1e-9)


@given(st.floats(0.1, 2.0))
@settings(max_examples=10)
def test_dirac_gan_instance_noise_eigenvalues(sigma):
    """With noise σ: σ² f''(0) ± √(σ⁴ f''(0)² - f'(0)²), f''(0) = -1/4 (Mescheder et al. 2018)."""
    ev = np.sort_complex(np.linalg.eigvals(
        G.field_jacobian(G.dirac_gan(noise_std=sigma), 0.0, 0.0)))
    root = np.sqrt(complex(sigma ** 4 / 16 - 1 / 4))
    expected = np.sort_complex(np.array([-sigma ** 2 / 4 + root, -sigma ** 2 / 4 - root]))
    np.testing.assert_allclose(ev, expected, atol=1e-9)


def test_dirac_gan_step_jacobian_through_the_r1_penalty():
    """Third-order: the step differentiates V, whose R1 term already holds a gradient."""
    eta, gamma = 0.2, 0.7
    J = G.step_jacobian(G.dirac_gan(gamma=gamma), 0.0, 0.0, "simultaneous", lr=eta)
    np.testing.assert_allclose(J, np.eye(2) + eta * np.array([[0, -0.5], [0.5, -gamma]]),
                               atol=1e-12)
    plain = G.step_jacobian(G.dirac_gan(), 0.0, 0.0, "simultaneous", lr=eta)
    assert G.spectral_radius(plain) == pytest.approx(math.sqrt(1 + eta ** 2 / 4), rel=1e-12)


def test_dirac_gan_circles_without_regularization_and_converges_with_it():
    steps, eta = 400, 0.1
    d = {}
    for name, V in [("plain", G.dirac_gan()), ("r1", G.dirac_gan(gamma=1.0)),
                    ("noise", G.dirac_gan(noise_std=1.0))]:
        for method in ("simultaneous", "alternating"):
            d[name, method] = G.distance(G.play(V, 1.0, 1.0, method, lr=eta, steps=steps))
    sim, alt = d["plain", "simultaneous"], d["plain", "alternating"]
    assert np.all(np.diff(sim) > 0)                       # spirals outwards
    assert sim[-1] > 1.3 * sim[0]
    assert alt.min() > 0.9 * alt[0] and alt.max() < 1.1 * alt[0]   # keeps circling
    for key in [("r1", "simultaneous"), ("r1", "alternating"), ("noise", "simultaneous"),
                ("noise", "alternating")]:
        assert d[key][-1] < 1e-3 * d[key][0], key


# ---------------------------------------------------------------- bad input


def test_unknown_method_lists_the_valid_ones():
    with pytest.raises(ValueError, match="unknown method 'adam'.*simultaneous.*consensus"):
        G.play(G.xy, 1.0, 1.0, "adam")


@pytest.mark.parametrize("lr", [0, -0.1, float("nan"), float("inf"), "0.1", None, True])
def test_bad_step_sizes(lr):
    with pytest.raises(ValueError, match="step size lr must be a finite number > 0"):
        G.play(G.xy, 1.0, 1.0, "simultaneous", lr=lr, steps=3)
    with pytest.raises(ValueError, match="step size lr"):
        G.step_jacobian(G.xy, 0.0, 0.0, "extragradient", lr=lr)


def test_bad_options_and_steps():
    with pytest.raises(TypeError, match="'extragradient' got unexpected options.*accepts: none"):
        G.play(G.xy, 1.0, 1.0, "extragradient", momentum=-0.5)
    with pytest.raises(TypeError, match="accepts: gamma"):
        G.step(G.xy, 1.0, 1.0, "consensus", gama=1.0)
    with pytest.raises(ValueError, match="momentum must lie in"):
        G.play(G.xy, 1.0, 1.0, "negative_momentum", momentum=-1.5)
    with pytest.raises(ValueError, match="gamma must be"):
        G.play(G.xy, 1.0, 1.0, "consensus", gamma=-1.0)
    with pytest.raises(ValueError, match="steps must be an integer >= 0"):
        G.play(G.xy, 1.0, 1.0, steps=-1)
    with pytest.raises(ValueError, match="must return a scalar"):
        G.play(lambda x, y: x * y, np.ones(2), np.ones(2), steps=1)
    with pytest.raises(ValueError, match="noise_std"):
        G.dirac_gan(noise_std=-1.0)
