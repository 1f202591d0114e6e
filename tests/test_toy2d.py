"""The 2D ring/grid experiment (tinygan.experiments.toy2d): the datasets of the protocol, the models each
method builds, seeded repeatability, and that every method trains and is scored by the protocol
(2,500 samples, 3-sigma rule) with its wall time."""
import math

import numpy as np
import pytest

import tinygan.nn as nn
from tinygan.experiments import toy2d
from tinygan.experiments.toy2d import METHODS, Toy2DConfig
from tinygan.gan import remedies
from tinygan.tensor import Tensor

TINY = dict(steps=6, batch_size=16, hidden=8, eval_samples=200, unroll_steps=2)


def test_datasets_are_the_papers():
    ring, grid = toy2d.distribution("ring"), toy2d.distribution("grid")
    assert ring.n_modes == 8 and grid.n_modes == 25
    np.testing.assert_allclose(np.hypot(*ring.means.T), 1.0)
    angles = np.sort(np.mod(np.arctan2(ring.means[:, 1], ring.means[:, 0]), 2 * np.pi))
    np.testing.assert_allclose(np.diff(angles), 2 * np.pi / 8)       # 8 distinct, evenly spaced
    assert sorted({tuple(m) for m in grid.means}) == sorted(
        (float(a), float(b)) for a in (-4, -2, 0, 2, 4) for b in (-4, -2, 0, 2, 4))
    assert ring.stds[0] == 0.01 and grid.stds[0] == 0.05
    assert toy2d.data_scale("ring") == pytest.approx(1.0) and toy2d.data_scale("grid") == 4.0


class DataGenerator(nn.Module):
    """A 'generator' that returns true data samples: the protocol's ceiling."""

    def __init__(self, dataset):
        self.dist, self.rng = toy2d.distribution(dataset), np.random.default_rng(0)

    def forward(self, z):
        return self.dist.sample(len(z), rng=self.rng)


@pytest.mark.parametrize("dataset", ["ring", "grid"])
def test_the_data_itself_scores_all_modes_and_the_3_sigma_mass(dataset):
    cfg = Toy2DConfig(dataset=dataset)
    m = toy2d.protocol_scores(DataGenerator(dataset), cfg)
    assert m["num_samples"] == 2500 and m["num_modes"] == (8 if dataset == "ring" else 25)
    assert m["modes_captured"] == m["num_modes"]
    # in 2D, P(|x - mu| <= 3 sigma) = 1 - exp(-9/2) = 0.9889; 2,500 draws: s.e. 0.002
    assert abs(m["high_quality_fraction"] - (1 - math.exp(-4.5))) < 0.01
    assert m["reverse_kl"] < 0.02


def test_models_follow_the_method():
    G, D = toy2d.build_models(Toy2DConfig(hidden=16, g_depth=3, d_depth=2))
    assert G(Tensor(np.zeros((5, 2), np.float32))).shape == (5, 2)
    assert sum(isinstance(m, nn.Linear) for m in G.modules()) == 4
    assert D(Tensor(np.zeros((5, 2), np.float32))).shape == (5, 1)
    _, Dp = toy2d.build_models(Toy2DConfig(method="packing", pack=3, batch_size=12))
    assert Dp.body[0].in_features == 6                              # PacGAN3: input width 3 x 2
    _, Dm = toy2d.build_models(Toy2DConfig(method="minibatch_discrimination", mbd_kernels=4))
    assert isinstance(Dm.minibatch, remedies.MinibatchDiscrimination)
    assert Dm.head.in_features == 128 + 4
    exp = toy2d.build(Toy2DConfig(method="packing", batch_size=8, hidden=8))
    assert isinstance(exp.trainer.D, remedies.Packed) and exp.ema is not None
    assert exp.trainer.m == 16                      # PacGAN's convention: 8 packs of 2 per step
    exp = toy2d.build(Toy2DConfig(method="packing", batch_size=8, hidden=8, pack_batch=False))
    assert exp.trainer.m == 8                       # or 4 packs from the usual 8 samples
    exp = toy2d.build(Toy2DConfig(method="unrolled", unroll_steps=3, hidden=8))
    assert isinstance(exp.trainer, remedies.UnrolledTrainer) and exp.trainer.unroll_steps == 3
    exp = toy2d.build(Toy2DConfig(method="instance_noise", hidden=8, dataset="grid",
                                  noise_std=0.1))
    assert exp.trainer.D.std == pytest.approx(0.4)                   # 0.1 x the grid's half-width


def test_config_checks_its_names():
    with pytest.raises(ValueError, match="dataset must be one of"):
        Toy2DConfig(dataset="spiral")
    with pytest.raises(ValueError, match="method must be one of"):
        Toy2DConfig(method="wgan-gp")  # the critics are wgan, wgan_gp, sn_gan
    with pytest.raises(ValueError, match="multiple of pack"):
        Toy2DConfig(method="packing", batch_size=9, pack=2, pack_batch=False)


@pytest.mark.parametrize("method", METHODS)
def test_every_method_trains_and_is_scored(method):
    cfg = Toy2DConfig(method=method, dataset="grid", snapshot_every=3, snapshot_samples=50,
                      **TINY)
    result = toy2d.run(cfg)
    s = result.summary()
    assert s["method"] == method and s["dataset"] == "grid" and s["wall_time_s"] > 0
    assert s["num_samples"] == 200 and 0 <= s["modes_captured"] <= 25
    assert 0 <= s["high_quality_fraction"] <= 1
    assert [it for it, _ in result.snapshots] == [0, 3, 6]
    assert all(x.shape == (50, 2) and np.isfinite(x).all() for _, x in result.snapshots)
    # the snapshots are of a generator that is actually training
    assert not np.array_equal(result.snapshots[0][1], result.snapshots[-1][1])
    assert np.isfinite(result.history["d_loss"]).all()


def test_a_seed_repeats_and_another_differs():
    a = toy2d.run(Toy2DConfig(seed=3, **TINY))
    b = toy2d.run(Toy2DConfig(seed=3, **TINY))
    c = toy2d.run(Toy2DConfig(seed=4, **TINY))
    keys = ("modes_captured", "high_quality_fraction", "counts")
    assert all(a.metrics[k] == b.metrics[k] for k in keys)
    np.testing.assert_array_equal(a.samples, b.samples)
    assert not np.array_equal(a.samples, c.samples)                  # another seed, other run
    assert a.cpu_time > 0 and a.summary()["cpu_time_s"] == a.cpu_time


def test_ema_is_what_gets_evaluated():
    result = toy2d.run(Toy2DConfig(ema_decay=0.5, **TINY))
    off = toy2d.run(Toy2DConfig(ema_decay=None, **TINY))
    assert off.metrics == off.raw_metrics and off.generator is not None
    x = toy2d.generate(result.generator, 200, 2, [result.config.seed, 4])
    np.testing.assert_array_equal(x, result.samples)                 # scored = the EMA's samples
    assert toy2d.protocol_scores(result.generator, result.config) == result.metrics


def test_aggregate_gives_mean_and_standard_error_per_method_and_dataset():
    runs = [dict(method=m, dataset=d, seed=s, num_modes=8, iterations=1, modes_captured=c,
                 high_quality_fraction=h, reverse_kl=k, wall_time_s=2.0, cpu_time_s=1.0)
            for m, d, s, c, h, k in [("packing", "ring", 0, 8, 0.9, 0.1),
                                     ("vanilla", "ring", 0, 6, 0.5, 0.3),
                                     ("vanilla", "ring", 1, 8, 0.7, 0.1),
                                     ("vanilla", "grid", 0, 8, 0.7, math.inf)]]
    rows = toy2d.aggregate(runs)
    assert [(r["dataset"], r["method"]) for r in rows] == [
        ("ring", "vanilla"), ("ring", "packing"), ("grid", "vanilla")]
    v = rows[0]
    assert v["seeds"] == 2 and v["modes"] == (7.0, 1.0)              # s.e. = sd / sqrt(2) = 1
    assert v["high_quality"][0] == pytest.approx(60.0)
    assert v["all_modes"] == 1 and v["dropped_or_scattered"] == 1
    assert rows[1]["modes"] == (8.0, 0.0)                            # one seed: no error bar
    assert rows[2]["reverse_kl"][0] == math.inf


def _benchmark():
    """benchmarks/reproduce_mode_collapse.py as a module (its BLAS-thread settings undone)."""
    import importlib.util
    import os
    from pathlib import Path
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "reproduce_mode_collapse.py"
    spec = importlib.util.spec_from_file_location("reproduce_mode_collapse", path)
    module = importlib.util.module_from_spec(spec)
    saved = dict(os.environ)
    try:
        spec.loader.exec_module(module)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return module


def test_reproduction_script_writes_and_resumes_through_the_sweep_runner(tmp_path, capsys):
    import json
    bench = _benchmark()
    out = tmp_path / "mc"
    args = ["--steps", "2", "--seeds", "2", "--methods", "vanilla", "packing", "--datasets",
            "ring", "--set", "hidden=8", "eval_samples=100", "--workers", "1", "--out", str(out)]
    assert bench.main(args) == 0
    rows = json.loads((tmp_path / "mc_short.json").read_text())["rows"]
    runs = [toy2d.sweep_summary(r) for r in rows]
    assert sorted((r["method"], r["seed"]) for r in runs) == [
        ("packing", 0), ("packing", 1), ("vanilla", 0), ("vanilla", 1)]
    assert all(r["iterations"] == 2 and r["num_samples"] == 100 for r in runs)
    table = out.with_suffix(".md").read_text()
    assert "| ring | vanilla | 2 |" in table and "PacGAN Table 1" in table
    # started again with the same settings, it runs nothing new
    capsys.readouterr()
    assert bench.main(args) == 0
    assert "[" not in capsys.readouterr().out.split("runs:")[1].split("# Mode")[0]
    assert len(json.loads((tmp_path / "mc_short.json").read_text())["rows"]) == 4
    # other settings into the same results are refused: one table row is one recipe
    with pytest.raises(SystemExit, match="give another --out"):
        bench.main(["--steps", "3"] + args[2:])
    with pytest.raises(SystemExit, match="KEY=VALUE"):
        bench.main(["--set", "nonsense=1", "--out", str(out)])
