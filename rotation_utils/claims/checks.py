"""Registered checks: claims that need more than a kind, named in a claims file by ``check = "..."``.

Same signature and result as a kind (``(fields, ctx) -> Outcome``) and the same field
declarations, so the parser validates them the same way. Add one by adding a :class:`Kind` to
:data:`CHECKS`; no claims code branches on a claim's id.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from ..provenance import provenance_of
from ..spreads import at_52_week_high
from .kinds import Field, Kind, Outcome, _and, _cap
from .metrics import Context, Value, evaluate, format_number, metric_label

__all__ = ["CHECKS"]


def _highs(ctx: Context, ticker: str, start: str, end: str) -> Value:
    """Number of 52-week closing highs of ``ticker`` between ``start`` and ``end`` (inclusive)."""
    close = ctx.table("etf_close")
    name = f"52-week highs of {ticker}"
    if ticker not in close:
        return Value(
            None,
            "count",
            name=name,
            reason=f"no prices for {ticker} in the price table",
            subject=ticker,
            measure="52-week closing highs",
        )
    s = close[ticker].loc[: min(pd.Timestamp(end), ctx.month_end)]
    window = s.loc[start:end]
    last = s.last_valid_index()
    if (
        window.empty
        or last is None
        or last < pd.Timestamp(end) - pd.Timedelta(days=5)
        or window.isna().any()
    ):
        return Value(
            None,
            "count",
            name=name,
            reason=f"{ticker} closes do not cover {start} .. {end} as of {ctx.month}",
            subject=ticker,
            measure="52-week closing highs",
        )
    flag = at_52_week_high(s.dropna()).loc[start:end]
    return Value(
        float(flag.sum()),
        "count",
        as_of=str(window.index[-1].date()),
        source=provenance_of(close).caption(),
        name=name,
        basis=f"closes {start} .. {end} at the highest of the trailing 252 trading days",
        subject=ticker,
        measure="52-week closing highs",
    )


def _names_at_highs_as_curve_steepened(f: Mapping[str, Any], ctx: Context) -> Outcome:
    """Named stocks set 52-week highs in a window while the yield curve steepened.

    The named stocks decide the verdict; when their prices are not in the data the claim is not
    checkable, and the proxy (e.g. XLF) and the curve change are shown as context only.
    """
    start, end = f["start"], f["end"]
    m0 = (pd.Period(start, "M") - 1).strftime("%Y-%m")
    m1 = pd.Period(end, "M").strftime("%Y-%m")
    curve = evaluate(ctx, f"fred_change:{f['curve']}:{m0}:{m1}")
    names = {t: _highs(ctx, t, start, end) for t in f["names"]}
    proxy = _highs(ctx, f["proxy_etf"], start, end)
    title = metric_label(f"fred:{f['curve']}")[1]
    steep = (
        f"the {title} moved {curve.shown()} from {m0} to {m1} (monthly means): "
        f"{'steepened' if curve.value > 0 else 'flattened or flat'}"
        if curve.available
        else f"{curve.label}: {curve.reason}"
    )
    context = (
        f"{f['proxy_etf']} set {format_number(proxy.value, 'count')} 52-week closing highs {start} .. {end}"
        if proxy.available
        else f"{proxy.label}: {proxy.reason}"
    )
    missing = [t for t, v in names.items() if not v.available]
    if missing:
        return Outcome(
            "not checkable",
            f"No prices for {_and(missing)} in the public data: {f['why']}. "
            f"Context only: {context}; {steep}.",
            (proxy, curve),
            f"no prices for {_and(missing)}",
        )
    if not curve.available:
        return Outcome("not checkable", _cap(steep), tuple(names.values()), curve.reason)
    ok = all(v.value > 0 for v in names.values()) and curve.value > 0
    shown = ", ".join(f"{t} {format_number(v.value, 'count')}" for t, v in names.items())
    return Outcome(
        "supported" if ok else "contradicted",
        f"52-week closing highs {start} .. {end}: {shown}; {steep}"
        + (", as claimed." if ok else ", not both as claimed."),
        (*names.values(), curve),
        f"highs: {shown}; curve {curve.shown()}",
    )


#: Every registered check, by the name a claims file gives in ``check = "..."``.
CHECKS: dict[str, Kind] = {
    k.name: k
    for k in [
        Kind(
            "names_at_52w_highs_as_curve_steepened",
            {
                "names": Field("tickers"),
                "proxy_etf": Field("ticker"),
                "start": Field("date"),
                "end": Field("date"),
                "curve": Field("text", False, "T10Y2Y"),
                "why": Field("text", False, "the names cannot be checked"),
            },
            _names_at_highs_as_curve_steepened,
            "the named stocks set 52-week closing highs in the window and the curve (10y-2y) steepened "
            "from the month before the window to its last month; a proxy ETF is shown as context",
        )
    ]
}
