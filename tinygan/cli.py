"""The `tinygan` command. `tinygan demo` trains the 1D toy GAN of Goodfellow et al. 2014
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
        anim = toy1d.animate(result)
        gif = viz.save_animation(anim, "03_toy1d_training.gif", fps=10, dpi=70)
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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="tinygan", description="GANs from scratch, for learning.")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="train the 1D toy GAN of Figure 1 and draw it (CPU, ~20 s)")
    demo.add_argument("--out", default=None,
                      help="folder for the figure and the GIF (default: figures/)")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    demo.add_argument("--iterations", type=int, default=None,
                      help="training iterations (default: the toy's default)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    if args.command == "demo":
        return _demo(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
