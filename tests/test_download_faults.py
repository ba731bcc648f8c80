"""The stand-in publisher misbehaving in the ways #18 found: another ticker's file, a gzip body
whatever was asked, an endless junk body, a trickle, Retry-After, a read-only cache. Each keeps
the good data and ends in one line (or is accepted, for gzip)."""

from __future__ import annotations

import time
import tracemalloc

import pytest

from rotation_utils.cli import main
from rotation_utils.sources import _download
from rotation_utils.sources.fred import fred_raw_file
from rotation_utils.sources.prices import read_prices

from .publisher import av_csv_from_mirror
from .test_download import _age, _cached, _dgs10, _rejected, only_localhost  # noqa: F401

SPY_AV = "prices/alphavantage/SPY.csv"


def test_another_tickers_file_is_refused_and_spy_is_unchanged(
    publisher, mirror, isolated_cache, capsys
):
    dia = av_csv_from_mirror(mirror, "DIA")  # 2026 only: the dates Alpha Vantage's files hold
    dia_dates = {line.split(b",")[0] for line in dia.splitlines()[1:]}
    spy = publisher.doc("av/SPY").body.splitlines()
    spy_2026 = [spy[0]] + [line for line in spy[1:] if line.split(b",")[0] in dia_dates]
    assert len(spy_2026) == len(dia.splitlines()) > 50
    publisher.publish("av/SPY", b"\n".join(spy_2026) + b"\n")
    assert main(["data", "refresh", "prices/SPY"]) == 0
    good = _cached(isolated_cache, SPY_AV).read_bytes()
    before = read_prices("SPY")["close"]
    capsys.readouterr()
    publisher.publish("av/SPY", dia)  # the same dates, DIA's closes
    assert main(["data", "refresh", "prices/SPY"]) == 1
    (aside,) = _rejected(isolated_cache)
    out = capsys.readouterr().out
    assert out.startswith(
        f"prices/SPY: failed (refused download from {publisher.base}/av/query?"
        "function=TIME_SERIES_DAILY&symbol=SPY&outputsize=full&datatype=csv: not the same series "
        "as the cached file (closes differ by more than 0.1% on "
    )
    assert f"common dates); set aside at {aside}; kept vintage " in out
    assert _cached(isolated_cache, SPY_AV).read_bytes() == good
    assert read_prices("SPY")["close"].equals(before)


def test_the_same_series_with_a_new_day_is_accepted(publisher, mirror, isolated_cache, capsys):
    assert main(["data", "refresh", "prices/SPY"]) == 0
    body = publisher.doc("av/SPY").body
    header, first, rest = body.split(b"\n", 2)
    newer = first.replace(first.split(b",")[0], b"2099-01-02")  # AV is newest first
    publisher.publish("av/SPY", b"\n".join([header, newer, first, rest]))
    capsys.readouterr()
    assert main(["data", "refresh", "prices/SPY"]) == 0
    assert capsys.readouterr().out.startswith("prices/SPY: updated (")


def test_a_gzip_body_sent_unasked_is_accepted(publisher, mirror, isolated_cache, capsys):
    publisher.then("fred/DGS10", ("gzip",))
    assert main(["data", "refresh", "fred/DGS10"]) == 0
    assert capsys.readouterr().out.startswith("fred/DGS10: downloaded (through ")
    assert _cached(isolated_cache, "fred/DGS10.csv").read_bytes() == _dgs10(mirror)


def test_a_300_mib_junk_body_is_refused_at_the_cap_in_little_memory(
    publisher, isolated_cache, capsys
):
    publisher.then("fred/DGS10", ("junk", 300 << 20))
    tracemalloc.start()
    try:
        assert main(["data", "refresh", "fred/DGS10"]) == 1
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert capsys.readouterr().out == (
        "fred/DGS10: failed (more than the 8,388,608 bytes accepted; stopped there; "
        "no earlier copy)\n"
    )
    assert peak < 64 << 20  # the cap (8 MiB) and its copies, never the 300 MiB
    assert not _cached(isolated_cache, "fred/DGS10.csv").exists()


def test_a_trickle_is_refused_within_its_deadline(publisher, monkeypatch, capsys):
    monkeypatch.setattr(_download, "MIN_DEADLINE_S", 1.0)
    publisher.then("fred/DGS10", ("trickle", 0.05))
    t0 = time.perf_counter()
    assert main(["data", "refresh", "fred/DGS10"]) == 1
    assert time.perf_counter() - t0 < 4
    out = capsys.readouterr().out
    assert out.startswith("fred/DGS10: failed (too slow: ")
    assert out.endswith(" s (under 20 kB/s after 1 s); no earlier copy)\n")


def test_retry_after_3_s_is_honoured(publisher, capsys):
    publisher.then("fred/DFF", ("status", 503, "3"))
    t0 = time.perf_counter()
    assert main(["data", "refresh", "fred/DFF"]) == 0
    waited = time.perf_counter() - t0
    assert 2.9 < waited < 8
    assert publisher.statuses("fred/DFF") == [503, 200]


def test_a_date_form_retry_after_is_understood(publisher, capsys):
    import email.utils

    when = email.utils.formatdate(time.time() + 2, usegmt=True)
    publisher.then("fred/DFF", ("status", 429, when))
    t0 = time.perf_counter()
    assert main(["data", "refresh", "fred/DFF"]) == 0
    assert 0.9 < time.perf_counter() - t0 < 8
    assert publisher.statuses("fred/DFF") == [429, 200]


def test_a_read_only_cache_is_a_one_line_outcome(publisher, isolated_cache, monkeypatch, capsys):
    import filelock

    assert main(["data", "refresh", "fred/DFF"]) == 0
    meta_before = (isolated_cache / "downloads" / "fred" / "DFF.csv.meta.json").read_bytes()
    capsys.readouterr()
    lock = str(isolated_cache / "downloads" / "fred" / "DFF.csv.lock")

    class ReadOnly:  # what FileLock meets on a read-only file system (root ignores chmod)
        def __init__(self, path, **kw):
            pass

        def __enter__(self):
            raise PermissionError(13, "Permission denied", lock)

        def __exit__(self, *a):
            return False

    monkeypatch.setattr(filelock, "FileLock", ReadOnly)
    assert main(["data", "refresh", "--max-age", "0", "fred/DFF"]) == 1
    out = capsys.readouterr().out
    assert out.startswith(
        f"fred/DFF: failed (the cache cannot be written (Permission denied: {lock}); kept vintage "
    )
    assert out.count("\n") == 1
    assert (isolated_cache / "downloads" / "fred" / "DFF.csv.meta.json").read_bytes() == meta_before


def test_reading_through_a_read_only_cache_keeps_the_copy(publisher, monkeypatch, capsys):
    import filelock

    from rotation_utils.sources.fred import read_fred

    first = read_fred("DFF")
    _age(fred_raw_file("DFF"), 3)

    class ReadOnly:
        def __init__(self, path, **kw):
            self.path = path

        def __enter__(self):
            raise PermissionError(13, "Permission denied", self.path)

        def __exit__(self, *a):
            return False

    monkeypatch.setattr(filelock, "FileLock", ReadOnly)
    capsys.readouterr()
    again = read_fred("DFF")
    assert again.equals(first)
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith(
        "rotation: warning: fred/DFF.csv: the cache cannot be written (Permission denied: "
    )


@pytest.mark.parametrize("announced", [True])
def test_a_body_announced_over_the_cap_is_refused_unread(
    publisher, monkeypatch, isolated_cache, capsys, announced
):
    from rotation_utils.sources import _limits

    monkeypatch.setitem(_limits.MAX_BYTES, "fred", 100)
    assert main(["data", "refresh", "fred/DGS10"]) == 1
    assert capsys.readouterr().out.startswith(
        "fred/DGS10: failed (announces 3,879 bytes, more than the 100 accepted; "
    )
