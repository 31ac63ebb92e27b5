r"""The Hess model of one block, and its contiguity re-solve rounds.


Formulation (Hess p-median with cut-based contiguity)
------------------------------------------------------
Each network has a *hub*: one of its practices. Binary :math:`x_{ij} = 1` when practice
:math:`i` belongs to the network whose hub is :math:`j`; :math:`x_{jj} = 1` when :math:`j` is a
hub. Variables exist only for pairs :math:`(i, j)` with :math:`i \in R_j`, where :math:`R_j` is
the set of practices reachable from :math:`j` along a path whose total population (both ends
included) is at most :math:`U` (*size fixing*: any connected network holding both :math:`i` and
:math:`j` contains such a path, so every other :math:`x_{ij}` is 0 in every feasible plan).
When no objective depends on the choice of hub, the hub is the network's lowest-index practice,
so :math:`R_j` is computed in the subgraph of practices with index :math:`\ge j`
(*symmetry breaking*: each partition has exactly one representation).

.. math::

    \min\ & f(x, y, z, w) \\
    \text{assignment}\quad & \textstyle\sum_{j:\, i \in R_j} x_{ij} = 1 \quad \forall i,
        \qquad x_{ij} \le x_{jj} \quad \forall j,\ i \in R_j \\
    \text{size}\quad & L\, x_{jj} \le \textstyle\sum_{i \in R_j} p_i x_{ij} \le U\, x_{jj}
        \quad \forall j \\
    \text{count}\quad & k_{\min} \le \textstyle\sum_j x_{jj} \le k_{\max} \\
    \text{contiguity}\quad & x_{ij} \le \textstyle\sum_{k \in S} x_{kj}
        \quad \forall j,\ i \in R_j \setminus \{j\},\
        S \text{ an } i,j\text{-separator in } G[R_j] \\
    \text{rules}\quad & x_{aj} = x_{bj}\ (\text{keep together}),\quad
        x_{aj} + x_{bj} \le x_{jj}\ (\text{keep apart}) \quad \forall j

:math:`k_{\min} = \max(\lceil T/U \rceil, \text{min\_pcns})` and
:math:`k_{\max} = \min(\lfloor T/L \rfloor, \text{max\_pcns})` for block population :math:`T`.
Contiguity uses the a,b-separator inequalities of Validi, Buchanan and Lykhovyd (2022): a
network is connected if and only if no separator of one of its members from its hub lies
entirely outside it. The length-one separators :math:`S = \{k \in N(i) \cap R_j : d_j(k) + p_i
\le U\}` (with :math:`d_j(k)` the node-weighted path population from :math:`j` to :math:`k`)
are added before solving. PuLP has no solver callbacks, so the rest are added in re-solve
rounds: solve, find each network component :math:`C` that does not contain its hub :math:`j`,
take the minimal separator :math:`S = N(C) \cap N(D)` (:math:`D` the component of :math:`j` in
:math:`G[R_j] - N(C)`), add the inequality for every :math:`i \in C`, solve again. Every round
solves a relaxation, so its proven bound is a valid bound for the real problem; the loop stops
when the solution is connected. The alternative is a single-commodity flow per hub (Shirabe;
``contiguity="flow"``), solved once. Measured with CBC on this machine: for the compact
objective cuts win (a random 50-practice place: 21 s with cuts, not solved in 120 s with flow;
compact optima rarely have disconnected networks, so one or two rounds suffice); for the
boundary objective flow wins (Maine county instance: 10 s with flow, 60 s and 12 rounds with
cuts). ``contiguity="auto"`` (default) picks flow when the objective includes ``boundary``.

Objectives (combine with weights, or optimise in order with ``lexicographic=True``)

* ``compact``: :math:`\sum_{i,j} p_i\, d_{ij}\, x_{ij}`, patient-weighted distance to the hub
  (the p-median objective of Hess et al. 1965). Distances are Euclidean in metres from the
  British National Grid coordinates (or the ``distance`` override); *not squared* unless
  ``squared=True`` (then :math:`d_{ij}^2`, the moment of inertia).
* ``boundary``: :math:`\sum_{e=\{u,v\}} \ell_e\, y_e` with :math:`y_e \ge x_{uj} - x_{vj}` and
  :math:`y_e \ge x_{vj} - x_{uj}` for all :math:`j`: total length of catchment border between
  different networks (unit lengths give the number of cut edges).
* ``disruption``: patients whose practice does not stay with its current network. Each new
  network continues at most one current network and vice versa (a matching :math:`z_{jc}`,
  :math:`\sum_c z_{jc} \le x_{jj}`, :math:`\sum_j z_{jc} \le 1`); :math:`w_{ij} \le x_{ij}`,
  :math:`w_{ij} \le z_{j,c(i)}`; minimise :math:`\sum_{i: c(i) \ne \varnothing} p_i (1 -
  \sum_j w_{ij})`.
* ``n_pcns="fewest"`` first minimises :math:`\sum_j x_{jj}`, then the objective.
"""

from __future__ import annotations

import heapq
import math
import time
from collections.abc import Mapping, Sequence

import networkx as nx
import pulp

from pcnopt.model import solvers as slv
from pcnopt.model.place import Place, component_of, components
from pcnopt.model.solvers import Status


def reach_within(place: Place, src: int, cap: float, allowed: set[int]) -> dict[int, float]:
    """Node-weighted shortest path population from ``src`` (both ends counted) up to ``cap``."""
    start = float(place.pop[src])
    if start > cap:
        return {}
    best = {src: start}
    heap = [(start, src)]
    while heap:
        d, u = heapq.heappop(heap)
        if d > best.get(u, math.inf):
            continue
        for v in place.adj[u]:
            if v not in allowed:
                continue
            nd = d + float(place.pop[v])
            if nd <= cap + 1e-9 and nd < best.get(v, math.inf):
                best[v] = nd
                heapq.heappush(heap, (nd, v))
    return best


class HessModel:
    """The Hess model of one block (a set of components solved together)."""

    def __init__(
        self,
        place: Place,
        nodes: Sequence[int],
        *,
        k_lo: int,
        k_hi: int,
        together: Sequence[tuple[int, int]],
        apart: Sequence[tuple[int, int]],
        upper_cutoff: float | None,
    ) -> None:
        self.place = place
        self.nodes = sorted(nodes)
        self.prob = pulp.LpProblem("pcn_place", pulp.LpMinimize)
        self.x: dict[tuple[int, int], pulp.LpVariable] = {}
        self.reach: dict[int, dict[int, float]] = {}
        self.cuts = 0
        self._cut_seen: set[tuple[int, int, tuple[int, ...]]] = set()
        self._build_reach(upper_cutoff)
        self._add_assignment()
        self._add_size_bounds()
        self._add_count(k_lo, k_hi)
        self._add_contiguity()
        if place.contiguity == "flow":
            self._add_flow_contiguity()
        self._add_rules(together, apart)
        self.expr: dict[str, pulp.LpAffineExpression] = {}
        self.y: dict[tuple[int, int], pulp.LpVariable] = {}
        self.t: dict[tuple[int, int, int], pulp.LpVariable] = {}
        self.z: dict[tuple[int, str], pulp.LpVariable] = {}
        self.w: dict[tuple[int, int], pulp.LpVariable] = {}
        self.expr["count"] = pulp.lpSum(self.x[j, j] for j in self.hubs)
        for name in place.terms:
            if name == "compact":
                self.expr[name] = self._compact_expr()
            elif name == "boundary":
                self.expr[name] = self._add_boundary()
            else:
                self.expr[name] = self._add_disruption()

    # --- variables --------------------------------------------------------------------------
    def _build_reach(self, upper_cutoff: float | None) -> None:
        place = self.place
        opts = place.options
        block = set(self.nodes)
        for j in self.nodes:
            allowed = block if place.free_hub else {v for v in block if v >= j}
            reach = reach_within(place, j, opts.max_size, allowed)
            if sum(place.pop[v] for v in reach) < opts.min_size - 1e-9:
                continue  # j cannot be the hub of a large-enough network
            if upper_cutoff is not None and place.free_hub and len(place.terms) == 1:
                # distance fixing: assigning i to j alone would cost more than the incumbent
                reach = {
                    i: d
                    for i, d in reach.items()
                    if place.cost[i, j] <= upper_cutoff * (1 + 1e-9) + 1e-9
                }
                if j not in reach:
                    continue
            self.reach[j] = reach
            for i in reach:
                self.x[i, j] = pulp.LpVariable(f"x_{i}_{j}", cat=pulp.LpBinary)
        self.hubs = sorted(self.reach)
        self.hubs_of: dict[int, list[int]] = {i: [] for i in self.nodes}
        for i, j in self.x:
            self.hubs_of[i].append(j)

    # --- constraint families ----------------------------------------------------------------
    def _add_assignment(self) -> None:
        for i in self.nodes:
            self.prob += (pulp.lpSum(self.x[i, j] for j in self.hubs_of[i]) == 1, f"assign_{i}")
        for (i, j), var in self.x.items():
            if i != j:
                self.prob += (var <= self.x[j, j], f"hub_{i}_{j}")

    def _add_size_bounds(self) -> None:
        pop = self.place.pop
        opts = self.place.options
        for j in self.hubs:
            size = pulp.lpSum(float(pop[i]) * self.x[i, j] for i in self.reach[j])
            self.prob += (size <= opts.max_size * self.x[j, j], f"max_{j}")
            self.prob += (size >= opts.min_size * self.x[j, j], f"min_{j}")

    def _add_count(self, k_lo: int, k_hi: int) -> None:
        count = pulp.lpSum(self.x[j, j] for j in self.hubs)
        if k_lo == k_hi:
            self.prob += (count == k_lo, "count")
        else:
            self.prob += (count >= k_lo, "count_min")
            self.prob += (count <= k_hi, "count_max")

    def _add_contiguity(self) -> None:
        """Length-one a,b-separators: a member other than the hub needs a member neighbour."""
        pop = self.place.pop
        cap = self.place.options.max_size
        for j in self.hubs:
            reach = self.reach[j]
            for i in reach:
                if i == j:
                    continue
                sep = sorted(
                    k for k in self.place.adj[i] if k in reach and reach[k] + pop[i] <= cap + 1e-9
                )
                self.prob += (
                    self.x[i, j] <= pulp.lpSum(self.x[k, j] for k in sep),
                    f"sep1_{i}_{j}",
                )

    def _add_flow_contiguity(self) -> None:
        """Single-commodity flow per hub (Shirabe): the hub ships one unit to each member.

        :math:`\\sum_{(u,i)} f^j_{ui} - \\sum_{(i,w)} f^j_{iw} = x_{ij}` for
        :math:`i \\in R_j \\setminus \\{j\\}`, :math:`f^j_{uv} \\le (|R_j| - 1)\\, x_{vj}` and
        :math:`\\le (|R_j| - 1)\\, x_{uj}`; flow only moves inside the network, so every member
        is reached from the hub.
        """
        adj = self.place.adj
        for j in self.hubs:
            reach = self.reach[j]
            big_m = float(len(reach) - 1)
            if big_m <= 0:
                continue
            inflow: dict[int, list[pulp.LpVariable]] = {i: [] for i in reach}
            outflow: dict[int, list[pulp.LpVariable]] = {i: [] for i in reach}
            for u in sorted(reach):
                for v in sorted(adj[u]):
                    if v not in reach or v == j:
                        continue
                    f = pulp.LpVariable(f"f_{j}_{u}_{v}", lowBound=0)
                    self.prob += (f <= big_m * self.x[v, j], f"fv_{j}_{u}_{v}")
                    self.prob += (f <= big_m * self.x[u, j], f"fu_{j}_{u}_{v}")
                    inflow[v].append(f)
                    outflow[u].append(f)
            for i in sorted(reach):
                if i != j:
                    self.prob += (
                        pulp.lpSum(inflow[i]) - pulp.lpSum(outflow[i]) == self.x[i, j],
                        f"flow_{j}_{i}",
                    )

    def add_separator_cuts(self, parts: dict[int, list[int]]) -> int:
        """Add a,b-separator inequalities for every network not connected to its hub."""
        added = 0
        adj = self.place.adj
        for j, members in parts.items():
            member_set = set(members)
            reach = self.reach[j]
            for comp in components(member_set, adj):
                if j in comp:
                    continue
                boundary = {k for v in comp for k in adj[v] if k in reach and k not in comp}
                # component of the hub once the boundary is removed
                side = component_of(j, set(reach) - boundary - comp, adj)
                sep = sorted(k for k in boundary if adj[k] & side or k == j)
                key_sep = tuple(sep)
                for i in sorted(comp):
                    key = (i, j, key_sep)
                    if key in self._cut_seen:
                        continue
                    self._cut_seen.add(key)
                    self.prob += (
                        self.x[i, j] <= pulp.lpSum(self.x[k, j] for k in sep),
                        f"cut{self.cuts}_{i}_{j}",
                    )
                    self.cuts += 1
                    added += 1
        return added

    def _add_rules(
        self, together: Sequence[tuple[int, int]], apart: Sequence[tuple[int, int]]
    ) -> None:
        for r, (a, b) in enumerate(together):
            for j in sorted(set(self.hubs_of[a]) | set(self.hubs_of[b])):
                xa = self.x.get((a, j), 0)
                xb = self.x.get((b, j), 0)
                self.prob += (xa == xb, f"together{r}_{j}")
        for r, (a, b) in enumerate(apart):
            if a not in self.hubs_of or b not in self.hubs_of:
                continue  # the other practice is in another block (e.g. a large one alone)
            for j in sorted(set(self.hubs_of[a]) & set(self.hubs_of[b])):
                self.prob += (self.x[a, j] + self.x[b, j] <= self.x[j, j], f"apart{r}_{j}")

    # --- objective terms --------------------------------------------------------------------
    def _compact_expr(self) -> pulp.LpAffineExpression:
        cost = self.place.cost
        return pulp.lpSum(float(cost[i, j]) * var for (i, j), var in self.x.items() if i != j)

    def _add_boundary(self) -> pulp.LpAffineExpression:
        """Cut edges: :math:`y_e = \\sum_j t_{ej}`, :math:`t_{ej} \\ge x_{uj} - x_{vj}`.

        Since both ends are assigned once, :math:`\\sum_j \\max(0, x_{uj} - x_{vj}) = \\tfrac12
        \\sum_j |x_{uj} - x_{vj}|`, which is stronger in the LP than
        :math:`y_e \\ge \\max_j |x_{uj} - x_{vj}|` and equal on integer points.
        """
        place = self.place
        block = set(self.nodes)
        terms = []
        for (u, v), length in sorted(place.length.items()):
            if u not in block or v not in block:
                continue
            y = pulp.LpVariable(f"y_{u}_{v}", lowBound=0, upBound=1)
            self.y[u, v] = y
            parts = []
            for j in sorted(self.hubs_of[u]):
                t = pulp.LpVariable(f"t_{u}_{v}_{j}", lowBound=0)
                self.t[u, v, j] = t
                xv = self.x.get((v, j))
                self.prob += (t >= self.x[u, j] - (xv if xv is not None else 0), f"t_{u}_{v}_{j}")
                parts.append(t)
            self.prob += (y == pulp.lpSum(parts), f"y_{u}_{v}")
            if length > 0:
                terms.append(float(length) * y)
        return pulp.lpSum(terms)

    def _add_disruption(self) -> pulp.LpAffineExpression:
        place = self.place
        current = place.current
        if current is None:
            return pulp.LpAffineExpression()
        labels = sorted({c for c in (current[i] for i in self.nodes) if c is not None})
        label_id = {c: r for r, c in enumerate(labels)}
        for j in self.hubs:
            here = sorted({c for c in (current[i] for i in self.reach[j]) if c is not None})
            for c in here:
                self.z[j, c] = pulp.LpVariable(f"z_{j}_{label_id[c]}", cat=pulp.LpBinary)
            if here:
                self.prob += (
                    pulp.lpSum(self.z[j, c] for c in here) <= self.x[j, j],
                    f"match_hub_{j}",
                )
        for c in labels:
            zs = [self.z[j, c] for j in self.hubs if (j, c) in self.z]
            if zs:
                self.prob += (pulp.lpSum(zs) <= 1, f"match_cur_{label_id[c]}")
        kept = []
        for (i, j), var in self.x.items():
            label = current[i]
            if label is None:
                continue
            w = pulp.LpVariable(f"w_{i}_{j}", lowBound=0, upBound=1)
            self.w[i, j] = w
            self.prob += (w <= var, f"wx_{i}_{j}")
            self.prob += (w <= self.z[j, label], f"wz_{i}_{j}")
            kept.append(float(place.pop[i]) * w)
        total = sum(float(place.pop[i]) for i in self.nodes if current[i] is not None)
        return total - pulp.lpSum(kept)

    # --- solutions --------------------------------------------------------------------------
    def parts_from(self, values: Mapping[str, float]) -> dict[int, list[int]]:
        parts: dict[int, list[int]] = {}
        for (i, j), var in self.x.items():
            if values.get(var.name, 0.0) > 0.5:
                parts.setdefault(j, []).append(i)
        return {j: sorted(m) for j, m in parts.items()}

    def start_values(self, parts: Sequence[Sequence[int]]) -> dict[str, float] | None:
        """Variable values of a plan, or None if the plan does not fit the model's variables."""
        place = self.place
        values: dict[str, float] = {}
        label: dict[int, int] = {}
        for part in parts:
            hub = place.hub_of(part) if place.free_hub else min(part)
            for i in part:
                var = self.x.get((i, hub))
                if var is None:
                    return None
                values[var.name] = 1.0
                label[i] = hub
        for (u, v), y in self.y.items():
            values[y.name] = 1.0 if label[u] != label[v] else 0.0
        for (u, v, j), t in self.t.items():
            values[t.name] = 1.0 if label[u] == j and label[v] != j else 0.0
        if self.z and place.current is not None:
            chosen = self._continued(label, place.current)
            for (j, c), z in self.z.items():
                values[z.name] = 1.0 if chosen.get(j) == c else 0.0
            for (i, j), w in self.w.items():
                ok = label.get(i) == j and chosen.get(j) == place.current[i]
                values[w.name] = 1.0 if ok else 0.0
        return values

    def _continued(self, label: Mapping[int, int], current: Sequence[str | None]) -> dict[int, str]:
        """The current PCN each network of a plan (by hub) continues: the matching of networks
        to current PCNs that keeps the most patients where they are."""
        by_hub: dict[int, list[int]] = {}
        for i, h in label.items():
            by_hub.setdefault(h, []).append(i)
        bip = nx.Graph()
        for h, members in sorted(by_hub.items()):
            counts: dict[str, float] = {}
            for i in members:
                c = current[i]
                if c is not None:
                    counts[c] = counts.get(c, 0.0) + float(self.place.pop[i])
            for c, weight in sorted(counts.items()):
                bip.add_edge(("h", h), ("c", c), weight=weight)
        chosen = {}
        for a, b in nx.max_weight_matching(bip):
            (ha, hb) = (a, b) if a[0] == "h" else (b, a)
            chosen[ha[1]] = hb[1]
        return chosen


def stage_value(
    place: Place, model: HessModel, stage: list[tuple[str, float]], plan: list[list[int]]
) -> float:
    values = model.start_values(plan)
    if values is None:  # pragma: no cover - plans come from the model or fit it
        return math.inf
    total = 0.0
    for name, weight in stage:
        expr = model.expr[name]
        total += weight * (
            expr.constant + sum(coef * values.get(var.name, 0.0) for var, coef in expr.items())
        )
    return total


def solve_rounds(
    model: HessModel, incumbent: list[list[int]] | None, *, deadline: float | None
) -> tuple[Status, list[list[int]] | None, float | None, int]:
    """Solve, add separator cuts for disconnected networks, and solve again.

    Returns (kind, plan, bound, rounds) with kind OPTIMAL, FEASIBLE, INFEASIBLE or NO_SOLUTION.
    """
    opts = model.place.options
    bound: float | None = None
    best = incumbent
    best_value = None
    rounds = 0
    kind = Status.NO_SOLUTION
    while rounds < opts.max_rounds:
        remaining = None if deadline is None else deadline - time.perf_counter()
        if remaining is not None and remaining < 0.5:
            break
        warm = model.start_values(best) if best is not None else None
        res = slv.solve(
            model.prob,
            solver=opts.solver,
            # leave room for writing the model and reading the answer, and for CBC's overrun
            time_limit=None if remaining is None else max(0.5, 0.9 * remaining - 1.0),
            threads=opts.threads,
            mip_gap=opts.mip_gap,
            warm_start=warm,
        )
        rounds += 1
        if res.status == Status.INFEASIBLE:
            return Status.INFEASIBLE, None, None, rounds
        if res.bound is not None:
            bound = res.bound if bound is None else max(bound, res.bound)
        if res.status == Status.NO_SOLUTION:
            break
        parts = model.parts_from(res.values)
        if model.add_separator_cuts(parts) == 0:
            plan = [sorted(m) for _, m in sorted(parts.items())]
            best, best_value = plan, res.objective
            kind = res.status
            break
        # disconnected: keep looping with the new cuts
    if kind in (Status.OPTIMAL, Status.FEASIBLE):
        return (
            kind,
            best,
            bound if kind == Status.FEASIBLE else (bound if opts.mip_gap > 0 else best_value),
            rounds,
        )
    if best is not None:
        return Status.FEASIBLE, best, bound, rounds
    return Status.NO_SOLUTION, None, bound, rounds
