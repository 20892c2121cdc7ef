"""The essay's claims shown in chapters 1-4: token counts, quadratic attention, context windows,
memory bandwidth. Each claim is data; ``compute`` recomputes the number with vlmlab (imported
lazily, so importing this module stays cheap). Used by chapter 10 through :mod:`.records`.
"""
from __future__ import annotations

from .records import Claim

_HF_LLAVA_NEXT = ("https://github.com/huggingface/transformers/blob/main/src/transformers/"
                  "models/llava_next/processing_llava_next.py")
_SO = "https://stackoverflow.com/questions/78602027/"
_MEDIUM = "https://medium.com/@jakubstrawadev/faster-transformers-flash-attention-s-cf0debfeee25"


def _tokens(model: str, height: int, width: int) -> int:
    from ..tokens import visual_tokens
    return visual_tokens(model, height, width)


def _lm(name: str = "llama-2-7b"):
    from ..models import get_lm
    return get_lm(name)


def _score_ratio(n_big: int, n_small: int) -> float:
    """How many times more query-key scores an n_big-token sequence needs than an n_small one."""
    from ..cost import attention_score_flops
    return attention_score_flops(n_big, n_big, 1, 1) / attention_score_flops(n_small, n_small, 1, 1)


def _window(model: str) -> int:
    from ..context_windows import CONTEXT_WINDOWS
    return next(r.tokens for r in CONTEXT_WINDOWS if r.model == model)


def _windows_since(year: str) -> list[int]:
    from ..context_windows import CONTEXT_WINDOWS
    return [r.tokens for r in CONTEXT_WINDOWS if r.released >= year]


def _left(window: int, tokens_per_image: int) -> int:
    from ..budget import text_tokens_left
    return text_tokens_left(window, 1, tokens_per_image)


def _turns(window: int, image_tokens: int, per_turn: int) -> int:
    from ..budget import dialogue_turns
    return dialogue_turns(window, image_tokens, per_turn)


def _kv(tokens: int) -> int:
    from ..cost import kv_cache_bytes
    return kv_cache_bytes(_lm(), tokens, dtype="fp16")


CLAIMS: tuple[Claim, ...] = (
    # ---- chapter 1: memory explosion ------------------------------------------------------
    Claim("vit-l-336-tokens", 1, "number", "A ViT-L/14 at 336 px yields 576 visual tokens per image.",
          576, "holds", "A 336 px image cut into 14 px patches is a 24 x 24 grid; LLaVA-1.5 feeds "
          "exactly these 576 patch features to its LM.", "https://arxiv.org/abs/2310.03744",
          "liu2024llava15", compute=lambda: _tokens("llava-1.5", 336, 336), unit="tokens"),
    Claim("highres-1024-tokens", 1, "number", "A high-resolution encoder at 1024 px yields 4,096 "
          "tokens per image.", 4096, "holds", "True for 16 px patches (SAM ViT-B/16, Pixtral): "
          "64 x 64 patches; a 14 px-patch encoder would give 73 x 73 = 5,329.",
          "https://arxiv.org/abs/2304.02643", "kirillov2023sam",
          compute=lambda: _tokens("sam-vit-b-16", 1024, 1024), unit="tokens"),
    Claim("text-query-tokens", 1, "number", "A typical text query is 10-50 tokens.", "10-50",
          "unsupported", "No source is given; the Victor paper only says that visual tokens are "
          "usually far more numerous than prompt tokens.", "https://arxiv.org/abs/2410.14072",
          "wen2024victor", value="no measured distribution cited"),
    Claim("context-range", 1, "number", "LLM context windows span about 2k to 128k tokens.",
          "2,048-128,000", "roughly", "The low end (GPT-3, LLaMA) is right, but by 2024 Claude "
          "offered 200k and Gemini 1.5 Pro 1M-2M tokens.", "https://arxiv.org/abs/2403.05530",
          "reid2024gemini15", compute=lambda: max(_windows_since("2020")), unit="tokens"),
    Claim("ten-images-sequence", 1, "number", "Ten 1024 px images plus a 500-token dialogue make "
          "a 41,460-token sequence.", 41460, "holds", "Arithmetic is right: 10 x 4,096 + 500.",
          "https://arxiv.org/abs/2304.02643", "kirillov2023sam",
          compute=lambda: 10 * _tokens("sam-vit-b-16", 1024, 1024) + 500, unit="tokens"),
    Claim("exceeds-most-windows", 1, "thesis", "Such a sequence overflows most LLM windows "
          "before the conversation starts.", "most", "roughly", "It overflows the 4k-32k windows "
          "of the open LMs that 2023-24 VLMs were built on, but fewer than half of the windows "
          "released in 2024 (128k-2M).", "https://arxiv.org/abs/2403.05530", "reid2024gemini15",
          compute=lambda: sum(w < 41460 for w in _windows_since("2024")) / len(_windows_since("2024")),
          unit="share"),
    Claim("llava-next-672-tokens", 1, "number", "LLaVA-NeXT turns a 672x672 image into 2,880 "
          "visual tokens.", 2880, "roughly", "2,880 is 5 x 576 (base view plus four tiles); the "
          "reference processor also adds one newline token per feature row, 2,928 in all.",
          _HF_LLAVA_NEXT, "liu2024llavanext", compute=lambda: _tokens("llava-next", 672, 672),
          unit="tokens"),
    Claim("victor-quote", 1, "quotation", "Quotes arXiv 2410.14072 on quadratic cost and on "
          "LLaVA-NeXT's 2,880 tokens at 672x672.", "verbatim quote", "unsupported", "Neither "
          "sentence was found in the paper's abstract or the text searched here; the paper frames "
          "the problem as visual tokens outnumbering prompt tokens.",
          "https://arxiv.org/abs/2410.14072", "wen2024victor", value="not found in the paper"),
    Claim("victor-title", 1, "attribution", "Cites arXiv 2410.14072 under a shortened title "
          "that stops at 'Visual Tokens'.", "short title", "roughly", "The title continues "
          "'into Compact Registers' (Wen, Cao, Fu, Mehta, Najibi, 2024); the method is Victor.",
          "https://arxiv.org/abs/2410.14072", "wen2024victor",
          value="Efficient Vision-Language Models by Summarizing Visual Tokens into Compact Registers"),
    # ---- chapter 2: quadratic attention ---------------------------------------------------
    Claim("attention-6876x", 2, "number", "Adding 4,096 visual tokens to a 50-token query makes "
          "attention 6,876 times more work.", 6876, "holds", "(4,146 / 50)^2 = 6,876 for the score "
          "matrix; the whole forward pass grows far less because projections and MLP are linear in n.",
          "https://arxiv.org/abs/1706.03762", "vaswani2017attention",
          compute=lambda: _score_ratio(4146, 50), unit="x"),
    Claim("attention-complexity", 2, "number", "Self-attention costs O(n^2 d) compute and O(n^2) "
          "memory.", "O(n^2 d), O(n^2)", "roughly", "Compute is quadratic, but FlashAttention "
          "never stores the n x n matrix, so memory is linear in n.",
          "https://arxiv.org/abs/2205.14135", "dao2022flashattention",
          value="O(n^2 d) FLOPs; O(n) extra memory with FlashAttention"),
    Claim("quadratic-quote", 2, "quotation", "Quotes arXiv 2410.06169: cutting visual-visual "
          "attention makes cost linear in the number of images.", "verbatim quote", "roughly",
          "The paper does prune vision-related computation so that cost grows linearly, but with "
          "the number of visual tokens; the quoted sentence is not in its abstract.",
          "https://arxiv.org/abs/2410.06169", "pham2024quadratic",
          value="linear in visual tokens after pruning (v1 abstract)"),
    Claim("video-40960", 2, "number", "Ten 1 fps frames at 4,096 tokens each give 40,960 visual "
          "tokens.", 40960, "holds", "Arithmetic is right; real video VLMs pool or merge frames "
          "(Qwen2-VL merges pairs of frames).", "https://arxiv.org/abs/2409.12191",
          "wang2024qwen2vl", compute=lambda: 10 * _tokens("sam-vit-b-16", 1024, 1024),
          unit="tokens"),
    Claim("video-1.68e9", 2, "number", "A 41,000-token sequence costs 41,000^2 = 1.68 billion "
          "attention operations per layer.", 1.68e9, "holds", "41,000^2 = 1.681e9 query-key pairs "
          "per head and layer; in FLOPs multiply by 4 x d_model.", "https://arxiv.org/abs/1706.03762",
          "vaswani2017attention", compute=lambda: _score_ratio(41000, 1), unit="pairs"),
    # ---- chapter 3: context windows -------------------------------------------------------
    Claim("window-gpt35", 3, "number", "GPT-3.5 has a 4,096-token window.", 4096, "wrong",
          "Out of date for the 2024-25 period the list claims: from February 2024 the "
          "gpt-3.5-turbo alias serves -0125 with 16,385 tokens; 4,096 was the 2023 default.",
          "https://openai.com/index/new-embedding-models-and-api-updates/", "openai2024apiupdates",
          compute=lambda: _window("GPT-3.5-turbo (0125)"), unit="tokens"),
    Claim("window-gpt4", 3, "number", "GPT-4 has 8,192 to 128,000 tokens depending on variant.",
          "8,192-128,000", "holds", "GPT-4 8k and 32k (2023), GPT-4 Turbo 128k (Nov 2023).",
          "https://platform.openai.com/docs/models", "openai2023gpt4",
          compute=lambda: _window("GPT-4 Turbo"), unit="tokens"),
    Claim("window-llama2", 3, "number", "LLaMA 2 has a 4,096-token window.", 4096, "holds",
          "All Llama 2 sizes were trained with 4,096 positions.", "https://arxiv.org/abs/2307.09288",
          "touvron2023llama2", compute=lambda: _window("Llama 2"), unit="tokens"),
    Claim("window-llama3", 3, "number", "LLaMA 3 has 8,192 to 128,000 tokens.", "8,192-128,000",
          "holds", "Llama 3 (Apr 2024) has 8,192; Llama 3.1 (Jul 2024) 131,072, announced as 128K.",
          "https://arxiv.org/abs/2407.21783", "dubey2024llama3",
          compute=lambda: _window("Llama 3.1"), unit="tokens"),
    Claim("window-claude", 3, "number", "Claude's 200,000 tokens are a rare exception.", 200000,
          "roughly", "Claude 2.1 and Claude 3 do have 200k, but Gemini 1.5 Pro had 1M-2M in 2024, "
          "so 200k was neither the largest nor rare.", "https://www.anthropic.com/news/claude-2-1",
          "anthropic2023claude21", compute=lambda: _window("Claude 2.1"), unit="tokens"),
    Claim("stackoverflow-quote", 3, "attribution", "Uses a Stack Overflow error message as "
          "evidence that visual tokens overflow context windows.", "visual tokens", "wrong",
          "The quoted error is about retrieving top_k = 3 documents into an 8,192-token prompt "
          "(RAG); no image is involved.", _SO, "openai2023gpt4",
          value="a RAG prompt over GPT-4's 8,192-token limit"),
    Claim("option-a-left", 3, "number", "A 4,096-token image in an 8k window leaves about 4,000 "
          "tokens of text.", 4000, "holds", "8,192 - 4,096 = 4,096 tokens.",
          "https://arxiv.org/abs/2307.09288", "touvron2023llama2",
          compute=lambda: _left(8192, 4096), unit="tokens"),
    Claim("option-b-left", 3, "number", "Compressing the image to 256 tokens leaves about 7,800.",
          7800, "holds", "8,192 - 256 = 7,936 tokens.", "https://arxiv.org/abs/2307.09288",
          "touvron2023llama2", compute=lambda: _left(8192, 256), unit="tokens"),
    Claim("option-a-turns", 3, "number", "With 4,096 tokens left the conversation dies after 2-3 "
          "turns.", "2-3", "unsupported", "Only if each turn takes 1,025-2,048 tokens; with "
          "200-token turns 20 fit.", "https://arxiv.org/abs/2307.09288", "touvron2023llama2",
          compute=lambda: _turns(8192, 4096, 200), unit="turns"),
    # ---- chapter 4: memory bandwidth ------------------------------------------------------
    Claim("medium-quote", 4, "quotation", "Quotes a Medium post: memory bandwidth is often a worse "
          "bottleneck than FLOPs.", "verbatim quote", "unsupported", "The post could not be "
          "retrieved; the idea itself is FlashAttention's IO argument, its primary source.",
          _MEDIUM, "dao2022flashattention", value="not verified; see Dao et al. 2022"),
    Claim("kv-not-in-sram", 4, "thesis", "Beyond ~4,000 tokens the KV cache no longer fits in "
          "fast SRAM.", "4,000+ tokens", "roughly", "True, but an A100 has about 20 MB of SRAM, so "
          "even a 350-token Llama-2-7B cache (183 MB) does not fit; it is not a concatenation effect.",
          "https://arxiv.org/abs/2205.14135", "dao2022flashattention",
          compute=lambda: _kv(350), unit="bytes"),
    Claim("memory-bound", 4, "thesis", "Long sequences make attention memory-bound rather than "
          "compute-bound.", "memory-bound", "roughly", "Decoding is memory-bound at any length; "
          "prefilling thousands of image tokens is compute-bound.",
          "https://arxiv.org/abs/2211.05102", "pope2023inference",
          value="decode: memory-bound; prefill: compute-bound"),
)
