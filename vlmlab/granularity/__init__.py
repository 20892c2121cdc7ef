"""Chapter 8, "Granularity": how redundant visual tokens are, and what a token budget keeps.

  images      real images shipped inside installed packages, at ViT resolutions (no downloads)
  redundancy  patches, neighbour cosine similarity, per-patch variance and entropy
  reduce      ToMe bipartite soft matching, variance pruning, grid pooling; reconstruction
  fidelity    MSE / PSNR of a reconstruction, a prediction from neighbour redundancy, budget sweeps

Numpy only at import time; torch is imported inside the functions that use it (resizing, the
random patch embedding, ToMe's similarity matmul). Used by chapter 8.
"""
from __future__ import annotations

from .fidelity import (FLAT_STD, QUANTISATION_PSNR_DB, budget_sweep, mse, predicted_merge_mse, psnr_db,
                       reduction_error, reductions_at)
from .images import IMAGES, Sample, list_images, load_image, render_text, resize_square
from .reduce import (Reduction, bipartite_soft_matching_step, check_budget, pool_grid, prune_by_variance,
                     reconstruct, tome_merge)
from .redundancy import (CLIP_MEAN, CLIP_STD, cosine, neighbour_cosine, neighbour_pairs, normalise,
                         patch_entropy_bits, patch_variance, patchify, random_patch_embedding, redundancy_row,
                         unpatchify)

__all__ = [
    "FLAT_STD", "QUANTISATION_PSNR_DB", "budget_sweep", "mse", "predicted_merge_mse", "psnr_db",
    "reduction_error", "reductions_at", "IMAGES", "Sample", "list_images", "load_image", "render_text",
    "resize_square", "Reduction", "bipartite_soft_matching_step", "check_budget", "pool_grid",
    "prune_by_variance", "reconstruct", "tome_merge", "CLIP_MEAN", "CLIP_STD", "cosine", "neighbour_cosine",
    "neighbour_pairs", "normalise", "patch_entropy_bits", "patch_variance", "patchify",
    "random_patch_embedding", "redundancy_row", "unpatchify",
]
