"""Every claim kind, the metrics and the registered check on small synthetic tables, with the
expected values worked out by hand in the comments."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rotation_utils.claims.checks import CHECKS
from rotation_utils.claims.kinds import KINDS
from rotation_utils.claims.metrics import Context, evaluate, metric_label, window_return
from rotation_utils.provenance import Provenance, with_provenance


def _prov(df, title, vintage="v1"):
    return with_provenance(df, Provenance("Test publisher", title, "https://example.org", vintage))


def _closes() -> pd.DataFrame:
    """AAA and BBB flat at 100 and 50 except on 2025-02-14 (110 and 52.5); CCC has no closes
    2025-02-03 .. 2025-02-07; the table itself has no rows 2025-01-13 .. 2025-01-17."""
    idx = pd.bdate_range("2025-01-02", "2025-02-28")
    df = pd.DataFrame({"AAA": 100.0, "BBB": 50.0, "CCC": 20.0}, index=idx)
    df.loc["2025-02-14", ["AAA", "BBB"]] = [110.0, 52.5]
    df.loc["2025-02-03":"2025-02-07", "CCC"] = np.nan
    df = df.drop(pd.bdate_range("2025-01-13", "2025-01-17"))
    df.index.name = "date"
    return _prov(df, "synthetic closes")


def _facts() -> pd.DataFrame:
    rows = {
        "a": (10.0, "x", ""),
        "b": (20.0, "x", ""),
        "pe16": (16.0, "x", "about"),
        "late": (1.0, "x", ""),
    }
    df = pd.DataFrame(
        [
            {
                "id": k,
                "kind": "published_figure",
                "value": v,
                "unit": u,
                "qualifier": q,
                "subject": "Test",
                "definition": "test figure",
                "as_of": "2030-01" if k == "late" else "2024-12-31",
                "publisher": "Pub",
                "title": "Title",
                "url": "https://example.org",
            }
            for k, (v, u, q) in rows.items()
        ]
    ).set_index("id")
    return _prov(df, "facts")


def _ctx(month="2025-02", **tables) -> Context:
    base = {"etf_close": _closes()}
    base.update(tables)
    return Context(month, _facts(), base, loader=lambda n: pytest.fail(f"unexpected load {n}"))


def _run(kind, month="2025-02", **fields):
    spec = KINDS[kind]
    full = {k: f.default for k, f in spec.fields.items()}
    full.update(fields)
    tables = full.pop("tables", {})
    return spec.run(full, _ctx(month, **tables))


# --- prices: returns never cross a gap ---------------------------------------------------------


def test_window_return_by_hand():
    v = window_return(_ctx(), "AAA", "2025-01-31", "2025-02-14")
    assert v.value == pytest.approx(110 / 100 - 1) and v.as_of == "2025-02-14"
    # start on a Saturday: the close on or before it (Friday 2025-02-14) is the start
    assert window_return(_ctx(), "AAA", "2025-02-15", "2025-02-28").value == pytest.approx(
        100 / 110 - 1
    )


def test_window_return_defaults_to_the_months_last_close():
    v = window_return(_ctx(), "BBB", "2025-02-14")
    assert v.value == pytest.approx(50 / 52.5 - 1) and v.as_of == "2025-02-28"


@pytest.mark.parametrize(
    "ticker,start,end,reason",
    [
        ("CCC", "2025-01-31", "2025-02-14", "gap 2025-01-31 -> 2025-02-10"),
        ("CCC", "2025-02-04", "2025-02-14", "gap 2025-01-31 -> 2025-02-10"),  # starts inside it
        ("AAA", "2024-12-01", "2025-01-31", "before the data"),
        ("AAA", "2025-02-10", "2025-03-14", "after 2025-02"),
        ("AAA", "2025-01-09", "2025-01-22", "no rows 2025-01-10 -> 2025-01-20"),
        ("ZZZ", "2025-01-31", "2025-02-14", "no prices for ZZZ"),
    ],
)
def test_window_return_is_unavailable_across_gaps(ticker, start, end, reason):
    v = window_return(_ctx(), ticker, start, end)
    assert v.value is None and reason in v.reason


def test_window_return_needs_a_close_in_the_report_month():
    v = window_return(_ctx("2025-04"), "AAA", "2025-01-31")
    assert v.value is None and "no close of AAA in 2025-04" in v.reason


# --- kinds ---------------------------------------------------------------------------------


def test_value_relative_tolerance():
    # 16 vs 16.5: 16 / 16.5 - 1 = -3.03%
    out = _run("value", metric="fact:pe16", stated=16.5)
    assert out.verdict == "supported" and out.evidence == (
        "Test test figure ~16.00x (test figure, as of 2024-12-31) vs the stated 16.50x: "
        "3.0% lower, within the ±5% tolerance, as claimed"
    )
    assert out.summary == "~16.00x vs stated 16.50x: 3.0% lower, within the ±5% tolerance"
    assert _run("value", metric="fact:pe16", stated=16.5, tolerance=0.03).verdict == "contradicted"
    # a stated value that is itself a ratio of facts: 10 / 20 = 0.5
    assert _run("value", metric="fact_ratio:a:b", stated=0.5, tolerance=0.0).verdict == "supported"


def test_compare_metrics_and_numbers():
    assert _run("compare", left="fact:a", op="<", right="fact:b").verdict == "supported"
    out = _run("compare", left=3.0, op=">", right="fact:b")
    assert (
        out.verdict == "contradicted"
        and out.summary == "3.00x vs Test test figure 20.00x: lower, not higher"
    )
    assert out.evidence == (
        "3.00x vs Test test figure 20.00x (test figure, as of 2024-12-31): lower, not higher as claimed"
    )
    # a shared basis is said once; a shared measure too (the right side by its subject)
    out = _run("compare", left="fact:a", op="<", right="fact:b")
    assert (
        out.evidence
        == "Test test figure 10.00x (test figure, as of 2024-12-31) vs Test 20.00x: lower, as claimed"
    )
    out = _run("compare", left="fact:a", op="<=", right=10.0)
    assert out.verdict == "supported" and out.summary == "Test test figure 10.00x vs 10.00x: equal"
    assert out.evidence.endswith(": equal, so at most equal, as claimed")
    assert _run("compare", left="fact:a", op=">=", right=10.0).verdict == "supported"
    assert _run("compare", left="fact:a", op="<=", right=9.99).verdict == "contradicted"


def test_discount_absolute_tolerance():
    # 1 - 10 / 20 = 50%; stated 45% is 5 pp off
    out = _run("discount", small="fact:a", large="fact:b", stated=0.45)
    assert out.verdict == "contradicted" and out.numbers[2].value == pytest.approx(0.5)
    assert out.evidence == (
        "Test test figure 10.00x (test figure, as of 2024-12-31) vs Test 20.00x: a 50.0% discount, "
        "5.0 pp above the stated 45.0%, outside the ±2.0 pp tolerance"
    )
    # a negative discount is a premium, below the stated discount
    out = _run("discount", small="fact:b", large="fact:a", stated=0.2)
    assert (
        out.summary
        == "Test 20.00x vs Test 10.00x: a 100.0% premium, 120.0 pp below the stated 20.0% (±2.0 pp)"
    )
    ok = _run("discount", small="fact:a", large="fact:b", stated=0.45, tolerance=0.051)
    assert ok.verdict == "supported"


def test_a_fact_dated_after_the_month_is_not_used():
    out = _run("compare", left="fact:late", op="<", right="fact:b")
    assert out.verdict == "not checkable" and "after 2025-02" in out.evidence


def _size_bm() -> pd.DataFrame:
    """small/big P/B = ME5 / ME1 with ME1 = 1: 0.30 throughout, 0.24 in 2001-03, 0.26 in 2001-07,
    0.25 in 2003-06 (the low of the last 12 months); the ex-HiBM columns stay at 0.4."""
    idx = pd.period_range("2000-01", "2003-12", freq="M")
    r = pd.Series(0.30, index=idx)
    r["2001-03"], r["2001-07"], r["2003-06"] = 0.24, 0.26, 0.25
    df = pd.DataFrame({"ME1": 1.0, "ME5": r, "ME1_ex_hibm": 1.0, "ME5_ex_hibm": 0.4}, index=idx)
    df.index.name = "period"
    return _prov(df, "size sorts")


@pytest.mark.parametrize(
    "month,metric,direction,since,verdict,text",
    [
        # 0.25 (2003-06) was last as low in 2001-03 (0.24): lowest since 2001-03
        (
            "2004-01",
            "pb_small_big",
            "low",
            "2001-06",
            "supported",
            "is the lowest since 2001-03 (0.240x then): no lower value from 2001-06 on, as claimed. ",
        ),
        (
            "2004-01",
            "pb_small_big",
            "low",
            "2001-01",
            "contradicted",
            "is only the lowest since 2001-03, which was lower (0.240x then): not the lowest from "
            "2001-01 on as claimed. ",
        ),
        # July samples: 0.30 (2003-07) was last as low in 2002-07 (0.30)
        (
            "2004-01",
            "pb_small_big:july",
            "low",
            "2001-06",
            "contradicted",
            "only the lowest since 2002-07, which was as low (0.300x then)",
        ),
        # highest: 0.30 (first in 2003-01) was last as high in 2002-12
        (
            "2004-01",
            "pb_small_big",
            "high",
            "2002-06",
            "contradicted",
            "only the highest since 2002-12, which was as high (0.300x then)",
        ),
        # nothing after the report month: as of 2001-04 the low is 2001-03's 0.24, lowest in the data
        (
            "2001-04",
            "pb_small_big",
            "low",
            "2000-01",
            "supported",
            "is the lowest in the data: no lower value from 2000-01 on, as claimed. ",
        ),
    ],
)
def test_extreme_since(month, metric, direction, since, verdict, text):
    t = {"french_size_bm": _size_bm()}
    out = _run("extreme", month=month, tables=t, metric=metric, direction=direction, since=since)
    assert out.verdict == verdict and text in out.evidence
    assert out.evidence.startswith("Small/big P/B ratio ")


def test_outperform_pairs():
    w = {"start": "2025-01-31", "end": "2025-02-14"}  # AAA +10%, BBB +5%
    assert _run("outperform", winners=("AAA",), losers=("BBB",), **w).verdict == "supported"
    assert _run("outperform", winners=("BBB",), losers=("AAA",), **w).verdict == "contradicted"
    out = _run("outperform", winners=("AAA", "BBB"), losers=("BBB",), **w)
    assert out.verdict == "partly supported" and out.evidence.endswith(
        ": AAA +10.0%, BBB +5.0% vs BBB +5.0%: BBB beat BBB, so 1 of the 2 winner/loser pairs as claimed"
    )
    out = _run("outperform", winners=("BBB",), losers=("AAA",), **w)
    assert out.evidence.endswith("BBB +5.0% vs AAA +10.0%: AAA beat BBB, not as claimed")
    out = _run("outperform", winners=("CCC",), losers=("BBB",), **w)
    assert out.verdict == "not checkable" and "gap 2025-01-31 -> 2025-02-10" in out.evidence


def test_not_checkable():
    out = _run("not_checkable", reason="no public data")
    assert out.verdict == "not checkable" and out.evidence == "No public data"


# --- S&P DJI metrics: forward / last-year basis, price dates -----------------------------------


def _sheet():
    """S&P 500: 2025 EPS 200 at P/E 25 (year-end price 5000); 2026E EPS 250 at P/E 22 (price 5500
    on the sheet's price date 2026-01-29). S&P 600 Financials: 2025 EPS 10, 2026E 12.5 at 8x."""
    rows = [
        ("S&P 500", "All", 2025, "estimate", 200.0, 25.0, 5500.0),
        ("S&P 500", "All", 2026, "estimate", 250.0, 22.0, 5500.0),
        ("S&P 600", "Financials", 2025, "estimate", 10.0, 9.0, 100.0),
        ("S&P 600", "Financials", 2026, "estimate", 12.5, 8.0, 100.0),
    ]
    cols = ["index", "sector", "year", "status", "eps", "pe", "price"]
    a = pd.DataFrame(rows, columns=cols).assign(basis="operating", price_date="2026-01-29")
    pe = pd.DataFrame(
        [("S&P 500", "All", 25.0, 0.12, 2.0, 2025), ("S&P 600", "All", 20.0, 0.15, 1.3, 2025)],
        columns=["index", "sector", "pe", "eps_growth_5y", "peg", "estimate_year"],
    )
    spy = pd.DataFrame(
        {"SPY": 100.0}, index=pd.bdate_range("2026-01-02", "2026-01-30", name="date")
    )
    spy.loc["2026-01-29", "SPY"] = 110.0
    return {
        "spdji_annual_eps": _prov(a, "sheet", "as of 2026-01-30"),
        "spdji_index_pe": _prov(pe, "sheet", "as of 2026-01-30"),
        "etf_close": _prov(spy, "spy"),
    }


@pytest.mark.parametrize(
    "name,value,as_of",
    [
        ("pe_forward:S&P 500", 22.0, "2026-01-29"),
        ("pe_last_year:S&P 500", 5500 / 200, "2026-01-29"),  # same price, last year's EPS
        ("pe_forward:S&P 500@2025-12-31", 5000 / 250, "2025-12-31"),  # the sheet's year-end price
        ("pe_last_year:S&P 500@2025-12-31", 25.0, "2025-12-31"),
        ("pe_forward:S&P 500@2026-01-13", 22.0 / 1.10, "2026-01-13"),  # SPY 100 -> 110
        ("pe_forward:S&P 600:Financials", 8.0, "2026-01-29"),
        ("eps_growth_forward:S&P 500", 250 / 200 - 1, "2026-01-30"),
        ("eps_growth_5y:S&P 600", 0.15, "2026-01-30"),
    ],
)
def test_sheet_metrics_by_hand(name, value, as_of):
    ctx = Context("2026-02", _facts(), _sheet())
    v = evaluate(ctx, name)
    assert v.value == pytest.approx(value) and v.as_of == as_of


def test_sheet_metrics_are_not_used_before_the_sheet_date():
    v = evaluate(Context("2025-12", _facts(), _sheet()), "pe_forward:S&P 500")
    assert v.value is None and "look ahead" in v.reason


def test_a_price_date_without_a_proxy_is_unavailable():
    v = evaluate(Context("2026-02", _facts(), _sheet()), "pe_forward:S&P 600:Financials@2026-01-13")
    assert v.value is None and "no daily price of S&P 600 Financials" in v.reason


def test_fred_and_change():
    idx = pd.period_range("2025-08", "2026-01", freq="M")
    f = pd.DataFrame({"T10Y2Y": [0.6, 0.55, 0.5, 0.6, 0.62, 0.64]}, index=idx)
    ctx = Context("2025-12", _facts(), {"fred_monthly": _prov(f, "fred")})
    assert evaluate(ctx, "fred:T10Y2Y").value == pytest.approx(0.62)  # 2026-01 is after the month
    v = evaluate(ctx, "fred_change:T10Y2Y:2025-09:2025-12")
    assert v.value == pytest.approx(0.62 - 0.55) and v.unit == "pp"
    assert evaluate(ctx, "fred:T10Y2Y:2026-01").value is None


# --- registered check ----------------------------------------------------------------------


def _check(month, tables, **fields):
    spec = CHECKS["names_at_52w_highs_as_curve_steepened"]
    full = {k: f.default for k, f in spec.fields.items()}
    full.update(fields)
    return spec.run(full, Context(month, _facts(), tables))


def test_check_names_at_highs_with_the_curve():
    # 300 rising closes: every day from the 252nd on is a 52-week high
    idx = pd.bdate_range("2024-10-01", periods=330)
    close = _prov(pd.DataFrame({"UP": np.arange(330.0) + 1}, index=idx), "closes")
    f = pd.period_range("2025-08", "2025-12", freq="M")
    fred = _prov(pd.DataFrame({"T10Y2Y": [0.6, 0.5, 0.5, 0.5, 0.7]}, index=f), "fred")
    tables = {"etf_close": close, "fred_monthly": fred}
    w = {"start": "2025-10-01", "end": "2025-11-20", "proxy_etf": "UP"}
    days = len(idx[(idx >= "2025-10-01") & (idx <= "2025-11-20")])
    out = _check("2025-12", tables, names=("UP",), **w)
    # highs on every day of the window, but the curve is flat from 2025-09 to 2025-11 (0.5 -> 0.5)
    assert out.verdict == "contradicted" and out.numbers[0].value == days
    assert "+0.00 pp" in out.evidence and "flattened or flat" in out.evidence
    out = _check(
        "2025-12", tables, names=("UP",), start="2025-10-01", end="2025-12-31", proxy_etf="UP"
    )
    assert out.verdict == "supported" and "+0.20 pp" in out.evidence  # 0.5 (Sep) -> 0.7 (Dec)
    out = _check(
        "2025-12", tables, names=("JPM",), start="2025-10-01", end="2025-12-31", proxy_etf="UP"
    )
    assert out.verdict == "not checkable" and out.evidence.startswith(
        "No prices for JPM in the public data: the names cannot be checked. Context only: UP set 66 "
    )


# --- labels: prose names a metric by what it is, never by its id ---------------------------------


@pytest.mark.parametrize(
    ("name", "label"),
    [
        ("pe_forward:S&P 600:Financials", "S&P 600 Financials forward P/E"),
        ("pe_forward:S&P 500@2025-12-31", "S&P 500 forward P/E"),
        ("pe_last_year:S&P 400", "S&P 400 last-year P/E"),
        ("eps_growth_forward:S&P 600", "S&P 600 forecast EPS growth"),
        ("eps_growth_5y:S&P 500", "S&P 500 projected 5-year EPS growth"),
        ("pb_small_big:ex_hibm:july", "small/big P/B ratio"),
        ("return:XLF:2025-09-30:2025-12-31", "XLF return"),
        ("fred:T10Y2Y", "10-year minus 2-year Treasury yield"),
        ("fred:DFF:2025-12", "effective federal funds rate"),
        (
            "fred_change:DGS10:2025-09:2025-12",
            "change in the 10-year Treasury constant-maturity yield",
        ),
        ("fact:a", "Test test figure"),
        ("fact_ratio:a:b", "Test / Test test figure"),
    ],
)
def test_metric_label_is_derived_from_the_name(name, label):
    subject, measure = metric_label(name, _facts())
    assert " ".join(x for x in (subject, measure) if x) == label
    if name.startswith(("fact", "return")):  # the families the synthetic context has data for
        assert evaluate(_ctx(), name).label == label


def test_every_catalog_family_has_a_label():
    from rotation_utils.claims.metrics import _LABELS, CATALOG

    assert set(_LABELS) == set(CATALOG)


def test_a_fact_label_comes_from_its_row_in_the_facts_table():
    from rotation_utils.facts import load_facts

    facts = load_facts()
    assert metric_label("fact:comtex_r2k_fwd_pe_2025_09", facts) == ("Russell 2000", "forward P/E")
    assert metric_label("fact:ainvest_spx_trailing_pe_2025_08", facts) == (
        "S&P 500",
        "trailing P/E",
    )
    assert metric_label("fact_ratio:article_r2k_pb:article_r1000_pb", facts) == (
        "Russell 2000 / Russell 1000",
        "P/B",
    )


def test_json_numbers_keep_the_metric_id_beside_the_label():
    out = _run("compare", left="fact:a", op="<", right="fact:b")
    d = out.numbers[0].to_dict()
    assert (d["metric"], d["label"], d["value"]) == ("fact:a", "Test test figure", 10.0)
    assert "fact:" not in out.evidence and "fact:" not in out.summary


def test_reasons_shared_by_several_numbers_are_said_once():
    # both windows end after the month: one reason for both tickers
    out = _run(
        "outperform", winners=("AAA",), losers=("BBB",), start="2025-01-31", end="2025-03-31"
    )
    assert out.verdict == "not checkable"
    assert out.evidence == "AAA and BBB return: the window ends 2025-03-31, after 2025-02"


@pytest.mark.parametrize(
    ("number", "article"),
    [
        ("18.9%", "an"),
        ("8.0%", "an"),
        ("11.2%", "an"),
        ("80.0%", "an"),
        ("27.9%", "a"),
        ("1.1%", "a"),
    ],
)
def test_the_article_before_a_number_is_how_it_is_read(number, article):
    from rotation_utils.claims.kinds import _a

    assert _a(number) == article
