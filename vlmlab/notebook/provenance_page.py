"""The book's "Hardware and provenance" page, generated from what the executed notebooks hold.

Each chapter's set-up cell (:func:`vlmlab.notebook.setup`) prints its provenance and attaches it
to that output's metadata under :data:`OUTPUT_KEY`; the kernel's runner (nbclient, which
``python -m vlmlab.notebook.execute`` and any other executor use) stamps every code cell with its start
and end times. :func:`write_page` reads both back and lists per chapter (in ``_toc.yml`` order)
the device, software versions (vlmlab's version and commit included), scale, date and execution
time of the committed outputs, so the page describes the outputs themselves whichever tool
produced them. A second table lists every size a chapter picks by scale (each
``run.pick(ci=..., full=...)`` in its code cells, read with :mod:`ast`), so a reader sees what
``ci`` and ``full`` mean chapter by chapter without opening the notebooks. ``python -m
vlmlab.notebook.provenance_page`` regenerates the page alone. Used by ``book/provenance.md``; imports no torch.
"""
from __future__ import annotations

import ast
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
    picks: tuple = ()


@dataclass(frozen=True)
class ScalePick:
    """One ``run.pick(ci=..., full=...)`` of a chapter: what it sets and both choices, as written."""

    name: str
    ci: str
    full: str


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


_MAGIC = re.compile(r"^(\s*)[%!].*$", re.M)


def _one_line(text: str | None) -> str:
    return re.sub(r"\s+", " ", text or "?").replace("( ", "(").replace(" )", ")").replace("[ ", "[").replace(" ]", "]").strip()


def _pick_name(node: ast.Call, parents: dict, source: str) -> str:
    """What a pick sets: its assignment target, keyword, dict key or loop variable."""
    parent = parents.get(node)
    if isinstance(parent, ast.keyword):
        return f"{parent.arg}="
    if isinstance(parent, ast.Tuple) and isinstance(parents.get(parent), ast.Assign):
        assign, i = parents[parent], parent.elts.index(node)
        target = assign.targets[0]
        if isinstance(target, ast.Tuple) and len(target.elts) == len(parent.elts):
            return ast.get_source_segment(source, target.elts[i]) or "value"
    if isinstance(parent, (ast.Assign, ast.AnnAssign)):
        target = parent.targets[0] if isinstance(parent, ast.Assign) else parent.target
        return ast.get_source_segment(source, target) or "value"
    if isinstance(parent, ast.Dict):
        i = parent.values.index(node) if node in parent.values else -1
        key = parent.keys[i] if i >= 0 else None
        outer = parents.get(parent)
        prefix = (ast.get_source_segment(source, outer.targets[0]) if isinstance(outer, ast.Assign) else "") or ""
        return f"{prefix}[{ast.get_source_segment(source, key) if key is not None else '?'}]"
    if isinstance(parent, ast.For) and parent.iter is node:
        return f"for {ast.get_source_segment(source, parent.target)}"
    return "value"


def scale_picks(nb: dict) -> list[ScalePick]:
    """Every ``run.pick(ci=..., full=...)`` in the code cells of ``nb``, in order.

    IPython magics (``%pip``, ``!ls``) are blanked before parsing; a cell that still does not parse
    is skipped. The choices are the source text as written (whitespace collapsed).
    """
    found = []
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        source = _MAGIC.sub(lambda m: m.group(1) + "pass", "".join(cell.get("source", "")))
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        calls = sorted((n for n in ast.walk(tree) if isinstance(n, ast.Call)
                        and isinstance(n.func, ast.Attribute) and n.func.attr == "pick"
                        and isinstance(n.func.value, ast.Name) and n.func.value.id == "run"),
                       key=lambda n: (n.lineno, n.col_offset))
        for node in calls:
            kw = {k.arg: ast.get_source_segment(source, k.value) for k in node.keywords}
            found.append(ScalePick(_pick_name(node, parents, source), _one_line(kw.get("ci")),
                                   _one_line(kw.get("full"))))
    return found


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
    return ChapterProvenance(Path(path), title, recorded_provenance(nb), execution_seconds(nb),
                             tuple(scale_picks(nb)))


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
    software.append(_vlmlab(p.get("extra") or {}))
    seconds = "?" if ch.seconds is None else f"{ch.seconds:.1f} s"
    return (f"| {link} | {_cell(device)} | {_cell(', '.join(software))} | {_cell(p.get('scale', '?'))} "
            f"| {_cell(p.get('date', '?'))} | {seconds} |")


def _vlmlab(extra: dict) -> str:
    """'vlmlab 0.1.0 at 1303b93' (+ 'with local changes'), or what is missing."""
    if not extra.get("vlmlab"):
        return "vlmlab version not recorded"
    text = f"vlmlab {extra['vlmlab']}"
    if extra.get("commit"):
        text += f" at `{extra['commit'][:7]}`" + (" with local changes" if extra.get("local_changes") else "")
    else:
        text += ", commit unknown"
    return text


def _picks_table(chapters: list[ChapterProvenance], page: Path) -> list[str]:
    rows = []
    for ch in chapters:
        link = f"[{_cell(ch.title)}]({Path(os.path.relpath(ch.path, Path(page).parent)).as_posix()})"
        for i, p in enumerate(ch.picks):
            rows.append(f"| {link if i == 0 else ''} | `{_cell(p.name)}` | `{_cell(p.ci)}` | `{_cell(p.full)}` |")
    if not rows:
        return []
    return ["", "## Sizes at each scale", "",
            "Every size a chapter chooses by scale, as its code writes it "
            "(`run.pick(ci=..., full=...)`); chapters that pick nothing run the same sizes at both scales.",
            "", "| Chapter | Sets | `ci` | `full` |", "|---|---|---|---|", *rows]


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
    lines += _picks_table(chapters, Path(page))
    return "\n".join(lines) + "\n"


def write_page(root: Path = Path("."), page: Path = PAGE) -> Path:
    """Regenerate ``root/page`` from the notebooks listed in ``root/_toc.yml``; return its path.

    The file is only rewritten when its text changes (so an unchanged book is not rebuilt).
    """
    root = Path(root)
    chapters = []
    for path in toc_notebooks(root):
        ch = read_chapter(path)
        chapters.append(ChapterProvenance(path.relative_to(root), ch.title, ch.provenance, ch.seconds,
                                          ch.picks))
    out = root / page
    text = render(chapters, page)
    if not out.is_file() or out.read_text(encoding="utf-8") != text:
        out.write_text(text, encoding="utf-8")
    return out


if __name__ == "__main__":
    print(f"wrote {write_page()}")
    sys.exit(0)
