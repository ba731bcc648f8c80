"""HTTP downloads: retries through urllib3, timeouts, caps on size and time, progress.

Used only by :mod:`._fetch` (and the price provider adapters). ``requests`` honours the standard
proxy variables ``HTTPS_PROXY``, ``HTTP_PROXY``, ``ALL_PROXY`` and ``NO_PROXY``.

Retries are urllib3's (:class:`urllib3.util.Retry` on the session's adapter): connection errors,
HTTP 429 and 5xx, with exponential backoff and ``Retry-After`` honoured up to
:data:`MAX_RETRY_AFTER_S`. A body cut mid-transfer is asked for once more. A transfer must keep
up :data:`MIN_RATE_BPS` after :data:`MIN_DEADLINE_S` and stop at the caller's byte cap, so a
trickling or endless server neither holds a refresh's lock for hours nor fills the memory.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass

from ..errors import NetworkError

__all__ = [
    "CONNECT_TIMEOUT_S",
    "READ_TIMEOUT_S",
    "TRIES",
    "MIN_RATE_BPS",
    "MIN_DEADLINE_S",
    "MAX_RETRY_AFTER_S",
    "Response",
    "DownloadError",
    "http_get",
]

#: Seconds to open a connection.
CONNECT_TIMEOUT_S = 5.0
#: Seconds without a single byte arriving before a transfer is abandoned.
READ_TIMEOUT_S = 5.0
#: Attempts per download on connection errors, HTTP 429 and 5xx.
TRIES = 3
#: urllib3's backoff factor: waits of 0.5 s, then 1 s, ... between attempts.
BACKOFF_FACTOR = 0.5
#: The longest ``Retry-After`` waited for (a longer one is waited this long).
MAX_RETRY_AFTER_S = 30.0
#: Statuses that are retried.
RETRY_STATUSES = (429, 500, 502, 503, 504)
#: A transfer may take MIN_DEADLINE_S plus one second per MIN_RATE_BPS bytes received or
#: announced: a slow but steady line still delivers a large file, a trickle does not.
MIN_DEADLINE_S = 30.0
MIN_RATE_BPS = 20_000
#: Downloads larger than this show a tqdm bar on stderr (when stderr is a terminal).
PROGRESS_MIN_BYTES = 1_000_000
_CHUNK = 64 * 1024

_SESSIONS: dict[int, object] = {}


@dataclass(frozen=True)
class Response:
    """A finished download: ``status`` 200 with ``body``, or 304 (not modified) with no body."""

    url: str
    status: int
    body: bytes
    etag: str
    last_modified: str


class DownloadError(NetworkError):
    """A download that failed; ``reason`` is the short cause, ``status`` the HTTP status (or 0).
    ``cut`` is True when the body stopped short of its ``Content-Length`` (worth one retry)."""

    def __init__(self, url: str, reason: str, status: int = 0, *, cut: bool = False):
        self.url = url
        self.reason = reason
        self.status = status
        self.cut = cut
        super().__init__(f"could not download {url} ({reason})")


def _session(tries: int):
    """A session whose adapter retries ``tries - 1`` times (one per distinct retry policy)."""
    if tries not in _SESSIONS:
        import requests
        from requests.adapters import HTTPAdapter
        from urllib3.util import Retry

        class CappedRetry(Retry):
            def get_retry_after(self, response):
                after = super().get_retry_after(response)
                return None if after is None else min(after, MAX_RETRY_AFTER_S)

        retry = CappedRetry(
            total=tries - 1,
            read=0,  # no answer within the read timeout fails at once
            status_forcelist=RETRY_STATUSES,
            allowed_methods=frozenset({"GET"}),
            backoff_factor=BACKOFF_FACTOR,
            respect_retry_after_header=True,
            raise_on_status=False,  # the last answer is returned and reported with its status
        )
        s = requests.Session()  # trust_env: proxies and NO_PROXY from the environment
        s.headers["User-Agent"] = "rotation/0.1 (+https://pypi.org/project/rotation)"
        adapter = HTTPAdapter(max_retries=retry)
        s.mount("http://", adapter)
        s.mount("https://", adapter)
        _SESSIONS[tries] = s
    return _SESSIONS[tries]


def http_get(
    url: str,
    *,
    etag: str = "",
    last_modified: str = "",
    tries: int = TRIES,
    label: str = "",
    max_bytes: int | None = None,
) -> Response:
    """GET ``url``; with ``etag`` / ``last_modified`` as a conditional request (304 = unchanged).

    Parameters
    ----------
    tries : int
        Attempts in all on connection errors, HTTP 429 and 5xx (urllib3's ``Retry``); a body
        cut mid-transfer is asked for once more when ``tries`` > 1.
    max_bytes : int, optional
        The largest body accepted, in bytes (announced or received); larger is refused at once.

    Raises
    ------
    DownloadError
        The reason in a few words: the HTTP status, "no answer within 5 s", a connection error,
        "truncated: N of M bytes" (raw bytes against ``Content-Length``, so a gzip-encoded body
        counts right), "too slow", or "larger than the cap".
    """
    _check_resolves(url)
    headers = {"Accept-Encoding": "gzip, identity"}  # servers may send gzip whatever we ask
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    try:
        return _get_once(url, headers, tries, label, max_bytes)
    except DownloadError as e:
        if not e.cut or tries < 2:
            raise
        time.sleep(BACKOFF_FACTOR)
        try:
            return _get_once(url, headers, tries, label, max_bytes)
        except DownloadError as again:
            if again.cut:
                raise DownloadError(url, f"{again.reason}; tried twice", cut=True) from None
            raise


def _get_once(
    url: str, headers: dict[str, str], tries: int, label: str, max_bytes: int | None
) -> Response:
    import requests
    from urllib3.exceptions import ReadTimeoutError

    try:
        r = _session(tries).get(
            url, headers=headers, timeout=(CONNECT_TIMEOUT_S, READ_TIMEOUT_S), stream=True
        )
    except requests.exceptions.ConnectTimeout:
        reason = _tried(f"no connection within {CONNECT_TIMEOUT_S:g} s", tries)
        raise DownloadError(url, reason) from None
    except requests.exceptions.ReadTimeout:
        raise DownloadError(url, f"no answer within {READ_TIMEOUT_S:g} s") from None
    except requests.exceptions.ConnectionError as e:
        if isinstance(getattr(e.args[0] if e.args else None, "reason", None), ReadTimeoutError):
            raise DownloadError(url, f"no answer within {READ_TIMEOUT_S:g} s") from None
        raise DownloadError(url, _tried(f"connection failed: {_short(e)}", tries)) from None
    except requests.exceptions.RequestException as e:
        raise DownloadError(url, _short(e)) from None
    with r:
        if r.status_code == 304:
            return Response(
                url,
                304,
                b"",
                headers.get("If-None-Match", ""),
                headers.get("If-Modified-Since", ""),
            )
        if r.status_code == 200:
            body = _read_body(r, url, label, max_bytes)
            return Response(
                url, 200, body, r.headers.get("ETag", ""), r.headers.get("Last-Modified", "")
            )
        reason = f"HTTP {r.status_code} {r.reason or ''}".strip()
        if r.status_code in RETRY_STATUSES:
            reason = _tried(reason, tries)
        raise DownloadError(url, reason, r.status_code)


def _tried(reason: str, tries: int) -> str:
    return f"{reason}; tried {tries} times" if tries > 1 else reason


_RESOLVED: set[str] = set()


def _check_resolves(url: str) -> None:
    """Look the host up in a daemon thread: a hung DNS lookup (offline behind some resolvers) is
    not covered by the connect timeout and must not outlast it."""
    import ipaddress
    import socket
    import threading
    from urllib.parse import urlsplit

    host = urlsplit(url).hostname or ""
    try:
        ipaddress.ip_address(host)
        return  # a literal address needs no lookup
    except ValueError:
        pass
    if not host or host in _RESOLVED or _proxied():
        return
    result: list[BaseException | None] = []

    def run() -> None:
        try:
            socket.getaddrinfo(host, None)
            result.append(None)
        except OSError as e:
            result.append(e)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(CONNECT_TIMEOUT_S)
    if not result:
        raise DownloadError(url, f"could not resolve {host} within {CONNECT_TIMEOUT_S:g} s")
    if result[0] is not None:
        raise DownloadError(url, f"could not resolve {host} ({result[0]})")
    _RESOLVED.add(host)


def _proxied() -> bool:
    import os

    return any(
        os.environ.get(v)
        for v in (
            "HTTPS_PROXY",
            "https_proxy",
            "HTTP_PROXY",
            "http_proxy",
            "ALL_PROXY",
            "all_proxy",
        )
    )


def _read_body(r, url: str, label: str, max_bytes: int | None) -> bytes:
    """The body, read as it arrives (``read1``: a trickle is seen byte by byte), within the
    deadline and the byte cap; raw bytes on the wire are checked against ``Content-Length``."""
    from urllib3.exceptions import ProtocolError, ReadTimeoutError

    try:
        expected = int(r.headers.get("Content-Length", ""))
    except ValueError:
        expected = None
    cap = max_bytes
    if cap is not None and expected is not None and expected > cap:
        raise DownloadError(url, f"announces {expected:,} bytes, more than the {cap:,} accepted")
    bar = None
    if expected and expected > PROGRESS_MIN_BYTES:
        from tqdm.auto import tqdm

        bar = tqdm(
            total=expected,
            unit="B",
            unit_scale=True,
            desc=label or url.rsplit("/", 1)[-1][:40],
            file=sys.stderr,
            leave=False,
            disable=None,
        )
    raw = r.raw
    buf = bytearray()
    t0 = time.monotonic()
    allowance = MIN_DEADLINE_S + (expected or 0) / MIN_RATE_BPS
    try:
        while True:
            chunk = raw.read1(_CHUNK, decode_content=True)
            if not chunk:
                break
            buf += chunk
            if bar is not None:
                bar.update(raw.tell() - bar.n)
            if cap is not None and len(buf) > cap:
                raise DownloadError(url, f"more than the {cap:,} bytes accepted; stopped there")
            elapsed = time.monotonic() - t0
            if elapsed > max(allowance, MIN_DEADLINE_S + len(buf) / MIN_RATE_BPS):
                raise DownloadError(
                    url,
                    f"too slow: {len(buf):,} bytes in {elapsed:.0f} s "
                    f"(under {MIN_RATE_BPS // 1000} kB/s after {MIN_DEADLINE_S:g} s)",
                )
    except ReadTimeoutError:
        raise DownloadError(url, f"transfer stalled: no byte for {READ_TIMEOUT_S:g} s") from None
    except (ProtocolError, OSError) as e:
        if "timed out" in str(e).lower():
            raise DownloadError(
                url, f"transfer stalled: no byte for {READ_TIMEOUT_S:g} s"
            ) from None
        got = raw.tell()
        raise DownloadError(
            url,
            f"truncated: the connection closed after {got} of {expected or '?'} bytes",
            cut=True,
        ) from None
    finally:
        if bar is not None:
            bar.close()
    got = raw.tell()  # bytes on the wire (compressed when the server sent gzip)
    if expected is not None and got != expected:
        raise DownloadError(
            url, f"truncated: the connection closed after {got} of {expected} bytes", cut=True
        )
    return bytes(buf)


def _short(e: BaseException) -> str:
    """The innermost useful text of a requests/urllib3 error, on one line."""
    text = str(e)
    for marker in ("Caused by ", "Failed to establish a new connection: "):
        if marker in text:
            text = text.split(marker, 1)[1]
    return " ".join(text.split())[:160].rstrip("')")
