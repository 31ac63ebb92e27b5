"""An area-wide number of PCNs (``--total-pcns``), shared out between places optimally.

Places are independent once each has its number of PCNs, so the best configuration of the whole
area with :math:`N` PCNs is found in two exact steps:

1. For every place :math:`p` and every count :math:`k` it allows, the best objective
   :math:`c_p(k)` is found by the usual exact solve of the place with its count fixed
   (``n_pcns = k``). The counts tried are those the size band allows by the place's patients
   (:func:`band_count_range`, as ``places.csv`` reports them); the solve without a count gives
   one of them (the place's own best count) for free, and a place the band cannot fit at all
   keeps the one plan it has.
2. A multiple-choice knapsack chooses one count per place (:func:`choose_counts`, a dynamic
   programme over the running total):

   .. math::

      \\min \\sum_p c_p(k_p) \\quad \\text{s.t.} \\quad \\sum_p k_p = N,\\;
      k_p \\in K_p \\text{ (the counts place } p \\text{ can meet)}.

Each place then gets the plan found for its chosen count. The allocation is proven optimal when
every solve it chose among was proven optimal (or proven infeasible); otherwise its gap is the
distance to the same knapsack over the solves' proven lower bounds.

``--total-pcns fewest`` needs no knapsack: the fewest PCNs of the area is each place at its own
fewest. Each place is solved at a count no plan can go below (a practice above the band is a
PCN of its own; the other patients need ``ceil(patients / max_size)``), then one more while the
count cannot be met; the first count met is the place's fewest, with the best plan of that
count. This gives what ``n_pcns = "fewest"`` gives (as few networks as possible, then the
objective), and is many times faster than its count-first objective on the demo's largest
place (2 s against 45 s); a place still unmet at the band's largest count is solved with
``n_pcns = "fewest"`` itself.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pcnopt.errors import UnmeetableCountError
from pcnopt.model import PlaceGraph, PlaceSolution, SolveOptions
from pcnopt.model.objectives import objective_pairs
from pcnopt.model.solvers import Status

#: Solves a list of places, each with its options, returning their solutions in order.
Solver = Callable[[list[PlaceGraph], list[SolveOptions]], list[PlaceSolution]]

#: Statuses of a place solve proven optimal (their gap, if any, comes from ``mip_gap``).
_PROVEN = frozenset({Status.OPTIMAL, Status.BELOW_MINIMUM, Status.TRIVIAL, Status.EMPTY})
#: Statuses of a place solve that give no plan meeting the count.
_FAILED = frozenset({Status.INFEASIBLE, Status.UNKNOWN, Status.SOLVER_FAILED})


@dataclass(frozen=True)
class CountChoice:
    """One place solved at one number of PCNs: a choice of the knapsack.

    Attributes
    ----------
    count
        Networks in the plan (as built, including networks made by exceptions).
    cost
        What is minimised: ``(objective,)``, or every term in order when lexicographic.
    bound
        Proven lower bound of ``cost`` (same shape), or ``None`` when none is known.
    solution
        The plan.
    """

    count: int
    cost: tuple[float, ...]
    bound: tuple[float, ...] | None
    solution: PlaceSolution


@dataclass(frozen=True)
class CountAllocation:
    """How an area-wide number of PCNs was shared out between places.

    Attributes
    ----------
    asked
        The number asked for, or ``"fewest"``.
    total
        PCNs in the area (equal to ``asked`` when it is a number).
    counts
        ``(place_id, PCNs chosen)`` per place, in place order.
    allowed
        ``(place_id, counts)``: every count each place was found able to meet.
    objective
        Sum of the places' objectives at their chosen counts (``None`` when a place has none).
    bound
        Proven lower bound of the best possible sum, or ``None`` when unknown.
    gap
        ``(objective - bound) / objective``, or ``None`` when unknown.
    proven_optimal
        Every solve the allocation chose among was proven optimal (or proven infeasible).
    solves
        Place solves made (the solve without a count included).
    """

    asked: int | str
    total: int
    counts: tuple[tuple[str, int], ...]
    allowed: tuple[tuple[str, tuple[int, ...]], ...]
    objective: float | None
    bound: float | None
    gap: float | None
    proven_optimal: bool
    solves: int

    def summary(self) -> dict[str, Any]:
        """The allocation as ``summary.json`` gives it."""
        return {
            "asked": self.asked,
            "total": self.total,
            "by_place": dict(self.counts),
            "allowed": {place: list(counts) for place, counts in self.allowed},
            "objective": self.objective,
            "bound": self.bound,
            "gap": self.gap,
            "proven_optimal": self.proven_optimal,
            "place_solves": self.solves,
        }


def band_count_range(
    total: float, *, min_size: float, max_size: float, practices: int
) -> tuple[int, int]:
    """The smallest and largest number of PCNs a population fits in, by the band alone.

    ``ceil(total / max_size)`` to ``floor(total / min_size)`` (at most one per practice): the
    counts the band allows before contiguity and named exceptions (a practice above the band
    alone, an island below it) are considered.
    """
    smallest = max(1, math.ceil(total / max_size - 1e-9))
    largest = math.floor(total / min_size + 1e-9) if min_size > 0 else practices
    return smallest, largest


def choose_counts(choices: Sequence[Sequence[CountChoice]], total: int) -> tuple[int, ...] | None:
    """The one choice per place whose counts add up to ``total`` at the least summed cost.

    A multiple-choice knapsack solved exactly by dynamic programming over the running total
    (places in order, choices in order; the first of equal sums is kept, so the answer does
    not depend on anything but the input).

    Parameters
    ----------
    choices
        Per place, its choices (at least one each).
    total
        The number of PCNs the counts must add up to.

    Returns
    -------
    tuple of int or None
        The position of the chosen choice in each place's list, or ``None`` when no choice of
        counts adds up to ``total``.
    """
    # best[s]: (summed cost, positions) of the cheapest choices so far whose counts sum to s
    best: dict[int, tuple[tuple[float, ...], tuple[int, ...]]] = {0: ((), ())}
    for place in choices:
        step: dict[int, tuple[tuple[float, ...], tuple[int, ...]]] = {}
        for s, (cost, picked) in sorted(best.items()):
            for pos, choice in enumerate(place):
                t = s + choice.count
                if t > total:
                    continue
                summed = _add(cost, choice.cost)
                if t not in step or summed < step[t][0]:
                    step[t] = (summed, (*picked, pos))
        best = step
    found = best.get(total)
    return None if found is None else found[1]


def _add(a: tuple[float, ...], b: tuple[float, ...]) -> tuple[float, ...]:
    return b if not a else tuple(x + y for x, y in zip(a, b, strict=True))


def allocate_counts(
    graphs: Sequence[PlaceGraph],
    options: Sequence[SolveOptions],
    *,
    total: int | str,
    solve: Solver,
    names: Mapping[str, str] | None = None,
) -> tuple[list[PlaceSolution], CountAllocation]:
    """Solve every place so that the area has ``total`` PCNs at the least summed objective.

    Parameters
    ----------
    graphs, options
        The places and each place's options (without a count of its own: ``n_pcns`` None).
    total
        The area's number of PCNs, or ``"fewest"``.
    solve
        Solves a list of places (the run's engine, or a plain loop over
        :func:`pcnopt.model.solve_place`).
    names
        Place id to name, for the messages.

    Returns
    -------
    solutions, allocation
        Each place's plan at its chosen count (in the order of ``graphs``), and the allocation.

    Raises
    ------
    UnmeetableCountError
        ``total`` is outside what the places allow together (the message gives each place's
        smallest and largest count); nothing is solved beyond what proved it.
    """
    graphs, options = list(graphs), list(options)
    if total == "fewest":
        return _fewest(graphs, options, solve)
    if not isinstance(total, int):
        raise TypeError(f"total must be a whole number or 'fewest', not {total!r}")
    free = solve(graphs, options)
    tried: list[list[int]] = [
        _counts_to_try(g, o, s) for g, o, s in zip(graphs, options, free, strict=True)
    ]
    spans = [(min([_count(s), *k]), max([_count(s), *k])) for s, k in zip(free, tried, strict=True)]
    if not sum(lo for lo, _ in spans) <= total <= sum(hi for _, hi in spans):
        raise _unmeetable(total, graphs, spans, names)
    jobs = [(p, k) for p, counts in enumerate(tried) for k in counts]
    fixed = solve(
        [graphs[p] for p, _ in jobs],
        [dataclasses.replace(options[p], n_pcns=k) for p, k in jobs],
    )
    solved: list[list[PlaceSolution]] = [[s] for s in free]
    for (p, _), solution in zip(jobs, fixed, strict=True):
        solved[p].append(solution)
    choices = [_choices(s, o) for s, o in zip(solved, options, strict=True)]
    picked = choose_counts(choices, total)
    if picked is None:
        spans = [(min(c.count for c in cs), max(c.count for c in cs)) for cs in choices]
        raise _unmeetable(total, graphs, spans, names, choices=choices)
    chosen = [cs[pos] for cs, pos in zip(choices, picked, strict=True)]
    objective, bound, gap, proven = _quality(solved, choices, chosen, total, options)
    allocation = CountAllocation(
        asked=total,
        total=sum(c.count for c in chosen),
        counts=tuple((g.place_id, c.count) for g, c in zip(graphs, chosen, strict=True)),
        allowed=tuple(
            (g.place_id, tuple(c.count for c in cs)) for g, cs in zip(graphs, choices, strict=True)
        ),
        objective=objective,
        bound=bound,
        gap=gap,
        proven_optimal=proven,
        solves=len(free) + len(fixed),
    )
    return [c.solution for c in chosen], allocation


def _count(solution: PlaceSolution) -> int:
    return len(solution.hubs)


def _counts_to_try(graph: PlaceGraph, options: SolveOptions, free: PlaceSolution) -> list[int]:
    """The counts still to solve a place at: its band range, without the free solve's count."""
    if free.status in _FAILED or free.status == Status.EMPTY:
        return []  # no count does better than no count; the place keeps its one plan
    left_out = set(options.excluded)
    people = sum(p for c, p in zip(graph.codes, graph.population, strict=True) if c not in left_out)
    smallest, largest = band_count_range(
        people,
        min_size=options.min_size,
        max_size=options.max_size,
        practices=len(graph.codes) - len(left_out),
    )
    smallest = max(smallest, options.min_pcns or 1)
    largest = min(largest, options.max_pcns or largest, len(graph.codes) - len(left_out))
    return [k for k in range(smallest, largest + 1) if k != _count(free)]


def _choices(solved: list[PlaceSolution], options: SolveOptions) -> list[CountChoice]:
    """A place's choices: per count it met, its best plan (the free solve first among equals)."""
    first = solved[0]
    usable = [s for s in solved if s.status not in _FAILED]
    if not usable:  # the band cannot be met whatever the count: the place keeps its one plan
        usable = [first]
    by_count: dict[int, CountChoice] = {}
    for solution in usable:
        cost = _cost(solution, options, bound=False) or (0.0,) * len(objective_pairs(options))
        choice = CountChoice(
            count=_count(solution),
            cost=cost,
            # a place the band cannot fit keeps its one plan: nothing to do better
            bound=cost if solution.status in _FAILED else _cost(solution, options, bound=True),
            solution=solution,
        )
        held = by_count.get(choice.count)
        if held is None or choice.cost < held.cost:
            by_count[choice.count] = choice
    return [by_count[k] for k in sorted(by_count)]


def _cost(
    solution: PlaceSolution, options: SolveOptions, *, bound: bool
) -> tuple[float, ...] | None:
    """What the knapsack minimises for one plan (or its proven lower bound).

    The objective; lexicographic: every term in order (sums of such vectors compare as the
    order does, so the knapsack stays exact).
    """
    width = len(objective_pairs(options)) if options.lexicographic else 1
    if solution.status == Status.EMPTY:
        return (0.0,) * width
    if width > 1:
        if bound and not (solution.status in _PROVEN and not (solution.gap or 0.0) > 0):
            return None  # a bound is known for the last term only
        values = dict(solution.terms)
        return tuple(float(values.get(name, 0.0)) for name, _ in objective_pairs(options))
    value = solution.bound if bound else solution.objective
    return None if value is None else (float(value),)


def _proven(solution: PlaceSolution) -> bool:
    """Proven optimal, or proven to have no plan (for a count, or for the place at all)."""
    if solution.status == Status.INFEASIBLE:
        return True
    return solution.status in _PROVEN and not (solution.gap or 0.0) > 1e-9


def _quality(
    solved: list[list[PlaceSolution]],
    choices: list[list[CountChoice]],
    chosen: list[CountChoice],
    total: int,
    options: list[SolveOptions],
) -> tuple[float | None, float | None, float | None, bool]:
    """Objective, proven bound, gap and whether the allocation is proven optimal."""
    values = [c.solution.objective for c in chosen]
    objective = None if any(v is None for v in values) else float(sum(v or 0.0 for v in values))
    proven = all(_proven(s) for place in solved for s in place)
    if proven:
        return objective, objective, 0.0 if objective is not None else None, True
    unknown = any(s.status in {Status.UNKNOWN, Status.SOLVER_FAILED} for p in solved for s in p)
    if unknown or objective is None or any(c.bound is None for cs in choices for c in cs):
        return objective, None, None, False
    # the same knapsack over the proven bounds bounds every allocation from below
    lower = [[dataclasses.replace(c, cost=c.bound or c.cost) for c in cs] for cs in choices]
    picked = choose_counts(lower, total)
    if picked is None or any(o.lexicographic for o in options):
        return objective, None, None, False
    bound = float(sum(cs[pos].cost[0] for cs, pos in zip(lower, picked, strict=True)))
    gap = 0.0 if abs(objective) < 1e-9 else max(0.0, (objective - bound) / abs(objective))
    return objective, bound, gap, False


def _fewest(
    graphs: list[PlaceGraph], options: list[SolveOptions], solve: Solver
) -> tuple[list[PlaceSolution], CountAllocation]:
    """Each place at its fewest PCNs: counts tried upwards from a lower bound, in rounds."""
    next_k: dict[int, int] = {}
    last: dict[int, int] = {}
    for p, (graph, opts) in enumerate(zip(graphs, options, strict=True)):
        next_k[p], last[p] = _fewest_range(graph, opts)
    found: dict[int, PlaceSolution] = {}
    tried: dict[int, list[PlaceSolution]] = {p: [] for p in range(len(graphs))}
    solves = 0
    while next_k:
        places = sorted(next_k)
        solutions = solve(
            [graphs[p] for p in places],
            [dataclasses.replace(options[p], n_pcns=next_k[p]) for p in places],
        )
        solves += len(places)
        for p, solution in zip(places, solutions, strict=True):
            tried[p].append(solution)
            if solution.status not in _FAILED:
                found[p] = solution
                del next_k[p]
            elif next_k[p] >= last[p]:
                del next_k[p]  # unmet up to the band's largest count: left to the model
            else:
                next_k[p] += 1
    rest = [p for p in range(len(graphs)) if p not in found]
    if rest:
        solutions = solve(
            [graphs[p] for p in rest],
            [dataclasses.replace(options[p], n_pcns="fewest") for p in rest],
        )
        solves += len(rest)
        for p, solution in zip(rest, solutions, strict=True):
            found[p] = solution
            tried[p] = [solution]
    chosen = [found[p] for p in range(len(graphs))]
    proven = all(_proven(s) for p in tried for s in tried[p])
    # a smaller count that ended without a proof might have been met: the gap is unknown
    unsure = any(not _proven(s) and s.status in _FAILED for p in tried for s in tried[p])
    allocation = _fewest_allocation(graphs, chosen, proven=proven, solves=solves)
    if unsure:
        allocation = dataclasses.replace(allocation, bound=None, gap=None)
    return chosen, allocation


def _fewest_range(graph: PlaceGraph, options: SolveOptions) -> tuple[int, int]:
    """A count no plan of the place goes below, and the band's largest count."""
    left_out = set(options.excluded)
    sizes = [p for c, p in zip(graph.codes, graph.population, strict=True) if c not in left_out]
    big = sum(1 for s in sizes if s > options.max_size)
    rest = sum(s for s in sizes if s <= options.max_size)
    lowest = big + (math.ceil(rest / options.max_size - 1e-9) if rest > 0 else 0)
    lowest = max(lowest, options.min_pcns or 1, 1)
    _, largest = band_count_range(
        sum(sizes), min_size=options.min_size, max_size=options.max_size, practices=len(sizes)
    )
    largest = min(max(largest, lowest) + big, len(sizes), options.max_pcns or len(sizes))
    return lowest, max(largest, lowest)


def _fewest_allocation(
    graphs: list[PlaceGraph], solutions: list[PlaceSolution], *, proven: bool, solves: int
) -> CountAllocation:
    counts = tuple((g.place_id, _count(s)) for g, s in zip(graphs, solutions, strict=True))
    values = [s.objective for s in solutions if s.status != Status.EMPTY]
    objective = None if any(v is None for v in values) else float(sum(v or 0.0 for v in values))
    bounds = [
        s.objective if s.status in _FAILED else s.bound
        for s in solutions
        if s.status != Status.EMPTY
    ]
    bound = None if any(b is None for b in bounds) else float(sum(b or 0.0 for b in bounds))
    gap = None
    if objective is not None and bound is not None:
        gap = 0.0 if abs(objective) < 1e-9 else max(0.0, (objective - bound) / abs(objective))
    return CountAllocation(
        asked="fewest",
        total=sum(k for _, k in counts),
        counts=counts,
        allowed=tuple((place, (k,)) for place, k in counts),
        objective=objective,
        bound=bound,
        gap=gap,
        proven_optimal=proven,
        solves=solves,
    )


def _unmeetable(
    total: int,
    graphs: list[PlaceGraph],
    spans: list[tuple[int, int]],
    names: Mapping[str, str] | None,
    *,
    choices: list[list[CountChoice]] | None = None,
) -> UnmeetableCountError:
    """The error (exit 1) when ``total`` is not a sum of counts the places allow."""
    smallest, largest = sum(lo for lo, _ in spans), sum(hi for _, hi in spans)
    solved = choices is not None
    places = []
    for p, (graph, (lo, hi)) in enumerate(zip(graphs, spans, strict=True)):
        name = (names or {}).get(graph.place_id, graph.place_id)
        counts = f"{lo}" if lo == hi else f"{lo} to {hi}"
        if choices is not None and len(choices[p]) < hi - lo + 1:
            counts += f" (only {', '.join(str(c.count) for c in choices[p])})"
        places.append(f"{graph.place_id} {name}: {counts}")
    if smallest <= total <= largest:
        why = (
            f"no choice of the counts each place can meet adds up to {total} (some counts "
            "within a place's range cannot be met with contiguous PCNs in the band)"
        )
    elif solved:
        why = f"solved exactly, the places can meet {smallest} to {largest} PCNs in all"
    else:
        why = f"the size band allows the places {smallest} to {largest} PCNs in all"
    each = "PCNs each place can meet" if solved else "PCNs each place's band allows"
    return UnmeetableCountError(
        f"the number of PCNs asked for (--total-pcns {total}) cannot be met: {why}. "
        f"{each}: {'; '.join(places)}. Nothing was written. Fix: ask for a "
        f"total between {smallest} and {largest}, or --total-pcns fewest, or leave the "
        "count to the optimiser."
    )
