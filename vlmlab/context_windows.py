"""Context windows of real language models, with release dates and where each number is published.

One row per (model, window) step: when a model's window grew (GPT-3.5-turbo 4k -> 16k, Gemini
1.5 Pro 1M -> 2M), each step is its own row with its own date. ``checked`` says how each number
was checked for this book: ``'primary'`` means the vendor's own page or paper (``source``) was
read; ``'secondary'`` means the vendor page could not be read here and the number agrees across
independent secondary pages that quote it (treat with care). Used by chapter 3 (and chapter 1's
context-window lines). Pure Python: no torch import.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ContextWindow:
    """One model's maximum context (prompt + completion) in tokens, from ``released`` (YYYY-MM)."""

    model: str
    vendor: str
    tokens: int
    released: str
    source: str
    cite: str = ""
    open_weights: bool = False
    checked: str = "primary"
    note: str = ""


_OAI_MODELS = "https://platform.openai.com/docs/models"

#: Rows in release order. ``tokens`` is the window the vendor documents for that model/version.
CONTEXT_WINDOWS: tuple[ContextWindow, ...] = (
    ContextWindow("GPT-3", "OpenAI", 2048, "2020-05", "https://arxiv.org/abs/2005.14165",
                  note="n_ctx = 2048 tokens for all GPT-3 sizes (paper, Sec. 2.1)"),
    ContextWindow("LLaMA", "Meta", 2048, "2023-02", "https://arxiv.org/abs/2302.13971",
                  open_weights=True, note="LLaMA-1; LLaMA-2 doubled it"),
    ContextWindow("GPT-3.5-turbo", "OpenAI", 4096, "2023-03", _OAI_MODELS, checked="secondary",
                  note="OpenAI's model list printed 4,097 for early snapshots, 4,096 later"),
    ContextWindow("GPT-4", "OpenAI", 8192, "2023-03", _OAI_MODELS, cite="openai2023gpt4",
                  checked="secondary", note="OpenAI help centre rounds it to '8,000 tokens'"),
    ContextWindow("GPT-4-32k", "OpenAI", 32768, "2023-03", _OAI_MODELS, cite="openai2023gpt4",
                  checked="secondary", note="rolled out separately from the 8k model"),
    ContextWindow("Claude (100K)", "Anthropic", 100_000, "2023-05",
                  "https://www.anthropic.com/news/100k-context-windows", checked="secondary",
                  note="Claude 1 went from 9K to 100K tokens"),
    ContextWindow("GPT-3.5-turbo-16k", "OpenAI", 16385, "2023-06",
                  "https://openai.com/index/function-calling-and-other-api-updates/",
                  cite="openai2023functioncalling", checked="secondary",
                  note="a separate model name; announced as '16k', the model list gives 16,385"),
    ContextWindow("Llama 2", "Meta", 4096, "2023-07", "https://arxiv.org/abs/2307.09288",
                  cite="touvron2023llama2", open_weights=True, note="all sizes (7B, 13B, 70B)"),
    ContextWindow("Claude 2", "Anthropic", 100_000, "2023-07",
                  "https://www.anthropic.com/news/claude-2", checked="secondary"),
    ContextWindow("Mistral 7B", "Mistral AI", 8192, "2023-09", "https://arxiv.org/abs/2310.06825",
                  cite="jiang2023mistral", open_weights=True,
                  note="paper's context_len; sliding-window attention over 4,096 tokens per layer"),
    ContextWindow("GPT-4 Turbo", "OpenAI", 128_000, "2023-11",
                  "https://openai.com/index/new-models-and-developer-products-announced-at-devday/",
                  checked="secondary", note="DevDay, 6 Nov 2023"),
    ContextWindow("GPT-3.5-turbo (1106)", "OpenAI", 16385, "2023-11", _OAI_MODELS,
                  checked="secondary",
                  note="a pinned snapshot; the gpt-3.5-turbo alias still served -0613 (4,096)"),
    ContextWindow("Claude 2.1", "Anthropic", 200_000, "2023-11",
                  "https://www.anthropic.com/news/claude-2-1"),
    ContextWindow("Gemini 1.5 Pro (1M)", "Google", 1_000_000, "2024-02",
                  "https://blog.google/technology/ai/google-gemini-next-generation-model-february-2024/",
                  checked="secondary", note="128k standard; 1M in preview at launch"),
    ContextWindow("GPT-3.5-turbo (0125)", "OpenAI", 16385, "2024-02",
                  "https://openai.com/index/new-embedding-models-and-api-updates/",
                  cite="openai2024apiupdates", checked="secondary",
                  note="announced 25 Jan 2024; the gpt-3.5-turbo alias moved to it two weeks later"),
    ContextWindow("Claude 3", "Anthropic", 200_000, "2024-03",
                  "https://www.anthropic.com/news/claude-3-family", checked="secondary",
                  note="Haiku, Sonnet and Opus alike"),
    ContextWindow("Llama 3", "Meta", 8192, "2024-04",
                  "https://huggingface.co/meta-llama/Meta-Llama-3-8B/blob/main/config.json",
                  cite="dubey2024llama3", open_weights=True),
    ContextWindow("GPT-4o", "OpenAI", 128_000, "2024-05", _OAI_MODELS, checked="secondary"),
    ContextWindow("Qwen2-7B", "Alibaba", 32768, "2024-06", "https://qwenlm.github.io/blog/qwen2/",
                  cite="yang2024qwen2", open_weights=True, checked="secondary",
                  note="base models 32k; Qwen2-7B/72B-Instruct reach 128k with YaRN"),
    ContextWindow("Gemini 1.5 Pro (2M)", "Google", 2_000_000, "2024-06",
                  "https://ai.google.dev/gemini-api/docs/long-context", checked="secondary",
                  note="announced at I/O in May 2024, opened to all developers in June"),
    ContextWindow("Llama 3.1", "Meta", 131_072, "2024-07",
                  "https://huggingface.co/meta-llama/Llama-3.1-8B/blob/main/config.json",
                  cite="dubey2024llama3", open_weights=True, note="'128K' in Meta's announcement"),
)


def list_context_windows(open_weights: bool | None = None) -> list[ContextWindow]:
    """The rows of :data:`CONTEXT_WINDOWS`, optionally only open-weight (True) or API (False) models.

    Used by chapter 3's table and timeline.
    """
    if not (open_weights is None or isinstance(open_weights, bool)):
        raise ValueError(f"open_weights must be None, True or False, got {open_weights!r}")
    return [r for r in CONTEXT_WINDOWS if open_weights is None or r.open_weights == open_weights]
