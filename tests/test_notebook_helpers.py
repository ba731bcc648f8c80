"""Notebook helpers: parameter checks, widgets only in a live session, recorded figures."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from rotation_utils.errors import ParameterError
from rotation_utils.figures import (
    FIGURE_MIME,
    FIGURES,
    UNITS,
    FigureSpec,
    _shown,
    figure_payload,
    figure_spec,
    records_in,
)
from rotation_utils.notebook import check_parameters, explore, interactive_enabled, start
from rotation_utils.report import validate_month

from .conftest import ipc_kernel_manager


def test_start_validates_parameters():
    assert (
        str(start("2026-01", history_start="1926-07", tickers=["XLF"], horizon_years=3))
        == "2026-01"
    )
    with pytest.raises(ParameterError, match="parameter 'month': '2026-1' is not a month"):
        start("2026-1")
    with pytest.raises(ParameterError, match="parameter 'rs_start'"):
        start("2026-01", rs_start="Jan 2024")
    with pytest.raises(ParameterError, match="parameter 'tickers'"):
        start("2026-01", tickers=[])
    with pytest.raises(ParameterError, match="parameter 'horizon_years'"):
        start("2026-01", horizon_years=-1)


def test_check_parameters_gives_the_cli_one_line_errors():
    today = dt.date(2026, 11, 25)
    ok = check_parameters(
        "2026-07", today=today, benchmark="SPY", tickers=["XLF", "IWM"], article_date="2026-01-13"
    )
    assert str(ok) == "2026-07"
    cases = [
        ({"month": "1900-01"}, "parameter 'month': 1900-01 is before any data"),
        ({"month": "2027-05"}, "parameter 'month': 2027-05 is in the future (today is 2026-11-25)"),
        ({"month": "2026-07", "benchmark": "FOO"}, "parameter 'benchmark': unknown ticker 'FOO'"),
        ({"month": "2026-07", "tickers": ["XLF", "ZZZ"]}, "parameter 'tickers': unknown ZZZ"),
        ({"month": "2026-07", "history_start": "2026-08"}, "after the report month 2026-07"),
        ({"month": "2026-07", "article_date": "2026-13-01"}, "parameter 'article_date'"),
        ({"month": "2026-07", "article_date": "2026-12-01"}, "2026-12-01 is in the future"),
        ({"month": "2026-07", "tail_weeks": True}, "parameter 'tail_weeks'"),
    ]
    for params, message in cases:
        with pytest.raises(ParameterError, match=re.escape(message)):
            check_parameters(today=today, **params)
    # the CLI's own check of a report month says the same
    with pytest.raises(ParameterError) as cli:
        validate_month("2027-05", today=today)
    with pytest.raises(ParameterError) as nb:
        check_parameters("2027-05", today=today)
    assert str(cli.value) == str(nb.value)


@pytest.mark.slow  # runs a notebook in a real kernel
def test_a_bad_parameter_stops_a_kernel_in_one_line():
    nbformat = pytest.importorskip("nbformat")
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "from rotation_utils.notebook import start\nstart('2026-07', benchmark='FOO')"
        )
    ]
    with pytest.raises(CellExecutionError):
        NotebookClient(nb, km=ipc_kernel_manager(), timeout=120).execute()
    (out,) = nb.cells[0].outputs
    assert out["ename"] == "ParameterError"
    assert out["traceback"] == [
        "ParameterError: parameter 'benchmark': unknown ticker 'FOO' (known: "
        "SPY, IWM, QQQ, XLB, XLC, XLE, XLF, XLI, XLK, XLP, XLRE, XLU, XLV, XLY)"
    ]


def test_widgets_only_in_a_live_session(monkeypatch):
    called = []
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    monkeypatch.delenv("ROTATION_INTERACTIVE", raising=False)
    monkeypatch.delenv("ROTATION_HEADLESS", raising=False)
    assert not interactive_enabled()
    explore(lambda x=1: called.append(x), x=(0, 5))
    assert called == []  # headless: no widget, no output, nothing run
    monkeypatch.setenv("JPY_SESSION_NAME", "/home/u/notebooks/01_valuation_gaps.ipynb")
    assert interactive_enabled()
    monkeypatch.setenv("ROTATION_HEADLESS", "1")
    assert not interactive_enabled()


def test_figure_payload_and_records_in():
    p = figure_payload(
        "sp600_pe_forward", float("nan"), as_of="2026-01", source="s", reason="no data"
    )
    assert p == {
        "id": "sp600_pe_forward",
        "value": None,
        "unit": "x",
        "as_of": "2026-01",
        "source": "s",
        "reason": "no data",
    }
    for missing in (None, float("nan")):
        with pytest.raises(ValueError, match="needs a reason"):
            figure_payload("sp600_pe_forward", missing, as_of="2026-01", source="s")
    p = figure_payload(
        "small_large_pe_discount", 0.2961, as_of="2026-01-30", source="s", basis="2026E"
    )
    assert (p["unit"], p["value"], p["basis"]) == ("ratio", 0.2961, "2026E")


def test_figure_registry_rejects_unknown_ids_and_wrong_units():
    with pytest.raises(KeyError, match="unregistered figure id 'sp600_pe_typo'"):
        figure_payload("sp600_pe_typo", 1.0, as_of="2026-01", source="s")
    with pytest.raises(ValueError, match="does not match the registry's 'x'"):
        figure_payload("sp500_pe_forward", 22.0, unit="ratio", as_of="2026-01", source="s")
    assert figure_spec("claim_C9") == FigureSpec("claim_C9", "Claim C9", "verdict")
    for spec in FIGURES.values():
        assert spec.unit in UNITS and spec.label


def test_shown_text_uses_label_basis_and_format():
    p = figure_payload(
        "small_large_pe_discount", 0.2961, as_of="2026-01-30", source="s", basis="2026E"
    )
    assert _shown(p, FIGURES["small_large_pe_discount"]) == (
        "S&P 600 discount to S&P 500, forward P/E (2026E) = 29.6% (as of 2026-01-30)"
    )
    p = figure_payload("t10y2y", None, as_of="2026-07", source="s", reason="no data after 2026-06")
    assert _shown(p, FIGURES["t10y2y"]) == (
        "10-year minus 2-year Treasury spread: no value (no data after 2026-06)"
    )

    nb = {
        "cells": [
            {
                "outputs": [
                    {"data": {FIGURE_MIME: {"id": "a", "value": 1.0}}},
                    {"data": {"text/plain": "t"}},
                ]
            }
        ]
    }
    assert records_in(nb) == {"a": {"id": "a", "value": 1.0}}


@pytest.mark.slow
def test_notebooks_offer_widgets_in_a_live_session(monkeypatch, no_mirror):
    """Run notebook 03 as JupyterLab would (JPY_SESSION_NAME set): it shows an ipywidgets control
    and still runs top to bottom."""
    from pathlib import Path

    import nbformat
    from nbclient import NotebookClient

    monkeypatch.delenv("ROTATION_HEADLESS", raising=False)
    monkeypatch.setenv("JPY_SESSION_NAME", "notebooks/03_sector_rotation.ipynb")
    path = Path(__file__).resolve().parent.parent / "notebooks" / "03_sector_rotation.ipynb"
    nb = nbformat.read(path, as_version=4)
    NotebookClient(
        nb,
        timeout=300,
        km=ipc_kernel_manager(),
        resources={"metadata": {"path": str(path.parent)}},
    ).execute()
    views = [
        o
        for c in nb.cells
        for o in c.get("outputs", [])
        if "application/vnd.jupyter.widget-view+json" in o.get("data", {})
    ]
    assert len(views) == 1


def _png_size(b64: str) -> tuple[int, int]:
    import base64
    import struct

    head = base64.b64decode(b64)[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


@pytest.mark.slow  # runs a notebook in a real kernel
def test_figures_are_drawn_once_and_saved_at_their_own_size():
    """In a kernel the theme saves each figure at its size (no ``bbox_inches="tight"``, which
    draws every figure twice to crop it) and ``show_figure`` lays it out without leaving an
    engine that makes savefig draw it again: one draw per figure."""
    nbformat = pytest.importorskip("nbformat")
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "from rotation_utils.notebook import start, show_figure\n"
            "start('2026-01')\n"
            "import matplotlib.figure as F, pandas as pd\n"
            "from rotation_utils.plots import line_chart, small_multiples\n"
            "draws = []\n"
            "_draw = F.Figure.draw\n"
            "F.Figure.draw = lambda self, r: (draws.append(1), _draw(self, r))[1]\n"
            "frame = pd.DataFrame({'x': [1, 2, 3], 'y': [1.0, 4.0, 9.0]})\n"
            "show_figure(line_chart(frame, x='x', y='y', title='t', xlabel='x', ylabel='y'), 'c')\n"
            "s = pd.Series([1.0, 1.1, 0.9], index=pd.date_range('2026-01-02', periods=3))\n"
            "show_figure(small_multiples({'A': [s], 'B': [s]}, title='t', ylabel='y'), 'c')"
        ),
        nbformat.v4.new_code_cell("print(len(draws))"),
    ]
    NotebookClient(nb, km=ipc_kernel_manager(), timeout=120).execute()
    pngs = [o["data"]["image/png"] for o in nb.cells[0].outputs if "image/png" in o.get("data", {})]
    assert [_png_size(p) for p in pngs] == [(900, 450), (950, 270)]  # figsize x 100 dpi
    assert nb.cells[1].outputs[0]["text"].strip() == "2"


def test_small_multiples_keep_fixed_margins_and_date_labels_under_every_column():
    import matplotlib

    matplotlib.use("Agg")
    import pandas as pd

    from rotation_utils.plots import has_fixed_layout, line_chart, small_multiples

    s = pd.Series([1.0, 1.2], index=pd.to_datetime(["2026-01-02", "2026-06-30"]))
    fig = small_multiples({t: [s] for t in "ABCDE"}, title="t", ylabel="y", ncols=3)
    assert has_fixed_layout(fig)
    w, h = fig.get_size_inches()
    a, b, c, d, e, f = fig.axes
    assert a.get_position().x0 * w == pytest.approx(0.75)
    assert a.get_position().y1 * h == pytest.approx(h - 0.62)
    assert d.get_position().y0 * h == pytest.approx(0.42)
    assert b.get_position().x0 * w - a.get_position().x1 * w == pytest.approx(0.12)
    assert not f.get_visible()
    # the panel above the empty slot shows the dates, the others in the top row do not
    assert [ax.xaxis.get_tick_params().get("labelbottom") for ax in (a, b, c)] == [
        False,
        False,
        True,
    ]
    assert not has_fixed_layout(line_chart(pd.DataFrame({"x": [1], "y": [1]}), x="x", y="y",
                                           title="t", xlabel="x", ylabel="y"))  # fmt: skip


def test_captions_are_escaped_and_state_price_segments_once(monkeypatch):
    from rotation_utils import notebook

    shown = []
    monkeypatch.setattr(notebook, "_display", lambda obj: shown.append(obj.data))
    notebook._SHOWN_PRICE_LINES.clear()
    notebook.caption_md("Source: X <b>y</b>\nPrices SPY 2005..2026: Yahoo")
    notebook.caption_md("Source: Z\nPrices SPY 2005..2026: Yahoo")
    assert "&lt;b&gt;y&lt;/b&gt;" in shown[0] and "Prices SPY" in shown[0]
    assert "Prices SPY" not in shown[1] and "Prices as in the caption above." in shown[1]
