"""One error hierarchy for the project.

Every error names what a user needs to fix it: the file and row for bad data, the parameter for
a bad argument, the ``ROTATION_MIRROR`` setting for a failed download. The CLI maps
:class:`ParameterError` to exit code 2 and every other :class:`RotationError` to exit code 1.
"""

from __future__ import annotations

import re

__all__ = [
    "RotationError",
    "DataError",
    "ParameterError",
    "NetworkError",
    "NotebookError",
    "ReportError",
    "ClusterError",
    "mask_secret",
]


class RotationError(Exception):
    """Base class of every error this package raises on purpose."""

    exit_code = 1


class DataError(RotationError):
    """A source file that cannot be read as documented.

    Parameters
    ----------
    message : str
        What is wrong.
    file : str, optional
        The file (name or path) the problem is in.
    row : int, optional
        1-based line number in a text file, or 1-based row in a spreadsheet.
    """

    def __init__(self, message: str, *, file: str | None = None, row: int | None = None):
        self.file = file
        self.row = row
        where = ""
        if file:
            where = f"{file}"
            if row is not None:
                where += f", row {row}"
            where += ": "
        super().__init__(f"{where}{message}")


class ParameterError(RotationError, ValueError):
    """A bad argument or notebook parameter; the message names it."""

    exit_code = 2

    def __init__(self, name: str, message: str):
        self.name = name
        super().__init__(f"parameter {name!r}: {message}")


class NetworkError(RotationError):
    """A download that failed; the message says how to use a local mirror instead."""


class NotebookError(RotationError):
    """A notebook that failed while rendering a report; names the notebook, month and cell.

    ``cell`` is the execution count shown as ``In [n]`` in the executed notebook that is kept
    for debugging at ``kept``.
    """

    def __init__(
        self,
        notebook: str,
        cell: int | None,
        ename: str,
        evalue: str,
        *,
        month: str = "",
        kept: str = "",
    ):
        self.notebook = notebook
        self.cell = cell
        self.ename = ename
        self.evalue = evalue
        self.month = month
        self.kept = kept
        where = f"at cell In [{cell}]" if cell is not None else "before running a cell"
        when = f" for {month}" if month else ""
        tail = f"; executed notebook kept in {kept}" if kept else ""
        super().__init__(f"notebook {notebook} failed{when} {where}: {ename}: {evalue}{tail}")


class ReportError(RotationError):
    """Notebooks failed in a report run; ``failures`` holds one :class:`NotebookError` each.

    Months whose notebooks all succeeded were published; a month with a failure was not.
    The message is the first failure, with a count of the others.
    """

    def __init__(self, failures: list[NotebookError]):
        if not failures:
            raise ValueError("ReportError needs at least one failure")
        self.failures = list(failures)
        more = len(failures) - 1
        tail = f" (and {more} more failed notebook{'s' if more > 1 else ''})" if more else ""
        super().__init__(f"{failures[0]}{tail}")


class ClusterError(RotationError):
    """A Dask cluster that cannot run report jobs: the ``cluster`` extra is not installed, or
    the scheduler does not answer. The message says which and what to do."""


def mask_secret(text: str, secret: str, mask: str = "***") -> str:
    """``text`` with ``secret`` replaced by ``mask`` in every form it may take there.

    A key goes into a URL percent-encoded, so an error message that quotes the URL carries
    ``quote(secret)`` (or ``quote_plus``/``quote(secret, safe="")``, as other libraries encode
    it) rather than the raw key; every one of those forms is masked.

    Parameters
    ----------
    text : str
        The text to clean (an error message, a URL).
    secret : str
        The secret; an empty one masks nothing.
    mask : str
        What each occurrence becomes.

    Returns
    -------
    str
        ``text`` without any form of ``secret``.
    """
    from urllib.parse import quote, quote_plus

    if not secret:
        return text
    forms = {
        secret,
        quote(secret),
        quote_plus(secret),
        quote(secret, safe=""),
        quote_plus(secret, safe=""),
    }
    # percent-escapes may come back in lower case (e.g. from a server echoing the query)
    forms |= {re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), f) for f in forms}
    for form in sorted(forms, key=len, reverse=True):  # longest first: no form hides in another
        text = text.replace(form, mask)
    return text
