"""Serving on paper: memory per request, the largest batch that fits, throughput and $ per image (ch. 7).

Three questions a deployment asks of a visual-token count, answered from :mod:`vlmlab.cost` and
the roofline (:mod:`vlmlab.roofline`):

* :func:`memory_per_sequence` -- the bytes one request holds: its KV cache, plus (optionally) the
  transient activations of prefill (one layer's MLP workspace, an eager attention score matrix,
  the logits). Which of these one counts decides the batch size, so each is a named part;
* :func:`max_batch` -- how many requests fit beside the weights in a memory budget;
* :func:`serving_estimate` -- time of one batch (prefill compute-bound, decode memory-bound, both
  as roofline lower bounds), hence images/s, tokens/s and dollars per 1,000 images at a stated
  price per GPU-hour.

:func:`grow_batch` is the measuring side: it grows a batch until a (real or simulated)
out-of-memory error and bisects to the largest batch that ran; :func:`live_peak_bytes` measures
the tensor bytes a call holds at its peak. Pure Python at import: torch is imported only inside
:func:`live_peak_bytes`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

from . import cost
from .errors import flag, non_negative_int, non_negative_number, one_of, positive_int, positive_number
from .units import Breakdown, dtype_bytes

ATTENTION = ("flash", "eager")
LOGITS = ("last", "all")


#: Tokens each request generates in chapter 7's serving plans (a short answer per image); the
#: claims ledger prices the essay's batches with the same plan.
ANSWER_TOKENS = 64


def memory_per_sequence(lm, tokens: int, dtype="fp16", *, activations: bool = True,
                        attention: str = "flash", logits: str = "last", new_tokens: int = 0) -> Breakdown:
    """Bytes one request of ``tokens`` prompt tokens occupies while it is prefilled (chapter 7).

    Parts: ``kv_cache`` (prompt plus ``new_tokens``, :func:`vlmlab.cost.kv_cache_bytes`); with
    ``activations=True`` also the transient peak of one layer -- ``mlp_workspace``, per token
    ``3 d_ff + 4 d`` values for SwiGLU (an eager ``down(silu(gate(x)) * up(x))`` holds
    ``silu(gate(x))``, ``up(x)`` and their product at once) or ``2 d_ff + 4 d`` for a GELU MLP
    (``up(x)`` and ``gelu(up(x))``), beside four hidden states of width ``d``: the prompt's input
    embeddings, the layer's input, its post-attention residual and that residual normalised;
    ``attention_scores`` (``heads x n x n`` when ``attention='eager'`` materialises the score
    matrix; 0 for FlashAttention) and ``logits`` (``vocab`` fp32 values for the last position, or
    for every position when ``logits='all'``, as a plain ``model(input_ids)`` does). Layers run one
    after another, so only one layer's workspace is alive at a time. Left out: the RoPE tables
    (``2 head_dim`` values per position, shared by the whole batch) and kernel scratch space.
    """
    lm = cost._lm(lm)
    tokens = positive_int("tokens", tokens)
    one_of("attention", attention, ATTENTION)
    one_of("logits", logits, LOGITS)
    flag("activations", activations)
    b = dtype_bytes(dtype)
    parts = {"kv_cache": cost.kv_cache_bytes(lm, tokens + non_negative_int("new_tokens", new_tokens), 1, dtype)}
    if activations:
        ff_tensors = 3 if lm.ffn == "swiglu" else 2         # d_ff-wide tensors alive at the MLP's peak
        parts["mlp_workspace"] = tokens * (ff_tensors * lm.d_ff + 4 * lm.d_model) * b
        parts["attention_scores"] = lm.n_heads * tokens * tokens * b if attention == "eager" else 0
        parts["logits"] = (tokens if logits == "all" else 1) * lm.vocab_size * 4
    return Breakdown(parts, unit="bytes", label=f"{lm.name}, one request of {tokens:,} tokens",
                     meta={"tokens": tokens, "dtype": str(dtype), "attention": attention, "logits": logits})


def max_batch(lm, tokens: int, memory_bytes: float, dtype="fp16", *, reserve_bytes: float = 0,
              **per_sequence) -> int:
    """Largest batch of ``tokens``-token requests that fits in ``memory_bytes`` (chapter 7).

    ``(memory_bytes - weights - reserve_bytes) // memory_per_sequence(...)``, with the weights in
    ``dtype`` and ``reserve_bytes`` for what a framework keeps (CUDA context, allocator slack).
    ``per_sequence`` goes to :func:`memory_per_sequence` (``activations``, ``attention``,
    ``logits``, ``new_tokens``). Returns 0 when not even one request fits.
    """
    positive_number("memory_bytes", memory_bytes)
    non_negative_number("reserve_bytes", reserve_bytes)
    free = memory_bytes - cost.weight_bytes(lm, dtype) - reserve_bytes
    per = memory_per_sequence(lm, tokens, dtype, **per_sequence).total
    return max(0, int(free // per))


@dataclass(frozen=True)
class ServingEstimate:
    """Roofline estimate of serving one batch: seconds per phase, rates and cost (chapter 7)."""

    batch: int
    prompt_tokens: int
    new_tokens: int
    prefill_s: float
    decode_s: float
    dollars_per_hour: float

    @property
    def seconds(self) -> float:
        """Wall time of one batch: prefill, then ``new_tokens`` decode steps."""
        return self.prefill_s + self.decode_s

    @property
    def images_per_s(self) -> float:
        """Requests (one image each) completed per second."""
        return self.batch / self.seconds

    @property
    def generated_tokens_per_s(self) -> float:
        """New tokens per second over the whole batch (prefill time included)."""
        return self.batch * self.new_tokens / self.seconds

    @property
    def processed_tokens_per_s(self) -> float:
        """Prompt plus generated tokens per second."""
        return self.batch * (self.prompt_tokens + self.new_tokens) / self.seconds

    @property
    def dollars_per_1000_images(self) -> float:
        """GPU time of 1,000 requests at ``dollars_per_hour``."""
        return self.dollars_per_hour / 3600 * self.seconds / self.batch * 1000


def batch_flops_bytes(lm, prompt_tokens: int, new_tokens: int, batch: int, dtype="bf16"):
    """FLOPs and bytes of prefill and of each decode step for a batch (chapter 7).

    Returns ``(prefill_flops, prefill_bytes, steps)`` with ``steps`` a list of ``(flops, bytes)``
    per generated token. Prefill: ``batch`` prompts through a causal kernel (only the unmasked
    half of the score matrix, ``causal=True``), logits of the last position only, weights read once
    for the whole batch. Decode step ``i`` reads every sequence's cache of
    ``prompt_tokens + i`` tokens (:func:`vlmlab.cost.decode_step_bytes`).
    """
    lm = cost._lm(lm)
    n, batch = positive_int("prompt_tokens", prompt_tokens), positive_int("batch", batch)
    non_negative_int("new_tokens", new_tokens)
    if new_tokens > MAX_LISTED_STEPS:
        raise ValueError(f"new_tokens must be at most {MAX_LISTED_STEPS:,} for a per-step list, got "
                         f"{new_tokens:,}; serving_estimate prices any length in closed form")
    pf, pb = _prefill(lm, n, batch, dtype)
    steps = [_step(lm, n + i, batch, dtype) for i in range(new_tokens)]
    return pf, pb, steps


#: Longest generation :func:`batch_flops_bytes` lists step by step (one tuple per token).
MAX_LISTED_STEPS = 100_000


def _prefill(lm, n: int, batch: int, dtype):
    one = cost.prefill_bytes(lm, n, dtype, lm_head=False)
    pf = batch * (cost.model_prefill_flops(lm, n, causal=True, lm_head=False).total + cost.lm_head_flops(lm, 1))
    return pf, one["weights"] + batch * (one.total - one["weights"])


def _step(lm, context: int, batch: int, dtype):
    return (cost.decode_step_flops(lm, context, batch).total,
            cost.decode_step_bytes(lm, context, batch, dtype).total)


def _affine_sum(a0: float, a1: float, lo: int, hi: int) -> float:
    """sum of a0 + a1 * c for c = lo .. hi - 1 (0 when hi <= lo)."""
    count = max(0, hi - lo)
    return count * a0 + a1 * count * (lo + hi - 1) / 2


def decode_seconds(lm, prompt_tokens: int, new_tokens: int, batch: int, ceilings, dtype="bf16") -> float:
    """Roofline time of ``new_tokens`` decode steps after a ``prompt_tokens`` prompt, in closed form.

    Step ``i`` takes ``max(flops(c) / peak, bytes(c) / bandwidth)`` at context ``c = prompt + i``;
    both are affine in ``c``, so their difference changes sign at most once and each side is an
    arithmetic series: O(1) whatever ``new_tokens`` (chapter 7).
    """
    from .roofline import _ceilings

    lm, c = cost._lm(lm), _ceilings(ceilings)
    n, batch = positive_int("prompt_tokens", prompt_tokens), positive_int("batch", batch)
    t = non_negative_int("new_tokens", new_tokens)
    (f0, b0), (f1, b1) = _step(lm, n, batch, dtype), _step(lm, n + 1, batch, dtype)
    P, B = c.matmul_flops_per_s, c.bandwidth_bytes_per_s
    fs, bs = (f1 - f0) / P, (b1 - b0) / B                  # seconds per extra context token
    fa, ba = f0 / P - fs * n, b0 / B - bs * n              # value at c = 0
    lo, hi = n, n + t
    d0, d1 = fa - ba, fs - bs                              # compute minus memory time: d0 + d1 c
    if d1 == 0:
        split = hi if d0 >= 0 else lo                      # one side throughout
        compute_first = True
    else:
        root = -d0 / d1
        split = min(hi, max(lo, math.ceil(root)))
        compute_first = d1 < 0                             # compute-bound below the root
    if compute_first:
        first, second = (fa, fs), (ba, bs)
    else:
        first, second = (ba, bs), (fa, fs)
    return _affine_sum(*first, lo, split) + _affine_sum(*second, split, hi)


def serving_estimate(lm, prompt_tokens: int, new_tokens: int, batch: int, ceilings,
                     dollars_per_hour: float, dtype="bf16") -> ServingEstimate:
    """Roofline estimate of one batch on ``ceilings`` at ``dollars_per_hour`` (chapter 7).

    Each phase takes ``max(flops / peak, bytes / bandwidth)`` (:func:`vlmlab.roofline.predict_seconds`):
    prefill is compute-bound, decode steps memory-bound. A lower bound: real kernels reach a
    fraction of both ceilings (chapter 4 measures how much).
    """
    from .roofline import predict_seconds

    positive_number("dollars_per_hour", dollars_per_hour)
    decode = decode_seconds(lm, prompt_tokens, new_tokens, batch, ceilings, dtype)
    pf, pb = _prefill(cost._lm(lm), prompt_tokens, batch, dtype)
    return ServingEstimate(batch, prompt_tokens, new_tokens, predict_seconds(pf, pb, ceilings), decode,
                           float(dollars_per_hour))


def live_peak_bytes(fn: Callable[[], object], exclude=()) -> tuple[object, int]:
    """Run ``fn()`` and return ``(its result, the most tensor bytes alive at once during it)`` (ch. 7).

    Counts every tensor the call creates, per storage, through torch's dispatcher (a
    ``TorchDispatchMode``), from allocation until its last reference dies; tensors made before the
    call and those in ``exclude`` (e.g. a model's parameters) are left out. Works on any device,
    but sees tensors rather than the allocator: rounding, caching and a kernel's internal scratch
    space are not counted (on CUDA, ``torch.cuda.max_memory_allocated`` sees those).
    """
    import weakref

    import torch
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils._pytree import tree_flatten

    skip = {t.untyped_storage().data_ptr() for t in exclude}

    class _Live(TorchDispatchMode):
        def __init__(self):
            super().__init__()
            self.refs, self.size, self.now, self.peak = {}, {}, 0, 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            for t in tree_flatten(out)[0]:
                if isinstance(t, torch.Tensor):
                    key = t.untyped_storage().data_ptr()
                    if key == 0 or key in skip:
                        continue
                    if key not in self.refs:
                        self.refs[key], self.size[key] = 0, t.untyped_storage().nbytes()
                        self.now += self.size[key]
                        self.peak = max(self.peak, self.now)
                    self.refs[key] += 1
                    weakref.finalize(t, self._release, key)
            return out

        def _release(self, key):
            self.refs[key] -= 1
            if self.refs[key] == 0:
                self.now -= self.size.pop(key)
                del self.refs[key]

    with _Live() as live:
        result = fn()
    return result, live.peak


@dataclass(frozen=True)
class GrowResult:
    """Outcome of :func:`grow_batch`: the largest batch that ran and every trial ``(batch, status, note)``."""

    max_batch: int
    trials: tuple

    def to_frame(self):
        """Trials as a pandas DataFrame (columns ``batch, status, note``)."""
        import pandas as pd

        return pd.DataFrame(list(self.trials), columns=["batch", "status", "note"])


def grow_batch(try_batch: Callable[[int], object], *, is_oom: Callable[[BaseException], bool],
               start: int = 1, limit: int = 4096, cleanup: Callable[[], object] | None = None) -> GrowResult:
    """Double the batch from ``start`` until ``try_batch(b)`` raises an out-of-memory error, then
    bisect between the last batch that ran and the first that did not (chapter 7).

    ``is_oom(exc)`` decides which exceptions are out-of-memory (e.g. :func:`vlmlab.bench.is_oom`);
    any other exception propagates. ``cleanup()`` runs after every trial (free cached memory).
    Stops at ``limit`` (reported as status ``'limit'``) if no OOM came. Every trial is kept, so the
    OOM is a data point, not a crash.
    """
    start, limit = positive_int("start", start), positive_int("limit", limit)
    for arg, f in (("try_batch", try_batch), ("is_oom", is_oom)):
        if not callable(f):
            raise TypeError(f"{arg} must be callable, got {type(f).__name__} {f!r}")
    if cleanup is not None and not callable(cleanup):
        raise TypeError(f"cleanup must be callable or None, got {type(cleanup).__name__} {cleanup!r}")
    trials = []

    def attempt(b: int) -> bool:
        try:
            try_batch(b)
            trials.append((b, "ok", ""))
            return True
        except Exception as exc:  # noqa: BLE001 -- only OOMs are data points
            if not is_oom(exc):
                raise
            first = str(exc).strip().splitlines()[0][:120] if str(exc).strip() else ""
            trials.append((b, "OOM", f"{type(exc).__name__}: {first}"))
            return False
        finally:
            if cleanup is not None:
                cleanup()

    good, bad, b = 0, None, start
    while b <= limit:
        if attempt(b):
            good, b = b, b * 2
        else:
            bad = b
            break
    if bad is None:
        trials.append((good, "limit", f"no out-of-memory up to batch {good} (limit {limit})"))
        return GrowResult(good, tuple(trials))
    while bad - good > 1:
        mid = (good + bad) // 2
        if attempt(mid):
            good = mid
        else:
            bad = mid
    return GrowResult(good, tuple(trials))


__all__ = ["ANSWER_TOKENS", "memory_per_sequence", "max_batch", "ServingEstimate", "batch_flops_bytes",
           "decode_seconds", "serving_estimate",
           "live_peak_bytes", "GrowResult", "grow_batch"]
