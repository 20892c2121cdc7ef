"""What attention and the whole forward pass cost as sequences grow (chapters 2, 5, 7, 9).

Each claim is data (:class:`.records.Claim`); ``compute`` recomputes its number with vlmlab through
:mod:`.recompute` (imported lazily, so importing this module stays cheap). Collected by :mod:`.ledger`.
"""
from __future__ import annotations

from . import recompute as r
from .records import Claim

CLAIMS: tuple[Claim, ...] = (
    Claim("attention-6876x", 2, "number", "Adding 4,096 visual tokens to a 50-token query makes "
          "attention 6,876 times more work.", 6876, "holds", "(4,146 / 50)^2 = 6,876 for the score "
          "matrix; the whole forward pass grows far less because projections and MLP are linear in n.",
          "https://arxiv.org/abs/1706.03762", "vaswani2017attention",
          compute=lambda: r.score_ratio(4146, 50), unit="x"),
    Claim("attention-complexity", 2, "number", "Self-attention costs O(n^2 d) compute and O(n^2) "
          "memory.", "O(n^2 d), O(n^2)", "roughly", "Compute is quadratic, but FlashAttention "
          "never stores the n x n matrix, so memory is linear in n.",
          "https://arxiv.org/abs/2205.14135", "dao2022flashattention",
          value="O(n^2 d) FLOPs; O(n) extra memory with FlashAttention",
          rule="A complexity is judged as a model fact: both the compute and the memory bound "
          "must hold for today's kernels."),
    Claim("video-1.68e9", 2, "number", "A 41,000-token sequence costs 41,000^2 = 1.68 billion "
          "attention operations per layer.", 1.68e9, "holds", "41,000^2 = 1.681e9 query-key pairs "
          "per head and layer; in FLOPs multiply by 4 x d_model.", "https://arxiv.org/abs/1706.03762",
          "vaswani2017attention", compute=lambda: r.score_ratio(41000, 1), unit="pairs"),
    Claim("crossattn-40x", 5, "number", "For 100 text and 4,096 visual tokens cross-attention is "
          "about 40x cheaper than self-attention.", 40, "roughly", "The full score-count ratio is 43x "
          "(21.5x against a causal kernel), and each cross-attention layer still projects all 4,096 "
          "visual tokens.",
          "https://arxiv.org/abs/2204.14198", "alayrac2022flamingo",
          compute=lambda: r.pairs(4196) / (100 * 4096), unit="x"),
    Claim("ops-17.2m", 7, "number", "4,146 tokens need 4,146^2 = 17.2M x d operations per layer.",
          17.2e6, "holds", "4,146^2 = 17,189,316 pairs (each costs 4 x d FLOPs for QK and PV).",
          "https://arxiv.org/abs/1706.03762", "vaswani2017attention", compute=lambda: r.pairs(4146),
          unit="pairs"),
    Claim("ops-206m", 7, "number", "Over 12 layers that is 206M x d.", 206e6, "holds", "12 x "
          "17.19M = 206.3M; note the memory section assumes a 32-layer model.",
          "https://arxiv.org/abs/1706.03762", "vaswani2017attention",
          compute=lambda: 12 * r.pairs(4146), unit="pairs"),
    Claim("ops-122k", 7, "number", "Compressed, 350 tokens need 350^2 = 122K x d per layer.",
          122e3, "holds", "350^2 = 122,500; but 256 image plus 50 text tokens would be 306.",
          "https://arxiv.org/abs/1706.03762", "vaswani2017attention", compute=lambda: r.pairs(350),
          unit="pairs"),
    Claim("ops-1.5m", 7, "number", "Over 12 layers that is 1.5M x d.", 1.5e6, "holds",
          "12 x 122,500 = 1.47M.", "https://arxiv.org/abs/1706.03762", "vaswani2017attention",
          compute=lambda: 12 * r.pairs(350), unit="pairs"),
    Claim("attention-137x", 7, "number", "Compression gives a 137x speedup on attention alone.",
          137, "holds", "(4,146 / 350)^2 = 140x, within 3%; the 137 comes from dividing the rounded "
          "206M by 1.5M.",
          "https://arxiv.org/abs/1706.03762", "vaswani2017attention",
          compute=lambda: r.pairs(4146) / r.pairs(350), unit="x"),
    Claim("speedup-137x-total", 7, "number", "The summary presents 137x as the speedup of "
          "compress-then-concatenate.", 137, "wrong", "Projections and MLP are linear in n; a "
          "Llama-2-7B prefill of 4,146 tokens costs about 14x one of 350 tokens.",
          "https://arxiv.org/abs/2307.09288", "touvron2023llama2",
          compute=lambda: r.prefill_ratio(4146, 350), unit="x"),
    Claim("ssm-linear", 9, "model fact", "State-space models such as Mamba and RWKV scale "
          "linearly in sequence length.", "O(n)", "roughly", "Both are linear in n, run as recurrences with a constant "
          "state; but RWKV is a linear-attention RNN, not a state-space model.",
          "https://arxiv.org/abs/2312.00752", "gu2023mamba", value="O(n); RWKV is not an SSM"),
    Claim("quadratic-kills", 9, "thesis", "Even with infinite context, quadratic cost rules "
          "concatenation out.", "rules out", "roughly", "With plain concatenation the score matrix does outgrow the rest of a "
          "Llama-2-7B layer, but only past 24,705 tokens: long inputs get dear, not ruled out.",
          "https://arxiv.org/abs/2410.06169", "pham2024quadratic", compute=r.crossover,
          unit="tokens", rule="Judged for plain concatenation (no change to the model): quadratic "
          "cost must dominate at the lengths VLMs use for 'rules out' to hold."),
)
