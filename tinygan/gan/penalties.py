"""Making a discriminator a critic: gradient penalties, weight clipping and WGAN's schedule.

    gradient_penalty(D, real, fake)  λ E[(‖∇D(x̂)‖ - 1)²], x̂ = a·real + (1 - a)·fake per sample,
                                     a ~ U(0, 1)  (WGAN-GP: Gulrajani et al. 2017, arXiv 1704.00028)
    r1_penalty(D, real)              γ/2 E[‖∇D(x)‖²] on real data  (Mescheder, Geiger & Nowozin
    r2_penalty(D, fake)              γ/2 E[‖∇D(x)‖²] on fakes       2018, arXiv 1801.04406)

Each takes the gradient with create_graph=True, so the penalty is itself differentiated when the
critic's loss is: a second derivative through the critic. The norms are eps-safe,
sqrt(Σ g² + eps): the gradient of a plain norm at 0 is 0/0. A penalty is per sample, so batch
norm in the critic (which mixes the samples of a batch) breaks it: such a critic is refused
with the reason. The hooks put them, WGAN's weight clipping and its critic schedule into a
Trainer.
"""
from __future__ import annotations

from .. import backend
from ..nn import utils as nn_utils
from ..nn.norm import _BatchNorm
from ..tensor import Tensor, grad, no_grad
from .trainer import Hook

__all__ = ["gradient_penalty", "r1_penalty", "r2_penalty", "check_per_sample", "critic_gap",
           "GradientPenalty", "WeightClipping", "CriticSchedule", "CRITICS", "critic_method"]


def check_per_sample(D, what: str = "a gradient penalty") -> None:
    """Refuse a critic with batch norm in training mode: it mixes the samples of a batch, so
    the gradient of D at one sample depends on the others and a per-sample penalty is not what
    the papers define (Gulrajani et al. 2017, section 4, use layer norm instead)."""
    for m in D.modules():
        if isinstance(m, _BatchNorm) and m.training:
            raise ValueError(
                f"{what} needs a critic that judges each sample alone, but this one has "
                f"{type(m).__name__} in training mode, which normalizes with the batch's "
                "statistics (the gradient at one sample then depends on all the others). Use "
                "nn.LayerNorm or nn.InstanceNorm2d, or no normalization, in the critic "
                "(WGAN-GP, section 4 of arXiv 1704.00028)")


def _squared_norms(g: Tensor) -> Tensor:
    """sum of g² over every axis but the first: one squared norm per sample."""
    return (g * g).sum(axis=tuple(range(1, g.ndim)))


def _input_gradient(D, x: Tensor) -> Tensor:
    """dD/dx for every sample of x (D's outputs summed: each sample's output depends on that
    sample alone), as a differentiable Tensor."""
    out = D(x)
    g, = grad(out.sum(), [x], create_graph=True)
    return g


def _as_input(x) -> Tensor:
    """x's values as a fresh leaf that requires grad (no graph back into G)."""
    data = x.data if isinstance(x, Tensor) else x
    return Tensor(data, requires_grad=True)


def gradient_penalty(D, real, fake, weight: float = 10.0, rng=None, eps: float = 1e-12,
                     one_sided: bool = False):
    """WGAN-GP's λ E[(‖∇D(x̂)‖ - 1)²] on per-sample interpolates between real and fake
    (one a ~ U(0, 1) per sample, from `rng`, a NumPy/CuPy Generator; default: a fresh one).
    one_sided: λ E[max(0, ‖∇D(x̂)‖ - 1)²], which only punishes slopes above 1 (the variant
    Gulrajani et al. mention; it has no barrier at slope 0, see lesson 10)."""
    check_per_sample(D)
    r = real.data if isinstance(real, Tensor) else real
    f = fake.data if isinstance(fake, Tensor) else fake
    if r.shape != f.shape:
        raise ValueError(f"gradient_penalty: real {r.shape} and fake {f.shape} batches must "
                         "have the same shape (one interpolate per pair)")
    rng = backend.rng(None, backend.device_of(r)) if rng is None else rng
    a = rng.random((r.shape[0],) + (1,) * (r.ndim - 1)).astype(r.dtype)
    x_hat = _as_input(a * r + (1 - a) * f)
    excess = (_squared_norms(_input_gradient(D, x_hat)) + eps).sqrt() - 1.0
    if one_sided:
        excess = excess.relu()
    return weight * (excess ** 2).mean()


def _at_samples(D, x, weight: float, what: str):
    """γ/2 E[‖∇D(x)‖²] at the samples x: R1 at real data, R2 at fakes (no square root, so no
    eps is needed)."""
    check_per_sample(D, what)
    return 0.5 * weight * _squared_norms(_input_gradient(D, _as_input(x))).mean()


def r1_penalty(D, real, weight: float = 10.0):
    """R1: γ/2 E[‖∇D(x)‖²] at real data x."""
    return _at_samples(D, real, weight, "the R1 penalty")


def r2_penalty(D, fake, weight: float = 10.0):
    """R2: γ/2 E[‖∇D(x)‖²] at generated samples x."""
    return _at_samples(D, fake, weight, "the R2 penalty")


# ---------------------------------------------------------------- in a Trainer


class GradientPenalty(Hook):
    """Adds a penalty to every critic step's loss: kind "wgan-gp" (on interpolates, drawn
    from the trainer's random stream, so a resumed run continues exactly), "r1" (real) or
    "r2" (fakes), with its weight (λ or γ); one_sided: WGAN-GP's penalty on slopes above 1
    only."""
    KINDS = ("wgan-gp", "r1", "r2")

    def __init__(self, kind: str = "wgan-gp", weight: float = 10.0, one_sided: bool = False):
        if kind not in self.KINDS:
            raise ValueError(f"GradientPenalty: kind must be one of {self.KINDS}, got {kind!r}")
        if not weight >= 0:
            raise ValueError(f"GradientPenalty: weight must be >= 0, got {weight!r}")
        if one_sided and kind != "wgan-gp":
            raise ValueError(f"GradientPenalty: one_sided is WGAN-GP's variant, not {kind!r}'s")
        self.kind, self.weight, self.one_sided = kind, float(weight), bool(one_sided)

    def d_loss(self, trainer, real, fake, real_logits, fake_logits):
        if self.kind == "wgan-gp":
            return gradient_penalty(trainer.D, real, fake, self.weight, rng=trainer.rng,
                                    one_sided=self.one_sided)
        if self.kind == "r1":
            return r1_penalty(trainer.D, real, self.weight)
        return r2_penalty(trainer.D, fake, self.weight)


class WeightClipping(Hook):
    """Clamps the critic's weights to [-c, c] after every critic step (WGAN, Algorithm 1)."""

    def __init__(self, c: float = 0.01):
        if not c > 0:
            raise ValueError(f"WeightClipping: c must be positive, got {c!r}")
        self.c = float(c)

    def after_d_step(self, trainer) -> None:
        nn_utils.clip_weights_(trainer.d_opt.params, self.c)


class CriticSchedule(Hook):
    """WGAN's number of critic steps: `warmup_steps` (100) for the first `warmup` (25)
    generator iterations and every `every`-th (500), else `n_critic` (5) — Arjovsky et al.'s
    reference code, so that the critic is near its optimum when its estimate matters."""

    def __init__(self, n_critic: int = 5, warmup: int = 25, warmup_steps: int = 100,
                 every: int = 500):
        if min(n_critic, warmup_steps, every) < 1 or warmup < 0:
            raise ValueError(f"CriticSchedule: n_critic, warmup_steps and every must be >= 1 "
                             f"and warmup >= 0, got {n_critic}, {warmup_steps}, {every}, "
                             f"{warmup}")
        self.n_critic, self.warmup, self.warmup_steps, self.every = (
            n_critic, warmup, warmup_steps, every)

    def steps_at(self, iteration: int) -> int:
        """Critic steps before generator iteration `iteration` (0-based)."""
        if iteration < self.warmup or iteration % self.every == 0:
            return self.warmup_steps
        return self.n_critic

    def before_step(self, trainer) -> None:
        trainer.k = self.steps_at(trainer.iteration)


#: the critics a toy experiment can ask for, each its one ingredient: WGAN's clipping (Arjovsky
#: et al. 2017, arXiv 1701.07875), WGAN-GP's penalty (Gulrajani et al. 2017, arXiv
#: 1704.00028), SN-GAN's spectral norm with the hinge loss (Miyato et al. 2018, arXiv
#: 1802.05957)
CRITICS = ("wgan", "wgan_gp", "sn_gan")


def critic_method(method: str, D, clip_value: float = 0.01, gp_weight: float = 10.0,
                  seed=None, device=None, one_sided: bool = False):
    """(objective, hooks) that make D the critic of `method` (one of CRITICS); for "sn_gan"
    every Linear and Conv2d layer of D is spectrally normalized in place, each layer's u drawn
    from a generator seeded by `seed`; one_sided: wgan_gp's penalty on slopes above 1 only."""
    if method == "wgan":
        return "wasserstein", [WeightClipping(clip_value)]
    if method == "wgan_gp":
        return "wasserstein", [GradientPenalty("wgan-gp", gp_weight, one_sided)]
    if method == "sn_gan":
        nn_utils.spectral_norm_layers(D, lambda: backend.rng(seed, device))
        return "hinge", []
    raise ValueError(f"critic_method: method must be one of {CRITICS}, got {method!r}")


def critic_gap(D, real, fake) -> float:
    """E[D(real)] - E[D(fake)]: a trained critic's estimate of the Wasserstein-1 distance
    (when D is 1-Lipschitz), as a float."""
    with no_grad():
        means = [float(backend.to_numpy(D(_as_constant(x)).data.mean())) for x in (real, fake)]
    return means[0] - means[1]


def _as_constant(x) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)
