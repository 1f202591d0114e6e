"""CycleGAN on thin <-> thick digits (Zhu, Park, Isola & Efros 2017, arXiv 1703.10593;
tinygan.gan.cyclegan): domain A holds the eroded (thin) digits of one half of the training
digits, domain B the dilated (thick) digits of the other half (tinygan.data.tasks.unpaired),
so no digit is ever seen both ways, yet every translation has a right answer to score.

Training: G_AB and G_BA, PatchGAN D_A and D_B, least squares, cycle L1 lambda = 10, the
identity loss 0.5 lambda, the 50-image pool, Adam 2e-4 (0.5, 0.999), as the paper; batch 16
instead of its 1 (a CPU budget buys more digits per step than steps). `cycle=False` is the
paper's ablation without the cycle loss; `identity=False` drops the identity term.

evaluate(exp) translates the evaluator's held-out digits (the judge never trained on them;
`eval_samples` of them) eroded (A) and dilated (B): G_AB(thin) should be the thick version and
G_BA(thick) the thin one. Per direction (a_to_b, b_to_a):

- label_preserved: the judge's label of the translation is the digit's label;
- label_changed: the judge's label of the translation differs from its label of the source,
  and top_substitutions, the commonest (source label, translation label) changes: without
  the cycle loss nothing ties a translation to its source's digit, and labels may silently
  permute while each domain still looks right;
- l1 and frechet_distance (the judge's features) to the true counterparts; the same for the
  untranslated source (`*_source`) is what doing nothing scores;
- cycle_l1: |G_BA(G_AB(a)) - a| (resp. the B cycle), measured whether or not it was trained;
- ink_ratio: total ink of the translations over that of the sources (ink_ratio_truth: of
  the true counterparts), showing the thickness changed.
"""
from __future__ import annotations

import math
import sys
from collections import Counter
from dataclasses import dataclass

import numpy as np

from .. import backend, metrics
from ..creation import manual_seed
from ..data import attributes, tasks
from ..data.digits import sampler
from ..gan import cyclegan as C
from ..optim import Adam
from . import digits as base
from .base import Experiment, ExperimentConfig, param

#: the halves of the training digits are fixed (not the run's seed): the data is part of the
#: experiment, and a resumed run with another seed must see the same domains
SPLIT_SEED = 0


@dataclass(frozen=True)
class CycleGANConfig(ExperimentConfig):
    """CycleGAN on MNIST: thin <-> thick digits from unpaired halves (Zhu et al. 2017)"""
    steps: int = param(2000, "training iterations (one step of both G, one of both D)",
                       minimum=1)
    batch_size: int = param(16, "images of each domain per step (the paper: 1)", minimum=1)
    lr: float = param(2e-4, "Adam learning rate of all four networks", minimum=0)
    betas: tuple[float, float] = param((0.5, 0.999), "Adam's betas")
    cycle: bool = param(True, "the cycle-consistency loss (off: the 'GAN alone' ablation)")
    identity: bool = param(True, "the identity loss |G_AB(b) - b| + |G_BA(a) - a|")
    lambda_cycle: float = param(10.0, "lambda: weight of each cycle L1 term", minimum=0)
    identity_weight: float = param(0.5, "the identity terms' weight, times lambda", minimum=0)
    pool_size: int = param(50, "past fakes D may see again (0: no pool)", minimum=0)
    width: int = param(8, "channels of the first layer of all four networks (x2, x4 deeper)",
                       minimum=1)
    res_blocks: int = param(3, "residual blocks of each generator (at 7x7)", minimum=0)
    d_layers: int = param(2, "stride-2 convolutions of each PatchGAN D (2: 34-pixel patches, "
                             "a 5x5 grid of scores)", minimum=1)
    log_every: int = param(25, "iterations between history records", minimum=1)
    eval_samples: int = param(1500, "held-out digits translated both ways and scored (0: skip "
                                    "the scoring)", minimum=0)
    data_dir: str = param("", "folder with MNIST's t10k files (default: $TINYGAN_DATA_DIR or "
                              "the cache; synthetic digits when absent)")


def build(config: CycleGANConfig, device=None, digits=None) -> Experiment:
    """Both generators and discriminators (N(0, 0.02^2) weights), Adam over each pair, and the
    CycleTrainer on the unpaired halves. digits: default base.load_digits(config.data_dir)."""
    device = backend.resolve_device(device)
    digits = base.load_digits(config.data_dir or None) if digits is None else digits
    split = tasks.unpaired(digits, SPLIT_SEED)
    manual_seed(config.seed)
    G_AB = C.ResnetGenerator(1, config.width, config.res_blocks)
    G_BA = C.ResnetGenerator(1, config.width, config.res_blocks)
    D_A = C.PatchDiscriminator(1, config.width, config.d_layers)
    D_B = C.PatchDiscriminator(1, config.width, config.d_layers)
    C.init_weights(G_AB, G_BA, D_A, D_B)
    for m in (G_AB, G_BA, D_A, D_B):
        m.to(device)
    trainer = C.CycleTrainer(
        G_AB, G_BA, D_A, D_B,
        Adam(G_AB.parameters() + G_BA.parameters(), config.lr, config.betas),
        Adam(D_A.parameters() + D_B.parameters(), config.lr, config.betas),
        sampler(split.a, device), sampler(split.b, device), batch_size=config.batch_size,
        lambda_cycle=config.lambda_cycle, identity_weight=config.identity_weight,
        cycle=config.cycle, identity=config.identity, pool_size=config.pool_size,
        seed=config.seed, device=device, log_every=config.log_every)
    return Experiment("cyclegan", config, device, trainer, G_AB, sys.modules[__name__], None,
                      {"digits": digits, "split": split, "G_BA": G_BA,
                       "discriminators": [D_A, D_B]})


def steps_for_epochs(config: CycleGANConfig, epochs: float) -> int:
    """Iterations that show each domain's half of the training digits `epochs` times."""
    digits = base.load_digits(config.data_dir or None)
    return max(1, math.ceil(epochs * (len(digits.images) // 2) / config.batch_size))


# ---------------------------------------------------------------- sampling


def sample(exp: Experiment, n: int, seed=1234, labels=None) -> dict:
    """{"images": G_AB(a), "inputs": a, "cycled": G_BA(G_AB(a))}, each (n, 1, 28, 28) float32,
    for n thin training digits a drawn with `seed`."""
    exp.not_conditional(labels)
    a = exp.parts["split"].a
    rng = np.random.default_rng(seed)
    inputs = a[rng.choice(len(a), n, replace=n > len(a))]
    images = C.translate(exp.generator, inputs)
    return {"images": images, "inputs": inputs,
            "cycled": C.translate(exp.parts["G_BA"], images)}


def draw(exp: Experiment, n=None, seed=1234, labels=None):
    """Six rows of n (default 10): thin A, G_AB(A), G_BA(G_AB(A)); thick B, G_BA(B),
    G_AB(G_BA(B))."""
    from ..viz.images import grid_figure
    exp.not_conditional(labels)
    n = 10 if n is None else n
    out = sample(exp, n, seed)
    b = exp.parts["split"].b
    inputs_b = b[np.random.default_rng(seed + 1).choice(len(b), n, replace=n > len(b))]
    to_a = C.translate(exp.parts["G_BA"], inputs_b)
    rows = [out["inputs"], out["images"], out["cycled"], inputs_b, to_a,
            C.translate(exp.generator, to_a)]
    return grid_figure(np.concatenate(rows), n,
                       f"{exp.name}, iteration {exp.trainer.iteration}: A, G_AB(A), cycle; "
                       "B, G_BA(B), cycle")


# ---------------------------------------------------------------- scoring


def direction(evaluator, source, truth, translated, cycled, labels) -> dict:
    """The scores of one direction (see the module docstring); images (N, 1, 28, 28)."""
    labels = np.asarray(labels).astype(np.int64)
    (p_src, f_src), (p_tr, f_tr), (_, f_truth) = (evaluator.classify(x)
                                                  for x in (source, translated, truth))
    judge_src, judge_tr = p_src.argmax(axis=1), p_tr.argmax(axis=1)
    changed = judge_tr != judge_src
    pairs = Counter(zip(judge_src[changed].tolist(), judge_tr[changed].tolist()))
    n = len(labels)
    ink_src = attributes.ink_mass(source).sum()
    return {"label_preserved": float(np.mean(judge_tr == labels)),
            "label_preserved_source": float(np.mean(judge_src == labels)),
            "label_changed": float(changed.mean()),
            "top_substitutions": [[s, t, round(c / n, 4)] for (s, t), c in
                                  pairs.most_common(3)],
            "l1": float(np.abs(translated - truth).mean()),
            "l1_source": float(np.abs(source - truth).mean()),
            "frechet_distance": base._json_number(metrics.frechet_distance(f_truth, f_tr)),
            "frechet_distance_source": base._json_number(
                metrics.frechet_distance(f_truth, f_src)),
            "cycle_l1": float(np.abs(cycled - source).mean()),
            "ink_ratio": float(attributes.ink_mass(translated).sum() / ink_src),
            "ink_ratio_truth": float(attributes.ink_mass(truth).sum() / ink_src)}


def evaluate(exp: Experiment) -> dict:
    digits, c = exp.parts["digits"], exp.config
    out = {"data": digits.source, "cycle": c.cycle, "identity": c.identity}
    if c.eval_samples <= 0:
        return {**out, "scored": False}
    evaluator = base.make_evaluator(digits, c.data_dir or None)
    k = min(c.eval_samples, len(evaluator.reference_images))
    ref, labels = evaluator.reference_images[:k], np.asarray(evaluator.reference_labels)[:k]
    thin, thick = tasks.erode(ref), tasks.dilate(ref)
    G_AB, G_BA = exp.generator, exp.parts["G_BA"]
    to_b, to_a = C.translate(G_AB, thin), C.translate(G_BA, thick)
    out["a_to_b"] = direction(evaluator, thin, thick, to_b, C.translate(G_BA, to_b), labels)
    out["b_to_a"] = direction(evaluator, thick, thin, to_a, C.translate(G_AB, to_a), labels)
    out["samples"] = k
    return out
