"""Random compositions of the op table's smooth ops against PyTorch, in float64: the values, the
gradients of a weighted sum of the output with respect to every input, and Hessian-vector
products (second derivatives through create_graph=True). Skipped where torch is missing."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygan as tg
from op_table import OPS, broadcastable_to
from strategies import REAL, shapes

torch = pytest.importorskip("torch")

CHAIN_OPS = [op for op in OPS if op.chain]
RTOL = 1e-7


def _state_after(op, shape, params, operand_shape=None):
    """The output shape of one chain step, found by running the NumPy reference on ones."""
    args = [np.ones(shape)] + ([np.ones(operand_shape)] if operand_shape is not None else [])
    return np.shape(op.ref(*args, **params))


@st.composite
def chains(draw):
    """x0 and 3-6 steps (op, params, extra operand or None); the shape may change as it goes."""
    shape = draw(shapes(min_dims=1))
    x0 = draw(hnp.arrays(np.float64, shape, elements=REAL))
    steps = []
    for op in draw(st.lists(st.sampled_from(CHAIN_OPS), min_size=3, max_size=6)):
        nd, operand = len(shape), None
        if op.chain == "unary":
            params = draw(op.inputs)[1]
        elif op.chain == "binary":
            params = {}
            operand = draw(hnp.arrays(np.float64, draw(broadcastable_to(shape)),
                                      elements=op.domains_for(params)[1]))
        elif op.chain == "matmul":
            params = {}
            operand = draw(hnp.arrays(np.float64, (shape[-1], draw(st.integers(1, 4))),
                                      elements=REAL))
        elif op.chain == "reduce":  # keep the axis so later steps see the same number of axes
            params = {"axis": draw(st.integers(-nd, nd - 1)), "keepdims": True}
            if op.name == "var":
                params["ddof"] = 0
        elif op.chain == "axis":
            params = {"axis": draw(st.integers(-nd, nd - 1))}
        elif op.chain == "transpose":
            params = {"axes": draw(st.none() | st.permutations(range(nd)).map(tuple))}
        else:
            raise AssertionError(f"unknown chain kind {op.chain!r} for {op.name}")
        steps.append((op, params, operand))
        shape = _state_after(op, shape, params, None if operand is None else operand.shape)
    return x0, steps


def _run(chain, leaf, make_fn):
    """Build the composition with `leaf` (array -> differentiable tensor) and make_fn(op)."""
    x0, steps = chain
    inputs = [leaf(x0)]
    y = inputs[0]
    for op, params, operand in steps:
        if operand is None:
            y = make_fn(op)(y, **params)
        else:
            inputs.append(leaf(operand))
            y = make_fn(op)(y, inputs[-1], **params)
    return y, inputs


def _close(actual, expected, what):
    expected = np.asarray(expected)
    scale = max(1.0, float(np.max(np.abs(expected), initial=0.0)))
    np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=RTOL * scale, err_msg=what)


@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
@given(chain=chains(), seed=st.integers(0, 2 ** 16))
def test_random_compositions_match_pytorch(chain, seed):
    rng = np.random.default_rng(seed)
    names = " -> ".join(op.name for op, _, _ in chain[1])

    # tinygan
    y, xs = _run(chain, lambda a: tg.tensor(a, requires_grad=True), lambda op: op.fn)
    w = rng.standard_normal(y.shape)
    us = [rng.standard_normal(x.shape) for x in xs]
    out = (y * tg.tensor(w)).sum()
    gs = tg.grad(out, xs, create_graph=True)
    dot = sum((g * tg.tensor(u)).sum() for g, u in zip(gs, us))
    # a composition that is linear in every input has constant gradients (as in PyTorch)
    hvs = tg.grad(dot, xs, allow_unused=True) if dot.requires_grad else [None] * len(xs)

    # PyTorch
    ty, txs = _run(chain, lambda a: torch.tensor(a, dtype=torch.float64, requires_grad=True),
                   lambda op: op.torch)
    tout = (ty * torch.from_numpy(w)).sum()
    tgs = torch.autograd.grad(tout, txs, create_graph=True)
    tdot = sum((g * torch.from_numpy(u)).sum() for g, u in zip(tgs, us))
    thvs = torch.autograd.grad(tdot, txs, allow_unused=True) if tdot.requires_grad else \
        [None] * len(txs)

    assert y.dtype == np.float64 and y.shape == tuple(ty.shape), names
    assert dot.requires_grad == tdot.requires_grad, f"is {names} linear? tinygan and torch differ"
    _close(y.numpy(), ty.detach().numpy(), f"values of {names}")
    for i, (g, tgr) in enumerate(zip(gs, tgs)):
        _close(g.numpy(), tgr.detach().numpy(), f"gradient of {names} w.r.t. input {i}")
    for i, (hv, thv, x) in enumerate(zip(hvs, thvs, xs)):
        hv = np.zeros(x.shape) if hv is None else hv.numpy()
        thv = np.zeros(x.shape) if thv is None else thv.detach().numpy()
        _close(hv, thv, f"Hessian-vector product of {names} w.r.t. input {i}")


def test_every_chain_op_has_a_torch_twin():
    kinds = {op.chain for op in CHAIN_OPS}
    assert {"unary", "binary", "matmul", "reduce", "axis", "transpose"} <= kinds
    assert all(op.torch is not None for op in CHAIN_OPS)
