"""A role mix each PCN can recruit within its ARRS sum: a small integer program per PCN."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from pcnopt.errors import InputError, OptionError, Problem, SolverError
from pcnopt.funding.rates import MaxRate, Rates, YearRates, _money
from pcnopt.funding.targets import TargetMix
from pcnopt.model.solvers.cbc import solve_as_pulp


def _costed_roles(yr: YearRates, area: str) -> tuple[dict[str, MaxRate], list[str]]:
    costed: dict[str, MaxRate] = {}
    uncosted: list[str] = []
    for name, role in yr.roles.items():
        top = role.latest()
        if top is None or top.for_area(area) is None:
            uncosted.append(name)
        else:
            costed[name] = top
    return costed, uncosted


def _resolve_target(
    target: TargetMix | str | None, rates: Rates, costed: Mapping[str, MaxRate], year: str
) -> tuple[TargetMix | None, str]:
    """The target mix to plan with, and a sentence saying which one it is."""
    if isinstance(target, TargetMix):
        kind = "shares" if target.kind == "share" else "minimum WTE"
        return target, f"the user's {kind}: " + ", ".join(
            f"{r} {v:.0%}" if target.kind == "share" else f"{r} >= {v:g}" for r, v in target.roles
        )
    if target not in (None, "national", "max_wte"):
        raise OptionError(f"target '{target}' is not a target mix, 'national' or 'max_wte'.")
    if target == "max_wte":
        return None, "none: the most WTE the sum buys (cheapest roles first)"
    mix = rates.workforce_mix
    if mix is None:
        return None, (
            "none: the rates file has no national workforce mix (MISSING), so the plan "
            "buys the most WTE; give a target mix to shape it"
        )
    fte = {r: v for r, v in mix.fte if r in costed and v > 0}
    total = sum(v for _, v in mix.fte)
    if not fte:
        return None, (
            f"none: no role of the national mix has a maximum £ per WTE in {year}, so "
            "the plan buys the most WTE"
        )
    kept = sum(fte.values())
    shares = tuple((r, v / kept) for r, v in fte.items())
    left = sorted(r for r, v in mix.fte if r not in fte)
    return TargetMix("share", shares), (
        f"the national mix of ARRS staff in post ({mix.date}, {mix.status}; "
        f"{rates.urls(mix.sources)}): "
        + ", ".join(f"{r} {s:.0%}" for r, s in shares)
        + (
            f"; {1 - kept / total:.0%} of the national FTE is in roles without a {year} maximum "
            f"£ per WTE and is left out ({', '.join(left)})"
            if left
            else ""
        )
    )


def _plan_all(  # noqa: PLR0913  (keyword-only: the role-mix options of the run)
    pcns: pd.DataFrame,
    yr: YearRates,
    *,
    costed: Mapping[str, MaxRate],
    step: float,
    target: TargetMix | None,
    solver: Any,
    year: str,
    uncosted: list[str],
    ring: set[str],
    area: str = "national",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    area_costs = {r: m for r, m in costed.items()}
    if target is not None:
        unknown = [r for r, _ in target.roles if r not in yr.roles]
        if unknown:
            raise OptionError(
                f"the target mix names role(s) not reimbursable in {year}: {', '.join(unknown)}. "
                f"Fix: use roles of that year: {', '.join(yr.roles)}."
            )
        named_uncosted = [r for r, v in target.roles if (r in uncosted or r in ring) and v > 0]
        if named_uncosted:
            raise OptionError(
                f"the target mix names role(s) with no maximum £ per WTE in {year}: "
                f"{', '.join(named_uncosted)}, so their cost is unknown. Fix: give the figures "
                "in your own rates file (--rates; see pcnopt/rates/README.md) or choose costed "
                f"roles: {', '.join(costed)}."
            )
    problems: list[str] = []
    rows, planned = [], []
    for pcn in pcns.itertuples(index=False):
        caps = {c.role: c.limit(pcn.registered) for c in yr.caps if c.role in costed}
        costs = {r: float(m.for_area(area) or m.value) for r, m in area_costs.items()}
        budget = float(pcn.arrs_sum_gbp)
        if target is not None and target.kind == "minimum":
            need = {r: math.ceil(v / step - 1e-9) * step for r, v in target.roles}
            over_cap = [
                f"{r} (cap {caps[r]:g} WTE)"
                for r, v in need.items()
                if r in caps and v > caps[r] + 1e-9
            ]
            cost = sum(costs[r] * v for r, v in need.items())
            if over_cap:
                problems.append(
                    f"{pcn.pcn_id}: the minimum exceeds the {year} cap for {', '.join(over_cap)}"
                )
                continue
            if cost > budget + 1e-6:
                problems.append(
                    f"{pcn.pcn_id}: the minimum costs {_money(cost)}, more than its "
                    f"ARRS sum of {_money(budget)}"
                )
                continue
        wte = solve_role_mix(
            budget=budget, costs=costs, caps=caps, step=step, target=target, solver=solver
        )
        spent = sum(costs[r] * w for r, w in wte.items())
        for r, w in wte.items():
            rows.append(
                {
                    "pcn_id": pcn.pcn_id,
                    "role": r,
                    "wte": w,
                    "max_per_wte_gbp": costs[r],
                    "rate_from": costed[r].start.isoformat(),
                    "cost_gbp": costs[r] * w,
                    "cap_wte": caps.get(r, np.nan),
                }
            )
        planned.append(
            {
                "pcn_id": pcn.pcn_id,
                "planned_wte": sum(wte.values()),
                "planned_cost_gbp": spent,
                "unspent_gbp": budget - spent,
            }
        )
    if problems:
        raise InputError(
            Problem(
                "--target-mix",
                f"the target mix cannot be afforded by {len(problems)} PCN(s): "
                + "; ".join(problems[:10])
                + ("; …" if len(problems) > 10 else "."),
                "lower the minimums, or use shares (role=40%,…) which always fit the money.",
            )
        )
    mix = pd.DataFrame(
        rows,
        columns=["pcn_id", "role", "wte", "max_per_wte_gbp", "rate_from", "cost_gbp", "cap_wte"],
    )
    return mix, pd.DataFrame(
        planned, columns=["pcn_id", "planned_wte", "planned_cost_gbp", "unspent_gbp"]
    )


def role_mix_model(
    *,
    budget: float,
    costs: Mapping[str, float],
    caps: Mapping[str, float],
    step: float,
    target: TargetMix | None = None,
) -> tuple[Any, dict[str, Any]]:
    """Build (without solving) the role-mix integer program of one PCN.

    Parameters
    ----------
    budget
        The PCN's ARRS sum in £.
    costs
        Role → maximum reimbursable £ per WTE.
    caps
        Role → most WTE claimable (roles without a cap are unbounded but for the money).
    step
        WTE granularity.
    target
        Optional target mix (see :class:`TargetMix`).

    Returns
    -------
    problem, variables
        The PuLP problem and role → integer variable (number of steps).
    """
    import pulp

    prob = pulp.LpProblem("role_mix", pulp.LpMaximize)
    roles = list(costs)
    if target is not None and target.kind == "share":
        shares = {r: v for r, v in target.roles if r in costs}
        roles = [r for r in roles if r in shares]
    else:
        shares = {}
    n = {}
    for i, r in enumerate(roles):
        hi = math.floor(budget / (costs[r] * step) + 1e-9)
        if r in caps:
            hi = min(hi, math.floor(caps[r] / step + 1e-9))
        n[r] = pulp.LpVariable(f"n_{i}", lowBound=0, upBound=max(hi, 0), cat="Integer")
    total = pulp.lpSum(step * n[r] for r in roles)
    spend = pulp.lpSum(costs[r] * step * n[r] for r in roles)
    # integral objective: steps weigh more than every penny of the sum, pennies break ties
    big = math.floor(budget * 100) + 1
    prob += pulp.lpSum((big + round(costs[r] * step * 100)) * n[r] for r in roles)
    _add_budget(prob, spend, budget)
    if target is not None and target.kind == "minimum":
        _add_minimums(prob, n, dict(target.roles), step)
    if shares:
        _add_shares(prob, n, shares, total, step, caps, budget / min(costs[r] for r in roles))
    return prob, n


def _add_budget(prob: Any, spend: Any, budget: float) -> None:
    prob += spend <= budget, "arrs_sum"


def _add_minimums(
    prob: Any, n: Mapping[str, Any], minimum: Mapping[str, float], step: float
) -> None:
    for i, (r, m) in enumerate(minimum.items()):
        if r in n:
            prob += step * n[r] >= m - 1e-9, f"minimum_{i}"


def _add_shares(
    prob: Any,
    n: Mapping[str, Any],
    shares: Mapping[str, float],
    total: Any,
    step: float,
    caps: Mapping[str, float] | None = None,
    most_wte: float = 0.0,
) -> None:
    """Each role within one step of its share of the WTE, or (a capped role) at its cap.

    A capped role ``r`` gets a binary :math:`z_r`: :math:`p_r T - s n_r \\le s + M z_r` and
    :math:`s n_r \\ge \\lfloor u_r/s \\rfloor s\\, z_r`, with :math:`M` the most WTE the sum buys.
    """
    import pulp

    caps = caps or {}
    for i, (r, s) in enumerate(shares.items()):
        if r in n:
            prob += step * n[r] - s * total <= step, f"share_hi_{i}"
            if r in caps:
                full = math.floor(caps[r] / step + 1e-9) * step
                z = pulp.LpVariable(f"at_cap_{i}", cat="Binary")
                prob += s * total - step * n[r] <= step + (most_wte + step) * z, f"share_lo_{i}"
                prob += step * n[r] >= full * z, f"at_cap_{i}"
            else:
                prob += s * total - step * n[r] <= step, f"share_lo_{i}"


def solve_role_mix(
    *,
    budget: float,
    costs: Mapping[str, float],
    caps: Mapping[str, float],
    step: float,
    target: TargetMix | None = None,
    solver: Any = None,
) -> dict[str, float]:
    """Solve one PCN's role mix; role → WTE (every role of the model, zeros included).

    ``solver`` is a PuLP solver; by default (or any PuLP CBC command) CBC runs as PuLP would run
    it, started to die with pcnopt (:func:`pcnopt.model.solvers.cbc.solve_as_pulp`).

    Raises
    ------
    SolverError
        The solver failed or found the (pre-checked) model infeasible.
    """
    import pulp

    if not costs or budget <= 0:
        return {r: 0.0 for r in costs}
    prob, n = role_mix_model(budget=budget, costs=costs, caps=caps, step=step, target=target)
    if solver is None or isinstance(solver, pulp.COIN_CMD):
        # PuLP's own CBC call, but CBC dies with pcnopt (PuLP cannot pass preexec_fn)
        status = solve_as_pulp(prob, solver)
    else:  # another PuLP solver: PuLP starts it
        status = prob.solve(solver)
    if pulp.LpStatus[status] != "Optimal":
        raise SolverError(
            f"the role-mix model ended '{pulp.LpStatus[status]}' (ARRS sum {_money(budget)})."
        )
    out = {r: 0.0 for r in costs}
    for r, var in n.items():
        out[r] = round(step * round(var.value() or 0.0), 6)
    return out


# --------------------------------------------------------------------------------------------
# Comparison
# --------------------------------------------------------------------------------------------
