"""tinygan.optim: single steps against values worked out by hand, 50-step trajectories against
PyTorch's optimizers (skipped without torch), checkpoint state (flat NumPy, bit-identical
resume, all-or-nothing loading), hyperparameter errors, and steps that allocate nothing."""
import io
import tracemalloc

import numpy as np
import pytest

import tinygan as tg
import tinygan.functional as F
import tinygan.nn as nn
from tinygan import optim

F64 = np.float64


def one_param(values, grads, cls, steps=1, **kw):
    """Run `steps` updates of one float64 parameter, feeding the given gradient each step
    (a list of gradients, one per step, or one gradient reused)."""
    p = tg.tensor(values, dtype=F64, requires_grad=True)
    opt = cls([p], **kw)
    grads = list(grads) if np.ndim(grads) == np.ndim(values) + 1 else [grads] * steps
    for g in grads:
        p.grad = tg.tensor(g, dtype=F64)
        opt.step()
    return p.numpy()


W, G = [1.0, -2.0], [0.5, 0.25]


# ---------------------------------------------------------------- single steps by hand


def test_sgd_by_hand():
    np.testing.assert_allclose(one_param(W, G, optim.SGD, lr=0.1), [0.95, -2.025])
    # weight decay: d = g + 0.1 w = [0.6, 0.05]
    np.testing.assert_allclose(one_param(W, G, optim.SGD, lr=0.1, weight_decay=0.1),
                               [0.94, -2.005])
    # momentum 0.9: b1 = g, b2 = 0.9 g + g = 1.9 g; w2 = w - 0.1 g - 0.19 g
    np.testing.assert_allclose(one_param(W, G, optim.SGD, 2, lr=0.1, momentum=0.9),
                               [0.855, -2.0725])
    # Nesterov: d1 = g + 0.9 b1 = 1.9 g, d2 = g + 0.9 (1.9 g) = 2.71 g
    np.testing.assert_allclose(one_param(W, G, optim.SGD, 2, lr=0.1, momentum=0.9, nesterov=True),
                               [0.7695, -2.11525])
    # dampening 0.5: b1 = g (no dampening on the first step), b2 = 0.9 g + 0.5 g = 1.4 g
    np.testing.assert_allclose(one_param(W, G, optim.SGD, 2, lr=0.1, momentum=0.9,
                                         dampening=0.5), [0.88, -2.06])


def test_adam_by_hand():
    # step 1: m_hat = g, v_hat = g^2, so w moves by lr * g / (|g| + eps), about lr * sign(g)
    w1 = one_param(W, G, optim.Adam, lr=0.01)
    np.testing.assert_allclose(w1, [1 - 0.01 * 0.5 / (0.5 + 1e-8),
                                    -2 - 0.01 * 0.25 / (0.25 + 1e-8)], rtol=1e-15)
    # step 2 with g = 0.5 then -0.3 (b1 = 0.9, b2 = 0.999), worked out as scalars
    m = 0.9 * (0.1 * 0.5) + 0.1 * -0.3                 # 0.015
    v = 0.999 * (0.001 * 0.25) + 0.001 * 0.09          # 0.00033975
    step1 = 0.01 * 0.5 / (0.5 + 1e-8)
    step2 = 0.01 / (1 - 0.9 ** 2) * m / (np.sqrt(v) / np.sqrt(1 - 0.999 ** 2) + 1e-8)
    w2 = one_param([1.0], [[0.5], [-0.3]], optim.Adam, lr=0.01)
    np.testing.assert_allclose(w2, [1 - step1 - step2], rtol=1e-14)
    assert step2 == pytest.approx(0.0019150, rel=1e-4)
    # L2 weight decay (not AdamW): the decayed gradient g + wd*w = 0.5 + 0.5*1 = 1 feeds m and v
    np.testing.assert_allclose(one_param([1.0], [0.5], optim.Adam, lr=0.01, weight_decay=0.5),
                               [1 - 0.01 * 1.0 / (1.0 + 1e-8)], rtol=1e-15)


def test_rmsprop_by_hand():
    # v = 0.01 g^2, so the first step is lr * g / (0.1 |g| + eps), about 10 lr * sign(g)
    w1 = one_param([1.0], [0.5], optim.RMSprop, lr=0.01)
    np.testing.assert_allclose(w1, [1 - 0.01 * 0.5 / (0.05 + 1e-8)], rtol=1e-14)
    # centered: v - mean^2 = 0.0025 - 0.005^2 = 0.002475
    w1c = one_param([1.0], [0.5], optim.RMSprop, lr=0.01, centered=True)
    np.testing.assert_allclose(w1c, [1 - 0.01 * 0.5 / (np.sqrt(0.002475) + 1e-8)], rtol=1e-14)
    # momentum 0.5, alpha 0.9, two steps of g = 0.5: v1 = 0.025, v2 = 0.0475
    d1 = 0.5 / (np.sqrt(0.025) + 1e-8)
    d2 = 0.5 / (np.sqrt(0.9 * 0.025 + 0.1 * 0.25) + 1e-8)
    w2 = one_param([1.0], [0.5], optim.RMSprop, 2, lr=0.01, alpha=0.9, momentum=0.5)
    np.testing.assert_allclose(w2, [1 - 0.01 * d1 - 0.01 * (0.5 * d1 + d2)], rtol=1e-14)


def test_parameters_without_grad_are_skipped_and_lr_can_change():
    a = tg.tensor([1.0], requires_grad=True)
    b = tg.tensor([1.0], requires_grad=True)
    opt = optim.SGD([a, b], lr=0.5, momentum=0.9)
    a.grad = tg.tensor([1.0])
    opt.step()
    assert a.item() == 0.5 and b.item() == 1.0 and opt.state[1] == {}
    opt.lr = 0.25  # as a schedule would
    opt.zero_grad()
    assert a.grad is None
    a.grad = tg.tensor([0.0])
    opt.step()  # momentum carries on: b = 0.9 * 1 + 0 = 0.9
    assert a.item() == pytest.approx(0.5 - 0.25 * 0.9)


def test_step_with_closure_returns_the_loss():
    p = tg.tensor([3.0], requires_grad=True)
    opt = optim.SGD([p], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    assert opt.step(closure).item() == 9.0 and p.item() == pytest.approx(3.0 - 0.1 * 6.0)


def test_grad_of_the_wrong_shape_is_an_error():
    p = tg.tensor([1.0, 2.0], requires_grad=True)
    p.grad = tg.tensor([1.0])
    with pytest.raises(ValueError, match=r"shape \(2,\) but its .grad has shape \(1,\)"):
        optim.Adam([p]).step()


# ---------------------------------------------------------------- bad hyperparameters and params


@pytest.mark.parametrize("cls, kw, match", [
    (optim.SGD, dict(lr=-0.1), r"lr must lie in \[0.0, inf\]"),
    (optim.SGD, dict(lr=float("nan")), "lr must lie"),
    (optim.SGD, dict(lr="0.1"), "lr must be a number"),
    (optim.SGD, dict(momentum=-0.5), "momentum"),
    (optim.SGD, dict(momentum=0.0, nesterov=True), "Nesterov momentum needs momentum > 0"),
    (optim.SGD, dict(momentum=0.9, dampening=0.1, nesterov=True), "dampening = 0"),
    (optim.SGD, dict(weight_decay=-1e-4), "weight_decay"),
    (optim.Adam, dict(betas=(0.9, 1.0)), r"betas\[1\] \(beta2\) must lie in \[0.0, 1.0\)"),
    (optim.Adam, dict(betas=(-0.1, 0.99)), "beta1"),
    (optim.Adam, dict(betas=0.9), "betas must be a pair"),
    (optim.Adam, dict(eps=-1e-8), "eps"),
    (optim.Adam, dict(lr=float("inf")), "lr"),
    (optim.RMSprop, dict(alpha=1.5), "alpha"),
    (optim.RMSprop, dict(momentum=-0.1), "momentum"),
    (optim.RMSprop, dict(eps=float("nan")), "eps"),
])
def test_bad_hyperparameters_are_named(cls, kw, match):
    with pytest.raises((ValueError, TypeError), match=match):
        cls([tg.zeros(2, requires_grad=True)], **kw)


def test_bad_parameter_lists():
    p = tg.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.Adam([])
    with pytest.raises(TypeError, match="single Tensor"):
        optim.Adam(p)
    with pytest.raises(ValueError, match="appears twice"):
        optim.Adam([p, p])
    with pytest.raises(ValueError, match="requires_grad=True"):
        optim.SGD([p, tg.zeros(2)])
    with pytest.raises(TypeError, match="parameter groups"):
        optim.SGD([{"params": [p]}])


# ---------------------------------------------------------------- in place, allocation-light


@pytest.mark.parametrize("cls, kw", [
    (optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3)),
    (optim.Adam, dict(lr=1e-3, weight_decay=1e-3)),
    (optim.RMSprop, dict(lr=1e-3, momentum=0.5, centered=True, weight_decay=1e-3)),
])
def test_steps_update_in_place_and_allocate_nothing_new(cls, kw):
    p = tg.randn(100_000, requires_grad=True)  # 400 kB of float32
    p.grad = tg.randn(100_000)
    array = p.data
    opt = cls([p], **kw)
    opt.step()  # the first step creates state and scratch arrays
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        opt.step()
        opt.step()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert p.data is array  # updated in place: views of the parameter stay valid
    assert peak < 20_000, f"a step allocated {peak} bytes (one temporary array is 400000)"


# ---------------------------------------------------------------- state_dict and resume


def _problem(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(16, 4))
    y = np.sin(x.sum(axis=1, keepdims=True))
    return x, y


def _train(net, opt, x, y, steps):
    for _ in range(steps):
        opt.zero_grad()
        F.mse(net(tg.tensor(x)), tg.tensor(y)).backward()
        opt.step()


def _net():
    return nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1))


def _npz_round_trip(state):
    """What a checkpoint does: save as .npz and read back with allow_pickle=False."""
    buf = io.BytesIO()
    np.savez(buf, **state)
    buf.seek(0)
    with np.load(buf, allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


@pytest.mark.parametrize("cls, kw", [
    (optim.SGD, dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3)),
    (optim.Adam, dict(lr=0.01, betas=(0.5, 0.999))),
    (optim.RMSprop, dict(lr=0.01, momentum=0.3, centered=True)),
])
def test_resumed_optimizer_continues_bit_identically(cls, kw):
    x, y = _problem()
    tg.manual_seed(1)
    net = _net()
    opt = cls(net.parameters(), **kw)
    _train(net, opt, x, y, 5)
    saved_net, saved_opt = _npz_round_trip(net.state_dict()), _npz_round_trip(opt.state_dict())
    assert all(type(v) is np.ndarray for v in saved_opt.values())
    _train(net, opt, x, y, 5)
    tg.manual_seed(2)
    net2 = _net()  # different initial weights: everything must come from the checkpoint
    opt2 = cls(net2.parameters(), lr=0.123)  # hyperparameters come from the checkpoint too
    net2.load_state_dict(saved_net)
    opt2.load_state_dict(saved_opt)
    assert opt2.hyperparameters() == opt.hyperparameters() and opt2.steps == 5
    _train(net2, opt2, x, y, 5)
    for a, b in zip(net.parameters(), net2.parameters()):
        assert np.array_equal(a.numpy(), b.numpy())


def test_state_dict_is_a_snapshot():
    p = tg.tensor([1.0, 2.0], requires_grad=True)
    opt = optim.Adam([p], lr=0.1)
    p.grad = tg.tensor([1.0, -1.0])
    opt.step()
    state = opt.state_dict()
    m = state["state.0.m"].copy()
    opt.step()
    assert np.array_equal(state["state.0.m"], m) and int(state["steps"]) == 1
    assert int(state["state.0.t"]) == 1 and state["hyper.betas"].tolist() == [0.9, 0.999]


def test_load_state_dict_errors_change_nothing():
    x, y = _problem()
    net = _net()
    adam = optim.Adam(net.parameters(), lr=0.01)
    _train(net, adam, x, y, 2)
    sgd = optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    _train(net, sgd, x, y, 1)
    before = adam.state_dict()

    def unchanged():
        after = adam.state_dict()
        return set(after) == set(before) and all(np.array_equal(after[k], before[k])
                                                 for k in before)

    with pytest.raises(ValueError, match=r"missing keys \['hyper.betas', 'hyper.eps'\]"):
        adam.load_state_dict(sgd.state_dict())  # another optimizer's state
    assert unchanged()
    bad = dict(before)
    bad["state.1.m"] = np.zeros(3)
    with pytest.raises(ValueError, match=r"state.1.m: expected floats of shape \(8,\)"):
        adam.load_state_dict(bad)
    assert unchanged()
    bad = dict(before)
    del bad["state.2.v"]
    with pytest.raises(ValueError, match="state of parameter 2 has keys"):
        adam.load_state_dict(bad)
    bad = dict(before, **{"hyper.lr": np.asarray(-1.0), "state.9.m": np.zeros(1)})
    with pytest.raises(ValueError) as err:
        adam.load_state_dict(bad)
    assert "lr must lie" in str(err.value) and "unexpected keys ['state.9.m']" in str(err.value)
    assert unchanged()
    other = optim.Adam(_net().parameters()[:2])
    with pytest.raises(ValueError, match="saved for 4 parameters, this optimizer has 2"):
        other.load_state_dict(before)


def test_optimizer_works_on_the_device(device):
    net = _net().to(device)
    opt = optim.Adam(net.parameters(), lr=0.01)
    x, y = (tg.tensor(a, device=device, dtype=np.float32) for a in _problem())
    losses = []
    for _ in range(20):
        opt.zero_grad()
        loss = F.mse(net(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
    assert all(s["m"].__class__ is p.data.__class__ for s, p in zip(opt.state, opt.params))


# ---------------------------------------------------------------- against PyTorch


CONFIGS = [
    (optim.SGD, "SGD", dict(lr=0.1)),
    (optim.SGD, "SGD", dict(lr=0.05, momentum=0.9)),
    (optim.SGD, "SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
    (optim.SGD, "SGD", dict(lr=0.05, momentum=0.8, dampening=0.3, weight_decay=0.01)),
    (optim.Adam, "Adam", dict(lr=1e-3)),
    (optim.Adam, "Adam", dict(lr=2e-3, betas=(0.5, 0.999))),
    (optim.Adam, "Adam", dict(lr=0.02, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.05)),
    (optim.RMSprop, "RMSprop", dict(lr=0.01)),
    (optim.RMSprop, "RMSprop", dict(lr=0.005, alpha=0.9, momentum=0.5, weight_decay=0.01)),
    # centered RMSprop divides by sqrt(v - mean^2); with a tiny eps that trajectory is so
    # sensitive that a 1e-15 nudge to one weight moves PyTorch's own result by 1e-9 after 50
    # steps, so this config keeps eps where the comparison is well conditioned
    (optim.RMSprop, "RMSprop", dict(lr=0.002, centered=True, eps=1e-4)),
    (optim.RMSprop, "RMSprop", dict(lr=0.002, centered=True, momentum=0.9)),
]


@pytest.fixture
def torch():
    """PyTorch on one thread (tiny ops on a shared 2-core machine are slower with more)."""
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield torch
    torch.set_num_threads(threads)


def _torch_twin(torch, net):
    twin = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    twin = twin.to(torch.float64 if net[0].weight.dtype == F64 else torch.float32)
    twin.load_state_dict({k: torch.from_numpy(v) for k, v in net.state_dict().items()})
    return twin


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("cls, name, kw", [pytest.param(*c, id=f"{c[1]}-{i}")
                                            for i, c in enumerate(CONFIGS)])
def test_fifty_steps_equal_pytorch_float64(cls, name, kw, seed, torch):
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=(32, 5)), rng.normal(size=(32, 1))
    tg.manual_seed(seed)
    net = nn.Sequential(nn.Linear(5, 8, dtype=F64), nn.Tanh(), nn.Linear(8, 1, dtype=F64))
    twin = _torch_twin(torch, net)
    start = net.state_dict()
    opt, topt = cls(net.parameters(), **kw), getattr(torch.optim, name)(twin.parameters(), **kw)
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    for step in range(50):
        opt.zero_grad()
        F.mse(net(tg.tensor(x)), tg.tensor(y)).backward()
        opt.step()
        topt.zero_grad()
        torch.nn.functional.mse_loss(twin(tx), ty).backward()
        topt.step()
    for (k, v), tv in zip(net.state_dict().items(), twin.state_dict().values()):
        np.testing.assert_allclose(v, tv.numpy(), rtol=1e-9, atol=1e-12, err_msg=k)
    moved = max(np.abs(v - start[k]).max() for k, v in net.state_dict().items())
    assert moved > 1e-3  # the comparison is not of two parameters that stood still


@pytest.mark.parametrize("cls, name, kw", [CONFIGS[2], CONFIGS[5], CONFIGS[8], CONFIGS[9]],
                         ids=["SGD", "Adam", "RMSprop", "RMSprop-centered"])
def test_fifty_float32_steps_equal_pytorch_on_the_same_gradients(cls, name, kw, torch):
    """float32: both optimizers get PyTorch's gradient each step, so only the updates are
    compared (in a closed loop, float32 rounding in the two forward passes would be amplified
    by the training dynamics and hide what is being tested)."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(32, 5)).astype(np.float32)
    y = rng.normal(size=(32, 1)).astype(np.float32)
    net = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 1))
    twin = _torch_twin(torch, net)
    opt, topt = cls(net.parameters(), **kw), getattr(torch.optim, name)(twin.parameters(), **kw)
    for _ in range(50):
        topt.zero_grad()
        torch.nn.functional.mse_loss(twin(torch.from_numpy(x)), torch.from_numpy(y)).backward()
        for p, tp in zip(net.parameters(), twin.parameters()):
            p.grad = tg.tensor(tp.grad.numpy())
        opt.step()
        topt.step()
    for (k, v), tv in zip(net.state_dict().items(), twin.state_dict().values()):
        assert v.dtype == np.float32
        np.testing.assert_allclose(v, tv.numpy(), rtol=1e-6, atol=1e-6, err_msg=k)


@pytest.mark.parametrize("shape", [(700, 300), (70_001,)])
def test_adam_on_cache_sized_chunks_is_bit_identical_to_whole_array_passes(shape, monkeypatch):
    """Adam works through large parameters in chunks that stay in cache: the same numbers as
    whole-array passes, for sizes that do and do not divide into chunks evenly, and for a
    non-contiguous gradient (read through a copy)."""
    rng = np.random.default_rng(0)
    w0 = rng.standard_normal(shape).astype(np.float32)
    grads = [rng.standard_normal(shape[::-1]).astype(np.float32).T for _ in range(3)]

    def run(chunk_bytes):
        monkeypatch.setattr(optim, "CACHE_CHUNK_BYTES", chunk_bytes)
        p = tg.tensor(w0.copy(), requires_grad=True)
        opt = optim.Adam([p], lr=1e-2, betas=(0.5, 0.999), weight_decay=1e-3)
        for g in grads:
            p.grad = tg.tensor(g)
            opt.step()
        return p.numpy(), opt.state[0]["m"], opt.state[0]["v"]

    chunked, whole = run(64 * 2**10), run(2**40)
    assert w0.nbytes > 64 * 2**10
    for a, b in zip(chunked, whole):
        assert np.array_equal(a, b)
