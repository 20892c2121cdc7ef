"""The three constants of the chapter-9 time model, measured by micro-benchmarks (chapter 9).

The compute rate and the bandwidth come from :func:`vlmlab.roofline.measure_ceilings` (a square
matmul, a large copy); the per-operation overhead is the time of one tiny torch operation issued
from Python in a loop (``x.add_(1)`` on 8 numbers): on a GPU that is the launch latency, on a CPU
the dispatcher. None of the three is fitted to the mixers the chapter compares.
"""
from __future__ import annotations

import torch

from ..errors import positive_int, positive_number
from .cost import TimeModel


def measure_op_overhead(device: str, ops: int = 200) -> float:
    """Seconds per tiny torch operation issued one after another from Python (chapter 9)."""
    from ..bench import time_fn

    positive_int("ops", ops)
    x = torch.zeros(8, device=device)

    def loop():
        for _ in range(ops):
            x.add_(1)

    return time_fn(loop, device=device.split(":")[0], warmup=2, budget_s=0.2).median_s / ops


def measure_time_model(device: str, dtype: str = "fp32", seconds: float = 1.0) -> TimeModel:
    """Measure compute rate, bandwidth and per-op overhead of ``device`` (chapter 9)."""
    from ..roofline import measure_ceilings

    positive_number("seconds", seconds)
    ceilings = measure_ceilings(device, dtype, seconds=seconds)
    overhead = measure_op_overhead(device)
    return TimeModel(ceilings.matmul_flops_per_s, ceilings.bandwidth_bytes_per_s, overhead,
                     f"{ceilings.source}; per-op overhead from {200} x.add_(1) calls")
