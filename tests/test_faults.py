"""Faults injected, nothing lost: runs killed with SIGKILL at random moments (inside checkpoint
writes too) always leave a checkpoint that loads and resumes bit-identically; a full disk is a
clear error with the old checkpoint intact and no stray files; 1,000 mutated checkpoints are
each refused with tinygan's own error; a NaN in a weight stops the run naming the step and the
network, keeping the last good checkpoint."""
import errno
import os
import random
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

import tinygan as tg
from tinygan import io as tgio
from tinygan import runs
from tinygan.gan.trainer import Trainer

ROOT = Path(__file__).resolve().parents[1]
#: a small toy1d run that checkpoints after every step, so kills often land inside a save
SETTINGS = {"steps": 60, "hidden": 8, "batch_size": 16, "seed": 3}
KILLS, AT_ONCE = 100, 4


def _flat(node, prefix=""):
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _flat(v, f"{prefix}{k}/")
    elif isinstance(node, (list, tuple)):
        for i, v in enumerate(node):
            yield from _flat(v, f"{prefix}{i}/")
    else:
        yield prefix.rstrip("/"), node


def _same_state(a: Path, b: Path) -> bool:
    fa, fb = dict(_flat(dict(tg.load(a)))), dict(_flat(dict(tg.load(b))))
    return fa.keys() == fb.keys() and all(
        np.array_equal(np.asarray(fa[k]), np.asarray(fb[k]),
                       equal_nan=np.asarray(fa[k]).dtype.kind == "f") for k in fa)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The uninterrupted run's final checkpoint."""
    out = tmp_path_factory.mktemp("reference")
    runs.train("toy1d", SETTINGS, out, quiet=True, animation=False, checkpoint_every=1,
               pictures=False)
    return out / runs.CHECKPOINT


def _start(out: Path):
    code = ("import sys; from tinygan import runs; runs.train('toy1d', "
            f"{SETTINGS!r}, {str(out)!r}, quiet=True, animation=False, checkpoint_every=1, "
            "pictures=False)")
    return subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env={
        **os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _kill_at_random(out: Path, rng: random.Random):
    """Start a run, wait for its first checkpoint, SIGKILL it a random moment later."""
    proc = _start(out)
    deadline = time.time() + 60
    while not (out / runs.CHECKPOINT).exists():  # training (and saving) has begun
        assert proc.poll() is None and time.time() < deadline, proc.communicate()
        time.sleep(0.005)
    return proc, time.time() + rng.uniform(0.0, 0.6)


def test_killed_runs_resume_bit_identically(tmp_path, reference):
    rng = random.Random(17)
    recovered = inside_a_save = 0
    for wave in range(0, KILLS, AT_ONCE):  # a few runs at a time, each killed on its own clock
        outs = [tmp_path / f"kill{trial}" for trial in range(wave, wave + AT_ONCE)]
        procs = [_kill_at_random(out, rng) for out in outs]
        for proc, when in procs:
            time.sleep(max(0.0, when - time.time()))
            proc.send_signal(signal.SIGKILL)
        for out, (proc, _) in zip(outs, procs):
            proc.wait(timeout=60)
            inside_a_save += any(out.glob(".*.tmp.*"))  # killed while a save was in flight
            exp, _ = runs.load_checkpoint(out)          # the last checkpoint always loads
            assert 1 <= exp.trainer.iteration <= SETTINGS["steps"]
            runs.train(resume=out, quiet=True, animation=False, checkpoint_every=10**6,
                       pictures=False)
            assert not any(out.glob(".*.tmp.*"))        # the half-written file was cleaned up
            assert _same_state(out / runs.CHECKPOINT, reference), out.name
            recovered += 1
    print(f"kill trials: {recovered}/{KILLS} recovered bit-identically; {inside_a_save} of the "
          "kills landed inside a checkpoint write")
    assert recovered == KILLS
    assert inside_a_save > 0, "no kill landed inside a save: the trial proves less than it says"


# ---------------------------------------------------------------- a full disk


def test_a_full_disk_is_a_clear_error_and_the_old_checkpoint_survives(tmp_path, monkeypatch):
    out = tmp_path / "run"
    steps = {"steps": 10, "hidden": 8, "batch_size": 16}
    assert runs.train("toy1d", steps, out, quiet=True, animation=False, checkpoint_every=4,
                      stop_after=5)["status"] == "interrupted"  # a checkpoint at step 5
    before = (out / runs.CHECKPOINT).read_bytes()
    real = tgio._write_entry
    calls = {"n": 0}

    def full_disk(zf, name, array):
        calls["n"] += 1
        if calls["n"] > 3:  # part of the new file is written, then the disk is full
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(zf, name, array)

    monkeypatch.setattr(tgio, "_write_entry", full_disk)
    with pytest.raises(runs.RunError) as info:
        runs.train(resume=out, quiet=True, animation=False, checkpoint_every=2)
    message = str(info.value)
    assert "No space left on device" in message and "previous checkpoint is intact" in message
    assert "at step 6" in message and "--resume" in message  # the first save after step 5
    assert (out / runs.CHECKPOINT).read_bytes() == before  # bit for bit the old one
    assert not list(out.glob(".*.tmp*"))                    # no stray temporary file
    monkeypatch.setattr(tgio, "_write_entry", real)
    assert runs.load_checkpoint(out)[0].trainer.iteration == 5


def test_a_full_disk_through_the_command_line(tmp_path):
    code = ("import errno, os, sys\n"
            "from tinygan import io\n"
            "def full(*a): raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))\n"
            "io._write_entry = full\n"
            "from tinygan.cli import main\n"
            f"sys.exit(main(['train', 'toy1d', '--steps', '3', '--out', {str(tmp_path)!r}, "
            "'--quiet', '--no-animation']))\n")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                       env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "No space left on device" in r.stderr and "no checkpoint had been saved" in r.stderr
    assert not list(tmp_path.glob(".*.tmp*"))


# ---------------------------------------------------------------- mutated checkpoints


def _mutants(data: bytes, path: Path, rng: random.Random, n: int):
    """n damaged copies of a checkpoint: byte flips, truncations and swapped zip members."""
    with zipfile.ZipFile(path) as zf:
        members = [(i.filename, zf.read(i.filename)) for i in zf.infolist()]
    kinds = ["flip"] * 6 + ["truncate"] * 2 + ["swap"] * 2
    for _ in range(n):
        kind = rng.choice(kinds)
        if kind == "flip":
            out = bytearray(data)
            for _ in range(rng.randint(1, 3)):
                i = rng.randrange(len(out))
                out[i] ^= 1 << rng.randrange(8)
            yield kind, bytes(out)
        elif kind == "truncate":
            yield kind, data[:rng.randrange(len(data))]
        else:  # two members' contents exchanged, written as a well-formed zip
            a, b = rng.sample(range(len(members)), 2)
            while members[a][1] == members[b][1]:
                a, b = rng.sample(range(len(members)), 2)
            swapped = list(members)
            swapped[a], swapped[b] = (members[a][0], members[b][1]), (members[b][0], members[a][1])
            tmp = path.with_name("swap.npz")
            with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as zf:
                for name, payload in swapped:
                    zf.writestr(name, payload)
                zf.comment = zipfile.ZipFile(path).comment  # even the old checksum kept
            yield kind, tmp.read_bytes()


def test_mutated_checkpoints_are_refused_cleanly(tmp_path):
    out = tmp_path / "run"
    runs.train("toy1d", {"steps": 4, "hidden": 8, "batch_size": 16}, out, quiet=True,
               animation=False)
    path = out / runs.CHECKPOINT
    data = path.read_bytes()
    rng = random.Random(5)
    refused, kinds = 0, {}
    victim = tmp_path / "mutant.npz"
    for kind, mutant in _mutants(data, path, rng, 1000):
        victim.write_bytes(mutant)
        try:
            tg.load(victim)
        except tgio.CheckpointError:
            refused += 1
            kinds[kind] = kinds.get(kind, 0) + 1
            continue
        pytest.fail(f"a {kind} mutant was loaded")  # other exceptions propagate and fail too
        with pytest.raises(runs.RunError):
            runs.load_checkpoint(victim)
    print(f"mutated checkpoints refused: {refused}/1000 {kinds}")
    assert refused == 1000


# ---------------------------------------------------------------- a NaN in a weight


def test_a_nan_weight_stops_the_run_naming_step_and_network(tmp_path, monkeypatch):
    out = tmp_path / "run"
    step = Trainer.step

    def poisoned(self):
        if self.iteration == 6:  # before iteration 7: a NaN lands in one of G's weights
            self.G.parameters()[0].data[0, 0] = np.nan
        step(self)

    monkeypatch.setattr(Trainer, "step", poisoned)
    with pytest.raises(runs.NonFiniteLossError) as info:
        runs.train("toy1d", {"steps": 20, "hidden": 8, "batch_size": 16}, out, quiet=True,
                   animation=False, checkpoint_every=2)
    err = info.value
    assert err.step == 7 and err.network == "generator"
    assert "step 7" in str(err) and "generator's weights are non-finite" in str(err)
    exp, _ = runs.load_checkpoint(out)  # the last good checkpoint: step 6, all finite
    assert exp.trainer.iteration == 6
    assert all(np.isfinite(p.numpy()).all() for p in exp.trainer.G.parameters())
