"""The book's "Hardware and provenance" page, generated from the notebooks' own metadata.

``python -m vlmlab.execute`` stores ``nb.metadata['vlmlab'] = {'provenance': {...}, 'seconds': s}``
in every notebook it runs, then calls :func:`write_page`, which lists per chapter (in ``_toc.yml``
order) the device, software versions, scale, date and execution time of the committed outputs.
``python -m vlmlab.provenance_page`` regenerates the page alone. Used by the back matter page
``book/provenance.md``; imports no torch.
"""
from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from .units import fmt_bytes

PAGE = Path("book") / "provenance.md"
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


def read_chapter(path: Path) -> ChapterProvenance:
    """Title (the first markdown heading) and the ``vlmlab`` metadata of the notebook at ``path``."""
    nb = json.loads(Path(path).read_text(encoding="utf-8"))
    title = Path(path).stem
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "markdown":
            match = re.search(r"^#\s+(.+)$", "".join(cell.get("source", "")), re.M)
            if match:
                title = match.group(1).strip()
                break
    meta = nb.get("metadata", {}).get("vlmlab") or {}
    return ChapterProvenance(Path(path), title, meta.get("provenance"), meta.get("seconds"))


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
        "Every chapter's outputs were produced by running the notebook top to bottom with",
        "`make execute` (`python -m vlmlab.execute`), which records where and when it ran in the",
        "notebook's metadata. This page is generated from that metadata (`vlmlab.provenance_page`);",
        "each chapter also prints the same provenance in its first cell. Measured numbers depend on",
        "the device and the scale: `full` on a CUDA GPU, `ci` (small sizes) on a CPU.",
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
