"""Counting rules, one per front-end family: how many tokens an image of a given size becomes.

Each rule takes a :class:`~vlmlab.tokens.result.TokenPreset`, the image size, the number of video
frames and family-specific options, and returns a :class:`~vlmlab.tokens.result.TokenCount`. The
rules follow the real pre-processors step by step (the source is named in each docstring and in
the preset); tests check them against transformers' own functions. Chapter 1 ("Memory
explosion"), chapters 3 and 6.
"""
from __future__ import annotations

from typing import Callable, Mapping

from .. import errors
from . import grid as g
from .result import TokenCount, TokenPreset


def _options(preset: TokenPreset, opts: Mapping, allowed: Mapping[str, object]) -> dict:
    """Merge ``opts`` over ``allowed`` defaults; unknown names and non-positive ints are refused."""
    allowed = {**allowed, "temporal_merge": preset.temporal_merge}
    unknown = sorted(set(opts) - set(allowed))
    if unknown:
        raise TypeError(f"unknown option {unknown[0]!r} for {preset.name!r}; "
                        f"allowed: {', '.join(sorted(allowed))}")
    out = {**allowed, **opts}
    for k, v in opts.items():
        if isinstance(allowed[k], bool):
            if not isinstance(v, bool):
                raise TypeError(f"{k} must be True or False, got {type(v).__name__} {v!r}")
        elif isinstance(allowed[k], int):
            errors.positive_int(k, v)
    if "max_tiles" in opts:
        errors.at_most("max_tiles", opts["max_tiles"], g.MAX_TILES,
                       "tokens.grid.MAX_TILES; real processors use at most 40")
    return out


def _count(preset, h, w, frames, content: dict, special: dict, *, temporal_merge: int,
           shared_special: bool = False, **kw) -> TokenCount:
    """One frame's parts -> the whole image/video: ``ceil(frames / temporal_merge)`` groups of
    content; layout tokens per group, or once when ``shared_special`` (one wrapper per video)."""
    groups = g.ceil_div(frames, temporal_merge)
    parts = {k: v * groups for k, v in content.items()}
    parts.update({k: v * (1 if shared_special else groups) for k, v in special.items()})
    return TokenCount(model=preset.name, height=h, width=w, frames=frames,
                      patches=sum(parts[k] for k in content), special=sum(parts[k] for k in special),
                      parts={k: v for k, v in parts.items()}, delivery=preset.delivery, **kw)


def fixed_resolution(preset, h, w, frames, **opts) -> TokenCount:
    """Encoders and VLMs that resize (or pad and resize) every image to one square input:
    ``floor(input/patch)^2`` patch tokens (after a ``merge`` x ``merge`` fusion) plus ``cls_tokens``.
    CLIP, SigLIP, EVA, SAM, LLaVA-1.5 (drops CLS). Option
    ``input_size`` runs the encoder at another square size (position-embedding interpolation). Chapter 1."""
    o = _options(preset, opts, {"input_size": preset.input_size})
    per = preset.patch_size * preset.merge
    if o["input_size"] < per:
        raise ValueError(f"input_size must be at least one {per}-px patch for {preset.name!r}, "
                         f"got {o['input_size']}")
    rows = cols = o["input_size"] // per  # stride-p conv: floor
    special = {"cls": preset.cls_tokens} if preset.cls_tokens else {}
    return _count(preset, h, w, frames, {"patches": rows * cols}, special,
                  temporal_merge=o["temporal_merge"], tiles=1, grid=(rows, cols))


def _check_pinpoints(pinpoints, tile: int, name: str) -> None:
    """``grid_pinpoints`` must be (height, width) pairs, each side a positive multiple of ``tile``."""
    ok = isinstance(pinpoints, (list, tuple)) and len(pinpoints) > 0 and all(
        isinstance(p, (list, tuple)) and len(p) == 2 and all(
            isinstance(s, int) and not isinstance(s, bool) and s > 0 and s % tile == 0 for s in p)
        for p in pinpoints)
    if not ok:
        raise ValueError(f"grid_pinpoints must be a non-empty sequence of (height, width) pairs, "
                         f"each side a positive multiple of {tile} px for {name!r}, got {pinpoints!r}")


def anyres(preset, h, w, frames, **opts) -> TokenCount:
    """LLaVA-NeXT "anyres": pick a canvas among ``grid_pinpoints``, cut it into ``input_size``
    tiles, encode each plus a down-scaled base image, drop the feature rows/columns that only saw
    padding, and add one ``image_newline`` per remaining feature row (LLaVA-NeXT
    ``llava_arch.py``; transformers ``LlavaNextProcessor._get_number_of_features``).

    Presets with a ``video_pool`` option (LLaVA-NeXT-Video) encode each video frame (``frames``
    > 1) as one ``input_size`` view, average-pool its feature grid ``video_pool`` x
    ``video_pool`` and add no newline tokens (transformers ``LlavaNextVideoPooler`` and
    ``LlavaNextVideoProcessor``: ``num_image_tokens // 4 * num_frames``). Chapter 1."""
    o = _options(preset, opts, {"grid_pinpoints": preset.options["grid_pinpoints"]})
    tile, side = preset.input_size, preset.input_size // preset.patch_size
    pool = preset.options.get("video_pool")
    if pool and frames > 1:
        pooled = side // pool
        return _count(preset, h, w, frames, {"frames": pooled * pooled}, {},
                      temporal_merge=o["temporal_merge"], tiles=1, grid=(pooled, pooled))
    _check_pinpoints(o["grid_pinpoints"], tile, preset.name)
    canvas_h, canvas_w = g.select_best_resolution(h, w, o["grid_pinpoints"])
    rows, cols = canvas_h // tile, canvas_w // tile
    feat_h, feat_w = g.unpadded_grid(h, w, rows * side, cols * side)
    return _count(preset, h, w, frames, {"base": side * side, "tiles": feat_h * feat_w},
                  {"image_newline": feat_h}, temporal_merge=o["temporal_merge"],
                  tiles=rows * cols + 1, grid=(feat_h, feat_w), tile_grid=(rows, cols))


def qwen2_vl(preset, h, w, frames, **opts) -> TokenCount:
    """Qwen2-VL native resolution: ``smart_resize`` to multiples of ``patch*merge`` (28 px) within
    [min_pixels, max_pixels], 14-px patches, 2x2 merge -> ``(H/28)(W/28)`` tokens, frames fused in
    pairs (``temporal_patch_size`` 2), wrapped once in ``<|vision_start|>``/``<|vision_end|>``.
    Videos use the video processor's pixel limits (transformers ``Qwen2VLImageProcessor``,
    ``Qwen2VLVideoProcessor``). The default ``max_pixels`` is the released checkpoints'
    ``preprocessor_config.json`` (12,845,056 pixels, 16,384 tokens; what ``from_pretrained``
    gives); transformers' class default and the model card's suggested saving is 1,280 tokens:
    pass ``max_pixels=28*28*1280`` for it. Videos follow transformers' video processor, which by
    default has no total budget; the reference qwen-vl-utils also caps a whole video at
    24,576 x 28^2 pixels, which shrinks every frame of a video longer than 64 frames. Chapter 1."""
    video = frames > 1
    o = _options(preset, opts, {
        "min_pixels": preset.options["video_min_pixels" if video else "min_pixels"],
        "max_pixels": preset.options["video_max_pixels" if video else "max_pixels"]})
    if o["min_pixels"] > o["max_pixels"]:
        raise ValueError(f"min_pixels must be <= max_pixels, got {o['min_pixels']:,} > {o['max_pixels']:,}")
    factor = preset.patch_size * preset.merge
    rh, rw = g.smart_resize(h, w, factor, o["min_pixels"], o["max_pixels"])
    rows, cols = rh // factor, rw // factor
    return _count(preset, h, w, frames, {"patches": rows * cols},
                  {"vision_start": 1, "vision_end": 1}, temporal_merge=o["temporal_merge"],
                  shared_special=True, tiles=1, grid=(rows, cols))


def dynamic_tiles(preset, h, w, frames, **opts) -> TokenCount:
    """InternVL 1.5/2 dynamic high resolution: ``min_tiles``..``max_tiles`` tiles of 448 px in the
    layout closest to the image's aspect ratio, plus a 448-px thumbnail when there is more than one
    tile; each tile is 32x32 patches, pixel-shuffled 2x2 -> 256 tokens, the image wrapped in
    ``<img>``/``</img>``. Video frames are one tile each (InternVL ``dynamic_preprocess``;
    transformers ``InternVLProcessor``). Chapter 1."""
    o = _options(preset, opts, {"min_tiles": preset.min_tiles, "max_tiles": preset.max_tiles,
                                "use_thumbnail": True})
    if o["min_tiles"] > o["max_tiles"]:
        raise ValueError(f"min_tiles must be <= max_tiles, got {o['min_tiles']} > {o['max_tiles']}")
    side = preset.input_size // (preset.patch_size * preset.merge)
    rows, cols = (1, 1) if frames > 1 else g.closest_tile_layout(
        h, w, preset.input_size, o["min_tiles"], o["max_tiles"])
    content = {"tiles": rows * cols * side * side}
    if rows * cols > 1 and o["use_thumbnail"]:
        content["thumbnail"] = side * side
    n_views = rows * cols + ("thumbnail" in content)
    return _count(preset, h, w, frames, content, {"img_start": 1, "img_end": 1},
                  temporal_merge=o["temporal_merge"], tiles=n_views, grid=(side, side),
                  tile_grid=(rows, cols))


def resampler(preset, h, w, frames, **opts) -> TokenCount:
    """A fixed number of learned queries per view, whatever the image size: BLIP-2's Q-Former
    (32), Flamingo's Perceiver resampler (64, read by gated cross-attention), Idefics2's perceiver
    (64 per view; ``image_splitting`` adds 4 crops to the whole image, with
    ``<fake_token_around_image>`` between and around views, adjacent ones merged). Chapter 1."""
    splits = preset.options.get("splits", 0)
    o = _options(preset, opts, {"image_splitting": False} if splits else {})
    views = 1 + (splits if o.get("image_splitting") else 0)
    marker = preset.options.get("marker")
    special = {marker: views + 1} if marker else {}
    return _count(preset, h, w, frames, {"latents": preset.queries * views}, special,
                  temporal_merge=o["temporal_merge"], tiles=views)


def patch_rows(preset, h, w, frames, **opts) -> TokenCount:
    """Native-resolution patch sequences with a token closing every row of patches.

    Pixtral-12B: down-scale so the longest side is at most ``longest_edge`` (1024), 16-px patches,
    ``[IMG_BREAK]`` after each row but the last, which ends with ``[IMG_END]`` (transformers
    ``PixtralProcessor``). Fuyu-8B: down-scale to fit 1080x1920, pad to whole 30-px patches, one
    ``|NEWLINE|`` per row (transformers ``FuyuImageProcessor.preprocess_with_tokenizer_info``). Chapter 1."""
    if preset.options.get("canvas"):
        o = _options(preset, opts, {})
        rh, rw = g.fit_within(h, w, *preset.options["canvas"])
        special_of = lambda rows: {"newline": rows}  # noqa: E731
    else:
        o = _options(preset, opts, {"longest_edge": preset.options["longest_edge"]})
        rh, rw = g.fit_longest_edge(h, w, o["longest_edge"])
        special_of = lambda rows: {"img_break": rows - 1, "img_end": 1}  # noqa: E731
    rows, cols = g.patch_grid(rh, rw, preset.patch_size * preset.merge)
    return _count(preset, h, w, frames, {"patches": rows * cols}, special_of(rows),
                  temporal_merge=o["temporal_merge"], tiles=1, grid=(rows, cols))


def deepseek_ocr(preset, h, w, frames, **opts) -> TokenCount:
    """DeepSeek-OCR's DeepEncoder: SAM-B 16-px patches, a 16x conv compressor (4x4 -> 1 token),
    one newline per token row and a view separator. Native modes give one square view of
    ``input_size`` (Tiny 512 -> 64, Small 640 -> 100, Base 1024 -> 256, Large 1280 -> 400 content
    tokens); Gundam adds 2..``max_tiles`` crops of 640 px (100 tokens each) to a 1024-px global
    view when a side exceeds 640 px (official ``modeling_deepseekocr.py``). Chapter 1."""
    tile = preset.options.get("tile")
    o = _options(preset, opts, {"max_tiles": preset.max_tiles} if tile else {})
    per = preset.patch_size * preset.merge
    q = g.ceil_div(preset.input_size, per)
    content, newline, rows, cols = {"global": q * q}, q, 1, 1
    if tile and (h > tile or w > tile):
        if o["max_tiles"] < preset.min_tiles:
            raise ValueError(f"max_tiles must be >= {preset.min_tiles} for {preset.name!r}, "
                             f"got {o['max_tiles']}")
        rows, cols = g.closest_tile_layout(h, w, tile, preset.min_tiles, o["max_tiles"])
        qt = g.ceil_div(tile, per)
        content["local"] = rows * cols * qt * qt
        newline += rows * qt
    n_views = 1 + (rows * cols if "local" in content else 0)
    return _count(preset, h, w, frames, content, {"newline": newline, "view_separator": 1},
                  temporal_merge=o["temporal_merge"], tiles=n_views, grid=(q, q),
                  tile_grid=(rows, cols) if "local" in content else None)


#: family name -> counting rule; a preset's ``family`` must be a key here.
FAMILIES: dict[str, Callable[..., TokenCount]] = {
    "fixed": fixed_resolution, "anyres": anyres, "qwen2-vl": qwen2_vl,
    "dynamic-tiles": dynamic_tiles, "resampler": resampler, "patch-rows": patch_rows,
    "deepseek-ocr": deepseek_ocr,
}
