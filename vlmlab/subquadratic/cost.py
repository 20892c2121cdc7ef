"""What softmax attention, linear attention and a selective scan cost on paper (chapter 9).

Every function returns an :class:`OpCost` for one layer's sequence mixer (after the q/k/v or
Δ/B/C projections, which all three share in spirit and which we leave out):

* ``flops``: a :class:`vlmlab.units.Breakdown` of floating-point operations (a multiply-add is 2;
  an elementwise op such as ``exp`` or a compare counts 1);
* ``traffic_bytes``: bytes moved to and from main memory by a straightforward implementation;
* ``peak_bytes``: memory the mixer allocates on top of its inputs (intermediates and output);
* ``launches``: torch operations issued one after another. A Python loop over the sequence issues
  a few per token, and each costs a fixed overhead however little work it does.

:func:`predicted_seconds` turns these into time with three device constants (:class:`TimeModel`):
``max(flops / flops_per_s, traffic_bytes / bytes_per_s) + launches * op_overhead_s``. The counts
follow the implementations in :mod:`vlmlab.subquadratic` operation by operation, so the model can
be checked against them. No torch is imported here.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

from ..errors import flag, non_negative_int, one_of, positive_int, positive_number
from ..units import Breakdown, dtype_bytes


@dataclass(frozen=True)
class OpCost:
    """FLOPs, bytes and sequential launches of one sequence mixer (chapter 9)."""

    name: str
    flops: Breakdown
    traffic_bytes: float
    peak_bytes: float
    launches: int

    @property
    def total_flops(self) -> float:
        return self.flops.total


@dataclass(frozen=True)
class TimeModel:
    """Three device constants: a compute rate, a memory bandwidth and a per-operation overhead."""

    flops_per_s: float
    bytes_per_s: float
    op_overhead_s: float
    source: str = ""


def predicted_terms(cost: OpCost, model: TimeModel) -> dict[str, float]:
    """The three terms of the time model in seconds: ``compute``, ``memory``, ``calls`` (chapter 9).

    ``compute = flops / rate``, ``memory = bytes / bandwidth``, ``calls = launches * overhead``;
    :func:`predicted_seconds` is ``max(compute, memory) + calls``.
    """
    return {"compute": cost.total_flops / model.flops_per_s,
            "memory": cost.traffic_bytes / model.bytes_per_s,
            "calls": cost.launches * model.op_overhead_s}


def predicted_seconds(cost: OpCost, model: TimeModel) -> float:
    """``max(flops/rate, bytes/bandwidth) + launches * overhead`` (chapter 9)."""
    t = predicted_terms(cost, model)
    return max(t["compute"], t["memory"]) + t["calls"]


def _check(n, head_dim, heads, batch, dtype):
    positive_int("n", n)
    positive_int("head_dim", head_dim)
    positive_int("heads", heads)
    positive_int("batch", batch)
    return dtype_bytes(dtype)


def softmax_attention_cost(n: int, head_dim: int, heads: int = 1, batch: int = 1, *,
                           causal: bool = True, dtype="fp32") -> OpCost:
    """Fused softmax attention (``scaled_dot_product_attention``) over ``n`` tokens (chapter 9).

    FLOPs count the two matmuls (``q kᵀ`` and ``p v``) over the n(n+1)/2 causal pairs, or all n²
    pairs with ``causal=False`` (what FlashAttention and ``FlopCounterMode`` report). A fused
    kernel never writes the n×n matrix: it reads q, k, v and writes the output.
    """
    e = _check(n, head_dim, heads, batch, dtype)
    flag("causal", causal)
    m = heads * batch
    pairs = n * (n + 1) / 2 if causal else n * n
    flops = Breakdown({"scores": 2 * pairs * head_dim * m, "weighted_sum": 2 * pairs * head_dim * m},
                      "FLOP", "softmax attention")
    return OpCost("softmax attention", flops, 4 * n * head_dim * m * e,
                  n * head_dim * m * e + n * m * 4, 1)


LINEAR_FORMS = ("parallel", "recurrent", "chunked")
#: torch calls (views and indexing included) per loop iteration of linear.py and scan.py; the
#: parallel forms have no loop over tokens and count their calls once (or once per round)
_LINEAR_OPS = {"parallel": 12, "recurrent": 14, "chunked": 21}
_SCAN_OPS = {"sequential": 5, "parallel": 12}


def linear_attention_cost(n: int, head_dim: int, heads: int = 1, batch: int = 1, *,
                          form: str = "parallel", chunk: int = 64, dtype="fp32") -> OpCost:
    """Causal linear attention with the elu+1 feature map, in one of three forms (chapter 9).

    With d = head_dim (keys and values alike), every form does about 4·n·d² FLOPs: the
    state ``S_t = Σ φ(k_j) v_jᵀ`` and its read-out ``φ(q_t)ᵀ S_t``. They differ in memory:
    ``parallel`` materialises all n states (n·d² numbers), ``recurrent`` keeps one state but loops
    over the n tokens, ``chunked`` loops over n/chunk chunks and does a small masked quadratic
    attention inside each chunk (4·n·chunk·d extra FLOPs).
    """
    e = _check(n, head_dim, heads, batch, dtype)
    one_of("form", form, LINEAR_FORMS)
    d, m = head_dim, heads * batch
    feature = 4 * n * d                       # elu and +1, on q and k
    if form == "chunked":
        c = min(positive_int("chunk", chunk), n)
        k = math.ceil(n / c)
        parts = {"feature_map": feature,
                 "intra_chunk": n * c * (4 * d + 2),   # φq φkᵀ, mask, row sums, (·) v
                 "kv_state": 2 * n * d * d,            # S += φKᵀ V per chunk
                 "readout": 2 * n * d * d,             # φq S_prev
                 "normaliser": 4 * n * d}
        traffic = (12 * n * d + 2 * n * c + 2 * k * d * d) * e
        peak = (c * c + 2 * d * d + 4 * n * d) * e
        launches = k * _LINEAR_OPS[form] + 4
    else:
        parts = {"feature_map": feature,
                 "kv_state": 2 * n * d * d,            # outer products + running sum
                 "readout": 2 * n * d * d,
                 "normaliser": 4 * n * d}
        traffic = (4 * n * d * d + 12 * n * d) * e
        if form == "parallel":
            peak = (2 * n * d * d + 4 * n * d) * e
            launches = _LINEAR_OPS[form]
        else:
            peak = (2 * d * d + 4 * n * d) * e
            launches = n * _LINEAR_OPS[form] + 4
    flops = Breakdown({k_: v * m for k_, v in parts.items()}, "FLOP", f"linear attention ({form})")
    return OpCost(f"linear attention ({form})", flops, traffic * m, peak * m, launches)


SCAN_FORMS = ("sequential", "parallel")


def selective_scan_cost(seq_len: int, d_inner: int, d_state: int = 16, batch: int = 1, *,
                        form: str = "sequential", dtype="fp32") -> OpCost:
    """A Mamba-like selective scan: ``h_t = exp(Δ_t A) h_{t-1} + Δ_t B_t x_t``, ``y_t = C_t h_t``.

    Both forms first discretise (``exp(ΔA)`` and ``ΔBx`` for every step: 2·L·D·N numbers).
    ``sequential`` then loops over the L tokens like the reference scan of Gu and Dao (2023),
    about 8·L·D·N FLOPs in all. ``parallel`` runs ⌈log₂ L⌉ rounds of a Hillis-Steele scan, each
    touching every state (3·L·D·N FLOPs per round), in a handful of large operations (chapter 9).
    """
    positive_int("seq_len", seq_len)
    positive_int("d_inner", d_inner)
    positive_int("d_state", d_state)
    positive_int("batch", batch)
    e = dtype_bytes(dtype)
    one_of("form", form, SCAN_FORMS)
    L, D, N, b = seq_len, d_inner, d_state, batch
    parts = {"discretise": 4 * L * D * N,           # ΔA, exp, Δ·x, ·B
             "state_update": 2 * L * D * N,
             "readout": 2 * L * D * N,
             "skip": 2 * L * D}
    if form == "sequential":
        traffic = (6 * L * D * N + 4 * L * D) * e
        peak = (2 * L * D * N + 2 * L * D) * e
        launches = L * _SCAN_OPS[form] + 6
    else:
        rounds = math.ceil(math.log2(L)) if L > 1 else 0
        parts["state_update"] = 3 * L * D * N * rounds          # a·h + b and a·a per round
        traffic = (4 * L * D * N + 10 * L * D * N * rounds + 4 * L * D) * e
        peak = (4 * L * D * N + 2 * L * D) * e
        launches = rounds * _SCAN_OPS[form] + 6
    flops = Breakdown({k_: v * b for k_, v in parts.items()}, "FLOP", f"selective scan ({form})")
    return OpCost(f"selective scan ({form})", flops, traffic * b, peak * b, launches)


def attention_pairs(text_before: int, n_images: int, tokens_per_image: int, text_after: int, *,
                    cut: bool) -> int:
    """(query, key) pairs that causal attention scores for the layout [text][images][text].

    With ``cut=True`` a visual token attends to the text before it and to itself only, not to other
    visual tokens of its image nor to earlier images; text attends to everything before it. The
    full count is quadratic in the number of images, the cut count linear (chapter 9).
    """
    p, q = non_negative_int("text_before", text_before), non_negative_int("text_after", text_after)
    n_img, m = non_negative_int("n_images", n_images), positive_int("tokens_per_image", tokens_per_image)
    v = n_img * m
    n = p + v + q
    if not cut:
        return n * (n + 1) // 2
    return p * (p + 1) // 2 + v * (p + 1) + q * (p + v) + q * (q + 1) // 2


VISION_KERNELS = ("full", "dense_mask", "skip")


def vision_attention_cost(text_before: int, n_images: int, tokens_per_image: int, text_after: int,
                          head_dim: int, heads: int = 1, *, kernel: str = "full",
                          dtype="fp32") -> OpCost:
    """What each way of running the layout [text][images][text] executes (chapter 9).

    ``full``: causal attention, all pairs before each query. ``dense_mask``: the cut mask given to
    a dense kernel as an n×n boolean tensor; it still scores all n² pairs (and cannot skip the upper
    triangle either), and stores the mask. ``skip``: a kernel that only computes the pairs the cut
    mask keeps (what a block-sparse kernel does for whole blocks).
    """
    one_of("kernel", kernel, VISION_KERNELS)
    attention_pairs(text_before, n_images, tokens_per_image, text_after, cut=False)  # checks the counts
    n = text_before + n_images * tokens_per_image + text_after
    if n == 0:
        raise ValueError("text_before + n_images * tokens_per_image + text_after must be >= 1: the layout "
                         "holds no tokens")
    e = _check(n, head_dim, heads, 1, dtype)
    if kernel == "full":
        pairs = attention_pairs(text_before, n_images, tokens_per_image, text_after, cut=False)
    elif kernel == "dense_mask":
        pairs = n * n
    else:
        pairs = attention_pairs(text_before, n_images, tokens_per_image, text_after, cut=True)
    flops = Breakdown({"scores": 2 * pairs * head_dim * heads,
                       "weighted_sum": 2 * pairs * head_dim * heads}, "FLOP", f"attention ({kernel})")
    traffic = 4 * n * head_dim * heads * e + (n * n if kernel == "dense_mask" else 0)
    peak = n * head_dim * heads * e + (n * n if kernel == "dense_mask" else 0)
    return OpCost(f"attention ({kernel})", flops, traffic, peak, 1 if kernel != "skip" else 8)


def crossover_tokens(cheaper: Callable[[int], OpCost], baseline: Callable[[int], OpCost],
                     model: TimeModel, lo: int = 2, hi: int = 2**22) -> int | None:
    """Smallest n in [lo, hi] from which ``cheaper(n)`` is predicted faster than ``baseline(n)``.

    Assumes one crossing (true for a linear-plus-constant cost against a quadratic one); returns
    None when ``cheaper`` is slower over the whole range, ``lo`` when it is faster everywhere.
    """
    positive_int("lo", lo)
    positive_int("hi", hi, minimum=lo)
    positive_number("model.flops_per_s", model.flops_per_s)

    def wins(n):
        return predicted_seconds(cheaper(n), model) < predicted_seconds(baseline(n), model)

    if wins(lo):
        return lo
    if not wins(hi):
        return None
    a, b = lo, hi                      # wins(a) is False, wins(b) is True
    while b - a > 1:
        mid = (a + b) // 2
        a, b = (a, mid) if wins(mid) else (mid, b)
    return b
