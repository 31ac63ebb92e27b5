"""Every place's nested levels, solved on the run's local engine (places in parallel)."""

from __future__ import annotations

import itertools
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pcnopt.errors import OptionError
from pcnopt.model import PlaceGraph, SolveOptions
from pcnopt.model.levels import (
    Alignment,
    LevelsSolution,
    group_levels,
    nesting_problems,
    solve_levels,
)
from pcnopt.neighbourhoods.result import Level
from pcnopt.run import RunConfig
from pcnopt.run.engine import solve_places_locally


@dataclass(frozen=True)
class LevelsTask:
    """How one place's nested levels are solved (the ``options`` of the engine's function).

    ``levels``: the options of every level, outermost first (top-down), or of the levels above
    the given units (bottom-up, ``unit_of`` the given unit of each practice).
    """

    levels: tuple[SolveOptions, ...]
    unit_of: Mapping[str, str] | None = None
    align: Alignment | None = None


@dataclass(frozen=True)
class PlaceLevels:
    """One place's nested levels, with what the engine's progress bar shows of it."""

    solution: LevelsSolution
    seconds: float

    @property
    def status(self) -> str:
        """How the outermost level's solve ended."""
        return str(self.solution.top.status)


def solve_place_levels(graph: PlaceGraph, *, options: LevelsTask) -> PlaceLevels:
    """Solve one place's nested levels (the engine's function: module-level, so picklable)."""
    started = time.perf_counter()
    if options.unit_of is not None:
        solution = group_levels(graph, options.unit_of, options.levels, align=options.align)
    else:
        solution = solve_levels(graph, options.levels, align=options.align)
    return PlaceLevels(solution, time.perf_counter() - started)


def solve_places_levels(
    graphs: Sequence[PlaceGraph],
    levels: Sequence[Level],
    *,
    config: RunConfig,
    unit_of: Mapping[str, str] | None,
    align: Alignment | None,
    jobs: int,
    progress: bool,
) -> tuple[list[dict[str, str]], list[dict[str, Any]]]:
    """Every place's levels: per level practice → unit id, and one row per place.

    The outermost level's ids are ``<place>-<L><k>`` (``L`` the level name's first letter,
    ``P01-N01``); each inner level's its outer unit's number and its own (``P01-01-02``).
    The innermost level gets the run's PCN rules; the levels above it compactness. Places are
    solved on the local engine of ``jobs`` processes (largest first); the results come back in
    the order of ``graphs``, so the ids do not depend on ``jobs``.
    """
    options = [
        SolveOptions(
            min_size=level.band[0],
            max_size=level.band[1],
            time_limit=config.time_limit,
            solver=config.solver,
            approved_small=True,
        )
        for level in levels[:-1]
    ]
    innermost = config.solve_options(min_size=levels[-1].band[0], max_size=levels[-1].band[1])
    task = (
        LevelsTask((*options, innermost), align=align)
        if unit_of is None
        else LevelsTask(tuple(options), unit_of=unit_of, align=align)
    )
    graphs = list(graphs)
    solved = solve_places_locally(
        graphs, [task] * len(graphs), jobs=jobs, progress=progress, fn=solve_place_levels
    )
    ids: list[dict[str, str]] = [{} for _ in levels]
    rows = []
    letter = levels[0].name[0].upper()
    for graph, place in zip(graphs, solved, strict=True):
        nested = place.solution
        if unit_of is not None:
            given = sorted({str(unit_of[c]) for c in graph.codes})  # the unit graph's nodes
            label = dict(zip(given, nested.top.labels, strict=True))
            top = {code: label[str(unit_of[code])] for code in graph.codes}
        else:
            top = dict(zip(graph.codes, nested.top.labels, strict=True))
        for mine, theirs in zip(ids, nested.unit_of, strict=True):
            mine.update(theirs)
        for code, k in top.items():  # the outermost level's ids: "<place>-N01"
            ids[0][code] = f"{graph.place_id}-{letter}{k + 1:02d}" if k >= 0 else ""
        rows.append(
            {
                "place_id": graph.place_id,
                f"{levels[0].name}_status": str(nested.top.status),
                f"{levels[-1].name}_method": "given (grouped whole)"
                if unit_of is not None
                else "designed inside",
                "unsplittable": "; ".join(nested.unsplittable),
                "council_alignment": nested.alignment,
                "message": nested.top.message,
            }
        )
    for outer, inner in itertools.pairwise(ids):
        problems = nesting_problems(inner, outer)
        if problems:  # cannot happen by construction; never written if it does
            raise OptionError("units would cross the level above: " + "; ".join(problems[:5]))
    return ids, rows
