"""The `tinygan` command driven as a user would: `python -m tinygan ...` in a subprocess.

EXAMPLES are the README's command-line examples; the tests run them with fewer steps (and fewer
scored samples), as SHORTEN says, so each takes seconds."""
from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]

# The README's examples, exactly; the tests append SHORTEN[experiment] (later options win).
EXAMPLES = {
    "toy1d": "tinygan train toy1d --out runs/toy1d",
    "ring": "tinygan train ring --out runs/ring",
    "grid": "tinygan train grid --method packing --out runs/grid",
    "mnist-mlp": "tinygan train mnist-mlp --steps 2000 --out runs/mnist-mlp",
    "dcgan": "tinygan train dcgan --steps 500 --out runs/dcgan",
    "cgan": "tinygan train cgan --steps 2000 --out runs/cgan",
}
SHORTEN = {
    "toy1d": "--steps 120 --snapshot-every 40",
    "ring": "--steps 40 --eval-samples 500 --snapshot-every 20",
    "grid": "--steps 40 --eval-samples 500 --snapshot-every 20",
    "mnist-mlp": "--steps 3 --batch-size 16 --eval-samples 0",
    "dcgan": "--steps 2 --batch-size 8 --eval-samples 0",
    "cgan": "--steps 3 --batch-size 16 --eval-samples 100",
}
PICTURES = {"toy1d": ["samples.png", "losses.png", "training.gif"],
            "ring": ["samples.png", "losses.png", "training.gif"],
            "grid": ["samples.png", "losses.png", "training.gif"],
            "mnist-mlp": ["samples.png", "losses.png"],
            "dcgan": ["samples.png", "losses.png"],
            "cgan": ["samples.png", "losses.png"]}
METRIC = {"toy1d": "js_divergence_nats", "ring": "modes_captured", "grid": "modes_captured",
          "mnist-mlp": "scored", "dcgan": "scored", "cgan": "classifier_score"}


def tinygan(*args, timeout=300, cwd=None, env=None):
    """Run `python -m tinygan args...`; returns the CompletedProcess (text output)."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg",
                "PYTHONWARNINGS": "ignore", **(env or {})}
    return subprocess.run([sys.executable, "-m", "tinygan", *map(str, args)], cwd=cwd or ROOT,
                          env=full_env, capture_output=True, text=True, timeout=timeout)


def example_args(name: str, out: Path, extra=()) -> list:
    words = EXAMPLES[name].split()[1:] + SHORTEN[name].split() + list(extra)
    i = words.index("--out")
    words[i + 1] = str(out)
    return words


def load_flat(path: Path) -> tuple[dict, dict]:
    """(arrays by '/'-joined key, meta) of a checkpoint."""
    import tinygan as tg
    ckpt = tg.load(path)

    def walk(node, prefix):
        if isinstance(node, dict):
            for k, v in node.items():
                yield from walk(v, f"{prefix}{k}/")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                yield from walk(v, f"{prefix}{i}/")
        else:
            yield prefix.rstrip("/"), np.asarray(node)
    return dict(walk(dict(ckpt), "")), ckpt.meta


def assert_same_checkpoint(a: Path, b: Path) -> None:
    arrays_a, meta_a = load_flat(a)
    arrays_b, meta_b = load_flat(b)
    assert arrays_a.keys() == arrays_b.keys()
    different = [k for k in arrays_a
                 if arrays_a[k].dtype != arrays_b[k].dtype
                 or not np.array_equal(arrays_a[k], arrays_b[k],
                                       equal_nan=arrays_a[k].dtype.kind == "f")]
    assert different == []                          # the trainer's whole state, every hook's
    assert meta_a == meta_b


# ---------------------------------------------------------------- every experiment


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_train_example_writes_the_run_folder(name, tmp_path):
    out = tmp_path / name
    r = tinygan(*example_args(name, out, ["--quiet"]))
    assert r.returncode == 0, r.stderr
    for f in ["config.json", "metrics.json", "history.csv", "checkpoint.npz", *PICTURES[name]]:
        assert (out / f).stat().st_size > 0, f
    config = json.loads((out / "config.json").read_text())
    steps = int(SHORTEN[name].split()[1])
    assert config["experiment"] == name and config["steps"] == steps
    assert config["config"]["steps"] == steps
    metrics = json.loads((out / "metrics.json").read_text())
    assert METRIC[name] in metrics and metrics["steps"] == steps
    with open(out / "history.csv") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
    assert set(reader.fieldnames) >= {"iteration", "d_loss", "g_loss", "d_real", "d_fake"}
    assert all(0 < int(row["iteration"]) <= steps for row in rows)


def test_toy_metrics_are_the_experiments_own(tmp_path):
    """toy1d's JS is a divergence in [0, log 2]; cgan's classifier sees a conditional model."""
    out = tmp_path / "t"
    assert tinygan(*example_args("toy1d", out, ["--quiet", "--no-animation"])).returncode == 0
    m = json.loads((out / "metrics.json").read_text())
    assert 0 <= m["js_divergence_nats"] <= np.log(2) + 1e-9
    assert not (out / "training.gif").exists()
    assert 0 <= m["mean_d_real"] <= 1 and 0 <= m["mean_d_fake"] <= 1


# ---------------------------------------------------------------- resume


SMALL = ["--eval-samples", 100]
RESUME = [("toy1d", 50, 17, []), ("ring", 30, 11, ["--method", "historical_averaging", *SMALL]),
          ("grid", 30, 11, ["--method", "instance_noise", *SMALL]),
          ("mnist-mlp", 5, 2, SMALL), ("dcgan", 3, 1, SMALL), ("cgan", 5, 2, SMALL)]


@pytest.mark.parametrize("name,steps,stop,extra", RESUME, ids=[r[0] for r in RESUME])
def test_resumed_run_is_bit_identical_to_an_uninterrupted_one(name, steps, stop, extra,
                                                              tmp_path):
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    args = lambda out: example_args(  # noqa: E731
        name, out, ["--steps", steps, "--quiet", "--seed", 3, *extra])
    assert tinygan(*args(whole)).returncode == 0
    r = tinygan(*args(parts), "--stop-after", stop)
    assert r.returncode == 130, r.stderr
    assert "--resume" in r.stdout
    arrays, _ = load_flat(parts / "checkpoint.npz")
    assert arrays["trainer/iteration"] == stop
    assert not (parts / "metrics.json").exists()
    # the run options that cannot change the result are accepted with --resume
    r = tinygan("train", "--resume", parts, "--quiet", "--checkpoint-every", 1, "--stop-after",
                1)
    assert r.returncode == 130, r.stderr
    r = tinygan("train", "--resume", parts, "--quiet", "--checkpoint-every", 2)
    assert r.returncode == 0, r.stderr
    assert_same_checkpoint(whole / "checkpoint.npz", parts / "checkpoint.npz")
    assert (whole / "history.csv").read_text() == (parts / "history.csv").read_text()
    drop = lambda m: {k: v for k, v in m.items() if "seconds" not in k}  # noqa: E731
    assert drop(json.loads((whole / "metrics.json").read_text())) == \
        drop(json.loads((parts / "metrics.json").read_text()))


def test_ctrl_c_saves_a_checkpoint_and_exits_cleanly(tmp_path):
    out = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}
    proc = subprocess.Popen([sys.executable, "-m", "tinygan", "train", "ring", "--steps",
                             "100000", "--checkpoint-every", "5", "--out", str(out),
                             "--no-animation"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 120
        while not (out / "checkpoint.npz").exists():  # the loop (and its handler) is running
            assert proc.poll() is None and time.time() < deadline, proc.communicate()
            time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert f"tinygan train --resume {out}" in stdout
    arrays, _ = load_flat(out / "checkpoint.npz")
    assert 5 <= arrays["trainer/iteration"] < 100000
    assert (out / "history.csv").exists() and not (out / "metrics.json").exists()


# ---------------------------------------------------------------- faults


def test_non_finite_loss_names_step_and_network_and_keeps_the_checkpoint(tmp_path):
    out = tmp_path / "run"
    # a generator learning rate of 1e10 throws G's samples out of float32's range at once
    r = tinygan("train", "toy1d", "--steps", 50, "--lr-g", "1e10", "--checkpoint-every", 1,
                "--out", out, "--quiet")
    assert r.returncode == 3
    assert "step 2" in r.stderr and "discriminator" in r.stderr and "non-finite" in r.stderr
    arrays, _ = load_flat(out / "checkpoint.npz")
    assert arrays["trainer/iteration"] == 1           # the last good state, not the broken one
    assert not (out / "metrics.json").exists()


def test_unwritable_out_is_reported_before_training(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    start = time.perf_counter()
    r = tinygan("train", "ring", "--out", blocker / "run", "--quiet")
    assert r.returncode == 2
    assert "cannot create the output folder" in r.stderr and str(blocker) in r.stderr
    assert time.perf_counter() - start < 60


def test_full_disk_is_reported_before_training(tmp_path):
    code = ("import shutil, collections, sys\n"
            "Usage = collections.namedtuple('Usage', 'total used free')\n"
            "shutil.disk_usage = lambda path: Usage(10**9, 10**9, 1000)\n"
            "from tinygan.cli import main\n"
            f"sys.exit(main(['train', 'toy1d', '--out', {str(tmp_path / 'run')!r}]))\n")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                       env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert r.returncode == 2
    assert "not enough free disk space" in r.stderr
    assert not (tmp_path / "run" / "checkpoint.npz").exists()


def test_unknown_experiment_lists_the_valid_ones():
    r = tinygan("train", "stylegan")
    assert r.returncode == 2
    for name in EXAMPLES:
        assert name in r.stderr


def test_unknown_option_lists_the_valid_ones():
    r = tinygan("train", "ring", "--learning-rate", "3")
    assert r.returncode == 2
    assert "--learning-rate" in r.stderr
    for option in ("--lr-g", "--lr-d", "--method", "--steps", "--seed", "--out"):
        assert option in r.stderr


def test_bad_hyperparameter_value_is_refused():
    r = tinygan("train", "ring", "--method", "magic")
    assert r.returncode == 2 and "vanilla" in r.stderr and "packing" in r.stderr


def test_resume_without_a_checkpoint_is_an_error(tmp_path):
    r = tinygan("train", "--resume", tmp_path)
    assert r.returncode == 2 and "no checkpoint" in r.stderr


# ---------------------------------------------------------------- sample, figures, demo


def test_sample_draws_from_a_checkpoint_and_cgan_takes_labels(tmp_path):
    ring, cgan = tmp_path / "ring", tmp_path / "cgan"
    assert tinygan("train", "ring", "--steps", 5, "--eval-samples", 100, "--out", ring,
                   "--quiet", "--no-animation").returncode == 0
    r = tinygan("sample", ring / "checkpoint.npz", "--out", tmp_path / "ring.png", "--n", 300)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "ring.png").stat().st_size > 0
    assert tinygan("train", "cgan", "--steps", 2, "--batch-size", 8, "--eval-samples", 0,
                   "--out", cgan, "--quiet").returncode == 0
    r = tinygan("sample", cgan, "--labels", "7,7,1,2", "--out", tmp_path / "sevens.png")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "sevens.png").stat().st_size > 0
    r = tinygan("sample", cgan, "--labels", "7,12", "--out", tmp_path / "bad.png")
    assert r.returncode == 2 and "0-9" in r.stderr
    r = tinygan("sample", ring, "--labels", "1", "--out", tmp_path / "bad.png")
    assert r.returncode == 2 and "not conditional" in r.stderr


def test_sample_writes_raw_samples_for_anyones_tools(tmp_path):
    """`tinygan sample RUN --n N --out FILE.npz`: a plain .npz NumPy reads without tinygan."""
    ring, cgan = tmp_path / "ring", tmp_path / "cgan"
    assert tinygan("train", "ring", "--steps", 3, "--eval-samples", 100, "--out", ring,
                   "--quiet", "--no-animation").returncode == 0
    r = tinygan("sample", ring, "--n", 123, "--out", tmp_path / "points.npz")
    assert r.returncode == 0, r.stderr
    with np.load(tmp_path / "points.npz", allow_pickle=False) as f:
        assert f["points"].shape == (123, 2) and f["points"].dtype == np.float32
    assert tinygan("train", "cgan", "--steps", 2, "--batch-size", 8, "--eval-samples", 0,
                   "--out", cgan, "--quiet").returncode == 0
    r = tinygan("sample", cgan, "--n", 4, "--labels", "3,3,8,8", "--out", tmp_path / "d.npz")
    assert r.returncode == 0, r.stderr
    with np.load(tmp_path / "d.npz", allow_pickle=False) as f:
        images, labels = f["images"], f["labels"]
    assert images.shape == (4, 1, 28, 28) and images.dtype == np.float32
    assert np.all(np.abs(images) <= 1) and labels.tolist() == [3, 3, 8, 8]
    r = tinygan("sample", cgan, "--out", tmp_path / "no_n.npz")
    assert r.returncode == 2 and "--n" in r.stderr
    r = tinygan("sample", cgan, "--n", 2, "--out", tmp_path / "d.jpeg")
    assert r.returncode == 2 and ".png" in r.stderr and ".npz" in r.stderr


def test_figures_fast_runs_a_lesson_into_the_chosen_folder(tmp_path):
    out, executed = tmp_path / "figures", tmp_path / "executed"
    r = tinygan("figures", "--fast", "--only", "01_", "--out", out, "--executed", executed,
                timeout=600)
    assert r.returncode == 0, r.stderr
    assert any(p.suffix == ".png" for p in out.iterdir())
    # the executed notebook keeps what the lesson printed
    nb = json.loads((executed / "01_autograd.ipynb").read_text())
    printed = "".join("".join(o.get("text", "")) for c in nb["cells"] if c["cell_type"] == "code"
                      for o in c.get("outputs", []))
    assert "fast mode" in printed and "SiLU'' from the engine matches" in printed


def test_demo_trains_the_1d_toy(tmp_path):
    r = tinygan("demo", "--iterations", 80, "--out", tmp_path)
    assert r.returncode == 0, r.stderr
    assert "JS" in r.stdout
    assert any(p.suffix == ".png" for p in tmp_path.iterdir())


def test_help_lists_every_command_and_experiment():
    r = tinygan("--help")
    assert r.returncode == 0
    for command in ("demo", "train", "sample", "figures"):
        assert command in r.stdout
    r = tinygan("train", "--help")
    for name in EXAMPLES:
        assert name in r.stdout


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_options_and_help_come_from_the_experiments_config(name):
    """Every command-line setting of `tinygan train NAME` is a field of its config, with the
    field's own default in its help: nothing restates a default (the DCGAN's lr is 1e-3)."""
    import dataclasses
    from tinygan.cli import main
    from tinygan.experiments import REGISTRY

    spec = REGISTRY[name]
    r = tinygan("train", name, "--help")
    assert r.returncode == 0
    text = " ".join(r.stdout.split())
    for f in dataclasses.fields(spec.config):
        option = f"--{f.name.replace('_', '-')}"
        if f.metadata["cli"]:
            shown = "none" if f.default is None else " ".join(map(str, f.default)) \
                if isinstance(f.default, tuple) else repr(f.default)
            assert option in text and f"(default {shown})" in text, option
        else:
            assert option not in text
    assert main is not None
    if name == "dcgan":
        assert "(default 0.001)" in text
