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

STYLE = {
    "figure.figsize": (7.0, 4.2),
    "figure.dpi": 100,
    "savefig.dpi": 150,
    "axes.prop_cycle": None,  # filled in by use_style
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 11,
    "axes.titleweight": "bold",
    "axes.labelsize": 10,
    "legend.fontsize": 8.5,
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
    """A new figure in the book's style; ``log`` is '', 'x', 'y' or 'xy'. Returns (fig, ax)."""
    import matplotlib.pyplot as plt

    use_style()
    fig, axes = plt.subplots(1, ncols, figsize=figsize or (7.0 * (1 if ncols == 1 else 0.62 * ncols), 4.2),
                             constrained_layout=True)
    for ax in (axes if ncols > 1 else [axes]):
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        if "x" in log:
            ax.set_xscale("log", base=2)
        if "y" in log:
            ax.set_yscale("log")
    if ncols == 1:
        axes.set_title(title)
    else:
        fig.suptitle(title, fontweight="bold", fontsize=11)
    return fig, axes


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
    fig.supxlabel(text, x=0.995, ha="right", fontsize=7, color="#555555")
