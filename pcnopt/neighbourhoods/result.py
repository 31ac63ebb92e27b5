"""The levels of a nested design and its result: what every other module of the package uses."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from pcnopt.errors import OptionError
from pcnopt.run import RunConfig


@dataclass(frozen=True)
class Level:
    """One level of a nested design.

    Attributes
    ----------
    name
        The user's name (``neighbourhood``, ``pcn``): its units are in the ``<name>_id``
        column and ``units_<name>.csv``.
    band
        The level's size band (patients).
    """

    name: str
    band: tuple[float, float]

    @property
    def column(self) -> str:
        """The level's id column."""
        return f"{self.name}_id"

    @property
    def title(self) -> str:
        """The level's units, plural, as a heading (``PCNs``, ``Neighbourhoods``)."""
        return "PCNs" if self.name == "pcn" else f"{self.noun[:1].upper()}{self.noun[1:]}"

    @property
    def noun(self) -> str:
        """The level's units, plural, in a sentence (``PCNs``, ``neighbourhoods``)."""
        return "PCNs" if self.name == "pcn" else f"{self.name.replace('_', ' ')}s"

    @property
    def unit(self) -> str:
        """One unit, in a sentence (``PCN``, ``neighbourhood``)."""
        return "PCN" if self.name == "pcn" else self.name.replace("_", " ")


#: The two default levels' names (``--band`` and the PCN band), outermost first.
DEFAULT_LEVELS = ("neighbourhood", "pcn")


@dataclass(frozen=True)
class NeighbourhoodResult:
    """Every level of a nested design.

    Attributes
    ----------
    assignments
        One row per practice: ``practice_code``, ``name``, ``place_id``, ``list_size`` and one
        ``<level>_id`` column per level, outermost first.
    levels
        The levels, outermost first.
    units
        Level name → one row per unit: id, place, patients, practices, band status, the ids of
        the levels above, and the number of units of the level below.
    places
        Per place: the outermost level's solver status, how the innermost was made, and
        messages.
    summary
        Headline figures (written as ``summary.json``).
    areas
        Level name → each unit's area (EPSG:27700): an innermost unit's is the union of its
        practices' catchment cells (as the map draws them), an outer unit's the union of its
        inner units' areas, so each level's borders are the inner level's.
    practices_geo, places_geo, catchments, edges
        The practices (points), places (polygons), catchment cells and their adjacency the
        levels were drawn on, for the map.
    population
        The practices' column the bands apply to.
    """

    assignments: pd.DataFrame
    levels: tuple[Level, ...]
    units: Mapping[str, pd.DataFrame]
    places: pd.DataFrame
    summary: dict[str, Any]
    areas: Mapping[str, gpd.GeoDataFrame] = field(default_factory=dict)
    practices_geo: gpd.GeoDataFrame | None = None
    places_geo: gpd.GeoDataFrame | None = None
    catchments: gpd.GeoDataFrame | None = None
    edges: pd.DataFrame | None = None
    population: str = "list_size"

    @property
    def neighbourhoods(self) -> pd.DataFrame:
        """The outermost level's units."""
        return self.units[self.levels[0].name]

    @property
    def pcns(self) -> pd.DataFrame:
        """The innermost level's units (the PCNs, whose funding is summed upwards)."""
        return self.units[self.levels[-1].name]


@dataclass(frozen=True)
class CouncilAlignment:
    """Council areas to report every unit against, and optionally to align the outermost
    level with.

    Attributes
    ----------
    layer, column
        A polygon layer (local authorities, wards…) and its id column (``--align-to``,
        ``--align-column``).
    objective
        ``"outside"`` or ``"split"`` to make alignment the outermost level's objective
        (``--align-objective``; see :mod:`pcnopt.model.alignment`), or None to report only.
    alone
        Alignment alone (``--align-alone``) rather than lexicographic after compactness.
    """

    layer: Path
    column: str | None
    objective: str | None = None
    alone: bool = False


def levels_of(config: RunConfig, band: tuple[float, float] | None = None) -> tuple[Level, ...]:
    """The run's levels: ``config.levels`` (``--level``), else ``band`` (``--band``) above the
    PCN band (``--min-size``/``--max-size``).

    Raises
    ------
    OptionError
        With both or neither; when the default bands cannot nest.
    """
    if config.levels and band is not None:
        raise OptionError(
            "give either --band (neighbourhoods above the --min-size/--max-size PCNs) or "
            "--level NAME=MIN-MAX options, not both."
        )
    if config.levels:
        return tuple(Level(name, (low, high)) for name, low, high in config.levels)
    if band is None:
        raise OptionError(
            "give the levels: --band MIN-MAX (neighbourhoods above PCNs of --min-size to "
            "--max-size), or two or more --level NAME=MIN-MAX, outermost first."
        )
    if band[1] < config.min_size:
        raise OptionError(
            f"--band {band[0]:,.0f}-{band[1]:,.0f}: a neighbourhood could never hold a PCN of "
            f"at least {config.min_size:,.0f} (--min-size). Fix: give neighbourhoods a larger "
            "band, or PCNs a smaller one."
        )
    outer, inner = DEFAULT_LEVELS
    return (Level(outer, band), Level(inner, (config.min_size, config.max_size)))
