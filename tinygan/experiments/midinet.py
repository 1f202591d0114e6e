"""MidiNet on synthetic one-bar melodies (Yang, Chou & Yang 2017, arXiv 1703.10847;
tinygan.gan.midinet): songs over C-G-Am-F from tinygan.data.melodies, where a bar repeats the
previous bar's motif (moved to the new chord) with probability repeat_p; G writes a bar from
noise, the bar's chord and (through the conditioner CNN) the bar before it.

The recipe is the paper's and its official code's: Adam 2e-4 with beta1 0.5, batch 72, z of
100 dimensions from N(0, I), the networks' widths (G 1024 / 128 / conditioner 16, D 14 / 77 /
1024), G's two feature-matching terms (lambda_features on D's first layer, lambda_mean on the
bars, the code's 0.1 and 0.01 on half the squared norm) and D's real targets smoothed to 0.9.
Not taken from the code: its second G step per iteration ("different from paper", its comment
says). conditioner=False is the ablation: the same G without the previous bar, all else equal.

Three defaults are not the paper's, because with its game the motif repeats do not appear.
Its D judges (bar, chord) only, so any bar that fits the chord passes and G has no reason to
use the previous bar: in 2-CPU-minute trials (seed 0) G's samples repeat their previous bar
0.5-2 % of the time against the data's 51 %, while chord-tone and in-scale ratios come out
right. Each addition is a switch: d_previous (D sees the previous bar too: ~12 % repeats),
mismatch_weight (the matching-aware D of GAN-INT-CLS, Reed et al. 2016, as StackGAN's:
real bar + another row's previous bar -> fake, weight 1/2; ~25 %, oscillating) and
ema_decay (the EMA of G's weights that the other experiments keep, scored beside G: ~40 %).
Neither network alone is the obstacle: trained by plain supervision for 20 CPU-seconds, G
writes the repeats of repeat_p = 1 songs (87 %) and D tells repeats from fresh bars (99 %).
`d_previous=False, mismatch_weight=0, ema_decay=none` is the paper's recipe.

evaluate(exp) asks G for one bar for each held-out (previous bar, chord) pair of
`eval_songs` songs the run never saw (their own seed), takes each step's argmax (a one-hot,
monophonic roll) and reports for those samples and for the held-out bars themselves the
chord-tone ratio, the in-scale ratio and the repeat rate against the given previous bar
(tinygan.data.melodies; a song's first bar, whose previous bar is empty, counts for the first
two only), their differences in points (the targets: each within 5), the notes per bar, the
fraction of distinct bars, the repeat rate against another song's previous bar at the same
place (the chance level), and the same three scores over whole songs G writes bar after bar.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np

from .. import backend
from ..creation import manual_seed
from ..data import melodies
from ..gan import midinet as M
from ..gan.hooks import EMA
from ..gan.trainer import Trainer
from ..optim import Adam
from ..tensor import Tensor
from .base import Experiment, ExperimentConfig, param

SCORES = ("chord_tone_ratio", "in_scale_ratio", "repeat_rate")
TOLERANCE = 5.0                     # points: the target for each score
HELDOUT_SEED = 10_000          # held-out songs come from seed HELDOUT_SEED + config.data_seed


@dataclass(frozen=True)
class MidiNetConfig(ExperimentConfig):
    """MidiNet on one-bar melodies over C-G-Am-F: G told the chord and shown the previous bar
    through a conditioner CNN, feature matching (Yang et al. 2017); D judges the bar with its
    previous bar (matching-aware), G's EMA scored too"""
    steps: int = param(5000, "training iterations (one D step, one G step each)", minimum=1)
    batch_size: int = param(72, "bars per step (the official code's 72)", minimum=1)
    z_dim: int = param(M.Z_DIM, "z ~ N(0, I) of this many dimensions (the paper's 100)",
                       minimum=1)
    g_fc: int = param(1024, "G's first dense layer (the paper's 1024)", minimum=1)
    g_width: int = param(128, "channels of G's transposed convolutions (the paper's 128)",
                         minimum=1)
    cond_width: int = param(16, "channels of the conditioner's maps (the paper's 16)", minimum=1)
    d_widths: tuple[int, int] = param((14, 77), "filters of D's two convolutions (the official "
                                                "14 and 77)")
    d_fc: int = param(1024, "D's dense layer (the paper's 1024)", minimum=1)
    d_steps: int = param(1, "k: D steps per G step", minimum=1)
    lr: float = param(2e-4, "Adam learning rate of both networks", minimum=0)
    lr_d: float | None = param(None, "D's learning rate (none: lr)")
    betas: tuple[float, float] = param((0.5, 0.999), "Adam's betas for both networks")
    lambda_features: float = param(M.LAMBDA_FEATURES, "lambda1: weight of ||mean f(x) - mean "
                                   "f(G(z))||^2, f = D's first layer (0: none)", minimum=0)
    lambda_mean: float = param(M.LAMBDA_MEAN, "lambda2: weight of ||mean x - mean G(z)||^2 on "
                                              "the bars (0: none)", minimum=0)
    real_target: float = param(M.REAL_TARGET, "D's target for real bars (one-sided label "
                                              "smoothing; 1: none)", minimum=0)
    conditioner: bool = param(True, "the conditioner CNN: G sees the previous bar (false: the "
                                    "ablation, the same G without it)")
    d_previous: bool = param(True, "D sees the previous bar too (not in the paper: without it "
                                   "nothing asks G to use the previous bar)")
    mismatch_weight: float = param(0.5, "matching-aware D (Reed et al. 2016; not in the "
                                        "paper): weight of real bars shown another song's "
                                        "previous bar, judged fake (needs d_previous)",
                                   minimum=0)
    d_batch_norm: bool = param(True, "batch norm in D's second and third layers (the "
                                     "official code's)")
    n_songs: int = param(5000, "training songs: bars x n_songs training bars (40,000 at the "
                               "defaults, as the paper's ~45,000; 8,000 let D overfit in 10 "
                               "CPU-minutes)", minimum=1)
    data_seed: int = param(0, "which songs: the training set's seed (the held-out songs' is "
                              "10,000 more); seed changes only the networks and the noise")
    bars: int = param(8, "bars per song", minimum=2)
    repeat_p: float = param(0.5, "probability that a bar repeats the previous bar's motif",
                            minimum=0)
    chord_tone_p: float = param(0.85, "probability that a fresh note is a chord tone",
                                minimum=0)
    eval_songs: int = param(250, "held-out songs scored by evaluate (0: skip the scoring)",
                            minimum=0)
    ema_decay: float | None = param(0.999, "also keep (and score) an EMA of G's weights with "
                                          "this decay (none: do not)")
    log_every: int = param(25, "iterations between history records", minimum=1)

    def __post_init__(self):
        super().__post_init__()
        for name in ("repeat_p", "chord_tone_p", "real_target"):
            if not getattr(self, name) <= 1:
                raise ValueError(f"MidiNetConfig: {name} must lie in [0, 1], got "
                                 f"{getattr(self, name)}")
        if self.real_target == 0 or min(self.d_widths) < 1:
            raise ValueError(f"MidiNetConfig: real_target must be > 0 and d_widths >= 1, got "
                             f"{self.real_target} and {self.d_widths}")
        if self.mismatch_weight and not (self.d_previous and self.mismatch_weight < 1):
            raise ValueError(f"MidiNetConfig: mismatch_weight shows D wrong previous bars, so "
                             f"it needs d_previous, and must be < 1; got {self.mismatch_weight} "
                             f"with d_previous={self.d_previous}")


def build(config: MidiNetConfig, device=None) -> Experiment:
    """Training pairs from melodies.dataset(n_songs, seed=config.data_seed), G and D of
    tinygan.gan.midinet (DCGAN's initialisation), Adam for both, the two feature-matching
    hooks, the Algorithm-1 Trainer on packed rows with D's real targets smoothed."""
    device = backend.resolve_device(device)
    c = config
    prev, bar, chord = melodies.dataset(c.n_songs, c.bars, c.data_seed, c.repeat_p,
                                        c.chord_tone_p)
    manual_seed(c.seed)
    G, D = M.midinet(c.z_dim, c.g_fc, c.g_width, c.cond_width, c.d_widths, c.d_fc,
                     c.conditioner, c.d_previous, c.d_batch_norm)
    G.to(device)
    D.to(device)
    packed_d = M.PackedMidiDiscriminator(D)
    data, noise = M.samplers(M.pair_rows(prev, bar, chord), c.z_dim, device)
    hooks = M.feature_matching_hooks(packed_d, c.lambda_features, c.lambda_mean)
    if c.mismatch_weight:
        hooks.insert(0, M.mismatch_hook(c.mismatch_weight))
    ema = EMA(G, c.ema_decay) if c.ema_decay is not None else None
    hooks += [ema] if ema is not None else []
    trainer = Trainer(M.PackedMidiNet(G), packed_d, Adam(G.parameters(), c.lr, c.betas),
                      Adam(D.parameters(), c.lr if c.lr_d is None else c.lr_d, c.betas),
                      data, noise, batch_size=c.batch_size, d_steps=c.d_steps,
                      objective=M.d_objective(c.real_target, 1 - c.mismatch_weight),
                      seed=c.seed, device=device, hooks=hooks, log_every=c.log_every)
    return Experiment("midinet", c, device, trainer, G, sys.modules[__name__], ema,
                      {"discriminator": D, "train": (prev, bar, chord)})


def heldout(exp: Experiment, songs: int | None = None):
    """(prev, bar, chord) of `songs` (default eval_songs, at least 1) held-out songs, never
    trained on (seed HELDOUT_SEED + config.data_seed); cached in exp.parts."""
    c = exp.config
    songs = max(1, c.eval_songs if songs is None else songs)
    key = ("heldout", songs)
    if key not in exp.parts:
        exp.parts[key] = melodies.dataset(songs, c.bars, HELDOUT_SEED + c.data_seed, c.repeat_p,
                                          c.chord_tone_p)
    return exp.parts[key]


# ---------------------------------------------------------------- scoring


def notes_per_bar(bars) -> float:
    """Mean notes per bar: 1 + the changes of pitch from step to step (a held note is one)."""
    p = melodies.to_pitches(bars)
    return float(1 + (p[:, 1:] != p[:, :-1]).sum(axis=1).mean())


def scores(prev, bars, chord) -> dict:
    """The three scores (as fractions) of bars against their chords and previous bars, the
    notes per bar and the fraction of distinct bars."""
    flat = np.asarray(bars).reshape(len(bars), -1)
    return {"chord_tone_ratio": melodies.chord_tone_ratio(bars, chord),
            "in_scale_ratio": melodies.in_scale_ratio(bars),
            "repeat_rate": melodies.repeat_rate(prev, bars),
            "notes_per_bar": notes_per_bar(bars),
            "distinct_fraction": len(np.unique(flat, axis=0)) / len(flat)}


def song_scores(songs: np.ndarray, progression=melodies.PROGRESSION) -> dict:
    """The three scores over whole songs (n, bars, 16, 24): each bar against its chord and
    (from the second bar on) against the bar before it."""
    n, bars = songs.shape[:2]
    chords = [progression[b % len(progression)] for b in range(bars)] * n
    flat = songs.reshape(n * bars, 1, melodies.STEPS, melodies.PITCHES)
    prev = np.zeros_like(songs)
    prev[:, 1:] = songs[:, :-1]
    return {"chord_tone_ratio": melodies.chord_tone_ratio(flat, chords),
            "in_scale_ratio": melodies.in_scale_ratio(flat),
            "repeat_rate": melodies.repeat_rate(prev.reshape(flat.shape), flat)}


def averaged_generator(exp: Experiment):
    """The EMA of G, its batch-norm statistics re-estimated for the averaged weights on
    training conditions (previous bars and chords) and fresh z."""
    if exp.ema is None:
        raise ValueError(f"{exp.name}: this run keeps no weight average (ema_decay is none)")
    prev, _, chord = exp.parts["train"]
    z_dim = exp.generator.z_dim

    def inputs(rng):
        i = rng.integers(0, len(prev), 256)
        z = rng.standard_normal((256, z_dim)).astype(np.float32)
        return tuple(Tensor(backend.to_device(np.ascontiguousarray(a), exp.device))
                     for a in (z, prev[i], chord[i]))
    return exp.ema.averaged(inputs)


def _scored(exp: Experiment, G) -> dict:
    c = exp.config
    prev, bar, chord = heldout(exp)
    samples = M.generate(G, prev, chord, seed=1234)
    got, want = scores(prev, samples, chord), scores(prev, bar, chord)
    diff = {k: 100 * (got[k] - want[k]) for k in SCORES}
    # the previous bar of the next song at the same place (the same chord, another motif):
    # how often a sample passes for a repeat of a bar it was never shown (the chance level)
    other = np.roll(prev, c.bars, axis=0)
    songs = M.generate_songs(G, c.eval_songs, c.bars, seed=4321)
    return {"pairs": len(bar), "samples": got, "data": want, "differences": diff,
            "within_target": {k: bool(abs(v) <= TOLERANCE) for k, v in diff.items()},
            "sample_repeat_rate_other_bar": melodies.repeat_rate(other, samples),
            "songs": song_scores(songs)}


def evaluate(exp: Experiment) -> dict:
    c = exp.config
    out = {"conditioner": c.conditioner, "d_previous": c.d_previous,
           "mismatch_weight": c.mismatch_weight, "repeat_p": c.repeat_p}
    if c.eval_songs <= 0:
        return {**out, "scored": False}
    out.update(_scored(exp, exp.generator))
    if exp.ema is not None:
        out["ema"] = _scored(exp, averaged_generator(exp))
    return out


# ---------------------------------------------------------------- the protocol


def sample(exp: Experiment, n: int, seed=1234, labels=None) -> dict:
    """{"rolls": G's bars (n, 1, 16, 24) float32 one-hot, "previous": the previous bars they
    were shown (n, 1, 16, 24), "chords": their chords (n, 13) float32, "pitches": the MIDI
    notes of each step (n, 16) int64} for n held-out pairs drawn by `seed` (z from it too).
    Conditional on chords and bars, not on labels."""
    exp.not_conditional(labels)
    prev, _, chord = heldout(exp)
    pick = np.random.default_rng(seed).integers(0, len(prev), n)
    rolls = M.generate(exp.generator, prev[pick], chord[pick], seed=seed)
    return {"rolls": rolls, "previous": prev[pick].astype(np.float32),
            "chords": chord[pick].astype(np.float32),
            "pitches": melodies.to_pitches(rolls).astype(np.int64)}


def _as_images(rolls) -> np.ndarray:
    """Rolls (n, 1, 16, 24) as images (n, 1, 24, 16) in [-1, 1]: time across, high notes up."""
    return (2 * np.asarray(rolls)[:, :, :, ::-1].transpose(0, 1, 3, 2) - 1).astype(np.float32)


def draw(exp: Experiment, n=None, seed=1234, labels=None):
    """Two rows of n (default 8) held-out pairs: the previous bar, then G's bar after it."""
    from ..viz.images import grid_figure
    n = 8 if n is None else n
    out = sample(exp, n, seed, labels)
    grid = np.concatenate([_as_images(out["previous"]), _as_images(out["rolls"])])
    return grid_figure(grid, n, f"{exp.name}, iteration {exp.trainer.iteration}: previous bar "
                                f"/ generated bar (pitch up, time across)")


def songs(exp: Experiment, n: int, bars: int | None = None, seed: int = 1234,
          primer=None, averaged: bool = False) -> np.ndarray:
    """n songs (n, bars, 16, 24) that G (or with averaged=True its EMA) writes bar after bar
    over C-G-Am-F (see tinygan.gan.midinet.generate_songs); bars defaults to the training
    songs' length."""
    G = averaged_generator(exp) if averaged else exp.generator
    return M.generate_songs(G, n, exp.config.bars if bars is None else bars, seed,
                            primer=primer)


def write_song(exp: Experiment, path, bars: int | None = None, seed: int = 1234,
               tempo_bpm: float = 120, averaged: bool = False) -> np.ndarray:
    """One song of G's (or its EMA's) written to `path` as MIDI; returns it (bars, 16, 24)."""
    song = songs(exp, 1, bars, seed, averaged=averaged)[0]
    M.write_song(path, song, tempo_bpm)
    return song
