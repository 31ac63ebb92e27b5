"""The run's Markdown report (``report.md``), rendered from ``templates/report.md.j2``.

Every string that comes from the user's files (codes, names, place ids) goes through one filter,
:func:`markdown_text`, so a name cannot break the tables or inject links or HTML.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

import jinja2
import markupsafe
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


def report_html(result: RunResult, *, markdown: str | None = None) -> str:
    """The same report as one printable HTML page (``report.html``, A4 landscape on paper).

    Rendered from ``report.md``'s template by a CommonMark parser with raw HTML switched off,
    so a name in the user's files is shown as text and never runs as markup or script.
    """
    from markdown_it import MarkdownIt

    text = report_markdown(result) if markdown is None else markdown
    body = MarkdownIt("commonmark", {"html": False}).enable("table").render(text)
    title = next((line[2:] for line in text.splitlines() if line.startswith("# ")), "Report")
    css = resources.files("pcnopt.run").joinpath("templates", "report.css").read_text("utf-8")
    # HTML this time: autoescape everything but the parser's output and the stylesheet
    page = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string(
        resources.files("pcnopt.run").joinpath("templates", "report.html.j2").read_text("utf-8")
    )
    return page.render(title=title, body=markupsafe.Markup(body), css=markupsafe.Markup(css))


def render_markdown(template: str, **context: Any) -> str:
    """Render one of ``templates/`` (e.g. ``neighbourhoods.md.j2``) with the ``md`` filter."""
    return _environment().get_template(template).render(**context)


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
            "allowed": f"{row.min_pcns_in_band}–{row.max_pcns_in_band}"
            if hasattr(row, "min_pcns_in_band")
            else "",
        }
        for row in places.itertuples(index=False)
    ]
    names = dict(zip(result.practices["practice_code"], result.practices["name"], strict=True))
    table = [
        {
            "pcn_id": r.pcn_id,
            "name": r.pcn_label if isinstance(r.pcn_label, str) else "",
            "place": r.place_name,
            "n": int(r.n_practices),
            "registered": int(r.list_size),
            "weighted": None if pd.isna(r.weighted_population) else float(r.weighted_population),
            "status": r.band_status,
            "hub": f"{names.get(r.hub_practice, r.hub_practice)} ({r.hub_practice})",
            "arrs": getattr(r, "arrs_sum_gbp", None),
        }
        for r in pcns.itertuples(index=False)
    ]
    against = current_against_proposed(result)
    for row in table:
        row["continues"] = (against or {}).get("continues", {}).get(row["pcn_id"], "–")
    return (
        _environment()
        .get_template("report.md.j2")
        .render(
            s=s,
            band=f"{s['settings']['min_size']:,.0f}–{s['settings']['max_size']:,.0f}",
            places=rows,
            flagged=list(places[places["status"] != "optimal"].itertuples(index=False)),
            exceptions=list(pcns[pcns["exception"] != ""].itertuples(index=False)),
            pcn_table=table,
            against=against,
            total=_total_pcns(s, places),
        )
    )


def _total_pcns(s: dict[str, Any], places: pd.DataFrame) -> dict[str, Any] | None:
    """The ``--total-pcns`` allocation as the report shows it, or None without one."""
    total = s.get("total_pcns")
    if total is None:
        return None
    names = dict(zip(places["place_id"], places["place_name"], strict=True))
    rows = [
        {
            "place_id": place,
            "place_name": names.get(place, place),
            "chosen": count,
            "allowed": "its fewest"
            if total["asked"] == "fewest"
            else ", ".join(str(k) for k in total["allowed"].get(place, [])),
        }
        for place, count in total["by_place"].items()
    ]
    if total["proven_optimal"]:
        proof = "proven optimal: every place was solved exactly " + (
            "at its fewest" if total["asked"] == "fewest" else "at each count it can meet"
        )
    elif total["gap"] is not None:
        proof = (
            f"not proven optimal: within {100 * total['gap']:.2f} % of the best possible "
            "(some place solves stopped before proving their optimum)"
        )
    else:
        proof = "not proven optimal: some place solve ended without a proven bound (gap unknown)"
    return {**total, "rows": rows, "proof": proof}


def current_against_proposed(result: RunResult) -> dict[str, Any] | None:
    """The current configuration beside the proposed one, or None without a current one.

    Returns
    -------
    dict or None
        Per configuration: PCNs, share of patients in band, patient-weighted mean distance to
        the hub; and the practices and patients whose PCN changes (each proposed PCN continues
        the current PCN it shares most patients with), and the current PCNs kept whole.
    """
    from pcnopt.metrics import hub_distances

    practices = result.practices
    if "current_pcn" not in practices or practices["current_pcn"].isna().all():
        return None
    lo, hi = result.summary["settings"]["min_size"], result.summary["settings"]["max_size"]
    weights = practices.set_index("practice_code")["list_size"].astype(float)
    proposed = result.assignments.dropna(subset=["pcn_id"])[["practice_code", "pcn_id"]]
    current = practices.dropna(subset=["current_pcn"])[["practice_code", "current_pcn"]]
    current = current.rename(columns={"current_pcn": "pcn_id"}).astype({"pcn_id": str})

    def figures(assigned: pd.DataFrame) -> dict[str, Any]:
        sizes = assigned["practice_code"].map(weights).groupby(assigned["pcn_id"]).sum()
        in_band = sizes[(sizes >= lo) & (sizes <= hi)].sum()
        hubs = hub_distances(practices, assigned)
        w = hubs["practice_code"].map(weights)
        return {
            "pcns": len(sizes),
            "share_in_band": float(in_band / sizes.sum()) if sizes.sum() else 0.0,
            "mean_km": float((w * hubs["distance_m"]).sum() / w.sum() / 1000) if w.sum() else 0.0,
        }

    both = proposed.merge(current, on="practice_code", suffixes=("", "_current"))
    both["patients"] = both["practice_code"].map(weights)
    shared = both.groupby(["pcn_id", "pcn_id_current"])["patients"].sum().reset_index()
    successor = (
        shared.sort_values(["patients", "pcn_id_current"], ascending=[False, True])
        .drop_duplicates("pcn_id")
        .set_index("pcn_id")["pcn_id_current"]
    )
    moved = both[both["pcn_id"].map(successor) != both["pcn_id_current"]]
    current_names: dict[str, str] = {}
    if "current_pcn_name" in practices:
        named = practices.dropna(subset=["current_pcn", "current_pcn_name"])
        current_names = dict(
            zip(named["current_pcn"].astype(str), named["current_pcn_name"], strict=True)
        )
    groups_now = current.groupby("pcn_id")["practice_code"].agg(frozenset)
    groups_new = set(proposed.groupby("pcn_id")["practice_code"].agg(frozenset))
    return {
        "current": figures(current),
        "proposed": figures(proposed),
        "practices_moved": len(moved),
        "patients_moved": int(moved["patients"].sum()),
        "practices": len(both),
        "patients": int(both["patients"].sum()),
        "kept_whole": int(sum(g in groups_new for g in groups_now)),
        "current_pcns": len(groups_now),
        # the current PCN each proposed one continues, by its name where the table gives it
        "continues": {
            str(p): f"{current_names[c]} ({c})" if c in current_names else str(c)
            for p, c in successor.items()
        },
    }
