"""The jobs of the command line as library calls: a run written with its maps.

:mod:`pcnopt.run` solves and writes a run but draws no map (the maps are a layer above it); this
module joins the two, for ``pcnopt optimise`` and for each scenario of ``pcnopt run``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

from pcnopt import maps as mapping
from pcnopt.run import RunResult, write_run


def map_writers(result: RunResult, *, tiles: bool = True) -> dict[str, Callable[[Path], None]]:
    """Writers of ``map.html`` and ``map.png``.

    The map shows the proposed configuration, plus the current one as a second layer when the
    practices table has current PCNs: by their names where it has them, with their funding.
    """

    @cache  # both maps draw the same configurations: build them once
    def configurations() -> tuple[Any, list[Any]]:
        proposed = mapping.configuration_from_run(result, funding=result.funding)
        compare = []
        current = result.practices[["practice_code", "current_pcn"]].dropna()
        if len(current):
            named = result.practices.dropna(subset=["current_pcn", "current_pcn_name"])
            compare.append(
                mapping.configuration_from_assignments(
                    current.rename(columns={"current_pcn": "pcn_id"}),
                    name="Current PCNs",
                    funding=result.current_funding(),
                    names=dict(zip(named["current_pcn"], named["current_pcn_name"], strict=True)),
                    practices=result.practices,
                    places=result.places,
                    catchments=result.catchments,
                    edges=result.edges,
                    min_size=result.summary["settings"]["min_size"],
                    max_size=result.summary["settings"]["max_size"],
                )
            )
        return proposed, compare

    def write_html(path: Path) -> None:
        proposed, compare = configurations()
        fmap = mapping.map_from_configurations(
            [proposed, *compare], practices=result.practices, places=result.places, tiles=tiles
        )
        mapping.write_map(fmap, path)

    def write_png(path: Path) -> None:
        proposed, _ = configurations()
        mapping.static_map_png(proposed, path, practices=result.practices, places=result.places)

    return {"map.html": write_html, "map.png": write_png}


def write_run_with_maps(
    result: RunResult,
    out: str | Path,
    *,
    extra: Mapping[str, Callable[[Path], None]] | None = None,
    command: str = "optimise",
    tiles: bool = True,
) -> Path:
    """Write a run's files (:func:`pcnopt.run.write_run`) with ``map.html`` and ``map.png``."""
    writers = {**(extra or {}), **map_writers(result, tiles=tiles)}
    return write_run(result, out, extra=writers, command=command)
