"""Arrays derived once per solve, and the small records the methods pass around."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from pcnopt.model.hubs import hub_of
from pcnopt.model.objectives import (
    distances,
    heuristic_weights,
    network_cost,
    objective_pairs,
    patient_cost,
)
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
        self.dist = distances(graph)
        # cost[i, j]: patients of i times distance to hub j
        self.cost = patient_cost(self.pop, self.dist, squared=options.squared)
        self.terms = tuple(name for name, _ in objective_pairs(options))
        self.weights = dict(objective_pairs(options))
        self.heuristic_weights = heuristic_weights(options)
        self.free_hub = "compact" in self.terms
        self.current = graph.current
        self.contiguity = options.contiguity
        if self.contiguity == "auto":
            self.contiguity = "flow" if "boundary" in self.terms else "cuts"

    def part_cost(self, part: Sequence[int]) -> float:
        """Heuristic score of one network: its terms weighted by :func:`heuristic_weights`."""
        total = 0.0
        for name in self.terms:
            if name == "disruption" and self.current is None:
                continue
            total += self.heuristic_weights[name] * network_cost(
                name,
                part,
                cost=self.cost,
                adj=self.adj,
                length=self.length,
                pop=self.pop,
                current=self.current,
            )
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


@dataclass(frozen=True)
class BlockProblem:
    """One block of a place to partition: its practices, how many networks it may form, the
    pairs of practices the rules join or part, and when the solve must stop.

    ``nodes`` stays a list: it indexes the place's numpy arrays (``place.pop[nodes]``).
    """

    place: Place
    nodes: list[int]
    k_lo: int
    k_hi: int
    together: Sequence[tuple[int, int]]
    apart: Sequence[tuple[int, int]]
    deadline: float | None
