r"""The integer program that designs Primary Care Networks in one place.

A *place* is given as a :class:`PlaceGraph`: practices are nodes with a population :math:`p_i`,
and two practices are joined by an edge :math:`\{i,k\} \in E` when their catchments share a
border (length :math:`\ell_{ik}`; practices on one site are joined with length 0).
:func:`solve_place` partitions the practices into networks (PCNs) that are connected in this
graph and have between :math:`L` (``min_size``, 30,000) and :math:`U` (``max_size``, 50,000)
patients, optimising one or more objectives.

Two exact methods
-----------------
*Set partitioning* (:mod:`pcnopt._model_partition`, the default): every candidate network (a
connected set of practices within the band that respects the pair rules) is a column, and
the plan is the cheapest exact cover of the practices by columns. Contiguity and the band hold
by construction and the LP relaxation is tight, so places are proved optimal in seconds. The
candidates are listed by a compiled enumeration when there are at most
``SolveOptions.partition_candidates`` of them (4 million by default), and otherwise, for the
compact objective, generated on demand by an enumeration pruned with the LP duals. Column
generation gives the LP bound; integer programs over the columns of small reduced cost then
find and prove the optimum (see that module for the argument).

The *Hess model* below is used for the disruption objective (not separable by network), and
for boundary or lexicographic objectives in places with too many candidates to list.

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

Before the model (each reported by name in :attr:`PlaceSolution.notes`)

* a practice above :math:`U` is a network on its own ("single practice above 50,000: own PCN");
* a connected component (island) with fewer than :math:`L` patients is one network
  ("below minimum, needs commissioner approval");
* a component of total :math:`T` is infeasible when no integer :math:`k` has
  :math:`kL \le T \le kU`; the answer then is the contiguous configuration with the least size
  violation, found by region growing and local search (``fallback: size violation ...``).

The same region-growing heuristic (:mod:`pcnopt._model_heuristic`) gives the warm start and the
incumbent returned if the time limit arrives before the solver finds a connected plan. For the
compact objective the heuristic plan is then improved by a large-neighbourhood pass: each
network and its neighbours (up to 20 practices) are re-partitioned exactly by this model.

Bounds, gaps and determinism

* The bound is the solver's proven lower bound (CBC: parsed from its log; HiGHS:
  ``mip_dual_bound``); with any other PuLP solver it is None unless optimality is proved. A
  bound from a contiguity round whose plan was disconnected is still valid (a relaxation).
* Time limits hold on the wall clock: CBC is interrupted (SIGINT, then killed) a little after
  its own limit, because its root cut loop can overrun ``-sec`` on large models.
* With ``threads=1`` and no time limit, the same input gives the same output. A time limit
  makes the result depend on machine speed.
"""

from __future__ import annotations

import functools
import itertools
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np
import pulp

from pcnopt import _model_heuristic as heur
from pcnopt import _model_partition as setpart
from pcnopt import _model_solver as slv
from pcnopt._errors import InputError, OptionError, Problem

__all__ = [
    "OBJECTIVES",
    "STATUSES",
    "PlaceGraph",
    "PlaceSolution",
    "SolveOptions",
    "evaluate_partition",
    "solve_place",
]

#: Objective names accepted by :class:`SolveOptions`.
OBJECTIVES = ("compact", "boundary", "disruption")

#: Methods named in :attr:`PlaceSolution.method`.
PARTITION = "set partitioning over candidate PCNs"
HESS = "Hess p-median with cut-based contiguity"
FALLBACK = "least size violation fallback"
HEURISTIC = "region growing and local search; the time limit ran out before the Hess model"

#: Every value :attr:`PlaceSolution.status` can take.
STATUSES = (
    "optimal",  # proved optimal (within mip_gap); every network within the band
    "below_minimum",  # optimal, but some network is below min_size by a named exception
    "feasible",  # time limit reached: best plan found, gap proved by the solver
    "infeasible",  # proved that no plan meets the rules; fallback configuration returned
    "unknown",  # time limit reached with neither a plan nor a proof; fallback returned
    "trivial",  # no optimisation needed: exceptions or a single possible plan decide it
    "empty",  # no practice to assign (all excluded, or no practices)
)


# --------------------------------------------------------------------------------------------
# Public types
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlaceGraph:
    """Practices of one place and their catchment adjacency.

    Parameters
    ----------
    place_id
        Identifier of the place (sub-ICB, LAD...).
    codes
        Practice codes, one per node, sorted.
    population
        Population used for the size band (registered or weighted).
    x, y
        British National Grid easting and northing in metres.
    edges
        ``(i, j, length)`` with ``i < j``: practices whose catchments share ``length`` metres of
        border; practices at the same site are joined with length 0.0.
    current
        Current PCN per practice (None where it has none), for the disruption objective.
    distance
        Optional n×n distance matrix replacing the Euclidean distance from ``x``, ``y``.
    """

    place_id: str
    codes: tuple[str, ...]
    population: tuple[float, ...]
    x: tuple[float, ...]
    y: tuple[float, ...]
    edges: tuple[tuple[int, int, float], ...]
    current: tuple[str | None, ...] | None = None
    distance: tuple[tuple[float, ...], ...] | None = None

    def __post_init__(self) -> None:
        problems: list[str] = []
        n = len(self.codes)
        for name in ("population", "x", "y"):
            if len(getattr(self, name)) != n:
                problems.append(f"{name} has {len(getattr(self, name))} values for {n} practices")
        if self.current is not None and len(self.current) != n:
            problems.append(f"current has {len(self.current)} values for {n} practices")
        if len(set(self.codes)) != n:
            problems.append("practice codes are repeated")
        if list(self.codes) != sorted(self.codes):
            problems.append("practice codes are not sorted")
        bad_pop = [
            c
            for c, p in zip(self.codes, self.population, strict=False)
            if not (math.isfinite(p) and p >= 0)
        ]
        if bad_pop:
            problems.append(f"population is negative or missing for {', '.join(bad_pop[:5])}")
        for i, j, length in self.edges:
            if not (0 <= i < j < n) or not (math.isfinite(length) and length >= 0):
                problems.append(
                    f"edge ({i}, {j}, {length}) is not a valid (i < j < n, length >= 0) edge"
                )
                break
        if self.distance is not None and (
            len(self.distance) != n or any(len(row) != n for row in self.distance)
        ):
            problems.append(f"distance is not a {n}x{n} matrix")
        if problems:
            raise InputError(
                [
                    Problem(
                        file=f"place {self.place_id}",
                        message=p + ".",
                        fix="rebuild the place graph with pcnopt.geography",
                    )
                    for p in problems
                ]
            )


@dataclass(frozen=True)
class SolveOptions:
    """Rules and objective of one optimisation run.

    Parameters
    ----------
    min_size, max_size
        Population band of a network.
    objective
        ``"compact"``, ``"boundary"`` or ``"disruption"``, or a tuple of ``(name, weight)``
        pairs (e.g. ``(("compact", 1.0), ("boundary", 50.0))``). Stored normalised as a tuple of
        pairs. Units: compact in patient-metres (patient-metres² if ``squared``), boundary in
        metres, disruption in patients.
    lexicographic
        Optimise the objective terms one after another in the given order, each keeping the
        earlier ones at their optimum (weights are then ignored). Otherwise the weighted sum.
    squared
        Use squared distances in the compact objective.
    n_pcns
        Exact number of networks in the place (including networks made by exceptions), or
        ``"fewest"`` for as few as the band allows (then the objective among those), or None.
    min_pcns, max_pcns
        Bounds on the number of networks in the place.
    time_limit
        Seconds per place, or None for no limit.
    solver
        ``"cbc"`` (bundled with PuLP), ``"highs"`` (highspy) or another PuLP solver name.
    threads
        Solver threads.
    keep_together
        Groups of practice codes that must share a network.
    keep_apart
        Groups of practice codes that must all be in different networks.
    fixed
        ``(code, label)`` pairs: the same label means the same network, different labels
        different networks. The label is reported in :attr:`PlaceSolution.names`.
    excluded
        Practices left out: not assigned, and not used to connect other practices.
    approved_small
        The commissioner approves networks below ``min_size`` where the band cannot be met
        (rural exception): such places get status ``"below_minimum"`` with the least shortfall
        instead of ``"infeasible"``.
    mip_gap
        Relative gap at which the solver may stop.
    max_rounds
        Maximum contiguity re-solve rounds per objective stage.
    contiguity
        ``"cuts"`` (a,b-separator inequalities added in re-solve rounds), ``"flow"`` (a
        single-commodity flow per hub, one solve; separator rounds remain as a safety net), or
        ``"auto"``: flow when the objective includes ``boundary``, cuts otherwise (measured
        fastest for each with CBC; see the module docstring).
    partition_candidates
        Solve a block by exact set partitioning when it has at most this many candidate
        networks (connected, within the band); above it, or with 0, the Hess model is used.
    """

    min_size: float = 30_000
    max_size: float = 50_000
    objective: str | tuple[tuple[str, float], ...] = "compact"
    lexicographic: bool = False
    squared: bool = False
    n_pcns: int | str | None = None
    min_pcns: int | None = None
    max_pcns: int | None = None
    time_limit: float | None = None
    solver: str = "cbc"
    threads: int = 1
    keep_together: tuple[tuple[str, ...], ...] = ()
    keep_apart: tuple[tuple[str, ...], ...] = ()
    fixed: tuple[tuple[str, str], ...] = ()
    excluded: tuple[str, ...] = ()
    approved_small: bool = False
    mip_gap: float = 0.0
    max_rounds: int = 100
    contiguity: str = "auto"
    partition_candidates: int = setpart.MAX_CANDIDATES

    def __post_init__(self) -> None:
        errors: list[str] = []
        if not (math.isfinite(self.min_size) and self.min_size >= 0):
            errors.append(f"min_size must be a number >= 0, got {self.min_size!r}")
        if not (math.isfinite(self.max_size) and self.max_size > 0):
            errors.append(f"max_size must be a positive number, got {self.max_size!r}")
        elif self.min_size > self.max_size:
            errors.append(
                f"min_size ({self.min_size:,.0f}) is above max_size "
                f"({self.max_size:,.0f}); swap them"
            )
        terms = self._normalised_objective(errors)
        object.__setattr__(self, "objective", terms)
        if self.n_pcns is not None and not (
            self.n_pcns == "fewest"
            or (
                isinstance(self.n_pcns, int)
                and not isinstance(self.n_pcns, bool)
                and self.n_pcns >= 1
            )
        ):
            errors.append(
                f"n_pcns must be a whole number >= 1, 'fewest' or None, got {self.n_pcns!r}"
            )
        for name in ("min_pcns", "max_pcns"):
            value = getattr(self, name)
            if value is not None and (
                not isinstance(value, int) or isinstance(value, bool) or value < 1
            ):
                errors.append(f"{name} must be a whole number >= 1 or None, got {value!r}")
        if (
            isinstance(self.min_pcns, int)
            and isinstance(self.max_pcns, int)
            and self.min_pcns > self.max_pcns
        ):
            errors.append(f"min_pcns ({self.min_pcns}) is above max_pcns ({self.max_pcns})")
        if isinstance(self.n_pcns, int) and not isinstance(self.n_pcns, bool):
            if isinstance(self.min_pcns, int) and self.n_pcns < self.min_pcns:
                errors.append(f"n_pcns ({self.n_pcns}) is below min_pcns ({self.min_pcns})")
            if isinstance(self.max_pcns, int) and self.n_pcns > self.max_pcns:
                errors.append(f"n_pcns ({self.n_pcns}) is above max_pcns ({self.max_pcns})")
        if self.time_limit is not None and not (
            isinstance(self.time_limit, int | float) and self.time_limit > 0
        ):
            errors.append(
                f"time_limit must be a positive number of seconds or None, got {self.time_limit!r}"
            )
        if not isinstance(self.solver, str) or not self.solver:
            errors.append(
                f"solver must be a solver name such as 'cbc' or 'highs', got {self.solver!r}"
            )
        if not isinstance(self.threads, int) or self.threads < 1:
            errors.append(f"threads must be a whole number >= 1, got {self.threads!r}")
        if not (0 <= self.mip_gap < 1):
            errors.append(f"mip_gap must be in [0, 1), got {self.mip_gap!r}")
        if not isinstance(self.max_rounds, int) or self.max_rounds < 1:
            errors.append(f"max_rounds must be a whole number >= 1, got {self.max_rounds!r}")
        if (
            not isinstance(self.partition_candidates, int)
            or isinstance(self.partition_candidates, bool)
            or self.partition_candidates < 0
        ):
            errors.append(
                "partition_candidates must be a whole number >= 0, got "
                f"{self.partition_candidates!r}"
            )
        if self.contiguity not in ("auto", "cuts", "flow"):
            errors.append(f"contiguity must be 'auto', 'cuts' or 'flow', got {self.contiguity!r}")
        errors += self._rule_contradictions()
        if errors:
            raise OptionError("Invalid solve options:\n  - " + "\n  - ".join(errors))

    def _normalised_objective(self, errors: list[str]) -> tuple[tuple[str, float], ...]:
        raw = self.objective
        pairs: list[tuple[str, float]] = []
        if isinstance(raw, str):
            pairs = [(raw, 1.0)]
        else:
            try:
                pairs = [(str(name), float(weight)) for name, weight in raw]
            except (TypeError, ValueError):
                errors.append(f"objective must be a name or (name, weight) pairs, got {raw!r}")
                return (("compact", 1.0),)
        if not pairs:
            errors.append("objective is empty; use 'compact', 'boundary' or 'disruption'")
        names = [name for name, _ in pairs]
        for name, weight in pairs:
            if name not in OBJECTIVES:
                errors.append(f"unknown objective {name!r}; use one of {', '.join(OBJECTIVES)}")
            if not (math.isfinite(weight) and weight > 0):
                errors.append(f"objective weight for {name!r} must be positive, got {weight}")
        if len(set(names)) != len(names):
            errors.append(f"objective names repeat: {names}")
        return tuple(pairs) or (("compact", 1.0),)

    def _rule_contradictions(self) -> list[str]:
        errors: list[str] = []
        excluded = set(self.excluded)
        labels: dict[str, str] = {}
        for item in self.fixed:
            if len(item) != 2:
                errors.append(f"fixed entries must be (practice code, label), got {item!r}")
                continue
            code, label = item
            if code in labels and labels[code] != label:
                errors.append(
                    f"practice {code} is fixed to two networks, {labels[code]!r} and "
                    f"{label!r}; keep one"
                )
            labels[code] = label
        for group in self.keep_together:
            for code in group:
                if code in excluded:
                    errors.append(
                        f"practice {code} is both excluded and in keep_together "
                        f"{tuple(group)}; remove one of the two"
                    )
        for code in labels:
            if code in excluded:
                errors.append(f"practice {code} is both excluded and fixed to {labels[code]!r}")
        for group in self.keep_apart:
            if len(set(group)) != len(group):
                errors.append(f"keep_apart group {tuple(group)} names a practice twice")
        together = _together_groups(self)
        find = {code: idx for idx, grp in enumerate(together) for code in grp}
        for group in self.keep_apart:
            seen: dict[int, str] = {}
            for code in group:
                if code in find:
                    g = find[code]
                    if g in seen:
                        errors.append(
                            f"practices {seen[g]} and {code} must be kept apart, but keep_together"
                            f"/fixed rules put them in the same network; change one of the rules"
                        )
                    seen[g] = code
        group_label: dict[int, str] = {}
        for code, label in labels.items():
            g = find[code]
            if g in group_label and group_label[g] != label:
                errors.append(
                    f"practice {code} is fixed to {label!r} but keep_together/fixed rules join it "
                    f"to practices fixed to {group_label[g]!r}; different labels mean different "
                    "networks"
                )
            group_label.setdefault(g, label)
        return errors


def _together_groups(options: SolveOptions) -> list[set[str]]:
    """Groups of codes that must share a network (keep_together and equal fixed labels)."""
    graph = nx.Graph()
    for group in options.keep_together:
        codes = list(group)
        graph.add_nodes_from(codes)
        graph.add_edges_from(itertools.pairwise(codes))
    by_label: dict[str, list[str]] = {}
    for code, label in options.fixed:
        by_label.setdefault(label, []).append(code)
    for codes in by_label.values():
        graph.add_nodes_from(codes)
        graph.add_edges_from(itertools.pairwise(codes))
    return [set(c) for c in sorted(nx.connected_components(graph), key=lambda c: sorted(c))]


@dataclass(frozen=True)
class PlaceSolution:
    """Networks designed for one place.

    Parameters
    ----------
    place_id
        The place.
    status
        One of :data:`STATUSES`.
    objective
        Objective value of the returned plan (the weighted sum, or the last term when
        lexicographic), recomputed from the plan; None for an empty place.
    bound
        Proven lower bound on the objective, or None when none is known (infeasible places,
        or solvers that do not report one).
    gap
        ``(objective - bound) / objective`` (0 when both are 0), or None.
    seconds
        Wall-clock time.
    labels
        Network index (0..k-1) per practice, -1 for excluded practices. Networks are
        numbered in order of their smallest practice code.
    hubs
        Per network, the member that minimises the patient-weighted distance to it.
    notes
        Per network: "" or the named exception.
    message
        A paragraph for commissioners: what was proved, and why a place is infeasible.
    solver
        Solver used.
    terms
        Value of every objective term, ``(name, value)``.
    names
        Per network: the ``fixed`` label it carries, or "".
    populations
        Per network: its population.
    method
        How the plan was found: the exact methods used, in words (e.g. "set partitioning"),
        or "rules only" when the exceptions decide the place alone.
    """

    place_id: str
    status: str
    objective: float | None
    bound: float | None
    gap: float | None
    seconds: float
    labels: tuple[int, ...]
    hubs: tuple[int, ...]
    notes: tuple[str, ...]
    message: str
    solver: str
    terms: tuple[tuple[str, float], ...] = ()
    names: tuple[str, ...] = ()
    populations: tuple[float, ...] = field(default=())
    method: str = ""


# --------------------------------------------------------------------------------------------
# Shared data for one solve
# --------------------------------------------------------------------------------------------


class _Place:
    """Arrays derived once from a PlaceGraph and the options."""

    def __init__(self, graph: PlaceGraph, options: SolveOptions) -> None:
        self.graph = graph
        self.options = options
        self.n = len(graph.codes)
        self.pop = np.asarray(graph.population, dtype=float)
        self.adj: list[set[int]] = [set() for _ in range(self.n)]
        self.length: dict[tuple[int, int], float] = {}
        for i, j, length in graph.edges:
            if i == j:
                continue
            self.adj[i].add(j)
            self.adj[j].add(i)
            key = (min(i, j), max(i, j))
            self.length[key] = self.length.get(key, 0.0) + float(length)
        if graph.distance is not None:
            self.dist = np.asarray(graph.distance, dtype=float)
        else:
            xs = np.asarray(graph.x, dtype=float)
            ys = np.asarray(graph.y, dtype=float)
            self.dist = np.hypot(xs[:, None] - xs[None, :], ys[:, None] - ys[None, :])
        # cost[i, j]: patients of i times distance to hub j
        power = self.dist**2 if options.squared else self.dist
        self.cost = self.pop[:, None] * power
        self.terms = tuple(name for name, _ in options.objective)  # type: ignore[misc]
        self.weights = dict(options.objective)  # type: ignore[arg-type]
        self.free_hub = "compact" in self.terms
        self.current = graph.current
        self.contiguity = options.contiguity
        if self.contiguity == "auto":
            self.contiguity = "flow" if "boundary" in self.terms else "cuts"

    def part_cost(self, part: Sequence[int]) -> float:
        """Heuristic part objective: weighted terms (boundary counted half per side)."""
        total = 0.0
        idx = list(part)
        for name in self.terms:
            w = 1.0 if self.options.lexicographic else self.weights[name]
            if self.options.lexicographic and name != self.terms[0]:
                w = 1e-6
            if name == "compact":
                total += w * float(self.cost[np.ix_(idx, idx)].sum(axis=0).min())
            elif name == "boundary":
                members = set(idx)
                total += (
                    w
                    * 0.5
                    * sum(
                        self.length[(min(u, v), max(u, v))]
                        for u in idx
                        for v in self.adj[u]
                        if v not in members
                    )
                )
            elif name == "disruption" and self.current is not None:
                counts: dict[str, float] = {}
                for i in idx:
                    c = self.current[i]
                    if c is not None:
                        counts[c] = counts.get(c, 0.0) + float(self.pop[i])
                total += w * (sum(counts.values()) - max(counts.values(), default=0.0))
        return total

    def hub_of(self, part: Sequence[int]) -> int:
        from pcnopt._hubs import hub_of

        return hub_of(part, self.cost)


def evaluate_partition(
    graph: PlaceGraph, labels: Sequence[int], *, squared: bool = False
) -> dict[str, float]:
    """Objective terms of a plan, computed independently of the solver.

    Parameters
    ----------
    graph
        The place.
    labels
        Network index per practice (-1 for unassigned).
    squared
        Use squared distances for ``compact``.

    Returns
    -------
    dict
        ``compact`` (to each network's best hub), ``boundary`` (border length between different
        networks), ``disruption`` (patients not continuing with their current network under the
        best one-to-one matching of new to current networks; 0 without ``current``) and
        ``count``.
    """
    n = len(graph.codes)
    pop = np.asarray(graph.population, dtype=float)
    if graph.distance is not None:
        dist = np.asarray(graph.distance, dtype=float)
    else:
        xs, ys = np.asarray(graph.x, dtype=float), np.asarray(graph.y, dtype=float)
        dist = np.hypot(xs[:, None] - xs[None, :], ys[:, None] - ys[None, :])
    power = dist**2 if squared else dist
    parts: dict[int, list[int]] = {}
    for i in range(n):
        if labels[i] >= 0:
            parts.setdefault(int(labels[i]), []).append(i)
    compact = 0.0
    for members in parts.values():
        sub = pop[members][:, None] * power[np.ix_(members, members)]
        compact += float(sub.sum(axis=0).min())
    boundary = 0.0
    for i, j, length in graph.edges:
        if labels[i] >= 0 and labels[j] >= 0 and labels[i] != labels[j]:
            boundary += float(length)
    disruption = 0.0
    if graph.current is not None:
        overlap: dict[tuple[int, str], float] = {}
        with_current = 0.0
        for i in range(n):
            c = graph.current[i]
            if c is None or labels[i] < 0:
                continue
            with_current += float(pop[i])
            key = (int(labels[i]), c)
            overlap[key] = overlap.get(key, 0.0) + float(pop[i])
        bip = nx.Graph()
        for (part, cur), weight in sorted(overlap.items()):
            bip.add_edge(("new", part), ("cur", cur), weight=weight)
        matching = nx.max_weight_matching(bip)
        kept = sum(bip.edges[a, b]["weight"] for a, b in matching)
        disruption = with_current - kept
    return {
        "compact": compact,
        "boundary": boundary,
        "disruption": disruption,
        "count": float(len(parts)),
    }


# --------------------------------------------------------------------------------------------
# Model building: one helper per constraint family
# --------------------------------------------------------------------------------------------


def _reach(place: _Place, src: int, cap: float, allowed: set[int]) -> dict[int, float]:
    """Node-weighted shortest path population from ``src`` (both ends counted) up to ``cap``."""
    import heapq

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


class _Model:
    """The Hess model of one block (a set of components solved together)."""

    def __init__(
        self,
        place: _Place,
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
            reach = _reach(place, j, opts.max_size, allowed)
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
            for comp in _components(member_set, adj):
                if j in comp:
                    continue
                boundary = {k for v in comp for k in adj[v] if k in reach and k not in comp}
                # component of the hub once the boundary is removed
                side = _component_of(j, set(reach) - boundary - comp, adj)
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
        labels = sorted({current[i] for i in self.nodes if current[i] is not None})
        label_id = {c: r for r, c in enumerate(labels)}
        for j in self.hubs:
            here = sorted({current[i] for i in self.reach[j] if current[i] is not None})
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
        total = 0.0
        for (i, j), var in self.x.items():
            c = current[i]
            if c is None:
                continue
            w = pulp.LpVariable(f"w_{i}_{j}", lowBound=0, upBound=1)
            self.w[i, j] = w
            self.prob += (w <= var, f"wx_{i}_{j}")
            self.prob += (w <= self.z[j, c], f"wz_{i}_{j}")
            kept.append(float(place.pop[i]) * w)
        total = sum(float(place.pop[i]) for i in self.nodes if current[i] is not None)
        return total - pulp.lpSum(kept)

    # --- solutions --------------------------------------------------------------------------
    def parts_from(self, values: dict[str, float]) -> dict[int, list[int]]:
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
            by_hub: dict[int, list[int]] = {}
            for i, h in label.items():
                by_hub.setdefault(h, []).append(i)
            bip = nx.Graph()
            for h, members in sorted(by_hub.items()):
                counts: dict[str, float] = {}
                for i in members:
                    c = place.current[i]
                    if c is not None:
                        counts[c] = counts.get(c, 0.0) + float(place.pop[i])
                for c, weight in sorted(counts.items()):
                    bip.add_edge(("h", h), ("c", c), weight=weight)
            chosen = {}
            for a, b in nx.max_weight_matching(bip):
                (ha, hb) = (a, b) if a[0] == "h" else (b, a)
                chosen[ha[1]] = hb[1]
            for (j, c), z in self.z.items():
                values[z.name] = 1.0 if chosen.get(j) == c else 0.0
            for (i, j), w in self.w.items():
                ok = label.get(i) == j and chosen.get(j) == place.current[i]
                values[w.name] = 1.0 if ok else 0.0
        return values


def _components(members: set[int], adj: Sequence[set[int]]) -> list[set[int]]:
    left = set(members)
    out = []
    while left:
        start = min(left)
        comp = _component_of(start, members, adj)
        out.append(comp)
        left -= comp
    return out


def _component_of(start: int, allowed: set[int], adj: Sequence[set[int]]) -> set[int]:
    seen = {start}
    stack = [start]
    while stack:
        u = stack.pop()
        for v in adj[u]:
            if v in allowed and v not in seen:
                seen.add(v)
                stack.append(v)
    return seen


# --------------------------------------------------------------------------------------------
# Solving
# --------------------------------------------------------------------------------------------


@dataclass
class _Block:
    """Outcome of one block (connected components optimised together)."""

    parts: list[list[int]]
    status: str  # optimal | feasible | infeasible | unknown | trivial | below_minimum
    abs_gap: float | None  # objective minus proven bound for the last stage (None: unknown)
    notes: dict[int, str]  # part position -> note
    reason: str = ""
    rounds: int = 0
    cuts: int = 0
    candidates: int = 0  # > 0: solved by set partitioning over this many candidates
    method: str = ""  # PARTITION, HESS, HEURISTIC or FALLBACK ("" when the rules decide alone)


def _fmt(value: float) -> str:
    return f"{value:,.0f}"


def _k_range(total: float, lo: float, hi: float) -> tuple[int, int]:
    k_min = max(1, math.ceil(total / hi - 1e-9))
    k_max = math.floor(total / lo + 1e-9) if lo > 0 else 10**9
    return k_min, k_max


def _arith_reason(total: float, count: int, lo: float, hi: float) -> str:
    k_min = max(1, math.ceil(total / hi - 1e-9))
    below = k_min - 1
    parts = []
    if below >= 1:
        parts.append(
            f"{below} network{'s' if below > 1 else ''} would hold more than "
            f"{_fmt(hi)} patients each on average"
        )
    parts.append(f"{k_min} networks would need at least {_fmt(k_min * lo)}")
    return (
        f"The {count} practice{'s' if count > 1 else ''} connected here have "
        f"{_fmt(total)} patients in total: {' and '.join(parts)}, so no split fits "
        f"{_fmt(lo)}-{_fmt(hi)}."
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
    place = _Place(graph, options)
    n = place.n
    index = {code: i for i, code in enumerate(graph.codes)}
    _check_codes(options, index, graph.place_id)
    if "disruption" in place.terms and graph.current is None:
        raise OptionError(
            f"place {graph.place_id}: the disruption objective needs the current "
            "PCN of each practice (PlaceGraph.current)"
        )
    excluded = {index[c] for c in options.excluded}
    groups = [sorted(index[c] for c in g) for g in _together_groups(options)]
    fixed_label = {index[c]: label for c, label in options.fixed}
    together = [(g[0], v) for g in groups for v in g[1:]]
    apart = _apart_pairs(options, index, groups)
    lo, hi = options.min_size, options.max_size

    active = [i for i in range(n) if i not in excluded]
    big = [i for i in active if place.pop[i] > hi]
    grouped = {v for g in groups for v in g if len(g) > 1}
    for i in big:
        if i in grouped:
            raise OptionError(
                f"place {graph.place_id}: practice {graph.codes[i]} has "
                f"{_fmt(place.pop[i])} patients (above {_fmt(hi)}) and is a network on its own, "
                "but keep_together/fixed rules join it to other practices; remove that rule"
            )
    rest = set(active) - set(big)
    comps = sorted((sorted(c) for c in _components(rest, place.adj)), key=lambda c: c[0])
    comp_of = {v: r for r, c in enumerate(comps) for v in c}
    for a, b in together:
        if comp_of.get(a) != comp_of.get(b):
            raise OptionError(
                f"place {graph.place_id}: practices {graph.codes[a]} and {graph.codes[b]} must "
                "share a network, but no chain of neighbouring practices joins them in this "
                "place (after exclusions); a network must be contiguous, so drop that rule"
            )

    parts: list[list[int]] = [[i] for i in big]
    notes: list[str] = [f"single practice above {_fmt(hi)}: own PCN" for _ in big]
    reasons: list[str] = []
    statuses: list[str] = ["trivial"] * len(big)
    abs_gaps: list[float | None] = [0.0] * len(big)
    total_rounds = 0
    total_cuts = 0
    candidates = 0
    methods: set[str] = set()

    model_comps: list[list[int]] = []
    for comp in comps:
        total = float(place.pop[comp].sum())
        k_min, k_max = _k_range(total, lo, hi)
        if total < lo:
            parts.append(comp)
            note = (
                "below minimum, approved by commissioner"
                if options.approved_small
                else "below minimum, needs commissioner approval"
            )
            notes.append(note)
            statuses.append("below_minimum")
            abs_gaps.append(0.0)
            reasons.append(
                f"{len(comp)} practice{'s' if len(comp) > 1 else ''} ("
                f"{', '.join(graph.codes[v] for v in comp[:6])}{'...' if len(comp) > 6 else ''})"
                f" form an island of {_fmt(total)} patients, below {_fmt(lo)}: one network, "
                "which needs commissioner approval."
            )
            continue
        if k_min > k_max:
            block = _fallback(
                place,
                comp,
                together,
                apart,
                deadline,
                reason=_arith_reason(total, len(comp), lo, hi),
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
            place, nodes, k_lo=k_lo, k_hi=k_hi, together=together, apart=apart, deadline=share
        )
        total_rounds += block.rounds
        total_cuts += block.cuts
        candidates += block.candidates
        if block.method:
            methods.add(block.method)
        _collect(block, parts, notes, statuses, abs_gaps, reasons)

    return _assemble(
        place,
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


def _check_codes(options: SolveOptions, index: dict[str, int], place_id: str) -> None:
    named = [c for g in options.keep_together for c in g]
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


def _current_spans(place: _Place, comps: list[list[int]]) -> bool:
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
    block: _Block,
    parts: list[list[int]],
    notes: list[str],
    statuses: list[str],
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


def _heuristic(
    place: _Place,
    nodes: list[int],
    *,
    k_lo: int,
    k_hi: int,
    together: Sequence[tuple[int, int]],
    apart: Sequence[tuple[int, int]],
    lower_weight: float = 1.0,
    upper_weight: float = 1.0,
    deadline: float | None = None,
) -> heur.HeuristicResult:
    opts = place.options
    total = float(place.pop[nodes].sum())
    target = total / ((opts.min_size + opts.max_size) / 2)
    ks = list(range(max(1, k_lo), min(len(nodes), k_hi) + 1))
    if not ks:
        ks = [max(1, min(len(nodes), round(target)))]
    if opts.n_pcns == "fewest" or "compact" not in place.terms:
        ks = ks[:3]  # boundary and disruption favour few networks
    elif len(place.terms) == 1 or (opts.lexicographic and place.terms[0] == "compact"):
        # distance to the hub favours many networks, but the band rarely allows k_max:
        # optima have networks a quarter of the way up the band on average
        aim = total / (opts.min_size + 0.25 * (opts.max_size - opts.min_size))
        ks = sorted(ks, key=lambda k: (abs(k - aim), -k))[:3]
    else:
        ks = sorted(ks, key=lambda k: (abs(k - target), k))[:3]
    block = set(nodes)
    tog = [(a, b) for a, b in together if a in block and b in block]
    apt = [(a, b) for a, b in apart if a in block and b in block]
    starts = 3 if len(nodes) <= 60 else 2 if len(nodes) <= 120 else 1
    if len(nodes) > 120:
        ks = ks[:2]
    return heur.grow_and_improve(
        nodes=nodes,
        adj=place.adj,
        pop=place.pop,
        dist=place.dist,
        min_size=opts.min_size,
        max_size=opts.max_size,
        k_values=sorted(ks),
        part_cost=place.part_cost,
        together=tog,
        apart=apt,
        lower_weight=lower_weight,
        upper_weight=upper_weight,
        starts=starts,
        seed=0,
        deadline=deadline,
    )


def _fallback(
    place: _Place,
    nodes: list[int],
    together: Sequence[tuple[int, int]],
    apart: Sequence[tuple[int, int]],
    deadline: float | None,
    *,
    reason: str,
    proved: bool,
    found: heur.HeuristicResult | None = None,
) -> _Block:
    """Least-violation contiguous plan for a block where the band cannot be met.

    ``found`` is a heuristic result already computed with equal weights on shortfall and
    excess; it is reused (no second search after a time limit) unless ``approved_small``.
    """
    opts = place.options
    lo, hi = opts.min_size, opts.max_size
    total = float(place.pop[nodes].sum())
    k_a = max(1, math.floor(total / hi))
    k_b = max(1, math.ceil(total / lo)) if lo > 0 else k_a
    small_ok = opts.approved_small
    if found is None or small_ok:
        found = _heuristic(
            place,
            nodes,
            k_lo=min(k_a, k_b),
            k_hi=max(k_a, k_b) + 1,
            together=together,
            apart=apart,
            lower_weight=1.0,
            upper_weight=1000.0 if small_ok else 1.0,
        )
    notes: dict[int, str] = {}
    parts = [list(p) for p in found.parts]
    for pos, part in enumerate(parts):
        size = float(place.pop[part].sum())
        short, over = max(0.0, lo - size), max(0.0, size - hi)
        if small_ok and short > 0:
            notes[pos] = "below minimum, approved by commissioner"
        elif short > 0 or over > 0:
            notes[pos] = f"fallback: size violation {_fmt(short + over)}"
    if small_ok:
        status = "below_minimum"
        reason = reason + (
            " The commissioner has approved networks below the minimum here,"
            " so the plan with the smallest shortfall is returned."
        )
    else:
        status = "infeasible" if proved else "unknown"
        viol = sum(
            max(0.0, lo - float(place.pop[p].sum())) + max(0.0, float(place.pop[p].sum()) - hi)
            for p in parts
        )
        reason = reason + (
            f" Fallback shown: {len(parts)} contiguous network"
            f"{'s' if len(parts) > 1 else ''} with the least size violation "
            f"found ({_fmt(viol)} patients outside the band in total)."
        )
    return _Block(
        parts=parts, status=status, abs_gap=None, notes=notes, reason=reason, method=FALLBACK
    )


def _solve_block(
    place: _Place,
    nodes: list[int],
    *,
    k_lo: int,
    k_hi: int,
    together: Sequence[tuple[int, int]],
    apart: Sequence[tuple[int, int]],
    deadline: float | None,
) -> _Block:
    opts = place.options
    lo, hi = opts.min_size, opts.max_size
    comps = _components(set(nodes), place.adj)
    total = float(place.pop[nodes].sum())
    sum_min = sum(_k_range(float(place.pop[sorted(c)].sum()), lo, hi)[0] for c in comps)
    sum_max = sum(_k_range(float(place.pop[sorted(c)].sum()), lo, hi)[1] for c in comps)
    k_lo, k_hi = max(k_lo, sum_min), min(k_hi, sum_max)
    if k_lo > k_hi:
        top = min(sum_max, len(nodes))
        span = f"exactly {sum_min}" if sum_min == top else f"between {sum_min} and {top}"
        why = (
            f"The {len(nodes)} practices ({_fmt(total)} patients) need {span} "
            f"network{'s' if top > 1 else ''} to fit {_fmt(lo)}-{_fmt(hi)}, which the "
            "required number of networks rules out."
        )
        return _fallback(place, nodes, together, apart, deadline, reason=why, proved=True)
    if len(nodes) == 1:
        return _Block(parts=[list(nodes)], status="trivial", abs_gap=0.0, notes={})

    found = _heuristic(
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
        plan = _repair_by_subproblems(place, found.parts, together, apart, deadline)
        return plan if plan is not None and k_lo <= len(plan) <= k_hi else None

    stages = _stages(place)
    exact = _partition_block(
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
        return exact
    incumbent = incumbent or repaired()
    if incumbent is not None:
        free_count = opts.n_pcns is None and opts.min_pcns is None and opts.max_pcns is None
        if place.terms == ("compact",) and free_count and len(incumbent) > 3:
            incumbent = _improve_by_subproblems(place, incumbent, together, apart, deadline)
    if incumbent is not None and deadline is not None and time.perf_counter() > deadline:
        # building the model of a large place takes seconds: with no time left, the plan
        # in hand is the answer (in band, contiguous, every rule kept; gap unknown)
        return _Block(
            parts=[sorted(p) for p in incumbent],
            status="feasible",
            abs_gap=None,
            notes={},
            method=HEURISTIC,
        )
    cutoff = None
    if incumbent is not None and place.terms == ("compact",) and len(stages) == 1:
        cutoff = sum(place.part_cost(p) for p in incumbent)
    model = _Model(
        place, nodes, k_lo=k_lo, k_hi=k_hi, together=together, apart=apart, upper_cutoff=cutoff
    )
    rounds = 0

    def solve(stage: list[tuple[str, float]], start: list[list[int]] | None) -> _Stage:
        nonlocal rounds
        model.prob.setObjective(pulp.lpSum(w * model.expr[name] for name, w in stage))
        kind, plan, bound, used = _rounds(model, start, deadline=deadline)
        rounds += used
        value = None if plan is None else _stage_value(place, model, stage, plan)
        return _Stage(kind, plan, value, bound)

    def fix(s: int, stage: list[tuple[str, float]], limit: float) -> None:
        model.prob += (pulp.lpSum(w * model.expr[name] for name, w in stage) <= limit, f"stage{s}")

    block = _run_stages(
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
    return block


@dataclass(frozen=True)
class _Stage:
    """One objective stage solved: kind optimal | feasible | infeasible | none."""

    kind: str
    plan: Any
    value: float | None
    bound: float | None


def _run_stages(
    place: _Place,
    nodes: list[int],
    stages: list[list[tuple[str, float]]],
    solve: Callable[[list[tuple[str, float]], Any], _Stage],
    fix: Callable[[int, list[tuple[str, float]], float], None],
    *,
    start: Any,
    together: Sequence[tuple[int, int]],
    apart: Sequence[tuple[int, int]],
    deadline: float | None,
    found: heur.HeuristicResult,
    method: str,
    parts: Callable[[Any], list[list[int]]] = lambda plan: plan,
    candidates: int = 0,
) -> _Block:
    """Solve the objective stages in order with one method (set partitioning or Hess).

    Each stage is solved by ``solve(stage, start)``, warm-started with the previous stage's
    plan; ``fix`` then holds that stage's objective at its value (plus a relative 1e-6, none
    for the count) for the later stages. A proof of infeasibility, or no plan by the deadline,
    goes to :func:`_fallback` with the reason. The gap is that of the last stage.
    """
    opts = place.options
    best = start
    status = "optimal"
    abs_gap: float | None = 0.0
    for s, stage in enumerate(stages):
        result = solve(stage, best)
        if result.kind == "infeasible":
            why = _infeasible_reason(place, nodes)
            return _fallback(place, nodes, together, apart, deadline, reason=why, proved=True)
        if result.plan is None or result.value is None:
            why = _no_plan_reason(place, nodes)
            return _fallback(
                place, nodes, together, apart, deadline, reason=why, proved=False, found=found
            )
        best = result.plan
        if result.kind != "optimal":
            status = "feasible"
        if s < len(stages) - 1:
            slack = 1e-6 * max(1.0, abs(result.value)) if stage[0][0] != "count" else 0.0
            fix(s, stage, result.value + slack)
        elif result.bound is None:
            abs_gap = None
        elif result.kind == "optimal" and opts.mip_gap == 0:
            abs_gap = 0.0  # proven: what is left is the solver's tolerance
        else:
            abs_gap = max(0.0, result.value - result.bound)
    return _Block(
        parts=[sorted(p) for p in parts(best)],
        status=status,
        abs_gap=abs_gap,
        notes={},
        candidates=candidates,
        method=method,
    )


def _stages(place: _Place) -> list[list[tuple[str, float]]]:
    """Objective stages in order: fewest networks first if asked, then the terms."""
    opts = place.options
    stages: list[list[tuple[str, float]]] = []
    if opts.n_pcns == "fewest":
        stages.append([("count", 1.0)])
    if opts.lexicographic:
        stages += [[(name, 1.0)] for name in place.terms]
    else:
        stages.append([(name, place.weights[name]) for name in place.terms])
    return stages


def _infeasible_reason(place: _Place, nodes: list[int]) -> str:
    opts = place.options
    total = float(place.pop[nodes].sum())
    return (
        f"The {len(nodes)} practices ({_fmt(total)} patients; first "
        f"{place.graph.codes[nodes[0]]}) cannot be split into contiguous networks of "
        f"{_fmt(opts.min_size)}-{_fmt(opts.max_size)} patients that respect the rules: the "
        "solver proved that no such plan exists (every split that fits the band leaves some "
        "network in pieces)."
    )


def _no_plan_reason(place: _Place, nodes: list[int]) -> str:
    return (
        f"The time limit ran out before the solver found a contiguous plan for the "
        f"{len(nodes)} practices (first {place.graph.codes[nodes[0]]}) or proved none exists."
    )


def _partition_block(
    place: _Place,
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
) -> _Block | None:
    """Solve a block exactly by set partitioning over every candidate network.

    Returns None (the Hess model is used instead) when an objective term is not separable by
    network (disruption) or the block has more than ``max_candidates`` candidate networks
    and cannot be priced (see :func:`_priced_block`, which needs a starting plan: the
    heuristic's, or ``repaired()``).
    """
    opts = place.options
    if "disruption" in place.terms or opts.partition_candidates == 0:
        return None
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
        max_candidates=opts.partition_candidates,
    )
    if cands is None:
        single = stages == [[("compact", place.weights.get("compact", 0.0))]]
        if not single or len(nodes) > setpart.MAX_PRICED_PRACTICES:
            return None
        incumbent = incumbent or repaired()
        if incumbent is None:
            return None
        return _priced_block(
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

    def solve(stage: list[tuple[str, float]], start: list[int] | None) -> _Stage:
        cost = stage_cost(stage)
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
            integral=stage == [("count", 1.0)],
        )
        return _Stage(res.kind, res.plan, res.value, res.bound)

    def fix(s: int, stage: list[tuple[str, float]], limit: float) -> None:
        limits.append((stage_cost(stage), limit))

    return _run_stages(
        place,
        nodes,
        stages,
        solve,
        fix,
        start=setpart.locate(cands, incumbent) if incumbent is not None else None,
        together=together,
        apart=apart,
        deadline=deadline,
        found=found,
        method=PARTITION,
        parts=lambda plan: [cands.part(c) for c in plan],
        candidates=cands.count,
    )


def _priced_block(
    place: _Place,
    nodes: list[int],
    *,
    k_lo: int,
    k_hi: int,
    together: Sequence[tuple[int, int]],
    apart: Sequence[tuple[int, int]],
    incumbent: list[list[int]],
    deadline: float | None,
) -> _Block:
    """Set partitioning for the compact objective with candidates priced on demand."""
    opts = place.options
    res, cands = setpart.solve_priced(
        adj=place.adj,
        length=place.length,
        pop=place.pop,
        cost=place.cost,
        nodes=nodes,
        lo=opts.min_size,
        hi=opts.max_size,
        together=together,
        apart=apart,
        k_lo=k_lo,
        k_hi=k_hi,
        start_parts=incumbent,
        solver=opts.solver,
        threads=opts.threads,
        mip_gap=opts.mip_gap,
        deadline=deadline,
    )
    assert res.plan is not None and res.value is not None  # the incumbent is always kept
    weight = place.weights["compact"]
    return _Block(
        parts=[cands.part(c) for c in res.plan],
        status="optimal" if res.kind == "optimal" else "feasible",
        abs_gap=None if res.bound is None else weight * max(0.0, res.value - res.bound),
        notes={},
        candidates=cands.count,
        method=PARTITION,
    )


def _improve_by_subproblems(
    place: _Place,
    parts: list[list[int]],
    together: Sequence[tuple[int, int]],
    apart: Sequence[tuple[int, int]],
    deadline: float | None,
) -> list[list[int]]:
    """Large-neighbourhood search: re-solve each network with its neighbours exactly.

    One pass over the networks (in order of their smallest practice): the union of a network
    and the networks bordering it is re-partitioned by the same integer program (free count,
    warm-started with the current plan), and the result kept if it is cheaper. Used for the
    compact objective, whose optimum is local; it gives the main solve a far better incumbent.
    At most a third of the remaining time is spent here.
    """
    opts = place.options
    budget = None
    if deadline is not None:
        budget = time.perf_counter() + (deadline - time.perf_counter()) / 3
    parts = [sorted(p) for p in parts]
    order = sorted(range(len(parts)), key=lambda r: parts[r][0])
    pair_rules = [(a, b) for a, b in together] + [(a, b) for a, b in apart]
    for r in order:
        if budget is not None and time.perf_counter() > budget - 1.0:
            break
        label = {v: q for q, part in enumerate(parts) for v in part}
        if r >= len(parts):
            break
        group = {r} | {label[w] for v in parts[r] for w in place.adj[v] if w in label}
        group_list = sorted(group, key=lambda q: (float(place.dist[parts[r][0], parts[q][0]]), q))
        chosen: list[int] = []
        for q in group_list:
            if sum(len(parts[c]) for c in chosen) + len(parts[q]) <= 20:
                chosen.append(q)
        if len(chosen) < 2:
            continue
        sub = sorted(v for q in chosen for v in parts[q])
        members = set(sub)
        if any((a in members) != (b in members) for a, b in pair_rules):
            continue
        total = float(place.pop[sub].sum())
        k_lo, k_hi = _k_range(total, opts.min_size, opts.max_size)
        old_parts = [parts[q] for q in chosen]
        old_cost = sum(place.part_cost(p) for p in old_parts)
        tog = [(a, b) for a, b in together if a in members]
        apt = [(a, b) for a, b in apart if a in members]
        model = _Model(
            place,
            sub,
            k_lo=k_lo,
            k_hi=min(k_hi, len(sub)),
            together=tog,
            apart=apt,
            upper_cutoff=None,
        )
        if model.start_values(old_parts) is None:
            continue
        model.prob.setObjective(model.expr["compact"])
        stop = time.perf_counter() + 10.0
        if budget is not None:
            stop = min(stop, budget)
        kind, plan, _, _ = _rounds(model, old_parts, deadline=stop)
        if plan is None or kind == "infeasible":
            continue
        new_cost = sum(place.part_cost(p) for p in plan)
        if new_cost < old_cost * (1 - 1e-9):
            keep = [p for q, p in enumerate(parts) if q not in chosen]
            parts = sorted((sorted(p) for p in keep + plan), key=lambda p: p[0])
    return parts


#: Practices in one repair subproblem: first try, and the most it grows to.
REPAIR_PRACTICES = (16, 80)


def _repair_by_subproblems(
    place: _Place,
    parts: Sequence[Sequence[int]],
    together: Sequence[tuple[int, int]],
    apart: Sequence[tuple[int, int]],
    deadline: float | None,
) -> list[list[int]] | None:
    """Make a plan with networks outside the band fit it, one neighbourhood at a time.

    For large places where neither the heuristic nor the integer program finds an in-band
    plan quickly: the heuristic's least-violation plan is mostly right, with a few networks
    too small or too large. Each of those, with the networks around it (nearest first, whole
    networks only, up to ``REPAIR_PRACTICES`` practices, more if that has no solution), is
    re-partitioned exactly by set partitioning over every candidate network of the
    neighbourhood. Returns an in-band plan that keeps every rule, or None (time ran out, or a
    network cannot be mended locally). At most a third of the remaining time is spent here.
    """
    opts = place.options
    lo, hi = opts.min_size, opts.max_size
    budget = None
    if deadline is not None:
        budget = time.perf_counter() + (deadline - time.perf_counter()) / 3
    pair_rules = [(a, b) for a, b in together] + [(a, b) for a, b in apart]
    plan = [sorted(p) for p in parts]

    def misfit(part: list[int]) -> float:
        size = float(place.pop[part].sum())
        return max(0.0, lo - size) + max(0.0, size - hi)

    stuck: set[tuple[int, ...]] = set()
    while True:
        bad = [q for q, p in enumerate(plan) if misfit(p) > 0 and tuple(p) not in stuck]
        if not bad:
            break
        if budget is not None and time.perf_counter() > budget:
            return None
        r = max(bad, key=lambda q: (misfit(plan[q]), -plan[q][0]))
        label = {v: q for q, part in enumerate(plan) for v in part}
        near = {  # how close each network comes to the misfit: its nearest pair of practices
            q: (float(place.dist[np.ix_(plan[r], p)].min()), q) for q, p in enumerate(plan)
        }
        mended = None
        for cap in range(REPAIR_PRACTICES[0], REPAIR_PRACTICES[1] + 1, 8):
            chosen = [r]
            frontier = {label[w] for v in plan[r] for w in place.adj[v] if w in label} - {r}
            while frontier:  # nearest neighbouring network that still fits under the cap
                q = min(frontier, key=near.__getitem__)
                frontier.discard(q)
                if sum(len(plan[c]) for c in chosen) + len(plan[q]) > cap:
                    continue
                chosen.append(q)
                frontier |= {label[w] for v in plan[q] for w in place.adj[v] if w in label} - set(
                    chosen
                )
            sub = sorted(v for q in chosen for v in plan[q])
            members = set(sub)
            if any((a in members) != (b in members) for a, b in pair_rules):
                continue
            k_lo, k_hi = _k_range(float(place.pop[sub].sum()), lo, hi)
            if k_lo > k_hi:
                continue
            cands = setpart.candidates_for(
                adj=place.adj,
                length=place.length,
                pop=place.pop,
                cost=place.cost,
                nodes=sub,
                lo=lo,
                hi=hi,
                together=[(a, b) for a, b in together if a in members],
                apart=[(a, b) for a, b in apart if a in members],
                terms=("compact",),
                max_candidates=1_000_000,
            )
            if cands is None or cands.count == 0:
                continue
            stop = (
                time.perf_counter() + 10.0
                if budget is None
                else min(budget, time.perf_counter() + 10.0)
            )
            res = setpart.solve_stage(
                cands,
                nodes=sub,
                cost=cands.costs["compact"],
                k_lo=k_lo,
                k_hi=k_hi,
                limits=[],
                start=None,
                solver=opts.solver,
                threads=opts.threads,
                mip_gap=0.01,
                deadline=stop,
            )
            if res.plan is not None:
                mended = [cands.part(c) for c in res.plan]
                break
            if res.kind != "infeasible":
                break  # out of time for this neighbourhood
        if mended is None:
            stuck.add(tuple(plan[r]))
            continue
        keep = [p for q, p in enumerate(plan) if q not in chosen]
        plan = sorted((sorted(p) for p in keep + mended), key=lambda p: p[0])
    if any(misfit(p) > 0 for p in plan):
        return None
    return plan


def _stage_value(
    place: _Place, model: _Model, stage: list[tuple[str, float]], plan: list[list[int]]
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


def _rounds(
    model: _Model, incumbent: list[list[int]] | None, *, deadline: float | None
) -> tuple[str, list[list[int]] | None, float | None, int]:
    """Solve, add separator cuts for disconnected networks, and solve again.

    Returns (kind, plan, bound, rounds) with kind optimal | feasible | infeasible | none.
    """
    opts = model.place.options
    bound: float | None = None
    best = incumbent
    best_value = None
    rounds = 0
    kind = "none"
    while rounds < opts.max_rounds:
        remaining = None if deadline is None else deadline - time.perf_counter()
        if remaining is not None and remaining < 0.5:
            break
        warm = model.start_values(best) if best is not None else None
        res = slv.run(
            model.prob,
            solver=opts.solver,
            # leave room for writing the model and reading the answer, and for CBC's overrun
            time_limit=None if remaining is None else max(0.5, 0.9 * remaining - 1.0),
            threads=opts.threads,
            mip_gap=opts.mip_gap,
            warm_start=warm,
        )
        rounds += 1
        if res.status == "infeasible":
            return "infeasible", None, None, rounds
        if res.bound is not None:
            bound = res.bound if bound is None else max(bound, res.bound)
        if res.status == "no_solution":
            break
        parts = model.parts_from(res.values)
        if model.add_separator_cuts(parts) == 0:
            plan = [sorted(m) for _, m in sorted(parts.items())]
            best, best_value = plan, res.objective
            kind = res.status
            break
        # disconnected: keep looping with the new cuts
    if kind in ("optimal", "feasible"):
        return (
            kind,
            best,
            bound if kind == "feasible" else (bound if opts.mip_gap > 0 else best_value),
            rounds,
        )
    if best is not None:
        return "feasible", best, bound, rounds
    return "none", None, bound, rounds


def _assemble(
    place: _Place,
    parts: list[list[int]],
    notes: list[str],
    statuses: list[str],
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
    graph = place.graph
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
            status="empty",
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
    if opts.lexicographic:
        objective = values[place.terms[-1]]
    else:
        objective = sum(place.weights[name] * values[name] for name in place.terms)
    uniq = set(statuses)
    if "infeasible" in uniq:
        status = "infeasible"
    elif "unknown" in uniq:
        status = "unknown"
    elif "feasible" in uniq:
        status = "feasible"
    elif "below_minimum" in uniq:
        status = "below_minimum"
    elif uniq <= {"trivial"}:
        status = "trivial"
    else:
        status = "optimal"
    bound: float | None = None
    gap: float | None = None
    if status not in ("infeasible", "unknown") and all(g is not None for g in abs_gaps):
        bound = objective - sum(g for g in abs_gaps if g is not None)
        gap = 0.0 if abs(objective) < 1e-9 else max(0.0, (objective - bound) / abs(objective))
    summary = {
        "optimal": "Proved optimal",
        "below_minimum": "Proved optimal, with networks below the minimum size",
        "feasible": "Time limit reached; best plan found",
        "infeasible": "No plan meets the rules",
        "unknown": "Time limit reached before a plan was found",
        "trivial": "Decided by the rules alone",
    }[status]
    k = len(parts)
    text = (
        f"{summary}: {k} network{'s' if k > 1 else ''} for {sum(1 for v in labels if v >= 0)}"
        f" practices in {graph.place_id}"
    )
    if gap is not None and status == "feasible":
        text += f" (within {gap:.1%} of the best possible)"
    text += "."
    if excluded:
        text += f" {len(excluded)} practice{'s' if len(excluded) > 1 else ''} left out as asked."
    big = sum(1 for note in notes if note.startswith("single practice"))
    if big:
        text += f" {big} practice{'s' if big > 1 else ''} above {_fmt(opts.max_size)} " + (
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
