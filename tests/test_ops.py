"""Every op in tests/op_table.py against its NumPy reference (float64 and float32), its gradient
(gradcheck) and its second derivative (gradgradcheck), on every available device; then the fixed
conventions at kinks and ties, and numerical stability at +-1000."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import special

import tinygan as tg
import tinygan.functional as F
from tinygan import backend
from tinygan.testing import gradcheck, gradgradcheck

from op_table import BY_NAME, OPS, cases

FORWARD_EXAMPLES = 15
GRAD_EXAMPLES = 12
_HEALTH = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large]
TOL = {np.float64: dict(rtol=1e-9, atol=1e-12), np.float32: dict(rtol=1e-4, atol=1e-5)}


def _on(device, arrays, dtype=np.float64, requires_grad=True):
    return [tg.tensor(a.astype(dtype), requires_grad=requires_grad, device=device)
            for a in arrays]


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("op", OPS, ids=lambda op: op.name)
@settings(max_examples=FORWARD_EXAMPLES, suppress_health_check=_HEALTH)
@given(data=st.data())
def test_forward_matches_numpy(op, dtype, device, data):
    arrays, params = data.draw(cases(op), label="inputs, params")
    arrays = [a.astype(dtype) for a in arrays]
    tensors = _on(device, arrays, dtype)
    out = op.fn(*tensors, **params)
    expected = np.asarray(op.ref(*[a.astype(np.float64) for a in arrays], **params))
    assert out.dtype == dtype, f"{op.name} turned {np.dtype(dtype)} into {out.dtype}"
    assert out.device == device
    assert out.shape == expected.shape
    np.testing.assert_allclose(out.numpy(), expected, **TOL[dtype])
    # the backward pass keeps the dtype too, and gives each input a gradient of its own shape
    out.backward(tg.ones_like(out))
    for t in tensors:
        assert t.grad is not None and t.grad.shape == t.shape and t.grad.dtype == dtype


@pytest.mark.parametrize("op", OPS, ids=lambda op: op.name)
@settings(max_examples=GRAD_EXAMPLES, suppress_health_check=_HEALTH)
@given(data=st.data())
def test_gradcheck(op, device, data):
    arrays, params = data.draw(cases(op), label="inputs, params")
    xp = backend.xp_for(device)
    gradcheck(lambda *ts: op.fn(*ts, **params), *[xp.asarray(a) for a in arrays], name=op.name)


@pytest.mark.parametrize("op", OPS, ids=lambda op: op.name)
@settings(max_examples=GRAD_EXAMPLES, suppress_health_check=_HEALTH)
@given(data=st.data())
def test_gradgradcheck(op, device, data):
    arrays, params = data.draw(cases(op), label="inputs, params")
    xp = backend.xp_for(device)
    gradgradcheck(lambda *ts: op.fn(*ts, **params), *[xp.asarray(a) for a in arrays],
                  name=op.name)


# ---------------------------------------------------------------- fixed cases every run covers

_MASK = np.array([[True, False, True, True], [False, False, False, True],
                  [True, True, False, False]])
FIXED = [  # (op, input shapes, params, distinct values?): patterns a random draw may miss
    ("matmul", [(3,), (3,)], {}, False),
    ("matmul", [(3,), (3, 2)], {}, False),
    ("matmul", [(2, 3), (3,)], {}, False),
    ("matmul", [(3,), (2, 3, 4)], {}, False),
    ("matmul", [(2, 4, 3), (3,)], {}, False),
    ("matmul", [(2, 1, 2, 3), (4, 3, 2)], {}, False),
    ("getitem_basic", [(3, 4)], {"index": (None, Ellipsis, slice(None, None, -2))}, False),
    ("getitem_basic", [(2, 3, 4)], {"index": (1, Ellipsis, None, slice(1, 3))}, False),
    ("getitem_basic", [(3, 4)], {"index": -1}, False),
    ("getitem_int", [(4, 3)], {"index": np.array([[0, 3], [3, 3]])}, False),
    ("getitem_mixed", [(3, 4)], {"index": (slice(None), np.array([2, 0, 2, 2]))}, False),
    ("getitem_mask", [(3, 4)], {"index": _MASK}, False),
    ("sum", [(2, 3, 4)], {"axis": (0, 2), "keepdims": True}, False),
    ("mean", [(2, 3, 4)], {"axis": -2, "keepdims": False}, False),
    ("max", [(2, 3, 4)], {"axis": (-1, 0), "keepdims": False}, True),
    ("min", [(2, 3, 4)], {"axis": None, "keepdims": True}, True),
    ("var", [(2, 3, 4)], {"axis": (1, 2), "keepdims": False, "ddof": 1}, False),
    ("broadcast_to", [(3, 1)], {"shape": (2, 3, 4)}, False),
    ("add", [(3, 1), (1, 4)], {}, False),
    ("mul", [(2, 1, 4), (3, 1)], {}, False),
    ("maximum", [(3, 1), (4,)], {}, True),
    ("where", [(1, 4), (3, 1)], {"cond": _MASK}, False),
    ("concatenate", [(2, 1, 3), (2, 2, 3), (2, 4, 3)], {"axis": -2}, False),
    ("stack", [(2, 3), (2, 3)], {"axis": -1}, False),
    ("pad", [(2, 3)], {"pad_width": ((0, 2), (1, 0))}, False),
    ("logsumexp", [(2, 3, 4)], {"axis": (0, 2), "keepdims": False}, False),
    ("bce_with_logits", [(3, 4), (4,)], {"reduction": "mean"}, False),
]


@pytest.mark.parametrize("name, in_shapes, params, distinct", FIXED,
                         ids=[f"{f[0]}-{i}" for i, f in enumerate(FIXED)])
def test_fixed_cases(name, in_shapes, params, distinct, device):
    op = BY_NAME[name]
    rng = np.random.default_rng(len(in_shapes))
    if distinct:
        total = sum(int(np.prod(s)) for s in in_shapes)
        values = rng.permutation(total) * 0.25 - total / 8
        cuts = np.cumsum([int(np.prod(s)) for s in in_shapes])[:-1]
        arrays = [v.reshape(s) for v, s in zip(np.split(values, cuts), in_shapes)]
    else:  # (0.5, 1.5) suits every domain these ops need, including bce's targets in [0, 1]
        arrays = [rng.uniform(0.5, 1.0, s) if name == "bce_with_logits" and i == 1
                  else rng.uniform(-1.5, 1.5, s) for i, s in enumerate(in_shapes)]
    xp = backend.xp_for(device)
    out = op.fn(*_on(device, arrays), **params)
    np.testing.assert_allclose(out.numpy(), op.ref(*arrays, **params), **TOL[np.float64])
    fn = lambda *ts: op.fn(*ts, **params)  # noqa: E731
    gradcheck(fn, *[xp.asarray(a) for a in arrays], name=name)
    gradgradcheck(fn, *[xp.asarray(a) for a in arrays], name=name)


# ---------------------------------------------------------------- conventions at kinks and ties


def _grad_of(fn, *values, device):
    xs = _on(device, [np.asarray(v, dtype=np.float64) for v in values])
    fn(*xs).sum().backward()
    return [x.grad.numpy() for x in xs]


def test_relu_gradient_at_zero_is_zero(device):
    g, = _grad_of(F.relu, [-1.0, 0.0, 2.0], device=device)
    np.testing.assert_array_equal(g, [0.0, 0.0, 1.0])


@pytest.mark.parametrize("slope", [0.01, 0.2, 1.5, -0.1])
def test_leaky_relu_gradient_at_zero_is_the_slope(device, slope):
    g, = _grad_of(lambda x: F.leaky_relu(x, slope), [-1.0, 0.0, 2.0], device=device)
    np.testing.assert_array_equal(g, [slope, slope, 1.0])


def test_abs_gradient_at_zero_is_zero(device):
    g, = _grad_of(tg.abs, [-1.5, 0.0, 2.0], device=device)
    np.testing.assert_array_equal(g, [-1.0, 0.0, 1.0])


def test_max_ties_share_the_gradient_equally(device):
    g, = _grad_of(tg.max, [1.0, 3.0, 3.0, 2.0, 3.0], device=device)
    np.testing.assert_allclose(g, [0, 1 / 3, 1 / 3, 0, 1 / 3])
    g, = _grad_of(lambda x: x.max(axis=1), [[1.0, 1.0, 0.0], [2.0, 0.0, 2.0], [0.0, 5.0, 1.0]],
                  device=device)
    np.testing.assert_allclose(g, [[0.5, 0.5, 0], [0.5, 0, 0.5], [0, 1, 0]])


def test_min_ties_share_the_gradient_equally(device):
    g, = _grad_of(lambda x: x.min(axis=0, keepdims=True), [[1.0, 4.0], [1.0, 2.0]],
                  device=device)
    np.testing.assert_allclose(g, [[0.5, 0], [0.5, 1]])


@pytest.mark.parametrize("op", [tg.maximum, tg.minimum], ids=["maximum", "minimum"])
def test_maximum_minimum_ties_give_half_to_each(device, op):
    ga, gb = _grad_of(op, [1.0, 2.0, -1.0], [1.0, 3.0, -2.0], device=device)
    winner_a = [0.0, 0.0, 1.0] if op is tg.maximum else [0.0, 1.0, 0.0]
    np.testing.assert_allclose(ga, [0.5, winner_a[1], winner_a[2]])
    np.testing.assert_allclose(gb, [0.5, 1 - winner_a[1], 1 - winner_a[2]])


def test_maximum_tie_under_broadcasting_sums_halves(device):
    ga, gb = _grad_of(tg.maximum, [[1.0], [0.0]], [1.0, 1.0, -1.0], device=device)
    np.testing.assert_allclose(ga, [[0.5 + 0.5 + 1.0], [1.0]])
    np.testing.assert_allclose(gb, [0.5 + 1.0, 0.5 + 1.0, 0.0])


def test_clip_gradient_is_one_at_the_bounds_inclusive(device):
    g, = _grad_of(lambda x: tg.clip(x, -0.5, 0.5), [-1.0, -0.5, 0.0, 0.5, 1.0], device=device)
    np.testing.assert_array_equal(g, [0, 1, 1, 1, 0])
    g, = _grad_of(lambda x: tg.clip(x, None, 0.5), [-9.0, 0.5, 0.6], device=device)
    np.testing.assert_array_equal(g, [1, 1, 0])


def test_repeated_integer_indices_accumulate(device):
    g, = _grad_of(lambda x: x[np.array([0, 0, 2, 0])], [1.0, 2.0, 3.0], device=device)
    np.testing.assert_array_equal(g, [3, 0, 1])
    g, = _grad_of(lambda x: x[np.array([1, 1]), np.array([0, 0])], np.zeros((2, 2)),
                  device=device)
    np.testing.assert_array_equal(g, [[0, 0], [2, 0]])


def test_boolean_mask_with_a_repeated_integer_index_accumulates(device):
    """A mask with one True next to an integer array [1, 1] picks one element twice."""
    mask, idx = np.array([False, True, False]), np.array([1, 1])
    g, = _grad_of(lambda x: x[mask, idx], np.zeros((3, 2)), device=device)
    np.testing.assert_array_equal(g, [[0, 0], [0, 2], [0, 0]])


# ---------------------------------------------------------------- stability at +-1000

EXTREMES = [np.array([-1000.0, -30.0, -1.0, 0.0, 1.0, 30.0, 1000.0]),
            np.array([1000.0, 30.0, 1.0, 0.0, -1.0, -30.0, -1000.0]),
            np.array([1000.0, -1000.0, 0.0, 1000.0, 999.0, -5.0, 3.0])]
WEIGHTS = np.linspace(-1.0, 2.0, 7)  # a cotangent for log_softmax, so its gradient is not 0
TARGETS = np.linspace(0.0, 1.0, 7)
sig = special.expit

# (name, fn(x, w, t) on tensors, value reference, reference for d fn(x).sum() / dx) on arrays
STABLE = [
    ("sigmoid", lambda x, w, t: F.sigmoid(x), lambda x, w, t: sig(x),
     lambda x, w, t: sig(x) * sig(-x)),
    ("tanh", lambda x, w, t: F.tanh(x), lambda x, w, t: np.tanh(x),
     lambda x, w, t: 1 - np.tanh(x) ** 2),
    ("softplus", lambda x, w, t: F.softplus(x), lambda x, w, t: np.logaddexp(0, x),
     lambda x, w, t: sig(x)),
    ("log_sigmoid", lambda x, w, t: F.log_sigmoid(x), lambda x, w, t: -np.logaddexp(0, -x),
     lambda x, w, t: sig(-x)),
    ("logsumexp", lambda x, w, t: F.logsumexp(x, axis=-1),
     lambda x, w, t: special.logsumexp(x, axis=-1),
     lambda x, w, t: special.softmax(x, axis=-1)),
    ("log_softmax", lambda x, w, t: F.log_softmax(x, axis=-1) * w,
     lambda x, w, t: special.log_softmax(x, axis=-1) * w,
     lambda x, w, t: w - special.softmax(x, axis=-1) * w.sum()),
    ("bce_with_logits", lambda x, w, t: F.bce_with_logits(x, t, reduction="none"),
     lambda x, w, t: np.logaddexp(0, x) - x * t, lambda x, w, t: sig(x) - t),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("name, fn, ref, dref", STABLE, ids=[s[0] for s in STABLE])
def test_stable_at_plus_minus_1000(name, fn, ref, dref, dtype, device):
    """Finite values, finite and correct gradients, finite second derivatives at |x| = 1000."""
    tol = TOL[dtype]
    w, t = (tg.tensor(a.astype(dtype), device=device) for a in (WEIGHTS, TARGETS))
    for values in EXTREMES:
        x = tg.tensor(values.astype(dtype), requires_grad=True, device=device)
        y = fn(x, w, t)
        assert y.dtype == dtype
        assert np.all(np.isfinite(y.numpy())), f"{name}({values}) = {y.numpy()}"
        # values reach 1000, so compare with an absolute tolerance scaled to them
        np.testing.assert_allclose(y.numpy(), ref(values, WEIGHTS, TARGETS), rtol=tol["rtol"],
                                   atol=tol["atol"] * 1000)
        gx, = tg.grad(y.sum(), [x], create_graph=True)
        assert gx.dtype == dtype
        assert np.all(np.isfinite(gx.numpy())), f"d {name}({values}) = {gx.numpy()}"
        np.testing.assert_allclose(gx.numpy(), dref(values, WEIGHTS, TARGETS), **tol)
        # and the second derivative stays finite too (gradient penalties need it)
        hx, = tg.grad(gx.sum(), [x], allow_unused=True)
        if hx is not None:
            assert hx.dtype == dtype
            assert np.all(np.isfinite(hx.numpy())), f"d2 {name}({values}) = {hx.numpy()}"


def test_pow_derivative_in_the_exponent_is_zero_at_a_zero_base():
    # d(a^b)/db = a^b log a is 0 * -inf at a = 0; as PyTorch, take the limit 0, never NaN
    a = tg.tensor(np.array([0.0, 0.0, 2.0]), requires_grad=True)
    b = tg.tensor(np.array([2.0, 3.0, 3.0]), requires_grad=True)
    ga, gb = tg.grad((a ** b).sum(), [a, b], create_graph=True)
    np.testing.assert_allclose(gb.numpy(), [0.0, 0.0, 8 * np.log(2.0)])
    gbb, = tg.grad(gb.sum(), [b])
    assert np.isfinite(gbb.numpy()).all()
