"""How many visual tokens a vision encoder or VLM front-end produces for an image of a given size.

    >>> visual_tokens("llava-1.5", 1080, 1920)
    576
    >>> print(visual_token_breakdown("llava-next", 672, 672))
    llava-next @ 672x672: 2,928 tokens (base 576, tiles 2,304, image_newline 48)

Modules: :mod:`.grid` (patch-grid arithmetic: resizes, canvases, tile layouts), :mod:`.frontends`
(one counting rule per family), :mod:`.presets` (the table of real models, each with its source),
:mod:`.result` (:class:`TokenPreset`, :class:`TokenCount`). Pure Python; no torch. Used by
chapter 1 ("Memory explosion") and chapters 3 and 6.
"""
from __future__ import annotations

from .. import errors
from . import hosted
from .frontends import FAMILIES
from .hosted import is_hosted, list_hosted
from .presets import PRESETS
from .result import KINDS, TokenCount, TokenPreset

__all__ = ["visual_tokens", "visual_token_breakdown", "list_models", "get_preset",
           "TokenCount", "TokenPreset", "PRESETS", "list_hosted", "is_hosted"]

# Hosted APIs' billing rules (tokens/hosted.py) are looked up beside the open presets but are
# not in PRESETS or list_models(): list_hosted() names them.
_ALL_PRESETS = {**PRESETS, **hosted.PRESETS}
_ALL_FAMILIES = {**FAMILIES, **hosted.FAMILIES}


def get_preset(name: str) -> TokenPreset:
    """The preset called ``name`` (case, '-', '_', '.' ignored; unknown names suggest close
    matches). Chapter 1."""
    return errors.lookup(name, _ALL_PRESETS, what="model")


def list_models(kind: str | None = None) -> list[str]:
    """Names of the presets, in table order; ``kind`` 'encoder' or 'vlm' filters. Chapter 1."""
    if kind is not None:
        errors.one_of("kind", kind, KINDS)
    return [p.name for p in PRESETS.values() if kind is None or p.kind == kind]


def visual_token_breakdown(model: str, height: int, width: int, frames: int = 1,
                           **opts) -> TokenCount:
    """Visual tokens of ``model`` for a ``height`` x ``width`` image (or a video of ``frames``
    frames), split into content patches, layout tokens and their named parts.

    ``opts`` are family options, e.g. ``max_pixels`` (Qwen2-VL), ``max_tiles`` (InternVL,
    DeepSeek-OCR Gundam), ``image_splitting`` (Idefics2), ``grid_pinpoints`` (LLaVA-NeXT),
    ``longest_edge`` (Pixtral), ``input_size`` (fixed-resolution encoders), and for every model
    ``temporal_merge`` (frames fused into one token). Chapter 1 ("Memory explosion").
    """
    preset = get_preset(model)
    height = errors.positive_int("height", height)
    width = errors.positive_int("width", width)
    frames = errors.positive_int("frames", frames)
    return _ALL_FAMILIES[preset.family](preset, height, width, frames, **opts)


def visual_tokens(model: str, height: int, width: int, frames: int = 1, **opts) -> int:
    """Total visual tokens (``visual_token_breakdown(...).total``). Chapter 1."""
    return visual_token_breakdown(model, height, width, frames, **opts).total
