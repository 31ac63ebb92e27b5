"""Join the NHS files into one practices table, and report every practice left out and why."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pcnopt.errors import InputError
from pcnopt.io._tables import MAX_POSTCODE_BYTES, MAX_TABLE_BYTES, check_size, reading
from pcnopt.io.nhs._common import _POSTCODE_RE, _display_postcode, _file_problem, normalise_postcode
from pcnopt.io.nhs.epcn import EPCN_HOW, EPCN_WHAT, MAP_HOW, MAP_WHAT, read_epcn, read_pcn_map
from pcnopt.io.nhs.epraccur import EPRACCUR_HOW, EPRACCUR_WHAT, GP_SETTING, read_epraccur
from pcnopt.io.nhs.lists import LIST_HOW, LIST_WHAT, read_list_sizes
from pcnopt.io.nhs.payments import PAY_HOW, PAY_WHAT, read_payments
from pcnopt.io.nhs.postcodes import PC_HOW, PC_WHAT, read_postcodes

__all__ = ["OUTPUT_COLUMNS", "JoinReport", "NhsJoin", "practices_from_nhs_files"]

OUTPUT_COLUMNS = (
    "practice_code",
    "name",
    "town",
    "locality",
    "postcode",
    "lat",
    "lon",
    "list_size",
    "weighted_population",
    "current_pcn",
    "current_pcn_name",
    "pcn_source",
    "commissioner_code",
    "geocode",
)


@dataclass(frozen=True)
class JoinReport:
    """What the join kept and, for every practice left out or incomplete, why.

    Practice codes are upper-case ODS codes, sorted. Every active GP practice in ``epraccur``
    is in exactly one of: kept (``n_kept``), ``no_list_size``, ``no_coordinates``.

    Parameters
    ----------
    files
        The files read, as ``(role, path)`` pairs.
    n_epraccur_rows
        Rows in ``epraccur``.
    n_active_gp
        Active (status ``A``) GP practices (prescribing setting 4) in ``epraccur``.
    n_list_size_rows
        Practices in the list-size file.
    n_kept
        Practices in the joined table.
    closed_or_inactive
        In the list-size file but closed, dormant or proposed (status not ``A``) in ``epraccur``.
    not_gp_practice
        In the list-size file and active in ``epraccur``, but not prescribing setting 4.
    list_size_not_in_epraccur
        In the list-size file but absent from ``epraccur``.
    no_list_size
        Active GP practices with no list size (left out).
    no_coordinates
        Active GP practices with a list size whose postcode is blank, malformed, or not found
        even at postcode-sector level (left out).
    sector_geocoded
        Kept practices placed on their postcode sector's centroid because the postcode itself
        is not in the postcode file (usually newer than the file).
    no_weighted
        Kept practices with no weighted population (only when a payments file is given).
    no_pcn
        Kept practices with no current PCN (only when an ePCN or map file is given).
    pcn_from_map
        Kept practices whose PCN came from the map file because ePCN had no current
        relationship for them (only when both are given).
    """

    files: tuple[tuple[str, str], ...]
    n_epraccur_rows: int
    n_active_gp: int
    n_list_size_rows: int
    n_kept: int
    closed_or_inactive: tuple[str, ...] = ()
    not_gp_practice: tuple[str, ...] = ()
    list_size_not_in_epraccur: tuple[str, ...] = ()
    no_list_size: tuple[str, ...] = ()
    no_coordinates: tuple[str, ...] = ()
    sector_geocoded: tuple[str, ...] = ()
    no_weighted: tuple[str, ...] | None = None
    no_pcn: tuple[str, ...] | None = None
    pcn_from_map: tuple[str, ...] | None = None

    @property
    def n_left_out(self) -> int:
        """Active GP practices left out of the table."""
        return len(self.no_list_size) + len(self.no_coordinates)

    def adds_up(self) -> bool:
        """Return whether every active GP practice is either kept or left out with a reason."""
        return self.n_kept + self.n_left_out == self.n_active_gp

    def to_text(self) -> str:
        """Return the report as readable lines, with up to ten example codes per reason."""
        lines = ["NHS files joined:"]
        lines += [f"  {role}: {path}" for role, path in self.files]
        lines += [
            f"epraccur rows: {self.n_epraccur_rows:,}",
            f"active GP practices (status A, prescribing setting 4): {self.n_active_gp:,}",
            f"practices in the list-size file: {self.n_list_size_rows:,}",
            f"kept: {self.n_kept:,}",
            f"left out: {self.n_left_out:,}",
        ]
        described = {
            "no_list_size": "active GP practices with no list size (left out)",
            "no_coordinates": "postcode not found, even at sector level (left out)",
            "sector_geocoded": "kept, placed on the postcode-sector centroid",
            "no_weighted": "kept, with no weighted population in the payments file",
            "no_pcn": "kept, with no current PCN",
            "pcn_from_map": "kept, PCN taken from the map file (not current in ePCN)",
            "closed_or_inactive": "in the list-size file but not active in epraccur",
            "not_gp_practice": "in the list-size file but not a GP practice in epraccur",
            "list_size_not_in_epraccur": "in the list-size file but not in epraccur",
        }
        for name, text in described.items():
            codes = getattr(self, name)
            if codes is None:
                continue
            line = f"{text}: {len(codes):,}"
            welsh = sum(code.startswith("W") for code in codes)
            if name == "no_list_size" and welsh:
                line += f" [Welsh (W) practices, not in England's list-size file: {welsh:,}]"
            if codes:
                line += " (" + ", ".join(codes[:10]) + (", ..." if len(codes) > 10 else "") + ")"
            lines.append(line)
        return "\n".join(lines)

    def counts(self) -> dict[str, int]:
        """Return the count of every field (lengths of the code lists), missing lists omitted."""
        out: dict[str, int] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, int):
                out[f.name] = value
            elif isinstance(value, tuple) and f.name != "files":
                out[f.name] = len(value)
        return out


@dataclass(frozen=True)
class NhsJoin:
    """The joined practices table and the report of what was left out.

    Parameters
    ----------
    practices
        One row per kept practice with columns ``practice_code``, ``name``, ``postcode``,
        ``lat``, ``lon`` (WGS84), ``list_size``, ``weighted_population``, ``current_pcn``,
        ``current_pcn_name``, ``pcn_source`` (``"epcn"`` | ``"map"``), ``commissioner_code``
        and ``geocode`` (``"postcode"`` | ``"postcode_sector"``), sorted by practice code.
    report
        Counts and practice codes for every reason a practice was left out or incomplete.
    """

    practices: pd.DataFrame
    report: JoinReport


def _codes(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(set(values)))


def practices_from_nhs_files(
    *,
    epraccur: Path,
    list_sizes: Path,
    postcodes: Path,
    epcn: Path | None = None,
    payments: Path | None = None,
    pcn_map: Path | None = None,
) -> NhsJoin:
    """Join the published NHS, ONS and OS files into one table of GP practices.

    Keeps practices that are active (status ``A``) GP practices (prescribing setting 4) in
    ``epraccur``, have a list size, and can be placed on a map: at their postcode or, when the
    postcode is not in the postcode file, at the centroid of its postcode sector (``"TS18 1"``).
    Every other practice is listed in the report with the reason.

    Parameters
    ----------
    epraccur
        ``epraccur.csv`` from NHS Digital ODS (no header, 27 columns). Gives the code, name,
        postcode, status, prescribing setting and commissioner (column 15: CCG or Sub-ICB
        location ODS code).
    list_sizes
        ``gp-reg-pat-prac-all.csv`` from NHS Digital "Patients Registered at a GP Practice".
    postcodes
        OS Code-Point Open (raw, with easting/northing, converted from EPSG:27700 to WGS84; or
        with added ``lat``/``lon`` columns) or ONS NSPL/ONSPD, as ``.csv``, ``.csv.gz`` or a
        ``.zip`` holding one CSV. The format is detected from the content.
    epcn
        ``ePCN.xlsx`` from NHS Digital ODS, any vintage; gives each practice's current PCN
        (core-partner relationship with no end date, or one ending after today).
    payments
        NHS Payments to General Practice, practice-level CSV; gives the weighted (Carr-Hill)
        population.
    pcn_map
        ``gp-reg-pat-prac-map.csv``; gives the PCN of practices that ``epcn`` does not.

    Returns
    -------
    NhsJoin
        The practices table (see :class:`NhsJoin`) and a :class:`JoinReport`.

    Raises
    ------
    InputError
        When a file is missing, empty, unreadable, or not the file it was given as; the
        message names the file, what was expected and how to fix it.
    """
    given = _given_files(
        epraccur=epraccur,
        list_sizes=list_sizes,
        postcodes=postcodes,
        epcn=epcn,
        payments=payments,
        pcn_map=pcn_map,
    )
    _check_files(given)
    paths = {role: path for role, path, _what, _how in given}
    about = {role: (what, how) for role, _path, what, how in given}

    def read(role: str, reader: Callable[..., pd.DataFrame], **options: Any) -> pd.DataFrame:
        what, how = about[role]
        with reading(paths[role], what=what, fix=how):
            return reader(paths[role], **options)

    # The small files first, so a wrong file is reported before the postcode file is read.
    ep = read("epraccur", read_epraccur)
    ls = read("list_sizes", read_list_sizes)
    pay = read("payments", read_payments) if "payments" in paths else None
    pcn_sources: list[tuple[str, pd.DataFrame]] = []
    if "epcn" in paths:
        pcn_sources.append(("epcn", read("epcn", read_epcn, today=dt.date.today())))
    if "pcn_map" in paths:
        pcn_sources.append(("map", read("pcn_map", read_pcn_map)))

    active_gp = ep[(ep["status"] == "A") & (ep["setting"] == GP_SETTING)]
    joined = active_gp.merge(ls[["practice_code", "list_size"]], on="practice_code", how="inner")
    joined["postcode"] = normalise_postcode(joined["postcode_raw"].fillna(""))
    valid = joined["postcode"].str.fullmatch(_POSTCODE_RE.pattern).astype(bool)
    points = read("postcodes", read_postcodes, wanted=joined.loc[valid, "postcode"])
    joined, placed = _geocoded(joined, valid=valid, points=points)
    kept = _kept(joined[placed])
    kept, no_weighted = _with_weighted_population(kept, pay)
    kept, no_pcn, from_map = _with_pcns(kept, pcn_sources, epcn_given="epcn" in paths)

    practices = kept[list(OUTPUT_COLUMNS)].sort_values("practice_code").reset_index(drop=True)
    report = JoinReport(
        files=tuple((role, str(path)) for role, path in paths.items()),
        n_epraccur_rows=len(ep),
        n_active_gp=len(active_gp),
        n_list_size_rows=len(ls),
        n_kept=len(practices),
        **_not_joined(ep, ls),
        no_coordinates=_codes(joined.loc[~placed, "practice_code"]),
        sector_geocoded=_codes(kept.loc[kept["geocode"] == "postcode_sector", "practice_code"]),
        no_weighted=no_weighted,
        no_pcn=no_pcn,
        pcn_from_map=from_map,
    )
    return NhsJoin(practices=practices, report=report)


def _given_files(
    *,
    epraccur: Path,
    list_sizes: Path,
    postcodes: Path,
    epcn: Path | None,
    payments: Path | None,
    pcn_map: Path | None,
) -> list[tuple[str, Path, str, str]]:
    """Return ``(role, path, what, how)`` of every file given, required ones first."""
    given: list[tuple[str, Path, str, str]] = [
        ("epraccur", Path(epraccur), EPRACCUR_WHAT, EPRACCUR_HOW),
        ("list_sizes", Path(list_sizes), LIST_WHAT, LIST_HOW),
        ("postcodes", Path(postcodes), PC_WHAT, PC_HOW),
    ]
    optional = (
        ("epcn", epcn, EPCN_WHAT, EPCN_HOW),
        ("payments", payments, PAY_WHAT, PAY_HOW),
        ("pcn_map", pcn_map, MAP_WHAT, MAP_HOW),
    )
    given += [(role, Path(path), what, how) for role, path, what, how in optional if path]
    return given


def _check_files(given: list[tuple[str, Path, str, str]]) -> None:
    """Refuse missing, empty and far too large files, every missing or empty one at once."""
    problems = [
        _file_problem(path, what, how, folder_ok=role == "postcodes")
        for role, path, what, how in given
    ]
    if any(problems):
        raise InputError([p for p in problems if p is not None])
    # Far past any real file of its kind: refused before reading (an .xlsx without a
    # <dimension> can expand twenty-fold), and a damaged file is named, not a traceback.
    for role, path, what, _how in given:
        check_size(
            path, limit=MAX_POSTCODE_BYTES if role == "postcodes" else MAX_TABLE_BYTES, what=what
        )


def _not_joined(ep: pd.DataFrame, ls: pd.DataFrame) -> dict[str, tuple[str, ...]]:
    """Practices of one file that the other leaves out: the list-size file's and epraccur's."""
    active = ep["status"] == "A"
    gp = ep["setting"] == GP_SETTING
    ls_codes = set(ls["practice_code"])
    active_gp_codes = ep.loc[active & gp, "practice_code"]
    return {
        "closed_or_inactive": _codes(ls_codes & set(ep.loc[~active, "practice_code"])),
        "not_gp_practice": _codes(ls_codes & set(ep.loc[active & ~gp, "practice_code"])),
        "list_size_not_in_epraccur": _codes(ls_codes - set(ep["practice_code"])),
        "no_list_size": _codes(active_gp_codes[~active_gp_codes.isin(ls_codes)]),
    }


def _geocoded(
    joined: pd.DataFrame, *, valid: pd.Series, points: pd.DataFrame
) -> tuple[pd.DataFrame, pd.Series]:
    """Return the practices with ``lat``, ``lon`` and ``geocode``, and which of them are placed.

    A valid postcode found in ``points`` gives the practice its position; one that is not
    gives its sector's centroid when the sector is there.
    """
    lat_of, lon_of = points["lat"].to_dict(), points["lon"].to_dict()
    sector_key = "sector:" + joined["postcode"].str[:-2]
    unit = valid & joined["postcode"].isin(lat_of.keys())
    in_sector = valid & ~unit & sector_key.isin(lat_of.keys())
    out = joined.assign(
        lat=np.where(unit, joined["postcode"].map(lat_of), sector_key.map(lat_of)),
        lon=np.where(unit, joined["postcode"].map(lon_of), sector_key.map(lon_of)),
        geocode=np.where(unit, "postcode", "postcode_sector"),
    )
    return out, unit | in_sector


def _kept(placed: pd.DataFrame) -> pd.DataFrame:
    """Return the placed practices with numeric positions, whole list sizes, spaced postcodes."""
    kept = placed.copy()
    kept["lat"], kept["lon"] = kept["lat"].astype(float), kept["lon"].astype(float)
    kept["list_size"] = kept["list_size"].round().astype("int64")
    kept["postcode"] = _display_postcode(kept["postcode"])
    return kept


def _with_weighted_population(
    kept: pd.DataFrame, pay: pd.DataFrame | None
) -> tuple[pd.DataFrame, tuple[str, ...] | None]:
    """Add ``weighted_population``; return it and the practices without one (None: no file)."""
    kept = kept.copy()
    kept["weighted_population"] = np.nan
    if pay is None:
        return kept, None
    weighted = pay.set_index("practice_code")["weighted_population"]
    kept["weighted_population"] = kept["practice_code"].map(weighted).astype(float)
    return kept, _codes(kept.loc[kept["weighted_population"].isna(), "practice_code"])


def _with_pcns(
    kept: pd.DataFrame, pcn_sources: list[tuple[str, pd.DataFrame]], *, epcn_given: bool
) -> tuple[pd.DataFrame, tuple[str, ...] | None, tuple[str, ...] | None]:
    """Add each practice's current PCN from the first source that has one.

    Returns the practices, those with no PCN and those whose PCN came from the map file while
    ePCN was given too (each None when it does not apply).
    """
    kept = kept.copy()
    for column in ("current_pcn", "current_pcn_name", "pcn_source"):
        kept[column] = pd.Series(pd.NA, index=kept.index, dtype="str")
    from_map: tuple[str, ...] | None = None
    for source, table in pcn_sources:
        pcns = table.set_index("practice_code")
        fill = kept["current_pcn"].isna() & kept["practice_code"].isin(pcns.index)
        codes = kept.loc[fill, "practice_code"]
        kept.loc[fill, "current_pcn"] = codes.map(pcns["current_pcn"]).to_numpy()
        kept.loc[fill, "current_pcn_name"] = codes.map(pcns["current_pcn_name"]).to_numpy()
        kept.loc[fill, "pcn_source"] = source
        if source == "map" and epcn_given:
            from_map = _codes(codes)
    no_pcn = _codes(kept.loc[kept["current_pcn"].isna(), "practice_code"]) if pcn_sources else None
    return kept, no_pcn, from_map
