"""What the vision encoder costs, on paper: ViT FLOPs and bytes per image and per tile.

Every design pays its vision encoder before the language model sees a token, so an end-to-end
comparison of designs (chapter 7's 13.6x, the summary) must add it. A ViT layer over ``T``
tokens of width ``d`` costs, counting a multiply-add as 2 FLOPs and only matrix products (the
convention of :mod:`vlmlab.cost`, and what ``torch.utils.flop_counter.FlopCounterMode`` counts):

* ``qkv``: 2·T·d·3d, ``o_proj``: 2·T·d·d, ``mlp``: 2·2·T·d·d_ff (two matrices; GELU);
* ``scores`` and ``weighted_sum``: 2·T²·d each (full, bidirectional: no causal mask);
* once per view, ``patch_embed``: 2·P·(c·p²)·d for P patches of ``c·p²`` pixels each.

Attention is per *view*: a tiled model (LLaVA-NeXT, InternVL) runs the encoder once per tile,
so its attention grows with the tile count, not with its square; Mllama attends across its
tiles jointly (``views=1`` with all tiles' tokens). Bytes are a lower bound, as in
:func:`vlmlab.cost.prefill_bytes`: weights read once per call, each layer's input read and
output written once per token. Used by chapters 7, 11 and 12. No torch import.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from .errors import lookup, one_of, positive_int
from .units import Breakdown, dtype_bytes

LAYER_PARTS = ("qkv", "scores", "weighted_sum", "o_proj", "mlp")
_HF = "https://huggingface.co"


@dataclass(frozen=True)
class ViTConfig:
    """Shapes of a ViT encoder: ``image_size`` (square input, None for native resolution),
    ``patch_size``, ``channels`` pixels per patch position (3, or 3·2 for Qwen2-VL's frame
    pairs), ``cls_tokens`` (1 for CLIP/EVA, 0 for SigLIP and Qwen2-VL), ``mlp_matrices``."""

    name: str
    n_layers: int
    d_model: int
    n_heads: int
    d_ff: int
    patch_size: int
    image_size: int | None = None
    channels: int = 3
    cls_tokens: int = 0
    mlp_matrices: int = 2
    source: str = ""
    cite: str = ""

    def __post_init__(self):
        for arg in ("n_layers", "d_model", "n_heads", "d_ff", "patch_size", "channels", "mlp_matrices"):
            positive_int(arg, getattr(self, arg))
        if self.image_size is not None:
            positive_int("image_size", self.image_size)

    def tokens_per_view(self, height: int | None = None, width: int | None = None) -> int:
        """Tokens one view holds: patches of ``height`` x ``width`` (default: ``image_size``) + CLS."""
        h = positive_int("height", height if height is not None else self._size("height"))
        w = positive_int("width", width if width is not None else self._size("width"))
        return (h // self.patch_size) * (w // self.patch_size) + self.cls_tokens

    def _size(self, arg: str) -> int:
        if self.image_size is None:
            raise ValueError(f"{arg} is required: {self.name} has no fixed image_size")
        return self.image_size

    def param_count(self) -> int:
        """Weights of the layers and the patch embedding (norms, biases, positions left out)."""
        d = self.d_model
        per_layer = 4 * d * d + self.mlp_matrices * d * self.d_ff
        return self.n_layers * per_layer + self.channels * self.patch_size ** 2 * d


ENCODERS: dict[str, ViTConfig] = {e.name: e for e in [
    ViTConfig("clip-vit-l-14-336", 24, 1024, 16, 4096, 14, 336, cls_tokens=1,
              source=f"{_HF}/openai/clip-vit-large-patch14-336/blob/main/config.json",
              cite="radford2021clip"),
    ViTConfig("siglip-so400m-14-384", 27, 1152, 16, 4304, 14, 384,
              source=f"{_HF}/google/siglip-so400m-patch14-384/blob/main/config.json", cite="zhai2023siglip"),
    ViTConfig("eva-vit-g-14", 39, 1408, 16, 6144, 14, 224, cls_tokens=1,   # BLIP-2's vision_config
              source=f"{_HF}/Salesforce/blip2-opt-2.7b/blob/main/config.json", cite="fang2023eva"),
    ViTConfig("qwen2-vl-vit", 32, 1280, 16, 5120, 14, None, channels=6,    # 2 frames x RGB per patch
              source=f"{_HF}/Qwen/Qwen2-VL-7B-Instruct/blob/main/config.json", cite="wang2024qwen2vl"),
    ViTConfig("mllama-vit-h-14", 40, 1280, 16, 5120, 14, 560, cls_tokens=1,  # 32 local + 8 global
              source=f"{_HF}/meta-llama/Llama-3.2-11B-Vision/blob/main/config.json", cite="dubey2024llama3"),
]}


def get_encoder(name) -> ViTConfig:
    """The encoder preset ``name`` (or a :class:`ViTConfig`, returned as is). Chapter 12."""
    if isinstance(name, ViTConfig):
        return name
    return lookup(name, ENCODERS, what="vision encoder")


def _get(cfg, key, default=None):
    return cfg.get(key, default) if isinstance(cfg, Mapping) else getattr(cfg, key, default)


def from_hf_vision_config(cfg, name: str | None = None) -> ViTConfig:
    """A :class:`ViTConfig` from a transformers vision config (CLIP, SigLIP, BLIP-2, Qwen2-VL,
    Mllama) or its dict; a VLM config's ``vision_config`` is used. Chapter 12.

    CLIP/BLIP-2/Mllama read ``hidden_size``, ``intermediate_size``, ``num_hidden_layers``
    (+ Mllama's ``num_global_layers``); Qwen2-VL reads ``embed_dim``, ``depth``,
    ``mlp_ratio`` and ``temporal_patch_size``. CLS: one for CLIP, BLIP-2 and Mllama.
    """
    cfg = _get(cfg, "vision_config") or cfg
    kind = str(_get(cfg, "model_type", "") or "")
    if _get(cfg, "embed_dim") is not None and _get(cfg, "depth") is not None:   # Qwen2-VL
        d = _get(cfg, "embed_dim")
        return ViTConfig(name or kind or "vit", _get(cfg, "depth"), d, _get(cfg, "num_heads"),
                         d * _get(cfg, "mlp_ratio"), _get(cfg, "patch_size"), None,
                         channels=_get(cfg, "in_channels", 3) * _get(cfg, "temporal_patch_size", 1))
    missing = [k for k in ("hidden_size", "intermediate_size", "num_hidden_layers", "patch_size")
               if _get(cfg, k) is None]
    if missing:
        raise ValueError(f"cfg lacks {', '.join(missing)}; from_hf_vision_config needs a ViT config")
    layers = _get(cfg, "num_hidden_layers") + (_get(cfg, "num_global_layers", 0) or 0)
    heads = _get(cfg, "num_attention_heads") or _get(cfg, "attention_heads")
    cls = 0 if "siglip" in kind else 1
    size = _get(cfg, "image_size")
    return ViTConfig(name or kind or "vit", layers, _get(cfg, "hidden_size"), heads,
                     _get(cfg, "intermediate_size"), _get(cfg, "patch_size"),
                     size if isinstance(size, int) else None,
                     channels=_get(cfg, "num_channels", 3), cls_tokens=cls)


def vit_layer_flops(enc, tokens: int, views: int = 1) -> Breakdown:
    """FLOPs of one encoder layer over ``views`` views of ``tokens`` tokens each (chapter 12).

    Linear parts scale with ``views * tokens``; attention with ``views * tokens**2``.
    """
    enc = get_encoder(enc)
    t, v, d = positive_int("tokens", tokens), positive_int("views", views), enc.d_model
    half = 2 * v * t * t * d
    parts = {"qkv": 2 * v * t * d * 3 * d, "scores": half, "weighted_sum": half,
             "o_proj": 2 * v * t * d * d, "mlp": 2 * enc.mlp_matrices * v * t * d * enc.d_ff}
    return Breakdown(parts, unit="FLOP", label=f"{enc.name} layer, {v} x {t:,} tokens")


def encoder_flops(enc, tokens: int | None = None, views: int = 1, n_layers: int | None = None) -> Breakdown:
    """FLOPs of the whole encoder: ``n_layers`` (default: all) layers plus the patch embedding,
    for ``views`` views (tiles, or images) of ``tokens`` tokens each (default: one view at
    ``image_size``). Parts: ``patch_embed`` and :data:`LAYER_PARTS`. Chapters 7, 11, 12.
    """
    enc = get_encoder(enc)
    t = enc.tokens_per_view() if tokens is None else positive_int("tokens", tokens)
    v = positive_int("views", views)
    layers = enc.n_layers if n_layers is None else positive_int("n_layers", n_layers)
    patches = v * (t - enc.cls_tokens)
    parts = {"patch_embed": 2 * patches * enc.channels * enc.patch_size ** 2 * enc.d_model}
    parts.update(vit_layer_flops(enc, t, v).scaled(layers).parts)
    return Breakdown(parts, unit="FLOP", label=f"{enc.name}, {layers} layers, {v} x {t:,} tokens",
                     meta={"encoder": enc.name, "tokens": t, "views": v, "n_layers": layers})


def encoder_bytes(enc, tokens: int | None = None, views: int = 1, dtype="bf16",
                  n_layers: int | None = None) -> Breakdown:
    """Minimum bytes one encoder call moves: ``weights`` once, ``activations`` (each layer reads
    its input and writes its output: 2·layers·views·tokens·d), ``pixels`` read once. Ch. 12."""
    enc = get_encoder(enc)
    t = enc.tokens_per_view() if tokens is None else positive_int("tokens", tokens)
    v = positive_int("views", views)
    layers = enc.n_layers if n_layers is None else positive_int("n_layers", n_layers)
    b = dtype_bytes(dtype)
    sub = ViTConfig(enc.name, layers, enc.d_model, enc.n_heads, enc.d_ff, enc.patch_size,
                    enc.image_size, enc.channels, enc.cls_tokens, enc.mlp_matrices)
    parts = {"weights": sub.param_count() * b,
             "activations": 2 * layers * v * t * enc.d_model * b,
             "pixels": v * (t - enc.cls_tokens) * enc.channels * enc.patch_size ** 2 * b}
    return Breakdown(parts, unit="bytes", label=f"{enc.name} bytes, {v} x {t:,} tokens",
                     meta={"encoder": enc.name, "dtype": str(dtype)})


def image_encoder_flops(enc, height: int, width: int, tiling: str = "per-view", views: int = 1) -> Breakdown:
    """FLOPs to encode one ``height`` x ``width`` view, times ``views`` (chapters 7, 12).

    ``tiling='per-view'``: each view attends within itself (LLaVA-NeXT's tiles);
    ``'joint'``: all views' tokens attend together (Mllama's tiles; one long sequence).
    """
    enc = get_encoder(enc)
    one_of("tiling", tiling, ("per-view", "joint"))
    t, v = enc.tokens_per_view(height, width), positive_int("views", views)
    if tiling == "joint":
        joint = encoder_flops(enc, t * v, 1)
        fix = {"patch_embed": joint["patch_embed"] - 2 * (v - 1) * enc.cls_tokens * enc.channels
               * enc.patch_size ** 2 * enc.d_model}
        return Breakdown({**joint.parts, **fix}, unit="FLOP", label=joint.label, meta=joint.meta)
    return encoder_flops(enc, t, v)
