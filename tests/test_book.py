"""The book (`tinygan book`, tinygan/book.py): the pieces that need no builder (the lesson map,
outputs kept across prose edits, the API's page names), and the book itself in a real browser:
built in fast mode into a temporary folder, every page opened in headless Chromium (Debian's
/usr/bin/chromium through its chromedriver, by Selenium) must load without console errors,
show every image (natural width > 0), have its math typeset by MathJax (no raw $$, no MathJax
error), load nothing from the network, and link only to files and anchors that exist.
Screenshots of the landing page and of a lesson go to the temporary folder, or to
$TINYGAN_BOOK_SHOTS when set, with a report.json of the counts. TINYGAN_BOOK_DIR=OUT checks the
book already built in OUT (e.g. the full one, `tinygan book` into book/_build) instead."""
import html.parser
import importlib.util
import json
import os
import shutil
import time
import urllib.parse
from pathlib import Path

import pytest

from tinygan import book

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SHOT_LESSON = "03_toy1d"


# ---------------------------------------------------------------- no builder needed


def test_every_lesson_is_read_with_its_title_and_prerequisites():
    lessons = book.read_lessons()
    assert [lesson.number for lesson in lessons] == sorted(lesson.number for lesson in lessons)
    assert lessons and len({lesson.number for lesson in lessons}) == len(lessons)
    for lesson in lessons:
        assert lesson.source.exists(), f"{lesson.notebook.name} has no {lesson.source.name}"
        assert lesson.title.startswith(f"Lesson {lesson.number} "), lesson
        assert lesson.prerequisites, f"{lesson.stem}: no **Prerequisites.** paragraph"


def test_lesson_map_links_each_lesson_and_the_lessons_it_needs():
    lessons = [book.Lesson(1, "01_a", "Lesson 1 — A", "Derivatives."),
               book.Lesson(2, "02_b", "Lesson 2 — B", "Lesson 1 (autograd); lesson 9 (absent).")]
    lines = book.lesson_map(lessons).splitlines()
    assert len(lines) == 2
    assert "[Lesson 1 — A](lessons/01_a.ipynb)" in lines[0] and "Derivatives." in lines[0]
    assert "[Lesson 1](lessons/01_a.ipynb) (autograd)" in lines[1]
    assert "lesson 9 (absent)" in lines[1]  # no such lesson: left as text


def test_outputs_follow_the_code_and_survive_an_edit_of_the_prose():
    nbformat = pytest.importorskip("nbformat")
    v4 = nbformat.v4
    executed = v4.new_notebook(cells=[v4.new_markdown_cell("# Old title"),
                                      v4.new_code_cell("print('full mode')")])
    executed.cells[1].outputs = [v4.new_output("stream", name="stdout", text="full mode\n")]
    current = v4.new_notebook(cells=[v4.new_markdown_cell("# New title, same code"),
                                     v4.new_code_cell("print('full mode')")])
    merged = book.merge_outputs(current, executed)
    assert merged.cells[0].source == "# New title, same code"
    assert merged.cells[1].outputs[0]["text"] == "full mode\n"
    assert book.executed_mode(executed) == "full"
    changed = v4.new_notebook(cells=[v4.new_code_cell("print('other code')")])
    assert book.merge_outputs(changed, executed) is None
    library = book.library_digest()
    assert book.execution_key(current, "full", library) == \
        book.execution_key(executed, "full", library)
    assert book.execution_key(current, "fast", library) != \
        book.execution_key(current, "full", library)


def test_api_names_are_the_short_public_ones():
    modules, objects = book.api_names()
    for name in ("tinygan.grad", "tinygan.Tensor", "tinygan.nn.Linear", "tinygan.nn.Module",
                 "tinygan.functional.relu" if "tinygan.functional.relu" in objects else
                 "tinygan.relu", "tinygan.optim.Adam", "tinygan.gan.trainer.Trainer"):
        assert name in objects, f"{name} has no API page"
    assert "tinygan.tensor.grad" not in objects  # documented once, as tinygan.grad
    assert objects["tinygan.nn.Linear"][1] == "tinygan.nn.layers"  # listed where defined
    assert "tinygan.nn.Linear" in modules["tinygan.nn.layers"]


# ---------------------------------------------------------------- the book in a browser


def _browser_or_skip():
    missing = book.missing_builder()
    if missing:
        pytest.skip(f"the [book] extra is not installed (missing {missing})")
    if importlib.util.find_spec("selenium") is None:
        pytest.skip("selenium (the [book] extra) is not installed")
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            pytest.skip(f"{path} is absent (apt-get install chromium chromium-driver)")


def _driver(profile: Path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                 f"--user-data-dir={profile}", "--window-size=1280,1000"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(60)
    return driver


class _Anchors(html.parser.HTMLParser):
    """The ids and names of a page's elements: what a #fragment may point at."""

    def __init__(self):
        super().__init__()
        self.anchors = set()

    def handle_starttag(self, tag, attrs):
        for key, value in attrs:
            if key in ("id", "name") and value:
                self.anchors.add(value)


#: in the page, after it loaded: wait for every image and for MathJax, then report
PAGE_PROBE = """
const done = arguments[arguments.length - 1];
const images = Array.from(document.images);
images.forEach(img => { img.loading = "eager"; });
const loaded = images.map(img => img.complete ? Promise.resolve() :
  new Promise(ok => { img.addEventListener("load", ok); img.addEventListener("error", ok); }));
const typeset = (window.MathJax && MathJax.startup && MathJax.startup.promise) ?
  MathJax.startup.promise : Promise.resolve();
Promise.all(loaded.concat([typeset])).then(() => {
  const math = Array.from(document.querySelectorAll("span.math, div.math"));
  const external = Array.from(document.querySelectorAll("script[src], link[href], img[src]"))
    .map(e => e.src || e.href).filter(u => /^(https?:)?\\/\\//.test(u) && !u.startsWith("file:"));
  done({
    images: images.map(img => [img.currentSrc || img.src, img.naturalWidth]),
    math: math.length,
    typeset: math.filter(e => e.querySelector("mjx-container")).length,
    mathErrors: document.querySelectorAll("mjx-merror").length,
    mathjax: !!window.MathJax,
    rawDollars: document.body.innerText.includes("$$"),
    links: Array.from(document.querySelectorAll("a[href]")).map(a => a.href),
    external: external,
    title: document.title,
  });
}, err => done({error: String(err)}));
"""


def _check_link(href: str, site: Path, anchors: dict) -> str | None:
    """None when an internal link resolves to a file of the build (and its anchor)."""
    url = urllib.parse.urlparse(href)
    if url.scheme != "file":
        return None  # http(s), mailto: not internal
    path = Path(urllib.parse.unquote(url.path))
    if not path.is_file() or site not in path.parents:
        return f"{href}: no such file in the build"
    if url.fragment and path.suffix == ".html":
        if path not in anchors:
            parser = _Anchors()
            parser.feed(path.read_text(encoding="utf-8"))
            anchors[path] = parser.anchors
        if urllib.parse.unquote(url.fragment) not in anchors[path]:
            return f"{href}: no #{url.fragment} in {path.name}"
    return None


@pytest.mark.slow
def test_the_book_builds_in_fast_mode_and_every_page_passes_in_a_browser(tmp_path,
                                                                         monkeypatch):
    _browser_or_skip()
    monkeypatch.setenv("TINYGAN_FAST", "1")
    shots = Path(os.environ.get("TINYGAN_BOOK_SHOTS") or tmp_path / "shots")
    shots.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    if os.environ.get("TINYGAN_BOOK_DIR"):  # check a book already built (a full one, say)
        index = Path(os.environ["TINYGAN_BOOK_DIR"]) / "html" / "index.html"
        assert index.exists(), f"no book at {index}"
        result = book.BookResult(index, {}, {}, [], {})
    else:
        result = book.build(fast=True, out=tmp_path / "book", timeout=600)
    build_seconds = time.perf_counter() - start
    assert not result.failed, f"lessons failed in the book's fast build: {result.failed}"
    site = result.index.parent
    pages = sorted(p for p in site.rglob("*.html")
                   if not any(part.startswith("_") for part in p.relative_to(site).parts))
    lessons = [p for p in pages if p.parent.name == "lessons"]
    assert len(lessons) == len(book.read_lessons())
    for name in ("tinygan.grad", "tinygan.nn.Linear", "tinygan.gan.trainer.Trainer"):
        assert (site / "api" / f"{name}.html").exists(), f"no API page for {name}"

    problems, anchors, counts = [], {}, {"pages": len(pages), "images": 0, "links": 0,
                                          "math pages": 0, "external links": 0}
    driver = _driver(tmp_path / "chromium-profile")
    try:
        browse = time.perf_counter()
        for page in pages:
            name = page.relative_to(site).as_posix()
            driver.get(page.as_uri())
            probe = driver.execute_async_script(PAGE_PROBE)
            if "error" in probe:
                problems.append(f"{name}: the page probe failed: {probe['error']}")
                continue
            for entry in driver.get_log("browser"):
                if entry.get("level") == "SEVERE":
                    problems.append(f"{name}: console error: {entry.get('message')}")
            for src, width in probe["images"]:
                counts["images"] += 1
                if not width:
                    problems.append(f"{name}: image not loaded: {src}")
            if probe["math"]:
                counts["math pages"] += 1
                if not probe["mathjax"] or probe["typeset"] < probe["math"]:
                    problems.append(f"{name}: {probe['math'] - probe['typeset']} of "
                                    f"{probe['math']} formulas not typeset by MathJax")
            if probe["mathErrors"]:
                problems.append(f"{name}: {probe['mathErrors']} MathJax errors (bad TeX)")
            if probe["rawDollars"]:
                problems.append(f"{name}: raw $$ in the visible text")
            if probe["external"]:
                problems.append(f"{name}: loads from the network: {probe['external'][:3]}")
            for href in probe["links"]:
                if href.startswith("file:"):
                    counts["links"] += 1
                else:
                    counts["external links"] += 1
                broken = _check_link(href, site, anchors)
                if broken:
                    problems.append(f"{name}: broken link {broken}")
        counts["browse seconds"] = round(time.perf_counter() - browse, 1)

        driver.get((site / "search.html").as_uri() + "?q=Linear")
        found = 0
        for _ in range(60):
            found = driver.execute_script(
                "return document.querySelectorAll('#search-results li').length")
            if found:
                break
            time.sleep(0.5)
        counts["search results for Linear"] = found
        if not found:
            problems.append("search.html?q=Linear found nothing")

        driver.get(result.index.as_uri())
        driver.execute_async_script(PAGE_PROBE)
        driver.save_screenshot(str(shots / "landing.png"))
        lesson = next((p for p in lessons if p.stem == SHOT_LESSON), lessons[0])
        driver.get(lesson.as_uri())
        driver.execute_async_script(PAGE_PROBE)
        driver.save_screenshot(str(shots / "lesson.png"))
        driver.execute_script("const m = document.querySelector('.cell_output img') || "
                              "document.querySelector('mjx-container');"
                              "if (m) m.scrollIntoView({block: 'center'});")
        time.sleep(0.3)
        driver.save_screenshot(str(shots / "lesson-figure.png"))
    finally:
        driver.quit()
        shutil.rmtree(tmp_path / "chromium-profile", ignore_errors=True)
    counts.update(problems=len(problems), build_seconds=round(build_seconds, 1),
                  phases=result.seconds, sphinx_warnings=len(result.warnings))
    (shots / "report.json").write_text(json.dumps(counts, indent=1) + "\n")
    print(json.dumps(counts))
    assert counts["math pages"] >= len(lessons) // 2, counts  # the lessons' math reached MathJax
    assert counts["images"] > 0
    assert not problems, f"{len(problems)} problems on {len(pages)} pages:\n" + \
        "\n".join(problems[:40])
