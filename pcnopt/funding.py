"""Network Contract DES money for any PCN configuration: ARRS sum, entitlements and role mix.

Three things live here, one after another as a run uses them:

1. **Rates.** :func:`rates_from_file` reads a rates file (the project's
   ``pcnopt/rates/ncdes.yaml`` by default, or a user's copy in the same schema, documented in
   ``pcnopt/rates/README.md``) and checks every figure, reporting all problems together.
   A figure the reference does not give is ``null`` in the file and stays missing here: it is
   never filled in.
2. **Per-PCN money.** :func:`funding_from_assignments` adds practices' registered and weighted
   populations up by PCN and applies the year's rates: the Additional Roles Reimbursement Sum
   (£ per weighted patient, or the 2019/20 per-role allowance) and every entitlement line
   (core PCN funding, clinical director, enhanced access, …), each with its basis in words.
3. **Role mix.** For each PCN a recruitment plan within its ARRS sum, solved as a small integer
   program (:func:`role_mix_model`), and :func:`compare_configurations` for two configurations.

The role-mix integer program, for one PCN with ARRS sum :math:`B`, roles :math:`r` with
maximum reimbursable £ per WTE :math:`c_r`, WTE step :math:`s` and caps :math:`u_r`:

.. math::

    \\max\\; \\sum_r (M + \\lfloor 100\\,c_r s \\rceil)\\, n_r
    \\quad\\text{s.t.}\\quad \\sum_r c_r s\\,n_r \\le B,\\;
    s\\,n_r \\le u_r,\\; n_r \\in \\mathbb{Z}_{\\ge 0}

with :math:`M = \\lfloor 100 B \\rfloor + 1` (the sum in pence, plus one), so that total WTE
comes first and, among plans with the same WTE, the one spending most (leaving least unspent)
wins; every coefficient is a whole number, so the solver compares plans exactly. A target mix
adds either :math:`s\\,n_r \\ge m_r` (at least :math:`m_r` WTE of role :math:`r`) or
:math:`|s\\,n_r - p_r T| \\le s` with :math:`T = \\sum_r s\\,n_r` (role :math:`r` within one step
of its share :math:`p_r` of the WTE; only named roles are recruited).
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
import pandas as pd

from pcnopt._errors import InputError, OptionError, Problem, SolverError

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

    def for_area(self, area: str) -> float | None:
        """The maximum for ``national``, ``inner_london`` or ``outer_london``."""
        return {
            "national": self.value,
            "inner_london": self.inner_london,
            "outer_london": self.outer_london,
        }[area]


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


@dataclass(frozen=True)
class TargetMix:
    """A recruitment target: shares of WTE by role, or minimum WTE for named roles.

    Parameters
    ----------
    kind
        ``"share"`` (each named role within one step of its share of the WTE; only named roles
        recruited) or ``"minimum"`` (at least this many WTE of each named role, the rest of the
        money spent to maximise WTE).
    roles
        Role → share (0-1, summing to 1) or minimum WTE.
    """

    kind: Literal["share", "minimum"]
    roles: tuple[tuple[str, float], ...]

    def __post_init__(self) -> None:
        if self.kind not in ("share", "minimum"):
            raise OptionError(f"target mix kind '{self.kind}' is not 'share' or 'minimum'.")
        if not self.roles:
            raise OptionError("the target mix names no roles. Fix: name at least one role.")
        if any(v < 0 or not math.isfinite(v) for _, v in self.roles):
            raise OptionError("a target mix value is negative. Fix: give shares or WTE >= 0.")
        if self.kind == "share" and abs(sum(v for _, v in self.roles) - 1) > 0.011:
            total = sum(v for _, v in self.roles)
            raise OptionError(
                f"the target shares add up to {total:.0%}, not 100%. Fix: give "
                "shares of the WTE that add up to 100% (e.g. "
                "clinical_pharmacist=40%,care_coordinator=60%)."
            )

    @classmethod
    def parse(cls, text: str) -> TargetMix:
        """Read ``role>=1,role>=1`` (minimum WTE) or ``role=40%,role=60%`` (shares)."""
        parts = [p.strip() for p in text.split(",") if p.strip()]
        minimum, share = [], []
        for part in parts:
            m = re.fullmatch(r"([A-Za-z_ ]+?)\s*(>=|=)\s*([0-9.]+)\s*(%?)", part)
            if not m:
                raise OptionError(
                    f"target mix item '{part}' is not ROLE>=WTE or ROLE=SHARE. Fix: write e.g. "
                    "'clinical_pharmacist>=1,social_prescribing_link_worker>=1' or "
                    "'clinical_pharmacist=40%,care_coordinator=60%'."
                )
            role = m.group(1).strip().lower().replace(" ", "_")
            value = float(m.group(3))
            if m.group(2) == ">=":
                minimum.append((role, value))
            else:
                share.append((role, value / 100 if m.group(4) or value > 1 else value))
        if minimum and share:
            raise OptionError(
                "the target mix mixes minimums (>=) and shares (=). Fix: give "
                "either minimum WTE for named roles, or shares of every role."
            )
        return cls("minimum", tuple(minimum)) if minimum else cls("share", tuple(share))


# --------------------------------------------------------------------------------------------
# Per-PCN money
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FundingResult:
    """The money of one configuration in one contract year.

    Attributes
    ----------
    year
        Contract year.
    pcns
        One row per PCN: ``pcn_id, n_practices, registered, weighted, estimate,
        population_basis, arrs_sum_gbp``, any ring-fenced ``<name>_sum_gbp``, one
        ``<line>_gbp`` per entitlement of the year (NaN when its figure is missing),
        ``total_known_gbp, missing_lines``, with the role mix ``planned_wte,
        planned_cost_gbp, unspent_gbp``, then ``<line>_basis`` for every money column.
    role_mix
        One row per PCN and costed role: ``pcn_id, role, wte, max_per_wte_gbp, rate_from,
        cost_gbp, cap_wte``.
    lines
        One row per money line: ``line, amount, basis, status, sources, note``.
    warnings
        Messages to show once (estimates, practices not in any PCN, uncosted roles).
    missing
        Figures the rates file does not give for the year, in words.
    provisional
        The year's figures are provisional (the rates file says so); ``notes`` says why.
    inputs
        One row per input: ``input, date, des_date, older, note``: each input's date (list
        sizes, weighted populations, PCN membership; blank when not given) against the date
        the DES uses (1 January of the year the contract year starts).
    ratio_flags
        PCNs whose weighted-to-registered ratio is outside :data:`RATIO_BAND` times their
        place's (the median ratio of the place's practices with a weighted population):
        ``pcn_id, place, registered, weighted, ratio, place_ratio, relative, practices``
        (the member practices whose own ratio is outside the band, the likely cause).
    headline
        One sentence: the ARRS total, and when it is an estimate, which PCNs, how many patients
        and why.
    notes
        Provisional year, inputs older than the DES date, flagged ratios, target mix used.
    """

    year: str
    pcns: pd.DataFrame
    role_mix: pd.DataFrame
    lines: pd.DataFrame
    warnings: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    estimate: bool = False
    settings: Mapping[str, Any] = field(default_factory=dict)
    provisional: bool = False
    inputs: pd.DataFrame = field(default_factory=pd.DataFrame)
    ratio_flags: pd.DataFrame = field(default_factory=pd.DataFrame)
    headline: str = ""
    notes: tuple[str, ...] = ()

    def summary(self) -> dict[str, Any]:
        """National totals, in a form for ``summary.json``."""
        money = [c for c in self.pcns.columns if c.endswith("_gbp")]
        return {
            "year": self.year,
            "pcns": len(self.pcns),
            "practices": int(self.pcns["n_practices"].sum()),
            "registered": float(self.pcns["registered"].sum()),
            "weighted": float(self.pcns["weighted"].sum()),
            "estimate": self.estimate,
            "totals_gbp": {
                c: round(float(self.pcns[c].sum(min_count=1)), 2)
                if self.pcns[c].notna().any()
                else None
                for c in money
            },
            "planned_wte": float(self.pcns["planned_wte"].sum())
            if "planned_wte" in self.pcns
            else None,
            "warnings": list(self.warnings),
            "missing": list(self.missing),
            "provisional": self.provisional,
            "headline": self.headline,
            "notes": list(self.notes),
            "inputs": self.inputs.astype(object)
            .where(self.inputs.notna(), None)
            .to_dict(orient="records")
            if len(self.inputs)
            else [],
            "ratio_flags": self.ratio_flags.to_dict(orient="records")
            if len(self.ratio_flags)
            else [],
            **dict(self.settings),
        }


def _money(x: float) -> str:
    return f"£{x:,.2f}" if abs(x) >= 1000 or x == round(x) else f"£{x:g}"


def _check_tables(
    practices: pd.DataFrame, assignments: pd.DataFrame, practices_file: str, assignments_file: str
) -> None:
    problems = []
    for frame, file, need in (
        (practices, practices_file, ("practice_code", "list_size")),
        (assignments, assignments_file, ("practice_code", "pcn_id")),
    ):
        absent = [c for c in need if c not in frame.columns]
        if absent:
            problems.append(
                Problem(
                    file,
                    f"required column(s) missing: {', '.join(absent)}.",
                    "give one row per practice with those columns.",
                )
            )
    if problems:
        raise InputError(problems)
    rows = _rows(assignments)
    codes = assignments["practice_code"].astype(str).str.strip().str.upper()
    unknown = ~codes.isin(set(practices["practice_code"].astype(str).str.upper()))
    if unknown.any():
        shown = ", ".join(codes[unknown].iloc[:10])
        problems.append(
            Problem(
                assignments_file,
                f"{int(unknown.sum())} practice code(s) are not in the practices table "
                f"{practices_file}: {shown}{' …' if unknown.sum() > 10 else ''}.",
                "correct the codes, add the practices to the practices table, or remove these rows "
                "from the assignment.",
                rows=tuple(rows[unknown.to_numpy()]),
                column="practice_code",
            )
        )
    dup = codes.duplicated(keep=False)
    if dup.any():
        problems.append(
            Problem(
                assignments_file,
                f"practices assigned more than once: {', '.join(sorted(set(codes[dup]))[:10])}.",
                "give each practice one PCN (one row per practice).",
                rows=tuple(rows[dup.to_numpy()]),
                column="practice_code",
            )
        )
    if problems:
        raise InputError(problems)


def _rows(frame: pd.DataFrame) -> np.ndarray:
    if "source_row" in frame.columns:
        return frame["source_row"].to_numpy(dtype=int)
    return np.arange(len(frame)) + 2


_UNASSIGNED = {"", "nan", "none", "<na>", "null"}

#: A PCN is flagged when its weighted/registered ratio is outside this multiple of its place's.
RATIO_BAND = (0.75, 4 / 3)
#: Inputs whose dates a funding run carries, with the figures that depend on them.
INPUTS = {
    "list_size": "registered lists (lines paid per registered patient; ESTIMATE stand-ins)",
    "weighted_population": "weighted populations (the ARRS sum and lines paid per weighted or "
    "adjusted patient)",
    "membership": "PCN membership (which practices make each PCN)",
}


def _inputs_table(dates: Mapping[str, str | dt.date | None], des_date: str) -> pd.DataFrame:
    rows = []
    for key, uses in INPUTS.items():
        raw = dates.get(key)
        date = raw.isoformat() if isinstance(raw, dt.date) else (str(raw) if raw else "")
        older: bool | None = None
        note = f"{uses}: date not given"
        if date and des_date:
            older = date < des_date
            note = (
                f"{uses}: {date} is older than {des_date}, the date the DES uses"
                if older
                else f"{uses}: {date}, not older than {des_date}"
            )
        rows.append(
            {"input": key, "date": date, "des_date": des_date, "older": older, "note": note}
        )
    return pd.DataFrame(rows, columns=["input", "date", "des_date", "older", "note"])


def _ratio_flags(merged: pd.DataFrame, places: pd.Series | None) -> pd.DataFrame:
    """PCNs whose weighted/registered ratio is outside RATIO_BAND × their place's."""
    cols = [
        "pcn_id",
        "place",
        "registered",
        "weighted",
        "ratio",
        "place_ratio",
        "relative",
        "practices",
    ]
    known = merged[~merged["estimated"] & (merged["registered"] > 0)].copy()
    if known.empty:
        return pd.DataFrame(columns=cols)
    known["place"] = (
        known["practice_code"].map(places).fillna("all practices")
        if places is not None
        else "all practices"
    )
    # the place's ratio is its practices' median, so one stale practice cannot move it
    place_ratio = (known["weighted"] / known["registered"]).groupby(known["place"]).median()
    lo, hi = RATIO_BAND
    rows = []
    for (pcn, place), g in known.groupby(["pcn_id", "place"], sort=True):
        reg, wt = float(g["registered"].sum()), float(g["weighted"].sum())
        relative = (wt / reg) / place_ratio[place]
        if lo <= relative <= hi:
            continue
        own = (g["weighted"] / g["registered"]) / place_ratio[place]
        culprits = (
            g.loc[(own < lo) | (own > hi), "practice_code"].tolist() or g["practice_code"].tolist()
        )
        rows.append(
            {
                "pcn_id": pcn,
                "place": place,
                "registered": reg,
                "weighted": wt,
                "ratio": wt / reg,
                "place_ratio": float(place_ratio[place]),
                "relative": relative,
                "practices": ";".join(sorted(culprits)),
            }
        )
    return pd.DataFrame(rows, columns=cols)


def funding_from_assignments(
    *,
    practices: pd.DataFrame,
    assignments: pd.DataFrame,
    year: str,
    rates: Rates | None = None,
    wte_step: float = 0.5,
    target: TargetMix | Literal["national", "max_wte"] | None = None,
    area: str = "national",
    plan_roles: bool = True,
    solver: Any = None,
    practices_file: str = "practices table",
    assignments_file: str = "assignments table",
    input_dates: Mapping[str, str | dt.date | None] | None = None,
    place_column: str | None = None,
) -> FundingResult:
    """Work out each PCN's ARRS sum, entitlements and a role mix it can recruit.

    Parameters
    ----------
    practices
        One row per practice: ``practice_code``, ``list_size`` (registered patients) and
        optionally ``weighted_population`` (Carr-Hill weighted list; blank or NaN where unknown).
    assignments
        ``practice_code`` → ``pcn_id``. Practices with a blank ``pcn_id`` are in no PCN.
    year
        Contract year, e.g. ``"2025/26"``.
    rates
        Rates to apply; by default the project's ``pcnopt/rates/ncdes.yaml``.
    wte_step
        Granularity of the role mix in WTE (0.5 plans in half posts).
    target
        A :class:`TargetMix` (the user's shares or minimums), ``"national"`` (the default when
        ``None``: shares of the national mix of ARRS staff in post, from the rates file's
        ``workforce_mix``, over the roles costed in the year; a capped role may sit at its cap
        instead) or ``"max_wte"`` (the most WTE the sum buys). Which target was used is said in
        ``settings["target_source"]`` and ``notes``.
    area
        ``national``, ``inner_london`` or ``outer_london``: which maximum £ per WTE to use
        (a role without a figure for the area is not costed).
    plan_roles
        Solve the role mix (one small integer program per PCN).
    solver
        A PuLP solver; by default CBC, silent.
    practices_file, assignments_file
        Names used in error messages.
    input_dates
        Dates of the inputs, keyed as :data:`INPUTS` (``list_size``, ``weighted_population``,
        ``membership``), ISO text or dates; each is compared with 1 January of the year the
        contract year starts (the DES population date) and an older one is said per figure.
    place_column
        Column of ``practices`` naming each practice's place; a PCN's weighted/registered ratio
        is compared with its place's (with every practice's when not given).

    Returns
    -------
    FundingResult

    Raises
    ------
    OptionError
        Unknown year, area or role, bad step, or a target that names an uncosted role.
    InputError
        Assignments naming practices not in the practices table, or a target mix some PCN
        cannot afford (every such PCN listed).
    """
    rates = rates or default_rates()
    yr = rates.year(year)
    if not (isinstance(wte_step, (int, float)) and 0 < wte_step <= 10):
        raise OptionError(
            f"WTE step {wte_step} is not between 0 and 10. Fix: give e.g. 0.5 "
            "(half posts), 0.1 or 1."
        )
    if area not in AREAS:
        raise OptionError(f"area '{area}' is not one of {', '.join(AREAS)}.")
    _check_tables(practices, assignments, practices_file, assignments_file)
    warnings: list[str] = []

    table = assignments[["practice_code", "pcn_id"]].copy()
    table["practice_code"] = table["practice_code"].astype(str).str.strip().str.upper()
    table["pcn_id"] = table["pcn_id"].astype("string").fillna("").str.strip()
    blank = table["pcn_id"].str.lower().isin(_UNASSIGNED)
    if blank.any():
        warnings.append(
            f"{int(blank.sum())} practice(s) in {assignments_file} have no PCN; "
            "their patients are not counted in any PCN's money."
        )
    table = table[~blank]
    pr = pd.DataFrame(
        {
            "practice_code": practices["practice_code"].astype(str).str.upper(),
            "registered": pd.to_numeric(practices["list_size"], errors="coerce").astype(float),
            "weighted_given": pd.to_numeric(
                practices["weighted_population"], errors="coerce"
            ).astype(float)
            if "weighted_population" in practices
            else np.nan,
        }
    )
    unassigned = (~pr["practice_code"].isin(set(table["practice_code"]))).sum()
    if unassigned:
        warnings.append(
            f"{int(unassigned)} practice(s) of {practices_file} are not in "
            f"{assignments_file}; their patients are not counted in any PCN."
        )
    merged = table.merge(pr, on="practice_code", how="left", validate="one_to_one")
    merged["estimated"] = merged["weighted_given"].isna()
    merged["weighted"] = merged["weighted_given"].fillna(merged["registered"])
    n_est = int(merged["estimated"].sum())
    if n_est:
        all_est = n_est == len(merged)
        warnings.append(
            (
                "No practice has a weighted population"
                if all_est
                else f"{n_est} of {len(merged)} practices have no weighted population"
            )
            + ": their registered list is used instead, so the ARRS sums and every line paid on "
            "weighted or adjusted population are ESTIMATES (marked estimate=True). Give "
            "'weighted_population' (the Carr-Hill weighted list at 1 January) for exact figures."
        )

    pcns = (
        merged.groupby("pcn_id", sort=True)
        .agg(
            n_practices=("practice_code", "size"),
            registered=("registered", "sum"),
            weighted=("weighted", "sum"),
            estimated_practices=("estimated", "sum"),
        )
        .reset_index()
    )
    pcns["estimate"] = pcns["estimated_practices"] > 0
    pcns["population_basis"] = np.where(
        pcns["estimated_practices"] == 0,
        "weighted population",
        np.where(
            pcns["estimated_practices"] == pcns["n_practices"],
            "registered list (no weighted population: estimate)",
            "weighted population, registered list for practices without one (estimate)",
        ),
    )
    pcns = pcns.drop(columns="estimated_practices")
    est_note = (
        " ESTIMATE where estimate=True: registered list used for practices without a "
        "weighted population."
    )
    notes: list[str] = []
    if yr.provisional:
        notes.append(f"{year} is PROVISIONAL: {yr.status_note or 'its figures are not final'}.")
    inputs = _inputs_table(input_dates or {}, yr.population_date)
    for row in inputs.itertuples(index=False):
        if row.older:
            notes.append(f"OLDER INPUT: {row.note}.")
    places = None
    if place_column is not None:
        if place_column not in practices.columns:
            raise OptionError(
                f"place column '{place_column}' is not in {practices_file}; it has: "
                f"{', '.join(map(str, practices.columns))}."
            )
        places = pd.Series(
            practices[place_column].astype(str).to_numpy(),
            index=practices["practice_code"].astype(str).str.upper(),
        )
    flags = _ratio_flags(merged, places)
    lo, hi = RATIO_BAND
    for f in flags.itertuples(index=False):
        notes.append(
            f"RATIO: PCN {f.pcn_id} has {f.weighted:,.0f} weighted to {f.registered:,.0f} "
            f"registered patients ({f.ratio:.2f}), {f.relative:.2f} times its place's ratio "
            f"({f.place_ratio:.2f}, {f.place}); the rule flags outside {lo:g}-{hi:.2f} times. "
            f"Check the weighted population of {', '.join(f.practices.split(';'))} (a merger "
            "or a list change after the weighted file was made?)."
        )
    est_pcns = (
        merged[merged["estimated"]]
        .groupby("pcn_id")
        .agg(practices=("practice_code", list), registered=("registered", "sum"))
    )

    lines: list[dict[str, Any]] = []
    money_cols: list[str] = []
    basis_cols: dict[str, pd.Series | str] = {}
    missing_by_line: list[str] = []

    # ARRS sum
    ppw = yr.per_weighted_patient
    if ppw.value is not None:
        pcns["arrs_sum_gbp"] = ppw.value * pcns["weighted"]
        basis = (
            f"£{ppw.value:g} × PCN weighted population ({ppw.status}"
            f"{'; ' + ppw.note if ppw.note else ''}); population date in the DES: "
            f"{yr.population_date or 'not given'}"
        )
        basis_cols["arrs_sum_basis"] = np.where(
            pcns["estimate"], basis + "." + est_note, basis + "."
        )
        lines.append(
            {
                "line": "arrs_sum",
                "amount": f"£{ppw.value:g} per weighted patient",
                "basis": "weighted population",
                "status": ppw.status,
                "sources": rates.urls(ppw.sources),
                "note": ppw.note,
                "date": yr.population_date,
            }
        )
    else:
        parts, total = [], 0.0
        for role, wte in yr.per_pcn_roles:
            top = yr.roles[role].latest()
            assert top is not None
            total += wte * top.value
            parts.append(f"{wte:g} WTE {role} × {_money(top.value)}")
        pcns["arrs_sum_gbp"] = total
        basis = (
            f"per-PCN role allowance: {' + '.join(parts)} = {_money(total)}, the same for "
            f"every PCN{'; ' + yr.note if yr.note else ''}"
        )
        basis_cols["arrs_sum_basis"] = basis
        lines.append(
            {
                "line": "arrs_sum",
                "amount": _money(total) + " per PCN",
                "basis": "per-PCN role allowance",
                "status": "read",
                "date": yr.period,
                "sources": rates.urls(
                    [
                        s
                        for r, _ in yr.per_pcn_roles
                        for m in yr.roles[r].max_per_wte
                        for s in m.sources
                    ]
                ),
                "note": yr.note,
            }
        )
    money_cols.append("arrs_sum_gbp")
    for ssum in yr.separate_sums:
        col = f"{ssum.name}_sum_gbp"
        pcns[col] = ssum.per_weighted_patient * pcns["weighted"]
        basis = (
            f"£{ssum.per_weighted_patient:g} × PCN weighted population, ring-fenced for "
            f"{', '.join(ssum.roles)} ({ssum.status}; {ssum.note})"
        )
        basis_cols[f"{ssum.name}_sum_basis"] = np.where(
            pcns["estimate"], basis + "." + est_note, basis + "."
        )
        money_cols.append(col)
        lines.append(
            {
                "line": f"{ssum.name}_sum",
                "amount": f"£{ssum.per_weighted_patient:g} per weighted patient",
                "basis": "weighted population",
                "status": ssum.status,
                "sources": rates.urls(ssum.sources),
                "note": ssum.note,
                "date": yr.population_date,
            }
        )

    # entitlements
    order = sorted(
        yr.entitlements, key=lambda e: (e.name != "core_funding", e.name != "clinical_director")
    )
    for ent in order:
        col = f"{ent.name}_gbp"
        if ent.terms is None:
            pcns[col] = np.nan
            if ent.included_in:
                why = f"included in {ent.included_in}_gbp"
            else:
                why = f"MISSING: no figure applied ({ent.status}"
                why += f"; {ent.note})" if ent.note else ")"
                missing_by_line.append(ent.name)
            basis_cols[f"{ent.name}_basis"] = why
            lines.append(
                {
                    "line": ent.name,
                    "amount": "",
                    "basis": why,
                    "status": ent.status,
                    "sources": rates.urls(ent.sources),
                    "note": ent.note,
                    "date": yr.period,
                }
            )
        else:
            amount = pd.Series(0.0, index=pcns.index)
            words, uses_weighted = [], False
            for term in ent.terms:
                pop = pcns["registered"] if term.per == "registered" else pcns["weighted"]
                uses_weighted |= term.per != "registered"
                amount = amount + term.rate * pop
                words.append(f"£{term.rate:g} × {_BASE_WORDS[term.per]}")
            pcns[col] = amount
            basis = " + ".join(words) + f" ({ent.status}{'; ' + ent.note if ent.note else ''})"
            if any(t.per == "adjusted" for t in ent.terms):
                basis += (
                    "; 'Adjusted Population' is not defined in the reference, so the "
                    "weighted population stands in for it (estimate)"
                )
            basis_cols[f"{ent.name}_basis"] = np.where(
                pcns["estimate"] & uses_weighted, basis + "." + est_note, basis + "."
            )
            lines.append(
                {
                    "line": ent.name,
                    "amount": " + ".join(f"£{t.rate:g} per {t.per}" for t in ent.terms),
                    "basis": " + ".join(t.per for t in ent.terms),
                    "status": ent.status,
                    "sources": rates.urls(ent.sources),
                    "note": ent.note,
                    "date": yr.period,
                }
            )
        money_cols.append(col)
    pcns["total_known_gbp"] = pcns[money_cols].sum(axis=1, min_count=1)
    pcns["missing_lines"] = ";".join(missing_by_line)
    missing = [*yr.missing]
    if yr.national_pot_gbp.value is None:
        text = f"ARRS national pot ({yr.national_pot_gbp.note or 'not found'})"
        if not any("national pot" in m for m in missing):
            missing.append(text)

    # role mix
    costed, uncosted = _costed_roles(yr, area)
    if uncosted:
        warnings.append(
            f"{year}: no maximum £ per WTE{'' if area == 'national' else ' for ' + area} in the "
            f"rates file for {', '.join(uncosted)}; these roles are left out of the role mix "
            "(give the figures in your own rates file with --rates to include them)."
        )
    ring = {r for s in yr.separate_sums for r in s.roles}
    if ring:
        warnings.append(
            f"{year}: {', '.join(sorted(ring))} are paid from a separate ring-fenced "
            "sum and are not planned in the role mix."
        )
        costed = {r: v for r, v in costed.items() if r not in ring}
    for name, rate in costed.items():
        value = rate.for_area(area)
        lines.append(
            {
                "line": f"max_per_wte:{name}",
                "amount": f"{_money(float(value or 0))} "
                f"per WTE{'' if area == 'national' else ' (' + area + ')'}",
                "basis": "maximum reimbursable amount with on-costs",
                "status": rate.status,
                "sources": rates.urls(rate.sources),
                "note": rate.note,
                "date": rate.start.isoformat(),
            }
        )
    for name in uncosted:
        lines.append(
            {
                "line": f"max_per_wte:{name}",
                "amount": "",
                "basis": "MISSING: no figure applied; role left out of the role mix",
                "status": "not_found",
                "sources": "",
                "note": yr.roles[name].note,
                "date": "",
            }
        )
    for row in inputs.itertuples(index=False):
        lines.append(
            {
                "line": f"input:{row.input}",
                "amount": "",
                "basis": row.note,
                "status": "older than the DES date"
                if row.older
                else ("not given" if not row.date else "ok"),
                "sources": "",
                "note": "",
                "date": row.date,
            }
        )
    lines.insert(
        0,
        {
            "line": "contract_year",
            "amount": year,
            "basis": yr.period,
            "status": yr.status,
            "sources": "",
            "note": yr.status_note
            + ("; " if yr.status_note and yr.removed else "")
            + "; ".join(yr.removed),
            "date": yr.start().isoformat(),
        },
    )
    role_mix = pd.DataFrame(
        columns=["pcn_id", "role", "wte", "max_per_wte_gbp", "rate_from", "cost_gbp", "cap_wte"]
    )
    target, source = _resolve_target(target, rates, costed, year)
    settings = {
        "wte_step": wte_step,
        "area": area,
        "target": None
        if target is None
        else {"kind": target.kind, "roles": dict(target.roles), "source": source},
        "target_source": source,
    }
    if plan_roles:
        notes.append(f"Role mix target: {source}.")
        role_mix, planned = _plan_all(
            pcns, yr, costed, wte_step, target, solver, year, uncosted, ring, area
        )
        pcns = pcns.merge(planned, on="pcn_id", how="left")
        notes.append(
            f"Unspent: {_money(float(pcns['unspent_gbp'].sum()))} of the ARRS sums is "
            "left after the role mix (per PCN in unspent_gbp): posts come in steps of "
            f"{wte_step:g} WTE and the mix keeps its target shape."
        )
    for name, value in basis_cols.items():
        pcns[name] = value
    total = float(pcns["arrs_sum_gbp"].sum())
    headline = f"ARRS {year}: {_money(total)}{' (PROVISIONAL year)' if yr.provisional else ''}"
    if len(est_pcns):
        shown = "; ".join(
            f"{pcn} ({r.registered:,.0f} patients in {', '.join(r.practices)})"
            for pcn, r in list(est_pcns.iterrows())[:10]
        )
        more = f"; and {len(est_pcns) - 10} more" if len(est_pcns) > 10 else ""
        headline += (
            f"; ESTIMATE for {len(est_pcns)} of {len(pcns)} PCN(s), "
            f"{est_pcns['registered'].sum():,.0f} registered patients without a weighted "
            f"population, whose registered list stands in for it: {shown}{more}"
        )
    return FundingResult(
        year,
        pcns,
        role_mix,
        pd.DataFrame(lines).reindex(
            columns=["line", "amount", "basis", "status", "date", "sources", "note"]
        ),
        tuple(warnings),
        tuple(missing),
        bool(pcns["estimate"].any()),
        MappingProxyType(settings),
        yr.provisional,
        inputs,
        flags,
        headline,
        tuple(notes),
    )


def _costed_roles(yr: YearRates, area: str) -> tuple[dict[str, MaxRate], list[str]]:
    costed: dict[str, MaxRate] = {}
    uncosted: list[str] = []
    for name, role in yr.roles.items():
        top = role.latest()
        if top is None or top.for_area(area) is None:
            uncosted.append(name)
        else:
            costed[name] = top
    return costed, uncosted


def _resolve_target(
    target: TargetMix | str | None, rates: Rates, costed: Mapping[str, MaxRate], year: str
) -> tuple[TargetMix | None, str]:
    """The target mix to plan with, and a sentence saying which one it is."""
    if isinstance(target, TargetMix):
        kind = "shares" if target.kind == "share" else "minimum WTE"
        return target, f"the user's {kind}: " + ", ".join(
            f"{r} {v:.0%}" if target.kind == "share" else f"{r} >= {v:g}" for r, v in target.roles
        )
    if target not in (None, "national", "max_wte"):
        raise OptionError(f"target '{target}' is not a target mix, 'national' or 'max_wte'.")
    if target == "max_wte":
        return None, "none: the most WTE the sum buys (cheapest roles first)"
    mix = rates.workforce_mix
    if mix is None:
        return None, (
            "none: the rates file has no national workforce mix (MISSING), so the plan "
            "buys the most WTE; give a target mix to shape it"
        )
    fte = {r: v for r, v in mix.fte if r in costed and v > 0}
    total = sum(v for _, v in mix.fte)
    if not fte:
        return None, (
            f"none: no role of the national mix has a maximum £ per WTE in {year}, so "
            "the plan buys the most WTE"
        )
    kept = sum(fte.values())
    shares = tuple((r, v / kept) for r, v in fte.items())
    left = sorted(r for r, v in mix.fte if r not in fte)
    return TargetMix("share", shares), (
        f"the national mix of ARRS staff in post ({mix.date}, {mix.status}; "
        f"{rates.urls(mix.sources)}): "
        + ", ".join(f"{r} {s:.0%}" for r, s in shares)
        + (
            f"; {1 - kept / total:.0%} of the national FTE is in roles without a {year} maximum "
            f"£ per WTE and is left out ({', '.join(left)})"
            if left
            else ""
        )
    )


def _plan_all(
    pcns: pd.DataFrame,
    yr: YearRates,
    costed: Mapping[str, MaxRate],
    step: float,
    target: TargetMix | None,
    solver: Any,
    year: str,
    uncosted: list[str],
    ring: set[str],
    area: str = "national",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    area_costs = {r: m for r, m in costed.items()}
    if target is not None:
        unknown = [r for r, _ in target.roles if r not in yr.roles]
        if unknown:
            raise OptionError(
                f"the target mix names role(s) not reimbursable in {year}: {', '.join(unknown)}. "
                f"Fix: use roles of that year: {', '.join(yr.roles)}."
            )
        named_uncosted = [r for r, v in target.roles if (r in uncosted or r in ring) and v > 0]
        if named_uncosted:
            raise OptionError(
                f"the target mix names role(s) with no maximum £ per WTE in {year}: "
                f"{', '.join(named_uncosted)}, so their cost is unknown. Fix: give the figures "
                "in your own rates file (--rates; see pcnopt/rates/README.md) or choose costed "
                f"roles: {', '.join(costed)}."
            )
    problems: list[str] = []
    rows, planned = [], []
    for pcn in pcns.itertuples(index=False):
        caps = {c.role: c.limit(pcn.registered) for c in yr.caps if c.role in costed}
        costs = {r: float(m.for_area(area) or m.value) for r, m in area_costs.items()}
        budget = float(pcn.arrs_sum_gbp)
        if target is not None and target.kind == "minimum":
            need = {r: math.ceil(v / step - 1e-9) * step for r, v in target.roles}
            over_cap = [
                f"{r} (cap {caps[r]:g} WTE)"
                for r, v in need.items()
                if r in caps and v > caps[r] + 1e-9
            ]
            cost = sum(costs[r] * v for r, v in need.items())
            if over_cap:
                problems.append(
                    f"{pcn.pcn_id}: the minimum exceeds the {year} cap for {', '.join(over_cap)}"
                )
                continue
            if cost > budget + 1e-6:
                problems.append(
                    f"{pcn.pcn_id}: the minimum costs {_money(cost)}, more than its "
                    f"ARRS sum of {_money(budget)}"
                )
                continue
        wte = solve_role_mix(
            budget=budget, costs=costs, caps=caps, step=step, target=target, solver=solver
        )
        spent = sum(costs[r] * w for r, w in wte.items())
        for r, w in wte.items():
            rows.append(
                {
                    "pcn_id": pcn.pcn_id,
                    "role": r,
                    "wte": w,
                    "max_per_wte_gbp": costs[r],
                    "rate_from": costed[r].start.isoformat(),
                    "cost_gbp": costs[r] * w,
                    "cap_wte": caps.get(r, np.nan),
                }
            )
        planned.append(
            {
                "pcn_id": pcn.pcn_id,
                "planned_wte": sum(wte.values()),
                "planned_cost_gbp": spent,
                "unspent_gbp": budget - spent,
            }
        )
    if problems:
        raise InputError(
            Problem(
                "--target-mix",
                f"the target mix cannot be afforded by {len(problems)} PCN(s): "
                + "; ".join(problems[:10])
                + ("; …" if len(problems) > 10 else "."),
                "lower the minimums, or use shares (role=40%,…) which always fit the money.",
            )
        )
    mix = pd.DataFrame(
        rows,
        columns=["pcn_id", "role", "wte", "max_per_wte_gbp", "rate_from", "cost_gbp", "cap_wte"],
    )
    return mix, pd.DataFrame(
        planned, columns=["pcn_id", "planned_wte", "planned_cost_gbp", "unspent_gbp"]
    )


def role_mix_model(
    *,
    budget: float,
    costs: Mapping[str, float],
    caps: Mapping[str, float],
    step: float,
    target: TargetMix | None = None,
) -> tuple[Any, dict[str, Any]]:
    """Build (without solving) the role-mix integer program of one PCN.

    Parameters
    ----------
    budget
        The PCN's ARRS sum in £.
    costs
        Role → maximum reimbursable £ per WTE.
    caps
        Role → most WTE claimable (roles without a cap are unbounded but for the money).
    step
        WTE granularity.
    target
        Optional target mix (see :class:`TargetMix`).

    Returns
    -------
    problem, variables
        The PuLP problem and role → integer variable (number of steps).
    """
    import pulp

    prob = pulp.LpProblem("role_mix", pulp.LpMaximize)
    roles = list(costs)
    if target is not None and target.kind == "share":
        shares = {r: v for r, v in target.roles if r in costs}
        roles = [r for r in roles if r in shares]
    else:
        shares = {}
    n = {}
    for i, r in enumerate(roles):
        hi = math.floor(budget / (costs[r] * step) + 1e-9)
        if r in caps:
            hi = min(hi, math.floor(caps[r] / step + 1e-9))
        n[r] = pulp.LpVariable(f"n_{i}", lowBound=0, upBound=max(hi, 0), cat="Integer")
    total = pulp.lpSum(step * n[r] for r in roles)
    spend = pulp.lpSum(costs[r] * step * n[r] for r in roles)
    # integral objective: steps weigh more than every penny of the sum, pennies break ties
    big = math.floor(budget * 100) + 1
    prob += pulp.lpSum((big + round(costs[r] * step * 100)) * n[r] for r in roles)
    _add_budget(prob, spend, budget)
    if target is not None and target.kind == "minimum":
        _add_minimums(prob, n, dict(target.roles), step)
    if shares:
        _add_shares(prob, n, shares, total, step, caps, budget / min(costs[r] for r in roles))
    return prob, n


def _add_budget(prob: Any, spend: Any, budget: float) -> None:
    prob += spend <= budget, "arrs_sum"


def _add_minimums(
    prob: Any, n: Mapping[str, Any], minimum: Mapping[str, float], step: float
) -> None:
    for i, (r, m) in enumerate(minimum.items()):
        if r in n:
            prob += step * n[r] >= m - 1e-9, f"minimum_{i}"


def _add_shares(
    prob: Any,
    n: Mapping[str, Any],
    shares: Mapping[str, float],
    total: Any,
    step: float,
    caps: Mapping[str, float] | None = None,
    most_wte: float = 0.0,
) -> None:
    """Each role within one step of its share of the WTE, or (a capped role) at its cap.

    A capped role ``r`` gets a binary :math:`z_r`: :math:`p_r T - s n_r \\le s + M z_r` and
    :math:`s n_r \\ge \\lfloor u_r/s \\rfloor s\\, z_r`, with :math:`M` the most WTE the sum buys.
    """
    import pulp

    caps = caps or {}
    for i, (r, s) in enumerate(shares.items()):
        if r in n:
            prob += step * n[r] - s * total <= step, f"share_hi_{i}"
            if r in caps:
                full = math.floor(caps[r] / step + 1e-9) * step
                z = pulp.LpVariable(f"at_cap_{i}", cat="Binary")
                prob += s * total - step * n[r] <= step + (most_wte + step) * z, f"share_lo_{i}"
                prob += step * n[r] >= full * z, f"at_cap_{i}"
            else:
                prob += s * total - step * n[r] <= step, f"share_lo_{i}"


def solve_role_mix(
    *,
    budget: float,
    costs: Mapping[str, float],
    caps: Mapping[str, float],
    step: float,
    target: TargetMix | None = None,
    solver: Any = None,
) -> dict[str, float]:
    """Solve one PCN's role mix; role → WTE (every role of the model, zeros included).

    Raises
    ------
    SolverError
        The solver failed or found the (pre-checked) model infeasible.
    """
    import pulp

    if not costs or budget <= 0:
        return {r: 0.0 for r in costs}
    prob, n = role_mix_model(budget=budget, costs=costs, caps=caps, step=step, target=target)
    solver = solver or pulp.PULP_CBC_CMD(msg=False)
    status = prob.solve(solver)
    if pulp.LpStatus[status] != "Optimal":
        raise SolverError(
            f"the role-mix model ended '{pulp.LpStatus[status]}' (ARRS sum {_money(budget)})."
        )
    out = {r: 0.0 for r in costs}
    for r, var in n.items():
        out[r] = round(step * round(var.value() or 0.0), 6)
    return out


# --------------------------------------------------------------------------------------------
# Comparison
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    """Two configurations side by side.

    Attributes
    ----------
    practices
        Per practice: ``practice_code, pcn_before, pcn_after, moved, registered, weighted,
        partners_changed, arrs_sum_before_gbp, arrs_sum_after_gbp``: ``moved`` when the PCN id
        differs, ``partners_changed`` when the practice's PCN has different members (which does
        not depend on how PCNs are named), and the ARRS sums of its PCN before and after.
    pcns
        Per PCN id (outer join of both): registered, weighted, ARRS sum, planned WTE, and total
        known money before and after, with the change.
    totals
        ``measure, before, after, difference``; totals are identical when both configurations
        cover the same practices.
    before, after
        The two :class:`FundingResult`.
    same_population
        Whether both configurations cover exactly the same practices.
    matched
        Per proposed PCN: ``matched_before`` (the current PCN it shares most registered patients
        with, one-to-one, blank for a new PCN), ``shared_registered``, and before (the matched
        PCN) and after: weighted population, ARRS sum, total known money, planned WTE, with the
        change and £ per weighted patient. ``practices`` gains ``matched_before``,
        ``changes_pcn`` (the practice's proposed PCN is not its current PCN's successor),
        ``arrs_share_*_gbp`` and ``planned_wte_share_*`` (its PCN's amounts by weighted
        population).
    conserved, not_conserved
        Which entitlements are conserved per patient in any configuration, and which are not.
    """

    practices: pd.DataFrame
    pcns: pd.DataFrame
    totals: pd.DataFrame
    before: FundingResult
    after: FundingResult
    same_population: bool
    matched: pd.DataFrame = field(default_factory=pd.DataFrame)
    conserved: tuple[str, ...] = ()
    not_conserved: tuple[str, ...] = ()

    @property
    def practices_changing_pcn(self) -> int:
        """Practices whose proposed PCN is not the successor of their current one."""
        return int(self.practices["changes_pcn"].sum()) if "changes_pcn" in self.practices else 0


def _match_by_patients(moves: pd.DataFrame) -> pd.DataFrame:
    """Each proposed PCN's successor-of: the current PCN it shares most registered patients with.

    Greedy one-to-one on shared patients (largest first); a proposed PCN left over is new.
    """
    both = moves.dropna(subset=["pcn_before", "pcn_after"])
    overlap = both.groupby(["pcn_after", "pcn_before"])["registered"].sum().reset_index()
    overlap = overlap.sort_values(
        ["registered", "pcn_after", "pcn_before"], ascending=[False, True, True]
    )
    used_after: dict[str, tuple[str, float]] = {}
    used_before: set[str] = set()
    for row in overlap.itertuples(index=False):
        if row.pcn_after in used_after or row.pcn_before in used_before or row.registered <= 0:
            continue
        used_after[row.pcn_after] = (row.pcn_before, float(row.registered))
        used_before.add(row.pcn_before)
    afters = sorted(set(moves["pcn_after"].dropna()))
    return pd.DataFrame(
        {
            "pcn_after": afters,
            "matched_before": [used_after.get(a, (None, 0.0))[0] for a in afters],
            "shared_registered": [used_after.get(a, (None, 0.0))[1] for a in afters],
        }
    )


def _conservation(yr: YearRates) -> tuple[tuple[str, ...], tuple[str, ...]]:
    conserved, not_conserved = [], []
    if yr.per_weighted_patient.value is not None:
        conserved.append(
            f"the ARRS sum: £{yr.per_weighted_patient.value:g} per weighted patient "
            "wherever the patient's practice sits"
        )
    else:
        not_conserved.append(
            "the ARRS sum: a per-PCN role allowance, the same for every PCN "
            "whatever its size, so splitting or merging PCNs changes the total"
        )
    for s in yr.separate_sums:
        conserved.append(f"the {s.name} sum: £{s.per_weighted_patient:g} per weighted patient")
    for e in yr.entitlements:
        if e.terms:
            conserved.append(
                f"{e.name}: " + " + ".join(f"£{t.rate:g} per {t.per} patient" for t in e.terms)
            )
    not_conserved.append(
        "the role mix: posts come in whole or half WTE, so each PCN leaves an "
        "unspent remainder that depends on how the patients are grouped"
    )
    if yr.caps:
        not_conserved.append(
            "role caps, which depend on each PCN's registered list ("
            + ", ".join(c.role for c in yr.caps)
            + ")"
        )
    return tuple(conserved), tuple(not_conserved)


def compare_configurations(
    *,
    practices: pd.DataFrame,
    before: pd.DataFrame,
    after: pd.DataFrame,
    year: str,
    rates: Rates | None = None,
    before_file: str = "before",
    after_file: str = "after",
    **options: Any,
) -> Comparison:
    """Compare the money of two configurations (e.g. the real one and a proposal).

    Parameters
    ----------
    practices
        The practices table (as for :func:`funding_from_assignments`).
    before, after
        ``practice_code`` → ``pcn_id`` tables.
    year
        Contract year.
    rates
        Rates to apply; the project's by default.
    before_file, after_file
        Names used in messages.
    **options
        Passed to :func:`funding_from_assignments` (``wte_step``, ``target``, ``area``,
        ``plan_roles``, ``solver``, ``practices_file``).
    """
    rates = rates or default_rates()
    fb = funding_from_assignments(
        practices=practices,
        assignments=before,
        year=year,
        rates=rates,
        assignments_file=before_file,
        **options,
    )
    fa = funding_from_assignments(
        practices=practices,
        assignments=after,
        year=year,
        rates=rates,
        assignments_file=after_file,
        **options,
    )

    def members(frame: pd.DataFrame, label: str) -> pd.DataFrame:
        t = frame[["practice_code", "pcn_id"]].copy()
        t["practice_code"] = t["practice_code"].astype(str).str.strip().str.upper()
        t["pcn_id"] = t["pcn_id"].astype("string").fillna("").str.strip()
        t.loc[t["pcn_id"].str.lower().isin(_UNASSIGNED), "pcn_id"] = pd.NA
        return t.rename(columns={"pcn_id": f"pcn_{label}"})

    moves = members(before, "before").merge(
        members(after, "after"), on="practice_code", how="outer"
    )
    pop = pd.DataFrame(
        {
            "practice_code": practices["practice_code"].astype(str).str.upper(),
            "registered": pd.to_numeric(practices["list_size"], errors="coerce"),
            "weighted": pd.to_numeric(practices["weighted_population"], errors="coerce")
            if "weighted_population" in practices
            else np.nan,
        }
    )
    moves = moves.merge(pop, on="practice_code", how="left")
    moves["moved"] = moves["pcn_before"].astype("string").fillna("") != moves["pcn_after"].astype(
        "string"
    ).fillna("")
    partners = {}
    for label in ("before", "after"):
        groups = moves.dropna(subset=[f"pcn_{label}"]).groupby(f"pcn_{label}")["practice_code"]
        members_of = {pcn: frozenset(codes) for pcn, codes in groups}
        partners[label] = moves[f"pcn_{label}"].map(members_of)
    moves["partners_changed"] = [
        (b if isinstance(b, frozenset) else frozenset())
        != (a if isinstance(a, frozenset) else frozenset())
        for b, a in zip(partners["before"], partners["after"], strict=True)
    ]
    for label, res in (("before", fb), ("after", fa)):
        sums = res.pcns.set_index("pcn_id")["arrs_sum_gbp"]
        moves[f"arrs_sum_{label}_gbp"] = moves[f"pcn_{label}"].map(sums).astype(float)
    moves = moves.sort_values("practice_code").reset_index(drop=True)

    keep = ["pcn_id", "n_practices", "registered", "weighted", "arrs_sum_gbp", "total_known_gbp"]
    if "planned_wte" in fb.pcns:
        keep.append("planned_wte")
    side = fb.pcns[keep].merge(
        fa.pcns[keep], on="pcn_id", how="outer", suffixes=("_before", "_after")
    )
    side["arrs_sum_change_gbp"] = side["arrs_sum_gbp_after"].fillna(0) - side[
        "arrs_sum_gbp_before"
    ].fillna(0)
    if "planned_wte" in keep:
        side["planned_wte_change"] = side["planned_wte_after"].fillna(0) - side[
            "planned_wte_before"
        ].fillna(0)
    side = side.sort_values("pcn_id").reset_index(drop=True)

    measures = [
        m
        for m in (
            "n_practices",
            "registered",
            "weighted",
            "arrs_sum_gbp",
            "total_known_gbp",
            "planned_wte",
        )
        if m in keep
    ]
    totals = pd.DataFrame(
        {
            "measure": ["pcns", *measures],
            "before": [len(fb.pcns), *(float(fb.pcns[m].sum()) for m in measures)],
            "after": [len(fa.pcns), *(float(fa.pcns[m].sum()) for m in measures)],
        }
    )
    totals["difference"] = totals["after"] - totals["before"]
    same = set(moves.dropna(subset=["pcn_before"])["practice_code"]) == set(
        moves.dropna(subset=["pcn_after"])["practice_code"]
    )

    # match proposed PCNs to current ones by shared patients; money per weighted patient
    match = _match_by_patients(moves)
    successor = match.set_index("pcn_after")["matched_before"]
    moves["matched_before"] = moves["pcn_after"].map(successor)
    moves["changes_pcn"] = moves["pcn_before"].astype("string").fillna("") != moves[
        "matched_before"
    ].astype("string").fillna("")
    # a practice's own share: the PCN's ARRS sum (and planned WTE) by weighted population
    used = moves["weighted"].fillna(moves["registered"])
    for label, res in (("before", fb), ("after", fa)):
        t = res.pcns.set_index("pcn_id")
        per = (t["arrs_sum_gbp"] / t["weighted"]).where(t["weighted"] > 0)
        moves[f"arrs_per_weighted_{label}_gbp"] = moves[f"pcn_{label}"].map(per).astype(float)
        moves[f"arrs_share_{label}_gbp"] = moves[f"arrs_per_weighted_{label}_gbp"] * used
        if "planned_wte" in t:
            wte = (t["planned_wte"] / t["weighted"]).where(t["weighted"] > 0)
            moves[f"planned_wte_share_{label}"] = (
                moves[f"pcn_{label}"].map(wte).astype(float) * used
            )
    moves["arrs_share_change_gbp"] = moves["arrs_share_after_gbp"].fillna(0) - moves[
        "arrs_share_before_gbp"
    ].fillna(0)
    if "planned_wte_share_before" in moves:
        moves["planned_wte_share_change"] = moves["planned_wte_share_after"].fillna(0) - moves[
            "planned_wte_share_before"
        ].fillna(0)
    bt, at = fb.pcns.set_index("pcn_id"), fa.pcns.set_index("pcn_id")
    matched = match.copy()
    for col in ("weighted", "arrs_sum_gbp", "total_known_gbp", "planned_wte"):
        if col in bt and col in at:
            matched[f"{col}_before"] = matched["matched_before"].map(bt[col]).astype(float)
            matched[f"{col}_after"] = matched["pcn_after"].map(at[col]).astype(float)
    for col in ("arrs_sum_gbp", "total_known_gbp"):
        matched[f"{col}_change"] = matched[f"{col}_after"] - matched[f"{col}_before"].fillna(0)
        name = col.removesuffix("_gbp")
        matched[f"{name}_per_weighted_before_gbp"] = (
            matched[f"{col}_before"] / matched["weighted_before"]
        )
        matched[f"{name}_per_weighted_after_gbp"] = (
            matched[f"{col}_after"] / matched["weighted_after"]
        )
    conserved, not_conserved = _conservation((rates or default_rates()).year(year))
    return Comparison(moves, side, totals, fb, fa, same, matched, conserved, not_conserved)


# --------------------------------------------------------------------------------------------
# Outputs
# --------------------------------------------------------------------------------------------


def _rounded(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for col in out.columns:
        money = col.endswith(("_gbp", "_gbp_before", "_gbp_after")) or col.startswith(
            ("registered", "weighted")
        )
        if money and pd.api.types.is_numeric_dtype(out[col]):
            out[col] = out[col].round(2)
    return out


def write_funding(
    out: str | Path, *, result: FundingResult, comparison: Comparison | None = None
) -> Path:
    """Write a funding run's files into ``out`` atomically.

    Files: ``funding.csv`` (per PCN), ``role_mix.csv``, ``funding_basis.csv`` (each line's
    rate, status and sources), with a comparison ``comparison_practices.csv``,
    ``comparison_pcns.csv`` and ``comparison_totals.csv``, and ``summary.json`` last.
    Money is rounded to pennies in the files only.
    """
    from pcnopt.io import outputs

    writers = {
        "funding.csv": outputs.csv_writer(_rounded(result.pcns)),
        "role_mix.csv": outputs.csv_writer(_rounded(result.role_mix)),
        "funding_basis.csv": outputs.csv_writer(result.lines),
    }
    summary = result.summary()
    if comparison is not None:
        writers["comparison_practices.csv"] = outputs.csv_writer(_rounded(comparison.practices))
        writers["comparison_pcns.csv"] = outputs.csv_writer(_rounded(comparison.pcns))
        totals = comparison.totals.copy()
        for col in ("before", "after", "difference"):
            totals[col] = totals[col].round(2) + 0.0
        writers["comparison_totals.csv"] = outputs.csv_writer(totals)
        writers["comparison_matched.csv"] = outputs.csv_writer(_rounded(comparison.matched))
        summary["comparison"] = {
            "same_population": comparison.same_population,
            "practices_changing_pcn": comparison.practices_changing_pcn,
            "conserved_per_patient": list(comparison.conserved),
            "not_conserved": list(comparison.not_conserved),
            "practices_moved": int(comparison.practices["moved"].sum()),
            "practices_with_new_partners": int(comparison.practices["partners_changed"].sum()),
            "before": comparison.before.summary()["totals_gbp"],
        }
    writers["summary.json"] = outputs.json_writer(summary)
    return outputs.write_folder(out, writers, command="funding")
