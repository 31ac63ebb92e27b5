"""Projection, places, catchment cells and the adjacency graph.

All distances are metres on British National Grid (EPSG:27700). Each practice gets a
*catchment cell*: the Voronoi cell of its site clipped to its place. Two practices are
neighbours when their cells share a border of positive length (more than
:data:`MIN_SHARED_BORDER_M`); practices at the same site are neighbours of each other. This
adjacency graph, with shared-border lengths on its edges, is what "contiguous" means everywhere
in pcnopt.

A place made of several polygons (islands, exclaves) is split into its parts first: each part
gets the Voronoi cells of the practices in it, so no practice is ever a neighbour of one across
the water. A part with no practice joins the cell of the nearest practice of the place.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import MultiPoint, Point

from pcnopt.errors import InputError, Problem
from pcnopt.io.practices import BNG

#: Shared borders shorter than this (metres) are treated as touching at a point.
MIN_SHARED_BORDER_M = 1.0
#: Practices whose sites are closer than this (metres) are at the same site.
SAME_SITE_M = 1.0


@dataclass(frozen=True)
class PlaceAssignment:
    """Practices with their place, and what had to be done to place them.

    Attributes
    ----------
    practices
        The input practices plus ``place_id``, ``place_method`` ("within", "snapped" or
        "field") and ``snap_m`` (distance moved to the nearest place, metres).
    snapped
        Rows of ``practices`` that lay just outside every place and were snapped.
    """

    practices: gpd.GeoDataFrame
    snapped: pd.DataFrame


def assign_places(
    practices: gpd.GeoDataFrame,
    places: gpd.GeoDataFrame,
    *,
    snap_distance_m: float = 5_000.0,
    practices_file: str = "practices",
) -> PlaceAssignment:
    """Place every practice in a place polygon (point in polygon, else snapped).

    Generalised coastlines leave some coastal practices just outside every polygon; those
    within ``snap_distance_m`` of a place are given the nearest place and reported.

    Parameters
    ----------
    practices
        Practices in EPSG:27700 (from :func:`pcnopt.io.practices.practices_from_file`).
    places
        Places in EPSG:27700 (from :func:`pcnopt.io.places.places_from_file`).
    snap_distance_m
        Largest distance from a place at which a practice is still snapped to it.
    practices_file
        Name of the practices file, for messages.

    Raises
    ------
    InputError
        When practices lie further than ``snap_distance_m`` from every place.
    """
    points = practices[["practice_code", "geometry"]]
    hits = gpd.sjoin(points, places[["place_id", "geometry"]], how="left", predicate="within")
    hits = hits.sort_values(["practice_code", "place_id"]).drop_duplicates("practice_code")
    place_of = hits.set_index("practice_code")["place_id"]
    result = practices.copy()
    result["place_id"] = result["practice_code"].map(place_of)
    result["place_method"] = np.where(result["place_id"].notna(), "within", "snapped")
    result["snap_m"] = 0.0
    outside = result["place_id"].isna()
    if outside.any():
        idx_places, idx_points = places.sindex.nearest(
            result.geometry[outside].values, return_all=False, return_distance=False
        )
        order = np.argsort(idx_places)
        nearest = places.iloc[idx_points[order]]
        distance = shapely.distance(result.geometry[outside].values, nearest.geometry.values)
        too_far = distance > snap_distance_m
        if too_far.any():
            far = result[outside][too_far]
            raise InputError(
                Problem(
                    practices_file,
                    f"{int(too_far.sum())} practice(s) lie outside every place by more than "
                    f"{snap_distance_m / 1000:g} km (e.g. {', '.join(far['practice_code'][:5])}).",
                    "check that the places file covers the practices' area, filter the practices "
                    "to it, or raise --snap-distance.",
                    rows=tuple(int(r) for r in far["source_row"]),
                    column="lat/lon",
                )
            )
        result.loc[outside, "place_id"] = nearest["place_id"].values
        result.loc[outside, "snap_m"] = np.round(distance, 1)
    snapped = result.loc[outside, ["practice_code", "name", "place_id", "snap_m"]]
    return PlaceAssignment(practices=result, snapped=snapped.reset_index(drop=True))


def practices_in_area(
    practices: gpd.GeoDataFrame, places: gpd.GeoDataFrame, *, area: Sequence[str]
) -> pd.Series:
    """Which practices belong to the area's places (``--area``), judged against every place.

    A practice belongs to the area when the place it lies in — or, outside every place, the
    nearest place — is one of the area's. So a practice of a neighbouring place just across
    the boundary stays out, however close it is (it is never snapped in).

    Returns
    -------
    pandas.Series
        A boolean per practice, on ``practices``' index.
    """
    wanted = places["place_id"].isin(list(area)).to_numpy()
    points = practices.geometry.to_crs(places.crs).values
    at_point, at_place = places.sindex.nearest(points, return_all=True)
    hit = np.zeros(len(practices), dtype=bool)
    hit[at_point[wanted[at_place]]] = True
    return pd.Series(hit, index=practices.index)


def places_from_field(
    practices: gpd.GeoDataFrame, *, hull_buffer_m: float = 2_000.0, on_land: bool = True
) -> gpd.GeoDataFrame:
    """Build place regions from a ``place_id`` column when no boundary file is given.

    Each region is the convex hull of the place's practices, buffered by ``hull_buffer_m``
    and, with ``on_land``, clipped to England's land (:func:`england_land`), so that a
    catchment never spans an estuary or the sea and two PCNs never touch across water. A region
    mostly off the outline (a place outside England: under a fifth of it on land) is kept
    whole. Every practice stays inside its region (a disc of 250 m around each is kept).
    Regions of different places may overlap; only cells within one place are compared.
    """
    land = england_land() if on_land else None
    rows = []
    for place_id, group in practices.groupby("place_id", sort=True):
        hull = shapely.convex_hull(shapely.union_all(group.geometry.values))
        region = hull.buffer(hull_buffer_m)
        if land is not None:
            clipped = shapely.intersection(region, land)
            if clipped.area >= 0.2 * region.area:
                sites = shapely.union_all(group.geometry.buffer(250.0).values)
                region = shapely.union_all([clipped, shapely.intersection(sites, region)])
                # keep the part(s) holding practices: no islands of sea-clipped slivers
                parts = getattr(region, "geoms", [region])
                region = shapely.union_all([g for g in parts if shapely.intersects(g, sites)])
        rows.append({"place_id": place_id, "place_name": place_id, "geometry": region})
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=BNG)


@functools.cache
def england_land() -> shapely.Geometry:
    """England's land, British National Grid (package data ``pcnopt/data/england_land.geojson``).

    Derived from the ONS Sub ICB Locations (April 2023) boundaries, clipped to the coastline
    and generalised (Open Government Licence v3.0; contains OS data © Crown copyright and
    database right 2023) by ``data/make_land_outline.py``.
    """
    source = resources.files("pcnopt") / "data" / "england_land.geojson"
    with resources.as_file(source) as path:
        outline = gpd.read_file(path).to_crs(BNG)
    land = shapely.union_all(outline.geometry.values)
    shapely.prepare(land)
    return land


def catchments_from_practices(
    practices: gpd.GeoDataFrame, places: gpd.GeoDataFrame
) -> gpd.GeoDataFrame:
    """Give each practice its catchment cell: its site's Voronoi cell clipped to its place.

    Parameters
    ----------
    practices
        Practices with ``place_id`` (see :func:`assign_places`), EPSG:27700.
    places
        Place polygons, EPSG:27700.

    Returns
    -------
    geopandas.GeoDataFrame
        ``practice_code``, ``place_id``, ``site`` (an integer id shared by practices at the
        same site), ``part`` (the polygon part of the place the site is in) and the cell
        geometry, one row per practice in the order of ``practices``.
    """
    region_of = dict(zip(places["place_id"], places.geometry, strict=True))
    frames = []
    site_offset = 0
    for place_id, group in practices.groupby("place_id", sort=True):
        region = region_of[place_id]
        cells = _place_cells(group, region)
        cells["site"] += site_offset
        site_offset = int(cells["site"].max()) + 1
        cells["place_id"] = place_id
        frames.append(cells)
    out = pd.concat(frames, ignore_index=True)
    out = out.set_index("practice_code").loc[practices["practice_code"]].reset_index()
    return gpd.GeoDataFrame(
        out[["practice_code", "place_id", "site", "part", "geometry"]], geometry="geometry", crs=BNG
    )


def catchments_and_adjacency(
    practices: gpd.GeoDataFrame, places: gpd.GeoDataFrame
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Catchment cells (:func:`catchments_from_practices`) and their adjacency
    (:func:`adjacency_from_catchments`): the two steps every run takes together."""
    catchments = catchments_from_practices(practices, places)
    return catchments, adjacency_from_catchments(catchments)


def _parts(region: shapely.Geometry) -> list[shapely.Geometry]:
    if region.geom_type == "MultiPolygon":
        return sorted(region.geoms, key=lambda g: -g.area)
    return [region]


def _place_cells(group: gpd.GeoDataFrame, region: shapely.Geometry) -> pd.DataFrame:
    """Catchment cells of the practices of one place."""
    parts = _parts(region)
    xy = np.round(np.column_stack([group.geometry.x, group.geometry.y]), 2)
    # one site per distinct location (within SAME_SITE_M)
    site_of = np.full(len(group), -1)
    sites: list[np.ndarray] = []
    for i, point in enumerate(xy):
        for s, site in enumerate(sites):
            if np.hypot(*(point - site)) < SAME_SITE_M:
                site_of[i] = s
                break
        else:
            site_of[i] = len(sites)
            sites.append(point)
    site_points = [Point(*p) for p in sites]
    # the part each site is in (nearest part if the point was snapped from outside)
    part_distance = np.array([[shapely.distance(pt, part) for part in parts] for pt in site_points])
    site_part = part_distance.argmin(axis=1)
    site_cell: dict[int, shapely.Geometry] = {}
    for p, part in enumerate(parts):
        members = np.flatnonzero(site_part == p)
        if len(members) == 0:
            continue
        # a site snapped from outside moves onto the part's boundary for the diagram
        located = [
            site_points[s]
            if part.covers(site_points[s])
            else shapely.ops.nearest_points(part, site_points[s])[0]
            for s in members
        ]
        if len(members) == 1:
            site_cell[int(members[0])] = part
            continue
        diagram = shapely.voronoi_polygons(MultiPoint(located), extend_to=part)
        polygons = list(diagram.geoms)
        tree = shapely.STRtree(polygons)
        for member, point in zip(members, located, strict=True):
            candidates = tree.query(point, predicate="intersects")
            best = (
                int(min(candidates, key=lambda c: polygons[c].distance(point)))
                if len(candidates)
                else int(np.argmin([poly.distance(point) for poly in polygons]))
            )
            site_cell[int(member)] = shapely.intersection(polygons[best], part)
    # parts holding no practice join the nearest site's cell
    for p, part in enumerate(parts):
        if (site_part == p).any():
            continue
        s = int(np.argmin([shapely.distance(pt, part) for pt in site_points]))
        site_cell[s] = shapely.union(site_cell[s], part)
    return pd.DataFrame(
        {
            "practice_code": group["practice_code"].values,
            "site": site_of,
            "part": site_part[site_of],
            "geometry": [site_cell[int(s)] for s in site_of],
        }
    )


def adjacency_from_catchments(catchments: gpd.GeoDataFrame) -> pd.DataFrame:
    """Find neighbouring practices: cells sharing a border, or the same site.

    Parameters
    ----------
    catchments
        Output of :func:`catchments_from_practices`.

    Returns
    -------
    pandas.DataFrame
        One row per neighbouring pair: ``a``, ``b`` (practice codes, ``a < b``),
        ``place_id``, ``length_m`` (shared border, 0 for the same site) and ``kind``
        ("border" or "same_site"), sorted by ``a, b``. Only pairs within one place appear.
    """
    rows: list[tuple[str, str, str, float, str]] = []
    for place_id, group in catchments.groupby("place_id", sort=True):
        by_site = group.groupby("site", sort=True)
        codes_at = {int(s): sorted(g["practice_code"]) for s, g in by_site}
        site_ids = sorted(codes_at)
        cells = [group.loc[group["site"] == s, "geometry"].iloc[0] for s in site_ids]
        for codes in codes_at.values():
            for i, a in enumerate(codes):
                rows.extend((a, b, place_id, 0.0, "same_site") for b in codes[i + 1 :])
        if len(cells) < 2:
            continue
        tree = shapely.STRtree(cells)
        left, right = tree.query(cells, predicate="intersects")
        keep = left < right
        left, right = left[keep], right[keep]
        boundaries = shapely.boundary(np.array(cells, dtype=object))
        buffered = shapely.buffer(np.array(cells, dtype=object), 0.01)
        lengths = shapely.length(shapely.intersection(boundaries[left], buffered[right]))
        for i, j, length in zip(left, right, lengths, strict=True):
            if length <= MIN_SHARED_BORDER_M:
                continue
            for a in codes_at[site_ids[i]]:
                for b in codes_at[site_ids[j]]:
                    pair = (a, b) if a < b else (b, a)
                    rows.append((*pair, place_id, round(float(length), 1), "border"))
    edges = pd.DataFrame(rows, columns=["a", "b", "place_id", "length_m", "kind"])
    return edges.sort_values(["a", "b"], kind="stable").reset_index(drop=True)


def graph_from_adjacency(codes: list[str] | pd.Series, edges: pd.DataFrame) -> nx.Graph:
    """The adjacency as a :class:`networkx.Graph` over ``codes``, border lengths on edges."""
    graph = nx.Graph()
    graph.add_nodes_from(codes)
    present = set(graph.nodes)
    for a, b, length in edges[["a", "b", "length_m"]].itertuples(index=False):
        if a in present and b in present:
            graph.add_edge(a, b, length_m=length)
    return graph


#: Names of services that are not neighbourhood practices (no catchment of their own).
SPECIAL_NAMES = re.compile(
    r"special allocation|\bsas\b|violent patient|asylum|refugee|homeless|inclusion|"
    r"\bprison\b|\bhmp\b|young offender|immigration removal|university|student health|"
    r"\bstudents?\b",
    re.IGNORECASE,
)
#: A name of :data:`SPECIAL_NAMES` marks a special service only below this list size: a
#: university practice of 40,000 students is a neighbourhood of its own, not an attachment.
SPECIAL_NAME_MAX_LIST = 5_000


def special_practices(practices: pd.DataFrame, *, extra: Sequence[str] = ()) -> dict[str, str]:
    """Practices that serve a group, not a neighbourhood, each with the reason.

    Special allocation schemes, asylum-seeker and homeless ("inclusion") services, prison and
    university health services (by name, :data:`SPECIAL_NAMES`, with lists under
    :data:`SPECIAL_NAME_MAX_LIST`), and the codes in ``extra`` (``--special``). A practice is
    special only where its place has another practice to host it.
    """
    found: dict[str, str] = {}
    names = practices["name"].fillna("").astype(str)
    for code, name, size in zip(
        practices["practice_code"], names, practices["list_size"], strict=True
    ):
        if code in extra:
            found[code] = "named with --special"
        elif (match := SPECIAL_NAMES.search(name)) and float(size) < SPECIAL_NAME_MAX_LIST:
            found[code] = f"a special service by its name ('{match.group(0).lower()}')"
    if "place_id" in practices:  # alone in its place: nothing to attach it to
        place_of = dict(zip(practices["practice_code"], practices["place_id"], strict=True))
        hosted = {place_of[c] for c in practices["practice_code"] if c not in found}
        found = {c: why for c, why in found.items() if place_of[c] in hosted}
    return found


def attach_special(
    practices: gpd.GeoDataFrame, edges: pd.DataFrame, special: Mapping[str, str]
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Join each special practice to its nearest other practice of its place (its host).

    The special practice has no catchment; one edge of kind ``attached`` (length 0) joins it
    to its host, and the run keeps the two together, so it joins the host's PCN.

    Returns
    -------
    edges, hosts
        The adjacency with the attached edges; special practice code → host code.
    """
    hosts: dict[str, str] = {}
    rows = []
    regular = practices[~practices["practice_code"].isin(list(special))]
    for row in practices[practices["practice_code"].isin(list(special))].itertuples():
        peers = regular[regular["place_id"] == row.place_id]
        if peers.empty:
            continue  # alone in its place: it stays on its own
        distance = peers.geometry.distance(row.geometry)
        host = str(peers["practice_code"].loc[distance.idxmin()])
        hosts[str(row.practice_code)] = host
        a, b = sorted((host, str(row.practice_code)))
        rows.append({"a": a, "b": b, "place_id": row.place_id, "length_m": 0.0, "kind": "attached"})
    if not rows:
        return edges, hosts
    extra = pd.DataFrame(rows, columns=list(edges.columns))
    return pd.concat([edges, extra], ignore_index=True), hosts
