"""LLaVA-1.5's projector: a two-layer MLP applied to every visual token (chapter 5).

It maps the vision width to the LM width and keeps the token count: 576 CLIP tokens in, 576 LM
tokens out [liu2024llava15]. Same layout as transformers' ``LlavaMultiModalProjector``.
"""
from __future__ import annotations

from torch import nn

from ..errors import flag, positive_int
from .base import Connector, check_dims, linear_flops


class MLPProjector(Connector):
    """Linear(d_in, d_out) -> GELU -> Linear(d_out, d_out), token by token (LLaVA-1.5)."""

    cite = "liu2024llava15"

    def __init__(self, d_in: int = 1024, d_out: int = 4096, bias: bool = True):
        super().__init__()
        check_dims(d_in=d_in, d_out=d_out)
        flag("bias", bias)
        self.d_in, self.d_out = d_in, d_out
        self.linear_1 = nn.Linear(d_in, d_out, bias=bias)
        self.act = nn.GELU()
        self.linear_2 = nn.Linear(d_out, d_out, bias=bias)

    def forward(self, features):
        """(batch, n_in, d_in) -> (batch, n_in, d_out)."""
        return self.linear_2(self.act(self.linear_1(self.check_features(features))))

    def output_tokens(self, n_in: int) -> int:
        """Tokens entering the LM: exactly ``n_in`` (a projector maps widths, not counts)."""
        return positive_int("n_in", n_in)

    def _flop_parts(self, n_in):
        return {"linear_1": linear_flops(n_in, self.d_in, self.d_out),
                "linear_2": linear_flops(n_in, self.d_out, self.d_out)}
