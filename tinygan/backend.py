"""The one place that knows about CuPy: array-module lookup, devices, host transfer, scatter-add,
sliding windows and random generators. Everything NumPy and CuPy do differently lives here.

CuPy is imported lazily (on first use of a CUDA helper), so `import tinygan` never pays for it
and a machine without CuPy never notices it is missing until it asks for "cuda".
"""
from __future__ import annotations

import os

import numpy as np

DEVICES = ("cpu", "cuda")
_CUDA_HINT = ('install the CUDA extra that matches your toolkit, e.g. '
              'pip install "tinygan[cuda12]" (CUDA 12) or "tinygan[cuda13]" (CUDA 13)')
_cupy_module = None
_cupy_checked = False


def _cupy():
    """Return the cupy module, or None when CuPy is not installed (checked once)."""
    global _cupy_module, _cupy_checked
    if not _cupy_checked:
        _cupy_checked = True
        try:
            import cupy  # the only cupy import in tinygan
            _cupy_module = cupy
        except ImportError:
            _cupy_module = None
    return _cupy_module


def cuda_available() -> bool:
    """True when CuPy is installed and can see at least one GPU."""
    cp = _cupy()
    if cp is None:
        return False
    try:
        return cp.cuda.runtime.getDeviceCount() > 0
    except Exception:  # CuPy raises its own CUDARuntimeError when the driver is absent
        return False


def _require_cuda():
    cp = _cupy()
    if cp is None:
        raise RuntimeError(f"device 'cuda' needs CuPy, which is not installed: {_CUDA_HINT}")
    if not cuda_available():
        raise RuntimeError("device 'cuda' asked for, but CuPy sees no CUDA GPU on this machine; "
                           "use device='cpu', or check that the CuPy build matches the CUDA "
                           f"driver ({_CUDA_HINT})")
    return cp


def check_device(device) -> str:
    """Normalise a device name ('cpu', 'cuda', 'cuda:0' -> 'cuda'); raise on anything else."""
    name = str(device).lower()
    if name.startswith("cuda:"):
        name = "cuda"
    if name not in DEVICES:
        raise ValueError(f"unknown device {device!r}: expected one of {DEVICES}")
    return name


def default_device() -> str:
    """The device for new tensors: $TINYGAN_DEVICE when set, else 'cpu'."""
    return check_device(os.environ.get("TINYGAN_DEVICE", "cpu") or "cpu")


def resolve_device(device=None) -> str:
    """The device a public function was asked for: `device` checked and normalised, or the
    default device when it is None. Called once at each public boundary."""
    return default_device() if device is None else check_device(device)


def is_cupy_array(a) -> bool:
    cp = _cupy_module  # no import: if CuPy was never imported, no array can be a CuPy array
    return cp is not None and isinstance(a, cp.ndarray)


def get_array_module(*arrays):
    """numpy or cupy, decided by the arrays; mixing devices is a TypeError."""
    if _cupy_module is None:  # CuPy never imported, so no array can be on the GPU (hot path)
        return np
    kinds = {is_cupy_array(a) for a in arrays if a is not None and hasattr(a, "dtype")}
    if len(kinds) > 1:
        raise TypeError("arrays on different devices (cpu and cuda) in one op; "
                        "move them to one device first with .to('cpu') or .to('cuda')")
    return _cupy_module if kinds == {True} else np


def xp_for(device: str):
    """Array module for a device name."""
    return _require_cuda() if check_device(device) == "cuda" else np


def device_of(a) -> str:
    return "cuda" if is_cupy_array(a) else "cpu"


def to_device(a, device: str):
    """Copy an array to a device (no copy when it is already there)."""
    device = check_device(device)
    if device == "cuda":
        return _require_cuda().asarray(a)
    return to_numpy(a)


def to_numpy(a) -> np.ndarray:
    """A host NumPy array (copies from the GPU; forces a device sync)."""
    if is_cupy_array(a):
        return a.get()
    return np.asarray(a)


def scatter_add(target, index, values):
    """target[index] += values with repeated indices accumulated (in place)."""
    if is_cupy_array(target):
        import cupyx  # noqa: F401  (ships with CuPy; imported only on the GPU path)
        cupyx.scatter_add(target, index, values)
    else:
        np.add.at(target, index, values)
    return target


def as_strided(a, shape, strides):
    """A strided view of `a` (no copy); strides in bytes, as NumPy's."""
    if is_cupy_array(a):
        return _cupy_module.lib.stride_tricks.as_strided(a, shape=shape, strides=strides)
    return np.lib.stride_tricks.as_strided(a, shape=shape, strides=strides, writeable=False)


def rng(seed=None, device: str = "cpu"):
    """A random Generator on the device (numpy.random.Generator or cupy.random.Generator)."""
    if check_device(device) == "cuda":
        return _require_cuda().random.default_rng(seed)
    return np.random.default_rng(seed)


def synchronize(device: str = "cpu") -> None:
    """Wait for queued GPU work (a no-op on the CPU); benchmarks call it before reading a clock."""
    if check_device(device) == "cuda":
        _require_cuda().cuda.get_current_stream().synchronize()


def keep_freed_memory(max_block: int = 32 * 2**20, keep: int = 512 * 2**20) -> bool:
    """Ask glibc's malloc to reuse freed host memory instead of handing it back to the OS.

    A training step allocates and frees the same large arrays every time (im2col matrices are
    ~13 MB in a DCGAN). By default glibc maps such blocks fresh (or trims them from the heap), so
    every step page-faults them in again: ~9k faults and ~20 ms of kernel time per DCGAN step.
    Serving blocks up to `max_block` bytes from the heap and keeping up to `keep` bytes of free
    heap removes that; the process keeps its peak memory instead of shrinking between steps.
    Process-wide, so it is opt-in (the trainer and benchmarks call it). Returns False where it
    does not apply (not glibc, e.g. macOS, Windows, musl)."""
    import ctypes
    import sys
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3  # from glibc's malloc.h
    return bool(mallopt(m_mmap_threshold, int(max_block)) and
                mallopt(m_trim_threshold, int(keep)))
