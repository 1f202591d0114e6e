"""tinygan.nn without PyTorch: every layer's first and second derivatives (float64 gradcheck),
batch norm's train/eval behaviour and running statistics, dropout's statistics, the Module
machinery (finding parameters, modes, devices, state_dict and its errors), and an MLP that
learns XOR."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinygan as tg
import tinygan.functional as F
import tinygan.nn as nn
from tinygan import optim
from tinygan.testing import gradcheck, gradgradcheck

F64 = np.float64


def as_function(layer):
    """fn(x, *params) that runs `layer` with its parameters replaced by the given tensors (so
    gradcheck differentiates with respect to them too), and the parameters' current values."""
    names = [n for n, _ in layer.named_parameters()]
    assert all("." not in n for n in names), "only single layers"

    def fn(x, *params):
        saved = {n: getattr(layer, n) for n in names}
        try:
            for n, p in zip(names, params):
                setattr(layer, n, p)
            return layer(x)
        finally:
            for n, p in saved.items():
                setattr(layer, n, p)

    fn.__name__ = type(layer).__name__
    return fn, [p.numpy() for p in layer.parameters()]


def perturb_affine(layer, rng):
    """Move weight/bias off 1/0 so their gradients are not special."""
    for p in layer.parameters():
        p.data += rng.normal(0, 0.3, p.shape)


# ---------------------------------------------------------------- gradients of every layer


def _layers():
    rng = np.random.default_rng(1)
    bn1 = nn.BatchNorm1d(3, dtype=F64)
    bn2 = nn.BatchNorm2d(2, dtype=F64)
    for bn in (bn1, bn2):  # running statistics that are not 0 and 1
        bn.running_mean.data[...] = rng.normal(0, 1, bn.num_features)
        bn.running_var.data[...] = rng.uniform(0.5, 2, bn.num_features)
    cases = [
        ("Linear", nn.Linear(4, 3, dtype=F64), (5, 4), True),
        ("Linear-3d", nn.Linear(3, 2, dtype=F64), (2, 3, 3), True),
        ("BatchNorm1d-train", bn1, (6, 3), True),
        ("BatchNorm1d-eval", bn1, (6, 3), False),
        ("BatchNorm1d-NCL-train", nn.BatchNorm1d(2, dtype=F64), (3, 2, 4), True),
        ("BatchNorm1d-noaffine", nn.BatchNorm1d(3, affine=False, dtype=F64), (5, 3), True),
        ("BatchNorm2d-train", bn2, (3, 2, 2, 3), True),
        ("BatchNorm2d-eval", bn2, (3, 2, 2, 3), False),
        ("LayerNorm", nn.LayerNorm(5, dtype=F64), (3, 5), True),
        ("LayerNorm-2axes", nn.LayerNorm((2, 3), dtype=F64), (2, 2, 3), True),
        ("InstanceNorm2d", nn.InstanceNorm2d(2, dtype=F64), (2, 2, 3, 3), True),
        ("InstanceNorm2d-affine", nn.InstanceNorm2d(2, affine=True, dtype=F64), (2, 2, 2, 3),
         True),
    ]
    for _, layer, _, _ in cases:
        perturb_affine(layer, rng)
    return [pytest.param(*case, id=case[0]) for case in cases]


@pytest.mark.parametrize("name, layer, shape, training", _layers())
def test_layer_gradients_first_and_second_order(name, layer, shape, training):
    layer.train(training)
    fn, params = as_function(layer)
    x = np.random.default_rng(2).normal(0.5, 1.5, shape)
    assert gradcheck(fn, x, *params, name=name)
    assert gradgradcheck(fn, x, *params, name=name)


def test_dropout_gradients_with_a_fixed_mask():
    x = np.random.default_rng(3).normal(size=(4, 5))

    def functional(x):  # a fresh generator with one seed each call: the same mask every time
        return F.dropout(x, 0.4, rng=np.random.default_rng(7))

    layer = nn.Dropout(0.4)

    def module(x):
        tg.manual_seed(11)  # the shared generator, reseeded: again one mask
        return layer(x)

    for fn in (functional, module):
        assert gradcheck(fn, x) and gradgradcheck(fn, x)
    # and the gradient really is mask / (1 - p)
    t = tg.tensor(x, requires_grad=True)
    y = functional(t)
    y.sum().backward()
    mask = (np.random.default_rng(7).random(x.shape) >= 0.4) / 0.6
    np.testing.assert_allclose(t.grad.numpy(), mask)
    np.testing.assert_allclose(y.numpy(), x * mask)


def test_gradient_penalty_through_batch_norm_runs():
    """Second-order use (as WGAN-GP): the gradient norm of D(x) w.r.t. x, differentiated again
    w.r.t. D's parameters, matches finite differences of the penalty in one parameter."""
    rng = np.random.default_rng(4)
    d = nn.Sequential(nn.Linear(3, 4, dtype=F64), nn.LayerNorm(4, dtype=F64), nn.Tanh(),
                      nn.Linear(4, 1, dtype=F64))
    x = rng.normal(size=(5, 3))

    def penalty():
        xt = tg.tensor(x, requires_grad=True)
        g, = tg.grad(d(xt).sum(), [xt], create_graph=True)
        return ((g * g).sum(axis=1) - 1).abs().sum()

    p = penalty()
    w = d[0].weight
    gw, = tg.grad(p, [w])
    h = 1e-6
    w.data[0, 0] += h
    up = penalty().item()
    w.data[0, 0] -= 2 * h
    down = penalty().item()
    w.data[0, 0] += h
    assert gw.numpy()[0, 0] == pytest.approx((up - down) / (2 * h), rel=1e-4, abs=1e-7)


# ---------------------------------------------------------------- batch norm behaviour


def test_batch_norm_train_normalises_with_batch_statistics_and_updates_running_ones():
    rng = np.random.default_rng(5)
    bn = nn.BatchNorm1d(3, momentum=0.2, dtype=F64)
    x = rng.normal(2.0, 3.0, size=(8, 3))
    y = bn(tg.tensor(x)).numpy()
    np.testing.assert_allclose(y.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=0), 1 / (1 + 1e-5 / x.var(axis=0)), rtol=1e-10)
    np.testing.assert_allclose(bn.running_mean.numpy(), 0.2 * x.mean(axis=0), rtol=1e-12)
    # running_var moves toward the UNBIASED variance (ddof=1), as PyTorch does
    np.testing.assert_allclose(bn.running_var.numpy(), 0.8 + 0.2 * x.var(axis=0, ddof=1),
                               rtol=1e-12)
    assert bn.num_batches_tracked.item() == 1 and bn.num_batches_tracked.dtype == np.int64


def test_batch_norm_eval_uses_running_statistics_and_leaves_them_alone():
    rng = np.random.default_rng(6)
    bn = nn.BatchNorm2d(2, dtype=F64)
    for _ in range(3):
        bn(tg.tensor(rng.normal(1, 2, size=(4, 2, 3, 3))))
    before = bn.state_dict()
    bn.eval()
    x = rng.normal(size=(1, 2, 3, 3))  # a batch of one is fine in eval mode
    y = bn(tg.tensor(x)).numpy()
    rm, rv = before["running_mean"], before["running_var"]
    expect = (x - rm.reshape(1, 2, 1, 1)) / np.sqrt(rv.reshape(1, 2, 1, 1) + 1e-5)
    np.testing.assert_allclose(y, expect, rtol=1e-12)
    after = bn.state_dict()
    assert all(np.array_equal(before[k], after[k]) for k in before)
    assert after["num_batches_tracked"] == 3
    # the same input in train mode gives a different answer (its own statistics)
    bn.train()
    assert not np.allclose(bn(tg.tensor(np.concatenate([x, x + 1]))).numpy()[:1], y)


def test_batch_norm_momentum_none_is_the_cumulative_average():
    rng = np.random.default_rng(7)
    bn = nn.BatchNorm1d(2, momentum=None, dtype=F64)
    batches = [rng.normal(i, 1 + i, size=(5, 2)) for i in range(4)]
    for b in batches:
        bn(tg.tensor(b))
    np.testing.assert_allclose(bn.running_mean.numpy(), np.mean([b.mean(0) for b in batches], 0))
    np.testing.assert_allclose(bn.running_var.numpy(),
                               np.mean([b.var(0, ddof=1) for b in batches], 0))


def test_batch_norm_without_running_stats_always_uses_the_batch():
    bn = nn.BatchNorm1d(3, track_running_stats=False, affine=False, dtype=F64)
    assert bn.state_dict() == {} and bn.parameters() == []
    x = np.random.default_rng(8).normal(3, 2, size=(6, 3))
    bn.eval()
    y = bn(tg.tensor(x)).numpy()
    np.testing.assert_allclose(y, (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5), rtol=1e-12)


def test_batch_norm_errors():
    bn = nn.BatchNorm1d(3)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        bn(tg.zeros(1, 3))
    with pytest.raises(ValueError, match=r"BatchNorm1d\(3\): batch_norm: input of shape \(4, 5\) "
                                         r"has 5 channels on axis 1, but running_mean has shape "
                                         r"\(3,\)"):
        bn(tg.zeros(4, 5))
    assert int(bn.num_batches_tracked.item()) == 0  # a refused batch changes nothing
    with pytest.raises(ValueError, match="4-D"):
        nn.BatchNorm2d(3)(tg.zeros(4, 3))
    with pytest.raises(ValueError, match="momentum"):
        nn.BatchNorm1d(3, momentum=1.5)
    with pytest.raises(ValueError, match="eps"):
        nn.BatchNorm2d(3, eps=0)
    with pytest.raises(ValueError, match="num_features"):
        nn.BatchNorm1d(2.5)


@given(n=st.integers(2, 6), c=st.integers(1, 4), h=st.integers(1, 3),
       shift=st.floats(-50, 50), scale=st.floats(0.1, 20))
def test_batch_norm_2d_output_is_standardised_per_channel(n, c, h, shift, scale):
    x = shift + scale * np.random.default_rng(n * 100 + c).normal(size=(n, c, h, h + 1))
    y = nn.BatchNorm2d(c, eps=1e-12, dtype=F64)(tg.tensor(x)).numpy()
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0, atol=1e-8)
    np.testing.assert_allclose(y.std(axis=(0, 2, 3)), 1, rtol=1e-6)


def _composed_batch_norm(x, w, b, eps):
    """Batch norm written out in Tensor ops: the reference the fused Function must match."""
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    d = x - x.mean(axes, keepdims=True)
    xhat = d / ((d * d).mean(axes, keepdims=True) + eps).sqrt()
    return xhat * w.reshape(shape) + b.reshape(shape)


@given(shape=st.sampled_from([(5, 3), (3, 2, 4), (2, 3, 2, 3)]), seed=st.integers(0, 2**16))
def test_fused_batch_norm_matches_the_composition_to_third_order(shape, seed):
    # the fused Function's values and its first, second and third derivatives (through the
    # create_graph path of its backward) equal those of the plain composition
    rng = np.random.default_rng(seed)
    x0, c = rng.normal(1.0, 2.0, shape), shape[1]
    w0, b0 = rng.normal(1.0, 0.5, c), rng.normal(0.0, 0.5, c)
    v = [rng.normal(size=shape), rng.normal(size=shape), rng.normal(size=shape)]
    results = []
    for f in (lambda x, w, b: F.batch_norm(x, weight=w, bias=b, training=True),
              lambda x, w, b: _composed_batch_norm(x, w, b, 1e-5)):
        x, w, b = (tg.tensor(a, requires_grad=True) for a in (x0, w0, b0))
        y = f(x, w, b)
        g1 = tg.grad((y * tg.tensor(v[0])).sum(), [x, w, b], create_graph=True)
        g2 = tg.grad((g1[0] * tg.tensor(v[1])).sum() + (g1[1] * g1[2]).sum(), [x, w, b],
                     create_graph=True, allow_unused=True)
        g3 = tg.grad((g2[0] * tg.tensor(v[2])).sum() + g2[1].sum(), [x, w], allow_unused=True)
        # an input a derivative does not depend on comes back as None: read it as zeros
        likes = [x0, x0, w0, b0, x0, w0, b0, x0, w0]
        results.append([np.zeros_like(like) if t is None else t.numpy()
                        for t, like in zip([y, *g1, *g2, *g3], likes)])
    for fused, composed in zip(*results):
        np.testing.assert_allclose(fused, composed, rtol=1e-9, atol=1e-9)


def test_fused_batch_norm_holds_less_for_backward_than_the_composition():
    # what the graph keeps alive: the composition holds several full-size arrays per layer,
    # the fused Function none beyond its input (weights and per-channel statistics aside)
    import gc
    import tracemalloc
    x = tg.tensor(np.random.default_rng(0).normal(size=(32, 16, 8, 8)), requires_grad=True)
    w = tg.tensor(np.ones(16), requires_grad=True)
    b = tg.tensor(np.zeros(16), requires_grad=True)
    held = []
    for f in (lambda: F.batch_norm(x, weight=w, bias=b, training=True),
              lambda: _composed_batch_norm(x, w, b, 1e-5)):
        gc.collect()
        tracemalloc.start()
        y = f()
        size, _ = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        held.append(size - y.data.nbytes)
        del y
    assert held[0] < 0.1 * x.data.nbytes, held
    assert held[1] > 2 * x.data.nbytes, held


@given(shape=st.sampled_from([(3, 4), (2, 3, 5), (4, 2, 2)]), shift=st.floats(-50, 50))
def test_layer_and_instance_norm_standardise_each_sample(shape, shift):
    x = shift + np.random.default_rng(len(shape)).normal(size=shape) * 4
    y = nn.LayerNorm(shape[-1], eps=1e-12, dtype=F64)(tg.tensor(x)).numpy()
    np.testing.assert_allclose(y.mean(axis=-1), 0, atol=1e-8)
    np.testing.assert_allclose(y.std(axis=-1), 1, rtol=1e-6)
    x4 = x.reshape((1,) + shape[:1] + (-1, 1))
    z = nn.InstanceNorm2d(shape[0], eps=1e-12, dtype=F64)(tg.tensor(x4)).numpy()
    np.testing.assert_allclose(z.mean(axis=(2, 3)), 0, atol=1e-8)
    np.testing.assert_allclose(z.std(axis=(2, 3)), 1, rtol=1e-6)


def test_norm_layer_shape_errors():
    with pytest.raises(ValueError, match=r"last 1 axes must be \(4,\)"):
        nn.LayerNorm(4)(tg.zeros(2, 5))
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        nn.InstanceNorm2d(3)(tg.zeros(2, 3, 4))
    with pytest.raises(ValueError, match="at least one axis"):
        nn.LayerNorm(())


# ---------------------------------------------------------------- dropout behaviour


def test_dropout_statistics_and_eval_identity(device):
    p, n = 0.3, 200_000
    drop = nn.Dropout(p)
    x = tg.ones(n, device=device)
    y = drop(x).numpy()
    zeroed = np.mean(y == 0)
    sigma = np.sqrt(p * (1 - p) / n)
    assert abs(zeroed - p) < 5 * sigma
    assert set(np.unique(y)) == {0.0, np.float32(1 / (1 - p))}
    assert abs(y.mean() - 1) < 5 * np.sqrt(p / (1 - p) / n)  # E[y] = x
    drop.eval()
    assert drop(x) is x  # the identity, not a copy
    drop.train()
    a, b = drop(x).numpy(), drop(x).numpy()
    assert not np.array_equal(a, b)  # a fresh mask each call
    tg.manual_seed(3)
    c = drop(x).numpy()
    tg.manual_seed(3)
    assert np.array_equal(c, drop(x).numpy())  # reproducible from the shared seed


def test_dropout_edge_probabilities():
    x = tg.randn(50)
    assert nn.Dropout(0.0)(x) is x
    assert np.all(nn.Dropout(1.0)(x).numpy() == 0)
    for p in (-0.1, 1.5):
        with pytest.raises(ValueError, match=r"\[0, 1\]"):
            nn.Dropout(p)
        with pytest.raises(ValueError, match=r"\[0, 1\]"):
            F.dropout(x, p)


# ---------------------------------------------------------------- the Module machinery


class Block(nn.Module):
    def __init__(self):
        self.layers = [nn.Linear(2, 3), nn.Sequential(nn.Linear(3, 3), nn.BatchNorm1d(3))]
        self.heads = {"a": nn.Linear(3, 1), "b": nn.Dropout(0.5)}
        self.scale = nn.Parameter(tg.ones(1))
        self.not_a_tensor = 3

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return self.heads["a"](self.heads["b"](x)) * self.scale


def test_named_parameters_and_buffers_through_lists_dicts_and_nested_sequentials():
    m = Block()
    assert [n for n, _ in m.named_parameters()] == [
        "layers.0.weight", "layers.0.bias", "layers.1.0.weight", "layers.1.0.bias",
        "layers.1.1.weight", "layers.1.1.bias", "heads.a.weight", "heads.a.bias", "scale"]
    assert [n for n, _ in m.named_buffers()] == [
        "layers.1.1.running_mean", "layers.1.1.running_var", "layers.1.1.num_batches_tracked"]
    assert len(m.modules()) == 7  # Block, Linear, Sequential(Linear, BN), Linear, Dropout
    assert [n for n, _ in m.named_modules()][:4] == ["", "layers.0", "layers.1", "layers.1.0"]


def test_a_shared_parameter_is_listed_once():
    shared = nn.Linear(3, 3)
    m = nn.Sequential(shared, nn.ReLU(), shared)
    assert len(m.parameters()) == 2
    assert set(m.state_dict()) == {"0.weight", "0.bias", "2.weight", "2.bias"}  # as PyTorch


def test_train_eval_recurse_and_zero_grad_clears_every_grad():
    m = Block()
    m.eval()
    assert all(not sub.training for sub in m.modules())
    m.train()
    assert all(sub.training for sub in m.modules())
    m(tg.randn(4, 2)).sum().backward()
    assert all(p.grad is not None for p in m.parameters())
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())
    with pytest.raises(TypeError, match="bool"):
        m.train("no")


def test_requires_grad_freezes_and_apply_visits_every_module():
    m = Block()
    m.requires_grad_(False)
    assert not any(p.requires_grad for p in m.parameters())
    visited = []
    m.apply(lambda sub: visited.append(type(sub).__name__))
    assert visited[-1] == "Block" and visited.count("Linear") == 3 and len(visited) == 7


def test_to_device_moves_parameters_buffers_and_grads(device):
    m = Block()
    m(tg.randn(4, 2)).sum().backward()
    m.to(device)
    tensors = m.parameters() + m.buffers() + [p.grad for p in m.parameters()]
    assert all(t.device == device for t in tensors)
    assert m(tg.randn(4, 2, device=device)).device == device
    with pytest.raises(ValueError, match="unknown device"):
        m.to("tpu")


def test_repr_shows_the_tree():
    m = nn.Sequential(nn.Linear(2, 3), nn.Sequential(nn.BatchNorm1d(3), nn.LeakyReLU(0.2)))
    assert repr(m) == (
        "Sequential(\n"
        "  (0): Linear(in_features=2, out_features=3, bias=True)\n"
        "  (1): Sequential(\n"
        "    (0): BatchNorm1d(3, eps=1e-05, momentum=0.1, affine=True, "
        "track_running_stats=True)\n"
        "    (1): LeakyReLU(negative_slope=0.2)\n"
        "  )\n"
        ")")


def test_sequential_indexing_and_type_errors():
    m = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert len(m) == 3 and isinstance(m[1], nn.ReLU) and m[-1] is list(m)[2]
    head = m[:2]
    assert isinstance(head, nn.Sequential) and head(tg.randn(5, 2)).shape == (5, 3)
    with pytest.raises(TypeError, match="position 1"):
        nn.Sequential(nn.ReLU(), lambda x: x)


def test_linear_errors():
    with pytest.raises(ValueError, match="last axis must be 3"):
        nn.Linear(3, 2)(tg.zeros(4, 2))
    with pytest.raises(ValueError, match="in_features"):
        nn.Linear(3.0, 2)


# ---------------------------------------------------------------- state_dict


def _mlp():
    return nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.LeakyReLU(0.2), nn.Dropout(0.3),
                         nn.Linear(6, 5), nn.LayerNorm(5), nn.Tanh(), nn.Linear(5, 1))


def test_state_dict_keys_copies_and_round_trip():
    a, b = _mlp(), _mlp()
    a(tg.randn(8, 4))  # move the running statistics
    state = a.state_dict()
    assert list(state) == ["0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean",
                           "1.running_var", "1.num_batches_tracked", "4.weight", "4.bias",
                           "5.weight", "5.bias", "7.weight", "7.bias"]
    assert all(type(v) is np.ndarray for v in state.values())
    state["0.weight"][...] = 7  # a copy: the module is untouched
    assert not np.any(a[0].weight.numpy() == 7)
    state = a.state_dict()
    b.load_state_dict(state)
    a.eval(), b.eval()
    x = tg.randn(3, 4)
    assert np.array_equal(a(x).numpy(), b(x).numpy())
    # loading copies: training b afterwards never writes into the dict it was loaded from
    kept = state["0.weight"].copy()
    b[0].weight.data -= 1.0
    assert np.array_equal(state["0.weight"], kept)


def test_load_state_dict_errors_list_every_problem_and_change_nothing():
    m = _mlp()
    before = m.state_dict()
    bad = dict(before)
    del bad["1.running_var"]
    bad["9.weight"] = np.zeros(3)
    bad["4.weight"] = np.zeros((5, 7))
    bad["0.bias"] = np.array(["a"] * 6)
    with pytest.raises(ValueError) as err:
        m.load_state_dict(bad)
    msg = str(err.value)
    for needle in ("missing keys ['1.running_var']", "unexpected keys ['9.weight']",
                   "4.weight: expected shape (5, 6), got (5, 7)", "0.bias: values of dtype",
                   "nothing was changed"):
        assert needle in msg
    after = m.state_dict()
    assert all(np.array_equal(before[k], after[k]) for k in before)
    # one bad shape alone also changes nothing, even though the other keys are fine
    good_but_one = {k: v + 1 if v.dtype.kind == "f" else v for k, v in before.items()}
    good_but_one["7.bias"] = np.zeros(2)
    with pytest.raises(ValueError, match="7.bias"):
        m.load_state_dict(good_but_one)
    assert all(np.array_equal(before[k], v) for k, v in m.state_dict().items())
    with pytest.raises(TypeError, match="dict"):
        m.load_state_dict([1, 2])


def test_load_state_dict_non_strict_skips_missing_and_unexpected():
    m = _mlp()
    partial = {"0.weight": np.ones((6, 4)), "extra": np.zeros(2)}
    m.load_state_dict(partial, strict=False)
    assert np.all(m[0].weight.numpy() == 1)
    with pytest.raises(ValueError, match="expected shape"):  # shapes are checked regardless
        m.load_state_dict({"0.weight": np.ones((4, 6))}, strict=False)


# ---------------------------------------------------------------- learning


def test_mlp_learns_xor():
    """A 2-8-1 tanh MLP trained with Adam (full batch) reaches BCE < 0.02 within 300 steps."""
    tg.manual_seed(0)
    x = tg.tensor([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=F64)
    y = tg.tensor([[0], [1], [1], [0]], dtype=F64)
    net = nn.Sequential(nn.Linear(2, 8, dtype=F64), nn.Tanh(), nn.Linear(8, 1, dtype=F64))
    opt = optim.Adam(net.parameters(), lr=0.05)
    for _ in range(300):
        opt.zero_grad()
        loss = F.bce_with_logits(net(x), y)
        loss.backward()
        opt.step()
    assert loss.item() < 0.02
    assert np.array_equal(net(x).numpy() > 0, y.numpy() > 0.5)


def test_parameters_and_buffers_are_the_named_ones_in_the_same_order():
    """parameters()/buffers() skip building names (trainers call them every step); they must
    list exactly what named_parameters()/named_buffers() list, shared tensors once."""
    from tinygan.gan import models

    shared = nn.Linear(3, 3)
    nets = [*models.mlp_gan(), models.DCGANGenerator(), models.DCGANDiscriminator(),
            nn.Sequential(shared, nn.BatchNorm1d(3), shared),
            models.ToyDiscriminator(2, 8, 2, minibatch=(5, 3, 0.1, None))]
    for net in nets:
        assert [id(p) for p in net.parameters()] == [id(p) for _, p in net.named_parameters()]
        assert [id(b) for b in net.buffers()] == [id(b) for _, b in net.named_buffers()]
        assert net.parameters(), type(net).__name__


def test_predict_applies_a_module_in_eval_mode_in_batches():
    from tinygan.nn.utils import predict
    net = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Dropout(0.5))
    x = np.random.default_rng(0).standard_normal((7, 3)).astype(np.float32)
    out = predict(net, x, batch_size=3)
    net.eval()
    with tg.no_grad():
        want = net(tg.tensor(x)).numpy()
    net.train()
    assert out.dtype == np.float32 and out.shape == (7, 4)
    np.testing.assert_allclose(out, want, rtol=1e-6)     # eval mode: no dropout, running stats
    assert net.training                                   # the flag is restored
    with pytest.raises(ValueError, match="non-empty batch"):
        predict(net, np.zeros((0, 3)))
