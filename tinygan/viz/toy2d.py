"""Pictures of the 2D mode-collapse experiment (tinygan.experiments.toy2d): generated points over
the mixture's modes, an animation of the raw generator during training, and the bar charts of
the results table. `dist` is the data's tinygan.data.toy.GaussianMixture."""
from __future__ import annotations

import numpy as np


def scatter(ax, samples: np.ndarray, dist, title: str = "", s: float = 2.0):
    """Generated points (blue) over the mixture's means (red crosses), with the 3-sigma discs."""
    from matplotlib.patches import Circle

    sigma = float(dist.stds[0])
    ax.scatter(samples[:, 0], samples[:, 1], s=s, alpha=0.5, color="tab:blue", linewidths=0)
    ax.scatter(dist.means[:, 0], dist.means[:, 1], s=30, marker="x", color="tab:red")
    for mu in dist.means:
        ax.add_patch(Circle(mu, 3 * sigma, fill=False, color="tab:red", linewidth=0.6))
    lim = max(1.6, 1.375 * float(np.abs(dist.means).max()))  # 1.6 for the ring, 5.5 the grid
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=9)


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
