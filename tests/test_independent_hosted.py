"""vlmlab.tokens.hosted: the vendors' billing rules on their worked examples and edge cases
(issue 12).

The rules are the vendors' (cited in vlmlab/tokens/hosted.py, read 2026-12-05); every expected
count below is derived by hand from the rule's text in the comment beside it, never by calling
the code. The breakdown's fields (parts, tiles, grid, sizes, frames) are checked too: the
calculator page and chapter 1's table print them.
"""
import pytest

from vlmlab.tokens import hosted, visual_token_breakdown, visual_tokens


def _fields(bd):
    return (bd.model, bd.height, bd.width, bd.frames, dict(bd.parts), bd.tiles, bd.grid, bd.total)


# --- OpenAI tile rule (GPT-4o): fit 2048 x 2048, then shortest side 768, 170 per 512-px tile + 85
@pytest.mark.parametrize("h, w, parts, tiles, grid", [
    # OpenAI's example: 1024 x 1024 fits 2048; shortest side 1024 -> 768 x 768; 2 x 2 tiles
    # -> 4 x 170 + 85 = 765
    (1024, 1024, {"base": 85, "tiles": 680}, 4, (2, 2)),
    # OpenAI's example 2048 x 4096 (here h 4096, w 2048): -> 1024 x 2048 (fit 2048) -> 768 x 1536
    # (shortest 768) -> 3 rows x 2 cols = 6 tiles -> 6 x 170 + 85 = 1,105
    (4096, 2048, {"base": 85, "tiles": 1020}, 6, (3, 2)),
    # the rule only scales down: 512 x 512 stays (shortest side under 768), one tile: 255
    (512, 512, {"base": 85, "tiles": 170}, 1, (1, 1)),
    # 513 px needs two 512-px tiles a side: 4 tiles, 765
    (513, 513, {"base": 85, "tiles": 680}, 4, (2, 2)),
    # a long image where the 2048 fit matters: 1000 x 4000 -> x 0.512 -> 512 x 2048; shortest side
    # 512 < 768 stays; 1 x 4 tiles -> 4 x 170 + 85 = 765
    (1000, 4000, {"base": 85, "tiles": 680}, 4, (1, 4)),
])
def test_openai_tile_rule(h, w, parts, tiles, grid):
    bd = visual_token_breakdown("gpt-4o", h, w)
    assert _fields(bd) == ("gpt-4o", h, w, 1, parts, tiles, grid, sum(parts.values()))
    assert bd.special == 0 and bd.patches == bd.total             # billing counts: no layout tokens


def test_openai_low_detail_and_frames():
    # detail='low': 85 whatever the size; one 'tile', no grid
    bd = visual_token_breakdown("gpt-4o", 4096, 8192, detail="low")
    assert _fields(bd) == ("gpt-4o", 4096, 8192, 1, {"base": 85}, 1, None, 85)
    # a 3-frame video is billed as 3 images: 3 x (85 + 680) = 2,295
    bd = visual_token_breakdown("gpt-4o", 1024, 1024, frames=3)
    assert _fields(bd) == ("gpt-4o", 1024, 1024, 3, {"base": 255, "tiles": 2040}, 4, (2, 2), 2295)
    assert visual_tokens("gpt-4o", 1024, 1024, frames=2, detail="low") == 170


def test_openai_options_are_checked():
    with pytest.raises(ValueError, match=r"^detail must be one of 'high', 'low'; got 'medium'$"):
        visual_tokens("gpt-4o", 512, 512, detail="medium")
    with pytest.raises(TypeError, match=r"^unknown option 'quality' for 'gpt-4o'; allowed: detail$"):
        visual_tokens("gpt-4o", 512, 512, quality="hd")
    with pytest.raises(TypeError, match=r"^unknown option 'detail' for 'claude'; allowed: none$"):
        visual_tokens("claude", 512, 512, detail="low")
    with pytest.raises(TypeError, match=r"^unknown option 'a' for 'gemini-2.0-flash'; allowed: none$"):
        visual_tokens("gemini-2.0-flash", 512, 512, b=1, a=2)       # the first unknown, sorted


# --- OpenAI patch rule: 32-px patches, at most 1,536 (scale down to fit), x the model's multiplier
@pytest.mark.parametrize("model, h, w, tokens, grid", [
    # OpenAI's example: 1024 x 1024 -> 32 x 32 = 1,024 patches; x 1.62 = 1,658.88 -> 1,659
    ("gpt-4.1-mini", 1024, 1024, 1659, (32, 32)),
    # OpenAI's example 1800 x 2400, height the binding side here (h 1800): 57 x 75 = 4,275 > 1,536;
    # scale sqrt(1536 x 32^2 / (1800 x 2400)) = 0.603 -> 1086 x 1448; whole patches: x min(33/33.94,
    # 45/45.25) = x 0.972 -> 1056 x 1408 -> 33 x 44 = 1,452; x 1.62 = 2,352.24 -> 2,352
    ("gpt-4.1-mini", 1800, 2400, 2352, (33, 44)),
    ("gpt-4.1-mini", 2400, 1800, 2352, (44, 33)),              # the same, width binding
    ("gpt-4.1-nano", 1800, 2400, 3572, (33, 44)),              # 1,452 x 2.46 = 3,571.92
    # exactly at the cap, partial patches: ceil(1010/32) = 32, ceil(1520/32) = 48 -> 1,536, not
    # above 1,536 so not scaled; x 1.62 = 2,488.32 -> 2,488
    ("gpt-4.1-mini", 1010, 1520, 2488, (32, 48)),
    # one patch over: 928 x 1696 = 29 x 53 = 1,537 patches, exactly 1,537 x 32^2 pixels, so the
    # scale is sqrt(1536/1537); heights 29 x 0.99967 = 28.99 patches -> 28, widths 52.98 -> 52;
    # the height binds: x 28/28.99 -> scale 28/29 overall -> 896 x 1637.5 -> 28 x ceil(1637/32)
    # = 28 x 52 = 1,456 patches; x 1.62 = 2,358.72 -> 2,359
    ("gpt-4.1-mini", 928, 1696, 2359, (28, 52)),
    # small: ceil(100/32) = 4, ceil(200/32) = 7 -> 28 patches x 2.46 = 68.88 -> 69
    ("gpt-4.1-nano", 100, 200, 69, (4, 7)),
])
def test_openai_patch_rule(model, h, w, tokens, grid):
    bd = visual_token_breakdown(model, h, w)
    assert _fields(bd) == (model, h, w, 1, {"patches": tokens}, 1, grid, tokens)


def test_openai_patch_rule_video_and_options():
    # 2 frames of 1,024 patches: 2 x 1,659
    bd = visual_token_breakdown("gpt-4.1-mini", 1024, 1024, frames=2)
    assert _fields(bd) == ("gpt-4.1-mini", 1024, 1024, 2, {"patches": 3318}, 1, (32, 32), 3318)
    with pytest.raises(TypeError, match=r"^unknown option 'detail' for 'gpt-4.1-mini'; allowed: none$"):
        visual_tokens("gpt-4.1-mini", 64, 64, detail="low")


# --- Anthropic: ceil(w h / 750) after a down-scale to a long edge <= 1568 and <= 1,600 tokens
@pytest.mark.parametrize("h, w, tokens", [
    # Anthropic's table: 1000 x 1000 -> 1,000,000 / 750 = 1,333.3 -> ~1,334; 1092 x 1092 ->
    # 1,192,464 / 750 = 1,589.95 -> ~1,590 (both under both limits: not scaled)
    (1000, 1000, 1334), (1092, 1092, 1590), (200, 200, 54),        # 40,000 / 750 = 53.3 -> 54
    # the token limit binds: 1500 x 1500 = 2.25 MP > 1,600 x 750 = 1.2 MP; scale sqrt(1.2/2.25)
    # = 0.7303 -> 1095.4 -> 1095 px a side; 1,199,025 / 750 = 1,598.7 -> 1,599
    (1500, 1500, 1599),
    # non-square, token limit: scale sqrt(1.2 MP / 1.5 MP) = 0.8944 -> 1341.6 x 894.4 -> 1341 x 894
    # = 1,198,854 px / 750 = 1,598.5 -> 1,599
    (1500, 1000, 1599),
    # the long edge binds: 3136 x 392 (1.23 MP; token scale 0.988) -> x 1568/3136 = 0.5 ->
    # 1568 x 196 = 307,328 px / 750 = 409.8 -> 410
    (3136, 392, 410), (392, 3136, 410),
])
def test_anthropic_area_rule(h, w, tokens):
    bd = visual_token_breakdown("claude", h, w)
    assert _fields(bd) == ("claude", h, w, 1, {"area": tokens}, 1, None, tokens)


def test_anthropic_frames():
    bd = visual_token_breakdown("claude", 1000, 1000, frames=4)         # 4 x 1,334
    assert _fields(bd) == ("claude", 1000, 1000, 4, {"area": 5336}, 1, None, 5336)


# --- Gemini 2.0: 258 when both sides <= 384, else 258 per 768-px tile ----------------------------
@pytest.mark.parametrize("h, w, parts, tiles, grid", [
    (384, 384, {"image": 258}, 1, None),           # both sides <= 384: one image of 258
    (100, 384, {"image": 258}, 1, None),
    (385, 200, {"tiles": 258}, 1, (1, 1)),         # one side over 384: tiled, one 768-px tile
    (200, 385, {"tiles": 258}, 1, (1, 1)),
    (384, 1000, {"tiles": 516}, 2, (1, 2)),        # ceil(1000/768) = 2 tiles of 258
    (768, 1536, {"tiles": 516}, 2, (1, 2)),        # the vendor's 768-px tiles, two of them
    (769, 1537, {"tiles": 1548}, 6, (2, 3)),       # 769 px needs 2 tiles, 1537 needs 3: 6 x 258
])
def test_gemini_tile_rule(h, w, parts, tiles, grid):
    bd = visual_token_breakdown("gemini-2.0-flash", h, w)
    assert _fields(bd) == ("gemini-2.0-flash", h, w, 1, parts, tiles, grid, sum(parts.values()))


def test_gemini_frames():
    assert _fields(visual_token_breakdown("gemini-2.0-flash", 300, 300, frames=2)) == (
        "gemini-2.0-flash", 300, 300, 2, {"image": 516}, 1, None, 516)
    assert _fields(visual_token_breakdown("gemini-2.0-flash", 769, 1537, frames=2)) == (
        "gemini-2.0-flash", 769, 1537, 2, {"tiles": 3096}, 6, (2, 3), 3096)


# --- the table of hosted models -------------------------------------------------------------------
def test_hosted_model_lookup_and_unknown_names():
    m = hosted.hosted_model("GPT-4o")                    # case and '-' do not matter
    assert (m.vendor, m.context_window, m.checked) == ("OpenAI", 128_000, "secondary")
    assert hosted.hosted_model("claude").context_window == 200_000
    with pytest.raises(KeyError, match=r"^unknown hosted model 'gpt-5'.* Known hosted models: claude, "):
        hosted.hosted_model("gpt-5")
    with pytest.raises(TypeError, match=r"^hosted model name must be a str, got int 4$"):
        hosted.hosted_model(4)
    assert hosted.is_hosted("Gemini-2.0-Flash") and not hosted.is_hosted("llava-1.5")
    assert not hosted.is_hosted(None)
