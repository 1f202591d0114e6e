"""Lesson 11's pieces: nn.Embedding and F.embedding, cross-entropy from logits (integer and
probability targets; values and gradients against PyTorch and finite differences), conditional
batch norm (against PyTorch's BatchNorm2d + Embedding/Linear, state_dict), truncated sampling
(nothing beyond t, the rest distributed as the truncated normal), orthogonal regularization,
the AC-GAN / projection / ControlGAN / BigGAN networks and hooks, and their experiments."""
import numpy as np
import pytest

import tinygan as tg
import tinygan.functional as F
import tinygan.nn as nn
from tinygan.data.digits import Digits, synthetic_digits
from tinygan.experiments import conditioning as XC
from tinygan.experiments import digits as X
from tinygan.gan import conditional as C
from tinygan.gan import conditioning as hooks
from tinygan.gan import models as M
from tinygan.optim import Adam
from tinygan.testing import gradcheck, gradgradcheck


def t64(a, requires_grad=False):
    return tg.tensor(np.asarray(a, dtype=np.float64), requires_grad=requires_grad,
                     dtype=np.float64)


@pytest.fixture(scope="module")
def tiny_digits():
    return Digits.synthetic_set(64, seed=3)


# ---------------------------------------------------------------- embedding


def test_embedding_picks_rows_and_adds_repeated_gradients():
    emb = nn.Embedding(5, 3)
    assert [k for k in emb.state_dict()] == ["weight"] and emb.weight.shape == (5, 3)
    idx = np.array([[1, 4], [1, 0]])
    out = emb(idx)
    assert out.shape == (2, 2, 3)
    np.testing.assert_array_equal(out.numpy(), emb.weight.numpy()[idx])
    (out * tg.tensor(np.arange(12, dtype=np.float32).reshape(2, 2, 3))).sum().backward()
    g = emb.weight.grad.numpy()
    np.testing.assert_array_equal(g[1], np.arange(3) + np.arange(6, 9))  # row 1 used twice
    np.testing.assert_array_equal(g[2], 0)


def test_embedding_mixes_rows_for_class_weights():
    emb = nn.Embedding(10, 4)
    mix = tg.tensor(0.5 * np.eye(10, dtype=np.float32)[[3]] + 0.5 * np.eye(10, dtype=np.float32)[[8]])
    np.testing.assert_allclose(emb(mix).numpy()[0], emb.weight.numpy()[[3, 8]].mean(axis=0),
                               rtol=1e-6)
    onehot = tg.tensor(np.eye(10, dtype=np.float32)[[2, 7]])
    np.testing.assert_allclose(emb(onehot).numpy(), emb(np.array([2, 7])).numpy(), rtol=1e-6)


def test_embedding_gradients_in_float64():
    w = np.random.default_rng(0).standard_normal((4, 3))
    idx = np.array([0, 2, 2, 3])
    gradcheck(lambda w: F.embedding(idx, w), w, name="embedding")
    gradgradcheck(lambda w: F.embedding(idx, w) ** 2, w, name="embedding squared")


@pytest.mark.parametrize("indices, message", [
    (np.array([0, 5]), r"indices must lie in 0\.\.4, got 0\.\.5"),
    (np.array([-1, 2]), r"indices must lie in 0\.\.4, got -1\.\.2"),
    (np.array([0.0, 1.0]), "indices must be integers"),
    (tg.zeros(2, 4), "float class weights must end in 5"),
])
def test_embedding_bad_indices(indices, message):
    with pytest.raises(ValueError, match=r"Embedding\(5, 3\): embedding: " + message):
        nn.Embedding(5, 3)(indices)


def test_embedding_matches_torch():
    torch = pytest.importorskip("torch")
    ours, theirs = nn.Embedding(6, 4), torch.nn.Embedding(6, 4)
    theirs.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in ours.state_dict().items()})
    idx = np.array([5, 0, 5, 2])
    up = np.random.default_rng(1).standard_normal((4, 4)).astype(np.float32)
    (ours(idx) * tg.tensor(up)).sum().backward()
    out = theirs(torch.from_numpy(idx))
    (out * torch.from_numpy(up)).sum().backward()
    np.testing.assert_array_equal(ours(idx).numpy(), out.detach().numpy())
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-6)


# ---------------------------------------------------------------- cross-entropy


def _logits_and_targets(seed=0, n=5, c=4):
    rng = np.random.default_rng(seed)
    logits = rng.standard_normal((n, c)) * 3
    classes = rng.integers(0, c, n)
    probs = rng.random((n, c))
    return logits, classes, probs / probs.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_matches_torch(reduction):
    torch = pytest.importorskip("torch")
    logits, classes, probs = _logits_and_targets()
    for ours_t, torch_t in ((classes, torch.from_numpy(classes)),
                            (t64(probs), torch.from_numpy(probs))):
        x = t64(logits, requires_grad=True)
        ours = F.cross_entropy(x, ours_t, reduction=reduction)
        tx = torch.from_numpy(logits).requires_grad_()
        theirs = torch.nn.functional.cross_entropy(tx, torch_t, reduction=reduction)
        np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-12)
        ours.sum().backward()
        theirs.sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_cross_entropy_gradients_are_softmax_minus_target_and_check_numerically():
    logits, classes, probs = _logits_and_targets(seed=2)
    x = t64(logits, requires_grad=True)
    F.cross_entropy(x, classes, reduction="sum").backward()
    soft = np.exp(logits - logits.max(1, keepdims=True))
    soft /= soft.sum(1, keepdims=True)
    np.testing.assert_allclose(x.grad.numpy(), soft - np.eye(4)[classes], atol=1e-12)
    gradcheck(lambda x: F.cross_entropy(x, classes, reduction="none"), logits, name="ce int")
    gradgradcheck(lambda x: F.cross_entropy(x, classes), logits, name="ce int")
    gradcheck(lambda x, t: F.cross_entropy(x, t, reduction="none"), logits, probs,
              name="ce probabilities")
    gradgradcheck(lambda x, t: F.cross_entropy(x, t), logits, probs, name="ce probabilities")


def test_cross_entropy_is_stable_for_huge_logits():
    x = t64([[1000.0, -1000.0, 0.0]])
    assert F.cross_entropy(x, np.array([0])).item() == pytest.approx(0.0, abs=1e-12)
    assert F.cross_entropy(x, np.array([1])).item() == pytest.approx(2000.0)


@pytest.mark.parametrize("targets, message", [
    (np.array([0, 1, 2]), r"targets must be 2 integer class indices"),
    (np.array([0, 4]), r"targets must lie in 0\.\.3, got 0\.\.4"),
    (tg.zeros(2, 3), r"probability targets must have the logits' shape \(2, 4\)"),
])
def test_cross_entropy_bad_targets(targets, message):
    with pytest.raises(ValueError, match=message):
        F.cross_entropy(tg.zeros(2, 4), targets)


# ---------------------------------------------------------------- conditional batch norm


def test_conditional_batch_norm_per_class_matches_torch_over_steps():
    torch = pytest.importorskip("torch")
    ours = nn.ConditionalBatchNorm2d(3, num_classes=4)
    assert list(ours.state_dict()) == ["bn.running_mean", "bn.running_var",
                                       "bn.num_batches_tracked", "gain.weight", "bias.weight"]
    np.testing.assert_array_equal(ours.gain.weight.numpy(), 1)  # starts as plain batch norm
    rng = np.random.default_rng(0)
    ours.gain.weight.data[...] = rng.standard_normal((4, 3))
    ours.bias.weight.data[...] = rng.standard_normal((4, 3))
    bn, gain, bias = (torch.nn.BatchNorm2d(3, affine=False), torch.nn.Embedding(4, 3),
                      torch.nn.Embedding(4, 3))
    state = {k: torch.from_numpy(np.array(v)) for k, v in ours.state_dict().items()}
    bn.load_state_dict({k[3:]: v for k, v in state.items() if k.startswith("bn.")})
    gain.weight.data[...] = state["gain.weight"]
    bias.weight.data[...] = state["bias.weight"]
    for step in range(3):
        x = rng.standard_normal((6, 3, 4, 4)).astype(np.float32)
        y = rng.integers(0, 4, 6)
        up = rng.standard_normal((6, 3, 4, 4)).astype(np.float32)
        tx = torch.from_numpy(x).requires_grad_()
        ty = torch.from_numpy(y)
        theirs = bn(tx) * gain(ty)[:, :, None, None] + bias(ty)[:, :, None, None]
        xt = tg.tensor(x, requires_grad=True)
        out = ours(xt, y)
        np.testing.assert_allclose(out.numpy(), theirs.detach().numpy(), rtol=1e-5, atol=1e-5)
        (out * tg.tensor(up)).sum().backward()
        (theirs * torch.from_numpy(up)).sum().backward()
        np.testing.assert_allclose(xt.grad.numpy(), tx.grad.numpy(), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(ours.gain.weight.grad.numpy(), gain.weight.grad.numpy(),
                                   rtol=1e-4, atol=1e-5)
        ours.gain.weight.grad = ours.bias.weight.grad = None
        gain.weight.grad = bias.weight.grad = None
    np.testing.assert_allclose(ours.bn.running_var.numpy(), bn.running_var.numpy(), rtol=1e-5)
    ours.eval(), bn.eval()
    x, y = rng.standard_normal((2, 3, 4, 4)).astype(np.float32), np.array([3, 1])
    theirs = (bn(torch.from_numpy(x)) * gain(torch.from_numpy(y))[:, :, None, None]
              + bias(torch.from_numpy(y))[:, :, None, None])
    np.testing.assert_allclose(ours(tg.tensor(x), y).numpy(), theirs.detach().numpy(),
                               rtol=1e-5, atol=1e-5)


def test_conditional_batch_norm_from_a_vector_matches_torch():
    torch = pytest.importorskip("torch")
    ours = nn.ConditionalBatchNorm2d(3, cond_dim=5)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 3, 2, 2)).astype(np.float32)
    c = rng.standard_normal((4, 5)).astype(np.float32)
    bn = torch.nn.BatchNorm2d(3, affine=False)
    wg = torch.from_numpy(ours.gain.weight.numpy())
    wb = torch.from_numpy(ours.bias.weight.numpy())
    tc = torch.from_numpy(c)
    theirs = bn(torch.from_numpy(x)) * (1 + tc @ wg.T)[:, :, None, None] + \
        (tc @ wb.T)[:, :, None, None]
    np.testing.assert_allclose(ours(tg.tensor(x), tg.tensor(c)).numpy(),
                               theirs.detach().numpy(), rtol=1e-5, atol=1e-5)


def test_conditional_batch_norm_bad_inputs():
    with pytest.raises(ValueError, match="exactly one of num_classes"):
        nn.ConditionalBatchNorm2d(3)
    with pytest.raises(ValueError, match="exactly one of num_classes"):
        nn.ConditionalBatchNorm2d(3, num_classes=2, cond_dim=4)
    with pytest.raises(ValueError, match=r"condition has shape \(2, 3\), expected \(2, 4\)"):
        nn.ConditionalBatchNorm2d(3, cond_dim=4)(tg.randn(2, 3, 2, 2), tg.randn(2, 3))
    with pytest.raises(ValueError, match="got 3 labels for a batch of 2"):
        nn.ConditionalBatchNorm2d(3, num_classes=4)(tg.randn(2, 3, 2, 2), np.array([0, 1, 2]))


# ---------------------------------------------------------------- truncated normal


@pytest.mark.parametrize("t", [2.0, 1.0, 0.5, 0.25])
def test_truncated_normal_redraws_and_keeps_the_shape_of_the_density(t):
    stats = pytest.importorskip("scipy.stats")
    z = tg.truncated_normal(40_000, threshold=t, rng=np.random.default_rng(0)).numpy()
    assert z.shape == (40_000,) and z.dtype == np.float32
    assert np.abs(z).max() <= t
    law = stats.truncnorm(-t, t)
    assert stats.kstest(z, law.cdf).pvalue > 1e-3
    # what it is not: clipping piles mass at +-t, rescaling into [-t, t] narrows the bell
    clipped = np.clip(np.random.default_rng(0).standard_normal(40_000), -t, t)
    assert stats.kstest(clipped, law.cdf).pvalue < 1e-6 or t >= 2 and \
        np.mean(np.abs(clipped) == t) > 0.04
    scaled = np.random.default_rng(0).standard_normal(40_000)
    scaled = scaled * t / np.abs(scaled).max()
    assert stats.kstest(scaled, law.cdf).pvalue < 1e-6


def test_truncated_normal_is_seeded_and_checks_its_threshold():
    a = tg.truncated_normal(3, 4, threshold=0.5, rng=np.random.default_rng(5)).numpy()
    b = tg.truncated_normal(3, 4, threshold=0.5, rng=np.random.default_rng(5)).numpy()
    np.testing.assert_array_equal(a, b)
    for bad in (0, -1.0, float("inf"), "1"):
        with pytest.raises(ValueError, match="threshold must be a positive number"):
            tg.truncated_normal(3, threshold=bad)


# ---------------------------------------------------------------- orthogonal regularization


@pytest.mark.parametrize("shape", [(3, 7), (7, 3), (4, 2, 3, 3)])
def test_orthogonal_penalty_is_biggans_formula(shape):
    w = np.random.default_rng(0).standard_normal(shape)
    m = w.reshape(shape[0], -1)
    direct = ((m @ m.T * (1 - np.eye(shape[0]))) ** 2).sum()
    assert hooks.orthogonal_penalty([t64(w)]).item() == pytest.approx(direct, rel=1e-10)
    gradcheck(lambda w: hooks.orthogonal_penalty([w]), w, name="orthogonal penalty")


def test_orthogonal_penalty_vanishes_for_orthogonal_rows_only():
    q, _ = np.linalg.qr(np.random.default_rng(1).standard_normal((6, 6)))
    assert hooks.orthogonal_penalty([t64(3 * q[:4])]).item() == pytest.approx(0, abs=1e-9)
    assert hooks.orthogonal_penalty([t64(q[:4] + 0.1)]).item() > 1e-3
    with pytest.raises(ValueError, match="weights need 2\\+ axes"):
        hooks.orthogonal_penalty([t64([1.0, 2.0])])


def test_orthogonal_regularization_leaves_out_the_shared_embedding_and_biases():
    G = C.BigGANGenerator(width=4)
    reg = hooks.OrthogonalRegularization(G, 1e-4, skip=G.shared.parameters())
    ids = {id(p) for p in reg.weights}
    assert id(G.shared.weight) not in ids and id(G.linear.weight) in ids
    assert all(p.ndim >= 2 for p in reg.weights)
    with pytest.raises(ValueError, match="beta must be positive"):
        hooks.OrthogonalRegularization(G, 0.0)


# ---------------------------------------------------------------- networks


def test_acgan_discriminator_returns_source_then_class_logits():
    G, D = C.acgan(hidden=16)
    x = tg.randn(5, 1, 28, 28)
    out = D(x)
    assert out.shape == (5, 11)
    np.testing.assert_allclose(out.numpy()[:, 1:], D.classify(x).numpy(), rtol=1e-6)
    with pytest.raises(ValueError, match=r"images has shape \(5, 784\)"):
        D(tg.randn(5, 784))


def test_acgan_class_head_gives_logits_not_probabilities(tiny_digits):
    """The classic AC-GAN bug is a softmax before a cross-entropy that takes logits. Fed
    probabilities p in [0, 1] as logits, the loss can never drop below log(1 + 9 / e) = 1.46
    nats (the right class at 1, the other nine at 0); with logits it goes to 0. A few steps
    of D's class loss on separable digits must go well under that bound."""
    _, D = C.acgan(hidden=64)
    aux = hooks.AuxiliaryClassifier()
    data = X.packed_data(tiny_digits, "cpu")
    opt = Adam(D.parameters(), 1e-3)
    rng = np.random.default_rng(0)
    for _ in range(150):
        real = data(32, rng)
        loss = aux._class_loss(real, D(M.unpack(real)[0]))
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert np.log(1 + 9 / np.e) == pytest.approx(1.4612, abs=1e-4)
    assert loss.item() < 0.5


def test_auxiliary_classifier_terms_match_torch_and_refuse_a_one_column_d():
    torch = pytest.importorskip("torch")
    _, D = C.acgan(hidden=16)
    packed = tg.concatenate([tg.randn(4, 784), M.one_hot([1, 2, 3, 3])], axis=1)
    logits = D(M.unpack(packed)[0])
    term = hooks.AuxiliaryClassifier(0.5).g_loss(None, packed, logits)
    ref = torch.nn.functional.cross_entropy(torch.from_numpy(logits.numpy()[:, 1:]),
                                            torch.tensor([1, 2, 3, 3]))
    assert term.item() == pytest.approx(0.5 * ref.item(), rel=1e-5)
    with pytest.raises(ValueError, match=r"returns \(N, 1 \+ K\)"):
        hooks.AuxiliaryClassifier().g_loss(None, packed, logits[:, :1])
    with pytest.raises(ValueError, match="weight must be positive"):
        hooks.AuxiliaryClassifier(0)


def test_projection_discriminator_is_psi_plus_the_inner_product():
    _, D = C.projection_gan(hidden=16)
    x, labels = tg.randn(3, 1, 28, 28), [0, 4, 4]
    h = D.features(x).numpy()
    want = D.psi(D.features(x)).numpy()[:, 0] + (D.embed.weight.numpy()[labels] * h).sum(1)
    np.testing.assert_allclose(D(x, labels).numpy()[:, 0], want, rtol=1e-5, atol=1e-6)
    assert D(x, labels).shape == (3, 1)
    assert abs(D(x[:1], [0]).item() - D(x[:1], [1]).item()) > 1e-6  # the label matters
    with pytest.raises(ValueError, match="exactly one 1 per row"):
        D(x, np.full((3, 10), 0.1, np.float32))


def test_biggan_generator_shapes_labels_and_mixtures():
    G = C.BigGANGenerator(z_dim=12, width=4, shared_dim=3)
    G.eval()
    z = tg.randn(2, 12)
    a, b = G(z, [3, 3]).numpy(), G(z, [8, 8]).numpy()
    assert a.shape == (2, 1, 28, 28) and np.abs(a).max() <= 1 and np.abs(a - b).max() > 1e-5
    mix = 0.5 * np.eye(10, dtype=np.float32)[[3, 3]] + 0.5 * np.eye(10, dtype=np.float32)[[8, 8]]
    m = G(z, mix).numpy()
    assert m.shape == (2, 1, 28, 28) and np.abs(m - a).max() > 1e-6
    with pytest.raises(ValueError, match="3 equal chunks"):
        C.BigGANGenerator(z_dim=10)
    with pytest.raises(ValueError, match=r"z has shape \(2, 11\)"):
        G(tg.randn(2, 11), [1, 2])
    with pytest.raises(ValueError, match="non-negative, each row summing to 1"):
        G(z, np.full((2, 10), 0.2, np.float32))


@pytest.mark.parametrize("make", [C.acgan, C.projection_gan, C.controlgan,
                                  lambda: C.biggan(width=4)])
def test_packed_adapters_match_direct_calls_for_every_conditional_pair(make):
    G, D = make()[:2]
    G.eval(), D.eval()
    z, labels = tg.randn(3, G.z_dim), [4, 4, 1]
    zy = tg.concatenate([z, M.one_hot(labels)], axis=1)
    packed = M.PackedGenerator(G)(zy)
    assert packed.shape == (3, 794)
    direct = G(z, labels)
    np.testing.assert_allclose(packed.numpy()[:, :784], direct.numpy().reshape(3, 784),
                               rtol=1e-6)
    want = D(direct, labels) if getattr(D, "takes_labels", False) else D(direct)
    np.testing.assert_allclose(M.PackedDiscriminator(D)(packed).numpy(), want.numpy(),
                               rtol=1e-5, atol=1e-6)


def test_control_classifier_is_not_the_judge():
    from tinygan.gan.evaluator import LeNet
    clf = C.ControlClassifier()
    assert clf(tg.randn(2, 1, 28, 28)).shape == (2, 10)
    assert not isinstance(clf, LeNet)
    assert not any(isinstance(m, nn.Conv2d) for m in clf.modules())


# ---------------------------------------------------------------- ControlGAN's hook


def test_controlgan_gamma_follows_its_equilibrium_rule(tiny_digits):
    exp = XC.build(XC.ControlGANConfig(batch_size=8, control_gamma=0.3, control_r=0.05,
                                       control_rho=1.5, eval_samples=0), digits=tiny_digits)
    hook = exp.trainer.hooks[0]
    assert isinstance(hook, hooks.ControlGANClassifier)
    c0 = [p.numpy().copy() for p in hook.C.parameters()]
    exp.trainer.step()
    real, fake = float(hook._real), float(hook._fake)
    assert float(hook.gamma) == pytest.approx(max(0.0, 0.3 + 0.05 * (fake - 1.5 * real)),
                                              rel=1e-5)
    assert any(not np.array_equal(a, p.numpy()) for a, p in zip(c0, hook.C.parameters()))
    hook.gamma = np.asarray(0.0, np.float32)
    hook._real, hook._fake = np.float32(1.0), np.float32(0.1)  # G's digits far easier: shrink
    hook.after_step(exp.trainer)
    assert float(hook.gamma) == 0.0  # never below 0


def test_controlgan_classifier_learns_from_real_digits_only(tiny_digits, monkeypatch):
    """C steps on what real_batch returns (the packed real rows, shifted): record it."""
    exp = XC.build(XC.ControlGANConfig(batch_size=8, eval_samples=0), digits=tiny_digits)
    hook = exp.trainer.hooks[0]
    seen = []
    forward = hook.C.forward
    monkeypatch.setattr(hook.C, "forward", lambda x: (seen.append((hook.C.training,
                                                                   x.requires_grad)),
                                                      forward(x))[1])
    exp.trainer.step()
    # C's own step sees constants (real digits, no graph into G); in G's step it is frozen
    # and sees G's digits with their graph: the only call whose input requires grad
    assert seen[0] == (True, False)
    assert sum(1 for _, g in seen if g) == 1


def test_controlgan_rejects_bad_settings():
    with pytest.raises(ValueError, match="rho > 0"):
        hooks.ControlGANClassifier(C.ControlClassifier(), None, None, rho=0)


# ---------------------------------------------------------------- experiments


@pytest.mark.parametrize("name", XC.MODELS)
def test_conditioning_experiments_train_both_players_on_every_device(name, tiny_digits,
                                                                     device):
    config = {"acgan": XC.ACGANConfig, "projection": XC.ProjectionConfig,
              "controlgan": XC.ControlGANConfig, "biggan": XC.BigGANConfig}[name]
    settings = dict(seed=1, batch_size=8, log_every=2, ema_decay=0.99, eval_samples=0)
    if name == "biggan":
        settings["width"] = 4
    exp = XC.build(config(**settings), device, digits=tiny_digits)
    D = exp.parts["discriminator"]
    g0 = [p.numpy().copy() for p in exp.generator.parameters()]
    d0 = [p.numpy().copy() for p in D.parameters()]
    exp.trainer.fit(steps=2)
    assert any(not np.array_equal(a, p.numpy()) for a, p in zip(g0, exp.generator.parameters()))
    assert any(not np.array_equal(a, p.numpy()) for a, p in zip(d0, D.parameters()))
    assert np.isfinite(exp.trainer.history["d_loss"][0])
    assert 0 <= exp.trainer.history["d_real"][0] <= 1  # from the source logit alone
    images = X.generate(exp, 10, labels=X.balanced_labels(10), averaged=True)
    assert images.shape == (10, 1, 28, 28)
    z = XC.truncated_z(10, exp.generator.z_dim, 0.5)
    assert np.abs(z).max() <= 0.5
    assert X.generate(exp, 10, labels=X.balanced_labels(10), z=z).shape == (10, 1, 28, 28)


def test_conditional_scores_report_per_class_frechet_distance(tiny_digits):
    from tinygan.gan.evaluator import Evaluator, load_classifier
    images, labels = synthetic_digits(300, seed=5)
    ev = Evaluator(load_classifier(), images[:200], labels[:200])
    same = ev.evaluate(images[200:], requested=labels[200:]).extra
    wrong = ev.evaluate(images[200:], requested=(labels[200:] + 1) % 10).extra
    assert len(same["class_frechet"]) == 10
    assert same["class_frechet_mean"] < wrong["class_frechet_mean"]
    collapsed = np.repeat(images[200:201], 100, axis=0)  # one digit, no diversity at all
    flat = ev.evaluate(collapsed, requested=np.full(100, labels[200])).extra
    assert flat["class_spread_mean"] < 1e-3 < same["class_spread_mean"]


def test_conditioning_configs_say_what_is_wrong():
    with pytest.raises(ValueError, match="diffaug and the gradient penalty"):
        XC.ACGANConfig(gp_weight=10.0)
    with pytest.raises(ValueError, match="width shapes the convolutional models"):
        XC.ProjectionConfig(width=8)
    assert XC.BigGANConfig().width == 32 and XC.BigGANConfig(width=8).width == 8
    with pytest.raises(ValueError, match="unknown model 'stylegan'"):
        XC.build_models(_Unknown())


class _Unknown:
    model, seed = "stylegan", 0
