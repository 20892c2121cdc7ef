"""The "Hardware and provenance" page reads each chapter's device and time from the notebook itself.

The device comes from the set-up cell's output metadata, the time from the cell timings the
runner stamps; neither depends on which tool executed the notebook (``make execute``, the GPU
machine's own nbclient loop, ...). Expected rows are written out by hand.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from vlmlab.notebook import provenance_page  # noqa: E402
from vlmlab.notebook import setup  # noqa: E402

H100 = {"device": "cuda", "device_name": "NVIDIA H100 80GB HBM3", "device_memory_bytes": 80 * 2**30,
        "scale": "full", "torch": "2.11.0", "cuda": "12.8", "python": "3.12.1", "date": "2026-11-27"}


def _code(source: str, start: str | None, end: str | None, outputs=()) -> dict:
    timing = {"iopub.execute_input": start, "shell.execute_reply": end} if start else {}
    return {"cell_type": "code", "source": [source], "outputs": list(outputs), "execution_count": 1,
            "metadata": {"execution": timing} if timing else {}}


def _setup_output(prov: dict) -> dict:
    return {"output_type": "display_data", "data": {"text/plain": ["device ..."]},
            "metadata": {provenance_page.OUTPUT_KEY: prov}}


def _notebook(title: str, *cells) -> str:
    return json.dumps({"cells": [{"cell_type": "markdown", "metadata": {}, "source": [title]}, *cells],
                       "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


def test_seconds_run_from_first_start_to_last_end():
    nb = json.loads(_notebook("# 1. A",
                              _code("a = 1", "2026-11-27T10:00:00.500Z", "2026-11-27T10:00:02Z"),
                              _code("", None, None),  # an empty cell is never run: ignored
                              _code("b = 2", "2026-11-27T10:00:02.1Z", "2026-11-27T10:01:03.25Z")))
    assert provenance_page.execution_seconds(nb) == pytest.approx(62.75)


def test_a_cell_without_timing_means_time_not_recorded():
    nb = json.loads(_notebook("# 1. A", _code("a = 1", "2026-11-27T10:00:00Z", "2026-11-27T10:00:01Z"),
                              _code("b = 2", None, None)))
    assert provenance_page.execution_seconds(nb) is None


def test_provenance_page_rows(tmp_path):
    """A hand-made book: a recorded chapter and an unrecorded one, in _toc.yml order."""
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "book").mkdir()
    (tmp_path / "_toc.yml").write_text("root: book/intro\nchapters:\n  - file: notebooks/02_b\n"
                                       "  - file: notebooks/01_a.ipynb\n  - file: notebooks/09_missing\n")
    (tmp_path / "notebooks" / "01_a.ipynb").write_text(_notebook(
        "# 1. Alpha", _code("setup()", "2026-11-27T10:00:00Z", "2026-11-27T10:00:12.34Z", [_setup_output(H100)])))
    (tmp_path / "notebooks" / "02_b.ipynb").write_text(_notebook("# 2. Beta | x", _code("x = 1", None, None)))
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


def test_setup_outside_a_notebook_prints(capsys):
    run = setup(device="cpu", scale="ci")
    out = capsys.readouterr().out
    assert out.startswith("device   CPU") and "scale    ci" in out and run.scale == "ci"


def test_any_runner_records_what_the_page_needs(tmp_path):
    """Executed by plain nbclient (as the GPU machine's script does), not by vlmlab.execute."""
    nbformat = pytest.importorskip("nbformat")
    from nbclient import NotebookClient

    v4 = nbformat.v4
    nb = v4.new_notebook(cells=[v4.new_markdown_cell("# 1. Tiny"), v4.new_code_cell(
        f"import sys; sys.path.insert(0, {str(ROOT)!r})\n"
        "from vlmlab.notebook import setup\nrun = setup(device='cpu', scale='ci')")])
    NotebookClient(nb, kernel_name="python3", timeout=120,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    path = tmp_path / "01_tiny.ipynb"
    nbformat.write(nb, path)
    chapter = provenance_page.read_chapter(path)
    assert chapter.title == "1. Tiny"
    assert chapter.provenance["device"] == "cpu" and chapter.provenance["scale"] == "ci"
    assert chapter.seconds is not None and 0 < chapter.seconds < 120
    (output,) = nb.cells[1].outputs
    assert output.output_type == "display_data" and output.data["text/plain"].startswith("device   CPU")
