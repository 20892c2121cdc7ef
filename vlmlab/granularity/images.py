"""Real images shipped inside installed packages, as square float arrays at a ViT resolution.

No downloads: the photograph is matplotlib's sample ``grace_hopper.jpg``; the terrain is the
elevation map ``jacksboro_fault_dem.npz`` from the same sample data; the code screenshot is the
preview image that ``accessible-pygments`` ships (a dependency of the book's Sphinx theme; where it
is missing, e.g. on Colab, the same kind of code listing is rendered with matplotlib instead, and
``.source`` says so); the text page is rendered with matplotlib from the Zen of Python (which
CPython ships as the ``this`` module) set as prose. Used by chapter 8.
"""
from __future__ import annotations

import contextlib
import importlib.util
import io
import textwrap
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import at_most, check_fits, lookup, positive_int

#: Largest ``size_px`` :func:`load_image` makes: 4,096 px is four times a SAM input; the resize
#: holds a few float copies of size_px x size_px x 3 (400 MB at this size).
MAX_SIZE_PX = 4096

#: name -> (kind, where the pixels come from)
IMAGES = {
    "photo": ("photograph", "matplotlib sample data: grace_hopper.jpg (portrait photograph)"),
    "terrain": ("natural", "matplotlib sample data: jacksboro_fault_dem.npz (elevation map, grey levels)"),
    "code": ("text", "accessible-pygments: images/github-light.png (screenshot of a code listing)"),
    "page": ("text", "rendered with matplotlib: the Zen of Python (CPython's `this` module) as a page"),
}


@dataclass(frozen=True)
class Sample:
    """One image: ``pixels`` is (size_px, size_px, 3) float64 in [0, 1]; ``kind`` is
    'photograph', 'natural' or 'text'; ``source`` says where the pixels came from."""

    name: str
    kind: str
    source: str
    pixels: np.ndarray

    @property
    def size_px(self) -> int:
        return self.pixels.shape[0]


def list_images() -> list[str]:
    """Names accepted by :func:`load_image` (chapter 8)."""
    return list(IMAGES)


def load_image(name: str, size_px: int = 336) -> Sample:
    """The named image, centre-cropped to a square and resized to ``size_px`` (chapter 8).

    Resizing is bicubic with antialiasing (``torch.nn.functional.interpolate``), as ViT image
    processors do before cutting patches.
    """
    kind, source = lookup(name, IMAGES, what="image")
    name = next(k for k in IMAGES if IMAGES[k] == (kind, source))
    size_px = at_most("size_px", positive_int("size_px", size_px, minimum=16), MAX_SIZE_PX,
                      "granularity.images.MAX_SIZE_PX")
    check_fits(f"load_image(size_px={size_px:,})", 4 * size_px * size_px * 3 * 8, "cpu")
    raw, source = _LOADERS[name](source)
    return Sample(name, kind, source, resize_square(raw, size_px))


def resize_square(pixels: np.ndarray, size_px: int) -> np.ndarray:
    """Centre-crop ``pixels`` (H, W, 3) to a square, then resize to (size_px, size_px, 3) (chapter 8)."""
    import torch
    import torch.nn.functional as F

    h, w = pixels.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    square = np.ascontiguousarray(pixels[top:top + side, left:left + side, :3], dtype=np.float32)
    x = torch.from_numpy(square).permute(2, 0, 1)[None]
    if side != size_px:
        x = F.interpolate(x, size=(size_px, size_px), mode="bicubic", antialias=True, align_corners=False)
    return x[0].permute(1, 2, 0).clamp(0, 1).double().numpy()


def _sample_path(filename: str) -> Path:
    import matplotlib

    return Path(matplotlib.get_data_path()) / "sample_data" / filename


def _load_photo(source: str):
    import matplotlib.image as mpimg

    return mpimg.imread(_sample_path("grace_hopper.jpg")).astype(np.float64) / 255.0, source


def _load_terrain(source: str):
    with np.load(_sample_path("jacksboro_fault_dem.npz")) as data:
        z = data["elevation"].astype(np.float64)
    z = (z - z.min()) / (z.max() - z.min())
    return np.repeat(z[:, :, None], 3, axis=2), source


def _load_code(source: str):
    spec = importlib.util.find_spec("a11y_pygments")
    path = Path(spec.origin).parent / "github_light" / "images" / "github-light.png" if spec else None
    if path is not None and path.is_file():
        import matplotlib.image as mpimg

        rgba = mpimg.imread(path).astype(np.float64)  # PNG: floats in [0, 1]
        alpha = rgba[..., 3:4] if rgba.shape[2] == 4 else 1.0
        return rgba[..., :3] * alpha + (1.0 - alpha), source  # composite on white
    listing = Path(__file__).read_text().splitlines()[60:110]
    return render_text("\n".join(listing), width_px=720, font_pt=8.0, family="monospace"), (
        "rendered with matplotlib: 50 lines of vlmlab's own source (accessible-pygments not installed)")


def _zen_of_python() -> str:
    with contextlib.redirect_stdout(io.StringIO()):  # importing `this` prints the poem
        import this
    return "".join(this.d.get(c, c) for c in this.s)


def _load_page(source: str):
    title, _, body = _zen_of_python().partition("\n\n")
    prose = textwrap.fill(" ".join(body.split()), 68)  # the aphorisms run together as prose
    text = "\n\n".join([title] + [prose] * 3)
    return render_text(text, width_px=900, font_pt=10.0, family="serif"), source


def render_text(text: str, width_px: int = 900, font_pt: float = 9.0, family: str = "serif") -> np.ndarray:
    """Black text on a white square of ``width_px`` pixels, rendered by matplotlib (chapter 8)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    dpi = 150
    fig = Figure(figsize=(width_px / dpi, width_px / dpi), dpi=dpi, facecolor="white")
    FigureCanvasAgg(fig)
    fig.text(0.06, 0.96, text, ha="left", va="top", fontsize=font_pt, family=family, linespacing=1.35)
    fig.canvas.draw()
    rgba = np.asarray(fig.canvas.buffer_rgba(), dtype=np.float64) / 255.0
    return rgba[..., :3]


_LOADERS = {"photo": _load_photo, "terrain": _load_terrain, "code": _load_code, "page": _load_page}
