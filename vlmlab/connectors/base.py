"""What every connector shares: the :class:`Connector` interface and FLOP-counting helpers.

A connector turns vision-encoder features (batch, n_in, d_in) into what the language model reads:
either a sequence of tokens to concatenate with the text (most designs), or keys and values for
cross-attention (Flamingo). Each one reports, on paper, its parameters, the tokens it hands to the
LM and its matmul FLOPs; the FLOPs count a multiply-add as 2 and equal what
``torch.utils.flop_counter.FlopCounterMode`` counts on a forward pass (tests check this).
Used by chapters 5 and 6.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..cost import attention_score_flops
from ..errors import non_negative_int, positive_int, tensor
from ..units import Breakdown


def linear_flops(n_tokens: int, d_in: int, d_out: int) -> int:
    """Matmul FLOPs of a dense layer applied to ``n_tokens`` rows (bias adds are not counted)."""
    return 2 * n_tokens * d_in * d_out


def attention_flops(n_q: int, n_kv: int, n_heads: int, head_dim: int) -> dict[str, int]:
    """Scores (QK^T) and weighted sum (AV) FLOPs over the full n_q x n_kv matrix: the two equal
    halves of :func:`vlmlab.cost.attention_score_flops`."""
    half = attention_score_flops(n_q, n_kv, n_heads, head_dim) // 2
    return {"scores": half, "weighted_sum": half}


def square_side(name: str, n_tokens: int) -> int:
    """Side of a square token grid; raises when ``n_tokens`` is not a perfect square."""
    n_tokens = positive_int(name, n_tokens)
    side = math.isqrt(n_tokens)
    if side * side != n_tokens:
        raise ValueError(f"{name} must be a square number of tokens (a side x side grid), got {n_tokens}")
    return side


def sdpa(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool = False) -> torch.Tensor:
    """Scaled dot-product attention with grouped key/value heads (q: B,H,Nq,hd; k,v: B,Hkv,Nk,hd).

    Key/value heads are repeated to the query heads when they differ (works on torch >= 2.4).
    """
    if k.shape[1] != q.shape[1]:
        rep = q.shape[1] // k.shape[1]
        k = k.repeat_interleave(rep, dim=1)
        v = v.repeat_interleave(rep, dim=1)
    return F.scaled_dot_product_attention(q, k, v, is_causal=causal)


class Connector(nn.Module):
    """Base class: ``num_parameters()``, ``output_tokens(n_in)``, ``flops(n_in)`` (chapter 5).

    ``fusion`` is ``'sequence'`` when the output is concatenated with the text tokens and
    ``'cross-attention'`` when the LM reads it through cross-attention instead.
    """

    fusion = "sequence"
    cite = ""

    def check_features(self, features, name: str = "features", d_in: int | None = None, label: str = "d_in"):
        """Refuse anything but a non-empty float tensor (batch, tokens, d_in) at ``forward``'s entry,
        with the expected shape in the message (instead of a matmul error deep inside torch)."""
        d = self.d_in if d_in is None else d_in
        expected = f"(batch, tokens, {label}={d})"
        tensor(name, features, expected, rank=3, nonempty=(0, 1), floating=True)
        return tensor(name, features, expected, sizes={2: (label, d)})

    def num_parameters(self) -> int:
        """Number of trainable scalars this connector adds."""
        return sum(p.numel() for p in self.parameters())

    def output_tokens(self, n_in: int) -> int:  # pragma: no cover - overridden
        raise NotImplementedError

    def _flop_parts(self, n_in: int) -> dict[str, int]:  # pragma: no cover - overridden
        raise NotImplementedError

    def flops(self, n_in: int, batch: int = 1) -> Breakdown:
        """Matmul FLOPs of one forward pass on ``batch`` images of ``n_in`` input tokens each."""
        batch = positive_int("batch", batch)
        parts = self._flop_parts(positive_int("n_in", n_in))
        return Breakdown({k: v * batch for k, v in parts.items()}, "FLOP", type(self).__name__)

    def extra_repr(self) -> str:
        return f"params={self.num_parameters():,}"


def check_dims(**dims) -> None:
    """Validate positive integer hyper-parameters by name."""
    for name, value in dims.items():
        positive_int(name, value)


__all__ = ["Connector", "linear_flops", "attention_flops", "square_side", "sdpa", "check_dims",
           "non_negative_int"]
