"""vlmlab.tokens against hand derivations and the upstream reference code (issue 12).

Qwen2-VL video and Pixtral's row layout are worked out by hand from the processors' documented
rules, so these counts are checked on every machine (the transformers comparisons of the same
counts need torchvision for two of their modules; see test_tokens_hf.py). InternVL's and
LLaVA-NeXT's layout choices are compared with the reference functions copied verbatim from the
models' own repositories, over a grid of image sizes.
"""
import math

import pytest

from vlmlab.tokens import visual_token_breakdown, visual_tokens


# --- Qwen2-VL video ------------------------------------------------------------------------------
# Qwen2-VL paper (arXiv 2409.12191) sec. 2.1: frames sampled at 2 fps, "two consecutive frames"
# fused by a 3D convolution of depth 2; 14-px patches, 2x2 merged -> one token per 28x28 pixels.
# Video processor limits (preprocessor config / Qwen2VLVideoProcessor): 128 x 28^2 = 100,352 to
# 768 x 28^2 = 602,112 pixels per frame; smart_resize rounds sides to multiples of 28, and scales
# by beta = sqrt(area ratio) (floor when above the maximum, ceil when below the minimum).
@pytest.mark.parametrize("h, w, frames, grid, tokens", [
    # 360x640: 12.86 -> 13 and 22.86 -> 23 units of 28 (364x644 = 234,416 px, inside the limits)
    # -> 13 x 23 = 299 per frame pair; 10 frames = 5 pairs
    (360, 640, 10, (13, 23), 5 * 299),
    # 1080x1920: 1092x1932 = 2,109,744 > 602,112; beta = sqrt(2,073,600 / 602,112) = 1.8558;
    # 1080 / 1.8558 / 28 = 20.78 -> 20, 1920 / 1.8558 / 28 = 36.95 -> 36; 3 frames -> 2 pairs
    (1080, 1920, 3, (20, 36), 2 * 720),
    # 720x1280 has the same aspect: the same 20 x 36 after the down-scale; 4 frames -> 2 pairs
    (720, 1280, 4, (20, 36), 2 * 720),
    # 100x100: 112x112 = 12,544 < 100,352; beta = sqrt(100,352 / 10,000) = 3.1678;
    # ceil(100 x 3.1678 / 28) = ceil(11.31) = 12 -> 12 x 12 = 144 per pair
    (100, 100, 2, (12, 12), 144),
    # 224x224: 50,176 < 100,352; beta = sqrt(2); ceil(224 x 1.41421 / 28) = ceil(11.31) = 12
    (224, 224, 31, (12, 12), 16 * 144),
])
def test_qwen2_vl_video_by_hand(h, w, frames, grid, tokens):
    res = visual_token_breakdown("qwen2-vl", h, w, frames=frames)
    assert res.grid == grid and res.patches == tokens
    assert res.parts == {"patches": tokens, "vision_start": 1, "vision_end": 1}  # once per video


def test_qwen2_vl_video_limits_differ_from_the_image_limits():
    # a single 1080x1920 image keeps 39 x 69 units (the image budget is 16,384 tokens); as a video
    # frame it is capped at 768 tokens per pair: 20 x 36 = 720
    assert visual_token_breakdown("qwen2-vl", 1080, 1920).grid == (39, 69)
    assert visual_token_breakdown("qwen2-vl", 1080, 1920, frames=2).grid == (20, 36)
    # options reach the video path too: a per-frame maximum of 256 x 28^2 pixels
    small = visual_token_breakdown("qwen2-vl", 1080, 1920, frames=2, max_pixels=256 * 28 * 28)
    # beta = sqrt(2,073,600 / 200,704) = 3.2143; 1080 / 3.2143 / 28 = 12.0 -> 12, 1920 -> 21.33 -> 21
    assert small.grid == (12, 21)


# --- Pixtral: [IMG] per patch, [IMG_BREAK] after each row but the last, [IMG_END] -----------------
# Pixtral-12B (arXiv 2410.07073) sec. 2.1.1: 16-px patches, "[IMG BREAK] between image rows and an
# [IMG END] token at the end"; images larger than 1024 px on a side are scaled down (aspect kept),
# and every side is rounded up to whole patches.
@pytest.mark.parametrize("h, w, rows, cols", [
    (333, 777, 21, 49),       # ceil(333/16) = 21 (20.8), ceil(777/16) = 49 (48.6); no down-scale
    (3000, 4000, 48, 64),     # scale 1024/4000: 768 x 1024 px
    (50, 1000, 4, 63),        # ceil(3.1) = 4, ceil(62.5) = 63
    (2000, 500, 64, 16),      # scale 1024/2000: 1024 x 256 px
    (1080, 1920, 36, 64),     # scale 1024/1920: 576 x 1024 px
    (16, 16, 1, 1),           # one patch: no break, just the end
])
def test_pixtral_layout_by_hand(h, w, rows, cols):
    res = visual_token_breakdown("pixtral-12b", h, w)
    assert res.grid == (rows, cols)
    assert res.parts == {"patches": rows * cols, "img_break": rows - 1, "img_end": 1}
    assert res.total == rows * (cols + 1)


# --- InternVL: the reference dynamic_preprocess tiling, copied from InternVL's repository ----------
# https://huggingface.co/OpenGVLab/InternVL-Chat-V1-5 (README "dynamic_preprocess"), verbatim:
def _internvl_find_closest_aspect_ratio(aspect_ratio, target_ratios, width, height, image_size):
    best_ratio_diff = float("inf")
    best_ratio = (1, 1)
    area = width * height
    for ratio in target_ratios:
        target_aspect_ratio = ratio[0] / ratio[1]
        ratio_diff = abs(aspect_ratio - target_aspect_ratio)
        if ratio_diff < best_ratio_diff:
            best_ratio_diff = ratio_diff
            best_ratio = ratio
        elif ratio_diff == best_ratio_diff:
            if area > 0.5 * image_size * image_size * ratio[0] * ratio[1]:
                best_ratio = ratio
    return best_ratio


def _internvl_blocks(height, width, min_num=1, max_num=12, image_size=448, use_thumbnail=True):
    aspect_ratio = width / height
    target_ratios = set(
        (i, j) for n in range(min_num, max_num + 1) for i in range(1, n + 1) for j in range(1, n + 1) if
        i * j <= max_num and i * j >= min_num)
    target_ratios = sorted(target_ratios, key=lambda x: x[0] * x[1])
    target_aspect_ratio = _internvl_find_closest_aspect_ratio(
        aspect_ratio, target_ratios, width, height, image_size)
    blocks = target_aspect_ratio[0] * target_aspect_ratio[1]
    return target_aspect_ratio, blocks + (1 if use_thumbnail and blocks != 1 else 0)


SIZES = [(h, w) for h in (50, 300, 448, 700, 896, 1080, 1500, 2300) for w in (64, 448, 640, 900, 1344, 1920, 4000)]


@pytest.mark.parametrize("max_tiles", [1, 6, 12])
def test_internvl_tiles_match_the_reference_code(max_tiles):
    for h, w in SIZES:
        (cols, rows), views = _internvl_blocks(h, w, max_num=max_tiles)
        res = visual_token_breakdown("internvl-1.5", h, w, max_tiles=max_tiles)
        assert (res.tile_grid, res.tiles) == ((rows, cols), views), (h, w)
        assert res.total == 256 * views + 2  # <img> 256 per view </img>
    no_thumb = visual_token_breakdown("internvl-1.5", 896, 896, use_thumbnail=False)
    assert no_thumb.tiles == 4 and no_thumb.patches == 4 * 256


def test_internvl_min_tiles_forces_a_split():
    # min_num=4 leaves only layouts of 4..12 tiles: a square picks 2x2 (+ thumbnail)
    (cols, rows), views = _internvl_blocks(448, 448, min_num=4)
    res = visual_token_breakdown("internvl-1.5", 448, 448, min_tiles=4)
    assert (res.tile_grid, res.tiles) == ((rows, cols), views) == ((2, 2), 5)


# --- LLaVA-NeXT: the reference anyres code, copied from LLaVA-NeXT's repository --------------------
# https://github.com/LLaVA-VL/LLaVA-NeXT/blob/main/llava/mm_utils.py (select_best_resolution) and
# llava/model/llava_arch.py (unpad_image: the feature rows/columns that only saw padding), verbatim
# apart from the tensor replaced by its shape.
def _llava_select_best_resolution(original_size, possible_resolutions):
    original_width, original_height = original_size
    best_fit = None
    max_effective_resolution = 0
    min_wasted_resolution = float("inf")
    for width, height in possible_resolutions:
        scale = min(width / original_width, height / original_height)
        downscaled_width, downscaled_height = int(original_width * scale), int(original_height * scale)
        effective_resolution = min(downscaled_width * downscaled_height, original_width * original_height)
        wasted_resolution = (width * height) - effective_resolution
        if effective_resolution > max_effective_resolution or (
                effective_resolution == max_effective_resolution and wasted_resolution < min_wasted_resolution):
            max_effective_resolution = effective_resolution
            min_wasted_resolution = wasted_resolution
            best_fit = (width, height)
    return best_fit


def _llava_unpad_shape(current_height, current_width, original_size):
    original_width, original_height = original_size
    original_aspect_ratio = original_width / original_height
    current_aspect_ratio = current_width / current_height
    if original_aspect_ratio > current_aspect_ratio:
        scale_factor = current_width / original_width
        new_height = int(original_height * scale_factor)
        padding = (current_height - new_height) // 2
        return current_height - 2 * padding, current_width
    scale_factor = current_height / original_height
    new_width = int(original_width * scale_factor)
    padding = (current_width - new_width) // 2
    return current_height, current_width - 2 * padding


# llava-v1.6 config.json image_grid_pinpoints: [[336, 672], [672, 336], [672, 672], [1008, 336],
# [336, 1008]]. LLaVA-NeXT's code reads each pair as (width, height), transformers' as (height,
# width): the same five canvases, visited in another order. The order only matters on a tie (an
# image smaller than every canvas, e.g. 50x64: 336x672 and 672x336 both keep all its pixels and
# waste as much); vlmlab follows transformers there, so the reference gets transformers' order.
PINPOINTS = [[w, h] for h, w in [[336, 672], [672, 336], [672, 672], [1008, 336], [336, 1008]]]


def test_llava_next_matches_the_reference_code():
    for h, w in SIZES:
        best_w, best_h = _llava_select_best_resolution((w, h), PINPOINTS)
        rows, cols = best_h // 336, best_w // 336
        feat = _llava_unpad_shape(rows * 24, cols * 24, (w, h))
        res = visual_token_breakdown("llava-next", h, w)
        assert res.tile_grid == (rows, cols) and res.grid == feat, (h, w)
        # base image 24 x 24, the unpadded grid, one newline per grid row
        assert res.parts == {"base": 576, "tiles": feat[0] * feat[1], "image_newline": feat[0]}


def test_llava_next_tie_follows_transformers_order():
    # 50x64 fits both 2-tile canvases whole: transformers' first (h 336, w 672) wins -> 1 x 2 tiles;
    # the repository's own order would give 2 x 1
    assert visual_token_breakdown("llava-next", 50, 64).tile_grid == (1, 2)
    assert _llava_select_best_resolution((64, 50), [[336, 672], [672, 336]]) == (336, 672)


def test_llava_next_video_frames_pool_2x2():
    # LLaVA-NeXT-Video (config spatial_pool_stride 2): 24 x 24 -> 12 x 12 = 144 per frame
    for frames in (2, 3, 16):
        assert visual_tokens("llava-next-video", 700, 900, frames=frames) == 144 * frames


# --- fixed-resolution encoders at other input sizes: floor(input / patch)^2 -----------------------
@pytest.mark.parametrize("model, input_size, tokens", [
    ("clip-vit-l-14-336", 224, 16 * 16 + 1),      # 224 / 14 = 16, + CLS
    ("clip-vit-l-14-336", 300, 21 * 21 + 1),      # floor(300 / 14) = 21 (the conv drops 6 px)
    ("siglip-so400m-14-384", 448, 32 * 32),       # 448 / 14 = 32, no CLS
    ("sam-vit-b-16", 512, 32 * 32),               # 512 / 16
])
def test_fixed_resolution_other_input_sizes(model, input_size, tokens):
    assert visual_tokens(model, 100, 100, input_size=input_size) == tokens


def test_deepseek_ocr_tiles_match_the_internvl_rule():
    # DeepSeek-OCR's Gundam mode tiles 640-px crops with InternVL's rule (2..9 crops), plus a
    # 1024-px global view of 16 x 16 tokens; each crop is 10 x 10 tokens (640 / 16 / 4)
    for h, w in [(h, w) for h, w in SIZES if h > 640 or w > 640]:
        (cols, rows), _ = _internvl_blocks(h, w, min_num=2, max_num=9, image_size=640)
        res = visual_token_breakdown("deepseek-ocr-gundam", h, w)
        assert res.tile_grid == (rows, cols), (h, w)
        assert res.parts == {"global": 256, "local": rows * cols * 100, "newline": 16 + rows * 10,
                             "view_separator": 1}
    assert math.isqrt(visual_token_breakdown("deepseek-ocr-gundam", 600, 600).patches) == 16


# --- the result records: every field, integer types, edges of each rule ---------------------------
@pytest.mark.parametrize("model, parts", [
    ("clip-vit-l-14-336", {"patches": 576, "cls": 1}),        # 24 x 24 + CLS
    ("siglip-so400m-14-384", {"patches": 729}),              # 27 x 27, no CLS
    ("blip-2", {"latents": 32}),
    ("idefics2", {"latents": 64, "fake_token_around_image": 2}),
    ("internvl-1.5", {"tiles": 2 * 256, "thumbnail": 256, "img_start": 1, "img_end": 1}),  # 448x896: 1x2
])
def test_records_carry_size_parts_and_integer_counts(model, parts):
    res = visual_token_breakdown(model, 448, 896, frames=1)
    assert (res.model, res.height, res.width, res.frames) == (model, 448, 896, 1)
    assert res.parts == parts
    assert all(type(v) is int for v in res.parts.values()) and type(res.total) is int
    assert type(res.tiles) is int and all(type(x) is int for x in (res.grid or ()))


@pytest.mark.parametrize("model, frames", [("llava-next-video", 2), ("internvl-1.5", 2),
                                           ("qwen2-vl", 3), ("llava-1.5", 2)])
def test_video_records_keep_integer_counts(model, frames):
    res = visual_token_breakdown(model, 1080, 1920, frames=frames)
    assert (res.height, res.width, res.frames) == (1080, 1920, frames)
    assert all(type(v) is int for v in res.parts.values()) and type(res.tiles) is int
    assert all(type(x) is int for x in (res.grid or ()))


def test_two_frame_videos_take_the_video_path():
    # LLaVA-NeXT-Video: already 2 frames are pooled frames (144 each), one view each
    two = visual_token_breakdown("llava-next-video", 1080, 1920, frames=2)
    assert two.parts == {"frames": 288} and two.tiles == 1 and two.grid == (12, 12)
    # InternVL: a 2-frame video is 2 single tiles, no thumbnail
    assert visual_token_breakdown("internvl-1.5", 1080, 1920, frames=2).parts == {
        "tiles": 512, "img_start": 2, "img_end": 2}


def test_fixed_resolution_records():
    res = visual_token_breakdown("clip-vit-l-14-336", 100, 200)
    assert res.grid == (24, 24) and res.tiles == 1 and res.tile_grid is None
    # an input of exactly one patch is allowed: 1 x 1 patch + CLS
    assert visual_tokens("clip-vit-l-14-336", 100, 100, input_size=14) == 2


def test_two_tile_layouts_get_a_thumbnail():
    # 448x896: 1 x 2 tiles of 448 (aspect 2 exactly) -> a thumbnail makes 3 views
    res = visual_token_breakdown("internvl-1.5", 448, 896)
    assert res.tile_grid == (1, 2) and res.tiles == 3 and res.grid == (16, 16)


def test_only_idefics2_splits_images():
    with pytest.raises(TypeError, match="unknown option 'image_splitting' for 'blip-2'"):
        visual_tokens("blip-2", 336, 336, image_splitting=True)
    assert visual_token_breakdown("flamingo", 336, 336).tiles == 1


def test_deepseek_ocr_gundam_edges():
    # a side of exactly 640 px needs no crop; one pixel more does (640x641 -> 1 x 2 crops)
    at = visual_token_breakdown("deepseek-ocr-gundam", 640, 640)
    assert at.parts == {"global": 256, "newline": 16, "view_separator": 1}
    assert (at.tiles, at.tile_grid, at.grid) == (1, None, (16, 16))
    assert visual_token_breakdown("deepseek-ocr-gundam", 641, 640).tiles > 1
    over = visual_token_breakdown("deepseek-ocr-gundam", 640, 641)
    assert over.parts == {"global": 256, "local": 400, "newline": 36, "view_separator": 1}
    # the fewest crops allowed (2) is a valid maximum; fewer is refused, naming the value
    assert visual_token_breakdown("deepseek-ocr-gundam", 1080, 1920, max_tiles=2).tile_grid == (1, 2)
    with pytest.raises(ValueError, match=r"max_tiles must be >= 2 for 'deepseek-ocr-gundam', got 1"):
        visual_tokens("deepseek-ocr-gundam", 1080, 1920, max_tiles=1)


def test_anyres_pinpoints_edges():
    # a single pinpoint is a valid list; a zero side is not
    assert visual_token_breakdown("llava-next", 672, 672, grid_pinpoints=[(672, 672)]).tile_grid == (2, 2)
    with pytest.raises(ValueError, match="grid_pinpoints must be"):
        visual_tokens("llava-next", 672, 672, grid_pinpoints=[(0, 336)])


def test_fit_within_and_fit_longest_edge_by_hand():
    from vlmlab.tokens import grid as g

    # Fuyu's 1080x1920 canvas: 2000x500 scales by 1080/2000 = 0.54 -> 1080 x 270
    assert g.fit_within(2000, 500, 1080, 1920) == (1080, 270)
    assert g.fit_within(1080, 1920, 1080, 1920) == (1080, 1920)    # fits exactly: unchanged
    assert g.fit_within(1, 5000, 1080, 1920) == (1, 1920)          # 0.384 px floors to 0 -> 1
    assert g.fit_within(5000, 1, 1080, 1920) == (1080, 1)
    assert visual_token_breakdown("fuyu-8b", 2000, 500).parts == {"patches": 36 * 9, "newline": 36}
    # Pixtral: 1 x 5000 -> ratio 4.88; height floors to 0 -> 1 px, width 1024
    assert g.fit_longest_edge(1, 5000, 1024) == (1, 1024)
    assert g.fit_longest_edge(5000, 1, 1024) == (1024, 1)
    assert g.fit_longest_edge(1024, 1024, 1024) == (1024, 1024)


def test_patch_grid_and_ceil_div():
    from vlmlab.tokens import grid as g

    assert g.ceil_div(7, 7) == 1 and g.ceil_div(8, 7) == 2 and g.ceil_div(1, 7) == 1
    assert g.patch_grid(30, 31, 30) == (1, 2) and g.patch_grid(1, 1, 16) == (1, 1)


def test_token_count_text():
    assert str(visual_token_breakdown("qwen2-vl", 448, 448, frames=10)) == (
        "qwen2-vl @ 448x448 x 10 frames: 1,282 tokens (patches 1,280, vision_start 1, vision_end 1)")
    assert str(visual_token_breakdown("llava-1.5", 336, 336)) == "llava-1.5 @ 336x336: 576 tokens (patches 576)"


def test_token_preset_validates_kind_and_delivery():
    from vlmlab.tokens.result import TokenPreset

    base = dict(name="x", family="fixed", description="", source="https://x", cite="x", patch_size=14)
    with pytest.raises(ValueError, match=r"kind must be one of \('encoder', 'vlm'\), got 'llm'"):
        TokenPreset(kind="llm", **base)
    with pytest.raises(ValueError, match=r"delivery must be one of .*got 'cache'"):
        TokenPreset(kind="vlm", delivery="cache", **base)
    assert TokenPreset(kind="encoder", delivery="cross-attention", **base).delivery == "cross-attention"


# --- messages and edges that the first mutation runs showed untested ---------------------------
def test_option_messages_list_and_bound_exactly():
    with pytest.raises(TypeError, match=r"unknown option 'foo' for 'qwen2-vl'; allowed: "
                                        r"max_pixels, min_pixels, temporal_merge$"):
        visual_tokens("qwen2-vl", 336, 336, foo=1)
    with pytest.raises(ValueError, match=r"^max_tiles must be at most 1,024 \(tokens\.grid\.MAX_TILES; "
                                         r"real processors use at most 40\), got 2,000$"):
        visual_tokens("internvl-1.5", 336, 336, max_tiles=2000)
    with pytest.raises(TypeError, match="unknown option 'max_tiles' for 'deepseek-ocr-base'"):
        visual_tokens("deepseek-ocr-base", 336, 336, max_tiles=4)
    from vlmlab.tokens import get_preset
    with pytest.raises(KeyError, match="unknown model 'qwen-vl2'"):
        get_preset("qwen-vl2")


def test_qwen2_vl_equal_pixel_limits_and_aspect_limit():
    # min_pixels == max_pixels is a valid (fixed) budget: 448x448 = 200,704 = 256 x 28^2
    assert visual_token_breakdown("qwen2-vl", 448, 448, min_pixels=200_704, max_pixels=200_704).patches == 256
    # an aspect of exactly 200 is allowed (smart_resize refuses "> 200"), 200.5 is not
    assert visual_tokens("qwen2-vl", 28, 5600) > 0
    with pytest.raises(ValueError, match="aspect ratio must be at most 200"):
        visual_tokens("qwen2-vl", 20, 4010)


@pytest.mark.parametrize("model", ["llava-next", "qwen2-vl", "pixtral-12b", "fuyu-8b",
                                   "deepseek-ocr-gundam", "deepseek-ocr-base", "idefics2"])
def test_every_family_records_size_one_view_and_int_grid(model):
    res = visual_token_breakdown(model, 700, 900)
    assert (res.height, res.width, res.frames) == (700, 900, 1)
    assert all(type(v) is int for v in res.parts.values())
    assert all(type(x) is int for x in (res.grid or ()))
    if model in ("qwen2-vl", "pixtral-12b", "fuyu-8b", "deepseek-ocr-base", "idefics2"):
        assert res.tiles == 1


def test_token_count_text_for_two_frames_and_consistency_check():
    from vlmlab.tokens.result import TokenCount

    assert str(visual_token_breakdown("llava-1.5", 336, 336, frames=2)).startswith(
        "llava-1.5 @ 336x336 x 2 frames: 1,152 tokens")
    with pytest.raises(AssertionError, match=r"parts \{'a': 2\} do not add up to patches 1 \+ special 0"):
        TokenCount(model="x", height=1, width=1, frames=1, patches=1, special=0, parts={"a": 2},
                   tiles=1, delivery="sequence")


def test_qwen2_vl_budget_met_exactly_is_kept():
    # 450x446 rounds to 448x448 = 200,704 px, exactly a max_pixels of 256 x 28^2: kept (16 x 16);
    # rescaling would floor 446 / 0.99999 / 28 to 15 columns
    assert visual_token_breakdown("qwen2-vl", 450, 446, max_pixels=200_704).grid == (16, 16)
    # 58x54 rounds to 56x56 = 3,136 px, exactly the released min_pixels: kept (2 x 2)
    assert visual_token_breakdown("qwen2-vl", 58, 54).grid == (2, 2)
