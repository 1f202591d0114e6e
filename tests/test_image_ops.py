"""The layer pieces of the image-to-image systems (lesson 14): F.l1_loss, F.prelu / nn.PReLU,
F.pixel_shuffle / nn.PixelShuffle — known answers, gradients to second order in float64, and
PyTorch's results where torch is installed."""
from __future__ import annotations

import numpy as np
import pytest

import tinygan as tg
import tinygan.functional as F
import tinygan.nn as nn
from tinygan.testing import gradcheck, gradgradcheck

RNG = np.random.default_rng(0)


def _off_kinks(shape):
    """Values at least 0.1 away from 0 (the kink of |x|, PReLU and relu)."""
    x = RNG.uniform(0.1, 1.0, shape) * RNG.choice([-1.0, 1.0], shape)
    return x


def test_l1_loss_values_and_gradients():
    p, t = _off_kinks((3, 4)), np.zeros((3, 4))
    assert F.l1_loss(tg.tensor(p), tg.tensor(t)).item() == pytest.approx(np.abs(p).mean())
    assert F.l1_loss(tg.tensor(p), tg.tensor(t), reduction="sum").item() == \
        pytest.approx(np.abs(p).sum())
    assert gradcheck(lambda a: F.l1_loss(a, tg.tensor(t)), p)
    assert gradgradcheck(lambda a: F.l1_loss(a, tg.tensor(t), reduction="none"), p)


def test_prelu_per_channel_and_shared():
    x = _off_kinks((2, 3, 2, 2))
    a = np.array([0.1, 0.25, -0.5])
    want = np.where(x > 0, x, a.reshape(1, 3, 1, 1) * x)
    np.testing.assert_allclose(F.prelu(tg.tensor(x), tg.tensor(a)).numpy(), want, rtol=1e-12)
    assert gradcheck(F.prelu, x, a)
    assert gradgradcheck(F.prelu, x[:1], a)
    layer = nn.PReLU()
    assert layer.weight.numpy().tolist() == [0.25] and list(layer.state_dict()) == ["weight"]
    with pytest.raises(ValueError, match=r"shape \(1,\) or \(C,\)"):
        F.prelu(tg.tensor(x), tg.tensor(np.ones(2)))


def test_pixel_shuffle_moves_channels_into_blocks():
    x = np.arange(2 * 8 * 2 * 3, dtype=np.float64).reshape(2, 8, 2, 3)
    y = F.pixel_shuffle(tg.tensor(x), 2).numpy()
    assert y.shape == (2, 2, 4, 6)
    # output channel c, pixel (2h + i, 2w + j) = input channel c*4 + i*2 + j at (h, w)
    assert y[1, 1, 3, 4] == x[1, 1 * 4 + 1 * 2 + 0, 1, 2]
    assert gradcheck(lambda t: F.pixel_shuffle(t, 2), RNG.standard_normal((1, 4, 2, 2)))
    assert nn.PixelShuffle(2)(tg.tensor(x)).shape == (2, 2, 4, 6)
    with pytest.raises(ValueError, match=r"\(N, C \* 4, H, W\)"):
        F.pixel_shuffle(tg.tensor(np.zeros((1, 6, 2, 2))), 2)
    with pytest.raises(ValueError, match="int >= 1"):
        F.pixel_shuffle(tg.tensor(x), 0)


def test_against_torch():
    torch = pytest.importorskip("torch")
    x = RNG.standard_normal((2, 12, 3, 4)).astype(np.float32)
    np.testing.assert_array_equal(
        F.pixel_shuffle(tg.tensor(x), 2).numpy(),
        torch.nn.functional.pixel_shuffle(torch.tensor(x), 2).numpy())
    a = RNG.uniform(-0.5, 0.5, 12).astype(np.float32)
    np.testing.assert_allclose(
        F.prelu(tg.tensor(x), tg.tensor(a)).numpy(),
        torch.nn.functional.prelu(torch.tensor(x), torch.tensor(a)).numpy(), rtol=1e-6)
    t = RNG.standard_normal(x.shape).astype(np.float32)
    assert F.l1_loss(tg.tensor(x), tg.tensor(t)).item() == pytest.approx(
        torch.nn.functional.l1_loss(torch.tensor(x), torch.tensor(t)).item(), rel=1e-6)
