"""Fewer visual tokens at a fixed budget: ToMe merging, variance pruning, grid pooling; and what they lose.

* :func:`tome_merge` is the bipartite soft matching of Token Merging (Bolya et al., ICLR 2023), written
  after the authors' ``tome/merge.py``: split the tokens alternately into sets A and B, link each A
  token to its most similar B token (cosine of the metric), merge the ``r`` best-linked A tokens
  into their B partners by a size-weighted average, and put the kept A tokens (in order of falling
  similarity) before the B tokens. One step removes at most half the tokens; ToMe repeats it in
  every layer (``r`` per layer), which is what ``layers`` spreads here.
* :func:`prune_by_variance` keeps the ``budget`` patches of highest pixel variance.
* :func:`pool_grid` averages ``f x f`` blocks of neighbouring patches (2x2 pooling, pixel shuffle).

Each returns a :class:`Reduction`: the kept tokens, their sizes (patches per token) and, for every
original patch, the token that now stands for it (-1: dropped). :func:`reconstruct` paints every
patch with its token, so the error of a reduction can be read in pixels. Numpy, plus one torch
matmul (imported lazily) in the matching step. Chapter 8.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import positive_int
from .redundancy import CLIP_MEAN, check_array, normalise, patchify, unpatchify


@dataclass(frozen=True)
class Reduction:
    """``tokens`` (k, D) in pixel units, ``sizes`` (k,) patches per token, ``owner`` (N,) the token
    index that stands for each original patch, -1 where the patch was dropped (chapter 8)."""

    method: str
    tokens: np.ndarray
    sizes: np.ndarray
    owner: np.ndarray

    @property
    def n_tokens(self) -> int:
        return int(self.tokens.shape[0])


def check_budget(budget, n_tokens: int) -> int:
    """``budget`` must be an integer in [1, n_tokens]; returns it (chapter 8)."""
    budget = positive_int("budget", budget)
    if budget > n_tokens:
        raise ValueError(f"budget must be between 1 and the number of tokens ({n_tokens}), got {budget}")
    return budget


def _unit_rows(x: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    return np.divide(x, norm, out=np.zeros_like(x), where=norm > 0)


def _cosine_scores(unit_a: np.ndarray, unit_b: np.ndarray) -> np.ndarray:
    """``unit_a @ unit_b.T`` on one CPU thread (torch): these matrices are small, and a threaded BLAS
    on a busy 2-core machine was ten times slower than one thread. Rounded to 1e-9 so that ties do
    not hang on rounding differences between machines."""
    import torch

    from ..device import torch_threads

    with torch_threads(1):
        scores = (torch.from_numpy(unit_a) @ torch.from_numpy(unit_b).T).numpy()
    return np.round(scores, 9)


def bipartite_soft_matching_step(tokens: np.ndarray, sizes: np.ndarray, metric: np.ndarray, r: int):
    """One ToMe step: merge ``r`` A tokens into B tokens (``r <= len(tokens) // 2``) (chapter 8).

    Returns (tokens, sizes, new_index) where ``new_index[i]`` is where old token ``i`` went.
    Scores are rounded to 1e-9 and ties keep the earlier A token (stable sort): deterministic.
    """
    t = tokens.shape[0]
    if not 0 <= r <= t // 2:
        raise ValueError(f"r must be between 0 and half the tokens ({t // 2}), got {r}")
    a_idx, b_idx = np.arange(0, t, 2), np.arange(1, t, 2)
    unit = _unit_rows(metric)
    scores = _cosine_scores(unit[a_idx], unit[b_idx])
    zero_a, zero_b = ~unit[a_idx].any(axis=1), ~unit[b_idx].any(axis=1)
    scores[np.ix_(zero_a, zero_b)] = 1.0  # two all-zero metric vectors are identical
    node_idx = scores.argmax(axis=1)                 # each A token's best B partner
    node_max = scores[np.arange(len(a_idx)), node_idx]
    edge_idx = np.argsort(-node_max, kind="stable")  # A tokens, most similar first
    unm, src = edge_idx[r:], edge_idx[:r]
    dst = node_idx[src]
    weighted = tokens * sizes[:, None]
    b_sum, b_size = weighted[b_idx].copy(), sizes[b_idx].astype(float)
    np.add.at(b_sum, dst, weighted[a_idx[src]])      # scatter-sum, as merge_wavg does
    np.add.at(b_size, dst, sizes[a_idx[src]])
    new_tokens = np.concatenate([tokens[a_idx[unm]], b_sum / b_size[:, None]])
    new_sizes = np.concatenate([sizes[a_idx[unm]], b_size])
    new_index = np.empty(t, dtype=np.int64)
    new_index[a_idx[unm]] = np.arange(len(unm))
    new_index[a_idx[src]] = len(unm) + dst
    new_index[b_idx] = len(unm) + np.arange(len(b_idx))
    return new_tokens, new_sizes, new_index


def tome_merge(patches: np.ndarray, budget: int, layers: int | None = 24, metric=normalise) -> Reduction:
    """Merge ``patches`` (N, D) down to ``budget`` tokens with ToMe's bipartite soft matching (chapter 8).

    ``layers``: ToMe merges a constant ``r`` tokens in every layer; here ``r = ceil((N - budget) /
    layers)`` per step (24 = the depth of ViT-L), the last step taking what is left and no step more
    than half. ``layers=None`` removes as many as one step allows. ``metric`` maps tokens to the
    vectors whose cosine decides the matching (default: CLIP-normalised pixels; ToMe uses the
    attention keys). Token values are size-weighted means of their patches.
    """
    n = check_array("patches", patches, "(N, D)", 2).shape[0]
    budget = check_budget(budget, n)
    if layers is not None:
        layers = positive_int("layers", layers)
    r_per_step = n if layers is None else max(1, -(-(n - budget) // layers))
    tokens, sizes = patches.astype(np.float64), np.ones(n)
    owner = np.arange(n)
    while tokens.shape[0] > budget:
        t = tokens.shape[0]
        r = min(t - budget, t // 2, r_per_step)
        tokens, sizes, new_index = bipartite_soft_matching_step(tokens, sizes, metric(tokens), r)
        owner = new_index[owner]
    return Reduction("ToMe merging", tokens, sizes, owner)


def prune_by_variance(patches: np.ndarray, budget: int, summary: bool = False) -> Reduction:
    """Keep the ``budget`` patches of highest pixel variance, in raster order (chapter 8).

    Ties keep the earlier patch. Dropped patches own no token (``owner == -1``). With
    ``summary=True`` one token of the budget is spent on the mean of all dropped patches (they then
    own it), so the background keeps its average colour at the same token count.
    """
    n = check_array("patches", patches, "(N, D)", 2).shape[0]
    budget = check_budget(budget, n)
    keep = budget - 1 if summary and budget < n else budget
    if keep < 1:
        raise ValueError(f"budget must be at least 2 with summary=True (one kept patch and the summary), got {budget}")
    order = np.argsort(-patches.var(axis=1), kind="stable")
    kept = np.sort(order[:keep])
    owner = np.full(n, -1)
    owner[kept] = np.arange(keep)
    tokens, sizes = patches[kept].astype(np.float64), np.ones(keep)
    if keep < budget:
        dropped = owner < 0
        owner[dropped] = keep
        tokens = np.concatenate([tokens, patches[dropped].mean(axis=0, keepdims=True)])
        sizes = np.append(sizes, dropped.sum())
    return Reduction("variance pruning" + (" + summary" if summary else ""), tokens, sizes, owner)


def pool_grid(patches: np.ndarray, grid: tuple[int, int], factor: int) -> Reduction:
    """Average each ``factor x factor`` block of neighbouring patches into one token (chapter 8).

    Fixed-grid average pooling, for comparison. Pixel shuffle (InternVL) groups the same 2x2
    blocks but is space-to-depth: it concatenates the four tokens into one of four times the width
    and leaves the reduction to a learned MLP, so it is not an average and is not modelled here.
    """
    rows, cols = grid
    factor = positive_int("factor", factor)
    if rows % factor or cols % factor:
        raise ValueError(f"factor={factor} must divide the token grid {rows}x{cols}")
    r_idx, c_idx = np.divmod(np.arange(rows * cols), cols)
    owner = (r_idx // factor) * (cols // factor) + c_idx // factor
    k = (rows // factor) * (cols // factor)
    sums = np.zeros((k, patches.shape[1]))
    np.add.at(sums, owner, patches)
    sizes = np.bincount(owner, minlength=k).astype(float)
    return Reduction(f"{factor}x{factor} pooling", sums / sizes[:, None], sizes, owner)


def reconstruct(reduction: Reduction, grid: tuple[int, int], patch_px: int,
                fill: np.ndarray = CLIP_MEAN) -> np.ndarray:
    """The image in which every patch is replaced by its token; dropped patches get ``fill``, the
    colour of an all-zero normalised token (CLIP's mean colour) (chapter 8)."""
    d = reduction.tokens.shape[1]
    fill_vec = np.tile(np.asarray(fill, dtype=np.float64), d // len(fill))
    patches = np.where(reduction.owner[:, None] >= 0, reduction.tokens[np.maximum(reduction.owner, 0)], fill_vec)
    return unpatchify(patches, grid, patch_px)
