"""The measurement foundation: Value, the one formatter, Month, the as-of gate, the one return.

Returns are checked against closes read by hand from the mirrored provider files.
"""

from __future__ import annotations

import pandas as pd
import pytest

from rotation_utils.errors import ParameterError
from rotation_utils.facts import load_facts
from rotation_utils.measures.prices import difference, price_return
from rotation_utils.months import POINT_IN_TIME, Month, as_of_gate
from rotation_utils.provenance import Provenance, with_provenance
from rotation_utils.results import Value, Window
from rotation_utils.units import format_change, format_value


def _close(mirror, folder: str, ticker: str, day: str) -> float:
    """The close of ``ticker`` on ``day`` in one provider's raw file, rounded as etf_close is."""
    path = mirror / "prices" / folder / f"{ticker}.csv"
    for line in path.read_text().splitlines():
        if line.startswith(day):
            cols = line.split(",")
            return round(float(cols[4] if folder.startswith("alphavantage") else cols[1]), 4)
    raise AssertionError(f"{day} not in {path}")


# --------------------------------------------------------------------------- units


def test_formatter_units():
    assert format_value(16.189, "x") == "16.19x"
    assert format_value(0.190412491, "x") == "0.190x"  # the small/big P/B is a multiple
    assert format_value(0.2793, "ratio") == "27.9%"
    assert format_value(0.1731, "per_year") == "17.3% per year"
    assert format_value(3.64, "percent") == "3.64%"
    assert format_value(0.3712, "pp") == "+0.37 pp"
    assert format_value(None, "x") == "n/a"
    assert format_value("XLK", "ticker") == "XLK"


def test_formatter_prints_pp_for_a_difference_of_ratios():
    # IWM minus SPY: two returns (ratios) differ by 3.6 percentage points, not "3.6%".
    assert format_value(0.0364872, "ratio_diff") == "+3.6 pp"
    assert format_value(-0.0955, "ratio_diff") == "-9.6 pp"


def test_change_since_last_month():
    assert format_change(16.5, 16.25, "x") == "+0.25x"
    assert format_change(0.30, 0.279, "ratio") == "+2.1 pp"
    assert format_change(0.05, 0.02, "ratio_diff") == "+3.0 pp"
    assert format_change(4.10, 4.33, "percent") == "-0.23 pp"
    assert format_change("XLK", "XLE", "ticker") == ""
    assert format_change(1.0, None, "x") == ""


def test_value_words_come_from_its_fields():
    v = Value(0.153, "ratio", as_of="2026-07-31", basis="price return, Alpha Vantage unadjusted "
              "closes", window=Window("2026-03-31", "2026-07-31"), subject="XLF",
              measure="price return")  # fmt: skip
    assert v.label == "XLF price return"
    assert v.described() == (
        "15.3% (price return, Alpha Vantage unadjusted closes, 2026-03-31 to 2026-07-31)"
    )
    assert Value(
        None, "x", reason="no sheet", subject="S&P 600", measure="forward P/E"
    ).described() == ("S&P 600 forward P/E: not available (no sheet)")
    assert v.to_dict()["window"] == {"start": "2026-03-31", "end": "2026-07-31"}


# --------------------------------------------------------------------------- Month


def test_month_is_parsed_once_and_has_its_methods():
    m = Month.parse("2026-07")
    assert str(m) == "2026-07" and str(m.previous()) == "2026-06" and str(m + 6) == "2027-01"
    assert str(Month.parse("2026-01").previous()) == "2025-12"
    assert m.end == pd.Timestamp("2026-07-31") and m.start == pd.Timestamp("2026-07-01")
    assert m.last_trading_day().isoformat() == "2026-07-31"
    assert Month.parse("2026-05").last_trading_day().isoformat() == "2026-05-29"  # 31st: Sunday
    assert Month.parse("2026-07") - Month.parse("2025-06") == 13
    assert m.includes("2026-07-31") and not m.includes("2026-08-01") and m.includes("2025")
    assert not m.includes("2026")  # a year counts once it has ended
    with pytest.raises(ParameterError, match="not a month"):
        Month.parse("2026-13")


# --------------------------------------------------------------------------- the as-of gate


def test_gate_refuses_a_fact_dated_after_the_month():
    facts = load_facts()
    gated = as_of_gate(facts, Month.parse("2025-06"))
    # The article's own numbers are dated 2026-01-13: not usable in a 2025-06 report.
    seed = facts[facts["kind"] == "seed_claim"]
    assert len(seed) and (seed["as_of"] > "2025-06-30").all()
    assert not set(seed.index) & set(gated.frame.index)
    assert all(Month.parse("2025-06").includes(d) for d in gated.frame["as_of"])
    later = as_of_gate(facts, Month.parse("2026-01"))
    assert set(seed.index) <= set(later.frame.index)


def test_gate_refuses_a_snapshot_dated_after_the_month():
    sheet = with_provenance(
        pd.DataFrame({"index": ["S&P 500"], "pe": [22.4]}),
        Provenance("S&P Dow Jones Indices", "sp-500-eps-est.xlsx", "", "as of 2026-01-30"),
    )
    refused = as_of_gate(sheet, "2025-12", name="spdji_annual_eps")
    assert not refused.available and refused.frame is None
    assert "dated 2026-01-30, after 2025-12" in refused.reason
    assert as_of_gate(sheet, "2026-01", name="spdji_annual_eps").available


def test_gate_allows_and_labels_a_point_in_time_series():
    rev = with_provenance(
        pd.DataFrame(
            {"pe_2026": [21.0, 21.5, 22.4]},
            index=pd.DatetimeIndex(["2025-05-30", "2025-06-27", "2026-01-30"], name="observed"),
        ),
        Provenance("S&P Dow Jones Indices", "sp-500-eps-est.xlsx", "", "as of 2026-01-30"),
    )
    g = as_of_gate(rev, "2025-06", name="spdji_estimate_revisions")
    assert g.available and list(g.frame["pe_2026"]) == [21.0, 21.5] and g.as_of == "2025-06-27"
    assert g.note == POINT_IN_TIME["spdji_estimate_revisions"]
    assert "point-in-time" in g.note
    # A month after the file's edition needs no statement.
    assert as_of_gate(rev, "2026-02", name="spdji_estimate_revisions").note == ""


# --------------------------------------------------------------------------- the one return


@pytest.fixture(scope="module")
def etf_close():
    from rotation_utils.derived import load_table

    return load_table("etf_close")


def test_a_segment_crossing_return_reports_mixed(etf_close, mirror):
    v = price_return(etf_close, "IWM", "2026-01-13", month="2026-07")
    want = _close(mirror, "alphavantage_2026", "IWM", "2026-07-31") / _close(
        mirror, "yahoo_2000_2026", "IWM", "2026-01-13"
    )
    assert v.value == pytest.approx(want - 1, abs=1e-9)
    assert v.window == Window("2026-01-13", "2026-07-31")
    assert v.measure == "mixed return"
    assert v.basis.startswith("mixed: total return to 2026-03-27, price only after")
    assert "2026-03-30 missing, bridged on price levels" in v.basis
    assert "total return" not in v.label


def test_a_window_on_alpha_vantage_closes_is_a_price_return(etf_close, mirror):
    v = price_return(etf_close, "XLF", "2026-03-31", month="2026-07")
    want = _close(mirror, "alphavantage_2026", "XLF", "2026-07-31") / _close(
        mirror, "alphavantage_2026", "XLF", "2026-03-31"
    )
    assert v.value == pytest.approx(want - 1, abs=1e-9)
    assert v.basis == "price return, Alpha Vantage unadjusted closes"
    assert v.label == "XLF price return"


def test_a_window_on_adjusted_closes_is_a_total_return(etf_close, mirror):
    v = price_return(etf_close, "SPY", "2024-12-31", "2025-12-31")
    want = _close(mirror, "yahoo_2000_2026", "SPY", "2025-12-31") / _close(
        mirror, "yahoo_2000_2026", "SPY", "2024-12-31"
    )
    assert v.value == pytest.approx(want - 1, abs=1e-9)
    assert v.basis == "total return, Yahoo Finance adjusted closes"


def test_no_return_across_a_provider_gap(etf_close):
    v = price_return(etf_close, "XLF", "2026-01-13", month="2026-07")
    assert not v.available
    assert "provider gap" in v.reason and "no return across it" in v.reason
    late = price_return(etf_close, "SPY", "2026-01-13", "2026-08-31", month="2026-07")
    assert not late.available and "after 2026-07" in late.reason


def test_difference_of_returns_is_in_pp(etf_close):
    iwm = price_return(etf_close, "IWM", "2026-01-13", month="2026-07")
    spy = price_return(etf_close, "SPY", "2026-01-13", month="2026-07")
    d = difference(iwm, spy)
    assert d.unit == "ratio_diff" and d.value == pytest.approx(iwm.value - spy.value)
    assert d.shown() == "+3.6 pp" and d.label == "IWM minus SPY mixed return"
