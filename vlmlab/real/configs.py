"""The five VLMs of chapter 12 as transformers configs: released widths, depth chosen by scale.

Every number below is copied from the released ``config.json`` whose URL sits beside it
(transformers' own config classes fill in nothing that matters here). :func:`hf_config` returns
the transformers config at full depth (``depth=None``) or with ``depth`` decoder layers and
``vision_depth`` encoder layers, and with a vocabulary of ``vocab`` rows (the offline tokenizer's
ids index it); the widths are always the released ones. Special-token ids come from the offline
tokenizer (:mod:`vlmlab.real.offline`). Used by chapter 12 ("Real models, measured").
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import lookup, positive_int

_HF = "https://huggingface.co"


@dataclass(frozen=True)
class RealModel:
    """One VLM: its transformers class, released config, token preset and native image sizes."""

    name: str
    hf_class: str             # class in transformers
    tokens_preset: str | None # vlmlab.tokens preset whose count the LM sequence must equal
    source: str               # released config.json
    cite: str
    sizes: tuple              # native (height, width) image sizes the chapter measures
    vision: dict = field(repr=False, default_factory=dict)
    text: dict = field(repr=False, default_factory=dict)
    extra: dict = field(repr=False, default_factory=dict)
    delivery: str = "concatenation"   # or 'resampler', 'cross-attention'


_CLIP_L_336 = dict(model_type="clip_vision_model", hidden_size=1024, intermediate_size=4096,
                   num_hidden_layers=24, num_attention_heads=16, image_size=336, patch_size=14,
                   projection_dim=768, hidden_act="quick_gelu")
_VICUNA_7B = dict(model_type="llama", hidden_size=4096, intermediate_size=11008, num_hidden_layers=32,
                  num_attention_heads=32, num_key_value_heads=32, vocab_size=32064,
                  max_position_embeddings=4096, rms_norm_eps=1e-5)
_PINPOINTS = [[336, 672], [672, 336], [672, 672], [1008, 336], [336, 1008]]

MODELS: dict[str, RealModel] = {m.name: m for m in [
    RealModel("llava-1.5", "LlavaForConditionalGeneration", "llava-1.5",
              f"{_HF}/llava-hf/llava-1.5-7b-hf/blob/main/config.json", "liu2024llava15",
              sizes=((336, 336),), vision=_CLIP_L_336, text=_VICUNA_7B,
              extra=dict(projector_hidden_act="gelu", vision_feature_layer=-2,
                         vision_feature_select_strategy="default")),
    RealModel("llava-next", "LlavaNextForConditionalGeneration", "llava-next",
              f"{_HF}/llava-hf/llava-v1.6-vicuna-7b-hf/blob/main/config.json", "liu2024llavanext",
              sizes=((672, 672), (336, 672)), vision=_CLIP_L_336, text=_VICUNA_7B,
              extra=dict(projector_hidden_act="gelu", vision_feature_layer=-2,
                         vision_feature_select_strategy="default", image_grid_pinpoints=_PINPOINTS)),
    RealModel("blip-2", "Blip2ForConditionalGeneration", "blip-2",
              f"{_HF}/Salesforce/blip2-opt-2.7b/blob/main/config.json", "li2023blip2",
              sizes=((224, 224),), delivery="resampler",
              vision=dict(hidden_size=1408, intermediate_size=6144, num_hidden_layers=39,
                          num_attention_heads=16, image_size=224, patch_size=14, qkv_bias=True),
              text=dict(model_type="opt", hidden_size=2560, ffn_dim=10240, num_hidden_layers=32,
                        num_attention_heads=32, vocab_size=50272, word_embed_proj_dim=2560,
                        max_position_embeddings=2048, activation_function="relu"),
              extra=dict(num_query_tokens=32, qformer_config=dict(
                  hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                  intermediate_size=3072, cross_attention_frequency=2, encoder_hidden_size=1408))),
    RealModel("qwen2-vl", "Qwen2VLForConditionalGeneration", "qwen2-vl",
              f"{_HF}/Qwen/Qwen2-VL-7B-Instruct/blob/main/config.json", "wang2024qwen2vl",
              sizes=((448, 448), (448, 672)),
              vision=dict(depth=32, embed_dim=1280, hidden_size=3584, mlp_ratio=4, num_heads=16,
                          in_channels=3, patch_size=14, spatial_merge_size=2, temporal_patch_size=2),
              text=dict(hidden_size=3584, intermediate_size=18944, num_hidden_layers=28,
                        num_attention_heads=28, num_key_value_heads=4, vocab_size=152064,
                        max_position_embeddings=32768, rms_norm_eps=1e-6,
                        rope_parameters=dict(rope_type="default", rope_theta=1000000.0,
                                             mrope_section=[16, 24, 24]))),
    RealModel("mllama", "MllamaForConditionalGeneration", None,
              f"{_HF}/meta-llama/Llama-3.2-11B-Vision/blob/main/config.json", "dubey2024llama3",
              sizes=((1120, 1120),), delivery="cross-attention",
              vision=dict(hidden_size=1280, intermediate_size=5120, num_hidden_layers=32,
                          num_global_layers=8, attention_heads=16, image_size=560, patch_size=14,
                          max_num_tiles=4, vision_output_dim=7680,
                          intermediate_layers_indices=[3, 7, 15, 23, 30],
                          supported_aspect_ratios=[[1, 1], [1, 2], [1, 3], [1, 4], [2, 1],
                                                   [2, 2], [3, 1], [4, 1]]),
              text=dict(hidden_size=4096, intermediate_size=14336, num_hidden_layers=40,
                        num_attention_heads=32, num_key_value_heads=8, vocab_size=128256,
                        max_position_embeddings=131072, rms_norm_eps=1e-5,
                        cross_attention_layers=[3, 8, 13, 18, 23, 28, 33, 38],
                        rope_parameters=dict(rope_type="llama3", rope_theta=500000.0, factor=8.0,
                                             low_freq_factor=1.0, high_freq_factor=4.0,
                                             original_max_position_embeddings=8192))),
]}


def get_model(name: str) -> RealModel:
    """The row called ``name`` (unknown names suggest close matches). Chapter 12."""
    return lookup(name, MODELS, what="real model")


def full_depths(model) -> dict[str, int]:
    """Released depths: ``{'text': decoder layers, 'vision': encoder layers, 'cross': cross-attention
    layers among the decoder's}`` (Mllama's vision counts its 32 local + 8 global layers)."""
    m = get_model(model) if isinstance(model, str) else model
    v = m.vision.get("num_hidden_layers", m.vision.get("depth"))
    return {"text": m.text["num_hidden_layers"], "vision": v + m.vision.get("num_global_layers", 0),
            "cross": len(m.text.get("cross_attention_layers", ()))}


def _reduced(m: RealModel, depth: int, vision_depth: int) -> tuple[dict, dict]:
    vision, text = dict(m.vision), dict(m.text)
    text["num_hidden_layers"] = depth
    if m.name == "mllama":   # keep one cross-attention layer: the last one; one local + one global
        if depth < 2:
            raise ValueError(f"depth must be >= 2 for mllama (a self- and a cross-attention layer), got {depth}")
        text["cross_attention_layers"] = [depth - 1]
        vision.update(num_hidden_layers=vision_depth, num_global_layers=1,
                      intermediate_layers_indices=[min(i, vision_depth - 1) for i in
                                                   vision["intermediate_layers_indices"]])
    elif "depth" in vision:
        vision["depth"] = vision_depth
    else:
        vision["num_hidden_layers"] = vision_depth
    return vision, text


def hf_config(model, ids: dict, *, depth: int | None = None, vision_depth: int | None = None,
              vocab: int | None = None, max_tiles: int | None = None):
    """The transformers config of ``model`` with released widths (chapter 12).

    ``depth``/``vision_depth`` = None keep the released depths; ``vocab`` = None keeps the
    released vocabulary; ``ids`` are the offline tokenizer's special-token ids.
    """
    import transformers

    m = get_model(model) if isinstance(model, str) else model
    if depth is None:
        vision, text = dict(m.vision), dict(m.text)
    else:
        vision, text = _reduced(m, positive_int("depth", depth), positive_int("vision_depth", vision_depth or 1))
    if max_tiles is not None and m.name == "mllama":
        t = positive_int("max_tiles", max_tiles)
        vision.update(max_num_tiles=t, supported_aspect_ratios=[
            r for r in vision["supported_aspect_ratios"] if r[0] * r[1] <= t])
    if vocab is not None:
        text["vocab_size"] = positive_int("vocab", vocab)
    text.update(pad_token_id=ids["pad"], bos_token_id=ids["bos"], eos_token_id=ids["eos"])
    kw = dict(m.extra)
    if m.name == "qwen2-vl":
        kw.update(image_token_id=ids["image_pad"], vision_start_token_id=ids["vision_start"],
                  vision_end_token_id=ids["vision_end"], video_token_id=ids["video"])
    elif m.name == "mllama":
        kw["image_token_index"] = ids["mllama_image"]
    else:
        kw["image_token_index"] = ids["image"]
    config_class = getattr(transformers, m.hf_class.replace("ForConditionalGeneration", "Config"))
    return config_class(vision_config=vision, text_config=text, **kw)
