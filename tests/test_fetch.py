"""Resolution order, the hash-keyed cache, corrupt entries, and failing fast offline."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rotation_utils.errors import DataError, NetworkError
from rotation_utils.sources import _fetch
from rotation_utils.sources.fred import read_fred

FRED_A = "observation_date,DFF\n2026-01-01,4.00\n2026-02-01,3.75\n"
FRED_B = "observation_date,DFF\n2026-01-01,4.00\n2026-02-01,3.50\n"


def _entries(cache: Path) -> list[Path]:
    return sorted((cache / "parsed").glob("*/*.zip"))


def test_changed_mirror_file_is_reparsed(fake_mirror, isolated_cache):
    path = fake_mirror("fred/DFF.csv", FRED_A)
    assert read_fred("DFF").iloc[-1] == 3.75
    assert read_fred("DFF").attrs["provenance"]["read_from"] == "mirror"
    path.write_text(FRED_B)
    s = read_fred("DFF")
    assert s.iloc[-1] == 3.50  # new hash -> new parse, not the stale cache
    assert len(_entries(isolated_cache)) == 2


def test_corrupt_cache_entry_is_rebuilt_not_trusted(fake_mirror, isolated_cache, capsys):
    fake_mirror("fred/DFF.csv", FRED_A)
    read_fred("DFF")
    (entry,) = _entries(isolated_cache)
    entry.write_bytes(entry.read_bytes()[:40])  # a truncated entry
    capsys.readouterr()
    assert read_fred("DFF").iloc[-1] == 3.75
    assert entry.stat().st_size > 40  # rewritten
    err = capsys.readouterr().err.splitlines()
    assert err == [f"rotation: cache entry {entry} unreadable (BadZipFile); rebuilding"]
    capsys.readouterr()
    read_fred("DFF")
    assert capsys.readouterr().err == ""  # rebuilt once, then read quietly


def test_cache_key_is_raw_hash_parser_version_and_pandas_major(
    fake_mirror, isolated_cache, monkeypatch
):
    import hashlib

    import pandas as pd

    from rotation_utils.sources import fred

    fake_mirror("fred/DFF.csv", FRED_A)
    read_fred("DFF")
    sha = hashlib.sha256(FRED_A.encode()).hexdigest()
    major = pd.__version__.split(".")[0]
    assert [e.name for e in _entries(isolated_cache)] == [f"{sha}-p1-pd{major}-e1.zip"]
    monkeypatch.setattr(fred, "PARSER_VERSION", "2")  # a changed parser gets a new entry
    read_fred("DFF")
    assert len(_entries(isolated_cache)) == 2


def test_cached_load_reads_the_parse_not_the_parser(fake_mirror):
    from rotation_utils.sources import fred

    calls = []

    def counting(data, file):
        calls.append(file)
        return fred.parse_fred(data, file)

    counting.__module__ = fred.parse_fred.__module__  # same cache key as the real parser
    base = fred.Provenance("p", "t", "u", "")
    fake_mirror("fred/DFF.csv", FRED_A)
    _fetch.load_tables(fred.fred_raw_file("DFF"), counting, base)
    s = _fetch.load_tables(fred.fred_raw_file("DFF"), counting, base)
    assert calls == ["fred/DFF.csv"] and s["DFF"]["DFF"].iloc[-1] == 3.75


def test_mirror_without_the_file_names_it(fake_mirror):
    with pytest.raises(DataError, match=r"fred/DGS10\.csv.*not found in the mirror"):
        read_fred("DGS10")


def test_offline_fails_fast_with_the_mirror_hint(no_mirror, monkeypatch):
    def refuse(*a, **k):
        raise OSError("network blocked by test")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    t0 = time.perf_counter()
    with pytest.raises(NetworkError) as e:
        read_fred("DGS10")
    assert time.perf_counter() - t0 < 5
    assert "ROTATION_MIRROR" in str(e.value) and "fredgraph.csv?id=DGS10" in str(e.value)


def test_cli_offline_exits_nonzero_in_seconds_with_one_line(tmp_path):
    code = (
        "import socket\n"
        "def refuse(*a, **k): raise OSError('blocked')\n"
        "socket.create_connection = refuse; socket.socket.connect = refuse\n"
        "import sys; from rotation_utils.cli import main; sys.exit(main(['data', 'show', 'fred/DGS10']))\n"
    )
    env = {"PATH": "/usr/bin:/bin", "ROTATION_CACHE_DIR": str(tmp_path), "HOME": str(tmp_path)}
    t0 = time.perf_counter()
    r = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    assert time.perf_counter() - t0 < 10
    assert r.returncode == 1 and r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "ROTATION_MIRROR" in lines[0] and "Traceback" not in r.stderr


def test_download_cache_is_used_without_mirror(no_mirror, isolated_cache, monkeypatch):
    import datetime as dt
    import hashlib
    import json

    dest = isolated_cache / "downloads" / "fred" / "DFF.csv"
    dest.parent.mkdir(parents=True)
    dest.write_text(FRED_A)
    now = dt.datetime.now(dt.UTC).isoformat()
    meta = {
        "url": "u",
        "retrieved_at": now,
        "checked_at": now,
        "etag": "",
        "last_modified": "",
        "sha256": hashlib.sha256(FRED_A.encode()).hexdigest(),
        "vintage": "through 2026-02",
        "rows": 2,
    }
    dest.with_name("DFF.csv.meta.json").write_text(json.dumps(meta))
    monkeypatch.setattr(
        _fetch, "_fetch_response", lambda raw, meta: pytest.fail("downloaded despite a cached copy")
    )
    s = read_fred("DFF")
    assert s.iloc[0] == 4.0 and s.attrs["provenance"]["read_from"] == "cache"


def test_zip_download_is_unpacked(no_mirror, monkeypatch):
    import io
    import zipfile

    from rotation_utils.sources._download import Response

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("F-F_Research_Data_Factors.CSV", "v 202408 CRSP\n\n,SMB\n202401,1.5\n")
    monkeypatch.setattr(
        _fetch, "http_get", lambda url, **k: Response(url, 200, buf.getvalue(), "", "")
    )
    from rotation_utils.sources.french import read_french

    t = read_french("F-F_Research_Data_Factors")
    assert t["Monthly"].iloc[0, 0] == 1.5 and t["Monthly"].attrs["provenance"]["read_from"] == "url"
