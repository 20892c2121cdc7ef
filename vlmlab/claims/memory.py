"""KV cache, weights, bandwidth, batches and throughput (chapters 4, 7).

Each claim is data (:class:`.records.Claim`); ``compute`` recomputes its number with vlmlab through
:mod:`.recompute` (imported lazily, so importing this module stays cheap). Collected by :mod:`.ledger`.
"""
from __future__ import annotations

from . import recompute as r
from .records import Claim

CLAIMS: tuple[Claim, ...] = (
    Claim("kv-not-in-sram", 4, "thesis", "Beyond ~4,000 tokens the KV cache no longer fits in "
          "fast SRAM.", "4,000+ tokens", "roughly", "True, but an A100 has about 20 MB of SRAM, so "
          "even a 350-token Llama-2-7B cache (183 MB) does not fit; it is not a concatenation effect.",
          "https://arxiv.org/abs/2205.14135", "dao2022flashattention",
          compute=lambda: r.kv(350), unit="bytes"),
    Claim("memory-bound", 4, "thesis", "Long sequences make attention memory-bound rather than "
          "compute-bound.", "memory-bound", "roughly", "Decoding is memory-bound at any length; "
          "prefilling thousands of image tokens is compute-bound.",
          "https://arxiv.org/abs/2211.05102", "pope2023inference",
          value="decode: memory-bound; prefill: compute-bound"),
    Claim("kv-2.1gb", 7, "number", "A 7B model's fp16 KV cache for 4,146 tokens is 2.1 GB.",
          2.1e9, "holds", "32 x 4,096 x 2 x 2 bytes x 4,146 = 2.17e9 B (2.02 GiB), within 4% in "
          "either unit.",
          "https://arxiv.org/abs/2307.09288", "touvron2023llama2", compute=lambda: r.kv(4146),
          unit="bytes"),
    Claim("kv-180mb", 7, "number", "For 350 tokens it is 180 MB.", 180e6, "holds",
          "350 x 524,288 B = 183.5 MB.", "https://arxiv.org/abs/2307.09288", "touvron2023llama2",
          compute=lambda: r.kv(350), unit="bytes"),
    Claim("kv-12x", 7, "number", "Compression cuts the KV cache 12x.", 12, "holds",
          "4,146 / 350 = 11.8.", "https://arxiv.org/abs/2307.09288", "touvron2023llama2",
          compute=lambda: r.kv(4146) / r.kv(350), unit="x"),
    Claim("weights-14gb", 7, "number", "A 7B model takes 14 GB in fp16.", 14e9, "holds",
          "Llama-2-7B has 6.74B parameters: 13.5 GB.", "https://arxiv.org/abs/2307.09288",
          "touvron2023llama2", compute=lambda: r.weights(), unit="bytes"),
    Claim("batch-8", 7, "number", "An A100-40GB fits a batch of about 8 concatenated 4,146-token "
          "requests.", 8, "roughly", "A vLLM-style engine (90% of memory, profiled peak, 16-token "
          "blocks) admits 11 such requests (prompt + 64 new tokens); all memory beside the weights holds 13.",
          "https://arxiv.org/abs/2309.06180", "kwon2023vllm",
          compute=lambda: r.engine_batch_a100_40gb(4146), unit="sequences"),
    Claim("batch-96", 7, "number", "It fits about 96 compressed 350-token requests.", 96,
          "roughly", "A vLLM-style engine admits 114 such requests (26 blocks of 16 tokens each, "
          "prompt + 64 new tokens); all memory beside the weights holds 135.",
          "https://arxiv.org/abs/2309.06180", "kwon2023vllm",
          compute=lambda: r.engine_batch_a100_40gb(350), unit="sequences"),
    Claim("throughput-12x", 7, "number", "Hence 12x higher throughput for compression.", 12,
          "holds", "At the batches an engine admits (11 and 114) chapter 7's A100 roofline serves "
          "about 12x more images per second; one request at a time the gain is only 1.4x.",
          "https://arxiv.org/abs/2211.05102", "pope2023inference", compute=lambda: r.throughput_ratio(),
          unit="x"),
)
