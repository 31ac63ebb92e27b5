"""Rates files: each figure by contract year with its source and status; reading and checks."""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

from pcnopt.errors import InputError, OptionError, Problem

#: Contract years the project's rates file covers.
YEARS = ("2019/20", "2020/21", "2021/22", "2022/23", "2023/24", "2024/25", "2025/26", "2026/27")
#: Populations an entitlement can be paid on.
BASES = ("registered", "weighted", "adjusted")
#: How sure a figure is (see the rates file's header).
STATUSES = ("read", "derived", "indicative", "provisional", "uncertain", "not_found")
#: Whether a contract year's figures are final (``final``) or not yet (``provisional``).
YEAR_STATUSES = ("final", "provisional")
#: Registered list at or above which the "large PCN" caps apply unless a cap says otherwise.
LARGE_PCN = 100_000
AREAS = ("national", "inner_london", "outer_london")

_BASE_WORDS = {
    "registered": "registered list",
    "weighted": "weighted population",
    "adjusted": "adjusted population (approximated by the weighted population)",
}


# --------------------------------------------------------------------------------------------
# Rates
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    """One figure with where it came from.

    Parameters
    ----------
    value
        The amount, or ``None`` when the reference does not give it.
    status
        ``read``, ``derived``, ``indicative``, ``uncertain`` or ``not_found``.
    sources
        Keys of the rates file's ``sources`` map.
    note
        Anything a reader needs to know (period covered, conflicting sources …).
    """

    value: float | None
    status: str
    sources: tuple[str, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class MaxRate:
    """Maximum reimbursable £ per WTE per 12 months (with on-costs) from a date."""

    value: float
    start: dt.date
    status: str
    sources: tuple[str, ...] = ()
    inner_london: float | None = None
    outer_london: float | None = None
    note: str = ""
    london_status: str | None = None

    def for_area(self, area: str) -> float | None:
        """The maximum for ``national``, ``inner_london`` or ``outer_london``."""
        return {
            "national": self.value,
            "inner_london": self.inner_london,
            "outer_london": self.outer_london,
        }[area]

    def status_for_area(self, area: str) -> str:
        """How sure the figure of ``area`` is (London figures may be derived from a read one)."""
        if area != "national" and self.london_status is not None:
            return self.london_status
        return self.status


@dataclass(frozen=True)
class RoleRate:
    """A reimbursable role in one year; ``max_per_wte`` is empty when no figure was found."""

    role: str
    max_per_wte: tuple[MaxRate, ...]
    reimbursement_rate: float | None = None
    note: str = ""

    def latest(self) -> MaxRate | None:
        """The maximum in force at the end of the year (the latest effective date)."""
        return max(self.max_per_wte, key=lambda m: m.start) if self.max_per_wte else None


@dataclass(frozen=True)
class Cap:
    """Most WTE of a role a PCN can claim; ``max_wte_large`` from ``large_from`` patients."""

    role: str
    max_wte: float
    status: str
    max_wte_large: float | None = None
    large_from: int | None = None
    sources: tuple[str, ...] = ()
    note: str = ""

    def limit(self, registered: float) -> float:
        """The cap for a PCN of ``registered`` patients."""
        if (
            self.max_wte_large is not None
            and self.large_from is not None
            and registered >= self.large_from
        ):
            return self.max_wte_large
        return self.max_wte


@dataclass(frozen=True)
class Term:
    """``rate`` £ × a population (``registered``, ``weighted`` or ``adjusted``)."""

    rate: float
    per: str


@dataclass(frozen=True)
class Entitlement:
    """One payment line; ``terms`` is ``None`` when the figure is missing or uncertain."""

    name: str
    terms: tuple[Term, ...] | None
    status: str
    sources: tuple[str, ...] = ()
    note: str = ""
    included_in: str | None = None


@dataclass(frozen=True)
class SeparateSum:
    """A ring-fenced sum beside the main ARRS sum (the 2024/25 GP sum)."""

    name: str
    per_weighted_patient: float
    roles: tuple[str, ...]
    status: str
    national_pot_gbp: float | None = None
    sources: tuple[str, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class YearRates:
    """Every figure of one contract year."""

    year: str
    period: str
    population_date: str
    per_weighted_patient: Figure
    per_pcn_roles: tuple[tuple[str, float], ...]
    national_pot_gbp: Figure
    separate_sums: tuple[SeparateSum, ...]
    roles: Mapping[str, RoleRate]
    caps: tuple[Cap, ...]
    entitlements: tuple[Entitlement, ...]
    missing: tuple[str, ...]
    note: str = ""
    status: str = "final"
    status_note: str = ""
    removed: tuple[str, ...] = ()

    @property
    def provisional(self) -> bool:
        """Whether the year's figures are provisional (not final)."""
        return self.status == "provisional"

    def start(self) -> dt.date:
        """1 April of the year the contract year starts."""
        return dt.date(int(self.year[:4]), 4, 1)


@dataclass(frozen=True)
class WorkforceMix:
    """National FTE of ARRS staff in post by role, with its date and sources.

    Parameters
    ----------
    fte
        Role → full-time equivalents in post in England.
    date
        The census date of the figures.
    status, sources, note
        As for :class:`Figure`.
    """

    fte: tuple[tuple[str, float], ...]
    date: str
    status: str
    sources: tuple[str, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class Rates:
    """A checked rates file.

    Parameters
    ----------
    file
        Where it was read from.
    years
        Contract year (``"2025/26"``) → its figures.
    sources
        Source key → URL.
    """

    file: str
    years: Mapping[str, YearRates]
    sources: Mapping[str, str]
    workforce_mix: WorkforceMix | None = None

    def year(self, year: str) -> YearRates:
        """The figures of ``year``; :class:`OptionError` naming the known years if absent."""
        if year not in self.years:
            known = ", ".join(self.years)
            raise OptionError(
                f"contract year '{year}' is not in the rates file {self.file}; it has: {known}. "
                "Fix: give one of those years (as YYYY/YY), or pass your own rates file with "
                "--rates (see pcnopt/rates/README.md)."
            )
        return self.years[year]

    def urls(self, keys: Sequence[str]) -> str:
        """The URLs of source keys, space-separated."""
        return " ".join(self.sources.get(k, k) for k in keys)


def default_rates_path() -> Path:
    """Path of the rates file shipped with pcnopt."""
    return Path(str(resources.files("pcnopt") / "rates" / "ncdes.yaml"))


def default_year(*, today: dt.date | None = None) -> str:
    """The contract year containing ``today`` (contract years run 1 April - 31 March).

    Parameters
    ----------
    today
        The date; by default the machine's date.

    Returns
    -------
    str
        ``"YYYY/YY"``, e.g. ``"2026/27"`` for any date from 1 April 2026 to 31 March 2027.
    """
    today = today or dt.date.today()
    start = today.year if today >= dt.date(today.year, 4, 1) else today.year - 1
    return f"{start}/{(start + 1) % 100:02d}"


def max_per_wte_from_pay(
    *, pay: float, ni_rate: float, ni_threshold: float, pension_rate: float = 0.1438
) -> float:
    """The DES maximum reimbursable amount per WTE for an annual pay, with employer on-costs.

    ``pay × (1 + pension_rate) + ni_rate × (pay − ni_threshold)``: employer national insurance
    above the secondary threshold and the employer's NHS pension contribution (14.38%, the
    share employers pay). No apprenticeship levy: the read 2025/26 GP maximum (£105,882 for a
    read salary of £82,418) matches without it (see ``pcnopt/rates/README.md``,
    "Derived maxima").
    """
    return pay * (1 + pension_rate) + ni_rate * max(pay - ni_threshold, 0.0)


def pay_from_max_per_wte(
    *, value: float, ni_rate: float, ni_threshold: float, pension_rate: float = 0.1438
) -> float:
    """The annual pay a maximum per WTE stands for (the inverse of :func:`max_per_wte_from_pay`)."""
    return (value + ni_rate * ni_threshold) / (1 + ni_rate + pension_rate)


def rates_from_file(path: str | Path | None = None) -> Rates:
    """Read and check a rates file.

    Parameters
    ----------
    path
        A YAML file in the schema of ``pcnopt/rates/README.md``; by default the project's
        ``pcnopt/rates/ncdes.yaml``.

    Raises
    ------
    InputError
        Every problem found (missing fields, negative or non-numeric amounts, unknown source
        keys, bad dates), each naming the line and the key.
    """
    import yaml

    path = Path(path) if path is not None else default_rates_path()
    file = str(path)
    if not path.is_file():
        raise InputError(
            Problem(file, "the rates file does not exist.", "check the path given to --rates.")
        )
    text = path.read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text)
        lines = _yaml_lines(yaml.compose(text))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        rows = (mark.line + 1,) if mark is not None else ()
        raise InputError(
            Problem(
                file,
                f"is not valid YAML ({getattr(exc, 'problem', exc)}).",
                "fix the syntax (indentation, colons, quotes).",
                rows=rows,
                row_word="line",
            )
        ) from None
    if isinstance(data, dict) and data.get("base") is not None:
        if data.get("base") != "national":
            raise InputError(
                Problem(
                    file,
                    f"base: is {data.get('base')!r}.",
                    "write base: national to layer this file over the "
                    "project's rates file, or leave base: out.",
                    rows=(lines.get(("base",), 0),) if lines.get(("base",)) else (),
                    row_word="line",
                )
            )
        national = yaml.safe_load(default_rates_path().read_text(encoding="utf-8"))
        data = _layer(national, {k: v for k, v in data.items() if k != "base"})
    return _RatesReader(file, lines).read(data)


def _layer(base: Any, over: Any) -> Any:
    """``over`` laid on ``base``: mappings merge key by key, anything else replaces."""
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for key, value in over.items():
            out[key] = _layer(base[key], value) if key in base else value
        return out
    return over


def _yaml_lines(node: Any, path: tuple[Any, ...] = ()) -> dict[tuple[Any, ...], int]:
    """Key path → 1-based line of every node of a composed YAML document."""
    import yaml

    out: dict[tuple[Any, ...], int] = {}
    if node is None:
        return out
    out[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            out[(*path, key.value)] = key.start_mark.line + 1
            out.update(
                {
                    k: v
                    for k, v in _yaml_lines(value, (*path, key.value)).items()
                    if k != (*path, key.value)
                }
            )
    elif isinstance(node, yaml.SequenceNode):
        for i, value in enumerate(node.value):
            out.update(_yaml_lines(value, (*path, i)))
    return out


class _RatesReader:
    """Turn a parsed rates document into :class:`Rates`, collecting every problem."""

    def __init__(self, file: str, lines: dict[tuple[Any, ...], int]) -> None:
        self.file = file
        self.lines = lines
        self.problems: list[Problem] = []
        self.source_keys: set[str] = set()

    # -- problems ------------------------------------------------------------------------
    def problem(self, path: tuple[Any, ...], message: str, fix: str) -> None:
        line = None
        for cut in range(len(path), -1, -1):
            if path[:cut] in self.lines:
                line = self.lines[path[:cut]]
                break
        where = ".".join(str(p) for p in path) or "the file"
        self.problems.append(
            Problem(
                self.file, f"{where}: {message}", fix, rows=(line,) if line else (), row_word="line"
            )
        )

    def mapping(
        self, value: Any, path: tuple[Any, ...], *, required: bool = True
    ) -> dict[str, Any]:
        if value is None and not required:
            return {}
        if not isinstance(value, dict):
            what = "is missing" if value is None else f"should be a mapping, not {value!r}"
            self.problem(path, f"{what}.", "see pcnopt/rates/README.md for the schema.")
            return {}
        return value

    def amount(
        self, value: Any, path: tuple[Any, ...], *, nullable: bool = False, positive: bool = False
    ) -> float | None:
        if value is None:
            if not nullable:
                self.problem(path, "is missing.", "give the amount in pounds (a number).")
            return None
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
        ):
            self.problem(
                path,
                f"'{value}' is not a number.",
                "give a plain number (no £ sign or commas)"
                + (", or null if the figure is not known." if nullable else "."),
            )
            return None
        if value < 0 or (positive and value == 0):
            self.problem(
                path,
                f"is {value}: amounts cannot be {'negative' if value < 0 else 'zero'}.",
                "give the amount in pounds (greater than 0)"
                + (", or null if the figure is not known." if nullable else "."),
            )
            return None
        return float(value)

    def status(self, entry: dict[str, Any], path: tuple[Any, ...]) -> str:
        status = entry.get("status")
        if status not in STATUSES:
            self.problem(
                (*path, "status"),
                f"is {status!r}." if status is not None else "is missing.",
                f"use one of: {', '.join(STATUSES)}.",
            )
            return "not_found"
        return str(status)

    def sources(self, entry: dict[str, Any], path: tuple[Any, ...]) -> tuple[str, ...]:
        keys = entry.get("sources") or []
        if not isinstance(keys, list):
            self.problem(
                (*path, "sources"),
                "should be a list of source keys.",
                "write e.g. sources: [pulse_2025_26].",
            )
            return ()
        unknown = [k for k in keys if str(k) not in self.source_keys]
        if unknown:
            self.problem(
                (*path, "sources"),
                f"unknown source key(s): {', '.join(map(str, unknown))}.",
                "add them to the file's sources: map with their URL.",
            )
        return tuple(str(k) for k in keys)

    def figure(self, entry: Any, path: tuple[Any, ...]) -> Figure:
        entry = self.mapping(entry, path)
        if entry and "value" not in entry:
            self.problem(
                (*path, "value"),
                "is missing.",
                "give the amount, or value: null with a note if it is not known.",
            )
        return Figure(
            self.amount(entry.get("value"), (*path, "value"), nullable=True),
            self.status(entry, path) if entry else "not_found",
            self.sources(entry, path) if entry else (),
            str(entry.get("note", "")),
        )

    # -- document ------------------------------------------------------------------------
    def read(self, data: Any) -> Rates:
        top = self.mapping(data, ())
        if top:
            if top.get("schema_version") != 1:
                self.problem(
                    ("schema_version",),
                    f"is {top.get('schema_version')!r}.",
                    "this pcnopt reads schema_version: 1.",
                )
            sources = self.mapping(top.get("sources"), ("sources",), required=False)
            self.source_keys = {str(k) for k in sources}
            bad = [k for k, v in sources.items() if not isinstance(v, str) or not v.strip()]
            if bad:
                self.problem(
                    ("sources",),
                    f"source(s) without a URL: {', '.join(map(str, bad))}.",
                    "give each source key its URL (or citation) as text.",
                )
            years_raw = self.mapping(top.get("years"), ("years",))
            if top.get("years") is not None and not years_raw:
                self.problem(("years",), "has no contract years.", "add at least one year.")
        else:
            sources, years_raw = {}, {}
        years: dict[str, YearRates] = {}
        for key, value in years_raw.items():
            name = str(key)
            if not re.fullmatch(r"\d{4}/\d{2}", name) or (int(name[:4]) + 1) % 100 != int(name[5:]):
                self.problem(
                    ("years", key),
                    f"'{name}' is not a contract year.",
                    'write years as YYYY/YY, e.g. "2025/26" (in quotes).',
                )
                continue
            year = self.year(name, self.mapping(value, ("years", key)), ("years", key))
            if year is not None:
                years[name] = year
        mix = self.workforce_mix(top.get("workforce_mix")) if top else None
        if self.problems:
            raise InputError(self.problems)
        return Rates(
            self.file,
            MappingProxyType(years),
            MappingProxyType({str(k): str(v) for k, v in sources.items()}),
            mix,
        )

    def workforce_mix(self, value: Any) -> WorkforceMix | None:
        if value is None:
            return None
        path = ("workforce_mix",)
        entry = self.mapping(value, path)
        fte = []
        for role, amount in self.mapping(entry.get("fte"), (*path, "fte")).items():
            got = self.amount(amount, (*path, "fte", role))
            if got is not None:
                fte.append((str(role), got))
        return WorkforceMix(
            tuple(fte),
            str(entry.get("date", "")),
            self.status(entry, path),
            self.sources(entry, path),
            str(entry.get("note", "")),
        )

    def per_pcn_roles(
        self, arrs: dict[str, Any], roles: Mapping[str, RoleRate], path: tuple[Any, ...]
    ) -> list[tuple[str, float]]:
        """The per-PCN role allowance (role, WTE): roles with a maximum £ per WTE only."""
        per_pcn_roles = []
        for i, item in enumerate(arrs.get("per_pcn_roles") or []):
            ipath = (*path, "arrs", "per_pcn_roles", i)
            item = self.mapping(item, ipath)
            role = str(item.get("role", ""))
            wte = self.amount(item.get("wte"), (*ipath, "wte"), positive=True)
            if role not in roles or not roles[role].max_per_wte:
                self.problem(
                    (*ipath, "role"),
                    f"role '{role}' has no max_per_wte in this year.",
                    "add the role with its maximum £ per WTE under roles:.",
                )
            elif wte is not None:
                per_pcn_roles.append((role, wte))
        return per_pcn_roles

    def separate_sums(self, arrs: dict[str, Any], path: tuple[Any, ...]) -> list[SeparateSum]:
        """The ring-fenced sums paid beside the ARRS sum."""
        separate = []
        for sname, svalue in self.mapping(
            arrs.get("separate_sums"), (*path, "arrs", "separate_sums"), required=False
        ).items():
            spath = (*path, "arrs", "separate_sums", sname)
            svalue = self.mapping(svalue, spath)
            rate = self.amount(svalue.get("per_weighted_patient"), (*spath, "per_weighted_patient"))
            pot_value = self.amount(
                svalue.get("national_pot_gbp"), (*spath, "national_pot_gbp"), nullable=True
            )
            sroles = tuple(str(r) for r in svalue.get("roles") or [])
            if rate is not None:
                separate.append(
                    SeparateSum(
                        str(sname),
                        rate,
                        sroles,
                        self.status(svalue, spath),
                        pot_value,
                        self.sources(svalue, spath),
                        str(svalue.get("note", "")),
                    )
                )
        return separate

    def caps(
        self, entry: dict[str, Any], roles: Mapping[str, RoleRate], path: tuple[Any, ...]
    ) -> list[Cap]:
        """The year's caps on WTE per role (roles listed under roles: only)."""
        caps = []
        caps_raw = entry.get("caps") or []
        if not isinstance(caps_raw, list):
            self.problem(
                (*path, "caps"), "should be a list.", "write caps: [] when there are none."
            )
            caps_raw = []
        for i, item in enumerate(caps_raw):
            cpath = (*path, "caps", i)
            item = self.mapping(item, cpath)
            if not item:
                continue
            role = str(item.get("role", ""))
            if role not in roles:
                self.problem(
                    (*cpath, "role"),
                    f"role '{role}' is not listed under roles:.",
                    "add the role (max_per_wte: [] if its maximum is not known).",
                )
            max_wte = self.amount(item.get("max_wte"), (*cpath, "max_wte"))
            large = self.amount(item.get("max_wte_large"), (*cpath, "max_wte_large"), nullable=True)
            large_from = self.amount(item.get("large_from"), (*cpath, "large_from"), nullable=True)
            if (large is None) != (large_from is None):
                self.problem(
                    cpath,
                    "max_wte_large and large_from go together.",
                    "give both (e.g. max_wte_large: 2, large_from: 100000) or neither.",
                )
            if max_wte is not None:
                caps.append(
                    Cap(
                        role,
                        max_wte,
                        self.status(item, cpath),
                        large,
                        int(large_from) if large_from is not None else None,
                        self.sources(item, cpath),
                        str(item.get("note", "")),
                    )
                )
        return caps

    def entitlements(self, entry: dict[str, Any], path: tuple[Any, ...]) -> list[Entitlement]:
        """The year's entitlement lines, each ``included_in`` naming another of them."""
        entitlements = []
        ents = self.mapping(entry.get("entitlements"), (*path, "entitlements"))
        for ename, evalue in ents.items():
            entitlements.append(
                self.entitlement(
                    str(ename),
                    self.mapping(evalue, (*path, "entitlements", ename)),
                    (*path, "entitlements", ename),
                )
            )
        names = {e.name for e in entitlements}
        for e in entitlements:
            if e.included_in is not None and e.included_in not in names:
                self.problem(
                    (*path, "entitlements", e.name, "included_in"),
                    f"names '{e.included_in}', which is not an entitlement of the year.",
                    "name another entitlement line of the same year.",
                )
        return entitlements

    def year(self, name: str, entry: dict[str, Any], path: tuple[Any, ...]) -> YearRates | None:
        if not entry:
            return None
        arrs = self.mapping(entry.get("arrs"), (*path, "arrs"))
        per_patient = (
            self.figure(arrs.get("per_weighted_patient"), (*path, "arrs", "per_weighted_patient"))
            if arrs
            else Figure(None, "not_found")
        )
        pot = (
            self.figure(arrs["national_pot_gbp"], (*path, "arrs", "national_pot_gbp"))
            if arrs.get("national_pot_gbp") is not None
            else Figure(None, "not_found")
        )
        roles: dict[str, RoleRate] = {}
        roles_raw = self.mapping(entry.get("roles"), (*path, "roles"))
        for role, value in roles_raw.items():
            roles[str(role)] = self.role(
                str(role), self.mapping(value, (*path, "roles", role)), (*path, "roles", role)
            )
        per_pcn_roles = self.per_pcn_roles(arrs, roles, path)
        raw_ppw = arrs.get("per_weighted_patient")
        if (
            arrs
            and isinstance(raw_ppw, dict)
            and "value" in raw_ppw
            and raw_ppw["value"] is None
            and not per_pcn_roles
            and not arrs.get("per_pcn_roles")
        ):
            self.problem(
                (*path, "arrs", "per_weighted_patient", "value"),
                "is null and there is no per_pcn_roles allowance, so no ARRS sum can be "
                "worked out.",
                "give the £ per weighted patient for the year.",
            )
        separate = self.separate_sums(arrs, path)
        caps = self.caps(entry, roles, path)
        entitlements = self.entitlements(entry, path)
        missing = entry.get("missing") or []
        if not isinstance(missing, list):
            self.problem(
                (*path, "missing"),
                "should be a list of texts.",
                "write one line per missing figure.",
            )
            missing = []
        removed = entry.get("removed") or []
        if not isinstance(removed, list):
            self.problem(
                (*path, "removed"),
                "should be a list of texts.",
                "write one line per payment that left the DES.",
            )
            removed = []
        year_status = entry.get("status", "final")
        if year_status not in YEAR_STATUSES:
            self.problem(
                (*path, "status"),
                f"is {year_status!r}.",
                f"use one of: {', '.join(YEAR_STATUSES)} (or leave it out: final).",
            )
            year_status = "final"
        return YearRates(
            name,
            str(entry.get("period", "")),
            str(entry.get("population_date", "")),
            per_patient,
            tuple(per_pcn_roles),
            pot,
            tuple(separate),
            MappingProxyType(roles),
            tuple(caps),
            tuple(entitlements),
            tuple(str(m) for m in missing),
            str(arrs.get("note", "")),
            str(year_status),
            str(entry.get("status_note", "")),
            tuple(str(r) for r in removed),
        )

    def role(self, role: str, entry: dict[str, Any], path: tuple[Any, ...]) -> RoleRate:
        rate = self.amount(
            entry.get("reimbursement_rate"), (*path, "reimbursement_rate"), nullable=True
        )
        if rate is not None and rate > 1:
            self.problem(
                (*path, "reimbursement_rate"),
                f"is {rate}.",
                "give a share between 0 and 1 (0.7 for 70%).",
            )
        if entry and "max_per_wte" not in entry:
            self.problem(
                (*path, "max_per_wte"),
                "is missing.",
                "give a list of {value, from, status} entries, or [] if not known.",
            )
        raw = entry.get("max_per_wte") or []
        if not isinstance(raw, list):
            self.problem(
                (*path, "max_per_wte"),
                "should be a list.",
                'write max_per_wte: [{value: 40159, from: "2023-07-01", status: read}].',
            )
            raw = []
        rates = []
        for i, item in enumerate(raw):
            ipath = (*path, "max_per_wte", i)
            item = self.mapping(item, ipath)
            value = self.amount(item.get("value"), (*ipath, "value"), positive=True)
            start = self.date(item.get("from"), (*ipath, "from"))
            inner = self.amount(item.get("inner_london"), (*ipath, "inner_london"), nullable=True)
            outer = self.amount(item.get("outer_london"), (*ipath, "outer_london"), nullable=True)
            london_status = None
            if item.get("london_status") is not None:
                london_status = self.status(
                    {"status": item["london_status"]}, (*ipath, "london_status")
                )
            if value is not None and start is not None:
                rates.append(
                    MaxRate(
                        value,
                        start,
                        self.status(item, ipath),
                        self.sources(item, ipath),
                        inner,
                        outer,
                        str(item.get("note", "")),
                        london_status,
                    )
                )
        return RoleRate(role, tuple(rates), rate, str(entry.get("note", "")))

    def date(self, value: Any, path: tuple[Any, ...]) -> dt.date | None:
        if isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(str(value))
        except ValueError:
            self.problem(
                path,
                f"'{value}' is not a date." if value is not None else "is missing.",
                'give the effective-from date as "YYYY-MM-DD".',
            )
            return None

    def entitlement(self, name: str, entry: dict[str, Any], path: tuple[Any, ...]) -> Entitlement:
        if entry and "terms" not in entry:
            self.problem(
                (*path, "terms"),
                "is missing.",
                "give terms: [{rate: 1.50, per: registered}], or terms: null with a "
                "note if the figure is not known.",
            )
        raw = entry.get("terms")
        terms: tuple[Term, ...] | None = None
        if raw is not None:
            if not isinstance(raw, list) or not raw:
                self.problem(
                    (*path, "terms"),
                    "should be a non-empty list (or null).",
                    "write terms: [{rate: 1.50, per: registered}].",
                )
            else:
                found = []
                for i, item in enumerate(raw):
                    tpath = (*path, "terms", i)
                    item = self.mapping(item, tpath)
                    rate = self.amount(item.get("rate"), (*tpath, "rate"))
                    per = item.get("per")
                    if per not in BASES:
                        self.problem(
                            (*tpath, "per"), f"is {per!r}.", f"use one of: {', '.join(BASES)}."
                        )
                    elif rate is not None:
                        found.append(Term(rate, str(per)))
                terms = tuple(found)
        included = entry.get("included_in")
        return Entitlement(
            name,
            terms,
            self.status(entry, path) if entry else "not_found",
            self.sources(entry, path) if entry else (),
            str(entry.get("note", "")),
            str(included) if included is not None else None,
        )


@functools.lru_cache(maxsize=1)
def default_rates() -> Rates:
    """The project's rates file, read and checked once per process (it is immutable)."""
    return rates_from_file()


# --------------------------------------------------------------------------------------------
# Target mix
# --------------------------------------------------------------------------------------------


def _money(x: float) -> str:
    return f"£{x:,.2f}" if abs(x) >= 1000 or x == round(x) else f"£{x:g}"
