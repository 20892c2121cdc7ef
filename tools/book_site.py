"""The rendered book as the tests see it: build it when stale, serve it on localhost.

Used by ``tests/test_browser.py`` (the real-browser check) and ``tests/test_notebook_conventions.py``
(the Colab links of the built pages). The book is built with ``make book``, the command README
documents, so the tests check exactly what readers get.
"""
from __future__ import annotations

import contextlib
import functools
import http.server
import subprocess
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HTML_DIR = ROOT / "_build" / "html"
BUILD_LOCK = ROOT / "_build" / ".build.lock"
# Everything the rendered book is made from: a change to any of these makes _build/html stale.
SOURCE_GLOBS = ("_config.yml", "_toc.yml", "notebooks/*.ipynb", "book/**/*")
# Touched by `make book` after a build without warnings: a failed build leaves it older than
# the sources that broke it, so the tests rebuild (and fail) instead of checking stale pages.
BUILD_MARKERS = (".build-ok",)


def source_files(root: Path = ROOT) -> list[Path]:
    """The book's source files (see ``SOURCE_GLOBS``)."""
    return sorted({p for g in SOURCE_GLOBS for p in root.glob(g) if p.is_file()})


def is_stale(root: Path = ROOT, html_dir: Path | None = None) -> bool:
    """True when ``html_dir`` is missing or older than any of the book's source files."""
    html_dir = html_dir or root / "_build" / "html"
    built = [html_dir / m for m in BUILD_MARKERS if (html_dir / m).is_file()]
    if not (html_dir / "index.html").is_file() or not built:
        return True
    built_at = max(p.stat().st_mtime for p in built)
    return any(p.stat().st_mtime > built_at for p in source_files(root))


@functools.lru_cache(maxsize=None)
def ensure_built() -> Path:
    """Build the book with ``make book`` when ``_build/html`` is missing or stale; return its path.

    Raises ``RuntimeError`` with the build's output when the build fails (a warning fails it: -W).
    """
    import fcntl

    BUILD_LOCK.parent.mkdir(parents=True, exist_ok=True)
    with open(BUILD_LOCK, "w") as lock:  # test files run in parallel workers: one build at a time
        fcntl.flock(lock, fcntl.LOCK_EX)
        if is_stale():
            proc = subprocess.run(["make", "-s", "book"], cwd=ROOT, capture_output=True, text=True)
            if proc.returncode != 0:
                raise RuntimeError(f"`make book` failed (exit {proc.returncode}):\n"
                                   f"{proc.stdout[-6000:]}\n{proc.stderr[-6000:]}")
    return HTML_DIR


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


@contextlib.contextmanager
def serve(directory: Path):
    """Serve ``directory`` on 127.0.0.1 at a free port, in a thread; yield the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def html_pages(html_dir: Path) -> list[str]:
    """Every page of the built book, as paths relative to ``html_dir`` (assets under ``_*/`` excluded)."""
    return sorted(p.relative_to(html_dir).as_posix() for p in html_dir.rglob("*.html")
                  if not any(part.startswith("_") for part in p.relative_to(html_dir).parts))
