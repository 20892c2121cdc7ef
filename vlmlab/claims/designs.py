"""How real VLMs fuse vision: model facts and the essay's theses about designs (chapters 1, 5, 6, 8).

Each claim is data (:class:`.records.Claim`); ``compute`` recomputes its number with vlmlab through
:mod:`.recompute` (imported lazily, so importing this module stays cheap). Collected by :mod:`.ledger`.
:data:`DESIGNS` is the table of real VLMs that decides the essay's central thesis.
"""
from __future__ import annotations

from typing import NamedTuple

from . import recompute as r
from .records import Claim


#: The three designs (chapters 1, 5, 10, 11): every patch token into the LM's sequence; fewer,
#: compressed tokens into the sequence; no visual tokens in the sequence (cross-attention).
FUSIONS = ("every patch", "compressed", "cross-attention")


class Design(NamedTuple):
    """How one VLM feeds vision to its LM: ``in_sequence`` = visual tokens join the LM's input
    sequence (concatenation); ``reduces`` = fewer tokens than encoder patches reach the LM;
    :attr:`fusion` = which of the three :data:`FUSIONS` that makes it."""

    model: str
    in_sequence: bool
    reduces: bool
    how: str
    cite: str

    @property
    def fusion(self) -> str:
        """'every patch', 'compressed' or 'cross-attention' (:data:`FUSIONS`)."""
        if not self.in_sequence:
            return "cross-attention"
        return "compressed" if self.reduces else "every patch"


#: Widely used VLMs and how they fuse vision (papers and reference implementations).
DESIGNS: tuple[Design, ...] = (
    Design("LLaVA-1.5", True, False, "MLP per patch, 576 tokens", "liu2024llava15"),
    Design("LLaVA-NeXT", True, False, "MLP per patch, tiles + newlines", "liu2024llavanext"),
    Design("DeepSeek-VL", True, True, "SAM 4,096 -> 576 by strided convs, joined to SigLIP's 576",
           "lu2024deepseekvl"),
    Design("Ovis", True, False, "visual embedding table, one token per patch", "lu2024ovis"),
    Design("Pixtral 12B", True, False, "one token per 16 px patch + row breaks", "agrawal2024pixtral"),
    Design("Fuyu-8B", True, False, "linear patch embedding, no encoder", "bavishi2023fuyu"),
    Design("Qwen2-VL", True, True, "2x2 patch merge (4x)", "wang2024qwen2vl"),
    Design("InternVL 1.5", True, True, "pixel shuffle (4x), 256 per tile", "chen2024internvl15"),
    Design("Idefics2", True, True, "perceiver resampler, 64 per image", "laurencon2024idefics2"),
    Design("DeepSeek-OCR", True, True, "16x conv compressor, 256 at 1024 px", "wei2025deepseekocr"),
    Design("BLIP-2", True, True, "Q-Former, 32 query outputs as soft prompt", "li2023blip2"),
    Design("Flamingo", False, True, "gated cross-attention to 64 latents", "alayrac2022flamingo"),
    Design("Llama 3.2 Vision", False, False, "cross-attention adapter layers", "dubey2024llama3"),
)


def _share(attr: str) -> float:
    """Share of :data:`DESIGNS` whose ``attr`` (``in_sequence`` or ``reduces``) is true."""
    return sum(getattr(d, attr) for d in DESIGNS) / len(DESIGNS)


def design_counts() -> dict[str, int]:
    """How many of :data:`DESIGNS` use each of the three designs, in :data:`FUSIONS` order
    (chapters 1, 10, 11 and the README state the finding with these counts)."""
    return {f: sum(d.fusion == f for d in DESIGNS) for f in FUSIONS}


def design_summary() -> str:
    """The three-design count as one line, e.g. '5 every patch, 6 compressed, 2 cross-attention (of 13)'."""
    counts = design_counts()
    return ", ".join(f"{n} {f}" for f, n in counts.items()) + f" (of {len(DESIGNS)})"


CLAIMS: tuple[Claim, ...] = (
    Claim("crossattn-weights", 5, "thesis", "Cross-attention fell out of favour, partly because it "
          "makes pretrained LLM weights harder to use.", "harder", "wrong", "Flamingo and Llama 3.2 "
          "Vision keep the LM frozen and add gated cross-attention layers; Idefics2 preferred "
          "concatenation for quality once the LM is unfrozen.", "https://arxiv.org/abs/2405.02246",
          "laurencon2024idefics2", value="frozen LM reused as is"),
    Claim("llava-mlp-compresses", 5, "model fact", "LLaVA's MLP projector compresses 4,096 "
          "encoder tokens to 576.", "4,096 -> 576", "wrong", "The projector maps each of the 576 "
          "CLIP patches from 1,024 to 4,096 channels; 4,096 is the LM width, not a token count.",
          "https://arxiv.org/abs/2310.03744", "liu2024llava15",
          compute=lambda: r.tokens("llava-1.5", 336, 336), unit="tokens"),
    Claim("abstractors", 5, "model fact", "C-Abstractor and D-Abstractor pool visual tokens "
          "adaptively.", "C-/D-Abstractor", "holds", "Both are Honeybee's locality-aware projectors "
          "with a chosen output count.", "https://arxiv.org/abs/2312.06742", "cha2024honeybee",
          value="Honeybee (Cha et al., 2024)"),
    Claim("wico-pooling", 5, "model fact", "Lists WiCo among compression techniques as spatial "
          "pooling.", "spatial pooling", "wrong", "WiCo concatenates the tokens of each window along "
          "the channel axis and projects them with one linear layer; nothing is averaged.",
          "https://arxiv.org/abs/2504.04024", "li2025wico", value="channel concatenation + linear"),
    Claim("thesis-rare", 5, "thesis", "Modern VLMs almost never concatenate visual and text "
          "tokens.", "rare",
          "wrong", "11 of 13 widely used VLMs put visual tokens into the LM's sequence: 5 every "
          "patch, 6 fewer compressed ones; only 2 (cross-attention) keep them out.", r.GIGANT,
          "gigant2024vlmdesign", compute=design_summary),
    Claim("thesis-none-pure", 1, "thesis", "No successful VLM concatenates uncompressed tokens.",
          "none", "wrong", "5 of 13 designs (LLaVA-1.5/NeXT, Ovis, Fuyu, Pixtral) put every patch "
          "token into the sequence; Pixtral feeds 4,160 for a 1024 px image.", "https://arxiv.org/abs/2410.07073",
          "agrawal2024pixtral", compute=lambda: r.tokens("pixtral-12b", 1024, 1024), unit="tokens"),
    Claim("fuyu-no-encoder", 6, "model fact", "Fuyu has no vision encoder: patches are linearly "
          "projected into the LM.", "no encoder", "holds", "Adept's model card says so; patches "
          "enter the first decoder layer in raster order with newline tokens.",
          "https://www.adept.ai/blog/fuyu-8b", "bavishi2023fuyu", value="no image encoder"),
    Claim("fuyu-massive-cost", 6, "thesis", "Fuyu was paid for with massive training costs.",
          "massive", "unsupported", "Adept disclosed neither data nor compute; the only source is "
          "the blog's guess.", "https://www.adept.ai/blog/fuyu-8b", "bavishi2023fuyu",
          value="not disclosed"),
    Claim("beit3-scratch", 6, "model fact", "BEiT-3 trains one model from scratch on images and "
          "text, with modality experts.", "from scratch", "holds", "BEiT-3's Multiway Transformer "
          "has vision, language and vision-language experts, pretrained from scratch.",
          "https://arxiv.org/abs/2208.10442", "wang2023beit3", value="Multiway Transformer"),
    Claim("beit3-tokens", 6, "thesis", "BEiT-3 does not solve the token-count problem and still "
          "needs compression.", "needs compression", "roughly", "It keeps one token per patch and no "
          "compressor, so the count stays; it is short only at 224-480 px: the 768-px VQA checkpoint takes 2,305 image tokens.",
          "https://arxiv.org/abs/2208.10442", "wang2023beit3",
          compute=lambda: r.beit3_tokens(224), unit="tokens"),
    Claim("granularity-varies", 8, "thesis", "Visual tokens differ in granularity (documents vs "
          "photos), as text tokens do.", "varies", "roughly", "Redundancy does vary between images, but chapter 8 finds "
          "a document's text regions are not coarse: only its blank patches are redundant.", r.GIGANT,
          "gigant2024vlmdesign", value="varies; text regions are not coarse"),
    Claim("uniform-processing", 8, "thesis", "Concatenation forces uniform processing; only "
          "compression allows variable importance.", "uniform", "roughly", "Attention already "
          "weighs concatenated tokens unequally, and token pruning works inside the LM.",
          "https://arxiv.org/abs/2410.14072", "wen2024victor", value="attention is non-uniform"),
)
