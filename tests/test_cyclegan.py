"""CycleGAN's pieces (Zhu et al. 2017, arXiv 1703.10593): the ResNet generator's and the
PatchGAN's shapes (and the 70-pixel patch of the paper's 3-layer D), the image pool (the fakes
while it fills, then half the time an older fake that the new one replaces; seeded; size 0
off; exact state), each loss term against its formula, the cycle and identity switches
removing exactly their terms, which weights each step trains, the trainer's budget semantics
and exact resume, bad inputs, and the "cyclegan" experiment on synthetic digits."""
import json
import math

import numpy as np
import pytest

import tinygan as tg
from tinygan import experiments, io, nn
from tinygan.data.digits import Digits, sampler, synthetic_digits
from tinygan.experiments import cyclegan as XC
from tinygan.experiments import digits as X
from tinygan.gan import cyclegan as C
from tinygan.gan.hooks import LinearDecay
from tinygan.gan.trainer import Hook
from tinygan.optim import Adam

SPEC = experiments.Spec("cyclegan", XC, XC.CycleGANConfig)
SMALL = dict(steps=4, batch_size=4, width=4, res_blocks=1, pool_size=6, eval_samples=30,
             log_every=1)


@pytest.fixture(scope="module")
def tiny():
    return Digits.synthetic_set(80, seed=3)


@pytest.fixture
def small(tiny, monkeypatch):
    monkeypatch.setattr(X, "load_digits", lambda data_dir=None: tiny)
    return dict(SMALL)


def nets(seed=0, width=2):
    tg.manual_seed(seed)
    G_AB, G_BA = C.ResnetGenerator(1, width, 1), C.ResnetGenerator(1, width, 1)
    D_A, D_B = C.PatchDiscriminator(1, width), C.PatchDiscriminator(1, width)
    C.init_weights(G_AB, G_BA, D_A, D_B)
    return G_AB, G_BA, D_A, D_B


def images(n, seed):
    return tg.tensor(np.random.default_rng(seed).uniform(-1, 1, (n, 1, 28, 28))
                     .astype(np.float32))


# ---------------------------------------------------------------- networks


def test_shapes_of_the_generator_and_the_patch_discriminator():
    G = C.ResnetGenerator(1, 4, 2)
    x = images(3, 0)
    y = G(x)
    assert y.shape == (3, 1, 28, 28) and np.abs(y.numpy()).max() <= 1
    assert len([m for m in G.modules() if isinstance(m, C.ResnetBlock)]) == 2
    assert G(images(2, 1)[:, :, :16, :16]).shape == (2, 1, 16, 16)    # any size divisible by 4
    for layers, grid, patch in ((1, 12, 16), (2, 5, 34), (3, 1, 70)):  # 3: the paper's 70x70
        D = C.PatchDiscriminator(1, 4, layers)
        assert D(x).shape == (3, 1, grid, grid) and D.receptive_field == patch
    assert not any(isinstance(m, nn.BatchNorm2d) for m in C.PatchDiscriminator().modules())
    block = C.ResnetBlock(4)
    for p in block.parameters():
        p.data[...] = 0
    h = tg.randn(2, 4, 7, 7)
    np.testing.assert_array_equal(block(h).numpy(), h.numpy())        # zero body: identity
    out = C.translate(G, x.numpy()[:, :, :, :], batch_size=2)          # in batches, eval mode
    np.testing.assert_allclose(out, y.numpy(), rtol=1e-5, atol=1e-6)
    assert out.dtype == np.float32 and G.training


# ---------------------------------------------------------------- the image pool


def marked(values):
    """Images (len(values), 1, 2, 2) each filled with its value: a fake that can be traced."""
    return np.asarray(values, np.float32)[:, None, None, None] * np.ones((1, 1, 2, 2), np.float32)


def test_the_pool_returns_the_fakes_until_full_then_swaps_half_of_them():
    pool = C.ImagePool(4, rng=0)
    out = pool.query(tg.tensor(marked([0, 1, 2])))
    assert out.numpy()[:, 0, 0, 0].tolist() == [0, 1, 2] and len(pool) == 3
    out = pool.query(marked([3, 4]))          # 3 fills the pool; 4 meets a full one
    assert out.numpy()[0, 0, 0, 0] == 3 and len(pool) == 4
    stored = {0.0, 1.0, 2.0, 3.0}
    first = out.numpy()[1, 0, 0, 0]
    if first != 4:
        stored = stored - {first} | {4.0}
    assert {float(x[0, 0, 0]) for x in pool.images} == stored
    swaps = 0
    for v in range(5, 205):
        before = {float(x[0, 0, 0]) for x in pool.images}
        got = float(pool.query(marked([v])).numpy()[0, 0, 0, 0])
        after = {float(x[0, 0, 0]) for x in pool.images}
        if got == v:
            assert after == before                    # returned as is, pool untouched
        else:
            swaps += 1
            assert got in before and after == before - {got} | {float(v)}  # the old one left
        assert len(pool) == 4
    assert 70 <= swaps <= 130                          # probability 1/2 over 200 queries
    a, b, c = C.ImagePool(3, rng=7), C.ImagePool(3, rng=7), C.ImagePool(3, rng=8)
    outs = [[p.query(marked(range(i * 5, i * 5 + 5))).numpy() for i in range(6)]
            for p in (a, b, c)]
    assert all(np.array_equal(x, y) for x, y in zip(outs[0], outs[1]))          # seeded
    assert not all(np.array_equal(x, y) for x, y in zip(outs[0], outs[2]))
    off = C.ImagePool(0)
    x = marked([5, 6])
    np.testing.assert_array_equal(off.query(tg.tensor(x, requires_grad=True)).numpy(), x)
    assert len(off) == 0 and off.query(x).requires_grad is False


def test_the_pool_state_restores_exactly():
    a = C.ImagePool(5, rng=1)
    for i in range(3):
        a.query(marked(range(i * 3, i * 3 + 3)))
    b = C.ImagePool(5, rng=99)
    b.load_state_dict(a.state_dict())
    for i in range(3, 8):
        np.testing.assert_array_equal(a.query(marked(range(i * 3, i * 3 + 3))).numpy(),
                                      b.query(marked(range(i * 3, i * 3 + 3))).numpy())
    empty = C.ImagePool(5, rng=2)
    fresh = C.ImagePool(5, rng=3)
    fresh.load_state_dict(empty.state_dict())
    assert len(fresh) == 0
    with pytest.raises(ValueError, match="holds 5 images, more than this pool's size 2"):
        C.ImagePool(2).load_state_dict(a.state_dict())


# ---------------------------------------------------------------- losses


def test_each_loss_term_is_its_formula():
    G_AB, G_BA, D_A, D_B = nets()
    a, b = images(2, 1), images(3, 2)      # the domains' batches need not be the same size
    terms, fake_b, fake_a = C.generator_losses(G_AB, G_BA, D_A, D_B, a, b, 10.0, 0.5)
    with tg.no_grad():
        fb, fa = G_AB(a).numpy(), G_BA(b).numpy()
        want = {"gan_ab": np.mean((D_B(tg.tensor(fb)).numpy() - 1) ** 2),
                "gan_ba": np.mean((D_A(tg.tensor(fa)).numpy() - 1) ** 2),
                "cycle_aba": 10 * np.abs(G_BA(tg.tensor(fb)).numpy() - a.numpy()).mean(),
                "cycle_bab": 10 * np.abs(G_AB(tg.tensor(fa)).numpy() - b.numpy()).mean(),
                "identity_ab": 5 * np.abs(G_AB(b).numpy() - b.numpy()).mean(),
                "identity_ba": 5 * np.abs(G_BA(a).numpy() - a.numpy()).mean()}
    assert set(terms) == set(want) | {"total"}
    for k, v in want.items():
        assert terms[k].item() == pytest.approx(v, rel=1e-5), k
    assert terms["total"].item() == pytest.approx(sum(want.values()), rel=1e-5)
    np.testing.assert_allclose(fake_b.numpy(), fb, rtol=1e-5, atol=1e-6)   # batched identity
    np.testing.assert_allclose(fake_a.numpy(), fa, rtol=1e-5, atol=1e-6)   # rides exactly
    # D: 1/2 (D(x) - 1)^2 + 1/2 D(G(y))^2, real and fake in one batch
    d, real_scores, fake_scores = C.discriminator_loss(D_B, b, tg.tensor(fb))
    with tg.no_grad():
        r, f = D_B(b).numpy(), D_B(tg.tensor(fb)).numpy()
    assert d.item() == pytest.approx(0.5 * np.mean((r - 1) ** 2) + 0.5 * np.mean(f ** 2),
                                     rel=1e-5)
    assert real_scores.shape == (3, 1, 5, 5) and fake_scores.shape == (2, 1, 5, 5)
    assert C.g_least_squares(tg.tensor([[0.5], [-1.0]])).item() == pytest.approx(
        (0.25 + 4) / 2)


def test_the_switches_remove_exactly_their_terms():
    G_AB, G_BA, D_A, D_B = nets(1)
    a, b = images(2, 3), images(2, 4)
    full, _, _ = C.generator_losses(G_AB, G_BA, D_A, D_B, a, b)
    no_cycle, _, _ = C.generator_losses(G_AB, G_BA, D_A, D_B, a, b, cycle=False)
    no_id, _, _ = C.generator_losses(G_AB, G_BA, D_A, D_B, a, b, identity=False)
    gan_only, _, _ = C.generator_losses(G_AB, G_BA, D_A, D_B, a, b, cycle=False,
                                        identity=False)
    assert set(no_cycle) == set(full) - {"cycle_aba", "cycle_bab"}
    assert set(no_id) == set(full) - {"identity_ab", "identity_ba"}
    assert set(gan_only) == {"gan_ab", "gan_ba", "total"}
    for k in set(no_cycle) - {"total"}:
        assert no_cycle[k].item() == pytest.approx(full[k].item(), rel=1e-5)
    assert full["total"].item() - no_cycle["total"].item() == pytest.approx(
        full["cycle_aba"].item() + full["cycle_bab"].item(), rel=1e-4)
    assert no_id["total"].item() == pytest.approx(
        full["total"].item() - full["identity_ab"].item() - full["identity_ba"].item(),
        rel=1e-5)
    lam, _, _ = C.generator_losses(G_AB, G_BA, D_A, D_B, a, b, lambda_cycle=2.0,
                                   identity_weight=0.25)
    assert lam["cycle_aba"].item() == pytest.approx(full["cycle_aba"].item() / 5, rel=1e-5)
    assert lam["identity_ab"].item() == pytest.approx(full["identity_ab"].item() / 10, rel=1e-5)
    # G_AB's adversarial term never reaches G_BA; its cycle term does
    g, = tg.grad(gan_only["gan_ab"], [G_BA.body[0].weight], allow_unused=True)
    assert g is None
    g, = tg.grad(full["cycle_aba"], [G_BA.body[0].weight])
    assert np.abs(g.numpy()).max() > 0


def trainer(seed=0, pool_size=4, batch_size=2, **kw):
    G_AB, G_BA, D_A, D_B = nets(seed)
    a, b = synthetic_digits(12, seed=1)[0], synthetic_digits(12, seed=2)[0]
    return C.CycleTrainer(G_AB, G_BA, D_A, D_B, Adam(G_AB.parameters() + G_BA.parameters(),
                                                     2e-4, (0.5, 0.999)),
                          Adam(D_A.parameters() + D_B.parameters(), 2e-4, (0.5, 0.999)),
                          sampler(a), sampler(b), batch_size=batch_size, pool_size=pool_size,
                          seed=seed, **kw)


def test_each_step_trains_only_its_own_networks():
    t = trainer()
    t.g_step()
    assert all(p.grad is None for p in t.D.parameters())               # D frozen in G's step
    assert all(p.grad is not None for p in t.G.parameters())
    g_grads = [p.grad.numpy().copy() for p in t.G.parameters()]
    g_weights = [p.numpy().copy() for p in t.G.parameters()]
    t.d_step()                                                         # detached, pooled fakes
    assert all(np.array_equal(p.grad.numpy(), g) for p, g in zip(t.G.parameters(), g_grads))
    assert all(np.array_equal(p.numpy(), w) for p, w in zip(t.G.parameters(), g_weights))
    assert all(p.grad is not None for p in t.D.parameters())
    assert len(t.pool_a) == len(t.pool_b) == 2
    t.d_step()                              # without a g_step before it: fresh fakes
    assert len(t.pool_a) == 4 and math.isfinite(t.last_d_loss.item())


# ---------------------------------------------------------------- the trainer


def test_the_trainer_keeps_trainer_budget_semantics():
    t = trainer(log_every=1)
    assert t.G[0] is t.G_AB and t.G[1] is t.G_BA and t.D[0] is t.D_A and t.D[1] is t.D_B
    seen = []
    out = t.fit(steps=5, callback=lambda tr: seen.append(tr.iteration), every=2)
    assert out["steps"] == 5 and t.iteration == 5 and seen == [0, 2, 4, 5]
    assert t.clock["wall_seconds"] == pytest.approx(out["wall_seconds"]) and \
        out["cpu_seconds"] > 0
    assert set(t.history) == set(C.CycleTrainer.HISTORY_KEYS)
    assert t.history["iteration"] == [1, 2, 3, 4, 5]
    assert all(math.isfinite(v) for k in t.history for v in t.history[k])
    assert math.isfinite(t.last_d_loss.item()) and math.isfinite(t.last_g_loss.item())
    assert t.last_g_loss.item() == pytest.approx(t.history["g_loss"][-1], rel=1e-6)
    out = t.fit(seconds=0.05, clock="cpu")
    assert out["steps"] >= 1 and t.iteration == 5 + out["steps"]
    assert t.fit(steps=2, seconds=100)["steps"] == 2                   # the first budget ends
    t.step()
    assert t.iteration == 8 + out["steps"]
    with pytest.raises(ValueError, match="fit needs a budget"):
        t.fit()
    with pytest.raises(ValueError, match="clock must be 'wall' or 'cpu'"):
        t.fit(1, clock="gpu")
    off = trainer(cycle=False, identity=False, log_every=1)
    off.fit(2)
    assert all(math.isnan(v) for v in off.history["cycle_loss"] + off.history["identity_loss"])
    assert set(off.last_terms) == {"gan_ab", "gan_ba", "total"}


def test_a_schedule_hook_runs_and_loss_hooks_are_refused():
    t = trainer(hooks=[LinearDecay(4, 0.0)])
    t.fit(2)
    assert t.g_opt.lr == pytest.approx(2e-4 * 0.75) and t.d_opt.lr == pytest.approx(2e-4 * 0.75)

    class Penalty(Hook):
        def d_loss(self, trainer, real, fake, real_logits, fake_logits):
            return None
    with pytest.raises(TypeError, match=r"hooks\[0\] \(Penalty\) adds a loss term"):
        trainer(hooks=[Penalty()])


def test_the_state_dict_restores_a_run_exactly(small, tmp_path):
    a = SPEC.build(**dict(small, seed=4))
    a.trainer.fit(3)                      # the pool of 6 fills at step 2 (batch 4) and swaps
    io.save(tmp_path / "state.npz", {"trainer": a.trainer.state_dict()})
    b = SPEC.build(**dict(small, seed=9))
    b.trainer.load_state_dict(io.load(tmp_path / "state.npz")["trainer"])
    a.trainer.fit(3)
    b.trainer.fit(3)
    sa, sb = a.trainer.state_dict(), b.trainer.state_dict()
    for key in ("G", "D"):
        assert all(np.array_equal(sa[key][k], sb[key][k]) for k in sa[key])
    assert sa["rng"] == sb["rng"] and a.trainer.history == b.trainer.history
    for side in ("a", "b"):
        assert np.array_equal(sa["pools"][side]["images"], sb["pools"][side]["images"])
        assert sa["pools"][side]["rng"] == sb["pools"][side]["rng"]
    np.testing.assert_array_equal(a.sample(3, seed=1)["images"], b.sample(3, seed=1)["images"])
    plain = {k: v for k, v in sa.items() if k != "pools"}
    with pytest.raises(ValueError, match="holds no image pools"):
        b.trainer.load_state_dict(plain)


# ---------------------------------------------------------------- bad inputs


@pytest.mark.parametrize("call, error, message", [
    (lambda: C.ResnetGenerator(1, 4, 1)(tg.randn(2, 1, 27, 28)), ValueError,
     r"divisible by 4, got \(2, 1, 27, 28\)"),
    (lambda: C.ResnetGenerator(1, 4, 1)(np.zeros((2, 1, 28, 28))), ValueError,
     "must be a Tensor"),
    (lambda: C.PatchDiscriminator(1, 4)(tg.randn(2, 3, 28, 28)), ValueError,
     r"\(N, 1, H, W\), got \(2, 3, 28, 28\)"),
    (lambda: C.ResnetGenerator(res_blocks=-1), ValueError, "res_blocks >= 0"),
    (lambda: C.PatchDiscriminator(layers=0), ValueError, "layers must be >= 1"),
    (lambda: C.ImagePool(-1), ValueError, "size must be an int >= 0"),
    (lambda: C.ImagePool(2.5), ValueError, "size must be an int >= 0"),
    (lambda: C.translate(C.ResnetGenerator(1, 2, 0), np.zeros((0, 1, 28, 28))), ValueError,
     "N >= 1"),
    (lambda: trainer(lambda_cycle=-1.0), ValueError, "lambda_cycle and identity_weight"),
    (lambda: C.CycleTrainer(*nets()[:3], "D_B", None, None, None, None), TypeError,
     "D_B must be a tinygan nn.Module, got str"),
    (lambda: trainer(batch_size=0), ValueError, "batch_size and log_every must be >= 1"),
    (lambda: trainer().generator_loss(), NotImplementedError, "no single"),
    (lambda: SPEC.make_config(pool_size=-1), ValueError, "pool_size must be >= 0"),
    (lambda: SPEC.make_config(cycle=1), TypeError, "cycle must be a bool"),
])
def test_bad_inputs(call, error, message):
    with pytest.raises(error, match=message):
        call()


# ---------------------------------------------------------------- the experiment


def test_the_experiment_trains_evaluates_samples_and_draws(small):
    pytest.importorskip("matplotlib")
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    exp = SPEC.build(**small)
    assert exp.trainer.fit(exp.config.steps)["steps"] == 4
    split = exp.parts["split"]
    assert len(split.a) == len(split.b) == 40 and not set(split.a_index) & set(split.b_index)
    metrics = exp.evaluate()
    json.dumps(metrics)
    assert metrics["samples"] == 30 and metrics["cycle"] is True
    for way in ("a_to_b", "b_to_a"):
        m = metrics[way]
        assert set(m) == {"label_preserved", "label_preserved_source", "label_changed",
                          "top_substitutions", "l1", "l1_source", "frechet_distance",
                          "frechet_distance_source", "cycle_l1", "ink_ratio",
                          "ink_ratio_truth"}
        assert all(0 <= m[k] <= 1 for k in ("label_preserved", "label_changed"))
        assert all(s != t and 0 < f <= 1 for s, t, f in m["top_substitutions"])
        assert m["ink_ratio"] > 0 and m["cycle_l1"] >= 0
    # the true counterparts: thick digits hold more ink than thin ones
    assert metrics["a_to_b"]["ink_ratio_truth"] > 1 > metrics["b_to_a"]["ink_ratio_truth"]
    s = exp.sample(5, seed=3)
    assert {k: v.shape for k, v in s.items()} == {k: (5, 1, 28, 28)
                                                  for k in ("images", "inputs", "cycled")}
    assert all(v.dtype == np.float32 for v in s.values())
    assert all(np.array_equal(s[k], exp.sample(5, seed=3)[k]) for k in s)
    np.testing.assert_array_equal(s["cycled"], C.translate(exp.parts["G_BA"], s["images"]))
    assert exp.draw(n=8).axes
    plt.close("all")
    with pytest.raises(ValueError, match="not conditional"):
        exp.sample(2, labels=[1, 2])
    assert SPEC.build(**dict(small, eval_samples=0, cycle=False)).evaluate() == {
        "data": "synthetic (test)", "cycle": False, "identity": True, "scored": False}
    assert XC.steps_for_epochs(exp.config, 1.0) == 10                  # 40 digits, batch 4
