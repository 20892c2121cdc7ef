"""Flamingo's gated cross-attention dense block: the design that does *not* concatenate (chapter 5).

Text hidden states query the visual tokens through cross-attention, then pass a feed-forward
layer; both branches are scaled by ``tanh(gate)`` with the gates initialised at zero, so a freshly
inserted block leaves the frozen LM's output exactly unchanged [alayrac2022flamingo]. The visual
tokens never enter the LM's sequence: the KV cache grows with the text only, plus one fixed set of
visual keys/values per cross-attention layer. Llama 3.2 Vision uses the same idea
[dubey2024llama3].
"""
from __future__ import annotations

import torch
from torch import nn

from ..cost import cross_attention_flops
from ..errors import optional_positive_int, positive_int, tensor
from ..units import Breakdown
from .base import Connector, check_dims, sdpa
from .perceiver import FeedForward


class GatedCrossAttentionBlock(Connector):
    """x + tanh(a_attn)·XAttn(LN(x), visual), then x + tanh(a_ffn)·FFN(LN(x)); gates start at 0.

    ``d_model`` is the LM width, ``d_visual`` the width of the visual tokens (keys/values come from
    them). Grouped-query cross-attention when ``n_kv_heads < n_heads``.
    """

    fusion = "cross-attention"
    cite = "alayrac2022flamingo"

    def __init__(self, d_model: int = 4096, d_visual: int = 1024, n_heads: int = 32, head_dim: int | None = None,
                 n_kv_heads: int | None = None, ff_mult: int = 4, ffn: str = "gelu"):
        super().__init__()
        check_dims(d_model=d_model, n_heads=n_heads)
        head_dim = d_model // n_heads if optional_positive_int("head_dim", head_dim) is None else head_dim
        n_kv_heads = n_heads if optional_positive_int("n_kv_heads", n_kv_heads) is None else n_kv_heads
        check_dims(d_model=d_model, d_visual=d_visual, n_heads=n_heads, head_dim=head_dim,
                   n_kv_heads=n_kv_heads, ff_mult=ff_mult)
        if n_heads % n_kv_heads:
            raise ValueError(f"n_heads={n_heads} must be a multiple of n_kv_heads, got {n_kv_heads}")
        self.d_model, self.d_visual, self.d_out = d_model, d_visual, d_model
        self.n_heads, self.n_kv_heads, self.head_dim = n_heads, n_kv_heads, head_dim
        self.attn_norm = nn.LayerNorm(d_model)
        self.q_proj = nn.Linear(d_model, n_heads * head_dim, bias=False)
        self.k_proj = nn.Linear(d_visual, n_kv_heads * head_dim, bias=False)
        self.v_proj = nn.Linear(d_visual, n_kv_heads * head_dim, bias=False)
        self.o_proj = nn.Linear(n_heads * head_dim, d_model, bias=False)
        self.attn_gate = nn.Parameter(torch.zeros(()))
        self.ffn_norm = nn.LayerNorm(d_model)
        self.mlp = FeedForward(d_model, ff_mult * d_model, ffn)
        self.ffn_gate = nn.Parameter(torch.zeros(()))

    def visual_kv(self, visual):
        """Keys and values of the visual tokens, (batch, n_kv_heads, n_visual, head_dim) each.

        Computed once per image and kept for every decode step (part of the KV cache).
        """
        self.check_features(visual, "visual", self.d_visual, "d_visual")
        b, n, _ = visual.shape
        split = lambda t: t.view(b, n, self.n_kv_heads, self.head_dim).transpose(1, 2)
        return split(self.k_proj(visual)), split(self.v_proj(visual))

    def forward(self, x, visual=None, kv=None):
        """Text hidden states (batch, n_text, d_model) -> same shape; pass ``visual`` or its ``kv``."""
        if kv is None:
            if visual is None:
                raise ValueError("GatedCrossAttentionBlock needs visual=(batch, n, d_visual) or kv=(k, v)")
            kv = self.visual_kv(visual)
        tensor("x", x, f"(batch, n_text, d_model={self.d_model})", rank=3, sizes={2: ("d_model", self.d_model)},
               nonempty=(0, 1), floating=True)
        if kv[0].shape[0] not in (1, x.shape[0]):
            raise ValueError(f"visual must have the batch of x ({x.shape[0]}), got {kv[0].shape[0]}")
        b, n, _ = x.shape
        q = self.q_proj(self.attn_norm(x)).view(b, n, self.n_heads, self.head_dim).transpose(1, 2)
        out = self.o_proj(sdpa(q, *kv).transpose(1, 2).reshape(b, n, -1))
        x = x + torch.tanh(self.attn_gate) * out
        return x + torch.tanh(self.ffn_gate) * self.mlp(self.ffn_norm(x))

    def output_tokens(self, n_in: int) -> int:
        """Tokens added to the LM's sequence: none (the LM reads the image by cross-attention)."""
        positive_int("n_in", n_in)
        return 0

    def flops(self, n_in: int, batch: int = 1, n_text: int = 1, visual_kv: bool = True) -> Breakdown:
        """Matmul FLOPs for ``n_text`` text tokens (per image) reading ``n_in`` visual tokens.

        ``visual_kv=False`` leaves out the key/value projections of the image (cached at decode).
        """
        n_in, batch, t = positive_int("n_in", n_in), positive_int("batch", batch), positive_int("n_text", n_text)
        parts = cross_attention_flops(
            t, n_in, d_model=self.d_model, d_visual=self.d_visual, n_heads=self.n_heads,
            n_kv_heads=self.n_kv_heads, head_dim=self.head_dim, d_ff=self.mlp.up_proj.out_features,
            ff_matrices=2 if self.mlp.gate_proj is None else 3, visual_kv=visual_kv)
        return Breakdown({k: v * batch for k, v in parts.items()}, "FLOP", type(self).__name__)
