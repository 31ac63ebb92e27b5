"""User text made inert: CSV cells (formula injection), Markdown and HTML reports, codes."""

from __future__ import annotations

import csv
import html
import re
import string

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pcnopt.io import outputs
from pcnopt.io.text import (
    clean_code,
    html_text,
    is_formula,
    markdown_text,
    neutralise_cell,
    restore_cell,
)

FORMULAS = [
    "=1+1",
    '=HYPERLINK("http://example.invalid","click")-01',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1)",
    "\t=1+1",
    "\r=1+1",
    "＝1+1",
]


@pytest.mark.parametrize("text", FORMULAS)
def test_formulas_are_quoted_and_read_back(text):
    written = neutralise_cell(text)
    assert written == "'" + text and not is_formula(written)
    assert restore_cell(written) == text


@pytest.mark.parametrize("value", ["-5", "+1.5e3", "-0.25", "W0001", "", "North 'PCN'", -3.5, 7])
def test_numbers_and_plain_text_are_left_alone(value):
    assert neutralise_cell(value) == value
    assert restore_cell(value) == value


@pytest.mark.parametrize("text", ["'=1+1", "''-2+3", "'", "'plain"])
def test_text_already_quoted_survives_the_round_trip(text):
    assert restore_cell(neutralise_cell(text)) == text


def test_every_csv_writer_neutralises_text_but_not_numbers(tmp_path):
    frame = pd.DataFrame(
        {"name": FORMULAS, "change": [-1.5] * len(FORMULAS), "code": ["-7"] * len(FORMULAS)}
    )
    frame["=col"] = "x"
    outputs.csv_writer(frame)(tmp_path / "a.csv")
    outputs.write_table(frame.assign(lat=1.0, lon=1.0), tmp_path / "b.csv")
    for name in ("a.csv", "b.csv"):
        with (tmp_path / name).open(encoding="utf-8", newline="") as handle:
            rows = list(csv.reader(handle))
        assert not [cell for row in rows for cell in row if is_formula(cell)], rows
        assert {row[1] for row in rows[1:]} == {"-1.5"} and {row[2] for row in rows[1:]} == {"-7"}
        assert [restore_cell(row[0]) for row in rows[1:]] == [
            f.replace("\r", "\n") for f in FORMULAS
        ]


HOSTILE = [
    "West\n## Injected section",
    "[click](javascript:alert(1))",
    "![x](http://example.invalid/x.png)",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "&lt;script&gt;",
    "**bold** _it_ `code` ~~del~~",
    "a | b | c",
    "1. ordered",
    "- bullet",
    "> quote",
    "http://example.invalid autolink www.example.invalid",
    "<http://example.invalid>",
    "line\r\nbreak\u2028sep",
    "back\\slash\\",
]


_PUNCTUATION = set(string.punctuation)


def _markdown_is_inert(shown: str) -> None:
    """CommonMark reads ``shown`` as plain text: one line, every punctuation mark escaped.

    A backslash before ASCII punctuation makes it literal (CommonMark 2.4), so no emphasis,
    link, image, code span, heading, list, quote or table cell can start; ``<`` and ``>`` never
    appear (no raw HTML, no autolink) and ``&`` only begins one of the entities we wrote.
    """
    assert not re.search(r"[\n\r\u2028\u2029\x85\v\f]", shown)
    assert "<" not in shown and ">" not in shown
    k = 0
    while k < len(shown):
        ch = shown[k]
        if ch == "\\":
            assert k + 1 < len(shown) and shown[k + 1] in _PUNCTUATION, shown
            k += 2
            continue
        if ch == "&":
            entity = re.match(r"&(amp|lt|gt);", shown[k:])
            assert entity, shown
            k += entity.end()
            continue
        assert ch not in _PUNCTUATION, (ch, shown)
        k += 1


def _read_back(shown: str) -> str:
    return html.unescape(re.sub(r"\\(.)", r"\1", shown))


@pytest.mark.parametrize("text", HOSTILE)
def test_markdown_text_is_inert_and_shows_the_text(text):
    shown = markdown_text(text)
    _markdown_is_inert(shown)
    one_line = re.sub(r"\r\n|[\r\n\u2028]", " ", text)
    assert _read_back(shown) == one_line


@given(st.text())
def test_markdown_text_is_inert_for_any_text(text):
    _markdown_is_inert(markdown_text(text))


def test_html_text_escapes_markup_and_quotes():
    assert html_text('<b a="1">\'&') == "&lt;b a=&quot;1&quot;&gt;&#x27;&amp;"


@pytest.mark.parametrize(
    "raw",
    [
        "C84001\u200b",
        "\u200bC84001",
        "C84\u200d001",
        "\ufeffC84001",
        "C84001\u00ad",
        "C84001\u2060",
        "C84001\u00a0",
        "Ｃ８４００１",
        " C84001\t",
        "C84001\u202c",
    ],
)
def test_invisible_characters_do_not_make_a_new_code(raw):
    assert clean_code(raw) == "C84001"


def test_visible_differences_stay():
    assert clean_code("C84 001") == "C84 001"
    assert clean_code("C84001A") == "C84001A"
