"""Patch-grid arithmetic shared by the VLM front-ends: grids, resizes and tile layouts.

Pure integer/float arithmetic, no images and no torch. Each function mirrors one step of a real
pre-processor (named in its docstring) so that :mod:`vlmlab.tokens.frontends` can count tokens for
any image size without running it. Used by chapter 1 ("Memory explosion") and chapters 3 and 6.
"""
from __future__ import annotations

import math
from typing import Sequence


def ceil_div(a: int, b: int) -> int:
    """``ceil(a / b)`` for positive integers, without floating point."""
    return -(-a // b)


def patch_grid(height: int, width: int, patch: int) -> tuple[int, int]:
    """(rows, cols) of ``patch``-pixel patches covering a ``height`` x ``width`` image (partial
    patches count, as a ViT that pads its input would see them). Chapter 1."""
    return ceil_div(height, patch), ceil_div(width, patch)


def select_best_resolution(height: int, width: int,
                           pinpoints: Sequence[tuple[int, int]]) -> tuple[int, int]:
    """LLaVA-NeXT's choice of canvas (height, width) among ``pinpoints`` for an image.

    The canvas that keeps the most of the image's pixels after an aspect-preserving down-scale
    wins; ties go to the canvas that wastes the fewest pixels (LLaVA-NeXT ``select_best_resolution``,
    also in transformers' ``image_processing_utils``). Chapter 1.
    """
    best, best_effective, best_wasted = None, -1, math.inf
    for canvas_h, canvas_w in pinpoints:
        scale = min(canvas_w / width, canvas_h / height)
        effective = min(int(width * scale) * int(height * scale), width * height)
        wasted = canvas_h * canvas_w - effective
        if effective > best_effective or (effective == best_effective and wasted < best_wasted):
            best, best_effective, best_wasted = (canvas_h, canvas_w), effective, wasted
    return best


def unpadded_grid(height: int, width: int, grid_h: int, grid_w: int) -> tuple[int, int]:
    """Feature grid left after LLaVA-NeXT removes the rows/columns that only saw padding.

    The image was scaled to fit a ``grid_h`` x ``grid_w`` feature canvas (aspect kept, padding
    centred); the padded bands are cut off symmetrically (LLaVA-NeXT ``unpad_image``). Chapter 1.
    """
    if width / height > grid_w / grid_h:  # wider than the canvas: padding above and below
        new_h = int(round(height * (grid_w / width), 7))
        return grid_h - 2 * ((grid_h - new_h) // 2), grid_w
    new_w = int(round(width * (grid_h / height), 7))
    return grid_h, grid_w - 2 * ((grid_w - new_w) // 2)


#: Largest ``max_tiles`` a tiled front-end accepts: InternVL's released configs use 6 to 40 tiles;
#: 1,024 tiles of 448 px is a 14,336-px square, far beyond any real processor, and the layout
#: search stays in the milliseconds.
MAX_TILES = 1024


def closest_tile_layout(height: int, width: int, tile: int, min_tiles: int,
                        max_tiles: int) -> tuple[int, int]:
    """(rows, cols) of ``tile``-pixel tiles whose aspect ratio is closest to the image's.

    InternVL's ``dynamic_preprocess`` / ``find_closest_aspect_ratio`` (also DeepSeek-OCR's Gundam
    mode): layouts with ``min_tiles`` to ``max_tiles`` tiles, fewest tiles first; on a tie in aspect
    error, the larger layout wins while the image covers more than half of it. Chapter 1.
    """
    # only the c*r <= max_tiles pairs: O(max_tiles log max_tiles), not max_tiles**2; same order
    # (columns, then rows, stable-sorted by tile count) as InternVL's set comprehension + sort
    layouts = sorted(((c, r) for c in range(1, max_tiles + 1) for r in range(1, max_tiles // c + 1)
                      if min_tiles <= c * r), key=lambda cr: cr[0] * cr[1])
    aspect, area = width / height, width * height
    best, best_diff = (1, 1), math.inf
    for cols, rows in layouts:
        diff = abs(aspect - cols / rows)
        if diff < best_diff:
            best, best_diff = (cols, rows), diff
        elif diff == best_diff and area > 0.5 * tile * tile * cols * rows:
            best = (cols, rows)
    return best[1], best[0]


def smart_resize(height: int, width: int, factor: int, min_pixels: int,
                 max_pixels: int) -> tuple[int, int]:
    """Qwen2-VL's resize: both sides multiples of ``factor``, area within [min, max] pixels.

    Sides are rounded to the nearest multiple of ``factor``; if the area then exceeds
    ``max_pixels`` the image is scaled down (sides floored), if it falls below ``min_pixels`` it is
    scaled up (sides ceiled), keeping the aspect ratio (Qwen2-VL ``smart_resize``). Chapter 1.
    """
    if max(height, width) / min(height, width) > 200:
        raise ValueError(f"height/width aspect ratio must be at most 200 for Qwen2-VL, got "
                         f"height {height} x width {width}")
    h_bar = round(height / factor) * factor
    w_bar = round(width / factor) * factor
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt(height * width / max_pixels)
        h_bar = max(factor, math.floor(height / beta / factor) * factor)
        w_bar = max(factor, math.floor(width / beta / factor) * factor)
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return h_bar, w_bar


def fit_longest_edge(height: int, width: int, longest_edge: int) -> tuple[int, int]:
    """Down-scale (never up) so that neither side exceeds ``longest_edge``; sides floored and
    kept at 1 pixel or more (transformers' ``PixtralImageProcessor``). Mistral's own
    ``mistral_common`` rounds instead of flooring, which can add one row or column of patches
    when a scaled side lands just past a multiple of the patch size. Chapter 1."""
    ratio = max(height / longest_edge, width / longest_edge)
    if ratio > 1:
        return max(1, int(math.floor(height / ratio))), max(1, int(math.floor(width / ratio)))
    return height, width


def fit_within(height: int, width: int, max_height: int, max_width: int) -> tuple[int, int]:
    """Down-scale (never up) to fit a ``max_height`` x ``max_width`` canvas, sides truncated and
    kept at 1 pixel or more (Fuyu's image processor). Chapter 1."""
    if height <= max_height and width <= max_width:
        return height, width
    scale = min(max_height / height, max_width / width)
    return max(1, int(height * scale)), max(1, int(width * scale))
