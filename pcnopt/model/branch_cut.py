r"""Exact branch-and-cut for contiguous plans of exactly k parts, with SCIP (PySCIPOpt).

The Hess model with lazy *a,b-separator* contiguity cuts (Validi and Buchanan 2022,
"Political districting to minimize cut edges", Math. Prog. Comp.). Nodes are put in an order
:math:`\pi`; every part is represented by its first node in that order, its *centre*.

.. math::

    \min \sum_{e \in E} \ell_e y_e \quad \text{s.t.} \quad
    \sum_j x_{ij} = 1 \;\forall i, \qquad \sum_j x_{jj} = k, \qquad x_{ij} \le x_{jj},

    L x_{jj} \le \sum_i p_i x_{ij} \le U x_{jj}, \qquad
    y_{uv} \ge x_{uj} - x_{vj}, \quad y_{uv} \ge x_{vj} - x_{uj} \;\forall j,

    x_{ij} \le \sum_{c \in C} x_{cj} \quad \text{for every minimal } i,j\text{-separator } C
    \text{ in } G_j,

where :math:`x_{ij} = 1` puts node :math:`i` in the part centred at :math:`j`. :math:`G_j` is the
graph on the nodes that may join :math:`j`'s part: nodes not before :math:`j` in :math:`\pi`
whose population distance from :math:`j` (the least population of a path from :math:`j`,
both ends counted, through nodes not before :math:`j`) is at most :math:`U` (*U-fixing*:
every other :math:`x_{ij}` is 0). A node whose :math:`G_j` holds less than :math:`L` cannot be
a centre (*L-fixing*). The separators with :math:`C = N(i)` (a member other than the centre
has a neighbour in its part) are added to the model; the others are added lazily by a SCIP
constraint handler whenever a solution has a part that is not connected: for a component
:math:`S` of the part that misses the centre, :math:`C` is the neighbourhood (in
:math:`G_j`) of the component of :math:`G_j - N(S)` holding :math:`j`, a minimal separator of
every node of :math:`S` from :math:`j`. With weight :math:`\ell_e = 1` the objective counts cut
edges; with catchment border lengths it is pcnopt's ``boundary`` objective.

PySCIPOpt is optional (the ``scip`` extra) and imported only when :func:`solve_branch_cut`
runs; without it the call raises :class:`~pcnopt.errors.SolverError`.
"""

from __future__ import annotations

import heapq
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pcnopt.errors import SolverError
from pcnopt.model.recombination import plan_by_recombination
from pcnopt.model.solvers.base import Status
from pcnopt.model.types import PlaceGraph

__all__ = ["BranchCutResult", "scip_available", "solve_branch_cut"]


@dataclass(frozen=True)
class BranchCutResult:
    """Outcome of one branch-and-cut run.

    Parameters
    ----------
    status
        ``OPTIMAL`` (proved), ``FEASIBLE`` (stopped with a plan), ``INFEASIBLE`` (proved that
        no contiguous plan of k parts within the band exists) or ``NO_SOLUTION``.
    objective
        Weighted cut (cut edges with weight 1) of the plan found, or None.
    bound
        Proven lower bound, or None.
    gap
        ``(objective - bound) / objective`` (0 when both are 0), or None.
    seconds
        Wall-clock time, model building included.
    labels
        Part (0..k-1, numbered by their first node) per node; empty without a plan.
    cuts
        Separator inequalities added by the constraint handler.
    variables
        Assignment variables left after U- and L-fixing.
    """

    status: Status
    objective: float | None
    bound: float | None
    gap: float | None
    seconds: float
    labels: tuple[int, ...]
    cuts: int
    variables: int


def scip_available() -> bool:
    """Return whether PySCIPOpt can be imported here."""
    try:
        import pyscipopt  # noqa: F401
    except ImportError:
        return False
    return True


def _import_scip() -> Any:
    try:
        import pyscipopt
    except ImportError as exc:
        raise SolverError(
            "the scip-cut method needs PySCIPOpt, which is not installed; "
            'install it with `pip install "pcnopt[scip]"` (or `pip install pyscipopt`)'
        ) from exc
    return pyscipopt


def _neighbours(graph: PlaceGraph) -> list[list[int]]:
    adj: list[list[int]] = [[] for _ in graph.codes]
    for a, b, _ in graph.edges:
        adj[a].append(b)
        adj[b].append(a)
    return adj


def _order(graph: PlaceGraph) -> list[int]:
    """Node order: most populous first.

    Measured against least populous first: WV keeps 570 assignment variables against 874,
    NE 880 against 3,306 (NE proved optimal in 53 s against no plan in 60 s).
    """
    return sorted(range(len(graph.codes)), key=lambda v: (-graph.population[v], v))


def _reach(
    j: int, *, rank: Sequence[int], adj: list[list[int]], pop: Sequence[float], hi: float
) -> dict[int, float]:
    """Population distance from ``j`` to every node after it in the order within ``hi``."""
    dist = {j: pop[j]}
    heap = [(pop[j], j)]
    while heap:
        d, v = heapq.heappop(heap)
        if d > dist[v]:
            continue
        for w in adj[v]:
            if rank[w] < rank[j]:
                continue
            nd = d + pop[w]
            if nd <= hi and nd < dist.get(w, math.inf):
                dist[w] = nd
                heapq.heappush(heap, (nd, w))
    return dist


def _components(members: set[int], adj: list[list[int]]) -> list[set[int]]:
    seen: set[int] = set()
    out = []
    for s in members:
        if s in seen:
            continue
        comp = {s}
        stack = [s]
        seen.add(s)
        while stack:
            v = stack.pop()
            for w in adj[v]:
                if w in members and w not in seen:
                    seen.add(w)
                    comp.add(w)
                    stack.append(w)
        out.append(comp)
    return out


def minimal_separator(
    piece: set[int], centre: int, *, allowed: set[int], adj: list[list[int]]
) -> set[int]:
    """A minimal separator of every node of ``piece`` from ``centre`` in ``allowed``.

    Parameters
    ----------
    piece
        A connected set of nodes, without ``centre``.
    centre
        The node to separate from.
    allowed
        The nodes of the graph (both ``piece`` and ``centre`` among them).
    adj
        Neighbour lists of the whole graph.

    Returns
    -------
    set of int
        Nodes adjacent both to ``piece`` and to the component of ``centre`` once the
        neighbourhood of ``piece`` is removed.
    """
    border = {w for v in piece for w in adj[v] if w in allowed and w not in piece}
    side = {centre}
    stack = [centre]
    while stack:
        v = stack.pop()
        for w in adj[v]:
            if w in allowed and w not in border and w not in side:
                side.add(w)
                stack.append(w)
    return {c for c in border if any(w in side for w in adj[c])}


class _Model:
    """The Hess model after fixing: candidate members per centre, and what it needs."""

    def __init__(self, graph: PlaceGraph, *, parts: int, lo: float, hi: float) -> None:
        self.n = len(graph.codes)
        self.adj = _neighbours(graph)
        order = _order(graph)
        rank = [0] * self.n
        for r, v in enumerate(order):
            rank[v] = r
        pop = graph.population
        self.rank = rank
        self.members: dict[int, set[int]] = {}
        for j in order:
            reach = _reach(j, rank=rank, adj=self.adj, pop=pop, hi=hi)
            if sum(pop[v] for v in reach) >= lo:  # L-fixing
                self.members[j] = set(reach)
        self.parts = parts


class _Contiguity:
    """Finds separator inequalities violated by an integer solution."""

    def __init__(self, model: _Model, x: dict[tuple[int, int], Any]) -> None:
        self.model = model
        self.x = x
        self.added: set[tuple[int, int, frozenset[int]]] = set()

    def violated(self, value: Any) -> list[tuple[int, int, frozenset[int]]]:
        """Cuts ``(i, j, C)``: ``x_ij <= sum_C x_cj``, violated by the solution ``value``."""
        out: list[tuple[int, int, frozenset[int]]] = []
        by_centre: dict[int, set[int]] = {}
        for (i, j), var in self.x.items():
            if value(var) > 0.5:
                by_centre.setdefault(j, set()).add(i)
        for j, members in by_centre.items():
            if j not in members:
                continue  # x_ij <= x_jj is a row of the model
            for piece in _components(members, self.model.adj):
                if j in piece:
                    continue
                sep = minimal_separator(piece, j, allowed=self.model.members[j], adj=self.model.adj)
                out.extend((i, j, frozenset(sep)) for i in piece)
        return out

    def fractional(
        self, value: Any, *, limit: int = 300
    ) -> list[tuple[frozenset[int], int, frozenset[int]]]:
        """Cuts ``(S, j, C)``: ``x_ij <= sum_C x_cj`` for i in S, violated by an LP solution.

        Heuristic: for each centre j and threshold t, the nodes with :math:`x_{cj} \\ge t`
        form components; a node i outside j's component gets the minimal separator of its
        own component from j, and the cut is kept when it is violated.
        """
        adj = self.model.adj
        out: list[tuple[frozenset[int], int, frozenset[int]]] = []
        seen: set[tuple[int, frozenset[int]]] = set()
        for j, allowed in self.model.members.items():
            v = {c: value(self.x[c, j]) for c in allowed}
            if v[j] < 1e-4:
                continue
            for t in (0.99, 0.7, 0.5, 0.3, 0.1):
                heavy = {c for c, val in v.items() if val >= t} | {j}
                side = next(comp for comp in _components(heavy, adj) if j in comp)
                rest = heavy - side
                for i in [c for c, val in v.items() if val > 0.02 and c not in side]:
                    piece = next(comp for comp in _components(rest | {i}, adj) if i in comp)
                    if any(j in adj[w] for w in piece):
                        continue
                    sep = frozenset(minimal_separator(piece, j, allowed=allowed, adj=adj))
                    if (i, sep) in seen:
                        continue
                    seen.add((i, sep))
                    if v[i] - sum(v[c] for c in sep) > 0.05:
                        out.append((frozenset((i,)), j, sep))
                        if len(out) >= limit:
                            return out
        return out


def _handler_class(scip: Any) -> Any:  # noqa: C901  (one class of SCIP callbacks)
    result = scip.SCIP_RESULT

    class ContiguityHandler(scip.Conshdlr):
        """SCIP constraint handler: every part connected, enforced by separator cuts."""

        def __init__(self, finder: _Contiguity, *, fractional: bool) -> None:
            self.finder = finder
            self.fractional = fractional
            self.cuts = 0
            self.lp_cuts = 0

        def _value(self, solution: Any) -> Any:
            return lambda var: self.model.getSolVal(solution, var)

        def conscheck(
            self,
            constraints: Any,
            solution: Any,
            checkintegrality: Any,
            checklprows: Any,
            printreason: Any,
            completely: Any,
        ) -> dict[str, Any]:
            bad = self.finder.violated(self._value(solution))
            return {"result": result.INFEASIBLE if bad else result.FEASIBLE}

        def _enforce(self) -> dict[str, Any]:
            bad = self.finder.violated(self._value(None))
            if not bad:
                return {"result": result.FEASIBLE}
            x = self.finder.x
            added = 0
            for i, j, sep in bad:
                key = (i, j, sep)
                if key in self.finder.added:
                    continue
                self.finder.added.add(key)
                rhs = scip.quicksum(x[c, j] for c in sep if (c, j) in x)
                self.model.addCons(x[i, j] <= rhs, removable=True)
                added += 1
            self.cuts += added
            return {"result": result.CONSADDED if added else result.INFEASIBLE}

        def conssepalp(self, constraints: Any, nusefulconss: Any) -> dict[str, Any]:
            if not self.fractional:
                return {"result": result.DIDNOTRUN}
            x = self.finder.x
            found = 0
            for piece, j, sep in self.finder.fractional(self._value(None)):
                row = self.model.createEmptyRowUnspec(lhs=0.0, rhs=None, local=False)
                self.model.cacheRowExtensions(row)
                for c in sep:
                    self.model.addVarToRow(row, x[c, j], 1.0)
                for i in piece:
                    self.model.addVarToRow(row, x[i, j], -1.0)
                self.model.flushRowExtensions(row)
                self.model.addCut(row)
                found += 1
            self.lp_cuts += found
            return {"result": result.SEPARATED if found else result.DIDNOTFIND}

        def consenfolp(self, constraints: Any, nusefulconss: Any, solinfeasible: Any) -> Any:
            return self._enforce()

        def consenfops(
            self, constraints: Any, nusefulconss: Any, solinfeasible: Any, objinfeasible: Any
        ) -> Any:
            return self._enforce()

        def conslock(self, constraint: Any, locktype: Any, nlockspos: int, nlocksneg: int) -> None:
            for var in self.finder.x.values():
                self.model.addVarLocksType(
                    var, locktype, nlockspos + nlocksneg, nlockspos + nlocksneg
                )

    return ContiguityHandler


def _add_cut_edges(
    m: Any,
    scip: Any,
    *,
    x: dict[tuple[int, int], Any],
    y: dict[tuple[int, int], Any],
    centres_of: dict[int, list[int]],
) -> dict[tuple[int, int, int], Any]:
    r"""Edge :math:`uv` is cut: :math:`y_{uv} \ge \sum_j (x_{uj} - x_{vj})^+`.

    Each node is in exactly one part, so the sum is the total-variation distance between the
    assignments of :math:`u` and :math:`v`: 1 when they are in different parts, 0 otherwise.
    Its LP relaxation is stronger than :math:`y_{uv} \ge |x_{uj} - x_{vj}|` for every j
    when the LP spreads a node over many centres (measured at 60 s: WV's root bound 9.3
    against 8.7, OK's bound 24.9 against 22.1, NE 12.5 against 11.7). Returns the
    :math:`z_{uvj} \ge (x_{uj} - x_{vj})^+` by ``(u, v, j)``.
    """
    z: dict[tuple[int, int, int], Any] = {}
    for u, v in y:
        # either orientation is valid; the one with fewer shared centres needs fewer z
        a, b = (u, v) if len(centres_of[u]) <= len(centres_of[v]) else (v, u)
        terms = []
        for j in centres_of[a]:
            xb = x.get((b, j))
            if xb is None:
                terms.append(x[a, j])  # (x_aj - 0)^+ = x_aj
                continue
            var = m.addVar(f"z_{a}_{b}_{j}", vtype="C", lb=0.0, ub=1.0)
            m.addCons(var >= x[a, j] - xb, name=f"cut_{a}_{b}_{j}")
            terms.append(var)
            z[a, b, j] = var
        m.addCons(y[u, v] >= scip.quicksum(terms), name=f"cut_{u}_{v}")
    return z


def _warm_start(
    m: Any,
    graph: PlaceGraph,
    *,
    x: dict[tuple[int, int], Any],
    y: dict[tuple[int, int], Any],
    z: dict[tuple[int, int, int], Any],
    rank: list[int],
    plan: tuple[int, ...] | None,
) -> None:
    """Give SCIP the heuristic plan (if any) as a solution, each part centred at its first node."""
    if plan is None:
        return
    first: dict[int, int] = {}
    for v, part in enumerate(plan):
        if part not in first or rank[v] < rank[first[part]]:
            first[part] = v
    centre = [first[part] for part in plan]
    if any((v, centre[v]) not in x for v in range(len(plan))):
        return  # outside U-fixing: cannot happen for a plan within the band
    sol = m.createSol()
    for (i, j), var in x.items():
        m.setSolVal(sol, var, 1.0 if centre[i] == j else 0.0)
    for (a, b), var in y.items():
        m.setSolVal(sol, var, 1.0 if plan[a] != plan[b] else 0.0)
    for (a, b, j), var in z.items():
        m.setSolVal(sol, var, 1.0 if centre[a] == j and centre[b] != j else 0.0)
    m.addSol(sol, free=True)


def _tune(m: Any, scip: Any, centres: list[Any]) -> None:
    """Settings measured on the county instances (WV, NE, ID; 60 s, one thread).

    SCIP's generic cut separators spent the whole minute in WV's root for a bound of 9; off,
    only the separator inequalities are separated. Branching on the centres first and
    pseudo-cost branching (no strong branching) explore ten times more nodes: WV then has a
    plan (26, bound 15) and NE is proved optimal, where the defaults had neither.
    """
    m.setSeparating(scip.SCIP_PARAMSETTING.OFF)
    for var in centres:
        m.chgVarBranchPriority(var, 10)
    m.setParam("branching/relpscost/priority", -1)
    m.setParam("branching/pscost/priority", 100_000)


def _plan_labels(value: dict[tuple[int, int], float], n: int) -> tuple[int, ...]:
    centre_of = [-1] * n
    for (i, j), v in value.items():
        if v > 0.5:
            centre_of[i] = j
    firsts = sorted(
        {c for c in centre_of}, key=lambda c: min(i for i in range(n) if centre_of[i] == c)
    )
    number = {c: t for t, c in enumerate(firsts)}
    return tuple(number[c] for c in centre_of)


def _infeasible(start: float, variables: int = 0) -> BranchCutResult:
    return BranchCutResult(
        Status.INFEASIBLE, None, None, None, time.perf_counter() - start, (), 0, variables
    )


def solve_branch_cut(  # noqa: PLR0913, C901, PLR0912
    graph: PlaceGraph,
    *,
    parts: int,
    min_size: float,
    max_size: float,
    time_limit: float | None = None,
    threads: int = 1,
    separate: bool = True,
    fractional: bool = True,
    warm_seconds: float | None = None,
    verbose: bool = False,
) -> BranchCutResult:
    """Find a plan of exactly ``parts`` connected parts within the band, of least weighted cut.

    Parameters
    ----------
    graph
        Nodes with populations; edge lengths are the weights of the cut (1 each for cut edges).
    parts
        Number of parts, k.
    min_size, max_size
        Population band [L, U] of every part.
    time_limit
        Seconds for SCIP, or None for no limit.
    threads
        Threads; SCIP's tree search is sequential, so only 1 is used.
    separate
        Add separator inequalities (contiguity). ``False`` solves the Hess model without
        contiguity, to show what the cuts do; its plan may have disconnected parts.
    fractional
        Also separate the inequalities on fractional LP solutions (a heuristic separation).
    warm_seconds
        Seconds for the recombination heuristic (:mod:`pcnopt.model.recombination`) whose plan
        starts SCIP; None: a tenth of the time limit, at most 10 s (5 s without a limit); 0:
        no warm start. Counted in the time limit.
    verbose
        Print SCIP's log.

    Returns
    -------
    BranchCutResult
        Status, objective, bound, gap, seconds and the plan.

    Raises
    ------
    SolverError
        When PySCIPOpt is not installed.
    """
    del threads
    scip = _import_scip()
    start = time.perf_counter()
    if warm_seconds is None:
        warm_seconds = 5.0 if time_limit is None else min(10.0, 0.1 * time_limit)
    n = len(graph.codes)
    pop = graph.population
    if parts < 1 or n < parts or any(p > max_size for p in pop):
        return _infeasible(start)
    if not parts * min_size <= sum(pop) <= parts * max_size:
        return _infeasible(start)
    base = _Model(graph, parts=parts, lo=min_size, hi=max_size)
    centres_of: dict[int, list[int]] = {i: [] for i in range(n)}
    for j, members in base.members.items():
        for i in members:
            centres_of[i].append(j)
    nvars = sum(len(m) for m in base.members.values())
    if any(not c for c in centres_of.values()) or len(base.members) < parts:
        return _infeasible(start, nvars)

    m = scip.Model("branch_cut")
    if not verbose:
        m.hideOutput()
    m.setParam("parallel/maxnthreads", 1)
    m.setParam("lp/threads", 1)
    m.setParam("limits/gap", 0.0)
    # the contiguity handler locks every x, but dual presolve reductions are not safe with
    # constraints SCIP cannot see; switch them off
    m.setParam("misc/allowstrongdualreds", False)
    m.setParam("misc/allowweakdualreds", False)

    x: dict[tuple[int, int], Any] = {}
    for j, members in base.members.items():
        for i in sorted(members):
            x[i, j] = m.addVar(f"x_{i}_{j}", vtype="B")
    y = {
        (a, b): m.addVar(f"y_{a}_{b}", vtype="C", lb=0.0, ub=1.0, obj=length)
        for a, b, length in graph.edges
    }
    for i in range(n):
        m.addCons(scip.quicksum(x[i, j] for j in centres_of[i]) == 1, name=f"one_{i}")
    m.addCons(scip.quicksum(x[j, j] for j in base.members) == parts, name="parts")
    for j, members in base.members.items():
        size = scip.quicksum(pop[i] * x[i, j] for i in members)
        m.addCons(size >= min_size * x[j, j], name=f"min_{j}")
        m.addCons(size <= max_size * x[j, j], name=f"max_{j}")
        for i in members:
            if i == j:
                continue
            m.addCons(x[i, j] <= x[j, j], name=f"centre_{i}_{j}")
            if separate:
                near = [v for v in base.adj[i] if v in members]
                m.addCons(x[i, j] <= scip.quicksum(x[v, j] for v in near), name=f"nb_{i}_{j}")
    z = _add_cut_edges(m, scip, x=x, y=y, centres_of=centres_of)
    if all(float(length).is_integer() for _, _, length in graph.edges):
        m.setObjIntegral()  # whole cut edges: a bound of 22.1 proves 23
    if warm_seconds > 0:
        _warm_start(
            m,
            graph,
            x=x,
            y=y,
            z=z,
            rank=base.rank,
            plan=plan_by_recombination(
                graph, parts=parts, min_size=min_size, max_size=max_size, seconds=warm_seconds
            ),
        )

    _tune(m, scip, [x[j, j] for j in base.members])
    handler = None
    if separate:
        handler = _handler_class(scip)(_Contiguity(base, x), fractional=fractional)
        m.includeConshdlr(
            handler,
            "contiguity",
            "every part connected (a,b-separator inequalities)",
            sepapriority=100,
            sepafreq=1,
            enfopriority=-2_000_000,
            chckpriority=-2_000_000,
            needscons=False,
        )
    if time_limit is not None:
        m.setParam("limits/time", max(1.0, time_limit - (time.perf_counter() - start)))
    m.optimize()
    status_name = m.getStatus()
    seconds = time.perf_counter() - start
    cuts = handler.cuts + handler.lp_cuts if handler is not None else 0
    if verbose and handler is not None:
        print(f"integer cuts {handler.cuts}, LP cuts {handler.lp_cuts}")
    if status_name == "infeasible":
        return BranchCutResult(Status.INFEASIBLE, None, None, None, seconds, (), cuts, nvars)
    bound = m.getDualbound()
    bound = None if not math.isfinite(bound) or abs(bound) > 1e19 else float(bound)
    if m.getNSols() == 0:
        return BranchCutResult(Status.NO_SOLUTION, None, bound, None, seconds, (), cuts, nvars)
    sol = m.getBestSol()
    values = {key: m.getSolVal(sol, var) for key, var in x.items()}
    objective = float(m.getSolObjVal(sol))
    labels = _plan_labels(values, n)
    status = Status.OPTIMAL if status_name == "optimal" else Status.FEASIBLE
    if status is Status.OPTIMAL:
        bound = objective
    if bound is not None:
        bound = min(bound, objective)
    gap = None
    if bound is not None:
        gap = 0.0 if objective == 0 else max(0.0, objective - bound) / abs(objective)
    return BranchCutResult(status, objective, bound, gap, seconds, labels, cuts, nvars)
