"""tinygan.conv: conv2d and conv_transpose2d against direct loops, the adjoint identity that makes
one the other's backward, first and second derivatives (float64), PyTorch where installed,
avg_pool2d and interpolate, and every shape that cannot work."""
import platform
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings, strategies as st

import tinygan as tg
import tinygan.functional as F
from tinygan import conv
from tinygan.testing import gradcheck, gradgradcheck


def _settings(**kwargs):
    """The `device` fixture holds no state between examples, so hypothesis may reuse it."""
    return settings(suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow], **kwargs)


# ---------------------------------------------------------------- direct-loop references


def conv2d_loops(x, w, b, stride, padding):
    """y[n,o,i,j] = b[o] + sum_{c,p,q} w[o,c,p,q] xpad[n,c,i*sh+p,j*sw+q], one output at a time."""
    (sh, sw), (ph, pw) = stride, padding
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    xp = np.zeros((n, c, h + 2 * ph, wd + 2 * pw))
    xp[:, :, ph:ph + h, pw:pw + wd] = x
    oh, ow = (h + 2 * ph - kh) // sh + 1, (wd + 2 * pw - kw) // sw + 1
    y = np.zeros((n, o, oh, ow))
    for i in range(oh):
        for j in range(ow):
            patch = xp[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw]  # (N, C, KH, KW)
            y[:, :, i, j] = np.einsum("ncpq,ocpq->no", patch, w)
    return y if b is None else y + b[None, :, None, None]


def conv_transpose2d_loops(x, w, b, stride, padding, output_padding):
    """Every input pixel scatters x[n,i,h,w] * w[i,:,:,:] into the output at (h*sh, w*sw), then the
    padding is cropped away: the transposed convolution as a loop over input pixels."""
    (sh, sw), (ph, pw), (oph, opw) = stride, padding, output_padding
    n, ci, h, wd = x.shape
    _, co, kh, kw = w.shape
    full = np.zeros((n, co, (h - 1) * sh + kh + oph, (wd - 1) * sw + kw + opw))
    for i in range(h):
        for j in range(wd):
            full[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw] += np.einsum("nc,cdpq->ndpq",
                                                                            x[:, :, i, j], w)
    oh = (h - 1) * sh - 2 * ph + kh + oph
    ow = (wd - 1) * sw - 2 * pw + kw + opw
    y = full[:, :, ph:ph + oh, pw:pw + ow]
    return y if b is None else y + b[None, :, None, None]


# ---------------------------------------------------------------- strategies


@st.composite
def conv_cases(draw, max_side=7, max_channels=3, max_batch=2):
    """Shapes of a valid convolution: (N, C, H, W), (O, C, KH, KW), stride, padding, and an
    output_padding below the stride (for the transposed direction)."""
    n = draw(st.integers(1, max_batch))
    c = draw(st.integers(1, max_channels))
    o = draw(st.integers(1, max_channels))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    h = draw(st.integers(max(1, kh - 2 * padding[0]), max_side))
    w = draw(st.integers(max(1, kw - 2 * padding[1]), max_side))
    output_padding = (draw(st.integers(0, stride[0] - 1)), draw(st.integers(0, stride[1] - 1)))
    bias = draw(st.booleans())
    return dict(x=(n, c, h, w), w=(o, c, kh, kw), stride=stride, padding=padding,
                output_padding=output_padding, bias=bias)


def _arrays(case, seed, transposed=False):
    rng = np.random.default_rng(seed)
    n, c, h, w = case["x"]
    o, _, kh, kw = case["w"]
    if transposed:  # the transposed convolution reads (N, O, H', W') with weight (O, C, KH, KW)
        oh = conv.conv_output_size(h, kh, case["stride"][0], case["padding"][0])
        ow = conv.conv_output_size(w, kw, case["stride"][1], case["padding"][1])
        x = rng.standard_normal((n, o, oh, ow))
        b = rng.standard_normal(c) if case["bias"] else None
    else:
        x = rng.standard_normal((n, c, h, w))
        b = rng.standard_normal(o) if case["bias"] else None
    return x, rng.standard_normal((o, c, kh, kw)), b


def _t(a, device):
    return None if a is None else tg.tensor(a, dtype=np.float64, device=device)


def _transposed_fits(case):
    """conv_transpose2d of the conv's output size gives a non-empty output."""
    n, c, h, w = case["x"]
    _, _, kh, kw = case["w"]
    return all(conv.conv_output_size(s, k, st_, p) >= 1 and
               conv.conv_transpose_output_size(conv.conv_output_size(s, k, st_, p), k, st_, p,
                                               op) >= 1
               for s, k, st_, p, op in zip((h, w), (kh, kw), case["stride"], case["padding"],
                                           case["output_padding"]))


# ---------------------------------------------------------------- forward values


@_settings()
@given(conv_cases(), st.integers(0, 2**16))
def test_conv2d_matches_direct_loops(device, case, seed):
    x, w, b = _arrays(case, seed)
    y = F.conv2d(_t(x, device), _t(w, device), _t(b, device), case["stride"], case["padding"])
    ref = conv2d_loops(x, w, b, case["stride"], case["padding"])
    assert y.shape == ref.shape
    np.testing.assert_allclose(y.numpy(), ref, rtol=1e-10, atol=1e-10)


@_settings()
@given(conv_cases(), st.integers(0, 2**16))
def test_conv_transpose2d_matches_direct_loops(device, case, seed):
    assume(_transposed_fits(case))
    x, w, b = _arrays(case, seed, transposed=True)
    args = case["stride"], case["padding"], case["output_padding"]
    y = F.conv_transpose2d(_t(x, device), _t(w, device), _t(b, device), *args)
    ref = conv_transpose2d_loops(x, w, b, *args)
    assert y.shape == ref.shape
    np.testing.assert_allclose(y.numpy(), ref, rtol=1e-10, atol=1e-10)


@_settings()
@given(conv_cases(), st.integers(0, 2**16))
def test_adjoint_identity(device, case, seed):
    """<conv2d(x, w), y> = <x, conv_transpose2d(y, w)> for every x and y: the transposed
    convolution is the adjoint of the convolution (with the output_padding that restores x's
    size)."""
    x, w, _ = _arrays(case, seed)
    rng = np.random.default_rng(seed + 1)
    cx = F.conv2d(_t(x, device), _t(w, device), None, case["stride"], case["padding"])
    y = rng.standard_normal(cx.shape)
    extra = tuple(x.shape[2 + a] - conv.conv_transpose_output_size(
        cx.shape[2 + a], w.shape[2 + a], case["stride"][a], case["padding"][a]) for a in (0, 1))
    ty = F.conv_transpose2d(_t(y, device), _t(w, device), None, case["stride"], case["padding"],
                            extra)
    assert ty.shape == x.shape
    lhs, rhs = float((cx.numpy() * y).sum()), float((x * ty.numpy()).sum())
    assert lhs == pytest.approx(rhs, rel=1e-10, abs=1e-10)


def test_channel_last_and_strided_inputs_give_the_same_result(device):
    """Results are NCHW views of channel-last memory; any input layout must give equal values."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 6, 5))
    w = rng.standard_normal((4, 3, 3, 3))
    ref = conv2d_loops(x, w, None, (2, 1), (1, 1))
    channel_last = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    strided = np.zeros((2, 3, 12, 10))
    strided[:, :, ::2, ::2] = x
    for a in (x, channel_last, strided[:, :, ::2, ::2]):
        y = F.conv2d(_t(a, device), _t(w, device), stride=(2, 1), padding=1)
        np.testing.assert_allclose(y.numpy(), ref, rtol=1e-10, atol=1e-10)
    # chaining: the second convolution reads the first one's channel-last output
    w2 = rng.standard_normal((2, 4, 2, 2))
    y2 = F.conv2d(F.conv2d(_t(x, device), _t(w, device), stride=(2, 1), padding=1), _t(w2, device))
    np.testing.assert_allclose(y2.numpy(), conv2d_loops(ref, w2, None, (1, 1), (0, 0)),
                               rtol=1e-10, atol=1e-10)


def test_float32_stays_float32(device):
    x = tg.randn(2, 3, 8, 8, device=device)
    w = tg.randn(4, 3, 4, 4, device=device)
    assert F.conv2d(x, w, stride=2, padding=1).dtype == np.float32
    assert F.conv_transpose2d(F.conv2d(x, w, stride=2, padding=1), w, stride=2,
                              padding=1).dtype == np.float32


# ---------------------------------------------------------------- derivatives


@_settings(max_examples=12)
@given(conv_cases(max_side=5, max_channels=2), st.integers(0, 2**16))
def test_conv2d_gradcheck_and_gradgradcheck(device, case, seed):
    x, w, b = _arrays(case, seed)
    stride, padding = case["stride"], case["padding"]
    arrays = [_t(a, device) for a in (x, w, b) if a is not None]

    def f(*t):
        return F.conv2d(*t[:2], t[2] if len(t) == 3 else None, stride, padding)

    def f_squared(*t):  # squaring makes the second derivative reach every input
        return f(*t) ** 2

    assert gradcheck(f, *arrays, name="conv2d")
    assert gradgradcheck(f_squared, *arrays, name="conv2d**2")


@_settings(max_examples=12)
@given(conv_cases(max_side=5, max_channels=2), st.integers(0, 2**16))
def test_conv_transpose2d_gradcheck_and_gradgradcheck(device, case, seed):
    assume(_transposed_fits(case))
    x, w, b = _arrays(case, seed, transposed=True)
    args = case["stride"], case["padding"], case["output_padding"]
    arrays = [_t(a, device) for a in (x, w, b) if a is not None]

    def f(*t):
        return F.conv_transpose2d(*t[:2], t[2] if len(t) == 3 else None, *args)

    def f_tanh(*t):
        return f(*t).tanh()

    assert gradcheck(f, *arrays, name="conv_transpose2d")
    assert gradgradcheck(f_tanh, *arrays, name="tanh(conv_transpose2d)")


def test_weight_gradient_function_is_differentiable(device):
    """ConvNdWeightGrad, the third Function, checked on its own to first and second order."""
    rng = np.random.default_rng(3)
    x, gy = rng.standard_normal((2, 2, 5, 6)), rng.standard_normal((2, 3, 3, 3))

    def f(a, g):
        return conv.ConvNdWeightGrad((2, 3), (2, 2), (1, 1))(a, g)

    assert f(_t(x, device), _t(gy, device)).shape == (3, 2, 2, 3)
    assert gradcheck(f, _t(x, device), _t(gy, device))
    assert gradgradcheck(lambda a, g: f(a, g) ** 2, _t(x, device), _t(gy, device))


def test_gradient_penalty_through_a_conv_discriminator(device):
    """d/dw of ||d D(x) / dx||^2 (WGAN-GP/R1's term) through conv -> leaky_relu -> conv -> mean,
    against finite differences: needs every conv backward rule to be differentiable."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 1, 6, 6))
    w1 = rng.standard_normal((3, 1, 3, 3)) * 0.5
    w2 = rng.standard_normal((2, 3, 3, 3)) * 0.5

    def penalty(x_, a, b):
        x_ = tg.Tensor(x_.data, requires_grad=True)
        h = F.leaky_relu(F.conv2d(x_, a, stride=2, padding=1), 0.2)
        score = F.tanh(F.conv2d(h, b, padding=1)).mean()
        gx, = tg.grad(score, [x_], create_graph=True)
        return (gx * gx).sum()

    # keep leaky_relu's inputs away from its kink at 0 for the finite differences
    margin = np.abs(conv2d_loops(x, w1, None, (2, 2), (1, 1))).min()
    assert margin > 1e-4, "the seed puts a leaky_relu input on its kink; pick another"
    assert gradcheck(lambda a, b: penalty(_t(x, device), a, b), _t(w1, device), _t(w2, device),
                     name="gradient penalty")


# ---------------------------------------------------------------- PyTorch


@_settings(max_examples=20)
@given(conv_cases(max_side=9, max_channels=4, max_batch=3), st.integers(0, 2**16))
def test_matches_torch(case, seed):
    torch = pytest.importorskip("torch")
    x, w, b = _arrays(case, seed)
    tb = None if b is None else torch.tensor(b)
    ours = F.conv2d(_t(x, "cpu"), _t(w, "cpu"), _t(b, "cpu"), case["stride"], case["padding"])
    theirs = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w), tb, case["stride"],
                                        case["padding"])
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-10, atol=1e-10)
    if not _transposed_fits(case):
        return
    y, w, b = _arrays(case, seed + 1, transposed=True)
    tb = None if b is None else torch.tensor(b)
    args = case["stride"], case["padding"], case["output_padding"]
    ours = F.conv_transpose2d(_t(y, "cpu"), _t(w, "cpu"), _t(b, "cpu"), *args)
    theirs = torch.nn.functional.conv_transpose2d(torch.tensor(y), torch.tensor(w), tb, *args)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-10, atol=1e-10)


def test_gradients_match_torch_in_float32():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    x = rng.standard_normal((4, 3, 9, 9)).astype(np.float32)
    w = rng.standard_normal((5, 3, 4, 4)).astype(np.float32)
    b = rng.standard_normal(5).astype(np.float32)
    wt = rng.standard_normal((5, 2, 4, 4)).astype(np.float32)
    ours = [tg.tensor(a, requires_grad=True) for a in (x, w, b, wt)]
    theirs = [torch.tensor(a, requires_grad=True) for a in (x, w, b, wt)]
    (F.conv_transpose2d(F.conv2d(*ours[:3], stride=2, padding=1), ours[3], stride=2,
                        padding=1, output_padding=1) ** 2).sum().backward()
    (torch.nn.functional.conv_transpose2d(torch.nn.functional.conv2d(
        *theirs[:3], stride=2, padding=1), theirs[3], stride=2, padding=1,
        output_padding=1) ** 2).sum().backward()
    for a, t in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), rtol=1e-4, atol=1e-3)


# ---------------------------------------------------------------- pooling and upsampling


@_settings(max_examples=15)
@given(st.integers(1, 2), st.integers(1, 3), st.integers(1, 7), st.integers(1, 7),
       st.integers(1, 3), st.integers(1, 3), st.integers(0, 1), st.integers(0, 2**16))
def test_avg_pool2d_is_the_window_mean(device, n, c, h, w, k, s, p, seed):
    assume(2 * p <= k and h + 2 * p >= k and w + 2 * p >= k)
    x = np.random.default_rng(seed).standard_normal((n, c, h, w))
    y = F.avg_pool2d(_t(x, device), k, s, p)
    ones = np.full((1, 1, k, k), 1 / k ** 2)
    ref = conv2d_loops(x.reshape(n * c, 1, h, w), ones, None, (s, s), (p, p))
    np.testing.assert_allclose(y.numpy(), ref.reshape(n, c, *ref.shape[2:]), rtol=1e-10,
                               atol=1e-12)
    torch = pytest.importorskip("torch")
    theirs = torch.nn.functional.avg_pool2d(torch.tensor(x), k, s, p)
    np.testing.assert_allclose(y.numpy(), theirs.numpy(), rtol=1e-10, atol=1e-12)


def test_interpolate_repeats_pixels(device):
    x = np.arange(12.0).reshape(1, 2, 2, 3)
    y = F.interpolate(_t(x, device), scale_factor=(2, 3)).numpy()
    assert np.array_equal(y, x.repeat(2, axis=2).repeat(3, axis=3))


def test_pool_and_upsample_derivatives(device):
    rng = np.random.default_rng(6)
    x = _t(rng.standard_normal((2, 2, 5, 4)), device)
    assert gradcheck(lambda a: F.avg_pool2d(a, 3, 2, 1), x)
    assert gradgradcheck(lambda a: F.avg_pool2d(a, 2) ** 2, x)
    assert gradcheck(lambda a: F.interpolate(a, 2), x)
    assert gradgradcheck(lambda a: F.interpolate(a, (1, 2)) ** 2, x)


# ---------------------------------------------------------------- shapes that cannot work


def _z(*shape):
    return tg.zeros(*shape)


@pytest.mark.parametrize("call, message", [
    (lambda: F.conv2d(_z(1, 1, 3, 3), _z(1, 1, 5, 5)), r"conv2d: kernel \(5, 5\) is larger than"
                                                       r" the padded input.*\(1, 1, 3, 3\)"),
    (lambda: F.conv2d(_z(1, 1, 3, 3), _z(1, 1, 6, 2), padding=1), r"height 5 < 6"),
    (lambda: F.conv2d(_z(1, 2, 5, 5), _z(4, 3, 3, 3)),
     r"conv2d: input of shape \(1, 2, 5, 5\) has 2 channels but weight of shape \(4, 3, 3, 3\)"
     r" expects 3"),
    (lambda: F.conv2d(_z(2, 5, 5), _z(4, 2, 3, 3)), r"conv2d: input must be 4-D.*\(2, 5, 5\)"),
    (lambda: F.conv2d(_z(1, 2, 5, 5), _z(4, 2, 3)), r"conv2d: weight must be 4-D"),
    (lambda: F.conv2d(_z(1, 2, 5, 5), _z(4, 2, 3, 3), _z(3)), r"bias must have shape \(4,\)"),
    (lambda: F.conv2d(_z(1, 2, 5, 5), _z(4, 2, 3, 3), stride=0), r"conv2d: stride must be"),
    (lambda: F.conv2d(_z(1, 2, 5, 5), _z(4, 2, 3, 3), padding=-1), r"conv2d: padding must be"),
    (lambda: F.conv2d(_z(1, 2, 5, 5), _z(4, 2, 3, 3), stride=1.5), r"stride must be an int"),
    (lambda: F.conv_transpose2d(_z(1, 2, 3, 3), _z(2, 4, 3, 3), stride=2, output_padding=2),
     r"conv_transpose2d: output_padding \(2, 2\) must be smaller than stride \(2, 2\)"),
    (lambda: F.conv_transpose2d(_z(1, 2, 3, 3), _z(2, 4, 3, 3), output_padding=(0, 1)),
     r"output_padding \(0, 1\) must be smaller than stride \(1, 1\)"),
    (lambda: F.conv_transpose2d(_z(1, 3, 3, 3), _z(2, 4, 3, 3)),
     r"conv_transpose2d: input of shape \(1, 3, 3, 3\) has 3 channels but weight of shape "
     r"\(2, 4, 3, 3\) expects 2"),
    (lambda: F.conv_transpose2d(_z(1, 2, 1, 1), _z(2, 4, 2, 2), padding=1),
     r"conv_transpose2d: padding \(1, 1\) is too large.*output would be \(0, 0\)"),
    (lambda: F.conv_transpose2d(_z(1, 2, 3), _z(2, 4, 2, 2)), r"conv_transpose2d: input must be"),
    (lambda: F.conv_transpose2d(_z(1, 2, 3, 3), _z(2, 4, 2, 2), _z(2)),
     r"bias must have shape \(4,\)"),
    (lambda: F.avg_pool2d(_z(1, 1, 2, 2), 3), r"avg_pool2d: kernel \(3, 3\) is larger"),
    (lambda: F.avg_pool2d(_z(1, 1, 4, 4), 2, padding=2), r"at most half the kernel"),
    (lambda: F.avg_pool2d(_z(1, 4, 4), 2), r"avg_pool2d: input must be 4-D"),
    (lambda: F.interpolate(_z(1, 1, 2, 2), 2, mode="bilinear"), r"only mode='nearest'"),
    (lambda: F.interpolate(_z(1, 1, 2, 2), 0), r"interpolate: scale_factor must be"),
])
def test_bad_shapes_raise_clear_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_keep_freed_memory_leaves_results_unchanged():
    """backend.keep_freed_memory (used by the DCGAN benchmark) only changes where malloc finds
    memory: it reports whether it applied, and convolutions give the same numbers after it."""
    from tinygan import backend
    x, w = tg.randn(4, 3, 12, 12), tg.randn(5, 3, 4, 4)
    before = F.conv2d(x, w, stride=2, padding=1).numpy()
    applied = backend.keep_freed_memory()
    assert isinstance(applied, bool)
    if sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc":
        assert applied
    assert np.array_equal(F.conv2d(x, w, stride=2, padding=1).numpy(), before)


@pytest.mark.parametrize("limit", [1, 700, 10**9])
def test_batch_chunks_give_the_same_results(device, monkeypatch, limit):
    """The batch goes through in chunks of at most CHUNK_BYTES of patches: one sample at a time,
    uneven chunks and one chunk must all give the loops' values and gradients."""
    monkeypatch.setitem(conv.CHUNK_BYTES, device, limit)
    assert len(conv._batch_chunks(5, 300, tg.zeros(1, device=device).data)) == \
        (5 if limit == 1 else 3 if limit == 700 else 1)
    rng = np.random.default_rng(7)
    x, w = rng.standard_normal((5, 2, 7, 6)), rng.standard_normal((3, 2, 3, 2))
    y = F.conv2d(_t(x, device), _t(w, device), stride=2, padding=1)
    np.testing.assert_allclose(y.numpy(), conv2d_loops(x, w, None, (2, 2), (1, 1)), atol=1e-12)
    g = rng.standard_normal(y.shape)
    z = F.conv_transpose2d(_t(g, device), _t(w, device), stride=2, padding=1, output_padding=(0, 1))
    np.testing.assert_allclose(z.numpy(), conv_transpose2d_loops(g, w, None, (2, 2), (1, 1),
                                                                 (0, 1)), atol=1e-12)
    assert gradcheck(lambda a, b: F.conv2d(a, b, stride=2, padding=1), _t(x, device),
                     _t(w, device))


def test_an_empty_batch_gives_empty_results_and_zero_weight_gradients(device):
    x = tg.zeros(0, 3, 8, 8, device=device, requires_grad=True)
    w = tg.randn(4, 3, 3, 3, device=device, requires_grad=True)
    y = F.conv2d(x, w, stride=2, padding=1)
    assert y.shape == (0, 4, 4, 4)
    y.sum().backward()
    assert x.grad.shape == x.shape and not w.grad.numpy().any()
    assert F.conv_transpose2d(y, w, stride=2, padding=1, output_padding=1).shape == (0, 3, 8, 8)
