"""The evaluation classifier and metrics wrapper (tinygan.gan.evaluator): known answers (identical
sets give Fréchet distance 0, a one-image set scores exactly 1, a one-class set of real digits
scores about 1), the committed weights' checksum and the error when it does not match, the
fixed data split, the augmentation, and the loss. Tests that need the real MNIST test split
skip when it is absent ($TINYGAN_DATA_DIR, else ../shared/data/mnist)."""
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

import tinygan as tg
import tinygan.functional as F
from tinygan.data import digits as data_digits
from tinygan.data.digits import synthetic_digits
from tinygan.gan import evaluator as E
from tinygan.testing import gradcheck

REPO = Path(__file__).resolve().parents[1]


def _mnist_dir():
    for candidate in (os.environ.get("TINYGAN_DATA_DIR"), REPO.parent / "shared/data/mnist"):
        if candidate and (Path(candidate) / "t10k-images-idx3-ubyte.gz").is_file():
            return Path(candidate)
    return None


needs_mnist = pytest.mark.skipif(_mnist_dir() is None, reason="MNIST test split not present")


@pytest.fixture(scope="module")
def synthetic():
    return synthetic_digits(120, seed=11)


@pytest.fixture(scope="module")
def random_net():
    tg.manual_seed(3)
    return E.LeNet().eval()


@pytest.fixture(scope="module")
def mnist_evaluator():
    return E.Evaluator.for_mnist(_mnist_dir())


# ---------------------------------------------------------------- known answers


def test_identical_sets_give_frechet_distance_zero(random_net, synthetic):
    images, _ = synthetic
    ev = E.Evaluator(random_net, images)
    assert ev.evaluate(images).frechet_distance < 1e-9
    assert ev.evaluate(images[::-1].copy()).frechet_distance < 1e-9  # order does not matter
    assert ev.evaluate(images[:60]).frechet_distance > 1e-4          # a different set does


def test_one_image_repeated_scores_exactly_one(random_net, synthetic):
    images, _ = synthetic
    ev = E.Evaluator(random_net, images)
    s = ev.evaluate(np.repeat(images[:1], 40, axis=0))
    assert abs(s.classifier_score - 1) < 1e-12
    assert s.label_kl == pytest.approx(np.log(10))
    assert s.min_class_fraction == 0 and len(s.classes_below) == 9


def test_committed_weights_and_checksum():
    assert E.ASSET.is_file() and E.ASSET.stat().st_size < 500_000
    assert E.sha256_of(E.ASSET) == E.CLASSIFIER_SHA256
    model = E.load_classifier()
    assert not model.training
    assert sum(p.numel() for p in model.parameters()) < 125_000


def test_checksum_mismatch_is_a_clear_error(tmp_path):
    bad = tmp_path / "lenet.npz"
    shutil.copy(E.ASSET, bad)
    raw = bytearray(bad.read_bytes())
    raw[len(raw) // 2] ^= 0xFF  # one flipped byte inside the weights
    bad.write_bytes(bytes(raw))
    with pytest.raises(E.ClassifierChecksumError,
                       match=r"SHA-256 [0-9a-f]{64} does not match the recorded "
                             + E.CLASSIFIER_SHA256):
        E.load_classifier(bad)
    with pytest.raises(FileNotFoundError, match="--train"):
        E.load_classifier(tmp_path / "missing.npz")


def test_save_and_load_round_trip(tmp_path, random_net, synthetic):
    path = tmp_path / "mine.npz"
    digest = E.save_classifier(random_net, path, {"note": "test"})
    assert digest == E.sha256_of(path)
    loaded = E.load_classifier(path, sha256=digest)
    for a, b in zip(random_net.parameters(), loaded.parameters()):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    unchecked = E.load_classifier(path, sha256=False)
    p1, f1 = E.predict(random_net, synthetic[0])
    p2, f2 = E.predict(unchecked, synthetic[0])
    np.testing.assert_array_equal(p1, p2)
    with pytest.raises(E.ClassifierChecksumError):
        E.load_classifier(path)  # the recorded checksum is the committed file's, not this one


# ---------------------------------------------------------------- with the real digits


@needs_mnist
def test_classifier_accuracy_and_reference_scores(mnist_evaluator):
    ev = mnist_evaluator
    assert len(ev.reference_images) == data_digits.HELDOUT
    assert ev.accuracy() >= 0.985
    reference = ev.reference_scores()
    assert reference.classifier_score > 9.5
    assert reference.frechet_distance < 1e-6
    assert reference.classes_below == ()
    assert reference.conditional_accuracy == pytest.approx(ev.accuracy())


@needs_mnist
def test_one_class_of_real_digits_scores_about_one(mnist_evaluator):
    ev = mnist_evaluator
    sevens = ev.reference_images[ev.reference_labels == 7]
    s = ev.evaluate(sevens, requested=np.full(len(sevens), 7))
    assert s.classifier_score < 1.15
    assert s.fractions[7] > 0.95 and s.min_class_fraction < 0.01
    assert s.conditional_accuracy > 0.95
    wrong = ev.evaluate(sevens, requested=np.full(len(sevens), 1))
    assert wrong.conditional_accuracy < 0.05


@needs_mnist
def test_training_digits_are_close_but_not_identical(mnist_evaluator):
    ev = mnist_evaluator
    s = ev.evaluate(ev.split.train_images[:1000])
    noise = ev.evaluate(np.random.default_rng(0).uniform(-1, 1, (200, 1, 28, 28)))
    assert 0 < s.frechet_distance < noise.frechet_distance / 20
    assert s.classifier_score > 9


@needs_mnist
def test_split_is_fixed_and_disjoint():
    a, b = data_digits.mnist_split(_mnist_dir()), data_digits.mnist_split(_mnist_dir())
    assert len(a.train_images) == 8500 and len(a.heldout_images) == 1500
    np.testing.assert_array_equal(a.heldout_images, b.heldout_images)
    train = {img.tobytes() for img in a.train_images}
    assert not any(img.tobytes() in train for img in a.heldout_images)


# ---------------------------------------------------------------- pieces


def test_split_digits_checks_its_arguments():
    images = np.zeros((10, 1, 28, 28), np.float32)
    with pytest.raises(ValueError, match="cannot hold out 10 of 10"):
        data_digits.split_digits(images, np.zeros(10), heldout=10)
    with pytest.raises(ValueError, match="as many labels as images"):
        data_digits.split_digits(images, np.zeros(9), heldout=2)


def test_shift_augment_moves_whole_digits():
    rng = np.random.default_rng(0)
    images = -np.ones((50, 1, 28, 28), np.float32)
    images[:, :, 10:18, 12:16] = 1.0  # a block well inside the 2-pixel border
    out = data_digits.shift_augment(images, rng, max_shift=2)
    assert out.shape == images.shape
    np.testing.assert_allclose(out.sum(axis=(1, 2, 3)), images.sum(axis=(1, 2, 3)))
    ys, xs = np.nonzero(out[:, 0] > 0)[1:]
    assert ys.min() >= 8 and ys.max() <= 19 and xs.min() >= 10 and xs.max() <= 17
    moved = {tuple(np.argwhere(o[0] > 0)[0]) for o in out}
    assert len(moved) > 10  # many different offsets were drawn
    np.testing.assert_array_equal(data_digits.shift_augment(images, rng, max_shift=0), images)


def test_cross_entropy_matches_numpy_and_gradcheck():
    rng = np.random.default_rng(1)
    logits = rng.standard_normal((6, 10))
    labels = rng.integers(0, 10, 6)
    shifted = logits - logits.max(axis=1, keepdims=True)
    logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    expected = -logp[np.arange(6), labels].mean()
    assert F.cross_entropy(tg.tensor(logits, dtype=np.float64), labels).item() == \
        pytest.approx(expected, rel=1e-12)
    gradcheck(lambda x: F.cross_entropy(x, labels), logits)
    with pytest.raises(ValueError, match="integer class indices"):
        F.cross_entropy(tg.tensor(logits), labels.astype(float))
    with pytest.raises(ValueError, match=r"lie in 0\.\.9"):
        F.cross_entropy(tg.tensor(logits), labels + 10)
    with pytest.raises(ValueError, match=r"logits of shape \(N, C\)"):
        F.cross_entropy(tg.tensor(logits[0]), labels[:1])


def test_input_forms_and_errors(random_net, synthetic):
    images, _ = synthetic
    ev = E.Evaluator(random_net, images)
    flat = ev.evaluate(images.reshape(-1, 784)[:30])
    as_tensor = ev.evaluate(tg.tensor(images[:30]))
    assert flat.classifier_score == pytest.approx(as_tensor.classifier_score, rel=1e-12)
    with pytest.raises(ValueError, match=r"expected images of shape \(N, 1, 28, 28\) or "
                                         r"\(N, 784\)"):
        ev.evaluate(np.zeros((3, 28, 28)))
    with pytest.raises(ValueError, match="LeNet takes images of shape"):
        random_net.features(tg.zeros(2, 3, 28, 28))


def test_predict_restores_the_training_flag(synthetic):
    net = E.LeNet().train()
    probs, feats = E.predict(net, synthetic[0][:7])
    assert net.training
    assert probs.shape == (7, 10) and feats.shape == (7, E.LeNet.feature_dim)
    np.testing.assert_allclose(probs.sum(axis=1), 1, rtol=1e-6)
    assert np.all(feats >= 0)  # features come after a ReLU


def test_a_short_training_run_learns(synthetic):
    """Two epochs on 120 seven-segment digits: the loss falls (the recipe runs end to end)."""
    images, labels = synthetic
    split = data_digits.split_digits(images, labels, heldout=20, source="synthetic")
    model, info = E.train_classifier(split, epochs=2, batch_size=32, lr=3e-3)
    assert info["epoch_loss"][1] < info["epoch_loss"][0]
    assert 0 <= info["heldout_accuracy"] <= 1 and not model.training
