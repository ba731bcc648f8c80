"""Paths built from untrusted names stay inside their folder; folders others control are refused.

Dataset names, tickers, claims-file names and the file names a Dask worker returns all end up in
paths. Each is first matched against a pattern (no separator tricks, no ``..``), and the
resolved path (symlinks followed) is then checked to lie under its root, so that a symlink in
the mirror or the cache cannot lead a read or a write elsewhere.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from .errors import ParameterError

__all__ = ["resolve_inside", "private_folder", "excerpt", "SEGMENT"]

#: One path segment of a raw file name: letters, digits, ``_ . - ^`` and spaces, not starting
#: with a dot (so neither ``..`` nor hidden files).
SEGMENT = re.compile(r"[A-Za-z0-9^_][A-Za-z0-9^_.\- ]{0,120}")


def resolve_inside(root: Path, relative: str) -> Path | None:
    """``root / relative`` with symlinks resolved, or None when that leaves ``root``.

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> resolve_inside(d, "a/b.csv") == d.resolve() / "a" / "b.csv"
    True
    >>> resolve_inside(d, "../x") is None
    True
    """
    base = root.resolve()
    path = (base / relative).resolve()
    return path if path.is_relative_to(base) and path != base else None


def private_folder(folder: Path, parameter: str) -> Path:
    """Create ``folder`` (mode 0700) or check an existing one is ours and not writable by others.

    A cache another user owns, or one group or others may write, could hold planted entries;
    such a folder is refused rather than read.

    Raises
    ------
    ParameterError
        ``folder`` is not a folder, belongs to another user, or is group/other-writable; the
        message names ``parameter`` (the setting that chose the folder).
    """
    if not folder.exists():
        try:
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.chmod(folder, 0o700)  # mkdir's mode is masked by the umask
        except OSError as e:
            raise ParameterError(parameter, f"cannot create {folder} ({e.strerror})") from None
    st = folder.stat()
    if not stat.S_ISDIR(st.st_mode):
        raise ParameterError(parameter, f"{folder} is not a folder")
    if hasattr(os, "getuid") and st.st_uid != os.getuid():
        raise ParameterError(
            parameter,
            f"{folder} belongs to uid {st.st_uid}, not to you (uid {os.getuid()}); "
            "a cache folder another user controls is not used",
        )
    if st.st_mode & 0o022:
        raise ParameterError(
            parameter,
            f"{folder} is writable by group or others (mode {stat.S_IMODE(st.st_mode):o}); "
            f"run `chmod go-w {folder}` or choose another folder",
        )
    return folder


def excerpt(text: object, limit: int = 40) -> str:
    """A short, quoted, printable-ASCII excerpt of ``text`` for an error message.

    Error messages quote what they found in a file; an excerpt keeps a long line, control
    characters or terminal escapes out of them.

    Examples
    --------
    >>> excerpt("root:x:0:0:root:/root:/bin/bash" * 3)
    "'root:x:0:0:root:/root:/bin/bashroot:x:0:...'"
    >>> excerpt("a\\x1b[31mb")
    "'a?[31mb'"
    """
    s = "".join(c if " " <= c <= "~" else "?" for c in str(text))
    return repr(s if len(s) <= limit else s[:limit] + "...")
