"""Synthetic one-bar melodies as piano rolls, the data of MidiNet (Yang, Chou & Yang 2017, arXiv
1703.10847), whose generator writes a melody bar by bar, conditioned on the chord of the bar
and (through its conditioner CNN) on the bar before it.

A bar is a (STEPS, PITCHES) = (16, 24) roll: 16 sixteenth-note steps, MIDI notes LOWEST = 60
(C4) to 83 (B5), one-hot along the pitch axis (monophonic, no rests). A note held across
steps is its pitch repeated, so a roll alone cannot tell a held note from repeated ones; the
generator never repeats a pitch from one note to the next inside a bar, so in its bars every
change of pitch is an onset and every onset a change of pitch (only a bar's first note may
tie with the last note of the bar before).

songs() follows the progression I-V-vi-IV in C major (C, G, Am, F) over and over, one chord a
bar. A fresh bar draws its rhythm (note lengths from DURATIONS, the last cut to fit the bar)
and then, note by note, a chord tone with probability chord_tone_p or else one of the other
tones of C major (so every note is in the scale), the nearer the previous note the likelier,
all within a window of 7 scale steps. A bar is instead, with probability repeat_p, the bar
before it moved by the number of scale steps between their chords' roots (C to G is 4 steps,
G to Am 1, Am to F -2, F to C -3; or an octave (7 steps) more or less, the smallest move that
keeps the bar in the range). That is a motif: the same rhythm and the same scale-step
contour; and because all four chords are triads on steps of the same scale, each chord tone
lands on a chord tone of the new chord and each other tone on another tone, so a repeat keeps
fitting its chord.

The metrics read any rolls, generated ones too ((N, 16, 24) or (N, 1, 16, 24), soft or not:
each step's pitch is its argmax):
- chord_tone_ratio: the fraction of steps whose pitch class is in the bar's triad;
- in_scale_ratio: the fraction of steps whose pitch class is in C major;
- repeat_rate: the fraction of bars that repeat the motif of the bar before. Bar B repeats A
  when motif_agreement(A, B) >= REPEAT_THRESHOLD = 0.75: the fraction of the 16 steps at which
  B's scale step minus A's equals its most common value (the best diatonic transposition; an
  off-scale pitch counts as the scale tone below it). Scale steps, not semitones, because a
  motif moved to a new chord keeps its steps but not its semitones (C-E-G over C is 4 + 3
  semitones, the same motif A-C-E over Am is 3 + 4). A data repeat agrees on all 16 steps;
  12 of 16 leaves room for a generated bar to get a note or two wrong, and lies far above
  what unrelated bars reach. Measured on 2,000 songs (14,000 pairs of bars), the data's
  repeat_rate is 0.5 % at repeat_p = 0 (the chance that an unrelated fresh bar passes for a
  repeat), 50.5 % at 0.5 (where 50.2 % are repeats) and 100 % at 1: repeat_p plus about
  (1 - repeat_p) * 0.5 %. Uniformly random rolls score 0 % (their agreement: mean 0.18,
  at most 0.44).
The data's chord-tone ratio is chord_tone_p (85.0 % at 0.85) and its in-scale ratio 100 %;
uniformly random rolls score 25 % (6 of 24 pitches) and 58 % (14 of 24).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import backend
from ..tensor import Tensor

STEPS, PITCHES, LOWEST = 16, 24, 60          # sixteenth notes; MIDI 60..83 = C4..B5
MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)         # pitch classes of C major
ROOTS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
PROGRESSION = ("C", "G", "Am", "F")          # I-V-vi-IV
DURATIONS, DURATION_P = (1, 2, 4, 8), (0.15, 0.45, 0.3, 0.1)   # in steps: about 5 notes a bar
WINDOW = 7                                   # scale steps a fresh bar may span
NEARNESS = 2.0                               # next note's weight: exp(-|scale steps| / this)
REPEAT_THRESHOLD = 0.75                      # motif_agreement of a repeat: 12 of 16 steps
SCALE_STEPS = 2 * len(MAJOR_SCALE)           # 14 scale tones in the range, positions 0..13

#: the scale position of each of the 24 pitches (an off-scale pitch: the scale tone below)
_STEP_OF = np.array([7 * (p // 12) + sum(pc <= p % 12 for pc in MAJOR_SCALE) - 1
                     for p in range(PITCHES)])
_DURATION_CDF = np.cumsum(DURATION_P)
#: the pitch (0..23 above LOWEST) of each scale position 0..13
_PITCH_OF = np.array([12 * (s // 7) + MAJOR_SCALE[s % 7] for s in range(SCALE_STEPS)])


def _parse(name: str) -> tuple:
    """(root pitch class, minor) of a chord name: a root C..B, maybe '#' or 'b', maybe 'm'."""
    if not isinstance(name, str) or not name or name[0] not in ROOTS:
        raise ValueError(f"chord {name!r}: a chord is a root letter C D E F G A B, then "
                         f"optionally '#' or 'b', then 'm' for minor (e.g. 'C', 'Am', 'F#m')")
    rest, root = name[1:], ROOTS[name[0]]
    if rest[:1] in ("#", "b"):
        root, rest = (root + (1 if rest[0] == "#" else -1)) % 12, rest[1:]
    if rest not in ("", "m"):
        raise ValueError(f"chord {name!r}: after the root only 'm' (minor) may follow, got "
                         f"{rest!r}; e.g. 'C', 'Am', 'F#m', 'Bb'")
    return root, rest == "m"


def chord_vector(name: str) -> np.ndarray:
    """MidiNet's 13-d chord condition (13,) float32, as its paper has it (12 for the key, 1 for
    major or minor): entries 0..11 one-hot of the root's pitch class (C = 0, C# = 1, ...,
    B = 11), entry 12 = 1 for a minor triad, 0 for a major one."""
    root, minor = _parse(name)
    v = np.zeros(13, np.float32)
    v[root], v[12] = 1, float(minor)
    return v


def chord_tones(chords) -> np.ndarray:
    """Which pitch classes each chord's triad holds, (N, 12) bool; chords: (N, 13) chord vectors
    (root = argmax of the first 12, minor when the 13th > 0.5) or a sequence of N names."""
    if isinstance(chords, str):
        raise TypeError("chord_tones takes one chord per bar (a list of names or (N, 13) "
                        "vectors), not one string: wrap it as [name]")
    if len(chords) and all(isinstance(c, str) for c in chords):
        chords = np.stack([chord_vector(c) for c in chords])
    c = np.asarray(chords)
    if c.ndim != 2 or c.shape[1] != 13 or c.dtype.kind not in "biuf":
        raise ValueError(f"chords must be (N, 13) chord vectors (12 root one-hot + minor) or "
                         f"N chord names, got {c.dtype} {c.shape}")
    root, third = c[:, :12].argmax(axis=1), np.where(c[:, 12] > 0.5, 3, 4)
    tones = np.zeros((len(c), 12), bool)
    for interval in (np.zeros_like(third), third, np.full_like(third, 7)):
        tones[np.arange(len(c)), (root + interval) % 12] = True
    return tones


def _rolls(bars, fn: str) -> np.ndarray:
    """Rolls as a host array (N, 16, 24), or a clear error naming what was given."""
    a = np.asarray(backend.to_numpy(bars.data if isinstance(bars, Tensor) else bars))
    if a.ndim == 4 and a.shape[1] == 1:
        a = a[:, 0]
    if a.ndim != 3 or a.shape[1:] != (STEPS, PITCHES) or len(a) == 0 or \
            a.dtype.kind not in "biuf":
        raise ValueError(f"{fn}: rolls must be numbers of shape (N, {STEPS}, {PITCHES}) or "
                         f"(N, 1, {STEPS}, {PITCHES}) with N >= 1, got {a.dtype} {a.shape}")
    return a


def to_pitches(bars) -> np.ndarray:
    """MIDI note numbers (N, 16) int64 of rolls: LOWEST + the argmax of each step."""
    return LOWEST + _rolls(bars, "to_pitches").argmax(axis=2).astype(np.int64)


def in_scale_ratio(bars) -> float:
    """The fraction of all steps whose pitch class is in C major."""
    pc = to_pitches(bars) % 12
    return float(np.isin(pc, MAJOR_SCALE).mean())


def chord_tone_ratio(bars, chords) -> float:
    """The fraction of all steps whose pitch class is in its bar's chord (chords: (N, 13)
    vectors or N names, one per bar)."""
    pc = to_pitches(bars) % 12
    tones = chord_tones(chords)
    if len(tones) != len(pc):
        raise ValueError(f"chord_tone_ratio: {len(pc)} bars but {len(tones)} chords")
    return float(np.take_along_axis(tones, pc, axis=1).mean())


def motif_agreement(prev_bars, bars) -> np.ndarray:
    """Per pair (N,) float64 in [1/16, 1]: the fraction of steps t at which
    step(bar_t) - step(prev_t) takes its most common value, step being the scale position
    (an off-scale pitch: the scale tone below). 1 when bar is prev moved along the scale."""
    a = _STEP_OF[to_pitches(prev_bars) - LOWEST]
    b = _STEP_OF[to_pitches(bars) - LOWEST]
    if a.shape != b.shape:
        raise ValueError(f"motif_agreement: {len(a)} previous bars but {len(b)} bars")
    d = b - a + SCALE_STEPS                                  # 1 .. 2 * SCALE_STEPS - 1
    counts = np.zeros((len(d), 2 * SCALE_STEPS), np.int64)
    np.add.at(counts, (np.arange(len(d))[:, None], d), 1)
    return counts.max(axis=1) / STEPS


def repeat_rate(prev_bars, bars, threshold: float = REPEAT_THRESHOLD) -> float:
    """The fraction of bars whose motif_agreement with the bar before is >= threshold; pairs
    whose previous bar is all zeros (a song's first bar) are left out."""
    if not 0 < threshold <= 1:
        raise ValueError(f"repeat_rate: threshold must lie in (0, 1], got {threshold}")
    prev = _rolls(prev_bars, "repeat_rate")
    has_prev = prev.reshape(len(prev), -1).any(axis=1)
    if not has_prev.any():
        raise ValueError("repeat_rate: every previous bar is empty (all zeros: first bars), "
                         "so no bar can repeat one")
    bars = _rolls(bars, "repeat_rate")
    if len(bars) != len(prev):
        raise ValueError(f"repeat_rate: {len(prev)} previous bars but {len(bars)} bars")
    agree = motif_agreement(prev[has_prev], bars[has_prev])
    return float((agree >= threshold - 1e-9).mean())


@dataclass(frozen=True)
class Songs:
    """n songs of `bars` bars: rolls (n, bars, 16, 24) float32 one-hot; chord_names (bars,)
    and chords (bars, 13) float32, the same progression for every song; repeated (n, bars)
    bool, True where a bar is its predecessor's motif moved to the new chord."""
    rolls: np.ndarray
    chord_names: tuple
    chords: np.ndarray
    repeated: np.ndarray


def _probability(p, name: str) -> float:
    if isinstance(p, bool) or not isinstance(p, (int, float, np.number)) or not 0 <= p <= 1:
        raise ValueError(f"songs: {name} must be a probability in [0, 1], got {p!r}")
    return float(p)


def _fresh_bar(rng, degree: int, window: int, chord_tone_p: float) -> tuple:
    """(note lengths, scale positions) of a new bar over the chord on scale degree `degree`."""
    lengths = []
    while sum(lengths) < STEPS:        # (the CDF ends at 0.99..., so scale the draw to it)
        u = rng.random() * _DURATION_CDF[-1]
        lengths.append(DURATIONS[np.searchsorted(_DURATION_CDF, u)])
    lengths[-1] -= sum(lengths) - STEPS
    span = np.arange(window, window + WINDOW)
    is_chord = np.isin((span - degree) % 7, (0, 2, 4))    # root, third and fifth
    positions, last = [], None
    for _ in lengths:
        pool = span[is_chord if rng.random() < chord_tone_p else ~is_chord]
        if last is not None:
            pool = pool[pool != last]                      # a new note is a new pitch
        weight = np.ones(len(pool)) if last is None else np.exp(-np.abs(pool - last) / NEARNESS)
        last = int(pool[np.searchsorted(np.cumsum(weight), rng.random() * weight.sum())])
        positions.append(last)
    return lengths, positions


def _moved(positions: list, steps: int) -> list:
    """positions moved by `steps` scale steps up or down an octave, whichever stays nearest
    while keeping every note in the range (the bar spans under 7 steps, so one always does)."""
    low, high = min(positions), max(positions)
    fits = [s for s in range(steps % 7 - 14, steps % 7 + 14, 7)
            if low + s >= 0 and high + s < SCALE_STEPS]
    shift = min(fits, key=abs)
    return [p + shift for p in positions]


def songs(n: int, bars: int = 8, seed: int = 0, repeat_p: float = 0.5,
          chord_tone_p: float = 0.85) -> Songs:
    """n songs over PROGRESSION repeated, each bar a fresh melody or (with probability
    repeat_p, from the second bar on) the previous bar's motif on the new chord; the same for
    the same seed."""
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 0:
        raise ValueError(f"songs: n must be an int >= 0 (how many songs), got {n!r}")
    if not isinstance(bars, (int, np.integer)) or isinstance(bars, bool) or bars < 1:
        raise ValueError(f"songs: bars must be an int >= 1 (bars per song), got {bars!r}")
    repeat_p = _probability(repeat_p, "repeat_p")
    chord_tone_p = _probability(chord_tone_p, "chord_tone_p")
    names = tuple(PROGRESSION[b % len(PROGRESSION)] for b in range(bars))
    degree = [_STEP_OF[_parse(c)[0]] for c in names]      # the root's scale step: C 0, G 4, ...
    rng = np.random.default_rng(seed)
    rolls = np.zeros((n, bars, STEPS, PITCHES), np.float32)
    repeated = np.zeros((n, bars), bool)
    for song in range(n):
        window = int(rng.integers(0, SCALE_STEPS - WINDOW + 1))
        lengths, positions = [], []                        # the bar before (none yet)
        for bar in range(bars):
            if bar and rng.random() < repeat_p:
                positions = _moved(positions, degree[bar] - degree[bar - 1])
                repeated[song, bar] = True
            else:                                          # drift: the melody wanders slowly
                window = int(np.clip(window + rng.integers(-2, 3), 0, SCALE_STEPS - WINDOW))
                lengths, positions = _fresh_bar(rng, degree[bar], window, chord_tone_p)
            steps = np.repeat(_PITCH_OF[positions], lengths)           # (16,) pitch indices
            rolls[song, bar, np.arange(STEPS), steps] = 1
    chords = np.stack([chord_vector(c) for c in names])
    return Songs(rolls, names, chords, repeated)


def pairs(s: Songs) -> tuple:
    """(prev_bar (N, 1, 16, 24), bar (N, 1, 16, 24), chord (N, 13)) float32, N = songs * bars,
    song by song: each bar with the bar before it (all zeros before a song's first bar) and
    its chord, what a MidiNet with a conditioner trains on."""
    n, bars = s.rolls.shape[:2]
    prev = np.zeros_like(s.rolls)
    prev[:, 1:] = s.rolls[:, :-1]
    chord = np.broadcast_to(s.chords, (n, bars, 13)).reshape(-1, 13).copy()
    return (prev.reshape(-1, 1, STEPS, PITCHES), s.rolls.reshape(-1, 1, STEPS, PITCHES), chord)


def dataset(n_songs: int, bars: int = 8, seed: int = 0, repeat_p: float = 0.5,
            chord_tone_p: float = 0.85) -> tuple:
    """pairs(songs(n_songs, bars, seed, repeat_p, chord_tone_p)): (prev_bar, bar, chord)."""
    return pairs(songs(n_songs, bars, seed, repeat_p, chord_tone_p))
