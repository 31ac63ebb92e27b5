"""From solved places to the run's tables (assignments, PCNs, places, the summary)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely

from pcnopt import __version__
from pcnopt.model import PlaceGraph, PlaceSolution, SolveOptions
from pcnopt.run.inputs import DEFAULT_PLACE_COLUMN, DEFAULT_PLACES, DEFAULT_PRACTICES
from pcnopt.settings import POPULATIONS, RunConfig
from pcnopt.validation import ValidationReport

METHOD = "integer program"


@dataclass(frozen=True)
class PlaceOutcome:
    """How one place was grouped."""

    place_id: str
    status: str
    method: str
    groups: tuple[tuple[str, ...], ...]
    hubs: tuple[str, ...]
    notes: tuple[str, ...]
    objective: float | None = None
    bound: float | None = None
    gap: float | None = None
    seconds: float = 0.0
    message: str = ""
    names: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()


def place_graphs(
    practices: gpd.GeoDataFrame, edges: pd.DataFrame, *, population: str
) -> list[PlaceGraph]:
    """One :class:`pcnopt.model.PlaceGraph` per place, practices sorted by code."""
    graphs = []
    edge_groups = dict(list(edges.groupby("place_id", sort=True)))
    for place_id, group in practices.groupby("place_id", sort=True):
        group = group.sort_values("practice_code")
        codes = tuple(group["practice_code"])
        index = {c: i for i, c in enumerate(codes)}
        place_edges = edge_groups.get(place_id, edges.iloc[0:0])
        pairs = sorted(
            (min(index[a], index[b]), max(index[a], index[b]), float(length))
            for a, b, length in place_edges[["a", "b", "length_m"]].itertuples(index=False)
        )
        current = group["current_pcn"]
        graphs.append(
            PlaceGraph(
                place_id=str(place_id),
                codes=codes,
                population=tuple(float(v) for v in group[population]),
                x=tuple(float(v) for v in group.geometry.x),
                y=tuple(float(v) for v in group.geometry.y),
                edges=tuple(pairs),
                current=tuple(None if pd.isna(c) else str(c) for c in current)
                if current.notna().any()
                else None,
            )
        )
    return graphs


def options_for(graph: PlaceGraph, config: RunConfig) -> SolveOptions:
    """The run's options restricted to the practices of one place."""
    members = set(graph.codes)
    together = tuple(tuple(c for c in g if c in members) for g in config.keep_together)
    apart = tuple(tuple(c for c in g if c in members) for g in config.keep_apart)
    return config.solve_options(
        keep_together=tuple(g for g in together if len(g) > 1),
        keep_apart=tuple(g for g in apart if len(g) > 1),
        fixed=tuple((c, label) for c, label in config.fixed if c in members),
        excluded=tuple(c for c in config.excluded if c in members),
        approved_small=graph.place_id in set(config.approved_small_places),
    )


def place_outcome(graph: PlaceGraph, solution: PlaceSolution) -> PlaceOutcome:
    k = len(solution.hubs)
    groups: list[list[str]] = [[] for _ in range(k)]
    for code, label in zip(graph.codes, solution.labels, strict=True):
        if label >= 0:
            groups[label].append(code)
    excluded = tuple(c for c, label in zip(graph.codes, solution.labels, strict=True) if label < 0)
    names = solution.names or tuple("" for _ in range(k))
    return PlaceOutcome(
        place_id=graph.place_id,
        status=solution.status,
        method=f"{METHOD} ({solution.method or 'Hess p-median'}), {solution.solver}",
        groups=tuple(tuple(g) for g in groups),
        hubs=tuple(graph.codes[h] for h in solution.hubs),
        notes=solution.notes,
        objective=solution.objective,
        bound=solution.bound,
        gap=solution.gap,
        seconds=solution.seconds,
        message=solution.message,
        names=names,
        excluded=excluded,
    )


def tables(
    practices: gpd.GeoDataFrame,
    places: gpd.GeoDataFrame,
    catchments: gpd.GeoDataFrame,
    outcomes: list[PlaceOutcome],
    population: str,
    config: RunConfig,
) -> tuple[pd.DataFrame, gpd.GeoDataFrame, pd.DataFrame]:
    info = practices.set_index("practice_code")
    place_names = dict(zip(places["place_id"], places["place_name"], strict=True))
    assignment_rows, pcn_rows, place_rows = [], [], []
    cell_of = dict(zip(catchments["practice_code"], catchments.geometry, strict=True))
    for outcome in outcomes:
        names = outcome.names or tuple("" for _ in outcome.groups)
        used: set[str] = set()
        towns = hub_towns(info, outcome.hubs)
        names = tuple(
            given or proposed_name(str(info.at[hub, "name"]), used=used, town=town)
            for given, hub, town in zip(names, outcome.hubs, towns, strict=True)
        )
        for k, (members, hub, note, label) in enumerate(
            zip(outcome.groups, outcome.hubs, outcome.notes, names, strict=True), start=1
        ):
            pcn_id = f"{outcome.place_id}-{k:02d}"
            sub = info.loc[list(members)]
            hub_point = info.geometry[hub]
            distance = sub.geometry.distance(hub_point).round(1)
            weights = sub[population].astype(float)
            size = float(weights.sum())
            for code in members:
                assignment_rows.append(
                    {
                        "practice_code": code,
                        "name": info.at[code, "name"],
                        "pcn_id": pcn_id,
                        "place_id": outcome.place_id,
                        "list_size": int(info.at[code, "list_size"]),
                        "weighted_population": info.at[code, "weighted_population"],
                        "current_pcn": info.at[code, "current_pcn"],
                        "is_hub": code == hub,
                        "distance_to_hub_m": float(distance[code]),
                        "place_method": info.at[code, "place_method"],
                        "note": "",
                        "lat": info.at[code, "lat"],
                        "lon": info.at[code, "lon"],
                    }
                )
            in_band = config.min_size <= size <= config.max_size
            pcn_rows.append(
                {
                    "pcn_id": pcn_id,
                    "pcn_label": label,
                    "place_id": outcome.place_id,
                    "place_name": place_names.get(outcome.place_id, outcome.place_id),
                    "list_size": int(sub["list_size"].sum()),
                    "weighted_population": round(float(sub["weighted_population"].sum()), 2)
                    if sub["weighted_population"].notna().all()
                    else None,
                    "population_basis": config.population,
                    "n_practices": len(members),
                    "in_band": in_band,
                    "band_status": "in band"
                    if in_band
                    else ("below band" if size < config.min_size else "above band"),
                    "exception": note,
                    "hub_practice": hub,
                    "mean_distance_to_hub_m": round(float((weights * distance).sum() / size), 1)
                    if size > 0
                    else 0.0,
                    "practices": ";".join(members),
                    "geometry": shapely.union_all([cell_of[c] for c in members if c in cell_of]),
                }
            )
        for code in outcome.excluded:
            assignment_rows.append(
                {
                    "practice_code": code,
                    "name": info.at[code, "name"],
                    "pcn_id": None,
                    "place_id": outcome.place_id,
                    "list_size": int(info.at[code, "list_size"]),
                    "weighted_population": info.at[code, "weighted_population"],
                    "current_pcn": info.at[code, "current_pcn"],
                    "is_hub": False,
                    "distance_to_hub_m": None,
                    "place_method": info.at[code, "place_method"],
                    "note": "left out of every PCN by the commissioner (--exclude)",
                    "lat": info.at[code, "lat"],
                    "lon": info.at[code, "lon"],
                }
            )
        place_rows.append(
            {
                "place_id": outcome.place_id,
                "place_name": place_names.get(outcome.place_id, outcome.place_id),
                "status": outcome.status,
                "method": outcome.method,
                "n_practices": sum(len(g) for g in outcome.groups) + len(outcome.excluded),
                "n_pcns": len(outcome.groups),
                "objective": outcome.objective,
                "bound": outcome.bound,
                "gap": outcome.gap,
                "seconds": round(outcome.seconds, 2),
                "message": outcome.message,
            }
        )
    assignments = pd.DataFrame(assignment_rows).sort_values("practice_code").reset_index(drop=True)
    pcns = gpd.GeoDataFrame(pcn_rows, geometry="geometry", crs=practices.crs)
    return assignments, pcns, pd.DataFrame(place_rows)


def summary(
    config: RunConfig,
    practices: pd.DataFrame,
    snapped: pd.DataFrame,
    pcns: pd.DataFrame,
    places_table: pd.DataFrame,
    validation: ValidationReport,
    edges: pd.DataFrame,
    seconds: float,
) -> dict[str, Any]:
    population = POPULATIONS[config.population]
    sizes = pcns[population] if population in pcns else pcns["list_size"]
    patients = float(sizes.sum())
    in_band = pcns["in_band"]
    return {
        "pcnopt_version": __version__,
        "inputs": {
            "practices": str(config.practices or DEFAULT_PRACTICES),
            "places": None if config.place_field else str(config.places or DEFAULT_PLACES),
            "place_column": config.place_column
            or (None if config.practices else DEFAULT_PLACE_COLUMN),
            "place_field": config.place_field,
            "embedded_default": config.practices is None,
        },
        "settings": {
            "min_size": config.min_size,
            "max_size": config.max_size,
            "population": config.population,
            "snap_distance_m": config.snap_distance_m,
        },
        "method": sorted(set(places_table["method"])),
        "practices_in": len(practices),
        "practices_out": int(pcns["n_practices"].sum()),
        "practices_excluded": list(config.excluded),
        "patients": int(practices["list_size"].sum()),
        "places": len(places_table),
        "pcns": len(pcns),
        "pcns_in_band": int(in_band.sum()),
        "share_pcns_in_band": round(float(in_band.mean()), 4) if len(pcns) else None,
        "share_patients_in_band": round(float(sizes[in_band].sum() / patients), 4)
        if patients
        else None,
        "named_exceptions": int((pcns["exception"] != "").sum()),
        "adjacency_edges": len(edges),
        "snapped_practices": snapped.to_dict(orient="records"),
        "valid": validation.ok,
        "rules_broken": list(validation.problems),
        "place_status": places_table["status"].value_counts().sort_index().to_dict(),
        "pcns_in_band_allowed": {
            str(r.place_id): [int(r.min_pcns_in_band), int(r.max_pcns_in_band)]
            for r in places_table.itertuples(index=False)
        }
        if "min_pcns_in_band" in places_table
        else {},
        "seconds": round(seconds, 1),
    }


#: Words of practice names that say nothing of where a practice is.
_GENERIC = frozenset(
    [
        "the",
        "surgery",
        "surgeries",
        "practice",
        "practices",
        "medical",
        "centre",
        "center",
        "health",
        "healthcare",
        "group",
        "partnership",
        "partners",
        "clinic",
        "doctors",
        "doctor",
        "dr",
        "drs",
        "and",
        "family",
        "gp",
        "care",
        "new",
        "pcn",
        "of",
        "at",
        "primary",
        "services",
        "service",
    ]
)


def hub_towns(info: pd.DataFrame, hubs: Sequence[str]) -> list[str | None]:
    """Each hub practice's locality or town, where it is no other PCN's of the place.

    The locality (``Bulwell``) when no other hub of the place is there, else the town
    (``Hucknall``) when no other hub is in it; a city's PCNs that share both are named after
    their hub practices (None).
    """
    chosen: list[str | None] = [None] * len(hubs)
    for column in ("town", "locality"):  # the locality, the finer, wins where it names one
        if column not in info.columns:
            continue
        names = [info.at[hub, column] for hub in hubs]
        keys = [_town_key(t) for t in names]
        for k, (name, key) in enumerate(zip(names, keys, strict=True)):
            if key and keys.count(key) == 1:
                chosen[k] = str(name)
    return chosen


def _town_key(town: object) -> str:
    if not isinstance(town, str):
        return ""
    return " ".join("".join(c if c.isalnum() else " " for c in town.lower()).split())


def proposed_name(hub_name: str, *, used: set[str], town: str | None = None) -> str:
    """A readable, stable name for a proposed PCN: its town's, else its hub practice's.

    With ``town`` (the hub practice's town, when no other PCN of the place has its hub there)
    the name is the town's (``Hucknall PCN``); otherwise the hub's name without generic words
    (``THE DENSHAM SURGERY`` gives ``Densham PCN``). Numbered when the place already has that
    name (``Densham PCN 2``); ``used`` collects the place's names so far.
    """
    import re

    if town and f"{town} PCN" not in used:
        used.add(f"{town} PCN")
        return f"{town} PCN"
    words = re.findall(r"[A-Za-z][A-Za-z'’]*(?:-[A-Za-z]+)*", hub_name)
    core = [w for w in words if w.lower() not in _GENERIC] or words[:2] or ["Unnamed"]
    base = " ".join(w.capitalize() if w.isupper() or w.islower() else w for w in core[:3])
    name, k = f"{base} PCN", 1
    while name in used:
        k += 1
        name = f"{base} PCN {k}"
    used.add(name)
    return name
