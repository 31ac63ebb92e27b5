"""Solve one place: exceptions first, then each block by the best exact method."""

from __future__ import annotations

import dataclasses
import functools
import time

import pulp

from pcnopt.errors import OptionError
from pcnopt.model.fallback import arith_reason, fallback
from pcnopt.model.hess import HessModel, solve_rounds, stage_value
from pcnopt.model.heuristic import HeuristicResult, block_heuristic
from pcnopt.model.neighbourhood import improve_by_subproblems, repair_by_subproblems
from pcnopt.model.objectives import evaluate_partition, objective_stages, plan_objective
from pcnopt.model.partition.block import partition_block
from pcnopt.model.place import Block, BlockProblem, Place, Stage, components, fmt, k_range
from pcnopt.model.solvers import Status
from pcnopt.model.stages import run_stages
from pcnopt.model.types import (
    FALLBACK,
    HESS,
    HEURISTIC,
    PARTITION,
    PlaceGraph,
    PlaceSolution,
    SolveOptions,
    together_groups,
)


def solve_place(graph: PlaceGraph, *, options: SolveOptions) -> PlaceSolution:
    """Partition the practices of one place into contiguous networks within the size band.

    Parameters
    ----------
    graph
        Practices and catchment adjacency of the place.
    options
        Size band, objective, rules, solver and limits.

    Returns
    -------
    PlaceSolution
        The plan with its status, objective, proven bound and gap. An infeasible place is not
        an error: it returns status ``"infeasible"`` with the reason in ``message`` and a
        fallback plan (contiguous, least size violation) flagged in ``notes``.

    Raises
    ------
    OptionError
        When the options name practices not in the place, or contradict each other or the
        graph (e.g. keep_together practices with no connecting chain of practices).
    """
    start = time.perf_counter()
    deadline = None if options.time_limit is None else start + float(options.time_limit)
    index = {code: i for i, code in enumerate(graph.codes)}
    _check_codes(options, index, graph.place_id)
    kept = [sorted(index[c] for c in g) for g in options.keep]
    place = Place(_without_claimed_currents(graph, kept), options)
    n = place.n
    _check_kept(place, kept)
    kept_nodes = {v for g in kept for v in g}
    if "disruption" in place.terms and graph.current is None:
        raise OptionError(
            f"place {graph.place_id}: the disruption objective needs the current "
            "PCN of each practice (PlaceGraph.current)"
        )
    excluded = {index[c] for c in options.excluded}
    groups = [sorted(index[c] for c in g) for g in together_groups(options)]
    fixed_label = {index[c]: label for c, label in options.fixed}
    together = [(g[0], v) for g in groups for v in g[1:] if v not in kept_nodes]
    apart = [
        (a, b)
        for a, b in _apart_pairs(options, index, groups)
        if a not in kept_nodes and b not in kept_nodes
    ]
    lo, hi = options.min_size, options.max_size

    active = [i for i in range(n) if i not in excluded and i not in kept_nodes]
    big = [i for i in active if place.pop[i] > hi]
    grouped = {v for g in groups for v in g if len(g) > 1}
    for i in big:
        if i in grouped:
            raise OptionError(
                f"place {graph.place_id}: practice {graph.codes[i]} has "
                f"{fmt(place.pop[i])} patients (above {fmt(hi)}) and is a network on its own, "
                "but keep_together/fixed rules join it to other practices; remove that rule"
            )
    rest = set(active) - set(big)
    comps = sorted((sorted(c) for c in components(rest, place.adj)), key=lambda c: c[0])
    comp_of = {v: r for r, c in enumerate(comps) for v in c}
    for a, b in together:
        if comp_of.get(a) != comp_of.get(b):
            raise OptionError(
                f"place {graph.place_id}: practices {graph.codes[a]} and {graph.codes[b]} must "
                "share a network, but no chain of neighbouring practices joins them in this "
                "place (after exclusions); a network must be contiguous, so drop that rule"
            )

    parts: list[list[int]] = [[i] for i in big] + kept
    notes: list[str] = [f"single practice above {fmt(hi)}: own PCN" for _ in big]
    notes += [_kept_note(float(place.pop[g].sum()), lo, hi) for g in kept]
    reasons: list[str] = []
    statuses: list[Status] = [Status.TRIVIAL] * len(parts)
    abs_gaps: list[float | None] = [0.0] * len(parts)
    total_rounds = 0
    total_cuts = 0
    candidates = 0
    methods: set[str] = set()

    model_comps: list[list[int]] = []
    for comp in comps:
        total = float(place.pop[comp].sum())
        k_min, k_max = k_range(total, lo, hi)
        if total < lo:
            parts.append(comp)
            note = (
                "below minimum, approved by commissioner"
                if options.approved_small
                else "below minimum, needs commissioner approval"
            )
            notes.append(note)
            statuses.append(Status.BELOW_MINIMUM)
            abs_gaps.append(0.0)
            reasons.append(
                f"{len(comp)} practice{'s' if len(comp) > 1 else ''} ("
                f"{', '.join(graph.codes[v] for v in comp[:6])}{'...' if len(comp) > 6 else ''})"
                f" form an island of {fmt(total)} patients, below {fmt(lo)}: one network, "
                "which needs commissioner approval."
            )
            continue
        if k_min > k_max:
            block = fallback(
                place,
                comp,
                together,
                apart,
                deadline,
                reason=arith_reason(total, len(comp), lo, hi),
                proved=True,
            )
            methods.add(FALLBACK)
            _collect(block, parts, notes, statuses, abs_gaps, reasons)
            continue
        model_comps.append(comp)

    count_rule = (
        isinstance(options.n_pcns, int)
        or options.min_pcns is not None
        or options.max_pcns is not None
    )
    spans = _current_spans(place, model_comps) if "disruption" in place.terms else False
    if count_rule or spans:
        blocks = [sorted(v for c in model_comps for v in c)] if model_comps else []
    else:
        blocks = model_comps
    fixed_parts = len(parts)
    for b, nodes in enumerate(blocks):
        k_lo, k_hi = 1, len(nodes)
        if count_rule:
            k_lo = max(k_lo, (options.min_pcns or 1) - fixed_parts)
            k_hi = min(k_hi, (options.max_pcns or 10**9) - fixed_parts)
            if isinstance(options.n_pcns, int):
                k_lo = max(k_lo, options.n_pcns - fixed_parts)
                k_hi = min(k_hi, options.n_pcns - fixed_parts)
        share = None
        if deadline is not None:
            left = sum(len(x) for x in blocks[b:])
            share = time.perf_counter() + max(0.0, deadline - time.perf_counter()) * len(
                nodes
            ) / max(1, left)
        block = _solve_block(
            BlockProblem(
                place, nodes, k_lo=k_lo, k_hi=k_hi, together=together, apart=apart, deadline=share
            )
        )
        total_rounds += block.rounds
        total_cuts += block.cuts
        candidates += block.candidates
        if block.method:
            methods.add(block.method)
        _collect(block, parts, notes, statuses, abs_gaps, reasons)

    return _assemble(
        place,
        graph,
        parts,
        notes,
        statuses,
        abs_gaps,
        reasons,
        fixed_label,
        excluded,
        start,
        total_rounds,
        total_cuts,
        candidates,
        methods,
    )


def _kept_note(size: float, lo: float, hi: float) -> str:
    if size < lo:
        return f"kept as it is, below {fmt(lo)}"
    if size > hi:
        return f"kept as it is, above {fmt(hi)}"
    return "kept as it is"


def _check_kept(place: Place, kept: list[list[int]]) -> None:
    """A kept group must be contiguous: it stays one network."""
    for group in kept:
        parts = components(set(group), place.adj)
        if len(parts) > 1:
            codes = ", ".join(place.graph.codes[v] for v in group[:6])
            raise OptionError(
                f"place {place.graph.place_id}: the kept network ({codes}"
                f"{'...' if len(group) > 6 else ''}) is not contiguous ({len(parts)} parts), "
                "so it cannot stay one network; do not keep it"
            )


def _without_claimed_currents(graph: PlaceGraph, kept: list[list[int]]) -> PlaceGraph:
    """The graph the model sees: each kept group continues its largest current network.

    No other network may continue that one, so its other practices count as moved whatever
    the plan: they are given no current network (a constant, which leaves the optimum as it
    is; the reported objective is computed on the original graph).
    """
    if graph.current is None or not kept:
        return graph
    claimed: set[str] = set()
    for group in kept:
        sizes: dict[str, float] = {}
        for v in group:
            c = graph.current[v]
            if c is not None:
                sizes[c] = sizes.get(c, 0.0) + graph.population[v]
        if sizes:
            claimed.add(min(sizes, key=lambda c: (-sizes[c], c)))
    inside = {v for g in kept for v in g}
    current = tuple(
        None if (v not in inside and c in claimed) else c for v, c in enumerate(graph.current)
    )
    return dataclasses.replace(graph, current=current)


def _check_codes(options: SolveOptions, index: dict[str, int], place_id: str) -> None:
    named = [c for g in options.keep_together for c in g]
    named += [c for g in options.keep for c in g]
    named += [c for g in options.keep_apart for c in g]
    named += [c for c, _ in options.fixed] + list(options.excluded)
    unknown = sorted({c for c in named if c not in index})
    if unknown:
        raise OptionError(
            f"place {place_id}: the rules name practice code(s) not in this place: "
            f"{', '.join(unknown)}. Check the codes, or solve the place that holds them."
        )


def _apart_pairs(
    options: SolveOptions, index: dict[str, int], groups: list[list[int]]
) -> list[tuple[int, int]]:
    rep = {v: g[0] for g in groups for v in g}
    pairs: set[tuple[int, int]] = set()
    for group in options.keep_apart:
        members = sorted(index[c] for c in group)
        for a_pos, a in enumerate(members):
            for b in members[a_pos + 1 :]:
                pairs.add((min(a, b), max(a, b)))
    by_label: dict[str, int] = {}
    for code, label in sorted(options.fixed):
        by_label.setdefault(label, index[code])
    reps = sorted(by_label.values())
    for a_pos, a in enumerate(reps):
        for b in reps[a_pos + 1 :]:
            pairs.add((min(a, b), max(a, b)))
    del rep
    return sorted(pairs)


def _current_spans(place: Place, comps: list[list[int]]) -> bool:
    if place.current is None:
        return False
    seen: dict[str, int] = {}
    for r, comp in enumerate(comps):
        for v in comp:
            c = place.current[v]
            if c is not None and seen.setdefault(c, r) != r:
                return True
    return False


def _collect(
    block: Block,
    parts: list[list[int]],
    notes: list[str],
    statuses: list[Status],
    abs_gaps: list[float | None],
    reasons: list[str],
) -> None:
    for pos, part in enumerate(block.parts):
        parts.append(part)
        notes.append(block.notes.get(pos, ""))
        statuses.append(block.status)
        abs_gaps.append(block.abs_gap if pos == 0 else 0.0)
    if block.reason:
        reasons.append(block.reason)


def _solve_block(problem: BlockProblem) -> Block:
    place, nodes = problem.place, problem.nodes
    together, apart, deadline = problem.together, problem.apart, problem.deadline
    opts = place.options
    lo, hi = opts.min_size, opts.max_size
    comps = components(set(nodes), place.adj)
    total = float(place.pop[nodes].sum())
    sum_min = sum(k_range(float(place.pop[sorted(c)].sum()), lo, hi)[0] for c in comps)
    sum_max = sum(k_range(float(place.pop[sorted(c)].sum()), lo, hi)[1] for c in comps)
    # the counts the components' sizes allow, within those the count rules allow
    problem = dataclasses.replace(
        problem, k_lo=max(problem.k_lo, sum_min), k_hi=min(problem.k_hi, sum_max)
    )
    k_lo, k_hi = problem.k_lo, problem.k_hi
    if k_lo > k_hi:
        top = min(sum_max, len(nodes))
        span = f"exactly {sum_min}" if sum_min == top else f"between {sum_min} and {top}"
        why = (
            f"The {len(nodes)} practices ({fmt(total)} patients) need {span} "
            f"network{'s' if top > 1 else ''} to fit {fmt(lo)}-{fmt(hi)}, which the "
            "required number of networks rules out."
        )
        return fallback(place, nodes, together, apart, deadline, reason=why, proved=True)
    if len(nodes) == 1:
        return Block(parts=[list(nodes)], status=Status.TRIVIAL, abs_gap=0.0, notes={})

    found = block_heuristic(
        place, nodes, k_lo=k_lo, k_hi=k_hi, together=together, apart=apart, deadline=deadline
    )
    incumbent = None
    if found.violation == 0 and k_lo <= len(found.parts) <= k_hi:
        incumbent = [list(p) for p in found.parts]

    @functools.cache
    def repaired() -> list[list[int]] | None:
        """The heuristic's plan mended into the band (tried once, only when needed)."""
        if not found.parts:
            return None
        plan = repair_by_subproblems(place, found.parts, together, apart, deadline)
        return plan if plan is not None and k_lo <= len(plan) <= k_hi else None

    stages = objective_stages(opts)
    exact = partition_block(
        place,
        nodes,
        k_lo=k_lo,
        k_hi=k_hi,
        together=together,
        apart=apart,
        stages=stages,
        incumbent=incumbent,
        found=found,
        deadline=deadline,
        repaired=repaired,
    )
    if exact is not None:
        return _rescued(problem, exact, found, incumbent)
    incumbent = incumbent or repaired()
    if incumbent is not None:
        free_count = opts.n_pcns is None and opts.min_pcns is None and opts.max_pcns is None
        if place.terms == ("compact",) and free_count and len(incumbent) > 3:
            incumbent = improve_by_subproblems(place, incumbent, together, apart, deadline)
    if incumbent is not None and deadline is not None and time.perf_counter() > deadline:
        # building the model of a large place takes seconds: with no time left, the plan
        # in hand is the answer (in band, contiguous, every rule kept; gap unknown)
        return Block(
            parts=[sorted(p) for p in incumbent],
            status=Status.FEASIBLE,
            abs_gap=None,
            notes={},
            method=HEURISTIC,
        )
    cutoff = None
    if incumbent is not None and place.terms == ("compact",) and len(stages) == 1:
        cutoff = sum(place.part_cost(p) for p in incumbent)
    model = HessModel(
        place, nodes, k_lo=k_lo, k_hi=k_hi, together=together, apart=apart, upper_cutoff=cutoff
    )
    rounds = 0

    def solve(stage: list[tuple[str, float]], start: list[list[int]] | None) -> Stage:
        nonlocal rounds
        model.prob.setObjective(pulp.lpSum(w * model.expr[name] for name, w in stage))
        kind, plan, bound, used = solve_rounds(model, start, deadline=deadline)
        rounds += used
        value = None if plan is None else stage_value(place, model, stage, plan)
        return Stage(kind, plan, value, bound)

    def fix(s: int, stage: list[tuple[str, float]], limit: float) -> None:
        model.prob += (pulp.lpSum(w * model.expr[name] for name, w in stage) <= limit, f"stage{s}")

    block = run_stages(
        place,
        nodes,
        stages,
        solve,
        fix,
        start=incumbent,
        together=together,
        apart=apart,
        deadline=deadline,
        found=found,
        method=HESS,
    )
    block.rounds, block.cuts = rounds, model.cuts
    return _rescued(problem, block, found, incumbent)


#: Seconds a block left with no plan in band at its deadline may take past it to mend the
#: heuristic's plan into the band (a plan in band beats a least-violation fallback).
RESCUE_SECONDS = 15.0


def _rescued(
    problem: BlockProblem,
    block: Block,
    found: HeuristicResult,
    incumbent: list[list[int]] | None,
) -> Block:
    """The block, or, if it ended with no plan at the deadline, a plan in band found after all.

    A block whose exact method found no plan by the deadline (status ``UNKNOWN``: the
    least-violation fallback) is given the heuristic's plan when that is in band, or else that
    plan mended by :func:`repair_by_subproblems` with :data:`RESCUE_SECONDS` of its own. The
    plan keeps every rule; its status is ``FEASIBLE`` with no proven bound.
    """
    if block.status != Status.UNKNOWN or not found.parts:
        return block
    plan = incumbent
    if plan is None:
        grace = time.perf_counter() + 3 * RESCUE_SECONDS  # repair takes a third of what is left
        plan = repair_by_subproblems(
            problem.place, found.parts, problem.together, problem.apart, grace
        )
    if plan is None or not problem.k_lo <= len(plan) <= problem.k_hi:
        return block
    return Block(
        parts=[sorted(p) for p in plan],
        status=Status.FEASIBLE,
        abs_gap=None,
        notes={},
        candidates=block.candidates,
        method=HEURISTIC,
        rounds=block.rounds,
        cuts=block.cuts,
    )


def _assemble(
    place: Place,
    graph: PlaceGraph,
    parts: list[list[int]],
    notes: list[str],
    statuses: list[Status],
    abs_gaps: list[float | None],
    reasons: list[str],
    fixed_label: dict[int, str],
    excluded: set[int],
    start: float,
    rounds: int,
    cuts: int,
    candidates: int = 0,
    methods: set[str] | None = None,
) -> PlaceSolution:
    opts = place.options
    order = sorted(range(len(parts)), key=lambda r: min(parts[r]))
    labels = [-1] * place.n
    hubs: list[int] = []
    out_notes: list[str] = []
    names: list[str] = []
    sizes: list[float] = []
    for new, r in enumerate(order):
        for v in parts[r]:
            labels[v] = new
        hubs.append(place.hub_of(parts[r]))
        out_notes.append(notes[r])
        names.append(next((fixed_label[v] for v in sorted(parts[r]) if v in fixed_label), ""))
        sizes.append(float(place.pop[parts[r]].sum()))
    seconds = time.perf_counter() - start
    if not parts:
        return PlaceSolution(
            place_id=graph.place_id,
            status=Status.EMPTY,
            objective=None,
            bound=None,
            gap=None,
            seconds=seconds,
            labels=tuple(labels),
            hubs=(),
            notes=(),
            message="No practices to assign in this place.",
            solver=opts.solver,
        )
    values = evaluate_partition(graph, labels, squared=opts.squared)
    terms = tuple((name, values[name]) for name in place.terms)
    objective = plan_objective(values, opts)
    uniq = set(statuses)
    if Status.INFEASIBLE in uniq:
        status = Status.INFEASIBLE
    elif Status.UNKNOWN in uniq:
        status = Status.UNKNOWN
    elif Status.FEASIBLE in uniq:
        status = Status.FEASIBLE
    elif Status.BELOW_MINIMUM in uniq:
        status = Status.BELOW_MINIMUM
    elif uniq <= {Status.TRIVIAL}:
        status = Status.TRIVIAL
    else:
        status = Status.OPTIMAL
    bound: float | None = None
    gap: float | None = None
    if status not in (Status.INFEASIBLE, Status.UNKNOWN) and all(g is not None for g in abs_gaps):
        bound = objective - sum(g for g in abs_gaps if g is not None)
        gap = 0.0 if abs(objective) < 1e-9 else max(0.0, (objective - bound) / abs(objective))
    summary = {
        Status.OPTIMAL: "Proved optimal",
        Status.BELOW_MINIMUM: "Proved optimal, with networks below the minimum size",
        Status.FEASIBLE: "Time limit reached; best plan found",
        Status.INFEASIBLE: "No plan meets the rules",
        Status.UNKNOWN: "Time limit reached before a plan was found",
        Status.TRIVIAL: "Decided by the rules alone",
    }[status]
    k = len(parts)
    text = (
        f"{summary}: {k} network{'s' if k > 1 else ''} for {sum(1 for v in labels if v >= 0)}"
        f" practices in {graph.place_id}"
    )
    if gap is not None and status == Status.FEASIBLE:
        text += f" (within {gap:.1%} of the best possible)"
    text += "."
    if excluded:
        text += f" {len(excluded)} practice{'s' if len(excluded) > 1 else ''} left out as asked."
    big = sum(1 for note in notes if note.startswith("single practice"))
    if big:
        text += f" {big} practice{'s' if big > 1 else ''} above {fmt(opts.max_size)} " + (
            "form their own networks." if big > 1 else "forms its own network."
        )
    if reasons:
        text += " " + " ".join(reasons)
    if candidates:
        text += f" (Set partitioning over {candidates:,} candidate networks.)"
    if rounds > 1:
        text += f" (Contiguity needed {rounds} solver rounds and {cuts} separator cuts.)"
    return PlaceSolution(
        place_id=graph.place_id,
        status=status,
        objective=objective,
        bound=bound,
        gap=gap,
        seconds=seconds,
        labels=tuple(labels),
        hubs=tuple(hubs),
        notes=tuple(out_notes),
        message=text,
        solver=opts.solver,
        terms=terms,
        names=tuple(names),
        populations=tuple(sizes),
        method=", ".join(
            m for m in (PARTITION, HESS, HEURISTIC, FALLBACK) if m in (methods or set())
        )
        or "rules only",
    )
