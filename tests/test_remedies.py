"""Mode-collapse remedies (tinygan.gan.remedies): each checked for the property that makes it what
it is: packing's reshape and input width, the unrolled gradient against finite differences of
the unrolled objective, label smoothing touching only real targets, historical averaging's
zero at the average, minibatch discrimination's permutation equivariance, instance noise's
annealing, and the trainer integration of each."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinygan as tg
import tinygan.nn as nn
from tinygan import backend, init
from tinygan.data import toy
from tinygan.gan import losses, remedies
from tinygan.gan.hooks import EMA
from tinygan.gan.remedies import (AnnealNoise, FeatureMatching, HistoricalAverage, InstanceNoise,
                                  MinibatchDiscrimination, Packed, UnrolledTrainer,
                                  functional_call,
                                  feature_matching_loss, one_sided_label_smoothing, pack,
                                  unrolled_generator_loss)
from tinygan.gan.trainer import Hook, Trainer, normal_noise
from tinygan.optim import Adam
from tinygan.tensor import Tensor
from tinygan.testing import gradcheck


def mlp(sizes, act=nn.Tanh, dtype=np.float64, seed=0, device="cpu"):
    rng = backend.rng(seed, device)
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layer = nn.Linear(a, b, dtype=dtype, device=device)  # on the rng's device
        init.default_uniform_(layer.weight, a, rng=rng)
        init.default_uniform_(layer.bias, a, rng=rng)
        layers += [layer] + ([act()] if i < len(sizes) - 2 else [])
    return nn.Sequential(*layers)


def arr(rng, *shape):
    return rng.standard_normal(shape)


# ---------------------------------------------------------------- packing


@given(n=st.integers(1, 6), m=st.integers(1, 4), d=st.integers(1, 3))
def test_pack_joins_consecutive_samples(n, m, d):
    x = np.arange(n * m * d, dtype=np.float64).reshape(n * m, d)
    p = pack(Tensor(x), m).numpy()
    assert p.shape == (n, m * d)
    for k in range(n):
        np.testing.assert_array_equal(p[k], np.concatenate([x[m * k + j] for j in range(m)]))


def test_pack_rejects_ragged_batches_and_bad_m():
    with pytest.raises(ValueError, match="multiple of 3"):
        pack(Tensor(np.zeros((7, 2))), 3)
    with pytest.raises(ValueError, match="positive int"):
        pack(Tensor(np.zeros((4, 2))), 0)
    with pytest.raises(ValueError, match=r"\(N, d\)"):
        pack(Tensor(np.zeros(4)), 2)


def test_packed_discriminator_sees_m_times_the_input_width(device):
    D = mlp([2 * 3, 5, 1], device=device)
    packed = Packed(D, 3)
    x = tg.randn(12, 2, dtype=np.float64, device=device)
    out = packed(x)
    assert out.shape == (4, 1)
    np.testing.assert_allclose(out.numpy(), D(x.reshape(4, 6)).numpy())
    # the packed D's parameters are D's: one optimizer trains both views
    assert [id(p) for p in packed.parameters()] == [id(p) for p in D.parameters()]
    with pytest.raises(ValueError, match=r"input of shape \(4, 6\).*its last axis must be 2"):
        Packed(mlp([2, 5, 1]), 3)(x)


def test_packing_gradient_reaches_every_sample():
    D = mlp([4, 3, 1])
    x = np.random.default_rng(0).standard_normal((6, 2))
    gradcheck(lambda t: Packed(D, 2)(t), x)


# ---------------------------------------------------------------- minibatch discrimination


def mbd_reference(x, T, b, c):
    """o_b(i) = sum_{j != i} exp(-||M_ib - M_jb||_1), by loops."""
    m = (x @ T).reshape(len(x), b, c)
    o = np.zeros((len(x), b))
    for i in range(len(x)):
        for j in range(len(x)):
            if i != j:
                o[i] += np.exp(-np.abs(m[i] - m[j]).sum(-1))
    return np.concatenate([x, o], axis=1)


def test_minibatch_discrimination_matches_its_formula(device):
    layer = MinibatchDiscrimination(4, 3, 2, rng=backend.rng(1, device), device=device,
                                    dtype=np.float64)
    x = tg.randn(5, 4, dtype=np.float64, device=device)
    out = layer(x)
    assert out.shape == (5, 4 + 3) and layer.out_features == 7
    np.testing.assert_allclose(out.numpy(), mbd_reference(x.numpy(), layer.T.numpy(), 3, 2),
                               rtol=1e-12)


@given(perm_seed=st.integers(0, 10_000), n=st.integers(2, 7))
def test_minibatch_discrimination_is_permutation_equivariant(perm_seed, n):
    rng = np.random.default_rng(perm_seed)
    layer = MinibatchDiscrimination(3, 4, 2, rng=backend.rng(0), dtype=np.float64)
    x = rng.standard_normal((n, 3))
    perm = rng.permutation(n)
    out = layer(Tensor(x)).numpy()
    np.testing.assert_allclose(layer(Tensor(x[perm])).numpy(), out[perm], rtol=1e-12)


def test_minibatch_discrimination_flags_a_collapsed_batch():
    layer = MinibatchDiscrimination(2, 5, 3, init_std=1.0, rng=backend.rng(0), dtype=np.float64)
    rng = np.random.default_rng(0)
    spread = rng.standard_normal((16, 2)) * 3
    collapsed = np.repeat(spread[:1], 16, axis=0) + 1e-3 * rng.standard_normal((16, 2))
    o_spread = layer(Tensor(spread)).numpy()[:, 2:]
    o_collapsed = layer(Tensor(collapsed)).numpy()[:, 2:]
    # every other sample is nearly identical: each closeness is ~1, so o ~ N - 1
    np.testing.assert_allclose(o_collapsed, 15, rtol=0.05)
    assert o_spread.mean() < 0.5 * o_collapsed.mean()
    # a batch of one has no neighbours to compare with
    np.testing.assert_array_equal(layer(Tensor(spread[:1])).numpy()[:, 2:], 0)


def test_minibatch_discrimination_in_groups_compares_within_each_group():
    layer = MinibatchDiscrimination(3, 4, 2, rng=backend.rng(0), dtype=np.float64)
    grouped = MinibatchDiscrimination(3, 4, 2, group_size=4, dtype=np.float64)
    grouped.T = layer.T
    x = np.random.default_rng(0).standard_normal((12, 3))
    out = grouped(Tensor(x)).numpy()
    for k in range(3):  # each block of 4 is scored as a batch of its own
        block = slice(4 * k, 4 * k + 4)
        np.testing.assert_allclose(out[block], layer(Tensor(x[block])).numpy(), rtol=1e-12)
    # a group at least as large as the batch is the whole batch
    whole = MinibatchDiscrimination(3, 4, 2, group_size=64, dtype=np.float64)
    whole.T = layer.T
    np.testing.assert_allclose(whole(Tensor(x)).numpy(), layer(Tensor(x)).numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match="groups of 5"):
        MinibatchDiscrimination(3, group_size=5)(Tensor(x))


def test_minibatch_discrimination_gradients():
    rng = np.random.default_rng(3)
    layer = MinibatchDiscrimination(3, 2, 2, rng=backend.rng(2), dtype=np.float64)

    def f(x, T):
        layer.T = T  # a plain Tensor attribute for this check
        return layer(x)

    gradcheck(f, rng.standard_normal((4, 3)), rng.standard_normal((3, 4)))


def test_minibatch_discrimination_errors():
    with pytest.raises(ValueError, match="num_kernels"):
        MinibatchDiscrimination(3, 0)
    with pytest.raises(ValueError, match=r"expected \(N, 3\)"):
        MinibatchDiscrimination(3)(Tensor(np.zeros((2, 4), np.float32)))


# ---------------------------------------------------------------- feature matching


def test_feature_matching_loss_is_the_squared_mean_gap():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((6, 4)), rng.standard_normal((9, 4))
    expected = ((a.mean(0) - b.mean(0)) ** 2).sum()
    np.testing.assert_allclose(feature_matching_loss(Tensor(a), Tensor(b)).item(), expected)
    # only the means matter: a shuffled, differently sized batch with the same mean scores 0
    c = np.concatenate([a, a[::-1]])
    assert feature_matching_loss(Tensor(a), Tensor(c)).item() == pytest.approx(0, abs=1e-24)
    gradcheck(feature_matching_loss, a, b)
    with pytest.raises(ValueError, match="must agree"):
        feature_matching_loss(Tensor(a), Tensor(rng.standard_normal((3, 5))))


def test_feature_matching_replaces_the_generator_objective():
    ring = toy.ring_2d()
    G, body = mlp([2, 8, 2], dtype=np.float32), mlp([2, 8, 4], dtype=np.float32, seed=1)
    D = nn.Sequential(body, nn.Tanh(), nn.Linear(4, 1))
    fm = FeatureMatching(body, weight=2.0)
    t = Trainer(G, D, Adam(G.parameters(), 1e-2), Adam(D.parameters(), 1e-2),
                data=lambda m, rng: ring.sample(m, rng=rng), noise=normal_noise(2),
                batch_size=16, objective=FeatureMatching.objective(), hooks=[fm])
    d_before = [p.numpy().copy() for p in D.parameters()]
    g_before = [p.numpy().copy() for p in G.parameters()]
    t.g_step()
    # G moved, D did not (its weights are frozen in G's step) and got no gradient
    assert any(not np.array_equal(a, p.numpy()) for a, p in zip(g_before, G.parameters()))
    assert all(np.array_equal(a, p.numpy()) for a, p in zip(d_before, D.parameters()))
    assert all(p.grad is None for p in D.parameters())
    # the G loss is exactly the feature-matching term (the base objective's G loss is zero)
    assert FeatureMatching.objective().g_loss(Tensor(np.ones((3, 1)))).item() == 0


# ---------------------------------------------------------------- unrolled GAN


class Fixed:
    """A tiny unrolled problem in float64 with fixed data and noise."""

    def __init__(self, k=2, update="sgd", seed=0):
        rng = np.random.default_rng(seed)
        self.G = mlp([2, 3, 2], seed=seed)
        self.D = mlp([2, 4, 1], seed=seed + 1)
        self.real = [Tensor(arr(rng, 5, 2) + 1) for _ in range(k)]
        self.noise = [Tensor(arr(rng, 5, 2)) for _ in range(k)]
        self.g_noise = Tensor(arr(rng, 5, 2))
        self.update = update
        self.state = None
        if update == "adam":  # moments as if D had already taken some Adam steps
            self.state = [(np.abs(arr(rng, *p.shape)) * 0.1, np.abs(arr(rng, *p.shape)) * 0.01,
                           3) for p in self.D.parameters()]
        d_loss, g_loss = losses.objective("nonsaturating")
        self.d_loss, self.g_loss = d_loss, g_loss

    def loss(self, *g_params, create_graph=True, lr=0.5):
        with remedies._substituted(self.G, list(g_params)):
            return unrolled_generator_loss(self.G, self.D, self.d_loss, self.g_loss, self.real,
                                           self.noise, self.g_noise, lr=lr, update=self.update,
                                           d_state=self.state, create_graph=create_graph)

    def params(self):
        return [p.numpy().copy() for p in self.G.parameters()]

    def grads(self, create_graph=True):
        ps = [Tensor(p, requires_grad=True) for p in self.params()]
        return [g.numpy() for g in tg.grad(self.loss(*ps, create_graph=create_graph), ps)]


@pytest.mark.parametrize("update", ["sgd", "adam"])
def test_unrolled_gradient_matches_finite_differences(update):
    problem = Fixed(k=2, update=update)
    gradcheck(lambda *ps: problem.loss(*ps), *problem.params(), atol=1e-7, rtol=1e-5)


def test_unrolled_gradient_differs_from_the_plain_one():
    problem = Fixed(k=3)
    unrolled = problem.grads(create_graph=True)
    first_order = problem.grads(create_graph=False)
    gap = max(np.abs(a - b).max() for a, b in zip(unrolled, first_order))
    scale = max(np.abs(a).max() for a in unrolled)
    assert gap > 1e-3 * scale  # the term through D's simulated updates is really there
    plain = Fixed(k=0).grads()  # the ordinary generator gradient, against D as it is now
    assert max(np.abs(a - b).max() for a, b in zip(unrolled, plain)) > 1e-3 * scale
    # and it is the gradient of the unrolled objective, not of the plain loss at theta_K
    gradcheck(lambda *ps: problem.loss(*ps), *problem.params(), atol=1e-7, rtol=1e-5)


def test_zero_unrolled_steps_is_the_plain_generator_loss():
    problem = Fixed(k=0)
    ps = [Tensor(p, requires_grad=True) for p in problem.params()]
    plain = problem.g_loss(problem.D(problem.G(problem.g_noise)))
    np.testing.assert_allclose(problem.loss(*ps).item(), plain.item(), rtol=1e-14)


def test_unrolling_leaves_the_discriminator_alone():
    problem = Fixed(k=2, update="adam")
    before = problem.D.state_dict()
    ps = [Tensor(p, requires_grad=True) for p in problem.params()]
    problem.loss(*ps).backward()
    after = problem.D.state_dict()
    assert all(np.array_equal(before[k], after[k]) for k in before)
    assert all(p.grad is None for p in problem.D.parameters())
    assert all(p.grad is not None for p in ps)


def test_functional_call_swaps_parameters_and_restores_them():
    D = mlp([2, 3, 1])
    x = Tensor(np.random.default_rng(0).standard_normal((4, 2)))
    own = functional_call(D, D.parameters(), x)
    np.testing.assert_array_equal(own.numpy(), D(x).numpy())
    zeros = [Tensor(np.zeros(p.shape)) for p in D.parameters()]
    np.testing.assert_array_equal(functional_call(D, zeros, x).numpy(), 0)
    assert all(isinstance(p, nn.Parameter) for p in D.parameters())
    np.testing.assert_array_equal(D(x).numpy(), own.numpy())
    with pytest.raises(ValueError, match="has 4 parameters, got 1"):
        functional_call(D, zeros[:1], x)


def test_unrolled_trainer_steps_both_players():
    ring = toy.ring_2d()
    G, D = mlp([2, 8, 2], act=nn.ReLU, dtype=np.float32), mlp([2, 8, 1], dtype=np.float32)
    t = UnrolledTrainer(G, D, Adam(G.parameters(), 1e-2), Adam(D.parameters(), 1e-2),
                        data=lambda m, rng: ring.sample(m, rng=rng), noise=normal_noise(2),
                        batch_size=8, unroll_steps=3, log_every=1)
    d0, g0 = D.state_dict(), G.state_dict()
    t.step()
    assert all(not np.array_equal(d0[k], v) for k, v in D.state_dict().items())
    assert any(not np.array_equal(g0[k], v) for k, v in G.state_dict().items())
    assert np.isfinite(t.history["g_loss"][-1])
    with pytest.raises(ValueError, match="unroll_steps"):
        UnrolledTrainer(G, D, Adam(G.parameters()), Adam(D.parameters()), data=None,
                        noise=None, unroll_steps=-1)


# ---------------------------------------------------------------- one-sided label smoothing


@given(seed=st.integers(0, 1000), target=st.floats(0.5, 1.0))
def test_label_smoothing_changes_only_the_real_targets(seed, target):
    rng = np.random.default_rng(seed)
    r, f = rng.standard_normal((7, 1)) * 3, rng.standard_normal((5, 1)) * 3
    smoothed = one_sided_label_smoothing(target).d_loss
    base = losses.d_minimax
    rt, ft = Tensor(r, requires_grad=True), Tensor(f, requires_grad=True)
    gr, gf = tg.grad(smoothed(rt, ft), [rt, ft])
    br, bf = tg.grad(base(rt, ft), [rt, ft])
    sig = 1 / (1 + np.exp(-r))
    np.testing.assert_allclose(gf.numpy(), bf.numpy(), rtol=1e-12)           # fakes: untouched
    np.testing.assert_allclose(gr.numpy(), (sig - target) / len(r), rtol=1e-10, atol=1e-15)
    np.testing.assert_allclose(br.numpy(), (sig - 1) / len(r), rtol=1e-10, atol=1e-15)
    # the loss difference depends on the real logits alone: -(target - 1) * mean(r)
    diff = smoothed(rt, ft).item() - base(rt, ft).item()
    np.testing.assert_allclose(diff, (1 - target) * r.mean(), rtol=1e-9, atol=1e-12)


def test_label_smoothing_keeps_the_generator_loss_and_checks_its_target():
    obj = one_sided_label_smoothing(0.9)
    assert obj.g_loss is losses.g_nonsaturating
    with pytest.raises(ValueError, match=r"\(0, 1\]"):
        one_sided_label_smoothing(1.5)


# ---------------------------------------------------------------- historical averaging


def test_historical_average_is_the_mean_of_past_parameters():
    rng = np.random.default_rng(0)
    w = nn.Parameter(rng.standard_normal((3, 2)))
    ha = HistoricalAverage([w], weight=0.5)
    seen = []
    for _ in range(5):
        w.data[...] = rng.standard_normal((3, 2))
        seen.append(w.data.copy())
        ha.update()
    np.testing.assert_allclose(ha.average[0], np.mean(seen, axis=0), rtol=1e-12)
    # penalty = weight * ||w - mean||^2 with gradient 2 * weight * (w - mean)
    w.data[...] = rng.standard_normal((3, 2))
    p = ha.penalty()
    np.testing.assert_allclose(p.item(), 0.5 * ((w.data - ha.average[0]) ** 2).sum())
    g, = tg.grad(p, [w])
    np.testing.assert_allclose(g.numpy(), 2 * 0.5 * (w.data - ha.average[0]), rtol=1e-12)


def test_historical_average_penalty_is_zero_at_the_average():
    rng = np.random.default_rng(1)
    w = nn.Parameter(rng.standard_normal(4))
    ha = HistoricalAverage([w], weight=2.0)
    for _ in range(3):
        w.data[...] = rng.standard_normal(4)
        ha.update()
    w.data[...] = ha.average[0]
    p = ha.penalty()
    assert p.item() == 0
    g, = tg.grad(p, [w])
    np.testing.assert_array_equal(g.numpy(), 0)
    # as a hook it folds the current parameters in first: a constant history costs nothing
    v = nn.Parameter(np.ones(3))
    hook = HistoricalAverage([v], weight=1.0)
    assert all(hook().item() == 0 for _ in range(3))
    with pytest.raises(ValueError, match="no parameters"):
        HistoricalAverage([])
    with pytest.raises(ValueError, match="player"):
        HistoricalAverage([v], player="critic")


def test_historical_average_state_round_trip():
    rng = np.random.default_rng(2)
    w = nn.Parameter(rng.standard_normal((2, 3)))
    a = HistoricalAverage([w], weight=1.0, player="generator")
    for _ in range(4):
        w.data[...] = rng.standard_normal((2, 3))
        a.update()
    b = HistoricalAverage([w], weight=1.0, player="generator")
    b.load_state_dict(a.state_dict())
    assert b.count == 4 and np.array_equal(b.average[0], a.average[0])
    assert b.d_loss(None) is None and b.g_loss(None).item() == a.g_loss(None).item()


# ---------------------------------------------------------------- instance noise


def test_instance_noise_anneals_linearly_to_zero():
    noisy = InstanceNoise(nn.Identity(), std=0.4, anneal_iterations=100, seed=0)
    stds = [noisy.std_at(t) for t in range(0, 160, 10)]
    np.testing.assert_allclose(stds[:11], 0.4 * (1 - np.arange(0, 110, 10) / 100), atol=1e-15)
    assert all(a >= b for a, b in zip(stds, stds[1:]))
    assert stds[-1] == 0 and stds[0] == 0.4


def test_instance_noise_has_the_scheduled_spread_and_stops_in_eval():
    noisy = InstanceNoise(nn.Identity(), std=0.3, anneal_iterations=10, seed=0)
    x = Tensor(np.zeros((20000, 2)))
    noisy.set_iteration(5)  # std 0.15
    spread = noisy(x).numpy().std()
    assert abs(spread - 0.15) < 0.03 * 0.15  # 40,000 draws: relative s.e. 0.35 %
    noisy.eval()
    np.testing.assert_array_equal(noisy(x).numpy(), 0)
    noisy.train()
    noisy.set_iteration(10)
    np.testing.assert_array_equal(noisy(x).numpy(), 0)


def test_trainer_advances_the_instance_noise_clock():
    ring = toy.ring_2d()
    G, D = mlp([2, 8, 2], dtype=np.float32), mlp([2, 8, 1], dtype=np.float32)
    noisy = InstanceNoise(D, std=0.5, anneal_iterations=4, seed=1)
    seen = []

    class Watch(Hook):
        def before_step(self, trainer):
            seen.append(noisy.current_std)

    t = Trainer(G, noisy, Adam(G.parameters(), 1e-3), Adam(noisy.parameters(), 1e-3),
                data=lambda m, rng: ring.sample(m, rng=rng), noise=normal_noise(2),
                batch_size=8, log_every=1, hooks=[AnnealNoise(noisy), Watch()])
    t.fit(5)
    np.testing.assert_allclose(seen, [0.5, 0.375, 0.25, 0.125, 0.0])
    state = t.hooks[0].state_dict()
    draw = noisy.rng.standard_normal(3)
    t.hooks[0].load_state_dict(state)  # the noise stream is part of the run's state
    np.testing.assert_array_equal(noisy.rng.standard_normal(3), draw)


# ---------------------------------------------------------------- EMA


def test_ema_averages_weights_and_leaves_the_model_alone():
    model = mlp([2, 3, 1])
    ema = EMA(model, decay=0.9)
    start = [p.numpy().copy() for p in model.parameters()]
    assert ema.current_decay() == pytest.approx(0.1)  # (1 + 0) / (10 + 0): warm-up
    for p in model.parameters():
        p.data += 1.0
    ema.update()
    for a, s, p in zip(ema.module.parameters(), start, model.parameters()):
        np.testing.assert_allclose(a.numpy(), 0.1 * s + 0.9 * p.numpy(), rtol=1e-12)
        assert a is not p
    for _ in range(200):
        ema.update()
    assert ema.current_decay() == 0.9
    for a, p in zip(ema.module.parameters(), model.parameters()):
        np.testing.assert_allclose(a.numpy(), p.numpy(), rtol=1e-8)
    assert not ema.module.training
    with pytest.raises(ValueError, match="decay"):
        EMA(model, decay=1.0)
    other = EMA(mlp([2, 3, 1], seed=5), decay=0.9)
    other.load_state_dict(ema.state_dict())
    assert other.updates == ema.updates
    for a, b in zip(other.module.parameters(), ema.module.parameters()):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
