"""Caps on what a raw file may cost to read: bytes, decompressed bytes, spreadsheet cells, rows.

A download, a shared cache or a mirror copy is untrusted input; each cap is generous (about
ten times the largest real file of its source, measured on the 2026 mirror) so that a real file
never trips it, and a junk body, a zip bomb or a spreadsheet of ten million strings is refused
before it costs memory.
"""

from __future__ import annotations

import io
import re
import zipfile

from ..errors import DataError

__all__ = [
    "MAX_BYTES",
    "DEFAULT_MAX_BYTES",
    "MAX_ZIP_RATIO",
    "MAX_XLSX_STRINGS",
    "MAX_XLSX_BYTES",
    "MAX_ROWS",
    "max_bytes",
    "unzip_single",
    "check_xlsx",
    "check_rows",
]

MiB = 1 << 20

#: Largest raw file accepted per source, in bytes (the largest real ones in 2026: French 2.3 MB,
#: Shiller 1.7 MB, S&P DJI 0.4 MB, a price history 0.8 MB, a daily FRED series 0.3 MB online).
MAX_BYTES: dict[str, int] = {
    "french": 32 * MiB,
    "shiller": 24 * MiB,
    "spglobal": 16 * MiB,
    "prices": 16 * MiB,
    "fred": 8 * MiB,
}
DEFAULT_MAX_BYTES = 16 * MiB
#: Decompressed / compressed size a zip member may reach (CSV text compresses about 5-10x).
MAX_ZIP_RATIO = 100
#: Distinct shared strings an xlsx may declare (the S&P DJI sheet has 1,399).
MAX_XLSX_STRINGS = 200_000
#: Decompressed bytes of all an xlsx's parts together (the S&P DJI sheet: about 3 MB).
MAX_XLSX_BYTES = 64 * MiB
#: Rows one parsed table may have (the longest real one, daily prices since 1993: about 8,300).
MAX_ROWS = 2_000_000


def max_bytes(source: str) -> int:
    """The byte cap of a raw file from ``source``."""
    return MAX_BYTES.get(source, DEFAULT_MAX_BYTES)


def unzip_single(body: bytes, limit: int) -> bytes:
    """The first member of the zip ``body``, refused before reading when it would decompress to
    more than ``limit`` bytes or more than :data:`MAX_ZIP_RATIO` times its compressed size.

    The declared sizes are checked first, and the read itself stops at ``limit`` bytes, so a
    member that lies about its size is refused too.
    """
    with zipfile.ZipFile(io.BytesIO(body)) as z:
        infos = z.infolist()
        if not infos:
            raise DataError("the zip file is empty")
        info = infos[0]
        _check_member(info, limit)
        with z.open(info) as f:
            data = f.read(limit + 1)
        if len(data) > limit:
            raise DataError(f"the zip member decompresses to more than {limit:,} bytes")
        return data


def _check_member(info: zipfile.ZipInfo, limit: int) -> None:
    if info.file_size > limit:
        raise DataError(
            f"the zip member {info.filename[:60]!r} would decompress to {info.file_size:,} bytes "
            f"(the cap is {limit:,})"
        )
    if info.file_size > 1 * MiB and info.file_size > MAX_ZIP_RATIO * max(1, info.compress_size):
        raise DataError(
            f"the zip member {info.filename[:60]!r} would decompress {info.file_size:,} bytes "
            f"from {info.compress_size:,} (more than {MAX_ZIP_RATIO}x: a zip bomb?)"
        )


_SST_COUNT = re.compile(rb'uniqueCount="(\d+)"|count="(\d+)"')


def check_xlsx(data: bytes, file: str) -> None:
    """Refuse an xlsx whose parts decompress to more than :data:`MAX_XLSX_BYTES`, any one part
    more than :data:`MAX_ZIP_RATIO` times its size, or whose shared-strings table declares
    more than :data:`MAX_XLSX_STRINGS` strings (what a spreadsheet reader would hold in memory).
    Not an xlsx (e.g. a legacy .xls): nothing to check here."""
    if not data.startswith(b"PK"):
        return
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            infos = z.infolist()
            total = sum(i.file_size for i in infos)
            if total > MAX_XLSX_BYTES:
                raise DataError(
                    f"the workbook's parts decompress to {total:,} bytes "
                    f"(the cap is {MAX_XLSX_BYTES:,})",
                    file=file,
                )
            for info in infos:
                _check_member(info, MAX_XLSX_BYTES)
            names = {i.filename for i in infos}
            if "xl/sharedStrings.xml" in names:
                with z.open("xl/sharedStrings.xml") as f:
                    head = f.read(4096)
                counts = [int(a or b) for a, b in _SST_COUNT.findall(head)]
                if counts and max(counts) > MAX_XLSX_STRINGS:
                    raise DataError(
                        f"the workbook declares {max(counts):,} shared strings "
                        f"(the cap is {MAX_XLSX_STRINGS:,})",
                        file=file,
                    )
    except zipfile.BadZipFile:
        return  # the spreadsheet reader reports a damaged file in its own words
    except DataError:
        raise
    except (OSError, ValueError, EOFError) as e:
        raise DataError(f"the workbook does not open ({type(e).__name__})", file=file) from None


def check_rows(tables: dict, file: str) -> None:
    """Refuse a parse with a table longer than :data:`MAX_ROWS` rows."""
    for title, df in tables.items():
        if len(df) > MAX_ROWS:
            raise DataError(
                f"table {str(title)[:60]!r} has {len(df):,} rows (the cap is {MAX_ROWS:,})",
                file=file,
            )
