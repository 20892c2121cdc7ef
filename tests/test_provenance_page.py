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
# not `setup`: pytest < 8.1 would call a module-level `setup(module)` as a nose-style fixture
from vlmlab.notebook import setup as notebook_setup  # noqa: E402

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
        "| [1. Alpha](../notebooks/01_a.ipynb) | NVIDIA H100 80GB HBM3, 80.0 GiB | Python 3.12.1, torch 2.11.0, CUDA 12.8, "
        "vlmlab version not recorded | full | 2026-11-27 | 12.3 s |",
    ]
    assert "Whole book: 12.3 s of execution over 1 chapter." in text


def test_provenance_page_needs_a_toc(tmp_path):
    with pytest.raises(FileNotFoundError, match="_toc.yml"):
        provenance_page.toc_notebooks(tmp_path)


def test_setup_outside_a_notebook_prints(capsys):
    run = notebook_setup(device="cpu", scale="ci")
    out = capsys.readouterr().out
    assert out.startswith("device   CPU") and "scale    ci" in out and run.scale == "ci"


@pytest.mark.slow
def test_any_runner_records_what_the_page_needs(tmp_path):
    """Executed by plain nbclient (as the GPU machine's script does), not by vlmlab.notebook.execute."""
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


def test_vlmlab_version_and_commit_in_the_software_column(tmp_path):
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "book").mkdir()
    (tmp_path / "_toc.yml").write_text("root: book/intro\nchapters:\n  - file: notebooks/01_a\n  - file: notebooks/02_b\n")
    prov = dict(H100, extra={"vlmlab": "0.1.0", "commit": "1303b939402f7e7da5930a4d117ad5dee37b015d",
                             "local_changes": True})
    clean = dict(H100, extra={"vlmlab": "0.1.0", "commit": None, "local_changes": False})
    for name, p in (("01_a", prov), ("02_b", clean)):
        (tmp_path / "notebooks" / f"{name}.ipynb").write_text(_notebook(
            f"# {name}", _code("setup()", "2026-11-27T10:00:00Z", "2026-11-27T10:00:01Z", [_setup_output(p)])))
    text = provenance_page.write_page(tmp_path).read_text()
    assert "CUDA 12.8, vlmlab 0.1.0 at `1303b93` with local changes |" in text
    assert "CUDA 12.8, vlmlab 0.1.0, commit unknown |" in text


PICKS = """\
import os
try:
    import vlmlab
except ImportError:
    %pip install -q vlmlab
sizes = run.pick(ci=[128, 256],
                 full=[1024, 2048])
H, D = run.pick(ci=4, full=32), run.pick(ci=64, full=128)
t = measure(f, seconds=run.pick(ci=0.6, full=2.0))
BATCH = {CONCAT: run.pick(ci=1, full=8)}
for s in run.pick(ci=[0.5], full=[0.5, 1.0]):
    pass
"""


def test_scale_picks_are_read_from_the_code():
    """Every run.pick in a code cell, named by what it sets, choices as written (magics ignored)."""
    nb = json.loads(_notebook("# 1. A", _code(PICKS, None, None), _code("x = other.pick(ci=1, full=2)", None, None)))
    picks = [(p.name, p.ci, p.full) for p in provenance_page.scale_picks(nb)]
    assert picks == [("sizes", "[128, 256]", "[1024, 2048]"), ("H", "4", "32"), ("D", "64", "128"),
                     ("seconds=", "0.6", "2.0"), ("BATCH[CONCAT]", "1", "8"),
                     ("for s", "[0.5]", "[0.5, 1.0]")]


def test_page_lists_the_sizes_at_each_scale(tmp_path):
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "book").mkdir()
    (tmp_path / "_toc.yml").write_text("root: book/intro\nchapters:\n  - file: notebooks/01_a\n")
    (tmp_path / "notebooks" / "01_a.ipynb").write_text(_notebook("# 1. Alpha", _code(PICKS, None, None)))
    text = provenance_page.write_page(tmp_path).read_text()
    assert "## Sizes at each scale" in text
    assert "| [1. Alpha](../notebooks/01_a.ipynb) | `sizes` | `[128, 256]` | `[1024, 2048]` |" in text
    assert "|  | `H` | `4` | `32` |" in text


def test_setup_records_vlmlab_version_and_commit():
    """The version is pyproject's; the commit is the checkout's HEAD (asked of git here)."""
    import subprocess
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11

    run = notebook_setup(device="cpu", scale="ci", quiet=True)
    extra = run.provenance.as_dict()["extra"]
    assert extra["vlmlab"] == tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    if (ROOT / ".git").exists():
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
        assert extra["commit"] == head and isinstance(extra["local_changes"], bool)
