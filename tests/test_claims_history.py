"""Valuation and macro history in the metric grammar (cape, percentile, fred for any series,
fred_yoy, extreme on any metric with a history), on the mirror, each checked against a number
worked out here from the raw files: Shiller's ``ie_data.xls`` read with a plain
``pandas.read_excel`` and FRED's CSVs with ``csv``."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest

from rotation_utils.claims import check_file
from rotation_utils.claims.metrics import CATALOG, Context, evaluate, history, parse_metric
from rotation_utils.facts import load_facts

MONTH = "2026-01"
#: Derived tables keep 10 significant digits (data/ and the mirror build alike).
DIGITS = 1e-9


# --- the raw files, read by hand --------------------------------------------------------------


def _shiller_cape(mirror: Path) -> dict[str, float]:
    """YYYY-MM -> CAPE of ie_data.xls: sheet Data, dates YYYY.MM in column A (2025.1 is
    October), CAPE in the column headed "P/E10 or CAPE"."""
    raw = pd.read_excel(mirror / "shiller" / "ie_data.xls", sheet_name="Data", header=None)
    head = next(i for i, v in enumerate(raw[0]) if v == "Date")
    col = next(
        c
        for c in raw.columns
        if raw.iloc[head, c] == "CAPE" and "TR" not in str(raw.iloc[head - 1, c])
    )
    out = {}
    for date, cape in zip(raw[0].iloc[head + 1 :], raw[col].iloc[head + 1 :], strict=True):
        if isinstance(date, float) and not pd.isna(date) and not pd.isna(cape):
            year, month = f"{date:.2f}".split(".")
            out[f"{year}-{month}"] = float(cape)
    return out


def _fred(mirror: Path, series: str) -> dict[str, float]:
    """YYYY-MM -> value of a monthly FRED CSV (header DATE or observation_date); empty is missing."""
    with open(mirror / "fred" / f"{series}.csv", newline="") as f:
        rows = list(csv.reader(f))
    return {r[0][:7]: float(r[1]) for r in rows[1:] if r and r[1] not in ("", ".")}


@pytest.fixture
def ctx(use_mirror) -> Context:
    return Context(MONTH, load_facts())


# --- the metrics ------------------------------------------------------------------------------


def test_cape_at_a_month_and_latest_by_hand(ctx, mirror):
    raw = _shiller_cape(mirror)
    v = evaluate(ctx, "cape:2025-12")
    assert v.value == pytest.approx(raw["2025-12"], rel=DIGITS) and v.unit == "x"
    assert 39.0 < v.value < 40.5 and v.as_of == "2025-12"  # 39.89x
    assert v.label == "S&P Composite CAPE" and "ie_data.xls" in v.source
    latest = evaluate(ctx, "cape")
    assert latest.as_of == max(raw) == "2026-01"
    assert latest.value == pytest.approx(raw["2026-01"], rel=DIGITS)


def test_the_cape_percentile_by_hand(ctx, mirror):
    raw = _shiller_cape(mirror)
    upto = [x for m, x in sorted(raw.items()) if m <= "2025-12"]
    want = sum(x <= raw["2025-12"] for x in upto) / len(upto)
    v = evaluate(ctx, "percentile:cape:2025-12")
    assert v.value == pytest.approx(want) and v.unit == "ratio"
    assert 0.95 < v.value < 1.0 and v.as_of == "2025-12"
    assert f"share of the {len(upto)} monthly values {min(raw)} to 2025-12" in v.basis
    assert v.label == "S&P Composite CAPE percentile in its history"
    # the as-of gate: in a 2000-03 report the history ends there (the dot-com peak: 99.8%)
    old = evaluate(Context("2000-03", ctx.facts), "percentile:cape")
    before = [x for m, x in raw.items() if m <= "2000-03"]
    assert old.value == pytest.approx(sum(x <= raw["2000-03"] for x in before) / len(before))


def test_fred_yoy_of_cpi_by_hand(ctx, mirror):
    core = _fred(mirror, "CPILFESL")
    v = evaluate(ctx, "fred_yoy:CPILFESL:2025-12")
    assert v.value == pytest.approx(core["2025-12"] / core["2024-12"] - 1, rel=DIGITS)
    assert v.unit == "ratio" and 0.02 < v.value < 0.03  # 2.6%
    assert str(v.window) == "2024-12 to 2025-12" and "2025-12 / 2024-12 - 1" in v.basis
    # The mirror's headline CPI (CPIAUCSL) ends 2024-03: 2025-12 is not in it, and says so.
    headline = _fred(mirror, "CPIAUCSL")
    assert max(headline) == "2024-03"
    miss = evaluate(ctx, "fred_yoy:CPIAUCSL:2025-12")
    assert miss.value is None
    assert miss.reason == "no CPIAUCSL value for 2025-12 (the data end 2024-03)"
    latest = evaluate(ctx, "fred_yoy:CPIAUCSL")
    assert latest.value == pytest.approx(headline["2024-03"] / headline["2023-03"] - 1)
    assert latest.as_of == "2024-03" and latest.label == "12-month change in CPI all items"


def test_fred_level_of_a_series_outside_fred_monthly_by_hand(ctx, mirror):
    headline = _fred(mirror, "CPIAUCSL")
    v = evaluate(ctx, "fred:CPIAUCSL:2023-12")
    assert v.value == pytest.approx(headline["2023-12"]) and v.unit == "index"
    assert v.basis == "FRED CPIAUCSL, monthly mean" and "CPIAUCSL: CPI all items" in v.source
    assert evaluate(ctx, "fred:CPIAUCSL").as_of == "2024-03"
    assert evaluate(ctx, "fred_change:CPIAUCSL:2023-03:2024-03").value == pytest.approx(
        headline["2024-03"] - headline["2023-03"]
    )


def test_percentiles_of_other_histories(ctx, mirror):
    dgs10 = _fred(mirror, "DGS10")
    v = evaluate(ctx, "percentile:fred:DGS10")
    vals = [x for m, x in dgs10.items() if m <= MONTH]
    assert v.value == pytest.approx(sum(x <= dgs10[MONTH] for x in vals) / len(vals))
    s, _, _, unit = history(ctx, "close:SPY:2025-12-31")  # month-end closes, to the date
    assert unit == "index" and str(s.index[-1]) == "2025-12"
    assert s.iloc[-1] == evaluate(ctx, "close:SPY:2025-12-31").value
    assert evaluate(ctx, "percentile:close:SPY:2025-12-31").value == pytest.approx(
        (s <= s.iloc[-1]).mean()
    )
    assert 0 < evaluate(ctx, "percentile:pb_small_big:ex_hibm").value < 0.2


@pytest.mark.parametrize(
    "name,reason",
    [
        ("fred:ZZZ9", "no FRED series ZZZ9: "),
        ("fred_yoy:ZZZ9", "not found in the mirror"),
        ("percentile:fred:ZZZ9", "no FRED series ZZZ9"),
        ("cape:2026-02", "2026-02 is after 2026-01"),
        ("fred_yoy:CPILFESL:2025-10", "no CPILFESL value for 2025-10"),  # the skipped release
    ],
)
def test_what_is_not_available_says_why(ctx, name, reason):
    v = evaluate(ctx, name)
    assert v.value is None and reason in v.reason


@pytest.mark.parametrize(
    "name,message",
    [
        ("fred:dgs10", "'dgs10' is not a FRED series id"),
        ("fred:" + "A" * 31, "is not a FRED series id"),
        ("fred_yoy:CPIAUCSL:2025-13", "'2025-13' is not a month YYYY-MM"),
        ("cape:2025", "'2025' is not a month YYYY-MM"),
        ("cape:2025-01:2025-02", "expected cape[:<YYYY-MM>]"),
        ("percentile:pe_forward:S&P 500", "percentile needs a metric with a monthly history"),
        ("percentile:percentile:cape", "percentile needs a metric with a monthly history"),
        ("percentile:nope", "unknown metric 'nope'"),
        ("percentile", "expected percentile:<metric>"),
    ],
)
def test_bad_names_are_refused_before_any_data(name, message):
    with pytest.raises(ValueError) as e:
        parse_metric(name)
    assert message in str(e.value)


def test_every_new_family_is_listed_with_unit_source_and_meaning():
    for fam, unit in [("cape", "x"), ("percentile", "ratio"), ("fred_yoy", "ratio")]:
        spec = CATALOG[fam]
        assert spec.unit == unit and spec.pattern.startswith(fam) and spec.source and spec.meaning
    assert "any other series" in CATALOG["fred"].source
    assert {f for f, s in CATALOG.items() if s.series is not None} >= {
        "cape",
        "pb_small_big",
        "fred",
        "fred_yoy",
        "close",
    }


CLAIMS = """
[article]
id = "history-test"
title = "Valuation and macro history claims (test article)"
publisher = "Test Publisher"
date = 2026-01-31
url = "https://example.org/history"

[[claims]]
id = "H1"
text = "The Shiller CAPE stood near 40 in December"
kind = "value"
metric = "cape:2025-12"
stated = 40.0

[[claims]]
id = "H2"
text = "Valuations are in the top 5% of their history"
kind = "compare"
left = "percentile:cape"
op = ">"
right = 0.95

[[claims]]
id = "H3"
text = "Core inflation ran at about 2.6% over 2025"
kind = "value"
metric = "fred_yoy:CPILFESL:2025-12"
stated = 0.026

[[claims]]
id = "H4"
text = "The CPI index reached about 312 in March 2024"
kind = "value"
metric = "fred:CPIAUCSL:2024-03"
stated = 312.0
tolerance = 0.01

[[claims]]
id = "H5"
text = "The CAPE is the highest since the dot-com bubble"
kind = "extreme"
metric = "cape"
direction = "high"
since = "2001-01"

[[claims]]
id = "H6"
text = "The S&P 500 ETF ended 2025 at its highest month-end close"
kind = "extreme"
metric = "close:SPY:2025-12-31"
direction = "high"
since = "2005-01"

[[claims]]
id = "H7"
text = "Some unmirrored series rose"
kind = "compare"
left = "fred:ZZZ9"
op = ">"
right = 0.0

[[claims]]
id = "H8"
text = "Headline inflation was 2.7% in December"
kind = "value"
metric = "fred_yoy:CPIAUCSL:2025-12"
stated = 0.027

[[claims]]
id = "H9"
text = "Some unmirrored series is at a record low"
kind = "extreme"
metric = "fred:ZZZ9"
direction = "low"
since = "2000-01"
"""


def test_a_claims_file_with_every_new_family_end_to_end(use_mirror, mirror, tmp_path):
    path = tmp_path / "history-test.toml"
    path.write_text(CLAIMS)
    _, results = check_file(path, MONTH)
    got = {r.claim.id: r for r in results}
    assert {k: r.verdict for k, r in got.items()} == {
        "H1": "supported",  # 39.89x vs 40
        "H2": "supported",  # 98.7%
        "H3": "supported",  # 2.65% vs 2.6%
        "H4": "supported",  # 312.23
        "H5": "supported",  # 39.89x in 2025-12, the highest since 2000
        "H6": "supported",  # the highest month-end close of its history
        "H7": "not checkable",  # no such series in the mirror
        "H8": "not checkable",  # the mirror's CPIAUCSL ends 2024-03
        "H9": "not checkable",
    }
    raw = _shiller_cape(mirror)
    assert "S&P Composite CAPE 39.89x" in got["H1"].evidence
    peak = max(m for m, x in raw.items() if m < "2025-12" and x >= raw["2025-12"])
    assert peak < "2001-01" and f"the highest since {peak}" in got["H5"].evidence
    assert "no FRED series ZZZ9" in got["H7"].evidence
    assert "no FRED series ZZZ9" in got["H9"].evidence
    assert "the data end 2024-03" in got["H8"].evidence


def test_the_history_examples_run():
    import doctest

    from rotation_utils.measures import history as hist
    from rotation_utils.sources import fred

    for mod in (hist, fred):
        result = doctest.testmod(mod)
        assert result.failed == 0
    assert doctest.testmod(hist).attempted >= 12


def test_without_the_mirror_cape_is_read_from_data_and_a_series_offline_is_not_checkable(
    no_mirror, monkeypatch, tmp_path
):
    # FRED pointed at a closed local port: "offline", with no network touched
    monkeypatch.setenv("ROTATION_URL_FRED", "http://127.0.0.1:9/{series}.csv")
    ctx = Context(MONTH, load_facts())
    v = evaluate(ctx, "cape:2025-12")
    assert (
        v.value == pytest.approx(39.89131962) and "ie_data.xls" in v.source
    )  # data/shiller_monthly
    assert evaluate(ctx, "fred_yoy:CPILFESL:2025-12").value == pytest.approx(331.814 / 323.259 - 1)
    miss = evaluate(ctx, "fred:ZZZ9")
    assert miss.value is None and miss.reason.startswith("no FRED series ZZZ9: could not download")
    path = tmp_path / "offline.toml"
    head, *claims = CLAIMS.split("[[claims]]")
    path.write_text(head + "[[claims]]" + claims[6])  # H7 alone
    _, results = check_file(path, MONTH)
    assert [r.verdict for r in results] == ["not checkable"]
    assert "no FRED series ZZZ9" in results[0].evidence


@pytest.mark.parametrize(
    "name,reason",
    [
        ("percentile:fred:DGS10:2026-06", "2026-06 is after 2026-01"),
        ("percentile:fred:CPILFESL:2025-10", "no CPILFESL value for 2025-10"),
        ("percentile:cape:2026-03", "2026-03 is after 2026-01"),
        ("percentile:close:SPY:2026-02-10", "after 2026-01"),
        ("percentile:close:XLF:2026-01-20", "inside a provider gap"),
    ],
)
def test_a_percentile_at_a_month_without_a_value_is_not_available(ctx, name, reason):
    v = evaluate(ctx, name)
    assert v.value is None and reason in v.reason


def test_rotation_claims_metrics_lists_the_new_families(capsys):
    from rotation_utils.cli import main

    assert main(["claims", "metrics"]) == 0
    out = capsys.readouterr().out
    for pattern, unit, source in [
        ("cape[:<YYYY-MM>]", "x", "ie_data.xls"),
        ("percentile:<metric>", "ratio", "the metric's own"),
        ("fred:<SERIES>[:<YYYY-MM>]", "percent/pp/index", "any other series"),
        ("fred_yoy:<SERIES>[:<YYYY-MM>]", "ratio", "FRED"),
    ]:
        line = next(x for x in out.splitlines() if x.startswith(pattern + " "))
        assert f" {unit} " in line and source in line


def test_the_new_metrics_combine_in_expressions(ctx, mirror):
    core = _fred(mirror, "CPILFESL")
    v = evaluate(ctx, "fred_yoy:CPILFESL:2025-12 - fred_yoy:CPILFESL:2024-12")
    want = (core["2025-12"] / core["2024-12"]) - (core["2024-12"] / core["2023-12"])
    assert v.value == pytest.approx(want, rel=1e-8) and v.unit == "ratio_diff"
    raw = _shiller_cape(mirror)
    q = evaluate(ctx, "cape:2025-12 / cape:2000-03")
    assert q.value == pytest.approx(raw["2025-12"] / raw["2000-03"], rel=1e-8) and q.unit == "x"
