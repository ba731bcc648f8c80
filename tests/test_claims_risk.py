"""The risk families of the metric grammar (drawdown, volatility, correlation, beta, close) and
returns of tickers outside the report's price table, on the mirror, each checked against a
number worked out here from the raw CSV files with plain ``csv`` and ``math``."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest

from rotation_utils.claims import check_file
from rotation_utils.claims.metrics import CATALOG, Context, evaluate, parse_metric
from rotation_utils.facts import load_facts

MONTH = "2026-08"
#: The price tables keep closes to 4 decimals of a dollar (etf_close, and each ticker's own
#: table likewise): on closes of $40..$700 a return or drawdown moves by at most ~1e-6.
ROUNDING = 2e-6


# --- the raw files, read by hand --------------------------------------------------------------


def _yahoo(mirror: Path, folder: str, name: str) -> dict[str, float]:
    """date -> close of a Yahoo file (single ``Date,Close,...`` header or yfinance's three)."""
    with open(mirror / "prices" / folder / name, newline="") as f:
        rows = list(csv.reader(f))
    start = 3 if rows[0][0] == "Price" else 1
    col = rows[0].index("Close")
    return {r[0]: float(r[col]) for r in rows[start:] if r and r[col]}


def _alphavantage(mirror: Path, ticker: str) -> dict[str, float]:
    with open(mirror / "prices" / "alphavantage_2026" / f"{ticker}.csv", newline="") as f:
        return {r["timestamp"]: float(r["close"]) for r in csv.DictReader(f)}


def _window(closes: dict[str, float], start: str, end: str) -> list[tuple[str, float]]:
    """The closes from the last one on or before ``start`` to the last one on or before
    ``end``, oldest first."""
    dates = sorted(closes)
    first = max(d for d in dates if d <= start)
    return [(d, closes[d]) for d in dates if first <= d <= end]


def _spliced(mirror: Path, ticker: str, start: str, end: str) -> list[tuple[str, float]]:
    """SPY/IWM in Q1 2026: Yahoo's adjusted closes to 2026-03-27 (its last date, where the
    adjusted close is the traded one), then Alpha Vantage's from 2026-03-31 (2026-03-30 is in
    neither file: bridged on price levels)."""
    closes = _yahoo(mirror, "yahoo_2000_2026", f"{ticker}.csv")
    assert max(closes) == "2026-03-27"
    av = _alphavantage(mirror, ticker)
    assert min(av) == "2026-03-31" and "2026-03-30" not in closes
    return _window({**closes, **av}, start, end)


def _stdev(xs: list[float]) -> float:
    m = sum(xs) / len(xs)
    return math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1))


def _simple(rows: list[tuple[str, float]]) -> dict[str, float]:
    return {rows[i][0]: rows[i][1] / rows[i - 1][1] - 1 for i in range(1, len(rows))}


def _cov(xs: list[float], ys: list[float]) -> float:
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / (len(xs) - 1)


# --- the package ------------------------------------------------------------------------------


@pytest.fixture
def ctx(use_mirror) -> Context:
    return Context(MONTH, load_facts())


def test_drawdown_of_spy_q1_2026_by_hand(ctx, mirror):
    rows = _spliced(mirror, "SPY", "2026-01-02", "2026-03-31")
    peak, worst = -math.inf, 0.0
    for _, c in rows:
        peak = max(peak, c)
        worst = min(worst, c / peak - 1)
    v = evaluate(ctx, "drawdown:SPY:2026-01-02:2026-03-31")
    assert v.value == pytest.approx(worst, abs=ROUNDING) and v.unit == "ratio"
    assert -0.10 < v.value < -0.05  # -8.6%
    assert (v.window.start, v.window.end, v.as_of) == ("2026-01-02", "2026-03-31", "2026-03-31")
    assert "peak 2026-01-27 to trough 2026-03-27" in v.basis
    assert "mixed: total return to 2026-03-27, price only after" in v.basis
    assert "2026-03-30 missing, bridged on price levels" in v.basis
    assert v.label == "SPY drawdown" and "Alpha Vantage" in v.source


def test_volatility_of_iwm_q1_2026_by_hand(ctx, mirror):
    rows = _spliced(mirror, "IWM", "2026-01-02", "2026-03-31")
    logs = [math.log(rows[i][1] / rows[i - 1][1]) for i in range(1, len(rows))]
    want = _stdev(logs) * math.sqrt(252)
    v = evaluate(ctx, "volatility:IWM:2026-01-02:2026-03-31")
    assert v.value == pytest.approx(want, rel=1e-5) and v.unit == "ratio"
    assert 0.15 < v.value < 0.25  # 20.5% a year
    assert f"{len(logs)} daily log returns" in v.basis and len(logs) == 59


def test_beta_and_correlation_of_iwm_on_spy_by_hand(ctx, mirror):
    iwm = _simple(_spliced(mirror, "IWM", "2026-01-02", "2026-03-31"))
    spy = _simple(_spliced(mirror, "SPY", "2026-01-02", "2026-03-31"))
    assert iwm.keys() == spy.keys()  # the same trading days: the common dates are all of them
    a, b = [iwm[d] for d in sorted(iwm)], [spy[d] for d in sorted(iwm)]
    beta = _cov(a, b) / _cov(b, b)
    corr = _cov(a, b) / math.sqrt(_cov(a, a) * _cov(b, b))
    v = evaluate(ctx, "beta:IWM:SPY:2026-01-02:2026-03-31")
    assert v.value == pytest.approx(beta, rel=1e-5) and v.unit == "x"
    assert 1.0 < v.value < 1.4 and v.label == "IWM on SPY beta"
    c = evaluate(ctx, "correlation:IWM:SPY:2026-01-02:2026-03-31")
    assert c.value == pytest.approx(corr, rel=1e-5) and 0.7 < c.value < 0.95
    assert c.label == "IWM and SPY correlation of daily returns"
    assert str(c.window) == "2026-01-02 to 2026-03-31"


def test_correlation_of_tickers_outside_the_report_table_by_hand(ctx, mirror):
    gld = _simple(_window(_alphavantage(mirror, "GLD"), "2026-04-01", "2026-06-30"))
    tlt = _simple(_window(_alphavantage(mirror, "TLT"), "2026-04-01", "2026-06-30"))
    days = sorted(gld.keys() & tlt.keys())
    a, b = [gld[d] for d in days], [tlt[d] for d in days]
    v = evaluate(ctx, "correlation:GLD:TLT:2026-04-01:2026-06-30")
    assert v.value == pytest.approx(_cov(a, b) / math.sqrt(_cov(a, a) * _cov(b, b)), rel=1e-5)
    assert v.basis.endswith("price return, Alpha Vantage unadjusted closes")


def test_close_of_dia_and_vix_by_hand(ctx, mirror):
    dia = _alphavantage(mirror, "DIA")
    v = evaluate(ctx, "close:DIA:2026-05-15")
    assert v.value == pytest.approx(dia["2026-05-15"]) and v.as_of == "2026-05-15"
    assert v.unit == "index" and "the price traded that day, Alpha Vantage" in v.basis
    # a Sunday: the Friday close
    assert evaluate(ctx, "close:DIA:2026-05-17").value == pytest.approx(dia["2026-05-15"])
    vix = _yahoo(mirror, "yahoo_2006_2025", "VIX_history.csv")
    v = evaluate(ctx, "close:VIX:2025-04-08")
    assert v.value == pytest.approx(vix["2025-04-08"], abs=5e-5)
    assert "index level, CBOE Volatility Index" in v.basis


def test_returns_of_tickers_outside_the_report_table_by_hand(ctx, mirror):
    eem = _alphavantage(mirror, "EEM")
    v = evaluate(ctx, "return:EEM:2026-04-30:2026-07-31")
    assert v.value == pytest.approx(eem["2026-07-31"] / eem["2026-04-30"] - 1, abs=ROUNDING)
    assert v.measure == "price return" and str(v.window) == "2026-04-30 to 2026-07-31"
    efa = _yahoo(mirror, "yahoo_2000_2026", "EFA.csv")
    v = evaluate(ctx, "return:EFA:2025-12-31:2026-03-27")
    assert v.value == pytest.approx(efa["2026-03-27"] / efa["2025-12-31"] - 1, abs=ROUNDING)
    assert v.measure == "total return"
    # GLD joins Yahoo and Alpha Vantage as SPY does: bridged on levels over 2026-03-30
    g = evaluate(ctx, "return:GLD:2026-03-27:2026-03-31")
    gy, ga = _yahoo(mirror, "yahoo_2000_2026", "GLD.csv"), _alphavantage(mirror, "GLD")
    assert g.value == pytest.approx(ga["2026-03-31"] / gy["2026-03-27"] - 1, abs=ROUNDING)
    assert "2026-03-30 missing, bridged on price levels" in g.basis


@pytest.mark.parametrize(
    "name,reason",
    [
        ("return:ZZZ:2026-01-02", "no prices for ZZZ: no provider has prices for 'ZZZ'"),
        ("beta:XBI:ZZZ:2026-04-01", "no prices for ZZZ"),
        ("close:XLF:2026-02-10", "2026-02-10 is inside a provider gap 2025-12-31 -> 2026-03-31"),
        ("volatility:XLF:2025-12-01:2026-04-30", "a provider gap 2025-12-31 -> 2026-03-31"),
        ("drawdown:EFA:2026-01-02:2026-08-21", "after EFA's last close"),
        ("drawdown:DIA:2026-01-02:2026-05-01", "before the data"),
        ("close:DIA:2026-09-01", "after 2026-08"),
        ("volatility:DIA:2026-05-15:2026-05-18", "1 daily return(s) of DIA"),
    ],
)
def test_what_is_not_available_says_why(ctx, name, reason):
    v = evaluate(ctx, name)
    assert v.value is None and reason in v.reason


@pytest.mark.parametrize(
    "name,message",
    [
        ("close:^VIX:2025-04-08", "'^VIX' is not a ticker (write VIX)"),
        ("beta:IWM:2026-01-02:2026-03-31", "'2026-01-02' is not a ticker"),
        ("drawdown:SPY", "expected drawdown:<TICKER>:<start YYYY-MM-DD>[:<end YYYY-MM-DD>]"),
        ("close:DIA:2026-05-15:2026-05-18", "expected close:<TICKER>:<YYYY-MM-DD>"),
        ("correlation:A:B:2026-02-30", "out of range"),
        ("volatility:../../x:2026-01-02", "is not a ticker"),
    ],
)
def test_bad_names_are_refused_before_any_data(name, message):
    with pytest.raises(ValueError) as e:
        parse_metric(name)
    assert message in str(e.value)


def test_every_family_is_listed_with_unit_source_and_meaning():
    for fam, unit in [
        ("drawdown", "ratio"),
        ("volatility", "ratio"),
        ("correlation", "x"),
        ("beta", "x"),
        ("close", "index"),
    ]:
        spec = CATALOG[fam]
        assert spec.unit == unit and spec.pattern.startswith(f"{fam}:")
        assert "daily ETF closes" in spec.source and "gap" in spec.meaning


CLAIMS = """
[article]
id = "risk-test"
title = "Risk claims (test article)"
publisher = "Test Publisher"
date = 2026-08-31
url = "https://example.org/risk"

[[claims]]
id = "R1"
text = "The S&P 500 fell about 8.5% peak to trough in the first quarter"
kind = "value"
metric = "drawdown:SPY:2026-01-02:2026-03-31"
stated = -0.085

[[claims]]
id = "R2"
text = "Small caps ran at about 20% annualised volatility in the first quarter"
kind = "value"
metric = "volatility:IWM:2026-01-02:2026-03-31"
stated = 0.20

[[claims]]
id = "R3"
text = "Small caps moved with the market but more: a beta above 1"
kind = "compare"
left = "beta:IWM:SPY:2026-01-02:2026-03-31"
op = ">"
right = 1.0

[[claims]]
id = "R4"
text = "Small caps and the S&P 500 moved almost independently (correlation under 0.5)"
kind = "compare"
left = "correlation:IWM:SPY:2026-01-02:2026-03-31"
op = "<"
right = 0.5

[[claims]]
id = "R5"
text = "The Dow ETF closed near $495 in mid-May"
kind = "value"
metric = "close:DIA:2026-05-15"
stated = 495.0
tolerance = 0.01

[[claims]]
id = "R6"
text = "Emerging markets gained from April to July"
kind = "compare"
left = "return:EEM:2026-04-30:2026-07-31"
op = ">"
right = 0.0

[[claims]]
id = "R7"
text = "ZZZ had a 30% drawdown this year"
kind = "value"
metric = "drawdown:ZZZ:2026-01-02"
stated = -0.30
"""


def test_a_claims_file_with_every_family_end_to_end(use_mirror, tmp_path):
    path = tmp_path / "risk-test.toml"
    path.write_text(CLAIMS)
    _, results = check_file(path, MONTH)
    got = {r.claim.id: r for r in results}
    assert {k: r.verdict for k, r in got.items()} == {
        "R1": "supported",  # -8.6% vs -8.5%: 1.4% off, within 5%
        "R2": "supported",  # 20.5% vs 20%
        "R3": "supported",  # 1.20
        "R4": "contradicted",  # 0.83
        "R5": "supported",  # 495.37
        "R6": "partly supported",  # +0.2%, but a day's shift of either end reverses it
        "R7": "not checkable",
    }
    assert "no provider has prices for 'ZZZ'" in got["R7"].evidence
    assert "SPY drawdown -8.6%" in got["R1"].evidence
    assert "DIA close 495.37 (the price traded that day, Alpha Vantage" in got["R5"].evidence
    # the window shifts work on a ticker outside the report's table too
    assert "flips when the window starts 2026-05-01 (1 trading day later)" in got["R6"].evidence


@pytest.mark.parametrize("ticker", ["../etc/passwd", "^VIX", "spy", "A" * 11, ""])
def test_a_name_that_is_not_a_ticker_is_refused_before_any_path(ticker):
    from rotation_utils.errors import ParameterError
    from rotation_utils.sources.prices import provider_sources, read_prices

    for f in (provider_sources, read_prices):
        with pytest.raises(ParameterError, match="is not a ticker"):
            f(ticker)


def test_the_risk_examples_run():
    import doctest

    from rotation_utils.measures import risk

    result = doctest.testmod(risk)
    assert result.attempted >= 10 and result.failed == 0


def test_a_volatility_ratio_by_hand(ctx, mirror):
    """ "Small caps were 1.2 times as volatile as the S&P 500": an expression of two measures."""

    def vol(ticker: str) -> float:
        rows = _spliced(mirror, ticker, "2026-01-02", "2026-03-31")
        logs = [math.log(rows[i][1] / rows[i - 1][1]) for i in range(1, len(rows))]
        return _stdev(logs) * math.sqrt(252)

    v = evaluate(ctx, "volatility:IWM:2026-01-02:2026-03-31 / volatility:SPY:2026-01-02:2026-03-31")
    assert v.value == pytest.approx(vol("IWM") / vol("SPY"), rel=1e-5) and v.unit == "x"
    assert v.value > 1  # small caps swung more
