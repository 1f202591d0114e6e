"""The digit experiments (tinygan.experiments.digits) and their data (tinygan.data.digits): the
synthetic stand-in, a few Algorithm-1 iterations of each model moving both players, sampling,
the packed sampler of the conditional GAN, and the EMA's batch-norm re-estimation."""
import numpy as np
import pytest

import tinygan as tg
import tinygan.nn as nn
from tinygan.data.digits import Digits, synthetic_digits
from tinygan.experiments import digits as X

CONFIGS = {"mlp": X.DigitsConfig, "dcgan": X.DCGANConfig, "cgan": X.CGANConfig}


@pytest.fixture(scope="module")
def tiny_digits():
    return Digits.synthetic_set(64, seed=3)


def make(name, digits, device=None, **settings):
    return X.build(CONFIGS[name](**settings), device, digits=digits)


def test_synthetic_digits(tiny_digits):
    images, labels = tiny_digits.images, tiny_digits.labels
    assert images.shape == (64, 1, 28, 28) and images.dtype == np.float32
    assert images.min() == -1 and images.max() == 1
    assert set(labels.tolist()) <= set(range(10)) and len(set(labels.tolist())) > 5
    again, _ = synthetic_digits(64, seed=3)
    np.testing.assert_array_equal(images, again)
    ink = (images + 1).sum(axis=(1, 2, 3)) / 2
    eights, ones = ink[labels == 8], ink[labels == 1]
    assert eights.min() > ones.max()  # seven segments hold more ink than one stroke


@pytest.mark.parametrize("name", X.MODELS)
def test_a_few_iterations_move_both_players(name, tiny_digits, device):
    exp = make(name, tiny_digits, device, seed=1, batch_size=8, log_every=2, ema_decay=0.99)
    D = exp.parts["discriminator"]
    g0 = [p.numpy().copy() for p in exp.generator.parameters()]
    d0 = [p.numpy().copy() for p in D.parameters()]
    done = exp.trainer.fit(steps=2)
    assert done["steps"] == exp.trainer.iteration == 2 and done["wall_seconds"] > 0
    assert any(not np.array_equal(a, p.numpy()) for a, p in zip(g0, exp.generator.parameters()))
    assert any(not np.array_equal(a, p.numpy()) for a, p in zip(d0, D.parameters()))
    hist = exp.trainer.history
    assert hist["iteration"] == [2] and np.isfinite(hist["d_loss"][0])
    labels = X.balanced_labels(12) if X.is_conditional(exp) else None
    for averaged in (False, True):
        images = X.generate(exp, 12, seed=0, labels=labels, averaged=averaged)
        assert images.shape == (12, 1, 28, 28) and np.all(np.abs(images) <= 1)
    assert exp.generator.parameters()[0].device == device


def test_generate_is_repeatable_and_label_checked(tiny_digits):
    exp = make("cgan", tiny_digits, seed=0)
    a = X.generate(exp, 5, seed=7, labels=[0, 1, 2, 3, 4])
    b = X.generate(exp, 5, seed=7, labels=[0, 1, 2, 3, 4])
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="needs labels"):
        X.generate(exp, 5)
    with pytest.raises(ValueError, match="not conditional"):
        X.generate(make("mlp", tiny_digits), 5, labels=[0] * 5)
    out = exp.sample(5, seed=7, labels=[0, 1, 2, 3, 4])
    np.testing.assert_array_equal(out["images"], a)
    np.testing.assert_array_equal(out["labels"], [0, 1, 2, 3, 4])
    with pytest.raises(ValueError, match="one per sample"):
        exp.sample(5, labels=[1, 2])


def test_fit_needs_a_budget_and_a_known_clock(tiny_digits):
    trainer = make("mlp", tiny_digits).trainer
    with pytest.raises(ValueError, match="needs a budget"):
        trainer.fit()
    with pytest.raises(ValueError, match="clock must be"):
        trainer.fit(steps=1, clock="gpu")
    with pytest.raises(ValueError, match="unknown model 'gan'"):
        X.build_models("gan")


def test_same_seed_same_run(tiny_digits):
    runs = []
    for _ in range(2):
        exp = make("mlp", tiny_digits, seed=5, batch_size=8)
        exp.trainer.fit(steps=2)
        runs.append([p.numpy() for p in exp.generator.parameters()])
    assert all(np.array_equal(a, b) for a, b in zip(*runs))


def test_packed_sampler_keeps_labels_with_their_images(tiny_digits):
    exp = make("cgan", tiny_digits)
    rows = exp.trainer.data(16, np.random.default_rng(0)).numpy()
    flat = tiny_digits.images.reshape(64, 784)
    for row in rows:
        i = np.flatnonzero((flat == row[:784]).all(axis=1))[0]
        assert row[784:].argmax() == tiny_digits.labels[i] and row[784:].sum() == 1
    noise = X.packed_noise()(1000, np.random.default_rng(0)).numpy()
    assert noise.shape == (1000, 110) and np.all(noise[:, 100:].sum(axis=1) == 1)
    assert np.bincount(noise[:, 100:].argmax(axis=1), minlength=10).min() > 60


def test_ema_update_rule_on_a_dcgan(tiny_digits):
    exp = make("dcgan", tiny_digits, seed=2, batch_size=4, ema_decay=0.9)
    avg0 = [p.numpy().copy() for p in exp.ema.module.parameters()]
    exp.trainer.fit(steps=1)
    d = min(0.9, 1 / 10)  # the warm-up factor (1 + t) / (10 + t) at t = 0
    for a0, a, live in zip(avg0, exp.ema.module.parameters(), exp.generator.parameters()):
        np.testing.assert_allclose(a.numpy(), d * a0 + (1 - d) * live.numpy(), rtol=1e-5,
                                   atol=1e-7)
    assert not any(p.requires_grad for p in exp.ema.module.parameters())


def test_averaged_generator_gets_its_own_batch_norm_statistics(tiny_digits):
    exp = make("mlp", tiny_digits, seed=0, batch_size=8, ema_decay=0.99)
    exp.trainer.fit(steps=3)
    G = X.averaged_generator(exp)
    assert not G.training
    bn = G.net[1]
    assert isinstance(bn, nn.BatchNorm1d) and bn.momentum == 0.1  # restored after calibration
    assert int(bn.num_batches_tracked.item()) == 8
    # the cumulative average over the 8 calibration batches of 256: recompute it by hand
    rng = np.random.default_rng(0)
    first = G.net[0]
    means = [first(tg.tensor(rng.standard_normal((256, 100)).astype(np.float32)))
             .numpy().mean(axis=0) for _ in range(8)]
    np.testing.assert_allclose(bn.running_mean.numpy(), np.mean(means, axis=0), rtol=1e-4,
                               atol=1e-5)
    a = X.generate(exp, 6, seed=1, averaged=True)
    b = X.generate(exp, 6, seed=1)
    assert a.shape == b.shape and not np.array_equal(a, b)
    with pytest.raises(ValueError, match="keeps no weight average"):
        X.generate(make("mlp", tiny_digits, ema_decay=None), 2, averaged=True)
