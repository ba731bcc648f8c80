"""Report jobs on a Dask distributed cluster: the same job function as the local process pool.

:class:`DaskExecutor` is a :class:`~rotation_utils.report.kernels.JobExecutor`: it submits one
:class:`~rotation_utils.report.kernels.MonthJob` per month to the cluster, where :func:`run_remote_job`
runs it with :func:`~rotation_utils.report.kernels.run_month_job` (the function the local pool
runs) in a scratch folder of the worker, and sends back the results with the files they wrote
(executed notebooks, HTML pages, figures). The client writes those files into its staging folder;
it alone summarizes and publishes, atomically, as for a local run.

What a worker needs: this package (``pip install 'rotation[cluster]'``) and the data the client
uses, at the same path: the ``ROTATION_MIRROR`` folder when it is set (each worker builds the
derived tables from it once per run, through the same loaders as the client), otherwise the
embedded ``data/`` of its own install (or the client's ``ROTATION_DATA_DIR``). A worker that
cannot read them fails its jobs with the loader's message and its own address; a worker whose
tables have other vintages than the client's fails them too, so a report never mixes data.

:class:`ReportWorkerPlugin` owns each worker's warm kernels (one per worker thread, on the IPC
transport) and its per-run state, and shuts the kernels down when the worker closes.

Security: ``local:N`` starts its LocalCluster with TLS and mutual authentication
(``Security.temporary()``: a certificate made for this run and held by this process alone, so no
other process on the machine can submit work to it); a ``tls://`` address uses the ``Security``
of the standard Dask configuration (``distributed.comm.tls.*``); a plain ``tcp://`` address still
works, and the CLI warns that anyone who reaches it can run code on its workers. What a worker
sends back is untrusted: only plain file names are written, and only inside the job's folder.

A worker that dies mid-job (killed, out of memory) has its job rescheduled on another worker;
after :data:`ALLOWED_FAILURES` retries the scheduler gives up and the job's notebooks are failed
results (``KilledWorker``), so their month is reported failed and the others still publish.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import tempfile
import threading
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..errors import ClusterError, ParameterError, RotationError
from ..paths import resolve_inside
from .kernels import MonthJob, NotebookResult, run_month_job

try:  # the optional `cluster` extra; without it this module still imports and says how to install
    from distributed import WorkerPlugin as _WorkerPlugin
except ImportError:  # pragma: no cover - exercised by simulating the missing extra
    _WorkerPlugin = object  # type: ignore[assignment,misc]

__all__ = [
    "SCHEDULER_ENV",
    "PLAIN_TCP_WARNING",
    "cluster_security",
    "is_plain_tcp",
    "INSTALL_HINT",
    "ALLOWED_FAILURES",
    "CONNECT_TIMEOUT",
    "SchedulerSpec",
    "parse_scheduler",
    "DaskExecutor",
    "DataSpec",
    "RemoteJob",
    "RemoteResult",
    "ReportWorkerPlugin",
    "run_remote_job",
    "warm_up_worker",
    "require_distributed",
    "local_cluster",
]

#: Environment variable naming the scheduler when ``--scheduler`` is not given.
SCHEDULER_ENV = "ROTATION_DASK_SCHEDULER"
INSTALL_HINT = (
    "pip install 'rotation[cluster]' (in a checkout: pip install -e '.[cluster]'; "
    "conda: conda install -c conda-forge distributed)"
)
#: Retries of a job whose worker died, before it is reported failed (scheduler allowed-failures).
ALLOWED_FAILURES = 2
#: Seconds to wait for a scheduler to answer.
CONNECT_TIMEOUT = 5
PLUGIN_NAME = "rotation-report"
# Run states a worker keeps (data built from the mirror, notebook sources), newest last.
_KEEP_RUNS = 2


def require_distributed():
    """The ``distributed`` module, or a :class:`ClusterError` saying how to install it."""
    try:
        import distributed
    except ImportError:
        raise ClusterError(
            "--scheduler needs Dask distributed (the optional `cluster` extra), which is not "
            f"installed: {INSTALL_HINT}"
        ) from None
    return distributed


# --------------------------------------------------------------------------- the scheduler


@dataclass(frozen=True)
class SchedulerSpec:
    """Where jobs run: a scheduler ``address``, or a new ``LocalCluster`` of ``local_workers``."""

    address: str | None
    local_workers: int = 0

    def __str__(self) -> str:
        return self.address or f"local:{self.local_workers}"


def parse_scheduler(value: str) -> SchedulerSpec:
    """Read ``--scheduler``: ``local:N`` (a LocalCluster of N worker processes on this machine),
    ``local`` (one worker per core), or a scheduler address such as ``tcp://host:8786``."""
    text = value.strip()
    m = re.fullmatch(r"local(?::(\d+))?", text)
    if m:
        n = int(m.group(1)) if m.group(1) else (os.cpu_count() or 1)
        if n < 1:
            raise ParameterError("scheduler", f"{value!r}: local:N needs at least 1 worker")
        return SchedulerSpec(None, n)
    if not text or re.search(r"\s", text):
        raise ParameterError(
            "scheduler", f"{value!r} is neither local:N nor a scheduler address (tcp://host:port)"
        )
    return SchedulerSpec(text if "://" in text else f"tcp://{text}")


def is_plain_tcp(spec: SchedulerSpec) -> bool:
    """True for a scheduler reached without TLS (``tcp://``): no encryption, no authentication."""
    return bool(spec.address) and spec.address.startswith("tcp://")


#: The CLI's one-line warning for a plain ``tcp://`` scheduler.
PLAIN_TCP_WARNING = (
    "{address} is plain TCP: no encryption and no authentication, so any process that reaches "
    "it can run code on its workers; use a tls:// scheduler (see the README, Security)"
)


def cluster_security(spec: SchedulerSpec):
    """The ``distributed.security.Security`` for ``spec``: a temporary certificate with mutual
    authentication for ``local:N`` (needs ``cryptography``), the Dask configuration's for an
    address (``distributed.comm.tls.ca-file``, ``.client.cert``, ``.client.key``).

    Raises
    ------
    ClusterError
        ``local:N`` without ``cryptography`` installed, or a ``tls://`` address while the Dask
        configuration names no certificate.
    """
    from distributed.security import Security

    if spec.address is None:
        try:
            return Security.temporary()
        except ImportError:
            raise ClusterError(
                "--scheduler local:N runs its cluster over TLS, which needs the `cryptography` "
                f"package (part of the `cluster` extra): {INSTALL_HINT}"
            ) from None
    security = Security()
    if spec.address.startswith("tls://") and not security.tls_client_cert:
        raise ClusterError(
            f"{spec.address} is a TLS scheduler but the Dask configuration names no client "
            "certificate: set distributed.comm.tls.ca-file, distributed.comm.tls.client.cert "
            "and distributed.comm.tls.client.key (or DASK_DISTRIBUTED__COMM__TLS__* variables)"
        )
    return security


# --------------------------------------------------------------------------- what goes over the wire


@dataclass(frozen=True)
class DataSpec:
    """The data a worker reads for run ``run``: the tables the client staged at ``staged`` when
    the worker sees that folder (same host or a shared file system), else the mirror at
    ``mirror`` (tables built on the worker), else ``data_dir`` (the client's explicit
    ``ROTATION_DATA_DIR``), else the worker's own embedded ``data/``."""

    run: str
    mirror: str | None = None
    data_dir: str | None = None
    staged: str | None = None


@dataclass(frozen=True)
class RemoteJob:
    """A :class:`MonthJob` with the notebook sources as bytes, so workers need no checkout."""

    job: MonthJob
    sources: tuple[tuple[str, bytes], ...]
    data: DataSpec


@dataclass
class RemoteResult:
    """What a worker sends back: the job's results, the files it wrote (name -> bytes), the
    vintages of the tables it read, and which worker it was."""

    results: list[NotebookResult]
    files: dict[str, bytes]
    vintages: dict[str, str]
    worker: str


# --------------------------------------------------------------------------- worker side


@dataclass
class _RunState:
    data_dir: Path
    nb_dir: Path
    vintages: dict[str, str]


def _describe_worker(worker: Any) -> str:
    return f"{worker.address} on {socket.gethostname()}" if worker else socket.gethostname()


class ReportWorkerPlugin(_WorkerPlugin):
    """Owns a Dask worker's report state: the warm kernels (shut down with the worker), the data
    and notebook sources of each run (prepared once per run), and a lock for preparing them.

    Registered by :class:`DaskExecutor`; ``distributed`` re-applies it to every worker that
    joins later, including one a nanny restarts after a crash.
    """

    name = PLUGIN_NAME
    # registered once per worker: a later run's registration leaves the plugin, and so its warm
    # kernels, in place (a replaced plugin would be torn down under a job that may still run)
    idempotent = True

    def __init__(self) -> None:
        self._fresh()

    def _fresh(self) -> None:
        self.worker: Any = None
        self._lock = threading.Lock()
        self._runs: dict[str, _RunState | RotationError] = {}
        self._root: Path | None = None

    def __getstate__(self) -> dict:
        return {}  # sent to workers empty: each worker builds its own state

    def __setstate__(self, state: dict) -> None:
        self._fresh()

    def setup(self, worker: Any) -> None:
        self.worker = worker
        self._root = Path(worker.local_directory) / "rotation"

    def teardown(self, worker: Any) -> None:
        from .kernels import kill_warm_kernels

        kill_warm_kernels()
        if self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)

    @property
    def root(self) -> Path:
        if self._root is None:
            self._root = Path(tempfile.mkdtemp(prefix="rotation-worker-"))
        return self._root

    def run_state(self, remote: RemoteJob) -> _RunState:
        """The run's data and notebook folder on this worker, prepared on first use."""
        spec = remote.data
        with self._lock:
            state = self._runs.get(spec.run)
            if state is None:
                try:
                    state = self._prepare(spec)
                except RotationError as e:  # every job of the run fails alike, without retrying
                    state = e
                self._runs[spec.run] = state
                while len(self._runs) > _KEEP_RUNS:
                    old = self._runs.pop(next(iter(self._runs)))
                    if isinstance(old, _RunState):
                        shutil.rmtree(old.nb_dir.parent, ignore_errors=True)
            if isinstance(state, RotationError):
                raise state
            for name, data in remote.sources:  # same names in a run: same sources
                path = state.nb_dir / name
                if not path.is_file():
                    path.write_bytes(data)
            return state

    def _prepare(self, spec: DataSpec) -> _RunState:
        from ..derived import data_dir as embedded_dir
        from .publish import _stage_data
        from .summary import data_vintages

        run_dir = self.root / f"run-{spec.run}"
        (run_dir / "notebooks").mkdir(parents=True, exist_ok=True)
        saved = {k: os.environ.get(k) for k in ("ROTATION_MIRROR", "ROTATION_DATA_DIR")}
        ok = False
        try:
            os.environ.pop("ROTATION_DATA_DIR", None)
            os.environ.pop("ROTATION_MIRROR", None)
            if spec.mirror:
                os.environ["ROTATION_MIRROR"] = spec.mirror
            elif spec.data_dir:
                os.environ["ROTATION_DATA_DIR"] = spec.data_dir
            if spec.staged and (Path(spec.staged) / "manifest.json").is_file():
                data = Path(spec.staged)  # the client's own tables: nothing to build
            else:  # the client's staging step: tables built from the mirror, or data/ as is
                data = _stage_data(run_dir) if spec.mirror else embedded_dir()
            manifest = data / "manifest.json"
            if not manifest.is_file():
                from ..errors import DataError

                raise DataError(
                    "no manifest; run `rotation data build` with ROTATION_MIRROR set",
                    file=str(manifest),
                )
            vintages = data_vintages(data)
            ok = True
        finally:
            if not ok:
                shutil.rmtree(run_dir, ignore_errors=True)
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        return _RunState(data, run_dir / "notebooks", vintages)


def _plugin() -> tuple[ReportWorkerPlugin, Any]:
    """This worker's plugin (a private one when the job runs outside a Dask worker)."""
    try:
        from distributed import get_worker

        worker = get_worker()
    except (ImportError, ValueError):
        worker = None
    plugin = worker.plugins.get(PLUGIN_NAME) if worker is not None else None
    if plugin is None:
        plugin = _LOCAL_PLUGIN
    return plugin, worker


_LOCAL_PLUGIN = ReportWorkerPlugin()


def _by_month(jobs: Sequence[MonthJob]) -> list[MonthJob]:
    """One job per month (its notebooks in order, in one warm kernel): a task on a cluster costs
    a scheduler round trip, paid per month instead of per notebook, and a month is what a
    worker's death retries or fails."""
    merged: dict[tuple, list[str]] = {}
    for j in jobs:
        merged.setdefault((j.month, j.out_dir, j.env, j.with_code), []).extend(j.notebooks)
    return [MonthJob(m, tuple(nbs), out, env, code) for (m, out, env, code), nbs in merged.items()]


def warm_up_worker() -> None:
    """Start this worker's kernel and imports ahead of its first job (never fails)."""
    from .kernels import warm_up

    warm_up()


def _failed(job: MonthJob, error: str) -> list[NotebookResult]:
    return [
        NotebookResult(
            Path(nb).stem, job.month, "failed", 0.0, str(Path(job.out_dir) / Path(nb).name), error
        )
        for nb in job.notebooks
    ]


def run_remote_job(remote: RemoteJob) -> RemoteResult:
    """Run one job on this worker with :func:`run_month_job` and return its files.

    A worker that cannot read the data returns failed results naming itself and the loader's
    message; a failing notebook is a failed result, as in the local pool.
    """
    plugin, worker = _plugin()
    where = _describe_worker(worker)
    job = remote.job
    try:
        state = plugin.run_state(remote)
    except RotationError as e:
        return RemoteResult(_failed(job, f"{type(e).__name__}: worker {where}: {e}"), {}, {}, where)
    out = Path(tempfile.mkdtemp(prefix=f"{job.month}-", dir=plugin.root))
    try:
        env = dict(job.env)
        env["ROTATION_DATA_DIR"] = str(state.data_dir)
        local = MonthJob(
            job.month,
            tuple(str(state.nb_dir / Path(nb).name) for nb in job.notebooks),
            str(out),
            tuple(sorted(env.items())),
            job.with_code,
        )
        results = run_month_job(local)
        files = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    finally:
        shutil.rmtree(out, ignore_errors=True)
    return RemoteResult(results, files, state.vintages, where)


# --------------------------------------------------------------------------- client side


def local_cluster(n_workers: int, security: Any = None, **kwargs: Any):
    """A ``LocalCluster`` of ``n_workers`` single-threaded worker processes, its scheduler set up
    for report jobs: a job whose worker dies is retried :data:`ALLOWED_FAILURES` times, and a
    worker holds one job at a time, so a death blames only the job that was running. Its
    scheduler and workers talk TLS with mutual authentication (``security``, default a new
    ``Security.temporary()``): a client without the certificate is refused.

    ``kwargs`` go to ``LocalCluster`` (e.g. ``env`` for the worker processes).
    """
    import logging

    import dask
    from distributed import LocalCluster

    config = {
        "distributed.scheduler.allowed-failures": ALLOWED_FAILURES,
        "distributed.scheduler.worker-saturation": 1.0,
    }
    if security is None:
        security = cluster_security(SchedulerSpec(None, n_workers))
    with dask.config.set(config):
        return LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
            security=security,
            protocol="tls://",
            **kwargs,
        )


class DaskExecutor:
    """Runs report jobs on a Dask cluster: an existing scheduler, or a ``LocalCluster`` of
    worker processes started (and closed) here. Use as ``functools.partial(DaskExecutor,
    scheduler)`` for :func:`~rotation_utils.report.run_report`'s ``executor``.

    Parameters
    ----------
    scheduler : str or SchedulerSpec
        ``local:N`` or a scheduler address (see :func:`parse_scheduler`).
    workers : int
        Ignored: the cluster decides how many jobs run at once (kept for the executor factory
        signature).
    """

    def __init__(self, scheduler: str | SchedulerSpec, workers: int = 0):
        self.spec = (
            scheduler if isinstance(scheduler, SchedulerSpec) else parse_scheduler(scheduler)
        )
        self.workers = self.spec.local_workers or 1
        self._cluster: Any = None
        self._client: Any = None
        self._futures: list[Any] = []

    def __enter__(self) -> DaskExecutor:
        require_distributed()
        try:
            self._connect()
        except BaseException:
            self.__exit__()
            raise
        return self

    def _connect(self) -> None:
        from distributed import Client

        address: Any = self.spec.address
        security = cluster_security(self.spec)
        if address is None:
            import signal

            from .kernels import blocked_in_children, start_resource_tracker

            start_resource_tracker()
            # The cluster's nannies and workers are this run's helpers: a SIGTERM or SIGHUP
            # sent to the process group reaches this process alone, which closes the cluster in
            # order (workers kill their kernels) instead of its workers dying under their jobs.
            with blocked_in_children(signal.SIGTERM, signal.SIGHUP):
                self._cluster = local_cluster(self.spec.local_workers, security)
            address = self._cluster
        try:
            if isinstance(address, str):
                _probe(address, CONNECT_TIMEOUT, security)
            self._client = Client(
                address, timeout=CONNECT_TIMEOUT, set_as_default=False, security=security
            )
        except (OSError, TimeoutError) as e:
            raise ClusterError(
                f"no Dask scheduler answered at {self.spec} within {CONNECT_TIMEOUT} s "
                f"({type(e).__name__}); check that it runs and the address given by "
                f"--scheduler or {SCHEDULER_ENV}"
            ) from None
        self._client.register_plugin(ReportWorkerPlugin(), name=PLUGIN_NAME)
        workers = list(self._client.scheduler_info().get("workers", {}))
        self.workers = max(1, len(workers))
        # kernels start and imports run on the workers while the client stages the data
        self._futures = [
            self._client.submit(
                warm_up_worker,
                key=f"rotation-warm-up-{uuid.uuid4().hex[:8]}",
                workers=[w],
                allow_other_workers=False,
                pure=False,
            )
            for w in workers
        ]

    def __exit__(self, *exc: object) -> None:
        # Ctrl-C or an error: nothing left running for a run that will not publish
        if self._client is not None:
            with contextlib.suppress(Exception):
                if self._futures:
                    self._client.cancel(self._futures, force=True)
            with contextlib.suppress(Exception):
                self._client.close(timeout=CONNECT_TIMEOUT)
        if self._cluster is not None:
            with contextlib.suppress(Exception):
                self._cluster.close(timeout=10)
        self._futures, self._client, self._cluster = [], None, None

    def run(self, jobs: Sequence[MonthJob]) -> Iterator[list[NotebookResult]]:
        """Submit every job; yield each one's results (files written to its ``out_dir``) as it
        completes. A job the cluster gave up on yields failed results with the reason."""
        from distributed import as_completed

        from .summary import data_vintages

        if self._client is None:
            raise RuntimeError("DaskExecutor.run outside its `with` block")
        jobs = _by_month(jobs)
        sources = {nb: Path(nb).read_bytes() for j in jobs for nb in j.notebooks}
        staged = next((dict(j.env).get("ROTATION_DATA_DIR") for j in jobs), None)
        data = _data_spec(staged)
        expected = data_vintages(Path(staged)) if staged else None
        by_future = {}
        for j in jobs:
            remote = RemoteJob(j, tuple((Path(nb).name, sources[nb]) for nb in j.notebooks), data)
            key = f"rotation-{j.month}-{'-'.join(Path(nb).stem for nb in j.notebooks)}-{uuid.uuid4().hex[:8]}"
            by_future[self._client.submit(run_remote_job, remote, key=key, pure=False)] = j
        self._futures += list(by_future)
        for fut in as_completed(list(by_future), loop=self._client.loop):
            job = by_future[fut]
            try:
                remote_result = fut.result()
            except Exception as e:
                yield _failed(job, _one_line(e))
                continue
            yield _receive(job, remote_result, expected)
        self._futures = []


def _probe(address: str, timeout: float, security: Any = None) -> None:
    """Connect to ``address`` and complete Dask's handshake within ``timeout`` seconds, or raise
    ``TimeoutError``/``OSError``. ``Client(timeout=...)`` bounds the TCP connect but not the
    handshake (dask/distributed#7698), so a peer that accepts and never answers would hang it."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from distributed.comm import connect

    args = security.get_connection_args("client") if security is not None else {}

    async def handshake() -> None:
        comm = await asyncio.wait_for(connect(address, timeout=timeout, **args), timeout)
        await comm.close()

    # a thread of its own: the caller may already run an event loop (Jupyter)
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, handshake()).result()


def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split())
    if type(e).__name__ == "KilledWorker":
        text = f"the worker running it died {ALLOWED_FAILURES + 1} times ({text})"
    return f"{type(e).__name__}: {text}"


def _data_spec(staged: str | None) -> DataSpec:
    """What the workers read: the client's staged tables if they see them, else the client's
    mirror, or its explicit data folder, or their own data/."""
    from ..sources._fetch import mirror_dir

    mirror = mirror_dir()
    explicit = os.environ.get("ROTATION_DATA_DIR", "").strip() or None
    return DataSpec(uuid.uuid4().hex[:12], str(mirror) if mirror else None, explicit, staged)


def _receive(
    job: MonthJob, remote: RemoteResult, expected: dict[str, str] | None
) -> list[NotebookResult]:
    """Write a worker's files into the job's staging folder; its results point at them."""
    if expected is not None and remote.vintages and remote.vintages != expected:
        diff = sorted(
            k
            for k in set(expected) | set(remote.vintages)
            if expected.get(k) != remote.vintages.get(k)
        )
        k = diff[0]
        return _failed(
            job,
            f"DataError: worker {remote.worker} read other data than the client: {k} is "
            f"{remote.vintages.get(k)!r} there, {expected.get(k)!r} here; give every worker the "
            "same mirror or data/",
        )
    out = Path(job.out_dir)
    paths = {}
    for name in remote.files:
        path = _inside(out, name)
        if path is None:
            shown = " ".join(repr(name)[:80].split())
            return _failed(
                job,
                f"DataError: worker {remote.worker} returned the file name {shown}, which is not "
                "a plain file name inside the job's folder; nothing of its job was written",
            )
        paths[name] = path
    for name, data in remote.files.items():
        paths[name].write_bytes(data)
    return [replace(r, output=str(out / Path(r.output).name)) for r in remote.results]


# What a worker may name a file it returns: an executed notebook, a page or a figure of it.
_FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,120}")


def _inside(folder: Path, name: Any) -> Path | None:
    """``folder / name`` when ``name`` is a plain file name (no separator, no "..", no leading
    dot) and the path, symlinks resolved, stays inside ``folder``; else None."""
    if not isinstance(name, str) or not _FILE_NAME.fullmatch(name) or ".." in name:
        return None
    path = resolve_inside(folder, name)
    return path if path is not None and path.parent == folder.resolve() else None
