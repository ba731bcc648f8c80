"""Shared fixtures: an isolated cache per test, the mirror (skip or fail), synthetic files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MIRROR = ROOT.parent / "shared" / "data"


def _mirror_path() -> Path | None:
    m = os.environ.get("ROTATION_MIRROR")
    p = Path(m) if m else DEFAULT_MIRROR
    return p if (p / "MANIFEST.md").is_file() else None


# Session fixtures too costly to build once per pytest-xdist process: every test that uses one
# joins its group, and `--dist loadgroup` runs a group in a single process.
SHARED_FIXTURE_GROUPS = {"reports": "reports"}


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the marks
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        for fixture, group in SHARED_FIXTURE_GROUPS.items():
            if fixture in getattr(item, "fixturenames", ()):
                item.add_marker(pytest.mark.xdist_group(group))


class _GroupSuffix:
    """loadgroup tells the controller an item's group by a "@group" suffix on its node id, which
    xdist 3.8 writes to ``item._nodeid``; pytest 9.2 keeps the id in ``item._id`` instead, so the
    suffix was lost and every group was scattered over the workers (pytest-xdist#1386). Where
    xdist's suffix did not take, set it on ``_id``; with a fixed xdist this does nothing."""

    @pytest.hookimpl(trylast=True)  # after xdist's own hook
    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]):
        if not getattr(config.option, "loadgroup", False):  # set in xdist workers only
            return
        for item in items:
            names = {
                str(m.args[0] if m.args else m.kwargs.get("name", "default"))
                for m in item.iter_markers("xdist_group")
            }
            suffix = f"@{'_'.join(sorted(names))}"
            if names and not item.nodeid.endswith(suffix) and hasattr(item, "_id"):
                item._id = type(item._id).parse(item.nodeid + suffix)


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(_GroupSuffix(), "rotation-xdist-group-suffix")


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path_factory, monkeypatch):
    """Every test gets its own empty parse cache, so no test depends on another's."""
    d = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("ROTATION_CACHE_DIR", str(d))
    # `--max-age` sets ROTATION_MAX_AGE in the process (the CLI's way of passing it down):
    # recorded as unset here, so it is removed again after each test
    monkeypatch.delenv("ROTATION_MAX_AGE", raising=False)
    return d


@pytest.fixture
def no_mirror(monkeypatch):
    monkeypatch.delenv("ROTATION_MIRROR", raising=False)


@pytest.fixture(scope="session")
def mirror() -> Path:
    """The read-only mirror of the raw files. Skipped with a reason when absent, but an error
    under CI=true, where a missing mirror must never pass silently."""
    p = _mirror_path()
    if p is None:
        msg = f"mirror not found (set ROTATION_MIRROR or place shared/data at {DEFAULT_MIRROR})"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"CI=true but {msg}")
        pytest.skip(msg)
    return p


@pytest.fixture
def use_mirror(mirror, monkeypatch) -> Path:
    monkeypatch.setenv("ROTATION_MIRROR", str(mirror))
    return mirror


@pytest.fixture
def publisher(mirror, monkeypatch):
    """The stand-in publisher on 127.0.0.1 serving the mirror's files; the package is pointed at
    it through the ROTATION_URL_* variables, with ROTATION_MIRROR unset and no proxy."""
    from .publisher import Publisher

    pub = Publisher(mirror)
    monkeypatch.delenv("ROTATION_MIRROR", raising=False)
    monkeypatch.delenv("ROTATION_MAX_AGE", raising=False)
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    for k, v in pub.env().items():
        monkeypatch.setenv(k, v)
    yield pub
    pub.close()


@pytest.fixture
def fake_mirror(tmp_path, monkeypatch):
    """An empty mirror folder to put synthetic raw files in: ``fake_mirror("french/X.CSV", data)``."""
    root = tmp_path / "mirror"
    root.mkdir()
    monkeypatch.setenv("ROTATION_MIRROR", str(root))

    def put(rel: str, data: bytes | str) -> Path:
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data.encode() if isinstance(data, str) else data)
        return p

    put.root = root  # type: ignore[attr-defined]
    return put


def raw(mirror: Path, rel: str) -> bytes:
    return (mirror / rel).read_bytes()


def make_xlsx(sheets: dict[str, list[list]]) -> bytes:
    """A small .xlsx built in memory (rows padded to equal width) for synthetic workbook traps."""
    import io

    import pandas as pd

    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as w:
        for name, rows in sheets.items():
            width = max(len(r) for r in rows)
            padded = [list(r) + [None] * (width - len(r)) for r in rows]
            pd.DataFrame(padded).to_excel(w, sheet_name=name, header=False, index=False)
    return buf.getvalue()


@pytest.fixture(scope="session")
def reports(tmp_path_factory) -> Path:
    """One backfill of two months (on the mirror when ROTATION_MIRROR is set, else on data/),
    shared by the report and browser tests."""
    out = tmp_path_factory.mktemp("reports")
    cache = tmp_path_factory.mktemp("report-cache")
    saved = os.environ.get("ROTATION_CACHE_DIR")
    os.environ["ROTATION_CACHE_DIR"] = str(cache)
    try:
        from rotation_utils.report import run_report

        run_report(["2025-06", "2026-01"], out, jobs=2, progress=False)
    finally:
        if saved is None:
            os.environ.pop("ROTATION_CACHE_DIR", None)
        else:
            os.environ["ROTATION_CACHE_DIR"] = saved
    return out


def ipc_kernel_manager():
    """A kernel manager on the IPC transport under a short private folder: tests run on two
    processes, and kernels on TCP ports may collide (papermill #511), which loses messages."""
    import tempfile

    from jupyter_client.manager import AsyncKernelManager

    folder = tempfile.mkdtemp(prefix="k-")  # short: a socket path is at most 107 bytes
    return AsyncKernelManager(kernel_name="python3", transport="ipc", ip=f"{folder}/kernel")
