"""Clean exits: SIGTERM and SIGHUP stop a report as Ctrl-C does; published notebooks carry no
local paths; secrets are masked in every encoding."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rotation_utils.errors import mask_secret

ROOT = Path(__file__).resolve().parent.parent


# --------------------------------------------------------------------------- secrets


def test_mask_secret_masks_the_raw_and_every_url_encoded_form():
    from urllib.parse import quote, quote_plus

    key = "ab/c+d e&f="
    forms = [key, quote(key), quote_plus(key), quote(key, safe=""), quote(key, safe="").lower()]
    assert len(set(forms)) == 5  # the key really has five different spellings
    text = " | ".join(f"https://x.test/q?apikey={f}&s=SPY" for f in forms)
    masked = mask_secret(text, key)
    assert masked == " | ".join(["https://x.test/q?apikey=***&s=SPY"] * 5)
    assert mask_secret("no key here", key) == "no key here"
    assert mask_secret("empty secret", "") == "empty secret"


def test_alphavantage_errors_never_show_the_key_in_any_form(monkeypatch):
    from urllib.parse import quote, quote_plus

    from rotation_utils.sources import price_providers as pp
    from rotation_utils.sources._download import DownloadError

    key = "ab/c+d e&f="
    monkeypatch.setenv("ALPHAVANTAGE_API_KEY", key)
    seen: list[str] = []

    def failing_get(url: str, **kw: object):
        seen.append(url)
        raise DownloadError(url, f"HTTP 500 for {url} (also {quote_plus(key)} and {key})", 500)

    monkeypatch.setattr(pp, "http_get", failing_get)
    raw = pp.ONLINE_PROVIDERS["alphavantage"].raw_file("SPY")
    with pytest.raises(DownloadError) as info:
        pp._alphavantage_download(raw, None)
    assert seen and quote(key) in seen[0]  # the request itself carries the key
    text = str(info.value)
    for form in (key, quote(key), quote_plus(key), quote(key, safe="")):
        assert form not in text
    assert text.count("***") == 3 and info.value.status == 500


# --------------------------------------------------------------------------- signals


def _descendants(pid: int) -> set[int]:
    """Every live process below ``pid`` (kernels included: they run in sessions of their own)."""
    try:
        import psutil
    except ImportError:  # pragma: no cover - psutil comes with the dev tools
        return _proc_descendants(pid)
    try:
        return {c.pid for c in psutil.Process(pid).children(recursive=True)}
    except psutil.NoSuchProcess:
        return set()


def _proc_descendants(pid: int) -> set[int]:
    parents: dict[int, int] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            parents[int(d.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, todo = set(), [pid]
    while todo:
        p = todo.pop()
        kids = [c for c, pp in parents.items() if pp == p]
        found.update(kids)
        todo.extend(kids)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


POOL = ("--jobs", "2")
DASK = ("--scheduler", "local:2")  # a LocalCluster of this run: nannies, workers, their kernels


@pytest.mark.slow
@pytest.mark.parametrize(
    ("signum", "to_group", "executor"),
    [
        (signal.SIGTERM, False, POOL),  # `kill PID`
        (signal.SIGHUP, False, POOL),
        (signal.SIGTERM, True, POOL),  # a service manager stopping the process group
        (signal.SIGHUP, True, POOL),  # the terminal closed: its whole foreground group gets SIGHUP
        (signal.SIGTERM, False, DASK),
        (signal.SIGTERM, True, DASK),
        (signal.SIGHUP, True, DASK),
    ],
    ids=[
        "TERM",
        "HUP",
        "TERM-group",
        "HUP-group",
        "dask-TERM",
        "dask-TERM-group",
        "dask-HUP-group",
    ],
)
def test_a_terminating_signal_stops_the_run_like_ctrl_c(tmp_path, signum, to_group, executor):
    if executor is DASK:
        pytest.importorskip("distributed")
    out = tmp_path / "out"
    tmp = tmp_path / "tmp"  # the kernels' IPC socket folders go here
    tmp.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "ROTATION_MIRROR"}
    env.update(PYTHONUNBUFFERED="1", TMPDIR=str(tmp))
    p = subprocess.Popen(
        [sys.executable, "-m", "rotation_utils.cli", "report", "--month", "2026-01"]
        + ["--notebooks", "01,02,03", *executor, "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
        start_new_session=True,  # a process group of its own, as a shell gives a job
    )
    try:
        # the run has started and both workers have a kernel up
        deadline = time.time() + 120
        kernels: set[int] = set()
        while time.time() < deadline and p.poll() is None:
            below = _descendants(p.pid)
            kernels = {c for c in below if "ipykernel" in _cmdline(c)}
            if len(kernels) >= 2 and list(out.glob(".run-*/2026-01")):
                break
            time.sleep(0.2)
        assert len(kernels) >= 2, "the run did not start its kernels"
        time.sleep(1.0)  # notebooks are running now
        children = _descendants(p.pid)
        if to_group:
            os.killpg(p.pid, signum)
        else:
            p.send_signal(signum)
        _, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
    assert p.returncode == 128 + signum, err
    assert f"rotation: terminated ({signal.Signals(signum).name})" in err
    # A Dask worker may log its heartbeat failing as the cluster closes under it, traceback
    # included: distributed's own noise (a race in its close), not this run's
    noise = executor is DASK and "Failed to communicate with scheduler during heartbeat" in err
    assert noise or "Traceback" not in err, err
    assert not list(out.glob(".run-*")), "staging folder left behind"
    assert not (out / "2026-01").exists(), "a partial month was published"
    deadline = time.time() + 10
    while time.time() < deadline and [c for c in children if _alive(c)]:
        time.sleep(0.2)
    left = {c: _cmdline(c) for c in children if _alive(c)}
    assert left == {}, f"processes left running: {left}"
    # nothing of the kernels is left either: IPC socket folders (rk-*), connection files (Dask
    # keeps its shared scratch folder, as after any run)
    assert sorted(x.name for x in tmp.iterdir() if x.name != "dask-scratch-space") == []


def test_terminate_as_interrupt_raises_terminated_and_restores_the_handlers():
    from rotation_utils import cli

    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(cli.Terminated) as info, cli._terminate_as_interrupt():
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the handler raises before this ends
    assert info.value.signum == signal.SIGTERM and isinstance(info.value, KeyboardInterrupt)
    assert signal.getsignal(signal.SIGTERM) is before


# --------------------------------------------------------------------------- local paths


def _local_paths(tmp_path: Path) -> list[str]:
    """Absolute paths of this machine a published report must not show."""
    paths = {str(ROOT), str(ROOT.resolve()), str(tmp_path), str(tmp_path.resolve())}
    home = os.environ.get("HOME", "")
    if len(home) > 1:
        paths.add(home.rstrip("/") + "/")  # "/root/" rather than any "/root" in a text
    import tempfile

    paths.add(tempfile.gettempdir().rstrip("/") + "/")
    return sorted(paths)


def _shown(folder: Path, paths: list[str]) -> dict[str, list[str]]:
    return {
        f.name: [p for p in paths if p in f.read_text(encoding="utf-8")]
        for f in sorted(folder.iterdir())
        if f.suffix in (".ipynb", ".html", ".json")
        and any(p in f.read_text(encoding="utf-8") for p in paths)
    }


@pytest.mark.slow
def test_a_published_month_shows_no_local_path(tmp_path, no_mirror):
    import json

    from rotation_utils.report import run_report

    (published,) = run_report(["2026-01"], tmp_path / "out", jobs=2, progress=False)
    assert len(list(published.glob("*.ipynb"))) == 6
    assert _shown(published, _local_paths(tmp_path)) == {}
    nb = json.loads((published / "01_valuation_gaps.ipynb").read_text())
    record = nb["metadata"]["papermill"]
    assert record["input_path"] == "notebooks/01_valuation_gaps.ipynb"
    assert record["output_path"] == "01_valuation_gaps.ipynb"
    assert record["parameters"] == {"month": "2026-01"}


def test_a_failed_notebook_kept_for_debugging_shows_no_local_path(tmp_path, no_mirror):
    import json

    import nbformat

    from rotation_utils.errors import ReportError
    from rotation_utils.report import run_report

    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('month = "2026-01"')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell("raise ValueError('boom ' + month)")]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    src = tmp_path / "01_boom.ipynb"
    nbformat.write(nb, src)
    with pytest.raises(ReportError) as info:
        run_report(["2026-01"], tmp_path / "out", jobs=1, notebooks=[src], progress=False)
    assert "ValueError: boom 2026-01" in str(info.value)
    kept = tmp_path / "out" / "failed" / "2026-01"
    assert _shown(kept, _local_paths(tmp_path)) == {}
    record = json.loads((kept / "01_boom.ipynb").read_text())["metadata"]["papermill"]
    assert (record["input_path"], record["output_path"]) == (
        "notebooks/01_boom.ipynb",
        "01_boom.ipynb",
    )


def test_a_signal_during_the_swap_waits_until_the_new_month_is_in_place(tmp_path, monkeypatch):
    from rotation_utils import cli
    from rotation_utils.report import publish

    out, run_dir = tmp_path / "out", tmp_path / "out" / ".run-x"
    (out / "2026-01").mkdir(parents=True)
    (out / "2026-01" / "index.html").write_text("old")
    (run_dir / "2026-01").mkdir(parents=True)
    (run_dir / "2026-01" / "index.html").write_text("new")
    renames: list[str] = []
    real_replace = os.replace

    def replace_then_signal(a, b):
        real_replace(a, b)
        renames.append(Path(b).name)
        if len(renames) == 1:  # the old report is out of the way, the new one not yet in
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.5)  # time for a handler to run, were the signal not held

    monkeypatch.setattr(publish.os, "replace", replace_then_signal)
    with pytest.raises(cli.Terminated), cli._terminate_as_interrupt():
        publish.publish_month(run_dir / "2026-01", out, "2026-01", run_dir)
    assert renames == [".old-2026-01", "2026-01"]
    assert (out / "2026-01" / "index.html").read_text() == "new"
