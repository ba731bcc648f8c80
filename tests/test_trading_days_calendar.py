"""The hand-written NYSE calendar against exchange_calendars' XNYS, day by day, 1990-2026
(a dev-only check: exchange_calendars is in the dev extra, never needed at run time)."""

from __future__ import annotations

import datetime as dt

import pytest

from rotation_utils.trading_days import is_trading_day, last_trading_day

xc = pytest.importorskip("exchange_calendars")


def test_every_day_1990_2026_agrees_with_xnys():
    cal = xc.get_calendar("XNYS", start="1990-01-01", end="2026-12-31")
    sessions = {d.date() for d in cal.sessions}
    day, wrong = dt.date(1990, 1, 1), []
    while day <= dt.date(2026, 12, 31):
        if is_trading_day(day) != (day in sessions):
            wrong.append(day)
        day += dt.timedelta(days=1)
    assert wrong == []


def test_known_closures_and_month_ends():
    assert not is_trading_day(dt.date(2025, 1, 9))  # Jimmy Carter's day of mourning
    assert is_trading_day(dt.date(1997, 1, 20))  # MLK Day was a trading day before 1998
    assert last_trading_day("2026-04") == dt.date(2026, 4, 30)
    assert last_trading_day("2025-05") == dt.date(2025, 5, 30)
