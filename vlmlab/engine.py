"""What a real serving engine admits: batch sizes priced the way vLLM prices them (chapter 7).

:func:`vlmlab.serving.max_batch` gives an upper bound: every byte beside the weights holds KV
cache. A serving engine keeps less. vLLM (V1 engine) sizes its cache in three steps, each read at
the source (github.com/vllm-project/vllm):

1. **A cap on its share of the GPU.** ``CacheConfig.gpu_memory_utilization`` (``vllm/config/cache.py``),
   0.9 by default in the 0.x releases (``Field(default=0.9, gt=0, le=1)``; newer main branches
   raise it to 0.92). The worker requests ``total_memory * gpu_memory_utilization``
   (``vllm/v1/worker/gpu_worker.py``, ``init_device``: ``self.requested_memory``).
2. **Minus what is not cache.** ``Worker.determine_available_memory`` (same file) runs one dummy
   forward pass of ``max_num_batched_tokens`` tokens (``GPUModelRunner.profile_run`` ->
   ``_dummy_run(self.max_num_tokens, is_profile=True)``) under ``memory_profiling`` and returns
   ``requested_memory - non_kv_cache_memory``: the weights, the torch activation peak of that
   largest prefill chunk, and non-torch allocations made meanwhile. The chunk is
   ``max_num_batched_tokens``: 2,048 for the OpenAI-compatible server and 8,192 for the offline
   ``LLM`` class on GPUs under 70 GiB and on every A100 (``vllm/engine/arg_utils.py``,
   ``EngineArgs.get_batch_defaults``); ``max_num_seqs`` is 256 there.
3. **In whole blocks.** The cache is cut into blocks of ``block_size`` tokens, 16 on CUDA
   (``CacheConfig.DEFAULT_BLOCK_SIZE = 16``; older releases set 16 in ``vllm/platforms/cuda.py``
   ``check_and_update_config``). ``get_num_blocks`` in ``vllm/v1/core/kv_cache_utils.py`` takes
   ``int(available_memory // page_size // num_layers)`` with ``page_size = 2 * block_size *
   num_kv_heads * head_size * dtype_bytes`` (``AttentionSpec.page_size_bytes``,
   ``vllm/v1/kv_cache_interface.py``); a request holds ``ceil(tokens / block_size)`` blocks.

Left out, each small beside a 7B model's cache: the non-torch allocations (cuBLAS and NCCL
workspaces; pass them as ``overhead_bytes``), CUDA-graph memory (captured after the cache is sized)
and prefix-cache sharing between requests (none here: every request has its own image).
Pure Python; imports no torch.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from . import cost, serving
from .errors import non_negative_number, positive_int, positive_number

#: vLLM 0.x defaults (vllm/config/cache.py, vllm/engine/arg_utils.py) for an A100 or a GPU < 70 GiB.
GPU_MEMORY_UTILIZATION = 0.9
BLOCK_SIZE = 16
MAX_NUM_BATCHED_TOKENS = 2048     # OpenAI-compatible server; the offline LLM class uses 8,192
MAX_NUM_SEQS = 256


@dataclass(frozen=True)
class EngineBudget:
    """How an engine splits one GPU (chapter 7): every field in bytes except the block counts."""

    memory_bytes: int
    requested_bytes: int
    weight_bytes: int
    activation_peak_bytes: int
    overhead_bytes: int
    block_bytes: int
    num_blocks: int
    block_size: int

    @property
    def kv_cache_bytes(self) -> int:
        """Bytes the engine gives the KV cache: whole blocks only."""
        return self.num_blocks * self.block_bytes

    @property
    def cached_tokens(self) -> int:
        """Tokens the whole cache holds (``num_blocks * block_size``)."""
        return self.num_blocks * self.block_size


def activation_peak_bytes(lm, chunk_tokens: int = MAX_NUM_BATCHED_TOKENS, dtype="fp16",
                          max_num_seqs: int = MAX_NUM_SEQS) -> int:
    """The activation peak an engine profiles for its largest prefill chunk (chapter 7).

    The larger of one layer's transient workspace for ``chunk_tokens`` tokens with a fused
    (FlashAttention) kernel -- :func:`vlmlab.serving.memory_per_sequence`'s ``mlp_workspace``,
    ``attention_scores`` and last-position ``logits`` -- and the sampler's warm-up logits,
    ``min(max_num_seqs, chunk_tokens)`` rows of fp32 ``vocab_size`` values, which run after the
    forward pass (``_dummy_sampler_run``).
    """
    lm = cost._lm(lm)
    positive_int("chunk_tokens", chunk_tokens)
    positive_int("max_num_seqs", max_num_seqs)
    parts = serving.memory_per_sequence(lm, chunk_tokens, dtype, activations=True, attention="flash")
    forward = parts.total - parts["kv_cache"]
    sampler = min(max_num_seqs, chunk_tokens) * lm.vocab_size * 4
    return int(max(forward, sampler))


def engine_budget(lm, memory_bytes: float, dtype="fp16", *,
                  gpu_memory_utilization: float = GPU_MEMORY_UTILIZATION,
                  chunk_tokens: int = MAX_NUM_BATCHED_TOKENS, block_size: int = BLOCK_SIZE,
                  overhead_bytes: float = 0, max_num_seqs: int = MAX_NUM_SEQS) -> EngineBudget:
    """The KV-cache budget vLLM would profile on a GPU of ``memory_bytes`` (chapter 7).

    ``requested = memory_bytes * gpu_memory_utilization``; ``available = requested - weights -
    activation peak (chunk_tokens) - overhead_bytes``; ``num_blocks = available // block_bytes``
    with ``block_bytes = block_size *`` :func:`vlmlab.cost.kv_bytes_per_token` (all layers).
    """
    lm = cost._lm(lm)
    positive_number("memory_bytes", memory_bytes)
    if not 0 < gpu_memory_utilization <= 1:
        raise ValueError(f"gpu_memory_utilization must be in (0, 1]; got {gpu_memory_utilization!r}")
    positive_int("block_size", block_size)
    non_negative_number("overhead_bytes", overhead_bytes)
    requested = int(memory_bytes * gpu_memory_utilization)
    weights = int(cost.weight_bytes(lm, dtype))
    act = activation_peak_bytes(lm, chunk_tokens, dtype, max_num_seqs)
    block = int(block_size * cost.kv_bytes_per_token(lm, dtype))
    available = requested - weights - act - int(overhead_bytes)
    return EngineBudget(int(memory_bytes), requested, weights, act, int(overhead_bytes), block,
                        max(0, available // block), block_size)


def blocks_per_request(tokens: int, block_size: int = BLOCK_SIZE) -> int:
    """Blocks one request of ``tokens`` tokens (prompt plus answer) holds: ``ceil(tokens / block_size)``."""
    return math.ceil(positive_int("tokens", tokens) / positive_int("block_size", block_size))


def engine_batch(lm, prompt_tokens: int, memory_bytes: float, dtype="fp16", *,
                 new_tokens: int = serving.ANSWER_TOKENS, max_num_seqs: int = MAX_NUM_SEQS,
                 **budget) -> int:
    """Requests of ``prompt_tokens + new_tokens`` tokens an engine runs at once (chapter 7).

    ``min(num_blocks // blocks_per_request, max_num_seqs)`` over :func:`engine_budget`
    (``budget``: ``gpu_memory_utilization``, ``chunk_tokens``, ``block_size``, ``overhead_bytes``).
    Compare :func:`vlmlab.serving.max_batch`, the upper bound with all memory beside the weights.
    """
    positive_int("prompt_tokens", prompt_tokens)
    b = engine_budget(lm, memory_bytes, dtype, max_num_seqs=max_num_seqs, **budget)
    per = blocks_per_request(prompt_tokens + int(new_tokens), b.block_size)
    return min(b.num_blocks // per, positive_int("max_num_seqs", max_num_seqs))
