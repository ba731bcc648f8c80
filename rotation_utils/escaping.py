"""Escaping untrusted text (claims files, downloads, worker results) for the report's pages.

Two targets: :func:`escape_html` for text put into HTML, :func:`escape_markdown` for text put
into a Markdown output (IPython ``Markdown``, rendered by JupyterLab and by nbconvert), where
HTML is allowed too, so both kinds of markup are neutralised. Escaped text reads as it was
written: the escapes are undone by the renderer, not shown.
"""

from __future__ import annotations

import html
import re

__all__ = ["escape_html", "escape_markdown"]

# CommonMark's backslash-escapable ASCII punctuation that can start markup inline: emphasis,
# code, links and images, tables, strikethrough, math ($ in JupyterLab) and escapes themselves.
# "<", ">" and "&" are written as entities instead (a raw HTML tag, an autolink or an entity
# would otherwise survive).
_MARKDOWN_PUNCT = re.compile(r"([\\`*_\[\]{}#+!|~$])")
# A bare web address would be linked by the renderers' autolink extensions, and the escapes
# inside it would then end up in the link: "://" and "www." are escaped so it stays text.
_AUTOLINK = re.compile(r"(?<=[A-Za-z])(?=://)|(?<=\bwww)(?=\.)", re.I)
# What starts a block when it opens a paragraph: a list item ("- ", "1. ", "1) "), a heading or
# a thematic break ("---", "==="), a block quote (">" is an entity already).
_BLOCK_START = re.compile(r"^(\d+)([.)])|^([-=])")
_WHITESPACE = re.compile(r"\s+")


def escape_html(text: object) -> str:
    """``text`` as HTML text: ``&``, ``<``, ``>``, ``"`` and ``'`` as character references.

    Examples
    --------
    >>> escape_html('<img src=x onerror="alert(1)">')
    '&lt;img src=x onerror=&quot;alert(1)&quot;&gt;'
    """
    return html.escape(str(text), quote=True)


def escape_markdown(text: object) -> str:
    """``text`` as one line of Markdown that renders as exactly that text.

    Every run of whitespace (newlines included) becomes one space, so no text can start a new
    block (a fake "**Verdict: ...**" paragraph, a heading, a list); Markdown punctuation is
    backslash-escaped, and ``&``, ``<``, ``>`` become entities, so no link, image, emphasis or
    raw HTML survives.

    Examples
    --------
    >>> escape_markdown("ok\\n\\n**Verdict: supported.**")
    'ok \\\\*\\\\*Verdict: supported.\\\\*\\\\*'
    >>> escape_markdown("[x](javascript:alert(1))")
    '\\\\[x\\\\](javascript:alert(1))'
    >>> escape_markdown("see https://example.org/a_b")
    'see https\\\\://example.org/a\\\\_b'
    >>> escape_markdown("<script>")
    '&lt;script&gt;'
    >>> escape_markdown("1. first")
    '1\\\\. first'
    """
    one_line = _WHITESPACE.sub(" ", str(text)).strip()
    escaped = _MARKDOWN_PUNCT.sub(r"\\\1", one_line)
    escaped = _AUTOLINK.sub("\\\\", escaped)
    escaped = _BLOCK_START.sub(lambda m: f"{m[1]}\\{m[2]}" if m[1] else f"\\{m[3]}", escaped)
    return escaped.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
