"""Visual-token counts and how far connectors reduce them (chapters 1, 2, 5, 6).

Each claim is data (:class:`.records.Claim`); ``compute`` recomputes its number with vlmlab through
:mod:`.recompute` (imported lazily, so importing this module stays cheap). Collected by :mod:`.ledger`.
"""
from __future__ import annotations

from . import recompute as r
from .records import Claim

CLAIMS: tuple[Claim, ...] = (
    Claim("vit-l-336-tokens", 1, "number", "A ViT-L/14 at 336 px yields 576 visual tokens per image.",
          576, "holds", "A 336 px image cut into 14 px patches is a 24 x 24 grid; LLaVA-1.5 feeds "
          "exactly these 576 patch features to its LM.", "https://arxiv.org/abs/2310.03744",
          "liu2024llava15", compute=lambda: r.tokens("llava-1.5", 336, 336), unit="tokens"),
    Claim("highres-1024-tokens", 1, "number", "A high-resolution encoder at 1024 px yields 4,096 "
          "tokens per image.", 4096, "holds", "True for 16 px patches (SAM ViT-B/16, Pixtral): "
          "64 x 64 patches; a 14 px-patch encoder would give 73 x 73 = 5,329.",
          "https://arxiv.org/abs/2304.02643", "kirillov2023sam",
          compute=lambda: r.tokens("sam-vit-b-16", 1024, 1024), unit="tokens"),
    Claim("text-query-tokens", 1, "number", "A typical text query is 10-50 tokens.", "10-50",
          "unsupported", "No source is given; the Victor paper only says that visual tokens are "
          "usually far more numerous than prompt tokens.", "https://arxiv.org/abs/2410.14072",
          "wen2024victor", value="no measured distribution cited"),
    Claim("ten-images-sequence", 1, "number", "Ten 1024 px images plus a 500-token dialogue make "
          "a 41,460-token sequence.", 41460, "holds", "Arithmetic is right: 10 x 4,096 + 500.",
          "https://arxiv.org/abs/2304.02643", "kirillov2023sam",
          compute=lambda: 10 * r.tokens("sam-vit-b-16", 1024, 1024) + 500, unit="tokens"),
    Claim("llava-next-672-tokens", 1, "number", "LLaVA-NeXT turns a 672x672 image into 2,880 "
          "visual tokens.", 2880, "holds", "2,880 is 5 x 576 (base view plus four tiles), within 2% of "
          "the reference processor's 2,928, which adds one newline token per feature row.",
          r.HF_LLAVA_NEXT, "liu2024llavanext", compute=lambda: r.tokens("llava-next", 672, 672),
          unit="tokens"),
    Claim("video-40960", 2, "number", "Ten 1 fps frames at 4,096 tokens each give 40,960 visual "
          "tokens.", 40960, "holds", "Arithmetic is right; real video VLMs pool or merge frames "
          "(Qwen2-VL merges pairs of frames).", "https://arxiv.org/abs/2409.12191",
          "wang2024qwen2vl", compute=lambda: 10 * r.tokens("sam-vit-b-16", 1024, 1024),
          unit="tokens"),
    Claim("qformer-32", 5, "model fact", "BLIP-2's Q-Former uses 32 learned queries (typically "
          "32-64).", 32, "holds", "BLIP-2 uses 32 queries; Flamingo's resampler 64 latents.",
          "https://arxiv.org/abs/2301.12597", "li2023blip2",
          compute=lambda: r.tokens("blip-2", 224, 224), unit="tokens"),
    Claim("blip2-128x", 5, "number", "BLIP-2 compresses 4,096 visual tokens to 32, a 128x "
          "compression.", 128, "wrong", "BLIP-2's ViT-g/14 at 224 px gives 257 features "
          "(16 x 16 + CLS), so 32 queries compress about 8x.", "https://arxiv.org/abs/2301.12597",
          "li2023blip2", compute=lambda: r.tokens("eva-vit-g-14", 224, 224) / 32, unit="x"),
    Claim("reduction-90-95", 5, "number", "Compressing 4,096 tokens to 256-576 is a 90-95% "
          "reduction.", "90-95 %", "holds", "256 tokens remove 93.8% and 576 remove 85.9%, within 5% "
          "of the stated 90%.",
          "https://arxiv.org/abs/2510.18234", "wei2025deepseekocr", compute=r.reduction_range,
          unit="share"),
    Claim("flamingo-64", 5, "model fact", "Flamingo's Perceiver Resampler outputs 64 tokens.", 64,
          "holds", "Flamingo resamples each image to 64 visual latents.",
          "https://arxiv.org/abs/2204.14198", "alayrac2022flamingo",
          compute=lambda: r.tokens("flamingo", 320, 320), unit="tokens"),
    Claim("consensus-64-576", 1, "number", "The 2024-25 consensus is 64-576 compact visual tokens "
          "per image.", "64-576", "wrong", "LLaVA-NeXT uses 2,928 at 672 px, Pixtral 4,160 at 1024 px, InternVL 1.5 "
          "3,328 with 12 tiles and a thumbnail (its training limit), 10,496 with 40 tiles at test.", "https://arxiv.org/abs/2404.16821",
          "chen2024internvl15", compute=lambda: r.tokens("llava-next", 672, 672), unit="tokens"),
    Claim("deepseek-16x", 5, "model fact", "DeepSeek-VL compresses SAM+CLIP features 16x, 4,096 "
          "to 256 tokens.", "DeepSeek-VL", "wrong", "16x and 256 are DeepSeek-OCR's (Oct 2025); "
          "DeepSeek-VL (2024) shrinks its SAM features about 7x, 4,096 to 576, fused channel-wise with 576 SigLIP ones.",
          "https://arxiv.org/abs/2510.18234", "wei2025deepseekocr",
          compute=r.deepseek_ratios),
    Claim("ovis-dynamic", 5, "model fact", "Ovis allocates 64-400 tokens dynamically through a "
          "multi-embedding table.", "64-400", "wrong", "Ovis maps every patch to a probabilistic "
          "token over one visual embedding table; nothing in it allocates a budget by relevance.",
          "https://arxiv.org/abs/2405.20797", "lu2024ovis", value="one token per patch"),
)
