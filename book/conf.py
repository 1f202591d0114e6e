"""Sphinx configuration of the tinygan book. `tinygan book` (tinygan/book.py) assembles the
source tree this configures (the landing page, the executed lessons, the API pages) and runs
Sphinx with this folder as its configuration directory; the lessons arrive executed, so myst-nb
never runs them itself. Everything the pages load is in the build (MathJax included, from the
sphinx-mathjax-offline package): the book works without a network."""
import importlib.util
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # autodoc documents this checkout's tinygan

import tinygan  # noqa: E402

project = "tinygan"
author = "the tinygan authors"
copyright = "tinygan authors, MIT license"
release = version = tinygan.__version__

extensions = [
    "myst_nb",                  # notebooks and MyST markdown
    "sphinx.ext.autodoc",       # the API reference from the docstrings
    "sphinx.ext.autosummary",   # the module pages' tables of their classes and functions
    "sphinx.ext.mathjax",
]
# MathJax 3 from the sphinx-mathjax-offline package (the [book] extra), copied into _static/ so
# that math renders offline; taken as static files rather than as its Sphinx extension, which
# does not declare itself safe for a parallel build
_MATHJAX = Path(importlib.util.find_spec("sphinx-mathjax-offline").origin).parent / "static"
html_static_path = [str(_MATHJAX)]
mathjax_path = "mathjax/tex-chtml.js"
exclude_patterns = ["sources/**", "**/.ipynb_checkpoints"]

# the lessons are executed by tinygan/book.py (with the lessons' kernel, and cached)
nb_execution_mode = "off"
nb_output_stderr = "show"
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3

autosummary_generate = False    # tinygan/book.py writes one page per object itself
autodoc_member_order = "bysource"
autodoc_typehints = "description"
add_module_names = False        # page titles carry the full name already

html_theme = "sphinx_book_theme"
html_title = f"tinygan {version}"
html_last_updated_fmt = None
html_theme_options = {
    "home_page_in_toc": True,
    "show_navbar_depth": 1,
    "use_download_button": True,    # the executed .ipynb of a page
    "use_fullscreen_button": False,
    "show_toc_level": 2,
}
html_show_sourcelink = False
# the theme reads the reader's choice of light or dark from localStorage; a first visit
# has none, and an empty default logs a console error. The figures are drawn on white.
html_context = {"default_mode": "light"}


# ---------------------------------------------------------------- docstrings as plain text

# a code span in `single` or ``double`` backticks, within one paragraph
_CODE = re.compile(r"(``(?:[^`\n]|\n(?!\s*\n))+``|`(?:[^`\n]|\n(?!\s*\n))+`)")
_BULLET = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s")


def _escaped(line: str) -> str:
    """One line of plain text as reStructuredText: markup characters escaped, a `span` in single
    backticks shown as code."""
    parts = _CODE.split(line)
    for j, part in enumerate(parts):
        if j % 2:
            parts[j] = part if part.startswith("``") else f"`{part}`"
        else:
            part = re.sub(r"([\\*|`])", r"\\\1", part)
            parts[j] = re.sub(r"(\w)_(?=\W|$)", r"\1\\_", part)
    return "".join(parts)


def _plain_text(app, what, name, obj, options, lines):
    """tinygan's docstrings are plain text, not reStructuredText: math such as |x| or a*b and
    names such as clip_weights_ would be read as markup, and an indented block (a loop of
    pseudo-code, a table aligned by spaces) is layout. Escape the markup characters, show a
    `span` in single backticks as code (it may run over a line break), and keep every indented
    block as it is typed (a literal block); list items keep their indented continuation lines."""
    out, literal, previous, paragraph_start, text = [], False, "", "", []

    def flush():
        if text:
            out.extend(_escaped("\n".join(text)).split("\n"))
            text.clear()

    for line in lines:
        indented = line[:1].isspace() and line.strip()
        if indented and not literal and not _BULLET.match(paragraph_start):
            literal = True
            flush()
            if not previous.rstrip().endswith("::"):
                out.extend(["", "::", ""])
        elif line.strip() and not line[:1].isspace() and literal:
            literal = False
            out.append("")
        if not line.strip():
            paragraph_start = ""
        elif not paragraph_start and not line[:1].isspace():
            paragraph_start = line
        if literal or previous.rstrip().endswith("::") and not line.strip():
            out.append(line)
        else:
            text.append(line)
        previous = line if line.strip() else previous
    flush()
    lines[:] = out


def setup(app):
    app.connect("autodoc-process-docstring", _plain_text)
