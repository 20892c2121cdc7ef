"""The two records of :mod:`vlmlab.tokens`: a preset (what a front-end is) and a count (what it
produces for one image or video). Frozen dataclasses, printable and easy to put in a DataFrame.
Used by chapter 1 ("Memory explosion") and chapters 3 and 6.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

#: How visual tokens reach the language model.
DELIVERIES = ("sequence", "cross-attention")
KINDS = ("encoder", "vlm")


@dataclass(frozen=True)
class TokenPreset:
    """One vision encoder or VLM front-end, with the numbers its token count depends on.

    ``family`` picks the counting rule in :mod:`vlmlab.tokens.frontends`; the other fields are its
    parameters. Sizes are in pixels; ``merge`` is the side of the square of patches fused into one
    token (2 = a 2x2 merge, 4x fewer tokens); ``queries`` is a fixed output length (Q-Former,
    Perceiver resampler). ``source`` is the URL the numbers were checked against, ``cite`` its
    bibtex key in ``book/references.bib``.
    """

    name: str
    family: str
    kind: str
    description: str
    source: str
    cite: str
    patch_size: int | None             # None: no patch grid (Flamingo's NFNet)
    input_size: int | None = None      # fixed square input, or the tile size of tiled front-ends
    merge: int = 1                     # patches per token along each side after merging
    cls_tokens: int = 0                # CLS/register tokens the encoder emits (encoders)
    queries: int | None = None         # fixed number of output tokens (resamplers)
    min_tiles: int = 1
    max_tiles: int = 1
    temporal_merge: int = 1            # frames fused into one token (Qwen2-VL: 2)
    delivery: str = "sequence"
    options: Mapping[str, object] = field(default_factory=dict)  # family-specific defaults

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}")
        if self.delivery not in DELIVERIES:
            raise ValueError(f"delivery must be one of {DELIVERIES}, got {self.delivery!r}")


@dataclass(frozen=True)
class TokenCount:
    """Visual tokens for one image (or video) of ``height`` x ``width`` pixels and ``frames`` frames.

    ``patches`` are image-content tokens after any merging or resampling; ``special`` are the
    layout tokens the front-end adds (row newlines/breaks, separators, begin/end markers, CLS);
    ``tiles`` counts crops including a base or thumbnail view (1 when the image is not tiled);
    ``grid`` is the (rows, cols) of the largest token grid where one exists, ``tile_grid`` the
    (rows, cols) of crops for tiled front-ends. ``parts`` names every contribution and sums to
    ``total``. ``delivery`` says how the tokens reach the LM: ``'sequence'`` (they occupy context
    and KV cache) or ``'cross-attention'`` (they are keys/values of extra cross-attention layers).
    """

    model: str
    height: int
    width: int
    frames: int
    patches: int
    special: int
    tiles: int
    parts: Mapping[str, int]
    grid: tuple[int, int] | None = None
    tile_grid: tuple[int, int] | None = None
    delivery: str = "sequence"

    def __post_init__(self):
        if sum(self.parts.values()) != self.patches + self.special:
            raise AssertionError(f"parts {dict(self.parts)} do not add up to "
                                 f"patches {self.patches} + special {self.special}")

    @property
    def total(self) -> int:
        """All visual tokens: ``patches + special``."""
        return self.patches + self.special

    @property
    def sequence_tokens(self) -> int:
        """Tokens the image adds to the LM's own sequence (and KV cache): ``total`` for
        ``'sequence'`` delivery, 0 for ``'cross-attention'``."""
        return self.total if self.delivery == "sequence" else 0

    def __str__(self) -> str:
        body = ", ".join(f"{k} {v:,}" for k, v in self.parts.items())
        video = f" x {self.frames} frames" if self.frames > 1 else ""
        return f"{self.model} @ {self.height}x{self.width}{video}: {self.total:,} tokens ({body})"
