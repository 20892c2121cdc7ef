"""The attention implementations the book measures, and a 7B-shaped decoder layer to time.

* :func:`naive_attention` — softmax(QKᵀ/√d)·V in plain torch ops. It *materialises* the
  ``batch × heads × n_q × n_kv`` score matrix once (the softmax runs in place), so its extra
  memory is what :func:`vlmlab.cost.attention_matrix_bytes` predicts.
* :func:`sdpa_attention` — ``torch.nn.functional.scaled_dot_product_attention`` restricted to one
  backend (``'math'``, ``'efficient'``, ``'flash'``, ``'cudnn'``) with
  ``torch.nn.attention.sdpa_kernel``; :func:`available_backends` finds which of them actually run
  for a shape and dtype on this device, :func:`best_attention` times them and picks the fastest.
* :class:`DecoderLayer` — a LLaMA-style pre-norm decoder layer (RMSNorm, q/k/v/o projections with
  grouped-query attention, SwiGLU or GELU MLP) sized from a :class:`vlmlab.models.LMConfig`, with
  a prefill ``forward`` and a ``decode`` step over a pre-allocated KV cache. RoPE is left out: it
  is element-wise (well under 1% of the FLOPs) and does not change what the chapters measure.

Tensors are ``(batch, heads, tokens, head_dim)``. Used by chapters 2 and 4.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from .errors import check_fits, device_kind, flag, one_of, optional_positive_int, positive_int, tensor

__all__ = ["BACKENDS", "NAIVE_PASSES", "NAIVE_SOFTMAX_PASSES", "naive_attention", "sdpa_attention",
           "attention_fn", "available_backends",
           "best_attention", "BestAttention", "attention_inputs", "DecoderLayer", "kv_cache",
           "torch_dtype"]

#: Book name -> ``torch.nn.attention.SDPBackend`` member name.
BACKENDS = {"math": "MATH", "efficient": "EFFICIENT_ATTENTION", "flash": "FLASH_ATTENTION",
            "cudnn": "CUDNN_ATTENTION"}
_DTYPES = {"fp32": torch.float32, "float32": torch.float32, "bf16": torch.bfloat16,
           "bfloat16": torch.bfloat16, "fp16": torch.float16, "float16": torch.float16}


#: Passes of :func:`naive_attention` (``causal=False``) over the ``n_q × n_kv`` score matrix in
#: device memory: a read counts 1, an in-place read-and-write 2. The matmul QKᵀ writes it, the
#: softmax reads it for the row maximum, rewrites it for the subtraction, the exponential and the
#: division, reads it for the row sum, and PV reads it once more: 10 passes. ``causal=True`` adds
#: one more read-and-write (the mask). Chapters 2 and 4 price materialised attention with it.
NAIVE_PASSES = {"QK^T writes": 1, "row max": 1, "subtract": 2, "exp": 2, "row sum": 1, "divide": 2,
                "PV reads": 1}
#: The entries of :data:`NAIVE_PASSES` that belong to the softmax (chapter 2's exercise 3).
NAIVE_SOFTMAX_PASSES = ("row max", "subtract", "exp", "row sum", "divide")


def _lm(lm):
    from .models import LMConfig, get_lm

    if isinstance(lm, str):
        return get_lm(lm)
    if not isinstance(lm, LMConfig):
        raise TypeError(f"lm must be an LMConfig or a preset name, got {type(lm).__name__} {lm!r}")
    return lm


def torch_dtype(dtype) -> torch.dtype:
    """``'bf16'`` → ``torch.bfloat16`` (a torch.dtype passes through)."""
    if isinstance(dtype, torch.dtype):
        return dtype
    return _DTYPES[one_of("dtype", dtype, list(_DTYPES))]


def _torch_at_least(major: int, minor: int) -> bool:
    parts = torch.__version__.split("+")[0].split(".")
    return (int(parts[0]), int(parts[1])) >= (major, minor)


def _check_qkv(q, k, v, causal):
    for name, t in (("q", q), ("k", k), ("v", v)):
        tensor(name, t, "(batch, heads, tokens, head_dim)", rank=4, nonempty=(0, 1, 2, 3), floating=True)
    flag("causal", causal)
    if q.shape[0] != k.shape[0] or q.shape[3] != k.shape[3]:
        raise ValueError(f"q and k must share batch and head_dim: q {tuple(q.shape)}, k {tuple(k.shape)} "
                         "(batch, heads, tokens, head_dim)")
    if q.dim() != 4 or k.shape != v.shape or k.dim() != 4:
        raise ValueError(f"q, k, v must be (batch, heads, tokens, head_dim) with k.shape == v.shape; "
                         f"got q {tuple(q.shape)}, k {tuple(k.shape)}, v {tuple(v.shape)}")
    if q.shape[1] % k.shape[1]:
        raise ValueError(f"query heads ({q.shape[1]}) must be a multiple of key/value heads ({k.shape[1]})")
    if causal and q.shape[2] != k.shape[2]:
        raise ValueError(f"causal=True needs as many queries as keys, got {q.shape[2]} and {k.shape[2]}")


def naive_attention(q, k, v, causal: bool = False):
    """Materialised attention: scores = (q/√d)·kᵀ, softmax in place, then scores·v.

    Grouped-query attention (fewer k/v heads than q heads) is handled by a reshape, without
    copying k or v. Peak extra memory: one score matrix of ``batch·heads·n_q·n_kv`` elements in
    q's dtype, plus tensors of q's size. Used by chapters 2 and 4.
    """
    _check_qkv(q, k, v, causal)
    b, h, n_q, d = q.shape
    h_kv, n_kv = k.shape[1], k.shape[2]
    group = h // h_kv
    qg = (q * (1.0 / math.sqrt(d))).reshape(b, h_kv, group * n_q, d)
    scores = torch.matmul(qg, k.transpose(-2, -1))  # (b, h_kv, group*n_q, n_kv): the n² matrix
    if causal:
        mask = torch.ones(n_q, n_kv, dtype=torch.bool, device=q.device).triu_(1)
        scores.view(b, h_kv, group, n_q, n_kv).masked_fill_(mask, float("-inf"))
    scores.sub_(scores.amax(dim=-1, keepdim=True)).exp_()
    scores.div_(scores.sum(dim=-1, keepdim=True))
    return torch.matmul(scores, v).reshape(b, h, n_q, d)


def _backend(name: str):
    from torch.nn.attention import SDPBackend

    member = getattr(SDPBackend, BACKENDS[one_of("backend", name, list(BACKENDS))], None)
    if member is None:
        raise ValueError(f"backend {name!r} does not exist in torch {torch.__version__}")
    return member


def sdpa_attention(q, k, v, causal: bool = False, backend: str | None = None):
    """``scaled_dot_product_attention``, restricted to ``backend`` (None: torch's own choice).

    Grouped-query attention uses ``enable_gqa=True`` on torch >= 2.5 and repeats k/v heads on
    older torch. Used by chapters 2 and 4.
    """
    _check_qkv(q, k, v, causal)
    kwargs = {}
    if k.shape[1] != q.shape[1]:
        if _torch_at_least(2, 5):
            kwargs["enable_gqa"] = True
        else:
            rep = q.shape[1] // k.shape[1]
            k, v = k.repeat_interleave(rep, dim=1), v.repeat_interleave(rep, dim=1)
    if backend is None:
        return F.scaled_dot_product_attention(q, k, v, is_causal=causal, **kwargs)
    from torch.nn.attention import sdpa_kernel

    with sdpa_kernel(_backend(backend)):
        return F.scaled_dot_product_attention(q, k, v, is_causal=causal, **kwargs)


def attention_fn(name: str) -> Callable:
    """``'naive'``, ``'sdpa'`` (torch's choice) or a backend name → a function ``f(q, k, v, causal)``."""
    one_of("name", name, ["naive", "sdpa", *BACKENDS])
    if name == "naive":
        return naive_attention
    backend = None if name == "sdpa" else name
    return lambda q, k, v, causal=False: sdpa_attention(q, k, v, causal, backend)


def attention_inputs(batch: int, heads: int, n: int, head_dim: int, *, device: str = "cpu",
                     dtype="fp32", kv_heads: int | None = None, n_kv: int | None = None, seed: int = 0):
    """Random q, k, v of shape (batch, heads, n, head_dim) (k/v: ``kv_heads``, ``n_kv``). Chapters 2, 4."""
    for arg, val in (("batch", batch), ("heads", heads), ("n", n), ("head_dim", head_dim)):
        positive_int(arg, val)
    kv_heads = heads if optional_positive_int("kv_heads", kv_heads) is None else kv_heads
    n_kv = n if optional_positive_int("n_kv", n_kv) is None else n_kv
    if heads % kv_heads:
        raise ValueError(f"heads ({heads}) must be a multiple of kv_heads, got {kv_heads}")
    device_kind("device", device, allow_meta=True)
    dt = torch_dtype(dtype)
    nbytes = batch * head_dim * (heads * n + 2 * kv_heads * n_kv) * torch.tensor([], dtype=dt).element_size()
    check_fits(f"q ({heads} heads x n={n:,}) and k, v ({kv_heads} heads x n_kv={n_kv:,}) of batch {batch:,}, "
               f"head_dim {head_dim}", nbytes, device)
    gen = torch.Generator(device=device).manual_seed(seed)

    def rand(h, t):
        return torch.randn(batch, h, t, head_dim, generator=gen, device=device, dtype=dt)

    return rand(heads, n), rand(kv_heads, n_kv), rand(kv_heads, n_kv)


def available_backends(device: str = "cpu", dtype="fp32", *, heads: int = 8, head_dim: int = 64,
                       n: int = 256, batch: int = 1, causal: bool = False, n_q: int | None = None,
                       kv_heads: int | None = None) -> list[str]:
    """The SDPA backends that run here for this shape and dtype (tried once, warnings silenced).

    ``n`` is the key/value length and ``n_q`` the query length (default ``n``; ``n_q=1`` is a
    decode step); ``kv_heads`` below ``heads`` is grouped-query attention, which some backends of
    some torch releases cannot serve. A backend that cannot serve the call raises 'No available
    kernel' (after warning why); such a backend is left out. Used by chapters 2 and 4.
    """
    n_q = n if n_q is None else positive_int("n_q", n_q)
    q, _, _ = attention_inputs(batch, heads, n_q, head_dim, device=device, dtype=dtype)
    _, k, v = attention_inputs(batch, heads, n, head_dim, device=device, dtype=dtype, kv_heads=kv_heads)
    ok = []
    for name in BACKENDS:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                sdpa_attention(q, k, v, causal, name)
            ok.append(name)
        except (RuntimeError, ValueError, NotImplementedError):
            continue
    return ok


@dataclass
class BestAttention:
    """The fastest fused attention path found by :func:`best_attention`."""

    name: str
    fn: Callable
    seconds: dict = field(default_factory=dict)

    def __call__(self, q, k, v, causal: bool = False):
        return self.fn(q, k, v, causal)


def best_attention(device: str = "cpu", dtype="fp32", *, heads: int = 32, head_dim: int = 128,
                   n: int = 4096, batch: int = 1, causal: bool = False, repeats: int = 5,
                   n_q: int | None = None) -> BestAttention:
    """Time every fused SDPA backend that runs here on this shape; return the fastest.

    ``n`` is the key/value length, ``n_q`` the query length (default ``n``; pass ``n_q=1`` to pick
    the kernel for a decode step). 'Fused' means every backend except 'math' (which materialises
    the score matrix like the naive version); 'math' is used only when nothing else runs, and
    torch's own choice (``'sdpa'``) when no restricted backend survives the timing at full size.
    ``seconds`` holds each backend's median time. Used by chapters 2 and 4.
    """
    from .bench import time_fn

    n_q = n if n_q is None else positive_int("n_q", n_q)
    names = available_backends(device, dtype, heads=heads, head_dim=head_dim, n=min(n, 256),
                               n_q=min(n_q, 256), batch=batch, causal=causal)
    fused = [b for b in names if b != "math"] or names
    q, _, _ = attention_inputs(batch, heads, n_q, head_dim, device=device, dtype=dtype)
    _, k, v = attention_inputs(batch, heads, n, head_dim, device=device, dtype=dtype)
    seconds = {}
    for name in fused:
        try:  # a backend may refuse the full-size shape although it ran the small one
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                seconds[name] = time_fn(lambda: sdpa_attention(q, k, v, causal, name), device=device,
                                        warmup=1, repeats=repeats).median_s
        except (RuntimeError, ValueError, NotImplementedError):
            continue
    if not seconds:
        return BestAttention("sdpa", attention_fn("sdpa"), {})
    best = min(seconds, key=seconds.get)
    return BestAttention(best, attention_fn(best), seconds)


class _RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float = 1e-5, **factory):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim, **factory))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


class DecoderLayer(nn.Module):
    """One decoder layer shaped like ``lm`` (random weights): prefill ``forward``, ``decode`` step.

    ``attention`` is ``'naive'``, ``'sdpa'``, a backend name or a function ``f(q, k, v, causal)``.
    Used by chapters 2 and 4.
    """

    def __init__(self, lm, *, attention="sdpa", device: str = "cpu", dtype="fp32", seed: int = 0):
        super().__init__()
        lm = _lm(lm)
        device_kind("device", device, allow_meta=True)
        torch.manual_seed(seed)
        f = {"device": device, "dtype": torch_dtype(dtype)}
        d, self.lm = lm.d_model, lm
        self.attn = attention if callable(attention) else attention_fn(attention)
        self.norm1, self.norm2 = _RMSNorm(d, **f), _RMSNorm(d, **f)
        self.q_proj = nn.Linear(d, lm.q_dim, bias=lm.qkv_bias, **f)
        self.k_proj = nn.Linear(d, lm.kv_dim, bias=lm.qkv_bias, **f)
        self.v_proj = nn.Linear(d, lm.kv_dim, bias=lm.qkv_bias, **f)
        self.o_proj = nn.Linear(lm.q_dim, d, bias=lm.o_bias, **f)
        gated = lm.ffn == "swiglu"
        self.gate_proj = nn.Linear(d, lm.d_ff, bias=False, **f) if gated else None
        self.up_proj = nn.Linear(d, lm.d_ff, bias=False, **f)
        self.down_proj = nn.Linear(lm.d_ff, d, bias=False, **f)
        for p in self.parameters():  # small weights keep bf16 activations finite in deep stacks
            nn.init.normal_(p, std=0.02) if p.dim() == 2 else None
        self.requires_grad_(False)

    def _heads(self, x, n_heads):
        b, t, _ = x.shape
        return x.view(b, t, n_heads, self.lm.head_dim).transpose(1, 2)

    def _mlp(self, x):
        h = self.norm2(x)
        if self.gate_proj is not None:
            return self.down_proj(F.silu(self.gate_proj(h)) * self.up_proj(h))
        return self.down_proj(F.gelu(self.up_proj(h)))

    def _attend(self, x, q, k, v, causal):
        b, t, _ = x.shape
        out = self.attn(q, k, v, causal).transpose(1, 2).reshape(b, t, self.lm.q_dim)
        return x + self.o_proj(out)

    def forward(self, x, causal: bool = True):
        """Prefill: ``x`` (batch, n, d_model) → same shape (residual stream)."""
        d = self.lm.d_model
        tensor("x", x, f"(batch, n, d_model={d})", rank=3, sizes={2: ("d_model", d)}, nonempty=(0, 1), floating=True)
        h = self.norm1(x)
        q = self._heads(self.q_proj(h), self.lm.n_heads)
        k = self._heads(self.k_proj(h), self.lm.n_kv_heads)
        v = self._heads(self.v_proj(h), self.lm.n_kv_heads)
        x = self._attend(x, q, k, v, causal)
        return x + self._mlp(x)

    def decode(self, x, k_cache, v_cache, pos: int):
        """One decode step: ``x`` (batch, 1, d_model) at position ``pos``; attends to ``pos + 1`` cached tokens.

        The new key and value are written into ``k_cache``/``v_cache`` (batch, kv_heads, capacity,
        head_dim) in place.
        """
        if not 0 <= pos < k_cache.shape[2]:
            raise ValueError(f"pos must be in [0, {k_cache.shape[2]}) for this cache, got {pos!r}")
        h = self.norm1(x)
        q = self._heads(self.q_proj(h), self.lm.n_heads)
        k_cache[:, :, pos:pos + 1] = self._heads(self.k_proj(h), self.lm.n_kv_heads)
        v_cache[:, :, pos:pos + 1] = self._heads(self.v_proj(h), self.lm.n_kv_heads)
        x = self._attend(x, q, k_cache[:, :, :pos + 1], v_cache[:, :, :pos + 1], False)
        return x + self._mlp(x)


def kv_cache(lm, tokens: int, *, batch: int = 1, device: str = "cpu", dtype="bf16"):
    """Allocate one layer's (k, v) cache for ``tokens`` positions, filled with random values.

    Shape (batch, n_kv_heads, tokens, head_dim) each; ``k.nbytes + v.nbytes`` is what
    :func:`vlmlab.cost.kv_cache_bytes` predicts per layer. Used by chapter 4.
    """
    lm = _lm(lm)
    positive_int("tokens", tokens)
    shape = (positive_int("batch", batch), lm.n_kv_heads, tokens, lm.head_dim)
    dt = torch_dtype(dtype)
    device_kind("device", device, allow_meta=True)
    check_fits(f"a one-layer KV cache of {tokens:,} tokens", 2 * math.prod(shape) * torch.tensor([], dtype=dt).element_size(),
               device)
    return (torch.randn(shape, device=device, dtype=dt), torch.randn(shape, device=device, dtype=dt))
