"""What every chapter's first cell calls: the run context (device, scale, provenance) and glue.

``run = vlmlab.notebook.setup()`` prints the provenance and returns a :class:`Run`;
``run.pick(ci=..., full=...)`` chooses a size by scale; :func:`glue` stores a number for the
prose (myst-nb's glue when it is installed, the same output without it, e.g. on Colab).
"""
from __future__ import annotations

from dataclasses import dataclass

from ..device import Provenance, cpu_threads, pick_device, pick_scale, provenance
from .provenance_page import OUTPUT_KEY


@dataclass(frozen=True)
class Run:
    """The device and scale a chapter runs at, with their provenance."""

    device: str
    scale: str
    provenance: Provenance

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
    if not quiet:
        show_provenance(prov)
    return Run(device, scale, prov)


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
