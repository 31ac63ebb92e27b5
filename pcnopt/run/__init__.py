"""The run stage: load the inputs, solve every place on one engine, build the tables, write.

Used alike by ``pcnopt optimise`` and by each scenario of ``pcnopt run``:

- :mod:`pcnopt.run.inputs`: read the practices and places, place every practice, geography cache
- :mod:`pcnopt.run.engine`: the one engine (this process, local processes, Dask) and place cache
- :mod:`pcnopt.run.tables`: solved places to assignments, PCNs, places and the summary
- :mod:`pcnopt.run.optimise`: ``run_optimise`` and ``run_validate``
- :mod:`pcnopt.run.total`: an area-wide number of PCNs shared out between places
- :mod:`pcnopt.run.report`, :mod:`pcnopt.run.write`: ``report.md`` and the output folder
"""

from pcnopt.run.engine import solve_place_safely, solve_places
from pcnopt.run.inputs import (
    DEFAULT_PLACE_COLUMN,
    DEFAULT_PLACES,
    DEFAULT_PRACTICES,
    GeographyCache,
    check_rules_across_places,
    load_inputs,
)
from pcnopt.run.optimise import RunResult, run_optimise, run_validate
from pcnopt.run.report import report_markdown
from pcnopt.run.tables import PlaceOutcome, place_graphs
from pcnopt.run.write import write_run
from pcnopt.settings import POPULATIONS, RunConfig

__all__ = [
    "DEFAULT_PLACES",
    "DEFAULT_PLACE_COLUMN",
    "DEFAULT_PRACTICES",
    "POPULATIONS",
    "GeographyCache",
    "PlaceOutcome",
    "RunConfig",
    "RunResult",
    "check_rules_across_places",
    "load_inputs",
    "place_graphs",
    "report_markdown",
    "run_optimise",
    "run_validate",
    "solve_place_safely",
    "solve_places",
    "write_run",
]
