"""tinygan.conv in one and three spatial dimensions (sequences and voxels), the same three
Functions as 2-D: conv1d/conv3d and their transposes against a direct loop over output
positions, the adjoint identity, first and second derivatives in float64, PyTorch where
installed; the layers Conv1d/Conv3d/ConvTranspose1d/3d and BatchNorm3d with PyTorch's layouts
and state_dict keys."""
import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings, strategies as st

import tinygan as tg
import tinygan.functional as F
import tinygan.nn as nn
from tinygan import conv
from tinygan.nn.utils import spectral_norm_layers
from tinygan.testing import gradcheck, gradgradcheck

F64 = np.float64


def _settings(**kwargs):
    return settings(suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow], **kwargs)


# ---------------------------------------------------------------- direct-loop references


def conv_loops(x, w, b, stride, padding):
    """y[n,o,i..] = b[o] + sum_{c,p..} w[o,c,p..] xpad[n,c,i*s+p..], one output position at a
    time, for any number of spatial axes."""
    d = x.ndim - 2
    xp = np.pad(x, [(0, 0), (0, 0)] + [(p, p) for p in padding])
    out = [(s - k) // st + 1 for s, k, st in zip(xp.shape[2:], w.shape[2:], stride)]
    y = np.zeros((x.shape[0], w.shape[0], *out))
    for pos in itertools.product(*map(range, out)):
        window = tuple(slice(i * s, i * s + k) for i, s, k in zip(pos, stride, w.shape[2:]))
        patch = xp[(slice(None), slice(None), *window)]  # (N, C, *K)
        y[(slice(None), slice(None), *pos)] = np.tensordot(patch, w, axes=(
            list(range(1, d + 2)), list(range(1, d + 2))))
    return y if b is None else y + b.reshape(1, -1, *(1,) * d)


def conv_transpose_loops(x, w, b, stride, padding, output_padding):
    """Every input position scatters x[n,:,i..] . w into the output at i*s, then the padding is
    cropped away."""
    d = x.ndim - 2
    k = w.shape[2:]
    full = np.zeros((x.shape[0], w.shape[1], *((s - 1) * st + kk + op for s, st, kk, op in
                                                zip(x.shape[2:], stride, k, output_padding))))
    for pos in itertools.product(*map(range, x.shape[2:])):
        window = tuple(slice(i * s, i * s + kk) for i, s, kk in zip(pos, stride, k))
        full[(slice(None), slice(None), *window)] += np.tensordot(
            x[(slice(None), slice(None), *pos)], w, axes=(1, 0))
    crop = tuple(slice(p, n - p) for p, n in zip(padding, full.shape[2:]))
    y = full[(slice(None), slice(None), *crop)]
    return y if b is None else y + b.reshape(1, -1, *(1,) * d)


# ---------------------------------------------------------------- cases


@st.composite
def cases(draw, d, max_side=6, max_channels=3):
    """A valid d-dimensional convolution: sizes, kernel, stride, padding, output_padding < stride."""
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(d))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(d))
    padding = tuple(draw(st.integers(0, 1)) for _ in range(d))
    size = tuple(draw(st.integers(max(1, k - 2 * p), max_side)) for k, p in zip(kernel, padding))
    return dict(n=draw(st.integers(1, 2)), c=draw(st.integers(1, max_channels)),
                o=draw(st.integers(1, max_channels)), size=size, kernel=kernel, stride=stride,
                padding=padding, bias=draw(st.booleans()),
                output_padding=tuple(draw(st.integers(0, s - 1)) for s in stride))


def _arrays(case, seed, transposed=False):
    """(x, w, b) of the case; transposed: x is the conv's output-shaped input and w (O, C, *K)
    is read as (in, out, *K)."""
    rng = np.random.default_rng(seed)
    out = [conv.conv_output_size(s, k, st_, p) for s, k, st_, p in
           zip(case["size"], case["kernel"], case["stride"], case["padding"])]
    chans = (case["o"], case["c"]) if transposed else (case["c"], case["o"])
    x = rng.standard_normal((case["n"], chans[0], *(out if transposed else case["size"])))
    w = rng.standard_normal((case["o"], case["c"], *case["kernel"]))
    b = rng.standard_normal(chans[1]) if case["bias"] else None
    return x, w, b


def _fits(case):
    return all(conv.conv_transpose_output_size(conv.conv_output_size(s, k, st_, p), k, st_, p,
                                               op) >= 1
               for s, k, st_, p, op in zip(case["size"], case["kernel"], case["stride"],
                                           case["padding"], case["output_padding"]))


def _t(a, device="cpu"):
    return None if a is None else tg.tensor(a, dtype=F64, device=device)


def _fns(d):
    return getattr(F, f"conv{d}d"), getattr(F, f"conv_transpose{d}d")


# ---------------------------------------------------------------- forward values


@pytest.mark.parametrize("d", [1, 3])
@_settings(max_examples=25)
@given(data=st.data())
def test_conv_and_transpose_match_direct_loops(device, d, data):
    case = data.draw(cases(d, max_side=6 if d == 1 else 4))
    seed = data.draw(st.integers(0, 2**16))
    f, ft = _fns(d)
    x, w, b = _arrays(case, seed)
    got = f(_t(x, device), _t(w, device), _t(b, device), case["stride"], case["padding"])
    np.testing.assert_allclose(got.numpy(), conv_loops(x, w, b, case["stride"], case["padding"]),
                               rtol=1e-10, atol=1e-10)
    assume(_fits(case))
    y, w, b = _arrays(case, seed + 1, transposed=True)
    args = case["stride"], case["padding"], case["output_padding"]
    got = ft(_t(y, device), _t(w, device), _t(b, device), *args)
    np.testing.assert_allclose(got.numpy(), conv_transpose_loops(y, w, b, *args),
                               rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("d", [1, 3])
@_settings(max_examples=15)
@given(data=st.data())
def test_adjoint_identity(device, d, data):
    """<conv(x, w), y> = <x, conv_transpose(y, w)> when output_padding restores x's size."""
    case = data.draw(cases(d, max_side=5 if d == 1 else 4))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    f, ft = _fns(d)
    x, w, _ = _arrays(case, 0)
    y = f(_t(x, device), _t(w, device), None, case["stride"], case["padding"]).numpy()
    y = rng.standard_normal(y.shape)
    extra = tuple(s - conv.conv_transpose_output_size(o, k, st_, p) for s, o, k, st_, p in
                  zip(case["size"], y.shape[2:], case["kernel"], case["stride"], case["padding"]))
    back = ft(_t(y, device), _t(w, device), None, case["stride"], case["padding"], extra).numpy()
    lhs = float((f(_t(x, device), _t(w, device), None, case["stride"],
                   case["padding"]).numpy() * y).sum())
    assert back.shape == x.shape
    assert abs(lhs - float((x * back).sum())) < 1e-9 * max(1.0, abs(lhs))


# ---------------------------------------------------------------- derivatives


@pytest.mark.parametrize("d", [1, 3])
@_settings(max_examples=6)
@given(data=st.data())
def test_gradcheck_and_gradgradcheck(device, d, data):
    case = data.draw(cases(d, max_side=4 if d == 1 else 3, max_channels=2))
    seed = data.draw(st.integers(0, 2**16))
    f, ft = _fns(d)
    x, w, b = _arrays(case, seed)
    arrays = [_t(a, device) for a in (x, w, b) if a is not None]

    def g(*t):
        return f(*t[:2], t[2] if len(t) == 3 else None, case["stride"], case["padding"])

    assert gradcheck(g, *arrays, name=f"conv{d}d")
    assert gradgradcheck(lambda *t: g(*t).tanh(), *arrays, name=f"tanh(conv{d}d)")
    assume(_fits(case))
    y, w, b = _arrays(case, seed + 1, transposed=True)
    arrays = [_t(a, device) for a in (y, w, b) if a is not None]
    args = case["stride"], case["padding"], case["output_padding"]

    def gt(*t):
        return ft(*t[:2], t[2] if len(t) == 3 else None, *args)

    assert gradcheck(gt, *arrays, name=f"conv_transpose{d}d")
    assert gradgradcheck(lambda *t: gt(*t).tanh(), *arrays, name=f"tanh(conv_transpose{d}d)")


def test_a_gradient_penalty_through_a_3d_critic(device):
    """d/dw of ||d D(x)/dx||^2 through conv3d -> leaky_relu -> conv3d: the second-order path
    WGAN-GP needs, on voxels."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 1, 4, 4, 4))
    w1, w2 = rng.standard_normal((2, 1, 2, 2, 2)) * 0.5, rng.standard_normal((1, 2, 3, 3, 3)) * 0.5

    def penalty(a, c):
        xt = _t(x, device).requires_grad_()
        out = F.conv3d(F.leaky_relu(F.conv3d(xt, a, stride=1), 0.2), c).sum()
        gx, = tg.grad(out, [xt], create_graph=True)
        return (gx ** 2).sum()

    assert gradcheck(penalty, _t(w1, device), _t(w2, device), name="3-D gradient penalty")


# ---------------------------------------------------------------- PyTorch


@pytest.mark.parametrize("d", [1, 3])
@_settings(max_examples=15)
@given(data=st.data())
def test_matches_torch_forward_and_gradients(d, data):
    torch = pytest.importorskip("torch")
    case = data.draw(cases(d, max_side=7 if d == 1 else 5, max_channels=4))
    assume(_fits(case))
    seed = data.draw(st.integers(0, 2**16))
    f, ft = _fns(d)
    tf = getattr(torch.nn.functional, f"conv{d}d")
    tt = getattr(torch.nn.functional, f"conv_transpose{d}d")
    x, w, b = _arrays(case, seed)
    wt = np.random.default_rng(seed + 2).standard_normal((case["o"], case["c"], *case["kernel"]))
    args = case["stride"], case["padding"]
    # conv then transposed conv back to (N, C, *size'), a scalar loss, all gradients compared
    ours = [_t(a).requires_grad_() for a in (x, w, wt)]
    theirs = [torch.tensor(a, requires_grad=True) for a in (x, w, wt)]
    bias = None if b is None else _t(b)
    tbias = None if b is None else torch.tensor(b)
    ys = f(ours[0], ours[1], bias, *args)
    yt = tf(theirs[0], theirs[1], tbias, *args)
    np.testing.assert_allclose(ys.numpy(), yt.detach().numpy(), rtol=1e-10, atol=1e-10)
    zs = ft(ys, ours[2], None, *args, case["output_padding"])  # weight (O, C, *K) is (in, out)
    zt = tt(yt, theirs[2], None, *args, case["output_padding"])
    np.testing.assert_allclose(zs.numpy(), zt.detach().numpy(), rtol=1e-10, atol=1e-10)
    (zs ** 2).sum().backward()
    (zt ** 2).sum().backward()
    for a, t in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), rtol=1e-9, atol=1e-9)


# ---------------------------------------------------------------- layers


@pytest.mark.parametrize("ours, theirs, shape", [
    (lambda: nn.Conv1d(3, 5, 4, stride=2, padding=1, dtype=F64), "Conv1d(3, 5, 4, stride=2, padding=1)",
     (2, 3, 16)),
    (lambda: nn.ConvTranspose1d(3, 5, 4, stride=2, padding=1, output_padding=1, dtype=F64),
     "ConvTranspose1d(3, 5, 4, stride=2, padding=1, output_padding=1)", (2, 3, 8)),
    (lambda: nn.Conv3d(2, 4, (4, 3, 2), stride=(2, 1, 2), padding=(1, 1, 0), dtype=F64),
     "Conv3d(2, 4, (4, 3, 2), stride=(2, 1, 2), padding=(1, 1, 0))", (2, 2, 8, 6, 6)),
    (lambda: nn.ConvTranspose3d(4, 2, 4, stride=2, padding=1, bias=False, dtype=F64),
     "ConvTranspose3d(4, 2, 4, stride=2, padding=1, bias=False)", (2, 4, 3, 3, 3)),
])
def test_layers_load_torch_weights_and_agree(ours, theirs, shape):
    """Same weight shape and state_dict keys as PyTorch's layer; its weights loaded here give
    its outputs."""
    torch = pytest.importorskip("torch")
    mine, ref = ours(), eval("torch.nn." + theirs).double()
    assert list(mine.state_dict()) == list(ref.state_dict())
    assert all(mine.state_dict()[k].shape == tuple(v.shape) for k, v in ref.state_dict().items())
    mine.load_state_dict({k: v.numpy() for k, v in ref.state_dict().items()})
    x = np.random.default_rng(0).standard_normal(shape)
    np.testing.assert_allclose(mine(_t(x)).numpy(), ref(torch.tensor(x)).detach().numpy(),
                               rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("make, fan_in", [
    (lambda: nn.Conv1d(16, 32, 5), 16 * 5),
    (lambda: nn.Conv3d(4, 8, 3), 4 * 27),
    (lambda: nn.ConvTranspose3d(4, 8, 3), 8 * 27),  # PyTorch reads weight axis 1: out_channels
])
def test_default_init_bound_is_one_over_sqrt_fan_in(make, fan_in):
    w = make().weight.numpy()
    bound = 1 / np.sqrt(fan_in)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.8 * bound


def test_layer_sizes_and_reprs():
    assert nn.Conv3d(1, 8, 4, 2, 1)(tg.zeros((2, 1, 16, 16, 16))).shape == (2, 8, 8, 8, 8)
    assert nn.ConvTranspose3d(8, 1, 4, 2, 1)(tg.zeros((2, 8, 8, 8, 8))).shape == (2, 1, 16, 16, 16)
    assert nn.Conv1d(2, 3, 3, padding=1)(tg.zeros((4, 2, 16))).shape == (4, 3, 16)
    assert repr(nn.Conv3d(1, 8, 4, 2, 1)) == ("Conv3d(1, 8, kernel_size=(4, 4, 4), "
                                              "stride=(2, 2, 2), padding=(1, 1, 1))")
    assert repr(nn.ConvTranspose1d(2, 3, 4, 2)) == ("ConvTranspose1d(2, 3, kernel_size=(4,), "
                                                    "stride=(2,))")


@pytest.mark.parametrize("call, words", [
    (lambda: nn.Conv3d(1, 8, (3, 3)), ["Conv3d", "kernel_size", "triple", "(3, 3)"]),
    (lambda: nn.Conv1d(1, 8, 3)(tg.zeros((2, 1, 4, 4))), ["Conv1d(1, 8", "3-D", "(N, C, L)"]),
    (lambda: nn.Conv3d(1, 8, 3)(tg.zeros((2, 1, 4, 4))), ["Conv3d(1, 8", "5-D",
                                                          "(N, C, D, H, W)"]),
    (lambda: F.conv3d(tg.zeros((1, 2, 4, 4, 4)), tg.zeros((3, 1, 2, 2, 2))),
     ["conv3d", "2 channels", "expects 1"]),
    (lambda: conv.conv1d(tg.zeros((1, 1, 2)), tg.zeros((1, 1, 5))),
     ["conv1d", "larger than the padded input", "length 2"]),
    (lambda: conv.conv_transpose3d(tg.zeros((1, 1, 2, 2, 2)), tg.zeros((1, 1, 2, 2, 2)),
                                   stride=2, output_padding=2),
     ["conv_transpose3d", "output_padding", "smaller than stride"]),
    (lambda: nn.BatchNorm3d(3)(tg.zeros((2, 3, 4, 4))), ["BatchNorm3d(3)", "5-D"]),
])
def test_bad_inputs_name_what_is_wrong(call, words):
    with pytest.raises(ValueError) as e:
        call()
    for w in words:
        assert w in str(e.value), (w, str(e.value))


def test_batchnorm3d_matches_torch_in_training_and_eval():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(1).standard_normal((3, 4, 2, 3, 2))
    mine, ref = nn.BatchNorm3d(4, dtype=F64), torch.nn.BatchNorm3d(4).double()
    for _ in range(2):
        np.testing.assert_allclose(mine(_t(x)).numpy(), ref(torch.tensor(x)).detach().numpy(),
                                   rtol=1e-10, atol=1e-10)
    mine.eval(), ref.eval()
    np.testing.assert_allclose(mine(_t(x)).numpy(), ref(torch.tensor(x)).detach().numpy(),
                               rtol=1e-10, atol=1e-10)
    assert list(mine.state_dict()) == list(ref.state_dict())


def test_spectral_norm_layers_reaches_3d_and_1d_convolutions():
    d = nn.Sequential(nn.Conv3d(1, 2, 2), nn.LeakyReLU(0.2), nn.Conv1d(2, 1, 1))
    spectral_norm_layers(d, rng=np.random.default_rng(0))
    names = [n for n, _ in d.named_parameters()]
    assert sum(n.endswith("weight_orig") for n in names) == 2, names
