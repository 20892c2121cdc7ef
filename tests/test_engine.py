"""Engine-style admission (vlmlab.engine, chapter 7). Expected values are derived by hand below
from vLLM's rules (vllm/config/cache.py: gpu_memory_utilization 0.9, 16-token blocks;
vllm/v1/worker/gpu_worker.py: requested - weights - profiled peak; vllm/v1/core/kv_cache_utils.py:
available // page_size // num_layers) and Llama-2-7B's config (32 layers, d 4096, d_ff 11008,
vocab 32000, 6,738,415,616 parameters)."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vlmlab import engine
from vlmlab.models import get_lm
from vlmlab.serving import ANSWER_TOKENS, max_batch

LM = get_lm("llama-2-7b")
A100_40GB = 40 * 2**30                      # five 8 GiB HBM2 stacks
WEIGHTS = 6_738_415_616 * 2                 # fp16
PAGE = 2 * 16 * 32 * 128 * 2                # K and V, 16 tokens, 32 kv heads x 128, fp16: one layer
BLOCK = 32 * PAGE                           # all 32 layers: 8,388,608 B per 16-token block


def test_activation_peak_of_a_2048_token_chunk_by_hand():
    # SwiGLU layer peak per token: 3 d_ff + 4 d values (gate, up, product; 4 hidden states), fp16,
    # plus one row of fp32 logits; the sampler's 256 x 32,000 fp32 warm-up logits are smaller.
    forward = 2048 * (3 * 11008 + 4 * 4096) * 2 + 32000 * 4
    assert forward == 202_503_168
    assert 256 * 32000 * 4 < forward
    assert engine.activation_peak_bytes(LM, 2048, "fp16") == forward


def test_a100_40gb_budget_by_hand():
    b = engine.engine_budget(LM, A100_40GB, "fp16")
    requested = int(0.9 * A100_40GB)                         # 38,654,705,664
    available = requested - WEIGHTS - 202_503_168            # 24,975,371,264
    assert b.requested_bytes == requested and b.weight_bytes == WEIGHTS
    assert b.block_bytes == BLOCK
    assert b.num_blocks == available // PAGE // 32 == 2977   # vLLM's get_num_blocks
    assert b.kv_cache_bytes == 2977 * BLOCK
    assert b.cached_tokens == 2977 * 16


def test_the_essays_requests_on_an_a100_40gb():
    """4,146- and 350-token prompts + 64 answer tokens: 264 and 26 blocks of 16 tokens."""
    assert ANSWER_TOKENS == 64
    assert engine.blocks_per_request(4146 + 64) == 264          # 4,210 / 16 = 263.1 -> 264
    assert engine.blocks_per_request(350 + 64) == 26            # 414 / 16 = 25.9 -> 26
    assert engine.engine_batch(LM, 4146, A100_40GB) == 2977 // 264 == 11
    assert engine.engine_batch(LM, 350, A100_40GB) == 2977 // 26 == 114
    # the upper bound (all memory beside the weights, no blocks, no cap) is larger
    assert max_batch(LM, 4146, A100_40GB, "fp16", activations=False, new_tokens=64) == 13
    assert max_batch(LM, 350, A100_40GB, "fp16", activations=False, new_tokens=64) == 135


def test_offline_chunk_and_newer_default_by_hand():
    # offline LLM class: 8,192-token chunk -> peak 8192 * 49,408 * 2 + 128,000 = 809,612,800 B
    available = int(0.9 * A100_40GB) - WEIGHTS - (8192 * 49408 * 2 + 128000)
    assert engine.engine_batch(LM, 350, A100_40GB, chunk_tokens=8192) == available // BLOCK // 26 == 111
    # gpu_memory_utilization 0.92 (newer vLLM main): 0.92 * 40 GiB
    available = int(0.92 * A100_40GB) - WEIGHTS - 202_503_168
    assert engine.engine_batch(LM, 350, A100_40GB, gpu_memory_utilization=0.92) == available // BLOCK // 26 == 118


def test_max_num_seqs_caps_the_batch():
    assert engine.engine_batch(LM, 16, A100_40GB, new_tokens=0) == 256
    assert engine.engine_batch(LM, 16, A100_40GB, new_tokens=0, max_num_seqs=7) == 7


def test_nothing_fits_returns_zero():
    assert engine.engine_budget(LM, 14 * 2**30, "fp16").num_blocks == 0   # 0.9 x 14 GiB = 13.53 GB < 13.48 GB weights + 0.20 GB peak
    assert engine.engine_batch(LM, 350, 14 * 2**30) == 0


@given(st.integers(1, 20_000))
def test_engine_never_admits_more_than_the_upper_bound(n):
    assert engine.engine_batch(LM, n, A100_40GB) <= max_batch(LM, n, A100_40GB, "fp16",
                                                              activations=False, new_tokens=64)


@given(st.integers(1, 5000), st.integers(1, 64))
def test_blocks_cover_the_tokens_with_less_than_one_block_spare(tokens, block):
    n = engine.blocks_per_request(tokens, block)
    assert n * block >= tokens > (n - 1) * block


@pytest.mark.parametrize("kwargs, name", [(dict(gpu_memory_utilization=0), "gpu_memory_utilization"),
                                          (dict(gpu_memory_utilization=1.5), "gpu_memory_utilization"),
                                          (dict(block_size=0), "block_size"),
                                          (dict(overhead_bytes=-1), "overhead_bytes")])
def test_bad_arguments_are_named(kwargs, name):
    with pytest.raises(ValueError, match=name):
        engine.engine_budget(LM, A100_40GB, "fp16", **kwargs)


def test_engine_loads_no_torch():
    import subprocess
    import sys

    code = ("import sys; from vlmlab import engine; engine.engine_batch('llama-2-7b', 350, 40 * 2**30)\n"
            "assert 'torch' not in sys.modules, 'torch was imported'")
    subprocess.run([sys.executable, "-c", code], check=True)
