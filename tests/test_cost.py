"""vlmlab.cost: FLOPs against torch's FlopCounterMode on transformers modules, KV bytes against a
real cache, scaling laws as hypothesis properties, and hand derivations for the essay's numbers."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vlmlab import cost
from vlmlab.models import from_hf_config, get_lm, list_lms

PRESETS = st.sampled_from(list_lms())
TOKENS = st.integers(min_value=1, max_value=200_000)


# --- independent implementation: torch's FLOP counter on random-initialised transformers models

def _tiny(attn="eager", **kw):
    tf = pytest.importorskip("transformers")
    args = dict(hidden_size=64, intermediate_size=176, num_hidden_layers=2, num_attention_heads=8,
                num_key_value_heads=2, vocab_size=97, max_position_embeddings=512)
    cfg = tf.LlamaConfig(**{**args, **kw})
    cfg._attn_implementation = attn
    return cfg, tf.LlamaForCausalLM(cfg).eval()


def _count(fn):
    torch = pytest.importorskip("torch")
    from torch.utils.flop_counter import FlopCounterMode

    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        out = fn()
    return counter.get_total_flops(), counter.get_flop_counts()["Global"], out


@pytest.mark.parametrize("n", [1, 17, 64])
def test_prefill_flops_equal_flop_counter_on_eager_llama_with_gqa(n):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    cfg, model = _tiny()
    total, _, _ = _count(lambda: model(torch.randint(0, 97, (1, n))))
    assert cost.model_prefill_flops(from_hf_config(cfg), n).total == total  # exact


def test_layer_flops_equal_flop_counter_on_one_decoder_layer():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    cfg, model = _tiny(num_hidden_layers=1)
    ids = torch.randint(0, 97, (1, 40))
    total, _, _ = _count(lambda: model.model(ids))  # base model: layers only, no lm_head
    assert cost.layer_prefill_flops(from_hf_config(cfg), 40).total == total


def test_decode_step_flops_equal_flop_counter():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    cfg, model = _tiny()
    with torch.no_grad():
        out = model(torch.randint(0, 97, (1, 30)), use_cache=True)
    cache = getattr(out, "cache", None) or out.past_key_values
    key = "cache" if hasattr(out, "cache") else "past_key_values"
    total, _, _ = _count(lambda: model(torch.randint(0, 97, (1, 1)), use_cache=True, **{key: cache}))
    assert cost.decode_step_flops(from_hf_config(cfg), context=30).total == total


def test_flop_counter_misses_cpu_sdpa_attention():
    """What FlopCounterMode counts: eager attention runs bmm (counted), and so does SDPA's math
    backend; but SDPA's CPU flash kernel (aten._scaled_dot_product_flash_attention_for_cpu) has
    no registered formula in torch 2.13, so on CPU only the linear layers are seen."""
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    cfg, model = _tiny(attn="sdpa")
    ids = torch.randint(0, 97, (1, 64))
    total, per_op, _ = _count(lambda: model(ids))
    flops = cost.model_prefill_flops(from_hf_config(cfg), 64)
    attention = flops["scores"] + flops["weighted_sum"]
    if total == flops.total - attention:      # the CPU flash kernel: attention invisible
        assert all("bmm" not in str(op) for op in per_op)
    else:                                     # a kernel with a formula (or math backend)
        assert total == flops.total


# --- KV cache bytes against the tensors of a real transformers cache

def test_kv_cache_bytes_equal_the_tensors_of_a_transformers_cache():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    cfg, model = _tiny(num_hidden_layers=3)
    model = model.to(torch.bfloat16)
    with torch.no_grad():
        out = model(torch.randint(0, 97, (2, 21)), use_cache=True)
    cache = getattr(out, "cache", None) or out.past_key_values
    nbytes = sum(layer.keys.nbytes + layer.values.nbytes for layer in cache.layers)
    assert cost.kv_cache_bytes(from_hf_config(cfg), 21, batch=2, dtype=torch.bfloat16) == nbytes


# --- scaling laws (hypothesis)

@settings(max_examples=60, deadline=None)
@given(PRESETS, TOKENS)
def test_prefill_flops_are_monotone_in_n(name, n):
    assert cost.model_prefill_flops(name, n + 1).total > cost.model_prefill_flops(name, n).total
    assert cost.decode_step_flops(name, n).total > cost.decode_step_flops(name, n - 1).total


def _matmul_weights(lm):
    """Weights a token multiplies (2 FLOPs each): the published shapes' parameter count
    (test_models checks it against the model cards) less the input embedding table (a gather;
    with tied embeddings the table is the lm_head and stays), the RMSNorm vectors and biases."""
    L, d = lm.n_layers, lm.d_model
    return (lm.active_param_count() - (0 if lm.tied_embeddings else lm.vocab_size * d)
            - (2 * L + 1) * d - L * (lm.q_dim + 2 * lm.kv_dim) * lm.qkv_bias - L * d * lm.o_bias)


@settings(max_examples=60, deadline=None)
@given(PRESETS, TOKENS, st.booleans())
def test_totals_equal_parameter_count_plus_attention(name, n, causal):
    # Every preset: 2 FLOPs per matmul weight per token, plus the score and weighted-sum
    # products, 4 n^2 q_dim per layer (n(n+1)/2 query-key pairs when causal: 2 n(n+1) q_dim).
    lm = get_lm(name)
    attention = 2 * n * (n + 1) * lm.q_dim if causal else 4 * n * n * lm.q_dim
    assert cost.model_prefill_flops(name, n, causal).total == n * 2 * _matmul_weights(lm) + lm.n_layers * attention
    # a decode step: one token against n cached ones and itself, for a batch of 3
    assert cost.decode_step_flops(name, n, batch=3).total == 3 * (
        2 * _matmul_weights(lm) + lm.n_layers * 4 * (n + 1) * lm.q_dim)
    for b in (cost.layer_prefill_flops(name, n, causal), cost.prefill_bytes(name, n),
              cost.decode_step_bytes(name, n, batch=3)):
        assert all(v >= 0 for v in b.parts.values())


@settings(max_examples=60, deadline=None)
@given(PRESETS, TOKENS)
def test_score_flops_grow_4x_when_n_doubles_and_linear_parts_2x(name, n):
    one, two = cost.layer_prefill_flops(name, n), cost.layer_prefill_flops(name, 2 * n)
    assert two["scores"] == 4 * one["scores"] and two["weighted_sum"] == 4 * one["weighted_sum"]
    for part in ("q_proj", "kv_proj", "o_proj", "mlp"):
        assert two[part] == 2 * one[part]


@settings(max_examples=60, deadline=None)
@given(PRESETS, TOKENS, st.integers(1, 64))
def test_kv_bytes_linear_in_tokens_batch_and_kv_heads(name, n, batch):
    lm = get_lm(name)
    assert cost.kv_cache_bytes(lm, 2 * n) == 2 * cost.kv_cache_bytes(lm, n)
    assert cost.kv_cache_bytes(lm, n, batch) == batch * cost.kv_cache_bytes(lm, n)
    from dataclasses import replace
    mha = replace(lm, n_kv_heads=lm.n_heads)
    assert cost.kv_cache_bytes(mha, n) * lm.n_kv_heads == cost.kv_cache_bytes(lm, n) * lm.n_heads
    assert cost.kv_cache_bytes(lm, n) == n * cost.kv_bytes_per_token(lm)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 5000), st.integers(1, 5000))
def test_causal_prefill_counts_the_lower_triangle(n, _):
    lm = get_lm("llama-3-8b")
    full, causal = cost.layer_prefill_flops(lm, n), cost.layer_prefill_flops(lm, n, causal=True)
    assert causal["scores"] * 2 * n == full["scores"] * (n + 1)


# --- crossover: closed form against the breakdown, and a hand derivation

@pytest.mark.parametrize("name", list_lms())
@pytest.mark.parametrize("causal", [False, True])
def test_crossover_is_the_first_n_where_attention_wins(name, causal):
    n = cost.attention_crossover_tokens(name, causal=causal)

    def attention_wins(k):
        b = cost.layer_prefill_flops(name, k, causal)
        return b["scores"] + b["weighted_sum"] > b["q_proj"] + b["kv_proj"] + b["o_proj"] + b["mlp"]
    assert attention_wins(n) and not attention_wins(n - 1)


def test_crossover_llama2_7b_by_hand():
    # 4 N^2 d > 2 N (4 d^2 + 3 d 11008)  <=>  N > 2 d + 1.5 * 11008 = 8192 + 16512 = 24704
    assert cost.attention_crossover_tokens("llama-2-7b") == 24705
    assert cost.attention_crossover_tokens("llama-2-7b", causal=True) == 2 * 24704


# --- the essay's memory numbers, by hand (bytes)

def test_essay_kv_numbers_for_llama2_7b():
    lm = get_lm("llama-2-7b")
    assert cost.kv_cache_bytes(lm, 4146, dtype="fp16") == 4146 * 32 * 4096 * 2 * 2  # 2,173,698,048 B
    assert cost.kv_cache_bytes(lm, 350, dtype="fp16") == 350 * 32 * 4096 * 2 * 2    # 183,500,800 B
    assert cost.kv_bytes_per_token(lm, "fp16") == 512 * 1024
    assert cost.weight_bytes(lm, "fp16") == 2 * 6_738_415_616


def test_attention_score_and_matrix_bytes_by_hand():
    assert cost.attention_score_flops(4146, 4146, 32, 128) == 4 * 4146**2 * 4096
    assert cost.attention_matrix_bytes(4146, 4146, 32) == 32 * 4146**2 * 4
    assert cost.attention_matrix_bytes(10, 20, 2, batch=3, dtype="bf16") == 3 * 2 * 200 * 2


def test_decode_bytes_are_dominated_by_weights_then_cache():
    small = cost.decode_step_bytes("llama-2-7b", 100)
    big = cost.decode_step_bytes("llama-2-7b", 100_000, batch=8)
    assert small.share("weights") > 0.95
    assert big["kv_read"] == cost.kv_cache_bytes("llama-2-7b", 100_000, 8)
    assert big["kv_read"] > big["weights"]


@pytest.mark.parametrize("call, kind, pattern", [
    (lambda: cost.layer_prefill_flops("llama-2-7b", 0), ValueError, "n_tokens must be an integer >= 1, got 0"),
    (lambda: cost.kv_cache_bytes("llama-2-7b", -5), ValueError, "tokens must be an integer >= 0, got -5"),
    (lambda: cost.kv_cache_bytes("llama-2-7b", 10, dtype="fp12"), ValueError, "unknown dtype 'fp12'"),
    (lambda: cost.decode_step_flops("llama-2-7b", 10, batch=0), ValueError, "batch must be an integer >= 1"),
    (lambda: cost.model_prefill_flops(7, 10), TypeError, "lm must be an LMConfig or a preset name, got int 7"),
    (lambda: cost.model_prefill_flops("lama-2-7b", 10), KeyError, "did you mean 'llama-2-7b'"),
    (lambda: cost.attention_score_flops(10, 10, 0, 64), ValueError, "n_heads must be an integer >= 1"),
])
def test_bad_inputs_raise_clear_errors(call, kind, pattern):
    with pytest.raises(kind, match=pattern):
        call()


# --- independent formulas: Kaplan et al. (2020) Table 1 and hand counts for real presets

def test_forward_flops_match_kaplan_table_1_for_a_gpt_style_model():
    """Kaplan et al. 2020, Table 1: forward FLOPs per token = 2N + 2 n_layer n_ctx d_attn, with
    N = 2 d_model n_layer (2 d_attn + d_ff) non-embedding parameters, plus 2 d_model n_vocab to
    de-embed. Their attention term is the causal average; counting the diagonal, the N-token
    prompt has n(n+1)/2 query-key pairs, so the exact causal total is 2 L d n(n+1)."""
    from vlmlab.models import LMConfig

    L, d, ff, V, n = 12, 768, 3072, 50257, 1024  # GPT-2 small's shapes, no biases
    gpt = LMConfig("gpt-like", n_layers=L, d_model=d, n_heads=12, n_kv_heads=12, d_ff=ff, ffn="gelu",
                   vocab_size=V, context_window=1024, params=1)
    N = 2 * d * L * (2 * d + ff)
    kaplan_per_token = 2 * N + 2 * L * n * d + 2 * d * V
    got = cost.model_prefill_flops(gpt, n, causal=True).total
    assert got == n * (2 * N + 2 * d * V) + 2 * L * d * n * (n + 1)
    assert got / (n * kaplan_per_token) == pytest.approx(1, rel=1 / n)


def test_llama2_7b_forward_and_decode_by_hand():
    d, f, V, L = 4096, 11008, 32000, 32
    linear_per_token = L * 2 * (4 * d * d + 3 * d * f) + 2 * d * V  # 2 FLOPs per weight, + lm_head
    assert linear_per_token == 13_214_154_752                      # 2 x 6.607e9 matmul weights
    n = 1000
    assert cost.model_prefill_flops("llama-2-7b", n).total == n * linear_per_token + L * 4 * n * n * d
    # one decode step after 1,000 cached tokens: the new query scores 1,001 keys in every layer
    step = cost.decode_step_flops("llama-2-7b", 1000, batch=3)
    assert step.total == 3 * (linear_per_token + L * 4 * 1001 * d)
    assert step["lm_head"] == 3 * 2 * d * V


def test_gqa_narrows_only_the_kv_projection():
    # Llama-3-8B: 8 KV heads of 128 -> K and V are 1,024 wide; queries and scores keep 32 heads
    b = cost.layer_prefill_flops("llama-3-8b", 10)
    assert b["kv_proj"] == 10 * 2 * 2 * 4096 * 1024
    assert b["q_proj"] == b["o_proj"] == 10 * 2 * 4096 * 4096
    assert b["scores"] == b["weighted_sum"] == 2 * 10 * 10 * 32 * 128
    assert b["mlp"] == 10 * 2 * 3 * 4096 * 14336


def test_prefill_and_decode_bytes_by_hand():
    P, V, d, L = 6_738_415_616, 32000, 4096, 32          # Llama-2-7B, untied embeddings
    kv_token = 2 * L * d * 2                              # bf16 K and V of one token
    one = cost.prefill_bytes("llama-2-7b", 1)
    assert one.parts == {"weights": (P - V * d + 1 * d) * 2, "kv_read": kv_token,
                         "kv_write": kv_token, "activations": (2 * L * d + V) * 2}
    step = cost.decode_step_bytes("llama-2-7b", 1000, batch=2)
    assert step.parts == {"weights": (P - V * d + 2 * d) * 2, "kv_read": 2 * 1000 * kv_token,
                          "kv_write": 2 * kv_token, "activations": 2 * (2 * L * d + V) * 2}


@pytest.mark.parametrize("call, pattern", [
    (lambda: cost.layer_prefill_flops("llama-2-7b", 8, causal="no"), "causal must be True or False, got str 'no'"),
    (lambda: cost.model_prefill_flops("llama-2-7b", 8, lm_head=1), "lm_head must be True or False, got int 1"),
    (lambda: cost.attention_crossover_tokens("llama-2-7b", causal=None), "causal must be True or False"),
])
def test_flags_must_be_booleans(call, pattern):
    with pytest.raises(TypeError, match=pattern):
        call()
