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
from typing import Mapping

from .context_windows import CONTEXT_WINDOWS, ContextWindow, list_context_windows  # noqa: F401
from .errors import lookup, one_of, positive_int

FFN_KINDS = ("swiglu", "gelu")


@dataclass(frozen=True)
class LMConfig:
    """Shapes of a decoder-only LM (pre-norm, RoPE, no learned position table).

    ``params`` is the *published* total parameter count (see each row's comment for where it
    is published); :meth:`param_count` recomputes it from the shapes. ``ffn='swiglu'`` is a
    gated MLP with three matrices (gate, up, down); ``'gelu'`` a plain MLP with two.
    ``qkv_bias``/``o_bias`` mark biases on the attention projections (Qwen2 has q/k/v biases).
    ``d_head`` is only set when a model's head size is not ``d_model // n_heads``.
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

    def __post_init__(self):
        for arg in ("n_layers", "d_model", "n_heads", "n_kv_heads", "d_ff", "vocab_size",
                    "context_window", "params"):
            positive_int(arg, getattr(self, arg))
        one_of("ffn", self.ffn, FFN_KINDS)
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

    def layer_param_count(self) -> int:
        """Parameters of one decoder layer: attention, MLP and two RMSNorm weight vectors."""
        d, q, kv = self.d_model, self.q_dim, self.kv_dim
        attn = d * q + 2 * d * kv + q * d
        attn += (q + 2 * kv) * self.qkv_bias + d * self.o_bias
        mlp = (3 if self.ffn == "swiglu" else 2) * d * self.d_ff
        return attn + mlp + 2 * d

    def param_count(self) -> int:
        """Parameters computed from the shapes (chapters 1 and 7).

        embeddings + layers + final norm + lm_head (absent when the embeddings are tied).
        Assumes RMSNorm (one weight vector per norm) and bias-free MLPs, as in every preset.
        """
        embed = self.vocab_size * self.d_model
        head = 0 if self.tied_embeddings else embed
        return embed + self.n_layers * self.layer_param_count() + self.d_model + head

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


def _get(cfg, key: str, default=None):
    if isinstance(cfg, Mapping):
        return cfg.get(key, default)
    return getattr(cfg, key, default)


_GATED_TYPES = {"llama", "mistral", "qwen2", "qwen3", "gemma", "gemma2", "mixtral", "phi3",
                "internlm2", "olmo", "olmo2", "granite", "cohere"}


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
    """
    text = _get(cfg, "text_config")
    if text is not None:
        cfg = text
    if not isinstance(cfg, Mapping) and not hasattr(cfg, "hidden_size"):
        raise TypeError(f"cfg must be a transformers PretrainedConfig or a dict with 'hidden_size', "
                        f"got {type(cfg).__name__}")
    missing = [k for k in ("hidden_size", "num_hidden_layers", "num_attention_heads",
                           "intermediate_size", "vocab_size") if _get(cfg, k) is None]
    if missing:
        raise ValueError(f"cfg lacks {', '.join(missing)}; from_hf_config needs hidden_size, "
                         f"num_hidden_layers, num_attention_heads, intermediate_size, vocab_size")
    heads = _get(cfg, "num_attention_heads")
    kv = _get(cfg, "num_key_value_heads") or heads
    model_type = str(_get(cfg, "model_type", "") or "")
    act = str(_get(cfg, "hidden_act", "silu") or "silu")
    if ffn is None:
        ffn = "swiglu" if (act in ("silu", "swish") or model_type in _GATED_TYPES) else "gelu"
    d_head = _get(cfg, "head_dim")
    if d_head is not None and d_head == _get(cfg, "hidden_size") // heads:
        d_head = None
    attn_bias = bool(_get(cfg, "attention_bias", False))
    qkv_bias = attn_bias or model_type in ("qwen2", "qwen2_vl")
    window = context_window or _get(cfg, "max_position_embeddings") or 2048
    name = name or _get(cfg, "name_or_path") or _get(cfg, "_name_or_path") or model_type or "custom"
    probe = LMConfig(name=str(name), n_layers=_get(cfg, "num_hidden_layers"),
                     d_model=_get(cfg, "hidden_size"), n_heads=heads, n_kv_heads=kv,
                     d_ff=_get(cfg, "intermediate_size"), ffn=ffn,
                     vocab_size=_get(cfg, "vocab_size"), context_window=window, params=1,
                     qkv_bias=qkv_bias, o_bias=attn_bias,
                     tied_embeddings=bool(_get(cfg, "tie_word_embeddings", False)), d_head=d_head)
    return replace(probe, params=probe.param_count())
