"""Where lessons and the CLI put their pictures, and small plotting helpers.

Full runs write into the repository's figures/ folder (or $TINYGAN_FIGURES_DIR); fast runs
(TINYGAN_FAST=1, as in CI) write into a scratch folder so they never overwrite the committed
figures with low-step versions. matplotlib is imported inside the functions that need it."""
from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

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
        path = Path(__file__).resolve().parents[1] / "figures"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _atomic_target(path: Path) -> Path:
    return path.with_name(f".{path.stem}.tmp{os.getpid()}{path.suffix}")


def save_figure(fig, name: str, dpi: int = 110) -> Path:
    """Save a matplotlib figure as figures_dir()/name, atomically (temporary file + rename)."""
    path = figures_dir() / name
    tmp = _atomic_target(path)
    fig.savefig(tmp, dpi=dpi, bbox_inches="tight")
    os.replace(tmp, path)
    log.info("wrote %s", path)
    return path


def save_animation(anim, name: str, fps: int = 12, dpi: int = 80) -> Path:
    """Save a matplotlib animation as a GIF with the pillow writer (no ffmpeg needed)."""
    from matplotlib.animation import PillowWriter

    path = figures_dir() / name
    tmp = _atomic_target(path)
    anim.save(tmp, writer=PillowWriter(fps=fps), dpi=dpi)
    os.replace(tmp, path)
    log.info("wrote %s", path)
    return path
