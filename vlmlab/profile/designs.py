"""One design priced end to end, and the alternative connectors a profile compares.

:func:`price` turns "this LM reads this many tokens per request (and maybe cross-attends to
that many visual tokens)" into the profile's figures: share of the context window, prefill
FLOPs and time, KV-cache bytes, decode time per token, the largest batch that fits, images per
second and dollars per 1,000 images. Every number comes from :mod:`vlmlab.cost`,
:mod:`vlmlab.serving` and :mod:`vlmlab.roofline`; the cross-attention block's FLOPs come from
:func:`vlmlab.cost.cross_attention_flops`, which the torch module :mod:`vlmlab.connectors.xattn`
uses too; only its weight and cache bytes are counted here (:func:`xattn_costs`).

Alternatives (:data:`ALTERNATIVES`) act on the front-end's *patch tokens*: the encoder's patch
grid before the front-end's own merging or resampling (``patches x merge^2``; for a resampler,
``tiles x (input/patch)^2``), without layout tokens. Chapters 5 and 7 explain each design.
"""
from __future__ import annotations

import math

from .. import cost, serving
from ..roofline import predict_seconds
from ..units import dtype_bytes

#: name -> (description, visual tokens entering the LM's sequence given patch tokens and views).
ALTERNATIVES = {
    "all-patches": "every patch token, an MLP keeps the count (LLaVA-1.5)",
    "pixel-shuffle-2x2": "2x2 pixel shuffle, a quarter of the patch tokens (InternVL)",
    "resampler": "a resampler with k learned queries per view (BLIP-2, Flamingo, Idefics2)",
    "cross-attention": "no visual tokens in the sequence; every patch token is a key/value of "
                       "gated cross-attention blocks, one per 4 LM layers (Flamingo-style)",
}
XATTN_EVERY = 4        # one gated cross-attention block per 4 LM layers (Flamingo-9B)
XATTN_FF_MULT = 4      # its feed-forward width: 4 d_model, GELU (connectors.xattn defaults)


def patch_tokens(preset, count) -> int | None:
    """The encoder's patch tokens behind one TokenCount, or None when not modelled."""
    if preset.family == "resampler":
        if not (preset.input_size and preset.patch_size):
            return None
        return count.tiles * (preset.input_size // preset.patch_size) ** 2 * count.frames
    if preset.patch_size is None:
        return None
    return count.patches * preset.merge ** 2


def alternative_tokens(name: str, patches: int, views: int, queries: int) -> int:
    """Visual tokens in the LM's sequence for ``patches`` patch tokens over ``views`` views."""
    if name == "all-patches":
        return patches
    if name == "pixel-shuffle-2x2":
        return -(-patches // 4)
    if name == "resampler":
        return queries * views
    return 0


def xattn_costs(lm, text_tokens: int, visual_tokens: int, dtype) -> dict:
    """Cross-attention blocks' extras per request: prefill FLOPs, weight bytes and the visual
    keys/values they keep: ``cost.cross_attention_flops`` (as ``GatedCrossAttentionBlock``) with ``d_visual =
    d_model``, the LM's heads and KV heads and a GELU feed-forward of ``4 d_model``."""
    blocks = max(1, lm.n_layers // XATTN_EVERY)
    d, q, kv = lm.d_model, lm.q_dim, lm.kv_dim
    ff = XATTN_FF_MULT * d
    shape = dict(d_model=d, d_visual=d, n_heads=lm.n_heads, n_kv_heads=lm.n_kv_heads,
                 head_dim=lm.head_dim, d_ff=ff)
    per_block = sum(cost.cross_attention_flops(text_tokens, visual_tokens, **shape).values())
    per_step = sum(cost.cross_attention_flops(1, visual_tokens, visual_kv=False, **shape).values())
    params = 2 * d * q + 2 * d * kv + 2 * d * ff
    b = dtype_bytes(dtype)
    return {"blocks": blocks, "prefill_flops": blocks * per_block,
            "weight_bytes": blocks * params * b,
            "kv_bytes": blocks * 2 * kv * visual_tokens * b,
            "decode_flops": blocks * per_step}


def price(lm, seq_tokens: int, *, new_tokens: int, ceilings, memory_bytes: float,
          dollars_per_hour: float, dtype, batch: int | None, images_per_request: int,
          xattn: dict | None = None) -> dict:
    """The profile's figures for requests of ``seq_tokens`` prompt tokens (chapter 7's plan).

    Batch 1 gives prefill time and decode time per token; the batch (given, or the largest that
    fits: KV cache of prompt and answer beside the weights, activations excluded, as chapter 7's
    serving plans) gives images per second and dollars per 1,000 images.
    """
    x = xattn or {"prefill_flops": 0, "weight_bytes": 0, "kv_bytes": 0, "decode_flops": 0}
    per_seq = serving.memory_per_sequence(lm, seq_tokens, dtype, activations=False,
                                          new_tokens=new_tokens).total + x["kv_bytes"]
    free = memory_bytes - cost.weight_bytes(lm, dtype) - x["weight_bytes"]
    fits = max(0, int(free // per_seq))
    b = batch if batch is not None else fits

    def run(bs: int):
        pf, pb, steps = serving.batch_flops_bytes(lm, seq_tokens, new_tokens, bs, dtype)
        prefill = predict_seconds(pf + bs * x["prefill_flops"],
                                  pb + x["weight_bytes"] + bs * x["kv_bytes"], ceilings)
        decode = [predict_seconds(f + bs * x["decode_flops"],
                                  by + x["weight_bytes"] + bs * x["kv_bytes"], ceilings)
                  for f, by in steps]
        return pf + bs * x["prefill_flops"], prefill, decode

    flops1, prefill1, decode1 = run(1)
    out = {
        "sequence_tokens": seq_tokens,
        "prefill_flops": flops1,
        "prefill_seconds": prefill1,
        "kv_cache_bytes": cost.kv_cache_bytes(lm, seq_tokens + new_tokens, 1, dtype) + x["kv_bytes"],
        "decode_seconds_per_token": math.fsum(decode1) / len(decode1) if decode1 else 0.0,
        "max_batch": fits,
        "batch": b,
        "batch_seconds": None, "images_per_second": None, "dollars_per_1000_images": None,
    }
    if b >= 1:
        _, prefill, decode = (flops1, prefill1, decode1) if b == 1 else run(b)
        seconds = prefill + math.fsum(decode)
        images_per_s = b * images_per_request / seconds
        out.update(batch_seconds=seconds, images_per_second=images_per_s,
                   dollars_per_1000_images=dollars_per_hour / 3600 / images_per_s * 1000)
    return out
