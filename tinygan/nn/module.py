"""Module, Parameter and Sequential: parameters and buffers are found recursively in attributes,
lists and dicts, and state_dict keys match PyTorch's, so weights move both ways."""
from __future__ import annotations

import numpy as np

from .. import backend
from ..tensor import Tensor


class Parameter(Tensor):
    """A tensor that a Module trains: a leaf with requires_grad=True."""

    def __init__(self, data, requires_grad: bool = True):
        super().__init__(data.data if isinstance(data, Tensor) else data,
                         requires_grad=requires_grad)


class Module:
    """Base class: subclasses set attributes in __init__ and define forward().

    Any Parameter attribute is a parameter; any other Tensor attribute is a buffer (state that is
    saved but not trained, like BatchNorm's running statistics); any Module attribute is a child.
    Lists, tuples and dicts of these are searched too, their items named by index or key."""
    training = True

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    # ------------------------------------------------------------ finding what a module holds

    def _named_members(self, prefix=""):
        """(name, value) of every Tensor reachable from attributes, in attribute order."""
        for name, value in vars(self).items():
            yield from _walk(f"{prefix}{name}", value)

    def named_parameters(self, prefix=""):
        """[(dotted name, Parameter)]; a parameter shared by two layers is listed once."""
        return _unique((n, v) for n, v in self._named_members(prefix) if isinstance(v, Parameter))

    def parameters(self):
        # named_parameters() without building the names: trainers and hooks ask every step
        return _unique_items(t for t in _tensors(self) if isinstance(t, Parameter))

    def named_buffers(self, prefix=""):
        """Tensors that are state but not trained (BatchNorm's running statistics)."""
        return _unique((n, v) for n, v in self._named_members(prefix)
                       if isinstance(v, Tensor) and not isinstance(v, Parameter))

    def buffers(self):
        return _unique_items(t for t in _tensors(self) if not isinstance(t, Parameter))

    def named_children(self):
        """[(name, Module)] one level down (modules inside lists/dicts are named 'list.0')."""
        return _unique(_children(self))

    def children(self):
        return [m for _, m in self.named_children()]

    def named_modules(self, prefix=""):
        """[(dotted name, Module)] for self (named '') and every module below it, each once."""
        found, seen = [], set()

        def visit(name, module):
            if id(module) in seen:
                return
            seen.add(id(module))
            found.append((name, module))
            for child_name, child in _children(module):
                visit(f"{name}.{child_name}" if name else child_name, child)

        visit(prefix, self)
        return found

    def modules(self):
        return [m for _, m in self.named_modules()]

    # ------------------------------------------------------------ modes and devices

    def train(self, mode: bool = True):
        """Set training mode on self and every module below (Dropout, BatchNorm read it)."""
        if not isinstance(mode, bool):
            raise TypeError(f"train(mode) takes a bool, got {type(mode).__name__}")
        for m in self.modules():
            m.training = mode
        return self

    def eval(self):
        return self.train(False)

    def requires_grad_(self, flag: bool = True):
        """Freeze (False) or unfreeze every parameter, e.g. D while the generator steps."""
        for p in self.parameters():
            p.requires_grad_(flag)
        return self

    def apply(self, fn):
        """Call fn(module) on every module below, then on self (as PyTorch; e.g. DCGAN's init)."""
        for m in reversed(self.modules()):
            fn(m)
        return self

    def to(self, device):
        """Move every parameter and buffer (and gradient) to `device` in place; returns self."""
        device = backend.check_device(device)
        for _, t in self._named_members():
            t.data = backend.to_device(t.data, device)
            if t.grad is not None:
                t.grad = t.grad.to(device)
        return self

    def zero_grad(self):
        for p in self.parameters():
            p.grad = None

    # ------------------------------------------------------------ state

    def state_dict(self) -> dict:
        """name -> host NumPy copy of every parameter and buffer (PyTorch's key names)."""
        return {n: backend.to_numpy(t.data).copy() for n, t in self._state_tensors().items()}

    def _state_tensors(self, prefix="") -> dict:
        """Every parameter and buffer by name (a shared tensor under each of its names) in
        PyTorch's order: a module's own parameters, then its own buffers, then its children's."""
        direct = [(f"{prefix}{n}", v) for name, value in vars(self).items()
                  for n, v in _walk(name, value, direct=True)]
        state = {n: t for n, t in direct if isinstance(t, Parameter)}
        state.update((n, t) for n, t in direct if isinstance(t, Tensor) and n not in state)
        for n, m in direct:
            if isinstance(m, Module):
                state.update(m._state_tensors(f"{n}."))
        return state

    def load_state_dict(self, state, strict: bool = True):
        """Copy values in (NumPy arrays, tinygan or CPU torch tensors). Missing or unexpected
        keys (with strict=True), wrong shapes and non-numeric values are an error that lists all
        of them, and then nothing is changed. Values are copied, never shared with `state`."""
        if not hasattr(state, "keys"):
            raise TypeError(f"load_state_dict takes a dict of name -> array, got "
                            f"{type(state).__name__}")
        own = self._state_tensors()
        missing = sorted(set(own) - set(state))
        unexpected = sorted(set(state) - set(own))
        problems = ([f"missing keys {missing}"] if missing and strict else []) + \
                   ([f"unexpected keys {unexpected}"] if unexpected and strict else [])
        values, wrong = {}, []
        for k, t in own.items():
            if k not in state:
                continue
            value = state[k]
            value = backend.to_numpy(value.data if isinstance(value, Tensor) else value)
            if value.dtype.kind not in "biuf":
                wrong.append(f"{k}: values of dtype {value.dtype} are not numbers")
            elif tuple(value.shape) != t.shape:
                wrong.append(f"{k}: expected shape {t.shape}, got {tuple(value.shape)}")
            else:
                values[k] = value
        if wrong:
            problems.append("bad values: " + "; ".join(wrong))
        if problems:
            raise ValueError(f"cannot load state into {type(self).__name__} (nothing was "
                             "changed): " + " | ".join(problems))
        for k, value in values.items():  # all checked: now copy every value in
            t = own[k]
            t.data = backend.to_device(np.array(value, dtype=t.dtype, copy=True), t.device)
        return self

    def __repr__(self):
        children = [f"  ({n}): {m!r}".replace("\n", "\n  ") for n, m in _children(self)]
        return f"{type(self).__name__}({self.extra_repr()})" if not children else \
            f"{type(self).__name__}(\n" + "\n".join(children) + "\n)"

    def extra_repr(self) -> str:
        return ""


def _unique(pairs):
    """Keep the first (name, item) for each item (by identity)."""
    seen, out = set(), []
    for name, item in pairs:
        if id(item) not in seen:
            seen.add(id(item))
            out.append((name, item))
    return out


def _unique_items(items):
    """Keep the first of each item (by identity), in order."""
    seen, out = set(), []
    for item in items:
        if id(item) not in seen:
            seen.add(id(item))
            out.append(item)
    return out


def _tensors(value):
    """The Tensors inside value in _walk's order (recursing into Modules, lists, tuples and
    dicts), without their names."""
    if isinstance(value, Module):
        for item in vars(value).values():
            yield from _tensors(item)
    elif isinstance(value, Tensor):
        yield value
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _tensors(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _tensors(item)


def _walk(name, value, modules=False, direct=False):
    """Yield (dotted name, item) for Tensors inside value, recursing into Modules, lists, tuples
    and dicts. With modules=True, yield only the first level of Modules instead; with
    direct=True, the first level of Modules and the Tensors outside them."""
    if isinstance(value, Module):
        if modules or direct:
            yield name, value
        else:
            yield from value._named_members(f"{name}.")
    elif isinstance(value, Tensor) and not modules:
        yield name, value
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from _walk(f"{name}.{i}", item, modules, direct)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(f"{name}.{key}", item, modules, direct)


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

    def __iter__(self):  # the children in order (what _children finds, without the names)
        return (m for m in vars(self).values() if isinstance(m, Module))

    def __len__(self):
        return len(list(_children(self)))

    def __getitem__(self, i):
        items = list(self)
        return Sequential(*items[i]) if isinstance(i, slice) else items[i]

    def forward(self, x):
        for m in self:
            x = m(x)
        return x
