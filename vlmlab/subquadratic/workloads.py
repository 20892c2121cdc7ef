"""The chapter-9 workloads: each mixer at a given length, its cost model, and the crossover read
off measurements (chapter 9). One configuration for all mixers: ``heads`` heads of ``head_dim``
for the attentions, a scan of the same width ``heads * head_dim`` with ``d_state`` states, fp32.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..errors import lookup, positive_number
from .attention import masked_attention, softmax_attention, vision_cut_attention, vision_cut_mask
from .cost import linear_attention_cost, selective_scan_cost, softmax_attention_cost, vision_attention_cost
from .calibrate import timing_threads
from .linear import linear_attention
from .scan import _check as _check_scan, selective_scan

#: name -> (kind, form); the order is the order of the chapter's legends
MIXERS = {
    "softmax (SDPA)": ("softmax", None),
    "linear, parallel": ("linear", "parallel"),
    "linear, chunked": ("linear", "chunked"),
    "linear, recurrent": ("linear", "recurrent"),
    "scan, parallel": ("scan", "parallel"),
    "scan, sequential": ("scan", "sequential"),
}


def mixer_cost(name: str, n: int, heads: int = 4, head_dim: int = 64, d_state: int = 16, chunk: int = 64):
    """The :class:`~vlmlab.subquadratic.cost.OpCost` of mixer ``name`` over ``n`` tokens (chapter 9)."""
    kind, form = lookup(name, MIXERS, what="mixer")
    if kind == "softmax":
        return softmax_attention_cost(n, head_dim, heads)
    if kind == "linear":
        return linear_attention_cost(n, head_dim, heads, form=form, chunk=chunk)
    return selective_scan_cost(n, heads * head_dim, d_state, form=form)


def mixer_workload(name: str, n: int, device: str, heads: int = 4, head_dim: int = 64,
                   d_state: int = 16, chunk: int = 64, seed: int = 0):
    """Allocate the inputs of mixer ``name`` for ``n`` tokens; return a zero-argument callable."""
    kind, form = lookup(name, MIXERS, what="mixer")
    g = torch.Generator(device=device).manual_seed(seed)
    if kind in ("softmax", "linear"):
        q, k, v = (torch.randn(1, heads, n, head_dim, device=device, generator=g) for _ in range(3))
        if kind == "softmax":
            return lambda: softmax_attention(q, k, v)
        return lambda: linear_attention(q, k, v, form=form, chunk=chunk)
    width = heads * head_dim
    x = torch.randn(1, n, width, device=device, generator=g)
    delta = F.softplus(torch.randn(1, n, width, device=device, generator=g) - 2)
    A = -torch.arange(1, d_state + 1, device=device, dtype=torch.float32).repeat(width, 1)
    B, C = (torch.randn(1, n, d_state, device=device, generator=g) for _ in range(2))
    _check_scan(x, delta, A, B, C)           # once, untimed: the timed call syncs nothing
    return lambda: selective_scan(x, delta, A, B, C, form=form, check_values=False)


def vision_workload(kernel: str, n_images: int, tokens_per_image: int, device: str, text: int = 32,
                    heads: int = 4, head_dim: int = 64, seed: int = 0):
    """Attention over [text][n_images images][text] run by ``kernel`` (chapter 9); a callable."""
    vision_attention_cost(text, n_images, tokens_per_image, text, head_dim, heads, kernel=kernel)
    n = 2 * text + n_images * tokens_per_image
    g = torch.Generator(device=device).manual_seed(seed)
    q, k, v = (torch.randn(1, heads, n, head_dim, device=device, generator=g) for _ in range(3))
    if kernel == "full":
        return lambda: softmax_attention(q, k, v)
    if kernel == "dense_mask":
        mask = vision_cut_mask(text, n_images, tokens_per_image, text, device=device)
        return lambda: masked_attention(q, k, v, mask)
    return lambda: vision_cut_attention(q, k, v, text, n_images, tokens_per_image, text)


def _fastest(frame):
    """``seconds`` := the fastest call; the median moves to ``median_s``."""
    frame = frame.rename(columns={"seconds": "median_s"})
    frame.insert(1, "seconds", frame["min_s"])
    return frame


def measure_mixers(sizes: dict, device: str, heads: int = 4, head_dim: int = 64, d_state: int = 16,
                   chunk: int = 64, budget_s: float = 0.05, threads: int | None = None) -> dict:
    """Time each mixer over its sizes; ``sizes`` maps mixer name -> lengths (chapter 9).

    Returns name -> a :func:`vlmlab.bench.sweep` DataFrame in which ``seconds`` is the *fastest*
    call (``median_s``, ``p25_s``, ``p75_s`` keep the spread): the time model predicts the best the
    device allows, and the fastest call is the one least disturbed by other processes. Inputs are
    built outside the timed call; gradients are off; on CPU everything runs with ``threads``
    intra-op threads (:func:`~vlmlab.subquadratic.calibrate.timing_threads`), like the constants.
    """
    from ..bench import sweep

    positive_number("budget_s", budget_s)
    for name in sizes:
        lookup(name, MIXERS, what="mixer")
    frames = {}
    with timing_threads(device, threads), torch.no_grad():
        for name, ns in sizes.items():
            frames[name] = _fastest(sweep(lambda n, name=name: mixer_workload(name, n, device, heads, head_dim,
                                                                              d_state, chunk),
                                          ns, device=device, desc=name, warmup=1, budget_s=budget_s, progress=False))
    return frames


def measure_vision(kernels, n_images, tokens_per_image: int, device: str, text: int = 32, heads: int = 4,
                   head_dim: int = 64, budget_s: float = 0.05, threads: int | None = None) -> dict:
    """Time :func:`vision_workload` for each kernel over numbers of images (chapter 9).

    Returns kernel -> sweep DataFrame whose ``n`` column is the number of images; ``seconds``,
    threads and gradients as in :func:`measure_mixers`.
    """
    from ..bench import sweep

    positive_number("budget_s", budget_s)
    frames = {}
    with timing_threads(device, threads), torch.no_grad():
        for kernel in kernels:
            frames[kernel] = _fastest(sweep(lambda k, kernel=kernel: vision_workload(kernel, k, tokens_per_image,
                                                                                     device, text, heads, head_dim),
                                            n_images, device=device, desc=kernel, warmup=1, budget_s=budget_s,
                                            progress=False))
    return frames


def measured_crossover(sizes, seconds, baseline_seconds):
    """First size at which ``seconds`` < ``baseline_seconds`` (NaN-safe); a (size, text) pair.

    Returns (sizes[0], '≤ …') if faster from the start and (None, '> …') if never (chapter 9).
    """
    pts = [(n, s, b) for n, s, b in zip(sizes, seconds, baseline_seconds)
           if not (math.isnan(s) or math.isnan(b))]
    if not pts:
        return None, "not measured"
    for i, (n, s, b) in enumerate(pts):
        if s < b:
            return n, (f"≤ {n:,}" if i == 0 else f"{n:,}")
    return None, f"> {pts[-1][0]:,}"
