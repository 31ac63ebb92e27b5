"""Run settings: one schema for what an ``optimise`` run (and each scenario) is asked to do.

:class:`RunConfig` is the only place the settings are spelled and checked. It is a frozen
pydantic model: constructing one checks types and the rules between settings, and reads no file
and probes no solver (:func:`check_resources` does that, where a run starts). The command line
and the scenario TOML both map onto it through :data:`SETTINGS`, the one table of each
setting's name in the caller's terms (``--min-size`` on the command line, ``band.min_size`` in a
scenario file); an error names the setting through the same table (:class:`SettingError`).
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pcnopt.errors import OptionError

if TYPE_CHECKING:
    from pcnopt.model import SolveOptions

POPULATIONS = {"registered": "list_size", "weighted": "weighted_population"}


@dataclass(frozen=True)
class Setting:
    """How one setting is called by each caller.

    Attributes
    ----------
    flag
        The command-line option (``--min-size``).
    key
        The scenario file's key (``band.min_size``), or ``""`` when a scenario cannot set it.
    kind
        How a scenario file's value is checked and converted (see
        :func:`pcnopt.scenarios.schema.read_scenario_file`).
    """

    flag: str
    key: str = ""
    kind: str = ""


#: Every setting of :class:`RunConfig`, by field name, in the callers' terms.
SETTINGS: dict[str, Setting] = {
    "practices": Setting("--practices", "inputs.practices", "path"),
    "places": Setting("--places", "inputs.places", "path"),
    "place_column": Setting("--place-column", "inputs.place_column", "str"),
    "place_field": Setting("--place-field", "inputs.place_field", "str"),
    "area": Setting("--area", "inputs.area", "strs"),
    "columns": Setting("--column", "inputs.columns", "table_str"),
    "current_pcn": Setting("--current-pcn", "inputs.current_pcn", "str"),
    "current_pcn_name": Setting("--current-pcn-name", "inputs.current_pcn_name", "str"),
    "min_size": Setting("--min-size", "band.min_size", "number"),
    "max_size": Setting("--max-size", "band.max_size", "number"),
    "population": Setting("--population", "inputs.population", "str"),
    "snap_distance_m": Setting("--snap-distance", "inputs.snap_distance_m", "number"),
    "repair_geometries": Setting("--repair-geometries", "inputs.repair_geometries", "bool"),
    "objective": Setting("--objective", "solver.objective", "objective"),
    "lexicographic": Setting("--lexicographic", "solver.lexicographic", "bool"),
    "squared": Setting("--squared", "solver.squared", "bool"),
    "n_pcns": Setting("--n-pcns", "solver.n_pcns", "n_pcns"),
    "total_pcns": Setting("--total-pcns", "solver.total_pcns", "n_pcns"),
    "min_pcns": Setting("--min-pcns", "solver.min_pcns", "int"),
    "max_pcns": Setting("--max-pcns", "solver.max_pcns", "int"),
    "time_limit": Setting("--time-limit", "solver.time_limit", "number"),
    "solver": Setting("--solver", "solver.name", "str"),
    "mip_gap": Setting("--mip-gap", "solver.mip_gap", "number"),
    "keep_compliant": Setting("--keep-compliant", "solver.keep_compliant", "bool"),
    "keep_together": Setting("--keep-together", "rules.keep_together", "groups"),
    "keep_apart": Setting("--keep-apart", "rules.keep_apart", "groups"),
    "fixed": Setting("--fix", "rules.fixed", "table_str"),
    "excluded": Setting("--exclude", "rules.excluded", "codes"),
    "special": Setting("--special", "rules.special", "codes"),
    "approved_small_places": Setting("--approve-small", "rules.approved_small_places", "strs"),
    "jobs": Setting("--jobs"),
    "funding_year": Setting("--year", "funding.year", "year"),
    "rates": Setting("--rates", "funding.rates", "path"),
    "input_dates": Setting("--input-date", "funding.input_dates", "table_str"),
    "levels": Setting("--level", "level", "levels"),
}
#: The sections of a scenario file, in the order its messages list them.
SECTIONS = ("inputs", "band", "solver", "funding", "rules")
#: A level's name: a lower-case word (it names the ``<name>_id`` column and ``units_<name>.csv``).
LEVEL_NAME = re.compile(r"^[a-z][a-z0-9_]{0,29}\Z")
#: Names a level cannot take: their ``<name>_id`` column is another column of the outputs.
RESERVED_LEVEL_NAMES = frozenset({"place", "practice"})


def flag_name(setting: str) -> str:
    """A setting as the command line calls it (``--min-size``)."""
    return SETTINGS[setting].flag


def key_name(setting: str) -> str:
    """A setting as a scenario file calls it (``band.min_size``)."""
    return SETTINGS[setting].key or SETTINGS[setting].flag


class SettingError(OptionError):
    """A run setting is invalid; the message names it in the caller's terms.

    Parameters
    ----------
    template
        The message, with each setting written as ``{field}`` (``"{min_size} must be >= 0"``).
    settings
        The settings concerned, the one to change first.

    The exception's text names settings as the command line does; :meth:`render` names them
    as another caller does (``render(key_name)`` for a scenario file).
    """

    def __init__(self, template: str, *settings: str) -> None:
        self.template = template
        self.settings = settings
        super().__init__(self.render(flag_name))

    def render(self, name: Callable[[str], str]) -> str:
        """The message with every ``{field}`` replaced by ``name(field)``."""
        return re.sub(
            r"\{([a-z_]+)\}",
            lambda m: name(m[1]) if m[1] in SETTINGS else m[0],
            self.template,
        )


class RunConfig(BaseModel):
    """Settings of one ``optimise`` run (checked on creation, without reading anything).

    Parameters
    ----------
    practices
        Practices file; ``None`` runs on the embedded demo (``pcnopt/data/demo``).
    places
        Place boundary file (with ``place_column``); ``None`` with ``place_field`` takes the
        place from a column of the practices table.
    place_column
        Id column of the places file.
    place_field
        Column of the practices table holding each practice's place.
    area
        Place ids the run is about (``--area``): only those places' practices are used, and
        practices of neighbouring places are never snapped in. Empty: every place.
    columns
        Explicit (canonical, file column) pairs for the practices table.
    current_pcn, current_pcn_name
        The practices table's column of each practice's current PCN and of its name; by
        default ``current_pcn`` or the newest dated column (``pcn2024_10_code``) and the name
        column beside it (see :func:`pcnopt.io.practices.current_pcn_columns`).
    min_size, max_size
        The PCN size band.
    population
        "registered" (list size) or "weighted" (Carr-Hill weighted population) for the band.
    snap_distance_m
        Practices up to this far outside every place are snapped to the nearest one.
    repair_geometries
        Repair invalid place polygons instead of stopping.
    objective, lexicographic, squared, n_pcns, min_pcns, max_pcns, time_limit, solver, mip_gap
        Passed to :class:`pcnopt.model.SolveOptions` for every place.
    total_pcns
        The number of PCNs of the whole area, shared out between places at the least summed
        objective (:mod:`pcnopt.run.total`), or ``"fewest"`` (each place at its fewest); not
        with ``n_pcns``.
    keep_together, keep_apart
        Groups of practice codes that must share / must not share a PCN.
    fixed
        ``(practice code, label)`` pairs: equal labels share a PCN, different labels do not.
    keep_compliant
        Keep every current PCN that is in band, contiguous and inside one place exactly as it
        is; only the others are redesigned (:func:`pcnopt.model.compliance`).
    excluded
        Practices left out of every PCN (listed in ``assignments.csv`` with no PCN).
    special
        More practices to treat as special services (besides those found by name and list
        size, see :func:`pcnopt.geography.special_practices`).
    approved_small_places
        Places where PCNs below ``min_size`` are approved where the band cannot be met.
    jobs
        Places solved in parallel (processes); 1 solves in this process.
    funding_year
        Contract year of the ARRS sums and entitlements written with the configuration
        (``None``: no funding tables); by default the contract year containing today's date
        (years start on 1 April).
    rates
        A rates file replacing the shipped ``pcnopt/rates/ncdes.yaml``.
    input_dates
        ``(input, YYYY-MM-DD)`` pairs: the dates of the list sizes (``list_size``), the weighted
        populations (``weighted_population``) and the PCN membership (``membership``), carried
        into the funding tables, which say per figure when an input is older than the DES date.
    levels
        Nested levels, outermost first, as ``(name, min, max)``: every unit of a level lies
        inside one unit of the level above (``--level neighbourhood=200000-350000 --level
        pcn=30000-50000``; ``[[level]]`` tables in a scenario). Empty: one level, the PCNs of
        ``min_size``–``max_size``. With levels, the innermost level's band replaces
        ``min_size``/``max_size`` (see :mod:`pcnopt.neighbourhoods`).

    Raises
    ------
    SettingError
        Naming the setting (see :data:`SETTINGS`).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    practices: Path | None = None
    places: Path | None = None
    place_column: str | None = None
    place_field: str | None = None
    area: tuple[str, ...] = ()
    columns: tuple[tuple[str, str], ...] = ()
    current_pcn: str | None = None
    current_pcn_name: str | None = None
    min_size: int | float = 30_000
    max_size: int | float = 50_000
    population: str = "registered"
    snap_distance_m: int | float = 5_000.0
    repair_geometries: bool = False
    objective: str | tuple[tuple[str, float], ...] = "compact"
    lexicographic: bool = False
    squared: bool = False
    n_pcns: int | str | None = None
    total_pcns: int | str | None = None
    min_pcns: int | None = None
    max_pcns: int | None = None
    time_limit: int | float | None = None
    solver: str = "cbc"
    mip_gap: int | float = 0.0
    keep_compliant: bool = False
    keep_together: tuple[tuple[str, ...], ...] = ()
    keep_apart: tuple[tuple[str, ...], ...] = ()
    fixed: tuple[tuple[str, str], ...] = ()
    excluded: tuple[str, ...] = ()
    special: tuple[str, ...] = ()
    approved_small_places: tuple[str, ...] = ()
    jobs: int = 0
    funding_year: str | None = Field(default_factory=lambda: _contract_year_today())
    rates: Path | None = None
    input_dates: tuple[tuple[str, str], ...] = ()
    levels: tuple[tuple[str, float, float], ...] = ()

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as exc:
            error = exc.errors()[0]
            field = str(error["loc"][0]) if error["loc"] else ""
            if field in SETTINGS:
                raise SettingError(
                    f"{{{field}}}: {error['msg']} (got {error['input']!r}).", field
                ) from None
            raise SettingError(f"{error['msg']}: {'.'.join(map(str, error['loc']))}.") from None
        self._check()

    def _check(self) -> None:
        """The rules between settings; raise on the first one broken."""
        for name in ("min_size", "max_size", "snap_distance_m"):
            value = getattr(self, name)
            if not math.isfinite(value):  # nan and inf are no amount anyone means (nor JSON)
                raise SettingError(f"{{{name}}} must be a finite number, not {value!r}.", name)
        if self.min_size < 0 or self.max_size <= 0:
            raise SettingError(
                "{min_size} and {max_size} must be positive numbers of patients.", "min_size"
            )
        if self.min_size > self.max_size:
            raise SettingError(
                f"{{min_size}} ({self.min_size:,.0f}) is larger than {{max_size}} "
                f"({self.max_size:,.0f}); give a band with min <= max.",
                "min_size",
                "max_size",
            )
        if self.population not in POPULATIONS:
            raise SettingError(
                f"{{population}} must be one of {', '.join(POPULATIONS)}.", "population"
            )
        if self.places is not None and self.place_field is not None:
            raise SettingError(
                "give either {places} (with {place_column}) or {place_field}, not both.",
                "places",
                "place_field",
            )
        if self.places is not None and not self.place_column:
            raise SettingError(
                "{places} needs {place_column} naming the file's place id column.",
                "places",
                "place_column",
            )
        if self.places is None and self.place_column and self.practices is not None:
            raise SettingError("{place_column} needs {places} (the boundary file).", "places")
        if self.practices is not None and self.places is None and self.place_field is None:
            raise SettingError(
                "say where the places come from: {places} FILE {place_column} COL, or "
                "{place_field} COL (a column of the practices table).",
                "places",
            )
        if self.snap_distance_m < 0:
            raise SettingError("{snap_distance_m} must be >= 0 metres.", "snap_distance_m")
        if self.jobs < 0:
            raise SettingError("{jobs} must be >= 0 (0 uses every core).", "jobs")
        self._check_total_pcns()
        self._check_input_dates()
        self._check_levels()
        # the model checks its own options (objective names, counts, contradictory rules)
        try:
            self.solve_options()
        except OptionError as exc:
            raise SettingError(str(exc)) from None

    @property
    def column_mapping(self) -> dict[str, str]:
        """The practices table's columns named by the user: ``--column`` and the current PCN's."""
        return column_mapping(
            columns=self.columns,
            current_pcn=self.current_pcn,
            current_pcn_name=self.current_pcn_name,
        )

    def _check_total_pcns(self) -> None:
        total = self.total_pcns
        if total is None:
            return
        if self.n_pcns is not None:
            raise SettingError(
                "give either {total_pcns} (PCNs of the whole area, shared out between places) "
                "or {n_pcns} (PCNs in every place), not both.",
                "total_pcns",
                "n_pcns",
            )
        if total != "fewest" and not (
            isinstance(total, int) and not isinstance(total, bool) and total >= 1
        ):
            raise SettingError(
                f"{{total_pcns}} must be a whole number >= 1 or 'fewest', not {total!r}.",
                "total_pcns",
            )

    def _check_input_dates(self) -> None:
        """Each input date names a known input and is a date."""
        if self.input_dates:
            from pcnopt.funding.money import input_dates_from_pairs

            try:
                input_dates_from_pairs(self.input_dates)
            except OptionError as exc:
                raise SettingError(f"{{input_dates}}: {exc}", "input_dates") from None

    def _check_levels(self) -> None:
        """Two or more levels, each named once with a band, every band able to nest."""
        if not self.levels:
            return
        if len(self.levels) < 2:
            raise SettingError(
                "give two or more {levels} options, outermost first (e.g. "
                "neighbourhood=200000-350000 then pcn=30000-50000); one level is the PCN band "
                "({min_size}, {max_size}).",
                "levels",
            )
        for other in ("total_pcns", "keep_compliant"):
            if getattr(self, other):
                raise SettingError(
                    f"{{levels}} designs every level top-down; {{{other}}} applies to one "
                    "level of PCNs. Give one or the other.",
                    "levels",
                    other,
                )
        seen: set[str] = set()
        for name, low, high in self.levels:
            if not LEVEL_NAME.match(name) or name in RESERVED_LEVEL_NAMES:
                raise SettingError(
                    f"{{levels}} {name!r} is not a level name: use a lower-case word of "
                    "letters, digits and _ starting with a letter (e.g. neighbourhood, pcn), "
                    f"not {' or '.join(sorted(RESERVED_LEVEL_NAMES))}.",
                    "levels",
                )
            if name in seen:
                raise SettingError(
                    f"{{levels}} {name!r} is named twice; give each level its own name.",
                    "levels",
                )
            seen.add(name)
            if not (0 <= low <= high < math.inf):
                raise SettingError(
                    f"{{levels}} {name}: {low:g}-{high:g} is not a band; give MIN-MAX with "
                    "0 <= MIN <= MAX.",
                    "levels",
                )
        for (outer, _, top), (inner, low, _) in itertools.pairwise(self.levels):
            if top < low:
                raise SettingError(
                    f"{{levels}} {outer} (at most {top:,.0f}) cannot hold a {inner} of at "
                    f"least {low:,.0f}: the bands cannot nest. Give the levels outermost "
                    f"first, each {outer}'s maximum at least the {inner}'s minimum.",
                    "levels",
                )
        fields = type(self).model_fields
        given = (self.min_size, self.max_size)
        innermost = self.levels[-1]
        if given not in ((fields["min_size"].default, fields["max_size"].default), innermost[1:]):
            raise SettingError(
                f"{{min_size}}/{{max_size}} give {given[0]:,.0f}-{given[1]:,.0f}, but with "
                f"{{levels}} the innermost level ({innermost[0]}, {innermost[1]:,.0f}-"
                f"{innermost[2]:,.0f}) is the PCN band. Give the band once, as the innermost "
                "level.",
                "levels",
                "min_size",
                "max_size",
            )

    def solve_options(self, **overrides: Any) -> SolveOptions:
        """The :class:`pcnopt.model.SolveOptions` shared by every place."""
        from pcnopt.model import SolveOptions

        settings: dict[str, Any] = {
            "min_size": self.min_size,
            "max_size": self.max_size,
            "objective": self.objective,
            "lexicographic": self.lexicographic,
            "squared": self.squared,
            "n_pcns": self.n_pcns,
            "min_pcns": self.min_pcns,
            "max_pcns": self.max_pcns,
            "time_limit": self.time_limit,
            "solver": self.solver,
            "mip_gap": self.mip_gap,
            "keep_together": self.keep_together,
            "keep_apart": self.keep_apart,
            "fixed": self.fixed,
            "excluded": self.excluded,
        }
        settings.update(overrides)
        return SolveOptions(**settings)


def parse_band(text: str, *, option: str) -> tuple[float, float]:
    """``"200000-350000"`` as (200000.0, 350000.0), or a message naming ``option``."""
    low, sep, high = text.replace(",", "").replace("_", "").partition("-")
    try:
        band = (float(low), float(high)) if sep else (float("nan"), float("nan"))
    except ValueError:
        band = (float("nan"), float("nan"))
    if not (0 <= band[0] <= band[1] < float("inf")):
        raise OptionError(
            f"{option} {text!r} is not a band; write it as MIN-MAX, e.g. 200000-350000."
        )
    return band


def levels_from_texts(texts: Iterable[str]) -> tuple[tuple[str, float, float], ...]:
    """``--level NAME=MIN-MAX`` options as ``(name, min, max)``, outermost first.

    Raises
    ------
    SettingError
        Naming ``--level`` and the malformed text.
    """
    levels = []
    for text in texts:
        name, sep, band = text.partition("=")
        try:
            if not sep or not name.strip():
                raise OptionError("")
            low, high = parse_band(band, option="--level")
        except OptionError:
            raise SettingError(
                f"{{levels}} {text!r} is not NAME=MIN-MAX; write e.g. "
                "{levels} neighbourhood=200000-350000 {levels} pcn=30000-50000.",
                "levels",
            ) from None
        levels.append((name.strip(), low, high))
    return tuple(levels)


def column_mapping(
    *,
    columns: Iterable[tuple[str, str]],
    current_pcn: str | None,
    current_pcn_name: str | None,
) -> dict[str, str]:
    """Canonical column → the practices table's column, as the user named them.

    ``--current-pcn`` and ``--current-pcn-name`` are ``--column current_pcn=…`` and
    ``--column current_pcn_name=…`` by another name, and win over them.
    """
    mapping = dict(columns)
    if current_pcn is not None:
        mapping["current_pcn"] = current_pcn
    if current_pcn_name is not None:
        mapping["current_pcn_name"] = current_pcn_name
    return mapping


def check_resources(config: RunConfig) -> None:
    """Check what the settings need from this machine: the solver, the rates file's year.

    Called where a run starts (not when settings are made, which reads nothing).

    Raises
    ------
    SettingError
        The solver is not installed, or the contract year is not in the rates file.
    """
    from pcnopt.model.solvers import solver_available

    if not solver_available(config.solver):
        import pulp

        installed = ", ".join(pulp.listSolvers(onlyAvailable=True))
        raise SettingError(
            f"{{solver}} {config.solver!r} is not available here; use cbc (bundled) or highs, "
            f"or one of the PuLP solvers installed: {installed}.",
            "solver",
        )
    if config.funding_year is not None:
        from pcnopt.funding import default_rates, rates_from_file

        rates = default_rates() if config.rates is None else rates_from_file(config.rates)
        if config.funding_year not in rates.years:
            raise SettingError(
                f"{{funding_year}} {config.funding_year} is not in the rates file; use one of "
                f"{', '.join(sorted(rates.years))}, or give {{rates}} with that year.",
                "funding_year",
            )


def _contract_year_today() -> str:
    """The contract year containing today's date (``"2026/27"`` from 1 April 2026)."""
    from pcnopt.funding import default_year

    return default_year()
