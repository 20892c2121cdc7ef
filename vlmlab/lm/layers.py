"""Building blocks of :class:`vlmlab.lm.DecoderLM`: RoPE and grouped-query self-attention (chapters 5, 7).

Names and conventions follow transformers' Llama (``q_proj``, ``k_proj``, ``v_proj``, ``o_proj``,
rotate-half RoPE [su2021roformer]), so weights copy across one-to-one. Attention runs in
``F.scaled_dot_product_attention``; key/value heads are shared by groups of query heads
[ainslie2023gqa].
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..connectors.base import sdpa
from ..connectors.perceiver import FeedForward, RMSNorm


def rope_cos_sin(positions: torch.Tensor, head_dim: int, theta: float, dtype):
    """cos and sin tables (t, head_dim) for rotate-half RoPE at integer ``positions``."""
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, device=positions.device).float() / head_dim))
    freqs = positions.float()[:, None] * inv_freq[None, :]
    emb = torch.cat([freqs, freqs], dim=-1)
    return emb.cos().to(dtype), emb.sin().to(dtype)


def apply_rope(x, cos, sin):
    """Rotate (batch, heads, t, head_dim) by the position tables (rotate-half convention)."""
    x1, x2 = x.chunk(2, dim=-1)
    return x * cos + torch.cat([-x2, x1], dim=-1) * sin


class SelfAttention(nn.Module):
    """Causal grouped-query self-attention with RoPE; reads and writes a :class:`KVCache`."""

    def __init__(self, cfg):
        super().__init__()
        self.n_heads, self.n_kv_heads, self.head_dim = cfg.n_heads, cfg.n_kv_heads, cfg.head_dim
        self.q_proj = nn.Linear(cfg.d_model, cfg.q_dim, bias=cfg.qkv_bias)
        self.k_proj = nn.Linear(cfg.d_model, cfg.kv_dim, bias=cfg.qkv_bias)
        self.v_proj = nn.Linear(cfg.d_model, cfg.kv_dim, bias=cfg.qkv_bias)
        self.o_proj = nn.Linear(cfg.q_dim, cfg.d_model, bias=cfg.o_bias)

    def forward(self, x, cos, sin, cache=None, layer=0, start=0):
        b, t, _ = x.shape
        split = lambda y, h: y.view(b, t, h, self.head_dim).transpose(1, 2)
        q = apply_rope(split(self.q_proj(x), self.n_heads), cos, sin)
        k = apply_rope(split(self.k_proj(x), self.n_kv_heads), cos, sin)
        v = split(self.v_proj(x), self.n_kv_heads)
        if cache is not None:
            k, v = cache.write(layer, k, v, start)
        if t == 1 and start > 0:
            # One new token sees every cached position: fold the query heads of a group into the
            # query axis so the shared K/V are read once, without a causal mask or a copy.
            g = self.n_heads // self.n_kv_heads
            out = F.scaled_dot_product_attention(q.reshape(b, self.n_kv_heads, g, self.head_dim), k, v)
            out = out.reshape(b, self.n_heads, 1, self.head_dim)
        elif start == 0:
            out = sdpa(q, k, v, causal=True)
        else:
            raise ValueError(f"after prefill, decode one token at a time; got {t} tokens at position {start}")
        return self.o_proj(out.transpose(1, 2).reshape(b, t, -1))


class DecoderLayer(nn.Module):
    """Pre-norm block: x + attn(RMSNorm(x)), then x + MLP(RMSNorm(x)) (SwiGLU or GELU MLP)."""

    def __init__(self, cfg, eps: float = 1e-6):
        super().__init__()
        self.input_layernorm = RMSNorm(cfg.d_model, eps)
        self.self_attn = SelfAttention(cfg)
        self.post_attention_layernorm = RMSNorm(cfg.d_model, eps)
        self.mlp = FeedForward(cfg.d_model, cfg.d_ff, cfg.ffn)

    def forward(self, x, cos, sin, cache=None, layer=0, start=0):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, cache, layer, start)
        return x + self.mlp(self.post_attention_layernorm(x))
