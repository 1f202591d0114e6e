"""SRGAN's pieces (Ledig et al. 2017, arXiv 1609.04802): PSNR and SSIM (known answers, SSIM
against a slow window-by-window reference), bicubic resizing (against PIL and a hand value,
exact on constants), the SRResNet and discriminator shapes, the content loss (zero on the
truth, its gradient reaches G and not the frozen judge), the loss weights, bad inputs, and the
"srgan" experiment: MSE pretraining, then SRGAN from its weights, one budget."""
import json
import math

import numpy as np
import pytest

import tinygan as tg
from tinygan import metrics
from tinygan.data import tasks
from tinygan.data.digits import Digits
from tinygan.data.resize import bicubic, cubic_matrix, keys_kernel
from tinygan.experiments import srgan as XS
from tinygan.gan import srgan as S
from tinygan.gan.evaluator import load_classifier
from tinygan.optim import Adam


@pytest.fixture(scope="module")
def tiny():
    return Digits.synthetic_set(96, seed=3)


@pytest.fixture(scope="module")
def judge():
    return load_classifier()


def images(n=3, size=28, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (n, 1, size, size)).astype(np.float32)


# ---------------------------------------------------------------- PSNR and SSIM


def test_psnr_known_answers():
    x = images()
    assert metrics.psnr(x, x) == math.inf
    assert metrics.psnr(x, x, per_image=True).tolist() == [math.inf] * 3
    # a constant offset d: MSE = d^2, PSNR = 10 log10(L^2 / d^2) = 20 log10(L / d)
    assert metrics.psnr(x + 0.1, x) == pytest.approx(20 * math.log10(2 / 0.1), rel=1e-5)
    assert metrics.psnr(x + 0.1, x, data_range=1.0) == pytest.approx(20.0, rel=1e-5)
    y = x.copy()
    y[1] += 0.2                                         # per image, then the mean
    per = metrics.psnr(y, x, per_image=True)
    assert per[0] == math.inf and per[1] == pytest.approx(20 * math.log10(10), rel=1e-5)
    assert metrics.psnr(y[1:2], x[1:2]) == pytest.approx(per[1])
    assert metrics.psnr(tg.tensor(x + 0.1), tg.tensor(x)) == pytest.approx(26.0206, rel=1e-4)


def slow_ssim(x, y, data_range=2.0, size=11, sigma=1.5):
    """Wang et al. 2004 written out: at every position where the window fits, the weighted
    moments of the two patches and the SSIM formula; the mean of the map."""
    t = np.arange(size) - size // 2
    w = np.exp(-(t[:, None] ** 2 + t[None, :] ** 2) / (2 * sigma ** 2))
    w /= w.sum()
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    vals = []
    for i in range(x.shape[0] - size + 1):
        for j in range(x.shape[1] - size + 1):
            a, b = x[i:i + size, j:j + size], y[i:i + size, j:j + size]
            ma, mb = (w * a).sum(), (w * b).sum()
            va, vb = (w * (a - ma) ** 2).sum(), (w * (b - mb) ** 2).sum()
            cov = (w * (a - ma) * (b - mb)).sum()
            vals.append((2 * ma * mb + c1) * (2 * cov + c2) /
                        ((ma ** 2 + mb ** 2 + c1) * (va + vb + c2)))
    return float(np.mean(vals))


def test_ssim_known_answers_and_the_slow_reference(tiny):
    x = tiny.images[:3].astype(np.float64)
    assert metrics.ssim(x, x) == 1.0
    assert metrics.ssim(x, x, per_image=True).tolist() == [1.0] * 3
    noisy = np.clip(x + np.random.default_rng(1).normal(0, 0.3, x.shape), -1, 1)
    per = metrics.ssim(noisy, x, per_image=True)
    for k in range(3):      # the slow reference on the images shifted to [0, 2]
        assert per[k] == pytest.approx(slow_ssim(noisy[k, 0] + 1, x[k, 0] + 1), abs=1e-10)
    assert 0 < per.mean() < 1 and metrics.ssim(noisy, x) == pytest.approx(per.mean())
    # the same images stored in [0, 1] score the same (C1, C2 scale with L^2)
    assert metrics.ssim((noisy + 1) / 2, (x + 1) / 2, data_range=1.0, low=0.0) == \
        pytest.approx(per.mean(), abs=1e-12)
    # inverted ink: the structure term reverses
    assert metrics.ssim(-x, x) < 0
    g = metrics.gaussian_window()
    assert g.shape == (11,) and g.sum() == pytest.approx(1) and g.argmax() == 5
    # a constant offset d on constant images (m from the range's low end, -1):
    # (2 m (m + d) + C1) / (m^2 + (m + d)^2 + C1)
    m, d, c1 = 1.2, 0.1, 0.02 ** 2
    flat = np.full((1, 1, 12, 12), m - 1)
    assert metrics.ssim(flat + d, flat) == pytest.approx(
        (2 * m * (m + d) + c1) / (m ** 2 + (m + d) ** 2 + c1))


@pytest.mark.parametrize("call, message", [
    (lambda: metrics.psnr(images(2), images(3)), "two image sets of one shape"),
    (lambda: metrics.psnr(images()[:, 0], images()[:, 0]), r"\(N, C, H, W\)"),
    (lambda: metrics.psnr(images(), images(), data_range=0), "data_range must be a positive"),
    (lambda: metrics.ssim(images(size=7), images(size=7)), "smaller than the 11x11 window"),
    (lambda: metrics.ssim(images(), images(), win_size=4), "odd int"),
])
def test_metric_bad_inputs(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# ---------------------------------------------------------------- bicubic


def test_keys_kernel_and_bicubic_hand_values():
    np.testing.assert_allclose(keys_kernel([0, 1, 2, 2.5, -1]), [1, 0, 0, 0, 0], atol=1e-15)
    # a = -0.5 at t = 1.25: a t^3 - 5a t^2 + 8a t - 4a = -0.0703125
    assert keys_kernel(1.25) == pytest.approx(-0.0703125)
    for offset in (0.0, 0.1, 0.5, 0.9):                       # the four taps sum to 1
        assert keys_kernel(offset + np.array([1, 0, -1, -2])).sum() == pytest.approx(1)
    # a ramp 0, 1, 2, 3 doubled: the first output sits at -0.25, taps -2..1, the three
    # beyond the edge read pixel 0 (= 0), so it is k(1.25) * 1; inside, a ramp stays a ramp
    out = bicubic(np.arange(4.0)[None, None, None], (1, 8))[0, 0, 0]
    assert out[0] == pytest.approx(-0.0703125)
    np.testing.assert_allclose(out[2:6], [0.7265625, 1.25, 1.75, 2.2734375])
    np.testing.assert_allclose(out[3:5], [1.25, 1.75])
    np.testing.assert_allclose(cubic_matrix(7, 28).sum(axis=1), 1, rtol=1e-15)


def test_bicubic_is_exact_on_constants_and_matches_pil():
    for value in (-1.0, 0.3, 1.0):
        flat = np.full((2, 1, 7, 7), value, np.float32)
        up = bicubic(flat, 28)
        assert up.shape == (2, 1, 28, 28) and up.dtype == np.float32 and (up == value).all()
    Image = pytest.importorskip("PIL.Image")
    x = images(2, 7, seed=4)
    ours = bicubic(x, 28)
    theirs = np.stack([np.asarray(Image.fromarray(im[0]).resize((28, 28), Image.BICUBIC))
                       for im in x])[:, None]
    # PIL renormalises the weights left inside the image where we repeat the edge pixel:
    # outputs 6..21 read no pixel beyond the edge, so there the two must agree exactly
    np.testing.assert_allclose(ours[..., 6:22, 6:22], theirs[..., 6:22, 6:22], atol=1e-6)
    assert np.abs(ours - theirs).max() < 0.25
    rect = bicubic(images(1, 7), (14, 21))
    assert rect.shape == (1, 1, 14, 21)


def test_bicubic_bad_inputs():
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        bicubic(np.zeros((7, 7)), 28)
    with pytest.raises(ValueError, match="positive int"):
        bicubic(np.zeros((1, 1, 7, 7)), 0)


# ---------------------------------------------------------------- the networks


def test_srresnet_and_discriminator_shapes():
    tg.manual_seed(0)
    G = S.SRResNet(channels=8, blocks=2)
    x = tg.tensor(images(4, 7))
    assert G(x).shape == (4, 1, 28, 28) and G.out_size == 28
    y = G(x).numpy()
    assert y.min() >= -1 and y.max() <= 1
    # the upsampling path: conv to 4C, pixel shuffle x2, PReLU, twice: 7 -> 14 -> 28
    h = G.stem(x)
    assert h.shape == (4, 8, 7, 7)
    assert G.upsample[0][0](h).shape == (4, 32, 7, 7)
    h = G.upsample[0](h)
    assert h.shape == (4, 8, 14, 14) and G.upsample[1](h).shape == (4, 8, 28, 28)
    assert len(G.upsample) == 2 and len(S.SRResNet(8, 0, scale=2).upsample) == 1
    D = S.SRDiscriminator(width=4)
    assert D(G(x)).shape == (4, 1)
    with pytest.raises(ValueError, match=r"SRResNet: the low-resolution input has shape "
                                         r"\(4, 1, 28, 28\), expected \(N, 1, 7, 7\)"):
        G(G(x))
    with pytest.raises(ValueError, match=r"SRDiscriminator: the image has shape"):
        D(x)
    with pytest.raises(ValueError, match="power of 2"):
        S.SRResNet(scale=3)
    with pytest.raises(ValueError, match="kernel must be odd"):
        S.SRResNet(kernel=4)


def test_residual_block_is_identity_plus_its_body():
    block = S.ResidualBlock(3)
    x = tg.tensor(np.random.default_rng(0).standard_normal((2, 3, 5, 5)).astype(np.float32))
    np.testing.assert_allclose(block(x).numpy(), x.numpy() + block.body(x).numpy(), atol=1e-6)


# ---------------------------------------------------------------- the losses


def test_content_loss_zero_on_truth_and_its_gradient_reaches_g_only(judge, tiny):
    feats = S.judge_features(judge, "conv2")
    assert feats(tg.tensor(tiny.images[:2])).shape == (2, 48, 10, 10)
    assert S.judge_features(judge, "conv1")(tg.tensor(tiny.images[:2])).shape == \
        (2, 32, 28, 28)
    assert S.judge_features(judge, "pixel") is None
    # the feature map is the judge's own layers: its pooled, flattened end is judge.features
    np.testing.assert_allclose(judge.body[5:](feats(tg.tensor(tiny.images[:2]))).numpy(),
                               judge.features(tg.tensor(tiny.images[:2])).numpy(), rtol=1e-5)
    loss = S.ContentLoss(feats, scale=0.5)
    truth = tg.tensor(tiny.images[:4])
    assert loss(truth, truth).item() == 0.0
    assert S.ContentLoss()(truth, truth).item() == 0.0
    tg.manual_seed(1)
    G = S.SRResNet(channels=4, blocks=1)
    low = tg.tensor(tasks.low_resolution(tiny.images[:4]))
    value = loss(G(low), truth)
    value.backward()
    assert value.item() > 0
    assert all(p.grad is not None and np.abs(p.grad.numpy()).sum() > 0 for p in G.parameters())
    assert all(p.grad is None and p.requires_grad for p in judge.parameters())
    # the scale multiplies the features: the loss goes with its square
    assert S.ContentLoss(feats, 1.0)(G(low), truth).item() == pytest.approx(4 * value.item(),
                                                                            rel=1e-4)
    with pytest.raises(ValueError, match="differ in shape"):
        loss(truth, truth[:, :, :14])
    with pytest.raises(ValueError, match="unknown content layer 'fc'"):
        S.judge_features(judge, "fc")
    with pytest.raises(ValueError, match="scale must be a positive"):
        S.ContentLoss(feats, 0.0)


def test_generator_loss_is_content_plus_a_thousandth_of_the_adversarial(tiny, judge):
    assert S.ADVERSARIAL_WEIGHT == 1e-3 and XS.SRGANConfig().adversarial_weight == 1e-3
    pairs = tasks.paired("resolution", tiny, size=7)
    tg.manual_seed(2)
    G, D = S.SRResNet(4, 1), S.SRDiscriminator(4)
    content = S.ContentLoss(S.judge_features(judge), 0.3)
    t = S.SRTrainer(G, D, Adam(G.parameters(), 1e-4), Adam(D.parameters(), 1e-4),
                    S.pair_sampler(pairs.inputs, pairs.targets), content, batch_size=6,
                    seed=5)
    assert t.adversarial_weight == 1e-3
    low, high = t.pairs(6, np.random.default_rng(0))      # one draw: matching pairs
    np.testing.assert_array_equal(tasks.low_resolution(high.numpy()), low.numpy())
    t._batch = (low, high, G(low))                          # as the D step leaves it
    loss, fake, logits = t.generator_loss()
    expected = content(fake, high).item() + 1e-3 * tg.functional.softplus(-logits).mean().item()
    assert loss.item() == pytest.approx(expected, rel=1e-5)
    with pytest.raises(ValueError, match="adversarial_weight must be a number >= 0"):
        S.SRTrainer(G, D, t.g_opt, t.d_opt, t.pairs, content, adversarial_weight=-1.0)
    with pytest.raises(ValueError, match="need as many inputs as targets"):
        S.pair_sampler(pairs.inputs[:3], pairs.targets[:4])


def test_pretraining_never_touches_d_and_learns_the_pixel_mse(tiny):
    pairs = tasks.paired("resolution", tiny, size=7)
    tg.manual_seed(3)
    G, D = S.SRResNet(4, 1), S.SRDiscriminator(4)
    before = {k: v.copy() for k, v in D.state_dict().items()}
    t = S.SRTrainer(G, D, Adam(G.parameters(), 3e-3), Adam(D.parameters(), 1e-3),
                    S.pair_sampler(pairs.inputs, pairs.targets), S.ContentLoss(),
                    adversarial_weight=0.0, batch_size=16, log_every=5)
    t.fit(20)
    assert all(np.array_equal(before[k], v) for k, v in D.state_dict().items())
    h = t.history
    assert math.isnan(h["d_loss"][-1]) and math.isnan(h["adversarial"][-1])
    assert h["content"][-1] < h["content"][0] and h["g_loss"] == h["content"]


# ---------------------------------------------------------------- the experiment


def test_the_experiment_pretrains_then_starts_srgan_from_it(tiny):
    config = XS.SRGANConfig(steps=6, batch_size=8, channels=4, blocks=1, d_width=4,
                            eval_samples=30, log_every=1, pretrain_fraction=0.5)
    exp = XS.build(config, digits=tiny)
    stages = exp.trainer
    assert stages.names == ["srresnet", "srgan"]
    pre, gan = stages.trainers
    assert pre.G is exp.parts["srresnet"] and gan.G is exp.generator and pre.D is gan.D
    assert not pre.adversarial and gan.adversarial_weight == 1e-3
    for _ in range(3):
        stages.step()                   # stepped one at a time: the pretraining first
    assert (pre.iteration, gan.iteration) == (3, 0)

    def gap():
        return max(float(np.abs(a.numpy() - b.numpy()).max())
                   for a, b in zip(pre.G.parameters(), gan.G.parameters()))
    assert gap() > 0.01                 # two initialisations
    stages.step()                       # SRGAN's first step: from SRResNet's weights, then
    assert (pre.iteration, gan.iteration) == (3, 1)
    assert 0 < gap() < 1.5 * config.lr  # one Adam step of at most about lr away
    stages.fit(steps=2)                 # a budget: its share to each
    assert (pre.iteration, gan.iteration) == (4, 2)
    assert math.isfinite(gan.history["d_loss"][-1]) and gan.history["adversarial"][-1] > 0
    out = exp.evaluate()
    json.dumps(out)
    assert set(out) >= {"bicubic", "srresnet", "srgan", "truth", "samples"}
    for row in XS.ROWS:
        assert set(out[row]) == {"psnr", "ssim", "accuracy", "frechet_distance"}
    assert out["samples"] == 30 and out["iterations"] == {"srresnet": 4, "srgan": 2}
    truth = XS.heldout(exp)[0][:30]     # the bicubic row, by hand
    up = np.clip(bicubic(tasks.low_resolution(truth), 28), -1, 1)
    assert out["bicubic"]["psnr"] == pytest.approx(metrics.psnr(up, truth))
    assert out["bicubic"]["ssim"] == pytest.approx(metrics.ssim(up, truth))
    assert set(out["truth"]) == {"accuracy", "frechet_distance"}
    s = exp.sample(3, seed=2)
    assert {k: v.shape for k, v in s.items()} == {"images": (3, 1, 28, 28),
                                                  "inputs": (3, 1, 7, 7),
                                                  "srresnet": (3, 1, 28, 28),
                                                  "truth": (3, 1, 28, 28)}
    np.testing.assert_allclose(tasks.low_resolution(s["truth"]), s["inputs"])
    assert np.array_equal(s["images"], exp.sample(3, seed=2)["images"])
    with pytest.raises(ValueError, match="not conditional"):
        exp.sample(2, labels=[1, 2])


@pytest.mark.parametrize("change, message", [
    (dict(pretrain_fraction=1.0), r"pretrain_fraction must lie in \(0, 1\)"),
    (dict(kernel=4), "kernel must be odd"),
    (dict(adversarial_weight=0.0), "leaves no SRGAN phase"),
    (dict(content_layer="fc"), "content_layer must be one of"),
    (dict(feature_scale=0.0), "feature_scale must be > 0"),
])
def test_config_bad_values(change, message):
    with pytest.raises(ValueError, match=message):
        XS.SRGANConfig(**change)
