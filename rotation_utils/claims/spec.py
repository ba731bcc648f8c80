"""Claims files: parse and validate ``data/claims/<article-id>.toml`` into dataclasses.

The format (read with the standard library's ``tomllib``)::

    [article]
    id = "great-rotation-2026-01-13"
    title = "..."
    publisher = "..."
    date = 2026-01-13
    url = "https://..."

    [[claims]]
    id = "C6"
    text = "Financials trade at a forward P/E of 16.5"
    kind = "value"                        # or check = "<registered check>"
    label = "S&P 500 Financials, forward"  # optional: names the main definition
    metric = "pe_forward:S&P 500:Financials"
    stated = 16.5
    note = "..."                          # optional
    [[claims.variants]]                   # optional: other reasonable definitions
    label = "tolerance 3%"
    tolerance = 0.03                      # overrides the claim's fields (same kind) ...
    [[claims.outcomes]]                   # optional: what happened after the article
    label = "since the article"
    kind = "outperform"                   # ... or a full definition of another kind
    ...

Every problem raises :class:`ClaimsFileError` with one line naming the file, the claim and the
field; nothing is evaluated until the whole file is valid.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ..errors import RotationError
from .checks import CHECKS
from .kinds import FIELD_TYPES, KINDS, OPS, Field, Kind
from .metrics import parse_metric

__all__ = [
    "Article",
    "Definition",
    "Claim",
    "ClaimsFile",
    "ClaimsFileError",
    "load_claims",
    "parse_claims",
    "resolve_claims_file",
]

_ARTICLE_FIELDS = ("id", "title", "publisher", "date", "url")
_COMMON = {"id", "text", "kind", "check", "label", "note", "variants", "outcomes"}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_TICKER = re.compile(r"^[A-Z][A-Z0-9.\-^]{0,9}$")


class ClaimsFileError(RotationError):
    """A claims file that cannot be used; the message names the file, claim and field."""

    exit_code = 2

    def __init__(self, file: str, where: str, field: str | None, message: str):
        self.file, self.where, self.field = file, where, field
        at = f"{where}, field {field!r}" if field else where
        super().__init__(f"{file}: {at}: {message}")


@dataclass(frozen=True)
class Article:
    id: str
    title: str
    publisher: str
    date: str  # YYYY-MM-DD
    url: str


@dataclass(frozen=True)
class Definition:
    """One way of checking a claim: a kind (or registered check) with its validated fields."""

    label: str
    kind: str  # a name in KINDS, or "check"
    check: str  # a name in CHECKS when kind == "check"
    fields: Mapping[str, Any] = field(default_factory=dict)

    @property
    def kind_name(self) -> str:
        return f"check:{self.check}" if self.kind == "check" else self.kind


@dataclass(frozen=True)
class Claim:
    id: str
    text: str
    main: Definition
    variants: tuple[Definition, ...] = ()
    outcomes: tuple[Definition, ...] = ()
    note: str = ""

    @property
    def kind(self) -> str:
        return self.main.kind_name


@dataclass(frozen=True)
class ClaimsFile:
    path: str
    article: Article
    claims: tuple[Claim, ...]


def resolve_claims_file(name: str | Path) -> Path:
    """``name`` as a path if it exists, else ``data/claims/<name>[.toml]``."""
    from ..derived import data_dir

    p = Path(name)
    if p.is_file():
        return p
    # The data folder in use (a report may stage one), then the project's own data/claims.
    folders = dict.fromkeys(
        [data_dir() / "claims", Path(__file__).resolve().parents[2] / "data" / "claims"]
    )
    for folder in folders:
        for cand in (folder / p.name, folder / f"{p.name}.toml"):
            if cand.is_file():
                return cand
    raise ClaimsFileError(
        str(name), "file", None, f"not found (nor in {', '.join(map(str, folders))})"
    )


def load_claims(path: str | Path, *, fact_ids: set[str] | None = None) -> ClaimsFile:
    """Read and validate a claims file.

    Parameters
    ----------
    path : str or Path
        The TOML file.
    fact_ids : set of str, optional
        Ids of ``data/facts.csv``; when given, every ``fact:<id>`` metric must name one.

    Raises
    ------
    ClaimsFileError
        Not TOML, a missing or unknown field, an unknown kind, check, metric or operator, a bad
        date, a duplicate claim id; the message names the file, the claim and the field.
    """
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as e:
        raise ClaimsFileError(str(p), "file", None, f"cannot be read ({e.strerror})") from None
    try:
        text = raw.decode("utf-8")
        data = tomllib.loads(text)
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise ClaimsFileError(str(p), "file", None, f"not valid TOML ({e})") from None
    return parse_claims(data, str(p), fact_ids=fact_ids)


def parse_claims(
    data: Mapping[str, Any], file: str, *, fact_ids: set[str] | None = None
) -> ClaimsFile:
    """Validate a parsed TOML document (see :func:`load_claims`)."""
    extra = set(data) - {"article", "claims"}
    if extra:
        raise ClaimsFileError(
            file,
            "file",
            sorted(extra)[0],
            "unknown top-level key (expected [article] and [[claims]])",
        )
    article = _article(data.get("article"), file)
    claims_raw = data.get("claims")
    if not isinstance(claims_raw, list) or not claims_raw:
        raise ClaimsFileError(file, "file", "claims", "no [[claims]] entries")
    claims: list[Claim] = []
    seen: dict[str, int] = {}
    for n, c in enumerate(claims_raw, 1):
        where = f"claim #{n}"
        if not isinstance(c, dict):
            raise ClaimsFileError(file, where, None, "is not a table")
        cid = c.get("id")
        if not isinstance(cid, str) or not cid.strip():
            raise ClaimsFileError(file, where, "id", "missing or not a string")
        where = f"claim {cid}"
        if cid in seen:
            raise ClaimsFileError(file, where, "id", f"duplicate id (also claim #{seen[cid]})")
        seen[cid] = n
        claims.append(_claim(c, file, where, fact_ids))
    return ClaimsFile(file, article, tuple(claims))


def _article(a: Any, file: str) -> Article:
    if not isinstance(a, dict):
        raise ClaimsFileError(file, "[article]", None, "missing table")
    for k in a:
        if k not in _ARTICLE_FIELDS:
            raise ClaimsFileError(
                file, "[article]", k, f"unknown field (expected {', '.join(_ARTICLE_FIELDS)})"
            )
    vals = {}
    for k in _ARTICLE_FIELDS:
        if k not in a:
            raise ClaimsFileError(file, "[article]", k, "missing")
        v = _date(a[k], file, "[article]", k) if k == "date" else a[k]
        if not isinstance(v, str) or not v.strip():
            raise ClaimsFileError(file, "[article]", k, "must be a non-empty string")
        vals[k] = v.strip()
    return Article(**vals)


def _claim(c: dict, file: str, where: str, fact_ids: set[str] | None) -> Claim:
    text = c.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ClaimsFileError(file, where, "text", "missing or empty")
    main = _definition(
        c, file, where, fact_ids, common=_COMMON, label=c.get("label", "main definition")
    )
    variants = tuple(
        _variant(v, main, c, file, f"{where} variant #{i}", fact_ids)
        for i, v in enumerate(_tables(c, "variants", file, where), 1)
    )
    outcomes = tuple(
        _definition(
            o, file, f"{where} outcome #{i}", fact_ids, common={"label"}, label=o.get("label")
        )
        for i, o in enumerate(_tables(c, "outcomes", file, where), 1)
    )
    note = c.get("note", "")
    if not isinstance(note, str):
        raise ClaimsFileError(file, where, "note", "must be a string")
    return Claim(c["id"].strip(), text.strip(), main, variants, outcomes, note.strip())


def _tables(c: dict, key: str, file: str, where: str) -> list[dict]:
    v = c.get(key, [])
    if not isinstance(v, list) or not all(isinstance(x, dict) for x in v):
        raise ClaimsFileError(file, where, key, f"must be [[claims.{key}]] tables")
    return v


def _variant(
    v: dict, main: Definition, c: dict, file: str, where: str, fact_ids: set[str] | None
) -> Definition:
    """A variant overrides the claim's fields; one that names its own kind or check stands alone."""
    if "kind" in v or "check" in v:
        return _definition(v, file, where, fact_ids, common={"label"}, label=v.get("label"))
    merged = {**{k: c[k] for k in main.fields if k in c}, **v}
    merged.update({"kind": c.get("kind"), "check": c.get("check")})
    merged = {k: x for k, x in merged.items() if x is not None}
    return _definition(merged, file, where, fact_ids, common={"label"}, label=v.get("label"))


def _definition(
    d: dict, file: str, where: str, fact_ids: set[str] | None, *, common: set[str], label: Any
) -> Definition:
    if not isinstance(label, str) or not label.strip():
        raise ClaimsFileError(
            file, where, "label", "missing or empty (say which definition this is)"
        )
    kind, check = d.get("kind"), d.get("check")
    if kind is None and check is None:
        raise ClaimsFileError(
            file, where, "kind", f'missing (one of {", ".join(KINDS)}; or check = "...")'
        )
    if check is not None:
        if kind not in (None, "check"):
            raise ClaimsFileError(file, where, "check", "give either kind or check, not both")
        if check not in CHECKS:
            raise ClaimsFileError(
                file, where, "check", f"unknown check {check!r} (registered: {', '.join(CHECKS)})"
            )
        spec: Kind = CHECKS[check]
    else:
        if kind not in KINDS:
            raise ClaimsFileError(
                file, where, "kind", f"unknown kind {kind!r} (known: {', '.join(KINDS)})"
            )
        spec = KINDS[kind]
    allowed = common | {"kind", "check"} | set(spec.fields)
    for k in d:
        if k not in allowed:
            raise ClaimsFileError(
                file, where, k, f"unknown field for {spec.name} (fields: {', '.join(spec.fields)})"
            )
    fields: dict[str, Any] = {}
    for name, f in spec.fields.items():
        if name not in d:
            if f.required:
                raise ClaimsFileError(file, where, name, f"missing (required by {spec.name})")
            fields[name] = f.default
            continue
        fields[name] = _field(d[name], f, file, where, name, fact_ids)
    if spec.name == "value" and fields["stated"] == 0:
        raise ClaimsFileError(
            file, where, "stated", "must not be 0 (the tolerance is relative to it)"
        )
    if spec.name == "outperform" and fields["end"] is not None and fields["end"] <= fields["start"]:
        raise ClaimsFileError(
            file, where, "end", f"{fields['end']} is not after start {fields['start']}"
        )
    return Definition(
        label.strip(), "check" if check is not None else kind, check or "", MappingProxyType(fields)
    )


def _field(v: Any, f: Field, file: str, where: str, name: str, fact_ids: set[str] | None) -> Any:
    assert f.type in FIELD_TYPES, f.type

    def bad(msg: str) -> ClaimsFileError:
        return ClaimsFileError(file, where, name, msg)

    if f.type in ("metric", "operand"):
        if f.type == "operand" and _is_number(v):
            return float(v)
        if not isinstance(v, str):
            raise bad(
                f"must be a metric name{' or a number' if f.type == 'operand' else ''}, not {v!r}"
            )
        try:
            return parse_metric(v, fact_ids=fact_ids).name
        except ValueError as e:
            raise bad(f"{v!r}: {e}") from None
    if f.type == "number":
        if not _is_number(v):
            raise bad(f"must be a number, not {v!r}")
        return float(v)
    if f.type == "int":
        if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
            raise bad(f"must be a positive whole number, not {v!r}")
        return v
    if f.type == "op":
        if v not in OPS:
            raise bad(f"unknown operator {v!r} (one of {', '.join(OPS)})")
        return v
    if f.type == "direction":
        if v not in ("low", "high"):
            raise bad(f"must be 'low' or 'high', not {v!r}")
        return v
    if f.type == "month":
        if not isinstance(v, str) or not _MONTH.match(v):
            raise bad(f"{v!r} is not a month YYYY-MM")
        return v
    if f.type == "date":
        return _date(v, file, where, name)
    if f.type == "ticker":
        if not isinstance(v, str) or not _TICKER.match(v):
            raise bad(f"{v!r} is not a ticker")
        return v
    if f.type == "tickers":
        if (
            not isinstance(v, list)
            or not v
            or not all(isinstance(t, str) and _TICKER.match(t) for t in v)
        ):
            raise bad(f"must be a non-empty list of tickers, not {v!r}")
        return tuple(v)
    if not isinstance(v, str) or not v.strip():  # text
        raise bad("must be a non-empty string")
    return v.strip()


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _date(v: Any, file: str, where: str, name: str) -> str:
    if isinstance(v, dt.datetime):
        raise ClaimsFileError(file, where, name, f"{v} has a time; give a date YYYY-MM-DD")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, str) and _DATE.match(v):
        try:
            return dt.date.fromisoformat(v).isoformat()
        except ValueError:
            pass
    raise ClaimsFileError(file, where, name, f"{v!r} is not a date YYYY-MM-DD")
