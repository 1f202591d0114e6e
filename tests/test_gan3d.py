"""3D-GAN's pieces (Wu et al. 2016, arXiv 1610.07584): the volumetric G and D (shapes, G's
output in (0, 1), D's features), the adaptive rule (D's optimizer steps exactly when its batch
accuracy is at most the threshold, with a rigged D; the counters survive a checkpoint), the
voxel judge (its checksum, its accuracy on fresh shapes, the class-mix and confidence scores
on known inputs), the linear probe on a separable case, and a tiny run of the experiment
through evaluate()."""
import json

import numpy as np
import pytest

import tinygan as tg
import tinygan.nn as nn
from tinygan import io, optim
from tinygan.data.voxels import shapes
from tinygan.experiments import gan3d as X
from tinygan.gan import gan3d as G3
from tinygan.gan import voxel_judge as VJ
from tinygan.gan.trainer import uniform_noise


@pytest.fixture(scope="module")
def judge():
    return VJ.load_judge()


# ---------------------------------------------------------------- the networks


def test_generator_and_discriminator_shapes():
    G, D = G3.gan3d(z_dim=8, g_width=4, d_width=4)
    z = uniform_noise(8, 0.0, 1.0)(5, np.random.default_rng(0))
    x = G(z)
    assert x.shape == (5, 1, 16, 16, 16)
    v = x.numpy()
    assert ((v > 0) & (v < 1)).all()                  # a sigmoid: occupancy probabilities
    assert D(x).shape == (5, 1)
    assert D.features(x).shape == (5, D.feature_dim) == (5, 2 * 4 * 4 ** 3)
    assert D.probe_features(x).shape == (5, 6 * 4)    # both blocks, max- and mean-pooled
    with_std = G3.gan3d(z_dim=8, g_width=4, d_width=4, d_batch_norm=False, minibatch_std=True)[1]
    assert with_std(x).shape == (5, 1) and with_std.features(x).shape == (5, 2 * 4 * 4 ** 3)
    with pytest.raises(ValueError, match=r"voxels has shape \(5, 1, 8, 8, 8\), expected "
                                         r"\(N, 1, 16, 16, 16\)"):
        D(tg.zeros(5, 1, 8, 8, 8))
    with pytest.raises(ValueError, match=r"z has shape \(5, 7\), expected \(N, 8\)"):
        G(tg.zeros(5, 7))
    with pytest.raises(ValueError, match="g_width must be an int >= 1, got 0"):
        G3.gan3d(g_width=0)


def test_generate_and_interpolate_are_seeded_and_follow_the_line():
    G, _ = G3.gan3d(z_dim=8, g_width=4, d_width=4)
    a, b = G3.generate(G, 3, seed=1), G3.generate(G, 3, seed=1)
    assert a.shape == (3, 1, 16, 16, 16) and a.dtype == np.float32 and np.array_equal(a, b)
    line = G3.interpolate(G, 5, seed=2)
    assert line["voxels"].shape == (5, 1, 16, 16, 16) and line["t"].tolist() == [0, .25, .5,
                                                                                .75, 1]
    z = line["z"]
    np.testing.assert_allclose(z[2], (z[0] + z[4]) / 2, atol=1e-6)   # a straight line
    assert (z >= 0).all() and (z <= 1).all()                          # inside U(0, 1)'s cube
    np.testing.assert_allclose(line["voxels"], G3.generate(G, z=z), atol=1e-6)
    with pytest.raises(ValueError, match="steps must be an int >= 2"):
        G3.interpolate(G, 1)
    with pytest.raises(ValueError, match=r"z has shape \(2, 3\), expected \(n, 8\)"):
        G3.generate(G, z=np.zeros((2, 3)))


# ---------------------------------------------------------------- the adaptive rule


class RiggedD(nn.Module):
    """A discriminator whose accuracy the test sets: of m real samples (rows of ones) it calls
    `right_real` real, of m fake ones (zeros) `right_fake` fake; logits +-10 plus a learnable
    offset b (small steps of b flip no sign)."""

    def __init__(self):
        self.b = nn.Parameter(np.zeros(1, np.float32))
        self.right_real = self.right_fake = 0

    def forward(self, x):
        m = x.shape[0]
        real = float(x.numpy()[0, 0]) == 1.0
        right = self.right_real if real else self.right_fake
        sign = np.where(np.arange(m) < right, 1.0, -1.0) * (1 if real else -1)
        return tg.tensor((10 * sign).astype(np.float32).reshape(m, 1)) + self.b + 0 * x[:, :1]


def _rigged_trainer(threshold=0.8, m=10):
    G = nn.Linear(2, 2)
    for p in G.parameters():
        p.data[...] = 0                                  # fakes are zeros
    D = RiggedD()
    trainer = G3.AdaptiveTrainer(G, D, optim.Adam(G.parameters()),
                                 optim.SGD(D.parameters(), 0.01), data=lambda n, rng: tg.ones(n, 2),
                                 noise=uniform_noise(2), batch_size=m, log_every=1,
                                 d_threshold=threshold)
    step = trainer.d_opt.step
    trainer.d_opt_steps = 0

    def counted_step():   # a spy on D's optimizer: how often it really stepped
        trainer.d_opt_steps += 1
        step()
    trainer.d_opt.step = counted_step
    return trainer


@pytest.mark.parametrize("right_real, right_fake, steps", [
    (10, 6, True),     # 16 / 20 = 0.80: at the threshold, D steps
    (10, 7, False),    # 17 / 20 = 0.85: above it, skipped
    (5, 5, True),      # 0.50
    (10, 10, False),   # 1.00
    (0, 0, True)])     # 0.00
def test_d_steps_exactly_when_its_batch_accuracy_is_at_most_the_threshold(right_real,
                                                                         right_fake, steps):
    trainer = _rigged_trainer()
    D = trainer.D
    D.right_real, D.right_fake = right_real, right_fake
    trainer.step()
    assert trainer.d_opt_steps == int(steps)
    assert (trainer.d_updates, trainer.d_checks) == (int(steps), 1)
    assert trainer.history["d_accuracy"] == [pytest.approx((right_real + right_fake) / 20)]
    assert trainer.history["d_updated"] == [float(steps)]


def test_without_the_rule_d_always_steps_and_the_counters_add_up():
    for threshold in (None, 1.0):
        trainer = _rigged_trainer(threshold)
        trainer.D.right_real = trainer.D.right_fake = 10     # accuracy 1
        trainer.fit(3)
        assert (trainer.d_updates, trainer.d_checks, trainer.d_opt_steps) == (3, 3, 3)
    trainer = _rigged_trainer(0.8)
    for right in (10, 3, 10, 10, 2):                           # accuracies .. 1, .65, 1, 1, .6
        trainer.D.right_real = trainer.D.right_fake = right
        trainer.step()
    assert (trainer.d_updates, trainer.d_checks, trainer.d_opt_steps) == (2, 5, 2)
    assert trainer.d_update_fraction == pytest.approx(0.4)
    assert trainer.history["d_updated"] == [0.0, 1.0, 0.0, 0.0, 1.0]
    with pytest.raises(ValueError, match=r"d_threshold must lie in \[0, 1\].*got 1.5"):
        _rigged_trainer(1.5)


def test_the_counters_survive_a_checkpoint(tmp_path):
    exp = X.build(X.GAN3DConfig(steps=6, batch_size=4, z_dim=4, g_width=2, d_width=2,
                                n_train=8, log_every=2, d_threshold=0.6, seed=3))
    exp.trainer.fit(4)
    exp.trainer.d_updates += 100        # a count no fresh trainer has, so a restore shows
    io.save(tmp_path / "state.npz", {"trainer": exp.trainer.state_dict()})
    again = X.build(exp.config.replace(seed=5))
    again.trainer.load_state_dict(io.load(tmp_path / "state.npz")["trainer"])
    assert (again.trainer.d_updates, again.trainer.d_checks) == (exp.trainer.d_updates, 4)
    assert again.trainer.history == exp.trainer.history
    exp.trainer.fit(2)
    again.trainer.fit(2)
    assert again.trainer.history == exp.trainer.history and again.trainer.d_checks == 6
    assert again.trainer.d_updates == exp.trainer.d_updates


# ---------------------------------------------------------------- the voxel judge


def test_the_judge_refuses_a_changed_file(tmp_path):
    changed = tmp_path / "judge.npz"
    data = bytearray(VJ.ASSET.read_bytes())
    data[len(data) // 2] ^= 1
    changed.write_bytes(bytes(data))
    with pytest.raises(VJ.JudgeChecksumError, match="does not match the recorded"):
        VJ.load_judge(changed)
    with pytest.raises(VJ.JudgeChecksumError, match="does not match"):
        VJ.load_judge(sha256="0" * 64)        # the committed file, another checksum
    assert VJ.sha256_of(VJ.ASSET) == VJ.JUDGE_SHA256
    with pytest.raises(FileNotFoundError, match="train_judge"):
        VJ.load_judge(tmp_path / "missing.npz")


def test_the_judge_is_accurate_on_fresh_shapes(judge):
    x, y = shapes(400, 16, seed=7000)      # neither its training seeds nor its held-out one
    assert VJ.accuracy(judge, x, y) >= 0.95


def test_class_mix_and_confidence_on_known_inputs(judge):
    one_hot = np.eye(4)[[0, 0, 0, 1]]
    mix = VJ.class_mix(one_hot)
    assert mix["class_mix"] == {"sphere": 0.75, "box": 0.25, "cylinder": 0.0, "torus": 0.0}
    assert mix["class_mix_max_deviation"] == pytest.approx(50.0)      # 75 % - 25 %, in points
    assert mix["judge_confidence"] == 1.0
    assert VJ.class_mix(np.full((8, 4), 0.25))["judge_confidence"] == 0.25
    x, _ = shapes(200, 16, seed=7001)       # real shapes, 50 of each class
    real = VJ.scores(judge, x)
    assert real["class_mix_max_deviation"] < 5 and real["judge_confidence"] > 0.9
    # probabilities are thresholded at 0.5 first: 0.6 is filled, 0.4 empty
    assert VJ.scores(judge, np.where(x > 0, 0.6, 0.4)) == real
    with pytest.raises(ValueError, match=r"expected voxels of shape \(N, 1, 16, 16, 16\)"):
        VJ.binarize(np.zeros((2, 16, 16, 16)))


# ---------------------------------------------------------------- the probe and the run


def test_the_probe_separates_a_separable_case():
    rng = np.random.default_rng(0)
    y_train, y_test = np.arange(80) % 4, np.arange(40) % 4
    f_train, f_test = (np.eye(4)[y] * 3 + rng.normal(0, 0.3, (len(y), 4)) for y in
                       (y_train, y_test))
    extra = rng.normal(0, 1, (120, 6))      # six uninformative features
    probe = G3.linear_probe(np.c_[f_train, extra[:80]], y_train, np.c_[f_test, extra[80:]],
                            y_test)
    assert probe == {"train_accuracy": 1.0, "test_accuracy": 1.0}
    with pytest.raises(ValueError, match="differ in width"):
        G3.linear_probe(f_train, y_train, extra[:40], y_test)


def test_a_tiny_run_end_to_end():
    config = X.GAN3DConfig(steps=3, batch_size=4, z_dim=4, g_width=2, d_width=2, n_train=16,
                           eval_samples=8, probe_shapes=8, log_every=1, ema_decay=0.9)
    exp = X.build(config)
    exp.trainer.fit(config.steps)
    out = exp.evaluate()
    json.dumps(out)
    assert set(out["class_mix"]) == {"sphere", "box", "cylinder", "torus"}
    assert sum(out["class_mix"].values()) == pytest.approx(1.0)
    assert 0 <= out["class_mix_max_deviation"] <= 75 and 0.25 <= out["judge_confidence"] <= 1
    assert 0 <= out["probe_accuracy"] <= 1 and 0 <= out["probe_accuracy_penultimate"] <= 1
    assert out["d_checks"] == 3 and set(out["raw_generator"]) == set(VJ.class_mix(np.eye(4)))
    assert out["d_update_fraction"] == out["d_updates"] / 3
    assert set(out["occupancy"]) == {"samples", "data"} and out["evaluated"] == "EMA of G"
    samples = exp.sample(3, seed=1)["voxels"]
    assert samples.shape == (3, 1, 16, 16, 16) and samples.dtype == np.float32
    assert np.array_equal(samples, exp.sample(3, seed=1)["voxels"])
    assert X.interpolate(exp, 3)["voxels"].shape == (3, 1, 16, 16, 16)
    assert X.projections(samples).shape == (3, 1, 16, 50)
    with pytest.raises(ValueError, match="not conditional"):
        exp.sample(2, labels=[1, 2])


def test_the_config_checks_its_threshold_and_data_seed():
    assert X.GAN3DConfig(d_threshold=None).d_threshold is None
    with pytest.raises(ValueError, match=r"d_threshold is an accuracy, in \[0, 1\]"):
        X.GAN3DConfig(d_threshold=80.0)
    with pytest.raises(ValueError, match="data_seed must lie in 0..999"):
        X.GAN3DConfig(data_seed=1000)
    assert X.GAN3DConfig(seed=1234).seed == 1234      # the run's seed is free


def test_pairwise_iou_sees_a_collapse():
    x, _ = shapes(20, 16, seed=3)
    assert X.mean_pairwise_iou(np.repeat(x[:1], 5, axis=0)) == 1.0
    assert X.mean_pairwise_iou(x) < 0.5
