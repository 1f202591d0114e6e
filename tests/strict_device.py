"""A test-only device that behaves like CuPy wherever tinygan could go wrong, without a GPU.

Its arrays (StrictArray) wrap NumPy arrays but, as CuPy's do,
  - refuse implicit conversion to NumPy: np.asarray(a) / np.array(a) raise TypeError;
  - refuse to be mixed with NumPy arrays in one operation (Python and NumPy scalars are fine);
  - leave the device only through .get() (a counted host transfer); .item(), float(), int(),
    bool() and .tolist() are counted as synchronizations.
The module (`strict`) offers what tinygan asks of an array module with CuPy's interface:
NumPy's functions (dispatched by name), `ndarray`, `asarray` (a counted host-to-device copy),
`random.default_rng`, `lib.stride_tricks.as_strided`, `scatter_add` and `synchronize`.

register() makes it the device "strict" (TINYGAN_DEVICE=strict runs code on it). It checks
device discipline only: it is NumPy underneath and is never presented as GPU support.
"""
from __future__ import annotations

import collections
import types

import numpy as np

from tinygan import backend

COUNTS = collections.Counter()  # implicit_conversion, host_transfer, to_device, sync


class StrictArray:
    """A NumPy array that only leaves its device explicitly."""

    __slots__ = ("a",)
    __array_priority__ = 100

    def __init__(self, a: np.ndarray):
        self.a = a

    # --- what must not happen implicitly
    def __array__(self, dtype=None, copy=None):
        COUNTS["implicit_conversion"] += 1
        raise TypeError("Implicit conversion to a NumPy array is not allowed (strict device, as "
                        "CuPy): use .get() or tinygan.backend.to_numpy")

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return _call(getattr(ufunc, method), inputs, kwargs, f"numpy.{ufunc.__name__}")

    def __array_function__(self, func, types_, args, kwargs):
        return _call(func, args, kwargs, f"numpy.{func.__name__}")

    # --- explicit transfers and synchronizations
    def get(self) -> np.ndarray:
        COUNTS["host_transfer"] += 1
        return self.a.copy()

    def _sync(self):
        COUNTS["sync"] += 1
        return self.a

    def item(self): return self._sync().item()
    def tolist(self): return self._sync().tolist()
    def __float__(self): return float(self._sync())
    def __int__(self): return int(self._sync())
    def __index__(self): return int(self._sync())
    def __bool__(self): return bool(self._sync())

    # --- the array's own properties and methods
    shape = property(lambda self: self.a.shape)
    ndim = property(lambda self: self.a.ndim)
    dtype = property(lambda self: self.a.dtype)
    size = property(lambda self: self.a.size)
    itemsize = property(lambda self: self.a.itemsize)
    nbytes = property(lambda self: self.a.nbytes)
    strides = property(lambda self: self.a.strides)
    flags = property(lambda self: self.a.flags)
    T = property(lambda self: StrictArray(self.a.T))

    def __len__(self): return len(self.a)
    def __repr__(self): return f"strict({self.a!r})"

    def __getattr__(self, name):  # reshape, transpose, sum, astype, copy, ... (wrapped)
        if name.startswith("__"):  # __array_interface__, __array_struct__: no way around
            raise AttributeError(name)
        attr = getattr(self.a, name)
        if not callable(attr):
            return _wrap(attr)
        return lambda *args, **kwargs: _call(attr, args, kwargs, f"ndarray.{name}")

    def __getitem__(self, index):
        return _wrap(self.a[_unwrap_index(index)])

    def __setitem__(self, index, value):
        self.a[_unwrap_index(index)] = _unwrap(value, "item assignment")


def _binary(name):
    op = getattr(np.ndarray, name)

    def method(self, other):
        return _wrap(op(self.a, _unwrap(other, name)))
    return method


for _name in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "and", "or",
              "xor", "lt", "le", "gt", "ge", "eq", "ne"):
    for _form in (f"__{_name}__", f"__r{_name}__", f"__i{_name}__"):
        if hasattr(np.ndarray, _form):
            setattr(StrictArray, _form, _binary(_form))
for _name in ("__neg__", "__pos__", "__abs__", "__invert__"):
    setattr(StrictArray, _name, (lambda op: lambda self: _wrap(op(self.a)))(
        getattr(np.ndarray, _name)))


def _iop(name):  # in-place operators must change the wrapped array, not rebind it
    op = getattr(np.ndarray, name)

    def method(self, other):
        op(self.a, _unwrap(other, name))
        return self
    return method


for _name in ("__iadd__", "__isub__", "__imul__", "__itruediv__", "__ipow__"):
    setattr(StrictArray, _name, _iop(_name))


def _unwrap(x, where: str):
    """The NumPy array inside a StrictArray; scalars pass; a NumPy array is a device mix-up."""
    if isinstance(x, StrictArray):
        return x.a
    if isinstance(x, np.ndarray):
        raise TypeError(f"{where}: a NumPy array mixed with strict-device arrays (CuPy refuses "
                        f"this too); move it to the device first")
    if isinstance(x, (list, tuple)):
        return type(x)(_unwrap(v, where) for v in x)
    return x


def _unwrap_index(index):
    """Indices may be Python ints, slices, host integer/boolean arrays (CuPy copies those to
    the device) or strict arrays."""
    items = index if isinstance(index, tuple) else (index,)
    out = tuple(i.a if isinstance(i, StrictArray) else i for i in items)
    return out if isinstance(index, tuple) else out[0]


def _wrap(x):
    if isinstance(x, np.ndarray):
        return StrictArray(x)
    if isinstance(x, np.generic):  # NumPy's full reductions give scalars; CuPy's, 0-d arrays
        return StrictArray(np.asarray(x))
    if isinstance(x, tuple):
        return tuple(_wrap(v) for v in x)
    if isinstance(x, list):
        return [_wrap(v) for v in x]
    return x


def _call(fn, args, kwargs, where):
    args = [_unwrap(a, where) for a in args]
    kwargs = {k: _unwrap(v, where) for k, v in kwargs.items()}
    return _wrap(fn(*args, **kwargs))


# ---------------------------------------------------------------- the module


class _Generator:
    """numpy.random.Generator whose draws are strict arrays."""

    def __init__(self, seed):
        self.g = np.random.default_rng(seed)

    @property
    def bit_generator(self):
        return self.g.bit_generator

    def __getattr__(self, name):
        attr = getattr(self.g, name)
        return lambda *args, **kwargs: _call(attr, args, kwargs, f"Generator.{name}")

    def __deepcopy__(self, memo):
        other = _Generator(None)
        other.g.bit_generator.state = self.g.bit_generator.state
        return other


def _asarray(a, dtype=None):
    if isinstance(a, StrictArray):
        return a if dtype is None or a.dtype == dtype else StrictArray(a.a.astype(dtype))
    COUNTS["to_device"] += 1
    return StrictArray(np.array(a, dtype=dtype))


def _as_strided(a, shape, strides):
    return StrictArray(np.lib.stride_tricks.as_strided(a.a, shape=shape, strides=strides,
                                                       writeable=False))


def _scatter_add(target, index, values):
    np.add.at(target.a, _unwrap_index(index), _unwrap(values, "scatter_add"))


def _synchronize():
    COUNTS["sync"] += 1


class _Module(types.ModuleType):
    """`strict.<name>` is NumPy's <name> on strict arrays, for every function tinygan uses."""

    def __getattr__(self, name):
        attr = getattr(np, name)
        if callable(attr) and not isinstance(attr, type):
            return lambda *args, **kwargs: _call(attr, args, kwargs, f"strict.{name}")
        return attr


strict = _Module("strict")
strict.ndarray = StrictArray
strict.asarray = _asarray
strict.ascontiguousarray = lambda a, dtype=None: StrictArray(
    np.ascontiguousarray(_asarray(a).a, dtype=dtype))
strict.random = types.SimpleNamespace(default_rng=_Generator)
strict.lib = types.SimpleNamespace(stride_tricks=types.SimpleNamespace(as_strided=_as_strided))
strict.scatter_add = _scatter_add
strict.synchronize = _synchronize


def register(name: str = "strict") -> None:
    backend.register_test_device(name, strict)


def unregister(name: str = "strict") -> None:
    backend.register_test_device(name, None)
