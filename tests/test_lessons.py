"""Every lesson: its .py (jupytext percent, the source) and .ipynb (what a classroom opens) hold
the same cells, the notebook carries no outputs, it runs top to bottom in a real Jupyter kernel
in fast mode (TINYGAN_FAST=1), with lessons/ as the working directory, and it imports nothing
the [lessons] extra does not install. Its figures: every name a lesson saves is committed in
figures/, every committed figure is saved by some lesson, and each carries the commit and the
mode that drew it (full mode, from a clean tree)."""
import ast
import importlib.metadata
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

jupytext = pytest.importorskip("jupytext")
nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

ROOT = Path(__file__).resolve().parents[1]
LESSONS = ROOT / "lessons"
FIGURES = ROOT / "figures"
SOURCES = sorted(LESSONS.glob("[0-9][0-9]_*.py"))
IDS = [p.stem for p in SOURCES]
FIGURE_NAME = re.compile(r"^\d\d_[A-Za-z0-9_]+\.(png|gif)$")
SAVERS = {"save_figure", "save_animation"}


def declared_figures(source: Path) -> set:
    """The figure names a lesson can write: its string literals shaped like NN_name.png/.gif."""
    tree = ast.parse(source.read_text(encoding="utf-8"))
    return {n.value for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str)
            and FIGURE_NAME.match(n.value)}


def _imports(tree) -> set:
    """Top-level names of every module a file imports (anywhere in it, not relative imports)."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def _extra(name: str) -> set:
    """Normalized distribution names listed in pyproject.toml's core dependencies and an extra."""
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = project["dependencies"] + project["optional-dependencies"][name]
    return {re.split(r"[\[<>=!~; ]", spec, maxsplit=1)[0].lower().replace("_", "-")
            for spec in specs}


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
    # .ci/run sets TINYGAN_LESSON_KERNEL to a kernel of a [lessons]-only environment
    kernel = os.environ.get("TINYGAN_LESSON_KERNEL", "python3")
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name=kernel,
                                     resources={"metadata": {"path": str(LESSONS)}})
    client.execute()  # raises CellExecutionError naming the failing cell and its traceback
    assert any(c.get("outputs") for c in nb.cells if c.cell_type == "code")
    folder = tmp_path / "figures"
    written = {p.name for p in folder.iterdir()} if folder.exists() else set()
    assert written <= declared_figures(source), (
        f"{source.name} wrote figures whose names are not literals in it: "
        f"{sorted(written - declared_figures(source))}")
    assert all(_provenance(folder / n).get("tinygan-mode") == "fast" for n in written)


# ---------------------------------------------------------------- the [lessons] extra


def test_lesson_and_library_imports_are_installed_by_the_lessons_extra():
    """A fresh `pip install -e ".[lessons]"` runs every lesson and `tinygan figures`: every
    module that a lesson or the library imports is stdlib, tinygan, or from a distribution the
    [lessons] extra (or the core dependencies) names. CuPy is the optional GPU backend
    (imported only when asked for: the cuda12/cuda13 extras); the library may also use the
    [cluster] extra's Dask, which only `sweep.dask_executor` imports, when given a scheduler."""
    allowed = _extra("lessons")
    optional = _extra("cluster")
    providers = importlib.metadata.packages_distributions()
    files = SOURCES + sorted((ROOT / "tinygan").rglob("*.py"))
    missing = {}
    for path in files:
        library = path.is_relative_to(ROOT / "tinygan")
        for module in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            if module in sys.stdlib_module_names or module in ("tinygan", "cupy", "cupyx"):
                continue
            dists = {d.lower().replace("_", "-") for d in providers.get(module, [])}
            if not dists & (allowed | optional if library else allowed):
                missing.setdefault(module, []).append(path.relative_to(ROOT).as_posix())
    assert not missing, (f"imported but not installed by the [lessons] extra of pyproject.toml "
                         f"(module: files): {missing}; add the distribution to the extra")


def test_ci_kernel_for_the_lessons_has_only_the_lessons_extra():
    """.ci/run executes the lessons in a kernel of their own environment (.venv-lessons, only
    the [lessons] extra): there, the test-only packages must be absent."""
    kernel = os.environ.get("TINYGAN_LESSON_KERNEL")
    if not kernel:
        pytest.skip("TINYGAN_LESSON_KERNEL is not set: lessons run in this environment's kernel")
    from jupyter_client.kernelspec import KernelSpecManager
    python = KernelSpecManager().get_kernel_spec(kernel).argv[0]
    probe = "import importlib.util as u; print([m for m in ('pytest', 'scipy') if u.find_spec(m)])"
    out = subprocess.run([python, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", (f"kernel {kernel!r} ({python}) has test-only packages "
                                        f"{out.stdout.strip()}: it is not a [lessons]-only env")


# ---------------------------------------------------------------- figures


def test_figure_names_are_literal():
    """save_figure/save_animation get a literal name (or a dict of literal names), so the
    figure test below can see, without running anything, which files a lesson writes."""
    bad = []
    for source in SOURCES:
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) in SAVERS:
                name = node.args[1] if len(node.args) > 1 else None
                if isinstance(name, (ast.JoinedStr, ast.BinOp)) or name is None:
                    bad.append(f"{source.name}:{node.lineno}")
    assert not bad, f"figure names built at run time (write them out as literals): {bad}"


def test_every_committed_figure_is_saved_by_a_lesson_and_the_other_way_round():
    declared = set().union(*(declared_figures(s) for s in SOURCES))
    committed = {p.name for p in FIGURES.iterdir() if p.suffix in (".png", ".gif")}
    assert not committed - declared, (f"figures/ holds files no lesson writes (stale leftovers: "
                                      f"delete them): {sorted(committed - declared)}")
    assert not declared - committed, (f"lessons write figures that are not committed (run "
                                      f"`tinygan figures`): {sorted(declared - committed)}")


def _git(*args) -> str:
    return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True,
                          check=True).stdout.strip()


def _provenance(path: Path) -> dict:
    from PIL import Image
    with Image.open(path) as im:
        if path.suffix == ".png":
            return {k: v for k, v in im.text.items() if k.startswith("tinygan-")}
        comment = im.info.get("comment", b"{}")
        return json.loads(comment.decode() if isinstance(comment, bytes) else comment)


def test_committed_figures_carry_their_provenance():
    """Each committed figure says which commit drew it (a clean tree: no "+dirty") and that it
    was full mode; the commit is in this repository's history (checked where history is)."""
    pytest.importorskip("PIL")
    problems = []
    commits = set()
    for path in sorted(FIGURES.iterdir()):
        if path.suffix not in (".png", ".gif"):
            continue
        info = _provenance(path)
        commit, mode = info.get("tinygan-commit", ""), info.get("tinygan-mode")
        if mode != "full" or not re.fullmatch(r"[0-9a-f]{40}", commit):
            problems.append(f"{path.name}: commit {commit!r}, mode {mode!r}")
        commits.add(commit)
    assert not problems, ("figures without a clean full-mode provenance (regenerate them with "
                          f"`tinygan figures` from a committed tree): {problems}")
    try:
        shallow = _git("rev-parse", "--is-shallow-repository") == "true"
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    if not shallow:
        unknown = [c for c in commits
                   if subprocess.run(["git", "-C", str(ROOT), "merge-base", "--is-ancestor", c,
                                      "HEAD"], capture_output=True).returncode != 0]
        assert not unknown, f"figures drawn at commits that are not ancestors of HEAD: {unknown}"
