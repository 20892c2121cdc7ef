"""The table of presets: real vision encoders and VLM front-ends, one frozen row each.

Adding a model is adding a row (its ``family`` picks the counting rule in
:mod:`vlmlab.tokens.frontends`). Every number was checked against the row's ``source``; the
bibtex key ``cite`` is in ``book/references.bib``. Used by chapter 1 ("Memory explosion").
"""
from __future__ import annotations

from .result import TokenPreset as P

_HF = "https://github.com/huggingface/transformers/blob/main/src/transformers/models"
_DSOCR = "https://huggingface.co/deepseek-ai/DeepSeek-OCR/blob/main/modeling_deepseekocr.py"

#: LLaVA-NeXT's canvases (transformers LlavaNextConfig.image_grid_pinpoints), shared by its video model
_LLAVA_NEXT_PINPOINTS = ((336, 672), (672, 336), (672, 672), (1008, 336), (336, 1008))

_ROWS = [
    # --- vision encoders: a fixed square input, one token per patch (+ CLS) -----------------------
    P("clip-vit-l-14-224", "fixed", "encoder", "CLIP ViT-L/14 at 224 px: 16x16 patches + CLS",
      "https://huggingface.co/openai/clip-vit-large-patch14/blob/main/config.json", "radford2021clip",
      patch_size=14, input_size=224, cls_tokens=1),
    P("clip-vit-l-14-336", "fixed", "encoder", "CLIP ViT-L/14 at 336 px: 24x24 patches + CLS",
      "https://huggingface.co/openai/clip-vit-large-patch14-336/blob/main/config.json",
      "radford2021clip", patch_size=14, input_size=336, cls_tokens=1),
    P("siglip-so400m-14-384", "fixed", "encoder", "SigLIP SO400M/14 at 384 px: 27x27 patches, no CLS",
      "https://huggingface.co/google/siglip-so400m-patch14-384/blob/main/config.json",
      "zhai2023siglip", patch_size=14, input_size=384),
    P("eva-vit-g-14", "fixed", "encoder", "EVA ViT-g/14 at 224 px as in BLIP-2: 16x16 patches + CLS",
      "https://github.com/salesforce/LAVIS/blob/main/lavis/models/eva_vit.py", "fang2023eva",
      patch_size=14, input_size=224, cls_tokens=1),
    P("sam-vit-b-16", "fixed", "encoder", "SAM ViT-B/16 at 1024 px (longest side, padded): 64x64",
      "https://huggingface.co/facebook/sam-vit-base/blob/main/config.json", "kirillov2023sam",
      patch_size=16, input_size=1024),
    # --- VLM front-ends: what the language model receives ----------------------------------------
    P("llava-1.5", "fixed", "vlm", "CLIP ViT-L/14-336 patch tokens (CLS dropped), MLP keeps the count",
      f"{_HF}/llava/processing_llava.py", "liu2024llava15", patch_size=14, input_size=336),
    P("llava-next", "anyres", "vlm",
      "LLaVA-NeXT (1.6) anyres: 336-px tiles on a pinpoint canvas + base image, unpadded, newlines",
      f"{_HF}/llava_next/processing_llava_next.py", "liu2024llavanext", patch_size=14,
      input_size=336, options={"grid_pinpoints": _LLAVA_NEXT_PINPOINTS}),
    # LLaVA-NeXT-Video: images as LLaVA-NeXT; each video frame is one 336-px view whose 24x24
    # features are average-pooled 2x2 (LlavaNextVideoConfig.spatial_pool_stride=2) -> 144 tokens,
    # no newline tokens (transformers LlavaNextVideoProcessor: num_image_tokens // 4 * num_frames).
    P("llava-next-video", "anyres", "vlm",
      "LLaVA-NeXT-Video: images as LLaVA-NeXT; video frames one 336-px view, 2x2 average-pooled "
      "-> 144 tokens each",
      f"{_HF}/llava_next_video/processing_llava_next_video.py", "zhang2024llavanextvideo",
      patch_size=14, input_size=336,
      options={"grid_pinpoints": _LLAVA_NEXT_PINPOINTS, "video_pool": 2}),
    # max_pixels: the released checkpoints' preprocessor_config.json (Qwen/Qwen2-VL-*-Instruct):
    # min_pixels 3,136, max_pixels 12,845,056 (16,384 tokens), what from_pretrained gives.
    # transformers' Qwen2VLImageProcessor class default (28*28*1280, 1,280 tokens) is the lower
    # budget the model card suggests to save memory: pass max_pixels=28*28*1280 for it.
    # Video limits: transformers' Qwen2VLVideoProcessor defaults.
    P("qwen2-vl", "qwen2-vl", "vlm",
      "Qwen2-VL: smart resize to 28-px multiples (at most 16,384 tokens in the released "
      "config), 14-px patches, 2x2 merge, frame pairs fused",
      "https://huggingface.co/Qwen/Qwen2-VL-7B-Instruct/blob/main/preprocessor_config.json",
      "wang2024qwen2vl", patch_size=14, merge=2, temporal_merge=2,
      options={"min_pixels": 56 * 56, "max_pixels": 28 * 28 * 16384,
               "video_min_pixels": 128 * 28 * 28, "video_max_pixels": 768 * 28 * 28}),
    P("internvl-1.5", "dynamic-tiles", "vlm",
      "InternVL 1.5/2: 1-12 tiles of 448 px + thumbnail, pixel shuffle -> 256 tokens per tile",
      "https://huggingface.co/OpenGVLab/InternVL-Chat-V1-5", "chen2024internvl15",
      patch_size=14, input_size=448, merge=2, min_tiles=1, max_tiles=12),
    P("idefics2", "resampler", "vlm",
      "Idefics2: SigLIP at native aspect (<= 980 px), perceiver -> 64 tokens per view",
      f"{_HF}/idefics2/processing_idefics2.py", "laurencon2024idefics2", patch_size=14,
      queries=64, options={"splits": 4, "marker": "fake_token_around_image"}),
    P("pixtral-12b", "patch-rows", "vlm",
      "Pixtral-12B: native resolution up to 1024 px, 16-px patches, [IMG_BREAK]/[IMG_END] per row",
      f"{_HF}/pixtral/processing_pixtral.py", "agrawal2024pixtral", patch_size=16,
      options={"longest_edge": 1024}),
    P("fuyu-8b", "patch-rows", "vlm",
      "Fuyu-8B: no encoder; 30-px patches linearly embedded, |NEWLINE| per row, fits 1080x1920",
      f"{_HF}/fuyu/image_processing_fuyu.py", "bavishi2023fuyu", patch_size=30,
      options={"canvas": (1080, 1920)}),
    P("blip-2", "resampler", "vlm",
      "BLIP-2: Q-Former reads EVA ViT-g/14 (257 tokens at 224 px) into 32 query tokens",
      f"{_HF}/blip_2/processing_blip_2.py", "li2023blip2", patch_size=14, input_size=224, queries=32),
    P("flamingo", "resampler", "vlm",
      "Flamingo: Perceiver resampler -> 64 latents per image, read by gated cross-attention",
      "https://arxiv.org/abs/2204.14198", "alayrac2022flamingo", patch_size=None, queries=64,
      delivery="cross-attention"),
]

for _mode, _size in [("tiny", 512), ("small", 640), ("base", 1024), ("large", 1280)]:
    _q = _size // 64
    _ROWS.append(P(f"deepseek-ocr-{_mode}", "deepseek-ocr", "vlm",
                   f"DeepSeek-OCR {_mode.capitalize()}: one {_size}-px view -> {_q}x{_q} tokens "
                   "+ newlines + separator", _DSOCR, "wei2025deepseekocr", patch_size=16,
                   input_size=_size, merge=4))
_ROWS.append(P("deepseek-ocr-gundam", "deepseek-ocr", "vlm",
               "DeepSeek-OCR Gundam: 1024-px global view + 2-9 crops of 640 px (100 tokens each)",
               _DSOCR, "wei2025deepseekocr", patch_size=16, input_size=1024, merge=4,
               min_tiles=2, max_tiles=9, options={"tile": 640}))

#: name -> preset, in table order.
PRESETS: dict[str, P] = {row.name: row for row in _ROWS}
