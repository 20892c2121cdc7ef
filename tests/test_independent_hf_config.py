"""vlmlab.hf_config.from_hf_config against official configs and hand counts (issue 12).

Every expected number is either a published parameter count (Gemma's, DeepSeek-MoE's, Qwen's)
or worked out by hand in the comment beside it from the config's shapes: embeddings
vocab x d (and an lm_head of the same size unless tied), per layer attention
d x q + 2 d x kv + q x d (+ biases), a gated MLP 3 d x d_ff or a plain one 2 d x d_ff, two
RMSNorm vectors of d, and a final norm of d. Error messages must name the config key, the bad
value and what is allowed (CONTRIBUTING: errors speak to the reader).
"""
import re
from types import SimpleNamespace

import pytest

from vlmlab import models
from vlmlab.hf_config import from_hf_config

# A tiny Llama-style config (LlamaConfig keys), counted by hand:
# d 64, 4 heads of 16, 2 kv heads (kv width 32), gated MLP of 128, 2 layers, vocab 100.
# attention 64*64 + 2*64*32 + 64*64 = 12,288; MLP 3*64*128 = 24,576; norms 128 -> 36,992 a layer
# -> 73,984; + embeddings 6,400 + untied lm_head 6,400 + final norm 64 = 86,848.
TINY = {"model_type": "llama", "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
        "num_key_value_heads": 2, "intermediate_size": 128, "vocab_size": 100,
        "max_position_embeddings": 512, "hidden_act": "silu", "tie_word_embeddings": False}
TINY_PARAMS = 86_848

# google/gemma-7b config.json (GemmaConfig: tie_word_embeddings defaults to True, written out
# here because a raw dict carries no class defaults). head_dim 256 is not 3072 / 16 = 192.
GEMMA_7B = {"model_type": "gemma", "hidden_size": 3072, "intermediate_size": 24576,
            "num_attention_heads": 16, "num_key_value_heads": 16, "head_dim": 256,
            "num_hidden_layers": 28, "vocab_size": 256000, "max_position_embeddings": 8192,
            "hidden_act": "gelu", "attention_bias": False, "tie_word_embeddings": True}
# google/gemma-2b config.json: 8 heads of 256 = 2048 / 8, one kv head
GEMMA_2B = {**GEMMA_7B, "hidden_size": 2048, "intermediate_size": 16384, "num_attention_heads": 8,
            "num_key_value_heads": 1, "num_hidden_layers": 18}

from hf_moe_configs import MIXTRAL, QWEN_MOE  # noqa: E402  (tests/ is on sys.path)
# deepseek-ai/deepseek-moe-16b-base config.json
DEEPSEEK_MOE = {"model_type": "deepseek", "hidden_size": 2048, "intermediate_size": 10944,
                "moe_intermediate_size": 1408, "num_attention_heads": 16,
                "num_key_value_heads": 16, "num_hidden_layers": 28, "n_routed_experts": 64,
                "n_shared_experts": 2, "num_experts_per_tok": 6, "first_k_dense_replace": 1,
                "vocab_size": 102400, "max_position_embeddings": 4096, "hidden_act": "silu",
                "tie_word_embeddings": False}


def _without(cfg, *keys):
    return {k: v for k, v in cfg.items() if k not in keys}


# --- dense decoders: published counts ------------------------------------------------------------
def test_gemma_7b_explicit_head_dim_and_gelu_gated_mlp():
    # Gemma technical report (arXiv 2403.08295), Table 2 / the HF model card: 8,537,680,896
    # parameters. By hand: q 3072 x 4096 = 12,582,912, k and v 2 x 3072 x 4096 = 25,165,824,
    # o 12,582,912 -> attention 50,331,648; GeGLU MLP (gated, 3 matrices although hidden_act is
    # gelu) 3 x 3072 x 24576 = 226,492,416; norms 6,144 -> 276,830,208 a layer x 28 =
    # 7,751,245,824; + tied embeddings 256000 x 3072 = 786,432,000 + final norm 3,072.
    lm = from_hf_config(GEMMA_7B, "gemma-7b")
    assert (lm.ffn, lm.d_head, lm.head_dim, lm.q_dim, lm.tied_embeddings) == ("swiglu", 256, 256, 4096, True)
    assert lm.params == lm.param_count() == 8_537_680_896
    assert lm.active_params == 8_537_680_896            # dense: every parameter is active
    assert (lm.qkv_bias, lm.o_bias, lm.context_window) == (False, False, 8192)


def test_gemma_2b_head_dim_equal_to_d_over_heads_is_not_kept():
    # head_dim 256 == 2048 / 8: LMConfig's d_head is documented as set only when it differs.
    # Published count 2,506,172,416; by hand: q 2048 x 2048 = 4,194,304, k and v 2 x 2048 x 256 =
    # 1,048,576, o 4,194,304 -> 9,437,184; MLP 3 x 2048 x 16384 = 100,663,296; norms 4,096 ->
    # 110,104,576 x 18 = 1,981,882,368; + tied 256000 x 2048 = 524,288,000 + 2,048.
    lm = from_hf_config(GEMMA_2B, "gemma-2b")
    assert lm.d_head is None and lm.head_dim == 256 and lm.kv_dim == 256
    assert lm.params == 2_506_172_416


def test_qwen2_vl_flat_config_has_qkv_biases():
    # Qwen/Qwen2-VL-2B-Instruct config.json (transformers 4.x, flat): its LM is Qwen2-1.5B's
    # shape, whose q, k, v projections carry biases. Published Qwen2-1.5B: 1,543,714,304. By hand:
    # q 1536^2 = 2,359,296 + bias 1,536; k, v 2 x 1536 x 256 = 786,432 + biases 512; o 2,359,296
    # -> 5,507,072; MLP 3 x 1536 x 8960 = 41,287,680; norms 3,072 -> 46,797,824 x 28 =
    # 1,310,339,072; + tied 151936 x 1536 = 233,373,696 + 1,536.
    cfg = {"model_type": "qwen2_vl", "hidden_size": 1536, "intermediate_size": 8960,
           "num_attention_heads": 12, "num_key_value_heads": 2, "num_hidden_layers": 28,
           "vocab_size": 151936, "max_position_embeddings": 32768, "hidden_act": "silu",
           "tie_word_embeddings": True}
    lm = from_hf_config(cfg)
    assert (lm.qkv_bias, lm.o_bias) == (True, False)
    assert lm.params == 1_543_714_304


def test_qwen2_vl_nested_text_config_has_qkv_biases():
    # Qwen2VLConfig().to_dict() in transformers 5: the LM's keys sit under text_config, whose
    # model_type is 'qwen2_vl_text'; the biases are the same as in the flat config above.
    text = {"model_type": "qwen2_vl_text", "hidden_size": 1536, "intermediate_size": 8960,
            "num_attention_heads": 12, "num_key_value_heads": 2, "num_hidden_layers": 28,
            "vocab_size": 151936, "max_position_embeddings": 32768, "hidden_act": "silu",
            "tie_word_embeddings": True}
    lm = from_hf_config({"model_type": "qwen2_vl", "text_config": text})
    assert lm.qkv_bias and lm.params == 1_543_714_304


def test_explicit_head_dim_kept_when_heads_do_not_divide_hidden():
    # transformers builds q_proj with heads x head_dim = 3 x 33 = 99 outputs. By hand: attention
    # 100 x 99 + 2 x 100 x 99 + 99 x 100 = 39,600; MLP 3 x 100 x 64 = 19,200; norms 200 ->
    # 59,000; + embeddings 1,000 + lm_head 1,000 + final norm 100 = 61,100
    cfg = {"hidden_size": 100, "num_attention_heads": 3, "num_key_value_heads": 3, "head_dim": 33,
           "num_hidden_layers": 1, "intermediate_size": 64, "vocab_size": 10,
           "max_position_embeddings": 16}
    lm = from_hf_config(cfg)
    assert (lm.head_dim, lm.q_dim, lm.params) == (33, 99, 61_100)


def test_attention_bias_adds_q_k_v_and_o_biases():
    # LlamaConfig(attention_bias=True) puts a bias on q, k, v and o: 64 + 32 + 32 + 64 = 192 a
    # layer -> TINY_PARAMS + 2 x 192 = 87,232.
    lm = from_hf_config({**TINY, "attention_bias": True})
    assert (lm.qkv_bias, lm.o_bias) == (True, True)
    assert lm.params == 87_232
    assert from_hf_config({**TINY, "attention_bias": False}).params == TINY_PARAMS


def test_defaults_of_a_bare_config():
    # No model_type, hidden_act, tie_word_embeddings or name: LlamaConfig's defaults (silu ->
    # gated MLP, untied lm_head) and the name 'custom'.
    cfg = _without(TINY, "model_type", "hidden_act", "tie_word_embeddings")
    lm = from_hf_config(cfg)
    assert (lm.name, lm.ffn, lm.tied_embeddings, lm.params) == ("custom", "swiglu", False, TINY_PARAMS)
    # hidden_act None or '' is the default too
    assert from_hf_config({**cfg, "hidden_act": None}).ffn == "swiglu"
    assert from_hf_config({**cfg, "model_type": None}).name == "custom"


@pytest.mark.parametrize("act, model_type, ffn, params", [
    ("silu", None, "swiglu", TINY_PARAMS),
    ("swish", "my-decoder", "swiglu", TINY_PARAMS),
    # a plain MLP: 2 x 64 x 128 = 16,384 instead of 24,576 a layer -> 86,848 - 2 x 8,192 = 70,464
    ("gelu_new", "phi", "gelu", 70_464),
    ("gelu", None, "gelu", 70_464),
    # a known gated family with a GELU activation (Gemma's GeGLU) stays gated
    ("gelu", "gemma", "swiglu", TINY_PARAMS),
    ("gelu_pytorch_tanh", "gemma2", "swiglu", TINY_PARAMS),
])
def test_ffn_kind_from_activation_and_family(act, model_type, ffn, params):
    cfg = {**TINY, "hidden_act": act}
    if model_type is None:
        del cfg["model_type"]
    else:
        cfg["model_type"] = model_type
    lm = from_hf_config(cfg)
    assert (lm.ffn, lm.params) == (ffn, params)


def test_ffn_override_and_module_reexport():
    # vlmlab.models.from_hf_config passes name, ffn and context_window through
    lm = models.from_hf_config(TINY, "tiny", ffn="gelu", context_window=256)
    assert (lm.name, lm.ffn, lm.context_window, lm.params) == ("tiny", "gelu", 256, 70_464)
    assert models.from_hf_config(TINY).name == "llama"


def test_name_precedence():
    # explicit name, then name_or_path (PretrainedConfig's property), then _name_or_path (its
    # to_dict() key), then model_type, then 'custom'
    cfg = {**TINY, "name_or_path": "org/a", "_name_or_path": "org/b"}
    assert from_hf_config(cfg, "mine").name == "mine"
    assert from_hf_config(cfg).name == "org/a"
    assert from_hf_config(_without(cfg, "name_or_path")).name == "org/b"
    assert from_hf_config(_without(cfg, "name_or_path", "_name_or_path")).name == "llama"
    assert from_hf_config(_without(cfg, "name_or_path", "_name_or_path", "model_type")).name == "custom"


def test_attribute_config_like_pretrainedconfig():
    # a PretrainedConfig is read through attributes, not keys
    lm = from_hf_config(SimpleNamespace(**TINY))
    assert (lm.name, lm.n_kv_heads, lm.params) == ("llama", 2, TINY_PARAMS)
    lm = from_hf_config(SimpleNamespace(**_without(TINY, "hidden_act", "tie_word_embeddings")))
    assert (lm.ffn, lm.tied_embeddings) == ("swiglu", False)


def test_context_window_argument_wins_and_is_checked():
    assert from_hf_config(TINY, context_window=4096).context_window == 4096
    assert from_hf_config(TINY).context_window == 512
    assert from_hf_config(_without(TINY, "max_position_embeddings"), context_window=77).context_window == 77
    with pytest.raises(ValueError, match=r"^context_window must be an integer >= 1, got 0$"):
        from_hf_config(TINY, context_window=0)
    with pytest.raises(TypeError, match=r"^context_window must be an integer >= 1, got str '4k'$"):
        from_hf_config(TINY, context_window="4k")
    msg = ("cfg lacks max_position_embeddings, so the context window is unknown; pass "
           "context_window=... (from the model card) rather than let vlmlab guess one")
    with pytest.raises(ValueError, match="^" + re.escape(msg) + "$"):
        from_hf_config(_without(TINY, "max_position_embeddings"))


# --- refusals: the key, the value and what is allowed ------------------------------------------
@pytest.mark.parametrize("key", ["hidden_size", "num_hidden_layers", "num_attention_heads",
                                 "intermediate_size", "vocab_size", "num_key_value_heads",
                                 "head_dim", "max_position_embeddings"])
def test_non_positive_shape_names_the_config_key(key):
    # the message names the config's key (not LMConfig's field) and the value
    with pytest.raises(ValueError, match=rf"^{key} must be an integer >= 1, got 0$"):
        from_hf_config({**TINY, key: 0})
    with pytest.raises(TypeError, match=rf"^{key} must be an integer >= 1, got float 1.5$"):
        from_hf_config({**TINY, key: 1.5})


def test_bad_shape_is_reported_before_a_missing_context_window():
    # the config's values are checked first: the reader learns about vocab_size 0, not only
    # that the context window is missing
    with pytest.raises(ValueError, match=r"^vocab_size must be an integer >= 1, got 0$"):
        from_hf_config({**_without(TINY, "max_position_embeddings"), "vocab_size": 0})


def test_missing_and_wrong_type_configs():
    msg = ("cfg lacks intermediate_size, vocab_size; from_hf_config needs hidden_size, "
           "num_hidden_layers, num_attention_heads, intermediate_size, vocab_size")
    with pytest.raises(ValueError, match="^" + re.escape(msg) + "$"):
        from_hf_config(_without(TINY, "intermediate_size", "vocab_size"))
    for bad, typename in [(42, "int"), ("llama", "str"), (SimpleNamespace(d_model=4), "SimpleNamespace")]:
        with pytest.raises(TypeError, match=r"^cfg must be a transformers PretrainedConfig or a dict "
                           rf"with 'hidden_size', got {typename}$"):
            from_hf_config(bad)


def test_unpriceable_attention_names_every_key():
    msg = ("cfg has kv_lora_rank, q_lora_rank: an attention or mixer that from_hf_config cannot "
           "price (it counts multi-head/grouped-query attention decoders)")
    with pytest.raises(ValueError, match="^" + re.escape(msg) + "$"):
        from_hf_config({**TINY, "kv_lora_rank": 512, "q_lora_rank": 1536})


# --- mixtures of experts -------------------------------------------------------------------------
# DeepSeek-MoE-16B by hand (see tests/test_independent_models.py for the official keys):
# embeddings + lm_head 2 x 102400 x 2048 = 419,430,400; attention + norms (4 x 2048^2 + 4,096)
# x 28 = 469,876,736; dense MLP 3 x 2048 x 10944 = 67,239,936; one routed expert 3 x 2048 x 1408
# = 8,650,752, 64 of them 553,648,128, router 2048 x 64 = 131,072; final norm 2,048.
DS_COMMON = 419_430_400 + 469_876_736 + 2048
DS_ROUTED = 64 * 8_650_752 + 131_072            # 553,779,200 a MoE layer, without shared experts


def test_deepseek_moe_official_config():
    # model card: 16.4B; 1 dense layer + 27 MoE layers with 2 shared experts (2 x 8,650,752)
    lm = from_hf_config(DEEPSEEK_MOE)
    assert (lm.n_experts, lm.experts_per_token, lm.d_expert) == (64, 6, 1408)
    assert (lm.d_shared_expert, lm.n_dense_layers, lm.shared_expert_gate) == (2816, 1, False)
    assert lm.params == DS_COMMON + 67_239_936 + 27 * (DS_ROUTED + 17_301_504) == 16_375_728_128


@pytest.mark.parametrize("drop, zero", [(("n_shared_experts", "first_k_dense_replace"), {}),
                                        ((), {"n_shared_experts": 0, "first_k_dense_replace": 0}),
                                        ((), {"n_shared_experts": None, "first_k_dense_replace": None})])
def test_deepseek_moe_without_shared_experts_or_dense_layers(drop, zero):
    # absent, 0 or null: no shared expert and every one of the 28 layers MoE:
    # 28 x 553,779,200 = 15,505,817,600 -> 16,395,126,784; active: 6 routed experts + router
    # = 52,035,584 a layer -> 28 x 52,035,584 + common = 2,346,305,536
    lm = from_hf_config({**_without(DEEPSEEK_MOE, *drop), **zero})
    assert (lm.d_shared_expert, lm.n_dense_layers) == (0, 0)
    assert lm.params == DS_COMMON + 28 * DS_ROUTED == 16_395_126_784
    assert lm.active_params == DS_COMMON + 28 * (6 * 8_650_752 + 131_072) == 2_346_305_536


def test_deepseek_moe_shared_experts_without_dense_layers():
    # 1 shared expert of 1408, no dense layer: 28 x (553,779,200 + 8,650,752) = 15,748,038,656
    # + common 889,309,184 = 16,637,347,840
    lm = from_hf_config({**DEEPSEEK_MOE, "n_shared_experts": 1, "first_k_dense_replace": 0})
    assert (lm.d_shared_expert, lm.n_dense_layers) == (1408, 0)
    assert lm.params == DS_COMMON + 28 * (DS_ROUTED + 8_650_752) == 16_637_347_840


@pytest.mark.parametrize("drop, zero", [(("shared_expert_intermediate_size",), {}),
                                        ((), {"shared_expert_intermediate_size": 0})])
def test_qwen_moe_without_shared_expert(drop, zero):
    # Qwen1.5-MoE-A2.7B without its shared expert (and its 1-wide gate): per layer attention with
    # q, k, v biases 4 x 2048^2 + 6,144 = 16,783,360; 60 experts 3 x 2048 x 1408 = 519,045,120;
    # router 2048 x 60 = 122,880; norms 4,096 -> 535,955,456 x 24 = 12,862,930,944; + 2 x 151936
    # x 2048 = 622,329,856 + 2,048 -> 13,485,262,848 (the model card's 14.3B less 24 x 34,605,056)
    lm = from_hf_config({**_without(QWEN_MOE, *drop), **zero})
    assert lm.d_shared_expert == 0 and lm.d_expert == 1408
    assert lm.params == 13_485_262_848


def test_mixtral_experts_are_as_wide_as_the_dense_mlp():
    # Mixtral has no moe_intermediate_size: each expert is d_ff wide (d_expert stays None)
    lm = from_hf_config(MIXTRAL)
    assert (lm.n_experts, lm.experts_per_token, lm.d_expert, lm.d_shared_expert) == (8, 2, None, 0)
    assert (lm.name, lm.params) == ("mixtral", 46_702_792_704)   # Jiang et al. 2024: 46.7B


@pytest.mark.parametrize("cfg, exc, pattern", [
    ({**MIXTRAL, "num_local_experts": 0}, ValueError, r"^num_local_experts must be an integer >= 1, got 0$"),
    ({**MIXTRAL, "num_experts_per_tok": 0}, ValueError, r"^num_experts_per_tok must be an integer >= 1, got 0$"),
    ({**QWEN_MOE, "moe_intermediate_size": 0}, ValueError,
     r"^moe_intermediate_size must be an integer >= 1, got 0$"),
    ({**QWEN_MOE, "shared_expert_intermediate_size": -1}, ValueError,
     r"^shared_expert_intermediate_size must be an integer >= 0, got -1$"),
    ({**DEEPSEEK_MOE, "n_shared_experts": -1}, ValueError, r"^n_shared_experts must be an integer >= 0, got -1$"),
    ({**DEEPSEEK_MOE, "first_k_dense_replace": -2}, ValueError,
     r"^first_k_dense_replace must be an integer >= 0, got -2$"),
    ({**DEEPSEEK_MOE, "n_routed_experts": 2.5}, TypeError, r"^n_routed_experts must be an integer >= 1, got float 2.5$"),
])
def test_moe_key_errors_name_the_key_and_value(cfg, exc, pattern):
    with pytest.raises(exc, match=pattern):
        from_hf_config(cfg)


def test_moe_refusals_say_what_is_missing_or_unsupported():
    msg = ("cfg has num_experts (a mixture of experts) but lacks num_experts_per_tok, "
           "moe_intermediate_size; from_hf_config needs them to price the experts")
    with pytest.raises(ValueError, match="^" + re.escape(msg) + "$"):
        from_hf_config(_without(QWEN_MOE, "num_experts_per_tok", "moe_intermediate_size"))
    msg = ("cfg['decoder_sparse_step'] = 2 mixes dense and MoE layers in a way from_hf_config "
           "cannot price (it supports every layer MoE, or the first first_k_dense_replace layers dense)")
    with pytest.raises(ValueError, match="^" + re.escape(msg) + "$"):
        from_hf_config({**QWEN_MOE, "decoder_sparse_step": 2})
