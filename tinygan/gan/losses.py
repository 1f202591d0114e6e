"""GAN objectives, all from the discriminator's logits (never from probabilities), so they are
stable at |logit| = 1000. Each pair is (discriminator loss, generator loss), both minimized;
`objective(name)` looks a pair up by name.

With D(x) = sigmoid(logit): log D = -softplus(-logit) and log(1 - D) = -softplus(logit).

(A third generator loss, g_maximum_likelihood, makes the expected generator gradient that of
maximum likelihood when D is optimal.) The two generator losses of Goodfellow et al. 2014 differ only in how hard they push: with l
the logit of a fake, d/dl log(1 - D) = -sigmoid(l) and d/dl [-log D] = -sigmoid(-l). Both are
negative (both ask for a larger D(G(z))), and their ratio is e^l > 0, so for every sample the
two gradients w.r.t. the generator's output point the same way and vanish at the same points:
the same fixed points. But as D rejects a fake (l -> -inf) the saturating one's factor
sigmoid(l) -> 0 while the non-saturating one's sigmoid(-l) -> 1: only the latter keeps
teaching a generator that is still bad."""
from __future__ import annotations

from typing import Callable, NamedTuple

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
    """Goodfellow et al. 2014's practical G loss -E[log D(G(z))] = E[softplus(-logit)]; per
    sample its gradient is the saturating one's times e^-logit: same fixed points, but strong
    gradients early in training"""
    return softplus(-fake_logits).mean()


def g_maximum_likelihood(fake_logits: Tensor) -> Tensor:
    """Goodfellow 2016 (NIPS tutorial, arXiv 1701.00160, Sec. 3.2.4), without its factor 1/2:
    -E[exp(logit)] = -E[D/(1 - D)]. With D = D*, exp(logit) = p_data/p_g, and G's expected
    gradient is that of KL(p_data || p_g): maximum likelihood. Its gradient -exp(logit) vanishes
    as D rejects fakes and explodes as D accepts them, so a few samples carry the whole step."""
    return -fake_logits.exp().mean()


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


class Objective(NamedTuple):
    """A (discriminator loss, generator loss) pair; unpacks like a tuple."""
    d_loss: Callable[[Tensor, Tensor], Tensor]
    g_loss: Callable[[Tensor], Tensor]


#: name -> (discriminator loss, generator loss)
OBJECTIVES = {
    "minimax": Objective(d_minimax, g_saturating),
    "saturating": Objective(d_minimax, g_saturating),
    "nonsaturating": Objective(d_minimax, g_nonsaturating),
    "maximum_likelihood": Objective(d_minimax, g_maximum_likelihood),
    "least_squares": Objective(d_least_squares, g_least_squares),
    "hinge": Objective(d_hinge, g_hinge),
    "wasserstein": Objective(d_wasserstein, g_wasserstein),
}

#: other spellings people use for the same objectives
ALIASES = {"non_saturating": "nonsaturating", "ns": "nonsaturating", "ml": "maximum_likelihood",
           "lsgan": "least_squares", "ls": "least_squares", "wgan": "wasserstein"}


def objective(name: str) -> Objective:
    """(d_loss, g_loss) for a GAN objective by name; case, '-' and spaces do not matter
    ("non-saturating" = "nonsaturating"), and a few common aliases work (lsgan, wgan)."""
    if not isinstance(name, str):
        raise TypeError(f"objective name must be a string such as 'nonsaturating', got "
                        f"{type(name).__name__} {name!r:.40}")
    key = name.strip().lower().replace("-", "_").replace(" ", "_")
    key = ALIASES.get(key, key)
    if key not in OBJECTIVES:
        raise ValueError(f"unknown GAN objective {name!r}; choose one of {sorted(OBJECTIVES)} "
                         f"(aliases: {sorted(ALIASES)})")
    return OBJECTIVES[key]
