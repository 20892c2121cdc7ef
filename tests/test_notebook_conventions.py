"""The chapters follow CONTRIBUTING's notebook conventions (issue 6), and the provenance page is current.

Checked for every notebooks/*.ipynb: the first cell is the markdown title ``# N. Title`` with N
the file's number; the first code cell is exactly CONTRIBUTING's set-up cell, whose install URL
is ``git+`` + ``repository.url`` from _config.yml; the notebook is listed in _toc.yml; every code
cell was executed, in order, in one fresh kernel (counts 1, 2, 3, ...); its set-up cell
recorded its provenance and the runner its cell timings; book/provenance.md matches what the notebooks recorded; and the built page's "Open in
Colab" launch link points at the notebook's real path on the repository's branch.

Fast source-level guards for the page as a reader sees it (issue 13; tests/test_browser.py checks
the rendered pages): no glue role wrapped in backticks; code shown in the book fits 77 characters;
no cell ends in a bare ``glue(...)``; no widget or progress-bar output is left for the page to
show; figures are drawn at about the column's width with their dpi recorded; each chapter opens
with a key-results box of glued numbers; no words about how the book was made.
"""
from __future__ import annotations

import base64
import json
import os
import re
import struct
import sys
import textwrap
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from vlmlab.notebook import provenance_page  # noqa: E402

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
REPO_URL = CONFIG["repository"]["url"].rstrip("/")


def _setup_cell_from_contributing() -> str:
    text = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    match = re.search(r"first code cell is exactly the set-up cell.*?```python\n(.*?)```", text, re.S)
    assert match, "CONTRIBUTING.md no longer shows the set-up cell after 'first code cell is exactly'"
    return textwrap.dedent(match.group(1)).strip()


SETUP_CELL = _setup_cell_from_contributing()


def _toc_files() -> list[str]:
    files = []

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                files.append(str(node["file"]))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8")))
    return files


def _read(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _code_cells(nb: dict) -> list[dict]:
    return [c for c in nb["cells"] if c["cell_type"] == "code" and "".join(c["source"]).strip()]


def _ids(paths):
    return [p.name for p in paths]


def test_there_are_chapters():
    assert NOTEBOOKS, "no notebooks under notebooks/"


def test_contributing_setup_cell_installs_from_the_configured_repository():
    assert f'"git+{REPO_URL}"' in SETUP_CELL, (REPO_URL, SETUP_CELL)
    assert "VLMLAB_SOURCE" in SETUP_CELL and "run = setup()" in SETUP_CELL


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_first_cell_is_the_numbered_title(path):
    first = _read(path)["cells"][0]
    number = int(path.name.split("_", 1)[0])
    title = "".join(first["source"]).splitlines()[0] if first["source"] else ""
    assert first["cell_type"] == "markdown" and re.fullmatch(rf"# {number}\. \S.*", title), (
        f"{path.name}: first cell must be the markdown title '# {number}. Title', got {title!r}")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_first_code_cell_is_exactly_the_setup_cell(path):
    cells = _code_cells(_read(path))
    assert cells, f"{path.name} has no code cell"
    source = "".join(cells[0]["source"]).strip()
    assert source == SETUP_CELL, f"{path.name}: first code cell differs from CONTRIBUTING's set-up cell"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_listed_in_toc(path):
    entry = path.relative_to(ROOT).with_suffix("").as_posix()
    assert entry in _toc_files() or entry + ".ipynb" in _toc_files(), f"{entry} is not in _toc.yml"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_executed_top_to_bottom_in_one_kernel(path):
    counts = [c.get("execution_count") for c in _code_cells(_read(path))]
    unexecuted = [i for i, n in enumerate(counts) if n is None]
    assert not unexecuted, f"{path.name}: code cells {unexecuted} (0-based) were not executed"
    assert counts == list(range(1, len(counts) + 1)), (
        f"{path.name}: execution counts {counts} are not 1, 2, 3, ...: re-run with `make execute NB={path.relative_to(ROOT)}`")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_no_stray_string_outputs(path):
    """A cell ending in ``glue(...)`` shows the glued string in the book ('4,096'); tables and
    figures are the only values a cell should display (end such cells with ``_ = glue(...)``)."""
    stray = [i for i, cell in enumerate(_code_cells(_read(path))) for out in cell.get("outputs", [])
             if out.get("output_type") == "execute_result" and set(out.get("data", {})) == {"text/plain"}
             and "".join(out["data"]["text/plain"]).startswith(("'", '"'))]
    assert not stray, f"{path.name}: code cells {stray} (0-based, code cells only) display a bare string"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_provenance_recorded(path):
    chapter = provenance_page.read_chapter(path)
    prov = chapter.provenance or {}
    missing = [k for k in ("device", "device_name", "scale", "torch", "python", "date") if not prov.get(k)]
    assert not missing and chapter.seconds is not None, (
        f"{path.name}: the set-up cell's output lacks {missing or ['cell timings']}: "
        f"run `make execute NB={path.relative_to(ROOT)}`")


def test_provenance_page_is_current():
    page = ROOT / provenance_page.PAGE
    chapters = [provenance_page.read_chapter(p) for p in provenance_page.toc_notebooks(ROOT)]
    chapters = [provenance_page.ChapterProvenance(c.path.relative_to(ROOT), c.title, c.provenance, c.seconds,
                                                  c.picks)
                for c in chapters]
    assert page.is_file() and page.read_text(encoding="utf-8") == provenance_page.render(chapters), (
        "book/provenance.md is stale: run `make provenance`")


def test_colab_links_point_at_the_notebooks():
    """The launch button JB computes from repository.url/branch/path_to_book names the real file."""
    from tools.book_site import ensure_built

    html_dir = Path(os.environ["VLMLAB_BOOK_HTML"]) if os.environ.get("VLMLAB_BOOK_HTML") else ensure_built()
    owner_repo = urlsplit(REPO_URL).path.strip("/")
    branch = CONFIG["repository"].get("branch", "main")
    colab = CONFIG["launch_buttons"]["colab_url"].rstrip("/")
    built = [p for p in NOTEBOOKS if (html_dir / p.relative_to(ROOT).with_suffix(".html")).is_file()]
    assert built, "no chapter page was built"
    for path in built:
        html = (html_dir / path.relative_to(ROOT).with_suffix(".html")).read_text(encoding="utf-8")
        links = set(re.findall(r'href="(' + re.escape(colab) + r'/github/[^"]+)"', html))
        expected = f"{colab}/github/{owner_repo}/blob/{branch}/{path.relative_to(ROOT).as_posix()}"
        assert links == {expected}, f"{path.name}: Colab links {links}, expected {expected}"
        target = links.pop().split(f"/blob/{branch}/", 1)[1]
        assert (ROOT / target).is_file()


# --- the page as a reader sees it (issue 13) -------------------------------------------------

CODE_WIDTH = 77  # characters of code at the theme's code font in a 1280-px window
MAX_FIGURE_IN = 8.0  # drawn width; the column shows ~7 in at ~98 CSS px per inch
GLUE_IN_BACKTICKS = re.compile(r"`\{glue(:\w+)?\}`[^`]*``")
PROGRESS_TEXT = re.compile(r"\d+%\|.*\|\s*\d+/\d+|\[\d+:\d\d<")
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
MAKING_OF = re.compile(r"\b(the|this) (issue|session) (that|which) (planned|asked|set)|"
                       r"\bas the (issue|session) (set|asked|planned)|\bno network\b|"
                       r"\bwhile writing\b(?!\s+\w)|\bcould not be (read|opened|fetched) (at the vendor|while)",
                       re.I)


def _tags(cell: dict) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def _markdown(nb: dict) -> list[str]:
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown"]


def _png_inches(b64: str) -> float | None:
    data = base64.b64decode(b64)
    width = struct.unpack(">I", data[16:20])[0]
    pos = 8
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if kind == b"pHYs":
            x_per_m, _, unit = struct.unpack(">IIB", data[pos + 8:pos + 17])
            return width / (x_per_m * 0.0254) if unit == 1 else None
        if kind == b"IDAT":
            return None
        pos += 12 + length
    return None


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_no_glue_role_in_backticks(path):
    """``\x60{glue:text}\x60key\x60\x60`` renders as literal code, not as the number."""
    bad = [m.group(0) for text in _markdown(_read(path)) for m in GLUE_IN_BACKTICKS.finditer(text)]
    assert not bad, f"{path.name}: glue roles inside backticks: {bad}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_shown_code_fits_the_column(path):
    """Code the book shows (cells not tagged remove-input) has lines of at most 77 characters."""
    long = [(i, len(line), line.strip()[:50]) for i, cell in enumerate(_code_cells(_read(path)))
            if "remove-input" not in _tags(cell)
            for line in "".join(cell["source"]).splitlines() if len(line) > CODE_WIDTH]
    assert not long, f"{path.name}: code lines over {CODE_WIDTH} characters (cell, length, start): {long}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_no_cell_ends_in_a_bare_glue(path):
    """A last line ``glue(...)`` displays the glued string in the book: write ``_ = glue(...)``."""
    bad = []
    for i, cell in enumerate(_code_cells(_read(path))):
        lines = [line for line in "".join(cell["source"]).splitlines() if line.strip()]
        last_line = next((line for line in reversed(lines) if not line.startswith((" ", ")", "#"))), "")
        if last_line.split(";")[-1].strip().startswith("glue("):
            bad.append(i)
    assert not bad, f"{path.name}: code cells {bad} (0-based) end in a bare glue(...)"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_no_widget_or_progress_output_reaches_the_page(path):
    """A static page has no kernel: widget views and frozen tqdm bars are only allowed in cells
    whose output the book removes (tag remove-output)."""
    bad = []
    for i, cell in enumerate(_code_cells(_read(path))):
        if "remove-output" in _tags(cell):
            continue
        for out in cell.get("outputs", []):
            text = "".join(out.get("text", "")) + "".join(out.get("data", {}).get("text/plain", ""))
            if WIDGET_MIME in out.get("data", {}) or PROGRESS_TEXT.search(text):
                bad.append((i, text.strip()[:60]))
    assert not bad, f"{path.name}: widget or progress-bar outputs (cell, text): {bad}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_figures_are_drawn_at_the_column_width(path):
    """Figures are drawn about 7 in wide (stack panels rather than widen) and record their dpi,
    so the page shows them at full size with labels of at least 10 px."""
    bad = []
    for i, cell in enumerate(_code_cells(_read(path))):
        for out in cell.get("outputs", []):
            png = out.get("data", {}).get("image/png")
            if png:
                inches = _png_inches(png if isinstance(png, str) else "".join(png))
                if inches is None or inches > MAX_FIGURE_IN:
                    bad.append((i, None if inches is None else round(inches, 1)))
    assert not bad, f"{path.name}: figures without dpi or wider than {MAX_FIGURE_IN} in (cell, inches): {bad}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_chapter_opens_with_glued_key_results(path):
    """Right after the title: what the chapter asks, then a key-results box of glued numbers."""
    first = "".join(_read(path)["cells"][0]["source"])
    box = re.search(r"```\{admonition\} Key results\n(.*?)```", first, re.S)
    assert box, f"{path.name}: the title cell has no ```{{admonition}} Key results box"
    assert "{glue:text}" in box.group(1), f"{path.name}: the key results quote no glued number"
    prose = re.sub(r"\{glue:text\}`[^`]+`|\{cite:\w}`[^`]+`|`[^`]*`", "", box.group(1))
    typed = re.findall(r"(?<![\w.-])\d[\d,.]*(?:\s?(?:%|×|x\b|GB|GiB|MB|tokens))", prose)
    assert not typed, f"{path.name}: numbers typed in the key results instead of glued: {typed}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_no_words_about_how_the_book_was_made(path):
    nb = _read(path)
    texts = _markdown(nb) + ["".join(c["source"]) for c in _code_cells(nb)]
    bad = [m.group(0) for text in texts for m in MAKING_OF.finditer(text)]
    assert not bad, f"{path.name}: {bad}"
