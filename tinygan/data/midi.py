"""A small Standard MIDI File writer, written from the format (no library), to listen to the
melodies of tinygan.data.melodies: format 0, one track, channel 0. The bytes it writes:

    "MThd" 00 00 00 06  00 00 (format 0)  00 01 (one track)  division (ticks per quarter note)
    "MTrk" length (4 bytes)  then events, each a delta time followed by the event:
        FF 51 03 tt tt tt    tempo: microseconds per quarter note, 24 bits
        C0 pp                program change: the instrument (0 = acoustic grand piano)
        90 nn vv             note on: note nn (0..127, 60 = C4), velocity vv (1..127)
        80 nn 00             note off
        FF 2F 00             end of track

Every number is big-endian. A delta time is the ticks since the event before it, as a
variable-length quantity: 7 bits a byte, most significant first, the top bit set on every
byte but the last (0 -> 00, 128 -> 81 00). One step of a roll is TICKS_PER_STEP ticks, so the
division is TICKS_PER_STEP * steps_per_beat (a step is a sixteenth note at 4 steps a beat).
A roll cannot tell a held note from repeated ones (see melodies), so by default consecutive
equal pitches become one held note; merge=False plays every step as a note of its own.
"""
from __future__ import annotations

import logging
import struct

import numpy as np

from .. import backend
from ..io import write_atomically
from ..tensor import Tensor
from . import melodies

log = logging.getLogger(__name__)

TICKS_PER_STEP = 120
CHANNEL = 0
MAX_QUANTITY = 0x0FFFFFFF        # 4 bytes of 7 bits: the largest a delta time may be


def variable_length(value: int) -> bytes:
    """value (0 .. 0x0FFFFFFF) as a MIDI variable-length quantity: 7-bit groups, most
    significant first, bit 7 set on all but the last byte."""
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or \
            not 0 <= value <= MAX_QUANTITY:
        raise ValueError(f"variable_length: value must be an int in 0..{MAX_QUANTITY:#x}, got "
                         f"{value!r}")
    value = int(value)
    groups = [value & 0x7F]
    while value > 0x7F:
        value >>= 7
        groups.append(0x80 | (value & 0x7F))
    return bytes(reversed(groups))


def pitch_sequence(pitches_or_rolls) -> np.ndarray:
    """The steps to play, (T,) int64 MIDI notes: integer pitches (T,) or (bars, steps) as they
    are, or float rolls whose last two axes are (16, 24) (one bar, (N, 16, 24), (N, 1, 16,
    24), songs (n, bars, 16, 24)) read by melodies.to_pitches, bar after bar."""
    x = pitches_or_rolls
    a = np.asarray(backend.to_numpy(x.data if isinstance(x, Tensor) else x))
    shape = (melodies.STEPS, melodies.PITCHES)
    if not a.size:
        raise ValueError("midi: no notes to write (an empty sequence)")
    if a.dtype.kind == "f" and a.ndim >= 2 and a.shape[-2:] == shape:
        a = melodies.to_pitches(a.reshape(-1, *shape))
    elif a.dtype.kind not in "iu" or a.ndim not in (1, 2):
        raise ValueError(f"midi: give integer MIDI notes of shape (T,) or (bars, steps), or "
                         f"float rolls of shape (..., {shape[0]}, {shape[1]}), got {a.dtype} "
                         f"{a.shape}")
    a = a.reshape(-1).astype(np.int64)
    if a.min() < 0 or a.max() > 127:
        raise ValueError(f"midi: MIDI notes lie in 0..127, got {a.min()}..{a.max()}")
    return a


def notes(pitches_or_rolls, merge: bool = True) -> list:
    """[(note, first step, steps held), ...]: with merge, each run of equal pitches is one
    note; without, every step is one."""
    p = pitch_sequence(pitches_or_rolls)
    if not merge:
        return [(int(n), t, 1) for t, n in enumerate(p)]
    starts = np.flatnonzero(np.r_[True, p[1:] != p[:-1]])
    lengths = np.diff(np.r_[starts, len(p)])
    return [(int(p[s]), int(s), int(n)) for s, n in zip(starts, lengths)]


def _byte(value, low: int, high: int, name: str) -> int:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or \
            not low <= value <= high:
        raise ValueError(f"midi: {name} must be an int in {low}..{high}, got {value!r}")
    return int(value)


def midi_bytes(pitches_or_rolls, tempo_bpm: float = 120, steps_per_beat: int = 4,
               velocity: int = 90, program: int = 0, merge: bool = True) -> bytes:
    """The whole .mid file as bytes: a format-0 header and one track (tempo, program, the
    notes of pitch_sequence back to back, end of track)."""
    velocity = _byte(velocity, 1, 127, "velocity")      # a note on of velocity 0 is a note off
    program = _byte(program, 0, 127, "program")
    steps_per_beat = _byte(steps_per_beat, 1, 0x7FFF // TICKS_PER_STEP, "steps_per_beat")
    if isinstance(tempo_bpm, bool) or not isinstance(tempo_bpm, (int, float, np.number)) or \
            not 60e6 / 0xFFFFFF < tempo_bpm <= 60e6:
        raise ValueError(f"midi: tempo_bpm must be a number in (3.58, 6e7] (the tempo is 24 "
                         f"bits of microseconds per beat), got {tempo_bpm!r}")
    tempo = round(60e6 / tempo_bpm)                      # microseconds per quarter note
    track = bytearray()
    track += variable_length(0) + b"\xff\x51\x03" + tempo.to_bytes(3, "big")
    track += variable_length(0) + bytes([0xC0 | CHANNEL, program])
    for note, _, length in notes(pitches_or_rolls, merge):
        # no rests: each note starts as the one before it ends, delta 0
        track += variable_length(0) + bytes([0x90 | CHANNEL, note, velocity])
        track += variable_length(length * TICKS_PER_STEP) + bytes([0x80 | CHANNEL, note, 0])
    track += variable_length(0) + b"\xff\x2f\x00"
    header = b"MThd" + struct.pack(">IHHH", 6, 0, 1, TICKS_PER_STEP * steps_per_beat)
    return header + b"MTrk" + struct.pack(">I", len(track)) + bytes(track)


def write_midi(path, pitches_or_rolls, tempo_bpm: float = 120, steps_per_beat: int = 4,
               velocity: int = 90, program: int = 0, merge: bool = True) -> None:
    """Write midi_bytes(...) to path atomically (all of it, or after a crash the old file)."""
    data = midi_bytes(pitches_or_rolls, tempo_bpm, steps_per_beat, velocity, program, merge)
    write_atomically(path, data)
    log.info("wrote %s (%d bytes)", path, len(data))
