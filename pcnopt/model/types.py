"""Public types of the model: the place graph, the options, the solution, constants."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import networkx as nx

from pcnopt.errors import InputError, OptionError, Problem
from pcnopt.model.solvers import Status

#: Above this many candidate networks a block is left to the Hess model.
MAX_CANDIDATES = 4_000_000

#: Objective names accepted by :class:`SolveOptions`.
OBJECTIVES = ("compact", "boundary", "disruption")

#: Methods named in :attr:`PlaceSolution.method`.
PARTITION = "set partitioning over candidate PCNs"
HESS = "Hess p-median with cut-based contiguity"
FALLBACK = "least size violation fallback"
HEURISTIC = "region growing and local search; the time limit ran out before the Hess model"

#: Every value :attr:`PlaceSolution.status` can take (see :class:`Status` for their meaning).
STATUSES = (
    Status.OPTIMAL,
    Status.BELOW_MINIMUM,
    Status.FEASIBLE,
    Status.INFEASIBLE,
    Status.UNKNOWN,
    Status.TRIVIAL,
    Status.EMPTY,
    Status.SOLVER_FAILED,
)


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
        Seconds per place, or None for no limit. A block left with no plan in band at the limit
        may take up to ``RESCUE_SECONDS`` (15) more to mend the heuristic's plan into the band.
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
        networks (connected, within the band); above it the compact or the disruption
        objective alone (one stage) is solved by set partitioning with its columns priced on
        demand (blocks of at most 100 practices), and anything else by the Hess model; with 0
        the Hess model is used. With the disruption objective the limit applies to the
        (candidate, current network continued) columns.
    keep
        Groups of practice codes that stay exactly as they are, each one network (e.g. the
        current PCNs that already meet every rule, from :func:`compliant_current_pcns`).
        Every method designs only the other practices; a kept group must be contiguous.
        With disruption, each kept group continues the current network holding most of its
        patients (exact when kept groups are whole current networks, as compliant ones are).
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
    partition_candidates: int = MAX_CANDIDATES
    keep: tuple[tuple[str, ...], ...] = ()

    def __post_init__(self) -> None:
        errors = self._size_errors()
        terms = self._normalised_objective(errors)
        object.__setattr__(self, "objective", terms)
        errors += self._count_errors()
        errors += self._solver_errors()
        errors += self._rule_contradictions()
        if errors:
            raise OptionError("Invalid solve options:\n  - " + "\n  - ".join(errors))

    def _size_errors(self) -> list[str]:
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
        return errors

    def _count_errors(self) -> list[str]:
        """n_pcns, min_pcns and max_pcns: each well formed, and together consistent."""
        errors: list[str] = []
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
        return errors

    def _solver_errors(self) -> list[str]:
        """The solver, its limits and the model's settings."""
        errors: list[str] = []
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
        return errors

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

    def _fixed_labels(self, errors: list[str]) -> dict[str, str]:
        """Each fixed practice's label (malformed entries and second labels said in ``errors``)."""
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
        return labels

    def _rule_contradictions(self) -> list[str]:
        errors: list[str] = []
        excluded = set(self.excluded)
        labels = self._fixed_labels(errors)
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
        errors += self._keep_contradictions(excluded, labels)
        errors += self._together_contradictions(labels)
        return errors

    def _together_contradictions(self, labels: dict[str, str]) -> list[str]:
        """keep_apart and fixed labels against the groups keep_together and labels join."""
        errors: list[str] = []
        together = together_groups(self)
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

    def _kept_groups(self, excluded: set[str], errors: list[str]) -> dict[str, int]:
        """The kept group of each kept practice (malformed, overlapping or excluded groups said
        in ``errors``)."""
        kept_in: dict[str, int] = {}
        for g, group in enumerate(self.keep):
            if isinstance(group, str) or not group:
                errors.append(f"keep groups must be non-empty tuples of codes, got {group!r}")
                continue
            for code in group:
                if code in kept_in:
                    errors.append(f"practice {code} is in two keep groups; keep it in one")
                kept_in[code] = g
                if code in excluded:
                    errors.append(f"practice {code} is both excluded and kept in its network")
        return kept_in

    def _keep_contradictions(self, excluded: set[str], labels: dict[str, str]) -> list[str]:
        """Kept groups: disjoint, not excluded, and not split or joined by the other rules."""
        errors: list[str] = []
        kept_in = self._kept_groups(excluded, errors)
        for group in self.keep_together:
            inside = {kept_in.get(code, -1) for code in group}
            if len(inside) > 1:
                errors.append(
                    f"keep_together {tuple(group)} joins practices of a kept network to others; "
                    "a kept network stays exactly as it is, so drop one of the two rules"
                )
        for group in self.keep_apart:
            seen = [kept_in[code] for code in group if code in kept_in]
            if len(set(seen)) != len(seen):
                errors.append(
                    f"keep_apart {tuple(group)} separates practices of one kept network; "
                    "drop one of the two rules"
                )
        by_label: dict[str, set[int]] = {}
        for code, label in labels.items():
            by_label.setdefault(label, set()).add(kept_in.get(code, -1))
        for label, where in sorted(by_label.items()):
            if len(where) > 1:
                errors.append(
                    f"fixed label {label!r} joins practices of a kept network to others; "
                    "drop one of the two rules"
                )
        for group in self.keep:
            named = {labels[c] for c in group if c in labels}
            if len(named) > 1:
                errors.append(
                    f"kept network {tuple(group)} has practices fixed to different labels "
                    f"{sorted(named)}; drop one of the two rules"
                )
        return errors


def together_groups(options: SolveOptions) -> list[set[str]]:
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
        One of :data:`STATUSES` (a :class:`Status`; a string naming one is converted).
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
    status: Status
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

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", Status(self.status))
