"""The only module that decides where raw bytes come from and what is cached on disk.

Resolution for a raw file: the mirror (``ROTATION_MIRROR``) when set; otherwise the download
cache, revalidated with the publisher once it is older than its source's max age; otherwise the
publisher's URL. A new download replaces the cached one only after it parses and is not shorter
than the file it replaces (publishers append and revise, they do not shrink); a refused download
is set aside under ``downloads/rejected/`` and the last good vintage stays in use.

Parsed tables are cached as data only (one zip of parquet tables and a JSON index per entry,
never pickle) under ``ROTATION_CACHE_DIR/parsed``, keyed by the sha256 of the raw bytes, the
source module's ``PARSER_VERSION`` and the pandas major version. The cache folder is created
0700 and refused when another user owns it or others may write it; every path in it is checked
to stay inside it after symlinks are resolved.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import json
import os
import re
import sys
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from glob import escape as glob_escape
from pathlib import Path

import pandas as pd

from ..errors import DataError, NetworkError, ParameterError
from ..paths import SEGMENT, excerpt, private_folder, resolve_inside
from ..provenance import Provenance, with_provenance
from ._download import DownloadError, Response, http_get
from ._limits import check_rows, check_xlsx, max_bytes, unzip_single

__all__ = [
    "RawFile",
    "DownloadMeta",
    "RefreshResult",
    "MAX_AGE_DAYS",
    "mirror_dir",
    "cache_dir",
    "source_url",
    "max_age",
    "download_meta",
    "read_raw",
    "refresh",
    "where_from",
    "load_tables",
    "refuse_error_page",
    "cached_only",
    "describe_age",
]

#: Days a download is used before it is revalidated with the publisher (None: never, the
#: publisher no longer updates it). ``ROTATION_MAX_AGE`` overrides every source.
MAX_AGE_DAYS: dict[str, float | None] = {
    "fred": 1,
    "prices": 1,
    "french": 7,
    "shiller": 7,
    "spglobal": None,
}

Parser = Callable[[bytes, str], dict[str, pd.DataFrame]]
#: ``download(raw, cached_meta) -> Response``: how a non-HTTP source (an API client) is fetched.
Downloader = Callable[["RawFile", "DownloadMeta | None"], Response]


@dataclass(frozen=True)
class RawFile:
    """One published file: where it lives in the mirror and on the web.

    Attributes
    ----------
    source : str
        Mirror sub-folder ("french", "shiller", "spglobal", "fred", "prices").
    path : str
        Path inside that folder, e.g. "25_Portfolios_5x5.CSV".
    url : str
        Download URL (the official one unless overridden by a ``ROTATION_URL_*`` variable);
        never holds an API key.
    zipped : bool
        True when the URL serves a zip holding this single file.
    download : callable, optional
        Fetches the file another way than a plain GET of ``url`` (e.g. through yfinance).
    discontinued : str
        When the publisher stopped updating the file, e.g. "after 2026-01-30": a cached copy is
        then never revalidated and a download is tried once, without retries.
    """

    source: str
    path: str
    url: str
    zipped: bool = False
    download: Downloader | None = field(default=None, compare=False, repr=False)
    discontinued: str = ""

    def __post_init__(self) -> None:
        # Names reach here from the command line and claims files: refuse anything that is not
        # a plain relative file name before a path is built from it.
        parts = [self.source, *self.path.split("/")]
        if not all(SEGMENT.fullmatch(p) for p in parts) or len(parts) > 4:
            raise ParameterError(
                "dataset", f"{excerpt(self.mirror_relpath)} is not a file name this project reads"
            )

    @property
    def mirror_relpath(self) -> str:
        return f"{self.source}/{self.path}"


@dataclass(frozen=True)
class DownloadMeta:
    """What is recorded beside each cached download (``<file>.meta.json``)."""

    url: str
    retrieved_at: str  # ISO 8601 UTC: when these bytes were downloaded
    checked_at: str  # ISO 8601 UTC: when the publisher last confirmed them (200 or 304)
    etag: str
    last_modified: str
    sha256: str
    vintage: str
    rows: int

    def age_days(self, now: dt.datetime | None = None) -> float:
        now = now or dt.datetime.now(dt.UTC)
        return (now - dt.datetime.fromisoformat(self.checked_at)).total_seconds() / 86400


@dataclass(frozen=True)
class RefreshResult:
    """The outcome of revalidating one raw file with its publisher.

    ``status`` is "downloaded" (first copy), "updated", "unchanged", "fresh" (younger than the
    max age, not asked), "failed" (the cached copy, if any, is kept) or "discontinued".
    """

    raw: RawFile
    status: str
    old_vintage: str = ""
    new_vintage: str = ""
    reason: str = ""
    meta: DownloadMeta | None = None
    tables: dict[str, pd.DataFrame] | None = field(default=None, repr=False)
    #: a failure's cause as fields, so no caller reads it back out of ``reason``: the HTTP status
    #: the publisher answered with (0: none), and whether a body arrived but was refused
    http_status: int = 0
    refused: bool = False


def mirror_dir() -> Path | None:
    """The mirror folder from ``ROTATION_MIRROR`` (laid out like ``shared/data``), or None."""
    m = os.environ.get("ROTATION_MIRROR", "").strip()
    return Path(m).expanduser() if m else None


def cache_dir() -> Path:
    """``ROTATION_CACHE_DIR`` or the platform's user cache folder for "rotation"."""
    c = os.environ.get("ROTATION_CACHE_DIR", "").strip()
    if c:
        return Path(c).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("rotation"))


def source_url(env: str, default: str, **fields: str) -> str:
    """The download URL: the template in environment variable ``env`` (for a corporate mirror)
    or ``default``, with ``{name}``-style fields filled in."""
    template = os.environ.get(env, "").strip() or default
    try:
        return template.format(**fields)
    except (KeyError, IndexError, ValueError) as e:
        raise ParameterError(
            env, f"{template!r} is not a URL template with {fields}: {e}"
        ) from None


def max_age(raw: RawFile) -> float | None:
    """Days before a cached download of ``raw`` is revalidated (``ROTATION_MAX_AGE`` wins)."""
    if raw.discontinued:
        return None
    env = os.environ.get("ROTATION_MAX_AGE", "").strip()
    if env:
        return parse_age(env, "ROTATION_MAX_AGE")
    return MAX_AGE_DAYS.get(raw.source, 1)


def parse_age(text: str, name: str) -> float:
    """``"2d"``, ``"12h"``, ``"30m"``, ``"45s"`` or a plain number of days -> days."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d*)?)\s*([dhms]?)\s*", text)
    if not m:
        raise ParameterError(name, f"{text!r} is not an age like 1d, 12h, 30m or 0")
    scale = {"": 1, "d": 1, "h": 1 / 24, "m": 1 / 1440, "s": 1 / 86400}[m.group(2)]
    return float(m.group(1)) * scale


_REVALIDATE = [True]


@contextlib.contextmanager
def cached_only() -> Iterator[None]:
    """Inside this block cached downloads are used whatever their age (``data list`` reads
    what is on this machine and never downloads)."""
    _REVALIDATE.append(False)
    try:
        yield
    finally:
        _REVALIDATE.pop()


def describe_age(days: float) -> str:
    """``0.1`` -> "2h", ``3.5`` -> "3d": a short age for listings."""
    hours = days * 24
    if hours < 1:
        return f"{max(0, round(hours * 60))}m"
    return f"{hours:.0f}h" if hours < 48 else f"{days:.0f}d"


def _cache_root() -> Path:
    """The cache folder, created 0700, or refused when another user could have written it."""
    return private_folder(cache_dir(), "ROTATION_CACHE_DIR")


def _inside_cache(relative: str) -> Path:
    path = resolve_inside(_cache_root(), relative)
    if path is None:
        raise DataError(f"{excerpt(relative, 80)} leads out of the cache folder (a symlink?)")
    return path


def _cached_path(raw: RawFile) -> Path:
    return _inside_cache(f"downloads/{raw.mirror_relpath}")


def _mirror_path(mirror: Path, raw: RawFile) -> Path:
    """The file of ``raw`` in the mirror; a symlink out of the mirror is refused."""
    path = resolve_inside(mirror, raw.mirror_relpath)
    if path is None:
        raise DataError(
            "leads out of the mirror (a symlink?); only files inside ROTATION_MIRROR are read",
            file=str(mirror / raw.mirror_relpath),
        )
    return path


def _meta_path(raw: RawFile) -> Path:
    p = _cached_path(raw)
    return p.with_name(p.name + ".meta.json")


def download_meta(raw: RawFile) -> DownloadMeta | None:
    """The record of the cached download of ``raw`` (None when there is none or it is unreadable)."""
    try:
        d = json.loads(_meta_path(raw).read_text())
        return DownloadMeta(**{k: d[k] for k in DownloadMeta.__dataclass_fields__})
    except (OSError, ValueError, KeyError, TypeError):
        return None


def where_from(raw: RawFile) -> tuple[str, str]:
    """Where :func:`read_raw` would take ``raw`` from, without reading it: ("mirror", path),
    ("cache", path), ("missing", mirror path) or ("url", URL)."""
    mirror = mirror_dir()
    if mirror is not None:
        p = mirror / raw.mirror_relpath
        return ("mirror" if _mirror_path(mirror, raw).is_file() else "missing", str(p))
    cached = _cached_path(raw)
    return ("cache", str(cached)) if cached.is_file() else ("url", raw.url)


def _mirror_hint(raw: RawFile) -> str:
    return (
        f"Offline? Set ROTATION_MIRROR to a folder laid out like shared/data "
        f"(e.g. ROTATION_MIRROR=../shared/data) holding {raw.mirror_relpath}."
    )


def read_raw(raw: RawFile, parse: Parser | None = None) -> tuple[bytes, str]:
    """Return the raw bytes of ``raw`` and where they were read from ("mirror", "cache", "url").

    Without a mirror, a cached download older than its max age is first revalidated (a failure
    keeps the cached copy and prints one warning line); with ``parse`` a new download must parse
    before it replaces anything.

    Raises
    ------
    DataError
        The mirror is set but lacks the file, the file is empty, or a first download was refused
        (set aside; the message gives its path).
    NetworkError
        No mirror, no cached download, and the URL could not be fetched.
    """
    mirror = mirror_dir()
    if mirror is not None:
        p = _mirror_path(mirror, raw)
        if not p.is_file():
            raise DataError(
                "not found in the mirror (ROTATION_MIRROR points to a folder laid out like "
                "shared/data: <source>/<file>)",
                file=str(mirror / raw.mirror_relpath),
            )
        data, where = _read_capped(p, raw), "mirror"
    else:
        data, where, _ = _online_bytes(raw, parse)
    if not data.strip():
        raise DataError("file is empty", file=raw.mirror_relpath)
    return data, where


def _online_bytes(
    raw: RawFile, parse: Parser | None
) -> tuple[bytes, str, dict[str, pd.DataFrame] | None]:
    cached = _cached_path(raw)
    meta = download_meta(raw)
    if cached.is_file():
        limit = max_age(raw) if _REVALIDATE[-1] else None
        # A copy without its record (e.g. from an older version) is revalidated like a stale one.
        if limit is None or (meta is not None and meta.age_days() < limit):
            return _read_capped(cached, raw), "cache", None
        r = refresh(raw, parse, older_than=limit)
        if r.status == "failed":
            print(f"rotation: warning: {_failed_line(r)}", file=sys.stderr)
            return _read_capped(cached, raw), "cache", None
        fetched = r.status in ("updated", "downloaded")
        return _read_capped(cached, raw), ("url" if fetched else "cache"), r.tables
    r = refresh(raw, parse)
    if r.status == "failed":
        if r.refused:
            raise DataError(r.reason)
        gone = (
            f"The publisher discontinued this file {raw.discontinued}; only its last edition "
            "can be read. "
            if raw.discontinued
            else ""
        )
        # The publisher answered (e.g. 404): being offline is not the cause, so no mirror hint.
        hint = "" if 400 <= r.http_status < 500 else _mirror_hint(raw)
        raise NetworkError(f"could not download {raw.url} ({r.reason}). {gone}{hint}".rstrip())
    return _read_capped(cached, raw), "url", r.tables


def _failed_line(r: RefreshResult) -> str:
    kept = (
        f"kept vintage {r.meta.vintage or '?'} retrieved at {r.meta.retrieved_at}"
        if r.meta
        else "no earlier copy"
    )
    return f"{r.raw.mirror_relpath}: {r.reason}; {kept}"


def refresh(
    raw: RawFile,
    parse: Parser | None = None,
    *,
    force: bool = False,
    older_than: float | None = None,
) -> RefreshResult:
    """Revalidate the cached download of ``raw`` with its publisher now.

    A conditional GET (``If-None-Match`` / ``If-Modified-Since``) costs a 304 when nothing
    changed. A new body replaces the cached file only after :func:`_check_download` accepts it;
    otherwise it is set aside and the result is "failed" with the reason. Never raises for a
    failed download. ``force`` re-downloads a discontinued file too. With ``older_than`` (days)
    a copy that another process revalidated meanwhile is left alone ("fresh").
    """
    from filelock import FileLock

    try:
        cached = _cached_path(raw)
        cached.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(cached) + ".lock", timeout=120):
            return _refresh_locked(raw, parse, cached, force=force, older_than=older_than)
    except OSError as e:  # a read-only or full cache: an outcome like any other failure
        meta = download_meta(raw)
        what = e.strerror or type(e).__name__
        where = f": {e.filename}" if e.filename else ""
        return RefreshResult(
            raw,
            "failed",
            meta.vintage if meta else "",
            reason=f"the cache cannot be written ({what}{where})",
            meta=meta,
        )


def _refresh_locked(
    raw: RawFile,
    parse: Parser | None,
    cached: Path,
    *,
    force: bool,
    older_than: float | None,
) -> RefreshResult:
    meta = download_meta(raw) if cached.is_file() else None
    if raw.discontinued and meta is not None and not force:
        return RefreshResult(raw, "discontinued", meta.vintage, meta.vintage, meta=meta)
    if older_than is not None and meta is not None and meta.age_days() < older_than:
        return RefreshResult(raw, "fresh", meta.vintage, meta.vintage, meta=meta)
    try:
        resp = _fetch_response(raw, meta)
    except DownloadError as e:
        return RefreshResult(
            raw,
            "failed",
            meta.vintage if meta else "",
            reason=e.reason,
            meta=meta,
            http_status=e.status,
        )
    now = _now()
    if resp.status == 304 and meta is not None:
        meta = DownloadMeta(**{**asdict(meta), "checked_at": now})
        _write_meta(raw, meta)
        return RefreshResult(raw, "unchanged", meta.vintage, meta.vintage, meta=meta)
    try:
        data = _unpack(raw, resp.body)
        old = _old_tables(raw, parse) if meta else None
        tables = _check_download(raw, parse, data, old)
    except DataError as e:
        aside = _set_aside(raw, resp.body)
        reason = f"refused download from {raw.url}: {e}; set aside at {aside}"
        return RefreshResult(
            raw, "failed", meta.vintage if meta else "", reason=reason, meta=meta, refused=True
        )
    sha = hashlib.sha256(data).hexdigest()
    vintage = _vintage(tables) if tables else ""
    rows = sum(len(t) for t in tables.values()) if tables else 0
    new = DownloadMeta(
        url=raw.url,
        retrieved_at=now if meta is None or meta.sha256 != sha else meta.retrieved_at,
        checked_at=now,
        etag=resp.etag,
        last_modified=resp.last_modified,
        sha256=sha,
        vintage=vintage,
        rows=rows,
    )
    if meta is not None and meta.sha256 == sha:
        _write_meta(raw, new)
        return RefreshResult(raw, "unchanged", meta.vintage, vintage, meta=new, tables=tables)
    _atomic_write_bytes(cached, data)
    _write_meta(raw, new)
    status = "downloaded" if meta is None else "updated"
    return RefreshResult(
        raw, status, meta.vintage if meta else "", vintage, meta=new, tables=tables
    )


def _old_tables(raw: RawFile, parse: Parser | None) -> dict[str, pd.DataFrame] | None:
    """The parse of the cached file a download would replace (None if it does not parse)."""
    if parse is None:
        return None
    try:
        return _parse_file(raw, parse, _read_capped(_cached_path(raw), raw))
    except (DataError, OSError):
        return None


def _fetch_response(raw: RawFile, meta: DownloadMeta | None) -> Response:
    if raw.download is not None:
        return raw.download(raw, meta)
    same_url = meta is not None and meta.url == raw.url
    return http_get(
        raw.url,
        etag=meta.etag if same_url else "",
        last_modified=meta.last_modified if same_url else "",
        tries=1 if raw.discontinued else 3,
        label=raw.path,
        max_bytes=max_bytes(raw.source),
    )


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _unpack(raw: RawFile, body: bytes) -> bytes:
    if not raw.zipped:
        return body
    refuse_error_page(body)
    try:
        return unzip_single(body, max_bytes(raw.source))
    except (zipfile.BadZipFile, EOFError, zlib.error, NotImplementedError) as e:
        raise DataError(f"not a zip file that opens ({e})") from None


def _parse(raw: RawFile, parse: Parser, data: bytes) -> dict[str, pd.DataFrame]:
    """``parse(data)`` within the caps of :mod:`._limits` (workbook size, rows per table)."""
    if raw.path.lower().endswith(".xlsx"):
        check_xlsx(data, raw.mirror_relpath)
    tables = parse(data, raw.mirror_relpath)
    check_rows(tables, raw.mirror_relpath)
    return tables


def _read_capped(path: Path, raw: RawFile) -> bytes:
    """The bytes of a mirror or cache file, refused unread when larger than its source's cap."""
    size = path.stat().st_size
    if size > max_bytes(raw.source):
        raise DataError(
            f"{size:,} bytes, more than the {max_bytes(raw.source):,} a {raw.source} file may have",
            file=str(path),
        )
    return path.read_bytes()


_TEXT_SUFFIXES = (".csv", ".txt")


def refuse_error_page(data: bytes) -> None:
    """An HTML page or a JSON error body served with HTTP 200 is not the data."""
    head = data[:1024].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html", b"<?xml")) or b"<html" in head[:256]:
        title = re.search(rb"<title>(.*?)</title>", data[:4096], re.I | re.S)
        what = (
            f" titled {title.group(1).decode('utf-8', 'replace').strip()[:80]!r}" if title else ""
        )
        raise DataError(f"an HTML page{what}, not the data")
    if head.startswith((b"{", b"[")):
        try:
            obj = json.loads(data.decode("utf-8", "replace"))
        except ValueError:
            obj = None
        msg = ""
        if isinstance(obj, dict):
            for k in ("Error Message", "Note", "Information", "error", "message"):
                if k in obj:
                    msg = f" ({k}: {str(obj[k])[:160]})"
                    break
        raise DataError(f"a JSON error body{msg}, not the data")


def _check_download(
    raw: RawFile,
    parse: Parser | None,
    data: bytes,
    old: dict[str, pd.DataFrame] | None,
) -> dict[str, pd.DataFrame] | None:
    """Accept ``data`` or raise DataError saying why: an error page, a text file cut mid-line,
    a file that does not parse, or one shorter than the good file it would replace."""
    if not data.strip():
        raise DataError("the file is empty")
    refuse_error_page(data)
    if raw.path.lower().endswith(_TEXT_SUFFIXES) and not data.endswith(b"\n"):
        raise DataError("cut mid-line: the last line has no line end")
    if parse is None:
        return None
    tables = _parse(raw, parse, data)
    if old:
        why = _shorter(old, tables)
        if why:
            raise DataError(f"shorter than the cached file ({why})")
        why = _other_series(raw, old, tables)
        if why:
            raise DataError(f"not the same series as the cached file ({why})")
    return tables


def _shorter(old: dict[str, pd.DataFrame], new: dict[str, pd.DataFrame]) -> str:
    """Why ``new`` looks like a cut-down ``old`` (a table gone, fewer rows, an earlier end)."""
    for title, o in old.items():
        n = new.get(title)
        if n is None:
            return f"table {title!r} is missing"
        if len(n) < len(o):
            return f"{title}: {len(n)} rows instead of {len(o)}"
        dated = _is_dated(o.index) and _is_dated(n.index) and len(o) and len(n)
        if dated and n.index.max() < o.index.max():
            return f"{title}: ends {n.index.max()} instead of {o.index.max()}"
    return ""


#: Share of overlapping dates on which a new price file may disagree with the cached one (an
#: adjusted series may be revised by a common factor, so its daily returns are compared; an
#: unadjusted one is not revised, so its closes are) and the tolerance of each comparison.
SAME_SERIES_TOLERANCE = 1e-3
SAME_SERIES_MAX_SHARE = 0.02


def _other_series(raw: RawFile, old: dict[str, pd.DataFrame], new: dict[str, pd.DataFrame]) -> str:
    """Why a new price file is not the series it replaces (e.g. another ticker's closes served
    for this one), or "" when the closes agree on the dates both hold."""
    from .prices import PROVIDER_BASIS, UNADJUSTED

    o, n = old.get("prices"), new.get("prices")
    if raw.source != "prices" or o is None or n is None or "close" not in o or "close" not in n:
        return ""
    both = o.index.intersection(n.index)
    if len(both) < 2:
        return ""
    a, b = o.loc[both, "close"].astype(float), n.loc[both, "close"].astype(float)
    if PROVIDER_BASIS.get(raw.path.split("/", 1)[0]) == UNADJUSTED:
        off = ((b / a - 1).abs() > SAME_SERIES_TOLERANCE).to_numpy()
        what = "closes"
    else:
        off = ((b.pct_change() - a.pct_change()).abs().iloc[1:] > SAME_SERIES_TOLERANCE).to_numpy()
        what = "daily returns"
    if off.mean() > SAME_SERIES_MAX_SHARE:
        return (
            f"{what} differ by more than {SAME_SERIES_TOLERANCE:.1%} on {int(off.sum())} of "
            f"{len(off)} common dates"
        )
    return ""


def _is_dated(idx: pd.Index) -> bool:
    return isinstance(idx, pd.PeriodIndex | pd.DatetimeIndex)


def _vintage(tables: dict[str, pd.DataFrame]) -> str:
    return str(next(iter(tables.values())).attrs.get("vintage", "")) if tables else ""


#: Refused downloads kept per file under ``downloads/rejected/`` (older ones are deleted), and
#: the bytes kept of each (the head of a larger body: enough to see what the server sent).
REJECTED_KEEP = 3
REJECTED_MAX_BYTES = 4 << 20


def _set_aside(raw: RawFile, body: bytes) -> Path:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    p = _inside_cache(f"downloads/rejected/{raw.mirror_relpath}.{stamp}")
    _atomic_write_bytes(p, body[:REJECTED_MAX_BYTES])
    kept = sorted(p.parent.glob(f"{glob_escape(p.name.rsplit('.', 1)[0])}.*Z"))
    for old in kept[:-REJECTED_KEEP]:
        old.unlink(missing_ok=True)
    return p


def _write_meta(raw: RawFile, meta: DownloadMeta) -> None:
    _atomic_write_bytes(_meta_path(raw), json.dumps(asdict(meta), indent=1).encode())


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


# --- the parse cache -----------------------------------------------------------------------


def parser_version(parse: Parser) -> str:
    """``PARSER_VERSION`` of the module defining ``parse`` (bumped when its output changes)."""
    return str(getattr(sys.modules.get(parse.__module__), "PARSER_VERSION", "0"))


#: Version of the entry layout below (part of the file name, so an older layout is not read).
ENTRY_FORMAT = "1"
#: Largest cache entry read back, in bytes (the largest real parse, French 25 portfolios: ~2 MB).
MAX_ENTRY_BYTES = 256 << 20


def _entry_path(raw: RawFile, parse: Parser, sha: str) -> Path:
    module = parse.__module__.rsplit(".", 1)[-1]
    pandas_major = pd.__version__.split(".", 1)[0]
    name = f"{sha}-p{parser_version(parse)}-pd{pandas_major}-e{ENTRY_FORMAT}.zip"
    return _inside_cache(f"parsed/{raw.source}-{module}/{name}")


def _read_entry(entry: Path) -> dict[str, pd.DataFrame] | None:
    """A cached parse, or None when there is none.

    An entry is a zip of ``index.json`` (the table titles in order, each with its member name)
    and one parquet file per table: data only, so a planted entry can at worst hold wrong
    numbers for a file whose sha256 it claims, never run code. An entry that fails to read is
    reported in one line on stderr and None returned, so the caller parses the raw file again
    and overwrites it.
    """
    import pyarrow

    try:
        if entry.stat().st_size > MAX_ENTRY_BYTES:
            raise ValueError(f"larger than {MAX_ENTRY_BYTES:,} bytes")
        with zipfile.ZipFile(entry) as z:
            index = json.loads(z.read("index.json")[: 1 << 20])
            if not isinstance(index, dict) or index.get("format") != ENTRY_FORMAT:
                raise ValueError("not an entry of this format")
            tables = {}
            for item in index["tables"]:
                title, member = str(item["title"]), str(item["member"])
                info = z.getinfo(member)
                if info.file_size > MAX_ENTRY_BYTES:
                    raise ValueError(f"{member} too large")
                tables[title] = pd.read_parquet(io.BytesIO(z.read(info)))
        return tables
    except FileNotFoundError:
        return None
    except (
        OSError,
        ValueError,
        KeyError,
        TypeError,
        zipfile.BadZipFile,
        pyarrow.ArrowException,
    ) as e:
        print(
            f"rotation: cache entry {entry} unreadable ({type(e).__name__}); rebuilding",
            file=sys.stderr,
        )
        return None


def _same_frame(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    return (
        a.equals(b)
        and type(a.index) is type(b.index)
        and a.index.dtype == b.index.dtype
        and a.index.equals(b.index)
        and list(a.columns) == list(b.columns)
        and a.attrs == b.attrs
    )


def _write_entry(entry: Path, tables: dict[str, pd.DataFrame]) -> None:
    """Write a parse as a data-only entry and rename it into place (atomic for readers).

    A table that would not read back equal (a dtype parquet does not keep) is not cached: the
    file is parsed again next time rather than read back changed.
    """
    buf = io.BytesIO()
    index: dict = {"format": ENTRY_FORMAT, "tables": []}
    try:
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
            for i, (title, df) in enumerate(tables.items()):
                part = io.BytesIO()
                df.to_parquet(part)
                back = pd.read_parquet(io.BytesIO(part.getvalue()))
                if not _same_frame(back, df):
                    return
                member = f"t{i}.parquet"
                z.writestr(member, part.getvalue())
                index["tables"].append({"title": str(title), "member": member})
            z.writestr("index.json", json.dumps(index))
        _atomic_write_bytes(entry, buf.getvalue())
    except (OSError, ValueError, TypeError, ImportError):
        return  # a read-only or full cache, or a table parquet cannot hold, must not stop the analysis


def _parse_file(raw: RawFile, parse: Parser, data: bytes) -> dict[str, pd.DataFrame]:
    """``parse(data)`` through the parse cache."""
    entry = _entry_path(raw, parse, hashlib.sha256(data).hexdigest())
    tables = _read_entry(entry)
    if tables is None:
        tables = _parse(raw, parse, data)
        _write_entry(entry, tables)
    return tables


def load_tables(raw: RawFile, parse: Parser, base: Provenance) -> dict[str, pd.DataFrame]:
    """Read ``raw``, parse it (or take the cached parse) and attach provenance to every table.

    Parameters
    ----------
    raw : RawFile
        The file to read.
    parse : callable
        ``parse(data, filename) -> {title: DataFrame}``; a pure function of the bytes. Its
        module's ``PARSER_VERSION`` is part of the cache key.
    base : Provenance
        Publisher, title and URL; ``vintage`` may be filled by the parser through the
        ``"vintage"`` key of each frame's ``attrs``.

    Notes
    -----
    A cached download that no longer parses (a file damaged on disk, or a parser that became
    stricter) is moved to ``downloads/rejected/`` and downloaded again.
    """
    fresh: dict[str, pd.DataFrame] | None = None
    if mirror_dir() is None:
        data, where, fresh = _online_bytes(raw, parse)
    else:
        data, where = read_raw(raw, parse)
    if not data.strip():
        raise DataError("file is empty", file=raw.mirror_relpath)
    sha = hashlib.sha256(data).hexdigest()
    entry = _entry_path(raw, parse, sha)
    tables = fresh if fresh is not None else _read_entry(entry)
    if tables is None:
        try:
            tables = _parse(raw, parse, data)
        except DataError as e:
            if where != "cache":
                raise
            data, where, tables = _replace_unparseable(raw, parse, e)
            sha = hashlib.sha256(data).hexdigest()
            entry = _entry_path(raw, parse, sha)
        fresh = tables
    if fresh is not None:
        _write_entry(entry, tables)
    extra = {}
    if where == "cache":
        meta = download_meta(raw)
        if meta is not None:
            extra = {"retrieved_at": meta.retrieved_at, "checked_at": meta.checked_at}
    out = {}
    for title, df in tables.items():
        vintage = df.attrs.get("vintage", base.vintage)
        prov = base.updated(
            sha256=sha,
            read_from=where,
            table=title if len(tables) > 1 else "",
            vintage=vintage,
            extra={**base.extra, **extra},
        )
        df.attrs = {"vintage": vintage}
        out[title] = with_provenance(df, prov)
    return out


def _replace_unparseable(
    raw: RawFile, parse: Parser, error: DataError
) -> tuple[bytes, str, dict[str, pd.DataFrame]]:
    cached = _cached_path(raw)
    aside = _set_aside(raw, _read_capped(cached, raw))
    cached.unlink(missing_ok=True)
    _meta_path(raw).unlink(missing_ok=True)
    print(
        f"rotation: warning: cached {raw.mirror_relpath} no longer parses ({error}); "
        f"moved to {aside}, downloading again",
        file=sys.stderr,
    )
    data, where, tables = _online_bytes(raw, parse)
    if tables is None:
        tables = _parse(raw, parse, data)
    return data, where, tables
