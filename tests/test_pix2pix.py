"""pix2pix's pieces (Isola et al. 2017, arXiv 1611.07004): the U-Net's shapes and skip
connections, its dropout noise on in eval mode, the PatchGAN's grids and receptive fields
(hand-counted, and measured by a gradient), a discriminator conditioned on the input (or not),
each loss variant's terms (the halved D loss, lambda scaling the L1, "l1" never touching D),
bad inputs, and the "pix2pix" experiment on synthetic digits."""
import json
import math

import numpy as np
import pytest

import tinygan as tg
from tinygan import experiments, io
from tinygan.data.digits import Digits
from tinygan.experiments import digits as X
from tinygan.experiments import pix2pix as XP
from tinygan.gan import pix2pix as P
from tinygan.gan.trainer import frozen

SPEC = experiments.Spec("pix2pix", XP, XP.Pix2PixConfig)


def softplus(a):
    return np.logaddexp(0, a)


# ---------------------------------------------------------------- the U-Net


def test_unet_shapes_channels_and_keys():
    G = P.UNetGenerator()
    assert G.channels == [16, 32, 32, 32, 32]
    y = G(tg.randn(3, 1, 32, 32))
    assert y.shape == (3, 1, 32, 32) and np.abs(y.numpy()).max() <= 1
    keys = G.state_dict().keys()
    assert "down.0.0.weight" in keys and "up.0.2.running_mean" in keys     # ModuleList-like
    assert "down.1.2.running_mean" in keys and "down.4.2.running_mean" not in keys  # no BN inside
    # decoder inputs: the innermost code, then each output joined to its skip (twice the width)
    assert [u[1].in_channels for u in G.up] == [32, 64, 64, 64, 32]
    small = P.UNetGenerator(2, 3, width=4, max_width=8, depth=3, dropout_layers=1)
    assert small(tg.randn(2, 2, 16, 8)).shape == (2, 3, 16, 8)


def test_skip_connections_carry_the_input_past_a_cut_bottleneck():
    tg.manual_seed(0)
    G = P.UNetGenerator(dropout_layers=0).eval()
    G.up[0][1].weight.data[...] = 0            # the innermost decoder layer outputs zeros
    x1, x2 = tg.randn(2, 1, 32, 32), tg.randn(2, 1, 32, 32)
    y1 = G(x1).numpy()
    assert not np.allclose(y1, G(x2).numpy())  # still a function of the input: the skips
    G.down[-1][1].weight.data[...] *= -3       # the innermost encoder is now cut off
    np.testing.assert_array_equal(G(x1).numpy(), y1)


def test_dropout_noise_stays_on_in_eval_mode():
    G = P.UNetGenerator(dropout_layers=2).eval()
    noise = [m for m in G.modules() if isinstance(m, P.DropoutNoise)]
    assert len(noise) == 2 and noise[0] is G.up[0][-1] and noise[1] is G.up[1][-1]
    x = tg.randn(4, 1, 32, 32)
    a, b = G(x).numpy(), G(x).numpy()
    assert not np.allclose(a, b)                                  # new masks every call
    with tg.creation.using_generator(tg.backend.rng(5)):
        c = G(x).numpy()
    with tg.creation.using_generator(tg.backend.rng(5)):
        np.testing.assert_array_equal(G(x).numpy(), c)            # a seeded generator repeats
    quiet = P.UNetGenerator(dropout_layers=0).eval()
    np.testing.assert_array_equal(quiet(x).numpy(), quiet(x).numpy())
    h = tg.ones(2000)
    kept = P.DropoutNoise(0.5).eval()(h).numpy()
    assert set(np.unique(kept)) == {0.0, 2.0} and abs(kept.mean() - 1) < 0.1


# ---------------------------------------------------------------- the PatchGAN


# by hand, from the output back (r <- r s + k - s): PixelGAN three 1x1: 1; one stride-2 layer
# and two stride-1 4x4: 1 -> 4 -> 7 -> 16; two: 7 -> 16 -> 34; three: 34 -> 70. Grid: 32 halved
# `layers` times, then minus one per stride-1 4x4 layer: 32, 14, 6, 2.
@pytest.mark.parametrize("layers, grid, field", [(0, 32, 1), (1, 14, 16), (2, 6, 34),
                                                 (3, 2, 70)])
def test_patchgan_grid_and_receptive_field(layers, grid, field):
    D = P.PatchGAN(2, layers, width=4, max_width=8)
    assert D.receptive_field == field == P.receptive_field(P.patch_layout(layers))
    assert P.patch_grid(layers) == grid and D(tg.randn(2, 2, 32, 32)).shape == (2, 1, grid, grid)
    # measured: the pixels one central logit depends on (eval mode: batch norm per pixel)
    D.eval()
    x = tg.randn(1, 2, 32, 32, requires_grad=True)
    logits = D(x)
    g, = tg.grad(logits[:, :, grid // 2, grid // 2].sum(), [x])
    rows = np.flatnonzero(np.abs(g.numpy()).sum(axis=(0, 1, 3)) > 0)
    assert len(rows) == min(field, 32 - rows[0])                  # clipped at the image's edge
    if field >= 32:
        assert len(rows) >= 26                                    # the ImageGAN sees (most of) it


def test_receptive_fields_of_the_paper():
    # its 256x256 discriminators: PixelGAN 1, PatchGAN 16 and 70, ImageGAN 286
    assert [P.receptive_field(P.patch_layout(n)) for n in (0, 1, 3, 5)] == [1, 16, 70, 286]
    assert P.receptive_field([(3, 1), (3, 1)]) == 5 and P.receptive_field([]) == 1
    assert P.patch_grid(5, 256) == 6


@pytest.mark.parametrize("loss, channels", [("l1+cgan", 2), ("cgan", 2), ("gan", 1),
                                            ("l1+gan", 1), ("l1", 2)])
def test_d_is_conditioned_on_the_input(tiny_digits, loss, channels):
    exp = SPEC.build(loss=loss, eval_samples=0, batch_size=4)
    D = exp.parts["discriminator"]
    assert D.net[0].in_channels == channels
    rows = tg.randn(3, 3, 32, 32)
    other = rows.numpy().copy()
    other[:, 0] = np.random.default_rng(1).standard_normal((3, 32, 32))   # another input x
    other[:, 2] = 0                                                      # the rider y
    D.eval()
    a = exp.trainer.D(rows).numpy()
    b = exp.trainer.D(tg.tensor(other)).numpy()
    assert a.shape == (3, 1, 14, 14)
    assert np.allclose(a, b) == (channels == 1)          # only a conditional D reads x


# ---------------------------------------------------------------- the losses


def test_halved_d_loss_and_nonsaturating_g_over_the_grid():
    rng = np.random.default_rng(0)
    r, f = rng.standard_normal((2, 1, 3, 3)), rng.standard_normal((2, 1, 3, 3))
    d_loss, g_loss = P.OBJECTIVE
    assert d_loss(tg.tensor(r), tg.tensor(f)).item() == pytest.approx(
        0.5 * (softplus(-r).mean() + softplus(f).mean()))
    assert g_loss(tg.tensor(f)).item() == pytest.approx(softplus(-f).mean())


def test_l1_term_is_lambda_times_the_mean_absolute_error():
    rows = tg.randn(4, 3, 32, 32)
    expected = np.abs(rows.numpy()[:, 1] - rows.numpy()[:, 2]).mean()
    assert P.L1Term().g_loss(None, rows, None).item() == pytest.approx(100 * expected, rel=1e-5)
    assert P.L1Term(1.0).g_loss(None, rows, None).item() == pytest.approx(expected, rel=1e-5)


@pytest.fixture
def tiny_digits(monkeypatch):
    tiny = Digits.synthetic_set(48, seed=3)
    monkeypatch.setattr(X, "load_digits", lambda data_dir=None: tiny)
    return tiny


def test_l1_only_never_runs_d_and_lambda_scales_the_gradient(tiny_digits):
    runs = {}
    for weight in (100.0, 1.0):
        exp = SPEC.build(loss="l1", l1_weight=weight, eval_samples=0, batch_size=4,
                         log_every=1)
        before = {k: v.copy() for k, v in exp.parts["discriminator"].state_dict().items()}
        exp.trainer.step()
        t = exp.trainer
        assert t.last_d_loss is None and math.isnan(t.history["d_loss"][0])
        assert all(np.array_equal(v, exp.parts["discriminator"].state_dict()[k])
                   for k, v in before.items())                   # D untouched
        assert t.last_g_loss.item() == pytest.approx(weight * float(exp.parts["l1"].last),
                                                     rel=1e-6)   # G's loss is the L1 alone
        runs[weight] = [p.grad.numpy() for p in t.g_opt.params]
    for g100, g1 in zip(runs[100.0], runs[1.0]):                  # same batch, same masks
        np.testing.assert_allclose(g100, 100 * g1, rtol=1e-3,
                                   atol=1e-5 * np.abs(g100).max())  # float32 rounding


@pytest.mark.parametrize("loss, hooks", [("gan", 0), ("cgan", 0), ("l1+gan", 1),
                                         ("l1+cgan", 1)])
def test_adversarial_variants_train_d_and_form_g_loss(tiny_digits, loss, hooks):
    exp = SPEC.build(loss=loss, eval_samples=0, batch_size=4, log_every=1)
    t = exp.trainer
    assert len(t.hooks) == hooks and t.adversarial
    D = exp.parts["discriminator"]
    before = D.net[0].weight.numpy().copy()
    t.step()
    assert not np.array_equal(before, D.net[0].weight.numpy())  # D stepped
    assert math.isfinite(t.history["d_loss"][0])
    with frozen(t.D):
        adv, fake, logits = t.generator_loss()
    assert logits.shape == (4, 1, 14, 14) and fake.shape == (4, 3, 32, 32)
    assert adv.item() == pytest.approx(softplus(-logits.numpy()).mean(), rel=1e-5)


# ---------------------------------------------------------------- bad inputs


@pytest.mark.parametrize("call, error, message", [
    (lambda: P.PatchGAN(2, 4), ValueError, r"4 stride-2 layers leave no logits "
                                                     r"for a 32x32 image \(at most 3\)"),
    (lambda: P.patch_layout(-1), ValueError, "an int >= 0"),
    (lambda: P.UNetGenerator()(tg.randn(1, 1, 28, 28)), ValueError, "divisible by 2\\^5"),
    (lambda: P.UNetGenerator()(tg.randn(1, 2, 32, 32)), ValueError, r"\(N, 1, H, W\)"),
    (lambda: P.UNetGenerator(dropout_layers=5), ValueError, "dropout_layers must lie in 0..4"),
    (lambda: P.PatchGAN(1)(tg.randn(2, 2, 32, 32)), ValueError,
     r"images has shape \(2, 2, 32, 32\), expected \(N, 1, 32, 32\)"),
    (lambda: P.PackedPatchGAN(P.PatchGAN(1), conditional=True), ValueError,
     "conditional D reads 2 channels"),
    (lambda: P.DropoutNoise(1.0), ValueError, r"p must lie in \[0, 1\)"),
    (lambda: P.L1Term(-1), ValueError, "weight must be >= 0"),
    (lambda: P.pairs(np.zeros((2, 1, 32, 32)), np.zeros((3, 1, 32, 32))), ValueError,
     "of one shape"),
    (lambda: P.check_loss("l2"), ValueError, "unknown pix2pix loss 'l2'"),
    (lambda: XP.translate(P.UNetGenerator(), np.zeros((2, 1, 28, 28))), ValueError,
     r"inputs must be \(n, 1, 32, 32\)"),
    (lambda: XP.Pix2PixConfig(loss="l2"), ValueError, "loss must be one of"),
    (lambda: XP.Pix2PixConfig(patch_layers=4), ValueError, "patch_layers must be one of"),
    (lambda: XP.Pix2PixConfig(dropout=1.0), ValueError, "dropout must be < 1"),
    (lambda: XP.Pix2PixConfig(dropout_layers=5), ValueError, "dropout_layers must lie in"),
])
def test_bad_inputs(call, error, message):
    with pytest.raises(error, match=message):
        call()


# ---------------------------------------------------------------- the experiment


@pytest.mark.parametrize("loss", P.LOSSES)
def test_every_variant_trains_and_evaluates(tiny_digits, loss):
    exp = SPEC.build(loss=loss, steps=2, batch_size=8, eval_samples=30, patch_layers=2)
    assert exp.trainer.fit(exp.config.steps)["steps"] == 2
    assert math.isfinite(exp.trainer.last_g_loss.item())
    metrics = exp.evaluate()
    json.dumps(metrics)
    assert metrics["loss"] == loss and metrics["receptive_field"] == 34
    assert metrics["samples"] == 30 and metrics["dropout_spread"] > 0
    for key in ("output", "identity", "reference"):
        assert set(metrics[key]) == {"accuracy", "frechet_distance", "l1"}
        assert 0 <= metrics[key]["accuracy"] <= 1
    assert metrics["reference"]["l1"] == 0 and metrics["identity"]["l1"] > 0


def test_sample_draw_and_state_dict(tiny_digits, tmp_path):
    pytest.importorskip("matplotlib")
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    a = SPEC.build(loss="l1+cgan", steps=6, batch_size=4, eval_samples=0, seed=4)
    a.trainer.fit(3)
    out = a.sample(5, seed=3)
    assert {k: v.shape for k, v in out.items()} == {"images": (5, 1, 32, 32),
                                                   "inputs": (5, 1, 32, 32),
                                                   "targets": (5, 1, 32, 32), "labels": (5,)}
    assert all(v.dtype in (np.float32, np.int64) for v in out.values())
    again = a.sample(5, seed=3)
    assert all(np.array_equal(out[k], again[k]) for k in out)       # dropout seeded too
    assert not np.array_equal(a.sample(5, seed=4)["inputs"], out["inputs"])
    np.testing.assert_array_equal(out["inputs"][:, :, :2], -1)      # padded outlines
    with pytest.raises(ValueError, match="not conditional"):
        a.sample(2, labels=[1, 2])
    assert a.draw(n=4).axes
    plt.close("all")
    io.save(tmp_path / "state.npz", {"trainer": a.trainer.state_dict()})
    b = SPEC.build(loss="l1+cgan", steps=6, batch_size=4, eval_samples=0, seed=9)
    b.trainer.load_state_dict(io.load(tmp_path / "state.npz")["trainer"])
    a.trainer.fit(3)
    b.trainer.fit(3)
    sa, sb = a.trainer.state_dict(), b.trainer.state_dict()
    for key in ("G", "D"):
        assert all(np.array_equal(sa[key][k], sb[key][k]) for k in sa[key])
    assert sa["shared_rng"] == sb["shared_rng"] and a.trainer.history == b.trainer.history
