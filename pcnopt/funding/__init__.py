"""Network Contract DES money for any PCN configuration: ARRS sum, entitlements and role mix.

Three things live here, one after another as a run uses them:

1. **Rates.** :func:`rates_from_file` reads a rates file (the project's
   ``pcnopt/rates/ncdes.yaml`` by default, or a user's copy in the same schema, documented in
   ``pcnopt/rates/README.md``) and checks every figure, reporting all problems together.
   A figure the reference does not give is ``null`` in the file and stays missing here: it is
   never filled in.
2. **Per-PCN money.** :func:`funding_from_assignments` adds practices' registered and weighted
   populations up by PCN and applies the year's rates: the Additional Roles Reimbursement Sum
   (£ per weighted patient, or the 2019/20 per-role allowance) and every entitlement line
   (core PCN funding, clinical director, enhanced access, …), each with its basis in words.
3. **Role mix.** For each PCN a recruitment plan within its ARRS sum, solved as a small integer
   program (:func:`role_mix_model`), and :func:`compare_configurations` for two configurations.

The role-mix integer program, for one PCN with ARRS sum :math:`B`, roles :math:`r` with
maximum reimbursable £ per WTE :math:`c_r`, WTE step :math:`s` and caps :math:`u_r`:

.. math::

    \\max\\; \\sum_r (M + \\lfloor 100\\,c_r s \\rceil)\\, n_r
    \\quad\\text{s.t.}\\quad \\sum_r c_r s\\,n_r \\le B,\\;
    s\\,n_r \\le u_r,\\; n_r \\in \\mathbb{Z}_{\\ge 0}

with :math:`M = \\lfloor 100 B \\rfloor + 1` (the sum in pence, plus one), so that total WTE
comes first and, among plans with the same WTE, the one spending most (leaving least unspent)
wins; every coefficient is a whole number, so the solver compares plans exactly. A target mix
adds either :math:`s\\,n_r \\ge m_r` (at least :math:`m_r` WTE of role :math:`r`) or
:math:`|s\\,n_r - p_r T| \\le s` with :math:`T = \\sum_r s\\,n_r` (role :math:`r` within one step
of its share :math:`p_r` of the WTE; only named roles are recruited).

One module per part: :mod:`.rates`, :mod:`.targets`, :mod:`.money`, :mod:`.role_mix`,
:mod:`.compare` and :mod:`.write`.
"""

from __future__ import annotations

from pcnopt.funding.compare import (
    Comparison,
    compare_configurations,
)
from pcnopt.funding.money import (
    INPUTS,
    RATIO_BAND,
    FundingResult,
    funding_from_assignments,
    input_dates_from_pairs,
)
from pcnopt.funding.rates import (
    AREAS,
    BASES,
    LARGE_PCN,
    STATUSES,
    YEAR_STATUSES,
    YEARS,
    Cap,
    Entitlement,
    Figure,
    MaxRate,
    Rates,
    RoleRate,
    SeparateSum,
    Term,
    WorkforceMix,
    YearRates,
    default_rates,
    default_rates_path,
    default_year,
    max_per_wte_from_pay,
    pay_from_max_per_wte,
    rates_from_file,
)
from pcnopt.funding.role_mix import (
    role_mix_model,
    solve_role_mix,
)
from pcnopt.funding.targets import (
    TargetMix,
)
from pcnopt.funding.write import (  # noqa: F401
    _rounded,
    write_funding,
)

__all__ = [
    "AREAS",
    "BASES",
    "INPUTS",
    "LARGE_PCN",
    "RATIO_BAND",
    "STATUSES",
    "YEARS",
    "YEAR_STATUSES",
    "Cap",
    "Comparison",
    "Entitlement",
    "Figure",
    "FundingResult",
    "MaxRate",
    "Rates",
    "RoleRate",
    "SeparateSum",
    "TargetMix",
    "Term",
    "WorkforceMix",
    "YearRates",
    "compare_configurations",
    "default_rates",
    "default_rates_path",
    "default_year",
    "funding_from_assignments",
    "input_dates_from_pairs",
    "max_per_wte_from_pay",
    "pay_from_max_per_wte",
    "rates_from_file",
    "role_mix_model",
    "solve_role_mix",
    "write_funding",
]
