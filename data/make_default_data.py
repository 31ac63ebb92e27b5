"""Generate pcnopt's embedded default data: a small, entirely synthetic region.

Writes three files beside this script:

- ``practices.csv``: invented GP practices (codes, names, postcodes, locations, list sizes,
  weighted populations, patients aged 65+, and an invented "current" PCN configuration);
- ``places.geojson``: three invented places (local-authority-like areas) that tile the region;
- ``README.md``: what the data are, how they were made, and a summary table computed here.

Run ``python data/make_default_data.py`` from any directory. The output is byte-identical for
the same ``SEED``: every random draw comes from one ``numpy.random.default_rng(SEED)``, the
geometry is built in British National Grid metres (EPSG:27700), and the conversion to WGS84 uses
a fixed Helmert transformation (so the result does not depend on which PROJ grids a machine has).
The script checks its own output (valid tiling, every practice inside one place and clear of its
borders, the size exceptions the demo needs) and stops with an error if a check fails.

Nothing here is real: practice codes start with "Z" (no real GP practice code does), postcodes
use the non-existent "ZZ" area, and the towns, villages and practices are made up. Only the
location is real ground, an inland stretch of Lincolnshire, so that maps and "is it in Great
Britain?" checks behave as they would with real practices.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from shapely.geometry import LineString, MultiPolygon, Point, Polygon
from shapely.ops import polygonize, unary_union

SEED = 20190701  # the day Primary Care Networks started (1 July 2019)
HERE = Path(__file__).resolve().parent
DEMO = HERE.parent / "pcnopt" / "data" / "demo"

# BNG easting and northing of the region's centre: inland Lincolnshire, 30 km from the coast
ORIGIN = (521_500.0, 371_500.0)
RADIUS = 20_000.0  # mean radius of the region, metres

# OSGB36 -> WGS 84 (6), EPSG:1314 Helmert, written out so that a machine with the OSTN15 grid
# installed gives the same coordinates as one without it.
BNG_TO_WGS84 = (
    "+proj=pipeline "
    "+step +inv +proj=tmerc +lat_0=49 +lon_0=-2 +k=0.9996012717 +x_0=400000 +y_0=-100000 "
    "+ellps=airy "
    "+step +proj=push +v_3 "
    "+step +proj=cart +ellps=airy "
    "+step +proj=helmert +x=446.448 +y=-125.157 +z=542.06 +rx=0.15 +ry=0.247 +rz=0.842 "
    "+s=-20.489 +convention=position_vector "
    "+step +inv +proj=cart +ellps=WGS84 "
    "+step +proj=pop +v_3 "
    "+step +proj=unitconvert +xy_in=rad +xy_out=deg"
)

MIN_PCN, MAX_PCN = 30_000, 50_000
MIN_BORDER_CLEARANCE = 50.0  # metres; every practice must be at least this far from a border


@dataclass(frozen=True)
class PlaceSpec:
    """One invented place: a sector of the region between two border lines."""

    place_id: str
    place_name: str
    pcn_letter: str
    from_deg: float  # the sector runs anticlockwise from this border bearing ...
    to_deg: float  # ... to this one (degrees anticlockwise from east)


@dataclass(frozen=True)
class TownSpec:
    """One invented town: practices clustered around a centre."""

    name: str
    place_id: str
    bearing_deg: float
    distance: float  # fraction of RADIUS from the region's centre
    spread: float  # standard deviation of practice sites about the centre, metres
    district: str  # postcode district
    practices: tuple[str, ...]
    shared_site: tuple[str, str, str]  # (building, practice, practice) at exactly one site


PLACES = (
    PlaceSpec("P01", "Brackendale", "A", 90.0, 210.0),
    PlaceSpec("P02", "Wyvernford", "B", 330.0, 450.0),
    PlaceSpec("P03", "Caddle Vale", "C", 210.0, 330.0),
)
EXCLAVE_PLACE = "P03"  # owns a detached part ...
EXCLAVE_BEARING = 128.0  # ... on the edge of P01, far from its main part
EXCLAVE_RADIUS = 3_000.0
SUPER_PRACTICE = ("Wyvernford Medical Group", "Wyvernford")  # (name, town)

TOWNS = (
    TownSpec(
        "Brackenholt",
        "P01",
        160.0,
        0.45,
        1_300.0,
        "ZZ1",
        (
            "Market Place Surgery",
            "Holt Lane Medical Practice",
            "Riverside Surgery",
            "Brackenholt Medical Centre",
            "Priory Fields Surgery",
            "The Tannery Practice",
            "Westgate Surgery",
            "Kiln Road Medical Practice",
            "Bracken Vale Health Partnership",
            "St Osric's Surgery",
            "Orchard Way Practice",
            "Sheepwash Lane Surgery",
        ),
        ("Brackenholt Health Centre", "Market Place Surgery", "Holt Lane Medical Practice"),
    ),
    TownSpec(
        "Wyvernford",
        "P02",
        28.0,
        0.42,
        1_800.0,
        "ZZ2",
        (
            "Abbey Surgery",
            "Bridge Street Practice",
            "Castle Mead Surgery",
            "Wyvern Family Practice",
            "Quayside Medical Centre",
            "Northgate Surgery",
            "Eastfield Medical Practice",
            "Cornhill Surgery",
            "Friars Walk Practice",
            "Old Mill Surgery",
            "Ropewalk Medical Centre",
            "Saxon Road Surgery",
            "Wyvernford Park Practice",
            "Lockkeeper's Surgery",
            "Chantry Medical Practice",
            "Greyfriars Health Partnership",
            "Southgate Surgery",
            "Willowbank Practice",
        ),
        ("Wyvernford Health Centre", "Abbey Surgery", "Bridge Street Practice"),
    ),
    TownSpec(
        "Caddlebury",
        "P03",
        272.0,
        0.48,
        1_100.0,
        "ZZ4",
        (
            "Caddlebury Health Centre",
            "Minster Surgery",
            "Fennel Street Practice",
            "Caddle Bridge Surgery",
            "Highfield Medical Practice",
            "Tithe Barn Surgery",
            "Cross Keys Practice",
            "Long Row Surgery",
            "Marsh Lane Medical Centre",
        ),
        ("Minster Yard Medical Centre", "Minster Surgery", "Long Row Surgery"),
    ),
)

# Villages with one practice each, by place, and the postcode district they sit in.
VILLAGES = {
    "P01": (
        "ZZ5",
        (
            "Brindlecote",
            "Ousterby",
            "Farrowmere",
            "Kestlewick",
            "Stillinghoe",
            "Wendlecombe",
            "Thrapley Cross",
            "Great Hobbleton",
            "Cressingholme",
            "Sallowby",
            "Durnsley",
            "Elderwick",
            "Gorsethorpe",
            "Lammerby",
        ),
    ),
    "P02": (
        "ZZ6",
        (
            "Mardlewell",
            "Nettlestowe",
            "Pellingthorpe",
            "Ravensholt",
            "Scaldwick",
            "Tollerby",
            "Upper Wendle",
            "Wrayholme",
            "Yarrowfield",
            "Bexthorpe",
            "Dribsworth",
        ),
    ),
    "P03": (
        "ZZ7",
        (
            "Nethercaddle",
            "Emberly Fen",
            "Fallowdene",
            "Hethercombe",
            "Merriwell",
            "Oxencote",
            "Ruddleby",
            "Swaythorpe",
        ),
    ),
}
EXCLAVE_VILLAGES = ("ZZ5", ("Thornwick Parva", "Thornwick Magna"))
VILLAGE_PRACTICE_PATTERNS = (
    "{} Surgery",
    "{} Medical Practice",
    "{} Medical Centre",
    "The {} Practice",
)

# Target sizes (registered patients) of the invented current PCNs, filled in order around each
# place's town; the last PCN of a place takes what is left. Several fall outside 30-50k on
# purpose, as many real 2019 networks did.
CURRENT_PCN_TARGETS = {
    "P01": (38_000, 62_000, 26_000, 44_000),
    "P02": (41_000, 34_000, 68_000, 36_000, 45_000),
    "P03": (44_000, 27_000, 38_000),
}

POSTCODE_UNIT_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"  # letters used in the last part of UK postcodes


def _unit(bearing_deg: float) -> np.ndarray:
    a = math.radians(bearing_deg)
    return np.array([math.cos(a), math.sin(a)])


def _region(rng: np.random.Generator) -> Polygon:
    """An irregular, roughly round outline (a few smooth harmonics plus small jitter)."""
    theta = np.linspace(0.0, 2 * math.pi, 72, endpoint=False)
    r = np.ones_like(theta)
    for k in (2, 3, 4, 5):
        r += rng.uniform(0.02, 0.07) * np.cos(k * theta + rng.uniform(0, 2 * math.pi))
    r *= 1 + rng.normal(0.0, 0.012, theta.size)
    x = ORIGIN[0] + RADIUS * r * np.cos(theta)
    y = ORIGIN[1] + RADIUS * r * np.sin(theta)
    return Polygon(np.column_stack([np.round(x), np.round(y)]))


def _border(rng: np.random.Generator, bearing_deg: float) -> LineString:
    """A wandering border line from the centre outwards, well past the region's edge."""
    steps = 30
    along = np.linspace(0.0, 1.5 * RADIUS, steps + 1)
    wander = np.concatenate([[0.0], np.cumsum(rng.normal(0.0, 320.0, steps))])
    wander *= np.minimum(1.0, along / 3_000.0)  # leave the centre cleanly
    u, v = _unit(bearing_deg), _unit(bearing_deg + 90.0)
    xy = np.asarray(ORIGIN) + along[:, None] * u + wander[:, None] * v
    return LineString(np.round(xy))


def _blob(rng: np.random.Generator, centre: np.ndarray, radius: float) -> Polygon:
    theta = np.linspace(0.0, 2 * math.pi, 24, endpoint=False)
    r = radius * (1 + 0.15 * np.cos(2 * theta + rng.uniform(0, 2 * math.pi)))
    r *= 1 + rng.normal(0.0, 0.05, theta.size)
    xy = centre + np.column_stack([r * np.cos(theta), r * np.sin(theta)])
    return Polygon(np.round(xy))


def places_bng(rng: np.random.Generator) -> tuple[dict[str, Polygon | MultiPolygon], Polygon]:
    """Build the three places in BNG metres; return them and the exclave part.

    The region outline, the three border lines and the exclave outline are noded together and
    polygonised once, so neighbouring places share exactly the same border vertices.
    """
    region = _region(rng)
    borders = [_border(rng, p.from_deg) for p in PLACES]
    edge = region.exterior.interpolate(
        region.exterior.project(Point(np.asarray(ORIGIN) + 2 * RADIUS * _unit(EXCLAVE_BEARING)))
    )
    blob = _blob(rng, np.array(edge.coords[0]), EXCLAVE_RADIUS)

    faces = [
        f
        for f in polygonize(unary_union([region.exterior, *borders, blob.exterior]))
        if region.contains(f.representative_point())
    ]
    exclave_faces = [f for f in faces if blob.contains(f.representative_point())]
    other_faces = [f for f in faces if not blob.contains(f.representative_point())]
    if len(other_faces) != len(PLACES):
        raise RuntimeError(f"expected {len(PLACES)} main faces, got {len(other_faces)}")
    exclave = unary_union(exclave_faces)
    if not isinstance(exclave, Polygon):
        raise RuntimeError("the exclave is not a single polygon")

    places: dict[str, Polygon | MultiPolygon] = {}
    for spec in PLACES:
        seed_point = Point(
            np.asarray(ORIGIN) + 0.5 * RADIUS * _unit((spec.from_deg + spec.to_deg) / 2)
        )
        (main,) = [f for f in other_faces if f.contains(seed_point)]
        places[spec.place_id] = main
    places[EXCLAVE_PLACE] = MultiPolygon([places[EXCLAVE_PLACE], exclave])
    return places, exclave


def _sample_site(
    rng: np.random.Generator,
    area: Polygon | MultiPolygon,
    taken: list[np.ndarray],
    *,
    centre: np.ndarray | None,
    spread: float,
    min_gap: float,
    clearance: float,
    avoid: Sequence[tuple[np.ndarray, float]] = (),
) -> np.ndarray:
    """Draw a site inside ``area``, ``clearance`` from its border and ``min_gap`` from others."""
    minx, miny, maxx, maxy = area.bounds
    for _ in range(10_000):
        if centre is None:
            xy = np.array([rng.uniform(minx, maxx), rng.uniform(miny, maxy)])
        else:
            xy = centre + rng.normal(0.0, spread, 2)
        xy = np.round(xy)
        p = Point(xy)
        if not area.contains(p) or area.boundary.distance(p) < clearance:
            continue
        if any(np.hypot(*(xy - t)) < min_gap for t in taken):
            continue
        if any(np.hypot(*(xy - c)) < r for c, r in avoid):
            continue
        return xy
    raise RuntimeError("could not place a practice; loosen the spacing rules")


def _postcode(rng: np.random.Generator, district: str, used: set[str]) -> str:
    while True:
        letters = rng.choice(list(POSTCODE_UNIT_LETTERS), 2)
        code = f"{district} {rng.integers(1, 10)}{letters[0]}{letters[1]}"
        if code not in used:
            used.add(code)
            return code


def _list_size(
    rng: np.random.Generator, *, median: float, sigma: float, low: int, high: int
) -> int:
    """A lognormal list size, redrawn (not clipped) until it lies within ``low``-``high``."""
    while True:
        size = round(rng.lognormal(math.log(median), sigma))
        if low <= size <= high:
            return size


def practices_bng(
    rng: np.random.Generator,
    places: dict[str, Polygon | MultiPolygon],
    exclave: Polygon,
) -> pd.DataFrame:
    """Invent the practices: sites (BNG), names, postcodes, list sizes and age mix."""
    rows: list[dict[str, object]] = []
    used_postcodes: set[str] = set()
    town_centres: list[tuple[np.ndarray, float]] = []
    mains = {pid: (g.geoms[0] if isinstance(g, MultiPolygon) else g) for pid, g in places.items()}

    for town in TOWNS:
        centre = np.round(np.asarray(ORIGIN) + town.distance * RADIUS * _unit(town.bearing_deg))
        town_centres.append((centre, 4.5 * town.spread))
        taken: list[np.ndarray] = []
        building, *sharing = town.shared_site
        shared_xy = _sample_site(
            rng,
            mains[town.place_id],
            taken,
            centre=centre,
            spread=0.3 * town.spread,
            min_gap=0.0,
            clearance=400.0,
        )
        taken.append(shared_xy)
        shared_postcode = _postcode(rng, town.district, used_postcodes)
        names = list(town.practices)
        if town.name == SUPER_PRACTICE[1]:
            names.insert(0, SUPER_PRACTICE[0])
        for name in names:
            if name in sharing:
                xy, postcode, site = shared_xy, shared_postcode, building
            else:
                xy = _sample_site(
                    rng,
                    mains[town.place_id],
                    taken,
                    centre=centre,
                    spread=town.spread,
                    min_gap=300.0,
                    clearance=400.0,
                )
                taken.append(xy)
                postcode, site = _postcode(rng, town.district, used_postcodes), ""
            if name == SUPER_PRACTICE[0]:
                size = 52_000 + int(rng.integers(0, 800))
            else:
                size = _list_size(rng, median=9_800, sigma=0.42, low=3_000, high=25_000)
            rows.append(
                dict(
                    name=name,
                    town=town.name,
                    site=site,
                    place_id=town.place_id,
                    x=xy[0],
                    y=xy[1],
                    postcode=postcode,
                    list_size=size,
                    rural=0,
                )
            )

    # The exclave's practices are placed first so the villages of the surrounding place avoid them.
    district, exclave_names = EXCLAVE_VILLAGES
    exclave_taken: list[np.ndarray] = []
    village_rows: list[tuple[str, str, str, np.ndarray]] = []  # village, place, district, site
    for village in exclave_names:
        xy = _sample_site(
            rng, exclave, exclave_taken, centre=None, spread=0.0, min_gap=1_200.0, clearance=400.0
        )
        exclave_taken.append(xy)
        village_rows.append((village, EXCLAVE_PLACE, district, xy))
    village_taken = list(exclave_taken)
    for place_id, (district, villages) in VILLAGES.items():
        for village in villages:
            xy = _sample_site(
                rng,
                mains[place_id],
                village_taken,
                centre=None,
                spread=0.0,
                min_gap=2_300.0,
                clearance=700.0,
                avoid=town_centres,
            )
            village_taken.append(xy)
            village_rows.append((village, place_id, district, xy))
    for village, place_id, district, xy in village_rows:
        pattern = VILLAGE_PRACTICE_PATTERNS[int(rng.integers(len(VILLAGE_PRACTICE_PATTERNS)))]
        size = _list_size(rng, median=5_400, sigma=0.5, low=1_500, high=14_000)
        rows.append(
            dict(
                name=pattern.format(village),
                town=village,
                site="",
                place_id=place_id,
                x=xy[0],
                y=xy[1],
                postcode=_postcode(rng, district, used_postcodes),
                list_size=size,
                rural=1,
            )
        )

    frame = pd.DataFrame(rows)
    share_65 = np.where(
        frame["rural"] == 1,
        rng.normal(0.245, 0.04, len(frame)),
        rng.normal(0.165, 0.03, len(frame)),
    )
    share_65 = np.clip(share_65, 0.08, 0.36)
    factor = (
        0.93 + 0.9 * (share_65 - 0.18) + 0.04 * frame["rural"] + rng.normal(0, 0.025, len(frame))
    )
    factor = np.clip(factor, 0.85, 1.20)
    frame["patients_65_plus"] = np.round(frame["list_size"] * share_65).astype(int)
    frame["weighted_population"] = np.round(frame["list_size"] * factor, 2)
    codes = 10_001 + rng.choice(900, len(frame), replace=False)
    frame["practice_code"] = [f"Z{c}" for c in codes]
    frame["in_exclave"] = [
        exclave.contains(Point(x, y)) for x, y in zip(frame.x, frame.y, strict=True)
    ]
    return frame


def _current_pcns(frame: pd.DataFrame) -> pd.Series:
    """An invented "current" configuration: sweep round each town, cut at target sizes."""
    pcn = pd.Series("", index=frame.index, dtype=object)
    for spec in PLACES:
        letter = spec.pcn_letter
        in_place = frame[(frame.place_id == spec.place_id) & ~frame.in_exclave]
        number = 1
        for i in in_place.index[in_place.name == SUPER_PRACTICE[0]]:
            pcn[i] = f"PCN-{letter}{number}"
            number += 1
            in_place = in_place.drop(index=i)
        (town,) = [t for t in TOWNS if t.place_id == spec.place_id]
        centre = np.asarray(ORIGIN) + town.distance * RADIUS * _unit(town.bearing_deg)
        bearing = np.degrees(np.arctan2(in_place.y - centre[1], in_place.x - centre[0]))
        order = in_place.assign(b=(bearing - town.bearing_deg) % 360).sort_values(["b", "name"])
        targets = list(CURRENT_PCN_TARGETS[spec.place_id])
        running = 0
        for i, size in zip(order.index, order.list_size, strict=True):
            # close the network here if adding this practice would move it further from target
            if targets and running and abs(running + size - targets[0]) > abs(running - targets[0]):
                targets.pop(0)
                number, running = number + 1, 0
            pcn[i] = f"PCN-{letter}{number}"
            running += size
        exclave_rows = frame.index[(frame.place_id == spec.place_id) & frame.in_exclave]
        pcn[exclave_rows] = f"PCN-{letter}{number + 1}"
    return pcn


def _to_wgs84(xy: np.ndarray) -> np.ndarray:
    transformer = Transformer.from_pipeline(BNG_TO_WGS84)
    lon, lat = transformer.transform(xy[:, 0], xy[:, 1])
    return np.round(np.column_stack([lon, lat]), 6)


def _geometry_to_wgs84(geom: Polygon | MultiPolygon) -> Polygon | MultiPolygon:
    return shapely.transform(geom, _to_wgs84)


def _check(  # noqa: C901  (the checklist of the generated data, in order)
    places_wgs: dict[str, Polygon | MultiPolygon], table: pd.DataFrame
) -> None:
    """Stop if the output breaks any promise the README makes."""
    problems = []
    for pid, g in places_wgs.items():
        if not g.is_valid:
            problems.append(f"{pid} is not valid: {shapely.is_valid_reason(g)}")
    ids = list(places_wgs)
    for i, a in enumerate(ids):
        for b in ids[i + 1 :]:
            if places_wgs[a].intersection(places_wgs[b]).area > 0:
                problems.append(f"{a} and {b} overlap")
    whole = unary_union(list(places_wgs.values()))
    if not isinstance(whole, Polygon) or len(whole.interiors) > 0:
        problems.append("the places leave a gap or do not form one region")
    to_bng = Transformer.from_pipeline(BNG_TO_WGS84)
    metres = {
        pid: shapely.transform(
            g, lambda c: np.column_stack(to_bng.transform(c[:, 0], c[:, 1], direction="INVERSE"))
        )
        for pid, g in places_wgs.items()
    }
    for row in table.itertuples():
        inside = [pid for pid, g in places_wgs.items() if g.contains(Point(row.lon, row.lat))]
        if inside != [row.place_id]:
            problems.append(f"{row.practice_code} lies in {inside}, expected {row.place_id}")
        x, y = to_bng.transform(row.lon, row.lat, direction="INVERSE")
        gap = metres[row.place_id].boundary.distance(Point(x, y))
        if gap < MIN_BORDER_CLEARANCE:
            problems.append(f"{row.practice_code} is only {gap:.0f} m from a border")
    exclave_total = table.loc[table.in_exclave, "list_size"].sum()
    if not (1 <= table.in_exclave.sum() <= 2 and exclave_total < MIN_PCN):
        problems.append(f"exclave holds {table.in_exclave.sum()} practices, {exclave_total}")
    if (table.list_size > MAX_PCN).sum() != 1:
        problems.append("expected exactly one practice above 50,000")
    if not table.duplicated(["lat", "lon"]).any():
        problems.append("expected at least two practices at one site")
    if table.practice_code.duplicated().any() or table.name.duplicated().any():
        problems.append("practice codes and names must be unique")
    if (table.current_pcn == "").any():
        problems.append("every practice must belong to one current PCN")
    if not 70 <= len(table) <= 90:
        problems.append(f"{len(table)} practices, expected 70-90")
    if problems:
        raise RuntimeError("generated data failed its checks:\n  " + "\n  ".join(problems))


def _geojson(places_wgs: dict[str, Polygon | MultiPolygon]) -> str:
    names = {p.place_id: p.place_name for p in PLACES}
    lines = ['{"type": "FeatureCollection", "name": "places", "features": [']
    features = []
    for pid in sorted(places_wgs):
        geometry = shapely.geometry.mapping(places_wgs[pid])
        feature = {
            "type": "Feature",
            "properties": {"place_id": pid, "place_name": names[pid]},
            "geometry": geometry,
        }
        features.append(json.dumps(feature, separators=(",", ":")))
    lines.append(",\n".join(features))
    lines.append("]}")
    return "\n".join(lines) + "\n"


def _markdown_table(frame: pd.DataFrame) -> str:
    header = "| " + " | ".join(frame.columns) + " |"

    def numeric(column: pd.Series) -> bool:
        return pd.api.types.is_numeric_dtype(column) or bool(
            column.astype(str).str.fullmatch(r"[\d,.]+").all()
        )

    rule = "|" + "|".join("---:" if numeric(frame[c]) else "---" for c in frame.columns) + "|"
    body = ["| " + " | ".join(str(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *body])


PRACTICE_COLUMNS = (
    (
        "practice_code",
        "invented ODS-like code: `Z` and five digits (no real GP practice code starts with `Z`)",
    ),
    ("name", "invented practice name"),
    (
        "postcode",
        "postcode-shaped but not real: the `ZZ` postcode area does not exist (districts "
        "ZZ1-ZZ7; not the NHS `ZZ99` pseudo-postcodes); practices at one site share one",
    ),
    ("lat, lon", "WGS84 degrees, 6 decimal places"),
    ("list_size", "registered patients (integer)"),
    ("weighted_population", "list size times a need factor of 0.85-1.20 (2 decimal places)"),
    ("patients_65_plus", "registered patients aged 65 or over (integer)"),
    (
        "current_pcn",
        "the invented network the practice belongs to now: `PCN-`, the place's "
        "letter (A = P01, B = P02, C = P03) and a number; one per practice",
    ),
)
PLACE_COLUMNS = (
    ("place_id", "`P01`-`P03`"),
    ("place_name", "invented name"),
    ("geometry", "Polygon, or MultiPolygon for the place with the exclave; WGS84 (EPSG:4326)"),
)


def _readme(table: pd.DataFrame) -> str:
    rows = []
    for spec in PLACES:
        sub = table[table.place_id == spec.place_id]
        ex = sub[sub.in_exclave]
        notes = []
        if len(ex):
            notes.append(f"detached part: {len(ex)} practices, {ex.list_size.sum():,} patients")
        notes += [
            f"{b['name']}: {b.list_size:,} patients"
            for _, b in sub[sub.list_size > MAX_PCN].iterrows()
        ]
        rows.append(
            dict(
                place_id=spec.place_id,
                place_name=spec.place_name,
                practices=len(sub),
                list_size=f"{sub.list_size.sum():,}",
                weighted_population=f"{sub.weighted_population.sum():,.0f}",
                notes="; ".join(notes),
            )
        )
    places_md = _markdown_table(pd.DataFrame(rows))

    pcn = (
        table.groupby("current_pcn")
        .agg(
            place_id=("place_id", "first"),
            practices=("practice_code", "size"),
            list_size=("list_size", "sum"),
        )
        .reset_index()
    )
    pcn = pcn.assign(
        within_30k_50k=np.where(pcn.list_size.between(MIN_PCN, MAX_PCN), "yes", "no"),
        list_size=pcn.list_size.map("{:,}".format),
    )
    outside = int((pcn.within_30k_50k == "no").sum())

    shared = table[table.site != ""].groupby("site").name.apply(lambda s: " and ".join(sorted(s)))
    shared_md = "\n".join(f"  - {site}: {names}" for site, names in shared.items())
    n_villages = sum(len(v) for _, v in VILLAGES.values()) + len(EXCLAVE_VILLAGES[1])
    towns = ", ".join(t.name for t in TOWNS)
    ex = table[table.in_exclave]
    big = table[table.list_size > MAX_PCN]
    columns_md = _markdown_table(pd.DataFrame(PRACTICE_COLUMNS, columns=["column", "meaning"]))
    fields_md = _markdown_table(pd.DataFrame(PLACE_COLUMNS, columns=["field", "meaning"]))

    return f"""# Default data: a synthetic region

**Synthetic: these are not real practices.** Every practice, code, name, postcode, list size and
network here is invented by `make_default_data.py`. Do not use these files for commissioning.
They give `pcnopt` a small region to run on out of the box (the demo and the quick tests)
without any NHS data.

This file is written by `make_default_data.py`, so the tables below stay true: edit the script,
not this file.

## What it contains

- `practices.csv`: {len(table)} invented GP practices in one invented county of three places:
  clustered in three towns ({towns}) and spread over {n_villages} villages.
  List sizes are lognormal as in England: median {int(table.list_size.median()):,},
  range {table.list_size.min():,} to {table.list_size.max():,}.
- `places.geojson`: the three places (like local-authority "places"), valid polygons in WGS84 that
  tile the region with no gaps or overlaps and share their borders exactly.

Situations the optimiser must handle, built in on purpose:

- **A practice above 50,000**: {
        ", ".join(f"{b['name']} ({b.practice_code}, {b.list_size:,})" for _, b in big.iterrows())
    }, a super-practice
  that can only be a network on its own.
- **An island part below the minimum**: place {EXCLAVE_PLACE} has a detached part (an exclave
  on the edge of P01) with {len(ex)} small practices, {ex.list_size.sum():,} patients in all,
  so no network of 30,000-50,000 can be formed there.
- **Practices at one site** (same coordinates and postcode), which breaks naive Voronoi
  catchments:
{shared_md}
- **A current configuration that breaks the rules**: `current_pcn` is an invented 2019-style
  configuration; {outside} of its {len(pcn)} networks are outside 30,000-50,000.

### Places

{places_md}

Apart from the super-practice and the detached part, each place can be split into contiguous
networks of 30,000-50,000. This was checked for seed {SEED} with Voronoi catchments and a small
integer program outside this script; the script itself does not check it.

### Current (invented) networks

{_markdown_table(pcn)}

## How it was made

`python data/make_default_data.py` rewrites all three files, byte-identically, from one
`numpy.random.default_rng({SEED})`. The region is built in British National Grid metres
(EPSG:27700) around easting {ORIGIN[0]:,.0f}, northing {ORIGIN[1]:,.0f}: real, inland
ground in Lincolnshire, so coordinates are plausible and pass "in Great Britain" checks. The real
towns there are not represented, and a background map will show them under the invented ones.

1. The region's outline is a circle of radius {RADIUS / 1000:.0f} km distorted by a few
   random harmonics. Three wandering border lines from its centre, and the outline of a small
   blob on its edge (the exclave), are noded together and polygonised once, so neighbours
   share vertices exactly.
2. Town practices are scattered around each town centre; village practices are spread over the
   rest of each place at least 2.3 km apart; all are at least 400 m inside their place (the
   script checks at least {MIN_BORDER_CLEARANCE:.0f} m after conversion and rounding).
3. List sizes are lognormal (towns median about 9,800, villages about 5,400; values outside
   1,500-25,000 are redrawn), plus the super-practice. The share aged 65+ is higher in villages.
   The weighted population is the list size times a factor (0.85-1.20) that rises with that
   share and with rurality, a stand-in for the Carr-Hill formula.
4. The current networks sweep round each place's town and close at preset target sizes; the
   super-practice and the exclave's practices are networks of their own.
5. Coordinates are converted to WGS84 with the EPSG:1314 Helmert transformation ("OSGB36 to
   WGS 84 (6)", written out in the script so that PROJ grids installed on a machine cannot change
   the output) and rounded to 6 decimal places. The script then checks validity, the tiling, that
   each practice lies inside exactly one place and away from its borders, and the exceptions
   above, and stops with an error if any check fails.

## Columns

### practices.csv

{columns_md}

There is no place column: a practice's place is the polygon of `places.geojson` that contains it.

### places.geojson

{fields_md}
"""


def main() -> None:
    """Generate the three files beside this script."""
    rng = np.random.default_rng(SEED)
    places, exclave = places_bng(rng)
    frame = practices_bng(rng, places, exclave)
    frame["current_pcn"] = _current_pcns(frame)

    lonlat = _to_wgs84(frame[["x", "y"]].to_numpy())
    frame["lon"], frame["lat"] = lonlat[:, 0], lonlat[:, 1]
    frame = frame.sort_values("practice_code").reset_index(drop=True)
    places_wgs = {pid: _geometry_to_wgs84(g) for pid, g in places.items()}
    _check(places_wgs, frame)

    out = frame.assign(
        lat=frame.lat.map("{:.6f}".format),
        lon=frame.lon.map("{:.6f}".format),
        weighted_population=frame.weighted_population.map("{:.2f}".format),
    )[
        [
            "practice_code",
            "name",
            "postcode",
            "lat",
            "lon",
            "list_size",
            "weighted_population",
            "patients_65_plus",
            "current_pcn",
        ]
    ]
    # the embedded demo is package data (pcnopt/data/demo, so an installed wheel runs it); the
    # copies here keep the README's commands (--practices data/practices.csv) working as written
    for folder in (DEMO, HERE):
        (folder / "practices.csv").write_text(
            out.to_csv(index=False, lineterminator="\n"), encoding="utf-8"
        )
        (folder / "places.geojson").write_text(_geojson(places_wgs), encoding="utf-8")
    (HERE / "README.md").write_text(_readme(frame), encoding="utf-8")


if __name__ == "__main__":
    main()
