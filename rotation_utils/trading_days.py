"""The NYSE trading calendar: weekdays minus the exchange's full-day holidays and closures.

Hand-written rules (no calendar package at run time), checked day by day from 1990 to 2026
against ``exchange_calendars``' XNYS in a dev-only test; shared by the report plan (is a month's
last trading day in the data?) and the price splice (how many trading days does a gap between two
providers leave out?). Closures the exchange announces later (a day of mourning) must be added to
:data:`SPECIAL_CLOSURES`.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from .months import Month, MonthLike

__all__ = [
    "nyse_holidays",
    "last_trading_day",
    "trading_days_between",
    "is_trading_day",
    "shift_trading_days",
]


#: Unscheduled full-day closures since 1990: days of mourning for presidents, 9/11, Hurricane Sandy.
SPECIAL_CLOSURES = frozenset(
    {
        dt.date(1994, 4, 27),  # Richard Nixon
        dt.date(2001, 9, 11),
        dt.date(2001, 9, 12),
        dt.date(2001, 9, 13),
        dt.date(2001, 9, 14),
        dt.date(2004, 6, 11),  # Ronald Reagan
        dt.date(2007, 1, 2),  # Gerald Ford
        dt.date(2012, 10, 29),  # Hurricane Sandy
        dt.date(2012, 10, 30),
        dt.date(2018, 12, 5),  # George H. W. Bush
        dt.date(2025, 1, 9),  # Jimmy Carter
    }
)


def _easter(year: int) -> dt.date:
    """Western Easter Sunday (the anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    leap = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 19 * leap) // 433
    month = (h + leap - 7 * m + 90) // 25
    day = (h + leap - 7 * m + 33 * month + 19) % 32
    return dt.date(year, month, day)


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> dt.date:
    """The ``n``-th ``weekday`` (Mon=0) of a month; ``n=-1`` for the last one."""
    if n > 0:
        first = dt.date(year, month, 1)
        return first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    last = (pd.Timestamp(year=year, month=month, day=1) + pd.offsets.MonthEnd(0)).date()
    return last - dt.timedelta(days=(last.weekday() - weekday) % 7)


def _observed(day: dt.date) -> dt.date:
    """Saturday holidays close the Friday before, Sunday holidays the Monday after."""
    if day.weekday() == 5:
        return day - dt.timedelta(days=1)
    if day.weekday() == 6:
        return day + dt.timedelta(days=1)
    return day


def nyse_holidays(year: int) -> set[dt.date]:
    """The NYSE's full-day holidays and closures in ``year`` (Martin Luther King Jr. Day from
    1998, Juneteenth from 2022, and :data:`SPECIAL_CLOSURES`).

    New Year's Day on a Saturday is not observed on the Friday before (that Friday ends the
    previous year's trading); every other Saturday holiday closes the Friday before.
    """
    days = {
        _nth_weekday(year, 2, 0, 3),  # Washington's Birthday
        _easter(year) - dt.timedelta(days=2),  # Good Friday
        _nth_weekday(year, 5, 0, -1),  # Memorial Day
        _observed(dt.date(year, 7, 4)),
        _nth_weekday(year, 9, 0, 1),  # Labor Day
        _nth_weekday(year, 11, 3, 4),  # Thanksgiving
        _observed(dt.date(year, 12, 25)),
    }
    if year >= 1998:
        days.add(_nth_weekday(year, 1, 0, 3))  # Martin Luther King Jr. Day
    if year >= 2022:
        days.add(_observed(dt.date(year, 6, 19)))  # Juneteenth
    days |= {d for d in SPECIAL_CLOSURES if d.year == year}
    new_year = dt.date(year, 1, 1)
    if new_year.weekday() != 5:
        days.add(_observed(new_year))
    return days


def last_trading_day(month: MonthLike) -> dt.date:
    """The last NYSE trading day of ``month`` (weekdays minus :func:`nyse_holidays`)."""
    day = Month.parse(month).end.date()
    holidays = nyse_holidays(day.year)
    while day.weekday() >= 5 or day in holidays:
        day -= dt.timedelta(days=1)
    return day


def trading_days_between(last: pd.Timestamp, first: pd.Timestamp) -> list[pd.Timestamp]:
    """NYSE trading days strictly after ``last`` and before ``first`` (weekdays that are not
    exchange holidays): the days a gap between two providers leaves out."""
    days = pd.bdate_range(last + pd.Timedelta(days=1), first - pd.Timedelta(days=1))
    holidays = {h for y in set(days.year) for h in nyse_holidays(int(y))}
    return [d for d in days if d.date() not in holidays]


def is_trading_day(day: dt.date) -> bool:
    """A weekday that is not one of :func:`nyse_holidays`."""
    return day.weekday() < 5 and day not in nyse_holidays(day.year)


def shift_trading_days(day: dt.date | str, n: int) -> dt.date:
    """The NYSE trading day ``n`` trading days after ``day`` (before it for ``n < 0``).

    A ``day`` that is not a trading day stands for the last close on or before it (how a return
    window reads its dates), so it is first moved back to that trading day: ``shift(2025-10-04,
    1)`` (a Saturday) is 2025-10-06, the Monday after the Friday's close.
    """
    d = dt.date.fromisoformat(day) if isinstance(day, str) else day
    while not is_trading_day(d):
        d -= dt.timedelta(days=1)
    step = 1 if n > 0 else -1
    for _ in range(abs(n)):
        d += dt.timedelta(days=step)
        while not is_trading_day(d):
            d += dt.timedelta(days=step)
    return d
