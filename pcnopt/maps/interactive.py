"""The interactive HTML map (Folium/Leaflet) of one or more PCN configurations.

The page's JavaScript and CSS are package files (``pcnopt/maps/assets/map.js`` and
``map.css``), inlined with Leaflet (``pcnopt/_vendor/leaflet``) so the HTML is one
self-contained file; see :mod:`pcnopt.maps` for what the map shows.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import shapely.ops
from branca.element import Element, Figure, MacroElement
from folium.map import Layer
from jinja2 import Template

from pcnopt.errors import InputError, OptionError, Problem
from pcnopt.maps._write import atomic_write as _atomic_write
from pcnopt.maps.colours import COLOUR_BY, STATUS_COLOURS, pcn_colours
from pcnopt.maps.configurations import (
    BNG,
    WGS84,
    MapConfiguration,
    _clean,
    _money,
    configuration_from_run,
)

if TYPE_CHECKING:
    from pcnopt.funding import FundingResult
    from pcnopt.run import RunResult

#: Above this many practices, ``renderer="auto"`` draws practice markers on a canvas.
CANVAS_PRACTICES = 2_000

#: Funding columns shown first in a PCN's popup, with their labels; other ``*_gbp`` columns
#: follow, labelled from their names, and ``total_known_gbp`` comes last.
FUNDING_LABELS: Mapping[str, str] = {
    "arrs_sum_gbp": "ARRS sum",
    "arrs_sum_of_pcns_gbp": "ARRS sum of its PCNs",
    "core_funding_gbp": "Core PCN funding",
    "core_pcn_funding_gbp": "Core PCN funding",
    "clinical_director_gbp": "Clinical director",
    "planned_cost_gbp": "Cost of the suggested role mix",
    "unspent_gbp": "ARRS left unspent by the role mix",
    "total_known_gbp": "Total of the known lines",
}
ROLE_MIX_COLUMNS = ("role_mix", "role_mix_text", "suggested_role_mix")

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
        [proposed, *compare],
        practices=result.practices,
        places=result.places,
        tiles=tiles,
        colour_by=colour_by,
        title=title,
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
    unknown = [c.under for c in configurations if c.under is not None and c.under not in names]
    if unknown:
        raise OptionError(
            f"a level is drawn over {', '.join(map(repr, unknown))}, which is not one of the "
            f"map's configurations ({', '.join(map(repr, names))})."
        )
    points = practices.to_crs(BNG) if practices.crs is not None else practices.set_crs(BNG)
    bounds_bng = _bounds(points, configurations, places)
    if simplify_m is None:
        simplify_m = max(5.0, round((bounds_bng[2] - bounds_bng[0]) / 2_000.0, -1))
    data = _page_data(
        configurations, points, places, colour_by=colour_by, title=title, simplify_m=simplify_m
    )
    use_canvas = renderer == "canvas"
    data["practiceCanvas"] = use_canvas or (renderer == "auto" and len(points) > CANVAS_PRACTICES)

    lonlat = gpd.GeoSeries(shapely.box(*bounds_bng), crs=BNG).to_crs(WGS84).total_bounds
    fmap = folium.Map(
        location=[(lonlat[1] + lonlat[3]) / 2, (lonlat[0] + lonlat[2]) / 2],
        zoom_start=9,
        tiles=None,
        prefer_canvas=use_canvas,
        control_scale=True,
    )
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
        _ConfigurationLayer(main, k, name=html.escape(configuration.name), show=k == 0).add_to(fmap)
    if places is not None and len(places):
        _PlacesLayer(main, name="Place boundaries").add_to(fmap)
    folium.LayerControl(collapsed=False, position="topright").add_to(fmap)
    _Ready(main).add_to(fmap)
    return fmap


def write_map(fmap: folium.Map, path: str | Path) -> Path:
    """Write the map as one HTML file, atomically (a partial file never appears at ``path``)."""
    path = Path(path)
    if path.suffix.lower() not in {".html", ".htm"}:
        raise InputError(
            Problem(
                str(path), "a map is written as an HTML page.", "give a file name ending in .html."
            )
        )
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


def _bounds(
    points: gpd.GeoDataFrame,
    configurations: Sequence[MapConfiguration],
    places: gpd.GeoDataFrame | None,
) -> tuple[float, float, float, float]:
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
    """Coordinates to ``digits`` decimals (an area made invalid by reprojection is mended)."""
    if geometry is None:
        return None
    if not geometry.is_valid:  # e.g. a thin wedge of a shared site after reprojection
        geometry = shapely.make_valid(geometry)
    return shapely.set_precision(geometry, 10**-digits)


def _features(geometry: gpd.GeoSeries, properties: list[dict[str, Any]]) -> dict[str, Any]:
    features = []
    for geom, props in zip(geometry.values, properties, strict=True):
        if geom is None or geom.is_empty:
            continue
        features.append(
            {
                "type": "Feature",
                "properties": props,
                "geometry": shapely.geometry.mapping(_rounded(geom)),
            }
        )
    return {"type": "FeatureCollection", "features": features}


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


def _page_data(
    configurations: Sequence[MapConfiguration],
    points: gpd.GeoDataFrame,
    places: gpd.GeoDataFrame | None,
    *,
    colour_by: str,
    title: str,
    simplify_m: float,
) -> dict[str, Any]:
    lonlat = points.geometry.to_crs(WGS84)
    codes = points["practice_code"].astype(str).tolist()
    index = {c: i for i, c in enumerate(codes)}
    names = (
        points["name"].fillna(points["practice_code"])
        if "name" in points
        else points["practice_code"]
    )
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
    if "postcode" in points:
        page["practices"]["postcode"] = [_clean(v) or "" for v in points["postcode"]]
    for column in ("town", "locality"):
        if column in points and points[column].notna().any():
            page["practices"][column] = [_clean(v) or "" for v in points[column]]
    sizes = pd.to_numeric(points["list_size"], errors="coerce").fillna(0)
    page["practices"]["radius"] = [
        round(float(r), 1) for r in np.clip(np.sqrt(sizes.to_numpy(float)) / 25.0, 3.0, 16.0)
    ]
    position = {c.name: k for k, c in enumerate(configurations)}
    for configuration in configurations:
        pcns = configuration.pcns.reset_index(drop=True)
        pcn_index = {p: k for k, p in enumerate(pcns["pcn_id"])}
        fills = (
            pcn_colours(pcns.to_crs(BNG))
            if colour_by == "pcn"
            else [STATUS_COLOURS.get(s, "#BBBBBB") for s in pcns["band_status"]]
        )
        funding = _funding_rows(configuration.funding)
        table = [
            {
                "id": _clean(r.pcn_id),
                "label": _clean(r.pcn_label) or None,
                "place": _clean(r.place_name),
                "list": _clean(r.list_size),
                "wpop": _clean(r.weighted_population),
                "pop": _clean(r.population),
                "n": _clean(r.n_practices),
                "status": _clean(r.band_status),
                "exc": _clean(r.exception) or None,
                "hub": index.get(str(r.hub_practice), -1),
                "md": _clean(r.mean_distance_to_hub_m),
                "fill": fills[k],
                "fund": funding.get(str(r.pcn_id)) if configuration.funding is not None else None,
                "inner": [[_clean(i), _clean(n)] for i, n in configuration.inner[str(r.pcn_id)]]
                if str(r.pcn_id) in configuration.inner
                else None,
            }
            for k, r in enumerate(pcns.itertuples(index=False))
        ]
        assigned = configuration.assignments.drop_duplicates("practice_code").set_index(
            "practice_code"
        )
        pcn_of = [
            pcn_index.get(str(p), -1) if pd.notna(p) else -1
            for p in assigned["pcn_id"].reindex(codes)
        ]
        distance = pd.to_numeric(assigned["distance_to_hub_m"].reindex(codes), errors="coerce")
        geometry = _simplified(pcns.geometry, simplify_m)
        for row, at in zip(table, _label_points(pcns), strict=True):
            row["at"] = at
        page["configs"].append(
            {
                "name": configuration.name,
                "unit": configuration.unit,
                "under": None if configuration.under is None else position[configuration.under],
                "summary": {k: _clean(v) for k, v in configuration.summary.items()},
                "hasFunding": configuration.funding is not None,
                "pcns": table,
                "pcnOf": pcn_of,
                "dist": [None if pd.isna(d) else round(float(d)) for d in distance],
                "areas": _features(geometry, [{"i": k} for k in range(len(pcns))]),
            }
        )
    if places is not None and len(places):
        place_names = places["place_name"] if "place_name" in places else places["place_id"]
        page["places"] = _features(
            _simplified(places.geometry, simplify_m), [{"name": _clean(n)} for n in place_names]
        )
    return page


def _label_points(pcns: gpd.GeoDataFrame) -> list[list[float] | None]:
    """Where each PCN's name is written: a point well inside its area, as [lat, lon]."""
    if pcns.crs is None:
        return [None] * len(pcns)
    inside = []
    for g in pcns.to_crs(BNG).geometry:
        polygons = (
            []
            if g is None
            else [part for part in shapely.get_parts(g) if part.geom_type == "Polygon"]
        )
        if not polygons:  # no area to write in (e.g. a PCN of one point-like site)
            inside.append(None if g is None or g.is_empty else g.representative_point())
            continue
        largest = max(polygons, key=lambda part: part.area)
        inside.append(shapely.ops.polylabel(largest, tolerance=25.0))
    points = gpd.GeoSeries(inside, crs=BNG).to_crs(WGS84)
    return [None if g is None or g.is_empty else [round(g.y, 5), round(g.x, 5)] for g in points]


def _script_json(value: Any) -> str:
    """JSON that is safe inside an HTML <script> element (no tag can be closed from data)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for raw, escaped in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(raw, escaped)
    return text


@cache
def _asset(name: str) -> str:
    """A file of ``pcnopt/maps/assets`` (the map's own JavaScript and CSS)."""
    return (resources.files("pcnopt.maps") / "assets" / name).read_text(encoding="utf-8")


def _inline_assets() -> str:
    folder = resources.files("pcnopt") / "_vendor" / "leaflet"
    css = (folder / "leaflet.css").read_text(encoding="utf-8")
    js = (folder / "leaflet.js").read_text(encoding="utf-8")
    return f"<style>{css}</style>\n<style>{_asset('map.css')}</style>\n<script>{js}</script>\n"


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
        root.header.add_child(Element(f"<script>{_asset('map.js')}</script>"), name="pcnopt_code")
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
