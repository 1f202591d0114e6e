"""How the cost of a training step grows with the work: the MLP GAN and DCGAN steps at batch
16, 64, 256 and 1024, and the MLP GAN at hidden widths 128 ... 2048 (batch 64), each timed
against PyTorch and the NumPy floor in the same run (paired, alternating, medians), as
benchmarks/run.py times the batch-64 cases.

    .venv/bin/python benchmarks/scaling.py                       # ~10 minutes on 2 cores
    .venv/bin/python benchmarks/scaling.py --batches 16 64 --widths 128 512 --seconds 2

Writes results/scaling.json (every point, the machine, the thread counts) and results/scaling.png
(time per sample against batch, and time per step against width; log scales).
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--batches", type=int, nargs="+", default=[16, 64, 256, 1024])
    p.add_argument("--widths", type=int, nargs="+", default=[128, 256, 512, 1024, 2048])
    p.add_argument("--seconds", type=float, default=8.0,
                   help="time to spend on each point, all three frameworks together (default 8)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--no-torch", action="store_true")
    p.add_argument("--out", default=str(HERE / "results" / "scaling"))
    p.add_argument("--plot-only", action="store_true",
                   help="redraw the figure from OUT.json; time nothing")
    return p.parse_args(argv)


def rounds_for(case: dict, seconds: float, harness) -> int:
    """Rounds that fit `seconds`, from one warm round of every framework (3 at least)."""
    first = harness.time_case(case, warmup=1, rounds=2)
    per_round = sum(first["median_ms"].values()) / 1e3  # one round of all frameworks
    return max(3, min(200, int(seconds / max(per_round, 1e-6))))


def point(name: str, factories: dict, batch: int, seconds: float, harness) -> dict:
    case = {"name": name, "batch": batch, **factories}
    rounds = rounds_for(case, seconds, harness)
    result = harness.time_case(case, warmup=2, rounds=rounds)
    result["name"] = name
    result["per_sample_us"] = {fw: 1e3 * ms / batch for fw, ms in result["median_ms"].items()}
    print(f"{name:28s} batch {batch:5d}: " + "  ".join(
        f"{fw} {ms:8.2f} ms" for fw, ms in result["median_ms"].items()) + "  " + "  ".join(
        f"{k} {v:.2f}x" for k, v in result["ratio"].items()), flush=True)
    return result


def draw(results: dict, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter

    from tinygan.viz import save_figure

    styles = {"tinygan": ("C0", "o", "-"), "torch": ("C3", "s", "--"),
              "floor": ("0.4", "^", ":")}
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    ax = axes[0]
    for name, marker_fill in (("MLP GAN step", "full"), ("DCGAN-MNIST step", "none")):
        rows = [r for r in results["batch"] if r["name"] == name]
        for fw, (colour, marker, line) in styles.items():
            pts = [(r["batch"], r["per_sample_us"][fw]) for r in rows if fw in r["per_sample_us"]]
            if pts:
                xs, ys = zip(*pts)
                ax.plot(xs, ys, line, color=colour, marker=marker, fillstyle=marker_fill,
                        label=f"{name.replace(' step', '')}: {fw}")
    ax.set(xscale="log", yscale="log", xlabel="batch size (samples per step)",
           ylabel="time per sample (µs)", title="cost per sample against batch size")
    batches = sorted({r["batch"] for r in results["batch"]})
    ax.set_xticks(batches, [str(b) for b in batches])
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.legend(fontsize=7)
    ax = axes[1]
    rows = results["width"]
    for fw, (colour, marker, line) in styles.items():
        pts = [(r["width"], r["median_ms"][fw]) for r in rows if fw in r["median_ms"]]
        if pts:
            xs, ys = zip(*pts)
            ax.plot(xs, ys, line, color=colour, marker=marker, label=fw)
    ax.set(xscale="log", yscale="log", xlabel="hidden width of G and D",
           ylabel="time per step (ms)", title="MLP GAN step against width (batch 64)")
    ax.set_xticks([r["width"] for r in rows], [str(r["width"]) for r in rows])
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.legend(fontsize=8)
    fig.suptitle(f"{results['machine'].get('processor', '?')}, {results['threads']['requested']} thread(s) each; "
                 "medians of paired rounds", fontsize=9)
    fig.tight_layout()
    save_figure(fig, path.name, folder=path.parent, dpi=110)


def main(argv=None) -> int:
    args = parse_args(argv)
    sys.path.insert(0, str(HERE))
    sys.path.insert(0, str(HERE.parent))
    if args.plot_only:
        out = Path(args.out)
        draw(json.loads(out.with_suffix(".json").read_text()), out.with_suffix(".png"))
        return 0
    import harness  # noqa: E402  (NumPy loads after the thread variables are set)

    os.environ.update(harness.thread_env(args.threads))
    threads = harness.set_threads(args.threads, torch_too=not args.no_torch)
    import bench_dcgan
    import bench_mlp_gan as mlp

    use_torch = not args.no_torch and harness.torch_available()
    if os.environ.get("TINYGAN_KEEP_FREED_MEMORY", "1") != "0":
        from tinygan.backend import keep_freed_memory
        keep_freed_memory()  # as bench_dcgan's tinygan step does, for every framework alike

    def frameworks(tinygan, torch, floor):
        return {"tinygan": tinygan, "torch": torch if use_torch else None, "floor": floor}

    results = {"date": datetime.date.today().isoformat(), "threads": threads,
               "machine": harness.machine_info(threads), "batch": [], "width": []}
    start = time.perf_counter()
    for batch in args.batches:
        results["batch"].append(point("MLP GAN step", frameworks(
            mlp.make_tinygan_step, mlp.make_torch_step, mlp.make_floor_step), batch,
            args.seconds, harness))
        dc = {c["name"]: c for c in bench_dcgan.CASES}["DCGAN-MNIST step"]
        results["batch"].append(point("DCGAN-MNIST step", frameworks(
            dc["tinygan"], dc["torch"], dc["floor"]), batch, args.seconds, harness))
    for width in args.widths:
        row = point(f"MLP GAN step, width {width}", frameworks(
            lambda b, w=width: mlp.make_tinygan_step(b, w),
            lambda b, w=width: mlp.make_torch_step(b, w),
            lambda b, w=width: mlp.make_floor_step(b, w)), 64, args.seconds, harness)
        row["width"] = width
        results["width"].append(row)
    results["seconds"] = time.perf_counter() - start
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    from tinygan.io import write_atomically
    write_atomically(out.with_suffix(".json"), json.dumps(results, indent=1).encode())
    draw(results, out.with_suffix(".png"))
    print(f"wrote {out.with_suffix('.json')} and {out.with_suffix('.png')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
