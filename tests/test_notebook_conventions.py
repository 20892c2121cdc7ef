"""The chapters follow CONTRIBUTING's notebook conventions (issue 6), and the provenance page is current.

Checked for every notebooks/*.ipynb: the first cell is the markdown title ``# N. Title`` with N
the file's number; the first code cell is exactly CONTRIBUTING's set-up cell, whose install URL
is ``git+`` + ``repository.url`` from _config.yml; the notebook is listed in _toc.yml; every code
cell was executed, in order, in one fresh kernel (counts 1, 2, 3, ...); ``make execute`` recorded
its provenance; book/provenance.md matches the notebooks' metadata; and the built page's "Open in
Colab" launch link points at the notebook's real path on the repository's branch.
"""
from __future__ import annotations

import json
import os
import re
import sys
import textwrap
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from vlmlab import provenance_page  # noqa: E402

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
def test_provenance_recorded(path):
    meta = _read(path)["metadata"].get("vlmlab") or {}
    prov = meta.get("provenance") or {}
    missing = [k for k in ("device", "device_name", "scale", "torch", "python", "date") if not prov.get(k)]
    assert not missing and isinstance(meta.get("seconds"), (int, float)), (
        f"{path.name}: metadata.vlmlab lacks {missing or ['seconds']}: run `make execute NB={path.relative_to(ROOT)}`")


def test_provenance_page_is_current():
    page = ROOT / provenance_page.PAGE
    chapters = [provenance_page.read_chapter(p) for p in provenance_page.toc_notebooks(ROOT)]
    chapters = [provenance_page.ChapterProvenance(c.path.relative_to(ROOT), c.title, c.provenance, c.seconds)
                for c in chapters]
    assert page.is_file() and page.read_text(encoding="utf-8") == provenance_page.render(chapters), (
        "book/provenance.md is stale: run `.venv/bin/python -m vlmlab.provenance_page`")


def test_provenance_page_rows(tmp_path):
    """A hand-made book: a recorded chapter and an unrecorded one, in _toc.yml order."""
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "_toc.yml").write_text("root: book/intro\nchapters:\n  - file: notebooks/02_b\n"
                                       "  - file: notebooks/01_a.ipynb\n  - file: notebooks/09_missing\n")
    prov = {"device": "cuda", "device_name": "NVIDIA H100 80GB HBM3", "device_memory_bytes": 80 * 2**30,
            "scale": "full", "torch": "2.11.0", "cuda": "12.8", "python": "3.12.1", "date": "2026-11-27"}
    cell = {"cell_type": "markdown", "metadata": {}}
    (tmp_path / "notebooks" / "01_a.ipynb").write_text(json.dumps({"cells": [{**cell, "source": ["# 1. Alpha"]}],
                                                                     "metadata": {"vlmlab": {"provenance": prov, "seconds": 12.34}}}))
    (tmp_path / "notebooks" / "02_b.ipynb").write_text(json.dumps({"cells": [{**cell, "source": ["# 2. Beta | x"]}],
                                                                     "metadata": {}}))
    (tmp_path / "book").mkdir()
    text = provenance_page.write_page(tmp_path).read_text()
    rows = [line for line in text.splitlines() if line.startswith("| [")]
    assert rows == [
        "| [2. Beta \\| x](../notebooks/02_b.ipynb) | not recorded: run `make execute NB=notebooks/02_b.ipynb` | | | | |",
        "| [1. Alpha](../notebooks/01_a.ipynb) | NVIDIA H100 80GB HBM3, 80.0 GiB | Python 3.12.1, torch 2.11.0, CUDA 12.8 "
        "| full | 2026-11-27 | 12.3 s |",
    ]
    assert "Whole book: 12.3 s of execution over 1 chapter." in text


def test_provenance_page_needs_a_toc(tmp_path):
    with pytest.raises(FileNotFoundError, match="_toc.yml"):
        provenance_page.toc_notebooks(tmp_path)


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
