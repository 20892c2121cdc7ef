"""vlmlab's prediction for each part of a real VLM, on a device's ceilings (roofline).

FLOPs and bytes come from vlmlab's cost models, never from timing: :mod:`vlmlab.encoder_cost`
(vision encoder), :mod:`vlmlab.cost` (LM prefill, causal, and decode), and the connector's shapes
(:func:`connector_flops`: an MLP/linear projector, Qwen2-VL's merger, BLIP-2's Q-Former, written
out below). Seconds are ``roofline.predict_seconds`` per part: ``max(FLOPs / matmul ceiling,
bytes / copy ceiling)``. Mllama's cross-attention layers are priced on their own
(:func:`cross_layer`). Used by chapter 12.
"""
from __future__ import annotations

from dataclasses import replace

from .. import cost, encoder_cost
from ..models import LMConfig, from_hf_config
from ..roofline import predict_seconds
from ..units import dtype_bytes
from .construct import PARTS, Built
from .configs import full_depths


def lm_config(built: Built, full: bool = False) -> LMConfig:
    """The built LM's shapes as an :class:`LMConfig` (self-attention layers only; ``full``: the
    released depth). OPT (BLIP-2) has a 2-matrix ReLU MLP of ``ffn_dim``."""
    text = built.model.config.text_config
    depth = full_depths(built.spec)
    if text.model_type == "opt":
        lm = LMConfig("opt-2.7b", text.num_hidden_layers, text.hidden_size, text.num_attention_heads,
                      text.num_attention_heads, text.ffn_dim, "gelu", text.vocab_size,
                      text.max_position_embeddings, 1, tied_embeddings=True)
    else:
        lm = from_hf_config(text, name=built.name)
    layers = depth["text"] if full else text.num_hidden_layers
    return replace(lm, n_layers=layers - (depth["cross"] if full else _cross(built)))


def _cross(built: Built) -> int:
    return len(getattr(built.model.config.text_config, "cross_attention_layers", None) or ())


def cross_layer(lm: LMConfig, n_text: int, n_image: int, dtype="bf16") -> tuple[float, float]:
    """(FLOPs, bytes) of one Mllama cross-attention layer: text queries read ``n_image`` vision
    states. q/o projections and the MLP scale with the text; K/V projections with the image:
    ``2·2·n_image·d·kv_dim``; scores and weighted sum ``4·n_text·n_image·q_dim``. Bytes: the
    layer's weights, the vision states read and their K/V written once."""
    d, b = lm.d_model, dtype_bytes(dtype)
    flops = (2 * n_text * d * lm.q_dim * 2 + 4 * n_image * d * lm.kv_dim
             + 4 * n_text * n_image * lm.q_dim + 2 * 3 * n_text * d * lm.d_ff)
    weights = 2 * d * lm.q_dim + 2 * d * lm.kv_dim + 3 * d * lm.d_ff
    return flops, (weights + n_image * d + 2 * n_image * lm.kv_dim) * b


def vision_shape(built: Built, cap) -> tuple[int, int]:
    """(tokens per view, views) the vision encoder ran over, from the captured pixel input."""
    args, kwargs = cap.calls[PARTS[built.name][0]]
    px = kwargs.get("pixel_values", kwargs.get("hidden_states", args[0] if args else None))
    p = 14
    if built.name == "qwen2-vl":
        return int(px.shape[0]), 1
    if built.name == "mllama":   # all tiles attend jointly; 1,601 tokens per tile padded to 1,608
        tiles = int(px.shape[2])
        per_tile = (px.shape[-1] // p) ** 2 + 1
        return tiles * (per_tile + (-per_tile) % 8), 1
    views = int(px.reshape(-1, *px.shape[-3:]).shape[0])
    return (px.shape[-2] // p) * (px.shape[-1] // p) + 1, views


def connector_flops(built: Built, cap) -> float:
    """FLOPs of the connector on the captured input (matrix products only)."""
    import torch

    paths = PARTS[built.name][1]
    if built.name == "blip-2":
        q = built.model.config.qformer_config
        n_q, d, (t_img, d_img) = built.model.config.num_query_tokens, q.hidden_size, \
            cap.calls["qformer"][1]["encoder_hidden_states"].shape[1:]
        self_attn = 2 * n_q * d * 4 * d + 4 * n_q * n_q * d
        cross = 2 * n_q * d * 2 * d + 2 * 2 * t_img * d_img * d + 4 * n_q * t_img * d
        per = q.num_hidden_layers
        mlp = 2 * 2 * n_q * d * q.intermediate_size
        n_cross = len(range(0, per, q.cross_attention_frequency))
        proj = 2 * n_q * d * built.model.config.text_config.hidden_size
        return per * (self_attn + mlp) + n_cross * cross + proj
    module = built.part(paths[0])
    x = cap.calls[paths[0]][0][0]
    linears = [m for m in module.modules() if isinstance(m, torch.nn.Linear)]
    rows = x.numel() // linears[0].in_features
    return float(2 * rows * sum(m.in_features * m.out_features for m in linears))


def _first_tensor(args, kwargs):
    return next(a for a in (*args, *kwargs.values()) if hasattr(a, "numel"))


def _module_bytes(module) -> int:
    return sum(p.numel() * p.element_size() for p in module.parameters())


def predict(built: Built, cap, ceilings, n_tokens: int, full: bool = False) -> dict:
    """Predicted seconds of ``vision``, ``connector``, ``prefill``, ``decode`` (and their FLOPs)
    for the built depth, or with ``full=True`` for the released depth (chapter 12)."""
    dt, b = built.dtype, dtype_bytes(built.dtype)
    depth = full_depths(built.spec)
    enc = encoder_cost.from_hf_vision_config(built.model.config)
    layers = depth["vision"] if full else enc.n_layers
    tokens, views = vision_shape(built, cap)
    v_f = encoder_cost.encoder_flops(enc, tokens, views, layers).total
    v_b = encoder_cost.encoder_bytes(enc, tokens, views, dt, layers).total
    c_f = connector_flops(built, cap)
    conn = [built.part(p) for p in PARTS[built.name][1]]
    c_b = sum(_module_bytes(m) for m in conn) + _first_tensor(*cap.calls[PARTS[built.name][1][0]]).numel() * b
    lm = lm_config(built, full)
    p_f = cost.model_prefill_flops(lm, n_tokens, causal=True, lm_head=False).total
    p_s = predict_seconds(p_f, cost.prefill_bytes(lm, n_tokens, dt, lm_head=False).total, ceilings)
    d_f = cost.decode_step_flops(lm, n_tokens).total - cost.lm_head_flops(lm, 1)
    d_b = cost.decode_step_bytes(lm, n_tokens, 1, dt).total - lm.vocab_size * lm.d_model * b
    n_cross = depth["cross"] if full else _cross(built)
    d_s = predict_seconds(d_f, d_b, ceilings)
    if n_cross:
        n_img = int(cap.calls[PARTS[built.name][2]][1]["cross_attention_states"].shape[0:2].numel())
        xf, xb = cross_layer(lm, n_tokens, n_img, dt)
        p_f, p_s = p_f + n_cross * xf, p_s + n_cross * predict_seconds(xf, xb, ceilings)
        df, _ = cross_layer(lm, 1, n_img, dt)     # decode: the image's K/V are cached, read once
        df -= 4 * n_img * lm.d_model * lm.kv_dim
        db = (2 * lm.d_model * lm.q_dim + 2 * lm.d_model * lm.kv_dim + 3 * lm.d_model * lm.d_ff
              + 2 * n_img * lm.kv_dim) * b
        d_f, d_s = d_f + n_cross * df, d_s + n_cross * predict_seconds(df, db, ceilings)
    return {"vision_s": predict_seconds(v_f, v_b, ceilings), "connector_s": predict_seconds(c_f, c_b, ceilings),
            "prefill_s": p_s, "decode_s": d_s, "vision_flops": v_f, "connector_flops": c_f,
            "prefill_flops": p_f, "decode_flops": d_f}
