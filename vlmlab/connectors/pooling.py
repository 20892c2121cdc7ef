"""Pooling abstractors: average the token grid down to k x k, optionally with convolutions (chapter 5).

``AvgPoolProjector`` is adaptive average pooling followed by LLaVA's MLP. ``CAbstractor`` is a
compact version of Honeybee's C-Abstractor [cha2024honeybee]: convolution (locality), adaptive
average pooling to k x k, convolution, then an MLP read-out. Honeybee stacks ResNet bottleneck
blocks where this module uses one 3x3 convolution on each side of the pooling.
"""
from __future__ import annotations

import torch.nn.functional as F
from torch import nn

from .base import Connector, check_dims, linear_flops, square_side


def _to_grid(features):
    b, n, d = features.shape
    side = square_side("n_in", n)
    return features.transpose(1, 2).reshape(b, d, side, side)


def _pooled_tokens(n_in: int, k: int) -> int:
    """k*k, refused when k exceeds the grid side: adaptive pooling would then repeat tokens and
    hand the LM more than it was given."""
    side = square_side("n_in", n_in)
    if k > side:
        raise ValueError(f"k must be <= the grid side ({side} for n_in={n_in}): pooling to {k}x{k} "
                         f"would turn {n_in} tokens into {k * k}")
    return k * k


class AvgPoolProjector(Connector):
    """Adaptive average pooling of the side x side grid to ``k`` x ``k``, then a 2-layer MLP."""

    cite = "cha2024honeybee"

    def __init__(self, d_in: int = 1024, d_out: int = 4096, k: int = 12):
        super().__init__()
        check_dims(d_in=d_in, d_out=d_out, k=k)
        self.d_in, self.d_out, self.k = d_in, d_out, k
        self.linear_1, self.linear_2 = nn.Linear(d_in, d_out), nn.Linear(d_out, d_out)

    def forward(self, features):
        """(batch, side*side, d_in) -> (batch, k*k, d_out)."""
        self.output_tokens(self.check_features(features).shape[1])
        x = F.adaptive_avg_pool2d(_to_grid(features), self.k).flatten(2).transpose(1, 2)
        return self.linear_2(F.gelu(self.linear_1(x)))

    def output_tokens(self, n_in: int) -> int:
        """k*k tokens whatever the input grid (``n_in`` a square number, its side at least k)."""
        return _pooled_tokens(n_in, self.k)

    def _flop_parts(self, n_in):
        m = self.output_tokens(n_in)
        return {"linear_1": linear_flops(m, self.d_in, self.d_out),
                "linear_2": linear_flops(m, self.d_out, self.d_out)}


class CAbstractor(Connector):
    """Conv3x3 -> adaptive average pool to k x k -> Conv3x3 -> MLP read-out (C-Abstractor-like)."""

    cite = "cha2024honeybee"

    def __init__(self, d_in: int = 1024, d_out: int = 4096, k: int = 12, d_hidden: int | None = None):
        super().__init__()
        d_hidden = d_in if d_hidden is None else d_hidden
        check_dims(d_in=d_in, d_out=d_out, k=k, d_hidden=d_hidden)
        self.d_in, self.d_out, self.k, self.d_hidden = d_in, d_out, k, d_hidden
        self.conv_1 = nn.Conv2d(d_in, d_hidden, 3, padding=1)
        self.conv_2 = nn.Conv2d(d_hidden, d_hidden, 3, padding=1)
        self.linear_1, self.linear_2 = nn.Linear(d_hidden, d_out), nn.Linear(d_out, d_out)

    def forward(self, features):
        """(batch, side*side, d_in) -> (batch, k*k, d_out)."""
        self.output_tokens(self.check_features(features).shape[1])
        x = F.gelu(self.conv_1(_to_grid(features)))
        x = F.gelu(self.conv_2(F.adaptive_avg_pool2d(x, self.k)))
        return self.linear_2(F.gelu(self.linear_1(x.flatten(2).transpose(1, 2))))

    def output_tokens(self, n_in: int) -> int:
        """k*k tokens whatever the input grid (``n_in`` a square number, its side at least k)."""
        return _pooled_tokens(n_in, self.k)

    def _flop_parts(self, n_in):
        m = self.output_tokens(n_in)
        return {"conv_1": 2 * n_in * self.d_hidden * self.d_in * 9,
                "conv_2": 2 * m * self.d_hidden * self.d_hidden * 9,
                "linear_1": linear_flops(m, self.d_hidden, self.d_out),
                "linear_2": linear_flops(m, self.d_out, self.d_out)}
