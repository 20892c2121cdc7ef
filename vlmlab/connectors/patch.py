"""Fuyu's "connector": raw pixel patches, flattened, through one linear layer (chapters 5, 6).

Fuyu-8B has no vision encoder: each 30x30x3 patch of the image is flattened to 2,700 numbers and
projected to the LM width by ``vision_embed_tokens`` [bavishi2023fuyu]. One token per patch.
Fuyu also appends a newline token after each row of patches; it comes from the text vocabulary,
so the LM adds it (``vlmlab.lm.pipeline.VLM.visual_sequence``, chapter 6's miniature).
"""
from __future__ import annotations

from torch import nn

from ..errors import positive_int, tensor
from .base import Connector, check_dims, linear_flops


class FuyuPatchEmbedding(Connector):
    """Linear(patch*patch*channels, d_out) on raw pixels, as Fuyu's ``vision_embed_tokens``."""

    cite = "bavishi2023fuyu"

    def __init__(self, d_out: int = 4096, patch: int = 30, channels: int = 3):
        super().__init__()
        check_dims(d_out=d_out, patch=patch, channels=channels)
        self.patch, self.channels, self.d_out = patch, channels, d_out
        self.d_in = patch * patch * channels
        self.vision_embed_tokens = nn.Linear(self.d_in, d_out)

    def patchify(self, pixels):
        """(batch, channels, H, W) with H, W multiples of ``patch`` -> (batch, n_patches, d_in)."""
        tensor("pixels", pixels, f"(batch, {self.channels}, H, W)", rank=4, floating=True)
        b, c, h, w = pixels.shape
        p = self.patch
        if c != self.channels or h % p or w % p or not (b and h and w):
            raise ValueError(f"pixels must be (batch, {self.channels}, H, W) with H and W multiples of "
                             f"{p}, got {tuple(pixels.shape)}")
        x = pixels.reshape(b, c, h // p, p, w // p, p).permute(0, 2, 4, 3, 5, 1)
        return x.reshape(b, (h // p) * (w // p), p * p * c)

    def forward(self, pixels_or_patches):
        """Pixels (batch, C, H, W) or flattened patches (batch, n, d_in) -> (batch, n, d_out)."""
        x = pixels_or_patches
        tensor("pixels_or_patches", x, f"(batch, {self.channels}, H, W) or (batch, n, d_in={self.d_in})",
               rank=(3, 4))
        if x.dim() == 4:
            x = self.patchify(x)
        return self.vision_embed_tokens(self.check_features(x, "pixels_or_patches"))

    def output_tokens(self, n_in: int) -> int:
        """One token per pixel patch (the row newlines come from the LM's vocabulary, not from here)."""
        return positive_int("n_in", n_in)

    def _flop_parts(self, n_in):
        return {"vision_embed_tokens": linear_flops(n_in, self.d_in, self.d_out)}
