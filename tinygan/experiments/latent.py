"""InfoGAN on digits (Chen et al. 2016, arXiv 1606.03657; tinygan.gan.infogan), lesson 12: the
digit GAN protocol of tinygan.experiments.digits (same data, trainer, EMA, judge) with codes
beside the noise and Q reading them back. Its metrics:

- category_accuracy: G draws 500 digits per category of c1; the judge labels them; the
  categories are matched one to one with the digit classes (metrics.match_clusters, the
  Hungarian method) and the accuracy is the fraction that agrees after the matching;
- info_bound_nats: L_I = ln 10 - CE(Q(c1 | x), c1) on fresh samples (ln 10 = 2.30 at best);
- codes: for each continuous code, a sweep of its value (the others fixed) for 100 noise
  vectors; each pixel attribute of tinygan.data.attributes is measured along the sweep, and the
  attribute with the largest median |Spearman correlation| is the one the code controls.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np

from .. import backend, metrics
from .. import functional as F
from ..creation import manual_seed
from ..data import attributes
from ..data.digits import sampler
from ..gan import infogan, latent
from ..nn.utils import predict
from ..tensor import Tensor, no_grad
from . import digits as base
from .base import Experiment, param
from .digits import DigitsConfig


@dataclass(frozen=True)
class InfoGANConfig(DigitsConfig):
    """InfoGAN on MNIST: a categorical and two continuous codes read back by Q (Chen et al.
    2016)"""
    model: str = param("infogan", "which digit GAN", ("infogan",), cli=False)
    continuous: int = param(2, "continuous codes beside the 10-way categorical one", minimum=0)
    lambda_cat: float = param(1.0, "weight of the categorical code's information loss",
                              minimum=0)
    lambda_cont: float = param(0.1, "weight of the continuous codes' information loss",
                               minimum=0)
    code_prior: str = param("uniform", "the continuous codes' prior", infogan.PRIORS)


def build(config: InfoGANConfig, device=None, digits=None) -> Experiment:
    device = backend.resolve_device(device)
    digits = base.load_digits(config.data_dir or None) if digits is None else digits
    manual_seed(config.seed)
    G, D = infogan.infogan(continuous=config.continuous)

    def packed(device):
        images = np.asarray(digits.images, dtype=np.float32).reshape(len(digits.images), -1)
        rows = np.concatenate([images, np.zeros((len(images), G.code_dim), np.float32)], 1)
        return (infogan.PackedInfoGenerator(G), infogan.PackedInfoDiscriminator(D),
                sampler(rows, device),
                infogan.info_noise(G.z_dim, G.categories, G.continuous, config.code_prior))

    hook = infogan.MutualInformation(G.categories, G.continuous, config.lambda_cat,
                                     config.lambda_cont)
    return base.assemble(config, device, digits, G, D, [hook], module=sys.modules[__name__],
                         packed=packed)


steps_for_epochs = base.steps_for_epochs


def generator_of(exp_or_generator, averaged: bool = False):
    """The experiment's G (or its EMA), or the generator given."""
    if isinstance(exp_or_generator, Experiment):
        exp = exp_or_generator
        if not averaged:
            return exp.generator
        # the averaged weights' batch-norm statistics are re-estimated on inputs like training's
        return exp.ema.averaged(_code_inputs(exp.generator, exp.config.code_prior, exp.device))
    return exp_or_generator


def _code_inputs(G, prior, device):
    noise = infogan.info_noise(G.z_dim, G.categories, G.continuous, prior)

    def inputs(rng):
        return (Tensor(backend.to_device(noise(256, rng).data, device)),)
    return inputs


def codes(n: int, G, categories=None, continuous=None, z=None, seed: int = 1234,
          prior: str = "uniform") -> np.ndarray:
    """G's input [z | one-hot c1 | c2..] (n, z_dim + K + C), float32 host array: given parts
    are used, missing ones drawn from `seed` (categories uniform, continuous codes from the
    prior, z ~ N(0, I))."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, G.z_dim)).astype(np.float32) if z is None else np.asarray(z)
    cats = rng.integers(0, G.categories, n) if categories is None else np.asarray(categories)
    if continuous is None:
        continuous = (rng.uniform(-1, 1, (n, G.continuous)) if prior == "uniform"
                      else rng.standard_normal((n, G.continuous)))
    cont = np.asarray(continuous, dtype=np.float32).reshape(n, G.continuous)
    if z.shape != (n, G.z_dim) or cats.shape != (n,):
        raise ValueError(f"codes: z must be ({n}, {G.z_dim}) and categories ({n},), got "
                         f"{z.shape} and {cats.shape}")
    onehot = np.eye(G.categories, dtype=np.float32)[cats.astype(np.int64)]
    return np.concatenate([z.astype(np.float32), onehot, cont], axis=1)


def generate(G, zc: np.ndarray, batch_size: int = 500) -> np.ndarray:
    """Images (n, 1, 28, 28) float32 for inputs zc (codes()), drawn in eval mode."""
    return predict(G, zc, batch_size)


def category_accuracy(G, evaluator, per_category: int = 500, seed: int = 1234,
                      prior: str = "uniform"):
    """(accuracy after matching, mapping category -> digit, contingency counts)."""
    cats = np.repeat(np.arange(G.categories), per_category)
    images = generate(G, codes(len(cats), G, categories=cats, seed=seed, prior=prior))
    judged = evaluator.classify(images)[0].argmax(axis=1)
    mapping, acc, counts = metrics.match_clusters(cats, judged, G.categories)
    return acc, mapping, counts


def info_bound(exp, n: int = 2000, seed: int = 99) -> float:
    """L_I = ln K - CE(Q(c1 | x), c1) on n fresh samples of the trained G (nats)."""
    G, D = exp.generator, exp.parts["discriminator"]
    zc = codes(n, G, seed=seed, prior=exp.config.code_prior)
    images = generate(G, zc)
    was = D.training
    D.eval()
    try:
        with no_grad():
            logits, _, _ = D.infer(Tensor(backend.to_device(images, exp.device)))
            ce = F.cross_entropy(logits, np.argmax(zc[:, G.z_dim:G.z_dim + G.categories], 1))
    finally:
        D.train(was)
    return infogan.mutual_information_bound(float(ce.item()), G.categories)


def code_sweep(G, code: int, values, n_z: int = 100, seed: int = 7):
    """Images (len(values), n_z, 1, 28, 28) with continuous code `code` set to each value, the
    other codes 0, one category and one z per column."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n_z, G.z_dim)).astype(np.float32)
    cats = rng.integers(0, G.categories, n_z)
    rows = []
    for v in values:
        cont = np.zeros((n_z, G.continuous), np.float32)
        cont[:, code] = v
        rows.append(generate(G, codes(n_z, G, categories=cats, continuous=cont, z=z)))
    return np.stack(rows)


def code_effects(G, values=np.linspace(-1, 1, 11), n_z: int = 100) -> list:
    """For each continuous code: {attribute: median Spearman over n_z sweeps} and the best."""
    out = []
    for j in range(G.continuous):
        sweep = code_sweep(G, j, values, n_z)
        rho = {}
        for name in attributes.ATTRIBUTES:
            fn = getattr(attributes, name)
            per_z = [metrics.spearman(values, fn(sweep[:, i])) for i in range(n_z)]
            rho[name] = float(np.nanmedian(per_z))
        best = max(rho, key=lambda k: abs(rho[k]))
        out.append({"code": j, "spearman": rho, "attribute": best, "best": rho[best]})
    return out


def evaluate(exp: Experiment) -> dict:
    digits, c = exp.parts["digits"], exp.config
    out = {"data": digits.source, "info_bound_nats": info_bound(exp)}
    if c.eval_samples <= 0:
        return out
    evaluator = base.make_evaluator(digits, c.data_dir or None)
    for key, averaged in (("trained", False), ("averaged", True)):
        if averaged and exp.ema is None:
            continue
        G = generator_of(exp, averaged)
        acc, mapping, _ = category_accuracy(G, evaluator, max(1, c.eval_samples // 10),
                                            prior=c.code_prior)
        images = generate(G, codes(c.eval_samples, G, prior=c.code_prior))
        s = evaluator.evaluate(images)
        out[key] = {"category_accuracy": acc, "mapping": mapping.tolist(),
                    "classifier_score": s.classifier_score,
                    "frechet_distance": s.frechet_distance,
                    "codes": code_effects(G) if G.continuous else []}
    return out


def sample(exp: Experiment, n: int, seed=1234, labels=None) -> dict:
    """{"images": (n, 1, 28, 28), "codes": (n, K + C)}: labels, if given, are categories of c1
    (not digits: the category -> digit matching is evaluate's)."""
    G = exp.generator
    zc = codes(n, G, categories=labels, seed=seed, prior=exp.config.code_prior)
    return {"images": generate(G, zc), "codes": zc[:, G.z_dim:]}


def draw(exp: Experiment, n=None, seed=1234, labels=None):
    """Rows: the 10 categories of c1; columns: 10 noise vectors (the paper's Figure 2a)."""
    from ..viz.images import grid_figure
    G = exp.generator
    cats = np.repeat(np.arange(G.categories), 10)
    z = np.tile(np.random.default_rng(seed).standard_normal((10, G.z_dim)), (G.categories, 1))
    images = generate(G, codes(len(cats), G, categories=cats, z=z,
                               continuous=np.zeros((len(cats), G.continuous))))
    return grid_figure(images, 10, f"{exp.name}, iteration {exp.trainer.iteration}: a row per "
                                   "category of c1")


# ---------------------------------------------------------------- latent directions


EDIT_AMOUNTS = np.linspace(-3, 3, 7)   # steps along a unit normal in z (|z| is about 10)


def direction_study(G, evaluator, n: int = 6000, n_edit: int = 200, seed: int = 0,
                    amounts=EDIT_AMOUNTS) -> dict:
    """InterFaceGAN on an unconditional digit generator G(z): n samples z ~ N(0, I); their
    ink mass and slant (data.attributes) and the judge's class probabilities; a boundary per
    attribute and per class (gan.latent.fit_direction, 20 % extremes, a quarter held out);
    then n_edit fresh z edited along each attribute's normal, plainly and conditioned (the
    other attribute projected out; and every class direction projected out). Per edit: the
    median Spearman correlation of the amount with the attribute, and the fraction of edited
    digits (amount != 0) the judge labels differently from the unedited one, over all the
    amounts and at each."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, G.z_dim)).astype(np.float32)
    images = base.generate(G, n, z=z)
    probs = evaluator.classify(images)[0]
    values = attributes.measure(images, ("ink_mass", "slant"))
    dirs = {name: latent.fit_direction(z, v, seed=seed) for name, v in values.items()}
    classes = [latent.fit_direction(z, probs[:, k], seed=seed).normal for k in range(10)]
    z_edit = rng.standard_normal((n_edit, G.z_dim)).astype(np.float32)
    out = {"boundaries": {k: {"train_accuracy": d.train_accuracy,
                              "test_accuracy": d.test_accuracy} for k, d in dirs.items()},
           "edits": {}}
    for name in values:
        other = "slant" if name == "ink_mass" else "ink_mass"
        variants = {"plain": dirs[name].normal,
                    f"without {other}": latent.conditional_direction(dirs[name].normal,
                                                                     dirs[other].normal),
                    "without the classes": latent.conditional_direction(dirs[name].normal,
                                                                        *classes)}
        for kind, normal in variants.items():
            edited = latent.edit(z_edit, normal, amounts)             # (A, n_edit, D)
            imgs = base.generate(G, edited.size // G.z_dim, z=edited.reshape(-1, G.z_dim))
            imgs = imgs.reshape(len(amounts), n_edit, *imgs.shape[1:])
            measured = np.stack([attributes.measure(imgs[a], (name,))[name]
                                 for a in range(len(amounts))])    # (A, n_edit)
            other_measured = np.stack([attributes.measure(imgs[a], (other,))[other]
                                       for a in range(len(amounts))])
            labels = np.stack([evaluator.classify(imgs[a])[0].argmax(1)
                               for a in range(len(amounts))])
            centre = int(np.argmin(np.abs(amounts)))
            flipped = labels != labels[centre]                        # (A, n_edit)
            flips = np.mean(np.delete(flipped, centre, axis=0))
            out["edits"][f"{name}, {kind}"] = {
                "attribute": name, "kind": kind,
                "spearman": float(np.median([metrics.spearman(amounts, measured[:, i])
                                             for i in range(n_edit)])),
                "other_spearman": float(np.nanmedian([metrics.spearman(amounts,
                                                                       other_measured[:, i])
                                                      for i in range(n_edit)])),
                "label_flips": float(flips),
                "label_flips_by_amount": flipped.mean(axis=1).tolist(),
                "mean_attribute": measured.mean(axis=1).tolist()}
    return out
