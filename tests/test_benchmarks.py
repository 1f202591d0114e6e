"""The benchmark stays honest and runnable: the harness plumbing works, the floor is exactly the
tinygan step's matrix products, the PyTorch step computes the same thing, and the engine keeps
the layouts and memory habits the benchmark's speed depends on. Nothing here times anything."""
import collections
import json
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

import tinygan as tg
import tinygan.nn as nn
import tinygan.tensor  # noqa: F401  (tg.tensor is the function; the module is the engine)
from tinygan import fused
from tinygan.optim import Adam

engine = sys.modules["tinygan.tensor"]

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCH))
import bench_mlp_gan as mlp  # noqa: E402
import harness  # noqa: E402


# ---------------------------------------------------------------- harness plumbing


def counting_case(calls):
    def factory(name):
        return lambda batch: (lambda: calls.append(name))
    return {"name": "toy", "batch": 3, "tinygan": factory("tinygan"), "torch": factory("torch"),
            "floor": factory("floor")}


def test_time_case_alternates_and_reports_paired_ratios():
    calls = []
    result = harness.time_case(counting_case(calls), warmup=2, rounds=5)
    assert calls == ["tinygan", "torch", "floor"] * 7  # alternating, warm-up included
    assert result["batch"] == 3 and result["rounds"] == 5
    for key in ("median_ms", "cpu_median_ms"):
        assert set(result[key]) == {"tinygan", "torch", "floor"}
    assert set(result["ratio"]) == {"tinygan/torch", "tinygan/floor"}
    assert all(r > 0 for r in result["ratio"].values())


def test_time_case_without_torch_or_floor():
    calls = []
    case = counting_case(calls)
    case["floor"] = None
    result = harness.time_case(case, warmup=0, rounds=2, frameworks=("tinygan", "floor"))
    assert calls == ["tinygan", "tinygan"] and result["ratio"] == {}


def test_markdown_table_shows_ratios_and_memory():
    result = {"name": "toy", "batch": 8, "median_ms": {"tinygan": 2.0, "torch": 4.0, "floor": 1.0},
              "ratio": {"tinygan/torch": 0.5, "tinygan/floor": 2.0},
              "cpu_ratio": {"tinygan/torch": 0.6, "tinygan/floor": 1.9},
              "memory": {"tinygan": {"peak_mb": 3.0}, "torch": {"peak_mb": 2.0}}}
    result["cpu_median_ms"] = {"tinygan": 1.5, "torch": 3.5, "floor": 0.75}
    table = harness.markdown_table([result], threads=2)
    row = next(line for line in table.splitlines() if line.startswith("| toy"))
    for text in ("toy (batch 8)", "| 2 |", "| 2.00 (1.50) | 4.00 (3.50) | 1.00 (0.75) |",
                 "0.50× (0.60×)", "2.00× (1.90×)", "3.0 / 2.0", "1.50×"):
        assert text in row


def test_memory_is_measured_in_a_fresh_process(tmp_path):
    bench = tmp_path / "bench_alloc.py"
    bench.write_text(
        "import numpy as np\n"
        "def make(batch):\n"
        "    keep = np.ones(batch * 2**20 // 8)  # batch MiB, held by the step\n"
        "    def step():\n"
        "        np.ones(batch * 2**20 // 8).sum()  # another batch MiB, freed at once\n"
        "        return keep\n"
        "    return step\n"
        "CASES = [{'name': 'alloc', 'batch': 4, 'tinygan': make}]\n")
    out = harness.memory_in_subprocess(bench, "alloc", "tinygan", threads=1, steps=2)
    assert 7.5 < out["peak_mb"] < 9 and out["method"] == "tracemalloc"
    assert json.dumps(out)  # plain JSON


def test_discover_collects_cases_from_bench_files(tmp_path):
    for stem, names in (("bench_a", ["A one", "A two"]), ("bench_b", ["B"])):
        cases = ", ".join(f"{{'name': {n!r}, 'tinygan': None}}" for n in names)
        (tmp_path / f"{stem}.py").write_text(f"CASES = [{cases}]\n")
    (tmp_path / "helper.py").write_text("raise RuntimeError('not a bench file')\n")
    found = [(path.name, case["name"]) for path, case in harness.discover(None, tmp_path)]
    assert found == [("bench_a.py", "A one"), ("bench_a.py", "A two"), ("bench_b.py", "B")]
    assert [c["name"] for _, c in harness.discover("TWO", tmp_path)] == ["A two"]
    (tmp_path / "bench_c.py").write_text("CASES = [{'name': 'no factory'}]\n")
    with pytest.raises(ValueError, match="lacks \\['tinygan'\\]"):
        harness.discover(None, tmp_path)


# ---------------------------------------------------------------- the MLP GAN benchmark


def product(rows, inner, cols):
    """A matrix product's work; A @ B and (B^T A^T)^T are the same product."""
    return inner, min(rows, cols), max(rows, cols)


def matmul_shapes_of_one_tinygan_step(monkeypatch, batch):
    """Every matrix product a tinygan step performs."""
    shapes = collections.Counter()
    matmul, linear = engine.MatMul.forward, fused.Linear.forward

    def spy_matmul(self, a, b):
        shapes[product(*a.shape[-2:], b.shape[-1])] += 1
        return matmul(self, a, b)

    def spy_linear(self, x, w, b=None):  # x @ W^T
        shapes[product(x.shape[0], x.shape[1], w.shape[0])] += 1
        return linear(self, x, w, b)

    step = mlp.make_tinygan_step(batch)
    monkeypatch.setattr(engine.MatMul, "forward", spy_matmul)
    monkeypatch.setattr(fused.Linear, "forward", spy_linear)
    step()
    return shapes


def test_the_floor_is_exactly_the_steps_matrix_products(monkeypatch):
    batch = 8
    floor = collections.Counter(product(a.shape[0], a.shape[1], b.shape[1])
                                for a, b in mlp.floor_products(batch))
    assert matmul_shapes_of_one_tinygan_step(monkeypatch, batch) == floor
    assert sum(floor.values()) == 33  # 9 forward, 10 in D's backward, 14 in the G step's


def test_torch_step_computes_the_same_step():
    torch = pytest.importorskip("torch")
    # In float64: Adam moves a weight by ~lr whatever its gradient's size, so in float32 a
    # near-zero gradient whose rounding differs (BLAS summation order) can differ by ~lr/100.
    G, D = mlp.tinygan_models()
    tG, tD = (m.double() for m in mlp.torch_models())
    for mine, theirs in ((G, tG), (D, tD)):
        for _, t in mine.named_parameters() + mine.named_buffers():
            if t.dtype == np.float32:
                t.data = t.data.astype(np.float64)
        theirs.load_state_dict({k: torch.from_numpy(v) for k, v in mine.state_dict().items()})
    opts = [Adam(m.parameters(), lr=mlp.LR, betas=mlp.BETAS) for m in (G, D)]
    topts = [torch.optim.Adam(m.parameters(), lr=mlp.LR, betas=mlp.BETAS) for m in (tG, tD)]
    real = mlp._real_batch(16).astype(np.float64)
    for seed in range(2):  # two steps: the second starts from Adam's updated weights
        z = np.random.default_rng(seed).standard_normal((16, mlp.NZ))
        losses = mlp.tinygan_gan_step(G, D, *opts, tg.tensor(real), tg.tensor(z))
        tlosses = mlp.torch_gan_step(tG, tD, *topts, torch.from_numpy(real), torch.from_numpy(z))
        for a, b in zip(losses, tlosses):
            np.testing.assert_allclose(a.item(), b.item(), rtol=1e-5)
    for mine, theirs in ((G, tG), (D, tD)):
        for k, v in theirs.state_dict().items():
            np.testing.assert_allclose(mine.state_dict()[k], v.numpy(), rtol=1e-4, atol=1e-6)


# ---------------------------------------------------------------- engine habits the speed needs


def test_linear_weight_gradient_comes_out_row_major_like_the_weight():
    """x @ W.T: W's gradient is computed as (G^T x), C-ordered like W, not as a transposed
    view; mixing layouts made accumulation and the optimizer ~4x slower."""
    layer = nn.Linear(5, 3)
    x = tg.randn(4, 5, requires_grad=True)
    loss = (layer(x) ** 2).sum()
    gw, gx = tg.grad(loss, [layer.weight, x])
    assert gw.data.flags.c_contiguous and gx.data.flags.c_contiguous
    w, xv = layer.weight.numpy(), x.numpy()
    y = xv @ w.T + layer.bias.numpy()
    np.testing.assert_allclose(gw.numpy(), (2 * y).T @ xv, rtol=1e-5)
    np.testing.assert_allclose(gx.numpy(), 2 * y @ w, rtol=1e-5)


def test_adam_needs_one_scratch_array_not_one_per_parameter():
    """After the first step Adam holds m and v per parameter plus one work array the size of the
    largest parameter."""
    params = [tg.zeros(n, dtype=np.float64, requires_grad=True) for n in (20_000, 60_000, 5_000)]
    opt = Adam(params, lr=1e-3)
    for p in params:
        p.grad = tg.ones(p.shape[0], dtype=np.float64)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        opt.step()
        opt.step()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    total, largest = 85_000 * 8, 60_000 * 8
    assert grown < 2 * total + largest + 20_000  # m, v, one scratch (+ small objects)


def test_backward_frees_gradients_as_it_stores_them():
    """Leaves' gradients are moved into .grad one by one: the peak is not every gradient twice."""
    n = 250_000  # 1 MB per float32 gradient
    ws = [tg.zeros(n, requires_grad=True) for _ in range(4)]
    loss = sum((w * w).sum() for w in ws)
    tracemalloc.start()
    try:
        loss.backward()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert all(w.grad is not None for w in ws)
    assert peak < 6.5 * n * 4  # 4 stored + the ones in flight; not 8 (all twice)


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("lead", [(), (5,), (2, 5)])
def test_fused_linear_differentiates_twice(bias, lead):
    from tinygan.testing import gradcheck, gradgradcheck
    import tinygan.functional as F
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal(lead + (4,)), rng.standard_normal((3, 4)), rng.standard_normal(3)
    args = (x, w, b) if bias else (x, w)
    np.testing.assert_allclose(F.linear(*map(tg.tensor, args)).numpy(),
                               x @ w.T + (b if bias else 0), rtol=1e-12)
    assert gradcheck(F.linear, *args)
    assert gradgradcheck(F.linear, *args)


def test_linear_errors_name_the_shapes():
    import tinygan.functional as F
    with pytest.raises(ValueError, match=r"\(5, 3\).*\(3, 4\)"):
        F.linear(tg.ones(5, 3), tg.ones(3, 4))


def test_functional_linear_is_x_wt_plus_b_for_any_leading_shape():
    import tinygan.functional as F
    w, b = tg.randn(3, 4), tg.randn(3)
    for shape in [(4,), (5, 4), (2, 5, 4)]:
        x = tg.randn(*shape)
        expected = x.numpy() @ w.numpy().T + b.numpy()
        np.testing.assert_allclose(F.linear(x, w, b).numpy(), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(F.linear(x, w).numpy(), x.numpy() @ w.numpy().T, rtol=1e-5)


def test_leaves_take_fresh_gradient_arrays_and_copy_everything_else():
    """As PyTorch steals a gradient buffer nobody else holds: no copy of a fresh result, but
    never an alias of the caller's gradient, a broadcast view, or another leaf's gradient."""
    layer = nn.Linear(4, 3)
    (layer(tg.randn(5, 4)) ** 2).sum().backward()
    assert layer.weight.grad.data.flags.owndata and layer.bias.grad.data.flags.owndata
    x = tg.zeros(3, requires_grad=True)
    seed = np.ones(3, np.float32)
    x.backward(seed)  # the leaf's gradient is the caller's own array: copied
    x.grad.data *= 5
    np.testing.assert_array_equal(seed, 1)
    y = tg.zeros(2, 3, requires_grad=True)
    y.sum().backward()  # a read-only broadcast view: copied into a writable array
    y.grad.data += 1
    np.testing.assert_array_equal(y.grad.numpy(), 2)
    a, b = tg.zeros(3, requires_grad=True), tg.zeros(3, requires_grad=True)
    ((a + b) * tg.tensor([1.0, 2.0, 3.0])).sum().backward()  # one fresh array, two leaves
    a.grad.data *= 10
    np.testing.assert_array_equal(b.grad.numpy(), [1, 2, 3])


def test_fresh_gradients_are_stored_without_a_copy():
    n = 250_000  # 1 MB per float32 gradient
    ws = [tg.zeros(n, requires_grad=True) for _ in range(4)]
    c = tg.ones(n)
    loss = sum((w * c).sum() for w in ws)  # one fresh gradient per leaf
    tracemalloc.start()
    try:
        loss.backward()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4.5 * n * 4  # the 4 gradients themselves; copying would make it 5
