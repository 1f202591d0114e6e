"""Differential fuzzing of the engine against PyTorch: random programs of 3-12 ops from the op
table (broadcasting operands, reductions with random axes and keepdims, indexing, reshapes,
matmuls, joins, pads), each run in tinygan and in PyTorch in float64 on the same inputs; the
values, the first derivatives of a weighted sum of the output with respect to every input, and
second derivatives (Hessian-vector products through create_graph=True) must agree.

A program may use an earlier result again (a DAG, not only a chain). Ops with a restricted
domain get a smooth adapter first (log sees softplus(y) + 0.25, exp sees 3 tanh(y)), so every
program is defined everywhere. Where PyTorch's first derivative does not depend on the inputs
(a linear program, or relu's 0/1 slope) its second derivative is zero; tinygan keeps every
create_graph gradient differentiable and must return those zeros (issue 17).

The CI profile runs 2,000 programs (derandomized); the dev profile 3,000 random ones."""
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygan as tg
import tinygan.functional as F
from op_table import BY_NAME, OPS, broadcastable_to
from strategies import REAL, UNIT, axes, shapes

torch = pytest.importorskip("torch")

PROGRAMS = 2000 if os.environ.get("HYPOTHESIS_PROFILE") == "ci" else 3000
RTOL = 1e-7
FUZZED = [op for op in OPS if op.chain]
POSITIVE_DOMAIN = {"log", "sqrt", "pow_scalar"}   # their input goes through softplus(y) + 0.25
BOUNDED_DOMAIN = {"exp", "rpow"}                  # through 3 tanh(y), so they cannot overflow
KINKED = {"abs", "relu", "leaky_relu", "clip"}    # through y + 0.0371: a variance of equal
# values, or x - x, is 0 in one framework and 1e-17 in the other, and the slope there differs


# ---------------------------------------------------------------- programs


class Program:
    """A DAG of nodes, in the order they are made: a node is a leaf (an input array) or a step
    (op name, the nodes it reads, params). run() builds it in either framework."""

    def __init__(self):
        self.nodes, self.shapes = [], []

    @property
    def leaves(self):
        return [n[1] for n in self.nodes if n[0] == "leaf"]

    def leaf(self, array) -> int:
        self.nodes.append(("leaf", array))
        self.shapes.append(array.shape)
        return len(self.nodes) - 1

    def step(self, name, args, params, shape) -> int:
        self.nodes.append(("step", name, tuple(args), params))
        self.shapes.append(tuple(shape))
        return len(self.nodes) - 1

    def describe(self) -> str:
        return " -> ".join(f"{n[1]}{list(n[2])}" for n in self.nodes if n[0] == "step")

    def __repr__(self):  # what hypothesis prints for a failing program
        return "Program(" + "; ".join(
            f"{i}: leaf {n[1].shape}" if n[0] == "leaf" else f"{i}: {n[1]}{list(n[2])} "
            f"{_short(n[3])}" for i, n in enumerate(self.nodes)) + ")"

    def run(self, leaf, framework):
        values, inputs = [], []
        for node in self.nodes:
            if node[0] == "leaf":
                inputs.append(leaf(node[1]))
                values.append(inputs[-1])
            else:
                _, name, args, params = node
                values.append(apply(name, [values[i] for i in args], params, framework))
        return values[-1], inputs


def _short(params) -> str:
    return "{" + ", ".join(f"{k}={v.tolist() if isinstance(v, np.ndarray) else v}"
                           for k, v in params.items()) + "}"


def apply(name, xs, params, framework):
    """One step in "tinygan" or "torch": an op-table row, or one of the adapters."""
    t = framework == "torch"
    if name == "positive":                                   # softplus(y) + 0.25 > 0
        (x,) = xs
        return (torch.nn.functional.softplus(x) if t else F.softplus(x)) + 0.25
    if name == "bounded":                                    # 3 tanh(y) in (-3, 3)
        (x,) = xs
        return 3 * x.tanh()
    if name == "exponent":  # tanh(y) + 0.5: a power's exponent, 0 only at an odd y (see below)
        (x,) = xs
        return x.tanh() + 0.5
    if name == "untie":     # y + 1e-3 ramp: no two elements tie where rounding could decide
        x, ramp = xs
        return x + 1e-3 * ramp
    if name == "shift":     # y + 0.0371: off a kink at 0 that rounding could put either side
        (x,) = xs
        return x + 0.0371
    op = BY_NAME[name]
    return (op.torch if t else op.fn)(*xs, **params)


def _shape_of(name, shapes_, params):
    """The result's shape, from the NumPy reference on arrays of ones."""
    if name in ("positive", "bounded", "exponent", "untie", "shift"):
        return shapes_[0]
    op = BY_NAME[name]
    kw = dict(params)
    if name == "where":
        kw = {"cond": params["cond"]}
    return np.shape(op.ref(*[np.ones(s) for s in shapes_], **kw))


def _compatible(shape, target) -> bool:
    """`shape` broadcasts to exactly `target`."""
    try:
        return np.broadcast_shapes(shape, target) == tuple(target)
    except ValueError:
        return False


@st.composite
def programs(draw):
    p = Program()
    shape0 = draw(shapes(min_dims=0))
    cur = p.leaf(draw(hnp.arrays(np.float64, shape0, elements=REAL)))
    for name in draw(st.lists(st.sampled_from([op.name for op in FUZZED]), min_size=3,
                              max_size=12)):
        cur = _add_step(draw, p, cur, name)
    return p


def _new_leaf(draw, p, shape, elements=REAL) -> int:
    return p.leaf(draw(hnp.arrays(np.float64, tuple(shape), elements=elements)))


def _operand(draw, p, target, elements=REAL) -> int:
    """A value that broadcasts to `target`: an earlier result when one fits, else a new leaf."""
    fits = [i for i, s in enumerate(p.shapes) if _compatible(s, target)]
    if fits and elements is REAL and draw(st.booleans()):
        return draw(st.sampled_from(fits))
    return _new_leaf(draw, p, draw(broadcastable_to(tuple(target))), elements)


UNTIED = {"max", "min", "maximum", "minimum"}  # where a tie decides the gradient


def _add_step(draw, p, cur, name):
    op = BY_NAME[name]
    shape = p.shapes[cur]
    nd = len(shape)
    kind = op.chain

    def then(op_name, args, params):
        return p.step(op_name, args, params, _shape_of(op_name, [p.shapes[i] for i in args],
                                                        params))

    if name in UNTIED and 0 not in shape:
        # equal elements (a broadcast, relu's zeros, columns a matmul rounds differently) would
        # let each framework's rounding pick the winner: the inputs are kept off that kink
        ramp = p.leaf(np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)
                      / max(1, int(np.prod(shape))))
        cur = then("untie", [cur, ramp], {})

    if kind == "unary":
        params = draw(op.inputs)[1]
        if name in POSITIVE_DOMAIN:
            cur = then("positive", [cur], {})
        elif name in BOUNDED_DOMAIN:
            cur = then("bounded", [cur], {})
        elif name in KINKED:
            cur = then("shift", [cur], {})
        return then(name, [cur], params)
    if kind == "binary":
        params = draw(op.inputs)[1]
        if name == "bce_with_logits":
            return then(name, [cur, _new_leaf(draw, p, draw(broadcastable_to(shape)), UNIT)],
                        params)
        other = _operand(draw, p, shape)
        if name in UNTIED:  # the ramp unties cur's own elements; this keeps the two operands
            # apart where hypothesis gives both the same value (0.0, say: a 1-element ramp is 0)
            other = then("shift", [other], {})
        if name == "div":
            other = then("positive", [other], {})
        if name == "pow":  # PyTorch drops the exponent's second-order term where it is exactly
            # 0 (it masks b * a^(b-1) there); tinygan's matches finite differences, so keep the
            # exponent off 0, where hypothesis's favourite input 0.0 would put it
            cur, other = then("positive", [cur], {}), then("exponent", [other], {})
        args = [cur, other] if draw(st.booleans()) or name in ("div", "pow", "mse") else \
            [other, cur]
        return then(name, args, params)
    if kind == "where":
        other = _operand(draw, p, shape)
        cond = draw(hnp.arrays(bool, draw(broadcastable_to(shape))))
        return then(name, [cur, other], {"cond": cond})
    if nd == 0 and kind in ("matmul", "matmul_wT", "matmul_aT", "swapaxes", "axis", "index",
                            "join", "pad"):
        return then("bounded", [cur], {})  # these need an axis; a 0-d value just goes on
    if kind == "matmul":
        b = _new_leaf(draw, p, (shape[-1],) + ((draw(st.integers(1, 4)),)
                                                if draw(st.booleans()) else ()))
        return then(name, [cur, b], {})
    if kind == "matmul_wT":
        return then(name, [cur, _new_leaf(draw, p, (draw(st.integers(1, 4)), shape[-1]))], {})
    if kind == "matmul_aT":
        if nd != 2:
            return then("bounded", [cur], {})
        return then(name, [cur, _new_leaf(draw, p, (shape[0], draw(st.integers(1, 4))))], {})
    if kind == "reduce":
        params = {"axis": draw(axes(nd, min_size=1)), "keepdims": draw(st.booleans())}
        if name == "var":
            kept = np.empty(shape).sum(axis=params["axis"], keepdims=True).size
            params["ddof"] = draw(st.sampled_from([0, 1])) if np.prod(shape) // kept > 1 else 0
        return then(name, [cur], params)
    if kind == "axis":
        return then(name, [cur], {"axis": draw(st.integers(-nd, nd - 1))})
    if kind == "transpose":
        axes_ = draw(st.none() | st.permutations(range(nd)).map(tuple))
        return then(name, [cur], {"axes": axes_})
    if kind == "swapaxes":
        ax = st.integers(-nd, nd - 1)
        return then(name, [cur], {"a": draw(ax), "b": draw(ax)})
    if kind == "reshape":
        size = int(np.prod(shape))
        target = draw(st.sampled_from([(-1,), shape[::-1], (size,), shape + (1,), (1,) + shape]))
        return then(name, [cur], {"shape": target})
    if kind == "broadcast_to":
        target = draw(st.lists(st.integers(1, 3), max_size=2)).copy() + list(shape)
        target = tuple(draw(st.integers(1, 3)) if n == 1 and draw(st.booleans()) else n
                       for n in target)
        return then(name, [cur], {"shape": target})
    if kind == "index":
        index = draw(_index_for(name, shape))
        if 0 in np.empty(shape)[index].shape:  # an empty result: means of it are NaN, and the
            return then("bounded", [cur], {})  # two frameworks' NaN rules differ; stay non-empty
        return then(name, [cur], {"index": index})
    if kind == "join":
        axis = draw(st.integers(-nd, nd - 1)) if name == "concatenate" else \
            draw(st.integers(-nd - 1, nd))
        others = []
        for _ in range(draw(st.integers(0, 2))):
            side = list(shape)
            if name == "concatenate":
                side[axis % nd] = draw(st.integers(1, 3))
            others.append(_new_leaf(draw, p, side))
        return then(name, [cur, *others], {"axis": axis})
    if kind == "pad":
        return then(name, [cur], {"pad_width": tuple((draw(st.integers(0, 2)),
                                                      draw(st.integers(0, 2))) for _ in shape)})
    raise AssertionError(f"no fuzzing rule for {name} ({kind})")


@st.composite
def _index_for(draw, name, shape):
    nd = len(shape)
    if name == "getitem_basic":
        return draw(hnp.basic_indices(shape, allow_newaxis=True, allow_ellipsis=True))
    if name == "getitem_int":
        return np.array(draw(st.lists(st.integers(-shape[0], shape[0] - 1), min_size=1,
                                      max_size=5)))
    if name == "getitem_int_tuple":
        return draw(hnp.integer_array_indices(shape, result_shape=shapes(max_dims=2)))
    if name == "getitem_mixed" and nd >= 2:
        idx = draw(st.lists(st.integers(0, shape[1] - 1), min_size=1, max_size=4))
        return (slice(None), np.array(idx))
    if name == "getitem_mixed":
        return (np.array(draw(st.lists(st.integers(0, shape[0] - 1), min_size=1, max_size=4))),)
    return draw(hnp.arrays(bool, shape if draw(st.booleans()) else shape[:1]))


# ---------------------------------------------------------------- the comparison


def _np(t):
    """A torch result as a NumPy array; PyTorch returns "zero tensors" (no storage) for some
    second derivatives (abs), which must not be read directly (that crashed once)."""
    t = t.detach()
    return np.zeros(tuple(t.shape)) if t._is_zerotensor() else t.numpy()


def _close(actual, expected, what):
    expected = np.asarray(expected)
    scale = max(1.0, float(np.max(np.abs(expected), initial=0.0)))
    np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=RTOL * scale, err_msg=what)


def _torch_second(tdot, txs):
    """PyTorch's Hessian-vector products, zeros where its gradient does not depend on an input."""
    if not tdot.requires_grad:
        return [torch.zeros_like(x) for x in txs]
    hv = torch.autograd.grad(tdot, txs, allow_unused=True)
    return [torch.zeros_like(x) if h is None else h for h, x in zip(hv, txs)]


@settings(max_examples=PROGRAMS, suppress_health_check=[
    HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
@given(program=programs(), seed=st.integers(0, 2 ** 16))
def test_random_programs_match_pytorch(program, seed):
    rng = np.random.default_rng(seed)
    names = program.describe()
    y, xs = program.run(lambda a: tg.tensor(a, requires_grad=True), "tinygan")
    ty, txs = program.run(lambda a: torch.tensor(a, dtype=torch.float64, requires_grad=True),
                          "torch")
    assert y.dtype == np.float64 and y.shape == tuple(ty.shape), names
    _close(y.numpy(), _np(ty), f"values of {names}")
    w = rng.standard_normal(y.shape)
    us = [rng.standard_normal(x.shape) for x in xs]
    # first derivatives, with the graph kept
    gs = tg.grad((y * tg.tensor(w)).sum(), xs, create_graph=True, allow_unused=True)
    tgs = torch.autograd.grad((ty * torch.from_numpy(w)).sum(), txs, create_graph=True,
                              allow_unused=True)
    for i, (g, tgr, x) in enumerate(zip(gs, tgs, xs)):
        assert (g is None) == (tgr is None), f"input {i} of {names}: used in one framework only"
        if g is not None:
            _close(g.numpy(), _np(tgr), f"gradient of {names} w.r.t. input {i}")
    # second derivatives: Hessian-vector products through the kept graph
    used = [i for i, g in enumerate(gs) if g is not None]
    dot = sum((gs[i] * tg.tensor(us[i])).sum() for i in used)
    tdot = sum((tgs[i] * torch.from_numpy(us[i])).sum() for i in used)
    hvs = tg.grad(dot, xs, allow_unused=True)
    for i, (hv, thv, x) in enumerate(zip(hvs, _torch_second(tdot, txs), xs)):
        _close(np.zeros(x.shape) if hv is None else hv.numpy(), _np(thv),
               f"Hessian-vector product of {names} w.r.t. input {i}")


def test_every_op_has_a_torch_twin_and_a_fuzzing_rule():
    assert all(op.torch is not None and op.chain for op in OPS), \
        [op.name for op in OPS if op.torch is None or not op.chain]


@pytest.mark.parametrize("name, slope", [("relu", 0.0), ("leaky_relu", 0.2)])
def test_the_second_derivative_of_relu_is_zero_not_an_error(name, slope):
    """grad of relu's gradient (which does not depend on x) is 0, as in PyTorch."""
    x = tg.tensor([-1.5, 0.3, 2.0], dtype=np.float64, requires_grad=True)
    g, = tg.grad(F.leaky_relu(x, slope).sum(), [x], create_graph=True)
    assert g.requires_grad
    np.testing.assert_array_equal(g.numpy(), [slope, 1.0, 1.0])
    h, = tg.grad(g.sum(), [x])
    np.testing.assert_array_equal(h.numpy(), 0)
    xt = torch.tensor([-1.5, 0.3, 2.0], dtype=torch.float64, requires_grad=True)
    gt, = torch.autograd.grad(torch.nn.functional.leaky_relu(xt, slope).sum(), xt,
                              create_graph=True)
    ht, = torch.autograd.grad(gt.sum(), xt)
    np.testing.assert_array_equal(h.numpy(), ht.numpy())
    # backward(create_graph=True) keeps the leaf's .grad differentiable in the same way
    x.grad = None
    F.leaky_relu(x, slope).sum().backward(create_graph=True)
    h2, = tg.grad(x.grad.sum(), [x])
    np.testing.assert_array_equal(h2.numpy(), 0)


def test_a_linear_programs_gradient_is_differentiable_too():
    """PyTorch refuses to differentiate 3*x's gradient (it requires no grad); tinygan returns the
    true second derivative, 0 (a create_graph result of an input that requires grad stays
    differentiable)."""
    x = tg.tensor(np.arange(3.0), requires_grad=True)
    g, = tg.grad((3 * x).sum(), [x], create_graph=True)
    h, = tg.grad((g * g).sum(), [x])
    np.testing.assert_array_equal(h.numpy(), 0)
    g, = tg.grad((3 * x).sum(), [x])  # without create_graph: a plain constant
    assert not g.requires_grad
