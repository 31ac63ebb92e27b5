r"""The integer program that designs Primary Care Networks in one place.

A *place* is given as a :class:`PlaceGraph`: practices are nodes with a population :math:`p_i`,
and two practices are joined by an edge :math:`\{i,k\} \in E` when their catchments share a
border (length :math:`\ell_{ik}`; practices on one site are joined with length 0).
:func:`solve_place` partitions the practices into networks (PCNs) that are connected in this
graph and have between :math:`L` (``min_size``, 30,000) and :math:`U` (``max_size``, 50,000)
patients, optimising one or more objectives.

Two exact methods
-----------------
*Set partitioning* (:mod:`pcnopt.model.partition`, the default): every candidate network (a
connected set of practices within the band that respects the pair rules) is a column, and
the plan is the cheapest exact cover of the practices by columns. Contiguity and the band hold
by construction and the LP relaxation is tight, so places are proved optimal in seconds. The
candidates are listed by a compiled enumeration when there are at most
``SolveOptions.partition_candidates`` of them (4 million by default), and otherwise, for the
compact or the disruption objective alone, generated on demand by an enumeration pruned with
the LP duals. Column
generation gives the LP bound; integer programs over the columns of small reduced cost then
find and prove the optimum (see that module for the argument).

The disruption objective is not separable by network (each current PCN is continued by at
most one new network); set partitioning prices it exactly with one column per candidate and
the current PCN it continues (or none), and one side row per current PCN (at most one column
continues it), so refreshes are proved optimal like the compact objective.

The *Hess model* (:mod:`pcnopt.model.hess`, with its formulation) is used for boundary,
lexicographic or weighted objectives in places with too many candidates to list, and for
blocks that cannot be listed of more than 400 practices (``MAX_PRICED_PRACTICES``,
``MAX_PRICED_DISRUPTION_PRACTICES``).

An exact *branch-and-cut* (:mod:`pcnopt.model.branch_cut`, optional: SCIP through PySCIPOpt,
the ``scip`` extra) solves the Hess model with lazy a,b-separator contiguity cuts in a SCIP
constraint handler, warm-started by recombination (:mod:`pcnopt.model.recombination`), for
plans of exactly k parts of least weighted cut; ``benchmarks/districting.py`` uses it on the
published county instances. :func:`solve_place` does not use it yet.

Kept networks (``SolveOptions.keep``, e.g. the current PCNs that meet every rule, found by
:func:`compliant_current_pcns`) are set aside before any method runs, like practices above
the band: each is one network, noted "kept as it is", and only the others are designed.

Before the model (each reported by name in :attr:`PlaceSolution.notes`)

* a practice above :math:`U` is a network on its own ("single practice above 50,000: own PCN");
* a connected component (island) with fewer than :math:`L` patients is one network
  ("below minimum, needs commissioner approval");
* a component of total :math:`T` is infeasible when no integer :math:`k` has
  :math:`kL \le T \le kU`; the answer then is the contiguous configuration with the least size
  violation, found by region growing and local search (``fallback: size violation ...``).

The same region-growing heuristic (:mod:`pcnopt.model.heuristic`) gives the warm start and the
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

from pcnopt.model.compliance import (
    CurrentPcn,
    compliant_current_pcns,
    kept_groups,
    release_where_needed,
)
from pcnopt.model.driver import solve_place
from pcnopt.model.neighbourhood import REPAIR_PRACTICES
from pcnopt.model.objectives import evaluate_partition
from pcnopt.model.types import (
    FALLBACK,
    HESS,
    HEURISTIC,
    OBJECTIVES,
    PARTITION,
    STATUSES,
    PlaceGraph,
    PlaceSolution,
    SolveOptions,
)

__all__ = [
    "FALLBACK",
    "HESS",
    "HEURISTIC",
    "OBJECTIVES",
    "PARTITION",
    "REPAIR_PRACTICES",
    "STATUSES",
    "CurrentPcn",
    "PlaceGraph",
    "PlaceSolution",
    "SolveOptions",
    "compliant_current_pcns",
    "evaluate_partition",
    "kept_groups",
    "release_where_needed",
    "solve_place",
]
