"""What the device allows: compute and bandwidth ceilings, predicted time, the roofline figure.

A kernel that performs ``flops`` floating-point operations and moves ``bytes`` to and from
device memory cannot finish faster than ``max(flops / peak, bytes / bandwidth)`` (the roofline
model, Williams et al. 2009). :func:`measure_ceilings` measures both ceilings on the reader's
device in a few seconds; :data:`DATASHEETS` holds the vendor's numbers for common GPUs (dense
tensor-core peak in the chip's fast dtype, no structured sparsity; HBM/GDDR bandwidth), for
comparison and as a fallback. Used by chapters 2, 4 and 7.

No torch import at module level: the analytic part works without torch.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from typing import Iterable, Mapping

from .errors import device_kind, lookup, non_negative_number, optional_positive_int, positive_int, positive_number

__all__ = ["Ceilings", "DATASHEETS", "datasheet_for", "fast_dtype", "measure_ceilings", "predict_seconds",
           "ridge_point", "arithmetic_intensity", "roofline_figure"]


@dataclass(frozen=True)
class Ceilings:
    """A device's peak matrix-multiply rate (FLOP/s) in ``dtype`` and its memory bandwidth (B/s).

    ``memory_bytes`` is the device memory's capacity where a chapter needs it (None elsewhere).
    """

    name: str
    matmul_flops_per_s: float
    bandwidth_bytes_per_s: float
    dtype: str
    source: str
    memory_bytes: int | None = None

    def __post_init__(self):
        if not isinstance(self.name, str):
            raise TypeError(f"name must be a str, got {type(self.name).__name__} {self.name!r}")
        positive_number("matmul_flops_per_s", self.matmul_flops_per_s)
        positive_number("bandwidth_bytes_per_s", self.bandwidth_bytes_per_s)
        optional_positive_int("memory_bytes", self.memory_bytes)
        if not math.isfinite(self.matmul_flops_per_s / self.bandwidth_bytes_per_s):
            raise ValueError(f"matmul_flops_per_s / bandwidth_bytes_per_s must be finite (the ridge point), "
                             f"got {self.matmul_flops_per_s!r} / {self.bandwidth_bytes_per_s!r}")

    @property
    def ridge_flops_per_byte(self) -> float:
        """Arithmetic intensity where the two roofs meet: below it a kernel is memory-bound."""
        return self.matmul_flops_per_s / self.bandwidth_bytes_per_s

    def __str__(self) -> str:
        from .units import fmt_bandwidth, fmt_rate

        return (f"{self.name}: {fmt_rate(self.matmul_flops_per_s)} ({self.dtype} matmul), "
                f"{fmt_bandwidth(self.bandwidth_bytes_per_s)}, ridge {self.ridge_flops_per_byte:,.0f} FLOP/B "
                f"[{self.source}]")


_A100 = "https://www.nvidia.com/content/dam/en-zz/Solutions/Data-Center/a100/pdf/nvidia-a100-datasheet-us-nvidia-1758950-r4-web.pdf"
_H100 = "https://resources.nvidia.com/en-us-tensor-core/nvidia-tensor-core-gpu-datasheet"

#: Vendor datasheet ceilings. NVIDIA prints tensor-core rates "with sparsity" for Ampere and
#: later; the dense rate used here is half of that figure (stated in each datasheet's footnote).
DATASHEETS: dict[str, Ceilings] = {c.name: c for c in [
    Ceilings("T4", 65e12, 320e9, "fp16",
             "NVIDIA T4 datasheet: 65 TFLOPS mixed-precision FP16/FP32 tensor, 320+ GB/s GDDR6 "
             "https://www.nvidia.com/content/dam/en-zz/Solutions/Data-Center/tesla-t4/t4-tensor-core-datasheet-951643.pdf"),
    Ceilings("L4", 121e12, 300e9, "bf16",
             "NVIDIA L4 datasheet: BF16 tensor 242 TFLOPS with sparsity (121 dense), 300 GB/s "
             "https://www.nvidia.com/en-us/data-center/l4/"),
    # Memory: "40GB HBM2" is five 8 GiB HBM2 stacks, i.e. 40 GiB (42.9e9 bytes).
    # Chapters 1 and 7 size the essay's batches with it.
    Ceilings("A100-40GB", 312e12, 1555e9, "bf16",
             f"NVIDIA A100 datasheet: BF16 tensor 312 TFLOPS dense, 40GB HBM2 1,555 GB/s {_A100}",
             memory_bytes=40 * 2**30),
    Ceilings("A100-80GB", 312e12, 2039e9, "bf16",
             f"NVIDIA A100 datasheet: BF16 tensor 312 TFLOPS dense, 80GB SXM HBM2e 2,039 GB/s {_A100}"),
    Ceilings("A100-80GB-PCIe", 312e12, 1935e9, "bf16",
             f"NVIDIA A100 datasheet: BF16 tensor 312 TFLOPS dense, 80GB PCIe HBM2e 1,935 GB/s {_A100}"),
    Ceilings("H100-SXM", 989e12, 3.35e12, "bf16",
             f"NVIDIA H100 datasheet: BF16 tensor 1,979 TFLOPS with sparsity (989 dense), 3.35 TB/s {_H100}"),
    Ceilings("H100-PCIe", 756e12, 2.0e12, "bf16",
             f"NVIDIA H100 datasheet: BF16 tensor 1,513 TFLOPS with sparsity (756 dense), 2 TB/s {_H100}"),
    Ceilings("H200", 989e12, 4.8e12, "bf16",
             "NVIDIA H200 datasheet (SXM): BF16 tensor 1,979 TFLOPS with sparsity (989 dense), 4.8 TB/s "
             "https://www.nvidia.com/en-us/data-center/h200/"),
]}

#: torch.cuda.get_device_name() patterns -> datasheet row (first match wins; NVL parts excluded).
#: A model number must start a word: 'GH200' (Grace Hopper) is not an H200, nor 'GA100' an A100.
_B = r"(?<![A-Z0-9])"
_NAME_PATTERNS = [
    (r"\bT4\b", "T4"),
    (r"\bL4\b", "L4"),
    (_B + r"A100.*PCIE.*80|" + _B + r"A100.*80.*PCIE", "A100-80GB-PCIe"),
    (_B + r"A100.*80", "A100-80GB"),
    (_B + r"A100\b", "A100-40GB"),
    (_B + r"H100.*NVL", None),
    (_B + r"H100.*PCIE", "H100-PCIe"),
    (_B + r"H100\b", "H100-SXM"),
    (_B + r"H200.*NVL", None),
    (_B + r"H200\b", "H200"),
]


def datasheet_for(device_name: str) -> Ceilings | None:
    """The datasheet row for a ``torch.cuda.get_device_name()`` string, or ``None`` if unknown.

    ``'Tesla T4'`` → T4, ``'NVIDIA A100-SXM4-80GB'`` → A100-80GB, ``'NVIDIA H100 80GB HBM3'`` →
    H100-SXM, ``'NVIDIA H100 PCIe'`` → H100-PCIe. A row name (``'H200'``) works too.
    Used by chapters 2, 4 and 7.
    """
    if not isinstance(device_name, str):
        raise TypeError(f"device_name must be a str, got {type(device_name).__name__} {device_name!r}")
    if device_name in DATASHEETS:
        return DATASHEETS[device_name]
    upper = device_name.upper()
    for pattern, key in _NAME_PATTERNS:
        if re.search(pattern, upper):
            return DATASHEETS[key] if key else None
    return None


def get_datasheet(name: str) -> Ceilings:
    """The datasheet row called ``name`` (close names are suggested on a typo)."""
    return lookup(name, DATASHEETS, what="datasheet")


def _ceilings(c) -> "Ceilings":
    if not isinstance(c, Ceilings):
        raise TypeError(f"ceilings must be a roofline.Ceilings (e.g. DATASHEETS['H100-SXM'] or "
                        f"measure_ceilings(device)), got {type(c).__name__} {c!r}")
    return c


def predict_seconds(flops: float, bytes_moved: float, ceilings: Ceilings) -> float:
    """Roofline lower bound on a kernel's time: ``max(flops / peak, bytes / bandwidth)`` seconds.

    Used by chapters 2, 4 and 7.
    """
    non_negative_number("flops", flops)
    non_negative_number("bytes_moved", bytes_moved)
    _ceilings(ceilings)
    return max(flops / ceilings.matmul_flops_per_s, bytes_moved / ceilings.bandwidth_bytes_per_s)


def ridge_point(ceilings: Ceilings) -> float:
    """FLOP per byte where compute and bandwidth roofs meet (``peak / bandwidth``). Chapter 4."""
    return _ceilings(ceilings).ridge_flops_per_byte


def arithmetic_intensity(flops: float, bytes_moved: float) -> float:
    """FLOP per byte moved. Chapter 4."""
    non_negative_number("flops", flops)
    positive_number("bytes_moved", bytes_moved)
    intensity = flops / bytes_moved
    if not math.isfinite(intensity):
        raise ValueError(f"bytes_moved is too small for flops={flops!r}: the intensity overflows; "
                         f"got bytes_moved={bytes_moved!r}")
    return intensity


#: First CUDA compute capability with bf16 tensor cores (Ampere, sm_80). Older GPUs such as the
#: T4 (sm_75) and V100 (sm_70) have fp16 tensor cores only: bf16 matmuls there are emulated or
#: unsupported, so their fast dtype is fp16.
BF16_MIN_CAPABILITY = (8, 0)


def fast_dtype(device: str, capability: tuple[int, int] | None = None) -> str:
    """The dtype in which ``device`` multiplies matrices fastest: 'bf16', 'fp16' or 'fp32'.

    CUDA: 'bf16' from compute capability 8.0 (A100, L4, H100), 'fp16' below it (T4, V100);
    ``capability`` = (major, minor) overrides the query of the current GPU. CPU and MPS: 'fp32'.
    Full-scale chapters (2, 4, 5, 6, 7) run their models in this dtype and price them with its
    byte size; :func:`measure_ceilings` measures in it by default.
    """
    kind = device_kind("device", device, available=False)
    if kind == "cuda" and capability is None:
        device_kind("device", device)  # the current GPU is queried: refuse clearly when there is none
    if kind != "cuda":
        return "fp32"
    if capability is None:
        import torch

        capability = tuple(torch.cuda.get_device_capability(device))
    if (not isinstance(capability, (tuple, list)) or len(capability) != 2
            or not all(isinstance(c, int) and not isinstance(c, bool) for c in capability)):
        raise ValueError(f"capability must be a (major, minor) pair of ints, got {capability!r}")
    return "bf16" if tuple(capability) >= BF16_MIN_CAPABILITY else "fp16"


def measure_ceilings(device: str, dtype: str | None = None, seconds: float = 2.0,
                     matmul_n: int | None = None, copy_bytes: int | None = None) -> Ceilings:
    """Measure the matmul and copy ceilings of ``device`` in about ``seconds`` seconds.

    Compute: a square ``matmul_n``×``matmul_n`` product in ``dtype`` (default: bf16 on Ampere and
    later, fp16 on older CUDA GPUs such as the T4, fp32 on CPU), counted as ``2 n^3`` FLOPs.
    Bandwidth: ``dst.copy_(src)`` of a large buffer, counted as read + write (``2 × nbytes``).
    Each ceiling is the rate of the fastest timed call (the best the device achieved).
    Defaults: n = 8192 and 1 GiB on CUDA (smaller when little memory is free); 1024 and 256 MiB
    on CPU. Used by chapters 2, 4 and 7.
    """
    import torch

    from .bench import provenance, time_fn
    from .units import dtype_bytes

    positive_number("seconds", seconds)
    kind = device_kind("device", device)
    for arg, v in (("matmul_n", matmul_n), ("copy_bytes", copy_bytes)):
        optional_positive_int(arg, v)
    dtype = dtype or fast_dtype(device)
    tdtype = {"bf16": torch.bfloat16, "bfloat16": torch.bfloat16, "fp16": torch.float16,
              "float16": torch.float16, "fp32": torch.float32, "float32": torch.float32}.get(dtype)
    if tdtype is None:
        raise ValueError(f"dtype must be one of 'bf16', 'fp16', 'fp32'; got {dtype!r}")
    if kind == "cuda":
        free_bytes, _ = torch.cuda.mem_get_info()
        n = matmul_n or (8192 if free_bytes > 2 * 2**30 else 4096)
        copy_bytes = copy_bytes or int(min(2**30, free_bytes // 8))
    else:
        n = matmul_n or 1024
        copy_bytes = copy_bytes or 256 * 2**20  # larger than a server CPU's last-level cache
    from .errors import check_fits

    size = dtype_bytes(dtype)
    check_fits(f"matmul_n={n:,} (three {n:,}x{n:,} {dtype} matrices)", 3 * n * n * size, device,
               hint="pass a smaller matmul_n")
    check_fits(f"copy_bytes={copy_bytes:,} (source and destination buffers)", 2 * copy_bytes, device,
               hint="pass a smaller copy_bytes")
    a = torch.randn(n, n, device=device, dtype=tdtype)
    b = torch.randn(n, n, device=device, dtype=tdtype)
    out = torch.empty(n, n, device=device, dtype=tdtype)
    mm = time_fn(lambda: torch.mm(a, b, out=out), device=kind, warmup=3, budget_s=seconds / 2)
    del a, b, out
    elements = int(copy_bytes // dtype_bytes(dtype))
    src = torch.empty(elements, device=device, dtype=tdtype).fill_(1.0)
    dst = torch.empty_like(src)
    cp = time_fn(lambda: dst.copy_(src), device=kind, warmup=3, budget_s=seconds / 2)
    nbytes = src.numel() * src.element_size()
    del src, dst
    prov = provenance(kind)
    # a ceiling is the best rate achieved, so the fastest call (not the median) defines it
    return Ceilings(prov.device_name, 2 * n**3 / mm.min_s, 2 * nbytes / cp.min_s, dtype,
                    f"measured: {dtype} {n}x{n} matmul ({mm.repeats} repeats), copy of "
                    f"{nbytes / 2**20:,.0f} MiB counted as read+write ({cp.repeats} repeats), {prov.short}")


def _as_point(p) -> tuple[str, float, float]:
    if isinstance(p, Mapping):
        label, flops, nbytes, seconds = p["label"], p["flops"], p["bytes"], p["seconds"]
    else:
        label, flops, nbytes, seconds = p
    return label, flops / nbytes, flops / seconds


def roofline_figure(ceilings: Ceilings, points: Iterable = (), datasheet: Ceilings | None = None,
                    title: str | None = None, note: str | None = None):
    """The roofline of ``ceilings`` (solid) and of ``datasheet`` (dashed), with measured points.

    Each point is ``(label, flops, bytes, seconds)`` or a mapping with those keys; it is drawn at
    arithmetic intensity ``flops / bytes`` and achieved rate ``flops / seconds``. Returns
    ``(fig, ax)``. Used by chapter 4 (and 7).
    """
    import numpy as np

    from . import plot

    _ceilings(ceilings)
    if datasheet is not None:
        _ceilings(datasheet)
    pts = [_as_point(p) for p in points]
    xs = [x for _, x, _ in pts] + [ceilings.ridge_flops_per_byte]
    if datasheet is not None:
        xs.append(datasheet.ridge_flops_per_byte)
    lo, hi = 2.0 ** np.floor(np.log2(min(xs) / 4)), 2.0 ** np.ceil(np.log2(max(xs) * 8))
    fig, ax = plot.figure(title or f"Roofline of {ceilings.name}", "arithmetic intensity (FLOP per byte moved)",
                          "achieved rate (FLOP/s)", log="xy")
    grid = np.geomspace(lo, hi, 200)
    for i, (c, style, what) in enumerate([(ceilings, "-", "measured ceilings"), (datasheet, "--", "datasheet")]):
        if c is None:
            continue
        ax.plot(grid, np.minimum(c.matmul_flops_per_s, grid * c.bandwidth_bytes_per_s), style,
                color="#555555" if i == 0 else "#999999", label=f"{what}: {c.name}")
    ax.axvline(ceilings.ridge_flops_per_byte, color="#bbbbbb", lw=0.8, ls=":")
    for i, (label, x, y) in enumerate(pts):
        ax.plot([x], [y], "o", color=plot.color(i), label=label, markersize=7)
    ax.set_xlim(lo, hi)
    ax.legend(loc="lower right")
    if note:
        plot.device_note(fig, note)
    return fig, ax


def with_source(ceilings: Ceilings, source: str) -> Ceilings:
    """A copy of ``ceilings`` with another ``source`` text (e.g. 'datasheet fallback')."""
    return replace(ceilings, source=source)
