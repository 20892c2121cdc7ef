"""The KV cache of :class:`vlmlab.lm.DecoderLM`: preallocated keys/values per layer (chapters 5, 7).

Self-attention layers get (batch, n_kv_heads, max_tokens, head_dim) buffers that prefill fills and
each decode step extends by one position; Flamingo-style cross-attention layers keep one fixed set
of visual keys/values, computed once at prefill.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch


@dataclass
class KVCache:
    """Keys/values of every self-attention layer, the filled length, and cross-attention K/V."""

    k: list[torch.Tensor]
    v: list[torch.Tensor]
    length: int = 0
    cross_kv: list[tuple[torch.Tensor, torch.Tensor]] = field(default_factory=list)

    @classmethod
    def allocate(cls, n_layers: int, batch: int, n_kv_heads: int, max_tokens: int, head_dim: int,
                 dtype, device) -> "KVCache":
        shape = (batch, n_kv_heads, max_tokens, head_dim)
        return cls([torch.empty(shape, dtype=dtype, device=device) for _ in range(n_layers)],
                   [torch.empty(shape, dtype=dtype, device=device) for _ in range(n_layers)])

    @property
    def max_tokens(self) -> int:
        return self.k[0].shape[2]

    def write(self, layer: int, k: torch.Tensor, v: torch.Tensor, start: int):
        """Store k, v (batch, n_kv_heads, t, head_dim) at positions start..start+t; return all so far."""
        end = start + k.shape[2]
        if end > self.max_tokens:
            raise ValueError(f"KV cache holds max_tokens={self.max_tokens}; writing position {end - 1} "
                             "needs a larger max_new_tokens at prefill")
        self.k[layer][:, :, start:end] = k
        self.v[layer][:, :, start:end] = v
        return self.k[layer][:, :, :end], self.v[layer][:, :, :end]

    @property
    def nbytes(self) -> int:
        """Bytes of the filled part: self-attention K/V for ``length`` tokens plus cross-attention K/V."""
        per_pos = sum(t[:, :, :1].nbytes for t in self.k + self.v)
        return per_pos * self.length + sum(k.nbytes + v.nbytes for k, v in self.cross_kv)

    @property
    def allocated_bytes(self) -> int:
        """Bytes reserved, including positions not yet written."""
        return sum(t.nbytes for t in self.k + self.v) + sum(k.nbytes + v.nbytes for k, v in self.cross_kv)
