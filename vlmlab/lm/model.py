"""A small decoder-only LM with a KV cache and optional Flamingo cross-attention (chapters 5, 7).

``DecoderLM(cfg)`` builds the Llama-style model that a :class:`vlmlab.models.LMConfig` describes
(RMSNorm, RoPE, SwiGLU, grouped-query attention), from a tiny CPU model to 7B-shaped layers on a
GPU (pass ``n_layers`` to keep fewer of them). Visual tokens reach it in one of two ways:

* concatenation: ``prefill(inputs_embeds=torch.cat([visual, text_embeds], 1))`` (LLaVA, BLIP-2,
  InternVL, Fuyu, ...): the visual tokens occupy positions and KV-cache entries in every layer;
* cross-attention: ``DecoderLM(cfg, xattn_every=k, d_visual=...)`` inserts a gated cross-attention
  block before every k-th layer and ``prefill(input_ids, visual=...)`` feeds the image there only.
"""
from __future__ import annotations

from contextlib import contextmanager

import torch
from torch import nn

from ..connectors.perceiver import RMSNorm
from ..connectors.xattn import GatedCrossAttentionBlock
from ..errors import non_negative_int, positive_int
from .cache import KVCache
from .layers import DecoderLayer, rope_cos_sin


@contextmanager
def allocate_on(device, dtype=None):
    """Modules built inside the block get their weights on ``device`` in ``dtype`` directly.

    ``with allocate_on("cuda", torch.float16): lm = DecoderLM(cfg)`` never holds an fp32 copy: a
    7B-shaped model built in fp32 and then cast needs twice its final memory at the peak, which
    does not fit a 16 GB T4 (chapter 6's Fuyu miniature). ``dtype`` is a floating torch.dtype
    (None keeps the default); it becomes torch's default dtype inside the block and the old one
    is restored afterwards. Used by chapters 5, 6 and 7.
    """
    before = torch.get_default_dtype()
    if dtype is not None:
        if not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
            raise TypeError(f"dtype must be a floating torch.dtype such as torch.float16, got {dtype!r}")
        torch.set_default_dtype(dtype)
    try:
        with torch.device(device):
            yield
    finally:
        torch.set_default_dtype(before)


class DecoderLM(nn.Module):
    """Llama-style decoder sized from ``cfg`` (an ``LMConfig``); ``n_layers`` overrides the depth.

    ``xattn_every=k`` (k >= 1) puts a :class:`GatedCrossAttentionBlock` before layers k-1, 2k-1, ...,
    reading visual tokens of width ``d_visual`` (default: the LM width). Parameter and module names
    match transformers' ``LlamaForCausalLM`` (without its ``model.`` prefix).
    """

    def __init__(self, cfg, n_layers: int | None = None, xattn_every: int = 0, d_visual: int | None = None,
                 rope_theta: float = 10000.0, eps: float = 1e-6):
        super().__init__()
        self.cfg, self.rope_theta = cfg, rope_theta
        self.n_layers = positive_int("n_layers", n_layers if n_layers is not None else cfg.n_layers)
        self.xattn_every = non_negative_int("xattn_every", xattn_every)
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.layers = nn.ModuleList(DecoderLayer(cfg, eps) for _ in range(self.n_layers))
        self.norm = RMSNorm(cfg.d_model, eps)
        self.lm_head = None if cfg.tied_embeddings else nn.Linear(cfg.d_model, cfg.vocab_size, bias=False)
        self.xattn_layers = [i for i in range(self.n_layers) if xattn_every and i % xattn_every == xattn_every - 1]
        self.cross_blocks = nn.ModuleList(
            GatedCrossAttentionBlock(cfg.d_model, d_visual or cfg.d_model, cfg.n_heads, cfg.head_dim,
                                     cfg.n_kv_heads) for _ in self.xattn_layers)

    def num_parameters(self, cross_attention: bool = True) -> int:
        """Parameters, with or without the cross-attention blocks (chapter 5)."""
        extra = 0 if cross_attention else sum(p.numel() for p in self.cross_blocks.parameters())
        return sum(p.numel() for p in self.parameters()) - extra

    def embed(self, input_ids):
        """Token embeddings (batch, t, d_model), to concatenate with visual tokens."""
        return self.embed_tokens(input_ids)

    def _logits(self, h):
        h = self.norm(h)
        return self.lm_head(h) if self.lm_head is not None else h @ self.embed_tokens.weight.T

    def _run(self, h, start, cache=None, visual=None):
        t = h.shape[1]
        cos, sin = rope_cos_sin(torch.arange(start, start + t, device=h.device), self.cfg.head_dim,
                                self.rope_theta, h.dtype)
        blocks = dict(zip(self.xattn_layers, self.cross_blocks))
        for i, layer in enumerate(self.layers):
            if i in blocks:
                j = self.xattn_layers.index(i)
                if cache is not None and start > 0:
                    kv = cache.cross_kv[j]
                else:
                    if visual is None:
                        raise ValueError("this DecoderLM has cross-attention layers; pass visual=(batch, n, d_visual)")
                    kv = blocks[i].visual_kv(visual)
                    if cache is not None:
                        cache.cross_kv.append(kv)
                h = blocks[i](h, kv=kv)
            h = layer(h, cos, sin, cache, i, start)
        return h

    def _inputs(self, input_ids, inputs_embeds):
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("pass exactly one of input_ids=(batch, t) or inputs_embeds=(batch, t, d_model)")
        return self.embed(input_ids) if inputs_embeds is None else inputs_embeds

    def forward(self, input_ids=None, inputs_embeds=None, visual=None):
        """Logits (batch, t, vocab) of a full causal pass, without a cache."""
        return self._logits(self._run(self._inputs(input_ids, inputs_embeds), 0, None, visual))

    @torch.no_grad()
    def prefill(self, input_ids=None, inputs_embeds=None, visual=None, max_new_tokens: int = 16):
        """Process the prompt; return (logits of the last position (batch, vocab), KVCache).

        The cache is preallocated for the prompt plus ``max_new_tokens`` decode steps.
        """
        h = self._inputs(input_ids, inputs_embeds)
        b, t, _ = h.shape
        cache = KVCache.allocate(self.n_layers, b, self.cfg.n_kv_heads,
                                 t + non_negative_int("max_new_tokens", max_new_tokens), self.cfg.head_dim,
                                 h.dtype, h.device)
        h = self._run(h, 0, cache, visual)
        cache.length = t
        return self._logits(h[:, -1:])[:, 0], cache

    @torch.no_grad()
    def decode_step(self, token_ids, cache: KVCache):
        """One generated token per sequence (batch,) or (batch, 1) -> logits (batch, vocab)."""
        token_ids = token_ids.reshape(-1, 1)
        h = self._run(self.embed(token_ids), cache.length, cache)
        cache.length += 1
        return self._logits(h)[:, 0]
