"""Optimizers that update parameters in place from their .grad, step for step as PyTorch's.
They work on raw arrays: the update itself is never differentiated."""
from __future__ import annotations

from . import backend


class Optimizer:
    def __init__(self, params, lr: float):
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{type(self).__name__} got an empty parameter list")
        if lr <= 0:
            raise ValueError(f"learning rate must be positive, got lr={lr}")
        self.lr = lr
        self.state = [{} for _ in self.params]
        self.steps = 0

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    def step(self):
        self.steps += 1
        for p, state in zip(self.params, self.state):
            if p.grad is not None:
                self._update(p.data, p.grad.data, state, backend.get_array_module(p.data))

    def _update(self, w, g, state, xp):
        raise NotImplementedError


class SGD(Optimizer):
    """w -= lr * (g + wd*w), with (Nesterov) momentum as torch.optim.SGD."""

    def __init__(self, params, lr: float, momentum: float = 0.0, nesterov: bool = False,
                 weight_decay: float = 0.0):
        super().__init__(params, lr)
        if nesterov and momentum <= 0:
            raise ValueError("Nesterov momentum needs momentum > 0")
        self.momentum, self.nesterov, self.weight_decay = momentum, nesterov, weight_decay

    def _update(self, w, g, state, xp):
        if self.weight_decay:
            g = g + self.weight_decay * w
        if self.momentum:
            buf = state.get("momentum")
            if buf is None:
                buf = state["momentum"] = g.copy()
            else:
                buf *= self.momentum
                buf += g
            g = g + self.momentum * buf if self.nesterov else buf
        w -= self.lr * g


class Adam(Optimizer):
    """Kingma & Ba 2015, as torch.optim.Adam: m, v moving averages of g and g^2, bias-corrected;
    weight_decay adds wd*w to the gradient (L2, not AdamW)."""

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0):
        super().__init__(params, lr)
        if not all(0 <= b < 1 for b in betas):
            raise ValueError(f"Adam betas must lie in [0, 1), got {betas}")
        self.betas, self.eps, self.weight_decay = tuple(betas), eps, weight_decay

    def _update(self, w, g, state, xp):
        b1, b2 = self.betas
        if self.weight_decay:
            g = g + self.weight_decay * w
        if not state:
            state["m"], state["v"], state["t"] = xp.zeros_like(w), xp.zeros_like(w), 0
        state["t"] += 1
        m, v, t = state["m"], state["v"], state["t"]
        m *= b1
        m += (1 - b1) * g
        v *= b2
        v += (1 - b2) * (g * g)
        step = self.lr / (1 - b1 ** t)
        denom = xp.sqrt(v / (1 - b2 ** t))
        denom += self.eps
        w -= step * (m / denom)


class RMSprop(Optimizer):
    """Tieleman & Hinton 2012, as torch.optim.RMSprop: v = a*v + (1-a)*g^2; w -= lr*g/(sqrt(v)+eps)."""

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0):
        super().__init__(params, lr)
        self.alpha, self.eps, self.weight_decay, self.momentum = alpha, eps, weight_decay, momentum

    def _update(self, w, g, state, xp):
        if self.weight_decay:
            g = g + self.weight_decay * w
        if not state:
            state["v"] = xp.zeros_like(w)
        v = state["v"]
        v *= self.alpha
        v += (1 - self.alpha) * (g * g)
        update = g / (xp.sqrt(v) + self.eps)
        if self.momentum:
            buf = state.setdefault("momentum", xp.zeros_like(w))
            buf *= self.momentum
            buf += update
            update = buf
        w -= self.lr * update
