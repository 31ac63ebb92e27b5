"""A simple greedy grouping, used only until the optimiser is wired in.

Clearly labelled "baseline (greedy, not optimised)" wherever it is used. It grows contiguous
groups from the edge of each connected part of a place, adding the nearest neighbouring
practice until a group reaches the minimum size; a remainder too small for a group of its own
joins its smallest neighbouring group.
"""

from __future__ import annotations

import networkx as nx
import numpy as np

METHOD = "baseline (greedy, not optimised)"


def greedy_groups(
    *,
    codes: list[str],
    population: np.ndarray,
    xy: np.ndarray,
    graph: nx.Graph,
    min_size: float,
    max_size: float,
) -> list[list[str]]:
    """Partition ``codes`` into contiguous groups (list of member lists, deterministic)."""
    index = {c: i for i, c in enumerate(codes)}
    groups: list[list[str]] = []
    sub = graph.subgraph(codes)
    for component in sorted(nx.connected_components(sub), key=min):
        free = set(component)
        local: list[list[str]] = []
        for code in sorted(component):
            if population[index[code]] > max_size:
                local.append([code])
                free.discard(code)
        while free:
            seed = min(free, key=lambda c: (sum(n in free for n in sub[c]), xy[index[c]][0], c))
            group, total = [seed], population[index[seed]]
            free.discard(seed)
            while total < min_size:
                frontier = sorted({n for m in group for n in sub[m] if n in free})
                if not frontier:
                    break
                seed_xy = xy[index[seed]]
                nxt = min(frontier, key=lambda c: (np.hypot(*(xy[index[c]] - seed_xy)), c))
                if total + population[index[nxt]] > max_size and total > 0:
                    fits = [c for c in frontier if total + population[index[c]] <= max_size]
                    if not fits:
                        break
                    nxt = min(fits, key=lambda c: (np.hypot(*(xy[index[c]] - seed_xy)), c))
                group.append(nxt)
                total += population[index[nxt]]
                free.discard(nxt)
            local.append(group)
        # merge groups below the minimum into their smallest neighbouring group
        changed = True
        while changed:
            changed = False
            sizes = [sum(population[index[c]] for c in g) for g in local]
            for k, g in enumerate(local):
                if sizes[k] >= min_size or len(local) == 1:
                    continue
                members = set(g)
                neighbours = [
                    j
                    for j, h in enumerate(local)
                    if j != k and any(n in members for m in h for n in sub[m])
                ]
                if neighbours:
                    j = min(neighbours, key=lambda j: (sizes[j], j))
                    local[j] = local[j] + g
                    del local[k]
                    changed = True
                    break
        groups.extend(sorted(g) for g in local)
    return sorted(groups, key=min)
