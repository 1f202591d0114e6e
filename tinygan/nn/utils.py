"""Utilities that change a layer in place, as torch.nn.utils does: spectral normalization
(Miyato, Kataoka, Koyama & Yoshida 2018, arXiv 1802.05957) and weight clipping (WGAN); and
predict, a module applied to a whole array in eval mode, in batches.

    layer = nn.utils.spectral_norm(nn.Linear(784, 512))   # W / sigma(W) in every forward
    nn.utils.clip_weights_(critic.parameters(), 0.01)     # WGAN's clamp, in place

spectral_norm keeps PyTorch's layout: the trained weight becomes the parameter `weight_orig`,
the power iteration's vectors the buffers `weight_u` (out) and `weight_v` (in*k*k), so a
state_dict loads into `torch.nn.utils.spectral_norm` and back. `layer.weight` is then
computed, W_orig / sigma with sigma = u^T W v: in training mode every forward first runs
n_power_iterations steps of v <- W^T u / |W^T u|, u <- W v / |W v| (outside the graph, so only
sigma's dependence on W is differentiated, as in the paper and PyTorch); in eval mode u and v
stay as they are.
"""
from __future__ import annotations

from .. import backend
from ..tensor import Tensor, no_grad
from .conv import Conv1d, Conv2d, Conv3d
from .layers import Linear
from .module import Module, Parameter

__all__ = ["spectral_norm", "spectral_norm_layers", "remove_spectral_norm", "clip_weights_",
           "predict"]

_classes: dict = {}  # layer class -> its spectrally normalized subclass


def _normalize(v, eps: float):
    """v / max(|v|, eps), left on its device (no host sync inside a training forward)."""
    xp = backend.get_array_module(v)
    return v / xp.maximum(xp.linalg.norm(v), eps)


def _matrix(w: Tensor, dim: int) -> Tensor:
    """The weight as a matrix with axis `dim` as its rows: (out, in*k*k) for Linear and Conv
    (dim 0), (out, in*k*k) too for a transposed conv, whose weight is (in, out, k, k) (dim 1)."""
    if dim != 0:
        order = (dim,) + tuple(i for i in range(w.ndim) if i != dim)
        w = w.transpose(*order)
    return w.reshape(w.shape[0], -1)


class _SpectralNorm:
    """Mixed into a layer's class by spectral_norm: `weight` computed, u and v updated before
    each training forward."""

    @property
    def weight(self) -> Tensor:
        w = self.weight_orig
        matrix = _matrix(w, self._sn_dim)
        u = Tensor(self.weight_u.data.reshape(-1, 1))   # constants: sigma's gradient is through
        v = Tensor(self.weight_v.data.reshape(-1, 1))   # W alone
        sigma = (u * (matrix @ v)).sum()
        return w / sigma

    def _sn_power_iteration(self) -> None:
        with no_grad():
            matrix = _matrix(self.weight_orig, self._sn_dim).data
            u, v = self.weight_u.data, self.weight_v.data
            for _ in range(self._sn_iterations):
                v = _normalize(matrix.T @ u, self._sn_eps)
                u = _normalize(matrix @ v, self._sn_eps)
            self.weight_u.data[...] = u
            self.weight_v.data[...] = v

    def forward(self, *args, **kwargs):
        if self.training:
            self._sn_power_iteration()
        return super().forward(*args, **kwargs)


def spectral_norm(module: Module, name: str = "weight", n_power_iterations: int = 1,
                  eps: float = 1e-12, dim: int | None = None, rng=None) -> Module:
    """Spectrally normalize `module`'s weight in place and return the module (as
    torch.nn.utils.spectral_norm). dim: the weight's output axis (default 0; 1 for transposed
    convolutions). u and v start as normalized N(0, 1) draws from `rng` (default: tinygan's
    shared generator)."""
    if not isinstance(module, Module):
        raise TypeError(f"spectral_norm takes a Module (a Linear or Conv layer), got "
                        f"{type(module).__name__}")
    if name != "weight":
        raise ValueError(f"spectral_norm: only name='weight' is supported, got {name!r}")
    if isinstance(module, _SpectralNorm):
        raise ValueError(f"spectral_norm: this {type(module).__name__} is already spectrally "
                         "normalized; call remove_spectral_norm first")
    w = vars(module).get("weight")
    if not isinstance(w, Parameter) or w.ndim < 2:
        raise ValueError(f"spectral_norm: {type(module).__name__} has no weight matrix (a "
                         "Parameter with 2 or more axes named 'weight'); it works on Linear "
                         "and Conv layers")
    if not isinstance(n_power_iterations, int) or n_power_iterations < 1:
        raise ValueError(f"spectral_norm: n_power_iterations must be an int >= 1, got "
                         f"{n_power_iterations!r}")
    if dim is None:
        dim = 1 if type(module).__name__.startswith("ConvTranspose") else 0
    from .. import creation
    matrix = _matrix(w, dim).data
    xp = backend.get_array_module(matrix)
    gen = creation.generator(w.device) if rng is None else rng
    u = _normalize(gen.standard_normal(matrix.shape[0]).astype(matrix.dtype), eps)
    v = _normalize(gen.standard_normal(matrix.shape[1]).astype(matrix.dtype), eps)
    del module.weight  # re-added below as weight_orig: the attribute order is PyTorch's keys'
    module.weight_orig = Parameter(w.data)
    module.weight_u = Tensor(xp.asarray(u))
    module.weight_v = Tensor(xp.asarray(v))
    module._sn_dim, module._sn_iterations, module._sn_eps = dim, n_power_iterations, eps
    cls = type(module)
    if cls not in _classes:
        _classes[cls] = type(cls.__name__, (_SpectralNorm, cls), {"__module__": cls.__module__})
    module.__class__ = _classes[cls]
    return module


def spectral_norm_layers(module: Module, rng=None) -> Module:
    """spectral_norm on every Linear and Conv1d/2d/3d inside `module` (a critic, say), in place;
    rng: one Generator for all of them, or a function called once per layer for that layer's."""
    for layer in [m for m in module.modules() if isinstance(m, (Linear, Conv1d, Conv2d, Conv3d))]:
        spectral_norm(layer, rng=rng() if callable(rng) else rng)
    return module


def remove_spectral_norm(module: Module, name: str = "weight") -> Module:
    """Undo spectral_norm: the current W / sigma becomes the plain parameter `weight` again."""
    if not isinstance(module, _SpectralNorm):
        raise ValueError(f"remove_spectral_norm: this {type(module).__name__} is not spectrally "
                         "normalized")
    with no_grad():
        w = module.weight.data
    for attr in ("weight_orig", "weight_u", "weight_v", "_sn_dim", "_sn_iterations", "_sn_eps"):
        delattr(module, attr)
    module.__class__ = type(module).__mro__[2]  # the layer's own class
    module.weight = Parameter(w)
    return module


def clip_weights_(parameters, c: float) -> None:
    """Clamp every parameter to [-c, c] in place (WGAN's Lipschitz constraint, Arjovsky et al.
    2017, arXiv 1701.07875, Algorithm 1: c = 0.01)."""
    if not c > 0:
        raise ValueError(f"clip_weights_: c must be positive, got {c!r}")
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    for p in parameters:
        xp = backend.get_array_module(p.data)
        xp.clip(p.data, -c, c, out=p.data)


def predict(module: Module, inputs, batch_size: int = 500, call=None):
    """module(inputs) — or call(inputs), e.g. a features method of the module — as a float32
    host array: eval mode (batch norm's running statistics, so each output depends on its own
    input alone), no graph, `batch_size` rows at a time on the module's device; the module's
    training flag is restored afterwards."""
    import numpy as np

    x = backend.to_numpy(inputs.data if isinstance(inputs, Tensor) else inputs)
    x = np.asarray(x, dtype=np.float32)
    if x.ndim < 1 or len(x) == 0 or not batch_size >= 1:
        raise ValueError(f"predict needs a non-empty batch of inputs and batch_size >= 1, got "
                         f"shape {x.shape} and batch_size {batch_size}")
    params = module.parameters()
    device = params[0].device if params else "cpu"
    was = module.training
    module.eval()
    out = []
    try:
        with no_grad():
            for i in range(0, len(x), batch_size):
                out.append((call or module)(Tensor(backend.to_device(x[i:i + batch_size],
                                                                     device))).numpy())
    finally:
        module.train(was)
    return np.concatenate(out).astype(np.float32)
