"""Every matplotlib call of tinygan lives in this package: where pictures are saved, and the
drawings of each experiment (toy1d: Figure 1 and its animation; toy2d: scatters and the mode
table; images: digit grids; curves: training curves). matplotlib is imported inside the
functions that need it, so importing tinygan never loads it.

Full runs of the lessons write into the repository's figures/ folder (or
$TINYGAN_FIGURES_DIR); fast runs (TINYGAN_FAST=1, as in CI) write into a scratch folder so they
never overwrite the committed figures with low-step versions. Every file is written
atomically (tinygan.io.atomic_path)."""
from __future__ import annotations

import json
import logging
import os
import subprocess
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


def provenance() -> dict:
    """What drew a picture: {"tinygan-commit": the checkout's commit, with "+dirty" when files
    other than figures/ differ from it ("unknown" outside a git checkout), "tinygan-mode":
    "fast" or "full"}. Stored in every PNG and GIF that save_figure / save_animation write."""
    root = Path(__file__).resolve().parents[2]
    commit = "unknown"
    try:
        def git(*args):
            return subprocess.run(["git", "-C", str(root), *args], capture_output=True,
                                  text=True, timeout=10, check=True).stdout.strip()
        commit = git("rev-parse", "HEAD")
        # regenerating the figures changes figures/ itself: that is not a dirty tree
        if git("status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)figures"):
            commit += "+dirty"
    except (OSError, subprocess.SubprocessError):
        pass
    return {"tinygan-commit": commit, "tinygan-mode": "fast" if is_fast() else "full"}


def save_figure(fig, name: str, dpi: int = 110, folder=None) -> Path:
    """Save a matplotlib figure as folder/name (default folder: figures_dir()), atomically; a
    PNG carries provenance() in its text chunks."""
    path = Path(figures_dir() if folder is None else folder) / name
    extra = {"metadata": provenance()} if path.suffix.lower() == ".png" else {}
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight", **extra)
    log.info("wrote %s", path)
    return path


def save_animation(anim, name: str, fps: int = 12, dpi: int = 80, folder=None) -> Path:
    """Save a matplotlib animation as a GIF with the pillow writer (no ffmpeg needed); the GIF's
    comment holds provenance() as JSON."""
    from matplotlib.animation import PillowWriter

    class _Writer(PillowWriter):
        def finish(self):  # PillowWriter.finish, plus the comment extension
            if not hasattr(self, "_frames"):  # a matplotlib whose writer works otherwise
                return super().finish()
            self._frames[0].save(self.outfile, save_all=True, append_images=self._frames[1:],
                                 duration=int(1000 / self.fps), loop=0,
                                 comment=json.dumps(provenance()))

    path = Path(figures_dir() if folder is None else folder) / name
    with atomic_path(path) as tmp:
        anim.save(tmp, writer=_Writer(fps=fps), dpi=dpi)
    log.info("wrote %s", path)
    return path
