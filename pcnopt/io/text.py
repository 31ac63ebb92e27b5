"""Text that is safe where it is put: CSV cells, Markdown and HTML reports, codes.

User-supplied text (practice names, codes, place ids, scenario names, ``--fix`` labels) reaches
spreadsheets and reports. Each function here makes it inert in one place:

- :func:`neutralise_cell` — a CSV cell no spreadsheet evaluates as a formula (OWASP);
- :func:`markdown_text` and :func:`html_text` — text that shows as itself in a Markdown or HTML
  report, never as a heading, link, image or markup;
- :func:`clean_code` — an identifier without invisible characters, so ``C84001`` and
  ``C84001`` followed by a zero-width space are the same code.
"""

from __future__ import annotations

import html
import re
import unicodedata

#: First characters that make a spreadsheet evaluate a cell (OWASP "CSV Injection"), with the
#: full-width forms some spreadsheets also accept.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def neutralise_cell(value: object) -> object:
    """A cell as it may safely be written to CSV: text a spreadsheet would evaluate is quoted.

    As OWASP recommends for CSV exports, text beginning with ``=``, ``+``, ``-``, ``@``, tab or
    carriage return gets a leading single quote, which spreadsheets show as text. Numbers stay
    numbers: a float, an int, or text that is just a signed number (``-5``, ``+1.5e3``) is
    left alone, since a spreadsheet reads it as that number, not as a formula. Text already
    beginning with quotes before such a character gets one more quote, so that
    :func:`restore_cell` gives back exactly what was written.
    """
    if not isinstance(value, str) or not value or _PLAIN_NUMBER.fullmatch(value):
        return value
    if value.lstrip("'").startswith(FORMULA_STARTS):
        return "'" + value
    return value


def restore_cell(value: object) -> object:
    """Undo :func:`neutralise_cell` for a cell read back from a CSV file."""
    if (
        isinstance(value, str)
        and value.startswith("'")
        and value.lstrip("'").startswith(FORMULA_STARTS)
        and not _PLAIN_NUMBER.fullmatch(value[1:])
    ):
        return value[1:]
    return value


def is_formula(value: object) -> bool:
    """Whether a spreadsheet would evaluate this CSV cell (text, as read from the file)."""
    return (
        isinstance(value, str)
        and value.startswith(FORMULA_STARTS)
        and not _PLAIN_NUMBER.fullmatch(value)
    )


_LINE_BREAKS = re.compile(r"\r\n|[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]")
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1b\x1f\x7f]")
# characters that open inline Markdown anywhere in a line: escapes, code spans, emphasis, links
# and images, GFM tables, strikethrough and math (& < > become entities instead)
_MARKDOWN_INLINE = re.compile(r"([\\`*\[\]!|~$])")
# an underscore opens emphasis unless it sits between two letters or digits (snake_case stays)
_MARKDOWN_UNDERSCORE = re.compile(r"(?<![^\W_])_|_(?![^\W_])")
# what opens a block at the start of a line: heading, list, quote, setext underline, ordered list
_MARKDOWN_BLOCK_START = re.compile(r"^([#+\-=]|\d{1,9}(?=[.)]))")


def _one_line(value: object) -> str:
    text = _LINE_BREAKS.sub(" ", "" if value is None else str(value))
    return _CONTROL.sub("", text.replace("\t", " "))


def markdown_text(value: object) -> str:
    """``value`` as inert Markdown text on one line: it shows as itself and adds nothing.

    Line breaks become spaces (no new heading, list or table row), control characters are
    dropped, spaces at either end are trimmed (no code block), ``&``, ``<`` and ``>`` become
    HTML entities (no raw HTML, no entity tricks), the characters that open inline markup
    (backslash, backtick, ``*``, ``[``, ``]``, ``!``, ``|``, ``~``, ``$`` and an underscore at a
    word's edge) are backslash-escaped, and so is a first character that would open a block
    (``#``, ``+``, ``-``, ``=``, ``1.``). Other punctuation stays as it is, so the file reads
    as plain text: ``2026/27: £18,004,082.78 (provisional)``. Safe inside a paragraph, a list
    item, a table cell and a heading (``tests/io/test_text.py`` renders each with a CommonMark
    parser).
    """
    text = _MARKDOWN_INLINE.sub(r"\\\1", _one_line(value).strip())
    text = _MARKDOWN_UNDERSCORE.sub(r"\\_", text)
    text = html.escape(text, quote=False)
    match = _MARKDOWN_BLOCK_START.match(text)
    if match is None:
        return text
    if match.group(1)[0].isdigit():  # "1." or "1)": escape the mark after the number
        end = match.end()
        return text[:end] + "\\" + text[end:]
    return "\\" + text


def html_text(value: object) -> str:
    """``value`` as HTML text, safe in element content and in quoted attribute values."""
    return html.escape(_CONTROL.sub("", "" if value is None else str(value)), quote=True)


def clean_code(value: object) -> str:
    """An identifier (a practice code) as people mean it: no invisible characters.

    Compatibility forms become plain ones (a full-width ``Ｃ`` is ``C``, Unicode NFKC), every
    invisible character is removed (zero-width spaces and joiners, byte-order marks, soft
    hyphens, direction marks, line separators and control characters: Unicode categories C, Zl
    and Zp), any other space becomes a plain space, and spaces at either end are dropped. So a
    code copied with a zero-width space beside it is the same code.
    """
    text = unicodedata.normalize("NFKC", "" if value is None else str(value))
    kept = []
    for ch in text:
        category = unicodedata.category(ch)
        if category[0] == "C" or category in ("Zl", "Zp"):
            continue
        kept.append(" " if category == "Zs" else ch)
    return "".join(kept).strip()
