"""The Algorithm-1 trainer: k discriminator steps per generator step, each step touching only its
own player, the chosen objective's gradients, seeded repeatability and the recorded history."""
import math

import numpy as np
import pytest

import tinygan as tg
import tinygan.nn as nn
from tinygan import backend, init
from tinygan.data import toy
from tinygan.gan import losses
from tinygan.gan.hooks import LinearDecay
from tinygan.gan.trainer import Hook, Trainer, frozen, normal_noise, uniform_noise
from tinygan.optim import SGD, Adam


class CountingAdam(Adam):
    """Adam that writes its name into a shared log on every step."""

    def __init__(self, params, log, name, **kw):
        super().__init__(params, **kw)
        self.log, self.name = log, name

    def step(self):
        self.log.append(self.name)
        super().step()


def models(seed=0, device="cpu", hidden=8):
    rng = backend.rng(seed, device)
    G = nn.Sequential(nn.Linear(2, hidden), nn.Tanh(), nn.Linear(hidden, 2))
    D = nn.Sequential(nn.Linear(2, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, 1))
    for m in (G, D):
        init.default_init_(m.to(device), rng)  # the rng's numbers live on its device
    return G, D


def make(k=1, seed=0, device="cpu", objective="nonsaturating", log=None, **kw):
    G, D = models(seed, device)
    log = [] if log is None else log
    ring = toy.ring_2d()
    return Trainer(G, D, CountingAdam(G.parameters(), log, "G", lr=1e-2),
                   CountingAdam(D.parameters(), log, "D", lr=1e-2),
                   data=lambda m, rng: ring.sample(m, rng=rng, device=device),
                   noise=normal_noise(2), batch_size=16, d_steps=k, objective=objective,
                   seed=seed, device=device, **kw)


def params(module):
    return [p.numpy().copy() for p in module.parameters()]


def same(a, b):
    return all(np.array_equal(x, y) for x, y in zip(a, b))


@pytest.mark.parametrize("k", [1, 2, 5])
def test_exactly_k_discriminator_steps_per_generator_step(k):
    log = []
    trainer = make(k=k, log=log)
    trainer.fit(4)
    assert log == (["D"] * k + ["G"]) * 4
    assert trainer.iteration == 4


def test_a_discriminator_step_never_changes_the_generator(device):
    trainer = make(device=device)
    g0, d0 = params(trainer.G), params(trainer.D)
    trainer.d_step()
    assert same(params(trainer.G), g0)
    assert not same(params(trainer.D), d0)  # it did train D
    assert all(p.grad is None for p in trainer.G.parameters())


def test_a_generator_step_never_changes_the_discriminator(device):
    trainer = make(device=device)
    trainer.d_step()
    d_grads = [p.grad.numpy().copy() for p in trainer.D.parameters()]
    g0, d0 = params(trainer.G), params(trainer.D)
    trainer.g_step()
    assert same(params(trainer.D), d0)
    assert not same(params(trainer.G), g0)  # it did train G
    # D is frozen during the G step: its gradients from the last D step are left as they were
    assert same([p.grad.numpy() for p in trainer.D.parameters()], d_grads)
    assert all(p.requires_grad for p in trainer.D.parameters())  # and unfrozen afterwards


def test_the_same_seed_gives_identical_runs(device):
    a, b, c = make(seed=3, device=device), make(seed=3, device=device), make(seed=4, device=device)
    for t in (a, b, c):
        t.fit(20)
    assert same(params(a.G), params(b.G)) and same(params(a.D), params(b.D))
    assert a.history == b.history
    assert not same(params(a.G), params(c.G))


@pytest.mark.parametrize("objective", ["saturating", "nonsaturating", "least_squares"])
def test_generator_step_follows_the_chosen_objective(objective):
    """G's gradient after g_step equals the gradient of the named loss on the same noise."""
    z = tg.tensor(np.linspace(-1, 1, 32).reshape(16, 2))
    trainer = make(objective=objective)
    trainer.noise = lambda m, rng: z
    G, D = trainer.G, trainer.D
    loss = losses.objective(objective)[1](D(G(z)))
    expected = tg.grad(loss, G.parameters())
    trainer.g_step()
    for p, e in zip(G.parameters(), expected):
        np.testing.assert_allclose(p.grad.numpy(), e.numpy(), rtol=1e-5, atol=1e-7)


def test_saturating_and_nonsaturating_gradients_differ_as_derived():
    """On one sample with logit a, d/da log(1 - D) = -D and d/da -log D = -(1 - D): the
    saturating gradient vanishes as D -> 0, the non-saturating one does not."""
    a = tg.tensor([[-6.0]], requires_grad=True, dtype=np.float64)
    d = 1 / (1 + math.exp(6.0))
    g_sat, = tg.grad(losses.g_saturating(a), [a])
    g_ns, = tg.grad(losses.g_nonsaturating(a), [a])
    assert g_sat.item() == pytest.approx(-d)
    assert g_ns.item() == pytest.approx(-(1 - d))


def test_history_is_window_averaged_every_log_every_iterations():
    trainer = make(k=2, log_every=5)
    done = trainer.fit(12)
    history = trainer.history
    assert done["steps"] == 12 and done["cpu_seconds"] > 0
    assert history["iteration"] == [5, 10]
    for key in ("d_loss", "g_loss", "d_real", "d_fake", "g_grad_norm"):
        assert len(history[key]) == 2 and all(math.isfinite(v) for v in history[key])
    assert all(0 < v < 1 for v in history["d_real"] + history["d_fake"])
    assert all(v > 0 for v in history["g_grad_norm"])


def test_history_matches_the_losses_of_the_steps():
    trainer = make(k=3, log_every=1)
    d_losses = []
    original = trainer.d_step
    trainer.d_step = lambda: d_losses.append(original().item())
    trainer.step()
    assert trainer.history["d_loss"][0] == pytest.approx(np.mean(d_losses), rel=1e-5)


def test_callback_runs_at_start_every_n_and_at_the_end():
    seen = []
    make().fit(25, callback=lambda t: seen.append(t.iteration), every=10)
    assert seen == [0, 10, 20, 25]


def test_linear_decay_scales_both_learning_rates():
    trainer = make(hooks=[LinearDecay(total=4, final=0.25)])
    trainer.fit(3)  # the rate of iteration t is set before it: t = 2 was the last
    assert trainer.g_opt.lr == pytest.approx(1e-2 * (1 - 0.75 * 2 / 4))
    assert trainer.d_opt.lr == pytest.approx(1e-2 * (1 - 0.75 * 2 / 4))
    trainer.fit(5)
    assert trainer.g_opt.lr == pytest.approx(1e-2 * 0.25)  # held at `final` after `total`


class Recorder(Hook):
    """Records every call, adds 0 to D's loss and ||G(z)||^2 to G's."""

    def __init__(self, calls):
        self.calls = calls

    def before_step(self, trainer): self.calls.append("before")
    def after_step(self, trainer): self.calls.append("after")

    def d_loss(self, trainer, real, fake, real_logits, fake_logits):
        self.calls.append("D")
        return 0.0 * real_logits.sum()

    def g_loss(self, trainer, fake, fake_logits):
        self.calls.append("G")
        return (fake * fake).mean()


def test_hooks_are_called_in_order_and_their_terms_added():
    calls = []
    plain, hooked = make(seed=1, k=2), make(seed=1, k=2, hooks=[Recorder(calls)])
    plain.step()
    hooked.step()
    assert calls == ["before", "D", "D", "G", "after"]
    assert same(params(plain.D), params(hooked.D))   # a zero extra term changes nothing
    assert not same(params(plain.G), params(hooked.G))


def test_a_hook_must_be_a_hook():
    with pytest.raises(TypeError, match=r"hooks\[0\] is a function"):
        make(hooks=[lambda trainer: None])


def test_state_dict_round_trip_continues_bit_identically():
    """A trainer rebuilt from another's state_dict (models, optimizers, random streams,
    counters, history, the half-summed statistics, hooks) steps exactly as the original."""
    a, b = make(seed=3, hooks=[LinearDecay(20, 0.1)]), make(seed=9, hooks=[LinearDecay(20, 0.1)])
    a.log_every = b.log_every = 4
    a.fit(6)  # 6 is not a multiple of log_every: partial sums are part of the state
    b.load_state_dict(a.state_dict())
    a.fit(7)
    b.fit(7)
    assert same(params(a.G), params(b.G)) and same(params(a.D), params(b.D))
    assert a.history == b.history and a.iteration == b.iteration == 13
    with pytest.raises(ValueError, match="hooks"):
        make().load_state_dict(a.state_dict())


def test_last_losses_are_kept():
    trainer = make()
    trainer.step()
    assert trainer.last_d_loss is not None and trainer.last_g_loss is not None
    assert np.isfinite(trainer.last_g_loss.item())


def test_noise_priors_have_the_right_shape_and_range(device):
    rng = backend.rng(0, device)
    u = uniform_noise(3, -2.0, 5.0)(1000, rng)
    n = normal_noise(2, std=3.0)(20000, rng)
    assert u.shape == (1000, 3) and u.device == device
    assert -2.0 <= u.numpy().min() and u.numpy().max() < 5.0
    assert abs(n.numpy().std() - 3.0) < 0.1


def test_frozen_restores_requires_grad():
    _, D = models()
    with frozen(D):
        assert not any(p.requires_grad for p in D.parameters())
    assert all(p.requires_grad for p in D.parameters())


def test_works_with_any_optimizer_and_a_pair_of_loss_functions():
    G, D = models()
    ring = toy.ring_2d()
    trainer = Trainer(G, D, SGD(G.parameters(), 0.05), SGD(D.parameters(), 0.05, momentum=0.9),
                      data=lambda m, rng: ring.sample(m, rng=rng), noise=uniform_noise(2),
                      objective=(losses.d_hinge, losses.g_hinge), batch_size=8)
    trainer.fit(3)
    assert trainer.iteration == 3


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="d_steps"):
        make(k=0)
    with pytest.raises(ValueError, match="objective"):
        make(objective="minimax-ish")
