"""Hostile claims files: a claims file is untrusted input (a colleague's, a pull request's).

Each rule of the validation gets a file that breaks it, and each gets the same answer: exit 2, one
line on stderr naming the file, the claim and the field, nothing on stdout, never a traceback.
"""

from __future__ import annotations

import pytest

from rotation_utils.claims import load_claims
from rotation_utils.cli import main
from tests.claims_files import ARTICLE

HEAD = ARTICLE

A1 = """
[[claims]]
id = "A1"
text = "Mid caps trade at about 17 times next year's earnings"
kind = "value"
metric = "pe_forward:S&P 400"
stated = 17.0
"""

A2 = """
[[claims]]
id = "A2"
text = "Large caps beat small caps in 2025"
kind = "outperform"
winners = ["SPY"]
losers = ["IWM"]
start = 2024-12-31
end = 2025-12-31
"""

GOOD = HEAD + A1 + A2


def _refused(
    tmp_path, capsys, body: str | bytes, *, month: str = "2026-01", names_file: bool = True
) -> str:
    """Run ``rotation claims check`` on ``body``; assert the refusal's shape; return its line."""
    p = tmp_path / "hostile.toml"
    p.write_bytes(body if isinstance(body, bytes) else body.encode("utf-8"))
    assert main(["claims", "check", str(p), "--month", month]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert (str(p) in lines[0]) is names_file and "Traceback" not in err
    return lines[0]


def test_the_good_file_passes(tmp_path, capsys, no_mirror):
    p = tmp_path / "good.toml"
    p.write_text(GOOD)
    assert main(["claims", "check", str(p), "--month", "2026-01"]) == 0
    assert "A1  SUPPORTED" in capsys.readouterr().out


# --- ids -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "second",
    [
        "A1",
        "  A1  ",  # stripped
        "A1\t",
        # NFC: "C" + combining acute (U+0301) is the same id as the precomposed "Ć" (U+0106)
    ],
)
def test_duplicate_ids_after_strip_are_refused(tmp_path, capsys, no_mirror, second):
    body = HEAD + A1 + A2.replace('id = "A2"', f'id = "{second}"')
    line = _refused(tmp_path, capsys, body)
    assert "claim A1, field 'id': duplicate id (also claim #1)" in line


def test_duplicate_ids_after_nfc_normalisation_are_refused(tmp_path, capsys, no_mirror):
    body = (
        HEAD + A1.replace('id = "A1"', 'id = "\u0106"') + A2.replace('id = "A2"', 'id = "C\u0301"')
    )
    line = _refused(tmp_path, capsys, body)
    assert "claim \u0106, field 'id': duplicate id (also claim #1)" in line


def test_ids_are_compared_case_sensitively(tmp_path, no_mirror):
    p = tmp_path / "case.toml"
    p.write_text(HEAD + A1 + A2.replace('id = "A2"', 'id = "a1"'))
    assert [c.id for c in load_claims(p).claims] == ["A1", "a1"]


def test_an_id_that_is_not_an_id(tmp_path, capsys, no_mirror):
    line = _refused(tmp_path, capsys, HEAD + A1.replace('id = "A1"', 'id = "A 1; <b>"'))
    assert "claim #1, field 'id'" in line and "is not an id" in line


def test_duplicate_row_labels_are_refused(tmp_path, capsys, no_mirror):
    body = GOOD + '[[claims.context]]\nlabel = "x"\nlosers = ["QQQ"]\n' * 2
    line = _refused(tmp_path, capsys, body)
    assert "claim A2 context #2, field 'label': duplicate label 'x'" in line


# --- numbers ---------------------------------------------------------------------------------


@pytest.mark.parametrize("number", ["inf", "-inf", "nan", "+nan", "1e400"])
def test_numbers_must_be_finite(tmp_path, capsys, no_mirror, number):
    line = _refused(tmp_path, capsys, GOOD.replace("stated = 17.0", f"stated = {number}"))
    assert "claim A1, field 'stated'" in line and "is not a finite number" in line


def test_a_huge_whole_number_is_refused(tmp_path, capsys, no_mirror):
    body = GOOD + '\n[[claims]]\nid = "A3"\ntext = "t"\nkind = "extreme"\nmetric = "pb_small_big"\n'
    body += f'direction = "low"\nsince = "2000-03"\nwindow = {"9" * 50}\n'
    line = _refused(tmp_path, capsys, body)
    assert "claim A3, field 'window'" in line and "a number of 50 digits is too large" in line
    # 5000 digits: Python 3.11's TOML reader itself refuses to convert it (a ValueError): said
    # as bad TOML, in one line, never a traceback
    line = _refused(tmp_path, capsys, body.replace("9" * 50, "9" * 5000))
    assert "not valid TOML" in line and "digits" in line and "9999" not in line


def test_a_window_longer_than_a_century(tmp_path, capsys, no_mirror):
    body = GOOD + '\n[[claims]]\nid = "A3"\ntext = "t"\nkind = "extreme"\nmetric = "pb_small_big"\n'
    body += 'direction = "low"\nsince = "2000-03"\nwindow = 5000\n'
    assert "claim A3, field 'window'" in _refused(tmp_path, capsys, body)


# --- tolerances ------------------------------------------------------------------------------


@pytest.mark.parametrize("tol", ["0", "-0.05", "1", "1.5", "100"])
def test_relative_tolerances_are_above_0_and_below_1(tmp_path, capsys, no_mirror, tol):
    line = _refused(
        tmp_path, capsys, GOOD.replace("stated = 17.0", f"stated = 17.0\ntolerance = {tol}")
    )
    assert "claim A1, field 'tolerance'" in line and "must be > 0 and < 1" in line


def test_a_discount_tolerance_of_a_whole_unit(tmp_path, capsys, no_mirror):
    body = HEAD + (
        '[[claims]]\nid = "D"\ntext = "t"\nkind = "discount"\nsmall = "pe_forward:S&P 600"\n'
        'large = "pe_forward:S&P 500"\nstated = 0.2\ntolerance = 1.0\n'
    )
    assert "claim D, field 'tolerance'" in _refused(tmp_path, capsys, body)


def test_a_discount_beyond_100_percent(tmp_path, capsys, no_mirror):
    body = HEAD + (
        '[[claims]]\nid = "D"\ntext = "t"\nkind = "discount"\nsmall = "pe_forward:S&P 600"\n'
        'large = "pe_forward:S&P 500"\nstated = 20\n'
    )
    assert "claim D, field 'stated': 20: a discount is a decimal" in _refused(
        tmp_path, capsys, body
    )


def test_a_tolerance_that_covers_the_metrics_whole_history_is_refused(tmp_path, capsys, no_mirror):
    """Small/big P/B in data/ runs 0.060x .. 1.232x (1926-07 .. 2024-08); ±95% around 0.65x is
    0.0325x .. 1.2675x: no value could contradict the claim."""
    body = HEAD + (
        '[[claims]]\nid = "U"\ntext = "t"\nkind = "value"\nmetric = "pb_small_big"\n'
        "stated = 0.65\ntolerance = 0.95\n"
    )
    line = _refused(tmp_path, capsys, body)
    assert "claim U, field 'tolerance'" in line
    assert "covers the metric's whole history (0.060x .. 1.23x, 1926-07 .. 2024-08)" in line
    assert "could not be contradicted" in line
    # a band that leaves the 1.23x top of the history out (0.6 x 1.95 = 1.17) is falsifiable
    p = tmp_path / "ok.toml"
    p.write_text(body.replace("stated = 0.65", "stated = 0.6"))
    assert main(["claims", "check", str(p), "--month", "2026-01"]) == 0


def test_an_unfalsifiable_context_row_is_refused_too(tmp_path, capsys, no_mirror):
    body = HEAD + (
        '[[claims]]\nid = "U"\ntext = "t"\nkind = "value"\nmetric = "pb_small_big"\nstated = 0.3\n'
        '[[claims.context]]\nlabel = "wide"\nstated = 0.65\ntolerance = 0.95\n'
    )
    assert "claim U context #1, field 'tolerance'" in _refused(tmp_path, capsys, body)


# --- dates and months ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("start = 2024-12-31", 'start = "2025-02-30"', "start"),
        ("start = 2024-12-31", 'start = "2025-13-01"', "start"),
        ("start = 2024-12-31", "start = 1800-01-02", "start"),
        ("end = 2025-12-31", "end = 9999-12-31", "end"),
        ("start = 2024-12-31", "start = 2024-12-31T10:00:00", "start"),
    ],
)
def test_dates_must_exist(tmp_path, capsys, no_mirror, old, new, field):
    assert f"claim A2, field '{field}'" in _refused(tmp_path, capsys, GOOD.replace(old, new))


def test_a_native_toml_date_that_does_not_exist(tmp_path, capsys, no_mirror):
    line = _refused(tmp_path, capsys, GOOD.replace("start = 2024-12-31", "start = 2025-02-30"))
    assert "file: not valid TOML (Invalid date or datetime" in line


@pytest.mark.parametrize(
    "metric",
    [
        "return:XLF:2025-02-30",
        "return:XLF:2025-09-30:2025-11-31",
        "pe_forward:S&P 400@2025-02-29",
        "pe_forward:S&P 400@0001-01-01",
        "fred:T10Y2Y:2025-13",
        "fred_change:T10Y2Y:2025-00:2025-12",
    ],
)
def test_dates_inside_metric_names_must_exist(tmp_path, capsys, no_mirror, metric):
    body = GOOD.replace('metric = "pe_forward:S&P 400"', f'metric = "{metric}"')
    assert "claim A1, field 'metric'" in _refused(tmp_path, capsys, body)


@pytest.mark.parametrize("since", ["2025-13", "2025-00", "25-01", "1850-01"])
def test_months_in_a_file_must_be_months(tmp_path, capsys, no_mirror, since):
    body = HEAD + (
        '[[claims]]\nid = "E"\ntext = "t"\nkind = "extreme"\nmetric = "pb_small_big"\n'
        f'direction = "low"\nsince = "{since}"\n'
    )
    assert "claim E, field 'since'" in _refused(tmp_path, capsys, body)


@pytest.mark.parametrize("month", ["2099-01", "1800-01", "2026-13", "2026-1", "latest; rm"])
def test_the_report_month_is_refused_as_report_refuses_it(tmp_path, capsys, no_mirror, month):
    line = _refused(tmp_path, capsys, GOOD, month=month, names_file=False)
    assert "parameter 'month'" in line
    assert main(["report", "--month", month, "--out", str(tmp_path / "site")]) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].endswith(line.split(": ", 2)[-1])


# --- control characters ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "where", "field"),
    [
        ('text = "Large', 'text = "\\u001b[31mLarge', "claim A2", "text"),  # an ANSI escape
        ('text = "Large', 'text = "\\u0000Large', "claim A2", "text"),  # NUL
        ('text = "Large', 'text = "Large\\rcaps', "claim A2", "text"),  # carriage return
        ('text = "Large', 'text = "\\u202eLarge', "claim A2", "text"),  # a bidi override
        ("end = 2025-12-31", 'end = 2025-12-31\nnote = "ok\\u0007"', "claim A2", "note"),
        ('title = "T"', 'title = "T\\u001b]0;owned\\u0007"', "[article]", "title"),
        ('winners = ["SPY"]', 'winners = ["SPY\\u0000"]', "claim A2", "winners"),
    ],
)
def test_control_characters_are_refused_in_any_text(
    tmp_path, capsys, no_mirror, old, new, where, field
):
    assert old in GOOD
    line = _refused(tmp_path, capsys, GOOD.replace(old, new, 1))
    assert f"{where}, field '{field}'" in line and "control character U+" in line
    assert "\x1b" not in line and "\x00" not in line  # the refusal itself is clean


def test_control_characters_in_a_key_are_refused(tmp_path, capsys, no_mirror):
    line = _refused(tmp_path, capsys, GOOD + '"x\\u001b[2J" = 1\n')
    assert "claim A2" in line and "a key holds the control character U+001B" in line
    assert "\x1b" not in line


def test_text_is_nfc_normalised_and_stripped(tmp_path, no_mirror):
    p = tmp_path / "nfc.toml"
    p.write_text(GOOD.replace('text = "Large caps', 'text = "  Cafe\u0301: large caps'))
    assert load_claims(p).claims[1].text.startswith("Caf\u00e9: large caps")


# --- size and nesting ------------------------------------------------------------------------


def test_deeply_nested_arrays_are_refused(tmp_path, capsys, no_mirror):
    line = _refused(tmp_path, capsys, GOOD + "x = " + "[" * 100_000 + "]" * 100_000 + "\n")
    assert "nested too deeply" in line


def test_nesting_within_a_claim_is_refused(tmp_path, capsys, no_mirror):
    line = _refused(tmp_path, capsys, GOOD + "x = " + "[" * 12 + "1" + "]" * 12 + "\n")
    assert "claim A2, field 'x'" in line and "nested too deeply" in line


def test_nested_inline_tables_are_refused(tmp_path, capsys, no_mirror):
    line = _refused(tmp_path, capsys, GOOD + "x = " + "{a = " * 12 + "1" + "}" * 12 + "\n")
    assert "nested too deeply" in line


def test_a_huge_file_is_refused(tmp_path, capsys, no_mirror):
    body = GOOD + "# " + "x" * (600 * 1024) + "\n"
    assert "is larger than 512 KiB" in _refused(tmp_path, capsys, body)


def test_too_many_claims(tmp_path, capsys, no_mirror):
    body = HEAD + "".join(A1.replace('id = "A1"', f'id = "A{i}"') for i in range(201))
    assert "more than 200 claims" in _refused(tmp_path, capsys, body)


def test_too_long_a_text(tmp_path, capsys, no_mirror):
    body = GOOD.replace('text = "Large caps', f'text = "{"x" * 5000}')
    assert "claim A2, field 'text': longer than 4000 characters" in _refused(tmp_path, capsys, body)


# --- other fields ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "field", "said"),
    [
        ("end = 2025-12-31", 'end = 2025-12-31\nproxy = "yes"', "proxy", "must be true or false"),
        ('losers = ["IWM"]', 'losers = ["IWM", "SPY"]', "losers", "both a winner and a loser"),
        ('losers = ["IWM"]', 'losers = ["IWM", "IWM"]', "losers", "names a ticker twice"),
        ('url = "https://example.org"', 'url = "javascript:alert(1)"', "url", "http(s) address"),
        ('kind = "outperform"', "kind = 3", "kind", "unknown kind 3"),
    ],
)
def test_other_bad_fields(tmp_path, capsys, no_mirror, old, new, field, said):
    assert old in GOOD
    line = _refused(tmp_path, capsys, GOOD.replace(old, new, 1))
    assert f"field '{field}'" in line and said in line
