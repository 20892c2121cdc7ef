"""BLIP-2's Q-Former: learned queries that read the image through cross-attention (chapter 5).

A fixed set of query vectors (32 in BLIP-2) runs through a BERT-sized transformer: self-attention
among the queries in every layer, cross-attention from the queries to the frozen image features in
every other layer, then a linear map to the LM width [li2023blip2]. The output has as many tokens
as there are queries, whatever the image size. Parameter layout follows transformers'
``Blip2QFormerModel`` (post-LayerNorm BERT blocks) plus ``query_tokens`` and
``language_projection``.
"""
from __future__ import annotations

import torch
from torch import nn

from ..errors import optional_positive_int, positive_int
from .base import Connector, attention_flops, check_dims, linear_flops, sdpa


class _PostNormAttention(nn.Module):
    """BERT attention: q from x, k/v from ``context``; dense out, residual, LayerNorm."""

    def __init__(self, d: int, d_kv: int, n_heads: int, eps: float):
        super().__init__()
        self.n_heads = n_heads
        self.query, self.key, self.value = nn.Linear(d, d), nn.Linear(d_kv, d), nn.Linear(d_kv, d)
        self.dense = nn.Linear(d, d)
        self.norm = nn.LayerNorm(d, eps=eps)

    def forward(self, x, context):
        b, n, d = x.shape
        split = lambda t: t.view(b, t.shape[1], self.n_heads, d // self.n_heads).transpose(1, 2)
        out = sdpa(split(self.query(x)), split(self.key(context)), split(self.value(context)))
        return self.norm(x + self.dense(out.transpose(1, 2).reshape(b, n, d)))


class _QFormerLayer(nn.Module):
    def __init__(self, d, d_enc, n_heads, d_ff, cross, eps):
        super().__init__()
        self.attention = _PostNormAttention(d, d, n_heads, eps)
        self.crossattention = _PostNormAttention(d, d_enc, n_heads, eps) if cross else None
        self.intermediate = nn.Linear(d, d_ff)
        self.act = nn.GELU()
        self.output = nn.Linear(d_ff, d)
        self.norm = nn.LayerNorm(d, eps=eps)

    def forward(self, x, image):
        x = self.attention(x, x)
        if self.crossattention is not None:
            x = self.crossattention(x, image)
        return self.norm(x + self.output(self.act(self.intermediate(x))))


class QFormer(Connector):
    """BLIP-2 Q-Former: ``n_queries`` learned queries, ``n_layers`` BERT layers, projection to LM.

    Defaults are BLIP-2's: 32 queries of width 768, 12 layers, 12 heads, cross-attention every
    2nd layer to EVA ViT-g features of width 1408. ``d_out=None`` leaves out the LM projection.
    """

    cite = "li2023blip2"

    def __init__(self, d_in: int = 1408, d_out: int | None = 4096, n_queries: int = 32, d_model: int = 768,
                 n_layers: int = 12, n_heads: int = 12, d_ff: int = 3072, cross_every: int = 2,
                 eps: float = 1e-12):
        super().__init__()
        check_dims(d_in=d_in, n_queries=n_queries, d_model=d_model, n_layers=n_layers, n_heads=n_heads,
                   d_ff=d_ff, cross_every=cross_every)
        optional_positive_int("d_out", d_out)
        if d_model % n_heads:
            raise ValueError(f"d_model must be a multiple of n_heads={n_heads}, got {d_model}")
        self.d_in, self.d_out, self.d_model, self.d_ff = d_in, d_out, d_model, d_ff
        self.n_queries, self.n_heads = n_queries, n_heads
        self.query_tokens = nn.Parameter(torch.randn(1, n_queries, d_model) * 0.02)
        self.layernorm = nn.LayerNorm(d_model, eps=eps)
        self.layers = nn.ModuleList(_QFormerLayer(d_model, d_in, n_heads, d_ff, i % cross_every == 0, eps)
                                    for i in range(n_layers))
        self.language_projection = nn.Linear(d_model, d_out) if d_out is not None else None

    def forward(self, features):
        """(batch, n_in, d_in) image features -> (batch, n_queries, d_out or d_model)."""
        self.check_features(features)
        x = self.layernorm(self.query_tokens.expand(features.shape[0], -1, -1))
        for layer in self.layers:
            x = layer(x, features)
        return x if self.language_projection is None else self.language_projection(x)

    def output_tokens(self, n_in: int) -> int:
        """Tokens entering the LM: ``n_queries``, independent of ``n_in`` (>= 1)."""
        positive_int("n_in", n_in)
        return self.n_queries

    def _flop_parts(self, n_in):
        q, d = self.n_queries, self.d_model
        n_cross = sum(layer.crossattention is not None for layer in self.layers)
        n_layers = len(self.layers)
        self_att = attention_flops(q, q, self.n_heads, d // self.n_heads)
        cross_att = attention_flops(q, n_in, self.n_heads, d // self.n_heads)
        parts = {
            "self_attn_proj": n_layers * 4 * linear_flops(q, d, d),
            "self_attn_core": n_layers * sum(self_att.values()),
            "cross_attn_proj": n_cross * (2 * linear_flops(q, d, d) + 2 * linear_flops(n_in, self.d_in, d)),
            "cross_attn_core": n_cross * sum(cross_att.values()),
            "mlp": n_layers * 2 * linear_flops(q, d, self.d_ff),
        }
        if self.language_projection is not None:
            parts["language_projection"] = linear_flops(q, d, self.d_out)
        return parts
