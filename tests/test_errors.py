"""Bad input gets a clear error naming what is wrong and what would be right, never a silent
wrong answer: shapes that do not broadcast or multiply, mixed devices, a CUDA request without
CuPy or without a GPU, unknown devices, backward without a needed gradient, integer leaves."""
import re
from types import SimpleNamespace

import numpy as np
import pytest

import tinygan as tg
import tinygan.functional as F
from tinygan import backend


def t(shape, requires_grad=False):
    return tg.tensor(np.ones(shape), requires_grad=requires_grad)


def _names_shapes(message, *shapes):
    for s in shapes:
        compact, spaced = str(s).replace(" ", ""), str(s)
        assert compact in message or spaced in message, f"{s} not named in: {message}"


# ---------------------------------------------------------------- shapes


@pytest.mark.parametrize("op, name", [
    (lambda a, b: a + b, "Add"), (lambda a, b: a - b, "Add"), (lambda a, b: a * b, "Mul"),
    (lambda a, b: a / b, "Div"), (lambda a, b: a ** b, "Pow"), (tg.maximum, "Maximum"),
    (tg.minimum, "Maximum"), (lambda a, b: tg.where(np.ones((2, 3), bool), a, b), "Where"),
    (F.mse, "Add"),  # a - b is the composition a + (-1)*b
])
def test_shapes_that_cannot_broadcast_name_both_shapes_and_the_op(op, name):
    with pytest.raises(ValueError) as info:
        op(t((2, 3), True), t((4,)))
    message = str(info.value)
    assert name in message
    _names_shapes(message, (2, 3), (4,))


def test_broadcast_to_a_smaller_shape():
    with pytest.raises(ValueError) as info:
        t((2, 3)).broadcast_to((3, 3))
    assert "BroadcastTo" in str(info.value)
    _names_shapes(str(info.value), (2, 3))


@pytest.mark.parametrize("a, b", [((2, 3), (4, 5)), ((3,), (4,)), ((3,), (4, 2)), ((2, 3), (4,)),
                                  ((5, 2, 3), (5, 4, 2))])
def test_matmul_mismatch_names_both_shapes(a, b):
    with pytest.raises(ValueError) as info:
        t(a, True) @ t(b)
    message = str(info.value)
    assert "matmul" in message.lower()
    _names_shapes(message, a, b)


def test_matmul_batch_mismatch_names_both_shapes():
    with pytest.raises(ValueError) as info:
        t((2, 2, 3)) @ t((3, 3, 2))
    assert "MatMul" in str(info.value)
    _names_shapes(str(info.value), (2, 2, 3), (3, 3, 2))


def test_matmul_of_a_scalar():
    with pytest.raises(ValueError, match="at least 1-D"):
        t(()) @ t((3,))


def test_other_shape_errors_name_the_op():
    with pytest.raises(ValueError, match=r"Reshape.*\(2, 3\)"):
        t((2, 3)).reshape(4, 2)
    with pytest.raises(ValueError, match="stack needs tensors of one shape"):
        tg.stack([t((2,)), t((3,))])
    with pytest.raises(ValueError, match="Concatenate"):
        tg.concatenate([t((2, 3)), t((4,))])
    with pytest.raises(ValueError, match="pad_width"):
        tg.pad(t((2, 3)), ((1, 1),))
    with pytest.raises(ValueError, match="lower bound"):
        tg.clip(t((2,)), 1.0, 0.0)


# ---------------------------------------------------------------- devices


class FakeCudaArray(np.ndarray):
    """Stands in for cupy.ndarray so device mixing can be tested on a machine without a GPU."""


@pytest.fixture
def fake_cupy(monkeypatch):
    fake = SimpleNamespace(ndarray=FakeCudaArray,
                           cuda=SimpleNamespace(runtime=SimpleNamespace(getDeviceCount=lambda: 0)))
    monkeypatch.setattr(backend, "_cupy_module", fake)
    monkeypatch.setattr(backend, "_cupy_checked", True)
    return fake


def _on_fake_gpu(shape):
    return tg.Tensor(np.ones(shape).view(FakeCudaArray), requires_grad=True)


@pytest.mark.parametrize("op, name", [(lambda a, b: a + b, "Add"), (lambda a, b: a @ b, "MatMul"),
                                      (tg.maximum, "Maximum"),
                                      (lambda a, b: tg.concatenate([a, b]), "Concatenate")])
def test_mixing_devices_is_a_type_error_naming_the_op_and_the_fix(fake_cupy, op, name):
    gpu, cpu = _on_fake_gpu((2, 2)), t((2, 2), True)
    assert gpu.device == "cuda" and cpu.device == "cpu"
    for a, b in [(gpu, cpu), (cpu, gpu)]:
        with pytest.raises(TypeError) as info:
            op(a, b)
        message = str(info.value)
        assert name in message and "cpu" in message and "cuda" in message and ".to(" in message


@pytest.mark.skipif(not backend.cuda_available(), reason="needs CuPy and a CUDA GPU")
def test_mixing_real_devices_is_a_type_error():
    with pytest.raises(TypeError, match="different devices"):
        t((2,), True).to("cuda") + t((2,))


@pytest.fixture
def no_cupy(monkeypatch):
    monkeypatch.setattr(backend, "_cupy_module", None)
    monkeypatch.setattr(backend, "_cupy_checked", True)


@pytest.mark.parametrize("make", [
    lambda: tg.tensor([1.0], device="cuda"), lambda: tg.zeros(2, device="cuda"),
    lambda: tg.randn(2, device="cuda"), lambda: t((2,)).to("cuda"), lambda: t((2,)).cuda(),
    lambda: tg.tensor([1.0], device="cuda:0"),
])
def test_cuda_without_cupy_names_the_extra(no_cupy, make):
    with pytest.raises(RuntimeError) as info:
        make()
    message = str(info.value)
    assert "CuPy" in message and "tinygan[cuda12]" in message and "tinygan[cuda13]" in message


def test_cuda_as_default_device_without_cupy_names_the_extra(no_cupy, monkeypatch):
    monkeypatch.setenv("TINYGAN_DEVICE", "cuda")
    with pytest.raises(RuntimeError, match=re.escape("tinygan[cuda12]")):
        tg.zeros(3)


def test_cuda_without_a_gpu_says_so_and_names_the_extra(fake_cupy):
    assert not backend.cuda_available()
    with pytest.raises(RuntimeError) as info:
        tg.zeros(2, device="cuda")
    message = str(info.value)
    assert "no CUDA GPU" in message and "device='cpu'" in message
    assert "tinygan[cuda12]" in message


@pytest.mark.parametrize("name", ["gpu", "tpu", "cuda1", "", "mps"])
def test_unknown_device_names(name):
    with pytest.raises(ValueError) as info:
        tg.tensor([1.0], device=name)
    assert repr(name) in str(info.value) and "'cpu'" in str(info.value)
    with pytest.raises(ValueError, match="unknown device"):
        t((1,)).to(name)


def test_unknown_default_device(monkeypatch):
    monkeypatch.setenv("TINYGAN_DEVICE", "gpu")
    with pytest.raises(ValueError, match="unknown device 'gpu'"):
        tg.zeros(1)


# ---------------------------------------------------------------- autodiff misuse


def test_backward_on_a_non_scalar_needs_a_gradient():
    y = t((2, 3), True) * 2
    with pytest.raises(RuntimeError) as info:
        y.backward()
    assert "(2, 3)" in str(info.value) and "sum()" in str(info.value)
    with pytest.raises(RuntimeError, match="non-scalar"):
        tg.grad(y, [y])


def test_backward_through_a_constant():
    with pytest.raises(RuntimeError, match="does not require grad"):
        (t((2,)) * 2).sum().backward()


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.bool_])
def test_integer_tensors_cannot_require_grad(dtype):
    with pytest.raises(TypeError) as info:
        tg.tensor(np.array([1, 2], dtype=dtype), requires_grad=True)
    assert "float" in str(info.value) and np.dtype(dtype).name in str(info.value)
    x = tg.tensor(np.array([1, 2], dtype=dtype))
    with pytest.raises(TypeError):
        x.requires_grad_()


@pytest.mark.parametrize("shape", [(3,), (2, 3, 1), (1, 2, 3), ()])
def test_gradient_of_the_wrong_shape(shape):
    y = t((2, 3), True) * 2
    with pytest.raises(ValueError) as info:
        y.backward(tg.tensor(np.ones(shape)))
    assert str(shape) in str(info.value) and "(2, 3)" in str(info.value)
    with pytest.raises(ValueError):
        tg.grad(y, [y], grad_outputs=[tg.tensor(np.ones(shape))])


def test_grad_of_an_input_that_was_not_used():
    x, other = t((2,), True), t((2,), True)
    with pytest.raises(RuntimeError, match="not used"):
        tg.grad((x * 2).sum(), [other])


def test_item_of_many_elements():
    with pytest.raises(ValueError, match=r"one element.*\(2,\)"):
        t((2,)).item()


def test_a_custom_backward_returning_the_wrong_shape_is_caught():
    class Broken(tg.Function):
        """f(x) = 2x, with a backward that forgets to sum over the broadcast axis."""
        def forward(self, x):
            return x * 2

        def backward(self, gy):
            return (gy.broadcast_to((5,) + gy.shape),)

    with pytest.raises(RuntimeError) as info:
        Broken()(t((3,), True)).sum().backward()
    assert "Broken.backward" in str(info.value)
    _names_shapes(str(info.value), (5, 3), (3,))
