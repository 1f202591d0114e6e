"""The experiment protocol (tinygan.experiments): every registered experiment builds from its
config, trains, evaluates to JSON, draws, samples raw arrays and restores its whole state from a
state_dict; configs check their values and name what is wrong; the command a run records
rebuilds the same config."""
import dataclasses
import json

import numpy as np
import pytest

from tinygan import experiments, io
from tinygan.data.digits import Digits
from tinygan.experiments import digits as digit_experiments

#: settings that make each experiment take a fraction of a second
TINY = {"toy1d": dict(steps=4, batch_size=16, hidden=8, snapshot_every=2),
        "ring": dict(steps=4, batch_size=16, hidden=8, eval_samples=100, snapshot_every=2),
        "grid": dict(steps=4, batch_size=16, hidden=8, eval_samples=100, snapshot_every=2),
        "mnist-mlp": dict(steps=3, batch_size=8, eval_samples=0),
        "dcgan": dict(steps=2, batch_size=4, eval_samples=0),
        "cgan": dict(steps=3, batch_size=8, eval_samples=0),
        "dcgan-sn": dict(steps=2, batch_size=4, eval_samples=0, width=8),
        "dcgan-gp": dict(steps=2, batch_size=4, eval_samples=0, width=8, d_steps=2),
        "acgan": dict(steps=3, batch_size=8, eval_samples=0),
        "projection": dict(steps=3, batch_size=8, eval_samples=0),
        "controlgan": dict(steps=3, batch_size=8, eval_samples=0),
        "biggan": dict(steps=2, batch_size=4, eval_samples=0, width=8),
        "infogan": dict(steps=3, batch_size=8, eval_samples=0),
        "thickness": dict(steps=3, batch_size=8, eval_samples=0),
        "lapgan": dict(steps=3, batch_size=4, eval_samples=0, detail_width=4),
        "progressive": dict(steps=3, batch_size=4, eval_samples=0, width=4),
        "sagan": dict(steps=2, batch_size=4, eval_samples=0, width=8),
        "stackgan": dict(steps=4, batch_size=8, width=8, res_blocks=1, eval_samples=40),
        "srgan": dict(steps=4, batch_size=8, channels=4, blocks=1, d_width=4, eval_samples=40),
        "pix2pix": dict(steps=3, batch_size=4, eval_samples=20),
        "cyclegan": dict(steps=3, batch_size=4, width=4, res_blocks=1, eval_samples=30)}
#: what `labels` means to the experiments that take it: digits, InfoGAN's categories of c1,
#: the thickness buckets
LABELS = {**{name: [1, 2, 3, 4, 5] for name in ("cgan", "acgan", "projection", "controlgan",
                                                 "biggan", "infogan", "stackgan")},
          "thickness": [0, 1, 2, 1, 0]}
CONDITIONAL = set(LABELS)
SHAPES = {"toy1d": {"points": (5, 1)}, "ring": {"points": (5, 2)}, "grid": {"points": (5, 2)},
          "mnist-mlp": {"images": (5, 1, 28, 28)}, "dcgan": {"images": (5, 1, 28, 28)},
          "cgan": {"images": (5, 1, 28, 28), "labels": (5,)},
          "dcgan-sn": {"images": (5, 1, 28, 28)}, "dcgan-gp": {"images": (5, 1, 28, 28)},
          **{name: {"images": (5, 1, 28, 28), "labels": (5,)}
             for name in ("acgan", "projection", "controlgan", "biggan", "thickness")},
          "infogan": {"images": (5, 1, 28, 28), "codes": (5, 12)},
          "lapgan": {"images": (5, 1, 28, 28)}, "progressive": {"images": (5, 1, 28, 28)},
          "sagan": {"images": (5, 1, 28, 56)},
          "stackgan": {"images": (5, 1, 28, 28), "stage1": (5, 1, 14, 14), "facts": (5, 3)},
          "srgan": {"images": (5, 1, 28, 28), "inputs": (5, 1, 7, 7), "srresnet": (5, 1, 28, 28),
                    "truth": (5, 1, 28, 28)},
          "pix2pix": {"images": (5, 1, 32, 32), "inputs": (5, 1, 32, 32), "targets": (5, 1, 32, 32),
                      "labels": (5,)},
          "cyclegan": {"images": (5, 1, 28, 28), "inputs": (5, 1, 28, 28), "cycled": (5, 1, 28, 28)}}


@pytest.fixture(autouse=True)
def synthetic_digits_only(monkeypatch):
    """The digit experiments train on 64 synthetic digits here (fast, and no MNIST needed)."""
    tiny = Digits.synthetic_set(64, seed=3)
    monkeypatch.setattr(digit_experiments, "load_digits", lambda data_dir=None: tiny)


def test_the_registry_names_the_experiments():
    assert list(experiments.REGISTRY) == ["toy1d", "ring", "grid", "mnist-mlp", "dcgan", "cgan",
                                          "dcgan-sn", "dcgan-gp", "acgan", "projection",
                                          "controlgan", "biggan", "infogan", "thickness",
                                          "sagan", "lapgan", "progressive", "stackgan",
                                          "srgan", "pix2pix", "cyclegan"]
    for spec in experiments.REGISTRY.values():
        assert spec.summary and "\n" not in spec.summary
        assert dataclasses.is_dataclass(spec.config) and spec.config.__dataclass_params__.frozen
    with pytest.raises(ValueError, match="unknown experiment 'stylegan'; valid: toy1d, ring"):
        experiments.get("stylegan")


@pytest.mark.parametrize("name", list(experiments.REGISTRY))
def test_every_experiment_follows_the_protocol(name):
    pytest.importorskip("matplotlib")
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    exp = experiments.build(name, **TINY[name])
    assert exp.name == name and exp.config.steps == TINY[name]["steps"]
    exp.trainer.fit(exp.config.steps)
    assert exp.trainer.iteration == exp.config.steps
    metrics = exp.evaluate()
    json.dumps(metrics)  # JSON-ready
    labels = LABELS.get(name)
    samples = exp.sample(5, seed=3, labels=labels)
    assert {k: v.shape for k, v in samples.items()} == SHAPES[name]
    assert all(v.dtype in (np.float32, np.int64) for v in samples.values())
    again = exp.sample(5, seed=3, labels=labels)
    assert all(np.array_equal(samples[k], again[k]) for k in samples)  # seeded
    fig = exp.draw(n=16 if name not in CONDITIONAL else 10)
    assert fig.axes
    plt.close("all")
    if exp.animated:
        frames = [exp.frame(), exp.frame()]
        assert exp.animate(frames) is not None and exp.animate(frames[:1]) is None
        plt.close("all")
    if name not in CONDITIONAL:
        with pytest.raises(ValueError, match="not conditional"):
            exp.sample(2, labels=[1, 2])
    with pytest.raises(ValueError, match="positive int"):
        exp.sample(0)


@pytest.mark.parametrize("name", list(experiments.REGISTRY))
def test_state_dict_restores_a_run_exactly(name, tmp_path):
    """Build, train a little, save the trainer's state through tg.save; a new build that loads
    it then trains exactly as the original goes on to."""
    settings = dict(TINY[name], steps=8, seed=4)
    a = experiments.build(name, **settings)
    a.trainer.fit(3)
    io.save(tmp_path / "state.npz", {"trainer": a.trainer.state_dict()})
    b = experiments.build(name, **dict(settings, seed=9))  # another seed: all of it is replaced
    b.trainer.load_state_dict(io.load(tmp_path / "state.npz")["trainer"])
    a.trainer.fit(3)
    b.trainer.fit(3)
    sa, sb = a.trainer.state_dict(), b.trainer.state_dict()
    # a trainer of stages (LAPGAN's levels) holds one Trainer's state per stage
    stages_a, stages_b = (list(s["stages"].values()) if "stages" in s else [s] for s in (sa, sb))
    for ta, tb in zip(stages_a, stages_b):
        for key in ("G", "D"):
            assert all(np.array_equal(ta[key][k], tb[key][k]) for k in ta[key])
        assert ta["rng"] == tb["rng"]
    assert a.trainer.history == b.trainer.history
    if a.ema is not None:
        for ea, eb in zip(getattr(a.ema, "emas", [a.ema]), getattr(b.ema, "emas", [b.ema])):
            assert all(np.array_equal(x.numpy(), y.numpy())
                       for x, y in zip(ea.module.parameters(), eb.module.parameters()))


def test_configs_check_their_values_and_say_what_is_allowed():
    spec = experiments.get("ring")
    with pytest.raises(ValueError, match=r"unknown setting\(s\) \['lr'\]; valid: .*'lr_d'"):
        spec.make_config(lr=1e-3)
    with pytest.raises(ValueError, match="method must be one of .*'vanilla'.*got 'magic'"):
        spec.make_config(method="magic")
    with pytest.raises(TypeError, match="hidden must be a int, got 12.5"):
        spec.make_config(hidden=12.5)
    with pytest.raises(ValueError, match="batch_size must be >= 1, got 0"):
        spec.make_config(batch_size=0)
    with pytest.raises(ValueError, match="finite"):
        spec.make_config(lr_g=float("nan"))
    with pytest.raises(TypeError, match="betas must be a tuple of 2 numbers"):
        spec.make_config(betas=(0.5,))
    assert spec.make_config(lr_g=1).lr_g == 1.0 and isinstance(spec.make_config(lr_g=1).lr_g,
                                                               float)
    assert spec.make_config(betas=[0.4, 0.9]).betas == (0.4, 0.9)  # JSON's lists come back
    assert experiments.get("grid").make_config().dataset == "grid"
    with pytest.raises(TypeError, match="takes a GridConfig"):
        experiments.get("grid").make_config(experiments.get("ring").make_config())


def test_the_recorded_command_rebuilds_the_config(tmp_path):
    from tinygan.cli import main
    out = tmp_path / "run"
    assert main(["train", "ring", "--steps", "3", "--no-lr-decay", "--betas", "0.4", "0.9",
                 "--ema-decay", "none", "--eval-samples", "50", "--out", str(out), "--quiet",
                 "--no-animation"]) == 0
    record = json.loads((out / "config.json").read_text())
    assert record["config"]["lr_decay"] is False and record["config"]["ema_decay"] is None
    words = record["command"].split()[1:]
    again = tmp_path / "again"
    assert main(words + ["--out", str(again), "--quiet", "--no-animation"]) == 0
    assert json.loads((again / "config.json").read_text())["config"] == record["config"]
