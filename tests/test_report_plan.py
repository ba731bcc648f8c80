"""Report planning: the NYSE calendar approximation, the latest complete month, coverage labels."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from rotation_utils.errors import ParameterError
from rotation_utils.report.plan import (
    last_price_date,
    last_trading_day,
    latest_complete_month,
    months_between,
    nyse_holidays,
    plan_report,
    price_coverage,
)

D = dt.date


def test_nyse_holidays_2026_match_the_published_calendar():
    # NYSE holidays and trading hours page, 2026 row, read by hand.
    assert sorted(nyse_holidays(2026)) == [
        D(2026, 1, 1),
        D(2026, 1, 19),  # Martin Luther King Jr. Day
        D(2026, 2, 16),  # Washington's Birthday
        D(2026, 4, 3),  # Good Friday (Easter 2026-04-05)
        D(2026, 5, 25),  # Memorial Day
        D(2026, 6, 19),  # Juneteenth
        D(2026, 7, 3),  # Independence Day, observed (07-04 is a Saturday)
        D(2026, 9, 7),  # Labor Day
        D(2026, 11, 26),  # Thanksgiving
        D(2026, 12, 25),
    ]


@pytest.mark.parametrize(
    ("month", "day"),
    [
        ("2026-01", D(2026, 1, 30)),  # 01-31 is a Saturday
        ("2026-02", D(2026, 2, 27)),
        ("2026-03", D(2026, 3, 31)),  # a Tuesday
        ("2026-04", D(2026, 4, 30)),
        ("2026-05", D(2026, 5, 29)),  # 05-31 is a Sunday
        ("2026-06", D(2026, 6, 30)),
        ("2026-07", D(2026, 7, 31)),
        ("2026-08", D(2026, 8, 31)),  # a Monday
        ("2026-09", D(2026, 9, 30)),
        ("2026-10", D(2026, 10, 30)),  # 10-31 is a Saturday
        ("2026-11", D(2026, 11, 30)),
        ("2026-12", D(2026, 12, 31)),
        # holidays at a month's end
        ("2024-03", D(2024, 3, 28)),  # Good Friday 2024-03-29
        ("2021-05", D(2021, 5, 28)),  # Memorial Day on 05-31
        ("2021-12", D(2021, 12, 31)),  # New Year 2022 on a Saturday: Friday 12-31 traded
        ("2027-12", D(2027, 12, 31)),  # Christmas 2027 on a Saturday closes Friday 12-24, not 12-31
    ],
)
def test_last_trading_day_by_hand(month, day):
    assert last_trading_day(month) == day


@pytest.mark.parametrize(
    ("last_close", "month"),
    [
        (D(2026, 3, 27), "2026-02"),  # today's data/: March ends Tuesday 03-31
        (D(2026, 3, 31), "2026-03"),
        (D(2026, 8, 21), "2026-07"),  # the extended price table
        (D(2026, 1, 30), "2026-01"),
        (D(2024, 3, 28), "2024-03"),  # Good Friday: Thursday closes the month
    ],
)
def test_latest_complete_month_follows_the_last_close(last_close, month):
    assert latest_complete_month(last_close) == month


def test_last_price_date_reads_the_benchmark_column():
    idx = pd.DatetimeIndex(["2026-07-30", "2026-07-31", "2026-08-03"])
    frame = pd.DataFrame({"SPY": [1.0, 2.0, None], "XLE": [1.0, 2.0, 3.0]}, index=idx)
    # a stray close of another ticker does not make the month complete
    assert last_price_date(frame) == D(2026, 7, 31)
    assert latest_complete_month(last_price_date(frame)) == "2026-07"
    with pytest.raises(Exception, match="no SPY closes"):
        last_price_date(pd.DataFrame({"SPY": [None]}, index=idx[:1]))


def test_price_coverage_labels_partial_months():
    last = D(2026, 3, 27)
    full = price_coverage("2026-02", last)
    assert full.complete and full.through == "2026-02-27" and full.label == ""
    mtd = price_coverage("2026-03", last)
    assert not mtd.complete and mtd.through == "2026-03-27"
    assert mtd.label == "month to date, prices through 2026-03-27"
    later = price_coverage("2026-05", last)
    assert later.through is None and later.label == "no daily prices yet"


def test_backfill_months_and_plan_checks(tmp_path):
    assert months_between("2025-11", "2026-02") == ["2025-11", "2025-12", "2026-01", "2026-02"]
    with pytest.raises(ParameterError, match="'to': 2025-12 is before --from 2026-01"):
        months_between("2026-01", "2025-12")
    plan = plan_report(["2026-01"], tmp_path / "out", jobs=8)
    assert plan.full and plan.workers == len(plan.notebooks)  # never more workers than runs
    assert not (tmp_path / "out").exists()  # planning writes nothing
    with pytest.raises(ParameterError, match="'jobs': must be at least 1"):
        plan_report(["2026-01"], tmp_path, jobs=0)


def test_keep_failed_names_only_notebooks_that_exist(tmp_path):
    """A month whose worker died has no executed notebook: nothing is claimed to be kept."""
    from rotation_utils.errors import NotebookError
    from rotation_utils.report.publish import keep_failed

    run = tmp_path / "run"
    run.mkdir()
    (run / "01_valuation_gaps.ipynb").write_text("{}")
    kept = keep_failed(
        tmp_path / "reports", "2026-07", [run / "01_valuation_gaps.ipynb", run / "03_x.ipynb"]
    )
    assert kept == [tmp_path / "reports/failed/2026-07/01_valuation_gaps.ipynb", None]
    assert kept[0].read_text() == "{}"
    assert not keep_failed(tmp_path / "other", "2026-06", [run / "missing.ipynb"])[0]
    assert not (tmp_path / "other").exists()
    err = NotebookError("03_x", None, "KilledWorker", "died 3 times", month="2026-07")
    assert (
        str(err)
        == "notebook 03_x failed for 2026-07 before running a cell: KilledWorker: died 3 times"
    )
