"""vlmlab.encoder_cost: ViT FLOPs checked against torch's FlopCounterMode on transformers' own
CLIP and SigLIP vision models, a hand derivation for CLIP ViT-L/14-336, the presets against the
released configs (transformers' config defaults), and the scaling laws as properties."""
from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from vlmlab import encoder_cost as ec
from vlmlab.errors import UnknownNameError


def _counted(model, pixels) -> int:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(pixel_values=pixels)
    return counter.get_total_flops()


@pytest.mark.parametrize("kind", ["clip", "siglip"])
@pytest.mark.parametrize("image,patch,layers", [(56, 14, 2), (64, 16, 1)])
def test_encoder_flops_equal_flopcountermode_on_transformers_vision_models(kind, image, patch, layers):
    import torch
    import transformers as tf

    common = dict(hidden_size=64, intermediate_size=160, num_hidden_layers=layers, num_attention_heads=4,
                  image_size=image, patch_size=patch)
    if kind == "clip":
        cfg = tf.CLIPVisionConfig(**common)
        model = tf.CLIPVisionModel(cfg)
    else:
        cfg = tf.SiglipVisionConfig(**common, vision_use_head=False)
        model = tf.SiglipVisionModel(cfg)
    cfg._attn_implementation = "eager"     # attention as two matmuls, which FlopCounterMode counts
    model.config._attn_implementation = "eager"
    for m in model.modules():
        if hasattr(m, "config"):
            m.config._attn_implementation = "eager"
    enc = ec.from_hf_vision_config(cfg)
    assert enc.cls_tokens == (1 if kind == "clip" else 0)
    counted = _counted(model.eval(), torch.randn(2, 3, image, image))
    assert counted == 2 * ec.encoder_flops(enc).total      # a batch of two images


def test_clip_l_336_by_hand():
    # d = 1024, d_ff = 4096, 577 tokens (24x24 patches + CLS), 24 layers:
    # linear per token 2(4d^2 + 2 d d_ff) = 2(4,194,304 + 8,388,608) = 25,165,824
    # attention 4 T^2 d = 4 * 577^2 * 1024 = 1,363,677,184 per layer
    # patch embedding 2 * 576 * (3 * 14 * 14) * 1024 = 693,633,024
    per_layer = 577 * 25_165_824 + 1_363_677_184
    assert ec.encoder_flops("clip-vit-l-14-336").total == 24 * per_layer + 693_633_024


def test_presets_match_released_configs_via_transformers_defaults():
    import transformers as tf

    # transformers' defaults for these classes are the released checkpoints' values
    assert ec.from_hf_vision_config(tf.Blip2VisionConfig()).d_model == ec.get_encoder("eva-vit-g-14").d_model
    blip = ec.from_hf_vision_config(tf.Blip2VisionConfig())
    eva = ec.get_encoder("eva-vit-g-14")
    assert (blip.n_layers, blip.d_ff, blip.patch_size, blip.image_size) == \
        (eva.n_layers, eva.d_ff, eva.patch_size, eva.image_size)
    qwen = ec.from_hf_vision_config(tf.Qwen2VLConfig().vision_config)
    ref = ec.get_encoder("qwen2-vl-vit")
    assert (qwen.n_layers, qwen.d_model, qwen.d_ff, qwen.channels, qwen.cls_tokens) == \
        (ref.n_layers, ref.d_model, ref.d_ff, ref.channels, ref.cls_tokens) == (32, 1280, 5120, 6, 0)
    ml = ec.from_hf_vision_config(tf.MllamaVisionConfig())
    assert ml.n_layers == 40 and ml.d_model == 1280 and ml.d_ff == 5120   # 32 local + 8 global


def test_tokens_per_view():
    assert ec.get_encoder("clip-vit-l-14-336").tokens_per_view() == 577
    assert ec.get_encoder("siglip-so400m-14-384").tokens_per_view() == 729
    assert ec.get_encoder("eva-vit-g-14").tokens_per_view() == 257
    with pytest.raises(ValueError, match="height is required"):
        ec.get_encoder("qwen2-vl-vit").tokens_per_view()


@settings(max_examples=30, deadline=None)
@given(views=st.integers(1, 16), tokens=st.integers(2, 4096))
def test_per_view_is_linear_in_views_and_joint_is_quadratic(views, tokens):
    one = ec.vit_layer_flops("clip-vit-l-14-336", tokens, 1)
    many = ec.vit_layer_flops("clip-vit-l-14-336", tokens, views)
    joint = ec.vit_layer_flops("clip-vit-l-14-336", tokens * views, 1)
    assert many.total == views * one.total
    assert joint["scores"] == views ** 2 * one["scores"]
    assert joint["mlp"] == many["mlp"]


@settings(max_examples=20, deadline=None)
@given(tokens=st.integers(2, 2048))
def test_attention_grows_4x_when_tokens_double(tokens):
    a = ec.vit_layer_flops("siglip-so400m-14-384", tokens)
    b = ec.vit_layer_flops("siglip-so400m-14-384", 2 * tokens)
    assert b["scores"] + b["weighted_sum"] == 4 * (a["scores"] + a["weighted_sum"])
    assert b["qkv"] == 2 * a["qkv"]


def test_joint_tiles_count_patches_once():
    per = ec.image_encoder_flops("mllama-vit-h-14", 560, 560, "per-view", 4)
    joint = ec.image_encoder_flops("mllama-vit-h-14", 560, 560, "joint", 4)
    assert joint["patch_embed"] == per["patch_embed"]
    assert joint["scores"] == 4 * per["scores"]


def test_bytes_weights_once_and_activations_per_token():
    enc = ec.get_encoder("clip-vit-l-14-336")
    b1 = ec.encoder_bytes(enc, dtype="bf16")
    b2 = ec.encoder_bytes(enc, views=2, dtype="bf16")
    assert b2["weights"] == b1["weights"] == 2 * enc.param_count()
    assert b2["activations"] == 2 * b1["activations"]


def test_errors_name_the_argument():
    with pytest.raises(UnknownNameError, match="clip-vit-l-14-336"):
        ec.get_encoder("clip-vit-l-14-33")
    with pytest.raises(ValueError, match="tokens"):
        ec.encoder_flops("clip-vit-l-14-336", 0)
    with pytest.raises(ValueError, match="tiling"):
        ec.image_encoder_flops("clip-vit-l-14-336", 336, 336, "diagonal")
    with pytest.raises(ValueError, match="ViT config"):
        ec.from_hf_vision_config({"hidden_size": 8})


def test_no_torch_at_import():
    import subprocess
    import sys

    code = "import sys, vlmlab.encoder_cost; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
