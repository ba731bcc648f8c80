"""Hostile files and folders, offline: a planted cache entry runs no code, a cache folder another
user controls is refused, names and symlinks cannot lead a read or a write out of their folder,
and oversized files (a zip bomb, a spreadsheet of ten million strings, a huge table) are refused
before they cost memory. Each case asserts the one line the user sees and that nothing changed."""

from __future__ import annotations

import io
import os
import pickle
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from rotation_utils.cli import main
from rotation_utils.sources import _fetch, _limits
from rotation_utils.sources.fred import read_fred

FRED = "observation_date,DFF\n2026-01-01,4.00\n2026-02-01,3.75\n"


def _one_error_line(capsys) -> str:
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert out == "" and len(lines) == 1, (out, err)
    assert lines[0].startswith("rotation: error: ")
    return lines[0]


def _files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*")} if root.exists() else set()


class _Planted:
    """Unpickling this writes a marker file: proof that code ran from the cache."""

    marker = ""

    def __reduce__(self):
        return (Path.write_text, (Path(self.marker), "code ran"))


# --- the parse cache holds data, never code ------------------------------------------------


def test_a_pickle_planted_at_an_entry_path_runs_nothing(
    fake_mirror, isolated_cache, capsys, tmp_path
):
    fake_mirror("fred/DFF.csv", FRED)
    assert read_fred("DFF").iloc[-1] == 3.75
    (entry,) = (isolated_cache / "parsed").glob("*/*")
    marker = tmp_path / "ran"
    _Planted.marker = str(marker)
    payload = pickle.dumps(_Planted())
    entry.write_bytes(payload)  # at the entry's own name
    entry.with_suffix(".pkl").write_bytes(payload)  # and where the old pickle cache looked
    capsys.readouterr()
    assert read_fred("DFF").iloc[-1] == 3.75  # parsed again from the raw file
    assert not marker.exists()
    assert capsys.readouterr().err.splitlines() == [
        f"rotation: cache entry {entry} unreadable (BadZipFile); rebuilding"
    ]
    with zipfile.ZipFile(entry) as z:  # rebuilt as data: an index and parquet tables
        assert sorted(z.namelist()) == ["index.json", "t0.parquet"]


def test_the_source_has_no_pickle_loads():
    src = Path(_fetch.__file__).read_text()
    assert "import pickle" not in src and "pickle.load" not in src


def test_an_entry_with_a_bad_index_is_rebuilt(fake_mirror, isolated_cache, capsys):
    fake_mirror("fred/DFF.csv", FRED)
    read_fred("DFF")
    (entry,) = (isolated_cache / "parsed").glob("*/*")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("index.json", '{"format": "1", "tables": [{"title": "DFF", "member": "../x"}]}')
    entry.write_bytes(buf.getvalue())
    capsys.readouterr()
    assert read_fred("DFF").iloc[-1] == 3.75
    assert capsys.readouterr().err.splitlines() == [
        f"rotation: cache entry {entry} unreadable (KeyError); rebuilding"
    ]


def test_parquet_entries_read_back_the_same_tables(use_mirror, isolated_cache):
    first = _fetch.load_tables(
        _fetch.RawFile("french", "Portfolios_Formed_on_ME.CSV", "https://example.invalid", True),
        __import__("rotation_utils.sources.french", fromlist=["x"]).parse_french,
        _fetch.Provenance("p", "t", "u", ""),
    )
    (entry,) = (isolated_cache / "parsed").glob("*/*")
    tables = _fetch._read_entry(entry)
    assert list(tables) == list(first)
    for title, df in tables.items():
        pd.testing.assert_frame_equal(
            df, first[title].set_axis(first[title].index), check_like=False
        )
        assert isinstance(df.index, pd.PeriodIndex)


# --- a cache folder someone else controls ---------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX ownership")
def test_a_cache_folder_owned_by_another_uid_is_refused(fake_mirror, tmp_path, monkeypatch, capsys):
    if os.getuid() != 0:
        pytest.skip("needs root to give a folder to another uid")
    fake_mirror("fred/DFF.csv", FRED)
    shared = tmp_path / "scratch" / "rotation"
    shared.mkdir(parents=True, mode=0o700)
    os.chown(shared, 4321, 4321)
    monkeypatch.setenv("ROTATION_CACHE_DIR", str(shared))
    before = _files(shared)
    assert main(["data", "show", "fred/DFF"]) == 2
    line = _one_error_line(capsys)
    assert line == (
        f"rotation: error: parameter 'ROTATION_CACHE_DIR': {shared} belongs to uid 4321, not to "
        f"you (uid 0); a cache folder another user controls is not used"
    )
    assert _files(shared) == before


def test_a_group_writable_cache_folder_is_refused(fake_mirror, tmp_path, monkeypatch, capsys):
    fake_mirror("fred/DFF.csv", FRED)
    shared = tmp_path / "shared-cache"
    shared.mkdir()
    os.chmod(shared, 0o775)
    monkeypatch.setenv("ROTATION_CACHE_DIR", str(shared))
    assert main(["data", "show", "fred/DFF"]) == 2
    assert _one_error_line(capsys) == (
        f"rotation: error: parameter 'ROTATION_CACHE_DIR': {shared} is writable by group or "
        f"others (mode 775); run `chmod go-w {shared}` or choose another folder"
    )
    assert _files(shared) == set()


def test_a_new_cache_folder_is_private(fake_mirror, tmp_path, monkeypatch):
    fake_mirror("fred/DFF.csv", FRED)
    new = tmp_path / "fresh" / "cache"
    monkeypatch.setenv("ROTATION_CACHE_DIR", str(new))
    assert read_fred("DFF").iloc[-1] == 3.75
    assert new.stat().st_mode & 0o777 == 0o700
    (entry,) = (new / "parsed").glob("*/*")
    assert entry.stat().st_mode & 0o077 == 0  # entries are 0600 (mkstemp)


# --- names and symlinks stay inside their folder --------------------------------------------


@pytest.mark.parametrize(
    "dataset",
    [
        "french/../../../../tmp/x",
        "fred/../../etc/passwd",
        "prices/../../../x",
        "prices/SPY/../../x",
        "fred/.hidden",
        "french/a\nb",
    ],
)
def test_a_name_that_leaves_its_folder_is_refused_before_any_path(
    dataset, no_mirror, isolated_cache, tmp_path, capsys
):
    before = _files(isolated_cache)
    assert main(["data", "show", dataset]) == 2
    line = _one_error_line(capsys)
    assert line.startswith("rotation: error: parameter ")
    assert "\n" not in line and "is not " in line
    assert _files(isolated_cache) == before
    assert not Path("/tmp/x.CSV").exists() and not Path("/tmp/x.CSV.meta.json").exists()


def test_a_symlink_out_of_the_mirror_is_refused_without_quoting_its_target(
    fake_mirror, tmp_path, capsys
):
    secret = tmp_path / "outside.txt"
    secret.write_text("root:x:0:0:root:/root:/bin/bash\n")
    link = fake_mirror.root / "fred" / "DFF.csv"
    link.parent.mkdir(parents=True)
    link.symlink_to(secret)
    assert main(["data", "show", "fred/DFF"]) == 1
    line = _one_error_line(capsys)
    assert line == (
        f"rotation: error: {link}: leads out of the mirror (a symlink?); only files inside "
        "ROTATION_MIRROR are read"
    )
    assert "root:x" not in line


def test_a_symlink_inside_the_mirror_is_followed(fake_mirror):
    real = fake_mirror("fred/real.csv", FRED)
    (fake_mirror.root / "fred" / "DFF.csv").symlink_to(real)
    assert read_fred("DFF").iloc[-1] == 3.75


def test_a_parse_error_quotes_a_short_printable_excerpt(fake_mirror, capsys):
    fake_mirror("fred/DFF.csv", "observation_date,DFF\n\x1b[31m" + "x" * 500 + ",1\n")
    assert main(["data", "show", "fred/DFF"]) == 1
    line = _one_error_line(capsys)
    assert "\x1b" not in line and "x" * 60 not in line and len(line) < 200


# --- limits ---------------------------------------------------------------------------------


def _bomb(size: int) -> bytes:
    buf = io.BytesIO()
    with (
        zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z,
        z.open("25_Portfolios_5x5.CSV", "w") as f,
    ):
        chunk = b"0" * (1 << 20)
        for _ in range(size >> 20):
            f.write(chunk)
    return buf.getvalue()


def test_a_zip_bomb_is_refused_from_its_declared_size():
    body = _bomb(200 << 20)
    assert len(body) < 400_000
    with pytest.raises(_fetch.DataError, match=r"would decompress to 209,715,200 bytes"):
        _limits.unzip_single(body, _limits.max_bytes("french"))


def test_a_zip_member_that_lies_about_its_size_is_cut_at_the_cap():
    body = bytearray(_bomb(8 << 20))
    # Rewrite the declared sizes (local header and central directory) to 1 KiB.
    for sig, off in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        i = body.index(sig)
        body[i + off : i + off + 4] = (1024).to_bytes(4, "little")
    with pytest.raises((_fetch.DataError, zipfile.BadZipFile)):
        _limits.unzip_single(bytes(body), 4 << 20)


def test_a_zip_of_high_ratio_is_refused():
    with pytest.raises(_fetch.DataError, match=r"more than 100x: a zip bomb\?"):
        _limits.unzip_single(_bomb(20 << 20), 32 << 20)


def _xlsx_with_strings(declared: int) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr(
            "xl/sharedStrings.xml",
            f'<?xml version="1.0"?><sst xmlns="x" count="{declared}" '
            f'uniqueCount="{declared}"><si><t>a</t></si></sst>',
        )
    return buf.getvalue()


def test_an_xlsx_declaring_ten_million_strings_is_refused(fake_mirror, capsys):
    fake_mirror("spglobal/sp-500-eps-est.xlsx", _xlsx_with_strings(10_000_000))
    assert main(["data", "show", "spdji/sp-500-eps-est"]) == 1
    assert _one_error_line(capsys) == (
        "rotation: error: spglobal/sp-500-eps-est.xlsx: the workbook declares 10,000,000 shared "
        "strings (the cap is 200,000)"
    )


def test_the_real_workbook_is_within_the_caps(mirror):
    _limits.check_xlsx((mirror / "spglobal" / "sp-500-eps-est.xlsx").read_bytes(), "x.xlsx")


def test_a_mirror_file_over_its_cap_is_refused_unread(fake_mirror, monkeypatch, capsys):
    p = fake_mirror("fred/DFF.csv", FRED)
    monkeypatch.setitem(_limits.MAX_BYTES, "fred", 20)
    assert main(["data", "show", "fred/DFF"]) == 1
    assert _one_error_line(capsys) == (
        f"rotation: error: {p}: {len(FRED)} bytes, more than the 20 a fred file may have"
    )


def test_a_table_over_the_row_cap_is_refused(fake_mirror, monkeypatch, capsys):
    fake_mirror("fred/DFF.csv", FRED)
    monkeypatch.setattr(_limits, "MAX_ROWS", 1)
    assert main(["data", "show", "fred/DFF"]) == 1
    assert _one_error_line(capsys) == (
        "rotation: error: fred/DFF.csv: table 'DFF' has 2 rows (the cap is 1)"
    )
