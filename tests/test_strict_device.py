"""Device discipline without a GPU: the layers, the optimizers, the trainer and the first steps
of every experiment run on the strict device (tests/strict_device.py: CuPy's rules on NumPy
arrays), with no implicit host conversion, and the synchronizations counted. The op table runs
on it through the `device` fixture of every op test. None of this is GPU support."""
import json

import numpy as np
import pytest

import strict_device
import tinygan as tg
import tinygan.functional as F
import tinygan.nn as nn
from strict_device import COUNTS, StrictArray
from tinygan import backend, experiments
from tinygan.data.digits import Digits
from tinygan.experiments import digits as digit_experiments
from tinygan.optim import SGD, Adam, RMSprop

DEVICE = "strict"


@pytest.fixture(autouse=True)
def counts():
    COUNTS.clear()
    yield COUNTS
    assert COUNTS["implicit_conversion"] == 0, "an array was converted to NumPy implicitly"


# ---------------------------------------------------------------- the stand-in itself


def test_strict_arrays_refuse_what_cupy_refuses(counts):
    a = backend.xp_for(DEVICE).asarray(np.arange(3.0))
    assert isinstance(a, StrictArray) and backend.device_of(a) == DEVICE
    with pytest.raises(TypeError, match="Implicit conversion"):
        np.asarray(a)
    assert counts["implicit_conversion"] == 1
    counts.clear()
    with pytest.raises(TypeError, match="NumPy array mixed"):
        a + np.ones(3)
    with pytest.raises(TypeError, match="NumPy array mixed"):
        backend.xp_for(DEVICE).maximum(a, np.ones(3))
    b = (a * 2.0 + np.float32(1)).sum()   # scalars are fine; a full reduction stays 0-d
    assert isinstance(b, StrictArray) and b.shape == ()
    assert counts["sync"] == 0
    assert float(b) == 9.0 and counts["sync"] == 1
    np.testing.assert_array_equal(backend.to_numpy(a), [0.0, 1.0, 2.0])
    assert counts["host_transfer"] == 1


def test_tensors_on_the_strict_device(counts):
    x = tg.tensor([1.0, 2.0], device=DEVICE, requires_grad=True)
    assert x.device == DEVICE and "strict" in repr(x)
    with pytest.raises(TypeError, match="different devices"):
        x + tg.tensor([1.0, 2.0])
    (x * x).sum().backward()
    assert x.grad.device == DEVICE
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0])


# ---------------------------------------------------------------- layers and optimizers


LAYERS = [
    (lambda: nn.Linear(4, 3), (5, 4)),
    (lambda: nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.LeakyReLU(0.2),
                           nn.Dropout(0.3), nn.Linear(6, 2), nn.Tanh()), (8, 4)),
    (lambda: nn.Sequential(nn.Conv2d(2, 3, 3, 2, 1), nn.BatchNorm2d(3), nn.ReLU(),
                           nn.ConvTranspose2d(3, 2, 4, 2, 1), nn.Sigmoid()), (2, 2, 6, 6)),
    (lambda: nn.Sequential(nn.InstanceNorm2d(2, affine=True), nn.AvgPool2d(2), nn.Upsample(2),
                           nn.Flatten(), nn.LayerNorm(32), nn.Unflatten(1, (2, 4, 4))),
     (3, 2, 4, 4)),
]


@pytest.mark.parametrize("make, shape", LAYERS)
@pytest.mark.parametrize("opt", [lambda p: SGD(p, 0.1, momentum=0.9), lambda p: Adam(p, 1e-3),
                                 lambda p: RMSprop(p, 1e-3)])
def test_layers_and_optimizers_stay_on_the_device(make, shape, opt, counts):
    tg.manual_seed(0)
    model = make().to(DEVICE)
    optimizer = opt(model.parameters())
    x = tg.randn(*shape, device=DEVICE)
    for _ in range(2):
        optimizer.zero_grad()
        loss = (model(x) ** 2).mean()
        loss.backward()
        optimizer.step()
    assert all(p.device == DEVICE and p.grad.device == DEVICE for p in model.parameters())
    assert counts["sync"] == 0  # forward, backward and the update never wait for the host
    state = model.state_dict()  # explicit host copies
    assert all(type(v) is np.ndarray for v in state.values())
    model.load_state_dict(state)
    optimizer.load_state_dict(optimizer.state_dict())
    model.eval()
    assert model(x).device == DEVICE


def test_a_gradient_penalty_through_a_conv_critic(counts):
    conv = nn.Conv2d(1, 2, 3).to(DEVICE)
    x = tg.randn(2, 1, 5, 5, device=DEVICE, requires_grad=True)
    g, = tg.grad(conv(x).sum(), [x], create_graph=True)
    penalty = ((g * g).sum(axis=(1, 2, 3)) - 1) ** 2
    penalty.mean().backward()
    assert conv.weight.grad.device == DEVICE and counts["sync"] == 0
    assert F.softplus(x).device == DEVICE


# ---------------------------------------------------------------- every experiment


TINY = {"toy1d": dict(steps=6, batch_size=16, hidden=8, log_every=3),
        "ring": dict(steps=6, batch_size=16, hidden=8, log_every=3, eval_samples=100),
        "grid": dict(steps=6, batch_size=16, hidden=8, log_every=3, eval_samples=100,
                     method="minibatch_discrimination", mbd_group=8),
        "mnist-mlp": dict(steps=6, batch_size=8, log_every=3, eval_samples=0),
        "dcgan": dict(steps=6, batch_size=4, log_every=3, eval_samples=0),
        "cgan": dict(steps=6, batch_size=8, log_every=3, eval_samples=0)}
METHODS = ["packing", "unrolled", "feature_matching", "label_smoothing",
           "historical_averaging", "instance_noise"]


@pytest.fixture
def synthetic_digits_only(monkeypatch):
    tiny = Digits.synthetic_set(32, seed=3)
    monkeypatch.setattr(digit_experiments, "load_digits", lambda data_dir=None: tiny)


def _syncs_per_step(exp, counts) -> list:
    """Synchronizations and host transfers of each training iteration."""
    per_step = []
    for _ in range(exp.config.steps):
        before = counts["sync"] + counts["host_transfer"]
        exp.trainer.step()
        per_step.append(counts["sync"] + counts["host_transfer"] - before)
    return per_step


@pytest.mark.parametrize("name", list(TINY))
def test_every_experiment_trains_on_the_strict_device(name, counts, synthetic_digits_only,
                                                      record_property):
    exp = experiments.build(name, device=DEVICE, **TINY[name])
    assert all(p.device == DEVICE for p in exp.trainer.G.parameters())
    per_step = _syncs_per_step(exp, counts)
    # only the log points (every log_every iterations) read statistics back to the host
    log_every = exp.config.log_every
    assert all(n == 0 for i, n in enumerate(per_step, 1) if i % log_every), per_step
    assert all(n > 0 for i, n in enumerate(per_step, 1) if i % log_every == 0), per_step
    record_property("syncs_per_step", json.dumps(per_step))
    json.dumps(exp.evaluate())
    out = exp.sample(4, labels=[0, 1, 2, 3] if name == "cgan" else None)
    assert all(type(v) is np.ndarray for v in out.values())  # samples leave as host arrays
    state = exp.trainer.state_dict()
    exp.trainer.load_state_dict(state)


@pytest.mark.parametrize("method", METHODS)
def test_every_remedy_trains_on_the_strict_device(method, counts):
    exp = experiments.build("ring", device=DEVICE, **dict(TINY["ring"], method=method,
                                                          unroll_steps=2))
    per_step = _syncs_per_step(exp, counts)
    assert all(n == 0 for i, n in enumerate(per_step, 1) if i % exp.config.log_every), per_step
    exp.trainer.load_state_dict(exp.trainer.state_dict())


def test_unregistering_removes_the_device():
    strict_device.unregister("strict2")  # not registered: nothing happens
    strict_device.register("strict2")
    assert "strict2" in backend.devices()
    strict_device.unregister("strict2")
    with pytest.raises(ValueError, match="unknown device 'strict2'"):
        backend.check_device("strict2")
