"""What decides the numeric claims: small functions that recompute a number with vlmlab.

Every function imports the vlmlab module it needs when called, so importing the claims stays cheap
(no torch, no pandas). The topic modules (:mod:`.token_counts`, :mod:`.attention_cost`,
:mod:`.context_windows`, :mod:`.memory`, :mod:`.designs`, :mod:`.sources`) call them from their
``compute=`` lambdas; this module imports none of them (no import cycle).
"""
from __future__ import annotations

HF_LLAVA_NEXT = ("https://github.com/huggingface/transformers/blob/main/src/transformers/"
                 "models/llava_next/processing_llava_next.py")
STACK_OVERFLOW = "https://stackoverflow.com/questions/78602027/"
MEDIUM = "https://medium.com/@jakubstrawadev/faster-transformers-flash-attention-s-cf0debfeee25"
GIGANT = "https://huggingface.co/blog/gigant/vlm-design"


def tokens(model: str, height: int, width: int) -> int:
    from ..tokens import visual_tokens
    return visual_tokens(model, height, width)


def lm(name: str = "llama-2-7b"):
    from ..models import get_lm
    return get_lm(name)


def score_ratio(n_big: int, n_small: int) -> float:
    """How many times more query-key scores an n_big-token sequence needs than an n_small one."""
    from ..cost import attention_score_flops
    return attention_score_flops(n_big, n_big, 1, 1) / attention_score_flops(n_small, n_small, 1, 1)


def pairs(n: int) -> int:
    """Query-key pairs of one head of one layer, via vlmlab.cost (4 FLOPs per pair and dim)."""
    from ..cost import attention_score_flops
    return attention_score_flops(n, n, 1, 1) // 4


def prefill_ratio(n_big: int, n_small: int) -> float:
    from ..cost import model_prefill_flops
    return model_prefill_flops(lm(), n_big).total / model_prefill_flops(lm(), n_small).total


def window(model: str) -> int:
    from ..context_windows import CONTEXT_WINDOWS
    return next(r.tokens for r in CONTEXT_WINDOWS if r.model == model)


def windows_since(year: str) -> list[int]:
    from ..context_windows import CONTEXT_WINDOWS
    return [r.tokens for r in CONTEXT_WINDOWS if r.released >= year]


def left(window: int, tokens_per_image: int) -> int:
    from ..budget import text_tokens_left
    return text_tokens_left(window, 1, tokens_per_image)


def turns(window: int, image_tokens: int, per_turn: int) -> int:
    from ..budget import dialogue_turns
    return dialogue_turns(window, image_tokens, per_turn)


def kv(tokens: int, batch: int = 1) -> int:
    """LLaMA-2-7B's fp16 KV cache for ``tokens`` tokens and ``batch`` sequences."""
    from ..cost import kv_cache_bytes
    return kv_cache_bytes(lm(), tokens, batch=batch, dtype="fp16")


def weights() -> int:
    from ..cost import weight_bytes
    return weight_bytes(lm(), "fp16")


def beit3_tokens(side_px: int) -> int:
    """BEiT-3 (giant) image tokens: 14-px patches, no compression (wang2023beit3, Table 2)."""
    from ..tokens.grid import patch_grid
    rows, cols = patch_grid(side_px, side_px, 14)
    return rows * cols


def deepseek_ratios() -> str:
    """Whose the 16x is: DeepSeek-OCR's 4,096 SAM tokens -> 256; DeepSeek-VL's 4,096 -> 576
    (SAM map resized to 96 x 96, two stride-2 convs; lu2024deepseekvl, wei2025deepseekocr)."""
    sam, ocr, dsvl = tokens("sam-vit-b-16", 1024, 1024), 256, (96 // 4) ** 2
    return f"16× is DeepSeek-OCR's ({sam:,} → {ocr}); DeepSeek-VL: {sam:,} → {dsvl} ({sam / dsvl:.1f}×)"


def batch_a100_40gb(tokens: int) -> int:
    """Requests whose fp16 KV cache (prompt + ``serving.ANSWER_TOKENS``) fits beside the fp16
    weights in an A100-40GB's 40 GiB (``roofline`` datasheet), no activations: chapter 7's
    ``serving.max_batch(..., activations=False, new_tokens=ANSWER_TOKENS)``."""
    from ..roofline import get_datasheet
    from ..serving import ANSWER_TOKENS, max_batch
    return max_batch(lm(), tokens, get_datasheet("A100-40GB").memory_bytes, "fp16",
                     activations=False, new_tokens=ANSWER_TOKENS)


def engine_batch_a100_40gb(tokens: int) -> int:
    """Requests a vLLM-style engine runs at once on an A100-40GB (fp16 Llama-2-7B, prompt +
    ``serving.ANSWER_TOKENS``): 0.9 of the memory, less the weights and the profiled activation
    peak of a 2,048-token prefill chunk, in 16-token blocks (:func:`vlmlab.engine.engine_batch`)."""
    from ..engine import engine_batch
    from ..roofline import get_datasheet
    from ..serving import ANSWER_TOKENS
    return engine_batch(lm(), tokens, get_datasheet("A100-40GB").memory_bytes, "fp16",
                        new_tokens=ANSWER_TOKENS)


def throughput_ratio(batch=None) -> float:
    """Images per second, compressed (350 tokens) over concatenated (4,146), each at the batch
    ``batch(n)`` (default: what an engine admits, :func:`engine_batch_a100_40gb`; chapter 7 also
    shows the upper bound, :func:`batch_a100_40gb`), by chapter 7's roofline
    ``serving.serving_estimate`` on the A100-40GB datasheet in fp16 with ``serving.ANSWER_TOKENS``."""
    from ..roofline import get_datasheet
    from ..serving import ANSWER_TOKENS, serving_estimate
    batch = batch or engine_batch_a100_40gb
    a100 = get_datasheet("A100-40GB")
    rate = {n: serving_estimate(lm(), n, ANSWER_TOKENS, batch(n), a100, 1.0, "fp16").images_per_s
            for n in (4146, 350)}
    return rate[350] / rate[4146]


def crossover(name: str = "llama-2-7b") -> int:
    """Sequence length beyond which the full score matrix costs more FLOPs than the rest of a
    layer (:func:`vlmlab.cost.attention_crossover_tokens`)."""
    from ..cost import attention_crossover_tokens
    return attention_crossover_tokens(lm(name))


def window_range(since: str = "2020") -> tuple[int, int]:
    """Smallest and largest context window released since ``since`` (``vlmlab.context_windows``)."""
    w = windows_since(since)
    return min(w), max(w)


def reduction_range() -> tuple[float, float]:
    """Share of 4,096 SAM tokens removed by compressing to 576 and to 256 tokens."""
    big = tokens("sam-vit-b-16", 1024, 1024)
    return 1 - tokens("llava-1.5", 336, 336) / big, 1 - 256 / big
