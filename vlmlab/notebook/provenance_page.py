"""The book's "Hardware and provenance" page, generated from what the executed notebooks hold.

Each chapter's set-up cell (:func:`vlmlab.notebook.setup`) prints its provenance and attaches it
to that output's metadata under :data:`OUTPUT_KEY`; the kernel's runner (nbclient, which
``python -m vlmlab.notebook.execute`` and any other executor use) stamps every code cell with its start
and end times. :func:`write_page` reads both back and lists per chapter (in ``_toc.yml`` order)
the device, software versions, scale, date and execution time of the committed outputs, so the
page describes the outputs themselves whichever tool produced them. ``python -m
vlmlab.notebook.provenance_page`` regenerates the page alone. Used by ``book/provenance.md``; imports no torch.
"""
from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ..units import fmt_bytes

PAGE = Path("book") / "provenance.md"
OUTPUT_KEY = "vlmlab/provenance"  # output metadata key of the set-up cell's provenance
_TOC_FILE = re.compile(r"^\s*-?\s*file:\s*['\"]?(notebooks/[^\s'\"#]+)", re.M)


@dataclass(frozen=True)
class ChapterProvenance:
    """One row of the page: where and when a chapter's committed outputs were produced."""

    path: Path
    title: str
    provenance: dict | None
    seconds: float | None


def toc_notebooks(root: Path = Path(".")) -> list[Path]:
    """The notebooks listed in ``root/_toc.yml``, in book order, that exist on disk."""
    toc = Path(root) / "_toc.yml"
    if not toc.is_file():
        raise FileNotFoundError(f"root={str(root)!r} has no _toc.yml; pass the repository root")
    paths = []
    for entry in _TOC_FILE.findall(toc.read_text(encoding="utf-8")):
        path = Path(root) / (entry if entry.endswith(".ipynb") else entry + ".ipynb")
        if path.is_file():
            paths.append(path)
    return paths


def recorded_provenance(nb: dict) -> dict | None:
    """The provenance the set-up cell attached to its output (``OUTPUT_KEY``), or None."""
    for cell in nb.get("cells", []):
        for output in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            found = output.get("metadata", {}).get(OUTPUT_KEY)
            if found:
                return found
    return None


def _timestamp(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))  # Python < 3.11 rejects a bare 'Z'


def execution_seconds(nb: dict) -> float | None:
    """Seconds from the first code cell's start to the last one's end, as the runner stamped them.

    None when a code cell carries no timing (executed by a front end that does not record it):
    the page then says the time was not recorded rather than guess. Kernel start-up is excluded.
    """
    starts, ends = [], []
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code" or not "".join(cell.get("source", "")).strip():
            continue
        timing = cell.get("metadata", {}).get("execution") or {}
        start = timing.get("iopub.execute_input") or timing.get("iopub.status.busy")
        end = timing.get("shell.execute_reply") or timing.get("iopub.status.idle")
        if not (start and end):
            return None
        starts.append(_timestamp(start))
        ends.append(_timestamp(end))
    return (max(ends) - min(starts)).total_seconds() if starts else None


def read_chapter(path: Path) -> ChapterProvenance:
    """Title (the first markdown heading), recorded provenance and execution time of ``path``."""
    nb = json.loads(Path(path).read_text(encoding="utf-8"))
    title = Path(path).stem
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "markdown":
            match = re.search(r"^#\s+(.+)$", "".join(cell.get("source", "")), re.M)
            if match:
                title = match.group(1).strip()
                break
    return ChapterProvenance(Path(path), title, recorded_provenance(nb), execution_seconds(nb))


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _row(ch: ChapterProvenance, page: Path) -> str:
    """One table row; ``ch.path`` and ``page`` are relative to the repository root."""
    link = f"[{_cell(ch.title)}]({Path(os.path.relpath(ch.path, Path(page).parent)).as_posix()})"
    p = ch.provenance
    if not p:
        return f"| {link} | not recorded: run `make execute NB={ch.path.as_posix()}` | | | | |"
    device = p.get("device_name") or p.get("device", "?")
    if p.get("device_memory_bytes"):
        device += f", {fmt_bytes(p['device_memory_bytes'])}"
    if p.get("cpu_threads"):
        device += f", measured on {p['cpu_threads']} torch thread{'s' if p['cpu_threads'] > 1 else ''}"
    software = [f"Python {p.get('python', '?')}", f"torch {p.get('torch') or 'not installed'}"]
    if p.get("cuda"):
        software.append(f"CUDA {p['cuda']}")
    seconds = "?" if ch.seconds is None else f"{ch.seconds:.1f} s"
    return (f"| {link} | {_cell(device)} | {_cell(', '.join(software))} | {_cell(p.get('scale', '?'))} "
            f"| {_cell(p.get('date', '?'))} | {seconds} |")


def render(chapters: list[ChapterProvenance], page: Path = PAGE) -> str:
    """The page's MyST markdown: an explanation and one table row per chapter, with a total."""
    lines = [
        "# Hardware and provenance",
        "",
        "Every chapter's outputs were produced by running the notebook top to bottom in one fresh",
        "kernel (`make execute`, i.e. `python -m vlmlab.notebook.execute`). This page is generated from the",
        "executed notebooks themselves (`vlmlab.notebook.provenance_page`): the device, versions, scale and",
        "date are those the chapter's first cell printed, and the execution time runs from the",
        "start of its first code cell to the end of its last (kernel start-up excluded). Measured",
        "numbers depend on the device and the scale: `full` on a CUDA GPU, `ci` (small sizes) on a CPU.",
        "",
    ]
    if chapters:
        lines += ["| Chapter | Device | Software | Scale | Date | Execution time |",
                  "|---|---|---|---|---|---|"]
        lines += [_row(ch, Path(page)) for ch in chapters]
    else:
        lines.append("No chapter of the table of contents exists yet.")
    timed = [ch.seconds for ch in chapters if ch.seconds is not None]
    if timed:
        noun = "chapter" if len(timed) == 1 else "chapters"
        lines += ["", f"Whole book: {sum(timed):.1f} s of execution over {len(timed)} {noun}."]
    return "\n".join(lines) + "\n"


def write_page(root: Path = Path("."), page: Path = PAGE) -> Path:
    """Regenerate ``root/page`` from the notebooks listed in ``root/_toc.yml``; return its path.

    The file is only rewritten when its text changes (so an unchanged book is not rebuilt).
    """
    root = Path(root)
    chapters = []
    for path in toc_notebooks(root):
        ch = read_chapter(path)
        chapters.append(ChapterProvenance(path.relative_to(root), ch.title, ch.provenance, ch.seconds))
    out = root / page
    text = render(chapters, page)
    if not out.is_file() or out.read_text(encoding="utf-8") != text:
        out.write_text(text, encoding="utf-8")
    return out


if __name__ == "__main__":
    print(f"wrote {write_page()}")
    sys.exit(0)
