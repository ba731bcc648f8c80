"""A draft claims file from an article's text: rules over sentences, no network, no model.

:func:`draft_claims` reads the text (pure), :func:`render_draft` writes TOML, :func:`read_article`
and :func:`write_draft` are the only I/O (``rotation claims draft ARTICLE.txt [--out FILE]``).

The text is split into paragraphs and sentences; each sentence is parsed once (:class:`Parsed`:
the subjects it names, its measures, numbers and periods) and offered to every rule of
:data:`RULES`, a registry of small functions ``(Parsed, Scope) -> list[Guess]``. A sentence that
some rule reads becomes one ``[[claims]]`` entry: its ``text`` is the sentence, its definition the
first guess that the catalog can check (or, when none can, the first guess written as
``kind = "not_checkable"`` with its intended fields commented out under a ``# TODO``), and the
other guesses follow as comments. A guess says what it assumed in the claim's ``note`` ("small
caps" read as the S&P 600, a period taken from an earlier sentence of the paragraph). Only fields
that the claims-file format has today are written, so an unedited draft passes
``rotation claims check`` (TODO claims are "not checkable", never an error).

Article text is untrusted: its size is capped (:data:`MAX_ARTICLE_BYTES`), binary text (a NUL
byte, not UTF-8) is refused, sentences longer than :data:`MAX_SENTENCE_CHARS` are not read and at
most :data:`MAX_CLAIMS` claims (and :data:`MAX_DRAFT_BYTES` bytes) are drafted, each counted in the
file's header; terminal escapes, control characters and bidirectional overrides are taken out of
the text (:func:`visible_text`; claims files refuse them), and every string is escaped for TOML.
"""

from __future__ import annotations

import calendar
import datetime as dt
import os
import re
import tempfile
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..errors import ParameterError, RotationError
from ..sources.prices import SECTOR_ETFS
from .checks import CHECKS

__all__ = [
    "MAX_ARTICLE_BYTES",
    "MAX_CLAIMS",
    "MAX_DRAFT_BYTES",
    "MAX_SENTENCE_CHARS",
    "RULES",
    "ArticleMeta",
    "Draft",
    "DraftClaim",
    "DraftError",
    "Guess",
    "Parsed",
    "Rule",
    "Scope",
    "article_meta",
    "draft_claims",
    "draft_text",
    "parse_sentence",
    "read_article",
    "render_draft",
    "sentences",
    "toml_string",
    "visible_text",
    "write_draft",
]

#: Largest article read (bytes); longer files are refused.
MAX_ARTICLE_BYTES = 1_000_000
#: Longest sentence read (characters); longer ones are counted in the header, not drafted.
MAX_SENTENCE_CHARS = 2_000
#: Most claims drafted from one article; the rest are counted in the header.
MAX_CLAIMS = 200
#: Largest draft written (bytes), below what a claims file may be.
MAX_DRAFT_BYTES = 500_000
#: Lines at the top of an article searched for its title, date, URL and publisher.
_HEADER_LINES = 15
#: What the draft writes for an article field the text does not give (a TODO comment beside it).
MISSING_PUBLISHER = "publisher not given in the text"
MISSING_URL = "https://url-not-given-in-the-text.invalid/"  # an http(s) address, reserved TLD
MISSING_TITLE = "title not found in the text"


class DraftError(RotationError):
    """An article that cannot be drafted; one line naming the file. Exit code 2."""

    exit_code = 2

    def __init__(self, file: str, message: str):
        self.file = file
        super().__init__(f"{file}: {message}")


# --- what a sentence names -------------------------------------------------------------------


@dataclass(frozen=True)
class Subject:
    """Something a sentence names that the catalog may know.

    Attributes
    ----------
    label : str
        How a reader names it: "Russell 2000", "small caps", "Financials", "JPM".
    pattern : str
        A regular expression (case-insensitive unless ``exact_case``).
    index : str or None
        The catalog index (S&P DJI sheet) it is or is read as; None when the catalog has none.
    sector : str
        A catalog sector, or "All".
    ticker : str or None
        A ticker whose closes track it.
    stand_in : str
        The nearest catalog index when ``index`` is None (written in a TODO, never as a metric).
    size : str
        "small", "mid" or "large" when it is a size class or a size index.
    reads_as : str
        Said in the note when a generic name is read as a catalog index ("small caps" as the
        S&P 600).
    """

    label: str
    pattern: str
    index: str | None = None
    sector: str = "All"
    ticker: str | None = None
    stand_in: str = ""
    size: str = ""
    reads_as: str = ""
    exact_case: bool = False
    company: bool = False

    @property
    def named(self) -> bool:
        """A named index, ticker or company (not a size class or a sector)."""
        return not self.reads_as and self.sector == "All"


_W0, _W1 = r"(?<![A-Za-z0-9])", r"(?![A-Za-z])"
_SECTOR_WORDS = {
    "Financials": r"financials?|financial (?:stocks|sector)|banks?",
    "Industrials": r"industrials?|industrial (?:stocks|sector)",
    "Utilities": r"utilities",
    "Information Technology": r"information technology|tech(?:nology)?",
    "Energy": r"energy",
    "Health Care": r"health ?care",
    "Consumer Staples": r"consumer staples|staples",
    "Consumer Discretionary": r"consumer discretionary|discretionary",
    "Materials": r"materials",
    "Real Estate": r"real estate|reits?",
    "Communication Services": r"communication services|telecom(?:munications?)?",
}
_SPDR = {v: k for k, v in SECTOR_ETFS.items()}
assert set(_SECTOR_WORDS) == set(_SPDR), "every sector SPDR has words"

#: Companies an article may name by name, with their tickers (prices only where the data has them).
_COMPANIES = {
    "JPM": r"JPMorgan(?: Chase)?|J\.P\. Morgan",
    "GS": r"Goldman Sachs",
    "BAC": r"Bank of America",
    "WFC": r"Wells Fargo",
    "C": r"Citigroup",
    "XOM": r"Exxon(?: ?Mobil)?",
    "CVX": r"Chevron",
    "AAPL": r"Apple",
    "MSFT": r"Microsoft",
    "NVDA": r"Nvidia",
    "AMZN": r"Amazon",
    "GOOGL": r"Alphabet|Google",
    "META": r"Meta Platforms",
    "TSLA": r"Tesla",
}
#: Tickers an article may write as such: the report's ETFs, the mirror's other price files, the
#: companies above.
_TICKERS = tuple(
    dict.fromkeys(
        [
            "SPY", "IWM", "QQQ", *sorted(SECTOR_ETFS),
            "DIA", "EEM", "EFA", "GLD", "SMH", "TLT", "VNQ", "XBI", "KRE",
            *(t for t in _COMPANIES if len(t) > 1),
        ]
    )
)  # fmt: skip

#: Every subject a sentence may name, longest names first where one contains another.
SUBJECTS: tuple[Subject, ...] = (
    Subject(
        "S&P 500", r"S&P\s?500|S&P\s?Composite 1500(?!\d)", "S&P 500", ticker="SPY", size="large"
    ),
    Subject("S&P 400", r"S&P\s?(?:MidCap\s?)?400", "S&P 400", size="mid"),
    Subject("S&P 600", r"S&P\s?(?:SmallCap\s?)?600", "S&P 600", size="small"),
    Subject("Russell 2000", r"Russell\s?2000", ticker="IWM", stand_in="S&P 600", size="small"),
    Subject("Russell 1000", r"Russell\s?1000", stand_in="S&P 500", size="large"),
    Subject("Nasdaq-100", r"Nasdaq(?:[- ]?100)?(?: Composite)?", ticker="QQQ", stand_in="S&P 500"),
    Subject(
        "small caps",
        r"small[- ]?cap(?:s|italization)?|small (?:companies|stocks)",
        "S&P 600",
        ticker="IWM",
        size="small",
        reads_as="the S&P 600 (IWM for prices)",
    ),
    Subject("mid caps", r"mid[- ]?cap(?:s)?", "S&P 400", size="mid", reads_as="the S&P 400"),
    Subject(
        "large caps",
        r"large[- ]?cap(?:s)?|mega[- ]?caps?|large (?:companies|stocks)",
        "S&P 500",
        ticker="SPY",
        size="large",
        reads_as="the S&P 500 (SPY for prices)",
    ),
    *(
        Subject(sector, words, sector=sector, ticker=_SPDR[sector])
        for sector, words in _SECTOR_WORDS.items()
    ),
    Subject(
        "Dow", r"Dow Jones Industrial Average|Dow(?: Jones)?", ticker="DIA", stand_in="S&P 500"
    ),
    *(Subject(t, words, ticker=t, company=True) for t, words in _COMPANIES.items()),
    *(Subject(t, t, ticker=t, exact_case=True) for t in _TICKERS),
)
_SUBJECT_RE = [
    (s, re.compile(_W0 + f"(?:{s.pattern})" + _W1, 0 if s.exact_case else re.I)) for s in SUBJECTS
]


@dataclass(frozen=True)
class Measure:
    """A measure a sentence names: "P/E" (basis "forward"/"trailing"/""), "P/B", "EV/EBITDA", or a
    FRED series id."""

    name: str
    start: int
    end: int
    basis: str = ""


_MEASURES: tuple[tuple[str, re.Pattern], ...] = tuple(
    (name, re.compile(pat, re.I))
    for name, pat in [
        ("EV/EBITDA", r"EV\s?/\s?EBITDA|enterprise[- ]value[- ]to[- ]EBITDA"),
        (
            "P/E",
            r"P\s?/\s?E\b|price[- ]to[- ]earnings|earnings multiples?|(?<=x )(?:forward |trailing )?earnings|(?<=times )(?:forward |trailing )?earnings",
        ),
        ("P/B", r"P\s?/\s?B\b|price[- ]to[- ]book|book[- ]value multiples?"),
        ("T10Y2Y", r"yield curve|10[- ]year minus 2[- ]year|10y\s?-\s?2y|2s10s"),
        ("DGS10", r"10[- ]year (?:Treasury )?yields?|10[- ]year Treasur(?:y|ies)"),
        ("DFF", r"fed(?:eral)? funds rate"),
    ]
)
_FRED_UNIT = {"T10Y2Y": "pp", "DGS10": "percent", "DFF": "percent"}


@dataclass(frozen=True)
class Number:
    """A number in a sentence: its value, its unit as written ("%", "x" or "") and its span."""

    value: float
    text: str
    unit: str
    start: int
    end: int


_NUMBER = re.compile(
    r"(?<![\w.$/-])(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)(\s?%|\s?percent\b|x(?![A-Za-z])|\s?times\b)?"
)


@dataclass(frozen=True)
class Period:
    """A window a sentence names: its first and last day and how it was written."""

    first: dt.date
    last: dt.date
    text: str
    start: int = 0
    end: int = 0

    @property
    def start_close(self) -> dt.date:
        """The close a return over the period starts from: the day before its first day."""
        return self.first - dt.timedelta(days=1)


_MONTHS = {m.lower(): i for i, m in enumerate(calendar.month_name) if m}
_MONTHS.update({m.lower(): i for i, m in enumerate(calendar.month_abbr) if m})
_MONTHS["sept"] = 9
_MONTH_WORD = r"(Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
_YEAR = r"((?:19|20)\d{2})"
_ORD = {"first": 1, "second": 2, "third": 3, "fourth": 4, "1st": 1, "2nd": 2, "3rd": 3, "4th": 4}


def _month_last(y: int, m: int) -> dt.date:
    return dt.date(y, m, calendar.monthrange(y, m)[1])


def _quarter(y: int, q: int) -> tuple[dt.date, dt.date]:
    return dt.date(y, 3 * q - 2, 1), _month_last(y, 3 * q)


#: Period patterns, each with how its match becomes (first day, last day).
_PERIODS: tuple[tuple[re.Pattern, Callable[[re.Match], tuple[dt.date, dt.date]]], ...] = (
    (
        re.compile(r"\bQ([1-4])\s?(?:of\s)?'?" + _YEAR + r"\b"),
        lambda m: _quarter(int(m[2]), int(m[1])),
    ),
    (
        re.compile(r"\b(first|second|third|fourth|1st|2nd|3rd|4th) quarter (?:of )?" + _YEAR, re.I),
        lambda m: _quarter(int(m[2]), _ORD[m[1].lower()]),
    ),
    (
        re.compile(r"\b(?:H([12])\s?|(first|second) half of )" + _YEAR, re.I),
        lambda m: (
            (dt.date(int(m[3]), 1, 1), dt.date(int(m[3]), 6, 30))
            if (m[1] or {"first": "1"}.get(m[2].lower(), "2")) == "1"
            else (dt.date(int(m[3]), 7, 1), dt.date(int(m[3]), 12, 31))
        ),
    ),
    (
        re.compile(r"\b" + _MONTH_WORD + r",? " + _YEAR + r"\b"),
        lambda m: (
            dt.date(int(m[2]), _MONTHS[m[1].lower().rstrip(".")], 1),
            _month_last(int(m[2]), _MONTHS[m[1].lower().rstrip(".")]),
        ),
    ),
    (
        re.compile(
            r"\b(?:in|during|for|over|through(?:out)?|of)\s(?:the\s(?:year|whole of)\s)?"
            + _YEAR
            + r"(?!\d)",
            re.I,
        ),
        lambda m: (dt.date(int(m[1]), 1, 1), dt.date(int(m[1]), 12, 31)),
    ),
)


@dataclass(frozen=True)
class Found:
    """A subject named at ``start:end`` of a sentence."""

    subject: Subject
    start: int
    end: int
    said: str = ""  # the words of the sentence


@dataclass(frozen=True)
class Parsed:
    """One sentence, parsed once: what it names, in order of position."""

    text: str
    subjects: tuple[Found, ...]
    measures: tuple[Measure, ...]
    numbers: tuple[Number, ...]
    periods: tuple[Period, ...]

    def subjects_in(self, a: int, b: int) -> list[Found]:
        return [f for f in self.subjects if a <= f.start and f.end <= b]

    def measure_before(self, pos: int, after: int = 30) -> Measure | None:
        """The last measure named before ``pos``, else one named just after it."""
        before = [m for m in self.measures if m.end <= pos]
        if before:
            return before[-1]
        return next((m for m in self.measures if pos <= m.start <= pos + after), None)


def _spans(found: Sequence[Any]) -> list[tuple[int, int]]:
    return [(f.start, f.end) for f in found]


def _inside(a: int, b: int, spans: Sequence[tuple[int, int]]) -> bool:
    return any(s <= a and b <= e for s, e in spans)


def parse_sentence(text: str) -> Parsed:
    """What a sentence names: subjects, measures, numbers (not inside a name or a date) and
    periods.

    Parameters
    ----------
    text : str
        One sentence.

    Returns
    -------
    Parsed
    """
    hits: list[Found] = []
    for s, rx in _SUBJECT_RE:
        for m in rx.finditer(text):
            if not any(h.start < m.end() and m.start() < h.end for h in hits):
                hits.append(Found(s, m.start(), m.end(), m[0]))
    subjects = tuple(sorted(hits, key=lambda f: f.start))
    measures: list[Measure] = []
    for name, rx in _MEASURES:
        for m in rx.finditer(text):
            if any(x.start < m.end() and m.start() < x.end for x in measures):
                continue
            before = text[max(0, m.start() - 12) : m.end()].lower()
            basis = "forward" if "forward" in before else "trailing" if "trailing" in before else ""
            measures.append(Measure(name, m.start(), m.end(), basis))
    measures.sort(key=lambda x: x.start)
    periods: list[Period] = []
    for rx, span in _PERIODS:
        for m in rx.finditer(text):
            if any(p.start < m.end() and m.start() < p.end for p in periods):
                continue
            try:
                first, last = span(m)
            except (ValueError, KeyError):
                continue
            periods.append(Period(first, last, m[0], m.start(), m.end()))
    periods.sort(key=lambda p: p.start)
    taken = _spans(subjects) + _spans(periods)
    numbers = []
    for m in _NUMBER.finditer(text):
        if _inside(m.start(), m.end(1), taken):
            continue
        unit = (m[2] or "").strip().lower()
        unit = {"percent": "%", "times": "x"}.get(unit, unit)
        v = float(m[1].replace(",", ""))
        if not unit and "." not in m[1] and 1900 <= v <= 2100:
            continue  # a year
        numbers.append(Number(v, m[1], unit, m.start(), m.end()))
    return Parsed(text, subjects, tuple(measures), tuple(numbers), tuple(periods))


# --- sides: what a rule checks a subject by ---------------------------------------------------


@dataclass(frozen=True)
class Side:
    """The subject a number or a comparison is about, as the catalog would take it."""

    label: str
    index: str | None
    sector: str = "All"
    ticker: str | None = None
    stand_in: str = ""
    size: str = ""
    assumed: str = ""

    def pe(self, basis: str) -> str | None:
        """The catalog's P/E metric of this side, or None."""
        if self.index is None:
            return None
        family = "pe_last_year" if basis == "trailing" else "pe_forward"
        return f"{family}:{self.index}" + ("" if self.sector == "All" else f":{self.sector}")

    def pe_stand_in(self, basis: str) -> str:
        family = "pe_last_year" if basis == "trailing" else "pe_forward"
        return f"{family}:{self.stand_in}" if self.stand_in else ""


def _side(found: Sequence[Found]) -> Side | None:
    """The best reading of the subjects of one phrase: a named index, ticker or company first,
    then a size class; a sector joins an index it is named with (else the S&P 500 sector)."""
    if not found:
        return None
    named = [f for f in found if f.subject.named]
    sizes = [f for f in found if f.subject.size and not f.subject.named]
    sectors = [f for f in found if f.subject.sector != "All"]
    head = (named or sizes or [None])[0]
    base = head.subject if head else None
    read = f'"{head.said}" read as {base.reads_as}' if head and base and base.reads_as else ""
    if sectors:
        sec = sectors[0].subject
        if base is None or base.index is None and not base.size:
            return Side(
                sec.label,
                "S&P 500",
                sec.sector,
                sec.ticker,
                size="large",
                assumed=f'no index is named for "{sectors[0].said}": the S&P 500 {sec.sector} '
                "sector is assumed",
            )
        if base.index is not None:
            ticker = sec.ticker if base.index == "S&P 500" else None
            return Side(
                f"{base.label} {sec.label}", base.index, sec.sector, ticker, "", base.size, read
            )
    assert base is not None
    return Side(base.label, base.index, "All", base.ticker, base.stand_in, base.size, read)


def _tickers(found: Sequence[Found]) -> tuple[list[str], list[str]]:
    """Tickers for a group of subjects (sector SPDRs when sectors are named) and what was assumed;
    no tickers when one of them has none."""
    picks = (
        [f for f in found if f.subject.sector != "All"]
        or [f for f in found if f.subject.named]
        or list(found)[:1]
    )
    if any(f.subject.ticker is None for f in picks):
        return [], []
    tickers = list(dict.fromkeys(f.subject.ticker for f in picks if f.subject.ticker))
    assumed = [
        f'"{f.said}" read as {f.subject.ticker}'
        for f in picks
        if f.subject.reads_as or f.subject.sector != "All"
    ]
    return tickers, list(dict.fromkeys(assumed))


# --- guesses and rules ------------------------------------------------------------------------


@dataclass(frozen=True)
class Guess:
    """One reading of a sentence as a claim.

    Attributes
    ----------
    rule : str
        The rule that made it (a name in :data:`RULES`).
    kind : str
        A kind of :data:`~rotation_utils.claims.kinds.KINDS`, or ``"check:<name>"``.
    fields : tuple of (str, object)
        The kind's fields in file order; values are str, float, date or list of str.
    label : str
        What the definition is, for the robustness table.
    todo : str
        Why the catalog cannot check it as written (empty when it can); a TODO guess is written
        as ``not_checkable`` with ``fields`` commented out.
    assumed : tuple of str
        What the guess assumed, said in the claim's note.
    """

    rule: str
    kind: str
    fields: tuple[tuple[str, Any], ...]
    label: str
    todo: str = ""
    assumed: tuple[str, ...] = ()

    @property
    def checkable(self) -> bool:
        return not self.todo


@dataclass(frozen=True)
class Scope:
    """What earlier sentences of the paragraph gave, for a sentence that refers back ("This
    discount", "hit 52-week highs" after "In Q4 2025, ...")."""

    article_date: dt.date | None
    period: Period | None = None
    measure: Measure | None = None
    pair: tuple[Side, Side] | None = None


@dataclass(frozen=True)
class Rule:
    """A small sentence rule: ``find(parsed, scope)`` returns its guesses (none: it does not
    apply)."""

    name: str
    find: Callable[[Parsed, Scope], list[Guess]]
    meaning: str
    fallback: bool = False  # asked only when no other rule reads the sentence


def _num(x: float) -> float:
    return round(x, 10)


def _period(p: Parsed, scope: Scope) -> tuple[Period | None, list[str]]:
    if p.periods:
        return p.periods[0], []
    if scope.period is not None:
        return scope.period, [f"the period ({scope.period.text}) is taken from an earlier sentence"]
    return None, []


def _todo(rule: str, kind: str, fields: list, label: str, why: str, assumed=()) -> Guess:
    return Guess(rule, kind, tuple(fields), label, why, tuple(assumed))


def _rotation(p: Parsed, scope: Scope) -> list[Guess]:
    if not re.search(r"rotat|shift|realloc|rebalanc|moved?\b|money|flows?\b|capital", p.text, re.I):
        return []
    src = re.search(r"\b(?:away from|out of|from)\b", p.text, re.I)
    if not src:
        return []
    dst = re.search(r"\b(?:towards?|into|to)\b", p.text[src.end() :], re.I)
    if not dst:
        return []
    mid = src.end() + dst.start()
    losers_f = p.subjects_in(src.end(), mid)
    winners_f = p.subjects_in(mid, len(p.text))
    if not losers_f or not winners_f:
        return []
    losers, a1 = _tickers(losers_f)
    winners, a2 = _tickers(winners_f)
    assumed = ["prices stand in for flows (total returns of the ETFs)", *a1, *a2]
    label = "draft: total returns, winners vs losers over the period"
    return [_outperform("rotation", winners, losers, p, scope, label, assumed)]


def _outperform(
    rule: str,
    winners: list[str],
    losers: list[str],
    p: Parsed,
    scope: Scope,
    label: str,
    assumed: list[str],
) -> Guess:
    """An outperform guess over the sentence's period (or the paragraph's), else a TODO."""
    period, carried = _period(p, scope)
    assumed = [*assumed, *carried]
    if not winners or not losers or set(winners) & set(losers):
        return _todo(rule, "outperform", [], label, "a side has no price ticker", assumed)
    fields: list = [("winners", winners), ("losers", losers)]
    if period is None:
        return _todo(rule, "outperform", fields, label, "no period: give start (and end)", assumed)
    fields += [("start", period.start_close), ("end", period.last)]
    return Guess(rule, "outperform", tuple(fields), label, "", tuple(assumed))


def _beat(p: Parsed, scope: Scope) -> list[Guess]:
    m = re.search(
        r"\b(outperform(?:s|ed)?|beat(?:s|en)?|outpac(?:e|es|ed)|topped|lag(?:s|ged)|underperform(?:s|ed)?|trail(?:s|ed))\b",
        p.text,
        re.I,
    )
    if not m or _about_earnings(p.text[: m.start()]):
        return []  # "small-cap earnings beat ...": the growth rule's
    left, right = p.subjects_in(0, m.start()), p.subjects_in(m.end(), len(p.text))
    if not left or not right:
        return []
    lag = m[1].lower().startswith(("lag", "under", "trail"))
    lt, a1 = _tickers(left)
    rt, a2 = _tickers(right)
    winners, losers = (rt, lt) if lag else (lt, rt)
    assumed = [*a1, *a2]
    margin = re.search(r"\bby (\d+(?:\.\d+)?)\s?(?:percentage )?(?:points|pp|%)", p.text[m.end() :])
    if margin:
        assumed.append(f"the margin ({margin[0][3:]}) is not checked: only the direction is")
    label = "draft: total returns over the period"
    return [_outperform("beat", winners, losers, p, scope, label, assumed)]


_HIGHS_CHECK = "names_at_52w_highs_as_curve_steepened"
#: The check's field for its proxy ETF, read from the registry (its one single-ticker field).
_HIGHS_PROXY = next(n for n, f in CHECKS[_HIGHS_CHECK].fields.items() if f.type == "ticker")


def _highs(p: Parsed, scope: Scope) -> list[Guess]:
    if not re.search(r"52[- ]week highs?", p.text, re.I):
        return []
    names = list(dict.fromkeys(f.subject.ticker for f in p.subjects if f.subject.company))
    sector = next((f.subject for f in p.subjects if f.subject.sector != "All"), None)
    period, assumed = _period(p, scope)
    label = "draft: 52-week closing highs in the period and the 10y-2y change"
    proxy = sector.ticker if sector else "SPY"
    fields: list = [("names", names), (_HIGHS_PROXY, proxy)]
    if period is not None:
        fields += [("start", period.first), ("end", period.last)]
    steep = re.search(r"curves? steepen", p.text, re.I)
    why = ""
    if not names:
        why = "no company the draft knows is named"
    elif not steep:
        why = "no registered check for 52-week highs without a steepening curve"
    elif period is None:
        why = "no period: give start and end"
    kind = f"check:{_HIGHS_CHECK}"
    if why:
        return [_todo("highs", kind, fields, label, why, assumed)]
    return [Guess("highs", kind, tuple(fields), label, "", tuple(assumed))]


def _about_earnings(before: str) -> bool:
    """Whether earnings are what the words just before a verb are about ("small-cap earnings
    will exceed", "EPS growth for the S&P 600 should be higher than")."""
    return bool(re.search(r"\b(?:earnings|EPS|profits?)\b", before[-60:], re.I))


def _growth(p: Parsed, scope: Scope) -> list[Guess]:
    m = re.search(
        r"\b(?:exceed|outpace|outgrow|surpass|top|beat|outstrip)\w*|\b(?:faster|higher) than\b|\babove\b",
        p.text,
        re.I,
    )
    if not m or not _about_earnings(p.text[: m.start()]):
        return []
    left, right = _side(p.subjects_in(0, m.start())), _side(p.subjects_in(m.end(), len(p.text)))
    if left is None or right is None or left.index is None or right.index is None:
        return []
    if (left.index, left.sector) == (right.index, right.sector):
        return []

    def g(s: Side) -> str:
        return f"eps_growth_forward:{s.index}" + ("" if s.sector == "All" else f":{s.sector}")

    assumed = [x for x in (left.assumed, right.assumed) if x]
    assumed.append("forward growth = the S&P DJI sheet's next-year estimate over last year's EPS")
    fields = (("left", g(left)), ("op", ">"), ("right", g(right)))
    return [
        Guess(
            "growth",
            "compare",
            fields,
            "draft: forecast EPS growth, next year over last",
            "",
            tuple(assumed),
        )
    ]


_SIZE_RANK = {"small": 0, "mid": 1, "large": 2}


def _size_pair(p: Parsed) -> tuple[Side | None, Side | None]:
    """The smaller and the larger side a sentence names ("the S&P 400 ... to the S&P 500"), a
    named index before a size class ("small-cap benchmarks like the Russell 2000")."""
    sized = sorted((f for f in p.subjects if f.subject.size), key=lambda f: not f.subject.named)
    sides = [s for s in (_side([f]) for f in sized) if s]
    if not sides:
        return None, None
    low = min(_SIZE_RANK[s.size] for s in sides)
    small = next(s for s in sides if _SIZE_RANK[s.size] == low)
    large = next((s for s in sides if _SIZE_RANK[s.size] > low), None)
    return small, large


def _discount(p: Parsed, scope: Scope) -> list[Guess]:
    m = re.search(
        r"(\d+(?:\.\d+)?)\s?%\s+(?:[\w/-]+\s+){0,2}(discount|premium)s?\b|(discount|premium)s? of (\d+(?:\.\d+)?)\s?%",
        p.text,
        re.I,
    )
    if not m:
        return []
    pct, word = float(m[1] or m[4]) / 100, (m[2] or m[3]).lower()
    assumed: list[str] = []
    stated = _num(pct)
    if word == "premium":
        # The larger side's premium N over the smaller is the smaller side's 1 - 1 / (1 + N) discount.
        stated = _num(round(1 - 1 / (1 + pct), 4))
        assumed.append(
            f"a {pct:.0%} premium of the larger side is a {stated:.1%} discount of the smaller "
            f"(1 - 1 / {1 + pct:g})"
        )
    measure = p.measure_before(m.end()) or scope.measure
    small, large = _size_pair(p)
    if small is None or large is None:
        if scope.pair is None:
            return [
                _todo(
                    "discount",
                    "discount",
                    [("stated", stated)],
                    "draft: discount",
                    "the two sides are not named",
                )
            ]
        small, large = scope.pair
        assumed.append(
            f"the sides ({small.label} vs {large.label}) are taken from an earlier sentence"
        )
    if measure is None or measure.name != "P/E":
        what = measure.name if measure else "no measure named"
        return [
            _todo(
                "discount",
                "discount",
                [("stated", stated)],
                "draft: discount",
                f"the discount's measure ({what}) has no catalog pair of metrics",
                assumed,
            )
        ]
    if measure not in p.measures:
        assumed.append("the measure (P/E) is taken from an earlier sentence")
    basis = measure.basis or "forward"
    if not measure.basis:
        assumed.append("the P/E basis is not said: forward assumed")
    assumed += [x for x in (small.assumed, large.assumed) if x]
    label = f"draft: {basis} P/E, {small.label} vs {large.label}"
    ls, ll = small.pe(basis), large.pe(basis)
    if ls and ll:
        return [
            Guess(
                "discount",
                "discount",
                (("small", ls), ("large", ll), ("stated", stated)),
                label,
                "",
                tuple(assumed),
            )
        ]
    fields = [
        ("small", ls or small.pe_stand_in(basis)),
        ("large", ll or large.pe_stand_in(basis)),
        ("stated", stated),
    ]
    missing = small.label if not ls else large.label
    stand = small.stand_in if not ls else large.stand_in
    why = f"no catalog P/E for the {missing}" + (
        f" (the {stand} is the nearest public index)" if stand else ""
    )
    return [_todo("discount", "discount", [f for f in fields if f[1]], label, why, assumed)]


def _multiples(p: Parsed, scope: Scope) -> list[Guess]:
    out: list[Guess] = []
    valued: list[tuple[Side, Number, Measure]] = []
    prev = 0
    for n in p.numbers:
        seg_start, prev = prev, n.end
        if n.unit == "%":
            continue
        meas = p.measure_before(n.start)
        if meas is None or meas.name not in ("P/E", "P/B", "EV/EBITDA"):
            continue
        if meas.end <= n.start and n.start - meas.end > 60 and meas.start < seg_start:
            continue  # a number far from its measure, after another number: not a multiple
        later = [x.start for x in p.numbers if x.start > n.end] + [len(p.text)]
        side = _side(p.subjects_in(seg_start, n.start)) or _side(p.subjects_in(n.end, later[0]))
        if side is None:
            continue
        seg = p.text[seg_start : n.start].lower()
        basis = "forward" if "forward" in seg else "trailing" if "trailing" in seg else meas.basis
        valued.append((side, n, replace(meas, basis=basis)))
    pbs = [(s, n) for s, n, m in valued if m.name == "P/B"]
    if len(pbs) == 2 and {pbs[0][0].size, pbs[1][0].size} == {"small", "large"}:
        (a, na), (b, nb) = sorted(pbs, key=lambda x: x[0].size != "small")
        ratio = _num(round(na.value / nb.value, 4))
        label = f"draft: P/B small/big (French size quintiles) vs {na.text} / {nb.text}"
        fields = (("metric", "pb_small_big"), ("stated", ratio))
        stand = "the French smallest/biggest size quintiles (NYSE breakpoints) stand in for the named indexes"
        if a.index is None or b.index is None:
            out.append(
                _todo(
                    "multiples",
                    "value",
                    list(fields),
                    label,
                    f"no catalog P/B for the {a.label if a.index is None else b.label}; {stand}",
                )
            )
        else:
            out.append(Guess("multiples", "value", fields, label, "", (stand,)))
        valued = [v for v in valued if v[2].name != "P/B"]
    for side, n, meas in valued:
        label = f"draft: {side.label} {meas.basis + ' ' if meas.basis else ''}{meas.name} vs the stated {n.text}"
        if meas.name != "P/E":
            why = f"no catalog {meas.name} for {side.label} (a cited figure in data/facts.csv, as fact:<id>, can check it)"
            out.append(
                _todo(
                    "multiples", "value", [("metric", "fact:<id>"), ("stated", n.value)], label, why
                )
            )
            continue
        assumed = [x for x in (side.assumed,) if x]
        if not meas.basis:
            assumed.append("the P/E basis is not said: forward assumed")
        if meas.basis == "trailing":
            assumed.append("pe_last_year (price over last year's EPS) stands in for a trailing P/E")
        metric = side.pe(meas.basis)
        fields = [("metric", metric or side.pe_stand_in(meas.basis)), ("stated", n.value)]
        if metric is None:
            why = f"no catalog P/E for the {side.label}" + (
                f" (the {side.stand_in} is the nearest public index)" if side.stand_in else ""
            )
            out.append(
                _todo("multiples", "value", [f for f in fields if f[1]], label, why, assumed)
            )
        else:
            out.append(Guess("multiples", "value", tuple(fields), label, "", tuple(assumed)))
    return out


#: Events a "since" names: the first month from which no value may be as extreme, and why.
_SINCE_EVENTS = (
    (r"dot[- ]?com|tech bubble|internet bubble", "2000-03", "the Nasdaq peak of 2000-03 ends it"),
    (
        r"(?:global )?financial crisis|great recession|lehman",
        "2009-04",
        "the market low of 2009-03 ends it",
    ),
    (r"pandemic|covid", "2020-04", "the crash low of 2020-03 ends it"),
)
_EXTREME = re.compile(
    r"\b(widest|narrowest|largest|biggest|deepest|smallest|highest|lowest|steepest|flattest|cheapest|richest)\b[^.;]*?\bsince\b\s+(?:the\s+)?(.{0,40})",
    re.I,
)


def _since(text: str) -> tuple[str, str] | None:
    """The first month from which no value may be as extreme, and how it was read."""
    for pat, month, why in _SINCE_EVENTS:
        if m := re.match(pat, text, re.I):
            return month, f"'since {m[0]}' is read as: no value as extreme from {month} on ({why})"
    m = re.match(_MONTH_WORD + r",? " + _YEAR, text)
    if m:
        y, mo = int(m[2]), _MONTHS[m[1].lower().rstrip(".")]
        nxt = dt.date(y, mo, 28) + dt.timedelta(days=7)
        return f"{nxt:%Y-%m}", f"'since {m[0]}' is read as: no value as extreme from {nxt:%Y-%m} on"
    m = re.match(_YEAR + r"(?!\d)", text)
    if m:
        y = int(m[1]) + 1
        return f"{y}-01", f"'since {m[1]}' is read as: no value as extreme from {y}-01 on"
    return None


def _extreme(p: Parsed, scope: Scope) -> list[Guess]:
    m = _EXTREME.search(p.text)
    if not m:
        return []
    word = m[1].lower()
    since = _since(m[2])
    meas = p.measure_before(m.start()) or next(iter(p.measures), None) or scope.measure
    assumed: list[str] = []
    if meas is not None and meas.name in _FRED_UNIT:
        metric = f"fred:{meas.name}"
        low = word in ("lowest", "flattest", "narrowest", "smallest", "cheapest")
    elif not re.search(r"gap|discount|spread|premium|valuation|cheap", p.text, re.I):
        return [_todo("extreme", "extreme", [], f"draft: the {word} since", "no history to read")]
    else:
        # A small-vs-large gap: the widest discount is the lowest small/big ratio.
        metric = "pb_small_big"
        low = word not in ("narrowest", "smallest", "richest")
        assumed.append("P/B small/big (French size quintiles, NYSE breakpoints) measures the gap")
    fields = [("metric", metric), ("direction", "low" if low else "high")]
    if since is not None:
        fields.append(("since", since[0]))
        assumed.append(since[1])
    label = f"draft: {metric}, the {word} since {since[0] if since else '?'}"
    if since is None:
        return [_todo("extreme", "extreme", fields, label, "the 'since' date is not read", assumed)]
    if metric == "pb_small_big" and (meas is None or meas.name != "P/B"):
        what = meas.name if meas else "no measure named"
        return [
            _todo(
                "extreme",
                "extreme",
                fields,
                label,
                f"no catalog history of the gap's measure ({what}); P/B small/big is the nearest",
                assumed,
            )
        ]
    return [Guess("extreme", "extreme", tuple(fields), label, "", tuple(assumed))]


def _rates(p: Parsed, scope: Scope) -> list[Guess]:
    out = []
    for meas in p.measures:
        if meas.name not in _FRED_UNIT:
            continue
        m = re.compile(r"\b(steepen|flatten|invert)", re.I).search(p.text, meas.end)
        if m and m.start() - meas.end < 30:
            period, assumed = _period(p, scope)
            op, right = {"steepen": (">", 0.0), "flatten": ("<", 0.0), "invert": ("<", 0.0)}[
                m[1].lower()
            ]
            label = f"draft: the {meas.name} change over the period"
            if m[1].lower() == "invert":
                if period is None:
                    continue
                fields = (
                    ("left", f"fred:{meas.name}:{period.last:%Y-%m}"),
                    ("op", "<"),
                    ("right", 0.0),
                )
                out.append(
                    Guess(
                        "rates",
                        "compare",
                        fields,
                        f"draft: {meas.name} below 0",
                        "",
                        tuple(assumed),
                    )
                )
                continue
            if period is None:
                out.append(
                    _todo(
                        "rates",
                        "compare",
                        [("op", op), ("right", right)],
                        label,
                        "no period: give the months",
                        assumed,
                    )
                )
                continue
            m0 = dt.date(period.first.year, period.first.month, 1) - dt.timedelta(days=1)
            fields = (
                ("left", f"fred_change:{meas.name}:{m0:%Y-%m}:{period.last:%Y-%m}"),
                ("op", op),
                ("right", right),
            )
            out.append(
                Guess(
                    "rates",
                    "compare",
                    fields,
                    label,
                    "",
                    (*assumed, "monthly means, the month before the period to its last month"),
                )
            )
            continue
        n = next((x for x in p.numbers if x.unit == "%" and 0 <= x.start - meas.end < 40), None)
        if n is None:
            continue
        period, assumed = _period(p, scope)
        label = f"draft: FRED {meas.name} vs the stated {n.text}%"
        if period is not None and f"{period.first:%Y-%m}" == f"{period.last:%Y-%m}":
            month = f"{period.first:%Y-%m}"
        elif period is not None:
            why = f"a FRED value is a month's mean; the sentence gives {period.text}"
            fields = [("metric", f"fred:{meas.name}:{period.last:%Y-%m}"), ("stated", n.value)]
            out.append(_todo("rates", "value", fields, label, why, assumed))
            continue
        elif scope.article_date is not None:
            art = scope.article_date
            month = f"{dt.date(art.year, art.month, 1) - dt.timedelta(days=1):%Y-%m}"
            assumed = [
                *assumed,
                f"no month named: {month}, the month before the article, is assumed",
            ]
        else:
            continue
        fields = (("metric", f"fred:{meas.name}:{month}"), ("stated", n.value))
        out.append(Guess("rates", "value", fields, label, "", tuple(assumed)))
    return out


def _returns(p: Parsed, scope: Scope) -> list[Guess]:
    out = []
    for m in re.finditer(
        r"\b(rose|gained|climbed|jumped|rallied|advanced|returned|fell|dropped|declined|slid|lost|sank)\s+(?:by\s+)?(about |roughly |nearly |almost |around |more than |over |less than |under )?(\d+(?:\.\d+)?)\s?(?:%|percent)",
        p.text,
        re.I,
    ):
        tickers, assumed = _tickers(p.subjects_in(0, m.start())[-1:])
        period, carried = _period(p, scope)
        down = m[1].lower() in ("fell", "dropped", "declined", "slid", "lost", "sank")
        x = _num(float(m[3]) / 100 * (-1 if down else 1))
        q = (m[2] or "").strip().lower()
        said = f"{m[1].lower()} {q + ' ' if q else ''}{m[3]}%"
        label = f"draft: total return over the period vs the stated '{said}'"
        if len(tickers) != 1:
            out.append(
                _todo("returns", "value", [("stated", x)], label, "no ticker for the subject")
            )
            continue
        ticker, assumed = tickers[0], [*assumed, *carried]
        if period is None:
            out.append(
                _todo(
                    "returns",
                    "value",
                    [("stated", x)],
                    label,
                    f"no period for {ticker}'s return",
                    assumed,
                )
            )
            continue
        metric = f"return:{ticker}:{period.start_close}:{period.last}"
        if q in ("more than", "over", "less than", "under"):
            op = ">" if (q in ("more than", "over")) != down else "<"
            out.append(
                Guess(
                    "returns",
                    "compare",
                    (("left", metric), ("op", op), ("right", x)),
                    label,
                    "",
                    tuple(assumed),
                )
            )
        else:
            out.append(
                Guess(
                    "returns",
                    "value",
                    (("metric", metric), ("stated", x)),
                    label,
                    "",
                    tuple(assumed),
                )
            )
    return out


def _number(p: Parsed, scope: Scope) -> list[Guess]:
    """Any other number with a unit, about something the catalog names: a TODO."""
    if not p.subjects or not any(n.unit in ("%", "x") for n in p.numbers):
        return []
    return [_todo("number", "value", [], "draft: a number", "no rule reads this number")]


#: The sentence rules, in the order their guesses are preferred for a claim's definition.
RULES: tuple[Rule, ...] = (
    Rule(
        "rotation",
        _rotation,
        "money moved from X to Y over a period: outperform (prices stand in for flows)",
    ),
    Rule(
        "highs",
        _highs,
        "named stocks at 52-week highs as the curve steepened: the registered check",
    ),
    Rule("beat", _beat, "X beat / lagged Y over a period: outperform"),
    Rule("returns", _returns, "X rose / fell N% over a period: value (or compare) of a return"),
    Rule("growth", _growth, "X's earnings growth above Y's: compare forecast EPS growth"),
    Rule("discount", _discount, "an N% discount of X to Y: discount of P/Es"),
    Rule("multiples", _multiples, "P/E, P/B, EV/EBITDA figures: value"),
    Rule("extreme", _extreme, "the widest / highest since X: extreme of a history"),
    Rule("rates", _rates, "yields and the curve: value or compare of FRED series"),
    Rule("number", _number, "any other number with a unit: TODO", fallback=True),
)


# --- sentences and the article table ----------------------------------------------------------

_ABBREV = {
    "vs", "v", "u.s", "e.g", "i.e", "inc", "corp", "co", "ltd", "mr", "ms", "mrs", "dr", "st",
    "no", "approx", "est", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct",
    "nov", "dec", "fig", "etc.,",
}  # fmt: skip
_BOUNDARY = re.compile(r"[.!?][\"'”’)\]]*\s+(?=[\"'“‘(\[]?[A-Z0-9$])")
_SPACE = re.compile(r"[ \t\r\n]+")
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")


def sentences(text: str) -> list[list[str]]:
    """The text's paragraphs (blank lines or bullets separate them), each a list of sentences
    with runs of spaces, tabs and line breaks made one space; other characters are kept.

    Parameters
    ----------
    text : str

    Returns
    -------
    list of list of str
    """
    paragraphs: list[list[str]] = []
    for n, block in enumerate(re.split(r"\n[ \t\r]*\n", text.replace("\r\n", "\n"))):
        lines = [ln for ln in block.split("\n") if not _LABELLED.match(ln)]
        # A first block with a byline, a date or a URL is a header: one item a line.
        header = n == 0 and any(_is_header_line(ln) for ln in block.split("\n"))
        items: list[str] = []
        for line in lines:
            if header or _BULLET.match(line) or not items:
                items.append(_BULLET.sub("", line))
            else:
                items[-1] += "\n" + line
        for item in items:
            para = _SPACE.sub(" ", item).strip()
            if para:
                paragraphs.append(_split(para))
    return paragraphs


def _is_header_line(line: str) -> bool:
    line = line.strip()
    return bool(
        _LABELLED.match(line)
        or _URL.fullmatch(line)
        or re.match(r"By [A-Z]", line)
        or (len(line) < 80 and _find_date(line) is not None)
    )


def _split(para: str) -> list[str]:
    out, start = [], 0
    for m in _BOUNDARY.finditer(para):
        before = para[start : m.start()].rsplit(" ", 1)[-1].lower()
        if before in _ABBREV or re.fullmatch(r"(?:[a-z]\.)*[a-z]", before):
            continue
        out.append(para[start : m.start() + 1 + len(m[0].rstrip()) - 1].strip())
        start = m.end()
    out.append(para[start:].strip())
    return [s for s in out if s]


@dataclass(frozen=True)
class ArticleMeta:
    """The ``[article]`` table: what the text gives, ``found`` naming the fields it gave."""

    id: str
    title: str
    publisher: str
    date: dt.date | None
    url: str
    found: frozenset[str] = frozenset()


_LABELLED = re.compile(
    r"^\s*(title|headline|date|published(?: on)?|url|link|source|publisher|published by)\s*:\s*(.+?)\s*$",
    re.I,
)
_URL = re.compile(r"https?://[^\s\"'<>\\]{1,400}")
_DATES = (
    (
        re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b"),
        lambda m: dt.date(int(m[1]), int(m[2]), int(m[3])),
    ),
    (
        re.compile(r"\b" + _MONTH_WORD + r" (\d{1,2})(?:st|nd|rd|th)?,? " + _YEAR + r"\b"),
        lambda m: dt.date(int(m[3]), _MONTHS[m[1].lower().rstrip(".")], int(m[2])),
    ),
    (
        re.compile(r"\b(\d{1,2}) " + _MONTH_WORD + r",? " + _YEAR + r"\b"),
        lambda m: dt.date(int(m[3]), _MONTHS[m[2].lower().rstrip(".")], int(m[1])),
    ),
)
_STOP = {"the", "a", "an", "and", "of", "in", "on", "for", "to", "is", "are", "at", "by", "with"}


def _find_date(line: str) -> dt.date | None:
    for rx, make in _DATES:
        for m in rx.finditer(line):
            try:
                return make(m)
            except (ValueError, KeyError):
                continue
    return None


def _is_title(line: str) -> bool:
    """A first line that can be a headline: not too long, not a label, URL, byline or date."""
    if not line or len(line) > 300 or (len(line) < 40 and _find_date(line) is not None):
        return False
    return not (_LABELLED.match(line) or _URL.fullmatch(line) or re.match(r"By [A-Z]", line))


def article_meta(text: str, *, date: dt.date | None = None) -> ArticleMeta:
    """Title, date, URL and publisher from the top of the text.

    Labelled lines (``Title:``, ``Date:``/``Published:``, ``URL:``/``Link:``/``Source:``,
    ``Publisher:``) win; otherwise the title is the first line, the date the first date written
    in the first lines (``2026-01-13``, ``Jan 13, 2026``, ``13 January 2026``), the URL a line of
    the first lines that is one, and the publisher the URL's host. ``date`` overrides the text.
    """
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()][:_HEADER_LINES]
    got: dict[str, Any] = {}
    for ln in lines:
        m = _LABELLED.match(ln)
        if not m:
            continue
        key, val = m[1].lower(), m[2]
        if len(val) > 300:
            continue
        if key in ("title", "headline"):
            got.setdefault("title", val)
        elif key.startswith("date") or key in ("published", "published on"):
            if (d := _find_date(val)) is not None:
                got.setdefault("date", d)
        elif key in ("url", "link", "source") and (u := _URL.search(val)):
            got.setdefault("url", u[0])
        elif key in ("publisher", "published by"):
            got.setdefault("publisher", val)
    first = lines[0] if lines else ""
    if "title" not in got and _is_title(first):
        got["title"] = first
    for ln in lines:
        if "date" not in got and (d := _find_date(ln)) is not None:
            got["date"] = d
        if "url" not in got and _URL.fullmatch(ln):
            got["url"] = ln
    if "publisher" not in got and "url" in got:
        netloc = got["url"].split("/")[2].rsplit("@", 1)[-1]
        host = re.sub(r"^www\.", "", netloc.split(":")[0].lower())
        if host:
            got["publisher"] = host
    if date is not None:
        got["date"] = date
    found = frozenset(got)
    title = got.get("title", MISSING_TITLE)
    d = got.get("date")
    words = [w for w in re.findall(r"[a-z0-9]+", title.lower()) if w not in _STOP][:5]
    if title == MISSING_TITLE:
        words = ["article"]
    ident = "-".join([*words, *([d.isoformat()] if d else [])]) or "article"
    return ArticleMeta(
        ident,
        title,
        got.get("publisher", MISSING_PUBLISHER),
        d,
        got.get("url", MISSING_URL),
        found,
    )


# --- the draft ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DraftClaim:
    """One drafted claim: the sentence, its definition and the other readings."""

    id: str
    text: str
    main: Guess
    also: tuple[Guess, ...] = ()

    @property
    def checkable(self) -> bool:
        return self.main.checkable


@dataclass(frozen=True)
class Draft:
    """A draft claims file: the article table, the claims, what was not read."""

    article: ArticleMeta
    claims: tuple[DraftClaim, ...]
    long_sentences: int = 0
    over_cap: int = 0
    source: str = ""
    removed: int = 0  # control characters taken out of the text (see visible_text)


def _carry(p: Parsed, scope: Scope) -> Scope:
    """The scope the next sentence of the paragraph sees."""
    period = p.periods[-1] if p.periods else scope.period
    measure = next((m for m in reversed(p.measures)), scope.measure)
    pair = scope.pair
    small, large = _size_pair(p)
    if small is not None and large is not None:
        pair = (small, large)
    return replace(scope, period=period, measure=measure, pair=pair)


_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-Z\\-_]")
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")


def visible_text(text: str) -> tuple[str, int]:
    """The text without terminal escape sequences, control characters (tab and line breaks
    kept) and bidirectional overrides, which no claims file may hold, and how many characters
    were taken out.

    Parameters
    ----------
    text : str

    Returns
    -------
    (str, int)
    """
    out = _ANSI.sub("", text)
    out = "".join(
        ch
        for ch in out
        if ch in "\t\n\r" or not (unicodedata.category(ch) in ("Cc", "Cs") or ch in _BIDI)
    )
    return out, len(text) - len(out)


def draft_claims(
    text: str, *, source: str = "", date: dt.date | None = None, max_claims: int = MAX_CLAIMS
) -> Draft:
    """Draft the claims of an article (pure).

    Parameters
    ----------
    text : str
        The article's text.
    source : str
        The file it came from (said in the draft's header).
    date : datetime.date, optional
        The article's date when the text does not give it (or to override it).
    max_claims : int
        At most this many claims; later ones are counted, not drafted.

    Returns
    -------
    Draft
        Claims ``D1``, ``D2``, ... in the order of the text.
    """
    text, removed = visible_text(text)
    meta = article_meta(text, date=date)
    claims: list[DraftClaim] = []
    long_sentences = over = 0
    for para in sentences(text):
        scope = Scope(meta.date)
        for s in para:
            if len(s) > MAX_SENTENCE_CHARS:
                long_sentences += 1
                continue
            p = parse_sentence(s)
            guesses = [g for rule in RULES if not rule.fallback for g in rule.find(p, scope)]
            guesses = guesses or [g for rule in RULES if rule.fallback for g in rule.find(p, scope)]
            scope = _carry(p, scope)
            if not guesses:
                continue
            if len(claims) >= max_claims:
                over += 1
                continue
            main = next((g for g in guesses if g.checkable), guesses[0])
            also = tuple(g for g in guesses if g is not main)
            claims.append(DraftClaim(f"D{len(claims) + 1}", s, main, also))
    return Draft(meta, tuple(claims), long_sentences, over, source, removed)


# --- TOML ---------------------------------------------------------------------------------------

_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}


def toml_string(s: str) -> str:
    """``s`` as a TOML basic string: quotes, backslashes and every control character escaped.

    Examples
    --------
    >>> toml_string('a "b" \\\\ c\\x07')
    '"a \\\\"b\\\\" \\\\\\\\ c\\\\u0007"'
    """
    out = []
    for ch in s:
        o = ord(ch)
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif o < 0x20 or o == 0x7F:
            out.append(f"\\u{o:04X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _comment(s: str) -> str:
    """Text made safe for a TOML comment: no control characters (a tab is kept)."""
    return "".join(" " if (ord(c) < 0x20 and c != "\t") or ord(c) == 0x7F else c for c in s)


def _value(v: Any) -> str:
    if isinstance(v, str):
        return toml_string(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float | int):
        return repr(float(v)) if isinstance(v, float) else str(v)
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    raise TypeError(f"no TOML for {v!r}")


def _kind_lines(g: Guess) -> list[str]:
    if g.kind.startswith("check:"):
        head = [f"check = {toml_string(g.kind.split(':', 1)[1])}"]
    else:
        head = [f"kind = {toml_string(g.kind)}"]
    return head + [f"{k} = {_value(v)}" for k, v in g.fields]


def _note(guesses: Sequence[Guess]) -> str:
    said = list(dict.fromkeys(a for g in guesses for a in g.assumed))
    return ("Draft assumptions: " + "; ".join(said) + ".") if said else ""


def render_draft(d: Draft) -> str:
    """The draft as a claims file (TOML) that ``rotation claims check`` accepts unedited.

    A claim whose definition the catalog cannot check is written as ``kind = "not_checkable"``
    under a ``# TODO`` saying why, with its intended fields commented out; the other readings of
    a sentence follow each claim as ``# also`` comments.
    """
    a = d.article
    if a.date is None:
        raise ValueError("a draft needs the article's date")
    lines = [
        f"# Draft claims for {_comment(d.source or 'an article')}, written by `rotation claims draft`",
        "# (rules over the text, no model). Every claim is a guess: read it against the sentence, fix",
        "# the kind and metrics, delete what is not a claim, then run `rotation claims check`.",
        '# Claims under "# TODO" have no catalog metric yet and stay "not checkable" until edited.',
        "# Metric names: `rotation claims metrics`.",
    ]
    if d.long_sentences:
        lines.append(
            f"# {d.long_sentences} sentence(s) longer than {MAX_SENTENCE_CHARS} characters were not read."
        )
    if d.removed:
        lines.append(
            f"# {d.removed} control or escape character(s) of the text were taken out "
            "(claims files refuse them)."
        )
    if d.over_cap:
        lines.append(
            f"# {d.over_cap} more sentence(s) with claims were not drafted (a draft has at most "
            f"{MAX_CLAIMS} claims and {MAX_DRAFT_BYTES} bytes)."
        )
    todo = {
        "title": "  # TODO: the article's title",
        "publisher": "  # TODO: the publisher",
        "url": "  # TODO: the article's URL",
    }
    lines += [
        "",
        "[article]",
        f"id = {toml_string(a.id)}",
        f"title = {toml_string(a.title)}" + ("" if "title" in a.found else todo["title"]),
        f"publisher = {toml_string(a.publisher)}"
        + ("" if "publisher" in a.found else todo["publisher"]),
        f"date = {a.date.isoformat()}",
        f"url = {toml_string(a.url)}" + ("" if "url" in a.found else todo["url"]),
    ]
    for c in d.claims:
        lines += ["", "[[claims]]", f"id = {toml_string(c.id)}", f"text = {toml_string(c.text)}"]
        if c.main.checkable:
            lines += _kind_lines(c.main)
            lines.append(f"label = {toml_string(c.main.label)}")
        else:
            lines.append(f"# TODO: {_comment(c.main.todo)}. Intended reading ({c.main.rule}):")
            lines += [f"#   {_comment(x)}" for x in _kind_lines(c.main)]
            lines += [
                'kind = "not_checkable"',
                f"label = {toml_string('draft: not checkable until edited')}",
                f"reason = {toml_string('draft claim, not yet checked: ' + c.main.todo)}",
            ]
        if note := _note([c.main]):
            lines.append(f"note = {toml_string(note)}")
        for g in c.also:
            state = f"TODO: {g.todo}" if g.todo else "checkable"
            lines.append(f"# also ({g.rule}, {_comment(state)}): {_comment(g.label)}")
            lines += [f"#   {_comment(x)}" for x in _kind_lines(g)]
            if g.assumed:
                lines.append(f"#   assumes: {_comment('; '.join(g.assumed))}")
    return "\n".join(lines) + "\n"


# --- I/O -----------------------------------------------------------------------------------------


def read_article(path: str | Path) -> str:
    """The text of an article file: UTF-8 (a BOM is dropped), at most :data:`MAX_ARTICLE_BYTES`.

    Raises
    ------
    DraftError
        The file cannot be read or is not a regular file, is larger than the cap, holds a NUL
        byte or is not UTF-8.
    """
    p = Path(path)
    if p.exists() and not p.is_file():
        raise DraftError(str(p), "not a regular file")  # a folder, a device or a pipe
    try:
        with p.open("rb") as f:
            raw = f.read(MAX_ARTICLE_BYTES + 1)
    except OSError as e:
        raise DraftError(str(p), f"cannot be read ({e.strerror or e})") from None
    if len(raw) > MAX_ARTICLE_BYTES:
        raise DraftError(str(p), f"larger than {MAX_ARTICLE_BYTES} bytes: not an article's text")
    if b"\x00" in raw:
        raise DraftError(str(p), "holds a NUL byte: binary, not an article's text")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise DraftError(str(p), f"not UTF-8 text (byte {e.start})") from None


def draft_text(path: str | Path, *, date: str | None = None) -> str:
    """Read an article file and return its draft claims file (TOML), checked to be one that
    :func:`~rotation_utils.claims.spec.parse_claims` accepts.

    Parameters
    ----------
    path : str or Path
        The article's text file.
    date : str, optional
        ``YYYY-MM-DD``: the article's date when the text does not give it (or to override it).

    Raises
    ------
    ParameterError
        ``date`` is not a date.
    DraftError
        The file is not an article's text (:func:`read_article`), gives no date and none was
        passed, or no sentence of it states a claim the rules read.
    """
    import tomllib

    from .spec import parse_claims

    when = None
    if date is not None:
        try:
            when = dt.date.fromisoformat(date) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", date) else None
        except ValueError:
            when = None
        if when is None:
            raise ParameterError("date", f"{date!r} is not a date YYYY-MM-DD")
    text = read_article(path)
    d = draft_claims(text, source=Path(path).name, date=when)
    if d.article.date is None:
        raise DraftError(
            str(path), f"no date in its first {_HEADER_LINES} lines; give --date YYYY-MM-DD"
        )
    if not d.claims:
        skipped = (
            f" ({d.long_sentences} longer than {MAX_SENTENCE_CHARS} characters not read)"
            if d.long_sentences
            else ""
        )
        raise DraftError(
            str(path), f"no sentence states a number or comparison the rules read{skipped}"
        )
    out = render_draft(d)
    while len(out.encode("utf-8")) > MAX_DRAFT_BYTES and len(d.claims) > 1:
        # Fewer claims until the file is one a claims-file reader accepts; the rest are counted.
        keep = len(d.claims) // 2
        d = replace(d, claims=d.claims[:keep], over_cap=d.over_cap + len(d.claims) - keep)
        out = render_draft(d)
    parse_claims(tomllib.loads(out), str(path))  # a draft the parser refuses is a bug here
    return out


def write_draft(text: str, out: str | Path, *, force: bool = False) -> Path:
    """Write ``text`` to ``out`` atomically: a temporary file in the same folder, then moved into
    place. An existing ``out`` is never replaced unless ``force`` (the check and the move are one
    step: a hard link that fails if the name exists).

    Raises
    ------
    DraftError
        ``out`` exists (without ``force``), its folder does not exist or cannot be written.
    """
    dest = Path(out)
    folder = dest.parent if str(dest.parent) else Path(".")
    if not folder.is_dir():
        raise DraftError(str(dest), f"folder {folder} does not exist")
    if dest.exists() and not force:
        raise DraftError(str(dest), "exists; pass --force to replace it")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=folder)
    except OSError as e:
        raise DraftError(str(dest), f"cannot be written ({e.strerror or e})") from None
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)  # as an ordinary new file (mkstemp makes it 0600)
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        if force:
            os.replace(tmp, dest)
        else:
            try:
                os.link(tmp, dest)
            except FileExistsError:
                raise DraftError(str(dest), "exists; pass --force to replace it") from None
            except OSError:  # a file system without hard links: check, then move
                if dest.exists():
                    raise DraftError(str(dest), "exists; pass --force to replace it") from None
                os.replace(tmp, dest)
    except OSError as e:
        raise DraftError(str(dest), f"cannot be written ({e.strerror or e})") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return dest
