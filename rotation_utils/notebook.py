"""Small helpers the notebooks share: parameter checks, captions, tables, widgets.

Imported by notebooks only (it imports IPython and, lazily, seaborn and ipywidgets).
"""

from __future__ import annotations

import datetime as dt
import os
import warnings
from collections.abc import Callable
from typing import Any

import pandas as pd

from .errors import ParameterError
from .months import check_report_month, parse_month

__all__ = [
    "start",
    "check_parameters",
    "note",
    "caption_md",
    "show_table",
    "show_figure",
    "interactive_enabled",
    "explore",
]


def _one_line_parameter_errors() -> None:
    """In a kernel, show a :class:`ParameterError` as one line (as the CLI prints it) instead of
    a traceback; the cell still fails, so papermill and the report stop there."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return

    def one_line(shell, etype, value, tb, tb_offset=None):
        stb = [f"{etype.__name__}: {value}"]
        shell._showtraceback(etype, value, stb)  # IPython 9 leaves showing it to the handler
        return stb

    shell.set_custom_exc((ParameterError,), one_line)


_POSITIVE = ("horizon_years", "window", "tail_weeks")


def check_parameters(month: str, *, today: dt.date | None = None, **params: Any) -> pd.Period:
    """Check a notebook's parameters the way the CLI checks its arguments; returns the month.

    ``month`` must be YYYY-MM, not in the future and not before any data. By name: ``*_start``
    YYYY-MM (``history_start`` on or before ``month``); ``tickers`` a non-empty list of tickers
    the price table holds; ``benchmark`` one such ticker; ``horizon_years``, ``window`` and
    ``tail_weeks`` positive numbers; ``*_date`` YYYY-MM-DD and not in the future.

    Raises
    ------
    ParameterError
        The first bad parameter, in one line that names it.
    """
    from .sources.prices import REPORT_TICKERS

    today = today or dt.date.today()
    m = parse_month(check_report_month(month, "month", today))
    known = ", ".join(REPORT_TICKERS)
    for k, v in params.items():
        if k.endswith("_start"):
            p = parse_month(v, k)
            if k == "history_start" and p > m:
                raise ParameterError(k, f"{v} is after the report month {m}")
        elif k.endswith("_date"):
            try:
                d = dt.date.fromisoformat(str(v))
            except ValueError:
                raise ParameterError(k, f"{v!r} is not a date in YYYY-MM-DD form") from None
            if d > today:
                raise ParameterError(k, f"{v} is in the future (today is {today.isoformat()})")
        elif k == "tickers":
            if not isinstance(v, list | tuple) or not v or not all(isinstance(t, str) for t in v):
                raise ParameterError(k, f"must be a non-empty list of ticker strings, not {v!r}")
            unknown = [t for t in v if t not in REPORT_TICKERS]
            if unknown:
                raise ParameterError(k, f"unknown {', '.join(unknown)} (known: {known})")
        elif k == "benchmark" and v not in REPORT_TICKERS:
            raise ParameterError(k, f"unknown ticker {v!r} (known: {known})")
        elif k in _POSITIVE and (
            isinstance(v, bool) or not isinstance(v, int | float) or not v > 0
        ):
            raise ParameterError(k, f"must be a positive number, not {v!r}")
    return m


def start(month: str, **params: Any) -> pd.Period:
    """Check the notebook's parameters (:func:`check_parameters`) and set the plotting theme.

    Call it first in the cell after ``parameters`` (where papermill injects its values): a bad
    parameter stops the notebook with the same one-line :class:`ParameterError` the CLI prints.
    """
    _one_line_parameter_errors()
    _SHOWN_PRICE_LINES.clear()  # a warm kernel keeps modules from the notebook before
    m = check_parameters(month, **params)
    # Keep outputs clean and deterministic: library warnings go to the log, not the report.
    warnings.filterwarnings("ignore")
    from .plots import set_theme

    set_theme()
    return m


def _display(obj: Any) -> None:
    from IPython.display import display

    display(obj)


def note(text: str) -> None:
    """A short Markdown paragraph in the output (e.g. "no data for this month yet")."""
    from IPython.display import Markdown

    _display(Markdown(text))


#: Price-segment lines already shown on this page (reset by :func:`start`): a page states which
#: closes its prices rest on once, and later captions point back to it.
_SHOWN_PRICE_LINES: set[str] = set()


def caption_md(text: str) -> None:
    """A caption under a figure or table: source and vintage, in small italics, escaped (the
    text names files and vintages from downloads). A "Prices ..." line already shown on this
    page becomes "Prices as in the caption above"."""
    from IPython.display import Markdown

    from .escaping import escape_markdown

    lines, repeated = [], False
    for ln in (x for x in text.splitlines() if x.strip()):
        if ln.startswith("Prices ") and ln in _SHOWN_PRICE_LINES:
            repeated = True
            continue
        if ln.startswith("Prices "):
            _SHOWN_PRICE_LINES.add(ln)
        lines.append(escape_markdown(ln))
    if repeated:
        lines.append("Prices as in the caption above.")
    _display(Markdown("\n".join(f"<small><i>{ln}</i></small><br>" for ln in lines)))


def _cell(value: object, fmt: str) -> str:
    """One table cell: ``fmt`` is a format string ("{:+.1%}") or a unit of
    :data:`rotation_utils.units.UNITS` ("ratio_diff" prints "+3.6 pp"); text is kept as it is."""
    from .units import UNITS, format_value

    if isinstance(value, str):
        return value
    if pd.isna(value):
        return "–"
    return format_value(value, fmt, signed=True) if fmt in UNITS else fmt.format(value)


def show_table(
    df: pd.DataFrame,
    caption: str,
    formats: dict[str, str] | str | None = None,
    *,
    index: bool = True,
) -> None:
    """Display a table as static HTML (deterministic, no random ids) followed by its caption.

    ``formats`` maps a column to a format string or a unit name (see :func:`_cell`).
    """
    from IPython.display import HTML

    out = df.copy()
    if isinstance(formats, str):
        out = out.map(
            lambda v: (
                formats.format(v)
                if isinstance(v, int | float) and pd.notna(v)
                else ("" if pd.isna(v) else v)
            )
        )
    elif formats:
        for col, f in formats.items():
            if col in out:
                out[col] = out[col].map(lambda v, f=f: _cell(v, f))
    _display(
        HTML(out.to_html(index=index, na_rep="–", border=0, classes="rotation-table", escape=True))
    )
    caption_md(caption)


def show_figure(fig: Any, caption: str) -> None:
    """Show a matplotlib figure and its caption (source and vintage) beneath it.

    A figure is fitted to its size with ``tight_layout`` unless it has a layout of its own (a
    layout engine, or :func:`~rotation_utils.plots.fixed_margins`); the theme saves it at that size.
    """
    import matplotlib.pyplot as plt
    from matplotlib.layout_engine import PlaceHolderLayoutEngine

    from .plots import has_fixed_layout

    engine = fig.get_layout_engine()
    if (engine is None or isinstance(engine, PlaceHolderLayoutEngine)) and not has_fixed_layout(
        fig
    ):
        fig.tight_layout()
        # tight_layout leaves a placeholder engine behind, and savefig draws a figure that has
        # one twice (once to lay it out): the layout is done, so drop it
        fig.set_layout_engine(None)
    plt.show()
    caption_md(caption)


def interactive_enabled() -> bool:
    """True in a live Jupyter session (JupyterLab sets ``JPY_SESSION_NAME``), False under
    papermill, nbval or a plain kernel, and whenever ``ROTATION_HEADLESS`` is set."""
    if os.environ.get("ROTATION_HEADLESS"):
        return False
    return bool(os.environ.get("ROTATION_INTERACTIVE") or os.environ.get("JPY_SESSION_NAME"))


def explore(func: Callable[..., Any], **controls: Any) -> None:
    """Show ``ipywidgets.interactive(func, **controls)`` in a live session; do nothing headless,
    so reports and nbval see no widget output."""
    if not interactive_enabled():
        return
    import ipywidgets

    _display(ipywidgets.interactive(func, **controls))
