"""CycleGAN (Zhu, Park, Isola & Efros 2017, arXiv 1703.10593): two generators G_AB: A -> B and
G_BA: B -> A trained from unpaired sets, each against a discriminator of its target domain
(D_B judges b vs G_AB(a), D_A judges a vs G_BA(b)), tied together by the cycle losses
|G_BA(G_AB(a)) - a| and |G_AB(G_BA(b)) - b|.

- networks (the paper's appendix, shrunk for 28x28 digits): a ResNet generator (7x7 stem, two
  stride-2 convolutions, residual blocks at 7x7, two transposed convolutions, 7x7 out, tanh;
  instance norm throughout) and a PatchGAN discriminator (stride-2 4x4 convolutions, instance
  norm, LeakyReLU 0.2, a grid of scores, one per overlapping patch). Zero padding stands in for
  the paper's reflection padding (tinygan has no reflection pad; on a black digit background
  the two agree almost everywhere);
- losses (section 4 and the appendix): least squares (D: 1/2 (D(x) - 1)^2 + 1/2 D(G(y))^2,
  G: (D(G(y)) - 1)^2), cycle L1 weighted lambda = 10 both ways, and the identity loss
  0.5 lambda |G_AB(b) - b| + 0.5 lambda |G_BA(a) - a| (the appendix's, for photo tasks);
  `cycle=False` drops the cycle terms (the paper's "GAN alone" ablation);
- the image pool (section 4, after Shrivastava et al. 2017): D learns from a history of 50
  generated images, not only the latest: once the pool is full, each new fake is, with
  probability 1/2, swapped for a random older one, which leaves the pool in its place.

One iteration follows the official code's optimize_parameters: the generators' forward pass,
one Adam step on both generators (D frozen), then one Adam step on both discriminators on
real images and pooled, detached fakes of that same forward pass.
"""
from __future__ import annotations

import numpy as np

from .. import backend, creation, init, nn
from .. import functional as F
from ..nn import utils as nn_utils
from ..ops import concatenate
from ..tensor import Tensor, no_grad
from . import losses
from .trainer import Hook, Trainer, _norm, frozen


# ---------------------------------------------------------------- networks


class ResnetBlock(nn.Module):
    """x + IN(conv(relu(IN(conv(x))))), 3x3 convolutions keeping (N, C, H, W); no ReLU after
    the sum (as the official code's block of that name)."""

    def __init__(self, channels: int):
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, 1, 1), nn.InstanceNorm2d(channels), nn.ReLU(),
            nn.Conv2d(channels, channels, 3, 1, 1), nn.InstanceNorm2d(channels))

    def forward(self, x):
        return x + self.body(x)


class ResnetGenerator(nn.Module):
    """(N, C, H, W) -> (N, C, H, W) in [-1, 1], H and W divisible by 4: the paper's
    c7s1-w, d2w, d4w, R4w x res_blocks, u2w, uw, c7s1-C (its w is 64 and 9 blocks)."""

    def __init__(self, channels: int = 1, width: int = 8, res_blocks: int = 3):
        if res_blocks < 0 or width < 1 or channels < 1:
            raise ValueError(f"ResnetGenerator: channels and width must be >= 1 and res_blocks "
                             f">= 0, got {channels}, {width} and {res_blocks}")
        self.channels, w = channels, width

        def norm_relu(c):
            return [nn.InstanceNorm2d(c), nn.ReLU()]
        self.body = nn.Sequential(
            nn.Conv2d(channels, w, 7, 1, 3), *norm_relu(w),                   # (N, w, 28, 28)
            nn.Conv2d(w, 2 * w, 3, 2, 1), *norm_relu(2 * w),                  # (N, 2w, 14, 14)
            nn.Conv2d(2 * w, 4 * w, 3, 2, 1), *norm_relu(4 * w),              # (N, 4w, 7, 7)
            *[ResnetBlock(4 * w) for _ in range(res_blocks)],                 # (N, 4w, 7, 7)
            nn.ConvTranspose2d(4 * w, 2 * w, 3, 2, 1, 1), *norm_relu(2 * w),  # (N, 2w, 14, 14)
            nn.ConvTranspose2d(2 * w, w, 3, 2, 1, 1), *norm_relu(w),          # (N, w, 28, 28)
            nn.Conv2d(w, channels, 7, 1, 3), nn.Tanh())                       # (N, C, 28, 28)

    def forward(self, x):
        if not isinstance(x, Tensor) or x.ndim != 4 or x.shape[1] != self.channels or \
                x.shape[2] % 4 or x.shape[3] % 4:
            raise ValueError(f"ResnetGenerator: images must be a Tensor (N, {self.channels}, H, "
                             f"W) with H and W divisible by 4, got "
                             f"{getattr(x, 'shape', type(x).__name__)}")
        return self.body(x)


class PatchDiscriminator(nn.Module):
    """(N, C, H, W) -> a grid of scores (N, 1, h, w), one per overlapping patch of
    `receptive_field` pixels: `layers` stride-2 4x4 convolutions (the first without norm), a
    stride-1 one, then a 1-channel 4x4 convolution (the paper's 70x70 PatchGAN has 3 layers;
    with 2, a 28x28 digit gives a 5x5 grid of 34-pixel patches)."""

    def __init__(self, channels: int = 1, width: int = 8, layers: int = 2):
        if layers < 1 or width < 1 or channels < 1:
            raise ValueError(f"PatchDiscriminator: channels, width and layers must be >= 1, got "
                             f"{channels}, {width} and {layers}")
        self.channels, w = channels, width
        act = nn.LeakyReLU(0.2)
        body = [nn.Conv2d(channels, w, 4, 2, 1), act]                         # (N, w, H/2, W/2)
        for i in range(1, layers):                                            # halve again
            body += [nn.Conv2d(w * 2 ** (i - 1), w * 2 ** i, 4, 2, 1),
                     nn.InstanceNorm2d(w * 2 ** i), act]
        c = w * 2 ** (layers - 1)
        body += [nn.Conv2d(c, 2 * c, 4, 1, 1), nn.InstanceNorm2d(2 * c), act,  # side - 1
                 nn.Conv2d(2 * c, 1, 4, 1, 1)]                                # side - 1 again
        self.body = nn.Sequential(*body)
        # walked back from one output score: r -> r * stride + (kernel - stride)
        r = 4 + 3
        for _ in range(layers):
            r = 2 * r + 2
        self.receptive_field = r

    def forward(self, x):
        if not isinstance(x, Tensor) or x.ndim != 4 or x.shape[1] != self.channels:
            raise ValueError(f"PatchDiscriminator: images must be a Tensor (N, {self.channels}, "
                             f"H, W), got {getattr(x, 'shape', type(x).__name__)}")
        return self.body(x)


def init_weights(*modules) -> None:
    """The official init_type 'normal': every convolution's weight from N(0, 0.02^2), biases 0."""
    for m in modules:
        m.apply(init.dcgan_init_)


def translate(generator, images, batch_size: int = 500) -> np.ndarray:
    """generator(images) as a float32 host array, in eval mode, without a graph, in batches."""
    x = np.asarray(backend.to_numpy(images.data if isinstance(images, Tensor) else images),
                   dtype=np.float32)
    if x.ndim != 4 or len(x) == 0:
        raise ValueError(f"translate: images must be (N, C, H, W) with N >= 1, got {x.shape}")
    return nn_utils.predict(generator, x, batch_size)


# ---------------------------------------------------------------- the image pool


class ImagePool:
    """The last `size` generated images D may see again (section 4). query(fakes) returns as
    many: while the pool fills, the fakes themselves (each stored); once it is full, each fake
    with probability 1/2 is returned as it is, otherwise a random stored one is returned and
    the fake takes its place. size 0: the fakes, always. Decisions come from `rng` (a numpy
    Generator or a seed); state_dict holds the stored images and the generator's state."""

    def __init__(self, size: int = 50, rng=None, device=None):
        if not isinstance(size, (int, np.integer)) or isinstance(size, bool) or size < 0:
            raise ValueError(f"ImagePool: size must be an int >= 0 (0: no pool), got {size!r}")
        self.size, self.device = int(size), backend.resolve_device(device)
        self.rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        self.images: list = []

    def query(self, fakes) -> Tensor:
        """fakes (N, ...) Tensor or array -> a detached Tensor (N, ...) for D's step."""
        data = fakes.data if isinstance(fakes, Tensor) else fakes
        if self.size == 0:
            return Tensor(data)
        out = []
        for x in data:
            if len(self.images) < self.size:
                self.images.append(x.copy())
                out.append(x)
            elif self.rng.random() < 0.5:
                i = int(self.rng.integers(self.size))
                out.append(self.images[i])
                self.images[i] = x.copy()
            else:
                out.append(x)
        return Tensor(backend.get_array_module(data).stack(out))

    def __len__(self) -> int:
        return len(self.images)

    def state_dict(self) -> dict:
        stored = np.stack([backend.to_numpy(x) for x in self.images]) if self.images else \
            np.zeros((0,), np.float32)
        return {"images": stored, "rng": self.rng.bit_generator.state}

    def load_state_dict(self, state: dict) -> None:
        stored = np.asarray(state["images"])
        if len(stored) > self.size:
            raise ValueError(f"ImagePool: the state holds {len(stored)} images, more than this "
                             f"pool's size {self.size}")
        self.images = [backend.to_device(x.copy(), self.device) for x in stored]
        self.rng.bit_generator.state = state["rng"]


# ---------------------------------------------------------------- losses


def g_least_squares(scores: Tensor) -> Tensor:
    """The generator's least-squares loss mean (D(G(y)) - 1)^2 (the official MSE against 1,
    not halved: tinygan.gan.losses.g_least_squares is LSGAN's 1/2 of it)."""
    return F.mse(scores, 1.0)


def discriminator_loss(D, real: Tensor, fake: Tensor) -> tuple:
    """(1/2 mean (D(real) - 1)^2 + 1/2 mean D(fake)^2, D(real), D(fake)): real and fake go
    through D as one batch (instance norm treats each image alone: the same as two calls,
    up to rounding)."""
    scores = D(concatenate([real, fake], axis=0))
    m = real.shape[0]
    real_scores, fake_scores = scores[:m], scores[m:]
    return losses.d_least_squares(real_scores, fake_scores), real_scores, fake_scores


def generator_losses(G_AB, G_BA, D_A, D_B, a: Tensor, b: Tensor, lambda_cycle: float = 10.0,
                     identity_weight: float = 0.5, cycle: bool = True,
                     identity: bool = True) -> tuple:
    """(terms, fake_b, fake_a) for one generator step on batches a (domain A) and b (B):
    gan_ab = (D_B(G_AB(a)) - 1)^2 and gan_ba = (D_A(G_BA(b)) - 1)^2 (means over the grid);
    with cycle, cycle_aba = lambda |G_BA(G_AB(a)) - a| and cycle_bab = lambda |G_AB(G_BA(b))
    - b|; with identity, identity_ab = identity_weight lambda |G_AB(b) - b| and identity_ba =
    identity_weight lambda |G_BA(a) - a| (L1 means). terms["total"] is their sum. The
    identity images ride in the same batch as the translations (per-image norm: the
    same as separate calls, up to rounding)."""
    m, n = a.shape[0], b.shape[0]
    if identity:
        out_ab = G_AB(concatenate([a, b], axis=0))              # (m + n, C, H, W)
        out_ba = G_BA(concatenate([b, a], axis=0))
        fake_b, same_b, fake_a, same_a = out_ab[:m], out_ab[m:], out_ba[:n], out_ba[n:]
    else:
        fake_b, fake_a = G_AB(a), G_BA(b)
    terms = {"gan_ab": g_least_squares(D_B(fake_b)), "gan_ba": g_least_squares(D_A(fake_a))}
    if cycle:
        terms["cycle_aba"] = lambda_cycle * F.l1_loss(G_BA(fake_b), a)
        terms["cycle_bab"] = lambda_cycle * F.l1_loss(G_AB(fake_a), b)
    if identity:
        terms["identity_ab"] = identity_weight * lambda_cycle * F.l1_loss(same_b, b)
        terms["identity_ba"] = identity_weight * lambda_cycle * F.l1_loss(same_a, a)
    total = None
    for t in terms.values():
        total = t if total is None else total + t
    terms["total"] = total
    return terms, fake_b, fake_a


# ---------------------------------------------------------------- the trainer


class CycleTrainer(Trainer):
    """Trains G_AB, G_BA against D_A, D_B. A Trainer whose G and D are the pairs
    (nn.Sequential(G_AB, G_BA), nn.Sequential(D_A, D_B); g_optimizer over both generators' and
    d_optimizer over both discriminators' parameters, as the official code), so fit (steps or
    seconds on the wall or CPU clock), iteration, clock, last losses and state_dict are
    Trainer's; step() is CycleGAN's iteration and the state also holds the two image pools.

    data_a(m, rng), data_b(m, rng): batches of each domain (tinygan.data.digits.sampler).
    history adds cycle_loss and identity_loss (weighted, both directions summed; NaN when
    off); d_real / d_fake are the discriminators' mean raw scores (least squares: targets 1
    and 0), not probabilities. hooks get before_step, after_d_step and after_step (an EMA, a
    learning-rate schedule); a loss term hook has no single (real, fake) pair here and is
    refused."""

    HISTORY_KEYS = Trainer.HISTORY_KEYS + ("cycle_loss", "identity_loss")

    def __init__(self, G_AB, G_BA, D_A, D_B, g_optimizer, d_optimizer, data_a, data_b, *,
                 batch_size: int = 16, lambda_cycle: float = 10.0, identity_weight: float = 0.5,
                 cycle: bool = True, identity: bool = True, pool_size: int = 50,
                 seed: int | None = 0, device=None, hooks=(), log_every: int = 10):
        for name, m in (("G_AB", G_AB), ("G_BA", G_BA), ("D_A", D_A), ("D_B", D_B)):
            if not isinstance(m, nn.Module):
                raise TypeError(f"CycleTrainer: {name} must be a tinygan nn.Module, got "
                                f"{type(m).__name__}")
        if not lambda_cycle >= 0 or not identity_weight >= 0:
            raise ValueError(f"CycleTrainer: lambda_cycle and identity_weight must be >= 0, got "
                             f"{lambda_cycle} and {identity_weight}")
        for i, hook in enumerate(hooks):
            if isinstance(hook, Hook) and (type(hook).d_loss is not Hook.d_loss or
                                           type(hook).g_loss is not Hook.g_loss):
                raise TypeError(f"CycleTrainer: hooks[{i}] ({type(hook).__name__}) adds a loss "
                                "term; CycleGAN's losses have no single (real, fake) pair to "
                                "hand it, so only before/after-step hooks are supported")
        super().__init__(nn.Sequential(G_AB, G_BA), nn.Sequential(D_A, D_B), g_optimizer,
                         d_optimizer, data_a, data_b, batch_size=batch_size,
                         seed=seed, device=device, hooks=hooks, log_every=log_every)
        self.G_AB, self.G_BA, self.D_A, self.D_B = G_AB, G_BA, D_A, D_B
        self.data_a, self.data_b = data_a, data_b
        self.lambda_cycle, self.identity_weight = float(lambda_cycle), float(identity_weight)
        self.cycle, self.identity = bool(cycle), bool(identity)
        # the pools decide on the host (no device read per image), from seeds drawn once from
        # the trainer's stream; their generators' states are in state_dict
        seeds = backend.to_numpy(self.rng.integers(0, 2 ** 31 - 1, 2)).tolist()
        self.pool_a = ImagePool(pool_size, int(seeds[0]), self.device)   # of G_BA's fakes
        self.pool_b = ImagePool(pool_size, int(seeds[1]), self.device)   # of G_AB's fakes
        self.last_terms: dict = {}
        self._fakes = None

    def generator_loss(self):
        raise NotImplementedError("CycleTrainer has no single (loss, fake, logits) of one "
                                  "generator: its G step is generator_losses over both")

    def g_step(self) -> Tensor:
        """Both generators' forward pass and one Adam step on them (D frozen); the fakes are
        kept, detached, for the discriminators' step."""
        with creation.using_generator(self.shared_rng, self.device):
            a, b = self.data_a(self.m, self.rng), self.data_b(self.m, self.rng)
            with frozen(self.D):
                terms, fake_b, fake_a = generator_losses(
                    self.G_AB, self.G_BA, self.D_A, self.D_B, a, b, self.lambda_cycle,
                    self.identity_weight, self.cycle, self.identity)
                loss = terms["total"]
                self.g_opt.zero_grad()
                loss.backward()
            self.g_opt.step()
        self._fakes = (a, b, fake_a.detach(), fake_b.detach())
        self._add("g_loss", loss.data, 1)
        self._add("g_grad_norm", _norm([p.grad.data for p in self.g_opt.params
                                        if p.grad is not None]), 1)
        if self.cycle:
            self._add("cycle_loss", terms["cycle_aba"].data + terms["cycle_bab"].data, 1)
        if self.identity:
            self._add("identity_loss", terms["identity_ab"].data + terms["identity_ba"].data, 1)
        self.last_terms, self.last_g_loss = terms, loss
        return loss

    def d_step(self) -> Tensor:
        """One Adam step on both discriminators: real images against pooled fakes (those of
        the last g_step; without one, fresh fakes of the current generators)."""
        with creation.using_generator(self.shared_rng, self.device):
            if self._fakes is None:
                a, b = self.data_a(self.m, self.rng), self.data_b(self.m, self.rng)
                with no_grad():
                    self._fakes = (a, b, self.G_BA(b), self.G_AB(a))
            a, b, fake_a, fake_b = self._fakes
            self._fakes = None
            loss_a, real_a, seen_a = discriminator_loss(self.D_A, a, self.pool_a.query(fake_a))
            loss_b, real_b, seen_b = discriminator_loss(self.D_B, b, self.pool_b.query(fake_b))
            loss = loss_a + loss_b
            self.d_opt.zero_grad()
            loss.backward()
            self.d_opt.step()
        for hook in self.hooks:
            hook.after_d_step(self)
        real = 0.5 * (real_a.data.mean() + real_b.data.mean())
        fake = 0.5 * (seen_a.data.mean() + seen_b.data.mean())
        self._add("d_loss", loss.data, 1)
        self._add("d_real", real, 1)
        self._add("d_fake", fake, 1)
        self._add("d_gap", real - fake, 1)
        self.last_d_loss = loss
        return loss

    def step(self) -> None:
        """One CycleGAN iteration: the generators' step, then the discriminators'."""
        for hook in self.hooks:
            hook.before_step(self)
        self.g_step()
        self.d_step()
        self.iteration += 1
        if self.iteration % self.log_every == 0:
            self._flush()
        for hook in self.hooks:
            hook.after_step(self)

    def state_dict(self) -> dict:
        """Trainer's state (both pairs, both optimizers, the random streams, counters, history)
        and both image pools."""
        return {**super().state_dict(), "pools": {"a": self.pool_a.state_dict(),
                                                  "b": self.pool_b.state_dict()}}

    def load_state_dict(self, state: dict) -> None:
        if "pools" not in state:
            raise ValueError("the state holds no image pools: it was saved from another "
                             "trainer than CycleTrainer")
        super().load_state_dict(state)
        self.pool_a.load_state_dict(state["pools"]["a"])
        self.pool_b.load_state_dict(state["pools"]["b"])
        self._fakes = None

