"""The chapter-9 workloads: each mixer at a given length, its cost model, and the crossover read
off measurements (chapter 9). One configuration for all mixers: ``heads`` heads of ``head_dim``
for the attentions, a scan of the same width ``heads * head_dim`` with ``d_state`` states, fp32.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..errors import lookup
from .attention import masked_attention, softmax_attention, vision_cut_attention, vision_cut_mask
from .cost import linear_attention_cost, selective_scan_cost, softmax_attention_cost, vision_attention_cost
from .linear import linear_attention
from .scan import selective_scan

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
    return lambda: selective_scan(x, delta, A, B, C, form=form)


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
