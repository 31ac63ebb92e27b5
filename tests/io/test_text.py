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


#: Where a report puts user text, and the elements that context itself makes.
CONTEXTS = {
    "paragraph": ("Place: {}", {"p"}),
    "list item": ("- {}", {"ul", "li"}),
    "heading": ("## {}", {"h2"}),
    "table cell": (
        "| a | b |\n|---|---|\n| {} | x |",
        {"table", "thead", "tbody", "tr", "th", "td"},
    ),
}


def _rendered(markdown: str) -> tuple[set[str], str]:
    """Elements and text of ``markdown`` as a CommonMark parser with GFM tables renders it."""
    from markdown_it import MarkdownIt

    out = MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(markdown)
    tags = set(re.findall(r"<(\w+)", out))
    return tags, html.unescape(re.sub(r"<[^>]*>", " ", out))


def _markdown_is_inert(text: str) -> None:
    """In every context the reports use, ``markdown_text(text)`` renders as the text itself
    (on one line, trimmed) and makes no element of its own: no heading, list, link, image,
    emphasis, code, raw HTML, table cell or line break."""
    shown = markdown_text(text)
    assert not re.search(r"[\n\r\u2028\u2029\x85\v\f]", shown)
    expected = re.sub(r"\s+", " ", re.sub(r"[\x00-\x08\x0e-\x1b\x1f\x7f]", "", text)).strip()
    for name, (context, own) in CONTEXTS.items():
        tags, rendered = _rendered(context.format(shown))
        assert tags <= own, (name, shown, tags - own)
        plain = re.sub(r"\s+", " ", rendered.replace("\ufffd", "")).strip()
        filler = re.sub(r"\s+", " ", _rendered(context.format("TEXT"))[1]).strip()
        wanted = re.sub(r"\s+", " ", filler.replace("TEXT", expected)).strip()
        assert plain == wanted, (name, shown, plain)


@pytest.mark.parametrize("text", HOSTILE)
def test_markdown_text_is_inert_and_shows_the_text(text):
    _markdown_is_inert(text)


@given(st.text())
def test_markdown_text_is_inert_for_any_text(text):
    _markdown_is_inert(text)


@given(st.text(alphabet=st.sampled_from([*string.punctuation, "a", "1", " ", "_"])))
def test_markdown_text_is_inert_for_any_punctuation(text):
    _markdown_is_inert(text)


def test_markdown_text_leaves_plain_punctuation_readable():
    """A reader of report.md in a text editor sees the figures, not a thicket of backslashes."""
    for text in ("2026/27: £18,004,082.78 (PROVISIONAL year)", "St Osric's", "clinical_pharmacist"):
        assert markdown_text(text) == text


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
