"""seaborn figures shared by the notebooks. Imported lazily by notebooks, never by __init__."""

from __future__ import annotations

import matplotlib

matplotlib.use("module://matplotlib_inline.backend_inline") if "ipykernel" in __import__(
    "sys"
).modules else None

import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.ticker import PercentFormatter  # noqa: E402

__all__ = [
    "set_theme",
    "line_chart",
    "heatmap",
    "rrg_chart",
    "shade_period",
    "small_multiples",
    "spread_labels",
    "qualitative_colours",
]

PALETTE = "colorblind"


def qualitative_colours(n: int) -> list:
    """``n`` colours a reader can tell apart: tab10's ten distinct hues, then black and brown
    (tab20 would add lighter twins of the same hues)."""
    base = list(sns.color_palette("tab10")) + [(0.0, 0.0, 0.0), (0.69, 0.35, 0.16)]
    return [base[i % len(base)] for i in range(n)]


def set_theme() -> None:
    """One theme for every figure: white grid, readable at report width (9 x 4.5 in at 100 dpi)."""
    sns.set_theme(
        style="whitegrid",
        context="notebook",
        palette=PALETTE,
        rc={
            "figure.figsize": (9, 4.5),
            "figure.dpi": 100,
            "axes.titleweight": "bold",
            "axes.titlesize": 12,
            "svg.hashsalt": "rotation",
        },
    )


def line_chart(
    data: pd.DataFrame,
    *,
    x: str,
    y: str,
    hue: str | None = None,
    title: str,
    xlabel: str,
    ylabel: str,
    ax=None,
):
    """A seaborn line chart with title and labelled axes; returns the figure."""
    if ax is None:
        fig, ax = plt.subplots()
    else:
        fig = ax.figure
    sns.lineplot(data=data, x=x, y=y, hue=hue, ax=ax)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    if hue is not None and ax.get_legend() is not None:
        ax.legend(title=None, fontsize=8, ncols=2)
    return fig


def heatmap(
    table: pd.DataFrame,
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    fmt: str = ".1%",
    center: float | None = 0.0,
    cbar_label: str = "",
):
    """Annotated diverging heatmap of a 2-D table; returns the figure.

    When the cells are shown in percent (``fmt`` ending in "%", values stored as decimals) the
    colour bar is labelled in percent too, so cells and bar read in one unit. Missing cells stay
    blank (grey) rather than coloured.
    """
    fig, ax = plt.subplots(figsize=(9, max(3.0, 0.45 * len(table) + 1.5)))
    percent = fmt.endswith("%")
    sns.heatmap(
        table.astype(float),
        annot=True,
        fmt=fmt,
        cmap="RdYlGn",
        center=center,
        ax=ax,
        linewidths=0.5,
        cbar_kws={"label": cbar_label + (" (%)" if percent and cbar_label else "")},
    )
    if percent:
        ax.collections[0].colorbar.ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_facecolor("#eeeeee")
    ax.grid(False)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    return fig


def small_multiples(
    lines: dict[str, list[pd.Series]],
    *,
    title: str,
    ylabel: str,
    reference: float | None = 1.0,
    gaps: list[tuple[pd.Timestamp, pd.Timestamp]] | None = None,
    ncols: int = 4,
):
    """One small panel per series on a shared y axis, so a dozen lines stay readable.

    Parameters
    ----------
    lines : dict of name -> list of Series
        Each name's line as runs (e.g. split at provider gaps): runs are drawn unconnected.
    reference : float, optional
        A horizontal reference line (1.0 for a price relative).
    gaps : list of (start, end), optional
        Date ranges shaded grey on every panel (data missing for some series).
    """
    names = list(lines)
    nrows = max(1, -(-len(names) // ncols))
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(9.5, 1.9 * nrows + 0.8), sharex=True, sharey=True, squeeze=False
    )
    colour = sns.color_palette(PALETTE)[0]
    for ax, name in zip(axes.flat, names, strict=False):
        for run in lines[name]:
            ax.plot(run.index, run.to_numpy(), color=colour, lw=1.1)
        if reference is not None:
            ax.axhline(reference, color="black", lw=0.6)
        for a, b in gaps or []:
            ax.axvspan(a, b, color="grey", alpha=0.2, lw=0)
        ax.set_title(name, fontsize=10)
        ax.tick_params(labelsize=7)
        locator = mdates.AutoDateLocator(minticks=2, maxticks=4)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    for ax in list(axes.flat)[len(names) :]:
        ax.set_visible(False)
    fig.suptitle(title, fontweight="bold", fontsize=12)
    fig.supylabel(ylabel, fontsize=9)
    return fig


def spread_labels(
    points: np.ndarray,
    sizes: np.ndarray,
    *,
    offset: float = 6.0,
    iterations: int = 300,
) -> np.ndarray:
    """Label positions (display units, e.g. points) that do not overlap each other.

    Each label starts ``offset`` up and right of its point; overlapping boxes are pushed apart
    along the line between their centres (or vertically when they coincide) until none overlap
    or ``iterations`` run out. Pure arithmetic, so it is tested without drawing.

    Parameters
    ----------
    points : array (n, 2)
        Anchor positions.
    sizes : array (n, 2)
        Width and height of each label box.

    Returns
    -------
    array (n, 2)
        Lower-left corners of the label boxes.
    """
    pos = np.asarray(points, dtype=float) + offset
    size = np.asarray(sizes, dtype=float)
    n = len(pos)
    for _ in range(iterations):
        moved = False
        for i in range(n):
            for j in range(i + 1, n):
                overlap_x = min(pos[i, 0] + size[i, 0], pos[j, 0] + size[j, 0]) - max(
                    pos[i, 0], pos[j, 0]
                )
                overlap_y = min(pos[i, 1] + size[i, 1], pos[j, 1] + size[j, 1]) - max(
                    pos[i, 1], pos[j, 1]
                )
                if overlap_x <= 0 or overlap_y <= 0:
                    continue
                moved = True
                ci, cj = pos[i] + size[i] / 2, pos[j] + size[j] / 2
                d = cj - ci
                if not d.any():
                    d = np.array([0.0, 1.0 if j > i else -1.0])
                # move along the axis that needs the smaller shift
                if overlap_y <= overlap_x:
                    shift = np.array([0.0, (overlap_y / 2 + 0.5) * (1 if d[1] >= 0 else -1)])
                else:
                    shift = np.array([(overlap_x / 2 + 0.5) * (1 if d[0] >= 0 else -1), 0.0])
                pos[i] -= shift
                pos[j] += shift
        if not moved:
            break
    return pos


def shade_period(ax, start, end, label: str) -> None:
    """Shade a date range on a time axis (e.g. the dot-com bubble) with a label."""
    ax.axvspan(start, end, color="grey", alpha=0.15, lw=0)
    ax.text(start, ax.get_ylim()[1], f" {label}", va="top", ha="left", fontsize=8, color="dimgrey")


def rrg_chart(rrg_long: pd.DataFrame, *, tail: int, title: str):
    """Relative rotation graph: RS-ratio (x) vs RS-momentum (y), quadrants shaded, a tail of the
    last ``tail`` weeks per ticker ending in a marker; returns the figure."""
    fig, ax = plt.subplots(figsize=(8, 7))
    last = rrg_long.groupby("ticker").tail(tail)
    xs, ys = last["rs_ratio"], last["rs_momentum"]
    pad = 0.5
    lo_x, hi_x = min(xs.min(), 100) - pad, max(xs.max(), 100) + pad
    lo_y, hi_y = min(ys.min(), 100) - pad, max(ys.max(), 100) + pad
    for x0, x1, y0, y1, name, colour in [
        (100, hi_x, 100, hi_y, "Leading", "#d8f0d8"),
        (100, hi_x, lo_y, 100, "Weakening", "#fff3cd"),
        (lo_x, 100, lo_y, 100, "Lagging", "#f8d7da"),
        (lo_x, 100, 100, hi_y, "Improving", "#d6e4f5"),
    ]:
        ax.add_patch(plt.Rectangle((x0, y0), x1 - x0, y1 - y0, color=colour, zorder=0))
        ax.text(
            x0 + 0.1 if x0 < 100 else x1 - 0.1,
            y1 - 0.1 if y1 > 100 else y0 + 0.1,
            name,
            ha="left" if x0 < 100 else "right",
            va="top" if y1 > 100 else "bottom",
            fontsize=9,
            color="dimgrey",
        )
    groups = list(last.groupby("ticker", sort=True))
    colours = qualitative_colours(len(groups))
    ends = []
    for colour, (t, g) in zip(colours, groups, strict=True):
        ax.plot(g["rs_ratio"], g["rs_momentum"], "-", color=colour, lw=1.2, alpha=0.8)
        ax.plot(g["rs_ratio"].iloc[-1], g["rs_momentum"].iloc[-1], "o", color=colour)
        ends.append((t, g["rs_ratio"].iloc[-1], g["rs_momentum"].iloc[-1], colour))
    ax.set(
        xlim=(lo_x, hi_x),
        ylim=(lo_y, hi_y),
        title=title,
        xlabel="RS-ratio (100 = in line with benchmark trend)",
        ylabel="RS-momentum (100 = flat)",
    )
    _label_without_overlap(ax, ends)
    return fig


def _label_without_overlap(ax, ends: list[tuple[str, float, float, object]]) -> None:
    """Ticker labels at the end of each tail, spread apart in points, with a leader line when a
    label had to move away from its marker."""
    if not ends:
        return
    fig = ax.figure
    fig.canvas.draw()  # fixes the transform for the limits set above
    to_points = 72.0 / fig.dpi
    anchors = np.array([ax.transData.transform((x, y)) for _, x, y, _ in ends]) * to_points
    sizes = np.array([[6.2 * len(t) + 2, 11.0] for t, *_ in ends])
    boxes = spread_labels(anchors, sizes, offset=4.0)
    for (t, x, y, colour), a, b in zip(ends, anchors, boxes, strict=True):
        dx, dy = b - a
        far = np.hypot(dx - 4, dy - 4) > 3
        ax.annotate(
            t,
            (x, y),
            xytext=(dx, dy),
            textcoords="offset points",
            fontsize=9,
            color="black",
            va="bottom",
            ha="left",
            arrowprops={"arrowstyle": "-", "color": colour, "lw": 0.7} if far else None,
        )
