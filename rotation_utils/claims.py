"""Verdicts on the article's claims C1-C9 (``shared/CLAIMS.md``), computed from the data.

Each check returns a :class:`Verdict`: the verdict, the evidence numbers it rests on, the source
and vintage of that evidence, and how the verdict depends on the definition used. A check whose
data does not exist as of the report month says so instead of guessing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import pandas as pd

from .analysis import (
    DOT_COM,
    calendar_eps_growth,
    fifty_two_week_highs,
    index_pe_summary,
    rotation_test,
    size_pb_ratio,
    size_pb_stats,
    snapshot_status,
)
from .facts import facts_as_of
from .months import clip_to_month, parse_month
from .provenance import provenance_of
from .spreads import relative_pe_discount

__all__ = ["Verdict", "check_claims", "VERDICTS", "CLAIM_TEXT"]

VERDICTS = ("supported", "partly supported", "contradicted", "not checkable")
CLAIM_TEXT = {
    "C1": "Late 2025: small caps trade at a forward P/E discount to large caps (Russell 2000 16.7 vs S&P 500 23.1)",
    "C2": "That discount is 20%",
    "C3": "The discount is the widest since the dot-com bubble",
    "C4": "P/B gap: Russell 2000 2.03 vs Russell 1000 5.35",
    "C5": "Analysts forecast small-cap earnings growth above large-cap in 2026",
    "C6": "Financials trade at a forward P/E of 16.5",
    "C7": "Industrials trade at EV/EBITDA 16.70",
    "C8": "In Q4 2025 money rotated from tech into financials, industrials and utilities",
    "C9": "'Regional banks like JPMorgan and Goldman Sachs' hit 52-week highs as the yield curve steepened",
}
_TOL_PCT_POINTS = 0.02  # a stated percentage within 2 points of the computed one counts as matching
_TOL_MULTIPLE = 0.5  # a stated multiple within 0.5x of the data counts as matching


@dataclass
class Verdict:
    id: str
    claim: str
    verdict: str
    evidence: str
    definitions: str
    source: str
    numbers: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def _source(*objs) -> str:
    return " | ".join(dict.fromkeys(provenance_of(o).caption() for o in objs))


def check_claims(month: str, tables: dict[str, pd.DataFrame], facts: pd.DataFrame) -> list[Verdict]:
    """Run every check for the report ``month``.

    Parameters
    ----------
    month : str
        "YYYY-MM"; nothing dated after its end is used.
    tables : dict
        Derived tables by name (``spdji_index_pe``, ``spdji_annual_eps``, ``french_size_bm``,
        ``etf_close``, ``fred_monthly``), as from :func:`rotation_utils.load_table`.
    facts : DataFrame
        The curated facts table.
    """
    parse_month(month)
    facts = facts_as_of(facts, month)
    return [
        _c1(month, tables, facts),
        _c2(month, tables, facts),
        _c3(month, tables),
        _c4(month, tables, facts),
        _c5(month, tables),
        _c6(month, tables, facts),
        _c7(facts),
        _c8(month, tables),
        _c9(month, tables),
    ]


def _fact(facts: pd.DataFrame, fid: str) -> float:
    return float(facts.loc[fid, "value"])


def _facts(facts: pd.DataFrame, *ids: str) -> tuple[float, ...] | None:
    """Values of the given facts, or None when any of them is not usable this month."""
    return tuple(_fact(facts, i) for i in ids) if set(ids) <= set(facts.index) else None


def _too_early(cid: str, why: str, src: str) -> Verdict:
    return Verdict(
        cid, CLAIM_TEXT[cid], "not checkable", f"Not checkable as of this month: {why}.", "", src
    )


def _c1(month, t, facts) -> Verdict:
    pe = t["spdji_index_pe"]
    status = snapshot_status(pe, month)
    if status != "ok":
        return _too_early("C1", status, _source(pe))
    s = index_pe_summary(pe)
    disc = float(s.loc["S&P 600", "discount_to_sp500"])
    verdict = "supported" if disc > 0 else "contradicted"
    evidence = (
        f"S&P 600 {s.loc['S&P 600', 'estimate_year']} estimated operating P/E {s.loc['S&P 600', 'pe']:.2f}x vs "
        f"S&P 500 {s.loc['S&P 500', 'pe']:.2f}x: a {disc:.1%} discount."
    )
    if pair := _facts(facts, "comtex_r2k_fwd_pe_2025_09", "comtex_spx_fwd_pe_2025_09"):
        r2k, spx = pair
        evidence += (
            f" Cited press figures for Sep 2025 (Russell 2000 < {r2k:g}x vs S&P 500 > {spx:g}x forward) "
            + ("point the same way." if r2k < spx else "point the other way.")
        )
    definitions = (
        "Holds for S&P indexes (S&P 600 admits only profitable firms) and for forward P/Es."
    )
    if pair := _facts(facts, "ainvest_r2k_trailing_pe_2025_08", "ainvest_spx_trailing_pe_2025_08"):
        r2k, spx = pair
        definitions += (
            f" On trailing P/E including loss-makers the Russell 2000 was at {r2k:.2f}x vs the S&P 500 at "
            f"{spx:.2f}x in Aug 2025"
            + (", so the claim flips under that definition." if r2k > spx else ".")
        )
    return Verdict(
        "C1",
        CLAIM_TEXT["C1"],
        verdict,
        evidence,
        definitions,
        _source(pe, facts),
        {
            "sp600_pe": float(s.loc["S&P 600", "pe"]),
            "sp500_pe": float(s.loc["S&P 500", "pe"]),
            "discount": disc,
        },
    )


def _c2(month, t, facts) -> Verdict:
    stated = _fact(facts, "article_pe_discount")
    own = float(
        relative_pe_discount(_fact(facts, "article_r2k_fwd_pe"), _fact(facts, "article_spx_fwd_pe"))
    )
    pe = t["spdji_index_pe"]
    nums = {"stated": stated, "from_article_numbers": own}
    ev = f"The article's own numbers give 1 - 16.7/23.1 = {own:.1%}, not {stated:.0%}."
    if snapshot_status(pe, month) == "ok":
        s = index_pe_summary(pe)
        sp = float(s.loc["S&P 600", "discount_to_sp500"])
        nums["sp600_vs_sp500"] = sp
        ev += f" S&P DJI data give {sp:.1%} (S&P 600 vs S&P 500, current-year operating P/E)."
    matches = [abs(v - stated) <= _TOL_PCT_POINTS for k, v in nums.items() if k != "stated"]
    verdict = (
        "supported" if all(matches) else "partly supported" if any(matches) else "contradicted"
    )
    return Verdict(
        "C2",
        CLAIM_TEXT["C2"],
        verdict,
        ev,
        "The discount depends on index family and earnings definition; no definition gives 20% "
        "from the article's own inputs.",
        _source(pe, facts),
        nums,
    )


def _c3(month, t) -> Verdict:
    bm = t["french_size_bm"]
    ratio = size_pb_ratio(bm, month)
    st = size_pb_stats(ratio)
    if pd.Period(st["as_of"], "M") <= DOT_COM[1]:
        return _too_early(
            "C3",
            f"the size-sorted data as of {month} end {st['as_of']}, before the dot-com era ended",
            _source(bm),
        )
    since = st["trough_12m_widest_since"]
    at_least_dot_com = since is None or pd.Period(since, "M") <= DOT_COM[1]
    verdict = "supported" if at_least_dot_com else "contradicted"
    lag = parse_month(month) - pd.Period(st["as_of"], "M")
    return Verdict(
        "C3",
        CLAIM_TEXT["C3"],
        verdict,
        f"P/B of the smallest size quintile relative to the biggest (French 25 portfolios, value-weighted): "
        f"{st['value']:.3f} in {st['as_of']}, percentile {st['percentile']:.0%} of its history since 1926. "
        f"Its 12-month low ({st['trough_12m']:.3f}, {st['trough_12m_at']}) was the lowest since "
        f"{since or 'the start of the data'}; the dot-com era low was {st['dot_com_min']:.3f}.",
        "Measured on P/B, not P/E (no public small-cap P/E history is mirrored), with NYSE size breakpoints; "
        f"the French data end {st['as_of']}, {lag.n} months before the report month.",
        _source(bm),
        {k: v for k, v in st.items() if isinstance(v, float)},
    )


def _c4(month, t, facts) -> Verdict:
    bm = t["french_size_bm"]
    ratio = size_pb_ratio(bm, month)
    claimed = _fact(facts, "article_r2k_pb") / _fact(facts, "article_r1000_pb")
    ours = float(ratio.iloc[-1])
    verdict = "supported" if (claimed < 1) == (ours < 1) else "contradicted"
    return Verdict(
        "C4",
        CLAIM_TEXT["C4"],
        verdict,
        f"Claimed ratio 2.03/5.35 = {claimed:.2f}. French size quintiles: small/big P/B = {ours:.3f} "
        f"({ratio.index[-1]}): the gap points the same way and is wider.",
        "Russell 2000/1000 P/B levels are vendor data (not public files), so the levels themselves are not "
        "checked; only the direction and the order of magnitude of the gap.",
        _source(bm, facts),
        {"claimed_ratio": claimed, "french_ratio": ours},
    )


def _c5(month, t) -> Verdict:
    a = t["spdji_annual_eps"]
    pe = t["spdji_index_pe"]
    status = snapshot_status(pe, month)
    if status != "ok":
        return _too_early("C5", status, _source(a))
    g = calendar_eps_growth(a)
    if 2026 not in g.index:
        return _too_early("C5", "no 2026 estimate in the sheet", _source(a))
    g26 = g.loc[2026]
    s = index_pe_summary(pe)
    small, large = float(g26["S&P 600"]), float(g26["S&P 500"])
    five_small, five_large = (
        float(s.loc["S&P 600", "eps_growth_5y"]),
        float(s.loc["S&P 500", "eps_growth_5y"]),
    )
    verdict = "supported" if small > large else "contradicted"
    return Verdict(
        "C5",
        CLAIM_TEXT["C5"],
        verdict,
        f"Bottom-up operating EPS estimates for 2026 vs 2025: S&P 600 {small:+.1%}, S&P 500 {large:+.1%} "
        f"(status: {g26['status']}).",
        f"On the 5-year projected growth rate the order reverses: S&P 600 {five_small:.1%} vs S&P 500 "
        f"{five_large:.1%} per year. Small-cap 2026 growth starts from depressed 2023-24 earnings "
        "(S&P 600 EPS fell in both years); realised 2026 EPS is not yet published.",
        _source(a),
        {"sp600_2026": small, "sp500_2026": large, "sp600_5y": five_small, "sp500_5y": five_large},
    )


def _c6(month, t, facts) -> Verdict:
    a = t["spdji_annual_eps"]
    if snapshot_status(t["spdji_index_pe"], month) != "ok":
        return _too_early("C6", snapshot_status(t["spdji_index_pe"], month), _source(a))
    stated = _fact(facts, "article_financials_fwd_pe")
    fin = a[
        (a["sector"] == "Financials")
        & (a["basis"] == "operating")
        & (a["year"] == 2026)
        & a["index"].isin(["S&P 500", "S&P 400", "S&P 600"])
    ].set_index("index")["pe"]
    close = {k: float(v) for k, v in fin.items() if abs(v - stated) <= _TOL_MULTIPLE}
    verdict = "supported" if "S&P 500" in close else "partly supported" if close else "contradicted"
    return Verdict(
        "C6",
        CLAIM_TEXT["C6"],
        verdict,
        "2026 estimated operating P/E of Financials: "
        + ", ".join(f"{k} {v:.2f}x" for k, v in fin.items())
        + f"; the article says {stated:g}x.",
        "The article does not say which index; large-cap financials are the usual reference. Within "
        f"{_TOL_MULTIPLE}x counts as matching.",
        _source(a, facts),
        {k: float(v) for k, v in fin.items()},
    )


def _c7(facts) -> Verdict:
    cited = facts[(facts["metric"] == "ev_to_ebitda") & (facts["kind"] == "published_figure")]
    if cited.empty:
        return Verdict(
            "C7",
            CLAIM_TEXT["C7"],
            "not checkable",
            "No public EV/EBITDA series for industrials is mirrored and no cited figure is in the facts table.",
            "EV/EBITDA needs enterprise values (debt, cash) that none of the public files carry.",
            _source(facts),
        )
    row = cited.iloc[-1]
    stated = _fact(facts, "article_industrials_ev_ebitda")
    ok = abs(row["value"] - stated) <= _TOL_MULTIPLE
    return Verdict(
        "C7",
        CLAIM_TEXT["C7"],
        "supported" if ok else "contradicted",
        f"{row['publisher']} ({row['as_of']}): {row['value']:g}x vs the article's {stated:g}x.",
        str(row["definition"]),
        _source(facts),
    )


def _c8(month, t) -> Verdict:
    close = clip_to_month(t["etf_close"], month)
    res = rotation_test(close)
    if res is None:
        return _too_early(
            "C8", f"sector ETF prices as of {month} do not cover all of Q4 2025", _source(close)
        )
    q4 = res.loc["2025Q4"]
    beats = {k.split()[0]: float(v) for k, v in q4.items() if k.endswith("vs XLK")}
    won = [k for k, v in beats.items() if v > 0]
    verdict = (
        "supported" if len(won) == len(beats) else "partly supported" if won else "contradicted"
    )
    return Verdict(
        "C8",
        CLAIM_TEXT["C8"],
        verdict,
        "Q4 2025 return relative to XLK (technology): "
        + ", ".join(f"{k} {v:+.1%}" for k, v in beats.items())
        + f"; XLK relative to SPY {float(q4['XLK vs SPY']):+.1%}.",
        "Prices are a proxy for flows (no fund-flow data is public here); relative performance of sector SPDRs "
        "vs XLK and SPY, total-return (adjusted) closes.",
        _source(close),
        beats,
    )


def _c9(month, t) -> Verdict:
    close = clip_to_month(t["etf_close"], month)
    fred = clip_to_month(t["fred_monthly"], month)
    slope = fred["T10Y2Y"].dropna()
    covered = (
        not close.empty
        and close.index[-1] >= pd.Timestamp("2025-12-24")
        and not slope.empty
        and slope.index[-1] >= pd.Period("2025-12", "M")
    )
    if not covered:
        return _too_early(
            "C9",
            f"prices or the 10y-2y spread as of {month} do not cover Q4 2025",
            _source(close, fred),
        )
    highs = fifty_two_week_highs(close["XLF"], "2025-10-01", "2025-12-31")
    change = float(slope.loc[pd.Period("2025-12", "M")] - slope.loc[pd.Period("2025-09", "M")])
    return Verdict(
        "C9",
        CLAIM_TEXT["C9"],
        "not checkable",
        f"JPM and GS prices are not in the public mirror, and they are not regional banks (KRE is the usual proxy). "
        f"Proxy evidence: XLF set {len(highs)} 52-week closing highs in Q4 2025; the 10y-2y spread moved "
        f"{change:+.2f} pp from Sep to Dec 2025 ({'steepened' if change > 0 else 'flattened'}).",
        "The names in the claim cannot be checked with the mirrored data; the proxy is not the claim.",
        _source(close, fred),
        {"xlf_52w_highs_q4_2025": len(highs), "t10y2y_change_q4_2025": change},
    )
