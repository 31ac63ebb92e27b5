"""``validate --nest-column``: the levels above PCNs checked, and each level's units inside
one unit of the level above."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from pcnopt import geography
from pcnopt.errors import InputError, OptionError, Problem
from pcnopt.io.assignments import assignments_from_file
from pcnopt.run import POPULATIONS, RunConfig, load_inputs
from pcnopt.settings import parse_band
from pcnopt.validation import ValidationReport


@dataclass(frozen=True)
class NestingReport:
    """What ``validate --nest-column`` found about the outer level and the nesting.

    Attributes
    ----------
    outer
        Every rule checked on the outer level's units (contiguous, inside one place, in band or
        a named exception), as for PCNs.
    splits
        Inner units split across outer units (:func:`pcnopt.validation.split_units`).
    inner_of
        Outer unit → its inner units (``;``-joined).
    """

    outer: ValidationReport
    splits: pd.DataFrame
    inner_of: Mapping[str, str]

    @property
    def problems(self) -> tuple[str, ...]:
        """Every broken rule of the outer level, then every split inner unit."""
        return (*self.outer.problems, *self.splits["problem"])

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_text(self) -> str:
        """A readable summary for the terminal."""
        lines = [self.outer.to_text()]
        lines.append(
            f"{len(self.splits)} unit(s) of the level below split across "
            f"{self.outer.unit}s" + (":" if len(self.splits) else ".")
        )
        lines += [f"  - {p}" for p in self.splits["problem"][:50]]
        return "\n".join(lines)

    def table(self, *, inner: pd.DataFrame) -> pd.DataFrame:
        """Every unit's findings, one row each: the PCNs (``inner``, the validator's per-PCN
        table), then the outer units with their inner units, in a ``level`` column."""
        pcns = inner.rename(columns={"pcn_id": "unit_id"})
        pcns.insert(0, "level", "PCN")
        out = self.outer.pcns.rename(columns={"pcn_id": "unit_id"})
        out.insert(0, "level", self.outer.unit)
        out.insert(5, "inner_units", out["unit_id"].map(self.inner_of).fillna(""))
        return pd.concat([pcns, out], ignore_index=True)


def nest_band(column: str | None, band: str | None) -> tuple[float, float] | None:
    """The outer level's band of ``validate --nest-column``, or None without a nest column."""
    if column is None:
        if band is not None:
            raise OptionError("--nest-band needs --nest-column naming the outer level's column.")
        return None
    if band is None:
        raise OptionError(
            f"--nest-column {column} needs --nest-band MIN-MAX, the outer level's size band "
            "(e.g. --nest-band 100000-250000, as given to 'pcnopt neighbourhoods --band')."
        )
    return parse_band(band, option="--nest-band")


def nest_levels(
    columns: Sequence[str] | None, bands: Sequence[str] | None
) -> list[tuple[str, tuple[float, float]]]:
    """The levels above PCNs of ``validate --nest-column/--nest-band`` (repeated, from the PCNs
    outwards) as (column, band) pairs; empty without a nest column."""
    columns, bands = list(columns or []), list(bands or [])
    if len(columns) <= 1 and len(bands) <= 1:
        band = nest_band(next(iter(columns), None), next(iter(bands), None))
        return [] if band is None else [(columns[0], band)]
    if len(columns) != len(bands):
        raise OptionError(
            f"{len(columns)} --nest-column options but {len(bands)} --nest-band: give one band "
            "per level, in the same order (from the PCNs outwards)."
        )
    return [(c, parse_band(b, option="--nest-band")) for c, b in zip(columns, bands, strict=True)]


def level_name(column: str) -> str:
    """A level's name from its id column: ``neighbourhood_id`` → ``neighbourhood``."""
    return column.removesuffix("_id").removesuffix("_code").replace("_", " ") or column


def outer_units_from_file(path: Path, *, column: str) -> pd.DataFrame:
    """``practice_code`` and ``outer`` (the column named by ``--nest-column``) of a table.

    Raises
    ------
    InputError
        When the file has no such column.
    """
    from pcnopt.io._tables import read_csv_text

    columns = list(read_csv_text(path).columns)
    if column not in columns:
        raise InputError(
            Problem(
                str(path),
                f"has no column {column!r} (--nest-column), so the level above cannot be checked.",
                f"give the outer level's id column, one of: {', '.join(columns)} (e.g. "
                "neighbourhood_id in a 'pcnopt neighbourhoods' assignments.csv).",
                column=column,
            )
        )
    return assignments_from_file(path, pcn_column=column).rename(columns={"pcn_id": "outer"})


def validate_nesting(
    config: RunConfig,
    *,
    assignments: pd.DataFrame,
    band: tuple[float, float],
    outer_name: str = "neighbourhood",
    inner_name: str = "PCN",
) -> NestingReport:
    """Check the level above PCNs: its rules, and that every PCN lies inside one of its units.

    Parameters
    ----------
    config
        Practices, places and the commissioners' rules (its PCN band is checked separately,
        by :func:`pcnopt.run.run_validate`).
    assignments
        One row per practice: ``practice_code``, ``pcn_id`` (inner) and ``outer``.
    band
        The outer level's band.
    outer_name, inner_name
        What each level's units are called in the findings.
    """
    from pcnopt.validation import split_units, validate_configuration

    practices, places, _ = load_inputs(config)
    if config.area:  # a national configuration, audited in the area only
        assignments = assignments[assignments["practice_code"].isin(practices["practice_code"])]
    _, edges = geography.catchments_and_adjacency(practices, places)
    population = POPULATIONS[config.population]
    outer = validate_configuration(
        practices=practices,
        assignments=assignments[["practice_code", "outer"]].rename(columns={"outer": "pcn_id"}),
        edges=edges,
        min_size=band[0],
        max_size=band[1],
        population=population,
        excluded=frozenset(config.excluded),
        unit=outer_name,
    )
    weights = practices.set_index("practice_code")[population]
    splits = split_units(
        assignments,
        inner="pcn_id",
        outer="outer",
        weights=weights,
        inner_name=inner_name,
        outer_name=outer_name,
    )
    placed = assignments[assignments["pcn_id"].astype("string").str.strip().fillna("") != ""]
    inner_of = placed.groupby("outer")["pcn_id"].agg(lambda s: ";".join(sorted(set(map(str, s)))))
    return NestingReport(outer, splits, {str(k): str(v) for k, v in inner_of.items()})
