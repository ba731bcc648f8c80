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
    proxy = false                         # optional: true when the metric only stands in
    note = "..."                          # optional: why each row is a definition or context
    [[claims.variants]]                   # optional: other definitions of the same claim
    label = "S&P 600 Financials"          # (same measure, horizon, universe): may flip it
    metric = "pe_forward:S&P 600:Financials"  # overrides the claim's fields (same kind) ...
    [[claims.context]]                    # optional: related evidence, shown, never flipping
    label = "P/E on last year's EPS"      # (another measure, horizon, universe, a weaker claim)
    metric = "pe_last_year:S&P 500:Financials"
    [[claims.outcomes]]                   # optional: what happened after the article
    label = "since the article"
    kind = "outperform"                   # ... or a full definition of another kind
    ...

Wherever a metric is accepted (``metric``, ``left``, ``right``, ``stated``, ``small``,
``large``; not an ``extreme`` claim's, which needs one history) an expression may stand instead:
metrics and numbers combined with ``+ - * /`` (a space on both sides) and parentheses, e.g.
``left = "return:EEM:2026-03-31:2026-07-31 - return:SPY:2026-03-31:2026-07-31"`` (see
:mod:`.expressions`).

A claims file is untrusted input (a colleague's, a pull request's). Every problem raises
:class:`ClaimsFileError` with one line naming the file, the claim and the field, and nothing is
evaluated until the whole file is valid:

- the file is at most :data:`MAX_BYTES`, UTF-8 TOML, nested at most :data:`MAX_DEPTH` deep, with
  at most :data:`MAX_CLAIMS` claims of at most :data:`MAX_ROWS` rows each;
- no text (keys included) holds a control character (ANSI escapes, NUL, a carriage return,
  bidirectional overrides); text is NFC-normalised and stripped, at most :data:`MAX_TEXT` long;
- claim ids are NFC-normalised, stripped and compared case-sensitively; a duplicate id, or a
  duplicate row label within a claim, is refused;
- every number is finite (no ``inf``/``nan``) and of a sane size; tolerances are > 0 and < 1;
- dates exist in the calendar (also those inside metric names) and lie in 1900..2100; months
  are YYYY-MM with a month 01-12;
- an expression is at most :data:`~.expressions.MAX_LENGTH` characters with at most
  :data:`~.expressions.MAX_OPERANDS` operands, nested at most :data:`~.expressions.MAX_NESTING`
  deep, every metric of it is in the catalog, and its units combine (a P/E plus a return is
  refused here when the catalog knows both units; a fact's unit when the facts are read).
"""

from __future__ import annotations

import datetime as dt
import math
import re
import tomllib
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ..errors import RotationError
from .checks import CHECKS
from .expressions import (
    ExpressionError,
    Metric,
    is_expression,
    leaves,
    metric_unit,
    parse_expression,
    render,
    static_unit,
)
from .kinds import FIELD_TYPES, KINDS, OPS, Field, Kind
from .metrics import parse_metric

__all__ = [
    "Article",
    "Definition",
    "Claim",
    "ClaimsFile",
    "ClaimsFileError",
    "MAX_BYTES",
    "MAX_DEPTH",
    "MAX_CLAIMS",
    "MAX_ROWS",
    "MAX_TEXT",
    "load_claims",
    "parse_claims",
    "resolve_claims_file",
]

#: Limits on an untrusted claims file: bytes, nesting of tables/arrays, claims, rows per claim
#: (variants, context and outcomes together) and characters per text field.
MAX_BYTES = 512 * 1024
MAX_DEPTH = 8
MAX_CLAIMS = 200
MAX_ROWS = 40
MAX_TEXT = 4000
#: The largest whole number a field may hold (a window in months, an amount); floats beyond it
#: are refused too.
_MAX_NUMBER = 1e12
_YEARS = (1900, 2100)

_ARTICLE_FIELDS = ("id", "title", "publisher", "date", "url")
_TABLES = ("variants", "context", "outcomes")
_COMMON = {"id", "text", "kind", "check", "label", "note", "proxy", *_TABLES}
_ROW_COMMON = {"label", "proxy"}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MONTH = re.compile(r"^\d{4}-\d{2}$")
_DATE_IN_NAME = re.compile(r"(?<![\d-])(\d{4}-\d{2}-\d{2})(?![\d-])")
_MONTH_IN_NAME = re.compile(r"(?<![\d-])(\d{4}-\d{2})(?![\d-])")
_TICKER = re.compile(r"^[A-Z][A-Z0-9.\-^]{0,9}$")
_ID = re.compile(r"^\w[\w.\-]{0,63}$")
#: Format characters that reorder or hide text on a terminal or page (bidi overrides, isolates).
_BIDI = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")


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
    """One way of checking a claim: a kind (or registered check) with its validated fields.

    ``proxy`` marks a definition whose metric only stands in for the claimed measure (e.g. French
    size quintiles for the Russell 2000 / 1000)."""

    label: str
    kind: str  # a name in KINDS, or "check"
    check: str  # a name in CHECKS when kind == "check"
    fields: Mapping[str, Any] = field(default_factory=dict)
    proxy: bool = False

    @property
    def kind_name(self) -> str:
        return f"check:{self.check}" if self.kind == "check" else self.kind

    def with_fields(self, label: str, **changes: Any) -> Definition:
        """The same definition with some fields changed (a generated perturbation)."""
        return Definition(
            label, self.kind, self.check, MappingProxyType({**self.fields, **changes}), self.proxy
        )


@dataclass(frozen=True)
class Claim:
    """A claim: its main definition, other definitions (``variants``, which may flip the
    verdict), ``context`` rows (shown, never flipping) and ``outcomes`` (after the article)."""

    id: str
    text: str
    main: Definition
    variants: tuple[Definition, ...] = ()
    outcomes: tuple[Definition, ...] = ()
    note: str = ""
    context: tuple[Definition, ...] = ()

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
        Too big, not TOML, nested too deeply, a control character, a missing or unknown field,
        an unknown kind, check, metric or operator, a number that is not finite, a bad tolerance,
        date or month, a duplicate claim id; the message names the file, the claim and the field.
    """
    p = Path(path)
    try:
        with p.open("rb") as fh:
            raw = fh.read(MAX_BYTES + 1)
    except OSError as e:
        raise ClaimsFileError(str(p), "file", None, f"cannot be read ({e.strerror})") from None
    if len(raw) > MAX_BYTES:
        raise ClaimsFileError(
            str(p), "file", None, f"is larger than {MAX_BYTES // 1024} KiB (a claims file is text)"
        )
    try:
        text = raw.decode("utf-8")
        data = tomllib.loads(text)
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise ClaimsFileError(str(p), "file", None, f"not valid TOML ({e})") from None
    except ValueError as e:  # e.g. an integer of more than 4300 digits (int_max_str_digits)
        raise ClaimsFileError(str(p), "file", None, f"not valid TOML ({e})") from None
    except RecursionError:
        raise ClaimsFileError(
            str(p), "file", None, f"nested too deeply (at most {MAX_DEPTH} levels)"
        ) from None
    return parse_claims(data, str(p), fact_ids=fact_ids)


def parse_claims(
    data: Mapping[str, Any], file: str, *, fact_ids: set[str] | None = None
) -> ClaimsFile:
    """Validate a parsed TOML document (see :func:`load_claims`)."""
    _check_shape(data, file)
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
        if not isinstance(c, dict):
            raise ClaimsFileError(file, f"claim #{n}", None, "is not a table")
        cid = _claim_id(c, file, n)
        where = f"claim {cid}"
        if cid in seen:
            raise ClaimsFileError(file, where, "id", f"duplicate id (also claim #{seen[cid]})")
        seen[cid] = n
        claims.append(_claim(c, cid, file, where, fact_ids))
    return ClaimsFile(file, article, tuple(claims))


# --------------------------------------------------------------------------- the whole document


def _check_shape(data: Mapping[str, Any], file: str) -> None:
    """Depth, sizes, control characters and finite numbers everywhere, before any meaning is read;
    the error names the claim (by id when it has a usable one) and the field."""
    claims = data.get("claims")
    if isinstance(claims, list) and len(claims) > MAX_CLAIMS:
        raise ClaimsFileError(file, "file", "claims", f"more than {MAX_CLAIMS} claims")
    # An explicit stack, so a deeply nested document cannot exhaust Python's recursion.
    stack: list[tuple[Any, int, str, str | None]] = [(data, 0, "file", None)]
    while stack:
        node, depth, where, name = stack.pop()
        if depth > MAX_DEPTH:
            raise ClaimsFileError(
                file, where, name, f"nested too deeply (at most {MAX_DEPTH} levels)"
            )
        if isinstance(node, dict):
            for k, v in node.items():
                _check_text(k, file, where, name, key=True)
                sub = where
                if depth == 0 and k == "article":
                    sub = "[article]"
                stack.append((v, depth + 1, sub, k))
        elif isinstance(node, list):
            if name in ("claims",) and depth == 1:
                for i, c in enumerate(node, 1):
                    stack.append((c, depth + 1, _where_of(c, i), None))
                continue
            if name in _TABLES:
                if len(node) > MAX_ROWS:
                    raise ClaimsFileError(file, where, name, f"more than {MAX_ROWS} rows")
                for i, row in enumerate(node, 1):
                    stack.append((row, depth + 1, f"{where} {_ROW_NAME[name]} #{i}", None))
                continue
            for v in node:
                stack.append((v, depth + 1, where, name))
        elif isinstance(node, str):
            _check_text(node, file, where, name)
        elif isinstance(node, float):
            if not math.isfinite(node):
                raise ClaimsFileError(file, where, name, f"{node} is not a finite number")
            if abs(node) > _MAX_NUMBER:
                raise ClaimsFileError(file, where, name, f"{node:g} is too large")
        elif isinstance(node, int) and not isinstance(node, bool) and abs(node) > _MAX_NUMBER:
            # str() only below Python's 4300-digit conversion limit (tomllib refuses longer ones)
            digits = len(str(abs(node))) if node.bit_length() < 14000 else "thousands of"
            raise ClaimsFileError(file, where, name, f"a number of {digits} digits is too large")


_ROW_NAME = {"variants": "variant", "context": "context", "outcomes": "outcome"}


def _where_of(c: Any, n: int) -> str:
    """How an error names claim ``n``: by its id when that is a clean string, else by number."""
    cid = c.get("id") if isinstance(c, dict) else None
    if isinstance(cid, str) and not _bad_char(cid):
        clean = unicodedata.normalize("NFC", cid).strip()
        if _ID.match(clean):
            return f"claim {clean}"
    return f"claim #{n}"


def _bad_char(text: str) -> str | None:
    """The first control character of ``text`` (tab and newline allowed), or None."""
    for ch in text:
        if ch in "\t\n":
            continue
        if unicodedata.category(ch) in ("Cc", "Cs") or ch in _BIDI:
            return ch
    return None


def _check_text(text: str, file: str, where: str, name: str | None, *, key: bool = False) -> None:
    ch = _bad_char(text)
    if ch is not None:
        what = "a key" if key else "the text"
        raise ClaimsFileError(
            file,
            where,
            name if not key else (name or text.encode("unicode_escape").decode()),
            f"{what} holds the control character U+{ord(ch):04X} (ANSI escapes, NUL and carriage "
            "returns are refused)",
        )
    if len(text) > MAX_TEXT:
        raise ClaimsFileError(file, where, name, f"longer than {MAX_TEXT} characters")


def _clean(text: str) -> str:
    return unicodedata.normalize("NFC", text).strip()


def _claim_id(c: dict, file: str, n: int) -> str:
    cid = c.get("id")
    if not isinstance(cid, str) or not cid.strip():
        raise ClaimsFileError(file, f"claim #{n}", "id", "missing or not a string")
    clean = _clean(cid)
    if not _ID.match(clean):
        raise ClaimsFileError(
            file,
            f"claim #{n}",
            "id",
            f"{clean[:40]!r} is not an id (letters, digits, '.', '-' or '_', at most 64)",
        )
    return clean


# --------------------------------------------------------------------------- tables


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
        vals[k] = _clean(v)
    if not re.match(r"^https?://", vals["url"]):
        raise ClaimsFileError(file, "[article]", "url", "must be an http(s) address")
    return Article(**vals)


def _claim(c: dict, cid: str, file: str, where: str, fact_ids: set[str] | None) -> Claim:
    text = c.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ClaimsFileError(file, where, "text", "missing or empty")
    proxy = _flag(c, "proxy", file, where, _stands_in(c))
    main = _definition(
        c,
        file,
        where,
        fact_ids,
        common=_COMMON,
        label=c.get("label", "main definition"),
        proxy=proxy,
    )

    def rows(key: str) -> tuple[Definition, ...]:
        return tuple(
            _variant(v, main, c, file, f"{where} {_ROW_NAME[key]} #{i}", fact_ids)
            for i, v in enumerate(_tables(c, key, file, where), 1)
        )

    variants, context = rows("variants"), rows("context")
    outcomes = tuple(
        _definition(
            o,
            file,
            f"{where} outcome #{i}",
            fact_ids,
            common=_ROW_COMMON,
            label=o.get("label"),
            proxy=_flag(o, "proxy", file, f"{where} outcome #{i}"),
        )
        for i, o in enumerate(_tables(c, "outcomes", file, where), 1)
    )
    labels: dict[str, str] = {}
    for what, defs in (
        ("main", (main,)),
        ("variants", variants),
        ("context", context),
        ("outcomes", outcomes),
    ):
        for i, d in enumerate(defs, 1):
            if d.label in labels:
                raise ClaimsFileError(
                    file,
                    where if what == "main" else f"{where} {_ROW_NAME[what]} #{i}",
                    "label",
                    f"duplicate label {d.label!r} (also the {labels[d.label]}): each row says "
                    "which definition it is",
                )
            labels[d.label] = "main definition" if what == "main" else f"{_ROW_NAME[what]} #{i}"
    note = c.get("note", "")
    if not isinstance(note, str):
        raise ClaimsFileError(file, where, "note", "must be a string")
    return Claim(cid, _clean(text), main, variants, outcomes, _clean(note), context)


def _stands_in(c: dict) -> bool:
    """The claim's own fields name a catalog family that only stands in for another universe
    (``MetricSpec.stands_in_for``); ``proxy = false`` in the file overrides it."""
    from .metrics import CATALOG

    prose = {"id", "text", "note", "label", "reason", "why"}
    names = [v for k, v in c.items() if isinstance(v, str) and k not in prose]
    return any(
        re.search(rf"(?<![\w]){re.escape(f)}(?![\w])", n)
        for f, spec in CATALOG.items()
        if spec.stands_in_for
        for n in names
    )


def _flag(d: dict, key: str, file: str, where: str, default: bool = False) -> bool:
    v = d.get(key, default)
    if not isinstance(v, bool):
        raise ClaimsFileError(file, where, key, f"must be true or false, not {v!r}")
    return v


def _tables(c: dict, key: str, file: str, where: str) -> list[dict]:
    v = c.get(key, [])
    if not isinstance(v, list) or not all(isinstance(x, dict) for x in v):
        raise ClaimsFileError(file, where, key, f"must be [[claims.{key}]] tables")
    return v


def _variant(
    v: dict, main: Definition, c: dict, file: str, where: str, fact_ids: set[str] | None
) -> Definition:
    """A row overrides the claim's fields; one that names its own kind or check stands alone.
    A row that overrides fields keeps the claim's ``proxy`` unless it sets its own."""
    if "kind" in v or "check" in v:
        return _definition(
            v,
            file,
            where,
            fact_ids,
            common=_ROW_COMMON,
            label=v.get("label"),
            proxy=_flag(v, "proxy", file, where),
        )
    merged = {**{k: c[k] for k in main.fields if k in c}, **v}
    merged.update({"kind": c.get("kind"), "check": c.get("check")})
    merged = {k: x for k, x in merged.items() if x is not None}
    return _definition(
        merged,
        file,
        where,
        fact_ids,
        common=_ROW_COMMON,
        label=v.get("label"),
        proxy=_flag(v, "proxy", file, where, main.proxy),
    )


def _definition(
    d: dict,
    file: str,
    where: str,
    fact_ids: set[str] | None,
    *,
    common: set[str],
    label: Any,
    proxy: bool = False,
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
        if not isinstance(check, str) or check not in CHECKS:
            raise ClaimsFileError(
                file, where, "check", f"unknown check {check!r} (registered: {', '.join(CHECKS)})"
            )
        spec: Kind = CHECKS[check]
    else:
        if not isinstance(kind, str) or kind not in KINDS:
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
    _check_meaning(spec.name, fields, file, where)
    return Definition(
        _clean(label),
        "check" if check is not None else kind,
        check or "",
        MappingProxyType(fields),
        proxy,
    )


def _check_meaning(kind: str, fields: dict[str, Any], file: str, where: str) -> None:
    """Rules across fields: a tolerance that can decide, a window that is not empty."""

    def bad(name: str, msg: str) -> ClaimsFileError:
        return ClaimsFileError(file, where, name, msg)

    if kind == "value" and fields["stated"] == 0:
        raise bad("stated", "must not be 0 (the tolerance is relative to it)")
    if kind in ("value", "discount"):
        tol = fields["tolerance"]
        what = "a relative tolerance" if kind == "value" else "a tolerance (a decimal, 0.02 = 2 pp)"
        if not 0 < tol < 1:
            raise bad(
                "tolerance",
                f"{tol:g}: {what} must be > 0 and < 1 (one of 1 or more accepts any value "
                "and cannot be contradicted)",
            )
    if kind == "discount" and not -1 < fields["stated"] < 1:
        raise bad(
            "stated", f"{fields['stated']:g}: a discount is a decimal between -1 and 1 (0.2 = 20%)"
        )
    if kind == "extreme" and is_expression(fields["metric"]):
        raise bad("metric", "an extreme needs one metric with a history, not an expression")
    if kind == "extreme" and fields["window"] > 1200:
        raise bad("window", f"{fields['window']} months is longer than a century of data")
    if kind == "outperform" and fields["end"] is not None and fields["end"] <= fields["start"]:
        raise bad("end", f"{fields['end']} is not after start {fields['start']}")
    if kind == "outperform":
        both = set(fields["winners"]) & set(fields["losers"])
        if both:
            raise bad("losers", f"{', '.join(sorted(both))} is both a winner and a loser")


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
        if is_expression(v):
            return _expression(_clean(v), bad, fact_ids)
        _dates_in_name(v, bad)
        try:
            return parse_metric(_clean(v), fact_ids=fact_ids).name
        except (ValueError, OverflowError) as e:
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
        if not isinstance(v, str) or v not in OPS:
            raise bad(f"unknown operator {v!r} (one of {', '.join(OPS)})")
        return v
    if f.type == "direction":
        if v not in ("low", "high"):
            raise bad(f"must be 'low' or 'high', not {v!r}")
        return v
    if f.type == "month":
        if not isinstance(v, str):
            raise bad(f"{v!r} is not a month YYYY-MM")
        return _month(v.strip(), bad)
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
        if len(set(v)) != len(v):
            raise bad(f"names a ticker twice: {v!r}")
        return tuple(v)
    if not isinstance(v, str) or not v.strip():  # text
        raise bad("must be a non-empty string")
    return _clean(v)


def _expression(text: str, bad, fact_ids: set[str] | None) -> str:
    """An expression over metrics (:mod:`.expressions`): parsed within its limits, every metric
    checked against the catalog, the units combined where the catalog knows them (a P/E plus a
    return is refused here, before any data is read). Returns it as the parser prints it."""
    try:
        tree = parse_expression(text)
    except ExpressionError as e:
        raise bad(f"{text[:80]!r}: {e}") from None
    names = [m.name for m in leaves(tree) if isinstance(m, Metric)]
    if not names:
        raise bad(f"{text[:80]!r}: an expression needs at least one metric")
    for name in names:
        _dates_in_name(name, bad)
        try:
            parse_metric(name, fact_ids=fact_ids)
        except (ValueError, OverflowError) as e:
            raise bad(f"{name!r}: {e}") from None
    try:
        static_unit(tree, metric_unit)
    except ExpressionError as e:
        raise bad(str(e)) from None
    return render(tree)


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _month(v: str, bad) -> str:
    if not _MONTH.match(v) or not 1 <= int(v[5:]) <= 12:
        raise bad(f"{v!r} is not a month YYYY-MM")
    if not _YEARS[0] <= int(v[:4]) <= _YEARS[1]:
        raise bad(f"{v!r} is outside {_YEARS[0]}..{_YEARS[1]}")
    return v


def _dates_in_name(name: str, bad) -> None:
    """Every date and month written inside a metric name exists (``return:XLF:2025-02-30`` and
    ``fred:T10Y2Y:2025-13`` are refused here, before any data is read)."""
    for d in _DATE_IN_NAME.findall(name):
        _real_date(d, bad)
    for m in _MONTH_IN_NAME.findall(_DATE_IN_NAME.sub("", name)):
        _month(m, bad)


def _real_date(v: str, bad) -> str:
    try:
        d = dt.date.fromisoformat(v)
    except ValueError:
        raise bad(f"{v!r} is not a date in the calendar") from None
    if not _YEARS[0] <= d.year <= _YEARS[1]:
        raise bad(f"{v} is outside {_YEARS[0]}..{_YEARS[1]}")
    return d.isoformat()


def _date(v: Any, file: str, where: str, name: str) -> str:
    def bad(msg: str) -> ClaimsFileError:
        return ClaimsFileError(file, where, name, msg)

    if isinstance(v, dt.datetime):
        raise bad(f"{v} has a time; give a date YYYY-MM-DD")
    if isinstance(v, dt.date):
        return _real_date(v.isoformat(), bad)
    if isinstance(v, str) and _DATE.match(v.strip()):
        return _real_date(v.strip(), bad)
    raise bad(f"{v!r} is not a date YYYY-MM-DD")
