"""Who gains and who loses between two configurations (PCNs matched by shared patients)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from pcnopt.funding.money import _UNASSIGNED, FundingResult, funding_from_assignments
from pcnopt.funding.rates import Rates, YearRates, default_rates


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
