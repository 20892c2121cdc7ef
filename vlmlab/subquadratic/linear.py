"""Causal linear attention (Katharopoulos et al. 2020) in pure torch, three ways (chapter 9).

Softmax attention weighs value j for query i by ``exp(q_i·k_j)``; linear attention replaces that
similarity by ``φ(q_i)·φ(k_j)`` with the positive feature map ``φ(x) = elu(x) + 1``. The sum over
j ≤ i then factorises through a d×d state ``S_i = Σ_{j≤i} φ(k_j) v_jᵀ`` and a normaliser
``z_i = Σ_{j≤i} φ(k_j)``:  ``out_i = φ(q_i)ᵀ S_i / φ(q_i)ᵀ z_i``.

* ``parallel``: every S_i at once with a cumulative sum (n·d² numbers in memory, one pass);
* ``recurrent``: one S, updated token by token (the RNN view of the paper's title);
* ``chunked``: a masked quadratic attention inside chunks, the state carried across chunks.

All three compute the same function; tensors are (batch, heads, tokens, head_dim) as in
``torch.nn.functional.scaled_dot_product_attention``.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..errors import non_negative_number, one_of, positive_int

FORMS = ("parallel", "recurrent", "chunked")


def elu_feature_map(x: torch.Tensor) -> torch.Tensor:
    """φ(x) = elu(x) + 1 > 0, the feature map of Katharopoulos et al. (chapter 9)."""
    return F.elu(x) + 1


def _check_qkv(q, k, v):
    for name, t in (("q", q), ("k", k), ("v", v)):
        if isinstance(t, torch.Tensor) and not t.dtype.is_floating_point:
            raise TypeError(f"{name} must be a floating-point tensor (batch, heads, tokens, dim); got {t.dtype}")
        if not isinstance(t, torch.Tensor) or t.dim() != 4 or 0 in t.shape:
            got = tuple(t.shape) if isinstance(t, torch.Tensor) else type(t).__name__
            raise ValueError(f"{name} must be a 4-D tensor (batch, heads, tokens, dim); got {got}")
    if q.shape != k.shape or q.shape[:3] != v.shape[:3]:
        raise ValueError(f"q and k must have the same shape and v the same (batch, heads, tokens); "
                         f"got q {tuple(q.shape)}, k {tuple(k.shape)}, v {tuple(v.shape)}")


def linear_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, *, form: str = "parallel",
                     chunk: int = 64, eps: float = 1e-6) -> torch.Tensor:
    """Causal linear attention; ``form`` is 'parallel', 'recurrent' or 'chunked' (chapter 9).

    Returns a tensor shaped like ``v``. The three forms agree to rounding error.
    """
    _check_qkv(q, k, v)
    one_of("form", form, FORMS)
    non_negative_number("eps", eps)
    fq, fk = elu_feature_map(q), elu_feature_map(k)
    if form == "parallel":
        state = torch.einsum("bhnd,bhne->bhnde", fk, v).cumsum(2)       # S_i for every i
        num = torch.einsum("bhnd,bhnde->bhne", fq, state)
        den = (fq * fk.cumsum(2)).sum(-1, keepdim=True)
        return num / (den + eps)
    b, h, n, d = q.shape
    state = q.new_zeros(b, h, d, v.shape[-1])
    z = q.new_zeros(b, h, d)
    outs = []
    if form == "recurrent":
        for t in range(n):
            state = state + fk[:, :, t, :, None] * v[:, :, t, None, :]
            z = z + fk[:, :, t]
            num = torch.einsum("bhd,bhde->bhe", fq[:, :, t], state)
            den = (fq[:, :, t] * z).sum(-1, keepdim=True)
            outs.append(num / (den + eps))
        return torch.stack(outs, dim=2)
    c = positive_int("chunk", chunk)
    for s in range(0, n, c):
        qc, kc, vc = fq[:, :, s:s + c], fk[:, :, s:s + c], v[:, :, s:s + c]
        scores = torch.tril(qc @ kc.transpose(-1, -2))                  # causal inside the chunk
        num = scores @ vc + qc @ state                                  # + earlier chunks
        den = scores.sum(-1, keepdim=True) + (qc * z[:, :, None]).sum(-1, keepdim=True)
        outs.append(num / (den + eps))
        state = state + kc.transpose(-1, -2) @ vc
        z = z + kc.sum(2)
    return torch.cat(outs, dim=2)
