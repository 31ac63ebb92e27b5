"""Neighbourhood footprints above PCNs: nested levels, each contiguous and in its band.

``pcnopt neighbourhoods`` builds levels above PCNs: by default two (neighbourhoods of, say,
200,000–350,000 people, ``--band``, above PCNs of ``--min-size``–``--max-size``), or any number
the user names with ``--level NAME=MIN-MAX``, outermost first (``optimise --level`` and a
scenario's ``[[level]]`` tables run the same design). Either *bottom-up*, keeping existing PCNs
(given as an assignments file) whole as the innermost level and designing the levels above on
their graph — what most ICBs are doing since the 10 Year Health Plan — or *top-down*, designing
the outermost level on the practice graph and then each level inside every unit of the level
above as if it were a place. Both are exact per level (see :mod:`pcnopt.model.levels` for when
they differ and which to prefer). Every unit at every level lies inside one place; every unit
lies wholly inside one unit of the level above (checked before anything is written).
"""

from __future__ import annotations

from pcnopt.neighbourhoods.design import run_neighbourhoods
from pcnopt.neighbourhoods.nesting import (
    NestingReport,
    level_name,
    nest_band,
    nest_levels,
    outer_units_from_file,
    validate_nesting,
)
from pcnopt.neighbourhoods.result import (
    DEFAULT_LEVELS,
    CouncilAlignment,
    Level,
    NeighbourhoodResult,
    levels_of,
)
from pcnopt.neighbourhoods.solve import LevelsTask, PlaceLevels, solve_place_levels
from pcnopt.neighbourhoods.write import (
    map_configurations,
    report_markdown,
    unit_features,
    write_neighbourhoods,
)
from pcnopt.settings import parse_band

__all__ = [
    "DEFAULT_LEVELS",
    "CouncilAlignment",
    "Level",
    "LevelsTask",
    "NeighbourhoodResult",
    "NestingReport",
    "PlaceLevels",
    "level_name",
    "levels_of",
    "map_configurations",
    "nest_band",
    "nest_levels",
    "outer_units_from_file",
    "parse_band",
    "report_markdown",
    "run_neighbourhoods",
    "solve_place_levels",
    "unit_features",
    "validate_nesting",
    "write_neighbourhoods",
]
