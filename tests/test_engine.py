"""The autodiff machinery itself: node reuse, diamonds, accumulation into .grad as PyTorch does,
no_grad, detach, grad() and higher-order derivatives, freeing the graph, deep graphs, dtypes."""
import weakref

import numpy as np
import pytest

import tinygan as tg
import tinygan.functional as F


def leaf(values, device="cpu", dtype=np.float64):
    return tg.tensor(np.asarray(values, dtype=dtype), requires_grad=True, device=device)


# ---------------------------------------------------------------- reuse, diamonds, accumulation


def test_a_node_used_twice_gets_both_contributions(device):
    x = leaf([1.0, -2.0, 3.0], device)
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, -4.0, 6.0])
    y = leaf([1.0, -2.0, 3.0], device)
    (y + y).sum().backward()
    np.testing.assert_allclose(y.grad.numpy(), [2.0, 2.0, 2.0])


def test_an_intermediate_reused_downstream(device):
    x = leaf([0.5, -1.5], device)
    h = x.tanh()
    (h * h + h).sum().backward()  # d/dx (h^2 + h) = (2h + 1)(1 - h^2)
    t = np.tanh([0.5, -1.5])
    np.testing.assert_allclose(x.grad.numpy(), (2 * t + 1) * (1 - t * t))


def test_diamond(device):
    x = leaf([0.3, 2.0], device)
    a = x * 3.0
    b, c = a.exp(), a * a  # two branches from one node ...
    (b + c).sum().backward()  # ... joined again
    v = np.array([0.3, 2.0])
    np.testing.assert_allclose(x.grad.numpy(), 3 * np.exp(3 * v) + 18 * v)


def test_backward_twice_accumulates(device):
    x = leaf([1.0, 2.0], device)
    y = (x ** 3).sum()
    y.backward()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * 3 * np.array([1.0, 4.0]))


def test_two_outputs_accumulate_into_a_shared_leaf(device):
    x = leaf([1.0, 2.0], device)
    (x * 2).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2 + 2, 2 + 4])


def test_leaves_of_one_add_do_not_share_a_grad_object(device):
    """Add passes its gradient through unchanged; the two leaves must still own separate .grad
    arrays, or an in-place update of one (an optimizer, clipping) would change the other."""
    a, b = leaf([1.0, 2.0], device), leaf([3.0, 4.0], device)
    (a + b).sum().backward()
    a.grad.data *= 10
    np.testing.assert_allclose(b.grad.numpy(), [1.0, 1.0])


def test_backward_with_an_explicit_gradient(device):
    x = leaf([[1.0, 2.0], [3.0, 4.0]], device)
    g = tg.tensor(np.array([[1.0, 0.0], [0.5, 2.0]]), device=device)
    (x * x).backward(g)
    np.testing.assert_allclose(x.grad.numpy(), 2 * x.numpy() * g.numpy())


def test_backward_on_a_leaf_itself(device):
    x = leaf(3.0, device)
    x.backward()
    assert x.grad.item() == 1.0
    y = leaf([1.0, 2.0], device)
    y.backward(tg.tensor(np.array([5.0, 7.0]), device=device))
    np.testing.assert_allclose(y.grad.numpy(), [5.0, 7.0])


def test_constants_get_no_gradient(device):
    x, c = leaf([1.0, 2.0], device), tg.tensor(np.array([3.0, 4.0]), device=device)
    (x * c).sum().backward()
    assert c.grad is None and not c.requires_grad
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 4.0])


# ---------------------------------------------------------------- no_grad, detach


def test_no_grad_records_nothing(device):
    x = leaf([1.0, 2.0], device)
    with tg.no_grad():
        y = (x * x).exp().sum()
        assert not tg.is_grad_enabled()
    assert tg.is_grad_enabled()
    assert y.creator is None and not y.requires_grad
    with pytest.raises(RuntimeError):
        y.backward()


def test_no_grad_as_a_decorator_and_restored_after_an_error():
    @tg.no_grad()
    def f(x):
        assert not tg.is_grad_enabled()
        return x * 2

    x = leaf([1.0])
    assert f(x).creator is None
    assert f(x).creator is None  # the decorator works for every call, not just the first
    assert tg.is_grad_enabled()
    with pytest.raises(ZeroDivisionError):
        with tg.no_grad():
            1 / 0
    assert tg.is_grad_enabled()


def test_no_grad_as_a_decorator_without_parentheses():
    @tg.no_grad
    def f(x):
        return x * 2

    y = f(leaf([1.0]))
    assert isinstance(y, tg.Tensor) and y.creator is None and not y.requires_grad
    assert tg.is_grad_enabled()


def test_numpy_array_on_the_left_defers_to_the_tensor():
    x = leaf([1.0, 2.0])
    for y in [np.ones(2) + x, np.ones(2) - x, np.full(2, 3.0) * x, np.ones(2) / x,
              np.ones((2, 2)) @ x]:
        assert isinstance(y, tg.Tensor) and y.requires_grad


def test_enable_grad_inside_no_grad():
    x = leaf([1.0])
    with tg.no_grad():
        with tg.enable_grad():
            y = x * 2
    assert y.requires_grad and y.creator is not None


def test_detach_cuts_the_graph(device):
    x = leaf([1.0, 2.0], device)
    y = x * 3
    d = y.detach()
    assert not d.requires_grad and d.creator is None
    np.testing.assert_array_equal(d.numpy(), y.numpy())
    (x * d).sum().backward()  # d is a constant: the gradient is d, not d + 3x
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 6.0])


# ---------------------------------------------------------------- grad() and higher order


def test_grad_leaves_dot_grad_untouched(device):
    x = leaf([1.0, 2.0], device)
    y = (x ** 2).sum()
    g, = tg.grad(y, [x])
    np.testing.assert_allclose(g.numpy(), [2.0, 4.0])
    assert x.grad is None
    y.backward()
    before = x.grad.numpy().copy()
    tg.grad(y, [x])
    np.testing.assert_array_equal(x.grad.numpy(), before)


def test_grad_without_create_graph_is_not_differentiable(device):
    x = leaf([1.0, 2.0], device)
    g, = tg.grad((x ** 3).sum(), [x])
    assert g.creator is None and not g.requires_grad


def test_hessian_vector_products_of_sum_of_cubes(device):
    """f = sum(x^3): H = diag(6x), so Hv = 6 x v."""
    xv, v = np.array([0.5, -1.0, 2.0]), np.array([1.0, 2.0, -3.0])
    x = leaf(xv, device)
    g, = tg.grad((x ** 3).sum(), [x], create_graph=True)
    np.testing.assert_allclose(g.numpy(), 3 * xv ** 2)
    hv, = tg.grad(g, [x], grad_outputs=[tg.tensor(v, device=device)])
    np.testing.assert_allclose(hv.numpy(), 6 * xv * v)


def test_full_hessian_of_a_quadratic_form(device):
    """f = x^T A x + b.x: H = A + A^T, built column by column from Hessian-vector products."""
    rng = np.random.default_rng(1)
    A, b, xv = rng.standard_normal((4, 4)), rng.standard_normal(4), rng.standard_normal(4)
    x = leaf(xv, device)
    At, bt = tg.tensor(A, device=device), tg.tensor(b, device=device)
    f = (x @ At @ x) + (bt * x).sum()
    g, = tg.grad(f, [x], create_graph=True)
    np.testing.assert_allclose(g.numpy(), (A + A.T) @ xv + b)
    H = np.stack([tg.grad((g * tg.tensor(e, device=device)).sum(), [x])[0].numpy()
                  for e in np.eye(4)], axis=1)
    np.testing.assert_allclose(H, A + A.T, rtol=1e-12, atol=1e-12)


def test_hessian_of_a_network_like_function_matches_finite_differences():
    """f(w) = sum(tanh(X w)^2): Hv against central differences of the gradient."""
    rng = np.random.default_rng(2)
    X, wv, v = rng.standard_normal((5, 3)), rng.standard_normal(3), rng.standard_normal(3)

    def grad_at(wa, create_graph=False):
        w = leaf(wa)
        out = ((tg.tensor(X) @ w).tanh() ** 2).sum()
        return w, tg.grad(out, [w], create_graph=create_graph)[0]

    w, g = grad_at(wv, create_graph=True)
    hv, = tg.grad((g * tg.tensor(v)).sum(), [w])
    eps = 1e-6
    fd = (grad_at(wv + eps * v)[1].numpy() - grad_at(wv - eps * v)[1].numpy()) / (2 * eps)
    np.testing.assert_allclose(hv.numpy(), fd, rtol=1e-6, atol=1e-8)


def test_third_derivative(device):
    """f(x) = x^4 sin-free polynomial plus exp: f''' = 24x + e^x."""
    xv = np.array([0.7, -1.2])
    x = leaf(xv, device)
    f = (x ** 4 + x.exp()).sum()
    d1, = tg.grad(f, [x], create_graph=True)
    d2, = tg.grad(d1.sum(), [x], create_graph=True)
    d3, = tg.grad(d2.sum(), [x])
    np.testing.assert_allclose(d1.numpy(), 4 * xv ** 3 + np.exp(xv))
    np.testing.assert_allclose(d2.numpy(), 12 * xv ** 2 + np.exp(xv))
    np.testing.assert_allclose(d3.numpy(), 24 * xv + np.exp(xv))


def test_grad_with_respect_to_an_intermediate(device):
    x = leaf([1.0, -2.0], device)
    h = x * 3.0
    y = (h ** 2).sum()
    gh, gx = tg.grad(y, [h, x])
    np.testing.assert_allclose(gh.numpy(), 2 * h.numpy())
    np.testing.assert_allclose(gx.numpy(), 3 * 2 * h.numpy())
    assert h.grad is None and x.grad is None


def test_grad_of_several_outputs_sums_them(device):
    x = leaf([1.0, 2.0], device)
    g, = tg.grad([(x * x).sum(), (3 * x).sum()], [x])
    np.testing.assert_allclose(g.numpy(), [2 + 3, 4 + 3])


def test_allow_unused(device):
    x, unused = leaf([1.0], device), leaf([2.0], device)
    y = (x * 2).sum()
    with pytest.raises(RuntimeError, match="allow_unused"):
        tg.grad(y, [x, unused])
    gx, gu = tg.grad(y, [x, unused], allow_unused=True)
    assert gu is None
    np.testing.assert_allclose(gx.numpy(), [2.0])


def test_gradient_penalty_style_double_backward(device):
    """WGAN-GP's pattern: penalty on ||d D(x) / dx||, differentiated w.r.t. D's weights."""
    rng = np.random.default_rng(3)
    wv, xv = rng.standard_normal(3), rng.standard_normal((4, 3))
    w, x = leaf(wv, device), leaf(xv, device)
    d = (x @ w).tanh().sum()
    gx, = tg.grad(d, [x], create_graph=True)
    penalty = (gx * gx).sum()
    gw, = tg.grad(penalty, [w])

    def penalty_at(wa):  # analytic: gx_i = (1 - t_i^2) w, penalty = sum_i (1 - t_i^2)^2 |w|^2
        s = 1 - np.tanh(xv @ wa) ** 2
        return float((s ** 2).sum() * (wa @ wa))

    eps = 1e-6
    fd = np.array([(penalty_at(wv + eps * e) - penalty_at(wv - eps * e)) / (2 * eps)
                   for e in np.eye(3)])
    np.testing.assert_allclose(penalty.item(), penalty_at(wv))
    np.testing.assert_allclose(gw.numpy(), fd, rtol=1e-6, atol=1e-8)


# ---------------------------------------------------------------- memory and depth


def test_graph_is_freed_when_the_output_is_dropped():
    x = leaf(np.ones(3))
    h = x * 2
    ref = weakref.ref(h)
    y = h.tanh().sum()
    del h
    assert ref() is not None  # y's graph still needs it
    del y
    assert ref() is None, "the graph outlived its output (a reference cycle?)"


def test_graph_is_freed_after_backward_and_grad():
    x = leaf(np.ones(3))
    h = x.exp()
    ref = weakref.ref(h)
    y = (h * h).sum()
    del h
    y.backward()
    g, = tg.grad(y, [x], create_graph=True)
    del y, g
    assert ref() is None, "backward or grad left a reference cycle that keeps the graph alive"


def test_deep_chain_does_not_hit_the_recursion_limit():
    x = leaf([0.5])
    y = x
    for _ in range(3000):
        y = y * 1.0001 + 0.0
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0001 ** 3000])
    g, = tg.grad(y.sum(), [x], create_graph=True)
    np.testing.assert_allclose(g.numpy(), [1.0001 ** 3000])
    del y, g  # freeing a deep graph must not recurse either


# ---------------------------------------------------------------- dtypes


def test_float32_stays_float32_through_python_scalar_arithmetic(device):
    x = leaf([0.5, 1.5], device, dtype=np.float32)
    results = [x + 1, 1 + x, x - 2.5, 2.5 - x, x * 3, 3 * x, x / 7, 7 / x, x ** 2, 2 ** x,
               x ** 0.5, -x, x + True, x.mean(), x.var(), x.var(ddof=1), F.sigmoid(x) * 0.1,
               F.mse(x, 0.0), F.bce_with_logits(x, 1.0), tg.where(x > 1, x, 0.0),
               tg.clip(x, 0, 1), tg.maximum(x, 1), tg.minimum(1, x), x @ x,
               tg.pad(x, 1), tg.concatenate([x, x]), tg.stack([x, x]), F.softmax(x),
               F.logsumexp(x), x[np.array([0, 0])], x.max(), x.min()]
    for i, r in enumerate(results):
        assert r.dtype == np.float32, f"result {i} has dtype {r.dtype}"
        x.grad = None
        r.sum().backward()
        assert x.grad.dtype == np.float32, f"gradient of result {i} has dtype {x.grad.dtype}"


def test_float32_second_derivatives_stay_float32(device):
    x = leaf([0.5, 1.5], device, dtype=np.float32)
    g, = tg.grad((F.softplus(x) * x ** 3).sum(), [x], create_graph=True)
    h, = tg.grad(g.sum(), [x])
    assert g.dtype == h.dtype == np.float32


def test_new_tensors_are_float32_by_default():
    assert tg.tensor([1.0, 2.0]).dtype == np.float32
    assert tg.zeros(2).dtype == tg.randn(2).dtype == np.float32
    assert tg.tensor(np.zeros(2)).dtype == np.float64  # arrays keep their dtype


def test_astype_is_differentiable_and_casts_the_gradient_back():
    x = tg.tensor(np.array([0.5, -1.5]), requires_grad=True, dtype=np.float64)
    y = x.astype(np.float32)
    assert y.dtype == np.float32 and y.requires_grad
    (y * y).sum().backward()
    assert x.grad.dtype == np.float64
    np.testing.assert_allclose(x.grad.numpy(), [1.0, -3.0])


def test_integer_results_stay_outside_the_graph():
    x = tg.tensor(np.array([0.5, 1.5]), requires_grad=True)
    assert not x.astype(np.int64).requires_grad


def test_bce_keeps_float32_with_float64_numpy_targets():
    import tinygan.functional as F
    logits = tg.tensor(np.zeros(3, dtype=np.float32), requires_grad=True)
    loss = F.bce_with_logits(logits, np.array([0.0, 1.0, 1.0]))
    loss.backward()
    assert loss.dtype == np.float32 and logits.grad.dtype == np.float32
