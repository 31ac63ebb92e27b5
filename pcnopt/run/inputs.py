"""Read the practices and places of a run, place every practice, and build its geography once.

:func:`load_inputs` reads and checks the inputs; :class:`GeographyCache` keeps the catchments and
adjacency of runs on the same sites and places; :func:`check_rules_across_places` refuses
commissioners' rules that name unknown practices or span places.
"""

from __future__ import annotations

import hashlib
import threading
from importlib import resources
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from pcnopt import geography
from pcnopt.errors import InputError, OptionError, Problem
from pcnopt.io.places import places_from_file
from pcnopt.io.practices import current_pcn_columns_of_file, practices_from_file
from pcnopt.settings import POPULATIONS, RunConfig

# the embedded demo ships as package data; wheels install it as plain files, so it has a path
DEMO = Path(str(resources.files("pcnopt").joinpath("data", "demo")))
DEFAULT_PRACTICES = DEMO / "practices.csv"
DEFAULT_PLACES = DEMO / "places.geojson"
DEFAULT_PLACE_COLUMN = "place_id"


def load_inputs(
    config: RunConfig, *, practices_table: gpd.GeoDataFrame | None = None
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, pd.DataFrame]:
    """Read the practices and places and place every practice.

    Parameters
    ----------
    config
        The run's settings.
    practices_table
        A practices table already in memory (as :func:`practices_from_file` returns it, e.g.
        changed by a scenario), used instead of reading ``config.practices``; with
        ``config.place_field`` its ``place_id`` column holds each practice's place.

    Returns
    -------
    practices, places, snapped
        Practices with ``place_id``; place regions; practices snapped to a place.
    """
    practices_path = config.practices or DEFAULT_PRACTICES
    if config.practices is None:
        places_path: Path | None = config.places or DEFAULT_PLACES
        place_column: str | None = config.place_column or DEFAULT_PLACE_COLUMN
        if not practices_path.exists():
            raise InputError(
                Problem(
                    str(practices_path),
                    "the embedded default data is missing.",
                    "reinstall pcnopt (or run 'python data/make_default_data.py' in a checkout), "
                    "or pass --practices.",
                )
            )
    else:
        places_path, place_column = config.places, config.place_column
    practices = (
        practices_from_file(practices_path, columns=config.column_mapping)
        if practices_table is None
        else practices_table
    )
    population = POPULATIONS[config.population]
    if population == "weighted_population" and practices[population].isna().any():
        bad = practices[practices[population].isna()]
        raise InputError(
            Problem(
                str(practices_path),
                "--population weighted needs a weighted population for every practice.",
                "fill 'weighted_population' or use --population registered.",
                rows=tuple(int(r) for r in bad["source_row"]),
                column="weighted_population",
            )
        )
    if config.place_field is not None:
        field_name = config.place_field
        raw = (
            practices_table
            if practices_table is not None
            else practices_from_file(
                practices_path, columns={**config.column_mapping, "place_id": field_name}
            )
        )
        # joined on the code, not by row position (the two tables need not share an order)
        place_of = dict(zip(raw["practice_code"], raw["place_id"], strict=True))
        practices = practices.assign(place_id=practices["practice_code"].map(place_of))
        blank = practices["place_id"].isna()
        if blank.any():
            raise InputError(
                Problem(
                    str(practices_path),
                    "the place is blank.",
                    f"fill '{field_name}' for every practice.",
                    rows=tuple(int(r) for r in practices.loc[blank, "source_row"]),
                    column=field_name,
                )
            )
        if config.area:
            known = set(practices["place_id"].astype(str))
            unknown = [a for a in dict.fromkeys(config.area) if a not in known]
            if unknown:
                raise InputError(
                    Problem(
                        str(practices_path),
                        f"--area names {', '.join(map(repr, unknown))}, not a value of "
                        f"'{field_name}'.",
                        "use values of that column, e.g. "
                        + ", ".join(sorted(known)[:8])
                        + (" …" if len(known) > 8 else "")
                        + ".",
                        column=field_name,
                    )
                )
            practices = practices[practices["place_id"].astype(str).isin(config.area)]
        practices = practices.assign(place_method="field", snap_m=0.0)
        places = geography.places_from_field(practices)
        snapped = practices.iloc[0:0][["practice_code", "name", "place_id", "snap_m"]]
    else:
        assert places_path is not None and place_column is not None
        places = places_from_file(
            places_path,
            id_column=place_column,
            repair=config.repair_geometries,
            area=config.area,
        )
        if config.area:
            # every place decides where a practice lies; only the area's practices are kept,
            # so a practice of a neighbouring place is never snapped into the area
            inside = geography.practices_in_area(practices, places, area=config.area)
            practices = practices[inside]
        assigned = geography.assign_places(
            practices,
            places[places["place_id"].isin(config.area)] if config.area else places,
            snap_distance_m=config.snap_distance_m,
            practices_file=str(practices_path),
        )
        practices, snapped = assigned.practices, assigned.snapped
        places = places[places["place_id"].isin(practices["place_id"])].reset_index(drop=True)
    return practices, places, snapped


def current_pcn_statement(config: RunConfig) -> str:
    """Which columns of the practices table give the current PCNs, for the run's first lines."""
    return current_pcn_columns_of_file(
        config.practices or DEFAULT_PRACTICES, columns=config.column_mapping
    ).describe()


class GeographyCache:
    """Catchment cells and adjacency, built once for every run on the same sites and places.

    A batch of scenarios that differ only in settings (the band, the objective, the rules)
    shares one geography: for all of England that saves about 10 s a scenario. Scenarios
    whose changes move, add or remove a practice get their own. Safe to use from several
    threads; each caller gets its own copies.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[threading.Lock, list[Any]]] = {}

    @staticmethod
    def key(practices: gpd.GeoDataFrame, places: gpd.GeoDataFrame) -> str:
        """A digest of what the geography depends on: sites, their places, place shapes."""
        digest = hashlib.sha256()
        for values in (
            practices["practice_code"].astype(str),
            practices["place_id"].astype(str),
            places["place_id"].astype(str),
        ):
            digest.update("\x1f".join(values).encode())
            digest.update(b"\x1e")
        digest.update(np.ascontiguousarray(shapely.get_coordinates(practices.geometry)).tobytes())
        for geometry in places.geometry:
            digest.update(shapely.to_wkb(geometry))
        digest.update(str(practices.crs).encode() + str(places.crs).encode())
        return digest.hexdigest()

    def get(
        self, practices: gpd.GeoDataFrame, places: gpd.GeoDataFrame
    ) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
        """Catchments and adjacency of ``practices`` in ``places`` (built on the first call)."""
        key = self.key(practices, places)
        with self._lock:
            lock, slot = self._entries.setdefault(key, (threading.Lock(), []))
        with lock:
            if not slot:
                slot.append(geography.catchments_and_adjacency(practices, places))
        catchments, edges = slot[0]
        return catchments.copy(), edges.copy()


def check_rules_across_places(practices: pd.DataFrame, config: RunConfig) -> None:
    """Refuse commissioners' rules that name unknown practices or span places."""
    from pcnopt.io.options import check_known_places

    check_known_places(
        config.approved_small_places, practices["place_id"], option="--approve-small"
    )
    place_of = dict(zip(practices["practice_code"], practices["place_id"], strict=True))
    named = [(f"--keep-together {','.join(g)}", g) for g in config.keep_together]
    named += [(f"--keep-apart {','.join(g)}", g) for g in config.keep_apart]
    named += [(f"--fix {code}={label}", (code,)) for code, label in config.fixed]
    named += [(f"--exclude {code}", (code,)) for code in config.excluded]
    named += [(f"--special {code}", (code,)) for code in config.special]
    problems = []
    for rule, codes in named:
        unknown = [c for c in codes if c not in place_of]
        if unknown:
            problems.append(f"{rule} names {', '.join(unknown)}, not in the practices table")
    hint = " Check the codes: a merged or closed practice no longer exists." if problems else ""
    for group in config.keep_together:
        places = sorted({place_of[c] for c in group if c in place_of})
        if len(places) > 1:
            problems.append(
                f"keep-together {','.join(group)} spans places {', '.join(places)}; "
                "a PCN cannot cross a place boundary"
            )
    label_places: dict[str, set[str]] = {}
    for code, label in config.fixed:
        if code in place_of:
            label_places.setdefault(label, set()).add(place_of[code])
    for label, places_ in sorted(label_places.items()):
        if len(places_) > 1:
            problems.append(
                f"practices fixed to {label!r} are in different places "
                f"({', '.join(sorted(places_))}); a PCN cannot cross a place boundary"
            )
    if problems:
        raise OptionError("; ".join(problems) + "." + hint)
