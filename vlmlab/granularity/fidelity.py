"""What a token budget costs in pixels: reconstruction error, PSNR, a prediction, a budget sweep.

The reconstruction of a reduction paints every patch with the token that stands for it
(:func:`vlmlab.granularity.reduce.reconstruct`); its mean squared error against the original
image, and the PSNR in dB, say how much pixel information the kept tokens still hold. Pixel error
is not legibility or meaning: a page can score well while every letter is gone. Numpy only
(pandas for the sweep table). Used by chapter 8.
"""
from __future__ import annotations

import numpy as np

from .redundancy import neighbour_pairs, patch_variance, patchify
from .reduce import Reduction, check_budget, pool_grid, prune_by_variance, reconstruct, tome_merge

#: A patch whose pixel standard deviation is below this is "flat" (under 2 grey levels of 255).
FLAT_STD = 2 / 255

#: PSNR of 8-bit rounding noise, 10 log10(12 * 255^2) ~ 58.9 dB: above it a reconstruction is
#: lossless once stored as 8-bit pixels.
QUANTISATION_PSNR_DB = float(10 * np.log10(12 * 255 ** 2))


def mse(a: np.ndarray, b: np.ndarray) -> float:
    """Mean squared error of two images with pixels in [0, 1] (chapter 8)."""
    if np.shape(a) != np.shape(b):
        raise ValueError(f"images must have the same shape, got {np.shape(a)} and {np.shape(b)}")
    return float(np.mean((np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)) ** 2))


def psnr_db(mse_value: float, peak: float = 1.0) -> float:
    """Peak signal-to-noise ratio 10 log10(peak^2 / MSE) in dB; ``inf`` for a perfect copy (chapter 8)."""
    if not isinstance(mse_value, (int, float, np.floating)) or mse_value < 0 or mse_value != mse_value:
        raise ValueError(f"mse_value must be a number >= 0, got {mse_value!r}")
    return float("inf") if mse_value == 0 else float(10 * np.log10(peak ** 2 / mse_value))


def reduction_error(pixels: np.ndarray, reduction: Reduction, patch_px: int) -> dict:
    """MSE and PSNR of a reduction's reconstruction, over the whole image and over the *content*
    patches only (those that are not flat in the original), and ``variance_lost``, the MSE as a
    share of the image's pixel variance (chapter 8).

    PSNR is fixed to the pixel range, so it ranks methods on one image but not images against each
    other: an image with little variance has little to lose. ``variance_lost`` compares images
    (0: nothing lost; 1: no better than painting every pixel with the image's mean)."""
    grid = (pixels.shape[0] // patch_px, pixels.shape[1] // patch_px)
    original = patchify(pixels, patch_px)
    rebuilt = patchify(reconstruct(reduction, grid, patch_px), patch_px)
    content = np.sqrt(patch_variance(original)) >= FLAT_STD
    err_all = mse(original, rebuilt)
    err_content = mse(original[content], rebuilt[content]) if content.any() else 0.0
    var = float(np.var(original))
    return {"mse": err_all, "psnr_db": psnr_db(err_all), "content_psnr_db": psnr_db(err_content),
            "variance_lost": err_all / var if var > 0 else 0.0}


def predicted_merge_mse(patches: np.ndarray, grid: tuple[int, int], budget: int) -> float:
    """Prediction of the error of merging to ``budget >= N/2`` tokens from neighbour redundancy alone
    (chapter 8): merging two single patches a, b into their mean costs |a - b|^2 / 2, so merging
    the N - budget most similar *adjacent* pairs costs the sum of the N - budget smallest such
    costs, spread over all N*D pixel values. It ignores that pairs overlap and that ToMe matches by
    cosine, not distance, across the whole image."""
    n = patches.shape[0]
    budget = check_budget(budget, n)
    if budget < (n + 1) // 2:
        raise ValueError(f"budget must be at least half the tokens ({(n + 1) // 2}) for this pairwise "
                         f"prediction, got {budget}")
    pairs = neighbour_pairs(grid)
    costs = np.sort(0.5 * np.sum((patches[pairs[:, 0]] - patches[pairs[:, 1]]) ** 2, axis=1))
    return float(costs[: n - budget].sum() / patches.size)


def reductions_at(patches: np.ndarray, grid: tuple[int, int], budget: int) -> list[Reduction]:
    """The reductions chapter 8 compares at one budget: ToMe merging, variance pruning with a summary
    token, and grid pooling where a square pooling factor gives exactly ``budget`` tokens."""
    out = [tome_merge(patches, budget), prune_by_variance(patches, budget, summary=True)]
    rows, cols = grid
    for f in range(2, min(rows, cols) + 1):
        if rows % f == 0 and cols % f == 0 and (rows // f) * (cols // f) == budget:
            out.append(pool_grid(patches, grid, f))
    return out


def budget_sweep(samples, budgets, patch_px: int = 14):
    """Reconstruction error against the token budget for each image and method (chapter 8).

    ``samples``: :class:`vlmlab.granularity.images.Sample` objects. Returns a pandas DataFrame with
    one row per (image, method, budget): mse, psnr_db, content_psnr_db, variance_lost, and ``predicted_psnr_db``
    (from :func:`predicted_merge_mse`, on ToMe rows with budget >= N/2; NaN elsewhere).
    """
    import pandas as pd

    rows = []
    for s in samples:
        grid = (s.size_px // patch_px, s.size_px // patch_px)
        patches = patchify(s.pixels, patch_px)
        n = patches.shape[0]
        for budget in budgets:
            for red in reductions_at(patches, grid, check_budget(budget, n)):
                pred = np.nan
                if red.method.startswith("ToMe") and 2 * budget >= n:
                    pred = psnr_db(predicted_merge_mse(patches, grid, budget))
                rows.append({"image": s.name, "kind": s.kind, "method": red.method, "tokens": n,
                             "budget": budget, **reduction_error(s.pixels, red, patch_px),
                             "predicted_psnr_db": pred})
    return pd.DataFrame(rows)
