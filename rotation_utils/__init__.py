"""rotation_utils: loaders, spread arithmetic and report tooling for the rotation notebooks.

Importing the package is cheap: names below are resolved on first use, and nothing here imports
matplotlib, seaborn, ipywidgets or papermill.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_LAZY = {
    # errors and provenance
    "RotationError": "errors",
    "DataError": "errors",
    "ParameterError": "errors",
    "NetworkError": "errors",
    "NotebookError": "errors",
    "ReportError": "errors",
    "Provenance": "provenance",
    "provenance_of": "provenance",
    "caption": "provenance",
    # months
    "parse_month": "months",
    "month_end": "months",
    "clip_to_month": "months",
    # loaders
    "read_french": "sources.french",
    "parse_french": "sources.french",
    "read_shiller": "sources.shiller",
    "parse_ie_data": "sources.shiller",
    "parse_datahub": "sources.shiller",
    "read_spdji": "sources.spdji",
    "parse_spdji": "sources.spdji",
    "read_fred": "sources.fred",
    "parse_fred": "sources.fred",
    "read_prices": "sources.prices",
    "parse_prices": "sources.prices",
    "splice_closes": "sources.prices",
    "load_dataset": "catalog",
    "load_table": "derived",
    "build_tables": "derived",
    "load_facts": "facts",
    # spreads
    "relative_pe_discount": "spreads",
    "log_valuation_spread": "spreads",
    "earnings_yield_gap": "spreads",
    "valuation_percentile": "spreads",
    "expanding_percentile": "spreads",
    "valuation_zscore": "spreads",
    "widest_since": "spreads",
    "size_group_book_to_market": "spreads",
    "compound_return": "spreads",
    "rolling_compound_return": "spreads",
    "relative_strength": "spreads",
    "drawdown": "spreads",
    "rrg": "spreads",
    "rrg_quadrant": "spreads",
    "rerating_return": "spreads",
    "rerating_grid": "spreads",
    "year_over_year": "spreads",
    "rate_regime": "spreads",
    "at_52_week_high": "spreads",
    # notebook helpers
    "record": "figures",
    "record_claim": "figures",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module 'rotation_utils' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{mod}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # pragma: no cover
    from .errors import *  # noqa: F403
    from .spreads import *  # noqa: F403
