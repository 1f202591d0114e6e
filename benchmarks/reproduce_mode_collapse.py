"""Reproduce the mode-collapse table of VEEGAN (Srivastava et al. 2017) and PacGAN (Lin et al.
2018) on the 2D ring of 8 and grid of 25 Gaussians, for vanilla GAN and every remedy in
tinygan.gan.remedies: 2,500 samples per run, a sample is high quality within 3 sigma of its
nearest mean, a mode is captured when it holds one high-quality sample, reverse KL of the
histogram over modes against uniform; mean +- standard error over seeds.

    .venv/bin/python benchmarks/reproduce_mode_collapse.py                  # short, all methods
    .venv/bin/python benchmarks/reproduce_mode_collapse.py --seeds 3 --methods vanilla packing
    .venv/bin/python benchmarks/reproduce_mode_collapse.py --protocol long --methods packing \\
        --datasets ring grid --seeds 10 --workers 2
    .venv/bin/python benchmarks/reproduce_mode_collapse.py --scheduler tcp://10.0.0.5:8786

The runs go through tinygan.sweep: a process pool with one worker per core (or a Dask cluster
with --scheduler), one BLAS thread per run (on a shared 2-core machine two threads per run cost
more than they give; runs side by side use the cores instead). Every finished run is a row of
benchmarks/results/mode_collapse_<protocol>.json, written as it finishes, so a stopped
reproduction started again runs only what is missing; mode_collapse.md is the table of both
protocols.
"""
from __future__ import annotations

import argparse
import datetime
import json
import math
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # the checkout's tinygan, even when not installed

from tinygan import sweep  # noqa: E402
from tinygan.experiments import toy2d  # noqa: E402

RESULTS = HERE / "results"

#: protocol name -> what it is, the Toy2DConfig fields every run gets, and per-method extras.
#: ("short" and "long" are run lengths; they have nothing to do with the lessons' fast mode.)
PROTOCOLS = {
    "short": {
        "description": "Short: 3,000 iterations of Algorithm 1 (2 D steps per G step), batch 256, "
                       "3x128 ReLU/LeakyReLU MLPs, Adam 1e-3 decayed linearly to 1e-5, EMA "
                       "generator evaluated; unrolled GAN with K = 3 unrolled Adam steps",
        "config": dict(steps=3000, g_depth=3, d_depth=3, d_steps=2, lr_final_frac=0.01,
                       snapshot_every=0),
        "per_method": {"unrolled": dict(unroll_steps=3)},
    },
    "long": {
        "description": "Long: as the short protocol but 20,000 iterations on the grid and 6,000 on the ring "
                       "(whose precision settles sooner), unrolled GAN with K = 5",
        "config": dict(steps=20000, g_depth=3, d_depth=3, d_steps=2, lr_final_frac=0.01,
                       snapshot_every=0),
        "per_method": {"unrolled": dict(unroll_steps=5)},
        "per_dataset": {"ring": dict(steps=6000)},
    },
    "critics": {
        "description": "Critics (lesson 10): the protocol's networks, batch and evaluation with "
                       "the critics' own recipe: 12,000 iterations of 5 critic steps per G "
                       "step, Adam 1e-3 with betas (0.5, 0.9) decayed linearly to 1e-5, the "
                       "models in the data's units (no x / 4 on the grid: a Lipschitz bound is "
                       "a statement in those units); WGAN-GP with lambda = 0.1, the value "
                       "Gulrajani et al.'s toy code uses for 2D data; SN-GAN with the hinge "
                       "loss; WGAN's clipping at c = 0.01",
        "config": dict(steps=12000, g_depth=3, d_depth=3, d_steps=5, betas=(0.5, 0.9),
                       lr_final_frac=0.01, normalize=False, snapshot_every=0),
        "per_method": {"wgan_gp": dict(gp_weight=0.1)},
    },
}

#: published numbers: (modes, high-quality %, reverse KL, source); None where not reported
PUBLISHED = {
    ("vanilla", "ring"): ("6.3 ± 0.5", None, None, "PacGAN Table 1 (GAN)"),
    ("vanilla", "grid"): ("17.3 ± 0.8", None, None, "PacGAN Table 1 (GAN)"),
    ("packing", "ring"): ("7.9 ± 0.1", "≈ 91–96", None, "PacGAN Table 1 (PacGAN2)"),
    ("packing", "grid"): ("23.8 ± 0.7", "≈ 91–96", None, "PacGAN Table 1 (PacGAN2)"),
    ("unrolled", "ring"): ("7.6", None, None, "VEEGAN Table 1 (Unrolled GAN)"),
    ("unrolled", "grid"): ("23.6", None, None, "VEEGAN Table 1 (Unrolled GAN)"),
    ("veegan", "ring"): ("8", None, None, "VEEGAN Table 1 (VEEGAN itself)"),
    ("veegan", "grid"): ("24.6", None, None, "VEEGAN Table 1 (VEEGAN itself)"),
}

CITATIONS = (
    "Published: Lin, Khetan, Fanti & Oh, *PacGAN: The power of two samples in generative "
    "adversarial networks*, NeurIPS 2018, Table 1 (GAN and PacGAN2, mean ± s.e.; PacGAN2 "
    "high-quality fractions ≈ 91–96 %); Srivastava, Valkov, Russell, Gutmann & Sutton, "
    "*VEEGAN: Reducing mode collapse in GANs using implicit variational learning*, NeurIPS "
    "2017, Table 1 (Unrolled GAN of Metz et al. 2017 and VEEGAN). Their networks, budgets and "
    "training lengths differ from ours; they are a reference level, not a like-for-like rerun.")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--protocol", choices=sorted(PROTOCOLS), default="short",
                        help="preset of the run length and recipe (default short)")
    parser.add_argument("--seeds", type=int, default=10, help="seeds 0..N-1 (default 10)")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--methods", nargs="+", default=list(toy2d.METHODS),
                        choices=list(toy2d.METHODS + toy2d.CRITICS), metavar="METHOD",
                        help=f"any of {', '.join(toy2d.METHODS + toy2d.CRITICS)} (default "
                             "the remedies; the critics of lesson 10 on request)")
    parser.add_argument("--datasets", nargs="+", default=list(toy2d.DATASETS),
                        choices=list(toy2d.DATASETS))
    parser.add_argument("--steps", type=int, help="iterations per run (overrides the protocol)")
    parser.add_argument("--set", nargs="+", default=[], metavar="KEY=VALUE",
                        help="other Toy2DConfig fields, e.g. --set d_steps=2 hidden=64")
    parser.add_argument("--workers", "--jobs", type=int, default=None,
                        help="runs side by side in a process pool (default: one per core)")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="run on this Dask scheduler instead (the [cluster] extra)")
    parser.add_argument("--table-only", action="store_true",
                        help="rewrite the markdown table from the results; runs nothing")
    parser.add_argument("--note", help="a sentence stored with this protocol's table")
    parser.add_argument("--out", default=str(RESULTS / "mode_collapse"),
                        help="path prefix of the results: PREFIX_<protocol>.json holds every "
                             "run of a protocol, PREFIX.md the table (default "
                             "benchmarks/results/mode_collapse)")
    return parser.parse_args(argv)


def _value(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def cli_overrides(args) -> dict:
    """Toy2DConfig fields given on the command line (--steps, --set): they win over the
    protocol's settings, for every method and dataset."""
    out = {}
    if args.steps is not None:
        out["steps"] = args.steps
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep or key not in toy2d.Toy2DConfig.__dataclass_fields__:
            raise SystemExit(f"--set takes KEY=VALUE with KEY a Toy2DConfig field, got {item!r}")
        out[key] = _value(value)
    return out


def settings(protocol: str, method: str, dataset: str, cli: dict) -> dict:
    """The Toy2DConfig fields of one run: protocol, then per dataset, per method, command line."""
    p = PROTOCOLS[protocol]
    return {**p["config"], **p.get("per_dataset", {}).get(dataset, {}),
            **p.get("per_method", {}).get(method, {}), **cli, "method": method}


def jobs(protocol: str, methods, datasets, seeds, cli: dict) -> list:
    """The sweep's jobs, seed-major (a stopped sweep still leaves every method with some
    seeds); the registry's "ring" and "grid" are the datasets."""
    return [sweep.Job.make(d, seed=s, **settings(protocol, m, d, cli))
            for s in seeds for d in datasets for m in methods]


# ---------------------------------------------------------------- the table


def _pm(pair, digits=1):
    mean, se = pair
    if not math.isfinite(mean):
        return "inf"
    return f"{mean:.{digits}f} ± {se:.{digits}f}"


def markdown(data: dict) -> str:
    lines = ["# Mode collapse on the 2D ring and grid", "",
             "Written by `benchmarks/reproduce_mode_collapse.py`; every run is in "
             "`mode_collapse_<protocol>.json`.", "",
             "Protocol (VEEGAN/PacGAN): ring of 8 Gaussians (σ = 0.01, radius 1) and grid of "
             "25 (σ = 0.05, means {−4, −2, 0, 2, 4}²); 2,500 generated samples per run; a sample "
             "is *high quality* within 3σ of its nearest mean; a mode is *captured* when at "
             "least one high-quality sample is nearest to it; reverse KL = KL(histogram of "
             "high-quality samples over modes ‖ uniform), in nats. Mean ± standard error over "
             "seeds. *Dropped/scattered*: seeds that missed a mode or had < 50 % high-quality samples. "
             "Every method evaluates an EMA of the generator's weights (decay 0.999).",
             ""]
    for name, section in data.get("protocols", {}).items():
        rows = toy2d.aggregate(section["runs"])
        if not rows:
            continue
        lines += [f"## Protocol `{name}`", "", section["description"] + ".", "",
                  f"Machine: {section.get('machine', '?')}. Settings: `{section['overrides']}`.",
                  ""]
        if section.get("note"):
            lines += [section["note"], ""]
        lines += ["| dataset | method | seeds | iterations | modes | high quality % | reverse KL | "
                  "all modes | dropped/scattered | train s (wall) | train s (CPU) | "
                  "published modes (HQ %) |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for row in rows:
            pub = PUBLISHED.get((row["method"], row["dataset"]))
            pub_text = "" if pub is None else pub[0] + (f" ({pub[1]} %)" if pub[1] else "") + \
                f" — {pub[3]}"
            lines.append(
                f"| {row['dataset']} | {row['method']} | {row['seeds']} | "
                f"{row['iterations']:,} | "
                f"{_pm(row['modes'])} / {row['num_modes']} | {_pm(row['high_quality'])} | "
                f"{_pm(row['reverse_kl'], 2)} | {row['all_modes']}/{row['seeds']} | "
                f"{row['dropped_or_scattered']}/{row['seeds']} | "
                f"{row['wall_time_s'][0]:.0f} | {row['cpu_time_s'][0]:.0f} | {pub_text} |")
        seeds = sorted({row["seeds"] for row in rows})
        if len(seeds) > 1:
            lines += ["", "Rows have different numbers of seeds (see the seeds column): the "
                      "expensive methods were run on fewer seeds."]
        lines.append("")
    lines += ["Train s: seconds of training per run (evaluation excluded), wall clock on a "
              "shared machine, and CPU time of the run's single thread (what an idle core "
              "would take).", "",
              "VEEGAN reports 8 / 24.6 modes (ring / grid) for itself, not a method here.", "",
              CITATIONS, ""]
    return "\n".join(lines)


# ---------------------------------------------------------------- main


def sections(prefix: Path) -> dict:
    """protocol -> its section (description, settings, machine, runs) from PREFIX_<protocol>.json."""
    out = {}
    for name in PROTOCOLS:
        path = Path(f"{prefix}_{name}.json")
        if path.exists():
            data = json.loads(path.read_text())
            out[name] = {**{k: v for k, v in data.items() if k != "rows"},
                         "runs": [toy2d.sweep_summary(r) for r in data["rows"]]}
    return out


def write_table(prefix: Path) -> str:
    text = markdown({"protocols": sections(prefix)})
    from tinygan.io import write_atomically
    write_atomically(prefix.with_suffix(".md"), text.encode())
    return text


def main(argv=None) -> int:
    args = parse_args(argv)
    prefix = Path(args.out)
    if args.table_only:
        print(write_table(prefix))
        return 0
    if args.seeds < 1 or (args.workers is not None and args.workers < 1):
        raise SystemExit("--seeds and --workers must be at least 1")
    cli = cli_overrides(args)
    description = PROTOCOLS[args.protocol]["description"]
    if cli:
        description += f" (overridden: {cli})"
    about = {"description": description, "overrides": {**PROTOCOLS[args.protocol]["config"],
                                                      **cli},
             "started": datetime.datetime.now().isoformat(timespec="seconds"),
             "machine": sweep.machine() + ", 1 BLAS thread per run"}
    out = Path(f"{prefix}_{args.protocol}")
    if out.with_suffix(".json").exists():
        old = json.loads(out.with_suffix(".json").read_text())
        if old.get("overrides") != about["overrides"]:  # one table row must be one recipe
            raise SystemExit(f"{out}.json holds runs with the settings {old.get('overrides')}, "
                             f"not {about['overrides']}: give another --out, or move it away")
        about["note"] = old.get("note")  # a note given once stays with the protocol
    if args.note:
        about["note"] = args.note
    todo = jobs(args.protocol, args.methods, args.datasets,
                range(args.first_seed, args.first_seed + args.seeds), cli)
    executor = sweep.dask_executor(args.scheduler) if args.scheduler else None
    start = time.perf_counter()
    print(f"{len(todo)} runs: {description}", flush=True)

    def progress(row, done, total):
        r = toy2d.sweep_summary(row)
        write_table(prefix)
        print(f"[{time.perf_counter() - start:7.0f}s {done}/{total}] {r['dataset']:4s} "
              f"{r['method']:24s} seed {r['seed']}: {r['modes_captured']}/{r['num_modes']} "
              f"modes, {100 * r['high_quality_fraction']:.1f} % HQ, "
              f"KL {r['reverse_kl']:.3f}, {r['cpu_time_s']:.0f} CPU s", flush=True)

    sweep.run(todo, out, executor=executor, workers=args.workers,
              table=lambda rows: markdown({"protocols": {args.protocol: {
                  **about, "runs": [toy2d.sweep_summary(r) for r in rows]}}}),
              about=about, progress=progress)
    print(write_table(prefix))
    return 0


if __name__ == "__main__":
    sys.exit(main())
