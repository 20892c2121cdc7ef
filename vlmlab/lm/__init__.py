"""vlmlab.lm: a small decoder-only LM with a KV cache and optional cross-attention (chapters 5, 7).

``DecoderLM(cfg, n_layers=None, xattn_every=0, d_visual=None)``, ``.prefill(...)`` ->
(logits, ``KVCache``), ``.decode_step(token_ids, cache)`` -> logits; ``KVCache.nbytes``;
``allocate_on(device, dtype)`` builds modules in place, in their final dtype.
"""
from __future__ import annotations

from .cache import KVCache
from .layers import DecoderLayer, SelfAttention, apply_rope, rope_cos_sin
from .model import DecoderLM, allocate_on

__all__ = ["DecoderLM", "KVCache", "allocate_on", "DecoderLayer", "SelfAttention", "apply_rope", "rope_cos_sin"]
