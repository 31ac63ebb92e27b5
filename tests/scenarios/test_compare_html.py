"""compare.html as a commissioner reads it: descriptions, formatted figures, current PCNs."""

from __future__ import annotations

import html
import re

import pandas as pd
import pytest

import cli
from tests.conftest import PROJECT


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    batch = tmp_path_factory.mktemp("cmp") / "batch"
    tomls = [str(PROJECT / "examples" / f) for f in ("demo_base.toml", "demo_merger.toml")]
    assert cli.main(["run", *tomls, "--out", str(batch), "--jobs", "1", "--no-progress"]) == 0
    out = batch.parent / "cmp"
    assert (
        cli.main(
            [
                "compare",
                str(batch / "demo-base"),
                str(batch / "demo-merger"),
                "--out",
                str(out),
                "--no-tiles",
            ]
        )
        == 0
    )
    return batch, out, (out / "compare.html").read_text(encoding="utf-8")


def cells(page: str, label: str) -> list[str]:
    row = re.search(rf"<tr><td>{re.escape(html.escape(label, quote=True))}</td>(.*?)</tr>", page)
    assert row, label
    return [html.unescape(c) for c in re.findall(r"<td>(.*?)</td>", row[1])]


def test_each_scenario_is_described_from_its_file(compared):
    _, _, page = compared
    assert "Holt Lane Medical Practice and Market Place Surgery merge" in page
    assert "Embedded demo: 30-50k band" in page


def test_headline_figures_are_formatted_and_right(compared):
    batch, _, page = compared
    assert cells(page, "PCNs within the size band")[0].endswith(" %")
    assert re.fullmatch(r"£[\d,]+", cells(page, "ARRS in all")[0])
    assert cells(page, "ARRS change against the baseline")[0] == "no change"
    assert cells(page, "Mean distance to the hub practice")[0].endswith(" km")
    a = pd.read_csv(batch / "demo-base" / "assignments.csv", dtype=str).dropna(
        subset=["current_pcn"]
    )
    now = a.groupby("current_pcn")["practice_code"].agg(frozenset)
    new = a.groupby("pcn_id")["practice_code"].agg(frozenset)
    expected = sum(now[c] != new[p] for c, p in zip(a["current_pcn"], a["pcn_id"], strict=True))
    shown = cells(page, "Practices changing PCN, against the current PCNs")[0]
    assert int(shown.replace(",", "")) == expected
