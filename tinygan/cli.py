"""The `tinygan` command: `train` (any experiment of tinygan.experiments into a run folder, with
resume), `sample` (a picture from a checkpoint), `figures` (rerun the lessons) and `demo`.

`tinygan demo` trains the 1D toy GAN of Goodfellow et al. 2014
(Figure 1) end to end on the CPU, writes the four-panel figure and an animation of the run, and
ends with the final Jensen-Shannon divergence between the data and the generator."""
from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import time
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
    import matplotlib
    matplotlib.use("Agg")  # files only: the demo never opens a window
    import matplotlib.pyplot as plt

    from tinygan import viz
    from tinygan.gan import toy1d

    config = toy1d.Toy1DConfig(seed=args.seed)
    if args.iterations is not None:
        config = config.replace(iterations=args.iterations)
    print(f"Training a 1D GAN (Goodfellow et al. 2014, Algorithm 1): data N({config.data_mean}, "
          f"{config.data_std}^2), z ~ U({config.noise_low}, {config.noise_high}), "
          f"k = {config.d_steps}, m = {config.batch_size}, {config.iterations} iterations, "
          f"seed {config.seed}. Lesson 3 (lessons/03_toy1d.ipynb) explains every step.")
    start = time.perf_counter()

    def progress(result):
        s = result.snapshots[-1]
        if s.iteration % (config.iterations // 5 or 1) == 0:
            m = s.measurement
            print(f"  iteration {s.iteration:5d}: JS = {m.js:.4f} nats, mean D(x) = "
                  f"{m.d_real:.3f}, mean D(G(z)) = {m.d_fake:.3f}", flush=True)

    result, panels = toy1d.figure1_panels(config, progress=progress)
    trained = time.perf_counter()
    with _figures_dir(args.out):
        fig = toy1d.draw_figure1(result, panels)
        figure = viz.save_figure(fig, "03_toy1d_figure1.png")
        plt.close(fig)
        anim = toy1d.animate(result, every=2)
        gif = viz.save_animation(anim, "03_toy1d_training.gif", fps=8, dpi=70)
        plt.close("all")
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


def _add_train_parser(sub) -> None:
    from tinygan import experiments

    train = sub.add_parser(
        "train", help="train an experiment into a run folder (see `tinygan train -h`)",
        description="Train one experiment. Writes config.json, metrics.json, history.csv, "
                    "losses.png, samples.png, training.gif (toy experiments) and "
                    "checkpoint.npz into --out. Ctrl-C saves a checkpoint; --resume continues.")
    train.add_argument("--resume", metavar="DIR", default=None,
                       help="continue the interrupted run in DIR (no experiment needed)")
    train.add_argument("--quiet", dest="quiet_resume", action="store_true",
                       help="with --resume: no progress bar, only warnings and errors")
    kinds = train.add_subparsers(dest="experiment", metavar="EXPERIMENT",
                                 parser_class=_Parser)
    train.kinds = kinds  # main() reports an unknown option with the experiment's own options
    for name, cls in experiments.REGISTRY.items():
        p = kinds.add_parser(name, help=cls.summary, description=cls.summary)
        group = p.add_argument_group("run")
        group.add_argument("--out", metavar="DIR", default=None,
                           help=f"run folder (default: runs/{name})")
        group.add_argument("--epochs", type=float, default=None,
                           help="passes over the data instead of --steps (MNIST experiments)")
        group.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
        group.add_argument("--quiet", action="store_true",
                           help="no progress bar, only warnings and errors")
        group.add_argument("--checkpoint-every", type=int, default=500, metavar="N",
                           help="save checkpoint.npz every N steps (default 500)")
        group.add_argument("--no-animation", action="store_true",
                           help="skip training.gif (faster)")
        group.add_argument("--stop-after", type=int, default=None, metavar="N",
                           help="act as if Ctrl-C were pressed after N steps (to try --resume)")
        hyper = p.add_argument_group("hyperparameters")
        for param in cls.all_params():
            hyper.add_argument(f"--{param.name.replace('_', '-')}", dest=param.name,
                               type=param.type, default=None, choices=param.choices,
                               help=f"{param.help} (default {param.default!r})")


def _train(args, parser) -> int:
    from tinygan import experiments, runs

    if args.resume is not None:
        if args.experiment is not None:
            parser.error("--resume DIR continues the run in DIR: give no experiment with it")
        kwargs = {"resume": args.resume, "quiet": args.quiet_resume}
    else:
        if args.experiment is None:
            parser.error("train needs an EXPERIMENT (one of: "
                         + ", ".join(experiments.REGISTRY) + ") or --resume DIR")
        cls = experiments.get(args.experiment)
        config = {p.name: getattr(args, p.name) for p in cls.all_params()}
        if args.epochs is not None:
            if config["steps"] is not None:
                parser.error("give --steps or --epochs, not both")
            config["steps"] = cls.steps_for_epochs(args.epochs, config)
        out = args.out or os.path.join("runs", args.experiment)
        kwargs = {"name": args.experiment, "config": config, "out": out, "device": args.device,
                  "quiet": args.quiet, "checkpoint_every": args.checkpoint_every,
                  "stop_after": args.stop_after, "animation": not args.no_animation}
    logging.getLogger("tinygan").setLevel(logging.WARNING if kwargs["quiet"] else logging.INFO)
    try:
        result = runs.train(**kwargs)
    except runs.NonFiniteLossError as e:
        print(f"tinygan train: {e}", file=sys.stderr)
        return 3
    except (runs.RunError, ValueError) as e:
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
        print(f"  done in {time.perf_counter() - start:.0f} s")
    print(f"Figures in {target}")
    if failed:
        print(f"tinygan figures: {len(failed)} lesson(s) failed: {', '.join(failed)}",
              file=sys.stderr)
        return 1
    return 0


def _add_other_parsers(sub) -> None:
    sample = sub.add_parser("sample", help="draw samples from a checkpoint into a picture")
    sample.add_argument("checkpoint", help="checkpoint.npz of `tinygan train` (or its folder)")
    sample.add_argument("--out", default="samples.png", help="picture to write (samples.png)")
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
    if args.command == "figures":
        return _figures(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
