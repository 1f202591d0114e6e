"""Benchmark harness: paired timing of tinygan against PyTorch and a NumPy floor, and peak memory
measured in a fresh subprocess per framework.

A benchmark file `benchmarks/bench_*.py` exposes `CASES`, a list of dicts:

    {"name": "MLP GAN step",        # unique; --only matches a substring of it
     "tinygan": make_step,          # factory(batch) -> zero-argument callable doing one step
     "torch": make_torch_step,      # the same step in PyTorch, or None
     "floor": make_floor_step,      # the step's unavoidable core in NumPy, or None
     "batch": 64}                   # optional (default 64)

Timing. The callables run ALTERNATING (tinygan, torch, floor, tinygan, ...) after a warm-up, so
that the load of a shared machine hits every framework alike. Each round gives one time per
framework; we report each framework's median, and each ratio as the median over rounds of the
per-round ratio (a paired estimate: a slow round slows both sides and cancels). Wall-clock time
is the headline; the process's CPU time is recorded alongside (with one thread it is the step's
own work, without the time spent waiting for a core on a busy machine).

Threads. One thread count for everything: OMP/OpenBLAS/MKL environment variables (set by run.py
before NumPy is imported), OpenBLAS's own setter where we can find it (as threadpoolctl does),
and torch.set_num_threads. What each library actually reports is recorded.

Memory. Each framework's step runs in its own fresh process, after a tiny forward, backward and
optimizer step (so imports, thread pools and BLAS buffers are paid before measuring).
Peak step memory = the most bytes allocated at once while building the models and optimizer and
running steps: parameters, gradients, optimizer state, activations and temporaries at their worst
moment, without the interpreter or library code. Each framework counts its own allocations:
tracemalloc for NumPy (NumPy reports every array buffer to it; Python objects such as graph
nodes count too, which only ever penalizes tinygan) and PyTorch's profiler memory events for
torch. As a cross-check on what the operating system sees, the growth of resident memory
(high-water RSS after a Linux /proc/self/clear_refs reset, minus the baseline and minus library
code paged in) is recorded for the same span.
"""
from __future__ import annotations

import gc
import importlib.util
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
FRAMEWORKS = ("tinygan", "torch", "floor")


# ---------------------------------------------------------------- threads


def thread_env(n: int) -> dict:
    """Environment variables that fix every BLAS/OpenMP pool to n threads (read at load time).
    The names are tinygan.backend.THREAD_VARIABLES, repeated here because this must run before
    NumPy loads (tests/test_benchmarks.py checks the two lists agree)."""
    return {var: str(n) for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                                    "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")}


def set_threads(n: int, torch_too: bool = True) -> dict:
    """Fix NumPy's BLAS and PyTorch (if installed and torch_too) to n threads; return what each
    library reports."""
    from tinygan.backend import blas_threads
    report = {"requested": n, "numpy_blas": blas_threads(n), "torch": None}
    if not torch_too:
        return report
    try:
        import torch
    except ImportError:
        return report
    torch.set_num_threads(n)
    report["torch"] = torch.get_num_threads()
    return report


# ---------------------------------------------------------------- discovery


def load_module(path):
    """Import a benchmark file by path (benchmarks/ is not a package)."""
    path = Path(path)
    spec = importlib.util.spec_from_file_location(f"tinygan_bench_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def discover(only: str | None = None, folder: Path = HERE):
    """[(bench file, case)] from every bench_*.py, filtered by a case-insensitive substring."""
    found = []
    for path in sorted(folder.glob("bench_*.py")):
        for case in load_module(path).CASES:
            missing = {"name", "tinygan"} - set(case)
            if missing:
                raise ValueError(f"{path.name}: a case lacks {sorted(missing)}: {case}")
            if only is None or only.lower() in case["name"].lower():
                found.append((path, case))
    return found


def torch_available() -> bool:
    return importlib.util.find_spec("torch") is not None


# ---------------------------------------------------------------- timing


def time_case(case: dict, warmup: int, rounds: int, frameworks=FRAMEWORKS) -> dict:
    """Alternate the case's step callables; medians per framework and paired ratios, for wall
    time and for the process's CPU time (on a shared machine the CPU time of a 1-thread run
    leaves out the time spent waiting for a core)."""
    batch = case.get("batch", 64)
    steps = {fw: case[fw](batch) for fw in frameworks if case.get(fw) is not None}
    for _ in range(warmup):
        for step in steps.values():
            step()
    wall = {fw: [] for fw in steps}
    cpu = {fw: [] for fw in steps}
    clock, cpu_clock = time.perf_counter, time.process_time
    for _ in range(rounds):
        for fw, step in steps.items():
            c0, t0 = cpu_clock(), clock()
            step()
            t1, c1 = clock(), cpu_clock()
            wall[fw].append(t1 - t0)
            cpu[fw].append(c1 - c0)
    result = {"batch": batch, "rounds": rounds, "warmup": warmup}
    for label, times in (("", wall), ("cpu_", cpu)):
        result[f"{label}median_ms"] = {fw: 1e3 * statistics.median(ts) for fw, ts in times.items()}
        result[f"{label}iqr_ms"] = {fw: 1e3 * _iqr(ts) for fw, ts in times.items()}
        result[f"{label}ratio"] = {}
        for other in ("torch", "floor"):
            if other in times and "tinygan" in times:
                paired = [a / b for a, b in zip(times["tinygan"], times[other]) if b > 0]
                result[f"{label}ratio"][f"tinygan/{other}"] = statistics.median(paired)
    return result


def _iqr(values):
    q = statistics.quantiles(values, n=4)
    return q[2] - q[0]


# ---------------------------------------------------------------- memory (child process side)


def _status_kb(field: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            match = re.search(rf"^{field}:\s+(\d+) kB", f.read(), re.MULTILINE)
    except OSError:
        return None
    return int(match.group(1)) if match else None


def _reset_peak() -> bool:
    """Reset the kernel's RSS high-water mark (Linux >= 4.0); False where that is impossible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _framework_warmup(framework: str) -> None:
    """A tiny forward/backward and optimizer step: starts thread pools and BLAS buffers and
    triggers the imports an optimizer's first step does (torch's pulls in ~70 MB of modules)."""
    import numpy as np
    a = np.ones((64, 64), np.float32)
    for _ in range(3):
        a @ a
    if framework == "tinygan":
        import tinygan as tg
        from tinygan.optim import Adam
        w = tg.randn(64, 64, requires_grad=True)
        opt = Adam([w])
        (tg.randn(8, 64) @ w).tanh().sum().backward()
        opt.step()
    elif framework == "torch":
        import torch
        w = torch.randn(64, 64, requires_grad=True)
        opt = torch.optim.Adam([w])
        (torch.randn(8, 64) @ w).tanh().sum().backward()
        opt.step()


def _rss_peak(case: dict, framework: str, steps: int) -> dict:
    """Resident memory: high-water RSS minus the RSS before building, less the growth of
    file-backed pages (library code paged in is not data the step needs)."""
    base = {k: _status_kb(k) for k in ("VmRSS", "RssFile")}
    if None in base.values() or not _reset_peak():
        return {"rss_peak_mb": None, "rss_method": "unavailable (needs Linux /proc)"}
    step = case[framework](case.get("batch", 64))
    for _ in range(steps):
        step()
    code_growth = _status_kb("RssFile") - base["RssFile"]
    peak = _status_kb("VmHWM") - base["VmRSS"] - code_growth
    return {"rss_peak_mb": peak / 1024, "rss_method": "VmHWM - VmRSS before build - RssFile growth"}


def _tracked_peak(case: dict, framework: str, steps: int) -> tuple[float, str]:
    """Peak bytes allocated while building the step and running it, counted by the framework's
    own allocation tracking: tracemalloc for NumPy (which reports every array buffer to it, and
    every Python object too), PyTorch's profiler memory events for torch."""
    batch = case.get("batch", 64)
    if framework == "torch":
        import torch.profiler as tp
        with tp.profile(activities=[tp.ProfilerActivity.CPU], profile_memory=True) as prof:
            step = case[framework](batch)
            for _ in range(steps):
                step()
        peak = max(_torch_allocated_totals(prof), default=0)
        return peak / 2 ** 20, "torch.profiler memory events (Total Allocated)"
    import tracemalloc
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        step = case[framework](batch)
        for _ in range(steps):
            step()
        return (tracemalloc.get_traced_memory()[1] - start) / 2 ** 20, "tracemalloc"
    finally:
        tracemalloc.stop()


def _torch_allocated_totals(prof):
    """Bytes allocated since profiling began, after each allocation or free: the profiler's
    [memory] events, read from its Chrome trace (a stable, documented format)."""
    import tempfile
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "trace.json")
        prof.export_chrome_trace(path)
        with open(path) as f:
            events = json.load(f)["traceEvents"]
    return [e["args"]["Total Allocated"] for e in events
            if e.get("name") == "[memory]" and "Total Allocated" in e.get("args", {})]


def measure_memory(case: dict, framework: str, steps: int) -> dict:
    """Peak memory of one framework's step, in this (fresh) process: after a tiny warm-up, two
    fresh builds are measured, by RSS and by allocation tracking (separately, as tracking
    itself costs memory)."""
    _framework_warmup(framework)
    gc.collect()
    result = _rss_peak(case, framework, steps)
    gc.collect()
    result["peak_mb"], result["method"] = _tracked_peak(case, framework, steps)
    return result


def memory_in_subprocess(bench_file, case_name: str, framework: str, threads: int,
                         steps: int) -> dict:
    """Run measure_memory in a fresh interpreter (so no other framework's allocations count)."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--memory", str(bench_file),
           case_name, framework, "--threads", str(threads), "--steps", str(steps)]
    env = {**os.environ, **thread_env(threads)}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"memory run of {case_name!r} ({framework}) failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- report


def machine_info(threads: dict) -> dict:
    import numpy as np

    from tinygan.backend import cpu_name
    from tinygan.sweep import default_workers
    info = {"python": platform.python_version(), "numpy": np.__version__,
            "machine": platform.machine(), "processor": cpu_name(),
            "cpus_available": default_workers(),
            "threads": threads}
    try:
        import torch
        info["torch"] = torch.__version__
    except ImportError:
        info["torch"] = None
    try:
        info["load_average"] = os.getloadavg()
    except OSError:
        pass
    return info


def _fmt(value, spec=".2f", suffix=""):
    return "–" if value is None else f"{value:{spec}}{suffix}"


def markdown_table(results: list, threads: int) -> str:
    """The README table: medians as wall-clock (CPU) ms, paired ratios (wall-clock, CPU) and
    the peak memory of each framework's step."""
    rows = ["| case | threads | tinygan ms | PyTorch ms | floor ms | tinygan / PyTorch "
            "| tinygan / floor | peak MB tinygan / PyTorch | memory ratio |",
            "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        med, cpu_med, mem = r["median_ms"], r.get("cpu_median_ms", {}), r.get("memory", {})
        times = [f"{_fmt(med.get(fw))} ({_fmt(cpu_med.get(fw))})" if fw in med else "–"
                 for fw in ("tinygan", "torch", "floor")]
        ratios = []
        for other in ("torch", "floor"):
            wall = r["ratio"].get(f"tinygan/{other}")
            cpu = r.get("cpu_ratio", {}).get(f"tinygan/{other}")
            ratios.append("–" if wall is None else f"{wall:.2f}× ({_fmt(cpu, suffix='×')})")
        mt = mem.get("tinygan", {}).get("peak_mb")
        mo = mem.get("torch", {}).get("peak_mb")
        rows.append(
            f"| {r['name']} (batch {r['batch']}) | {threads} | {' | '.join(times)} "
            f"| {ratios[0]} | {ratios[1]} | {_fmt(mt, '.1f')} / {_fmt(mo, '.1f')} "
            f"| {_fmt(None if mt is None or not mo else mt / mo, suffix='×')} |")
    rows.append("\nTimes: median wall-clock ms (median CPU ms); ratios: median of per-round "
                "ratios, wall-clock (CPU time).")
    return "\n".join(rows)


# ---------------------------------------------------------------- child entry point


def _child_main(argv):
    import argparse
    parser = argparse.ArgumentParser(description="internal: one memory measurement")
    parser.add_argument("--memory", nargs=3, metavar=("BENCH_FILE", "CASE", "FRAMEWORK"),
                        required=True)
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args(argv)
    bench_file, case_name, framework = args.memory
    set_threads(args.threads, torch_too=framework == "torch")
    cases = [c for c in load_module(bench_file).CASES if c["name"] == case_name]
    if not cases:
        raise SystemExit(f"no case named {case_name!r} in {bench_file}")
    print(json.dumps(measure_memory(cases[0], framework, args.steps)))


if __name__ == "__main__":
    _child_main(sys.argv[1:])
