"""French data library parser: real files (values read by hand) and one synthetic text per trap."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from rotation_utils.errors import DataError
from rotation_utils.sources.french import FILES, parse_french, read_french

from .conftest import raw

SYNTH = (
    "This file was created by CMPT_ME_RETS using the 202408 CRSP database.\r\n"
    "Missing data are indicated by -99.99 or -999.\r\n"
    "\r\n"
    "  Value Weight Returns -- Monthly\r\n"
    ",Lo 30,Hi 30 ,\r\n"
    "202401,   1.50,  -99.99,\r\n"
    "202402,  -2.25,    3.00,\r\n"
    "\r\n"
    "  For portfolios formed in June of year t\r\n"
    "  Value Weight Average of BE/ME Calculated as:\r\n"
    ",Lo 30,Hi 30\r\n"
    "202401,   0.1000,  -999\r\n"
    "\r\n"
    "  Sum of E      / Sum of ME\r\n"
    ",Lo 30,Hi 30\r\n"
    "  2023,   0.050,   0.080\r\n"
    "\r\n"
    "Copyright 2024 Eugene F. Fama and Kenneth R. French\r\n"
)


def test_synthetic_structure_titles_missing_values_and_periods():
    t = parse_french(SYNTH.encode(), "synth.CSV")
    assert list(t) == [
        "Value Weight Returns -- Monthly",
        "For portfolios formed in June of year t / Value Weight Average of BE/ME Calculated as:",
        "Sum of E / Sum of ME",
    ]
    m = t["Value Weight Returns -- Monthly"]
    assert list(m.columns) == ["Lo 30", "Hi 30"]  # names stripped, trailing empty column dropped
    assert m.index.freqstr.startswith("M") and str(m.index[0]) == "2024-01"
    assert m.loc["2024-01", "Lo 30"] == 1.5 and math.isnan(m.loc["2024-01", "Hi 30"])
    assert math.isnan(t[list(t)[1]].iloc[0, 1])  # -999 is missing too
    a = t["Sum of E / Sum of ME"]
    assert str(a.index[0]) == "2023" and a.iloc[0, 1] == 0.08
    assert m.attrs["vintage"] == "CRSP 202408"


def test_table_without_title_is_named_from_its_rows():
    text = "created using the 202408 CRSP database.\n\n,Mkt-RF,SMB\n192607,2.96,-2.56\n\n Annual Factors: January-December \n,Mkt-RF,SMB\n  1927,29.47,-2.04\n"
    t = parse_french(text.encode())
    assert list(t) == ["Monthly", "Annual Factors: January-December"]
    assert t["Monthly"].loc["1926-07", "SMB"] == -2.56


def test_latin1_bytes_and_lf_endings_parse():
    text = "Caf\xe9 preamble 202211 CRSP\n\n  Title\n,A\n202201,1.0\n".encode("latin-1")
    assert parse_french(text)["Title"].iloc[0, 0] == 1.0


@pytest.mark.parametrize(
    ("text", "row", "needle"),
    [
        ("v\n\n  T\n,A,B\n202401,1.0,x\n", 5, "column 'B': 'x' is not a number"),
        ("v\n\n  T\n,A,B\n202401,1.0\n", 5, "1 values for 2 columns"),
        ("v\n\n  T\n,A\n202401,1.0\n202401,2.0\n", 6, "duplicated"),
        ("v\n\n  T\n,A\n202402,1.0\n202401,2.0\n", 6, "out of order"),
        ("v\n\n  T\n,A\n202413,1.0\n", 5, "not a YYYYMM month"),
        ("v\n\n  T\n,A\n", 4, "not followed by data rows"),
    ],
)
def test_bad_rows_name_file_and_line(text, row, needle):
    with pytest.raises(DataError) as e:
        parse_french(text.encode(), "bad.CSV")
    assert f"bad.CSV, row {row}" in str(e.value) and needle in str(e.value)


def test_html_error_page_and_empty_file_are_rejected():
    with pytest.raises(DataError, match="HTML"):
        parse_french(b"<!DOCTYPE html><html><body>404</body></html>", "x.CSV")
    with pytest.raises(DataError, match="empty"):
        parse_french(b"   \n", "x.CSV")
    with pytest.raises(DataError, match="no table found"):
        parse_french(b"just a preamble\nno tables\n", "x.CSV")


@pytest.mark.parametrize("name", FILES)
def test_every_mirrored_file_parses(mirror, name):
    t = parse_french(raw(mirror, f"french/{name}.CSV"), name)
    assert len(t) >= 2
    for df in t.values():
        assert not (df == -99.99).any().any() and not (df == -999).any().any()


def test_portfolios_formed_on_me_values_read_by_hand(mirror):
    t = parse_french(raw(mirror, "french/Portfolios_Formed_on_ME.CSV"))
    vw = t["Value Weight Returns -- Monthly"]
    assert math.isnan(vw.loc["1926-07", "<= 0"])  # -99.99 in the file
    assert vw.loc["1926-07", ["Lo 30", "Med 40", "Hi 30"]].tolist() == [0.14, 1.54, 3.42]
    assert vw.loc["2022-11", ["Lo 30", "Med 40", "Hi 30"]].tolist() == [-0.76, 4.21, 5.23]
    assert set(t) >= {"Number of Firms in Portfolios", "Average Firm Size"}
    assert vw.attrs["vintage"] == "CRSP 202211"


def test_be_me_and_e_p_sum_tables(mirror):
    be = parse_french(raw(mirror, "french/Portfolios_Formed_on_BE-ME.CSV"))
    s = be["Sum of BE / Sum of ME"]
    assert s.loc["1926", ["<= 0", "Lo 30", "Med 40"]].tolist() == [-0.740, 0.462, 1.009]
    assert be["Value Weight Returns -- Monthly"].loc["1926-07", "<= 0"] == 12.07
    ep = parse_french(raw(mirror, "french/Portfolios_Formed_on_E-P.CSV"))
    e = ep[
        "Sum of E / Sum of ME"
    ]  # the file pads the title with spaces: "Sum of E      / Sum of ME"
    assert e.loc["1951", ["<= 0", "Lo 30"]].tolist() == [-0.588, 0.084]
    assert ep["Value Weight Average of E / ME"].loc["2022", "Hi 30"] == 0.121


def test_25_portfolios_sections_and_factors(mirror):
    t = parse_french(raw(mirror, "french/25_Portfolios_5x5.CSV"))
    assert t["Number of Firms in Portfolios"].loc["1926-12", "SMALL LoBM"] == 7
    assert t["Average Market Cap"].loc["1927-01", "SMALL LoBM"] == 2.93
    op = next(k for k in t if "Value Weight Average of OP" in k)
    assert str(t[op].index[0]) == "1963-07"
    f = parse_french(raw(mirror, "french/F-F_Research_Data_Factors.CSV"))
    assert f["Monthly"].loc["2024-08"].tolist() == [1.61, -3.55, -1.12, 0.48]
    assert f["Annual Factors: January-December"].loc["2023", "SMB"] == -3.29


def test_industry_file_vintage_and_annual_be_me(mirror):
    t = parse_french(raw(mirror, "french/12_Industry_Portfolios.CSV"))
    assert t["Sum of BE / Sum of ME"].loc["2024", "NoDur"] == 0.30
    assert "Hlth" in t["Sum of BE / Sum of ME"].columns  # "Hlth " stripped
    assert t["Sum of BE / Sum of ME"].attrs["vintage"] == "CRSP 202412"


def test_read_french_through_mirror_carries_provenance(use_mirror):
    t = read_french("F-F_Research_Data_Factors")
    p = t["Monthly"].attrs["provenance"]
    assert p["vintage"] == "CRSP 202408" and p["read_from"] == "mirror"
    assert p["coverage"] == "1926-07 .. 2024-08" and len(p["sha256"]) == 64
    assert p["url"].endswith("F-F_Research_Data_Factors_CSV.zip")
    assert isinstance(t["Monthly"].index, pd.PeriodIndex)
