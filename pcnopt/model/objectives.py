"""The objective terms, computed from a plan independently of the solver."""

from __future__ import annotations

from collections.abc import Sequence

import networkx as nx
import numpy as np

from pcnopt.model.place import Place
from pcnopt.model.types import PlaceGraph


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


def objective_stages(place: Place) -> list[list[tuple[str, float]]]:
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
