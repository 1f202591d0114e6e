"""tinygan.init: sample statistics of every initializer against its formula, PyTorch's default
uniform bounds in Linear, fans of conv-shaped weights, gains, seeding and errors."""
import math

import numpy as np
import pytest

import tinygan as tg
import tinygan.nn as nn
from tinygan import init

SHAPE = (400, 500)  # 200,000 samples: a sample std is within 0.5% of the true one at 3 sigma
FAN_IN, FAN_OUT = 500, 400


def _close(actual, expected, rel=0.01):
    assert actual == pytest.approx(expected, rel=rel), f"{actual} vs {expected}"


def _uniform_bound_and_std(w, bound):
    a = w.numpy().astype(np.float64)
    assert np.abs(a).max() <= bound * (1 + 1e-6)
    assert np.abs(a).max() > 0.99 * bound  # really uses the whole interval
    _close(a.std(), bound / math.sqrt(3))
    assert abs(a.mean()) < 4 * bound / math.sqrt(3) / math.sqrt(a.size)


def test_xavier():
    w = init.xavier_uniform_(tg.zeros(*SHAPE), gain=2.0)
    _uniform_bound_and_std(w, 2.0 * math.sqrt(6 / (FAN_IN + FAN_OUT)))
    w = init.xavier_normal_(tg.zeros(*SHAPE))
    _close(w.numpy().std(), math.sqrt(2 / (FAN_IN + FAN_OUT)))


@pytest.mark.parametrize("slope, mode, fan", [(0.0, "fan_in", FAN_IN), (0.2, "fan_in", FAN_IN),
                                              (0.0, "fan_out", FAN_OUT)])
def test_kaiming(slope, mode, fan):
    std = math.sqrt(2 / ((1 + slope ** 2) * fan))
    w = init.kaiming_normal_(tg.zeros(*SHAPE), slope, mode)
    _close(w.numpy().std(), std)
    assert abs(w.numpy().mean()) < 4 * std / math.sqrt(w.numel())
    w = init.kaiming_uniform_(tg.zeros(*SHAPE), slope, mode)
    _uniform_bound_and_std(w, std * math.sqrt(3))


def test_dcgan_normal_and_dcgan_init():
    w = init.dcgan_normal_(tg.zeros(*SHAPE))
    _close(w.numpy().std(), 0.02)
    assert abs(w.numpy().mean()) < 4 * 0.02 / math.sqrt(w.numel())
    net = nn.Sequential(nn.Linear(300, 200), nn.BatchNorm1d(200)).apply(init.dcgan_init_)
    _close(net[0].weight.numpy().std(), 0.02, rel=0.02)
    assert np.all(net[0].bias.numpy() == 0) and np.all(net[1].bias.numpy() == 0)
    _close(net[1].weight.numpy().mean(), 1.0, rel=0.01)  # batch norm scales around 1


def test_linear_uses_pytorch_default_uniform_bounds():
    layer = nn.Linear(FAN_IN, FAN_OUT)
    bound = 1 / math.sqrt(FAN_IN)
    _uniform_bound_and_std(layer.weight, bound)
    b = layer.bias.numpy()
    assert np.abs(b).max() <= bound and np.abs(b).max() > 0.9 * bound
    assert layer.weight.dtype == np.float32


def test_conv_shaped_weights_count_the_receptive_field():
    w = tg.zeros(64, 32, 3, 3)  # (out, in, kh, kw)
    init.kaiming_normal_(w)
    _close(w.numpy().std(), math.sqrt(2 / (32 * 9)), rel=0.02)
    init.xavier_uniform_(w)
    assert np.abs(w.numpy()).max() <= math.sqrt(6 / (32 * 9 + 64 * 9))


def test_calculate_gain_matches_pytorch_table():
    assert init.calculate_gain("linear") == 1 and init.calculate_gain("sigmoid") == 1
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert init.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    assert init.calculate_gain("leaky_relu") == pytest.approx(math.sqrt(2 / (1 + 1e-4)))
    with pytest.raises(ValueError, match="unknown nonlinearity"):
        init.calculate_gain("swish")


def test_seeding_dtypes_and_rng():
    tg.manual_seed(5)
    a = init.xavier_normal_(tg.zeros(20, 30, dtype=np.float64)).numpy()
    tg.manual_seed(5)
    b = init.xavier_normal_(tg.zeros(20, 30, dtype=np.float64)).numpy()
    assert a.dtype == np.float64 and np.array_equal(a, b)
    c = init.normal_(tg.zeros(20, 30), rng=np.random.default_rng(1)).numpy()
    d = init.normal_(tg.zeros(20, 30), rng=np.random.default_rng(1)).numpy()
    assert np.array_equal(c, d) and not np.array_equal(c, a.astype(np.float32))


def test_init_errors():
    with pytest.raises(ValueError, match="at least 2 axes"):
        init.xavier_uniform_(tg.zeros(5))
    with pytest.raises(ValueError, match="'fan_in' or 'fan_out'"):
        init.kaiming_normal_(tg.zeros(3, 3), mode="fan_avg")
    with pytest.raises(ValueError, match="fan_in is 0"):
        init.kaiming_uniform_(tg.zeros(3, 0))
    with pytest.raises(ValueError, match="low must not exceed high"):
        init.uniform_(tg.zeros(3), 1.0, 0.0)
    with pytest.raises(ValueError, match="std must be non-negative"):
        init.normal_(tg.zeros(3), 0.0, -1.0)


def test_initializers_work_on_the_device(device):
    w = init.kaiming_uniform_(tg.zeros(50, 40, device=device))
    assert w.device == device and np.abs(w.numpy()).max() <= math.sqrt(6 / 40)


def test_default_init_redraws_every_linear_in_order_within_pytorch_bounds():
    from tinygan import backend
    m = nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Sequential(nn.Linear(3, 2)))
    init.default_init_(m, backend.rng(5))
    rng = backend.rng(5)  # the same draws, layer by layer, weight then bias
    for layer, fan in ((m[0], 4), (m[2][0], 3)):
        for p in (layer.weight, layer.bias):
            bound = 1 / np.sqrt(fan)
            expect = rng.uniform(-bound, bound, p.shape)
            np.testing.assert_allclose(p.numpy(), expect, rtol=1e-6)
            assert np.abs(p.numpy()).max() <= bound
