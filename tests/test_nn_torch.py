"""tinygan.nn against PyTorch (skipped without torch): state_dicts move tinygan -> torch ->
tinygan with equal outputs, batch norm's outputs, gradients and running statistics equal
torch's over several steps, and LayerNorm / InstanceNorm2d / Linear agree forward and backward."""
import numpy as np
import pytest

import tinygan as tg
import tinygan.nn as nn

torch = pytest.importorskip("torch")
tnn = torch.nn


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny ops on a shared machine: more threads only slow them down
    yield
    torch.set_num_threads(threads)


def to_torch(state):
    return {k: torch.from_numpy(np.array(v)) for k, v in state.items()}


def to_numpy(torch_state):
    return {k: v.detach().numpy() for k, v in torch_state.items()}


def assert_same_state(ours, theirs, rtol=1e-6, atol=1e-7):
    assert list(ours) == list(theirs)  # same keys in the same order
    for k in ours:
        assert ours[k].shape == tuple(theirs[k].shape), k
        np.testing.assert_allclose(ours[k], theirs[k], rtol=rtol, atol=atol, err_msg=k)


def mlp_pair():
    ours = nn.Sequential(nn.Linear(6, 16), nn.BatchNorm1d(16), nn.LeakyReLU(0.2), nn.Dropout(0.3),
                         nn.Linear(16, 8), nn.LayerNorm(8), nn.Tanh(), nn.Linear(8, 1))
    theirs = tnn.Sequential(tnn.Linear(6, 16), tnn.BatchNorm1d(16), tnn.LeakyReLU(0.2),
                            tnn.Dropout(0.3), tnn.Linear(16, 8), tnn.LayerNorm(8), tnn.Tanh(),
                            tnn.Linear(8, 1))
    return ours, theirs


def conv_pair():
    ours = nn.Sequential(nn.Unflatten(1, (3, 4, 4)), nn.BatchNorm2d(3), nn.ReLU(),
                         nn.InstanceNorm2d(3, affine=True), nn.Flatten(), nn.Linear(48, 2))
    theirs = tnn.Sequential(tnn.Unflatten(1, (3, 4, 4)), tnn.BatchNorm2d(3), tnn.ReLU(),
                            tnn.InstanceNorm2d(3, affine=True), tnn.Flatten(), tnn.Linear(48, 2))
    return ours, theirs


def _outputs_equal(ours, theirs, x):
    y = ours(tg.tensor(x)).numpy()
    with torch.no_grad():
        ty = theirs(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(y, ty, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("pair, in_features", [(mlp_pair, 6), (conv_pair, 48)],
                         ids=["mlp-batchnorm1d-layernorm", "batchnorm2d-instancenorm2d"])
def test_state_dict_round_trip_tinygan_torch_tinygan(pair, in_features):
    rng = np.random.default_rng(0)
    ours, theirs = pair()
    for _ in range(3):  # running statistics that are not the defaults
        ours(tg.tensor(rng.normal(1, 2, size=(10, in_features)).astype(np.float32)))
    theirs.load_state_dict(to_torch(ours.state_dict()), strict=True)  # tinygan -> torch
    x = rng.normal(size=(7, in_features)).astype(np.float32)
    ours.eval(), theirs.eval()
    _outputs_equal(ours, theirs, x)
    ours.train(), theirs.train()
    for m in ours.modules() + list(theirs.modules()):
        if isinstance(m, (nn.Dropout, tnn.Dropout)):
            m.p = 0.0  # train mode without randomness, so batch-statistics outputs compare
    _outputs_equal(ours, theirs, x)  # (this step also moved both sets of running statistics)
    assert_same_state(ours.state_dict(), to_numpy(theirs.state_dict()))
    # torch trains a little, then everything goes back: torch -> tinygan
    opt = torch.optim.SGD(theirs.parameters(), lr=0.1)
    for _ in range(3):
        opt.zero_grad()
        theirs(torch.from_numpy(rng.normal(size=(8, in_features)).astype(np.float32))).square() \
            .mean().backward()
        opt.step()
    fresh = pair()[0]
    fresh.load_state_dict(to_numpy(theirs.state_dict()))
    assert_same_state(fresh.state_dict(), to_numpy(theirs.state_dict()), rtol=0, atol=0)
    fresh.eval(), theirs.eval()
    _outputs_equal(fresh, theirs, x)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("ours_cls, theirs_cls, shape, momentum", [
    (nn.BatchNorm1d, tnn.BatchNorm1d, (8, 5), 0.1),
    (nn.BatchNorm1d, tnn.BatchNorm1d, (4, 5, 3), 0.3),
    (nn.BatchNorm2d, tnn.BatchNorm2d, (4, 5, 3, 2), 0.1),
    (nn.BatchNorm2d, tnn.BatchNorm2d, (3, 5, 2, 2), None),
], ids=["1d", "1d-NCL", "2d", "2d-cumulative"])
def test_batch_norm_matches_torch_over_several_steps(ours_cls, theirs_cls, shape, momentum, dtype):
    rng = np.random.default_rng(1)
    ours = ours_cls(5, momentum=momentum, dtype=dtype)
    theirs = theirs_cls(5, momentum=momentum).to(torch.float64 if dtype == np.float64
                                                  else torch.float32)
    for p in ours.parameters():  # affine parameters away from 1 and 0
        p.data += rng.normal(0, 0.5, p.shape).astype(dtype)
    theirs.load_state_dict(to_torch(ours.state_dict()))
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
    for step in range(4):
        x = (rng.normal(step, 1 + step, size=shape)).astype(dtype)
        r = rng.normal(size=shape).astype(dtype)  # a random cotangent for the backward pass
        xt = tg.tensor(x, requires_grad=True)
        y = ours(xt)
        (y * tg.tensor(r)).sum().backward()
        txt = torch.tensor(x, requires_grad=True)
        ty = theirs(txt)
        (ty * torch.from_numpy(r)).sum().backward()
        np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), **tol)
        np.testing.assert_allclose(xt.grad.numpy(), txt.grad.numpy(), **tol)
        for (name, p), tp in zip(ours.named_parameters(), theirs.parameters()):
            np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), err_msg=name, **tol)
            p.grad, tp.grad = None, None
        assert_same_state(ours.state_dict(), to_numpy(theirs.state_dict()), **tol)
    ours.eval(), theirs.eval()
    x = rng.normal(size=shape).astype(dtype)
    with torch.no_grad():
        np.testing.assert_allclose(ours(tg.tensor(x)).numpy(),
                                   theirs(torch.from_numpy(x)).numpy(), **tol)
    assert int(ours.num_batches_tracked.item()) == 4


def _forward_backward_equal(ours, theirs, x, rng):
    r = rng.normal(size=ours(tg.tensor(x)).shape)
    xt = tg.tensor(x, requires_grad=True)
    (ours(xt) * tg.tensor(r)).sum().backward()
    txt = torch.tensor(x, requires_grad=True)
    ty = theirs(txt)
    (ty * torch.from_numpy(r)).sum().backward()
    np.testing.assert_allclose(ours(tg.tensor(x)).numpy(), ty.detach().numpy(), rtol=1e-10,
                               atol=1e-12)
    np.testing.assert_allclose(xt.grad.numpy(), txt.grad.numpy(), rtol=1e-10, atol=1e-12)
    for (name, p), tp in zip(ours.named_parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-10, atol=1e-12,
                                   err_msg=name)


@pytest.mark.parametrize("make, shape", [
    (lambda: (nn.Linear(5, 3, dtype=np.float64), tnn.Linear(5, 3)), (4, 5)),
    (lambda: (nn.LayerNorm(6, dtype=np.float64), tnn.LayerNorm(6)), (4, 6)),
    (lambda: (nn.LayerNorm((3, 4), dtype=np.float64), tnn.LayerNorm((3, 4))), (2, 3, 4)),
    (lambda: (nn.InstanceNorm2d(3, dtype=np.float64), tnn.InstanceNorm2d(3)), (2, 3, 4, 4)),
    (lambda: (nn.InstanceNorm2d(3, affine=True, dtype=np.float64),
              tnn.InstanceNorm2d(3, affine=True)), (2, 3, 3, 5)),
], ids=["Linear", "LayerNorm", "LayerNorm-2d", "InstanceNorm2d", "InstanceNorm2d-affine"])
def test_layers_match_torch_forward_and_backward(make, shape):
    rng = np.random.default_rng(2)
    ours, theirs = make()
    for p in ours.parameters():
        p.data += rng.normal(0, 0.5, p.shape)
    theirs = theirs.double()
    theirs.load_state_dict(to_torch(ours.state_dict()))
    _forward_backward_equal(ours, theirs, rng.normal(1, 2, size=shape), rng)


def test_a_torch_state_dict_loads_directly():
    """A torch state_dict (detached tensors) loads directly, without converting by hand."""
    ours, theirs = mlp_pair()
    ours.load_state_dict(theirs.state_dict())
    assert_same_state(ours.state_dict(), to_numpy(theirs.state_dict()), rtol=0, atol=0)
