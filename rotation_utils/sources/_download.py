"""HTTP downloads: timeouts between bytes, retries with backoff, conditional requests, progress.

Used only by :mod:`._fetch` (and the price provider adapters). ``requests`` honours the standard
proxy variables ``HTTPS_PROXY``, ``HTTP_PROXY``, ``ALL_PROXY`` and ``NO_PROXY``.
"""

from __future__ import annotations

import re
import sys
import time
from dataclasses import dataclass

from ..errors import NetworkError

__all__ = [
    "CONNECT_TIMEOUT_S",
    "READ_TIMEOUT_S",
    "TRIES",
    "Response",
    "DownloadError",
    "http_get",
]

#: Seconds to open a connection.
CONNECT_TIMEOUT_S = 5.0
#: Seconds without a single byte arriving before a transfer is abandoned (not a cap on the
#: whole transfer: a large file on a slow but steady line still arrives).
READ_TIMEOUT_S = 5.0
#: Attempts per download on connection errors, HTTP 429 and 5xx.
TRIES = 3
#: Seconds to wait before the second and third attempt (a shorter ``Retry-After`` wins).
BACKOFF_S = (0.5, 1.5)
#: Downloads larger than this show a tqdm bar on stderr (when stderr is a terminal).
PROGRESS_MIN_BYTES = 1_000_000

_SESSION = None


@dataclass(frozen=True)
class Response:
    """A finished download: ``status`` 200 with ``body``, or 304 (not modified) with no body."""

    url: str
    status: int
    body: bytes
    etag: str
    last_modified: str


class DownloadError(NetworkError):
    """A download that failed; ``reason`` is the short cause, ``status`` the HTTP status (or 0)."""

    def __init__(self, url: str, reason: str, status: int = 0):
        self.url = url
        self.reason = reason
        self.status = status
        super().__init__(f"could not download {url} ({reason})")


def _session():
    global _SESSION
    if _SESSION is None:
        import requests

        _SESSION = requests.Session()  # trust_env: proxies and NO_PROXY from the environment
        _SESSION.headers["User-Agent"] = "rotation/0.1 (+https://pypi.org/project/rotation)"
    return _SESSION


def http_get(
    url: str,
    *,
    etag: str = "",
    last_modified: str = "",
    tries: int = TRIES,
    label: str = "",
) -> Response:
    """GET ``url``; with ``etag`` / ``last_modified`` as a conditional request (304 = unchanged).

    Connection errors, HTTP 429 and 5xx are retried up to ``tries`` attempts in all with
    :data:`BACKOFF_S` between them; a read timeout (the server stopped sending) and any other
    status fail at once.

    Raises
    ------
    DownloadError
        The reason in a few words: the HTTP status, "no answer within 5 s", a connection error,
        or "truncated: N of M bytes" when the body is shorter than its ``Content-Length``.
    """
    import requests

    _check_resolves(url)
    headers = {"Accept-Encoding": "identity"}  # Content-Length then counts the bytes we read
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    for attempt in range(1, tries + 1):
        retry_after = None
        try:
            r = _session().get(
                url, headers=headers, timeout=(CONNECT_TIMEOUT_S, READ_TIMEOUT_S), stream=True
            )
        except requests.exceptions.ConnectTimeout:
            reason = f"no connection within {CONNECT_TIMEOUT_S:g} s"
        except requests.exceptions.ReadTimeout:
            raise DownloadError(url, f"no answer within {READ_TIMEOUT_S:g} s") from None
        except requests.exceptions.ConnectionError as e:
            reason = f"connection failed: {_short(e)}"
        except requests.exceptions.RequestException as e:
            raise DownloadError(url, _short(e)) from None
        else:
            with r:
                if r.status_code == 304:
                    return Response(url, 304, b"", etag, last_modified)
                if r.status_code == 200:
                    body = _read_body(r, url, label)
                    return Response(
                        url,
                        200,
                        body,
                        r.headers.get("ETag", ""),
                        r.headers.get("Last-Modified", ""),
                    )
                reason = f"HTTP {r.status_code} {r.reason or ''}".strip()
                if r.status_code != 429 and r.status_code < 500:
                    raise DownloadError(url, reason, r.status_code)
                retry_after = _retry_after(r.headers.get("Retry-After"))
        if attempt == tries:
            raise DownloadError(url, f"{reason}; tried {tries} times")
        wait = BACKOFF_S[min(attempt, len(BACKOFF_S)) - 1]
        time.sleep(wait if retry_after is None else min(retry_after, wait))
    raise AssertionError("unreachable")


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


def _read_body(r, url: str, label: str) -> bytes:
    """The body in chunks, each under the read timeout; a bar for large files."""
    import requests

    try:
        expected = int(r.headers.get("Content-Length", ""))
    except ValueError:
        expected = None
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
    chunks = []
    got = 0
    try:
        for chunk in r.iter_content(64 * 1024):
            chunks.append(chunk)
            got += len(chunk)
            if bar is not None:
                bar.update(len(chunk))
    except requests.exceptions.RequestException as e:
        text = str(e)
        if "timed out" in text.lower():
            raise DownloadError(
                url, f"transfer stalled: no byte for {READ_TIMEOUT_S:g} s"
            ) from None
        # ChunkedEncodingError / ProtocolError: the server closed before Content-Length bytes
        m = re.search(r"IncompleteRead\((\d+) bytes read", text)
        got += int(m.group(1)) if m and got == 0 else 0
        raise DownloadError(
            url, f"truncated: the connection closed after {got} of {expected or '?'} bytes"
        ) from None
    finally:
        if bar is not None:
            bar.close()
    if expected is not None and got != expected:
        raise DownloadError(
            url, f"truncated: the connection closed after {got} of {expected} bytes"
        )
    return b"".join(chunks)


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def _short(e: BaseException) -> str:
    """The innermost useful text of a requests/urllib3 error, on one line."""
    text = str(e)
    for marker in ("Caused by ", "Failed to establish a new connection: "):
        if marker in text:
            text = text.split(marker, 1)[1]
    return " ".join(text.split())[:160].rstrip("')")
