"""Vendor the browser assets the rendered book needs, so that it loads nothing from a CDN.

Run by hand when upgrading (``.venv/bin/python tools/vendor_assets.py``); the result under
``book/_static/`` is committed and the book build downloads nothing. Sources: the npm registry,
through ``npm pack`` (the registry's ordinary client). Only the files the book loads are kept:

- MathJax 3 ``tex-chtml-full.js`` (every TeX extension preloaded, so nothing is autoloaded from
  elsewhere) and the CHTML woff-v2 fonts it loads from ``[mathjax]/output/chtml/fonts/woff-v2``.

ipywidgets are not vendored: a static page has no kernel, and the widget manager would be 4 MB
of JavaScript; ``_config.yml`` renders widget outputs as their text form and loads no widget JS.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

MATHJAX_VERSION = "3.2.2"
ROOT = Path(__file__).resolve().parents[1]
DEST = ROOT / "book" / "_static" / "mathjax"


def npm_pack(spec: str, workdir: Path) -> Path:
    """Download ``spec`` (e.g. 'mathjax@3.2.2') with ``npm pack``; return the unpacked package dir."""
    name = subprocess.run(["npm", "pack", "-q", spec], cwd=workdir, check=True,
                          capture_output=True, text=True).stdout.strip().splitlines()[-1]
    out = workdir / spec.replace("/", "_")
    with tarfile.open(workdir / name) as tar:
        tar.extractall(out, filter="data")
    return out / "package"


def vendor_mathjax(workdir: Path) -> list[Path]:
    """Copy MathJax's full TeX+CHTML component, its fonts and its licence into ``DEST``."""
    pkg = npm_pack(f"mathjax@{MATHJAX_VERSION}", workdir)
    if DEST.exists():
        shutil.rmtree(DEST)
    fonts = DEST / "output" / "chtml" / "fonts" / "woff-v2"
    fonts.mkdir(parents=True)
    written = [DEST / "tex-chtml-full.js", DEST / "LICENSE"]
    shutil.copy2(pkg / "es5" / "tex-chtml-full.js", written[0])
    shutil.copy2(pkg / "LICENSE", written[1])
    for woff in sorted((pkg / "es5" / "output" / "chtml" / "fonts" / "woff-v2").glob("*.woff")):
        shutil.copy2(woff, fonts / woff.name)
        written.append(fonts / woff.name)
    (DEST / "VERSION").write_text(f"mathjax {MATHJAX_VERSION} (npm), vendored by tools/vendor_assets.py\n")
    return written


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        written = vendor_mathjax(Path(tmp))
    total = sum(p.stat().st_size for p in written)
    print(f"vendored {len(written)} files, {total / 1e6:.2f} MB, into {DEST.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
