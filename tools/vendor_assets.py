"""Vendor the browser assets the rendered book needs, so that it loads nothing from a CDN.

Run by hand when upgrading (``.venv/bin/python tools/vendor_assets.py``); the result under
``book/_static/`` is committed and the book build downloads nothing. Sources: the npm registry,
through ``npm pack`` (the registry's ordinary client). Only the files the book loads are kept:

- MathJax 3 ``tex-chtml-full.js`` (every TeX extension preloaded, so nothing is autoloaded from
  elsewhere) and the CHTML woff-v2 fonts it loads from ``[mathjax]/output/chtml/fonts/woff-v2``.

ipywidgets are not vendored: a static page has no kernel, and the widget manager would be 4 MB
of JavaScript; ``_config.yml`` renders widget outputs as their text form and loads no widget JS.

Pyodide (the npm package ``pyodide``, pinned in ``package.json``/``package-lock.json``) is *not*
committed: ``make book`` runs ``tools/vendor_assets.py --into _build/html``, which copies the five
files Pyodide loads from ``node_modules/pyodide`` (``npm ci`` fetches it when missing) into
``_build/html/_static/pyodide/`` and writes ``_static/vlmlab-analytic.zip``: the vlmlab modules
that ``vlmlab.cli`` and ``vlmlab.profile`` import, found by importing them in a fresh interpreter
(which fails if any of them pulls in a package beyond the standard library). The calculator page
(``book/calculator.md``, ``book/_static/calculator.js``) loads both from the book itself.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
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


#: What Pyodide loads at start-up (no packages are loaded: the calculator needs only the stdlib).
PYODIDE_FILES = ("pyodide.js", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip",
                 "pyodide-lock.json", "package.json")
ANALYTIC_ZIP = "vlmlab-analytic.zip"
# Imports the calculator's entry points in a fresh interpreter in which third-party packages
# cannot be imported, and prints the vlmlab source files that were loaded.
_PROBE = """
import importlib.abc, json, sys
class _Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in {'numpy', 'pandas', 'torch', 'matplotlib', 'IPython', 'tqdm',
                                  'ipywidgets', 'transformers', 'myst_nb', 'scipy'}:
            raise ImportError(f'{name} is not in the standard library')
sys.meta_path.insert(0, _Block())
import vlmlab.cli, vlmlab.profile, vlmlab.profile.web, vlmlab.tokens
print(json.dumps(sorted(m.__file__ for n, m in sys.modules.items()
                        if n.split('.')[0] == 'vlmlab' and getattr(m, '__file__', None))))
"""


def pyodide_dir() -> Path:
    """``node_modules/pyodide``, installed from the lock with ``npm ci`` when missing."""
    pkg = ROOT / "node_modules" / "pyodide"
    if not (pkg / "pyodide.asm.wasm").is_file():
        if shutil.which("npm") is None:
            raise SystemExit("vendor_assets: node_modules/pyodide is missing and npm is not "
                             "installed (apt-get install npm), needed once to fetch Pyodide")
        subprocess.run(["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund"], cwd=ROOT,
                       check=True)
    return pkg


def analytic_modules() -> list[Path]:
    """The vlmlab files the calculator imports (checked to need only the standard library)."""
    out = subprocess.run([sys.executable, "-c", _PROBE], cwd=ROOT, capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"vendor_assets: the calculator's modules need more than the standard "
                         f"library:\n{out.stderr.strip().splitlines()[-1]}")
    return [Path(p) for p in json.loads(out.stdout)]


def write_analytic_zip(dest: Path) -> list[str]:
    """Zip the analytic modules (paths from the repository root, e.g. ``vlmlab/cost.py``)."""
    names = []
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in analytic_modules():
            name = path.resolve().relative_to(ROOT).as_posix()
            zf.write(path, name)
            names.append(name)
    return names


def vendor_into_build(html_dir: Path) -> list[Path]:
    """Copy Pyodide into ``html_dir/_static/pyodide`` and write the analytic zip beside it."""
    static = Path(html_dir) / "_static"
    if not static.is_dir():
        raise SystemExit(f"vendor_assets: {static} does not exist: build the book first")
    dest = static / "pyodide"
    dest.mkdir(exist_ok=True)
    pkg = pyodide_dir()
    written = []
    for name in PYODIDE_FILES:
        shutil.copy2(pkg / name, dest / name)
        written.append(dest / name)
    write_analytic_zip(static / ANALYTIC_ZIP)
    return written + [static / ANALYTIC_ZIP]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--into", type=Path, metavar="HTML_DIR",
                    help="copy Pyodide and the analytic zip into a built book (make book does this)")
    args = ap.parse_args(argv)
    if args.into is not None:
        written = vendor_into_build(args.into)
        where = args.into / "_static"
    else:
        with tempfile.TemporaryDirectory() as tmp:
            written = vendor_mathjax(Path(tmp))
        where = DEST.relative_to(ROOT)
    total = sum(p.stat().st_size for p in written)
    print(f"vendored {len(written)} files, {total / 1e6:.2f} MB, into {where}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
