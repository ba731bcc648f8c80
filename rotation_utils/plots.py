"""seaborn figures shared by the notebooks. Imported lazily by notebooks, never by __init__."""

from __future__ import annotations

import matplotlib

matplotlib.use("module://matplotlib_inline.backend_inline") if "ipykernel" in __import__(
    "sys"
).modules else None

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

__all__ = ["set_theme", "line_chart", "heatmap", "rrg_chart", "shade_period"]

PALETTE = "colorblind"


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
    """Annotated diverging heatmap of a 2-D table; returns the figure."""
    fig, ax = plt.subplots(figsize=(9, max(3.0, 0.45 * len(table) + 1.5)))
    sns.heatmap(
        table,
        annot=True,
        fmt=fmt,
        cmap="RdYlGn",
        center=center,
        ax=ax,
        linewidths=0.5,
        cbar_kws={"label": cbar_label},
    )
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    return fig


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
    colours = sns.color_palette(PALETTE, n_colors=last["ticker"].nunique())
    for colour, (t, g) in zip(colours, last.groupby("ticker", sort=True), strict=True):
        ax.plot(g["rs_ratio"], g["rs_momentum"], "-", color=colour, lw=1.2, alpha=0.8)
        ax.plot(g["rs_ratio"].iloc[-1], g["rs_momentum"].iloc[-1], "o", color=colour)
        ax.annotate(
            t,
            (g["rs_ratio"].iloc[-1], g["rs_momentum"].iloc[-1]),
            xytext=(4, 4),
            textcoords="offset points",
            fontsize=9,
        )
    ax.set(
        xlim=(lo_x, hi_x),
        ylim=(lo_y, hi_y),
        title=title,
        xlabel="RS-ratio (100 = in line with benchmark trend)",
        ylabel="RS-momentum (100 = flat)",
    )
    return fig
