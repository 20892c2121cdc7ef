"""Time a real VLM part by part: vision encoder, connector, LM prefill, decode per token, peak.

One end-to-end forward pass (``model(**inputs)``) records, through forward pre-hooks, the exact
arguments each part receives on the model's own code path; each part is then timed alone with
:func:`vlmlab.bench.measure` on those arguments. Decode is one new token through the LM with the
prefill's KV cache (the cache grows by one token per timed call, as in generation).
Peak memory is the CUDA allocator's (``None`` on a CPU: the chapter says "CPU preview").
Used by chapter 12.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from ..bench import measure as _measure, synchronize
from .construct import PARTS, Built


@dataclass
class Capture:
    """What one forward pass handed each part: ``calls[path] = (args, kwargs)``; seconds of the pass."""

    calls: dict = field(default_factory=dict)
    seconds: float = 0.0
    cache: object = None      # the LM's KV cache after the prompt (decode starts from it)


def capture(built: Built, inputs: dict) -> Capture:
    """Run ``built.model(**inputs)`` once and record the arguments of every part in :data:`PARTS`."""
    import torch

    vision, connector, lm = PARTS[built.name]
    cap, handles = Capture(), []
    for path in (vision, *connector, lm):
        def hook(module, args, kwargs, path=path):
            cap.calls.setdefault(path, (args, dict(kwargs)))
        handles.append(built.part(path).register_forward_pre_hook(hook, with_kwargs=True))

    def keep_cache(module, args, output):
        cap.cache = _cache_of(output)
    handles.append(built.part(lm).register_forward_hook(keep_cache))
    try:
        with torch.no_grad():
            synchronize(built.device)
            t0 = time.perf_counter()
            built.model(**inputs, use_cache=True)
            synchronize(built.device)
            cap.seconds = time.perf_counter() - t0
    finally:
        for h in handles:
            h.remove()
    return cap


def _call(module, args, kwargs, **override):
    import torch

    with torch.no_grad():
        return module(*args, **{**kwargs, **override})


_CACHE_ARGS = ("cache", "past_key_values", "cache_position")


def _fresh(kwargs: dict) -> dict:
    """LM keyword arguments for a new prefill: no cache passed in, a new one made."""
    out = {k: v for k, v in kwargs.items() if k not in _CACHE_ARGS}
    out["use_cache"] = True
    return out


def _cache_arg(module) -> str:
    """The LM's name for its KV cache argument (``cache`` from transformers 5.x, else
    ``past_key_values``)."""
    import inspect

    return "cache" if "cache" in inspect.signature(module.forward).parameters else "past_key_values"


def _cache_of(out):
    cache = getattr(out, "cache", None)
    return cache if cache is not None else out.past_key_values


def lm_sequence_length(built: Built, cap: Capture) -> int:
    """Length of the sequence the LM received (its ``inputs_embeds``)."""
    _, kwargs = cap.calls[PARTS[built.name][2]]
    x = kwargs.get("inputs_embeds")
    return int(x.shape[1] if x is not None else kwargs["input_ids"].shape[1])


def part_functions(built: Built, cap: Capture) -> dict:
    """Zero-argument callables: ``vision``, ``connector``, ``prefill``, ``decode``."""
    import torch

    vision, connector, lm_path = PARTS[built.name]
    vargs = cap.calls[vision]
    parts = [(built.part(p), *cap.calls[p]) for p in connector]
    lm = built.part(lm_path)
    largs, lkw = cap.calls[lm_path]
    fns = {"vision": lambda: _call(built.part(vision), *vargs),
           "connector": lambda: [_call(m, a, k) for m, a, k in parts],
           "prefill": lambda: _call(lm, largs, _fresh(lkw))}
    state = {}

    def decode():
        if "cache" not in state:   # the capture's prompt cache; it grows by a token per call
            state["cache"] = cap.cache
            with torch.no_grad():
                state["x"] = lm.get_input_embeddings()(torch.tensor([[built.ids["eos"]]], device=built.device))
        extra = {_cache_arg(lm): state["cache"]}
        if built.name == "mllama":
            # the masks the model derived for the prompt, (batch, 1, text, ...): the last row
            extra |= {k: lkw[k][:, :, -1:] for k in ("cross_attention_mask", "full_text_row_masked_out_mask")}
        return _call(lm, (), {}, inputs_embeds=state["x"], use_cache=True, **extra)

    fns["decode"] = decode
    return fns


def time_parts(built: Built, cap: Capture, *, repeats: int = 3, warmup: int = 1) -> dict:
    """Median seconds of ``vision``, ``connector``, ``prefill``, ``decode`` (keys ``*_s``) and
    ``peak_bytes`` (the largest part's peak on CUDA; ``None`` elsewhere). Chapter 12.

    Decode gets at least one warm-up and three repeats (it is short). Qwen2-VL's merger runs
    inside ``visual``: its time is taken off the vision encoder's.
    """
    fns = part_functions(built, cap)
    res = {k: _measure(fn, device=built.device, warmup=max(warmup, 1) if k == "decode" else warmup,
                       repeats=max(repeats, 3) if k == "decode" else repeats) for k, fn in fns.items()}
    out = {f"{k}_s": m.seconds for k, m in res.items()}
    if built.name == "qwen2-vl":
        out["vision_s"] -= out["connector_s"]
    peaks = [m.peak_bytes for m in res.values() if m.peak_bytes is not None]
    out["peak_bytes"] = max(peaks) if peaks else None
    return out


def time_lm_at(built: Built, n_tokens: int, *, repeats: int = 1) -> float:
    """Median seconds of the built LM's prefill over ``n_tokens`` random embeddings and no image
    inputs (Mllama: its cross-attention layers are skipped, as for text-only input). Chapter 12
    uses it to price the same LM on another design's sequence."""
    import torch

    lm = built.part(PARTS[built.name][2])
    d = lm.get_input_embeddings().embedding_dim
    x = torch.randn(1, n_tokens, d, device=built.device, dtype=lm.get_input_embeddings().weight.dtype) * 0.02
    return _measure(lambda: _call(lm, (), {}, inputs_embeds=x, use_cache=True), device=built.device,
                    warmup=0, repeats=repeats).seconds
