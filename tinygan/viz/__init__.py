"""Every matplotlib call of tinygan lives in this package: where pictures are saved, and the
drawings of each experiment (toy1d: Figure 1 and its animation; toy2d: scatters and the mode
table; images: digit grids; curves: training curves). matplotlib is imported inside the
functions that need it, so importing tinygan never loads it.

Full runs of the lessons write into the repository's figures/ folder (or
$TINYGAN_FIGURES_DIR); fast runs (TINYGAN_FAST=1, as in CI) write into a scratch folder so they
never overwrite the committed figures with low-step versions. Every file is written
atomically (tinygan.io.atomic_path)."""
from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

from ..io import atomic_path

log = logging.getLogger(__name__)


def is_fast() -> bool:
    """True when TINYGAN_FAST is set to a true value: lessons shrink data and steps."""
    return os.environ.get("TINYGAN_FAST", "").strip().lower() not in ("", "0", "false", "no")


def figures_dir() -> Path:
    """$TINYGAN_FIGURES_DIR, else figures/ beside the package (full mode) or a scratch folder
    (fast mode)."""
    if os.environ.get("TINYGAN_FIGURES_DIR"):
        path = Path(os.environ["TINYGAN_FIGURES_DIR"])
    elif is_fast():
        path = Path(tempfile.gettempdir()) / "tinygan-figures-fast"
    else:
        path = Path(__file__).resolve().parents[2] / "figures"
    path.mkdir(parents=True, exist_ok=True)
    return path


def files_only() -> None:
    """Draw into files, never into a window: matplotlib's Agg backend (for commands and runs
    that may have no screen)."""
    import matplotlib
    matplotlib.use("Agg")


def close(fig=None) -> None:
    """Free a figure's memory (every open figure when fig is None)."""
    import matplotlib.pyplot as plt
    plt.close("all" if fig is None else fig)


def save_figure(fig, name: str, dpi: int = 110, folder=None) -> Path:
    """Save a matplotlib figure as folder/name (default folder: figures_dir()), atomically."""
    path = Path(figures_dir() if folder is None else folder) / name
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight")
    log.info("wrote %s", path)
    return path


def save_animation(anim, name: str, fps: int = 12, dpi: int = 80, folder=None) -> Path:
    """Save a matplotlib animation as a GIF with the pillow writer (no ffmpeg needed)."""
    from matplotlib.animation import PillowWriter

    path = Path(figures_dir() if folder is None else folder) / name
    with atomic_path(path) as tmp:
        anim.save(tmp, writer=PillowWriter(fps=fps), dpi=dpi)
    log.info("wrote %s", path)
    return path
