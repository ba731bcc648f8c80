"""Derived tables: build from the mirror, embedded round trip, manifest, facts validation."""

from __future__ import annotations

import gzip
import json

import pandas as pd
import pytest

from rotation_utils.derived import TABLES, build_tables, load_table
from rotation_utils.errors import DataError, ParameterError
from rotation_utils.facts import FACT_COLUMNS, load_facts


@pytest.fixture(scope="module")
def built(tmp_path_factory, mirror):
    import os

    out = tmp_path_factory.mktemp("data")
    old = os.environ.get("ROTATION_MIRROR")
    os.environ["ROTATION_MIRROR"] = str(mirror)
    try:
        man = build_tables(out)
    finally:
        if old is None:
            os.environ.pop("ROTATION_MIRROR")
        else:
            os.environ["ROTATION_MIRROR"] = old
    return out, man


def test_build_writes_every_table_with_input_hashes(built):
    out, man = built
    assert set(man["tables"]) == set(TABLES)
    for name, e in man["tables"].items():
        assert (out / e["file"]).is_file(), name
        p = e["provenance"]
        assert p["vintage"] and p["publisher"] and p["sha256"]
    assert json.loads((out / "manifest.json").read_text()) == man
    assert sum((out / e["file"]).stat().st_size for e in man["tables"].values()) < 5_000_000


def test_build_is_deterministic(built, tmp_path, use_mirror):
    out, man = built
    again = build_tables(tmp_path)
    for name, e in man["tables"].items():
        assert again["tables"][name]["sha256"] == e["sha256"], name
    assert gzip.decompress((tmp_path / "fred_monthly.csv.gz").read_bytes()).startswith(
        b"period,DFF"
    )


def test_embedded_tables_equal_the_mirror_build(built, monkeypatch, use_mirror):
    out, _ = built
    from_mirror = {n: load_table(n) for n in ("french_size_bm", "etf_close", "spdji_index_pe")}
    monkeypatch.delenv("ROTATION_MIRROR")
    monkeypatch.setenv("ROTATION_DATA_DIR", str(out))
    for n, m in from_mirror.items():
        e = load_table(n)
        pd.testing.assert_frame_equal(
            e, m, check_exact=False, rtol=1e-9, check_freq=False, check_index_type=False
        )
        assert e.attrs["provenance"]["vintage"] == m.attrs["provenance"]["vintage"]
        assert e.attrs["provenance"]["read_from"] == "embedded data/"


def test_committed_data_dir_loads_offline(no_mirror):
    for n in TABLES:
        df = load_table(n)
        assert len(df) > 0 and df.attrs["provenance"]["vintage"], n
    assert (
        load_table("spdji_index_pe").query("index == 'S&P 500' and sector == 'All'")["pe"].item()
        == 25.79
    )


def test_unknown_table_and_missing_manifest(no_mirror, tmp_path, monkeypatch):
    with pytest.raises(ParameterError, match="unknown derived table"):
        load_table("nope")
    monkeypatch.setenv("ROTATION_DATA_DIR", str(tmp_path))
    with pytest.raises(DataError, match="rotation data build"):
        load_table("etf_close")


def test_committed_facts_all_have_sources():
    f = load_facts()
    assert f["url"].str.startswith("http").all() and (f["publisher"] != "").all()
    assert f.loc["article_r2k_fwd_pe", "value"] == 16.7


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"url": ""}, "'url' is empty"),
        ({"publisher": ""}, "'publisher' is empty"),
        ({"as_of": "late 2025"}, "as_of 'late 2025'"),
        ({"value": "sixteen"}, "value 'sixteen' is not a number"),
        ({"kind": "rumour"}, "kind 'rumour'"),
    ],
)
def test_fact_without_source_or_with_bad_value_is_rejected(tmp_path, change, needle):
    good = dict(
        zip(
            FACT_COLUMNS,
            [
                "a",
                "published_figure",
                "C1",
                "forward_pe",
                "S&P 500",
                "22",
                "x",
                "",
                "",
                "2025-09-25",
                "Pub",
                "Title",
                "https://example.org/a",
                "",
            ],
            strict=True,
        )
    )
    bad = {**good, "id": "b", **change}
    p = tmp_path / "facts.csv"
    pd.DataFrame([good, bad]).to_csv(p, index=False)
    with pytest.raises(DataError) as e:
        load_facts(p)
    assert "row 3" in str(e.value) and needle in str(e.value)


def test_one_failing_ticker_is_named_and_the_others_load(use_mirror, monkeypatch, capsys):
    """Issue 10: a 404 for one ticker must not abort the build; the table keeps an empty column
    for it, its provenance says why, and price captions name it."""
    from rotation_utils import derived
    from rotation_utils.analysis import price_caption
    from rotation_utils.provenance import provenance_of
    from rotation_utils.sources import prices

    real = prices.read_prices

    def flaky(ticker):
        if ticker == "XLU":
            raise DataError("HTTP 404 Not Found", file="https://example.invalid/XLU")
        return real(ticker)

    monkeypatch.setattr(prices, "read_prices", flaky)
    close = derived._etf_close()
    assert close["XLU"].isna().all()
    assert close["SPY"].loc["2026-08-21"] == pytest.approx(
        pd.read_csv(use_mirror / "prices/alphavantage_2026/SPY.csv", index_col=0).loc[
            "2026-08-21", "close"
        ],
        abs=1e-4,
    )
    missing = provenance_of(close).extra["missing"]
    assert list(missing) == ["XLU"] and "HTTP 404 Not Found" in missing["XLU"]
    assert "warning: prices for XLU not loaded" in capsys.readouterr().err
    assert "Prices XLU not loaded (" in price_caption(close, ["XLU", "SPY"], "2026-07")
