"""What every chapter's first cell calls: the run context (device, scale, provenance) and glue.

``run = vlmlab.notebook.setup()`` prints the provenance and returns a :class:`Run`;
``run.pick(ci=..., full=...)`` chooses a size by scale; :func:`glue` stores a number for the
prose (myst-nb's glue when it is installed, the same output without it, e.g. on Colab).
The provenance attached to the set-up cell's output also names the vlmlab version and the commit
it came from (:func:`source_commit`), which the "Hardware and provenance" page lists.
"""
from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, replace
from importlib import metadata
from pathlib import Path

from ..device import SCALES, Provenance, cpu_threads, pick_device, pick_scale, provenance
from ..errors import one_of
from .provenance_page import OUTPUT_KEY


@dataclass(frozen=True)
class Run:
    """The device and scale a chapter runs at, with their provenance."""

    device: str
    scale: str
    provenance: Provenance

    def __post_init__(self):
        one_of("scale", self.scale, SCALES)

    def pick(self, *, ci, full):
        """The value for this run's scale: ``run.pick(ci=[256, 512], full=[1024, 4096, 16384])``."""
        return ci if self.scale == "ci" else full

    @property
    def note(self) -> str:
        """Text for :func:`vlmlab.plot.device_note` under every measured figure."""
        return f"measured on {self.provenance.short}"


def setup(device: str | None = None, scale: str | None = None, quiet: bool = False) -> Run:
    """Pick device and scale (``VLMLAB_DEVICE``/``VLMLAB_SCALE`` override), print provenance.

    On the CPU it also sets torch's thread count to :func:`vlmlab.device.cpu_threads` (one by
    default), so that every measurement in the chapter, ceilings included, runs the same way.
    """
    device = device or pick_device()
    scale = scale or pick_scale(device)
    if device == "cpu":
        try:
            import torch
        except ImportError:
            pass
        else:
            torch.set_num_threads(cpu_threads())
    prov = provenance(device, scale)
    prov = replace(prov, extra={**prov.extra, **source_info()})
    if not quiet:
        show_provenance(prov)
    return Run(device, scale, prov)


def source_commit() -> tuple[str | None, bool]:
    """``(commit, local_changes)`` of the vlmlab that is running (provenance page, every chapter).

    A git checkout answers with ``git rev-parse HEAD`` (and whether ``git status`` shows changes);
    a ``pip install git+https://...`` (Colab) with the commit pip recorded in ``direct_url.json``;
    anything else with ``(None, False)``.
    """
    root = Path(__file__).resolve().parents[2]
    if (root / ".git").exists():
        try:
            run = dict(cwd=root, capture_output=True, text=True, timeout=10, check=True)
            sha = subprocess.run(["git", "rev-parse", "HEAD"], **run).stdout.strip()
            dirty = bool(subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                                        **run).stdout.strip())
            return (sha or None), dirty
        except (OSError, subprocess.SubprocessError):
            pass
    try:
        text = metadata.distribution("vlmlab").read_text("direct_url.json")
        sha = (json.loads(text or "{}").get("vcs_info") or {}).get("commit_id")
    except (metadata.PackageNotFoundError, ValueError):
        sha = None
    return sha, False


def source_info() -> dict:
    """``{'vlmlab': version, 'commit': sha or None, 'local_changes': bool}`` for the provenance."""
    from .. import __version__

    sha, dirty = source_commit()
    return {"vlmlab": __version__, "commit": sha, "local_changes": dirty}


def show_provenance(prov: Provenance) -> None:
    """Print ``prov``; in a notebook, also attach it to that output's metadata (``OUTPUT_KEY``).

    The "Hardware and provenance" page reads it back from there, so a chapter's recorded device is
    the one its outputs came from, whichever tool executed the notebook.
    """
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:
        get_ipython = None
    if get_ipython is None or get_ipython() is None:
        print(prov)
        return
    display({"text/plain": str(prov)}, raw=True, metadata={OUTPUT_KEY: prov.as_dict()})


def glue(name: str, value, display: bool = False):
    """Store ``value`` under ``name`` for ``{glue:text}`name``` in the prose.

    Uses ``myst_nb.glue`` when myst-nb is installed; otherwise emits the very same output bundle,
    so a notebook run on Colab still renders in the book. Returns ``value``.
    """
    try:
        from myst_nb import glue as _glue
    except ImportError:
        from IPython.display import display as _display

        prefix = "application/papermill.record/"
        _display({prefix + "text/plain": repr(value)}, raw=True,
                 metadata={"scrapbook": {"name": name, "mime_prefix": prefix}})
        return value
    _glue(name, value, display=display)
    return value
