"""MidiNet's melodies (tinygan.data.melodies, arXiv 1703.10847) and the MIDI writer
(tinygan.data.midi): determinism, one-hot monophonic bars in C major, chord tones and repeats
at the rates asked for, metrics that read soft and random rolls, chord vectors, the
variable-length quantity's known answers, a round trip through mido, and the errors."""
from __future__ import annotations

import io as pyio

import numpy as np
import pytest

import tinygan as tg
from tinygan.data import melodies as M
from tinygan.data import midi

# 250 songs of 8 bars: 2,000 bars of about 5.8 notes, 1,750 pairs of neighbouring bars
SONGS = 250


@pytest.fixture(scope="module")
def data():
    """{repeat_p: Songs} for repeat_p 0, 0.5 and 1."""
    return {p: M.songs(SONGS, seed=7, repeat_p=p) for p in (0.0, 0.5, 1.0)}


def _random_rolls(n: int, seed: int) -> np.ndarray:
    """n one-hot rolls with every step's pitch uniform over the 24."""
    pitches = np.random.default_rng(seed).integers(0, M.PITCHES, (n, M.STEPS))
    return np.eye(M.PITCHES, dtype=np.float32)[pitches]


def test_same_seed_same_songs_other_seed_other_songs():
    a, b = M.songs(6, seed=3), M.songs(6, seed=3)
    np.testing.assert_array_equal(a.rolls, b.rolls)
    np.testing.assert_array_equal(a.repeated, b.repeated)
    assert not np.array_equal(M.songs(6, seed=4).rolls, a.rolls)
    for x, y in zip(M.dataset(6, seed=3), M.pairs(a)):
        np.testing.assert_array_equal(x, y)


def test_bars_are_one_hot_monophonic_in_range_and_in_scale(data):
    s = data[0.5]
    assert s.rolls.shape == (SONGS, 8, 16, 24) and s.rolls.dtype == np.float32
    assert set(np.unique(s.rolls)) == {0.0, 1.0}
    np.testing.assert_array_equal(s.rolls.sum(axis=3), 1)            # one pitch every step
    assert s.chord_names == ("C", "G", "Am", "F") * 2
    pitches = M.to_pitches(s.rolls.reshape(-1, 16, 24))
    assert pitches.dtype == np.int64 and pitches.min() >= 60 and pitches.max() <= 83
    assert M.in_scale_ratio(s.rolls.reshape(-1, 16, 24)) == 1.0
    # rhythm: notes of several lengths, and a bar holds 1 to 16 of them
    onsets = 1 + (np.diff(pitches, axis=1) != 0).sum(axis=1)
    assert 4 < onsets.mean() < 8 and onsets.min() >= 1 and len(np.unique(onsets)) > 5


def test_pairs_hold_each_bar_with_the_bar_before_and_its_chord(data):
    s = data[0.5]
    prev, bar, chord = M.pairs(s)
    n = SONGS * 8
    assert prev.shape == bar.shape == (n, 1, 16, 24) and chord.shape == (n, 13)
    assert prev.dtype == bar.dtype == chord.dtype == np.float32
    first = np.arange(n) % 8 == 0
    assert not prev[first].any()                                       # no bar before the first
    np.testing.assert_array_equal(prev[~first], bar[np.flatnonzero(~first) - 1])
    np.testing.assert_array_equal(chord[:8], np.stack([M.chord_vector(c) for c in
                                                       s.chord_names]))
    np.testing.assert_array_equal(chord[8:16], chord[:8])


def test_chord_tone_ratio_is_chord_tone_p(data):
    # ~11,600 independent note choices at repeat_p 0: one standard error is about 0.004
    for p in (0.5, 0.85):
        s = M.songs(SONGS, seed=1, repeat_p=0.0, chord_tone_p=p)
        _, bar, chord = M.pairs(s)
        assert M.chord_tone_ratio(bar, chord) == pytest.approx(p, abs=0.02)
        assert M.in_scale_ratio(bar) == 1.0
    for p in (0.0, 1.0):                                               # exact at the ends, with
        _, bar, chord = M.dataset(40, seed=2, repeat_p=0.5, chord_tone_p=p)   # repeats too
        assert M.chord_tone_ratio(bar, chord) == p
    _, bar, chord = M.pairs(data[0.5])
    assert M.chord_tone_ratio(bar, chord) == pytest.approx(0.85, abs=0.02)
    assert M.chord_tone_ratio(bar, list(data[0.5].chord_names) * SONGS) == \
        M.chord_tone_ratio(bar, chord)                                 # names or vectors


def test_repeat_rate_tracks_repeat_p(data):
    rates = {}
    for p, s in data.items():
        prev, bar, _ = M.pairs(s)
        rates[p] = M.repeat_rate(prev, bar)
        truth = s.repeated[:, 1:].mean()
        # every true repeat is found (agreement 1), plus a chance of about 0.5 % of the others
        assert truth <= rates[p] <= truth + 0.02 * (1 - p)
        later = np.arange(len(bar)) % 8 != 0
        agree = M.motif_agreement(prev[later], bar[later])
        assert (agree[s.repeated[:, 1:].reshape(-1)] == 1).all()
    assert rates[0.0] < 0.02
    assert rates[0.5] == pytest.approx(0.5, abs=0.05)                 # 1,750 pairs: SE 0.012
    assert rates[1.0] == 1.0
    assert rates[0.0] < rates[0.5] < rates[1.0]


def test_a_repeat_is_the_motif_moved_to_the_new_chord():
    s = M.songs(30, seed=5, repeat_p=1.0, chord_tone_p=1.0)
    pitches = M.to_pitches(s.rolls.reshape(-1, 16, 24)).reshape(30, 8, 16)
    steps = M._STEP_OF[pitches - M.LOWEST]
    moved = steps[:, 1:] - steps[:, :-1]                               # (30, 7, 16)
    assert (moved == moved[..., :1]).all()                             # one shift per bar
    # C -> G is 4 scale steps (or -3), G -> Am 1 (or -6), Am -> F -2 (or 5), F -> C -3 (or 4)
    np.testing.assert_array_equal(moved[..., 0] % 7, np.tile([4, 1, 5, 4, 4, 1, 5], (30, 1)))
    _, bar, chord = M.pairs(s)
    assert M.chord_tone_ratio(bar, chord) == 1.0                       # and still fits it
    # the rhythm moves with it: the onsets of each bar are those of the song's first
    onsets = np.diff(pitches, axis=2) != 0
    assert (onsets == onsets[:, :1]).all()


def _roll(positions) -> np.ndarray:
    """One bar (1, 16, 24) playing the given scale positions (0 = C4 .. 13 = B5), step by step."""
    return np.eye(M.PITCHES, dtype=np.float32)[M._PITCH_OF[np.asarray(positions)]][None]


def _held(pitch: int) -> np.ndarray:
    """One bar (1, 16, 24) holding one pitch (0 = C4 .. 23 = B5) for all 16 steps."""
    return np.eye(M.PITCHES, dtype=np.float32)[np.full(M.STEPS, pitch)][None]


def test_motif_agreement_known_answers():
    steps = np.repeat(np.arange(8), 2)                                 # a rising scale, in eighths
    prev, up = _roll(steps), _roll(steps + 2)
    assert M.motif_agreement(prev, up)[0] == 1.0                       # moved up two scale steps

    def wreck(k):                                                      # the first k steps: B5
        return _roll(np.r_[np.full(k, 13), steps[k:] + 2])

    # 4 steps changed: 12 of 16 still moved by 2 (0.75, a repeat); 5 changed: 11 (0.6875)
    assert M.motif_agreement(prev, wreck(4))[0] == 0.75
    assert M.motif_agreement(prev, wreck(5))[0] == 11 / 16
    assert M.repeat_rate(prev, wreck(4)) == 1.0 and M.repeat_rate(prev, wreck(5)) == 0.0
    assert M.repeat_rate(prev, wreck(5), threshold=0.6) == 1.0
    # a held note repeats any other held note; an off-scale pitch counts as the tone below
    assert M.motif_agreement(_held(0), _held(11))[0] == 1.0
    assert M._STEP_OF[1] == M._STEP_OF[0] == 0 and M._STEP_OF[23] == 13
    assert M.motif_agreement(_roll(steps), _roll(steps[::-1]))[0] < 0.25   # the contour counts


def test_random_rolls_score_low():
    r, other = _random_rolls(3000, 1), _random_rolls(3000, 2)
    chords = np.tile(np.stack([M.chord_vector(c) for c in M.PROGRESSION]), (750, 1))
    assert M.chord_tone_ratio(r, chords) == pytest.approx(6 / 24, abs=0.02)
    assert M.in_scale_ratio(r) == pytest.approx(14 / 24, abs=0.02)
    assert M.repeat_rate(other, r) < 0.005
    assert M.motif_agreement(other, r).mean() < 0.25


def test_soft_rolls_and_tensors_are_read_by_their_argmax(data):
    prev, bar, chord = M.pairs(data[0.5])
    prev, bar, chord = prev[:64], bar[:64], chord[:64]
    rng = np.random.default_rng(0)
    soft = (0.6 * bar + 0.3 * rng.uniform(size=bar.shape)).astype(np.float32)   # still peaks
    soft_prev = np.tanh(3 * prev - 1 + 0.2 * rng.standard_normal(prev.shape))    # in [-1, 1]
    np.testing.assert_array_equal(M.to_pitches(soft), M.to_pitches(bar))
    np.testing.assert_array_equal(M.to_pitches(soft[:, 0]), M.to_pitches(bar))  # no channel
    np.testing.assert_array_equal(M.to_pitches(tg.tensor(soft)), M.to_pitches(bar))
    assert M.chord_tone_ratio(soft, chord) == M.chord_tone_ratio(bar, chord)
    assert M.in_scale_ratio(soft) == 1.0
    later = np.any(prev.reshape(64, -1), axis=1)
    assert M.repeat_rate(soft_prev[later], soft[later]) == M.repeat_rate(prev, bar)


def test_chord_vectors():
    c = M.chord_vector("C")
    assert c.shape == (13,) and c.dtype == np.float32
    assert c.tolist() == [1] + [0] * 12
    for name, root, minor in (("G", 7, 0), ("Am", 9, 1), ("F", 5, 0), ("F#m", 6, 1),
                              ("Bb", 10, 0), ("Cb", 11, 0), ("B#m", 0, 1)):
        v = M.chord_vector(name)
        assert v.sum() == 1 + minor and v[root] == 1 and v[12] == minor, name
    tones = M.chord_tones(["C", "Am", "G", "Ebm"])
    assert [np.flatnonzero(t).tolist() for t in tones] == [[0, 4, 7], [0, 4, 9], [2, 7, 11],
                                                           [3, 6, 10]]


def test_songs_of_any_length():
    s = M.songs(3, bars=5, seed=0)
    assert s.rolls.shape == (3, 5, 16, 24) and s.chord_names == ("C", "G", "Am", "F", "C")
    assert not s.repeated[:, 0].any()
    assert M.songs(0).rolls.shape == (0, 8, 16, 24)


@pytest.mark.parametrize("call, message", [
    (lambda: M.songs(-1), r"n must be an int >= 0"),
    (lambda: M.songs(2, bars=0), r"bars must be an int >= 1"),
    (lambda: M.songs(2, repeat_p=1.5), r"repeat_p must be a probability in \[0, 1\]"),
    (lambda: M.songs(2, chord_tone_p=-0.1), r"chord_tone_p must be a probability"),
    (lambda: M.chord_vector("H"), r"chord 'H': a chord is a root letter"),
    (lambda: M.chord_vector("Cmaj7"), r"only 'm' \(minor\) may follow, got 'maj7'"),
    (lambda: M.chord_tones(np.zeros((2, 12))), r"\(N, 13\) chord vectors"),
    (lambda: M.to_pitches(np.zeros((2, 16, 23))), r"\(N, 16, 24\) or \(N, 1, 16, 24\)"),
    (lambda: M.to_pitches(np.zeros((0, 16, 24))), r"with N >= 1"),
    (lambda: M.chord_tone_ratio(np.eye(24)[np.zeros((2, 16), int)], ["C"]),
     r"2 bars but 1 chords"),
    (lambda: M.repeat_rate(np.zeros((2, 1, 16, 24)), np.zeros((2, 1, 16, 24))),
     r"every previous bar is empty"),
    (lambda: M.repeat_rate(_random_rolls(2, 0), _random_rolls(3, 0)),
     r"2 previous bars but 3 bars"),
    (lambda: M.repeat_rate(_random_rolls(2, 0), _random_rolls(2, 0), threshold=0),
     r"threshold must lie in \(0, 1\]"),
])
def test_melody_bad_inputs(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# ---------------------------------------------------------------- the MIDI writer


@pytest.mark.parametrize("value, expected", [
    (0, "00"), (0x40, "40"), (127, "7F"), (128, "81 00"), (0x2000, "C0 00"),
    (0x3FFF, "FF 7F"), (0x4000, "81 80 00"), (0x1FFFFF, "FF FF 7F"),
    (0x200000, "81 80 80 00"), (0x0FFFFFFF, "FF FF FF 7F"),
])
def test_variable_length_quantity_known_answers(value, expected):
    assert midi.variable_length(value) == bytes.fromhex(expected)


def test_the_file_starts_with_its_header_and_one_track():
    data = midi.midi_bytes([60, 60, 62, 64], steps_per_beat=4)
    assert data[:4] == b"MThd" and data[4:8] == bytes([0, 0, 0, 6])
    assert data[8:14] == bytes([0, 0, 0, 1]) + (120 * 4).to_bytes(2, "big")
    assert data[14:18] == b"MTrk"
    assert int.from_bytes(data[18:22], "big") == len(data) - 22
    assert data.endswith(b"\x00\xff\x2f\x00")
    # tempo 120 bpm = 500,000 microseconds a beat = 07 A1 20; three notes (60 held for two)
    assert b"\x00\xff\x51\x03\x07\xa1\x20" in data and data.count(b"\x90") == 3


def _read_back(data: bytes):
    """(tempo in microseconds, ticks per beat, program, [(note, start tick, ticks, velocity)])
    of a file as mido reads it."""
    mido = pytest.importorskip("mido")
    f = mido.MidiFile(file=pyio.BytesIO(data))
    assert f.type == 0 and len(f.tracks) == 1
    now, tempo, program, started, out = 0, None, None, {}, []
    for msg in f.tracks[0]:
        now += msg.time
        if msg.type == "set_tempo":
            tempo = msg.tempo
        elif msg.type == "program_change":
            program = msg.program
        elif msg.type == "note_on" and msg.velocity > 0:
            started[msg.note] = (now, msg.velocity)
        elif msg.type in ("note_off", "note_on"):
            start, velocity = started.pop(msg.note)
            out.append((msg.note, start, now - start, velocity))
    assert not started and f.tracks[0][-1].type == "end_of_track"
    return tempo, f.ticks_per_beat, program, out


def test_round_trip_through_mido():
    s = M.songs(2, bars=4, seed=3)
    data = midi.midi_bytes(s.rolls, tempo_bpm=96, steps_per_beat=4, velocity=80, program=5)
    tempo, ticks_per_beat, program, read = _read_back(data)
    assert tempo == 625_000 and ticks_per_beat == 480 and program == 5     # 60e6 / 96
    pitches = M.to_pitches(s.rolls.reshape(-1, 16, 24)).reshape(-1)
    expected = midi.notes(pitches)
    assert [(n, t * 120, k * 120, 80) for n, t, k in expected] == read
    # the notes are the runs of the pitch sequence, and cover it end to end
    np.testing.assert_array_equal(np.repeat([n for n, _, _ in expected],
                                            [k for _, _, k in expected]), pitches)
    assert len(read) < len(pitches)                                        # some were held
    _, _, _, each = _read_back(midi.midi_bytes(pitches, merge=False))
    assert [n for n, _, _, _ in each] == pitches.tolist() and {k for _, _, k, _ in each} == {120}
    _, _, _, merged = _read_back(midi.midi_bytes(np.array([[60] * 16, [60] * 8 + [72] * 8])))
    assert merged == [(60, 0, 24 * 120, 90), (72, 24 * 120, 8 * 120, 90)]


def test_write_midi_writes_the_bytes(tmp_path):
    path = tmp_path / "song.mid"
    bar = M.songs(1, bars=1, seed=0).rolls[0]                              # (1, 16, 24)
    midi.write_midi(path, bar, tempo_bpm=140)
    assert path.read_bytes() == midi.midi_bytes(bar, tempo_bpm=140)
    assert path.read_bytes()[:4] == b"MThd"
    assert [p.name for p in tmp_path.iterdir()] == ["song.mid"]           # nothing left over
    midi.write_midi(str(path), [70, 71])                                   # over the old file
    assert _read_back(path.read_bytes())[3] == [(70, 0, 120, 90), (71, 120, 120, 90)]


@pytest.mark.parametrize("call, message", [
    (lambda: midi.midi_bytes([60, 128]), r"MIDI notes lie in 0\.\.127, got 60\.\.128"),
    (lambda: midi.midi_bytes([-1, 60]), r"MIDI notes lie in 0\.\.127"),
    (lambda: midi.midi_bytes([60.0, 62.0]), r"give integer MIDI notes"),
    (lambda: midi.midi_bytes(np.zeros((16, 25))), r"float rolls of shape \(\.\.\., 16, 24\)"),
    (lambda: midi.midi_bytes(np.zeros((2, 2, 16), int)), r"\(T,\) or \(bars, steps\)"),
    (lambda: midi.midi_bytes([]), r"no notes to write"),
    (lambda: midi.midi_bytes(np.zeros(0, int)), r"no notes to write"),
    (lambda: midi.midi_bytes([60], velocity=0), r"velocity must be an int in 1\.\.127"),
    (lambda: midi.midi_bytes([60], program=128), r"program must be an int in 0\.\.127"),
    (lambda: midi.midi_bytes([60], steps_per_beat=0), r"steps_per_beat must be an int"),
    (lambda: midi.midi_bytes([60], tempo_bpm=0), r"tempo_bpm must be a number"),
    (lambda: midi.variable_length(-1), r"value must be an int in 0\.\.0xfffffff"),
    (lambda: midi.variable_length(0x10000000), r"value must be an int"),
])
def test_midi_bad_inputs(call, message):
    with pytest.raises(ValueError, match=message):
        call()
