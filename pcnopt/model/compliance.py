"""Which current PCNs already meet every rule, and why the others do not.

A current PCN is *compliant* in a place when all its practices are in the place (it does not
cross places), its practices are contiguous there (one connected set in the catchment
adjacency), and its population is within the band. A single practice above the band is
compliant too: it is a network on its own whatever the plan. Compliant PCNs can be kept
exactly as they are (``SolveOptions.keep``), leaving only the others to be redesigned.

Keeping them can leave the other practices of a place in pieces that no plan fits (an island
of 20,000 patients between kept PCNs); :func:`release_where_needed` then gives back the kept
PCNs around such a piece, so that it is redesigned with its neighbours.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pcnopt.model.place import components, fmt, k_range
from pcnopt.model.types import PlaceGraph


@dataclass(frozen=True)
class CurrentPcn:
    """One current PCN of a place, and whether it meets every rule.

    Parameters
    ----------
    pcn
        The current PCN's code.
    codes
        Its practices in the place, sorted.
    population
        Patients of those practices.
    compliant
        In band, contiguous and inside the place.
    reason
        Why it is not compliant, in words ("below the band (27,412 patients); not contiguous
        (2 parts)"), or "" when it is.
    """

    pcn: str
    codes: tuple[str, ...]
    population: float
    compliant: bool
    reason: str


def compliant_current_pcns(
    graph: PlaceGraph,
    *,
    min_size: float,
    max_size: float,
    current: Mapping[str, str | None] | None = None,
) -> tuple[CurrentPcn, ...]:
    """Check every current PCN with a practice in the place against the rules.

    Parameters
    ----------
    graph
        The place, with its adjacency.
    min_size, max_size
        The population band.
    current
        Current PCN of every practice known (all places, e.g. all of England), so that a PCN
        with practices outside this place is seen to cross places. None: ``graph.current``
        only (then no PCN is seen to cross places).

    Returns
    -------
    tuple of CurrentPcn
        One per current PCN of the place's practices, in order of PCN code.
    """
    here = set(graph.codes)
    of_practice: dict[str, str | None] = {}
    if graph.current is not None:
        of_practice.update(zip(graph.codes, graph.current, strict=True))
    if current is not None:
        of_practice.update({c: current[c] for c in graph.codes if c in current})
    members: dict[str, list[int]] = {}
    for i, code in enumerate(graph.codes):
        pcn = of_practice.get(code)
        if pcn is not None:
            members.setdefault(pcn, []).append(i)
    outside: dict[str, int] = {}
    if current is not None:
        for code, pcn in current.items():
            if pcn in members and code not in here:
                outside[pcn] = outside.get(pcn, 0) + 1
    adj: list[set[int]] = [set() for _ in graph.codes]
    for i, j, _ in graph.edges:
        adj[i].add(j)
        adj[j].add(i)
    out = []
    for pcn in sorted(members):
        nodes = members[pcn]
        size = float(sum(graph.population[v] for v in nodes))
        reasons = []
        single_big = len(nodes) == 1 and size > max_size and pcn not in outside
        if size < min_size:
            reasons.append(f"below the band ({fmt(size)} patients)")
        elif size > max_size and not single_big:
            reasons.append(f"above the band ({fmt(size)} patients)")
        parts = len(components(set(nodes), adj))
        if parts > 1:
            reasons.append(f"not contiguous ({parts} parts)")
        if pcn in outside:
            n_out = outside[pcn]
            reasons.append(
                f"crosses places ({n_out} practice{'s' if n_out > 1 else ''} in another place)"
            )
        out.append(
            CurrentPcn(
                pcn=pcn,
                codes=tuple(graph.codes[v] for v in nodes),
                population=size,
                compliant=not reasons,
                reason="; ".join(reasons),
            )
        )
    return tuple(out)


def kept_groups(pcns: tuple[CurrentPcn, ...]) -> tuple[tuple[str, ...], ...]:
    """The practice codes of the compliant PCNs, as ``SolveOptions.keep`` takes them."""
    return tuple(p.codes for p in pcns if p.compliant)


def release_where_needed(
    graph: PlaceGraph,
    pcns: tuple[CurrentPcn, ...],
    *,
    min_size: float,
    max_size: float,
) -> tuple[CurrentPcn, ...]:
    r"""Release compliant PCNs around the pieces that keeping them leaves impossible.

    The practices not kept fall into connected pieces. A piece of total :math:`T` that no
    whole number of networks fits (:math:`kL \le T \le kU` for no :math:`k`, e.g. below the
    band) cannot be designed alone, so every kept PCN beside it is released, and the check is
    repeated. A practice above the band counts as a network of its own. Only this arithmetic is
    checked (a piece may still prove impossible for contiguity; the model then says so).

    Returns the PCNs with ``compliant`` False and the reason "kept PCN released: ..." for
    those released.
    """
    index = {code: i for i, code in enumerate(graph.codes)}
    adj: list[set[int]] = [set() for _ in graph.codes]
    for i, j, _ in graph.edges:
        adj[i].add(j)
        adj[j].add(i)
    kept = {p.pcn: {index[c] for c in p.codes} for p in pcns if p.compliant}
    released: dict[str, str] = {}
    while True:
        inside = {v for nodes in kept.values() for v in nodes}
        free = {v for v in range(len(graph.codes)) if v not in inside}
        free -= {v for v in free if graph.population[v] > max_size}
        newly: dict[str, str] = {}
        for piece in components(free, adj):
            total = float(sum(graph.population[v] for v in piece))
            k_min, k_max = k_range(total, min_size, max_size)
            if k_min <= k_max and total >= min_size:
                continue
            beside = {u for v in piece for u in adj[v]} - piece
            for pcn, nodes in kept.items():
                if nodes & beside and pcn not in newly:
                    newly[pcn] = (
                        f"kept PCN released: the {len(piece)} practice"
                        f"{'s' if len(piece) > 1 else ''} beside it ({fmt(total)} patients) "
                        "cannot form networks in the band on their own"
                    )
        if not newly:
            break
        released.update(newly)
        for pcn in newly:
            del kept[pcn]
    return tuple(
        CurrentPcn(p.pcn, p.codes, p.population, False, released[p.pcn]) if p.pcn in released else p
        for p in pcns
    )
