"""Run vlmlab's unit tests in a throw-away environment built from pyproject.toml's ranges.

    python tools/test_ranges.py latest [--torch SPEC]   # newest releases the ranges admit
    python tools/test_ranges.py floor                   # the lowest versions the ranges declare

`make test-latest` and `make test-floor` call it. Neither is part of CI's gate: CI installs the lock
(requirements.txt). These runs check that the ranges readers install from (`pip install vlmlab`,
e.g. on Colab) are true. `floor` reads every `name>=X` of pyproject (core dependencies and the
torch, hf and test extras) and installs exactly X, with the Python of `requires-python`.
The environment lives in a temporary folder and is removed afterwards (`--keep` keeps it).
"""
from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXTRAS = ("torch", "hf", "test")
# vlmlab's unit tests, as `make test-fast` runs them, less the checks of this checkout's committed
# notebooks and of .venv against the lock (neither depends on the versions under test)
PYTEST = ["-m", "pytest", "tests", "-q", "-p", "no:cacheprovider", "-rfE", "--continue-on-collection-errors",
          "--ignore=tests/test_browser.py", "--ignore=tests/test_colab_setup.py", "--ignore=tests/test_lock.py",
          "--ignore=tests/test_notebook_conventions.py"]


def declared() -> tuple[str, list[str]]:
    """(requires-python, every requirement of the core and of EXTRAS) from pyproject.toml."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in EXTRAS:
        reqs += project["optional-dependencies"][extra]
    return project["requires-python"], reqs


def floor_pins(reqs: list[str]) -> list[str]:
    """`numpy>=1.24` -> `numpy==1.24`; a requirement without a lower bound is an error."""
    pins = []
    for req in reqs:
        m = re.match(r"^([A-Za-z0-9_.\-]+)\s*(?:\[[^\]]*\])?\s*>=\s*([0-9][0-9A-Za-z.]*)", req)
        if not m:
            raise SystemExit(f"pyproject requirement {req!r} has no '>=' floor; declare one")
        pins.append(f"{m.group(1)}=={m.group(2)}")
    return pins


def python_for(requires: str) -> str:
    """The interpreter for `requires-python = ">=3.X"`: python3.X on PATH, or one that pyenv
    installed (its shims answer only for the selected version)."""
    m = re.fullmatch(r">=\s*(\d+)\.(\d+)", requires.strip())
    if not m:
        raise SystemExit(f"requires-python {requires!r}: expected '>=3.X'")
    name = f"python{m.group(1)}.{m.group(2)}"
    candidates = [shutil.which(name)] + sorted(
        str(p) for p in Path.home().glob(f".pyenv/versions/{m.group(1)}.{m.group(2)}.*/bin/{name}"))
    for exe in filter(None, candidates):
        if subprocess.run([exe, "--version"], capture_output=True).returncode == 0:
            return exe
    raise SystemExit(f"{name} (the requires-python floor) was not found; install it (e.g. pyenv)")


def run(cmd: list[str], **kw) -> None:
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, **kw)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("which", choices=["latest", "floor"])
    ap.add_argument("--torch", default="torch==2.13.0",
                    help="torch requirement for 'latest' (default: the CPU wheel on this machine)")
    ap.add_argument("--keep", action="store_true", help="keep the environment")
    args = ap.parse_args()
    requires, reqs = declared()
    where = Path(tempfile.mkdtemp(prefix=f"vlmlab-{args.which}-"))
    python = python_for(requires) if args.which == "floor" else sys.executable
    start = time.perf_counter()
    try:
        run([python, "-m", "venv", str(where)])
        py = str(where / "bin" / "python")
        pip = [py, "-m", "pip", "install", "-q"]
        run(pip + ["--upgrade", "pip"])
        if args.which == "latest":
            keep = where / "torch-constraint.txt"  # the eager upgrade below keeps this torch
            keep.write_text(args.torch + "\n")
            run(pip + [args.torch])
            run(pip + ["-c", str(keep), "--upgrade", "--upgrade-strategy", "eager",
                       f"{ROOT}[{','.join(EXTRAS)}]"])
        else:
            run(pip + floor_pins(reqs))
            run(pip + ["--no-deps", str(ROOT)])
        run([py, "-m", "pip", "list", "--format=freeze"])
        code = subprocess.run([py, *PYTEST], cwd=ROOT).returncode
    finally:
        if not args.keep:
            shutil.rmtree(where, ignore_errors=True)
    print(f"{args.which}: pytest exit {code} in {time.perf_counter() - start:.0f} s "
          f"(environment {'kept in ' + str(where) if args.keep else 'removed'})")
    return code


if __name__ == "__main__":
    sys.exit(main())
