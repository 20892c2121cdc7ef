"""``from_hf_config``: an :class:`~vlmlab.models.LMConfig` from a transformers config (chapters 1, 7).

Reads dense decoders and mixtures of experts (Mixtral, Qwen-MoE, DeepSeek-MoE) from the keys of
their ``config.json``; refuses what it cannot price, naming the keys, and never guesses a context
window. Re-exported by :mod:`vlmlab.models`. Pure Python: no torch import.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Mapping

from .errors import non_negative_int, positive_int
from .models import LMConfig


def _get(cfg, key: str, default=None):
    if isinstance(cfg, Mapping):
        return cfg.get(key, default)
    return getattr(cfg, key, default)


_GATED_TYPES = {"llama", "mistral", "qwen2", "qwen3", "gemma", "gemma2", "mixtral", "phi3",
                "internlm2", "olmo", "olmo2", "granite", "cohere", "qwen2_moe", "qwen3_moe", "deepseek",
                "olmoe", "granitemoe"}

#: Keys of architectures whose weights this counter cannot price (attention or mixer that is not
#: multi-head/grouped-query attention): multi-head latent attention, state-space and RWKV mixers.
_UNPRICEABLE = ("kv_lora_rank", "q_lora_rank", "state_size", "ssm_cfg", "attention_hidden_size",
                "linear_attn_config")

#: Mixture-of-experts keys: (experts, per token, expert width, shared-expert width, dense layers)
_MOE_KEYS = (("num_local_experts", "num_experts_per_tok", None, None, None),           # Mixtral
             ("num_experts", "num_experts_per_tok", "moe_intermediate_size",
              "shared_expert_intermediate_size", None),                                 # Qwen-MoE
             ("n_routed_experts", "num_experts_per_tok", "moe_intermediate_size",
              "n_shared_experts", "first_k_dense_replace"))                            # DeepSeek-MoE


def _moe(cfg) -> dict:
    """LMConfig's expert fields from a config's MoE keys (empty for a dense model)."""
    for experts, per_tok, width, shared, dense in _MOE_KEYS:
        n = _get(cfg, experts)
        if n is None:
            continue
        needed = [k for k in (per_tok, width) if k is not None and _get(cfg, k) is None]
        if needed:
            raise ValueError(f"cfg has {experts} (a mixture of experts) but lacks {', '.join(needed)}; "
                             "from_hf_config needs them to price the experts")
        out = {"n_experts": positive_int(experts, n),
               "experts_per_token": positive_int(per_tok, _get(cfg, per_tok))}
        if width is not None:
            out["d_expert"] = positive_int(width, _get(cfg, width))
        if shared == "n_shared_experts":      # DeepSeek: n shared experts of the expert width
            out["d_shared_expert"] = non_negative_int(shared, _get(cfg, shared, 0) or 0) * out["d_expert"]
            out["shared_expert_gate"] = False
        elif shared is not None:
            out["d_shared_expert"] = non_negative_int(shared, _get(cfg, shared, 0) or 0)
        if dense is not None:
            out["n_dense_layers"] = non_negative_int(dense, _get(cfg, dense, 0) or 0)
        for key, kinds in (("decoder_sparse_step", (None, 1)), ("mlp_only_layers", (None, [], ()))):
            if _get(cfg, key) not in kinds:
                raise ValueError(f"cfg[{key!r}] = {_get(cfg, key)!r} mixes dense and MoE layers in a "
                                 "way from_hf_config cannot price (it supports every layer MoE, or the "
                                 "first first_k_dense_replace layers dense)")
        return out
    return {}


def from_hf_config(cfg, name: str | None = None, *, ffn: str | None = None,
                   context_window: int | None = None) -> LMConfig:
    """An :class:`LMConfig` from a transformers ``PretrainedConfig`` or its dict (chapters 1, 7).

    Reads ``hidden_size``, ``num_hidden_layers``, ``num_attention_heads``,
    ``num_key_value_heads`` (defaults to the number of heads), ``intermediate_size``,
    ``vocab_size``, ``max_position_embeddings``, ``hidden_act``, ``tie_word_embeddings``
    (default False, as in LlamaConfig), ``head_dim`` and ``attention_bias`` when present.
    A VLM config's ``text_config`` is used when there is one. The FFN is gated ('swiglu')
    for SiLU activations and for known gated families, else 'gelu'; pass ``ffn`` to override.
    ``params`` is computed from the shapes, since a config publishes no count.

    Mixture of experts: Mixtral (``num_local_experts``, ``num_experts_per_tok``), Qwen-MoE
    (``num_experts``, ``moe_intermediate_size``, ``shared_expert_intermediate_size``) and
    DeepSeek-MoE (``n_routed_experts``, ``n_shared_experts``, ``first_k_dense_replace``) set
    ``params`` to all experts and ``active_params`` to what one token uses; :mod:`vlmlab.cost`
    prices FLOPs with the active experts. Configs it cannot price (multi-head latent attention,
    state-space mixers, missing keys) are refused with the keys named. The context window is
    ``context_window`` if given, else the config's ``max_position_embeddings``; with neither it
    refuses rather than guess.
    """
    text = _get(cfg, "text_config")
    if text is not None:
        cfg = text
    if not isinstance(cfg, Mapping) and not hasattr(cfg, "hidden_size"):
        raise TypeError(f"cfg must be a transformers PretrainedConfig or a dict with 'hidden_size', "
                        f"got {type(cfg).__name__}")
    odd = [k for k in _UNPRICEABLE if _get(cfg, k) is not None]
    if odd:
        raise ValueError(f"cfg has {', '.join(odd)}: an attention or mixer that from_hf_config cannot "
                         "price (it counts multi-head/grouped-query attention decoders)")
    missing = [k for k in ("hidden_size", "num_hidden_layers", "num_attention_heads",
                           "intermediate_size", "vocab_size") if _get(cfg, k) is None]
    if missing:
        raise ValueError(f"cfg lacks {', '.join(missing)}; from_hf_config needs hidden_size, "
                         f"num_hidden_layers, num_attention_heads, intermediate_size, vocab_size")
    for key in ("hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
                "vocab_size", "num_key_value_heads", "head_dim", "max_position_embeddings"):
        if _get(cfg, key) is not None:
            positive_int(key, _get(cfg, key))
    heads = _get(cfg, "num_attention_heads")
    kv = _get(cfg, "num_key_value_heads") or heads
    model_type = str(_get(cfg, "model_type", "") or "")
    act = str(_get(cfg, "hidden_act", "silu") or "silu")
    if ffn is None:
        ffn = "swiglu" if (act in ("silu", "swish") or model_type in _GATED_TYPES) else "gelu"
    d_head = _get(cfg, "head_dim")
    if d_head is not None and d_head * heads == _get(cfg, "hidden_size"):  # the default: leave it implied
        d_head = None
    attn_bias = bool(_get(cfg, "attention_bias", False))
    qkv_bias = attn_bias or model_type in ("qwen2", "qwen2_vl", "qwen2_vl_text", "qwen2_5_vl",
                                           "qwen2_5_vl_text", "qwen2_moe")
    if context_window is not None:
        window = positive_int("context_window", context_window)
    elif _get(cfg, "max_position_embeddings") is not None:
        window = _get(cfg, "max_position_embeddings")
    else:
        raise ValueError("cfg lacks max_position_embeddings, so the context window is unknown; pass "
                         "context_window=... (from the model card) rather than let vlmlab guess one")
    moe = _moe(cfg)
    name = name or _get(cfg, "name_or_path") or _get(cfg, "_name_or_path") or model_type or "custom"
    probe = LMConfig(name=str(name), n_layers=_get(cfg, "num_hidden_layers"),
                     d_model=_get(cfg, "hidden_size"), n_heads=heads, n_kv_heads=kv,
                     d_ff=_get(cfg, "intermediate_size"), ffn=ffn,
                     vocab_size=_get(cfg, "vocab_size"), context_window=window, params=1,
                     qkv_bias=qkv_bias, o_bias=attn_bias,
                     tied_embeddings=bool(_get(cfg, "tie_word_embeddings", False)), d_head=d_head,
                     active_params=1, **moe)
    return replace(probe, params=probe.param_count(), active_params=probe.active_param_count())
