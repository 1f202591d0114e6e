"""A training run on disk: what `tinygan train` writes and how it resumes.

The run directory holds
  config.json      everything needed to rerun (experiment, hyperparameters, seed, device, steps)
  checkpoint.npz   models, optimizers, the trainer's step counter, random stream and history,
                   animation frames so far (tinygan.io format: atomic, no pickle)
  history.csv      the trainer's logged statistics (iteration, losses, mean D(x), D(G(z)), ...)
  losses.png       D and G losses and the discriminator's outputs over training
  samples.png      samples from the trained generator
  training.gif     an animation of training (experiments where it helps)
  metrics.json     the experiment's final metrics, the steps and the time taken

Every file is written atomically (temporary file, then rename). A resumed run ends bit-identical
to an uninterrupted one: the checkpoint holds the random generator's state (numpy's
bit_generator.state), the optimizer moments, the parameters and buffers, the step counter, the
history and the partly accumulated statistics. Ctrl-C (SIGINT) finishes the current step, saves
a checkpoint and returns; a non-finite loss stops the run with NonFiniteLossError, keeping the
last good checkpoint; an output folder that cannot be written (or a full disk) is reported by
`prepare_out` before any training.
"""
from __future__ import annotations

import csv
import io as _io
import json
import logging
import math
import os
import shutil
import signal
import sys
import time
from pathlib import Path

import numpy as np

from . import backend, creation, experiments
from . import io as tgio

log = logging.getLogger(__name__)

CHECKPOINT = "checkpoint.npz"
HISTORY_KEYS = ("iteration", "d_loss", "g_loss", "d_real", "d_fake", "g_grad_norm")


class RunError(RuntimeError):
    """A run that cannot start or continue (bad folder, missing checkpoint, ...)."""


class NonFiniteLossError(RunError):
    """A loss became NaN or infinite: `step` (1-based) and `network` ("discriminator" or
    "generator") say where."""

    def __init__(self, step: int, network: str, value: float, message: str):
        super().__init__(message)
        self.step, self.network, self.value = step, network, value


# ---------------------------------------------------------------- atomic files


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _json_default(x):
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.floating):
        return float(x)
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, tuple):
        return list(x)
    raise TypeError(f"not JSON-serialisable: {type(x).__name__}")


def _clean(value):
    """NaN/inf as strings (JSON has no such numbers), recursively."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, (float, np.floating)) and not math.isfinite(value):
        return str(float(value))
    return value


def write_json(path: Path, obj) -> None:
    _atomic_write(Path(path), (json.dumps(_clean(obj), indent=2, default=_json_default)
                               + "\n").encode())


def write_figure(fig, path: Path, dpi: int = 110) -> Path:
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.tmp{os.getpid()}{path.suffix}")
    fig.savefig(tmp, dpi=dpi, bbox_inches="tight")
    os.replace(tmp, path)
    return path


def write_history_csv(path: Path, history: dict) -> None:
    buf = _io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    keys = [k for k in HISTORY_KEYS if k in history]
    w.writerow(keys)
    for row in zip(*(history[k] for k in keys)):
        w.writerow([int(row[0])] + [repr(float(v)) for v in row[1:]])
    _atomic_write(Path(path), buf.getvalue().encode())


# ---------------------------------------------------------------- the output folder


def prepare_out(out, need_bytes: int = 0) -> Path:
    """Create `out` and prove it is writable by writing (and removing) a probe file; check that
    the disk has room for `need_bytes` (a checkpoint and the pictures). Raises RunError naming
    the folder and the reason, before any training."""
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise RunError(f"cannot create the output folder {out}: {e.strerror or e}; choose "
                       f"another --out") from e
    probe = out / f".tinygan-probe-{os.getpid()}"
    try:
        with open(probe, "wb") as f:
            f.write(b"\0" * 65536)
            f.flush()
            os.fsync(f.fileno())
    except OSError as e:
        raise RunError(f"cannot write into the output folder {out}: {e.strerror or e}; "
                       f"choose another --out") from e
    finally:
        try:
            probe.unlink()
        except OSError:
            pass
    free = shutil.disk_usage(out).free
    if free < need_bytes:
        raise RunError(f"not enough free disk space in {out}: {free / 2**20:.1f} MiB free, "
                       f"the run needs about {need_bytes / 2**20:.1f} MiB; free some space or "
                       f"choose another --out")
    return out


def estimate_bytes(exp: experiments.Experiment) -> int:
    """Room a run needs: its checkpoint (parameters + Adam's two moments) and ~5 MB of
    pictures, with a margin of two for the temporary file of an atomic save."""
    params = sum(int(np.prod(p.shape)) * 4
                 for obj in exp.stateful().values() if hasattr(obj, "parameters")
                 for p in obj.parameters())
    return 2 * (3 * params) + 5 * 2**20


# ---------------------------------------------------------------- trainer state


def _rng_state(rng):
    try:
        return rng.bit_generator.state
    except AttributeError as e:  # pragma: no cover - a generator without a readable state
        raise RunError(f"cannot checkpoint a {type(rng).__name__}: its state is not "
                       f"readable, so the run could not resume exactly") from e


def trainer_state(trainer):
    """(meta, arrays) of the trainer's own state: step counter, random stream, history and the
    statistics accumulated since the last log point."""
    sums = trainer.partial_sums()
    # the device's shared generator too: layers such as Dropout draw from it
    meta = {"iteration": trainer.iteration, "rng": _rng_state(trainer.rng),
            "shared_rng": _rng_state(creation.generator(trainer.device)),
            "sum_keys": sorted(sums)}
    arrays = {"history": {k: np.asarray(v, dtype=np.float64 if k != "iteration" else np.int64)
                          for k, v in trainer.history.items()},
              "sums": sums}
    return meta, arrays


def load_trainer_state(trainer, meta, arrays):
    trainer.iteration = int(meta["iteration"])
    trainer.rng.bit_generator.state = meta["rng"]
    if "shared_rng" in meta:  # checkpoints written before it was saved do not have it
        creation.generator(trainer.device).bit_generator.state = meta["shared_rng"]
    trainer.history = {k: [int(v) if k == "iteration" else float(v) for v in arrays["history"][k]]
                       for k in trainer.history}
    trainer.load_partial_sums({k: arrays["sums"][k] for k in meta["sum_keys"]})


def save_checkpoint(path, exp: experiments.Experiment, config: dict, frames: list) -> None:
    meta_t, arrays_t = trainer_state(exp.trainer)
    tgio.save(path, {"state": exp.stateful(), "trainer": arrays_t,
                     "extra": exp.extra_arrays(), "frames": frames},
              meta={"experiment": exp.name, "config": config, "trainer": meta_t,
                    "extra": exp.extra_state(), "device": exp.device})


def load_checkpoint(path, device: str | None = None):
    """(experiment, config, frames) rebuilt from a checkpoint (or a run folder holding one)."""
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT
    if not path.exists():
        raise RunError(f"no checkpoint at {path}")
    ckpt = tgio.load(path)
    meta = ckpt.meta
    if "experiment" not in meta:
        raise RunError(f"{path} is a tinygan checkpoint but not one written by `tinygan train`")
    device = meta.get("device", "cpu") if device is None else device
    config = meta["config"]
    exp = experiments.create(meta["experiment"], config["hyperparameters"], device)
    for name, obj in exp.stateful().items():
        obj.load_state_dict(ckpt["state"][name])
    load_trainer_state(exp.trainer, meta["trainer"], ckpt["trainer"])
    exp.load_extra_state(meta["extra"])
    exp.load_extra_arrays(ckpt.get("extra", {}))
    return exp, config, list(ckpt.get("frames", []))


# ---------------------------------------------------------------- progress and Ctrl-C


def _in_notebook() -> bool:
    shell = sys.modules.get("IPython")
    try:
        return shell is not None and \
            type(shell.get_ipython()).__name__ == "ZMQInteractiveShell"
    except Exception:  # noqa: BLE001 - no IPython shell at all
        return False


def progress_bar(total: int, initial: int, quiet: bool, desc: str):
    """A tqdm bar (a widget in Jupyter via tqdm.auto), or None when quiet or not on a terminal."""
    if quiet or not (sys.stderr.isatty() or _in_notebook()):
        return None
    from tqdm.auto import tqdm
    return tqdm(total=total, initial=initial, desc=desc, unit="step", dynamic_ncols=True)


class _Interrupt:
    """SIGINT sets a flag that the loop reads between steps (a step is never cut in half, so
    the checkpoint is a state an uninterrupted run passes through); a second Ctrl-C stops at
    once."""

    def __init__(self):
        self.requested = False
        self.previous = None

    def _handler(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        log.warning("interrupted: finishing this step and saving a checkpoint "
                    "(Ctrl-C again to stop at once)")

    def __enter__(self):
        try:
            self.previous = signal.signal(signal.SIGINT, self._handler)
        except ValueError:  # not the main thread: KeyboardInterrupt cannot reach us anyway
            self.previous = None
        return self

    def __exit__(self, *exc):
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
        return False


def _watch_losses(trainer) -> dict:
    """Wrap the trainer's d_step/g_step (on the instance) to keep each step's last loss."""
    last = {}
    d_step, g_step = trainer.d_step, trainer.g_step

    def watched_d():
        last["discriminator"] = loss = d_step()
        return loss

    def watched_g():
        last["generator"] = loss = g_step()
        return loss

    trainer.d_step, trainer.g_step = watched_d, watched_g
    return last


# ---------------------------------------------------------------- the run


def _config_record(exp, steps: int, device: str) -> dict:
    return {"experiment": exp.name, "steps": steps, "seed": exp.config["seed"],
            "device": device, "hyperparameters": exp.config,
            "command": f"tinygan train {exp.name} --steps {steps} --seed {exp.config['seed']}"
                       + "".join(f" --{k.replace('_', '-')} {v}" for k, v in exp.config.items()
                                 if k not in ("steps", "seed") and v != exp.defaults()[k])}


def train(name: str | None = None, config: dict | None = None, out=None, *, device="cpu",
          resume=None, quiet: bool = False, checkpoint_every: int = 500,
          stop_after: int | None = None, animation: bool = True) -> dict:
    """Train an experiment into the run folder `out` (or continue the one in `resume`).

    Returns a summary dict: {"status": "finished" | "interrupted", "step", "out", "metrics"}.
    stop_after=N behaves as a Ctrl-C after N steps of this invocation (for tests and demos)."""
    if resume is not None:
        out = Path(resume if out is None else out)
        exp, record, frames = load_checkpoint(Path(resume), device)
        prepare_out(out, estimate_bytes(exp))
        steps = int(record["steps"])
        log.info("resuming %s at step %d of %d from %s", exp.name, exp.trainer.iteration,
                 steps, resume)
    else:
        if out is None:
            raise RunError("give an output folder (--out DIR)")
        out = Path(out)
        exp = experiments.create(name, config or {}, device)
        prepare_out(out, estimate_bytes(exp))
        steps = int(exp.config["steps"])
        record = _config_record(exp, steps, device)
        write_json(out / "config.json", record)
        frames = []
        if exp.animated and animation:
            frames.append(exp.frame())
    every = int(exp.config.get("snapshot_every", 0) or 0) if exp.animated and animation else 0
    trainer = exp.trainer
    last = _watch_losses(trainer)
    ckpt_path = out / CHECKPOINT
    done_here = 0
    status = "finished"
    bar = progress_bar(steps, trainer.iteration, quiet, exp.name)
    start = time.perf_counter()
    try:
        with _Interrupt() as interrupt:
            while trainer.iteration < steps:
                if interrupt.requested or (stop_after is not None and done_here >= stop_after):
                    status = "interrupted"
                    break
                trainer.step()
                done_here += 1
                _check_finite(trainer, last, ckpt_path)
                if every and trainer.iteration % every == 0:
                    frames.append(exp.frame())
                if bar is not None:
                    bar.update(1)
                    if trainer.history["iteration"] and \
                            trainer.history["iteration"][-1] == trainer.iteration:
                        h = trainer.history
                        bar.set_postfix(D=f"{h['d_loss'][-1]:.3f}", G=f"{h['g_loss'][-1]:.3f}",
                                        Dx=f"{h['d_real'][-1]:.2f}",
                                        DGz=f"{h['d_fake'][-1]:.2f}", refresh=False)
                if trainer.iteration % checkpoint_every == 0 and trainer.iteration < steps:
                    save_checkpoint(ckpt_path, exp, record, frames)
            save_checkpoint(ckpt_path, exp, record, frames)
    finally:
        if bar is not None:
            bar.close()
    elapsed = time.perf_counter() - start
    write_history_csv(out / "history.csv", trainer.history)
    if status == "interrupted":
        log.warning("stopped at step %d of %d; checkpoint saved to %s; continue with "
                    "`tinygan train --resume %s`", trainer.iteration, steps, ckpt_path, out)
        return {"status": status, "step": trainer.iteration, "out": str(out), "metrics": None}
    log.info("trained %d steps in %.1f s; measuring and drawing", done_here, elapsed)
    metrics = finish(exp, out, frames, animation)
    metrics.update({"steps": trainer.iteration, "train_seconds_this_invocation": elapsed})
    write_json(out / "metrics.json", metrics)
    return {"status": status, "step": trainer.iteration, "out": str(out), "metrics": metrics}


def _check_finite(trainer, last: dict, ckpt_path: Path) -> None:
    for network in ("discriminator", "generator"):  # D steps first within an iteration
        loss = last.get(network)
        if loss is None:
            continue
        value = float(loss.item())
        if not math.isfinite(value):
            kept = (f"the last good checkpoint ({ckpt_path}) is kept" if ckpt_path.exists()
                    else "no checkpoint had been saved yet")
            raise NonFiniteLossError(
                trainer.iteration, network, value,
                f"step {trainer.iteration}: the {network}'s loss is {value} (non-finite); "
                f"training stopped and {kept}. Try a smaller learning rate for the {network} "
                f"(--lr-{network[0]} where the experiment has it, else --lr).")


def finish(exp, out: Path, frames: list, animation: bool = True) -> dict:
    """Final metrics and pictures of a finished run."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = exp.metrics()
    fig = draw_losses(exp.trainer.history, exp.name)
    write_figure(fig, out / "losses.png")
    plt.close(fig)
    fig = exp.draw_samples()
    write_figure(fig, out / "samples.png")
    plt.close(fig)
    if animation and exp.animated and len(frames) > 1:
        from matplotlib.animation import PillowWriter
        anim = exp.animate(frames)
        if anim is not None:
            path = out / "training.gif"
            tmp = path.with_name(f".training.tmp{os.getpid()}.gif")
            anim.save(tmp, writer=PillowWriter(fps=10), dpi=70)
            os.replace(tmp, path)
        plt.close("all")
    return metrics


def draw_losses(history: dict, title: str = ""):
    """Two panels: D and G losses; mean D(x) and D(G(z)) (the log's averages)."""
    import matplotlib.pyplot as plt
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.2))
    it = history["iteration"]
    a.plot(it, history["d_loss"], label="D loss")
    a.plot(it, history["g_loss"], label="G loss")
    a.set_xlabel("iteration")
    a.legend(frameon=False, fontsize=8)
    a.set_title(f"{title}: losses", fontsize=10)
    b.plot(it, history["d_real"], label="mean D(x)")
    b.plot(it, history["d_fake"], label="mean D(G(z))")
    b.axhline(0.5, color="0.6", ls=":", lw=1)
    b.set_ylim(-0.02, 1.02)
    b.set_xlabel("iteration")
    b.legend(frameon=False, fontsize=8)
    b.set_title("discriminator outputs", fontsize=10)
    fig.tight_layout()
    return fig


def sample(checkpoint, out, n: int | None = None, seed: int = 1234, labels=None,
           device: str | None = None) -> Path:
    """Write a picture of samples from a checkpoint (or run folder) to `out`."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    exp, _, _ = load_checkpoint(checkpoint, device)
    out = Path(out)
    prepare_out(out.parent if str(out.parent) else Path("."))
    fig = exp.draw_samples(n=n, seed=seed, labels=labels)
    write_figure(fig, out)
    plt.close(fig)
    return out
