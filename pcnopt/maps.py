"""Engagement maps: interactive HTML (Folium/Leaflet) and static PNG of PCN configurations.

A map shows one or more *configurations* (the real PCNs, the proposed ones, each scenario) as
layers a reader switches between. Each PCN's area is the union of its practices' catchment
cells, filled so that neighbouring PCNs never share a colour (greedy colouring of the PCN
adjacency with a colour-blind-safe palette), or by size status. Place boundaries are drawn as
outlines and practices as circles whose area is proportional to the list size. Hovering shows a
PCN's name, population, practices and band status; clicking opens its member practices, the
funding figures when a funding table is given, and any exception note. A summary panel, a legend
and a search box for practice names or codes complete the page.

The HTML is one self-contained file: Leaflet is inlined (``pcnopt/_vendor/leaflet``), the data
are embedded as JSON, and nothing but optional base tiles is fetched, so ``tiles=False`` gives a
map that works with no internet. Every string that comes from an input file (names, codes,
notes, configuration names) reaches the page as data and is HTML-escaped before display.

Typical use::

    from pcnopt.maps import map_from_run, write_map
    write_map(map_from_run(result), "out/map.html")
"""

from __future__ import annotations

import html
import json
import math
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import folium
import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, Figure, MacroElement
from folium.map import Layer
from jinja2 import Template

from pcnopt._errors import InputError, OptionError, Problem

if TYPE_CHECKING:
    from pcnopt.funding import FundingResult
    from pcnopt.pipeline import RunResult

BNG = "EPSG:27700"
WGS84 = "EPSG:4326"

#: Fills for PCN areas: Paul Tol's "light" scheme, then his "muted" scheme (colour-blind safe).
PCN_PALETTE: tuple[str, ...] = (
    "#77AADD", "#EE8866", "#44BB99", "#EEDD88", "#FFAABB", "#99DDFF", "#BBCC33", "#AAAA00",
    "#DDDDDD", "#CC6677", "#332288", "#DDCC77", "#117733", "#88CCEE", "#882255", "#44AA99",
    "#999933", "#AA4499",
)
#: Fills by size status (Okabe–Ito colours, colour-blind safe).
STATUS_COLOURS: Mapping[str, str] = {
    "below band": "#E69F00",
    "in band": "#56B4E9",
    "above band": "#CC79A7",
    "no PCN": "#BBBBBB",
}
COLOUR_BY = ("pcn", "status")
#: Above this many practices, ``renderer="auto"`` draws practice markers on a canvas.
CANVAS_PRACTICES = 2_000

#: Funding columns shown first in a PCN's popup, with their labels; other ``*_gbp`` columns
#: follow, labelled from their names, and ``total_known_gbp`` comes last.
FUNDING_LABELS: Mapping[str, str] = {
    "arrs_sum_gbp": "ARRS sum",
    "core_funding_gbp": "Core PCN funding",
    "core_pcn_funding_gbp": "Core PCN funding",
    "clinical_director_gbp": "Clinical director",
    "planned_cost_gbp": "Cost of the suggested role mix",
    "unspent_gbp": "ARRS left unspent by the role mix",
    "total_known_gbp": "Total of the known lines",
}
ROLE_MIX_COLUMNS = ("role_mix", "role_mix_text", "suggested_role_mix")


@dataclass(frozen=True)
class MapConfiguration:
    """One PCN configuration, ready to draw.

    Attributes
    ----------
    name
        Shown in the layer control, the summary panel and the PNG title.
    assignments
        One row per practice: ``practice_code``, ``pcn_id`` (missing when in no PCN),
        ``distance_to_hub_m`` and ``is_hub``.
    pcns
        One row per PCN, EPSG:27700 areas: ``pcn_id``, ``pcn_label``, ``place_name``,
        ``list_size``, ``weighted_population``, ``population`` (the size-band basis),
        ``n_practices``, ``band_status`` ("below band", "in band", "above band"),
        ``exception``, ``hub_practice``, ``mean_distance_to_hub_m`` and ``geometry``.
    summary
        ``pcns``, ``practices``, ``share_pcns_in_band``, ``share_patients_in_band`` and
        ``mean_distance_to_hub_m`` (patient-weighted).
    funding
        Optional funding table (``pcn_id`` plus e.g. ``arrs_sum_gbp``, ``core_funding_gbp``,
        ``role_mix``), shown in the PCN popups.
    """

    name: str
    assignments: pd.DataFrame
    pcns: gpd.GeoDataFrame
    summary: Mapping[str, float | int | None]
    funding: pd.DataFrame | None = field(default=None)

    def __post_init__(self) -> None:
        if not str(self.name).strip():
            raise OptionError("a map configuration needs a name (shown in the layer control).")
        for column in ("practice_code", "pcn_id"):
            if column not in self.assignments:
                raise OptionError(f"the assignments of configuration {self.name!r} have no "
                                  f"'{column}' column.")
        if self.funding is not None:
            _check_funding(self.funding)


@dataclass(frozen=True)
class MapInputs:
    """Practices, places and configurations read from files for ``pcnopt map``."""

    practices: gpd.GeoDataFrame
    places: gpd.GeoDataFrame
    configurations: tuple[MapConfiguration, ...]


# --------------------------------------------------------------------------- configurations


def configuration_from_run(
    result: RunResult, *, name: str = "Proposed (pcnopt)", funding: Any = None
) -> MapConfiguration:
    """The configuration an ``optimise`` run produced.

    Parameters
    ----------
    result
        The run (:func:`pcnopt.pipeline.run_optimise`).
    name
        Layer name.
    funding
        Optional funding (see :func:`funding_table`).
    """
    basis = result.summary.get("settings", {}).get("population", "registered")
    population = "weighted_population" if basis == "weighted" else "list_size"
    pcns = result.pcns.copy()
    pcns["population"] = pcns[population] if population in pcns else pcns["list_size"]
    pcns["pcn_label"] = pcns["pcn_label"].fillna("").astype(str) if "pcn_label" in pcns else ""
    assignments = result.assignments[
        ["practice_code", "pcn_id", "distance_to_hub_m", "is_hub"]
    ].copy()
    summary = _summary(result.assignments, pcns, weights=result.assignments[population]
                       if population in result.assignments else result.assignments["list_size"])
    return MapConfiguration(name=name, assignments=assignments, pcns=_pcn_columns(pcns),
                            summary=summary, funding=funding_table(funding))


def configuration_from_assignments(
    assignments: pd.DataFrame,
    *,
    name: str,
    practices: gpd.GeoDataFrame,
    places: gpd.GeoDataFrame,
    catchments: gpd.GeoDataFrame,
    edges: pd.DataFrame,
    min_size: float = 30_000,
    max_size: float = 50_000,
    population: str = "list_size",
    funding: Any = None,
) -> MapConfiguration:
    """Any configuration (real, proposed, scenario) from a practice → PCN table.

    PCN areas are the union of the members' catchment cells; band status and exceptions come
    from the independent validator, hubs and distances from :func:`pcnopt.metrics.hub_distances`.

    Parameters
    ----------
    assignments
        ``practice_code`` and ``pcn_id`` (e.g. from
        :func:`pcnopt.io.assignments.assignments_from_file`).
    name
        Layer name.
    practices, places, catchments, edges
        From :func:`pcnopt.pipeline.load_inputs` and :mod:`pcnopt.geography`.
    min_size, max_size
        The size band.
    population
        Column of ``practices`` the band applies to.
    funding
        Optional funding (see :func:`funding_table`).
    """
    from pcnopt.metrics import hub_distances
    from pcnopt.validation import validate_configuration

    assigned = assignments[["practice_code", "pcn_id"]].copy()
    assigned["pcn_id"] = assigned["pcn_id"].astype("string").str.strip()
    blank = assigned["pcn_id"].isna() | assigned["pcn_id"].isin(["", "nan", "None", "<NA>"])
    assigned.loc[blank, "pcn_id"] = pd.NA
    assigned = assigned[assigned["practice_code"].isin(practices["practice_code"])]
    assigned = assigned.drop_duplicates("practice_code")
    known = assigned.dropna(subset=["pcn_id"]).astype({"pcn_id": str})
    report = validate_configuration(practices=practices, assignments=known, edges=edges,
                                    min_size=min_size, max_size=max_size, population=population)
    distances = hub_distances(practices, known, population=population)
    info = practices.set_index("practice_code")
    place_names = dict(zip(places["place_id"], places["place_name"], strict=False))

    per_practice = pd.DataFrame({"practice_code": practices["practice_code"]})
    per_practice = per_practice.merge(assigned, on="practice_code", how="left")
    per_practice = per_practice.merge(
        distances[["practice_code", "hub", "distance_m"]], on="practice_code", how="left")
    per_practice["is_hub"] = per_practice["practice_code"] == per_practice["hub"]
    per_practice = per_practice.rename(columns={"distance_m": "distance_to_hub_m"})

    cells = catchments[["practice_code", "geometry"]].merge(known, on="practice_code")
    areas = cells.dissolve(by="pcn_id", as_index=False)[["pcn_id", "geometry"]]
    checked = report.pcns.set_index("pcn_id")
    # per_practice is in the order of practices: positions index both
    population_of = practices[population].to_numpy(float)
    list_of = practices["list_size"].to_numpy(float)
    weighted_of = practices["weighted_population"].to_numpy(float)
    place_of = practices["place_id"].astype("string").to_numpy()
    code_of = per_practice["practice_code"].to_numpy()
    hub_of = per_practice["is_hub"].to_numpy(bool)
    distance_of = per_practice["distance_to_hub_m"].to_numpy(float)
    exception_of = dict(zip(checked.index, checked["exception"], strict=True))
    rows = []
    for pcn_id, at in per_practice.dropna(subset=["pcn_id"]).groupby(
            "pcn_id", sort=True).indices.items():
        weights = population_of[at]
        size = float(weights.sum())
        place_ids = sorted({str(p) for p in place_of[at] if not pd.isna(p)})
        hubs = code_of[at][hub_of[at]]
        rows.append({
            "pcn_id": str(pcn_id),
            "pcn_label": "",
            "place_name": "; ".join(str(place_names.get(p, p)) for p in place_ids),
            "list_size": int(list_of[at].sum()),
            "weighted_population": float(weighted_of[at].sum())
            if not np.isnan(weighted_of[at]).any() else None,
            "population": size,
            "n_practices": len(at),
            "band_status": _band_status(size, min_size, max_size),
            "exception": str(exception_of.get(pcn_id, "") or ""),
            "hub_practice": str(hubs[0]) if len(hubs) else "",
            "mean_distance_to_hub_m": float(weights @ np.nan_to_num(distance_of[at]) / size)
            if size > 0 else 0.0,
        })
    table = pd.DataFrame(rows, columns=[
        "pcn_id", "pcn_label", "place_name", "list_size", "weighted_population", "population",
        "n_practices", "band_status", "exception", "hub_practice", "mean_distance_to_hub_m"])
    pcns = gpd.GeoDataFrame(table.merge(areas, on="pcn_id", how="left"), geometry="geometry",
                            crs=catchments.crs)
    weights_all = per_practice["practice_code"].map(info[population])
    summary = _summary(per_practice, pcns, weights=weights_all)
    return MapConfiguration(
        name=name,
        assignments=per_practice[["practice_code", "pcn_id", "distance_to_hub_m", "is_hub"]],
        pcns=_pcn_columns(pcns), summary=summary, funding=funding_table(funding),
    )


def configurations_from_files(
    *,
    practices: Path,
    assignments: Sequence[tuple[str, Path]],
    places: Path | None = None,
    place_column: str | None = None,
    place_field: str | None = None,
    pcn_column: str | None = None,
    columns: Mapping[str, str] | None = None,
    min_size: float = 30_000,
    max_size: float = 50_000,
    population: str = "registered",
    snap_distance_m: float = 5_000.0,
    repair_geometries: bool = False,
) -> MapInputs:
    """Read practices, places and one or more configurations for ``pcnopt map``.

    Parameters
    ----------
    practices
        Practices table.
    assignments
        ``(layer name, file)`` pairs; the first is the main configuration. Each file is read with
        :func:`pcnopt.io.assignments.assignments_from_file`.
    places, place_column, place_field
        Where the places come from, as for ``optimise``.
    pcn_column
        PCN column of the first file (the others use ``pcn_id``, else ``current_pcn``).
    columns
        Explicit column mapping of the practices table.
    min_size, max_size, population, snap_distance_m, repair_geometries
        As for ``optimise``.
    """
    from pcnopt import geography
    from pcnopt.io.assignments import assignments_from_file
    from pcnopt.pipeline import POPULATIONS, RunConfig, load_inputs

    if not assignments:
        raise OptionError("give at least one configuration (--assignments FILE).")
    config = RunConfig(
        practices=Path(practices), places=places, place_column=place_column,
        place_field=place_field, columns=tuple((columns or {}).items()), min_size=min_size,
        max_size=max_size, population=population, snap_distance_m=snap_distance_m,
        repair_geometries=repair_geometries,
    )
    table, regions, _ = load_inputs(config)
    catchments, edges = geography.catchments_and_adjacency(table, regions)
    names = [name for name, _ in assignments]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise OptionError(f"two configurations are called {', '.join(map(repr, repeated))}; "
                          "name them apart with --compare 'NAME=FILE'.")
    configurations = []
    for k, (name, path) in enumerate(assignments):
        frame = assignments_from_file(path, pcn_column=pcn_column if k == 0 else None)
        _check_assignment_codes(frame, table, path)
        configurations.append(configuration_from_assignments(
            frame, name=name, practices=table, places=regions, catchments=catchments,
            edges=edges, min_size=min_size, max_size=max_size,
            population=POPULATIONS[population]))
    return MapInputs(practices=table, places=regions, configurations=tuple(configurations))


# --------------------------------------------------------------------------- colours


def pcn_colours(
    areas: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    palette: Sequence[str] = PCN_PALETTE,
    tolerance_m: float = 1.0,
) -> list[str]:
    """Colour PCN areas so that no two neighbours share a colour.

    Neighbours are areas within ``tolerance_m`` of each other (so PCNs touching across a place
    boundary count, and so do corners). The adjacency graph is coloured greedily with several
    orderings (DSATUR, largest first, smallest last) and the one using fewest colours is kept;
    for a map of PCNs that is four or five colours.

    Parameters
    ----------
    areas
        PCN areas in a projected CRS (metres), one row per PCN.
    palette
        Colours to use, in order of preference.
    tolerance_m
        Areas closer than this are neighbours.

    Returns
    -------
    list of str
        One colour per row of ``areas``.

    Raises
    ------
    OptionError
        When the palette has fewer colours than the colouring needs.
    """
    geometry = areas.geometry if isinstance(areas, gpd.GeoDataFrame) else areas
    graph = adjacency_of_areas(geometry, tolerance_m=tolerance_m)
    best = _dsatur(graph)
    for strategy in ("largest_first", "smallest_last"):
        colouring = nx.greedy_color(graph, strategy=strategy)
        if max(colouring.values(), default=-1) < max(best.values(), default=-1):
            best = colouring
    needed = max(best.values(), default=-1) + 1
    if needed > len(palette):
        raise OptionError(f"colouring the PCNs needs {needed} colours but the palette has "
                          f"{len(palette)}; give a longer palette or use colour_by='status'.")
    return [palette[best[k]] for k in range(len(geometry))]


def _dsatur(graph: nx.Graph) -> dict[int, int]:
    """Brélaz's DSATUR colouring (most-constrained node first), with a heap: O(E log V)."""
    import heapq

    colour: dict[int, int] = {}
    seen: dict[int, set[int]] = {n: set() for n in graph}
    heap = [(0, -graph.degree(n), n) for n in graph]
    heapq.heapify(heap)
    while heap:
        saturation, _, node = heapq.heappop(heap)
        if node in colour or -saturation != len(seen[node]):
            continue  # already coloured, or a stale entry
        used = seen[node]
        colour[node] = next(c for c in range(len(used) + 1) if c not in used)
        for other in graph[node]:
            if other not in colour and colour[node] not in seen[other]:
                seen[other].add(colour[node])
                heapq.heappush(heap, (-len(seen[other]), -graph.degree(other), other))
    return colour


def adjacency_of_areas(geometry: gpd.GeoSeries, *, tolerance_m: float = 1.0) -> nx.Graph:
    """Graph of areas (by row position) that lie within ``tolerance_m`` of each other."""
    graph = nx.Graph()
    graph.add_nodes_from(range(len(geometry)))
    values = np.asarray(geometry.values, dtype=object)
    present = ~shapely.is_missing(values) & ~shapely.is_empty(values)
    index = np.flatnonzero(present)
    if len(index) > 1:
        tree = shapely.STRtree(values[index])
        left, right = tree.query(values[index], predicate="dwithin", distance=tolerance_m)
        keep = left < right
        graph.add_edges_from(zip(index[left[keep]].tolist(), index[right[keep]].tolist(),
                                 strict=True))
    return graph


# --------------------------------------------------------------------------- HTML map


def map_from_run(
    result: RunResult,
    *,
    funding: pd.DataFrame | FundingResult | None = None,
    tiles: bool = True,
    colour_by: str = "pcn",
    compare: Sequence[MapConfiguration] = (),
    title: str = "Primary Care Networks",
) -> folium.Map:
    """The interactive map of an ``optimise`` run (written as ``map.html``).

    Parameters
    ----------
    result
        The run.
    funding
        Optional funding of the proposed PCNs: a :class:`pcnopt.funding.FundingResult` or a
        table by ``pcn_id`` (``arrs_sum_gbp``, ``core_funding_gbp``, ``role_mix`` …), see
        :func:`funding_table`; without it the popups say funding was not calculated.
    tiles
        Draw base-map tiles (fetched from the internet when viewed); ``False`` gives a map that
        works offline.
    colour_by
        "pcn" (neighbouring PCNs differ) or "status" (below / in / above the size band).
    compare
        More configurations drawn as alternative layers (e.g. the real PCNs).
    title
        Page title and summary heading.
    """
    proposed = configuration_from_run(result, funding=funding)
    return map_from_configurations(
        [proposed, *compare], practices=result.practices, places=result.places, tiles=tiles,
        colour_by=colour_by, title=title,
    )


def map_from_configurations(
    configurations: Sequence[MapConfiguration],
    *,
    practices: gpd.GeoDataFrame,
    places: gpd.GeoDataFrame | None = None,
    tiles: bool = True,
    colour_by: str = "pcn",
    title: str = "Primary Care Networks",
    simplify_m: float | None = None,
    renderer: str = "auto",
) -> folium.Map:
    """Draw configurations as switchable layers of one self-contained Folium map.

    Parameters
    ----------
    configurations
        The configurations; the first is shown on opening, the others are a click away in the
        layer control (only one is shown at a time).
    practices
        Practices (``practice_code``, ``name``, ``list_size``, point geometry in any CRS).
    places
        Place polygons (``place_id``, ``place_name``), drawn as outlines.
    tiles
        Draw base-map tiles; ``False`` for offline use.
    colour_by
        "pcn" or "status".
    title
        Page title and summary heading.
    simplify_m
        Display simplification of areas, metres; default grows with the map's extent
        (about 1/2,000 of its width: ~25 m for a place, ~250 m for England).
    renderer
        "svg" (every area and marker is an SVG element in the page), "canvas" (everything
        drawn on canvases), or "auto": SVG, except practice markers on a canvas when there are
        more than :data:`CANVAS_PRACTICES` of them (all of England draws twice as fast).
    """
    if colour_by not in COLOUR_BY:
        raise OptionError(f"colour_by must be one of {', '.join(COLOUR_BY)}, not {colour_by!r}.")
    if renderer not in ("auto", "svg", "canvas"):
        raise OptionError(f"renderer must be 'auto', 'svg' or 'canvas', not {renderer!r}.")
    if not configurations:
        raise OptionError("a map needs at least one configuration.")
    names = [c.name for c in configurations]
    if len(set(names)) < len(names):
        raise OptionError(f"configuration names must differ: {names}.")
    points = practices.to_crs(BNG) if practices.crs is not None else practices.set_crs(BNG)
    bounds_bng = _bounds(points, configurations, places)
    if simplify_m is None:
        simplify_m = max(5.0, round((bounds_bng[2] - bounds_bng[0]) / 2_000.0, -1))
    data = _page_data(configurations, points, places, colour_by=colour_by, title=title,
                      simplify_m=simplify_m)
    use_canvas = renderer == "canvas"
    data["practiceCanvas"] = use_canvas or (renderer == "auto" and len(points) > CANVAS_PRACTICES)

    lonlat = gpd.GeoSeries(shapely.box(*bounds_bng), crs=BNG).to_crs(WGS84).total_bounds
    fmap = folium.Map(location=[(lonlat[1] + lonlat[3]) / 2, (lonlat[0] + lonlat[2]) / 2],
                      zoom_start=9, tiles=None, prefer_canvas=use_canvas, control_scale=True)
    fmap.default_js = []
    fmap.default_css = []
    root = fmap.get_root()
    assert isinstance(root, Figure)
    root.title = html.escape(title)
    root.header.add_child(Element(_inline_assets()), name="pcnopt_assets")
    if tiles:
        folium.TileLayer("OpenStreetMap", name="OpenStreetMap").add_to(fmap)
    _BlankBase(name="No base map", show=not tiles).add_to(fmap)
    main = _PcnoptScript(data, bounds=[[lonlat[1], lonlat[0]], [lonlat[3], lonlat[2]]])
    main.add_to(fmap)
    for k, configuration in enumerate(configurations):
        _ConfigurationLayer(main, k, name=html.escape(configuration.name),
                            show=k == 0).add_to(fmap)
    if places is not None and len(places):
        _PlacesLayer(main, name="Place boundaries").add_to(fmap)
    folium.LayerControl(collapsed=False, position="topright").add_to(fmap)
    _Ready(main).add_to(fmap)
    return fmap


def write_map(fmap: folium.Map, path: str | Path) -> Path:
    """Write the map as one HTML file, atomically (a partial file never appears at ``path``)."""
    path = Path(path)
    if path.suffix.lower() not in {".html", ".htm"}:
        raise InputError(Problem(str(path), "a map is written as an HTML page.",
                                 "give a file name ending in .html."))
    _number_elements(fmap.get_root())
    text = fmap.get_root().render()
    _atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    return path


def _number_elements(root: Any) -> None:
    """Give every element of the page a fixed id in tree order (Folium draws random uuid4 ids),
    so the same map is written as the same bytes."""
    stack, k = [root], 0
    while stack:
        element = stack.pop()
        element._id = f"{k:032x}"
        k += 1
        stack.extend(reversed(list(element._children.values())))


# --------------------------------------------------------------------------- static PNG


def static_map_png(
    configuration: MapConfiguration,
    path: str | Path,
    *,
    practices: gpd.GeoDataFrame,
    places: gpd.GeoDataFrame | None = None,
    colour_by: str = "pcn",
    title: str | None = None,
    dpi: int = 150,
    size_in: tuple[float, float] = (10.0, 10.0),
) -> Path:
    """Draw one configuration as a PNG for reports and slides (matplotlib, no browser).

    Parameters
    ----------
    configuration
        What to draw.
    path
        PNG file to write (atomically).
    practices, places
        As for :func:`map_from_configurations`.
    colour_by
        "pcn" or "status".
    title
        Figure title; default the configuration's name.
    dpi, size_in
        Resolution and size in inches.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    if colour_by not in COLOUR_BY:
        raise OptionError(f"colour_by must be one of {', '.join(COLOUR_BY)}, not {colour_by!r}.")
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise InputError(Problem(str(path), "the static map is written as a PNG image.",
                                 "give a file name ending in .png."))
    pcns = configuration.pcns.to_crs(BNG)
    pcns = pcns[~pcns.geometry.is_empty & pcns.geometry.notna()]
    fills = (pcn_colours(pcns) if colour_by == "pcn"
             else [STATUS_COLOURS.get(s, "#BBBBBB") for s in pcns["band_status"]])
    figure = Figure(figsize=size_in, dpi=dpi)
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    pcns.plot(ax=ax, color=fills, edgecolor="white", linewidth=0.6)
    exceptions = pcns[pcns["exception"].fillna("") != ""]
    if len(exceptions):
        exceptions.boundary.plot(ax=ax, color="#222222", linewidth=1.0, linestyle="--")
    if places is not None and len(places):
        places.to_crs(BNG).boundary.plot(ax=ax, color="#222222", linewidth=1.2)
    points = practices.to_crs(BNG)
    sizes = points["list_size"].clip(lower=0).to_numpy(float)
    ax.scatter(points.geometry.x, points.geometry.y, s=2 + 60 * sizes / max(sizes.max(), 1.0),
               c="#333333", edgecolors="white", linewidths=0.4, zorder=3)
    ax.set_axis_off()
    ax.set_aspect("equal")
    s = configuration.summary
    heading = title or configuration.name
    ax.set_title(f"{heading}\n{summary_line(s)}", fontsize=11, parse_math=False)  # no mathtext
    handles: list[Any] = []
    if colour_by == "status":
        handles += [Patch(facecolor=c, edgecolor="white", label=k)
                    for k, c in STATUS_COLOURS.items() if k != "no PCN"]
    if len(exceptions):
        handles.append(Line2D([], [], color="#222222", linestyle="--", label="named exception"))
    handles.append(Line2D([], [], marker="o", linestyle="", color="#333333",
                          label="practice (area ∝ list size)"))
    ax.legend(handles=handles, loc="lower left", fontsize=8, frameon=True)
    figure.tight_layout()
    _atomic_write(path, lambda tmp: figure.savefig(tmp, format="png", dpi=dpi))
    return path


# --------------------------------------------------------------------------- internals


def _check_funding(funding: pd.DataFrame) -> None:
    if "pcn_id" not in funding.columns:
        raise InputError(Problem(
            "funding table", "has no 'pcn_id' column, so its figures cannot be matched to PCNs.",
            f"give one row per PCN with 'pcn_id'; the table's columns are: "
            f"{', '.join(map(str, funding.columns))}.", column="pcn_id"))
    repeated = funding["pcn_id"][funding["pcn_id"].duplicated()]
    if len(repeated):
        raise InputError(Problem(
            "funding table", f"PCNs appear more than once: {', '.join(map(str, repeated[:10]))}.",
            "give one row per PCN.", rows=tuple(int(i) + 2 for i in repeated.index[:50]),
            column="pcn_id"))


def _check_assignment_codes(frame: pd.DataFrame, practices: pd.DataFrame, path: Path) -> None:
    unknown = ~frame["practice_code"].isin(practices["practice_code"])
    if unknown.any():
        codes = frame.loc[unknown, "practice_code"]
        raise InputError(Problem(
            str(path),
            f"{int(unknown.sum())} practice(s) are not in the practices table "
            f"(e.g. {', '.join(codes[:5])}).",
            "use the practices file the configuration was made from, or remove those rows.",
            rows=tuple(int(i) + 2 for i in codes.index[:50]), column="practice_code"))


def _band_status(size: float, min_size: float, max_size: float) -> str:
    if size < min_size:
        return "below band"
    return "above band" if size > max_size else "in band"


def _pcn_columns(pcns: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    columns = ["pcn_id", "pcn_label", "place_name", "list_size", "weighted_population",
               "population", "n_practices", "band_status", "exception", "hub_practice",
               "mean_distance_to_hub_m"]
    out = pcns.copy()
    for column in columns:
        if column not in out:
            out[column] = None
    out["exception"] = out["exception"].fillna("").astype(str)
    out["pcn_label"] = out["pcn_label"].fillna("").astype(str)
    out["pcn_id"] = out["pcn_id"].astype(str)
    return gpd.GeoDataFrame(out[[*columns, "geometry"]], geometry="geometry", crs=pcns.crs)


def _summary(assignments: pd.DataFrame, pcns: pd.DataFrame, *, weights: pd.Series
             ) -> dict[str, float | int | None]:
    distance = pd.to_numeric(assignments["distance_to_hub_m"], errors="coerce").to_numpy(float)
    w = pd.to_numeric(weights, errors="coerce").fillna(0).to_numpy(float)
    known = ~np.isnan(distance)
    population = pd.to_numeric(pcns["population"], errors="coerce").fillna(0)
    in_band = pcns["band_status"] == "in band"
    total = float(population.sum())
    return {
        "pcns": len(pcns),
        "practices": len(assignments),
        "share_pcns_in_band": round(float(in_band.mean()), 4) if len(pcns) else None,
        "share_patients_in_band": round(float(population[in_band].sum()) / total, 4)
        if total else None,
        "named_exceptions": int((pcns["exception"].fillna("") != "").sum()),
        "mean_distance_to_hub_m": round(float(w[known] @ distance[known] / w[known].sum()), 1)
        if w[known].sum() > 0 else None,
    }


def summary_line(s: Mapping[str, Any]) -> str:
    """One line of a configuration's headline figures (PCNs, share in band, mean distance)."""
    parts = [f"{s.get('pcns', 0):,} PCNs"]
    if s.get("share_pcns_in_band") is not None:
        parts.append(f"{100 * float(s['share_pcns_in_band']):.0f}% within the size band")
    if s.get("mean_distance_to_hub_m") is not None:
        parts.append(f"mean distance to hub {float(s['mean_distance_to_hub_m']) / 1000:.1f} km")
    return ", ".join(parts)


def _bounds(points: gpd.GeoDataFrame, configurations: Sequence[MapConfiguration],
            places: gpd.GeoDataFrame | None) -> tuple[float, float, float, float]:
    boxes = [points.total_bounds]
    boxes += [c.pcns.to_crs(BNG).total_bounds for c in configurations if len(c.pcns)]
    if places is not None and len(places):
        boxes.append(places.to_crs(BNG).total_bounds)
    stacked = np.array([b for b in boxes if np.all(np.isfinite(b))])
    x0, y0 = stacked[:, 0].min(), stacked[:, 1].min()
    x1, y1 = stacked[:, 2].max(), stacked[:, 3].max()
    pad = max(x1 - x0, y1 - y0, 1_000.0) * 0.02
    return (x0 - pad, y0 - pad, x1 + pad, y1 + pad)


def _simplified(geometry: gpd.GeoSeries, tolerance_m: float) -> gpd.GeoSeries:
    """Simplify areas for display, keeping shared borders shared where they form a coverage."""
    geometry = geometry.to_crs(BNG)
    values = np.asarray(geometry.values, dtype=object)
    ok = ~shapely.is_missing(values) & ~shapely.is_empty(values)
    out = values.copy()
    if ok.any() and tolerance_m > 0:
        polygonal = shapely.make_valid(values[ok])
        try:
            simple = shapely.coverage_simplify(polygonal, tolerance_m, simplify_boundary=True)
            if not shapely.is_valid(simple).all() or shapely.is_empty(simple).any():
                raise ValueError("coverage simplification gave invalid parts")
        except Exception:  # not a clean coverage (e.g. overlapping hull places)
            simple = shapely.simplify(polygonal, tolerance_m, preserve_topology=True)
        out[ok] = simple
    return gpd.GeoSeries(out, crs=BNG).to_crs(WGS84)


def _rounded(geometry: Any, digits: int = 5) -> Any:
    return shapely.set_precision(geometry, 10 ** -digits) if geometry is not None else None


def _features(geometry: gpd.GeoSeries, properties: list[dict[str, Any]]) -> dict[str, Any]:
    features = []
    for geom, props in zip(geometry.values, properties, strict=True):
        if geom is None or geom.is_empty:
            continue
        features.append({"type": "Feature", "properties": props,
                         "geometry": shapely.geometry.mapping(_rounded(geom))})
    return {"type": "FeatureCollection", "features": features}


def _clean(value: Any) -> Any:
    """Plain JSON values: NaN/NA to None, numpy scalars to Python."""
    if value is None:
        return None
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer, int)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return None if not math.isfinite(float(value)) else float(value)
    if value is pd.NA or value is pd.NaT:
        return None
    return str(value)


def _money(value: Any) -> str | None:
    value = _clean(value)
    if value is None:
        return None
    try:
        return f"£{float(value):,.0f}"
    except ValueError:
        return str(value)


def funding_table(funding: Any) -> pd.DataFrame | None:
    """One row per PCN of funding figures to show on a map.

    Parameters
    ----------
    funding
        ``None``; a table with ``pcn_id`` and money columns (``arrs_sum_gbp``,
        ``core_funding_gbp`` … and optionally a ``role_mix`` text); or a
        :class:`pcnopt.funding.FundingResult`, whose role mix becomes text such as
        "2 WTE clinical pharmacist; 1.5 WTE social prescribing link worker".
    """
    if funding is None:
        return None
    if isinstance(funding, pd.DataFrame):
        return funding
    pcns = getattr(funding, "pcns", None)
    mix = getattr(funding, "role_mix", None)
    if not isinstance(pcns, pd.DataFrame):
        raise OptionError("funding must be a table with 'pcn_id' or a pcnopt.funding result.")
    table = pcns.copy()
    if isinstance(mix, pd.DataFrame) and {"pcn_id", "role", "wte"} <= set(mix.columns):
        planned = mix[pd.to_numeric(mix["wte"], errors="coerce").fillna(0) > 0]
        text: dict[str, list[str]] = {}
        for pcn_id, role, wte in planned[["pcn_id", "role", "wte"]].itertuples(index=False):
            text.setdefault(str(pcn_id), []).append(
                f"{float(wte):g} WTE {str(role).replace('_', ' ')}")
        table["role_mix"] = [
            "; ".join(text[str(p)]) if str(p) in text else "none planned" for p in table["pcn_id"]
        ]
    return table


def _funding_rows(funding: pd.DataFrame | None) -> dict[str, list[list[str | None]]]:
    """pcn_id → [[label, text], …] ready to show (escaped later, in the page)."""
    if funding is None:
        return {}
    first = [c for c in FUNDING_LABELS if c in funding and c != "total_known_gbp"]
    others = [c for c in funding.columns if str(c).endswith("_gbp") and c not in FUNDING_LABELS]
    last = ["total_known_gbp"] if "total_known_gbp" in funding else []
    mix = next((c for c in ROLE_MIX_COLUMNS if c in funding), None)
    rows: dict[str, list[list[str | None]]] = {}
    for record in funding.to_dict(orient="records"):
        lines: list[list[str | None]] = []
        for column in [*first, *others, *last]:
            label = FUNDING_LABELS.get(column) or str(column)[:-4].replace("_", " ").capitalize()
            lines.append([label, _money(record.get(column))])
        if mix is not None:
            lines.insert(1, ["Suggested role mix", _clean(record.get(mix))])
        if "planned_wte" in funding:
            lines.insert(2 if mix else 1, ["Role mix WTE", _clean(record.get("planned_wte"))])
        if _clean(record.get("estimate")):
            lines.append(["Note", "estimate: registered list used for a weighted figure"])
        if _clean(record.get("missing_lines")):
            lines.append(["Not in the rates file", _clean(record.get("missing_lines"))])
        rows[str(record["pcn_id"])] = lines
    return rows


def _page_data(configurations: Sequence[MapConfiguration], points: gpd.GeoDataFrame,
               places: gpd.GeoDataFrame | None, *, colour_by: str, title: str,
               simplify_m: float) -> dict[str, Any]:
    lonlat = points.geometry.to_crs(WGS84)
    codes = points["practice_code"].astype(str).tolist()
    index = {c: i for i, c in enumerate(codes)}
    names = points["name"].fillna(points["practice_code"]) if "name" in points else points[
        "practice_code"]
    page: dict[str, Any] = {
        "title": title,
        "colourBy": colour_by,
        "statusColours": dict(STATUS_COLOURS),
        "practices": {
            "code": codes,
            "name": [str(n) for n in names],
            "list": [_clean(v) for v in points["list_size"]],
            "lat": [round(float(v), 5) for v in lonlat.y],
            "lon": [round(float(v), 5) for v in lonlat.x],
        },
        "configs": [],
        "places": None,
    }
    sizes = pd.to_numeric(points["list_size"], errors="coerce").fillna(0)
    page["practices"]["radius"] = [round(float(r), 1) for r in
                                   np.clip(np.sqrt(sizes.to_numpy(float)) / 25.0, 3.0, 16.0)]
    for configuration in configurations:
        pcns = configuration.pcns.reset_index(drop=True)
        pcn_index = {p: k for k, p in enumerate(pcns["pcn_id"])}
        fills = (pcn_colours(pcns.to_crs(BNG)) if colour_by == "pcn"
                 else [STATUS_COLOURS.get(s, "#BBBBBB") for s in pcns["band_status"]])
        funding = _funding_rows(configuration.funding)
        table = [
            {
                "id": _clean(r.pcn_id), "label": _clean(r.pcn_label) or None,
                "place": _clean(r.place_name), "list": _clean(r.list_size),
                "wpop": _clean(r.weighted_population), "pop": _clean(r.population),
                "n": _clean(r.n_practices), "status": _clean(r.band_status),
                "exc": _clean(r.exception) or None,
                "hub": index.get(str(r.hub_practice), -1),
                "md": _clean(r.mean_distance_to_hub_m), "fill": fills[k],
                "fund": funding.get(str(r.pcn_id)) if configuration.funding is not None else None,
            }
            for k, r in enumerate(pcns.itertuples(index=False))
        ]
        assigned = configuration.assignments.drop_duplicates("practice_code").set_index(
            "practice_code")
        pcn_of = [pcn_index.get(str(p), -1) if pd.notna(p) else -1 for p in
                  assigned["pcn_id"].reindex(codes)]
        distance = pd.to_numeric(assigned["distance_to_hub_m"].reindex(codes), errors="coerce")
        geometry = _simplified(pcns.geometry, simplify_m)
        page["configs"].append({
            "name": configuration.name,
            "summary": {k: _clean(v) for k, v in configuration.summary.items()},
            "hasFunding": configuration.funding is not None,
            "pcns": table,
            "pcnOf": pcn_of,
            "dist": [None if pd.isna(d) else round(float(d)) for d in distance],
            "areas": _features(geometry, [{"i": k} for k in range(len(pcns))]),
        })
    if places is not None and len(places):
        place_names = places["place_name"] if "place_name" in places else places["place_id"]
        page["places"] = _features(
            _simplified(places.geometry, simplify_m),
            [{"name": _clean(n)} for n in place_names])
    return page


def _script_json(value: Any) -> str:
    """JSON that is safe inside an HTML <script> element (no tag can be closed from data)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for raw, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                         ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(raw, escaped)
    return text


def _inline_assets() -> str:
    folder = resources.files("pcnopt") / "_vendor" / "leaflet"
    css = (folder / "leaflet.css").read_text(encoding="utf-8")
    js = (folder / "leaflet.js").read_text(encoding="utf-8")
    return (f"<style>{css}</style>\n<style>{_CSS}</style>\n"
            f"<script>{js}</script>\n")


def _atomic_write(path: Path, write: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


class _PcnoptScript(MacroElement):
    """Embeds the page data and the code drawing layers, popups, legend, summary and search."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = pcnoptMap({{ this._parent.get_name() }},
            {{ this.data_json }}, {{ this.bounds_json }});
        {% endmacro %}
    """)

    def __init__(self, data: Mapping[str, Any], *, bounds: list[list[float]]) -> None:
        super().__init__()
        self._name = "pcnopt"
        self.data_json = _script_json(data)
        self.bounds_json = _script_json(bounds)

    def render(self, **kwargs: Any) -> Any:
        root = self.get_root()
        assert isinstance(root, Figure)
        root.header.add_child(Element(f"<script>{_JS}</script>"), name="pcnopt_code")
        return super().render(**kwargs)


class _ConfigurationLayer(Layer):
    """One configuration's PCN areas and practice markers (an overlay in the layer control)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = {{ this.main.get_name() }}.configLayer({{ this.k }});
        {% endmacro %}
    """)

    def __init__(self, main: _PcnoptScript, k: int, *, name: str, show: bool) -> None:
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "pcnopt_configuration"
        self.main = main
        self.k = k


class _PlacesLayer(Layer):
    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = {{ this.main.get_name() }}.placesLayer();
        {% endmacro %}
    """)

    def __init__(self, main: _PcnoptScript, *, name: str) -> None:
        super().__init__(name=name, overlay=True, control=True, show=True)
        self._name = "pcnopt_places"
        self.main = main


class _BlankBase(Layer):
    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.layerGroup();
        {% endmacro %}
    """)

    def __init__(self, *, name: str, show: bool) -> None:
        super().__init__(name=name, overlay=False, control=True, show=show)
        self._name = "pcnopt_blank"


class _Ready(MacroElement):
    _template = Template("""
        {% macro script(this, kwargs) %}
        {{ this.main.get_name() }}.ready();
        {% endmacro %}
    """)

    def __init__(self, main: _PcnoptScript) -> None:
        super().__init__()
        self._name = "pcnopt_ready"
        self.main = main


_CSS = """
.leaflet-container { background: #f3f3f0; font-family: system-ui, -apple-system, "Segoe UI",
  Roboto, Arial, sans-serif; }
.pcnopt-panel { background: rgba(255,255,255,0.95); padding: 8px 10px; border-radius: 6px;
  box-shadow: 0 1px 4px rgba(0,0,0,0.3); font-size: 13px; line-height: 1.35;
  max-width: min(460px, 45vw); overflow-wrap: break-word; }
.pcnopt-summary summary { cursor: pointer; margin-bottom: 4px; }
.pcnopt-panel h3 { margin: 0 0 4px; font-size: 14px; }
.pcnopt-panel table { border-collapse: collapse; }
.pcnopt-panel td, .pcnopt-panel th { padding: 1px 6px 1px 0; text-align: left;
  vertical-align: top; }
.pcnopt-summary td.active, .pcnopt-summary th.active { font-weight: bold; }
.pcnopt-swatch { display: inline-block; width: 14px; height: 14px; margin-right: 6px;
  vertical-align: -2px; border: 1px solid #666; }
.pcnopt-dot { display: inline-block; border-radius: 50%; background: #333; border: 1px solid
  #fff; margin-right: 6px; vertical-align: middle; }
.pcnopt-search input { width: 230px; padding: 4px 6px; font-size: 13px; border: 1px solid #888;
  border-radius: 4px; }
.pcnopt-search ul { list-style: none; margin: 4px 0 0; padding: 0; max-height: 240px;
  overflow-y: auto; }
.pcnopt-search li { padding: 3px 4px; cursor: pointer; border-bottom: 1px solid #eee; }
.pcnopt-search li:hover, .pcnopt-search li:focus { background: #e8f0fb; outline: none; }
.pcnopt-popup h4 { margin: 0 0 4px; font-size: 14px; }
.pcnopt-popup table { border-collapse: collapse; font-size: 12px; }
.pcnopt-popup th { text-align: left; padding: 1px 8px 1px 0; font-weight: 600;
  vertical-align: top; }
.pcnopt-popup td { padding: 1px 6px 1px 0; vertical-align: top; }
.pcnopt-popup table.members td, .pcnopt-popup table.members th { border-bottom: 1px solid #eee; }
.pcnopt-popup .note { color: #8a4b00; }
.pcnopt-popup .muted { color: #666; }
"""

_JS = r"""
function pcnoptMap(map, D, bounds) {
  "use strict";
  var P = D.practices, configs = D.configs, built = {}, groups = [], active = 0;
  var markerOf = {}, counts = {};
  function esc(v) {
    return String(v === null || v === undefined ? "" : v).replace(/[&<>"'`=\/]/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;",
              "`": "&#96;", "=": "&#61;", "/": "&#47;"}[c];
    });
  }
  function num(v) {
    return (v === null || v === undefined) ? "–"
      : Number(v).toLocaleString("en-GB", {maximumFractionDigits: 0});
  }
  function km(m) {
    return (m === null || m === undefined) ? "–"
      : (m / 1000).toLocaleString("en-GB", {maximumFractionDigits: 1}) + " km";
  }
  function pct(v) { return (v === null || v === undefined) ? "–" : Math.round(100 * v) + "%"; }
  function row(label, value) {
    return "<tr><th>" + esc(label) + "</th><td>" + esc(value) + "</td></tr>";
  }
  function pcnName(p) { return p.label ? p.label + " (" + p.id + ")" : p.id; }

  ["pcnoptAreas", "pcnoptPlaces", "pcnoptPractices"].forEach(function (name, k) {
    map.createPane(name).style.zIndex = 400 + 10 * k;
  });
  // practices shrink when zoomed out below level 10, so a region's PCNs stay visible
  function scale() { return Math.min(1, Math.max(0.2, Math.pow(2, (map.getZoom() - 10) / 2))); }
  function rescale() {
    var f = scale(), markers = markerOf[active] || {};
    Object.keys(markers).forEach(function (j) {
      markers[j].setRadius(Math.max(1, P.radius[j] * f));
    });
  }
  map.on("zoomend", rescale);
  var practiceRenderer = D.practiceCanvas
    ? L.canvas({pane: "pcnoptPractices", tolerance: 2}) : undefined;

  function members(c, i) {
    var out = [];
    for (var j = 0; j < c.pcnOf.length; j++) if (c.pcnOf[j] === i) out.push(j);
    out.sort(function (a, b) { return (P.list[b] || 0) - (P.list[a] || 0); });
    return out;
  }
  function pcnTooltip(c, i) {
    var p = c.pcns[i];
    return "<b>" + esc(pcnName(p)) + "</b><br>" + esc(num(p.pop)) + " patients (band basis)"
      + "<br>" + esc(p.n) + " practices · " + esc(p.status)
      + (p.exc ? "<br><i>" + esc(p.exc) + "</i>" : "");
  }
  function pcnPopup(c, i) {
    var p = c.pcns[i];
    var h = "<div class='pcnopt-popup'><h4>" + esc(pcnName(p)) + "</h4><table>";
    h += row("Configuration", c.name) + row("Place", p.place);
    h += row("Registered patients", num(p.list));
    if (p.wpop !== null) h += row("Weighted population", num(p.wpop));
    h += row("Size band", p.status) + row("Practices", p.n);
    if (p.hub >= 0) h += row("Hub practice", P.name[p.hub] + " (" + P.code[p.hub] + ")");
    h += row("Mean distance to hub", km(p.md));
    if (p.fund) {
      p.fund.forEach(function (f) { h += row(f[0], f[1] === null ? "not given" : f[1]); });
    }
    else if (c.hasFunding) h += row("Funding", "not in the funding table");
    else h += "<tr><th>Funding</th><td class='muted'>not calculated for this map</td></tr>";
    h += "</table>";
    if (p.exc) h += "<p class='note'>Exception: " + esc(p.exc) + "</p>";
    h += "<table class='members'><tr><th>Practice</th><th>Code</th><th>List size</th></tr>";
    members(c, i).forEach(function (j) {
      h += "<tr><td>" + esc(P.name[j]) + "</td><td>" + esc(P.code[j]) + "</td><td>"
        + esc(num(P.list[j])) + "</td></tr>";
    });
    return h + "</table></div>";
  }
  function practicePopup(c, j) {
    var i = c.pcnOf[j];
    var h = "<div class='pcnopt-popup'><h4>" + esc(P.name[j]) + "</h4><table>";
    h += row("Code", P.code[j]) + row("List size", num(P.list[j]));
    if (i >= 0) {
      var p = c.pcns[i];
      h += row("PCN", pcnName(p)) + row("Place", p.place);
      h += row("Distance to PCN hub", p.hub === j ? "this is the hub" : km(c.dist[j]));
    } else h += row("PCN", "in no PCN");
    return h + row("Configuration", c.name) + "</table></div>";
  }
  function build(k, group) {
    var c = configs[k];
    var areas = L.geoJSON(c.areas, {
      pane: "pcnoptAreas", className: "pcn-area",
      style: function (f) {
        var p = c.pcns[f.properties.i];
        return {fillColor: p.fill, fillOpacity: 0.7, color: p.exc ? "#222" : "#fff",
                weight: p.exc ? 2 : 1.2, dashArray: p.exc ? "6 4" : null};
      },
      onEachFeature: function (f, layer) {
        var i = f.properties.i;
        layer.bindTooltip(function () { return pcnTooltip(c, i); }, {sticky: true});
        layer.bindPopup(function () { return pcnPopup(c, i); }, {maxWidth: 380, maxHeight: 360});
        layer.on("mouseover", function () { layer.setStyle({weight: 3, color: "#000"}); });
        layer.on("mouseout", function () { areas.resetStyle(layer); });
      }
    });
    group.addLayer(areas);
    var markers = {};
    for (var j = 0; j < P.code.length; j++) {
      var i = c.pcnOf[j], hub = i >= 0 && c.pcns[i].hub === j;
      var m = L.circleMarker([P.lat[j], P.lon[j]], {
        pane: "pcnoptPractices", renderer: practiceRenderer,
        radius: Math.max(1, P.radius[j] * scale()),
        color: "#fff", weight: 1,
        fillColor: i < 0 ? "#999" : (hub ? "#000" : "#555"), fillOpacity: 0.85,
        className: "practice-marker"
      });
      (function (jj, mm) {
        mm.bindTooltip(function () { return esc(P.name[jj]) + " (" + esc(P.code[jj]) + ")"; });
        mm.bindPopup(function () { return practicePopup(c, jj); }, {maxWidth: 340});
      })(j, m);
      markers[j] = m;
      group.addLayer(m);
    }
    markerOf[k] = markers;
    counts[k] = {areas: areas.getLayers().length, practices: Object.keys(markers).length};
  }
  function configLayer(k) {
    var group = L.featureGroup();
    group._pcnoptConfig = k;
    group.on("add", function () {
      if (!built[k]) { build(k, group); built[k] = true; }
      active = k;
      rescale();
      // one configuration at a time; after the layer control has finished handling its click
      setTimeout(function () {
        groups.forEach(function (g, other) {
          if (other !== active && map.hasLayer(g)) map.removeLayer(g);
        });
      }, 0);
      updateSummary();
    });
    groups[k] = group;
    return group;
  }
  function placesLayer() {
    return L.geoJSON(D.places, {
      pane: "pcnoptPlaces", className: "place-outline",
      style: function () { return {fill: false, color: "#222", weight: 2.2, opacity: 0.9}; },
      onEachFeature: function (f, layer) {
        layer.bindTooltip(function () { return "Place: " + esc(f.properties.name); },
                          {sticky: true});
      }
    });
  }

  var summaryBox;
  function updateSummary() {
    if (!summaryBox) return;
    var open = summaryBox.firstChild ? summaryBox.firstChild.open : true;
    var h = "<details" + (open ? " open" : "") + "><summary><b>" + esc(D.title)
      + "</b></summary><table><tr><th></th>";
    function cls(k) { return "<th class='" + (k === active ? "active" : "") + "'>"; }
    configs.forEach(function (c, k) { h += cls(k) + esc(c.name) + "</th>"; });
    h += "</tr>";
    [["PCNs", function (s) { return num(s.pcns); }],
     ["Practices", function (s) { return num(s.practices); }],
     ["PCNs in size band", function (s) { return pct(s.share_pcns_in_band); }],
     ["Patients in band", function (s) { return pct(s.share_patients_in_band); }],
     ["Named exceptions", function (s) { return num(s.named_exceptions); }],
     ["Mean distance to hub", function (s) { return km(s.mean_distance_to_hub_m); }]
    ].forEach(function (r) {
      h += "<tr><th>" + esc(r[0]) + "</th>";
      configs.forEach(function (c, k) {
        h += "<td class='" + (k === active ? "active" : "") + "'>" + esc(r[1](c.summary)) + "</td>";
      });
      h += "</tr>";
    });
    summaryBox.innerHTML = h + "</table></details>";
  }
  var Summary = L.Control.extend({
    options: {position: "bottomleft"},
    onAdd: function () {
      summaryBox = L.DomUtil.create("div", "pcnopt-panel pcnopt-summary");
      L.DomEvent.disableClickPropagation(summaryBox);
      updateSummary();
      return summaryBox;
    }
  });
  var Legend = L.Control.extend({
    options: {position: "bottomright"},
    onAdd: function () {
      var div = L.DomUtil.create("div", "pcnopt-panel pcnopt-legend");
      var h = "<h3>Legend</h3>";
      if (D.colourBy === "status") {
        Object.keys(D.statusColours).forEach(function (k) {
          if (k === "no PCN") return;
          h += "<div><span class='pcnopt-swatch' style='background:" + esc(D.statusColours[k])
            + "'></span>" + esc(k) + "</div>";
        });
      } else {
        h += "<div>Each colour is one PCN;<br>neighbouring PCNs never share a colour.</div>";
      }
      h += "<div><span class='pcnopt-swatch' style='background:#fff;border:2px dashed #222'>"
        + "</span>named exception</div>";
      h += "<div><span class='pcnopt-swatch' style='background:none;border:2px solid #222'>"
        + "</span>place boundary</div>";
      h += "<div>Practices (shrink when zoomed out):</div>";
      [[5000, "5,000"], [20000, "20,000"]].forEach(function (s) {
        var r = Math.max(3, Math.min(16, Math.sqrt(s[0]) / 25));
        h += "<div><span class='pcnopt-dot' style='width:" + 2 * r + "px;height:" + 2 * r
          + "px'></span>practice, " + s[1] + " patients</div>";
      });
      h += "<div><span class='pcnopt-dot' style='width:10px;height:10px;background:#000'>"
        + "</span>PCN hub practice</div>";
      div.innerHTML = h;
      return div;
    }
  });
  var Search = L.Control.extend({
    options: {position: "topleft"},
    onAdd: function () {
      var div = L.DomUtil.create("div", "pcnopt-panel pcnopt-search");
      var input = L.DomUtil.create("input", "", div);
      input.type = "search";
      input.placeholder = "Find a practice (name or code)";
      input.setAttribute("aria-label", "Find a practice by name or code");
      var list = L.DomUtil.create("ul", "", div);
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.disableScrollPropagation(div);
      var lower = P.name.map(function (n, j) { return (n + " " + P.code[j]).toLowerCase(); });
      function show() {
        var q = input.value.trim().toLowerCase();
        list.textContent = "";
        if (q.length < 2) return;
        var n = 0;
        for (var j = 0; j < lower.length && n < 12; j++) {
          if (lower[j].indexOf(q) < 0) continue;
          var li = L.DomUtil.create("li", "", list);
          li.tabIndex = 0;
          li.textContent = P.name[j] + " (" + P.code[j] + ")";
          li.setAttribute("data-index", String(j));
          li.addEventListener("click", function () {
            go(Number(this.getAttribute("data-index")));
          });
          li.addEventListener("keydown", function (e) {
            if (e.key === "Enter") go(Number(this.getAttribute("data-index")));
          });
          n++;
        }
        if (!n) L.DomUtil.create("li", "", list).textContent = "no practice found";
      }
      input.addEventListener("input", show);
      input.addEventListener("keydown", function (e) {
        if (e.key === "Enter" && list.firstChild && list.firstChild.hasAttribute("data-index")) {
          go(Number(list.firstChild.getAttribute("data-index")));
        }
      });
      return div;
    }
  });
  function go(j) {
    if (!map.hasLayer(groups[active])) map.addLayer(groups[active]);
    var m = markerOf[active][j];
    map.setView(m.getLatLng(), Math.max(map.getZoom(), 13));
    m.openPopup();
  }
  map.fitBounds(bounds);
  new Search().addTo(map);
  new Summary().addTo(map);
  new Legend().addTo(map);
  return {
    configLayer: configLayer,
    placesLayer: placesLayer,
    go: go,
    drawn: function () { return counts[active]; },
    ready: function () {
      requestAnimationFrame(function () {
        requestAnimationFrame(function () {
          window.pcnoptDrawn = counts[active];
          window.pcnoptReady = performance.now();
          document.body.setAttribute("data-pcnopt-ready", "1");
        });
      });
    }
  };
}
"""
