"""Weight initializers (in place, like torch.nn.init): PyTorch's default uniform, Xavier/Glorot,
He/Kaiming, and the DCGAN normal(0, 0.02). Random numbers come from the device's shared
generator (tg.manual_seed) unless an `rng` (a Generator of that device) is given."""
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


def _fan(t: Tensor, mode: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan = _fans(t)[0 if mode == "fan_in" else 1]
    if fan == 0:
        raise ValueError(f"cannot initialise a weight of shape {t.shape}: its {mode} is 0")
    return fan


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The factor that keeps activations' variance steady through a layer, as PyTorch's table:
    1 for linear/sigmoid, 5/3 for tanh, sqrt(2) for relu, sqrt(2/(1+slope^2)) for leaky_relu."""
    if nonlinearity in ("linear", "identity", "conv1d", "conv2d", "conv_transpose2d", "sigmoid"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        return math.sqrt(2.0 / (1 + slope ** 2))
    raise ValueError(f"unknown nonlinearity {nonlinearity!r}: expected linear, sigmoid, tanh, "
                     "relu or leaky_relu")


def uniform_(t: Tensor, low: float = 0.0, high: float = 1.0, rng=None) -> Tensor:
    """Fill with U(low, high) samples."""
    if not low <= high:
        raise ValueError(f"uniform_: low must not exceed high, got low={low}, high={high}")
    g = rng if rng is not None else generator(t.device)
    t.data[...] = (low + (high - low) * g.random(t.shape)).astype(t.dtype)
    return t


def normal_(t: Tensor, mean: float = 0.0, std: float = 1.0, rng=None) -> Tensor:
    """Fill with N(mean, std^2) samples."""
    if not std >= 0:
        raise ValueError(f"normal_: std must be non-negative, got {std}")
    g = rng if rng is not None else generator(t.device)
    t.data[...] = (mean + std * g.standard_normal(t.shape)).astype(t.dtype)
    return t


def constant_(t: Tensor, value: float) -> Tensor:
    t.data[...] = value
    return t


def zeros_(t: Tensor) -> Tensor:
    return constant_(t, 0)


def ones_(t: Tensor) -> Tensor:
    return constant_(t, 1)


def default_uniform_(t: Tensor, fan_in: int, rng=None) -> Tensor:
    """PyTorch's default for Linear/Conv weights and biases: U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    (its kaiming_uniform_ with a = sqrt(5) works out to the same bound for weights)."""
    bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
    return uniform_(t, -bound, bound, rng)


def default_init_(model, rng=None):
    """Redraw every Linear of `model`, in order (weight, then bias), from PyTorch's default
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)): with a seeded rng the starting weights depend on that
    rng alone."""
    for m in model.modules():
        if hasattr(m, "in_features") and isinstance(getattr(m, "weight", None), Tensor):
            default_uniform_(m.weight, m.in_features, rng=rng)
            if isinstance(m.bias, Tensor):
                default_uniform_(m.bias, m.in_features, rng=rng)
    return model


def xavier_uniform_(t: Tensor, gain: float = 1.0, rng=None) -> Tensor:
    """Glorot & Bengio 2010: U(-a, a), a = gain * sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = _fans(t)
    a = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(t, -a, a, rng)


def xavier_normal_(t: Tensor, gain: float = 1.0, rng=None) -> Tensor:
    """Glorot & Bengio 2010: N(0, std^2), std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _fans(t)
    return normal_(t, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), rng)


def kaiming_normal_(t: Tensor, slope: float = 0.0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu", rng=None) -> Tensor:
    """He et al. 2015: N(0, std^2), std = gain / sqrt(fan); for (leaky) ReLU
    gain = sqrt(2 / (1 + slope^2))."""
    std = calculate_gain(nonlinearity, slope) / math.sqrt(_fan(t, mode))
    return normal_(t, 0.0, std, rng)


def kaiming_uniform_(t: Tensor, slope: float = 0.0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu", rng=None) -> Tensor:
    """He et al. 2015: U(-b, b), b = gain * sqrt(3 / fan) (the same variance as kaiming_normal_)."""
    b = calculate_gain(nonlinearity, slope) * math.sqrt(3.0 / _fan(t, mode))
    return uniform_(t, -b, b, rng)


def dcgan_normal_(t: Tensor, rng=None) -> Tensor:
    """Radford et al. 2015: every weight from N(0, 0.02^2)."""
    return normal_(t, 0.0, 0.02, rng)


def dcgan_init_(module, rng=None):
    """DCGAN's scheme for one module, meant for `model.apply(init.dcgan_init_)`: weights with 2+
    axes (Linear, conv) from N(0, 0.02^2); 1-axis weights (batch norm scales) from
    N(1, 0.02^2); biases 0 (as the PyTorch DCGAN example)."""
    weight, bias = getattr(module, "weight", None), getattr(module, "bias", None)
    if isinstance(weight, Tensor):
        normal_(weight, 0.0 if weight.ndim >= 2 else 1.0, 0.02, rng)
    if isinstance(bias, Tensor):
        zeros_(bias)
    return module
