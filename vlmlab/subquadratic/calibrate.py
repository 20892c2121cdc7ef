"""The three constants of the chapter-9 time model, measured by micro-benchmarks (chapter 9).

The compute rate and the bandwidth come from :func:`vlmlab.roofline.measure_ceilings` (a square
matmul, a large copy); the per-operation overhead is the time of one tiny torch operation issued
from Python in a loop (``x.add_(1)`` on 8 numbers): on a GPU that is the launch latency, on a CPU
the dispatcher. None of the three is fitted to the mixers the chapter compares.

Threads. On a CPU torch runs each operation on as many threads as there are cores. When any other
process is runnable on the machine (another notebook, a build), one of those threads is descheduled
and every parallel operation waits at its barrier until the scheduler gives the core back, a few
milliseconds: a 0.15 ms attention call then takes 8 ms, and timings of small calls become flat
and meaningless. :func:`timing_threads` therefore runs the chapter's CPU measurements, constants
and mixers alike, on one thread (the setting is restored afterwards); on a GPU it does nothing.
"""
from __future__ import annotations

from contextlib import contextmanager

import torch

from ..device import cpu_threads, torch_threads
from ..errors import positive_int, positive_number
from .cost import TimeModel

#: intra-op threads for CPU timings (see the module docstring)
_OVERHEAD_OPS = 200


@contextmanager
def timing_threads(device: str, threads: int | None = None):
    """Run the block with ``threads`` intra-op torch threads on CPU (default: the book's
    :func:`vlmlab.device.cpu_threads`, one), then restore (chapter 9).

    A no-op for CUDA and MPS devices, whose kernels do not use the host's thread pool.
    """
    threads = cpu_threads() if threads is None else positive_int("threads", threads)
    if str(device).split(":")[0] != "cpu":
        yield
        return
    with torch_threads(threads):
        yield


def measure_op_overhead(device: str, ops: int = _OVERHEAD_OPS) -> float:
    """Seconds per tiny torch operation issued one after another from Python (chapter 9)."""
    from ..bench import time_fn

    positive_int("ops", ops)
    x = torch.zeros(8, device=device)

    def loop():
        for _ in range(ops):
            x.add_(1)

    return time_fn(loop, device=device.split(":")[0], warmup=2, budget_s=0.2).min_s / ops


def measure_time_model(device: str, dtype: str = "fp32", seconds: float = 1.0,
                       threads: int | None = None) -> TimeModel:
    """Measure compute rate, bandwidth and per-op overhead of ``device`` (chapter 9).

    On CPU the three micro-benchmarks run with ``threads`` intra-op threads, the setting under
    which :func:`vlmlab.subquadratic.measure_mixers` times the mixers. Each constant is the best
    the device achieved (fastest call), as a ceiling should be.
    """
    from ..roofline import measure_ceilings

    positive_number("seconds", seconds)
    threads = cpu_threads() if threads is None else threads
    with timing_threads(device, threads):
        ceilings = measure_ceilings(device, dtype, seconds=seconds)
        overhead = measure_op_overhead(device)
    where = f"; {threads} CPU thread{'s' if threads > 1 else ''}" if device.split(":")[0] == "cpu" else ""
    return TimeModel(ceilings.matmul_flops_per_s, ceilings.bandwidth_bytes_per_s, overhead,
                     f"{ceilings.source}; per-op overhead from {_OVERHEAD_OPS} x.add_(1) calls{where}")
