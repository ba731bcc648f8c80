"""Moving the S&P DJI sheet's P/Es to another date by an ETF's closes (SPY and the sector
SPDRs for the S&P 500, IJR for the S&P 600, IJH for the S&P 400), and the context row a P/E
claim gets when its article is dated more than a month after the sheet's prices: the index's
move in between, checked against closes read by hand from the raw CSV files."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest

from rotation_utils.claims import check_file
from rotation_utils.claims.kinds import FOR_CONTEXT
from rotation_utils.claims.metrics import Context, evaluate
from rotation_utils.facts import load_facts
from rotation_utils.provenance import Provenance, with_provenance

MONTH = "2026-05"
#: The price tables keep closes to 4 decimals of a dollar: on ~$700 a return moves by ~1e-7.
ROUNDING = 2e-6
NO_IJR = "no IJR closes in the price data to move the S&P 600 price from 2026-01-29 to 2026-05-15"


def _close(path: Path, date: str) -> float:
    """The close of ``date`` in a Yahoo (``Date,Close,...``) or Alpha Vantage
    (``timestamp,...,close,...``) file."""
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            if r.get("Date", r.get("timestamp")) == date:
                return float(r.get("Close", r.get("close")))
    raise AssertionError(f"no close of {date} in {path}")


def _spy_move(mirror: Path) -> float:
    """SPY from the sheet's price date 2026-01-29 (Yahoo's adjusted close; Yahoo ends
    2026-03-27) to the article's 2026-05-15 (Alpha Vantage's traded close): the splice joins
    the two on price levels."""
    a = _close(mirror / "prices" / "yahoo_2000_2026" / "SPY.csv", "2026-01-29")
    b = _close(mirror / "prices" / "alphavantage_2026" / "SPY.csv", "2026-05-15")
    assert (round(a, 4), b) == (692.1497, 739.17)
    return b / a - 1


def _claims(date: str) -> str:
    return f"""
[article]
id = "pe-move-test"
title = "Small caps in May (test article)"
publisher = "Test Publisher"
date = {date}
url = "https://example.org/pe-move"

[[claims]]
id = "P1"
text = "Small caps trade at about 16x forward earnings today"
kind = "value"
metric = "pe_forward:S&P 600@2026-05-15"
stated = 16.0

[[claims]]
id = "P2"
text = "The S&P 500 trades at about 22.5x forward earnings"
kind = "value"
metric = "pe_forward:S&P 500"
stated = 22.5
tolerance = 0.02

[[claims]]
id = "P3"
text = "The S&P 500 trades at about 24x forward earnings today"
kind = "value"
metric = "pe_forward:S&P 500@2026-05-15"
stated = 24.0
tolerance = 0.02
"""


@pytest.fixture
def results(use_mirror, tmp_path):
    def run(date: str) -> dict:
        path = tmp_path / f"pe-move-{date}.toml"
        path.write_text(_claims(date))
        _, got = check_file(path, MONTH)
        return {r.id: r for r in got}

    return run


def test_small_caps_at_the_article_date_are_not_checkable_without_ijr(results):
    p1 = results("2026-05-15")["P1"]
    (main,) = p1.robustness
    v = main.outcome.numbers[0]  # then the stated 16x
    assert v.value is None and v.reason == NO_IJR and main.outcome.summary == NO_IJR
    # The sheet's own dates are another measurement for a P/E pinned 3.5 months later: no
    # conventions, so the stale 2026-01-29 P/E cannot decide the claim.
    assert p1.perturbations == () and p1.verdict == "not checkable"
    assert p1.why == NO_IJR[:1].upper() + NO_IJR[1:] + "."
    (move,) = p1.context
    assert move.label == "S&P 600 price move, sheet prices 2026-01-29 to the article 2026-05-15"
    assert move.role == "context" and move.verdict == "not checkable"
    assert move.outcome.summary == (
        "the S&P 600 move between the sheet's prices and the article cannot be measured: " + NO_IJR
    )


def test_the_s_and_p_500_context_row_shows_spy_s_move(results, mirror):
    want = _spy_move(mirror)  # +6.79%
    p2 = results("2026-05-15")["P2"]
    (move,) = p2.context
    assert move.role == "context" and move.verdict == FOR_CONTEXT
    (v,) = move.outcome.numbers
    assert v.value == pytest.approx(want, abs=ROUNDING) and v.subject == "SPY"
    assert str(v.window) == "2026-01-29 to 2026-05-15" and v.measure == "mixed return"
    assert move.outcome.summary == (
        "S&P 500 moved +6.8% (SPY mixed return 2026-01-29 to 2026-05-15) between the sheet's "
        "prices and the article"
    )
    assert "total return to 2026-03-27, price only after" in move.outcome.evidence
    assert "Context, which never changes the verdict: S&P 500 moved +6.8%" in p2.evidence


def test_the_context_row_never_changes_the_verdict(results):
    late, early = results("2026-05-15"), results("2026-02-01")  # 2026-02-01: within a month
    assert all(r.context == () for r in early.values())
    for cid in ("P1", "P2", "P3"):
        a, b = late[cid], early[cid]
        assert a.verdict == b.verdict and a.why == b.why and a.flipped_by == b.flipped_by
        assert [r.verdict for r in a.robustness] == [r.verdict for r in b.robustness]
    # 22.46x on the sheet's 2026-01-29 prices: within 2% of 22.5x although SPY rose 6.8% since.
    assert late["P2"].verdict == "supported" and len(late["P2"].context) == 1


def test_the_s_and_p_500_p_e_moved_to_the_article_date_by_spy(results, mirror, use_mirror):
    ctx = Context(MONTH, load_facts())
    sheet = evaluate(ctx, "pe_forward:S&P 500")
    v = evaluate(ctx, "pe_forward:S&P 500@2026-05-15")
    assert sheet.value == pytest.approx(22.4633, abs=1e-4)
    assert v.value == pytest.approx(sheet.value * (1 + _spy_move(mirror)), rel=1e-6)
    assert v.as_of == "2026-05-15"
    assert v.basis == (
        "2026E EPS, sheet P/E moved from 2026-01-29 to 2026-05-15 by SPY's mixed return "
        "(+6.8%, closes 2026-01-29 to 2026-05-15)"
    )
    p3 = results("2026-05-15")["P3"]  # 23.99x vs 24x: supported, no sheet-date conventions
    assert p3.verdict == "supported" and p3.perturbations == ()
    assert p3.robustness[0].outcome.numbers[0].value == pytest.approx(v.value)


def test_s_and_p_400_and_sectors_without_an_etf(use_mirror):
    ctx = Context(MONTH, load_facts())
    v = evaluate(ctx, "pe_forward:S&P 400@2026-05-15")
    assert v.reason == (
        "no IJH closes in the price data to move the S&P 400 price from 2026-01-29 to 2026-05-15"
    )
    v = evaluate(ctx, "pe_last_year:S&P 400:Financials@2026-05-15")
    assert v.reason == (
        "no daily price of S&P 400 Financials (or an ETF tracking it) to move its price from "
        "2026-01-29 to 2026-05-15"
    )
    v = evaluate(ctx, "pe_forward:S&P 600:Energy@2026-05-15")
    assert v.reason == (
        "no PSCE closes in the price data to move the S&P 600 Energy price from 2026-01-29 to "
        "2026-05-15"
    )


# --- IJR when the price data have it (synthetic tables) ---------------------------------------


def _prov(df: pd.DataFrame, title: str, vintage: str = "v1") -> pd.DataFrame:
    return with_provenance(df, Provenance("Test publisher", title, "https://example.org", vintage))


def _tables() -> dict[str, pd.DataFrame]:
    """S&P 600: 2026E EPS 100 at a price of 1500 on the sheet's 2026-01-29 (15x); IJR at 100 on
    2026-01-29, 80 before it and 120 from 2026-03-02."""
    rows = [
        ("S&P 500", 2025, 200.0, 5500.0),
        ("S&P 500", 2026, 250.0, 5500.0),
        ("S&P 600", 2025, 80.0, 1500.0),
        ("S&P 600", 2026, 100.0, 1500.0),
    ]
    a = pd.DataFrame(rows, columns=["index", "year", "eps", "price"]).assign(
        sector="All", status="estimate", basis="operating", price_date="2026-01-29", pe=20.0
    )
    idx = pd.bdate_range("2026-01-02", "2026-03-31", name="date")
    ijr = pd.DataFrame({"IJR": 100.0}, index=idx)
    ijr.loc[:"2026-01-28", "IJR"] = 80.0
    ijr.loc["2026-03-02":, "IJR"] = 120.0
    spy = pd.DataFrame({"SPY": 100.0}, index=idx)
    return {
        "spdji_annual_eps": _prov(a, "sheet", "as of 2026-01-30"),
        "etf_close": _prov(spy, "spy"),
        "prices/IJR": _prov(ijr, "ijr"),
    }


@pytest.mark.parametrize(
    "at,value,move",
    [
        ("2026-03-13", 15.0 * 1.2, "+20.0%"),  # IJR 100 -> 120 after the sheet's prices
        ("2026-01-13", 15.0 * 0.8, "-20.0%"),  # 80 -> 100 before them: the move is undone
    ],
)
def test_s_and_p_600_moves_with_ijr_when_the_data_have_it(at, value, move):
    ctx = Context("2026-03", load_facts(), _tables(), loader=lambda n: pytest.fail(n))
    v = evaluate(ctx, f"pe_forward:S&P 600@{at}")
    assert v.value == pytest.approx(value) and v.as_of == at
    assert f"sheet P/E moved from 2026-01-29 to {at} by IJR's" in v.basis and move in v.basis
