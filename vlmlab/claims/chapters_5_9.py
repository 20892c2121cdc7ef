"""The essay's claims shown in chapters 5-9: alternatives to concatenation, counter-examples,
the engineering arithmetic, granularity and the future; the central-thesis claims (shown in
chapters 1 and 5), with :data:`DESIGNS`, the table of real VLMs that decides them; and
:data:`WRONG_AUTHOR`. Used by chapter 10
through :mod:`.records`.
"""
from __future__ import annotations

from typing import NamedTuple

from .records import Claim

_GIGANT = "https://huggingface.co/blog/gigant/vlm-design"


class Design(NamedTuple):
    """How one VLM feeds vision to its LM: ``in_sequence`` = visual tokens join the LM's input
    sequence (concatenation); ``reduces`` = fewer tokens than encoder patches reach the LM."""

    model: str
    in_sequence: bool
    reduces: bool
    how: str
    cite: str


#: Widely used VLMs and how they fuse vision (papers and reference implementations).
DESIGNS: tuple[Design, ...] = (
    Design("LLaVA-1.5", True, False, "MLP per patch, 576 tokens", "liu2024llava15"),
    Design("LLaVA-NeXT", True, False, "MLP per patch, tiles + newlines", "liu2024llavanext"),
    Design("DeepSeek-VL", True, True, "SAM 4,096 -> 576 by strided convs, joined to SigLIP's 576",
           "lu2024deepseekvl"),
    Design("Ovis", True, False, "visual embedding table, one token per patch", "lu2024ovis"),
    Design("Pixtral 12B", True, False, "one token per 16 px patch + row breaks", "agrawal2024pixtral"),
    Design("Fuyu-8B", True, False, "linear patch embedding, no encoder", "bavishi2023fuyu"),
    Design("Qwen2-VL", True, True, "2x2 patch merge (4x)", "wang2024qwen2vl"),
    Design("InternVL 1.5", True, True, "pixel shuffle (4x), 256 per tile", "chen2024internvl15"),
    Design("Idefics2", True, True, "perceiver resampler, 64 per image", "laurencon2024idefics2"),
    Design("DeepSeek-OCR", True, True, "16x conv compressor, 256 at 1024 px", "wei2025deepseekocr"),
    Design("BLIP-2", True, True, "Q-Former, 32 query outputs as soft prompt", "li2023blip2"),
    Design("Flamingo", False, True, "gated cross-attention to 64 latents", "alayrac2022flamingo"),
    Design("Llama 3.2 Vision", False, False, "cross-attention adapter layers", "dubey2024llama3"),
)


#: attributions that credit a passage to someone who did not write it: three of Gigant's
#: sentences given to others, and the essay's own clause placed inside a quotation of Gigant
WRONG_AUTHOR: tuple[str, ...] = ("hf-compression-framing", "llava-quote-source", "fuyu-quote-source",
                                 "bitter-lesson-quote")


def _share(attr: str) -> float:
    return sum(getattr(d, attr) for d in DESIGNS) / len(DESIGNS)


def _tokens(model: str, height: int, width: int) -> int:
    from ..tokens import visual_tokens
    return visual_tokens(model, height, width)


def _beit3_tokens(side_px: int) -> int:
    """BEiT-3 (giant) image tokens: 14-px patches, no compression (wang2023beit3, Table 2)."""
    from ..tokens.grid import patch_grid
    rows, cols = patch_grid(side_px, side_px, 14)
    return rows * cols


def _deepseek_ratios() -> str:
    """Whose the 16x is: DeepSeek-OCR's 4,096 SAM tokens -> 256; DeepSeek-VL's 4,096 -> 576
    (SAM map resized to 96 x 96, two stride-2 convs; lu2024deepseekvl, wei2025deepseekocr)."""
    sam, ocr, dsvl = _tokens("sam-vit-b-16", 1024, 1024), 256, (96 // 4) ** 2
    return f"16× is DeepSeek-OCR's ({sam:,} → {ocr}); DeepSeek-VL: {sam:,} → {dsvl} ({sam / dsvl:.1f}×)"


def _lm():
    from ..models import get_lm
    return get_lm("llama-2-7b")


def _pairs(n: int) -> int:
    """Query-key pairs of one head of one layer, via vlmlab.cost (4 FLOPs per pair and dim)."""
    from ..cost import attention_score_flops
    return attention_score_flops(n, n, 1, 1) // 4


def _prefill_ratio(n_big: int, n_small: int) -> float:
    from ..cost import model_prefill_flops
    return model_prefill_flops(_lm(), n_big).total / model_prefill_flops(_lm(), n_small).total


def _kv(tokens: int, batch: int = 1) -> int:
    from ..cost import kv_cache_bytes
    return kv_cache_bytes(_lm(), tokens, batch=batch, dtype="fp16")


def _weights() -> int:
    from ..cost import weight_bytes
    return weight_bytes(_lm(), "fp16")


def _batch_a100_40gb(tokens: int) -> int:
    """Requests whose fp16 KV cache (prompt + ``serving.ANSWER_TOKENS``) fits beside the fp16
    weights in an A100-40GB's 40 GiB (``roofline`` datasheet), no activations: chapter 7's
    ``serving.max_batch(..., activations=False, new_tokens=ANSWER_TOKENS)``."""
    from ..roofline import get_datasheet
    from ..serving import ANSWER_TOKENS, max_batch
    return max_batch(_lm(), tokens, get_datasheet("A100-40GB").memory_bytes, "fp16",
                     activations=False, new_tokens=ANSWER_TOKENS)


def _throughput_ratio() -> float:
    """Images per second, compressed (350 tokens) over concatenated (4,146), each at its largest
    batch (:func:`_batch_a100_40gb`), by chapter 7's roofline ``serving.serving_estimate`` on the
    A100-40GB datasheet in fp16 with ``serving.ANSWER_TOKENS`` generated tokens."""
    from ..roofline import get_datasheet
    from ..serving import ANSWER_TOKENS, serving_estimate
    a100 = get_datasheet("A100-40GB")
    rate = {n: serving_estimate(_lm(), n, ANSWER_TOKENS, _batch_a100_40gb(n), a100, 1.0, "fp16").images_per_s
            for n in (4146, 350)}
    return rate[350] / rate[4146]


CLAIMS: tuple[Claim, ...] = (
    # ---- chapter 5: alternatives ----------------------------------------------------------
    Claim("hf-dismissed-quote", 5, "quotation", "Quotes the HF blog: cross-attention was mostly "
          "dismissed because it adds many new parameters.", "verbatim quote", "holds", "The "
          "sentence is in the Hugging Face version of Gigant's post (fusion summary); the copies "
          "on the author's own site lack it.", _GIGANT,
          "gigant2024vlmdesign", value="present in the blog's fusion-strategy list"),
    Claim("hf-compression-framing", 5, "attribution", "Presents, inside the HF blog quote, the "
          "view that interleaved tokens win only once heavily compressed.", "after compression",
          "wrong", "The clause is the essay's; the blog's own table lists 8 of 10 models as "
          "interleaved, 5 of them with a projection that keeps every token.", _GIGANT,
          "gigant2024vlmdesign", value="8/10 interleaved; 6/10 plain projection"),
    Claim("crossattn-40x", 5, "number", "For 100 text and 4,096 visual tokens cross-attention is "
          "about 40x cheaper than self-attention.", 40, "roughly", "The full score-count ratio is 43x "
          "(21.5x against a causal kernel), and each cross-attention layer still projects all 4,096 "
          "visual tokens.",
          "https://arxiv.org/abs/2204.14198", "alayrac2022flamingo",
          compute=lambda: _pairs(4196) / (100 * 4096), unit="x"),
    Claim("crossattn-weights", 5, "thesis", "Cross-attention fell out of favour, partly because it "
          "makes pretrained LLM weights harder to use.", "harder", "wrong", "Flamingo and Llama 3.2 "
          "Vision keep the LM frozen and add gated cross-attention layers; Idefics2 preferred "
          "concatenation for quality once the LM is unfrozen.", "https://arxiv.org/abs/2405.02246",
          "laurencon2024idefics2", value="frozen LM reused as is"),
    Claim("qformer-32", 5, "model fact", "BLIP-2's Q-Former uses 32 learned queries (typically "
          "32-64).", 32, "holds", "BLIP-2 uses 32 queries; Flamingo's resampler 64 latents.",
          "https://arxiv.org/abs/2301.12597", "li2023blip2",
          compute=lambda: _tokens("blip-2", 224, 224), unit="tokens"),
    Claim("blip2-128x", 5, "number", "BLIP-2 compresses 4,096 visual tokens to 32, a 128x "
          "compression.", 128, "wrong", "BLIP-2's ViT-g/14 at 224 px gives 257 features "
          "(16 x 16 + CLS), so 32 queries compress about 8x.", "https://arxiv.org/abs/2301.12597",
          "li2023blip2", compute=lambda: _tokens("eva-vit-g-14", 224, 224) / 32, unit="x"),
    Claim("blip2-quote", 5, "quotation", "Quotes BLIP-2 on queries cross-attending to the frozen "
          "encoder and self-attending among themselves.", "verbatim quote", "roughly", "Right in "
          "substance (queries self-attend and cross-attend every other block), but not the paper's "
          "wording.", "https://arxiv.org/abs/2301.12597", "li2023blip2", value="paraphrase"),
    Claim("llava-mlp-compresses", 5, "model fact", "LLaVA's MLP projector compresses 4,096 "
          "encoder tokens to 576.", "4,096 -> 576", "wrong", "The projector maps each of the 576 "
          "CLIP patches from 1,024 to 4,096 channels; 4,096 is the LM width, not a token count.",
          "https://arxiv.org/abs/2310.03744", "liu2024llava15",
          compute=lambda: _tokens("llava-1.5", 336, 336), unit="tokens"),
    Claim("llava-quote-source", 5, "attribution", "Attributes a passage on LLaVA's projection to "
          "the LLaVA website.", "llava-vl.github.io", "wrong", "The passage is from Gigant's HF "
          "blog post, which describes LLaVA.", _GIGANT, "gigant2024vlmdesign",
          value="Gigant (2024), HF blog"),
    Claim("deepseek-16x", 5, "model fact", "DeepSeek-VL compresses SAM+CLIP features 16x, 4,096 "
          "to 256 tokens.", "DeepSeek-VL", "wrong", "16x and 256 are DeepSeek-OCR's (Oct 2025); "
          "DeepSeek-VL (2024) shrinks its SAM features about 7x, 4,096 to 576, fused channel-wise with 576 SigLIP ones.",
          "https://arxiv.org/abs/2510.18234", "wei2025deepseekocr",
          compute=_deepseek_ratios),
    Claim("ovis-dynamic", 5, "model fact", "Ovis allocates 64-400 tokens dynamically through a "
          "multi-embedding table.", "64-400", "wrong", "Ovis maps every patch to a probabilistic "
          "token over one visual embedding table; nothing in it allocates a budget by relevance.",
          "https://arxiv.org/abs/2405.20797", "lu2024ovis", value="one token per patch"),
    Claim("wico-quote", 5, "quotation", "Quotes the WiCo abstract on sliding-window concatenation "
          "of adjacent visual tokens.", "verbatim quote", "roughly", "The first two sentences are "
          "verbatim; the closing clause about spatial structure is the essay's.",
          "https://arxiv.org/abs/2504.04024", "li2025wico", value="first two sentences verbatim"),
    Claim("access-dates", 5, "attribution", "Gives 2025-01-31 as the access date of all sources, "
          "WiCo included.", "2025-01-31", "wrong", "WiCo was posted on 5 April 2025 and DeepSeek-"
          "OCR in October 2025, after the stated access date.", "https://arxiv.org/abs/2504.04024",
          "li2025wico", value="2025-04-05"),
    Claim("reduction-90-95", 5, "number", "Compressing 4,096 tokens to 256-576 is a 90-95% "
          "reduction.", "90-95 %", "roughly", "256 is 93.8%, 576 only 85.9%.",
          "https://arxiv.org/abs/2510.18234", "wei2025deepseekocr",
          compute=lambda: 1 - _tokens("llava-1.5", 336, 336) / _tokens("sam-vit-b-16", 1024, 1024),
          unit="share"),
    Claim("flamingo-64", 5, "model fact", "Flamingo's Perceiver Resampler outputs 64 tokens.", 64,
          "holds", "Flamingo resamples each image to 64 visual latents.",
          "https://arxiv.org/abs/2204.14198", "alayrac2022flamingo",
          compute=lambda: _tokens("flamingo", 320, 320), unit="tokens"),
    Claim("abstractors", 5, "model fact", "C-Abstractor and D-Abstractor pool visual tokens "
          "adaptively.", "C-/D-Abstractor", "holds", "Both are Honeybee's locality-aware projectors "
          "with a chosen output count.", "https://arxiv.org/abs/2312.06742", "cha2024honeybee",
          value="Honeybee (Cha et al., 2024)"),
    Claim("wico-pooling", 5, "model fact", "Lists WiCo among compression techniques as spatial "
          "pooling.", "spatial pooling", "wrong", "WiCo concatenates the tokens of each window along "
          "the channel axis and projects them with one linear layer; nothing is averaged.",
          "https://arxiv.org/abs/2504.04024", "li2025wico", value="channel concatenation + linear"),
    # ---- the central thesis: chapter 5 (compressors still concatenate) and chapter 1 (one
    # token per patch, counts far above 576); chapters 10 and 11 weigh it against DESIGNS ------
    Claim("thesis-rare", 5, "thesis", "Modern VLMs almost never concatenate visual and text "
          "tokens.", "rare",
          "wrong", "Almost every open VLM puts visual tokens into the LM's sequence; only "
          "cross-attention designs (Flamingo, Llama 3.2 Vision) do not.", _GIGANT,
          "gigant2024vlmdesign", compute=lambda: _share("in_sequence"), unit="share"),
    Claim("thesis-none-pure", 1, "thesis", "No successful VLM concatenates uncompressed tokens.",
          "none", "wrong", "LLaVA-1.5/NeXT, Ovis, Fuyu and Pixtral keep one token per "
          "patch; Pixtral feeds 4,160 tokens for a 1024 px image.", "https://arxiv.org/abs/2410.07073",
          "agrawal2024pixtral", compute=lambda: _tokens("pixtral-12b", 1024, 1024), unit="tokens"),
    Claim("consensus-64-576", 1, "number", "The 2024-25 consensus is 64-576 compact visual tokens "
          "per image.", "64-576", "wrong", "LLaVA-NeXT uses 2,928 at 672 px, Pixtral 4,160 at 1024 px, InternVL 1.5 "
          "3,328 with 12 tiles and a thumbnail (its training limit), 10,496 with 40 tiles at test.", "https://arxiv.org/abs/2404.16821",
          "chen2024internvl15", compute=lambda: _tokens("llava-next", 672, 672), unit="tokens"),
    # ---- chapter 6: counter-examples -------------------------------------------------------
    Claim("fuyu-no-encoder", 6, "model fact", "Fuyu has no vision encoder: patches are linearly "
          "projected into the LM.", "no encoder", "holds", "Adept's model card says so; patches "
          "enter the first decoder layer in raster order with newline tokens.",
          "https://www.adept.ai/blog/fuyu-8b", "bavishi2023fuyu", value="no image encoder"),
    Claim("fuyu-quote-source", 6, "attribution", "Attributes the sentence about handing raw patch "
          "embeddings to the LM to Adept's Fuyu blog.", "Adept blog", "wrong",
          "The sentence is Gigant's summary in the HF post; Adept's own words are 'easier to understand, scale, and deploy'.",
          _GIGANT, "gigant2024vlmdesign", value="Gigant (2024), HF blog"),
    Claim("fuyu-cost-quote", 6, "quotation", "Quotes the HF blog: Fuyu's training data and cost "
          "were not disclosed, probably far above LLaVA's.", "verbatim quote", "holds", "The "
          "passage is in Gigant's post, explicitly as a guess.", _GIGANT, "gigant2024vlmdesign",
          value="present, as speculation"),
    Claim("fuyu-massive-cost", 6, "thesis", "Fuyu was paid for with massive training costs.",
          "massive", "unsupported", "Adept disclosed neither data nor compute; the only source is "
          "the blog's guess.", "https://www.adept.ai/blog/fuyu-8b", "bavishi2023fuyu",
          value="not disclosed"),
    Claim("beit3-scratch", 6, "model fact", "BEiT-3 trains one model from scratch on images and "
          "text, with modality experts.", "from scratch", "holds", "BEiT-3's Multiway Transformer "
          "has vision, language and vision-language experts, pretrained from scratch.",
          "https://arxiv.org/abs/2208.10442", "wang2023beit3", value="Multiway Transformer"),
    Claim("beit3-tokens", 6, "thesis", "BEiT-3 does not solve the token-count problem and still "
          "needs compression.", "needs compression", "roughly", "It keeps one token per patch and no "
          "compressor, so the count stays; it is short only at 224-480 px: the 768-px VQA checkpoint takes 2,305 image tokens.",
          "https://arxiv.org/abs/2208.10442", "wang2023beit3",
          compute=lambda: _beit3_tokens(224), unit="tokens"),
    # ---- chapter 7: engineering pragmatism ------------------------------------------------
    Claim("ops-17.2m", 7, "number", "4,146 tokens need 4,146^2 = 17.2M x d operations per layer.",
          17.2e6, "holds", "4,146^2 = 17,189,316 pairs (each costs 4 x d FLOPs for QK and PV).",
          "https://arxiv.org/abs/1706.03762", "vaswani2017attention", compute=lambda: _pairs(4146),
          unit="pairs"),
    Claim("ops-206m", 7, "number", "Over 12 layers that is 206M x d.", 206e6, "holds", "12 x "
          "17.19M = 206.3M; note the memory section assumes a 32-layer model.",
          "https://arxiv.org/abs/1706.03762", "vaswani2017attention",
          compute=lambda: 12 * _pairs(4146), unit="pairs"),
    Claim("ops-122k", 7, "number", "Compressed, 350 tokens need 350^2 = 122K x d per layer.",
          122e3, "holds", "350^2 = 122,500; but 256 image plus 50 text tokens would be 306.",
          "https://arxiv.org/abs/1706.03762", "vaswani2017attention", compute=lambda: _pairs(350),
          unit="pairs"),
    Claim("ops-1.5m", 7, "number", "Over 12 layers that is 1.5M x d.", 1.5e6, "holds",
          "12 x 122,500 = 1.47M.", "https://arxiv.org/abs/1706.03762", "vaswani2017attention",
          compute=lambda: 12 * _pairs(350), unit="pairs"),
    Claim("attention-137x", 7, "number", "Compression gives a 137x speedup on attention alone.",
          137, "holds", "(4,146 / 350)^2 = 140x, within 3%; the 137 comes from dividing the rounded "
          "206M by 1.5M.",
          "https://arxiv.org/abs/1706.03762", "vaswani2017attention",
          compute=lambda: _pairs(4146) / _pairs(350), unit="x"),
    Claim("speedup-137x-total", 7, "number", "The summary presents 137x as the speedup of "
          "compress-then-concatenate.", 137, "wrong", "Projections and MLP are linear in n; a "
          "Llama-2-7B prefill of 4,146 tokens costs about 14x one of 350 tokens.",
          "https://arxiv.org/abs/2307.09288", "touvron2023llama2",
          compute=lambda: _prefill_ratio(4146, 350), unit="x"),
    Claim("kv-2.1gb", 7, "number", "A 7B model's fp16 KV cache for 4,146 tokens is 2.1 GB.",
          2.1e9, "holds", "32 x 4,096 x 2 x 2 bytes x 4,146 = 2.17e9 B (2.02 GiB), within 4% in "
          "either unit.",
          "https://arxiv.org/abs/2307.09288", "touvron2023llama2", compute=lambda: _kv(4146),
          unit="bytes"),
    Claim("kv-180mb", 7, "number", "For 350 tokens it is 180 MB.", 180e6, "holds",
          "350 x 524,288 B = 183.5 MB.", "https://arxiv.org/abs/2307.09288", "touvron2023llama2",
          compute=lambda: _kv(350), unit="bytes"),
    Claim("kv-12x", 7, "number", "Compression cuts the KV cache 12x.", 12, "holds",
          "4,146 / 350 = 11.8.", "https://arxiv.org/abs/2307.09288", "touvron2023llama2",
          compute=lambda: _kv(4146) / _kv(350), unit="x"),
    Claim("weights-14gb", 7, "number", "A 7B model takes 14 GB in fp16.", 14e9, "holds",
          "Llama-2-7B has 6.74B parameters: 13.5 GB.", "https://arxiv.org/abs/2307.09288",
          "touvron2023llama2", compute=lambda: _weights(), unit="bytes"),
    Claim("batch-8", 7, "number", "An A100-40GB fits a batch of about 8 concatenated 4,146-token "
          "requests.", 8, "wrong", "40 GiB less 13.5 GB of weights holds the KV cache of 13 such requests "
          "(prompt + 64 new tokens); 8 needs per-request memory the essay never states.",
          "https://arxiv.org/abs/2307.09288", "touvron2023llama2",
          compute=lambda: _batch_a100_40gb(4146), unit="sequences"),
    Claim("batch-96", 7, "number", "It fits about 96 compressed 350-token requests.", 96,
          "wrong", "At 217 MB of cache per request (prompt + 64 new tokens) the 29.5 GB left "
          "beside the weights hold 135; 96 needs unstated extra memory per request.",
          "https://arxiv.org/abs/2307.09288", "touvron2023llama2",
          compute=lambda: _batch_a100_40gb(350), unit="sequences"),
    Claim("throughput-12x", 7, "number", "Hence 12x higher throughput for compression.", 12,
          "holds", "At full batches (13 and 135) chapter 7's A100 roofline serves about 12x more "
          "images per second; one request at a time the gain is only 1.4x.",
          "https://arxiv.org/abs/2211.05102", "pope2023inference", compute=lambda: _throughput_ratio(),
          unit="x"),
    # ---- chapter 8: granularity -----------------------------------------------------------
    Claim("granularity-quote", 8, "attribution", "Quotes the HF blog that vision and audio are "
          "fine-grained while text is coarse (the guitar example).", "HF blog", "roughly", "The "
          "guitar sentence is Alayrac et al. (2020), which Gigant quotes; the essay merges both.",
          "https://arxiv.org/abs/2006.16228", "alayrac2020mmv", value="Alayrac et al. (2020)"),
    Claim("granularity-varies", 8, "thesis", "Visual tokens differ in granularity (documents vs "
          "photos), as text tokens do.", "varies", "holds", "Gigant makes this argument, citing "
          "Mixture-of-Depths; chapter 8 measures patch redundancy.", _GIGANT,
          "gigant2024vlmdesign", value="argued in the blog"),
    Claim("uniform-processing", 8, "thesis", "Concatenation forces uniform processing; only "
          "compression allows variable importance.", "uniform", "roughly", "Attention already "
          "weighs concatenated tokens unequally, and token pruning works inside the LM.",
          "https://arxiv.org/abs/2410.14072", "wen2024victor", value="attention is non-uniform"),
    # ---- chapter 9: future ----------------------------------------------------------------
    Claim("ssm-linear", 9, "model fact", "State-space models such as Mamba and RWKV scale "
          "linearly in sequence length.", "O(n)", "roughly", "Both are linear in n, run as recurrences with a constant "
          "state; but RWKV is a linear-attention RNN, not a state-space model.",
          "https://arxiv.org/abs/2312.00752", "gu2023mamba", value="O(n); RWKV is not an SSM"),
    Claim("bitter-lesson-quote", 9, "attribution", "Attributes the sentence calling today's alignment "
          "and token-budget tricks temporary solutions to Sutton.", "Sutton",
          "wrong", "The sentence is Gigant's, in the HF post's closing section, which links to "
          "Sutton's essay.", _GIGANT, "gigant2024vlmdesign", value="Gigant (2024), HF blog"),
    Claim("fuyu-mod-quote", 9, "quotation", "Quotes the HF blog: end-to-end models, Fuyu-MoD-style "
          "with infinite context.", "verbatim quote", "holds", "In the post's final version (the "
          "first said 'Fuyu-style').", _GIGANT, "gigant2024vlmdesign", value="present"),
    Claim("quadratic-kills", 9, "thesis", "Even with infinite context, quadratic cost rules "
          "concatenation out.", "rules out", "wrong", "The source the essay cites cuts vision-vision attention and "
          "makes the cost linear in the images; linear attention and SSM mixers are linear too.",
          "https://arxiv.org/abs/2410.06169", "pham2024quadratic", value="linear variants exist"),
)
