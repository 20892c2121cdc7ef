"""Context windows and what an image leaves of them (chapters 1, 3).

Each claim is data (:class:`.records.Claim`); ``compute`` recomputes its number with vlmlab through
:mod:`.recompute` (imported lazily, so importing this module stays cheap). Collected by :mod:`.ledger`.
"""
from __future__ import annotations

from . import recompute as r
from .records import Claim

CLAIMS: tuple[Claim, ...] = (
    Claim("context-range", 1, "number", "LLM context windows span about 2k to 128k tokens.",
          "2,048-128,000", "wrong", "The low end (GPT-3, LLaMA) is right, but by 2024 Claude "
          "offered 200k and Gemini 1.5 Pro 2M tokens, 16 times the stated top.",
          "https://arxiv.org/abs/2403.05530", "reid2024gemini15", compute=r.window_range,
          unit="tokens"),
    Claim("exceeds-most-windows", 1, "thesis", "Such a sequence overflows most LLM windows "
          "before the conversation starts.", "most", "wrong", "It overflows the 4k-32k windows of "
          "the open LMs that 2023-24 VLMs were built on, but only 3 of the 8 windows released in "
          "2024.", "https://arxiv.org/abs/2403.05530", "reid2024gemini15",
          compute=lambda: sum(w < 41460 for w in r.windows_since("2024")) / len(r.windows_since("2024")),
          unit="share", rule="'Most' means more than half of the windows released in 2024, the "
          "essay's present; it holds for the 41,460-token sequence only if the share is above 50 %."),
    Claim("window-gpt35", 3, "number", "GPT-3.5 has a 4,096-token window.", 4096, "wrong",
          "Out of date for the 2024-25 period the list claims: from February 2024 the "
          "gpt-3.5-turbo alias serves -0125 with 16,385 tokens; 4,096 was the 2023 default.",
          "https://openai.com/index/new-embedding-models-and-api-updates/", "openai2024apiupdates",
          compute=lambda: r.window("GPT-3.5-turbo (0125)"), unit="tokens"),
    Claim("window-gpt4", 3, "number", "GPT-4 has 8,192 to 128,000 tokens depending on variant.",
          "8,192-128,000", "holds", "GPT-4 8k and 32k (2023), GPT-4 Turbo 128k (Nov 2023).",
          "https://platform.openai.com/docs/models", "openai2023gpt4",
          compute=lambda: r.window("GPT-4 Turbo"), unit="tokens"),
    Claim("window-llama2", 3, "number", "LLaMA 2 has a 4,096-token window.", 4096, "holds",
          "All Llama 2 sizes were trained with 4,096 positions.", "https://arxiv.org/abs/2307.09288",
          "touvron2023llama2", compute=lambda: r.window("Llama 2"), unit="tokens"),
    Claim("window-llama3", 3, "number", "LLaMA 3 has 8,192 to 128,000 tokens.", "8,192-128,000",
          "holds", "Llama 3 (Apr 2024) has 8,192; Llama 3.1 (Jul 2024) 131,072, announced as 128K.",
          "https://arxiv.org/abs/2407.21783", "dubey2024llama3",
          compute=lambda: r.window("Llama 3.1"), unit="tokens"),
    Claim("window-claude", 3, "number", "Claude's 200,000 tokens are a rare exception.", 200000,
          "holds", "Claude 2.1 and Claude 3 do have 200k; calling it a rare exception does not hold: "
          "Gemini 1.5 Pro had 1M-2M in 2024.", "https://www.anthropic.com/news/claude-2-1",
          "anthropic2023claude21", compute=lambda: r.window("Claude 2.1"), unit="tokens"),
    Claim("option-a-left", 3, "number", "A 4,096-token image in an 8k window leaves about 4,000 "
          "tokens of text.", 4000, "holds", "8,192 - 4,096 = 4,096 tokens.",
          "https://arxiv.org/abs/2307.09288", "touvron2023llama2",
          compute=lambda: r.left(8192, 4096), unit="tokens"),
    Claim("option-b-left", 3, "number", "Compressing the image to 256 tokens leaves about 7,800.",
          7800, "holds", "8,192 - 256 = 7,936 tokens.", "https://arxiv.org/abs/2307.09288",
          "touvron2023llama2", compute=lambda: r.left(8192, 256), unit="tokens"),
    Claim("option-a-turns", 3, "number", "With 4,096 tokens left the conversation dies after 2-3 "
          "turns.", "2-3", "wrong", "Only if each turn takes 1,025-2,048 tokens; with "
          "200-token turns 20 fit in the 4,096 tokens left.", "https://arxiv.org/abs/2307.09288", "touvron2023llama2",
          compute=lambda: r.turns(8192, 4096, 200), unit="turns"),
)
