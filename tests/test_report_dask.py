"""Report jobs on Dask distributed: same figures as the local pool, faults, Ctrl-C, set-up errors.

One 2-worker ``LocalCluster`` (worker processes, as on a real cluster) is shared by the module;
the tests that use it carry ``ON_THE_CLUSTER``, so that under pytest-xdist they all run in the one
process that holds it, one after the other.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rotation_utils.errors import ClusterError, ParameterError, ReportError
from rotation_utils.report import run_report
from rotation_utils.report.dask_executor import (
    ALLOWED_FAILURES,
    DataSpec,
    RemoteJob,
    RemoteResult,
    _receive,
    local_cluster,
    parse_scheduler,
    run_remote_job,
)
from rotation_utils.report.kernels import MonthJob

from .test_report import _trivial_notebook

pytestmark = pytest.mark.slow
ON_THE_CLUSTER = pytest.mark.xdist_group("dask-cluster")
ROOT = Path(__file__).resolve().parent.parent
MONTHS = ["2026-05", "2026-06", "2026-07"]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """Two single-threaded worker processes with their own parse cache, on TLS with a temporary
    certificate that the Dask configuration names (here and, by environment, in a CLI child),
    as a user of a tls:// scheduler sets it up."""
    import dask
    from distributed.security import Security

    cache = tmp_path_factory.mktemp("dask-worker-cache")
    security = Security.temporary()
    certs = tmp_path_factory.mktemp("dask-certs")
    (certs / "cert.pem").write_text(security.tls_client_cert)
    (certs / "key.pem").write_text(security.tls_client_key)
    config = {
        "distributed.comm.tls.ca-file": str(certs / "cert.pem"),
        "distributed.comm.tls.client.cert": str(certs / "cert.pem"),
        "distributed.comm.tls.client.key": str(certs / "key.pem"),
    }
    env = {f"DASK_{k.upper().replace('.', '__').replace('-', '_')}": v for k, v in config.items()}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    # A LocalCluster closes a worker's nanny for good when no worker of that name is registered
    # lost-worker-timeout (15 s) after one was lost: a timer left by a killed-worker test then
    # fired during the restart in test_warm_kernels_go_down_with_their_worker and that worker
    # never came back (restart timed out after 120 s). The nanny restarts its worker anyway.
    with dask.config.set({"distributed.deploy.lost-worker-timeout": "1h"}):
        c = local_cluster(2, security, env={"ROTATION_CACHE_DIR": str(cache)})
        try:
            with dask.config.set(config):
                yield c
        finally:
            c.close()
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


@pytest.fixture
def client(cluster):
    from distributed import Client

    with Client(cluster, set_as_default=False) as c:
        yield c


def _summary(month_dir: Path) -> dict:
    return json.loads((month_dir / "summary.json").read_text())


def _index_without_timings(month_dir: Path) -> str:
    html = (month_dir / "index.html").read_text()
    html = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", "", html)  # generated at
    return re.sub(r">\d+\.\d s<", "><", html)  # notebook run times


@ON_THE_CLUSTER
def test_three_month_backfill_on_the_cluster_matches_the_local_pool(cluster, tmp_path):
    local = run_report(MONTHS, tmp_path / "local", jobs=2, progress=False)
    dask = run_report(
        MONTHS, tmp_path / "dask", scheduler=cluster.scheduler_address, progress=False
    )
    assert [p.name for p in dask] == [p.name for p in local] == MONTHS
    for a, b in zip(local, dask, strict=True):
        sa, sb = _summary(a), _summary(b)
        # the figures byte for byte, as summary.json writes them
        assert json.dumps(sb["figures"], indent=1) == json.dumps(sa["figures"], indent=1)
        assert sb["figures"], "no figures recorded"
        assert sb["data_vintages"] == sa["data_vintages"]
        assert [(n["name"], n["status"]) for n in sb["notebooks"]] == [
            (n["name"], n["status"]) for n in sa["notebooks"]
        ]
        assert sb["images"] == sa["images"]
        assert sorted(p.name for p in b.iterdir()) == sorted(p.name for p in a.iterdir())
        # month-over-month changes come from the month before, whatever order jobs finished in
        assert _index_without_timings(b) == _index_without_timings(a)
    assert "Change vs 2026-06" in (dask[2] / "index.html").read_text()
    assert not list((tmp_path / "dask").glob(".run-*"))


def _worker_killer(tmp_path: Path, kill_months: dict[str, int]) -> Path:
    """A notebook that SIGKILLs the Dask worker running it (its kernel's parent process) the
    first ``kill_months[month]`` times it runs for that month; each attempt is logged with the
    worker's pid."""
    log = tmp_path / "attempts"
    log.mkdir()
    code = f"""
import os, pathlib, signal
log = pathlib.Path({str(log)!r}) / month
done = len(log.read_text().splitlines()) if log.exists() else 0
with log.open("a") as f:
    f.write(f"{{os.getppid()}}\\n")
if done < {kill_months!r}.get(month, 0):
    os.kill(os.getppid(), signal.SIGKILL)
print(month)
"""
    return _trivial_notebook(tmp_path / "01_worker_killer.ipynb", code)


def _attempts(tmp_path: Path, month: str) -> list[str]:
    return (tmp_path / "attempts" / month).read_text().split()


@ON_THE_CLUSTER
def test_a_job_whose_worker_is_killed_runs_again_on_another_worker(cluster, tmp_path, monkeypatch):
    monkeypatch.delenv("ROTATION_MIRROR", raising=False)  # faults, not data: read data/
    nb = _worker_killer(tmp_path, {"2026-05": 1})
    out = run_report(
        ["2026-05"],
        tmp_path / "out",
        notebooks=[nb],
        scheduler=cluster.scheduler_address,
        progress=False,
    )
    assert [p.name for p in out] == ["2026-05"]
    assert _summary(out[0])["notebooks"][0]["status"] == "ok"
    pids = _attempts(tmp_path, "2026-05")
    assert len(pids) == 2 and pids[0] != pids[1]  # the retry ran in another worker process


@ON_THE_CLUSTER
def test_a_job_that_keeps_killing_workers_fails_its_month_and_the_others_publish(
    cluster, tmp_path, monkeypatch
):
    monkeypatch.delenv("ROTATION_MIRROR", raising=False)
    nb = _worker_killer(tmp_path, {"2026-06": 99})
    out = tmp_path / "out"
    with pytest.raises(ReportError) as e:
        run_report(
            ["2026-05", "2026-06"],
            out,
            notebooks=[nb],
            scheduler=cluster.scheduler_address,
            progress=False,
        )
    (failure,) = e.value.failures
    assert (failure.month, failure.notebook, failure.ename) == (
        "2026-06",
        "01_worker_killer",
        "KilledWorker",
    )
    assert f"died {ALLOWED_FAILURES + 1} times" in failure.evalue
    assert len(_attempts(tmp_path, "2026-06")) == ALLOWED_FAILURES + 1
    assert _summary(out / "2026-05")["notebooks"][0]["status"] == "ok"
    assert not (out / "2026-06").exists() and not list(out.glob(".run-*"))


@ON_THE_CLUSTER
def test_a_worker_that_cannot_read_the_data_fails_its_job_naming_itself(client, tmp_path):
    job = MonthJob("2026-05", (str(ROOT / "notebooks" / "01_valuation_gaps.ipynb"),), "unused")
    spec = DataSpec("t1", mirror="/nope", staged=str(tmp_path / "not-visible-here"))
    remote = RemoteJob(job, (("01_valuation_gaps.ipynb", b"{}"),), spec)
    result = client.submit(run_remote_job, remote, pure=False).result(timeout=60)
    (r,) = result.results
    assert r.status == "failed" and result.worker.startswith("tls://127.0.0.1:")
    assert r.error.startswith(f"DataError: worker {result.worker}: /nope/")
    assert " on " in result.worker and "not found in the mirror" in r.error
    assert "\n" not in r.error


@pytest.mark.parametrize("name", ["../../../x", "/tmp/x", ".hidden", "a/b.ipynb", "..", ""])
def test_a_worker_returned_file_name_outside_the_job_folder_is_refused(tmp_path, name):
    out = tmp_path / "job"
    out.mkdir()
    job = MonthJob("2026-05", ("01_x.ipynb",), str(out))
    files = {"01_x.ipynb": b"{}", name: b"planted"}
    (r,) = _receive(job, RemoteResult([], files, {}, "tls://w:1 on h"), None)
    assert r.status == "failed" and r.error.startswith("DataError: worker tls://w:1 on h returned")
    assert "nothing of its job was written" in r.error and "\n" not in r.error
    assert list(out.iterdir()) == []  # not even the good file
    assert not (tmp_path / "x").exists()


@ON_THE_CLUSTER
def test_a_client_without_the_certificate_cannot_reach_a_local_cluster(cluster):
    """A second process on the machine: plain TCP and TLS with another certificate are both
    refused by the local:N cluster's scheduler."""
    from distributed import Client
    from distributed.security import Security

    address = cluster.scheduler_address
    assert address.startswith("tls://")
    with pytest.raises((OSError, TimeoutError)):
        Client(address.replace("tls://", "tcp://"), timeout=3, set_as_default=False)
    with pytest.raises((OSError, TimeoutError)):
        Client(address, timeout=3, security=Security.temporary(), set_as_default=False)


def test_a_worker_with_other_data_vintages_is_refused(tmp_path):
    job = MonthJob("2026-05", ("01_x.ipynb",), str(tmp_path))
    remote = RemoteResult([], {"01_x.ipynb": b"{}"}, {"CRSP: french": "202408"}, "tcp://w:1 on h")
    (r,) = _receive(job, remote, {"CRSP: french": "202410"})
    assert r.status == "failed" and r.error.startswith("DataError: worker tcp://w:1 on h read")
    assert "'202408' there, '202410' here" in r.error
    assert not (tmp_path / "01_x.ipynb").exists()  # nothing of it reaches the staging folder


@ON_THE_CLUSTER
def test_ctrl_c_cancels_the_jobs_and_leaves_no_partial_month(cluster, client, tmp_path):
    out = tmp_path / "out"
    (out / "2026-05").mkdir(parents=True)
    (out / "2026-05" / "index.html").write_text("previous good report")
    p = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rotation_utils.cli",
            "report",
            "--from",
            "2026-05",
            "--to",
            "2026-06",
            "--scheduler",
            cluster.scheduler_address,
            "--out",
            str(out),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        cwd=ROOT,
    )

    def rotation_tasks(dask_scheduler=None) -> list[str]:
        return [str(k) for k in dask_scheduler.tasks if str(k).startswith("rotation-")]

    def month_jobs(dask_scheduler=None) -> list[str]:
        return [str(k) for k in dask_scheduler.tasks if str(k).startswith("rotation-2026-")]

    deadline = time.time() + 60
    while time.time() < deadline and not client.run_on_scheduler(month_jobs):
        time.sleep(0.2)
    assert client.run_on_scheduler(month_jobs), "no job reached the scheduler"
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 130 and "Traceback" not in err, err
    assert (out / "2026-05" / "index.html").read_text() == "previous good report"
    assert not (out / "2026-06").exists() and not list(out.glob(".run-*"))
    deadline = time.time() + 10
    while time.time() < deadline and client.run_on_scheduler(rotation_tasks):
        time.sleep(0.2)
    assert client.run_on_scheduler(rotation_tasks) == []


def _kernel_pids() -> list[int]:
    from rotation_utils.report import kernels

    return [km.provisioner.pid for km in kernels._WARM.values()]


@ON_THE_CLUSTER
def test_warm_kernels_go_down_with_their_worker(cluster, client, tmp_path, monkeypatch):
    import psutil

    monkeypatch.delenv("ROTATION_MIRROR", raising=False)
    nb = _trivial_notebook(tmp_path / "01_print.ipynb", "print(month)")
    run_report(
        ["2026-05", "2026-06"],
        tmp_path / "out",
        notebooks=[nb],
        scheduler=cluster.scheduler_address,
        progress=False,
    )
    pids = [pid for ps in client.run(_kernel_pids).values() for pid in ps]
    assert pids and all(psutil.pid_exists(p) for p in pids)
    client.restart()
    deadline = time.time() + 15
    while time.time() < deadline and any(_running(p) for p in pids):
        time.sleep(0.2)
    alive = [p for p in pids if _running(p)]
    assert alive == []


def _running(pid: int) -> bool:
    """True for a live process, False for one gone or a zombie (even one that goes meanwhile)."""
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@ON_THE_CLUSTER
def test_kernels_on_a_worker_do_not_inherit_the_nannys_worker_settings(cluster, client, tmp_path):
    """The nanny sets MALLOC_TRIM_THRESHOLD_ for its worker process; a report kernel runs without
    it, as in the local pool (with it the notebooks ran about 5% slower)."""
    nb = _trivial_notebook(
        tmp_path / "01_env.ipynb",
        "import os\nprint('trim', os.environ.get('MALLOC_TRIM_THRESHOLD_'))",
    )
    run_report(
        ["2026-05"],
        tmp_path / "out",
        notebooks=[nb],
        scheduler=cluster.scheduler_address,
        progress=False,
    )
    on_workers = set(client.run(os.environ.get, "MALLOC_TRIM_THRESHOLD_").values())
    assert on_workers == {"65536"}  # what the kernel would inherit without the fix
    executed = (tmp_path / "out" / "2026-05" / "01_env.ipynb").read_text()
    assert "trim None" in executed


def test_kernel_environ_keeps_a_value_the_user_set(monkeypatch):
    from rotation_utils.report.kernels import kernel_environ

    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "131072")  # not the nanny's value: the user's
    assert kernel_environ()["MALLOC_TRIM_THRESHOLD_"] == "131072"
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "65536")
    assert "MALLOC_TRIM_THRESHOLD_" not in kernel_environ()


# --------------------------------------------------------------------------- set-up errors (fast)


def test_scheduler_values():
    assert parse_scheduler("local:3").local_workers == 3
    assert parse_scheduler("local").local_workers == (os.cpu_count() or 1)
    assert parse_scheduler("10.0.0.5:8786").address == "tcp://10.0.0.5:8786"
    assert parse_scheduler("tls://sched:8786").address == "tls://sched:8786"
    for bad in ("local:0", "", "two words"):
        with pytest.raises(ParameterError, match="scheduler"):
            parse_scheduler(bad)


def test_a_scheduler_that_does_not_answer_fails_within_10_s_with_one_line(
    tmp_path, capsys, monkeypatch
):
    from rotation_utils.cli import main
    from rotation_utils.report import dask_executor

    # the bound is the shipped connect timeout; the test waits out a shorter one
    assert dask_executor.CONNECT_TIMEOUT <= 5
    monkeypatch.setattr(dask_executor, "CONNECT_TIMEOUT", 1)
    # a port that accepts connections and never says a word
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    address = f"tcp://127.0.0.1:{silent.getsockname()[1]}"
    monkeypatch.setenv("ROTATION_DASK_SCHEDULER", address)  # the variable works like the option
    try:
        t = time.perf_counter()
        code = main(["report", "--month", "2026-05", "--out", str(tmp_path / "out")])
        elapsed = time.perf_counter() - t
    finally:
        silent.close()
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert code == 1 and elapsed < 10
    assert "within 1 s" in err[-1]
    # plain TCP is warned about in one line, then refused in one line
    assert len(err) == 2 and err[0].startswith(f"rotation: warning: {address} is plain TCP")
    err = err[1:]
    assert err[0].startswith("rotation: error: no Dask scheduler answered at")
    assert address in err[0] and "ROTATION_DASK_SCHEDULER" in err[0]
    assert not (tmp_path / "out").exists()


def test_without_the_extra_the_message_says_how_to_install_it(tmp_path, capsys, monkeypatch):
    from rotation_utils.cli import main

    monkeypatch.setitem(sys.modules, "distributed", None)  # as if not installed
    code = main(
        ["report", "--month", "2026-05", "--scheduler", "local:2", "--out", str(tmp_path / "o")]
    )
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert code == 1 and len(err) == 1
    assert "Dask distributed" in err[0] and "pip install 'rotation[cluster]'" in err[0]
    with pytest.raises(ClusterError, match=r"rotation\[cluster\]"):
        run_report(["2026-05"], tmp_path / "o", scheduler="local:2", progress=False)
    assert not (tmp_path / "o").exists()


def test_jobs_and_scheduler_do_not_go_together(tmp_path, capsys):
    from rotation_utils.cli import main

    args = ["report", "--month", "2026-05", "--jobs", "2", "--scheduler", "local:2"]
    assert main([*args, "--out", str(tmp_path / "o")]) == 2
    assert "local:N" in capsys.readouterr().err
