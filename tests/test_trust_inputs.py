"""Issue 17, classes 5, 8 and 9: every bad input or option is refused with one message.

Each case is refused before anything is solved, with exit 2, one ``pcnopt: error:`` line
naming the file or option and a fix, no traceback, and nothing written.
"""

from __future__ import annotations

import errno
import json
import shutil
import zipfile
from pathlib import Path

import pytest

from pcnopt.io import _tables, outputs
from tests.conftest import PROJECT
from tests.corpus import HERE, run_cli

DEMO = PROJECT / "examples" / "demo_base.toml"
NHS = PROJECT.parent / "shared" / "data" / "nhs-files"
FIX = PROJECT / "tests" / "fixtures" / "nhs"
PRACTICES = HERE / "practices.csv"
CORPUS_PLACES = ["--places", str(HERE / "places.geojson"), "--place-column", "place_id"]


def refused(argv: list[str], *fragments: str, code: int = 2) -> str:
    """Run the command; check the one clear message; return it."""
    got, _, err = run_cli(argv)
    assert got == code, err
    assert "Traceback" not in err and err.count("pcnopt: error:") == 1, err
    assert len(err.strip().splitlines()) == 1 or "problems found" in err, err
    for fragment in fragments:
        assert fragment in err, err
    return err


def optimise(out: Path, *extra: str, practices: Path = PRACTICES) -> list[str]:
    return [
        "optimise",
        "--practices",
        str(practices),
        *CORPUS_PLACES,
        "--jobs",
        "1",
        *extra,
        "--out",
        str(out),
    ]


# ------------------------------------------------------------------ options (class 8)


@pytest.mark.parametrize("value", ["nan", "inf", "-1"])
def test_snap_distance_must_be_a_finite_distance(tmp_path, value):
    refused(optimise(tmp_path / "out", "--snap-distance", value), "--snap-distance")
    assert not (tmp_path / "out").exists()


def test_summary_json_is_always_json(tmp_path):
    outputs.json_writer({"gap": float("nan"), "n": [float("inf"), 1.5]})(tmp_path / "s.json")
    text = (tmp_path / "s.json").read_text()
    assert json.loads(text, parse_constant=lambda c: pytest.fail(c)) == {
        "gap": None,
        "n": [None, 1.5],
    }


def test_approve_small_naming_an_unknown_place_is_refused(tmp_path):
    refused(
        optimise(tmp_path / "out", "--approve-small", "WSET"),
        "--approve-small names 'WSET'",
        "EAST, WEST",
    )


def test_validate_report_never_overwrites_an_input(tmp_path):
    practices = tmp_path / "practices.csv"
    shutil.copy(PRACTICES, practices)
    before = practices.read_bytes()
    refused(
        [
            "validate",
            "--practices",
            str(practices),
            *CORPUS_PLACES,
            "--assignments",
            str(practices),
            "--pcn-column",
            "name",
            "--report",
            str(practices),
        ],
        "writing there would replace it",
        "--report",
    )
    assert practices.read_bytes() == before


def test_prepare_nhs_out_never_overwrites_an_input(tmp_path):
    epraccur = tmp_path / "epraccur.csv"
    shutil.copy(FIX / "epraccur.csv", epraccur)
    before = epraccur.read_bytes()
    refused(
        [
            "prepare-nhs",
            "--epraccur",
            str(epraccur),
            "--list-sizes",
            str(FIX / "gp-reg-pat-prac-all.csv"),
            "--postcodes",
            str(FIX / "codepoint_latlon.csv.gz"),
            "--out",
            str(epraccur),
        ],
        "writing there would replace it",
    )
    assert epraccur.read_bytes() == before


# ------------------------------------------------------------------ --out (class 5)


def test_out_under_a_file_is_refused_before_solving(tmp_path):
    (tmp_path / "file.txt").write_text("mine")
    refused(optimise(tmp_path / "file.txt" / "out"), "is a file, not a folder")


def test_out_inside_a_run_is_refused_before_solving(tmp_path):
    run = tmp_path / "run"
    assert run_cli(optimise(run))[0] == 0
    refused(optimise(run / "inner"), "is inside the pcnopt output folder")
    assert outputs.is_pcnopt_folder(run)


def test_out_name_too_long_for_the_file_system_is_refused(tmp_path):
    refused(optimise(tmp_path / ("x" * 250)), "too long")


@pytest.mark.parametrize("bad", ["not-a-run", "bad-json", "empty-dict", "no-csv"])
def test_compare_on_a_folder_that_is_not_a_run(tmp_path, bad):
    run = tmp_path / "run"
    assert run_cli(optimise(run))[0] == 0
    other = tmp_path / bad
    if bad == "not-a-run":
        other.mkdir()
        (other / "letter.txt").write_text("hello")
    else:
        shutil.copytree(run, other)
        if bad == "bad-json":
            (other / "summary.json").write_text('{"pcns": ')
        elif bad == "empty-dict":
            (other / "summary.json").write_text("{}")
        else:
            (other / "assignments.csv").unlink()
    refused(["compare", str(run), str(other), "--out", str(tmp_path / "cmp")], str(other))
    assert not (tmp_path / "cmp").exists()


# ------------------------------------------------------------------ scenario files (class 5, 8)


def _scenario(tmp_path: Path, body: str, name: str = "s.toml") -> Path:
    path = tmp_path / name
    path.write_text(f'extends = "{DEMO}"\n{body}', encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ('name = "trailing-newline\\n"', "cannot be a folder name"),
        (f'name = "{"n" * 300}"', "folder names can be at most"),
        ('[[changes]]\ntype = "grow"\npercent = inf\nplace = "P01"', "finite number"),
        ('[[changes]]\ntype = "grow"\npercent = nan\nplace = "P01"', "finite number"),
    ],
    ids=["newline", "too-long", "grow-inf", "grow-nan"],
)
def test_bad_scenario_values_are_refused(tmp_path, body, fragment):
    path = _scenario(tmp_path, body)
    refused(["run", str(path), "--out", str(tmp_path / "batch"), "--jobs", "1"], fragment)
    assert not (tmp_path / "batch").exists()


def test_scenario_path_or_extends_that_is_a_folder(tmp_path):
    (tmp_path / "folder.toml").mkdir()
    refused(["run", str(tmp_path / "folder.toml"), "--out", str(tmp_path / "b")], "is a folder")
    path = tmp_path / "child.toml"
    path.write_text('extends = "folder.toml"\nname = "child"\n')
    refused(["run", str(path), "--out", str(tmp_path / "b")], "is a folder", "extends")


# ------------------------------------------------------------------ damaged files (class 5, 9)


def _rezip(source: Path, target: Path, change) -> Path:  # type: ignore[no-untyped-def]
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as z:
        for item in zin.infolist():
            z.writestr(item.filename, change(item.filename, zin.read(item.filename)))
    return target


def _first_sheet(name: str) -> bool:
    return name.startswith("xl/worksheets/sheet") and name.endswith(".xml")


def _prepare(tmp_path: Path, **files: Path) -> list[str]:
    given = {
        "epraccur": FIX / "epraccur.csv",
        "list_sizes": FIX / "gp-reg-pat-prac-all.csv",
        "postcodes": FIX / "codepoint_latlon.csv.gz",
        **files,
    }
    argv = ["prepare-nhs"]
    for role, path in given.items():
        argv += [f"--{role.replace('_', '-')}", str(path)]
    return [*argv, "--out", str(tmp_path / "practices.csv")]


def _damaged(tmp_path: Path, kind: str) -> tuple[str, Path]:
    epcn = NHS / "epcn-2024-10" / "ePCN.xlsx"
    if not epcn.exists():
        pytest.skip("../shared/data/nhs-files is absent")
    if kind == "xlsx-bad-zip":
        path = tmp_path / "ePCN.xlsx"
        path.write_bytes(epcn.read_bytes()[:100_000])
        return "epcn", path
    if kind == "xlsx-cut-sheet":
        return "epcn", _rezip(
            epcn, tmp_path / "ePCN.xlsx", lambda n, b: b[: len(b) // 2] if _first_sheet(n) else b
        )
    if kind == "xlsx-bad-shared-string":

        def change(name: str, data: bytes) -> bytes:
            if not _first_sheet(name):
                return data
            text = data.decode()
            at = text.index('t="s"><v>') + len('t="s"><v>')
            return (text[:at] + "99999999" + text[text.index("<", at) :]).encode()

        return "epcn", _rezip(epcn, tmp_path / "ePCN.xlsx", change)
    if kind == "csv-gz-truncated":
        path = tmp_path / "codepoint.csv.gz"
        data = (FIX / "codepoint_latlon.csv.gz").read_bytes()
        path.write_bytes(data[: len(data) * 2 // 3])
        return "postcodes", path
    raise AssertionError(kind)


@pytest.mark.parametrize(
    "kind", ["xlsx-bad-zip", "xlsx-cut-sheet", "xlsx-bad-shared-string", "csv-gz-truncated"]
)
def test_a_damaged_nhs_file_is_named_without_a_traceback(tmp_path, kind):
    role, path = _damaged(tmp_path, kind)
    err = refused(_prepare(tmp_path, **{role: path}), str(path), "Fix:")
    assert "damaged" in err or "cannot be" in err
    assert not (tmp_path / "practices.csv").exists()


def test_an_xlsx_that_expands_far_past_any_real_one_is_not_opened(tmp_path, monkeypatch):
    monkeypatch.setattr(_tables, "MAX_UNZIPPED_BYTES", 2_000_000)
    path = tmp_path / "ePCN.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", "<row/>" * 500_000)  # no <dimension>
    refused(_prepare(tmp_path, epcn=path), "expands to 3 MB", "not opened")


def test_a_csv_far_larger_than_any_real_one_is_not_read(tmp_path):
    path = tmp_path / "practices.csv"
    with path.open("wb") as handle:
        handle.write(PRACTICES.read_bytes())
        handle.truncate(200_000_000)  # 200 MB (sparse: costs nothing)
    refused(optimise(tmp_path / "out", practices=path), "200 MB", "no real table")


def test_a_field_longer_than_the_csv_module_allows(tmp_path):
    path = tmp_path / "practices.csv"
    lines = PRACTICES.read_text().splitlines()
    lines[3] = lines[3].replace("W Practice", "W " + "x" * 200_000, 1)
    path.write_text("\n".join(lines) + "\n")
    refused(optimise(tmp_path / "out", practices=path), "field", str(path))


# ------------------------------------------------------------------ a full disk (class 5)


def test_a_full_disk_is_one_line_and_leaves_nothing(tmp_path, monkeypatch):
    def full(frame, path):  # type: ignore[no-untyped-def]
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(outputs, "write_csv", full)
    err = refused(optimise(tmp_path / "out"), "the disk is full", code=1)
    assert "nothing was half-written" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == []
