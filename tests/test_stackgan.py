"""StackGAN's pieces (Zhang et al. 2017, arXiv 1612.03242): captions built from facts of
synthetic strokes (thick / thin, slanted left / right / upright), the fixed bag-of-words
embeddings, Conditioning Augmentation (the KL's known answers and gradients, its sampling
statistics, the switch), the shapes of both stages' networks, the matching-aware loss (a
caption-blind D pays the wrong-caption term; mismatched captions really differ), bad inputs,
and the "stackgan" experiment driving both stages from one budget."""
import json
import math

import numpy as np
import pytest

import tinygan as tg
from tinygan import io
from tinygan.data import captions as C
from tinygan.data.digits import Digits
from tinygan.experiments import digits as X
from tinygan.experiments import stackgan as XS
from tinygan.gan import stackgan as S
from tinygan.ops import concatenate
from tinygan.testing import gradcheck, gradgradcheck


def stroke(radius: float, lean: float) -> np.ndarray:
    """One 28x28 image in [-1, 1]: a line from row 5 to row 22 through the centre whose top is
    `lean` columns per row to the right, `radius` pixels thick."""
    yy, xx = np.mgrid[0:28, 0:28] + 0.5
    centre = 14 - lean * (yy - 14)          # rows count down: the top (small rows) to the right
    dist = np.abs(xx - centre) / math.sqrt(1 + lean ** 2)
    ink = np.clip(radius + 0.5 - dist, 0, 1) * ((yy > 5) & (yy < 22))
    return (2 * ink - 1).astype(np.float32)[None]


STROKES = np.stack([stroke(0.8, 0.0), stroke(2.2, 0.0), stroke(0.8, 0.4), stroke(2.2, -0.4)])
#: one ink-mass edge for every class, between the thin strokes' mass and the thick ones'
EDGES = np.full((10, 1), 0.5 * (C.attributes.ink_mass(STROKES[:1])[0] +
                                C.attributes.ink_mass(STROKES[1:2])[0]))


@pytest.fixture(scope="module")
def tiny():
    return Digits.synthetic_set(120, seed=3)


# ---------------------------------------------------------------- captions


def test_facts_of_synthetic_strokes():
    facts = C.caption_facts(STROKES, np.array([1, 1, 7, 7]), EDGES)
    assert facts.tolist() == [[1, 0, 0], [1, 1, 0], [7, 0, 1], [7, 1, -1]]
    assert C.caption_text(facts) == ["a thin one upright", "a thick one upright",
                                     "a thin seven slanted right", "a thick seven slanted left"]
    # the dead zone: a lean of 0.05 columns per row is upright, unless the zone is narrower
    assert C.slant_direction(stroke(1.5, 0.05)[None]).tolist() == [0]
    assert C.slant_direction(stroke(1.5, 0.05)[None], dead_zone=0.01).tolist() == [1]
    assert C.make_facts(7, "thick", ["left", "upright"]).tolist() == [[7, 1, -1], [7, 1, 0]]


def test_word_vectors_and_embeddings_are_fixed_and_a_bag_of_words():
    table = C.word_vectors()
    assert table.shape == (len(C.VOCABULARY), C.EMBED_DIM) and table.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(table, axis=1), 1, rtol=1e-6)
    assert np.array_equal(table, C.word_vectors())                     # same seed, same table
    assert not np.allclose(table, C.word_vectors(seed=2))
    table[0] = 0                                                       # a copy: the cache is safe
    assert np.linalg.norm(C.word_vectors()[0]) == pytest.approx(1, rel=1e-6)
    e = C.encode(["a thick seven slanted left"])
    words = [C.VOCABULARY.index(w) for w in ("a", "thick", "seven", "slanted", "left")]
    np.testing.assert_allclose(e[0], C.word_vectors()[words].mean(axis=0), rtol=1e-6)
    np.testing.assert_array_equal(C.encode(["left seven A thick slanted"]), e)  # order-free
    facts = C.make_facts(np.arange(10), np.arange(10) % 2, np.arange(10) % 3 - 1)
    np.testing.assert_array_equal(C.encode(facts), C.encode(C.caption_text(facts)))
    assert len({tuple(r) for r in C.encode(C.make_facts(np.repeat(np.arange(10), 6),
                                                        np.tile([0, 0, 0, 1, 1, 1], 10),
                                                        np.tile([-1, 0, 1], 20)))}) == 60
    assert C.encode(["a one"], dim=8, seed=5).shape == (1, 8)


@pytest.mark.parametrize("call, error, message", [
    (lambda: C.encode(["a purple seven"]), ValueError, r"unknown word\(s\) \['purple'\]"),
    (lambda: C.encode(["  "]), ValueError, "no words"),
    (lambda: C.encode("a thin one upright"), TypeError, "not one string"),
    (lambda: C.encode([]), ValueError, "no captions"),
    (lambda: C.encode([3]), TypeError, "a caption is a str"),
    (lambda: C.caption_text(np.zeros((2, 2), int)), ValueError, r"shape \(N, 3\)"),
    (lambda: C.caption_text([[10, 0, 0]]), ValueError, r"digit must lie in 0\.\.9"),
    (lambda: C.caption_text([[1, 0, 2]]), ValueError, r"slant must lie in -1\.\.1"),
    (lambda: C.make_facts(1, "fat", 0), ValueError, "'fat' is not one of"),
    (lambda: C.caption_facts(STROKES, [1, 1, 1, 1], np.zeros((10, 2))), ValueError,
     r"edges must be \(10, 1\)"),
    (lambda: C.caption_facts(STROKES, [1, 1, 1], EDGES), ValueError, "4 images but 3 labels"),
    (lambda: C.caption_facts(STROKES, [1.0, 1, 1, 1], EDGES), ValueError, "integers 0..9"),
    (lambda: C.word_vectors(0), ValueError, "positive int"),
])
def test_caption_bad_inputs(call, error, message):
    with pytest.raises(error, match=message):
        call()


# ---------------------------------------------------------------- conditioning augmentation


def test_kl_known_answers_and_gradients():
    mu = tg.tensor([[0.0, 0.0], [1.0, 2.0]], dtype=np.float64, requires_grad=True)
    logvar = tg.tensor([[0.0, 0.0], [0.0, math.log(4.0)]], dtype=np.float64,
                       requires_grad=True)
    kl = S.kl_divergence(mu, logvar)
    assert kl.shape == (2, 1) and kl.numpy()[0, 0] == 0.0               # N(0, I) itself
    assert kl.numpy()[1, 0] == pytest.approx(0.5 * (1 + 4 + 4 - math.log(4) - 1))
    gm, gl = tg.grad(kl.sum(), [mu, logvar])
    np.testing.assert_allclose(gm.numpy(), mu.numpy())                 # d/dmu = mu
    np.testing.assert_allclose(gl.numpy(), 0.5 * (np.exp(logvar.numpy()) - 1))
    rng = np.random.default_rng(0)
    gradcheck(S.kl_divergence, rng.standard_normal((3, 4)), rng.standard_normal((3, 4)),
              name="kl")
    gradgradcheck(S.kl_divergence, rng.standard_normal((3, 4)), rng.standard_normal((3, 4)),
                  name="kl")


def _float64(module):
    for p in module.parameters():
        p.data = p.data.astype(np.float64)
    return module


def test_conditioning_augmentation_gradient_in_float64():
    ca = _float64(S.ConditioningAugmentation(5, 3))
    rng = np.random.default_rng(1)

    def f(e, eps):
        c, kl = ca(e, eps)
        return concatenate([c, kl], axis=1)
    gradcheck(f, rng.standard_normal((4, 5)), rng.standard_normal((4, 3)), name="CA")
    c, kl = ca(tg.tensor(rng.standard_normal((4, 5))), tg.zeros(4, 3, dtype=np.float64))
    h = ca.fc(tg.tensor(np.zeros((1, 5))))  # eps = 0: c is mu, the first half of the layer
    assert c.shape == (4, 3) and kl.shape == (4, 1) and h.shape == (1, 6)


def test_conditioning_augmentation_samples_its_gaussian():
    ca = S.ConditioningAugmentation(4, 2)
    ca.fc.weight.data[...] = 0
    ca.fc.bias.data[...] = [1.5, -2.0, math.log(0.25), math.log(4.0)]  # mu, log sigma^2
    tg.manual_seed(3)
    c, kl = ca(tg.zeros(20000, 4))
    c = c.numpy()
    np.testing.assert_allclose(c.mean(axis=0), [1.5, -2.0], atol=0.04)
    np.testing.assert_allclose(c.std(axis=0), [0.5, 2.0], rtol=0.03)
    expected = 0.5 * (1.5 ** 2 + 4 + 0.25 + 4 - math.log(0.25) - math.log(4.0) - 2)
    np.testing.assert_allclose(kl.numpy(), expected, rtol=1e-5)
    off = S.ConditioningAugmentation(4, 2, enabled=False)
    e = tg.randn(5, 4)
    a, kl_off = off(e)
    np.testing.assert_array_equal(a.numpy(), off(e)[0].numpy())       # deterministic
    np.testing.assert_allclose(a.numpy(), off.fc(e * 2.0).numpy(), rtol=1e-6)  # gain sqrt(4)
    assert off.fc.weight.shape == (2, 4) and np.all(kl_off.numpy() == 0)
    with pytest.raises(ValueError, match=r"ConditioningAugmentation: caption embeddings has "
                                         r"shape \(5, 3\), expected \(N, 4\)"):
        ca(tg.zeros(5, 3))


# ---------------------------------------------------------------- the networks


def test_shapes_of_both_stages():
    G1, G2 = S.StageIGenerator(width=8), S.StageIIGenerator(width=8, res_blocks=1)
    D1, D2 = S.CaptionDiscriminator(14, width=8), S.CaptionDiscriminator(28, width=8)
    z, e = tg.randn(3, S.Z_DIM), tg.randn(3, 32)
    low = G1(z, e)
    assert low.shape == (3, 1, 14, 14) and np.abs(low.numpy()).max() <= 1
    high, kl = G2.with_kl(low, e)
    assert high.shape == (3, 1, 28, 28) and kl.shape == (3, 1)
    assert D1(low, e).shape == (3, 1) and D2(high, e).shape == (3, 1)
    both = S.StackGANGenerator(G1, G2).both(z, e)
    assert [t.shape for t in both] == [(3, 1, 14, 14), (3, 1, 28, 28)]
    ze = concatenate([z, e], axis=1)
    rows = S.PackedStageI(G1)(ze)
    assert rows.shape == (3, 196 + 32 + 1)
    np.testing.assert_array_equal(rows.numpy()[:, 196:228], e.numpy())
    assert S.PackedCaptionDiscriminator(D1)(rows).shape == (3, 1)
    rows2 = S.PackedStageII(G2)(concatenate([low.reshape(3, 196), e], axis=1))
    assert rows2.shape == (3, 784 + 32 + 1)
    with pytest.raises(ValueError, match=r"StageIIGenerator: Stage I images has shape "
                                         r"\(3, 1, 28, 28\), expected \(N, 1, 14, 14\)"):
        G2(high, e)
    with pytest.raises(ValueError, match=r"CaptionDiscriminator: images has shape"):
        D1(high, e)
    with pytest.raises(ValueError, match="size must be 14 or 28"):
        S.CaptionDiscriminator(32)
    with pytest.raises(ValueError, match=r"StageIGenerator: z has shape \(3, 5\)"):
        G1(tg.randn(3, 5), e)


# ---------------------------------------------------------------- the matching-aware loss


def test_mismatched_captions_really_differ():
    a, b, c = np.eye(3, dtype=np.float32)
    caps = np.stack([a, a, b, a, c, c])
    j = S.mismatched(caps)
    assert j.tolist() == [2, 2, 3, 4, 0, 0]                            # the first that differs
    assert all(not np.array_equal(caps[i], caps[k]) for i, k in enumerate(j))
    assert S.mismatched(np.stack([a, b, c])).tolist() == [1, 2, 0]      # a plain roll by one
    assert S.mismatched(np.stack([a, a])).tolist() == [1, 0]            # nothing differs
    with pytest.raises(ValueError, match="at least 2 captions"):
        S.mismatched(caps[:1])


class CaptionBlind(tg.nn.Module):
    """A D that reads only the image: its logit is the image's mean pixel, times a weight."""

    def __init__(self):
        self.w = tg.nn.Parameter(np.array([2.0], np.float32))

    def forward(self, rows):
        return rows[:, :4].mean(axis=1, keepdims=True) * self.w


def test_a_caption_blind_d_pays_the_wrong_caption_term():
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (8, 1, 2, 2)).astype(np.float32)
    embeddings = np.repeat(np.eye(4, dtype=np.float32), 2, axis=0)     # pairs share a caption
    real = tg.tensor(S.packed_rows(images, embeddings))
    hook = S.MatchingAware(4, 4, weight=0.5)
    wrong = hook.wrong_rows(real).numpy()
    np.testing.assert_array_equal(wrong[:, :4], real.numpy()[:, :4])   # same images
    assert all(not np.array_equal(w, r) for w, r in zip(wrong[:, 4:8], real.numpy()[:, 4:8]))
    D = CaptionBlind()
    trainer = type("T", (), {"D": D})()
    term = hook.d_loss(trainer, real, None, None, None)
    logits = 2 * images.reshape(8, 4).mean(axis=1)
    softplus = np.logaddexp(0, logits)
    # blind to captions, D says the same of a wrong pair as of the real one: it pays in full
    assert term.item() == pytest.approx(0.5 * softplus.mean(), rel=1e-6)
    assert float(hook.last) == pytest.approx(np.mean(1 / (1 + np.exp(-logits))), rel=1e-5)
    d_loss, g_loss = S.matching_objective(0.5)
    r, f = tg.tensor([[1.0], [-2.0]]), tg.tensor([[0.5], [3.0]])
    assert d_loss(r, f).item() == pytest.approx(np.logaddexp(0, [-1, 2]).mean() +
                                                0.5 * np.logaddexp(0, [0.5, 3]).mean())
    assert g_loss(f).item() == pytest.approx(np.logaddexp(0, [-0.5, -3]).mean())
    assert S.MatchingAware(4, 4, weight=0).d_loss(trainer, real, None, None, None) is None
    with pytest.raises(ValueError, match="weight must be >= 0"):
        S.MatchingAware(4, 4, weight=-1)


def test_the_kl_penalty_reaches_the_ca_layer():
    G1 = S.StageIGenerator(width=8)
    rows = S.PackedStageI(G1)(tg.randn(6, S.Z_DIM + 32))
    hook = S.KLPenalty(2.0, S.COND_DIM)
    term = hook.g_loss(None, rows, None)
    assert term.item() == pytest.approx(2.0 / S.COND_DIM * rows.numpy()[:, -1].mean(), rel=1e-6)
    g, = tg.grad(term, [G1.ca.fc.weight])
    assert np.abs(g.numpy()).max() > 0
    assert S.KLPenalty(0.0).g_loss(None, rows, None) is None


# ---------------------------------------------------------------- the experiment


@pytest.fixture
def small(tiny, monkeypatch):
    monkeypatch.setattr(X, "load_digits", lambda data_dir=None: tiny)
    return dict(steps=5, batch_size=8, width=8, res_blocks=1, eval_samples=40, log_every=1)


def test_the_experiment_trains_both_stages_and_evaluates(small):
    from tinygan import experiments
    exp = experiments.build("stackgan", **small)
    s1, s2 = exp.trainer.trainers
    out = exp.trainer.fit(exp.config.steps)
    assert out["steps"] == 5 and (s1.iteration, s2.iteration) == (2, 3)   # 0.4 of 5, then 3
    assert math.isfinite(s2.last_d_loss.item()) and s2.G.generator is exp.generator.stage2
    exp.trainer.fit(seconds=0.05, clock="cpu")                            # a budget in time
    assert s1.iteration >= 3 and s2.iteration >= 4
    metrics = exp.evaluate()
    json.dumps(metrics)
    for stage in ("stage1", "stage2"):
        assert set(metrics[stage]) == {"agreement", "shuffled", "frechet_distance",
                                       "diversity", "diversity_per_caption"}
        assert set(metrics[stage]["agreement"]) == {"class", "thickness", "slant", "all"}
        assert all(0 <= v <= 1 for v in metrics[stage]["agreement"].values())
        assert len(metrics[stage]["diversity_per_caption"]) == 10
    assert metrics["reference"]["diversity"] > 0
    samples = exp.sample(4, seed=2, labels=[3, 3, 8, 0])
    assert {k: v.shape for k, v in samples.items()} == {"images": (4, 1, 28, 28),
                                                       "stage1": (4, 1, 14, 14),
                                                       "facts": (4, 3)}
    assert samples["facts"][:, 0].tolist() == [3, 3, 8, 0]
    again = exp.sample(4, seed=2, labels=[3, 3, 8, 0])
    assert all(np.array_equal(samples[k], again[k]) for k in samples)
    low, high = XS.generate(exp, C.encode(samples["facts"]), seed=2)      # embeddings too
    np.testing.assert_array_equal(high, samples["images"])
    with pytest.raises(ValueError, match="4 digits 0..9"):
        exp.sample(4, labels=[1, 2])


def test_stepping_one_iteration_at_a_time_keeps_the_stage_order(small):
    from tinygan import experiments
    exp = experiments.build("stackgan", **dict(small, ca=False, eval_samples=0))
    seen = []
    for _ in range(5):
        exp.trainer.step()
        seen.append([t.iteration for t in exp.trainer.trainers])
    assert seen == [[1, 0], [2, 0], [2, 1], [2, 2], [2, 3]]
    assert exp.evaluate() == {"data": "synthetic (test)", "ca": False}
    assert len(exp.trainer.trainers[0].hooks) == 1                        # no KL without CA


def test_the_state_dict_restores_both_stages(small, tmp_path):
    from tinygan import experiments
    a = experiments.build("stackgan", **dict(small, seed=4))
    a.trainer.fit(3)
    io.save(tmp_path / "state.npz", {"trainer": a.trainer.state_dict()})
    b = experiments.build("stackgan", **dict(small, seed=9))
    b.trainer.load_state_dict(io.load(tmp_path / "state.npz")["trainer"])
    a.trainer.fit(3)
    b.trainer.fit(3)
    for ta, tb in zip(a.trainer.trainers, b.trainer.trainers):
        sa, sb = ta.state_dict(), tb.state_dict()
        assert all(np.array_equal(sa["G"][k], sb["G"][k]) for k in sa["G"])
        assert sa["rng"] == sb["rng"] and ta.history == tb.history


@pytest.mark.parametrize("change, message", [
    (dict(stage1_fraction=1.0), r"stage1_fraction must lie in \(0, 1\)"),
    (dict(objective="hinge"), r"\['objective'\] are not supported"),
    (dict(ema_decay=0.99), r"\['ema_decay'\] are not supported"),
])
def test_config_refuses_what_it_cannot_do(change, message):
    with pytest.raises(ValueError, match=message):
        XS.StackGANConfig(**change)
