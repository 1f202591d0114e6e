"""Figure 1 of Goodfellow et al. 2014, drawn from a real run of the 1D experiment
(tinygan.experiments.toy1d): one panel, the four-panel figure with its JS and value curves, and
the animation of a whole run. `config` is the experiment's Toy1DConfig (its grids: plot_grid,
bin_centres, line_grid, data(), optimal_discriminator); a snapshot holds D(x), p_g and G(z)."""
from __future__ import annotations

import math

import numpy as np

LOG4 = math.log(4.0)
Z_LEVEL = -0.55  # height of the z line below the x axis in the Figure-1 panels


def _segments(config, xs, z_level: float, x_level: float):
    """The mapping lines: from (z, z_level) to (G(z), x_level) for the line_grid z values."""
    return [[(z, z_level), (x, x_level)] for z, x in zip(config.line_grid(), xs)]


def _p_g_and_d_star(config, snap):
    """(x, p_g, D*) to draw: the smoothed p_g on the plot grid when the snapshot has it (else
    the histogram at the bin centres), and D* computed from that same p_g."""
    if snap.p_g_curve is not None:
        x, p_g = config.plot_grid(), snap.p_g_curve
    else:
        x, p_g = config.bin_centres(), snap.p_g
    return x, p_g, config.optimal_discriminator(p_g, 0.02, at=x)


def draw_panel(ax, config, snap, title: str = "", show_star=True, top: float = 1.25):
    """One panel in the style of Figure 1: p_data black dotted, p_g green, D blue dashed, D*
    light blue; below, lines from evenly spaced z (bottom line) to x = G(z) (the x axis).
    The y axis (up to `top`) is a density for p_data and p_g and a probability for D and D*."""
    from matplotlib.collections import LineCollection

    xs = config.plot_grid()
    x_g, p_g, d_star = _p_g_and_d_star(config, snap)
    z_level, x_level = Z_LEVEL, 0.0
    artists = {}
    artists["data"], = ax.plot(xs, config.data().density(xs), "k:", lw=2, label=r"$p_{data}$")
    artists["p_g"], = ax.plot(x_g, p_g, "g-", lw=1.8, label=r"$p_g$")
    artists["d"], = ax.plot(xs, snap.d_curve, "b--", lw=1.8, label="$D(x)$")
    if show_star:
        artists["d_star"], = ax.plot(x_g, d_star, "-", color="#6baed6", lw=1.2, alpha=0.9,
                                     label="$D^*(x)$")
    ax.axhline(x_level, color="k", lw=0.8)
    ax.plot([config.noise_low, config.noise_high], [z_level, z_level], "k-", lw=0.8)
    artists["lines"] = ax.add_collection(LineCollection(
        _segments(config, snap.lines, z_level, x_level), colors="0.45", linewidths=0.7))
    ax.text(config.x_range[0] + 0.05, x_level + 0.03, "x", fontsize=9)
    ax.text(config.noise_low - 0.35, z_level - 0.02, "z", fontsize=9)
    peak = float(np.nanmax(p_g))
    if peak > top:  # say where the curve goes rather than squash everything under it
        where = float(x_g[int(np.nanargmax(p_g))])
        ax.annotate(f"$p_g$ peaks at {peak:.1f}", (where, top), xytext=(8, -12),
                    textcoords="offset points", fontsize=7, color="g")
    ax.set_xlim(*config.x_range)
    ax.set_ylim(z_level - 0.1, top)
    ax.set_yticks([t for t in (0, 0.5, 1.0, 1.5, 2.0, 2.5) if t < top])
    ax.set_title(title, fontsize=10)
    return artists


def panel_top(config, snaps) -> float:
    """A y limit for panels that shows every snapshot's p_g (and D up to 1) whole."""
    peak = max(float(np.nanmax(_p_g_and_d_star(config, s)[1])) for s in snaps)
    return max(1.25, 1.08 * peak)


def panel_figure(config, snap, title: str = ""):
    """A figure of one panel with its legend (the `samples.png` of a toy1d run)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.6))
    draw_panel(ax, config, snap, title, top=panel_top(config, [snap]))
    ax.set_ylabel("density; D(x)")
    ax.legend(loc="upper left", fontsize=7, frameon=False)
    return fig


def draw_figure1(result, panels):
    """Top row: Figure 1's panels (a)-(d) from the run; bottom row: JS(p_data||p_g) and the
    value of the game (C(G) from the histograms, V(G, D) with the trained D) over training.
    result: a Toy1DResult (config and snapshots); panels: its Figure1Panels."""
    import matplotlib.pyplot as plt

    config = result.config
    fig = plt.figure(figsize=(14, 6.6))
    grid = fig.add_gridspec(2, 4, height_ratios=[1.25, 1], hspace=0.4, wspace=0.3)
    titles = [f"(a) iteration {panels.a.iteration}\nD partly accurate",
              "(b) the same G, D trained alone\nD close to D*",
              "(c) then G trained alone\nG(z) flows to where D says 'real'",
              f"(d) iteration {panels.d.iteration}\np_g close to p_data, D close to 1/2"]
    snaps = (panels.a, panels.b, panels.c, panels.d)
    top = panel_top(config, snaps)
    for i, (snap, title) in enumerate(zip(snaps, titles)):
        ax = fig.add_subplot(grid[0, i])
        draw_panel(ax, config, snap, title, top=top)
        ax.text(0.98, 0.97, f"JS = {snap.measurement.js:.3f}", transform=ax.transAxes,
                ha="right", va="top", fontsize=8)
        if i == 0:
            ax.set_ylabel("density ($p$); probability ($D$)")
            ax.legend(loc="upper left", fontsize=7, frameon=False)
    it = [s.iteration for s in result.snapshots]
    ms = [s.measurement for s in result.snapshots]
    ax = fig.add_subplot(grid[1, :2])
    ax.semilogy(it, [max(m.js, 1e-5) for m in ms], "g-", label=r"JS$(p_{data}\|p_g)$")
    ax.axhline(0.05, color="0.5", ls=":", lw=1, label="target 0.05")
    plain_log_ticks(ax)
    ax.set_xlabel("iteration")
    ax.set_ylabel("JS (nats)")
    ax.set_title("Jensen-Shannon divergence between the histograms", fontsize=10)
    ax.legend(fontsize=8, frameon=False)
    ax = fig.add_subplot(grid[1, 2:])
    ax.plot(it, [m.c_of_g for m in ms], "g-", label=r"$C(G) = \max_D V(G, D) = -\log 4 + 2\,$JS")
    ax.plot(it, [m.value for m in ms], "b--", lw=1, label="$V(G, D)$ with the trained D")
    ax.axhline(-LOG4, color="k", ls=":", lw=1,
               label=r"$-\log 4$: the least $C(G)$ (not a bound on $V$)")
    ax.set_ylim(min(-LOG4 - 0.15, min(m.value for m in ms) - 0.05),
                min(0.2, max(m.c_of_g for m in ms) + 0.05))
    ax.set_xlabel("iteration")
    ax.set_ylabel("value (nats)")
    ax.set_title("value of the game", fontsize=10)
    ax.legend(fontsize=8, frameon=False)
    return fig


def plain_log_ticks(ax) -> None:
    """Tick labels 0.02, 0.05, 0.1 on a log axis instead of mathtext powers of ten."""
    from matplotlib.ticker import FormatStrFormatter, LogLocator, NullFormatter

    ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))
    ax.yaxis.set_minor_formatter(NullFormatter())


def animate(config, snaps, every: int = 1):
    """A matplotlib animation of a run's snapshots, one frame per `every` of them (and the
    last): the Figure-1 panel on the left, the JS divergence so far on the right."""
    import matplotlib.pyplot as plt
    from matplotlib.animation import FuncAnimation

    frames = list(range(0, len(snaps), every))
    frames += [len(snaps) - 1] if frames[-1] != len(snaps) - 1 else []
    fig, (ax, ax_js) = plt.subplots(1, 2, figsize=(9, 3.6), gridspec_kw={"width_ratios": [3, 2]})
    artists = draw_panel(ax, config, snaps[0], top=panel_top(config, [snaps[i] for i in frames]))
    ax.set_ylabel("density; D(x)")
    ax.legend(loc="upper left", fontsize=7, frameon=False)
    title = ax.set_title("", fontsize=10)
    it = [s.iteration for s in snaps]
    js = [max(s.measurement.js, 1e-5) for s in snaps]
    ax_js.set_xlim(0, it[-1])
    ax_js.set_ylim(min(js) / 2, 1.0)
    ax_js.set_yscale("log")
    # plain tick labels: mathtext ones (10^-1) cost a lot when every frame is drawn
    plain_log_ticks(ax_js)
    ax_js.axhline(0.05, color="0.5", ls=":", lw=1)
    ax_js.set_xlabel("iteration")
    ax_js.set_title(r"JS$(p_{data}\|p_g)$, nats", fontsize=10)
    curve, = ax_js.plot([], [], "g-")
    fig.tight_layout()

    def update(i):
        s = snaps[i]
        x_g, p_g, d_star = _p_g_and_d_star(config, s)
        artists["p_g"].set_data(x_g, p_g)
        artists["d"].set_ydata(s.d_curve)
        artists["d_star"].set_data(x_g, d_star)
        artists["lines"].set_segments(_segments(config, s.lines, Z_LEVEL, 0.0))
        title.set_text(f"iteration {s.iteration}: mean D(x) = {s.measurement.d_real:.2f}, "
                       f"mean D(G(z)) = {s.measurement.d_fake:.2f}")
        curve.set_data(it[:i + 1], js[:i + 1])
        return []

    return FuncAnimation(fig, update, frames=frames, blit=False)
