"""Reproduce the 1D toy's targets over 5 seeds (issue 5): with the default settings, the final
Jensen-Shannon divergence between the data and generator histograms (same bins) must be below
0.05 nats for every seed, and the mean discriminator output on real and on fake samples within
0.5 +- 0.1. For contrast it also runs the "plain" settings (k = 1, constant learning rate).

    python benchmarks/reproduce_toy1d.py                      # prints the tables
    python benchmarks/reproduce_toy1d.py --out benchmarks/results/toy1d.md
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tinygan import experiments  # noqa: E402

SPEC = experiments.get("toy1d")
toy1d = SPEC.module

JS_TARGET, D_TOLERANCE = 0.05, 0.1


def table(config: toy1d.Toy1DConfig, seeds) -> tuple[list[str], bool]:
    rows = ["| seed | final JS (nats) | mean D(x) | mean D(G(z)) | G mean | G std "
            "| worst JS, 2nd half | CPU s | wall s | pass |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---:|"]
    all_pass = True
    for seed in seeds:
        start, cpu = time.perf_counter(), time.process_time()
        result = toy1d.run(config.replace(seed=seed))
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        m = result.final
        worst = max(s.measurement.js for s in result.snapshots
                    if s.iteration >= config.steps // 2)
        ok = (m.js < JS_TARGET and abs(m.d_real - 0.5) <= D_TOLERANCE
              and abs(m.d_fake - 0.5) <= D_TOLERANCE)
        all_pass &= ok
        rows.append(f"| {seed} | {m.js:.4f} | {m.d_real:.3f} | {m.d_fake:.3f} | {m.g_mean:.3f} | "
                    f"{m.g_std:.3f} | {worst:.4f} | {cpu:.1f} | {wall:.1f} | "
                    f"{'yes' if ok else 'NO'} |")
        print(rows[-1], flush=True)
    return rows, all_pass


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--no-plain", action="store_true", help="skip the plain-settings table")
    parser.add_argument("--out", type=Path, default=None, help="also write the tables here")
    args = parser.parse_args(argv)
    seeds = range(args.seeds)
    default = SPEC.make_config()
    c = default
    lines = ["# 1D toy GAN (Goodfellow et al. 2014, Figure 1): 5-seed check", "",
             f"Data N({c.data_mean}, {c.data_std}^2); z ~ U({c.noise_low}, {c.noise_high}); "
             f"JS between histograms on {c.bins} bins over {list(c.x_range)} plus two overflow "
             f"bins; means of D over the data density and the noise quantiles (no sampling).", "",
             f"## Default settings: k = {c.d_steps}, m = {c.batch_size}, {c.steps} "
             f"iterations, Adam lr G {c.lr_g} / D {c.lr_d}, betas {tuple(c.betas)}, "
             f"linear lr decay to {c.lr_final_frac:g}x: {'on' if c.lr_decay else 'off'}, "
             f"G activation {c.g_act}, D with minibatch std: {c.minibatch_std}, D input "
             f"standardized: {c.standardize}", ""]
    print(lines[-2])
    rows, ok = table(default, seeds)
    lines += rows + ["", f"Targets (JS < {JS_TARGET} and |mean D - 0.5| <= {D_TOLERANCE} for every "
                         f"seed): {'MET' if ok else 'NOT MET'}", ""]
    if not args.no_plain:
        plain = default.replace(d_steps=1, lr_decay=False, minibatch_std=False,
                                standardize=False)
        lines += ["## Plain settings for contrast: k = 1, constant learning rate, per-sample D "
                  "on raw x (no minibatch std, no input standardization); all else equal", ""]
        print(lines[-2])
        lines += table(plain, seeds)[0] + [""]
    lines += ["'worst JS, 2nd half' is the largest JS at any snapshot (every "
              f"{c.snapshot_every} iterations) in the second half of training.",
              f"Machine: {platform.machine()}, {platform.system()}, Python "
              f"{platform.python_version()}, {os.cpu_count()} CPUs (shared with other jobs while "
              "this ran, so wall time exceeds CPU time); times include the per-snapshot "
              "measurements."]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
