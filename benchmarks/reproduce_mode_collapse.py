"""Reproduce the mode-collapse table of VEEGAN (Srivastava et al. 2017) and PacGAN (Lin et al.
2018) on the 2D ring of 8 and grid of 25 Gaussians, for vanilla GAN and every remedy in
tinygan.gan.remedies: 2,500 samples per run, a sample is high quality within 3 sigma of its
nearest mean, a mode is captured when it holds one high-quality sample, reverse KL of the
histogram over modes against uniform; mean +- standard error over seeds.

    .venv/bin/python benchmarks/reproduce_mode_collapse.py                  # short, all methods
    .venv/bin/python benchmarks/reproduce_mode_collapse.py --seeds 3 --methods vanilla packing
    .venv/bin/python benchmarks/reproduce_mode_collapse.py --protocol long --methods packing \\
        --datasets ring grid --seeds 10 --jobs 2 --resume

Results go to benchmarks/results/mode_collapse.json (every run, kept per protocol, written after
each run so a long job can be resumed with --resume) and mode_collapse.md (the table). Each run
is single-threaded (BLAS threads fixed to 1 before NumPy loads): on a shared 2-core machine two
threads per run cost more than they give; use --jobs to run seeds side by side instead.
"""
from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # the checkout's tinygan, even when not installed

from tinygan import experiments  # noqa: E402
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
                        choices=list(toy2d.METHODS), metavar="METHOD",
                        help=f"any of {', '.join(toy2d.METHODS)} (default all)")
    parser.add_argument("--datasets", nargs="+", default=list(toy2d.DATASETS),
                        choices=list(toy2d.DATASETS))
    parser.add_argument("--steps", type=int, help="iterations per run (overrides the protocol)")
    parser.add_argument("--set", nargs="+", default=[], metavar="KEY=VALUE",
                        help="other Toy2DConfig fields, e.g. --set d_steps=2 hidden=64")
    parser.add_argument("--jobs", type=int, default=1, help="runs side by side (processes)")
    parser.add_argument("--resume", action="store_true",
                        help="keep runs already in the JSON for this protocol and skip them")
    parser.add_argument("--note", help="a sentence stored with this protocol's table")
    parser.add_argument("--merge", nargs="+", metavar="JSON", default=[],
                        help="add the runs of other result files (e.g. seeds run elsewhere with "
                             "--out) to this one, then rewrite the table; runs nothing")
    parser.add_argument("--out", default=str(RESULTS / "mode_collapse"),
                        help="path prefix of the .json and .md (default "
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
            **p.get("per_method", {}).get(method, {}), **cli}


def run_one(job) -> dict:
    """One (method, dataset, seed) run; returns its JSON summary."""
    method, dataset, seed, extra = job
    spec = experiments.get(dataset)  # the registry's "ring" or "grid"
    return spec.module.run(spec.make_config(extra, method=method, seed=seed)).summary()


# ---------------------------------------------------------------- the table


def _pm(pair, digits=1):
    mean, se = pair
    if not math.isfinite(mean):
        return "inf"
    return f"{mean:.{digits}f} ± {se:.{digits}f}"


def markdown(data: dict) -> str:
    lines = ["# Mode collapse on the 2D ring and grid", "",
             "Written by `benchmarks/reproduce_mode_collapse.py`; every run is in "
             "`mode_collapse.json`.", "",
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


def machine() -> str:
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = ""
    if hasattr(os, "getloadavg"):
        load = f", load average {os.getloadavg()[0]:.1f} at start"
    return f"{platform.machine()} {platform.system()}, {cpus} CPUs{load}, 1 BLAS thread per run"


def load(path: Path) -> dict:
    if path.exists():
        return json.loads(path.read_text())
    return {"protocols": {}}


def save(section: dict, protocol: str, prefix: Path) -> dict:
    """Write this protocol's section into the JSON (re-read under a lock, so two jobs running
    different protocols side by side do not overwrite each other) and redo the markdown."""
    import fcntl

    prefix.parent.mkdir(parents=True, exist_ok=True)
    with open(Path(tempfile.gettempdir()) / f"tinygan-{prefix.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        data = load(prefix.with_suffix(".json"))
        data["protocols"][protocol] = section
        for suffix, text in ((".json", json.dumps(data, indent=1)), (".md", markdown(data))):
            path = prefix.with_suffix(suffix)
            tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
            tmp.write_text(text)
            os.replace(tmp, path)
    return data


def merge(paths, prefix: Path) -> None:
    """Fold the runs of other result files into prefix.json, protocol by protocol (a run already
    there for the same method, dataset and seed is kept)."""
    for path in paths:
        other = load(Path(path))
        for protocol, theirs in other["protocols"].items():
            mine = load(prefix.with_suffix(".json"))["protocols"].get(protocol)
            if mine is None:
                mine = {**theirs, "runs": []}
            elif mine.get("overrides") != theirs.get("overrides"):
                raise SystemExit(f"{path}: protocol {protocol!r} was run with settings "
                                 f"{theirs.get('overrides')}, not {mine.get('overrides')}")
            keys = {(r["method"], r["dataset"], r["seed"]) for r in mine["runs"]}
            added = [r for r in theirs["runs"] if (r["method"], r["dataset"], r["seed"]) not in keys]
            mine["runs"] = mine["runs"] + added
            save(mine, protocol, prefix)
            print(f"{path}: {len(added)} runs of protocol {protocol!r} added")


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.merge:
        merge(args.merge, Path(args.out))
        return 0
    if args.seeds < 1 or args.jobs < 1:
        raise SystemExit("--seeds and --jobs must be at least 1")
    cli = cli_overrides(args)
    extra = {**PROTOCOLS[args.protocol]["config"], **cli}
    prefix = Path(args.out)
    data = load(prefix.with_suffix(".json"))
    description = PROTOCOLS[args.protocol]["description"]
    if cli:
        description += f" (overridden: {cli})"
    section = data["protocols"].get(args.protocol)
    if section is None or not args.resume or section.get("overrides") != extra:
        section = {"description": description, "overrides": extra, "runs": []}
    section["machine"] = machine()
    if args.note:
        section["note"] = args.note
    section["started"] = datetime.datetime.now().isoformat(timespec="seconds")
    done = {(r["method"], r["dataset"], r["seed"]) for r in section["runs"]}
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    # seed-major order: a stopped job still leaves every method with some seeds
    jobs = [(m, d, s, settings(args.protocol, m, d, cli)) for s in seeds for d in args.datasets
            for m in args.methods if (m, d, s) not in done]
    print(f"{len(jobs)} runs ({len(done)} already done) with {args.jobs} job(s): {description}",
          flush=True)
    start = time.perf_counter()

    def record(summary):
        section["runs"].append(summary)
        save(section, args.protocol, prefix)
        print(f"[{time.perf_counter() - start:7.0f}s] {summary['dataset']:4s} "
              f"{summary['method']:24s} seed {summary['seed']}: "
              f"{summary['modes_captured']}/{summary['num_modes']} modes, "
              f"{100 * summary['high_quality_fraction']:.1f} % HQ, "
              f"KL {summary['reverse_kl']:.3f}, {summary['wall_time_s']:.0f} s", flush=True)

    if args.jobs == 1:
        for job in jobs:
            record(run_one(job))
    else:
        import multiprocessing as mp
        with mp.get_context("spawn").Pool(args.jobs) as pool:
            for summary in pool.imap_unordered(run_one, jobs):
                record(summary)
    print(markdown(save(section, args.protocol, prefix)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
