"""Messy inputs through the CLI: each case names the exact error and exit code.

Data errors exit 1, usage errors exit 2, both with one line on stderr naming the file and row or
the parameter; a failed parse writes nothing to the cache, and a failed report writes nothing.
"""

from __future__ import annotations

import pandas as pd
import pytest

from rotation_utils.cli import main

from .conftest import make_xlsx

HEAD = "This file was created by CMPT_ME_RETS using the 202408 CRSP database.\r\n\r\n"
GOOD_FRENCH = (
    HEAD
    + "  Value Weight Returns -- Monthly\r\n,Lo 30,Hi 30\r\n202401,1.0,2.0\r\n202402,3.0,4.0\r\n\r\nCopyright 2024\r\n"
)


SHILLER_HEAD = [[None, "S&P", None], [None, "Comp.", "Dividend"], ["Date", "P", "D"]]

# (case id, mirror file, content, dataset, stderr must contain)
DATA_ERRORS = [
    (
        "french-truncated-mid-row",
        "french/X.CSV",
        HEAD + "  T\r\n,Lo 30,Hi 30\r\n202401,1.0,2.0\r\n202402,3.0",
        "french/X",
        "french/X.CSV, row 6: 1 values for 2 columns",
    ),
    (
        "french-short-rows",
        "french/X.CSV",
        HEAD + "  T\r\n,A,B,C\r\n202401,1.0,2.0\r\n",
        "french/X",
        "french/X.CSV, row 5: 2 values for 3 columns",
    ),
    (
        "french-non-numeric",
        "french/X.CSV",
        HEAD + "  T\r\n,A,B\r\n202401,1.0,n/a\r\n",
        "french/X",
        "french/X.CSV, row 5: column 'B': 'n/a' is not a number",
    ),
    (
        "french-duplicated-period",
        "french/X.CSV",
        HEAD + "  T\r\n,A\r\n202401,1\r\n202401,2\r\n",
        "french/X",
        "french/X.CSV, row 6: period 202401 is duplicated",
    ),
    (
        "french-unsorted-period",
        "french/X.CSV",
        HEAD + "  T\r\n,A\r\n202402,1\r\n202401,2\r\n",
        "french/X",
        "french/X.CSV, row 6: period 202401 is out of order",
    ),
    ("french-empty", "french/X.CSV", "", "french/X", "french/X.CSV: file is empty"),
    (
        "french-html-error-page",
        "french/X.CSV",
        "<!DOCTYPE html>\n<html><title>404 Not Found</title></html>",
        "french/X",
        "X.CSV, row 1: is an HTML/XML page, not the data file (a failed or redirected download?)",
    ),
    ("french-no-table", "french/X.CSV", "preamble only\r\n", "french/X", "X.CSV: no table found"),
    (
        "shiller-missing-sheet",
        "shiller/ie_data.xls",
        make_xlsx({"Sheet1": [[1]]}),
        "shiller/ie_data",
        "ie_data.xls: no sheet 'Data' (sheets: Sheet1)",
    ),
    (
        "shiller-note-row-moved",
        "shiller/ie_data.xls",
        make_xlsx(
            {
                "Data": SHILLER_HEAD
                + [[2025.09, 1.0, 2.0], ["Oct CPI estimated", None, None], [2025.1, 1.0, 2.0]]
            }
        ),
        "shiller/ie_data",
        "ie_data.xls, row 5: sheet 'Data': non-date row 'Oct CPI estimated' inside the data",
    ),
    (
        "spdji-label-missing",
        "spglobal/sp-500-eps-est.xlsx",
        make_xlsx(
            {
                "ESTIMATES&PEs": [["Date", pd.Timestamp("2026-01-30")]],
                "SECTOR EPS": [["INDEX NAME"]],
            }
        ),
        "spdji/sp-500-eps-est",
        "sheet 'ESTIMATES&PEs': label matching '^PROJ ANNUAL$' not found",
    ),
    (
        "fred-text-value",
        "fred/DFF.csv",
        "observation_date,DFF\n2026-01-01,4.3\n2026-02-01,n.a.\n",
        "fred/DFF",
        "DFF.csv, row 3: column 'DFF': 'n.a.' is not a number",
    ),
    (
        "fred-bad-header",
        "fred/DFF.csv",
        "when,DFF\n2026-01-01,4.3\n",
        "fred/DFF",
        "DFF.csv, row 1: header 'when,DFF' is not 'observation_date,<SERIES>' or 'DATE,<SERIES>'",
    ),
    (
        "prices-duplicate-date",
        "prices/alphavantage_2026/ZZZ.csv",
        "timestamp,open,high,low,close,volume\n2026-08-21,1,1,1,10,5\n2026-08-21,1,1,1,10,5\n",
        "prices/ZZZ",
        "ZZZ.csv, row 3: date 2026-08-21 appears twice",
    ),
    (
        "prices-zero-close",
        "prices/alphavantage_2026/ZZZ.csv",
        "timestamp,open,high,low,close,volume\n2026-08-21,1,1,1,0,5\n",
        "prices/ZZZ",
        "ZZZ.csv, row 2: close 0.0 is not positive",
    ),
    (
        "prices-negative-close",
        "prices/yahoo_2000_2026/ZZZ.csv",
        "Date,Close,High,Low,Open,Volume\n2026-01-02,-4.5,1,1,1,5\n",
        "prices/ZZZ",
        "ZZZ.csv, row 2: close -4.5 is not positive",
    ),
    (
        "prices-unknown-format",
        "prices/yahoo_2000_2026/ZZZ.csv",
        "Symbol,Last\nZZZ,1\n",
        "prices/ZZZ",
        "ZZZ.csv, row 1: unknown price file header 'Symbol,Last'",
    ),
    (
        "mirror-lacks-file",
        "fred/OTHER.csv",
        "observation_date,OTHER\n2026-01-01,1\n",
        "fred/DGS10",
        "fred/DGS10.csv: not found in the mirror",
    ),
]


@pytest.mark.parametrize(
    ("rel", "content", "dataset", "needle"),
    [c[1:] for c in DATA_ERRORS],
    ids=[c[0] for c in DATA_ERRORS],
)
def test_data_error_exits_1_with_one_line_and_caches_nothing(
    fake_mirror, isolated_cache, capsys, rel, content, dataset, needle
):
    fake_mirror(rel, content)
    assert main(["data", "show", dataset]) == 1
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert out == "" and len(lines) == 1 and lines[0].startswith("rotation: error: ")
    assert needle in lines[0]
    assert (
        not list((isolated_cache / "parsed").glob("*/*"))
        if (isolated_cache / "parsed").exists()
        else True
    )


# (case id, mirror file, content, dataset, check on the CSV output)
ACCEPTED = [
    (
        "french-missing-footer",
        "french/X.CSV",
        GOOD_FRENCH.replace("Copyright 2024\r\n", ""),
        "french/X",
        lambda o: o.splitlines()[-1] == "2024-02,3.0,4.0",
    ),
    (
        "french-missing-values-every-kind",
        "french/X.CSV",
        HEAD
        + "  Value Weight Returns -- Monthly\r\n,A,B\r\n202401,-99.99,1\r\n\r\n  Value Weight Returns -- Annual\r\n,A,B\r\n  2023,-999,1\r\n\r\n"
        "  Number of Firms in Portfolios\r\n,A,B\r\n202401,-99.99,3\r\n\r\n  Average Firm Size\r\n,A,B\r\n202401,-999.00,3\r\n",
        "french/X",
        lambda o: o.splitlines()[1] == "2024-01,,1.0",
    ),
    (
        "french-crlf-latin1",
        "french/X.CSV",
        (HEAD + "  R\xe9sum\xe9 table\r\n,A\r\n202401,1.5\r\n").encode("latin-1"),
        "french/X",
        lambda o: o.splitlines()[1] == "2024-01,1.5",
    ),
    (
        "datahub-zeros-missing",
        "shiller/datahub_sp500_data.csv",
        "Date,SP500,Earnings\n2026-01-01,6929.12,0.0\n",
        "shiller/datahub_sp500_data",
        lambda o: o.splitlines()[1] == "2026-01,6929.12,",
    ),
    (
        "fred-dot-missing",
        "fred/DFF.csv",
        "observation_date,DFF\n2026-01-01,.\n2026-02-01,3.6\n",
        "fred/DFF",
        lambda o: o.splitlines()[1:] == ["2026-01,", "2026-02,3.6"],
    ),
    (
        "prices-newest-first",
        "prices/alphavantage_2026/ZZZ.csv",
        "timestamp,open,high,low,close,volume\n2026-08-21,1,1,1,12,5\n2026-08-20,1,1,1,11,5\n",
        "prices/ZZZ",
        lambda o: (
            o.splitlines()[1:]
            == ["2026-08-20,11.0,alphavantage_2026", "2026-08-21,12.0,alphavantage_2026"]
        ),
    ),
]


@pytest.mark.parametrize(
    ("rel", "content", "dataset", "check"), [c[1:] for c in ACCEPTED], ids=[c[0] for c in ACCEPTED]
)
def test_messy_but_valid_files_are_read_correctly(
    fake_mirror, capsys, rel, content, dataset, check
):
    fake_mirror(rel, content)
    assert main(["data", "show", dataset]) == 0
    assert check(capsys.readouterr().out)


def test_provider_gap_is_bridged_and_stated(fake_mirror, capsys):
    # A one-day gap (2026-03-30) between an adjusted and an unadjusted file: bridged on levels,
    # no provider dropped, and the bridge is in the provenance the CLI prints.
    fake_mirror("prices/yahoo_2000_2026/ZZZ.csv", "Date,Close\n2026-03-26,1.0\n2026-03-27,2.0\n")
    fake_mirror(
        "prices/alphavantage_2026/ZZZ.csv",
        "timestamp,open,high,low,close,volume\n2026-03-31,1,1,1,3,5\n",
    )
    assert main(["data", "show", "prices/ZZZ", "--format", "json"]) == 0
    import json

    out = json.loads(capsys.readouterr().out)
    assert len(out["rows"]) == 3
    segs = out["provenance"]["extra"]["segments"]
    assert [s["provider"] for s in segs] == ["yahoo_2000_2026", "alphavantage_2026"]
    assert segs[1]["join"] == "levels" and segs[1]["missing"] == ["2026-03-30"]


def test_corrupt_cache_entry_is_rebuilt(fake_mirror, isolated_cache, capsys):
    fake_mirror("fred/DFF.csv", "observation_date,DFF\n2026-01-01,4.3\n")
    assert main(["data", "show", "fred/DFF"]) == 0
    (entry,) = (isolated_cache / "parsed").glob("*/*")
    entry.write_bytes(b"PK\x03\x04 a truncated entry")
    capsys.readouterr()
    assert main(["data", "show", "fred/DFF"]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines()[1] == "2026-01,4.3"
    assert err.splitlines() == [
        f"rotation: cache entry {entry} unreadable (BadZipFile); rebuilding"
    ]


USAGE_ERRORS = [
    (
        "unknown-dataset",
        ["data", "show", "bloomberg/SPX"],
        "parameter 'dataset': unknown dataset 'bloomberg/SPX'",
    ),
    (
        "bad-series-id",
        ["data", "show", "fred/dgs10;rm"],
        "parameter 'series': 'dgs10;rm' is not a FRED series id",
    ),
    (
        "table-not-found",
        ["data", "show", "fred/DFF", "--table", "weekly"],
        "parameter 'table': no table of fred/DFF matches 'weekly'",
    ),
    (
        "month-2026-13",
        ["report", "--month", "2026-13"],
        "parameter 'month': '2026-13' is not a month in YYYY-MM form",
    ),
    (
        "month-26-01",
        ["report", "--month", "26-01"],
        "parameter 'month': '26-01' is not a month in YYYY-MM form",
    ),
    (
        "month-in-future",
        ["report", "--month", "2099-01"],
        "parameter 'month': 2099-01 is in the future",
    ),
    (
        "month-before-data",
        ["report", "--month", "1900-01"],
        "parameter 'month': 1900-01 is before any data",
    ),
    (
        "unknown-notebook",
        ["report", "--month", "2026-01", "--notebooks", "01,<script>x</script>"],
        "parameter 'notebooks': unknown notebook '<script>x</script>'",
    ),
    (
        "backfill-reversed",
        ["report", "--from", "2026-01", "--to", "2025-12"],
        "parameter 'to': 2025-12 is before --from 2026-01",
    ),
    (
        "backfill-half",
        ["report", "--from", "2026-01"],
        "parameter 'from': --from and --to go together",
    ),
    (
        "jobs-zero",
        ["report", "--month", "2026-01", "--jobs", "0"],
        "parameter 'jobs': must be at least 1",
    ),
]


@pytest.mark.parametrize(
    ("args", "needle"), [c[1:] for c in USAGE_ERRORS], ids=[c[0] for c in USAGE_ERRORS]
)
def test_usage_error_exits_2_and_writes_nothing(fake_mirror, tmp_path, capsys, args, needle):
    fake_mirror("fred/DFF.csv", "observation_date,DFF\n2026-01-01,4.3\n")
    out = tmp_path / "reports"
    if args[0] == "report":
        args = [*args, "--out", str(out)]
    assert main(args) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0]
    assert not out.exists()


def test_out_pointing_at_a_file_exits_2_and_keeps_it(tmp_path, capsys):
    f = tmp_path / "report.txt"
    f.write_text("keep me")
    assert main(["report", "--month", "2026-01", "--out", str(f)]) == 2
    assert "parameter 'out':" in capsys.readouterr().err and f.read_text() == "keep me"


def test_html_in_figure_text_is_escaped_in_the_index(tmp_path):
    from rotation_utils.report.render import index_view, render_index

    summary = {
        "month": "2026-01",
        "generated_at": "t",
        "data_vintages": {"<img src=x onerror=alert(1)>": "v"},
        "notebooks": [],
        "images": [],
        "figures": {
            "x": {
                "value": "<b>bold</b>",
                "unit": "verdict",
                "as_of": "<i>",
                "source": "<script>s</script>",
                "notebook": "01_x",
            }
        },
    }
    render_index(summary, index_view(summary, None), tmp_path / "index.html")
    html = (tmp_path / "index.html").read_text()
    for raw in ("<script>s</script>", "<b>bold</b>", "<img src=x"):
        assert raw not in html
    assert "&lt;script&gt;s&lt;/script&gt;" in html
