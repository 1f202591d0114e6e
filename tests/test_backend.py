"""tinygan/backend.py: the only module that may import CuPy, and the helpers that hide every
NumPy/CuPy difference (array module lookup, devices, host transfer, scatter-add)."""
import ast
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

import tinygan as tg
from tinygan import backend

PACKAGE = Path(tg.__file__).parent
GPU_MODULES = {"cupy", "cupyx"}


def _cupy_imports(path: Path):
    """(line, what) for every import of cupy/cupyx in a file, including importlib/__import__."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names
                      if a.name.split(".")[0] in GPU_MODULES]
        elif isinstance(node, ast.ImportFrom):
            if node.module and node.module.split(".")[0] in GPU_MODULES and node.level == 0:
                found.append((node.lineno, node.module))
        elif isinstance(node, ast.Call) and node.args:
            name = getattr(node.func, "attr", getattr(node.func, "id", ""))
            arg = node.args[0]
            if (name in ("import_module", "__import__") and isinstance(arg, ast.Constant)
                    and str(arg.value).split(".")[0] in GPU_MODULES):
                found.append((node.lineno, arg.value))
    return found


def test_only_backend_imports_cupy():
    files = sorted(PACKAGE.rglob("*.py"))
    assert len(files) > 5 and PACKAGE / "backend.py" in files
    offenders = [f"{f.relative_to(PACKAGE.parent)}:{line} imports {what}"
                 for f in files if f.name != "backend.py" or f.parent != PACKAGE
                 for line, what in _cupy_imports(f)]
    assert not offenders, "only tinygan/backend.py may import CuPy:\n" + "\n".join(offenders)


def test_the_scan_sees_every_kind_of_import(tmp_path):
    """The scanner itself must catch each way of importing cupy, or the test above proves
    nothing."""
    src = tmp_path / "m.py"
    for code in ["import cupy", "import cupy as cp", "import numpy, cupyx.scipy",
                 "from cupy import ndarray", "from cupyx.scipy import ndimage",
                 "import importlib\nimportlib.import_module('cupy')", "__import__('cupy')",
                 "def f():\n    import cupy\n"]:
        src.write_text(code)
        assert _cupy_imports(src), code
    src.write_text("import numpy\nfrom . import backend\nx = 'cupy'\n")
    assert not _cupy_imports(src)


def test_backend_imports_cupy_lazily():
    """`import tinygan` must not import CuPy (a machine without it must not notice)."""
    import subprocess
    import sys
    code = "import sys, tinygan, tinygan.nn, tinygan.functional; print('cupy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=PACKAGE.parent, check=True)
    assert out.stdout.strip() == "False"


# ---------------------------------------------------------------- helpers


def test_get_array_module_on_host_arrays():
    assert backend.get_array_module(np.ones(2)) is np
    assert backend.get_array_module(np.ones(2), None, np.float32(1)) is np
    assert backend.get_array_module() is np
    assert backend.get_array_module(3.0, [1, 2]) is np


class FakeCudaArray(np.ndarray):
    pass


@pytest.fixture
def fake_cupy(monkeypatch):
    fake = SimpleNamespace(ndarray=FakeCudaArray)
    monkeypatch.setattr(backend, "_cupy_module", fake)
    monkeypatch.setattr(backend, "_cupy_checked", True)
    return fake


def test_get_array_module_follows_the_arrays(fake_cupy):
    gpu = np.ones(2).view(FakeCudaArray)
    assert backend.get_array_module(gpu, gpu) is fake_cupy
    assert backend.get_array_module(np.ones(2)) is np
    assert backend.device_of(gpu) == "cuda" and backend.device_of(np.ones(2)) == "cpu"
    with pytest.raises(TypeError, match="different devices"):
        backend.get_array_module(gpu, np.ones(2))


def test_tensor_device_is_derived_from_the_array(fake_cupy):
    x = tg.Tensor(np.ones(2))
    assert x.device == "cpu"
    assert "device" not in vars(x)  # never stored, so it cannot disagree with the array
    x.data = np.ones(2).view(FakeCudaArray)
    assert x.device == "cuda"


def test_device_of_and_to_numpy(xp, device):
    a = xp.arange(6.0).reshape(2, 3)
    assert backend.device_of(a) == device
    host = backend.to_numpy(a)
    assert type(host) is np.ndarray
    np.testing.assert_array_equal(host, np.arange(6.0).reshape(2, 3))
    if device == "cpu":
        assert host is a  # no copy on the host
    assert backend.to_numpy([1, 2]).tolist() == [1, 2]


def test_to_device_round_trip(device):
    x = tg.tensor(np.arange(3.0), device="cpu", requires_grad=True)
    y = x.to(device)
    assert y.device == device
    assert x.to("cpu") is x
    (y * y).sum().backward()
    assert x.grad.device == "cpu"
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 2.0, 4.0])


@pytest.mark.parametrize("name, expected", [("cpu", "cpu"), ("CPU", "cpu"), ("cuda", "cuda"),
                                            ("cuda:0", "cuda"), ("CUDA:1", "cuda")])
def test_check_device_normalises(name, expected):
    assert backend.check_device(name) == expected


def test_scatter_add_accumulates_repeated_indices(xp):
    target = xp.zeros(5)
    out = backend.scatter_add(target, xp.asarray([0, 0, 3, 0]), xp.asarray([1.0, 2.0, 3.0, 4.0]))
    assert out is target  # in place
    np.testing.assert_array_equal(backend.to_numpy(target), [7.0, 0.0, 0.0, 3.0, 0.0])

    target = xp.zeros((3, 2))
    index = (xp.asarray([2, 2, 0]), xp.asarray([1, 1, 0]))
    backend.scatter_add(target, index, xp.asarray([1.0, 10.0, 100.0]))
    np.testing.assert_array_equal(backend.to_numpy(target), [[100, 0], [0, 0], [0, 11]])

    target = xp.zeros((2, 3))
    backend.scatter_add(target, (slice(None), xp.asarray([1, 1])), xp.ones((2, 2)))
    np.testing.assert_array_equal(backend.to_numpy(target), [[0, 2, 0], [0, 2, 0]])


def test_rng_is_seeded_per_device(device):
    a = backend.to_numpy(backend.rng(7, device).standard_normal(4))
    b = backend.to_numpy(backend.rng(7, device).standard_normal(4))
    np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------- default device


@pytest.mark.parametrize("value, expected", [(None, "cpu"), ("", "cpu"), ("cpu", "cpu"),
                                             ("CPU", "cpu"), ("cuda", "cuda"),
                                             ("cuda:0", "cuda")])
def test_tinygan_device_sets_the_default(monkeypatch, value, expected):
    if value is None:
        monkeypatch.delenv("TINYGAN_DEVICE", raising=False)
    else:
        monkeypatch.setenv("TINYGAN_DEVICE", value)
    assert backend.default_device() == expected


def test_new_tensors_go_to_the_default_device(monkeypatch, device):
    monkeypatch.setenv("TINYGAN_DEVICE", device)
    for x in [tg.tensor([1.0]), tg.zeros(2), tg.ones(2), tg.randn(2), tg.rand(2),
              tg.full((2,), 3.0)]:
        assert x.device == device
    assert tg.tensor([1.0], device="cpu").device == "cpu"  # an explicit device wins


def test_bad_default_device_is_reported(monkeypatch):
    monkeypatch.setenv("TINYGAN_DEVICE", "tpu")
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        backend.default_device()
