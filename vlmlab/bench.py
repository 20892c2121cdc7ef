"""What it really costs: timing, peak memory and out-of-memory-safe sweeps on the reader's device.

* :func:`time_fn` times a zero-argument callable: on CUDA with device events after a warm-up
  (GPU time, not Python time), on CPU/MPS with a monotonic clock; many repeats, and the median
  with its quartiles is reported (:class:`Timing`).
* :func:`measure` adds the peak memory the call needed above what was already allocated
  (``torch.cuda.max_memory_allocated`` on CUDA; ``None`` elsewhere, see :func:`measure`).
* :func:`sweep` measures a workload over sizes; an out-of-memory error is a data point
  (``status='OOM'``, ``note='OOM at n=…'``): memory is freed and the sweep goes on.

Every result carries the :class:`~vlmlab.device.Provenance` of the machine that produced it.
Used by chapters 2, 4, 5, 7 and 9.
"""
from __future__ import annotations

import gc
import math
import statistics
import time
from dataclasses import dataclass
from typing import Callable, Iterable

from .device import Provenance, pick_device, pick_scale, provenance
from .errors import at_most, device_kind, non_negative_int, one_of, positive_int, positive_number

__all__ = ["Timing", "Measurement", "time_fn", "measure", "sweep", "is_oom", "free_memory",
           "synchronize", "allocated_bytes", "pick_device", "pick_scale", "provenance"]

DEVICES = ("cpu", "cuda", "mps")
#: Substrings of the messages of allocation failures (CUDA, cuBLAS, cuDNN, MPS, CPU allocator).
_OOM_MESSAGES = ("out of memory", "can't allocate memory", "cannot allocate memory",
                 "CUBLAS_STATUS_ALLOC_FAILED", "CUDNN_STATUS_ALLOC_FAILED", "ALLOC_FAILED")


@dataclass(frozen=True)
class Timing:
    """Seconds per call: median and quartiles over ``repeats`` timed calls, and the fastest."""

    median_s: float
    p25_s: float
    p75_s: float
    min_s: float
    repeats: int

    @property
    def spread(self) -> float:
        """Interquartile range relative to the median (0.05 = the middle half lies within 5%)."""
        return (self.p75_s - self.p25_s) / self.median_s if self.median_s else 0.0

    def __str__(self) -> str:
        from .units import fmt_seconds

        return (f"{fmt_seconds(self.median_s)} median (IQR {fmt_seconds(self.p25_s)}–"
                f"{fmt_seconds(self.p75_s)}, {self.repeats} repeats)")


@dataclass(frozen=True)
class Measurement:
    """A timing, the peak memory of one call above what was allocated before it, and provenance.

    ``peak_bytes`` is ``None`` where the device offers no allocator statistics (CPU, MPS).
    """

    timing: Timing
    peak_bytes: int | None
    provenance: Provenance

    @property
    def seconds(self) -> float:
        """The median seconds per call."""
        return self.timing.median_s


def _check_device(device: str) -> str:
    """'cpu', 'cuda' or 'mps'; a device this machine lacks is refused with what is available."""
    return device_kind("device", device)


#: Most untimed warm-up calls and timed repeats :func:`time_fn` accepts (a bound, not a target).
MAX_CALLS = 100_000


def synchronize(device: str) -> None:
    """Wait until all queued work on ``device`` is done (no-op on CPU)."""
    kind = _check_device(device)
    if kind == "cpu":
        return
    import torch

    if kind == "cuda":
        torch.cuda.synchronize()
    else:
        torch.mps.synchronize()


def _quantiles(samples_s: list[float]) -> Timing:
    ordered = sorted(samples_s)
    if len(ordered) == 1:
        q25 = q75 = ordered[0]
    else:
        q25, _, q75 = statistics.quantiles(ordered, n=4, method="inclusive")
    return Timing(statistics.median(ordered), q25, q75, ordered[0], len(ordered))


def _cuda_samples(fn: Callable[[], object], repeats: int) -> list[float]:
    import torch

    starts = [torch.cuda.Event(enable_timing=True) for _ in range(repeats)]
    ends = [torch.cuda.Event(enable_timing=True) for _ in range(repeats)]
    for start, end in zip(starts, ends):
        start.record()
        fn()
        end.record()
    torch.cuda.synchronize()
    return [s.elapsed_time(e) / 1e3 for s, e in zip(starts, ends)]  # elapsed_time is in ms


def _clock_samples(fn: Callable[[], object], repeats: int, device: str) -> list[float]:
    samples = []
    for _ in range(repeats):
        synchronize(device)
        t0 = time.perf_counter()
        fn()
        synchronize(device)
        samples.append(time.perf_counter() - t0)
    return samples


def time_fn(fn: Callable[[], object], *, device: str, warmup: int = 3, repeats: int | None = None,
            budget_s: float = 0.5, max_repeats: int = 200) -> Timing:
    """Time ``fn()`` on ``device``; return a :class:`Timing` (median and quartiles, seconds).

    ``warmup`` untimed calls come first (kernel selection, caches, lazy initialisation). With
    ``repeats=None`` the number of timed calls is chosen so that they take about ``budget_s``
    seconds (at least 3, at most ``max_repeats``). On CUDA each call is bracketed by a pair of
    ``torch.cuda.Event(enable_timing=True)`` recorded on the current stream, so the time is the
    GPU's; elsewhere ``time.perf_counter`` around the call, with a device synchronisation.
    Used by chapters 2, 4, 5, 7 and 9.
    """
    if not callable(fn):
        raise TypeError(f"fn must be a callable taking no arguments, got {type(fn).__name__} {fn!r}")
    kind = _check_device(device)
    at_most("warmup", non_negative_int("warmup", warmup), MAX_CALLS, "bench.MAX_CALLS")
    positive_number("budget_s", budget_s)
    at_most("max_repeats", positive_int("max_repeats", max_repeats), MAX_CALLS, "bench.MAX_CALLS")
    if repeats is not None:
        at_most("repeats", positive_int("repeats", repeats), MAX_CALLS, "bench.MAX_CALLS")
    for _ in range(warmup):
        fn()
    sample = _cuda_samples if kind == "cuda" else (lambda f, r: _clock_samples(f, r, kind))
    if repeats is None:
        first = sample(fn, 1)
        repeats = max(3, min(max_repeats, math.ceil(budget_s / max(first[0], 1e-7))))
        return _quantiles(first + sample(fn, repeats - 1))
    synchronize(kind)
    return _quantiles(sample(fn, repeats))


def measure(fn: Callable[[], object], *, device: str, warmup: int = 3, repeats: int | None = None,
            budget_s: float = 0.5, prov: Provenance | None = None) -> Measurement:
    """Time ``fn()`` and record the peak memory one call needs beyond what was already allocated.

    On CUDA: the allocator's peak counter is reset (``torch.cuda.reset_peak_memory_stats``) and
    ``peak_bytes = max_memory_allocated() - memory_allocated()`` taken before the first call, so
    it counts every tensor the call creates (temporaries and its result), not the inputs. The
    caching allocator rounds sizes up to blocks of 512 bytes, which is negligible for the tensors
    the book measures. On CPU and MPS there is no allocator counter that isolates one call, so
    ``peak_bytes`` is ``None``: the chapters then show the prediction alone for memory.
    Used by chapters 2, 4, 5 and 7.
    """
    kind = _check_device(device)
    peak = None
    if kind == "cuda":
        import torch

        synchronize(kind)
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated()
        timing = time_fn(fn, device=device, warmup=warmup, repeats=repeats, budget_s=budget_s)
        peak = int(torch.cuda.max_memory_allocated() - before)
    else:
        timing = time_fn(fn, device=device, warmup=warmup, repeats=repeats, budget_s=budget_s)
    return Measurement(timing, peak, prov or provenance(kind))


def allocated_bytes(device: str) -> int | None:
    """Bytes the CUDA caching allocator holds in live tensors now; ``None`` on CPU and MPS.

    The difference before and after creating tensors is what they really occupy on the device
    (chapter 4 compares it with the predicted KV-cache size).
    """
    if _check_device(device) != "cuda":
        return None
    import torch

    torch.cuda.synchronize()
    return int(torch.cuda.memory_allocated())


def is_oom(exc: BaseException) -> bool:
    """True if ``exc`` is an out-of-memory error of torch, CUDA, cuBLAS/cuDNN, MPS or the CPU allocator.

    Used by :func:`sweep` (chapters 2, 4, 7) to turn an OOM into a data point.
    """
    if isinstance(exc, MemoryError):
        return True
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None:
        oom_types = tuple(t for t in (getattr(torch, "OutOfMemoryError", None),
                                      getattr(torch.cuda, "OutOfMemoryError", None)) if t is not None)
        if oom_types and isinstance(exc, oom_types):
            return True
    if isinstance(exc, RuntimeError):
        text = str(exc)
        return any(m.lower() in text.lower() for m in _OOM_MESSAGES)
    return False


def free_memory(device: str) -> None:
    """Collect garbage and return cached blocks to the device (after an OOM, between sizes)."""
    kind = _check_device(device)
    gc.collect()
    if kind == "cuda":
        import torch

        torch.cuda.synchronize()
        torch.cuda.empty_cache()
    elif kind == "mps":
        import torch

        torch.mps.empty_cache()


def _sweep_one(make, n, device, warmup, repeats, budget_s, prov, record_errors=False):
    """Measure one size; return (Measurement or None, (status, message) or None)."""
    try:
        work = make(n)
        if not callable(work):
            raise TypeError(f"fn(n) must return a zero-argument callable to time, got {type(work).__name__} for n={n}")
        result = measure(work, device=device, warmup=warmup, repeats=repeats, budget_s=budget_s, prov=prov)
        del work
        return result, None
    except Exception as exc:  # noqa: BLE001 -- OOMs (and, if asked, other errors) are kept, the rest re-raised
        oom = is_oom(exc)
        if not (oom or record_errors):
            raise
        text = str(exc).strip()
        return None, ("OOM" if oom else "error",
                      f"{type(exc).__name__}: {text.splitlines()[0][:160] if text else ''}")


def _interactive() -> bool:
    """True in a terminal or on Colab: where a progress bar is watched while it moves."""
    import sys

    stream = getattr(sys.stderr, "isatty", None)
    return bool(stream and stream()) or "google.colab" in sys.modules


def sweep(fn: Callable[[int], Callable[[], object]], sizes: Iterable[int], *, device: str,
          desc: str = "sweep", warmup: int = 2, repeats: int | None = None, budget_s: float = 0.3,
          skip_after_oom: bool = True, progress: bool | None = None, errors: str = "raise"):
    """Measure ``fn(n)()`` for each ``n`` in ``sizes``; an out-of-memory error becomes a row.

    ``fn(n)`` builds the workload of size ``n`` (allocates its inputs, untimed) and returns a
    zero-argument callable, which is timed with :func:`measure`. Returns a pandas DataFrame with
    columns ``n, seconds, p25_s, p75_s, min_s, repeats, peak_bytes, status, note``: ``status`` is
    ``'ok'``, ``'OOM'`` (``note='OOM at n=…'`` plus the error) or, with ``skip_after_oom``, ``'skipped'``
    for larger sizes, which would not fit either. After an OOM the memory is freed
    (``gc.collect``, ``torch.cuda.empty_cache``) so the rest of the notebook can go on. The
    provenance is in ``df.attrs['provenance']``. Other errors propagate with ``errors='raise'``
    (the default); with ``errors='record'`` they become rows with ``status='error'`` and the
    message in ``note`` (e.g. an attention backend that refuses one shape), and the sweep goes
    on. A ``tqdm.auto`` bar shows progress when ``progress`` is True; the default (None) shows
    it only in a terminal or on Colab, so an executed notebook keeps no frozen bar in its
    outputs (a static page has no kernel to move it). Used by chapters 2, 4, 5 and 7.
    """
    kind = _check_device(device)
    one_of("errors", errors, ("raise", "record"))
    if not callable(fn):
        raise TypeError(f"fn must be a callable n -> (callable to time), got {type(fn).__name__} {fn!r}")
    if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__iter__"):
        raise TypeError(f"sizes must be an iterable of integers >= 1, got {type(sizes).__name__} {sizes!r}")
    sizes = [positive_int(f"sizes[{i}]", n) for i, n in enumerate(sizes)]
    if not sizes:
        raise ValueError("sizes must hold at least one size, got an empty list")
    import pandas as pd
    from tqdm.auto import tqdm

    prov = provenance(kind)
    rows, oom_at = [], None
    if progress is None:
        progress = _interactive()
    for n in tqdm(sizes, desc=desc, unit="size", disable=not progress, leave=False):
        if oom_at is not None and skip_after_oom and n >= oom_at:
            rows.append((n, math.nan, math.nan, math.nan, math.nan, 0, None, "skipped", f"skipped: OOM at n={oom_at}"))
            continue
        result, error = _sweep_one(fn, n, kind, warmup, repeats, budget_s, prov, errors == "record")
        if result is None:
            free_memory(kind)
            status, message = error
            if status == "OOM":
                oom_at = n if oom_at is None else min(oom_at, n)
            rows.append((n, math.nan, math.nan, math.nan, math.nan, 0, None, status, f"{status} at n={n} ({message})"))
            continue
        t = result.timing
        rows.append((n, t.median_s, t.p25_s, t.p75_s, t.min_s, t.repeats, result.peak_bytes, "ok", ""))
        del result
        free_memory(kind)
    df = pd.DataFrame(rows, columns=["n", "seconds", "p25_s", "p75_s", "min_s", "repeats", "peak_bytes", "status", "note"])
    df["peak_bytes"] = df["peak_bytes"].astype("Int64")
    df.attrs["provenance"] = prov.as_dict()
    df.attrs["desc"] = desc
    return df
