"""Bad and odd input, as a corpus: each file works, or stops with one clear message.

The files and what each must do are in ``tests/corpus/`` (``cases.toml``); a refusal names the
file, row and column and says how to fix it, exits 2 without a traceback, and writes nothing.
The 200,000-row file is made here, in a temporary folder, never committed.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from pcnopt.io import outputs
from pcnopt.io.practices import practices_from_file
from tests.conftest import PROJECT
from tests.corpus import check_case, check_refused, load_cases, run_cli
from tests.corpus.make_corpus import HERE, write_big_practices

CASES = load_cases()


def test_the_corpus_is_complete_and_current(tmp_path: Path) -> None:
    """Every file is used by a case, and make_corpus.py writes the committed bytes."""
    used = {c.practices.name for c in CASES} | {c.places.name for c in CASES}
    on_disk = {p.name for p in HERE.iterdir() if p.suffix in {".csv", ".geojson"}}
    assert on_disk == used
    assert {c.expect for c in CASES} == {"accepted", "refused"}
    subprocess.run([sys.executable, str(HERE / "make_corpus.py"), str(tmp_path)], check=True)
    for name in sorted(on_disk):
        assert (tmp_path / name).read_bytes() == (HERE / name).read_bytes(), name


@pytest.mark.parametrize("case", [c for c in CASES if c.expect == "refused"], ids=lambda c: c.id)
def test_refused_with_one_clear_message(case, tmp_path: Path) -> None:
    outcome = check_case(case, tmp_path)
    assert not outcome.failures, "\n".join(outcome.failures)


@pytest.mark.parametrize("case", [c for c in CASES if c.expect == "accepted"], ids=lambda c: c.id)
def test_accepted_with_every_practice_out(case, tmp_path: Path) -> None:
    outcome = check_case(case, tmp_path)
    assert not outcome.failures, "\n".join(outcome.failures)


def test_the_checks_can_fail(tmp_path: Path) -> None:
    """A refusal with a traceback, no fix or a half-written folder is caught."""
    case = next(c for c in CASES if c.id == "huge list size")
    out = tmp_path / "out"
    out.mkdir()
    failures = check_refused(case, None, "Traceback: OverflowError", out)
    assert any("traceback" in f for f in failures)
    assert any("no fix" in f for f in failures)
    assert any("was created" in f for f in failures)


def test_a_200000_row_file_is_read_quickly(tmp_path: Path) -> None:
    path = write_big_practices(tmp_path / "big.csv")
    started = time.perf_counter()
    table = practices_from_file(path)
    seconds = time.perf_counter() - started
    assert len(table) == 200_000 and table["practice_code"].is_unique
    assert seconds < 60, f"reading 200,000 practices took {seconds:.0f} s"


def test_a_bad_row_at_the_end_of_200000_is_named(tmp_path: Path) -> None:
    path = write_big_practices(tmp_path / "big.csv", bad_row=200_001)
    out = tmp_path / "out"
    code, _, err = run_cli(
        ["optimise", "--practices", str(path), "--place-field", "name", "--out", str(out)]
    )
    assert code == 2, err
    assert err.startswith("pcnopt: error:") and err.count("pcnopt: error:") == 1
    assert "big.csv, row 200001, column 'list_size': list size is not a number" in err
    assert not out.exists()


def test_an_interrupted_write_leaves_no_folder_and_keeps_the_previous_run(tmp_path: Path) -> None:
    out = tmp_path / "out"
    outputs.write_folder(
        out, {"a.csv": outputs.text_writer("old\n"), "summary.json": outputs.text_writer("{}\n")}
    )

    def interrupted(path: Path) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        outputs.write_folder(
            out,
            {
                "a.csv": outputs.text_writer("new\n"),
                "b.csv": interrupted,
                "summary.json": outputs.text_writer("{}\n"),
            },
        )
    assert (out / "a.csv").read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


KILLED = """
import os, signal, sys
sys.path.insert(0, {project!r})
from pcnopt.io import outputs

def die(path):
    os.kill(os.getpid(), signal.SIGKILL)

outputs.write_folder({out!r}, {{"assignments.csv": outputs.text_writer("x\\n"), "pcns.csv": die,
                               "summary.json": outputs.text_writer("{{}}\\n")}})
"""


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_a_killed_run_never_leaves_a_folder_that_looks_complete(tmp_path: Path) -> None:
    out = tmp_path / "out"
    run = subprocess.run(
        [sys.executable, "-c", KILLED.format(project=str(PROJECT), out=str(out))], check=False
    )
    assert run.returncode != 0
    assert not out.exists()
    leftovers = [p.name for p in tmp_path.iterdir()]
    assert all(name.startswith(".out.partial-") for name in leftovers), leftovers
