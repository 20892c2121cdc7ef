"""Re-execute the book's notebooks in place at this device's scale: ``python -m vlmlab.notebook.execute``.

Each notebook runs top to bottom in a fresh kernel (``VLMLAB_SCALE`` decides the scale, else the
device does) and is written back with its outputs and cell timings. Prints a time table, then
regenerates the "Hardware and provenance" page (``book/provenance.md``), which reads the device
from each chapter's set-up cell output and the time from its cell timings
(:mod:`vlmlab.notebook.provenance_page`).
"""
from __future__ import annotations

import argparse
import glob
import sys
import time
from pathlib import Path


def execute_notebook(path: Path, timeout: int = 1800) -> float:
    """Execute ``path`` in place; return the wall-clock seconds it took. Raises on a failing cell."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    seconds = time.perf_counter() - start
    nbformat.write(nb, path)
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", help="notebooks to run (default: notebooks/*.ipynb)")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per cell")
    args = parser.parse_args(argv)
    paths = [Path(p) for p in (args.notebooks or sorted(glob.glob("notebooks/*.ipynb")))]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        parser.error(f"no such notebook: {', '.join(missing)}")
    from tqdm.auto import tqdm

    rows, failed = [], 0
    for path in tqdm(paths, desc="executing notebooks", unit="nb"):
        try:
            rows.append((path.name, execute_notebook(path, args.timeout), "ok"))
        except Exception as exc:  # report and go on: one broken chapter must not hide the others
            failed += 1
            rows.append((path.name, float("nan"), f"FAILED: {type(exc).__name__}: {str(exc).strip().splitlines()[-1][:120]}"))
    width = max(len(r[0]) for r in rows)
    print(f"\n{'notebook':<{width}}  {'seconds':>8}  status")
    for name, seconds, status in rows:
        print(f"{name:<{width}}  {seconds:8.1f}  {status}")
    print(f"{'total':<{width}}  {sum(r[1] for r in rows if r[1] == r[1]):8.1f}")
    if Path("_toc.yml").is_file() and Path("book").is_dir():  # run from the repository root
        from .provenance_page import write_page

        print(f"updated {write_page()} (Hardware and provenance)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
