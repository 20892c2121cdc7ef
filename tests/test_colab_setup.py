"""The Colab set-up path (issue 6): every notebook runs where only what Colab ships is installed.

A virtual environment holding only torch, numpy, matplotlib, ipykernel, transformers and pillow (``.venv-colab/``,
built once and cached; delete it to rebuild) stands in for Colab. Each notebook gets a fresh,
empty environment layered on top of it (a venv whose ``.pth`` file adds the cached one's
site-packages), so vlmlab is not importable when the notebook starts: its own first cell must
install vlmlab from ``VLMLAB_SOURCE`` (a copy of this checkout's package) with ``%pip``, which
installs only what is missing (never torch), and then every cell must run without error.
Every pip call here, the notebooks' own ``%pip`` included, takes the versions of the lock
(requirements.txt, as a constraints file without hashes), so this check does not drift with releases.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
COLAB_VENV = ROOT / ".venv-colab"
# What Colab ships that the book relies on; torch==2.13.0 takes the CPU wheel on this machine's disk.
# transformers and pillow: Colab ships both; chapter 12 builds transformers' own VLMs.
COLAB_PACKAGES = ["torch==2.13.0", "numpy", "matplotlib", "ipykernel", "transformers", "pillow"]
STAMP = COLAB_VENV / ".colab-packages"
CONSTRAINTS = COLAB_VENV / "constraints.txt"
CELL_TIMEOUT_S = 600
WORKERS = 2  # two notebooks at a time: pip, venv and kernel start-up overlap with computation


def _venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def _site_packages(python: Path) -> Path:
    out = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                         check=True, capture_output=True, text=True).stdout.strip()
    return Path(out)


def lock_constraints() -> str:
    """requirements.txt as a pip constraints file: its ``name==version`` lines, without hashes
    and without extras (a constraint cannot carry them)."""
    pins = [re.sub(r"\[[^\]]*\]", "", ln.split()[0]) for ln in (ROOT / "requirements.txt").read_text().splitlines()
            if "==" in ln and not ln.lstrip().startswith(("#", "-"))]
    return "\n".join(pins) + "\n"


def _ensure_colab_venv() -> Path:
    """Create ``.venv-colab`` with COLAB_PACKAGES at the lock's versions, unless it exists with
    exactly that list and lock."""
    spec = "\n".join(COLAB_PACKAGES) + "\n" + lock_constraints()
    if STAMP.is_file() and STAMP.read_text() == spec and _venv_python(COLAB_VENV).exists():
        return COLAB_VENV
    shutil.rmtree(COLAB_VENV, ignore_errors=True)
    base_python = getattr(sys, "_base_executable", None) or sys.executable
    subprocess.run([base_python, "-m", "venv", str(COLAB_VENV)], check=True)
    CONSTRAINTS.write_text(lock_constraints())
    subprocess.run([str(_venv_python(COLAB_VENV)), "-m", "pip", "install", "-q", "-c", str(CONSTRAINTS),
                    *COLAB_PACKAGES], check=True)
    STAMP.write_text(spec)
    return COLAB_VENV


def _package_copy(dest: Path) -> Path:
    """What ``pip install <checkout>`` needs (pyproject, README, vlmlab/), copied so that the
    build leaves nothing in the working tree."""
    dest.mkdir(parents=True)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, dest / name)
    shutil.copytree(ROOT / "vlmlab", dest / "vlmlab", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return dest


def _fresh_env(base: Path, where: Path) -> Path:
    """An empty venv that sees ``base``'s packages (and pip) through a .pth file; return its python."""
    subprocess.run([getattr(sys, "_base_executable", None) or sys.executable, "-m", "venv",
                    "--without-pip", str(where)], check=True)
    python = _venv_python(where)
    (_site_packages(python) / "colab_base.pth").write_text(str(_site_packages(_venv_python(base))) + "\n")
    return python


@pytest.fixture(scope="module")
def colab(tmp_path_factory):
    if not NOTEBOOKS:
        pytest.fail("no notebooks under notebooks/")
    base = _ensure_colab_venv()
    probe = subprocess.run([str(_venv_python(base)), "-c", "import vlmlab"], capture_output=True, cwd=base)
    assert probe.returncode != 0, f"{base} must not contain vlmlab"
    return base, tmp_path_factory.mktemp("colab")


def _run_notebook(path: Path, base: Path, work: Path) -> tuple[str, str | None, Path]:
    import nbformat
    from nbclient import NotebookClient
    from jupyter_client import KernelManager
    from jupyter_client.kernelspec import KernelSpecManager

    python = _fresh_env(base, work / "env")
    # one copy per notebook: pip builds a local directory in place, and two builds in one tree collide
    source = _package_copy(work / "vlmlab-checkout")
    env = {**os.environ, "VLMLAB_SOURCE": str(source), "PYTHONNOUSERSITE": "1", "MPLBACKEND": "",
           "PIP_CONSTRAINT": str(CONSTRAINTS)}
    for var in ("VLMLAB_DEVICE", "VLMLAB_SCALE", "PYTHONPATH", "VIRTUAL_ENV"):
        env.pop(var, None)
    spec_dir = work / "kernels" / "colab"
    spec_dir.mkdir(parents=True)
    (spec_dir / "kernel.json").write_text(json.dumps({
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Colab stand-in", "language": "python"}))
    km = KernelManager(kernel_name="colab",
                       kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(work / "kernels")]))
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, km=km, timeout=CELL_TIMEOUT_S, resources={"metadata": {"path": str(path.parent)}})
    try:
        client.execute(env=env, cwd=str(path.parent))
        return path.name, None, python
    except Exception as exc:  # report every notebook, not only the first failure
        return path.name, f"{type(exc).__name__}: {str(exc)[-3000:]}", python


def test_every_notebook_runs_from_its_own_setup_cell(colab):
    base, work = colab
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        results = list(pool.map(lambda p: _run_notebook(p, base, work / p.stem), NOTEBOOKS))
    failures = [f"{name}: {error}" for name, error, _ in results if error]
    assert not failures, "\n\n".join(failures)
    for name, _, python in results:
        site = _site_packages(python)
        assert list(site.glob("vlmlab-*.dist-info")), f"{name}: the set-up cell did not install vlmlab"
        assert not list(site.glob("torch-*.dist-info")), f"{name}: the set-up cell reinstalled torch"


def test_colab_environment_holds_only_colab_packages(colab):
    """The stand-in for Colab has torch, numpy, matplotlib and ipykernel, and no vlmlab or pandas."""
    base, _ = colab
    code = ("import importlib.util as u; "
            "print(*[n for n in ('torch','numpy','matplotlib','ipykernel','vlmlab','pandas','myst_nb') "
            "if u.find_spec(n)])")
    found = subprocess.run([str(_venv_python(base)), "-c", code], check=True, capture_output=True, cwd=base,
                           text=True).stdout.split()
    assert found == ["torch", "numpy", "matplotlib", "ipykernel"], found


def test_helper_site_packages_is_the_running_interpreters():
    assert _site_packages(Path(sys.executable)) == Path(sysconfig.get_paths()["purelib"])
