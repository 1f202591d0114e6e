"""Where the MLP GAN step's time goes, beyond the matrix products: CPU time per phase of the
step (tinygan next to PyTorch), per tinygan Function type, and the fixed per-step overhead.

    .venv/bin/python benchmarks/profile_mlp_gan.py [--steps 100] [--threads 1] [--cprofile]

CPU time (time.thread_time) rather than wall time, so that other processes on a shared machine
do not blur the split; with one thread all the work runs on the calling thread.
"""
from __future__ import annotations

import argparse
import collections
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

PHASES = ["G forward", "D forward (real, fake)", "D backward", "D Adam", "D forward (G step)",
          "G backward (through D)", "G Adam"]


def phased_step(G, D, opt_g, opt_d, real, z, d_loss_fn, g_loss_fn, record):
    """The benchmark's step, with a CPU clock read between phases."""
    clock = time.thread_time
    t = [clock()]
    fake = G(z)
    t.append(clock())
    opt_d.zero_grad()
    d_loss = d_loss_fn(D(real), D(fake.detach()))
    t.append(clock())
    d_loss.backward()
    t.append(clock())
    opt_d.step()
    t.append(clock())
    opt_g.zero_grad()
    g_loss = g_loss_fn(D(fake))
    t.append(clock())
    g_loss.backward()
    t.append(clock())
    opt_g.step()
    t.append(clock())
    record.append([b - a for a, b in zip(t, t[1:])])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--cprofile", action="store_true", help="also print cProfile's top 20")
    args = parser.parse_args(argv)
    import harness
    os.environ.update(harness.thread_env(args.threads))
    harness.set_threads(args.threads)
    import numpy as np

    import bench_mlp_gan as bench
    import tinygan as tg
    import tinygan.tensor  # noqa: F401  (the engine module; tg.tensor is the function)
    from tinygan.optim import Adam
    engine = sys.modules["tinygan.tensor"]

    batch = 64
    G, D = bench.tinygan_models()
    opt_g, opt_d = (Adam(m.parameters(), lr=bench.LR, betas=bench.BETAS) for m in (G, D))
    real = tg.tensor(bench._real_batch(batch))
    runs = {"tinygan": lambda rec: phased_step(G, D, opt_g, opt_d, real, tg.randn(batch, bench.NZ),
                                               bench.d_minimax, bench.g_nonsaturating, rec)}
    if harness.torch_available():
        import torch
        import torch.nn.functional as TF
        tG, tD = bench.torch_models()
        topt_g, topt_d = (torch.optim.Adam(m.parameters(), lr=bench.LR, betas=bench.BETAS)
                          for m in (tG, tD))
        treal = torch.from_numpy(bench._real_batch(batch))
        runs["torch"] = lambda rec: phased_step(
            tG, tD, topt_g, topt_d, treal, torch.randn(batch, bench.NZ),
            lambda r, f: TF.softplus(-r).mean() + TF.softplus(f).mean(),
            lambda f: TF.softplus(-f).mean(), rec)
    floor, floor_times = bench.make_floor_step(batch), []

    records = {name: [] for name in runs}
    for i in range(args.steps + 10):  # alternate, and drop 10 warm-up rounds
        for name, run in runs.items():
            run(records[name])
        t0 = time.thread_time()
        floor()
        floor_times.append(time.thread_time() - t0)
    med = {name: np.median(np.array(rec[10:]), axis=0) * 1e3 for name, rec in records.items()}
    floor_ms = np.median(floor_times[10:]) * 1e3
    print(f"CPU ms per phase (median of {args.steps} steps, {args.threads} thread(s))")
    print(f"{'phase':26s}" + "".join(f"{name:>10s}" for name in med))
    for k, phase in enumerate(PHASES):
        print(f"{phase:26s}" + "".join(f"{m[k]:10.2f}" for m in med.values()))
    print(f"{'step':26s}" + "".join(f"{m.sum():10.2f}" for m in med.values()))
    print(f"{'floor (33 matmuls alone)':26s}{floor_ms:10.2f}")

    # per Function type: wrap Function.__call__ (forward) and time each call
    per_op = collections.defaultdict(lambda: [0, 0.0])
    call = engine.Function.__call__

    def timed(self, *inputs):
        t0 = time.thread_time()
        out = call(self, *inputs)
        entry = per_op[type(self).__name__]
        entry[0] += 1
        entry[1] += time.thread_time() - t0
        return out

    step = bench.make_tinygan_step(batch)
    step()
    engine.Function.__call__ = timed
    try:
        t0 = time.thread_time()
        for _ in range(args.steps):
            step()
        total = (time.thread_time() - t0) / args.steps * 1e3
    finally:
        engine.Function.__call__ = call
    print(f"\ntinygan Functions, CPU ms per step (timing adds ~1 us per call; step {total:.2f} ms)")
    inside = 0.0
    for name, (n, t) in sorted(per_op.items(), key=lambda kv: -kv[1][1]):
        inside += t
        if t / args.steps * 1e3 >= 0.02:
            print(f"  {name:14s} {n / args.steps:5.0f} calls {t / args.steps * 1e3:8.3f} ms")
    print(f"  {'(all Functions)':14s} {'':11s} {inside / args.steps * 1e3:8.3f} ms; outside "
          f"them (optimizers, graph walk, modules): {total - inside / args.steps * 1e3:.3f} ms")

    if args.cprofile:
        import cProfile
        import pstats
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(args.steps):
            step()
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(20)


if __name__ == "__main__":
    main()
