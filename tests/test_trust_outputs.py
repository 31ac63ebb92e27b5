"""Issue 17, class 6 and 8: nothing half-written, swaps recoverable, permissions as the umask."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from pcnopt.io import outputs
from tests.conftest import PROJECT
from tests.corpus import HERE, run_cli

CORPUS = [
    "--practices",
    str(HERE / "practices.csv"),
    "--places",
    str(HERE / "places.geojson"),
    "--place-column",
    "place_id",
]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("outputs") / "run"
    assert run_cli(["optimise", *CORPUS, "--jobs", "1", "--out", str(out)])[0] == 0
    return out


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize(
    ("umask", "folder", "file"),
    [(0o022, 0o755, 0o644), (0o077, 0o700, 0o600), (0o002, 0o775, 0o664)],
)
def test_outputs_follow_the_umask(tmp_path, umask, folder, file):
    old = os.umask(umask)
    try:
        out = tmp_path / "run"
        assert run_cli(["optimise", *CORPUS, "--jobs", "1", "--out", str(out)])[0] == 0
        table = outputs.write_table(pd.DataFrame({"a": [1]}), tmp_path / "t" / "table.csv")
    finally:
        os.umask(old)
    assert _mode(out) == folder
    assert {p.name: _mode(p) for p in out.iterdir()} == {p.name: file for p in out.iterdir()}
    assert _mode(table) == file


_KILL_AT_SECOND_RENAME = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    from pcnopt.io import outputs

    out = Path(sys.argv[1])
    writers = {"a.txt": outputs.text_writer(sys.argv[2]), "summary.json": outputs.json_writer({})}
    real = os.replace
    calls = []

    def replace(src, dst):
        calls.append(dst)
        if sys.argv[3] == "swap" and len(calls) == 2:  # run moved aside, new one not yet in
            os.kill(os.getpid(), signal.SIGKILL)
        real(src, dst)

    def killed_mid_write(path):
        os.kill(os.getpid(), signal.SIGKILL)

    if sys.argv[3] == "write":
        writers["b.txt"] = killed_mid_write
    outputs.os.replace = replace
    outputs.write_folder(out, writers, command="test")
    """
)


def _write(out: Path, text: str, kill: str) -> int:
    return subprocess.run(
        [sys.executable, "-c", _KILL_AT_SECOND_RENAME, str(out), text, kill],
        cwd=PROJECT,
        env={**os.environ, "PYTHONPATH": str(PROJECT)},
        check=False,
    ).returncode


def test_a_run_killed_between_the_two_renames_is_finished_by_the_next(tmp_path):
    out = tmp_path / "out"
    assert _write(out, "first", "none") == 0
    assert _write(out, "second", "swap") == -signal.SIGKILL
    assert not out.exists()  # the moment the issue describes: --out missing
    left = sorted(p.name.split("-")[0] for p in tmp_path.iterdir())
    assert left == [".out.old", ".out.partial"]
    outputs.check_output_folder(out)  # what every next command does first
    assert (out / "a.txt").read_text() == "second" and outputs.is_pcnopt_folder(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_run_killed_after_moving_the_old_run_aside_is_put_back(tmp_path):
    out = tmp_path / "out"
    assert _write(out, "first", "none") == 0
    assert _write(out, "second", "swap") == -signal.SIGKILL
    for partial in tmp_path.glob(".out.partial-*"):  # suppose the new one was incomplete
        (partial / outputs.MANIFEST).unlink()
    outputs.check_output_folder(out)
    assert (out / "a.txt").read_text() == "first" and outputs.is_pcnopt_folder(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_run_killed_mid_write_leaves_nothing_after_the_next(tmp_path):
    out = tmp_path / "out"
    assert _write(out, "first", "none") == 0
    assert _write(out, "second", "write") == -signal.SIGKILL
    assert len(list(tmp_path.glob(".out.partial-*"))) == 1
    assert outputs.write_folder(out, {"a.txt": outputs.text_writer("third")}, command="t")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert (out / "a.txt").read_text() == "third"


def test_folders_that_only_look_like_pcnopt_leftovers_are_never_touched(tmp_path):
    out = tmp_path / "out"
    mine = {
        ".out.partial-photos": "not pcnopt's pattern",
        ".out.partial-4194999-abcd/photos": "holds a folder: not a partial write of pcnopt's",
        ".out.old-4194999-abcd/notes.txt": "not a run moved aside",
        f".out.partial-{os.getppid()}-abcd/x.txt": "its process is running",
        ".other.partial-4194999-abcd/x.txt": "another output's",
    }
    for name, text in mine.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if name.endswith("photos"):
            path.mkdir()
        else:
            path.write_text(text)
    before = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    assert outputs.recover_output_folder(out) == []
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == before


def _map(run: Path, out: Path, *extra: str, name: str = "proposed") -> tuple[int | None, str]:
    code, _, err = run_cli(
        [
            "map",
            *CORPUS,
            "--assignments",
            f"{name}={run / 'assignments.csv'}",
            "--no-tiles",
            *extra,
            "--out",
            str(out),
        ]
    )
    return code, err


@pytest.mark.parametrize("png", ["folder", "map.jpg", "file.txt/map.png"])
def test_map_with_a_bad_png_writes_nothing(run, tmp_path, png):
    (tmp_path / "folder").mkdir()
    (tmp_path / "file.txt").write_text("mine")
    code, err = _map(run, tmp_path / "map.html", "--png", str(tmp_path / png))
    assert code == 2 and "Traceback" not in err and "--png" in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt", "folder"]


def test_a_failed_png_leaves_no_html(run, tmp_path, monkeypatch):
    from pcnopt import maps

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(maps, "static_map_png", broken)
    code, err = _map(run, tmp_path / "map.html")
    assert code == 1 and "disk is full" in err, err
    assert list(tmp_path.iterdir()) == []


def test_mathtext_in_a_layer_name_is_drawn_as_text(run, tmp_path):
    code, err = _map(run, tmp_path / "map.html", name=r"$\frac{a$")
    assert code == 0, err
    assert (tmp_path / "map.png").read_bytes()[:4] == b"\x89PNG"
