"""`rotation data show/list/build`: values read by hand from every mirrored file, exit codes."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import pytest

from rotation_utils.cli import main


def show(capsys, *args: str) -> list[dict]:
    assert main(["data", "show", *args]) == 0
    return list(csv.DictReader(io.StringIO(capsys.readouterr().out)))


def row(rows: list[dict], period: str) -> dict:
    return next(r for r in rows if (r.get("period") or r.get("date")) == period)


@pytest.mark.usefixtures("use_mirror")
class TestShowEveryMirroredFile:
    def test_french_size_deciles(self, capsys):
        rows = show(capsys, "french/Portfolios_Formed_on_ME")
        r = row(rows, "1926-07")
        assert r["<= 0"] == "" and r["Lo 30"] == "0.14" and r["Hi 30"] == "3.42"
        assert list(rows[0])[0] == "period"

    def test_french_be_me_sum_table(self, capsys):
        r = row(show(capsys, "french/Portfolios_Formed_on_BE-ME", "--table", "sum of be"), "1926")
        assert r["Lo 30"] == "0.462" and r["<= 0"] == "-0.74"

    def test_french_e_p_sum_table(self, capsys):
        r = row(show(capsys, "french/Portfolios_Formed_on_E-P", "--table", "SUM OF E"), "1951")
        assert r["<= 0"] == "-0.588" and r["Lo 30"] == "0.084"

    def test_french_25_portfolios(self, capsys):
        r = row(show(capsys, "french/25_Portfolios_5x5", "--table", "Number of Firms"), "1926-12")
        assert r["SMALL LoBM"] == "7.0"

    def test_french_factors_and_industries(self, capsys):
        assert row(show(capsys, "french/F-F_Research_Data_Factors"), "2024-08")["SMB"] == "-3.55"
        r = row(show(capsys, "french/12_Industry_Portfolios", "--table", "sum of be"), "2024")
        assert r["NoDur"] == "0.3" and r["Hlth"] == "0.19"

    def test_shiller_october_2025(self, capsys):
        r = row(show(capsys, "shiller/ie_data"), "2025-10")
        assert float(r["price"]) == pytest.approx(6735.691739) and r["earnings"] == ""
        r = row(show(capsys, "shiller/datahub_sp500_data"), "2025-12")
        assert r["price"] == "6853.03" and r["earnings"] == ""

    def test_spdji(self, capsys):
        rows = show(capsys, "spdji/sp-500-eps-est", "--table", "index_pe")
        r = next(x for x in rows if x["index"] == "S&P 600" and x["sector"] == "All")
        assert r["pe"] == "22.0"

    @pytest.mark.parametrize(
        ("series", "period", "value"),
        [
            ("DGS10", "2026-01", "4.21"),
            ("DFF", "2006-01", "4.29"),
            ("CPILFESL", "2026-01", "332.793"),
            ("CPIAUCSL", "2024-03", "312.23"),
            ("T10Y2Y", "2026-06-24", "0.3"),
        ],
    )
    def test_fred(self, capsys, series, period, value):
        assert row(show(capsys, f"fred/{series}"), period)[series] == value

    def test_prices_newest_first_alphavantage_only_ticker(self, capsys):
        rows = show(capsys, "prices/DIA")
        assert rows[0]["date"] == "2026-03-31" and rows[-1]["date"] == "2026-08-21"
        assert rows[-1]["provider"] == "alphavantage_2026"

    def test_prices_spliced(self, capsys):
        rows = show(capsys, "prices/IWM")
        assert row(rows, "2026-03-27")["close"].startswith("243.100006")
        assert row(rows, "2000-05-26")["provider"] == "yahoo_2000_2026"

    def test_json_format_carries_provenance(self, capsys):
        assert main(["data", "show", "fred/DGS10", "--format", "json"]) == 0
        out = json.loads(capsys.readouterr().out)
        assert out["provenance"]["vintage"] == "through 2026-01"
        assert out["rows"][-1] == {"period": "2026-01", "DGS10": 4.21}

    def test_list(self, capsys):
        assert main(["data", "list"]) == 0
        out = capsys.readouterr().out
        assert "french/25_Portfolios_5x5" in out and "CRSP 202408" in out
        assert "as of 2026-01-30" in out
        dia = next(line for line in out.splitlines() if line.startswith("prices/DIA "))
        assert (
            "through 2026-08-21" in dia
            and "mirror" in dia
            and dia.endswith("alphavantage_2026/DIA.csv")
        )


def test_usage_errors_exit_2_with_one_line(capsys, use_mirror):
    assert main(["data", "show", "nope/x"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown dataset 'nope/x'" in err[0]
    assert main(["data", "show", "french/F-F_Research_Data_Factors", "--table", "weekly"]) == 2
    assert (
        "no table of french/F-F_Research_Data_Factors matches 'weekly'" in capsys.readouterr().err
    )


def test_every_command_has_help():
    for args in (
        ["--help"],
        ["data", "--help"],
        ["data", "show", "--help"],
        ["data", "list", "--help"],
        ["data", "build", "--help"],
        ["report", "--help"],
    ):
        r = subprocess.run(
            [sys.executable, "-m", "rotation_utils.cli", *args], capture_output=True, text=True
        )
        assert r.returncode == 0 and "usage: rotation" in r.stdout


def test_import_is_light():
    code = (
        "import sys, time; t = time.perf_counter(); import rotation_utils; dt = time.perf_counter() - t; "
        "heavy = [m for m in ('pandas', 'matplotlib', 'seaborn', 'ipywidgets', 'papermill') if m in sys.modules]; "
        "print(heavy)"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == "[]"


def test_list_offline_reads_nothing_and_says_where_it_would(no_mirror, capsys, monkeypatch):
    import socket

    def refuse(*a, **k):
        raise AssertionError("data list must not touch the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    assert main(["data", "list"]) == 0
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.startswith("fred/DGS10 "))
    assert line.split()[1:4] == ["-", "-", "url"] and line.endswith("fredgraph.csv?id=DGS10")
    assert "etf_close" in out and "through 2026-08-21" in out  # the embedded tables
