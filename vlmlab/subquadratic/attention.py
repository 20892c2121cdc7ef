"""The softmax baseline, and attention with vision-to-vision connections cut (chapter 9).

Layout of a sequence: ``text_before`` text tokens, ``n_images`` images of ``tokens_per_image``
visual tokens each, then ``text_after`` text tokens. In the cut pattern, in the spirit of
Pham et al. (2024), a visual token attends only to the text before it and to itself (not to other
patches of its image, nor to other images); text tokens attend causally to everything before them.

* :func:`masked_attention` hands that pattern to ``scaled_dot_product_attention`` as a dense n×n
  boolean mask: correct, but the kernel still scores every pair;
* :func:`vision_cut_attention` computes only the kept pairs (text rows with the fused kernel,
  visual rows against the prefix and themselves), so its work grows linearly with the images.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..errors import non_negative_int, positive_int


def softmax_attention(q, k, v, *, causal: bool = True):
    """Softmax attention through torch's fused ``scaled_dot_product_attention`` (chapter 9)."""
    return F.scaled_dot_product_attention(q, k, v, is_causal=causal)


def _layout(text_before, n_images, tokens_per_image, text_after):
    p = non_negative_int("text_before", text_before)
    m = positive_int("tokens_per_image", tokens_per_image)
    v = non_negative_int("n_images", n_images) * m
    return p, v, non_negative_int("text_after", text_after)


def vision_cut_mask(text_before: int, n_images: int, tokens_per_image: int, text_after: int,
                    device=None) -> torch.Tensor:
    """Boolean (n, n) mask, True where query i may attend to key j (chapter 9)."""
    p, v, q = _layout(text_before, n_images, tokens_per_image, text_after)
    n = p + v + q
    mask = torch.ones(n, n, dtype=torch.bool, device=device).tril()
    mask[p:p + v, p:p + v] = torch.eye(v, dtype=torch.bool, device=device)
    return mask


def masked_attention(q, k, v, mask):
    """``scaled_dot_product_attention`` with an explicit boolean mask (chapter 9)."""
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask)


def vision_cut_attention(q, k, v, text_before: int, n_images: int, tokens_per_image: int,
                         text_after: int):
    """Attention with the cut pattern, computing only the pairs it keeps (chapter 9).

    Equals ``masked_attention(q, k, v, vision_cut_mask(...))``; q, k, v are (batch, heads, n, d).
    """
    p, nv, nq = _layout(text_before, n_images, tokens_per_image, text_after)
    n = p + nv + nq
    if q.shape[-2] != n:
        raise ValueError(f"q has {q.shape[-2]} tokens but the layout has {n} "
                         f"({p} text + {nv} visual + {nq} text)")
    scale = q.shape[-1] ** -0.5
    parts = []
    if p:
        parts.append(F.scaled_dot_product_attention(q[..., :p, :], k[..., :p, :], v[..., :p, :],
                                                    is_causal=True))
    if nv:
        qv, kv, vv = q[..., p:p + nv, :], k[..., p:p + nv, :], v[..., p:p + nv, :]
        self_score = (qv * kv).sum(-1, keepdim=True) * scale                  # (b, h, nv, 1)
        scores = torch.cat([qv @ k[..., :p, :].transpose(-1, -2) * scale, self_score], dim=-1)
        probs = scores.softmax(-1)
        parts.append(probs[..., :p] @ v[..., :p, :] + probs[..., p:] * vv)
    if nq:
        rows = torch.arange(p + nv, n, device=q.device)[:, None]
        keep = torch.arange(n, device=q.device)[None, :] <= rows              # (nq, n), small
        parts.append(F.scaled_dot_product_attention(q[..., p + nv:, :], k, v, attn_mask=keep))
    return torch.cat(parts, dim=-2)
