"""Every lesson: its .py (jupytext percent, the source) and .ipynb (what a classroom opens) hold
the same cells, the notebook carries no outputs, and it runs top to bottom in a real Jupyter
kernel in fast mode (TINYGAN_FAST=1), with lessons/ as the working directory."""
import os
from pathlib import Path

import pytest

jupytext = pytest.importorskip("jupytext")
nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

LESSONS = Path(__file__).resolve().parents[1] / "lessons"
SOURCES = sorted(LESSONS.glob("[0-9][0-9]_*.py"))
IDS = [p.stem for p in SOURCES]


def _cells(nb):
    return [(c.cell_type, c.source.strip()) for c in nb.cells if c.source.strip()]


def test_there_are_lessons():
    assert SOURCES, f"no lessons found in {LESSONS}"


@pytest.mark.parametrize("source", SOURCES, ids=IDS)
def test_py_and_ipynb_are_in_sync(source):
    paired = source.with_suffix(".ipynb")
    assert paired.exists(), f"{source.name} has no paired notebook: run jupytext --to ipynb {source}"
    from_py = jupytext.read(source)
    from_ipynb = nbformat.read(paired, as_version=4)
    assert _cells(from_py) == _cells(from_ipynb), (
        f"{source.name} and {paired.name} have drifted apart: regenerate the notebook with "
        f"jupytext --to ipynb {source.relative_to(LESSONS.parent)}")


@pytest.mark.parametrize("source", SOURCES, ids=IDS)
def test_lesson_text_has_no_control_characters(source):
    # a LaTeX command written into a non-raw Python string loses its backslash: "\t" in
    # \text becomes a tab and "\a" in \approx a bell, and the formula renders broken
    text = source.read_text(encoding="utf-8")
    bad = sorted({(n, repr(ch)) for n, line in enumerate(text.splitlines(), 1) for ch in line
                  if ord(ch) < 32})
    assert not bad, f"{source.name}: control characters at (line, char) {bad[:5]}"


@pytest.mark.parametrize("source", SOURCES, ids=IDS)
def test_notebook_has_no_outputs(source):
    nb = nbformat.read(source.with_suffix(".ipynb"), as_version=4)
    dirty = [i for i, c in enumerate(nb.cells)
             if c.cell_type == "code" and (c.get("outputs") or c.get("execution_count"))]
    assert not dirty, f"{source.with_suffix('.ipynb').name}: cells {dirty} carry outputs; strip them"


@pytest.mark.lesson
@pytest.mark.parametrize("source", SOURCES, ids=IDS)
def test_lesson_runs_in_fast_mode(source, monkeypatch, tmp_path):
    monkeypatch.setenv("TINYGAN_FAST", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("TINYGAN_FIGURES_DIR", str(tmp_path / "figures"))
    monkeypatch.setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    nb = nbformat.read(source.with_suffix(".ipynb"), as_version=4)
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(LESSONS)}})
    client.execute()  # raises CellExecutionError naming the failing cell and its traceback
    assert any(c.get("outputs") for c in nb.cells if c.cell_type == "code")
