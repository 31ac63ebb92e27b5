"""Bad and odd input, as a corpus: each file works, or stops with one clear message.

The files and what each must do are in ``tests/corpus/`` (``cases.toml``); a refusal names the
file, row and column and says how to fix it, exits 2 without a traceback, and writes nothing.
The 200,000-row file is made here, in a temporary folder, never committed.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, Phase, given, settings

from pcnopt.io import outputs
from pcnopt.io.practices import practices_from_file
from tests.conftest import PROJECT
from tests.corpus import Case, check_case, check_refused, load_cases, run_cli
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
        out,
        {"a.csv": outputs.text_writer("old\n"), "summary.json": outputs.text_writer("{}\n")},
        command="test",
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
            command="test",
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


# ---------------------------------------------------------------- fuzzed practices files

GOOD = (HERE / "practices.csv").read_bytes()
NASTY = [b",", b";", b'"', b"\n", b"\r", b"\x00", b"\xff", "é".encode(), b"-", b".", b"e9", b""]


@st.composite
def fuzzed(draw: st.DrawFn) -> bytes:
    """The good practices file with a few random cuts, insertions and swapped lines."""
    data = bytearray(GOOD)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["cut", "insert", "replace", "line"]))
        at = draw(st.integers(0, len(data)))
        if kind == "cut":
            del data[at:]
            if len(data) < 10:
                break
        elif kind == "insert":
            data[at:at] = draw(st.sampled_from(NASTY))
        elif kind == "replace" and at < len(data):
            data[at : at + 1] = draw(st.sampled_from(NASTY))
        else:
            lines = bytes(data).split(b"\n")
            k = draw(st.integers(0, len(lines) - 1))
            lines.insert(draw(st.integers(0, len(lines))), lines[k])
            data = bytearray(b"\n".join(lines))
    return bytes(data)


@settings(
    max_examples=60,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow],
)
@given(data=fuzzed())
def test_a_damaged_file_works_or_stops_cleanly(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "damaged.csv"
        path.write_bytes(data)
        case = Case("fuzzed", path, HERE / "places.geojson", "either")
        outcome = check_case(case, Path(folder))
        assert not outcome.failures, "\n".join(outcome.failures)
