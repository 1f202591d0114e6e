"""tinygan.nn convolution layers: Conv2d, ConvTranspose2d, Upsample, AvgPool2d. Shapes, PyTorch's
weight layouts, default initialisation and state_dict keys, equality with the torch layers
(weights copied both ways, outputs and gradients), derivatives, and errors naming the layer."""
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import tinygan as tg
import tinygan.nn as nn
from tinygan.testing import gradcheck, gradgradcheck

F64 = np.float64


def _settings(**kwargs):
    return settings(suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow], **kwargs)


# ---------------------------------------------------------------- shapes, layouts, init


def test_shapes_keys_and_layouts(device):
    conv = nn.Conv2d(3, 8, 4, stride=2, padding=1, device=device)
    deconv = nn.ConvTranspose2d(8, 3, (4, 3), stride=(2, 1), padding=(1, 1), output_padding=(1, 0),
                                device=device)
    assert conv.weight.shape == (8, 3, 4, 4) and conv.bias.shape == (8,)
    assert deconv.weight.shape == (8, 3, 4, 3) and deconv.bias.shape == (3,)
    assert list(conv.state_dict()) == ["weight", "bias"]
    assert list(deconv.state_dict()) == ["weight", "bias"]
    x = tg.randn(5, 3, 28, 28, device=device)
    h = conv(x)
    assert h.shape == (5, 8, 14, 14) and h.device == device
    assert deconv(h).shape == (5, 3, 29, 14)  # (14-1)*2 - 2 + 4 + 1, (14-1) - 2 + 3
    assert nn.Conv2d(3, 8, 3, bias=False).bias is None
    assert list(nn.Conv2d(3, 8, 3, bias=False).state_dict()) == ["weight"]
    assert repr(conv) == "Conv2d(3, 8, kernel_size=(4, 4), stride=(2, 2), padding=(1, 1))"
    assert "output_padding=(1, 0)" in repr(deconv)


@pytest.mark.parametrize("make, fan_in", [
    (lambda: nn.Conv2d(16, 32, 3), 16 * 9),
    (lambda: nn.ConvTranspose2d(16, 32, 3), 32 * 9),  # PyTorch reads weight axis 1: out_channels
])
def test_default_init_is_pytorchs_uniform(make, fan_in):
    layer = make()
    bound = 1 / math.sqrt(fan_in)
    for p in (layer.weight.numpy(), layer.bias.numpy()):
        assert np.abs(p).max() <= bound
    w = layer.weight.numpy()
    assert np.abs(w).max() > 0.95 * bound  # fills the interval, not a narrower one
    assert abs(w.std() - bound / math.sqrt(3)) < 0.05 * bound  # the std of U(-b, b)


def test_dtype_and_seed():
    tg.manual_seed(3)
    a = nn.Conv2d(2, 3, 3, dtype=F64)
    tg.manual_seed(3)
    b = nn.Conv2d(2, 3, 3, dtype=F64)
    assert a.weight.dtype == F64 and np.array_equal(a.weight.numpy(), b.weight.numpy())


# ---------------------------------------------------------------- derivatives through the layers


def _as_function(layer):
    def fn(x, w, b):
        saved = layer.weight, layer.bias
        layer.weight, layer.bias = w, b
        try:
            return layer(x)
        finally:
            layer.weight, layer.bias = saved
    return fn


@pytest.mark.parametrize("layer, in_shape", [
    (nn.Conv2d(2, 3, 3, stride=2, padding=1, dtype=F64), (2, 2, 5, 5)),
    (nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1, output_padding=1, dtype=F64), (2, 2, 3, 3)),
], ids=["Conv2d", "ConvTranspose2d"])
def test_layer_gradients_first_and_second_order(device, layer, in_shape):
    layer.to(device)
    x = tg.randn(*in_shape, dtype=F64, device=device)
    fn = _as_function(layer)
    args = (x, layer.weight.detach(), layer.bias.detach())
    assert gradcheck(fn, *args, name=type(layer).__name__)
    assert gradgradcheck(lambda *a: fn(*a).tanh(), *args, name=type(layer).__name__)


def test_resamplers_gradients(device):
    x = tg.randn(2, 3, 4, 6, dtype=F64, device=device)
    assert gradgradcheck(lambda a: nn.AvgPool2d(2)(a) ** 2, x)
    assert gradgradcheck(lambda a: nn.Upsample(2)(a) ** 2, x)
    assert nn.AvgPool2d(3, stride=1, padding=1)(x).shape == (2, 3, 4, 6)
    assert nn.Upsample((2, 1))(x).shape == (2, 3, 8, 6)


def test_a_tiny_dcgan_trains_one_step(device):
    """Every conv layer inside a GAN step: losses are finite and every parameter gets a grad."""
    from tinygan.gan import losses
    tg.manual_seed(0)
    G = nn.Sequential(nn.Linear(8, 16 * 2 * 2), nn.Unflatten(1, (16, 2, 2)), nn.ReLU(),
                      nn.ConvTranspose2d(16, 8, 4, 2, 1), nn.ReLU(), nn.Upsample(2),
                      nn.Conv2d(8, 1, 3, 1, 1), nn.Tanh()).to(device)          # (N, 1, 8, 8)
    D = nn.Sequential(nn.Conv2d(1, 8, 4, 2, 1), nn.LeakyReLU(0.2), nn.AvgPool2d(2),  # (N, 8, 2, 2)
                      nn.Flatten(), nn.Linear(32, 1)).to(device)
    fake = G(tg.randn(4, 8, device=device))
    assert fake.shape == (4, 1, 8, 8)
    losses.d_minimax(D(tg.randn(4, 1, 8, 8, device=device)), D(fake.detach())).backward()
    losses.g_nonsaturating(D(fake)).backward()
    for name, p in G.named_parameters() + D.named_parameters():
        assert p.grad is not None and np.isfinite(p.grad.numpy()).all(), name


# ---------------------------------------------------------------- PyTorch


@_settings(max_examples=10)
@given(st.integers(1, 3), st.integers(1, 4), st.integers(1, 4), st.integers(1, 4),
       st.integers(1, 3), st.integers(0, 2), st.booleans(), st.integers(4, 9))
def test_layers_match_torch_both_ways(n, cin, cout, k, s, p, bias, size):
    torch = pytest.importorskip("torch")
    tg.manual_seed(n + cin + cout)
    x = np.random.default_rng(size).standard_normal((n, cin, size, size))
    pairs = []
    if size + 2 * p >= k:
        pairs.append((nn.Conv2d(cin, cout, k, s, p, bias=bias, dtype=F64),
                      lambda: torch.nn.Conv2d(cin, cout, k, s, p, bias=bias).double()))
    if (size - 1) * s - 2 * p + k + (s - 1) >= 1:
        pairs.append((nn.ConvTranspose2d(cin, cout, k, s, p, output_padding=s - 1, bias=bias,
                                         dtype=F64),
                      lambda: torch.nn.ConvTranspose2d(cin, cout, k, s, p, output_padding=s - 1,
                                                       bias=bias).double()))
    for ours, make_theirs in pairs:
        theirs = make_theirs()
        # tinygan -> torch: our initial weights load into the torch layer
        theirs.load_state_dict({k_: torch.tensor(v) for k_, v in ours.state_dict().items()})
        xt = torch.tensor(x, requires_grad=True)
        xo = tg.tensor(x, requires_grad=True, dtype=F64)
        yo, yt = ours(xo), theirs(xt)
        np.testing.assert_allclose(yo.numpy(), yt.detach().numpy(), rtol=1e-10, atol=1e-10)
        (yo ** 2).sum().backward()
        (yt ** 2).sum().backward()
        np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=1e-9, atol=1e-9)
        for name, param in theirs.named_parameters():
            np.testing.assert_allclose(getattr(ours, name).grad.numpy(), param.grad.numpy(),
                                       rtol=1e-9, atol=1e-9)
        # torch -> tinygan: a torch layer's weights load into ours
        fresh = make_theirs()
        ours.load_state_dict({k_: v.detach().numpy() for k_, v in fresh.state_dict().items()})
        np.testing.assert_allclose(ours(xo).numpy(), fresh(xt).detach().numpy(), rtol=1e-10,
                                   atol=1e-10)


def test_resamplers_match_torch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).standard_normal((2, 3, 7, 6))
    xt = torch.tensor(x)
    for ours, theirs in [(nn.AvgPool2d(2), torch.nn.AvgPool2d(2)),
                         (nn.AvgPool2d(3, 2, 1), torch.nn.AvgPool2d(3, 2, 1)),
                         (nn.Upsample(scale_factor=2), torch.nn.Upsample(scale_factor=2)),
                         (nn.Upsample(scale_factor=(3, 2)),
                          torch.nn.Upsample(scale_factor=(3, 2)))]:
        np.testing.assert_allclose(ours(tg.tensor(x, dtype=F64)).numpy(), theirs(xt).numpy(),
                                   rtol=1e-12, atol=1e-12, err_msg=repr(ours))


# ---------------------------------------------------------------- errors name the layer


@pytest.mark.parametrize("call, message", [
    (lambda: nn.Conv2d(3, 8, 3)(tg.zeros(1, 4, 8, 8)),
     r"Conv2d\(3, 8, kernel_size=\(3, 3\), stride=\(1, 1\)\): conv2d: input of shape "
     r"\(1, 4, 8, 8\) has 4 channels but weight of shape \(8, 3, 3, 3\) expects 3"),
    (lambda: nn.Conv2d(3, 8, 3)(tg.zeros(3, 8, 8)),
     r"Conv2d\(3, 8.*input must be 4-D \(N, C, H, W\), got shape \(3, 8, 8\)"),
    (lambda: nn.Conv2d(3, 8, 5)(tg.zeros(1, 3, 4, 4)),
     r"Conv2d\(3, 8, kernel_size=\(5, 5\).*: conv2d: kernel \(5, 5\) is larger than the padded"
     r" input"),
    (lambda: nn.ConvTranspose2d(4, 2, 3)(tg.zeros(1, 3, 4, 4)),
     r"ConvTranspose2d\(4, 2, .*input of shape \(1, 3, 4, 4\) has 3 channels"),
    (lambda: nn.ConvTranspose2d(4, 2, 2, padding=2)(tg.zeros(1, 4, 1, 1)),
     r"ConvTranspose2d\(4, 2.*padding \(2, 2\) is too large"),
    (lambda: nn.ConvTranspose2d(4, 2, 3, stride=2, output_padding=2),
     r"ConvTranspose2d: output_padding \(2, 2\) must be smaller than stride \(2, 2\)"),
    (lambda: nn.Conv2d(3, 8, 0), r"Conv2d: kernel_size must be an int or a pair of ints >= 1"),
    (lambda: nn.Conv2d(3, 8, 3, stride=(1, 2, 3)), r"Conv2d: stride must be"),
    (lambda: nn.Conv2d(3.0, 8, 3), r"Conv2d: in_channels must be a non-negative int"),
    (lambda: nn.AvgPool2d(2, padding=2), r"AvgPool2d: padding \(2, 2\) must be at most half"),
    (lambda: nn.AvgPool2d(5)(tg.zeros(1, 1, 3, 3)), r"AvgPool2d\(kernel_size=\(5, 5\).*larger"),
    (lambda: nn.Upsample(2, mode="bilinear"), r"Upsample: only mode='nearest'"),
    (lambda: nn.Upsample(2)(tg.zeros(2, 2)), r"Upsample\(scale_factor=\(2, 2\).*must be 4-D"),
])
def test_errors_name_the_layer_and_shapes(call, message):
    with pytest.raises(ValueError, match=message):
        call()
