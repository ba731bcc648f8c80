"""``rotation`` command line: argument parsing and error-to-exit-code mapping only.

Exit codes: 0 success, 1 data or runtime error, 2 usage error (bad argument or parameter).
Errors print one line on stderr; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="rotation",
        description="Small-cap vs large-cap research: data, notebooks and monthly reports.",
    )
    p.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    data = sub.add_parser(
        "data",
        help="list, show and build datasets",
        description="Raw datasets and the embedded derived tables.",
    )
    dsub = data.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    dsub.add_parser(
        "list",
        help="datasets with source, vintage, coverage and where they are read from",
        description="List raw datasets (read through cache -> ROTATION_MIRROR -> URL) and the derived tables in data/.",
    )
    show = dsub.add_parser(
        "show",
        help="print one table of a dataset",
        description="Print one table of a raw dataset as CSV or JSON.",
    )
    show.add_argument(
        "dataset",
        help="french/<stem>, shiller/ie_data, shiller/datahub_sp500_data, spdji/sp-500-eps-est, fred/<SERIES>, prices/<TICKER>",
    )
    show.add_argument(
        "--table", help="case-insensitive substring of the table title (default: the first table)"
    )
    show.add_argument("--format", choices=("csv", "json"), default="csv")
    dsub.add_parser(
        "build",
        help="rebuild data/ from the mirror or the network",
        description="Rebuild the derived tables in data/ (csv.gz + manifest.json) from ROTATION_MIRROR or the official URLs.",
    )

    rep = sub.add_parser(
        "report",
        help="render the notebooks for a month into an HTML report",
        description="Run the notebook sequence with papermill for a month (or a range) and write DIR/YYYY-MM/ with index.html, one page per notebook, the executed notebooks and summary.json.",
    )
    g = rep.add_mutually_exclusive_group()
    g.add_argument(
        "--month",
        help="report month YYYY-MM (a partial month is labelled month to date), or 'latest' (default): the newest complete month of daily prices",
    )
    g.add_argument("--from", dest="from_month", help="first month of a backfill (with --to)")
    rep.add_argument("--to", dest="to_month", help="last month of a backfill")
    rep.add_argument("--out", default="reports", help="output folder (default: reports)")
    rep.add_argument(
        "--jobs", type=int, default=None, help="notebooks run in parallel (default: CPU count)"
    )
    rep.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        default=None,
        help="run the notebooks on Dask distributed: a scheduler address (tcp://host:8786) or local:N for a LocalCluster of N workers on this machine (default: $ROTATION_DASK_SCHEDULER, else the local process pool; needs the cluster extra)",
    )
    rep.add_argument("--notebooks", help="comma-separated notebook numbers or names, e.g. 01,03")
    rep.add_argument("--with-code", action="store_true", help="show input cells in the HTML pages")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from .errors import RotationError

    try:
        return _run(args)
    except RotationError as e:
        if args.debug:
            raise
        print(f"rotation: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("rotation: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # output piped into e.g. `head`, which stopped reading: not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _run(args: argparse.Namespace) -> int:
    if args.command == "data":
        if args.data_command == "list":
            return _data_list()
        if args.data_command == "show":
            return _data_show(args.dataset, args.table, args.format)
        return _data_build()
    return _report(args)


def _report_months(args: argparse.Namespace) -> list[str]:
    from .errors import ParameterError
    from .report import latest_month, months_between, validate_month

    if args.from_month or args.to_month:
        if not (args.from_month and args.to_month):
            raise ParameterError("from", "--from and --to go together")
        return months_between(args.from_month, args.to_month)
    if args.month in (None, "latest"):
        return [latest_month()]
    return [validate_month(args.month)]


def _scheduler(args: argparse.Namespace) -> str | None:
    """``--scheduler``, else ``ROTATION_DASK_SCHEDULER``; checked, with the extra installed."""
    from .errors import ParameterError

    value = args.scheduler or os.environ.get("ROTATION_DASK_SCHEDULER", "").strip() or None
    if value is None:
        return None
    if args.jobs is not None:
        raise ParameterError(
            "jobs", "--jobs sizes the local process pool; with a Dask scheduler use local:N"
        )
    from .report.dask_executor import parse_scheduler, require_distributed

    parse_scheduler(value)
    require_distributed()
    return value


def _report(args: argparse.Namespace) -> int:
    """Check every argument before anything is written, run, then print the index paths."""
    from pathlib import Path

    from .errors import ReportError
    from .report import plan_report, resolve_notebooks, run_report

    months = _report_months(args)
    notebooks = resolve_notebooks(args.notebooks)
    scheduler = _scheduler(args)
    plan_report(months, Path(args.out), notebooks=notebooks, jobs=args.jobs)
    try:
        published = run_report(
            months,
            Path(args.out),
            jobs=args.jobs,
            notebooks=notebooks,
            with_code=args.with_code,
            scheduler=scheduler,
        )
    except ReportError as e:
        if args.debug:
            raise
        for failure in e.failures:
            print(f"rotation: error: {failure}", file=sys.stderr)
        return e.exit_code
    for p in published:
        print(p / "index.html")
    return 0


def _data_list() -> int:
    from .catalog import DATASETS, load_dataset, raw_files
    from .derived import TABLES, data_dir, manifest
    from .errors import RotationError
    from .provenance import provenance_of
    from .sources._fetch import where_from

    print(f"{'dataset':32} {'vintage':20} {'coverage':26} {'read from':6} location")
    for name in DATASETS:
        places = [where_from(r) for r in raw_files(name)]
        local = [p for p in places if p[0] in ("mirror", "cache")]
        kind, where = local[-1] if local else places[-1]
        vintage = coverage = "-"
        if local:  # read only what is on this machine; listing never downloads
            try:
                p = provenance_of(next(iter(load_dataset(name).values())))
                vintage, coverage = p.vintage, p.coverage
            except RotationError as e:
                vintage = f"unreadable: {e}"
        print(f"{name:32} {vintage:20} {coverage:26} {kind:6} {where}")
    print()
    print(f"Derived tables in {data_dir()} (used when ROTATION_MIRROR is unset):")
    try:
        man = manifest()["tables"]
    except RotationError as e:
        print(f"  {e}")
        return 0
    for name in TABLES:
        e = man.get(name)
        if e:
            p = e["provenance"]
            print(f"{name:26} {e['rows']:>7} rows  {p['coverage']:26} {p['vintage'][:60]}")
    return 0


def _frame_for_output(df):
    """The table with its dates as text (YYYY-MM monthly, YYYY annual, YYYY-MM-DD daily) and
    column names stripped; tables keyed by labels (e.g. index and sector) get those as columns.
    Returns the frame and whether its index is to be written."""
    import pandas as pd

    out = df.copy()
    out.columns = [str(c).strip() for c in out.columns]
    idx = out.index
    if isinstance(idx, pd.PeriodIndex):
        annual = idx.freqstr.startswith(("Y", "A"))
        out.index = pd.Index(idx.strftime("%Y" if annual else "%Y-%m"), name="period")
    elif isinstance(idx, pd.DatetimeIndex):
        out.index = pd.Index(idx.strftime("%Y-%m-%d"), name=idx.name or "date")
    else:
        if isinstance(idx, pd.MultiIndex) or idx.name is not None:
            out = out.reset_index()
        return out, False
    return out, True


def _data_show(dataset: str, table: str | None, fmt: str) -> int:
    from .catalog import load_dataset, select_table

    tables = load_dataset(dataset)
    title, df = select_table(tables, table, dataset)
    out, has_index = _frame_for_output(df)
    if fmt == "csv":
        sys.stdout.write(out.to_csv(index=has_index, na_rep="", lineterminator="\n"))
    else:
        recs = json.loads(
            out.reset_index().to_json(orient="records", date_format="iso")
            if has_index
            else out.to_json(orient="records", date_format="iso")
        )
        prov = df.attrs.get("provenance", {})
        json.dump(
            {"dataset": dataset, "table": title, "provenance": prov, "rows": recs}, sys.stdout
        )
        sys.stdout.write("\n")
    return 0


def _data_build() -> int:
    from .derived import build_tables, data_dir

    def progress(name: str) -> None:
        print(f"building {name}", file=sys.stderr)

    man = build_tables(progress=progress)
    for e in man["tables"].values():
        print(f"{data_dir() / e['file']}  {e['rows']} rows  {e['provenance']['vintage'][:70]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
