"""The optimise run as a library: per-place fault containment and determinism."""

from __future__ import annotations

import pytest

from pcnopt import SolverError
from pcnopt.run import RunConfig, engine, load_inputs, place_graphs, run_optimise, write_run


@pytest.fixture(scope="module")
def demo_graphs():
    config = RunConfig(jobs=1, funding_year=None)
    practices, places, _ = load_inputs(config)
    from pcnopt import geography

    cells = geography.catchments_from_practices(practices, places)
    edges = geography.adjacency_from_catchments(cells)
    return place_graphs(practices, edges, population="list_size")


def test_a_crashing_solver_falls_back_to_the_other_solver(monkeypatch, demo_graphs):
    real = engine.solve_place
    used = []

    def flaky(graph, *, options):
        used.append(options.solver)
        if options.solver == "cbc":
            raise SolverError("CBC failed: simulated crash")
        return real(graph, options=options)

    monkeypatch.setattr(engine, "solve_place", flaky)
    graph = demo_graphs[0]
    solution = engine.solve_place_safely(graph, options=RunConfig().solve_options())
    assert used == ["cbc", "highs"]
    assert solution.status == "optimal"
    assert "cbc failed" in solution.message


def test_when_every_solver_fails_the_place_is_marked_and_still_grouped(monkeypatch, demo_graphs):
    def broken(graph, *, options):
        raise SolverError(f"{options.solver} missing")

    monkeypatch.setattr(engine, "solve_place", broken)
    graph = demo_graphs[0]
    solution = engine.solve_place_safely(graph, options=RunConfig().solve_options())
    assert solution.status == "solver_failed"
    assert sorted(set(solution.labels)) == list(range(len(solution.hubs)))
    assert all("solver failed" in note for note in solution.notes)


def test_run_survives_a_failing_place(monkeypatch, tmp_path):
    real = engine.solve_place

    def fails_in_p02(graph, *, options):
        if graph.place_id == "P02":
            raise SolverError("simulated crash")
        return real(graph, options=options)

    monkeypatch.setattr(engine, "solve_place", fails_in_p02)
    result = run_optimise(RunConfig(jobs=1, funding_year=None))
    status = result.places_table.set_index("place_id")["status"]
    assert status["P02"] == "solver_failed"
    assert status["P01"] in {"optimal", "below_minimum"}
    assert len(result.assignments) == len(result.practices)
    write_run(result, tmp_path / "out")
    report = (tmp_path / "out" / "report.md").read_text()
    assert "solver_failed" in report
