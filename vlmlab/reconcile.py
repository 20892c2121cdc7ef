"""Numbers that reconcile two statements of the book, each computed once (chapters 3, 4, 6, 7, 9).

Where a chapter states a figure that another view of the same quantity contradicts -- a miniature
against the real model, one count of memory passes against another, a preview plan against a
server, one mixer against all of them -- the chapter glues both from here:

* :func:`beit3_attention` -- attention's share of a BEiT-3-giant layer and how its FLOPs grow
  over the released resolutions (chapter 6; the miniature's time slope is not the giant's);
* :data:`STANDARD_ATTENTION_PASSES`, :func:`attention_io_ratio` -- materialised attention's bytes
  over a fused kernel's, with the FlashAttention paper's 4 passes or eager PyTorch's 10 (chapter 4);
* :func:`decode_intensity` -- FLOP per byte of a decode step in a given dtype (chapter 4);
* :func:`serving_gains` -- images/s of compression over concatenation on an A100-40GB at one
  request, at what an engine admits and at the upper bound (chapter 7);
* :func:`flop_crossovers` -- per mixer, the length from which it needs fewer FLOPs than causal
  softmax attention (chapter 9);
* :func:`window_tokens` -- the tokens an image takes in the LM's context window: none for
  cross-attention designs (chapter 3).

Pure Python at import (no torch); only :func:`flop_crossovers` loads torch, through
vlmlab.subquadratic's mixer table.
"""
from __future__ import annotations

import math

from . import cost
from .errors import non_negative_int, positive_int

#: Passes over the N x N matrix in "standard attention" as Dao et al. (2022, Algorithm 0) count
#: them: S = QK^T written to HBM, read for the softmax, P written, read for PV.
STANDARD_ATTENTION_PASSES = 4

#: BEiT-3 giant (wang2023beit3, Table 2): width 1408, FFN 6144; the released recipes use 16-px
#: patches at 224 (pretraining), 384 (retrieval), 480 and 768 px (VQAv2), plus [CLS] and a caption.
BEIT3_GIANT_WIDTH, BEIT3_GIANT_FFN = 1408, 6144
BEIT3_PX, BEIT3_PATCH, BEIT3_TEXT = (224, 384, 480, 768), 16, 32


def beit3_tokens(px: int, patch: int = BEIT3_PATCH, text: int = BEIT3_TEXT) -> int:
    """Sequence length of a BEiT-3 image-text pair: patches + [CLS] + ``text`` (chapter 6)."""
    return (positive_int("px", px) // positive_int("patch", patch)) ** 2 + 1 + non_negative_int("text", text)


def _layer_flops(n: int, d: int, d_ff: int) -> tuple[int, int]:
    """(attention scores + weighted sum, whole layer) FLOPs of one Multiway block (chapter 6):
    ``4 n^2 d`` against ``8 n d^2`` projections and ``4 n d d_ff`` for the expert MLP."""
    attn = 4 * n * n * d
    return attn, attn + 8 * n * d * d + 4 * n * d * d_ff


def beit3_attention(px=BEIT3_PX, d_model: int = BEIT3_GIANT_WIDTH, d_ff: int = BEIT3_GIANT_FFN) -> dict:
    """Attention's share of a BEiT-3 layer at the largest resolution, and the FLOP growth (ch. 6).

    Returns ``tokens`` (per resolution), ``share`` (attention / layer FLOPs at the largest),
    ``slope`` (log-log slope of layer FLOPs against tokens over ``px``) and ``ratio`` (layer FLOPs,
    largest over smallest). At giant width a compute-bound forward pass scales like these FLOPs.
    """
    from .plot import loglog_slope

    tokens = [beit3_tokens(p) for p in px]
    flops = [_layer_flops(n, d_model, d_ff)[1] for n in tokens]
    attn, total = _layer_flops(tokens[-1], d_model, d_ff)
    return {"tokens": tokens, "share": attn / total, "slope": loglog_slope(tokens, flops),
            "ratio": flops[-1] / flops[0]}


def attention_io_ratio(n: int, heads: int, head_dim: int, passes: int, dtype="bf16",
                       block_q: int = 128) -> float:
    """Bytes of materialised attention over a fused kernel's, one call over all heads (chapter 4).

    Materialised: Q, K, V, O plus ``passes`` passes over the ``heads x n x n`` matrix
    (:func:`vlmlab.cost.attention_matrix_bytes`); fused: Q, K, V, O plus K and V re-read once per
    block of ``block_q`` queries (chapter 4's pessimistic count). ``passes`` is
    :data:`STANDARD_ATTENTION_PASSES` (4) for the FlashAttention paper's standard attention, or
    ``sum(vlmlab.attention.NAIVE_PASSES.values())`` (10) for eager PyTorch.
    """
    from .units import dtype_bytes

    n, h, d = positive_int("n", n), positive_int("heads", heads), positive_int("head_dim", head_dim)
    b = dtype_bytes(dtype)
    qkvo = 4 * n * h * d * b
    materialised = qkvo + positive_int("passes", passes) * cost.attention_matrix_bytes(n, n, h, dtype=dtype)
    fused = qkvo + 2 * n * h * d * b * math.ceil(n / positive_int("block_q", block_q))
    return materialised / fused


def decode_intensity(lm, context: int, dtype="bf16", batch: int = 1) -> float:
    """FLOP per byte of one decode step (:mod:`vlmlab.cost`); in fp32 half the bf16 value (ch. 4)."""
    return (cost.decode_step_flops(lm, context, batch).total
            / cost.decode_step_bytes(lm, context, batch, dtype).total)


def serving_gains(lm="llama-2-7b", concat: int = 4146, compressed: int = 350, device: str = "A100-40GB",
                  dtype="fp16") -> dict:
    """Roofline images/s of ``compressed``-token over ``concat``-token requests (chapter 7).

    Keys: ``'one request'`` (batch 1 each), ``'engine'`` (what :func:`vlmlab.engine.engine_batch`
    admits) and ``'upper bound'`` (:func:`vlmlab.serving.max_batch`, all memory beside the
    weights); each maps to ``(gain, (concat batch, compressed batch))``. Every request generates
    ``serving.ANSWER_TOKENS`` tokens.
    """
    from .engine import engine_batch
    from .roofline import get_datasheet
    from .serving import ANSWER_TOKENS, max_batch, serving_estimate

    sheet = get_datasheet(device)
    mem = sheet.memory_bytes
    plans = {"one request": (1, 1),
             "engine": tuple(engine_batch(lm, n, mem, dtype) for n in (concat, compressed)),
             "upper bound": tuple(max_batch(lm, n, mem, dtype, activations=False, new_tokens=ANSWER_TOKENS)
                                  for n in (concat, compressed))}
    out = {}
    for key, (b_big, b_small) in plans.items():
        rate = [serving_estimate(lm, n, ANSWER_TOKENS, b, sheet, 1.0, dtype).images_per_s
                for n, b in ((concat, b_big), (compressed, b_small))]
        out[key] = (rate[1] / rate[0], (b_big, b_small))
    return out


def flop_crossovers(heads: int = 4, head_dim: int = 64, d_state: int = 16, limit: int = 10**5) -> dict:
    """Per sub-quadratic mixer, the first length whose FLOPs fall below causal softmax's (ch. 9).

    ``vlmlab.subquadratic.mixer_cost`` for both; linear attention's parallel form crosses at
    ``2 * head_dim + 4`` (the formula chapter 9 states), the other forms elsewhere.
    """
    from . import subquadratic as sq

    def flops(name, n):
        return sq.mixer_cost(name, n, heads, head_dim, d_state).total_flops

    out = {}
    for name in list(sq.MIXERS)[1:]:
        out[name] = next((n for n in range(2, positive_int("limit", limit))
                          if flops(name, n) < flops("softmax (SDPA)", n)), None)
    return out


#: Token presets whose visual tokens are read by cross-attention and never enter the sequence.
CROSS_ATTENTION = {"flamingo": "alayrac2022flamingo"}


def window_tokens(model: str, height: int, width: int) -> int:
    """Tokens one image occupies in the LM's context window (chapter 3): the visual-token count
    (:func:`vlmlab.tokens.visual_tokens`), or 0 for a cross-attention design, whose latents sit
    beside the sequence (Flamingo marks the image with one ``<image>`` text token, not counted)."""
    from .tokens import get_preset, visual_tokens

    preset = get_preset(model)
    if preset.name in CROSS_ATTENTION:
        return 0
    return visual_tokens(model, height, width)
