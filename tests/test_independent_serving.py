"""vlmlab.serving and vlmlab.roofline against expectations built without them: brute force over
small cases, and a hand-written model of LLaMA-2-7B's FLOPs and bytes (issue 12).

Every expected value here comes from the published shapes of LLaMA-2-7B (config.json: 32 layers,
d_model 4096, 32 heads, d_ff 11008, vocab 32000; 6,738,415,616 parameters) and from arithmetic
written out in this file; nothing calls the function under test to make its own expectation.
"""
import pytest

from vlmlab import serving
from vlmlab.roofline import DATASHEETS, Ceilings, arithmetic_intensity, predict_seconds, ridge_point

L, D, F, V = 32, 4096, 11008, 32000
P = 2 * V * D + L * (4 * D * D + 3 * D * F + 2 * D) + D        # untied embeddings and lm_head
KV_TOKEN = 2 * L * D * 2                                        # K and V of one token, fp16: 512 KiB
LINEAR = L * 2 * (4 * D * D + 3 * D * F)                        # 2 FLOPs per matmul weight, 32 layers
LM_HEAD = 2 * D * V


def step_flops(context, batch):
    """One decode step: every weight once per sequence, the new query against context+1 keys
    (scores and weighted sum, 2 FLOPs per multiply-add, 32 heads x 128 = 4096 wide)."""
    return batch * (LINEAR + L * 4 * (context + 1) * D + LM_HEAD)


def step_bytes(context, batch, b=2):
    """Weights once per step (of the input embedding only the ``batch`` rows gathered), every
    sequence's cache read and one new K/V written, hidden states in and out per layer, one row
    of logits, all in ``b``-byte values (2: fp16/bf16, 4: fp32)."""
    weights, kv = (P - V * D + batch * D) * b, 2 * L * D * b
    return weights + batch * (context * kv + kv + (2 * L * D + V) * b)


def prefill_flops(n, batch):
    """Causal prefill: n(n+1)/2 query-key pairs per layer for scores and for the weighted sum,
    logits of the last position only."""
    return batch * (n * LINEAR + L * 2 * D * n * (n + 1) + LM_HEAD)


def prefill_bytes(n, batch, b=2):
    weights = (P - 2 * V * D + V * D + n * D) * b    # lm_head read once, n embedding rows gathered
    return weights + batch * (2 * n * 2 * L * D * b + (2 * L * n * D + V) * b)


def brute_decode_seconds(n, new, batch, peak, bw):
    return sum(max(step_flops(n + i, batch) / peak, step_bytes(n + i, batch) / bw) for i in range(new))


# --- roofline ------------------------------------------------------------------------------------
TOY = Ceilings("toy", matmul_flops_per_s=100.0, bandwidth_bytes_per_s=10.0, dtype="fp32", source="hand")


@pytest.mark.parametrize("flops, nbytes, seconds", [
    (0, 0, 0.0),          # nothing to do takes no time
    (1000, 0, 10.0),      # 1000 FLOP / 100 FLOP/s
    (0, 70, 7.0),         # 70 B / 10 B/s
    (1000, 100, 10.0),    # exactly on the ridge (10 FLOP/B): both roofs give 10 s
    (1000, 101, 10.1),    # one byte past the ridge: memory-bound
    (1001, 100, 10.01),   # one FLOP past the ridge: compute-bound
])
def test_predict_seconds_on_both_sides_of_the_ridge(flops, nbytes, seconds):
    assert predict_seconds(flops, nbytes, TOY) == pytest.approx(seconds, rel=1e-12, abs=0)


@pytest.mark.parametrize("flops, nbytes, arg", [(1, -1, "bytes_moved"), (-1, 1, "flops"),
                                                (float("nan"), 1, "flops"), (1, float("inf"), "bytes_moved")])
def test_predict_seconds_refuses_negative_and_non_finite(flops, nbytes, arg):
    with pytest.raises(ValueError, match=arg):
        predict_seconds(flops, nbytes, TOY)


def test_predict_seconds_needs_ceilings():
    with pytest.raises(TypeError, match="ceilings must be a roofline.Ceilings"):
        predict_seconds(1, 1, {"matmul_flops_per_s": 1})


def test_ridge_and_intensity_by_hand():
    # H100-SXM datasheet: 989.4 TFLOP/s dense BF16 over 3.35 TB/s -> 295.3 FLOP per byte
    assert ridge_point(DATASHEETS["H100-SXM"]) == pytest.approx(989.4e12 / 3.35e12, rel=2e-3)
    assert ridge_point(TOY) == 10.0
    assert arithmetic_intensity(0, 5) == 0 and arithmetic_intensity(30, 4) == 7.5
    with pytest.raises(ValueError, match="bytes_moved"):
        arithmetic_intensity(1, 0)
    with pytest.raises(ValueError, match="flops"):
        arithmetic_intensity(-1, 1)


def test_measure_ceilings_reports_the_fastest_call(monkeypatch):
    """With the timer replaced, the ceilings are exactly 2 n^3 / fastest matmul time and
    2 x buffer bytes / fastest copy time (read + write)."""
    pytest.importorskip("torch")
    from vlmlab import bench, roofline

    calls = []

    def fake_time_fn(fn, *, device, warmup=3, repeats=None, budget_s=None):
        fn()  # the timed callable runs
        calls.append(device)
        fastest = 0.5 if len(calls) == 1 else 0.25          # matmul first, then the copy
        return bench.Timing(median_s=4 * fastest, p25_s=2 * fastest, p75_s=8 * fastest,
                            min_s=fastest, repeats=7)

    monkeypatch.setattr(bench, "time_fn", fake_time_fn)
    c = roofline.measure_ceilings("cpu", seconds=0.1, matmul_n=64, copy_bytes=2**20)
    assert calls == ["cpu", "cpu"]
    assert c.matmul_flops_per_s == 2 * 64**3 / 0.5              # 524,288 FLOP/s
    assert c.bandwidth_bytes_per_s == 2 * 2**20 / 0.25          # 8 MiB/s
    assert c.dtype == "fp32" and "7 repeats" in c.source


# --- serving: memory and batch -------------------------------------------------------------------
def test_max_batch_with_a_reserve_by_hand():
    # A100-40GB (40 x 2^30 B), fp16 weights 2P = 13,476,831,232 B, 2 GiB reserved for the CUDA
    # context and allocator: 27,325,358,080 B left / (350 x 524,288 B) = 148.9 -> 148
    cap = 40 * 2**30
    assert serving.max_batch("llama-2-7b", 350, cap, "fp16", activations=False,
                             reserve_bytes=2 * 2**30) == 148
    # without the reserve: 29,472,841,728 / 183,500,800 = 160.6 -> 160
    assert serving.max_batch("llama-2-7b", 350, cap, "fp16", activations=False) == 160
    # a reserve that eats everything leaves no batch at all (never a negative one)
    assert serving.max_batch("llama-2-7b", 350, cap, "fp16", activations=False,
                             reserve_bytes=cap) == 0


@pytest.mark.parametrize("k", [0, 1, 5, 33])
def test_max_batch_exact_fit(k):
    # memory for the weights plus exactly k KV-only sequences of 350 tokens holds k; a byte less, k-1
    exact = 2 * P + k * 350 * KV_TOKEN
    assert serving.max_batch("llama-2-7b", 350, exact, "fp16", activations=False) == k
    assert serving.max_batch("llama-2-7b", 350, exact - 1, "fp16", activations=False) == max(0, k - 1)
    # the same with a 1,000-byte reserve added to the memory
    assert serving.max_batch("llama-2-7b", 350, exact + 1000, "fp16", activations=False,
                             reserve_bytes=1000) == k


def test_memory_per_sequence_gelu_and_kv_only_by_hand():
    from vlmlab.models import LMConfig

    # a GELU MLP holds up(x) and gelu(up(x)): 2 d_ff + 4 d values per token
    tiny = LMConfig("tiny", n_layers=2, d_model=8, n_heads=2, n_kv_heads=1, d_ff=32, ffn="gelu",
                    vocab_size=50, context_window=64, params=1)
    m = serving.memory_per_sequence(tiny, 10, "fp32", new_tokens=3)
    # K and V of 13 tokens x 2 layers x 1 KV head of 4 x 4 bytes
    assert m.parts == {"kv_cache": 13 * 2 * 2 * 4 * 4, "mlp_workspace": 10 * (2 * 32 + 4 * 8) * 4,
                       "attention_scores": 0, "logits": 50 * 4}
    assert serving.memory_per_sequence(tiny, 10, "fp32", activations=False).parts == {
        "kv_cache": 10 * 2 * 2 * 4 * 4}


# --- serving: times, against the hand model ------------------------------------------------------
@pytest.mark.parametrize("n, new, batch, peak, bw", [
    (350, 64, 1, 312e12, 1555e9),       # A100-40GB datasheet, batch 1: memory-bound throughout
    (350, 64, 64, 312e12, 1555e9),      # batch 64
    (12_000, 1_000, 4, 2e12, 1e12),     # a toy device where the steps turn memory-bound at ~12,300
    # equal roofs: compute and memory slopes are equal, compute the larger throughout (0.0265 s
    # against 0.0133 s per step at context 100); the equal-slope branch of decode_seconds
    # (``split = hi if d0 >= 0 else lo``) must sum the compute roof here.
    (100, 50, 2, 1e12, 1e12),
    (100, 50, 1, 1e12, 1e12),           # equal slopes, memory the larger throughout (batch 1)
    (100, 400, 64, 1e12, 2e12),         # bandwidth above peak: memory-bound, then compute-bound
    (20_000, 300, 8, 1e12, 2e12),
    (100, 0, 2, 1e12, 1e12),            # no new tokens: no decode time
])
def test_decode_seconds_equal_the_step_by_step_sum(n, new, batch, peak, bw):
    c = Ceilings("dev", peak, bw, "fp16", "hand")
    expected = brute_decode_seconds(n, new, batch, peak, bw)
    assert serving.decode_seconds("llama-2-7b", n, new, batch, c, dtype="fp16") == pytest.approx(
        expected, rel=1e-9, abs=1e-15)


def test_the_toy_device_really_crosses_over():
    # the case above is compute-bound at its first step and memory-bound at its last
    assert step_flops(12_000, 4) / 2e12 > step_bytes(12_000, 4) / 1e12
    assert step_flops(12_999, 4) / 2e12 < step_bytes(12_999, 4) / 1e12


def test_batch_flops_bytes_by_hand():
    pf, pb, steps = serving.batch_flops_bytes("llama-2-7b", 350, 3, 2, dtype="fp16")
    assert pf == prefill_flops(350, 2) and pb == prefill_bytes(350, 2)
    assert steps == [(step_flops(350 + i, 2), step_bytes(350 + i, 2)) for i in range(3)]


def test_serving_estimate_by_hand_on_a100():
    a100 = DATASHEETS["A100-40GB"]
    assert (a100.matmul_flops_per_s, a100.bandwidth_bytes_per_s) == (312e12, 1555e9)
    e = serving.serving_estimate("llama-2-7b", 350, 64, 8, a100, dollars_per_hour=2.0, dtype="fp16")
    prefill = max(prefill_flops(350, 8) / 312e12, prefill_bytes(350, 8) / 1555e9)
    decode = brute_decode_seconds(350, 64, 8, 312e12, 1555e9)
    assert e.prefill_s == pytest.approx(prefill, rel=1e-12)
    assert e.decode_s == pytest.approx(decode, rel=1e-9)
    seconds = prefill + decode
    assert e.seconds == pytest.approx(seconds, rel=1e-9)
    assert e.images_per_s == pytest.approx(8 / seconds, rel=1e-9)
    assert e.generated_tokens_per_s == pytest.approx(8 * 64 / seconds, rel=1e-9)
    assert e.processed_tokens_per_s == pytest.approx(8 * (350 + 64) / seconds, rel=1e-9)
    # $2 per hour: seconds/8 of GPU time per image, x 1000 images
    assert e.dollars_per_1000_images == pytest.approx(2.0 / 3600 * seconds / 8 * 1000, rel=1e-9)


def test_batching_ratio_by_hand():
    # cost per image at batch 64 vs batch 1 (A100-40GB, 350-token prompt, 32 new tokens):
    # the hand model's ratio, not a window of an order of magnitude
    a100 = DATASHEETS["A100-40GB"]

    def per_image(batch):
        prefill = max(prefill_flops(350, batch) / 312e12, prefill_bytes(350, batch) / 1555e9)
        return (prefill + brute_decode_seconds(350, 32, batch, 312e12, 1555e9)) / batch

    one = serving.serving_estimate("llama-2-7b", 350, 32, 1, a100, 2.0, dtype="fp16")
    many = serving.serving_estimate("llama-2-7b", 350, 32, 64, a100, 2.0, dtype="fp16")
    ratio = one.dollars_per_1000_images / many.dollars_per_1000_images
    assert ratio == pytest.approx(per_image(1) / per_image(64), rel=1e-9)
    assert round(ratio, 1) == 12.7  # what the hand model gives, stated for the reader


def test_serving_refuses_bad_prices_and_lengths():
    c = DATASHEETS["A100-40GB"]
    with pytest.raises(ValueError, match="dollars_per_hour"):
        serving.serving_estimate("llama-2-7b", 10, 1, 1, c, dollars_per_hour=0)
    with pytest.raises(ValueError, match="new_tokens must be at most 100,000"):
        serving.batch_flops_bytes("llama-2-7b", 10, 100_001, 1)
    with pytest.raises(ValueError, match="new_tokens must be an integer >= 0"):
        serving.decode_seconds("llama-2-7b", 10, -1, 1, c)


def test_fp32_serving_estimate_by_hand():
    # 4-byte weights and caches: twice the bf16 bytes, so decode takes twice as long on a
    # memory-bound device
    peak, bw = 312e12, 1555e9
    c = Ceilings("a100", peak, bw, "fp32", "hand")
    e = serving.serving_estimate("llama-2-7b", 350, 8, 2, c, dollars_per_hour=1.0, dtype="fp32")
    prefill = max(prefill_flops(350, 2) / peak, prefill_bytes(350, 2, b=4) / bw)
    decode = sum(max(step_flops(350 + i, 2) / peak, step_bytes(350 + i, 2, b=4) * 1.0 / bw)
                 for i in range(8))
    assert e.prefill_s == pytest.approx(prefill, rel=1e-12)
    assert e.decode_s == pytest.approx(decode, rel=1e-9)


def test_decode_seconds_default_dtype_is_bf16():
    c = Ceilings("dev", 312e12, 1555e9, "bf16", "hand")
    assert serving.decode_seconds("llama-2-7b", 350, 4, 2, c) == pytest.approx(
        brute_decode_seconds(350, 4, 2, 312e12, 1555e9), rel=1e-9)
