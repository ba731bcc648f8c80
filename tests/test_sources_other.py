"""Shiller, S&P DJI, FRED and price parsers: real mirrored files and synthetic traps."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from rotation_utils.errors import DataError
from rotation_utils.sources.fred import parse_fred
from rotation_utils.sources.prices import (
    TOTAL_RETURN,
    UNADJUSTED,
    Segment,
    parse_prices,
    read_prices,
    splice_closes,
    trading_days_between,
)
from rotation_utils.sources.shiller import parse_datahub, parse_ie_data
from rotation_utils.sources.spdji import parse_spdji

from .conftest import make_xlsx, raw


# ---------------------------------------------------------------- Shiller
def test_ie_data_october_2025_is_not_january(mirror):
    d = parse_ie_data(raw(mirror, "shiller/ie_data.xls"))["Data"]
    row = d.loc["2025-10"]  # stored as the float 2025.1
    assert row["price"] == pytest.approx(6735.691739, rel=1e-9)
    assert row["dividend"] == pytest.approx(78.62672, rel=1e-6)
    assert math.isnan(row["earnings"]) and row["long_rate"] == 4.06
    assert row["cpi"] == pytest.approx(325.212) and row["cape"] == pytest.approx(
        39.205692, rel=1e-6
    )
    assert d.loc["1871-01", "price"] == 4.44 and str(d.index[-1]) == "2026-01"
    assert {"price", "dividend", "earnings", "cpi", "long_rate", "cape"} <= set(d.columns)
    assert d.attrs["vintage"] == "through 2026-01"


SHILLER_HEADER = [
    ["Robert J. Shiller"] + [None] * 4,
    [None, "S&P", None, None, "Consumer"],
    [None, "Comp.", "Dividend", "Earnings", "Price Index"],
    ["Date", "P", "D", "E", "CPI"],
]


def test_ie_data_missing_sheet_and_moved_note_row():
    with pytest.raises(DataError, match="no sheet 'Data'"):
        parse_ie_data(make_xlsx({"Other": [[1]]}), "ie_data.xls")
    rows = SHILLER_HEADER + [
        [2025.09, 1.0, 2, 3, 4],
        ["note moved here", None, None, None, None],
        [2025.1, 1.0, 2, 3, 4],
    ]
    with pytest.raises(DataError) as e:
        parse_ie_data(make_xlsx({"Data": rows}), "ie_data.xls")
    assert "note row moved" in str(e.value) and "row 6" in str(e.value)
    ok = parse_ie_data(
        make_xlsx(
            {
                "Data": SHILLER_HEADER
                + [
                    [2025.09, 1.0, 2, 3, 4],
                    [2025.1, 5.0, 2, 3, 4],
                    [None, "Jan price is...", None, None, None],
                ]
            }
        )
    )
    assert list(ok["Data"].index.astype(str)) == ["2025-09", "2025-10"]


def test_datahub_zeros_are_missing(mirror):
    d = parse_datahub(raw(mirror, "shiller/datahub_sp500_data.csv"))["Data"]
    assert d.loc["2026-06", "price"] == 7450.03
    assert d.loc["2025-12", ["dividend", "earnings", "cpi", "cape"]].isna().all()
    assert math.isnan(d.loc["1871-01", "cape"])  # PE10 0.0 before ten years of data
    synth = b"Date,SP500,Dividend,PE10\n2026-01-01,6929.12,0.0,0.0\n2026-02-01,6893.81,1.5,x\n"
    with pytest.raises(DataError, match="row 3"):
        parse_datahub(synth, "data.csv")


# ---------------------------------------------------------------- S&P DJI
def test_spdji_tables_read_by_hand(mirror):
    t = parse_spdji(raw(mirror, "spglobal/sp-500-eps-est.xlsx"))
    pe = t["index_pe"]
    assert pe.loc[("S&P 500", "All"), "pe"] == 25.79 and pe.loc[("S&P 400", "All"), "pe"] == 20.27
    assert pe.loc[("S&P 600", "All"), "pe"] == 22.0
    assert pe.loc[("S&P 500", "All"), "eps_growth_5y"] == pytest.approx(0.173104324423118)
    assert pe.loc[("S&P 600", "Financials"), "pe"] == 13.87 and len(pe) == 36
    q = t["quarterly_eps"]
    assert q.loc["2025-09-30", ["op_eps", "ar_eps"]].tolist() == [72.03, 63.52]
    assert q.loc["2025-09-30", "status"] == "actual" and q.loc["2026-12-31", "status"] == "estimate"
    assert q.loc["2026-12-31", "op_eps_12m"] == 310.24
    r = t["estimate_revisions"]
    assert r.loc["2026-01-30", "pe_2026"] == pytest.approx(22.366650077886472)
    assert r.loc["2025-06-30", "eps_2025"] == 255.29
    a = t["annual_eps"]
    assert a.loc[("S&P 500", "Financials", "operating", 2026), "pe"] == 15.89
    assert a.loc[("S&P 600", "All", "operating", 2026), "status"] == "estimate"
    # estimated P/Es are on the sheet's price of 2026-01-29: 1560.46 / 96.39 = 16.19
    assert a.loc[("S&P 600", "All", "operating", 2026), ["price", "price_date"]].tolist() == [
        1560.46,
        "2026-01-29",
    ]
    assert pe.attrs["vintage"] == "as of 2026-01-30"


def _spdji_synthetic(drop: str | None = None) -> bytes:
    main = [[None] * 8 for _ in range(30)]
    main[0][0], main[0][1] = "Date", pd.Timestamp("2026-01-30")
    labels = {(2, 2): "S&P 500 5YR", (3, 1): "2025 EST", (3, 2): "PROJ ANNUAL", (3, 3): "PEG"}
    for (r, c), v in labels.items():
        main[r][c] = v
    main[5][:4] = ["S&P 500", 25.0, 10.0, 2.5]
    main[8][:5] = ["OBSERVATION", "2025E", "2026E", "2025E P/E", "2026 P/E"]
    main[9][:5] = ["Current", 250.0, 300.0, 26.0, 22.0]
    main[12] = [
        "QUARTER",
        None,
        "OPERATING",
        "AS REPORTED",
        "OPERATING",
        "AS REPORTED",
        "12 MONTH",
        None,
    ]
    main[13] = ["END", "PRICE", "PER SHR", "PER SHR", "P/E", "P/E", "OPERATING", "AS REPORTED"]
    main[14][0] = "ACTUALS"
    main[15] = ["9/30/2025", 6000.0, 70.0, 60.0, 25.0, 27.0, 250.0, 230.0]
    if drop:
        for row in main:
            for i, v in enumerate(row):
                if v == drop:
                    row[i] = None
    sector = [
        ["Estimates:", pd.Timestamp("2025-12-31")],
        ["INDEX NAME", None, "2025 Q3", "2025 EPS", "2025 P/E"],
        ["S&P 500", 6900.0, 70.0, 250.0, 27.6],
    ]
    return make_xlsx({"ESTIMATES&PEs": main, "SECTOR EPS": sector})


def test_spdji_finds_tables_by_label_and_names_a_missing_one():
    t = parse_spdji(_spdji_synthetic(), "eps.xlsx")  # a minimal layout at other cells still parses
    assert t["index_pe"].loc[("S&P 500", "All"), "eps_growth_5y"] == pytest.approx(0.10)
    assert t["quarterly_eps"].loc["2025-09-30", "ar_eps_12m"] == 230.0
    assert t["estimate_revisions"].loc["2026-01-30", "pe_2026"] == 22.0
    with pytest.raises(DataError, match="PROJ ANNUAL"):
        parse_spdji(_spdji_synthetic(drop="PROJ ANNUAL"), "eps.xlsx")
    with pytest.raises(DataError, match="OBSERVATION"):
        parse_spdji(_spdji_synthetic(drop="OBSERVATION"), "eps.xlsx")
    with pytest.raises(DataError, match="no sheet 'SECTOR EPS'"):
        parse_spdji(make_xlsx({"ESTIMATES&PEs": [[1]]}), "eps.xlsx")


# ---------------------------------------------------------------- FRED
def test_fred_both_headers_dot_and_empty_are_missing():
    a = parse_fred(
        b"observation_date,DGS10\n2026-01-01,4.21\n2026-02-01,.\n2026-03-01,\n", "DGS10.csv"
    )["DGS10"]
    assert (
        isinstance(a.index, pd.PeriodIndex) and a.iloc[0, 0] == 4.21 and a.iloc[1:, 0].isna().all()
    )
    b = parse_fred(b"DATE,T10Y2Y\n2021-06-24,1.23\n2021-06-25,1.26\n", "T10Y2Y.csv")["T10Y2Y"]
    assert isinstance(b.index, pd.DatetimeIndex) and b.iloc[1, 0] == 1.26


def test_fred_real_files(mirror):
    assert parse_fred(raw(mirror, "fred/DGS10.csv"))["DGS10"].loc["2026-01", "DGS10"] == 4.21
    t = parse_fred(raw(mirror, "fred/T10Y2Y.csv"))["T10Y2Y"]
    assert t.loc["2026-06-24", "T10Y2Y"] == 0.30 and math.isnan(t.loc["2021-07-05", "T10Y2Y"])
    c = parse_fred(raw(mirror, "fred/CPIAUCSL.csv"))["CPIAUCSL"]  # older DATE header
    assert c.loc["2007-01", "CPIAUCSL"] == 203.437
    core = parse_fred(raw(mirror, "fred/CPILFESL.csv"))["CPILFESL"]
    assert math.isnan(core.loc["2025-10", "CPILFESL"])  # empty cell in the file (shutdown month)


# ---------------------------------------------------------------- prices
YF = b"Price,Close,High,Low,Open,Volume\nTicker,SPY,SPY,SPY,SPY,SPY\nDate,,,,,\n2025-01-02,100.0,1,1,1,10\n2025-01-03,101.0,1,1,1,10\n"
SINGLE = b"Date,Close,High,Low,Open,Volume\n2025-01-03,50.5,1,1,1,10\n2025-01-06,51.0,1,1,1,10\n"
AV = b"timestamp,open,high,low,close,volume\n2025-01-07,1,1,1,205.0,9\n2025-01-06,1,1,1,204.0,9\n"


def test_three_price_formats_parse_oldest_first():
    a = parse_prices(YF)["prices"]
    assert a["close"].tolist() == [100.0, 101.0] and a.index[0] == pd.Timestamp("2025-01-02")
    b = parse_prices(SINGLE)["prices"]
    assert b.loc["2025-01-06", "close"] == 51.0
    c = parse_prices(AV)["prices"]  # newest first in the file
    assert list(c.index.strftime("%Y-%m-%d")) == ["2025-01-06", "2025-01-07"]


@pytest.mark.parametrize(
    ("parse", "text", "needle"),
    [
        (parse_fred, b"observation_date,DFF\n2026-01-01,4.3\n2026-02-01,n/a\n", "row 3"),
        (parse_fred, b"date,value,extra\n2026-01-01,1,2\n", "row 1"),
        (parse_fred, b"DATE,DFF\n2026-01-01,4.3\n2026-01-01,4.3\n", "duplicated"),
        (parse_fred, b"DATE,DFF\n01/02/2026,4.3\n", "row 2"),
        (
            parse_prices,
            b"timestamp,open,high,low,close,volume\n2025-01-07,1,1,1,5,9\n2025-01-07,1,1,1,5,9\n",
            "appears twice",
        ),
        (parse_prices, b"Date,Close\n2025-01-03,0\n", "not positive"),
        (parse_prices, b"Date,Close\n2025-01-03,-3.5\n", "not positive"),
        (parse_prices, b"Date,Close\n2025-01-03,abc\n", "not a number"),
        (parse_prices, b"Symbol,Last\nSPY,1\n", "unknown price file header"),
    ],
)
def test_bad_fred_and_price_files_name_file_and_row(parse, text, needle):
    with pytest.raises(DataError) as e:
        parse(text, "X.csv")
    assert "X.csv" in str(e.value) and needle in str(e.value)


def test_splice_keeps_newest_levels_and_older_returns():
    old = pd.Series(
        [90.0, 99.0, 108.9], index=pd.to_datetime(["2025-01-01", "2025-01-02", "2025-01-03"])
    )
    new = pd.Series([200.0, 210.0], index=pd.to_datetime(["2025-01-03", "2025-01-06"]))
    close, seg = splice_closes([("old", old), ("new", new)])
    # old rescaled by 200 / 108.9 on the shared date: 90 -> 165.289..., 99 -> 181.818...
    assert close.loc["2025-01-03"] == 200.0 and close.loc["2025-01-06"] == 210.0
    assert close.loc["2025-01-02"] == pytest.approx(99.0 * 200 / 108.9)
    assert close.loc["2025-01-02"] / close.loc["2025-01-01"] == pytest.approx(99 / 90)
    assert [s.provider for s in seg] == ["old", "new"] and seg[0].end == "2025-01-02"
    assert [s.join for s in seg] == ["first", "returns"]


def test_splice_bridges_a_short_gap_on_levels_when_the_newer_close_is_unadjusted():
    old = pd.Series([100.0, 102.0], index=pd.to_datetime(["2026-03-26", "2026-03-27"]))
    new = pd.Series([104.0, 105.0], index=pd.to_datetime(["2026-03-31", "2026-04-01"]))
    close, seg = splice_closes([("old", old, TOTAL_RETURN), ("new", new, UNADJUSTED)])
    # levels kept on both sides: the return across the bridge is 104 / 102 - 1
    assert close.tolist() == [100.0, 102.0, 104.0, 105.0]
    assert seg[1].join == "levels" and seg[1].gap_from == "2026-03-27"
    assert seg[1].missing == ("2026-03-30",)
    assert "bridged on price levels from 2026-03-27 (missing 2026-03-30)" in seg[1].describe()
    # the same short gap into an adjusted series is not on one basis: it stays a gap
    _, seg = splice_closes([("old", old, TOTAL_RETURN), ("new", new, TOTAL_RETURN)])
    assert seg[1].join == "gap"


def test_splice_keeps_a_long_gap_and_both_providers():
    old = pd.Series([50.0, 54.49], index=pd.to_datetime(["2025-12-30", "2025-12-31"]))
    new = pd.Series([48.92], index=pd.to_datetime(["2026-03-31"]))
    close, seg = splice_closes([("old", old, TOTAL_RETURN), ("new", new, UNADJUSTED)])
    assert close.tolist() == [50.0, 54.49, 48.92]
    assert [s.provider for s in seg] == ["old", "new"] and seg[1].join == "gap"
    # 2026-01-02 .. 2026-03-30 less MLK day, Presidents' Day: 60 trading days
    assert len(seg[1].missing) == 60 and seg[1].missing[0] == "2026-01-02"
    assert "2026-01-19" not in seg[1].missing and "2026-02-16" not in seg[1].missing


def test_trading_days_between_skips_weekends_and_holidays():
    days = trading_days_between(pd.Timestamp("2026-04-01"), pd.Timestamp("2026-04-07"))
    assert [str(d.date()) for d in days] == ["2026-04-02", "2026-04-06"]  # Good Friday 04-03


def test_read_prices_real_splice(use_mirror):
    p = read_prices("XLF")
    extra = p.attrs["provenance"]["extra"]
    segs = [Segment.from_dict(d) for d in extra["segments"]]
    assert [(s.provider, s.start, s.end, s.join) for s in segs] == [
        ("yahoo_2006_2025", "2006-01-03", "2025-12-31", "first"),
        ("alphavantage_2026", "2026-03-31", "2026-08-21", "gap"),
    ]
    assert segs[0].basis == TOTAL_RETURN and segs[1].basis == UNADJUSTED
    # both sides kept as published: the adjusted close of 2025-12-31 and the close of 2026-03-31
    assert p.loc["2025-12-31", "close"] == pytest.approx(54.48990249633789)
    assert p.loc["2026-03-31", "close"] == 49.37
    assert p.loc["2026-03-31", "provider"] == "alphavantage_2026"
    spy = read_prices("SPY")
    segs = [Segment.from_dict(d) for d in spy.attrs["provenance"]["extra"]["segments"]]
    assert [s.provider for s in segs] == ["yahoo_2000_2026", "alphavantage_2026"]
    assert segs[1].join == "levels" and segs[1].missing == ("2026-03-30",)
    assert "yahoo_2006_2025" in spy.attrs["provenance"]["extra"]["superseded"][0]
    # yahoo_2000_2026 covers all of yahoo_2006_2025, so its levels are kept throughout
    assert spy.loc["2026-03-27", "close"] == pytest.approx(634.0900268554688)
    assert spy.loc["2026-03-31", "close"] == 650.34
