"""The lessons as a book: `tinygan book` executes every lesson in a Jupyter kernel (full mode
by default, fast mode with --fast), and builds a static HTML book with Sphinx, myst-nb and
sphinx-book-theme (the `[book]` extra) into book/_build/html: a landing page (what tinygan is,
the quick start, the lesson map), one page per lesson with its outputs, figures and rendered
math, each linking to its .ipynb and .py, an API reference generated from the docstrings (one
page per public class and function), and a search box. MathJax is served from the build itself
(the sphinx-mathjax-offline package), so the book opens and works without a network.

Executing a lesson is what makes its outputs, so each lesson page shows the numbers and pictures
of one real run. The executed notebooks are kept beside the build (<out>/executed/<mode>/), each
stamped with a key made of the mode, the lesson's code cells and the library's source: a later
build reuses one whose key still holds and runs only the lessons whose code (or the library)
changed. Outputs are matched to cells by the code alone, so an edit to a lesson's prose is in
the book at once without running anything. `--executed DIR` also takes notebooks executed
elsewhere (e.g. by `tinygan figures --executed DIR`) when their code cells are the lesson's
and they ran in the mode asked for (every lesson prints "fast mode" or "full mode" first).

Figures: the lessons draw into <out>/executed/<mode>/figures/ (never into the committed
figures/); the book's figures/ folder is the committed one with every picture this build drew
laid over it, so a picture a lesson's text links to (`![](../figures/NAME.gif)`) is the one drawn
by the same run as the numbers beside it, and the committed one where this build drew none.

The Sphinx sources: book/conf.py and book/index.md (the landing page's prose, with markers that
the build fills from README.md and the lessons) are committed; the build assembles the tree
Sphinx reads in <out>/src (the landing page, the executed lessons, their sources to download,
the figures, the API pages) and runs `python -m sphinx` on it."""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import importlib
import importlib.util
import inspect
import json
import logging
import os
import pkgutil
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
LESSONS = ROOT / "lessons"
FIGURES = ROOT / "figures"
BOOK = ROOT / "book"
DEFAULT_OUT = BOOK / "_build"
#: what `python -m sphinx` needs: the distributions of the [book] extra, as import names
BUILDER_MODULES = ("sphinx", "myst_nb", "sphinx_book_theme", "sphinx-mathjax-offline")
#: the first line every lesson prints (`print("fast mode" if FAST else "full mode")`)
MODE_LINE = re.compile(r"^(fast|full) mode$", re.M)
MARKER = re.compile(r"<!-- book:([a-z-]+) -->")


class BookError(RuntimeError):
    """The book cannot be built (the [book] extra is missing, a source is malformed, Sphinx
    failed); the message says what to do."""


# ---------------------------------------------------------------- the lessons


@dataclasses.dataclass(frozen=True)
class Lesson:
    """One lesson: its number, file stem (`03_toy1d`), title and the prerequisites paragraph
    of its opening cell."""
    number: int
    stem: str
    title: str
    prerequisites: str

    @property
    def notebook(self) -> Path:
        return LESSONS / f"{self.stem}.ipynb"

    @property
    def source(self) -> Path:
        return LESSONS / f"{self.stem}.py"


def _paragraph(text: str, label: str) -> str:
    """The paragraph that starts with **label.** in a markdown text, joined onto one line."""
    match = re.search(rf"\*\*{re.escape(label)}\.\*\*(.*?)(?:\n\s*\n|\Z)", text, re.S)
    return " ".join(match.group(1).split()) if match else ""


def read_lessons(only=None) -> list[Lesson]:
    """Every lessons/NN_name.ipynb (those whose name contains a key of `only`, when given)."""
    import nbformat

    found = []
    for path in sorted(LESSONS.glob("[0-9][0-9]_*.ipynb")):
        if only and not any(key in path.name for key in only):
            continue
        nb = nbformat.read(path, as_version=4)
        first = next((c.source for c in nb.cells if c.cell_type == "markdown"), "")
        title = next((line[2:].strip() for line in first.splitlines() if line.startswith("# ")),
                     path.stem)
        found.append(Lesson(int(path.name[:2]), path.stem, title,
                            _paragraph(first, "Prerequisites")))
    return found


def code_cells(nb) -> list[str]:
    """The sources of a notebook's code cells: what decides its outputs."""
    return [c.source.strip() for c in nb.cells if c.cell_type == "code"]


def library_digest() -> str:
    """SHA-256 of the library's source (every tinygan/**/*.py and the assets)."""
    digest = hashlib.sha256()
    package = ROOT / "tinygan"
    for path in sorted(package.rglob("*")):
        if path.is_file() and (path.suffix == ".py" or path.parent.name == "assets"):
            digest.update(path.relative_to(package).as_posix().encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def execution_key(nb, mode: str, library: str) -> str:
    """What an execution's outputs depend on: the mode, the code cells and the library."""
    text = json.dumps({"mode": mode, "code": code_cells(nb), "library": library})
    return hashlib.sha256(text.encode()).hexdigest()


def executed_mode(nb) -> str | None:
    """"fast" or "full": the book's stamp, else the mode line the lesson printed first."""
    stamp = nb.metadata.get("tinygan_book", {}).get("mode")
    if stamp:
        return stamp
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                match = MODE_LINE.search(out.get("text", ""))
                if match:
                    return match.group(1)
    return None


def merge_outputs(current, executed):
    """The current notebook (its prose as it is now) with the outputs of `executed`, whose
    code cells must be the same; None when they are not."""
    if code_cells(current) != code_cells(executed):
        return None
    merged = current.copy()
    merged.cells = [c.copy() for c in current.cells]
    done = iter([c for c in executed.cells if c.cell_type == "code"])
    for cell in merged.cells:
        if cell.cell_type == "code":
            source = next(done)
            cell.outputs = source.get("outputs", [])
            cell.execution_count = source.get("execution_count")
    merged.metadata = dict(current.metadata, tinygan_book=executed.metadata.get("tinygan_book",
                                                                               {}))
    return merged


# ---------------------------------------------------------------- executing


def kernel_name() -> str:
    """$TINYGAN_LESSON_KERNEL (a kernel of a [lessons]-only environment, as in .ci/run), else
    python3."""
    return os.environ.get("TINYGAN_LESSON_KERNEL", "python3")


def _kernel_env(mode: str, figures: Path) -> dict:
    env = dict(os.environ, TINYGAN_FIGURES_DIR=str(figures), PYDEVD_DISABLE_FILE_VALIDATION="1",
               # pictures shown inline, whatever the calling shell's matplotlib backend
               MPLBACKEND="module://matplotlib_inline.backend_inline")
    if mode == "fast":
        env["TINYGAN_FAST"] = "1"
    else:
        env.pop("TINYGAN_FAST", None)
    return env


def execute(lesson: Lesson, mode: str, figures: Path, timeout: int, kernel: str):
    """Run one lesson top to bottom in a Jupyter kernel, with lessons/ as its working folder;
    returns (notebook with outputs, error message or None). A failing lesson keeps the
    outputs up to the failing cell, its traceback included."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(lesson.notebook, as_version=4)
    figures.mkdir(parents=True, exist_ok=True)
    client = NotebookClient(nb, timeout=timeout, kernel_name=kernel,
                            resources={"metadata": {"path": str(LESSONS)}})
    try:
        client.execute(env=_kernel_env(mode, figures))
    except Exception as e:  # noqa: BLE001 - CellExecutionError and kernel deaths alike
        lines = str(e).strip().splitlines()
        return nb, lines[-1] if lines else type(e).__name__
    return nb, None


def _commit() -> str:
    from .viz import provenance
    return provenance()["tinygan-commit"]


def executed_lesson(lesson: Lesson, mode: str, cache: Path, reuse: Path | None, library: str,
                    timeout: int, kernel: str):
    """The lesson with outputs: from the cache when its key holds, else from `reuse` (an
    executed copy of the same code in the same mode), else executed now (and cached).
    Returns (notebook, how: "cached", "reused" or "executed", error or None)."""
    import nbformat

    current = nbformat.read(lesson.notebook, as_version=4)
    key = execution_key(current, mode, library)
    cached = cache / f"{lesson.stem}.ipynb"
    if cached.exists():
        old = nbformat.read(cached, as_version=4)
        merged = merge_outputs(current, old)
        if merged is not None and old.metadata.get("tinygan_book", {}).get("key") == key:
            return merged, "cached", None
    if reuse is not None and (reuse / f"{lesson.stem}.ipynb").exists():
        other = nbformat.read(reuse / f"{lesson.stem}.ipynb", as_version=4)
        merged = merge_outputs(current, other)
        if merged is None:
            log.warning("%s: %s holds other code than the lesson now; running it",
                        lesson.stem, reuse)
        elif executed_mode(other) != mode:
            log.warning("%s: %s ran in %s mode, not %s; running it", lesson.stem, reuse,
                        executed_mode(other), mode)
        else:
            merged.metadata["tinygan_book"] = {"mode": mode, "from": str(reuse)}
            return merged, "reused", None
    start = time.perf_counter()
    nb, error = execute(lesson, mode, cache / "figures", timeout, kernel)
    seconds = time.perf_counter() - start
    nb.metadata["tinygan_book"] = {"mode": mode, "key": key, "commit": _commit(),
                                   "seconds": round(seconds, 1), "error": error,
                                   "executed": time.strftime("%Y-%m-%d %H:%M")}
    if error is None:
        from .io import write_atomically
        cache.mkdir(parents=True, exist_ok=True)
        write_atomically(cached, nbformat.writes(nb).encode())
    return nb, "executed", error


# ---------------------------------------------------------------- the Sphinx source tree


def _write(path: Path, text: str) -> None:
    """Write a text file only when it changes, so Sphinx rereads only what changed."""
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _copy(source: Path, dest: Path) -> None:
    """Copy a file unless dest already holds the same bytes."""
    if dest.exists() and dest.stat().st_size == source.stat().st_size and \
            dest.read_bytes() == source.read_bytes():
        return
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, dest)


def _readme_section(readme: str, heading: str | None) -> str:
    """README's opening paragraph (heading None) or the body of its `## heading` section."""
    if heading is None:
        body = readme.split("\n# ", 1)[-1].split("\n", 1)[1] if readme.startswith("# ") \
            else readme
        return body.strip().split("\n\n", 1)[0].strip()
    match = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", readme, re.S | re.M)
    return match.group(1).strip() if match else ""


def lesson_map(lessons: list[Lesson], link=lambda lesson: f"lessons/{lesson.stem}.ipynb") -> str:
    """One line per lesson: its title, linked, and its prerequisites, with every "Lesson N"
    in them linked to that lesson."""
    pages = {lesson.number: link(lesson) for lesson in lessons}

    def linked(match):
        number = int(match.group(2))
        return f"[{match.group(1)} {number}]({pages[number]})" if number in pages else \
            match.group(0)

    lines = []
    for lesson in lessons:
        prerequisites = re.sub(r"\b([Ll]essons?) (\d+)\b", linked, lesson.prerequisites)
        lines.append(f"- **[{lesson.title}]({pages[lesson.number]})**. "
                     f"*Prerequisites:* {prerequisites or 'none.'}")
    return "\n".join(lines)


def landing_page(lessons: list[Lesson], mode: str, commit: str) -> str:
    """book/index.md with its markers filled: README's opening and quick start, the lesson map,
    and what this build is."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    fills = {
        "intro": _readme_section(readme, None),
        "quick-start": _readme_section(readme, "Quick start"),
        "lesson-map": lesson_map(lessons),
        "build": (f"This build ran the lessons in **{mode} mode** at commit `{commit[:12]}`"
                  + (", with short runs: the numbers and pictures mean little, and the "
                     "lessons' text quotes full-mode numbers (`tinygan book` without "
                     "`--fast` runs them in full)." if mode == "fast" else ".")),
    }
    template = (BOOK / "index.md").read_text(encoding="utf-8")
    unknown = set(MARKER.findall(template)) - set(fills)
    if unknown:
        raise BookError(f"book/index.md has unknown markers {sorted(unknown)}; known: "
                        f"{sorted(fills)}")
    return MARKER.sub(lambda m: fills[m.group(1)], template)


def lesson_page(nb, lesson: Lesson, mode: str):
    """The executed notebook as the book shows it: under the title, links to the lesson's
    notebook and source, and what run the outputs come from."""
    nb = nb.copy()
    nb.cells = [c.copy() for c in nb.cells]
    stamp = nb.metadata.get("tinygan_book", {})
    run = f"run in {mode} mode"
    if stamp.get("commit"):
        run += f" at commit `{stamp['commit'][:12]}`"
    if stamp.get("seconds") is not None:
        run += f", {stamp['seconds']:.0f} s"
    lines = [f"*Sources:* {{download}}`{lesson.stem}.ipynb <../sources/{lesson.stem}.ipynb>` "
             f"(the notebook, without outputs) · {{download}}`{lesson.stem}.py "
             f"<../sources/{lesson.stem}.py>` (the jupytext source). *Outputs:* {run}."]
    if mode == "fast":
        lines.append("\n```{admonition} Fast mode\nThis page was built with `TINYGAN_FAST=1`: "
                     "short runs whose numbers and pictures mean little. The text quotes "
                     "full-mode numbers.\n```")
    if stamp.get("error"):
        lines.append(f"\n```{{warning}}\nThis lesson failed while the book was built: "
                     f"{stamp['error']}\n```")
    first = next(c for c in nb.cells if c.cell_type == "markdown")
    head, _, rest = first.source.partition("\n")
    first.source = "\n".join([head, "", *lines, rest])
    return nb


# ---------------------------------------------------------------- the API reference


def _public_modules() -> list:
    """Every importable module of the package except __main__, in name order."""
    import tinygan
    names = ["tinygan"] + [m.name for m in pkgutil.walk_packages(tinygan.__path__, "tinygan.")
                           if not m.name.endswith("__main__") and m.name != "tinygan.book"]
    modules = []
    for name in sorted(names):
        try:
            modules.append(importlib.import_module(name))
        except Exception as e:  # noqa: BLE001 - e.g. an optional dependency: leave it out
            log.warning("API reference: cannot import %s (%s); left out", name, e)
    return modules


def _listed(module) -> list[str]:
    """A module's public names: its __all__, else the classes and functions it defines."""
    if hasattr(module, "__all__"):
        return list(module.__all__)
    package = hasattr(module, "__path__")  # a package's namespace is its re-exports
    return [n for n, obj in vars(module).items() if not n.startswith("_")
            and (inspect.isclass(obj) or inspect.isfunction(obj))
            and (package or getattr(obj, "__module__", None) == module.__name__)]


def api_names() -> tuple[dict, dict]:
    """({module name: [documented names it lists]}, {canonical name: (object, home module)}).
    Each public class and function is documented once, under its shortest public name
    (`tinygan.grad`, `tinygan.nn.Linear`: a package's re-export beats the defining module's
    path) and listed on the page of the module that defines it."""
    modules = _public_modules()
    module_names = {m.__name__ for m in modules}
    objects = {}   # id -> (object, [aliases], home)
    listing = {}
    for module in modules:
        names = []
        for name in _listed(module):
            obj = getattr(module, name, None)
            if not (inspect.isclass(obj) or inspect.isfunction(obj)) or \
                    not str(getattr(obj, "__module__", "")).startswith("tinygan") or \
                    f"{module.__name__}.{name}" in module_names:  # tg.tensor, not the module
                continue
            entry = objects.setdefault(id(obj), (obj, [], obj.__module__))
            entry[1].append(f"{module.__name__}.{name}")
            names.append(id(obj))
        listing[module.__name__] = names
    canonical = {}
    for key, (obj, aliases, home) in objects.items():
        defining = f"{home}.{obj.__name__}"
        best = min(aliases, key=lambda a: (a.count("."), a != defining, a))
        home = home if home in listing else aliases[0].rsplit(".", 1)[0]
        canonical[key] = (best, obj, home)
    modules_out = {name: [canonical[k][0] for k in keys] for name, keys in listing.items()}
    return modules_out, {name: (obj, home) for name, obj, home in canonical.values()}


def _title(text: str) -> str:
    escaped = text[:-1] + "\\_" if text.endswith("_") else text
    return f"{escaped}\n{'=' * len(escaped)}\n"


def _page_name(name: str, taken: set) -> str:
    """The file name of an object's page; case-insensitive file systems must tell
    `tinygan.tensor.Exp` (the Function) from `tinygan.tensor.exp` (its wrapper)."""
    page = name
    while page.lower() in taken:
        page += "_"
    taken.add(page.lower())
    return page


def _module_groups(modules) -> dict:
    """{heading: module names} for the API index: tinygan and its plain modules first, then one
    group per subpackage (tinygan.nn, tinygan.gan, ...)."""
    top = "tinygan and its modules"
    packages = {".".join(n.split(".")[:2]) for n in modules if n.count(".") >= 2}
    groups = {top: []}
    for name in modules:
        head = ".".join(name.split(".")[:2])
        groups.setdefault(head if head in packages else top, []).append(name)
    return groups


def api_sources(dest: Path) -> int:
    """Write the API reference's reStructuredText pages into dest (index, one page per module,
    one per object); returns how many pages."""
    modules, objects = api_names()
    taken = {name.lower() for name in modules} | {"index"}
    pages = {name: _page_name(name, taken) for name in sorted(objects)}
    written = {"index"}
    index = [_title("API reference"),
             "Generated from the docstrings. Each public class and function has a page, under "
             "the shortest name it can be imported by (``tinygan.grad``, ``tinygan.nn.Linear``, "
             "``tinygan.gan.trainer.Trainer``), listed on the page of the module that "
             "defines it; the search box finds them by name. The engine a student reads in one "
             "sitting is :mod:`tinygan.tensor` and :mod:`tinygan.ops`.\n"]
    for group, names in _module_groups(modules).items():
        index += [group, "-" * len(group), "", ".. autosummary::", ""]
        index += [f"   {name}" for name in names] + [""]
    _write(dest / "index.rst", "\n".join(index) + "\n")
    for name, listed in modules.items():
        # module and object pages are orphans: reached from these tables and the search, not
        # from the sidebar (a sidebar entry per page makes every page of the book slow to write)
        lines = [":orphan:\n", _title(name), f".. automodule:: {name}\n"]
        if listed:  # a name right under this module is written relative to it
            lines += [".. autosummary::\n"] + [
                f"   {n[len(name) + 1:] if n.rsplit('.', 1)[0] == name else n}"
                for n in listed] + [""]
        _write(dest / f"{name}.rst", "\n".join(lines))
        written.add(name)
    for name, (obj, home) in objects.items():
        module, short = name.rsplit(".", 1)
        kind = "autoclass" if inspect.isclass(obj) else "autofunction"
        options = "   :members:\n   :show-inheritance:\n" if kind == "autoclass" else ""
        text = (f":orphan:\n\n{_title(name)}\n.. currentmodule:: {module}\n\n"
                f".. {kind}:: {short}\n{options}\nDefined in :mod:`{obj.__module__}`.\n")
        _write(dest / f"{pages[name]}.rst", text)
        written.add(pages[name])
    for stale in dest.glob("*.rst"):
        if stale.stem not in written:
            stale.unlink()
    return len(written)


# ---------------------------------------------------------------- building


def missing_builder() -> list[str]:
    """The [book] extra's modules that this Python cannot import."""
    return [m for m in BUILDER_MODULES if importlib.util.find_spec(m) is None]


@dataclasses.dataclass
class BookResult:
    """What a build made: the landing page, the lessons and how each got its outputs
    ({stem: "executed" | "cached" | "reused"}), the lessons that failed, the Sphinx warnings
    and the seconds each phase took."""
    index: Path
    lessons: dict
    failed: dict
    warnings: list
    seconds: dict


def stage(out: Path, lessons: list[Lesson], notebooks: dict, mode: str, figures: Path) -> Path:
    """Assemble the tree Sphinx reads in out/src; returns it."""
    import nbformat

    src = out / "src"
    _write(src / "index.md", landing_page(lessons, mode, _commit()))
    keep = set()
    for lesson in lessons:
        page = lesson_page(notebooks[lesson.stem], lesson, mode)
        _write(src / "lessons" / f"{lesson.stem}.ipynb", nbformat.writes(page))
        for source in (lesson.notebook, lesson.source):
            _copy(source, src / "sources" / source.name)
        keep.add(lesson.stem)
    for old in (src / "lessons").glob("*.ipynb"):  # a lesson left out by --only
        if old.stem not in keep:
            old.unlink()
    drawn = {p.name: p for p in figures.glob("*") if p.suffix in (".png", ".gif")} \
        if figures.exists() else {}
    for path in sorted(FIGURES.glob("*")):
        if path.suffix in (".png", ".gif"):
            _copy(drawn.pop(path.name, path), src / "figures" / path.name)
    for name, path in drawn.items():
        _copy(path, src / "figures" / name)
    return src


def sphinx(src: Path, out: Path, quiet: bool = True) -> list[str]:
    """Run `python -m sphinx` (HTML builder, book/conf.py) on src into out/html; returns the
    warnings. Raises BookError when Sphinx fails."""
    warnings_file = out / "sphinx-warnings.log"
    command = [sys.executable, "-m", "sphinx", "-b", "html", "-c", str(BOOK), "-j", "auto",
               "-d", str(out / "doctrees"), "-w", str(warnings_file), "--keep-going",
               str(src), str(out / "html")]
    if quiet:
        command.insert(3, "-q")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT)] + [
        p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    (out / "sphinx.log").write_text(done.stdout + done.stderr, encoding="utf-8")
    warnings = [line for line in warnings_file.read_text(encoding="utf-8").splitlines()
                if "WARNING" in line or "ERROR" in line] if warnings_file.exists() else []
    if done.returncode != 0 and not (out / "html" / "index.html").exists():
        raise BookError(f"Sphinx failed (exit {done.returncode}); see {out / 'sphinx.log'}:\n"
                        + "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:]))
    return warnings


@contextlib.contextmanager
def _timed(seconds: dict, phase: str):
    start = time.perf_counter()
    yield
    seconds[phase] = round(time.perf_counter() - start, 1)


def build(fast: bool = False, out=None, only=None, executed=None, timeout: int = 3600,
          kernel: str | None = None) -> BookResult:
    """Build the book: execute (or reuse) every lesson in the mode asked for, assemble the
    Sphinx sources, run Sphinx. Returns a BookResult; the book is out/html/index.html."""
    missing = missing_builder()
    if missing:
        raise BookError(f"the book needs the [book] extra (missing: {', '.join(missing)}): "
                        f"pip install -e \".[book]\"")
    mode = "fast" if fast else "full"
    out = Path(out or DEFAULT_OUT).resolve()
    lessons = read_lessons(only)
    if not lessons:
        raise BookError(f"no lessons in {LESSONS} match {only}")
    cache = out / "executed" / mode
    library = library_digest()
    kernel = kernel or kernel_name()
    seconds, notebooks, how, failed = {}, {}, {}, {}
    with _timed(seconds, "lessons"):
        for lesson in lessons:
            start = time.perf_counter()
            nb, how[lesson.stem], error = executed_lesson(
                lesson, mode, cache, Path(executed) if executed else None, library, timeout,
                kernel)
            notebooks[lesson.stem] = nb
            log.info("%s: %s (%.0f s)%s", lesson.stem, how[lesson.stem],
                     time.perf_counter() - start, f"; FAILED: {error}" if error else "")
            if error:
                failed[lesson.stem] = error
    with _timed(seconds, "api"):
        pages = api_sources(out / "src" / "api")
        log.info("API reference: %d pages", pages)
    with _timed(seconds, "stage"):
        src = stage(out, lessons, notebooks, mode, cache / "figures")
    with _timed(seconds, "sphinx"):
        warnings = sphinx(src, out)
    log.info("Sphinx: %d warnings (%s)", len(warnings), out / "sphinx-warnings.log")
    return BookResult(out / "html" / "index.html", how, failed, warnings, seconds)
