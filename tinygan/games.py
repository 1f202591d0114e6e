"""Two-player gradient dynamics on a differentiable game V(x, y): x minimizes V, y maximizes it.

Every gradient is taken by the engine (`tinygan.grad`), never written by hand, so any V built
from Tensor operations works, scalars or tensors of any shape. Update rules (step size lr = η):

  simultaneous       x' = x - η ∇x V(x, y),         y' = y + η ∇y V(x, y)
  alternating        x' = x - η ∇x V(x, y),         y' = y + η ∇y V(x', y)
  extragradient      look ahead with a simultaneous step to (x½, y½), then step from (x, y)
                     with the gradients taken at (x½, y½) (Korpelevich 1976)
  optimistic         z' = z - 2η F(z) + η F(z_prev), F = (∇x V, -∇y V)
                     (optimistic mirror descent, Daskalakis et al. 2018, "Training GANs with
                     Optimism", ICLR): one gradient per step plus the one from the step before
  negative_momentum  alternating steps with heavy-ball momentum β < 0 (Gidel et al. 2019,
                     "Negative Momentum for Improved Game Dynamics", AISTATS):
                     x' = x - η ∇x V(x, y) + β (x - x_prev), y' = y + η ∇y V(x', y) + β (y - y_prev)
  consensus          x' = x - η ∇x (V + γL), y' = y + η ∇y (V - γL), L = ½‖∇V‖²
                     (Mescheder et al. 2017, "The Numerics of GANs", NeurIPS): needs the gradient
                     of a gradient, hence create_graph=True

Linear analysis: `step_jacobian` differentiates one update step with respect to the state through
higher-order gradients, `field_jacobian` does the same for the vector field v = (-∇x V, ∇y V);
`spectral_radius` tells whether the linearised iteration grows (> 1), orbits (= 1) or shrinks.

The Dirac-GAN of Mescheder, Geiger and Nowozin (2018, "Which Training Methods for GANs do
actually Converge?", ICML) is `dirac_gan`, with an R1 gradient penalty and instance noise,
and as the WGAN critic's game (weight clipping through play's clip_y, or WGAN-GP's penalty).
"""
from __future__ import annotations

import math

import numpy as np

from . import backend
from .creation import tensor, zeros_like
from .functional import clip, log_sigmoid
from .ops import concatenate
from .tensor import Tensor, grad

__all__ = ["METHODS", "xy", "dirac_gan", "partials", "step", "play", "step_jacobian",
           "field_jacobian", "spectral_radius", "distance"]

# method name -> {option: default}; the options each rule accepts
METHODS = {
    "simultaneous": {},
    "alternating": {},
    "extragradient": {},
    "optimistic": {},
    "negative_momentum": {"momentum": -0.5},
    "consensus": {"gamma": 1.0},
}
# rules whose state also holds the previous iterate (x_prev, y_prev)
_WITH_MEMORY = ("optimistic", "negative_momentum")


def xy(x: Tensor, y: Tensor) -> Tensor:
    """The bilinear game V(x, y) = Σ x·y: equilibrium at 0, gradient play circles around it."""
    return (x * y).sum()


def dirac_gan(gamma: float = 0.0, noise_std: float = 0.0, nodes: int = 16,
              loss: str = "gan", gp_weight: float = 0.0, eps: float = 1e-12):
    """V(θ, ψ) of the Dirac-GAN: data at 0, generator θ, discriminator D(x) = ψ x, and
    f(t) = -log(1 + e^-t) (Mescheder et al. 2018, eq. 1 and section 2.2):
        V = E f(D(θ + ε)) + E f(-D(ε')) - (γ/2) E ‖∇x D(ε')‖²,   ε, ε' ~ N(0, noise_std²).
    Without noise V = f(ψθ) + f(0). The R1 penalty is differentiated through the engine
    (create_graph=True); it only depends on ψ, so the game stays zero-sum. The expectations over
    instance noise use Gauss-Hermite quadrature with `nodes` points, so V is deterministic.
    loss="wasserstein": f(t) = t, the WGAN critic's game V = E D(θ + ε) - E D(ε'); gp_weight λ
    subtracts WGAN-GP's λ (sqrt(‖∇x D(x̂)‖² + eps) - 1)² at the interpolate x̂ = θ/2 (D is
    linear, so every interpolate has the same slope ψ). WGAN's clipping is play(clip_y=c)."""
    if loss not in ("gan", "wasserstein"):
        raise ValueError(f"dirac_gan: loss must be 'gan' or 'wasserstein', got {loss!r}")
    if not (math.isfinite(gp_weight) and gp_weight >= 0):
        raise ValueError(f"dirac_gan: gp_weight must be a finite number >= 0, got {gp_weight}")
    f = log_sigmoid if loss == "gan" else (lambda t: t)
    if not (math.isfinite(gamma) and gamma >= 0):
        raise ValueError(f"dirac_gan: gamma (R1 weight) must be a finite number >= 0, got {gamma}")
    if not (math.isfinite(noise_std) and noise_std >= 0):
        raise ValueError(f"dirac_gan: noise_std must be a finite number >= 0, got {noise_std}")
    if noise_std > 0:
        points, weights = np.polynomial.hermite_e.hermegauss(int(nodes))  # weight e^(-t²/2)
        points, weights = noise_std * points, weights / weights.sum()
    else:
        points, weights = np.zeros(1), np.ones(1)

    def value(theta: Tensor, psi: Tensor) -> Tensor:
        xp = backend.get_array_module(theta.data)
        eps = Tensor(xp.asarray(points, dtype=theta.dtype))
        w = Tensor(xp.asarray(weights, dtype=theta.dtype))
        fake = theta + eps                                      # (nodes,) generated samples
        real = Tensor(xp.asarray(points, dtype=theta.dtype), requires_grad=gamma > 0)
        d_real = psi * real
        v = (w * f(psi * fake)).sum() + (w * f(-d_real)).sum()
        if gamma > 0:
            # R1: the discriminator's input gradient on real data, itself differentiable in ψ
            g, = grad(d_real.sum(), [real], create_graph=True)
            v = v - 0.5 * gamma * (w * g * g).sum()
        if gp_weight > 0:
            # WGAN-GP: the slope at an interpolate, taken by the engine like R1's
            x_hat = Tensor((0.5 * theta).detach().data, requires_grad=True)
            g, = grad((psi * x_hat).sum(), [x_hat], create_graph=True)
            v = v - gp_weight * ((g * g + eps).sqrt() - 1.0) ** 2
        return v

    return value


# ---------------------------------------------------------------- checks


def _check(method: str, lr, options: dict) -> dict:
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; valid methods: {', '.join(METHODS)}")
    if isinstance(lr, bool) or not isinstance(lr, (int, float, np.floating, np.integer)) \
            or not math.isfinite(lr) or lr <= 0:
        raise ValueError(f"step size lr must be a finite number > 0, got {lr!r}")
    unknown = set(options) - set(METHODS[method])
    if unknown:
        accepted = ", ".join(METHODS[method]) or "none"
        raise TypeError(f"method {method!r} got unexpected options {sorted(unknown)}; "
                        f"it accepts: {accepted}")
    opts = {**METHODS[method], **options}
    if "momentum" in opts and not (-1 < opts["momentum"] < 1):
        raise ValueError(f"momentum must lie in (-1, 1) (negative for Gidel et al.'s method), "
                         f"got {opts['momentum']}")
    if "gamma" in opts and not (math.isfinite(opts["gamma"]) and opts["gamma"] >= 0):
        raise ValueError(f"consensus weight gamma must be a finite number >= 0, "
                         f"got {opts['gamma']}")
    return opts


def _as_tensor(v, like: Tensor | None = None) -> Tensor:
    """A float tensor holding v (python numbers and arrays become float64)."""
    if isinstance(v, Tensor):
        t = v
    elif like is not None:
        t = tensor(v, dtype=like.dtype, device=like.device)
    else:
        t = tensor(v, dtype=np.float64)
    if t.dtype.kind != "f":
        raise TypeError(f"game states must be floating point, got dtype {t.dtype}")
    return t


# ---------------------------------------------------------------- gradients


def partials(V, x: Tensor, y: Tensor, create_graph: bool = False):
    """(∂V/∂x, ∂V/∂y) at (x, y), as partial derivatives even when x or y were computed from one
    another: the engine differentiates with respect to zero offsets u, w in V(x + u, y + w), so
    a path from y into x (as in the alternating step) is not counted. With create_graph=True
    the results are differentiable functions of x and y."""
    u, w = zeros_like(x, requires_grad=True), zeros_like(y, requires_grad=True)
    value = V(x + u, y + w)
    if not isinstance(value, Tensor) or value.numel() != 1:
        shape = value.shape if isinstance(value, Tensor) else type(value).__name__
        raise ValueError(f"V(x, y) must return a scalar Tensor, got {shape}")
    gx, gy = grad(value, [u, w], create_graph=create_graph, allow_unused=True)
    gx = zeros_like(x) if gx is None else gx
    gy = zeros_like(y) if gy is None else gy
    return gx, gy


def _consensus_partials(V, x, y, gamma, create_graph):
    """(∂(V + γL)/∂x, ∂(V - γL)/∂y) with L = ½‖∇V‖² (Mescheder et al. 2017)."""
    u, w = zeros_like(x, requires_grad=True), zeros_like(y, requires_grad=True)
    gx, gy = grad(V(x + u, y + w), [u, w], create_graph=True, allow_unused=True)
    gx = zeros_like(x) if gx is None else gx
    gy = zeros_like(y) if gy is None else gy
    half_norm = 0.5 * ((gx * gx).sum() + (gy * gy).sum())
    if not half_norm.requires_grad:  # V is at most linear in each player: ∇L = 0
        lx, ly = zeros_like(x), zeros_like(y)
    else:
        lx, ly = grad(half_norm, [u, w], create_graph=create_graph, allow_unused=True)
        lx = zeros_like(x) if lx is None else lx
        ly = zeros_like(y) if ly is None else ly
    if not create_graph:
        gx, gy = gx.detach(), gy.detach()
    return gx + gamma * lx, gy - gamma * ly


# ---------------------------------------------------------------- one step


def _step(V, x, y, memory, method, lr, opts, graph):
    """One update; returns (x', y', memory'). `memory` is None for memoryless rules, else
    (x_prev, y_prev, gx_prev, gy_prev) where the cached gradients may be None."""
    d = lambda a, b: partials(V, a, b, create_graph=graph)  # noqa: E731
    if method == "simultaneous":
        gx, gy = d(x, y)
        return x - lr * gx, y + lr * gy, None
    if method == "alternating":
        gx, _ = d(x, y)
        x1 = x - lr * gx
        _, gy = d(x1, y)       # the second player already sees the first player's move
        return x1, y + lr * gy, None
    if method == "extragradient":
        gx, gy = d(x, y)
        gxh, gyh = d(x - lr * gx, y + lr * gy)   # look ahead, then step from where we were
        return x - lr * gxh, y + lr * gyh, None
    if method == "consensus":
        gx, gy = _consensus_partials(V, x, y, opts["gamma"], graph)
        return x - lr * gx, y + lr * gy, None
    xp, yp, gxp, gyp = memory
    if method == "optimistic":
        gx, gy = d(x, y)
        if gxp is None:        # recompute the previous gradient from the previous iterate
            gxp, gyp = d(xp, yp)
        return (x - 2 * lr * gx + lr * gxp, y + 2 * lr * gy - lr * gyp, (x, y, gx, gy))
    if method == "negative_momentum":
        beta = opts["momentum"]
        gx, _ = d(x, y)
        x1 = x - lr * gx + beta * (x - xp)
        _, gy = d(x1, y)
        return x1, y + lr * gy + beta * (y - yp), (x, y, None, None)
    raise AssertionError(method)  # _check lists the valid methods


def step(V, x, y, method: str = "simultaneous", lr: float = 0.1, memory=None, **options):
    """One update of `method` from (x, y). Returns (x', y', memory'): pass memory' back in on the
    next call (rules with memory start from x_prev = x, y_prev = y when it is None)."""
    opts = _check(method, lr, options)
    x = _as_tensor(x).detach()
    y = _as_tensor(y, like=x).detach()
    if method in _WITH_MEMORY and memory is None:
        memory = (x, y, None, None)
    x1, y1, memory = _step(V, x, y, memory, method, lr, opts, graph=False)
    if memory is not None:
        memory = tuple(None if m is None else m.detach() for m in memory)
    return x1.detach(), y1.detach(), memory


def _flat(tensors):
    return concatenate([t.reshape(-1) for t in tensors])


def play(V, x0, y0, method: str = "simultaneous", lr: float = 0.1, steps: int = 1000,
         clip_y: float | None = None, **options) -> np.ndarray:
    """Run `steps` updates of `method` from (x0, y0). Returns the trajectory as a NumPy array of
    shape (steps + 1, x.size + y.size): row t is the state after t steps, x then y flattened.
    clip_y: clamp y to [-clip_y, clip_y] after every step (WGAN's weight clipping)."""
    opts = _check(method, lr, options)
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"steps must be an integer >= 0, got {steps!r}")
    if clip_y is not None and not (math.isfinite(clip_y) and clip_y > 0):
        raise ValueError(f"clip_y must be a finite number > 0 (or None), got {clip_y!r}")
    x = _as_tensor(x0).detach()
    y = _as_tensor(y0, like=x).detach()
    if x.device != y.device:
        raise TypeError(f"x0 is on {x.device} but y0 is on {y.device}; put both on one device")
    xp = backend.get_array_module(x.data)
    memory = (x, y, None, None) if method in _WITH_MEMORY else None
    rows = [_flat([x, y]).data]
    for _ in range(steps):
        x, y, memory = _step(V, x, y, memory, method, lr, opts, graph=False)
        if clip_y is not None:
            y = clip(y, -clip_y, clip_y).detach()
        rows.append(_flat([x, y]).data)
    return backend.to_numpy(xp.stack(rows))


def distance(trajectory: np.ndarray, point=0.0) -> np.ndarray:
    """Euclidean distance of every state of a trajectory to `point` (the equilibrium)."""
    return np.linalg.norm(np.asarray(trajectory) - point, axis=-1)


# ---------------------------------------------------------------- linear analysis


def _jacobian(outputs: Tensor, inputs) -> np.ndarray:
    """d outputs / d inputs (a flat output, a list of input tensors) row by row: each row is one
    vector-Jacobian product with a unit cotangent."""
    n_in = sum(t.numel() for t in inputs)
    xp = backend.get_array_module(outputs.data)
    rows = []
    for i in range(outputs.numel()):
        if not outputs.requires_grad:
            rows.append(np.zeros(n_in))
            continue
        e = xp.zeros(outputs.shape, dtype=outputs.dtype)
        e[i] = 1
        gs = grad(outputs, inputs, grad_outputs=Tensor(e), allow_unused=True)
        rows.append(np.concatenate([np.zeros(t.numel()) if g is None else g.numpy().reshape(-1)
                                    for g, t in zip(gs, inputs)]))
    return np.stack(rows)


def _leaves(*values, like=None):
    first = _as_tensor(values[0], like)
    return [Tensor(_as_tensor(v, first).data.copy(), requires_grad=True) for v in values]


def step_jacobian(V, x, y, method: str = "simultaneous", lr: float = 0.1, x_prev=None,
                  y_prev=None, **options) -> np.ndarray:
    """Jacobian of one update step of `method` at (x, y), taken by the engine: the step is built
    with create_graph=True and differentiated once more. The state is (x, y), or
    (x, y, x_prev, y_prev) for the rules that remember the previous iterate (optimistic,
    negative_momentum; x_prev, y_prev default to x, y, a fixed point when (x, y) is one)."""
    opts = _check(method, lr, options)
    if method in _WITH_MEMORY:
        x_prev = x if x_prev is None else x_prev
        y_prev = y if y_prev is None else y_prev
        state = _leaves(x, y, x_prev, y_prev)
        x1, y1, _ = _step(V, state[0], state[1], (state[2], state[3], None, None), method, lr,
                          opts, graph=True)
        new = [x1, y1, state[0], state[1]]
    else:
        state = _leaves(x, y)
        x1, y1, _ = _step(V, state[0], state[1], None, method, lr, opts, graph=True)
        new = [x1, y1]
    return _jacobian(_flat(new), state)


def field_jacobian(V, x, y) -> np.ndarray:
    """Jacobian at (x, y) of the gradient vector field v = (-∇x V, ∇y V), the continuous-time
    dynamics ż = v(z) that gradient play discretises (Mescheder et al. 2017, 2018)."""
    x, y = _leaves(x, y)
    gx, gy = partials(V, x, y, create_graph=True)
    return _jacobian(_flat([-gx, gy]), [x, y])


def spectral_radius(matrix) -> float:
    """Largest eigenvalue modulus: the factor by which the linearised iteration z ← J z
    eventually grows (> 1) or shrinks (< 1) per step."""
    return float(np.max(np.abs(np.linalg.eigvals(np.asarray(matrix, dtype=float)))))
