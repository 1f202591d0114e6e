"""Coarse to fine (lesson 13, part 1): the Laplacian pyramid, pixel norm, the minibatch
standard deviation, equalized learning rate, the fade schedule of progressive growing, the
staged trainer, and the LAPGAN and progressive experiments on synthetic digits."""
from __future__ import annotations

import math

import numpy as np
import pytest

import tinygan as tg
import tinygan.functional as F
import tinygan.nn as nn
from tinygan import conv, experiments
from tinygan.data import pyramid as P
from tinygan.data.digits import Digits
from tinygan.experiments import coarse as XC
from tinygan.gan import lapgan as L
from tinygan.gan import progressive as PG
from tinygan.gan.stages import StagedTrainer
from tinygan.gan.trainer import Hook, Trainer, normal_noise
from tinygan.optim import Adam
from tinygan.testing import gradcheck, gradgradcheck


@pytest.fixture(scope="module")
def tiny_digits():
    return Digits.synthetic_set(90, seed=3)


# ---------------------------------------------------------------- the Laplacian pyramid

def test_the_pyramid_reconstructs_exactly():
    x = np.random.default_rng(0).uniform(-1, 1, (3, 2, 28, 28))
    pyr = P.laplacian_pyramid(x, 3)
    assert [p.shape for p in pyr] == [(3, 2, 28, 28), (3, 2, 14, 14), (3, 2, 7, 7)]
    assert all(p.dtype == np.float64 for p in pyr)
    np.testing.assert_allclose(P.reconstruct(pyr), x, rtol=0, atol=1e-14)
    # the low-pass is the mean of every 4x4 block, and each detail has zero mean per 2x2 block
    np.testing.assert_allclose(pyr[2], x.reshape(3, 2, 7, 4, 7, 4).mean(axis=(3, 5)), atol=1e-14)
    for h in pyr[:2]:
        s = h.shape[2] // 2
        np.testing.assert_allclose(h.reshape(3, 2, s, 2, s, 2).mean(axis=(3, 5)), 0, atol=1e-14)
    np.testing.assert_array_equal(P.downsample(P.upsample(x)), x)     # d(u(I)) = I


def test_the_pyramid_is_differentiable_and_the_identity_through_reconstruct():
    x = np.random.default_rng(1).standard_normal((1, 1, 4, 4))
    assert gradcheck(lambda t: P.reconstruct(P.laplacian_pyramid(t, 3)), x)
    assert gradcheck(lambda t: P.laplacian_pyramid(t, 2)[0], x)
    out = P.laplacian_pyramid(tg.tensor(x.astype(np.float32)), 3)
    assert all(isinstance(p, tg.Tensor) for p in out)


def test_the_pyramid_refuses_what_does_not_halve():
    with pytest.raises(ValueError, match="multiples of 4"):
        P.laplacian_pyramid(np.zeros((1, 1, 10, 10)), 3)
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        P.downsample(np.zeros((28, 28)))
    with pytest.raises(ValueError, match="levels must be an int >= 1"):
        P.laplacian_pyramid(np.zeros((1, 1, 28, 28)), 0)
    with pytest.raises(ValueError, match="twice the size"):
        P.reconstruct([np.zeros((1, 1, 28, 28)), np.zeros((1, 1, 7, 7))])
    with pytest.raises(ValueError, match="empty"):
        P.reconstruct([])


# ---------------------------------------------------------------- the stabilizers

def test_pixel_norm_puts_every_pixel_on_the_sphere():
    x = np.random.default_rng(2).standard_normal((2, 5, 3, 3))
    y = F.pixel_norm(tg.tensor(x)).numpy()
    np.testing.assert_allclose((y ** 2).mean(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(y * np.sqrt((x ** 2).mean(axis=1, keepdims=True) + 1e-8), x,
                               rtol=1e-12)
    assert gradcheck(F.pixel_norm, x[:, :, :2, :2])
    assert gradgradcheck(F.pixel_norm, x[:1, :3, :2, :2])
    with pytest.raises(ValueError, match=r"\(N, C, \.\.\.\)"):
        F.pixel_norm(tg.tensor(np.ones(3)))


def test_minibatch_std_appends_the_batch_spread():
    x = np.random.default_rng(3).standard_normal((4, 3, 2, 2))
    y = F.minibatch_std(tg.tensor(x)).numpy()
    assert y.shape == (4, 4, 2, 2)
    np.testing.assert_array_equal(y[:, :3], x)
    np.testing.assert_allclose(y[:, 3], np.sqrt(x.var(axis=0) + 1e-8).mean(), rtol=1e-12)
    assert gradcheck(F.minibatch_std, x[:3, :2])
    assert gradgradcheck(F.minibatch_std, x[:2, :2, :1])
    with pytest.raises(ValueError, match="at least 2 samples"):
        F.minibatch_std(tg.tensor(x[:1]))
    # on features (N, d), lesson 3's toy D: one more column; a fixed value for one sample
    f = x.reshape(4, -1)
    np.testing.assert_allclose(F.minibatch_std(tg.tensor(f)).numpy()[:, -1],
                               np.sqrt(f.var(axis=0) + 1e-8).mean(), rtol=1e-12)
    layer = nn.MinibatchStd()
    layer.fixed_std = 0.5
    assert layer(tg.tensor(f[:1])).numpy()[0, -1] == 0.5


def test_equalized_layers_scale_unit_normal_weights_at_run_time():
    tg.manual_seed(0)
    conv_layer = nn.EqualizedConv2d(16, 32, 3, padding=1)
    w = conv_layer.weight.numpy()
    assert abs(w.std() - 1) < 0.03 and abs(w.mean()) < 0.03            # N(0, 1), 4,608 draws
    assert np.all(conv_layer.bias.numpy() == 0)
    assert conv_layer.scale == pytest.approx(math.sqrt(2) / math.sqrt(16 * 9))
    assert sorted(conv_layer.state_dict()) == ["bias", "weight"]
    x = tg.randn(2, 16, 5, 5)
    np.testing.assert_allclose(
        conv_layer(x).numpy(),
        conv.conv2d(x, tg.tensor(w * conv_layer.scale), conv_layer.bias, 1, 1).numpy(),
        rtol=1e-5, atol=1e-5)
    lin = nn.EqualizedLinear(10, 3, gain=1.0)
    assert lin.scale == pytest.approx(1 / math.sqrt(10))
    z = tg.randn(4, 10)
    np.testing.assert_allclose(lin(z).numpy(), z.numpy() @ (lin.weight.numpy().T / math.sqrt(10)),
                               rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="gain must be > 0"):
        nn.EqualizedLinear(3, 3, gain=0.0)


# ---------------------------------------------------------------- the fade schedule

def test_phases_fade_before_they_stabilize():
    assert PG.phases(3) == [(0, "stable"), (1, "fade"), (1, "stable"), (2, "fade"),
                            (2, "stable")]
    assert PG.phases(1) == [(0, "stable")]


def test_the_fade_schedule_order_and_alpha():
    ps = np.linspace(0, 1, 501)
    sched = [PG.fade_schedule(float(p)) for p in ps]
    levels = [s[0] for s in sched]
    assert levels == sorted(levels) and levels[0] == 0 and levels[-1] == 2
    assert PG.fade_schedule(0.0) == (0, 1.0)
    assert PG.fade_schedule(0.2) == (1, 0.0)            # a new level starts invisible...
    assert PG.fade_schedule(0.3) == pytest.approx((1, 0.5))
    assert PG.fade_schedule(0.4) == (1, 1.0)            # ...is stable after its fade
    assert PG.fade_schedule(0.7) == pytest.approx((2, 0.5))
    assert PG.fade_schedule(1.0) == (2, 1.0)
    for level in (1, 2):                                # alpha rises 0 -> 1 within a fade
        fading = [a for p, (lv, a) in zip(ps, sched) if lv == level and a < 1]
        assert fading == sorted(fading) and fading[0] == 0.0 and fading[-1] > 0.95
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        PG.fade_schedule(1.5)


def test_growth_blends_the_new_block_with_the_old_path():
    tg.manual_seed(0)
    G, D, growth = PG.progressive_gan(width=8)
    z = tg.randn(3, 100)
    G.eval()
    growth.set(0, 1.0)
    x7 = G(z).numpy()                                     # 7x7 upsampled: constant 4x4 blocks
    np.testing.assert_array_equal(x7, np.repeat(np.repeat(x7[:, :, ::4, ::4], 4, 2), 4, 3))
    G.train()
    growth.set(1, 0.0)
    old = G(z).numpy()
    growth.set(1, 1.0)
    new = G(z).numpy()
    growth.set(1, 0.25)
    np.testing.assert_allclose(G(z).numpy(), 0.25 * new + 0.75 * old, rtol=1e-5, atol=1e-6)
    growth.set(0, 1.0)
    np.testing.assert_allclose(old, G(z).numpy(), rtol=1e-5, atol=1e-6)  # alpha 0 = last level
    x = tg.randn(4, 1, 28, 28)
    growth.set(2, 0.0)
    d_old = D(x).numpy()
    growth.set(1, 1.0)
    np.testing.assert_allclose(d_old, D(x).numpy(), rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="alpha in"):
        growth.set(1, 1.5)


def test_real_digits_are_shown_as_the_growing_generator_can_draw_them():
    images = np.random.default_rng(4).uniform(-1, 1, (20, 1, 28, 28)).astype(np.float32)
    growth = PG.Growth()
    data = PG.real_sampler(images, growth)
    growth.set(1, 0.5)
    x = data(5, np.random.default_rng(0)).numpy()
    # at 14x14 halfway through the fade: 0.5 x_14 + 0.5 u(d(x_14)), shown at 28x28
    idx = np.random.default_rng(0).integers(0, 20, 5)
    x14 = P.downsample(images[idx])
    want = P.upsample(0.5 * x14 + 0.5 * P.upsample(P.downsample(x14)))
    np.testing.assert_allclose(x, want, rtol=1e-5, atol=1e-6)
    growth.set(2, 1.0)
    np.testing.assert_array_equal(data(5, np.random.default_rng(0)).numpy(), images[idx])


def test_the_growing_trainer_follows_its_plan(tiny_digits):
    exp = XC.build(XC.ProgressiveConfig(width=4, batch_size=4, eval_samples=0, steps=10),
                   digits=tiny_digits)
    growth, seen = exp.parts["growth"], []
    exp.trainer.hooks.append(_Spy(lambda t: seen.append((growth.level, growth.alpha))))
    exp.trainer.fit(steps=10)
    assert [lv for lv, _ in seen] == [0, 0, 1, 1, 1, 1, 2, 2, 2, 2]
    assert seen[2] == (1, 0.0) and seen[4] == (1, 1.0) and seen[7] == (2, 0.5)
    assert exp.trainer.progress() == 1.0
    exp.trainer.plan(seconds=1e9, clock="cpu")              # an explicit plan: barely started
    exp.trainer.fit(steps=1)
    assert growth.level == 0 and exp.trainer.progress() < 1e-3
    with pytest.raises(ValueError, match="needs a budget"):
        exp.trainer.plan()


class _Spy(Hook):
    """Calls fn(trainer) before every iteration, after the schedule has set the growth."""

    def __init__(self, fn):
        self.fn = fn

    def before_step(self, trainer):
        self.fn(trainer)


# ---------------------------------------------------------------- the staged trainer

def _tiny_trainer(seed):
    G, D = nn.Linear(2, 3), nn.Linear(3, 1)
    return Trainer(G, D, Adam(G.parameters(), 1e-3), Adam(D.parameters(), 1e-3),
                   lambda m, rng: tg.tensor(rng.standard_normal((m, 3)).astype(np.float32)),
                   normal_noise(2), batch_size=4, seed=seed, log_every=1)


def test_staged_trainer_splits_the_budget_in_order():
    staged = StagedTrainer({"a": _tiny_trainer(0), "b": _tiny_trainer(1)}, (0.25, 0.75))
    staged.fit(steps=8)
    assert [t.iteration for t in staged.trainers] == [2, 6] and staged.iteration == 8
    assert staged.history["iteration"] == list(range(1, 9))
    for _ in range(4):                     # step(): the stage furthest behind its share
        staged.step()
    assert [t.iteration for t in staged.trainers] == [3, 9]
    state = staged.state_dict()
    other = StagedTrainer({"a": _tiny_trainer(5), "b": _tiny_trainer(6)}, (0.25, 0.75))
    other.load_state_dict(state)
    assert other.iteration == 12
    with pytest.raises(ValueError, match="summing to 1"):
        StagedTrainer({"a": _tiny_trainer(0)}, (0.5,))
    with pytest.raises(ValueError, match="another recipe"):
        StagedTrainer({"c": _tiny_trainer(0)}, (1.0,)).load_state_dict(state)


# ---------------------------------------------------------------- the experiments

def test_lapgan_levels_and_experiment(tiny_digits):
    G, Ds = L.lapgan(width=4)
    assert G.z_dim == L.COARSE_Z + 14 * 14 + 28 * 28    # z carries the noise planes too
    z = tg.randn(3, G.z_dim)
    levels = G.levels(z)
    assert [tuple(v.shape) for v in levels] == [(3, 1, 7, 7), (3, 1, 14, 14), (3, 1, 28, 28)]
    assert [tuple(D(tg.randn(3, c, s, s)).shape) for D, c, s in zip(Ds, (1, 2, 2), (7, 14, 28))] \
        == [(3, 1)] * 3
    # G_k passes l on for D and draws h; D judges l + h with l beside it
    packed = tg.randn(3, 2, 14, 14)
    out = G.details[0](packed)
    np.testing.assert_array_equal(out[:, :1].numpy(), packed[:, :1].numpy())
    with pytest.raises(ValueError, match="noise plane"):
        G.details[0](tg.randn(3, 1, 14, 14))
    exp = XC.build(XC.LAPGANConfig(batch_size=8, eval_samples=0, detail_width=4),
                   digits=tiny_digits)
    exp.trainer.fit(steps=6)
    assert [t.iteration for t in exp.trainer.trainers] == [1, 2, 3]
    images = exp.sample(4)["images"]
    assert images.shape == (4, 1, 28, 28) and images.min() >= -1 and images.max() <= 1
    from tinygan.experiments import digits as X
    average = X.averaged_generator(exp)       # each level's own weight average, put together
    assert average is not exp.generator and not average.training
    for level, trained in zip([average.coarse, *average.details],
                              [exp.generator.coarse, *exp.generator.details]):
        assert level is not trained
    assert X.generate(average, 3).shape == (3, 1, 28, 28)
    with pytest.raises(ValueError, match="shares must be three positive numbers"):
        XC.LAPGANConfig(shares=(0.5, 0.5, 0.5))


def test_progressive_experiment_trains_with_the_gradient_penalty(tiny_digits):
    assert experiments.get("progressive").config is XC.ProgressiveConfig
    assert experiments.get("lapgan").config is XC.LAPGANConfig
    exp = XC.build(XC.ProgressiveConfig(width=4, batch_size=4, eval_samples=0, steps=5),
                   digits=tiny_digits)
    before = [p.numpy().copy() for p in exp.generator.parameters()]
    exp.trainer.fit(steps=5)
    assert any(not np.array_equal(a, p.numpy()) for a, p in zip(before, exp.generator.parameters()))
    assert exp.ema.module.growth is exp.parts["growth"]     # the average grows with G
    assert np.isfinite(float(exp.trainer.last_d_loss.item()))
    out = exp.sample(3)["images"]
    assert out.shape == (3, 1, 28, 28) and out.max() <= 1
