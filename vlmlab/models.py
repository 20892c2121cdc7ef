"""Language-model presets: the shapes that decide what a visual token costs inside the LM.

A preset is a frozen :class:`LMConfig` row whose numbers come from the model's official
``config.json`` (or its paper), with the URL in ``source`` and a bibtex key in ``cite``.
Adding a model is adding a row to ``_PRESETS``. ``from_hf_config`` turns any transformers
config (or its dict) into an ``LMConfig``, so a reader can price a model that is not listed.
Real models' context windows live in :mod:`vlmlab.context_windows` (re-exported here as
``CONTEXT_WINDOWS``). Used by chapters 1-4 and 7. Pure Python: no torch import.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from .context_windows import CONTEXT_WINDOWS, ContextWindow, list_context_windows  # noqa: F401
from .errors import flag, lookup, non_negative_int, one_of, optional_positive_int, positive_int

FFN_KINDS = ("swiglu", "gelu")


@dataclass(frozen=True)
class LMConfig:
    """Shapes of a decoder-only LM (pre-norm, RoPE, no learned position table).

    ``params`` is the *published* total parameter count (see each row's comment for where it
    is published); :meth:`param_count` recomputes it from the shapes. ``ffn='swiglu'`` is a
    gated MLP with three matrices (gate, up, down); ``'gelu'`` a plain MLP with two.
    ``qkv_bias``/``o_bias`` mark biases on the attention projections (Qwen2 has q/k/v biases).
    ``d_head`` is only set when a model's head size is not ``d_model // n_heads``.

    Mixture of experts: ``n_experts`` routed experts per MoE layer (1 = dense), of which a token
    uses ``experts_per_token``, each an MLP of width ``d_expert`` (default ``d_ff``); a router of
    ``d_model x n_experts``; optionally an always-on shared expert of width ``d_shared_expert``
    (with a 1-wide gate when ``shared_expert_gate``, as Qwen-MoE); the first ``n_dense_layers``
    layers keep a dense MLP of width ``d_ff`` (DeepSeek-MoE). ``params`` counts every expert,
    ``active_params`` what one token uses (filled from the shapes' ratio when not given).
    """

    name: str
    n_layers: int
    d_model: int
    n_heads: int
    n_kv_heads: int
    d_ff: int
    ffn: str
    vocab_size: int
    context_window: int
    params: int
    released: str = ""
    source: str = ""
    cite: str = ""
    qkv_bias: bool = False
    o_bias: bool = False
    tied_embeddings: bool = False
    d_head: int | None = None
    # mixture of experts (1 expert = a dense MLP of width d_ff)
    n_experts: int = 1
    experts_per_token: int = 1
    d_expert: int | None = None
    d_shared_expert: int = 0
    n_dense_layers: int = 0
    shared_expert_gate: bool = True
    active_params: int | None = None

    def __post_init__(self):
        if not isinstance(self.name, str):
            raise TypeError(f"name must be a str, got {type(self.name).__name__} {self.name!r}")
        for arg in ("n_layers", "d_model", "n_heads", "n_kv_heads", "d_ff", "vocab_size",
                    "context_window", "params", "n_experts", "experts_per_token"):
            positive_int(arg, getattr(self, arg))
        for arg in ("d_shared_expert", "n_dense_layers"):
            non_negative_int(arg, getattr(self, arg))
        for arg in ("qkv_bias", "o_bias", "tied_embeddings", "shared_expert_gate"):
            flag(arg, getattr(self, arg))
        for arg in ("d_head", "d_expert", "active_params"):
            optional_positive_int(arg, getattr(self, arg))
        one_of("ffn", self.ffn, FFN_KINDS)
        if self.experts_per_token > self.n_experts:
            raise ValueError(f"experts_per_token must be <= n_experts ({self.n_experts}), "
                             f"got {self.experts_per_token}")
        if self.n_dense_layers > self.n_layers:
            raise ValueError(f"n_dense_layers must be <= n_layers ({self.n_layers}), got {self.n_dense_layers}")
        if self.active_params is None:  # dense: every parameter is active
            active = self.params if not self.is_moe else round(
                self.params * self.active_param_count() / self.param_count())
            object.__setattr__(self, "active_params", active)
        if self.n_heads % self.n_kv_heads:
            raise ValueError(f"n_heads ({self.n_heads}) must be a multiple of n_kv_heads "
                             f"({self.n_kv_heads}) for grouped-query attention")
        if self.d_head is None and self.d_model % self.n_heads:
            raise ValueError(f"d_model ({self.d_model}) must be divisible by n_heads "
                             f"({self.n_heads}), or pass d_head explicitly")

    @property
    def head_dim(self) -> int:
        """Size of one attention head."""
        return self.d_head if self.d_head is not None else self.d_model // self.n_heads

    @property
    def q_dim(self) -> int:
        """Width of all query heads together (``n_heads * head_dim``)."""
        return self.n_heads * self.head_dim

    @property
    def kv_dim(self) -> int:
        """Width of the keys (or of the values) of one token: ``n_kv_heads * head_dim``."""
        return self.n_kv_heads * self.head_dim

    @property
    def gqa_group(self) -> int:
        """Query heads that share one key/value head (1 = multi-head attention)."""
        return self.n_heads // self.n_kv_heads

    @property
    def is_moe(self) -> bool:
        """True for a mixture-of-experts model (more than one routed expert per MoE layer)."""
        return self.n_experts > 1

    def _mlp_params(self, width: int) -> int:
        return (3 if self.ffn == "swiglu" else 2) * self.d_model * width

    def _moe_mlp_params(self, active: bool) -> int:
        """One MoE layer's MLP: routed experts (all, or the ``experts_per_token`` a token uses),
        the router (d_model x n_experts), and a shared expert with its 1-wide gate if any."""
        d, width = self.d_model, self.d_expert or self.d_ff
        routed = (self.experts_per_token if active else self.n_experts) * self._mlp_params(width)
        shared = (self._mlp_params(self.d_shared_expert) + d * self.shared_expert_gate
                  if self.d_shared_expert else 0)
        return routed + d * self.n_experts + shared

    def _attn_params(self) -> int:
        d, q, kv = self.d_model, self.q_dim, self.kv_dim
        return d * q + 2 * d * kv + q * d + (q + 2 * kv) * self.qkv_bias + d * self.o_bias

    def layer_param_count(self) -> int:
        """Parameters of one decoder layer: attention, MLP and two RMSNorm weight vectors.

        For a mixture of experts: a MoE layer (all experts, router, shared expert)."""
        mlp = self._moe_mlp_params(False) if self.is_moe else self._mlp_params(self.d_ff)
        return self._attn_params() + mlp + 2 * self.d_model

    def mlp_params_per_token(self) -> float:
        """MLP weights one token multiplies, averaged over the layers (FLOPs: 2 per weight).

        Dense: ``m * d_model * d_ff`` (m = 3 for SwiGLU, 2 for GELU). Mixture of experts: the
        ``experts_per_token`` routed experts, the router and the shared expert; the first
        ``n_dense_layers`` layers use a dense MLP of width ``d_ff`` (DeepSeek-MoE)."""
        if not self.is_moe:
            return self._mlp_params(self.d_ff)
        dense, moe = self.n_dense_layers, self.n_layers - self.n_dense_layers
        total = dense * self._mlp_params(self.d_ff) + moe * self._moe_mlp_params(True)
        return total / self.n_layers if total % self.n_layers else total // self.n_layers

    def _count(self, active: bool) -> int:
        embed = self.vocab_size * self.d_model
        head = 0 if self.tied_embeddings else embed
        per_layer = self._attn_params() + 2 * self.d_model
        if self.is_moe:
            dense, moe = self.n_dense_layers, self.n_layers - self.n_dense_layers
            mlp = dense * self._mlp_params(self.d_ff) + moe * self._moe_mlp_params(active)
        else:
            mlp = self.n_layers * self._mlp_params(self.d_ff)
        return embed + self.n_layers * per_layer + mlp + self.d_model + head

    def param_count(self) -> int:
        """Parameters computed from the shapes (chapters 1 and 7); for a mixture of experts, all
        experts (what must sit in memory).

        embeddings + layers + final norm + lm_head (absent when the embeddings are tied).
        Assumes RMSNorm (one weight vector per norm) and bias-free MLPs, as in every preset.
        """
        return self._count(active=False)

    def active_param_count(self) -> int:
        """Parameters one token uses: all of a dense model; for a mixture of experts only the
        ``experts_per_token`` routed experts of each MoE layer (plus router and shared expert).
        Mixtral-8x7B: 46.7 B total, 12.9 B active (Jiang et al. 2024, arXiv:2401.04088)."""
        return self._count(active=True)

    def with_context(self, context_window: int) -> "LMConfig":
        """The same model with another context window (e.g. a long-context variant)."""
        return replace(self, context_window=positive_int("context_window", context_window))


def _hf(repo: str) -> str:
    return f"https://huggingface.co/{repo}/blob/main/config.json"


_LLAMA2_7B = dict(n_layers=32, d_model=4096, n_heads=32, n_kv_heads=32, d_ff=11008, ffn="swiglu",
                  vocab_size=32000, context_window=4096)
_LLAMA3_8B = dict(n_layers=32, d_model=4096, n_heads=32, n_kv_heads=8, d_ff=14336, ffn="swiglu",
                  vocab_size=128256)

_PRESETS: dict[str, LMConfig] = {c.name: c for c in [
    # params: 6.74B as the Hugging Face model page reports from the checkpoint (paper: "7B").
    LMConfig("llama-2-7b", **_LLAMA2_7B, params=6_740_000_000, released="2023-07",
             source=_hf("meta-llama/Llama-2-7b-hf"), cite="touvron2023llama2"),
    # params: 13.0B (Hugging Face model page; paper: "13B").
    LMConfig("llama-2-13b", n_layers=40, d_model=5120, n_heads=40, n_kv_heads=40, d_ff=13824,
             ffn="swiglu", vocab_size=32000, context_window=4096, params=13_000_000_000,
             released="2023-07", source=_hf("meta-llama/Llama-2-13b-hf"), cite="touvron2023llama2"),
    # Vicuna v1.5 is LLaMA-2-7B fine-tuned on ShareGPT: same shapes, same 4k window.
    LMConfig("vicuna-7b", **_LLAMA2_7B, params=6_740_000_000, released="2023-08",
             source=_hf("lmsys/vicuna-7b-v1.5"), cite="chiang2023vicuna"),
    # params: 8.03B (Hugging Face model page; model card: "8B").
    LMConfig("llama-3-8b", **_LLAMA3_8B, context_window=8192, params=8_030_000_000,
             released="2024-04", source=_hf("meta-llama/Meta-Llama-3-8B"), cite="dubey2024llama3"),
    # Same weights' shapes as LLaMA-3-8B; RoPE scaling ("llama3", factor 8) gives 131,072 positions.
    LMConfig("llama-3.1-8b", **_LLAMA3_8B, context_window=131072, params=8_030_000_000,
             released="2024-07", source=_hf("meta-llama/Llama-3.1-8B"), cite="dubey2024llama3"),
    # Mistral 7B v0.1: the paper's Table 1 gives context_len 8192 (sliding window 4096); the
    # config.json's max_position_embeddings is 32768. params: "7.3B" in Mistral's announcement.
    LMConfig("mistral-7b", n_layers=32, d_model=4096, n_heads=32, n_kv_heads=8, d_ff=14336,
             ffn="swiglu", vocab_size=32000, context_window=8192, params=7_300_000_000,
             released="2023-09", source=_hf("mistralai/Mistral-7B-v0.1"), cite="jiang2023mistral"),
    # Qwen2-7B: q/k/v biases, untied embeddings. context_window: the 32k the Qwen2 blog lists for
    # the base model (pre-training ends at 32,768 tokens; Instruct reaches 128k with YaRN); the
    # base config.json's max_position_embeddings is 131,072 (Instruct's: 32,768). params: the
    # Qwen2 blog/report say 7.07B, which counts the 152,064 x 3,584 embedding matrix once although
    # the lm_head is untied; the checkpoint holds 7.62B (tests show it).
    LMConfig("qwen2-7b", n_layers=28, d_model=3584, n_heads=28, n_kv_heads=4, d_ff=18944,
             ffn="swiglu", vocab_size=152064, context_window=32768, params=7_070_000_000,
             released="2024-06", source=_hf("Qwen/Qwen2-7B"), cite="yang2024qwen2", qkv_bias=True),
]}


def get_lm(name: str) -> LMConfig:
    """The preset called ``name`` (case, '-', '_', '.' do not matter; typos get suggestions).

    Used by chapters 1-4 and 7, e.g. ``get_lm('llama-2-7b').kv_dim``.
    """
    if isinstance(name, LMConfig):
        return name
    return lookup(name, _PRESETS, what="language model")


def list_lms() -> list[str]:
    """Names of the LM presets, in table order (chapters 1 and 3)."""
    return list(_PRESETS)


def from_hf_config(cfg, name: str | None = None, *, ffn: str | None = None,
                   context_window: int | None = None) -> LMConfig:
    """An :class:`LMConfig` from a transformers ``PretrainedConfig`` or its dict (chapters 1, 7).

    Dense decoders and mixtures of experts (``params`` all experts, ``active_params`` what a
    token uses); configs it cannot price and a missing context window are refused. The rules are
    in :func:`vlmlab.hf_config.from_hf_config`.
    """
    from .hf_config import from_hf_config as read

    return read(cfg, name, ffn=ffn, context_window=context_window)
