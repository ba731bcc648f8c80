"""Expressions over metrics in claims files (issue 19 item 1): the parser, the unit rules, the
refusals (exit 2, one line naming the file, claim and field) and an end-to-end margin claim
checked against a return difference worked out here from the raw CSV files."""

from __future__ import annotations

import csv
import doctest
from pathlib import Path

import pandas as pd
import pytest

from rotation_utils.claims import (
    KINDS,
    Context,
    check_file,
    claim_markdown,
    expressions,
    load_claims,
)
from rotation_utils.claims.expressions import (
    MAX_LENGTH,
    BinOp,
    Combined,
    ExpressionError,
    Metric,
    Number,
    UnitMismatch,
    combine_units,
    evaluate_expression,
    is_expression,
    leaves,
    metric_unit,
    parse_expression,
    render,
    static_unit,
)
from rotation_utils.cli import main
from rotation_utils.results import Value, Window
from tests.claims_files import ARTICLE

EEM = "return:EEM:2026-03-31:2026-07-31"
SPY = "return:SPY:2026-03-31:2026-07-31"

# --- the parser -------------------------------------------------------------------------------


def test_multiplication_binds_tighter_and_operators_associate_left():
    assert parse_expression("a - b * 2") == BinOp(
        "-", Metric("a"), BinOp("*", Metric("b"), Number(2.0, "2"))
    )
    assert parse_expression("a - b - c") == BinOp(
        "-", BinOp("-", Metric("a"), Metric("b")), Metric("c")
    )
    assert parse_expression("a / b / c") == BinOp(
        "/", BinOp("/", Metric("a"), Metric("b")), Metric("c")
    )


def test_parentheses_override_precedence_and_print_only_where_needed():
    t = parse_expression("(a + b) * (c - d)")
    assert t == BinOp(
        "*", BinOp("+", Metric("a"), Metric("b")), BinOp("-", Metric("c"), Metric("d"))
    )
    assert render(t) == "(a + b) * (c - d)"
    assert render(parse_expression("((a)) - (b - c)")) == "a - (b - c)"
    assert render(parse_expression("(a - b) - c")) == "a - b - c"
    assert render(parse_expression("a / (b * c)")) == "a / (b * c)"
    assert render(parse_expression("(a * b) / c")) == "a * b / c"


def test_metric_names_keep_colons_ampersands_dashes_and_spaces():
    t = parse_expression(
        "pe_forward:S&P 600:Consumer Discretionary / pe_forward:S&P 500:Consumer Discretionary"
    )
    assert leaves(t) == [
        Metric("pe_forward:S&P 600:Consumer Discretionary"),
        Metric("pe_forward:S&P 500:Consumer Discretionary"),
    ]
    # the dashes of a date are text: only " - " with its spaces is an operator
    assert leaves(parse_expression(f"{EEM} - {SPY}")) == [Metric(EEM), Metric(SPY)]
    assert leaves(parse_expression("pe_forward:S&P 500@2025-12-31 * 2"))[0] == Metric(
        "pe_forward:S&P 500@2025-12-31"
    )
    assert not is_expression("pe_forward:S&P 600") and not is_expression(EEM)
    assert is_expression(f"{EEM} - 0.05") and is_expression("(fred:DFF)")


@pytest.mark.parametrize(
    "text,value", [("2", 2.0), ("0.05", 0.05), ("-1.5", -1.5), (".5", 0.5), ("1e-3", 0.001)]
)
def test_numbers(text, value):
    t = parse_expression(f"a * {text}")
    assert t.right == Number(value, text)


@pytest.mark.parametrize(
    "text,message",
    [
        ("", "empty expression"),
        ("a - ", "ends with an operator"),
        ("(a - b", "a '(' is not closed"),
        ("a - b)", "an unmatched ')'"),
        ("a * ( - b)", "'-' where an operand is expected"),
        ("a (b)", "'(' after a complete expression"),
        ("()", "')' where an operand is expected"),
        ("a" * (MAX_LENGTH + 1) + " - b", f"longer than {MAX_LENGTH} characters"),
        (" + ".join(["a"] * 21), "more than 20 operands"),
        ("(" * 9 + "a" + ")" * 9 + " - b", "parentheses nested more than 8 deep"),
    ],
)
def test_what_does_not_parse_says_why(text, message):
    with pytest.raises(ExpressionError) as e:
        parse_expression(text)
    assert str(e.value) == message or message in str(e.value)


def test_an_operator_needs_its_spaces():
    # "a -" and "a - * b" hold no operator between two operands: the text is read as a metric
    # name (and refused by the catalog in a claims file)
    assert parse_expression("a -") == Metric("a -")
    assert parse_expression("a - * b") == BinOp("-", Metric("a"), Metric("* b"))


def test_the_limits_themselves_are_allowed():
    assert len(leaves(parse_expression(" + ".join(["a"] * 20)))) == 20
    assert parse_expression("(" * 8 + "a" + ")" * 8 + " - b") == BinOp(
        "-", Metric("a"), Metric("b")
    )


# --- units ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "op,a,b,unit",
    [
        ("-", "ratio", "ratio", "ratio_diff"),  # a difference of two returns
        ("+", "ratio", "ratio", "ratio"),
        ("-", "ratio_diff", "ratio_diff", "ratio_diff"),
        ("+", "x", "x", "x"),
        ("-", "x", "x", "x"),
        ("-", "percent", "percent", "pp"),
        ("-", "pp", "pp", "pp"),
        ("+", "percent", "pp", "percent"),
        ("-", "ratio", "", "ratio"),  # a plain number is read in the other side's unit
        ("*", "ratio", "", "ratio"),
        ("*", "", "x", "x"),
        ("/", "x", "", "x"),
        ("/", "ratio", "ratio", "x"),
        ("/", "x", "x", "x"),
        ("/", "", "", ""),
    ],
)
def test_unit_rules(op, a, b, unit):
    assert combine_units(op, a, b) == unit


@pytest.mark.parametrize(
    "op,a,b,rule",
    [
        ("+", "x", "ratio", "+ and - need the same unit"),
        ("-", "ratio_diff", "pp", "+ and - need the same unit"),  # 0.036 vs 3.6: never mixed
        ("-", "pp", "percent", "+ and - need the same unit"),
        ("*", "x", "x", "* needs a plain number on one side"),
        ("/", "ratio", "x", "/ needs a plain number on the right"),
        ("/", "", "x", "/ needs a plain number on the right"),
    ],
)
def test_unit_mismatches(op, a, b, rule):
    with pytest.raises(UnitMismatch) as e:
        combine_units(op, a, b)
    assert rule in str(e.value)


def test_units_are_known_from_the_catalog_without_data():
    assert static_unit(parse_expression(f"{EEM} - {SPY}"), metric_unit) == "ratio_diff"
    assert (
        static_unit(parse_expression("pe_forward:S&P 600 / pe_forward:S&P 500 - 1"), metric_unit)
        == "x"
    )
    assert metric_unit("fred:DGS10") == "percent" and metric_unit("fred:T10Y2Y") == "pp"
    assert metric_unit("fred_change:DGS10:2025-01:2025-06") == "pp"
    assert metric_unit("fact:article_r2k_pb") is None  # its unit is in data/facts.csv
    facts = pd.DataFrame({"unit": ["x"]}, index=["article_r2k_pb"])
    assert metric_unit("fact:article_r2k_pb", facts) == "x"
    # an unknown unit makes the whole combination unknown, never a false mismatch
    assert static_unit(parse_expression(f"fact:article_r2k_pb + {EEM}"), metric_unit) is None


# --- evaluation without data ------------------------------------------------------------------


def _fake(values: dict[str, Value]):
    def evaluate(ctx, name):
        return values[name]

    return evaluate


def test_an_expression_is_computed_with_its_operands_shown():
    w = Window("2026-03-31", "2026-07-31")
    a = Value(0.12, "ratio", as_of="2026-07-31", basis="price return, A", window=w, name="a",
              subject="EEM", measure="price return", source="src A")  # fmt: skip
    b = Value(0.15, "ratio", as_of="2026-07-31", basis="price return, B", window=w, name="b",
              subject="SPY", measure="price return", source="src B")  # fmt: skip
    v = evaluate_expression(None, "(a - b) * 2", _fake({"a": a, "b": b}))
    assert isinstance(v, Combined) and v.value == pytest.approx(-0.06) and v.unit == "ratio_diff"
    assert v.name == "(a - b) * 2" and v.label == "(EEM price return - SPY price return) * 2"
    assert v.window == w and v.as_of == "2026-07-31" and v.source == "src A | src B"
    assert v.worked() == (
        "(EEM price return 12.0% (price return, A, 2026-03-31 to 2026-07-31) - SPY price return "
        "15.0% (price return, B, 2026-03-31 to 2026-07-31)) * 2 = -6.0 pp"
    )
    assert v.worked(False) == "(EEM price return 12.0% - SPY price return 15.0%) * 2 = -6.0 pp"
    assert [o["metric"] for o in v.to_dict()["operands"]] == ["a", "b"]


def test_an_unavailable_operand_makes_the_expression_unavailable_with_its_reason():
    a = Value(0.12, "ratio", name="a", subject="EEM", measure="return")
    b = Value(None, "ratio", reason="no prices for ZZZ", name="b", subject="ZZZ", measure="return")
    v = evaluate_expression(None, "a - b", _fake({"a": a, "b": b}))
    assert v.value is None and v.reason == "no prices for ZZZ" and v.unit == "ratio_diff"
    c = Value(None, "ratio", reason="the sheet is dated after 2025-12", name="c", measure="growth")
    v = evaluate_expression(None, "a / c", _fake({"a": a, "c": c}))
    assert v.value is None and v.reason == "growth: the sheet is dated after 2025-12"
    assert v.unit == "x"


def test_division_by_zero_and_a_unit_mismatch_known_only_from_values_are_not_available():
    a = Value(2.0, "x", name="a", subject="A", measure="P/E")
    z = Value(0.0, "x", name="z", subject="Z", measure="P/E")
    r = Value(0.1, "ratio", name="r", subject="R", measure="return")
    v = evaluate_expression(None, "a / (z - z)", _fake({"a": a, "z": z}))
    assert v.value is None and v.reason == "division by zero: Z P/E - Z P/E is 0"
    v = evaluate_expression(None, "a + r", _fake({"a": a, "r": r}))
    assert v.value is None and v.reason.startswith("unit mismatch in 'a + r'")


# --- claims files -----------------------------------------------------------------------------


def _file(tmp_path: Path, body: str) -> Path:
    p = tmp_path / "expr.toml"
    p.write_text(ARTICLE + body, encoding="utf-8")
    return p


def _refused(tmp_path, capsys, body: str) -> str:
    p = _file(tmp_path, body)
    assert main(["claims", "check", str(p), "--month", "2026-08"]) == 2
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert out == "" and len(lines) == 1 and "Traceback" not in err, err
    return lines[0].replace(str(p), "FILE")


COMPARE = """
[[claims]]
id = "X1"
text = "t"
kind = "compare"
left = "{left}"
op = ">"
right = 0
"""


def test_a_unit_mismatch_is_refused_with_exit_2_and_one_line(tmp_path, capsys, no_mirror):
    line = _refused(tmp_path, capsys, COMPARE.format(left=f"{EEM} + pe_forward:S&P 500"))
    assert line == (
        f"rotation: error: FILE: claim X1, field 'left': unit mismatch in '{EEM} + "
        f"pe_forward:S&P 500': {EEM} is in ratio, pe_forward:S&P 500 is in x (+ and - need the "
        "same unit)"
    )


def test_a_mismatch_inside_parentheses_names_the_inner_operation(tmp_path, capsys, no_mirror):
    left = f"({EEM} - {SPY}) - fred_change:T10Y2Y:2026-01:2026-06"
    line = _refused(tmp_path, capsys, COMPARE.format(left=left))
    assert line == (
        f"rotation: error: FILE: claim X1, field 'left': unit mismatch in '{EEM} - {SPY} - "
        f"fred_change:T10Y2Y:2026-01:2026-06': {EEM} - {SPY} is in ratio_diff, "
        "fred_change:T10Y2Y:2026-01:2026-06 is in pp (+ and - need the same unit)"
    )


def test_a_mismatch_with_a_fact_is_refused_once_the_facts_are_read(tmp_path, capsys, no_mirror):
    line = _refused(tmp_path, capsys, COMPARE.format(left=f"fact:article_r2k_pb + {EEM}"))
    assert line.startswith(
        "rotation: error: FILE: claim X1, field 'left': unit mismatch in 'fact:article_r2k_pb + "
    )
    assert "fact:article_r2k_pb is in x" in line


@pytest.mark.parametrize(
    "left,message",
    [
        (f"{EEM} - return:SPY:2026-02-30", "'2026-02-30' is not a date in the calendar"),
        (f"{EEM} - pe_forward:S&P 700", "'pe_forward:S&P 700': index 'S&P 700' is not one of"),
        (f"{EEM} -{SPY}", "expected return:<TICKER>"),  # "-" without its spaces is text
        (f"({EEM} - {SPY}", "a '(' is not closed"),
        ("1 + 2", "an expression needs at least one metric"),
        (" + ".join([EEM] * 12), "longer than 400 characters"),
        (" + ".join(["fred:DFF"] * 21), "more than 20 operands"),
        ("(" * 9 + EEM + ")" * 9 + " - 0", "parentheses nested more than 8 deep"),
    ],
)
def test_bad_expressions_are_refused_naming_claim_and_field(
    tmp_path, capsys, no_mirror, left, message
):
    line = _refused(tmp_path, capsys, COMPARE.format(left=left))
    assert line.startswith("rotation: error: FILE: claim X1, field 'left': ") and message in line


def test_an_extreme_needs_one_metric_not_an_expression(tmp_path, capsys, no_mirror):
    body = """
[[claims]]
id = "X2"
text = "t"
kind = "extreme"
metric = "pb_small_big - 0.1"
direction = "low"
since = "2000-01"
"""
    line = _refused(tmp_path, capsys, body)
    assert line == (
        "rotation: error: FILE: claim X2, field 'metric': an extreme needs one metric with a "
        "history, not an expression"
    )


def test_every_metric_field_accepts_an_expression(tmp_path, no_mirror):
    body = f"""
[[claims]]
id = "V1"
text = "t"
kind = "value"
metric = "pe_forward:S&P 600 / pe_forward:S&P 500"
stated = "pe_forward:S&P 400 / pe_forward:S&P 500"

[[claims]]
id = "D1"
text = "t"
kind = "discount"
small = "(pe_forward:S&P 600 + pe_forward:S&P 400) / 2"
large = "pe_forward:S&P 500"
stated = 0.25

[[claims]]
id = "C1"
text = "t"
kind = "compare"
left = "{EEM}  -  {SPY}"
op = "<"
right = "0 * {SPY}"
"""
    cf = load_claims(_file(tmp_path, body))
    f = {c.id: c.main.fields for c in cf.claims}
    assert f["V1"]["metric"] == "pe_forward:S&P 600 / pe_forward:S&P 500"
    assert f["D1"]["small"] == "(pe_forward:S&P 600 + pe_forward:S&P 400) / 2"
    assert f["C1"]["left"] == f"{EEM} - {SPY}"  # printed as the parser reads it


# --- end to end on the mirror -----------------------------------------------------------------


def _alphavantage(mirror: Path, ticker: str) -> dict[str, float]:
    """date -> close of an Alpha Vantage file (newest first, unadjusted): EEM is only there, and
    SPY's 2026-03-31 .. 2026-07-31 closes come from it (Yahoo's copy ends 2026-03-27)."""
    with open(mirror / "prices" / "alphavantage_2026" / f"{ticker}.csv", newline="") as f:
        return {r["timestamp"]: float(r["close"]) for r in csv.DictReader(f)}


MARGIN = f"""
[[claims]]
id = "E1"
text = "EEM beat SPY by more than 5 points from the end of March to the end of July 2026"
kind = "compare"
label = "price returns, 2026-03-31 to 2026-07-31"
left = "{EEM} - {SPY}"
op = ">"
right = 0.05

[[claims]]
id = "E2"
text = "ZZZ beat SPY"
kind = "compare"
left = "return:ZZZ:2026-03-31:2026-07-31 - {SPY}"
op = ">"
right = 0
"""


def test_a_margin_claim_is_decided_on_the_return_difference_by_hand(tmp_path, use_mirror):
    eem, spy = _alphavantage(use_mirror, "EEM"), _alphavantage(use_mirror, "SPY")
    r_eem = eem["2026-07-31"] / eem["2026-03-31"] - 1
    r_spy = spy["2026-07-31"] / spy["2026-03-31"] - 1
    assert (eem["2026-03-31"], eem["2026-07-31"]) == (56.79, 64.09)
    assert (spy["2026-03-31"], spy["2026-07-31"]) == (650.34, 747.03)
    _, results = check_file(_file(tmp_path, MARGIN), "2026-08")
    e1, e2 = results
    diff = e1.robustness[0].outcome.numbers[0]
    # closes kept to 4 decimals: each return moves by at most ~1e-6
    assert diff.value == pytest.approx(r_eem - r_spy, abs=4e-6)
    assert diff.value == pytest.approx(-0.0201, abs=1e-4) and diff.unit == "ratio_diff"
    assert str(diff.window) == "2026-03-31 to 2026-07-31"
    assert e1.verdict == "contradicted"
    basis = "price return, Alpha Vantage unadjusted closes, 2026-03-31 to 2026-07-31"
    assert e1.evidence == (
        f"EEM price return 12.9% ({basis}) - SPY price return 14.9% ({basis}) = -2.0 pp vs "
        "+5.0 pp: lower, not higher as claimed."
    )
    assert e1.why.startswith(
        "Contradicted on its one definition and 3 conventions: EEM price return 12.9% - SPY "
        "price return 14.9% = -2.0 pp vs +5.0 pp: lower, not higher."
    )
    md = claim_markdown(e1)
    assert "EEM price return 12.9%" in md and "= -2.0 pp vs \\+5.0 pp" in md
    assert any("Daily closes of EEM" in s for s in e1.sources)
    # an operand no provider has: the claim is not checkable with that operand's reason
    assert e2.verdict == "not checkable"
    assert e2.evidence == (
        "ZZZ return - SPY price return: no prices for ZZZ: no provider has prices for 'ZZZ'."
    )


# --- kinds on curated facts (no data files) ---------------------------------------------------


def _facts() -> pd.DataFrame:
    rows = {"a": (10.0, "x"), "b": (20.0, "x"), "g": (0.2, "ratio")}
    return pd.DataFrame(
        [
            {
                "id": k,
                "kind": "published_figure",
                "value": v,
                "unit": u,
                "qualifier": "",
                "subject": k.upper(),
                "metric": "forward_pe" if u == "x" else "",
                "definition": "growth",
                "as_of": "2024-12-31",
                "publisher": "Pub",
                "title": "Title",
                "url": "https://example.org",
            }  # fmt: skip
            for k, (v, u) in rows.items()
        ]
    ).set_index("id")


def test_value_and_discount_kinds_show_each_operand_then_the_result():
    ctx = Context("2025-02", _facts())
    out = KINDS["value"].run(
        {"metric": "(fact:a + fact:b) / 2", "stated": 16.0, "tolerance": 0.05}, ctx
    )
    # (10 + 20) / 2 = 15, 6.25% below 16
    assert out.verdict == "contradicted" and out.numbers[0].value == 15.0
    assert out.evidence == (
        "(A forward P/E 10.00x (growth, as of 2024-12-31) + B forward P/E 20.00x (growth, as of "
        "2024-12-31)) / 2 = 15.00x vs the stated 16.00x: 6.2% lower, outside the ±5% tolerance"
    )
    assert out.summary.startswith("(A forward P/E 10.00x + B forward P/E 20.00x) / 2 = 15.00x")
    out = KINDS["discount"].run(
        {"small": "fact:a", "large": "fact:b * 1.25", "stated": 0.6, "tolerance": 0.02}, ctx
    )
    # 1 - 10 / 25 = 0.6
    assert out.verdict == "supported" and out.numbers[2].value == pytest.approx(0.6)
    assert out.evidence.startswith("A forward P/E 10.00x (growth, as of 2024-12-31) vs B forward "
                                   "P/E 20.00x (growth, as of 2024-12-31) * 1.25 = 25.00x: a 60.0% discount")  # fmt: skip


def test_the_module_examples_run():
    result = doctest.testmod(expressions)
    assert result.attempted >= 5 and result.failed == 0
