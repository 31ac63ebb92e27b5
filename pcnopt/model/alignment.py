r"""Council alignment as an objective: units that keep their patients inside one council area.

Health and social care teams can serve the same people only where a unit (a neighbourhood,
say) lies inside one local authority. Each node :math:`i` of a place's graph (a practice, or a
whole PCN when PCNs are grouped) has patients :math:`w_{ic}` in council area :math:`c` (a
practice's patients all count in the area its site is in). Two terms, per unit :math:`S`:

``outside``
    patients outside the unit's main council area,
    :math:`a_S = \sum_{i \in S} \sum_c w_{ic} - \max_c \sum_{i \in S} w_{ic}`;
``split``
    council boundaries the unit crosses, :math:`a_S = |\{c : \exists i \in S,\ w_{ic} > 0\}|
    - 1` (summed over units: the "county splits" of the districting literature, counted
    once per unit that crosses).

Both are separable by unit, so the exact model is set partitioning over every candidate unit
(every connected set :math:`S` with :math:`L \le p(S) \le U`, listed by
:func:`pcnopt.model.partition.candidates_for`):

.. math::

    \min \sum_S a_S\, x_S \quad \text{s.t.} \quad \sum_{S \ni i} x_S = 1\ \forall i,
    \qquad x_S \in \{0, 1\}

*Alone*, ties are then broken by compactness (:math:`\sum_S c_S x_S` subject to
:math:`\sum_S a_S x_S \le a^*`). *Lexicographic after compactness* (the default), the first
stage is the compact objective :math:`c^*` and the second minimises :math:`\sum_S a_S x_S`
subject to :math:`\sum_S c_S x_S \le c^* (1 + 10^{-7})`: among the most compact plans, the
best aligned. Each stage is solved to optimality by the chosen solver.

A place that cannot be split wholly into units within the band (an island, a practice above
it), or has too many candidate units to list, is not solved here: :func:`solve_aligned`
returns why, and the caller keeps its plan without the alignment objective.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pulp

from pcnopt.model.objectives import distances, patient_cost
from pcnopt.model.partition import candidates_for
from pcnopt.model.solvers import Status, solve
from pcnopt.model.types import PlaceGraph, SolveOptions

#: The alignment terms: patients outside their unit's main council area, or councils crossed.
ALIGN_OBJECTIVES = ("outside", "split")


@dataclass(frozen=True)
class AlignedPlan:
    """The outcome of :func:`solve_aligned` for one place.

    Attributes
    ----------
    status
        ``optimal`` (every stage proven), ``feasible`` (a stage stopped at the time limit),
        ``infeasible`` (no plan of units in band) or ``not_solved`` (too many candidates).
    labels
        Unit index per node (numbered in order of their first node), empty unless solved.
    alignment
        The plan's alignment term (patients outside, or councils crossed).
    compact
        The plan's compact term (patient-metres to each unit's best hub).
    message
        What was proved, in words.
    """

    status: str
    labels: tuple[int, ...]
    alignment: float | None
    compact: float | None
    message: str


def unit_alignment(shares: Sequence[Mapping[str, float]], term: str) -> float:
    """The alignment term of one unit, from its nodes' patients by council area."""
    by_council: dict[str, float] = {}
    for share in shares:
        for council, patients in share.items():
            by_council[council] = by_council.get(council, 0.0) + float(patients)
    if term == "outside":
        return sum(by_council.values()) - max(by_council.values(), default=0.0)
    if term == "split":
        return float(max(0, sum(1 for v in by_council.values() if v > 0) - 1))
    raise ValueError(f"unknown alignment objective {term!r}; use one of {ALIGN_OBJECTIVES}")


def plan_alignment(
    labels: Sequence[int], shares: Sequence[Mapping[str, float]], term: str
) -> float:
    """The alignment term of a plan: the sum over its units (nodes labelled -1 are in none)."""
    units: dict[int, list[Mapping[str, float]]] = {}
    for label, share in zip(labels, shares, strict=True):
        if label >= 0:
            units.setdefault(int(label), []).append(share)
    return sum(unit_alignment(members, term) for members in units.values())


def _scaled(values: Sequence[float]) -> list[float]:
    """``values`` divided by the largest of them (unchanged when all are 0)."""
    top = max((abs(v) for v in values), default=0.0)
    return [v / top for v in values] if top > 0 else list(values)


def solve_aligned(
    graph: PlaceGraph,
    shares: Sequence[Mapping[str, float]],
    *,
    options: SolveOptions,
    term: str,
    after_compact: bool = True,
) -> AlignedPlan:
    """Partition ``graph`` into connected units in band, minimising misalignment exactly.

    Parameters
    ----------
    graph
        The place (practices, or PCNs contracted into nodes).
    shares
        Per node: council area → its patients there.
    options
        The band, solver and time limit (``squared`` applies to the compact term).
    term
        ``"outside"`` or ``"split"``.
    after_compact
        True: lexicographic after the compact objective; False: alignment alone (compactness
        only breaks ties).
    """
    if term not in ALIGN_OBJECTIVES:
        raise ValueError(f"unknown alignment objective {term!r}; use one of {ALIGN_OBJECTIVES}")
    n = len(graph.codes)
    pop = np.asarray(graph.population, dtype=float)
    cost = patient_cost(pop, distances(graph), squared=options.squared)
    adj: list[set[int]] = [set() for _ in range(n)]
    length: dict[tuple[int, int], float] = {}
    for i, j, border in graph.edges:
        adj[i].add(j)
        adj[j].add(i)
        length[(min(i, j), max(i, j))] = float(border)
    candidates = candidates_for(
        adj=adj,
        length=length,
        pop=pop,
        cost=cost,
        nodes=range(n),
        lo=options.min_size,
        hi=options.max_size,
        together=(),
        apart=(),
        terms=("compact",),
        max_candidates=options.partition_candidates,
    )
    if candidates is None:
        return AlignedPlan(
            "not_solved",
            (),
            None,
            None,
            f"more than {options.partition_candidates:,} possible units to list; alignment not "
            "used (group given PCNs instead: far fewer units)",
        )
    parts = [candidates.part(s) for s in range(candidates.count)]
    compact = [float(v) for v in candidates.costs["compact"]]
    align = [unit_alignment([shares[i] for i in part], term) for part in parts]
    covered = {i for part in parts for i in part}
    if n and covered != set(range(n)):
        return AlignedPlan(
            "infeasible",
            (),
            None,
            None,
            "the place cannot be split wholly into units within the band; alignment not used",
        )
    problem = pulp.LpProblem("alignment", pulp.LpMinimize)
    x = [pulp.LpVariable(f"x{s}", cat="Binary") for s in range(len(parts))]
    on: list[list[int]] = [[] for _ in range(n)]
    for s, part in enumerate(parts):
        for i in part:
            on[i].append(s)
    for i in range(n):
        problem += pulp.lpSum(x[s] for s in on[i]) == 1, f"cover{i}"
    # costs in the model scaled to at most 1 (patient-metres run to 1e8: CBC's preprocessing
    # declared a stage with such coefficients infeasible although its last plan was feasible)
    scaled = [_scaled(compact), _scaled(align)]
    first, second = (scaled[0], scaled[1]) if after_compact else (scaled[1], scaled[0])
    proven = True
    chosen: list[int] = []
    for stage, values in enumerate((first, second)):
        problem.setObjective(pulp.lpSum(v * x[s] for s, v in enumerate(values)))
        result = solve(
            problem,
            solver=options.solver,
            time_limit=options.time_limit,
            threads=options.threads,
            mip_gap=0.0,
            # the second stage starts from the first stage's plan, which is feasible for it
            warm_start={x[s].name: float(s in chosen) for s in range(len(parts))}
            if chosen
            else None,
        )
        if result.status == Status.INFEASIBLE or not result.values:
            return AlignedPlan(
                "infeasible" if result.status == Status.INFEASIBLE else "not_solved",
                (),
                None,
                None,
                "no plan of units within the band was found; alignment not used",
            )
        proven = proven and result.status == Status.OPTIMAL
        chosen = [s for s in range(len(parts)) if result.values.get(x[s].name, 0.0) > 0.5]
        if stage == 0:
            best = sum(values[s] for s in chosen)
            slack = 1e-7 * max(1e-9, abs(best))
            problem += pulp.lpSum(v * x[s] for s, v in enumerate(values)) <= best + slack
    labels = [-1] * n
    for k, s in enumerate(sorted(chosen, key=lambda s: parts[s][0])):
        for i in parts[s]:
            labels[i] = k
    total_align = sum(align[s] for s in chosen)
    total_compact = sum(compact[s] for s in chosen)
    what = (
        "patients outside their unit's main council area"
        if term == "outside"
        else ("council boundaries crossed")
    )
    order = "after compactness" if after_compact else "alone (compactness breaks ties)"
    return AlignedPlan(
        "optimal" if proven else "feasible",
        tuple(labels),
        total_align,
        total_compact,
        f"council alignment {order}: {total_align:,.0f} {what}"
        + (", proven least" if proven else " (time limit: not proven least)"),
    )
