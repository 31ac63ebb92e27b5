r"""Branch-and-price on pairs of practices (Ryan and Foster) for one count of networks.

Whether a block has a plan of exactly :math:`k` networks is settled by a search tree whose
every node is the LP of the set partitioning with the count held at :math:`k`, its columns
priced under the node's pair rules. Where the LP's solution is fractional, two practices
:math:`i, j` are together in some of its networks and apart in others: their *togetherness*
:math:`f_{ij} = \sum_{S \ni i, j} x_S` lies strictly between 0 and 1 (in every fractional
solution of a set partitioning some pair does). The node then has two children: :math:`i` and
:math:`j` in the same network (every network holding one of them holds both), and in
different networks (no network holds both). Every plan keeps to exactly one child, each
child's LP cuts off the parent's solution, and the pricing keeps to the rules by the pair
rules the searches already apply (keep together, keep apart), so the tree is a real
branch-and-price: it ends with a plan of :math:`k` networks, or with every leaf's LP without
solution, which proves that no plan of :math:`k` networks exists. Branching on single columns
(fixing a network in or out) cannot be priced (a column fixed out comes back from the pricing),
which is why the closing programs over a fixed set of columns prove nothing for a count.

The tree is searched depth first (a plan is wanted, not the best one), on the pair most
nearly together, the child on the side that the LP favours (:math:`f_{ij} \ge 1/2`:
together) first; each node's LP starts from the
columns of its parent that keep to its rules, and is dived for a plan (fix its largest
columns, solve again) before it is branched.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from pcnopt.model.solvers import Status

#: A togetherness within this of 0 or 1 is whole.
WHOLE = 1e-6

Pairs = tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class NodeLp:
    """The LP of one node of the tree.

    Parameters
    ----------
    kind
        None when the LP was solved; ``INFEASIBLE`` when it has no solution under the node's
        rules (proved: its phase I priced every column); ``NO_SOLUTION`` when that is not known
        (out of time, or the pricing stopped short).
    plan
        A plan of the count met at the node (the LP's own solution when whole, or its dive),
        as lists of practices; None if none.
    support
        The networks of the LP's solution (practices, sorted) and their values.
    columns
        The networks in the node's LP, to start its children's.
    """

    kind: Status | None
    plan: list[list[int]] | None
    support: tuple[tuple[tuple[int, ...], float], ...] = ()
    columns: tuple[tuple[int, ...], ...] = ()


@dataclass(frozen=True)
class PairSearch:
    """The end of a search: ``OPTIMAL`` with a plan of the count (any plan of it will do),
    ``INFEASIBLE`` when every leaf's LP has no solution (no plan of the count exists), or
    ``NO_SOLUTION`` (out of time, or a node left undecided); with the nodes solved."""

    kind: Status
    plan: list[list[int]] | None
    nodes: int


def togetherness(support: Sequence[tuple[Sequence[int], float]]) -> dict[tuple[int, int], float]:
    r""":math:`f_{ij} = \sum_{S \ni i, j} x_S` for every pair of practices sharing a network
    of the solution ``support`` (pairs as ``(i, j)`` with ``i < j``)."""
    out: dict[tuple[int, int], float] = {}
    for members, x in support:
        nodes = sorted(int(v) for v in members)
        for a, i in enumerate(nodes):
            for j in nodes[a + 1 :]:
                out[(i, j)] = out.get((i, j), 0.0) + float(x)
    return out


def pair_to_branch(
    support: Sequence[tuple[Sequence[int], float]],
) -> tuple[tuple[int, int], float] | None:
    """The pair most nearly together without being whole (the largest togetherness below 1,
    the first such in order of practices), and that togetherness; None when every pair is
    whole (the solution is a plan).

    The tree is searched for *a* plan, so it follows the LP where it nearly decides: of the
    counts left open on four priced places, with 30 s each, the pair nearest 1/2 (the usual
    rule, which balances the tree) met 3 plans of 7, and the pair most nearly together 4,
    E38000254's 9 networks in 41 nodes (6.9 s) among them."""
    best: tuple[tuple[int, int], float] | None = None
    for pair, f in sorted(togetherness(support).items()):
        if f < WHOLE or f > 1.0 - WHOLE:
            continue
        if best is None or f > best[1] + 1e-12:
            best = (pair, f)
    return best


def keeps_to(members: Sequence[int], together: Pairs, apart: Pairs) -> bool:
    """Whether a network keeps to the pair rules (holds both or neither of each pair kept
    together, not both of a pair kept apart)."""
    held = set(int(v) for v in members)
    if any((a in held) != (b in held) for a, b in together):
        return False
    return not any(a in held and b in held for a, b in apart)


def branch_on_pairs(
    relax: Callable[[Pairs, Pairs, Sequence[tuple[int, ...]]], NodeLp],
    *,
    deadline: float | None,
    seed: Sequence[tuple[int, ...]] = (),
) -> PairSearch:
    """Search the tree depth first for a plan of the count (see the module docstring).

    Parameters
    ----------
    relax
        ``relax(together, apart, columns)``: the node's LP under the pairs kept together and
        apart (beyond the block's own rules), started from ``columns`` (they keep to the
        rules).
    deadline
        ``time.perf_counter()`` value at which the search stops (``NO_SOLUTION``).
    seed
        Columns to start the root's LP from.
    """
    stack: list[tuple[Pairs, Pairs, tuple[tuple[int, ...], ...]]] = [((), (), tuple(seed))]
    solved = 0
    undecided = False
    while stack:
        if deadline is not None and time.perf_counter() > deadline:
            return PairSearch(Status.NO_SOLUTION, None, solved)
        together, apart, columns = stack.pop()
        node = relax(together, apart, columns)
        solved += 1
        if node.plan is not None:
            return PairSearch(Status.OPTIMAL, [sorted(p) for p in node.plan], solved)
        if node.kind == Status.INFEASIBLE:
            continue
        chosen = pair_to_branch(node.support)
        if chosen is None:
            # not proved empty, and no solution to branch on (a node whose LP stopped short
            # of its optimum is still branched: the children split its plans all the same)
            undecided = True
            continue
        pair, f = chosen
        kept = ((*together, pair), apart)
        split = (together, (*apart, pair))
        children = [split, kept] if f >= 0.5 else [kept, split]  # the last is searched first
        for t, a in children:
            stack.append((t, a, tuple(c for c in node.columns if keeps_to(c, t, a))))
    if undecided:
        return PairSearch(Status.NO_SOLUTION, None, solved)
    return PairSearch(Status.INFEASIBLE, None, solved)


def whole_plan(
    support: Sequence[tuple[Sequence[int], float]],
) -> list[list[int]] | None:
    """The plan of an LP solution whose every value is whole, else None."""
    values = np.asarray([x for _, x in support], float)
    if values.size and bool(np.all((values < WHOLE) | (values > 1.0 - WHOLE))):
        return [sorted(int(v) for v in m) for m, x in support if x > 0.5]
    return None
