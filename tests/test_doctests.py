"""The Examples sections of the docstrings run and show what they say."""

from __future__ import annotations

import doctest
import importlib

import pytest


@pytest.mark.parametrize(
    "module",
    [
        "rotation_utils.paths",
        "rotation_utils.units",
        "rotation_utils.measures.risk",
        "rotation_utils.measures.history",
    ],
)
def test_docstring_examples(module):
    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0
