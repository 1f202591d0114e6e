"""Module, Parameter and Sequential: parameters are found recursively in attributes, lists and
dicts, and state_dict keys match PyTorch's, so weights move both ways."""
from __future__ import annotations

import numpy as np

from .. import backend
from ..tensor import Tensor


class Parameter(Tensor):
    """A tensor that a Module trains: a leaf with requires_grad=True."""

    def __init__(self, data):
        super().__init__(data.data if isinstance(data, Tensor) else data, requires_grad=True)


class Module:
    """Base class: subclasses set attributes in __init__ and define forward()."""
    training = True

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def _named_members(self, prefix=""):
        """(name, value) of every Tensor and sub-Module reachable from attributes."""
        for name, value in vars(self).items():
            yield from _walk(f"{prefix}{name}", value)

    def named_parameters(self, prefix=""):
        return [(n, v) for n, v in self._named_members(prefix) if isinstance(v, Parameter)]

    def parameters(self):
        return [p for _, p in self.named_parameters()]

    def named_buffers(self, prefix=""):
        """Tensors that are state but not trained (BatchNorm's running statistics)."""
        return [(n, v) for n, v in self._named_members(prefix)
                if isinstance(v, Tensor) and not isinstance(v, Parameter)]

    def modules(self):
        yield self
        for value in vars(self).values():
            for _, m in _walk("", value, modules=True):
                yield from m.modules()

    def train(self, mode: bool = True):
        for m in self.modules():
            m.training = mode
        return self

    def eval(self):
        return self.train(False)

    def to(self, device):
        """Move every parameter and buffer to `device` in place; returns self."""
        device = backend.check_device(device)
        for _, t in self.named_parameters() + self.named_buffers():
            t.data = backend.to_device(t.data, device)
            if t.grad is not None:
                t.grad = t.grad.to(device)
        return self

    def zero_grad(self):
        for p in self.parameters():
            p.grad = None

    def state_dict(self) -> dict:
        """name -> host NumPy copy of every parameter and buffer (PyTorch's key names)."""
        return {n: backend.to_numpy(t.data).copy()
                for n, t in self.named_parameters() + self.named_buffers()}

    def load_state_dict(self, state: dict, strict: bool = True):
        """Copy values in; with strict=True, missing, unexpected or mis-shaped keys are an error
        that lists all of them, and nothing is changed."""
        own = dict(self.named_parameters() + self.named_buffers())
        missing = sorted(set(own) - set(state))
        unexpected = sorted(set(state) - set(own))
        wrong = [f"{k}: expected {own[k].shape}, got {tuple(np.shape(state[k]))}"
                 for k in own if k in state and tuple(np.shape(state[k])) != own[k].shape]
        problems = ([f"missing keys {missing}"] if missing and strict else []) + \
                   ([f"unexpected keys {unexpected}"] if unexpected and strict else []) + \
                   ([f"wrong shapes: {'; '.join(wrong)}"] if wrong else [])
        if problems:
            raise ValueError(f"cannot load state into {type(self).__name__}: " + " | ".join(problems))
        for k, t in own.items():
            if k in state:
                value = state[k].data if isinstance(state[k], Tensor) else state[k]
                t.data = backend.to_device(np.asarray(backend.to_numpy(value), dtype=t.dtype),
                                           t.device)
        return self

    def __repr__(self):
        children = [f"  ({n}): {m!r}".replace("\n", "\n  ") for n, m in _children(self)]
        return f"{type(self).__name__}({self.extra_repr()})" if not children else \
            f"{type(self).__name__}(\n" + "\n".join(children) + "\n)"

    def extra_repr(self) -> str:
        return ""


def _walk(name, value, modules=False):
    """Yield (dotted name, item) for Tensors and Modules inside value (recursing into Modules,
    lists, tuples and dicts). With modules=True, yield only the first level of Modules."""
    if isinstance(value, Module):
        if modules:
            yield name, value
        else:
            yield from value._named_members(f"{name}.")
    elif isinstance(value, Tensor) and not modules:
        yield name, value
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from _walk(f"{name}.{i}", item, modules)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(f"{name}.{key}", item, modules)


def _children(module):
    for name, value in vars(module).items():
        yield from _walk(name, value, modules=True)


class Sequential(Module):
    """Apply modules in order. Children are named 0, 1, 2, ... (as PyTorch's keys)."""

    def __init__(self, *modules):
        for i, m in enumerate(modules):
            if not isinstance(m, Module):
                raise TypeError(f"Sequential takes Modules, got {type(m).__name__} at position {i}")
            setattr(self, str(i), m)

    def __iter__(self):
        return iter(m for _, m in _children(self))

    def __len__(self):
        return len(list(_children(self)))

    def __getitem__(self, i):
        return list(self)[i]

    def forward(self, x):
        for m in self:
            x = m(x)
        return x
