"""A stand-in for the data publishers, on 127.0.0.1 only, serving the mirror's files in the
publishers' shapes: French zips, FRED's ``fredgraph.csv?id=``, Shiller's xls and the datahub CSV,
the S&P DJI xlsx, and Alpha Vantage's CSV (with its JSON error bodies), each with an ETag and a
Last-Modified header and answering conditional GETs with 304.

A test changes what a route serves with :meth:`Publisher.publish` and queues one-off misbehaviour
with :meth:`Publisher.then` (an HTML page, a status code, a truncated or slow transfer).
"""

from __future__ import annotations

import email.utils
import functools
import gzip
import hashlib
import io
import json
import socket
import threading
import time
import zipfile
from collections import defaultdict, deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

HOST = "127.0.0.1"
AV_KEY = "test-key"


@dataclass
class Doc:
    body: bytes
    etag: str
    last_modified: str


def _doc(body: bytes, when: float | None = None) -> Doc:
    etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
    return Doc(body, etag, email.utils.formatdate(when or time.time(), usegmt=True))


@functools.lru_cache(maxsize=64)
def av_csv_from_mirror(mirror: Path, ticker: str) -> bytes | None:
    """Alpha Vantage's CSV shape (``timestamp,open,high,low,close,volume``, newest first) of the
    mirror's prices for ``ticker``, the providers spliced as the package splices them."""
    from rotation_utils.errors import DataError
    from rotation_utils.sources.prices import PROVIDERS, parse_prices, splice_closes

    parts = []
    for folder, pattern, _, _ in PROVIDERS:
        p = mirror / "prices" / folder / pattern.format(t=ticker)
        if p.is_file():
            parts.append((folder, parse_prices(p.read_bytes(), p.name)["prices"]["close"]))
    while parts:
        try:
            close = splice_closes(parts)[0]
            break
        except DataError:
            parts.pop()
    else:
        return None
    lines = ["timestamp,open,high,low,close,volume"]
    for d, c in close.iloc[::-1].items():
        v = f"{c:.4f}"
        lines.append(f"{d:%Y-%m-%d},{v},{v},{v},{v},0")
    return ("\n".join(lines) + "\n").encode()


class Publisher:
    """The stand-in server. Routes are keyed by a short name: ``french/<stem>``, ``fred/<ID>``,
    ``shiller/ie_data.xls``, ``shiller/data.csv``, ``spdji/sp-500-eps-est.xlsx``, ``av/<TICKER>``."""

    def __init__(self, mirror: Path | None):
        self.mirror = mirror
        self.docs: dict[str, Doc] = {}
        self.queued: dict[str, deque] = defaultdict(deque)
        self.hits: list[tuple[str, int]] = []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer((HOST, 0), _Handler)
        self.server.daemon_threads = True
        self.server.publisher = self  # type: ignore[attr-defined]
        self.port = self.server.server_address[1]
        self.base = f"http://{HOST}:{self.port}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    # -- what is published ---------------------------------------------------------------

    def publish(self, key: str, body: bytes | str, *, when: float | None = None) -> None:
        """Serve ``body`` at ``key`` from now on (a new ETag and Last-Modified)."""
        data = body.encode() if isinstance(body, str) else body
        with self.lock:
            self.docs[key] = _doc(data, when)

    def then(self, key: str, *behaviours: tuple) -> None:
        """Answer the next requests for ``key`` with these, one each, then normally again:
        ``("status", 404)`` (or ``("status", 503, "3")`` with that Retry-After), ``("body",
        bytes)`` (200 with that body), ``("cut", n)`` (the real Content-Length, only n bytes,
        then close), ``("slow", seconds)``, ``("gzip",)`` (the body gzip-encoded whatever was
        asked), ``("junk", n)`` (n bytes of junk, no Content-Length), ``("trickle", seconds)``
        (one byte per interval)."""
        with self.lock:
            self.queued[key].extend(behaviours)

    def doc(self, key: str) -> Doc | None:
        with self.lock:
            if key not in self.docs:
                body = self._from_mirror(key)
                if body is None:
                    return None
                self.docs[key] = _doc(body, time.time() - 86400)
            return self.docs[key]

    def _from_mirror(self, key: str) -> bytes | None:
        if self.mirror is None:
            return None
        kind, _, name = key.partition("/")
        m = self.mirror
        if kind == "french":
            p = m / "french" / f"{name}.CSV"
            if not p.is_file():
                return None
            buf = io.BytesIO()
            with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
                z.writestr(p.name, p.read_bytes())
            return buf.getvalue()
        paths = {
            "fred": m / "fred" / f"{name}.csv",
            "shiller": m
            / "shiller"
            / ("ie_data.xls" if name == "ie_data.xls" else "datahub_sp500_data.csv"),
            "spdji": m / "spglobal" / "sp-500-eps-est.xlsx",
        }
        if kind == "av":
            return av_csv_from_mirror(m, name)
        p = paths.get(kind)
        return p.read_bytes() if p is not None and p.is_file() else None

    # -- URLs the package is pointed at ----------------------------------------------------

    def env(self) -> dict[str, str]:
        b = self.base
        return {
            "ROTATION_URL_FRENCH": f"{b}/french/{{name}}_CSV.zip",
            "ROTATION_URL_FRED": f"{b}/fred/fredgraph.csv?id={{series}}",
            "ROTATION_URL_SHILLER": f"{b}/shiller/ie_data.xls",
            "ROTATION_URL_SHILLER_DATAHUB": f"{b}/shiller/data.csv",
            "ROTATION_URL_SPDJI": f"{b}/spdji/sp-500-eps-est.xlsx",
            "ROTATION_URL_ALPHAVANTAGE": f"{b}/av/query?function=TIME_SERIES_DAILY&symbol={{ticker}}&outputsize=full&datatype=csv",
            "ALPHAVANTAGE_API_KEY": AV_KEY,
            "NO_PROXY": HOST,
            "no_proxy": HOST,
        }

    def statuses(self, key: str) -> list[int]:
        with self.lock:
            return [s for k, s in self.hits if k == key]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:
        pub: Publisher = self.server.publisher  # type: ignore[attr-defined]
        url = urlsplit(self.path)
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        parts = url.path.strip("/").split("/")
        key = ""
        if parts[0] == "french" and len(parts) == 2:
            key = "french/" + parts[1].removesuffix("_CSV.zip")
        elif parts[0] == "fred" and "id" in q:
            key = "fred/" + q["id"]
        elif parts[0] in ("shiller", "spdji") and len(parts) == 2:
            key = f"{parts[0]}/{parts[1]}"
        elif parts[0] == "av":
            key = "av/" + q.get("symbol", "")
            if q.get("apikey") != AV_KEY or q.get("outputsize") != "full":
                msg = {
                    "Error Message": "Invalid API call. Please retry or visit the documentation."
                }
                return self._send(key, 200, json.dumps(msg).encode(), "application/json")
        with pub.lock:
            behaviour = pub.queued[key].popleft() if pub.queued.get(key) else ("ok",)
        kind = behaviour[0]
        if kind == "status":
            code = behaviour[1]
            extra = {"Retry-After": "0"} if code == 429 else {}
            if len(behaviour) > 2:
                extra = {"Retry-After": behaviour[2]}
            return self._send(key, code, f"{code}\n".encode(), "text/plain", extra)
        if kind == "body":
            return self._send(
                key,
                200,
                behaviour[1],
                "text/html" if b"<html" in behaviour[1][:200].lower() else "text/plain",
            )
        doc = pub.doc(key)
        if doc is None:
            return self._send(key, 404, b"Not Found\n", "text/plain")
        if kind == "ok" and (
            self.headers.get("If-None-Match") == doc.etag
            or (
                not self.headers.get("If-None-Match")
                and self.headers.get("If-Modified-Since") == doc.last_modified
            )
        ):
            return self._send(key, 304, b"", "", {"ETag": doc.etag})
        headers = {"ETag": doc.etag, "Last-Modified": doc.last_modified}
        if kind == "cut":
            return self._send(
                key,
                200,
                doc.body[: behaviour[1]],
                "application/octet-stream",
                headers,
                length=len(doc.body),
            )
        if kind == "gzip":
            headers["Content-Encoding"] = "gzip"
            return self._send(
                key, 200, gzip.compress(doc.body), "application/octet-stream", headers
            )
        if kind == "junk":
            return self._send_junk(key, behaviour[1])
        if kind == "trickle":
            return self._send(
                key, 200, doc.body, "application/octet-stream", headers, every=behaviour[1]
            )
        if kind == "slow":
            return self._send(
                key, 200, doc.body, "application/octet-stream", headers, over=behaviour[1]
            )
        return self._send(key, 200, doc.body, "application/octet-stream", headers)

    def _send_junk(self, key, n: int) -> None:
        pub: Publisher = self.server.publisher  # type: ignore[attr-defined]
        with pub.lock:
            pub.hits.append((key, 200))
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Connection", "close")  # the body ends when the connection does
        self.close_connection = True
        self.end_headers()
        chunk = (b"junk," * 13107)[: 1 << 16]
        try:
            for _ in range(n >> 16):
                self.wfile.write(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _send(
        self, key, code, body, ctype, headers=None, *, length=None, over=0.0, every=0.0
    ) -> None:
        pub: Publisher = self.server.publisher  # type: ignore[attr-defined]
        with pub.lock:
            pub.hits.append((key, code))
        self.send_response(code)
        if ctype:
            self.send_header("Content-Type", ctype)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if code != 304:
            self.send_header("Content-Length", str(len(body) if length is None else length))
        if length is not None:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if code == 304:
            return
        try:
            if every:
                for i in range(len(body)):
                    self.wfile.write(body[i : i + 1])
                    self.wfile.flush()
                    time.sleep(every)
            elif over:
                n = 64
                step = max(1, len(body) // n)
                for i in range(0, len(body), step):
                    self.wfile.write(body[i : i + step])
                    self.wfile.flush()
                    time.sleep(over / n)
            else:
                self.wfile.write(body)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass


class SilentServer:
    """A socket on 127.0.0.1 that accepts connections and never answers (a hung publisher)."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind((HOST, 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://{HOST}:{self.port}"

    def close(self) -> None:
        self.sock.close()
