"""MidiNet (tinygan.gan.midinet, tinygan.experiments.midinet): G's shapes and range, the
conditioner's maps joining G's at every resolution, D's features, the two feature-matching
terms (zero on equal batches, positive otherwise, their gradient checked in float64), one-hot
monophonic sampling, the ablation ignoring the previous bar, songs bar after bar as MIDI, and
a tiny run through the experiment protocol."""
import json
from types import SimpleNamespace

import numpy as np
import pytest

import tinygan as tg
from tinygan.creation import manual_seed
from tinygan.data import melodies, midi
from tinygan.experiments import midinet as E
from tinygan.gan import midinet as M
from tinygan.testing import gradcheck

SMALL = dict(z_dim=8, g_fc=16, g_width=8, cond_width=4, d_widths=(4, 6), d_fc=16)
TINY = dict(steps=3, batch_size=8, n_songs=4, eval_songs=3, **SMALL)   # EMA and mismatch on


def _nets(conditioner=True, d_previous=False, seed=0):
    manual_seed(seed)
    return M.midinet(SMALL["z_dim"], SMALL["g_fc"], SMALL["g_width"], SMALL["cond_width"],
                     SMALL["d_widths"], SMALL["d_fc"], conditioner, d_previous)


@pytest.fixture(scope="module")
def pairs():
    prev, bar, chord = melodies.dataset(3, seed=5)
    return tg.tensor(prev), tg.tensor(bar), tg.tensor(chord)   # 24 pairs


def _z(n, seed=0):
    return tg.tensor(np.random.default_rng(seed).standard_normal((n, 8)).astype(np.float32))


def test_generator_writes_soft_rolls_of_one_bar(pairs):
    prev, _, chord = pairs
    G, _ = _nets()
    out = G(_z(24), prev, chord)
    assert out.shape == (24, 1, 16, 24)
    assert 0 < out.numpy().min() and out.numpy().max() < 1          # a sigmoid


def test_conditioner_maps_join_g_at_each_resolution(pairs):
    prev, _, chord = pairs
    G, _ = _nets()
    cond = G.conditioner(prev)
    assert [m.shape for m in cond] == [(24, 4, 16), (24, 4, 8), (24, 4, 4), (24, 4, 2)]
    maps = G.joined_maps(_z(24), prev, chord)
    assert [m.shape for m in maps] == [(24, 8 + 13 + 4, L) for L in (2, 4, 8, 16)]
    for joined, c in zip(maps, cond[::-1]):      # G's map | the chord's channels | the condition
        np.testing.assert_array_equal(joined.numpy()[:, -4:], c.numpy())
        np.testing.assert_array_equal(joined.numpy()[:, 8:21],
                                      np.repeat(chord.numpy()[:, :, None], c.shape[2], axis=2))
    G_off, _ = _nets(conditioner=False)
    assert G_off.conditioner is None
    assert [m.shape for m in G_off.joined_maps(_z(24), prev, chord)] == \
        [(24, 8 + 13, L) for L in (2, 4, 8, 16)]


def test_discriminator_logits_and_first_layer_features(pairs):
    prev, bar, chord = pairs
    _, D = _nets()
    assert D(bar, chord).shape == (24, 1)
    assert D.features(bar, chord).shape == (24, 4, 8)              # (N, widths[0], 8 steps)
    _, Dp = _nets(d_previous=True)
    a, b = Dp(bar, chord, prev).numpy(), Dp(bar, chord, bar).numpy()
    assert not np.allclose(a, b)                                    # it reads the previous bar
    with pytest.raises(ValueError, match="needs the previous bars"):
        Dp(bar, chord)


def test_packed_rows_carry_the_conditions_through_g(pairs):
    prev, bar, chord = pairs
    G, D = _nets()
    rows = M.pair_rows(prev.numpy(), bar.numpy(), chord.numpy())
    data, noise = M.samplers(rows, 8)
    rng = np.random.default_rng(0)
    real, z_rows = data(5, rng), noise(5, rng)
    assert real.shape == (5, 781) and z_rows.shape == (5, 8 + 384 + 13)
    fake = M.PackedMidiNet(G)(z_rows)
    np.testing.assert_array_equal(fake.numpy()[:, 384:], z_rows.numpy()[:, 8:])
    _, b, p, c = M.unpack(real)
    assert b.shape == p.shape == (5, 1, 16, 24) and c.shape == (5, 13)
    assert M.PackedMidiDiscriminator(D)(fake).shape == (5, 1)


def _hook_terms(D, real, fake):
    trainer = SimpleNamespace(data=lambda m, rng: real, rng=None)
    return [h.g_loss(trainer, fake, None) for h in
            M.feature_matching_hooks(M.PackedMidiDiscriminator(D), 0.05, 0.005)]


def test_feature_matching_is_zero_on_the_real_batch_and_positive_otherwise(pairs):
    prev, bar, chord = pairs
    G, D = _nets()
    real = tg.tensor(M.pair_rows(prev.numpy(), bar.numpy(), chord.numpy()))
    assert [t.item() for t in _hook_terms(D, real, real)] == [0.0, 0.0]
    z_rows = tg.tensor(np.concatenate([_z(24).numpy(), real.numpy()[:, 384:]], axis=1))
    fake = M.PackedMidiNet(G)(z_rows)
    features, mean = _hook_terms(D, real, fake)
    assert features.item() > 0 and mean.item() > 0
    diff = real.numpy()[:, :384].mean(0) - fake.numpy()[:, :384].mean(0)
    np.testing.assert_allclose(mean.item(), 0.005 * (diff ** 2).sum(), rtol=1e-5)
    assert len(M.feature_matching_hooks(M.PackedMidiDiscriminator(D), 0.0, 0.01)) == 1
    with pytest.raises(ValueError, match="lambda_mean must be >= 0, got -1"):
        M.feature_matching_hooks(M.PackedMidiDiscriminator(D), 0.1, -1)


def test_the_matching_aware_terms(pairs):
    """D's loss: BCE to the smoothed real target, the fakes weighed 1 - w; the mismatch hook
    adds w E[softplus(D(real bar, another row's previous bar))]."""
    prev, bar, chord = pairs
    _, D = _nets(d_previous=True)
    d_loss, _ = M.d_objective(0.9, 0.5)
    r, f = tg.tensor([[0.3], [-1.0]]), tg.tensor([[2.0], [0.5]])
    sp = lambda x: np.log1p(np.exp(x))                                     # noqa: E731
    want = (0.9 * sp(-r.numpy()).mean() + 0.1 * sp(r.numpy()).mean()
            + 0.5 * sp(f.numpy()).mean())
    assert d_loss(r, f).item() == pytest.approx(want, rel=1e-6)
    real = tg.tensor(M.pair_rows(prev.numpy(), bar.numpy(), chord.numpy()))
    hook = M.mismatch_hook(0.5)
    wrong = hook.wrong_rows(real).numpy()
    np.testing.assert_array_equal(wrong[:, :384], real.numpy()[:, :384])     # the same bars
    np.testing.assert_array_equal(wrong[:, 768:], real.numpy()[:, 768:])     # and chords
    assert not np.array_equal(wrong[:, 384:768], real.numpy()[:, 384:768])   # others' prev
    trainer = SimpleNamespace(D=M.PackedMidiDiscriminator(D))
    term = hook.d_loss(trainer, real, None, None, None)
    logits = trainer.D(tg.tensor(wrong)).numpy()
    assert term.item() == pytest.approx(0.5 * sp(logits).mean(), rel=1e-5)


def test_feature_matching_gradient_in_float64(pairs):
    prev, bar, chord = pairs
    _, D = _nets()
    for p in D.parameters():                   # the first layer is all that features() runs
        p.data = p.data.astype(np.float64)
    real = M.pair_rows(prev.numpy()[:6], bar.numpy()[:6], chord.numpy()[:6]).astype(np.float64)
    fake = np.random.default_rng(1).random((6, 781))

    def terms(fake_rows):
        features, mean = _hook_terms(D, tg.tensor(real), fake_rows)
        return features + mean
    assert gradcheck(terms, fake)


def test_argmax_sampling_gives_one_hot_monophonic_rolls(pairs):
    prev, _, chord = pairs
    G, _ = _nets()
    soft = M.generate(G, prev.numpy(), chord.numpy(), soft=True)
    rolls = M.generate(G, prev.numpy(), chord.numpy())
    assert rolls.shape == (24, 1, 16, 24) and rolls.dtype == np.float32
    assert set(np.unique(rolls)) == {0.0, 1.0} and np.all(rolls.sum(axis=3) == 1)
    np.testing.assert_array_equal(rolls.argmax(axis=3), soft.argmax(axis=3))
    np.testing.assert_array_equal(M.generate(G, prev.numpy(), chord.numpy()), rolls)  # seeded
    with pytest.raises(ValueError, match=r"monophonic: rolls must be \(N, 1, 16, 24\)"):
        M.monophonic(np.zeros((2, 16, 24)))


def test_the_ablation_ignores_the_previous_bar_and_midinet_does_not(pairs):
    prev, bar, chord = pairs
    z = _z(24).numpy()
    for conditioner, same in ((False, True), (True, False)):
        G, _ = _nets(conditioner)
        a = M.generate(G, prev.numpy(), chord.numpy(), z=z, soft=True)
        b = M.generate(G, bar.numpy(), chord.numpy(), z=z, soft=True)
        assert np.array_equal(a, b) is same


def test_songs_are_written_bar_after_bar_and_as_midi(tmp_path):
    G, _ = _nets()
    songs = M.generate_songs(G, 3, bars=5, seed=2)
    assert songs.shape == (3, 5, 16, 24) and np.all(songs.sum(axis=3) == 1)
    # bar b is G's answer to bar b - 1 and chord b: redo the third bar from the second
    chord = np.repeat(melodies.chord_vector(melodies.PROGRESSION[2])[None], 3, axis=0)
    z = np.random.default_rng(2).standard_normal((3, 3, 8)).astype(np.float32)[2]
    np.testing.assert_array_equal(M.generate(G, songs[:, 1:2], chord, z=z)[:, 0], songs[:, 2])
    path = tmp_path / "song.mid"
    M.write_song(path, songs[0])
    data = path.read_bytes()
    assert data[:4] == b"MThd" and data == midi.midi_bytes(songs[0])
    assert sum(n for _, _, n in midi.notes(songs[0])) == 5 * 16     # every step of 5 bars
    with pytest.raises(ValueError, match="n and bars must be positive ints"):
        M.generate_songs(G, 0)


def test_bad_inputs_say_what_is_wrong(pairs):
    prev, bar, chord = pairs
    G, D = _nets()
    with pytest.raises(ValueError, match=r"previous bars has shape \(24, 16, 24\)"):
        G(_z(24), tg.tensor(prev.numpy()[:, 0]), chord)
    with pytest.raises(ValueError, match="24 previous bars and 5 chords for 24 noise rows"):
        G(_z(24), prev, chord[:5])
    with pytest.raises(ValueError, match=r"chords has shape \(24, 12\)"):
        D(bar, chord[:, :12])
    with pytest.raises(ValueError, match="one chord .* per bar, got 24 bars, 3 chords"):
        D(bar, chord[:3])
    with pytest.raises(ValueError, match="noise rows"):
        M.PackedMidiNet(G)(tg.zeros(2, 10))
    with pytest.raises(ValueError, match="repeat_p must lie in"):
        E.MidiNetConfig(repeat_p=1.5)
    with pytest.raises(ValueError, match="needs d_previous, and must be < 1"):
        E.MidiNetConfig(d_previous=False)
    with pytest.raises(ValueError, match="real_target must lie in"):
        M.d_objective(0.0)


def test_a_tiny_run_through_the_protocol(tmp_path):
    pytest.importorskip("matplotlib")
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    exp = E.build(E.MidiNetConfig(**TINY))
    exp.trainer.fit(3)
    assert exp.trainer.iteration == 3
    metrics = exp.evaluate()
    json.dumps(metrics)
    assert set(metrics["samples"]) >= set(E.SCORES) and set(metrics["data"]) >= set(E.SCORES)
    for k in E.SCORES:
        assert metrics["differences"][k] == pytest.approx(
            100 * (metrics["samples"][k] - metrics["data"][k]))
    assert metrics["data"]["in_scale_ratio"] == 1.0 and metrics["pairs"] == 3 * 8
    s = exp.sample(5, seed=3)
    assert {k: v.shape for k, v in s.items()} == {"rolls": (5, 1, 16, 24),
                                                  "previous": (5, 1, 16, 24),
                                                  "chords": (5, 13), "pitches": (5, 16)}
    assert all(np.array_equal(v, exp.sample(5, seed=3)[k]) for k, v in s.items())
    with pytest.raises(ValueError, match="not conditional"):
        exp.sample(2, labels=[1, 2])
    assert exp.draw(n=4).axes
    plt.close("all")
    song = E.write_song(exp, tmp_path / "song.mid", bars=4)
    assert song.shape == (4, 16, 24) and (tmp_path / "song.mid").stat().st_size > 14
    assert E.songs(exp, 2, bars=3, averaged=True).shape == (2, 3, 16, 24)
    assert set(metrics["ema"]["samples"]) == set(metrics["samples"])
    paper = E.build(E.MidiNetConfig(**TINY, conditioner=False, d_previous=False,
                                    mismatch_weight=0.0, ema_decay=None))
    paper.trainer.fit(2)
    scored = paper.evaluate()
    assert scored["conditioner"] is False and "ema" not in scored
    with pytest.raises(ValueError, match="keeps no weight average"):
        E.songs(paper, 1, averaged=True)
