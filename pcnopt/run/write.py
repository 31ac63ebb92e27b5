"""Write a run's files into one folder, atomically (``write_run``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from pcnopt.io import outputs
from pcnopt.run.report import report_html, report_markdown

if TYPE_CHECKING:
    from pcnopt.run.optimise import RunResult


def _rounded(frame: pd.DataFrame) -> pd.DataFrame:
    from pcnopt.funding import _rounded as rounded

    return rounded(frame)


#: Measured timings: they vary from run to run, so they are written only to ``run_log.json``.
VOLATILE = ["seconds"]


def _run_log(result: RunResult) -> dict[str, Any]:
    """The run's measured timings (``run_log.json``: the one output that varies between runs)."""
    return {
        "note": "measured timings; they vary from run to run (every other file does not)",
        "seconds": result.summary.get("seconds"),
        "place_seconds": dict(
            zip(
                result.places_table["place_id"].astype(str),
                result.places_table["seconds"],
                strict=True,
            )
        ),
    }


def write_run(
    result: RunResult,
    out: str | Path,
    *,
    extra: Mapping[str, Callable[[Path], None]] | None = None,
    command: str = "optimise",
) -> Path:
    """Write a run's files into ``out`` atomically.

    Files: ``assignments.csv``, ``pcns.csv``, ``pcns.geojson``, ``places.csv``,
    ``catchments.geojson``, ``adjacency.csv``, ``validation.csv``, ``report.md`` and
    ``report.html`` (the same report, printable), the funding
    tables (``funding.csv``, ``role_mix.csv``, ``funding_basis.csv``) when a year is set,
    the ``extra`` files, ``run_log.json`` and ``summary.json``
    (written last: its presence marks a complete run), and ``pcnopt-manifest.json`` naming
    ``command`` and every file (the mark that lets a later run replace this folder).

    Every file is byte-identical for the same inputs and options, whatever ``jobs``, except
    ``run_log.json``: the measured seconds (of the run and of each place) vary from run to run,
    so they are kept there and nowhere else.

    Parameters
    ----------
    result
        The run.
    out
        Output folder.
    extra
        More files to write in the same atomic step: file name → writer (see
        :mod:`pcnopt.io.outputs`), e.g. a scenario's ``changes.csv``, and the maps
        (:func:`pcnopt.jobs.map_writers`: this stage does not draw maps, the layer above it does).
    command
        The command named in the folder's manifest.
    """
    pcns_table = pd.DataFrame(result.pcns.drop(columns="geometry"))
    markdown = report_markdown(result)
    catchments = result.catchments.merge(
        result.assignments[["practice_code", "pcn_id"]], on="practice_code", how="left"
    )
    writers = {
        "assignments.csv": outputs.csv_writer(result.assignments),
        "pcns.csv": outputs.csv_writer(pcns_table),
        "pcns.geojson": outputs.geojson_writer(
            result.pcns[
                [
                    "pcn_id",
                    "place_id",
                    "list_size",
                    "n_practices",
                    "band_status",
                    "exception",
                    "hub_practice",
                    "geometry",
                ]
            ]
        ),
        "places.csv": outputs.csv_writer(result.places_table.drop(columns=VOLATILE)),
        "catchments.geojson": outputs.geojson_writer(catchments),
        "adjacency.csv": outputs.csv_writer(result.edges),
        "validation.csv": outputs.csv_writer(result.validation.pcns),
        "report.md": outputs.text_writer(markdown),
        "report.html": outputs.text_writer(report_html(result, markdown=markdown)),
        **(
            {
                "funding.csv": outputs.csv_writer(_rounded(result.funding.pcns)),
                "role_mix.csv": outputs.csv_writer(_rounded(result.funding.role_mix)),
                "funding_basis.csv": outputs.csv_writer(result.funding.lines),
            }
            if result.funding is not None
            else {}
        ),
        **(extra or {}),
        "run_log.json": outputs.json_writer(_run_log(result)),
        "summary.json": outputs.json_writer(
            {k: v for k, v in result.summary.items() if k not in VOLATILE}
        ),
    }
    return outputs.write_folder(out, writers, command=command)
