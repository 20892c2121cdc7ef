"""Connectors: the modules that turn vision-encoder features into what the LM reads (chapters 5, 6).

One module per family; every class has ``num_parameters()``, ``output_tokens(n_in)`` and
``flops(n_in)`` (matmul FLOPs, 2 per multiply-add, equal to ``FlopCounterMode``'s count).
``build(name, **cfg)`` makes one by name:

==============  =========================  =====================================  ==========
name            class                      tokens entering the LM                 source
==============  =========================  =====================================  ==========
mlp             MLPProjector               n_in (maps widths, keeps the count)    LLaVA-1.5
qformer         QFormer                    n_queries (32)                         BLIP-2
perceiver       PerceiverResampler         n_latents (64)                         Flamingo, Idefics2
xattn           GatedCrossAttentionBlock   0 (cross-attention, no concatenation)  Flamingo
avgpool         AvgPoolProjector           k*k                                    Honeybee baseline
cabstractor     CAbstractor                k*k                                    Honeybee
wico            WindowConcat               n_in / w²                              WiCo
pixel_shuffle   PixelShuffle               n_in / 4                               InternVL
fuyu            FuyuPatchEmbedding         one per 30x30 patch (+1 newline/row)   Fuyu
==============  =========================  =====================================  ==========
"""
from __future__ import annotations

from ..errors import lookup
from .base import Connector
from .mlp import MLPProjector
from .patch import FuyuPatchEmbedding
from .perceiver import PerceiverResampler
from .pooling import AvgPoolProjector, CAbstractor
from .qformer import QFormer
from .window import PixelShuffle, WindowConcat
from .xattn import GatedCrossAttentionBlock

#: Connector classes by short name (``build`` accepts these; case and '-'/'_' do not matter).
REGISTRY: dict[str, type[Connector]] = {
    "mlp": MLPProjector,
    "qformer": QFormer,
    "perceiver": PerceiverResampler,
    "xattn": GatedCrossAttentionBlock,
    "avgpool": AvgPoolProjector,
    "cabstractor": CAbstractor,
    "wico": WindowConcat,
    "pixel_shuffle": PixelShuffle,
    "fuyu": FuyuPatchEmbedding,
}


def build(name: str, **cfg) -> Connector:
    """A connector by name, e.g. ``build('qformer', d_in=1024, d_out=4096)`` (chapter 5)."""
    return lookup(name, REGISTRY, what="connector")(**cfg)


def list_connectors() -> list[str]:
    """The names ``build`` accepts (chapter 5)."""
    return list(REGISTRY)


__all__ = ["Connector", "MLPProjector", "QFormer", "PerceiverResampler", "GatedCrossAttentionBlock",
           "AvgPoolProjector", "CAbstractor", "WindowConcat", "PixelShuffle", "FuyuPatchEmbedding",
           "REGISTRY", "build", "list_connectors"]
