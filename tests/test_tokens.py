"""vlmlab.tokens: visual-token counts against primary sources (papers, official configs) and
hand derivations written out here; bad inputs; properties that hold for every size.
Cross-checks against transformers' processors live in test_tokens_hf.py."""
import math

import pytest
from hypothesis import given, settings, strategies as st

from vlmlab import errors
from vlmlab.tokens import (PRESETS, TokenCount, get_preset, list_models, visual_token_breakdown,
                           visual_tokens)

SIDE = st.integers(min_value=16, max_value=5000)


# --- fixed-resolution encoders: (input / patch)^2 patches + CLS -----------------------------------
@pytest.mark.parametrize("model,expected,why", [
    ("clip-vit-l-14-224", 16 * 16 + 1, "config image_size 224, patch 14 -> 16x16, + CLS"),
    ("clip-vit-l-14-336", 24 * 24 + 1, "config image_size 336, patch 14 -> 24x24, + CLS"),
    ("siglip-so400m-14-384", 27 * 27, "config image_size 384, patch 14 -> 27x27 (conv floors), no CLS"),
    ("eva-vit-g-14", 16 * 16 + 1, "BLIP-2 runs EVA ViT-g/14 at 224 -> 257 tokens into the Q-Former"),
    ("sam-vit-b-16", 64 * 64, "SAM paper: 1024x1024 input -> 64x64 image embedding"),
    ("llava-1.5", 576, "LLaVA-1.5 paper: CLIP-ViT-L-336px, 576 visual tokens (CLS dropped)"),
])
@pytest.mark.parametrize("h,w", [(224, 224), (1080, 1920), (4000, 300)])
def test_fixed_resolution_ignores_image_size(model, expected, why, h, w):
    assert visual_tokens(model, h, w) == expected, why


def test_encoder_at_other_input_size_grows_quadratically():
    # CLIP ViT-L/14 run at 672 px: (672/14)^2 = 48^2 patches + CLS
    assert visual_tokens("clip-vit-l-14-336", 100, 100, input_size=672) == 48 * 48 + 1


def test_llava15_projector_keeps_count_essay_compression_claim_is_wrong():
    # The essay says the MLP projector "compresses 4,096 to 576". The encoder emits 577 (576 + CLS);
    # LLaVA-1.5 keeps the 576 patch tokens; a 2-layer MLP maps each token, it cannot change the count.
    encoder = visual_token_breakdown("clip-vit-l-14-336", 336, 336)
    assert (encoder.patches, encoder.special) == (576, 1)
    assert visual_tokens("llava-1.5", 336, 336) == encoder.patches != 4096


# --- LLaVA-NeXT anyres ---------------------------------------------------------------------------
def test_llava_next_672_square_is_2928_not_2880():
    # 672x672 fits the (672, 672) pinpoint exactly: 2x2 tiles of 24x24 -> a 48x48 grid, no padding
    # to remove, 48 image_newline tokens, plus the 24x24 base image.
    res = visual_token_breakdown("llava-next", 672, 672)
    assert res.tile_grid == (2, 2) and res.tiles == 5 and res.grid == (48, 48)
    assert res.parts == {"base": 576, "tiles": 48 * 48, "image_newline": 48}
    assert res.total == 2928
    # arXiv 2410.14072's 2,880 = 5 x 576 counts the views but not the newline tokens
    assert res.total - res.parts["image_newline"] == 5 * 576 == 2880


def test_llava_next_landscape_hd_is_unpadded():
    # 1080x1920 (h x w): canvases keep 336*597, 189*336, 378*672, ... pixels; (672, 672) keeps the
    # most (254,016) -> 2x2 tiles, 48x48 grid. The image fills 48 * 1080/1920 = 27 rows; padding
    # (48 - 27) // 2 = 10 rows each side is removed -> 28 x 48 = 1,344 tokens + 28 newlines + 576.
    res = visual_token_breakdown("llava-next", 1080, 1920)
    assert res.tile_grid == (2, 2) and res.grid == (28, 48)
    assert res.total == 28 * 48 + 28 + 576 == 1948


def test_llava_next_video_pools_each_frame_to_144_tokens():
    # LLaVA-NeXT-Video: a frame is one 336-px view, 24x24 CLIP features average-pooled with stride
    # 2 (LlavaNextVideoConfig.spatial_pool_stride) -> 12x12 = 144 tokens, no newline tokens.
    res = visual_token_breakdown("llava-next-video", 1080, 1920, frames=8)
    assert res.parts == {"frames": 8 * 144} and res.grid == (12, 12)
    # 131,072 tokens (Llama-3.1's window) hold 910 such frames: 910 * 144 = 131,040
    assert 131072 // (res.total // 8) == 910
    # a single image takes the LLaVA-NeXT image path (anyres, newlines)
    assert visual_tokens("llava-next-video", 1080, 1920) == visual_tokens("llava-next", 1080, 1920) == 1948


# --- Qwen2-VL ------------------------------------------------------------------------------------
def test_qwen2_vl_hand_derivations():
    # 224x224: sides already multiples of 28 -> 8x8 merged tokens, + vision_start/end
    assert visual_token_breakdown("qwen2-vl", 224, 224).parts == {
        "patches": 64, "vision_start": 1, "vision_end": 1}
    # With the lower budget of transformers' class default (max_pixels 28*28*1280, the model
    # card's suggested saving): 1080x1920 rounds to 1092x1932 = 2.11 MP > 1,003,520; beta =
    # sqrt(1080*1920 / 1,003,520) = 1.4375 -> floor(1080/1.4375/28)=26, floor(1920/1.4375/28)=47
    res = visual_token_breakdown("qwen2-vl", 1080, 1920, max_pixels=28 * 28 * 1280)
    assert res.grid == (26, 47) and res.patches == 1222


def test_qwen2_vl_default_is_the_released_16384_token_budget():
    # Qwen/Qwen2-VL-7B-Instruct preprocessor_config.json: "max_pixels": 12845056 = 16,384 x 28^2;
    # model card: "the default range for the number of visual tokens per image is 4-16384".
    assert get_preset("qwen2-vl").options["max_pixels"] == 12_845_056
    # 2048x2048: 73.14 units of 28 px round to 73 -> 73 x 73 = 5,329 tokens (+ 2 markers)
    assert visual_tokens("qwen2-vl", 2048, 2048) == 73 * 73 + 2 == 5331
    assert visual_token_breakdown("qwen2-vl", 9000, 9000).patches <= 16384
    assert visual_token_breakdown("qwen2-vl", 4000, 4000, max_pixels=28 * 28 * 1280).patches <= 1280
    assert visual_token_breakdown("qwen2-vl", 4000, 4000, max_pixels=28 * 28 * 256).patches <= 256


def test_qwen2_vl_video_fuses_frame_pairs():
    # 448x448 frames are inside the video limits [128, 768] x 28^2 -> 16x16 = 256 tokens per pair
    # of frames; 10 frames -> 5 pairs; one vision_start/end around the whole video
    assert visual_token_breakdown("qwen2-vl", 448, 448, frames=10).parts == {
        "patches": 5 * 256, "vision_start": 1, "vision_end": 1}
    assert visual_tokens("qwen2-vl", 448, 448, frames=9) == visual_tokens("qwen2-vl", 448, 448, frames=10)


# --- InternVL ------------------------------------------------------------------------------------
def test_internvl_tiles_and_thumbnail():
    # 448 tile / 14 = 32x32 patches, pixel shuffle 0.5 -> 16x16 = 256 tokens, <img></img> around
    assert visual_tokens("internvl-1.5", 448, 448) == 256 + 2
    # 896x896: 2x2 beats 1x1 on the tie (image area > half the 2x2 canvas) -> 4 tiles + thumbnail
    res = visual_token_breakdown("internvl-1.5", 896, 896)
    assert res.tile_grid == (2, 2) and res.tiles == 5 and res.total == 5 * 256 + 2
    # a 1:12 strip uses the maximum of 12 tiles + thumbnail = 13 x 256 (InternVL 1.5 paper)
    assert visual_token_breakdown("internvl-1.5", 448, 12 * 448).patches == 13 * 256
    assert visual_tokens("internvl-1.5", 896, 896, use_thumbnail=False) == 4 * 256 + 2


# --- resamplers ----------------------------------------------------------------------------------
def test_resamplers_emit_fixed_query_counts():
    assert visual_tokens("blip-2", 1080, 1920) == 32  # BLIP-2 paper: 32 learned queries
    assert visual_tokens("idefics2", 1080, 1920) == 64 + 2  # 64 latents + fake tokens around
    split = visual_token_breakdown("idefics2", 1080, 1920, image_splitting=True)
    assert split.patches == 320 and split.tiles == 5  # Idefics2 paper: 4 crops + image -> 320


def test_flamingo_reaches_the_lm_by_cross_attention():
    res = visual_token_breakdown("flamingo", 480, 480)
    assert res.total == 64  # Flamingo paper: Perceiver resampler, 64 visual tokens per image
    assert res.delivery == "cross-attention" and res.sequence_tokens == 0
    assert visual_token_breakdown("llava-1.5", 336, 336).sequence_tokens == 576


# --- native-resolution patch rows ----------------------------------------------------------------
def test_pixtral_1024_square():
    # Pixtral paper: a 1024x1024 image -> 64x64 = 4,096 patches; [IMG_BREAK] ends rows 1..63,
    # [IMG_END] ends row 64
    assert visual_token_breakdown("pixtral-12b", 1024, 1024).parts == {
        "patches": 4096, "img_break": 63, "img_end": 1}
    assert visual_token_breakdown("pixtral-12b", 2048, 1024).grid == (64, 32)  # down-scaled by 2


def test_fuyu_hd_frame():
    # 1080x1920 fits Fuyu's canvas as is: 36 rows x 64 cols of 30-px patches + 36 |NEWLINE|
    assert visual_token_breakdown("fuyu-8b", 1080, 1920).parts == {"patches": 2304, "newline": 36}
    # 100x100 pads to 4x4 patches (120 px)
    assert visual_tokens("fuyu-8b", 100, 100) == 4 * 4 + 4


# --- DeepSeek-OCR (arXiv 2510.18234, Table 1; official modeling_deepseekocr.py) -----------------
@pytest.mark.parametrize("mode,content", [("tiny", 64), ("small", 100), ("base", 256), ("large", 400)])
def test_deepseek_ocr_native_modes(mode, content):
    res = visual_token_breakdown(f"deepseek-ocr-{mode}", 1000, 800)
    side = math.isqrt(content)
    assert res.patches == content
    assert res.parts == {"global": content, "newline": side, "view_separator": 1}


def test_deepseek_ocr_gundam_is_n_times_100_plus_256():
    # 1080x1920: aspect 1.78; 2x1 and 4x2 tile layouts (cols x rows) tie at |1.78 - 2|; the image
    # covers more than half of the 4x2 canvas (2.07 MP > 0.5 * 8 * 640^2) -> 8 tiles
    res = visual_token_breakdown("deepseek-ocr-gundam", 1080, 1920)
    assert res.tile_grid == (2, 4) and res.tiles == 9
    assert res.patches == 8 * 100 + 256
    assert res.parts["newline"] == 16 + 2 * 10
    assert visual_token_breakdown("deepseek-ocr-gundam", 600, 600).patches == 256  # no crops <= 640


# --- video ---------------------------------------------------------------------------------------
def test_video_is_frames_times_per_frame_without_temporal_merge():
    assert visual_tokens("llava-1.5", 336, 336, frames=10) == 10 * 576
    assert visual_tokens("llava-1.5", 336, 336, frames=10, temporal_merge=4) == 3 * 576


def test_internvl_video_frames_are_single_tiles():
    assert visual_tokens("internvl-1.5", 1080, 1920, frames=8) == 8 * (256 + 2)


# --- API and bad inputs --------------------------------------------------------------------------
def test_list_models_and_presets_cite_sources():
    assert set(list_models("encoder")) | set(list_models("vlm")) == set(list_models()) == set(PRESETS)
    assert "clip-vit-l-14-336" in list_models("encoder") and "llava-next" in list_models("vlm")
    bib = open("book/references.bib").read()
    for p in PRESETS.values():
        assert p.source.startswith("https://") and f"{{{p.cite}," in bib, p.name
    assert get_preset("LLaVA_NeXT").name == "llava-next"


@pytest.mark.parametrize("bad,exc", [(0, ValueError), (-1, ValueError), (3.5, TypeError),
                                     ("224", TypeError), (True, TypeError), (None, TypeError)])
@pytest.mark.parametrize("arg", ["height", "width", "frames"])
def test_bad_sizes_name_the_argument_and_value(bad, exc, arg):
    kwargs = {"height": 336, "width": 336, "frames": 1, arg: bad}
    with pytest.raises(exc, match=rf"{arg} must be an integer >= 1, got .*{bad!r}"):
        visual_tokens("llava-next", **kwargs)


def test_unknown_model_suggests_close_match():
    with pytest.raises(errors.UnknownNameError, match=r"unknown model 'qwen-vl2'; did you mean 'qwen2-vl'"):
        visual_tokens("qwen-vl2", 336, 336)
    with pytest.raises(TypeError, match="model name must be a str"):
        visual_tokens(7, 336, 336)


def test_bad_options_and_kind():
    with pytest.raises(TypeError, match=r"unknown option 'max_tiles' for 'qwen2-vl'; allowed: max_pixels"):
        visual_tokens("qwen2-vl", 336, 336, max_tiles=4)
    with pytest.raises(TypeError, match="max_pixels must be an integer >= 1, got float 1000.0"):
        visual_tokens("qwen2-vl", 336, 336, max_pixels=1000.0)
    with pytest.raises(TypeError, match="image_splitting must be True or False, got int 1"):
        visual_tokens("idefics2", 336, 336, image_splitting=1)
    with pytest.raises(ValueError, match="min_tiles must be <= max_tiles, got 4 > 2"):
        visual_tokens("internvl-1.5", 336, 336, min_tiles=4, max_tiles=2)
    with pytest.raises(ValueError, match="kind must be one of 'encoder', 'vlm'; got 'llm'"):
        list_models("llm")


# --- properties that hold for every size ---------------------------------------------------------
@settings(max_examples=200, deadline=None)
@given(h=SIDE, w=SIDE)
def test_parts_add_up_and_types(h, w):
    for name in list_models():
        if name == "qwen2-vl" and max(h, w) > 200 * min(h, w):
            with pytest.raises(ValueError, match="aspect ratio must be at most 200"):
                visual_tokens(name, h, w)
            continue
        res = visual_token_breakdown(name, h, w)
        assert isinstance(res, TokenCount) and res.tiles >= 1 and res.total > 0
        # the layout tokens follow each family's rule (written out here, not read from vlmlab):
        # one per patch row (Fuyu |NEWLINE|, LLaVA-NeXT image_newline), rows - 1 breaks and one
        # end (Pixtral), one pair of wrappers (Qwen2-VL, InternVL), views + 1 fake tokens (Idefics2)
        p, rows = res.parts, (res.grid or (0, 0))[0]
        expected_special = {
            "fuyu-8b": {"newline": rows}, "llava-next": {"image_newline": rows},
            "llava-next-video": {"image_newline": rows},
            "pixtral-12b": {"img_break": rows - 1, "img_end": 1},
            "qwen2-vl": {"vision_start": 1, "vision_end": 1},
            "internvl-1.5": {"img_start": 1, "img_end": 1},
            "idefics2": {"fake_token_around_image": 2},
        }.get(name)
        if expected_special is not None:
            assert {k: p[k] for k in expected_special} == expected_special, name
            assert res.special == sum(expected_special.values())
        if name in ("fuyu-8b", "pixtral-12b", "qwen2-vl"):  # one token per (merged) patch
            assert res.patches == res.grid[0] * res.grid[1]


@settings(max_examples=200, deadline=None)
@given(h=SIDE, w=SIDE)
def test_size_independent_front_ends(h, w):
    for name in ["clip-vit-l-14-336", "sam-vit-b-16", "llava-1.5", "blip-2", "flamingo",
                 "idefics2", "deepseek-ocr-base"]:
        assert visual_tokens(name, h, w) == visual_tokens(name, 336, 336)


@settings(max_examples=300, deadline=None)
@given(h=SIDE, w=SIDE)
def test_qwen2_vl_stays_within_pixel_budget(h, w):
    if max(h, w) / min(h, w) > 50:  # extreme strips may exceed max_pixels by one row of 28 px
        return
    res = visual_token_breakdown("qwen2-vl", h, w)
    assert 56 * 56 <= res.patches * 28 * 28 <= 12_845_056  # released preprocessor_config.json


@settings(max_examples=300, deadline=None)
@given(h=SIDE, w=SIDE)
def test_pixtral_rows_and_columns_bounded(h, w):
    res = visual_token_breakdown("pixtral-12b", h, w)
    rows, cols = res.grid
    assert rows <= 64 and cols <= 64 and res.total == rows * (cols + 1)


@settings(max_examples=200, deadline=None)
@given(h=SIDE, w=SIDE)
def test_llava_next_bounded_by_largest_canvas(h, w):
    # anyres is not monotone in image size, but it never exceeds 4 tiles + base + 48 newlines,
    # nor falls below the base image (a 16x1153 strip unpads to zero tile rows)
    total = visual_tokens("llava-next", h, w)
    assert 576 <= total <= 576 + 4 * 576 + 48


@settings(max_examples=200, deadline=None)
@given(h=SIDE, w=SIDE, max_tiles=st.integers(1, 40))
def test_internvl_tiles_bounded(h, w, max_tiles):
    res = visual_token_breakdown("internvl-1.5", h, w, max_tiles=max_tiles)
    rows, cols = res.tile_grid
    assert rows * cols <= max_tiles and res.total == 2 + 256 * res.tiles


@settings(max_examples=100, deadline=None)
@given(h=SIDE, w=SIDE, frames=st.integers(2, 64))
def test_video_linear_in_frames(h, w, frames):
    assert visual_tokens("pixtral-12b", h, w, frames=frames) == frames * visual_tokens("pixtral-12b", h, w)
    if max(h, w) > 200 * min(h, w):
        return
    # Qwen2-VL: videos (frames >= 2) use the video pixel limits, and fuse frames in pairs
    one_pair = visual_token_breakdown("qwen2-vl", h, w, frames=2).patches
    assert visual_token_breakdown("qwen2-vl", h, w, frames=frames).patches == math.ceil(frames / 2) * one_pair


# --- more hand derivations (review) -------------------------------------------------------------
def test_llava_next_portrait_fits_a_two_tile_column_exactly():
    # 1000x500 (h x w): canvases (h, w) keep 168*336, 672*336, 672*336, 672*336, 168*336 pixels;
    # of the three that keep 225,792 the (672, 336) column wastes none -> 2x1 tiles, 48x24 grid.
    # w/h = 0.5 = 24/48: no padding to remove -> 48*24 + 48 newlines + the 576-token base image.
    res = visual_token_breakdown("llava-next", 1000, 500)
    assert res.tile_grid == (2, 1) and res.tiles == 3 and res.grid == (48, 24)
    assert res.total == 48 * 24 + 48 + 576 == 1776


def test_qwen2_vl_checkpoint_budget_and_minimum():
    # The released checkpoints' preprocessor_config.json: max_pixels 12,845,056 (16,384 x 28^2).
    # 1080x1920 rounds to 1092x1932 (39 x 69 units of 28 px) = 2,109,744 px, under that budget.
    res = visual_token_breakdown("qwen2-vl", 1080, 1920)
    assert res.grid == (39, 69) and res.patches == 2691 and res.total == 2693
    # 28x28 = 784 px < min_pixels 3,136: scaled by sqrt(3136/784) = 2 -> 56x56 -> 2x2 tokens
    assert visual_token_breakdown("qwen2-vl", 28, 28).patches == 4


def test_pixtral_landscape_by_hand():
    # 768x2048: longest side 2048 -> scale 1/2 -> 384x1024 -> 24 rows x 64 cols of 16 px;
    # 23 [IMG_BREAK] + 1 [IMG_END]
    assert visual_token_breakdown("pixtral-12b", 768, 2048).parts == {
        "patches": 24 * 64, "img_break": 23, "img_end": 1}


def test_deepseek_ocr_gundam_portrait_by_hand():
    # 800x640 (h x w), aspect w/h 0.8; layouts of 2..9 crops: 2 cols x 3 rows (0.667) is closest
    # -> 6 crops x 100 + the 1024-px global view's 256; newlines 16 + 3*10; one view separator
    res = visual_token_breakdown("deepseek-ocr-gundam", 800, 640)
    assert res.tile_grid == (3, 2) and res.tiles == 7
    assert res.parts == {"global": 256, "local": 600, "newline": 46, "view_separator": 1}


@pytest.mark.parametrize("h,w", [(1, 5000), (5000, 1), (2, 3000), (3, 4999)])
def test_extreme_strips_keep_at_least_one_row_and_no_negative_parts(h, w):
    # a down-scale that floors a side to 0 px would leave no patch row (and -1 row breaks)
    for name in list_models():
        if name == "qwen2-vl" and max(h, w) > 200 * min(h, w):
            continue
        res = visual_token_breakdown(name, h, w)
        assert res.total > 0 and all(v >= 0 for v in res.parts.values()), (name, res)
    assert visual_token_breakdown("pixtral-12b", 1, 5000).parts == {"patches": 64, "img_break": 0, "img_end": 1}
    assert visual_token_breakdown("fuyu-8b", 1, 5000).parts == {"patches": 64, "newline": 1}


@pytest.mark.parametrize("call, pattern", [
    (lambda: visual_tokens("llava-next", 336, 336, grid_pinpoints=5), r"grid_pinpoints must be a non-empty sequence"),
    (lambda: visual_tokens("llava-next", 336, 336, grid_pinpoints=[(300, 300)]), r"multiple of 336 px for 'llava-next', got \[\(300, 300\)\]"),
    (lambda: visual_tokens("llava-next", 336, 336, grid_pinpoints=[]), r"grid_pinpoints must be"),
    (lambda: visual_tokens("clip-vit-l-14-336", 336, 336, input_size=10), r"input_size must be at least one 14-px patch for 'clip-vit-l-14-336', got 10"),
    (lambda: visual_tokens("qwen2-vl", 336, 336, min_pixels=2 * 10**7), r"min_pixels must be <= max_pixels, got 20,000,000 > 12,845,056"),
])
def test_bad_family_options_name_the_argument(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()
