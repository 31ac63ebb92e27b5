"""Colours of PCN areas: neighbouring PCNs never share one (colour-blind-safe palettes)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import geopandas as gpd
import networkx as nx
import numpy as np
import shapely

from pcnopt.errors import OptionError

#: Fills for PCN areas: Paul Tol's "light" scheme, then his "muted" scheme (colour-blind safe).
PCN_PALETTE: tuple[str, ...] = (
    "#77AADD",
    "#EE8866",
    "#44BB99",
    "#EEDD88",
    "#FFAABB",
    "#99DDFF",
    "#BBCC33",
    "#AAAA00",
    "#DDDDDD",
    "#CC6677",
    "#332288",
    "#DDCC77",
    "#117733",
    "#88CCEE",
    "#882255",
    "#44AA99",
    "#999933",
    "#AA4499",
)
#: Fills by size status (Okabe–Ito colours, colour-blind safe).
STATUS_COLOURS: Mapping[str, str] = {
    "below band": "#E69F00",
    "in band": "#56B4E9",
    "above band": "#CC79A7",
    "no PCN": "#BBBBBB",
}
COLOUR_BY = ("pcn", "status")


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
        raise OptionError(
            f"colouring the PCNs needs {needed} colours but the palette has "
            f"{len(palette)}; give a longer palette or use colour_by='status'."
        )
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
        graph.add_edges_from(
            zip(index[left[keep]].tolist(), index[right[keep]].tolist(), strict=True)
        )
    return graph
