"""The independent rule checker behind ``pcnopt validate``.

It knows nothing about how a configuration was made: it takes practices, a practice → PCN
assignment and the adjacency graph, and checks every rule pcnopt enforces. The optimiser's
answers are checked by it after solving, and a user can audit any configuration with it (for
example the real one from ePCN).

Rules checked, per PCN:

- every practice appears in exactly one PCN, and every assigned practice exists;
- the PCN lies within one place;
- the PCN is contiguous on the catchment adjacency graph;
- ``min_size <= population <= max_size``, unless a named exception applies: a single practice
  above ``max_size`` forming its own PCN, or a PCN covering a whole connected part of its place
  (an island or an isolated practice) whose total is below ``min_size`` ("below minimum, needs
  commissioner approval");
- the commissioners' rules, when given: keep-together groups share a PCN, keep-apart groups do
  not, practices fixed to one label share a PCN and to different labels do not, excluded
  practices are in no PCN.

The same rules apply to any level of units (``unit`` names them in the findings, e.g. the
neighbourhoods above PCNs); :func:`split_units` checks that each unit of an inner level lies
wholly inside one unit of the level above.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import networkx as nx
import pandas as pd

EXCEPTION_SINGLE_LARGE = "single practice above maximum: own PCN"
EXCEPTION_SMALL_ISLAND = "below minimum, needs commissioner approval (whole island/part too small)"
EXCEPTION_APPROVED_SMALL = "below minimum, approved small PCN"


@dataclass(frozen=True)
class ValidationReport:
    """What the validator found.

    Attributes
    ----------
    pcns
        One row per PCN: ``pcn_id``, ``place_id`` (``;``-joined if several), ``population``,
        ``n_practices``, ``n_components``, ``in_band``, ``exception`` and ``problems``.
    problems
        Every rule broken, as readable sentences (empty when the configuration is valid).
    missing
        Practices in the practices table but in no PCN.
    unknown
        Practices in the assignment but not in the practices table.
    duplicated
        Practices assigned more than once.
    unit
        What the units are called in the findings ("PCN", "neighbourhood").
    """

    pcns: pd.DataFrame
    problems: tuple[str, ...]
    missing: tuple[str, ...] = field(default=())
    unknown: tuple[str, ...] = field(default=())
    duplicated: tuple[str, ...] = field(default=())
    unit: str = "PCN"

    @property
    def ok(self) -> bool:
        """True when no rule is broken (named exceptions are not breaches)."""
        return not self.problems

    def to_text(self) -> str:
        """A readable summary for the terminal."""
        n = len(self.pcns)
        in_band = int(self.pcns["in_band"].sum()) if n else 0
        exceptions = int((self.pcns["exception"] != "").sum()) if n else 0
        lines = [
            f"{n} {self.unit}s checked: {in_band} within the size band, {exceptions} named "
            f"exceptions, "
            f"{len(self.problems)} rule(s) broken."
        ]
        lines += [f"  - {p}" for p in self.problems[:50]]
        if len(self.problems) > 50:
            lines.append(f"  … and {len(self.problems) - 50} more (see the report file).")
        return "\n".join(lines)


def _named_practices(practices: pd.DataFrame, codes: list[str]) -> list[str]:
    """``Y06507 (SOME SURGERY)``: codes with the practice's name where the table has one."""
    if "name" not in practices:
        return codes
    name_of = dict(zip(practices["practice_code"], practices["name"], strict=True))
    return [
        f"{code} ({name_of[code]})" if name_of.get(code) not in (None, "", code) else code
        for code in codes
    ]


def _label(unit_id: object, names: Mapping[str, str] | None) -> str:
    """``BACHS PCN (U10998)`` where the unit has a name, else its id."""
    named = (names or {}).get(str(unit_id))
    return f"{named} ({unit_id})" if named else str(unit_id)


def _with_names(table: pd.DataFrame, names: Mapping[str, str] | None) -> pd.DataFrame:
    """The table with a ``pcn_name`` column after ``pcn_id`` when names are given."""
    if names:
        table.insert(1, "pcn_name", [str(names.get(str(p), "") or "") for p in table["pcn_id"]])
    return table


def validate_configuration(  # noqa: PLR0913  (keyword-only: the rules to check, each named)
    *,
    practices: pd.DataFrame,
    assignments: pd.DataFrame,
    edges: pd.DataFrame,
    min_size: float,
    max_size: float,
    population: str = "list_size",
    approved_small_places: frozenset[str] = frozenset(),
    excluded: frozenset[str] = frozenset(),
    keep_together: tuple[tuple[str, ...], ...] = (),
    keep_apart: tuple[tuple[str, ...], ...] = (),
    fixed: tuple[tuple[str, str], ...] = (),
    unit: str = "PCN",
    names: Mapping[str, str] | None = None,
) -> ValidationReport:
    """Check a configuration against every rule.

    Parameters
    ----------
    practices
        Practices with ``practice_code``, ``place_id`` and the ``population`` column.
    assignments
        ``practice_code`` and ``pcn_id`` (one row per practice).
    edges
        Adjacency (``a``, ``b``) from :func:`pcnopt.geography.adjacency_from_catchments`.
    min_size, max_size
        The size band.
    population
        Column of ``practices`` whose sum is a PCN's size.
    approved_small_places
        Places where PCNs below ``min_size`` have commissioner approval.
    excluded
        Practices deliberately left out of every PCN (not reported as missing; reported when
        assigned).
    keep_together, keep_apart
        Groups of practice codes that must share / must not share a PCN.
    fixed
        ``(practice code, label)`` pairs: equal labels share a PCN, different labels do not.
    unit
        What a unit is called in the findings: "PCN", or a level's name such as
        "neighbourhood" (the ``pcn_id`` column then holds that level's units).
    names
        Unit id → name (e.g. ePCN's PCN names): a finding names the unit as people know it,
        ``BACHS PCN (U10998)``, and the table gets a ``pcn_name`` column. Practices in no unit
        are named by ``practices["name"]`` where it differs from the code.
    """
    problems: list[str] = []
    codes = pd.Index(practices["practice_code"])
    assigned = assignments[["practice_code", "pcn_id"]].copy()
    assigned["practice_code"] = assigned["practice_code"].astype(str)
    assigned["pcn_id"] = assigned["pcn_id"].astype("string")
    blank = assigned["pcn_id"].isna() | (assigned["pcn_id"].str.strip() == "")
    assigned = assigned[~blank]
    duplicated = sorted(set(assigned.loc[assigned["practice_code"].duplicated(), "practice_code"]))
    unknown = sorted(set(assigned["practice_code"]) - set(codes))
    missing = sorted(set(codes) - set(assigned["practice_code"]) - set(excluded))
    if missing:
        shown = _named_practices(practices, missing[:10])
        problems.append(
            f"{len(missing)} practice(s) are in no {unit}: {', '.join(shown)}"
            + (" …" if len(missing) > 10 else "")
        )
    if unknown:
        problems.append(
            f"{len(unknown)} assigned practice(s) are not in the practices table: "
            f"{', '.join(unknown[:10])}" + (" …" if len(unknown) > 10 else "")
        )
    if duplicated:
        problems.append(
            f"{len(duplicated)} practice(s) are in more than one {unit}: "
            f"{', '.join(duplicated[:10])}"
        )
    info = practices.set_index("practice_code")
    assigned = assigned[assigned["practice_code"].isin(codes)].drop_duplicates("practice_code")

    graph = nx.Graph()
    graph.add_nodes_from(codes)
    graph.add_edges_from(edges[["a", "b"]].itertuples(index=False, name=None))
    # connected parts of each place's graph (islands), to recognise the small-island exception.
    # A practice above the maximum is always a PCN of its own, and an excluded practice is in
    # none, so neither can join its neighbours: they are set aside before the islands are found
    # (a practice reachable only through them is an island too).
    part_total: dict[str, float] = {}
    part_of: dict[str, str] = {}
    part_members: dict[str, frozenset[str]] = {}
    for place_id, group in info.groupby("place_id"):
        keep = [c for c in group.index if group.at[c, population] <= max_size and c not in excluded]
        sub = graph.subgraph(keep)
        for k, component in enumerate(nx.connected_components(sub)):
            key = f"{place_id}#{k}"
            for code in component:
                part_of[code] = key
            part_members[key] = frozenset(component)
            part_total[key] = float(group.loc[list(component), population].sum())

    rows = []
    for pcn_id, group in assigned.groupby("pcn_id", sort=True):
        members = list(group["practice_code"])
        places = sorted(set(info.loc[members, "place_id"].astype(str)))
        size = float(info.loc[members, population].sum())
        n_components = nx.number_connected_components(graph.subgraph(members))
        in_band = min_size <= size <= max_size
        exception = ""
        issues: list[str] = []
        if len(places) > 1:
            issues.append(f"crosses places {', '.join(places)}")
        if n_components > 1:
            issues.append(f"not contiguous ({n_components} separate parts)")
        if not in_band:
            whole_part = (
                members[0] in part_of
                and part_members[part_of[members[0]]] == frozenset(members)
                and part_total[part_of[members[0]]] < min_size
            )
            if size > max_size and len(members) == 1:
                exception = EXCEPTION_SINGLE_LARGE
            elif size < min_size and whole_part:
                exception = EXCEPTION_SMALL_ISLAND
            elif size < min_size and places and places[0] in approved_small_places:
                exception = EXCEPTION_APPROVED_SMALL
            else:
                side = "below" if size < min_size else "above"
                issues.append(
                    f"size {size:,.0f} is {side} the band {min_size:,.0f}–{max_size:,.0f}"
                )
        problems += [f"{unit} {_label(pcn_id, names)}: {issue}" for issue in issues]
        rows.append(
            {
                "pcn_id": pcn_id,
                "place_id": ";".join(places),
                "population": size,
                "n_practices": len(members),
                "n_components": n_components,
                "in_band": in_band,
                "exception": exception,
                "problems": "; ".join(issues),
            }
        )
    problems += _rule_problems(assigned, keep_together, keep_apart, fixed, excluded)
    columns = [
        "pcn_id",
        "place_id",
        "population",
        "n_practices",
        "n_components",
        "in_band",
        "exception",
        "problems",
    ]
    table = _with_names(pd.DataFrame(rows, columns=columns), names)
    return ValidationReport(
        pcns=table,
        problems=tuple(problems),
        missing=tuple(missing),
        unknown=tuple(unknown),
        duplicated=tuple(duplicated),
        unit=unit,
    )


def split_units(
    assignments: pd.DataFrame,
    *,
    inner: str,
    outer: str,
    weights: pd.Series,
    inner_name: str = "PCN",
    outer_name: str = "neighbourhood",
) -> pd.DataFrame:
    """Inner units that do not lie wholly inside one outer unit, one finding each.

    Parameters
    ----------
    assignments
        One row per practice: ``practice_code`` and the two levels' columns (a blank outer
        unit counts as "no {outer_name}").
    inner, outer
        The inner level's and the outer level's column.
    weights
        Practice code → patients (the band basis), to say how much of the unit lies where.
    inner_name, outer_name
        What each level's units are called in the findings.

    Returns
    -------
    pandas.DataFrame
        ``unit_id`` (the inner unit), ``outer_units`` (``;``-joined, ``(none)`` for practices
        in no outer unit) and ``problem``, one row per split unit, sorted by ``unit_id``.
    """
    frame = assignments[["practice_code", inner, outer]].astype("string")
    frame = frame[frame[inner].fillna("").str.strip() != ""]
    frame[outer] = frame[outer].fillna("").str.strip().replace("", "(none)")
    frame["patients"] = frame["practice_code"].map(weights).astype(float).fillna(0.0)
    rows = []
    for unit, group in frame.groupby(inner, sort=True):
        parts = group.groupby(outer, sort=True).agg(
            practices=("practice_code", "size"), patients=("patients", "sum")
        )
        if len(parts) < 2:
            continue
        where = ", ".join(
            f"{'no ' + outer_name if name == '(none)' else name} "
            f"({int(r.practices)} practice(s), {r.patients:,.0f} patients)"
            for name, r in parts.iterrows()
        )
        rows.append(
            {
                "unit_id": str(unit),
                "outer_units": ";".join(map(str, parts.index)),
                "problem": f"{inner_name} {unit} is split across {len(parts)} "
                f"{outer_name}s: {where}; a {inner_name} must lie wholly inside one "
                f"{outer_name}",
            }
        )
    return pd.DataFrame(rows, columns=["unit_id", "outer_units", "problem"])


def _rule_problems(
    assigned: pd.DataFrame,
    keep_together: tuple[tuple[str, ...], ...],
    keep_apart: tuple[tuple[str, ...], ...],
    fixed: tuple[tuple[str, str], ...],
    excluded: frozenset[str],
) -> list[str]:
    """The commissioners' rules that the configuration breaks, as sentences."""
    pcn_of = dict(zip(assigned["practice_code"], assigned["pcn_id"], strict=True))
    problems = [
        f"rule broken: {code} must be left out of every PCN but is in {pcn_of[code]}"
        for code in sorted(excluded)
        if code in pcn_of
    ]
    labels: dict[str, list[str]] = {}
    for code, label in fixed:
        labels.setdefault(label, []).append(code)
    together = [*keep_together, *labels.values()]
    for group in together:
        pcns = sorted({str(pcn_of[c]) for c in group if c in pcn_of})
        if len(pcns) > 1:
            problems.append(
                f"rule broken: {', '.join(group)} must share a PCN but are in {', '.join(pcns)}"
            )
    fixed_apart = [tuple(codes[0] for codes in labels.values())] if len(labels) > 1 else []
    for group in [*keep_apart, *fixed_apart]:
        seen: dict[str, str] = {}
        for code in group:
            pcn = pcn_of.get(code)
            if pcn is None:
                continue
            if str(pcn) in seen:
                problems.append(
                    f"rule broken: {seen[str(pcn)]} and {code} must be in different "
                    f"PCNs but share {pcn}"
                )
            seen.setdefault(str(pcn), code)
    return problems
