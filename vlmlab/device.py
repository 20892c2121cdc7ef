"""Which device runs the measurements, at which scale, and the provenance of every result.

The scale switch: ``ci`` (small sizes, every chapter in well under a minute on a 2-core CPU) or
``full`` (the sizes the book's claims are about, on a CUDA GPU). It is picked from the device and
can be forced with the environment variable ``VLMLAB_SCALE``. Used by every chapter's set-up cell.
"""
from __future__ import annotations

import datetime as _dt
import os
import platform
from contextlib import contextmanager
from dataclasses import dataclass, field

SCALES = ("ci", "full")


def pick_device(prefer: str | None = None) -> str:
    """'cuda' if a CUDA GPU is there, then 'mps', then 'cpu'. ``VLMLAB_DEVICE`` or ``prefer`` force one."""
    if prefer is not None and not isinstance(prefer, str):
        raise TypeError(f"prefer must be a device name such as 'cpu' or 'cuda', got "
                        f"{type(prefer).__name__} {prefer!r}")
    choice = prefer or os.environ.get("VLMLAB_DEVICE") or None
    try:
        import torch
    except ImportError:
        if choice not in (None, "cpu"):
            raise RuntimeError(f"device {choice!r} needs torch, which is not installed") from None
        return "cpu"
    available = ["cpu"]
    if torch.cuda.is_available():
        available.insert(0, "cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        available.insert(len(available) - 1, "mps")
    if choice is not None:
        what = "prefer" if prefer else "VLMLAB_DEVICE"
        if choice.split(":")[0] not in available:
            raise ValueError(f"{what}: device {choice!r} is not available here; available: {', '.join(available)}")
        return choice
    return available[0]


def cpu_threads() -> int:
    """Threads torch may use for CPU measurements: ``VLMLAB_CPU_THREADS``, default 1.

    One thread by default because a parallel CPU kernel waits at a barrier for its slowest
    thread: on a shared machine (CI, a laptop running a browser) one busy neighbour process makes
    every multi-threaded kernel stall for a scheduler slice of milliseconds, and timings become
    noise. Ceilings and measurements use the same setting, so predictions stay comparable.
    """
    raw = os.environ.get("VLMLAB_CPU_THREADS", "1")
    try:
        threads = int(raw)
    except ValueError:
        threads = 0
    if threads < 1:
        raise ValueError(f"VLMLAB_CPU_THREADS must be an integer >= 1; got {raw!r}")
    return threads


@contextmanager
def torch_threads(threads: int):
    """Run the block with ``threads`` intra-op CPU threads in torch, then restore the old count."""
    import torch

    from .errors import positive_int

    positive_int("threads", threads)
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def pick_scale(device: str) -> str:
    """``VLMLAB_SCALE`` if set (must be 'ci' or 'full'), else 'full' on CUDA and 'ci' elsewhere."""
    from .errors import device_kind

    device_kind("device", device, available=False)
    forced = os.environ.get("VLMLAB_SCALE")
    if forced is not None and forced != "":
        if forced not in SCALES:
            raise ValueError(f"VLMLAB_SCALE must be one of {', '.join(SCALES)}; got {forced!r}")
        return forced
    return "full" if device == "cuda" else "ci"


@dataclass(frozen=True)
class Provenance:
    """Where and when a result was produced; attached to every measurement and printed per chapter."""

    device: str
    device_name: str
    device_memory_bytes: int | None
    scale: str
    torch: str | None
    cuda: str | None
    python: str
    date: str
    cpu_threads: int | None = None
    extra: dict = field(default_factory=dict)

    @property
    def short(self) -> str:
        """One line for figure notes: 'NVIDIA H100 80GB HBM3 · torch 2.11 · full scale · 2026-11-27'."""
        parts = [self.device_name]
        if self.cpu_threads:
            parts[0] += f", {self.cpu_threads} thread{'s' if self.cpu_threads > 1 else ''}"
        if self.torch:
            parts.append(f"torch {self.torch}")
        parts += [f"{self.scale} scale", self.date]
        return " · ".join(parts)

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}

    def __str__(self) -> str:
        from .units import fmt_bytes

        mem = fmt_bytes(self.device_memory_bytes) if self.device_memory_bytes else "n/a"
        threads = (f", {self.cpu_threads} torch thread{'s' if self.cpu_threads > 1 else ''} "
                   "(VLMLAB_CPU_THREADS)") if self.cpu_threads else ""
        return (f"device   {self.device_name} ({self.device}, memory {mem}{threads})\n"
                f"software python {self.python}, torch {self.torch or 'not installed'}"
                f"{', CUDA ' + self.cuda if self.cuda else ''}\n"
                f"scale    {self.scale} (set VLMLAB_SCALE=ci|full to override)\n"
                f"date     {self.date}")


def provenance(device: str | None = None, scale: str | None = None) -> Provenance:
    """Describe this machine: device name and memory, torch/CUDA versions, scale and date."""
    from .errors import device_kind, one_of

    device = pick_device() if device is None else device
    kind = device_kind("device", device)  # 'mps' on Linux or 'cuda' without a GPU: refused here
    scale = pick_scale(device) if scale is None else one_of("scale", scale, SCALES)
    try:
        import torch
        torch_version, cuda = torch.__version__.split("+")[0], torch.version.cuda
    except ImportError:
        torch, torch_version, cuda = None, None, None
    name, memory = f"CPU ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)", None
    if kind == "cuda":
        props = torch.cuda.get_device_properties(device if ":" in device else torch.cuda.current_device())
        name, memory = props.name, int(props.total_memory)
    elif kind == "mps":
        name = "Apple GPU (mps)"
    else:
        try:
            import psutil  # optional
            memory = int(psutil.virtual_memory().total)
        except ImportError:
            try:
                memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
            except (ValueError, OSError, AttributeError):
                memory = None
    threads = cpu_threads() if kind == "cpu" else None  # what notebook.setup() applies
    return Provenance(device, name, memory, scale, torch_version, cuda if kind == "cuda" else None,
                      platform.python_version(), _dt.date.today().isoformat(), threads)
