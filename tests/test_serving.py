"""Tests of vlmlab.serving: hand-derived memory and batch sizes for LLaMA-2-7B on an A100-40GB,
roofline times, and the grow-until-OOM search with a simulated out-of-memory error."""

import pytest
from hypothesis import given, settings, strategies as st

from vlmlab import serving
from vlmlab.bench import is_oom
from vlmlab.roofline import DATASHEETS, Ceilings

# LLaMA-2-7B (config.json): 32 layers, d_model 4096, 32 heads (MHA), d_ff 11008, vocab 32000,
# 6,738,415,616 parameters (2 x 32000 x 4096 embeddings/head + 32 x 202,383,360 per layer + 4096).
PARAMS = 2 * 32000 * 4096 + 32 * (4 * 4096**2 + 3 * 4096 * 11008 + 2 * 4096) + 4096
KV_PER_TOKEN_FP16 = 2 * 32 * 4096 * 2          # K and V, 32 layers, 4096 wide, 2 bytes = 512 KiB


def test_kv_only_batch_on_a100_40gb_is_12_and_144():
    free = 40e9 - 2 * PARAMS
    assert PARAMS == 6_738_415_616
    for tokens, expected in ((4146, 12), (350, 144)):
        assert int(free // (tokens * KV_PER_TOKEN_FP16)) == expected  # the hand derivation
        assert serving.max_batch("llama-2-7b", tokens, 40e9, "fp16", activations=False) == expected


def test_activation_parts_by_hand():
    m = serving.memory_per_sequence("llama-2-7b", 4146, "fp16", attention="eager", logits="all", new_tokens=10)
    assert m["kv_cache"] == 4156 * KV_PER_TOKEN_FP16
    assert m["mlp_workspace"] == 4146 * (2 * 11008 + 4 * 4096) * 2
    assert m["attention_scores"] == 32 * 4146**2 * 2
    assert m["logits"] == 4146 * 32000 * 4
    flash = serving.memory_per_sequence("llama-2-7b", 4146, "fp16")
    assert flash["attention_scores"] == 0 and flash["logits"] == 32000 * 4
    # every activation counted makes the batch smaller, never larger
    kv_only = serving.max_batch("llama-2-7b", 4146, 40e9, "fp16", activations=False)
    worst = serving.max_batch("llama-2-7b", 4146, 40e9, "fp16", attention="eager", logits="all")
    assert worst < serving.max_batch("llama-2-7b", 4146, 40e9, "fp16") <= kv_only
    assert serving.max_batch("llama-2-7b", 4146, 14e9, "fp16") == 0  # weights alone fill 14 GB


def test_bad_arguments_name_themselves():
    with pytest.raises(ValueError, match="attention must be one of 'flash', 'eager'"):
        serving.memory_per_sequence("llama-2-7b", 10, attention="sdpa")
    with pytest.raises(ValueError, match="memory_bytes must be a finite number > 0"):
        serving.max_batch("llama-2-7b", 10, -1)
    with pytest.raises(ValueError, match="reserve_bytes must be >= 0"):
        serving.max_batch("llama-2-7b", 10, 40e9, reserve_bytes=-5)


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 8192))
def test_kv_only_memory_doubles_with_the_prompt(n):
    one = serving.memory_per_sequence("llama-2-7b", n, "fp16", activations=False).total
    assert serving.memory_per_sequence("llama-2-7b", 2 * n, "fp16", activations=False).total == 2 * one


def test_roofline_times_by_hand_on_a_toy_device():
    # A device with 1e12 FLOP/s and 1e11 B/s (ridge 10 FLOP/B): prefill of 350 tokens is compute-bound (2 x params x n
    # FLOPs at most a few % more), a batch-1 decode step memory-bound (weights: 2 bytes x params).
    toy = Ceilings("toy", 1e12, 1e11, "fp16", "test")
    e = serving.serving_estimate("llama-2-7b", 350, 1, 1, toy, dollars_per_hour=3.6, dtype="fp16")
    linear = 2 * 350 * (PARAMS - 2 * 32000 * 4096)  # matmuls of the 32 layers over 350 tokens
    assert linear / 1e12 < e.prefill_s < 1.05 * linear / 1e12
    assert 2 * PARAMS / 1e11 * 0.99 < e.decode_s < 2 * PARAMS / 1e11 * 1.01
    # $3.60 per hour is $0.001 per second; one image per batch
    assert e.dollars_per_1000_images == pytest.approx(e.seconds * 0.001 * 1000)
    assert e.images_per_s == pytest.approx(1 / e.seconds)


def test_batching_amortises_decode_weights():
    a100 = DATASHEETS["A100-40GB"]
    one = serving.serving_estimate("llama-2-7b", 350, 32, 1, a100, 2.0)
    many = serving.serving_estimate("llama-2-7b", 350, 32, 64, a100, 2.0)
    assert many.dollars_per_1000_images < one.dollars_per_1000_images / 10
    # the weights are read once per step whatever the batch: decode time grows far less than 64x
    assert many.decode_s < 10 * one.decode_s


def _fake_device(capacity):
    def try_batch(b):
        if b > capacity:
            raise MemoryError(f"simulated out of memory at batch {b}")
    return try_batch


@pytest.mark.parametrize("capacity", [1, 2, 3, 7, 12, 100, 144])
def test_grow_batch_finds_the_largest_batch_that_runs(capacity):
    res = serving.grow_batch(_fake_device(capacity), is_oom=is_oom)
    assert res.max_batch == capacity
    df = res.to_frame()
    assert (df["status"] == "OOM").any() and df.loc[df["status"] == "ok", "batch"].max() == capacity
    assert df.loc[df["status"] == "OOM", "batch"].min() == capacity + 1


def test_grow_batch_edge_cases():
    assert serving.grow_batch(_fake_device(0), is_oom=is_oom).max_batch == 0
    res = serving.grow_batch(_fake_device(10**6), is_oom=is_oom, limit=64)
    assert res.max_batch == 64 and res.trials[-1][1] == "limit"
    calls = []
    serving.grow_batch(_fake_device(5), is_oom=is_oom, cleanup=lambda: calls.append(1))
    assert len(calls) == 6  # 1, 2, 4, 8 (OOM), 6 (OOM), 5 -> 6 trials, cleanup after each

    def broken(b):
        raise ValueError("not an OOM")
    with pytest.raises(ValueError, match="not an OOM"):
        serving.grow_batch(broken, is_oom=is_oom)
