"""A training run on disk: what `tinygan train` writes and how it resumes.

The run directory holds
  config.json      everything needed to rerun (experiment, its config, device, the command)
  checkpoint.npz   the trainer's whole state (models, optimizers, random streams, counters,
                   history, hooks) and the animation frames so far (tinygan.io format: atomic,
                   no pickle)
  history.csv      the trainer's logged statistics (iteration, losses, mean D(x), D(G(z)), ...)
  losses.png       D and G losses and the discriminator's outputs over training
  samples.png      samples from the trained generator
  training.gif     an animation of training (experiments where it helps)
  metrics.json     the experiment's final metrics, the steps and the time taken

Every file is written atomically (tinygan.io.atomic_path). A resumed run ends bit-identical to
an uninterrupted one, because the checkpoint is Trainer.state_dict(). Ctrl-C (SIGINT)
finishes the current step, saves a checkpoint and returns; a non-finite loss stops the run with
NonFiniteLossError, keeping the last good checkpoint; an output folder that cannot be written
(or a full disk) is reported by `prepare_out` before any training.
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

from . import backend, experiments, viz
from . import io as tgio
from .gan.trainer import Trainer

log = logging.getLogger(__name__)

CHECKPOINT = "checkpoint.npz"
RUN_FORMAT = "tinygan-run"


class RunError(RuntimeError):
    """A run that cannot start or continue (bad folder, missing checkpoint, ...)."""


class NonFiniteLossError(RunError):
    """A loss became NaN or infinite: `step` (1-based) and `network` ("discriminator" or
    "generator") say where."""

    def __init__(self, step: int, network: str, value: float, message: str):
        super().__init__(message)
        self.step, self.network, self.value = step, network, value


# ---------------------------------------------------------------- run files


def _json_default(x):
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.floating):
        return float(x)
    if isinstance(x, np.ndarray):
        return x.tolist()
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
    tgio.write_atomically(path, (json.dumps(_clean(obj), indent=2, default=_json_default)
                                 + "\n").encode())


def write_history_csv(path: Path, history: dict) -> None:
    buf = _io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    keys = [k for k in Trainer.HISTORY_KEYS if k in history]
    w.writerow(keys)
    for row in zip(*(history[k] for k in keys)):
        w.writerow([int(row[0])] + [repr(float(v)) for v in row[1:]])
    tgio.write_atomically(path, buf.getvalue().encode())


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


def estimate_bytes(exp) -> int:
    """Room a run needs: its checkpoint (parameters + Adam's two moments, and an EMA copy) and
    ~5 MB of pictures, with a margin of two for the temporary file of an atomic save."""
    params = sum(int(np.prod(p.shape)) * 4 for m in (exp.trainer.G, exp.trainer.D)
                 for p in m.parameters())
    return 2 * (4 * params) + 5 * 2**20


# ---------------------------------------------------------------- checkpoints


def save_checkpoint(path, exp, frames: list) -> None:
    """The trainer's whole state and the frames so far, with what rebuilds the experiment.
    Written atomically: if the disk fills up (or anything fails) the previous checkpoint is
    kept as it was, no temporary file is left, and a RunError says so."""
    _check_finite_weights(exp.trainer, Path(path))  # never replace a good state by a broken one
    try:
        tgio.save(path, {"trainer": exp.trainer.state_dict(), "frames": frames},
                  meta={"format": RUN_FORMAT, "experiment": exp.name,
                        "config": exp.config.as_dict(), "device": exp.device})
    except OSError as e:
        kept = "the previous checkpoint is intact" if Path(path).exists() else \
            "no checkpoint had been saved yet"
        raise RunError(f"cannot write the checkpoint {path}: {e.strerror or e} (at step "
                       f"{exp.trainer.iteration}); {kept}. Free some space (or choose another "
                       f"--out) and continue with `tinygan train --resume "
                       f"{Path(path).parent}`") from e


def remove_stale_temporaries(out: Path) -> list:
    """Temporary files of writes that never finished (a run killed mid-save) in a run folder:
    removed, and their names returned."""
    stale = sorted(Path(out).glob(".*.tmp.*"))
    for p in stale:
        p.unlink(missing_ok=True)
    return stale


def load_checkpoint(path, device: str | None = None):
    """(experiment, frames) rebuilt from a checkpoint (or a run folder holding one)."""
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT
    if not path.exists():
        raise RunError(f"no checkpoint at {path}")
    ckpt = tgio.load(path)
    meta = ckpt.meta
    if meta.get("format") != RUN_FORMAT or "trainer" not in ckpt:
        raise RunError(f"{path} is a tinygan checkpoint but not one written by `tinygan train` "
                       "(or by an older tinygan, before runs kept the trainer's state)")
    exp = experiments.build(meta["experiment"], meta["config"],
                            meta.get("device", "cpu") if device is None else device)
    try:
        exp.trainer.load_state_dict(ckpt["trainer"])
    except (KeyError, ValueError, TypeError) as e:
        raise RunError(f"{path}: the checkpoint does not fit the {exp.name} experiment this "
                       f"tinygan builds ({e})") from e
    return exp, list(ckpt.get("frames", []))


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


def _check_finite(trainer, ckpt_path: Path) -> None:
    """Stop at the first non-finite loss, naming the step and the network: the one whose
    weights became non-finite when one did (a NaN weight in G shows first as D's loss, since D
    judges G's samples), else the one whose loss overflowed."""
    for network, loss in (("discriminator", trainer.last_d_loss),
                          ("generator", trainer.last_g_loss)):  # D steps first in an iteration
        if loss is None:
            continue
        value = float(loss.item())
        if not math.isfinite(value):
            broken = _non_finite_network(trainer)
            what = (f"the {broken}'s weights are non-finite (and the {network}'s loss is "
                    f"{value})" if broken else f"the {network}'s loss is {value} (non-finite)")
            _stop(trainer, broken or network, value, what, ckpt_path)


def _check_finite_weights(trainer, ckpt_path: Path) -> None:
    broken = _non_finite_network(trainer)
    if broken:
        _stop(trainer, broken, math.nan, f"the {broken}'s weights are non-finite", ckpt_path)


def _non_finite_network(trainer) -> str | None:
    for network, model in (("generator", trainer.G), ("discriminator", trainer.D)):
        if not all(bool(backend.get_array_module(p.data).isfinite(p.data).all())
                   for p in model.parameters()):
            return network
    return None


def _stop(trainer, network: str, value: float, what: str, ckpt_path: Path):
    kept = (f"the last good checkpoint ({ckpt_path}) is kept" if ckpt_path.exists()
            else "no checkpoint had been saved yet")
    raise NonFiniteLossError(
        trainer.iteration, network, value,
        f"step {trainer.iteration}: {what}; training stopped and {kept}. Try a smaller "
        f"learning rate for the {network} (--lr-{network[0]} where the experiment has it, "
        "else --lr).")


# ---------------------------------------------------------------- the run


def _config_record(exp, device: str) -> dict:
    args = "".join(_cli_option(k, v) for k, v in exp.config.changed().items() if k != "seed")
    return {"experiment": exp.name, "steps": exp.config.steps, "seed": exp.config.seed,
            "device": device, "config": exp.config.as_dict(),
            "command": f"tinygan train {exp.name} --seed {exp.config.seed}{args}"}


def _cli_option(name: str, v) -> str:
    """The `tinygan train` option that sets config field `name` to `v`."""
    flag = f"--{name.replace('_', '-')}"
    if isinstance(v, bool):
        return f" {flag}" if v else f" --no-{flag[2:]}"
    if v is None:
        return f" {flag} none"
    return f" {flag} {' '.join(map(str, v)) if isinstance(v, tuple) else v}"


def train(name: str | None = None, config=None, out=None, *, device="cpu", resume=None,
          quiet: bool = False, checkpoint_every: int = 500, stop_after: int | None = None,
          animation: bool = True, pictures: bool = True) -> dict:
    """Train an experiment into the run folder `out` (or continue the one in `resume`).
    config: a config instance or a dict of settings (the defaults otherwise). pictures=False
    skips losses.png and samples.png (and the animation) at the end, e.g. in a sweep.

    Returns a summary dict: {"status": "finished" | "interrupted", "step", "out", "metrics"}.
    stop_after=N behaves as a Ctrl-C after N steps of this invocation (for tests and demos)."""
    if checkpoint_every < 1:
        raise RunError(f"checkpoint_every must be >= 1, got {checkpoint_every}")
    if resume is not None:
        out = Path(resume if out is None else out)
        for stale in remove_stale_temporaries(Path(resume)):
            log.warning("removed %s, left by a save that never finished", stale)
        exp, frames = load_checkpoint(Path(resume), device)
        prepare_out(out, estimate_bytes(exp))
        log.info("resuming %s at step %d of %d from %s", exp.name, exp.trainer.iteration,
                 exp.config.steps, resume)
    else:
        if out is None:
            raise RunError("give an output folder (--out DIR)")
        out = Path(out)
        exp = experiments.build(name, config, device)
        prepare_out(out, estimate_bytes(exp))
        write_json(out / "config.json", _config_record(exp, device))
        frames = [exp.frame()] if exp.animated and animation else []
    every = int(getattr(exp.config, "snapshot_every", 0) or 0) \
        if exp.animated and animation else 0
    trainer, steps = exp.trainer, exp.config.steps
    ckpt_path = out / CHECKPOINT
    done_here, status = 0, "finished"
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
                _check_finite(trainer, ckpt_path)
                if every and trainer.iteration % every == 0:
                    frames.append(exp.frame())
                if bar is not None:
                    _update_bar(bar, trainer)
                if trainer.iteration % checkpoint_every == 0 and trainer.iteration < steps:
                    save_checkpoint(ckpt_path, exp, frames)
            save_checkpoint(ckpt_path, exp, frames)
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
    metrics = finish(exp, out, frames, animation) if pictures else exp.evaluate()
    metrics.update({"steps": trainer.iteration, "train_seconds_this_invocation": elapsed})
    write_json(out / "metrics.json", metrics)
    return {"status": status, "step": trainer.iteration, "out": str(out), "metrics": metrics}


def _update_bar(bar, trainer) -> None:
    bar.update(1)
    h = trainer.history
    if h["iteration"] and h["iteration"][-1] == trainer.iteration:
        bar.set_postfix(D=f"{h['d_loss'][-1]:.3f}", G=f"{h['g_loss'][-1]:.3f}",
                        Dx=f"{h['d_real'][-1]:.2f}", DGz=f"{h['d_fake'][-1]:.2f}",
                        refresh=False)


def finish(exp, out: Path, frames: list, animation: bool = True) -> dict:
    """Final metrics and pictures of a finished run."""
    from .viz.curves import losses_figure

    viz.files_only()
    metrics = exp.evaluate()
    for name, fig in (("losses.png", losses_figure(exp.trainer.history, exp.name)),
                      ("samples.png", exp.draw())):
        viz.save_figure(fig, name, folder=out)
        viz.close(fig)
    if animation and exp.animated:
        anim = exp.animate(frames)
        if anim is not None:
            viz.save_animation(anim, "training.gif", fps=10, dpi=70, folder=out)
        viz.close()
    return metrics


def sample(checkpoint, out, n: int | None = None, seed: int = 1234, labels=None,
           device: str | None = None) -> Path:
    """Samples from a checkpoint (or run folder) written to `out`: a picture (.png) or the raw
    samples (.npz: "images" (N, C, H, W) float32 in [-1, 1] or "points" (N, d), and "labels"
    for a conditional model), for scoring with anyone's own tools."""
    exp, _ = load_checkpoint(checkpoint, device)
    out = Path(out)
    if out.suffix not in (".png", ".npz"):
        raise RunError(f"--out {out}: give a .png (a picture) or a .npz (the raw samples)")
    prepare_out(out.parent if str(out.parent) else Path("."))
    if out.suffix == ".npz":
        if n is None:
            raise RunError("--out FILE.npz needs --n: how many samples to write")
        arrays = exp.sample(n, seed=seed, labels=labels)
        tgio.save(out, arrays, meta={"experiment": exp.name, "step": exp.trainer.iteration,
                                     "seed": seed, "config": exp.config.as_dict()})
        return out
    viz.files_only()
    fig = exp.draw(n=n, seed=seed, labels=labels)
    viz.save_figure(fig, out.name, folder=out.parent if str(out.parent) else ".")
    viz.close(fig)
    return out
