"""Measures: the one place where each number is made, as a :class:`~rotation_utils.results.Value`.

- :mod:`.prices`: the one gap-aware return, which knows the basis of every provider segment it
  crosses (total return, price return, or mixed), and the price captions;
- :mod:`.risk`: drawdown, volatility, correlation, beta and the close on a date, on the same
  closes and the same gap rule (:func:`.prices.window_closes`);
- :mod:`.history`: Shiller's CAPE, FRED levels and year-on-year changes of any series, month-end
  closes, and where a value stands in its own monthly history (percentile);
- :mod:`.valuation`: P/E on the S&P DJI sheet, the small/big P/B ratio;
- :mod:`.earnings`: EPS growth and estimate history;
- :mod:`.macro`: FRED rates, the policy and curve regimes;
- :mod:`.rotation`: sector rankings, relative strength, the rotation test.

Modules are imported on use (``from rotation_utils.measures.prices import price_return``).
"""
