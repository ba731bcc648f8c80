"""Units: what a stored number means, the one formatter and the one "change since last month" rule.

Figures, claims evidence, captions and the report index all print numbers through
:func:`format_value` and changes through :func:`format_change`, so a number reads the same
everywhere: "x" for multiples, "%" for ratios, "pp" for differences of ratios and for rates,
"per year" for annualised growth.
"""

from __future__ import annotations

import math

__all__ = ["UNITS", "NUMERIC_UNITS", "format_value", "format_change", "check_unit"]

#: Every unit a number may have: how a value in that unit is stored and how it prints.
UNITS: dict[str, str] = {
    "x": "a multiple (P/E, P/B), printed 16.19x (0.190x below 1)",
    "ratio": "a decimal fraction, printed in percent (0.147 -> 14.7%)",
    "ratio_diff": "a difference of two ratios, stored as a decimal, printed in percentage points "
    "(0.036 -> +3.6 pp)",
    "per_year": "annualised growth, a decimal per year (0.173 -> 17.3% per year)",
    "percent": "a rate quoted in percent (4.25 -> 4.25%)",
    "pp": "percentage points, stored as points (a difference of rates: 0.52 -> +0.52 pp)",
    "index": "index points or a price level",
    "count": "a count",
    "ticker": "a ticker symbol",
    "verdict": "a claim verdict",
}
#: Units whose values are numbers (the others are text).
NUMERIC_UNITS = frozenset(UNITS) - {"ticker", "verdict"}


def check_unit(unit: str) -> str:
    """``unit`` when it is one of :data:`UNITS`; ValueError otherwise."""
    if unit not in UNITS:
        raise ValueError(f"unknown unit {unit!r} (known: {', '.join(UNITS)})")
    return unit


def format_value(
    value: float | str | None, unit: str, *, digits: int | None = None, signed: bool = False
) -> str:
    """``value`` in ``unit`` as a reader sees it.

    Parameters
    ----------
    value : float, str or None
        None prints "n/a"; text (a ticker, a verdict) prints as it is.
    unit : str
        One of :data:`UNITS`.
    digits : int, optional
        Decimals shown (default by unit: 2 for x, pp and percent, 1 for ratios, 3 for a
        multiple below 1).
    signed : bool
        Show "+" on positive values (returns); differences of ratios and pp always are.

    Examples
    --------
    >>> format_value(16.188, "x"), format_value(0.19, "x"), format_value(0.279, "ratio")
    ('16.19x', '0.190x', '27.9%')
    >>> format_value(0.036, "ratio_diff"), format_value(0.52, "pp"), format_value(0.173, "per_year")
    ('+3.6 pp', '+0.52 pp', '17.3% per year')
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if isinstance(value, str):
        return value
    v = float(value)
    sign = "+" if signed else ""
    if unit == "x":
        d = digits if digits is not None else (2 if abs(v) >= 1 else 3)
        return f"{v:{sign}.{d}f}x"
    if unit == "ratio":
        return f"{v:{sign}.{1 if digits is None else digits}%}"
    if unit == "per_year":
        return f"{v:{sign}.{1 if digits is None else digits}%} per year"
    if unit == "ratio_diff":
        return f"{v * 100:+.{1 if digits is None else digits}f} pp"
    if unit == "pp":
        return f"{v:+.{2 if digits is None else digits}f} pp"
    if unit == "percent":
        return f"{v:{sign}.{2 if digits is None else digits}f}%"
    if unit == "count":
        return f"{v:.0f}"
    return f"{v:{sign}g}" if digits is None else f"{v:{sign}.{digits}f}"


def format_change(value: object, previous: object, unit: str) -> str:
    """The change since the previous report in the unit a reader needs: percentage points for
    ratios, growth rates and rates; "x" for multiples; "" when either is not a number.

    Examples
    --------
    >>> format_change(16.5, 16.25, "x"), format_change(0.30, 0.279, "ratio")
    ('+0.25x', '+2.1 pp')
    >>> format_change(4.10, 4.33, "percent"), format_change("XLK", "XLE", "ticker")
    ('-0.23 pp', '')
    """
    numeric = (int, float)
    if not (isinstance(value, numeric) and isinstance(previous, numeric)):
        return ""
    d = float(value) - float(previous)
    if unit == "x":
        return f"{d:+.{2 if abs(float(value)) >= 1 else 3}f}x"
    if unit in ("ratio", "ratio_diff", "per_year"):
        return f"{d * 100:+.1f} pp"
    if unit in ("pp", "percent"):
        return f"{d:+.2f} pp"
    if unit == "count":
        return f"{d:+.0f}"
    return f"{d:+g}"
