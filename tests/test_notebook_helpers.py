"""Notebook helpers: parameter checks, widgets only in a live session, recorded figures."""

from __future__ import annotations

import pytest

from rotation_utils.errors import ParameterError
from rotation_utils.figures import FIGURE_MIME, figure_payload, records_in
from rotation_utils.notebook import explore, interactive_enabled, start


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
    p = figure_payload("x", float("nan"), unit="x", as_of="2026-01", source="s", reason="no data")
    assert p == {
        "id": "x",
        "value": None,
        "unit": "x",
        "as_of": "2026-01",
        "source": "s",
        "reason": "no data",
    }
    for missing in (None, float("nan")):
        with pytest.raises(ValueError, match="needs a reason"):
            figure_payload("x", missing, unit="x", as_of="2026-01", source="s")
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
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    views = [
        o
        for c in nb.cells
        for o in c.get("outputs", [])
        if "application/vnd.jupyter.widget-view+json" in o.get("data", {})
    ]
    assert len(views) == 1
