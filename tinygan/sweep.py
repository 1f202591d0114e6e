"""Sweeps: a grid of experiment x settings x seeds, run on any concurrent.futures executor.

    jobs = sweep.grid(["ring", "grid"], seeds=range(10), method=["vanilla", "packing"])
    rows = sweep.run(jobs, "results/collapse")                  # a process pool, one per core
    rows = sweep.run(jobs, "results/collapse", executor=sweep.dask_executor("tcp://host:8786"))

Each finished job is one row of `<out>.json` (rewritten atomically after every job, so a sweep
stopped at any moment keeps what it finished and `run` skips those jobs when started again) and
the table `<out>.md` is rebuilt from the rows. A row's numbers depend only on its job (the seed
decides every random number), so the same job gives the same row in any executor and any order;
only its times differ.

A task is a module-level function job -> dict (the executor pickles it by name, so a cluster's
workers must be able to import it); `train` (build, fit, evaluate) is the default.
"""
from __future__ import annotations

import concurrent.futures as cf
import contextlib
import dataclasses
import itertools
import json
import logging
import math
import multiprocessing
import os
import platform
from pathlib import Path

from .metrics import mean_se

log = logging.getLogger(__name__)

@dataclasses.dataclass(frozen=True)
class Job:
    """One run: an experiment of the registry, its seed, the config fields that differ from the
    experiment's defaults, and its budget (config.steps, or `seconds` on the `clock`)."""
    experiment: str
    seed: int = 0
    settings: tuple = ()               # sorted (field, value) pairs
    seconds: float | None = None       # a time budget instead of config.steps
    clock: str = "wall"                # "wall" or "cpu" (CPU time / threads), as Trainer.fit
    threads: int = 1                   # BLAS threads of the run (and the CPU clock's divisor)
    options: tuple = ()                # sorted (name, value) pairs for a task of one's own

    @classmethod
    def make(cls, experiment: str, seed: int = 0, seconds=None, clock="wall", threads=1,
             options: dict | None = None, **settings) -> "Job":
        """A job whose settings are checked now (an unknown field or a bad value is an error
        before anything runs). options: what a task of one's own needs beyond the config
        (JSON-ready values; part of the job's key)."""
        from . import experiments

        experiments.get(experiment).make_config(seed=seed, **settings)
        if clock not in ("wall", "cpu"):
            raise ValueError(f"clock must be 'wall' or 'cpu', got {clock!r}")
        return cls(experiment, int(seed), tuple(sorted(settings.items())), seconds, clock,
                   int(threads), tuple(sorted((options or {}).items())))

    @property
    def key(self) -> str:
        """What identifies the job in the results (its budget included, its seed too)."""
        budget = "" if self.seconds is None else f" {self.seconds:g}s-{self.clock}/{self.threads}"
        options = f" {json.dumps(dict(self.options), sort_keys=True)}" if self.options else ""
        return f"{self.experiment} seed={self.seed} " \
               f"{json.dumps(dict(self.settings), sort_keys=True)}{budget}{options}"

    def config(self):
        from . import experiments
        return experiments.get(self.experiment).make_config(seed=self.seed,
                                                            **dict(self.settings))


def grid(experiment_names, seeds=(0,), fixed: dict | None = None, **axes) -> list:
    """Every combination of the axes' values (field=[values]) for every experiment and seed,
    with `fixed` settings in each; seed-major order, so that a sweep stopped early still has
    every combination on its first seeds."""
    if isinstance(experiment_names, str):
        experiment_names = [experiment_names]
    fixed = dict(fixed or {})
    budget = {k: fixed.pop(k) for k in ("seconds", "clock", "threads", "options") if k in fixed}
    for name, values in axes.items():
        if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
            raise TypeError(f"grid: axis {name!r} needs a list of values, got {values!r}")
    names = list(axes)
    combos = list(itertools.product(*(list(axes[n]) for n in names)))
    return [Job.make(e, seed, **budget, **fixed, **dict(zip(names, combo)))
            for seed in seeds for e in experiment_names for combo in combos]


# ---------------------------------------------------------------- the default task


def train(job: Job) -> dict:
    """Build the job's experiment, train it (config.steps, or job.seconds on job.clock) and
    evaluate it: one row (the evaluate() metrics under "metrics", training time without the
    evaluation under wall_time_s / cpu_time_s)."""
    from . import experiments

    exp = experiments.build(job.experiment, job.config())
    if job.seconds is None:
        exp.trainer.fit(exp.config.steps)
    else:
        exp.trainer.fit(seconds=job.seconds, clock=job.clock, threads=job.threads)
    metrics = exp.evaluate()
    return {"steps": exp.trainer.iteration, "wall_time_s": exp.trainer.clock["wall_seconds"],
            "cpu_time_s": exp.trainer.clock["cpu_seconds"], "metrics": metrics}


def _run_task(task, job: Job) -> dict:
    """What a worker runs: the task with NumPy's BLAS on job.threads threads (restored after),
    plus the job's identity and where it ran (host, CPU model, process)."""
    from .backend import blas_threads, cpu_name

    before = blas_threads()
    blas_threads(job.threads)
    try:
        row = task(job)
    finally:
        if before is not None:
            blas_threads(before)
    return {"key": job.key, "experiment": job.experiment, "seed": job.seed,
            "settings": dict(job.settings), **row, "host": platform.node(), "cpu": cpu_name(),
            "pid": os.getpid()}


# ---------------------------------------------------------------- executors


def default_workers() -> int:
    """One worker per core this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def process_pool(workers: int | None = None) -> cf.ProcessPoolExecutor:
    """A pool of fresh ("spawn") processes, one per core by default (spawned, not forked: a
    fork would copy the parent's BLAS thread pool and its locks)."""
    workers = default_workers() if workers is None else workers
    if not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a positive int, got {workers!r}")
    return cf.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                  initializer=_own_session)


def _own_session() -> None:
    """Put a worker in a session of its own, as if started by hand: on Linux the processes of
    one session share one scheduler group ("autogroup"), so workers side by side would
    otherwise split a single process's share of a machine that others are using."""
    with contextlib.suppress(OSError, AttributeError):
        os.setsid()


def dask_executor(address: str):
    """A concurrent.futures executor on a Dask cluster (the [cluster] extra):
    distributed.Client(address).get_executor(). Its workers must have tinygan installed
    (and the data the experiments read)."""
    try:
        from distributed import Client
    except ImportError as e:
        raise ImportError("a Dask scheduler needs the [cluster] extra: "
                          "pip install -e '.[cluster]'") from e
    return Client(address).get_executor()


# ---------------------------------------------------------------- the results


def load(out) -> list:
    """The rows already in `<out>.json` ([] when there is none)."""
    path = Path(out).with_suffix(".json")
    if not path.exists():
        return []
    data = json.loads(path.read_text())
    if not isinstance(data, dict) or not isinstance(data.get("rows"), list):
        raise ValueError(f"{path} is not a sweep's results file (no 'rows' list)")
    return data["rows"]


def save(rows: list, out, table=None, about: dict | None = None) -> None:
    """Write `<out>.json` (the rows) and `<out>.md` (table(rows), default `markdown`),
    each atomically."""
    from .runs import write_json
    from .io import write_atomically

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_json(out.with_suffix(".json"), {**(about or {}), "rows": rows})
    write_atomically(out.with_suffix(".md"), (table or markdown)(rows).encode())


def _numbers(metrics: dict, prefix="") -> dict:
    """The finite scalar numbers of a metrics dict, nested keys joined with '.'."""
    out = {}
    for k, v in metrics.items():
        if isinstance(v, dict):
            out.update(_numbers(v, f"{prefix}{k}."))
        elif isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
            out[prefix + k] = float(v)
    return out


def markdown(rows: list, columns: list | None = None) -> str:
    """One line per (experiment, settings): how many seeds, and mean ± s.e. over seeds of each
    number the rows' metrics hold (or of `columns`), with the training seconds."""
    groups: dict = {}
    for r in rows:
        groups.setdefault((r["experiment"], json.dumps(r["settings"], sort_keys=True)),
                          []).append(r)
    if columns is None:
        columns = sorted(set().union(*(_numbers(r["metrics"]) for r in rows))) if rows else []
    lines = ["| experiment | settings | seeds | " + " | ".join(columns) +
             " | train s (wall) | train s (CPU) |",
             "|---|---|---|" + "---|" * (len(columns) + 2)]
    for (name, settings), rs in sorted(groups.items()):
        cells = []
        for c in columns:
            vals = [_numbers(r["metrics"]).get(c) for r in rs]
            vals = [v for v in vals if v is not None]
            cells.append("—" if not vals else "{:.4g} ± {:.2g}".format(*mean_se(vals)))
        wall, cpu = mean_se(r["wall_time_s"] for r in rs), mean_se(r["cpu_time_s"] for r in rs)
        shown = ", ".join(f"{k}={v}" for k, v in json.loads(settings).items()) or "defaults"
        lines.append(f"| {name} | {shown} | {len(rs)} | " + " | ".join(cells) +
                     f" | {wall[0]:.1f} | {cpu[0]:.1f} |")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- the runner


def run(jobs, out, task=train, executor=None, workers: int | None = None, table=None,
        about: dict | None = None, progress=None) -> list:
    """Run the jobs not yet in `<out>.json` and return all its rows (old and new).

    executor: any concurrent.futures.Executor (e.g. dask_executor(address)); by default a
    process pool of `workers` processes (one per core), or, with workers=1, this process.
    Each job runs with job.threads BLAS threads. table: rows -> markdown
    (default `markdown`). progress(row, done, total) is called after each job."""
    jobs = list(jobs)
    keys = [j.key for j in jobs]
    if len(set(keys)) != len(keys):
        raise ValueError("run: the same job is listed twice: "
                         f"{sorted(k for k in set(keys) if keys.count(k) > 1)[:3]}")
    rows = load(out)
    done = {r["key"] for r in rows}
    todo = [j for j in jobs if j.key not in done]
    log.info("%d jobs to run (%d already in %s)", len(todo), len(jobs) - len(todo), out)
    about = {"machine": machine(), **(about or {})}

    failed = []

    def record(row):
        rows.append(row)
        save(rows, out, table, about)
        if progress is not None:
            progress(row, len(rows), total)

    def failure(job, error):
        failed.append(job.key)
        log.error("job %s failed: %s: %s", job.key, type(error).__name__, error)

    total = len(rows) + len(todo)
    if executor is None and workers == 1:
        for job in todo:
            try:
                row = _run_task(task, job)
            except Exception as e:  # the other jobs still run; the error is raised below
                failure(job, e)
                continue
            record(row)
    else:
        own = executor is None
        executor = process_pool(workers) if own else executor
        try:
            futures = {executor.submit(_run_task, task, job): job for job in todo}
            for future in cf.as_completed(futures):
                try:
                    row = future.result()
                except Exception as e:
                    failure(futures[future], e)
                    continue
                record(row)
        finally:
            if own:
                executor.shutdown(cancel_futures=True)
    if not todo:
        save(rows, out, table, about)
    if failed:
        raise RuntimeError(f"{len(failed)} of {len(todo)} jobs failed (their errors are logged "
                           f"above; the {len(todo) - len(failed)} others are in {out}.json): "
                           f"{failed[:3]}")
    return rows


def machine() -> str:
    """The machine a sweep starts on, in words (CPU model, cores, load)."""
    from .backend import cpu_name

    load = f", load average {os.getloadavg()[0]:.1f} at start" if hasattr(os, "getloadavg") else ""
    return f"{cpu_name()}, {default_workers()} CPUs{load}"


