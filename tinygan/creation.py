"""Making tensors: tg.tensor from data, zeros/ones/full, and seeded random tensors (randn, rand,
truncated_normal) on the default device ($TINYGAN_DEVICE, else the CPU)."""
from __future__ import annotations

import contextlib

import numpy as np

from . import backend
from .tensor import Tensor

_generators: dict = {}


def _resolve(device, dtype):
    return backend.resolve_device(device), np.dtype(np.float32 if dtype is None else dtype)


def tensor(data, requires_grad: bool = False, dtype=None, device=None) -> Tensor:
    """A new leaf tensor holding a copy of `data`. Python floats become float32 (as in PyTorch);
    arrays keep their dtype unless `dtype` is given."""
    if isinstance(data, Tensor):
        data = data.data
    if dtype is None and not hasattr(data, "dtype"):
        probe = np.asarray(data)
        dtype = np.float32 if probe.dtype.kind == "f" else probe.dtype
    device = backend.resolve_device(device)
    array = backend.to_device(data if hasattr(data, "dtype") else np.asarray(data), device)
    array = array.astype(array.dtype if dtype is None else dtype, copy=True)
    return Tensor(array, requires_grad=requires_grad)


def manual_seed(seed: int) -> None:
    """Reseed the generators behind randn/rand on every device (as torch.manual_seed)."""
    _generators.clear()
    _generators["seed"] = seed


@contextlib.contextmanager
def using_generator(gen, device=None):
    """Inside the block, `gen` is the device's shared generator (what randn, rand, the
    initializers and Dropout draw from); the one before is back afterwards. A trainer steps
    inside it, so two runs in one process keep their random streams apart."""
    device = backend.resolve_device(device)
    previous = _generators.get(device)
    _generators[device] = gen
    try:
        yield gen
    finally:
        if previous is None:
            _generators.pop(device, None)
        else:
            _generators[device] = previous


def generator(device=None):
    """The shared random Generator of a device (seeded by manual_seed)."""
    device = backend.resolve_device(device)
    if device not in _generators:
        seed = _generators.get("seed")
        _generators[device] = backend.rng(None if seed is None else [seed, len(device)], device)
    return _generators[device]


def zeros(*shape, dtype=None, device=None, requires_grad=False) -> Tensor:
    return full(_shape(shape), 0, dtype=dtype, device=device, requires_grad=requires_grad)


def ones(*shape, dtype=None, device=None, requires_grad=False) -> Tensor:
    return full(_shape(shape), 1, dtype=dtype, device=device, requires_grad=requires_grad)


def full(shape, value, dtype=None, device=None, requires_grad=False) -> Tensor:
    device, dtype = _resolve(device, dtype)
    return Tensor(backend.xp_for(device).full(_shape((shape,)), value, dtype=dtype), requires_grad)


def zeros_like(x: Tensor, requires_grad=False) -> Tensor:
    return zeros(x.shape, dtype=x.dtype, device=x.device, requires_grad=requires_grad)


def ones_like(x: Tensor, requires_grad=False) -> Tensor:
    return ones(x.shape, dtype=x.dtype, device=x.device, requires_grad=requires_grad)


def randn(*shape, dtype=None, device=None, requires_grad=False, rng=None) -> Tensor:
    """Standard normal samples; `rng` is a Generator of that device, else the shared one."""
    device, dtype = _resolve(device, dtype)
    g = rng if rng is not None else generator(device)
    return Tensor(g.standard_normal(_shape(shape), dtype=dtype), requires_grad)


def rand(*shape, dtype=None, device=None, requires_grad=False, rng=None) -> Tensor:
    """Uniform samples in [0, 1)."""
    device, dtype = _resolve(device, dtype)
    g = rng if rng is not None else generator(device)
    return Tensor(g.random(_shape(shape), dtype=dtype), requires_grad)


def truncated_normal(*shape, threshold: float, dtype=None, device=None, rng=None,
                     max_rounds: int = 1000) -> Tensor:
    """Standard normal samples conditioned on |z| <= threshold: every value beyond it is drawn
    again until none is left (BigGAN's truncation trick, Brock et al. 2019, arXiv 1809.11096).
    Redrawing keeps the shape of the density inside [-t, t]; clipping would pile mass on the
    edges and rescaling would narrow it. `rng`: a Generator of that device (default: shared)."""
    device, dtype = _resolve(device, dtype)
    if not (isinstance(threshold, (int, float, np.floating)) and threshold > 0
            and np.isfinite(threshold)):
        raise ValueError(f"truncated_normal: threshold must be a positive number, got "
                         f"{threshold!r} (BigGAN's sweep uses 2, 1, 0.5, 0.25, ...)")
    g = rng if rng is not None else generator(device)
    z = g.standard_normal(_shape(shape), dtype=dtype)
    for _ in range(max_rounds):
        outside = abs(z) > threshold
        count = int(outside.sum())
        if count == 0:
            return Tensor(z)
        z[outside] = g.standard_normal(count, dtype=dtype)
    raise RuntimeError(f"truncated_normal: values beyond {threshold} remained after "
                       f"{max_rounds} rounds of redrawing")  # pragma: no cover


def _shape(shape) -> tuple:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    shape = tuple(int(n) for n in shape)
    if any(n < 0 for n in shape):
        raise ValueError(f"a shape cannot have negative sizes, got {shape}")
    return shape
