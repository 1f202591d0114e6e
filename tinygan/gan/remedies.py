"""Remedies for mode collapse from the GAN literature, each a small module, loss or trainer hook
that plugs into the Algorithm-1 trainer (tinygan.gan.trainer) without changing its loop:

- MinibatchDiscrimination (Salimans et al. 2016, sec. 3.2): D sees how close each sample is to
  the others in its minibatch, so a collapsed batch is easy to spot.
- FeatureMatching (Salimans et al. 2016, sec. 3.1): G matches the mean of D's features on real
  data instead of fooling D's last layer.
- Packed / pack (PacGAN, Lin et al. 2018): D judges m samples at once, concatenated.
- unrolled_generator_loss / UnrolledTrainer (Metz et al. 2017): G's loss is taken against D
  after k more (simulated) D updates, differentiated through those updates.
- one_sided_label_smoothing (Salimans et al. 2016, sec. 3.4): real targets 1 -> 0.9, fakes stay 0.
- HistoricalAverage (Salimans et al. 2016, sec. 3.3): penalty ||theta - mean of past thetas||^2.
- InstanceNoise + AnnealNoise (Sonderby et al. 2017; Arjovsky & Bottou 2017): Gaussian noise on
  D's inputs, annealed to zero.

The EMA of G's weights, which every toy method evaluates, is a hook of its own
(tinygan.gan.hooks.EMA): not a remedy for collapse, but it sharpens samples at no training cost.
"""
from __future__ import annotations

import contextlib

import numpy as np

from .. import backend, init
from ..functional import bce_with_logits, softplus
from ..nn import Module, Parameter
from ..ops import concatenate
from ..tensor import Tensor, grad, no_grad
from . import losses
from .trainer import Hook, Trainer

__all__ = ["MinibatchDiscrimination", "feature_matching_loss", "FeatureMatching",
           "zero_generator_loss", "pack",
           "Packed", "parameter_slots", "functional_call", "unrolled_generator_loss",
           "one_sided_label_smoothing", "HistoricalAverage", "InstanceNoise", "AnnealNoise",
           "UnrolledTrainer"]


# ---------------------------------------------------------------- minibatch discrimination


class MinibatchDiscrimination(Module):
    """Salimans et al. 2016, sec. 3.2. For features f (N, A) and a learned T (A, B*C):
    M_i = f_i T viewed as (B, C); c_b(i, j) = exp(-||M_ib - M_jb||_1);
    o_b(i) = sum_{j != i} c_b(i, j); output [f_i, o(i)] of shape (N, A + B).

    o(i) is large when other samples in the batch sit close to sample i in the learned
    projection: a collapsed batch of fakes lights it up. The layer is permutation-equivariant
    (shuffle the batch and the outputs shuffle the same way). Cost: O(N^2 B C) per batch;
    group_size=n compares each sample only with the others in its block of n consecutive
    samples (N/n blocks, O(N n B C)), as a smaller minibatch would."""

    def __init__(self, in_features: int, num_kernels: int = 5, kernel_dim: int = 3,
                 init_std: float = 0.1, group_size: int | None = None, rng=None, device=None,
                 dtype=None):
        for name, n in (("in_features", in_features), ("num_kernels", num_kernels),
                        ("kernel_dim", kernel_dim)):
            if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                raise ValueError(f"MinibatchDiscrimination: {name} must be a positive int, "
                                 f"got {n!r}")
        if group_size is not None and (isinstance(group_size, bool) or group_size < 1):
            raise ValueError(f"MinibatchDiscrimination: group_size must be a positive int or "
                             f"None, got {group_size!r}")
        self.in_features, self.num_kernels, self.kernel_dim = in_features, num_kernels, kernel_dim
        self.group_size = group_size
        device = backend.resolve_device(device)
        xp = backend.xp_for(device)
        self.T = Parameter(xp.zeros((in_features, num_kernels * kernel_dim),
                                    dtype=np.float32 if dtype is None else dtype))
        init.normal_(self.T, 0.0, init_std, rng=rng)

    @property
    def out_features(self) -> int:
        return self.in_features + self.num_kernels

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise ValueError(f"MinibatchDiscrimination({self.in_features}, ...) got input of "
                             f"shape {x.shape}: expected (N, {self.in_features})")
        total, b, c = x.shape[0], self.num_kernels, self.kernel_dim
        n = total if self.group_size is None or self.group_size >= total else self.group_size
        if total % n:
            raise ValueError(f"MinibatchDiscrimination: a batch of {total} cannot be cut into "
                             f"groups of {n}; use a batch size that is a multiple of {n}")
        g = total // n
        m = (x @ self.T).reshape(g, n, 1, b, c)                      # (G, n, 1, B, C)
        diff = m - m.reshape(g, 1, n, b, c)                          # (G, n, n, B, C)
        closeness = (-diff.abs().sum(axis=4)).exp()                  # (G, n, n, B)
        # the j = i term is exp(0) = 1 for every sample: drop it so a batch of one says nothing
        o = closeness.sum(axis=2).reshape(total, b) - 1.0            # (N, B)
        return concatenate([x, o], axis=1)                           # (N, A + B)

    def extra_repr(self):
        return (f"in_features={self.in_features}, num_kernels={self.num_kernels}, "
                f"kernel_dim={self.kernel_dim}, group_size={self.group_size}")


# ---------------------------------------------------------------- feature matching


def feature_matching_loss(real_features: Tensor, fake_features: Tensor) -> Tensor:
    """Salimans et al. 2016, Eq. 1 (squared): ||E_x f(x) - E_z f(G(z))||_2^2 over the batch"""
    if real_features.shape[1:] != fake_features.shape[1:]:
        raise ValueError(f"feature_matching_loss: real features {real_features.shape} and fake "
                         f"features {fake_features.shape} must agree after the batch axis")
    d = real_features.mean(axis=0) - fake_features.mean(axis=0)
    return (d * d).sum()


class FeatureMatching(Hook):
    """A trainer hook adding weight * feature_matching_loss(f(x), f(G(z))) to G's loss, f =
    `features(x)` (for tinygan.gan.models.ToyDiscriminator, D.features). Real samples are drawn
    from the trainer's data with its generator, outside the graph. To *replace* G's objective
    as Salimans et al. do, pair it with `zero_generator_loss` (see `objective`)."""

    def __init__(self, features, weight: float = 1.0):
        if not weight > 0:
            raise ValueError(f"FeatureMatching: weight must be positive, got {weight}")
        self.features, self.weight = features, weight

    def g_loss(self, trainer, fake: Tensor, fake_logits: Tensor) -> Tensor:
        real = trainer.data(len(fake), trainer.rng)
        with no_grad():  # D is frozen and x does not depend on G: a constant target
            target = self.features(real)
        return self.weight * feature_matching_loss(target, self.features(fake))

    @staticmethod
    def objective(base="nonsaturating") -> losses.Objective:
        """(base D loss, a zero G loss): G then learns from the feature-matching term alone."""
        d_loss, _ = losses.objective(base) if isinstance(base, str) else base
        return losses.Objective(d_loss, zero_generator_loss)


def zero_generator_loss(fake_logits: Tensor) -> Tensor:
    """0 * sum(logits): no signal from D's output (the graph still reaches G, harmlessly)"""
    return (fake_logits * 0.0).sum()


# ---------------------------------------------------------------- packing (PacGAN)


def pack(x: Tensor, m: int) -> Tensor:
    """(N, d) -> (N/m, m*d): rows m*k .. m*k+m-1 joined into packed sample k (Lin et al. 2018).
    Samples in a batch are i.i.d., so consecutive rows make a fair pack."""
    if isinstance(m, bool) or not isinstance(m, (int, np.integer)) or m < 1:
        raise ValueError(f"pack: m must be a positive int, got {m!r}")
    if x.ndim != 2:
        raise ValueError(f"pack: expected samples of shape (N, d), got {x.shape}")
    n, d = x.shape
    if n % m:
        raise ValueError(f"pack: a batch of {n} samples cannot be cut into packs of {m}; use a "
                         f"batch size that is a multiple of {m}")
    return x.reshape(n // m, m * d)


class Packed(Module):
    """PacGAN's discriminator: D(pack(x, m)); D's input layer must take m*d features. Real
    samples are packed with real ones and fakes with fakes, never mixed."""

    def __init__(self, discriminator: Module, m: int = 2):
        if isinstance(m, bool) or not isinstance(m, (int, np.integer)) or m < 1:
            raise ValueError(f"Packed: m must be a positive int, got {m!r}")
        self.discriminator, self.m = discriminator, m

    def forward(self, x: Tensor) -> Tensor:
        return self.discriminator(pack(x, self.m))                   # (N/m, 1)

    def extra_repr(self):
        return f"m={self.m}"


# ---------------------------------------------------------------- unrolled GAN


def parameter_slots(module: Module) -> list:
    """For each of module.parameters(), the (owner module, attribute name) pairs holding it
    (one pair per place a shared parameter sits)."""
    slots: dict = {}
    for owner in module.modules():
        for name, value in vars(owner).items():
            if isinstance(value, Parameter):
                slots.setdefault(id(value), []).append((owner, name))
    params = module.parameters()
    missing = [i for i, p in enumerate(params) if id(p) not in slots]
    if missing:
        raise ValueError(f"functional_call: parameters {missing} of {type(module).__name__} are "
                         "held in a list or dict; keep each Parameter as a module attribute")
    return [slots[id(p)] for p in params]


@contextlib.contextmanager
def _substituted(module: Module, tensors):
    slots = parameter_slots(module)
    if len(tensors) != len(slots):
        raise ValueError(f"functional_call: {type(module).__name__} has {len(slots)} parameters, "
                         f"got {len(tensors)} tensors")
    saved = [[(owner, name, getattr(owner, name)) for owner, name in where] for where in slots]
    try:
        for where, t in zip(slots, tensors):
            for owner, name in where:
                setattr(owner, name, t)
        yield module
    finally:
        for where in saved:
            for owner, name, p in where:
                setattr(owner, name, p)


def functional_call(module: Module, params, *args):
    """module(*args) computed with `params` (one Tensor per module.parameters(), in order) in
    place of its parameters. The params may be graph nodes (D's weights after simulated
    updates), so gradients flow through them to whatever they were computed from."""
    with _substituted(module, list(params)):
        return module(*args)


def _functional_adam(theta, grads, state, lr, betas, eps):
    """One Adam step written with Tensor ops (so it can be differentiated), starting from the
    optimizer's moments `state` = [(m, v, t)] per parameter (arrays, or None when unstepped).
    The denominator is sqrt(v + eps^2) rather than sqrt(v) + eps: the same step to within eps,
    and its derivative stays finite where v = 0 (a dead unit)."""
    b1, b2 = betas
    new_theta, new_state = [], []
    for w, g, st in zip(theta, grads, state):
        m0, v0, t0 = st if st is not None else (0.0, 0.0, 0)
        m = b1 * _const(m0, w) + (1 - b1) * g
        v = b2 * _const(v0, w) + (1 - b2) * g * g
        t = t0 + 1
        step = (lr / (1 - b1 ** t)) * m / ((v / (1 - b2 ** t) + eps * eps).sqrt())
        new_theta.append(w - step)
        new_state.append((m, v, t))
    return new_theta, new_state


def _const(a, like: Tensor):
    return a if isinstance(a, Tensor) else Tensor(backend.get_array_module(like.data).asarray(
        a, dtype=like.dtype))


def _adam_state(optimizer, params):
    """[(m, v, t)] for each parameter from a tinygan Adam (None for a parameter never stepped)."""
    by_id = {id(p): s for p, s in zip(optimizer.params, optimizer.state)}
    out = []
    for p in params:
        s = by_id.get(id(p), {})
        out.append((s["m"], s["v"], s["t"]) if "m" in s else None)
    return out


def unrolled_generator_loss(G: Module, D: Module, d_loss_fn, g_loss_fn, real_batches,
                            noise_batches, g_noise: Tensor, lr: float, update: str = "sgd",
                            d_state=None, betas=(0.5, 0.999), eps: float = 1e-8,
                            create_graph: bool = True) -> Tensor:
    """Metz et al. 2017, Eq. 6-7: f_K(theta_G) = g_loss(D_{theta_K}(G(z))), where theta_0 = D's
    weights now and theta_{k+1} = theta_k - lr * step(d/dtheta d_loss(D_theta(x_k),
    D_theta(G(z_k)))) for each (x_k, z_k) in zip(real_batches, noise_batches).

    With create_graph=True the D updates stay in the graph, so d f_K / d theta_G includes how G
    steers D's next K moves (the term that discourages collapse). With create_graph=False, or
    K = 0, it is the ordinary generator loss at theta_K. update is "sgd" (step = gradient) or
    "adam" (the Adam step, continued from d_state = [(m, v, t)] per parameter, e.g. the D
    optimizer's moments). D's own parameters and .grad are left untouched: theta_0 are fresh
    leaves holding copies of D's weights."""
    if update not in ("sgd", "adam"):
        raise ValueError(f"unrolled_generator_loss: update must be 'sgd' or 'adam', got {update!r}")
    theta = [Tensor(p.data, requires_grad=True) for p in D.parameters()]
    state = list(d_state) if d_state is not None else [None] * len(theta)
    for real, z in zip(real_batches, noise_batches):
        fake = G(z)
        loss = d_loss_fn(functional_call(D, theta, real), functional_call(D, theta, fake))
        grads = grad(loss, theta, create_graph=create_graph, allow_unused=True)
        grads = [g if g is not None else _const(0.0, t) * t for g, t in zip(grads, theta)]
        if update == "sgd":
            theta = [t - lr * g for t, g in zip(theta, grads)]
        else:
            theta, state = _functional_adam(theta, grads, state, lr, betas, eps)
        if not create_graph:  # first-order: theta_k is a constant as far as G is concerned
            theta = [Tensor(t.data, requires_grad=True) for t in theta]
            state = [None if s is None else tuple(_detach(x) for x in s) for s in state]
    return g_loss_fn(functional_call(D, theta, G(g_noise)))


def _detach(x):
    return x.detach() if isinstance(x, Tensor) else x


# ---------------------------------------------------------------- one-sided label smoothing


def one_sided_label_smoothing(real_target: float = 0.9, base="nonsaturating") -> losses.Objective:
    """Salimans et al. 2016, sec. 3.4: D's loss with real targets `real_target` (< 1) and fake
    targets left at 0: BCE(D(x), real_target) + BCE(D(G(z)), 0). Smoothing the fakes too would
    reward D for keeping fakes where there is no data (hence one-sided). G's loss is unchanged."""
    if not 0 < real_target <= 1:
        raise ValueError(f"one_sided_label_smoothing: real_target must lie in (0, 1], "
                         f"got {real_target}")
    _, g_loss = losses.objective(base) if isinstance(base, str) else base

    def d_smoothed(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        """BCE(real, t) + BCE(fake, 0) = E[softplus(r) - t r] + E[softplus(f)]"""
        return bce_with_logits(real_logits, real_target) + softplus(fake_logits).mean()

    return losses.Objective(d_smoothed, g_loss)


# ---------------------------------------------------------------- historical averaging


class HistoricalAverage(Hook):
    """Salimans et al. 2016, sec. 3.3: weight * sum_i ||theta_i - (1/t) sum_{s<=t} theta_i[s]||^2.

    update() folds the current parameters into the running mean (host-side, outside the graph);
    penalty() is the term to add to the player's loss. As a trainer hook it does both for the
    `player` ("discriminator" or "generator") whose parameters it holds, once per step of that
    player, before the step's update. The penalty and its gradient are zero when the parameters
    equal their historical mean."""

    def __init__(self, params, weight: float = 1e-3, player: str = "discriminator"):
        self.params = list(params)
        if not self.params:
            raise ValueError("HistoricalAverage got no parameters")
        if not weight >= 0:
            raise ValueError(f"HistoricalAverage: weight must be non-negative, got {weight}")
        if player not in ("discriminator", "generator"):
            raise ValueError(f"HistoricalAverage: player must be 'discriminator' or 'generator', "
                             f"got {player!r}")
        self.weight, self.player = weight, player
        self.count = 0
        self.average = [p.data.copy() for p in self.params]

    def update(self) -> None:
        """average += (theta - average) / t: the mean of every theta seen so far."""
        self.count += 1
        for avg, p in zip(self.average, self.params):
            avg += (p.data - avg) / self.count

    def penalty(self) -> Tensor:
        """weight * sum ||theta - average||^2"""
        total = None
        for avg, p in zip(self.average, self.params):
            d = p - Tensor(avg)
            term = (d * d).sum()
            total = term if total is None else total + term
        return self.weight * total

    def __call__(self) -> Tensor:
        """update(), then penalty(): the term for this step"""
        self.update()
        return self.penalty()

    def d_loss(self, trainer, *args):
        return self() if self.player == "discriminator" else None

    def g_loss(self, trainer, *args):
        return self() if self.player == "generator" else None

    def state_dict(self) -> dict:
        return {"count": self.count,
                "average": [backend.to_numpy(a).copy() for a in self.average]}

    def load_state_dict(self, state: dict) -> None:
        self.count = int(state["count"])
        device = backend.device_of(self.params[0].data)
        self.average = [backend.to_device(np.array(a, dtype=p.dtype), device)
                        for a, p in zip(state["average"], self.params)]


# ---------------------------------------------------------------- instance noise


class InstanceNoise(Module):
    """D(x + std(t) * eps), eps ~ N(0, I), for every input D sees (real and fake, in D's and
    G's steps), with std(t) = std * max(0, 1 - t / anneal_iterations) annealed linearly to 0
    (Sonderby et al. 2017; Arjovsky & Bottou 2017). Noise blurs both distributions until they
    overlap, so D cannot separate them perfectly and G's gradients stay informative.

    t is set through set_iteration, by the AnnealNoise hook before every iteration. In eval
    mode, or once std(t) = 0, D sees clean inputs."""

    def __init__(self, discriminator: Module, std: float = 0.1, anneal_iterations: int = 1000,
                 seed=None, device=None):
        if not std >= 0:
            raise ValueError(f"InstanceNoise: std must be non-negative, got {std}")
        if anneal_iterations < 1:
            raise ValueError(f"InstanceNoise: anneal_iterations must be >= 1, "
                             f"got {anneal_iterations}")
        self.discriminator, self.std, self.anneal_iterations = discriminator, std, anneal_iterations
        device = backend.resolve_device(device)
        self.rng = backend.rng(seed, device)
        self.iteration = 0

    def std_at(self, iteration: int) -> float:
        return self.std * max(0.0, 1.0 - iteration / self.anneal_iterations)

    @property
    def current_std(self) -> float:
        return self.std_at(self.iteration)

    def set_iteration(self, iteration: int) -> None:
        self.iteration = iteration

    def forward(self, x: Tensor) -> Tensor:
        s = self.current_std
        if self.training and s > 0:
            x = x + Tensor(s * self.rng.standard_normal(x.shape, dtype=x.dtype))
        return self.discriminator(x)

    def extra_repr(self):
        return f"std={self.std}, anneal_iterations={self.anneal_iterations}"


class AnnealNoise(Hook):
    """The trainer hook of an InstanceNoise D: tells it the iteration before every step (so its
    std anneals), and checkpoints its random stream."""

    def __init__(self, noise: InstanceNoise):
        self.noise = noise

    def before_step(self, trainer) -> None:
        self.noise.set_iteration(trainer.iteration)

    def state_dict(self) -> dict:
        return {"rng": self.noise.rng.bit_generator.state, "iteration": self.noise.iteration}

    def load_state_dict(self, state: dict) -> None:
        self.noise.rng.bit_generator.state = state["rng"]
        self.noise.iteration = int(state["iteration"])


# ---------------------------------------------------------------- the unrolled trainer


class UnrolledTrainer(Trainer):
    """The Algorithm-1 Trainer whose generator steps minimize unrolled_generator_loss (Metz et
    al. 2017) with K = unroll_steps simulated D updates ("adam": continuing D's Adam moments at
    D's learning rate, as Metz et al. unroll D's own optimizer; "sgd": plain steps of
    unroll_lr). D's real update stays the ordinary one; so does everything else (objectives,
    hooks, history)."""

    def __init__(self, *args, unroll_steps: int = 5, unroll_update: str = "adam",
                 unroll_lr: float | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if unroll_steps < 0:
            raise ValueError(f"unroll_steps must be >= 0, got {unroll_steps}")
        if unroll_update not in ("sgd", "adam"):
            raise ValueError(f"unroll_update must be 'sgd' or 'adam', got {unroll_update!r}")
        if unroll_update == "adam" and unroll_steps and not hasattr(self.d_opt, "betas"):
            raise ValueError("unroll_update='adam' needs an Adam discriminator optimizer")
        self.unroll_steps, self.unroll_update, self.unroll_lr = \
            unroll_steps, unroll_update, unroll_lr

    def generator_loss(self):
        k = self.unroll_steps
        if k == 0:
            return super().generator_loss()
        real = [self.data(self.m, self.rng) for _ in range(k)]
        noise = [self.noise(self.m, self.rng) for _ in range(k)]
        g_noise = self.noise(self.m, self.rng)
        lr = self.d_opt.lr if self.unroll_lr is None else self.unroll_lr
        if self.unroll_update == "adam":
            state = _adam_state(self.d_opt, self.D.parameters())
            betas, eps = self.d_opt.betas, self.d_opt.eps
        else:
            state, betas, eps = None, (0.5, 0.999), 1e-8
        loss = unrolled_generator_loss(self.G, self.D, self.d_loss_fn, self.g_loss_fn, real,
                                       noise, g_noise, lr, self.unroll_update, state, betas, eps,
                                       create_graph=True)
        # what hooks see: G's samples and the logits of D as it is now (not unrolled)
        fake = self.G(g_noise)
        return loss, fake, self.D(fake)
