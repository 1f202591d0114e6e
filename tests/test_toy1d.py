"""The 1D toy of Figure 1: its measurements (JS between histograms, D*, C(G)) against independent
computations, a short seeded run that reaches the targets, the figure, the animation and the CLI."""
import math

import numpy as np
import pytest

import tinygan as tg
from tinygan.experiments import toy1d
from tinygan.experiments.toy1d import Toy1DConfig
from tinygan.gan.models import MinibatchStd, Standardize
from tinygan.testing import gradcheck

FAST = Toy1DConfig(steps=1000, snapshot_every=100)


def test_data_histogram_is_exact_and_conserves_mass():
    config = Toy1DConfig()
    edges = config.bin_edges()
    hist = toy1d.data_histogram(config)
    assert hist.sum() == pytest.approx(1.0, abs=1e-12) and len(hist) == config.bins + 2
    samples = np.random.default_rng(0).normal(config.data_mean, config.data_std, 400000)
    np.testing.assert_allclose(np.histogram(samples, edges)[0] / len(samples), hist, atol=2.5e-3)


def test_optimal_discriminator_is_half_when_p_g_is_p_data():
    config = Toy1DConfig()
    p_data = config.data().density(config.bin_centres())
    np.testing.assert_allclose(config.optimal_discriminator(p_data), 0.5)
    d = config.optimal_discriminator(3 * p_data)
    np.testing.assert_allclose(d, 0.25)


def test_measure_on_an_untrained_pair_is_consistent():
    trainer = toy1d.build(Toy1DConfig()).trainer
    m = toy1d.measure(trainer.G, trainer.D, Toy1DConfig())
    assert m.c_of_g == pytest.approx(-math.log(4) + 2 * m.js)
    assert m.value <= m.c_of_g + 1e-6  # V(G, D) <= max_D V(G, D) = C(G) (Proposition 1)
    assert 0 < m.d_real < 1 and 0 < m.d_fake < 1


def test_branch_leaves_the_original_run_alone():
    trainer = toy1d.build(Toy1DConfig()).trainer
    before = [p.numpy().copy() for p in trainer.G.parameters() + trainer.D.parameters()]
    other = toy1d.branch(trainer, d_steps=3, g_steps=2)
    after = [p.numpy() for p in trainer.G.parameters() + trainer.D.parameters()]
    assert all(np.array_equal(a, b) for a, b in zip(before, after))
    assert trainer.iteration == 0 and other.d_opt.steps == 3 and other.g_opt.steps == 2


def test_a_short_seeded_run_reaches_the_targets():
    """One run serves every check below (a fixture would be rebuilt on each xdist worker)."""
    result, panels = toy1d.figure1_panels(FAST, at=200, d_only_steps=50, g_only_steps=5)
    final = result.final
    assert final.js < 0.05, f"JS {final.js:.4f} nats"
    assert abs(final.d_real - 0.5) < 0.1 and abs(final.d_fake - 0.5) < 0.1, final
    assert result.snapshots[0].measurement.js > 0.3  # it did start far from the data
    # snapshots, panels and history cover the run
    assert [s.iteration for s in result.snapshots] == list(range(0, 1001, 100))
    assert panels.a.iteration == 200 and panels.d.iteration == 1000
    assert result.history["iteration"][-1] == 1000
    assert len(panels.a.lines) == len(FAST.line_grid())
    # the four-panel figure draws (the animation is drawn and saved by the CLI test below)
    plt = pytest.importorskip("matplotlib.pyplot")
    from tinygan.viz.toy1d import draw_figure1
    fig = draw_figure1(result, panels)
    assert len(fig.axes) == 6  # four panels, the JS curve and the value of the game
    plt.close(fig)


def test_cli_demo_writes_figure_and_gif(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    from tinygan.cli import main
    assert main(["demo", "--out", str(tmp_path), "--iterations", "100"]) == 0
    out = capsys.readouterr().out
    assert (tmp_path / "03_toy1d_figure1.png").exists()
    assert (tmp_path / "03_toy1d_training.gif").exists()
    assert out.strip().splitlines()[-1].startswith("Final JS(p_data || p_g) = ")


def test_minibatch_std_appends_the_batch_spread_and_is_differentiable():
    layer = MinibatchStd()
    x = np.random.default_rng(0).normal(size=(16, 3))
    out = layer(tg.tensor(x, dtype=np.float64)).numpy()
    assert out.shape == (16, 4)
    np.testing.assert_allclose(out[:, :3], x)
    np.testing.assert_allclose(out[:, 3], np.sqrt(x.var(axis=0) + 1e-8).mean())
    layer.fixed_std = 0.25
    assert np.all(layer(tg.tensor(x, dtype=np.float64)).numpy()[:, 3] == 0.25)
    layer.fixed_std = None
    assert gradcheck(lambda a: layer(a), x)


def test_first_layer_bends_and_discriminate_use_data_units():
    config = Toy1DConfig()
    D = toy1d.build(config).trainer.D
    assert isinstance(D[0], Standardize) and isinstance(D[1], MinibatchStd)
    bends = toy1d.first_layer_bends(D, batch_std=config.data_std)
    linear = D[2]
    w, b = linear.weight.numpy().astype(np.float64), linear.bias.numpy().astype(np.float64)
    # at a bend, the unit's pre-activation on the standardized [x, s] is zero
    pre = w[:, 0] * (bends - config.data_mean) / config.data_std + w[:, 1] * 1.0 + b
    np.testing.assert_allclose(pre, 0, atol=1e-9)
    # discriminate(..., batch_std) tells D the batch spread in data units, then forgets it
    xs = np.linspace(0, 4, 7)
    out = toy1d.discriminate(D, xs, batch_std=0.3)
    assert D[1].fixed_std is None
    D[1].fixed_std = 0.3 / config.data_std  # the layer sees standardized units
    with tg.no_grad():
        want = D(tg.tensor(xs.reshape(-1, 1).astype(np.float32))).sigmoid().numpy().ravel()
    D[1].fixed_std = None
    np.testing.assert_allclose(out, want, rtol=1e-6)
