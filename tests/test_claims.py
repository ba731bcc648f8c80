"""Notebook-level analysis and claim verdicts on the committed data/, values worked by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from rotation_utils import analysis as A
from rotation_utils.claims import VERDICTS
from rotation_utils.derived import TABLES, load_table
from rotation_utils.facts import load_facts


@pytest.fixture(scope="module")
def tables():
    import os

    saved = os.environ.pop("ROTATION_MIRROR", None)
    try:
        return {n: load_table(n) for n in TABLES}
    finally:
        if saved is not None:
            os.environ["ROTATION_MIRROR"] = saved


def test_index_pe_summary(tables):
    s = A.index_pe_summary(tables["spdji_index_pe"])
    assert s.loc["S&P 600", "discount_to_sp500"] == pytest.approx(1 - 22.0 / 25.79)
    assert s.loc["S&P 500", "discount_to_sp500"] == 0


def test_snapshot_is_not_used_before_its_date(tables):
    ok = A.snapshot_availability(tables["spdji_index_pe"], "2026-01")
    assert ok == A.Availability("2026-01-30") and ok.available
    late = A.snapshot_availability(tables["spdji_index_pe"], "2025-12")
    assert not late.available and late.as_of == "2026-01-30"
    assert "dated 2026-01-30, after 2025-12: using it would look ahead" in late.reason


def test_size_pb_ratio_is_inverse_bm_ratio_and_respects_the_month(tables):
    bm = tables["french_size_bm"]
    r = A.size_pb_ratio(bm, "2000-03")
    assert str(r.index[-1]) == "2000-03"
    assert r.iloc[-1] == pytest.approx(bm.loc["2000-03", "ME5"] / bm.loc["2000-03", "ME1"])
    st = A.size_pb_stats(A.size_pb_ratio(bm, "2026-01"))
    assert st["as_of"] == "2024-08" and 0 < st["percentile"] < 1


def test_next_year_pe_uses_the_observation_before_the_month_end(tables):
    rev = tables["spdji_estimate_revisions"]
    jan = A.next_year_pe(rev, 2025, "2026-01")
    assert jan == A.measured(
        pytest.approx(22.366650077886472), "2026-01-30", "", "2026E, prices 2026-01-30", unit="x"
    )
    jul = A.next_year_pe(rev, 2025, "2025-07")
    assert (jul.value, jul.as_of) == (pytest.approx(21.010950671778446), "2025-06-30")
    early = A.next_year_pe(rev, 2025, "2024-01")
    assert not early.available and early.as_of == "2024-01"
    assert early.reason == "no S&P DJI observation of the 2026 P/E on or before 2024-01"


def test_rotation_test_q4_2025_by_hand(tables):
    close = tables["etf_close"]
    t = A.rotation_test(close)
    r = lambda s: close.loc["2025-12-31", s] / close.loc["2025-09-30", s] - 1  # noqa: E731
    assert t.loc["2025Q4", "XLF vs XLK"] == pytest.approx(r("XLF") - r("XLK"))
    assert A.rotation_test(close.loc[:"2025-11-30"]) is None


def test_calendar_growth_by_hand(tables):
    g = A.calendar_eps_growth(tables["spdji_annual_eps"])
    a = tables["spdji_annual_eps"].set_index(["index", "sector", "basis", "year"])
    e = lambda y: a.loc[("S&P 600", "All", "operating", y), "eps"]  # noqa: E731
    assert g.loc[2026, "S&P 600"] == pytest.approx(e(2026) / e(2025) - 1)


SEED = "great-rotation-2026-01-13"


def _seed(month, tables):
    """The seed article's verdicts as of ``month`` on the committed data/ tables."""
    from rotation_utils.claims import check_file, resolve_claims_file

    _, results = check_file(resolve_claims_file(SEED), month, tables=dict(tables))
    return {r.id: r for r in results}


def _rows(r):
    """Every row of a claim by label: definitions, generated perturbations and context."""
    return {x.label: x for x in r.rows}


#: The first sentence of each seed claim's evidence as of 2026-01 on data/: what the report index
#: shows (numbers from the committed tables, checked by hand in the test below and above).
SEED_FIRST_SENTENCES_2026_01 = {
    "C1": "S&P 600 forward P/E 16.19x (2026E EPS, prices 2026-01-29) vs S&P 500 22.46x: "
    "lower, as claimed.",
    "C2": "S&P 600 forward P/E 16.19x (2026E EPS, prices 2026-01-29) vs S&P 500 22.46x: "
    "a 27.9% discount, 7.9 pp above the stated 20.0%, outside the ±2.0 pp tolerance.",
    "C3": "Not checkable: only a stand-in is public, and its constructions disagree (small/big P/B "
    "ratio 0.176x .. 0.413x across 4 constructions).",
    "C4": "Not checkable: only a stand-in is public, and its constructions disagree (small/big P/B "
    "ratio 0.176x .. 0.420x across 4 constructions vs the stated 0.379x (inside that range)).",
    "C5": "S&P 600 forecast EPS growth 44.5% (96.39 / 66.72) vs S&P 500 16.9% (310.24 / 265.41), "
    "both 2026E / 2025E operating EPS, as of 2026-01-30: higher, as claimed.",
    "C6": "S&P 500 Financials forward P/E 15.89x (2026E EPS, price 2026-01-29) vs the stated "
    "16.50x: 3.7% lower, within the ±5% tolerance, as claimed.",
    "C7": "No public EV/EBITDA series for industrials is mirrored and no cited figure is in "
    "data/facts.csv; EV/EBITDA needs enterprise values (debt, cash) that none of the public files "
    "carry.",
    "C8": "Total returns 2025-09-30 to 2025-12-31: XLF +2.0%, XLI +0.9%, XLU -1.4% vs XLK +2.3%: "
    "XLK beat XLF, XLI and XLU, so none of the 3 winner/loser pairs as claimed.",
    "C9": "No prices for JPM and GS in the public data: JPM and GS are not regional banks (KRE is "
    "the usual proxy, also not in the data).",
}


def test_seed_evidence_reads_as_prose_first_sentence_first(tables):
    """Each claim's first sentence (the index's one line) names metrics by label, says what was
    claimed vs what was found, and never shows a metric id."""
    from rotation_utils.report.render import one_line

    v = _seed("2026-01", tables)
    assert {k: one_line(r.evidence)[0] for k, r in v.items()} == SEED_FIRST_SENTENCES_2026_01
    ids = ("pe_forward:", "pe_last_year:", "eps_growth", "pb_small_big", "return:", "fred", "fact:")
    for r in v.values():
        prose = [r.evidence, r.why, *(x.outcome.summary for x in (*r.rows, *r.outcomes))]
        assert not [p for p in prose if any(i in p for i in ids)], r.id
    # context rows are shown with their numbers and never flip: C1 is supported although the
    # Russell 2000's trailing P/E including loss-makers (another measure) is higher
    assert v["C1"].verdict == "supported" and v["C1"].evidence.endswith(
        '"cited Russell 2000 trailing P/E incl. loss-makers (Aug 2025, another measure)": '
        "contradicted, Russell 2000 33.65x vs S&P 500 25.25x: higher, not lower."
    )
    # metric ids stay in the machine-readable numbers
    assert [n["metric"] for n in v["C1"].to_dict()["numbers"]] == [
        "pe_forward:S&P 600",
        "pe_forward:S&P 500",
    ]


def test_seed_verdicts_for_the_article_month(tables):
    v = _seed("2026-01", tables)
    assert list(v) == [f"C{i}" for i in range(1, 10)]
    assert {k: r.verdict for k, r in v.items()} == {
        "C1": "supported",
        "C2": "contradicted",
        "C3": "not checkable",
        "C4": "not checkable",
        "C5": "supported",
        "C6": "partly supported",
        "C7": "not checkable",
        "C8": "partly supported",
        "C9": "not checkable",
    }
    assert all(r.verdict in VERDICTS for r in v.values())
    a = tables["spdji_annual_eps"]
    op = a[a["basis"] == "operating"].set_index(["index", "sector", "year"])
    pe = lambda i, s="All", y=2026: op.loc[(i, s, y), "price"] / op.loc[(i, s, y), "eps"]  # noqa: E731
    eps = lambda i, s="All", y=2026: op.loc[(i, s, y), "eps"]  # noqa: E731

    # C1: forward P/E 16.19 < 22.46 on the sheet's 2026E at its one price date (SECTOR EPS sheet,
    # close of 2026-01-29: 1560.46 / 96.39 and 6969.01 / 310.24, as notebook 01 records them);
    # every forward definition agrees: the sheet's year-end price (generated), COMTEX's Russell
    # 2000 < 16 vs S&P 500 > 22. Last year's EPS and the trailing P/E are context.
    c1 = _rows(v["C1"])
    main = v["C1"].robustness[0].outcome.numbers
    assert [x.value for x in main] == [pe("S&P 600"), pe("S&P 500")]
    assert [x.value for x in main] == pytest.approx([1560.46 / 96.39, 6969.01 / 310.24])
    assert main[0].as_of == "2026-01-29" and "2026E" in main[0].basis
    ye = c1["P/E at the year-end price 2025-12-31"]
    assert ye.role == "convention" and ye.verdict == "supported"
    # the sheet's 2025 P/E is on the year-end price: 15.23x vs 22.06x
    assert [x.value for x in ye.outcome.numbers] == pytest.approx(
        [op.loc[(i, "All", 2025), "pe"] * eps(i, y=2025) / eps(i) for i in ("S&P 600", "S&P 500")]
    )
    assert [round(x.value, 2) for x in ye.outcome.numbers] == [15.23, 22.06]
    assert c1["cited Russell 2000 forward P/E (COMTEX, Sep 2025)"].verdict == "supported"
    ly = c1["P/E on last year's EPS (another measure)"].outcome.numbers
    assert c1["P/E on last year's EPS (another measure)"].role == "context"
    assert ly[0].value == pytest.approx(1560.46 / 66.72)  # same price, 2025 EPS: 23.39x
    assert ly[1].value == pytest.approx(6969.01 / 265.41)  # 26.26x
    # labelled as notebook 01 labels it: the sheet marks 2025 EPS as partly estimated (Q4)
    assert ly[1].basis == "2025E EPS (last year), price 2026-01-29"
    assert v["C1"].flipped_by == () and [r.label for r in v["C1"].robustness] == [
        "forward P/E, S&P 600 vs S&P 500, sheet price date",
        "cited Russell 2000 forward P/E (COMTEX, Sep 2025)",
    ]
    trailing = c1["cited Russell 2000 trailing P/E incl. loss-makers (Aug 2025, another measure)"]
    assert trailing.role == "context" and trailing.verdict == "contradicted"
    assert [x.value for x in trailing.outcome.numbers] == [33.65, 25.25]
    # C2: 1 - 16.19/22.46 = 27.93%; the article's own 1 - 16.7/23.1 = 27.7%; none is 20% +- 2 pp
    c2 = v["C2"].robustness
    assert c2[0].outcome.numbers[2].value == pytest.approx(
        1 - (1560.46 / 96.39) / (6969.01 / 310.24)
    )
    assert c2[1].outcome.numbers[2].value == pytest.approx(1 - 16.7 / 23.1)
    assert all(r.verdict == "contradicted" for r in (*c2, *v["C2"].perturbations))
    # the ±2 pp tolerance is narrower than the discount's own spread over the sheet's two price
    # dates (27.9% at 2026-01-29, 1 - 15.23/22.06 = 31.0% at the year-end): said, not used to flip
    assert "narrower than S&P 600 vs S&P 500 forward P/E discount's own spread" in v["C2"].evidence
    assert "(27.9% .. 31.0%, 3.0 pp)" in v["C2"].evidence
    # C3: the 2024-07 low of the small/big P/B is the lowest since 1944-06 with every portfolio,
    # but only since 2002-06 (monthly) / 2000-07 (July) without the two HiBM corners.
    c3 = _rows(v["C3"])
    assert "2024-07" in v["C3"].evidence and "since 1944-06" in v["C3"].evidence
    bm = tables["french_size_bm"]
    assert c3["P/B small/big, monthly, all portfolios"].outcome.numbers[0].value == pytest.approx(
        bm.loc["2024-07", "ME5"] / bm.loc["2024-07", "ME1"]
    )
    assert "since 2002-06" in c3["without the SMALL HiBM and BIG HiBM corners"].outcome.evidence
    assert "since 2000-07" in c3["without the corners, July samples only"].outcome.evidence
    # the stand-in's constructions disagree, so C3 is not checkable; they name what disagrees
    assert set(v["C3"].flipped_by) == {
        "without the SMALL HiBM and BIG HiBM corners",
        "without the corners, July samples only",
    }
    assert v["C3"].claim.main.proxy and v["C3"].verdict == "not checkable"
    # C4: the stand-in's constructions (0.176x July, 0.190x all, 0.413x / 0.420x without the
    # corners) bracket the stated 2.03/5.35 = 0.379: not checkable; the direction is context
    c4 = v["C4"].robustness[0].outcome.numbers
    assert c4[0].value == pytest.approx(bm.loc["2024-08", "ME5"] / bm.loc["2024-08", "ME1"])
    assert c4[1].value == pytest.approx(2.03 / 5.35)
    assert all(r.verdict == "contradicted" for r in v["C4"].robustness)
    assert "0.176x .. 0.420x across 4 constructions vs the stated 0.379x" in v["C4"].why
    (direction,) = v["C4"].context
    assert direction.verdict == "supported"
    # C5: 2026E growth 96.39/66.72 - 1 = 44.5% vs 310.24/265.41 - 1 = 16.9%; the 5-year projection
    # reverses it (13.0% vs 17.3%)
    c5 = v["C5"].robustness[0].outcome.numbers
    assert c5[0].value == pytest.approx(eps("S&P 600") / eps("S&P 600", y=2025) - 1)
    assert c5[1].value == pytest.approx(eps("S&P 500") / eps("S&P 500", y=2025) - 1)
    assert v["C5"].verdict == "supported" and v["C5"].flipped_by == ()
    c5r = _rows(v["C5"])
    five = c5r["5-year projected EPS growth (another horizon)"]
    assert five.role == "context" and five.verdict == "contradicted"
    assert c5r["S&P 400 (mid caps) vs S&P 500 (another universe)"].role == "context"
    # C6: 890.32 / 56.04 = 15.89 is 3.7% under 16.5 (within 5%, not 3%); at the sheet's year-end price
    # 17.61 x 51.78 / 56.04 = 16.27; XLF has no January 2026 closes for the article's date.
    c6 = _rows(v["C6"])
    fin = c6["S&P 500 Financials, forward P/E, sheet price date, ±5%"].outcome.numbers[0]
    assert fin.value == pe("S&P 500", "Financials") == pytest.approx(890.32 / 56.04)
    dec = c6["P/E at the year-end price 2025-12-31"].outcome.numbers[0]
    assert dec.value == pytest.approx(
        op.loc[("S&P 500", "Financials", 2025), "pe"]  # the sheet's 2025 P/E: year-end price
        * eps("S&P 500", "Financials", 2025)
        / eps("S&P 500", "Financials")
    )
    art = c6["at the article's date (2026-01-13)"]
    assert art.verdict == "not checkable" and "XLF" in art.outcome.evidence
    # which index the article means flips it (S&P 600 Financials 10.43x); the ±3% tolerance is
    # a stronger claim (context)
    assert v["C6"].flipped_by == ("S&P 600 Financials (small caps)",)
    assert c6["S&P 600 Financials (small caps)"].outcome.numbers[0].value == pytest.approx(
        pe("S&P 600", "Financials")
    )
    assert c6["tolerance ±3% (a stronger claim)"].role == "context"
    assert c6["tolerance ±3% (a stronger claim)"].verdict == "contradicted"
    # C8: Q4 2025 total returns from the 2025-09-30 to the 2025-12-31 close
    close = tables["etf_close"]
    c8 = _rows(v["C8"])
    q4 = {
        n.name.split(":")[1]: n.value
        for n in c8["vs SPY and XLK (a stronger claim)"].outcome.numbers
    }
    for t in ("XLF", "XLI", "XLU", "XLK", "SPY"):
        assert q4[t] == pytest.approx(close.loc["2025-12-31", t] / close.loc["2025-09-30", t] - 1)
    r8 = lambda t, a, b: close.loc[b, t] / close.loc[a, t] - 1  # noqa: E731
    # measured from the first close of the quarter (2025-10-01), XLF beats XLK: a convention flips
    oct1 = c8["window starts 2025-10-01 (1 trading day later)"]
    got = {n.name.split(":")[1]: n.value for n in oct1.outcome.numbers}
    assert got["XLF"] == pytest.approx(r8("XLF", "2025-10-01", "2025-12-31"))
    assert got["XLK"] == pytest.approx(r8("XLK", "2025-10-01", "2025-12-31"))
    assert got["XLF"] > got["XLK"] and oct1.role == "convention"
    assert v["C8"].flipped_by == ("window starts 2025-10-01 (1 trading day later)",)
    assert "flips when the window starts 2025-10-01 (1 trading day later)" in v["C8"].why
    # October, November and December alone are sensitivity rows (from each month's last close)
    nov = c8["November 2025 alone (2025-10-31 to 2025-11-28)"]
    assert nov.role == "sensitivity" and nov.verdict == "supported"
    got = {n.name.split(":")[1]: n.value for n in nov.outcome.numbers}
    assert got["XLK"] == pytest.approx(r8("XLK", "2025-10-31", "2025-11-28"))
    assert {r.label for r in v["C8"].perturbations} >= {
        "window starts 2025-09-29 (1 trading day earlier)",
        "window ends 2025-12-30 (1 trading day earlier)",
        "window starts 2025-10-07 (5 trading days later)",
        "window starts 2025-09-23 (5 trading days earlier)",
        "October 2025 alone (2025-09-30 to 2025-10-31)",
        "December 2025 alone (2025-11-28 to 2025-12-31)",
    }
    # C9: XLF set 6 52-week closing highs in Q4 2025 (context); the 10y-2y rose 0.09 pp, which the
    # project's regime rule (0.25 pp over 3 months) calls stable.
    c9 = _rows(v["C9"])
    assert "XLF set 6 52-week closing highs" in v["C9"].evidence
    fred = tables["fred_monthly"]["T10Y2Y"]
    up = c9["curve steepened: 10y-2y up from 2025-09 to 2025-12 (a part of the claim)"]
    assert up.role == "context"
    up = up.outcome.numbers[0]
    assert up.value == pytest.approx(fred["2025-12"] - fred["2025-09"])
    assert (
        c9[
            "curve steepened by the regime rule, >= 0.25 pp in 3 months (a part of the claim)"
        ].verdict
        == "contradicted"
    )


def test_seed_verdicts_six_months_later_add_the_outcome(tables):
    v = _seed("2026-07", tables)
    before = _seed("2026-01", tables)
    assert {k: r.verdict for k, r in v.items()} == {k: r.verdict for k, r in before.items()}
    (c5,) = v["C5"].outcomes
    close = tables["etf_close"]
    if close["IWM"].last_valid_index() >= pd.Timestamp("2026-07-01"):
        last = close.loc[:"2026-07-31"].index[-1]
        got = {n.name.split(":")[1]: n.value for n in c5.outcome.numbers}
        assert got["IWM"] == pytest.approx(
            close.loc[last, "IWM"] / close.loc["2026-01-13", "IWM"] - 1
        )
    else:  # prices in data/ end before July 2026: said, not guessed
        assert c5.verdict == "not checkable" and "no close of IWM in 2026-07" in c5.outcome.evidence
    since, after_gap = v["C8"].outcomes
    # The sector SPDRs have no closes from 2026-01 to 2026-03: never a return across that gap
    assert since.verdict == "not checkable" and "XLF" in since.outcome.evidence


def test_seed_outcome_at_the_article_month_is_month_to_date(tables):
    (c5,) = _seed("2026-01", tables)["C5"].outcomes
    close = tables["etf_close"]
    got = {n.name.split(":")[1]: n for n in c5.outcome.numbers}
    assert got["IWM"].as_of == "2026-01-30"
    assert got["IWM"].value == pytest.approx(
        close.loc["2026-01-30", "IWM"] / close.loc["2026-01-13", "IWM"] - 1
    )


def test_seed_verdicts_before_the_data_exists_say_so(tables):
    v = _seed("2025-06", tables)
    for cid in ("C1", "C5", "C6", "C8"):
        assert v[cid].verdict == "not checkable", cid
    assert "look ahead" in v["C1"].evidence  # the sheet is dated 2026-01-30
    assert "after 2025-06" in v["C8"].evidence  # Q4 2025 has not happened yet
    # C2 and C4: the article's own numbers are dated 2026-01-13, so a 2025-06 report cannot use
    # them (no look-ahead, the article's facts included), and no other number exists yet.
    assert v["C2"].verdict == "not checkable"
    assert "look ahead" in v["C2"].evidence
    assert "fact article_r2k_pb is dated 2026-01-13, after 2025-06" in v["C4"].evidence
    # Whatever is decided rests only on numbers dated on or before the month.
    for cid, r in v.items():
        if r.verdict != "not checkable":
            for o in r.outcomes:
                for n in o.outcome.numbers:
                    assert not n.available or n.as_of[:7] <= "2025-06", (cid, n.name, n.as_of)
    # French data to 2024-08 exist in 2025-06; the stand-in's constructions still disagree
    assert v["C3"].verdict == "not checkable" and v["C3"].flipped_by
    # before the bubble the claim compares with, C3 cannot be judged
    early = _seed("1990-01", tables)
    assert early["C3"].verdict == "not checkable" and "before 2000-03" in early["C3"].evidence
    assert early["C2"].verdict == "not checkable"


def test_a_cited_ev_ebitda_figure_makes_c7_checkable(tables, tmp_path):
    """C7 becomes checkable by editing data, not code: a cited figure and a `value` claim."""
    from rotation_utils.claims import check_claims, load_claims

    f = load_facts()
    extra = f.loc[["article_industrials_ev_ebitda"]].copy()
    extra.index = ["someone_ev_ebitda"]
    extra["kind"], extra["value"], extra["as_of"] = "published_figure", 18.0, "2025-12-31"
    facts = pd.concat([f, extra])
    p = tmp_path / "c7.toml"
    p.write_text(
        '[article]\nid = "a"\ntitle = "t"\npublisher = "p"\ndate = 2026-01-13\nurl = "https://x.org"\n'
        '[[claims]]\nid = "C7"\ntext = "Industrials trade at EV/EBITDA 16.70"\nkind = "value"\n'
        'metric = "fact:someone_ev_ebitda"\nstated = "fact:article_industrials_ev_ebitda"\n'
    )
    (r,) = check_claims(load_claims(p, fact_ids=set(facts.index)), "2026-01", facts=facts)
    # 18.0 / 16.70 - 1 = +7.8%: outside 5%
    assert r.verdict == "contradicted" and r.evidence == (
        "Industrials EV/EBITDA 18.00x (EV/EBITDA; index not stated, as of 2025-12-31) vs the "
        "stated Industrials EV/EBITDA 16.70x (EV/EBITDA; index not stated): "
        "7.8% higher, outside the ±5% tolerance."
    )


def test_growth_from_a_loss_is_blank(tables):
    g = A.calendar_eps_growth(tables["spdji_annual_eps"])
    assert pd.isna(g.loc[2021, "S&P 600"])  # 2020 operating EPS was -3.99
    assert g.loc[2022, "S&P 600"] == pytest.approx(75.96 / 74.25 - 1)


def test_quarterly_eps_known_at_the_month_end(tables):
    q = tables["spdji_quarterly_eps"]
    assert A.quarterly_eps_as_of(q, "2026-01").index[-1] == pd.Timestamp(
        "2026-12-31"
    )  # estimates ahead
    early = A.quarterly_eps_as_of(q, "2025-06")
    assert (early["status"] == "actual").all() and early.index[-1] == pd.Timestamp("2025-03-31")


def test_facts_dated_after_the_month_are_not_used():
    from rotation_utils.facts import facts_as_of

    f = load_facts()
    early = facts_as_of(f, "2025-08")
    assert (
        "ainvest_r2k_trailing_pe_2025_08" in early.index
        and "comtex_r2k_fwd_pe_2025_09" not in early.index
    )
    assert "article_r2k_fwd_pe" not in early.index  # the article (2026-01-13) is later too
