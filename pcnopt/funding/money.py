"""Per-PCN money: the ARRS sum and every entitlement line, with populations of the right date."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
import pandas as pd

from pcnopt.errors import InputError, OptionError, Problem
from pcnopt.funding.rates import _BASE_WORDS, AREAS, Rates, YearRates, _money, default_rates
from pcnopt.funding.role_mix import _costed_roles, _plan_all, _resolve_target
from pcnopt.funding.targets import TargetMix


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


def input_dates_from_pairs(
    pairs: Mapping[str, str | dt.date | None] | Iterable[tuple[str, str | dt.date | None]],
) -> dict[str, dt.date]:
    """Check the dates of the inputs, as given on the command line or in a scenario file.

    Parameters
    ----------
    pairs
        Input name (a key of :data:`INPUTS`: ``list_size``, ``weighted_population``,
        ``membership``) → its date, ISO ``YYYY-MM-DD`` text or a date; blank dates are left out.

    Returns
    -------
    dict
        Input name → date.

    Raises
    ------
    OptionError
        Every unknown name and every text that is not a date, in one message.
    """
    items = pairs.items() if isinstance(pairs, Mapping) else pairs
    out: dict[str, dt.date] = {}
    problems: list[str] = []
    for name, raw in items:
        key = str(name).strip()
        if key not in INPUTS:
            problems.append(f"'{key}' is not an input with a date (use {', '.join(INPUTS)})")
            continue
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            continue
        if isinstance(raw, dt.date):
            out[key] = raw
            continue
        try:
            out[key] = dt.date.fromisoformat(str(raw).strip())
        except ValueError:
            problems.append(f"{key}={raw} is not a date (write YYYY-MM-DD, e.g. 2021-01-01)")
    if problems:
        raise OptionError(
            "input dates: "
            + "; ".join(problems)
            + ". Fix: give each as NAME=YYYY-MM-DD, e.g. weighted_population=2019-01-01."
        )
    return out


def _inputs_table(dates: Mapping[str, dt.date], des_date: str) -> pd.DataFrame:
    rows = []
    for key, uses in INPUTS.items():
        raw = dates.get(key)
        date = raw.isoformat() if raw is not None else ""
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


def _term_uses(terms: Iterable[Any], estimate: bool) -> tuple[str, ...]:
    """The inputs an entitlement paid on ``terms`` is worked out from."""
    uses = {"membership"}
    for term in terms:
        if term.per == "registered":
            uses.add("list_size")
        else:
            uses.add("weighted_population")
            if estimate:
                uses.add("list_size")
    return tuple(k for k in INPUTS if k in uses)


def _older_inputs(lines: list[dict[str, Any]], inputs: pd.DataFrame) -> list[str]:
    """Say on each figure which of its inputs are older than the DES date; one note per input.

    Each line of ``lines`` naming its inputs (``_uses``) gets them in its ``note``.
    """
    older = {
        row.input: row
        for row in inputs.itertuples(index=False)
        if row.older  # None (no date) and False are not older
    }
    figures: dict[str, list[str]] = {key: [] for key in older}
    for line in lines:
        stale = [k for k in line.pop("_uses", ()) if k in older]
        if not stale:
            continue
        said = "; ".join(
            f"{INPUTS[k].split(' (')[0]} dated {older[k].date}, older than {older[k].des_date}"
            for k in stale
        )
        line["note"] = (line["note"] + "; " if line["note"] else "") + f"OLDER INPUT: {said}"
        for k in stale:
            figures[k].append(str(line["line"]))
    return [
        f"OLDER INPUT: {row.note}; figures worked out from it: "
        f"{', '.join(figures[key]) or 'none in this year'}."
        for key, row in older.items()
    ]


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
    mapped = (
        known["practice_code"].map(places).astype(object)
        if places is not None
        else pd.Series(None, index=known.index, dtype=object)
    )
    known["place"] = mapped.where(mapped.notna(), "all practices")
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


#: said after the basis of every figure paid on weighted population, for a PCN it is estimated for
_EST_NOTE = (
    " ESTIMATE where estimate=True: registered list used for practices without a "
    "weighted population."
)


def _practices_of_pcns(
    practices: pd.DataFrame,
    assignments: pd.DataFrame,
    *,
    practices_file: str,
    assignments_file: str,
) -> tuple[pd.DataFrame, list[str]]:
    """Each assigned practice with its PCN and populations (the registered list standing in
    for a missing weighted one, marked ``estimated``), and the warnings about practices left
    out of every PCN or estimated."""
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
    return merged, warnings


def _pcn_populations(merged: pd.DataFrame) -> pd.DataFrame:
    """One row per PCN: its practices, registered and weighted patients, and their basis."""
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
    return pcns.drop(columns="estimated_practices")


def _places_of(
    practices: pd.DataFrame, place_column: str | None, practices_file: str
) -> pd.Series | None:
    """Each practice's place (by practice code; practices with a blank place left out), from
    ``place_column`` or else ``place_id`` when the table has it; None for no place column."""
    if place_column is None and "place_id" in practices.columns:
        place_column = "place_id"  # as optimise's practices carry it; blank: no place
    if place_column is None:
        return None
    if place_column not in practices.columns:
        raise OptionError(
            f"place column '{place_column}' is not in {practices_file}; it has: "
            f"{', '.join(map(str, practices.columns))}."
        )
    given = practices[place_column]
    named = (given.notna() & (given.astype(str).str.strip() != "")).to_numpy()
    return pd.Series(
        given[named].astype(str).to_numpy(),
        index=practices["practice_code"].astype(str).str.upper()[named],
        dtype=object,
    )


def _ratio_notes(flags: pd.DataFrame) -> list[str]:
    """One note per PCN whose weighted-to-registered ratio is out of line with its place's."""
    lo, hi = RATIO_BAND
    return [
        f"RATIO: PCN {f.pcn_id} has {f.weighted:,.0f} weighted to {f.registered:,.0f} "
        f"registered patients ({f.ratio:.2f}), {f.relative:.2f} times its place's ratio "
        f"({f.place_ratio:.2f}, {f.place}); the rule flags outside {lo:g}-{hi:.2f} times. "
        f"Check the weighted population of {', '.join(f.practices.split(';'))} (a merger "
        "or a list change after the weighted file was made?)."
        for f in flags.itertuples(index=False)
    ]


@dataclass
class _Sheet:
    """The money columns of the PCN table and the lines explaining them, built in order."""

    pcns: pd.DataFrame
    lines: list[dict[str, Any]] = field(default_factory=list)
    money_cols: list[str] = field(default_factory=list)
    basis_cols: dict[str, pd.Series | str] = field(default_factory=dict)
    missing_lines: list[str] = field(default_factory=list)

    def weighted_uses(self) -> tuple[str, ...]:
        """Inputs a figure paid on weighted population is worked out from (registered lists
        stand in for missing weighted ones)."""
        return ("weighted_population", "membership") + (
            ("list_size",) if bool(self.pcns["estimate"].any()) else ()
        )


def _add_arrs_sums(sheet: _Sheet, yr: YearRates, rates: Rates) -> None:
    """The ARRS sum (per weighted patient, or a per-PCN role allowance) and any ring-fenced
    sums, as columns of ``sheet.pcns`` with their lines."""
    pcns = sheet.pcns
    ppw = yr.per_weighted_patient
    if ppw.value is not None:
        pcns["arrs_sum_gbp"] = ppw.value * pcns["weighted"]
        basis = (
            f"£{ppw.value:g} × PCN weighted population ({ppw.status}"
            f"{'; ' + ppw.note if ppw.note else ''}); population date in the DES: "
            f"{yr.population_date or 'not given'}"
        )
        sheet.basis_cols["arrs_sum_basis"] = np.where(
            pcns["estimate"], basis + "." + _EST_NOTE, basis + "."
        )
        sheet.lines.append(
            {
                "line": "arrs_sum",
                "amount": f"£{ppw.value:g} per weighted patient",
                "_uses": sheet.weighted_uses(),
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
        sheet.basis_cols["arrs_sum_basis"] = basis
        sheet.lines.append(
            {
                "line": "arrs_sum",
                "amount": _money(total) + " per PCN",
                "_uses": ("membership",),
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
    sheet.money_cols.append("arrs_sum_gbp")
    for ssum in yr.separate_sums:
        col = f"{ssum.name}_sum_gbp"
        pcns[col] = ssum.per_weighted_patient * pcns["weighted"]
        basis = (
            f"£{ssum.per_weighted_patient:g} × PCN weighted population, ring-fenced for "
            f"{', '.join(ssum.roles)} ({ssum.status}; {ssum.note})"
        )
        sheet.basis_cols[f"{ssum.name}_sum_basis"] = np.where(
            pcns["estimate"], basis + "." + _EST_NOTE, basis + "."
        )
        sheet.money_cols.append(col)
        sheet.lines.append(
            {
                "line": f"{ssum.name}_sum",
                "_uses": sheet.weighted_uses(),
                "amount": f"£{ssum.per_weighted_patient:g} per weighted patient",
                "basis": "weighted population",
                "status": ssum.status,
                "sources": rates.urls(ssum.sources),
                "note": ssum.note,
                "date": yr.population_date,
            }
        )


def _add_entitlements(sheet: _Sheet, yr: YearRates, rates: Rates) -> None:
    """One column and line per entitlement of the year (core funding and the clinical
    director's first); a figure the rates file lacks is NaN and named missing."""
    pcns = sheet.pcns
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
                sheet.missing_lines.append(ent.name)
            sheet.basis_cols[f"{ent.name}_basis"] = why
            sheet.lines.append(
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
            sheet.basis_cols[f"{ent.name}_basis"] = np.where(
                pcns["estimate"] & uses_weighted, basis + "." + _EST_NOTE, basis + "."
            )
            sheet.lines.append(
                {
                    "line": ent.name,
                    "amount": " + ".join(f"£{t.rate:g} per {t.per}" for t in ent.terms),
                    "basis": " + ".join(t.per for t in ent.terms),
                    "_uses": _term_uses(ent.terms, pcns["estimate"].any()),
                    "status": ent.status,
                    "sources": rates.urls(ent.sources),
                    "note": ent.note,
                    "date": yr.period,
                }
            )
        sheet.money_cols.append(col)


def _role_rate_lines(
    yr: YearRates,
    rates: Rates,
    costed: Mapping[str, Any],
    uncosted: Iterable[str],
    area: str,
    *,
    ring: Collection[str],
) -> list[dict[str, Any]]:
    """One line per role's maximum £ per WTE in the area (blank for a role not costed; a role
    paid from a ring-fenced sum keeps its line, marked not planned)."""
    lines: list[dict[str, Any]] = []
    for name, rate in costed.items():
        value = rate.for_area(area)
        lines.append(
            {
                "line": f"max_per_wte:{name}",
                "amount": f"{_money(float(value or 0))} "
                f"per WTE{'' if area == 'national' else ' (' + area + ')'}",
                "basis": "maximum reimbursable amount with on-costs"
                + ("; paid from the separate ring-fenced sum, not planned" if name in ring else ""),
                "status": rate.status_for_area(area),
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
    return lines


def _input_lines(inputs: pd.DataFrame) -> list[dict[str, Any]]:
    """One line per input: its date against the DES date."""
    lines: list[dict[str, Any]] = []
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
    return lines


def _headline(year: str, provisional: bool, pcns: pd.DataFrame, est_pcns: pd.DataFrame) -> str:
    """The ARRS total in one sentence, saying which PCNs are estimates and why."""
    total = float(pcns["arrs_sum_gbp"].sum())
    headline = f"ARRS {year}: {_money(total)}{' (PROVISIONAL year)' if provisional else ''}"
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
    return headline


def funding_from_assignments(  # noqa: PLR0913  (keyword-only: the options of pcnopt funding)
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
        is compared with its place's. By default ``place_id`` when the table has it (as an
        ``optimise`` run's practices do), otherwise every practice is one place.

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
    merged, warnings = _practices_of_pcns(
        practices, assignments, practices_file=practices_file, assignments_file=assignments_file
    )
    sheet = _Sheet(pcns=_pcn_populations(merged))
    notes: list[str] = []
    if yr.provisional:
        notes.append(f"{year} is PROVISIONAL: {yr.status_note or 'its figures are not final'}.")
    inputs = _inputs_table(input_dates_from_pairs(input_dates or {}), yr.population_date)
    flags = _ratio_flags(merged, _places_of(practices, place_column, practices_file))
    notes += _ratio_notes(flags)
    est_pcns = (
        merged[merged["estimated"]]
        .groupby("pcn_id")
        .agg(practices=("practice_code", list), registered=("registered", "sum"))
    )

    _add_arrs_sums(sheet, yr, rates)
    _add_entitlements(sheet, yr, rates)
    pcns, lines = sheet.pcns, sheet.lines
    pcns["total_known_gbp"] = pcns[sheet.money_cols].sum(axis=1, min_count=1)
    pcns["missing_lines"] = ";".join(sheet.missing_lines)
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
    lines += _role_rate_lines(yr, rates, costed, uncosted, area, ring=ring)
    costed = {r: v for r, v in costed.items() if r not in ring}
    lines += _input_lines(inputs)
    notes.extend(_older_inputs(lines, inputs))
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
            pcns,
            yr,
            costed=costed,
            step=wte_step,
            target=target,
            solver=solver,
            year=year,
            uncosted=uncosted,
            ring=ring,
            area=area,
        )
        pcns = pcns.merge(planned, on="pcn_id", how="left")
        notes.append(
            f"Unspent: {_money(float(pcns['unspent_gbp'].sum()))} of the ARRS sums is "
            "left after the role mix (per PCN in unspent_gbp): posts come in steps of "
            f"{wte_step:g} WTE and the mix keeps its target shape."
        )
    for name, basis_value in sheet.basis_cols.items():
        pcns[name] = basis_value
    headline = _headline(year, yr.provisional, pcns, est_pcns)
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
