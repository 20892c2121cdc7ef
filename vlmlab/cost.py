"""FLOPs and bytes of a decoder LM, on paper: what a visual token costs before anything is run.

Conventions (CONTRIBUTING.md): a multiply-add is 2 FLOPs; attention counts the full n x n score
matrix unless ``causal=True``. The full count is what ``torch.utils.flop_counter`` reports (it
ignores the mask) and what the essay squares; a causal kernel (FlashAttention, SDPA with
``is_causal``) skips the masked half, so a causal decoder's prefill is priced with ``causal=True``
(FlashAttention's own benchmarks also halve the count for causal attention).
Only matrix multiplications are counted (softmax, norms, RoPE, activations, residual adds and
biases are O(n*d) and left out), which is what ``FlopCounterMode`` counts too. Grouped-query
attention is handled: K/V projections are ``n_kv_heads * head_dim`` wide, but every query head
still scores every key, so the score FLOPs use ``n_heads``.

A mixture-of-experts model (``LMConfig.n_experts > 1``) is priced with the experts a token
uses (``LMConfig.mlp_params_per_token``); its weight bytes count every expert.

Every FLOP/byte function returns a :class:`vlmlab.units.Breakdown` (parts add up to ``.total``)
or a plain number whose unit is in the name. Used by chapters 1, 2, 4 and 7. No torch import.
"""
from __future__ import annotations

from .errors import flag, non_negative_int, positive_int
from .models import LMConfig, get_lm
from .units import Breakdown, dtype_bytes

LAYER_PARTS = ("q_proj", "kv_proj", "scores", "weighted_sum", "o_proj", "mlp")


def _lm(lm) -> LMConfig:
    if isinstance(lm, LMConfig):
        return lm
    if isinstance(lm, str):
        return get_lm(lm)
    raise TypeError(f"lm must be an LMConfig or a preset name, got {type(lm).__name__} {lm!r}")


_flag = flag  # a string such as 'no' would silently count as True


def _num(x: float):
    """Keep integers integral (bytes of int4 can be fractional)."""
    return int(x) if float(x).is_integer() else x


def _linear_flops_per_token(lm: LMConfig) -> dict[str, int]:
    d = lm.d_model
    # mlp: the weights one token multiplies; a mixture of experts counts the active experts only
    return {"q_proj": 2 * d * lm.q_dim, "kv_proj": 2 * 2 * d * lm.kv_dim,
            "o_proj": 2 * lm.q_dim * d, "mlp": 2 * lm.mlp_params_per_token()}


def _score_pairs(n_q: int, n_kv: int, causal: bool) -> int:
    """Query-key pairs scored; causal prefill (n_q == n_kv) keeps the lower triangle."""
    if not causal:
        return n_q * n_kv
    # the last n_q queries of an n_kv-long sequence: query i sees n_kv - n_q + i + 1 keys
    return n_q * (n_kv - n_q) + n_q * (n_q + 1) // 2


def attention_score_flops(n_q: int, n_kv: int, n_heads: int, head_dim: int) -> int:
    """FLOPs of Q·Kᵀ plus P·V for one layer: ``2 * 2 * n_q * n_kv * n_heads * head_dim``.

    The quadratic term of chapter 2 (n_q = n_kv = N gives 4·N²·n_heads·head_dim).
    """
    for arg, v in (("n_q", n_q), ("n_kv", n_kv), ("n_heads", n_heads), ("head_dim", head_dim)):
        positive_int(arg, v)
    return 4 * n_q * n_kv * n_heads * head_dim


def cross_attention_flops(n_text: int, n_visual: int, *, d_model: int, d_visual: int, n_heads: int,
                          n_kv_heads: int, head_dim: int, d_ff: int, ff_matrices: int = 2,
                          visual_kv: bool = True) -> dict[str, int]:
    """Matmul FLOPs of one gated cross-attention block (Flamingo-style) for ``n_text`` text tokens
    reading ``n_visual`` visual tokens: ``q_o_proj``, ``kv_proj`` (0 with ``visual_kv=False``: the
    image's keys and values are cached at decode), ``attn_core`` (full score matrix) and ``mlp``
    (``ff_matrices`` = 2 for GELU, 3 for SwiGLU). Used by ``connectors.GatedCrossAttentionBlock``
    and ``profile`` (chapters 5, 6)."""
    inner, kv = n_heads * head_dim, n_kv_heads * head_dim
    return {"q_o_proj": 2 * 2 * n_text * d_model * inner,
            "kv_proj": 2 * 2 * n_visual * d_visual * kv if flag("visual_kv", visual_kv) else 0,
            "attn_core": attention_score_flops(n_text, n_visual, n_heads, head_dim),
            "mlp": ff_matrices * 2 * n_text * d_model * d_ff}


def _layer(lm: LMConfig, n_q: int, n_kv: int, causal: bool) -> dict[str, int]:
    lin = _linear_flops_per_token(lm)
    half = 2 * _score_pairs(n_q, n_kv, causal) * lm.n_heads * lm.head_dim
    return {"q_proj": n_q * lin["q_proj"], "kv_proj": n_q * lin["kv_proj"], "scores": half,
            "weighted_sum": half, "o_proj": n_q * lin["o_proj"], "mlp": n_q * lin["mlp"]}


def layer_prefill_flops(lm, n_tokens: int, causal: bool = False) -> Breakdown:
    """FLOPs of one decoder layer over a prompt of ``n_tokens`` (chapters 1, 2 and 4).

    Parts: ``q_proj``, ``kv_proj`` (K and V, GQA-narrow), ``scores`` (Q·Kᵀ), ``weighted_sum``
    (P·V), ``o_proj``, ``mlp`` (SwiGLU: 3 matmuls; GELU: 2). ``causal=True`` counts only the
    N(N+1)/2 query-key pairs a causal mask keeps.
    """
    lm, n, causal = _lm(lm), positive_int("n_tokens", n_tokens), _flag("causal", causal)
    return Breakdown(_layer(lm, n, n, causal), unit="FLOP", label=f"{lm.name} layer, N={n:,}",
                     meta={"model": lm.name, "n_tokens": n, "causal": causal})


def lm_head_flops(lm, n_tokens: int = 1) -> int:
    """FLOPs of the output projection to the vocabulary for ``n_tokens`` positions."""
    lm = _lm(lm)
    return 2 * positive_int("n_tokens", n_tokens) * lm.d_model * lm.vocab_size


def model_prefill_flops(lm, n_tokens: int, causal: bool = False, lm_head: bool = True) -> Breakdown:
    """FLOPs of a forward pass over ``n_tokens`` (chapters 1, 2, 4 and 7).

    ``n_layers`` x :func:`layer_prefill_flops` plus ``lm_head``: logits for every position
    (as a training step or ``model(input_ids)`` computes them) when ``lm_head=True``, none when
    False. Generation needs only the last position's logits: add ``lm_head_flops(lm, 1)``.
    """
    lm, lm_head = _lm(lm), _flag("lm_head", lm_head)
    one = layer_prefill_flops(lm, n_tokens, causal)
    parts = dict(one.scaled(lm.n_layers).parts)
    parts["lm_head"] = lm_head_flops(lm, n_tokens) if lm_head else 0
    return Breakdown(parts, unit="FLOP", label=f"{lm.name} prefill, N={n_tokens:,}",
                     meta={**one.meta, "lm_head": lm_head})


def decode_step_flops(lm, context: int, batch: int = 1) -> Breakdown:
    """FLOPs to generate one token per sequence after ``context`` cached tokens (chapters 4, 7).

    The new token's query scores ``context + 1`` keys (the cache plus itself), in every layer;
    the lm_head produces its logits. Everything scales with ``batch``.
    """
    lm = _lm(lm)
    context, batch = non_negative_int("context", context), positive_int("batch", batch)
    parts = {k: v * lm.n_layers * batch for k, v in _layer(lm, 1, context + 1, False).items()}
    parts["lm_head"] = lm_head_flops(lm, 1) * batch
    return Breakdown(parts, unit="FLOP", label=f"{lm.name} decode step, L={context:,}, B={batch}",
                     meta={"model": lm.name, "context": context, "batch": batch})


def attention_crossover_tokens(lm, causal: bool = False) -> int:
    """Smallest N at which a layer's attention FLOPs (scores + weighted_sum) exceed its linear ones.

    Closed form (chapter 2): attention is 4·N²·q_dim (causal: 2·N(N+1)·q_dim) and the linear
    layers are 2·N·W with W = 2·d·q_dim + 2·d·kv_dim + m·d·d_ff (m = 3 for SwiGLU, 2 for GELU).
    Full matrix: N > W / (2·q_dim); causal: N > W / q_dim - 1. For multi-head attention with
    q_dim = d this is 2d + m·d_ff/2, i.e. about 6-7x the hidden size, not "about 8x".
    """
    lm, causal = _lm(lm), _flag("causal", causal)
    w = 2 * lm.d_model * lm.q_dim + 2 * lm.d_model * lm.kv_dim + lm.mlp_params_per_token()
    return int(w // lm.q_dim if causal else w // (2 * lm.q_dim) + 1)


def kv_bytes_per_token(lm, dtype="bf16"):
    """KV-cache bytes one token adds across all layers: 2·layers·kv_heads·head_dim·bytes (ch. 1)."""
    lm = _lm(lm)
    return _num(2 * lm.n_layers * lm.kv_dim * dtype_bytes(dtype))


def kv_cache_bytes(lm, tokens: int, batch: int = 1, dtype="bf16"):
    """Bytes of the KV cache holding ``tokens`` tokens for ``batch`` sequences (chapters 1, 4, 7).

    ``2 (K and V) x n_layers x n_kv_heads x head_dim x tokens x batch x bytes per element``.
    """
    lm = _lm(lm)
    tokens, batch = non_negative_int("tokens", tokens), positive_int("batch", batch)
    return _num(2 * lm.n_layers * lm.kv_dim * tokens * batch * dtype_bytes(dtype))


def attention_matrix_bytes(n_q: int, n_kv: int, n_heads: int, batch: int = 1, dtype="fp32"):
    """Bytes of one layer's materialised score matrix, batch x heads x n_q x n_kv (chapter 2).

    What eager attention allocates and FlashAttention never does.
    """
    for arg, v in (("n_q", n_q), ("n_kv", n_kv), ("n_heads", n_heads), ("batch", batch)):
        positive_int(arg, v)
    return _num(batch * n_heads * n_q * n_kv * dtype_bytes(dtype))


def weight_bytes(lm, dtype="bf16"):
    """Bytes of all parameters (computed from the shapes) in ``dtype`` (chapters 1, 4, 7)."""
    lm = _lm(lm)
    return _num(lm.param_count() * dtype_bytes(dtype))


def _streamed_weight_bytes(lm: LMConfig, rows: int, b: float):
    """Weights one forward pass must read: all of them once, but of an untied input embedding
    table only the ``rows`` rows that are gathered."""
    if lm.tied_embeddings:
        return lm.param_count() * b
    table = lm.vocab_size * lm.d_model
    return (lm.param_count() - table + min(rows, lm.vocab_size) * lm.d_model) * b


def prefill_bytes(lm, n_tokens: int, dtype="bf16", lm_head: bool = True) -> Breakdown:
    """Minimum bytes a fused prefill of ``n_tokens`` moves to and from device memory (ch. 4).

    Assumptions (a lower bound, not a simulation): every weight is read once (of an untied input
    embedding only the gathered rows); each layer writes its K/V to the cache once
    (``kv_write``) and attention reads them back once (``kv_read``; FlashAttention re-reads them
    once per query tile, so real traffic is higher for long prompts); each layer reads its input
    hidden states and writes its output once (``activations``), plus the logits (every position
    when ``lm_head=True``, else the last); score matrices, MLP intermediates and norms stay on
    chip (fusion).
    """
    lm, n, lm_head = _lm(lm), positive_int("n_tokens", n_tokens), _flag("lm_head", lm_head)
    b = dtype_bytes(dtype)
    kv = kv_cache_bytes(lm, n, 1, dtype)
    acts = (2 * lm.n_layers * n * lm.d_model + (n if lm_head else 1) * lm.vocab_size) * b
    parts = {"weights": _num(_streamed_weight_bytes(lm, n, b)), "kv_read": kv, "kv_write": kv,
             "activations": _num(acts)}
    return Breakdown(parts, unit="bytes", label=f"{lm.name} prefill bytes, N={n:,}",
                     meta={"model": lm.name, "n_tokens": n, "dtype": str(dtype)})


def decode_step_bytes(lm, context: int, batch: int = 1, dtype="bf16") -> Breakdown:
    """Minimum bytes one decode step moves: weights once, the whole KV cache once (chapters 4, 7).

    Assumptions: all weights are read once per step and shared by the batch (of an untied input
    embedding only the ``batch`` gathered rows); every sequence's cache of ``context`` tokens is
    read once (``kv_read``) and its new token's K/V written (``kv_write``); per layer the hidden
    state is read and written, plus one row of logits per sequence (``activations``).
    """
    lm = _lm(lm)
    context, batch = non_negative_int("context", context), positive_int("batch", batch)
    b = dtype_bytes(dtype)
    acts = batch * (2 * lm.n_layers * lm.d_model + lm.vocab_size) * b
    parts = {"weights": _num(_streamed_weight_bytes(lm, batch, b)),
             "kv_read": kv_cache_bytes(lm, context, batch, dtype),
             "kv_write": kv_cache_bytes(lm, 1, batch, dtype), "activations": _num(acts)}
    return Breakdown(parts, unit="bytes", label=f"{lm.name} decode bytes, L={context:,}, B={batch}",
                     meta={"model": lm.name, "context": context, "batch": batch, "dtype": str(dtype)})
