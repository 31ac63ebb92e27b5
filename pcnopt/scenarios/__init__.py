"""What-if runs: scenario files, batches of runs on local cores or a Dask cluster, comparisons.

Modules: :mod:`~pcnopt.scenarios.schema` (the TOML files, checked), :mod:`~pcnopt.scenarios.changes`
(the changes applied to the practices table), :mod:`~pcnopt.scenarios.batch` (running many on the
engine of :mod:`pcnopt.run`), :mod:`~pcnopt.scenarios.compare` (runs side by side).

A scenario is one TOML file: the inputs and settings of an ``optimise`` run plus a list of
changes applied to the practices table in memory before anything is solved.

Schema
------
Every key is optional; paths are relative to the file that names them::

    name = "merge-z10009"            # folder name of the outputs (default: the file name)
    description = "Upper Wendle and Riverside merge"
    extends = "base.toml"            # take everything from another scenario, then change it

    [inputs]                         # default: the embedded demo in data/
    practices = "../data/practices.csv"
    places = "../data/places.geojson"
    place_column = "place_id"        # or place_field = "ccg" (a column of the practices)
    columns = { list_size = "Patients" }
    population = "registered"        # or "weighted"
    snap_distance_m = 5000
    repair_geometries = false

    [band]
    min_size = 30000
    max_size = 50000

    [solver]
    objective = "compact"            # or ["compact", "boundary"], or { compact = 1, boundary = 50 }
    lexicographic = false
    squared = false
    n_pcns = "fewest"                # or a number; min_pcns, max_pcns
    time_limit = 60                  # seconds per place
    name = "cbc"                     # or "highs"
    mip_gap = 0.0

    [funding]
    year = "2025/26"                 # or false: no funding tables
    input_dates = { weighted_population = "2019-01-01" }   # list_size, membership too
    rates = "my_rates.yaml"

    [rules]
    keep_together = [["Z10009", "Z10459"]]
    keep_apart = [["Z10012", "Z10017"]]
    fixed = { Z10086 = "wyvern" }
    excluded = ["Z10047"]
    approved_small_places = ["P03"]

    [[level]]                        # nested levels, outermost first (two or more): the
    name = "neighbourhood"           # nested design of 'pcnopt neighbourhoods --level'
    min_size = 200000                # (top-down); the innermost level's band replaces
    max_size = 350000                # [band], and its units get the [solver] and [rules]
    [[level]]
    name = "pcn"
    min_size = 30000
    max_size = 50000

    [[changes]]                      # applied in order, after those of the file extended
    type = "merge"                   # one site (``into``, default the first), lists summed
    practices = ["Z10009", "Z10459"]
    into = "Z10009"
    name = "Upper Wendle and Riverside"

    [[changes]]
    type = "close"                   # patients dispersed, see below
    practice = "Z10047"
    to = "inverse_distance"          # or "nearest"
    k = 3

    [[changes]]
    type = "grow"                    # list sizes grow (or shrink) by a percentage
    percent = 12.5
    place = "P01"                    # or practices = [...], or polygon = [[lon, lat], ...]
                                     # or polygon = "new_town.geojson"
    [[changes]]
    type = "add"                     # a new practice site
    code = "NEW001"
    name = "Northgate new town surgery"
    lat = 53.16
    lon = -0.17                      # or easting/northing
    list_size = 12000
    weighted_population = 11500      # optional, as are current_pcn, postcode, place_id

    [[changes]]
    type = "set"                     # any practice attribute
    practice = "Z10012"
    values = { list_size = 9000, name = "Long Row Surgery (new list)" }

Rules of the changes
--------------------
- ``merge``: the merged practice keeps the site, code and current PCN of ``into`` and the sum
  of the lists (registered, weighted, 65+); the other practices disappear.
- ``close``: the practice's registered patients go to the ``k`` nearest open practices of the
  same place (straight-line distance between sites; ties by code), in proportion to the
  inverse of the distance (co-located practices count as 1 m apart, so a practice in the same
  building takes most of them). Whole patients are shared by the largest-remainder method, so
  the place's total is unchanged; the weighted and 65+ lists move in the same shares.
  ``to = "nearest"`` sends every patient to the nearest open practice. Closing the last
  practice of a place is refused.
- ``grow``: the lists (registered rounded to whole patients, weighted, 65+) of the named
  practices, of every practice in a place, or of every practice inside a polygon (WGS84) are
  multiplied by ``1 + percent / 100``.
- ``add``: a new site, in the place whose polygon contains it (with ``inputs.place_field``,
  where there are no polygons, give ``place_id``).
- ``set``: ``name``, ``list_size``, ``weighted_population``, ``patients_65_plus``,
  ``current_pcn``, ``postcode``, ``lat``/``lon`` (moves the site, and so maybe its place), and
  ``place_id`` (used only with ``inputs.place_field``: with a places file the place is where
  the site is).

Every change is logged in the scenario's ``changes.csv``.

Running many scenarios
----------------------
Places within a scenario and scenarios within a batch are independent. :func:`run_scenarios`
prepares each scenario (inputs, changes, catchments) in a thread of this process and sends
every place, of every scenario, to one engine: a local process pool (default), this process
(``jobs=1``), or a Dask cluster (``scheduler="local"`` starts a ``LocalCluster``, or give a
scheduler's address). The engine only changes where a place is solved, never its result: a
place's solution depends only on its graph and options, and results are put back in a fixed
order, so every output file is byte-identical whichever engine ran it, except ``run_log.json``
(the measured seconds). With a ``time_limit``, a place stopped by the limit may differ between
any two runs, on any engine. Solved places are kept in ``DIR/.cache/places`` and
finished scenarios (``summary.json`` written, same scenario digest) are skipped, so a batch that
was interrupted resumes without redoing finished work.
"""

from pcnopt.scenarios.batch import (
    BatchReport,
    PreparedScenario,
    ScenarioRun,
    is_finished,
    prepare_scenario,
    run_scenarios,
)
from pcnopt.scenarios.compare import (
    ScenarioComparison,
    comparison_from_runs,
    comparison_html,
    comparison_map,
    write_comparison,
)
from pcnopt.scenarios.schema import Scenario, scenario_from_file, scenarios_from_files

__all__ = [
    "BatchReport",
    "PreparedScenario",
    "Scenario",
    "ScenarioComparison",
    "ScenarioRun",
    "comparison_from_runs",
    "comparison_html",
    "comparison_map",
    "is_finished",
    "prepare_scenario",
    "run_scenarios",
    "scenario_from_file",
    "scenarios_from_files",
    "write_comparison",
]
