"""Nested levels: PCNs inside larger neighbourhood units, each level contiguous and in its band.

Since the 10 Year Health Plan (2025) commissioners draw neighbourhood footprints above PCNs.
Two exact ways to build both layers, each reusing :func:`~pcnopt.model.driver.solve_place`
(so every level is proven optimal, or its gap is reported, level by level):

*Top-down* (:func:`solve_levels`, any number of levels; :func:`solve_nested`, two): the outer
level is designed on the practice graph, then the inner level inside each outer unit as if the
unit were a place, recursively down to the innermost level. An outer unit that cannot be
split into inner units within their band is named, with the reason the inner solve gives.
Each level is optimal for its own objective given the level above; the two levels together
are not optimised jointly.

*Bottom-up* (:func:`group_units`): existing units (e.g. the current PCNs) are fixed building
blocks; they are contracted into one node each (population summed, position the
population-weighted centre, adjacent where any of their practices' catchments touch) and
grouped into outer units on that graph. This keeps every existing PCN whole — what most ICBs
do now — and can differ from top-down, which may redraw PCNs to reach a better outer layer.
With more than one level above the given units (:func:`group_levels`), those levels are
designed top-down on the units' graph.

Prefer bottom-up when the inner layer is settled (contracts, staff and premises follow the
PCNs); prefer top-down for a fresh design, or to see what the current PCNs cost the outer
layer.

Either way the outer level can also be aligned with council areas (:class:`Alignment`): its
plan is then the exact optimum of :func:`pcnopt.model.alignment.solve_aligned`, alone or
lexicographic after compactness, where the place can be split wholly into units in band.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from pcnopt.errors import OptionError
from pcnopt.model.alignment import solve_aligned
from pcnopt.model.driver import solve_place
from pcnopt.model.objectives import distances, patient_cost
from pcnopt.model.solvers import Status
from pcnopt.model.types import PlaceGraph, PlaceSolution, SolveOptions


@dataclass(frozen=True)
class UnitGraph:
    """A place graph whose nodes are units (groups of practices), and the units' members.

    Attributes
    ----------
    graph
        One node per unit: ``codes`` are the unit ids (sorted), ``population`` the members'
        sum, ``x``/``y`` the population-weighted centre, ``edges`` joining units whose members
        are adjacent (length: the summed shared border).
    members
        Unit id → its practice codes (sorted), in the order of ``graph.codes``.
    """

    graph: PlaceGraph
    members: Mapping[str, tuple[str, ...]]


@dataclass(frozen=True)
class Alignment:
    """Council alignment as the outer level's objective.

    Attributes
    ----------
    council_of
        Practice code → the council area its site is in.
    term
        ``"outside"`` (patients outside their unit's main council area) or ``"split"``
        (council boundaries crossed); see :mod:`pcnopt.model.alignment`.
    after_compact
        True: lexicographic after compactness; False: alignment alone.
    """

    council_of: Mapping[str, str]
    term: str
    after_compact: bool = True


@dataclass(frozen=True)
class NestedSolution:
    """Both levels of a nested design of one place.

    Attributes
    ----------
    outer
        The outer level's solution on the practice graph (top-down) or on the unit graph
        (bottom-up: its labels are per unit).
    inner
        Top-down: one solution per outer unit (in label order), on that unit's practices.
        Bottom-up: empty (the inner units are the given ones).
    outer_of
        Practice code → outer unit number (-1 when the practice is in none).
    inner_of
        Practice code → inner unit id ``"<outer>-<k>"`` (top-down) or the given unit id.
    unsplittable
        Outer units that could not be split into inner units within the inner band, each with
        the reason (empty when every outer unit splits).
    """

    outer: PlaceSolution
    inner: tuple[PlaceSolution, ...]
    outer_of: Mapping[str, int]
    inner_of: Mapping[str, str]
    unsplittable: tuple[str, ...] = ()
    alignment: str = ""


def subgraph(graph: PlaceGraph, codes: Sequence[str], *, place_id: str) -> PlaceGraph:
    """The place graph of some of ``graph``'s practices (edges among them only)."""
    keep = sorted(set(codes))
    index = {c: k for k, c in enumerate(graph.codes)}
    at = [index[c] for c in keep]
    new = {old: k for k, old in enumerate(at)}
    edges = tuple((new[i], new[j], length) for i, j, length in graph.edges if i in new and j in new)
    return PlaceGraph(
        place_id=place_id,
        codes=tuple(keep),
        population=tuple(graph.population[k] for k in at),
        x=tuple(graph.x[k] for k in at),
        y=tuple(graph.y[k] for k in at),
        edges=edges,
        current=None if graph.current is None else tuple(graph.current[k] for k in at),
        distance=None
        if graph.distance is None
        else tuple(tuple(graph.distance[a][b] for b in at) for a in at),
    )


def unit_graph(graph: PlaceGraph, unit_of: Mapping[str, str]) -> UnitGraph:
    """Contract each unit (``practice code → unit id``) of ``graph`` into one node.

    Raises
    ------
    OptionError
        When a practice of the place has no unit.
    """
    missing = [c for c in graph.codes if not unit_of.get(c)]
    if missing:
        raise OptionError(
            f"place {graph.place_id}: {len(missing)} practice(s) are in no unit to group "
            f"(e.g. {', '.join(missing[:5])}); give every practice its PCN, or leave those "
            "practices out."
        )
    units = sorted({str(unit_of[c]) for c in graph.codes})
    number = {u: k for k, u in enumerate(units)}
    members: dict[str, list[str]] = {u: [] for u in units}
    population = [0.0] * len(units)
    sx = [0.0] * len(units)
    sy = [0.0] * len(units)
    for k, code in enumerate(graph.codes):
        u = number[str(unit_of[code])]
        members[units[u]].append(code)
        w = graph.population[k]
        population[u] += w
        sx[u] += w * graph.x[k]
        sy[u] += w * graph.y[k]
    x, y = [], []
    for u, unit in enumerate(units):
        if population[u] > 0:
            x.append(sx[u] / population[u])
            y.append(sy[u] / population[u])
        else:  # a unit of empty practices: its plain centre
            at = [graph.codes.index(c) for c in members[unit]]
            x.append(sum(graph.x[k] for k in at) / len(at))
            y.append(sum(graph.y[k] for k in at) / len(at))
    border: dict[tuple[int, int], float] = {}
    for i, j, length in graph.edges:
        a, b = number[str(unit_of[graph.codes[i]])], number[str(unit_of[graph.codes[j]])]
        if a != b:
            key = (min(a, b), max(a, b))
            border[key] = border.get(key, 0.0) + length
    contracted = PlaceGraph(
        place_id=graph.place_id,
        codes=tuple(units),
        population=tuple(population),
        x=tuple(x),
        y=tuple(y),
        edges=tuple((a, b, length) for (a, b), length in sorted(border.items())),
    )
    return UnitGraph(contracted, {u: tuple(sorted(members[u])) for u in units})


def group_units(
    graph: PlaceGraph,
    unit_of: Mapping[str, str],
    *,
    options: SolveOptions,
    align: Alignment | None = None,
) -> NestedSolution:
    """Bottom-up: group whole units (e.g. current PCNs) into contiguous outer units in band.

    Parameters
    ----------
    graph
        The place's practices.
    unit_of
        Practice code → its unit (every practice of the place needs one).
    options
        The outer level's band, objective and solver (``compact`` measures distance between
        the units' population-weighted centres).
    align
        Council alignment as the objective, or None.
    """
    grouped = group_levels(graph, unit_of, [options], align=align)
    units = unit_graph(graph, unit_of)
    label = dict(zip(units.graph.codes, grouped.top.labels, strict=True))
    return NestedSolution(
        outer=grouped.top,
        inner=(),
        outer_of={code: int(label[str(unit_of[code])]) for code in graph.codes},
        inner_of=grouped.unit_of[-1],
        alignment=grouped.alignment,
    )


def group_levels(
    graph: PlaceGraph,
    unit_of: Mapping[str, str],
    levels: Sequence[SolveOptions],
    *,
    align: Alignment | None = None,
) -> LevelsSolution:
    """Bottom-up, any number of levels: given units (e.g. current PCNs) kept whole as the
    innermost level, the ``levels`` above them designed on the graph of the units.

    With one level above the given units this is plain grouping; with more, the levels above
    are designed top-down on the units' graph (:func:`solve_levels`), so each is exact given
    the level above it and every given unit stays whole.

    Parameters
    ----------
    graph
        The place's practices.
    unit_of
        Practice code → its given unit (every practice of the place needs one).
    levels
        The levels above the given units, outermost first.
    align
        Council alignment as the outermost level's objective, or None.

    Returns
    -------
    LevelsSolution
        Its ``unit_of`` per practice: one mapping per level of ``levels``, then the given
        units.
    """
    units = unit_graph(graph, unit_of)
    shares = None
    if align is not None:
        population = dict(zip(graph.codes, graph.population, strict=True))
        shares = []
        for unit in units.graph.codes:
            share: dict[str, float] = {}
            for code in units.members[unit]:
                council = align.council_of.get(code, "")
                share[council] = share.get(council, 0.0) + population[code]
            shares.append(share)
    above = solve_levels(units.graph, levels, align=align, shares=shares)
    of_unit = {code: str(unit_of[code]) for code in graph.codes}
    return replace(
        above,
        unit_of=(
            *({code: level[of_unit[code]] for code in graph.codes} for level in above.unit_of),
            of_unit,
        ),
    )


@dataclass(frozen=True)
class LevelsSolution:
    """Any number of nested levels of one place (or one unit of the level above).

    Attributes
    ----------
    top
        The outermost level's solution on the graph it was given.
    unit_of
        Per level, outermost first: node code → unit id (``""`` when the node is in none).
        The outermost level's ids are ``"<place>-<k>"``, each inner level's its parent's id
        followed by ``"-<k>"`` (numbered from 01).
    parts
        Below the outermost level: the solution inside each of its units, in label order.
    unsplittable
        Units (at any level but the innermost) that could not be split into units of the
        level below within its band, each with the reason.
    alignment
        What council alignment of the outermost level did, in words (``""`` without it).
    """

    top: PlaceSolution
    unit_of: tuple[Mapping[str, str], ...]
    parts: tuple[LevelsSolution, ...] = ()
    unsplittable: tuple[str, ...] = ()
    alignment: str = ""


#: Statuses of a solve that drew units (the others leave a unit unsplit).
_DRAWN = ("optimal", "feasible", "trivial")


def check_bands_nest(levels: Sequence[SolveOptions]) -> None:
    """Raise :class:`OptionError` when an outer band cannot hold a unit of the level below."""
    for outer, inner in itertools.pairwise(levels):
        if outer.max_size < inner.min_size:
            raise OptionError(
                f"the outer level's largest unit ({outer.max_size:,.0f}) is smaller than the "
                f"inner level's smallest ({inner.min_size:,.0f}); an outer unit could never "
                "hold one. Fix: give the outer level a larger band, or the inner level a "
                "smaller one."
            )


def solve_levels(
    graph: PlaceGraph,
    levels: Sequence[SolveOptions],
    *,
    align: Alignment | None = None,
    shares: Sequence[Mapping[str, float]] | None = None,
) -> LevelsSolution:
    """Top-down, any number of levels: the outermost on ``graph``, then each level inside
    every unit of the level above, as if that unit were a place (recursively).

    Each level is optimal for its own objective given the level above (or its gap is
    reported); the levels are not optimised jointly.

    Parameters
    ----------
    graph
        The place's practices (or units, when the innermost level is given: see
        :func:`unit_graph`).
    levels
        Each level's band, objective and solver, outermost first.
    align
        Council alignment as the outermost level's objective, or None.
    shares
        With ``align``: per node of ``graph``, its patients by council area; by default each
        node's whole population in ``align.council_of`` its code.

    Raises
    ------
    OptionError
        When the bands cannot nest, or no level is given.
    """
    if not levels:
        raise OptionError("give at least one level to solve.")
    check_bands_nest(levels)
    top = solve_place(graph, options=levels[0])
    said = ""
    if align is not None:
        if shares is None:
            shares = [
                {align.council_of.get(code, ""): population}
                for code, population in zip(graph.codes, graph.population, strict=True)
            ]
        top, said = _aligned(graph, top, shares, options=levels[0], align=align)
    label_of = dict(zip(graph.codes, top.labels, strict=True))
    outer = {c: f"{graph.place_id}-{k + 1:02d}" if k >= 0 else "" for c, k in label_of.items()}
    deeper: list[dict[str, str]] = [dict.fromkeys(graph.codes, "") for _ in levels[1:]]
    parts = []
    unsplittable: list[str] = []
    for label in sorted({k for k in top.labels if k >= 0}) if len(levels) > 1 else ():
        codes = [c for c in graph.codes if label_of[c] == label]
        unit_id = f"{graph.place_id}-{label + 1:02d}"
        part = solve_levels(subgraph(graph, codes, place_id=unit_id), levels[1:])
        parts.append(part)
        if part.top.status not in _DRAWN:
            size = sum(graph.population[graph.codes.index(c)] for c in codes)
            unsplittable.append(
                f"{unit_id} ({size:,.0f} patients, {len(codes)} practices): {part.top.message}"
            )
        unsplittable += part.unsplittable
        for mine, theirs in zip(deeper, part.unit_of, strict=True):
            mine.update(theirs)
    return LevelsSolution(
        top=top,
        unit_of=(outer, *deeper),
        parts=tuple(parts),
        unsplittable=tuple(unsplittable),
        alignment=said,
    )


def solve_nested(
    graph: PlaceGraph,
    *,
    outer: SolveOptions,
    inner: SolveOptions,
    align: Alignment | None = None,
) -> NestedSolution:
    """Top-down, two levels: :func:`solve_levels` with ``[outer, inner]``.

    Parameters
    ----------
    graph
        The place's practices.
    outer, inner
        Each level's band, objective and solver. The outer band must be able to hold inner
        units: ``outer.max_size >= inner.min_size``.
    align
        Council alignment as the outer level's objective, or None.

    Raises
    ------
    OptionError
        When the bands cannot nest.
    """
    both = solve_levels(graph, [outer, inner], align=align)
    return NestedSolution(
        outer=both.top,
        inner=tuple(part.top for part in both.parts),
        outer_of={c: int(k) for c, k in zip(graph.codes, both.top.labels, strict=True)},
        inner_of=both.unit_of[1],
        unsplittable=both.unsplittable,
        alignment=both.alignment,
    )


def _aligned(
    graph: PlaceGraph,
    solution: PlaceSolution,
    shares: Sequence[Mapping[str, float]],
    *,
    options: SolveOptions,
    align: Alignment,
) -> tuple[PlaceSolution, str]:
    """``solution`` replaced by the best-aligned plan, and what was done, in words.

    The plan is kept, and the reason said, where the alignment model does not apply (a place
    that cannot be split wholly into units in band, or too large to list its units).
    """
    plan = solve_aligned(
        graph, shares, options=options, term=align.term, after_compact=align.after_compact
    )
    if plan.status not in ("optimal", "feasible") or plan.alignment is None:
        return solution, plan.message
    labels = plan.labels
    pop = np.asarray(graph.population, dtype=float)
    cost = patient_cost(pop, distances(graph), squared=options.squared)
    parts = [[i for i, lab in enumerate(labels) if lab == k] for k in range(max(labels) + 1)]
    hubs = tuple(p[int(np.argmin(cost[np.ix_(p, p)].sum(axis=0)))] for p in parts)
    proven = plan.status == "optimal"
    aligned = replace(
        solution,
        status=Status.OPTIMAL if proven else Status.FEASIBLE,
        objective=plan.alignment,
        bound=plan.alignment if proven else None,
        gap=0.0 if proven else None,
        labels=labels,
        hubs=hubs,
        notes=tuple("" for _ in parts),
        names=tuple("" for _ in parts),
        populations=tuple(float(pop[p].sum()) for p in parts),
        terms=(("compact", float(plan.compact or 0.0)), (f"align_{align.term}", plan.alignment)),
        message=f"{solution.message} {plan.message}.".strip(),
        method=f"{solution.method}; then set partitioning for council alignment".lstrip("; "),
    )
    return aligned, plan.message


def nesting_problems(
    inner_of: Mapping[str, str], outer_of: Mapping[str, object]
) -> tuple[str, ...]:
    """Inner units that lie in more than one outer unit (an inner unit must nest in one)."""
    seen: dict[str, set[object]] = {}
    for code, unit in inner_of.items():
        if unit:
            seen.setdefault(unit, set()).add(outer_of.get(code))
    return tuple(
        f"inner unit {unit} lies in {len(outers)} outer units"
        for unit, outers in sorted(seen.items())
        if len(outers) > 1
    )


def with_band(options: SolveOptions, *, min_size: float, max_size: float) -> SolveOptions:
    """``options`` with another size band (one level's band)."""
    if not (math.isfinite(min_size) and math.isfinite(max_size)) or min_size > max_size:
        raise OptionError(f"a level's band {min_size:g}-{max_size:g} is not a valid range.")
    return replace(options, min_size=min_size, max_size=max_size)
