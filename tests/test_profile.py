"""vlmlab.profile: golden cases from the chapters, transformers' processors and the vendors'
worked examples; the cross-attention formula against the torch module; stdlib-only imports."""
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vlmlab import cost
from vlmlab.models import LMConfig, get_lm
from vlmlab.profile import designs, profile
from vlmlab.tokens import list_hosted, list_models, visual_tokens

ROOT = Path(__file__).resolve().parents[1]
LLAMA2_7B_CONFIG = {  # meta-llama/Llama-2-7b-hf config.json (the keys from_hf_config reads)
    "model_type": "llama", "hidden_size": 4096, "num_hidden_layers": 32,
    "num_attention_heads": 32, "num_key_value_heads": 32, "intermediate_size": 11008,
    "vocab_size": 32000, "max_position_embeddings": 4096, "hidden_act": "silu",
    "tie_word_embeddings": False}


# --- chapter 7's serving plans (notebooks/07, committed outputs of the serving table) -----------
# LLaMA-2-7B, fp16, A100-40GB, $2.00 per GPU-hour, a 64-token answer; the batch is the largest
# whose KV cache (prompt + answer) fits beside the weights.
def test_chapter7_concatenate_plan():
    # the essay's 4,146 tokens: SAM-B's 64x64 = 4,096 patch tokens + 50 text tokens
    r = profile("llama-2-7b", "sam-vit-b-16", [(1024, 1024)], gpu="A100-40GB", dtype="fp16",
                price=2.0, prompt_tokens=50, alternatives=()).record
    assert r["sequence_tokens"] == 4146
    assert r["max_batch"] == 13 and r["batch"] == 13
    assert f"{r['images_per_second']:.2f}" == "3.14"
    assert f"{r['dollars_per_1000_images']:.3f}" == "0.177"
    one = profile("llama-2-7b", "sam-vit-b-16", [(1024, 1024)], gpu="A100-40GB", dtype="fp16",
                  price=2.0, prompt_tokens=50, batch=1, alternatives=()).record
    assert f"{one['prefill_seconds'] * 1e3:.2f}" == "186.56"        # chapter 7: 186.56 ms
    assert f"{one['decode_seconds_per_token'] * 64 * 1e3:.2f}" == "634.07"   # 634.07 ms
    assert f"{one['dollars_per_1000_images']:.3f}" == "0.456"


def test_chapter7_compress_plan():
    # 350 tokens: BLIP-2's 32 query tokens + 318 text tokens
    r = profile("llama-2-7b", "blip-2", [(224, 224)], gpu="A100-40GB", dtype="fp16", price=2.0,
                prompt_tokens=318, alternatives=()).record
    assert r["sequence_tokens"] == 350 and r["max_batch"] == 135
    assert f"{r['images_per_second']:.2f}" == "37.12"
    assert f"{r['dollars_per_1000_images']:.3f}" == "0.015"


# --- the issue's example against transformers' LLaVA-NeXT processor ---------------------------
def test_issue_example_matches_llava_next_processor():
    transformers = pytest.importorskip("transformers")
    import numpy as np
    from PIL import Image
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers.models.llava_next.image_processing_pil_llava_next import LlavaNextImageProcessorPil

    tk = Tokenizer(models.WordLevel({"[UNK]": 0, "<image>": 1}, unk_token="[UNK]"))
    tk.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok = transformers.PreTrainedTokenizerFast(tokenizer_object=tk, unk_token="[UNK]",
                                               additional_special_tokens=["<image>"])
    ip = LlavaNextImageProcessorPil(size={"shortest_edge": 336}, crop_size={"height": 336, "width": 336})
    proc = transformers.LlavaNextProcessor(image_processor=ip, tokenizer=tok, patch_size=14,
                                           vision_feature_select_strategy="default",
                                           num_additional_image_tokens=1)
    ids = proc(text="<image>", images=Image.new("RGB", (672, 672)), return_tensors="np")["input_ids"]
    expected = int((np.asarray(ids) == 1).sum())
    r = profile("llama-2-7b", "llava-next", [(672, 672)], gpu="H100").record
    assert r["visual_tokens"] == expected == 2928
    assert r["sequence_tokens"] == 2928 + 50
    assert r["context_share"] == pytest.approx((2928 + 50) / 4096)   # LLaMA-2's 4k window
    assert r["gpu"] == "H100-SXM"


# --- the vendors' worked examples (tokens/hosted.py, read 2026-12-05) --------------------------
@pytest.mark.parametrize("model,h,w,expected", [
    ("gpt-4o", 1024, 1024, 765),            # OpenAI: 4 tiles x 170 + 85
    ("gpt-4o", 4096, 2048, 1105),           # OpenAI: 2048x4096 -> 768x1536, 6 tiles
    ("gpt-4o", 2048, 4096, 1105),
    ("gpt-4.1-mini", 1024, 1024, round(1024 * 1.62)),   # 1,024 patches x 1.62
    ("gpt-4.1-mini", 2400, 1800, round(1452 * 1.62)),   # 1800x2400 -> 1,452 patches
    ("gpt-4.1-nano", 2400, 1800, round(1452 * 2.46)),
    ("claude", 200, 200, 54), ("claude", 1000, 1000, 1334), ("claude", 1092, 1092, 1590),
    ("gemini-2.0-flash", 384, 384, 258),    # both sides <= 384: one 258-token image
    ("gemini-2.0-flash", 768, 1536, 516),   # two 768-px tiles of 258
])
def test_hosted_rules_reproduce_vendor_examples(model, h, w, expected):
    assert visual_tokens(model, h, w) == expected


def test_hosted_low_detail_and_listing():
    assert visual_tokens("gpt-4o", 4096, 8192, detail="low") == 85    # OpenAI: any size, 85
    for name in list_hosted():
        with pytest.raises(TypeError, match="unknown option"):
            visual_tokens(name, 512, 512, max_pixels=10)
    assert set(list_hosted()).isdisjoint(list_models())              # open tables unchanged
    r = profile(None, "gpt-4o", [(1024, 1024)], prompt_tokens=50).as_dict()
    assert r["hosted"] and r["vendor"] == "OpenAI" and r["alternatives"] == []
    assert r["context_share"] == pytest.approx((765 + 50) / 128_000)
    assert "prefill_flops" not in r
    with pytest.raises(ValueError, match="architecture is not public"):
        profile("llama-2-7b", "claude", [(512, 512)])


# --- the cross-attention alternative against the torch module ----------------------------------
@pytest.mark.parametrize("n_text,n_visual", [(1, 16), (7, 64), (50, 576)])
def test_xattn_costs_match_gated_cross_attention_block(n_text, n_visual):
    torch = pytest.importorskip("torch")
    from vlmlab.connectors import GatedCrossAttentionBlock

    lm = LMConfig("tiny", n_layers=8, d_model=64, n_heads=4, n_kv_heads=2, d_ff=128,
                  ffn="swiglu", vocab_size=100, context_window=512, params=1)
    block = GatedCrossAttentionBlock(d_model=64, d_visual=64, n_heads=4, n_kv_heads=2,
                                     ff_mult=designs.XATTN_FF_MULT, ffn="gelu")
    x = designs.xattn_costs(lm, n_text, n_visual, "bf16")
    assert x["blocks"] == 8 // designs.XATTN_EVERY
    assert x["prefill_flops"] == x["blocks"] * block.flops(n_visual, n_text=n_text).total
    matrices = sum(m.weight.numel() for m in block.modules() if isinstance(m, torch.nn.Linear))
    assert x["weight_bytes"] == x["blocks"] * 2 * matrices    # bf16; norms, gates, biases left out
    assert x["kv_bytes"] == x["blocks"] * 2 * n_visual * 2 * 16 * 2        # K,V x tokens x kv_dim x bf16


# --- configs: a VLM's config.json prices like the preset ---------------------------------------
def test_vlm_config_gives_frontend_and_lm():
    vlm = {"model_type": "llava_next", "vision_config": {"model_type": "clip_vision_model"},
           "text_config": LLAMA2_7B_CONFIG}
    a = profile(vlm, None, [(672, 672)], gpu="H100").record
    b = profile("llama-2-7b", "llava-next", [(672, 672)], gpu="H100").record
    assert a["frontend"] == "llava-next"
    for key in ("visual_tokens", "sequence_tokens", "prefill_flops", "kv_cache_bytes", "context_share"):
        assert a[key] == b[key], key


def test_mixture_of_experts_is_priced_by_active_params_or_refused():
    moe = {**LLAMA2_7B_CONFIG, "model_type": "mixtral", "num_local_experts": 8,
           "num_experts_per_tok": 2}
    dense = profile(LLAMA2_7B_CONFIG, "llava-1.5", [(336, 336)]).record
    try:
        r = profile(moe, "llava-1.5", [(336, 336)]).record
    except ValueError as e:
        assert "mixture-of-experts" in str(e)
    else:  # from_hf_config reads experts: 2 of 8 experts per token, each as wide as the dense MLP
        assert r["prefill_flops"] > dense["prefill_flops"]
        assert r["lm_active_params"] < r["lm_params"]
        assert r["kv_cache_bytes"] == dense["kv_cache_bytes"]   # attention is unchanged


@pytest.mark.parametrize("kwargs,match", [
    (dict(frontend="llava1.6"), "did you mean"),
    (dict(images=[(672,)]), "height, width"),
    (dict(images=[(0, 672)]), "height"),
    (dict(gpu="H900"), "did you mean"),
    (dict(price=0), "price"),
    (dict(alternatives=("perceiver",)), "alternatives"),
])
def test_bad_input_names_the_argument(kwargs, match):
    args = {"frontend": "llava-next", "images": [(672, 672)], **kwargs}
    with pytest.raises((ValueError, TypeError, KeyError), match=match):
        profile("llama-2-7b", args.pop("frontend"), args.pop("images"), **args)


# --- properties ---------------------------------------------------------------------------------
@settings(max_examples=25, deadline=None)
@given(side=st.integers(64, 3000), n=st.integers(1, 4))
def test_n_identical_images_cost_n_times_the_tokens(side, n):
    one = profile("llama-3-8b", "qwen2-vl", [(side, side)], alternatives=()).record
    many = profile("llama-3-8b", "qwen2-vl", [(side, side)] * n, alternatives=()).record
    assert many["visual_tokens"] == n * one["visual_tokens"]
    assert many["sequence_tokens"] - 50 == n * (one["sequence_tokens"] - 50)
    assert many["max_batch"] <= one["max_batch"]


def test_alternatives_order_by_tokens():
    r = profile("llama-2-7b", "llava-next", [(672, 672)], gpu="H100").as_dict()
    alt = {a["design"]: a for a in r["alternatives"]}
    assert alt["all-patches"]["visual_tokens"] == 576 + 2304     # base + tiles, no newlines
    assert alt["pixel-shuffle-2x2"]["visual_tokens"] == (576 + 2304) // 4
    assert alt["resampler-64"]["visual_tokens"] == 64 * 5        # 4 tiles + the base view
    assert alt["cross-attention"]["sequence_tokens"] == 50
    kv = cost.kv_bytes_per_token(get_lm("llama-2-7b"), "bf16")
    assert alt["all-patches"]["kv_cache_bytes"] == kv * (2880 + 50 + 64)


def test_profile_imports_only_the_standard_library():
    probe = """
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in {'numpy', 'pandas', 'torch', 'matplotlib', 'transformers'}:
            raise ImportError(name)
sys.meta_path.insert(0, Block())
from vlmlab.cli import main
from vlmlab.profile import web
assert main(['profile', '--lm', 'llama-2-7b', '--frontend', 'llava-next', '--format', 'csv']) == 0
print(sorted(json.loads(web.choices())))
"""
    out = subprocess.run([sys.executable, "-c", "import json\n" + probe], cwd=ROOT,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("design,visual_tokens,")
    assert out.stdout.splitlines()[-1] == "['defaults', 'frontend', 'gpu', 'lm']"
