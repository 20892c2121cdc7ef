"""How redundant are an image's ViT patches? Patchify, neighbour similarity, per-patch statistics.

A ViT with patch size ``p`` cuts an image of ``s`` pixels into ``(s/p)^2`` patches and maps each
flattened patch (``p*p*3`` numbers) linearly to one token. Redundancy at the pixel level is measured
here as (a) the cosine similarity of adjacent patch vectors after CLIP's per-channel normalisation
(what the linear patch embedding sees), (b) per-patch pixel variance and (c) per-patch entropy of
the 8-bit grey levels. Numpy only, except :func:`random_patch_embedding` (torch, imported lazily).
Used by chapter 8.
"""
from __future__ import annotations

import numpy as np

from ..errors import positive_int


def check_array(name: str, x, expected: str, ndim: int) -> np.ndarray:
    """``x`` must be a non-empty numpy array of ``ndim`` dimensions with finite values (chapter 8)."""
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name} must be a numpy array of shape {expected}, got {type(x).__name__}")
    if x.ndim != ndim or 0 in x.shape:
        raise ValueError(f"{name} must be a non-empty array of shape {expected}, got shape {x.shape}")
    if not np.issubdtype(x.dtype, np.number) or not np.isfinite(x).all():
        raise ValueError(f"{name} must hold finite numbers, got dtype {x.dtype} with NaN/inf or non-numbers")
    return x

#: CLIP's image-processor normalisation (openai/clip-vit-large-patch14 preprocessor_config.json).
CLIP_MEAN = np.array([0.48145466, 0.4578275, 0.40821073])
CLIP_STD = np.array([0.26862954, 0.26130258, 0.27577711])


def patchify(pixels: np.ndarray, patch_px: int) -> np.ndarray:
    """(H, W, C) image -> (rows*cols, patch_px*patch_px*C) patch vectors in raster order (chapter 8).

    Each row is one patch flattened as (patch row, patch column, channel), the order a ViT's
    stride-p convolution reads it up to a fixed permutation.
    """
    patch_px = positive_int("patch_px", patch_px)
    check_array("pixels", pixels, "(H, W, C)", 3)
    h, w, c = pixels.shape
    if h % patch_px or w % patch_px:
        raise ValueError(f"patch_px={patch_px} must divide the image size {h}x{w} px; "
                         f"allowed: divisors such as {[d for d in (8, 14, 16, 32) if h % d == 0 and w % d == 0]}")
    rows, cols = h // patch_px, w // patch_px
    x = pixels.reshape(rows, patch_px, cols, patch_px, c).transpose(0, 2, 1, 3, 4)
    return x.reshape(rows * cols, patch_px * patch_px * c)


def unpatchify(patches: np.ndarray, grid: tuple[int, int], patch_px: int, channels: int = 3) -> np.ndarray:
    """Inverse of :func:`patchify`: (rows*cols, p*p*C) -> (rows*p, cols*p, C) (chapter 8)."""
    rows, cols = grid
    if patches.shape[0] != rows * cols:
        raise ValueError(f"grid {rows}x{cols} needs {rows * cols} patches, got {patches.shape[0]}")
    x = patches.reshape(rows, cols, patch_px, patch_px, channels).transpose(0, 2, 1, 3, 4)
    return x.reshape(rows * patch_px, cols * patch_px, channels)


def normalise(patches: np.ndarray, channels: int = 3) -> np.ndarray:
    """Patch vectors (pixels in [0, 1]) after CLIP's per-channel ``(x - mean) / std`` (chapter 8)."""
    x = patches.reshape(patches.shape[0], -1, channels)
    return ((x - CLIP_MEAN) / CLIP_STD).reshape(patches.shape)


def cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cosine similarity; two all-zero rows count as identical (1), one zero row as 0 (chapter 8)."""
    na, nb = np.linalg.norm(a, axis=-1), np.linalg.norm(b, axis=-1)
    dot = np.sum(a * b, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        sim = np.where((na > 0) & (nb > 0), dot / (na * nb), 0.0)
    sim = np.where((na == 0) & (nb == 0), 1.0, sim)
    return np.clip(sim, -1.0, 1.0)


def neighbour_pairs(grid: tuple[int, int]) -> np.ndarray:
    """Index pairs (i, j) of horizontally then vertically adjacent patches in raster order (chapter 8)."""
    rows, cols = grid
    idx = np.arange(rows * cols).reshape(rows, cols)
    horizontal = np.stack([idx[:, :-1].ravel(), idx[:, 1:].ravel()], axis=1)
    vertical = np.stack([idx[:-1, :].ravel(), idx[1:, :].ravel()], axis=1)
    return np.concatenate([horizontal, vertical])


def neighbour_cosine(vectors: np.ndarray, grid: tuple[int, int]) -> np.ndarray:
    """Cosine similarity of every adjacent pair of token vectors (chapter 8)."""
    check_array("vectors", vectors, "(rows*cols, D)", 2)
    if not (isinstance(grid, (tuple, list)) and len(grid) == 2):
        raise TypeError(f"grid must be a (rows, cols) pair, got {grid!r}")
    rows, cols = positive_int("grid[0]", grid[0]), positive_int("grid[1]", grid[1])
    if rows * cols != vectors.shape[0]:
        raise ValueError(f"grid {rows} x {cols} must cover the {vectors.shape[0]} vectors, got {rows * cols} cells")
    pairs = neighbour_pairs(grid)
    return cosine(vectors[pairs[:, 0]], vectors[pairs[:, 1]])


def patch_variance(patches: np.ndarray) -> np.ndarray:
    """Variance of each patch's pixel values, all channels together (pixels in [0, 1]) (chapter 8)."""
    return patches.var(axis=1)


def patch_entropy_bits(patches: np.ndarray, channels: int = 3) -> np.ndarray:
    """Shannon entropy (bits) of each patch's 8-bit grey-level histogram (chapter 8).

    Grey = channel mean. A flat patch has 0 bits; the ceiling is log2(min(256, p*p)), e.g. 7.61
    bits for 14-px patches (196 pixels).
    """
    grey = patches.reshape(patches.shape[0], -1, channels).mean(axis=2)
    levels = np.clip(np.rint(grey * 255), 0, 255).astype(np.int64)
    n, m = levels.shape
    counts = np.zeros((n, 256))
    np.add.at(counts, (np.repeat(np.arange(n), m), levels.ravel()), 1)
    p = counts / m
    with np.errstate(divide="ignore", invalid="ignore"):
        return 0.0 - np.nansum(np.where(p > 0, p * np.log2(p), 0.0), axis=1) + 0.0  # no -0.0


def random_patch_embedding(patches: np.ndarray, width: int = 1024, seed: int = 0) -> np.ndarray:
    """Tokens of a *random-initialised* ViT patch embedding (``nn.Linear(p*p*3, width)``, torch's
    default init, seeded) applied to CLIP-normalised patches (chapter 8).

    A random linear map roughly preserves angles (Johnson-Lindenstrauss), so its tokens are as
    redundant as the pixels; a *trained* encoder's tokens are not measured here.
    """
    import torch

    width = positive_int("width", width)
    gen_state = torch.random.get_rng_state()
    try:
        torch.manual_seed(seed)
        embed = torch.nn.Linear(patches.shape[1], width, dtype=torch.float64)
    finally:
        torch.random.set_rng_state(gen_state)
    with torch.no_grad():
        return embed(torch.from_numpy(normalise(patches))).numpy()


def redundancy_row(name: str, kind: str, pixels: np.ndarray, patch_px: int,
                   duplicate_cos: float = 0.95, flat_std: float = 2 / 255) -> dict:
    """One row of chapter 8's redundancy table for one image at one resolution.

    Columns: tokens, mean neighbour cosine, share of neighbour pairs with cosine >= ``duplicate_cos``
    (near duplicates), share of flat patches (pixel std < ``flat_std``), mean patch entropy (bits).
    """
    patches = patchify(pixels, patch_px)
    rows, cols = pixels.shape[0] // patch_px, pixels.shape[1] // patch_px
    sims = neighbour_cosine(normalise(patches), (rows, cols))
    return {"image": name, "kind": kind, "size_px": pixels.shape[0], "tokens": rows * cols,
            "mean_neighbour_cos": float(sims.mean()),
            "near_duplicate_share": float((sims >= duplicate_cos).mean()),
            "flat_patch_share": float((np.sqrt(patch_variance(patches)) < flat_std).mean()),
            "entropy_bits": float(patch_entropy_bits(patches).mean())}
