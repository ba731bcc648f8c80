"""Claim kinds: one function per kind, one signature ``(fields, ctx) -> Outcome``, one registry.

A kind declares its fields (:class:`Field`: type, required, default), which the claims-file
parser checks, and turns them into an :class:`Outcome`: a verdict, one line of evidence built from
the computed numbers, and those numbers (:class:`~rotation_utils.claims.metrics.Value`).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ..spreads import widest_since
from .metrics import Context, Value, evaluate, format_number, history, window_return

__all__ = ["VERDICTS", "Field", "Kind", "Outcome", "KINDS", "OPS", "run_kind"]

VERDICTS = ("supported", "partly supported", "contradicted", "not checkable")
OPS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
FIELD_TYPES = (
    "metric",
    "operand",
    "number",
    "op",
    "direction",
    "month",
    "date",
    "tickers",
    "ticker",
    "text",
    "int",
)


@dataclass(frozen=True)
class Field:
    """A field of a kind: its type (one of ``FIELD_TYPES``), whether it is required, its default."""

    type: str
    required: bool = True
    default: Any = None


@dataclass(frozen=True)
class Outcome:
    """What a kind (or a registered check) concludes under one definition."""

    verdict: str
    evidence: str
    numbers: tuple[Value, ...] = ()
    summary: str = ""  # the key numbers in a few words, for a robustness table row

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict {self.verdict!r} is not one of {VERDICTS}")


@dataclass(frozen=True)
class Kind:
    name: str
    fields: Mapping[str, Field]
    run: Callable[[Mapping[str, Any], Context], Outcome]
    meaning: str


def _missing(values: list[Value]) -> Outcome | None:
    """A "not checkable" outcome naming every unavailable number, or None when all are there."""
    bad = [v for v in values if not v.available]
    if not bad:
        return None
    why = "; ".join(f"{v.name}: {v.reason}" for v in bad)
    return Outcome("not checkable", why, tuple(values), bad[0].reason)


def _operand(ctx: Context, x: float | str) -> Value:
    if isinstance(x, str):
        return evaluate(ctx, x)
    return Value(format(x, "g"), float(x), "", basis="a number")


def _named(v: Value) -> str:
    """A metric with its name, number, basis and date; a plain number as itself."""
    return v.shown() if v.basis == "a number" else f"{v.name} {v.described()}"


def _value(f: Mapping[str, Any], ctx: Context) -> Outcome:
    v, st = evaluate(ctx, f["metric"]), _operand(ctx, f["stated"])
    if out := _missing([v, st]):
        return out
    stated, tol = st.value, float(f["tolerance"])
    if stated == 0:
        return Outcome(
            "not checkable",
            f"{st.name} is 0: a relative tolerance needs a non-zero value",
            (v, st),
            "stated value is 0",
        )
    off = v.value / stated - 1.0
    ok = abs(off) <= tol
    numbered = st.basis == "a number"
    claimed = format_number(stated, v.unit) if numbered else _named(st)
    return Outcome(
        "supported" if ok else "contradicted",
        f"{v.name} = {v.described()} vs stated {claimed}: "
        f"{off:+.1%} off, {'within' if ok else 'outside'} ±{tol * 100:g}%",
        (v,) if numbered else (v, st),
        f"{v.shown()} vs {format_number(stated, v.unit)} ({off:+.1%}, tolerance ±{tol * 100:g}%)",
    )


def _compare(f: Mapping[str, Any], ctx: Context) -> Outcome:
    left, right = _operand(ctx, f["left"]), _operand(ctx, f["right"])
    if out := _missing([left, right]):
        return out
    holds = OPS[f["op"]](left.value, right.value)
    return Outcome(
        "supported" if holds else "contradicted",
        f"{_named(left)} {f['op']} {_named(right)}: {'holds' if holds else 'does not hold'}",
        (left, right),
        f"{left.shown()} {f['op']} {right.shown()}{'' if holds else ': no'}",
    )


def _discount(f: Mapping[str, Any], ctx: Context) -> Outcome:
    small, large = evaluate(ctx, f["small"]), evaluate(ctx, f["large"])
    if out := _missing([small, large]):
        return out
    if large.value == 0:
        return Outcome("not checkable", f"{large.name} is 0", (small, large), f"{large.name} is 0")
    d = 1.0 - small.value / large.value
    stated, tol = float(f["stated"]), float(f["tolerance"])
    ok = abs(d - stated) <= tol
    disc = Value(f"1 - {small.name} / {large.name}", d, "ratio", small.as_of, basis="discount")
    return Outcome(
        "supported" if ok else "contradicted",
        f"1 - {small.shown()} / {large.shown()} = {d:.1%} ({small.name}: {small.basis or small.as_of}; "
        f"{large.name}: {large.basis or large.as_of}) vs stated {stated:.1%}: "
        f"{(d - stated) * 100:+.1f} pp, {'within' if ok else 'outside'} ±{tol * 100:.1f} pp",
        (small, large, disc),
        f"1 - {small.shown()} / {large.shown()} = {d:.1%} vs {stated:.1%} (±{tol * 100:.1f} pp)",
    )


def _extreme(f: Mapping[str, Any], ctx: Context) -> Outcome:
    s, basis, src, unit = history(ctx, f["metric"])
    if s.empty:
        return Outcome("not checkable", f"{f['metric']}: no data on or before {ctx.month}")
    since = pd.Period(f["since"], "M")
    last = s.index[-1]
    if pd.Period(str(last), "M") < since:
        return Outcome(
            "not checkable",
            f"{f['metric']}: the data as of {ctx.month} end {last}, before {since}: the period the claim "
            "compares with has not happened yet",
            (),
            f"data end {last}, before {since}",
        )
    recent = s[s.index > last - int(f["window"])]
    low = f["direction"] == "low"
    at = recent.idxmin() if low else recent.idxmax()
    was = widest_since(s, at=at, extreme=f["direction"])
    ok = was is None or pd.Period(str(was), "M") < since
    v = Value(f["metric"], float(s.loc[at]), unit, str(at), src, basis)
    word = "lowest" if low else "highest"
    prior = (
        f"{word} since {was} ({format_number(float(s.loc[was]), unit)})"
        if was is not None
        else f"{word} in the data"
    )
    lag = (pd.Period(ctx.month, "M") - pd.Period(str(last), "M")).n
    short = f"{v.shown()} in {at}: {prior} (needs since {since})"
    return Outcome(
        "supported" if ok else "contradicted",
        f"{f['metric']}: the {word} value of the last {f['window']} months of data, {v.shown()} in {at}, "
        f"is the {prior}; the claim needs it {word} since {since}. Data end {last} "
        f"({lag} months before {ctx.month}).",
        (v,),
        short,
    )


def _outperform(f: Mapping[str, Any], ctx: Context) -> Outcome:
    start, end = f["start"], f.get("end")
    rets = {t: window_return(ctx, t, start, end) for t in [*f["winners"], *f["losers"]]}
    if out := _missing(list(rets.values())):
        return out
    pairs = [(w, lo) for w in f["winners"] for lo in f["losers"]]
    won = [(w, lo) for w, lo in pairs if rets[w].value > rets[lo].value]
    verdict = (
        "supported" if len(won) == len(pairs) else "partly supported" if won else "contradicted"
    )
    first = next(iter(rets.values()))
    shown = ", ".join(f"{t} {v.value:+.1%}" for t, v in rets.items())
    lost = [f"{w} < {lo}" for w, lo in pairs if (w, lo) not in won]
    return Outcome(
        verdict,
        f"total returns, closes {first.basis.split(' close ')[-1]}: {shown}; "
        + f"{len(won)} of {len(pairs)} winner/loser pairs hold"
        + (f" (not: {', '.join(lost)})" if lost else ""),
        tuple(rets.values()),
        f"{shown} ({first.basis.split(' close ')[-1]})",
    )


def _not_checkable(f: Mapping[str, Any], ctx: Context) -> Outcome:
    return Outcome("not checkable", str(f["reason"]), (), str(f["reason"]))


#: Every kind a claims file may use, by name.
KINDS: dict[str, Kind] = {
    k.name: k
    for k in [
        Kind(
            "value",
            {
                "metric": Field("metric"),
                "stated": Field("operand"),
                "tolerance": Field("number", False, 0.05),
            },
            _value,
            "the metric equals the stated number within a relative tolerance",
        ),
        Kind(
            "compare",
            {"left": Field("operand"), "op": Field("op"), "right": Field("operand")},
            _compare,
            "left op right, each a metric or a number",
        ),
        Kind(
            "discount",
            {
                "small": Field("metric"),
                "large": Field("metric"),
                "stated": Field("number"),
                "tolerance": Field("number", False, 0.02),
            },
            _discount,
            "1 - small / large equals the stated decimal within an absolute tolerance",
        ),
        Kind(
            "extreme",
            {
                "metric": Field("metric"),
                "direction": Field("direction"),
                "since": Field("month"),
                "window": Field("int", False, 12),
            },
            _extreme,
            "the lowest (highest) value of the last `window` months of data is the most extreme since `since`",
        ),
        Kind(
            "outperform",
            {
                "winners": Field("tickers"),
                "losers": Field("tickers"),
                "start": Field("date"),
                "end": Field("date", False, None),
            },
            _outperform,
            "every winner's return beats every loser's from start to end (default: the month's last close)",
        ),
        Kind(
            "not_checkable",
            {"reason": Field("text")},
            _not_checkable,
            "no public data can check it",
        ),
    ]
}


def run_kind(kind: str, fields: Mapping[str, Any], ctx: Context) -> Outcome:
    """Run one kind (``KINDS[kind]``) on validated fields."""
    return KINDS[kind].run(fields, ctx)
