"""The progress of a long run: every place reported by name as it is solved."""

from __future__ import annotations

import io

from pcnopt.model import SolveOptions
from pcnopt.run import engine
from tests.model.instances import random_place


def test_every_place_is_reported_once_with_its_solution():
    graphs = [random_place(8, seed=s, place_id=f"P{s}") for s in range(3)]
    options = [SolveOptions(min_size=10_000, max_size=40_000)] * 3
    seen: list[tuple[str, str]] = []
    solutions = engine.solve_places(
        engine.InProcessExecutor(),
        graphs,
        options,
        on_place=lambda g, s: seen.append((g.place_id, s.place_id)),
    )
    assert sorted(seen) == [("P0", "P0"), ("P1", "P1"), ("P2", "P2")]
    assert [s.place_id for s in solutions] == ["P0", "P1", "P2"]


def test_the_bar_names_the_place_last_solved(monkeypatch):
    import tqdm

    shown = io.StringIO()
    real = tqdm.tqdm
    monkeypatch.setattr(tqdm, "tqdm", lambda *a, **k: real(*a, **{**k, "file": shown}))
    graphs = [random_place(8, seed=1, place_id="P1")]
    engine.solve_places_locally(
        graphs,
        [SolveOptions(min_size=10_000, max_size=40_000)],
        jobs=1,
        progress=True,
        names={"P1": "North Wendle"},
    )
    assert "North Wendle: optimal" in shown.getvalue()
