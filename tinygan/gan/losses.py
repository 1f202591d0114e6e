"""GAN objectives, all from the discriminator's logits (never from probabilities), so they are
stable at |logit| = 1000. Each pair is (discriminator loss, generator loss), both minimized.

With D(x) = sigmoid(logit): log D = -softplus(-logit) and log(1 - D) = -softplus(logit)."""
from __future__ import annotations

from ..functional import relu, softplus
from ..tensor import Tensor


def d_minimax(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """Goodfellow et al. 2014, Eq. 1, for D: -E[log D(x)] - E[log(1 - D(G(z)))]"""
    return softplus(-real_logits).mean() + softplus(fake_logits).mean()


def g_saturating(fake_logits: Tensor) -> Tensor:
    """The minimax G loss E[log(1 - D(G(z)))] = -E[softplus(logit)]; its gradient vanishes
    when D confidently rejects fakes (logit -> -inf)"""
    return -softplus(fake_logits).mean()


def g_nonsaturating(fake_logits: Tensor) -> Tensor:
    """Goodfellow et al. 2014's practical G loss -E[log D(G(z))] = E[softplus(-logit)]; same
    fixed points as the saturating loss, strong gradients early in training"""
    return softplus(-fake_logits).mean()


def d_least_squares(real_out: Tensor, fake_out: Tensor) -> Tensor:
    """Mao et al. 2017 (LSGAN), a=0, b=c=1: 1/2 E[(D(x) - 1)^2] + 1/2 E[D(G(z))^2] on raw outputs"""
    return 0.5 * ((real_out - 1) ** 2).mean() + 0.5 * (fake_out ** 2).mean()


def g_least_squares(fake_out: Tensor) -> Tensor:
    """LSGAN generator: 1/2 E[(D(G(z)) - 1)^2]"""
    return 0.5 * ((fake_out - 1) ** 2).mean()


def d_hinge(real_out: Tensor, fake_out: Tensor) -> Tensor:
    """Hinge loss (Lim & Ye 2017; Miyato et al. 2018): E[relu(1 - D(x))] + E[relu(1 + D(G(z)))]"""
    return relu(1 - real_out).mean() + relu(1 + fake_out).mean()


def g_hinge(fake_out: Tensor) -> Tensor:
    """Hinge generator loss: -E[D(G(z))]"""
    return -fake_out.mean()


def d_wasserstein(real_out: Tensor, fake_out: Tensor) -> Tensor:
    """WGAN critic (Arjovsky et al. 2017): E[D(G(z))] - E[D(x)] (needs a Lipschitz critic:
    weight clipping or a gradient penalty)"""
    return fake_out.mean() - real_out.mean()


def g_wasserstein(fake_out: Tensor) -> Tensor:
    """WGAN generator: -E[D(G(z))]"""
    return -fake_out.mean()


#: name -> (discriminator loss, generator loss)
OBJECTIVES = {
    "minimax": (d_minimax, g_saturating),
    "saturating": (d_minimax, g_saturating),
    "nonsaturating": (d_minimax, g_nonsaturating),
    "least_squares": (d_least_squares, g_least_squares),
    "hinge": (d_hinge, g_hinge),
    "wasserstein": (d_wasserstein, g_wasserstein),
}


def objective(name: str):
    """(d_loss, g_loss) for a GAN objective by name."""
    try:
        return OBJECTIVES[name]
    except KeyError:
        raise ValueError(f"unknown GAN objective {name!r}; choose one of "
                         f"{sorted(OBJECTIVES)}") from None
