"""Space-to-depth connectors: merge each w x w window of tokens into one token (chapter 5).

``WindowConcat`` follows WiCo [li2025wico]: the tokens of each w x w window are concatenated
along channels (w²·d_in numbers) and one linear layer maps them to the LM width; WiCo's released
projector, ``WiCo(in_size=(24, 24), out_size=(12, 12))``, uses 2 x 2 windows (144 tokens). WiCo also
fine-tunes the last vision-encoder layer(s) so that tokens of a window become similar, and WiCo+
splits the tokens again in the LM's later layers; both sit outside this module.
``PixelShuffle`` is InternVL's version [chen2024internvl15]: a 0.5 pixel shuffle (2 x 2 windows,
4x fewer tokens, 4x wider) and a LayerNorm-MLP, as transformers' ``InternVLMultiModalProjector``.
"""
from __future__ import annotations

from torch import nn

from .base import Connector, check_dims, linear_flops, square_side


def space_to_depth(features, w: int):
    """(batch, s*s, d) -> (batch, (s/w)², w²·d): each w x w window concatenated along channels."""
    b, n, d = features.shape
    s = square_side("n_in", n)
    if s % w:
        raise ValueError(f"grid side {s} (n_in={n}) must be a multiple of the window w={w}")
    x = features.view(b, s // w, w, s // w, w, d).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(b, (s // w) ** 2, w * w * d)


class WindowConcat(Connector):
    """WiCo-style: concatenate w x w neighbouring tokens, then one Linear(w²·d_in, d_out)."""

    cite = "li2025wico"

    def __init__(self, d_in: int = 1024, d_out: int = 4096, w: int = 2):
        super().__init__()
        check_dims(d_in=d_in, d_out=d_out, w=w)
        self.d_in, self.d_out, self.w = d_in, d_out, w
        self.window_proj = nn.Linear(w * w * d_in, d_out)

    def forward(self, features):
        """(batch, s*s, d_in) -> (batch, (s/w)², d_out)."""
        return self.window_proj(space_to_depth(self.check_features(features), self.w))

    def output_tokens(self, n_in: int) -> int:
        """n_in / w² tokens."""
        s = square_side("n_in", n_in)
        if s % self.w:
            raise ValueError(f"grid side {s} (n_in={n_in}) must be a multiple of the window w={self.w}")
        return n_in // (self.w * self.w)

    def _flop_parts(self, n_in):
        return {"window_proj": linear_flops(self.output_tokens(n_in), self.w ** 2 * self.d_in, self.d_out)}


class PixelShuffle(WindowConcat):
    """InternVL: pixel shuffle 0.5 (2 x 2 windows to channels), LayerNorm, Linear-GELU-Linear."""

    cite = "chen2024internvl15"

    def __init__(self, d_in: int = 1024, d_out: int = 4096, w: int = 2):
        Connector.__init__(self)
        check_dims(d_in=d_in, d_out=d_out, w=w)
        self.d_in, self.d_out, self.w = d_in, d_out, w
        self.layer_norm = nn.LayerNorm(w * w * d_in)
        self.linear_1 = nn.Linear(w * w * d_in, d_out)
        self.act = nn.GELU()
        self.linear_2 = nn.Linear(d_out, d_out)

    def forward(self, features):
        """(batch, s*s, d_in) -> (batch, (s/w)², d_out)."""
        x = self.layer_norm(space_to_depth(self.check_features(features), self.w))
        return self.linear_2(self.act(self.linear_1(x)))

    def _flop_parts(self, n_in):
        m = self.output_tokens(n_in)
        return {"linear_1": linear_flops(m, self.w ** 2 * self.d_in, self.d_out),
                "linear_2": linear_flops(m, self.d_out, self.d_out)}
