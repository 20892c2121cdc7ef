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


@pytest.mark.parametrize("frames", [1, 2, 3, 10, 31])
@pytest.mark.parametrize("h,w", [(360, 640), (1080, 1920)])
def test_qwen2_vl_video_matches_video_processor_formula(frames, h, w):
    vp_mod = pytest.importorskip("transformers.models.qwen2_vl.video_processing_qwen2_vl")
    vp = vp_mod.Qwen2VLVideoProcessor.__new__(vp_mod.Qwen2VLVideoProcessor)  # class defaults only
    patches = vp_mod.Qwen2VLVideoProcessor.get_num_of_video_patches(vp, frames, h, w, videos_kwargs={})
    res = visual_token_breakdown("qwen2-vl", h, w, frames=frames)
    assert res.patches == patches // 4
    assert res.special == 2


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
    from types import SimpleNamespace

    proc_mod = pytest.importorskip("transformers.models.pixtral.processing_pixtral")  # torchvision
    fields = SimpleNamespace(patch_size=16, spatial_merge_size=1, image_token="I",
                             image_break_token="B", image_end_token="E")
    layout = proc_mod.PixtralProcessor.replace_image_token(
        fields, {"image_sizes": [_pixtral_resized(h, w)]}, 0)
    res = visual_token_breakdown("pixtral-12b", h, w)
    assert (res.patches, res.parts["img_break"], res.parts["img_end"]) == (
        layout.count("I"), layout.count("B"), layout.count("E"))


# --- Fuyu: image processor with tokenizer info (patches + |NEWLINE| per row) ---------------------
@pytest.mark.parametrize("h,w", SIZES)
def test_fuyu_matches_processor(h, w):
    from transformers import FuyuProcessor
    from transformers.models.fuyu.image_processing_pil_fuyu import FuyuImageProcessorPil

    tok = tiny_tokenizer(["|SPEAKER|", "|NEWLINE|"])
    proc = FuyuProcessor(image_processor=FuyuImageProcessorPil(), tokenizer=tok)
    n = proc._get_num_multimodal_tokens(image_sizes=[(h, w)])["num_image_tokens"][0]
    assert visual_tokens("fuyu-8b", h, w) == n


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
