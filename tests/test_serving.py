"""Tests of vlmlab.serving: hand-derived memory and batch sizes for LLaMA-2-7B on an A100-40GB,
roofline times, and the grow-until-OOM search with a simulated out-of-memory error."""

import pytest
from hypothesis import given, settings, strategies as st

from vlmlab import serving
from vlmlab.bench import is_oom
from vlmlab.roofline import DATASHEETS, Ceilings, get_datasheet

# LLaMA-2-7B (config.json): 32 layers, d_model 4096, 32 heads (MHA), d_ff 11008, vocab 32000,
# 6,738,415,616 parameters (2 x 32000 x 4096 embeddings/head + 32 x 202,383,360 per layer + 4096).
PARAMS = 2 * 32000 * 4096 + 32 * (4 * 4096**2 + 3 * 4096 * 11008 + 2 * 4096) + 4096
KV_PER_TOKEN_FP16 = 2 * 32 * 4096 * 2          # K and V, 32 layers, 4096 wide, 2 bytes = 512 KiB


def test_kv_only_batch_on_a100_40gb():
    # "40GB HBM2" is five 8 GiB stacks: 40 * 2**30 bytes (the datasheet row chapter 7 uses).
    capacity = get_datasheet("A100-40GB").memory_bytes
    assert capacity == 40 * 2**30
    assert PARAMS == 6_738_415_616
    # (42,949,672,960 - 13,476,831,232) / (4,146 x 524,288) = 13.6; / (350 x 524,288) = 160.6
    for tokens, expected in ((4146, 13), (350, 160)):
        assert int((capacity - 2 * PARAMS) // (tokens * KV_PER_TOKEN_FP16)) == expected  # the hand derivation
        assert serving.max_batch("llama-2-7b", tokens, capacity, "fp16", activations=False) == expected
    # with room for 64 answer tokens: / (4,210 x 524,288) = 13.4; / (414 x 524,288) = 135.8
    for tokens, expected in ((4146, 13), (350, 135)):
        assert serving.max_batch("llama-2-7b", tokens, capacity, "fp16", activations=False, new_tokens=64) == expected
    # in decimal GB (40e9 bytes) the essay's own unit gives 12 and 144
    for tokens, expected in ((4146, 12), (350, 144)):
        assert serving.max_batch("llama-2-7b", tokens, 40e9, "fp16", activations=False) == expected


def test_activation_parts_by_hand():
    m = serving.memory_per_sequence("llama-2-7b", 4146, "fp16", attention="eager", logits="all", new_tokens=10)
    assert m["kv_cache"] == 4156 * KV_PER_TOKEN_FP16
    # SwiGLU: silu(gate(x)), up(x) and their product (3 x 11008) beside 4 hidden states of 4096
    assert m["mlp_workspace"] == 4146 * (3 * 11008 + 4 * 4096) * 2
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
    with pytest.raises(ValueError, match="reserve_bytes must be a finite number >= 0"):
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
    # matmuls of the 32 layers over 350 tokens: all parameters but embeddings, lm_head and norms
    linear = 2 * 350 * (PARAMS - 2 * 32000 * 4096 - (2 * 32 + 1) * 4096)
    causal = 32 * 2 * 4096 * 350 * 351              # scores + weighted sum, 350*351/2 pairs per layer
    lm_head = 2 * 4096 * 32000                      # logits of the last position only
    assert e.prefill_s == pytest.approx((linear + causal + lm_head) / 1e12, rel=1e-12)
    # the one decode step reads the fp16 weights (of the input table only the gathered row), the
    # 350-token cache, writes one K/V, and moves the hidden states and one row of logits
    step = (PARAMS - 32000 * 4096 + 4096) * 2 + 351 * KV_PER_TOKEN_FP16 + (2 * 32 * 4096 + 32000) * 2
    assert e.decode_s == pytest.approx(step / 1e11, rel=1e-12)
    # $3.60 per hour is $0.001 per second; one image per batch
    assert e.dollars_per_1000_images == pytest.approx(e.seconds * 0.001 * 1000)
    assert e.images_per_s == pytest.approx(1 / e.seconds)


def test_batching_amortises_decode_weights():
    a100 = DATASHEETS["A100-40GB"]
    one = serving.serving_estimate("llama-2-7b", 350, 32, 1, a100, 2.0)
    many = serving.serving_estimate("llama-2-7b", 350, 32, 64, a100, 2.0)
    # values of the step-by-step hand model in test_independent_serving.py (checked there
    # against every step's FLOPs and bytes): 64 requests cost 12.7x less each than one alone
    assert one.dollars_per_1000_images / many.dollars_per_1000_images == pytest.approx(12.716, abs=1e-3)
    # the weights are read once per step whatever the batch: 64 sequences take 1.9x one's time
    assert many.decode_s / one.decode_s == pytest.approx(1.9057, abs=1e-4)


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



def test_live_peak_bytes_counts_tensors_alive_together():
    torch = pytest.importorskip("torch")
    kept = torch.ones(100)                                  # made before the call: not counted

    def work():
        a = torch.empty(1000, dtype=torch.float32)          # 4,000 B
        b = torch.empty(500, dtype=torch.float64)           # 4,000 B, alive with a: 8,000 B
        del a, b
        c = torch.empty(100, dtype=torch.float32)           # 400 B, after both died
        return c + kept                                     # + 400 B
    out, peak = serving.live_peak_bytes(work)
    assert peak == 8000 and out.shape == (100,)


@pytest.mark.parametrize("ffn,dtype", [("swiglu", "fp32"), ("swiglu", "bf16"), ("gelu", "fp32")])
def test_prefill_peak_matches_memory_per_sequence(ffn, dtype):
    # A LLaMA-proportioned DecoderLM (d_ff / d = 11008 / 4096) prefills a batch of 2 while every live
    # tensor is counted; the peak minus the preallocated KV cache is the workspace. By hand, at the
    # MLP: SwiGLU holds silu(gate(x)), up(x) and their product (3 d_ff), GELU up(x) and gelu(up(x))
    # (2 d_ff), beside 4 hidden states (input embeddings, layer input, residual, its norm); the RoPE
    # tables (2 head_dim per position, shared by the batch) add head_dim per sequence here. The
    # measurement is serving.live_peak_bytes, which counts tensors, not formulas.
    torch = pytest.importorskip("torch")
    from vlmlab.attention import torch_dtype
    from vlmlab.lm import DecoderLM, allocate_on
    from vlmlab.models import LMConfig

    d, d_ff, n, batch = 256, 688, 300, 2
    cfg = LMConfig("mini", n_layers=3, d_model=d, n_heads=4, n_kv_heads=4, d_ff=d_ff, ffn=ffn,
                   vocab_size=500, context_window=4096, params=1)
    tdtype = torch_dtype(dtype)
    with allocate_on("cpu", tdtype):
        lm = DecoderLM(cfg).eval()
    x = torch.randn(batch, n, d, dtype=tdtype)
    (_, cache), peak = serving.live_peak_bytes(lambda: lm.prefill(inputs_embeds=x.clone(), max_new_tokens=8),
                                               exclude=list(lm.parameters()))
    size = x.element_size()
    workspace = (peak - cache.allocated_bytes) / (batch * n * size)   # values per token and sequence
    by_hand = (3 if ffn == "swiglu" else 2) * d_ff + 4 * d
    assert by_hand <= workspace <= by_hand + cfg.head_dim + 1
    predicted = serving.memory_per_sequence(cfg, n, dtype, new_tokens=8)
    assert predicted["mlp_workspace"] == n * by_hand * size
    assert predicted["kv_cache"] * batch == cache.allocated_bytes
