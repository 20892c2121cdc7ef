"""One plotting style for the whole book: palette, axes, measured-beside-predicted, device notes.

Every figure in the book goes through these helpers so that colours, markers and labels mean the
same thing in every chapter: measurements are markers, predictions are lines of the same colour,
and a measured figure names the device that produced it. Used by every chapter.
"""
from __future__ import annotations

import math
from typing import Sequence

#: Okabe–Ito palette: distinguishable with the common forms of colour blindness.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]

#: Width of the book's text column in inches: a figure drawn this wide is shown at about 98 CSS
#: pixels per inch in a 1280-px window, so an 8-pt label is 11 px tall on screen.
COLUMN_IN = 7.0

STYLE = {
    "figure.figsize": (COLUMN_IN, 4.2),
    # 144 dpi: a 7-inch figure is a 1008-px PNG, sharp when the page shows it ~690 px wide on a
    # 1.5x (HiDPI) screen; the dpi is written into the PNG (the browser test reads it back).
    "figure.dpi": 144,
    "savefig.dpi": 144,
    "axes.prop_cycle": None,  # filled in by use_style
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 11,
    "axes.titleweight": "bold",
    "axes.labelsize": 10,
    "legend.fontsize": 8.5,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.frameon": False,
    "lines.linewidth": 1.8,
    "lines.markersize": 5,
}


def use_style() -> None:
    """Apply the book's matplotlib style (idempotent). Called by :func:`figure`."""
    import matplotlib as mpl
    from cycler import cycler

    mpl.rcParams.update({**STYLE, "axes.prop_cycle": cycler(color=PALETTE)})


def figure(title: str, xlabel: str, ylabel: str, *, log: str = "", ncols: int = 1,
           figsize: tuple[float, float] | None = None):
    """A new figure in the book's style; ``log`` is '', 'x', 'y' or 'xy'. Returns (fig, ax).

    ``ncols`` panels are laid out at most two to a row, the column's width (``COLUMN_IN``) wide
    and stacked: squeezing more side by side would shrink their labels below a readable size.
    With ``ncols > 1`` the second value is a flat array of the ``ncols`` axes.
    """
    import matplotlib.pyplot as plt

    use_style()
    if ncols < 1:
        raise ValueError(f"ncols must be a positive number of panels, got {ncols!r}")
    cols = min(ncols, 2)
    rows = -(-ncols // cols)
    default = (COLUMN_IN, 4.2) if ncols == 1 else (COLUMN_IN, 3.3 * rows + 0.4)
    fig, grid = plt.subplots(rows, cols, figsize=figsize or default, constrained_layout=True,
                             squeeze=False)
    flat = grid.ravel()
    for extra in flat[ncols:]:
        extra.remove()
    axes = flat[0] if ncols == 1 else flat[:ncols]
    for ax in (axes if ncols > 1 else [axes]):
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        if "x" in log:
            ax.set_xscale("log", base=2)
        if "y" in log:
            ax.set_yscale("log")
    title = wrap_title(title, fig.get_figwidth())
    if ncols == 1:
        axes.set_title(title)
    else:
        fig.suptitle(title, fontweight="bold", fontsize=11)
    return fig, axes


def wrap_title(title: str, width_in: float = COLUMN_IN, fontsize: float = 11) -> str:
    """``title`` broken into lines that fit ``width_in`` inches at ``fontsize`` points (bold).

    A title wider than its figure widens the saved PNG (tight bounding box), and the page then
    shrinks the whole figure, labels included; so a long finding goes on two lines instead.
    """
    import textwrap

    chars = max(20, int(width_in * 72 / (fontsize * 0.64)))
    return "\n".join("\n".join(textwrap.wrap(line, chars)) or line for line in title.split("\n"))


def color(i: int) -> str:
    """The i-th colour of the book's palette."""
    return PALETTE[i % len(PALETTE)]


def measured_vs_predicted(ax, x: Sequence[float], measured: Sequence[float | None],
                          predicted: Sequence[float], label: str, i: int = 0) -> None:
    """Measured as markers, predicted as a dashed line of the same colour (None = not measured)."""
    c = color(i)
    ax.plot(x, predicted, "--", color=c, alpha=0.8, label=f"{label} (predicted)")
    pts = [(a, b) for a, b in zip(x, measured) if b is not None and not (isinstance(b, float) and math.isnan(b))]
    if pts:
        xs, ys = zip(*pts)
        ax.plot(xs, ys, "o", color=c, label=f"{label} (measured)")


def loglog_slope(x: Sequence[float], y: Sequence[float]) -> float:
    """Least-squares slope of log(y) against log(x): 1 for linear growth, 2 for quadratic."""
    pts = [(math.log(a), math.log(b)) for a, b in zip(x, y) if a and b and a > 0 and b > 0]
    if len(pts) < 2:
        raise ValueError(f"need at least two positive points to fit a slope, got {len(pts)}")
    n = len(pts)
    mx = sum(p[0] for p in pts) / n
    my = sum(p[1] for p in pts) / n
    sxx = sum((p[0] - mx) ** 2 for p in pts)
    if sxx == 0:
        raise ValueError("all x values are equal; a slope needs at least two distinct sizes")
    return sum((p[0] - mx) * (p[1] - my) for p in pts) / sxx


def device_note(fig_or_ax, text: str) -> None:
    """Write which device (and scale) produced a measured figure, in its lower-right corner."""
    fig = getattr(fig_or_ax, "figure", fig_or_ax)
    # supxlabel, unlike fig.text, is given room by the constrained layout: it never hides an axis label
    fig.supxlabel(text, x=0.995, ha="right", fontsize=8, color="#555555")
