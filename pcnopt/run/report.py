"""The run's Markdown report (``report.md``), rendered from ``templates/report.md.j2``.

Every string that comes from the user's files (codes, names, place ids) goes through one filter,
:func:`markdown_text`, so a name cannot break the tables or inject links or HTML.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

import jinja2
import pandas as pd

from pcnopt.io.text import markdown_text

if TYPE_CHECKING:
    from pcnopt.run.optimise import RunResult


@cache
def _environment() -> jinja2.Environment:
    loader = jinja2.FunctionLoader(
        lambda name: resources.files("pcnopt.run").joinpath("templates", name).read_text("utf-8")
    )
    # Markdown, not HTML: strings are escaped by the explicit ``md`` filter, not autoescape
    env = jinja2.Environment(
        loader=loader,
        autoescape=False,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["md"] = markdown_text
    env.filters["fmt"] = format
    return env


def report_markdown(result: RunResult) -> str:
    """A readable report of a run: headline figures, every place, every exception."""
    s = result.summary
    pcns, places = result.pcns, result.places_table
    in_band = pcns.groupby("place_id")["in_band"].sum()
    rows = [
        {
            "place_id": row.place_id,
            "place_name": row.place_name,
            "status": row.status,
            "n_practices": row.n_practices,
            "n_pcns": row.n_pcns,
            "in_band": int(in_band.get(row.place_id, 0)),
            "gap": "" if row.gap is None or pd.isna(row.gap) else f"{100 * row.gap:.2f} %",
        }
        for row in places.itertuples(index=False)
    ]
    return (
        _environment()
        .get_template("report.md.j2")
        .render(
            s=s,
            band=f"{s['settings']['min_size']:,.0f}–{s['settings']['max_size']:,.0f}",
            places=rows,
            flagged=list(places[places["status"] != "optimal"].itertuples(index=False)),
            exceptions=list(pcns[pcns["exception"] != ""].itertuples(index=False)),
        )
    )
