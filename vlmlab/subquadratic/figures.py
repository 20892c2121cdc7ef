"""Chapter 9's scaling panels: measured markers, predicted dashed lines, one legend entry each.

:func:`tail_slopes` fits the measured and the predicted log-log slope over the same longest
lengths; :func:`scaling_panel` draws series with :func:`vlmlab.plot.measured_vs_predicted` and
replaces its two legend entries per series by one that shows both slopes (chapter 9). No torch.
"""
from __future__ import annotations

import math
from typing import Callable, Sequence

from ..errors import positive_int
from ..plot import color, loglog_slope, measured_vs_predicted


def _ok(frame):
    return frame[(frame.status == "ok") & frame.seconds.notna()]


def tail_slopes(frame, predict: Callable[[int], float], last: int = 3) -> tuple[float, float]:
    """(measured, predicted) log-log slopes over the ``last`` longest measured sizes (chapter 9).

    ``frame`` is a :func:`vlmlab.bench.sweep` DataFrame; ``predict(n)`` gives predicted seconds.
    NaNs when fewer than two sizes were measured.
    """
    positive_int("last", last)
    ok = _ok(frame).tail(last)
    if len(ok) < 2:
        return math.nan, math.nan
    ns = [int(n) for n in ok.n]
    return loglog_slope(ns, list(ok.seconds)), loglog_slope(ns, [predict(n) for n in ns])


def scaling_panel(ax, frames: dict, predict: Callable[[str, int], float], names: Sequence[str],
                  colors: dict | None = None, last: int = 3, labels: dict | None = None) -> dict:
    """Plot ``names`` from ``frames`` on ``ax``; return name -> (measured, predicted) slope.

    ``predict(name, n)`` is the predicted seconds; ``colors`` maps a name to a palette index (so a
    series keeps its colour across panels); ``labels`` renames series in the legend. Chapter 9.
    """
    from matplotlib.lines import Line2D

    colors = colors or {name: i for i, name in enumerate(names)}
    labels = labels or {}
    slopes, handles = {}, []
    for name in names:
        frame = frames[name]
        ns = [int(n) for n in frame.n]
        measured = [None if s != s else float(s) for s in frame.seconds]
        measured_vs_predicted(ax, ns, measured, [predict(name, n) for n in ns], name, colors[name])
        slopes[name] = tail_slopes(frame, lambda n, name=name: predict(name, n), last)
        m, p = slopes[name]
        handles.append(Line2D([], [], color=color(colors[name]), marker="o", linestyle="--",
                              label=f"{labels.get(name, name)}: measured slope {m:.2f}, predicted {p:.2f}"))
    ax.legend(handles=handles, fontsize=7.5, loc="upper center", bbox_to_anchor=(0.5, -0.16),
              title="markers measured, dashed predicted", title_fontsize=7.5)   # below the axes
    return slopes


def _listing(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def slope_sentence(slopes: dict, names: dict | None = None, tolerance: float = 0.15) -> str:
    """Prose comparing measured and predicted slopes, worded from the numbers (chapter 9).

    ``slopes`` maps a series to (measured, predicted), as :func:`scaling_panel` returns;
    ``names`` gives each series its name in prose. Series agree when the slopes differ by at
    most ``tolerance``.
    """
    if not tolerance >= 0:
        raise ValueError(f"tolerance must be a number >= 0, got {tolerance!r}")
    names = names or {}
    agree = [names.get(s, s) for s, (m, p) in slopes.items() if abs(m - p) <= tolerance]
    differ = [f"{names.get(s, s)} ({m:.2f} against {p:.2f})" for s, (m, p) in slopes.items()
              if not abs(m - p) <= tolerance]
    parts = []
    if agree:
        parts.append(f"Measured and predicted slopes agree within {tolerance:g} for {_listing(agree)}.")
    if differ:
        parts.append(f"They differ by more for {_listing(differ)}." if agree else
                     f"Measured and predicted slopes differ by more than {tolerance:g} for {_listing(differ)}.")
    return " ".join(parts)
