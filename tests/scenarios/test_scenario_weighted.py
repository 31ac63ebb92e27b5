"""A scenario's ``set list_size`` and ``add`` carry the weighted population along (issue 15 §3).

Three practices in one place W, with weighted/registered ratios 1.2, 0.8 and 1.0 (place ratio
(12,000 + 8,000 + 10,000) / 30,000 = 1.0)::

    A 10,000 (w 12,000)   B 10,000 (w 8,000)   C 10,000 (w 10,000)
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pcnopt.io.practices import practices_from_file
from pcnopt.scenarios.changes import apply_changes
from pcnopt.scenarios.schema import read_scenario_file

CSV = """practice_code,name,list_size,weighted_population,lat,lon,place
A,A,10000,12000,52.95,-1.15,W
B,B,10000,8000,52.96,-1.14,W
C,C,10000,10000,52.97,-1.13,W
"""


@pytest.fixture
def table(tmp_path: Path):
    path = tmp_path / "p.csv"
    path.write_text(CSV)
    return practices_from_file(path, columns={"place_id": "place"})


def _apply(table, tmp_path: Path, text: str):
    spec = tmp_path / "s.toml"
    spec.write_text(text)
    out, log = apply_changes(
        table, read_scenario_file(spec).changes, places=None, practices_file="p.csv"
    )
    return out.set_index("practice_code"), log


def test_set_list_size_scales_the_weighted_population(table, tmp_path) -> None:
    out, log = _apply(
        table,
        tmp_path,
        '[[changes]]\ntype = "set"\npractice = "A"\nvalues = { list_size = 18000 }\n',
    )
    assert out.at["A", "list_size"] == 18000
    assert out.at["A", "weighted_population"] == pytest.approx(12000 * 18000 / 10000)
    assert "weighted_population" in set(log["field"])


def test_set_with_a_weighted_population_keeps_it(table, tmp_path) -> None:
    out, _ = _apply(
        table,
        tmp_path,
        '[[changes]]\ntype = "set"\npractice = "A"\n'
        "values = { list_size = 18000, weighted_population = 15000 }\n",
    )
    assert out.at["A", "weighted_population"] == 15000


def test_add_takes_the_places_ratio_unless_given(table, tmp_path) -> None:
    out, _ = _apply(
        table,
        tmp_path,
        '[[changes]]\ntype = "add"\ncode = "NEW1"\nlat = 52.955\n'
        'lon = -1.145\nlist_size = 8000\nplace_id = "W"\n',
    )
    ratio = (12000 + 8000 + 10000) / 30000
    assert out.at["NEW1", "weighted_population"] == pytest.approx(8000 * ratio)
    out, _ = _apply(
        table,
        tmp_path,
        '[[changes]]\ntype = "add"\ncode = "NEW1"\nlat = 52.955\n'
        'lon = -1.145\nlist_size = 8000\nweighted_population = 7000\nplace_id = "W"\n',
    )
    assert out.at["NEW1", "weighted_population"] == 7000
