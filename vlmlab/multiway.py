"""A BEiT-3-style Multiway Transformer in miniature: shared self-attention, modality experts (chapter 6).

BEiT-3 [wang2023beit3] puts image patches and text tokens into *one* sequence (its reference code
concatenates them: ``torch.cat([vision, text], dim=1)``) and runs a stack of Multiway blocks over
it. Each block has

* one self-attention module that every token shares, so image and text attend to each other;
* a pool of feed-forward "modality experts": a vision FFN and a language FFN in every layer, and
  a vision-language FFN in the top layers (the top three of BEiT-3's 40);
* routing by modality, not by a learned gate: a vision token goes to the vision expert, a text
  token to the language expert; in a block with a vision-language expert, the tokens of an
  input that holds both modalities all go to that expert (image-only or text-only inputs keep
  their own experts).

The miniature is pre-LayerNorm with GELU FFNs and biases, the layout of a plain ViT/BERT block
(``torch.nn.TransformerEncoderLayer(norm_first=True)``): with every expert holding the same
weights it *is* that block (tests check it). BEiT-3's released code differs in details this
miniature leaves out: Magneto sub-LayerNorms, and attention projections split per modality
("decoupled"). Experts add parameters, not FLOPs per token: every token passes through exactly
one expert, so the cost of a forward pass is that of a dense block over the whole concatenated
sequence.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .errors import flag, non_negative_int, positive_int, tensor
from .units import Breakdown

VISION, LANGUAGE, VL = 0, 1, 2
#: Expert names in routing order: modality id 0 -> 'vision', 1 -> 'language'; 2 is the fusion expert.
EXPERTS = ("vision", "language", "vl")


@dataclass(frozen=True)
class MultiwayConfig:
    """Shapes of a Multiway Transformer; ``n_vl_layers`` top layers get a vision-language expert."""

    name: str
    n_layers: int
    d_model: int
    n_heads: int
    d_ff: int
    n_vl_layers: int = 0
    patch: int = 16
    image_px: int = 224
    source: str = ""
    cite: str = "wang2023beit3"

    def __post_init__(self):
        for arg in ("n_layers", "d_model", "n_heads", "d_ff", "patch", "image_px"):
            positive_int(arg, getattr(self, arg))
        non_negative_int("n_vl_layers", self.n_vl_layers)
        if self.n_vl_layers > self.n_layers:
            raise ValueError(f"n_vl_layers must be <= n_layers ({self.n_layers}), got {self.n_vl_layers}")
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model ({self.d_model}) must be divisible by n_heads ({self.n_heads})")

    @property
    def image_tokens(self) -> int:
        """Patch tokens of one image at ``image_px`` (BEiT-3 adds one [CLS] token to these)."""
        return (self.image_px // self.patch) ** 2


#: BEiT-3 (giant) as in the paper's Table 2: 40 layers, width 1408, FFN 6144, 16 heads, 14-px
#: patches at 224 px, vision-language experts in the top three layers (giant only: the released
#: base and large models have vision and language experts alone).
BEIT3_GIANT = MultiwayConfig("beit3-giant", 40, 1408, 16, 6144, n_vl_layers=3, patch=14,
                             source="https://arxiv.org/abs/2208.10442")


class SharedAttention(nn.Module):
    """Bidirectional multi-head self-attention shared by all tokens (q, k, v, out with biases)."""

    def __init__(self, d_model: int, n_heads: int):
        super().__init__()
        self.n_heads = n_heads
        self.norm = nn.LayerNorm(d_model)
        self.q_proj, self.k_proj, self.v_proj, self.out_proj = (nn.Linear(d_model, d_model) for _ in range(4))

    def forward(self, x):
        b, t, d = x.shape
        h = self.norm(x)
        split = lambda y: y.view(b, t, self.n_heads, d // self.n_heads).transpose(1, 2)  # noqa: E731
        out = F.scaled_dot_product_attention(split(self.q_proj(h)), split(self.k_proj(h)), split(self.v_proj(h)))
        return self.out_proj(out.transpose(1, 2).reshape(b, t, d))


class Expert(nn.Module):
    """A feed-forward expert with its own LayerNorm: LayerNorm -> Linear -> GELU -> Linear."""

    def __init__(self, d_model: int, d_ff: int):
        super().__init__()
        self.norm = nn.LayerNorm(d_model)
        self.fc1, self.fc2 = nn.Linear(d_model, d_ff), nn.Linear(d_ff, d_model)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(self.norm(x))))


def route(modality: torch.Tensor, has_vl: bool) -> torch.Tensor:
    """Expert index per token: its modality (0 vision, 1 language), or 2 (vision-language) for every
    token of a sequence that holds both modalities when the block has a vision-language expert."""
    if modality.dtype == torch.bool or modality.dtype.is_floating_point:
        raise TypeError(f"modality must be an integer tensor of 0 (vision) and 1 (language), got {modality.dtype}")
    if ((modality != VISION) & (modality != LANGUAGE)).any():
        raise ValueError(f"modality must hold only 0 (vision) and 1 (language), got {modality.unique().tolist()}")
    if not has_vl:
        return modality
    both = (modality == VISION).any(-1, keepdim=True) & (modality == LANGUAGE).any(-1, keepdim=True)
    return torch.where(both, torch.full_like(modality, VL), modality)


class MultiwayBlock(nn.Module):
    """Shared self-attention, then each token through the expert its modality selects (chapter 6)."""

    def __init__(self, d_model: int, n_heads: int, d_ff: int, vl_expert: bool = False):
        super().__init__()
        flag("vl_expert", vl_expert)
        for arg, v in (("d_model", d_model), ("n_heads", n_heads), ("d_ff", d_ff)):
            positive_int(arg, v)
        if d_model % n_heads:
            raise ValueError(f"d_model ({d_model}) must be divisible by n_heads ({n_heads})")
        self.d_model, self.n_heads, self.d_ff = d_model, n_heads, d_ff
        self.attn = SharedAttention(d_model, n_heads)
        names = EXPERTS if vl_expert else EXPERTS[:2]
        self.experts = nn.ModuleDict({name: Expert(d_model, d_ff) for name in names})

    @property
    def has_vl(self) -> bool:
        return "vl" in self.experts

    def forward(self, x, modality=None, n_vision: int | None = None):
        """``x`` (batch, t, d_model) and either ``modality`` (batch, t) or (t,) of 0 (vision) /
        1 (language), any order; or ``n_vision``: the first ``n_vision`` tokens are the image, the
        rest text (BEiT-3's layout). ``n_vision`` routes by slicing, with no data-dependent
        branch, so a GPU never waits on the host; ``modality`` checks and masks (host syncs)."""
        tensor("x", x, f"(batch, tokens, d_model={self.d_model})", rank=3, sizes={2: ("d_model", self.d_model)},
               nonempty=(0, 1), floating=True)
        if (modality is None) == (n_vision is None):
            raise ValueError("pass exactly one of modality=(batch, tokens) or n_vision=int")
        if n_vision is not None:
            return self._forward_sliced(x, non_negative_int("n_vision", n_vision))
        tensor("modality", modality, "(batch, tokens) or (tokens,)", rank=(1, 2))
        if modality.dim() == 1:
            modality = modality.expand(x.shape[0], -1)
        if modality.shape != x.shape[:2]:
            raise ValueError(f"modality must have shape {tuple(x.shape[:2])} (batch, tokens), got {tuple(modality.shape)}")
        x = x + self.attn(x)
        which = route(modality, self.has_vl)
        out = torch.zeros_like(x)
        for i, name in enumerate(EXPERTS):
            mask = which == i
            if name in self.experts and mask.any():
                out[mask] = self.experts[name](x[mask])  # only the routed tokens are computed
        return x + out

    def _forward_sliced(self, x, n_v: int):
        t = x.shape[1]
        if n_v > t:
            raise ValueError(f"n_vision ({n_v}) must be <= the number of tokens ({t})")
        x = x + self.attn(x)
        if self.has_vl and 0 < n_v < t:   # an image-text input: every token to the fusion expert
            return x + self.experts["vl"](x)
        parts = [self.experts[name](x[:, s]) for name, s in
                 (("vision", slice(0, n_v)), ("language", slice(n_v, t))) if s.stop > s.start]
        return x + torch.cat(parts, dim=1)

    def num_parameters(self) -> Breakdown:
        """Parameters split into ``shared_attention`` and one part per expert (chapter 6)."""
        count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
        parts = {"shared_attention": count(self.attn)}
        parts.update({f"{name}_expert": count(e) for name, e in self.experts.items()})
        return Breakdown(parts, unit="params", label="MultiwayBlock parameters")

    def flops(self, n_vision: int, n_text: int) -> Breakdown:
        """Matmul FLOPs of one block over ``n_vision`` image and ``n_text`` text tokens (chapter 6).

        Attention covers all ``n = n_vision + n_text`` tokens (projections ``4 * 2 n d²``, scores and
        weighted sum ``2 * 2 n² d``); each token runs one expert (``2 * 2 d d_ff``), so the total does
        not depend on how tokens are routed.
        """
        n_v, n_t = non_negative_int("n_vision", n_vision), non_negative_int("n_text", n_text)
        n, d = positive_int("n_vision + n_text", n_v + n_t), self.d_model
        fused = self.has_vl and n_v > 0 and n_t > 0
        per_token_ffn = 4 * d * self.d_ff
        parts = {"qkvo_proj": 8 * n * d * d, "scores": 2 * n * n * d, "weighted_sum": 2 * n * n * d,
                 "vision_expert": 0 if fused else n_v * per_token_ffn,
                 "language_expert": 0 if fused else n_t * per_token_ffn,
                 "vl_expert": n * per_token_ffn if fused else 0}
        return Breakdown(parts, unit="FLOP", label=f"MultiwayBlock, {n_v} image + {n_t} text tokens")


class MultiwayTransformer(nn.Module):
    """A stack of :class:`MultiwayBlock` with vision-language experts in the top ``n_vl_layers``."""

    def __init__(self, cfg: MultiwayConfig):
        super().__init__()
        if not isinstance(cfg, MultiwayConfig):
            raise TypeError(f"cfg must be a MultiwayConfig (e.g. BEIT3_GIANT), got {type(cfg).__name__} {cfg!r}")
        self.cfg = cfg
        first_vl = cfg.n_layers - cfg.n_vl_layers
        self.blocks = nn.ModuleList(MultiwayBlock(cfg.d_model, cfg.n_heads, cfg.d_ff, vl_expert=i >= first_vl)
                                    for i in range(cfg.n_layers))

    def forward(self, vision=None, text=None):
        """Concatenate ``vision`` (batch, n_v, d) and ``text`` (batch, n_t, d) tokens and run the stack."""
        parts = [p for p in (vision, text) if p is not None]
        if not parts:
            raise ValueError("pass vision=(batch, n_v, d_model), text=(batch, n_t, d_model) or both")
        d = self.cfg.d_model
        for name, p in (("vision", vision), ("text", text)):
            if p is not None:
                tensor(name, p, f"(batch, n_{name[0]}, d_model={d})", rank=3, sizes={2: ("d_model", d)},
                       nonempty=(0, 1), floating=True)
        if len(parts) == 2 and vision.shape[0] != text.shape[0]:
            raise ValueError(f"vision and text must have the same batch, got shapes {tuple(vision.shape)} "
                             f"and {tuple(text.shape)}")
        x = torch.cat(parts, dim=1)
        n_v = 0 if vision is None else vision.shape[1]
        for block in self.blocks:
            x = block(x, n_vision=n_v)   # vision tokens first: route by slicing, no host sync
        return x

    def num_parameters(self) -> Breakdown:
        """Parameters of all blocks: shared attention plus each expert kind (chapter 6)."""
        total = Breakdown({}, unit="params")
        for block in self.blocks:
            total = total + block.num_parameters()
        return Breakdown(total.parts, unit="params", label=f"{self.cfg.name} blocks")

    def flops(self, n_vision: int, n_text: int) -> Breakdown:
        """Matmul FLOPs of a forward pass through every block (chapter 6)."""
        total = Breakdown({}, unit="FLOP")
        for block in self.blocks:
            total = total + block.flops(n_vision, n_text)
        return Breakdown(total.parts, unit="FLOP", label=f"{self.cfg.name}, {n_vision} + {n_text} tokens")


__all__ = ["MultiwayConfig", "BEIT3_GIANT", "SharedAttention", "Expert", "MultiwayBlock",
           "MultiwayTransformer", "route", "EXPERTS", "VISION", "LANGUAGE", "VL"]
