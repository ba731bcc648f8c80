"""The index a person reads: labels with units, claims, numbered sources, stale marks, changes."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from rotation_utils.figures import figure_spec
from rotation_utils.report.render import (
    as_of_month,
    format_change,
    format_value,
    index_view,
    render_index,
    staleness,
)

SHEET = (
    "Source: S&P Dow Jones Indices, S&P 500 Earnings and Estimate Report; vintage as of 2026-01-30."
)
FRED = "Source: Federal Reserve Bank of St. Louis, FRED, DFF, T10Y2Y; vintage through 2026-03."
FRENCH = "Source: Kenneth R. French Data Library, F-F_Research_Data_Factors; vintage CRSP 202408."
FACTS = "Source: rotation curated facts, data/facts.csv; vintage latest fact 2026-01-13."


def _fig(value, as_of, source, notebook="01_valuation_gaps", **kw):
    return {"value": value, "as_of": as_of, "source": source, "notebook": notebook, **kw}


def _summary() -> dict:
    return {
        "month": "2026-03",
        "prices": {
            "month": "2026-03",
            "complete": False,
            "through": "2026-03-27",
            "last_trading_day": "2026-03-31",
        },
        "generated_at": "2026-03-28T00:00:00+00:00",
        "data_vintages": {"S&P Dow Jones Indices: spdji_index_pe": "as of 2026-01-30"},
        "notebooks": [],
        "images": [],
        "figures": {
            # deliberately out of registry order: the index sorts by the registry
            "t10y2y": _fig(0.68, "2026-03", FRED, "04_macro_drivers"),
            "sp600_pe_forward": _fig(15.9, "2026-01-30", SHEET, basis="2026E, prices 2026-01-30"),
            "small_large_pe_discount": _fig(0.2891, "2026-01-30", SHEET, basis="2026E"),
            "fed_funds": _fig(3.64, "2026-02", FRED, "04_macro_drivers"),
            "smb_12m": _fig(-0.0955, "2024-08", FRENCH, "04_macro_drivers"),
            "best_sector_since_article": _fig("XLE", "2026-03-27", FACTS, "06_after"),
            "iwm_spy_since_article": _fig(
                None, "2026-03", FACTS, "06_after", reason="no IWM close after 2026-01-13"
            ),
            "claim_C1": _fig(
                "partly supported",
                "2026-03",
                f"{SHEET} | {FACTS}",
                "05_claims_check",
                text="Small caps trade at a forward P/E discount to large caps",
                evidence="S&P 600 2026E P/E 15.9x vs S&P 500 22.4x: a 28.9% discount. On last "
                "year's EPS 22.0x vs 25.8x: 14.7%.",
            ),
        },
    }


def _previous() -> dict:
    return {
        "month": "2026-02",
        "figures": {
            "t10y2y": {"value": 0.60, "as_of": "2026-02"},
            "sp600_pe_forward": {"value": 15.4, "as_of": "2025-12-31"},
            "small_large_pe_discount": {"value": 0.2750, "as_of": "2025-12-31"},
            "fed_funds": {"value": 3.64, "as_of": "2026-02"},  # data did not move
            "smb_12m": {"value": -0.05, "as_of": "2024-07"},  # moved, but stale now
            "best_sector_since_article": {"value": "XLF", "as_of": "2026-02-27"},
            "claim_C1": {"value": "supported", "as_of": "2026-02"},
        },
    }


class _Text(HTMLParser):
    def __init__(self):
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data):
        self.parts.append(data)


def _visible_text(html: str) -> str:
    p = _Text()
    p.feed(html.split("<body>", 1)[1])
    return " ".join(" ".join(p.parts).split())


def test_values_carry_their_units_and_changes_their_units():
    assert format_value(25.79, figure_spec("sp500_pe_forward")) == "25.79x"
    assert format_value(0.14696, figure_spec("small_large_pe_discount")) == "14.7%"
    assert format_value(0.6765, figure_spec("t10y2y")) == "+0.68 pp"
    assert format_value(3.64, figure_spec("fed_funds")) == "3.64%"
    assert format_value(0.190412, figure_spec("small_big_pb_ratio")) == "0.190x"
    assert format_value(0.0365, figure_spec("iwm_spy_since_article")) == "+3.6 pp"
    assert format_value(0.173104, figure_spec("sp500_eps_growth_5y")) == "17.3% per year"
    assert format_value(0.02, figure_spec("smb_12m")) == "+2.0%"
    assert format_value(None, figure_spec("fed_funds")) == "n/a"
    # change: multiples in x, ratios shown in percent in pp, rates in pp
    assert format_change(26.0, 25.5, figure_spec("sp500_pe_forward")) == "+0.50x"
    assert format_change(0.2891, 0.2750, figure_spec("small_large_pe_discount")) == "+1.4 pp"
    assert format_change(3.39, 3.64, figure_spec("fed_funds")) == "-0.25 pp"
    assert format_change(0.195, 0.190, figure_spec("small_big_pb_ratio")) == "+0.005x"
    assert format_change(0.05, 0.0365, figure_spec("iwm_spy_since_article")) == "+1.4 pp"
    assert format_change(1.0, None, figure_spec("fed_funds")) == ""


@pytest.mark.parametrize(
    ("as_of", "month", "expected"),
    [
        ("2024-08", "2026-03", "stale: 19 months old"),
        ("2025-08-29", "2026-03", "stale: 7 months old"),
        ("2025-12-31", "2026-03", ""),  # 3 months: not yet stale
        ("2025-11", "2026-03", "stale: 4 months old"),
        ("2025", "2026-01", ""),  # a year ends in its December
        ("2025Q2", "2026-01", "stale: 7 months old"),
        ("no date", "2026-01", ""),
    ],
)
def test_staleness_by_hand(as_of, month, expected):
    assert staleness(as_of, month) == expected


def test_as_of_month_reads_days_months_quarters_and_years():
    assert str(as_of_month("2026-01-30")) == "2026-01"
    assert str(as_of_month("2025Q4")) == "2025-12"
    assert str(as_of_month("2025")) == "2025-12"
    assert as_of_month("") is None


def test_index_view_rows():
    v = index_view(_summary(), _previous())
    ids = [f.id for f in v.figures]
    assert ids == [
        "sp600_pe_forward",
        "small_large_pe_discount",
        "t10y2y",
        "fed_funds",
        "smb_12m",
        "iwm_spy_since_article",
        "best_sector_since_article",
    ]
    rows = {f.id: f for f in v.figures}
    assert rows["sp600_pe_forward"].label == "S&P 600 forward P/E (2026E, prices 2026-01-30)"
    assert (rows["sp600_pe_forward"].value, rows["sp600_pe_forward"].change) == ("15.90x", "+0.50x")
    assert rows["small_large_pe_discount"].change == "+1.4 pp"
    assert rows["t10y2y"].change == "+0.08 pp"
    assert rows["fed_funds"].change == ""  # same value, same as-of: the data did not move
    assert rows["smb_12m"].stale == "stale: 19 months old" and rows["smb_12m"].change == ""
    assert rows["best_sector_since_article"].change == "was XLF"
    assert rows["iwm_spy_since_article"].value == "n/a"
    assert rows["iwm_spy_since_article"].reason == "no IWM close after 2026-01-13"
    (c1,) = v.claims
    assert (c1.id, c1.verdict, c1.previous_verdict) == ("C1", "partly supported", "supported")
    # one line of evidence; the rest folds away
    assert c1.evidence == "S&P 600 2026E P/E 15.9x vs S&P 500 22.4x: a 28.9% discount."
    assert c1.evidence_more == "On last year's EPS 22.0x vs 25.8x: 14.7%."
    # each source once, numbered in order of first use; the claim cites two of them
    assert len(v.notes) == 4 and len(set(v.notes)) == 4
    assert v.notes[0].startswith("S&P Dow Jones Indices") and not v.notes[0].startswith("Source")
    assert rows["sp600_pe_forward"].notes == (1,) and c1.notes == (1, 4)
    assert v.previous_month == "2026-02"


def test_index_html_reads_as_a_note(tmp_path):
    s = _summary()
    render_index(s, index_view(s, _previous()), tmp_path / "index.html")
    html = (tmp_path / "index.html").read_text()
    text = _visible_text(html)
    for fid in s["figures"]:  # never a raw id in what a reader sees
        assert fid not in text, fid
    assert "S&P 600 forward P/E (2026E, prices 2026-01-30)" in text
    assert "2026-03: month to date, prices through 2026-03-27" in text
    assert "stale: 19 months old" in text and "Change vs 2026-02" in text
    assert "Small caps trade at a forward P/E discount to large caps" in text
    assert "partly supported was supported in 2026-02" in text
    assert text.count("Kenneth R. French Data Library") == 1  # one numbered note
    assert html.count('id="note-') == 4 and 'href="#note-4"' in html
    assert '<td class="date">2026-01-30' in html  # as-of cells do not wrap (white-space: nowrap)


def test_index_escapes_text_from_notebooks(tmp_path):
    s = _summary()
    s["data_vintages"] = {"<img src=x onerror=alert(1)>": "v"}
    s["figures"]["claim_C1"]["evidence"] = "<script>alert(1)</script>"
    s["figures"]["t10y2y"]["source"] = "<b>bold</b>"
    render_index(s, index_view(s, None), tmp_path / "index.html")
    html = (tmp_path / "index.html").read_text()
    for raw in ("<script>alert(1)</script>", "<b>bold</b>", "<img src=x"):
        assert raw not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "Change vs" not in html


def test_a_full_report_must_carry_the_registrys_required_figures(tmp_path):
    import json

    from rotation_utils.errors import DataError
    from rotation_utils.figures import FIGURES, REQUIRED
    from rotation_utils.report.kernels import NotebookResult
    from rotation_utils.report.summary import summarize

    assert REQUIRED and all(fid in FIGURES for fid in REQUIRED)
    (tmp_path / "manifest.json").write_text(json.dumps({"tables": {}}))
    rec = {"value": 1.0, "unit": "x", "as_of": "2026-01", "source": "s"}
    every = NotebookResult("01_x", "2026-01", "ok", 1.0, "", figures=dict.fromkeys(REQUIRED, rec))
    s = summarize("2026-01", [every], tmp_path, full=True, images=[])
    assert set(s["figures"]) == set(REQUIRED)
    short = NotebookResult("01_x", "2026-01", "ok", 1.0, "", figures={REQUIRED[0]: rec})
    with pytest.raises(DataError, match=REQUIRED[1]):
        summarize("2026-01", [short], tmp_path, full=True, images=[])
    # a partial run (some notebooks) records what it records
    assert summarize("2026-01", [short], tmp_path, full=False, images=[])["figures"]


def test_vintages_say_when_downloaded_inputs_were_retrieved(tmp_path):
    """Issue 10: a report built on downloads says how old the data it used are (the oldest input)."""
    import json

    from rotation_utils.report.summary import data_vintages

    def table(publisher, vintage, *retrieved):
        inputs = [{"extra": {"retrieved_at": r}} for r in retrieved] + [{"extra": {}}]
        return {
            "provenance": {"publisher": publisher, "vintage": vintage, "extra": {"inputs": inputs}}
        }

    manifest = {
        "tables": {
            "fred_monthly": table(
                "FRED",
                "DGS10 through 2026-10",
                "2026-11-24T06:00:00+00:00",
                "2026-11-20T09:30:00+00:00",
            ),
            "french_factors": table("Kenneth R. French Data Library", "CRSP 202409"),
        }
    }
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    assert data_vintages(tmp_path) == {
        "FRED: fred_monthly": "DGS10 through 2026-10; downloaded 2026-11-20",
        "Kenneth R. French Data Library: french_factors": "CRSP 202409",
    }
