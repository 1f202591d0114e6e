"""SAGAN's pieces (Zhang et al. 2019, arXiv 1805.08318): SelfAttention2d (shapes, softmax over
the keys, the identity at gamma = 0, float64 gradients against finite differences, the same
output and gradients as a hand-written torch block), mirror digits and their asymmetry (known
answers), the SAGAN networks with and without attention (spectral norm leaves gamma alone),
and the experiment (builds, trains, reports gamma's trajectory, resumes)."""
import json

import numpy as np
import pytest

import tinygan as tg
import tinygan.nn as nn
from tinygan import experiments, io
from tinygan.data.digits import Digits, synthetic_digits
from tinygan.data.mirror import left_halves, mirror_asymmetry, mirror_digits
from tinygan.experiments import sagan as XS
from tinygan.gan import sagan as S
from tinygan.nn import utils as nn_utils
from tinygan.testing import gradcheck, gradgradcheck


@pytest.fixture(scope="module")
def tiny_digits():
    return Digits.synthetic_set(64, seed=3)


def _block64(channels=8, pool=1, gamma=0.7, seed=0):
    """A float64 block with nonzero gamma (at 0 the attention path has no effect on y)."""
    block = nn.SelfAttention2d(channels, pool=pool)
    rng = np.random.default_rng(seed)
    for p in block.parameters():
        p.data = rng.standard_normal(p.shape) * 0.5
    block.gamma.data = np.array([gamma])
    return block


def _reference(block, x):
    """The attention map and output in plain NumPy, from the block's weights."""
    def conv1x1(layer, a):
        w = layer.weight.numpy()[:, :, 0, 0]
        return np.einsum("oc,nchw->nohw", w, a) + layer.bias.numpy()[None, :, None, None]

    def pool(a):
        n, c, h, w = a.shape
        k = block.pool
        return a.reshape(n, c, h // k, k, w // k, k).max(axis=(3, 5))

    n, c, h, w = x.shape
    q = conv1x1(block.f, x).reshape(n, c // 8, h * w)
    k = pool(conv1x1(block.g, x)).reshape(n, c // 8, -1)
    v = pool(conv1x1(block.h, x)).reshape(n, c // 2, -1)
    s = np.einsum("nci,ncj->nij", q, k)                       # s_ij = f(x_i) . g(x_j)
    a = np.exp(s - s.max(axis=2, keepdims=True))
    a /= a.sum(axis=2, keepdims=True)                         # over the keys j
    o = np.einsum("nij,ncj->nci", a, v).reshape(n, c // 2, h, w)
    return a, block.gamma.numpy()[0] * conv1x1(block.v, o) + x


# ---------------------------------------------------------------- SelfAttention2d


@pytest.mark.parametrize("pool, keys", [(1, 24), (2, 6)])
def test_attention_shapes_and_softmax_over_the_keys(pool, keys):
    block = _block64(16, pool)
    x = np.random.default_rng(1).standard_normal((3, 16, 4, 6))
    y, attention = block(tg.tensor(x, dtype=np.float64), return_attention=True)
    assert y.shape == (3, 16, 4, 6) and attention.shape == (3, 24, keys)
    a = attention.numpy()
    assert (a >= 0).all()
    np.testing.assert_allclose(a.sum(axis=2), 1.0, rtol=1e-12)   # each query's row
    assert not np.allclose(a.sum(axis=1), 1.0)                   # not over the queries
    ref_a, ref_y = _reference(block, x)
    np.testing.assert_allclose(a, ref_a, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(y.numpy(), ref_y, rtol=1e-10, atol=1e-12)


def test_attention_state_dict_and_stored_map():
    block = nn.SelfAttention2d(16)
    state = block.state_dict()
    assert state["gamma"].shape == (1,) and state["gamma"][0] == 0
    assert state["f.weight"].shape == (2, 16, 1, 1) and state["g.weight"].shape == (2, 16, 1, 1)
    assert state["h.weight"].shape == (8, 16, 1, 1) and state["v.weight"].shape == (16, 8, 1, 1)
    assert block.last_attention is None
    x = tg.randn(2, 16, 2, 4)
    block(x)
    assert block.last_attention is None  # not kept unless asked
    block.store_attention = True
    _, attention = block(x, return_attention=True)
    np.testing.assert_array_equal(block.last_attention, attention.numpy())
    assert "last_attention" not in block.state_dict()


def test_gamma_zero_is_the_identity_exactly():
    block = nn.SelfAttention2d(8)
    x = tg.randn(2, 8, 3, 5) * 10
    np.testing.assert_array_equal(block(x).numpy(), x.numpy())


@pytest.mark.parametrize("pool", [1, 2])
def test_attention_gradients_in_float64(pool):
    block = _block64(8, pool)
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 8, 2, 4))
    wf, wg = block.f.weight.numpy(), block.g.weight.numpy()

    def fn(x, wf, wg, gamma):
        block.f.weight, block.g.weight, block.gamma = wf, wg, gamma
        return block(x)

    gradcheck(fn, x, wf, wg, np.array([0.7]), name=f"self-attention pool {pool}")
    gradgradcheck(lambda x: block(x) ** 2, x[:1], name=f"self-attention pool {pool}")


def test_attention_matches_torch():
    torch = pytest.importorskip("torch")
    block = nn.SelfAttention2d(16, pool=2)
    block.gamma.data[:] = 0.3
    w = {k: torch.from_numpy(v.copy()) for k, v in block.state_dict().items()}
    x = np.random.default_rng(3).standard_normal((2, 16, 4, 6)).astype(np.float32)

    def torch_attention(x):  # SAGAN's block as its official code writes it
        c = torch.nn.functional.conv2d
        n, ch, h, wd = x.shape
        theta = c(x, w["f.weight"], w["f.bias"]).view(n, ch // 8, h * wd)
        phi = torch.nn.functional.max_pool2d(c(x, w["g.weight"], w["g.bias"]), 2)
        g = torch.nn.functional.max_pool2d(c(x, w["h.weight"], w["h.bias"]), 2)
        attn = torch.softmax(torch.bmm(theta.transpose(1, 2), phi.view(n, ch // 8, -1)), -1)
        o = torch.bmm(g.view(n, ch // 2, -1), attn.transpose(1, 2)).view(n, ch // 2, h, wd)
        return w["gamma"] * c(o, w["v.weight"], w["v.bias"]) + x, attn

    ours_x = tg.tensor(x, requires_grad=True)
    ours, ours_a = block(ours_x, return_attention=True)
    tx = torch.from_numpy(x).requires_grad_()
    theirs, theirs_a = torch_attention(tx)
    np.testing.assert_allclose(ours_a.numpy(), theirs_a.detach().numpy(), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-5, atol=1e-6)
    up = np.random.default_rng(4).standard_normal(x.shape).astype(np.float32)
    (ours * tg.tensor(up)).sum().backward()
    (theirs * torch.from_numpy(up)).sum().backward()
    np.testing.assert_allclose(ours_x.grad.numpy(), tx.grad.numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("make, message", [
    (lambda: nn.SelfAttention2d(4), r"channels must be an int >= 8 .*got 4"),
    (lambda: nn.SelfAttention2d(16.0), r"channels must be an int >= 8 .*got 16\.0"),
    (lambda: nn.SelfAttention2d(16, pool=0), r"pool must be an int >= 1 .*got 0"),
    (lambda: nn.SelfAttention2d(16)(tg.zeros(2, 16, 4)),
     r"SelfAttention2d\(16\): input has shape \(2, 16, 4\), expected \(N, 16, H, W\)"),
    (lambda: nn.SelfAttention2d(16)(tg.zeros(2, 8, 4, 4)),
     r"input has shape \(2, 8, 4, 4\), expected \(N, 16, H, W\)"),
    (lambda: nn.SelfAttention2d(16, pool=2)(tg.zeros(1, 16, 3, 4)),
     r"pool=2 needs H and W divisible by 2, got H, W = 3, 4"),
])
def test_attention_bad_inputs_say_what_is_wrong(make, message):
    with pytest.raises(ValueError, match=message):
        make()


# ---------------------------------------------------------------- mirror digits


def test_mirror_digits_put_each_digit_beside_its_mirror():
    digit = -np.ones((1, 1, 28, 28), dtype=np.float32)
    digit[0, 0, 5, 3] = 1.0
    m = mirror_digits(digit)
    assert m.shape == (1, 1, 28, 56) and m.dtype == np.float32
    assert set(zip(*np.nonzero(m[0, 0] > 0))) == {(5, 3), (5, 52)}   # column 55 - 3
    images, _ = synthetic_digits(5, seed=1)
    m = mirror_digits(images)
    np.testing.assert_array_equal(m[..., :28], images)
    np.testing.assert_array_equal(m[..., 28:], np.flip(images, axis=3))
    np.testing.assert_array_equal(left_halves(m), images)
    assert mirror_asymmetry(m) == 0.0
    np.testing.assert_array_equal(mirror_asymmetry(m, reduce=False), np.zeros(5))


def test_mirror_asymmetry_known_answers():
    x = -np.ones((3, 1, 28, 56))
    x[1, 0, 0, 0] = 1.0                 # one pixel off: |2| at it and at its mirror
    x[2, ..., :28] = 1.0                # halves opposite: |2| everywhere
    per_image = mirror_asymmetry(x, reduce=False)
    np.testing.assert_allclose(per_image, [0.0, 4 / (28 * 56), 2.0], rtol=1e-12)
    assert mirror_asymmetry(x) == pytest.approx(per_image.mean())
    assert mirror_asymmetry(tg.tensor(x.astype(np.float32))) == pytest.approx(per_image.mean())


@pytest.mark.parametrize("call, error, message", [
    (lambda: mirror_digits(np.zeros((2, 1, 28, 56))), ValueError,
     r"mirror_digits: images have shape \(2, 1, 28, 56\), expected \(N, 1, 28, 28\)"),
    (lambda: mirror_digits(np.zeros((0, 1, 28, 28))), ValueError, "with N >= 1"),
    (lambda: mirror_asymmetry(np.zeros((2, 1, 28, 28))), ValueError,
     r"mirror_asymmetry: images have shape \(2, 1, 28, 28\), expected \(N, 1, 28, 56\)"),
    (lambda: mirror_asymmetry(np.array([["a"] * 56] * 28)[None, None]), TypeError,
     "must be numbers"),
])
def test_mirror_bad_inputs(call, error, message):
    with pytest.raises(error, match=message):
        call()


# ---------------------------------------------------------------- networks


@pytest.mark.parametrize("attention", [True, False])
def test_sagan_shapes_with_and_without_attention(attention):
    G, D = S.sagan(width=8, attention=attention)
    x = G(tg.randn(3, 100))
    assert x.shape == (3, 1, 28, 56) and np.abs(x.numpy()).max() <= 1
    assert D(x).shape == (3, 1)
    assert len(S.attention_blocks(G)) == len(S.attention_blocks(D)) == int(attention)
    assert ("attend.gamma" in G.state_dict()) is attention
    with pytest.raises(ValueError, match=r"images has shape \(3, 1, 28, 28\), expected "
                                         r"\(N, 1, 28, 56\)"):
        D(tg.zeros(3, 1, 28, 28))
    with pytest.raises(ValueError, match="width must be an int >= 8"):
        S.sagan(width=4)


def test_spectral_norm_covers_every_layer_but_not_gamma():
    G, D = S.sagan(width=8)
    S.spectral_norm_all(G)
    nn_utils.spectral_norm_layers(D)
    for net in (G, D):
        layers = [m for m in net.modules() if isinstance(m, (nn.Linear, nn.Conv2d,
                                                             nn.ConvTranspose2d))]
        assert layers and all(isinstance(m, nn_utils._SpectralNorm) for m in layers)
        state = net.state_dict()
        assert state["attend.gamma"].shape == (1,) and "attend.gamma_orig" not in state
        assert "attend.f.weight_orig" in state
        block = S.attention_blocks(net)[0]
        assert type(block.gamma) is nn.Parameter
        assert any(p is block.gamma for p in net.parameters())


# ---------------------------------------------------------------- the experiment


def test_sagan_is_registered_with_the_papers_recipe():
    c = experiments.get("sagan").make_config()
    assert isinstance(c, XS.SAGANConfig)
    assert (c.attention, c.objective, c.betas, c.lr, c.lr_d, c.batch_size, c.spectral_norm) == \
        (True, "hinge", (0.0, 0.9), 1e-4, 4e-4, 64, True)
    assert c.eval_samples == 2000 and c.ema_decay == 0.999
    with pytest.raises(ValueError, match="width must be >= 8"):
        XS.SAGANConfig(width=4)
    with pytest.raises(ValueError, match="attention_pool must be one of"):
        XS.SAGANConfig(attention_pool=3)


def test_sagan_experiment_trains_and_reports(tiny_digits):
    exp = XS.build(XS.SAGANConfig(batch_size=8, eval_samples=40, log_every=2, width=8),
                   digits=tiny_digits)
    exp.trainer.fit(4)
    out = exp.evaluate()
    json.dumps(out)
    assert out["real_mirror_asymmetry"] == 0.0
    for key in ("trained", "ema"):
        assert set(out[key]) >= {"mirror_asymmetry", "classifier_score", "frechet_distance"}
        assert 0 <= out[key]["mirror_asymmetry"] <= 2
    gamma = out["gamma"]
    assert gamma["iteration"] == [0, 2, 4]
    assert len(gamma["generator"]) == len(gamma["discriminator"]) == 1   # one block each
    assert gamma["generator"][0][0] == 0.0 and gamma["generator"][0][-1] != 0.0  # it learns
    assert exp.sample(3)["images"].shape == (3, 1, 28, 56)
    maps = XS.attention_maps(exp, [(3, 5), (27, 55)], n=2)
    assert maps["images"].shape == (2, 1, 28, 56) and maps["maps"].shape == (2, 2, 7, 14)
    np.testing.assert_allclose(maps["maps"].sum(axis=(2, 3)), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(maps["feature_queries"], [[1, 2], [13, 27]])
    assert exp.generator.training  # put back
    with pytest.raises(ValueError, match=r"queries must be integer \(row, col\) pixels"):
        XS.attention_maps(exp, [(28, 0)])


def test_sagan_without_attention_and_resume(tiny_digits, tmp_path):
    exp = XS.build(XS.SAGANConfig(batch_size=4, eval_samples=0, width=8, attention=False),
                   digits=tiny_digits)
    exp.trainer.fit(2)
    out = exp.evaluate()
    assert out["scored"] is False and out["gamma"]["generator"] == []
    with pytest.raises(ValueError, match="has no attention"):
        XS.attention_maps(exp, [(0, 0)])
    settings = dict(batch_size=4, eval_samples=0, width=8, log_every=1, attention_pool=1)
    a = XS.build(XS.SAGANConfig(**settings), digits=tiny_digits)
    a.trainer.fit(2)
    io.save(tmp_path / "state.npz", {"trainer": a.trainer.state_dict()})
    b = XS.build(XS.SAGANConfig(**settings, seed=5), digits=tiny_digits)
    b.trainer.load_state_dict(io.load(tmp_path / "state.npz")["trainer"])
    a.trainer.fit(1)
    b.trainer.fit(1)
    assert a.parts["gamma"].as_dict() == b.parts["gamma"].as_dict()
    assert len(a.parts["gamma"].as_dict()["iteration"]) == 4


def test_sagan_trains_on_every_device(device, tiny_digits):
    exp = XS.build(XS.SAGANConfig(batch_size=4, eval_samples=0, width=8, log_every=1),
                   device, digits=tiny_digits)
    exp.trainer.fit(2)
    assert all(p.device == exp.device for p in exp.generator.parameters())
    assert len(exp.evaluate()["gamma"]["iteration"]) == 3
    assert XS.attention_maps(exp, [(0, 0)], n=1)["maps"].shape == (1, 1, 7, 14)
