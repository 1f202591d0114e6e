"""The one place that knows about devices: array-module lookup, device names, host transfer,
scatter-add, sliding windows and random generators. Everything NumPy and CuPy do differently
lives here, and it is the only module that imports CuPy.

A device other than the CPU is an array module with CuPy's interface (an `ndarray` type,
`asarray`, `random.default_rng`, `lib.stride_tricks.as_strided`, arrays with `.get()`). "cuda"
is CuPy, imported lazily (on first use), so `import tinygan` never pays for it and a machine
without CuPy never notices it is missing until it asks for "cuda". Tests may add a stand-in
module under another name (register_test_device): tests/strict_device.py is one that refuses
implicit host conversions, so device mistakes show up without a GPU.
"""
from __future__ import annotations

import os

import numpy as np

_CUDA_HINT = ('install the CUDA extra that matches your toolkit, e.g. '
              'pip install "tinygan[cuda12]" (CUDA 12) or "tinygan[cuda13]" (CUDA 13)')
_cupy_module = None
_cupy_checked = False
_test_devices: dict = {}   # name -> array module (register_test_device)


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


def register_test_device(name: str, module) -> None:
    """Make `module` (an array module with CuPy's interface) the device `name`, for tests: it is
    never GPU support. Registering None removes it."""
    if name in ("cpu", "cuda"):
        raise ValueError(f"cannot replace the device {name!r}")
    if module is None:
        _test_devices.pop(name, None)
    else:
        _test_devices[name] = module


def devices() -> tuple:
    return ("cpu", "cuda") + tuple(_test_devices)


def check_device(device) -> str:
    """Normalise a device name ('cpu', 'cuda', 'cuda:0' -> 'cuda'); raise on anything else."""
    name = str(device).lower()
    if name.startswith("cuda:"):
        name = "cuda"
    if name not in devices():
        raise ValueError(f"unknown device {device!r}: expected one of {devices()}")
    return name


def default_device() -> str:
    """The device for new tensors: $TINYGAN_DEVICE when set, else 'cpu'."""
    return check_device(os.environ.get("TINYGAN_DEVICE", "cpu") or "cpu")


def resolve_device(device=None) -> str:
    """The device a public function was asked for: `device` checked and normalised, or the
    default device when it is None. Called once at each public boundary."""
    return default_device() if device is None else check_device(device)


def _loaded():
    """(name, module) of every non-CPU device whose arrays could exist now."""
    out = [(name, m) for name, m in _test_devices.items()]
    return out + ([("cuda", _cupy_module)] if _cupy_module is not None else [])


def device_of(a) -> str:
    for name, module in _loaded():
        if isinstance(a, module.ndarray):
            return name
    return "cpu"


def is_cupy_array(a) -> bool:
    return _cupy_module is not None and isinstance(a, _cupy_module.ndarray)


def get_array_module(*arrays):
    """numpy, cupy (or a test device's module), decided by the arrays; mixing devices is a
    TypeError."""
    if _cupy_module is None and not _test_devices:  # no array can be off the host (hot path)
        return np
    kinds = {device_of(a) for a in arrays if a is not None and hasattr(a, "dtype")}
    if len(kinds) > 1:
        raise TypeError(f"arrays on different devices ({' and '.join(sorted(kinds))}) in one "
                        "op; move them to one device first with .to(device)")
    kind = kinds.pop() if kinds else "cpu"
    return np if kind == "cpu" else _cupy_module if kind == "cuda" else _test_devices[kind]


def xp_for(device: str):
    """Array module for a device name."""
    device = check_device(device)
    if device == "cpu":
        return np
    return _require_cuda() if device == "cuda" else _test_devices[device]


def to_device(a, device: str):
    """Copy an array to a device (no copy when it is already there)."""
    device = check_device(device)
    if device == "cpu":
        return to_numpy(a)
    if device_of(a) not in ("cpu", device):
        a = to_numpy(a)
    return xp_for(device).asarray(a)


def to_numpy(a) -> np.ndarray:
    """A host NumPy array (copies from a device; forces a device sync)."""
    if device_of(a) != "cpu":
        return a.get()
    return np.asarray(a)


def scatter_add(target, index, values):
    """target[index] += values with repeated indices accumulated (in place)."""
    device = device_of(target)
    if device == "cuda":
        import cupyx  # noqa: F401  (ships with CuPy; imported only on the GPU path)
        cupyx.scatter_add(target, index, values)
    elif device != "cpu":
        xp_for(device).scatter_add(target, index, values)
    else:
        np.add.at(target, index, values)
    return target


def as_strided(a, shape, strides):
    """A strided view of `a` (no copy); strides in bytes, as NumPy's."""
    if device_of(a) != "cpu":
        return xp_for(device_of(a)).lib.stride_tricks.as_strided(a, shape=shape, strides=strides)
    return np.lib.stride_tricks.as_strided(a, shape=shape, strides=strides, writeable=False)


def rng(seed=None, device: str = "cpu"):
    """A random Generator on the device (numpy.random.Generator or its device's counterpart)."""
    return xp_for(device).random.default_rng(seed)


def synchronize(device: str = "cpu") -> None:
    """Wait for queued device work (a no-op on the CPU); benchmarks call it before reading a
    clock."""
    device = check_device(device)
    if device == "cuda":
        _require_cuda().cuda.get_current_stream().synchronize()
    elif device != "cpu":
        xp_for(device).synchronize()


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


# ---------------------------------------------------------------- BLAS threads

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                    "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


def _openblas_libraries() -> list:
    """ctypes handles of the OpenBLAS libraries mapped into this process (NumPy's, SciPy's);
    [] where /proc/self/maps does not exist (not Linux)."""
    import ctypes
    try:
        with open("/proc/self/maps") as f:
            paths = sorted({line.split()[-1] for line in f if "openblas" in line.lower()
                            and line.split()[-1].startswith("/")})
    except OSError:
        return []
    libs = []
    for path in paths:
        try:
            libs.append(ctypes.CDLL(path))
        except OSError:
            pass
    return libs


def _openblas_call(lib, suffix: str, *args):
    """Call the first OpenBLAS symbol whose name ends in `suffix` (names vary with the build)."""
    for prefix in ("scipy_openblas_", "openblas_"):
        for tail in ("64_", "_64_", ""):
            fn = getattr(lib, f"{prefix}{suffix}{tail}", None)
            if fn is not None:
                return fn(*args)
    return None


def blas_threads(n: int | None = None) -> int | None:
    """The number of threads NumPy's BLAS uses (None where it cannot be asked); with n, set it
    first: the environment variables (read by libraries loaded later, and by child processes)
    and OpenBLAS's own setter, found in the process as threadpoolctl finds it (NumPy has loaded
    its BLAS long before anyone can set a variable). Returns the count after the change."""
    import ctypes
    if n is not None:
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ValueError(f"blas_threads: n must be a positive int, got {n!r}")
        os.environ.update({var: str(n) for var in THREAD_VARIABLES})
    np.ones((2, 2)) @ np.ones((2, 2))  # make sure the BLAS library is loaded and mapped
    count = None
    for lib in _openblas_libraries():
        if n is not None:
            _openblas_call(lib, "set_num_threads", ctypes.c_int(n))
        count = _openblas_call(lib, "get_num_threads")
    return count


def cpu_name() -> str:
    """The CPU's model name (Linux's /proc/cpuinfo; elsewhere what platform reports), for the
    machine line of benchmark and sweep results."""
    import platform
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"
