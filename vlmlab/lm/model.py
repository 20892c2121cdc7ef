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
from ..errors import (check_fits, device_kind, non_negative_int, optional_positive_int, positive_int,
                      positive_number, tensor)
from ..models import LMConfig, get_lm
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
    if not isinstance(device, torch.device) and device != "meta":
        device_kind("device", device)  # 'mps' on Linux, 'cuda' without a GPU: refused here ('meta' below)
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

    Inputs are checked at the entry (token ids (batch, t) within the vocabulary, embeddings
    (batch, t, d_model), visual tokens for the cross-attention layers only) and sequences longer
    than ``context_window`` (default ``cfg.context_window``, the trained window) are refused; pass a
    larger ``context_window`` to run past it on purpose. Weights that would not fit the memory left
    on the device are refused before anything is allocated ("needs X GiB, Y GiB free").
    """

    def __init__(self, cfg, n_layers: int | None = None, xattn_every: int = 0, d_visual: int | None = None,
                 rope_theta: float = 10000.0, eps: float = 1e-6, context_window: int | None = None):
        super().__init__()
        if isinstance(cfg, str):
            cfg = get_lm(cfg)
        if not isinstance(cfg, LMConfig):
            raise TypeError(f"cfg must be a vlmlab.models.LMConfig or a preset name, got {type(cfg).__name__} {cfg!r}")
        if cfg.is_moe:
            raise ValueError(f"cfg {cfg.name!r} is a mixture of experts (n_experts={cfg.n_experts}); DecoderLM "
                             "builds dense MLPs only")
        self.cfg = cfg
        self.rope_theta = positive_number("rope_theta", rope_theta)
        positive_number("eps", eps)
        self.n_layers = positive_int("n_layers", n_layers if n_layers is not None else cfg.n_layers)
        self.xattn_every = non_negative_int("xattn_every", xattn_every)
        optional_positive_int("d_visual", d_visual)
        self.context_window = positive_int("context_window", cfg.context_window if context_window is None
                                           else context_window)
        self._check_weights_fit(d_visual or cfg.d_model)
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.layers = nn.ModuleList(DecoderLayer(cfg, eps) for _ in range(self.n_layers))
        self.norm = RMSNorm(cfg.d_model, eps)
        self.lm_head = None if cfg.tied_embeddings else nn.Linear(cfg.d_model, cfg.vocab_size, bias=False)
        self.xattn_layers = [i for i in range(self.n_layers) if xattn_every and i % xattn_every == xattn_every - 1]
        self.cross_blocks = nn.ModuleList(
            GatedCrossAttentionBlock(cfg.d_model, d_visual or cfg.d_model, cfg.n_heads, cfg.head_dim,
                                     cfg.n_kv_heads) for _ in self.xattn_layers)

    def _check_weights_fit(self, d_visual: int) -> None:
        """Refuse, before allocating, weights larger than the free memory of the default device."""
        from dataclasses import replace

        device = torch.empty(0).device  # honours `with torch.device(...)` in every torch >= 2.6
        if device.type == "meta":
            return
        cfg = replace(self.cfg, n_layers=self.n_layers)
        d, q, kv = cfg.d_model, cfg.q_dim, cfg.kv_dim
        n_cross = sum(1 for i in range(self.n_layers) if self.xattn_every and i % self.xattn_every == self.xattn_every - 1)
        cross = 4 * d + 2 * d * q + 2 * d_visual * kv + 2 + 8 * d * d  # GatedCrossAttentionBlock, ff_mult 4
        nbytes = (cfg.param_count() + n_cross * cross) * torch.tensor([], dtype=torch.get_default_dtype()).element_size()
        check_fits(f"DecoderLM({cfg.name!r}, n_layers={self.n_layers}) weights in {torch.get_default_dtype()}",
                   nbytes, str(device), hint="pass fewer n_layers, build on 'meta', or use a smaller dtype "
                   "(with allocate_on(device, torch.bfloat16))")

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

    def _check_ids(self, name: str, ids, expected: str = "(batch, tokens)", rank=2):
        tensor(name, ids, expected, rank=rank, nonempty=range(rank), floating=False)
        if ids.device.type == "cpu" and ids.numel():  # a range check elsewhere would sync the device
            lo, hi = int(ids.min()), int(ids.max())
            if lo < 0 or hi >= self.cfg.vocab_size:
                raise ValueError(f"{name} must be token ids in [0, vocab_size={self.cfg.vocab_size}), got values "
                                 f"from {lo} to {hi}")
        return ids

    def _inputs(self, input_ids, inputs_embeds, visual, new_tokens: int = 0):
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("pass exactly one of input_ids=(batch, t) or inputs_embeds=(batch, t, d_model)")
        if inputs_embeds is None:
            h = self.embed(self._check_ids("input_ids", input_ids))
        else:
            h = tensor("inputs_embeds", inputs_embeds, f"(batch, tokens, d_model={self.cfg.d_model})", rank=3,
                       sizes={2: ("d_model", self.cfg.d_model)}, nonempty=(0, 1), floating=True)
        t = h.shape[1]
        if t + new_tokens > self.context_window:
            extra = f" + max_new_tokens {new_tokens:,}" if new_tokens else ""
            raise ValueError(f"sequence of {t:,} tokens{extra} exceeds the context window of {self.cfg.name!r} "
                             f"({self.context_window:,} tokens); shorten it, or build DecoderLM(cfg, "
                             f"context_window=...) to run past the trained window on purpose")
        if visual is not None and not self.cross_blocks:
            raise ValueError("visual was given but this DecoderLM has no cross-attention layers "
                             "(xattn_every=0); concatenate the visual tokens into inputs_embeds instead")
        if self.cross_blocks:
            if visual is None:
                raise ValueError("this DecoderLM has cross-attention layers; pass visual=(batch, n, d_visual)")
            self.cross_blocks[0].check_features(visual, "visual", self.cross_blocks[0].d_visual, "d_visual")
            if visual.shape[0] not in (1, h.shape[0]):
                raise ValueError(f"visual must have the batch of the text ({h.shape[0]}), got shape "
                                 f"{tuple(visual.shape)}")
        return h

    def forward(self, input_ids=None, inputs_embeds=None, visual=None):
        """Logits (batch, t, vocab) of a full causal pass, without a cache."""
        return self._logits(self._run(self._inputs(input_ids, inputs_embeds, visual), 0, None, visual))

    @torch.no_grad()
    def prefill(self, input_ids=None, inputs_embeds=None, visual=None, max_new_tokens: int = 16):
        """Process the prompt; return (logits of the last position (batch, vocab), KVCache).

        The cache is preallocated for the prompt plus ``max_new_tokens`` decode steps.
        """
        new = non_negative_int("max_new_tokens", max_new_tokens)
        h = self._inputs(input_ids, inputs_embeds, visual, new)
        b, t, _ = h.shape
        if h.device.type != "meta":
            cache_bytes = 2 * self.n_layers * b * self.cfg.kv_dim * (t + new) * h.element_size()
            check_fits(f"the KV cache for {t:,} + {new:,} tokens x batch {b}", cache_bytes, str(h.device),
                       hint="lower max_new_tokens or the batch")
        cache = KVCache.allocate(self.n_layers, b, self.cfg.n_kv_heads, t + new, self.cfg.head_dim,
                                 h.dtype, h.device)
        h = self._run(h, 0, cache, visual)
        cache.length = t
        return self._logits(h[:, -1:])[:, 0], cache

    @torch.no_grad()
    def decode_step(self, token_ids, cache: KVCache):
        """One generated token per sequence (batch,) or (batch, 1) -> logits (batch, vocab)."""
        if not isinstance(cache, KVCache):
            raise TypeError(f"cache must be the KVCache that prefill returned, got {type(cache).__name__}")
        tensor("token_ids", token_ids, "(batch,) or (batch, 1)", rank=(1, 2), floating=False)
        batch = cache.k[0].shape[0]
        if token_ids.numel() != batch or (token_ids.dim() == 2 and token_ids.shape[1] != 1):
            raise ValueError(f"token_ids must hold one token per sequence of the cache (batch {batch}): shape ({batch},) or "
                             f"({batch}, 1), got {tuple(token_ids.shape)}")
        token_ids = token_ids.reshape(-1, 1)
        h = self._run(self.embed(token_ids), cache.length, cache)
        cache.length += 1
        return self._logits(h)[:, 0]
