"""Which column of a practices table gives today's PCNs, and their names, said at the start."""

from __future__ import annotations

import pandas as pd
import pytest

import cli
from pcnopt.io.practices import current_pcn_columns, practices_from_file
from tests.conftest import demo_practices, optimise_argv, write_practices


def test_the_newest_dated_pcn_column_of_the_national_table_and_its_names(shared_dir):
    columns = pd.read_csv(shared_dir / "data/england/practices_england_joined.csv", nrows=0).columns
    found = current_pcn_columns(columns)
    assert (found.pcn, found.name) == ("pcn2024_10_code", "pcn2024_10_name")
    assert set(found.others) == {
        c for c in columns if c.startswith("pcn") and c.endswith("_code")
    } - {"pcn2024_10_code"}
    chosen = current_pcn_columns(columns, {"current_pcn": "pcn2019_code"})
    assert (chosen.pcn, chosen.name) == ("pcn2019_code", "pcn2019_name")


@pytest.fixture
def dated_table(tmp_path):
    """The demo's practices with the membership of two dates, as the joined tables give it."""
    table = demo_practices().rename(columns={"current_pcn": "pcn2023_01_code"})
    table["pcn2023_01_name"] = table["pcn2023_01_code"].str.replace("PCN-", "Network ")
    table["pcn2019_code"] = "OLD-" + table["pcn2023_01_code"]
    table["pcn2019_name"] = "Old " + table["pcn2023_01_name"]
    return write_practices(table, tmp_path), table


def test_practices_carry_the_current_pcn_and_its_name(dated_table):
    path, table = dated_table
    practices = practices_from_file(path).set_index("practice_code")
    expected = table.set_index("practice_code")
    assert (practices["current_pcn"] == expected["pcn2023_01_code"]).all()
    assert (practices["current_pcn_name"] == expected["pcn2023_01_name"]).all()
    older = practices_from_file(path, columns={"current_pcn": "pcn2019_code"})
    assert older["current_pcn_name"].str.startswith("Old ").all()


def optimise(path, out, *extra):
    return cli.main(optimise_argv(path, out, *extra))


def test_optimise_says_first_which_columns_it_used_and_the_report_names_them(
    dated_table, tmp_path, capsys
):
    path, table = dated_table
    assert optimise(path, tmp_path / "out") == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first == (
        "current PCNs: column 'pcn2023_01_code', names from 'pcn2023_01_name'; "
        "other PCN columns: pcn2019_code (choose with --current-pcn)."
    )
    report = (tmp_path / "out/report.md").read_text(encoding="utf-8")
    header = next(r for r in report.splitlines() if r.startswith("| PCN | name |"))
    column = [c.strip() for c in header.strip("|").split("|")].index("continues current PCN")
    rows = [
        r
        for r in report.split("## Proposed PCNs")[1].split("\n## ")[0].splitlines()
        if r.startswith("| P0")
    ]
    cells = [[c.strip().replace("\\", "") for c in r.strip("|").split("|")] for r in rows]
    continues = {c[column] for c in cells}
    names = dict(zip(table["pcn2023_01_code"], table["pcn2023_01_name"], strict=False))
    # each one a current PCN by its name and code
    assert continues <= {f"{n} ({c})" for c, n in names.items()}
    assert len(continues) > 1


def test_a_chosen_column_and_none(dated_table, tmp_path, capsys):
    path, table = dated_table
    assert optimise(path, tmp_path / "a", "--current-pcn", "pcn2019_code") == 0
    assert capsys.readouterr().out.startswith(
        "current PCNs: column 'pcn2019_code', names from 'pcn2019_name'; other PCN columns: "
        "pcn2023_01_code"
    )
    bare = tmp_path / "bare.csv"
    table.drop(columns=[c for c in table if c.startswith("pcn")]).to_csv(bare, index=False)
    assert optimise(bare, tmp_path / "b") == 0
    assert capsys.readouterr().out.startswith("current PCNs: none in the practices table")
    assert optimise(path, tmp_path / "c", "--current-pcn", "pcn2030_code") == 2
    err = capsys.readouterr().err
    assert "pcn2030_code" in err and "Traceback" not in err
    assert not (tmp_path / "c").exists()
