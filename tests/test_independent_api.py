"""The analytic core's contract, case by case (issue 12): every argument check names its own
argument, defaults are the documented ones, and the result objects carry the unit, label and
metadata the chapters print. Expected values are hand counts on tiny models written out here.
"""
import pytest

from vlmlab import budget, cost, roofline, serving
from vlmlab.models import LMConfig

# A tiny model to count by hand: d 8, 1 layer, 2 query heads and 1 KV head of 4, SwiGLU 16, vocab 10.
# attention: q 8x8 + k,v 2 x 8x4 + o 8x8 = 192; MLP 3 x 8 x 16 = 384; two norms 16; final norm 8;
# embeddings 10 x 8 = 80 (and an lm_head of 80 more when untied).
TIED = LMConfig("tiny-tied", n_layers=1, d_model=8, n_heads=2, n_kv_heads=1, d_ff=16, ffn="swiglu",
                vocab_size=10, context_window=64, params=680, tied_embeddings=True)
UNTIED = LMConfig("tiny", n_layers=1, d_model=8, n_heads=2, n_kv_heads=1, d_ff=16, ffn="swiglu",
                  vocab_size=10, context_window=64, params=760)


def test_tiny_models_by_hand():
    assert TIED.param_count() == 80 + 192 + 384 + 16 + 8 == 680
    assert UNTIED.param_count() == 760
    assert cost.weight_bytes(TIED) == 680 * 2              # default dtype bf16
    assert cost.weight_bytes(UNTIED, "fp32") == 760 * 4
    assert cost.kv_bytes_per_token(UNTIED) == 2 * 1 * 4 * 2  # K and V, 1 layer, 4 wide, bf16
    assert cost.kv_bytes_per_token(UNTIED, "fp32") == 32


def test_prefill_bytes_tied_untied_and_without_lm_head():
    # tied: every weight read once (the table serves as embedding and lm_head)
    b = cost.prefill_bytes(TIED, 3, "fp32")
    assert b.parts == {"weights": 680 * 4, "kv_read": 2 * 4 * 3 * 4, "kv_write": 2 * 4 * 3 * 4,
                       "activations": (2 * 1 * 3 * 8 + 3 * 10) * 4}
    assert b.unit == "bytes" and b.label == "tiny-tied prefill bytes, N=3"
    assert b.meta == {"model": "tiny-tied", "n_tokens": 3, "dtype": "fp32"}
    # without lm_head only the last position's logits are written
    assert cost.prefill_bytes(TIED, 3, "fp32", lm_head=False)["activations"] == (48 + 10) * 4
    # untied: of the input table only the 3 gathered rows; 12 tokens gather all 10 rows
    assert cost.prefill_bytes(UNTIED, 3, "fp32")["weights"] == (760 - 80 + 3 * 8) * 4
    assert cost.prefill_bytes(UNTIED, 12, "fp32")["weights"] == 760 * 4
    # default dtype is bf16
    assert cost.prefill_bytes(TIED, 3).parts == {k: v // 2 for k, v in b.parts.items()}
    assert cost.prefill_bytes(TIED, 3).meta["dtype"] == "bf16"


def test_decode_step_bytes_defaults_and_metadata():
    s = cost.decode_step_bytes(UNTIED, 5)
    # batch 1, bf16: weights with 1 gathered row, cache of 5 tokens read, 1 written, hidden states
    assert s.parts == {"weights": (760 - 80 + 8) * 2, "kv_read": 5 * 16, "kv_write": 16,
                       "activations": (2 * 8 + 10) * 2}
    assert s.unit == "bytes" and s.label == "tiny decode bytes, L=5, B=1"
    assert s.meta == {"model": "tiny", "context": 5, "batch": 1, "dtype": "bf16"}
    s3 = cost.decode_step_bytes(UNTIED, 5, batch=3, dtype="fp32")
    assert s3.parts == {"weights": (760 - 80 + 24) * 4, "kv_read": 3 * 5 * 32, "kv_write": 3 * 32,
                        "activations": 3 * (16 + 10) * 4}
    assert cost.decode_step_bytes(UNTIED, 0)["kv_read"] == 0  # an empty cache is allowed


def test_attention_matrix_bytes_default_is_fp32():
    assert cost.attention_matrix_bytes(3, 5, 2) == 3 * 5 * 2 * 4
    assert cost.attention_matrix_bytes(3, 5, 2, batch=2) == 2 * 3 * 5 * 2 * 4
    assert cost.attention_score_flops(3, 5, 2, 4) == 2 * 2 * 3 * 5 * 2 * 4


def test_memory_per_sequence_defaults_and_metadata():
    m = serving.memory_per_sequence(UNTIED, 6)
    # fp16 by default: KV 6 x 16 bytes; SwiGLU workspace 6 x (3 x 16 + 4 x 8) x 2; no score
    # matrix (flash); last-position logits 10 x 4
    assert m.parts == {"kv_cache": 6 * 16, "mlp_workspace": 6 * 80 * 2, "attention_scores": 0,
                       "logits": 40}
    assert m.unit == "bytes" and m.label == "tiny, one request of 6 tokens"
    assert m.meta == {"tokens": 6, "dtype": "fp16", "attention": "flash", "logits": "last"}
    e = serving.memory_per_sequence(UNTIED, 6, "fp32", attention="eager", logits="all")
    assert e.parts == {"kv_cache": 6 * 32, "mlp_workspace": 6 * 80 * 4,
                       "attention_scores": 2 * 6 * 6 * 4, "logits": 6 * 10 * 4}
    assert e.meta == {"tokens": 6, "dtype": "fp32", "attention": "eager", "logits": "all"}


def test_max_batch_default_dtype_is_fp16():
    # fp16 weights 760 x 2 = 1,520 B; KV-only sequences of 6 tokens: 6 x 16 = 96 B
    assert serving.max_batch(UNTIED, 6, 1520 + 96 * 7, activations=False) == 7
    assert serving.max_batch(UNTIED, 6, 1520 + 96 * 7 - 1, activations=False) == 6


def test_batch_flops_bytes_default_dtype_is_bf16():
    assert serving.batch_flops_bytes(UNTIED, 4, 2, 1) == serving.batch_flops_bytes(UNTIED, 4, 2, 1, "bf16")
    assert serving.batch_flops_bytes(UNTIED, 4, 2, 1) != serving.batch_flops_bytes(UNTIED, 4, 2, 1, "fp32")


# --- every check names its argument ------------------------------------------------------------
@pytest.mark.parametrize("arg, call", [
    ("n_q", lambda: cost.attention_score_flops(0, 1, 1, 1)),
    ("n_kv", lambda: cost.attention_score_flops(1, 0, 1, 1)),
    ("n_heads", lambda: cost.attention_score_flops(1, 1, 0, 1)),
    ("head_dim", lambda: cost.attention_score_flops(1, 1, 1, 0)),
    ("n_q", lambda: cost.attention_matrix_bytes(0, 1, 1)),
    ("n_kv", lambda: cost.attention_matrix_bytes(1, 0, 1)),
    ("n_heads", lambda: cost.attention_matrix_bytes(1, 1, 0)),
    ("batch", lambda: cost.attention_matrix_bytes(1, 1, 1, batch=0)),
    ("n_tokens", lambda: cost.prefill_bytes(UNTIED, 0)),
    ("lm_head", lambda: cost.prefill_bytes(UNTIED, 1, lm_head="yes")),
    ("context", lambda: cost.decode_step_bytes(UNTIED, -1)),
    ("batch", lambda: cost.decode_step_bytes(UNTIED, 1, batch=0)),
    ("tokens", lambda: cost.kv_cache_bytes(UNTIED, -1)),
    ("batch", lambda: cost.kv_cache_bytes(UNTIED, 1, batch=0)),
    ("n_tokens", lambda: cost.lm_head_flops(UNTIED, 0)),
    ("tokens", lambda: serving.memory_per_sequence(UNTIED, 0)),
    ("attention", lambda: serving.memory_per_sequence(UNTIED, 1, attention="sdpa")),
    ("logits", lambda: serving.memory_per_sequence(UNTIED, 1, logits="first")),
    ("activations", lambda: serving.memory_per_sequence(UNTIED, 1, activations=1)),
    ("new_tokens", lambda: serving.memory_per_sequence(UNTIED, 1, new_tokens=-1)),
    ("memory_bytes", lambda: serving.max_batch(UNTIED, 1, 0)),
    ("reserve_bytes", lambda: serving.max_batch(UNTIED, 1, 1e9, reserve_bytes=-1)),
    ("prompt_tokens", lambda: serving.batch_flops_bytes(UNTIED, 0, 1, 1)),
    ("new_tokens", lambda: serving.batch_flops_bytes(UNTIED, 1, -1, 1)),
    ("batch", lambda: serving.batch_flops_bytes(UNTIED, 1, 1, 0)),
    ("prompt_tokens", lambda: serving.decode_seconds(UNTIED, 0, 1, 1, roofline.DATASHEETS["H100-SXM"])),
    ("batch", lambda: serving.decode_seconds(UNTIED, 1, 1, 0, roofline.DATASHEETS["H100-SXM"])),
    ("context_window", lambda: budget.text_tokens_left(0, 1, 1)),
    ("n_images", lambda: budget.text_tokens_left(10, -1, 1)),
    ("tokens_per_image", lambda: budget.text_tokens_left(10, 1, 0)),
    ("context_window", lambda: budget.images_that_fit(0, 1)),
    ("tokens_per_image", lambda: budget.images_that_fit(10, 0)),
    ("text_tokens", lambda: budget.images_that_fit(10, 1, -1)),
    ("context_window", lambda: budget.dialogue_turns(0, 1, 1)),
    ("image_tokens", lambda: budget.dialogue_turns(10, -1, 1)),
    ("tokens_per_turn", lambda: budget.dialogue_turns(10, 1, 0)),
    ("context_window", lambda: budget.overflow_tokens(0, 1)),
    ("token_counts", lambda: budget.overflow_tokens(10, -1)),
    ("bytes_moved", lambda: roofline.arithmetic_intensity(1, 0)),
    ("flops", lambda: roofline.arithmetic_intensity(-1, 1)),
])
def test_each_check_names_its_argument(arg, call):
    with pytest.raises((ValueError, TypeError), match=rf"(^|\W){arg} must be"):
        call()


def test_type_errors_show_the_bad_value():
    with pytest.raises(TypeError, match=r"device_name must be a str, got int 7"):
        roofline.datasheet_for(7)
    with pytest.raises(KeyError, match=r"unknown datasheet 'H1OO'"):
        roofline.get_datasheet("H1OO")
    with pytest.raises(TypeError, match=r"device must be a str.*got int 3"):
        roofline.fast_dtype(3)


@pytest.mark.parametrize("window, images, per", [(100, 1, 100), (100, 4, 25), (100, 0, 7), (3, 3, 1)])
def test_images_exactly_filling_the_window_leave_no_text(window, images, per):
    assert budget.text_tokens_left(window, images, per) == window - images * per
    if images:
        assert budget.text_tokens_left(window, images, per) == 0
        with pytest.raises(budget.ContextOverflowError, match="by 1 tokens"):
            budget.text_tokens_left(window - 1, images, per)


# --- FLOP breakdowns: part names, unit, label, metadata, integer counts ------------------------
def test_flop_breakdowns_carry_names_unit_label_and_meta():
    b = cost.layer_prefill_flops(UNTIED, 3)
    # per token: q 8x8, k and v 2 x 8x4, o 8x8 matmuls, SwiGLU 3 x 8 x 16; 2 FLOPs each
    assert list(b.parts) == ["q_proj", "kv_proj", "scores", "weighted_sum", "o_proj", "mlp"]
    assert b.parts == {"q_proj": 3 * 128, "kv_proj": 3 * 128, "scores": 2 * 9 * 8,
                       "weighted_sum": 2 * 9 * 8, "o_proj": 3 * 128, "mlp": 3 * 768}
    assert (b.unit, b.label) == ("FLOP", "tiny layer, N=3")
    assert b.meta == {"model": "tiny", "n_tokens": 3, "causal": False}
    c = cost.layer_prefill_flops(UNTIED, 3, causal=True)     # 3 x 4 / 2 = 6 query-key pairs
    assert c["scores"] == 2 * 6 * 8 and type(c["scores"]) is int and c.meta["causal"] is True
    m = cost.model_prefill_flops(UNTIED, 3)
    assert list(m.parts)[-1] == "lm_head" and m.parts["lm_head"] == 3 * 2 * 8 * 10
    assert (m.unit, m.label) == ("FLOP", "tiny prefill, N=3")
    assert m.meta == {"model": "tiny", "n_tokens": 3, "causal": False, "lm_head": True}
    assert cost.model_prefill_flops(UNTIED, 3, lm_head=False).parts["lm_head"] == 0
    d = cost.decode_step_flops(UNTIED, 4)                    # batch 1 by default
    assert d.parts == {"q_proj": 128, "kv_proj": 128, "scores": 2 * 5 * 8, "weighted_sum": 2 * 5 * 8,
                       "o_proj": 128, "mlp": 768, "lm_head": 2 * 8 * 10}
    assert (d.unit, d.label, d.meta) == ("FLOP", "tiny decode step, L=4, B=1",
                                        {"model": "tiny", "context": 4, "batch": 1})
    assert cost.lm_head_flops(UNTIED) == 2 * 8 * 10          # one position by default


def test_byte_counts_stay_integers_unless_fractional():
    assert type(cost.weight_bytes(UNTIED, "int4")) is int and cost.weight_bytes(UNTIED, "int4") == 380
    odd = LMConfig("odd", n_layers=1, d_model=3, n_heads=1, n_kv_heads=1, d_ff=16, ffn="swiglu",
                   vocab_size=5, context_window=8, params=219)
    # 15 + 15 embeddings/head, attention 4 x 9, MLP 3 x 3 x 16, norms 2 x 3 + 3 = 219 parameters
    assert odd.param_count() == 219 and cost.weight_bytes(odd, "int4") == 109.5
    assert type(cost.kv_cache_bytes(UNTIED, 3, dtype="fp32")) is int


@pytest.mark.parametrize("arg, call", [
    ("flops", lambda: roofline.predict_seconds(-1, 1, roofline.DATASHEETS["T4"])),
    ("bytes_moved", lambda: roofline.predict_seconds(1, -1, roofline.DATASHEETS["T4"])),
    ("dollars_per_hour", lambda: serving.serving_estimate(UNTIED, 1, 1, 1, roofline.DATASHEETS["T4"], 0)),
    ("context", lambda: cost.decode_step_flops(UNTIED, -1)),
    ("matmul_flops_per_s", lambda: roofline.Ceilings("x", 0, 1, "fp32", "s")),
    ("bandwidth_bytes_per_s", lambda: roofline.Ceilings("x", 1, -1, "fp32", "s")),
    ("memory_bytes", lambda: roofline.Ceilings("x", 1, 1, "fp32", "s", memory_bytes=0)),
    ("factor", lambda: __import__("vlmlab.units", fromlist=["Breakdown"]).Breakdown({"a": 1}).scaled(float("nan"))),
])
def test_more_checks_name_their_argument(arg, call):
    with pytest.raises((ValueError, TypeError), match=rf"(^|\W){arg} must be"):
        call()


def test_ceilings_checks_and_text():
    with pytest.raises(TypeError, match="name must be a str, got int 5"):
        roofline.Ceilings(5, 1, 1, "fp32", "s")
    with pytest.raises(ValueError, match="ridge point"):      # 1e300 / 1e-300 overflows
        roofline.Ceilings("x", 1e300, 1e-300, "fp32", "s")
    with pytest.raises(TypeError, match=r"ceilings must be a roofline.Ceilings .*got dict"):
        roofline.predict_seconds(1, 1, {"peak": 1})
    c = roofline.Ceilings("toy", 2e12, 1e11, "bf16", "hand")
    assert str(c).startswith("toy: 2.0 TFLOP/s (bf16 matmul), 100.0 GB/s, ridge 20 FLOP/B")
    moved = roofline.with_source(c, "measured")
    assert moved.source == "measured" and moved.matmul_flops_per_s == 2e12 and c.source == "hand"


def test_fp32_serving_by_hand_on_the_tiny_model():
    # fp32 (4 bytes) everywhere, so a dropped dtype (bf16 default) would change every byte count
    pf, pb, steps = serving.batch_flops_bytes(UNTIED, 4, 1, 2, dtype="fp32")
    # prefill bytes: weights with the lm_head and 4 gathered rows (760 - 80 + 32), then per
    # sequence K/V written and read (2 x 4 x 32) and hidden states 2 x 4 x 8 plus 10 logits
    assert pb == (760 - 80 + 32) * 4 + 2 * (2 * 4 * 32 + (2 * 4 * 8 + 10) * 4)
    # causal prefill: 4 tokens x 2 x 1,408 matmul weights of the layer (q 64, kv 64, o 64,
    # mlp 384 -> 576 x 2 = 1,152 FLOPs per token) + 2 x 10 x 8 pairs x 8 wide ... written out:
    layer = 4 * 2 * (64 + 64 + 64 + 384) + 2 * 2 * 8 * (4 * 5 // 2)
    assert pf == 2 * (layer + 2 * 8 * 10)
    assert steps == [(2 * (2 * (64 + 64 + 64 + 384) + 4 * 5 * 8 + 2 * 8 * 10),
                      (760 - 80 + 16) * 4 + 2 * (4 * 32 + 32 + (2 * 8 + 10) * 4))]
    assert serving.max_batch(UNTIED, 6, 760 * 4 + 192 * 3, "fp32", activations=False) == 3


def test_listed_steps_limit_is_inclusive(monkeypatch):
    monkeypatch.setattr(serving, "MAX_LISTED_STEPS", 3)
    assert len(serving.batch_flops_bytes(UNTIED, 4, 3, 1)[2]) == 3
    with pytest.raises(ValueError, match="new_tokens must be at most 3"):
        serving.batch_flops_bytes(UNTIED, 4, 4, 1)


def test_capability_must_be_integers():
    with pytest.raises(ValueError, match=r"capability must be a \(major, minor\) pair of ints"):
        roofline.fast_dtype("cuda", (8.0, 0))
