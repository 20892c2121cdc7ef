"""vlmlab: visual-token economics, measured. The helper package of the book "Why concatenation is rare".

Layout (one module per concept; analytic modules import no torch):
  tokens      how many visual tokens an encoder or VLM front-end produces      (chapters 1, 3, 6)
  models      language-model presets (layers, heads, KV heads, context window)   (chapters 1-4, 7)
  cost        FLOPs, bytes and KV-cache size, on paper                           (chapters 1, 2, 4, 7)
  budget      what fits a context window                                         (chapters 1, 3)
  roofline    what the device allows: ceilings and predicted time                (chapters 2, 4, 7)
  bench       what it really costs: timing, peak memory, OOM-safe sweeps         (chapters 2, 4, 5, 7, 9)
  connectors  the modules that turn image features into LM inputs (torch)        (chapters 5, 6)
  attention   the attention paths the book times (naive, SDPA backends, a layer) (chapters 2, 4)
  lm          a small decoder LM with a KV cache (torch)                         (chapters 5, 6, 7)
  multiway    a BEiT-3-style multiway transformer miniature (torch)              (chapter 6)
  serving     batch limits, throughput and cost per image                        (chapter 7)
  granularity how redundant image patches are; merging and pruning               (chapter 8)
  subquadratic linear attention, selective scans, cutting vision attention        (chapter 9)
  claims      the source essay's claims, each with what decides it               (chapters 10, 11)
  plot, units, errors, device: the book's shared style and device handling
  notebook    the book's plumbing: chapters' set-up and glue, re-execution, the provenance page
"""
from __future__ import annotations

__version__ = "0.1.0"

_LAZY = {
    "visual_tokens": "tokens",
    "visual_token_breakdown": "tokens",
    "list_models": "tokens",
    "get_preset": "tokens",
    "get_lm": "models",
    "list_lms": "models",
}


def __getattr__(name):  # keep `import vlmlab` cheap: submodules load on first use
    import importlib

    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    try:
        return importlib.import_module(f".{name}", __name__)
    except ModuleNotFoundError as e:
        if e.name != f"{__name__}.{name}":
            raise
        raise AttributeError(f"module 'vlmlab' has no attribute {name!r}") from None


__all__ = list(_LAZY)
