"""Scenario files, changes, engines (in-process, local processes, Dask LocalCluster), resume,
compare, and bad input through the command line.

Runs use a small region cut from the embedded demo: the 19 practices of place P03 (Caddle
Vale), split into two places by a ``place`` column west/east of the median longitude, so a
scenario has two independent places and solves in about a second.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import threading
import time
from collections import Counter
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest

import cli
from pcnopt import scenarios
from pcnopt.errors import InputError
from pcnopt.io.practices import practices_from_file
from pcnopt.scenarios.changes import apply_changes
from pcnopt.scenarios.schema import read_scenario_file

PROJECT = Path(__file__).resolve().parents[2]
EXAMPLES = PROJECT / "examples"

# Dask's LocalCluster may warn about its own internals under warnings-as-errors.
pytestmark = [
    pytest.mark.filterwarnings("ignore:Port .* is already in use:UserWarning"),
    pytest.mark.filterwarnings("ignore::ResourceWarning:distributed.*"),
    pytest.mark.filterwarnings("ignore:.*unclosed.*:ResourceWarning"),
]

BASE = """\
name = "base"
[inputs]
practices = "small.csv"
place_field = "place"
[band]
min_size = 12000
max_size = 30000
[funding]
year = "2025/26"
"""


@pytest.fixture(scope="module")
def region(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with ``small.csv`` (19 practices, places W and E) and two scenario files."""
    folder = tmp_path_factory.mktemp("region")
    demo = pd.read_csv(PROJECT / "data" / "practices.csv", dtype=str)
    places = gpd.read_file(PROJECT / "data" / "places.geojson")
    points = gpd.GeoDataFrame(
        demo,
        geometry=gpd.points_from_xy(demo["lon"].astype(float), demo["lat"].astype(float)),
        crs=4326,
    )
    inside = gpd.sjoin(points, places[places["place_id"] == "P03"], predicate="within")
    small = demo[demo["practice_code"].isin(inside["practice_code"])].copy()
    west = small["lon"].astype(float) <= small["lon"].astype(float).median()
    small["place"] = ["W" if w else "E" for w in west]
    small.to_csv(folder / "small.csv", index=False)
    (folder / "base.toml").write_text(BASE)
    (folder / "merge.toml").write_text(
        'extends = "base.toml"\nname = "merge"\n[band]\nmax_size = 32000\n'
        '[[changes]]\ntype = "merge"\npractices = ["{}", "{}"]\n'.format(
            *small[~west]["practice_code"].iloc[:2]
        )
    )
    return folder


def _codes(region: Path, place: str) -> list[str]:
    small = pd.read_csv(region / "small.csv", dtype=str)
    return list(small.loc[small["place"] == place, "practice_code"])


# ------------------------------------------------------------------------------ files


def test_every_example_file_reads() -> None:
    files = sorted(EXAMPLES.glob("*.toml"))
    assert len(files) >= 5
    for path in files:
        scenario = scenarios.scenario_from_file(path)
        assert scenario.name and scenario.digest


def test_extend_overrides_settings_and_appends_changes(region: Path) -> None:
    merge = scenarios.scenario_from_file(region / "merge.toml")
    base = scenarios.scenario_from_file(region / "base.toml")
    assert merge.config.max_size == 32_000 and merge.config.min_size == 12_000
    assert merge.config.place_field == "place" == base.config.place_field
    assert merge.config.practices == (region / "small.csv").resolve()
    assert [c.kind for c in merge.changes] == ["merge"]
    assert merge.chain[1].endswith("base.toml")
    assert merge.digest != base.digest


def test_an_extend_cycle_names_the_file_and_key(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text('extends = "b.toml"\n')
    (tmp_path / "b.toml").write_text('extends = "a.toml"\n')
    with pytest.raises(InputError, match=r"b\.toml: key 'extends': .*cycle"):
        read_scenario_file(tmp_path / "a.toml")


def test_every_problem_of_a_file_is_reported_together(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(
        'colour = "red"\n[band]\nmin_size = "30k"\n[[changes]]\ntype = "merge"\n'
        'practices = ["A1", "A1"]\n[[changes]]\ntype = "teleport"\n'
    )
    with pytest.raises(InputError) as info:
        scenarios.scenario_from_file(path)
    text = str(info.value)
    assert "4 problems" in text
    for key in ("'colour'", "'band.min_size'", "'changes[0].practices'", "'changes[1].type'"):
        assert key in text
    assert "with itself" in text


# ------------------------------------------------------------------------------ changes


@pytest.fixture()
def table(region: Path) -> gpd.GeoDataFrame:
    practices = practices_from_file(region / "small.csv", columns={"place_id": "place"})
    return practices


def _spec(tmp_path: Path, text: str) -> tuple:
    path = tmp_path / "s.toml"
    path.write_text(text)
    return read_scenario_file(path).changes


def test_merge_keeps_one_site_with_the_summed_lists(table, tmp_path) -> None:
    a, b = table["practice_code"].iloc[:2]
    changes = _spec(
        tmp_path, f'[[changes]]\ntype = "merge"\npractices = ["{a}", "{b}"]\ninto = "{b}"\n'
    )
    out, log = apply_changes(table, changes, places=None, practices_file="small.csv")
    assert a not in set(out["practice_code"]) and len(out) == len(table) - 1
    row = out.set_index("practice_code").loc[b]
    assert row["list_size"] == table.set_index("practice_code").loc[[a, b], "list_size"].sum()
    assert row.geometry.equals(table.set_index("practice_code").geometry[b])
    assert out["list_size"].sum() == table["list_size"].sum()
    assert set(log["field"]) >= {"list_size", "merged_into"}


@pytest.mark.parametrize(("rule", "receivers"), [("inverse_distance", 3), ("nearest", 1)])
def test_close_disperses_every_patient_within_the_place(table, tmp_path, rule, receivers) -> None:
    info = table.set_index("practice_code")
    code = info.index[info["place_id"] == "W"][0]
    changes = _spec(tmp_path, f'[[changes]]\ntype = "close"\npractice = "{code}"\nto = "{rule}"\n')
    out, _ = apply_changes(table, changes, places=None, practices_file="small.csv")
    after = out.set_index("practice_code")
    assert code not in after.index
    assert after["list_size"].sum() == info["list_size"].sum()
    grew = after.index[after["list_size"] != info["list_size"].reindex(after.index)]
    assert len(grew) == receivers and set(after.loc[grew, "place_id"]) == {"W"}
    nearest = (
        info[(info["place_id"] == "W") & (info.index != code)]
        .geometry.distance(info.geometry[code])
        .sort_values(kind="stable")
        .index[:receivers]
    )
    assert set(grew) == set(nearest)
    shares = (after.loc[grew, "list_size"] - info.loc[grew, "list_size"]).astype(float)
    distance = info.geometry[grew].distance(info.geometry[code]).clip(lower=1.0)
    # more patients to nearer practices
    assert list(shares.sort_values().index) == list(distance.sort_values(ascending=False).index)


def test_grow_in_a_polygon_and_add_and_set(table, tmp_path) -> None:
    info = table.set_index("practice_code")
    site = info.iloc[0]
    lat, lon = float(site.lat), float(site.lon)
    ring = [
        [lon - 0.01, lat - 0.01],
        [lon + 0.01, lat - 0.01],
        [lon + 0.01, lat + 0.01],
        [lon - 0.01, lat + 0.01],
    ]
    other = info.index[5]
    changes = _spec(
        tmp_path,
        (
            f'[[changes]]\ntype = "grow"\npercent = 10\npolygon = {ring}\n'
            f'[[changes]]\ntype = "add"\ncode = "NEW001"\nlat = {lat}\nlon = {lon + 0.002}\n'
            'list_size = 12000\nplace_id = "W"\n'
            f'[[changes]]\ntype = "set"\npractice = "{other}"\nvalues = {{ list_size = 4321 }}\n'
        ),
    )
    out, _ = apply_changes(table, changes, places=None, practices_file="small.csv")
    after = out.set_index("practice_code")
    assert after.at[info.index[0], "list_size"] == round(site.list_size * 1.1)
    assert after.at["NEW001", "list_size"] == 12000 and after.at["NEW001", "place_id"] == "W"
    assert after.at[other, "list_size"] == 4321


# ------------------------------------------------------------------------------ runs


def _files(folder: Path) -> dict[str, bytes]:
    """Every output file's bytes, except ``run_log.json`` (the measured seconds, by design the
    only output that varies from run to run) and the manifest, which hashes it."""
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
        and ".cache" not in p.parts
        and p.name not in {"run_log.json", "pcnopt-manifest.json"}
    }


@pytest.fixture(scope="module")
def local_runs(region: Path, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("local") / "runs"
    batch = scenarios.scenarios_from_files([region / "base.toml", region / "merge.toml"])
    report = scenarios.run_scenarios(batch, out=out, jobs=2, cache=False)
    assert [r.status for r in report.runs] == ["done", "done"]
    assert report.places_solved == 4
    return out


def test_a_scenario_folder_has_the_optimise_outputs_and_the_changes(local_runs: Path) -> None:
    folder = local_runs / "merge"
    for name in (
        "assignments.csv",
        "pcns.csv",
        "pcns.geojson",
        "funding.csv",
        "changes.csv",
        "report.md",
        "summary.json",
    ):
        assert (folder / name).exists(), name
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["scenario"]["name"] == "merge"
    assert summary["scenario"]["changes"][0]["type"] == "merge"
    assert summary["practices_in"] == 18 and summary["valid"]


def test_engines_give_identical_files(region: Path, local_runs: Path, tmp_path: Path) -> None:
    batch = scenarios.scenarios_from_files([region / "base.toml", region / "merge.toml"])
    one = scenarios.run_scenarios(batch, out=tmp_path / "one", jobs=1, cache=False)
    dask = scenarios.run_scenarios(
        batch, out=tmp_path / "dask", scheduler="local", jobs=2, cache=False
    )
    assert "LocalCluster, 2 workers" in dask.engine and one.engine == "this process"
    expected = _files(local_runs)
    assert len(expected) >= 26 and "merge/map.html" in expected
    assert _files(tmp_path / "one") == expected
    assert _files(tmp_path / "dask") == expected


def test_a_running_scheduler_is_reached_by_its_address(
    region: Path, local_runs: Path, tmp_path: Path
) -> None:
    from distributed import LocalCluster

    batch = scenarios.scenarios_from_files([region / "merge.toml"])
    with LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        report = scenarios.run_scenarios(
            batch, out=tmp_path / "remote", scheduler=cluster.scheduler_address, cache=False
        )
    assert cluster.scheduler_address in report.engine and report.places_solved == 2
    expected = {k: v for k, v in _files(local_runs).items() if k.startswith("merge/")}
    assert _files(tmp_path / "remote") == expected


def test_an_interrupted_batch_resumes_without_redoing_finished_places(
    region: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pcnopt.run import engine

    batch = scenarios.scenarios_from_files([region / "base.toml", region / "merge.toml"])
    real = engine.solve_place_safely
    calls: list[str] = []

    def flaky(graph, *, options):  # the third place is interrupted (Ctrl-C)
        calls.append(graph.place_id)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(graph, options=options)

    def as_real(fn):  # the place cache is keyed by the solver function's name
        fn.__module__, fn.__qualname__ = real.__module__, real.__qualname__
        return fn

    monkeypatch.setattr(engine, "solve_place_safely", as_real(flaky))
    with pytest.raises(KeyboardInterrupt):
        scenarios.run_scenarios(batch, out=tmp_path / "b", jobs=1)
    monkeypatch.setattr(engine, "solve_place_safely", real)
    written = [p.name for p in (tmp_path / "b").iterdir() if not p.name.startswith(".")]
    assert all((tmp_path / "b" / name / "summary.json").exists() for name in written)
    finished = len(calls) - 1  # every place but the interrupted one (the other scenario goes on)
    assert len(list((tmp_path / "b" / ".cache" / "places").glob("*.json"))) == finished
    resumed: list[str] = []

    def counted(graph, *, options):
        resumed.append(graph.place_id)
        return real(graph, options=options)

    monkeypatch.setattr(engine, "solve_place_safely", as_real(counted))
    report = scenarios.run_scenarios(batch, out=tmp_path / "b", jobs=1)
    # 4 distinct places in all: those finished before the interruption are not solved again
    assert len(resumed) == 4 - finished == report.places_solved
    assert all(r.status in {"done", "skipped"} for r in report.runs)
    assert all((tmp_path / "b" / name / "summary.json").exists() for name in ("base", "merge"))
    again = scenarios.run_scenarios(batch, out=tmp_path / "b", jobs=1)
    assert [r.status for r in again.runs] == ["skipped", "skipped"]
    assert again.places_solved == 0


# A worker killed mid-batch. Places are solved in the workers, so the test cannot wrap the solver
# in this process: a worker plugin wraps it in every worker (also one the nanny restarts) to log
# each place's start and end, with the place's cache key and the worker's pid, and to hold each
# place long enough for its worker to be killed in the middle of it.


def _logged_slow_solves(log: Path, seconds: float) -> object:
    from distributed import WorkerPlugin

    class LoggedSlowSolves(WorkerPlugin):  # local, so Dask sends it to the workers by value
        def setup(self, worker: object) -> None:
            from pcnopt.run import engine
            from pcnopt.run.engine import place_key

            real = engine.solve_place_safely

            def solve(graph, *, options):
                key = place_key(real, graph, options)
                with open(log, "a") as handle:
                    handle.write(f"start {key} {os.getpid()}\n")
                time.sleep(seconds)
                solution = real(graph, options=options)
                with open(log, "a") as handle:
                    handle.write(f"end {key} {os.getpid()}\n")
                return solution

            # a task names its function by module and name, so the worker runs this one
            engine.solve_place_safely = solve

    return LoggedSlowSolves()


def _cluster_with_logged_solves(log: Path, **kwargs):
    from distributed import Client, LocalCluster

    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, **kwargs
    )
    with Client(cluster) as client:
        client.register_plugin(_logged_slow_solves(log, 1.0), name="logged-slow-solves")
    return cluster


def _events(log: Path) -> list[tuple[str, str, int]]:
    """The log's complete lines: (start|end, place key, worker pid)."""
    text = log.read_text() if log.exists() else ""
    lines = text[: text.rfind("\n") + 1].splitlines()
    return [(e, k, int(p)) for e, k, p in (line.split() for line in lines)]


def _kill_a_worker_mid_place(cache: Path, log: Path, killed: list, over: threading.Event) -> None:
    """Once a first place is in the cache, SIGKILL the worker of the place started last."""
    while not over.is_set():
        events = _events(log)
        ended = {k for e, k, _ in events if e == "end"}
        if ended and any(p for p in cache.glob("*.json") if not p.name.startswith(".")):
            first_end = [e for e, _, _ in events].index("end")
            running = [(k, p) for e, k, p in events[first_end:] if e == "start" and k not in ended]
            if running:
                key, pid = running[-1]  # it has just started: the kill lands well inside it
                killed.append(
                    (key, pid, {p.stem for p in cache.glob("*.json") if not p.name.startswith(".")})
                )
                os.kill(pid, signal.SIGKILL)
                return
        time.sleep(0.02)


def _run_killing_a_worker(run, out: Path, log: Path, *, seconds: float = 120) -> tuple:
    """``run()`` while a worker is killed mid-place; its result, the killed place's key and
    pid, and the places in the cache at the kill. Fails if the batch hangs."""
    killed: list = []
    outcome: list = []
    over = threading.Event()

    def batch() -> None:
        try:
            outcome.append((True, run()))
        except BaseException as exc:
            outcome.append((False, exc))

    killer = threading.Thread(
        target=_kill_a_worker_mid_place, args=(out / ".cache" / "places", log, killed, over)
    )
    runner = threading.Thread(target=batch, daemon=True)
    killer.start()
    runner.start()
    runner.join(seconds)
    over.set()
    killer.join()
    assert not runner.is_alive(), f"the batch hung after a worker was killed ({seconds} s)"
    ok, value = outcome[0]
    if not ok:
        raise value
    assert killed, "no place was being solved after the first one finished"
    return value, *killed[0]


def test_a_killed_worker_costs_only_its_place_and_the_files_are_the_same(
    region: Path, local_runs: Path, tmp_path: Path
) -> None:
    log, out = tmp_path / "solves.log", tmp_path / "runs"
    batch = scenarios.scenarios_from_files([region / "base.toml", region / "merge.toml"])
    with _cluster_with_logged_solves(log) as cluster:
        report, key, pid, finished = _run_killing_a_worker(
            lambda: scenarios.run_scenarios(batch, out=out, scheduler=cluster.scheduler_address),
            out,
            log,
        )
    events = _events(log)
    starts = Counter(k for e, k, _ in events if e == "start")
    ends = Counter(k for e, k, _ in events if e == "end")
    assert ("end", key, pid) not in events  # killed in the middle of the place
    # Dask solved the lost place again; a place in the cache at the kill was not solved again,
    # and every place was solved to the end; only a place the dead worker had finished but
    # whose result had not yet left it (not in the cache) may have been solved twice
    assert starts[key] == 2 and finished and all(starts[k] == 1 for k in finished)
    lost_with_the_worker = {k for e, k, p in events if e == "end" and p == pid} - finished
    assert len(ends) == 4
    assert {k for k, n in ends.items() if n > 1} <= lost_with_the_worker
    assert [r.status for r in report.runs] == ["done", "done"] and report.places_solved == 4
    assert _files(out) == _files(local_runs)


def test_a_batch_whose_engine_gives_up_on_a_killed_worker_resumes_from_the_cache(
    region: Path, local_runs: Path, tmp_path: Path, capsys
) -> None:
    log, out = tmp_path / "solves.log", tmp_path / "runs"
    # no second attempt: the scheduler fails a place whose worker died (KilledWorker)
    with _cluster_with_logged_solves(log, scheduler_kwargs={"allowed_failures": 0}) as cluster:
        command = [
            "run",
            str(region / "base.toml"),
            str(region / "merge.toml"),
            "--out",
            str(out),
            "--scheduler",
            cluster.scheduler_address,
        ]
        code, key, _, _ = _run_killing_a_worker(lambda: cli.main(command), out, log)
        err = capsys.readouterr().err
        assert code == 2 and "Traceback" not in err
        assert "a Dask worker died while solving a place" in err
        assert "run the same command again to resume" in err
        cached = {p.stem for p in (out / ".cache" / "places").glob("*.json")}
        assert key not in cached and cached
        # nothing half-written: a scenario folder is there only with its summary.json
        assert all(
            (f / "summary.json").exists() for f in out.iterdir() if not f.name.startswith(".")
        )
        before = len(_events(log))
        assert cli.main(command) == 0
    resumed = Counter(k for e, k, _ in _events(log)[before:] if e == "start")
    # the same command solves only what was lost: no place finished before is solved again
    assert key in resumed and not set(resumed) & cached
    assert set(resumed.values()) == {1} and len(resumed) + len(cached) == 4
    assert _files(out) == _files(local_runs)


def test_ctrl_c_stops_a_dask_batch(region: Path, tmp_path: Path, monkeypatch) -> None:
    batch = scenarios.scenarios_from_files([region / "base.toml", region / "merge.toml"])

    def interrupted(*args, **kwargs):  # Ctrl-C while the batch waits for its scenarios
        raise KeyboardInterrupt

    monkeypatch.setattr(scenarios.batch, "wait_interruptibly", interrupted)
    with pytest.raises(KeyboardInterrupt):  # not an error from stopping the Dask places
        scenarios.run_scenarios(batch, out=tmp_path / "b", scheduler="local", jobs=2)
    assert not (tmp_path / "b" / "base").exists() and not (tmp_path / "b" / "merge").exists()


def test_ctrl_c_on_run_says_how_to_resume(
    region: Path, tmp_path: Path, monkeypatch, capsys
) -> None:
    def interrupted(*args, **kwargs):  # the engine's own Ctrl-C handling is tested above
        raise KeyboardInterrupt

    monkeypatch.setattr(scenarios, "run_scenarios", interrupted)
    code = cli.main(["run", str(region / "base.toml"), "--out", str(tmp_path / "b")])
    err = capsys.readouterr().err
    assert code == 130
    assert "Run the same command again to resume" in err and "Traceback" not in err


def test_a_finished_scenario_runs_again_when_its_inputs_change(
    region: Path, tmp_path: Path
) -> None:
    for name in ("small.csv", "base.toml"):
        shutil.copy(region / name, tmp_path / name)
    batch = scenarios.scenarios_from_files([tmp_path / "base.toml"])
    first = scenarios.run_scenarios(batch, out=tmp_path / "out", jobs=1)
    assert [r.status for r in first.runs] == ["done"]
    assert [
        r.status for r in scenarios.run_scenarios(batch, out=tmp_path / "out", jobs=1).runs
    ] == ["skipped"]
    frame = pd.read_csv(tmp_path / "small.csv", dtype=str)
    frame.loc[0, "list_size"] = str(int(frame.loc[0, "list_size"]) + 500)
    frame.to_csv(tmp_path / "small.csv", index=False)
    batch = scenarios.scenarios_from_files([tmp_path / "base.toml"])
    again = scenarios.run_scenarios(batch, out=tmp_path / "out", jobs=1)
    assert [r.status for r in again.runs] == ["done"] and again.places_solved >= 1


def test_scenarios_on_the_same_sites_share_one_geography(
    region: Path, tmp_path: Path, monkeypatch
) -> None:
    from pcnopt import geography

    built = []
    real = geography.catchments_from_practices
    monkeypatch.setattr(
        geography,
        "catchments_from_practices",
        lambda practices, places: built.append(len(practices)) or real(practices, places),
    )
    for name in ("small.csv", "base.toml", "merge.toml"):
        shutil.copy(region / name, tmp_path / name)
    (tmp_path / "wide.toml").write_text(
        'extends = "base.toml"\nname = "wide"\n[band]\nmax_size = 34000\n'
    )
    batch = scenarios.scenarios_from_files(
        [tmp_path / "base.toml", tmp_path / "wide.toml", tmp_path / "merge.toml"]
    )
    scenarios.run_scenarios(batch, out=tmp_path / "batch", jobs=1, cache=False)
    # base and wide have the same 19 sites; merge has 18: two geographies, not three
    assert sorted(built) == [18, 19]
    alone = scenarios.run_scenarios(batch[1:2], out=tmp_path / "alone", jobs=1, cache=False)
    assert alone.runs[0].status == "done" and len(built) == 3
    assert _files(tmp_path / "alone") == {
        k: v for k, v in _files(tmp_path / "batch").items() if k.startswith("wide/")
    }


def test_compare_writes_table_html_and_a_map_layer_per_scenario(
    local_runs: Path, tmp_path: Path
) -> None:
    out = tmp_path / "compare"
    assert (
        cli.main(
            [
                "compare",
                str(local_runs / "base"),
                str(local_runs / "merge"),
                "--out",
                str(out),
                "--no-tiles",
            ]
        )
        == 0
    )
    table = pd.read_csv(out / "compare.csv")
    assert list(table["scenario"]) == ["base", "merge"]
    assert table.loc[0, "practices_changing_pcn"] == 0
    assert table.loc[1, "practices_removed"] == 1 and table.loc[1, "practices_added"] == 0
    merged = pd.read_csv(out / "practices.csv").set_index("practice_code")
    moved = merged.index[merged["changed_merge"].eq(True)]  # blank: not in that run
    assert table.loc[1, "practices_changing_pcn"] == len(moved)
    assert table.loc[0, "arrs_change_gbp"] == 0
    assert (table["pcns"] > 0).all()
    html = (out / "map.html").read_text()
    assert '"base"' in html and '"merge"' in html
    practices = pd.read_csv(out / "practices.csv")
    assert {"pcn_base", "pcn_merge", "arrs_sum_base_gbp", "arrs_sum_merge_gbp"} <= set(practices)
    assert "Headline figures" in (out / "compare.html").read_text()


# ------------------------------------------------------------------------------ bad input


def _bad(region: Path, body: str) -> str:
    return BASE.replace('practices = "small.csv"', f'practices = "{region / "small.csv"}"') + body


@pytest.mark.parametrize(
    ("body", "key", "words"),
    [
        ("[extra]\nx = 1\n", "'extra'", "unknown key"),
        (
            '[[changes]]\ntype = "close"\npractice = "ZZZ999"\n',
            "'changes[0].practice'",
            "not in the practices table",
        ),
        (
            '[[changes]]\ntype = "merge"\npractices = ["{w0}", "{w0}"]\n',
            "'changes[0].practices'",
            "with itself",
        ),
        ("{close_all}", "'changes[", "every practice of place"),
        (
            '[rules]\nkeep_together = [["ZZZ1", "ZZZ2"]]\n',
            "'rules.keep_together'",
            "not in the practices table",
        ),
    ],
)
def test_bad_scenarios_exit_2_naming_file_and_key_and_write_nothing(
    region: Path, tmp_path: Path, capsys, body: str, key: str, words: str
) -> None:
    west = _codes(region, "W")
    close_all = "".join(f'[[changes]]\ntype = "close"\npractice = "{c}"\n' for c in west)
    path = tmp_path / "bad.toml"
    path.write_text(_bad(region, body.format(w0=west[0], close_all=close_all)))
    good = tmp_path / "good.toml"
    good.write_text(_bad(region, "").replace('name = "base"', 'name = "good"'))
    out = tmp_path / "out"
    assert cli.main(["run", str(good), str(path), "--out", str(out), "--jobs", "1"]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and key in err and words in err and "Traceback" not in err
    assert not out.exists()  # not even an empty batch folder


def test_an_extend_cycle_exits_2(tmp_path: Path, capsys) -> None:
    (tmp_path / "a.toml").write_text('extends = "b.toml"\n')
    (tmp_path / "b.toml").write_text('extends = "a.toml"\n')
    assert cli.main(["run", str(tmp_path / "a.toml"), "--out", str(tmp_path / "o")]) == 2
    assert "key 'extends'" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_a_folder_that_is_not_a_run_is_not_overwritten(
    region: Path, tmp_path: Path, capsys
) -> None:
    (tmp_path / "out" / "base").mkdir(parents=True)
    (tmp_path / "out" / "base" / "notes.txt").write_text("mine")
    assert cli.main(["run", str(region / "base.toml"), "--out", str(tmp_path / "out")]) == 2
    assert "holds files that pcnopt did not write" in capsys.readouterr().err
    shutil.rmtree(tmp_path / "out")
