"""Captions of digits built from facts anyone can measure, and their embeddings: the text that
StackGAN (Zhang et al. 2017, arXiv 1612.03242) is conditioned on, without a text encoder.

A digit's facts are three integers (tinygan.data.attributes measures them from the pixels):

- digit: its class, 0..9 (the label);
- thickness: 0 thin, 1 thick -- its ink mass against the median of its class (bucket_edges
  with 2 buckets), because a one holds less ink than an eight;
- slant: -1 left, 0 upright, +1 right -- the sign of attributes.slant (columns of lean per
  row, > 0 when the top leans right) beyond a dead zone of SLANT_DEAD_ZONE = 0.1 (a lean of
  about 6 degrees). MNIST leans right: of its 8,500 training digits 23 % are "slanted left",
  29 % "upright" and 48 % "slanted right" by this rule.

caption_text writes them as "a thick seven slanted left" or "a thin one upright". encode turns
captions (or facts directly) into embeddings: the mean (a bag of words) of FIXED random word
vectors, unit norm, drawn from a seed -- a stand-in for the paper's char-CNN-RNN embeddings
that keeps which words a caption holds and nothing of their order.
"""
from __future__ import annotations

import functools

import numpy as np

from . import attributes

DIGIT_NAMES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
THICKNESS_WORDS = ("thin", "thick")
SLANT_WORDS = {-1: "slanted left", 0: "upright", 1: "slanted right"}
#: every word a caption may hold, in a fixed order (row i of word_vectors is word i)
VOCABULARY = ("a",) + DIGIT_NAMES + THICKNESS_WORDS + ("slanted", "left", "right", "upright")
FACTS = ("digit", "thickness", "slant")
SLANT_DEAD_ZONE = 0.1   # |slant| at most this (columns per row) is "upright"
EMBED_DIM, WORD_SEED = 32, 1612


@functools.lru_cache(maxsize=8)
def _vectors(dim: int, seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal((len(VOCABULARY), dim))
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    v = v.astype(np.float32)
    v.setflags(write=False)  # cached: nobody may change the shared table
    return v


def word_vectors(dim: int = EMBED_DIM, seed: int = WORD_SEED) -> np.ndarray:
    """The fixed word table (len(VOCABULARY), dim) float32: N(0, I) rows scaled to unit norm,
    the same for the same (dim, seed)."""
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool) or dim < 1:
        raise ValueError(f"word_vectors: dim must be a positive int, got {dim!r}")
    return _vectors(int(dim), int(seed)).copy()


def slant_direction(images, dead_zone: float = SLANT_DEAD_ZONE) -> np.ndarray:
    """-1 / 0 / +1 per image (N,): left, upright (|slant| <= dead_zone), right."""
    if not dead_zone >= 0:
        raise ValueError(f"slant_direction: dead_zone must be >= 0, got {dead_zone}")
    s = attributes.slant(images)
    return np.where(np.abs(s) <= dead_zone, 0, np.sign(s)).astype(np.int64)


def caption_facts(images, labels, edges, dead_zone: float = SLANT_DEAD_ZONE) -> np.ndarray:
    """Facts (N, 3) int64 [digit, thickness, slant] of digits (N, 1, H, W) with labels (N,);
    edges: attributes.bucket_edges(..., buckets=2) of the training digits, (10, 1)."""
    labels = np.asarray(labels)
    edges = np.asarray(edges, dtype=np.float64)
    if edges.shape != (len(DIGIT_NAMES), 1):
        raise ValueError(f"caption_facts: edges must be (10, 1), one ink-mass median per class "
                         f"(attributes.bucket_edges with buckets=2), got {edges.shape}")
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer) or \
            labels.size and (labels.min() < 0 or labels.max() > 9):
        raise ValueError(f"caption_facts: labels must be integers 0..9 of shape (N,), got "
                         f"{labels.dtype} {labels.shape}")
    thick = attributes.thickness_buckets(images, labels, edges)  # checks N against the images
    return np.stack([labels.astype(np.int64), thick, slant_direction(images, dead_zone)], 1)


def make_facts(digit, thickness, slant) -> np.ndarray:
    """Facts (N, 3) for chosen values, each a number or a sequence (they broadcast):
    thickness "thin"/"thick" or 0/1, slant "left"/"upright"/"right" or -1/0/1."""
    def codes(values, words, offset):
        out = []
        for v in np.atleast_1d(values).tolist():
            if isinstance(v, str) and v not in words:
                raise ValueError(f"make_facts: {v!r} is not one of {list(words)}")
            out.append(words.index(v) + offset if isinstance(v, str) else v)
        return np.asarray(out)
    d, t, s = np.broadcast_arrays(np.atleast_1d(digit), codes(thickness, THICKNESS_WORDS, 0),
                                  codes(slant, ("left", "upright", "right"), -1))
    return check_facts(np.stack([d, t, s], 1))


def check_facts(facts) -> np.ndarray:
    """facts as int64 (N, 3), or a ValueError saying which column is out of range."""
    f = np.asarray(facts)
    whole = f.dtype.kind in "iu" or (f.dtype.kind == "f" and np.all(f == np.round(f)))
    if f.ndim != 2 or f.shape[1] != 3 or not whole:
        raise ValueError(f"facts must be integers of shape (N, 3) [digit, thickness, slant], "
                         f"got {f.dtype} {f.shape}")
    f = f.astype(np.int64)
    for j, (name, low, high) in enumerate((("digit", 0, 9), ("thickness", 0, 1),
                                           ("slant", -1, 1))):
        bad = (f[:, j] < low) | (f[:, j] > high)
        if bad.any():
            raise ValueError(f"facts: {name} must lie in {low}..{high}, got "
                             f"{f[bad, j][:5].tolist()}")
    return f


def caption_text(facts) -> list:
    """"a {thin|thick} {digit} {slanted left|upright|slanted right}" for each row of facts."""
    return [f"a {THICKNESS_WORDS[t]} {DIGIT_NAMES[d]} {SLANT_WORDS[s]}"
            for d, t, s in check_facts(facts).tolist()]


def tokens(caption: str) -> list:
    """The caption's words (lower case, split on white space); unknown words are an error."""
    if not isinstance(caption, str):
        raise TypeError(f"a caption is a str, got {type(caption).__name__}")
    words = caption.lower().split()
    unknown = [w for w in words if w not in VOCABULARY]
    if unknown or not words:
        raise ValueError(f"caption {caption!r}: " + (f"unknown word(s) {unknown}" if unknown
                                                     else "no words") +
                         f"; the vocabulary is {list(VOCABULARY)}")
    return words


def encode(captions, dim: int = EMBED_DIM, seed: int = WORD_SEED) -> np.ndarray:
    """Embeddings (N, dim) float32: each caption's mean word vector. captions: a list of
    strings (any words of VOCABULARY, in any order) or facts (N, 3) (as caption_text)."""
    if isinstance(captions, str):
        raise TypeError("encode takes a list of captions (or facts (N, 3)), not one string: "
                        "wrap it as [caption]")
    table = word_vectors(dim, seed)
    if isinstance(captions, np.ndarray) and captions.dtype.kind in "iuf":
        captions = caption_text(captions)
    captions = list(captions)
    if not captions:
        raise ValueError("encode: no captions given")
    index = {w: i for i, w in enumerate(VOCABULARY)}
    # the words summed in vocabulary order, in float64: one bag, one embedding, bit for bit
    bags = [sorted(index[w] for w in tokens(c)) for c in captions]
    return np.stack([table[b].astype(np.float64).mean(axis=0) for b in bags]).astype(np.float32)


def digit_facts(digits, edges=None, dead_zone: float = SLANT_DEAD_ZONE):
    """(facts (N, 3), edges (10, 1)) of a tinygan.data.digits.Digits set; edges default to
    its own per-class medians."""
    if edges is None:
        edges = attributes.bucket_edges(digits.images, digits.labels, buckets=2)
    return caption_facts(digits.images, digits.labels, edges, dead_zone), edges
