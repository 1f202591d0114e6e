"""Optimizers that update parameters in place from their .grad, step for step as PyTorch's
(SGD with momentum/Nesterov, Adam, RMSprop). They work on raw arrays: the update is never
differentiated. Each step writes into preallocated work arrays, so a step allocates nothing new
once the first one has run. state_dict() is a flat dict of host NumPy arrays (ready for an .npz
checkpoint); a loaded optimizer continues exactly where the saved one stopped."""
from __future__ import annotations

import math

import numpy as np

from . import backend
from .tensor import Tensor


def _number(owner, name, value, lo=0.0, hi=math.inf, hi_open=False):
    """A float hyperparameter in [lo, hi] (or [lo, hi) with hi_open), else a clear error."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{owner}: {name} must be a number, got {type(value).__name__} {value!r}")
    value = float(value)
    if not math.isfinite(value) or not (lo <= value and (value < hi if hi_open else value <= hi)):
        bracket = ")" if hi_open else "]"
        raise ValueError(f"{owner}: {name} must lie in [{lo}, {hi}{bracket}, got {value}")
    return value


class Optimizer:
    """Holds a flat list of parameters, one state dict per parameter, and the hyperparameters
    (attributes named in `_hyper`; change them between steps, e.g. `opt.lr = 1e-4`)."""
    _hyper: tuple = ("lr",)

    def __init__(self, params, **hyper):
        name = type(self).__name__
        if isinstance(params, Tensor):
            raise TypeError(f"{name} takes an iterable of parameters (e.g. model.parameters()), "
                            "got a single Tensor; wrap it in a list")
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{name} got an empty parameter list")
        seen = set()
        for i, p in enumerate(self.params):
            if isinstance(p, dict):
                raise TypeError(f"{name}: parameter groups (dicts) are not supported; make one "
                                "optimizer per group of parameters")
            if not isinstance(p, Tensor) or not p.requires_grad or not p.is_leaf:
                raise ValueError(f"{name}: parameter {i} must be a leaf Tensor with "
                                 f"requires_grad=True, got {p!r:.80}")
            if id(p) in seen:
                raise ValueError(f"{name}: parameter {i} (shape {p.shape}) appears twice in the "
                                 "list; it would be updated twice per step")
            seen.add(id(p))
        for key, value in self._validate(hyper).items():
            setattr(self, key, value)
        self.state = [{} for _ in self.params]
        self._work = {}  # scratch arrays, shared by all parameters (updated one at a time)
        self.steps = 0

    def _validate(self, hyper: dict) -> dict:
        """Checked, normalised hyperparameters (raises on a bad one); subclasses extend it."""
        return {"lr": _number(type(self).__name__, "lr", hyper["lr"])}

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    def step(self, closure=None):
        """Update every parameter that has a .grad. With `closure` (a function that recomputes
        the loss and its gradients), call it first and return its loss, as PyTorch does."""
        loss = closure() if closure is not None else None
        self.steps += 1
        for i, (p, state) in enumerate(zip(self.params, self.state)):
            if p.grad is None:
                continue
            w, g = p.data, p.grad.data
            if g.shape != w.shape:
                raise ValueError(f"{type(self).__name__}: parameter {i} has shape {w.shape} but "
                                 f"its .grad has shape {g.shape}")
            xp = backend.get_array_module(w, g)
            _follow(state, w)  # after module.to(device), the state follows its parameter
            self._update(w, g, state, lambda key: _scratch(self._work, key, w), xp)
        return loss

    def _update(self, w, g, state, scratch, xp):
        """Update array w in place from gradient g; scratch(key) is a reusable array like w."""
        raise NotImplementedError

    def _state_spec(self, hyper: dict) -> dict:
        """Keys a parameter's state holds once it has stepped: key -> 'array' (shaped like the
        parameter) or 'count' (an integer scalar)."""
        raise NotImplementedError

    # ------------------------------------------------------------ checkpoints

    def hyperparameters(self) -> dict:
        return {k: getattr(self, k) for k in self._hyper}

    def state_dict(self) -> dict:
        """Flat name -> host NumPy array: 'steps', 'num_params', 'hyper.<name>' and
        'state.<parameter index>.<key>' (copies, so later steps do not change it)."""
        out = {"steps": np.asarray(self.steps, dtype=np.int64),
               "num_params": np.asarray(len(self.params), dtype=np.int64)}
        for k, v in self.hyperparameters().items():
            out[f"hyper.{k}"] = np.asarray(v, dtype=bool if isinstance(v, bool) else np.float64)
        for i, state in enumerate(self.state):
            for k, v in state.items():
                out[f"state.{i}.{k}"] = (backend.to_numpy(v).copy() if hasattr(v, "dtype")
                                         else np.asarray(v, dtype=np.int64))
        return out

    def load_state_dict(self, state: dict):
        """Restore hyperparameters, step counts and per-parameter state from state_dict().
        Everything is checked first; on any problem nothing changes and the error lists them."""
        hyper, per_param = self._check_state(state)
        for k, v in hyper.items():
            setattr(self, k, v)
        self.steps = _count(state["steps"])
        self.state = [{k: (backend.to_device(np.array(v, dtype=p.dtype), p.device)
                           if v.dtype.kind == "f" else int(v)) for k, v in entries.items()}
                      for p, entries in zip(self.params, per_param)]
        return self

    def _check_state(self, state: dict):
        """(hyperparameters, [per-parameter {key: host array}]) from a state_dict, or a
        ValueError listing every problem with it."""
        problems, hyper = [], {}
        top = {"steps", "num_params"} | {f"hyper.{k}" for k in self._hyper}
        missing = sorted(top - set(state))
        if missing:
            problems.append(f"missing keys {missing}")
        for key in ("steps", "num_params"):
            if key in state and _count(state[key]) is None:
                problems.append(f"{key} must be a non-negative integer scalar, got "
                                f"{backend.to_numpy(state[key])!r}")
        n = _count(state.get("num_params", len(self.params)))
        if n is not None and n != len(self.params):
            problems.append(f"saved for {n} parameters, this optimizer has {len(self.params)}")
        if not missing:
            try:
                raw = {k: backend.to_numpy(state[f"hyper.{k}"]) for k in self._hyper}
                hyper = self._validate({k: (bool(v) if v.dtype == bool else
                                            tuple(float(x) for x in v) if v.ndim else float(v))
                                        for k, v in raw.items()})
            except (TypeError, ValueError) as e:
                problems.append(f"bad hyperparameters: {e}")
        per_param, unexpected = [{} for _ in self.params], []
        for key in sorted(set(state) - top):  # 'state.<parameter index>.<key>'
            parts = key.split(".")
            if (len(parts) != 3 or parts[0] != "state" or not parts[1].isdigit()
                    or int(parts[1]) >= len(self.params)):
                unexpected.append(key)
            else:
                per_param[int(parts[1])][parts[2]] = backend.to_numpy(state[key])
        if unexpected:
            problems.append(f"unexpected keys {unexpected}")
        spec = self._state_spec(hyper) if hyper else {}
        for i, (p, entries) in enumerate(zip(self.params, per_param)):
            if not hyper or not entries:
                continue
            if set(entries) != set(spec):
                problems.append(f"state of parameter {i} has keys {sorted(entries)}, "
                                f"expected {sorted(spec)}")
                continue
            for k, v in entries.items():
                array = spec[k] == "array"
                fits = (v.shape == p.shape and v.dtype.kind == "f") if array else \
                    _count(v) is not None
                if not fits:
                    want = f"floats of shape {p.shape}" if array else "an integer scalar"
                    problems.append(f"state.{i}.{k}: expected {want}, got shape "
                                    f"{tuple(v.shape)} of dtype {v.dtype}")
        if problems:
            raise ValueError(f"cannot load state into {type(self).__name__} (nothing was "
                             "changed; is it the state of another optimizer or model?): "
                             + " | ".join(problems))
        return hyper, per_param

    def __repr__(self):
        hyper = ", ".join(f"{k}={v}" for k, v in self.hyperparameters().items())
        return f"{type(self).__name__}({len(self.params)} parameters, {hyper})"


def _count(value):
    """A non-negative integer scalar as an int, or None."""
    a = backend.to_numpy(value)
    return int(a) if a.shape == () and a.dtype.kind in "iu" and int(a) >= 0 else None


def _scratch(work: dict, key: str, like):
    """A reusable C-ordered array shaped like `like`: a view into one flat buffer per key, dtype
    and device, as large as the largest parameter (one buffer, not one per parameter, keeps
    the optimizer's extra memory at one parameter's size)."""
    xp = backend.get_array_module(like)
    tag = (key, like.dtype, xp.__name__)
    buf = work.get(tag)
    if buf is None or buf.size < like.size:
        buf = work[tag] = xp.empty(like.size, dtype=like.dtype)
    return buf[:like.size].reshape(like.shape)


def _follow(state: dict, w) -> None:
    for k, v in state.items():
        if hasattr(v, "dtype") and type(v) is not type(w):
            state[k] = backend.to_device(v, backend.device_of(w))


def _with_weight_decay(w, g, wd, scratch, xp):
    """g + wd * w into a scratch array (p.grad itself is left as the user computed it)."""
    if not wd:
        return g
    d = xp.multiply(w, wd, out=scratch("decayed"))
    d += g
    return d


class SGD(Optimizer):
    """As torch.optim.SGD: d = g + wd*w; with momentum, b = mu*b + (1 - dampening)*d (b = d on
    the first step) and d = b, or d = d + mu*b with Nesterov; then w -= lr*d."""
    _hyper = ("lr", "momentum", "dampening", "weight_decay", "nesterov")

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False):
        super().__init__(params, lr=lr, momentum=momentum, dampening=dampening,
                         weight_decay=weight_decay, nesterov=nesterov)

    def _validate(self, h):
        out = super()._validate(h)
        out["momentum"] = _number("SGD", "momentum", h["momentum"], 0.0, 1.0)
        out["dampening"] = _number("SGD", "dampening", h["dampening"], 0.0, 1.0)
        out["weight_decay"] = _number("SGD", "weight_decay", h["weight_decay"])
        out["nesterov"] = bool(h["nesterov"])
        if out["nesterov"] and (out["momentum"] <= 0 or out["dampening"] != 0):
            raise ValueError("SGD: Nesterov momentum needs momentum > 0 and dampening = 0, got "
                             f"momentum={out['momentum']}, dampening={out['dampening']}")
        return out

    def _state_spec(self, h):
        return {"momentum": "array"} if h["momentum"] else {}

    def _update(self, w, g, state, scratch, xp):
        g = _with_weight_decay(w, g, self.weight_decay, scratch, xp)
        mu = self.momentum
        if mu:
            buf = state.get("momentum")
            if buf is None:
                buf = state["momentum"] = g.copy()
            else:
                buf *= mu
                if self.dampening:
                    buf += xp.multiply(g, 1 - self.dampening, out=scratch("update"))
                else:
                    buf += g
            if self.nesterov:
                ahead = xp.multiply(buf, mu, out=scratch("update"))
                ahead += g
                g = ahead
            else:
                g = buf
        w -= xp.multiply(g, self.lr, out=scratch("update"))


class Adam(Optimizer):
    """Kingma & Ba 2015, as torch.optim.Adam: m, v moving averages of g and g^2 (g + wd*w with
    weight decay, L2 rather than AdamW), w -= lr/(1 - b1^t) * m / (sqrt(v)/sqrt(1 - b2^t) + eps)."""
    _hyper = ("lr", "betas", "eps", "weight_decay")

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)

    def _validate(self, h):
        out = super()._validate(h)
        betas = h["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"Adam: betas must be a pair (beta1, beta2), got {betas!r}")
        out["betas"] = tuple(_number("Adam", f"betas[{i}] (beta{i + 1})", b, 0.0, 1.0,
                                     hi_open=True) for i, b in enumerate(betas))
        out["eps"] = _number("Adam", "eps", h["eps"])
        out["weight_decay"] = _number("Adam", "weight_decay", h["weight_decay"])
        return out

    def _state_spec(self, h):
        return {"m": "array", "v": "array", "t": "count"}

    def _update(self, w, g, state, scratch, xp):
        b1, b2 = self.betas
        g = _with_weight_decay(w, g, self.weight_decay, scratch, xp)
        if not state:
            state["m"], state["v"], state["t"] = xp.zeros_like(w), xp.zeros_like(w), 0
        state["t"] += 1
        t = state["t"]
        # m / (sqrt(v)/c + eps) = c m / (sqrt(v) + c eps) with c = sqrt(1 - b2^t): one pass less
        c = math.sqrt(1 - b2 ** t)
        eps, scale = self.eps * c, self.lr * c / (1 - b1 ** t)
        for w_, g_, m, v, u in _cache_chunks(xp, scratch, w, g, state["m"], state["v"]):
            xp.subtract(g_, m, out=u)  # m += (1 - b1)(g - m): PyTorch's lerp form
            u *= 1 - b1
            m += u
            v *= b2                    # v = b2 v + (1 - b2) g^2
            xp.multiply(g_, g_, out=u)
            u *= 1 - b2
            v += u
            denom = xp.sqrt(v, out=u)
            denom += eps
            step = xp.divide(m, denom, out=u)
            step *= scale
            w_ -= step


#: Bytes of each array an optimizer's elementwise passes work on at once, on the CPU: Adam makes
#: eleven passes over w, g, m, v and a scratch array; on chunks this size all five stay in the
#: core's L2 cache between passes instead of streaming from memory eleven times (measured on a
#: 1.34 M-parameter MLP GAN: ~35 % less Adam time). GPUs take whole arrays (one kernel each).
CACHE_CHUNK_BYTES = 256 * 2**10


def _cache_chunks(xp, scratch, w, g, *state):
    """(w, g, *state, scratch) as matching flat chunks of CACHE_CHUNK_BYTES on the CPU (views:
    updates in place reach w and the state arrays), or whole on other devices and where w or a
    state array is not contiguous. The results are exactly those of whole-array passes (the
    work is elementwise)."""
    if xp is not np or w.nbytes <= CACHE_CHUNK_BYTES or \
            not all(a.flags.c_contiguous for a in (w, *state)):
        yield (w, g, *state, scratch("update"))
        return
    flat = [a.reshape(-1) for a in (w, g, *state)]  # views; g (only read) may be a copy
    step = CACHE_CHUNK_BYTES // w.itemsize
    u = scratch("update").reshape(-1)
    for i in range(0, w.size, step):
        j = min(w.size, i + step)
        yield (*(a[i:j] for a in flat), u[:j - i])


class RMSprop(Optimizer):
    """Tieleman & Hinton 2012, as torch.optim.RMSprop: v = a*v + (1-a)*g^2 (centered: minus the
    squared mean gradient), d = g/(sqrt(v) + eps); with momentum, b = mu*b + d, w -= lr*b,
    else w -= lr*d."""
    _hyper = ("lr", "alpha", "eps", "weight_decay", "momentum", "centered")

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False):
        super().__init__(params, lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                         momentum=momentum, centered=centered)

    def _validate(self, h):
        out = super()._validate(h)
        out["alpha"] = _number("RMSprop", "alpha", h["alpha"], 0.0, 1.0)
        out["eps"] = _number("RMSprop", "eps", h["eps"])
        out["weight_decay"] = _number("RMSprop", "weight_decay", h["weight_decay"])
        out["momentum"] = _number("RMSprop", "momentum", h["momentum"], 0.0, 1.0)
        out["centered"] = bool(h["centered"])
        return out

    def _state_spec(self, h):
        spec = {"v": "array"}
        if h["momentum"]:
            spec["momentum"] = "array"
        if h["centered"]:
            spec["grad_avg"] = "array"
        return spec

    def _update(self, w, g, state, scratch, xp):
        a = self.alpha
        g = _with_weight_decay(w, g, self.weight_decay, scratch, xp)
        if not state:
            state.update({k: xp.zeros_like(w) for k in self._state_spec(self.hyperparameters())})
        v, u = state["v"], scratch("update")
        v *= a                    # v = a v + (1 - a) g^2
        xp.multiply(g, g, out=u)
        u *= 1 - a
        v += u
        if self.centered:
            mean = state["grad_avg"]
            xp.subtract(g, mean, out=u)  # mean += (1 - a)(g - mean)
            u *= 1 - a
            mean += u
            avg = xp.multiply(mean, mean, out=u)
            xp.subtract(v, avg, out=avg)
            xp.sqrt(avg, out=avg)
        else:
            avg = xp.sqrt(v, out=u)
        avg += self.eps
        if self.momentum:
            buf = state["momentum"]
            buf *= self.momentum
            buf += xp.divide(g, avg, out=avg)
            w -= xp.multiply(buf, self.lr, out=u)
        else:
            d = xp.divide(g, avg, out=avg)
            d *= self.lr
            w -= d
