"""MidiNet (Yang, Chou & Yang 2017, arXiv 1703.10847): a convolutional GAN that writes a melody
one bar at a time, told the bar's chord (the 1-D condition) and shown the bar before it (the
2-D condition), for the one-bar rolls of tinygan.data.melodies ((16, 24): steps x pitches).

- Generator: [z | chord] -> fully connected -> fully connected -> a 2-step map, then three
  transposed convolutions along time (2 -> 4 -> 8 -> 16 steps) and one that spans all 24
  pitches at each step (the paper's (1, 128) kernel), sigmoid. The chord joins every layer's
  input (as a vector to the dense layers, as 13 constant channels to the convolutions).
- Conditioner CNN: the previous bar through the mirror image of G's convolutions (a
  full-pitch kernel to 16 steps, then stride-2 convolutions to 8, 4 and 2 steps); each of
  its maps joins G's input at the layer whose map has as many steps (the 2-D conditioning,
  what makes it MidiNet). conditioner=False is the ablation: the same G without these maps.
- Discriminator: [bar | chord] -> a convolution over 2 steps and all pitches -> a
  convolution over 4 steps -> two dense layers -> one logit, the chord joined at every
  layer. Its first layer's output is `features`, the paper's f for feature matching.
- G's loss: the non-saturating one + lambda1 ||mean f(x) - mean f(G(z))||^2 + lambda2
  ||mean x - mean G(z)||^2 (the paper's two feature-matching terms); both are
  tinygan.gan.remedies.FeatureMatching hooks. The official code (TensorFlow) weighs them 0.1
  and 0.01 on tf.nn.l2_loss, which is HALF the squared norm: LAMBDA_FEATURES = 0.05 and
  LAMBDA_MEAN = 0.005 here, on the full one. It also smooths D's real targets to 0.9.

Two additions that are not the paper's, each a switch (the experiment says why it uses them):
`previous=True` shows D the previous bar too (24 more input channels), and `mismatch_hook`
adds the matching-aware term of GAN-INT-CLS (Reed et al. 2016, arXiv 1605.05396): a real bar
shown another row's previous bar is to be judged fake. The paper's D sees only the bar and
its chord, so nothing in its game rewards G for *using* the previous bar.

Layout: 1-D convolutions along time with the pitches as channels, rolls (N, 1, 16, 24) read as
(N, 24, 16). Every 2-D kernel of the paper either spans all pitches ((1, 128), (2, 128)) or
is one pitch wide after the pitch axis has collapsed to 1 ((2, 1), (4, 1)). A (k, P) kernel
over a (T, P) map with no padding is a length-k 1-D kernel over T with P input channels, with
the same weights; a chord tiled over the pitch axis becomes 13 channels (the kernel's weights
for a chord channel summed over pitch). So the functions and parameter counts are the
paper's, and no im2col runs over a width-1 axis.

Monophony: G's output is a soft roll; `monophonic` takes the argmax over pitch per step (a
one-hot roll, as the data's). generate_songs writes whole songs bar after bar, each bar
conditioned on the one it just wrote and on the next chord of the progression; write_song
turns one into a MIDI file (tinygan.data.midi).

The trainer hands G one tensor and D one tensor, so a pair travels packed: noise rows
[z | previous bar | chord] and sample rows [bar | previous bar | chord] (flattened bars),
unpacked by PackedMidiNet / PackedMidiDiscriminator.
"""
from __future__ import annotations

import numpy as np

from .. import backend, init, nn
from .. import functional as F
from ..data import melodies, midi
from ..ops import concatenate
from ..tensor import Tensor, no_grad
from .models import _check_batch
from . import losses
from .remedies import FeatureMatching
from .stackgan import MatchingAware

STEPS, PITCHES = melodies.STEPS, melodies.PITCHES
BAR = STEPS * PITCHES                    # 384 numbers in a flattened bar
CHORD = 13                               # melodies.chord_vector: 12 roots + minor
Z_DIM = 100                              # the paper's
LAMBDA_FEATURES, LAMBDA_MEAN = 0.05, 0.005   # the official 0.1, 0.01 on half the squared norm
REAL_TARGET = 0.9                        # the official code's one-sided label smoothing
SLOPE = 0.2                              # the leaky ReLUs (DCGAN-tensorflow's lrelu)
#: lengths of G's maps, coarsest first, and so of the conditioner's maps that join them
LENGTHS = (2, 4, 8, 16)


def _channels(roll: Tensor) -> Tensor:
    """A roll (N, 1, 16, 24) as pitch channels (N, 24, 16)."""
    return roll.reshape(roll.shape[0], STEPS, PITCHES).transpose(0, 2, 1)


def _roll(channels: Tensor) -> Tensor:
    """Pitch channels (N, 24, 16) as a roll (N, 1, 16, 24)."""
    return channels.transpose(0, 2, 1).reshape(channels.shape[0], 1, STEPS, PITCHES)


def _tile(chord: Tensor, length: int) -> Tensor:
    """The chord (N, 13) as 13 constant channels (N, 13, length): the paper's conv_cond_concat."""
    n = chord.shape[0]
    return chord.reshape(n, CHORD, 1).broadcast_to((n, CHORD, length))


def _check_inputs(model: str, prev: Tensor, chord: Tensor, n: int | None = None) -> None:
    _check_batch(model, prev, (1, STEPS, PITCHES), "previous bars")
    _check_batch(model, chord, (CHORD,), "chords")
    rows = {len(prev), len(chord)} | ({n} if n is not None else set())
    if len(rows) != 1:
        raise ValueError(f"{model}: one previous bar and one chord per sample, got "
                         f"{len(prev)} previous bars and {len(chord)} chords"
                         + (f" for {n} noise rows" if n is not None else ""))


class Conditioner(nn.Module):
    """The conditioner CNN: previous bar (N, 1, 16, 24) -> its maps at 16, 8, 4 and 2 steps,
    each (N, width, L): a full-pitch convolution, then stride-2 convolutions over 2 steps (the
    reverse of G's transposed convolutions), each with batch norm and a leaky ReLU."""

    def __init__(self, width: int = 16):
        self.width = width
        layer = lambda c_in: nn.Sequential(                                 # noqa: E731
            nn.Conv1d(c_in, width, 2, stride=2), nn.BatchNorm1d(width), nn.LeakyReLU(SLOPE))
        self.pitch = nn.Sequential(nn.Conv1d(PITCHES, width, 1), nn.BatchNorm1d(width),
                                   nn.LeakyReLU(SLOPE))                     # (N, c, 16)
        self.down1, self.down2, self.down3 = layer(width), layer(width), layer(width)

    def forward(self, prev) -> list:
        _check_batch(type(self).__name__, prev, (1, STEPS, PITCHES), "previous bars")
        h16 = self.pitch(_channels(prev))                                   # (N, c, 16)
        h8 = self.down1(h16)                                                # (N, c, 8)
        h4 = self.down2(h8)                                                 # (N, c, 4)
        h2 = self.down3(h4)                                                 # (N, c, 2)
        return [h16, h8, h4, h2]


class MidiNetGenerator(nn.Module):
    """G(z, prev, chord) -> soft roll (N, 1, 16, 24) in (0, 1); z (N, z_dim), the previous bar
    (N, 1, 16, 24) (all zeros before a song's first bar), the chord vector (N, 13).
    fc: the first dense layer's width (the paper's 1024); width: channels of the
    transposed convolutions (its 128); cond_width: the conditioner's channels (its 16)."""

    def __init__(self, z_dim: int = Z_DIM, fc: int = 1024, width: int = 128,
                 cond_width: int = 16, conditioner: bool = True):
        self.z_dim, self.width = z_dim, width
        self.conditioner = Conditioner(cond_width) if conditioner else None
        joined = width + CHORD + (cond_width if conditioner else 0)        # channels into a conv
        self.fc1 = nn.Sequential(nn.Linear(z_dim + CHORD, fc), nn.BatchNorm1d(fc), nn.ReLU())
        self.fc2 = nn.Sequential(nn.Linear(fc + CHORD, width * LENGTHS[0]),
                                 nn.BatchNorm1d(width * LENGTHS[0]), nn.ReLU())
        up = lambda: nn.Sequential(nn.ConvTranspose1d(joined, width, 2, stride=2),  # noqa: E731
                                   nn.BatchNorm1d(width), nn.ReLU())
        self.up1, self.up2, self.up3 = up(), up(), up()
        self.pitch = nn.ConvTranspose1d(joined, PITCHES, 1)   # the (1, 128) kernel: all pitches

    def joined_maps(self, z, prev, chord) -> list:
        """The inputs of G's four convolutions, (N, width + 13 [+ cond_width], L) for L = 2, 4,
        8, 16: G's map, the chord's channels and (with the conditioner) its map of L steps."""
        _check_batch(type(self).__name__, z, (self.z_dim,), "z")
        _check_inputs(type(self).__name__, prev, chord, len(z))
        n = z.shape[0]
        cond = self.conditioner(prev)[::-1] if self.conditioner is not None else None  # 2..16

        def join(h, i):
            parts = [h, _tile(chord, h.shape[2])] + ([cond[i]] if cond is not None else [])
            return concatenate(parts, axis=1)

        h = self.fc1(concatenate([z, chord], axis=1))                       # (N, fc)
        h = self.fc2(concatenate([h, chord], axis=1))                       # (N, 2w)
        maps = [join(h.reshape(n, self.width, LENGTHS[0]), 0)]              # (N, J, 2)
        for i, up in enumerate((self.up1, self.up2, self.up3), start=1):
            maps.append(join(up(maps[-1]), i))                              # (N, J, 4 / 8 / 16)
        return maps

    def forward(self, z, prev, chord):
        return _roll(self.pitch(self.joined_maps(z, prev, chord)[-1]).sigmoid())  # (N,1,16,24)


class MidiNetDiscriminator(nn.Module):
    """D(bar, chord) -> logit (N, 1), bar (N, 1, 16, 24) and chord (N, 13): the paper's two
    convolutions (widths[0] filters over 2 steps and all pitches, stride 2; widths[1] over 4
    steps, stride 2: the official 14 and 77) and two dense layers (fc, its 1024), the chord
    joined at every layer, batch norm after all but the first. previous=True also shows D
    the previous bar (24 more input channels), which the paper does not."""

    def __init__(self, widths: tuple = (14, 77), fc: int = 1024, previous: bool = False,
                 batch_norm: bool = True):
        w0, w1 = widths
        self.previous = previous
        norm = nn.BatchNorm1d if batch_norm else (lambda n: nn.Identity())
        self.first = nn.Sequential(nn.Conv1d(PITCHES * (2 if previous else 1) + CHORD, w0, 2,
                                             stride=2), nn.LeakyReLU(SLOPE))      # (N, w0, 8)
        self.second = nn.Sequential(nn.Conv1d(w0 + CHORD, w1, 4, stride=2),
                                    norm(w1), nn.LeakyReLU(SLOPE))                # (N, w1, 3)
        self.dense = nn.Sequential(nn.Linear(3 * w1 + CHORD, fc), norm(fc),
                                   nn.LeakyReLU(SLOPE))                           # (N, fc)
        self.out = nn.Linear(fc + CHORD, 1)                                       # (N, 1)

    def features(self, bar, chord, prev=None) -> Tensor:
        """f(x): the first layer's output (N, widths[0], 8), what the paper matches."""
        name = type(self).__name__
        _check_batch(name, bar, (1, STEPS, PITCHES), "bars")
        _check_batch(name, chord, (CHORD,), "chords")
        if self.previous and prev is None:
            raise ValueError(f"{name}(previous=True) needs the previous bars")
        if self.previous:
            _check_batch(name, prev, (1, STEPS, PITCHES), "previous bars")
        if len(chord) != len(bar) or (self.previous and len(prev) != len(bar)):
            raise ValueError(f"{name}: one chord (and previous bar) per bar, got {len(bar)} "
                             f"bars, {len(chord)} chords"
                             + (f" and {len(prev)} previous bars" if self.previous else ""))
        parts = [_channels(bar)] + ([_channels(prev)] if self.previous else [])
        return self.first(concatenate(parts + [_tile(chord, STEPS)], axis=1))

    def forward(self, bar, chord, prev=None):
        h = self.features(bar, chord, prev)                                       # (N, w0, 8)
        h = self.second(concatenate([h, _tile(chord, h.shape[2])], axis=1))       # (N, w1, 3)
        h = self.dense(concatenate([h.flatten(1), chord], axis=1))                # (N, fc)
        return self.out(concatenate([h, chord], axis=1))                          # (N, 1)


def midinet(z_dim: int = Z_DIM, g_fc: int = 1024, g_width: int = 128, cond_width: int = 16,
            d_widths: tuple = (14, 77), d_fc: int = 1024, conditioner: bool = True,
            d_previous: bool = False, d_batch_norm: bool = True):
    """(G, D), initialised as DCGAN (and the official code, built on DCGAN-tensorflow):
    weights N(0, 0.02^2), batch-norm scales N(1, 0.02^2), biases 0."""
    G = MidiNetGenerator(z_dim, g_fc, g_width, cond_width, conditioner)
    D = MidiNetDiscriminator(d_widths, d_fc, d_previous, d_batch_norm)
    for model in (G, D):
        model.apply(init.dcgan_init_)
    return G, D


# ---------------------------------------------------------------- packed rows for the Trainer


def unpack(rows: Tensor, leading: int = 0):
    """(first `leading` columns, bar, previous bar, chord) of rows [lead | bar | prev | chord]
    (N, leading + 781), the bars as rolls (N, 1, 16, 24)."""
    n = rows.shape[0]
    bar = rows[:, leading:leading + BAR].reshape(n, 1, STEPS, PITCHES)
    prev = rows[:, leading + BAR:leading + 2 * BAR].reshape(n, 1, STEPS, PITCHES)
    return rows[:, :leading], bar, prev, rows[:, leading + 2 * BAR:]


class PackedMidiNet(nn.Module):
    """noise rows [z | prev | chord] (N, z_dim + 397) -> sample rows [G(z, prev, chord) |
    prev | chord] (N, 781): G's bar beside the conditions it was given."""

    def __init__(self, generator: MidiNetGenerator):
        self.generator = generator

    def forward(self, rows):
        z_dim = self.generator.z_dim
        _check_batch(type(self).__name__, rows, (z_dim + BAR + CHORD,),
                     "noise rows [z | previous bar | chord]")
        n = rows.shape[0]
        z, prev = rows[:, :z_dim], rows[:, z_dim:z_dim + BAR]
        chord = rows[:, z_dim + BAR:]
        bar = self.generator(z, prev.reshape(n, 1, STEPS, PITCHES), chord)
        return concatenate([bar.reshape(n, BAR), prev, chord], axis=1)


class PackedMidiDiscriminator(nn.Module):
    """sample rows [bar | prev | chord] (N, 781) -> D(bar, chord[, prev]) (N, 1); features:
    D.features on the same rows (for the FeatureMatching hook)."""

    def __init__(self, discriminator: MidiNetDiscriminator):
        self.discriminator = discriminator

    def _parts(self, rows):
        _check_batch(type(self).__name__, rows, (2 * BAR + CHORD,),
                     "sample rows [bar | previous bar | chord]")
        _, bar, prev, chord = unpack(rows)
        return bar, chord, prev if self.discriminator.previous else None

    def forward(self, rows):
        return self.discriminator(*self._parts(rows))

    def features(self, rows):
        return self.discriminator.features(*self._parts(rows))


def bars_of(rows: Tensor) -> Tensor:
    """The bars (N, 384) of sample rows: what the second feature-matching term averages."""
    return rows[:, :BAR]


def feature_matching_hooks(D: PackedMidiDiscriminator,
                           lambda_features: float = LAMBDA_FEATURES,
                           lambda_mean: float = LAMBDA_MEAN) -> list:
    """The paper's two terms of G's loss as FeatureMatching hooks: lambda_features ||mean
    f(x) - mean f(G(z))||^2 on D's first layer, lambda_mean ||mean x - mean G(z)||^2 on the
    bars themselves; a weight of 0 leaves its term out."""
    for name, w in (("lambda_features", lambda_features), ("lambda_mean", lambda_mean)):
        if not w >= 0:
            raise ValueError(f"feature_matching_hooks: {name} must be >= 0, got {w}")
    return [FeatureMatching(f, w) for f, w in ((D.features, lambda_features),
                                               (bars_of, lambda_mean)) if w > 0]


def mismatch_hook(weight: float = 0.5) -> MatchingAware:
    """The matching-aware D (GAN-INT-CLS, Reed et al. 2016, arXiv 1605.05396; not in
    MidiNet): weight * E[softplus(D(real bar, wrong previous bar))], the wrong previous bar
    another row's that differs (tinygan.gan.stackgan's hook: in the rows [bar | prev | chord]
    the previous bar sits where its caption would). It makes D judge the pair, not the bar."""
    return MatchingAware(BAR, BAR, weight)


def d_objective(real_target: float = REAL_TARGET, fake_weight: float = 1.0):
    """(d_loss, g_loss): D's BCE(D(x), real_target) + fake_weight E[softplus(D(G(z)))]
    (one-sided label smoothing; with the mismatch hook's weight w, fake_weight = 1 - w, as
    StackGAN's official 1/2 and 1/2), G's non-saturating loss."""
    if not 0 < real_target <= 1 or not fake_weight >= 0:
        raise ValueError(f"d_objective: real_target must lie in (0, 1] and fake_weight be >= "
                         f"0, got {real_target} and {fake_weight}")
    t = float(real_target)

    def d_loss(real_logits, fake_logits):
        return (t * F.softplus(-real_logits).mean() + (1 - t) * F.softplus(real_logits).mean()
                + fake_weight * F.softplus(fake_logits).mean())
    return losses.Objective(d_loss, losses.g_nonsaturating)


def pair_rows(prev, bar, chord) -> np.ndarray:
    """Sample rows [bar | prev | chord] (N, 781) float32 from melodies.pairs' arrays."""
    n = len(bar)
    return np.concatenate([np.asarray(bar, np.float32).reshape(n, BAR),
                           np.asarray(prev, np.float32).reshape(n, BAR),
                           np.asarray(chord, np.float32)], axis=1)


def samplers(rows: np.ndarray, z_dim: int, device: str = "cpu"):
    """(data, noise) for the Trainer from sample rows (N, 781), copied to the device once:
    data(m, rng) gives m rows drawn uniformly with replacement; noise(m, rng) gives
    [z | prev | chord] with z ~ N(0, I) and the conditions of m other rows drawn so, so that
    G is asked for bars in the data's own mix of previous bars and chords."""
    stored = backend.to_device(np.ascontiguousarray(rows, dtype=np.float32), device)
    n, xp = len(stored), backend.get_array_module(stored)

    def data(m: int, rng) -> Tensor:
        return Tensor(stored[rng.integers(0, n, m)])

    def noise(m: int, rng) -> Tensor:
        z = rng.standard_normal((m, z_dim), dtype=np.float32)
        return Tensor(xp.concatenate([z, stored[rng.integers(0, n, m), BAR:]], axis=1))
    return data, noise


# ---------------------------------------------------------------- sampling


def monophonic(rolls) -> np.ndarray:
    """One-hot rolls (N, 1, 16, 24) float32: each step's most likely pitch (the argmax)."""
    r = np.asarray(backend.to_numpy(rolls.data if isinstance(rolls, Tensor) else rolls))
    if r.ndim != 4 or r.shape[1:] != (1, STEPS, PITCHES):
        raise ValueError(f"monophonic: rolls must be (N, 1, {STEPS}, {PITCHES}), got {r.shape}")
    out = np.zeros(r.shape, np.float32)
    np.put_along_axis(out, r.argmax(axis=3)[..., None], 1.0, axis=3)
    return out


def generate(G: MidiNetGenerator, prev, chord, seed: int = 1234, z=None,
             batch_size: int = 500, soft: bool = False) -> np.ndarray:
    """Bars for the given previous bars (n, 1, 16, 24) and chords (n, 13): G in eval mode
    (batch norm's running statistics), z ~ N(0, I) from `seed` unless given; one-hot rolls
    (n, 1, 16, 24) float32, or G's soft rolls with soft=True."""
    prev, chord = np.asarray(prev, np.float32), np.asarray(chord, np.float32)
    n = len(prev)
    if z is None:
        z = np.random.default_rng(seed).standard_normal((n, G.z_dim)).astype(np.float32)
    z = np.asarray(z, np.float32)
    _check_inputs("generate", Tensor(prev), Tensor(chord), len(z))
    device = G.parameters()[0].device
    was = G.training
    G.eval()
    out = []
    try:
        with no_grad():
            for i in range(0, n, batch_size):
                part = [Tensor(backend.to_device(a[i:i + batch_size], device))
                        for a in (z, prev, chord)]
                out.append(G(*part).numpy())
    finally:
        G.train(was)
    soft_rolls = np.concatenate(out).astype(np.float32)
    return soft_rolls if soft else monophonic(soft_rolls)


def generate_songs(G: MidiNetGenerator, n: int, bars: int = 8, seed: int = 1234,
                   progression=melodies.PROGRESSION, primer=None) -> np.ndarray:
    """n songs (n, bars, 16, 24) float32 one-hot, written bar after bar: bar b over chord
    progression[b % len], conditioned on bar b - 1 as G wrote it (before the first bar: the
    primer (n, 1, 16, 24) or (1, 16, 24), default all zeros, as a song starts in the data)."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1 or \
            isinstance(bars, bool) or not isinstance(bars, (int, np.integer)) or bars < 1:
        raise ValueError(f"generate_songs: n and bars must be positive ints, got {n!r} and "
                         f"{bars!r}")
    chords = [melodies.chord_vector(c) for c in progression]
    if not chords:
        raise ValueError("generate_songs: the progression names no chords")
    prev = np.zeros((n, 1, STEPS, PITCHES), np.float32) if primer is None else \
        np.broadcast_to(np.asarray(primer, np.float32), (n, 1, STEPS, PITCHES)).copy()
    rng = np.random.default_rng(seed)
    song = []
    for b in range(bars):
        z = rng.standard_normal((n, G.z_dim)).astype(np.float32)
        chord = np.repeat(chords[b % len(chords)][None], n, axis=0)
        prev = generate(G, prev, chord, z=z)
        song.append(prev[:, 0])
    return np.stack(song, axis=1)


def write_song(path, song, tempo_bpm: float = 120) -> None:
    """One song (bars, 16, 24) as a MIDI file (tinygan.data.midi: held notes merged)."""
    s = np.asarray(song, np.float32)
    if s.ndim != 3 or s.shape[1:] != (STEPS, PITCHES):
        raise ValueError(f"write_song: a song is (bars, {STEPS}, {PITCHES}), got {s.shape}")
    midi.write_midi(path, s, tempo_bpm=tempo_bpm)
