"""Write the bad-input corpus: broken and odd practices and places files.

The files are committed; run ``python tests/corpus/make_corpus.py`` to write them again. What
each file should do is in ``cases.toml``. The 200,000-row file is never committed: tests make
it in a temporary folder with :func:`write_big_practices`.

The small world every file starts from, two rectangular places side by side (WGS84)::

    53.30 +-----------+-----------+
          |   WEST    |   EAST    |
          | 9 x 7-8k  | 6 x 7-8k  |
    53.20 +-----------+-----------+
        -0.40       -0.30       -0.20
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
HEADER = ["practice_code", "name", "lat", "lon", "list_size"]

WEST = (-0.40, 53.20, -0.30, 53.30)
EAST = (-0.30, 53.20, -0.20, 53.30)

HOSTILE_NAMES = [
    '<script>alert("pcnopt")</script> Surgery',
    "Smith, Jones & Partners",
    'The "Old" Forge Practice',
    "Meddygfa Llanfairpwll — Ysbyty Gwynedd",
    "Cwm Tawe 医療センター 🚑",
    "'; DROP TABLE practices;--",
    '=HYPERLINK("http://example.invalid","click")',
    "</textarea><img src=x onerror=alert(1)>",
    "Line one\nLine two Medical Centre",
    "  Spaces   Around  ",
    "Zoë & Åsa's \u202eRTL\u202c Clinic",
    "{{ template }} ${injection} %s",
    "Backslash \\ and slash / Practice",
    "<b>Bold</b> &amp; entity",
]

#: Text a spreadsheet evaluates (OWASP CSV injection), for names, codes and place ids.
FORMULAS = [
    '=HYPERLINK("http://example.invalid/"&A1,"click")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "＝1+1",
    "'=already quoted",
]


def practices(seed: int = 7) -> list[dict[str, object]]:
    """The good practices: 9 in WEST (two PCNs), 6 in EAST (one), 7,000-8,300 patients each."""
    rng = np.random.default_rng(seed)
    rows = []
    for prefix, box, n in (("W", WEST, 9), ("E", EAST, 6)):
        minx, miny, maxx, maxy = box
        for k in range(n):
            rows.append(
                {
                    "practice_code": f"{prefix}{k + 1:04d}",
                    "name": f"{prefix} Practice {k + 1}",
                    "lat": round(float(rng.uniform(miny + 0.01, maxy - 0.01)), 6),
                    "lon": round(float(rng.uniform(minx + 0.01, maxx - 0.01)), 6),
                    "list_size": int(rng.integers(7_000, 8_300)),
                }
            )
    return rows


def _csv(
    path: Path,
    rows: list[dict[str, object]],
    *,
    delimiter: str = ",",
    encoding: str = "utf-8",
    newline: str = "\n",
    header: list[str] = HEADER,
    quoting: int = csv.QUOTE_MINIMAL,
) -> None:
    with path.open("w", encoding=encoding, newline="") as f:
        writer = csv.DictWriter(
            f,
            fieldnames=header,
            delimiter=delimiter,
            lineterminator=newline,
            extrasaction="ignore",
            quoting=quoting,
        )
        writer.writeheader()
        writer.writerows(rows)


def _box(minx: float, miny: float, maxx: float, maxy: float) -> list[list[list[float]]]:
    return [[[minx, miny], [maxx, miny], [maxx, maxy], [minx, maxy], [minx, miny]]]


def _places(path: Path, features: list[tuple[str, str, dict[str, object] | None]]) -> None:
    path.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"place_id": pid, "place_name": name},
                        "geometry": geometry,
                    }
                    for pid, name, geometry in features
                ],
            },
            ensure_ascii=False,
            indent=1,
        )
        + "\n",
        encoding="utf-8",
    )


def _polygon(box: tuple[float, float, float, float]) -> dict[str, object]:
    return {"type": "Polygon", "coordinates": _box(*box)}


def write_big_practices(path: Path, *, n: int = 200_000, bad_row: int | None = None) -> Path:
    """Write an ``n``-row practices CSV (codes ``B000001`` …) inside WEST and EAST.

    Parameters
    ----------
    path
        File to write.
    n
        Number of practices.
    bad_row
        Spreadsheet row number (header = 1) whose list size is written as ``lots``.
    """
    rng = np.random.default_rng(200_000)
    lat = rng.uniform(53.21, 53.29, n)
    lon = rng.uniform(-0.39, -0.21, n)
    size = rng.integers(1_000, 20_000, n).astype(str)
    if bad_row is not None:
        size[bad_row - 2] = "lots"
    lines = ["practice_code,name,lat,lon,list_size"]
    lines += [
        f"B{k + 1:06d},Practice {k + 1},{a:.6f},{o:.6f},{s}"
        for k, (a, o, s) in enumerate(zip(lat, lon, size, strict=True))
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def main(folder: Path = HERE) -> None:
    """Write every corpus file into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    good = practices()
    _places(
        folder / "places.geojson",
        [("WEST", "West", _polygon(WEST)), ("EAST", "East", _polygon(EAST))],
    )
    _csv(folder / "practices.csv", good)

    # ---------------------------------------------------------------- odd but usable
    hostile = [dict(r, name=HOSTILE_NAMES[k % len(HOSTILE_NAMES)]) for k, r in enumerate(good)]
    _csv(folder / "hostile_names.csv", hostile)
    _places(
        folder / "places_hostile_names.geojson",
        [
            ("WEST", '<script>alert("place")</script> West & "Wolds"', _polygon(WEST)),
            ("EAST", "Dwyrain, Ëast — 東", _polygon(EAST)),
        ],
    )
    formulas = [
        dict(r, name=FORMULAS[k % len(FORMULAS)], current_pcn=FORMULAS[-k % len(FORMULAS)])
        for k, r in enumerate(good)
    ]
    formulas[0]["practice_code"] = "=W0001"
    _csv(
        folder / "formula_names.csv",
        formulas,
        header=[*HEADER, "current_pcn"],
        quoting=csv.QUOTE_ALL,  # a bare carriage return ends a row
    )
    _places(
        folder / "places_formula_ids.geojson",
        [
            ('=HYPERLINK("http://example.invalid","W")', "=1+1 West", _polygon(WEST)),
            ("@EAST", "-East", _polygon(EAST)),
        ],
    )
    cp1252 = [dict(r, name=f"Café {k}") for k, r in enumerate(good)]
    _csv(folder / "pipe_crlf_cp1252.csv", cp1252, delimiter="|", encoding="cp1252", newline="\r\n")
    _csv(folder / "semicolon.csv", good, delimiter=";")
    _places(
        folder / "places_with_empty_place.geojson",
        [
            ("WEST", "West", _polygon(WEST)),
            ("EAST", "East", _polygon(EAST)),
            ("NORTH", "North (no practices)", _polygon((-0.40, 53.30, -0.20, 53.40))),
        ],
    )
    # generalised boundaries: EAST reaches 0.0005 degrees (about 0.5 %) into WEST
    _places(
        folder / "places_slight_overlap.geojson",
        [
            ("WEST", "West", _polygon(WEST)),
            ("EAST", "East", _polygon((-0.3005, 53.20, -0.20, 53.30))),
        ],
    )
    sized = [dict(r, list_size=0) if k == 0 else r for k, r in enumerate(good)]
    _csv(folder / "zero_list_size.csv", sized)
    # a practice 1 km beyond the edge of EAST is snapped to it (within --snap-distance)
    _csv(
        folder / "just_outside.csv",
        [
            *good,
            {
                "practice_code": "S0001",
                "name": "On the beach",
                "lat": 53.25,
                "lon": -0.185,
                "list_size": 8000,
            },
        ],
    )

    # ---------------------------------------------------------------- refused
    text = (folder / "practices.csv").read_text(encoding="utf-8")
    (folder / "truncated.csv").write_text(
        text[: text.rindex(",", 0, len(text) - 20)], encoding="utf-8"
    )
    (folder / "truncated_in_quote.csv").write_text(
        text + 'X9999,"Unfinished name,53.25,-0.25', encoding="utf-8"
    )
    lines = text.splitlines()
    (folder / "wrong_delimiter.csv").write_text(
        "\n".join([lines[0]] + [line.replace(",", ";") for line in lines[1:]]) + "\n",
        encoding="utf-8",
    )
    (folder / "decimal_comma.csv").write_text(
        "\n".join(
            [lines[0].replace(",", ";")]
            + [";".join(f.replace(".", ",") for f in line.split(",")) for line in lines[1:]]
        )
        + "\n",
        encoding="utf-8",
    )
    (folder / "empty.csv").write_bytes(b"")
    (folder / "header_only.csv").write_text(lines[0] + "\n", encoding="utf-8")
    (folder / "spreadsheet.csv").write_bytes(b"PK\x03\x04\x14\x00\x06\x00" + bytes(range(256)))
    _csv(folder / "duplicate_codes.csv", [*good, dict(good[3], name="Copy of row 5")])
    invisible = [
        dict(good[3], practice_code="\u200bW0004\u2060", name="Zero-width copy of row 5"),
        dict(good[6], practice_code="W0007\ufeff\u00ad", name="BOM copy of row 8"),
    ]
    _csv(folder / "invisible_codes.csv", [*good, *invisible])
    nan = [dict(r, lat="NaN") if k == 2 else r for k, r in enumerate(good)]
    nan[5] = dict(nan[5], lon="")
    _csv(folder / "nan_coordinates.csv", nan)
    swapped = [
        dict(r, lat=r["lon"], lon=r["lat"]) if k in (1, 4) else r for k, r in enumerate(good)
    ]
    _csv(folder / "swapped_coordinates.csv", swapped)
    _csv(
        folder / "in_the_sea.csv",
        [
            *good,
            {
                "practice_code": "S0002",
                "name": "North Sea rig",
                "lat": 53.6,
                "lon": 1.2,
                "list_size": 8000,
            },
        ],
    )
    _csv(
        folder / "outside_britain.csv",
        [
            *good,
            {
                "practice_code": "S0003",
                "name": "Paris",
                "lat": 48.85,
                "lon": 2.35,
                "list_size": 8000,
            },
        ],
    )
    huge = [dict(r, list_size="99999999999999999999") if k == 6 else r for k, r in enumerate(good)]
    _csv(folder / "huge_list_size.csv", huge)
    inf = [dict(r, list_size="inf") if k == 7 else r for k, r in enumerate(good)]
    _csv(folder / "infinite_list_size.csv", inf)
    negative = [dict(r, list_size=-120) if k == 3 else r for k, r in enumerate(good)]
    _csv(folder / "negative_list_size.csv", negative)
    _csv(folder / "missing_list_size_column.csv", good, header=HEADER[:4])
    _places(
        folder / "places_invalid.geojson",
        [
            (
                "WEST",
                "West",
                {
                    "type": "Polygon",
                    "coordinates": [
                        [
                            [-0.40, 53.20],
                            [-0.30, 53.30],
                            [-0.30, 53.20],
                            [-0.40, 53.30],
                            [-0.40, 53.20],
                        ]
                    ],
                },
            ),
            ("EAST", "East", _polygon(EAST)),
        ],
    )
    _places(
        folder / "places_empty_polygon.geojson",
        [
            ("WEST", "West", _polygon(WEST)),
            ("EAST", "East", _polygon(EAST)),
            ("VOID", "Nothing", {"type": "Polygon", "coordinates": []}),
        ],
    )
    _places(
        folder / "places_null_geometry.geojson",
        [
            ("WEST", "West", _polygon(WEST)),
            ("EAST", "East", None),
        ],
    )
    _places(
        folder / "places_overlap.geojson",
        [
            ("WEST", "West", _polygon(WEST)),
            ("EAST", "East", _polygon((-0.35, 53.20, -0.20, 53.30))),
        ],
    )
    _places(
        folder / "places_points.geojson",
        [
            ("WEST", "West", {"type": "Point", "coordinates": [-0.35, 53.25]}),
        ],
    )
    _places(
        folder / "places_blank_id.geojson",
        [
            ("WEST", "West", _polygon(WEST)),
            ("", "East", _polygon(EAST)),
        ],
    )
    (folder / "places_truncated.geojson").write_text(
        (folder / "places.geojson").read_text(encoding="utf-8")[:200], encoding="utf-8"
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
