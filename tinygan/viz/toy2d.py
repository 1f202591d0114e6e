"""Pictures of the 2D mode-collapse experiment (tinygan.experiments.toy2d): generated points over
the mixture's modes, GAN Lab's view of D's surface and the pushes on G's samples, an animation
of the raw generator during training, and the bar charts of the results table. `dist` is the
data's tinygan.data.toy.GaussianMixture."""
from __future__ import annotations

import numpy as np


def plane_limit(dist) -> float:
    """Half-width of the square that every picture of the plane shows (and
    tinygan.experiments.toy2d.discriminator_view covers): 1.6 for the ring, 5.5 for the grid."""
    return max(1.6, 1.375 * float(np.abs(dist.means).max()))


def scatter(ax, samples: np.ndarray, dist, title: str = "", s: float = 2.0, center=None,
            half_width: float | None = None):
    """Generated points (blue) drawn over the mixture's means (small red crosses) and their
    3-sigma circles. center and half_width zoom into a square (default: the whole plane)."""
    from matplotlib.patches import Circle

    sigma = float(dist.stds[0])
    for mu in dist.means:
        ax.add_patch(Circle(mu, 3 * sigma, fill=False, color="tab:red", linewidth=0.6, zorder=1))
    ax.scatter(dist.means[:, 0], dist.means[:, 1], s=12, marker="x", color="tab:red",
               linewidths=0.6, zorder=1)
    ax.scatter(samples[:, 0], samples[:, 1], s=s, alpha=0.5, color="tab:blue", linewidths=0,
               zorder=2)
    cx, cy = (0.0, 0.0) if center is None else center
    lim = plane_limit(dist) if half_width is None else half_width
    ax.set_xlim(cx - lim, cx + lim)
    ax.set_ylim(cy - lim, cy + lim)
    ax.set_aspect("equal")
    if half_width is None:
        ax.set_xticks([])
        ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=9)


def discriminator_view(ax, view, dist, title: str = "", arrow_scale: float | None = None):
    """GAN Lab's picture of one moment (a toy2d.DiscriminatorView): D(x) as a background
    (green: "real", purple: "fake"), G's samples as dots, and an arrow on each sample for the
    direction and size of the push G's loss gives it. Returns the background image (for a
    colourbar). arrow_scale: push per unit length of arrow (default: from this view's pushes)."""
    lim = float(view.xs[-1])
    im = ax.imshow(view.d_real, origin="lower", extent=(-lim, lim, -lim, lim), cmap="PRGn",
                   vmin=0, vmax=1, interpolation="bilinear")
    ax.scatter(dist.means[:, 0], dist.means[:, 1], s=12, marker="x", color="k", linewidths=0.7)
    ax.scatter(view.samples[:, 0], view.samples[:, 1], s=4, color="tab:orange", zorder=3)
    if arrow_scale is None:
        arrow_scale = float(np.percentile(np.linalg.norm(view.push, axis=1), 90)) or 1.0
    ax.quiver(view.samples[:, 0], view.samples[:, 1], view.push[:, 0], view.push[:, 1],
              angles="xy", scale_units="xy", scale=arrow_scale / (0.12 * lim), width=0.004,
              color="k", alpha=0.7, zorder=4)
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title or f"iteration {view.iteration}", fontsize=9)
    return im


def scatter_figure(samples: np.ndarray, dist, title: str = ""):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.2, 4.2))
    scatter(ax, samples, dist, title)
    return fig


def animate(frames: list, dist, name: str = ""):
    """One frame per {"iteration", "samples"} dict: the raw generator's points as it trains."""
    import matplotlib.pyplot as plt
    from matplotlib.animation import FuncAnimation

    fig, ax = plt.subplots(figsize=(4, 4))

    def draw(i):
        ax.clear()
        f = frames[i]
        scatter(ax, np.asarray(f["samples"]), dist,
                f"{name} iteration {int(f['iteration'])} (raw G)".strip())
        return []
    return FuncAnimation(fig, draw, frames=len(frames), blit=False)


def plot_table(rows, datasets=("ring", "grid")):
    """Bar charts (modes captured, high-quality %) with standard-error bars for the rows of
    tinygan.experiments.toy2d.aggregate, one column per dataset; vanilla in grey."""
    import matplotlib.pyplot as plt

    datasets = [d for d in datasets if any(r["dataset"] == d for r in rows)]
    fig, axes = plt.subplots(2, len(datasets), figsize=(5.5 * len(datasets), 6.5),
                             squeeze=False)
    for col, name in enumerate(datasets):
        sub = [r for r in rows if r["dataset"] == name]
        pos = np.arange(len(sub))
        colors = ["0.55" if r["method"] == "vanilla" else "tab:blue" for r in sub]
        for ax, key, label in ((axes[0, col], "modes", "modes captured"),
                               (axes[1, col], "high_quality", "high-quality samples (%)")):
            ax.bar(pos, [r[key][0] for r in sub], yerr=[r[key][1] for r in sub], capsize=3,
                   color=colors)
            ax.set_ylabel(label)
            ax.set_title(f"{name}: {label}", fontsize=10)
        axes[0, col].axhline(sub[0]["num_modes"], color="k", lw=0.8, ls="--")
        axes[1, col].axhline(90, color="k", lw=0.8, ls=":")
        for ax in axes[:, col]:
            ax.set_xticks(pos)
            ax.set_xticklabels([f"{r['method'].replace('_', chr(10))}\n(n={r['seeds']})"
                                for r in sub], fontsize=7)
    fig.tight_layout()
    return fig
