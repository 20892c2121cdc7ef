"""Issue 11: bad inputs get one clear error, nothing hangs, nothing is silently wrong.

Each case is an input a new user might pass (the issue's examples); it must raise ValueError,
TypeError or LookupError naming the argument, before any large allocation and within a second.
Expected values come from outside the code: Mistral's paper for Mixtral's parameter counts,
transformers' own models for MoE parameter counts, InternVL's original (quadratic) search as a
brute-force reference for the tile layout, and a per-token loop for the closed-form decode time.
"""
from __future__ import annotations

import math
import time

import pytest

from vlmlab import budget, cost, device, errors, roofline, serving, tokens
from vlmlab.models import LMConfig, from_hf_config, get_lm
from vlmlab.roofline import DATASHEETS, Ceilings
from vlmlab.units import Breakdown

TINY = LMConfig("tiny", 2, 64, 4, 2, 128, "swiglu", 256, 128, 1)
MIXTRAL_8X7B = dict(  # mistralai/Mixtral-8x7B-v0.1 config.json
    model_type="mixtral", hidden_size=4096, num_hidden_layers=32, num_attention_heads=32,
    num_key_value_heads=8, intermediate_size=14336, vocab_size=32000, max_position_embeddings=32768,
    num_local_experts=8, num_experts_per_tok=2, hidden_act="silu", tie_word_embeddings=False)
LLAMA_DICT = dict(model_type="llama", hidden_size=4096, num_hidden_layers=32, num_attention_heads=32,
                  num_key_value_heads=32, intermediate_size=11008, vocab_size=32000,
                  max_position_embeddings=4096)


def test_unknown_name_error_is_a_lookup_error():
    assert issubclass(errors.UnknownNameError, LookupError)
    with pytest.raises(LookupError, match="did you mean 'llama-2-7b'"):
        get_lm("llama-2-7c")


CASES = [  # (call, error type, text the message must contain)
    (lambda: Breakdown({"a": 1}) + 5, TypeError, "other must be a Breakdown"),
    (lambda: Breakdown({"a": float("nan")}), ValueError, "parts['a']"),
    (lambda: Breakdown({"a": 1}).scaled("2"), TypeError, "factor"),
    (lambda: cost.layer_prefill_flops(TINY, 8, causal="no"), TypeError, "causal must be True or False"),
    (lambda: serving.memory_per_sequence(TINY, 8, activations="no"), TypeError, "activations"),
    (lambda: LMConfig("x", 2, 64, 4, 2, 128, "swiglu", 256, 128, 1, qkv_bias="no"), TypeError, "qkv_bias"),
    (lambda: LMConfig("x", 2, 64, 4, 2, 128, "swiglu", 256, 128, 1, d_head=0), ValueError, "d_head"),
    (lambda: roofline.predict_seconds(float("nan"), 1e9, DATASHEETS["T4"]), ValueError, "flops"),
    (lambda: roofline.predict_seconds(1e9, float("inf"), DATASHEETS["T4"]), ValueError, "bytes_moved"),
    (lambda: roofline.predict_seconds(1e9, 1e9, "H100"), TypeError, "ceilings must be a roofline.Ceilings"),
    (lambda: roofline.arithmetic_intensity(-3, 1e9), ValueError, "flops"),
    (lambda: Ceilings("x", 1e12, 0, "bf16", "s"), ValueError, "bandwidth_bytes_per_s"),
    (lambda: roofline.fast_dtype("tpu"), ValueError, "device"),
    (lambda: serving.max_batch(TINY, 8, 1e9, reserve_bytes=float("nan")), ValueError, "reserve_bytes"),
    (lambda: serving.grow_batch(lambda b: None, is_oom=None), TypeError, "is_oom"),
    (lambda: device.provenance("cpu", scale="huge"), ValueError, "scale"),
    (lambda: device.pick_scale("tpu"), ValueError, "device"),
    (lambda: device.pick_device(3), TypeError, "prefer"),
    (lambda: from_hf_config(LLAMA_DICT, context_window=0), ValueError, "context_window"),
    (lambda: from_hf_config({**LLAMA_DICT, "num_attention_heads": 0}), ValueError, "num_attention_heads"),
    (lambda: from_hf_config({**MIXTRAL_8X7B, "num_experts_per_tok": None}), ValueError, "num_experts_per_tok"),
    (lambda: from_hf_config({**LLAMA_DICT, "kv_lora_rank": 512}), ValueError, "kv_lora_rank"),
    (lambda: tokens.visual_tokens("internvl-1.5", 448, 448, max_tiles=10**6), ValueError, "max_tiles must be at most"),
    (lambda: tokens.visual_tokens("idefics2", 448, 448, image_splitting="no"), TypeError, "image_splitting"),
    (lambda: budget.images_that_fit(4096, 0), ValueError, "tokens_per_image"),
    (lambda: serving.batch_flops_bytes("llama-2-7b", 576, 10**7, 8), ValueError, "new_tokens"),
]


@pytest.mark.parametrize("call, kind, text", CASES, ids=range(len(CASES)))
def test_bad_input_gets_one_clear_error(call, kind, text):
    t0 = time.perf_counter()
    with pytest.raises(kind) as info:
        call()
    assert text in str(info.value)
    assert time.perf_counter() - t0 < 1.0


def test_devices_that_are_not_here_are_refused_with_what_is_available():
    here = errors.available_devices()
    for missing in {"cuda", "mps"} - set(here):
        for call in (lambda: device.provenance(missing), lambda: device.pick_device(missing),
                     lambda: roofline.measure_ceilings(missing, seconds=0.1)):
            with pytest.raises(ValueError, match=f"{missing}.*not available.*available: "):
                call()


def test_datasheet_for_matches_whole_model_numbers():
    assert datasheet_name("NVIDIA GH200 480GB") is None   # Grace Hopper is not an H200 board
    assert datasheet_name("NVIDIA H200") == "H200"
    assert datasheet_name("NVIDIA H100 80GB HBM3") == "H100-SXM"
    assert datasheet_name("NVIDIA A100-SXM4-80GB") == "A100-80GB"


def datasheet_name(device_name):
    row = roofline.datasheet_for(device_name)
    return row and row.name


def test_mixtral_parameters_total_and_active_match_the_paper():
    # Jiang et al. 2024 (arXiv:2401.04088): 47B total ("46.7B" on the model card), 13B active
    # ("12.9B"); only the experts a token uses enter the FLOPs.
    lm = from_hf_config(MIXTRAL_8X7B)
    assert round(lm.params / 1e9, 1) == 46.7 and round(lm.active_params / 1e9, 1) == 12.9
    dense_twin = from_hf_config({k: v for k, v in MIXTRAL_8X7B.items()
                                 if k not in ("num_local_experts", "num_experts_per_tok")})
    # two experts per token: the MLP FLOPs are twice those of one expert (plus the 8-wide router)
    mlp, one = cost.layer_prefill_flops(lm, 1)["mlp"], cost.layer_prefill_flops(dense_twin, 1)["mlp"]
    assert mlp == 2 * one + 2 * 4096 * 8


def test_moe_param_counts_equal_numel_of_random_transformers_models():
    torch = pytest.importorskip("torch")
    tf = pytest.importorskip("transformers")
    torch.manual_seed(0)
    cases = [
        tf.MixtralConfig(hidden_size=32, intermediate_size=48, num_hidden_layers=2, num_attention_heads=4,
                         num_key_value_heads=2, vocab_size=61, num_local_experts=4, num_experts_per_tok=2),
        tf.Qwen2MoeConfig(hidden_size=32, intermediate_size=48, moe_intermediate_size=16,
                          shared_expert_intermediate_size=40, num_hidden_layers=2, num_attention_heads=4,
                          num_key_value_heads=2, vocab_size=61, num_experts=6, num_experts_per_tok=2),
    ]
    for cfg in cases:
        model = tf.AutoModelForCausalLM.from_config(cfg)
        assert from_hf_config(cfg).params == sum(p.numel() for p in model.parameters()), type(cfg).__name__


def test_from_hf_config_never_invents_a_context_window():
    cfg = {k: v for k, v in LLAMA_DICT.items() if k != "max_position_embeddings"}
    with pytest.raises(ValueError, match="max_position_embeddings.*context_window="):
        from_hf_config(cfg)
    assert from_hf_config(cfg, context_window=4096).context_window == 4096


def _internvl_layout(h, w, tile, lo, hi):
    """InternVL's own search (set of all i x j <= max_num, sorted by count): the quadratic reference."""
    ratios = sorted({(i, j) for n in range(lo, hi + 1) for i in range(1, n + 1) for j in range(1, n + 1)
                     if lo <= i * j <= hi}, key=lambda x: x[0] * x[1])
    aspect, best, best_diff = w / h, (1, 1), float("inf")
    for r in ratios:
        diff = abs(aspect - r[0] / r[1])
        if diff < best_diff:
            best_diff, best = diff, r
        elif diff == best_diff and w * h > 0.5 * tile * tile * r[0] * r[1]:
            best = r
    return best[1], best[0]


@pytest.mark.parametrize("h, w, hi", [(448, 896, 12), (1000, 300, 24), (333, 4000, 40), (900, 900, 7)])
def test_linear_tile_search_agrees_with_internvl_search(h, w, hi):
    from vlmlab.tokens.grid import closest_tile_layout

    assert closest_tile_layout(h, w, 448, 1, hi) == _internvl_layout(h, w, 448, 1, hi)


def test_tile_search_at_its_limit_is_fast():
    from vlmlab.tokens.grid import MAX_TILES

    t0 = time.perf_counter()
    tokens.visual_tokens("internvl-1.5", 448, 4480, max_tiles=MAX_TILES)
    assert time.perf_counter() - t0 < 0.5


def test_decode_time_closed_form_equals_the_per_token_sum():
    # a ceiling whose ridge falls inside the generated range: decode steps switch from memory-
    # to compute-bound halfway, so both branches of the closed form are used
    lm = get_lm("llama-2-7b")
    for c in (DATASHEETS["H100-SXM"], Ceilings("toy", 2e12, 2e12, "bf16", "toy"),
              Ceilings("toy2", 5e13, 1e13, "bf16", "toy")):
        for n, t, b in [(350, 64, 1), (4146, 64, 256), (16, 3000, 1024)]:
            _, _, steps = serving.batch_flops_bytes(lm, n, t, b)
            loop = sum(roofline.predict_seconds(f, by, c) for f, by in steps)
            assert serving.decode_seconds(lm, n, t, b, c) == pytest.approx(loop, rel=1e-9)


def test_serving_estimate_of_a_million_tokens_is_instant():
    t0 = time.perf_counter()
    e = serving.serving_estimate("llama-2-7b", 576, 10**6, 8, DATASHEETS["H100-SXM"], 2.0)
    assert time.perf_counter() - t0 < 0.1 and math.isfinite(e.seconds) and e.seconds > 0


def test_allocations_larger_than_free_memory_are_refused_before_torch_tries():
    torch = pytest.importorskip("torch")
    from vlmlab.lm import DecoderLM

    from vlmlab.bench import is_oom

    # 4 KV values of 64 wide x 2 layers x 4 bytes per position: 10**12 positions = 1.9 PiB
    tiny = DecoderLM(TINY, context_window=2 * 10**12)
    with pytest.raises(MemoryError, match=r"needs [\d,.]+ GiB, [\d,.]+ GiB free.*max_new_tokens") as info:
        tiny.prefill(torch.zeros(1, 4, dtype=torch.long), max_new_tokens=10**12)
    assert isinstance(info.value, ValueError) and is_oom(info.value)   # a sweep records an OOM row
    # LLaMA-2-7B in fp32: 6.74e9 parameters x 4 bytes = 25.1 GiB
    if errors.free_bytes("cpu") < 25 * 2**30:
        with pytest.raises(MemoryError, match=r"needs 25.1 GiB"):
            DecoderLM(get_lm("llama-2-7b"))


def test_decoder_refuses_past_its_window_and_images_without_cross_attention():
    torch = pytest.importorskip("torch")
    from vlmlab.lm import DecoderLM

    lm = DecoderLM(TINY)
    with pytest.raises(ValueError, match="exceeds the context window of 'tiny' \\(128 tokens\\)"):
        lm(torch.zeros(1, 129, dtype=torch.long))
    with pytest.raises(ValueError, match="max_new_tokens"):
        lm.prefill(torch.zeros(1, 100, dtype=torch.long), max_new_tokens=29)
    lm.prefill(torch.zeros(1, 100, dtype=torch.long), max_new_tokens=28)   # exactly fills the window
    with pytest.raises(ValueError, match="no cross-attention layers"):
        lm(torch.zeros(1, 4, dtype=torch.long), visual=torch.randn(1, 3, 64))
    with pytest.raises(ValueError, match=r"input_ids must be token ids in \[0, vocab_size=256\)"):
        lm(torch.full((1, 4), 300))
    longer = DecoderLM(TINY, context_window=256)                            # on purpose
    assert longer(torch.zeros(1, 200, dtype=torch.long)).shape == (1, 200, 256)


def test_connector_forward_names_the_expected_shape():
    torch = pytest.importorskip("torch")
    from vlmlab import connectors as C

    mlp = C.build("mlp", d_in=32, d_out=64)
    with pytest.raises(ValueError, match=r"features must have shape \(batch, tokens, d_in=32\)"):
        mlp(torch.randn(1, 16, 33))
    with pytest.raises(ValueError, match="3 dimensions"):
        mlp(torch.randn(16, 32))
    with pytest.raises(ValueError, match="empty input"):
        C.build("qformer", d_in=32, d_out=64, d_model=32, n_layers=2, n_heads=4, d_ff=64)(torch.randn(1, 0, 32))
    with pytest.raises(TypeError, match="floating-point"):
        mlp(torch.ones(1, 16, 32, dtype=torch.long))
    with pytest.raises(ValueError, match="would turn 16 tokens into 64"):
        C.build("avgpool", d_in=32, d_out=64, k=8)(torch.randn(1, 16, 32))
    with pytest.raises(ValueError, match="n_in must be an integer >= 1"):
        mlp.output_tokens(-5)


def test_load_image_refuses_sizes_beyond_its_limit():
    pytest.importorskip("torch")
    from vlmlab.granularity import load_image

    with pytest.raises(ValueError, match="size_px must be at most 4,096"):
        load_image("photo", 20000)


def test_deepseek_moe_16b_total_and_active_match_the_paper():
    # DeepSeekMoE (Dai et al. 2024, arXiv:2401.06066), deepseek-ai/deepseek-moe-16b-base config.json:
    # 16.4B total parameters, 2.8B activated per token (one dense first layer, 2 shared + 6 of 64
    # routed experts of width 1,408 in the other 27).
    cfg = dict(model_type="deepseek", hidden_size=2048, num_hidden_layers=28, num_attention_heads=16,
               num_key_value_heads=16, intermediate_size=10944, moe_intermediate_size=1408,
               n_routed_experts=64, num_experts_per_tok=6, n_shared_experts=2, first_k_dense_replace=1,
               vocab_size=102400, max_position_embeddings=4096, hidden_act="silu", tie_word_embeddings=False)
    lm = from_hf_config(cfg)
    assert round(lm.params / 1e9, 1) == 16.4 and round(lm.active_params / 1e9, 1) == 2.8
