"""vlmlab.models: presets against official configs, parameter counts against transformers' modules.

Expected shapes are copied from the official config.json files (URLs in each preset's
``source``); published parameter counts are the vendors' (see the comments in models.py).
"""
import re

import pytest

from vlmlab import errors
from vlmlab.context_windows import CONTEXT_WINDOWS, list_context_windows
from vlmlab.models import LMConfig, from_hf_config, get_lm, list_lms

# (layers, hidden, heads, kv heads, intermediate, vocab, context) from the official configs
OFFICIAL = {
    "llama-2-7b": (32, 4096, 32, 32, 11008, 32000, 4096),
    "llama-2-13b": (40, 5120, 40, 40, 13824, 32000, 4096),
    "vicuna-7b": (32, 4096, 32, 32, 11008, 32000, 4096),
    "llama-3-8b": (32, 4096, 32, 8, 14336, 128256, 8192),
    "llama-3.1-8b": (32, 4096, 32, 8, 14336, 128256, 131072),
    "mistral-7b": (32, 4096, 32, 8, 14336, 32000, 8192),   # paper Table 1 context_len
    "qwen2-7b": (28, 3584, 28, 4, 18944, 152064, 32768),    # Qwen2 blog: base 32K (config: 131072)
}


def test_presets_match_official_configs():
    assert set(OFFICIAL) <= set(list_lms())
    for name, (layers, d, h, kv, ff, vocab, ctx) in OFFICIAL.items():
        lm = get_lm(name)
        assert (lm.n_layers, lm.d_model, lm.n_heads, lm.n_kv_heads, lm.d_ff, lm.vocab_size,
                lm.context_window) == (layers, d, h, kv, ff, vocab, ctx), name
        assert lm.head_dim == 128 and lm.kv_dim == kv * 128
        assert lm.source.startswith("https://huggingface.co/") and lm.source.endswith("config.json")
        assert re.fullmatch(r"20\d\d-(0[1-9]|1[0-2])", lm.released)


def test_every_cite_key_is_in_references_bib():
    bib = open("book/references.bib", encoding="utf-8").read()
    keys = {lm.cite for lm in map(get_lm, list_lms())} | {r.cite for r in CONTEXT_WINDOWS if r.cite}
    for key in keys:
        assert re.search(r"@\w+\{" + re.escape(key) + ",", bib), key


# Exact counts a hand derivation gives (embeddings + layers + final norm + untied lm_head):
# LLaMA-2-7B: 2*32000*4096 + 32*(4*4096^2 + 3*4096*11008 + 2*4096) + 4096 = 6,738,415,616
# LLaMA-3-8B: 2*128256*4096 + 32*(2*4096^2 + 2*4096*1024 + 3*4096*14336 + 2*4096) + 4096
HAND = {"llama-2-7b": 6_738_415_616, "llama-3-8b": 8_030_261_248}


@pytest.mark.parametrize("name", list(HAND))
def test_param_count_matches_hand_derivation(name):
    assert get_lm(name).param_count() == HAND[name]


@pytest.mark.parametrize("name", [n for n in OFFICIAL if n != "qwen2-7b"])
def test_param_count_within_one_percent_of_published(name):
    lm = get_lm(name)
    assert abs(lm.param_count() / lm.params - 1) < 0.01


def test_qwen2_published_count_omits_the_untied_lm_head():
    # Qwen2 report: "7.07B"; the untied checkpoint holds one more 152,064 x 3,584 matrix.
    lm = get_lm("qwen2-7b")
    assert abs(lm.param_count() / lm.params - 1) > 0.05
    assert abs((lm.param_count() - 152064 * 3584) / lm.params - 1) < 0.01


def test_lookup_is_forgiving_and_suggests():
    assert get_lm("Llama_2_7B") is get_lm("llama-2-7b")
    with pytest.raises(errors.UnknownNameError, match="did you mean 'llama-2-7b'"):
        get_lm("llama-2-7")


@pytest.mark.parametrize("kwargs, kind, pattern", [
    (dict(n_heads=32, n_kv_heads=5), ValueError, r"n_heads \(32\) must be a multiple of n_kv_heads \(5\)"),
    (dict(ffn="relu"), ValueError, r"ffn must be one of 'swiglu', 'gelu'; got 'relu'"),
    (dict(n_layers=0), ValueError, r"n_layers must be an integer >= 1, got 0"),
    (dict(d_model=4096.0), TypeError, r"d_model must be an integer >= 1, got float 4096.0"),
    (dict(d_model=4000, n_heads=48, n_kv_heads=8), ValueError, r"d_model \(4000\) must be divisible"),
])
def test_bad_shapes_raise_clear_errors(kwargs, kind, pattern):
    base = dict(name="x", n_layers=2, d_model=4096, n_heads=32, n_kv_heads=8, d_ff=128, ffn="swiglu",
                vocab_size=10, context_window=16, params=1)
    with pytest.raises(kind, match=pattern):
        LMConfig(**{**base, **kwargs})


def test_lmconfig_is_frozen():
    with pytest.raises(AttributeError):
        get_lm("llama-2-7b").n_layers = 3


def test_from_hf_config_reads_a_dict_like_official_config_json():
    cfg = {"hidden_size": 3584, "num_hidden_layers": 28, "num_attention_heads": 28,
           "num_key_value_heads": 4, "intermediate_size": 18944, "vocab_size": 152064,
           "max_position_embeddings": 32768, "hidden_act": "silu", "tie_word_embeddings": False,
           "model_type": "qwen2"}
    lm = from_hf_config(cfg, name="qwen2-7b")
    ref = get_lm("qwen2-7b")
    assert lm.param_count() == ref.param_count() == lm.params
    assert (lm.kv_dim, lm.qkv_bias, lm.context_window) == (512, True, 32768)
    no_kv = from_hf_config({k: v for k, v in cfg.items() if k != "num_key_value_heads"})
    assert no_kv.n_kv_heads == 28  # defaults to the number of heads


def test_from_hf_config_rejects_incomplete_input():
    with pytest.raises(ValueError, match="cfg lacks intermediate_size"):
        from_hf_config({"hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
                        "vocab_size": 10})
    with pytest.raises(TypeError, match="cfg must be a transformers PretrainedConfig or a dict"):
        from_hf_config(42)


def test_param_count_equals_numel_of_random_transformers_models():
    torch = pytest.importorskip("torch")
    tf = pytest.importorskip("transformers")
    torch.manual_seed(0)
    cases = [
        tf.LlamaConfig(hidden_size=64, intermediate_size=176, num_hidden_layers=3,
                       num_attention_heads=8, num_key_value_heads=2, vocab_size=101),
        tf.LlamaConfig(hidden_size=64, intermediate_size=176, num_hidden_layers=2,
                       num_attention_heads=4, vocab_size=101, tie_word_embeddings=True),
        tf.Qwen2Config(hidden_size=64, intermediate_size=160, num_hidden_layers=2,
                       num_attention_heads=8, num_key_value_heads=2, vocab_size=101,
                       tie_word_embeddings=False),
        tf.MistralConfig(hidden_size=64, intermediate_size=224, num_hidden_layers=2,
                         num_attention_heads=8, num_key_value_heads=4, vocab_size=101),
    ]
    for cfg in cases:
        model = tf.AutoModelForCausalLM.from_config(cfg)
        numel = sum(p.numel() for p in model.parameters())  # tied weights are listed once
        assert from_hf_config(cfg).param_count() == numel, type(cfg).__name__


def test_context_windows_table_is_well_formed():
    assert len(CONTEXT_WINDOWS) >= 15
    for row in CONTEXT_WINDOWS:
        assert row.tokens > 0 and row.source.startswith("https://")
        assert re.fullmatch(r"20\d\d-(0[1-9]|1[0-2])", row.released)
        assert row.checked in ("primary", "secondary")
    by = {r.model: r.tokens for r in CONTEXT_WINDOWS}
    # values as the vendors publish them (Llama 2 paper; Anthropic's Claude 2.1 announcement)
    assert by["Llama 2"] == 4096 and by["Claude 2.1"] == 200_000 and by["GPT-4"] == 8192
    assert by["Gemini 1.5 Pro (2M)"] == 2_000_000 and by["Llama 3.1"] == 131_072
    assert all(r.open_weights for r in list_context_windows(open_weights=True))
    dates = [r.released for r in CONTEXT_WINDOWS]
    assert dates == sorted(dates)


def test_list_context_windows_rejects_non_boolean_filter():
    with pytest.raises(ValueError, match="open_weights must be None, True or False, got 'yes'"):
        list_context_windows(open_weights="yes")
    with pytest.raises(ValueError, match="got 1"):
        list_context_windows(open_weights=1)
