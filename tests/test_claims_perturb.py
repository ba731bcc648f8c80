"""Generated perturbations: trading-day shifts on the NYSE calendar, windows moved inside metric
expressions, a named period's months, the sheet's other P/E price date, and the rules that say
which of them may flip a verdict (conventions), which only mark it fragile (sensitivity), and when
a tolerance is too narrow to flip anything."""

from __future__ import annotations

import datetime as dt
from types import MappingProxyType

import pytest

from rotation_utils.claims import check_claims, load_claims
from rotation_utils.claims.metrics import Context
from rotation_utils.claims.perturb import CONVENTION, SENSITIVITY, perturbations
from rotation_utils.claims.spec import Definition
from rotation_utils.facts import load_facts
from rotation_utils.trading_days import is_trading_day, shift_trading_days
from tests.claims_files import ARTICLE


@pytest.mark.parametrize(
    ("day", "n", "expected"),
    [
        ("2025-09-30", 1, "2025-10-01"),
        ("2025-09-30", -1, "2025-09-29"),
        ("2025-09-30", 5, "2025-10-07"),
        ("2025-09-30", -5, "2025-09-23"),
        ("2025-12-31", 1, "2026-01-02"),  # 2026-01-01 is a holiday
        ("2025-11-26", 1, "2025-11-28"),  # Thanksgiving 2025-11-27
        ("2026-01-13", 5, "2026-01-21"),  # MLK Day 2026-01-19
        ("2025-10-04", 1, "2025-10-06"),  # a Saturday stands for Friday's close
        ("2025-10-04", -1, "2025-10-02"),
    ],
)
def test_shift_trading_days(day, n, expected):
    assert shift_trading_days(day, n) == dt.date.fromisoformat(expected)
    assert is_trading_day(dt.date.fromisoformat(expected))


def _ctx(month="2026-01") -> Context:
    return Context(month, load_facts())


def _def(kind, **fields) -> Definition:
    return Definition("main", kind, "", MappingProxyType(fields))


def test_outperform_over_a_quarter_gets_shifts_and_months(no_mirror):
    d = _def("outperform", winners=("XLF",), losers=("XLK",), start="2025-09-30", end="2025-12-31")
    got = {p.moved: p for p in perturbations(d, _ctx())}
    conv = {k for k, p in got.items() if p.role == CONVENTION}
    sens = {k for k, p in got.items() if p.role == SENSITIVITY}
    assert conv == {
        "window starts 2025-10-01 (1 trading day later)",
        "window starts 2025-09-29 (1 trading day earlier)",
        "window ends 2026-01-02 (1 trading day later)",
        "window ends 2025-12-30 (1 trading day earlier)",
    }
    assert sens == {
        "window starts 2025-10-07 (5 trading days later)",
        "window starts 2025-09-23 (5 trading days earlier)",
        "window ends 2026-01-08 (5 trading days later)",
        "window ends 2025-12-23 (5 trading days earlier)",
        "October 2025 alone (2025-09-30 to 2025-10-31)",
        "November 2025 alone (2025-10-31 to 2025-11-28)",
        "December 2025 alone (2025-11-28 to 2025-12-31)",
    }
    nov = got["November 2025 alone (2025-10-31 to 2025-11-28)"].definition.fields
    assert (nov["start"], nov["end"]) == ("2025-10-31", "2025-11-28")
    assert got["window starts 2025-10-01 (1 trading day later)"].when == (
        "when the window starts 2025-10-01 (1 trading day later)"
    )


def test_the_month_bounds_the_shifts(no_mirror):
    # as of 2025-12 an end after 2025-12-31 is after the month: not generated
    d = _def("outperform", winners=("XLF",), losers=("XLK",), start="2025-09-30", end="2025-12-31")
    ends = [p.moved for p in perturbations(d, _ctx("2025-12")) if "ends" in p.moved]
    assert ends == [
        "window ends 2025-12-30 (1 trading day earlier)",
        "window ends 2025-12-23 (5 trading days earlier)",
    ]
    # "to the month's last close" (no end) moves only earlier, from the month's last trading day
    d = _def("outperform", winners=("IWM",), losers=("SPY",), start="2026-01-13", end=None)
    ends = {p.moved: p.definition.fields["end"] for p in perturbations(d, _ctx("2026-07"))}
    assert ends["window ends 2026-07-30 (1 trading day earlier)"] == "2026-07-30"
    assert ends["window ends 2026-07-24 (5 trading days earlier)"] == "2026-07-24"
    assert not any("later)" in k and "ends" in k for k in ends)


def test_windows_inside_metric_expressions_move_together(no_mirror):
    """Every return:<T>:<start>[:<end>] token of a metric field is rewritten, so a comparison of
    two returns (or an expression of them) keeps one window on both sides."""
    d = _def("compare", left="return:IWM:2026-01-13", op=">", right="return:SPY:2026-01-13")
    got = {p.moved: p.definition.fields for p in perturbations(d, _ctx("2026-07"))}
    moved = got["window starts 2026-01-21 (5 trading days later)"]
    assert (moved["left"], moved["right"]) == ("return:IWM:2026-01-21", "return:SPY:2026-01-21")
    ended = got["window ends 2026-07-30 (1 trading day earlier)"]
    assert ended["left"] == "return:IWM:2026-01-13:2026-07-30"
    # an expression (issue 19's `a - b`) is text: the same tokens move inside it
    d = _def("compare", left="return:IWM:2026-01-13 - return:SPY:2026-01-13", op=">", right=0.0)
    got = {p.moved: p.definition.fields for p in perturbations(d, _ctx("2026-07"))}
    assert got["window starts 2026-01-14 (1 trading day later)"]["left"] == (
        "return:IWM:2026-01-14 - return:SPY:2026-01-14"
    )


def test_pe_metrics_get_the_sheets_other_price_date(no_mirror):
    d = _def("compare", left="pe_forward:S&P 600", op="<", right="pe_forward:S&P 500")
    (p,) = perturbations(d, _ctx())
    assert p.role == CONVENTION and p.moved == "P/E at the year-end price 2025-12-31"
    assert (p.definition.fields["left"], p.definition.fields["right"]) == (
        "pe_forward:S&P 600@2025-12-31",
        "pe_forward:S&P 500@2025-12-31",
    )
    d = _def(
        "value", metric="pe_forward:S&P 500:Financials@2025-12-31", stated=16.5, tolerance=0.05
    )
    (p,) = perturbations(d, _ctx())
    assert p.definition.fields["metric"] == "pe_forward:S&P 500:Financials"
    assert p.moved == "P/E at the sheet's price date 2026-01-29"


def test_kinds_without_natural_perturbations_get_none(no_mirror):
    d = _def("extreme", metric="pb_small_big", direction="low", since="2000-03", window=12)
    assert perturbations(d, _ctx()) == []


HEAD = ARTICLE


def _check(tmp_path, body, month="2026-01"):
    p = tmp_path / "c.toml"
    p.write_text(HEAD + body)
    facts = load_facts()
    return {r.id: r for r in check_claims(load_claims(p, fact_ids=set(facts.index)), month)}


def test_a_tolerance_narrower_than_the_price_date_spread_does_not_flip(tmp_path, no_mirror):
    """S&P 500 Financials forward P/E is 890.32 / 56.04 = 15.89x at the sheet's price date and
    16.27x at the year-end: a spread of 0.38 / 16.5 = 2.3% of the stated 16.5. Within ±2% the
    sheet's date says contradicted (-3.7%) and the year-end supported (-1.4%): that flip is the
    number's own noise, said and not counted. Within ±3% the tolerance is wider than the spread and
    the same pair of dates does flip the verdict."""
    body = (
        '[[claims]]\nid = "F"\ntext = "t"\nkind = "value"\n'
        'metric = "pe_forward:S&P 500:Financials"\nstated = 16.5\ntolerance = {tol}\n'
    )
    narrow = _check(tmp_path, body.format(tol=0.02))["F"]
    assert narrow.verdict == "contradicted" and narrow.flipped_by == ()
    assert (
        "The ±2% tolerance is narrower than S&P 500 Financials forward P/E's own spread across its "
        "definitions (15.89x .. 16.27x, 2.3%): a flip inside that spread is reported, not counted."
    ) in narrow.evidence
    (ye,) = narrow.perturbations
    assert ye.verdict == "supported" and ye.outcome.numbers[0].value == pytest.approx(
        16.27, abs=0.005
    )
    wide = _check(tmp_path, body.format(tol=0.03))["F"]
    assert wide.verdict == "partly supported"
    assert wide.flipped_by == ("P/E at the year-end price 2025-12-31",)
    assert "narrower" not in wide.evidence


def test_context_never_flips_and_sensitivity_only_marks_fragile(tmp_path, no_mirror):
    body = """
[[claims]]
id = "Q"
text = "Financials beat tech in Q4 2025"
kind = "outperform"
winners = ["XLF"]
losers = ["XLK"]
start = 2025-10-01
end = 2025-12-31

[[claims.context]]
label = "against health care too (a stronger claim)"
losers = ["XLK", "XLV"]
"""
    (q,) = _check(tmp_path, body).values()
    # 2025-10-01 .. 12-31: XLF +2.9% vs XLK +1.3%; XLV's +8.4% beats XLF (context): shown only
    assert q.robustness[0].verdict == "supported"
    assert q.context[0].verdict == "partly supported" and q.verdict != "contradicted"
    # from the 2025-09-30 close (a convention) XLK wins: partly supported, naming it
    assert q.verdict == "partly supported"
    assert q.flipped_by == ("window starts 2025-09-30 (1 trading day earlier)",)
    # sensitivity rows (October alone: XLK +6.7%) never flip it
    octo = {r.label: r for r in q.perturbations}["October 2025 alone (2025-09-30 to 2025-10-31)"]
    assert octo.role == SENSITIVITY and octo.verdict == "contradicted"
    assert octo.label not in q.flipped_by and q.fragile_under == ()  # partly: not "fragile"


def test_a_shift_onto_a_missing_close_is_the_same_measurement_and_is_dropped(tmp_path, no_mirror):
    """Without a 2025-10-01 row, "the window starts 2025-10-01" reads the close on or before it,
    2025-09-30: the same closes as the main window (the Value's window says so), so no row."""
    from rotation_utils.derived import load_table

    close = load_table("etf_close")
    short = close.drop(index=close.loc["2025-10-01":"2025-10-01"].index)
    assert short.attrs == close.attrs
    p = tmp_path / "c.toml"
    p.write_text(
        HEAD + '[[claims]]\nid = "Q"\ntext = "t"\nkind = "outperform"\nwinners = ["XLF"]\n'
        'losers = ["XLK"]\nstart = 2025-09-30\nend = 2025-12-31\n'
    )
    facts = load_facts()
    cf = load_claims(p, fact_ids=set(facts.index))
    (full,) = check_claims(cf, "2026-01")
    (q,) = check_claims(cf, "2026-01", tables={"etf_close": short})
    moved = "window starts 2025-10-01 (1 trading day later)"
    assert moved in [r.label for r in full.perturbations]
    assert moved not in [r.label for r in q.perturbations]
    assert len(q.perturbations) == len(full.perturbations) - 1


def test_a_catalog_stand_in_makes_a_proxy_claim(tmp_path, no_mirror):
    """pb_small_big (French NYSE size quintiles) is marked in the catalog as a stand-in for the
    Russell 2000 / 1000: a claim on it is a proxy claim unless the file says proxy = false. Its
    constructions (0.190x all portfolios, 0.420x without the HiBM corners, as of 2024-08)
    bracket 0.3, so the claim is not checkable, with the stand-in's range."""
    body = (
        '[[claims]]\nid = "P"\ntext = "pb_small_big is 0.3"\nkind = "value"\n'
        'metric = "pb_small_big"\nstated = 0.3\n'
        '[[claims.variants]]\nlabel = "without the corners"\nmetric = "pb_small_big:ex_hibm"\n'
    )
    (p,) = _check(tmp_path, body).values()
    assert p.claim.main.proxy and p.verdict == "not checkable"
    assert (
        "0.190x .. 0.420x across 2 constructions vs the stated 0.300x (inside that range)" in p.why
    )
    (q,) = _check(
        tmp_path, body.replace("stated = 0.3\n", "stated = 0.3\nproxy = false\n")
    ).values()
    assert not q.claim.main.proxy and q.verdict == "contradicted"  # both outside ±5% of 0.3
    # a claim naming the metric only in its text is not a proxy
    (r,) = _check(
        tmp_path,
        body.replace('metric = "pb_small_big"\n', 'metric = "pe_forward:S&P 400"\n', 1).split(
            "[[claims.variants]]"
        )[0],
    ).values()
    assert not r.claim.main.proxy
