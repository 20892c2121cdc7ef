"""Profile your own VLM: one function, every figure the book computes, for your design.

    >>> r = profile("llama-2-7b", "llava-next", images=[(672, 672)], gpu="H100")
    >>> r.visual_tokens, r.record["context_share"] > 0.7
    (2928, True)

:func:`profile` answers, for an LM, a front-end, image sizes and a GPU: visual tokens per image
(with the breakdown), the request's sequence length and share of the context window, prefill
FLOPs and predicted time, KV-cache bytes, decode time per token, the largest batch that fits,
images per second and dollars per 1,000 images at a price per GPU-hour, and the same figures
for alternative connectors. The command line (``vlmlab profile``), the book's calculator page
(Pyodide, in the reader's browser) and chapter 3 call it; nothing is computed twice.

Imports only the standard library (the calculator runs it in Pyodide). Times are roofline lower
bounds (:mod:`vlmlab.roofline`): chapter 4 measures how close real kernels come.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

from .. import cost, errors, serving
from ..tokens import get_preset, hosted, visual_token_breakdown
from ..units import dtype_bytes
from . import designs
from .inputs import frontend_from_config, gpu_memory, list_gpus, resolve_gpu, resolve_lm

__all__ = ["profile", "Profile", "UNITS", "DEFAULTS", "list_gpus"]

#: The defaults: chapter 7's serving plan (a 50-token question, a 64-token answer, $2.00 per
#: GPU-hour) on the issue's H100.
DEFAULTS = dict(images=((672, 672),), frames=1, prompt_tokens=50,
                new_tokens=serving.ANSWER_TOKENS, gpu="H100", batch=None, dtype="bf16",
                price=2.00, alternatives=tuple(designs.ALTERNATIVES), queries=64)

#: Unit of every number in a record (keys not listed are counts or labels).
UNITS = {"visual_tokens": "tokens", "visual_tokens_per_image": "tokens",
         "sequence_tokens": "tokens", "context_window": "tokens", "context_share": "fraction",
         "prefill_flops": "FLOP", "prefill_seconds": "s", "kv_cache_bytes": "bytes",
         "decode_seconds_per_token": "s", "max_batch": "requests", "batch": "requests",
         "batch_seconds": "s", "images_per_second": "images/s",
         "dollars_per_1000_images": "USD", "gpu_memory_bytes": "bytes", "weight_bytes": "bytes",
         "price_per_gpu_hour": "USD/h"}


@dataclass(frozen=True)
class Profile:
    """A profile: ``record`` (JSON-ready dict, units in :data:`UNITS`) and its ``alternatives``."""

    record: Mapping[str, object]
    alternatives: Sequence[Mapping[str, object]] = field(default_factory=tuple)

    @property
    def visual_tokens(self) -> int:
        """Visual tokens of all the request's images."""
        return self.record["visual_tokens"]

    def as_dict(self) -> dict:
        """The whole profile as plain JSON types (what ``vlmlab profile --format json`` prints)."""
        return {**self.record, "alternatives": [dict(a) for a in self.alternatives],
                "units": dict(UNITS)}


def _images(images) -> list[tuple[int, int]]:
    if not isinstance(images, (list, tuple)) or not images:
        raise ValueError(f"images must be a non-empty list of (height, width) pairs, got {images!r}")
    out = []
    for im in images:
        if not (isinstance(im, (list, tuple)) and len(im) == 2):
            raise ValueError(f"images must hold (height, width) pairs, got {im!r}")
        out.append((errors.positive_int("height", im[0]), errors.positive_int("width", im[1])))
    return out


def profile(lm=None, frontend: str | None = None, images=DEFAULTS["images"], *,
            frames: int = 1, prompt_tokens: int = DEFAULTS["prompt_tokens"],
            new_tokens: int = DEFAULTS["new_tokens"], gpu=DEFAULTS["gpu"], batch: int | None = None,
            dtype: str = DEFAULTS["dtype"], price: float = DEFAULTS["price"],
            alternatives=DEFAULTS["alternatives"], queries: int = DEFAULTS["queries"],
            gpu_memory_bytes: float | None = None, frontend_options: Mapping | None = None) -> Profile:
    """Profile one request: an ``lm`` reading ``prompt_tokens`` of text and ``images`` (each a
    (height, width) pair; ``frames`` > 1 makes each a video) through ``frontend``, answering with
    ``new_tokens`` tokens, served on ``gpu`` in ``dtype`` at ``price`` dollars per GPU-hour.

    ``lm``: preset name, :class:`~vlmlab.models.LMConfig` or a transformers config dict (of an
    LM, or of a VLM: its ``text_config`` is the LM and its ``model_type`` the front-end when
    ``frontend`` is None). A hosted front-end (``'gpt-4o'``, ``'claude'``, ...: billing counts,
    :mod:`vlmlab.tokens.hosted`) takes no ``lm``: its record has the tokens and the share of the
    vendor's window, and no compute figures. ``batch`` None serves the largest batch that fits.
    ``alternatives`` names designs of :data:`designs.ALTERNATIVES` (``queries`` for the
    resampler). Used by chapter 3, the calculator page and ``vlmlab profile``.
    """
    images = _images(images)
    frames = errors.positive_int("frames", frames)
    prompt_tokens = errors.non_negative_int("prompt_tokens", prompt_tokens)
    new_tokens = errors.non_negative_int("new_tokens", new_tokens)
    price = errors.positive_number("price", price)
    queries = errors.positive_int("queries", queries)
    if batch is not None:
        batch = errors.positive_int("batch", batch)
    dtype_bytes(dtype)
    for a in alternatives:
        errors.one_of("alternatives", a, designs.ALTERNATIVES)
    if frontend is None:
        if not isinstance(lm, Mapping):
            raise ValueError("frontend: not given; pass a front-end name (or a VLM's config as lm)")
        frontend = frontend_from_config(lm)
    preset = get_preset(frontend)
    counts = [visual_token_breakdown(preset.name, h, w, frames, **dict(frontend_options or {}))
              for h, w in images]
    visual = sum(c.total for c in counts)
    record = {"frontend": preset.name, "frontend_description": preset.description,
              "frontend_source": preset.source,
              "images": [[h, w] for h, w in images], "frames": frames,
              "prompt_tokens": prompt_tokens, "new_tokens": new_tokens,
              "visual_tokens_per_image": [c.total for c in counts], "visual_tokens": visual,
              "breakdown": [dict(c.parts) for c in counts], "delivery": preset.delivery,
              "hosted": hosted.is_hosted(preset.name)}
    if record["hosted"]:
        if lm is not None:
            raise ValueError(f"lm: {preset.name!r} is a hosted API's billing count (its model's "
                             f"architecture is not public); profile it without an LM")
        info = hosted.hosted_model(preset.name)
        seq = prompt_tokens + visual
        record.update(lm=None, vendor=info.vendor, context_window=info.context_window,
                      context_window_source=info.window_source, rule_read_on=info.read_on,
                      sequence_tokens=seq, context_share=seq / info.context_window,
                      note="billing count of a hosted model whose architecture is not public: "
                           "no compute, memory or serving figures")
        return Profile(record, ())
    if lm is None:
        raise ValueError(f"lm: required for the open front-end {preset.name!r} (a preset name "
                         "or a config.json)")
    lm = resolve_lm(lm)
    ceilings = resolve_gpu(gpu)
    memory = gpu_memory(ceilings, gpu_memory_bytes)
    in_sequence = sum(c.sequence_tokens for c in counts)
    plan = dict(new_tokens=new_tokens, ceilings=ceilings, memory_bytes=memory,
                dollars_per_hour=price, dtype=dtype, batch=batch, images_per_request=len(images))
    if preset.delivery == "cross-attention":
        x = designs.xattn_costs(lm, max(1, prompt_tokens), visual, dtype)
        figures = designs.price(lm, max(1, prompt_tokens), xattn=x, **plan)
    else:
        figures = designs.price(lm, prompt_tokens + in_sequence, **plan)
    record.update(lm=lm.name, lm_params=lm.params,
                  lm_active_params=getattr(lm, "active_params", None) or lm.params,
                  context_window=lm.context_window,
                  gpu=ceilings.name, gpu_memory_bytes=memory, dtype=str(dtype),
                  price_per_gpu_hour=price, weight_bytes=cost.weight_bytes(lm, dtype), **figures,
                  context_share=figures["sequence_tokens"] / lm.context_window)
    alts = []
    patches = [designs.patch_tokens(preset, c) for c in counts]
    if alternatives and any(p is None for p in patches):
        record["alternatives_note"] = (f"no alternatives: the patch grid behind {preset.name!r} "
                                       "is not modelled")
        alternatives = ()
    for name in alternatives:
        tokens = [designs.alternative_tokens(name, p, c.tiles * c.frames, queries)
                  for p, c in zip(patches, counts)]
        seq = prompt_tokens + sum(tokens)
        if name == "cross-attention":
            x = designs.xattn_costs(lm, max(1, prompt_tokens), sum(patches), dtype)
            f = designs.price(lm, max(1, prompt_tokens), xattn=x, **plan)
        else:
            f = designs.price(lm, max(1, seq), **plan)
        label = f"resampler-{queries}" if name == "resampler" else name
        alts.append({"design": label, "description": designs.ALTERNATIVES[name],
                     "visual_tokens_per_image": tokens, "visual_tokens": sum(tokens), **f,
                     "context_share": f["sequence_tokens"] / lm.context_window})
    return Profile(record, tuple(alts))
