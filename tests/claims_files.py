"""Pieces of claims files the claims tests build their files from."""

from __future__ import annotations

#: The ``[article]`` table of a minimal valid claims file.
ARTICLE = """
[article]
id = "t"
title = "T"
publisher = "P"
date = 2026-01-13
url = "https://example.org"
"""
