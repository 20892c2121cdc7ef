"""The Perceiver resampler of Flamingo (and Idefics2): latents that attend to image and latents.

``n_latents`` learned vectors (64 in Flamingo and Idefics2) run through a few layers in which the
latents are the queries and the keys/values are the image features *concatenated with the
latents* [alayrac2022flamingo; jaegle2021perceiver]. Flamingo uses LayerNorm, multi-head
attention and a GELU feed-forward; Idefics2 uses RMSNorm, grouped-query attention and a SwiGLU
feed-forward [laurencon2024idefics2] (``style='idefics2'``, laid out as transformers'
``Idefics2PerceiverResampler``). Used by chapter 5.
"""
from __future__ import annotations

import torch
from torch import nn

from ..errors import one_of, optional_positive_int, positive_int
from .base import Connector, attention_flops, check_dims, linear_flops, sdpa


class RMSNorm(nn.Module):
    """Root-mean-square norm with a learned scale, computed in float32 [zhang2019rmsnorm]."""

    def __init__(self, d: int, eps: float = 1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        h = x.float()
        h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * h.to(x.dtype)


class FeedForward(nn.Module):
    """GELU MLP (``'gelu'``: up, down) or SwiGLU (``'swiglu'``: gate, up, down); no biases."""

    def __init__(self, d: int, d_ff: int, kind: str = "swiglu"):
        super().__init__()
        self.kind = one_of("ffn", kind, ["gelu", "swiglu"])
        self.gate_proj = nn.Linear(d, d_ff, bias=False) if kind == "swiglu" else None
        self.up_proj = nn.Linear(d, d_ff, bias=False)
        self.down_proj = nn.Linear(d_ff, d, bias=False)

    def forward(self, x):
        if self.gate_proj is None:
            return self.down_proj(nn.functional.gelu(self.up_proj(x)))
        return self.down_proj(nn.functional.silu(self.gate_proj(x)) * self.up_proj(x))

    def flops_per_token(self) -> int:
        n_mats = 3 if self.gate_proj is not None else 2
        return n_mats * linear_flops(1, self.up_proj.in_features, self.up_proj.out_features)


class _PerceiverLayer(nn.Module):
    def __init__(self, d, n_heads, head_dim, n_kv_heads, d_ff, norm, ffn):
        super().__init__()
        make_norm = (lambda: RMSNorm(d)) if norm == "rms" else (lambda: nn.LayerNorm(d))
        self.n_heads, self.n_kv_heads, self.head_dim = n_heads, n_kv_heads, head_dim
        self.latents_norm, self.context_norm = make_norm(), make_norm()
        self.q_proj = nn.Linear(d, n_heads * head_dim, bias=False)
        self.k_proj = nn.Linear(d, n_kv_heads * head_dim, bias=False)
        self.v_proj = nn.Linear(d, n_kv_heads * head_dim, bias=False)
        self.o_proj = nn.Linear(n_heads * head_dim, d, bias=False)
        self.mlp_norm = make_norm()
        self.mlp = FeedForward(d, d_ff, ffn)

    def forward(self, latents, context):
        b, n_lat, _ = latents.shape
        x = self.latents_norm(latents)
        kv_in = torch.cat([self.context_norm(context), x], dim=1)
        heads = lambda t, h: t.view(b, t.shape[1], h, self.head_dim).transpose(1, 2)
        out = sdpa(heads(self.q_proj(x), self.n_heads), heads(self.k_proj(kv_in), self.n_kv_heads),
                   heads(self.v_proj(kv_in), self.n_kv_heads))
        latents = latents + self.o_proj(out.transpose(1, 2).reshape(b, n_lat, -1))
        return latents + self.mlp(self.mlp_norm(latents))


class PerceiverResampler(Connector):
    """``n_latents`` latents, ``depth`` layers; keys/values from concat(image features, latents).

    ``d_in`` (vision width) is mapped to ``d_model`` by a linear layer when they differ.
    Defaults follow Idefics2's resampler config (64 latents, depth 3, 16 heads of 96, 4 KV heads).
    """

    cite = "alayrac2022flamingo"

    def __init__(self, d_model: int = 4096, d_in: int | None = None, n_latents: int = 64, depth: int = 3,
                 n_heads: int = 16, head_dim: int = 96, n_kv_heads: int | None = 4, ff_mult: int = 4,
                 style: str = "idefics2"):
        super().__init__()
        one_of("style", style, ["flamingo", "idefics2"])
        n_kv_heads = n_heads if (n_kv_heads is None or style == "flamingo") else n_kv_heads
        optional_positive_int("d_in", d_in)
        check_dims(d_model=d_model, n_latents=n_latents, depth=depth, n_heads=n_heads, head_dim=head_dim,
                   n_kv_heads=n_kv_heads, ff_mult=ff_mult)
        if n_heads % n_kv_heads:
            raise ValueError(f"n_heads={n_heads} must be a multiple of n_kv_heads, got {n_kv_heads}")
        self.d_model, self.d_in, self.d_out = d_model, d_in or d_model, d_model
        self.n_latents, self.n_heads, self.n_kv_heads, self.head_dim = n_latents, n_heads, n_kv_heads, head_dim
        self.proj_in = nn.Linear(self.d_in, d_model) if self.d_in != d_model else None
        self.latents = nn.Parameter(torch.randn(n_latents, d_model) * 0.02)
        norm, ffn = ("rms", "swiglu") if style == "idefics2" else ("layer", "gelu")
        self.layers = nn.ModuleList(_PerceiverLayer(d_model, n_heads, head_dim, n_kv_heads, ff_mult * d_model,
                                                    norm, ffn) for _ in range(depth))
        self.norm = RMSNorm(d_model) if norm == "rms" else nn.LayerNorm(d_model)

    def forward(self, features):
        """(batch, n_in, d_in) -> (batch, n_latents, d_model)."""
        self.check_features(features)
        context = features if self.proj_in is None else self.proj_in(features)
        x = self.latents.unsqueeze(0).expand(features.shape[0], -1, -1)
        for layer in self.layers:
            x = layer(x, context)
        return self.norm(x)

    def output_tokens(self, n_in: int) -> int:
        """Tokens handed on: ``n_latents``, independent of ``n_in`` (>= 1)."""
        positive_int("n_in", n_in)
        return self.n_latents

    def _flop_parts(self, n_in):
        lat, d, depth = self.n_latents, self.d_model, len(self.layers)
        inner, kv = self.n_heads * self.head_dim, self.n_kv_heads * self.head_dim
        parts = {"proj_in": linear_flops(n_in, self.d_in, d)} if self.proj_in is not None else {}
        parts.update({
            "q_o_proj": depth * 2 * linear_flops(lat, d, inner),
            "kv_proj": depth * 2 * linear_flops(n_in + lat, d, kv),
            "attn_core": depth * sum(attention_flops(lat, n_in + lat, self.n_heads, self.head_dim).values()),
            "mlp": depth * lat * self.layers[0].mlp.flops_per_token(),
        })
        return parts
