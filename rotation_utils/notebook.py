"""Small helpers the notebooks share: parameter checks, captions, tables, widgets.

Imported by notebooks only (it imports IPython and, lazily, seaborn and ipywidgets).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from typing import Any

import pandas as pd

from .errors import ParameterError
from .months import parse_month

__all__ = [
    "start",
    "note",
    "caption_md",
    "show_table",
    "show_figure",
    "interactive_enabled",
    "explore",
]


def start(month: str, **params: Any) -> pd.Period:
    """Validate the notebook's parameters and set the plotting theme; returns the month.

    Extra parameters are checked by type: ``*_start`` must be YYYY-MM, ``tickers`` a non-empty
    list of strings, ``horizon_years``/``window`` positive numbers.
    """
    m = parse_month(month)
    for k, v in params.items():
        if k.endswith("_start"):
            parse_month(v, k)
        elif k == "tickers" and (
            not isinstance(v, list | tuple) or not v or not all(isinstance(t, str) for t in v)
        ):
            raise ParameterError(k, f"must be a non-empty list of ticker strings, not {v!r}")
        elif k in ("horizon_years", "window", "tail_weeks") and (
            not isinstance(v, int | float) or v <= 0
        ):
            raise ParameterError(k, f"must be a positive number, not {v!r}")
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


def caption_md(text: str) -> None:
    """A caption line under a figure or table: source and vintage, in small italics."""
    from IPython.display import Markdown

    lines = [ln for ln in text.splitlines() if ln.strip()]
    _display(Markdown("\n".join(f"<small><i>{ln}</i></small><br>" for ln in lines)))


def show_table(
    df: pd.DataFrame,
    caption: str,
    formats: dict[str, str] | str | None = None,
    *,
    index: bool = True,
) -> None:
    """Display a table as static HTML (deterministic, no random ids) followed by its caption."""
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
                out[col] = out[col].map(lambda v, f=f: f.format(v) if pd.notna(v) else "–")
    _display(
        HTML(out.to_html(index=index, na_rep="–", border=0, classes="rotation-table", escape=True))
    )
    caption_md(caption)


def show_figure(fig: Any, caption: str) -> None:
    """Show a matplotlib figure and its caption (source and vintage) beneath it."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
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
