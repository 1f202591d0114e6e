"""StackGAN on digits (Zhang et al. 2017, arXiv 1612.03242; tinygan.gan.stackgan): captions
built from facts of each digit (tinygan.data.captions: "a thick seven slanted left"), a 14x14
Stage I GAN trained first, then a 28x28 Stage II GAN on the frozen Stage I's output, both
with Conditioning Augmentation (`ca`) and the matching-aware discriminator.

One budget drives both stages: `exp.trainer.fit(steps=...)` or `fit(seconds=..., clock="cpu")`
gives Stage I `stage1_fraction` of it and Stage II the rest (gan.stackgan.StackTrainer). On
one CPU thread at batch 64 a Stage II iteration costs about four Stage I iterations, so the
default fraction, 0.4, still leaves Stage II fewer iterations than Stage I.

evaluate(exp) judges both stages (Stage I upsampled to 28x28 by nearest neighbours) on
`eval_samples` samples asked for by the captions of held-out digits (the evaluator's
reference digits, their facts measured with the training digits' thickness edges):

- class / thickness / slant agreement: the fraction whose judge label, ink-mass bucket
  (relative to the caption's class) or slant direction is the caption's; `all` all three.
  `shuffled` is the same against the captions rolled by one sample: the agreement a
  generator deaf to its captions would get;
- frechet_distance: of the judge's features, to the held-out digits;
- diversity: for 10 fixed captions, max(2, eval_samples // 20) samples each, the spread
  sqrt(tr Cov) of the judge's features within a caption, averaged over the captions (the
  held-out digits sharing a caption's facts give the reference's spread), to compare ca=True
  against ca=False (the paper's claim: CA gives more varied images for one caption).
"""
from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np

from .. import backend
from ..conv import avg_pool2d, interpolate
from ..creation import manual_seed
from ..data import attributes, captions
from ..data.digits import sampler
from ..gan import stackgan as S
from ..gan.trainer import Trainer
from ..optim import Adam
from ..tensor import Tensor, no_grad
from . import digits as base
from .base import Experiment, ExperimentConfig, param
from .digits import DigitsConfig

steps_for_epochs = base.steps_for_epochs
#: the captions whose samples measure diversity: each digit once, thickness and slant in turn
DIVERSITY_FACTS = captions.make_facts(np.arange(10), np.arange(10) % 2, np.arange(10) % 3 - 1)


@dataclass(frozen=True)
class StackGANConfig(DigitsConfig):
    """StackGAN on MNIST: captions of digit facts drawn at 14x14, then refined to 28x28
    (Zhang et al. 2017)"""
    model: str = param("stackgan", "which digit GAN", ("stackgan",), cli=False)
    steps: int = param(2500, "training iterations over both stages", minimum=2)
    # the digit GANs' settings stackgan does not offer: fixed, and off the command line
    ema_decay: float | None = param(None, "stackgan keeps no weight average", cli=False)
    objective: str = param("nonsaturating", "the matching-aware losses are fixed", cli=False)
    spectral_norm: bool = param(False, "not offered by stackgan", cli=False)
    gp_weight: float = param(0.0, "not offered by stackgan", cli=False)
    diffaug: bool = param(False, "not offered by stackgan", cli=False)
    d_norm: str = param("batch", "stackgan's D has batch norm after its inner convolutions",
                        cli=False)
    width: int = param(24, "channels of the narrow conv layers of all four networks",
                       minimum=2)
    stage1_fraction: float = param(0.4, "Stage I's share of every budget (steps or seconds); "
                                        "Stage II gets the rest")
    ca: bool = param(True, "Conditioning Augmentation (off: c = a linear map of the caption, "
                           "no KL)")
    kl_coeff: float = param(2.0, "weight of the CA's KL averaged over the batch and c's "
                                 "dimensions (the official code's COEFF.KL)", minimum=0)
    wrong_weight: float = param(0.5, "D's weight on (real image, wrong caption) -> fake",
                                minimum=0)
    fake_weight: float = param(0.5, "D's weight on (fake image, right caption) -> fake",
                               minimum=0)
    z_dim: int = param(S.Z_DIM, "Stage I's noise dimensions", minimum=1)
    cond_dim: int = param(S.COND_DIM, "dimensions of the CA's output c", minimum=1)
    res_blocks: int = param(2, "residual blocks of Stage II's generator", minimum=0)

    def __post_init__(self):
        ExperimentConfig.__post_init__(self)  # the digit GANs' model checks are not ours
        if not 0 < self.stage1_fraction < 1:
            raise ValueError(f"StackGANConfig: stage1_fraction must lie in (0, 1), got "
                             f"{self.stage1_fraction}")
        unsupported = {"objective": "nonsaturating", "gp_weight": 0.0, "diffaug": False,
                       "spectral_norm": False, "d_norm": "batch", "ema_decay": None}
        changed = [k for k, v in unsupported.items() if getattr(self, k) != v]
        if changed:
            raise ValueError(f"StackGANConfig: {changed} are not supported by stackgan (its "
                             "losses are the matching-aware ones; no EMA)")


def build(config: StackGANConfig, device=None, digits=None) -> Experiment:
    device = backend.resolve_device(device)
    digits = base.load_digits(config.data_dir or None) if digits is None else digits
    facts, edges = captions.digit_facts(digits)
    embeddings = captions.encode(facts)
    e_dim = embeddings.shape[1]
    low = avg_pool2d(Tensor(np.asarray(digits.images, np.float32)), 2).numpy()  # (N, 1, 14, 14)
    manual_seed(config.seed)
    w = config.width
    G1 = S.StageIGenerator(config.z_dim, e_dim, config.cond_dim, w, config.ca)
    G2 = S.StageIIGenerator(e_dim, config.cond_dim, w, config.res_blocks, config.ca)
    D1, D2 = S.CaptionDiscriminator(S.LOW, e_dim, w), S.CaptionDiscriminator(S.HIGH, e_dim, w)
    S.init_weights(G1, G2, D1, D2)
    for m in (G1, G2, D1, D2):
        m.to(device)
    lr_d = config.lr if config.lr_d is None else config.lr_d

    def trainer(G, D, packed_g, images, noise, k):
        hooks = [S.MatchingAware(images.shape[-1] ** 2, e_dim, config.wrong_weight)]
        if config.ca:
            hooks.append(S.KLPenalty(config.kl_coeff, config.cond_dim))
        seed = None if config.seed is None else [config.seed, k]
        return Trainer(packed_g, S.PackedCaptionDiscriminator(D),
                       Adam(G.parameters(), config.lr, config.betas),
                       Adam(D.parameters(), lr_d, config.betas),
                       sampler(S.packed_rows(images, embeddings), device), noise,
                       batch_size=config.batch_size, d_steps=config.d_steps,
                       objective=S.matching_objective(config.fake_weight), seed=seed,
                       device=device, hooks=hooks, log_every=config.log_every)

    staged = S.StackTrainer(
        trainer(G1, D1, S.PackedStageI(G1), low,
                S.caption_noise(config.z_dim, embeddings, device), 1),
        trainer(G2, D2, S.PackedStageII(G2), digits.images,
                S.stage2_noise(G1, embeddings, device), 2),
        config.stage1_fraction, config.steps)
    return Experiment(config.model, config, device, staged, S.StackGANGenerator(G1, G2),
                      sys.modules[__name__], None,
                      {"digits": digits, "edges": edges, "facts": facts,
                       "discriminators": [D1, D2]})


# ---------------------------------------------------------------- sampling


def generate(exp_or_generator, facts_or_embeddings, seed: int = 1234, batch_size: int = 500):
    """(Stage I images (n, 1, 14, 14), Stage II images (n, 1, 28, 28)) float32 host arrays for
    captions given as facts (n, 3) ints or embeddings (n, E) floats (captions.encode), drawn in
    eval mode; z and both CA's eps come from `seed`, so one seed gives one set of samples."""
    G = exp_or_generator.generator if isinstance(exp_or_generator, Experiment) \
        else exp_or_generator
    x = np.asarray(facts_or_embeddings)
    e = captions.encode(x) if x.ndim == 2 and x.shape[1] == 3 and x.dtype.kind in "iu" \
        else x.astype(np.float32)
    if e.ndim != 2 or e.shape[1] != G.embed_dim or len(e) == 0:
        raise ValueError(f"generate: need facts (n, 3) ints or embeddings (n, {G.embed_dim}), "
                         f"got {x.dtype} {x.shape}")
    n, d = len(e), G.stage1.ca.cond_dim
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, G.z_dim)).astype(np.float32)
    eps = rng.standard_normal((2, n, d)).astype(np.float32)
    device = G.parameters()[0].device
    was = G.training
    G.eval()
    lows, highs = [], []
    try:
        with no_grad():
            for i in range(0, n, batch_size):
                part = slice(i, min(i + batch_size, n))
                t = [Tensor(backend.to_device(a[part], device))
                     for a in (z, e, eps[0], eps[1])]
                low = G.stage1(t[0], t[1], t[2])
                lows.append(low.numpy())
                highs.append(G.stage2(low, t[1], t[3]).numpy())
    finally:
        G.train(was)
    return np.concatenate(lows), np.concatenate(highs)


def _facts_for(exp, n, seed, labels):
    """Facts (n, 3): of n random training digits, or for the digits `labels` (n,) with the
    thickness and slant of random training digits of those classes."""
    facts = exp.parts["facts"]
    rng = np.random.default_rng(seed)
    if labels is None:
        return facts[rng.integers(0, len(facts), n)]
    labels = np.asarray(labels)
    if labels.shape != (n,) or not np.issubdtype(labels.dtype, np.integer) or \
            labels.min() < 0 or labels.max() > 9:
        raise ValueError(f"{exp.name}: labels must be {n} digits 0..9, one per sample, got "
                         f"{labels.dtype} {labels.shape}")
    out = np.empty((n, 3), np.int64)
    for i, c in enumerate(labels):
        mine = np.flatnonzero(facts[:, 0] == c)
        row = facts[rng.choice(mine)] if mine.size else (c, rng.integers(0, 2),
                                                          rng.integers(-1, 2))
        out[i] = row
    return out


def sample(exp: Experiment, n: int, seed=1234, labels=None) -> dict:
    """{"images": Stage II (n, 1, 28, 28), "stage1": (n, 1, 14, 14), "facts": (n, 3)}: captions
    of random training digits, or of the digits `labels` asked for."""
    facts = _facts_for(exp, n, seed, labels)
    low, high = generate(exp, facts, seed)
    return {"images": high, "stage1": low, "facts": facts}


def draw(exp: Experiment, n=None, seed=1234, labels=None):
    """A row per caption of DIVERSITY_FACTS: 5 Stage I samples (upsampled) then Stage II's
    refinements of the same 5."""
    from ..viz.images import grid_figure
    facts = np.repeat(DIVERSITY_FACTS, 5, axis=0)
    low, high = generate(exp, facts, seed)
    up = upsample(low).reshape(10, 5, 1, 28, 28)
    grid = np.concatenate([up, high.reshape(10, 5, 1, 28, 28)], axis=1).reshape(-1, 1, 28, 28)
    return grid_figure(grid, 10, f"{exp.name}, iteration {exp.trainer.iteration}: Stage I "
                                 "(left 5) and Stage II (right 5), one caption per row")


def upsample(low: np.ndarray) -> np.ndarray:
    """14x14 -> 28x28 by nearest neighbours (ink mass x4, as a 28x28 digit's; slant kept)."""
    return interpolate(Tensor(np.asarray(low, np.float32)), 2).numpy()


# ---------------------------------------------------------------- scoring


def agreement(images, facts, evaluator, edges) -> dict:
    """Fractions of 28x28 images whose judge label, thickness bucket (by the caption's class)
    and slant direction match the facts (n, 3); `all` when all three do."""
    facts = captions.check_facts(facts)
    judged = evaluator.classify(images)[0].argmax(axis=1)
    hits = np.stack([judged == facts[:, 0],
                     attributes.thickness_buckets(images, facts[:, 0], edges) == facts[:, 1],
                     captions.slant_direction(images) == facts[:, 2]], 1)
    return {"class": float(hits[:, 0].mean()), "thickness": float(hits[:, 1].mean()),
            "slant": float(hits[:, 2].mean()), "all": float(hits.all(axis=1).mean())}


def diversity(images, evaluator, groups: int) -> list:
    """sqrt(tr Cov) of the judge's features within each of `groups` equal consecutive blocks."""
    feats = evaluator.classify(images)[1]
    feats = feats.reshape(groups, -1, feats.shape[1])
    return [float(np.sqrt(np.trace(np.cov(f, rowvar=False)))) for f in feats]


def evaluate(exp: Experiment) -> dict:
    digits, c, edges = exp.parts["digits"], exp.config, exp.parts["edges"]
    out = {"data": digits.source, "ca": c.ca}
    if c.eval_samples <= 0:
        return out
    evaluator = base.make_evaluator(digits, c.data_dir or None)
    ref_facts = captions.caption_facts(evaluator.reference_images,
                                       np.asarray(evaluator.reference_labels), edges)
    facts = ref_facts[np.arange(c.eval_samples) % len(ref_facts)]
    per = max(2, c.eval_samples // 20)
    low, high = generate(exp, facts, seed=1234)
    div_low, div_high = generate(exp, np.repeat(DIVERSITY_FACTS, per, axis=0), seed=4321)
    for stage, images, div in (("stage1", upsample(low), upsample(div_low)),
                               ("stage2", high, div_high)):
        spread = diversity(div, evaluator, len(DIVERSITY_FACTS))
        out[stage] = {"agreement": agreement(images, facts, evaluator, edges),
                      "shuffled": agreement(images, np.roll(facts, 1, axis=0), evaluator,
                                            edges),
                      "frechet_distance": base._json_number(
                          evaluator.evaluate(images).frechet_distance),
                      "diversity": float(np.mean(spread)),
                      "diversity_per_caption": [round(v, 4) for v in spread]}
    ref = []
    for f in DIVERSITY_FACTS:
        mine = evaluator.reference_features[(ref_facts == f).all(axis=1)]
        if len(mine) >= 2:
            ref.append(float(np.sqrt(np.trace(np.cov(mine, rowvar=False)))))
    out["reference"] = {"class_agreement": evaluator.accuracy(),
                        "diversity": float(np.mean(ref)) if ref else None,
                        "diversity_captions_with_2_digits": len(ref)}
    out["captions"] = {"samples": c.eval_samples, "diversity_per_caption": per,
                       "diversity_captions": captions.caption_text(DIVERSITY_FACTS)}
    return out
