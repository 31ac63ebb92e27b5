"""A block solved by set partitioning: listed candidates, or candidates priced on demand."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace

import networkx as nx
import numpy as np

from pcnopt.model import heuristic as heur
from pcnopt.model import partition as setpart
from pcnopt.model.partition.closing import share_of_time, whole_bound
from pcnopt.model.place import Block, Place, Stage
from pcnopt.model.solvers import Status
from pcnopt.model.stages import run_stages
from pcnopt.model.types import PARTITION


def partition_block(
    place: Place,
    nodes: list[int],
    *,
    k_lo: int,
    k_hi: int,
    together: Sequence[tuple[int, int]],
    apart: Sequence[tuple[int, int]],
    stages: list[list[tuple[str, float]]],
    incumbent: list[list[int]] | None,
    found: heur.HeuristicResult,
    deadline: float | None,
    repaired: Callable[[], list[list[int]] | None],
) -> Block | None:
    """Solve a block exactly by set partitioning over every candidate network.

    With the disruption objective, each column is a candidate together with the current
    network it continues (or none), priced exactly, with a side row per current network (see
    :func:`~pcnopt.model.objectives.continuation_columns`).

    When the block has more than ``max_candidates`` candidate networks (or disruption
    columns), they are priced on demand instead (:func:`priced_block` for the compact
    objective, :func:`priced_disruption_block` for disruption; one objective stage of that
    term alone, at most ``MAX_PRICED_PRACTICES`` practices (``MAX_PRICED_DISRUPTION_PRACTICES``
    for disruption), and a starting plan: the
    heuristic's, or ``repaired()``). Returns None (the Hess model is used instead) when they
    cannot be.
    """
    opts = place.options
    disruption = "disruption" in place.terms
    if opts.partition_candidates == 0 or (disruption and place.current is None):
        return None
    most_listed = opts.partition_candidates
    if disruption and stages == [[("disruption", place.weights.get("disruption", 0.0))]]:
        # disruption alone is priced past its own cap (other stages would go to the Hess
        # model); every candidate gives at least one column (continuing none), so past the
        # cap the candidates need not be listed either
        most_listed = min(most_listed, setpart.MAX_LISTED_DISRUPTION_COLUMNS)
    cands = setpart.candidates_for(
        adj=place.adj,
        length=place.length,
        pop=place.pop,
        cost=place.cost,
        nodes=nodes,
        lo=opts.min_size,
        hi=opts.max_size,
        together=together,
        apart=apart,
        terms=place.terms,
        max_candidates=most_listed,
    )
    current = None
    listed = 0 if cands is None else cands.count  # candidate networks, before continuations
    if cands is not None and disruption:
        current = current_index(place, nodes)
        cands = setpart.with_continuations(
            cands, pop=place.pop, current=current, max_columns=most_listed
        )
    if cands is None:
        term = "disruption" if disruption else "compact"
        single = stages == [[(term, place.weights.get(term, 0.0))]]
        fewest = stages == [[("count", 1.0)], [("compact", place.weights.get("compact", 0.0))]]
        most = (
            setpart.MAX_PRICED_DISRUPTION_PRACTICES if disruption else setpart.MAX_PRICED_PRACTICES
        )
        if not (single or fewest) or len(nodes) > most:
            return None
        incumbent = incumbent or repaired()
        if incumbent is None:
            return None
        if fewest:
            return priced_fewest_block(
                place,
                nodes,
                k_lo=k_lo,
                k_hi=k_hi,
                together=together,
                apart=apart,
                incumbent=incumbent,
                stages=stages,
                found=found,
                deadline=deadline,
            )
        if disruption:
            return priced_disruption_block(
                place,
                nodes,
                k_lo=k_lo,
                k_hi=k_hi,
                together=together,
                apart=apart,
                incumbent=incumbent,
                deadline=deadline,
            )
        return priced_block(
            place,
            nodes,
            k_lo=k_lo,
            k_hi=k_hi,
            together=together,
            apart=apart,
            incumbent=incumbent,
            deadline=deadline,
        )
    limits: list[tuple[np.ndarray, float]] = []

    def stage_cost(stage: list[tuple[str, float]]) -> np.ndarray:
        cost = np.zeros(cands.count)
        for name, weight in stage:
            cost = cost + weight * cands.costs[name]
        return cost

    held: list[int] = []  # the fewest networks, once proven

    def solve(stage: list[tuple[str, float]], start: list[int] | None) -> Stage:
        cost = stage_cost(stage)
        count = stage == [("count", 1.0)]
        if held and not count and not bool(np.all(of_count(held[0]))):
            return solve_held(cost, start, held[0])
        res = setpart.solve_stage(
            cands,
            nodes=nodes,
            cost=cost,
            k_lo=k_lo,
            k_hi=k_hi,
            limits=limits,
            start=start,
            solver=opts.solver,
            threads=opts.threads,
            mip_gap=opts.mip_gap,
            deadline=deadline,
            integral=count,
            start_of_count=start_of_count,
            of_count=of_count,
        )
        if count and (k := proven_count(res.value, res.bound)) is not None:
            held.append(k)
        return Stage(res.kind, res.plan, res.value, res.bound)

    patients = cands.patients(place.pop)

    def of_count(k: int) -> np.ndarray:
        """The candidates a plan of exactly ``k`` networks can hold (:func:`band_of_count`)."""
        lo, hi = _band_at(place, nodes, k)
        return (patients >= lo) & (patients <= hi)

    def solve_held(cost: np.ndarray, start: list[int] | None, k: int) -> Stage:
        """A later stage once the fewest networks ``k`` are proven: over the candidates that
        can be in a plan of exactly ``k`` networks."""
        held = setpart.Held(cands, of_count(k))
        res = setpart.solve_stage(
            held.cands,
            nodes=nodes,
            cost=held.of(cost),
            k_lo=k,
            k_hi=k,
            limits=[(held.of(c), v) for c, v in limits],
            start=held.plan_inside(start),
            solver=opts.solver,
            threads=opts.threads,
            mip_gap=opts.mip_gap,
            deadline=deadline,
        )
        plan = None if res.plan is None else held.outside(res.plan)
        return Stage(res.kind, plan, res.value, res.bound)

    def fix(s: int, stage: list[tuple[str, float]], limit: float) -> None:
        limits.append((stage_cost(stage), limit))

    def start_of_count(k: int) -> list[int] | None:
        """The heuristic's plan of exactly k networks (a tenth of the time left), or None."""
        plan = heur.block_heuristic(
            place,
            nodes,
            k_lo=k,
            k_hi=k,
            together=together,
            apart=apart,
            deadline=share_of_time(deadline, 0.1),
        )
        if plan.violation > 0 or len(plan.parts) != k:
            return None
        return _locate(cands, [list(p) for p in plan.parts], current, place.pop)

    return run_stages(
        place,
        nodes,
        stages,
        solve,
        fix,
        # no plan in band from the heuristic: its plan mended into the band, if it can be
        start=_locate(cands, incumbent or repaired(), current, place.pop),
        together=together,
        apart=apart,
        deadline=deadline,
        found=found,
        method=PARTITION,
        parts=lambda plan: [cands.part(c) for c in plan],
        candidates=listed,
    )


def priced_block(
    place: Place,
    nodes: list[int],
    *,
    k_lo: int,
    k_hi: int,
    together: Sequence[tuple[int, int]],
    apart: Sequence[tuple[int, int]],
    incumbent: list[list[int]],
    deadline: float | None,
) -> Block:
    """Set partitioning for the compact objective with candidates priced on demand."""
    res, cands = _solve_priced(
        place,
        nodes,
        together=together,
        apart=apart,
        k_lo=k_lo,
        k_hi=k_hi,
        start_parts=incumbent,
        mip_gap=place.options.mip_gap,
        deadline=deadline,
    )
    return _priced_result(res, cands, weight=place.weights["compact"])


def _solve_priced(
    place: Place,
    nodes: list[int],
    *,
    together: Sequence[tuple[int, int]],
    apart: Sequence[tuple[int, int]],
    k_lo: int,
    k_hi: int,
    start_parts: Sequence[Sequence[int]],
    mip_gap: float,
    deadline: float | None,
    objective: str = "compact",
    band: tuple[float, float] | None = None,
) -> tuple[setpart.StageResult, setpart.Candidates]:
    """:func:`~pcnopt.model.partition.colgen.solve_priced` on the block with the place's
    arrays and solver, and its band (or ``band``, narrower)."""
    opts = place.options
    lo, hi = (opts.min_size, opts.max_size) if band is None else band
    return setpart.solve_priced(
        adj=place.adj,
        length=place.length,
        pop=place.pop,
        cost=place.cost,
        nodes=nodes,
        lo=lo,
        hi=hi,
        together=together,
        apart=apart,
        k_lo=k_lo,
        k_hi=k_hi,
        start_parts=start_parts,
        solver=opts.solver,
        threads=opts.threads,
        mip_gap=mip_gap,
        deadline=deadline,
        objective=objective,
    )


#: Share of the time the fewest networks' count stage may take when priced; the most compact
#: plan of that count has the rest (all of it, once the count is proven early).
COUNT_SHARE = 0.5

#: Share of a count's time in :func:`fewer_priced` for its priced search from no plan; the
#: branching on pairs of practices has the rest.
PRICED_SHARE = 0.3

#: Share of the count stage's time for the counts listed over their narrower band
#: (:func:`fewer_by_band`) before the priced search.
BAND_SHARE = 0.5


def priced_fewest_block(
    place: Place,
    nodes: list[int],
    *,
    k_lo: int,
    k_hi: int,
    together: Sequence[tuple[int, int]],
    apart: Sequence[tuple[int, int]],
    incumbent: list[list[int]],
    stages: list[list[tuple[str, float]]],
    found: heur.HeuristicResult,
    deadline: float | None,
) -> Block:
    """The fewest networks, then the most compact plan of that count, with candidates priced
    on demand: two priced searches (:func:`~pcnopt.model.partition.colgen.solve_priced`, the
    count then the compact objective with the count held), through the same stages as the
    listed path (:func:`~pcnopt.model.stages.run_stages`), so that the messages and the gap
    are the same. A plan is a list of parts here (each search has its own pool)."""
    opts = place.options
    most = [k_hi]
    columns = [0]

    held: list[int] = []  # the fewest networks, once proven

    until = share_of_time(deadline, COUNT_SHARE)  # of the count stage

    def solve(stage: list[tuple[str, float]], start: list[list[int]]) -> Stage:
        count = stage == [("count", 1.0)]
        band = (opts.min_size, opts.max_size)
        least = k_lo
        if held and not count and _narrower(place, _band_at(place, nodes, held[0])):
            # exactly that many networks: each holds what the others leave (where that is
            # narrower than the band; otherwise the search is the one before)
            band, least = _band_at(place, nodes, held[0]), held[0]
        if count:
            # the counts whose networks are few enough to list first: a plan of the least of
            # them is the fewest, and those ruled out raise the priced search's least count
            total = float(np.asarray(place.pop, float)[nodes].sum())
            fewer, least = fewer_by_band(
                place,
                nodes,
                together=together,
                apart=apart,
                least=max(k_lo, setpart.least_count(total, hi=opts.max_size)),
                found=len(start),
                deadline=share_of_time(until, BAND_SHARE),
            )
            if fewer is None and least < len(start):
                # each count left, from the least, settled by branch-and-price on pairs of
                # practices (a plan of it, or a proof that it has none)
                fewer, least = fewer_priced(
                    place,
                    nodes,
                    together=together,
                    apart=apart,
                    least=least,
                    found=len(start),
                    deadline=until,
                )
            if fewer is not None:
                start = fewer
            if least >= len(start):
                held.append(len(start))
                return Stage(Status.OPTIMAL, start, float(len(start)), float(len(start)))
        res, cands = _solve_priced(
            place,
            nodes,
            together=together,
            apart=apart,
            k_lo=least,
            k_hi=most[0],
            start_parts=start,
            mip_gap=0.0 if count else opts.mip_gap,
            deadline=until if count else deadline,
            objective="count" if count else "compact",
            band=band,
        )
        columns[0] = max(columns[0], cands.count)
        assert res.plan is not None  # a priced search keeps its starting plan
        parts = [cands.part(c) for c in res.plan]
        if count and res.value is not None and proven_count(res.value, res.bound) is None:
            if res.bound is not None:
                least = max(least, round(whole_bound(res.bound)))
            fewer, least = fewer_by_band(
                place,
                nodes,
                together=together,
                apart=apart,
                least=least,
                found=round(res.value),
                deadline=until,
            )
            if fewer is not None:
                parts = fewer
            networks = float(len(parts))
            kind = Status.OPTIMAL if least >= networks else res.kind
            res = setpart.StageResult(kind, res.plan, networks, float(least), res.columns)
        if count and (k := proven_count(res.value, res.bound)) is not None:
            held.append(k)
        weight = stage[0][1]  # the stage's cost is the weighted term, as on the listed path
        value = None if res.value is None else weight * res.value
        return Stage(res.kind, parts, value, None if res.bound is None else weight * res.bound)

    def fix(s: int, stage: list[tuple[str, float]], limit: float) -> None:
        most[0] = min(most[0], round(limit))

    block = run_stages(
        place,
        nodes,
        stages,
        solve,
        fix,
        start=[sorted(p) for p in incumbent],
        together=together,
        apart=apart,
        deadline=deadline,
        found=found,
        method=PARTITION,
    )
    return replace(block, candidates=columns[0]) if block.method == PARTITION else block


def fewer_by_band(
    place: Place,
    nodes: list[int],
    *,
    together: Sequence[tuple[int, int]],
    apart: Sequence[tuple[int, int]],
    least: int,
    found: int,
    deadline: float | None,
) -> tuple[list[list[int]] | None, int]:
    """Counts from ``least`` up to (not including) ``found``, each over the networks a plan of
    that count can hold, listed (:func:`~pcnopt.model.partition.band_of_count`).

    Where the candidates of the band are too many to list, those of a count near the least the
    band allows often are not: E38000135's 248,533 patients in 5 networks of at most 50,000
    need each to hold at least 48,533. Returns the plan (parts) of the first count met, or
    None, and the least count not ruled out (``found`` if every count below it is): a count
    is ruled out when no network fits, or the LP of its networks has no solution, or its
    programs prove it has no plan.
    """
    opts = place.options
    k = least
    while k < found:
        if deadline is not None and time.perf_counter() > deadline:
            break
        lo, hi = _band_at(place, nodes, k)
        if not _narrower(place, (lo, hi)):
            break  # no narrower than the band, whose candidates were too many
        cands = setpart.candidates_for(
            adj=place.adj,
            length=place.length,
            pop=place.pop,
            cost=place.cost,
            nodes=nodes,
            lo=lo,
            hi=hi,
            together=together,
            apart=apart,
            terms=("compact",),
            max_candidates=opts.partition_candidates,
            deadline=deadline,
        )
        if cands is None:
            break
        if cands.count < k:
            k += 1  # fewer networks fit than the count: no plan of it
            continue
        res = setpart.solve_stage(
            cands,
            nodes=nodes,
            cost=cands.costs["count"],
            k_lo=k,
            k_hi=k,
            limits=[],
            start=None,
            solver=opts.solver,
            threads=opts.threads,
            mip_gap=0.0,
            deadline=deadline,
            integral=True,
        )
        if res.kind == Status.INFEASIBLE:
            k += 1
            continue
        if res.plan is not None:
            return [cands.part(c) for c in res.plan], k
        break
    return None, k


def fewer_priced(
    place: Place,
    nodes: list[int],
    *,
    together: Sequence[tuple[int, int]],
    apart: Sequence[tuple[int, int]],
    least: int,
    found: int,
    deadline: float | None,
) -> tuple[list[list[int]] | None, int]:
    """Counts from ``least`` up to (not including) ``found``, each with an equal share of the
    time left, over the sizes that count allows: first its priced search from no plan (phase
    I, the compact objective as a guide, any plan of that count wanted; ``PRICED_SHARE`` of
    the count's time), then branch-and-price on pairs of practices
    (:func:`~pcnopt.model.partition.colgen.branch_priced_count`), which settles the count.

    Returns the plan (parts) of the first count met, or None, and the least count not ruled
    out (a count is ruled out when the tree proves it has no plan). A count neither met nor
    ruled out does not end the search: a plan of the next is still fewer networks.
    E38000016 (49 practices, more than 4 million candidates): the count's search ends at 9
    networks, 7 to 8 possible; the LP of 7 networks has a solution but its programs meet no
    plan, and the tree meets one of 7 in 37 nodes (10 s).
    """
    open_from: int | None = None
    for k in range(least, found):
        now = time.perf_counter()
        if deadline is not None and now > deadline:
            break
        until = None if deadline is None else now + (deadline - now) / (found - k)
        band = _band_at(place, nodes, k)
        # the priced search of that count first (the compact objective's LP and its closing
        # programs meet a plan quickly where one is near: E38000205's 8 networks in 0.7 s)
        res, cands = _solve_priced(
            place,
            nodes,
            together=together,
            apart=apart,
            k_lo=k,
            k_hi=k,
            start_parts=[],
            mip_gap=1.0,
            deadline=share_of_time(until, PRICED_SHARE),
            band=band,
        )
        if res.kind == Status.INFEASIBLE:
            continue
        if res.plan is not None:
            return [cands.part(c) for c in res.plan], k if open_from is None else open_from
        search = setpart.branch_priced_count(
            adj=place.adj,
            length=place.length,
            pop=place.pop,
            cost=place.cost,
            nodes=nodes,
            lo=band[0],
            hi=band[1],
            together=together,
            apart=apart,
            k=k,
            deadline=until,
        )
        if search.kind == Status.INFEASIBLE:
            continue
        if open_from is None:
            open_from = k
        if search.plan is not None:
            return search.plan, open_from
    else:
        return None, found if open_from is None else open_from
    return None, k if open_from is None else open_from


def priced_disruption_block(
    place: Place,
    nodes: list[int],
    *,
    k_lo: int,
    k_hi: int,
    together: Sequence[tuple[int, int]],
    apart: Sequence[tuple[int, int]],
    incumbent: list[list[int]],
    deadline: float | None,
) -> Block:
    """Set partitioning for the disruption objective with its columns priced on demand."""
    opts = place.options
    current = current_index(place, nodes)
    res, cands = setpart.solve_priced_disruption(
        adj=place.adj,
        length=place.length,
        pop=place.pop,
        current=current,
        nodes=nodes,
        lo=opts.min_size,
        hi=opts.max_size,
        together=together,
        apart=apart,
        k_lo=k_lo,
        k_hi=k_hi,
        start_parts=incumbent,
        start_continues=continued(incumbent, current, place.pop),
        solver=opts.solver,
        threads=opts.threads,
        mip_gap=opts.mip_gap,
        deadline=deadline,
    )
    return _priced_result(res, cands, weight=place.weights["disruption"])


def _priced_result(res: setpart.StageResult, cands: setpart.Candidates, *, weight: float) -> Block:
    """The block of a priced search, which always keeps its incumbent (so it has a plan)."""
    assert res.plan is not None and res.value is not None
    return Block(
        parts=[cands.part(c) for c in res.plan],
        status=Status.OPTIMAL if res.kind == Status.OPTIMAL else Status.FEASIBLE,
        abs_gap=None if res.bound is None else weight * max(0.0, res.value - res.bound),
        notes={},
        candidates=cands.count,
        method=PARTITION,
    )


def _band_at(place: Place, nodes: Sequence[int], k: int) -> tuple[float, float]:
    """The sizes a network of ``nodes`` can have in a plan of exactly ``k`` networks within the
    place's band (:func:`~pcnopt.model.partition.band_of_count`)."""
    total = float(np.asarray(place.pop, float)[list(nodes)].sum())
    opts = place.options
    return setpart.band_of_count(total, k, lo=opts.min_size, hi=opts.max_size)


def _narrower(place: Place, band: tuple[float, float]) -> bool:
    """Whether ``band`` is narrower than the place's."""
    return band[0] > place.options.min_size or band[1] < place.options.max_size


def proven_count(value: float | None, bound: float | None) -> int | None:
    """The count of a count stage's plan of ``value`` networks if proven the fewest (its bound
    reaches it: a gap allowed by ``mip_gap`` does not do, fewer could still be enough)."""
    if value is None or bound is None or whole_bound(bound) < value:
        return None
    return round(value)


def current_index(place: Place, nodes: Sequence[int]) -> np.ndarray:
    """Per practice, the index of its current network among the block's (-1: none or outside)."""
    assert place.current is not None
    names = sorted({c for c in (place.current[v] for v in nodes) if c is not None})
    index = {c: g for g, c in enumerate(names)}
    out = np.full(place.n, -1, np.int64)
    for v in nodes:
        c = place.current[v]
        if c is not None:
            out[v] = index[c]
    return out


def _locate(
    cands: setpart.Candidates,
    parts: list[list[int]] | None,
    current: np.ndarray | None,
    pop: np.ndarray,
) -> list[int] | None:
    """Columns of a plan; with disruption, each part continuing its best-matched network."""
    if parts is None:
        return None
    if current is None:
        return setpart.locate(cands, parts)
    return setpart.locate_continuing(cands, parts, continued(parts, current, pop))


def continued(parts: Sequence[Sequence[int]], current: np.ndarray, pop: np.ndarray) -> list[int]:
    """Per part, the current network it continues under the best matching (-1: none)."""
    bip = nx.Graph()
    for r, part in enumerate(parts):
        overlap: dict[int, float] = {}
        for v in part:
            if current[v] >= 0:
                overlap[int(current[v])] = overlap.get(int(current[v]), 0.0) + float(pop[v])
        for g, weight in sorted(overlap.items()):
            if weight > 0:
                bip.add_edge(("new", r), ("cur", g), weight=weight)
    continues = [-1] * len(parts)
    for a, b in nx.max_weight_matching(bip):
        new, cur = (a, b) if a[0] == "new" else (b, a)
        continues[new[1]] = cur[1]
    return continues
