"""vlmlab.models on mixtures of experts and configs, against published counts (issue 12).

Shapes are typed from the official config.json files; the totals are the papers' and model
cards' numbers, and the exact counts are worked out by hand in the comments.
"""
import pytest

from vlmlab import cost
from vlmlab.models import LMConfig, from_hf_config, get_lm

from hf_moe_configs import MIXTRAL, QWEN_MOE  # noqa: E402  (tests/ is on sys.path)


def test_mixtral_matches_the_paper():
    # Jiang et al. 2024 (arXiv 2401.04088): 46.7B parameters, 12.9B active per token. By hand:
    # per layer attention 2 x 4096^2 + 2 x 4096 x 1024 = 41,943,040; router 4096 x 8 = 32,768;
    # experts 8 x 3 x 4096 x 14336 = 1,409,286,144; norms 8,192 -> x 32 layers, + embeddings and
    # lm_head 2 x 32000 x 4096 + final norm 4096 = 46,702,792,704. Active: 2 experts of 8.
    lm = from_hf_config(MIXTRAL, "mixtral")
    assert (lm.n_experts, lm.experts_per_token, lm.is_moe, lm.gqa_group) == (8, 2, True, 4)
    assert lm.param_count() == lm.params == 46_702_792_704
    assert lm.active_param_count() == lm.active_params == 12_879_925_248
    assert lm.layer_param_count() == 41_943_040 + 32_768 + 1_409_286_144 + 8_192
    # FLOPs: 2 per active matmul weight (router included), lm_head, plus attention
    n = 100
    per_token = 2 * (12_879_925_248 - 32000 * 4096 - 65 * 4096)
    assert cost.model_prefill_flops(lm, n).total == n * per_token + 32 * 4 * n * n * 4096
    assert lm.mlp_params_per_token() == 2 * 3 * 4096 * 14336 + 4096 * 8


def test_qwen_moe_matches_the_model_card():
    # Qwen1.5-MoE-A2.7B model card: 14.3B parameters, 2.7B activated. By hand, per layer:
    # attention 4 x 2048^2 + q,k,v biases 3 x 2048 = 16,783,360; 60 experts 3 x 2048 x 1408 =
    # 519,045,120; router 2048 x 60 = 122,880; shared expert 3 x 2048 x 5632 = 34,603,008 and its
    # 1-wide gate 2048; norms 4096 -> x 24, + 2 x 151936 x 2048 + 2048 = 14,315,784,192.
    lm = from_hf_config(QWEN_MOE, "qwen-moe")
    assert lm.qkv_bias and lm.d_expert == 1408 and lm.d_shared_expert == 5632
    assert lm.param_count() == 14_315_784_192
    # active: 4 routed experts of 60 -> 86,118,400 per layer -> 2,689,173,504
    assert lm.active_param_count() == 2_689_173_504


def test_deepseek_moe_first_layer_dense():
    # deepseek-ai/deepseek-moe-16b-base config.json: 28 layers, hidden 2048, 16 heads, dense
    # intermediate 10944 in the first layer, 64 routed experts of 1408 (6 per token), 2 shared
    # experts of 1408, vocab 102400. Model card: 16.4B parameters. By hand: embeddings 2 x
    # 102400 x 2048 = 419,430,400; attention 4 x 2048^2 = 16,777,216 per layer; dense MLP
    # 3 x 2048 x 10944 = 67,239,936; MoE MLP 64 x 8,650,752 + router 131,072 + shared 17,301,504
    # = 571,080,704; norms 4096 per layer, + 2048 final.
    cfg = {"model_type": "deepseek", "hidden_size": 2048, "intermediate_size": 10944,
           "moe_intermediate_size": 1408, "num_attention_heads": 16, "num_key_value_heads": 16,
           "num_hidden_layers": 28, "n_routed_experts": 64, "n_shared_experts": 2,
           "num_experts_per_tok": 6, "first_k_dense_replace": 1, "vocab_size": 102400,
           "max_position_embeddings": 4096, "hidden_act": "silu", "tie_word_embeddings": False}
    lm = from_hf_config(cfg, "deepseek-moe")
    assert (lm.n_dense_layers, lm.d_shared_expert, lm.shared_expert_gate) == (1, 2816, False)
    expected = (419_430_400 + 28 * (16_777_216 + 4096) + 67_239_936 + 27 * 571_080_704 + 2048)
    assert lm.param_count() == expected
    assert abs(expected / 16.4e9 - 1) < 0.01
    # active per MoE layer: 6 routed + router + shared = 6 x 8,650,752 + 131,072 + 17,301,504
    active = (419_430_400 + 28 * (16_777_216 + 4096) + 67_239_936
              + 27 * (6 * 8_650_752 + 131_072 + 17_301_504) + 2048)
    assert lm.active_param_count() == active
    assert lm.mlp_params_per_token() == (67_239_936 + 27 * (6 * 8_650_752 + 131_072 + 17_301_504)) / 28


@pytest.mark.parametrize("cfg, pattern", [
    ({**MIXTRAL, "num_experts_per_tok": None}, "cfg has num_local_experts .* lacks num_experts_per_tok"),
    ({**QWEN_MOE, "decoder_sparse_step": 2}, r"cfg\['decoder_sparse_step'\] = 2 mixes dense and MoE"),
    ({**QWEN_MOE, "mlp_only_layers": [3]}, r"cfg\['mlp_only_layers'\] = \[3\]"),
    ({**MIXTRAL, "kv_lora_rank": 512}, "cfg has kv_lora_rank"),
])
def test_from_hf_config_refuses_what_it_cannot_price(cfg, pattern):
    with pytest.raises(ValueError, match=pattern):
        from_hf_config(cfg, "x")


def test_config_properties_and_with_context():
    lm = get_lm("llama-3-8b")
    assert (lm.head_dim, lm.q_dim, lm.kv_dim, lm.gqa_group, lm.is_moe) == (128, 4096, 1024, 4, False)
    long = lm.with_context(131072)
    assert long.context_window == 131072 and long.params == lm.params and long.name == lm.name
    with pytest.raises(ValueError, match="context_window must be an integer >= 1, got 0"):
        lm.with_context(0)
    # an explicit head size wider than d_model / n_heads (Gemma-7B: 16 heads of 256, d 3072)
    g = LMConfig("g", n_layers=1, d_model=3072, n_heads=16, n_kv_heads=16, d_ff=8, ffn="gelu",
                 vocab_size=8, context_window=8, params=1, d_head=256)
    assert (g.head_dim, g.q_dim, g.kv_dim) == (256, 4096, 4096)
    # a dense model's active parameters are all of its published parameters
    assert lm.active_params == lm.params == 8_030_000_000


def test_lmconfig_checks_name_their_argument():
    base = dict(n_layers=2, d_model=8, n_heads=2, n_kv_heads=1, d_ff=16, ffn="swiglu",
                vocab_size=10, context_window=64, params=1)
    with pytest.raises(TypeError, match="name must be a str, got int 5"):
        LMConfig(5, **base)
    for kwargs, pattern in [({"n_dense_layers": -1}, r"^n_dense_layers must be"),
                            ({"qkv_bias": 1}, r"^qkv_bias must be True or False"),
                            ({"d_head": 0}, r"^d_head must be"),
                            ({"n_experts": 2, "experts_per_token": 3},
                             r"^experts_per_token must be <= n_experts \(2\), got 3"),
                            ({"n_experts": 2, "n_dense_layers": 3},
                             r"^n_dense_layers must be <= n_layers \(2\), got 3")]:
        with pytest.raises((TypeError, ValueError), match=pattern):
            LMConfig("x", **{**base, **kwargs})
    # every layer dense is the limit, still allowed
    assert LMConfig("x", **{**base, "n_experts": 2, "n_dense_layers": 2}).n_dense_layers == 2
    with pytest.raises(KeyError, match="unknown language model 'lama'"):
        get_lm("lama")


def test_moe_active_params_from_the_published_total():
    # Mixtral's shapes with the paper's rounded 46.7B: active_params is filled by the documented
    # rule, the published total times the shapes' active share 12,879,925,248 / 46,702,792,704
    lm = LMConfig("mixtral", n_layers=32, d_model=4096, n_heads=32, n_kv_heads=8, d_ff=14336,
                  ffn="swiglu", vocab_size=32000, context_window=32768, params=46_700_000_000,
                  n_experts=8, experts_per_token=2)
    assert lm.active_params == round(46_700_000_000 * 12_879_925_248 / 46_702_792_704) == 12_879_155_062
    assert lm.param_count() == 46_702_792_704
    # a dense model's MLP weights per token stay an integer
    assert type(get_lm("llama-2-7b").mlp_params_per_token()) is int


def test_layer_counts_dense_and_output_bias():
    # LLaMA-2-7B layer: 4 d^2 attention + 3 d d_ff MLP + 2 d norms = 202,383,360 (no router)
    assert get_lm("llama-2-7b").layer_param_count() == 4 * 4096**2 + 3 * 4096 * 11008 + 2 * 4096
    # an output-projection bias adds d parameters per layer
    base = dict(n_layers=2, d_model=8, n_heads=2, n_kv_heads=1, d_ff=16, ffn="swiglu",
                vocab_size=10, context_window=64, params=1)
    assert (LMConfig("b", **base, o_bias=True).param_count()
            - LMConfig("a", **base).param_count()) == 2 * 8
    # a mixture of experts' per-token MLP stays an integer when the layers divide it
    assert type(from_hf_config(MIXTRAL, "m").mlp_params_per_token()) is int
