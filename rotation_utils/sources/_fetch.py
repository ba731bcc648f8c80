"""The only module that touches the network, the mirror or the disk cache.

Resolution order for a raw file: the hash-keyed parse cache (after reading the raw bytes from
the mirror or the download cache) -> the mirror (``ROTATION_MIRROR``) -> the official URL with a
short timeout. Parsed tables are cached as parquet under ``ROTATION_CACHE_DIR`` keyed by the
sha256 of the raw bytes, so a changed mirror file is re-parsed and a corrupt entry is rebuilt.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tempfile
import threading
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataError, NetworkError
from ..provenance import Provenance, with_provenance

__all__ = [
    "RawFile",
    "mirror_dir",
    "cache_dir",
    "read_raw",
    "where_from",
    "load_tables",
    "NETWORK_TIMEOUT_S",
]

#: Seconds a download may take before the loader gives up and names ROTATION_MIRROR.
NETWORK_TIMEOUT_S = 5.0
_CACHE_FORMAT = 4  # bump when the on-disk layout of parsed entries changes


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
        Official download URL.
    zipped : bool
        True when the URL serves a zip holding this single file.
    """

    source: str
    path: str
    url: str
    zipped: bool = False

    @property
    def mirror_relpath(self) -> str:
        return f"{self.source}/{self.path}"


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


def where_from(raw: RawFile) -> tuple[str, str]:
    """Where :func:`read_raw` would take ``raw`` from, without reading it: ("mirror", path),
    ("cache", path), ("missing", mirror path) or ("url", URL)."""
    mirror = mirror_dir()
    if mirror is not None:
        p = mirror / raw.mirror_relpath
        return ("mirror" if p.is_file() else "missing", str(p))
    cached = cache_dir() / "downloads" / raw.mirror_relpath
    return ("cache", str(cached)) if cached.is_file() else ("url", raw.url)


def read_raw(raw: RawFile) -> tuple[bytes, str]:
    """Return the raw bytes of ``raw`` and where they were read from ("mirror", "cache", "url").

    Raises
    ------
    DataError
        The mirror is set but lacks the file, or the file is empty.
    NetworkError
        No mirror, no cached download, and the URL could not be fetched within
        :data:`NETWORK_TIMEOUT_S` seconds.
    """
    mirror = mirror_dir()
    if mirror is not None:
        p = mirror / raw.mirror_relpath
        if not p.is_file():
            raise DataError(
                "not found in the mirror (ROTATION_MIRROR points to a folder laid out like "
                "shared/data: <source>/<file>)",
                file=str(p),
            )
        data = p.read_bytes()
        where = "mirror"
    else:
        cached = cache_dir() / "downloads" / raw.mirror_relpath
        if cached.is_file():
            data, where = cached.read_bytes(), "cache"
        else:
            data = _download(raw)
            _atomic_write_bytes(cached, data)
            where = "url"
    if not data.strip():
        raise DataError("file is empty", file=raw.mirror_relpath)
    return data, where


def _download(raw: RawFile) -> bytes:
    """Fetch the URL in a daemon thread so a hung DNS lookup cannot outlast the timeout."""
    result: dict[str, object] = {}

    def run() -> None:
        try:
            req = urllib.request.Request(raw.url, headers={"User-Agent": "rotation/0.1"})
            with urllib.request.urlopen(req, timeout=NETWORK_TIMEOUT_S) as r:
                result["data"] = r.read()
        except Exception as e:  # reported below with the hint
            result["error"] = e

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(NETWORK_TIMEOUT_S + 0.5)
    if "data" not in result:
        why = result.get("error") or f"no answer within {NETWORK_TIMEOUT_S:g} s"
        raise NetworkError(
            f"could not download {raw.url} ({why}). Offline? Set ROTATION_MIRROR to a folder laid "
            f"out like shared/data (e.g. ROTATION_MIRROR=../shared/data) holding "
            f"{raw.mirror_relpath}."
        )
    data = result["data"]
    assert isinstance(data, bytes)
    if raw.zipped:
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                data = z.read(z.namelist()[0])
        except zipfile.BadZipFile as e:
            raise DataError(f"download is not a zip file ({e})", file=raw.url) from None
    return data


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


Parser = Callable[[bytes, str], dict[str, pd.DataFrame]]


def load_tables(
    raw: RawFile, parse: Parser, base: Provenance, *, parser_version: str = "1"
) -> dict[str, pd.DataFrame]:
    """Read ``raw``, parse it (or take the cached parse) and attach provenance to every table.

    Parameters
    ----------
    raw : RawFile
        The file to read.
    parse : callable
        ``parse(data, filename) -> {title: DataFrame}``; a pure function of the bytes.
    base : Provenance
        Publisher, title and URL; ``vintage`` may be filled by the parser through the
        ``"vintage"`` key of each frame's ``attrs``.
    parser_version : str
        Part of the cache key, bumped when a parser's output changes.
    """
    data, where = read_raw(raw)
    sha = hashlib.sha256(data).hexdigest()
    key = f"{raw.source}-{parse.__module__.rsplit('.', 1)[-1]}-{parser_version}-{_CACHE_FORMAT}"
    entry = cache_dir() / "parsed" / key / sha
    tables = _read_entry(entry)
    if tables is None:
        tables = parse(data, raw.mirror_relpath)
        _write_entry(entry, tables)
    out = {}
    for title, df in tables.items():
        vintage = df.attrs.get("vintage", base.vintage)
        prov = base.updated(
            sha256=sha,
            read_from=where,
            table=title if len(tables) > 1 else "",
            vintage=vintage,
        )
        df.attrs = {"vintage": vintage}
        out[title] = with_provenance(df, prov)
    return out


def _index_kind(idx: pd.Index) -> str:
    if isinstance(idx, pd.PeriodIndex):
        return "period:" + idx.freqstr
    if isinstance(idx, pd.DatetimeIndex):
        return "datetime"
    return "plain"


def _is_block(df: pd.DataFrame) -> bool:
    """A table that fits the fast layout: float columns on a period index."""
    return isinstance(df.index, pd.PeriodIndex) and all(t == "float64" for t in map(str, df.dtypes))


def _write_entry(entry: Path, tables: dict[str, pd.DataFrame]) -> None:
    """Cache a parse in two parquet files read once each on a hit: float tables on a period index
    (most tables) flattened into one column of ``blocks.parquet``, the rest side by side in
    ``wide.parquet``. Written to a temp folder beside ``entry`` and renamed into place."""
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=entry.parent, prefix=f".{entry.name}."))
        meta, parts, blocks, offset = [], [], [], 0
        for i, (title, df) in enumerate(tables.items()):
            m = {
                "title": title,
                "index": _index_kind(df.index),
                "index_names": list(df.index.names),
                "rows": len(df),
                "columns": list(map(str, df.columns)),
                "vintage": df.attrs.get("vintage", ""),
            }
            if _is_block(df):
                # index ordinals then the values, column by column; ordinals are exact in float64
                arr = np.column_stack([df.index.asi8.astype(float), df.to_numpy(dtype=float)])
                blocks.append(arr.ravel(order="F"))
                m.update(layout="block", offset=offset)
                offset += arr.size
            else:
                flat = df.copy()
                flat.attrs = {}
                if isinstance(df.index, pd.PeriodIndex):
                    flat.index = pd.Index(df.index.asi8)
                flat = flat.reset_index(names=[f"{i}:index:{n}" for n in range(df.index.nlevels)])
                index_cols = list(flat.columns[: df.index.nlevels])
                flat.columns = index_cols + [f"{i}:{c}" for c in df.columns]
                parts.append(flat)
                m.update(
                    layout="wide",
                    dtypes={str(c): str(t) for c, t in df.dtypes.items()},
                    index_dtypes=[str(flat[c].dtype) for c in index_cols],
                )
            meta.append(m)
        if blocks:
            pd.DataFrame({"v": np.concatenate(blocks)}).to_parquet(tmp / "blocks.parquet")
        if parts:
            pd.concat(parts, axis=1).to_parquet(tmp / "wide.parquet")
        (tmp / "tables.json").write_text(json.dumps(meta))
        try:
            os.replace(tmp, entry)
        except OSError:  # another process published the same entry first
            shutil.rmtree(tmp, ignore_errors=True)
    except OSError:
        # A read-only or full cache must not stop the analysis; the parse is still returned.
        return


def _read_entry(entry: Path) -> dict[str, pd.DataFrame] | None:
    """Load a cached parse; a missing, partial or corrupt entry is removed and None returned."""
    meta_path = entry / "tables.json"
    if not meta_path.is_file():
        return None
    try:
        meta = json.loads(meta_path.read_text())
        blocks = wide = None
        if any(m["layout"] == "block" for m in meta):
            blocks = pd.read_parquet(entry / "blocks.parquet")["v"].to_numpy()
        if any(m["layout"] == "wide" for m in meta):
            wide = pd.read_parquet(entry / "wide.parquet")
        out = {}
        for i, m in enumerate(meta):
            n, cols, kind = m["rows"], m["columns"], m["index"]
            if m["layout"] == "block":
                arr = blocks[m["offset"] : m["offset"] + n * (len(cols) + 1)].reshape(
                    (n, len(cols) + 1), order="F"
                )
                index = pd.PeriodIndex.from_ordinals(
                    arr[:, 0].astype(np.int64), freq=kind.split(":", 1)[1]
                )
                df = pd.DataFrame(arr[:, 1:].copy(), columns=cols)
            else:
                idx_cols = [f"{i}:index:{k}" for k in range(len(m["index_names"]))]
                block = wide[idx_cols + [f"{i}:{c}" for c in cols]].iloc[:n]
                levels = [
                    block[c].astype(t) for c, t in zip(idx_cols, m["index_dtypes"], strict=True)
                ]
                if kind.startswith("period:"):
                    index = pd.PeriodIndex.from_ordinals(
                        levels[0].to_numpy(), freq=kind.split(":", 1)[1]
                    )
                elif len(levels) > 1:
                    index = pd.MultiIndex.from_arrays(levels)
                else:
                    index = pd.Index(levels[0].to_numpy())
                df = block.iloc[:, len(idx_cols) :].copy()
                df.columns = cols
                df = df.astype(m["dtypes"])
            index.names = m["index_names"]
            df.index = index
            df.attrs = {"vintage": m.get("vintage", "")}
            out[m["title"]] = df
        return out
    except Exception:
        shutil.rmtree(entry, ignore_errors=True)
        return None
