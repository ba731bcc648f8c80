"""Online behaviour against the stand-in publisher on 127.0.0.1: first download, revalidation,
304, the refresh command, and every kind of bad download, each with its exit code, its message
and the state of the cache afterwards."""

from __future__ import annotations

import datetime as dt
import json
import socket
import time
from pathlib import Path

import pandas as pd
import pytest

from rotation_utils.cli import main
from rotation_utils.errors import DataError, NetworkError
from rotation_utils.sources._fetch import download_meta, where_from
from rotation_utils.sources.fred import fred_raw_file, parse_fred, read_fred
from rotation_utils.sources.prices import parse_prices, read_prices
from rotation_utils.sources.spdji import spdji_raw_file

from .publisher import SilentServer


@pytest.fixture(autouse=True)
def only_localhost(monkeypatch):
    """No test here may reach any address but 127.0.0.1."""
    real = socket.socket.connect

    def connect(self, address):
        if isinstance(address, tuple) and address[0] not in ("127.0.0.1", "::1", "localhost"):
            raise OSError(f"test tried to reach {address[0]}")
        return real(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(var, raising=False)


def _dgs10(mirror: Path) -> bytes:
    return (mirror / "fred" / "DGS10.csv").read_bytes()


def _vintage(body: bytes) -> str:
    return parse_fred(body, "DGS10.csv")["DGS10"].attrs["vintage"]


def _cached(cache: Path, rel: str) -> Path:
    return cache / "downloads" / rel


def _rejected(cache: Path) -> list[Path]:
    root = cache / "downloads" / "rejected"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def _age(raw, days: float) -> None:
    """Make the cached download of ``raw`` look ``days`` old."""
    p = Path(str(_cached_path(raw)) + ".meta.json")
    d = json.loads(p.read_text())
    d["checked_at"] = (dt.datetime.now(dt.UTC) - dt.timedelta(days=days)).isoformat()
    p.write_text(json.dumps(d))


def _cached_path(raw) -> Path:
    return Path(where_from(raw)[1])


NEXT_MONTH = b"2026-02-01,4.30\n"


def test_first_download_then_a_304(publisher, mirror, isolated_cache, capsys):
    body = _dgs10(mirror)
    assert main(["data", "refresh", "fred/DGS10"]) == 0
    assert capsys.readouterr().out == f"fred/DGS10: downloaded ({_vintage(body)})\n"
    assert _cached(isolated_cache, "fred/DGS10.csv").read_bytes() == body
    meta = download_meta(fred_raw_file("DGS10"))
    doc = publisher.doc("fred/DGS10")
    assert (meta.etag, meta.last_modified) == (doc.etag, doc.last_modified)
    assert meta.url == f"{publisher.base}/fred/fredgraph.csv?id=DGS10"
    assert meta.vintage == "through 2026-01" == _vintage(body)

    assert main(["data", "refresh", "fred/DGS10"]) == 0
    assert capsys.readouterr().out == "fred/DGS10: unchanged (through 2026-01)\n"
    assert publisher.statuses("fred/DGS10") == [200, 304]
    assert download_meta(fred_raw_file("DGS10")).retrieved_at == meta.retrieved_at


def test_a_new_vintage_is_read_once_the_download_is_older_than_its_max_age(
    publisher, mirror, isolated_cache
):
    s = read_fred("DGS10")
    assert (str(s.index[-1]), s.iloc[-1]) == ("2026-01", 4.21)
    publisher.publish("fred/DGS10", _dgs10(mirror) + NEXT_MONTH)
    assert read_fred("DGS10").index[-1] == pd.Period("2026-01")  # younger than 1 day: not asked
    assert publisher.statuses("fred/DGS10") == [200]
    _age(fred_raw_file("DGS10"), 1.5)
    s = read_fred("DGS10")
    assert (str(s.index[-1]), s.iloc[-1]) == ("2026-02", 4.30)
    assert s.attrs["provenance"]["read_from"] == "url"
    assert publisher.statuses("fred/DGS10") == [200, 200]
    _age(fred_raw_file("DGS10"), 1.5)
    assert read_fred("DGS10").attrs["provenance"]["read_from"] == "cache"  # a 304
    assert publisher.statuses("fred/DGS10") == [200, 200, 304]


def test_refresh_prints_updated_with_both_vintages(publisher, mirror, capsys):
    assert main(["data", "refresh", "fred/DGS10", "fred/DFF"]) == 0
    capsys.readouterr()
    publisher.publish("fred/DGS10", _dgs10(mirror) + NEXT_MONTH)
    assert main(["data", "refresh", "fred/DGS10", "fred/DFF"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "fred/DGS10: updated (through 2026-01 -> through 2026-02)",
        f"fred/DFF: unchanged ({_vintage_of('fred/DFF.csv', mirror)})",
    ]


def _vintage_of(rel: str, mirror: Path) -> str:
    return next(iter(parse_fred((mirror / rel).read_bytes(), rel).values())).attrs["vintage"]


MAINTENANCE = b"<!DOCTYPE html>\n<html><head><title>Down for maintenance</title></head><body>Back soon</body></html>\n"


def test_html_page_with_200_is_refused_and_the_good_vintage_stays(
    publisher, mirror, isolated_cache, capsys
):
    body = _dgs10(mirror)
    assert main(["data", "refresh", "fred/DGS10"]) == 0
    retrieved = download_meta(fred_raw_file("DGS10")).retrieved_at
    capsys.readouterr()
    publisher.publish("fred/DGS10", body + NEXT_MONTH)
    publisher.then("fred/DGS10", ("body", MAINTENANCE))
    assert main(["data", "refresh", "fred/DGS10"]) == 1
    (aside,) = _rejected(isolated_cache)
    url = f"{publisher.base}/fred/fredgraph.csv?id=DGS10"
    assert capsys.readouterr().out == (
        f"fred/DGS10: failed (refused download from {url}: an HTML page titled "
        f"'Down for maintenance', not the data; set aside at {aside}; kept vintage "
        f"through 2026-01 retrieved at {retrieved})\n"
    )
    assert aside.read_bytes() == MAINTENANCE
    assert aside.parent == isolated_cache / "downloads" / "rejected" / "fred"
    assert _cached(isolated_cache, "fred/DGS10.csv").read_bytes() == body

    # A reader whose copy is due for revalidation keeps the good vintage and says so.
    publisher.then("fred/DGS10", ("body", MAINTENANCE))
    _age(fred_raw_file("DGS10"), 2)
    s = read_fred("DGS10")
    err = capsys.readouterr().err.splitlines()
    assert str(s.index[-1]) == "2026-01"
    assert s.attrs["provenance"]["read_from"] == "cache"
    assert s.attrs["provenance"]["extra"]["retrieved_at"] == retrieved
    assert len(err) == 1 and err[0].startswith("rotation: warning: fred/DGS10.csv: refused")
    assert err[0].endswith(f"kept vintage through 2026-01 retrieved at {retrieved}")
    # The next good answer is taken.
    assert main(["data", "refresh", "fred/DGS10"]) == 0
    assert "updated (through 2026-01 -> through 2026-02)" in capsys.readouterr().out


NOTE = b'{\n    "Note": "Thank you for using Alpha Vantage! Our standard API rate limit is 25 requests per day."\n}'


def test_alpha_vantage_json_errors_are_never_cached(publisher, isolated_cache, capsys, monkeypatch):
    publisher.then("av/SPY", ("body", NOTE))
    assert main(["data", "refresh", "prices/SPY"]) == 1
    assert capsys.readouterr().out == (
        "prices/SPY: failed (Alpha Vantage: a JSON error body (Note: Thank you for using Alpha "
        "Vantage! Our standard API rate limit is 25 requests per day.), not the data; "
        "no earlier copy)\n"
    )
    monkeypatch.setenv("ALPHAVANTAGE_API_KEY", "wrong-key")
    assert main(["data", "show", "prices/SPY"]) == 1
    err = capsys.readouterr().err
    assert "Error Message: Invalid API call" in err and "wrong-key" not in err
    assert not (isolated_cache / "downloads" / "prices" / "alphavantage" / "SPY.csv").exists()
    assert _rejected(isolated_cache) == []


def test_truncated_zip_is_refused_then_the_whole_one_taken(publisher, isolated_cache, capsys):
    good = publisher.doc("french/F-F_Research_Data_Factors").body
    publisher.then("french/F-F_Research_Data_Factors", ("body", good[: len(good) // 2]))
    assert main(["data", "show", "french/F-F_Research_Data_Factors"]) == 1
    (aside,) = _rejected(isolated_cache)
    url = f"{publisher.base}/french/F-F_Research_Data_Factors_CSV.zip"
    assert capsys.readouterr().err == (
        f"rotation: error: refused download from {url}: not a zip file that opens "
        f"(File is not a zip file); set aside at {aside}\n"
    )
    assert not _cached(isolated_cache, "french/F-F_Research_Data_Factors.CSV").exists()
    assert main(["data", "show", "french/F-F_Research_Data_Factors"]) == 0
    assert capsys.readouterr().out.startswith("period,Mkt-RF,SMB,HML,RF\n1926-07,")


def test_truncated_xlsx_is_refused(publisher, isolated_cache, capsys):
    good = publisher.doc("spdji/sp-500-eps-est.xlsx").body
    publisher.then("spdji/sp-500-eps-est.xlsx", ("body", good[:200_000]))
    assert main(["data", "show", "spdji/sp-500-eps-est"]) == 1
    err = capsys.readouterr().err
    (aside,) = _rejected(isolated_cache)
    url = f"{publisher.base}/spdji/sp-500-eps-est.xlsx"
    assert err.startswith(
        f"rotation: error: refused download from {url}: spglobal/sp-500-eps-est.xlsx: "
        "not a readable Excel file ("
    )
    assert err.endswith(f"); set aside at {aside}\n") and err.count("\n") == 1
    assert not _cached(isolated_cache, "spglobal/sp-500-eps-est.xlsx").exists()


def test_transfer_shorter_than_content_length_twice_is_refused(
    publisher, mirror, isolated_cache, capsys
):
    publisher.then("fred/DGS10", ("cut", 1000), ("cut", 1000))
    assert main(["data", "refresh", "fred/DGS10"]) == 1
    n = len(_dgs10(mirror))
    assert capsys.readouterr().out == (
        f"fred/DGS10: failed (truncated: the connection closed after 1000 of {n} bytes; "
        "tried twice; no earlier copy)\n"
    )
    assert not _cached(isolated_cache, "fred/DGS10.csv").exists()
    assert publisher.statuses("fred/DGS10") == [200, 200]


def test_a_body_cut_once_is_asked_for_again(publisher, mirror, isolated_cache, capsys):
    publisher.then("fred/DGS10", ("cut", 1000))
    assert main(["data", "refresh", "fred/DGS10"]) == 0
    assert capsys.readouterr().out.startswith("fred/DGS10: downloaded (through ")
    assert _cached(isolated_cache, "fred/DGS10.csv").read_bytes() == _dgs10(mirror)
    assert publisher.statuses("fred/DGS10") == [200, 200]


def test_csv_cut_mid_line_is_refused(publisher, mirror, isolated_cache, capsys):
    body = _dgs10(mirror)
    publisher.then("fred/DGS10", ("body", body[:-3]))
    assert main(["data", "refresh", "fred/DGS10"]) == 1
    (aside,) = _rejected(isolated_cache)
    assert capsys.readouterr().out == (
        f"fred/DGS10: failed (refused download from {publisher.base}/fred/fredgraph.csv?id=DGS10: "
        f"cut mid-line: the last line has no line end; set aside at {aside}; no earlier copy)\n"
    )


def test_csv_cut_at_a_line_end_is_refused_as_shorter(publisher, mirror, isolated_cache, capsys):
    body = _dgs10(mirror)
    assert main(["data", "refresh", "fred/DGS10"]) == 0
    capsys.readouterr()
    cut = body[: body.rstrip(b"\n").rfind(b"\n") + 1]  # the last whole line dropped
    publisher.publish("fred/DGS10", cut)
    assert main(["data", "refresh", "fred/DGS10"]) == 1
    (aside,) = _rejected(isolated_cache)
    rows = body.count(b"\n") - 1
    out = capsys.readouterr().out
    assert f"shorter than the cached file (DGS10: {rows - 1} rows instead of {rows})" in out
    assert out.endswith(
        f"set aside at {aside}; kept vintage through 2026-01 retrieved at {download_meta(fred_raw_file('DGS10')).retrieved_at})\n"
    )
    assert _cached(isolated_cache, "fred/DGS10.csv").read_bytes() == body


def test_price_file_ending_earlier_is_refused(publisher, isolated_cache, capsys):
    assert main(["data", "refresh", "prices/IWM"]) == 0
    good = publisher.doc("av/IWM").body
    lines = good.decode().splitlines()
    # Same number of rows, but the newest day replaced by an invented older one.
    shifted = [lines[0], *lines[2:], "1990-01-02,1,1,1,1,0"]
    publisher.publish("av/IWM", "\n".join(shifted) + "\n")
    capsys.readouterr()
    assert main(["data", "refresh", "prices/IWM"]) == 1
    newest = lines[1].split(",")[0]
    second = lines[2].split(",")[0]
    out = capsys.readouterr().out
    assert (
        f"shorter than the cached file (prices: ends {second} 00:00:00 instead of {newest} 00:00:00)"
        in out
    )
    assert _cached(isolated_cache, "prices/alphavantage/IWM.csv").read_bytes() == good


def test_slow_but_steady_transfer_of_1_7_mb_succeeds(publisher, mirror):
    from rotation_utils.sources.shiller import read_shiller

    size = (mirror / "shiller" / "ie_data.xls").stat().st_size
    assert size > 1_600_000
    publisher.then("shiller/ie_data.xls", ("slow", 8.0))
    t0 = time.perf_counter()
    df = read_shiller("ie_data")
    assert time.perf_counter() - t0 > 7.5  # it really was slow, longer than any timeout
    assert df.attrs["provenance"]["read_from"] == "url"
    assert df.loc["2000-01", "price"] == pytest.approx(1425.59, abs=0.01)


def test_no_answer_fails_within_6_s_naming_the_mirror(no_mirror, monkeypatch, capsys):
    silent = SilentServer()
    try:
        monkeypatch.setenv("ROTATION_URL_FRED", silent.url + "/fred?id={series}")
        t0 = time.perf_counter()
        assert main(["data", "show", "fred/DGS10"]) == 1
        assert time.perf_counter() - t0 < 6
    finally:
        silent.close()
    assert capsys.readouterr().err == (
        f"rotation: error: could not download {silent.url}/fred?id=DGS10 (no answer within 5 s). "
        "Offline? Set ROTATION_MIRROR to a folder laid out like shared/data "
        "(e.g. ROTATION_MIRROR=../shared/data) holding fred/DGS10.csv.\n"
    )


def test_404_for_one_ticker_and_the_others_still_load(publisher, capsys):
    assert main(["data", "refresh", "prices/SPY", "prices/NOPE", "prices/IWM"]) == 1
    v = {
        t: parse_prices(publisher.doc(f"av/{t}").body)["prices"].attrs["vintage"]
        for t in ("SPY", "IWM")
    }
    assert capsys.readouterr().out.splitlines() == [
        f"prices/SPY: downloaded ({v['SPY']})",
        "prices/NOPE: failed (HTTP 404 Not Found; no earlier copy)",
        f"prices/IWM: downloaded ({v['IWM']})",
    ]
    assert read_prices("IWM")["close"].notna().all()
    with pytest.raises(NetworkError) as e:
        read_prices("NOPE")
    assert str(e.value) == (
        f"could not download {publisher.base}/av/query?function=TIME_SERIES_DAILY&symbol=NOPE"
        "&outputsize=full&datatype=csv (HTTP 404 Not Found)."
    )


def test_429_then_200_is_retried(publisher, capsys):
    publisher.then("fred/DFF", ("status", 429))
    assert main(["data", "refresh", "fred/DFF"]) == 0
    assert capsys.readouterr().out.startswith("fred/DFF: downloaded (through ")
    assert publisher.statuses("fred/DFF") == [429, 200]


def test_cached_file_that_no_longer_parses_is_moved_aside_and_fetched_again(
    publisher, mirror, isolated_cache, capsys
):
    read_fred("DGS10")
    cached = _cached(isolated_cache, "fred/DGS10.csv")
    cached.write_bytes(b"observation_date,DGS10\n2026-13-01,x\n")  # damaged on disk
    capsys.readouterr()
    s = read_fred("DGS10")
    assert s.iloc[-1] == 4.21 and s.attrs["provenance"]["read_from"] == "url"
    (aside,) = _rejected(isolated_cache)
    assert aside.read_bytes() == b"observation_date,DGS10\n2026-13-01,x\n"
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("rotation: warning: cached fred/DGS10.csv no longer parses (")
    assert line.endswith(f"moved to {aside}, downloading again")
    assert cached.read_bytes() == _dgs10(mirror)


def test_spdji_is_kept_as_the_last_edition_without_asking_again(publisher, capsys):
    assert main(["data", "refresh", "spdji/sp-500-eps-est"]) == 0
    first = capsys.readouterr().out
    assert first.startswith("spdji/sp-500-eps-est: downloaded (")
    meta = download_meta(spdji_raw_file())
    assert main(["data", "refresh", "spdji/sp-500-eps-est"]) == 0
    assert capsys.readouterr().out == (
        "spdji/sp-500-eps-est: discontinued by the publisher after 2026-01-30; keeping the last "
        f"edition ({meta.vintage}, retrieved at {meta.retrieved_at})\n"
    )
    assert publisher.statuses("spdji/sp-500-eps-est.xlsx") == [200]


def test_data_list_shows_retrieved_at_and_age_without_downloading(publisher, capsys):
    assert main(["data", "refresh", "fred/DGS10"]) == 0
    meta = download_meta(fred_raw_file("DGS10"))
    _age(fred_raw_file("DGS10"), 3)  # due for revalidation, yet listing must not ask
    capsys.readouterr()
    assert main(["data", "list"]) == 0
    out = capsys.readouterr().out
    (line,) = [ln for ln in out.splitlines() if ln.startswith("fred/DGS10 ")]
    assert f" cache     {meta.retrieved_at.replace('+00:00', 'Z')}    3d " in line
    assert "through 2026-01" in line
    assert publisher.statuses("fred/DGS10") == [200]


def test_refresh_with_the_mirror_set_changes_nothing(use_mirror, capsys):
    assert main(["data", "refresh"]) == 0
    out, err = capsys.readouterr()
    assert out == "" and "ROTATION_MIRROR is set" in err


def test_refresh_names_an_unknown_dataset(publisher, capsys):
    assert main(["data", "refresh", "bloomberg/SPX"]) == 2
    assert "unknown dataset 'bloomberg/SPX'" in capsys.readouterr().err


# --- yfinance at its adapter boundary (no network) ---------------------------------------------


def _yf_frame(symbol: str, closes: list[float]) -> pd.DataFrame:
    """What ``yf.download(symbol, auto_adjust=True)`` returns in yfinance 1.x: a DatetimeIndex
    named Date and columns (Price, Ticker), prices sorted Close, High, Low, Open, Volume."""
    idx = pd.DatetimeIndex(["2026-01-02", "2026-01-05", "2026-01-06"][: len(closes)], name="Date")
    cols = pd.MultiIndex.from_product(
        [["Close", "High", "Low", "Open", "Volume"], [symbol]], names=["Price", "Ticker"]
    )
    rows = [[c, c + 1, c - 1, c, 1_000_000] for c in closes]
    return pd.DataFrame(rows, index=idx, columns=cols)


def test_yfinance_adapter_reads_the_1x_frame(no_mirror, monkeypatch, capsys):
    import yfinance

    monkeypatch.delenv("ALPHAVANTAGE_API_KEY", raising=False)
    calls = []

    def download(symbol, **kw):
        calls.append((symbol, kw))
        if symbol == "NOPE":  # a failed ticker: yfinance logs it and returns an all-NaN frame
            return _yf_frame("NOPE", [float("nan")])
        return _yf_frame(symbol, [590.25, 592.5, 588.0])

    monkeypatch.setattr(yfinance, "download", download)
    p = read_prices("SPY")
    assert p["close"].tolist() == [590.25, 592.5, 588.0]
    assert str(p.index[-1].date()) == "2026-01-06"
    prov = p.attrs["provenance"]
    assert prov["publisher"] == "Yahoo Finance via yfinance (adjusted close)"
    assert prov["read_from"] == "url"
    assert calls[0][0] == "SPY" and calls[0][1]["auto_adjust"] is True
    assert calls[0][1]["period"] == "max"
    read_prices("VIX")
    assert calls[-1][0] == "^VIX"
    assert main(["data", "refresh", "prices/SPY"]) == 0  # same bytes: unchanged
    assert capsys.readouterr().out == "prices/SPY: unchanged (through 2026-01-06)\n"
    with pytest.raises(NetworkError, match=r"yfinance returned no prices for NOPE"):
        read_prices("NOPE")


def test_yfinance_frame_of_another_shape_is_an_error():
    from rotation_utils.sources.price_providers import yfinance_frame_to_csv

    f = _yf_frame("SPY", [1.0])
    assert yfinance_frame_to_csv(f, "SPY").decode().splitlines() == [
        "Date,Close,High,Low,Open,Volume",
        "2026-01-02,1.0,2.0,0.0,1.0,1000000",
    ]
    f.columns = f.columns.set_names(["Ticker", "Price"])
    with pytest.raises(DataError, match=r"columns named \['Ticker', 'Price'\], not Price/Ticker"):
        yfinance_frame_to_csv(f, "SPY")


# --- end to end ------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_new_fred_month_reaches_the_report_through_refresh(
    publisher, mirror, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("ROTATION_DATA_DIR", str(tmp_path / "data"))
    out = tmp_path / "reports"
    report = ["report", "--out", str(out), "--notebooks", "04", "--jobs", "1"]
    assert main(["data", "build"]) == 0
    assert main([*report, "--month", "2026-01"]) == 0
    s = json.loads((out / "2026-01" / "summary.json").read_text())
    assert s["figures"]["fed_funds"]["as_of"] == "2026-01"
    assert "DFF through 2026-01" in s["figures"]["fed_funds"]["source"]
    capsys.readouterr()

    dff = (mirror / "fred" / "DFF.csv").read_bytes()
    publisher.publish("fred/DFF", dff + b"2026-02-01,3.38\n")
    assert main(["data", "refresh", "fred/DFF", "fred/DGS10"]) == 0
    printed = capsys.readouterr()
    assert printed.out.splitlines() == [
        "fred/DFF: updated (through 2026-01 -> through 2026-02)",
        "fred/DGS10: unchanged (through 2026-01)",
    ]
    assert printed.err.endswith(
        "rotation: 1 file(s) changed; run `rotation data build` to bring them into data/ and the report\n"
    )
    assert main(["data", "build"]) == 0
    assert main([*report, "--month", "2026-02"]) == 0
    s = json.loads((out / "2026-02" / "summary.json").read_text())
    assert s["figures"]["fed_funds"]["value"] == 3.38
    assert s["figures"]["fed_funds"]["as_of"] == "2026-02"
    assert "DFF through 2026-02" in s["figures"]["fed_funds"]["source"]


def test_a_hung_dns_lookup_does_not_outlast_the_connect_timeout(no_mirror, monkeypatch):
    from rotation_utils.sources import _download

    def hang(*a, **k):
        time.sleep(3)
        raise OSError("too late")

    monkeypatch.setattr(socket, "getaddrinfo", hang)
    monkeypatch.setattr(_download, "CONNECT_TIMEOUT_S", 0.3)
    t0 = time.perf_counter()
    with pytest.raises(NetworkError) as e:
        read_fred("DGS10")
    assert time.perf_counter() - t0 < 1.5
    assert (
        "(could not resolve fred.stlouisfed.org within 0.3 s). Offline? Set ROTATION_MIRROR"
        in str(e.value)
    )


def test_max_age_option_revalidates_on_read(publisher, capsys):
    assert main(["data", "show", "fred/DGS10"]) == 0
    assert main(["data", "show", "fred/DGS10", "--max-age", "0"]) == 0
    assert publisher.statuses("fred/DGS10") == [200, 304]
    capsys.readouterr()
    assert main(["data", "refresh", "--max-age", "1d", "fred/DGS10"]) == 0
    assert capsys.readouterr().out == "fred/DGS10: fresh (through 2026-01; checked 0m ago)\n"
    assert publisher.statuses("fred/DGS10") == [200, 304]
    assert main(["data", "show", "fred/DGS10", "--max-age", "soon"]) == 2
    assert capsys.readouterr().err == (
        "rotation: error: parameter '--max-age': 'soon' is not an age like 1d, 12h, 30m or 0\n"
    )


def test_a_cached_copy_without_its_record_is_revalidated(publisher, isolated_cache):
    read_fred("DGS10")
    Path(str(_cached_path(fred_raw_file("DGS10"))) + ".meta.json").unlink()
    read_fred("DGS10")
    assert publisher.statuses("fred/DGS10") == [200, 200]
    assert download_meta(fred_raw_file("DGS10")) is not None


def test_5xx_three_times_fails_and_keeps_the_good_copy(publisher, monkeypatch, capsys):
    from rotation_utils.sources import _download

    monkeypatch.setattr(_download, "BACKOFF_FACTOR", 0.0)
    _download._SESSIONS.clear()  # the retry policy is made with the session
    assert main(["data", "refresh", "fred/DFF"]) == 0
    meta = download_meta(fred_raw_file("DFF"))
    capsys.readouterr()
    publisher.then("fred/DFF", ("status", 503), ("status", 502), ("status", 503))
    assert main(["data", "refresh", "fred/DFF"]) == 1
    assert capsys.readouterr().out == (
        "fred/DFF: failed (HTTP 503 Service Unavailable; tried 3 times; kept vintage "
        f"{meta.vintage} retrieved at {meta.retrieved_at})\n"
    )
    assert publisher.statuses("fred/DFF") == [200, 503, 502, 503]


def test_a_copy_revalidated_meanwhile_by_another_process_is_not_asked_again(publisher):
    from rotation_utils.sources._fetch import refresh

    raw = fred_raw_file("DGS10")
    assert refresh(raw, parse_fred).status == "downloaded"
    # What a second reader that found the copy stale sees once it holds the lock.
    assert refresh(raw, parse_fred, older_than=1).status == "fresh"
    assert publisher.statuses("fred/DGS10") == [200]
