"""Cross-checks of vlmlab.tokens against transformers' own processors (an independent
implementation). Processors are built offline: image processors instantiated directly with the
published defaults, and a tiny word-level tokenizer that knows only the special tokens.
The image tokens are counted in the processor's real output ``input_ids``."""
import math

import numpy as np
import pytest

from vlmlab.tokens import visual_token_breakdown, visual_tokens

transformers = pytest.importorskip("transformers")
tokenizers = pytest.importorskip("tokenizers")

# sizes (height, width): square, tiny, landscape HD, very tall, portrait phone, odd sizes
SIZES = [(672, 672), (224, 224), (1080, 1920), (2000, 500), (1920, 1080), (333, 777), (50, 1000),
         (1008, 336), (900, 1600), (3000, 4000)]


def tiny_tokenizer(specials, **extra):
    """A word-level tokenizer whose vocabulary is just ``specials`` (no download)."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {"[UNK]": 0, **{s: i + 1 for i, s in enumerate(specials)}}
    tk = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tk.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return PreTrainedTokenizerFast(tokenizer_object=tk, unk_token="[UNK]",
                                   additional_special_tokens=list(specials), **extra)


def count_ids(tok, ids, token):
    return int((np.asarray(ids) == tok.convert_tokens_to_ids(token)).sum())


def image(h, w):
    from PIL import Image

    return Image.new("RGB", (w, h))


# --- LLaVA-NeXT: processor output (anyres canvas, unpadding, newline per row, base image) -------
@pytest.fixture(scope="module")
def llava_next():
    from transformers import LlavaNextProcessor
    from transformers.models.llava_next.image_processing_pil_llava_next import LlavaNextImageProcessorPil

    tok = tiny_tokenizer(["<image>"])
    # llava-hf/llava-v1.6-*-hf: CLIP-336 crops, patch 14, CLS counted then dropped ('default')
    ip = LlavaNextImageProcessorPil(size={"shortest_edge": 336}, crop_size={"height": 336, "width": 336})
    return tok, LlavaNextProcessor(image_processor=ip, tokenizer=tok, patch_size=14,
                                   vision_feature_select_strategy="default", num_additional_image_tokens=1)


@pytest.mark.parametrize("h,w", SIZES)
def test_llava_next_matches_processor(llava_next, h, w):
    tok, proc = llava_next
    out = proc(text="<image>", images=image(h, w), return_tensors="np")
    assert visual_tokens("llava-next", h, w) == count_ids(tok, out["input_ids"], "<image>")


@pytest.mark.parametrize("h,w", SIZES)
def test_llava_next_grid_matches_modeling_helpers(h, w):
    from transformers.image_processing_utils import select_best_resolution
    from transformers.models.llava_next.modeling_llava_next import (get_anyres_image_grid_shape,
                                                                   image_size_to_num_patches)
    from transformers.models.llava_next.image_processing_pil_llava_next import LlavaNextImageProcessorPil

    pinpoints = LlavaNextImageProcessorPil.image_grid_pinpoints
    res = visual_token_breakdown("llava-next", h, w)
    canvas = select_best_resolution((h, w), pinpoints)
    assert res.tile_grid == (canvas[0] // 336, canvas[1] // 336)
    assert res.tile_grid == get_anyres_image_grid_shape((h, w), pinpoints, 336)
    assert res.tiles == image_size_to_num_patches((h, w), pinpoints, 336)


# --- Qwen2-VL: smart_resize, 2x2 merge; videos fuse frame pairs -----------------------------------
# Qwen2VLProcessor cannot be built here (it needs the torchvision video processor), so these
# compare with the image processor's public get_number_of_image_patches and smart_resize, which
# are what the processor itself calls to size <|image_pad|> runs.
# Qwen/Qwen2-VL-7B-Instruct preprocessor_config.json: "min_pixels": 3136, "max_pixels": 12845056
RELEASED_QWEN2_VL = {"shortest_edge": 3136, "longest_edge": 12845056}


@pytest.mark.parametrize("h,w", SIZES + [(28, 28), (10, 30), (5000, 5000), (9000, 12000)])
@pytest.mark.parametrize("config", ["released", "class default"])
def test_qwen2_vl_matches_image_processor(h, w, config):
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import (Qwen2VLImageProcessorPil,
                                                                           smart_resize)

    if config == "released":  # what from_pretrained gives; vlmlab's default
        ip, opts = Qwen2VLImageProcessorPil(size=RELEASED_QWEN2_VL), {}
    else:                     # transformers' class default: the lower 1,280-token budget
        ip = Qwen2VLImageProcessorPil()
        opts = {"max_pixels": ip.size["longest_edge"]}
    rh, rw = smart_resize(h, w, factor=28, min_pixels=ip.size["shortest_edge"],
                          max_pixels=ip.size["longest_edge"])
    res = visual_token_breakdown("qwen2-vl", h, w, **opts)
    assert res.grid == (rh // 28, rw // 28)
    assert res.patches == ip.get_number_of_image_patches(h, w, {}) // ip.merge_size ** 2
    assert res.special == 2  # <|vision_start|> <|vision_end|> from the chat template


def optional_module(name):
    """The transformers module ``name``, or None where it cannot be imported here (the video and
    Pixtral processor modules import torchvision, which has no wheel beside the CPU torch build
    that CI installs). Tests use it for an extra comparison, never to skip."""
    import importlib

    try:
        return importlib.import_module(name)
    except ImportError:
        return None


# Qwen2VLVideoProcessor's class defaults (transformers 5.25 video_processing_qwen2_vl.py; the same
# in Qwen/Qwen2-VL-7B-Instruct's preprocessor_config.json): size 128*28*28 .. 768*28*28 pixels per
# frame, patch 14, merge 2, temporal_patch_size 2 (two frames fuse into one grid step).
VIDEO_MIN_PIXELS, VIDEO_MAX_PIXELS = 128 * 28 * 28, 768 * 28 * 28
VIDEO_SIZES = [(360, 640), (1080, 1920), (100, 100), (224, 224), (720, 1280), (28, 5000), (4000, 3000)]


@pytest.mark.parametrize("frames", [2, 3, 10, 31])
@pytest.mark.parametrize("h,w", VIDEO_SIZES)
def test_qwen2_vl_video_matches_video_processor(frames, h, w):
    # transformers' smart_resize (the video module holds a verbatim copy, "Copied from ...
    # image_processing_qwen2_vl.smart_resize") with the video limits; grid_t = ceil(frames / 2)
    # as in Qwen2VLVideoProcessor.get_num_of_video_patches; 2x2 merge -> / 4.
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import smart_resize

    rh, rw = smart_resize(h, w, factor=28, min_pixels=VIDEO_MIN_PIXELS, max_pixels=VIDEO_MAX_PIXELS)
    grid_t = -(-frames // 2)
    res = visual_token_breakdown("qwen2-vl", h, w, frames=frames)
    assert res.patches == grid_t * (rh // 28) * (rw // 28)
    assert res.special == 2  # one <|vision_start|> ... <|vision_end|> around the whole video
    vp_mod = optional_module("transformers.models.qwen2_vl.video_processing_qwen2_vl")
    if vp_mod is not None:  # with torchvision: the video processor's own count as well
        vp = vp_mod.Qwen2VLVideoProcessor.__new__(vp_mod.Qwen2VLVideoProcessor)  # class defaults
        patches = vp_mod.Qwen2VLVideoProcessor.get_num_of_video_patches(vp, frames, h, w, videos_kwargs={})
        assert res.patches == patches // 4


@pytest.mark.parametrize("h,w", VIDEO_SIZES)
def test_qwen2_vl_single_frame_is_an_image(h, w):
    # one frame goes through the image processor (the image limits), not the video processor
    assert visual_tokens("qwen2-vl", h, w, frames=1) == visual_tokens("qwen2-vl", h, w)


# --- LLaVA-NeXT-Video: frames pooled 2x2 (config), counted as the processor counts them ------------
@pytest.mark.parametrize("frames", [2, 8, 32])
def test_llava_next_video_matches_processor_and_config(frames):
    from types import SimpleNamespace

    from transformers import LlavaNextVideoConfig
    from transformers.models.llava_next_video.processing_llava_next_video import LlavaNextVideoProcessor

    cfg = LlavaNextVideoConfig()  # defaults mirror llava-hf/LLaVA-NeXT-Video-7B-hf
    assert cfg.spatial_pool_stride == 2 and cfg.vision_config.image_size == 336
    fields = SimpleNamespace(patch_size=cfg.vision_config.patch_size, video_token="V")
    video = {"pixel_values_videos": [np.zeros((frames, 3, 336, 336), dtype=np.float32)]}
    layout = LlavaNextVideoProcessor.replace_video_token(fields, video, 0)
    assert visual_tokens("llava-next-video", 1080, 1920, frames=frames) == layout.count("V")


# --- InternVL: GOT-OCR2 image processor with crop_to_patches (InternVL's dynamic tiling) ---------
@pytest.mark.parametrize("h,w", SIZES)
@pytest.mark.parametrize("max_tiles", [6, 12])
def test_internvl_matches_image_processor(h, w, max_tiles):
    from transformers.models.got_ocr2.image_processing_pil_got_ocr2 import GotOcr2ImageProcessorPil

    ip = GotOcr2ImageProcessorPil(size={"height": 448, "width": 448}, crop_to_patches=True,
                                  min_patches=1, max_patches=max_tiles)
    n_views = ip.get_number_of_image_patches(h, w, {})
    # InternVLProcessor: <img> + 256 * views + </img>
    assert visual_tokens("internvl-1.5", h, w, max_tiles=max_tiles) == 2 + 256 * n_views


# --- Pixtral: image processor's resize + the processor's token layout ----------------------------
def _pixtral_resized(h, w):
    from transformers.models.pixtral.image_processing_pil_pixtral import (PixtralImageProcessorPil,
                                                                         get_resize_output_image_size)

    edge = PixtralImageProcessorPil.size["longest_edge"]
    return get_resize_output_image_size(image(h, w), size=(edge, edge), patch_size=(16, 16))


@pytest.mark.parametrize("h,w", SIZES)
def test_pixtral_matches_image_processor(h, w):
    rh, rw = _pixtral_resized(h, w)
    res = visual_token_breakdown("pixtral-12b", h, w)
    assert res.grid == (rh // 16, rw // 16)
    # PixtralProcessor._get_num_multimodal_tokens: (width_tokens + 1) * height_tokens
    assert res.total == (rw // 16 + 1) * (rh // 16)


@pytest.mark.parametrize("h,w", SIZES)
def test_pixtral_layout_matches_processor(h, w):
    # PixtralProcessor.replace_image_token: for each of the H/16 rows, W/16 [IMG] then one
    # [IMG_BREAK]; the very last [IMG_BREAK] becomes [IMG_END] (Pixtral paper, Fig. 2: "[IMG_BREAK]
    # between rows, [IMG_END] at the end"). So rows*cols, rows-1 and 1 of the three tokens.
    rh, rw = _pixtral_resized(h, w)
    rows, cols = rh // 16, rw // 16
    res = visual_token_breakdown("pixtral-12b", h, w)
    assert (res.patches, res.parts["img_break"], res.parts["img_end"]) == (rows * cols, rows - 1, 1)
    proc_mod = optional_module("transformers.models.pixtral.processing_pixtral")
    if proc_mod is not None:  # with torchvision: the processor's own layout string as well
        from types import SimpleNamespace

        fields = SimpleNamespace(patch_size=16, spatial_merge_size=1, image_token="I",
                                 image_break_token="B", image_end_token="E")
        layout = proc_mod.PixtralProcessor.replace_image_token(fields, {"image_sizes": [(rh, rw)]}, 0)
        assert (res.patches, res.parts["img_break"], res.parts["img_end"]) == (
            layout.count("I"), layout.count("B"), layout.count("E"))


# --- Fuyu: the processor's real input_ids (|SPEAKER| per patch, |NEWLINE| per patch row) --------
# The model's sequence holds both kinds of token (FuyuProcessor.replace_image_token writes
# row_width * |SPEAKER| + |NEWLINE| per row), so vlmlab counts both. transformers' private
# FuyuProcessor._get_num_multimodal_tokens changed meaning between releases (issue 10): 5.24
# counted patches and newlines (1,764 at 3000x4000), 5.25 counts patches only (1,728). The test
# therefore counts the ids the processor really returns, which hold both in every release.
def fuyu_tokenizer():
    """A word-level stand-in for Fuyu's SentencePiece tokenizer, offline.

    Like SentencePiece it writes a dummy-prefix piece '▁' before the text; FuyuProcessor strips
    the first id of the encoded placeholder string for that reason ("strip off the underscore
    which is always prepended before special image tokens", processing_fuyu.py).
    """
    from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    words = ["▁", "|SPEAKER|", "|NEWLINE|", "<s>", "<0x04>"]
    tk = Tokenizer(models.WordLevel({"[UNK]": 0, **{w: i + 1 for i, w in enumerate(words)}},
                                    unk_token="[UNK]"))
    tk.normalizer = normalizers.Prepend("▁ ")
    tk.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.WhitespaceSplit(),
        pre_tokenizers.Split(Regex(r"\|SPEAKER\||\|NEWLINE\||<s>|<0x04>"), behavior="isolated")])
    return PreTrainedTokenizerFast(tokenizer_object=tk, unk_token="[UNK]", pad_token="[UNK]")


@pytest.fixture(scope="module")
def fuyu():
    import torch
    from transformers import FuyuProcessor
    from transformers.models.fuyu.image_processing_pil_fuyu import FuyuImageProcessorPil

    class PilFuyuImages(FuyuImageProcessorPil):
        """transformers 5.25's PIL backend patchifies with numpy's transpose, but FuyuProcessor
        hands it torch tensors (return_tensors='pt'); convert around it. Only the pixel packing
        is touched: the token layout is the processor's own."""

        def patchify_image(self, image, patch_size=None):
            return torch.from_numpy(np.asarray(super().patchify_image(np.asarray(image), patch_size)))

    tok = fuyu_tokenizer()
    return tok, FuyuProcessor(image_processor=PilFuyuImages(), tokenizer=tok)


@pytest.mark.parametrize("h,w", SIZES)
def test_fuyu_matches_processor(fuyu, h, w):
    tok, proc = fuyu
    out = proc(text="a", images=image(h, w), return_legacy_image_output=False)
    ids = out["input_ids"]
    res = visual_token_breakdown("fuyu-8b", h, w)
    assert res.patches == count_ids(tok, ids, "|SPEAKER|") == out["pixel_values"].shape[0]
    assert res.parts["newline"] == count_ids(tok, ids, "|NEWLINE|")
    assert visual_tokens("fuyu-8b", h, w) == count_ids(tok, ids, "|SPEAKER|") + count_ids(tok, ids, "|NEWLINE|")


def test_fuyu_private_token_helper_meaning_by_version(fuyu):
    """Documents the change that broke the old test: the locked 5.25 counts patches only."""
    from packaging.version import Version

    _, proc = fuyu
    n = proc._get_num_multimodal_tokens(image_sizes=[(3000, 4000)])["num_image_tokens"][0]
    res = visual_token_breakdown("fuyu-8b", 3000, 4000)  # 36 x 48 patches of 30 px, + 36 newlines
    if Version(transformers.__version__) >= Version("5.25"):
        assert n == res.patches == 1728
    else:
        assert n == res.total == 1764


# --- Idefics2: 64 perceiver tokens per view, fake tokens around (processor output) ---------------
@pytest.mark.parametrize("splitting", [False, True])
def test_idefics2_matches_processor(splitting):
    from transformers import Idefics2Processor
    from transformers.models.idefics2.image_processing_pil_idefics2 import Idefics2ImageProcessorPil

    tok = tiny_tokenizer([])
    proc = Idefics2Processor(image_processor=Idefics2ImageProcessorPil(do_image_splitting=splitting),
                             tokenizer=tok)
    ids = proc(text="<image>", images=[image(600, 800)], return_tensors="np")["input_ids"]
    res = visual_token_breakdown("idefics2", 600, 800, image_splitting=splitting)
    assert res.patches == count_ids(tok, ids, "<image>")
    assert res.special == count_ids(tok, ids, "<fake_token_around_image>")
