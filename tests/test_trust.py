"""What a hostile or unlucky user does: nothing of theirs is deleted; Ctrl-C stops cleanly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

import cli
from pcnopt._processes import running
from pcnopt.io import outputs
from tests.conftest import PROJECT
from tests.processes import command, descendants


def _tree(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("trust") / "run"
    assert cli.main(["optimise", "--out", str(out)]) == 0
    return out


def test_a_folder_with_a_summary_json_that_is_not_a_run_is_never_replaced(tmp_path, capsys):
    mine = tmp_path / "mine"
    (mine / "photos").mkdir(parents=True)
    (mine / "photos" / "cat.jpg").write_bytes(b"\xff\xd8 a photo")
    (mine / "letter.docx").write_bytes(b"PK a document")
    (mine / "summary.json").write_text("{}")
    before = _tree(mine)
    assert cli.main(["optimise", "--out", str(mine)]) == 2
    err = capsys.readouterr().err
    assert "no pcnopt manifest" in err and "Traceback" not in err
    assert _tree(mine) == before


def test_a_run_is_written_with_a_manifest_of_every_file(demo_run):
    manifest = json.loads((demo_run / outputs.MANIFEST).read_text())
    assert manifest["tool"] == "pcnopt" and manifest["command"] == "optimise"
    written = {p.name for p in demo_run.iterdir()} - {outputs.MANIFEST}
    assert set(manifest["files"]) == written
    assert outputs.is_pcnopt_folder(demo_run)


@pytest.mark.parametrize("change", ["add", "edit", "remove", "forged"])
def test_a_run_the_user_changed_is_never_replaced(demo_run, tmp_path, capsys, change):
    run = tmp_path / "run"
    run.mkdir()
    for p in demo_run.iterdir():
        (run / p.name).write_bytes(p.read_bytes())
    if change == "add":
        (run / "my-notes.txt").write_text("notes for the board")
    elif change == "edit":
        with (run / "assignments.csv").open("a") as handle:
            handle.write("# checked by the PCN lead\n")
    elif change == "remove":
        (run / "map.png").unlink()
    else:  # a manifest claiming the user's file
        (run / "my-notes.txt").write_text("notes")
        data = json.loads((run / outputs.MANIFEST).read_text())
        data["files"]["my-notes.txt"] = {"bytes": 1, "sha256": "0" * 64}
        (run / outputs.MANIFEST).write_text(json.dumps(data))
    before = _tree(run)
    assert cli.main(["optimise", "--out", str(run)]) == 2
    assert "will not touch this one" in capsys.readouterr().err
    assert _tree(run) == before


def test_an_unchanged_run_is_replaced_whole(demo_run, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    for p in demo_run.iterdir():
        (run / p.name).write_bytes(p.read_bytes())
    assert cli.main(["optimise", "--out", str(run), "--min-size", "25000"]) == 0
    assert json.loads((run / "summary.json").read_text())["settings"]["min_size"] == 25000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


@pytest.mark.parametrize("where", ["first", "second", "inside"])
def test_compare_never_writes_into_one_of_its_inputs(demo_run, tmp_path, capsys, where):
    a, b = tmp_path / "a", tmp_path / "b"
    for run in (a, b):
        run.mkdir()
        for p in demo_run.iterdir():
            (run / p.name).write_bytes(p.read_bytes())
    before = _tree(tmp_path)
    out = {"first": a, "second": b, "inside": a / "cmp"}[where]
    assert cli.main(["compare", str(a), str(b), "--out", str(out)]) == 2
    assert "writing there would replace it" in capsys.readouterr().err
    assert _tree(tmp_path) == before


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="signals and /proc")
def test_ctrl_c_on_run_with_local_processes_exits_130_and_leaves_no_process(tmp_path):
    """SIGINT to the main process only (as ``kill -INT``), while places are being solved."""
    out = tmp_path / "batch"
    proc = subprocess.Popen(
        [
            sys.executable,
            str(PROJECT / "cli.py"),
            "run",
            str(PROJECT / "examples/demo_base.toml"),
            "--out",
            str(out),
            "--jobs",
            "2",
            "--no-progress",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    try:
        deadline = time.monotonic() + 120
        workers: list[psutil.Process] = []
        while time.monotonic() < deadline and proc.poll() is None:
            workers = [p for p in descendants(proc.pid) if "multiprocessing" in command(p)]
            if len(workers) >= 2:
                break
            time.sleep(0.05)
        assert proc.poll() is None and workers, "the run ended before its workers started"
        time.sleep(1.0)  # the workers are solving
        children = descendants(proc.pid)
        os.kill(proc.pid, signal.SIGINT)
        _stdout, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "resume" in lines[0], stderr
    time.sleep(0.5)
    alive = [p for p in children if running(p.pid)]
    assert not alive, [command(p) for p in alive]
