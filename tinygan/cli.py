"""The `tinygan` command: `train` (any experiment of the registry into a run folder, with
resume), `sweep` (a grid of experiments x settings x seeds on a process pool or a Dask cluster),
`sample` (a picture or the raw samples from a checkpoint), `figures` (rerun the lessons),
`book` (the lessons, executed, and the API reference as an HTML book),
`classifier` (retrain or check the evaluation classifier) and `demo`.

`tinygan train NAME`'s hyperparameter options and their --help text are generated from the
experiment's config dataclass, so no default is written twice. `tinygan demo` trains the 1D
toy GAN of Goodfellow et al. 2014 (Figure 1) end to end on the CPU, writes the four-panel figure
and an animation of the run, and ends with the final Jensen-Shannon divergence between the data
and the generator."""
from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import time
import typing
from pathlib import Path


@contextlib.contextmanager
def _figures_dir(out):
    """Point tinygan.viz at `out` (when given) for the duration of the block."""
    if out is None:
        yield
        return
    previous = os.environ.get("TINYGAN_FIGURES_DIR")
    os.environ["TINYGAN_FIGURES_DIR"] = str(Path(out).resolve())
    try:
        yield
    finally:
        if previous is None:
            del os.environ["TINYGAN_FIGURES_DIR"]
        else:
            os.environ["TINYGAN_FIGURES_DIR"] = previous


def _demo(args) -> int:
    from tinygan import viz
    from tinygan.experiments import toy1d
    from tinygan.viz import toy1d as draw1d

    viz.files_only()  # the demo never opens a window
    config = toy1d.Toy1DConfig(seed=args.seed)
    if args.iterations is not None:
        config = config.replace(steps=args.iterations)
    print(f"Training a 1D GAN (Goodfellow et al. 2014, Algorithm 1): data N({config.data_mean}, "
          f"{config.data_std}^2), z ~ U({config.noise_low}, {config.noise_high}), "
          f"k = {config.d_steps}, m = {config.batch_size}, {config.steps} iterations, "
          f"seed {config.seed}. Lesson 3 (lessons/03_toy1d.ipynb) explains every step.")
    start = time.perf_counter()

    def progress(result):
        s = result.snapshots[-1]
        if s.iteration % (config.steps // 5 or 1) == 0:
            m = s.measurement
            print(f"  iteration {s.iteration:5d}: JS = {m.js:.4f} nats, mean D(x) = "
                  f"{m.d_real:.3f}, mean D(G(z)) = {m.d_fake:.3f}", flush=True)

    result, panels = toy1d.figure1_panels(config, progress=progress)
    trained = time.perf_counter()
    with _figures_dir(args.out):
        fig = draw1d.draw_figure1(result, panels)
        figure = viz.save_figure(fig, "03_toy1d_figure1.png")
        viz.close(fig)
        anim = draw1d.animate(config, result.snapshots, every=2)
        gif = viz.save_animation(anim, "03_toy1d_training.gif", fps=8, dpi=70)
        viz.close()
    final = result.final
    print(f"Figure 1 (four panels, JS and C(G) curves): {figure}")
    print(f"Animation of the run:                      {gif}")
    print(f"Took {time.perf_counter() - start:.1f} s (training {trained - start:.1f} s).")
    print(f"Mean D(x) = {final.d_real:.3f}, mean D(G(z)) = {final.d_fake:.3f}; "
          f"generator mean {final.g_mean:.3f}, std {final.g_std:.3f} "
          f"(data {config.data_mean}, {config.data_std})")
    print(f"Final JS(p_data || p_g) = {final.js:.4f} nats")
    return 0


# ---------------------------------------------------------------- train, sample, figures


class _Parser(argparse.ArgumentParser):
    """argparse that lists the valid options when given one it does not know."""

    def error(self, message):
        if "unrecognized arguments" in message or "invalid choice" in message:
            options = sorted({o for a in self._actions for o in a.option_strings
                              if o.startswith("--")})
            if options:
                message += "\nvalid options: " + " ".join(options)
        super().error(message)


def _add_run_options(group, dest_prefix: str = "") -> None:
    """The options of a run that cannot change its result (so --resume accepts them too)."""
    group.add_argument("--quiet", dest=f"{dest_prefix}quiet", action="store_true",
                       help="no progress bar, only warnings and errors")
    group.add_argument("--checkpoint-every", dest=f"{dest_prefix}checkpoint_every", type=int,
                       default=500, metavar="N",
                       help="save checkpoint.npz every N steps (default 500)")
    group.add_argument("--no-animation", dest=f"{dest_prefix}no_animation", action="store_true",
                       help="skip training.gif (faster)")
    group.add_argument("--stop-after", dest=f"{dest_prefix}stop_after", type=int, default=None,
                       metavar="N",
                       help="act as if Ctrl-C were pressed after N steps (to try --resume)")


def _option_type(hint):
    """(argparse type, nargs, bool?) for a config field's type hint."""
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    optional = type(None) in typing.get_args(hint)
    base = args[0] if optional and len(args) == 1 else hint
    if typing.get_origin(base) is tuple:
        return typing.get_args(base)[0], len(typing.get_args(base)), False
    if base is bool:
        return None, None, True
    if optional:
        from tinygan.experiments.base import NONE

        def parse(text, kind=base):
            return None if text.lower() == NONE else kind(text)
        parse.__name__ = f"{base.__name__} or {NONE}"
        return parse, None, False
    return base, None, False


def _add_config_options(group, config_cls) -> None:
    for name, hint, default, text, choices in config_cls.options():
        kind, nargs, flag = _option_type(hint)
        shown = "none" if default is None else \
            " ".join(map(str, default)) if isinstance(default, tuple) else repr(default)
        flag_name = f"--{name.replace('_', '-')}"
        # default SUPPRESS: an option not given is absent, so `--ema-decay none` (None) is not
        # mistaken for "not given"; the defaults themselves are the config's
        if flag:
            group.add_argument(flag_name, dest=name, action=argparse.BooleanOptionalAction,
                               default=argparse.SUPPRESS, help=f"{text} (default {shown})")
        else:
            group.add_argument(flag_name, dest=name, type=kind, nargs=nargs,
                               default=argparse.SUPPRESS, choices=choices,
                               help=f"{text} (default {shown})")


def _add_train_parser(sub) -> None:
    from tinygan import experiments

    train = sub.add_parser(
        "train", help="train an experiment into a run folder (see `tinygan train -h`)",
        description="Train one experiment. Writes config.json, metrics.json, history.csv, "
                    "losses.png, samples.png, training.gif (toy experiments) and "
                    "checkpoint.npz into --out. Ctrl-C saves a checkpoint; --resume continues.")
    train.add_argument("--resume", metavar="DIR", default=None,
                       help="continue the interrupted run in DIR (no experiment needed); the "
                            "run options below may be given with it")
    _add_run_options(train.add_argument_group("with --resume"), "resume_")
    kinds = train.add_subparsers(dest="experiment", metavar="EXPERIMENT",
                                 parser_class=_Parser)
    train.kinds = kinds  # main() reports an unknown option with the experiment's own options
    for name, spec in experiments.REGISTRY.items():
        p = kinds.add_parser(name, help=spec.summary, description=spec.summary)
        group = p.add_argument_group("run")
        group.add_argument("--out", metavar="DIR", default=None,
                           help=f"run folder (default: runs/{name})")
        if hasattr(spec.module, "steps_for_epochs"):
            group.add_argument("--epochs", type=float, default=None,
                               help="passes over the data instead of --steps")
        group.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
        _add_run_options(group)
        _add_config_options(p.add_argument_group("hyperparameters"), spec.config)


def _train(args, parser) -> int:
    from tinygan import experiments, runs

    if args.resume is not None:
        if args.experiment is not None:
            parser.error("--resume DIR continues the run in DIR: give no experiment with it")
        prefix = "resume_"
        kwargs = {"resume": args.resume}
    else:
        if args.experiment is None:
            parser.error("train needs an EXPERIMENT (one of: "
                         + ", ".join(experiments.REGISTRY) + ") or --resume DIR")
        spec = experiments.get(args.experiment)
        given = {name: getattr(args, name) for name, *_ in spec.config.options()
                 if hasattr(args, name)}
        given = {k: tuple(v) if isinstance(v, list) else v for k, v in given.items()}
        if getattr(args, "epochs", None) is not None:
            if "steps" in given:
                parser.error("give --steps or --epochs, not both")
            try:
                given["steps"] = spec.module.steps_for_epochs(spec.make_config(given),
                                                              args.epochs)
            except (TypeError, ValueError) as e:
                print(f"tinygan train: {e}", file=sys.stderr)
                return 2
        prefix = ""
        kwargs = {"name": args.experiment, "config": given,
                  "out": args.out or os.path.join("runs", args.experiment),
                  "device": args.device}
    kwargs.update(quiet=getattr(args, f"{prefix}quiet"),
                  checkpoint_every=getattr(args, f"{prefix}checkpoint_every"),
                  stop_after=getattr(args, f"{prefix}stop_after"),
                  animation=not getattr(args, f"{prefix}no_animation"))
    logging.getLogger("tinygan").setLevel(logging.WARNING if kwargs["quiet"] else logging.INFO)
    try:
        result = runs.train(**kwargs)
    except runs.NonFiniteLossError as e:
        print(f"tinygan train: {e}", file=sys.stderr)
        return 3
    except (runs.RunError, ValueError, TypeError) as e:
        print(f"tinygan train: {e}", file=sys.stderr)
        return 2
    if result["status"] == "interrupted":
        print(f"Interrupted at step {result['step']}; checkpoint saved. Continue with:\n"
              f"  tinygan train --resume {result['out']}")
        return 130
    if not kwargs["quiet"]:
        shown = {k: v for k, v in result["metrics"].items()
                 if isinstance(v, (int, float, str)) and k != "data"}
        print(f"Finished {result['step']} steps; run folder {result['out']}")
        for k, v in shown.items():
            print(f"  {k}: {v:.4g}" if isinstance(v, float) else f"  {k}: {v}")
    return 0


def _sample(args) -> int:
    from tinygan import runs

    labels = None
    if args.labels is not None:
        try:
            labels = [int(v) for v in args.labels.replace(",", " ").split()]
        except ValueError:
            print(f"tinygan sample: --labels takes digits 0-9 separated by commas, got "
                  f"{args.labels!r}", file=sys.stderr)
            return 2
        if not labels or any(not 0 <= v <= 9 for v in labels):
            print(f"tinygan sample: --labels takes digits 0-9, got {args.labels!r}",
                  file=sys.stderr)
            return 2
    if args.n is not None and args.n < 1:
        print(f"tinygan sample: --n must be a positive number of samples, got {args.n}",
              file=sys.stderr)
        return 2
    try:
        path = runs.sample(args.checkpoint, args.out, n=args.n, seed=args.seed, labels=labels,
                           device=args.device)
    except (runs.RunError, ValueError) as e:
        print(f"tinygan sample: {e}", file=sys.stderr)
        return 2
    print(f"Samples: {path}")
    return 0


def _figures(args) -> int:
    """Execute the lessons (each writes its figures) in a Jupyter kernel."""
    import nbformat
    from nbclient import NotebookClient

    from tinygan.io import write_atomically

    lessons = Path(__file__).resolve().parents[1] / "lessons"
    books = sorted(lessons.glob("*.ipynb"))
    if args.only:
        books = [b for b in books if any(key in b.name for key in args.only)]
    if not books:
        print(f"tinygan figures: no lesson notebooks found in {lessons} (matching "
              f"{args.only}); `figures` runs from a source checkout", file=sys.stderr)
        return 2
    if args.fast:
        os.environ["TINYGAN_FAST"] = "1"
    else:
        os.environ.pop("TINYGAN_FAST", None)
    if args.out is not None:
        os.environ["TINYGAN_FIGURES_DIR"] = str(Path(args.out).resolve())
    from tinygan import viz
    target = viz.figures_dir()
    failed = []
    for book in books:
        start = time.perf_counter()
        print(f"{book.name} ...", flush=True)
        nb = nbformat.read(book, as_version=4)
        try:
            NotebookClient(nb, timeout=args.timeout, kernel_name="python3",
                           resources={"metadata": {"path": str(lessons)}}).execute()
        except Exception as e:  # noqa: BLE001 - report every failing lesson, then go on
            failed.append(book.name)
            print(f"  failed: {str(e).strip().splitlines()[-1] if str(e).strip() else e}",
                  file=sys.stderr)
            continue
        finally:
            if args.executed:  # a failed one too: its outputs show where it failed
                folder = Path(args.executed)
                folder.mkdir(parents=True, exist_ok=True)
                write_atomically(folder / book.name, nbformat.writes(nb).encode())
        print(f"  done in {time.perf_counter() - start:.0f} s")
    print(f"Figures in {target}")
    if failed:
        print(f"tinygan figures: {len(failed)} lesson(s) failed: {', '.join(failed)}",
              file=sys.stderr)
        return 1
    return 0


def _book(args) -> int:
    """Execute the lessons and build the HTML book (tinygan/book.py)."""
    from tinygan import book

    logging.getLogger("tinygan").setLevel(logging.INFO)
    start = time.perf_counter()
    try:
        result = book.build(fast=args.fast, out=args.out, only=args.only,
                            executed=args.executed, timeout=args.timeout)
    except book.BookError as e:
        print(f"tinygan book: {e}", file=sys.stderr)
        return 2
    hows = list(result.lessons.values())
    counts = {how: hows.count(how) for how in set(hows)}
    print(f"Lessons: {', '.join(f'{n} {how}' for how, n in sorted(counts.items()))}; "
          f"{len(result.warnings)} Sphinx warnings; {time.perf_counter() - start:.0f} s "
          f"({', '.join(f'{k} {v:.0f} s' for k, v in result.seconds.items())})")
    print(f"Book: {result.index}")
    if result.failed:
        print(f"tinygan book: {len(result.failed)} lesson(s) failed: "
              f"{', '.join(result.failed)} (their pages show the traceback)", file=sys.stderr)
        return 1
    return 0


def _setting_value(name: str, field: str, text: str):
    """One value of a --set/--grid option, parsed by the config field's type ("none" for None,
    a tuple as space-separated numbers, a flag as true/false)."""
    from tinygan import experiments

    config_cls = experiments.get(name).config
    hint = typing.get_type_hints(config_cls).get(field)
    if hint is None:
        raise ValueError(f"{name} has no setting {field!r}; valid: "
                         f"{', '.join(o[0] for o in config_cls.options())}")
    kind, nargs, flag = _option_type(hint)
    if flag:
        if text.lower() not in ("true", "false"):
            raise ValueError(f"{field} is true or false, got {text!r}")
        return text.lower() == "true"
    try:
        return tuple(kind(v) for v in text.split()) if nargs else kind(text)
    except ValueError:
        what = f"{nargs} numbers separated by spaces" if nargs else \
            {int: "an integer", float: "a number"}.get(kind, getattr(kind, "__name__", "valid"))
        raise ValueError(f"{name}: {field} must be {what}, got {text!r}") from None


def _sweep_axes(names, items, option: str, split: bool) -> dict:
    """FIELD=VALUE (or FIELD=V1,V2,... with split) items as {field: value or [values]}."""
    out = {}
    for item in items:
        field, sep, text = item.partition("=")
        field = field.replace("-", "_")
        if not sep or not field:
            raise ValueError(f"{option} takes FIELD=VALUE{',VALUE...' if split else ''}, "
                             f"got {item!r}")
        parts = text.split(",") if split else [text]
        values = [[_setting_value(n, field, t.strip()) for t in parts] for n in names]
        if any(v != values[0] for v in values):
            raise ValueError(f"{option} {item!r} means different things to {names}")
        out[field] = values[0] if split else values[0][0]
    return out


def _sweep(args) -> int:
    from tinygan import sweep

    logging.getLogger("tinygan").setLevel(logging.INFO)
    try:
        fixed = _sweep_axes(args.experiments, args.set, "--set", split=False)
        axes = _sweep_axes(args.experiments, args.grid, "--grid", split=True)
        if args.minutes is not None:
            fixed.update(seconds=60 * args.minutes, clock=args.clock, threads=args.threads)
        elif args.threads != 1:
            fixed.update(threads=args.threads)
        seeds = range(args.first_seed, args.first_seed + args.seeds)
        jobs = sweep.grid(args.experiments, seeds, fixed, **axes)
    except (ValueError, TypeError) as e:
        print(f"tinygan sweep: {e}", file=sys.stderr)
        return 2
    executor = sweep.dask_executor(args.scheduler) if args.scheduler else None

    def progress(row, done, total):
        print(f"[{done}/{total}] {row['key']}: {row['wall_time_s']:.1f} s", flush=True)

    try:
        sweep.run(jobs, args.out, executor=executor, workers=args.workers, progress=progress)
    except RuntimeError as e:
        print(f"tinygan sweep: {e}", file=sys.stderr)
        return 1
    print(Path(args.out).with_suffix(".md").read_text())
    return 0


def _classifier(args) -> int:
    """Retrain the evaluation classifier (--train) or check the committed one."""
    from tinygan.data.digits import mnist_split
    from tinygan.data.mnist import MNISTNotFoundError
    from tinygan.gan import evaluator as ev

    logging.getLogger("tinygan").setLevel(logging.INFO)
    try:
        split = mnist_split(args.data_dir)
    except MNISTNotFoundError as e:
        print(f"tinygan classifier: {e}", file=sys.stderr)
        return 2
    if args.train:
        def progress(epoch, info):
            print(f"epoch {epoch + 1}/{args.epochs}  loss {info['epoch_loss'][-1]:.4f}",
                  flush=True)
        model, info = ev.train_classifier(split, epochs=args.epochs, seed=args.seed,
                                          dropout=args.dropout, progress=progress)
        digest = ev.save_classifier(model, args.out, info)
        print(f"held-out accuracy {info['heldout_accuracy']:.4f} on "
              f"{len(split.heldout_images)} digits; wrote {args.out}")
        print(f"SHA-256 {digest} (record it as CLASSIFIER_SHA256 in {ev.__file__})")
        return 0
    model = ev.load_classifier(None if args.out == str(ev.ASSET) else args.out,
                               sha256=None if args.out == str(ev.ASSET) else False)
    print(f"held-out accuracy {ev.accuracy(model, split.heldout_images, split.heldout_labels):.4f}")
    return 0


def _add_other_parsers(sub) -> None:
    sample = sub.add_parser("sample", help="draw samples from a checkpoint: a picture (.png) "
                                           "or the raw samples (.npz)")
    sample.add_argument("checkpoint", help="checkpoint.npz of `tinygan train` (or its folder)")
    sample.add_argument("--out", default="samples.png",
                        help="samples.png (a picture, the default) or FILE.npz (raw samples: "
                             "images (N, C, H, W) float32 in [-1, 1] or points, and labels)")
    sample.add_argument("--n", type=int, default=None, help="how many samples")
    sample.add_argument("--labels", default=None,
                        help="cgan: digits to draw, e.g. 7,7,7,1,2 (default: 0-9 in turn)")
    sample.add_argument("--seed", type=int, default=1234, help="noise seed (default 1234)")
    sample.add_argument("--device", default=None, help="cpu or cuda (default: as trained)")
    figures = sub.add_parser("figures", help="regenerate the lessons' figures (runs them)")
    figures.add_argument("--fast", action="store_true",
                         help="fast mode (TINYGAN_FAST=1): quick, low-step figures")
    figures.add_argument("--out", default=None,
                         help="folder for the figures (default: figures/, or a scratch "
                              "folder with --fast)")
    figures.add_argument("--only", nargs="+", default=None, metavar="KEY",
                         help="only lessons whose file name contains KEY (e.g. 03 05)")
    figures.add_argument("--timeout", type=int, default=3600,
                         help="seconds per notebook cell (default 3600)")
    figures.add_argument("--executed", default=None, metavar="DIR",
                         help="also save each executed notebook, outputs and all, in DIR (what "
                              "the lessons printed: the numbers their text quotes)")
    bk = sub.add_parser("book", help="execute the lessons and build them, with the API "
                                     "reference, as a static HTML book (needs the [book] extra)",
                        description="Execute every lesson (full mode unless --fast) and build "
                                    "the HTML book into OUT/html (open OUT/html/index.html). "
                                    "Executed lessons are kept in OUT/executed/MODE and reused "
                                    "while their code and the library are unchanged.")
    bk.add_argument("--fast", action="store_true",
                    help="fast mode (TINYGAN_FAST=1): short runs, in minutes")
    bk.add_argument("--out", default=None, metavar="DIR",
                    help="build folder (default book/_build; the book is DIR/html)")
    bk.add_argument("--only", nargs="+", default=None, metavar="KEY",
                    help="only lessons whose file name contains KEY (e.g. 03 05)")
    bk.add_argument("--executed", default=None, metavar="DIR",
                    help="take executed notebooks from DIR (e.g. `tinygan figures --executed "
                         "DIR`) where their code is the lesson's and their mode the one asked")
    bk.add_argument("--timeout", type=int, default=3600,
                    help="seconds per notebook cell (default 3600)")
    sw = sub.add_parser("sweep", help="run a grid of experiments x settings x seeds "
                                      "(resumable; a process pool or a Dask cluster)",
                        description="Train every combination and write PREFIX.json (one row "
                                    "per run, saved as each finishes: started again, a sweep "
                                    "runs only what is missing) and PREFIX.md (mean ± s.e. "
                                    "over seeds).")
    sw.add_argument("experiments", nargs="+", metavar="EXPERIMENT",
                    help="registry names (toy1d, ring, grid, mnist-mlp, dcgan, cgan)")
    sw.add_argument("--grid", nargs="+", default=[], metavar="FIELD=V1,V2",
                    help="settings to vary, e.g. --grid method=vanilla,packing lr=1e-3,1e-4")
    sw.add_argument("--set", nargs="+", default=[], metavar="FIELD=VALUE",
                    help="settings every run gets, e.g. --set steps=2000")
    sw.add_argument("--seeds", type=int, default=3, help="seeds per combination (default 3)")
    sw.add_argument("--first-seed", type=int, default=0)
    sw.add_argument("--minutes", type=float, default=None,
                    help="a time budget per run instead of its steps setting")
    sw.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                    help="the budget's clock (cpu: CPU time / --threads; default wall)")
    sw.add_argument("--threads", type=int, default=1, help="BLAS threads per run (default 1)")
    sw.add_argument("--workers", type=int, default=None,
                    help="runs side by side (default: one per core; 1: in this process)")
    sw.add_argument("--scheduler", default=None, metavar="ADDRESS",
                    help="a Dask scheduler (tcp://host:8786) to run on; needs the [cluster] "
                         "extra")
    sw.add_argument("--out", default="runs/sweep", metavar="PREFIX",
                    help="results prefix (default runs/sweep: runs/sweep.json and .md)")
    from tinygan.gan.evaluator import ASSET
    classifier = sub.add_parser("classifier", help="check (or retrain) the evaluation "
                                                   "classifier that judges generated digits")
    classifier.add_argument("--train", action="store_true",
                            help="retrain from scratch (10-15 CPU-minutes) and save")
    classifier.add_argument("--out", default=str(ASSET), help="the weights file")
    classifier.add_argument("--epochs", type=int, default=30)
    classifier.add_argument("--dropout", type=float, default=0.1)
    classifier.add_argument("--seed", type=int, default=0)
    classifier.add_argument("--data-dir", default=None)


def main(argv=None) -> int:
    parser = _Parser(prog="tinygan", description="GANs from scratch, for learning.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    demo = sub.add_parser("demo", help="train the 1D toy GAN of Figure 1 and draw it (CPU, ~20 s)")
    demo.add_argument("--out", default=None,
                      help="folder for the figure and the GIF (default: figures/)")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    demo.add_argument("--iterations", type=int, default=None,
                      help="training iterations (default: the toy's default)")
    _add_train_parser(sub)
    _add_other_parsers(sub)
    args, extra = parser.parse_known_args(argv)
    if extra:  # name the options of the (sub)command the unknown one was given to
        where = sub.choices[args.command]
        if args.command == "train" and args.experiment is not None:
            where = where.kinds.choices[args.experiment]
        where.error(f"unrecognized arguments: {' '.join(extra)}")
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    if args.command == "demo":
        return _demo(args)
    if args.command == "train":
        return _train(args, sub.choices["train"])
    if args.command == "sample":
        return _sample(args)
    if args.command == "sweep":
        return _sweep(args)
    if args.command == "figures":
        return _figures(args)
    if args.command == "book":
        return _book(args)
    if args.command == "classifier":
        return _classifier(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
