"""vlmlab.lm: a small decoder-only LM with a KV cache and optional cross-attention (chapters 5, 7).

``DecoderLM(cfg, n_layers=None, xattn_every=0, d_visual=None)``, ``.prefill(...)`` ->
(logits, ``KVCache``), ``.decode_step(token_ids, cache)`` -> logits; ``KVCache.nbytes``.
"""
from __future__ import annotations

from .cache import KVCache
from .layers import DecoderLayer, SelfAttention, apply_rope, rope_cos_sin
from .model import DecoderLM

__all__ = ["DecoderLM", "KVCache", "DecoderLayer", "SelfAttention", "apply_rope", "rope_cos_sin"]
