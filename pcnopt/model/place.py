"""Arrays derived once per solve, and the small records the methods pass around."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from pcnopt.model.hubs import hub_of
from pcnopt.model.solvers import Status
from pcnopt.model.types import PlaceGraph, SolveOptions


class Place:
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
        return hub_of(part, self.cost)


def components(members: set[int], adj: Sequence[set[int]]) -> list[set[int]]:
    left = set(members)
    out = []
    while left:
        start = min(left)
        comp = component_of(start, members, adj)
        out.append(comp)
        left -= comp
    return out


def component_of(start: int, allowed: set[int], adj: Sequence[set[int]]) -> set[int]:
    seen = {start}
    stack = [start]
    while stack:
        u = stack.pop()
        for v in adj[u]:
            if v in allowed and v not in seen:
                seen.add(v)
                stack.append(v)
    return seen


@dataclass
class Block:
    """Outcome of one block (connected components optimised together)."""

    parts: list[list[int]]
    status: Status  # OPTIMAL, FEASIBLE, INFEASIBLE, UNKNOWN, TRIVIAL or BELOW_MINIMUM
    abs_gap: float | None  # objective minus proven bound for the last stage (None: unknown)
    notes: dict[int, str]  # part position -> note
    reason: str = ""
    rounds: int = 0
    cuts: int = 0
    candidates: int = 0  # > 0: solved by set partitioning over this many candidates
    method: str = ""  # PARTITION, HESS, HEURISTIC or FALLBACK ("" when the rules decide alone)


def fmt(value: float) -> str:
    return f"{value:,.0f}"


def k_range(total: float, lo: float, hi: float) -> tuple[int, int]:
    k_min = max(1, math.ceil(total / hi - 1e-9))
    k_max = math.floor(total / lo + 1e-9) if lo > 0 else 10**9
    return k_min, k_max


@dataclass(frozen=True)
class Stage:
    """One objective stage solved: kind OPTIMAL, FEASIBLE, INFEASIBLE or NO_SOLUTION."""

    kind: Status
    plan: Any
    value: float | None
    bound: float | None
