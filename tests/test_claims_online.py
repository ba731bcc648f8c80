"""Claims naming any ticker, online (no ``ROTATION_MIRROR``), against the stand-in publisher on
127.0.0.1: a ticker the report does not read is downloaded on first use through the validated
download cache, once; a second check asks nothing; a ticker the publisher does not have (404)
or a publisher that cannot be reached makes only that claim not checkable, with the reason."""

from __future__ import annotations

import csv
import socket
from pathlib import Path

import pytest

from rotation_utils.claims import check_file

from .test_download import only_localhost  # noqa: F401  (autouse: no address but 127.0.0.1)

MONTH = "2026-08"
#: The price tables keep closes to 4 decimals of a dollar; on DIA's $460..$535 closes a return
#: moves by at most ~2e-7.
ROUNDING = 2e-6


def _alphavantage(mirror: Path, ticker: str) -> dict[str, float]:
    """date -> close of the mirror's raw Alpha Vantage file, read with plain csv."""
    with open(mirror / "prices" / "alphavantage_2026" / f"{ticker}.csv", newline="") as f:
        return {r["timestamp"]: float(r["close"]) for r in csv.DictReader(f)}


def _number(result, name: str):
    """The value of metric ``name`` in a claim's main definition."""
    (v,) = [n for n in result.robustness[0].outcome.numbers if n.name == name]
    return v


def _check(tmp_path: Path, text: str) -> dict:
    path = tmp_path / "online-test.toml"
    path.write_text(text)
    _, results = check_file(path, MONTH)
    return {r.claim.id: r for r in results}


HEADER = """
[article]
id = "online-test"
title = "Online ticker claims (test article)"
publisher = "Test Publisher"
date = 2026-08-31
url = "https://example.org/online"
"""

CLAIMS = (
    HEADER
    + """
[[claims]]
id = "D1"
text = "The Dow ETF gained from April to July"
kind = "value"
metric = "return:DIA:2026-04-30:2026-07-31"
stated = {stated}

[[claims]]
id = "D2"
text = "The Dow ETF closed near $495 in mid-May"
kind = "value"
metric = "close:DIA:2026-05-15"
stated = 495.0
tolerance = 0.01

[[claims]]
id = "N1"
text = "NOPE doubled this year"
kind = "value"
metric = "return:NOPE:2026-01-02"
stated = 1.0

[[claims]]
id = "S1"
text = "The S&P 500 ETF gained from April to July"
kind = "compare"
left = "return:SPY:2026-04-30:2026-07-31"
op = ">"
right = 0.0
"""
)


def test_a_ticker_outside_the_report_is_downloaded_once_and_checked(
    publisher, mirror, isolated_cache, tmp_path
):
    dia = _alphavantage(mirror, "DIA")
    want = dia["2026-07-31"] / dia["2026-04-30"] - 1
    assert 0.05 < want < 0.15  # +9.5%
    got = _check(tmp_path, CLAIMS.format(stated=round(want, 3)))
    assert publisher.statuses("av/DIA") == [200]  # both DIA claims, and their window shifts
    assert (isolated_cache / "downloads" / "prices" / "alphavantage" / "DIA.csv").is_file()

    d1 = got["D1"]
    assert d1.verdict == "supported"
    v = _number(d1, "return:DIA:2026-04-30:2026-07-31")
    assert v.value == pytest.approx(want, abs=ROUNDING)
    assert v.measure == "price return" and "Alpha Vantage" in v.source
    assert got["D2"].verdict == "supported"
    assert f"DIA close {dia['2026-05-15']:.2f}" in got["D2"].evidence

    n1 = got["N1"]
    assert n1.verdict == "not checkable"
    assert publisher.statuses("av/NOPE") == [404]
    assert (
        f"No prices for NOPE: could not download {publisher.base}/av/query?function="
        "TIME_SERIES_DAILY&symbol=NOPE&outputsize=full&datatype=csv (HTTP 404 Not Found)"
    ) in n1.evidence
    assert "Offline?" not in n1.evidence  # the publisher answered: being offline is not why
    assert got["S1"].verdict != "not checkable"  # the report's own table: no request
    assert publisher.statuses("av/SPY") == []

    # A second check: the download is younger than its max age (1 day), so DIA is not asked
    # again; the 404 left nothing cached, so NOPE is asked once more and still says why.
    again = _check(tmp_path, CLAIMS.format(stated=round(want, 3)))
    assert publisher.statuses("av/DIA") == [200]
    assert {k: r.verdict for k, r in again.items()} == {k: r.verdict for k, r in got.items()}
    v2 = _number(again["D1"], "return:DIA:2026-04-30:2026-07-31")
    assert v2.value == pytest.approx(want, abs=ROUNDING)
    assert publisher.statuses("av/NOPE") == [404, 404]


NEW = (
    HEADER
    + """
[[claims]]
id = "B1"
text = "Berkshire B shares gained 10% in the first week of June"
kind = "value"
metric = "return:BRK.B:2026-06-01:2026-06-05"
stated = 0.10

[[claims]]
id = "B2"
text = "Berkshire B shares fell at most 5% in that week"
kind = "compare"
left = "drawdown:BRK.B:2026-06-01:2026-06-05"
op = ">"
right = -0.05
"""
)
#: A ticker no list of the package names, as Alpha Vantage serves it (newest first).
BRK_B = """timestamp,open,high,low,close,volume
2026-06-05,1,1,1,550.0000,10
2026-06-04,1,1,1,540.0000,10
2026-06-03,1,1,1,490.0000,10
2026-06-02,1,1,1,495.0000,10
2026-06-01,1,1,1,500.0000,10
"""


def test_a_ticker_never_seen_before_is_read_on_first_use(publisher, tmp_path):
    from rotation_utils.catalog import PRICE_TICKERS

    assert "BRK.B" not in PRICE_TICKERS
    publisher.publish("av/BRK.B", BRK_B)
    got = _check(tmp_path, NEW)
    assert publisher.statuses("av/BRK.B") == [200]
    b1 = _number(got["B1"], "return:BRK.B:2026-06-01:2026-06-05")
    assert b1.value == pytest.approx(550 / 500 - 1)
    assert got["B1"].verdict == "supported"
    b2 = _number(got["B2"], "drawdown:BRK.B:2026-06-01:2026-06-05")
    assert b2.value == pytest.approx(490 / 500 - 1)  # the peak 500 to the trough 490
    assert got["B2"].verdict == "supported"


def test_offline_a_ticker_claim_is_not_checkable_and_the_others_are_decided(
    publisher, monkeypatch, tmp_path
):
    with socket.socket() as s:  # a port on 127.0.0.1 that nothing listens on: offline
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv(
        "ROTATION_URL_ALPHAVANTAGE",
        f"http://127.0.0.1:{port}/av/query?function=TIME_SERIES_DAILY&symbol={{ticker}}",
    )
    got = _check(tmp_path, CLAIMS.format(stated=0.095))
    for cid in ("D1", "D2", "N1"):
        assert got[cid].verdict == "not checkable"
        assert "could not download http://127.0.0.1:" in got[cid].evidence
        assert "Offline? Set ROTATION_MIRROR" in got[cid].evidence
    assert got["S1"].verdict != "not checkable"
    assert publisher.hits == []
