"""Hosted APIs' image-token rules: what OpenAI, Anthropic and Google *bill* for an image.

These are billing counts of models whose architecture is not public: the rule says how many
tokens an image is charged as (and how much of the context window it takes), not how many
vectors a known encoder emits. They sit beside the open front-ends of :mod:`vlmlab.tokens`
(``visual_tokens('gpt-4o', 1024, 1024)`` works) but are kept out of :func:`list_models`, so
the open-model tables stay what they were; :func:`list_hosted` lists them.

Each rule was read on 2026-12-05 (``READ_ON``) from the vendor's documentation, where the
stored copies allowed; ``checked`` says how (``'primary'``: the vendor's page; ``'secondary'``:
the vendor's text as quoted by pages that cite it, with the vendor's own worked examples
reproduced by the tests). The vendor pages change: re-read them before relying on a count.

* OpenAI tile rule (GPT-4o, GPT-4 Turbo, o-series): ``detail='low'`` costs 85 tokens;
  ``'high'`` scales the image down to fit 2048 x 2048, then down so the shortest side is
  768 px, and costs 170 per 512-px tile + 85 (worked examples: 1024x1024 -> 765,
  2048x4096 -> 1,105).
* OpenAI patch rule (gpt-4.1-mini, gpt-4.1-nano): 32-px patches covering the image, at most
  1,536 (larger images are scaled down until they fit), times a per-model multiplier
  (1.62, 2.46) (worked examples: 1024x1024 -> 1,024 patches, 1800x2400 -> 1,452).
* Anthropic (Claude 3 and 4): ``tokens = width * height / 750`` after a down-scale to a long
  edge of at most 1,568 px and at most ~1,600 tokens (examples: 1000x1000 -> ~1,334,
  1092x1092 -> ~1,590).
* Google (Gemini 2.0): an image with both sides <= 384 px is 258 tokens; larger images are
  cropped and scaled into 768 x 768 tiles of 258 tokens each.

Used by chapter 1's table (beside the open models), chapter 3 and the calculator page.
Pure Python; no torch.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from .. import errors
from . import grid as g
from .result import TokenCount, TokenPreset as P

READ_ON = "2026-12-05"
_OAI_VISION = "https://platform.openai.com/docs/guides/images-vision#calculating-costs"
_ANTHROPIC = "https://docs.anthropic.com/en/docs/build-with-claude/vision#calculate-image-costs"
_GEMINI = "https://ai.google.dev/gemini-api/docs/tokens"


@dataclass(frozen=True)
class HostedModel:
    """What the book knows about a hosted model: its vendor, context window, and where the
    image rule and the window were read (``checked``: 'primary' or 'secondary')."""

    name: str
    vendor: str
    context_window: int
    window_source: str
    rule_source: str
    checked: str
    read_on: str = READ_ON
    note: str = ""


def _options(preset, opts, allowed):
    unknown = sorted(set(opts) - set(allowed))
    if unknown:
        raise TypeError(f"unknown option {unknown[0]!r} for {preset.name!r}; "
                        f"allowed: {', '.join(sorted(allowed)) or 'none'}")
    return {**allowed, **opts}


def _count(preset, h, w, frames, parts, tiles=1, grid=None):
    """A billing count: every token is 'content' (the vendors publish no layout tokens);
    a video is billed as ``frames`` images."""
    parts = {k: v * frames for k, v in parts.items()}
    return TokenCount(model=preset.name, height=h, width=w, frames=frames,
                      patches=sum(parts.values()), special=0, parts=parts,
                      tiles=tiles, grid=grid)


def openai_tiles(preset, h, w, frames, **opts) -> TokenCount:
    """OpenAI's tile rule (``detail`` 'high', the default, or 'low'). Images are only scaled
    down (a 128x64 image costs one tile on the API), sides truncated to whole pixels."""
    o = _options(preset, opts, {"detail": "high"})
    errors.one_of("detail", o["detail"], ("high", "low"))
    if o["detail"] == "low":
        return _count(preset, h, w, frames, {"base": 85})
    s = min(1.0, 2048 / max(h, w))
    rh, rw = int(h * s), int(w * s)
    s = min(1.0, 768 / min(rh, rw))
    rh, rw = int(rh * s), int(rw * s)
    rows, cols = g.patch_grid(rh, rw, 512)
    return _count(preset, h, w, frames, {"base": 85, "tiles": 170 * rows * cols},
                  tiles=rows * cols, grid=(rows, cols))


def openai_patches(preset, h, w, frames, **opts) -> TokenCount:
    """OpenAI's patch rule: 32-px patches, at most 1,536; an image needing more is scaled by
    ``sqrt(1536 * 32^2 / (w h))`` and then so that whole patches fit each side, and the
    patch count (capped at 1,536) is multiplied by the model's ``multiplier``."""
    _options(preset, opts, {})
    cap, p = 1536, 32
    rows, cols = g.patch_grid(h, w, p)
    if rows * cols > cap:
        s = math.sqrt(p * p * cap / (h * w))
        s *= min(math.floor(w * s / p) / (w * s / p), math.floor(h * s / p) / (h * s / p))
        rows, cols = g.patch_grid(int(h * s), int(w * s), p)
    patches = min(rows * cols, cap)
    return _count(preset, h, w, frames, {"patches": round(patches * preset.options["multiplier"])},
                  grid=(rows, cols))


def anthropic_area(preset, h, w, frames, **opts) -> TokenCount:
    """Anthropic's rule: ``ceil(w * h / 750)`` after scaling down (aspect kept) to a long edge
    of at most 1,568 px and at most 1,600 tokens (1,200,000 pixels)."""
    _options(preset, opts, {})
    s = min(1.0, 1568 / max(h, w), math.sqrt(1600 * 750 / (h * w)))
    rh, rw = int(h * s), int(w * s)
    return _count(preset, h, w, frames, {"area": g.ceil_div(rh * rw, 750)})


def gemini_tiles(preset, h, w, frames, **opts) -> TokenCount:
    """Gemini 2.0's rule: 258 tokens when both sides are <= 384 px, else 258 per 768-px tile
    (the vendor says the image is 'cropped and scaled as needed'; tiles are counted by
    ceiling division, an estimate for sizes that are not multiples of 768)."""
    _options(preset, opts, {})
    if h <= 384 and w <= 384:
        return _count(preset, h, w, frames, {"image": 258})
    rows, cols = g.patch_grid(h, w, 768)
    return _count(preset, h, w, frames, {"tiles": 258 * rows * cols}, tiles=rows * cols,
                  grid=(rows, cols))


#: family name -> counting rule, for the hosted presets below.
FAMILIES = {"openai-tiles": openai_tiles, "openai-patches": openai_patches,
            "anthropic-area": anthropic_area, "gemini-tiles": gemini_tiles}

_BILL = "billing count (architecture not public): "
_ROWS = [
    P("gpt-4o", "openai-tiles", "vlm", _BILL + "OpenAI tile rule, 85 + 170 per 512-px tile "
      "(detail='low': 85)", _OAI_VISION, "", patch_size=None),
    P("gpt-4.1-mini", "openai-patches", "vlm", _BILL + "OpenAI patch rule, 32-px patches "
      "(<= 1,536) x 1.62", _OAI_VISION, "", patch_size=32, options={"multiplier": 1.62}),
    P("gpt-4.1-nano", "openai-patches", "vlm", _BILL + "OpenAI patch rule, 32-px patches "
      "(<= 1,536) x 2.46", _OAI_VISION, "", patch_size=32, options={"multiplier": 2.46}),
    P("claude", "anthropic-area", "vlm", _BILL + "Anthropic, width x height / 750 "
      "(long edge <= 1,568 px, <= ~1,600 tokens)", _ANTHROPIC, "", patch_size=None),
    P("gemini-2.0-flash", "gemini-tiles", "vlm", _BILL + "Google, 258 tokens per 768-px tile "
      "(258 when both sides <= 384 px)", _GEMINI, "", patch_size=None),
]

#: name -> preset (the counting rule is ``FAMILIES[preset.family]``).
PRESETS: dict[str, P] = {row.name: row for row in _ROWS}

_VERCEL = "https://vercel.com/ai-gateway/models/"
#: name -> vendor, context window and where each number was read.
MODELS: dict[str, HostedModel] = {m.name: m for m in [
    HostedModel("gpt-4o", "OpenAI", 128_000, "https://platform.openai.com/docs/models/gpt-4o",
                _OAI_VISION, "secondary",
                note="rule: OpenAI's text as quoted verbatim by pages citing it; window as in "
                "vlmlab.context_windows"),
    HostedModel("gpt-4.1-mini", "OpenAI", 1_047_576, _VERCEL + "gpt-4.1-mini-fast.md",
                _OAI_VISION, "secondary",
                note="multiplier 1.62 and the 1,536-patch cap as quoted from OpenAI's guide"),
    HostedModel("gpt-4.1-nano", "OpenAI", 1_047_576, _VERCEL + "gpt-4.1-nano-fast.md",
                _OAI_VISION, "secondary", note="multiplier 2.46 as quoted from OpenAI's guide"),
    HostedModel("claude", "Anthropic", 200_000, "https://www.anthropic.com/news/claude-3-family",
                _ANTHROPIC, "primary",
                note="Claude 3 and 4 families; Anthropic's documentation (its Mintlify host)"),
    HostedModel("gemini-2.0-flash", "Google", 1_048_576, _GEMINI, _GEMINI, "secondary",
                note="Google's tokens page: 'an input limit of about 1,000,000 tokens'; "
                "1,048,576 as listed by API catalogues; the tile rule as quoted from it"),
]}


def list_hosted() -> list[str]:
    """Names of the hosted-API billing rules (chapter 1's table, the calculator)."""
    return list(PRESETS)


def hosted_model(name: str) -> HostedModel:
    """The vendor, context window and sources of a hosted rule (unknown names suggest close ones)."""
    return errors.lookup(name, MODELS, what="hosted model")


def is_hosted(name: str) -> bool:
    """True when ``name`` (any spelling :func:`vlmlab.errors.lookup` accepts) is a hosted rule."""
    try:
        hosted_model(name)
    except (KeyError, ValueError, TypeError):
        return False
    return True


__all__ = ["READ_ON", "HostedModel", "FAMILIES", "PRESETS", "MODELS", "list_hosted",
           "hosted_model", "is_hosted"]
