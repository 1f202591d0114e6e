"""Weight initializers (in place, like torch.nn.init): PyTorch's default uniform, Xavier/Glorot,
He/Kaiming, and the DCGAN normal(0, 0.02). Random numbers come from the device's shared
generator (tg.manual_seed) unless an `rng` is given."""
from __future__ import annotations

import math

from .creation import generator
from .tensor import Tensor


def _fans(t: Tensor):
    """(fan_in, fan_out) of a Linear (out, in) or conv (out, in, kh, kw) weight."""
    if t.ndim < 2:
        raise ValueError(f"fan-in/fan-out need a weight with at least 2 axes, got shape {t.shape}")
    receptive = math.prod(t.shape[2:])
    return t.shape[1] * receptive, t.shape[0] * receptive


def uniform_(t: Tensor, low: float, high: float, rng=None) -> Tensor:
    g = rng if rng is not None else generator(t.device)
    t.data[...] = g.uniform(low, high, t.shape).astype(t.dtype)
    return t


def normal_(t: Tensor, mean: float = 0.0, std: float = 1.0, rng=None) -> Tensor:
    g = rng if rng is not None else generator(t.device)
    t.data[...] = (mean + std * g.standard_normal(t.shape)).astype(t.dtype)
    return t


def zeros_(t: Tensor) -> Tensor:
    t.data[...] = 0
    return t


def ones_(t: Tensor) -> Tensor:
    t.data[...] = 1
    return t


def default_uniform_(t: Tensor, fan_in: int, rng=None) -> Tensor:
    """PyTorch's default for Linear/Conv weights and biases: U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
    return uniform_(t, -bound, bound, rng)


def xavier_uniform_(t: Tensor, gain: float = 1.0, rng=None) -> Tensor:
    """Glorot & Bengio 2010: U(-a, a), a = gain * sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = _fans(t)
    a = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(t, -a, a, rng)


def xavier_normal_(t: Tensor, gain: float = 1.0, rng=None) -> Tensor:
    """Glorot & Bengio 2010: N(0, std^2), std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _fans(t)
    return normal_(t, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), rng)


def kaiming_normal_(t: Tensor, slope: float = 0.0, mode: str = "fan_in", rng=None) -> Tensor:
    """He et al. 2015: N(0, std^2), std = sqrt(2 / ((1 + slope^2) * fan)) for (leaky) ReLU."""
    fan = _fans(t)[0 if mode == "fan_in" else 1]
    return normal_(t, 0.0, math.sqrt(2.0 / ((1 + slope ** 2) * fan)), rng)


def kaiming_uniform_(t: Tensor, slope: float = 0.0, mode: str = "fan_in", rng=None) -> Tensor:
    """He et al. 2015: U(-b, b), b = sqrt(6 / ((1 + slope^2) * fan))."""
    fan = _fans(t)[0 if mode == "fan_in" else 1]
    b = math.sqrt(6.0 / ((1 + slope ** 2) * fan))
    return uniform_(t, -b, b, rng)


def dcgan_normal_(t: Tensor, rng=None) -> Tensor:
    """Radford et al. 2015: every weight from N(0, 0.02^2)."""
    return normal_(t, 0.0, 0.02, rng)
