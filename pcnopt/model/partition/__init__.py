r"""Exact set partitioning over every candidate network, priced by enumeration.

A block of practices is partitioned by choosing networks from the list of *every* candidate:
every connected set :math:`S` of practices with :math:`L \le p(S) \le U` that respects the
commissioners' pair rules. With :math:`c_S` the cost of a network (compact: the patient-weighted
distance to its best hub; boundary: half the border length it shares with practices outside it;
count: 1),

.. math::

    \min \sum_S c_S\, x_S \quad \text{s.t.} \quad
    \sum_{S \ni i} x_S = 1 \ \ \forall i, \qquad
    k_{\min} \le \sum_S x_S \le k_{\max}, \qquad x_S \in \{0, 1\}

(plus, in lexicographic stages, :math:`\sum_S c^{(t)}_S x_S \le v_t` for each earlier stage).

Disruption is priced per pair: a column :math:`(S, c)` is a candidate with the current network
:math:`c` it continues (or none), of cost :math:`d_{S,c}` = patients of :math:`S` with a
current network other than :math:`c`, and :math:`\sum_{S} x_{S,c} \le 1` for every current
network :math:`c`. Its reduced cost subtracts that row's dual :math:`\sigma_c \le 0`, so the
best continuation of a candidate is :math:`\arg\max_c\, p(S \cap c) + \sigma_c` (or none)
and every pair is priced exactly; the closing programs carry the same rows.
Contiguity and the size band hold by construction, so the LP relaxation is far stronger than
the Hess model's (its gap is usually below 1 %, often 0).

Solving (column generation with exact pricing, then price-and-branch)

1. List the candidates (a depth-first "extension set" enumeration that meets every connected set
   with lowest practice :math:`v` exactly once, pruned at :math:`U`), compiled with numba. If
   there are more than ``max_candidates`` (or, for disruption, columns), the compact or the
   disruption objective alone is priced on demand instead (:func:`solve_priced`,
   :func:`solve_priced_disruption`: each pricing round enumerates only the columns of
   negative reduced cost, pruned by a dual bound; for the compact objective a greedy set
   grown around each hub is tried first, and the exact search, when it meets more than its
   cap, keeps those of least reduced cost over the whole block), given a starting plan and at
   most ``MAX_PRICED_PRACTICES`` practices (``MAX_PRICED_DISRUPTION_PRACTICES`` for
   disruption); otherwise the block is left to the Hess model.
2. Solve the LP over a restricted set of columns (HiGHS, in process), price *every* candidate
   with the duals :math:`(\pi, \mu, \lambda)`: :math:`\bar c_S = c_S - \sum_{i \in S} \pi_i -
   \mu - \sum_t \lambda_t c^{(t)}_S`, add the most negative, repeat until none is negative.
   Then the *subset-row cuts* the LP solution violates are added
   (:mod:`~pcnopt.model.partition.cuts`): for three practices :math:`T`,
   :math:`\sum_{S : |S \cap T| \ge 2} x_S \le 1` (every plan takes at most one network
   holding two of them); pricing subtracts their duals :math:`\sigma_T \le 0` from the networks
   that hold two of :math:`T`, and the generation goes on until no cut is violated (on
   E38000080 the LP bound rose from 215.2 M to the optimum, 232.7 M, with 92 cuts). The
   compiled searches of the priced paths carry the cuts' penalties in their pruning (a
   network's penalty only grows as it grows), and stop separating after ``CUT_SHARE`` of the
   stage's time, leaving the rest to step 3.
   The LP value :math:`z_{LP}` is then a proven lower bound. (Before convergence,
   :math:`z_{RMP} + k_{\max} \min(0, \min_S \bar c_S)` is one.) Without a starting plan a
   phase I (minimise artificial cover) finds one or proves the LP, hence the block, infeasible.
   Once converged, the master is *dived* for a plan (``_Master.dive``): its columns at 0.99
   or more, and the largest of the others, are fixed at 1 and the LP solved again, until its
   solution is whole (at most ``DIVE_SHARE`` of the time left, or ``DIVE_SECONDS``). Where the
   LP's optimum is fractional but a plan as good exists, this finds it in a few LP solves (the
   refresh of E38000077: 54,585 patients moved, the LP bound, where the closing programs over
   9,000-13,000 columns found nothing better than 82,966 in 60 s, under CBC or HiGHS); a plan
   at the bound needs no step 3, a better one is its cutoff.
3. For any plan :math:`x`, :math:`c^\top x \ge z_{LP} + \sum_S \bar c_S x_S` with
   :math:`\bar c \ge 0`, so a plan cheaper than the incumbent :math:`z_{UB}` uses only columns
   with :math:`\bar c_S \le z_{UB} - z_{LP}`. The integer program over exactly those columns
   (solved by the chosen solver: CBC, HiGHS...) therefore gives the proven optimum. The first
   program (the smallest threshold) also holds the master's own columns: they cannot spoil
   the proof (any plan it finds is a plan), and where the LP is weak they often hold a
   better plan than the cheapest reduced costs (the refresh of E38000254). Every program also
   carries the master's subset-row cuts as rows (valid for every plan), so that its own LP
   starts at the master's bound rather than below it (E38000251's refresh: 258,364 against
   258,666; proven with them). Where more columns are that cheap than a program may hold
   (``MAX_IP_COLUMNS``), it holds the least of them: every plan then costs at least its
   optimum or :math:`z_{LP}` plus the reduced cost below which every column is listed, and a
   plan it finds lowers the cutoff for the next program. Whole-number objectives (the count,
   and disruption in whole patients) round the bound up and ask for the columns up to
   :math:`z_{UB} - 1 - z_{LP}`.
4. When the count may vary (over at most ``MAX_COUNTS`` = 4 values) and step 3 has not
   proved its plan within a tenth of the time
   (``FREE_SHARE``), branch on the count: for each :math:`k`, column generation with
   :math:`\sum_S x_S = k` gives :math:`z_k \ge z_{LP}` (the free LP mixes counts; at
   E38000080, 215 M free, 231 M at 6 networks), counts with :math:`z_k` at or above the best
   plan are pruned (:math:`z_k` is convex in :math:`k`), and each open count gets its own
   step 3 with the best plan of any count as cutoff. The optimum is the best plan over the
   counts, the bound the least bound over them.
5. The fewest networks (``n_pcns="fewest"``: every network costs 1, then the most compact
   plan of that count). In a plan of exactly :math:`k` networks of :math:`P` patients each
   network holds what the other :math:`k - 1` leave, between :math:`\max(L, P - (k-1)U)`
   and :math:`\min(U, P - (k-1)L)` (:func:`band_of_count`); near the least count the band
   allows, that is far narrower than the band (E38000232: 644,640 patients in 13 networks of
   at most 50,000, each at least 44,640). So each count tried on its own, and the compact
   stage once the count is proven, is searched over only those networks; where the
   candidates are priced, a count left open is listed over its narrower band, then priced on
   its own from no plan (a phase I priced by the same searches finds the LP's first columns or
   proves the count impossible): E38000135's 5 networks, each of 48,533 to 50,000 patients.
"""

from __future__ import annotations

from pcnopt.model.partition.closing import StageResult
from pcnopt.model.partition.colgen import branch_priced_count, solve_priced, solve_stage
from pcnopt.model.partition.continuing import solve_priced_disruption
from pcnopt.model.partition.enumeration import (
    MAX_LISTED_DISRUPTION_COLUMNS,
    MAX_PRICED_DISRUPTION_PRACTICES,
    MAX_PRICED_PRACTICES,
    Candidates,
    Held,
    band_of_count,
    candidates_for,
    least_count,
    locate,
    locate_continuing,
    with_continuations,
)
from pcnopt.model.types import MAX_CANDIDATES

__all__ = [
    "MAX_CANDIDATES",
    "MAX_LISTED_DISRUPTION_COLUMNS",
    "MAX_PRICED_DISRUPTION_PRACTICES",
    "MAX_PRICED_PRACTICES",
    "Candidates",
    "Held",
    "StageResult",
    "band_of_count",
    "branch_priced_count",
    "candidates_for",
    "least_count",
    "locate",
    "locate_continuing",
    "solve_priced",
    "solve_priced_disruption",
    "solve_stage",
    "with_continuations",
]
